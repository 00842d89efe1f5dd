//! What the WhatsApp side's transitions hand back to the layers above: events to publish (their
//! drafts; the event bus, `events`, builds the envelopes and delivers them) and timers to set.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::Origin;
use crate::json::RawJson;

/// What a producer knows about an event; the event bus (`events::publish`) fills in the rest.
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub account: String,
    pub region: String,
    /// The WABA the event is about, and the number for phone-level events (WABA-level events
    /// leave its phone fields empty).
    pub origin: Arc<Origin>,
    /// Whether the event is about the number (`phone_number_id`, `metaPhoneNumberIds`).
    pub about_phone: bool,
    pub field: Cow<'static, str>,
    pub kind: Cow<'static, str>,
    pub status: Option<Cow<'static, str>>,
    pub message_id: Option<String>,
    pub wamid: Option<String>,
    pub destination: Option<String>,
    pub time_ms: i64,
    /// The `value` of the single change in the Meta entry.
    pub value: EventValue,
}

/// The `value` of an event's Meta change: JSON, or the facts of a status (serialized when the
/// envelope is built).
#[derive(Debug, Clone)]
pub enum EventValue {
    Json(RawJson),
    Status(Box<crate::meta::outbound::StatusFacts>),
}

impl EventValue {
    pub fn json<T: Serialize + ?Sized>(value: &T) -> EventValue {
        EventValue::Json(RawJson::of(value))
    }

    /// The value as a `Value`.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for EventValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            EventValue::Json(json) => json.serialize(serializer),
            EventValue::Status(facts) => facts.serialize(serializer),
        }
    }
}

/// What a WABA-level event needs of its WABA (cheap to take under the partition's lock).
#[derive(Debug, Clone)]
pub struct WabaOf {
    pub hex: String,
    pub meta_waba_id: String,
    pub destination: Option<String>,
}

impl WabaOf {
    pub fn of(waba: &crate::state::Waba) -> WabaOf {
        WabaOf {
            hex: waba.hex.clone(),
            meta_waba_id: waba.meta_waba_id.clone(),
            destination: waba.event_destinations.first().map(|d| d.event_destination_arn.clone()),
        }
    }
}

impl EventDraft {
    /// A WABA-level webhook (`field`: `message_template_status_update`, `flows`, …) at `time_ms`.
    pub fn about_waba(
        account: &str,
        region: &str,
        waba: &WabaOf,
        field: &'static str,
        value: &Value,
        time_ms: i64,
    ) -> EventDraft {
        EventDraft {
            account: account.to_string(),
            region: region.to_string(),
            origin: Arc::new(Origin {
                waba_hex: waba.hex.clone(),
                meta_waba_id: waba.meta_waba_id.clone(),
                ..Default::default()
            }),
            about_phone: false,
            field: field.into(),
            kind: field.into(),
            status: None,
            message_id: None,
            wamid: None,
            destination: waba.destination.clone(),
            time_ms,
            value: EventValue::json(value),
        }
    }
}
