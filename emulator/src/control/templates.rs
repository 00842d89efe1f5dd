//! Control API for template review and quality: what Meta decides, on demand.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ControlError, Params, parse_body};
use crate::AppState;
use crate::meta::template_lifecycle;
use crate::ops::templates::{WabaOf, publish_waba_event_of, status_event};
use crate::scheduler::Job;
use crate::state::{Template, Waba};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Decision {
    decision: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Quality {
    quality_score: String,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

fn view(t: &Template) -> Value {
    json!({
        "metaTemplateId": t.meta_template_id,
        "name": t.name,
        "language": t.language,
        "category": t.category,
        "status": t.status,
        "rejectedReason": t.rejected_reason,
        "qualityScore": t.quality_score,
        "pauseCount": t.pause_count,
        "source": t.source,
    })
}

/// Runs `f` on the template with this Meta id in the account and Region, then publishes what it
/// returns (as `message_template_status_update` extras) after the lock is released.
fn with_template(
    state: &AppState,
    account: Option<String>,
    region: Option<String>,
    template_id: &str,
    f: impl FnOnce(&mut Template, &str) -> Result<Option<(&'static str, Value)>, ControlError>,
) -> Result<Value, ControlError> {
    let account = account.unwrap_or_else(|| state.config.default_account.clone());
    let region = region.unwrap_or_else(|| state.config.default_region.clone());
    let partition = state.store.partition(&account, &region);
    let (event, waba, t) = {
        let mut p = partition.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let waba = p
            .wabas
            .values_mut()
            .find(|w| w.templates.iter().any(|t| t.meta_template_id == template_id))
            .ok_or_else(|| {
                ControlError::not_found(format!(
                    "template {template_id} does not exist in account {account}, Region {region}"
                ))
            })?;
        let hex = waba.hex.clone();
        let t = waba
            .templates
            .iter_mut()
            .find(|t| t.meta_template_id == template_id)
            .expect("found above");
        let event = f(t, &hex)?;
        let t = t.clone();
        (event, WabaOf::of(waba), t)
    };
    match event {
        Some(("message_template_status_update", extra)) => {
            status_event(state, &account, &region, &waba, &t, extra);
        }
        Some((field, value)) => {
            publish_waba_event_of(state, &account, &region, &waba, field, value)
        }
        None => {}
    }
    Ok(view(&t))
}

/// `POST /_emulator/templates/{metaTemplateId}/review` `{"decision": APPROVE|REJECT|PAUSE|
/// UNPAUSE|DISABLE, "reason": …}`.
pub async fn review(
    State(state): State<AppState>,
    Path(template_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let d: Decision = parse_body(&body)?;
    let (account, region) = (
        d.account.clone().unwrap_or_else(|| state.config.default_account.clone()),
        d.region.clone().unwrap_or_else(|| state.config.default_region.clone()),
    );
    let now = state.clock.now_ms();
    let mut unpause_at = None;
    let out =
        with_template(&state, d.account.clone(), d.region.clone(), &template_id, |t, waba_hex| {
            let extra = match d.decision.as_str() {
                "APPROVE" => template_lifecycle::approve(t),
                "REJECT" => {
                    let reason = d.reason.clone().unwrap_or_else(|| "INVALID_FORMAT".into());
                    template_lifecycle::reject(t, reason).map_err(ControlError::bad_request)?
                }
                "PAUSE" => {
                    let (extra, until) =
                        template_lifecycle::pause(t, now).map_err(ControlError::bad_request)?;
                    unpause_at = until.map(|due| (due, waba_hex.to_string()));
                    extra
                }
                "UNPAUSE" => template_lifecycle::unpause(t).map_err(|status| {
                    ControlError::bad_request(format!(
                        "only a PAUSED template can be unpaused; this one is {status}"
                    ))
                })?,
                "DISABLE" => template_lifecycle::disable(t, now),
                other => {
                    return Err(ControlError::bad_request(format!(
                        "decision {other:?} is not one of APPROVE, REJECT, PAUSE, UNPAUSE, DISABLE"
                    )));
                }
            };
            Ok(Some(("message_template_status_update", extra)))
        })?;
    if let Some((due, waba_hex)) = unpause_at {
        state.scheduler.at(
            due,
            Job::TemplateUnpause {
                account,
                region,
                waba_hex,
                meta_template_id: template_id.clone(),
            },
        );
    }
    Ok(Json(out))
}

/// `PUT /_emulator/templates/{metaTemplateId}/quality` `{"qualityScore": GREEN|YELLOW|RED|UNKNOWN}`.
pub async fn quality(
    State(state): State<AppState>,
    Path(template_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let q: Quality = parse_body(&body)?;
    if !["GREEN", "YELLOW", "RED", "UNKNOWN"].contains(&q.quality_score.as_str()) {
        return Err(ControlError::bad_request(
            "qualityScore must be GREEN, YELLOW, RED or UNKNOWN",
        ));
    }
    let out = with_template(&state, q.account, q.region, &template_id, |t, _| {
        let previous = t.quality_score.clone().unwrap_or_else(|| "UNKNOWN".into());
        if previous == q.quality_score {
            return Ok(None);
        }
        t.quality_score = Some(q.quality_score.clone());
        Ok(Some((
            "message_template_quality_update",
            json!({
                "previous_quality_score": previous,
                "new_quality_score": q.quality_score,
                "message_template_id": t.meta_template_id.parse::<u64>().unwrap_or_default(),
                "message_template_name": t.name,
                "message_template_language": t.language,
            }),
        )))
    })?;
    Ok(Json(out))
}

/// `GET /_emulator/templates?wabaId=&account=&region=`: every template with its review state.
pub async fn list(State(state): State<AppState>, params: Params) -> Json<Value> {
    let account =
        params.get("account").cloned().unwrap_or_else(|| state.config.default_account.clone());
    let region =
        params.get("region").cloned().unwrap_or_else(|| state.config.default_region.clone());
    let partition = state.store.existing_or_empty(&account, &region);
    let p = partition.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let wanted = params
        .get("wabaId")
        .map(|w| w.trim_start_matches(crate::state::ids::WABA_PREFIX).to_string());
    let list: Vec<Value> = p
        .wabas
        .values()
        .filter(|w: &&Waba| wanted.as_deref().is_none_or(|h| w.hex == h))
        .flat_map(|w| {
            w.templates.iter().map(move |t| {
                let mut v = view(t);
                v["wabaId"] = json!(crate::state::ids::waba_id(&w.hex));
                v["definition"] = t.definition.clone();
                v
            })
        })
        .collect();
    Json(json!({ "templates": list }))
}
