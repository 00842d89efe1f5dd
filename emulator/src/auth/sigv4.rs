//! SigV4 verification (`--verify-sigv4`): the signature of a request is computed again with the
//! `aws-sigv4` crate, from the secret of its access key in the credentials file, over what was
//! received: method, path, query, the headers named in `SignedHeaders`, the payload hash
//! (`x-amz-content-sha256` when sent, else SHA-256 of the body), the same `X-Amz-Date` and the
//! region and service of the credential scope; then compared in constant time.
//!
//! Both forms are checked: the `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
//! Signature=…` header and a presigned query (`X-Amz-Algorithm`, `X-Amz-Credential`,
//! `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`). Failures are
//! answered as AWS answers them: 403 with `x-amzn-ErrorType` `MissingAuthenticationTokenException`,
//! `IncompleteSignatureException`, `UnrecognizedClientException` or `InvalidSignatureException`.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningParams, SigningSettings, sign,
};
use aws_smithy_runtime_api::client::identity::Identity;
use axum::http::{HeaderMap, Method, Uri};
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use super::Credentials;
use crate::error::{ApiError, ErrorKind};

/// The SigV4 signing name of `socialmessaging` (what `aws-sdk-socialmessaging` signs with).
pub const SERVICE: &str = "social-messaging";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far `X-Amz-Date` may be from the server's wall clock, as AWS allows.
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);
/// The longest a presigned request may be valid (`X-Amz-Expires`), as AWS allows: 7 days.
const MAX_EXPIRES_SECS: u64 = 604_800;

const MISMATCH: &str = "The request signature we calculated does not match the signature you \
     provided. Check your AWS Secret Access Key and signing method. Consult the service \
     documentation for details.";

/// Who signed a verified request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key_id: String,
    /// The key's account from the credentials file, or the default account.
    pub account: String,
    /// The region of the credential scope.
    pub region: String,
}

/// The parameters of a SigV4 signature, from the `Authorization` header or a presigned query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParts {
    pub access_key_id: String,
    /// `YYYYMMDD` of the credential scope.
    pub scope_date: String,
    pub region: String,
    pub service: String,
    pub terminator: String,
    /// Lower-case header names, in the order sent.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

fn incomplete(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::IncompleteSignature, message)
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidSignature, message)
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
/// SignedHeaders=a;b, Signature=hex`. `has_date` says whether the request has an `X-Amz-Date`
/// header, which AWS reports together with missing parameters.
pub fn parse_authorization(header: &str, has_date: bool) -> Result<SignatureParts, ApiError> {
    let rest = header
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(|c: char| c.is_ascii_whitespace()))
        .map(str::trim);
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    if let Some(rest) = rest {
        // Components are separated by commas and/or whitespace, as AWS reads them.
        for part in
            rest.split(|c: char| c == ',' || c.is_ascii_whitespace()).filter(|p| !p.is_empty())
        {
            let Some((key, value)) = part.split_once('=') else {
                return Err(incomplete(format!(
                    "'{part}' not a valid key=value pair (missing equal-sign) in Authorization \
                     header: '{header}'."
                )));
            };
            match key.trim() {
                "Credential" => credential = Some(value.trim()),
                "SignedHeaders" => signed_headers = Some(value.trim()),
                "Signature" => signature = Some(value.trim()),
                _ => {}
            }
        }
    }
    let mut missing = Vec::new();
    for (name, value) in
        [("Credential", credential), ("Signature", signature), ("SignedHeaders", signed_headers)]
    {
        if value.is_none_or(str::is_empty) {
            missing.push(format!("Authorization header requires '{name}' parameter."));
        }
    }
    if !has_date {
        missing.push(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' \
             header."
                .to_string(),
        );
    }
    if !missing.is_empty() {
        return Err(incomplete(format!("{} Authorization={header}", missing.join(" "))));
    }
    let (credential, signed_headers, signature) =
        (credential.unwrap_or(""), signed_headers.unwrap_or(""), signature.unwrap_or(""));
    parts_from(credential, signed_headers, signature)
}

fn parts_from(
    credential: &str,
    signed_headers: &str,
    signature: &str,
) -> Result<SignatureParts, ApiError> {
    let scope: Vec<&str> = credential.split('/').collect();
    let [key, date, region, service, terminator] = scope[..] else {
        return Err(incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got '{credential}'"
        )));
    };
    Ok(SignatureParts {
        access_key_id: key.to_string(),
        scope_date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        terminator: terminator.to_string(),
        signed_headers: signed_headers
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect(),
        signature: signature.to_string(),
    })
}

/// `20261127T052500Z` → a time.
pub fn parse_amz_date(value: &str) -> Result<OffsetDateTime, ApiError> {
    time::PrimitiveDateTime::parse(
        value,
        format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .map(|t| t.assume_utc())
    .map_err(|_| {
        incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{value}'. See \
             http://en.wikipedia.org/wiki/ISO_8601"
        ))
    })
}

fn amz_date(t: OffsetDateTime) -> String {
    t.format(format_description!("[year][month][day]T[hour][minute][second]Z")).unwrap_or_default()
}

/// The query pairs of a request, raw and with the name decoded.
fn query_pairs(query: &str) -> Vec<(Cow<'_, str>, &str, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode_str(name).decode_utf8_lossy(), value, pair)
        })
        .collect()
}

const PRESIGN_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

/// The form a request is signed in.
enum Form {
    Header,
    /// Presigned: valid for `expires` from its date; `query` is the rest of the query.
    Query {
        expires: Duration,
        query: String,
    },
}

/// Verifies the signature of a received request against `credentials` at wall-clock time
/// `now`; the verified key's account (else `default_account`) and region on success.
pub fn verify(
    credentials: &Credentials,
    default_account: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<Verified, ApiError> {
    let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let raw_query = uri.query().unwrap_or("");
    let pairs = query_pairs(raw_query);
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| percent_decode_str(v).decode_utf8_lossy())
    };

    let (parts, date_text, form, token) = if let Some(auth) = headers.get("authorization") {
        let auth = auth.to_str().map_err(|_| {
            incomplete("The Authorization header is not valid ASCII text".to_string())
        })?;
        let date = header_text("x-amz-date");
        let parts = parse_authorization(auth, date.is_some())?;
        let token = header_text("x-amz-security-token").map(str::to_string);
        (parts, date.unwrap_or_default().to_string(), Form::Header, token)
    } else if param("X-Amz-Signature").is_some() || param("X-Amz-Credential").is_some() {
        let mut missing = Vec::new();
        for name in PRESIGN_PARAMS.iter().take(6) {
            if param(name).is_none_or(|v| v.is_empty()) {
                missing.push(format!("'{name}'"));
            }
        }
        if !missing.is_empty() {
            return Err(incomplete(format!(
                "AWS query-string parameters must include {}. Re-examine the query-string \
                 parameters.",
                missing.join(", ")
            )));
        }
        let algorithm = param("X-Amz-Algorithm").unwrap_or_default();
        if algorithm != ALGORITHM {
            return Err(incomplete(format!(
                "Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} is supported)"
            )));
        }
        let expires = param("X-Amz-Expires")
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|s| (1..=MAX_EXPIRES_SECS).contains(s))
            .ok_or_else(|| {
                incomplete(format!(
                    "X-Amz-Expires must be a number of seconds from 1 to {MAX_EXPIRES_SECS} \
                     (7 days)"
                ))
            })?;
        let parts = parts_from(
            &param("X-Amz-Credential").unwrap_or_default(),
            &param("X-Amz-SignedHeaders").unwrap_or_default(),
            &param("X-Amz-Signature").unwrap_or_default(),
        )?;
        let rest: Vec<&str> = pairs
            .iter()
            .filter(|(n, _, _)| !PRESIGN_PARAMS.contains(&n.as_ref()))
            .map(|(_, _, raw)| *raw)
            .collect();
        let form = Form::Query { expires: Duration::from_secs(expires), query: rest.join("&") };
        let token = param("X-Amz-Security-Token").map(|t| t.into_owned());
        (parts, param("X-Amz-Date").unwrap_or_default().into_owned(), form, token)
    } else {
        return Err(ApiError::new(
            ErrorKind::MissingAuthenticationToken,
            "Missing Authentication Token",
        ));
    };

    let date = parse_amz_date(&date_text)?;
    check_scope(&parts, &date_text)?;
    if !parts.signed_headers.iter().any(|h| h == "host") {
        return Err(incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let secret = credentials.get(&parts.access_key_id).ok_or_else(|| {
        ApiError::new(
            ErrorKind::UnrecognizedClient,
            "The security token included in the request is invalid.",
        )
    })?;
    check_time(date, &form, now)?;

    let payload = match header_text("x-amz-content-sha256") {
        Some(claimed) => {
            let claimed = claimed.trim();
            let is_hash = claimed.len() == 64 && claimed.bytes().all(|b| b.is_ascii_hexdigit());
            if is_hash && !claimed.eq_ignore_ascii_case(&hex(&Sha256::digest(body))) {
                return Err(invalid(
                    "The provided 'x-amz-content-sha256' header does not match what was \
                     computed.",
                ));
            }
            SignableBody::Precomputed(claimed.to_string())
        }
        None => SignableBody::Bytes(body),
    };

    let expected = expected_signature(
        &parts,
        &secret.secret_access_key,
        token,
        method,
        uri,
        &form,
        headers,
        payload,
        date,
    )?;
    if !super::constant_time_eq(&expected, &parts.signature.to_ascii_lowercase()) {
        return Err(invalid(MISMATCH));
    }
    Ok(Verified {
        access_key_id: parts.access_key_id,
        account: secret.account_id.clone().unwrap_or_else(|| default_account.to_string()),
        region: parts.region,
    })
}

fn check_scope(parts: &SignatureParts, date_text: &str) -> Result<(), ApiError> {
    if parts.terminator != "aws4_request" {
        return Err(invalid(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'.",
            parts.terminator
        )));
    }
    if parts.service != SERVICE {
        return Err(invalid(format!(
            "Credential should be scoped to correct service: '{SERVICE}'. "
        )));
    }
    let region_ok = !parts.region.is_empty()
        && parts.region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(invalid(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            parts.region
        )));
    }
    let day = &date_text[..date_text.len().min(8)];
    if parts.scope_date != day {
        return Err(invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '{}' != '{day}', from '{date_text}'.",
            parts.scope_date
        )));
    }
    Ok(())
}

fn check_time(date: OffsetDateTime, form: &Form, now: SystemTime) -> Result<(), ApiError> {
    let now = OffsetDateTime::from(now);
    let skew = time::Duration::try_from(MAX_SKEW).unwrap_or(time::Duration::MINUTE * 5);
    if date > now + skew {
        return Err(invalid(format!(
            "Signature not yet current: {} is still later than {} ({} + 5 min.)",
            amz_date(date),
            amz_date(now + skew),
            amz_date(now)
        )));
    }
    match form {
        Form::Header if date < now - skew => Err(invalid(format!(
            "Signature expired: {} is now earlier than {} ({} - 5 min.)",
            amz_date(date),
            amz_date(now - skew),
            amz_date(now)
        ))),
        Form::Query { expires, .. } => {
            let valid = time::Duration::try_from(*expires).unwrap_or(time::Duration::ZERO);
            if date + valid < now {
                Err(invalid(format!(
                    "Signature expired: {} is now earlier than {} ({} - {} sec.)",
                    amz_date(date),
                    amz_date(now - valid),
                    amz_date(now),
                    expires.as_secs()
                )))
            } else {
                Ok(())
            }
        }
        Form::Header => Ok(()),
    }
}

/// The signature `aws-sigv4` computes for this request with `secret`, signing exactly the
/// headers the client listed.
#[allow(clippy::too_many_arguments)]
fn expected_signature(
    parts: &SignatureParts,
    secret: &str,
    session_token: Option<String>,
    method: &Method,
    uri: &Uri,
    form: &Form,
    headers: &HeaderMap,
    payload: SignableBody<'_>,
    date: OffsetDateTime,
) -> Result<String, ApiError> {
    let cannot = |_| invalid(MISMATCH);
    // The signer adds these itself; leave out those the client did not sign.
    let excluded: Vec<Cow<'static, str>> = ["host", "x-amz-date", "x-amz-security-token"]
        .into_iter()
        .filter(|h| !parts.signed_headers.iter().any(|s| s == h))
        .map(Cow::Borrowed)
        .chain(std::iter::once(Cow::Borrowed("authorization")))
        .collect();
    let mut settings = SigningSettings::default();
    settings.excluded_headers = Some(excluded);
    let query = match form {
        Form::Header => uri.query().unwrap_or("").to_string(),
        Form::Query { expires, query } => {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(*expires);
            query.clone()
        }
    };
    let mut signed: Vec<(&str, &str)> = Vec::new();
    for name in &parts.signed_headers {
        if name == "authorization" {
            continue;
        }
        for value in headers.get_all(name.as_str()) {
            signed.push((name.as_str(), value.to_str().map_err(|_| invalid(MISMATCH))?));
        }
    }
    // The signer takes the host from the headers; the authority only fills in for a request
    // without one (whose signature cannot match anyway).
    let target = if query.is_empty() {
        format!("http://localhost{}", uri.path())
    } else {
        format!("http://localhost{}?{query}", uri.path())
    };
    let identity: Identity = aws_credential_types::Credentials::new(
        parts.access_key_id.clone(),
        secret,
        session_token,
        None,
        "eum-social-credentials-file",
    )
    .into();
    let params: SigningParams<'_> = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&parts.region)
        .name(&parts.service)
        .time(SystemTime::from(date))
        .settings(settings)
        .build()
        .map_err(|_| invalid(MISMATCH))?
        .into();
    let request = SignableRequest::new(method.as_str(), target, signed.into_iter(), payload)
        .map_err(cannot)?;
    let output = sign(request, &params).map_err(cannot)?;
    Ok(output.signature().to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const KEY: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn creds() -> Credentials {
        Credentials::parse(&format!(
            r#"{{"{KEY}": {{"secretAccessKey": "{SECRET}", "accountId": "111122223333"}}}}"#
        ))
        .unwrap()
    }

    fn at(text: &str) -> SystemTime {
        SystemTime::from(parse_amz_date(text).unwrap())
    }

    /// Signs like an SDK would (aws-sigv4, headers form) and returns the headers to send.
    fn signed(
        method: &str,
        uri: &str,
        body: &[u8],
        secret: &str,
        time: SystemTime,
        service: &str,
    ) -> HeaderMap {
        let identity: Identity =
            aws_credential_types::Credentials::new(KEY, secret, None, None, "test").into();
        let params: SigningParams<'_> = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-1")
            .name(service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let base = [("host", "127.0.0.1:4590"), ("content-type", "application/json")];
        let request = SignableRequest::new(
            method,
            format!("http://127.0.0.1:4590{uri}"),
            base.into_iter(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let mut headers = HeaderMap::new();
        for (k, v) in base {
            headers.insert(k, HeaderValue::from_static(v));
        }
        headers.insert("user-agent", HeaderValue::from_static("not signed"));
        for (k, v) in instructions.headers() {
            let name = axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
            headers.insert(name, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    fn check(
        method: &str,
        uri: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, ApiError> {
        let uri: Uri = uri.parse().unwrap();
        verify(&creds(), "809904170947", &method.parse().unwrap(), &uri, headers, body, now)
    }

    const T: &str = "20261127T052500Z";

    #[test]
    fn accepts_a_good_signature_with_body_and_query() {
        let body = br#"{"message":"aGk="}"#;
        let h = signed("POST", "/v1/whatsapp/send", body, SECRET, at(T), SERVICE);
        let ok = check("POST", "/v1/whatsapp/send", &h, body, at(T)).unwrap();
        assert_eq!(ok.account, "111122223333");
        assert_eq!(ok.region, "eu-west-1");
        let uri = "/v1/whatsapp/waba/details?id=waba-1&x=a%20b";
        let h = signed("GET", uri, b"", SECRET, at(T), SERVICE);
        assert!(check("GET", uri, &h, b"", at("20261127T052900Z")).is_ok());
    }

    #[test]
    fn refuses_what_does_not_match() {
        let body = b"{}";
        let h = signed("POST", "/v1/whatsapp/send", body, SECRET, at(T), SERVICE);
        let kind = |r: Result<Verified, ApiError>| r.unwrap_err().kind;
        // Another body, path, method, query or header value.
        assert_eq!(
            kind(check("POST", "/v1/whatsapp/send", &h, b"{ }", at(T))),
            ErrorKind::InvalidSignature
        );
        assert_eq!(
            kind(check("POST", "/v1/whatsapp/sen", &h, body, at(T))),
            ErrorKind::InvalidSignature
        );
        assert_eq!(
            kind(check("PUT", "/v1/whatsapp/send", &h, body, at(T))),
            ErrorKind::InvalidSignature
        );
        assert_eq!(
            kind(check("POST", "/v1/whatsapp/send?a=b", &h, body, at(T))),
            ErrorKind::InvalidSignature
        );
        let mut other = h.clone();
        other.insert("content-type", HeaderValue::from_static("text/plain"));
        assert_eq!(
            kind(check("POST", "/v1/whatsapp/send", &other, body, at(T))),
            ErrorKind::InvalidSignature
        );
        // An unsigned header may change.
        let mut ua = h.clone();
        ua.insert("user-agent", HeaderValue::from_static("changed"));
        assert!(check("POST", "/v1/whatsapp/send", &ua, body, at(T)).is_ok());
        // The wrong secret.
        let bad = signed("POST", "/v1/whatsapp/send", body, "nope", at(T), SERVICE);
        let err = check("POST", "/v1/whatsapp/send", &bad, body, at(T)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidSignature);
        assert_eq!(err.message, MISMATCH);
        // The wrong service in the scope.
        let s3 = signed("POST", "/v1/whatsapp/send", body, SECRET, at(T), "s3");
        let err = check("POST", "/v1/whatsapp/send", &s3, body, at(T)).unwrap_err();
        assert_eq!(
            err.message,
            "Credential should be scoped to correct service: 'social-messaging'. "
        );
    }

    #[test]
    fn the_payload_hash_header_must_match_the_body() {
        let mut h = signed("POST", "/v1/whatsapp/send", b"{}", SECRET, at(T), SERVICE);
        h.insert("x-amz-content-sha256", HeaderValue::from_static("UNSIGNED-PAYLOAD"));
        // Not signed (not in SignedHeaders) but used as the payload hash: a mismatch.
        assert_eq!(
            check("POST", "/v1/whatsapp/send", &h, b"{}", at(T)).unwrap_err().kind,
            ErrorKind::InvalidSignature
        );
        h.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static(
                "0000000000000000000000000000000000000000000000000000000000000000",
            ),
        );
        let err = check("POST", "/v1/whatsapp/send", &h, b"{}", at(T)).unwrap_err();
        assert!(err.message.contains("x-amz-content-sha256"), "{}", err.message);
    }

    #[test]
    fn stale_and_future_dates_are_refused_with_aws_messages() {
        let h = signed("GET", "/v1/whatsapp/waba/details", b"", SECRET, at(T), SERVICE);
        let err =
            check("GET", "/v1/whatsapp/waba/details", &h, b"", at("20261127T053100Z")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidSignature);
        assert_eq!(
            err.message,
            "Signature expired: 20261127T052500Z is now earlier than 20261127T052600Z \
             (20261127T053100Z - 5 min.)"
        );
        let err =
            check("GET", "/v1/whatsapp/waba/details", &h, b"", at("20261127T051900Z")).unwrap_err();
        assert_eq!(
            err.message,
            "Signature not yet current: 20261127T052500Z is still later than 20261127T052400Z \
             (20261127T051900Z + 5 min.)"
        );
        // Exactly 5 minutes is still fine.
        assert!(check("GET", "/v1/whatsapp/waba/details", &h, b"", at("20261127T053000Z")).is_ok());
    }

    #[test]
    fn an_unknown_key_is_an_unrecognized_client() {
        let mut h = signed("GET", "/v1/whatsapp/waba/details", b"", SECRET, at(T), SERVICE);
        let auth = h["authorization"].to_str().unwrap().replace(KEY, "AKIDOTHER");
        h.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        let err = check("GET", "/v1/whatsapp/waba/details", &h, b"", at(T)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UnrecognizedClient);
        assert_eq!(err.message, "The security token included in the request is invalid.");
    }

    #[test]
    fn missing_and_malformed_authorization() {
        let err =
            check("GET", "/v1/whatsapp/waba/details", &HeaderMap::new(), b"", at(T)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::MissingAuthenticationToken);
        assert_eq!(err.message, "Missing Authentication Token");
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer abc"));
        let err = check("GET", "/", &h, b"", at(T)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::IncompleteSignature);
        assert_eq!(
            err.message,
            "Authorization header requires 'Credential' parameter. Authorization header \
             requires 'Signature' parameter. Authorization header requires 'SignedHeaders' \
             parameter. Authorization header requires existence of either a 'X-Amz-Date' or a \
             'Date' header. Authorization=Bearer abc"
        );
    }

    #[test]
    fn parses_the_authorization_header() {
        let h = "AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/social-messaging/aws4_request, SignedHeaders=Host;x-amz-date, Signature=abc";
        let parts = parse_authorization(h, true).unwrap();
        assert_eq!(
            parts,
            SignatureParts {
                access_key_id: "AKID".into(),
                scope_date: "20261127".into(),
                region: "us-east-1".into(),
                service: "social-messaging".into(),
                terminator: "aws4_request".into(),
                signed_headers: vec!["host".into(), "x-amz-date".into()],
                signature: "abc".into(),
            }
        );
        // Without spaces after the commas, as some signers write it.
        let compact = h.replace(", ", ",");
        assert_eq!(parse_authorization(&compact, true).unwrap(), parts);

        let cases = [
            (
                "AWS4-HMAC-SHA256 Credential=AKID /20261127/us-east-1/social-messaging/aws4_request, SignedHeaders=host, Signature=abc",
                "'/20261127/us-east-1/social-messaging/aws4_request' not a valid key=value pair",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/aws4_request, SignedHeaders=host, Signature=abc",
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/20261127/us-east-1/aws4_request'",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/social-messaging/aws4_request, Signature=abc",
                "Authorization header requires 'SignedHeaders' parameter. Authorization=",
            ),
            (
                "AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=abc",
                "Authorization header requires 'Credential' parameter.",
            ),
            ("AWS AKID:c2ln", "Authorization header requires 'Credential' parameter."),
            ("AWS4-HMAC-SHA256", "Authorization header requires 'Signature' parameter."),
        ];
        for (header, expected) in cases {
            let err = parse_authorization(header, true).unwrap_err();
            assert_eq!(err.kind, ErrorKind::IncompleteSignature, "{header}");
            assert!(err.message.contains(expected), "{header}: {}", err.message);
        }
        let err = parse_authorization(h, false).unwrap_err();
        assert!(err.message.starts_with("Authorization header requires existence of either"));
    }

    #[test]
    fn checks_the_date_and_the_scope() {
        assert!(parse_amz_date("20261127T052500Z").is_ok());
        for bad in ["2026-11-27T05:25:00Z", "20261127", "", "20261327T052500Z"] {
            let err = parse_amz_date(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::IncompleteSignature);
            assert!(err.message.starts_with("Date must be in ISO-8601 'basic format'"));
        }
        let mut h = signed("GET", "/v1/whatsapp/waba/details", b"", SECRET, at(T), SERVICE);
        h.insert("x-amz-date", HeaderValue::from_static("20261128T000000Z"));
        let err = check("GET", "/v1/whatsapp/waba/details", &h, b"", at(T)).unwrap_err();
        assert_eq!(
            err.message,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '20261127' != '20261128', from '20261128T000000Z'."
        );
    }

    #[test]
    fn accepts_a_presigned_query_until_it_expires() {
        let identity: Identity =
            aws_credential_types::Credentials::new(KEY, SECRET, None, None, "test").into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(600));
        let params: SigningParams<'_> = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name(SERVICE)
            .time(at(T))
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let request = SignableRequest::new(
            "GET",
            "http://127.0.0.1:4590/v1/whatsapp/waba/details?id=waba-1",
            [("host", "127.0.0.1:4590")].into_iter(),
            SignableBody::Bytes(b""),
        )
        .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let mut query = "id=waba-1".to_string();
        for (k, v) in instructions.params() {
            let v = percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC);
            query.push_str(&format!("&{k}={v}"));
        }
        let uri = format!("/v1/whatsapp/waba/details?{query}");
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:4590"));
        let ok = check("GET", &uri, &h, b"", at("20261127T053400Z")).unwrap();
        assert_eq!(ok.account, "111122223333");
        let err = check("GET", &uri, &h, b"", at("20261127T053600Z")).unwrap_err();
        assert!(err.message.starts_with("Signature expired"), "{}", err.message);
        let tampered = uri.replace("id=waba-1", "id=waba-2");
        assert_eq!(
            check("GET", &tampered, &h, b"", at(T)).unwrap_err().kind,
            ErrorKind::InvalidSignature
        );
        let partial = "/v1/whatsapp/waba/details?X-Amz-Signature=abc";
        let err = check("GET", partial, &h, b"", at(T)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::IncompleteSignature);
        assert!(err.message.contains("'X-Amz-Credential'"), "{}", err.message);
    }
}
