//! The EventBridge events AWS sends to the account's default bus for every relayed message
//! status and inbound message, whether or not a WABA has an event destination (AWS user guide,
//! "Monitoring with Amazon EventBridge"): their own kind in the event log, the documented
//! envelope and detail, checked against `fixtures/schemas/eventbridge-event.schema.json`.

use sdk_tests::*;
use serde_json::{Value, json};

const CUSTOMER: &str = "14255550150";

async fn eventbridge_events(control: &Control, query: &str, count: usize) -> Vec<Value> {
    let events = control.wait_events(&format!("kind=eventbridge&{query}"), count).await;
    for e in &events {
        assert_eq!(e["kind"], "eventbridge");
        assert_schema("eventbridge-event.schema.json", &e["eventBridge"]);
    }
    events
}

#[tokio::test]
async fn statuses_and_inbound_messages_become_eventbridge_events() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let wamid = control.customer_says(PHONE_1, CUSTOMER, "Hello").await;
    let message_id = send(&client, PHONE_1, text_to(CUSTOMER, "Hi Diego")).await;
    control.advance_seconds(5.0).await;
    let statuses = eventbridge_events(&control, &format!("messageId={message_id}"), 3).await;
    let types: Vec<&str> =
        statuses.iter().map(|e| e["eventBridge"]["detail-type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["WhatsApp Message Sent", "WhatsApp Message Delivered", "WhatsApp Message Read"]
    );
    // The documented delivered example: Meta's ids, the number's digits, AWS's messageId.
    let delivered = &statuses[1]["eventBridge"];
    assert_eq!(delivered["source"], "aws.social-messaging");
    assert_eq!(delivered["account"], ACCOUNT);
    assert_eq!(delivered["region"], REGION);
    assert_eq!(delivered["resources"], json!([]));
    let detail = &delivered["detail"];
    assert_eq!(detail["wabaId"], "1347766229904230");
    assert_eq!(detail["originationPhoneNumber"], "919330994400");
    assert_eq!(detail["originationPhoneNumberId"], "831049713436137");
    assert_eq!(detail["messageId"], message_id.as_str());
    assert_eq!(detail["status"], "delivered");
    let sns = control.events(&format!("kind=status&messageId={message_id}&status=delivered")).await;
    let seconds = sns[0]["timeMs"].as_i64().unwrap() / 1000;
    assert_eq!(detail["eventTimestamp"], seconds.to_string());
    // The same id on every read.
    let again = eventbridge_events(&control, &format!("messageId={message_id}"), 3).await;
    assert_eq!(again[1]["eventBridge"]["id"], delivered["id"]);

    let received = eventbridge_events(&control, &format!("wamid={wamid}"), 1).await;
    let received = &received[0]["eventBridge"];
    assert_eq!(received["detail-type"], "WhatsApp Message Received");
    assert_eq!(received["detail"]["messageId"], wamid.as_str());
    assert!(received["detail"].get("status").is_none());

    // A failure is "WhatsApp Message Failed".
    let failed = send(&client, PHONE_1, hello_world_to("15550131026")).await;
    control.advance_seconds(5.0).await;
    let failed = eventbridge_events(&control, &format!("messageId={failed}"), 1).await;
    assert_eq!(failed[0]["eventBridge"]["detail-type"], "WhatsApp Message Failed");
    assert_eq!(failed[0]["eventBridge"]["detail"]["status"], "failed");
}

#[tokio::test]
async fn eventbridge_events_come_without_an_event_destination() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    client
        .put_whats_app_business_account_event_destinations()
        .id(WABA_1)
        .set_event_destinations(Some(vec![]))
        .send()
        .await
        .expect("destinations removed");
    let message_id = send(&client, PHONE_1, hello_world_to(CUSTOMER)).await;
    control.advance_seconds(5.0).await;
    let events = eventbridge_events(&control, &format!("messageId={message_id}"), 3).await;
    assert_eq!(events.len(), 3);
    // The SNS-shaped events have no destination; EventBridge gets them all the same.
    let sns = control.events(&format!("kind=status&messageId={message_id}")).await;
    assert!(sns.iter().all(|e| e["destination"].is_null()), "{sns:?}");
    // Template status events are not EventBridge events.
    let others = control.events("kind=eventbridge&field=message_template_status_update").await;
    assert!(others.is_empty());
}

#[tokio::test]
async fn message_timestamps_carry_nanoseconds() {
    let emu = emulator().await;
    let control = Control::new(&emu);
    control.customer_says(PHONE_1, CUSTOMER, "one").await;
    control.customer_says(PHONE_1, CUSTOMER, "two").await;
    let events = control.wait_events("kind=inbound", 2).await;
    let stamps: Vec<&str> =
        events.iter().map(|e| e["envelope"]["message_timestamp"].as_str().unwrap()).collect();
    for stamp in &stamps {
        let fraction = stamp.rsplit('.').next().unwrap().trim_end_matches('Z');
        assert_eq!(fraction.len(), 9, "{stamp}");
        assert!(!fraction.ends_with("000000"), "digits below the millisecond: {stamp}");
    }
    // Later events have later timestamps, within one millisecond too.
    assert!(stamps[0] < stamps[1], "{stamps:?}");
}

/// What an in-process EventBridge endpoint received: (X-Amz-Target, the JSON body).
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>;

/// An EventBridge-compatible endpoint on 127.0.0.1 that decodes the awsJson1.1 `PutEvents`
/// requests `aws-sdk-eventbridge` sends, and accepts (or, with `refuse`, fails) every entry.
struct FakeBus {
    url: String,
    received: Received,
    arrived: std::sync::Arc<tokio::sync::Notify>,
}

impl FakeBus {
    async fn start(refuse: bool) -> Self {
        let received: Received = Default::default();
        let arrived = std::sync::Arc::new(tokio::sync::Notify::new());
        let url = fake_eventbridge(received.clone(), refuse, arrived.clone()).await;
        Self { url, received, arrived }
    }

    /// Waits (10 s at most per request) until `n` requests have arrived; returns them all.
    async fn wait_for(&self, n: usize) -> Vec<(String, Value)> {
        while self.received.lock().unwrap().len() < n {
            tokio::time::timeout(std::time::Duration::from_secs(10), self.arrived.notified())
                .await
                .expect("PutEvents arrives");
        }
        self.received.lock().unwrap().clone()
    }
}

/// Serves the endpoint; returns its URL.
async fn fake_eventbridge(
    received: Received,
    refuse: bool,
    arrived: std::sync::Arc<tokio::sync::Notify>,
) -> String {
    #[derive(Clone)]
    struct S(Received, bool, std::sync::Arc<tokio::sync::Notify>);
    async fn handle(
        axum::extract::State(S(received, refuse, arrived)): axum::extract::State<S>,
        headers: axum::http::HeaderMap,
        body: String,
    ) -> (axum::http::StatusCode, [(&'static str, &'static str); 1], String) {
        let target = headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let doc: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let count = doc["Entries"].as_array().map(Vec::len).unwrap_or(0);
        received.lock().unwrap().push((target, doc));
        arrived.notify_one();
        let answer = if refuse {
            json!({ "FailedEntryCount": count, "Entries": (0..count).map(|_| json!({
                "ErrorCode": "NotAuthorizedForSourceException",
                "ErrorMessage": "Not authorized for the source." })).collect::<Vec<_>>() })
        } else {
            json!({ "FailedEntryCount": 0, "Entries": (0..count).map(|i| json!({
                "EventId": format!("{i:08}-0000-0000-0000-000000000000") })).collect::<Vec<_>>() })
        };
        (
            axum::http::StatusCode::OK,
            [("content-type", "application/x-amz-json-1.1")],
            answer.to_string(),
        )
    }
    let app = axum::Router::new().fallback(handle).with_state(S(received, refuse, arrived));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn with_eventbridge(endpoint: &str) -> Emulator {
    let config = eum_social_emulator::Config {
        eventbridge_endpoint: Some(endpoint.to_string()),
        eventbridge_credentials: Some(("test".into(), "test".into())),
        ..Default::default()
    };
    Emulator::start_with(config, eum_social_emulator::Seed::default_seed()).await.unwrap()
}

#[tokio::test]
async fn eventbridge_events_are_put_on_the_default_bus_of_an_endpoint() {
    let bus = FakeBus::start(false).await;
    let endpoint = &bus.url;
    let emu = with_eventbridge(endpoint).await;
    let control = Control::new(&emu);
    let wamid = control.customer_says(PHONE_1, CUSTOMER, "to the bus").await;
    let calls = bus.wait_for(1).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (target, body) = &calls[0];
    assert_eq!(target, "AWSEvents.PutEvents");
    let entry = &body["Entries"][0];
    assert_eq!(entry["Source"], "aws.social-messaging");
    assert_eq!(entry["DetailType"], "WhatsApp Message Received");
    assert_eq!(entry["EventBusName"], "default");
    let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
    let logged = eventbridge_events(&control, &format!("wamid={wamid}"), 1).await;
    assert_eq!(detail, logged[0]["eventBridge"]["detail"]);
    control.settle().await;
    let delivered = control.call("GET", "/sns/deliveries?state=delivered", None).await;
    let d = &delivered["deliveries"][0];
    assert_eq!(d["target"], "eventBridge");
    assert_eq!(d["subscriptionArn"], endpoint.as_str());
}

#[tokio::test]
async fn a_refused_put_events_entry_is_retried_then_kept_as_failed() {
    let bus = FakeBus::start(true).await;
    let emu = with_eventbridge(&bus.url).await;
    let control = Control::new(&emu);
    control.freeze(true).await;
    control.customer_says(PHONE_1, CUSTOMER, "refused").await;
    for attempts in 1..=4 {
        bus.wait_for(attempts).await;
        control.advance_seconds(20.0).await;
        control.settle().await;
    }
    let failed = control.call("GET", "/sns/deliveries?state=failed", None).await;
    let failed = failed["deliveries"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["target"], "eventBridge");
    assert_eq!(failed[0]["attempts"], 4);
    assert!(
        failed[0]["lastError"].as_str().unwrap().contains("NotAuthorizedForSourceException"),
        "{failed:?}"
    );
}
