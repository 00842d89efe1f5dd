//! Deterministic mode: two emulators running the same script answer byte for byte alike
//! (bodies, request ids) and log the same events.

use std::sync::{Arc, Mutex};

use aws_sdk_socialmessaging::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_socialmessaging::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_socialmessaging::error::BoxError;
use aws_sdk_socialmessaging::types::Tag;
use eum_social_emulator::{Config, Seed};
use sdk_tests::*;
use serde_json::json;

/// Records every raw response the SDK receives: status, request id, body.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let line = format!(
            "{} {} {}",
            response.status().as_u16(),
            response.headers().get("x-amzn-requestid").unwrap_or("-"),
            String::from_utf8_lossy(response.body().bytes().unwrap_or_default()),
        );
        self.0.lock().unwrap().push(line);
        Ok(())
    }
}

/// SDK calls, a customer writing in, the clock moving; returns every raw answer and the logs.
async fn run_script() -> Vec<String> {
    let config = Config { deterministic_seed: Some(0), ..Config::default() };
    let emulator = Emulator::start_with(config, Seed::default_seed()).await.unwrap();
    let control = Control::new(&emulator);
    let recorder = Recorder::default();
    let client = aws_sdk_socialmessaging::Client::from_conf(
        client(&emulator).config().to_builder().interceptor(recorder.clone()).build(),
    );
    let mut out = Vec::new();
    let raw = |path: &str| {
        let url = format!("{}/_emulator{path}", emulator.url());
        async move { http().get(url).send().await.unwrap().text().await.unwrap() }
    };

    client
        .tag_resource()
        .resource_arn(waba_arn(ACCOUNT, REGION, WABA_1))
        .tags(Tag::builder().key("env").value("test").build().unwrap())
        .send()
        .await
        .unwrap();
    client
        .create_whats_app_message_template()
        .id(WABA_1)
        .template_definition(aws_smithy_types::Blob::new(
            json!({
                "name": "shipping_update",
                "language": "en_US",
                "category": "UTILITY",
                "components": [{ "type": "BODY", "text": "Your parcel is on its way." }],
            })
            .to_string(),
        ))
        .send()
        .await
        .unwrap();
    let inbound = control.customer_says(PHONE_1, "15551104321", "where is my parcel?").await;
    out.push(inbound);
    send(&client, PHONE_1, text_to("15551104321", "It ships today.")).await;
    send(&client, PHONE_2, hello_world_to("15551109999")).await;
    // Refused (not an approved template yet): errors carry request ids too.
    let refused = client
        .send_whats_app_message()
        .origination_phone_number_id(PHONE_1)
        .meta_api_version("v20.0")
        .message(message_blob(json!({
            "messaging_product": "whatsapp",
            "to": "15551104321",
            "type": "template",
            "template": { "name": "shipping_update", "language": { "code": "en_US" } },
        })))
        .send()
        .await;
    assert!(refused.is_err());
    out.push(
        control.call("POST", "/clock/advance", Some(json!({ "seconds": 30 }))).await.to_string(),
    );
    control.settle().await;
    client.list_whats_app_message_templates().id(WABA_1).send().await.unwrap();
    client.get_linked_whats_app_business_account().id(WABA_1).send().await.unwrap();
    client.list_linked_whats_app_business_accounts().send().await.unwrap();

    out.extend(recorder.0.lock().unwrap().iter().cloned());
    out.push(raw("/events").await);
    out.push(raw("/messages").await);
    out.push(raw("/state").await);
    out
}

#[tokio::test]
async fn two_deterministic_runs_are_byte_identical() {
    let first = run_script().await;
    let second = run_script().await;
    assert!(first.len() > 10, "{first:?}");
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a, b);
    }
    assert_eq!(first.len(), second.len());
    // The clock started frozen at the fixed instant.
    let events = &first[first.len() - 3];
    assert!(events.contains("2026-01-01T00:00:"), "{events}");
}
