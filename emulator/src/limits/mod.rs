//! What stands between a routed request and its handler: fault rules ([`faults`]), then the API
//! rate limit ([`quotas`]).

pub mod faults;
pub mod quotas;

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::response::Response;

use crate::AppState;
use crate::context::RequestContext;
use crate::error::ApiError;
use crate::model::Operation;

/// Why a request is not served.
#[derive(Debug)]
pub enum Refusal {
    /// Answered as this error.
    Error(ApiError),
    /// Not answered: the connection is closed.
    Drop,
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Refusal::Error(e)
    }
}

/// Fault rules, then the rate limit. A Meta error for the async path is left in
/// `ctx.meta_fault` for SendWhatsAppMessage to apply.
pub async fn gate(
    state: &AppState,
    ctx: &mut RequestContext,
    op: Operation,
    query: &[(String, String)],
    body: &[u8],
) -> Result<(), Refusal> {
    let decision = state.faults.decide(state, ctx, op, query, body);
    ctx.fault_rule = decision.rule;
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.outcome {
        Some(faults::Outcome::Error(e)) => return Err(Refusal::Error(e)),
        Some(faults::Outcome::Drop) => return Err(Refusal::Drop),
        Some(faults::Outcome::Meta(e)) => ctx.meta_fault = Some(e),
        None => {}
    }
    state.quotas.check(&ctx.account, &ctx.region, op)?;
    Ok(())
}

/// A response hyper never sends: its body fails before the first byte, so hyper closes the
/// connection with the head still unwritten and the client reads end-of-stream instead of an
/// answer (an I/O error in every SDK).
pub fn dropped_connection() -> Response {
    let mut response = Response::new(Body::new(FailingBody));
    response.headers_mut().insert("connection", axum::http::HeaderValue::from_static("close"));
    response
}

struct FailingBody;

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected fault: connection dropped",
        ))))
    }
}
