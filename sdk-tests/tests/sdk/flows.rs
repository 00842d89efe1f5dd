//! WhatsApp Flows through the real SDK: create (from Flow JSON, by cloning, published at once),
//! Meta's validation errors, the DRAFT → PUBLISHED → DEPRECATED status machine with Meta's error
//! codes, updates, previews, assets (downloadable), pagination, and typed errors.

use aws_sdk_socialmessaging::Client;
use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use aws_sdk_socialmessaging::types::MetaFlowCategory;
use aws_smithy_types::Blob;
use rstest::rstest;
use sdk_tests::*;
use serde_json::{Value, json};

/// A valid static flow: WELCOME navigates to the terminal screen DONE.
fn static_flow() -> Value {
    json!({
        "version": "7.2",
        "screens": [
            { "id": "WELCOME", "title": "Welcome", "layout": { "type": "SingleColumnLayout", "children": [
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

/// A valid flow that exchanges data with an endpoint.
fn endpoint_flow() -> Value {
    json!({
        "version": "7.2",
        "data_api_version": "3.0",
        "routing_model": { "START": [] },
        "screens": [
            { "id": "START", "title": "Start", "terminal": true, "layout": { "type": "SingleColumnLayout", "children": [
                { "type": "Footer", "label": "Send", "on-click-action": { "name": "data_exchange", "payload": {} } }
            ] } }
        ]
    })
}

fn blob(doc: &Value) -> Blob {
    Blob::new(doc.to_string().into_bytes())
}

async fn create(client: &Client, name: &str, doc: Option<&Value>) -> String {
    let out = client
        .create_whats_app_flow()
        .id(WABA_1)
        .flow_name(name)
        .categories(MetaFlowCategory::AppointmentBooking)
        .set_flow_json(doc.map(blob))
        .send()
        .await
        .expect("flow created");
    let id = out.flow_id().expect("flowId").to_string();
    assert!((15..=16).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
    id
}

async fn status(client: &Client, flow_id: &str) -> String {
    let out = client.get_whats_app_flow().id(WABA_1).flow_id(flow_id).send().await.unwrap();
    out.flow_status().to_string()
}

/// The message of an InvalidParametersException (panics on any other outcome).
fn meta_refusal<E: ProvideErrorMetadata + std::fmt::Debug>(err: &E, is_invalid: bool) -> String {
    assert!(is_invalid, "expected InvalidParametersException, got {err:?}");
    err.message().unwrap_or_default().to_string()
}

#[tokio::test]
async fn create_get_and_list_a_flow() {
    let emu = emulator().await;
    let client = client(&emu);
    let created = client
        .create_whats_app_flow()
        .id(WABA_1)
        .flow_name("Appointment booking")
        .categories(MetaFlowCategory::AppointmentBooking)
        .categories(MetaFlowCategory::CustomerSupport)
        .flow_json(blob(&static_flow()))
        .send()
        .await
        .unwrap();
    assert!(created.validation_errors().is_empty());
    let flow_id = created.flow_id().unwrap();

    let got = client.get_whats_app_flow().id(WABA_1).flow_id(flow_id).send().await.unwrap();
    assert_eq!(got.flow_id(), flow_id);
    assert_eq!(got.flow_name(), "Appointment booking");
    assert_eq!(got.flow_status(), "DRAFT");
    assert_eq!(
        got.categories(),
        &[MetaFlowCategory::AppointmentBooking, MetaFlowCategory::CustomerSupport]
    );
    assert!(got.validation_errors().is_empty());
    assert_eq!(got.json_version(), Some("7.2"));
    assert_eq!(got.data_api_version(), None);
    let preview = got.preview().unwrap();
    assert!(preview.preview_url().contains(&format!("/flows/{flow_id}/preview/?token=")));
    assert_meta_time(preview.expires_at());
    let waba = got.whats_app_business_account().unwrap();
    assert_eq!(waba.id(), "1347766229904230");
    assert_eq!(waba.name(), "WECARE.DIGITAL");
    assert_eq!(got.health_status().unwrap().can_send_message(), "LIMITED");
    assert_eq!(got.application().unwrap().name(), "AWS End User Messaging Social");

    let list = client.list_whats_app_flows().id(WABA_1).send().await.unwrap();
    assert_eq!(list.flows().len(), 1);
    let summary = &list.flows()[0];
    assert_eq!(summary.flow_id(), flow_id);
    assert_eq!(summary.flow_status(), "DRAFT");
    assert_eq!(summary.flow_categories().len(), 2);
    assert!(list.next_token().is_none());
    // The other WABA has no flows.
    let other = client.list_whats_app_flows().id(WABA_2).send().await.unwrap();
    assert!(other.flows().is_empty());
}

/// `2026-12-27T10:00:00+0000`
fn assert_meta_time(s: &str) {
    let b = s.as_bytes();
    assert_eq!(s.len(), 24, "{s}");
    assert!(s.ends_with("+0000") && b[4] == b'-' && b[10] == b'T' && b[13] == b':', "{s}");
}

#[tokio::test]
async fn the_get_and_list_wire_bodies_match_the_snapshots() {
    let emu = emulator().await;
    let client = client(&emu);
    let flow_id = create(&client, "Snapshot flow", Some(&static_flow())).await;
    let get: Value = http()
        .get(format!("{}/v1/whatsapp/flow?id={WABA_1}&flowId={flow_id}", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    insta::assert_json_snapshot!("get_flow", get, {
        ".flowId" => "[flowId]",
        ".preview.previewUrl" => "[previewUrl]",
        ".preview.expiresAt" => "[expiresAt]",
        ".healthStatus.entities[0].id" => "[flowId]",
    });
    let list: Value = http()
        .get(format!("{}/v1/whatsapp/flow/list?id={WABA_1}", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    insta::assert_json_snapshot!("list_flows", list, { ".flows[].flowId" => "[flowId]" });
}

#[rstest]
#[case::not_json(b"{\"version\": ".to_vec(), "INVALID_FLOW_JSON: The Flow JSON is not valid JSON")]
#[case::not_utf8(vec![0xff, 0xfe, 0x00], "INVALID_FLOW_JSON")]
#[case::no_version(serde_json::to_vec(&json!({"screens": static_flow()["screens"]})).unwrap(),
    "MISSING_REQUIRED_PROPERTY: The property \"version\" is required at \"$root\".")]
#[case::old_version(serde_json::to_vec(&json!({"version": "1.0", "screens": static_flow()["screens"]})).unwrap(),
    "INVALID_FLOW_JSON_VERSION")]
#[case::no_terminal_screen(serde_json::to_vec(&json!({"version": "7.2", "screens": [static_flow()["screens"][0]]})).unwrap(),
    "MISSING_TERMINAL_SCREEN")]
#[case::unknown_component(
    serde_json::to_vec(&{ let mut f = static_flow(); f["screens"][1]["layout"]["children"][0]["type"] = json!("Marquee"); f }).unwrap(),
    "INVALID_PROPERTY_VALUE: Invalid value found for property \"type\" at \"$root/screens/1/layout/children/0\"")]
#[case::navigation_to_nowhere(
    serde_json::to_vec(&{ let mut f = static_flow(); f["screens"][0]["layout"]["children"][1]["on-click-action"]["next"]["name"] = json!("GHOST"); f }).unwrap(),
    "INVALID_NAVIGATION")]
#[case::routing_model_gap(
    serde_json::to_vec(&{ let mut f = endpoint_flow(); f["routing_model"] = json!({"ELSEWHERE": []}); f }).unwrap(),
    "INVALID_ROUTING_MODEL: Invalid screens found in the routing model: ELSEWHERE.")]
#[case::screen_without_layout(
    serde_json::to_vec(&json!({"version": "7.2", "screens": [{"id": "ONLY", "terminal": true}]})).unwrap(),
    "MISSING_REQUIRED_PROPERTY: The property \"layout\" is required at \"$root/screens/0\".")]
#[tokio::test]
async fn bad_flow_json_is_reported_as_validation_errors(
    #[case] document: Vec<u8>,
    #[case] expected: &str,
) {
    let emu = emulator().await;
    let client = client(&emu);
    let created = client
        .create_whats_app_flow()
        .id(WABA_1)
        .flow_name("Broken")
        .categories(MetaFlowCategory::Other)
        .flow_json(Blob::new(document))
        .send()
        .await
        .expect("a broken Flow JSON still creates a DRAFT flow");
    let errors = created.validation_errors();
    assert!(errors.iter().any(|e| e.starts_with(expected)), "{expected} not in {errors:?}");
    let flow_id = created.flow_id().unwrap();
    let got = client.get_whats_app_flow().id(WABA_1).flow_id(flow_id).send().await.unwrap();
    assert_eq!(got.validation_errors(), errors);
    assert_eq!(got.flow_status(), "DRAFT");
    // A flow with validation errors cannot be published.
    let err = client
        .publish_whats_app_flow()
        .id(WABA_1)
        .flow_id(flow_id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let message = meta_refusal(&err, err.is_invalid_parameters_exception());
    assert!(message.starts_with("(#139002) Publishing Flow with validation errors"), "{message}");
}

/// Actions of the status machine.
#[derive(Debug, Clone, Copy)]
enum Act {
    Publish,
    Deprecate,
    Delete,
    Rename,
    ReplaceJson,
    SetEndpoint,
}

async fn act(client: &Client, flow_id: &str, act: Act) -> Result<(), String> {
    let invalid = |e: aws_sdk_socialmessaging::Error| -> String {
        match e {
            aws_sdk_socialmessaging::Error::InvalidParametersException(e) => {
                e.message().unwrap_or_default().to_string()
            }
            other => panic!("expected InvalidParametersException, got {other:?}"),
        }
    };
    match act {
        Act::Publish => client
            .publish_whats_app_flow()
            .id(WABA_1)
            .flow_id(flow_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| invalid(e.into())),
        Act::Deprecate => client
            .deprecate_whats_app_flow()
            .id(WABA_1)
            .flow_id(flow_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| invalid(e.into())),
        Act::Delete => client
            .delete_whats_app_flow()
            .id(WABA_1)
            .flow_id(flow_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| invalid(e.into())),
        Act::Rename => client
            .update_whats_app_flow()
            .id(WABA_1)
            .flow_id(flow_id)
            .flow_name(format!("Renamed {flow_id}"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| invalid(e.into())),
        Act::ReplaceJson => client
            .update_whats_app_flow_assets()
            .id(WABA_1)
            .flow_id(flow_id)
            .flow_json(blob(&static_flow()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| invalid(e.into())),
        Act::SetEndpoint => client
            .update_whats_app_flow()
            .id(WABA_1)
            .flow_id(flow_id)
            .endpoint_uri("https://flows.example.com/endpoint")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| invalid(e.into())),
    }
}

/// What an action leads to: the flow's new status, Meta's refusal code, or the flow gone.
#[derive(Debug)]
enum Then {
    Status(&'static str),
    Refused(&'static str),
    Deleted,
}

#[rstest]
#[case::publish_a_draft(&[], Act::Publish, Then::Status("PUBLISHED"))]
#[case::publish_again(&[Act::Publish], Act::Publish, Then::Refused("(#139002) Publishing Flow in invalid state"))]
#[case::publish_deprecated(&[Act::Publish, Act::Deprecate], Act::Publish, Then::Refused("(#139002) Publishing Flow in invalid state"))]
#[case::deprecate_a_draft(&[], Act::Deprecate, Then::Refused("(#139003) Flow can't be deprecated: Can't deprecate unpublished flow"))]
#[case::deprecate_published(&[Act::Publish], Act::Deprecate, Then::Status("DEPRECATED"))]
#[case::deprecate_twice(&[Act::Publish, Act::Deprecate], Act::Deprecate, Then::Refused("(#139003) Flow can't be deprecated: Flow is already deprecated"))]
#[case::delete_a_draft(&[], Act::Delete, Then::Deleted)]
#[case::delete_published(&[Act::Publish], Act::Delete, Then::Refused("(#139004) Flow can't be deleted"))]
#[case::delete_deprecated(&[Act::Publish, Act::Deprecate], Act::Delete, Then::Refused("(#139004) Flow can't be deleted"))]
#[case::rename_a_draft(&[], Act::Rename, Then::Status("DRAFT"))]
#[case::rename_published(&[Act::Publish], Act::Rename, Then::Status("PUBLISHED"))]
#[case::rename_deprecated(&[Act::Publish, Act::Deprecate], Act::Rename, Then::Refused("(#139001) Flow can't be updated"))]
#[case::replace_json_of_a_draft(&[], Act::ReplaceJson, Then::Status("DRAFT"))]
#[case::replace_json_of_published(&[Act::Publish], Act::ReplaceJson, Then::Status("DRAFT"))]
#[case::replace_json_of_deprecated(&[Act::Publish, Act::Deprecate], Act::ReplaceJson, Then::Refused("(#139001) Flow can't be updated"))]
#[case::endpoint_of_a_draft(&[], Act::SetEndpoint, Then::Refused("endpointUri 'https://flows.example.com/endpoint' is not supported"))]
#[case::endpoint_of_published(&[Act::Publish], Act::SetEndpoint, Then::Refused("endpointUri"))]
#[tokio::test]
async fn the_status_machine(#[case] before: &[Act], #[case] action: Act, #[case] then: Then) {
    let emu = emulator().await;
    let client = client(&emu);
    let flow_id = create(&client, "Machine", Some(&static_flow())).await;
    for step in before {
        act(&client, &flow_id, *step).await.expect("setup step");
    }
    let before_status = status(&client, &flow_id).await;
    let outcome = act(&client, &flow_id, action).await;
    match then {
        Then::Status(expected) => {
            assert_eq!(outcome, Ok(()));
            assert_eq!(status(&client, &flow_id).await, expected);
        }
        Then::Refused(prefix) => {
            let message = outcome.expect_err("refused");
            assert!(message.starts_with(prefix), "{message}");
            assert_eq!(status(&client, &flow_id).await, before_status, "a refusal changes nothing");
        }
        Then::Deleted => {
            assert_eq!(outcome, Ok(()));
            let err = client
                .get_whats_app_flow()
                .id(WABA_1)
                .flow_id(&flow_id)
                .send()
                .await
                .unwrap_err()
                .into_service_error();
            assert!(err.is_resource_not_found_exception(), "{err:?}");
        }
    }
}

#[tokio::test]
async fn publish_at_creation() {
    let emu = emulator().await;
    let client = client(&emu);
    let valid = client
        .create_whats_app_flow()
        .id(WABA_1)
        .flow_name("Published at once")
        .categories(MetaFlowCategory::SignUp)
        .flow_json(blob(&static_flow()))
        .publish(true)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&client, valid.flow_id().unwrap()).await, "PUBLISHED");
    let mut broken = static_flow();
    broken["screens"][1]["terminal"] = json!(false);
    let invalid = client
        .create_whats_app_flow()
        .id(WABA_1)
        .flow_name("Stays a draft")
        .categories(MetaFlowCategory::SignUp)
        .flow_json(blob(&broken))
        .publish(true)
        .send()
        .await
        .unwrap();
    assert!(!invalid.validation_errors().is_empty());
    assert_eq!(status(&client, invalid.flow_id().unwrap()).await, "DRAFT");
    // Nothing to publish without a Flow JSON: refused, and no flow is created.
    let err = client
        .create_whats_app_flow()
        .id(WABA_1)
        .flow_name("Empty")
        .categories(MetaFlowCategory::SignUp)
        .publish(true)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let message = meta_refusal(&err, err.is_invalid_parameters_exception());
    assert!(message.starts_with("(#139002) Publishing Flow without Flow JSON"), "{message}");
    let list = client.list_whats_app_flows().id(WABA_1).send().await.unwrap();
    assert_eq!(list.flows().len(), 2);
}

#[tokio::test]
async fn cloning_copies_the_flow_json() {
    let emu = emulator().await;
    let client = client(&emu);
    let source = create(&client, "Source", Some(&endpoint_flow())).await;
    let clone = client
        .create_whats_app_flow()
        .id(WABA_1)
        .flow_name("Clone")
        .categories(MetaFlowCategory::Other)
        .clone_flow_id(&source)
        .send()
        .await
        .unwrap();
    let got = client
        .get_whats_app_flow()
        .id(WABA_1)
        .flow_id(clone.flow_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.json_version(), Some("7.2"));
    assert_eq!(got.data_api_version(), Some("3.0"));
    let assets = client
        .list_whats_app_flow_assets()
        .id(WABA_1)
        .flow_id(clone.flow_id().unwrap())
        .send()
        .await
        .unwrap();
    let body: Value = http()
        .get(assets.flow_assets()[0].download_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, endpoint_flow());

    let err = client
        .create_whats_app_flow()
        .id(WABA_1)
        .flow_name("Clone of nothing")
        .categories(MetaFlowCategory::Other)
        .clone_flow_id("9999999999999999")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = client
        .create_whats_app_flow()
        .id(WABA_1)
        .flow_name("Two sources")
        .categories(MetaFlowCategory::Other)
        .clone_flow_id(&source)
        .flow_json(blob(&static_flow()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let message = meta_refusal(&err, err.is_invalid_parameters_exception());
    assert!(message.starts_with("(#100) Only one clone source can be set"), "{message}");
}

#[tokio::test]
async fn flow_names_are_unique_per_waba() {
    let emu = emulator().await;
    let client = client(&emu);
    create(&client, "Survey", None).await;
    let err = client
        .create_whats_app_flow()
        .id(WABA_1)
        .flow_name("Survey")
        .categories(MetaFlowCategory::Survey)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let message = meta_refusal(&err, err.is_invalid_parameters_exception());
    assert!(message.starts_with("(#100) Flow name is not unique"), "{message}");
    // Another WABA may use the name.
    client
        .create_whats_app_flow()
        .id(WABA_2)
        .flow_name("Survey")
        .categories(MetaFlowCategory::Survey)
        .send()
        .await
        .unwrap();
}

/// AWS user guide, "WhatsApp Flows: Limitations and considerations": Flows with an endpoint
/// (`endpoint_uri`, `data_exchange`) are planned; only Flows without one are supported.
#[tokio::test]
async fn flows_with_an_endpoint_are_not_supported_as_aws_documents() {
    let emu = emulator().await;
    let client = client(&emu);
    let err = client
        .create_whats_app_flow()
        .id(WABA_1)
        .flow_name("Endpoint flow")
        .categories(MetaFlowCategory::Other)
        .flow_json(blob(&static_flow()))
        .endpoint_uri("https://flows.example.com/endpoint")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("endpointUri"), "{err:?}");

    // A Flow JSON written for an endpoint is valid Flow JSON, but cannot be published.
    let flow_id = create(&client, "Endpoint flow", Some(&endpoint_flow())).await;
    let err = client
        .publish_whats_app_flow()
        .id(WABA_1)
        .flow_id(&flow_id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let message = meta_refusal(&err, err.is_invalid_parameters_exception());
    assert!(
        message.starts_with("(#139002) Publishing without specifying endpoint_uri is forbidden"),
        "{message}"
    );
    assert_eq!(status(&client, &flow_id).await, "DRAFT");
    // A flow message asking for data_exchange is refused for the same reason.
    let flow_id = create(&client, "Static", Some(&static_flow())).await;
    client.publish_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    Control::new(&emu).customer_says(PHONE_1, "14255550150", "hi").await;
    let err = send_refused(
        &client,
        PHONE_1,
        flow_message(json!({"flow_message_version": "3", "flow_id": flow_id, "flow_cta": "Go",
                            "flow_action": "data_exchange"})),
    )
    .await;
    assert!(err.message().unwrap().contains("data_exchange"), "{err:?}");
}

/// AWS publishes Flow JSON 5.1, 6.0–6.3 and 7.0–7.3; Meta's validator accepts older versions.
#[rstest]
#[case("2.1", false)]
#[case("3.0", false)]
#[case("3.1", false)]
#[case("4.0", false)]
#[case("5.0", false)]
#[case("5.1", true)]
#[case("6.0", true)]
#[case("6.3", true)]
#[case("7.0", true)]
#[case("7.3", true)]
#[tokio::test]
async fn only_the_versions_aws_publishes_are_published(
    #[case] version: &str,
    #[case] publishes: bool,
) {
    let emu = emulator().await;
    let client = client(&emu);
    let mut doc = static_flow();
    doc["version"] = json!(version);
    let flow_id = create(&client, "Versioned", Some(&doc)).await;
    let got = client.get_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    assert!(got.validation_errors().is_empty(), "{version}: {:?}", got.validation_errors());
    let published = client.publish_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await;
    match published {
        Ok(_) => assert!(publishes, "{version} was published"),
        Err(e) => {
            let err = e.into_service_error();
            let message = meta_refusal(&err, err.is_invalid_parameters_exception());
            assert!(!publishes, "{version}: {message}");
            assert!(message.contains("5.1, 6.0, 6.1, 6.2, 6.3, 7.0, 7.1, 7.2, 7.3"), "{message}");
        }
    }
}

/// The `flows` webhooks of every status change (AWS user guide, "Receiving Flow responses and
/// status changes"), and Meta's health decisions through the control API.
#[tokio::test]
async fn every_status_change_fires_a_flow_status_change_event() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let flow_id = create(&client, "Watched", Some(&static_flow())).await;
    client.publish_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    // Editing a published flow's JSON returns it to DRAFT.
    client
        .update_whats_app_flow_assets()
        .id(WABA_1)
        .flow_id(&flow_id)
        .flow_json(blob(&static_flow()))
        .send()
        .await
        .unwrap();
    client.publish_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    for (status, reason) in
        [("THROTTLED", None), ("BLOCKED", Some("Policy violation detected")), ("PUBLISHED", None)]
    {
        let mut body = json!({ "status": status });
        if let Some(reason) = reason {
            body["reason"] = json!(reason);
        }
        let out = control.call("POST", &format!("/flows/{flow_id}/status"), Some(body)).await;
        assert_eq!(out["flowStatus"], status);
    }
    client.deprecate_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    let events = control.wait_events("kind=flows", 7).await;
    let changes: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            let value = &entry(e)["changes"][0]["value"];
            assert_eq!(entry(e)["changes"][0]["field"], "flows");
            assert_eq!(value["event"], "FLOW_STATUS_CHANGE");
            assert_eq!(value["flow_id"], flow_id.as_str());
            assert_schema("event-envelope.schema.json", &e["envelope"]);
            assert_schema("webhook-entry.schema.json", &entry(e));
            (
                value["old_status"].as_str().unwrap().to_string(),
                value["new_status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = changes.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(
        pairs,
        vec![
            ("DRAFT", "PUBLISHED"),
            ("PUBLISHED", "DRAFT"),
            ("DRAFT", "PUBLISHED"),
            ("PUBLISHED", "THROTTLED"),
            ("THROTTLED", "BLOCKED"),
            ("BLOCKED", "PUBLISHED"),
            ("PUBLISHED", "DEPRECATED"),
        ]
    );
    let blocked = &entry(&events[4])["changes"][0]["value"];
    assert_eq!(blocked["reason"], "Policy violation detected");
    assert_eq!(blocked["message"], "Flow Watched changed status from THROTTLED to BLOCKED");
    // A deprecated flow has no health to decide; an unknown flow is not found.
    let (code, body) = control
        .try_call("POST", &format!("/flows/{flow_id}/status"), Some(json!({"status": "BLOCKED"})))
        .await;
    assert_eq!(code, 400, "{body}");
    let (code, _) = control
        .try_call("POST", "/flows/9999999999999999/status", Some(json!({"status": "BLOCKED"})))
        .await;
    assert_eq!(code, 404);
    let (code, body) = control
        .try_call("POST", &format!("/flows/{flow_id}/status"), Some(json!({"status": "GONE"})))
        .await;
    assert_eq!(code, 400, "{body}");
}

/// A BLOCKED flow cannot be sent; a THROTTLED one 10 times an hour (Meta, Flows: flow health).
#[tokio::test]
async fn blocked_flows_are_not_sent_and_throttled_ones_ten_times_an_hour() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let flow_id = create(&client, "Health", Some(&static_flow())).await;
    client.publish_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    control.customer_says(PHONE_1, "14255550150", "hi").await;
    let message =
        || flow_message(json!({"flow_message_version": "3", "flow_id": flow_id, "flow_cta": "Go"}));
    control
        .call("POST", &format!("/flows/{flow_id}/status"), Some(json!({"status": "BLOCKED"})))
        .await;
    let got = client.get_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    assert_eq!(got.flow_status(), "BLOCKED");
    assert_eq!(got.health_status().unwrap().can_send_message(), "BLOCKED");
    let err = send_refused(&client, PHONE_1, message()).await;
    assert!(err.message().unwrap().starts_with("(#131009)"), "{err:?}");
    assert!(err.message().unwrap().contains("BLOCKED"), "{err:?}");

    control
        .call("POST", &format!("/flows/{flow_id}/status"), Some(json!({"status": "THROTTLED"})))
        .await;
    let got = client.get_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    assert_eq!(got.health_status().unwrap().can_send_message(), "LIMITED");
    control.freeze(true).await;
    for _ in 0..10 {
        send(&client, PHONE_1, message()).await;
    }
    let err = send_refused(&client, PHONE_1, message()).await;
    assert!(err.message().unwrap().contains("10 times an hour"), "{err:?}");
    control.advance_seconds(3601.0).await;
    send(&client, PHONE_1, message()).await;
}

/// A one-screen flow of Flow JSON `version` whose screen holds `children` and a Footer.
fn one_screen(version: &str, children: Vec<Value>) -> Value {
    let mut children = children;
    children.push(json!({ "type": "Footer", "label": "Done",
                          "on-click-action": { "name": "complete", "payload": {} } }));
    json!({ "version": version, "screens": [
        { "id": "ONLY", "title": "Only", "terminal": true,
          "layout": { "type": "SingleColumnLayout", "children": children } } ] })
}

fn text(kind: &str, length: usize) -> Value {
    json!({ "type": kind, "text": "x".repeat(length) })
}

fn options(kind: &str, count: usize) -> Value {
    let source: Vec<Value> = (0..count)
        .map(|i| json!({ "id": format!("o{i}"), "title": format!("Option {i}") }))
        .collect();
    json!({ "type": kind, "name": "pick", "label": "Pick", "data-source": source })
}

/// Meta's component limits (Meta, "Flow JSON: Components"; fixtures/flow-limits.json): each
/// over the limit is a validation error that keeps the flow from publishing, each at the limit
/// is none.
#[rstest]
#[case::components_per_screen((0..50).map(|_| text("TextBody", 3)).collect(), "at most 50")]
#[case::heading(vec![text("TextHeading", 81)], "the limit for TextHeading is 80")]
#[case::subheading(vec![text("TextSubheading", 81)], "the limit for TextSubheading is 80")]
#[case::body(vec![text("TextBody", 4097)], "the limit for TextBody is 4096")]
#[case::caption(vec![text("TextCaption", 410)], "the limit for TextCaption is 409")]
#[case::blank_body(vec![text("TextBody", 0)], "empty or blank")]
#[case::input_label(vec![json!({"type": "TextInput", "name": "n", "label": "x".repeat(21)})], "the limit for TextInput is 20")]
#[case::input_type(vec![json!({"type": "TextInput", "name": "n", "label": "Site", "input-type": "url"})], "expected one of text, number, email, password, passcode, phone")]
#[case::radio_options(vec![options("RadioButtonsGroup", 21)], "RadioButtonsGroup takes 1 to 20")]
#[case::no_options(vec![options("CheckboxGroup", 0)], "CheckboxGroup takes 1 to 20")]
#[case::dropdown_options(vec![options("Dropdown", 201)], "Dropdown takes 1 to 200")]
#[case::duplicate_ids(vec![json!({"type": "RadioButtonsGroup", "name": "r", "label": "R", "data-source": [{"id": "a", "title": "A"}, {"id": "a", "title": "B"}]})], "used twice")]
#[case::option_title(vec![json!({"type": "Dropdown", "name": "d", "label": "D", "data-source": [{"id": "a", "title": "x".repeat(31)}]})], "the limit for a Dropdown option is 30")]
#[case::opt_ins((0..6).map(|i| json!({"type": "OptIn", "name": format!("o{i}"), "label": "I agree"})).collect(), "6 OptIn components")]
#[case::embedded_links((0..3).map(|_| json!({"type": "EmbeddedLink", "text": "More", "on-click-action": {"name": "navigate", "next": {"type": "screen", "name": "ONLY"}, "payload": {}}})).collect(), "3 EmbeddedLink components")]
#[case::images((0..4).map(|_| json!({"type": "Image", "src": "iVBORw0KGgo="})).collect(), "4 Image components")]
#[case::within_the_limits(vec![json!({"type": "TextBody", "text": "x"})], "")]
#[tokio::test]
async fn metas_component_limits_are_validated(#[case] children: Vec<Value>, #[case] why: &str) {
    let emu = emulator().await;
    let client = client(&emu);
    let flow_id = create(&client, "Limits", Some(&one_screen("7.2", children))).await;
    let got = client.get_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    let errors = got.validation_errors().join("\n");
    if why.is_empty() {
        assert!(errors.is_empty(), "{errors}");
        return;
    }
    assert!(errors.contains(why), "{why} not in:\n{errors}");
    let err = client.publish_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await;
    assert!(err.is_err(), "a flow with validation errors is not published");
}

#[tokio::test]
async fn components_at_metas_limits_are_valid() {
    let emu = emulator().await;
    let client = client(&emu);
    let mut children: Vec<Value> = vec![
        text("TextHeading", 80),
        text("TextSubheading", 80),
        text("TextBody", 4096),
        text("TextCaption", 409),
        json!({"type": "TextInput", "name": "n", "label": "x".repeat(20), "input-type": "email",
               "helper-text": "x".repeat(80)}),
        options("RadioButtonsGroup", 20),
        json!({"type": "Dropdown", "name": "d", "label": "x".repeat(20),
               "data-source": (0..200).map(|i| json!({"id": format!("d{i}"), "title": "x".repeat(30)})).collect::<Vec<_>>()}),
        json!({"type": "TextBody", "text": "${data.dynamic_text_is_not_measured}"}),
    ];
    children.extend(
        (0..5).map(|i| json!({"type": "OptIn", "name": format!("o{i}"), "label": "x".repeat(120)})),
    );
    children.extend((0..3).map(|_| json!({"type": "Image", "src": "iVBORw0KGgo="})));
    let mut doc = one_screen("7.2", children);
    doc["screens"][0]["data"] =
        json!({"dynamic_text_is_not_measured": {"type": "string", "__example__": "x"}});
    let flow_id = create(&client, "At the limits", Some(&doc)).await;
    let got = client.get_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    assert_eq!(got.validation_errors(), &[] as &[String]);
    client.publish_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    // A blank text is refused from Flow JSON 6.0 on; before, it passes.
    let blank = vec![text("TextBody", 0)];
    let old = create(&client, "Blank 5.1", Some(&one_screen("5.1", blank.clone()))).await;
    let got = client.get_whats_app_flow().id(WABA_1).flow_id(&old).send().await.unwrap();
    assert_eq!(got.validation_errors(), &[] as &[String]);
}

/// Meta's rules for flow messages' parameters (Meta, "Flow messages").
#[rstest]
#[case::id_and_name(json!({"flow_id": "$ID", "flow_name": "Rules"}), "cannot be used together")]
#[case::navigate_without_payload(json!({"flow_id": "$ID", "flow_action": "navigate"}), "flow_action_payload is required")]
#[case::unknown_screen(json!({"flow_id": "$ID", "flow_action": "navigate", "flow_action_payload": {"screen": "NOWHERE"}}), "has no screen 'NOWHERE'")]
#[case::empty_data(json!({"flow_id": "$ID", "flow_action": "navigate", "flow_action_payload": {"screen": "WELCOME", "data": {}}}), "non-empty object")]
#[tokio::test]
async fn flow_message_parameters_follow_metas_rules(#[case] parameters: Value, #[case] why: &str) {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let flow_id = create(&client, "Rules", Some(&static_flow())).await;
    client.publish_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    control.customer_says(PHONE_1, "14255550150", "hi").await;
    let mut parameters: Value =
        serde_json::from_str(&parameters.to_string().replace("$ID", &flow_id)).unwrap();
    parameters["flow_message_version"] = json!("3");
    parameters["flow_cta"] = json!("Go");
    let err = send_refused(&client, PHONE_1, flow_message(parameters.clone())).await;
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    let message = err.message().unwrap();
    assert!(message.starts_with("(#131009)") && message.contains(why), "{message}");
    // The same message, right, is accepted.
    let ok = json!({"flow_message_version": "3", "flow_id": flow_id, "flow_cta": "Go",
                    "flow_action": "navigate",
                    "flow_action_payload": {"screen": "WELCOME", "data": {"name": "Ana"}}});
    send(&client, PHONE_1, flow_message(ok)).await;
}

#[tokio::test]
async fn update_changes_metadata() {
    let emu = emulator().await;
    let client = client(&emu);
    let flow_id = create(&client, "Before", None).await;
    client
        .update_whats_app_flow()
        .id(waba_arn(ACCOUNT, REGION, WABA_1))
        .flow_id(&flow_id)
        .flow_name("After")
        .categories(MetaFlowCategory::LeadGeneration)
        .meta_app_id("1234567890")
        .send()
        .await
        .unwrap();
    let got = client.get_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    assert_eq!(got.flow_name(), "After");
    assert_eq!(got.categories(), &[MetaFlowCategory::LeadGeneration]);
    assert_eq!(got.application().unwrap().id(), "1234567890");
    assert_eq!(got.json_version(), None, "no Flow JSON yet");

    let err = client
        .update_whats_app_flow()
        .id(WABA_1)
        .flow_id(&flow_id)
        .meta_app_id("my-app")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
}

#[tokio::test]
async fn preview_links_last_until_invalidated() {
    let emu = emulator().await;
    let client = client(&emu);
    let flow_id = create(&client, "Preview", Some(&static_flow())).await;
    let preview = |invalidate: bool| {
        client
            .get_whats_app_flow_preview()
            .id(WABA_1)
            .flow_id(&flow_id)
            .invalidate(invalidate)
            .send()
    };
    let first = preview(false).await.unwrap();
    assert_eq!(first.flow_id(), flow_id);
    let first = first.preview().unwrap().clone();
    assert!(first.preview_url().starts_with(&format!(
        "https://business.facebook.com/wa/manage/flows/{flow_id}/preview/?token="
    )));
    assert_meta_time(first.expires_at());
    let again = preview(false).await.unwrap();
    assert_eq!(again.preview().unwrap(), &first);
    let fresh = preview(true).await.unwrap();
    assert_ne!(fresh.preview().unwrap().preview_url(), first.preview_url());
    // Get shows the current link.
    let got = client.get_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    assert_eq!(got.preview(), fresh.preview());
}

#[tokio::test]
async fn assets_list_and_download_the_flow_json() {
    let emu = emulator().await;
    let client = client(&emu);
    let flow_id = create(&client, "Assets", None).await;
    let list = || client.list_whats_app_flow_assets().id(WABA_1).flow_id(&flow_id).send();
    assert!(list().await.unwrap().flow_assets().is_empty(), "no Flow JSON yet");

    let mut doc = static_flow();
    doc["screens"][1]["terminal"] = json!(false);
    let updated = client
        .update_whats_app_flow_assets()
        .id(WABA_1)
        .flow_id(&flow_id)
        .flow_json(blob(&doc))
        .send()
        .await
        .unwrap();
    assert!(updated.validation_errors().iter().any(|e| e.starts_with("MISSING_TERMINAL_SCREEN")));
    let fixed = client
        .update_whats_app_flow_assets()
        .id(WABA_1)
        .flow_id(&flow_id)
        .flow_json(blob(&static_flow()))
        .send()
        .await
        .unwrap();
    assert!(fixed.validation_errors().is_empty());

    let assets = list().await.unwrap();
    assert!(assets.next_token().is_none());
    let [asset] = assets.flow_assets() else { panic!("one asset: {assets:?}") };
    assert_eq!(asset.name(), "flow.json");
    assert_eq!(asset.asset_type(), "FLOW_JSON");
    assert!(asset.download_url().starts_with(&emu.url()), "{}", asset.download_url());
    let downloaded: Value =
        http().get(asset.download_url()).send().await.unwrap().json().await.unwrap();
    assert_eq!(downloaded, static_flow());
}

#[tokio::test]
async fn pagination_walks_every_flow_once() {
    let emu = emulator().await;
    let client = client(&emu);
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create(&client, &format!("Flow {i}"), None).await);
    }
    ids.sort();
    let first = client.list_whats_app_flows().id(WABA_1).max_results(2).send().await.unwrap();
    assert_eq!(first.flows().len(), 2);
    assert!(first.next_token().is_some());
    let walked: Vec<String> = client
        .list_whats_app_flows()
        .id(WABA_1)
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.flow_id().to_string())
        .collect();
    assert_eq!(walked, ids);

    let err = client
        .list_whats_app_flows()
        .id(WABA_1)
        .next_token("bm90IGEgdG9rZW4")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    // A token of one WABA's listing is not valid for another's.
    let err = client
        .list_whats_app_flows()
        .id(WABA_2)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    let err = client
        .list_whats_app_flow_assets()
        .id(WABA_1)
        .flow_id(&ids[0])
        .next_token("bm90IGEgdG9rZW4")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
}

/// Every flow operation against a flow that is not there (or not in that WABA).
#[rstest]
#[case::get("get")]
#[case::preview("preview")]
#[case::assets("assets")]
#[case::update("update")]
#[case::update_assets("update_assets")]
#[case::publish("publish")]
#[case::deprecate("deprecate")]
#[case::delete("delete")]
#[tokio::test]
async fn unknown_flows_are_not_found(#[case] operation: &str) {
    let emu = emulator().await;
    let client = client(&emu);
    // A flow of WABA_1 is unknown to WABA_2.
    let flow_id = create(&client, "Elsewhere", Some(&static_flow())).await;
    for (waba, flow) in [(WABA_2, flow_id.as_str()), (WABA_1, "1000000000000001")] {
        let meta = match operation {
            "get" => client
                .get_whats_app_flow()
                .id(waba)
                .flow_id(flow)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.into_service_error().is_resource_not_found_exception()),
            "preview" => client
                .get_whats_app_flow_preview()
                .id(waba)
                .flow_id(flow)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.into_service_error().is_resource_not_found_exception()),
            "assets" => client
                .list_whats_app_flow_assets()
                .id(waba)
                .flow_id(flow)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.into_service_error().is_resource_not_found_exception()),
            "update" => client
                .update_whats_app_flow()
                .id(waba)
                .flow_id(flow)
                .flow_name("x")
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.into_service_error().is_resource_not_found_exception()),
            "update_assets" => client
                .update_whats_app_flow_assets()
                .id(waba)
                .flow_id(flow)
                .flow_json(blob(&static_flow()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.into_service_error().is_resource_not_found_exception()),
            "publish" => client
                .publish_whats_app_flow()
                .id(waba)
                .flow_id(flow)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.into_service_error().is_resource_not_found_exception()),
            "deprecate" => client
                .deprecate_whats_app_flow()
                .id(waba)
                .flow_id(flow)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.into_service_error().is_resource_not_found_exception()),
            "delete" => client
                .delete_whats_app_flow()
                .id(waba)
                .flow_id(flow)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.into_service_error().is_resource_not_found_exception()),
            _ => unreachable!(),
        };
        assert_eq!(meta, Err(true), "{operation} of flow {flow} in {waba}");
    }
}

#[tokio::test]
async fn an_unknown_waba_is_not_found_and_a_bad_id_is_a_validation_error() {
    let emu = emulator().await;
    let client = client(&emu);
    let unknown = "waba-00000000000000000000000000000000";
    let err =
        client.list_whats_app_flows().id(unknown).send().await.unwrap_err().into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = client
        .create_whats_app_flow()
        .id(unknown)
        .flow_name("x")
        .categories(MetaFlowCategory::Other)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = client
        .get_whats_app_flow()
        .id(WABA_1)
        .flow_id("abc")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    let err = client
        .create_whats_app_flow()
        .id(WABA_1)
        .flow_name("No categories")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("'categories'"), "{:?}", err.message());
}

/// An interactive `flow` message to a customer inside the service window.
fn flow_message(flow: Value) -> aws_smithy_types::Blob {
    let mut parameters = json!({ "flow_message_version": "3", "flow_cta": "Book now" });
    for (k, v) in flow.as_object().unwrap() {
        parameters[k] = v.clone();
    }
    message_blob(json!({
        "messaging_product": "whatsapp", "to": "14255550150", "type": "interactive",
        "interactive": { "type": "flow", "body": { "text": "Pick a time" },
            "action": { "name": "flow", "parameters": parameters } }
    }))
}

#[tokio::test]
async fn flow_messages_need_a_published_flow_or_draft_mode() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    control.customer_says(PHONE_1, "14255550150", "I want an appointment").await;
    let flow_id = create(&client, "booking", Some(&static_flow())).await;
    let err = send_refused(&client, PHONE_1, flow_message(json!({ "flow_id": flow_id }))).await;
    assert!(err.message().unwrap().starts_with("(#131009)"), "{err:?}");
    assert!(err.message().unwrap().contains("DRAFT"), "{err:?}");
    let err =
        send_refused(&client, PHONE_1, flow_message(json!({ "flow_id": "999999999999999" }))).await;
    assert!(err.message().unwrap().contains("does not exist"), "{err:?}");
    // In draft mode a draft can be sent, by id or by name; once published, normally.
    send(&client, PHONE_1, flow_message(json!({ "flow_id": flow_id, "mode": "draft" }))).await;
    send(&client, PHONE_1, flow_message(json!({ "flow_name": "booking", "mode": "draft" }))).await;
    client.publish_whats_app_flow().id(WABA_1).flow_id(&flow_id).send().await.unwrap();
    send(&client, PHONE_1, flow_message(json!({ "flow_id": flow_id }))).await;
    // A flow of another WABA is not sendable from this number.
    let err = send_refused(&client, PHONE_2, flow_message(json!({ "flow_id": flow_id }))).await;
    assert!(err.message().unwrap().contains("does not exist"), "{err:?}");
}
