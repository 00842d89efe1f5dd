//! The control API's state document: export → reset → import → export is identical, and a bad
//! document is refused with the path of what is wrong, changing nothing.

use aws_sdk_socialmessaging::types::Tag;
use sdk_tests::*;
use serde_json::{Value, json};

const CUSTOMER: &str = "15551101234";

/// Tags, a template, an inbound message, a send whose statuses are still pending (frozen clock).
async fn build_some_state(emulator: &Emulator, control: &Control) -> String {
    let client = client(emulator);
    client
        .tag_resource()
        .resource_arn(waba_arn(ACCOUNT, REGION, WABA_1))
        .tags(Tag::builder().key("team").value("growth").build().unwrap())
        .send()
        .await
        .expect("TagResource");
    client
        .create_whats_app_message_template()
        .id(WABA_1)
        .template_definition(aws_smithy_types::Blob::new(
            json!({
                "name": "order_shipped",
                "language": "en_US",
                "category": "UTILITY",
                "components": [{ "type": "BODY", "text": "Your order has shipped." }],
            })
            .to_string(),
        ))
        .send()
        .await
        .expect("CreateWhatsAppMessageTemplate");
    control.customer_says(PHONE_1, CUSTOMER, "hello").await;
    control.freeze(true).await;
    send(&client, PHONE_1, text_to(CUSTOMER, "hi there")).await
}

async fn export(emulator: &Emulator) -> String {
    let res = http().get(format!("{}/_emulator/state", emulator.url())).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

async fn import(emulator: &Emulator, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let res = http()
        .put(format!("{}/_emulator/state", emulator.url()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn export_reset_import_export_is_identical_and_the_state_lives_on() {
    let emulator = emulator().await;
    let control = Control::new(&emulator);
    let message_id = build_some_state(&emulator, &control).await;
    let before = export(&emulator).await;
    let doc: Value = serde_json::from_str(&before).unwrap();
    assert_eq!(doc["version"], 1);
    assert!(doc["clock"]["frozenAtMs"].is_i64(), "{}", doc["clock"]);
    assert!(!doc["scheduler"].as_array().unwrap().is_empty(), "pending statuses are exported");
    assert!(!doc["events"]["events"].as_array().unwrap().is_empty());

    control.call("POST", "/reset", None).await;
    assert_ne!(export(&emulator).await, before, "the reset changed the state");

    let (status, answer) = import(&emulator, before.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(export(&emulator).await, before);

    // Live again: the tag and the template are served, and the pending statuses resume.
    let client = client(&emulator);
    let tags = client
        .list_tags_for_resource()
        .resource_arn(waba_arn(ACCOUNT, REGION, WABA_1))
        .send()
        .await
        .unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == "team" && t.value() == Some("growth")));
    let templates =
        client.list_whats_app_message_templates().id(WABA_1).send().await.expect("templates");
    assert!(templates.templates().iter().any(|t| t.template_name() == Some("order_shipped")));
    control.advance_seconds(60.0).await;
    control.settle().await;
    let statuses = control.events(&format!("kind=status&messageId={message_id}")).await;
    let names: Vec<&str> = statuses.iter().filter_map(|e| e["status"].as_str()).collect();
    assert_eq!(names, ["sent", "delivered", "read"]);
}

#[tokio::test]
async fn a_bad_document_is_refused_with_its_path_and_changes_nothing() {
    let emulator = emulator().await;
    let control = Control::new(&emulator);
    build_some_state(&emulator, &control).await;
    let before = export(&emulator).await;
    let doc: Value = serde_json::from_str(&before).unwrap();
    let hex = WABA_1.trim_start_matches("waba-");

    let mut wrong_type = doc.clone();
    wrong_type["partitions"][0]["wabas"][hex]["phoneNumbers"][0]["throughputPerSecond"] =
        json!("fast");
    let mut unknown_field = doc.clone();
    unknown_field["partitions"][0]["surprise"] = json!(true);
    let mut duplicate = doc.clone();
    let first = duplicate["partitions"][0].clone();
    duplicate["partitions"].as_array_mut().unwrap().push(first);
    let mut bad_job = doc.clone();
    bad_job["scheduler"][0]["job"]["kind"] = json!("teleport");
    let mut bad_events = doc.clone();
    bad_events["events"]["nextSeq"] = json!(0);
    let mut newer = doc.clone();
    newer["version"] = json!(2);
    let mut no_clock = doc.clone();
    no_clock.as_object_mut().unwrap().shift_remove("clock");

    let cases: Vec<(String, &str)> = vec![
        (wrong_type.to_string(), "partitions[0].wabas"),
        (unknown_field.to_string(), "surprise"),
        (duplicate.to_string(), "a second partition"),
        (bad_job.to_string(), "scheduler[0].job"),
        (bad_events.to_string(), "events.events[0].seq"),
        (newer.to_string(), "version"),
        (no_clock.to_string(), "clock"),
        ("{\"version\": 1, ".to_string(), "not JSON"),
        ("[]".to_string(), "version"),
    ];
    for (body, wanted) in cases {
        let (status, answer) = import(&emulator, body).await;
        assert_eq!(status, 400, "{answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(wanted), "{wanted:?} not in {message:?}");
        assert_eq!(export(&emulator).await, before, "a refused import changed the state");
    }
    let (status, answer) = import(&emulator, before.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("message").is_none(), "a good document is taken: {answer}");
}
