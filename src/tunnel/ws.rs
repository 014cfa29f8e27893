//! The Tunnel's WebSocket transport (RFC 6455): the handshake's keys, and the byte stream that
//! HTTP/2 runs on, carried in binary frames (framing by tungstenite, the byte stream over it by
//! ws_stream_tungstenite). The older `hooktap-tunnel/1` Upgrade carries HTTP/2 bare; both end
//! up as a [`TunnelIo`].

use std::pin::Pin;

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::handshake::{client::generate_key, derive_accept_key};
use async_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use ws_stream_tungstenite::WsStream;

use super::protocol::Transport;

/// The WebSocket subprotocol the Agent asks for and the Relay answers with.
pub const SUBPROTOCOL: &str = "hooktap.tunnel.v1";

/// Largest WebSocket message either side takes: HTTP/2 frames are 16 KiB by default, so a
/// write of buffered frames stays far below this.
const MAX_MESSAGE: usize = 16 << 20;

/// A byte stream both tokio and hyper can use.
pub trait Duplex: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Duplex for T {}

/// The connection HTTP/2 runs on, whichever the transport.
pub type TunnelIo = TokioIo<Pin<Box<dyn Duplex>>>;

/// A fresh `Sec-WebSocket-Key` for the Agent's handshake.
pub fn new_key() -> String {
    generate_key()
}

/// The `Sec-WebSocket-Accept` that answers `key`.
pub fn accept_key(key: &str) -> String {
    derive_accept_key(key.trim().as_bytes())
}

/// Whether a `Sec-WebSocket-Protocol` header value lists [`SUBPROTOCOL`].
pub fn offers_subprotocol(value: &str) -> bool {
    value
        .split(',')
        .any(|p| p.trim().eq_ignore_ascii_case(SUBPROTOCOL))
}

/// Turns an upgraded connection into the Tunnel's byte stream: as it is for the old Upgrade,
/// inside WebSocket binary messages for [`Transport::WebSocket`] (`server` on the Relay's side).
pub async fn tunnel_io(
    upgraded: hyper::upgrade::Upgraded,
    transport: Transport,
    server: bool,
) -> TunnelIo {
    let plain = TokioIo::new(upgraded);
    let io: Pin<Box<dyn Duplex>> = match transport {
        Transport::Upgrade => Box::pin(plain),
        Transport::WebSocket => {
            let role = if server { Role::Server } else { Role::Client };
            let config = WebSocketConfig::default()
                .max_message_size(Some(MAX_MESSAGE))
                .max_frame_size(Some(MAX_MESSAGE));
            let ws = WebSocketStream::from_raw_socket(TokioAdapter::new(plain), role, Some(config))
                .await;
            Box::pin(WsStream::new(ws))
        }
    };
    TokioIo::new(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_is_rfc_6455s() {
        // The example of RFC 6455 section 1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_ne!(new_key(), new_key());
    }

    #[test]
    fn subprotocol_lists() {
        assert!(offers_subprotocol("hooktap.tunnel.v1"));
        assert!(offers_subprotocol("chat, Hooktap.Tunnel.V1"));
        assert!(!offers_subprotocol("hooktap.tunnel.v2"));
        assert!(!offers_subprotocol(""));
    }
}
