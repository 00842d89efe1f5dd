//! The control API under `/_emulator`: what no AWS API can do. This version: health and reset;
//! flow assets, conversion events, call permissions and calls, public-key signature status.
//! It is JSON over HTTP on the same port, outside the AWS URL space.

mod calling;
mod conversions;
mod flows;
mod public_keys;
mod scope;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;
use crate::ops::is_implemented;
use crate::routes::Operation;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/reset", post(reset))
        .merge(flows::router())
        .merge(conversions::router())
        .merge(calling::router())
        .merge(public_keys::router())
}

/// `GET /_emulator/health`: liveness, version, and which operations are implemented.
async fn health(State(state): State<AppState>) -> Json<Value> {
    let (implemented, pending): (Vec<Operation>, Vec<Operation>) =
        Operation::ALL.iter().partition(|op| is_implemented(**op));
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "defaultAccount": state.config.default_account,
        "defaultRegion": state.config.default_region,
        "operations": {
            "implemented": implemented.iter().map(|o| o.name()).collect::<Vec<_>>(),
            "notImplemented": pending.iter().map(|o| o.name()).collect::<Vec<_>>(),
        }
    }))
}

/// `POST /_emulator/reset`: every account and region back to the seed, the clock to wall time.
async fn reset(State(state): State<AppState>) -> Json<Value> {
    state.store.reset();
    state.clock.reset();
    Json(json!({ "reset": true }))
}
