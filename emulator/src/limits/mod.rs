//! What stands between a routed request and its handler: fault rules ([`faults`]), then the API
//! rate limit ([`quotas`]).

pub mod faults;
pub mod quotas;

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::response::Response;

use crate::error::ApiError;

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
