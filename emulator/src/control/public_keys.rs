//! `POST /_emulator/business-public-keys/signature-status`: sets Meta's verdict on a phone
//! number's business public key (`VALID` or `MISMATCH`), which GetWhatsAppBusinessPublicKey
//! answers and which publishing a Flow with an endpoint checks.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use super::scope::{Scope, api_error, error};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/business-public-keys/signature-status", post(set_status))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetStatus {
    #[serde(flatten)]
    scope: Scope,
    phone_number_id: String,
    status: String,
}

async fn set_status(State(state): State<AppState>, Json(body): Json<SetStatus>) -> Response {
    if body.status != "VALID" && body.status != "MISMATCH" {
        return error(StatusCode::BAD_REQUEST, "status must be VALID or MISMATCH");
    }
    let ctx = body.scope.context(&state);
    let result = state.store.with(&ctx, |p| {
        let phone = p.phone_mut(&ctx, &body.phone_number_id)?;
        Ok(phone.business_public_key.as_mut().map(|k| k.signature_status = body.status.clone()))
    });
    match result {
        Err(e) => api_error(e),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!("Phone number {} has no business public key", body.phone_number_id),
        ),
        Ok(Some(())) => Json(json!({
            "phoneNumberId": body.phone_number_id,
            "businessPublicKeySignatureStatus": body.status,
        }))
        .into_response(),
    }
}
