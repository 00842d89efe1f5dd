//! Recording what a scenario sends and gets: an SDK interceptor captures every request/response
//! pair of the `socialmessaging` client, and the control API helper adds its own calls, so a run
//! can be saved (`--record DIR`) and replayed against an emulator (the golden fixtures).
//!
//! Only an allowlist of headers is kept — `content-type` and, on responses, `x-amzn-errortype` —
//! so credentials and signatures (`Authorization`, `X-Amz-Security-Token`, `X-Amz-Date`,
//! `amz-sdk-*`, `user-agent`, …) never reach a file.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_socialmessaging::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_socialmessaging::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Request headers kept in a recording.
const REQUEST_HEADERS: &[&str] = &["content-type"];
/// Response headers kept in a recording.
const RESPONSE_HEADERS: &[&str] = &["content-type", "x-amzn-errortype"];

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exchange {
    /// The operation (`SendWhatsAppMessage`), or `None` for a call to the control API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub request: RecordedRequest,
    pub response: RecordedResponse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    pub method: String,
    /// The path, without the endpoint's scheme and host (`/v1/whatsapp/waba/details`).
    pub path: String,
    /// The raw query string, without `?` (empty when there is none).
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The body: JSON when it parses, else a string, `null` when empty.
    #[serde(default)]
    pub body: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Value,
}

impl Exchange {
    /// The modeled error type of the answer (`x-amzn-errortype` up to any `:`), if it is one.
    pub fn error_type(&self) -> Option<&str> {
        let raw = self.response.headers.get("x-amzn-errortype")?;
        Some(raw.split(':').next().unwrap_or(raw))
    }
}

/// The body as JSON when it is JSON, else as text.
pub fn body_value(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// Splits `http://host:port/a/b?x=1` or `/a/b?x=1` into (`/a/b`, `x=1`).
pub fn split_uri(uri: &str) -> (String, String) {
    let without_origin = match uri.find("://") {
        Some(i) => {
            let rest = &uri[i + 3..];
            rest.find('/').map(|j| &rest[j..]).unwrap_or("/")
        }
        None => uri,
    };
    match without_origin.split_once('?') {
        Some((path, query)) => (path.to_string(), query.to_string()),
        None => (without_origin.to_string(), String::new()),
    }
}

fn keep<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    allow: &[&str],
) -> BTreeMap<String, String> {
    headers
        .filter(|(name, _)| allow.iter().any(|a| a.eq_ignore_ascii_case(name)))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_string()))
        .collect()
}

/// Collects the exchanges of a client (and of the control API helper); cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl Recorder {
    pub fn push(&self, exchange: Exchange) {
        self.exchanges.lock().unwrap_or_else(|e| e.into_inner()).push(exchange);
    }

    /// Everything recorded since the last take.
    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.exchanges.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The request of the attempt in flight, kept in the operation's config bag until its answer.
#[derive(Debug, Clone)]
struct InFlight(RecordedRequest);

impl Storable for InFlight {
    type Storer = StoreReplace<Self>;
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "ConformanceRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let (path, query) = split_uri(request.uri());
        let recorded = RecordedRequest {
            method: request.method().to_string(),
            path,
            query,
            headers: keep(request.headers().iter(), REQUEST_HEADERS),
            body: request.body().bytes().map(body_value).unwrap_or(Value::Null),
        };
        cfg.interceptor_state().store_put(InFlight(recorded));
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(InFlight(request)) = cfg.load::<InFlight>().cloned() else {
            return Ok(());
        };
        let response = context.response();
        let status = response.status().as_u16();
        // A throttled attempt is retried by the SDK: the retry is the exchange that counts.
        if status == 429 {
            return Ok(());
        }
        self.push(Exchange {
            operation: cfg.load::<Metadata>().map(|m| m.name().to_string()),
            request,
            response: RecordedResponse {
                status,
                headers: keep(response.headers().iter(), RESPONSE_HEADERS),
                body: response.body().bytes().map(body_value).unwrap_or(Value::Null),
            },
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_split_into_path_and_query() {
        assert_eq!(
            split_uri("http://127.0.0.1:4590/v1/whatsapp/waba/details?id=waba-1"),
            ("/v1/whatsapp/waba/details".into(), "id=waba-1".into())
        );
        assert_eq!(split_uri("/v1/tags/list"), ("/v1/tags/list".into(), String::new()));
        assert_eq!(split_uri("https://example.com"), ("/".into(), String::new()));
    }

    #[test]
    fn only_allowed_headers_are_kept() {
        let headers = [
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIA…"),
            ("X-Amz-Date", "20260101T000000Z"),
            ("x-amz-security-token", "secret"),
            ("Content-Type", "application/json"),
            ("user-agent", "aws-sdk-rust"),
        ];
        let kept = keep(headers.into_iter(), REQUEST_HEADERS);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept["content-type"], "application/json");
    }
}
