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
use crate::model::validate::Input;
use crate::state::flows::{DEPRECATED, DRAFT, Flow, FlowPreview, PUBLISHED};
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

/// An endpoint must be HTTPS, and only Flow JSON 3.0+ takes it from the API (Meta 139001).
fn check_endpoint(uri: &str, json_version: Option<&str>) -> ApiResult<()> {
    let rest = uri.strip_prefix("https://").unwrap_or_default();
    if rest.is_empty() || rest.starts_with('/') || uri.chars().any(char::is_whitespace) {
        return Err(meta_error(
            100,
            "Invalid parameter",
            format!("endpointUri '{uri}' must be an HTTPS URL"),
        ));
    }
    if let Some(version) = json_version
        && version_below(version, 3)
    {
        return Err(meta_error(
            139001,
            "Specify Endpoint Uri in Flow JSON",
            format!(
                "Flow JSON version {version} takes its endpoint from data_channel_uri in the \
                 Flow JSON; endpointUri applies from version 3.0"
            ),
        ));
    }
    Ok(())
}

fn version_below(version: &str, major: u32) -> bool {
    version.split('.').next().and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| m < major)
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
    if w.phone_numbers.is_empty() {
        return fail(
            "No Phone Number connected to WhatsApp Business Account",
            "a Flow is sent from a phone number of its WABA".into(),
        );
    }
    if flow.data_api_version.is_some() {
        if flow.endpoint_uri.is_none() {
            return fail(
                "Publishing without specifying endpoint_uri is forbidden",
                "a Flow with data_api_version needs endpointUri (set it with \
                 UpdateWhatsAppFlow)"
                    .into(),
            );
        }
        let signed = w
            .phone_numbers
            .iter()
            .any(|n| n.business_public_key.as_ref().is_some_and(|k| k.signature_status == "VALID"));
        if !signed {
            return fail(
                "Missing Flows Signed Public Key",
                "a Flow with an endpoint needs a business public key with a VALID signature on a \
                 phone number of this WABA (PutWhatsAppBusinessPublicKey)"
                    .into(),
            );
        }
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
    let endpoint = input.str("endpointUri").map(str::to_string);
    let now = state.clock.now_ms();
    state.store.with(ctx, |p| {
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
            endpoint_uri: None,
            meta_app_id: None,
            preview: None,
            created_ms: now,
            updated_ms: now,
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
        if let Some(uri) = endpoint {
            check_endpoint(&uri, flow.json_version.as_deref())?;
            flow.endpoint_uri = Some(uri);
        }
        // `publish: true` publishes a valid flow at once; a flow with validation errors is
        // still created, as a DRAFT, with the errors in the answer.
        if publish && flow.validation_errors.is_empty() {
            if let Some(problem) = publish_problem(w, &flow) {
                return Err(problem);
            }
            flow.status = PUBLISHED.into();
        }
        let out = json!({ "flowId": flow.id, "validationErrors": flow.validation_errors });
        w.flows.insert(flow.id.clone(), flow);
        Ok(out)
    })
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
    let endpoint = input.str("endpointUri");
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
        let fixed = match current.status.as_str() {
            DRAFT => None,
            PUBLISHED if name.is_none() && categories.is_none() => None,
            PUBLISHED => Some("the name and categories of a PUBLISHED Flow are fixed"),
            _ => Some("a DEPRECATED Flow cannot change"),
        };
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
        if let Some(uri) = endpoint {
            check_endpoint(uri, current.json_version.as_deref())?;
        }
        let f = find_flow_mut(w, flow_id)?;
        if let Some(name) = name {
            f.name = name.to_string();
        }
        if let Some(categories) = categories {
            f.categories = categories;
        }
        if let Some(uri) = endpoint {
            f.endpoint_uri = Some(uri.to_string());
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
    state.store.with(ctx, |p| {
        let f = find_flow_mut(p.waba_mut(ctx, id)?, flow_id)?;
        if f.status != DRAFT {
            return Err(meta_error(
                139001,
                "Flow can't be updated",
                format!(
                    "Flow {flow_id} is {}: only the Flow JSON of a DRAFT Flow can be replaced \
                     (create a new Flow, e.g. with cloneFlowId)",
                    f.status
                ),
            ));
        }
        set_flow_json(f, &bytes);
        f.updated_ms = now;
        Ok(json!({ "validationErrors": f.validation_errors }))
    })
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
        for (key, value) in [
            ("jsonVersion", &f.json_version),
            ("dataApiVersion", &f.data_api_version),
            ("endpointUri", &f.endpoint_uri),
        ] {
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
        DRAFT => "LIMITED",
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
    state.store.with(ctx, |p| {
        let w = p.waba_mut(ctx, id)?;
        if let Some(problem) = publish_problem(w, find_flow(w, flow_id)?) {
            return Err(problem);
        }
        let f = find_flow_mut(w, flow_id)?;
        f.status = PUBLISHED.into();
        f.updated_ms = now;
        Ok(json!({}))
    })
}

pub fn deprecate_whatsapp_flow(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let flow_id = input.req_str("flowId")?;
    let now = state.clock.now_ms();
    state.store.with(ctx, |p| {
        let f = find_flow_mut(p.waba_mut(ctx, id)?, flow_id)?;
        let why = match f.status.as_str() {
            PUBLISHED => None,
            DEPRECATED => Some("Flow is already deprecated".to_string()),
            other => Some(format!("Can't deprecate unpublished flow: Flow {flow_id} is {other}")),
        };
        if let Some(why) = why {
            return Err(meta_error(139003, "Flow can't be deprecated", why));
        }
        f.status = DEPRECATED.into();
        f.updated_ms = now;
        Ok(json!({}))
    })
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

/// Whether an interactive `flow` message from WABA `w` may carry flow `flow_id` (for
/// SendWhatsAppMessage): a PUBLISHED flow of that WABA, or one of its DRAFT flows sent with
/// `mode: draft`. The error is the reason, in Meta's words where Meta has them.
pub fn check_flow_sendable(w: &Waba, flow_id: &str, draft_mode: bool) -> Result<(), String> {
    let Some(f) = w.flows.get(flow_id) else {
        return Err(format!(
            "Flow {flow_id} does not exist in WhatsApp Business Account {}",
            ids::waba_id(&w.hex)
        ));
    };
    match (f.status.as_str(), draft_mode) {
        (PUBLISHED, _) | (DRAFT, true) => Ok(()),
        (DRAFT, false) => Err(format!(
            "Flow {flow_id} is a DRAFT: publish it, or send it with \"mode\": \"draft\" to test"
        )),
        (status, _) => Err(format!("Flow {flow_id} is {status} and can no longer be sent")),
    }
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
            endpoint_uri: None,
            meta_app_id: None,
            preview: None,
            created_ms: 0,
            updated_ms: 0,
        };
        w.flows.insert("1".into(), flow("1", PUBLISHED));
        w.flows.insert("2".into(), flow("2", DRAFT));
        w.flows.insert("3".into(), flow("3", DEPRECATED));
        assert_eq!(check_flow_sendable(&w, "1", false), Ok(()));
        assert_eq!(check_flow_sendable(&w, "2", true), Ok(()));
        assert!(check_flow_sendable(&w, "2", false).unwrap_err().contains("DRAFT"));
        assert!(check_flow_sendable(&w, "3", true).unwrap_err().contains("DEPRECATED"));
        assert!(check_flow_sendable(&w, "4", true).unwrap_err().contains("does not exist"));
    }

    #[test]
    fn namespaces_look_like_meta_ones() {
        assert_eq!(
            template_namespace("0aae9cf04cf24c66960f291c793359b4"),
            "0aae9cf0_4cf2_4c66_960f_291c793359b4"
        );
    }
}
