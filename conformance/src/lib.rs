//! Conformance scenarios: each drives the real `aws-sdk-socialmessaging` client against whatever
//! endpoint the environment names (`AWS_ENDPOINT_URL_SOCIALMESSAGING` / `AWS_ENDPOINT_URL`,
//! `AWS_REGION`, the usual credential chain), so the same scenarios run against the emulator or
//! the real service.
//!
//! # Layout
//! - [`scenarios`]: every scenario, grouped by resource, and [`scenarios::all`] in run order.
//! - [`runner`]: which scenarios run where ([`runner::Selection`]), running them, the JSON and
//!   JUnit reports, `--record` files.
//! - [`record`]: the SDK interceptor that records request/response pairs, credentials stripped.
//!
//! Tags say what a scenario needs: `read-only` scenarios change nothing; `needs-linked-waba` ones
//! need a linked WABA with a phone number; `sends-messages` ones send through WhatsApp;
//! `emulator-only` ones use the emulator's control API (`<endpoint>/_emulator/...`) and never run
//! against the real service.

pub mod record;
pub mod runner;
pub mod scenarios;

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use aws_sdk_socialmessaging::Client;
use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use serde_json::Value;

pub use record::{Exchange, Recorder};
pub use scenarios::all as scenarios;

pub const READ_ONLY: &str = "read-only";
pub const NEEDS_LINKED_WABA: &str = "needs-linked-waba";
pub const SENDS_MESSAGES: &str = "sends-messages";
pub const EMULATOR_ONLY: &str = "emulator-only";
/// Every tag a scenario may carry.
pub const TAGS: [&str; 4] = [READ_ONLY, NEEDS_LINKED_WABA, SENDS_MESSAGES, EMULATOR_ONLY];

/// Why a scenario stopped short of passing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Something did not behave as the service does.
    Fail(String),
    /// What the scenario needs is not there (e.g. no linked WABA): neither passed nor failed.
    Skip(String),
}

impl From<String> for Stop {
    fn from(why: String) -> Self {
        Stop::Fail(why)
    }
}

impl From<&str> for Stop {
    fn from(why: &str) -> Self {
        Stop::Fail(why.to_string())
    }
}

/// A passed scenario's one-line detail, or why it stopped.
pub type Outcome = Result<String, Stop>;
type Run = for<'a> fn(&'a Ctx) -> Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

pub struct Scenario {
    pub name: &'static str,
    pub tags: &'static [&'static str],
    pub run: Run,
}

impl Scenario {
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.contains(&tag)
    }
}

/// What a scenario runs with: the client, the endpoint (for the control API) and the recorder
/// that sees every request.
pub struct Ctx {
    pub client: Client,
    /// The endpoint URL without a trailing `/`; empty for the real service's default.
    pub endpoint: String,
    pub recorder: Recorder,
    http: reqwest::Client,
}

/// `AWS_ENDPOINT_URL_SOCIALMESSAGING`, else `AWS_ENDPOINT_URL`, else empty (the real service).
pub fn endpoint_from_env() -> String {
    std::env::var("AWS_ENDPOINT_URL_SOCIALMESSAGING")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .unwrap_or_default()
}

/// Whether `endpoint` is on this machine: `localhost`, `127.0.0.0/8` or `[::1]`.
pub fn is_local(endpoint: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(endpoint) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Ctx {
    /// A context from the environment only, as the binary runs: the SDK's default chain for
    /// region and credentials, its default retry policy, the recorder as an interceptor.
    pub async fn from_env() -> Ctx {
        let sdk = aws_config::load_from_env().await;
        Ctx::new(aws_sdk_socialmessaging::config::Builder::from(&sdk), endpoint_from_env())
    }

    /// A context from a client configuration (the recorder is added to it).
    pub fn new(config: aws_sdk_socialmessaging::config::Builder, endpoint: String) -> Ctx {
        let recorder = Recorder::default();
        let client = Client::from_conf(config.interceptor(recorder.clone()).build());
        Ctx {
            client,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            recorder,
            http: reqwest::Client::new(),
        }
    }

    /// A call to the emulator's control API (`/_emulator{path}`); a non-2xx answer is an error.
    /// Recorded like the SDK's requests, so that a replay repeats it.
    pub async fn control(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let (status, value) = self.try_control(method, path, body).await?;
        if !(200..300).contains(&status) {
            return Err(format!("{method} /_emulator{path}: {status} {value}"));
        }
        Ok(value)
    }

    /// A call to the control API; the status and JSON answer, whatever the status.
    pub async fn try_control(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        self.control_call(method, path, body, true).await
    }

    /// Waits (up to 10 s) until every timer of the emulator that is due has run, so that what
    /// the API shows is final for the current virtual time. Only the last look at the clock is
    /// recorded: a replay treats `GET /_emulator/clock` as the same wait.
    pub async fn settle(&self) -> Result<(), String> {
        for _ in 0..1000 {
            let (_, clock) = self.control_call("GET", "/clock", None, false).await?;
            if is_settled(&clock) {
                self.control_call("GET", "/clock", None, true).await?;
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Err("the emulator's timers did not settle".into())
    }

    async fn control_call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        record: bool,
    ) -> Result<(u16, Value), String> {
        if self.endpoint.is_empty() {
            return Err("the control API needs an emulator endpoint".into());
        }
        let method_parsed: reqwest::Method =
            method.parse().map_err(|e| format!("method {method}: {e}"))?;
        let url = format!("{}/_emulator{path}", self.endpoint);
        let mut request = self.http.request(method_parsed, &url);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let res = request.send().await.map_err(|e| format!("{method} {url}: {e}"))?;
        let status = res.status().as_u16();
        let content_type =
            res.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = res.bytes().await.map_err(|e| format!("{method} {url}: {e}"))?;
        let value = record::body_value(&bytes);
        if !record {
            return Ok((status, value));
        }
        let (path_only, query) = record::split_uri(&format!("/_emulator{path}"));
        let mut request_headers = std::collections::BTreeMap::new();
        if body.is_some() {
            request_headers.insert("content-type".into(), "application/json".into());
        }
        let mut response_headers = std::collections::BTreeMap::new();
        if let Some(ct) = content_type {
            response_headers.insert("content-type".into(), ct);
        }
        self.recorder.push(Exchange {
            operation: None,
            request: record::RecordedRequest {
                method: method.to_string(),
                path: path_only,
                query,
                headers: request_headers,
                body: body.unwrap_or(Value::Null),
            },
            response: record::RecordedResponse {
                status,
                headers: response_headers,
                body: value.clone(),
            },
        });
        Ok((status, value))
    }
}

/// Whether a `GET /_emulator/clock` answer shows no timer due and none running.
pub fn is_settled(clock: &Value) -> bool {
    let now = clock["nowMs"].as_i64().unwrap_or(0);
    clock["nextDueMs"].as_i64().is_none_or(|due| due > now) && clock["runningTimers"] == 0
}

/// The output of a call that must succeed; an error names the operation, its code and message.
pub fn ok<T, E: ProvideErrorMetadata + Debug>(
    operation: &str,
    result: Result<T, E>,
) -> Result<T, String> {
    result.map_err(|e| match e.code() {
        Some(code) => format!("{operation}: {code}: {}", e.message().unwrap_or_default()),
        None => format!("{operation}: {e:?}"),
    })
}

/// A call that must fail with the modeled error `code` (e.g. `ResourceNotFoundException`);
/// returns a line for the scenario's detail.
pub fn expect_error<T: Debug, E: ProvideErrorMetadata + Debug>(
    operation: &str,
    result: Result<T, E>,
    code: &str,
) -> Result<String, String> {
    match result {
        Ok(out) => Err(format!("{operation}: expected {code}, got a success: {out:?}")),
        Err(e) if e.code() == Some(code) => Ok(format!("{operation} → {code}")),
        Err(e) => Err(format!(
            "{operation}: expected {code}, got {}: {} ({e:?})",
            e.code().unwrap_or("no code"),
            e.message().unwrap_or_default()
        )),
    }
}

/// Fails with `why` unless `condition` holds.
pub fn check(condition: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(why()) }
}
