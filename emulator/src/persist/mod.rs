//! The whole state as one JSON document (export, atomic import) and, with `--state-dir`, kept in
//! SQLite ([`sqlite`]) before any response is sent.
//!
//! The document: `{"version": 1, "clock", "ids", "partitions": [...], "scheduler": [...],
//! "events", "sns"}`. Import parses and checks the whole document into new structures first and
//! only then swaps them in, so a bad document changes nothing.

pub mod sqlite;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clock::ClockState;
use crate::events::EventLogState;
use crate::events::sns::SnsState;
use crate::scheduler::{Job, ScheduledJob};
use crate::state::Partition;

/// The document format's version.
pub const VERSION: u64 = 1;

/// The id generator's state.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdsState {
    pub counter: u64,
}

/// An imported document, parsed and checked.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Document {
    pub version: u64,
    pub clock: ClockState,
    pub ids: IdsState,
    pub partitions: Vec<Partition>,
    #[serde(default)]
    pub scheduler: Vec<ScheduledJob>,
    #[serde(default)]
    pub events: EventLogState,
    #[serde(default)]
    pub sns: SnsState,
}

/// What the document holds: handles to the state's parts, which the app composes
/// (`AppState::parts`). Persistence reads and restores them and sees nothing else.
#[derive(Clone)]
pub struct Parts {
    pub store: Arc<crate::Store>,
    pub clock: Arc<crate::clock::Clock>,
    pub ids: Arc<crate::state::ids::IdGen>,
    pub events: Arc<crate::events::EventLog>,
    pub sns: Arc<crate::events::sns::Sns>,
    pub scheduler: Arc<crate::scheduler::Scheduler>,
}

/// The header row of the document (everything but the big parts).
pub fn header(state: &Parts) -> Value {
    json!({
        "version": VERSION,
        "clock": state.clock.snapshot(),
        "ids": IdsState { counter: state.ids.counter() },
    })
}

/// One partition as exported.
pub fn partition_json(p: &Partition) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

/// `GET /_emulator/state`: the whole state. Partitions first, so that a job or an event of a
/// request racing the export can only be present without its partition change being missed
/// the other way round.
pub fn export(state: &Parts) -> Value {
    let partitions: Vec<Value> = state
        .store
        .keys()
        .iter()
        .filter_map(|k| state.store.existing(k))
        .map(|p| partition_json(&p.read().unwrap_or_else(std::sync::PoisonError::into_inner)))
        .collect();
    let mut doc = header(state);
    doc["partitions"] = Value::Array(partitions);
    doc["events"] = json!(state.events.snapshot());
    doc["sns"] = json!(state.sns.snapshot());
    doc["scheduler"] = json!(state.scheduler.snapshot());
    doc
}

/// Parses and checks a document; the error names the path of what is wrong.
pub fn parse(bytes: &[u8]) -> Result<Document, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the document is not JSON: {e}"))?;
    match value.get("version") {
        Some(v) if v.as_u64() == Some(VERSION) => {}
        Some(v) => return Err(format!("version: {v} is not supported (expected {VERSION})")),
        None => return Err("version: missing field `version`".into()),
    }
    let doc: Document = serde_path_to_error::deserialize(value)
        .map_err(|e| format!("{}: {}", e.path(), e.inner()))?;
    let mut keys = std::collections::HashSet::new();
    for (i, p) in doc.partitions.iter().enumerate() {
        if p.account.is_empty() || p.region.is_empty() {
            return Err(format!("partitions[{i}]: account and region must not be empty"));
        }
        if !keys.insert((&p.account, &p.region)) {
            return Err(format!(
                "partitions[{i}]: a second partition for account {} and region {}",
                p.account, p.region
            ));
        }
        for (hex, w) in &p.wabas {
            if *hex != w.hex {
                return Err(format!(
                    "partitions[{i}].wabas.{hex}.hex: {} differs from its key",
                    w.hex
                ));
            }
        }
    }
    doc.events.check()?;
    doc.sns.check()?;
    Ok(doc)
}

/// Swaps a checked document in: store, clock, ids, events, SNS, timers (with `--state-dir`, the
/// app then has everything rewritten: `Persister::rewrite_all`).
pub fn apply(state: &Parts, doc: Document) {
    state.scheduler.clear();
    state.store.replace(doc.partitions);
    state.clock.restore(doc.clock);
    state.ids.set_counter(doc.ids.counter);
    state.events.restore(doc.events);
    let pending = state.sns.restore(doc.sns);
    state.scheduler.restore(doc.scheduler);
    for (delivery_id, at) in pending {
        state.scheduler.at(at, Job::SnsDelivery { delivery_id });
    }
}

/// Middleware of the control API (only with `--state-dir`): after a request that may have
/// changed state, waits until a write that started after it has committed (see [`committed`]).
pub async fn layer(
    State(persist): State<Arc<sqlite::Persister>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let may_change = !matches!(*request.method(), Method::GET | Method::HEAD)
        || path == "/_emulator/sns/confirm"
        || path == "/_emulator/sns/unsubscribe";
    let response = next.run(request).await;
    if may_change { committed(&persist, response).await } else { response }
}

/// `response` once everything changed before it is committed, so an acknowledged change
/// survives a `kill -9`; if the write fails the client gets `InternalServiceException`, not a
/// success.
pub async fn committed(persist: &sqlite::Persister, response: Response) -> Response {
    match persist.sync().await {
        Ok(()) => response,
        Err(e) => {
            tracing::error!(%e, "persisting the state failed");
            let request_id = response
                .headers()
                .get("x-amzn-requestid")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            crate::error::ApiError::internal(format!("The state could not be persisted: {e}"))
                .into_response_for(&request_id)
                .map(axum::body::Body::from)
        }
    }
}

pub use crate::json::pairs;
