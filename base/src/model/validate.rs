//! Decoding and validating an operation's input against the model facts: query members by their
//! wire names and types, the JSON body, then every constraint (required, length in code points,
//! pattern, enum, range, list and map sizes, decoded blob sizes), nested structures included.
//! Failures are reported the way AWS words them:
//! `2 validation errors detected: Value 'x' at 'id' failed to satisfy constraint: …; …`.

use hashbrown::HashMap;

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use super::{Model, OperationFacts, Shape, ShapeKind};
use crate::error::{ApiError, ApiResult};

/// Standard alphabet, padding optional: what AWS SDKs send (always padded) plus lenient clients.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A decoded, validated operation input.
#[derive(Debug, Default)]
pub struct Input {
    /// Members by their model names (query members included), as JSON.
    pub value: Map<String, Value>,
    /// Decoded top-level blob members.
    pub blobs: HashMap<String, Vec<u8>>,
}

impl Input {
    pub fn str(&self, member: &str) -> Option<&str> {
        self.value.get(member).and_then(Value::as_str)
    }
    /// A required string member (validation has already ensured it is present).
    pub fn req_str(&self, member: &str) -> ApiResult<&str> {
        self.str(member).ok_or_else(|| {
            ApiError::validation(format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy \
                 constraint: Member must not be null"
            ))
        })
    }
    pub fn i64(&self, member: &str) -> Option<i64> {
        self.value.get(member).and_then(value_as_i64)
    }
    pub fn bool(&self, member: &str) -> Option<bool> {
        self.value.get(member).and_then(Value::as_bool)
    }
    pub fn get(&self, member: &str) -> Option<&Value> {
        self.value.get(member).filter(|v| !v.is_null())
    }
    /// Deserializes a member into a typed value (the shape was validated already).
    pub fn parse<T: serde::de::DeserializeOwned>(&self, member: &str) -> ApiResult<Option<T>> {
        match self.get(member) {
            None => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| ApiError::validation(format!("Invalid value at '{member}': {e}"))),
        }
    }
}

fn value_as_i64(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
}

/// Splits a raw query string into (name, value) pairs, percent-decoding each part. AWS SDKs
/// encode a space as `%20` and `+` as `%2B`, so `+` is kept literally.
pub fn parse_query(raw: Option<&str>) -> ApiResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s).decode_utf8().map(|c| c.into_owned()).map_err(
                |_| {
                    ApiError::validation(format!(
                        "Query parameter '{}' is not valid UTF-8 once percent-decoded",
                        String::from_utf8_lossy(k.as_bytes())
                    ))
                },
            )
        };
        out.push((decode(k)?, decode(v)?));
    }
    Ok(out)
}

/// The model's pattern for presigned URLs (`https://(.*)s3(.*).amazonaws.com/(.*)`).
pub const PRESIGNED_URL_SHAPE: &str = "S3PresignedUrlUrlString";

/// Model constraints that a run-time flag relaxes. This is the one place they are waived.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Leniency {
    /// `--allow-any-presigned-url`: a presigned URL may be any `http://` or `https://` URL (a
    /// local S3 server, a test's HTTP server), not only `https://…s3….amazonaws.com/…`.
    pub any_presigned_url: bool,
}

impl Leniency {
    fn waives_pattern(self, shape: &Shape, value: &str) -> bool {
        self.any_presigned_url
            && shape.name == PRESIGNED_URL_SHAPE
            && (value.starts_with("http://") || value.starts_with("https://"))
    }
}

/// Decodes and validates the input of `op` from the query string and the body.
pub fn decode_input(
    model: &Model,
    op: &OperationFacts,
    query: &[(String, String)],
    body: &[u8],
) -> ApiResult<Input> {
    decode_input_with(model, op, query, body, Leniency::default())
}

/// [`decode_input`] with some constraints relaxed by configuration.
pub fn decode_input_with(
    model: &Model,
    op: &OperationFacts,
    query: &[(String, String)],
    body: &[u8],
    leniency: Leniency,
) -> ApiResult<Input> {
    let shape = model.shape(&op.input);
    let ShapeKind::Structure { members } = &shape.kind else {
        return Err(ApiError::internal(format!("input shape {} is not a structure", shape.name)));
    };
    let has_body_members = members.iter().any(|m| m.query.is_none());
    let mut body_map = if has_body_members { parse_body(body)? } else { Map::new() };

    let mut errors = Vec::new();
    let mut value = Map::new();
    for member in members {
        let raw = match &member.query {
            Some(wire) => match query.iter().find(|(k, _)| k == wire) {
                None => None,
                Some((_, text)) => match query_value(model.shape(&member.shape), text) {
                    Ok(v) => Some(v),
                    Err(constraint) => {
                        errors.push(format!(
                            "Value '{}' at '{}' failed to satisfy constraint: {constraint}",
                            shorten(text),
                            member.name
                        ));
                        continue;
                    }
                },
            },
            None => body_map.remove(&member.name).filter(|v| !v.is_null()),
        };
        if let Some(v) = raw {
            value.insert(member.name.clone(), v);
        }
    }

    let mut blobs = HashMap::new();
    let mut checker = Checker { model, errors: &mut errors, blobs: &mut blobs, leniency };
    checker.structure_members(members, &value, None);
    if !errors.is_empty() {
        return Err(validation_error(&errors));
    }
    Ok(Input { value, blobs })
}

/// Whether `s` meets every constraint of string shape `shape` (length in code points, enum,
/// pattern) — for fast paths, which hand anything that fails to [`decode_input`] to be worded.
pub fn string_satisfies(shape: &Shape, s: &str) -> bool {
    within(shape, s.chars().count())
        && shape.enum_values.as_ref().is_none_or(|values| values.iter().any(|e| e == s))
        && shape.pattern.as_ref().is_none_or(|(_, re)| re.is_match(s))
}

/// The bytes of blob shape `shape` written as `base64`, if they decode and meet its length.
pub fn blob_satisfies(shape: &Shape, base64: &str) -> Option<Vec<u8>> {
    BASE64.decode(base64).ok().filter(|bytes| within(shape, bytes.len()))
}

fn within(shape: &Shape, len: usize) -> bool {
    let len = len as i64;
    shape.min.is_none_or(|m| len >= m) && shape.max.is_none_or(|m| len <= m)
}

/// `N validation error(s) detected: a; b`.
pub fn validation_error(errors: &[String]) -> ApiError {
    let n = errors.len();
    let noun = if n == 1 { "error" } else { "errors" };
    ApiError::validation(format!("{n} validation {noun} detected: {}", errors.join("; ")))
}

fn parse_body(body: &[u8]) -> ApiResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::validation(format!(
            "The request body must be a JSON object, not {}",
            json_type(&other)
        ))),
        Err(e) => {
            Err(ApiError::validation(format!("Could not parse the request body as JSON: {e}")))
        }
    }
}

/// Converts a query string value to the JSON value of its shape's type.
fn query_value(shape: &Shape, text: &str) -> Result<Value, String> {
    match shape.kind {
        ShapeKind::Integer | ShapeKind::Long => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "Member must be an integer".to_string()),
        ShapeKind::Boolean => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("Member must be a boolean (true or false)".to_string()),
        },
        _ => Ok(Value::String(text.to_string())),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn shorten(s: &str) -> String {
    const MAX: usize = 200;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(MAX).collect::<String>())
    }
}

/// Where a value is in the input (`a.b`, `list.1.member`, `map.key`), written out only when a
/// constraint fails.
enum Path<'a> {
    Member(Option<&'a Path<'a>>, &'a str),
    Item(&'a Path<'a>, usize),
    Key(&'a Path<'a>, &'a str),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Member(None, name) => f.write_str(name),
            Path::Member(Some(parent), name) => write!(f, "{parent}.{name}"),
            Path::Item(parent, i) => write!(f, "{parent}.{i}.member"),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
        }
    }
}

struct Checker<'a> {
    model: &'a Model,
    errors: &'a mut Vec<String>,
    /// Decoded top-level blobs (every blob of the model is a top-level member).
    blobs: &'a mut HashMap<String, Vec<u8>>,
    leniency: Leniency,
}

impl Checker<'_> {
    fn fail(&mut self, shape: &Shape, value: Option<&Value>, path: &Path<'_>, constraint: &str) {
        let shown = match value {
            None | Some(Value::Null) => " null".to_string(),
            _ if shape.sensitive || matches!(shape.kind, ShapeKind::Blob) => String::new(),
            Some(Value::String(s)) => format!(" '{}'", shorten(s)),
            Some(other) => format!(" '{}'", shorten(&other.to_string())),
        };
        self.errors
            .push(format!("Value{shown} at '{path}' failed to satisfy constraint: {constraint}"));
    }

    fn structure_members(
        &mut self,
        members: &[super::Member],
        obj: &Map<String, Value>,
        parent: Option<&Path<'_>>,
    ) {
        for member in members {
            let path = Path::Member(parent, &member.name);
            let shape = self.model.shape(&member.shape);
            match obj.get(&member.name).filter(|v| !v.is_null()) {
                None if member.required => {
                    self.fail(shape, None, &path, "Member must not be null");
                }
                None => {}
                Some(v) => {
                    if let Some(bytes) = self.value(shape, v, &path) {
                        self.blobs.insert(member.name.clone(), bytes);
                    }
                }
            }
        }
    }

    /// Checks one present value; returns the decoded bytes of a blob.
    fn value(&mut self, shape: &Shape, v: &Value, path: &Path<'_>) -> Option<Vec<u8>> {
        match &shape.kind {
            ShapeKind::Structure { members } => match v.as_object() {
                Some(obj) => {
                    self.structure_members(members, obj, Some(path));
                }
                None => self.fail(shape, Some(v), path, "Member must be a structure (JSON object)"),
            },
            ShapeKind::String => match v.as_str() {
                Some(s) => self.string(shape, s, v, path),
                None => self.fail(shape, Some(v), path, "Member must be a string"),
            },
            ShapeKind::Integer | ShapeKind::Long => {
                let (lo, hi) = if matches!(shape.kind, ShapeKind::Integer) {
                    (i32::MIN as i64, i32::MAX as i64)
                } else {
                    (i64::MIN, i64::MAX)
                };
                match value_as_i64(v).filter(|n| (lo..=hi).contains(n)) {
                    Some(n) => self.range(shape, n, v, path),
                    None => self.fail(shape, Some(v), path, "Member must be an integer"),
                }
            }
            ShapeKind::Boolean => {
                if !v.is_boolean() {
                    self.fail(shape, Some(v), path, "Member must be a boolean");
                }
            }
            ShapeKind::Timestamp => {
                if !v.is_number() {
                    self.fail(shape, Some(v), path, "Member must be a timestamp (epoch seconds)");
                }
            }
            ShapeKind::Blob => {
                let Some(s) = v.as_str() else {
                    self.fail(shape, Some(v), path, "Member must be a base64-encoded string");
                    return None;
                };
                match BASE64.decode(s) {
                    Ok(bytes) => {
                        self.length(shape, bytes.len(), Some(v), path);
                        return Some(bytes);
                    }
                    Err(_) => self.fail(shape, Some(v), path, "Member must be valid base64"),
                }
            }
            ShapeKind::List { member } => match v.as_array() {
                Some(items) => {
                    self.length(shape, items.len(), Some(v), path);
                    let item_shape = self.model.shape(member);
                    for (i, item) in items.iter().enumerate() {
                        let item_path = Path::Item(path, i + 1);
                        if item.is_null() {
                            self.fail(item_shape, None, &item_path, "Member must not be null");
                        } else {
                            self.value(item_shape, item, &item_path);
                        }
                    }
                }
                None => self.fail(shape, Some(v), path, "Member must be a list (JSON array)"),
            },
            ShapeKind::Map { key, value } => match v.as_object() {
                Some(entries) => {
                    self.length(shape, entries.len(), Some(v), path);
                    let key_shape = self.model.shape(key);
                    let value_shape = self.model.shape(value);
                    for (k, item) in entries {
                        let key_value = Value::String(k.clone());
                        let before = self.errors.len();
                        self.value(key_shape, &key_value, path);
                        for e in &mut self.errors[before..] {
                            *e = e.replace(
                                "failed to satisfy constraint: ",
                                "failed to satisfy constraint: Map keys must satisfy constraint: ",
                            );
                        }
                        let item_path = Path::Key(path, k);
                        if item.is_null() {
                            self.fail(value_shape, None, &item_path, "Member must not be null");
                        } else {
                            self.value(value_shape, item, &item_path);
                        }
                    }
                }
                None => self.fail(shape, Some(v), path, "Member must be a map (JSON object)"),
            },
        }
        None
    }

    fn string(&mut self, shape: &Shape, s: &str, v: &Value, path: &Path<'_>) {
        self.length(shape, s.chars().count(), Some(v), path);
        if let Some(values) = &shape.enum_values
            && !values.iter().any(|e| e == s)
        {
            let set = values.join(", ");
            self.fail(
                shape,
                Some(v),
                path,
                &format!("Member must satisfy enum value set: [{set}]"),
            );
        }
        if let Some((source, re)) = &shape.pattern
            && !re.is_match(s)
            && !self.leniency.waives_pattern(shape, s)
        {
            let c = format!("Member must satisfy regular expression pattern: {source}");
            self.fail(shape, Some(v), path, &c);
        }
    }

    fn length(&mut self, shape: &Shape, len: usize, v: Option<&Value>, path: &Path<'_>) {
        let len = len as i64;
        if let Some(min) = shape.min.filter(|&m| len < m) {
            let c = format!("Member must have length greater than or equal to {min}");
            self.fail(shape, v, path, &c);
        }
        if let Some(max) = shape.max.filter(|&m| len > m) {
            let c = format!("Member must have length less than or equal to {max}");
            self.fail(shape, v, path, &c);
        }
    }

    fn range(&mut self, shape: &Shape, n: i64, v: &Value, path: &Path<'_>) {
        if let Some(min) = shape.min.filter(|&m| n < m) {
            let c = format!("Member must have value greater than or equal to {min}");
            self.fail(shape, Some(v), path, &c);
        }
        if let Some(max) = shape.max.filter(|&m| n > m) {
            let c = format!("Member must have value less than or equal to {max}");
            self.fail(shape, Some(v), path, &c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post_media(url: &str, leniency: Leniency) -> ApiResult<Input> {
        let model = Model::get();
        let body = serde_json::json!({
            "originationPhoneNumberId": "phone-number-id-baa217c3f11b4ffd956f6f3afb44ce54",
            "sourceS3PresignedUrl": { "url": url, "headers": { "Content-Type": "image/png" } },
        })
        .to_string();
        decode_input_with(
            model,
            model.operation("PostWhatsAppMessageMedia"),
            &[],
            body.as_bytes(),
            leniency,
        )
    }

    #[test]
    fn only_the_flag_admits_presigned_urls_off_amazonaws() {
        let strict = Leniency::default();
        let lenient = Leniency { any_presigned_url: true };
        let aws = "https://my-bucket.s3.us-east-1.amazonaws.com/cat.png?X-Amz-Signature=x";
        let local = "http://127.0.0.1:9000/my-bucket/cat.png";
        assert!(post_media(aws, strict).is_ok());
        let err = post_media(local, strict).unwrap_err();
        assert!(err.message.contains("sourceS3PresignedUrl.url"), "{}", err.message);
        assert!(post_media(local, lenient).is_ok());
        assert!(post_media(aws, lenient).is_ok());
        // Still a URL: the flag relaxes the host, not the scheme.
        assert!(post_media("ftp://127.0.0.1/x", lenient).is_err());
    }
}
