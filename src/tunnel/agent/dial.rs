//! Reaching the Relay: TCP, TLS (a certificate the Agent cannot trust is final, the rest is
//! tried again), and the HTTP/1.1 Upgrade (WebSocket, or the older `hooktap-tunnel/1`) that
//! turns the connection into a Tunnel.

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Limited};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::AgentConfig;
use crate::tunnel::protocol::{self, H_PUBLIC_URL, H_TRANSPORTS, Refusal, Transport, Upgrade};
use crate::tunnel::ws::{self, TunnelIo};

trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

pub(super) enum ConnectError {
    /// Trying again later may work.
    Retry(String),
    /// It will not: stop and say why.
    Final(String),
}

pub(super) struct Tunnel {
    pub(super) io: TunnelIo,
    pub(super) public_url: String,
}

/// TCP, TLS, then the Upgrade handshake; all within twice the handshake deadline.
pub(super) async fn connect(c: &AgentConfig) -> Result<Tunnel, ConnectError> {
    let deadline = protocol::HANDSHAKE_TIMEOUT * 2;
    match tokio::time::timeout(deadline, dial(c)).await {
        Ok(r) => r,
        Err(_) => Err(ConnectError::Retry(format!(
            "no answer from the relay at {} within {deadline:?}",
            c.url
        ))),
    }
}

async fn dial(c: &AgentConfig) -> Result<Tunnel, ConnectError> {
    let retry = |what: &str, e: &dyn std::fmt::Display| {
        ConnectError::Retry(format!("{what} {}: {e}", c.url))
    };
    let tcp = TcpStream::connect(&c.authority)
        .await
        .map_err(|e| retry("cannot reach the relay at", &e))?;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = match &c.tls {
        None => Box::new(tcp),
        Some((connector, name)) => match connector.connect(name.clone(), tcp).await {
            Ok(s) => Box::new(s),
            Err(e) if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) => {
                return Err(ConnectError::Final(format!(
                    "the relay at {} failed the TLS check ({e}): is the URL right? for a private CA pass --relay-ca",
                    c.url
                )));
            }
            Err(e) => return Err(retry("TLS with the relay at", &e)),
        },
    };
    let (mut send, conn) =
        hyper::client::conn::http1::handshake::<_, http_body_util::Empty<Bytes>>(TokioIo::new(io))
            .await
            .map_err(|e| retry("cannot talk to the relay at", &e))?;
    tokio::spawn(conn.with_upgrades());
    let upgrade = match c.transport {
        Transport::WebSocket => Upgrade::WebSocket { key: ws::new_key() },
        Transport::Upgrade => Upgrade::Tunnel1,
    };
    let req = protocol::request(&c.authority, &c.handshake, &upgrade)
        .map_err(|e| ConnectError::Final(e.to_string()))?;
    let response = send
        .send_request(req)
        .await
        .map_err(|e| retry("the relay closed the handshake at", &e))?;
    let status = response.status();
    if status != StatusCode::SWITCHING_PROTOCOLS {
        let ours = response.headers().contains_key(H_TRANSPORTS);
        let body = Limited::new(response.into_body(), 4096)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let text = text.trim().trim_start_matches("hooktap: ");
        let message = format!("the relay refused the Tunnel ({status}): {text}");
        if !ours
            && c.transport == Transport::WebSocket
            && matches!(status.as_u16(), 400 | 404 | 426)
        {
            return Err(ConnectError::Final(format!(
                "the Relay at {} runs an older hooktap: upgrade it (it refused the WebSocket Tunnel with {status}: {text}; or a proxy in front of it does not pass {} to it)",
                c.url,
                protocol::TUNNEL_PATH
            )));
        }
        return Err(if Refusal::is_final(status) {
            ConnectError::Final(message)
        } else {
            ConnectError::Retry(message)
        });
    }
    let text = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let public_url = text(H_PUBLIC_URL)
        .unwrap_or_else(|| format!("{}/c/{}/", c.url.trim_end_matches('/'), c.handshake.channel));
    if let Upgrade::WebSocket { key } = &upgrade {
        let accept = text(http::header::SEC_WEBSOCKET_ACCEPT.as_str());
        if accept.as_deref() != Some(ws::accept_key(key).as_str()) {
            return Err(ConnectError::Final(format!(
                "the answer to the WebSocket upgrade at {} is not a hooktap Relay's (wrong Sec-WebSocket-Accept): check --relay, and that a proxy in front passes WebSocket upgrades as they are",
                c.url
            )));
        }
    }
    let io = hyper::upgrade::on(response)
        .await
        .map_err(|e| retry("the upgrade failed with the relay at", &e))?;
    let io = ws::tunnel_io(io, c.transport, false).await;
    Ok(Tunnel { io, public_url })
}
