//! `GET /_emulator/flows/{flowId}/assets/flow.json`: the Flow JSON asset that
//! ListWhatsAppFlowAssets' `downloadUrl` points at.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::scope::{Scope, error};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/flows/{flow_id}/assets/flow.json", get(flow_json))
}

async fn flow_json(
    State(state): State<AppState>,
    Path(flow_id): Path<String>,
    Query(scope): Query<Scope>,
) -> Response {
    let ctx = scope.context(&state);
    let text = state.store.with(&ctx, |p| {
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
