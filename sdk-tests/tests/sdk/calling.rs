//! WhatsApp calling through the real SDK: call permissions driven by the customer's state (set
//! through the control API), business-initiated and user-initiated calls with Meta's state
//! machine (ConflictException for an action that does not fit), Meta's limits, the call log, and
//! the calling webhooks (field `calls`) every change of a call fires.

use aws_sdk_socialmessaging::Client;
use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use aws_sdk_socialmessaging::operation::send_whats_app_call_event::SendWhatsAppCallEventError;
use aws_sdk_socialmessaging::types::WhatsAppCallSettings;
use aws_smithy_types::Blob;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use rstest::rstest;
use sdk_tests::*;
use serde_json::{Value, json};

const CUSTOMER: &str = "+14255550123";
const OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=setup:actpass\r\n";
const ANSWER: &str = "v=0\r\no=- 7669997803033704573 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=setup:active\r\n";

async fn enable_calling(client: &Client, phone: &str, callback: bool) {
    client
        .update_linked_whats_app_business_account_phone_number()
        .id(phone)
        .call_settings(
            WhatsAppCallSettings::builder()
                .call_enabled(true)
                .callback_permission_status(if callback { "ENABLED" } else { "DISABLED" })
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

async fn control(emu: &Emulator, path: &str, body: Value) -> (u16, Value) {
    let res =
        http().post(format!("{}/_emulator{path}", emu.url())).json(&body).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn grant(emu: &Emulator, status: &str, extra: Value) -> Value {
    let mut body =
        json!({ "phoneNumberId": PHONE_1, "destinationPhoneNumber": CUSTOMER, "status": status });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (code, out) = control(emu, "/call-permissions", body).await;
    assert_eq!(code, 200, "{out}");
    out
}

async fn calls(emu: &Emulator) -> Vec<Value> {
    let body: Value = http()
        .get(format!("{}/_emulator/calls?phoneNumberId={PHONE_1}", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["calls"].as_array().unwrap().clone()
}

async fn customer_does(emu: &Emulator, call_id: &str, action: &str) -> (u16, Value) {
    control(emu, &format!("/calls/{call_id}/customer"), json!({ "action": action })).await
}

async fn send_event(client: &Client, event: Value) -> Result<String, SendWhatsAppCallEventError> {
    client
        .send_whats_app_call_event()
        .origination_phone_number_id(PHONE_1)
        .meta_api_version("v23.0")
        .call_event(Blob::new(event.to_string().into_bytes()))
        .send()
        .await
        .map(|out| out.call_id().to_string())
        .map_err(|e| e.into_service_error())
}

fn connect_event() -> Value {
    json!({ "messaging_product": "whatsapp", "to": CUSTOMER, "action": "connect",
            "session": { "sdp_type": "offer", "sdp": OFFER }, "biz_opaque_callback_data": "order-42" })
}

fn event(call_id: &str, action: &str) -> Value {
    let mut e = json!({ "messaging_product": "whatsapp", "call_id": call_id, "action": action });
    if action == "pre_accept" || action == "accept" {
        e["session"] = json!({ "sdp_type": "answer", "sdp": ANSWER });
    }
    e
}

async fn permission(
    client: &Client,
) -> aws_sdk_socialmessaging::operation::get_whats_app_call_permission::GetWhatsAppCallPermissionOutput
{
    client
        .get_whats_app_call_permission()
        .origination_phone_number_id(PHONE_1)
        .destination_phone_number(CUSTOMER)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_customer_who_granted_nothing_has_no_permission() {
    let emu = emulator().await;
    let out = permission(&client(&emu)).await;
    let p = out.permission().unwrap();
    assert_eq!(p.status(), "no_permission");
    assert!(p.expiration_time().is_none());
    let [request, start] = out.actions() else { panic!("{out:?}") };
    assert_eq!(request.action_name(), "send_call_permission_request");
    assert!(request.can_perform_action());
    let limits: Vec<(&str, i32, i32)> = request
        .limits()
        .iter()
        .map(|l| (l.time_period(), l.max_allowed(), l.current_usage()))
        .collect();
    assert_eq!(limits, vec![("PT24H", 1, 0), ("P7D", 2, 0)]);
    assert_eq!(start.action_name(), "start_call");
    assert!(!start.can_perform_action());
    // Meta, "Obtain user call permissions" (November 2025): 100 connected calls per 24 hours.
    assert_eq!(start.limits()[0].max_allowed(), 100);
}

#[tokio::test]
async fn the_permission_wire_body_matches_the_snapshot() {
    let emu = emulator().await;
    grant(&emu, "temporary", json!({ "connectedCalls": 100, "permissionRequestsSent": 0 })).await;
    let body: Value = http()
        .post(format!("{}/v1/whatsapp/call/permission/get", emu.url()))
        .json(&json!({ "originationPhoneNumberId": PHONE_1, "destinationPhoneNumber": CUSTOMER }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body["permission"]["expirationTime"].is_i64(), "a JSON number: {body}");
    assert!(body["actions"][1]["limits"][0]["limitExpirationTime"].is_i64(), "{body}");
    insta::assert_json_snapshot!("call_permission_temporary_at_limit", body, {
        ".permission.expirationTime" => "[epoch]",
        ".actions[1].limits[0].limitExpirationTime" => "[epoch]",
    });
}

#[tokio::test]
async fn permission_follows_the_customers_state() {
    let emu = emulator().await;
    let client = client(&emu);
    let now = emu.state.clock.now_secs();
    grant(&emu, "temporary", json!({ "endUserBsuid": "US.13491208655302741918" })).await;
    let out = permission(&client).await;
    let p = out.permission().unwrap();
    assert_eq!(p.status(), "temporary");
    let expires = p.expiration_time().unwrap().secs() as f64;
    assert!((expires - (now + 7.0 * 86_400.0)).abs() < 5.0, "{expires} vs {now}");
    assert!(!out.actions()[0].can_perform_action(), "no request needed while permitted");
    assert!(out.actions()[1].can_perform_action());
    // The same customer by business-scoped user id.
    let by_bsuid = client
        .get_whats_app_call_permission()
        .origination_phone_number_id(PHONE_1)
        .end_user_bsuid("US.13491208655302741918")
        .send()
        .await
        .unwrap();
    assert_eq!(by_bsuid.permission().unwrap().status(), "temporary");

    grant(&emu, "permanent", json!({})).await;
    let out = permission(&client).await;
    assert_eq!(out.permission().unwrap().status(), "permanent");
    assert!(out.permission().unwrap().expiration_time().is_none());

    // An expired temporary permission is no permission; requests used up block another one.
    grant(&emu, "temporary", json!({ "expiresInSeconds": -1, "permissionRequestsSent": 1 })).await;
    let out = permission(&client).await;
    assert_eq!(out.permission().unwrap().status(), "no_permission");
    let request = &out.actions()[0];
    assert!(!request.can_perform_action());
    assert_eq!(request.limits()[0].current_usage(), 1);
    assert!(
        request.limits()[0].limit_expiration_time().is_some(),
        "the reset time of a full limit"
    );
    assert!(request.limits()[1].limit_expiration_time().is_none(), "not full yet");
    // The permission belongs to the business number it was given to.
    let other = client
        .get_whats_app_call_permission()
        .origination_phone_number_id(PHONE_2)
        .destination_phone_number(CUSTOMER)
        .send()
        .await
        .unwrap();
    assert_eq!(other.permission().unwrap().status(), "no_permission");
}

#[rstest]
#[case::both(Some(CUSTOMER), Some("US.1"), "invalid")]
#[case::neither(None, None, "invalid")]
#[case::bad_number(Some("0044"), None, "validation")]
#[tokio::test]
async fn permission_needs_exactly_one_user_id(
    #[case] number: Option<&str>,
    #[case] bsuid: Option<&str>,
    #[case] expected: &str,
) {
    let emu = emulator().await;
    let err = client(&emu)
        .get_whats_app_call_permission()
        .origination_phone_number_id(PHONE_1)
        .set_destination_phone_number(number.map(str::to_string))
        .set_end_user_bsuid(bsuid.map(str::to_string))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    match expected {
        "invalid" => assert!(err.is_invalid_parameters_exception(), "{err:?}"),
        _ => assert!(err.is_validation_exception(), "{err:?}"),
    }
}

#[tokio::test]
async fn unknown_phone_numbers_are_not_found() {
    let emu = emulator().await;
    let client = client(&emu);
    let unknown = "phone-number-id-00000000000000000000000000000000";
    let err = client
        .get_whats_app_call_permission()
        .origination_phone_number_id(unknown)
        .destination_phone_number(CUSTOMER)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let err = client
        .send_whats_app_call_event()
        .origination_phone_number_id(unknown)
        .meta_api_version("v23.0")
        .call_event(Blob::new(connect_event().to_string().into_bytes()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn calling_must_be_enabled_and_permitted() {
    let emu = emulator().await;
    let client = client(&emu);
    let err = send_event(&client, connect_event()).await.unwrap_err();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    assert!(err.message().unwrap().starts_with("(#138000) Calling not enabled"));
    enable_calling(&client, PHONE_1, false).await;
    let err = send_event(&client, connect_event()).await.unwrap_err();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    let message = err.message().unwrap();
    assert!(
        message.starts_with("(#138006) No approved call permission from the recipient"),
        "{message}"
    );
    assert!(calls(&emu).await.is_empty());
}

#[tokio::test]
async fn a_business_initiated_call_from_ring_to_hang_up() {
    let emu = emulator().await;
    let client = client(&emu);
    enable_calling(&client, PHONE_1, false).await;
    grant(&emu, "temporary", json!({})).await;
    let call_id = send_event(&client, connect_event()).await.unwrap();
    assert!(call_id.starts_with("wacid."), "{call_id}");

    // A second call to the same customer while this one rings is a conflict.
    let err = send_event(&client, connect_event()).await.unwrap_err();
    assert!(err.is_conflict_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("(#138003) Duplicate call"));
    // Accept is for calls the customer places.
    let err = send_event(&client, event(&call_id, "accept")).await.unwrap_err();
    assert!(err.is_conflict_exception(), "{err:?}");

    let (code, after) = customer_does(&emu, &call_id, "accept").await;
    assert_eq!((code, after["status"].as_str()), (200, Some("ONGOING")), "{after}");
    assert_eq!(send_event(&client, event(&call_id, "terminate")).await.unwrap(), call_id);
    let err = send_event(&client, event(&call_id, "terminate")).await.unwrap_err();
    assert!(err.is_conflict_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("already ended (COMPLETED)"));

    let log = calls(&emu).await;
    let [call] = &log[..] else { panic!("{log:?}") };
    assert_eq!(call["callId"], json!(call_id));
    assert_eq!(call["direction"], json!("BUSINESS_INITIATED"));
    assert_eq!(call["customer"], json!(CUSTOMER));
    assert_eq!(call["status"], json!("COMPLETED"));
    assert_eq!(call["bizOpaqueCallbackData"], json!("order-42"));
    let actions: Vec<&str> =
        call["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["connect", "accept", "terminate"]);
    assert!(call["connectedAt"].is_number() && call["endedAt"].is_number());
    // The connected call counts against start_call.
    assert_eq!(permission(&client).await.actions()[1].limits()[0].current_usage(), 1);
}

#[tokio::test]
async fn a_user_initiated_call_is_answered_by_the_business() {
    let emu = emulator().await;
    let client = client(&emu);
    enable_calling(&client, PHONE_1, true).await;
    let (code, placed) = control(
        &emu,
        "/calls",
        json!({ "phoneNumberId": PHONE_1, "from": CUSTOMER, "sdp": OFFER }),
    )
    .await;
    assert_eq!(code, 200, "{placed}");
    let call_id = placed["callId"].as_str().unwrap().to_string();
    // With callback permission enabled, calling in grants a temporary permission.
    assert_eq!(permission(&client).await.permission().unwrap().status(), "temporary");

    let err = send_event(&client, event(&call_id, "terminate")).await.unwrap_err();
    assert!(err.is_conflict_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("declined with reject"));
    send_event(&client, event(&call_id, "pre_accept")).await.unwrap();
    send_event(&client, event(&call_id, "accept")).await.unwrap();
    let err = send_event(&client, event(&call_id, "pre_accept")).await.unwrap_err();
    assert!(err.is_conflict_exception(), "{err:?}");
    let (code, hung_up) = customer_does(&emu, &call_id, "terminate").await;
    assert_eq!((code, hung_up["status"].as_str()), (200, Some("COMPLETED")));
    // Accepting a call that ended is a conflict.
    let err = send_event(&client, event(&call_id, "accept")).await.unwrap_err();
    assert!(err.is_conflict_exception(), "{err:?}");
    assert_eq!(calls(&emu).await[0]["direction"], json!("USER_INITIATED"));
}

/// (actions before, by whom) then a business action on a user-initiated call.
#[rstest]
#[case::accept_after_reject(&["reject"], "accept", true)]
#[case::reject_after_accept(&["accept"], "reject", true)]
#[case::pre_accept_twice(&["pre_accept"], "pre_accept", true)]
#[case::accept_twice(&["accept"], "accept", true)]
#[case::terminate_after_terminate(&["accept", "terminate"], "terminate", true)]
#[case::accept_without_pre_accept(&[], "accept", false)]
#[case::reject_after_pre_accept(&["pre_accept"], "reject", false)]
#[case::terminate_after_accept(&["accept"], "terminate", false)]
#[tokio::test]
async fn business_actions_on_a_user_initiated_call(
    #[case] before: &[&str],
    #[case] action: &str,
    #[case] conflict: bool,
) {
    let emu = emulator().await;
    let client = client(&emu);
    enable_calling(&client, PHONE_1, false).await;
    let (_, placed) =
        control(&emu, "/calls", json!({ "phoneNumberId": PHONE_1, "from": CUSTOMER })).await;
    let call_id = placed["callId"].as_str().unwrap();
    for step in before {
        send_event(&client, event(call_id, step)).await.expect("setup step");
    }
    let outcome = send_event(&client, event(call_id, action)).await;
    if conflict {
        let err = outcome.unwrap_err();
        assert!(err.is_conflict_exception(), "{err:?}");
    } else {
        assert_eq!(outcome.unwrap(), call_id);
    }
}

#[rstest]
#[case::not_json(json!("{nope"), "callEvent is not valid JSON")]
#[case::no_product(json!({ "to": CUSTOMER, "action": "connect" }), "messaging_product is required")]
#[case::bad_action(json!({ "messaging_product": "whatsapp", "call_id": "wacid.x", "action": "hold" }), "not one of connect")]
#[case::connect_without_session(json!({ "messaging_product": "whatsapp", "to": CUSTOMER, "action": "connect" }), "session is required")]
#[case::connect_with_answer(json!({ "messaging_product": "whatsapp", "to": CUSTOMER, "action": "connect", "session": { "sdp_type": "answer", "sdp": OFFER } }), "sdp_type must be offer")]
#[case::connect_bad_sdp(json!({ "messaging_product": "whatsapp", "to": CUSTOMER, "action": "connect", "session": { "sdp_type": "offer", "sdp": "hello" } }), "not a valid SDP offer")]
#[case::connect_bad_number(json!({ "messaging_product": "whatsapp", "to": "call me", "action": "connect", "session": { "sdp_type": "offer", "sdp": OFFER } }), "international format")]
#[case::accept_without_call_id(json!({ "messaging_product": "whatsapp", "action": "accept", "session": { "sdp_type": "answer", "sdp": ANSWER } }), "needs call_id")]
#[case::terminate_with_session(json!({ "messaging_product": "whatsapp", "call_id": "wacid.x", "action": "terminate", "session": {} }), "takes no session")]
#[tokio::test]
async fn bad_call_events_are_invalid_parameters(#[case] e: Value, #[case] reason: &str) {
    let emu = emulator().await;
    let client = client(&emu);
    enable_calling(&client, PHONE_1, false).await;
    let bytes = match &e {
        Value::String(raw) => raw.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    };
    let err = client
        .send_whats_app_call_event()
        .origination_phone_number_id(PHONE_1)
        .meta_api_version("v23.0")
        .call_event(Blob::new(bytes))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    let message = err.message().unwrap();
    assert!(message.starts_with("(#100) Invalid parameter: "), "{message}");
    assert!(message.contains(reason), "{reason} not in {message}");
}

#[tokio::test]
async fn an_unknown_call_is_not_found() {
    let emu = emulator().await;
    let client = client(&emu);
    enable_calling(&client, PHONE_1, false).await;
    let err = send_event(&client, event("wacid.unknown", "terminate")).await.unwrap_err();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    let (code, _) = customer_does(&emu, "wacid.unknown", "accept").await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn four_unanswered_calls_revoke_the_permission() {
    let emu = emulator().await;
    let client = client(&emu);
    enable_calling(&client, PHONE_1, false).await;
    grant(&emu, "temporary", json!({})).await;
    for outcome in ["no_answer", "reject", "no_answer"] {
        let call_id = send_event(&client, connect_event()).await.unwrap();
        let (code, _) = customer_does(&emu, &call_id, outcome).await;
        assert_eq!(code, 200);
    }
    // The business gives up on the fourth while it rings.
    let call_id = send_event(&client, connect_event()).await.unwrap();
    send_event(&client, event(&call_id, "terminate")).await.unwrap();
    assert_eq!(permission(&client).await.permission().unwrap().status(), "no_permission");
    let err = send_event(&client, connect_event()).await.unwrap_err();
    assert!(err.message().unwrap().starts_with("(#138006)"), "{err:?}");
    let statuses: Vec<String> =
        calls(&emu).await.iter().map(|c| c["status"].as_str().unwrap().to_string()).collect();
    assert_eq!(statuses, vec!["NO_ANSWER", "REJECTED", "NO_ANSWER", "CANCELED"]);
}

#[tokio::test]
async fn a_hundred_connected_calls_a_day_is_the_limit() {
    let emu = emulator().await;
    let client = client(&emu);
    enable_calling(&client, PHONE_1, false).await;
    grant(&emu, "permanent", json!({ "connectedCalls": 99 })).await;
    let call_id = send_event(&client, connect_event()).await.unwrap();
    customer_does(&emu, &call_id, "accept").await;
    customer_does(&emu, &call_id, "terminate").await;
    let out = permission(&client).await;
    let start = &out.actions()[1];
    assert!(!start.can_perform_action());
    assert_eq!(start.limits()[0].current_usage(), 100);
    assert_eq!(start.limits()[0].max_allowed(), 100);
    let err = send_event(&client, connect_event()).await.unwrap_err();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    assert!(err.message().unwrap().starts_with("(#138012) Business initiated calls limit reached"));
}

#[tokio::test]
async fn calling_limits_are_set_per_number_through_the_control_api_and_the_seed() {
    let emu = emulator().await;
    let client = client(&emu);
    enable_calling(&client, PHONE_1, false).await;
    let control = Control::new(&emu);
    let limits = json!({ "connectedCallsPer24h": 2, "permissionRequestsPer24h": 3,
                         "permissionRequestsPer7d": 4 });
    let out = control
        .call("PUT", &format!("/phone-numbers/{PHONE_1}"), Some(json!({ "callingLimits": limits })))
        .await;
    assert_eq!(out["callingLimits"], limits);
    grant(&emu, "permanent", json!({ "connectedCalls": 1 })).await;
    let call_id = send_event(&client, connect_event()).await.unwrap();
    customer_does(&emu, &call_id, "accept").await;
    customer_does(&emu, &call_id, "terminate").await;
    let out = permission(&client).await;
    let maxima: Vec<i32> =
        out.actions().iter().flat_map(|a| a.limits().iter().map(|l| l.max_allowed())).collect();
    assert_eq!(maxima, vec![3, 4, 2]);
    let err = send_event(&client, connect_event()).await.unwrap_err();
    assert!(err.message().unwrap().starts_with("(#138012)"), "{err:?}");
    let (status, body) = control
        .try_call(
            "PUT",
            &format!("/phone-numbers/{PHONE_1}"),
            Some(json!({ "callingLimits": { "connectedCallsPer24h": 0 } })),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("connectedCallsPer24h"), "{body}");

    // A seed sets them too.
    let mut seed: Value =
        serde_json::from_str(include_str!("../../../fixtures/seed/default.json")).unwrap();
    seed["wabas"][0]["phoneNumbers"][0]["callingLimits"] = json!({ "connectedCallsPer24h": 7 });
    let seeded = eum_social_emulator::Emulator::start_with(
        Default::default(),
        eum_social_emulator::Seed::parse(&seed.to_string(), "test seed").expect("seed is valid"),
    )
    .await
    .unwrap();
    let out = Control::new(&seeded).call("GET", &format!("/phone-numbers/{PHONE_1}"), None).await;
    assert_eq!(out["callingLimits"]["connectedCallsPer24h"], 7);
    assert_eq!(out["callingLimits"]["permissionRequestsPer24h"], 1);
}

#[tokio::test]
async fn the_control_api_refuses_bad_requests() {
    let emu = emulator().await;
    let client = client(&emu);
    let (code, _) = control(
        &emu,
        "/call-permissions",
        json!({ "phoneNumberId": PHONE_1, "destinationPhoneNumber": CUSTOMER, "status": "maybe" }),
    )
    .await;
    assert_eq!(code, 400);
    let (code, _) =
        control(&emu, "/calls", json!({ "phoneNumberId": PHONE_1, "from": CUSTOMER })).await;
    assert_eq!(code, 400, "calling is not enabled yet");
    enable_calling(&client, PHONE_1, false).await;
    let (code, placed) =
        control(&emu, "/calls", json!({ "phoneNumberId": PHONE_1, "from": CUSTOMER })).await;
    assert_eq!(code, 200);
    let (code, _) =
        control(&emu, "/calls", json!({ "phoneNumberId": PHONE_1, "from": CUSTOMER })).await;
    assert_eq!(code, 409, "one live call per customer");
    let call_id = placed["callId"].as_str().unwrap();
    let (code, _) = customer_does(&emu, call_id, "accept").await;
    assert_eq!(code, 409, "the customer does not accept a call they placed");
    let path = format!("/calls/{call_id}/customer");
    let (code, _) = control(&emu, &path, json!({ "action": "terminate", "sdp": ANSWER })).await;
    assert_eq!(code, 400, "only accept carries an SDP answer");
    let (code, _) = control(&emu, &path, json!({ "action": "accept", "sdp": "hello" })).await;
    assert_eq!(code, 400, "not an SDP");
    assert_eq!(
        permission(&client).await.permission().unwrap().status(),
        "no_permission",
        "callback permission is disabled"
    );
}

/// The calling webhooks about `call_id`, oldest first, once at least `count` exist: each envelope
/// and entry valid against the schemas, phone-level, on field `calls`, with no `messageId`, and
/// about this call. Returns each event's `status` (`connect`, `terminate` or the call status) and
/// the webhook's `value`.
async fn call_webhooks(ctl: &Control, call_id: &str, count: usize) -> Vec<(String, Value)> {
    let id = utf8_percent_encode(call_id, NON_ALPHANUMERIC);
    let events = ctl.wait_events(&format!("kind=call&wamid={id}"), count).await;
    assert_eq!(events.len(), count, "{events:#?}");
    events
        .iter()
        .map(|e| {
            assert_schema("event-envelope.schema.json", &e["envelope"]);
            assert!(e["envelope"].get("messageId").is_none(), "not a message: {e}");
            assert!(e["messageId"].is_null(), "{e}");
            assert_eq!(
                (e["field"].as_str(), e["phoneNumberId"].as_str()),
                (Some("calls"), Some(PHONE_1))
            );
            let decoded = entry(e);
            assert_schema("webhook-entry.schema.json", &decoded);
            let change = &decoded["changes"][0];
            assert_eq!(change["field"], json!("calls"));
            let value = change["value"].clone();
            let items =
                value.get("calls").or_else(|| value.get("statuses")).expect("calls or statuses");
            assert_eq!(items[0]["id"], json!(call_id), "{value}");
            (e["status"].as_str().expect("status").to_string(), value)
        })
        .collect()
}

fn kinds(hooks: &[(String, Value)]) -> Vec<&str> {
    hooks.iter().map(|(s, _)| s.as_str()).collect()
}

#[tokio::test]
async fn a_customer_call_fires_connect_then_terminate_with_its_duration() {
    let emu = emulator().await;
    let client = client(&emu);
    let ctl = Control::new(&emu);
    enable_calling(&client, PHONE_1, false).await;
    // A BSUID given through the control API is the one calls carry.
    let assigned = "US.12345678901234567890";
    ctl.call(
        "PUT",
        "/users/14255550123",
        Some(json!({ "phoneNumberId": PHONE_1, "bsuid": assigned, "username": "diego_r" })),
    )
    .await;
    // With parent BSUIDs enabled for the portfolio, calls carry the parent one too.
    ctl.call("PUT", "/portfolios/1019283746556473", Some(json!({ "parentBusinessId": "5550001" })))
        .await;
    ctl.freeze(true).await;
    let placed_at = emu.state.clock.now_ms() / 1000;
    let (code, placed) = control(
        &emu,
        "/calls",
        json!({ "phoneNumberId": PHONE_1, "from": CUSTOMER, "profileName": "Diego", "sdp": OFFER }),
    )
    .await;
    assert_eq!(code, 200, "{placed}");
    let call_id = placed["callId"].as_str().unwrap().to_string();

    let hooks = call_webhooks(&ctl, &call_id, 1).await;
    let [(status, value)] = &hooks[..] else { panic!("{hooks:?}") };
    assert_eq!(status, "connect");
    // The customer's business-scoped user ID rides along (Meta, "Business-scoped user IDs").
    let bsuid = ctl.call("GET", &format!("/users/14255550123?phoneNumberId={PHONE_1}"), None).await;
    assert_eq!(bsuid["bsuid"], assigned);
    assert_eq!(
        value["contacts"],
        json!([{ "profile": { "name": "Diego", "username": "diego_r" }, "wa_id": "14255550123",
                 "user_id": assigned, "parent_user_id": bsuid["parentBsuid"] }])
    );
    assert!(bsuid["parentBsuid"].as_str().unwrap().starts_with("US.ENT."));
    let business = value["metadata"]["display_phone_number"].as_str().unwrap();
    assert_eq!(
        value["calls"][0],
        json!({
            "id": call_id,
            "from": "14255550123",
            "to": business,
            "event": "connect",
            "timestamp": placed_at.to_string(),
            "direction": "USER_INITIATED",
            "session": { "sdp_type": "offer", "sdp": OFFER },
        })
    );

    // The business answers: no webhook, it knows already.
    send_event(&client, event(&call_id, "pre_accept")).await.unwrap();
    let mut accept = event(&call_id, "accept");
    accept["biz_opaque_callback_data"] = json!("ticket-7");
    send_event(&client, accept).await.unwrap();
    assert_eq!(ctl.events("kind=call").await.len(), 1);

    ctl.advance_seconds(42.0).await;
    let (code, _) = customer_does(&emu, &call_id, "terminate").await;
    assert_eq!(code, 200);
    let hooks = call_webhooks(&ctl, &call_id, 2).await;
    assert_eq!(kinds(&hooks), ["connect", "terminate"]);
    let (_, value) = &hooks[1];
    assert_eq!(value["contacts"][0]["wa_id"], json!("14255550123"));
    let terminate = &value["calls"][0];
    assert_eq!(terminate["event"], json!("terminate"));
    assert_eq!(terminate["status"], json!("COMPLETED"));
    assert_eq!(terminate["direction"], json!("USER_INITIATED"));
    assert_eq!(
        (terminate["from"].as_str(), terminate["to"].as_str()),
        (Some("14255550123"), Some(business))
    );
    assert_eq!(terminate["duration"], json!(42));
    let secs = |k: &str| terminate[k].as_str().unwrap().parse::<i64>().unwrap();
    assert_eq!((secs("start_time"), secs("end_time")), (placed_at, placed_at + 42));
    assert_eq!(terminate["timestamp"], json!((placed_at + 42).to_string()));
    assert_eq!(terminate["biz_opaque_callback_data"], json!("ticket-7"));
}

#[tokio::test]
async fn a_business_call_rings_is_accepted_and_completes() {
    let emu = emulator().await;
    let client = client(&emu);
    let ctl = Control::new(&emu);
    enable_calling(&client, PHONE_1, false).await;
    grant(&emu, "temporary", json!({})).await;
    ctl.freeze(true).await;
    let rang_at = emu.state.clock.now_ms() / 1000;
    let call_id = send_event(&client, connect_event()).await.unwrap();

    let hooks = call_webhooks(&ctl, &call_id, 1).await;
    let [(status, value)] = &hooks[..] else { panic!("{hooks:?}") };
    assert_eq!(status, "RINGING");
    assert!(value.get("contacts").is_none() && value.get("calls").is_none(), "{value}");
    assert_eq!(
        value["statuses"],
        json!([{
            "id": call_id,
            "timestamp": rang_at.to_string(),
            "type": "call",
            "status": "RINGING",
            "recipient_id": "14255550123",
            "biz_opaque_callback_data": "order-42",
        }])
    );

    ctl.advance_seconds(5.0).await;
    let (code, _) = control(
        &emu,
        &format!("/calls/{call_id}/customer"),
        json!({ "action": "accept", "sdp": ANSWER }),
    )
    .await;
    assert_eq!(code, 200);
    let hooks = call_webhooks(&ctl, &call_id, 3).await;
    assert_eq!(kinds(&hooks), ["RINGING", "connect", "ACCEPTED"]);
    let business = hooks[1].1["metadata"]["display_phone_number"].as_str().unwrap().to_string();
    let connect = &hooks[1].1["calls"][0];
    assert_eq!(connect["direction"], json!("BUSINESS_INITIATED"));
    assert_eq!(
        (connect["from"].as_str(), connect["to"].as_str()),
        (Some(business.as_str()), Some("14255550123"))
    );
    assert_eq!(connect["session"], json!({ "sdp_type": "answer", "sdp": ANSWER }));
    assert_eq!(connect["biz_opaque_callback_data"], json!("order-42"));
    assert_eq!(hooks[2].1["statuses"][0]["status"], json!("ACCEPTED"));

    ctl.advance_seconds(65.0).await;
    send_event(&client, event(&call_id, "terminate")).await.unwrap();
    let hooks = call_webhooks(&ctl, &call_id, 4).await;
    assert_eq!(kinds(&hooks), ["RINGING", "connect", "ACCEPTED", "terminate"]);
    let terminate = &hooks[3].1["calls"][0];
    assert_eq!(terminate["status"], json!("COMPLETED"));
    assert_eq!(terminate["direction"], json!("BUSINESS_INITIATED"));
    assert_eq!(terminate["duration"], json!(65));
    assert_eq!(terminate["start_time"], json!((rang_at + 5).to_string()));
    assert_eq!(terminate["end_time"], json!((rang_at + 70).to_string()));
    assert_eq!(terminate["biz_opaque_callback_data"], json!("order-42"));
    // The filters of the event log see them.
    assert_eq!(ctl.events("kind=call&status=terminate").await.len(), 1);
    assert_eq!(ctl.events("kind=call&field=calls").await.len(), 4);
}

/// Calls that end without connecting: the webhooks each fires, and a FAILED terminate.
#[rstest]
#[case::customer_rejects("business", &["customer:reject"], &["RINGING", "REJECTED", "terminate"])]
#[case::nobody_answers("business", &["customer:no_answer"], &["RINGING", "terminate"])]
#[case::business_gives_up("business", &["business:terminate"], &["RINGING", "terminate"])]
#[case::business_rejects("customer", &["business:reject"], &["connect", "terminate"])]
#[case::customer_hangs_up_first("customer", &["business:pre_accept", "customer:terminate"], &["connect", "terminate"])]
#[tokio::test]
async fn calls_that_never_connect_terminate_as_failed(
    #[case] caller: &str,
    #[case] steps: &[&str],
    #[case] expected: &[&str],
) {
    let emu = emulator().await;
    let client = client(&emu);
    let ctl = Control::new(&emu);
    enable_calling(&client, PHONE_1, false).await;
    let call_id = if caller == "business" {
        grant(&emu, "temporary", json!({})).await;
        send_event(&client, connect_event()).await.unwrap()
    } else {
        let (_, placed) =
            control(&emu, "/calls", json!({ "phoneNumberId": PHONE_1, "from": CUSTOMER })).await;
        placed["callId"].as_str().unwrap().to_string()
    };
    for step in steps {
        match step.split_once(':').unwrap() {
            ("customer", action) => {
                let (code, out) = customer_does(&emu, &call_id, action).await;
                assert_eq!(code, 200, "{out}");
            }
            (_, action) => {
                send_event(&client, event(&call_id, action)).await.unwrap();
            }
        }
    }
    let hooks = call_webhooks(&ctl, &call_id, expected.len()).await;
    assert_eq!(kinds(&hooks), expected);
    let (_, last) = hooks.last().unwrap();
    let terminate = &last["calls"][0];
    assert_eq!(terminate["event"], json!("terminate"));
    assert_eq!(terminate["status"], json!("FAILED"));
    for never in ["start_time", "end_time", "duration"] {
        assert!(terminate.get(never).is_none(), "{never} in {terminate}");
    }
    if caller == "customer" {
        // Without a session from the control API, the customer's offer is a minimal valid SDP.
        assert!(hooks[0].1["calls"][0]["session"]["sdp"].as_str().unwrap().starts_with("v=0"));
    }
}

#[test]
fn the_calls_schema_refuses_what_meta_never_sends() {
    let path =
        format!("{}/../fixtures/schemas/webhook-entry.schema.json", env!("CARGO_MANIFEST_DIR"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let entry = |field: &str, body: Value| {
        let mut value = json!({
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550001111", "phone_number_id": "101" },
        });
        for (k, v) in body.as_object().unwrap() {
            value[k] = v.clone();
        }
        json!({ "id": "390", "changes": [{ "field": field, "value": value }] })
    };
    let status = json!({ "id": "wacid.x", "type": "call", "status": "RINGING",
                         "timestamp": "1", "recipient_id": "14255550123" });
    let call = json!({ "id": "wacid.x", "from": "1", "to": "2", "event": "terminate",
                       "timestamp": "9", "direction": "USER_INITIATED", "status": "COMPLETED",
                       "start_time": "1", "end_time": "9", "duration": 8 });
    let with = |base: &Value, key: &str, v: Value| {
        let mut out = base.clone();
        if v.is_null() {
            out.as_object_mut().unwrap().remove(key);
        } else {
            out[key] = v;
        }
        out
    };
    // What the emulator sends, and a call status on field messages too.
    for ok in [
        entry("calls", json!({ "statuses": [status] })),
        entry("messages", json!({ "statuses": [status] })),
        entry("calls", json!({ "calls": [call] })),
    ] {
        assert!(validator.is_valid(&ok), "{ok}");
    }
    for bad in [
        entry("calls", json!({ "statuses": [with(&status, "status", json!("BUSY"))] })),
        entry("calls", json!({ "statuses": [with(&status, "id", json!("wamid.x"))] })),
        entry("messages", json!({ "statuses": [with(&status, "status", json!("sent"))] })),
        entry("calls", json!({ "calls": [with(&call, "status", Value::Null)] })),
        entry("calls", json!({ "calls": [with(&call, "duration", Value::Null)] })),
        entry("calls", json!({ "calls": [with(&call, "status", json!("REJECTED"))] })),
        entry("calls", json!({ "calls": [with(&call, "event", json!("connect"))] })),
        entry("calls", json!({})),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
}
