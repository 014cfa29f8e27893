//! The connection wrapper: every byte read is shown to a [`Watcher`] before hyper sees it, and
//! a write that makes no progress for too long fails the connection.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{Verdicts, Watcher};

/// An IO that shows every byte it reads to a [`Watcher`], and gives up on writes that stall.
pub struct Watched<I> {
    io: I,
    watcher: Watcher,
    stall: Option<Duration>,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<I> Watched<I> {
    /// Wraps `io`; verdicts go to `verdicts`.
    pub fn new(io: I, verdicts: Verdicts) -> Watched<I> {
        Watched {
            io,
            watcher: Watcher::new(verdicts),
            stall: None,
            stalled: None,
        }
    }

    /// Fails a write (and so the connection) that makes no progress for `limit`.
    pub fn write_stall(mut self, limit: Duration) -> Watched<I> {
        self.stall = Some(limit);
        self
    }

    /// Called when a write is pending: `Ready(Err)` once it has been pending for too long.
    fn stall_check(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Error> {
        let Some(limit) = self.stall else {
            return Poll::Pending;
        };
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the peer stopped reading",
            )),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Maps a write's result: progress resets the stall timer, a long stall becomes an error.
    fn progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        match r {
            Poll::Pending => self.stall_check(cx).map(Err),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &result {
            this.watcher.feed(&buf.filled()[before..]);
        }
        result
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, data);
        self.progress(cx, r)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_flush(cx);
        self.progress(cx, r)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.progress(cx, r)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
