//! The web console's files under `/_emulator/ui/`: built into the binary (see `build.rs`), or
//! read from `--console-dir` at every request while working on the console. They hold no data
//! (the page asks the control API, with the token when one is set), so they are served without
//! the token, under a strict Content-Security-Policy: no inline script or style, nothing from
//! another origin.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::AppState;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));
}

/// Where the console lives.
pub const PATH: &str = "/_emulator/ui/";

/// The policy every console file is served with.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/ui", get(|| async { Redirect::permanent(PATH) }))
        .route("/ui/", get(index))
        .route("/ui/{file}", get(file))
}

async fn index(State(state): State<AppState>) -> Response {
    serve(&state, "index.html").await
}

async fn file(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    serve(&state, &name).await
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

async fn serve(state: &AppState, name: &str) -> Response {
    let safe = !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    let bytes: Option<Vec<u8>> = match (&state.config.console_dir, safe) {
        (_, false) => None,
        (Some(dir), true) => tokio::fs::read(dir.join(name)).await.ok(),
        (None, true) => {
            assets::ASSETS.iter().find(|(n, _)| *n == name).map(|(_, bytes)| bytes.to_vec())
        }
    };
    let mut response = match bytes {
        Some(bytes) => {
            let mut r = Body::from(bytes).into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
            r
        }
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({
                "message": format!("the console has no file {name:?}")
            })),
        )
            .into_response(),
    };
    secure(response.headers_mut());
    response
}

/// The headers of every console file.
pub fn secure(headers: &mut axum::http::HeaderMap) {
    headers
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

/// Whether a request is a browser opening the emulator's root (`GET /` accepting HTML): it is
/// sent to the console instead of the AWS API's unknown-operation error.
pub fn is_browser_root(request: &Request) -> bool {
    request.uri().path() == "/"
        && request.method() == axum::http::Method::GET
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
}

/// The redirect [`is_browser_root`] requests get.
pub fn to_console() -> Response {
    Redirect::to(PATH).into_response()
}
