//! The control API under `/_emulator`: what no AWS API can do. This version: health and reset.
//! It is JSON over HTTP on the same port, outside the AWS URL space.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;
use crate::ops::is_implemented;
use crate::routes::Operation;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health)).route("/reset", post(reset))
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
        "s3": state.s3.describe(),
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
    state.media.clear().await;
    Json(json!({ "reset": true }))
}
