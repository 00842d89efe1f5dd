//! Who is calling: the account and region of a request, read from the SigV4 credential scope
//! (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`), and its request id.
//!
//! LocalStack's convention: a 12-digit access key id *is* the account; any other key maps to the
//! default account. Signatures are not verified here: with `--verify-sigv4` the pipeline
//! ([`crate::auth::sigv4`]) replaces the account with the verified key's.

use axum::http::HeaderMap;

use crate::state::ids::IdGen;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub account: String,
    pub region: String,
    pub request_id: String,
    /// The `Host` header, to build URLs that point back at this emulator.
    pub host: Option<String>,
    /// A fault rule's Meta error: SendWhatsAppMessage accepts the message, which then fails
    /// with it.
    pub meta_fault: Option<crate::meta::errors::MetaError>,
    /// The fault rule that fired for this request, if any (for the request log).
    pub fault_rule: Option<u64>,
}

impl crate::state::ids::Caller for RequestContext {
    fn account(&self) -> &str {
        &self.account
    }
    fn region(&self) -> &str {
        &self.region
    }
}

impl RequestContext {
    pub fn new(account: &str, region: &str) -> Self {
        RequestContext {
            account: account.to_string(),
            region: region.to_string(),
            request_id: uuid::Uuid::new_v4().to_string(),
            host: None,
            meta_fault: None,
            fault_rule: None,
        }
    }

    /// The context of an AWS API request; its request id comes from the instance's generator.
    /// `defaults`: the (account, Region) of a request whose credential scope names none.
    pub fn from_headers(headers: &HeaderMap, defaults: (&str, &str), ids: &IdGen) -> Self {
        let scope =
            headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(credential_scope);
        let (account, region) = match scope {
            Some((key, region)) => {
                let account = if is_account_id(key) { key } else { defaults.0 };
                let region = if region.is_empty() { defaults.1 } else { region };
                (account, region)
            }
            None => defaults,
        };
        let host = headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 255
                    && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
            })
            .map(str::to_string);
        RequestContext {
            account: account.to_string(),
            region: region.to_string(),
            request_id: ids.uuid().to_string(),
            host,
            meta_fault: None,
            fault_rule: None,
        }
    }

    /// `http://HOST` of this emulator as the client reached it.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.host.as_deref().unwrap_or("127.0.0.1:4590"))
    }
}

pub use crate::state::ids::is_account_id;

/// `(access key id, region)` from an `AWS4-HMAC-SHA256 Credential=…` authorization header.
fn credential_scope(header: &str) -> Option<(&str, &str)> {
    let start = header.find("Credential=")? + "Credential=".len();
    let credential = header[start..].split([',', ' ']).next()?;
    let mut parts = credential.split('/');
    let key = parts.next()?;
    let _date = parts.next()?;
    let region = parts.next()?;
    Some((key, region))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_credential_scope() {
        let h = "AWS4-HMAC-SHA256 Credential=123456789012/20261127/eu-west-1/social-messaging/aws4_request, SignedHeaders=host, Signature=ab";
        assert_eq!(credential_scope(h), Some(("123456789012", "eu-west-1")));
        assert_eq!(credential_scope("Bearer x"), None);
    }

    #[test]
    fn only_twelve_digits_are_an_account() {
        assert!(is_account_id("000000000000"));
        assert!(!is_account_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(!is_account_id("12345678901"));
    }
}
