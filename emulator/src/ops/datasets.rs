//! Conversions datasets and events: CreateWhatsAppDataset and SendWhatsAppConversionEvent.
//!
//! A WABA has at most one dataset (creating it again answers the same id). An event is Meta's
//! Conversions API for Business Messaging payload, `{"data": [event, …]}`; each event must name
//! the event, its time, `action_source: business_messaging`, `messaging_channel: whatsapp` and a
//! user the click-to-WhatsApp ad reached (`ctwa_clid`, or the WABA's Meta id).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use super::meta_error;
use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::model::validate::Input;
use crate::state::datasets::ConversionEvent;
use crate::state::ids;

/// Meta takes at most 1000 events in one request.
const MAX_EVENTS: usize = 1000;
/// An event may be up to 7 days old, and not from the future (a minute of clock skew allowed).
const MAX_EVENT_AGE_SECS: f64 = 7.0 * 86_400.0;
const MAX_FUTURE_SECS: f64 = 60.0;

pub fn create_whatsapp_dataset(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    state.store.with(ctx, |p| {
        let w = p.waba_mut(ctx, id)?;
        let dataset = w.dataset_id.get_or_insert_with(|| state.ids.meta_id(16)).clone();
        Ok(json!({ "datasetId": dataset }))
    })
}

pub fn send_whatsapp_conversion_event(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let dataset_id = input.req_str("datasetId")?;
    let bytes = input.blobs.get("eventData").cloned().unwrap_or_default();
    let now = state.clock.now_secs();
    state.store.with(ctx, |p| {
        let w = p.waba(ctx, id)?;
        if w.dataset_id.as_deref() != Some(dataset_id) {
            let hint = match &w.dataset_id {
                Some(own) => format!("its dataset is {own}"),
                None => "it has none yet; create it with CreateWhatsAppDataset".into(),
            };
            return Err(ApiError::not_found(format!(
                "Dataset {dataset_id} is not a dataset of WhatsApp Business Account {id} ({hint})"
            )));
        }
        let events = check_event_data(&bytes, &w.meta_waba_id, now)?;
        let waba_id = ids::waba_id(&w.hex);
        let request_id = fbtrace_id(&state.ids);
        for event in events {
            p.conversion_events.push(ConversionEvent {
                request_id: request_id.clone(),
                waba_id: waba_id.clone(),
                dataset_id: dataset_id.to_string(),
                received_at: now,
                event,
            });
        }
        Ok(json!({ "requestId": request_id }))
    })
}

/// Meta's trace id form (`A` + 22 URL-safe characters), which AWS answers as `requestId`.
fn fbtrace_id(ids: &crate::state::ids::IdGen) -> String {
    let bytes = ids.bytes();
    let text = URL_SAFE_NO_PAD.encode(bytes);
    format!("A{}", &text[..22])
}

/// Validates the decoded `eventData`; returns its events.
fn check_event_data(bytes: &[u8], meta_waba_id: &str, now: f64) -> ApiResult<Vec<Value>> {
    let bad = |detail: String| Err(meta_error(100, "Invalid parameter", detail));
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(doc) => doc,
        Err(e) => return bad(format!("eventData is not valid JSON: {e}")),
    };
    let Some(root) = doc.as_object() else {
        return bad("eventData must be a JSON object with a \"data\" array of events".into());
    };
    let events = match root.get("data") {
        Some(Value::Array(events)) if !events.is_empty() => events,
        Some(Value::Array(_)) => return bad("eventData.data must hold at least one event".into()),
        Some(_) => return bad("eventData.data must be an array of events".into()),
        None => return bad("eventData.data is required: an array of events".into()),
    };
    if events.len() > MAX_EVENTS {
        return bad(format!(
            "eventData.data holds {} events; at most {MAX_EVENTS} are accepted in one request",
            events.len()
        ));
    }
    if let Some(agent) = root.get("partner_agent")
        && !agent.is_string()
    {
        return bad("eventData.partner_agent must be a string".into());
    }
    for (i, event) in events.iter().enumerate() {
        if let Err(detail) = check_event(event, meta_waba_id, now) {
            return bad(format!("eventData.data[{i}]: {detail}"));
        }
    }
    Ok(events.clone())
}

fn check_event(event: &Value, meta_waba_id: &str, now: f64) -> Result<(), String> {
    let Some(e) = event.as_object() else {
        return Err("an event must be a JSON object".into());
    };
    let text = |key: &str| e.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let name = text("event_name").ok_or("event_name is required (e.g. Purchase, LeadSubmitted)")?;
    let time = e
        .get("event_time")
        .and_then(Value::as_f64)
        .ok_or("event_time is required: the Unix time of the event in seconds")?;
    if time > now + MAX_FUTURE_SECS {
        return Err(format!("event_time {time} is in the future"));
    }
    if time < now - MAX_EVENT_AGE_SECS {
        return Err(format!(
            "event_time {time} is more than 7 days old; Meta accepts events of the last 7 days"
        ));
    }
    match text("action_source") {
        Some("business_messaging") => {}
        Some(other) => {
            return Err(format!("action_source must be business_messaging, not {other}"));
        }
        None => return Err("action_source is required and must be business_messaging".into()),
    }
    match text("messaging_channel") {
        Some("whatsapp") => {}
        Some(other) => return Err(format!("messaging_channel must be whatsapp, not {other}")),
        None => return Err("messaging_channel is required and must be whatsapp".into()),
    }
    let user = e
        .get("user_data")
        .and_then(Value::as_object)
        .ok_or("user_data is required: an object with ctwa_clid or whatsapp_business_account_id")?;
    check_user_data(user, meta_waba_id)?;
    match e.get("custom_data") {
        None => {}
        Some(Value::Object(custom)) => check_custom_data(custom, name)?,
        Some(_) => return Err("custom_data must be an object".into()),
    }
    Ok(())
}

fn check_user_data(user: &Map<String, Value>, meta_waba_id: &str) -> Result<(), String> {
    let clid = user.get("ctwa_clid");
    if clid.is_some_and(|c| c.as_str().is_none_or(str::is_empty)) {
        return Err("user_data.ctwa_clid must be a non-empty string".into());
    }
    let waba = match user.get("whatsapp_business_account_id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err("user_data.whatsapp_business_account_id must be a string".into()),
    };
    if let Some(waba) = &waba
        && waba != meta_waba_id
    {
        return Err(format!(
            "user_data.whatsapp_business_account_id {waba} is not this WABA's Meta id \
             ({meta_waba_id})"
        ));
    }
    if clid.is_none() && waba.is_none() {
        return Err("user_data needs ctwa_clid (the click-to-WhatsApp click id of the inbound \
                    message's referral) or whatsapp_business_account_id"
            .into());
    }
    Ok(())
}

fn check_custom_data(custom: &Map<String, Value>, event_name: &str) -> Result<(), String> {
    if let Some(currency) = custom.get("currency") {
        let ok = currency
            .as_str()
            .is_some_and(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()));
        if !ok {
            return Err("custom_data.currency must be an ISO 4217 code such as USD".into());
        }
    }
    if let Some(value) = custom.get("value")
        && !value.as_f64().is_some_and(|v| v >= 0.0)
    {
        return Err("custom_data.value must be a number of at least 0".into());
    }
    if event_name == "Purchase"
        && !(custom.contains_key("currency") && custom.contains_key("value"))
    {
        return Err("a Purchase event needs custom_data.currency and custom_data.value".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(extra: Value) -> Value {
        let mut e = json!({
            "event_name": "Purchase",
            "event_time": 1_000_000,
            "action_source": "business_messaging",
            "messaging_channel": "whatsapp",
            "user_data": { "ctwa_clid": "ARAkLkA8rmlFeiCk" },
            "custom_data": { "currency": "USD", "value": 142.52 },
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                e.as_object_mut().unwrap().remove(k);
            } else {
                e[k] = v.clone();
            }
        }
        e
    }

    fn check(e: Value) -> Result<(), String> {
        check_event(&e, "1347766229904230", 1_000_100.0)
    }

    #[test]
    fn meta_rules_for_events() {
        assert_eq!(check(event(json!({}))), Ok(()));
        assert!(
            check(event(json!({"action_source": "website"})))
                .unwrap_err()
                .contains("business_messaging")
        );
        assert!(check(event(json!({"messaging_channel": "messenger"}))).is_err());
        assert!(check(event(json!({"event_time": 2_000_000}))).unwrap_err().contains("future"));
        assert!(check(event(json!({"event_time": 1}))).unwrap_err().contains("7 days"));
        assert!(
            check(event(json!({"custom_data": {"value": 1}}))).unwrap_err().contains("Purchase")
        );
        assert!(check(event(json!({"user_data": {}}))).unwrap_err().contains("ctwa_clid"));
        assert!(
            check(event(json!({"user_data": {"whatsapp_business_account_id": "1"}})))
                .unwrap_err()
                .contains("not this WABA")
        );
        assert_eq!(
            check(event(
                json!({"user_data": {"whatsapp_business_account_id": 1347766229904230u64}})
            )),
            Ok(())
        );
    }

    #[test]
    fn trace_ids_look_like_meta_ones() {
        let id = fbtrace_id(&crate::state::ids::IdGen::random());
        assert_eq!(id.len(), 23);
        assert!(id.starts_with('A'));
    }
}
