//! The route table and the request pipeline of the AWS API.
//!
//! Every operation of the model has a static URI, so a request is routed by (method, exact path)
//! from the model facts. The pipeline: route → request context (account, region, request id) →
//! fault rules and the API rate limit ([`crate::limits`]) → decode query and JSON body →
//! validate against the model → handler → JSON response, recorded in the request log. Any failure
//! on the way is an [`ApiError`] in its restJson1 form; an unknown path or method gets one too.

use std::sync::OnceLock;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::AppState;
use crate::auth::sigv4;
use crate::context::RequestContext;
use crate::error::{ApiError, ErrorKind};
use crate::limits::{self, Refusal};
use crate::model::validate::{Leniency, decode_input_with, parse_query};
use crate::model::{Model, OperationFacts};
use crate::ops;
use crate::reqlog::RequestRecord;

pub use crate::model::Operation;

/// (method, path) → operation, built from the model facts.
pub struct RouteTable {
    /// Path → the methods it accepts, each with its operation and the operation's facts.
    paths: hashbrown::HashMap<String, Vec<(Method, Operation, &'static OperationFacts)>>,
}

impl RouteTable {
    pub fn get() -> &'static RouteTable {
        static TABLE: OnceLock<RouteTable> = OnceLock::new();
        TABLE.get_or_init(|| RouteTable::from_model(Model::get()))
    }

    fn from_model(model: &'static Model) -> RouteTable {
        let mut paths: hashbrown::HashMap<String, Vec<_>> = hashbrown::HashMap::new();
        for facts in model.operations.values() {
            let op = Operation::from_name(&facts.name)
                .unwrap_or_else(|| panic!("model operation {} has no handler", facts.name));
            let method = Method::from_bytes(facts.method.as_bytes()).expect("valid method");
            paths.entry(facts.uri.clone()).or_default().push((method, op, facts));
        }
        RouteTable { paths }
    }

    /// The operation at `method path`, with its model facts.
    pub fn route(
        &self,
        method: &Method,
        path: &str,
    ) -> Result<(Operation, &'static OperationFacts), ApiError> {
        // Tolerate one trailing slash, as API Gateway-fronted services do.
        let path = if path.len() > 1 { path.strip_suffix('/').unwrap_or(path) } else { path };
        let methods = self.paths.get(path);
        if let Some((_, op, facts)) = methods.into_iter().flatten().find(|(m, ..)| m == method) {
            return Ok((*op, facts));
        }
        let message = match methods {
            Some(methods) => {
                let allowed: Vec<&str> = methods.iter().map(|(m, ..)| m.as_str()).collect();
                format!(
                    "No operation matches {method} {path}; this path accepts {}",
                    allowed.join(", ")
                )
            }
            None => format!("No operation matches {method} {path}"),
        };
        Err(ApiError::new(ErrorKind::UnknownOperation, message))
    }
}

/// Answers an AWS API request: the pipeline itself ([`crate::aws_request`] is the one path to it).
pub async fn respond(state: AppState, request: Request) -> Response {
    if crate::control::ui::is_browser_root(&request) {
        return crate::control::ui::to_console();
    }
    let started = std::time::Instant::now();
    let arrived_ms = state.clock.now_ms();
    let defaults = (state.config.default_account.as_str(), state.config.default_region.as_str());
    let mut ctx = RequestContext::from_headers(request.headers(), defaults, &state.ids);
    let (parts, body) = request.into_parts();
    let route = RouteTable::get().route(&parts.method, parts.uri.path());
    let op = route.as_ref().ok().map(|(op, _)| *op);
    let result = match route {
        Err(e) => Err(Refusal::Error(e)),
        Ok((op, facts)) => {
            serve(&state, &mut ctx, op, facts, &parts, body).await.map_err(|r| match r {
                Refusal::Error(e) => Refusal::Error(e.declared_for(&facts.errors)),
                drop => drop,
            })
        }
    };
    let error = match &result {
        Err(Refusal::Error(e)) => Some(e.kind.shape()),
        _ => None,
    };
    let dropped = matches!(result, Err(Refusal::Drop));
    let response = match result {
        Ok(value) => {
            let mut response = (StatusCode::OK, value.into_bytes()).into_response();
            let headers = response.headers_mut();
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
                headers.insert("x-amzn-requestid", v);
            }
            response
        }
        Err(Refusal::Error(e)) => e.into_response_for(&ctx.request_id).map(Body::from),
        Err(Refusal::Drop) => limits::dropped_connection(),
    };
    tracing::debug!(
        operation = op.map(Operation::name).unwrap_or("-"),
        account = %ctx.account,
        region = %ctx.region,
        request_id = %ctx.request_id,
        error = error.unwrap_or("-"),
        "{} {}", parts.method, parts.uri.path()
    );
    state.requests.record(RequestRecord {
        seq: 0,
        time: crate::reqlog::Rfc3339(arrived_ms),
        time_ms: arrived_ms,
        method: method_name(&parts.method),
        path: match parts.uri.path() {
            path if path.len() <= 256 => path.to_string(),
            path => path.chars().take(256).collect(),
        },
        operation: op.map(Operation::name),
        account: ctx.account,
        region: ctx.region,
        status: (!dropped).then(|| response.status().as_u16()),
        error,
        latency_ms: (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        request_id: ctx.request_id,
        fault: ctx.fault_rule,
    });
    response
}

/// The method's name; the usual ones without a copy.
fn method_name(method: &Method) -> std::borrow::Cow<'static, str> {
    let usual = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::HEAD, "HEAD"),
    ];
    match usual.into_iter().find(|(m, _)| m == method) {
        Some((_, name)) => name.into(),
        None => method.to_string().into(),
    }
}

/// Reads the body, checks the signature (`--verify-sigv4`), then fault rules and the rate limit,
/// then the operation.
async fn serve(
    state: &AppState,
    ctx: &mut RequestContext,
    op: Operation,
    facts: &OperationFacts,
    parts: &Parts,
    body: Body,
) -> Result<ops::Output, Refusal> {
    let body = read_body(body, state.config.max_body_bytes, state.config.body_timeout_ms).await?;
    if let Some(credentials) = &state.config.sigv4_credentials {
        // After the body is read: the payload hash is part of the signature.
        let (method, uri, headers) = (&parts.method, &parts.uri, &parts.headers);
        let now = std::time::SystemTime::now();
        let default = &state.config.default_account;
        let signer = sigv4::verify(credentials, default, method, uri, headers, &body, now)?;
        ctx.account = signer.account;
        ctx.region = signer.region;
    }
    let query = parse_query(parts.uri.query())?;
    gate(state, ctx, op, &query, &body).await?;
    Ok(run(state, ctx, op, facts, &query, &body).await?)
}

/// Fault rules, then the rate limit. A Meta error for the async path is left in
/// `ctx.meta_fault` for SendWhatsAppMessage to apply.
async fn gate(
    state: &AppState,
    ctx: &mut RequestContext,
    op: Operation,
    query: &[(String, String)],
    body: &[u8],
) -> Result<(), Refusal> {
    let decision = state.faults.decide(&state.store, ctx, op, query, body);
    ctx.fault_rule = decision.rule;
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.outcome {
        Some(limits::faults::Outcome::Error(e)) => return Err(Refusal::Error(e)),
        Some(limits::faults::Outcome::Drop) => return Err(Refusal::Drop),
        Some(limits::faults::Outcome::Meta(e)) => ctx.meta_fault = Some(e),
        None => {}
    }
    state.quotas.check(&ctx.account, &ctx.region, op)?;
    Ok(())
}

async fn run(
    state: &AppState,
    ctx: &RequestContext,
    op: Operation,
    facts: &OperationFacts,
    query: &[(String, String)],
    body: &Bytes,
) -> Result<ops::Output, ApiError> {
    if op == Operation::SendWhatsAppMessage
        && let Some(answer) = ops::messaging::fast_send_whatsapp_message(state, ctx, body)
    {
        return answer;
    }
    let leniency = Leniency { any_presigned_url: state.config.allow_any_presigned_url };
    let input = decode_input_with(Model::get(), facts, query, body, leniency)?;
    ops::dispatch(state, ctx, op, input).await
}

async fn read_body(body: Body, limit: usize, timeout_ms: u64) -> Result<Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::validation(
            format!("The request body is larger than the limit of {limit} bytes"),
        )
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)),
        Err(e) if is_body_timeout(&*e) => Err(ApiError::validation(format!(
            "The request body stalled: no data for {timeout_ms} ms"
        ))
        .with_status(StatusCode::REQUEST_TIMEOUT)),
        Err(e) => Err(ApiError::validation(format!("Could not read the request body: {e}"))),
    }
}

/// Whether reading the body failed because the client stopped sending it (the server's
/// [`crate::server::BodyTimedOut`], somewhere in the error's chain).
fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(e) = current {
        if e.is::<crate::server::BodyTimedOut>() {
            return true;
        }
        current = e.source();
    }
    false
}
