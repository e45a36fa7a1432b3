//! The accept loop: hyper serving the router on each connection, with the limits `axum::serve` cannot express.
//!
//! - **A cap on open connections** (`web.max_connections`), counted in sockets, not requests: every open socket
//!   costs a file descriptor whether or not it ever sends a request, and running out of descriptors stops the
//!   server from accepting anyone. A connection over the cap is answered `503` and closed at once — never left
//!   waiting in the kernel's queue, where the client could only time out.
//! - **A header-read timeout** (`web.header_read_timeout_seconds`, hyper's): a connection must deliver a
//!   request's headers within this time of opening or of its previous response, so idle keep-alive sockets and
//!   clients that trickle their headers are closed.
//! - **An idle timeout** (`web.idle_timeout_seconds`, [`Watched`]): a read or write that makes no progress for
//!   this long ends the connection (a body that stops arriving, a client that stops reading its answer).
//!
//! Each request carries the client's address as axum's `ConnectInfo<SocketAddr>`. On shutdown the loop stops
//! accepting, idle connections close at once and busy ones after their response.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::Sleep;
use tower::ServiceExt as _;

use super::middleware::SECURITY_HEADERS;

/// The limits the accept loop enforces (from [`super::WebConfig`]).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then waits for open connections to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let max = u32::try_from(limits.max_connections).unwrap_or(u32::MAX).min(Semaphore::MAX_PERMITS as u32);
    let slots = Arc::new(Semaphore::new(max as usize));
    let (stop_tx, stop_rx) = watch::channel(false);
    let refusals = Refusals::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            refusals.refuse(stream, limits.max_connections);
            continue;
        };
        let (app, stop) = (app.clone(), stop_rx.clone());
        tokio::spawn(async move {
            serve_connection(stream, peer, app, limits, stop).await;
            drop(slot);
        });
    }
    // Stop accepting (the kernel now refuses new connections), ask every connection to finish, wait for them.
    drop(listener);
    stop_tx.send_replace(true);
    let _all = slots.acquire_many(max).await;
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let io = TokioIo::new(Watched::new(stream, limits.idle_timeout));
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req.map(Body::new))
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let finished = tokio::select! {
        ended = conn.as_mut() => Some(ended),
        _ = stop.wait_for(|s| *s) => None,
    };
    let ended = match finished {
        Some(ended) => ended,
        None => {
            // Shutting down: an idle connection closes now, a busy one after its response.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = ended {
        // Timeouts and clients that hang up are routine; they are not the server's failures.
        tracing::debug!(stage = "web", client = %peer, error = %e, "connection closed");
    }
}

/// What an accept error means: a client that gave up (ignored), or no descriptor left (wait, then go on).
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(stage = "web", error_type = "accept", error = %e,
        "cannot accept connections (out of file descriptors?); raise LimitNOFILE or lower web.max_connections");
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// Connections refused at the cap, logged at most once per [`Refusals::EVERY`] so a flood does not flood the log.
#[derive(Default)]
struct Refusals {
    count: AtomicU64,
    last_logged: std::sync::Mutex<Option<Instant>>,
}

impl Refusals {
    const EVERY: Duration = Duration::from_secs(10);

    /// Answers 503 (if the socket takes it without waiting) and closes.
    fn refuse(&self, stream: TcpStream, max_connections: usize) {
        let body = format!(
            "{{\"error\":\"the server has {max_connections} connections open, its limit (web.max_connections); try again shortly\"}}"
        );
        let mut head = String::from("HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n");
        for (name, value) in SECURITY_HEADERS {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}", body.len()));
        let _ = stream.try_write(head.as_bytes());
        drop(stream);
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self.last_logged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_none_or(|t| t.elapsed() >= Self::EVERY) {
            *last = Some(Instant::now());
            self.count.store(0, Ordering::Relaxed);
            tracing::warn!(
                stage = "web",
                refused = n,
                max_connections,
                "refused {n} connection(s) over web.max_connections (answered 503 and closed)"
            );
        }
    }
}

/// A socket whose reads and writes must each make progress within `idle`: a read or write still pending after
/// that long fails with `TimedOut`, which ends the connection. Progress of any size restarts the clock.
pub struct Watched<S> {
    inner: S,
    idle: Duration,
    read: Stall,
    write: Stall,
}

impl<S> Watched<S> {
    pub fn new(inner: S, idle: Duration) -> Watched<S> {
        Watched { inner, idle, read: Stall(None), write: Stall(None) }
    }
}

/// The deadline of one direction's pending operation, armed when it first returns `Pending`.
struct Stall(Option<Pin<Box<Sleep>>>);

impl Stall {
    /// After the inner operation returned `poll`: clears the deadline on progress; on `Pending`, arms it (once)
    /// and fails the operation when it has passed.
    fn watch<T>(&mut self, cx: &mut Context<'_>, idle: Duration, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.0 = None;
            return poll;
        }
        let deadline = self.0.get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.0 = None;
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no progress for {} s (web.idle_timeout_seconds)", idle.as_secs()),
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        this.read.watch(cx, this.idle, poll)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.write.watch(cx, this.idle, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.write.watch(cx, this.idle, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.write.watch(cx, this.idle, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_read_without_progress_times_out_and_progress_restarts_the_clock() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut watched = Watched::new(a, Duration::from_millis(300));
        // A byte every 150 ms for 450 ms: each read waits less than the idle time, the whole more than it.
        let writer = tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(150)).await;
                b.write_all(b"x").await.unwrap();
            }
            b // kept open: from now on the reader waits for a byte that never comes
        });
        let mut buf = [0u8; 8];
        let mut got = 0;
        while got < 3 {
            got += watched.read(&mut buf).await.unwrap();
        }
        let _b = writer.await.unwrap();
        let err = watched.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("web.idle_timeout_seconds"), "{err}");
    }

    #[tokio::test]
    async fn a_write_the_peer_never_reads_times_out() {
        let (a, _b) = tokio::io::duplex(16);
        let mut watched = Watched::new(a, Duration::from_millis(200));
        let err = watched.write_all(&[7u8; 64]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
