//! WhatsApp calling: GetWhatsAppCallPermission and SendWhatsAppCallEvent.
//!
//! A business number calls a customer only with the customer's permission (temporary for 7
//! days, or permanent), within Meta's limits; each call follows Meta's state machine and an
//! action that does not fit the call's state is a `ConflictException`. The customer's side
//! (granting permission, answering, placing a call) is driven through the control API.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::{epoch_json, meta_error};
use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::events::EventDraft;
use crate::meta::calls::{self, CallOrigin};
use crate::model::validate::Input;
use crate::state::calling::{
    Actor, BUSINESS_INITIATED, Call, CallCustomer, CallLogEvent, CallingLimits, Limit,
    NO_PERMISSION, PhoneCalling, RINGING, TEMPORARY,
};
use crate::state::{PhoneNumber, ids};

/// `biz_opaque_callback_data` is at most 512 characters.
const MAX_CALLBACK_DATA: usize = 512;

pub fn get_whatsapp_call_permission(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let phone_id = input.req_str("originationPhoneNumberId")?;
    let (number, bsuid) = (input.str("destinationPhoneNumber"), input.str("endUserBsuid"));
    if number.is_some() == bsuid.is_some() {
        return Err(ApiError::invalid_parameters(
            "Specify exactly one of destinationPhoneNumber or endUserBsuid to identify the \
             WhatsApp user",
        ));
    }
    let now = state.clock.now_secs();
    state.store.read(ctx, |p| {
        let (_, phone) = p.phone(ctx, phone_id)?;
        let key = phone.calling.customer_key(number, bsuid);
        Ok(permission_json(&phone.calling.customer(&key), &phone.calling.limits, now))
    })
}

/// `{permission, actions}` for a customer now.
pub fn permission_json(c: &CallCustomer, limits: &CallingLimits, now: f64) -> Value {
    let (requests, calls) = (limits.permission_requests(), limits.start_call());
    let status = c.status(now);
    let mut permission = json!({ "status": status });
    if status == TEMPORARY
        && let Some(end) = c.expires_at
    {
        permission["expirationTime"] = epoch_json(end.floor());
    }
    let may_request =
        status == NO_PERMISSION && CallCustomer::within(&requests, &c.permission_requests, now);
    let may_call = status != NO_PERMISSION && CallCustomer::within(&calls, &c.connected_calls, now);
    json!({
        "permission": permission,
        "actions": [
            {
                "actionName": "send_call_permission_request",
                "canPerformAction": may_request,
                "limits": limits_json(&requests, &c.permission_requests, now),
            },
            {
                "actionName": "start_call",
                "canPerformAction": may_call,
                "limits": limits_json(&calls, &c.connected_calls, now),
            },
        ]
    })
}

fn limits_json(limits: &[Limit], uses: &[f64], now: f64) -> Vec<Value> {
    limits
        .iter()
        .map(|l| {
            let (used, resets) = l.usage(uses, now);
            let mut v = json!({
                "timePeriod": l.time_period,
                "maxAllowed": l.max_allowed,
                "currentUsage": used,
            });
            // Meta gives the reset time only once the limit is reached.
            if used >= l.max_allowed
                && let Some(at) = resets
            {
                v["limitExpirationTime"] = epoch_json(at.ceil());
            }
            v
        })
        .collect()
}

/// A call event decoded from `callEvent` (Meta's calling API payload).
struct CallEvent {
    action: String,
    to: Option<String>,
    call_id: Option<String>,
    sdp: Option<String>,
    callback_data: Option<String>,
}

pub fn send_whatsapp_call_event(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let phone_id = input.req_str("originationPhoneNumberId")?;
    let bytes = input.blobs.get("callEvent").cloned().unwrap_or_default();
    let event = parse_call_event(&bytes)?;
    let now_ms = state.clock.now_ms();
    let now = now_ms as f64 / 1000.0;
    // The webhooks are built under the partition lock and published once it is released.
    let (call_id, drafts) = state.store.with(ctx, |p| -> ApiResult<(String, Vec<EventDraft>)> {
        let (waba, phone) = p.phone(ctx, phone_id)?;
        check_calling_enabled(phone)?;
        let origin = CallOrigin::new(p, waba, phone);
        let (phone, users) = p.phone_mut_with_users(ctx, phone_id)?;
        let phone_id = ids::phone_id(&phone.hex);
        let calling = &mut phone.calling;
        let call_id = if event.action == "connect" {
            connect(&state.ids, calling, &phone_id, event, now)?
        } else {
            let call_id = event.call_id.unwrap_or_default();
            let call = calling.calls.get_mut(&call_id).ok_or_else(|| {
                ApiError::not_found(format!(
                    "Call {call_id} does not exist for phone number {phone_id}"
                ))
            })?;
            let next = call
                .next_status(Actor::Business, &event.action)
                .map_err(|why| ApiError::new(ErrorKind::Conflict, why))?;
            if event.callback_data.is_some() {
                call.biz_opaque_callback_data = event.callback_data;
            }
            let sdp_bytes = event.sdp.as_ref().map(String::len);
            calling.apply(&call_id, Actor::Business, &event.action, next, now, sdp_bytes);
            call_id
        };
        let drafts = calls::webhooks(&origin, users, calling, &call_id, None, now_ms);
        Ok((call_id, drafts))
    })?;
    for draft in drafts {
        state.bus.publish(draft);
    }
    Ok(json!({ "callId": call_id }))
}

/// Meta 138000: the number must have calling enabled (UpdateLinkedWhatsAppBusinessAccountPhoneNumber).
pub fn check_calling_enabled(phone: &PhoneNumber) -> ApiResult<()> {
    let enabled = phone
        .call_settings
        .as_ref()
        .and_then(|s| s.get("callEnabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if enabled {
        Ok(())
    } else {
        Err(meta_error(
            138000,
            "Calling not enabled",
            format!(
                "calling is not enabled on phone number {}; set callSettings.callEnabled with \
                 UpdateLinkedWhatsAppBusinessAccountPhoneNumber",
                ids::phone_id(&phone.hex)
            ),
        ))
    }
}

/// A business-initiated call: needs the customer's permission and room in Meta's limit, and no
/// other live call with the same customer.
fn connect(
    ids: &crate::state::ids::IdGen,
    calling: &mut PhoneCalling,
    phone_id: &str,
    e: CallEvent,
    now: f64,
) -> ApiResult<String> {
    let customer_key = format!("+{}", e.to.unwrap_or_default());
    let customer = calling.customer(&customer_key);
    if customer.status(now) == NO_PERMISSION {
        return Err(meta_error(
            138006,
            "No approved call permission from the recipient",
            format!(
                "{customer_key} has not granted this business permission to call; send a call \
                 permission request first"
            ),
        ));
    }
    let calls = calling.limits.start_call();
    if !CallCustomer::within(&calls, &customer.connected_calls, now) {
        return Err(meta_error(
            138012,
            "Business initiated calls limit reached",
            format!(
                "{} connected calls to {customer_key} in the last 24 hours",
                calls[0].max_allowed
            ),
        ));
    }
    if let Some(live) = calling.live_call_with(&customer_key) {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            format!(
                "(#138003) Duplicate call: call {} with {customer_key} is still {}",
                live.call_id, live.status
            ),
        ));
    }
    let call_id = new_call_id(ids);
    calling.add_call(Call {
        call_id: call_id.clone(),
        phone_number_id: phone_id.to_string(),
        direction: BUSINESS_INITIATED.into(),
        customer: customer_key,
        profile_name: None,
        status: RINGING.into(),
        biz_opaque_callback_data: e.callback_data,
        started_at: now,
        connected_at: None,
        ended_at: None,
        events: vec![CallLogEvent {
            at: now,
            by: "business".into(),
            action: "connect".into(),
            status: RINGING.into(),
            sdp_bytes: e.sdp.as_ref().map(String::len),
        }],
    });
    Ok(call_id)
}

/// Meta's call ids: `wacid.` and a base64 token.
pub fn new_call_id(ids: &crate::state::ids::IdGen) -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(b"\x1c\x18\x0b");
    bytes.extend_from_slice(ids.uuid().simple().to_string().to_uppercase().as_bytes());
    format!("wacid.{}", STANDARD.encode(bytes))
}

/// Decodes and validates `callEvent` as Meta's calling API payload.
fn parse_call_event(bytes: &[u8]) -> ApiResult<CallEvent> {
    let bad = |detail: String| Err(meta_error(100, "Invalid parameter", detail));
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(doc) => doc,
        Err(e) => return bad(format!("callEvent is not valid JSON: {e}")),
    };
    let Some(obj) = doc.as_object() else {
        return bad("callEvent must be a JSON object".into());
    };
    match obj.get("messaging_product").and_then(Value::as_str) {
        Some("whatsapp") => {}
        Some(other) => return bad(format!("messaging_product must be whatsapp, not {other}")),
        None => return bad("The parameter messaging_product is required".into()),
    }
    let action = match obj.get("action").and_then(Value::as_str) {
        Some(a @ ("connect" | "pre_accept" | "accept" | "reject" | "terminate")) => a.to_string(),
        Some(other) => {
            return bad(format!(
                "action '{other}' is not one of connect, pre_accept, accept, reject, terminate"
            ));
        }
        None => return bad("The parameter action is required".into()),
    };
    let callback_data = match obj.get("biz_opaque_callback_data") {
        None => None,
        Some(Value::String(s)) if s.chars().count() <= MAX_CALLBACK_DATA => Some(s.clone()),
        Some(_) => {
            return bad(format!(
                "biz_opaque_callback_data must be a string of at most {MAX_CALLBACK_DATA} \
                 characters"
            ));
        }
    };
    let mut event = CallEvent { action, to: None, call_id: None, sdp: None, callback_data };
    match event.action.as_str() {
        "connect" => {
            if obj.contains_key("call_id") {
                return bad("connect starts a new call and takes no call_id".into());
            }
            let to = obj.get("to").and_then(Value::as_str).unwrap_or_default();
            let digits = to.strip_prefix('+').unwrap_or(to);
            let valid = (7..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0');
            if !valid {
                return bad(format!(
                    "connect needs 'to', the customer's WhatsApp phone number in international \
                     format (got '{to}')"
                ));
            }
            event.to = Some(digits.to_string());
            event.sdp = Some(session(obj, "offer").map_err(invalid)?);
        }
        action => {
            match obj.get("call_id").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                Some(id) => event.call_id = Some(id.to_string()),
                None => return bad(format!("{action} needs call_id, the id of the call")),
            }
            if matches!(action, "pre_accept" | "accept") {
                event.sdp = Some(session(obj, "answer").map_err(invalid)?);
            } else if obj.contains_key("session") {
                return bad(format!("{action} takes no session"));
            }
        }
    }
    Ok(event)
}

fn invalid(detail: String) -> ApiError {
    meta_error(100, "Invalid parameter", detail)
}

/// The `session` of a connect (SDP offer) or an accept (SDP answer).
fn session(obj: &Map<String, Value>, sdp_type: &str) -> Result<String, String> {
    let Some(session) = obj.get("session").and_then(Value::as_object) else {
        return Err(format!("session is required: {{\"sdp_type\": \"{sdp_type}\", \"sdp\": …}}"));
    };
    match session.get("sdp_type").and_then(Value::as_str) {
        Some(t) if t == sdp_type => {}
        other => {
            return Err(format!(
                "session.sdp_type must be {sdp_type}, not {}",
                other.unwrap_or("missing")
            ));
        }
    }
    let sdp = session.get("sdp").and_then(Value::as_str).unwrap_or_default();
    check_sdp(sdp).map_err(|why| format!("session.sdp is not a valid SDP {sdp_type}: {why}"))?;
    Ok(sdp.to_string())
}

/// An RFC 8866 session description: `v=0` first, then origin, session name, timing and an audio
/// media section.
pub fn check_sdp(sdp: &str) -> Result<(), String> {
    let lines: Vec<&str> =
        sdp.split('\n').map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()).collect();
    if lines.first() != Some(&"v=0") {
        return Err("it must start with v=0".into());
    }
    for (prefix, what) in
        [("o=", "origin (o=)"), ("s=", "session name (s=)"), ("t=", "timing (t=)")]
    {
        if !lines.iter().any(|l| l.starts_with(prefix)) {
            return Err(format!("it has no {what} line"));
        }
    }
    if !lines.iter().any(|l| l.starts_with("m=audio ")) {
        return Err("it has no audio media section (m=audio)".into());
    }
    if let Some(bad) = lines.iter().find(|l| l.as_bytes().get(1) != Some(&b'=')) {
        return Err(format!("line '{bad}' is not <type>=<value>"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n";

    #[test]
    fn sdp_checks() {
        assert_eq!(check_sdp(OFFER), Ok(()));
        assert!(check_sdp("hello").unwrap_err().contains("v=0"));
        assert!(check_sdp("v=0\no=x\ns=-\nt=0 0\n").unwrap_err().contains("m=audio"));
    }

    #[test]
    fn call_events_are_decoded() {
        let connect = json!({ "messaging_product": "whatsapp", "to": "+14255550123",
            "action": "connect", "session": { "sdp_type": "offer", "sdp": OFFER } });
        let e = parse_call_event(connect.to_string().as_bytes()).ok().unwrap();
        assert_eq!(e.to.as_deref(), Some("14255550123"));
        let accept = json!({ "messaging_product": "whatsapp", "call_id": "wacid.x",
            "action": "accept", "session": { "sdp_type": "offer", "sdp": OFFER } });
        let err = parse_call_event(accept.to_string().as_bytes()).err().unwrap();
        assert!(err.message.contains("sdp_type must be answer"), "{}", err.message);
        let no_product = json!({ "call_id": "wacid.x", "action": "terminate" });
        let err = parse_call_event(no_product.to_string().as_bytes()).err().unwrap();
        assert!(err.message.contains("messaging_product is required"));
    }

    #[test]
    fn call_ids_look_like_meta_ones() {
        let id = new_call_id(&crate::state::ids::IdGen::random());
        assert!(id.starts_with("wacid.HBgL"), "{id}");
    }
}
