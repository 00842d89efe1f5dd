//! Message templates (own, from the library, reviewed on the clock) and WhatsApp Flows.

use aws_sdk_socialmessaging::types::{
    LibraryTemplateBodyInputs, LibraryTemplateButtonInput, MetaFlowCategory, MetaLibraryTemplate,
};
use serde_json::{Value, json};

use super::{blob, done, linked, unique};
use crate::{Ctx, Outcome, Stop, check, expect_error, ok};

const UNKNOWN_TEMPLATE: &str = "999999999999999";
const UNKNOWN_FLOW: &str = "9999999999999999";

fn definition(name: &str) -> Value {
    json!({
        "name": name,
        "language": "en_US",
        "category": "UTILITY",
        "components": [
            { "type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped and arrives on Friday.",
              "example": { "body_text": [["Pablo", "#123"]] } },
            { "type": "FOOTER", "text": "Reply STOP to opt out" },
        ],
    })
}

pub async fn list_and_get_templates(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let list = ok(
        "ListWhatsAppMessageTemplates",
        c.list_whats_app_message_templates().id(&waba.waba_id).send().await,
    )?;
    let Some(first) = list.templates().iter().find_map(|t| t.meta_template_id()) else {
        return Err(Stop::Skip(format!("{} has no template to get", waba.waba_id)));
    };
    let got = ok(
        "GetWhatsAppMessageTemplate",
        c.get_whats_app_message_template().id(&waba.waba_id).meta_template_id(first).send().await,
    )?;
    let template: Value = serde_json::from_str(got.template().ok_or("no template")?)
        .map_err(|e| format!("the template is not a JSON string: {e}"))?;
    check(template["id"] == json!(first), || format!("got another template: {template}"))?;
    Ok(format!("{} template(s); got {first}", list.templates().len()))
}

pub async fn unknown_template(ctx: &Ctx) -> Outcome {
    let waba = linked(ctx).await?;
    done(vec![expect_error(
        "GetWhatsAppMessageTemplate",
        ctx.client
            .get_whats_app_message_template()
            .id(&waba.waba_id)
            .meta_template_id(UNKNOWN_TEMPLATE)
            .send()
            .await,
        "ResourceNotFoundException",
    )?])
}

pub async fn list_the_template_library(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let page = ok(
        "ListWhatsAppTemplateLibrary",
        c.list_whats_app_template_library().id(&waba.waba_id).max_results(3).send().await,
    )?;
    check(!page.meta_library_templates().is_empty(), || "the library is empty".into())?;
    done(vec![
        format!("{} library template(s) on the first page", page.meta_library_templates().len()),
        expect_error(
            "ListWhatsAppTemplateLibrary",
            c.list_whats_app_template_library()
                .id(&waba.waba_id)
                .filters("colour", "red")
                .send()
                .await,
            "InvalidParametersException",
        )?,
    ])
}

fn new_components() -> Value {
    json!([{ "type": "BODY",
        "text": "Hello {{1}}, order {{2}} is packed and leaves the warehouse today.",
        "example": { "body_text": [["Pablo", "#123"]] } }])
}

/// Creates a template from its definition; returns its Meta template id.
async fn create_template(
    c: &aws_sdk_socialmessaging::Client,
    waba_id: &str,
    definition: &Value,
) -> Result<String, String> {
    let created = ok(
        "CreateWhatsAppMessageTemplate",
        c.create_whats_app_message_template()
            .id(waba_id)
            .template_definition(blob(definition))
            .send()
            .await,
    )?;
    Ok(created.meta_template_id().ok_or("no metaTemplateId")?.to_string())
}

/// Deletes one language of a template the scenario created.
async fn delete_template(
    c: &aws_sdk_socialmessaging::Client,
    waba_id: &str,
    name: &str,
    id: &str,
) -> Result<(), String> {
    ok(
        "DeleteWhatsAppMessageTemplate",
        c.delete_whats_app_message_template()
            .id(waba_id)
            .template_name(name)
            .meta_template_id(id)
            .send()
            .await,
    )
    .map(|_| ())
}

/// An authentication template created as Meta's copy-code page shows it comes back as Meta
/// stores it: the preset body and footer, the OTP button as a URL button carrying the code.
pub async fn authentication_template_as_meta_stores_it(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let name = format!("conformance_login_{}", unique());
    let submitted = json!({
        "name": name,
        "language": "en_US",
        "category": "AUTHENTICATION",
        "message_send_ttl_seconds": 600,
        "components": [
            { "type": "BODY", "add_security_recommendation": true },
            { "type": "FOOTER", "code_expiration_minutes": 10 },
            { "type": "BUTTONS", "buttons": [{ "type": "OTP", "otp_type": "COPY_CODE" }] },
        ],
    });
    let id = create_template(c, &waba.waba_id, &submitted).await?;
    let result = async {
        let got = ok(
            "GetWhatsAppMessageTemplate",
            c.get_whats_app_message_template().id(&waba.waba_id).meta_template_id(&id).send().await,
        )?;
        let template: Value = serde_json::from_str(got.template().unwrap_or("{}"))
            .map_err(|e| format!("the template is not a JSON string: {e}"))?;
        let components = template["components"].as_array().cloned().unwrap_or_default();
        let of = |kind: &str| {
            components.iter().find(|c| c["type"] == kind).cloned().unwrap_or(Value::Null)
        };
        let body = of("BODY")["text"].as_str().unwrap_or_default().to_string();
        check(body.starts_with("*{{1}}* is your verification code."), || {
            format!("the body is {body:?}, not Meta's preset")
        })?;
        let footer = of("FOOTER")["text"].as_str().unwrap_or_default().to_string();
        check(footer == "This code expires in 10 minutes.", || format!("the footer is {footer:?}"))?;
        let button = of("BUTTONS")["buttons"][0].clone();
        let url = button["url"].as_str().unwrap_or_default();
        check(
            button["type"] == "URL"
                && url.contains("otp_type=COPY_CODE")
                && url.ends_with("code=otp{{1}}"),
            || format!("the OTP button is {button}"),
        )?;
        // Without the code the send could not fill the body: a refused definition shows that
        // AUTHENTICATION templates take no text of their own.
        let with_text = json!({
            "name": format!("{name}_text"), "language": "en_US", "category": "AUTHENTICATION",
            "components": [
                { "type": "BODY", "text": "Your code is {{1}}", "example": { "body_text": [["1"]] } },
                { "type": "BUTTONS", "buttons": [{ "type": "OTP", "otp_type": "COPY_CODE" }] },
            ],
        });
        expect_error(
            "CreateWhatsAppMessageTemplate",
            c.create_whats_app_message_template()
                .id(&waba.waba_id)
                .template_definition(blob(&with_text))
                .send()
                .await,
            "InvalidParametersException",
        )
    }
    .await;
    delete_template(c, &waba.waba_id, &name, &id).await?;
    done(vec![format!("created, read and deleted {name} ({id})"), result?])
}

pub async fn template_create_get_delete(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let name = format!("conformance_order_{}", unique());
    let id = create_template(c, &waba.waba_id, &definition(&name)).await?;
    let result = async {
        let duplicate = expect_error(
            "CreateWhatsAppMessageTemplate",
            c.create_whats_app_message_template()
                .id(&waba.waba_id)
                .template_definition(blob(&definition(&name)))
                .send()
                .await,
            "InvalidParametersException",
        )?;
        let got = ok(
            "GetWhatsAppMessageTemplate",
            c.get_whats_app_message_template()
                .id(&waba.waba_id)
                .template_name(&name)
                .template_language_code("en_US")
                .send()
                .await,
        )?;
        let template: Value = serde_json::from_str(got.template().unwrap_or("{}"))
            .map_err(|e| format!("the template is not a JSON string: {e}"))?;
        check(template["name"] == json!(name), || format!("got {template}"))?;
        // Meta edits only APPROVED, REJECTED or PAUSED templates: this one is in review.
        let pending = expect_error(
            "UpdateWhatsAppMessageTemplate",
            c.update_whats_app_message_template()
                .id(&waba.waba_id)
                .meta_template_id(&id)
                .template_components(blob(&new_components()))
                .send()
                .await,
            "InvalidParametersException",
        )?;
        Ok::<_, String>(format!("{duplicate}; {pending}"))
    }
    .await;
    delete_template(c, &waba.waba_id, &name, &id).await?;
    let duplicate = result?;
    done(vec![
        format!("created, read and deleted {name} ({id})"),
        duplicate,
        expect_error(
            "GetWhatsAppMessageTemplate",
            c.get_whats_app_message_template().id(&waba.waba_id).meta_template_id(&id).send().await,
            "ResourceNotFoundException",
        )?,
        expect_error(
            "DeleteWhatsAppMessageTemplate",
            c.delete_whats_app_message_template()
                .id(&waba.waba_id)
                .template_name(&name)
                .send()
                .await,
            "ResourceNotFoundException",
        )?,
    ])
}

pub async fn template_from_the_library(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let name = format!("conformance_confirmation_{}", unique());
    let template = MetaLibraryTemplate::builder()
        .template_name(&name)
        .library_template_name("order_confirmation")
        .template_category("UTILITY")
        .template_language("en_US")
        .library_template_button_inputs(
            LibraryTemplateButtonInput::builder()
                .r#type("URL")
                .url("base_url", "https://shop.example.com/orders/{{1}}")
                .url("url_suffix_example", "12345")
                .build(),
        )
        .library_template_body_inputs(LibraryTemplateBodyInputs::builder().build())
        .build()
        .map_err(|e| e.to_string())?;
    let created = ok(
        "CreateWhatsAppMessageTemplateFromLibrary",
        c.create_whats_app_message_template_from_library()
            .id(&waba.waba_id)
            .meta_library_template(template)
            .send()
            .await,
    )?;
    let id = created.meta_template_id().ok_or("no metaTemplateId")?.to_string();
    delete_template(c, &waba.waba_id, &name, &id).await?;
    let unknown = MetaLibraryTemplate::builder()
        .template_name("conformance_nope")
        .library_template_name("no_such_library_template")
        .template_category("UTILITY")
        .template_language("en_US")
        .build()
        .map_err(|e| e.to_string())?;
    done(vec![
        format!("{name} ({id}) created from the library and deleted"),
        expect_error(
            "CreateWhatsAppMessageTemplateFromLibrary",
            c.create_whats_app_message_template_from_library()
                .id(&waba.waba_id)
                .meta_library_template(unknown)
                .send()
                .await,
            "InvalidParametersException",
        )?,
    ])
}

/// Creates a template, lets Meta's review approve it on the virtual clock, sends it, edits it,
/// deletes it.
pub async fn template_review_then_send(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let name = format!("conformance_review_{}", unique());
    let id = create_template(c, &waba.waba_id, &definition(&name)).await?;
    ctx.control("POST", "/clock/advance", Some(json!({ "seconds": 10 }))).await?;
    ctx.settle().await?;
    let got = ok(
        "GetWhatsAppMessageTemplate",
        c.get_whats_app_message_template().id(&waba.waba_id).meta_template_id(&id).send().await,
    )?;
    let template: Value = serde_json::from_str(got.template().unwrap_or("{}"))
        .map_err(|e| format!("the template is not a JSON string: {e}"))?;
    check(template["status"] == json!("APPROVED"), || format!("not approved: {template}"))?;
    let message = json!({
        "messaging_product": "whatsapp", "to": "15550000001", "type": "template",
        "template": { "name": name, "language": { "code": "en_US" }, "components": [
            { "type": "body", "parameters": [ { "type": "text", "text": "Pablo" }, { "type": "text", "text": "#123" } ] }
        ] }
    });
    let sent = ok(
        "SendWhatsAppMessage",
        c.send_whats_app_message()
            .origination_phone_number_id(&waba.phone_id)
            .meta_api_version("v20.0")
            .message(blob(&message))
            .send()
            .await,
    )?;
    // An approved template can be edited; the edit sends it back to review.
    ok(
        "UpdateWhatsAppMessageTemplate",
        c.update_whats_app_message_template()
            .id(&waba.waba_id)
            .meta_template_id(&id)
            .template_components(blob(&new_components()))
            .send()
            .await,
    )?;
    let got = ok(
        "GetWhatsAppMessageTemplate",
        c.get_whats_app_message_template().id(&waba.waba_id).meta_template_id(&id).send().await,
    )?;
    let template: Value = serde_json::from_str(got.template().unwrap_or("{}"))
        .map_err(|e| format!("the template is not a JSON string: {e}"))?;
    check(template["status"] == json!("PENDING"), || format!("an edit is reviewed: {template}"))?;
    ok(
        "DeleteWhatsAppMessageTemplate",
        c.delete_whats_app_message_template().id(&waba.waba_id).template_name(&name).send().await,
    )?;
    Ok(format!(
        "{name} approved, sent as {}, edited, deleted",
        sent.message_id().unwrap_or_default()
    ))
}

/// A valid static flow: WELCOME navigates to the terminal screen DONE.
fn static_flow(title: &str) -> Value {
    json!({
        "version": "7.2",
        "screens": [
            { "id": "WELCOME", "title": title, "layout": { "type": "SingleColumnLayout", "children": [
                { "type": "TextHeading", "text": "Book an appointment" },
                { "type": "Footer", "label": "Next",
                  "on-click-action": { "name": "navigate", "next": { "type": "screen", "name": "DONE" }, "payload": {} } }
            ] } },
            { "id": "DONE", "title": "Done", "terminal": true, "success": true,
              "layout": { "type": "SingleColumnLayout", "children": [
                { "type": "TextBody", "text": "See you soon" },
                { "type": "Footer", "label": "Finish", "on-click-action": { "name": "complete", "payload": {} } }
            ] } }
        ]
    })
}

pub async fn list_flows(ctx: &Ctx) -> Outcome {
    let waba = linked(ctx).await?;
    let list =
        ok("ListWhatsAppFlows", ctx.client.list_whats_app_flows().id(&waba.waba_id).send().await)?;
    Ok(format!("{} flow(s) on the first page", list.flows().len()))
}

pub async fn unknown_flow(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    done(vec![
        expect_error(
            "GetWhatsAppFlow",
            c.get_whats_app_flow().id(&waba.waba_id).flow_id(UNKNOWN_FLOW).send().await,
            "ResourceNotFoundException",
        )?,
        expect_error(
            "ListWhatsAppFlowAssets",
            c.list_whats_app_flow_assets().id(&waba.waba_id).flow_id(UNKNOWN_FLOW).send().await,
            "ResourceNotFoundException",
        )?,
    ])
}

async fn create_flow(ctx: &Ctx, waba_id: &str, name: &str) -> Result<String, String> {
    let created = ok(
        "CreateWhatsAppFlow",
        ctx.client
            .create_whats_app_flow()
            .id(waba_id)
            .flow_name(name)
            .categories(MetaFlowCategory::AppointmentBooking)
            .flow_json(blob(&static_flow("Welcome")))
            .send()
            .await,
    )?;
    Ok(created.flow_id().ok_or("no flowId")?.to_string())
}

/// DRAFT → edited → PUBLISHED → DEPRECATED (a published flow cannot be deleted; deprecating is
/// its clean-up).
pub async fn flow_lifecycle(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let w = waba.waba_id.as_str();
    let flow = create_flow(ctx, w, &format!("Conformance {}", unique())).await?;
    let got = ok("GetWhatsAppFlow", c.get_whats_app_flow().id(w).flow_id(&flow).send().await)?;
    check(got.flow_status() == "DRAFT", || format!("a new flow is {}", got.flow_status()))?;
    rename_flow(c, w, &flow, format!("Renamed {flow}")).await?;
    replace_flow_json(c, w, &flow, "Hello again").await?;
    let assets = ok(
        "ListWhatsAppFlowAssets",
        c.list_whats_app_flow_assets().id(w).flow_id(&flow).send().await,
    )?;
    check(!assets.flow_assets().is_empty(), || "no flow assets".into())?;
    let preview = ok(
        "GetWhatsAppFlowPreview",
        c.get_whats_app_flow_preview().id(w).flow_id(&flow).send().await,
    )?;
    check(preview.preview().is_some(), || "no preview".into())?;
    ok("PublishWhatsAppFlow", c.publish_whats_app_flow().id(w).flow_id(&flow).send().await)?;
    let again = expect_error(
        "PublishWhatsAppFlow",
        c.publish_whats_app_flow().id(w).flow_id(&flow).send().await,
        "InvalidParametersException",
    )?;
    ok("DeprecateWhatsAppFlow", c.deprecate_whats_app_flow().id(w).flow_id(&flow).send().await)?;
    let got = ok("GetWhatsAppFlow", c.get_whats_app_flow().id(w).flow_id(&flow).send().await)?;
    check(got.flow_status() == "DEPRECATED", || format!("ends {}", got.flow_status()))?;
    done(vec![format!("flow {flow} drafted, edited, published and deprecated"), again])
}

/// UpdateWhatsAppFlowAssets with a static flow greeting `greeting`.
async fn replace_flow_json(
    c: &aws_sdk_socialmessaging::Client,
    waba_id: &str,
    flow: &str,
    greeting: &str,
) -> Result<(), String> {
    let json = blob(&static_flow(greeting));
    let replaced =
        c.update_whats_app_flow_assets().id(waba_id).flow_id(flow).flow_json(json).send().await;
    ok("UpdateWhatsAppFlowAssets", replaced).map(|_| ())
}

/// UpdateWhatsAppFlow of a flow's name.
async fn rename_flow(
    c: &aws_sdk_socialmessaging::Client,
    waba_id: &str,
    flow: &str,
    name: String,
) -> Result<(), String> {
    let renamed = c.update_whats_app_flow().id(waba_id).flow_id(flow).flow_name(name).send().await;
    ok("UpdateWhatsAppFlow", renamed).map(|_| ())
}

/// A published flow is edited as AWS documents it: new Flow JSON returns it to DRAFT
/// (UpdateWhatsAppFlowAssets), its name changes in place, and it is published again.
pub async fn flow_edit_after_publishing(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let w = waba.waba_id.as_str();
    let flow = create_flow(ctx, w, &format!("Conformance edit {}", unique())).await?;
    ok("PublishWhatsAppFlow", c.publish_whats_app_flow().id(w).flow_id(&flow).send().await)?;
    rename_flow(c, w, &flow, format!("Published {flow}")).await?;
    let got = ok("GetWhatsAppFlow", c.get_whats_app_flow().id(w).flow_id(&flow).send().await)?;
    check(got.flow_status() == "PUBLISHED", || {
        format!("renaming a published flow left it {}", got.flow_status())
    })?;
    replace_flow_json(c, w, &flow, "Edited after publishing").await?;
    let got = ok("GetWhatsAppFlow", c.get_whats_app_flow().id(w).flow_id(&flow).send().await)?;
    check(got.flow_status() == "DRAFT", || {
        format!("new Flow JSON left the published flow {}", got.flow_status())
    })?;
    ok("PublishWhatsAppFlow", c.publish_whats_app_flow().id(w).flow_id(&flow).send().await)?;
    ok("DeprecateWhatsAppFlow", c.deprecate_whats_app_flow().id(w).flow_id(&flow).send().await)?;
    done(vec![format!("flow {flow} published, renamed, edited back to DRAFT, published again")])
}

/// Every status change of a flow reaches the event destination as a `flows` webhook
/// (`FLOW_STATUS_CHANGE`), Meta's health decisions (BLOCKED, THROTTLED) included.
pub async fn flow_status_events(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let w = waba.waba_id.as_str();
    let flow = create_flow(ctx, w, &format!("Conformance events {}", unique())).await?;
    ok("PublishWhatsAppFlow", c.publish_whats_app_flow().id(w).flow_id(&flow).send().await)?;
    let path = format!("/flows/{flow}/status");
    let blocked = json!({ "status": "BLOCKED", "reason": "Policy violation detected" });
    ctx.control("POST", &path, Some(blocked)).await?;
    let got = ok("GetWhatsAppFlow", c.get_whats_app_flow().id(w).flow_id(&flow).send().await)?;
    let health = got.health_status().map(|h| h.can_send_message().to_string());
    check(got.flow_status() == "BLOCKED" && health.as_deref() == Some("BLOCKED"), || {
        format!("a blocked flow is {} with health {health:?}", got.flow_status())
    })?;
    ctx.control("POST", &path, Some(json!({ "status": "PUBLISHED" }))).await?;
    ok("DeprecateWhatsAppFlow", c.deprecate_whats_app_flow().id(w).flow_id(&flow).send().await)?;
    let events = ctx.control("GET", "/events?kind=flows", None).await?;
    let mut changes = Vec::new();
    for event in events["events"].as_array().into_iter().flatten() {
        let entry: Value = serde_json::from_str(
            event["envelope"]["whatsAppWebhookEntry"].as_str().unwrap_or("{}"),
        )
        .map_err(|e| format!("an entry is not JSON: {e}"))?;
        let value = &entry["changes"][0]["value"];
        if value["flow_id"] == json!(flow) && value["event"] == "FLOW_STATUS_CHANGE" {
            changes.push(format!(
                "{}→{}",
                value["old_status"].as_str().unwrap_or("?"),
                value["new_status"].as_str().unwrap_or("?")
            ));
        }
    }
    let expected =
        ["DRAFT→PUBLISHED", "PUBLISHED→BLOCKED", "BLOCKED→PUBLISHED", "PUBLISHED→DEPRECATED"];
    check(changes == expected, || {
        format!("flow status events {changes:?}, expected {expected:?}")
    })?;
    done(vec![format!("flow {flow}: {}", changes.join(", "))])
}

pub async fn flow_delete_a_draft(ctx: &Ctx) -> Outcome {
    let c = &ctx.client;
    let waba = linked(ctx).await?;
    let w = waba.waba_id.as_str();
    let flow = create_flow(ctx, w, &format!("Conformance draft {}", unique())).await?;
    ok("DeleteWhatsAppFlow", c.delete_whats_app_flow().id(w).flow_id(&flow).send().await)?;
    done(vec![
        format!("draft {flow} deleted"),
        expect_error(
            "GetWhatsAppFlow",
            c.get_whats_app_flow().id(w).flow_id(&flow).send().await,
            "ResourceNotFoundException",
        )?,
        expect_error(
            "DeleteWhatsAppFlow",
            c.delete_whats_app_flow().id(w).flow_id(&flow).send().await,
            "ResourceNotFoundException",
        )?,
    ])
}
