//! Decoding and validating the Meta message object inside `SendWhatsAppMessage.message`: the
//! JSON Schema in `fixtures/schemas/whatsapp-message.schema.json` (Meta's shapes and limits), then
//! the rules a schema cannot say. Failures are Meta's synchronous errors (131051 for an unknown
//! type, 131008 for a missing parameter, 131009 for an invalid one, 100 for a body that is not a
//! message object).

use std::collections::HashSet;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use serde_json::{Map, Value};

use super::errors::MetaError;

pub const MESSAGE_SCHEMA: &str =
    include_str!("../../../fixtures/schemas/whatsapp-message.schema.json");

/// The message types Cloud API sends.
pub const TYPES: &[&str] = &[
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "reaction",
    "template",
];

/// A validated outbound message.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// The message as a tree; None for a plain text message, read without one (nothing looks
    /// into its members after validation).
    pub payload: Option<Value>,
    pub shape: Shape,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A message to a customer: its type and the recipient's WhatsApp id (digits) or BSUID.
    Message { message_type: &'static str, to: Recipient },
    /// `{"status": "read", "message_id": …}`: marks an inbound message as read.
    MarkRead { message_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A phone number as digits only (the customer's `wa_id`).
    WaId(String),
    /// A business-scoped user id.
    Bsuid(String),
}

impl Recipient {
    pub fn id(&self) -> &str {
        match self {
            Recipient::WaId(s) | Recipient::Bsuid(s) => s,
        }
    }

    pub fn into_id(self) -> String {
        match self {
            Recipient::WaId(s) | Recipient::Bsuid(s) => s,
        }
    }
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: Value = serde_json::from_str(MESSAGE_SCHEMA).expect("message schema is JSON");
        jsonschema::validator_for(&schema).expect("message schema compiles")
    })
}

/// Decodes and validates a message blob.
pub fn parse(bytes: &[u8]) -> Result<Outbound, MetaError> {
    if let Some(to) = plain_text(bytes) {
        let shape = Shape::Message { message_type: "text", to: Recipient::WaId(to) };
        return Ok(Outbound { payload: None, shape });
    }
    let payload: Value = serde_json::from_slice(bytes).map_err(|e| {
        MetaError::with_details(100, format!("message is not a JSON message object: {e}"))
    })?;
    let Some(obj) = payload.as_object() else {
        return Err(MetaError::with_details(100, "message must be a JSON object"));
    };
    let is_read = obj.contains_key("status");
    if !is_read {
        let t = obj.get("type").and_then(Value::as_str).unwrap_or("text");
        if !TYPES.contains(&t) {
            return Err(MetaError::with_details(
                131051,
                format!(
                    "Message type '{t}' is not supported. Supported types: {}",
                    TYPES.join(", ")
                ),
            ));
        }
    }
    // A plain text message is checked without the schema; `is_valid` stops at the first failure
    // without building errors; only an invalid message collects them.
    let invalid = !plain_text_valid(obj) && !validator().is_valid(&payload);
    if let Some(error) = invalid.then(|| validator().iter_errors(&payload).next()).flatten() {
        let path = error.instance_path().to_string();
        let at = if path.is_empty() { "message".to_string() } else { dotted(&path) };
        return Err(match error.kind() {
            ValidationErrorKind::Required { property } => {
                let property = property.as_str().unwrap_or_default();
                let full =
                    if path.is_empty() { property.to_string() } else { format!("{at}.{property}") };
                MetaError::with_details(131008, format!("The parameter {full} is required."))
            }
            // The schema uses anyOf only for "one of these members is required".
            ValidationErrorKind::AnyOf { .. } => {
                let options = if at == "message" {
                    "to or recipient"
                } else if at.ends_with("parameters") {
                    "flow_id or flow_name"
                } else {
                    "id or link"
                };
                MetaError::with_details(131008, format!("The parameter {at} requires {options}."))
            }
            _ => MetaError::with_details(131009, format!("Parameter {at} is invalid: {error}")),
        });
    }
    check_rules(obj)?;
    let shape = if is_read {
        Shape::MarkRead {
            message_id: obj
                .get("message_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        }
    } else {
        let named = obj.get("type").and_then(Value::as_str).unwrap_or("text");
        // One of TYPES: anything else was refused above.
        let message_type = TYPES.iter().copied().find(|t| *t == named).unwrap_or("text");
        let to = match obj.get("to").and_then(Value::as_str) {
            Some(to) if super::bsuid::is_bsuid(to) => Recipient::Bsuid(to.to_string()),
            Some(to) => match wa_id(to) {
                Some(digits) => Recipient::WaId(digits),
                None => {
                    return Err(MetaError::with_details(
                        131009,
                        format!("Parameter to is invalid: '{to}' is not a phone number"),
                    ));
                }
            },
            None => Recipient::Bsuid(
                obj.get("recipient").and_then(Value::as_str).unwrap_or_default().to_string(),
            ),
        };
        Shape::Message { message_type, to }
    };
    Ok(Outbound { payload: Some(payload), shape })
}

/// The recipient's digits of a valid plain text message — the busiest message — read straight
/// into its members, without a `Value` tree. It takes what [`plain_text_valid`] takes, with a
/// recipient of 5 to 15 digits; anything else (a null, a duplicate or unknown member, …) is None
/// and goes the general way.
fn plain_text(bytes: &[u8]) -> Option<String> {
    use std::borrow::Cow;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PlainText<'a> {
        #[serde(borrow)]
        messaging_product: Cow<'a, str>,
        #[serde(borrow)]
        to: Cow<'a, str>,
        #[serde(borrow)]
        text: Body<'a>,
        #[serde(rename = "type", default, borrow, deserialize_with = "present")]
        kind: Option<Cow<'a, str>>,
        #[serde(default, borrow, deserialize_with = "present")]
        recipient_type: Option<Cow<'a, str>>,
        #[serde(default, borrow, deserialize_with = "present")]
        biz_opaque_callback_data: Option<Cow<'a, str>>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body<'a> {
        #[serde(borrow)]
        body: Cow<'a, str>,
        #[serde(default, deserialize_with = "present")]
        #[allow(dead_code)]
        preview_url: Option<bool>,
    }
    /// A member that, when present, is not null.
    fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        T::deserialize(d).map(Some)
    }

    let m: PlainText = serde_json::from_slice(bytes).ok()?;
    let valid = m.messaging_product == "whatsapp"
        && within(&m.to, 1, 30)
        && is_phone_number(&m.to)
        && within(&m.text.body, 1, 4096)
        && m.kind.as_ref().is_none_or(|t| t == "text")
        && m.recipient_type.as_ref().is_none_or(|r| r == "individual")
        && m.biz_opaque_callback_data.as_ref().is_none_or(|d| within(d, 0, 512));
    wa_id(&m.to).filter(|_| valid)
}

/// The customer's WhatsApp id: the digits of `to`, if there are 5 to 15.
fn wa_id(to: &str) -> Option<String> {
    let digits: String = to.chars().filter(char::is_ascii_digit).collect();
    (5..=15).contains(&digits.len()).then_some(digits)
}

/// Whether `s` has `min` to `max` characters (JSON Schema lengths count characters).
fn within(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.chars().count())
}

/// Whether `obj` is a text message the schema accepts, checked directly (the most common
/// message, and the hot path). False only means "not known valid here": the schema decides then,
/// and names what is wrong. Members outside the plain text message's always take the schema.
fn plain_text_valid(obj: &Map<String, Value>) -> bool {
    let mut has = (false, false, false);
    for (key, value) in obj {
        let ok = match key.as_str() {
            "messaging_product" => {
                has.0 = true;
                value == "whatsapp"
            }
            "to" => {
                has.1 = true;
                value.as_str().is_some_and(|to| within(to, 1, 30) && is_phone_number(to))
            }
            "text" => {
                has.2 = true;
                value.as_object().is_some_and(|text| {
                    text.iter().all(|(key, value)| match key.as_str() {
                        "body" => value.as_str().is_some_and(|b| within(b, 1, 4096)),
                        "preview_url" => value.is_boolean(),
                        _ => false,
                    }) && text.contains_key("body")
                })
            }
            "type" => value == "text",
            "recipient_type" => value == "individual",
            "biz_opaque_callback_data" => value.as_str().is_some_and(|d| within(d, 0, 512)),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    has == (true, true, true)
}

/// `^\+?[0-9][0-9 ()-]*$`, the schema's pattern of `to`.
fn is_phone_number(to: &str) -> bool {
    let digits = to.strip_prefix('+').unwrap_or(to);
    digits.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'(' | b')' | b'-'))
}

/// `/interactive/action/buttons/0` → `interactive.action.buttons[0]`.
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.trim_start_matches('/').split('/') {
        if part.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part.replace("~1", "/").replace("~0", "~"));
        }
    }
    out
}

/// Meta's rules across fields.
fn check_rules(obj: &Map<String, Value>) -> Result<(), MetaError> {
    // Groups (Meta's Groups API) are not emulated: a group is addressed by its group id, and a
    // phone number is not one.
    if obj.get("recipient_type").and_then(Value::as_str) == Some("group") {
        return Err(MetaError::with_details(
            131009,
            "Parameter recipient_type is invalid: group messages need a group id in to, and groups are not emulated; use individual",
        ));
    }
    // Audio and sticker messages have no caption: Meta answers `(#100) Unexpected key "caption"
    // on param "audio".`
    for kind in ["audio", "sticker"] {
        if obj.get(kind).is_some_and(|m| m.get("caption").is_some()) {
            return Err(MetaError::with_details(
                100,
                format!("Unexpected key \"caption\" on param \"{kind}\"."),
            ));
        }
    }
    let Some(interactive) = obj.get("interactive") else { return Ok(()) };
    let action = &interactive["action"];
    match interactive["type"].as_str() {
        Some("button") => {
            let mut titles = HashSet::new();
            let mut ids = HashSet::new();
            for b in action["buttons"].as_array().into_iter().flatten() {
                let title = b["reply"]["title"].as_str().unwrap_or_default();
                if !titles.insert(title.to_string()) {
                    return Err(MetaError::with_details(
                        131009,
                        format!(
                            "Parameter interactive.action.buttons is invalid: button titles must be unique, '{title}' repeats"
                        ),
                    ));
                }
                let id = b["reply"]["id"].as_str().unwrap_or_default();
                if !ids.insert(id.to_string()) {
                    return Err(MetaError::with_details(
                        131009,
                        format!(
                            "Parameter interactive.action.buttons is invalid: button ids must be unique, '{id}' repeats"
                        ),
                    ));
                }
            }
        }
        Some("list") => {
            let mut rows = 0;
            let mut ids = HashSet::new();
            for section in action["sections"].as_array().into_iter().flatten() {
                for row in section["rows"].as_array().into_iter().flatten() {
                    rows += 1;
                    let id = row["id"].as_str().unwrap_or_default();
                    if !ids.insert(id.to_string()) {
                        return Err(MetaError::with_details(
                            131009,
                            format!(
                                "Parameter interactive.action.sections is invalid: row ids must be unique, '{id}' repeats"
                            ),
                        ));
                    }
                }
            }
            if rows > 10 {
                return Err(MetaError::with_details(
                    131009,
                    format!(
                        "Parameter interactive.action.sections is invalid: a list has at most 10 rows in total, this one has {rows}"
                    ),
                ));
            }
            let sections = action["sections"].as_array().map(Vec::len).unwrap_or(0);
            if sections > 1
                && action["sections"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|s| s.get("title").is_none())
            {
                return Err(MetaError::with_details(
                    131008,
                    "The parameter interactive.action.sections[].title is required when there is more than one section.",
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(v: Value) -> Result<Outbound, MetaError> {
        parse(v.to_string().as_bytes())
    }

    #[test]
    fn a_text_message_is_valid_and_to_is_normalised() {
        let out = run(json!({"messaging_product":"whatsapp","to":"+1 (555) 013-1026","type":"text","text":{"body":"hi"}})).unwrap();
        assert_eq!(
            out.shape,
            Shape::Message { message_type: "text", to: Recipient::WaId("15550131026".into()) }
        );
    }

    #[test]
    fn type_defaults_to_text() {
        assert!(
            run(json!({"messaging_product":"whatsapp","to":"15551234567","text":{"body":"hi"}}))
                .is_ok()
        );
        let e = run(json!({"messaging_product":"whatsapp","to":"15551234567"})).unwrap_err();
        assert_eq!(e.code, 131008, "{e:?}");
    }

    #[test]
    fn mark_as_read() {
        let out =
            run(json!({"messaging_product":"whatsapp","status":"read","message_id":"wamid.X"}))
                .unwrap();
        assert_eq!(out.shape, Shape::MarkRead { message_id: "wamid.X".into() });
    }

    #[test]
    fn limits_and_rules() {
        let long = "x".repeat(4097);
        let e = run(json!({"messaging_product":"whatsapp","to":"15551234567","type":"text","text":{"body":long}})).unwrap_err();
        assert_eq!(e.code, 131009);
        assert!(e.details.contains("text.body"), "{}", e.details);
        let e = run(json!({"messaging_product":"whatsapp","to":"15551234567","type":"sms"}))
            .unwrap_err();
        assert_eq!(e.code, 131051);
        let e = parse(b"not json").unwrap_err();
        assert_eq!(e.code, 100);
    }

    /// Members of a plain text message, right and wrong: the fast check never accepts what the
    /// schema refuses, and accepts every valid plain text message.
    #[test]
    fn the_plain_text_check_agrees_with_the_schema() {
        let long = |n: usize| Value::from("é".repeat(n));
        let candidates: Vec<(&str, Vec<Value>)> = vec![
            ("messaging_product", vec![json!("whatsapp"), json!("WhatsApp"), json!(1)]),
            (
                "to",
                vec![
                    json!("15551234567"),
                    json!("+1 (555) 013-1026"),
                    json!("+"),
                    json!(""),
                    json!("(555)"),
                    json!("1".repeat(30)),
                    json!("1".repeat(31)),
                    json!("15551234567x"),
                    json!(15551234567u64),
                ],
            ),
            ("type", vec![json!("text"), json!("image"), json!(null)]),
            (
                "text",
                vec![
                    json!({"body": "hi"}),
                    json!({"body": "hi", "preview_url": true}),
                    json!({"body": "hi", "preview_url": "yes"}),
                    json!({"body": "hi", "preview_url": null}),
                    json!({"body": ""}),
                    json!({"body": long(4096)}),
                    json!({"body": long(4097)}),
                    json!({"preview_url": false}),
                    json!({"body": "hi", "extra": 1}),
                    json!("hi"),
                ],
            ),
            (
                "recipient_type",
                vec![json!("individual"), json!("group"), json!("person"), json!(null)],
            ),
            (
                "biz_opaque_callback_data",
                vec![json!("ref-1"), long(512), long(513), json!(7), json!(null)],
            ),
            ("context", vec![json!({"message_id": "wamid.X"})]),
        ];
        let mut agreed = 0;
        // Every subset of the members (taking each one's values in turn) — 2^7 shapes.
        for mask in 0u32..(1 << candidates.len()) {
            let chosen: Vec<_> =
                candidates.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).collect();
            let variants = chosen.iter().map(|(_, (_, v))| v.len()).max().unwrap_or(1);
            for k in 0..variants {
                let mut obj = Map::new();
                for (_, (key, values)) in &chosen {
                    obj.insert((*key).to_string(), values[k % values.len()].clone());
                }
                let fast = plain_text_valid(&obj);
                let schema = validator().is_valid(&Value::Object(obj.clone()));
                // The typed read takes exactly what the check takes (recipients of 5 to 15
                // digits), and reads the same recipient as the general way.
                let bytes = Value::Object(obj.clone()).to_string();
                let typed = plain_text(bytes.as_bytes());
                let to_digits = obj
                    .get("to")
                    .and_then(Value::as_str)
                    .map(|to| to.chars().filter(char::is_ascii_digit).collect::<String>());
                let digits_ok = to_digits.as_ref().is_some_and(|d| (5..=15).contains(&d.len()));
                assert_eq!(typed.is_some(), fast && digits_ok, "{obj:?}");
                if typed.is_some() {
                    assert_eq!(typed, to_digits, "{obj:?}");
                }
                let context = obj.contains_key("context");
                assert!(!fast || schema, "fast path accepted what the schema refuses: {obj:?}");
                if schema && !context && obj.contains_key("text") && obj.contains_key("to") {
                    assert!(fast, "a valid plain text message missed the fast path: {obj:?}");
                }
                agreed += 1;
            }
        }
        assert!(agreed > 500, "{agreed}");
    }

    #[test]
    fn paths_are_dotted() {
        assert_eq!(
            dotted("/interactive/action/buttons/0/reply"),
            "interactive.action.buttons[0].reply"
        );
    }
}
