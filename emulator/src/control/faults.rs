//! Fault rules, API rate limits and the request log:
//! `/_emulator/faults` (POST adds a rule, GET lists them with their counts, DELETE clears),
//! `/_emulator/faults/{id}` (DELETE), `/_emulator/quotas` (GET, PUT) and
//! `/_emulator/requests` (GET with filters, DELETE).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{ControlError, Params, parse_body};
use crate::AppState;
use crate::limits::faults::parse_spec;
use crate::model::Operation;
use crate::reqlog::RequestFilter;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/faults", get(list).post(add).delete(clear))
        .route("/faults/{id}", delete(remove))
        .route("/quotas", get(quotas).put(set_quotas))
        .route("/requests", get(requests).delete(clear_requests))
}

/// `POST /_emulator/faults`: one rule; answers it with its id.
async fn add(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ControlError> {
    let body: Value = parse_body(&body)?;
    let spec =
        parse_spec(body).map_err(|e| ControlError::bad_request(format!("invalid rule: {e}")))?;
    let rule = state
        .faults
        .add(spec)
        .map_err(|e| ControlError::bad_request(format!("invalid rule: {e}")))?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// `GET /_emulator/faults`
async fn list(State(state): State<AppState>) -> Json<Value> {
    Json(state.faults.list())
}

/// `DELETE /_emulator/faults/{id}`
async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ControlError> {
    let id: u64 = id.parse().map_err(|_| {
        ControlError::bad_request(format!("id: {id:?} is not a rule id (an integer)"))
    })?;
    if state.faults.remove(id) {
        Ok(Json(json!({ "deleted": id })))
    } else {
        Err(ControlError::not_found(format!("no fault rule {id}")))
    }
}

/// `DELETE /_emulator/faults`
async fn clear(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "deleted": state.faults.clear() }))
}

/// `GET /_emulator/quotas`
async fn quotas(State(state): State<AppState>) -> Json<Value> {
    Json(state.quotas.to_json())
}

/// `PUT /_emulator/quotas` `{"enabled": bool, "real": true, "operations": {Op: {rate, burst}}}`
async fn set_quotas(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ControlError> {
    let body: Value = parse_body(&body)?;
    state.quotas.update(&body).map_err(ControlError::bad_request)?;
    Ok(Json(state.quotas.to_json()))
}

/// `GET /_emulator/requests?operation=&account=&region=&status=&error=&limit=`: the most recent
/// matching requests, oldest first.
async fn requests(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Value>, ControlError> {
    let filter = RequestFilter {
        operation: params.get("operation").cloned(),
        account: params.get("account").cloned(),
        region: params.get("region").cloned(),
        status: params.get("status").cloned(),
        error: params.get("error").cloned(),
    };
    filter.check().map_err(ControlError::bad_request)?;
    if let Some(op) = &filter.operation
        && Operation::from_name(op).is_none()
    {
        return Err(ControlError::bad_request(format!("operation: unknown operation {op:?}")));
    }
    let capacity = state.requests.capacity();
    let limit = match params.get("limit") {
        None => capacity,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| ControlError::bad_request("limit must be a non-negative integer"))?,
    };
    let found = state.requests.query(&filter, limit);
    Ok(Json(json!({ "requests": found, "capacity": capacity })))
}

/// `DELETE /_emulator/requests`
async fn clear_requests(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "cleared": state.requests.clear() }))
}
