//! WhatsApp Flows: CreateWhatsAppFlow, UpdateWhatsAppFlow, UpdateWhatsAppFlowAssets,
//! GetWhatsAppFlow, GetWhatsAppFlowPreview, ListWhatsAppFlows, ListWhatsAppFlowAssets,
//! PublishWhatsAppFlow, DeprecateWhatsAppFlow, DeleteWhatsAppFlow.
//!
//! A flow belongs to its WABA and moves DRAFT → PUBLISHED → DEPRECATED. Meta's refusals are
//! `InvalidParametersException` carrying Meta's code (`(#139002) Publishing Flow in invalid
//! state: …`); an unknown WABA or flow is `ResourceNotFoundException`.

use serde_json::{Value, json};

use super::flow_json::{self, FlowJsonReport};
use super::{Pager, meta_error};
use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
pub use crate::meta::flow_messages::check_flow_sendable;
use crate::model::validate::Input;
use crate::ops::templates::{WabaOf, publish_waba_event_of};
use crate::state::flows::{BLOCKED, DEPRECATED, DRAFT, Flow, FlowPreview, PUBLISHED, THROTTLED};
use crate::state::seed::derived_meta_id;
use crate::state::{Waba, ids};

/// A preview link works for 30 days.
const PREVIEW_TTL_MS: i64 = 30 * 86_400_000;
/// The Meta app through which AWS End User Messaging Social manages flows.
const AWS_APP_NAME: &str = "AWS End User Messaging Social";

/// The flow `flow_id` of WABA `w`.
fn find_flow<'a>(w: &'a Waba, flow_id: &str) -> ApiResult<&'a Flow> {
    w.flows.get(flow_id).ok_or_else(|| flow_not_found(w, flow_id))
}

fn find_flow_mut<'a>(w: &'a mut Waba, flow_id: &str) -> ApiResult<&'a mut Flow> {
    let hex = w.hex.clone();
    w.flows.get_mut(flow_id).ok_or_else(|| {
        ApiError::not_found(format!(
            "Flow {flow_id} does not exist in WhatsApp Business Account {}",
            ids::waba_id(&hex)
        ))
    })
}

fn flow_not_found(w: &Waba, flow_id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Flow {flow_id} does not exist in WhatsApp Business Account {}",
        ids::waba_id(&w.hex)
    ))
}

/// Flow names are unique within a WABA (Meta error 100).
fn check_unique_name(w: &Waba, name: &str, except: Option<&str>) -> ApiResult<()> {
    if w.flows.values().any(|f| f.name == name && Some(f.id.as_str()) != except) {
        return Err(meta_error(
            100,
            "Flow name is not unique",
            format!("another Flow of this WhatsApp Business Account is named '{name}'"),
        ));
    }
    Ok(())
}

/// AWS End User Messaging Social supports Flows without an endpoint only (AWS user guide,
/// "WhatsApp Flows: Limitations and considerations": endpoint and data_exchange Flows are planned
/// for an upcoming release), so `endpointUri` is refused.
fn refuse_endpoint(uri: Option<&str>) -> ApiResult<()> {
    match uri {
        None => Ok(()),
        Some(uri) => Err(ApiError::invalid_parameters(format!(
            "endpointUri '{uri}' is not supported: AWS End User Messaging Social supports Flows \
             without an endpoint (endpoint_uri and data_exchange are planned for an upcoming release)"
        ))),
    }
}

/// A `flows` webhook for a status change (Meta, Flows webhooks: `FLOW_STATUS_CHANGE`; AWS user
/// guide, "Receiving Flow responses and status changes").
fn status_change(f: &Flow, old: &str, reason: Option<&str>) -> Value {
    let mut value = json!({
        "event": "FLOW_STATUS_CHANGE",
        "message": format!("Flow {} changed status from {old} to {}", f.name, f.status),
        "flow_id": f.id,
        "old_status": old,
        "new_status": f.status,
    });
    if let Some(reason) = reason {
        value["reason"] = json!(reason);
    }
    value
}

/// Publishes the `flows` webhooks of status changes made under the partition's lock.
fn publish_status_changes(
    state: &AppState,
    ctx: &RequestContext,
    waba: &WabaOf,
    values: Vec<Value>,
) {
    for value in values {
        publish_waba_event_of(state, &ctx.account, &ctx.region, waba, "flows", value);
    }
}

/// Why `flow` cannot be published now (Meta 139002), if anything stops it.
fn publish_problem(w: &Waba, flow: &Flow) -> Option<ApiError> {
    let fail = |title: &str, detail: String| Some(meta_error(139002, title, detail));
    if flow.status != DRAFT {
        return fail(
            "Publishing Flow in invalid state",
            format!("Flow {} is {}; only a DRAFT Flow can be published", flow.id, flow.status),
        );
    }
    if flow.flow_json.is_none() {
        return fail(
            "Publishing Flow without Flow JSON",
            "upload a Flow JSON with UpdateWhatsAppFlowAssets first".into(),
        );
    }
    if !flow.validation_errors.is_empty() {
        return fail(
            "Publishing Flow with validation errors",
            format!(
                "the Flow JSON has {} validation error(s); see validationErrors of \
                 GetWhatsAppFlow",
                flow.validation_errors.len()
            ),
        );
    }
    if let Some(version) = &flow.json_version
        && !flow_json::publishable(version)
    {
        return fail(
            "Publishing Flow with an unsupported Flow JSON version",
            format!(
                "Flow JSON version {version} cannot be published with AWS End User Messaging \
                 Social; publishable versions are {}",
                flow_json::limits().publishable.versions.join(", ")
            ),
        );
    }
    if w.phone_numbers.is_empty() {
        return fail(
            "No Phone Number connected to WhatsApp Business Account",
            "a Flow is sent from a phone number of its WABA".into(),
        );
    }
    if flow.data_api_version.is_some() {
        return fail(
            "Publishing without specifying endpoint_uri is forbidden",
            "the Flow JSON sets data_api_version (a Flow with an endpoint); AWS End User Messaging \
             Social supports Flows without an endpoint"
                .into(),
        );
    }
    None
}

/// Reads `flowJson` into the flow: the text, Meta's validation errors and the versions.
fn set_flow_json(flow: &mut Flow, bytes: &[u8]) {
    let FlowJsonReport { errors, version, data_api_version } = flow_json::validate(bytes);
    flow.flow_json = Some(String::from_utf8_lossy(bytes).into_owned());
    flow.validation_errors = errors;
    flow.json_version = version;
    flow.data_api_version = data_api_version;
}

fn categories(input: &Input) -> ApiResult<Option<Vec<String>>> {
    Ok(input.parse::<Vec<String>>("categories")?.map(|mut list| {
        let mut seen = std::collections::HashSet::new();
        list.retain(|c| seen.insert(c.clone()));
        list
    }))
}

pub fn create_whatsapp_flow(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let name = input.req_str("flowName")?.to_string();
    let categories = categories(input)?.unwrap_or_default();
    let clone_id = input.str("cloneFlowId");
    let json_blob = input.blobs.get("flowJson");
    let publish = input.bool("publish").unwrap_or(false);
    refuse_endpoint(input.str("endpointUri"))?;
    let now = state.clock.now_ms();
    let (out, waba, changes) = state.store.with(ctx, |p| {
        let w = p.waba_mut(ctx, id)?;
        if json_blob.is_some() && clone_id.is_some() {
            return Err(meta_error(
                100,
                "Only one clone source can be set",
                "give flowJson or cloneFlowId, not both",
            ));
        }
        check_unique_name(w, &name, None)?;
        let mut flow = Flow {
            id: new_flow_id(&state.ids, w),
            name,
            status: DRAFT.into(),
            categories,
            flow_json: None,
            validation_errors: Vec::new(),
            json_version: None,
            data_api_version: None,
            meta_app_id: None,
            preview: None,
            created_ms: now,
            updated_ms: now,
            throttled_sends: Vec::new(),
        };
        if let Some(bytes) = json_blob {
            set_flow_json(&mut flow, bytes);
        } else if let Some(source) = clone_id {
            let source = find_flow(w, source)?;
            flow.flow_json = source.flow_json.clone();
            flow.validation_errors = source.validation_errors.clone();
            flow.json_version = source.json_version.clone();
            flow.data_api_version = source.data_api_version.clone();
        }
        // `publish: true` publishes a valid flow at once; a flow with validation errors is
        // still created, as a DRAFT, with the errors in the answer.
        let mut changes = Vec::new();
        if publish && flow.validation_errors.is_empty() {
            if let Some(problem) = publish_problem(w, &flow) {
                return Err(problem);
            }
            flow.status = PUBLISHED.into();
            changes.push(status_change(&flow, DRAFT, None));
        }
        let out = json!({ "flowId": flow.id, "validationErrors": flow.validation_errors });
        w.flows.insert(flow.id.clone(), flow);
        Ok((out, WabaOf::of(w), changes))
    })?;
    publish_status_changes(state, ctx, &waba, changes);
    Ok(out)
}

/// A fresh 16-digit Meta flow id, unique in the WABA.
fn new_flow_id(ids: &crate::state::ids::IdGen, w: &Waba) -> String {
    loop {
        let id = ids.meta_id(16);
        if !w.flows.contains_key(&id) {
            return id;
        }
    }
}

pub fn update_whatsapp_flow(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let flow_id = input.req_str("flowId")?;
    let name = input.str("flowName");
    let categories = categories(input)?;
    refuse_endpoint(input.str("endpointUri"))?;
    let app_id = input.str("metaAppId");
    if let Some(app) = app_id
        && !app.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(meta_error(
            100,
            "Invalid parameter",
            format!("metaAppId '{app}' is not a Meta app id (digits)"),
        ));
    }
    let now = state.clock.now_ms();
    state.store.with(ctx, |p| {
        let w = p.waba_mut(ctx, id)?;
        let current = find_flow(w, flow_id)?;
        // Meta's Flows changelog (December 2024): published Flows are edited through the API;
        // the name and categories change in place.
        let fixed = (current.status == DEPRECATED).then_some("a DEPRECATED Flow cannot change");
        if let Some(why) = fixed {
            return Err(meta_error(
                139001,
                "Flow can't be updated",
                format!("Flow {flow_id} is {}: {why}", current.status),
            ));
        }
        if let Some(name) = name {
            check_unique_name(w, name, Some(flow_id))?;
        }
        let f = find_flow_mut(w, flow_id)?;
        if let Some(name) = name {
            f.name = name.to_string();
        }
        if let Some(categories) = categories {
            f.categories = categories;
        }
        if let Some(app) = app_id {
            f.meta_app_id = Some(app.to_string());
        }
        f.updated_ms = now;
        Ok(json!({}))
    })
}

pub fn update_whatsapp_flow_assets(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let flow_id = input.req_str("flowId")?;
    let bytes = input.blobs.get("flowJson").cloned().unwrap_or_default();
    let now = state.clock.now_ms();
    let (out, waba, changes) = state.store.with(ctx, |p| {
        let w = p.waba_mut(ctx, id)?;
        let waba = WabaOf::of(w);
        let f = find_flow_mut(w, flow_id)?;
        if ![DRAFT, PUBLISHED].contains(&f.status.as_str()) {
            return Err(meta_error(
                139001,
                "Flow can't be updated",
                format!(
                    "Flow {flow_id} is {}: the Flow JSON of a DRAFT or PUBLISHED Flow can be \
                     replaced (create a new Flow, e.g. with cloneFlowId)",
                    f.status
                ),
            ));
        }
        set_flow_json(f, &bytes);
        f.updated_ms = now;
        // AWS API reference, UpdateWhatsAppFlowAssets: "Updating a published Flow's assets
        // reverts it to DRAFT status, requiring re-publishing."
        let mut changes = Vec::new();
        if f.status == PUBLISHED {
            f.status = DRAFT.into();
            changes.push(status_change(f, PUBLISHED, None));
        }
        Ok((json!({ "validationErrors": f.validation_errors }), waba, changes))
    })?;
    publish_status_changes(state, ctx, &waba, changes);
    Ok(out)
}

pub fn get_whatsapp_flow(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let flow_id = input.req_str("flowId")?;
    let now = state.clock.now_ms();
    state.store.with(ctx, |p| {
        let w = p.waba_mut(ctx, id)?;
        let preview = current_preview(&state.ids, find_flow_mut(w, flow_id)?, false, now);
        let f = find_flow(w, flow_id)?;
        let mut out = json!({
            "flowId": f.id,
            "flowName": f.name,
            "flowStatus": f.status,
            "categories": f.categories,
            "validationErrors": f.validation_errors,
            "preview": preview_json(f, &preview),
            "whatsAppBusinessAccount": {
                "id": w.meta_waba_id,
                "name": w.name,
                "currency": "USD",
                "timezoneId": "1",
                "messageTemplateNamespace": template_namespace(&w.hex),
            },
            "application": application_json(f),
            "healthStatus": health_json(w, f),
        });
        for (key, value) in
            [("jsonVersion", &f.json_version), ("dataApiVersion", &f.data_api_version)]
        {
            if let Some(v) = value {
                out[key] = json!(v);
            }
        }
        Ok(out)
    })
}

/// The flow's preview link: the current one unless it expired or `invalidate` asks for a new one.
fn current_preview(
    ids: &crate::state::ids::IdGen,
    f: &mut Flow,
    invalidate: bool,
    now: i64,
) -> FlowPreview {
    match &f.preview {
        Some(p) if !invalidate && p.expires_ms > now => p.clone(),
        _ => {
            let fresh =
                FlowPreview { token: ids.uuid().to_string(), expires_ms: now + PREVIEW_TTL_MS };
            f.preview = Some(fresh.clone());
            fresh
        }
    }
}

fn preview_json(f: &Flow, p: &FlowPreview) -> Value {
    json!({
        "previewUrl": format!(
            "https://business.facebook.com/wa/manage/flows/{}/preview/?token={}",
            f.id, p.token
        ),
        "expiresAt": meta_timestamp(p.expires_ms / 1000),
    })
}

/// Meta's WABA template namespace, derived from the WABA id (stable).
fn template_namespace(hex: &str) -> String {
    let h = format!("{hex:0>32}");
    format!("{}_{}_{}_{}_{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

fn application_json(f: &Flow) -> Value {
    let (id, name) = match &f.meta_app_id {
        Some(app) => (app.clone(), format!("Meta app {app}")),
        None => (derived_meta_id("aws-end-user-messaging-social", 15), AWS_APP_NAME.to_string()),
    };
    json!({ "link": format!("https://www.facebook.com/games/?app_id={id}"), "name": name, "id": id })
}

/// Meta's `health_status`: whether a message can carry this flow now, and why.
fn health_json(w: &Waba, f: &Flow) -> Value {
    let flow_health = match f.status.as_str() {
        PUBLISHED => "AVAILABLE",
        DRAFT | THROTTLED => "LIMITED",
        _ => "BLOCKED",
    };
    let app_id = f
        .meta_app_id
        .clone()
        .unwrap_or_else(|| derived_meta_id("aws-end-user-messaging-social", 15));
    json!({
        "canSendMessage": flow_health,
        "entities": [
            { "entityType": "FLOW", "id": f.id, "canSendMessage": flow_health },
            { "entityType": "WABA", "id": w.meta_waba_id, "canSendMessage": "AVAILABLE" },
            {
                "entityType": "BUSINESS",
                "id": derived_meta_id(&format!("business:{}", w.meta_waba_id), 15),
                "canSendMessage": "AVAILABLE"
            },
            { "entityType": "APP", "id": app_id, "canSendMessage": "AVAILABLE" },
        ]
    })
}

pub fn get_whatsapp_flow_preview(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let flow_id = input.req_str("flowId")?;
    let invalidate = input.bool("invalidate").unwrap_or(false);
    let now = state.clock.now_ms();
    state.store.with(ctx, |p| {
        let f = find_flow_mut(p.waba_mut(ctx, id)?, flow_id)?;
        let preview = current_preview(&state.ids, f, invalidate, now);
        Ok(json!({ "flowId": f.id, "preview": preview_json(f, &preview) }))
    })
}

pub fn list_whatsapp_flows(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    state.store.read(ctx, |p| {
        let w = p.waba(ctx, id)?;
        let scope = format!("flows:{}", w.hex);
        let pager = Pager { scope: &scope, default_size: 25 };
        let items = w.flows.iter().map(|(k, f)| {
            let summary = json!({
                "flowId": f.id,
                "flowName": f.name,
                "flowStatus": f.status,
                "flowCategories": f.categories,
                "validationErrors": f.validation_errors,
            });
            (k.as_str(), summary)
        });
        pager.respond("flows", items, input.str("nextToken"), input.i64("maxResults"))
    })
}

pub fn list_whatsapp_flow_assets(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let flow_id = input.req_str("flowId")?;
    state.store.read(ctx, |p| {
        let w = p.waba(ctx, id)?;
        let f = find_flow(w, flow_id)?;
        let scope = format!("flow-assets:{}:{flow_id}", w.hex);
        let pager = Pager { scope: &scope, default_size: 25 };
        let url = format!(
            "{}/_emulator/flows/{flow_id}/assets/flow.json?account={}&region={}",
            ctx.base_url(),
            ctx.account,
            ctx.region
        );
        let assets = f.flow_json.as_ref().map(|_| {
            (
                "flow.json",
                json!({ "name": "flow.json", "assetType": "FLOW_JSON", "downloadUrl": url }),
            )
        });
        pager.respond("flowAssets", assets, input.str("nextToken"), input.i64("maxResults"))
    })
}

pub fn publish_whatsapp_flow(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let flow_id = input.req_str("flowId")?;
    let now = state.clock.now_ms();
    let (waba, change) = state.store.with(ctx, |p| {
        let w = p.waba_mut(ctx, id)?;
        if let Some(problem) = publish_problem(w, find_flow(w, flow_id)?) {
            return Err(problem);
        }
        let waba = WabaOf::of(w);
        let f = find_flow_mut(w, flow_id)?;
        f.status = PUBLISHED.into();
        f.updated_ms = now;
        Ok((waba, status_change(f, DRAFT, None)))
    })?;
    publish_status_changes(state, ctx, &waba, vec![change]);
    Ok(json!({}))
}

pub fn deprecate_whatsapp_flow(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let flow_id = input.req_str("flowId")?;
    let now = state.clock.now_ms();
    let (waba, change) = state.store.with(ctx, |p| {
        let w = p.waba_mut(ctx, id)?;
        let waba = WabaOf::of(w);
        let f = find_flow_mut(w, flow_id)?;
        let why = match f.status.as_str() {
            PUBLISHED | THROTTLED | BLOCKED => None,
            DEPRECATED => Some("Flow is already deprecated".to_string()),
            other => Some(format!("Can't deprecate unpublished flow: Flow {flow_id} is {other}")),
        };
        if let Some(why) = why {
            return Err(meta_error(139003, "Flow can't be deprecated", why));
        }
        let old = std::mem::replace(&mut f.status, DEPRECATED.into());
        f.updated_ms = now;
        Ok((waba, status_change(f, &old, None)))
    })?;
    publish_status_changes(state, ctx, &waba, vec![change]);
    Ok(json!({}))
}

pub fn delete_whatsapp_flow(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let flow_id = input.req_str("flowId")?;
    state.store.with(ctx, |p| {
        let w = p.waba_mut(ctx, id)?;
        let f = find_flow(w, flow_id)?;
        if f.status != DRAFT {
            return Err(meta_error(
                139004,
                "Flow can't be deleted",
                format!(
                    "Can't delete {} Flow {flow_id}: only a DRAFT Flow can be deleted \
                     (deprecate a published one)",
                    f.status.to_lowercase()
                ),
            ));
        }
        w.flows.remove(flow_id);
        Ok(json!({}))
    })
}

/// Meta's health decisions (control API): a PUBLISHED, THROTTLED or BLOCKED flow moves to
/// another of the three, with its `flows` webhook. Returns the flow's new status.
pub fn set_health(
    state: &AppState,
    ctx: &RequestContext,
    flow_id: &str,
    status: &str,
    reason: Option<&str>,
) -> Result<Value, String> {
    const HEALTH: [&str; 3] = [PUBLISHED, THROTTLED, BLOCKED];
    if !HEALTH.contains(&status) {
        return Err(format!("status must be one of {}", HEALTH.join(", ")));
    }
    let now = state.clock.now_ms();
    let (waba, change, flow) = state.store.with(ctx, |p| {
        let w = p.wabas.values_mut().find(|w| w.flows.contains_key(flow_id)).ok_or_else(|| {
            format!(
                "Flow {flow_id} does not exist in account {} and Region {}",
                ctx.account, ctx.region
            )
        })?;
        let waba = WabaOf::of(w);
        let f = w.flows.get_mut(flow_id).expect("found above");
        if !HEALTH.contains(&f.status.as_str()) {
            return Err(format!(
                "Flow {flow_id} is {}: only a PUBLISHED, THROTTLED or BLOCKED flow changes health",
                f.status
            ));
        }
        let old = std::mem::replace(&mut f.status, status.to_string());
        f.updated_ms = now;
        f.throttled_sends.clear();
        let change = (old != status).then(|| status_change(f, &old, reason));
        Ok((waba, change, json!({ "flowId": f.id, "flowStatus": f.status })))
    })?;
    publish_status_changes(state, ctx, &waba, change.into_iter().collect());
    Ok(flow)
}

/// `YYYY-MM-DDTHH:MM:SS+0000`, the form Meta gives times in (e.g. a preview's `expires_at`).
pub fn meta_timestamp(epoch_secs: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch_secs)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+0000");
    t.format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::flows::THROTTLED_PER_HOUR;

    #[test]
    fn meta_timestamps() {
        assert_eq!(meta_timestamp(0), "1970-01-01T00:00:00+0000");
        assert_eq!(meta_timestamp(1_798_365_600), "2026-12-27T10:00:00+0000");
        assert_eq!(meta_timestamp(951_782_400), "2000-02-29T00:00:00+0000");
    }

    #[test]
    fn only_published_flows_are_sendable_outside_draft_mode() {
        let mut w = crate::state::Seed::default_seed()
            .partitions()
            .remove(0)
            .1
            .wabas
            .pop_first()
            .unwrap()
            .1;
        let flow = |id: &str, status: &str| Flow {
            id: id.into(),
            name: id.into(),
            status: status.into(),
            categories: vec!["OTHER".into()],
            flow_json: None,
            validation_errors: vec![],
            json_version: None,
            data_api_version: None,
            meta_app_id: None,
            preview: None,
            created_ms: 0,
            updated_ms: 0,
            throttled_sends: vec![],
        };
        w.flows.insert("1".into(), flow("1", PUBLISHED));
        w.flows.insert("2".into(), flow("2", DRAFT));
        w.flows.insert("3".into(), flow("3", DEPRECATED));
        w.flows.insert("5".into(), flow("5", BLOCKED));
        let mut throttled = flow("6", THROTTLED);
        throttled.throttled_sends = vec![0; THROTTLED_PER_HOUR];
        w.flows.insert("6".into(), throttled);
        assert_eq!(check_flow_sendable(&w, "1", false, 0), Ok(()));
        assert_eq!(check_flow_sendable(&w, "2", true, 0), Ok(()));
        assert!(check_flow_sendable(&w, "2", false, 0).unwrap_err().contains("DRAFT"));
        assert!(check_flow_sendable(&w, "3", true, 0).unwrap_err().contains("DEPRECATED"));
        assert!(check_flow_sendable(&w, "4", true, 0).unwrap_err().contains("does not exist"));
        assert!(check_flow_sendable(&w, "5", false, 0).unwrap_err().contains("BLOCKED"));
        assert!(check_flow_sendable(&w, "6", false, 0).unwrap_err().contains("10 times an hour"));
        assert_eq!(check_flow_sendable(&w, "6", false, 3_600_000), Ok(()));
    }

    #[test]
    fn namespaces_look_like_meta_ones() {
        assert_eq!(
            template_namespace("0aae9cf04cf24c66960f291c793359b4"),
            "0aae9cf0_4cf2_4c66_960f_291c793359b4"
        );
    }
}
