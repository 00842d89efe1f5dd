//! SendWhatsAppMessage and the WhatsApp side, end to end through the real SDK and the control
//! API: a customer writes in, the app replies, statuses arrive as events in the AWS envelope; the
//! 24-hour window, templates, magic recipients, limits, and every malformed message family.

use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use rstest::rstest;
use sdk_tests::*;
use serde_json::{Value, json};

const CUSTOMER: &str = "14255550150";

fn statuses(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["status"].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test]
async fn a_customer_writes_in_and_the_reply_is_sent_delivered_and_read() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let inbound =
        control.customer_says(PHONE_1, &format!("+{CUSTOMER}"), "Hi, is my order ready?").await;
    assert!(inbound.starts_with("wamid."));

    // The inbound event, in the AWS envelope.
    let event = &control.wait_events(&format!("kind=inbound&wamid={inbound}"), 1).await[0];
    assert_schema("event-envelope.schema.json", &event["envelope"]);
    let inbound_entry = entry(event);
    assert_schema("webhook-entry.schema.json", &inbound_entry);
    assert_eq!(inbound_entry["id"], "1347766229904230");
    let value = &inbound_entry["changes"][0]["value"];
    assert_eq!(value["metadata"]["phone_number_id"], "831049713436137");
    assert_eq!(value["metadata"]["display_phone_number"], "919330994400");
    assert_eq!(value["contacts"][0]["wa_id"], CUSTOMER);
    assert_eq!(value["contacts"][0]["profile"]["name"], "Diego");
    assert_eq!(value["messages"][0]["text"]["body"], "Hi, is my order ready?");
    assert!(event["envelope"].get("messageId").is_none(), "inbound events carry no messageId");
    assert_eq!(event["destination"], "arn:aws:sns:us-east-1:809904170947:base-wecare-digital");

    // The reply: a UUID now, then sent → delivered → read.
    let message_id = send(&client, PHONE_1, text_to(CUSTOMER, "Yes, it ships today.")).await;
    assert_eq!(message_id.len(), 36, "{message_id}");
    let events = control.wait_events(&format!("kind=status&messageId={message_id}"), 3).await;
    assert_eq!(statuses(&events), vec!["sent", "delivered", "read"]);
    let mut wamids = Vec::new();
    for event in &events {
        assert_schema("event-envelope.schema.json", &event["envelope"]);
        assert_eq!(event["envelope"]["messageId"], message_id.as_str());
        assert_eq!(event["envelope"]["aws_account_id"], ACCOUNT);
        assert_eq!(
            event["envelope"]["context"]["MetaPhoneNumberIds"][0]["arn"],
            phone_arn(ACCOUNT, REGION, PHONE_1)
        );
        let decoded = entry(event);
        assert_schema("webhook-entry.schema.json", &decoded);
        let status = &decoded["changes"][0]["value"]["statuses"][0];
        assert_eq!(status["recipient_id"], CUSTOMER);
        wamids.push(status["id"].as_str().unwrap().to_string());
    }
    assert!(wamids.iter().all(|w| *w == wamids[0]), "one wamid per message");
    let sent = &entry(&events[0])["changes"][0]["value"]["statuses"][0];
    assert_eq!(
        sent["pricing"],
        json!({"billable": false, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"})
    );
    assert!(entry(&events[2])["changes"][0]["value"]["statuses"][0].get("pricing").is_none());

    // The outbound log keeps the decoded payload and the status history.
    let log = control.call("GET", &format!("/messages?messageId={message_id}"), None).await;
    let m = &log["messages"][0];
    assert_eq!(m["payload"]["text"]["body"], "Yes, it ships today.");
    let history: Vec<&str> =
        m["statuses"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(history, vec!["accepted", "sent", "delivered", "read"]);
}

#[tokio::test]
async fn statuses_echo_the_biz_opaque_callback_data_of_their_message() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    control.customer_says(PHONE_1, CUSTOMER, "hello").await;
    let tagged = message_blob(json!({
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "text",
        "text": { "body": "Your order shipped" },
        "biz_opaque_callback_data": "order-42 \"quoted\"",
    }));
    let tagged_id = send(&client, PHONE_1, tagged).await;
    // The data's name in the text is not the member: no echo.
    let plain_id = send(&client, PHONE_1, text_to(CUSTOMER, "biz_opaque_callback_data")).await;
    for (message_id, expected) in [(&tagged_id, Some("order-42 \"quoted\"")), (&plain_id, None)] {
        let events = control.wait_events(&format!("kind=status&messageId={message_id}"), 3).await;
        assert_eq!(statuses(&events), vec!["sent", "delivered", "read"]);
        for event in &events {
            let status = &entry(event)["changes"][0]["value"]["statuses"][0];
            assert_eq!(status.get("biz_opaque_callback_data").and_then(Value::as_str), expected);
        }
    }
    // The log keeps the payload as sent.
    let log = control.call("GET", &format!("/messages?messageId={tagged_id}"), None).await;
    assert_eq!(log["messages"][0]["payload"]["biz_opaque_callback_data"], "order-42 \"quoted\"");
}

#[tokio::test]
async fn the_status_event_matches_the_snapshot() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    control.customer_says(PHONE_2, CUSTOMER, "hello").await;
    let message_id = send(&client, PHONE_2, text_to(CUSTOMER, "Namaste")).await;
    let event = control
        .wait_events(&format!("kind=status&status=sent&messageId={message_id}"), 1)
        .await
        .remove(0);
    let mut envelope = event["envelope"].clone();
    let mut decoded = entry(&event);
    decoded["changes"][0]["value"]["statuses"][0]["id"] = json!("[wamid]");
    decoded["changes"][0]["value"]["statuses"][0]["timestamp"] = json!("[timestamp]");
    envelope["whatsAppWebhookEntry"] = decoded;
    insta::assert_json_snapshot!("status_sent_envelope", envelope, {
        ".message_timestamp" => "[message_timestamp]",
        ".messageId" => "[messageId]",
    });
}

#[tokio::test]
async fn after_24_hours_only_templates_are_delivered() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    control.customer_says(PHONE_1, CUSTOMER, "hi").await;
    control.advance_seconds(25.0 * 3600.0).await;

    let late = send(&client, PHONE_1, text_to(CUSTOMER, "Sorry for the delay")).await;
    let failed = control.wait_events(&format!("kind=status&messageId={late}"), 1).await;
    assert_eq!(statuses(&failed), vec!["failed"]);
    let status = &entry(&failed[0])["changes"][0]["value"]["statuses"][0];
    assert_schema("webhook-entry.schema.json", &entry(&failed[0]));
    assert_eq!(status["errors"][0]["code"], 131047);
    assert_eq!(status["errors"][0]["title"], "Re-engagement message");
    assert_eq!(status["errors"][0]["message"], "Re-engagement message");
    assert_eq!(
        status["errors"][0]["error_data"]["details"],
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number."
    );

    let template = send(&client, PHONE_1, hello_world_to(CUSTOMER)).await;
    let ok = control.wait_events(&format!("kind=status&messageId={template}"), 3).await;
    assert_eq!(statuses(&ok), vec!["sent", "delivered", "read"]);
    let pricing = &entry(&ok[0])["changes"][0]["value"]["statuses"][0]["pricing"];
    assert_eq!(pricing["billable"], true);
    assert_eq!(pricing["category"], "utility");

    // The customer writes again: the window reopens.
    control.customer_says(PHONE_1, CUSTOMER, "still there?").await;
    let again = send(&client, PHONE_1, text_to(CUSTOMER, "Yes!")).await;
    let ok = control.wait_events(&format!("kind=status&messageId={again}"), 3).await;
    assert_eq!(statuses(&ok), vec!["sent", "delivered", "read"]);
}

#[rstest]
#[case::undeliverable("15550131026", 131026, "Message Undeliverable")]
#[case::not_in_window("+15550131047", 131047, "Re-engagement message")]
#[case::spam_limit("1 555 013 1048", 131048, "Spam rate limit hit")]
#[case::marketing_cap(
    "15550131049",
    131049,
    "This message was not delivered to maintain healthy ecosystem engagement."
)]
#[case::unknown_code("15550999999", 999999, "Message failed to send")]
#[tokio::test]
async fn magic_recipients_fail_with_their_meta_code(
    #[case] to: &str,
    #[case] code: u32,
    #[case] title: &str,
) {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    // A template, so that only the magic number decides the outcome.
    let id = send(&client, PHONE_1, hello_world_to(to)).await;
    let events = control.wait_events(&format!("kind=status&messageId={id}"), 1).await;
    assert_eq!(statuses(&events), vec!["failed"]);
    let error = &entry(&events[0])["changes"][0]["value"]["statuses"][0]["errors"][0];
    assert_eq!(error["code"], code);
    assert_eq!(error["title"], title);
}

#[rstest]
#[case::never_read("15550000001", vec!["sent", "delivered"])]
#[case::never_delivered("15550000002", vec!["sent"])]
#[tokio::test]
async fn magic_recipients_stop_short(#[case] to: &str, #[case] expected: Vec<&str>) {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let id = send(&client, PHONE_1, hello_world_to(to)).await;
    control.wait_events(&format!("kind=status&messageId={id}"), expected.len()).await;
    control.advance_seconds(3600.0).await;
    control.settle().await;
    let all = control.events(&format!("kind=status&messageId={id}")).await;
    assert_eq!(statuses(&all), expected);
}

#[tokio::test]
async fn a_slow_recipient_is_delivered_after_minutes() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    control.freeze(true).await;
    let id = send(&client, PHONE_1, hello_world_to("15550000003")).await;
    control.advance_seconds(60.0).await;
    assert_eq!(
        statuses(&control.wait_events(&format!("kind=status&messageId={id}"), 1).await),
        vec!["sent"]
    );
    control.advance_seconds(5.0 * 60.0).await;
    let events = control.wait_events(&format!("kind=status&messageId={id}"), 3).await;
    assert_eq!(statuses(&events), vec!["sent", "delivered", "read"]);
    let delivered_at = events[1]["timeMs"].as_i64().unwrap();
    let sent_at = events[0]["timeMs"].as_i64().unwrap();
    assert!(
        delivered_at - sent_at >= 4 * 60 * 1000,
        "delivered {} ms after sent",
        delivered_at - sent_at
    );
}

#[tokio::test]
async fn the_portfolio_limit_caps_unique_customers_outside_the_window_across_its_numbers() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    // The two seeded WABAs share one business portfolio, so their numbers share its limit.
    let phone = control
        .call(
            "PUT",
            &format!("/phone-numbers/{PHONE_1}"),
            Some(json!({"messagingLimitTier": "TIER_50"})),
        )
        .await;
    assert_eq!(phone["messagingLimitTier"], "TIER_50");
    let mut ids = Vec::new();
    for i in 0..50 {
        let from = if i % 2 == 0 { PHONE_1 } else { PHONE_2 };
        ids.push(send(&client, from, hello_world_to(&format!("1425555{i:04}"))).await);
    }
    let portfolio = control.call("GET", "/portfolios/1019283746556473", None).await;
    assert_eq!(portfolio["uniqueCustomersLast24h"], 50);
    assert_eq!(portfolio["maxDailyConversationsPerBusiness"], 50);
    assert_eq!(portfolio["phoneNumberIds"], json!([PHONE_1, PHONE_2]));
    // The same customer again (from the other number) does not count twice; a 51st customer
    // does, from either number.
    let again = send(&client, PHONE_2, hello_world_to("14255550000")).await;
    let over = send(&client, PHONE_2, hello_world_to("14255559999")).await;
    // A customer inside a service window is not business-initiated.
    control.customer_says(PHONE_1, "14255558888", "hi").await;
    let in_window = send(&client, PHONE_1, hello_world_to("14255558888")).await;
    for id in ids.iter().chain([&again, &in_window]) {
        let first = &control.wait_events(&format!("kind=status&messageId={id}"), 1).await[0];
        assert_eq!(first["status"], "sent", "{id}");
    }
    let failed = control.wait_events(&format!("kind=status&messageId={over}"), 1).await;
    assert_eq!(statuses(&failed), vec!["failed"]);
    assert_eq!(
        entry(&failed[0])["changes"][0]["value"]["statuses"][0]["errors"][0]["code"],
        131048
    );
    // 24 hours later the window of the count has moved on.
    control.advance_seconds(24.0 * 3600.0 + 1.0).await;
    let later = send(&client, PHONE_1, hello_world_to("14255559999")).await;
    assert_eq!(
        control.wait_events(&format!("kind=status&messageId={later}"), 1).await[0]["status"],
        "sent"
    );
}

#[tokio::test]
async fn throughput_over_the_limit_is_throttled() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    control
        .call("PUT", &format!("/phone-numbers/{PHONE_1}"), Some(json!({"throughputPerSecond": 5})))
        .await;
    control.freeze(true).await;
    for i in 0..5 {
        send(&client, PHONE_1, hello_world_to(&format!("1425556{i:04}"))).await;
    }
    let err = send_refused(&client, PHONE_1, hello_world_to("14255561234")).await;
    assert!(err.is_throttled_request_exception(), "{err:?}");
    assert!(err.message().unwrap().starts_with("(#130429) Rate limit hit"));
    // The other number has its own throughput; a second later this one sends again.
    send(&client, PHONE_2, hello_world_to("14255561234")).await;
    control.advance_seconds(1.0).await;
    send(&client, PHONE_1, hello_world_to("14255561234")).await;
}

#[tokio::test]
async fn the_pair_rate_allows_a_burst_of_45_then_one_per_6_seconds() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    control
        .call(
            "PUT",
            &format!("/phone-numbers/{PHONE_1}"),
            Some(json!({"throughputPerSecond": 1000})),
        )
        .await;
    control.freeze(true).await;
    control.customer_says(PHONE_1, CUSTOMER, "tell me everything").await;
    let mut ids = Vec::new();
    for i in 0..46 {
        ids.push(send(&client, PHONE_1, text_to(CUSTOMER, &format!("part {i}"))).await);
    }
    control.advance_seconds(0.5).await;
    let last = control.wait_events(&format!("kind=status&messageId={}", ids[45]), 1).await;
    assert_eq!(statuses(&last), vec!["failed"]);
    assert_eq!(entry(&last[0])["changes"][0]["value"]["statuses"][0]["errors"][0]["code"], 131056);
    assert_eq!(
        control.wait_events(&format!("kind=status&messageId={}", ids[44]), 1).await[0]["status"],
        "sent"
    );
    // Another customer is unaffected; after 6 s one more message to the first goes through.
    control.customer_says(PHONE_1, "14255550151", "me too").await;
    let other = send(&client, PHONE_1, text_to("14255550151", "hi")).await;
    control.advance_seconds(6.0).await;
    let next = send(&client, PHONE_1, text_to(CUSTOMER, "one more")).await;
    control.advance_seconds(0.5).await;
    assert_eq!(
        control.wait_events(&format!("kind=status&messageId={other}"), 1).await[0]["status"],
        "sent"
    );
    assert_eq!(
        control.wait_events(&format!("kind=status&messageId={next}"), 1).await[0]["status"],
        "sent"
    );
}

#[rstest]
#[case::not_json(b"hello".to_vec(), "(#100)")]
#[case::not_an_object(b"[1]".to_vec(), "(#100)")]
#[case::no_product(br#"{"to":"14255550150","type":"text","text":{"body":"x"}}"#.to_vec(), "(#131008)")]
#[case::no_recipient(br#"{"messaging_product":"whatsapp","type":"text","text":{"body":"x"}}"#.to_vec(), "(#131008) Required parameter is missing: The parameter message requires to or recipient.")]
#[case::unknown_type(br#"{"messaging_product":"whatsapp","to":"14255550150","type":"hologram"}"#.to_vec(), "(#131051)")]
#[case::text_missing(br#"{"messaging_product":"whatsapp","to":"14255550150","type":"text"}"#.to_vec(), "(#131008) Required parameter is missing: The parameter text is required.")]
#[case::text_too_long(json!({"messaging_product":"whatsapp","to":"14255550150","type":"text","text":{"body":"x".repeat(4097)}}).to_string().into_bytes(), "text.body")]
#[case::caption_too_long(json!({"messaging_product":"whatsapp","to":"14255550150","type":"image","image":{"link":"https://example.com/a.jpg","caption":"c".repeat(1025)}}).to_string().into_bytes(), "image.caption")]
#[case::media_without_id_or_link(br#"{"messaging_product":"whatsapp","to":"14255550150","type":"image","image":{"caption":"x"}}"#.to_vec(), "(#131008)")]
#[case::four_buttons(json!({"messaging_product":"whatsapp","to":"14255550150","type":"interactive","interactive":{"type":"button","body":{"text":"Pick"},"action":{"buttons":(0..4).map(|i| json!({"type":"reply","reply":{"id":format!("b{i}"),"title":format!("B{i}")}})).collect::<Vec<_>>()}}}).to_string().into_bytes(), "interactive.action.buttons")]
#[case::button_title_too_long(json!({"messaging_product":"whatsapp","to":"14255550150","type":"interactive","interactive":{"type":"button","body":{"text":"Pick"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"t".repeat(21)}}]}}}).to_string().into_bytes(), "title")]
#[case::duplicate_button_titles(json!({"messaging_product":"whatsapp","to":"14255550150","type":"interactive","interactive":{"type":"button","body":{"text":"Pick"},"action":{"buttons":[{"type":"reply","reply":{"id":"a","title":"Same"}},{"type":"reply","reply":{"id":"b","title":"Same"}}]}}}).to_string().into_bytes(), "unique")]
#[case::eleven_rows(json!({"messaging_product":"whatsapp","to":"14255550150","type":"interactive","interactive":{"type":"list","body":{"text":"Menu"},"action":{"button":"Open","sections":[{"title":"A","rows":(0..6).map(|i| json!({"id":format!("a{i}"),"title":"x"})).collect::<Vec<_>>()},{"title":"B","rows":(0..5).map(|i| json!({"id":format!("b{i}"),"title":"x"})).collect::<Vec<_>>()}]}}}).to_string().into_bytes(), "at most 10 rows")]
#[case::eleven_sections(json!({"messaging_product":"whatsapp","to":"14255550150","type":"interactive","interactive":{"type":"list","body":{"text":"Menu"},"action":{"button":"Open","sections":(0..11).map(|i| json!({"title":format!("s{i}"),"rows":[{"id":format!("r{i}"),"title":"x"}]})).collect::<Vec<_>>()}}}).to_string().into_bytes(), "sections")]
#[case::row_description_too_long(json!({"messaging_product":"whatsapp","to":"14255550150","type":"interactive","interactive":{"type":"list","body":{"text":"Menu"},"action":{"button":"Open","sections":[{"rows":[{"id":"a","title":"x","description":"d".repeat(73)}]}]}}}).to_string().into_bytes(), "description")]
#[case::cta_url_text_too_long(json!({"messaging_product":"whatsapp","to":"14255550150","type":"interactive","interactive":{"type":"cta_url","body":{"text":"Go"},"action":{"name":"cta_url","parameters":{"display_text":"d".repeat(21),"url":"https://example.com"}}}}).to_string().into_bytes(), "display_text")]
#[case::location_out_of_range(br#"{"messaging_product":"whatsapp","to":"14255550150","type":"location","location":{"latitude":91,"longitude":0}}"#.to_vec(), "location.latitude")]
#[case::reaction_without_message(br#"{"messaging_product":"whatsapp","to":"14255550150","type":"reaction","reaction":{"emoji":"x"}}"#.to_vec(), "(#131008)")]
#[case::template_without_language(br#"{"messaging_product":"whatsapp","to":"14255550150","type":"template","template":{"name":"hello_world"}}"#.to_vec(), "(#131008)")]
#[case::bad_to(br#"{"messaging_product":"whatsapp","to":"call me","type":"text","text":{"body":"x"}}"#.to_vec(), "(#131009)")]
#[tokio::test]
async fn malformed_messages_are_refused_with_metas_code(
    #[case] message: Vec<u8>,
    #[case] needle: &str,
) {
    let emu = emulator().await;
    let err = send_refused(&client(&emu), PHONE_1, aws_smithy_types::Blob::new(message)).await;
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    assert!(err.message().unwrap().contains(needle), "expected {needle:?} in {:?}", err.message());
    // Nothing was accepted.
    let log = Control::new(&emu).call("GET", "/messages", None).await;
    assert_eq!(log["messages"], json!([]));
}

#[rstest]
#[case::old_version("v19.0", "v20.0 or later")]
#[case::not_a_version("latest", "v<major>.<minor>")]
#[tokio::test]
async fn meta_api_version_must_be_v20_or_later(#[case] version: &str, #[case] needle: &str) {
    let emu = emulator().await;
    let err = client(&emu)
        .send_whats_app_message()
        .origination_phone_number_id(PHONE_1)
        .meta_api_version(version)
        .message(text_to(CUSTOMER, "x"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    assert!(err.message().unwrap().contains(needle));
}

#[rstest]
#[case::unknown_number("phone-number-id-00000000000000000000000000000000", "not_found")]
#[case::other_account(
    "arn:aws:social-messaging:us-east-1:111122223333:phone-number-id/baa217c3f11b4ffd956f6f3afb44ce54",
    "access_denied"
)]
#[tokio::test]
async fn the_origination_number_must_be_the_callers(#[case] phone: &str, #[case] expected: &str) {
    let emu = emulator().await;
    let err = send_refused(&client(&emu), phone, text_to(CUSTOMER, "x")).await;
    match expected {
        "not_found" => assert!(err.is_resource_not_found_exception(), "{err:?}"),
        _ => assert!(err.is_access_denied_exception(), "{err:?}"),
    }
    // Another Region of the same account does not see the seeded number.
    let west = client_for(&emu, ACCOUNT, "eu-west-1");
    let err = west
        .send_whats_app_message()
        .origination_phone_number_id(PHONE_1)
        .meta_api_version("v20.0")
        .message(text_to(CUSTOMER, "x"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception());
}

#[tokio::test]
async fn the_phone_number_arn_works_as_origination_id() {
    let emu = emulator().await;
    let id =
        send(&client(&emu), &phone_arn(ACCOUNT, REGION, PHONE_1), hello_world_to(CUSTOMER)).await;
    let log = Control::new(&emu).call("GET", &format!("/messages?messageId={id}"), None).await;
    assert_eq!(log["messages"][0]["phoneNumberId"], PHONE_1);
}

#[tokio::test]
async fn sending_to_yourself_is_refused() {
    let emu = emulator().await;
    let err = send_refused(&client(&emu), PHONE_1, hello_world_to("+91 93309 94400")).await;
    assert!(err.message().unwrap().starts_with("(#131021)"), "{err:?}");
}

#[tokio::test]
async fn marking_an_inbound_message_read() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let wamid = control.customer_says(PHONE_1, CUSTOMER, "hi").await;
    let read = message_blob(
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid}),
    );
    send(&client, PHONE_1, read).await;
    // Only the number that received it can mark it read.
    let wrong = message_blob(
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid}),
    );
    let err = send_refused(&client, PHONE_2, wrong).await;
    assert!(err.message().unwrap().starts_with("(#131009)"), "{err:?}");
    // A read receipt is not a message: no statuses follow.
    control.advance_seconds(10.0).await;
    assert!(control.events("kind=status").await.is_empty());
}

#[rstest]
#[case::interactive_reply(json!({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}}))]
#[case::reaction(json!({"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "\u{1F44D}"}}))]
#[case::image(json!({"type": "image", "image": {"caption": "my receipt"}}))]
#[case::location(json!({"type": "location", "location": {"latitude": 12.97, "longitude": 77.59, "name": "Office"}}))]
#[case::contacts(json!({"type": "contacts", "contacts": [{"name": {"formatted_name": "Asha"}, "phones": [{"phone": "+919000000000"}]}]}))]
#[case::quick_reply_button(json!({"type": "button", "button": {"payload": "STOP", "text": "Stop promotions"}}))]
#[tokio::test]
async fn customers_send_every_kind_of_message(#[case] message: Value) {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    control.customer_says(PHONE_1, CUSTOMER, "first").await;
    let ours = send(&client, PHONE_1, text_to(CUSTOMER, "Do you want it?")).await;
    let our_wamid = control.call("GET", &format!("/messages?messageId={ours}"), None).await["messages"][0]["wamid"]
        .as_str()
        .unwrap()
        .to_string();
    let mut body = json!({"phoneNumberId": PHONE_1, "from": CUSTOMER, "profileName": "Diego", "context": {"id": our_wamid}});
    for (k, v) in message.as_object().unwrap() {
        body[k] = v.clone();
    }
    let out = control.call("POST", "/inbound", Some(body)).await;
    let kind = message["type"].as_str().unwrap();
    let event = &control
        .wait_events(&format!("kind=inbound&wamid={}", out["wamid"].as_str().unwrap()), 1)
        .await[0];
    let decoded = entry(event);
    assert_schema("webhook-entry.schema.json", &decoded);
    let inbound = &decoded["changes"][0]["value"]["messages"][0];
    assert_eq!(inbound["type"], kind);
    assert_eq!(inbound["context"]["id"], our_wamid.as_str());
    assert_eq!(inbound["context"]["from"], "919330994400");
    if kind == "image" {
        assert!(inbound["image"]["id"].as_str().unwrap().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(inbound["image"]["mime_type"], "image/jpeg");
        assert!(inbound["image"]["sha256"].is_string());
    }
}

#[rstest]
#[case::unknown_phone(json!({"phoneNumberId": "phone-number-id-00000000000000000000000000000000", "from": CUSTOMER, "text": "x"}), "does not exist")]
#[case::bad_from(json!({"phoneNumberId": PHONE_1, "from": "nobody", "text": "x"}), "not a WhatsApp phone number")]
#[case::unknown_type(json!({"phoneNumberId": PHONE_1, "from": CUSTOMER, "type": "fax", "fax": {}}), "not an inbound message type")]
#[case::missing_object(json!({"phoneNumberId": PHONE_1, "from": CUSTOMER, "type": "image"}), "image object is missing")]
#[case::context_not_ours(json!({"phoneNumberId": PHONE_1, "from": CUSTOMER, "text": "x", "context": {"id": "wamid.nope"}}), "is not a message this phone number sent")]
#[tokio::test]
async fn bad_inbound_requests_are_refused(#[case] body: Value, #[case] needle: &str) {
    let emu = emulator().await;
    let (status, answer) = Control::new(&emu).try_call("POST", "/inbound", Some(body)).await;
    assert_eq!(status, 400);
    assert!(answer["message"].as_str().unwrap().contains(needle), "{answer}");
    assert!(Control::new(&emu).events("").await.is_empty());
}

#[tokio::test]
async fn limit_changes_fire_business_capability_updates_and_quality_changes_fire_nothing() {
    let emu = emulator().await;
    let control = Control::new(&emu);
    let phone = control
        .call(
            "PUT",
            &format!("/phone-numbers/{PHONE_2}"),
            Some(json!({"qualityRating": "RED", "messagingLimitTier": "TIER_10K"})),
        )
        .await;
    assert_eq!(phone["qualityRating"], "RED");
    assert_eq!(phone["messagingLimitTier"], "TIER_10K");
    // The limit is the portfolio's: each of its WABAs is told, with Meta's current shape.
    let events = control.wait_events("kind=business_capability_update", 2).await;
    let mut wabas: Vec<&str> = events.iter().map(|e| e["wabaId"].as_str().unwrap()).collect();
    wabas.sort();
    assert_eq!(wabas, [WABA_1, WABA_2]);
    for e in &events {
        let value = &entry(e)["changes"][0]["value"];
        assert_eq!(value, &json!({"max_daily_conversations_per_business": 10_000}));
        assert_schema("event-envelope.schema.json", &e["envelope"]);
        assert_schema("webhook-entry.schema.json", &entry(e));
    }
    // A lower quality rating no longer flags a number (October 2025): no webhook.
    assert!(control.events("kind=phone_number_quality_update").await.is_empty());
    // Meta's higher throughput level: THROUGHPUT_UPGRADE with the portfolio's limit.
    control
        .call(
            "PUT",
            "/portfolios/1019283746556473",
            Some(json!({"messagingLimitTier": "TIER_UNLIMITED"})),
        )
        .await;
    control
        .call(
            "PUT",
            &format!("/phone-numbers/{PHONE_2}"),
            Some(json!({"throughputPerSecond": 1000})),
        )
        .await;
    let upgrade = control.wait_events("kind=phone_number_quality_update", 1).await;
    let value = &entry(&upgrade[0])["changes"][0]["value"];
    assert_eq!(
        value,
        &json!({"display_phone_number": "919903300044", "event": "THROUGHPUT_UPGRADE", "max_daily_conversations_per_business": "TIER_UNLIMITED"})
    );
    assert_schema("webhook-entry.schema.json", &entry(&upgrade[0]));
    let unlimited = control.wait_events("kind=business_capability_update", 4).await;
    assert_eq!(
        entry(&unlimited[3])["changes"][0]["value"]["max_daily_conversations_per_business"],
        -1
    );
    let got = client(&emu)
        .get_linked_whats_app_business_account_phone_number()
        .id(PHONE_2)
        .send()
        .await
        .unwrap();
    assert_eq!(got.phone_number().unwrap().quality_rating(), "RED");
    let (status, _) = control
        .try_call(
            "PUT",
            &format!("/phone-numbers/{PHONE_2}"),
            Some(json!({"qualityRating": "PURPLE"})),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn templates_are_checked_when_sent() {
    let emu = emulator().await;
    let client = client(&emu);
    let cases = [
        (json!({"name": "hello_wrld", "language": {"code": "en_US"}}), "(#132001)"),
        (json!({"name": "hello_world", "language": {"code": "pt_BR"}}), "(#132001)"),
        (
            json!({"name": "hello_world", "language": {"code": "en_US"}, "components": [{"type": "body", "parameters": [{"type": "text", "text": "extra"}]}]}),
            "(#132000)",
        ),
    ];
    for (template, needle) in cases {
        let message = message_blob(
            json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template", "template": template}),
        );
        let err = send_refused(&client, PHONE_1, message).await;
        assert!(err.is_invalid_parameters_exception(), "{err:?}");
        assert!(err.message().unwrap().starts_with(needle), "{needle}: {:?}", err.message());
    }
}

#[tokio::test]
async fn reset_forgets_messages_events_and_timers() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    control.freeze(true).await;
    control.customer_says(PHONE_1, CUSTOMER, "hi").await;
    send(&client, PHONE_1, text_to(CUSTOMER, "hello")).await;
    let clock = control.call("GET", "/clock", None).await;
    assert_eq!(clock["frozen"], true);
    assert_eq!(clock["pendingTimers"], 3);
    control.call("POST", "/reset", None).await;
    let clock = control.call("GET", "/clock", None).await;
    assert_eq!(clock["frozen"], false);
    assert_eq!(clock["pendingTimers"], 0);
    assert!(control.events("").await.is_empty());
    assert_eq!(control.call("GET", "/messages", None).await["messages"], json!([]));
    // The window is gone too: a text now fails with 131047.
    let id = send(&client, PHONE_1, text_to(CUSTOMER, "still there?")).await;
    let failed = control.wait_events(&format!("kind=status&messageId={id}"), 1).await;
    assert_eq!(statuses(&failed), vec!["failed"]);
}
