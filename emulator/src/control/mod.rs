//! The control API under `/_emulator`: what no AWS API can do — health, reset, the clock, a
//! customer writing in, the message and event logs, SNS subscriptions, phone number quality and
//! limits, template review, flow assets, conversion events, call permissions and calls,
//! public-key signature status, fault rules, API rate limits and the request log. JSON over HTTP on the same port, outside the AWS URL space;
//! every error is `{"message": …}` with a 4xx status ([`json_errors`] turns axum's plain-text
//! rejections into that form too).

mod calling;
mod console;
mod conversions;
mod faults;
mod flows;
mod messaging;
mod portfolios;
mod public_keys;
mod scope;
mod sns;
pub mod templates;
pub mod ui;
mod users;

/// What the inbound simulation calls to give a customer's file a media id (tests call it too).
pub use messaging::store_inbound;

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;
use crate::model::Operation;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/locks", get(locks))
        .route("/reset", post(reset))
        .route(
            "/state",
            get(export_state)
                .put(import_state)
                .layer(axum::extract::DefaultBodyLimit::max(STATE_BODY_LIMIT)),
        )
        .route("/clock", get(clock).post(set_clock))
        .route("/clock/advance", post(advance_clock))
        .route(
            "/inbound",
            post(messaging::inbound)
                .layer(axum::extract::DefaultBodyLimit::max(INBOUND_BODY_LIMIT)),
        )
        .route("/messages", get(messaging::messages))
        .route("/events", get(messaging::events))
        .route(
            "/phone-numbers/{id}",
            get(messaging::phone_number).put(messaging::update_phone_number),
        )
        .route("/sns/subscriptions", get(sns::list).post(sns::subscribe).delete(sns::unsubscribe))
        .route("/sns/", get(sns::action))
        .route("/sns/confirm", get(sns::confirm))
        .route("/sns/unsubscribe", get(sns::unsubscribe_link))
        .route("/sns/deliveries", get(sns::deliveries))
        .route("/sns/deliveries/redrive", post(sns::redrive))
        .route("/sns/{file}", get(sns::certificate))
        .route("/templates", get(templates::list))
        .route("/templates/{id}/review", post(templates::review))
        .route("/templates/{id}/quality", axum::routing::put(templates::quality))
        .merge(flows::router())
        .merge(conversions::router())
        .merge(calling::router())
        .merge(public_keys::router())
        .merge(faults::router())
        .merge(console::router())
        .merge(ui::router())
        .merge(users::router())
        .merge(portfolios::router())
}

/// The largest `POST /_emulator/inbound` (a customer's file, base64 in JSON: a 16 MB video).
const INBOUND_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// A control API failure: a status and a message.
pub struct ControlError(StatusCode, String);

impl ControlError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ControlError(StatusCode::BAD_REQUEST, message.into())
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        ControlError(StatusCode::NOT_FOUND, message.into())
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "message": self.1 }))).into_response()
    }
}

/// A JSON body, or a control error naming what is wrong with it (never axum's plain text).
pub fn parse_body<T: serde::de::DeserializeOwned>(
    body: &axum::body::Bytes,
) -> Result<T, ControlError> {
    let text = if body.iter().all(u8::is_ascii_whitespace) { &b"{}"[..] } else { &body[..] };
    serde_json::from_slice(text)
        .map_err(|e| ControlError::bad_request(format!("invalid JSON body: {e}")))
}

pub type Params = Query<HashMap<String, String>>;

/// `#[serde(default, deserialize_with = "super::present")]`: tells a member given as `null`
/// (`Some(None)`: clear it) from one left out (`None`: keep it).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    use serde::Deserialize;
    Option::<String>::deserialize(d).map(Some)
}

/// Every control API error as `{"message": …}` JSON: axum's own rejections (a body that is not
/// JSON, a bad query or path, an unknown method) answer plain text, which becomes that message.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    // Only axum's plain text (or nothing): JSON errors and SNS's XML answers stay as they are.
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let message = match text.trim() {
        "" => status.canonical_reason().unwrap_or("error").to_string(),
        text => text.to_string(),
    };
    let body = serde_json::to_vec(&json!({ "message": message })).unwrap_or_default();
    parts.headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// Whether `path` is the control API's (what `app` nests under `/_emulator`).
pub fn is_control_path(path: &str) -> bool {
    path.strip_prefix("/_emulator").is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// `GET /_emulator/health`: liveness, version, defaults, the S3 backend and the operations.
async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "defaultAccount": state.config.default_account,
        "defaultRegion": state.config.default_region,
        "s3": state.s3.describe(),
        "operations": Operation::ALL.iter().map(|o| o.name()).collect::<Vec<_>>(),
    }))
}

/// `GET /_emulator/locks`: how often each shared lock of the request path was found held by
/// another thread, and how long the waits took (process-wide, since the start; see
/// [`crate::locks`]). The benchmark reads it around each load.
async fn locks() -> Json<Value> {
    let locks: serde_json::Map<String, Value> = crate::locks::all()
        .into_iter()
        .map(|c| {
            let (waits, ns) = c.totals();
            (c.name.to_string(), json!({ "waits": waits, "waitedNanos": ns }))
        })
        .collect();
    Json(json!({ "locks": locks }))
}

/// `POST /_emulator/reset`: every account and Region back to the seed, the clock to wall time,
/// pending statuses, events and deliveries dropped.
async fn reset(State(state): State<AppState>) -> Json<Value> {
    state.reset();
    state.media.clear().await;
    Json(json!({ "reset": true }))
}

/// The largest state document `PUT /_emulator/state` takes.
const STATE_BODY_LIMIT: usize = 512 * 1024 * 1024;

/// `GET /_emulator/state`: the whole state as one JSON document.
async fn export_state(State(state): State<AppState>) -> Json<Value> {
    Json(crate::persist::export(&state.parts()))
}

/// `PUT /_emulator/state`: replaces the whole state with a document from `GET`; a bad document
/// changes nothing and the 400 says where it is wrong.
async fn import_state(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ControlError> {
    state
        .import(&body)
        .map_err(|e| ControlError::bad_request(format!("invalid state document: {e}")))?;
    Ok(Json(json!({ "imported": true })))
}

/// The clock as the control API shows it (also in every live stream message).
pub(crate) fn clock_json(state: &AppState) -> Value {
    let now = state.clock.now_ms();
    json!({
        "nowMs": now,
        "now": crate::events::rfc3339_millis(now),
        "frozen": state.clock.is_frozen(),
        "pendingTimers": state.scheduler.pending(),
        "runningTimers": state.scheduler.running(),
        "nextDueMs": state.scheduler.next_due(),
    })
}

/// `GET /_emulator/clock`
async fn clock(State(state): State<AppState>) -> Json<Value> {
    Json(clock_json(&state))
}

/// `POST /_emulator/clock` `{"frozen": bool, "nowMs": epoch ms}` (both optional).
async fn set_clock(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ControlError> {
    let body: Value = parse_body(&body)?;
    if let Some(frozen) = body.get("frozen") {
        let frozen = frozen
            .as_bool()
            .ok_or_else(|| ControlError::bad_request("frozen must be a boolean"))?;
        state.clock.freeze(frozen);
    }
    if let Some(now) = body.get("nowMs") {
        let now =
            now.as_i64().ok_or_else(|| ControlError::bad_request("nowMs must be an integer"))?;
        if now < state.clock.now_ms() {
            return Err(ControlError::bad_request("the clock only moves forward"));
        }
        state.clock.set_ms(now);
    }
    Ok(Json(clock_json(&state)))
}

/// `POST /_emulator/clock/advance` `{"seconds": n}` or `{"ms": n}` or `{"hours": n}`: timers that
/// fall due run in order, each at its own virtual time.
async fn advance_clock(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ControlError> {
    let body: Value = parse_body(&body)?;
    let ms = if let Some(v) = body.get("ms") {
        v.as_f64()
    } else if let Some(v) = body.get("seconds") {
        v.as_f64().map(|s| s * 1000.0)
    } else if let Some(v) = body.get("hours") {
        v.as_f64().map(|h| h * 3_600_000.0)
    } else {
        None
    };
    let ms = ms
        .filter(|ms| ms.is_finite() && *ms >= 0.0 && *ms < 1.0e13)
        .ok_or_else(|| ControlError::bad_request("give a non-negative ms, seconds or hours"))?;
    state.clock.advance(std::time::Duration::from_millis(ms as u64));
    Ok(Json(clock_json(&state)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_paths_are_those_the_router_nests() {
        for path in ["/_emulator", "/_emulator/", "/_emulator/health", "/_emulator/events/stream"] {
            assert!(super::is_control_path(path), "{path}");
        }
        for path in ["/", "/v1/whatsapp/send", "/_emulatorx", "/_emulatorhealth", "/v1/_emulator"] {
            assert!(!super::is_control_path(path), "{path}");
        }
    }
}
