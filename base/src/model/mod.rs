//! The service model, as facts derived from botocore by `scripts/derive_model.py` into
//! `fixtures/model/socialmessaging.json` and embedded in the binary. Routing, validation and the
//! "every operation is served" tests read it; nothing here is typed by hand.

mod operation;
pub mod validate;

pub use operation::Operation;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

use crate::error::ErrorKind;

/// The facts file, verbatim.
pub const MODEL_JSON: &str = include_str!("../../../fixtures/model/socialmessaging.json");

#[derive(Debug, Deserialize)]
struct RawModel {
    operations: BTreeMap<String, RawOperation>,
    shapes: BTreeMap<String, RawShape>,
    errors: BTreeMap<String, RawError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawOperation {
    pub method: String,
    pub uri: String,
    pub input: String,
    pub output: String,
    pub errors: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawError {
    status: u16,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawShape {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    required: Vec<String>,
    min: Option<i64>,
    max: Option<i64>,
    pattern: Option<String>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<String>>,
    #[serde(default)]
    sensitive: bool,
    /// In model order (serde_json's `preserve_order`), so errors are reported in that order.
    #[serde(default)]
    members: serde_json::Map<String, serde_json::Value>,
    member: Option<String>,
    key: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMember {
    shape: String,
    location: Option<String>,
    location_name: Option<String>,
}

/// A shape with its constraints, ready to validate against.
#[derive(Debug)]
pub struct Shape {
    pub name: String,
    pub kind: ShapeKind,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub pattern: Option<(String, Regex)>,
    pub enum_values: Option<Vec<String>>,
    pub sensitive: bool,
}

#[derive(Debug)]
pub enum ShapeKind {
    Structure { members: Vec<Member> },
    String,
    Integer,
    Long,
    Boolean,
    Blob,
    Timestamp,
    List { member: String },
    Map { key: String, value: String },
}

#[derive(Debug)]
pub struct Member {
    pub name: String,
    pub shape: String,
    pub required: bool,
    /// `Some(wire name)` for a member bound to the query string.
    pub query: Option<String>,
}

/// An operation's facts.
#[derive(Debug)]
pub struct OperationFacts {
    pub name: String,
    pub method: String,
    pub uri: String,
    pub input: String,
    pub output: String,
    pub errors: Vec<ErrorKind>,
}

/// The whole model.
#[derive(Debug)]
pub struct Model {
    pub operations: BTreeMap<String, OperationFacts>,
    pub shapes: hashbrown::HashMap<String, Shape>,
    /// Error shape name → modeled HTTP status.
    pub error_statuses: BTreeMap<String, u16>,
}

impl Model {
    /// The embedded model, parsed once.
    pub fn get() -> &'static Model {
        static MODEL: OnceLock<Model> = OnceLock::new();
        MODEL.get_or_init(|| Model::parse(MODEL_JSON).expect("embedded model facts are valid"))
    }

    pub fn parse(text: &str) -> Result<Model, String> {
        let raw: RawModel = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let mut shapes = hashbrown::HashMap::new();
        for (name, s) in raw.shapes {
            let kind = match s.kind.as_str() {
                "structure" => ShapeKind::Structure {
                    members: s
                        .members
                        .into_iter()
                        .map(|(m, raw)| {
                            let raw: RawMember = serde_json::from_value(raw)
                                .map_err(|e| format!("{name}.{m}: {e}"))?;
                            Ok(Member {
                                required: s.required.contains(&m),
                                query: (raw.location.as_deref() == Some("querystring")).then(
                                    || raw.location_name.clone().unwrap_or_else(|| m.clone()),
                                ),
                                name: m,
                                shape: raw.shape,
                            })
                        })
                        .collect::<Result<_, String>>()?,
                },
                "string" => ShapeKind::String,
                "integer" => ShapeKind::Integer,
                "long" => ShapeKind::Long,
                "boolean" => ShapeKind::Boolean,
                "blob" => ShapeKind::Blob,
                "timestamp" => ShapeKind::Timestamp,
                "list" => ShapeKind::List { member: s.member.ok_or("list without member")? },
                "map" => ShapeKind::Map {
                    key: s.key.ok_or("map without key")?,
                    value: s.value.ok_or("map without value")?,
                },
                other => return Err(format!("shape {name}: unknown type {other}")),
            };
            let pattern = match s.pattern {
                Some(p) => {
                    let re = Regex::new(&smithy_pattern_to_rust(&p))
                        .map_err(|e| format!("shape {name}: pattern {p}: {e}"))?;
                    Some((p, re))
                }
                None => None,
            };
            shapes.insert(
                name.clone(),
                Shape {
                    name,
                    kind,
                    min: s.min,
                    max: s.max,
                    pattern,
                    enum_values: s.enum_values,
                    sensitive: s.sensitive,
                },
            );
        }
        let mut operations = BTreeMap::new();
        for (name, op) in raw.operations {
            let errors = op
                .errors
                .iter()
                .map(|e| ErrorKind::from_shape(e).ok_or(format!("{name}: unknown error {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            operations.insert(
                name.clone(),
                OperationFacts {
                    name,
                    method: op.method,
                    uri: op.uri,
                    input: op.input,
                    output: op.output,
                    errors,
                },
            );
        }
        let error_statuses = raw.errors.into_iter().map(|(k, v)| (k, v.status)).collect();
        Ok(Model { operations, shapes, error_statuses })
    }

    pub fn shape(&self, name: &str) -> &Shape {
        &self.shapes[name]
    }

    pub fn operation(&self, name: &str) -> &OperationFacts {
        &self.operations[name]
    }
}

/// Smithy patterns are ECMA-262 regexes matched as a search (not anchored). `\d` is ASCII there
/// but Unicode in the `regex` crate, so it is narrowed to `[0-9]`. A leading `.*` (part of the
/// first alternative) and a trailing one (of the last) change no search's verdict, since `.*`
/// may match nothing, but make every search scan: they are dropped.
fn smithy_pattern_to_rust(pattern: &str) -> String {
    let mut rust = pattern.replace("\\d", "[0-9]");
    if let Some(rest) = rust.strip_prefix(".*") {
        rust = rest.to_string();
    }
    if rust.ends_with(".*") && !rust.ends_with("\\.*") {
        rust.truncate(rust.len() - 2);
    }
    rust
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_search_as_the_model_says() {
        let id = ".*(^phone-number-id-.*$)|(^arn:.*:phone-number-id/[0-9a-zA-Z]+$).*";
        assert_eq!(
            smithy_pattern_to_rust(id),
            "(^phone-number-id-.*$)|(^arn:.*:phone-number-id/[0-9a-zA-Z]+$)"
        );
        let (ours, literal) =
            (Regex::new(&smithy_pattern_to_rust(id)).unwrap(), Regex::new(id).unwrap());
        for s in [
            "phone-number-id-0123",
            "phone-number-id-",
            "xphone-number-id-1",
            "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/abc123",
            "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/abc-123",
            "waba-0123",
            "",
            "phone-number-id-1\nx",
        ] {
            assert_eq!(ours.is_match(s), literal.is_match(s), "{s}");
        }
        assert_eq!(smithy_pattern_to_rust("arn:.*"), "arn:");
        assert_eq!(smithy_pattern_to_rust("\\+[1-9]\\d{1,14}"), "\\+[1-9][0-9]{1,14}");
        assert_eq!(smithy_pattern_to_rust("a\\.*"), "a\\.*");
        let url = "https://(.*)s3(.*).amazonaws.com/(.*)";
        assert_eq!(smithy_pattern_to_rust(url), url);
    }
}
