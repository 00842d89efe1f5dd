//! `GET /_emulator/flows/{flowId}/assets/flow.json`: the Flow JSON asset that
//! ListWhatsAppFlowAssets' `downloadUrl` points at; `POST /_emulator/flows/{flowId}/status`:
//! Meta's health decisions (PUBLISHED, THROTTLED, BLOCKED) with their `flows` webhooks.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::scope::{Scope, error};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/flows/{flow_id}/assets/flow.json", get(flow_json))
        .route("/flows/{flow_id}/status", post(set_status))
}

/// `{"status": "PUBLISHED"|"THROTTLED"|"BLOCKED", "reason": …, "account": …, "region": …}`.
#[derive(Deserialize)]
struct StatusDecision {
    status: String,
    reason: Option<String>,
    #[serde(flatten)]
    scope: Scope,
}

async fn set_status(
    State(state): State<AppState>,
    Path(flow_id): Path<String>,
    body: Bytes,
) -> Response {
    let decision: StatusDecision = match super::parse_body(&body) {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    let ctx = decision.scope.context(&state);
    let status = decision.status.to_ascii_uppercase();
    match crate::ops::flows::set_health(&state, &ctx, &flow_id, &status, decision.reason.as_deref())
    {
        Ok(flow) => Json(flow).into_response(),
        Err(message) if message.contains("does not exist") => error(StatusCode::NOT_FOUND, message),
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

async fn flow_json(
    State(state): State<AppState>,
    Path(flow_id): Path<String>,
    Query(scope): Query<Scope>,
) -> Response {
    let ctx = scope.context(&state);
    let text = state.store.read(&ctx, |p| {
        p.wabas.values().find_map(|w| w.flows.get(&flow_id)).and_then(|f| f.flow_json.clone())
    });
    match text {
        Some(text) => {
            let mut response = (StatusCode::OK, text).into_response();
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            response
        }
        None => error(
            StatusCode::NOT_FOUND,
            format!(
                "Flow {flow_id} has no Flow JSON in account {} and Region {}",
                ctx.account, ctx.region
            ),
        ),
    }
}
