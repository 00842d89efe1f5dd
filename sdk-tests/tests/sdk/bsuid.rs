//! Business-scoped user IDs (Meta, "Business-scoped user IDs") through the real SDK: every
//! webhook carries the customer's BSUID, a message can be addressed to one (`recipient` or
//! `to`), and a customer who changes number keeps it.

use sdk_tests::*;
use serde_json::{Value, json};

const CUSTOMER: &str = "14255550150";

async fn bsuid_of(control: &Control, wa_id: &str, phone: &str) -> String {
    let out = control.call("GET", &format!("/users/{wa_id}?phoneNumberId={phone}"), None).await;
    assert_eq!(out["businessPortfolioId"], "1019283746556473", "the default seed's portfolio");
    out["bsuid"].as_str().unwrap().to_string()
}

fn value(event: &Value) -> Value {
    let entry = entry(event);
    assert_schema("webhook-entry.schema.json", &entry);
    entry["changes"][0]["value"].clone()
}

#[tokio::test]
async fn inbound_messages_and_statuses_carry_the_customers_bsuid() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let bsuid = bsuid_of(&control, CUSTOMER, PHONE_1).await;
    assert!(bsuid.starts_with("US.") && bsuid.len() == 23, "{bsuid}");
    // One portfolio, one BSUID: both seeded WABAs belong to it.
    assert_eq!(bsuid_of(&control, CUSTOMER, PHONE_2).await, bsuid);

    let wamid = control.customer_says(PHONE_1, CUSTOMER, "hi").await;
    let inbound = control.wait_events(&format!("kind=inbound&wamid={wamid}"), 1).await;
    let v = value(&inbound[0]);
    assert_eq!(v["contacts"][0]["user_id"], bsuid.as_str());
    assert_eq!(v["contacts"][0]["wa_id"], CUSTOMER);
    assert_eq!(v["messages"][0]["from_user_id"], bsuid.as_str());

    let id = send(&client, PHONE_1, text_to(CUSTOMER, "hello")).await;
    let statuses = control.wait_events(&format!("kind=status&messageId={id}"), 1).await;
    let status = &value(&statuses[0])["statuses"][0];
    assert_eq!(status["recipient_id"], CUSTOMER);
    assert_eq!(status["recipient_user_id"], bsuid.as_str());
}

#[rstest::rstest]
#[case::recipient("recipient")]
#[case::to("to")]
#[tokio::test]
async fn a_message_addressed_by_bsuid_reaches_its_customer(#[case] field: &str) {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    control.customer_says(PHONE_1, CUSTOMER, "hi").await;
    let bsuid = bsuid_of(&control, CUSTOMER, PHONE_1).await;
    let mut message = json!({ "messaging_product": "whatsapp", "type": "text",
                              "text": { "body": "by user id" } });
    message[field] = json!(bsuid);
    let id = send(&client, PHONE_1, message_blob(message)).await;
    control.advance_seconds(5.0).await;
    let statuses = control.wait_events(&format!("kind=status&messageId={id}"), 3).await;
    for s in &statuses {
        let status = &value(s)["statuses"][0];
        // Inside the customer's window (they wrote to their number), so delivered and read.
        assert_ne!(status["status"], "failed", "{status}");
        assert_eq!(status["recipient_id"], "", "addressed by BSUID, no phone number");
        assert_eq!(status["recipient_user_id"], bsuid.as_str());
    }
    let sent = control.call("GET", &format!("/messages?messageId={id}"), None).await;
    assert_eq!(sent["messages"][0]["to"], CUSTOMER);
}

#[tokio::test]
async fn unknown_bsuids_and_authentication_templates_by_bsuid_are_refused() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let unknown = json!({ "messaging_product": "whatsapp", "recipient": "US.12345678901234567890",
                          "type": "text", "text": { "body": "anyone?" } });
    let err = send_refused(&client, PHONE_1, message_blob(unknown)).await;
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    let message = aws_sdk_socialmessaging::error::ProvideErrorMetadata::message(&err).unwrap();
    assert!(message.starts_with("(#131009)") && message.contains("business-scoped"), "{message}");

    control.customer_says(PHONE_1, CUSTOMER, "send me a code").await;
    let bsuid = bsuid_of(&control, CUSTOMER, PHONE_1).await;
    let definition = json!({"name": "login_code", "language": "en_US", "category": "AUTHENTICATION",
        "components": [{"type": "BODY", "add_security_recommendation": true},
                       {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]}]});
    approved_template(&client, &control, &definition).await;
    let otp = json!({ "messaging_product": "whatsapp", "recipient": bsuid, "type": "template",
        "template": { "name": "login_code", "language": { "code": "en_US" }, "components": [
            { "type": "body", "parameters": [{ "type": "text", "text": "482913" }] },
            { "type": "button", "sub_type": "url", "index": "0",
              "parameters": [{ "type": "text", "text": "482913" }] }] } });
    let err = send_refused(&client, PHONE_1, message_blob(otp)).await;
    let message = aws_sdk_socialmessaging::error::ProvideErrorMetadata::message(&err).unwrap();
    assert!(
        message.starts_with(
            "(#131062) Business-scoped User ID recipients are not supported for this message"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn a_customer_who_changes_number_keeps_their_bsuid() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    // A BSUID given through the control API (as a seed of known users would).
    let assigned = "US.11112222333344445555";
    let out = control
        .call(
            "PUT",
            &format!("/users/{CUSTOMER}"),
            Some(json!({ "phoneNumberId": PHONE_1, "bsuid": assigned })),
        )
        .await;
    assert_eq!(out["bsuid"], assigned);
    control.customer_says(PHONE_1, CUSTOMER, "hi").await;

    let moved = control
        .call(
            "POST",
            &format!("/users/{CUSTOMER}/change-number"),
            Some(json!({ "phoneNumberId": PHONE_1, "newWaId": "14255550199", "profileName": "Diego" })),
        )
        .await;
    assert_eq!(moved["bsuid"], assigned);
    let system = control
        .wait_events(&format!("kind=inbound&wamid={}", moved["wamid"].as_str().unwrap()), 1)
        .await;
    let system = value(&system[0]);
    assert!(system.get("contacts").is_none(), "system messages carry no contacts: {system}");
    let message = &system["messages"][0];
    assert_eq!(message["type"], "system");
    assert_eq!(message["from"], CUSTOMER);
    assert_eq!(message["from_user_id"], assigned);
    assert_eq!(message["system"]["type"], "user_changed_number");
    assert_eq!(message["system"]["wa_id"], "14255550199");
    assert_eq!(message["system"]["body"], "User Diego changed from 14255550150 to 14255550199");

    // The new number has the same BSUID, and a message by BSUID goes there.
    assert_eq!(bsuid_of(&control, "14255550199", PHONE_1).await, assigned);
    let wamid = control.customer_says(PHONE_1, "14255550199", "new phone").await;
    let inbound = control.wait_events(&format!("kind=inbound&wamid={wamid}"), 1).await;
    assert_eq!(value(&inbound[0])["contacts"][0]["user_id"], assigned);
    let by_bsuid = json!({ "messaging_product": "whatsapp", "recipient": assigned,
                           "type": "text", "text": { "body": "got it" } });
    let id = send(&client, PHONE_1, message_blob(by_bsuid)).await;
    let sent = control.call("GET", &format!("/messages?messageId={id}"), None).await;
    assert_eq!(sent["messages"][0]["to"], "14255550199");

    // Refusals name what is wrong.
    let (status, body) = control
        .try_call(
            "PUT",
            &format!("/users/{CUSTOMER}"),
            Some(json!({ "phoneNumberId": PHONE_1, "bsuid": "nope" })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = control.try_call("GET", &format!("/users/{CUSTOMER}"), None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_customers_username_rides_in_inbound_and_delivered_and_read_statuses() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let user = control
        .call(
            "PUT",
            &format!("/users/{CUSTOMER}"),
            Some(json!({ "phoneNumberId": PHONE_1, "username": "jane_doe" })),
        )
        .await;
    assert_eq!(user["username"], "jane_doe");
    let bsuid = user["bsuid"].as_str().unwrap().to_string();

    let wamid = control.customer_says(PHONE_1, CUSTOMER, "hi").await;
    let inbound = control.wait_events(&format!("kind=inbound&wamid={wamid}"), 1).await;
    let contact = &value(&inbound[0])["contacts"][0];
    assert_eq!(contact["profile"]["username"], "jane_doe");
    assert_eq!(contact["user_id"], bsuid.as_str());

    let id = send(&client, PHONE_1, text_to(CUSTOMER, "hello")).await;
    control.advance_seconds(5.0).await;
    let statuses = control.wait_events(&format!("kind=status&messageId={id}"), 3).await;
    let contacts: Vec<Value> = statuses.iter().map(|s| value(s)["contacts"][0].clone()).collect();
    // `sent` names the recipient without a username; `delivered` and `read` with it.
    assert_eq!(contacts[0], json!({ "wa_id": CUSTOMER, "user_id": bsuid }));
    for c in &contacts[1..] {
        assert_eq!(
            c,
            &json!({ "profile": { "username": "jane_doe" }, "wa_id": CUSTOMER, "user_id": bsuid })
        );
    }

    // Meta's format rules, uniqueness, and dropping it.
    for (body, wanted) in [
        (json!({ "phoneNumberId": PHONE_1, "username": "ab" }), "3 to 35"),
        (json!({ "phoneNumberId": PHONE_1, "username": "jane..doe" }), "period"),
        (json!({ "phoneNumberId": PHONE_1, "username": "jane.com" }), "domain suffix"),
        (json!({ "phoneNumberId": PHONE_1 }), "bsuid, username"),
    ] {
        let (status, answer) =
            control.try_call("PUT", &format!("/users/{CUSTOMER}"), Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["message"].as_str().unwrap().contains(wanted), "{answer}");
    }
    let (status, answer) = control
        .try_call(
            "PUT",
            "/users/14255550199",
            Some(json!({ "phoneNumberId": PHONE_1, "username": "JANE_DOE" })),
        )
        .await;
    assert_eq!(status, 400);
    assert!(answer["message"].as_str().unwrap().contains("already taken"), "{answer}");
    let dropped = control
        .call(
            "PUT",
            &format!("/users/{CUSTOMER}"),
            Some(json!({ "phoneNumberId": PHONE_1, "username": null })),
        )
        .await;
    assert_eq!(dropped["username"], Value::Null);
}

#[tokio::test]
async fn parent_bsuids_ride_along_and_address_messages_where_enabled() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    control.customer_says(PHONE_1, CUSTOMER, "hi").await;
    let by_parent = |parent: &str| {
        message_blob(json!({ "messaging_product": "whatsapp", "recipient": parent,
                             "type": "text", "text": { "body": "to the parent id" } }))
    };
    // Not enabled for the portfolio: no parent BSUID, and a parent-looking one is refused.
    let user =
        control.call("GET", &format!("/users/{CUSTOMER}?phoneNumberId={PHONE_1}"), None).await;
    assert_eq!(user["parentBsuid"], Value::Null);
    let err = send_refused(&client, PHONE_1, by_parent("US.ENT.11815799212886844830")).await;
    let message = aws_sdk_socialmessaging::error::ProvideErrorMetadata::message(&err).unwrap();
    assert!(message.starts_with("(#131009)") && message.contains("parent"), "{message}");

    let portfolio = control
        .call("PUT", "/portfolios/1019283746556473", Some(json!({ "parentBusinessId": "5550001" })))
        .await;
    assert_eq!(portfolio["parentBusinessId"], "5550001");
    let user =
        control.call("GET", &format!("/users/{CUSTOMER}?phoneNumberId={PHONE_2}"), None).await;
    let parent = user["parentBsuid"].as_str().unwrap().to_string();
    assert!(parent.starts_with("US.ENT."), "{parent}");

    let wamid = control.customer_says(PHONE_2, CUSTOMER, "again").await;
    let inbound = value(&control.wait_events(&format!("kind=inbound&wamid={wamid}"), 1).await[0]);
    assert_eq!(inbound["contacts"][0]["parent_user_id"], parent.as_str());
    assert_eq!(inbound["messages"][0]["from_parent_user_id"], parent.as_str());

    let id = send(&client, PHONE_2, by_parent(&parent)).await;
    let statuses = control.wait_events(&format!("kind=status&messageId={id}"), 1).await;
    let v = value(&statuses[0]);
    let status = &v["statuses"][0];
    assert_eq!(status["status"], "sent");
    assert_eq!(status["recipient_id"], "", "addressed by a BSUID, no phone number");
    assert_eq!(status["recipient_parent_user_id"], parent.as_str());
    assert_eq!(status["recipient_user_id"], user["bsuid"]);
    assert_eq!(v["contacts"][0], json!({ "user_id": user["bsuid"], "parent_user_id": parent }));
    let sent = control.call("GET", &format!("/messages?messageId={id}"), None).await;
    assert_eq!(sent["messages"][0]["to"], CUSTOMER);
    let err = send_refused(&client, PHONE_2, by_parent("US.ENT.1")).await;
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
}

#[tokio::test]
async fn marketing_templates_go_through_the_marketing_messages_api_once_its_terms_are_accepted() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let definition = json!({"name": "spring_sale", "language": "en_US", "category": "MARKETING",
        "components": [{"type": "BODY", "text": "Spring sale: 20% off everything this week."}]});
    approved_template(&client, &control, &definition).await;
    let sale = message_blob(json!({ "messaging_product": "whatsapp", "to": CUSTOMER,
        "type": "template", "template": { "name": "spring_sale", "language": { "code": "en_US" } } }));
    let before = send(&client, PHONE_1, sale.clone()).await;
    control
        .call("PUT", "/portfolios/1019283746556473", Some(json!({ "marketingMessagesApi": true })))
        .await;
    let after = send(&client, PHONE_1, sale).await;
    let utility = send(&client, PHONE_1, hello_world_to(CUSTOMER)).await;
    let api = |m: &Value| m["marketingMessagesApi"].as_bool().unwrap_or(false);
    let messages = control.call("GET", "/messages", None).await;
    let by_id = |id: &str| {
        messages["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["messageId"] == id)
            .cloned()
            .unwrap()
    };
    assert!(!api(&by_id(&before)));
    assert!(api(&by_id(&after)));
    assert!(!api(&by_id(&utility)), "only marketing templates");
    // The caller sees the same statuses and pricing either way.
    let statuses = control.wait_events(&format!("kind=status&messageId={after}"), 1).await;
    assert_eq!(value(&statuses[0])["statuses"][0]["pricing"]["category"], "marketing");
}
