//! What the control endpoints of flows, datasets, calling and public keys share: which account
//! and Region a request addresses, and their JSON error answer.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ErrorKind};

/// `account` and `region` of a control request (query or body); the defaults when absent.
#[derive(Debug, Default, Deserialize)]
pub struct Scope {
    pub account: Option<String>,
    pub region: Option<String>,
}

impl Scope {
    /// A request context for the addressed partition (ids and ARNs resolve as in the AWS API).
    pub fn context(&self, state: &AppState) -> RequestContext {
        RequestContext::new(
            self.account.as_deref().unwrap_or(&state.config.default_account),
            self.region.as_deref().unwrap_or(&state.config.default_region),
        )
    }
}

/// A control API error: `{"message": message}` with a fitting status (the one format of every
/// control API error).
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "message": message.into() }))).into_response()
}

/// An API error (unknown phone number, …) answered by the control API.
pub fn api_error(e: ApiError) -> Response {
    let status = match e.kind {
        ErrorKind::ResourceNotFound => StatusCode::NOT_FOUND,
        ErrorKind::AccessDenied => StatusCode::FORBIDDEN,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    error(status, e.message)
}
