//! Who may call: the credentials file of `--verify-sigv4` ([`Credentials`]), request signature
//! verification ([`sigv4`]) and the control API token ([`control_token`]).
//!
//! Both checks are off by default, as every local emulator has them: any signature is accepted
//! and the control API is open (the emulator binds 127.0.0.1 unless told otherwise).

pub mod sigv4;

use std::collections::HashMap;
use std::path::Path;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::state::ids::is_account_id;

/// One access key of the credentials file.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    pub secret_access_key: String,
    /// The account this key belongs to; None: the emulator's default account.
    pub account_id: Option<String>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("secret_access_key", &"** redacted **")
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// Access key id → secret and account: what `--credentials FILE` holds.
///
/// Two forms, told apart by the first character:
/// - JSON: `{"AKIAIOSFODNN7EXAMPLE": {"secretAccessKey": "…", "accountId": "123456789012"}}`;
/// - the INI form of `~/.aws/credentials`: one section per key with `aws_access_key_id`,
///   `aws_secret_access_key` and `aws_account_id` (or `account_id`).
///
/// The account is optional (the emulator's default account); when given it must be 12 digits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    keys: HashMap<String, Secret>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JsonSecret {
    secret_access_key: String,
    #[serde(default)]
    account_id: Option<String>,
}

impl Credentials {
    /// Reads and parses a credentials file; the error names the file and the problem.
    pub fn load(path: &Path) -> Result<Credentials, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read credentials file {}: {e}", path.display()))?;
        Credentials::parse(&text).map_err(|e| format!("credentials file {}: {e}", path.display()))
    }

    /// Parses the JSON or the INI form (JSON when the text starts with `{`).
    pub fn parse(text: &str) -> Result<Credentials, String> {
        let keys = if text.trim_start().starts_with('{') {
            Self::parse_json(text)?
        } else {
            Self::parse_ini(text)?
        };
        if keys.is_empty() {
            return Err("no access key is defined".into());
        }
        Ok(Credentials { keys: keys.into_iter().collect() })
    }

    fn parse_json(text: &str) -> Result<Vec<(String, Secret)>, String> {
        let map: HashMap<String, JsonSecret> =
            serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let mut keys = Vec::with_capacity(map.len());
        for (key, s) in map {
            let secret =
                Secret { secret_access_key: s.secret_access_key, account_id: s.account_id };
            check(&key, &secret, &format!("key {key:?}"))?;
            keys.push((key, secret));
        }
        Ok(keys)
    }

    fn parse_ini(text: &str) -> Result<Vec<(String, Secret)>, String> {
        let ini = ini::Ini::load_from_str_noescape(text)
            .map_err(|e| format!("invalid INI (line:column {e})"))?;
        let mut keys = Vec::new();
        for (section, props) in ini.iter() {
            let name = section.unwrap_or("(no section)");
            if section.is_none() && props.is_empty() {
                continue;
            }
            let field = |k: &str| props.get(k).map(str::trim).filter(|v| !v.is_empty());
            let key = field("aws_access_key_id")
                .ok_or_else(|| format!("[{name}] has no aws_access_key_id"))?;
            let secret_access_key = field("aws_secret_access_key")
                .ok_or_else(|| format!("[{name}] has no aws_secret_access_key"))?;
            let account_id = field("aws_account_id").or_else(|| field("account_id"));
            let secret = Secret {
                secret_access_key: secret_access_key.to_string(),
                account_id: account_id.map(str::to_string),
            };
            check(key, &secret, &format!("[{name}]"))?;
            keys.push((key.to_string(), secret));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some((dup, _)) = keys.iter().find(|(k, _)| !seen.insert(k.as_str())) {
            return Err(format!("access key {dup:?} is defined twice"));
        }
        Ok(keys)
    }

    pub fn get(&self, access_key_id: &str) -> Option<&Secret> {
        self.keys.get(access_key_id)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn check(key: &str, secret: &Secret, what: &str) -> Result<(), String> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("{what}: the access key id must be letters and digits"));
    }
    if secret.secret_access_key.is_empty() {
        return Err(format!("{what}: the secret access key is empty"));
    }
    if let Some(account) = &secret.account_id
        && !is_account_id(account)
    {
        return Err(format!("{what}: account id {account:?} is not 12 digits"));
    }
    Ok(())
}

/// Control API paths open without the token: liveness, and the URLs the emulator hands to SNS
/// subscribers and API clients that cannot send one (SubscribeURL, UnsubscribeURL,
/// SigningCertURL, a flow's `downloadUrl`). Paths are relative to `/_emulator`.
pub fn is_open_control_path(path: &str) -> bool {
    let path = path.strip_prefix("/_emulator").unwrap_or(path);
    match path {
        // The console's files hold no data; the page asks for the token.
        "/health" | "/sns/" | "/sns/confirm" | "/sns/unsubscribe" | "/ui" | "/ui/" => true,
        _ if path.strip_prefix("/ui/").is_some_and(|file| !file.contains('/')) => true,
        _ => {
            let sns_cert = path.strip_prefix("/sns/").is_some_and(|file| {
                file.starts_with("SimpleNotificationService-") && !file.contains('/')
            });
            let flow_asset = path
                .strip_prefix("/flows/")
                .and_then(|rest| rest.strip_suffix("/assets/flow.json"))
                .is_some_and(|id| !id.is_empty() && !id.contains('/'));
            sns_cert || flow_asset
        }
    }
}

/// The token a control request carries: `Authorization: Bearer TOKEN` or `x-emulator-token`.
pub fn presented_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(token) = headers.get("x-emulator-token").and_then(|v| v.to_str().ok()) {
        return Some(token.trim());
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = auth.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Compares in constant time (for equal lengths), so a token or signature cannot be guessed
/// byte by byte.
pub fn constant_time_eq(expected: &str, presented: &str) -> bool {
    expected.len() == presented.len() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// Middleware of the control API: with `--control-token`, every request but the open paths
/// needs the token, else 401 `{"message": …}`.
pub async fn control_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = state.config.control_token.as_deref() else {
        return next.run(request).await;
    };
    if is_open_control_path(request.uri().path()) {
        return next.run(request).await;
    }
    let message = match presented_token(request.headers()) {
        Some(token) if constant_time_eq(expected, token) => return next.run(request).await,
        Some(_) => "The control API token is not valid",
        None => {
            "The control API needs a token: send `Authorization: Bearer <token>` or \
             `x-emulator-token: <token>` (the emulator's --control-token)"
        }
    };
    let body = serde_json::json!({ "message": message }).to_string();
    let mut response = (StatusCode::UNAUTHORIZED, Body::from(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"eum-social\""));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_json_form() {
        let creds = Credentials::parse(
            r#"{"AKIAIOSFODNN7EXAMPLE": {"secretAccessKey": "wJalr/K7MDENG+bPxRfiCY", "accountId": "123456789012"},
                "AKIDDEFAULT": {"secretAccessKey": "s"}}"#,
        )
        .unwrap();
        assert_eq!(creds.len(), 2);
        let s = creds.get("AKIAIOSFODNN7EXAMPLE").unwrap();
        assert_eq!(s.secret_access_key, "wJalr/K7MDENG+bPxRfiCY");
        assert_eq!(s.account_id.as_deref(), Some("123456789012"));
        assert_eq!(creds.get("AKIDDEFAULT").unwrap().account_id, None);
        assert!(creds.get("AKIDUNKNOWN").is_none());
    }

    #[test]
    fn parses_the_ini_form() {
        let creds = Credentials::parse(
            "# comment\n[default]\naws_access_key_id = AKIAONE\naws_secret_access_key = se/cr+et\n\
             aws_account_id = 111122223333\n\n[other]\naws_access_key_id=AKIATWO\n\
             aws_secret_access_key=two\naccount_id=444455556666\n[third]\n\
             aws_access_key_id=AKIATHREE\naws_secret_access_key=three\n",
        )
        .unwrap();
        assert_eq!(creds.len(), 3);
        assert_eq!(creds.get("AKIAONE").unwrap().secret_access_key, "se/cr+et");
        assert_eq!(creds.get("AKIAONE").unwrap().account_id.as_deref(), Some("111122223333"));
        assert_eq!(creds.get("AKIATWO").unwrap().account_id.as_deref(), Some("444455556666"));
        assert_eq!(creds.get("AKIATHREE").unwrap().account_id, None);
    }

    #[test]
    fn refuses_bad_files_naming_the_problem() {
        let cases = [
            ("{}", "no access key"),
            ("", "no access key"),
            ("{\"AK\": 3}", "invalid JSON"),
            (r#"{"AK": {"secretAccessKey": "s", "accountId": "12"}}"#, "not 12 digits"),
            (r#"{"AK": {"secretAccessKey": ""}}"#, "secret access key is empty"),
            (r#"{"AK": {"secret": "s"}}"#, "unknown field"),
            (r#"{"A K": {"secretAccessKey": "s"}}"#, "letters and digits"),
            ("[p]\naws_secret_access_key=s\n", "[p] has no aws_access_key_id"),
            ("[p]\naws_access_key_id=AK\n", "[p] has no aws_secret_access_key"),
            ("[p]\naws_access_key_id=AK\naws_secret_access_key=s\naws_account_id=x\n", "[p]"),
            (
                "[a]\naws_access_key_id=AK\naws_secret_access_key=s\n[b]\naws_access_key_id=AK\naws_secret_access_key=t\n",
                "defined twice",
            ),
            ("[unclosed\n", "invalid INI"),
        ];
        for (text, expected) in cases {
            let err = Credentials::parse(text).expect_err(text);
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn secrets_are_not_debug_printed() {
        let creds = Credentials::parse(r#"{"AK": {"secretAccessKey": "hunter2hunter2"}}"#).unwrap();
        assert!(!format!("{creds:?}").contains("hunter2"));
    }

    #[test]
    fn open_control_paths() {
        for open in [
            "/health",
            "/_emulator/health",
            "/sns/confirm",
            "/sns/unsubscribe",
            "/sns/SimpleNotificationService-abc.pem",
            "/flows/1234567890123456/assets/flow.json",
        ] {
            assert!(is_open_control_path(open), "{open}");
        }
        for closed in [
            "/reset",
            "/events",
            "/sns/subscriptions",
            "/sns/deliveries",
            "/flows//assets/flow.json",
            "/flows/a/b/assets/flow.json",
            "/healthz",
        ] {
            assert!(!is_open_control_path(closed), "{closed}");
        }
    }

    #[test]
    fn reads_the_presented_token() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_token(&h), None);
        h.insert("authorization", HeaderValue::from_static("Bearer abc"));
        assert_eq!(presented_token(&h), Some("abc"));
        h.insert("authorization", HeaderValue::from_static("bearer  abc "));
        assert_eq!(presented_token(&h), Some("abc"));
        h.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert_eq!(presented_token(&h), None);
        h.insert("x-emulator-token", HeaderValue::from_static("xyz"));
        assert_eq!(presented_token(&h), Some("xyz"));
        assert!(constant_time_eq("xyz", "xyz"));
        assert!(!constant_time_eq("xyz", "xy"));
        assert!(!constant_time_eq("xyz", "xyZ"));
    }
}
