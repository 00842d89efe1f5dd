//! Meta's calling webhooks (field `calls`) for a call that changed state, whoever changed it:
//! - `connect` when the customer calls in (with their SDP offer), and when the customer answers a
//!   business-initiated call (with their SDP answer);
//! - call statuses of business-initiated calls: `RINGING`, `ACCEPTED`, `REJECTED`;
//! - `terminate` when a call ends: `COMPLETED` (with `start_time`, `end_time`, `duration`) for a
//!   call that connected, `FAILED` for one that never did.
//!
//! The drafts are built under the partition lock and published after it is released.

use serde_json::{Value, json};

use super::effects::EventDraft;
use crate::state::calling::{
    BUSINESS_INITIATED, CANCELED, COMPLETED, Call, NO_ANSWER, ONGOING, PhoneCalling, REJECTED,
    RINGING, USER_INITIATED,
};
use crate::state::{Partition, PhoneNumber, Waba};

/// The event kind of every calling webhook in the event log.
pub const KIND: &str = "call";
/// Meta's webhook field of calling webhooks.
pub const FIELD: &str = "calls";
/// The customer's profile name when the control API is not given one.
pub const DEFAULT_PROFILE_NAME: &str = "Customer";

/// A minimal SDP offer, for a customer who calls in without one.
pub const DEFAULT_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=setup:actpass\r\n";
/// A minimal SDP answer, for a customer who answers without one.
pub const DEFAULT_ANSWER: &str = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=setup:active\r\n";

/// The business number a call belongs to and where its WABA's events go, copied under the lock.
#[derive(Debug, Clone)]
pub struct CallOrigin {
    pub account: String,
    pub region: String,
    /// The number's identities (its `display_digits` are what `from`/`to` carry).
    pub ids: std::sync::Arc<crate::meta::Origin>,
    pub destination: Option<String>,
    /// The parent business of the number's portfolio, where parent BSUIDs are enabled.
    pub parent_business: Option<String>,
}

impl CallOrigin {
    pub fn new(p: &Partition, waba: &Waba, phone: &PhoneNumber) -> Self {
        let ids = phone.origin(waba);
        let parent_business = p
            .meta
            .portfolios
            .lock()
            .get(&ids.portfolio_id)
            .and_then(|f| f.parent_business_id.clone());
        CallOrigin {
            account: p.account.clone(),
            region: p.region.clone(),
            ids,
            destination: waba.event_destinations.first().map(|d| d.event_destination_arn.clone()),
            parent_business,
        }
    }

    /// The origin of the business number with hex id `phone_hex`.
    pub fn of(p: &Partition, phone_hex: &str) -> Option<Self> {
        p.wabas.values().find_map(|w| {
            w.phone_numbers.iter().find(|n| n.hex == phone_hex).map(|n| Self::new(p, w, n))
        })
    }
}

/// The webhooks the last change of call `call_id` fires, in the order Meta sends them. `sdp` is
/// the session description the change carried (the customer's offer or answer), when it has one.
pub fn webhooks(
    origin: &CallOrigin,
    users: &crate::meta::bsuid::Users,
    calling: &PhoneCalling,
    call_id: &str,
    sdp: Option<&str>,
    now_ms: i64,
) -> Vec<EventDraft> {
    let Some(call) = calling.calls.get(call_id) else { return Vec::new() };
    let Some(last) = call.events.last() else { return Vec::new() };
    let business_initiated = call.direction == BUSINESS_INITIATED;
    let hook = Hook { origin, users, calling, call, now_ms };
    let mut out = Vec::new();
    match call.status.as_str() {
        RINGING if last.action == "connect" => {
            if business_initiated {
                out.push(hook.status(RINGING));
            } else {
                out.push(hook.connect("offer", sdp.unwrap_or(DEFAULT_OFFER)));
            }
        }
        // The customer answered the business: Meta sends the answer, then ACCEPTED for the record.
        ONGOING if business_initiated => {
            out.push(hook.connect("answer", sdp.unwrap_or(DEFAULT_ANSWER)));
            out.push(hook.status("ACCEPTED"));
        }
        REJECTED => {
            if business_initiated {
                out.push(hook.status(REJECTED));
            }
            out.push(hook.terminate());
        }
        COMPLETED | CANCELED | NO_ANSWER => out.push(hook.terminate()),
        // pre_accept and accept of a call the customer placed: the business knows already.
        _ => {}
    }
    out
}

struct Hook<'a> {
    origin: &'a CallOrigin,
    users: &'a crate::meta::bsuid::Users,
    calling: &'a PhoneCalling,
    call: &'a Call,
    now_ms: i64,
}

impl Hook<'_> {
    fn customer_digits(&self) -> String {
        self.call.customer.chars().filter(char::is_ascii_digit).collect()
    }

    /// (`from`, `to`): caller first.
    fn parties(&self) -> (String, String) {
        let (business, customer) = (self.origin.ids.display_digits.clone(), self.customer_digits());
        if self.call.direction == USER_INITIATED {
            (customer, business)
        } else {
            (business, customer)
        }
    }

    fn timestamp(&self) -> String {
        (self.now_ms / 1000).to_string()
    }

    fn contacts(&self) -> Value {
        let name =
            self.call.profile_name.clone().unwrap_or_else(|| DEFAULT_PROFILE_NAME.to_string());
        let mut contact = json!({ "profile": { "name": name }, "wa_id": self.customer_digits() });
        // The customer's business-scoped user ID: the one the call permission linked, else the
        // one their number has in this portfolio, assigned or derived (Meta, "Business-scoped
        // user IDs").
        let linked = self.calling.customers.get(&self.call.customer).and_then(|c| c.bsuid.clone());
        let digits = self.customer_digits();
        let portfolio = &self.origin.ids.portfolio_id;
        let bsuid = linked.or_else(|| {
            (!digits.is_empty() && !portfolio.is_empty())
                .then(|| self.users.bsuid(portfolio, &digits))
        });
        if let Some(bsuid) = bsuid {
            contact["user_id"] = json!(bsuid);
        }
        if let Some(parent) = self.origin.parent_business.as_deref().filter(|_| !digits.is_empty())
        {
            contact["parent_user_id"] = json!(crate::meta::bsuid::derive_parent(parent, &digits));
        }
        if let Some(username) = self.users.username(&digits) {
            contact["profile"]["username"] = json!(username);
        }
        json!([contact])
    }

    fn call_object(&self, event: &str) -> Value {
        let (from, to) = self.parties();
        let mut call = json!({
            "id": self.call.call_id,
            "from": from,
            "to": to,
            "event": event,
            "timestamp": self.timestamp(),
            "direction": self.call.direction,
        });
        if let Some(data) = &self.call.biz_opaque_callback_data {
            call["biz_opaque_callback_data"] = json!(data);
        }
        call
    }

    fn connect(&self, sdp_type: &str, sdp: &str) -> EventDraft {
        let mut call = self.call_object("connect");
        call["session"] = json!({ "sdp_type": sdp_type, "sdp": sdp });
        self.draft("connect", json!({ "contacts": self.contacts(), "calls": [call] }))
    }

    fn terminate(&self) -> EventDraft {
        let mut call = self.call_object("terminate");
        match (self.call.connected_at, self.call.ended_at) {
            (Some(start), Some(end)) => {
                let (start, end) = (start.floor() as i64, end.floor() as i64);
                call["status"] = json!("COMPLETED");
                call["start_time"] = json!(start.to_string());
                call["end_time"] = json!(end.to_string());
                call["duration"] = json!((end - start).max(0));
            }
            _ => call["status"] = json!("FAILED"),
        }
        self.draft("terminate", json!({ "contacts": self.contacts(), "calls": [call] }))
    }

    fn status(&self, status: &str) -> EventDraft {
        let mut entry = json!({
            "id": self.call.call_id,
            "timestamp": self.timestamp(),
            "type": "call",
            "status": status,
            "recipient_id": self.customer_digits(),
        });
        if let Some(data) = &self.call.biz_opaque_callback_data {
            entry["biz_opaque_callback_data"] = json!(data);
        }
        self.draft(status, json!({ "statuses": [entry] }))
    }

    /// An event draft around `body` (`calls` or `statuses`, with `contacts`).
    fn draft(&self, status: &str, body: Value) -> EventDraft {
        let o = self.origin;
        let mut value = json!({
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": o.ids.display_digits,
                "phone_number_id": o.ids.meta_phone_id,
            },
        });
        if let (Some(value), Value::Object(body)) = (value.as_object_mut(), body) {
            value.extend(body);
        }
        EventDraft {
            account: o.account.clone(),
            region: o.region.clone(),
            origin: o.ids.clone(),
            about_phone: true,
            field: FIELD.into(),
            kind: KIND.into(),
            status: Some(status.to_string().into()),
            message_id: None,
            wamid: Some(self.call.call_id.clone()),
            destination: o.destination.clone(),
            time_ms: self.now_ms,
            value: super::effects::EventValue::json(&value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::calling::{Actor, CallLogEvent};

    fn origin() -> CallOrigin {
        CallOrigin {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            ids: std::sync::Arc::new(crate::meta::Origin {
                waba_hex: "ab".into(),
                meta_waba_id: "390".into(),
                phone_hex: "cd".into(),
                meta_phone_id: "101".into(),
                display_digits: "15550001111".into(),
                portfolio_id: "777".into(),
            }),
            destination: None,
            parent_business: None,
        }
    }

    fn placed(direction: &str) -> PhoneCalling {
        let mut calling = PhoneCalling::default();
        calling.add_call(Call {
            call_id: "wacid.x".into(),
            phone_number_id: "phone-number-id-cd".into(),
            direction: direction.into(),
            customer: "+14255550123".into(),
            profile_name: None,
            status: RINGING.into(),
            biz_opaque_callback_data: Some("order-42".into()),
            started_at: 100.0,
            connected_at: None,
            ended_at: None,
            events: vec![CallLogEvent {
                at: 100.0,
                by: "business".into(),
                action: "connect".into(),
                status: RINGING.into(),
                sdp_bytes: None,
            }],
        });
        calling
    }

    fn statuses(drafts: &[EventDraft]) -> Vec<&str> {
        drafts.iter().map(|d| d.status.as_deref().unwrap_or_default()).collect()
    }

    #[test]
    fn a_business_call_rings_connects_and_completes() {
        let mut calling = placed(BUSINESS_INITIATED);
        let o = origin();
        let ring = webhooks(&o, &Default::default(), &calling, "wacid.x", None, 100_000);
        assert_eq!(statuses(&ring), ["RINGING"]);
        assert_eq!(ring[0].value.to_value()["statuses"][0]["recipient_id"], "14255550123");
        assert_eq!(ring[0].value.to_value()["statuses"][0]["biz_opaque_callback_data"], "order-42");

        calling.apply("wacid.x", Actor::Customer, "accept", ONGOING, 102.5, None);
        let accepted = webhooks(&o, &Default::default(), &calling, "wacid.x", None, 102_500);
        assert_eq!(statuses(&accepted), ["connect", "ACCEPTED"]);
        let connect = accepted[0].value.to_value()["calls"][0].clone();
        assert_eq!(
            (connect["from"].as_str(), connect["to"].as_str()),
            (Some("15550001111"), Some("14255550123"))
        );
        assert_eq!(connect["session"]["sdp_type"], "answer");

        calling.apply("wacid.x", Actor::Business, "terminate", COMPLETED, 165.9, None);
        let ended = webhooks(&o, &Default::default(), &calling, "wacid.x", None, 165_900);
        let terminate = ended[0].value.to_value()["calls"][0].clone();
        assert_eq!(terminate["status"], "COMPLETED");
        assert_eq!(
            (terminate["start_time"].as_str(), terminate["end_time"].as_str()),
            (Some("102"), Some("165"))
        );
        assert_eq!(terminate["duration"], 63);
        assert_eq!(ended[0].wamid.as_deref(), Some("wacid.x"));
        assert!(ended[0].message_id.is_none());
    }

    #[test]
    fn calls_that_never_connect_fail() {
        let o = origin();
        let mut calling = placed(BUSINESS_INITIATED);
        calling.apply("wacid.x", Actor::Customer, "reject", REJECTED, 101.0, None);
        let drafts = webhooks(&o, &Default::default(), &calling, "wacid.x", None, 101_000);
        assert_eq!(statuses(&drafts), ["REJECTED", "terminate"]);
        let terminate = drafts[1].value.to_value()["calls"][0].clone();
        assert_eq!(terminate["status"], "FAILED");
        assert!(terminate.get("duration").is_none());

        let mut calling = placed(USER_INITIATED);
        let connect = webhooks(&o, &Default::default(), &calling, "wacid.x", Some("v=0"), 100_000);
        assert_eq!(connect[0].value.to_value()["calls"][0]["from"], "14255550123");
        assert_eq!(connect[0].value.to_value()["calls"][0]["session"]["sdp"], "v=0");
        assert_eq!(
            connect[0].value.to_value()["contacts"][0]["profile"]["name"],
            DEFAULT_PROFILE_NAME
        );
        calling.apply("wacid.x", Actor::Business, "pre_accept", "PRE_ACCEPTED", 101.0, None);
        assert!(webhooks(&o, &Default::default(), &calling, "wacid.x", None, 101_000).is_empty());
        calling.apply("wacid.x", Actor::Business, "reject", REJECTED, 102.0, None);
        assert_eq!(
            statuses(&webhooks(&o, &Default::default(), &calling, "wacid.x", None, 102_000)),
            ["terminate"]
        );
    }
}
