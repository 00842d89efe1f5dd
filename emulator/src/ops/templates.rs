//! Message templates: CreateWhatsAppMessageTemplate, GetWhatsAppMessageTemplate,
//! ListWhatsAppMessageTemplates, UpdateWhatsAppMessageTemplate, DeleteWhatsAppMessageTemplate,
//! ListWhatsAppTemplateLibrary, CreateWhatsAppMessageTemplateFromLibrary.
//!
//! Definitions are Meta's template JSON, checked as Meta does at creation (`(#100)` errors);
//! a new or edited template is PENDING until review on the virtual clock approves or rejects it
//! ([`crate::meta::template_rules::review`]). Status changes fire
//! `message_template_status_update` events.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::Pager;
use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::events::EventDraft;
use crate::meta::errors::MetaError;
use crate::meta::template_lifecycle;
use crate::meta::template_rules::{self, prepare};
use crate::model::validate::Input;
use crate::scheduler::Job;
use crate::state::{Template, TemplateStatus, Waba};

pub use crate::meta::template_lifecycle::TEMPLATE_LIMIT;

fn meta_invalid(e: MetaError) -> ApiError {
    ApiError::invalid_parameters(e.sync_message())
}

/// Meta's template object as GetWhatsAppMessageTemplate returns it (as a JSON string).
fn template_object(t: &Template) -> Value {
    let mut v = json!({
        "name": t.name,
        "parameter_format": t.definition["parameter_format"].as_str().unwrap_or("POSITIONAL"),
        "components": t.definition["components"],
        "language": t.language,
        "status": t.status,
        "category": t.category,
        "id": t.meta_template_id,
    });
    if let Some(ttl) = t.definition.get("message_send_ttl_seconds") {
        v["message_send_ttl_seconds"] = ttl.clone();
    }
    if let Some(reason) = &t.rejected_reason {
        v["rejected_reason"] = json!(reason);
    }
    if let Some(q) = &t.quality_score {
        v["quality_score"] = json!({ "score": q });
    }
    v
}

fn summary(t: &Template) -> Value {
    let mut v = json!({
        "templateName": t.name,
        "metaTemplateId": t.meta_template_id,
        "templateStatus": t.status,
        "templateLanguage": t.language,
        "templateCategory": t.category,
    });
    if let Some(q) = &t.quality_score {
        v["templateQualityScore"] = json!(q);
    }
    if let Some(source) = &t.source {
        v["templateSource"] = json!(source);
    }
    v
}

/// Publishes a `message_template_status_update` for `t`.
pub fn status_event(
    state: &AppState,
    account: &str,
    region: &str,
    waba: &WabaOf,
    t: &Template,
    extra: Value,
) {
    let now = state.clock.now_ms();
    state.bus.publish(template_lifecycle::status_event(account, region, waba, t, extra, now));
}

pub use crate::meta::effects::WabaOf;

/// Publishes a WABA-level webhook (`field`: `message_template_status_update`, `flows`, …).
pub fn publish_waba_event_of(
    state: &AppState,
    account: &str,
    region: &str,
    waba: &WabaOf,
    field: &'static str,
    value: Value,
) {
    let now = state.clock.now_ms();
    state.bus.publish(EventDraft::about_waba(account, region, waba, field, &value, now));
}

fn schedule_review(state: &AppState, ctx: &RequestContext, waba_hex: &str, t: &Template) {
    if template_rules::stays_pending(&t.name) {
        return;
    }
    state.scheduler.at(
        state.clock.now_ms() + state.config.template_review_delay_ms,
        Job::TemplateReview {
            account: ctx.account.clone(),
            region: ctx.region.clone(),
            waba_hex: waba_hex.to_string(),
            meta_template_id: t.meta_template_id.clone(),
        },
    );
}

/// A media handle is accepted in a definition only if this WABA uploaded it.
fn handles(waba: &Waba) -> HashSet<String> {
    waba.media_handles.iter().cloned().collect()
}

fn decode_json(bytes: &[u8], what: &str) -> ApiResult<Value> {
    serde_json::from_slice(bytes).map_err(|e| {
        meta_invalid(MetaError::with_details(100, format!("{what} is not valid JSON: {e}")))
    })
}

pub fn create_whatsapp_message_template(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let bytes = input.blobs.get("templateDefinition").map(Vec::as_slice).unwrap_or_default();
    let submitted = decode_json(bytes, "templateDefinition")?;
    let (t, waba_hex) = state.store.with(ctx, |p| -> ApiResult<(Template, String)> {
        let waba = p.waba_mut(ctx, id)?;
        let mut def = prepare(&submitted, &handles(waba)).map_err(meta_invalid)?;
        let name = def["name"].as_str().unwrap_or_default().to_string();
        let language = def["language"].as_str().unwrap_or_default().to_string();
        if waba.templates.iter().any(|t| t.name == name && t.language == language) {
            return Err(meta_invalid(MetaError::with_details(
                100,
                format!(
                    "Content in This Language Already Exists: {name} ({language}) (subcode 2388024)"
                ),
            )));
        }
        template_lifecycle::check_room(waba.templates.len()).map_err(meta_invalid)?;
        if def.get("parameter_format").is_none() {
            def["parameter_format"] = json!("POSITIONAL");
        }
        let t = Template {
            meta_template_id: state.ids.meta_id(16),
            category: def["category"].as_str().unwrap_or_default().to_string(),
            status: TemplateStatus::Pending,
            name,
            language,
            definition: def.clone(),
            ..Default::default()
        };
        waba.templates.push(t.clone());
        Ok((t, waba.hex.clone()))
    })?;
    schedule_review(state, ctx, &waba_hex, &t);
    Ok(json!({
        "metaTemplateId": t.meta_template_id,
        "templateStatus": t.status,
        "category": t.category,
    }))
}

/// The place of the template named by `metaTemplateId`, or by `templateName` +
/// `templateLanguageCode`, among the WABA's templates.
fn position(waba: &Waba, input: &Input) -> ApiResult<usize> {
    let by_id = input.str("metaTemplateId");
    let name = input.str("templateName");
    let language = input.str("templateLanguageCode");
    let found = match (by_id, name, language) {
        (Some(tid), _, _) => waba.templates.iter().position(|t| t.meta_template_id == tid),
        (None, Some(n), Some(l)) => {
            waba.templates.iter().position(|t| t.name == n && t.language == l)
        }
        (None, Some(n), None) => {
            let count = waba.templates.iter().filter(|t| t.name == n).count();
            if count > 1 {
                return Err(ApiError::invalid_parameters(format!(
                    "Template {n} exists in {count} languages: give templateLanguageCode or metaTemplateId"
                )));
            }
            waba.templates.iter().position(|t| t.name == n)
        }
        (None, None, _) => {
            return Err(ApiError::invalid_parameters(
                "Identify the template with metaTemplateId, or templateName and templateLanguageCode",
            ));
        }
    };
    found.ok_or_else(|| {
        ApiError::not_found(format!(
            "Template {} does not exist in this WhatsApp Business Account",
            by_id.or(name).unwrap_or_default()
        ))
    })
}

/// The template an input names, to change.
fn find<'w>(waba: &'w mut Waba, input: &Input) -> ApiResult<&'w mut Template> {
    let at = position(waba, input)?;
    Ok(&mut waba.templates[at])
}

pub fn get_whatsapp_message_template(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    state.store.read(ctx, |p| {
        let waba = p.waba(ctx, id)?;
        let t = &waba.templates[position(waba, input)?];
        Ok(json!({ "template": template_object(t).to_string() }))
    })
}

pub fn list_whatsapp_message_templates(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let pager = Pager { scope: "templates", default_size: 100 };
    state.store.read(ctx, |p| {
        let waba = p.waba(ctx, id)?;
        let mut sorted: Vec<&Template> = waba.templates.iter().collect();
        sorted.sort_by(|a, b| a.meta_template_id.cmp(&b.meta_template_id));
        let items = sorted.into_iter().map(|t| (t.meta_template_id.as_str(), summary(t)));
        pager.respond("templates", items, input.str("nextToken"), input.i64("maxResults"))
    })
}

/// Meta allows edits of an approved template 10 times in 30 days, once in 24 hours.
fn check_edit_limits(t: &Template, now: i64) -> ApiResult<()> {
    let day = crate::meta::DAY_MS;
    if t.edits.iter().any(|e| now - e < day) {
        return Err(meta_invalid(MetaError::with_details(
            100,
            format!(
                "template {} was edited less than 24 hours ago; an approved template can be edited once a day",
                t.name
            ),
        )));
    }
    if t.edits.iter().filter(|e| now - **e < 30 * day).count() >= 10 {
        return Err(meta_invalid(MetaError::with_details(
            100,
            format!("template {} was edited 10 times in 30 days", t.name),
        )));
    }
    Ok(())
}

pub fn update_whatsapp_message_template(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let components = match input.blobs.get("templateComponents") {
        Some(bytes) => Some(decode_json(bytes, "templateComponents")?),
        None => None,
    };
    let category = input.str("templateCategory").map(str::to_string);
    let format = input.str("parameterFormat").map(|f| f.to_ascii_uppercase());
    let tracking = input.bool("ctaUrlLinkTrackingOptedOut");
    let now = state.clock.now_ms();
    let (t, waba) = state.store.with(ctx, |p| -> ApiResult<(Template, WabaOf)> {
        let waba = p.waba_mut(ctx, id)?;
        let media = handles(waba);
        let t = find(waba, input)?;
        template_lifecycle::check_editable(t)
            .map_err(|e| meta_invalid(MetaError::with_details(100, e)))?;
        if t.status == TemplateStatus::Approved {
            check_edit_limits(t, now)?;
        }
        let mut def = t.definition.clone();
        if let Some(c) = &category {
            let c = c.to_ascii_uppercase();
            if !template_rules::CATEGORIES.contains(&c.as_str()) {
                return Err(meta_invalid(MetaError::with_details(
                    100,
                    format!("category '{c}' is invalid"),
                )));
            }
            // Meta, "Edit message templates": an approved template's category cannot change.
            if t.status == TemplateStatus::Approved && c != t.category {
                return Err(meta_invalid(MetaError::with_details(
                    100,
                    format!(
                        "the category of template {} cannot be changed while it is APPROVED ({} → {c}); only a REJECTED or PAUSED template's category can be edited",
                        t.name, t.category
                    ),
                )));
            }
            def["category"] = json!(c);
        }
        if let Some(f) = &format {
            def["parameter_format"] = json!(f);
        }
        if let Some(c) = components.clone() {
            def["components"] = c;
        }
        if let Some(opted_out) = tracking {
            def["cta_url_link_tracking_opted_out"] = json!(opted_out);
        }
        let def = if components.is_none() && crate::meta::authentication::is_authentication(&def) {
            // The stored form already is Meta's: only the category or a flag changed.
            template_rules::check_definition(&def, &media).map_err(meta_invalid)?;
            def
        } else {
            prepare(&def, &media).map_err(meta_invalid)?
        };
        t.category = def["category"].as_str().unwrap_or_default().to_string();
        t.definition = def;
        template_lifecycle::resubmit(t, now);
        let t = t.clone();
        Ok((t, WabaOf::of(waba)))
    })?;
    status_event(state, &ctx.account, &ctx.region, &waba, &t, json!({}));
    schedule_review(state, ctx, &waba.hex, &t);
    Ok(json!({}))
}

pub fn delete_whatsapp_message_template(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let name = input.req_str("templateName")?;
    let by_id = input.str("metaTemplateId");
    let all = input.bool("deleteAllLanguages").unwrap_or(false);
    let (deleted, waba) = state.store.with(ctx, |p| -> ApiResult<(Vec<Template>, WabaOf)> {
        let waba = p.waba_mut(ctx, id)?;
        let matches = |t: &Template| {
            t.name == name && (all || by_id.is_none_or(|tid| t.meta_template_id == tid))
        };
        let doomed: Vec<Template> = waba.templates.iter().filter(|t| matches(t)).cloned().collect();
        if doomed.is_empty() {
            return Err(ApiError::not_found(format!(
                "Template {name}{} does not exist in this WhatsApp Business Account",
                by_id.map(|t| format!(" ({t})")).unwrap_or_default()
            )));
        }
        for t in &doomed {
            template_lifecycle::check_deletable(t)
                .map_err(|e| meta_invalid(MetaError::with_details(100, e)))?;
        }
        waba.templates.retain(|t| !matches(t));
        Ok((doomed, WabaOf::of(waba)))
    })?;
    for mut t in deleted {
        t.status = TemplateStatus::Deleted;
        status_event(state, &ctx.account, &ctx.region, &waba, &t, json!({}));
    }
    Ok(json!({}))
}

/// Meta's template library, embedded from `fixtures/template-library.json`.
pub fn library() -> &'static [Value] {
    static LIBRARY: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    LIBRARY.get_or_init(|| {
        serde_json::from_str(include_str!("../../../fixtures/template-library.json"))
            .expect("the template library fixture is valid JSON")
    })
}

pub fn list_whatsapp_template_library(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    state.store.read(ctx, |p| p.waba(ctx, id).map(|_| ()))?;
    let filters: std::collections::BTreeMap<String, String> =
        input.parse("filters")?.unwrap_or_default();
    for key in filters.keys() {
        if !["searchKey", "topic", "usecase", "industry", "language"].contains(&key.as_str()) {
            return Err(ApiError::invalid_parameters(format!(
                "Unknown filter '{key}': use searchKey, topic, usecase, industry or language"
            )));
        }
    }
    let matches = |t: &Value| {
        filters.iter().all(|(k, v)| {
            let v = v.to_ascii_lowercase();
            let field = |name: &str| t[name].as_str().unwrap_or_default().to_ascii_lowercase();
            match k.as_str() {
                "searchKey" => {
                    field("templateName").contains(&v) || field("templateBody").contains(&v)
                }
                "topic" => field("templateTopic") == v,
                "usecase" => field("templateUseCase") == v,
                "language" => field("templateLanguage") == v,
                _ => t["templateIndustry"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|i| i.as_str().is_some_and(|i| i.eq_ignore_ascii_case(&v))),
            }
        })
    };
    let pager = Pager { scope: "template-library", default_size: 25 };
    let items = library()
        .iter()
        .filter(|t| matches(t))
        .map(|t| (t["templateId"].as_str().unwrap_or_default(), t.clone()));
    pager.respond("metaLibraryTemplates", items, input.str("nextToken"), input.i64("maxResults"))
}

pub fn create_whatsapp_message_template_from_library(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let spec = input.get("metaLibraryTemplate").cloned().unwrap_or(Value::Null);
    let library_name = spec["libraryTemplateName"].as_str().unwrap_or_default();
    let language = spec["templateLanguage"].as_str().unwrap_or_default();
    let Some(source) = library()
        .iter()
        .find(|t| t["templateName"] == library_name && t["templateLanguage"] == language)
    else {
        return Err(ApiError::invalid_parameters(format!(
            "metaLibraryTemplate.libraryTemplateName '{library_name}' is not in the template library in {language}"
        )));
    };
    let category = spec["templateCategory"].as_str().unwrap_or_default();
    if !source["templateCategory"].as_str().is_some_and(|c| c.eq_ignore_ascii_case(category)) {
        return Err(ApiError::invalid_parameters(format!(
            "metaLibraryTemplate.templateCategory '{category}' does not match the library template's category {}",
            source["templateCategory"].as_str().unwrap_or_default()
        )));
    }
    let submitted = library_definition(source, &spec)?;
    let (t, _) = state.store.with(ctx, |p| -> ApiResult<(Template, String)> {
        let waba = p.waba_mut(ctx, id)?;
        let def = prepare(&submitted, &handles(waba)).map_err(meta_invalid)?;
        let name = def["name"].as_str().unwrap_or_default().to_string();
        if waba.templates.iter().any(|t| t.name == name && t.language == language) {
            return Err(meta_invalid(MetaError::with_details(
                100,
                format!(
                    "Content in This Language Already Exists: {name} ({language}) (subcode 2388024)"
                ),
            )));
        }
        template_lifecycle::check_room(waba.templates.len()).map_err(meta_invalid)?;
        // Library content is pre-approved by Meta: no review.
        let t = Template {
            meta_template_id: state.ids.meta_id(16),
            name,
            language: language.to_string(),
            category: def["category"].as_str().unwrap_or_default().to_string(),
            status: TemplateStatus::Approved,
            quality_score: Some("UNKNOWN".into()),
            definition: def.clone(),
            source: Some("LIBRARY".into()),
            ..Default::default()
        };
        waba.templates.push(t.clone());
        Ok((t, waba.hex.clone()))
    })?;
    Ok(
        json!({ "metaTemplateId": t.meta_template_id, "templateStatus": t.status, "category": t.category }),
    )
}

/// A template definition from a library template and the caller's inputs.
fn library_definition(source: &Value, spec: &Value) -> ApiResult<Value> {
    // The security recommendation and code expiry inputs are an authentication template's.
    if source["templateCategory"].as_str().is_some_and(|c| c.eq_ignore_ascii_case("AUTHENTICATION"))
    {
        return Ok(library_authentication(source, spec));
    }
    let body = source["templateBody"].as_str().unwrap_or_default().to_string();
    let mut components = vec![];
    if let Some(header) = source["templateHeader"].as_str() {
        components.push(json!({ "type": "HEADER", "format": "TEXT", "text": header }));
    }
    let params = crate::meta::templates::placeholders(&body);
    let examples: Vec<Value> =
        source["templateBodyExampleParams"].as_array().cloned().unwrap_or_default();
    let mut body_component = json!({ "type": "BODY", "text": body });
    if !params.is_empty() {
        body_component["example"] = json!({ "body_text": [examples] });
    }
    components.push(body_component);
    let button_inputs: Vec<Value> =
        spec["libraryTemplateButtonInputs"].as_array().cloned().unwrap_or_default();
    let mut buttons = Vec::new();
    for (i, b) in source["templateButtons"].as_array().into_iter().flatten().enumerate() {
        let mut button = json!({ "type": b["type"], "text": b["text"] });
        let given = button_inputs.iter().find(|x| x["type"] == b["type"]).or(button_inputs.get(i));
        match b["type"].as_str() {
            Some("URL") => {
                let url = given
                    .and_then(|g| g["url"]["base_url"].as_str())
                    .or(b["url"].as_str())
                    .unwrap_or_default()
                    .to_string();
                if url.is_empty() {
                    return Err(ApiError::invalid_parameters(format!(
                        "libraryTemplateButtonInputs: the URL button {i} needs url.base_url"
                    )));
                }
                button["url"] = json!(url);
                if crate::meta::templates::placeholders(&url).len() == 1 {
                    let example = given
                        .and_then(|g| g["url"]["url_suffix_example"].as_str())
                        .unwrap_or("example");
                    button["example"] = json!([example]);
                }
            }
            Some("PHONE_NUMBER") => {
                let number =
                    given.and_then(|g| g["phoneNumber"].as_str()).or(b["phoneNumber"].as_str());
                let Some(number) = number else {
                    return Err(ApiError::invalid_parameters(format!(
                        "libraryTemplateButtonInputs: the PHONE_NUMBER button {i} needs phoneNumber"
                    )));
                };
                button["phone_number"] = json!(number);
            }
            _ => {}
        }
        buttons.push(button);
    }
    if !buttons.is_empty() {
        components.push(json!({ "type": "BUTTONS", "buttons": buttons }));
    }
    Ok(json!({
        "name": spec["templateName"],
        "language": spec["templateLanguage"],
        "category": source["templateCategory"].as_str().unwrap_or_default().to_ascii_uppercase(),
        "parameter_format": "POSITIONAL",
        "library_template_name": source["templateName"],
        "components": components,
    }))
}

/// A library authentication template as Meta's creation request submits it (preset body, expiry
/// footer, OTP button), for [`prepare`] to turn into Meta's stored form.
fn library_authentication(source: &Value, spec: &Value) -> Value {
    let inputs = &spec["libraryTemplateBodyInputs"];
    let mut components = vec![json!({
        "type": "BODY",
        "add_security_recommendation": inputs["addSecurityRecommendation"] == true,
    })];
    if !inputs["codeExpirationMinutes"].is_null() {
        components.push(
            json!({ "type": "FOOTER", "code_expiration_minutes": inputs["codeExpirationMinutes"] }),
        );
    }
    let given = spec["libraryTemplateButtonInputs"].as_array().and_then(|b| b.first());
    let library = source["templateButtons"].as_array().and_then(|b| b.first());
    let otp_type = given
        .and_then(|g| g["otpType"].as_str())
        .or(library.and_then(|b| b["otpType"].as_str()))
        .unwrap_or("COPY_CODE");
    let mut button = json!({ "type": "OTP", "otp_type": otp_type });
    if let Some(g) = given {
        if !g["supportedApps"].is_null() {
            button["supported_apps"] = g["supportedApps"].clone();
        }
        if !g["zeroTapTermsAccepted"].is_null() {
            button["zero_tap_terms_accepted"] = g["zeroTapTermsAccepted"].clone();
        }
    }
    components.push(json!({ "type": "BUTTONS", "buttons": [button] }));
    json!({
        "name": spec["templateName"],
        "language": spec["templateLanguage"],
        "category": "AUTHENTICATION",
        "library_template_name": source["templateName"],
        "components": components,
    })
}
