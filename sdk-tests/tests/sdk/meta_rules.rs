//! Drives every entry of Meta's rules catalogue (`fixtures/meta-rules.json`) through the real
//! SDK: each rule's probes set up what they need (a customer writing in, approved templates, the
//! clock), make one call (a send, a template creation, edit or library creation) and check the
//! outcome the catalogue states (the typed exception and Meta's code, the statuses that follow,
//! the review's decision, or the template as GetWhatsAppMessageTemplate returns it).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_socialmessaging::Client;
use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use aws_sdk_socialmessaging::types::{LibraryTemplateBodyInputs, MetaLibraryTemplate};
use sdk_tests::*;
use serde_json::{Value, json};

const CATALOGUE: &str = include_str!("../../../fixtures/meta-rules.json");
/// The customer of every probe unless a probe names another.
const CUSTOMER: &str = "14255550123";

fn catalogue() -> Value {
    serde_json::from_str(CATALOGUE).expect("fixtures/meta-rules.json is JSON")
}

/// Every entry says what is checked, where it comes from and how it fails, and has probes.
#[test]
fn every_rule_is_described_and_sourced() {
    let catalogue = catalogue();
    let rules = catalogue["rules"].as_array().expect("rules");
    assert!(rules.len() >= 40, "the catalogue lists {} rules", rules.len());
    let mut ids = BTreeSet::new();
    for rule in rules {
        let id = rule["id"].as_str().expect("id");
        assert!(ids.insert(id), "{id} appears twice");
        for field in ["area", "rule", "source"] {
            assert!(rule[field].as_str().is_some_and(|s| s.len() > 3), "{id}: {field} is missing");
        }
        assert!(
            ["sync", "async", "review", "stored"].contains(&rule["when"].as_str().unwrap_or("")),
            "{id}: when must be sync, async, review or stored"
        );
        let probes = rule["probes"].as_array().expect("probes");
        assert!(!probes.is_empty(), "{id} has no probe");
        if let Some(code) = rule["error"]["code"].as_u64() {
            assert!(rule["error"]["message"].as_str().is_some(), "{id}: error.message");
            let triggered = probes.iter().any(|p| {
                p["expect"]["refused"]["code"].as_u64() == Some(code)
                    || p["expect"]["errorCode"].as_u64() == Some(code)
            });
            assert!(triggered, "{id}: no probe produces its error {code}");
        }
    }
    for gap in catalogue["notEmulated"].as_array().expect("notEmulated") {
        assert!(gap["rule"].as_str().is_some() && gap["source"].as_str().is_some(), "{gap}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_holds_through_the_sdk() {
    let catalogue = catalogue();
    let gate = Arc::new(tokio::sync::Semaphore::new(6));
    let mut tasks = tokio::task::JoinSet::new();
    for rule in catalogue["rules"].as_array().expect("rules").clone() {
        for (i, probe) in
            rule["probes"].as_array().cloned().unwrap_or_default().into_iter().enumerate()
        {
            let gate = gate.clone();
            let id = format!("{}#{i}", rule["id"].as_str().unwrap_or_default());
            tasks.spawn(async move {
                let _permit = gate.acquire().await.expect("semaphore");
                let emu = emulator_without_quotas().await;
                let outcome = run_probe(&emu, &probe).await;
                (id, probe["name"].as_str().unwrap_or_default().to_string(), outcome)
            });
        }
    }
    let mut failures = BTreeMap::new();
    let mut ran = 0;
    while let Some(done) = tasks.join_next().await {
        let (id, name, outcome) = done.expect("probe task");
        ran += 1;
        if let Err(why) = outcome {
            failures.insert(id, format!("{name}: {why}"));
        }
    }
    assert!(ran >= 80, "only {ran} probes ran");
    assert!(failures.is_empty(), "{} of {ran} probes failed:\n{failures:#?}", failures.len());
}

/// How often a probe makes its call (`repeat`, default 1); the outcome is the last call's.
fn repeat(probe: &Value) -> u64 {
    probe["repeat"].as_u64().unwrap_or(1)
}

/// `{i}` in every string of `v` → `i` (the repetition), so repeated calls can differ.
fn numbered(v: &Value, i: u64) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("{i}", &i.to_string())),
        Value::Array(items) => Value::Array(items.iter().map(|x| numbered(x, i)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, x)| (k.clone(), numbered(x, i))).collect())
        }
        other => other.clone(),
    }
}

/// Replaces `$name` in every string of `v` with what setup recorded under `name`.
fn substitute(v: &Value, vars: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) => {
            let mut out = s.clone();
            // Longest names first: `$inbound2` before `$inbound`.
            let mut names: Vec<&String> = vars.keys().collect();
            names.sort_by_key(|n| std::cmp::Reverse(n.len()));
            for name in names {
                out = out.replace(&format!("${name}"), &vars[name]);
            }
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| substitute(i, vars)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), substitute(v, vars))).collect())
        }
        other => other.clone(),
    }
}

type Outcome = Result<(), String>;

async fn run_probe(emu: &Emulator, probe: &Value) -> Outcome {
    let (client, control) = (client(emu), Control::new(emu));
    let mut vars = BTreeMap::from([
        ("customer".to_string(), CUSTOMER.to_string()),
        ("phone".to_string(), PHONE_1.to_string()),
    ]);
    for step in probe["setup"].as_array().into_iter().flatten() {
        let step = substitute(step, &vars);
        setup(&client, &control, &step, &mut vars).await?;
    }
    let probe = substitute(probe, &vars);
    let expect = &probe["expect"];
    let api = probe["apiVersion"].as_str().unwrap_or("v20.0");
    if let Some(message) = probe.get("send") {
        let mut message = message.clone();
        message["messaging_product"] = json!("whatsapp");
        if message.get("to").is_none() && message.get("message_id").is_none() {
            message["to"] = json!(CUSTOMER);
        }
        let mut result = Err(String::new());
        for i in 0..repeat(&probe) {
            result = client
                .send_whats_app_message()
                .origination_phone_number_id(PHONE_1)
                .meta_api_version(api)
                .message(message_blob(numbered(&message, i)))
                .send()
                .await
                .map(|out| out.message_id().unwrap_or_default().to_string())
                .map_err(|e| refusal(e.into_service_error()));
        }
        return check_call(&control, expect, result).await;
    }
    if let Some(def) = probe.get("createTemplate") {
        let mut result = Err(String::new());
        for i in 0..repeat(&probe) {
            result = create_template(&client, &numbered(def, i)).await;
        }
        return check_template(&client, &control, expect, result.map(|id| (id, def.clone()))).await;
    }
    if let Some(edit) = probe.get("updateTemplate") {
        let id = vars.get("template").cloned().ok_or("updateTemplate needs a template step")?;
        let mut call = client.update_whats_app_message_template().id(WABA_1).meta_template_id(&id);
        if let Some(category) = edit["category"].as_str() {
            call = call.template_category(category);
        }
        if let Some(components) = edit.get("components") {
            call = call.template_components(message_blob(components.clone()));
        }
        let result =
            call.send().await.map(|_| id.clone()).map_err(|e| refusal(e.into_service_error()));
        let def = json!({});
        return check_template(&client, &control, expect, result.map(|id| (id, def))).await;
    }
    if let Some(spec) = probe.get("fromLibrary") {
        let inputs = &spec["bodyInputs"];
        let mut body = LibraryTemplateBodyInputs::builder();
        if let Some(b) = inputs["addSecurityRecommendation"].as_bool() {
            body = body.add_security_recommendation(b);
        }
        if let Some(m) = inputs["codeExpirationMinutes"].as_i64() {
            body = body.code_expiration_minutes(m as i32);
        }
        let template = MetaLibraryTemplate::builder()
            .template_name(spec["templateName"].as_str().unwrap_or_default())
            .library_template_name(spec["libraryTemplateName"].as_str().unwrap_or_default())
            .template_category(spec["templateCategory"].as_str().unwrap_or_default())
            .template_language(spec["templateLanguage"].as_str().unwrap_or_default())
            .library_template_body_inputs(body.build())
            .build()
            .map_err(|e| e.to_string())?;
        let result = client
            .create_whats_app_message_template_from_library()
            .id(WABA_1)
            .meta_library_template(template)
            .send()
            .await
            .map(|out| out.meta_template_id().unwrap_or_default().to_string())
            .map_err(|e| refusal(e.into_service_error()));
        return check_template(&client, &control, expect, result.map(|id| (id, json!({})))).await;
    }
    if let Some(doc) = probe.get("createFlow") {
        return check_flow(&client, expect, doc).await;
    }
    if let Some(to) = probe.get("callPermission") {
        let out = client
            .get_whats_app_call_permission()
            .origination_phone_number_id(PHONE_1)
            .destination_phone_number(to.as_str().unwrap_or_default())
            .send()
            .await
            .map_err(|e| refusal(e.into_service_error()))?;
        let limits: Vec<(String, String, i32)> = out
            .actions()
            .iter()
            .flat_map(|a| {
                a.limits().iter().map(|l| {
                    (a.action_name().to_string(), l.time_period().to_string(), l.max_allowed())
                })
            })
            .collect();
        let want: Vec<(String, String, i32)> =
            serde_json::from_value(expect["limits"].clone()).map_err(|e| e.to_string())?;
        return if limits == want {
            Ok(())
        } else {
            Err(format!("limits {limits:?}, expected {want:?}"))
        };
    }
    Err("a probe makes one call: send, createTemplate, updateTemplate, fromLibrary, createFlow or callPermission".into())
}

/// `createFlow`: the Flow JSON's validation errors contain each of `expect.validationErrors`
/// (none when it is empty), and publishing succeeds or not as `expect.publishes` says.
async fn check_flow(client: &Client, expect: &Value, doc: &Value) -> Outcome {
    use aws_sdk_socialmessaging::types::MetaFlowCategory;
    let created = client
        .create_whats_app_flow()
        .id(WABA_1)
        .flow_name("Probe")
        .categories(MetaFlowCategory::Other)
        .flow_json(message_blob(doc.clone()))
        .send()
        .await
        .map_err(|e| refusal(e.into_service_error()))?;
    let errors = created.validation_errors().join("\n");
    let wanted: Vec<&str> = expect["validationErrors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if wanted.is_empty() && !errors.is_empty() {
        return Err(format!("validation errors: {errors}"));
    }
    if let Some(missing) = wanted.iter().find(|w| !errors.contains(**w)) {
        return Err(format!("{missing:?} not in the validation errors:\n{errors}"));
    }
    let published = client
        .publish_whats_app_flow()
        .id(WABA_1)
        .flow_id(created.flow_id().unwrap_or_default())
        .send()
        .await
        .map_err(|e| refusal(e.into_service_error()));
    match (expect["publishes"].as_bool(), published) {
        (Some(true), Err(e)) => Err(format!("not published: {e}")),
        (Some(false), Ok(_)) => Err("published".into()),
        (Some(false), Err(e)) => match expect["refused"]["contains"].as_str() {
            Some(part) if !e.contains(part) => Err(format!("refused with {e}, expected {part:?}")),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// A refused call as (exception type, message).
fn refusal<E: ProvideErrorMetadata>(e: E) -> String {
    format!("{}|{}", e.code().unwrap_or("?"), e.message().unwrap_or_default())
}

async fn setup(
    client: &Client,
    control: &Control,
    step: &Value,
    vars: &mut BTreeMap<String, String>,
) -> Outcome {
    let name = step["as"].as_str().unwrap_or_default().to_string();
    if step.get("customerSays").is_some() || step.get("inbound").is_some() {
        let mut body = json!({ "phoneNumberId": PHONE_1, "from": CUSTOMER });
        if let Some(text) = step.get("customerSays") {
            body["text"] = text.clone();
        }
        for (k, v) in step["inbound"].as_object().into_iter().flatten() {
            body[k] = v.clone();
        }
        let (status, out) = control.try_call("POST", "/inbound", Some(body)).await;
        if status != 200 {
            return Err(format!("inbound refused: {status} {out}"));
        }
        let key = if name.is_empty() { "inbound".to_string() } else { name };
        vars.insert(key, out["wamid"].as_str().unwrap_or_default().to_string());
    } else if let Some(def) = step.get("template") {
        let id = create_template(client, def).await.map_err(|e| format!("template setup: {e}"))?;
        // APPROVE (the default), then PAUSE or DISABLE, or REJECT; NONE leaves it PENDING.
        let decision = step["decision"].as_str().unwrap_or("APPROVE");
        let decisions: &[&str] = match decision {
            "NONE" => &[],
            "PAUSE" | "DISABLE" => &["APPROVE", decision],
            _ => &[decision],
        };
        for decision in decisions {
            let path = format!("/templates/{id}/review");
            control.call("POST", &path, Some(json!({ "decision": decision }))).await;
        }
        vars.insert(if name.is_empty() { "template".into() } else { name }, id);
    } else if let Some(doc) = step.get("flow") {
        use aws_sdk_socialmessaging::types::MetaFlowCategory;
        let created = client
            .create_whats_app_flow()
            .id(WABA_1)
            .flow_name(step["name"].as_str().unwrap_or("Setup flow"))
            .categories(MetaFlowCategory::Other)
            .flow_json(message_blob(doc.clone()))
            .publish(true)
            .send()
            .await
            .map_err(|e| format!("flow setup: {}", refusal(e.into_service_error())))?;
        vars.insert(
            if name.is_empty() { "flow".into() } else { name },
            created.flow_id().unwrap_or_default().to_string(),
        );
    } else if let Some(call) = step.get("control") {
        let (method, path) = (call["method"].as_str().unwrap_or("GET"), call["path"].as_str());
        let path = path.ok_or("a control step names its path")?;
        let (status, out) = control.try_call(method, path, call.get("body").cloned()).await;
        if !(200..300).contains(&status) {
            return Err(format!("control {method} {path}: {status} {out}"));
        }
    } else if let Some(seconds) = step["advanceSeconds"].as_f64() {
        control.advance_seconds(seconds).await;
        control.settle().await;
    } else if let Some(edit) = step.get("edit") {
        let id = vars.get("template").cloned().ok_or("edit needs a template step")?;
        client
            .update_whats_app_message_template()
            .id(WABA_1)
            .meta_template_id(&id)
            .template_components(message_blob(edit.clone()))
            .send()
            .await
            .map_err(|e| format!("edit setup: {}", refusal(e.into_service_error())))?;
        control
            .call(
                "POST",
                &format!("/templates/{id}/review"),
                Some(json!({ "decision": "APPROVE" })),
            )
            .await;
    } else {
        return Err(format!("unknown setup step {step}"));
    }
    Ok(())
}

async fn create_template(client: &Client, def: &Value) -> Result<String, String> {
    client
        .create_whats_app_message_template()
        .id(WABA_1)
        .template_definition(message_blob(def.clone()))
        .send()
        .await
        .map(|out| out.meta_template_id().unwrap_or_default().to_string())
        .map_err(|e| refusal(e.into_service_error()))
}

/// `expect.refused`: the call failed with that exception (and Meta's `(#code)`, and text).
fn check_refused(expect: &Value, result: &Result<String, String>) -> Option<Outcome> {
    let refused = expect.get("refused")?;
    let Err(error) = result else {
        return Some(Err(format!("accepted, expected a refusal {refused}")));
    };
    let (kind, message) = error.split_once('|').unwrap_or((error, ""));
    let want_kind = refused["exception"].as_str().unwrap_or("InvalidParametersException");
    if kind != want_kind {
        return Some(Err(format!("refused as {kind} ({message}), expected {want_kind}")));
    }
    if let Some(code) = refused["code"].as_u64()
        && !message.starts_with(&format!("(#{code})"))
    {
        return Some(Err(format!("message {message:?} is not Meta's (#{code})")));
    }
    if let Some(part) = refused["contains"].as_str()
        && !message.contains(part)
    {
        return Some(Err(format!("message {message:?} does not contain {part:?}")));
    }
    Some(Ok(()))
}

async fn check_call(control: &Control, expect: &Value, result: Result<String, String>) -> Outcome {
    if let Some(outcome) = check_refused(expect, &result) {
        return outcome;
    }
    let message_id = result.map_err(|e| format!("refused: {e}"))?;
    let Some(want) = expect["statuses"].as_array() else {
        return if expect["accepted"] == true { Ok(()) } else { Err("nothing to expect".into()) };
    };
    control.settle().await;
    control.advance_seconds(expect["afterSeconds"].as_f64().unwrap_or(60.0)).await;
    control.settle().await;
    let events = control.events(&format!("kind=status&messageId={message_id}")).await;
    let got: Vec<Value> = events.iter().map(|e| e["status"].clone()).collect();
    if got != *want {
        return Err(format!("statuses {got:?}, expected {want:?}"));
    }
    if let Some(code) = expect["errorCode"].as_u64() {
        let last = events.last().map(entry).unwrap_or_default();
        let error = &last["changes"][0]["value"]["statuses"][0]["errors"][0];
        if error["code"].as_u64() != Some(code) {
            return Err(format!("the failed status carries {error}, expected code {code}"));
        }
    }
    Ok(())
}

async fn check_template(
    client: &Client,
    control: &Control,
    expect: &Value,
    result: Result<(String, Value), String>,
) -> Outcome {
    let as_ids = result.as_ref().map(|(id, _)| id.clone()).map_err(Clone::clone);
    if let Some(outcome) = check_refused(expect, &as_ids) {
        return outcome;
    }
    let (id, _) = result.map_err(|e| format!("refused: {e}"))?;
    if expect.get("templateStatus").is_some() || expect.get("reason").is_some() {
        control.advance_seconds(60.0).await;
        control.settle().await;
    }
    let template = client
        .get_whats_app_message_template()
        .id(WABA_1)
        .meta_template_id(&id)
        .send()
        .await
        .map_err(|e| format!("GetWhatsAppMessageTemplate: {}", refusal(e.into_service_error())))?;
    let template: Value = serde_json::from_str(template.template().unwrap_or_default())
        .map_err(|e| format!("template JSON: {e}"))?;
    if let Some(status) = expect["templateStatus"].as_str()
        && template["status"] != status
    {
        return Err(format!("template is {}, expected {status}", template["status"]));
    }
    if let Some(reason) = expect["reason"].as_str()
        && template["rejected_reason"] != reason
    {
        return Err(format!("rejected for {}, expected {reason}", template["rejected_reason"]));
    }
    for (pointer, want) in expect["template"].as_object().into_iter().flatten() {
        let got = template.pointer(pointer).cloned().unwrap_or(Value::Null);
        if got != *want {
            return Err(format!("template{pointer} is {got}, expected {want}"));
        }
    }
    Ok(())
}
