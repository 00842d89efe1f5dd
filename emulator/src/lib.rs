//! A local emulator of AWS End User Messaging Social (`socialmessaging`, WhatsApp through AWS).
//!
//! # Layout
//! - [`routes`]: the route table (from the model facts) and the request pipeline of the AWS API.
//! - [`ops`]: one file per resource; each handler is named after the operation it serves.
//! - [`context`]: account, region and request id of a request (SigV4 credential scope).
//! - [`auth`]: the credentials file, SigV4 verification (`--verify-sigv4`), the control token.
//! - [`events`]: the event bus ([`events::Bus`]): the AWS event envelope, the event log, SNS HTTP
//!   subscribers and endpoints.
//! - [`timers`]: the loop where due timers of the [`scheduler`] meet the domain's transitions.
//! - [`control`]: the `/_emulator` control API (health, reset, clock, inbound, events, templates,
//!   SNS subscriptions, flow assets, conversion events,
//!   call permissions and calls, public-key signature status), what the web console reads
//!   (`control::console`: conversations, media bytes, the live stream) and its files
//!   (`control::ui`, embedded from `console/` by `build.rs`).
//! - [`media`]: WhatsApp's copies of media files (Meta's media rules: [`meta::media`]).
//! - [`s3`]: the customer's S3: embedded directory or S3 endpoint, and presigned URLs.
//! - [`server`]: the accept loop: connection limit, header, body and idle timeouts, shutdown.
//! - [`limits`]: what stands before a handler: fault rules, then the API rate limits (quotas).
//! - [`persist`]: the state as one JSON document (export/import) and in SQLite (`--state-dir`).
//! - [`config`]: run-time settings.
//!
//! From the base crate `eum-social-base` (`base/`, re-exported here): [`model`] (the model facts,
//! input validation, [`model::Operation`]), [`error`] ([`error::ApiError`] and its restJson1
//! form), [`clock`] (the virtual clock), [`json`] (JSON kept serialized), [`locks`] (lock waits,
//! counted), [`reqlog`] (the request log), [`scheduler`] (timers on the virtual clock, a queue).
//!
//! From the domain crate `eum-social-domain` (`domain/`, re-exported here): [`state`] (the store
//! keyed by (account, Region), ids and ARNs, the seed, media metadata) and [`meta`] (the WhatsApp
//! side: message rules, sending, statuses, windows, limits, inbound, template lifecycle and
//! rules, media rules; transitions over a partition that return their effects).
//!
//! Layers (issue 16; `emulator/tests/it/layers.rs` checks them): *base* and *domain* are crates
//! of their own, so the compiler refuses an import of this crate from them (the domain sees only
//! the base). Above them, in this crate: the *runtime* (`events`, `limits`, `persist`, `s3`,
//! `media`) sees only the runtime, given settings structs and `Arc`s of the parts (never
//! [`AppState`]); the *adapters* (`auth`, `context`, `routes`, `server`, `ops`, `control`) are
//! given `AppState` and never reach the timer loop or the `config` module; the *app* (this file,
//! `timers`, `config`) composes them.
//!
//! [`app`] builds the router (tests can call it without a socket); [`serve`] runs it on a
//! listener, with AWS API requests handed straight to the pipeline ([`Application`]). Either way
//! an AWS request takes one path, [`aws_request`]: the pipeline, panics answered, and with
//! `--state-dir` the wait for its commit. [`Emulator::start`] does both on a port for tests and
//! embedders.

pub mod auth;
// The base layer is a crate of its own (`base/`): it cannot import anything of this crate.
pub use eum_social_base::{clock, error, json, locks, model, reqlog, scheduler};
// The domain layer too (`domain/`): it cannot import anything of this crate.
pub use eum_social_domain::{meta, state};
pub mod config;
pub mod context;
pub mod control;
pub mod events;
pub mod limits;
pub mod media;
pub mod ops;
pub mod persist;
pub mod routes;
pub mod s3;
pub mod server;
pub mod timers;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

pub use config::Config;
pub use state::{Seed, Store};

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub clock: Arc<clock::Clock>,
    pub scheduler: Arc<scheduler::Scheduler>,
    /// The event bus: log, SNS subscribers and endpoints.
    pub bus: Arc<events::Bus>,
    /// The customer's buckets and presigned URLs.
    pub s3: Arc<s3::S3>,
    /// WhatsApp's copies of media files.
    pub media: Arc<media::blobs::Blobs>,
    /// API rate limits.
    pub quotas: Arc<limits::quotas::Quotas>,
    /// Fault injection rules.
    pub faults: Arc<limits::faults::Faults>,
    /// Recent AWS API requests.
    pub requests: Arc<reqlog::RequestLog>,
    /// Every generated id (random, or seeded in deterministic mode).
    pub ids: Arc<state::ids::IdGen>,
    /// With `--state-dir`: writes the state to SQLite before responses are sent.
    pub persist: Option<Arc<persist::sqlite::Persister>>,
}

impl AppState {
    /// A fresh state from `seed`; the seed's account and region become the defaults.
    pub fn new(mut config: Config, seed: Seed) -> Self {
        config.default_account = seed.account.clone();
        config.default_region = seed.region.clone();
        let data_dir = Arc::new(s3::DataDir::new(config.data_dir.as_deref()));
        let clock = match (config.deterministic_seed, config.clock_start_ms) {
            (Some(_), start) => clock::Clock::starting_at(
                start.unwrap_or(config::DETERMINISTIC_CLOCK_START_MS),
                true,
            ),
            (None, Some(start)) => clock::Clock::starting_at(start, false),
            (None, None) => clock::Clock::default(),
        };
        let ids = match config.deterministic_seed {
            Some(seed) => state::ids::IdGen::seeded(seed),
            None => state::ids::IdGen::random(),
        };
        let clock = Arc::new(clock);
        let ids = Arc::new(ids);
        let scheduler = Arc::new(scheduler::Scheduler::default());
        let bus = Arc::new(events::Bus::new(
            config.event_settings(),
            clock.clone(),
            ids.clone(),
            scheduler.clone(),
        ));
        AppState {
            bus,
            s3: Arc::new(s3::S3::new(&config.s3_settings(), data_dir.clone())),
            media: Arc::new(media::blobs::Blobs::new(data_dir)),
            quotas: Arc::new(limits::quotas::Quotas::new(config.quotas.clone())),
            faults: Arc::new(limits::faults::Faults::new(&config.faults, config.seed_rng)),
            requests: Arc::new(reqlog::RequestLog::new(
                config.request_log_capacity,
                config.log_requests,
            )),
            config: Arc::new(config),
            store: Arc::new(Store::new(seed)),
            clock,
            ids,
            persist: None,
            scheduler,
        }
    }

    /// [`AppState::new`], and with `config.state_dir` the state kept in SQLite there: loaded
    /// from it when it holds one (instead of the seed, with pending timers and deliveries), and
    /// written to it before every response that may have changed it. Files (embedded S3, media
    /// copies) go to `DIR/files` unless `data_dir` is set. Needs a Tokio runtime.
    pub fn open(mut config: Config, seed: Seed) -> Result<Self, String> {
        let Some(dir) = config.state_dir.clone() else { return Ok(AppState::new(config, seed)) };
        if config.data_dir.is_none() {
            let files = dir.join("files");
            std::fs::create_dir_all(&files)
                .map_err(|e| format!("cannot create {}: {e}", files.display()))?;
            config.data_dir = Some(files);
        }
        let (db, stored) = persist::sqlite::open(&dir)?;
        let mut state = AppState::new(config, seed);
        if let Some(doc) = stored {
            let bytes = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
            let doc = persist::parse(&bytes)
                .map_err(|e| format!("the state in {} is not valid: {e}", dir.display()))?;
            persist::apply(&state.parts(), doc);
        }
        state.store.track_changes();
        state.persist = Some(Arc::new(persist::sqlite::Persister::start(db, state.parts())));
        Ok(state)
    }

    /// What persistence reads and restores (export, import, the SQLite writer).
    pub fn parts(&self) -> persist::Parts {
        persist::Parts {
            store: self.store.clone(),
            clock: self.clock.clone(),
            ids: self.ids.clone(),
            events: self.bus.log.clone(),
            sns: self.bus.sns.clone(),
            scheduler: self.scheduler.clone(),
        }
    }

    /// `PUT /_emulator/state`: parses and checks the whole document, then swaps it in (all or
    /// nothing); with `--state-dir` everything is rewritten.
    pub fn import(&self, bytes: &[u8]) -> Result<(), String> {
        let doc = persist::parse(bytes)?;
        persist::apply(&self.parts(), doc);
        if let Some(persist) = &self.persist {
            persist.rewrite_all();
        }
        Ok(())
    }

    /// Back to the seed: state, clock, pending timers, events and deliveries, the request log,
    /// full rate-limit buckets, fault rule counters and RNG (SNS subscriptions, quota figures
    /// and fault rules are configuration and stay).
    pub fn reset(&self) {
        self.scheduler.clear();
        self.store.reset();
        self.clock.reset();
        self.bus.log.clear();
        self.bus.sns.clear_deliveries();
        self.quotas.refill();
        self.faults.reset_counters();
        self.requests.clear();
        if let Some(persist) = &self.persist {
            persist.rewrite_all();
        }
    }
}

/// The whole HTTP application: the control API under `/_emulator`, every other request to the
/// AWS API pipeline (which answers unknown routes with an AWS-shaped error).
pub fn app(state: AppState) -> Router {
    let control = control::router()
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::control_token))
        .layer(axum::middleware::map_response(control::json_errors));
    let control = match state.persist.clone() {
        Some(persister) => {
            control.layer(axum::middleware::from_fn_with_state(persister, persist::layer))
        }
        None => control,
    };
    let control = control.layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response));
    Router::new()
        .nest("/_emulator", control)
        .fallback(|axum::extract::State(state): axum::extract::State<AppState>, request| {
            aws_request(state, request)
        })
        .with_state(state)
}

/// The one path of every AWS API request, whether the router or the server hands it over: the
/// pipeline ([`routes::respond`]), a panic answered as `InternalServiceException`, and with
/// `--state-dir` the wait until a change is committed. What every AWS request must pass belongs
/// here, not in a router layer.
pub async fn aws_request(
    state: AppState,
    request: axum::extract::Request,
) -> axum::response::Response {
    use futures_util::FutureExt;
    let may_change =
        !matches!(*request.method(), axum::http::Method::GET | axum::http::Method::HEAD);
    let persist = state.persist.clone();
    let handled = std::panic::AssertUnwindSafe(routes::respond(state, request));
    let response = handled.catch_unwind().await.unwrap_or_else(panic_response);
    match persist {
        Some(persist) if may_change => persist::committed(&persist, response).await,
        _ => response,
    }
}

/// What the server runs for each request: [`aws_request`] for requests outside `/_emulator`,
/// called directly (the hot path: no router between), and [`app`]'s router for the control API.
#[derive(Clone)]
pub struct Application {
    router: Router,
    state: AppState,
}

impl Application {
    pub fn new(state: AppState) -> Application {
        Application { router: app(state.clone()), state }
    }

    /// Answers `request`.
    pub async fn call(self, request: axum::extract::Request) -> axum::response::Response {
        use tower::ServiceExt;
        if !control::is_control_path(request.uri().path()) {
            return aws_request(self.state, request).await;
        }
        match self.router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// A bug must never drop the connection: it is logged and answered as the one server error every
/// SDK knows, `InternalServiceException`.
pub(crate) fn panic_response(
    panic: Box<dyn std::any::Any + Send + 'static>,
) -> axum::response::Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(detail, "handler panicked");
    error::ApiError::internal(format!("Internal error in the emulator: {detail}"))
        .into_response_for(&uuid::Uuid::new_v4().to_string())
        .map(axum::body::Body::from)
}

/// Serves [`Application::new`]`(state)` on `listener` until `shutdown` completes, then drains
/// connections (see [`server`] for the connection limit and timeouts).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let timers = tokio::spawn(timers::run(state.clone()));
    let limits = state.config.server_limits();
    // Live streams never end by themselves: they are told to, so that connections drain.
    let events = state.bus.log.clone();
    let shutdown = async move {
        shutdown.await;
        events.close_streams();
    };
    let served = server::run(listener, Application::new(state), limits, shutdown).await;
    timers.abort();
    served
}

/// A running emulator on a local port, stopped when dropped.
pub struct Emulator {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Emulator {
    /// Starts on 127.0.0.1 with an OS-chosen port and the default seed.
    pub async fn start() -> std::io::Result<Emulator> {
        Self::start_with(Config::default(), Seed::default_seed()).await
    }

    pub async fn start_with(mut config: Config, seed: Seed) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        config.public_url = Some(format!("http://{addr}"));
        let state = AppState::open(config, seed).map_err(std::io::Error::other)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        Ok(Emulator { addr, state, stop: Some(stop), task: Some(task) })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, drains in-flight requests and waits for the server to end.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_becomes_an_internal_service_exception() {
        let response = super::panic_response(Box::new("boom"));
        assert_eq!(response.status(), 500);
        assert_eq!(response.headers()["x-amzn-errortype"], "InternalServiceException");
        assert!(response.headers().contains_key("x-amzn-requestid"));
    }
}
