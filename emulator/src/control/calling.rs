//! The customer's side of WhatsApp calling, which no AWS API drives:
//! - `POST /_emulator/call-permissions`: set a customer's call permission and usage counters;
//! - `POST /_emulator/calls`: the customer calls the business number;
//! - `POST /_emulator/calls/{callId}/customer`: the customer accepts, rejects, lets ring out or
//!   hangs up;
//! - `GET /_emulator/calls`: the call log (filter `phoneNumberId`).
//!
//! Every change of a call fires Meta's calling webhooks ([`crate::meta::calls`]), as the changes
//! the business makes with SendWhatsAppCallEvent do.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::scope::{Scope, api_error, error};
use crate::AppState;
use crate::error::{ApiError, ErrorKind};
use crate::events::EventDraft;
use crate::meta::calls::{self, CallOrigin};
use crate::ops::calling::{check_calling_enabled, check_sdp, new_call_id, permission_json};
use crate::state::calling::{
    Actor, Call, CallLogEvent, NO_PERMISSION, PERMANENT, RINGING, TEMPORARY, USER_INITIATED,
};
use crate::state::ids;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/call-permissions", post(set_permission))
        .route("/calls", get(list_calls).post(customer_calls))
        .route("/calls/{call_id}/customer", post(customer_action))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetPermission {
    #[serde(flatten)]
    scope: Scope,
    phone_number_id: String,
    destination_phone_number: Option<String>,
    end_user_bsuid: Option<String>,
    /// `temporary`, `permanent` or `no_permission`.
    status: String,
    /// For `temporary`: seconds from now (default 7 days).
    expires_in_seconds: Option<f64>,
    /// Permission requests sent "just now" (replaces the counter).
    permission_requests_sent: Option<u32>,
    /// Connected business-initiated calls "just now" (replaces the counter).
    connected_calls: Option<u32>,
}

async fn set_permission(State(state): State<AppState>, Json(b): Json<SetPermission>) -> Response {
    if ![TEMPORARY, PERMANENT, NO_PERMISSION].contains(&b.status.as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            "status must be temporary, permanent or no_permission",
        );
    }
    if let Some(number) = &b.destination_phone_number
        && !is_e164(number)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "destinationPhoneNumber must be E.164, e.g. +14255550123",
        );
    }
    if b.destination_phone_number.is_none() && b.end_user_bsuid.is_none() {
        return error(StatusCode::BAD_REQUEST, "give destinationPhoneNumber, endUserBsuid or both");
    }
    let now = state.clock.now_secs();
    let ctx = b.scope.context(&state);
    let result = state.store.with(&ctx, |p| {
        let calling = &mut p.phone_mut(&ctx, &b.phone_number_id)?.calling;
        let number = b.destination_phone_number.as_deref();
        let key = calling.customer_key(number, b.end_user_bsuid.as_deref());
        if let (Some(_), Some(bsuid)) = (number, &b.end_user_bsuid) {
            calling.bsuid_aliases.insert(bsuid.clone(), key.clone());
        }
        let limits = calling.limits;
        let customer = calling.customer_mut(&key);
        if let Some(bsuid) = &b.end_user_bsuid {
            customer.bsuid = Some(bsuid.clone());
        }
        customer.permission = b.status.clone();
        customer.expires_at = (b.status == TEMPORARY).then(|| {
            now + b.expires_in_seconds.unwrap_or(crate::state::calling::TEMPORARY_PERMISSION_SECS)
        });
        customer.unanswered_streak = 0;
        if let Some(n) = b.permission_requests_sent {
            customer.permission_requests = vec![now; n as usize];
        }
        if let Some(n) = b.connected_calls {
            customer.connected_calls = vec![now; n as usize];
        }
        let mut out = permission_json(customer, &limits, now);
        out["customer"] = json!(key);
        Ok::<_, ApiError>(out)
    });
    match result {
        Ok(out) => Json(out).into_response(),
        Err(e) => api_error(e),
    }
}

fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| {
        (2..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallFilter {
    #[serde(flatten)]
    scope: Scope,
    phone_number_id: Option<String>,
}

async fn list_calls(State(state): State<AppState>, Query(f): Query<CallFilter>) -> Response {
    let ctx = f.scope.context(&state);
    let wanted = match f
        .phone_number_id
        .as_deref()
        .map(|id| ids::resolve(&ctx, ids::ResourceKind::PhoneNumber, id).map(str::to_string))
    {
        None => None,
        Some(Ok(hex)) => Some(hex),
        Some(Err(e)) => return api_error(e),
    };
    let calls: Vec<Value> = state.store.read(&ctx, |p| {
        p.wabas
            .values()
            .flat_map(|w| &w.phone_numbers)
            .filter(|n| wanted.as_ref().is_none_or(|hex| *hex == n.hex))
            .flat_map(|n| n.calling.call_order.iter().filter_map(|id| n.calling.calls.get(id)))
            .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
            .collect()
    });
    Json(json!({ "calls": calls })).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomerCalls {
    #[serde(flatten)]
    scope: Scope,
    phone_number_id: String,
    /// The customer's number (E.164).
    from: String,
    end_user_bsuid: Option<String>,
    /// The customer's WhatsApp profile name (`contacts[].profile.name` of the webhooks).
    profile_name: Option<String>,
    /// The customer's SDP offer (a minimal one when absent).
    sdp: Option<String>,
}

/// The customer calls the business: a RINGING user-initiated call the business answers with
/// SendWhatsAppCallEvent (pre_accept, accept or reject), announced by a `connect` webhook with the
/// customer's SDP offer. With callback permission enabled on the number, calling grants the
/// business a temporary permission to call back.
async fn customer_calls(State(state): State<AppState>, Json(b): Json<CustomerCalls>) -> Response {
    if !is_e164(&b.from) {
        return error(StatusCode::BAD_REQUEST, "from must be E.164, e.g. +14255550123");
    }
    if let Some(sdp) = &b.sdp
        && let Err(why) = check_sdp(sdp)
    {
        return error(StatusCode::BAD_REQUEST, format!("sdp is not a valid SDP offer: {why}"));
    }
    let now_ms = state.clock.now_ms();
    let now = now_ms as f64 / 1000.0;
    let ctx = b.scope.context(&state);
    let result = state.store.with(&ctx, |p| {
        let (waba, phone) = p.phone(&ctx, &b.phone_number_id)?;
        check_calling_enabled(phone)?;
        let origin = CallOrigin::new(p, waba, phone);
        let (phone, users) = p.phone_mut_with_users(&ctx, &b.phone_number_id)?;
        let callback = phone
            .call_settings
            .as_ref()
            .and_then(|s| s.get("callbackPermissionStatus"))
            .and_then(Value::as_str)
            == Some("ENABLED");
        let phone_id = ids::phone_id(&phone.hex);
        let calling = &mut phone.calling;
        if let Some(bsuid) = &b.end_user_bsuid {
            calling.bsuid_aliases.insert(bsuid.clone(), b.from.clone());
            calling.customer_mut(&b.from).bsuid = Some(bsuid.clone());
        }
        if let Some(live) = calling.live_call_with(&b.from) {
            return Err(ApiError::new(
                ErrorKind::Conflict,
                format!("{} already has a live call ({}) with this number", b.from, live.call_id),
            ));
        }
        if callback {
            calling.customer_mut(&b.from).grant_temporary(now);
        }
        let call_id = new_call_id(&state.ids);
        let sdp = b.sdp.as_deref().unwrap_or(calls::DEFAULT_OFFER);
        calling.add_call(Call {
            call_id: call_id.clone(),
            phone_number_id: phone_id,
            direction: USER_INITIATED.into(),
            customer: b.from.clone(),
            profile_name: b.profile_name.clone(),
            status: RINGING.into(),
            biz_opaque_callback_data: None,
            started_at: now,
            connected_at: None,
            ended_at: None,
            events: vec![CallLogEvent {
                at: now,
                by: "customer".into(),
                action: "connect".into(),
                status: RINGING.into(),
                sdp_bytes: Some(sdp.len()),
            }],
        });
        let drafts = calls::webhooks(&origin, users, calling, &call_id, Some(sdp), now_ms);
        Ok((json!({ "callId": call_id, "status": RINGING }), drafts))
    });
    respond(&state, result)
}

/// The answer, once the webhooks are published (never under the partition lock).
fn respond(state: &AppState, result: Result<(Value, Vec<EventDraft>), ApiError>) -> Response {
    match result {
        Ok((out, drafts)) => {
            for draft in drafts {
                state.bus.publish(draft);
            }
            Json(out).into_response()
        }
        Err(e) => api_error(e),
    }
}

#[derive(Debug, Deserialize)]
struct CustomerAction {
    #[serde(flatten)]
    scope: Scope,
    /// `accept`, `reject`, `no_answer` or `terminate`.
    action: String,
    /// With `accept` of a business-initiated call: the customer's SDP answer (a minimal one when
    /// absent), sent to the business in the `connect` webhook.
    sdp: Option<String>,
}

async fn customer_action(
    State(state): State<AppState>,
    Path(call_id): Path<String>,
    Json(b): Json<CustomerAction>,
) -> Response {
    if !["accept", "reject", "no_answer", "terminate"].contains(&b.action.as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            "action must be accept, reject, no_answer or terminate",
        );
    }
    if let Some(sdp) = &b.sdp {
        if b.action != "accept" {
            return error(StatusCode::BAD_REQUEST, "only accept takes an sdp (the SDP answer)");
        }
        if let Err(why) = check_sdp(sdp) {
            return error(StatusCode::BAD_REQUEST, format!("sdp is not a valid SDP answer: {why}"));
        }
    }
    let now_ms = state.clock.now_ms();
    let now = now_ms as f64 / 1000.0;
    let ctx = b.scope.context(&state);
    let result = state.store.with(&ctx, |p| {
        let phone_hex = p
            .wabas
            .values()
            .flat_map(|w| &w.phone_numbers)
            .find(|n| n.calling.calls.contains_key(&call_id))
            .map(|n| n.hex.clone())
            .ok_or_else(|| ApiError::not_found(format!("Call {call_id} does not exist")))?;
        let origin = CallOrigin::of(p, &phone_hex)
            .ok_or_else(|| ApiError::not_found(format!("Call {call_id} does not exist")))?;
        let phone = p
            .wabas
            .values_mut()
            .flat_map(|w| w.phone_numbers.iter_mut())
            .find(|n| n.hex == phone_hex)
            .ok_or_else(|| ApiError::not_found(format!("Call {call_id} does not exist")))?;
        let calling = &mut phone.calling;
        let next = calling.calls[&call_id]
            .next_status(Actor::Customer, &b.action)
            .map_err(|why| ApiError::new(ErrorKind::Conflict, why))?;
        let sdp_bytes = b.sdp.as_ref().map(String::len);
        calling.apply(&call_id, Actor::Customer, &b.action, next, now, sdp_bytes);
        let drafts =
            calls::webhooks(&origin, &p.meta.users, calling, &call_id, b.sdp.as_deref(), now_ms);
        let out = serde_json::to_value(&calling.calls[&call_id]).unwrap_or(Value::Null);
        Ok((out, drafts))
    });
    respond(&state, result)
}
