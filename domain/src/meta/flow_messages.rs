//! Flow messages (Meta, "Flow messages"): whether a message may carry a WABA's flow, and its
//! parameters checked against the flow.

use serde_json::{Map, Value};

use crate::state::flows::{DRAFT, PUBLISHED, THROTTLED, THROTTLED_PER_HOUR};
use crate::state::{Waba, ids};

/// Whether an interactive `flow` message from WABA `w` may carry flow `flow_id` (for
/// SendWhatsAppMessage) at `now`: a PUBLISHED flow of that WABA, a THROTTLED one up to 10 times an
/// hour, or one of its DRAFT flows sent with `mode: draft`. The error is the reason, in Meta's
/// words where Meta has them.
pub fn check_flow_sendable(
    w: &Waba,
    flow_id: &str,
    draft_mode: bool,
    now: i64,
) -> Result<(), String> {
    let Some(f) = w.flows.get(flow_id) else {
        return Err(format!(
            "Flow {flow_id} does not exist in WhatsApp Business Account {}",
            ids::waba_id(&w.hex)
        ));
    };
    match (f.status.as_str(), draft_mode) {
        (PUBLISHED, _) | (DRAFT, true) => Ok(()),
        (THROTTLED, _) => {
            let last_hour = f.throttled_sends.iter().filter(|t| now - **t < 3_600_000).count();
            if last_hour < THROTTLED_PER_HOUR {
                Ok(())
            } else {
                Err(format!(
                    "Flow {flow_id} is THROTTLED: it can be sent {THROTTLED_PER_HOUR} times an hour"
                ))
            }
        }
        (DRAFT, false) => Err(format!(
            "Flow {flow_id} is a DRAFT: publish it, or send it with \"mode\": \"draft\" to test"
        )),
        (status, _) => Err(format!("Flow {flow_id} is {status} and can no longer be sent")),
    }
}

/// Meta's rules for a flow message's `action.parameters` (Meta, "Flow messages"), checked
/// against the flow they name: returns the flow's id. `flow_id` and `flow_name` are exclusive;
/// `flow_action: navigate` takes a `flow_action_payload` whose `screen` is a screen of the flow
/// and whose `data`, if given, is a non-empty object; `data_exchange` needs an endpoint, which
/// AWS does not support.
pub fn check_flow_message(w: &Waba, parameters: &Value, now: i64) -> Result<String, String> {
    if parameters.get("flow_id").is_some() && parameters.get("flow_name").is_some() {
        return Err(
            "Parameter flow_id and flow_name cannot be used together: give one of them".into()
        );
    }
    let flow_id = match parameters["flow_id"].as_str() {
        Some(id) => id.to_string(),
        None => {
            let name = parameters["flow_name"].as_str().unwrap_or_default();
            match w.flows.values().find(|f| f.name == name) {
                Some(f) => f.id.clone(),
                None => {
                    return Err(format!(
                        "Flow {name} does not exist in this WhatsApp Business Account"
                    ));
                }
            }
        }
    };
    check_flow_sendable(w, &flow_id, parameters["mode"] == "draft", now)?;
    let payload = parameters.get("flow_action_payload");
    match parameters["flow_action"].as_str() {
        Some("data_exchange") => {
            return Err("flow_action data_exchange needs a Flow endpoint; AWS End User Messaging \
                        Social supports Flows without an endpoint"
                .into());
        }
        Some("navigate") if payload.is_none() => {
            return Err(
                "Parameter flow_action_payload is required when flow_action is navigate".into()
            );
        }
        _ => {}
    }
    let Some(payload) = payload else { return Ok(flow_id) };
    if let Some(data) = payload.get("data")
        && data.as_object().is_none_or(Map::is_empty)
    {
        return Err("Parameter flow_action_payload.data must be a non-empty object".into());
    }
    let screen = payload["screen"].as_str().unwrap_or_default();
    let screens = w.flows.get(&flow_id).and_then(|f| f.flow_json.as_deref()).map(screen_ids);
    if let Some(screens) = screens
        && !screens.iter().any(|s| s == screen)
    {
        return Err(format!(
            "Parameter flow_action_payload.screen is invalid: Flow {flow_id} has no screen '{screen}'"
        ));
    }
    Ok(flow_id)
}

/// The screen ids of a Flow JSON document.
fn screen_ids(flow_json: &str) -> Vec<String> {
    let doc: Value = serde_json::from_str(flow_json).unwrap_or_default();
    doc["screens"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect()
}
