//! Conversions datasets and events through the real SDK: one dataset per WABA (idempotent, shown
//! on the WABA), events validated as Meta's Conversions API for Business Messaging payload, and
//! accepted events listed by the control API.

use aws_sdk_socialmessaging::Client;
use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use aws_smithy_types::Blob;
use rstest::rstest;
use sdk_tests::*;
use serde_json::{Value, json};

async fn dataset(client: &Client, waba: &str) -> String {
    client.create_whats_app_dataset().id(waba).send().await.unwrap().dataset_id().to_string()
}

fn purchase(now: f64) -> Value {
    json!({
        "event_name": "Purchase",
        "event_time": now.floor() as i64 - 60,
        "action_source": "business_messaging",
        "messaging_channel": "whatsapp",
        "user_data": {
            "whatsapp_business_account_id": "1347766229904230",
            "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-GABDLOPaOdRMv-_zfUQ2a"
        },
        "custom_data": { "currency": "USD", "value": 142.52 }
    })
}

async fn conversion_events(emu: &Emulator, query: &str) -> Vec<Value> {
    let body: Value = http()
        .get(format!("{}/_emulator/conversion-events{query}", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_waba_has_one_dataset_shown_on_the_waba() {
    let emu = emulator().await;
    let client = client(&emu);
    let first = dataset(&client, WABA_1).await;
    assert!(
        (10..=20).contains(&first.len()) && first.bytes().all(|b| b.is_ascii_digit()),
        "{first}"
    );
    assert_eq!(dataset(&client, &waba_arn(ACCOUNT, REGION, WABA_1)).await, first, "idempotent");
    let account = client.get_linked_whats_app_business_account().id(WABA_1).send().await.unwrap();
    assert_eq!(account.account().unwrap().dataset_id(), Some(first.as_str()));
    let other = dataset(&client, WABA_2).await;
    assert_ne!(other, first);
    let list = client.list_linked_whats_app_business_accounts().send().await.unwrap();
    assert!(list.linked_accounts().iter().all(|a| a.dataset_id().is_some()));
}

#[tokio::test]
async fn an_unknown_waba_is_not_found() {
    let emu = emulator().await;
    let err = client(&emu)
        .create_whats_app_dataset()
        .id("waba-00000000000000000000000000000000")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn accepted_events_get_a_request_id_and_show_in_the_control_api() {
    let emu = emulator().await;
    let client = client(&emu);
    let dataset_id = dataset(&client, WABA_1).await;
    let now = emu.state.clock.now_secs();
    let mut lead = purchase(now);
    lead["event_name"] = json!("LeadSubmitted");
    lead["custom_data"] = json!({});
    let payload = json!({ "data": [purchase(now), lead], "partner_agent": "eum-social-tests" });
    let out = client
        .send_whats_app_conversion_event()
        .id(WABA_1)
        .dataset_id(&dataset_id)
        .event_data(Blob::new(payload.to_string().into_bytes()))
        .send()
        .await
        .unwrap();
    let request_id = out.request_id();
    assert!(request_id.len() > 10, "{request_id}");

    let events = conversion_events(&emu, &format!("?datasetId={dataset_id}")).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["requestId"], json!(request_id));
    assert_eq!(events[0]["wabaId"], json!(WABA_1));
    assert_eq!(events[0]["event"], purchase(now));
    assert_eq!(events[1]["event"]["event_name"], json!("LeadSubmitted"));
    assert!(conversion_events(&emu, "?datasetId=1111111111").await.is_empty());
    assert_eq!(conversion_events(&emu, &format!("?wabaId={WABA_1}")).await.len(), 2);
    // Other accounts see nothing.
    assert!(conversion_events(&emu, "?account=111122223333").await.is_empty());
}

#[tokio::test]
async fn the_event_log_is_bounded() {
    let emu = emulator().await;
    let client = client(&emu);
    let dataset_id = dataset(&client, WABA_1).await;
    let now = emu.state.clock.now_secs();
    for batch in [1000, 5] {
        let events: Vec<Value> = (0..batch)
            .map(|i| {
                let mut e = purchase(now);
                e["custom_data"]["value"] = json!(i);
                e
            })
            .collect();
        client
            .send_whats_app_conversion_event()
            .id(WABA_1)
            .dataset_id(&dataset_id)
            .event_data(Blob::new(json!({ "data": events }).to_string().into_bytes()))
            .send()
            .await
            .unwrap();
    }
    let events = conversion_events(&emu, "").await;
    assert_eq!(events.len(), 1000, "the oldest events were dropped");
    assert_eq!(events[999]["event"]["custom_data"]["value"], json!(4));
    assert_eq!(events[0]["event"]["custom_data"]["value"], json!(5));
}

#[rstest]
#[case::not_json(json!("{not json"), "eventData is not valid JSON")]
#[case::no_data(json!({ "events": [] }), "eventData.data is required")]
#[case::empty_data(json!({ "data": [] }), "at least one event")]
#[case::no_event_name(json!({ "data": [{ "event_name": null }] }), "event_name is required")]
#[case::website_source(json!({ "data": [{ "action_source": "website" }] }), "action_source must be business_messaging")]
#[case::messenger(json!({ "data": [{ "messaging_channel": "messenger" }] }), "messaging_channel must be whatsapp")]
#[case::future(json!({ "data": [{ "event_time": 4102444800u64 }] }), "is in the future")]
#[case::too_old(json!({ "data": [{ "event_time": 1000000000 }] }), "more than 7 days old")]
#[case::no_user(json!({ "data": [{ "user_data": null }] }), "user_data is required")]
#[case::no_click_id(json!({ "data": [{ "user_data": {} }] }), "user_data needs ctwa_clid")]
#[case::other_waba(json!({ "data": [{ "user_data": { "whatsapp_business_account_id": "1390647332755815" } }] }), "is not this WABA's Meta id")]
#[case::purchase_without_value(json!({ "data": [{ "custom_data": { "currency": "USD" } }] }), "a Purchase event needs custom_data.currency and custom_data.value")]
#[case::bad_currency(json!({ "data": [{ "custom_data": { "currency": "dollars", "value": 1 } }] }), "ISO 4217")]
#[tokio::test]
async fn bad_events_are_invalid_parameters(#[case] patch: Value, #[case] reason: &str) {
    let emu = emulator().await;
    let client = client(&emu);
    let dataset_id = dataset(&client, WABA_1).await;
    let now = emu.state.clock.now_secs();
    // `patch` is either raw text, or a payload whose one event overrides fields of a valid one.
    let payload = match &patch {
        Value::String(raw) => raw.clone(),
        Value::Object(o)
            if o.get("data").and_then(Value::as_array).is_some_and(|d| d.len() == 1) =>
        {
            let mut event = purchase(now);
            for (k, v) in patch["data"][0].as_object().unwrap() {
                if v.is_null() {
                    event.as_object_mut().unwrap().remove(k);
                } else {
                    event[k] = v.clone();
                }
            }
            json!({ "data": [event] }).to_string()
        }
        other => other.to_string(),
    };
    let err = client
        .send_whats_app_conversion_event()
        .id(WABA_1)
        .dataset_id(&dataset_id)
        .event_data(Blob::new(payload.into_bytes()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    let message = err.message().unwrap();
    assert!(message.starts_with("(#100) Invalid parameter: "), "{message}");
    assert!(message.contains(reason), "{reason} not in {message}");
    assert!(conversion_events(&emu, "").await.is_empty(), "nothing was accepted");
}

#[tokio::test]
async fn the_dataset_must_be_the_wabas() {
    let emu = emulator().await;
    let client = client(&emu);
    let now = emu.state.clock.now_secs();
    let send = |waba: &'static str, dataset: String| {
        client
            .send_whats_app_conversion_event()
            .id(waba)
            .dataset_id(dataset)
            .event_data(Blob::new(json!({ "data": [purchase(now)] }).to_string().into_bytes()))
            .send()
    };
    let err = send(WABA_1, "1234567890123".into()).await.unwrap_err().into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("CreateWhatsAppDataset"));
    let other = dataset(&client, WABA_2).await;
    dataset(&client, WABA_1).await;
    let err = send(WABA_1, other).await.unwrap_err().into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = send(WABA_1, "12345".into()).await.unwrap_err().into_service_error();
    assert!(err.is_validation_exception(), "datasetId has 10-20 digits: {err:?}");
}
