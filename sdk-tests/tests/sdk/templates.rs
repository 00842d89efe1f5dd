//! Message templates through the real SDK: creation with Meta's rules, review on the virtual
//! clock (approval, rejection rules, magic names), get/list/update/delete, the template library,
//! status events, and the lifecycle create → approve → send → pause → send fails → unpause.

use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use aws_sdk_socialmessaging::types::{
    LibraryTemplateBodyInputs, LibraryTemplateButtonInput, MetaLibraryTemplate,
};
use aws_smithy_types::Blob;
use rstest::rstest;
use sdk_tests::*;
use serde_json::{Value, json};

fn definition(name: &str, body: &str, examples: Value) -> Blob {
    Blob::new(
        json!({
            "name": name,
            "language": "en_US",
            "category": "UTILITY",
            "components": [
                { "type": "HEADER", "format": "TEXT", "text": "Order update" },
                { "type": "BODY", "text": body, "example": { "body_text": [examples] } },
                { "type": "FOOTER", "text": "Reply STOP to opt out" },
            ],
        })
        .to_string(),
    )
}

const GOOD_BODY: &str = "Hi {{1}}, your order {{2}} has shipped and arrives on Friday.";

async fn create(
    client: &aws_sdk_socialmessaging::Client,
    name: &str,
    body: &str,
    examples: Value,
) -> String {
    let out = client
        .create_whats_app_message_template()
        .id(WABA_1)
        .template_definition(definition(name, body, examples))
        .send()
        .await
        .expect("template created");
    assert_eq!(out.template_status(), Some("PENDING"));
    assert_eq!(out.category(), Some("UTILITY"));
    let id = out.meta_template_id().unwrap().to_string();
    assert!(id.bytes().all(|b| b.is_ascii_digit()) && id.len() >= 15, "{id}");
    id
}

async fn status_of(client: &aws_sdk_socialmessaging::Client, id: &str) -> Value {
    let out = client
        .get_whats_app_message_template()
        .id(WABA_1)
        .meta_template_id(id)
        .send()
        .await
        .unwrap();
    serde_json::from_str(out.template().unwrap()).expect("template is a JSON string")
}

fn order_message(name: &str) -> aws_smithy_types::Blob {
    message_blob(json!({
        "messaging_product": "whatsapp", "to": "14255550150", "type": "template",
        "template": { "name": name, "language": { "code": "en_US" }, "components": [
            { "type": "body", "parameters": [ { "type": "text", "text": "Pablo" }, { "type": "text", "text": "#123" } ] }
        ] }
    }))
}

#[tokio::test]
async fn lifecycle_create_review_send_pause_unpause() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    control.freeze(true).await;
    let id = create(&client, "order_shipped", GOOD_BODY, json!(["Pablo", "#123"])).await;
    assert_eq!(status_of(&client, &id).await["status"], "PENDING");

    // Sending a PENDING template is refused as Meta does.
    let err = send_refused(&client, PHONE_1, order_message("order_shipped")).await;
    assert!(err.message().unwrap().starts_with("(#132001)"), "{err:?}");

    control.advance_seconds(10.0).await;
    let events = control.wait_events("kind=message_template_status_update", 1).await;
    let value = entry(&events[0])["changes"][0]["value"].clone();
    assert_eq!(value["event"], "APPROVED");
    assert_eq!(value["message_template_name"], "order_shipped");
    assert_eq!(value["message_template_id"].as_u64().unwrap().to_string(), id);
    assert_eq!(value["reason"], "NONE");
    assert_schema("event-envelope.schema.json", &events[0]["envelope"]);
    assert!(events[0]["envelope"]["context"]["MetaPhoneNumberIds"].as_array().unwrap().is_empty());
    let template = status_of(&client, &id).await;
    assert_eq!(template["status"], "APPROVED");
    insta::assert_json_snapshot!("approved_template", template, { ".id" => "[id]" });

    send(&client, PHONE_1, order_message("order_shipped")).await;

    let paused = control
        .call("POST", &format!("/templates/{id}/review"), Some(json!({"decision": "PAUSE"})))
        .await;
    assert_eq!(paused["status"], "PAUSED");
    let err = send_refused(&client, PHONE_1, order_message("order_shipped")).await;
    assert!(err.message().unwrap().starts_with("(#132015)"), "{err:?}");
    let events = control.wait_events("kind=message_template_status_update", 2).await;
    let value = entry(&events[1])["changes"][0]["value"].clone();
    assert_eq!(value["event"], "PAUSED");
    assert_eq!(value["other_info"]["title"], "FIRST_PAUSE");

    // The first pause ends by itself after 3 hours.
    control.advance_seconds(3.0 * 3600.0).await;
    let events = control.wait_events("kind=message_template_status_update", 3).await;
    assert_eq!(entry(&events[2])["changes"][0]["value"]["other_info"]["title"], "UNPAUSE");
    send(&client, PHONE_1, order_message("order_shipped")).await;

    // Second pause, unpaused by hand; the third pause disables it for good.
    control
        .call("POST", &format!("/templates/{id}/review"), Some(json!({"decision": "PAUSE"})))
        .await;
    control
        .call("POST", &format!("/templates/{id}/review"), Some(json!({"decision": "UNPAUSE"})))
        .await;
    let disabled = control
        .call("POST", &format!("/templates/{id}/review"), Some(json!({"decision": "PAUSE"})))
        .await;
    assert_eq!(disabled["status"], "DISABLED");
    let err = send_refused(&client, PHONE_1, order_message("order_shipped")).await;
    assert!(err.message().unwrap().starts_with("(#132016)"), "{err:?}");
}

#[rstest]
#[case::adjacent("Hi {{1}}{{2}} please check your order today", json!(["a", "b"]), "INVALID_FORMAT", true)]
#[case::starts_with_parameter("{{1}} is the code for your order number today", json!(["a"]), "INVALID_FORMAT", true)]
#[case::ends_with_parameter("Your order number for today is {{1}}", json!(["a"]), "INVALID_FORMAT", true)]
#[case::too_many_parameters("Hi {{1}} and {{2}} {{3}} ok", json!(["a", "b", "c"]), "INVALID_FORMAT", true)]
#[tokio::test]
async fn review_rejects_what_meta_rejects(
    #[case] body: &str,
    #[case] examples: Value,
    #[case] reason: &str,
    #[case] has_info: bool,
) {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let id = create(&client, "needs_review", body, examples).await;
    control.advance_seconds(10.0).await;
    let events = control.wait_events("kind=message_template_status_update", 1).await;
    let value = entry(&events[0])["changes"][0]["value"].clone();
    assert_eq!(value["event"], "REJECTED");
    assert_eq!(value["reason"], reason);
    assert_eq!(value.get("rejection_info").is_some(), has_info);
    let template = status_of(&client, &id).await;
    assert_eq!(template["status"], "REJECTED");
}

#[rstest]
#[case("INVALID_FORMAT")]
#[case("ABUSIVE_CONTENT")]
#[case("PROMOTIONAL")]
#[case("INCORRECT_CATEGORY")]
#[case("SCAM")]
#[case("TAG_CONTENT_MISMATCH")]
#[tokio::test]
async fn magic_names_force_each_rejection_reason(#[case] reason: &str) {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let name = format!("reject_{}_campaign", reason.to_ascii_lowercase());
    create(&client, &name, GOOD_BODY, json!(["Pablo", "#123"])).await;
    control.advance_seconds(10.0).await;
    let events = control.wait_events("kind=message_template_status_update", 1).await;
    assert_eq!(entry(&events[0])["changes"][0]["value"]["reason"], reason);
}

#[tokio::test]
async fn stay_pending_templates_are_never_reviewed() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let id = create(&client, "stay_pending_forever", GOOD_BODY, json!(["a", "b"])).await;
    control.advance_seconds(86_400.0).await;
    control.settle().await;
    assert_eq!(status_of(&client, &id).await["status"], "PENDING");
    let approved = control
        .call("POST", &format!("/templates/{id}/review"), Some(json!({"decision": "APPROVE"})))
        .await;
    assert_eq!(approved["status"], "APPROVED");
}

#[rstest]
#[case::not_json(Blob::new("not json"), "not valid JSON")]
#[case::bad_name(Blob::new(json!({"name": "Order Update", "language": "en_US", "category": "UTILITY", "components": [{"type": "BODY", "text": "x"}]}).to_string()), "name")]
#[case::bad_language(Blob::new(json!({"name": "x", "language": "xx_YY", "category": "UTILITY", "components": [{"type": "BODY", "text": "x"}]}).to_string()), "language")]
#[case::bad_category(Blob::new(json!({"name": "x", "language": "en_US", "category": "SPAM", "components": [{"type": "BODY", "text": "x"}]}).to_string()), "category")]
#[case::no_body(Blob::new(json!({"name": "x", "language": "en_US", "category": "UTILITY", "components": [{"type": "FOOTER", "text": "x"}]}).to_string()), "BODY component is required")]
#[case::body_too_long(Blob::new(json!({"name": "x", "language": "en_US", "category": "UTILITY", "components": [{"type": "BODY", "text": "b".repeat(1025)}]}).to_string()), "limit is 1024")]
#[case::header_two_params(Blob::new(json!({"name": "x", "language": "en_US", "category": "UTILITY", "components": [{"type": "HEADER", "format": "TEXT", "text": "{{1}} {{2}}"}, {"type": "BODY", "text": "x"}]}).to_string()), "at most 1 parameter")]
#[case::missing_examples(Blob::new(json!({"name": "x", "language": "en_US", "category": "UTILITY", "components": [{"type": "BODY", "text": "Hi {{1}} there"}]}).to_string()), "example")]
#[case::non_sequential(Blob::new(json!({"name": "x", "language": "en_US", "category": "UTILITY", "components": [{"type": "BODY", "text": "Hi {{2}} there", "example": {"body_text": [["a"]]}}]}).to_string()), "numbered in order")]
#[case::mixed_named(Blob::new(json!({"name": "x", "language": "en_US", "category": "UTILITY", "parameter_format": "NAMED", "components": [{"type": "BODY", "text": "Hi {{first_name}} there", "example": {"body_text_named_params": [{"param_name": "name", "example": "a"}]}}]}).to_string()), "first_name")]
#[case::too_many_url_buttons(Blob::new(json!({"name": "x", "language": "en_US", "category": "UTILITY", "components": [{"type": "BODY", "text": "x"}, {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "a", "url": "https://a.example"}, {"type": "URL", "text": "b", "url": "https://b.example"}, {"type": "URL", "text": "c", "url": "https://c.example"}]}]}).to_string()), "at most 2 URL buttons")]
#[case::unknown_media_handle(Blob::new(json!({"name": "x", "language": "en_US", "category": "UTILITY", "components": [{"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U=:nope"]}}, {"type": "BODY", "text": "x"}]}).to_string()), "header_handle")]
#[tokio::test]
async fn definitions_meta_refuses_are_invalid_parameters(#[case] def: Blob, #[case] needle: &str) {
    let emu = emulator().await;
    let err = client(&emu)
        .create_whats_app_message_template()
        .id(WABA_1)
        .template_definition(def)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    let message = err.message().unwrap();
    assert!(message.starts_with("(#100) Invalid parameter"), "{message}");
    assert!(message.contains(needle), "expected {needle:?} in {message}");
}

#[tokio::test]
async fn names_are_unique_per_language_and_the_waba_must_exist() {
    let emu = emulator().await;
    let client = client(&emu);
    create(&client, "twice", GOOD_BODY, json!(["a", "b"])).await;
    let err = client
        .create_whats_app_message_template()
        .id(WABA_1)
        .template_definition(definition("twice", GOOD_BODY, json!(["a", "b"])))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.message().unwrap().contains("2388024"), "{err:?}");
    // The same name in another WABA is fine; an unknown WABA is not found.
    client
        .create_whats_app_message_template()
        .id(WABA_2)
        .template_definition(definition("twice", GOOD_BODY, json!(["a", "b"])))
        .send()
        .await
        .unwrap();
    let err = client
        .create_whats_app_message_template()
        .id("waba-ffffffffffffffffffffffffffffffff")
        .template_definition(definition("x", GOOD_BODY, json!(["a", "b"])))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception());
}

#[tokio::test]
async fn the_251st_template_is_refused() {
    let emu = emulator_without_quotas().await;
    let client = client(&emu);
    // hello_world is the first.
    for i in 1..250 {
        client
            .create_whats_app_message_template()
            .id(WABA_1)
            .template_definition(definition(&format!("t{i}"), "A plain body", json!([])))
            .send()
            .await
            .unwrap();
    }
    let err = client
        .create_whats_app_message_template()
        .id(WABA_1)
        .template_definition(definition("one_more", "A plain body", json!([])))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    assert!(err.message().unwrap().starts_with("(#2388019) Message Template Limit Exceeded"));
    // Listing pages through all 250.
    let all = client
        .list_whats_app_message_templates()
        .id(WABA_1)
        .max_results(100)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 250);
}

#[tokio::test]
async fn get_list_update_delete() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let id = create(&client, "order_shipped", GOOD_BODY, json!(["Pablo", "#123"])).await;
    control.advance_seconds(10.0).await;
    control.wait_events("kind=message_template_status_update", 1).await;

    // By name and language, as well as by id.
    let by_name = client
        .get_whats_app_message_template()
        .id(WABA_1)
        .template_name("order_shipped")
        .template_language_code("en_US")
        .send()
        .await
        .unwrap();
    let by_name: Value = serde_json::from_str(by_name.template().unwrap()).unwrap();
    assert_eq!(by_name["id"], id.as_str());
    let list = client.list_whats_app_message_templates().id(WABA_1).send().await.unwrap();
    let names: Vec<&str> = list.templates().iter().filter_map(|t| t.template_name()).collect();
    assert!(names.contains(&"hello_world") && names.contains(&"order_shipped"), "{names:?}");
    let summary =
        list.templates().iter().find(|t| t.template_name() == Some("order_shipped")).unwrap();
    assert_eq!(summary.template_status(), Some("APPROVED"));
    assert_eq!(summary.template_language(), Some("en_US"));
    assert_eq!(summary.template_category(), Some("UTILITY"));

    // Editing an approved template sends it back to review.
    let components = json!([{ "type": "BODY", "text": "Hello {{1}}, order {{2}} is packed and leaves the warehouse today.", "example": { "body_text": [["Pablo", "#123"]] } }]);
    client
        .update_whats_app_message_template()
        .id(WABA_1)
        .meta_template_id(&id)
        .template_components(Blob::new(components.to_string()))
        .send()
        .await
        .unwrap();
    let updated = status_of(&client, &id).await;
    assert_eq!(updated["status"], "PENDING");
    assert_eq!(updated["components"], components);
    // A second edit within 24 hours of the first is refused once approved again.
    control.advance_seconds(10.0).await;
    control.wait_events("kind=message_template_status_update&after=0", 3).await;
    assert_eq!(status_of(&client, &id).await["status"], "APPROVED");
    let err = client
        .update_whats_app_message_template()
        .id(WABA_1)
        .meta_template_id(&id)
        .template_category("MARKETING")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.message().unwrap().contains("once a day"), "{err:?}");

    client
        .delete_whats_app_message_template()
        .id(WABA_1)
        .template_name("order_shipped")
        .meta_template_id(&id)
        .send()
        .await
        .unwrap();
    let err = client
        .get_whats_app_message_template()
        .id(WABA_1)
        .meta_template_id(&id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception());
    let deleted = control.wait_events("kind=message_template_status_update", 4).await;
    assert_eq!(entry(deleted.last().unwrap())["changes"][0]["value"]["event"], "DELETED");
    let err = client
        .delete_whats_app_message_template()
        .id(WABA_1)
        .template_name("order_shipped")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception());
}

#[tokio::test]
async fn delete_all_languages_of_a_name() {
    let emu = emulator().await;
    let client = client(&emu);
    for language in ["en_US", "es", "pt_BR"] {
        let def = json!({"name": "greeting", "language": language, "category": "MARKETING", "components": [{"type": "BODY", "text": "Hello there"}]});
        client
            .create_whats_app_message_template()
            .id(WABA_1)
            .template_definition(Blob::new(def.to_string()))
            .send()
            .await
            .unwrap();
    }
    client
        .delete_whats_app_message_template()
        .id(WABA_1)
        .template_name("greeting")
        .delete_all_languages(true)
        .send()
        .await
        .unwrap();
    let list = client.list_whats_app_message_templates().id(WABA_1).send().await.unwrap();
    assert_eq!(list.templates().len(), 1, "only hello_world is left");
}

#[tokio::test]
async fn the_template_library_lists_filters_and_creates() {
    let emu = emulator().await;
    let client = client(&emu);
    let all = client.list_whats_app_template_library().id(WABA_1).send().await.unwrap();
    assert!(all.meta_library_templates().len() >= 10);
    let filtered = client
        .list_whats_app_template_library()
        .id(WABA_1)
        .filters("topic", "PAYMENTS")
        .filters("language", "en_US")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> =
        filtered.meta_library_templates().iter().filter_map(|t| t.template_name()).collect();
    assert_eq!(names, vec!["payment_reminder", "payment_received"]);
    let searched = client
        .list_whats_app_template_library()
        .id(WABA_1)
        .filters("searchKey", "ships")
        .send()
        .await
        .unwrap();
    assert!(
        searched
            .meta_library_templates()
            .iter()
            .any(|t| t.template_name() == Some("order_confirmation"))
    );
    // Paged in the body.
    let first =
        client.list_whats_app_template_library().id(WABA_1).max_results(3).send().await.unwrap();
    assert_eq!(first.meta_library_templates().len(), 3);
    let second = client
        .list_whats_app_template_library()
        .id(WABA_1)
        .max_results(3)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_ne!(
        first.meta_library_templates()[0].template_id(),
        second.meta_library_templates()[0].template_id()
    );

    let created = client
        .create_whats_app_message_template_from_library()
        .id(WABA_1)
        .meta_library_template(
            MetaLibraryTemplate::builder()
                .template_name("my_order_confirmation")
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
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.template_status(), Some("APPROVED"));
    let id = created.meta_template_id().unwrap();
    let template = status_of(&client, id).await;
    assert_eq!(
        template["components"][2]["buttons"][0]["url"],
        "https://shop.example.com/orders/{{1}}"
    );
    let list = client.list_whats_app_message_templates().id(WABA_1).send().await.unwrap();
    let summary = list.templates().iter().find(|t| t.meta_template_id() == Some(id)).unwrap();
    assert_eq!(summary.template_source(), Some("LIBRARY"));
    // A library template that does not exist, or a wrong category.
    let err = client
        .create_whats_app_message_template_from_library()
        .id(WABA_1)
        .meta_library_template(
            MetaLibraryTemplate::builder()
                .template_name("x")
                .library_template_name("nope")
                .template_category("UTILITY")
                .template_language("en_US")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception());
    let err = client
        .list_whats_app_template_library()
        .id(WABA_1)
        .filters("colour", "red")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception());
}

#[tokio::test]
async fn quality_updates_fire_events() {
    let emu = emulator().await;
    let control = Control::new(&emu);
    let templates = control.call("GET", &format!("/templates?wabaId={WABA_1}"), None).await;
    let id = templates["templates"][0]["metaTemplateId"].as_str().unwrap().to_string();
    control
        .call("PUT", &format!("/templates/{id}/quality"), Some(json!({"qualityScore": "YELLOW"})))
        .await;
    let events = control.wait_events("kind=message_template_quality_update", 1).await;
    let value = entry(&events[0])["changes"][0]["value"].clone();
    assert_eq!(value["previous_quality_score"], "UNKNOWN");
    assert_eq!(value["new_quality_score"], "YELLOW");
    let list = client(&emu).list_whats_app_message_templates().id(WABA_1).send().await.unwrap();
    assert_eq!(list.templates()[0].template_quality_score(), Some("YELLOW"));
    let (status, _) = control
        .try_call("POST", &format!("/templates/{id}/review"), Some(json!({"decision": "EXPLODE"})))
        .await;
    assert_eq!(status, 400);
    let (status, _) = control
        .try_call("POST", "/templates/999/review", Some(json!({"decision": "APPROVE"})))
        .await;
    assert_eq!(status, 404);
}
