//! Presigned URLs: `sourceS3PresignedUrl` is fetched with a GET and `destinationS3PresignedUrl`
//! written with a PUT, each carrying the caller's `headers` verbatim.
//!
//! The model only admits `https://…s3….amazonaws.com/…` URLs; `--allow-any-presigned-url` relaxes
//! that one pattern (in `model::validate`, the one place it is checked) so tests and local S3
//! servers can use `http://127.0.0.1:…` URLs.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

/// Why a presigned URL could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresignedError {
    /// A header the caller gave cannot be sent.
    BadHeader(String),
    /// The server answered with a non-2xx status (and this start of its body).
    Status {
        status: u16,
        body: String,
    },
    TooLarge {
        size: u64,
        limit: u64,
    },
    /// No answer: connection refused, timeout, TLS failure, …
    Unreachable(String),
}

impl fmt::Display for PresignedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PresignedError::BadHeader(detail) => write!(f, "{detail}"),
            PresignedError::Status { status, body } if body.is_empty() => {
                write!(f, "the server answered HTTP {status}")
            }
            PresignedError::Status { status, body } => {
                write!(f, "the server answered HTTP {status}: {body}")
            }
            PresignedError::TooLarge { size, limit } => {
                write!(f, "the file is {size} bytes, over the limit of {limit} bytes")
            }
            PresignedError::Unreachable(detail) => write!(f, "{detail}"),
        }
    }
}

/// A downloaded file and the `Content-Type` its server sent.
#[derive(Debug, Clone)]
pub struct Download {
    pub bytes: Bytes,
    pub content_type: Option<String>,
}

pub struct Presigned {
    http: std::sync::OnceLock<reqwest::Client>,
}

impl Default for Presigned {
    fn default() -> Self {
        Self::new()
    }
}

impl Presigned {
    pub fn new() -> Presigned {
        Presigned { http: std::sync::OnceLock::new() }
    }

    /// Built on first use: building one loads the platform's root certificates, which is not
    /// worth a slower start.
    fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap_or_default()
        })
    }

    /// GETs `url` with `headers`, reading at most `limit` bytes.
    pub async fn get(
        &self,
        url: &str,
        headers: &BTreeMap<String, String>,
        limit: u64,
    ) -> Result<Download, PresignedError> {
        let mut response = self
            .http()
            .get(url)
            .headers(header_map(headers)?)
            .send()
            .await
            .map_err(|e| unreachable(url, e))?;
        check_status(&mut response).await?;
        if let Some(size) = response.content_length().filter(|&n| n > limit) {
            return Err(PresignedError::TooLarge { size, limit });
        }
        let content_type =
            response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(url, e))? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Err(PresignedError::TooLarge { size: bytes.len() as u64, limit });
            }
        }
        Ok(Download { bytes: Bytes::from(bytes), content_type })
    }

    /// PUTs `body` to `url` with `headers` (and `Content-Type: content_type` unless the headers
    /// name one).
    pub async fn put(
        &self,
        url: &str,
        headers: &BTreeMap<String, String>,
        body: Bytes,
        content_type: &str,
    ) -> Result<(), PresignedError> {
        let mut map = header_map(headers)?;
        if !map.contains_key(CONTENT_TYPE)
            && let Ok(v) = HeaderValue::from_str(content_type)
        {
            map.insert(CONTENT_TYPE, v);
        }
        let mut response = self
            .http()
            .put(url)
            .headers(map)
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(url, e))?;
        check_status(&mut response).await
    }
}

/// The URL without its query (which holds the signature), for messages.
pub fn redact(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or_default().to_string()
}

/// The value of a header named case-insensitively.
pub fn header<'a>(headers: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn header_map(headers: &BTreeMap<String, String>) -> Result<HeaderMap, PresignedError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let bad = || PresignedError::BadHeader(format!("The header '{name}' cannot be sent"));
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(value).map_err(|_| bad())?;
        map.append(name, value);
    }
    Ok(map)
}

async fn check_status(response: &mut reqwest::Response) -> Result<(), PresignedError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let mut body = Vec::new();
    while body.len() < 512 {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]).trim().to_string();
    Err(PresignedError::Status { status: status.as_u16(), body: text })
}

fn unreachable(url: &str, e: reqwest::Error) -> PresignedError {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    // reqwest puts the whole URL, signature included, in its messages.
    let detail = detail.replace(url, &redact(url));
    PresignedError::Unreachable(format!("could not reach {}: {detail}", redact(url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_not_repeated_in_messages() {
        assert_eq!(
            redact("https://b.s3.amazonaws.com/k.jpg?X-Amz-Signature=abc"),
            "https://b.s3.amazonaws.com/k.jpg"
        );
    }

    #[test]
    fn headers_are_found_in_any_case() {
        let headers = BTreeMap::from([("content-type".to_string(), "image/png".to_string())]);
        assert_eq!(header(&headers, "Content-Type"), Some("image/png"));
        assert_eq!(header(&headers, "x-other"), None);
    }
}
