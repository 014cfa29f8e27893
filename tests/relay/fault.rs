//! A fault proxy for the Tunnel: forwards TCP between Agent and Relay and cuts each connection
//! after a random number of bytes (seeded, so a failure can be replayed), often mid-Event.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

pub use crate::common::Rng;

pub struct FaultProxy {
    pub port: u16,
    /// Connections cut so far.
    pub cuts: Arc<AtomicUsize>,
    /// While set, bytes are swallowed in both directions and nothing is closed: a half-open,
    /// silent link (a laptop that lost its network, a NAT that forgot the flow).
    pub blackhole: Arc<AtomicBool>,
}

/// Listens on 127.0.0.1 and forwards to `upstream`, cutting each connection after between
/// `low` and `high` bytes (both directions counted).
pub async fn start(upstream: u16, seed: u64, low: u64, high: u64) -> FaultProxy {
    let socket = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    let cuts = Arc::new(AtomicUsize::new(0));
    let counter = cuts.clone();
    let blackhole = Arc::new(AtomicBool::new(false));
    let hole = blackhole.clone();
    tokio::spawn(async move {
        let mut rng = Rng(seed);
        loop {
            let Ok((client, _)) = socket.accept().await else {
                return;
            };
            let budget = rng.between(low, high) as i64;
            let counter = counter.clone();
            let hole = hole.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let left = Arc::new(AtomicI64::new(budget));
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::select! {
                    _ = pipe(cr, sw, left.clone(), hole.clone()) => {}
                    _ = pipe(sr, cw, left.clone(), hole) => {}
                }
                if left.load(Ordering::SeqCst) <= 0 {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    FaultProxy {
        port,
        cuts,
        blackhole,
    }
}

async fn pipe(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    left: Arc<AtomicI64>,
    blackhole: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 << 10];
    loop {
        let room = left.load(Ordering::SeqCst);
        if room <= 0 {
            return;
        }
        let want = buf.len().min(room as usize);
        let n = match from.read(&mut buf[..want]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if blackhole.load(Ordering::SeqCst) {
            continue;
        }
        left.fetch_sub(n as i64, Ordering::SeqCst);
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
