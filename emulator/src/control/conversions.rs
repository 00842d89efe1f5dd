//! `GET /_emulator/conversion-events`: the events SendWhatsAppConversionEvent accepted, oldest
//! first (the last 1000 per account and Region), filtered by `datasetId` or `wabaId`.

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::scope::Scope;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/conversion-events", get(list))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(flatten)]
    scope: Scope,
    dataset_id: Option<String>,
    waba_id: Option<String>,
}

async fn list(State(state): State<AppState>, Query(filter): Query<Filter>) -> Json<Value> {
    let ctx = filter.scope.context(&state);
    let events: Vec<Value> = state.store.read(&ctx, |p| {
        p.conversion_events
            .events
            .iter()
            .filter(|e| filter.dataset_id.as_ref().is_none_or(|d| *d == e.dataset_id))
            .filter(|e| filter.waba_id.as_ref().is_none_or(|w| *w == e.waba_id))
            .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
            .collect()
    });
    Json(json!({ "events": events }))
}
