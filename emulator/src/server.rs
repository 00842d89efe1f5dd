//! The accept loop: HTTP/1.1 connections served by hyper, with the limits that keep slow or
//! stalled clients from exhausting the emulator.
//!
//! - **Connections:** at most `max_connections` are served at once; the accept loop takes a
//!   permit before it accepts, so an excess connection waits in the kernel's backlog until one
//!   closes (it is never refused).
//! - **Header timeout:** from the first byte of a request (or from the connection's start, for
//!   its first request) to the end of its headers (slowloris); the connection is closed when it
//!   passes.
//! - **Body timeout:** the longest pause while a handler reads the request body
//!   ([`BodyWithTimeout`]); the AWS API answers `408` with a modeled error and the connection is
//!   closed.
//! - **Idle timeout:** a keep-alive connection with no request in flight and no byte received is
//!   closed after it.
//!
//! Shutdown stops accepting, lets every in-flight request finish (idle connections close at once)
//! and returns when the last connection has closed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// Transport limits (composed by `Config::server_limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Limits {
    /// Limits from a connection cap and timeouts in milliseconds (each at least 1 ms; the cap
    /// at least 1 and at most what a semaphore takes).
    pub fn new(max_connections: usize, header_ms: u64, body_ms: u64, idle_ms: u64) -> Limits {
        Limits {
            max_connections: max_connections.clamp(1, Semaphore::MAX_PERMITS),
            header_timeout: Duration::from_millis(header_ms.max(1)),
            body_timeout: Duration::from_millis(body_ms.max(1)),
            idle_timeout: Duration::from_millis(idle_ms.max(1)),
        }
    }

    /// How often a connection checks its deadlines: a quarter of the shortest timeout, between
    /// 5 ms and 1 s.
    fn tick(&self) -> Duration {
        (self.header_timeout.min(self.idle_timeout) / 4)
            .clamp(Duration::from_millis(5), Duration::from_secs(1))
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains the connections.
pub async fn run(
    listener: TcpListener,
    app: crate::Application,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            serve_connection(stream, app, limits, stop).await;
            tracing::trace!(%peer, "connection closed");
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it has closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// What a connection is doing, shared by its IO, its service and its watchdog.
struct Activity {
    epoch: Instant,
    /// Requests whose response has not been written yet.
    in_flight: AtomicUsize,
    /// When the connection last became idle (ms since `epoch`).
    idle_since: AtomicU64,
    /// When the first byte of the next request arrived (ms since `epoch`), [`NONE`] if none;
    /// a new connection starts at 0, so one that never sends a byte gets the header timeout.
    head_since: AtomicU64,
}

const NONE: u64 = u64::MAX;

impl Activity {
    fn new() -> Activity {
        Activity {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    /// Bytes arrived: between requests they start the header timeout.
    fn on_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let now = self.now_ms();
            let _ =
                self.head_since.compare_exchange(NONE, now, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    /// The headers of a request are in: its handler runs.
    fn start_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(NONE, Ordering::Release);
        InFlight(self.clone())
    }

    /// Why the connection should be closed now, if it should.
    fn expired(&self, limits: &Limits) -> Option<&'static str> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let now = self.now_ms();
        let since = |t: u64| Duration::from_millis(now.saturating_sub(t));
        match self.head_since.load(Ordering::Acquire) {
            NONE if since(self.idle_since.load(Ordering::Acquire)) >= limits.idle_timeout => {
                Some("idle timeout")
            }
            NONE => None,
            head if since(head) >= limits.header_timeout => Some("header timeout"),
            _ => None,
        }
    }
}

/// A request in flight; dropped once its response body has been written (or abandoned).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        if activity.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            activity.idle_since.store(activity.now_ms(), Ordering::Release);
            activity.head_since.store(NONE, Ordering::Release);
        }
    }
}

/// The request body with the body timeout: the longest pause while the handler reads it. The
/// timer starts only when no data is ready, so a body that came with its headers (nearly every
/// AWS API request) never touches the timer wheel — tower-http's `TimeoutBody` arms and disarms
/// a timer on every read.
struct BodyWithTimeout {
    body: Incoming,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// The error of a request body that stalled for longer than the body timeout.
#[derive(Debug)]
pub struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body stalled")
    }
}

impl std::error::Error for BodyTimedOut {}

impl HttpBody for BodyWithTimeout {
    type Data = axum::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            this.sleep = None;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let timeout = this.timeout;
        let sleep = this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The response body, holding its request's [`InFlight`] until hyper has written it.
struct TrackedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl HttpBody for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The socket, noting when bytes arrive.
struct TrackedIo {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_read();
        }
        polled
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// One connection: hyper's HTTP/1.1 state machine, watched for its deadlines and for shutdown.
async fn serve_connection(
    stream: TcpStream,
    app: crate::Application,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(TrackedIo { stream, activity: activity.clone() });
    let service_activity = activity.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let in_flight = service_activity.start_request();
        let request = request.map(|body| {
            Body::new(BodyWithTimeout { body, timeout: limits.body_timeout, sleep: None })
        });
        let app = app.clone();
        async move {
            let response = app.call(request).await;
            Ok::<_, std::convert::Infallible>(
                response.map(|inner| TrackedBody { inner, _in_flight: in_flight }),
            )
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The header timeout is ours (it starts at a request's first byte, not when the
    // connection goes idle as hyper's does).
    builder.header_read_timeout(None);
    let connection = builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let mut tick = tokio::time::interval(limits.tick());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = *stop.borrow();
    if stopping {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(%e, "connection ended with an error");
                }
                return;
            }
            _ = tick.tick() => {
                if let Some(reason) = activity.expired(&limits) {
                    tracing::debug!(reason, "closing connection");
                    return;
                }
            }
            changed = stop.changed(), if !stopping => {
                if changed.is_err() || *stop.borrow() {
                    stopping = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}
