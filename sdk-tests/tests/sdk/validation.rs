//! Bad input at the wire level (raw HTTP, as any client could send it): every case gets the
//! modeled error in restJson1 form — status, `x-amzn-ErrorType`, `x-amzn-RequestId`, a JSON body
//! whose message names the field — and never a 5xx or a changed state.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rstest::rstest;
use sdk_tests::*;

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn send_body(message: &str) -> Vec<u8> {
    serde_json::json!({
        "originationPhoneNumberId": PHONE_1,
        "metaApiVersion": "v20.0",
        "message": message,
    })
    .to_string()
    .into_bytes()
}

fn flow_body(name: &str, categories: serde_json::Value) -> Vec<u8> {
    serde_json::json!({ "id": WABA_1, "flowName": name, "categories": categories })
        .to_string()
        .into_bytes()
}

struct Answer {
    status: u16,
    error_type: Option<String>,
    message: String,
}

async fn call(method: &str, path_and_query: &str, body: Vec<u8>) -> Answer {
    let emu = emulator().await;
    let res = http()
        .request(method.parse().unwrap(), format!("{}{path_and_query}", emu.url()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    assert!(res.headers().contains_key("x-amzn-requestid"));
    let error_type = res.headers().get("x-amzn-errortype").map(|v| v.to_str().unwrap().to_string());
    let text = res.text().await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("every answer is JSON ({e}): {text}");
    });
    let message = json["message"].as_str().unwrap_or_default().to_string();
    Answer { status, error_type, message }
}

#[rstest]
#[case::malformed_json("POST", "/v1/whatsapp/send", b"{\"message\":".to_vec(), "parse the request body as JSON")]
#[case::trailing_garbage("POST", "/v1/whatsapp/send", b"{} {}".to_vec(), "parse the request body as JSON")]
#[case::not_an_object("POST", "/v1/whatsapp/send", b"[1,2]".to_vec(), "must be a JSON object")]
#[case::invalid_utf8("POST", "/v1/whatsapp/send", vec![b'{', 0xff, 0xfe, b'}'], "parse the request body as JSON")]
#[case::deep_nesting("POST", "/v1/whatsapp/send", format!("{{\"x\":{}{}}}", "[".repeat(5000), "]".repeat(5000)).into_bytes(), "parse the request body as JSON")]
#[case::empty_body_lists_required(
    "POST",
    "/v1/whatsapp/send",
    Vec::new(),
    "3 validation errors detected"
)]
#[case::wrong_type_string("PUT", "/v1/whatsapp/waba/eventdestinations", br#"{"id":5,"eventDestinations":[]}"#.to_vec(), "Value '5' at 'id' failed to satisfy constraint: Member must be a string")]
#[case::wrong_type_list("PUT", "/v1/whatsapp/waba/eventdestinations", br#"{"id":"waba-1","eventDestinations":{}}"#.to_vec(), "at 'eventDestinations' failed to satisfy constraint: Member must be a list")]
#[case::null_in_list("PUT", "/v1/whatsapp/waba/eventdestinations", br#"{"id":"waba-1","eventDestinations":[null]}"#.to_vec(), "Value null at 'eventDestinations.1.member'")]
#[case::invalid_base64(
    "POST",
    "/v1/whatsapp/send",
    send_body("not base64!"),
    "Value at 'message' failed to satisfy constraint: Member must be valid base64"
)]
#[case::blob_too_large("POST", "/v1/whatsapp/send", send_body(&b64(&vec![b'a'; 2_048_001])), "Member must have length less than or equal to 2048000")]
#[case::empty_blob(
    "POST",
    "/v1/whatsapp/send",
    send_body(""),
    "Member must have length greater than or equal to 1"
)]
#[case::phone_pattern("POST", "/v1/whatsapp/send", br#"{"originationPhoneNumberId":"+14255550100","metaApiVersion":"v20.0","message":"e30="}"#.to_vec(), "Value '+14255550100' at 'originationPhoneNumberId' failed to satisfy constraint: Member must satisfy regular expression pattern")]
#[case::enum_value("POST", "/v1/whatsapp/flow/create", flow_body("f", serde_json::json!(["NOPE"])), "Value 'NOPE' at 'categories.1.member' failed to satisfy constraint: Member must satisfy enum value set: [SIGN_UP, SIGN_IN, APPOINTMENT_BOOKING")]
#[case::list_too_short("POST", "/v1/whatsapp/flow/create", flow_body("f", serde_json::json!([])), "at 'categories' failed to satisfy constraint: Member must have length greater than or equal to 1")]
#[case::code_points_not_bytes("POST", "/v1/whatsapp/flow/create", flow_body(&"\u{1F600}".repeat(201), serde_json::json!(["OTHER"])), "at 'flowName' failed to satisfy constraint: Member must have length less than or equal to 200")]
#[case::map_too_large("POST", "/v1/whatsapp/template/library?id=waba-1", serde_json::json!({"filters": (0..11).map(|i| (format!("k{i}"), serde_json::json!("v"))).collect::<serde_json::Map<_, _>>()}).to_string().into_bytes(), "at 'filters' failed to satisfy constraint: Member must have length less than or equal to 10")]
#[case::map_key_too_long("POST", "/v1/whatsapp/template/library?id=waba-1", serde_json::json!({"filters": {"k".repeat(101): "v"}}).to_string().into_bytes(), "Map keys must satisfy constraint: Member must have length less than or equal to 100")]
#[case::integer_range_in_body("POST", "/v1/whatsapp/template/library?id=waba-1", br#"{"maxResults":1000}"#.to_vec(), "Value '1000' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100")]
#[case::fractional_integer("POST", "/v1/whatsapp/template/library?id=waba-1", br#"{"maxResults":1.5}"#.to_vec(), "at 'maxResults' failed to satisfy constraint: Member must be an integer")]
#[case::missing_query(
    "GET",
    "/v1/whatsapp/waba/details",
    Vec::new(),
    "Value null at 'id' failed to satisfy constraint: Member must not be null"
)]
#[case::empty_query(
    "GET",
    "/v1/whatsapp/waba/details?id=",
    Vec::new(),
    "2 validation errors detected: Value '' at 'id'"
)]
#[case::query_not_integer(
    "GET",
    "/v1/whatsapp/waba/list?maxResults=ten",
    Vec::new(),
    "Value 'ten' at 'maxResults' failed to satisfy constraint: Member must be an integer"
)]
#[case::query_not_boolean(
    "DELETE",
    "/v1/whatsapp/template?id=waba-1&templateName=t&deleteAllTemplates=yes",
    Vec::new(),
    "Value 'yes' at 'deleteAllLanguages' failed to satisfy constraint: Member must be a boolean"
)]
#[case::query_bad_percent_utf8(
    "GET",
    "/v1/whatsapp/waba/details?id=%FF%FE",
    Vec::new(),
    "not valid UTF-8"
)]
#[case::query_pattern_digits(
    "GET",
    "/v1/whatsapp/flow?id=waba-1&flowId=%D9%A2",
    Vec::new(),
    "at 'flowId' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9]+"
)]
#[case::nested_required("POST", "/v1/whatsapp/signup", br#"{"signupCallback":{}}"#.to_vec(), "Value null at 'signupCallback.accessToken'")]
#[tokio::test]
async fn bad_input_is_a_validation_exception(
    #[case] method: &str,
    #[case] path: &str,
    #[case] body: Vec<u8>,
    #[case] needle: &str,
) {
    let answer = call(method, path, body).await;
    assert_eq!(answer.status, 400, "{}", answer.message);
    assert_eq!(answer.error_type.as_deref(), Some("ValidationException"), "{}", answer.message);
    assert!(answer.message.contains(needle), "expected {needle:?} in {:?}", answer.message);
}

#[rstest]
#[case::unknown_path("GET", "/v1/whatsapp/nope")]
#[case::wrong_method("PATCH", "/v1/whatsapp/send")]
#[case::root("GET", "/")]
#[case::control_api_lookalike("GET", "/v2/whatsapp/send")]
#[tokio::test]
async fn unknown_routes_get_an_aws_shaped_error(#[case] method: &str, #[case] path: &str) {
    let answer = call(method, path, Vec::new()).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.error_type.as_deref(), Some("UnknownOperationException"));
    assert!(answer.message.contains(path));
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let emu = emulator().await;
    let limit = emu.state.config.max_body_bytes;
    let res = http()
        .post(format!("{}/v1/whatsapp/send", emu.url()))
        .body(vec![b' '; limit + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 413);
    assert_eq!(res.headers()["x-amzn-errortype"], "ValidationException");
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("larger than the limit"));
}

#[tokio::test]
async fn lengths_are_counted_in_code_points() {
    // Up to 200 code points is fine even though the UTF-8 is 800 bytes.
    let answer = call(
        "POST",
        "/v1/whatsapp/flow/create",
        flow_body(&"\u{1F600}".repeat(200), serde_json::json!(["OTHER"])),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.message);
    assert_eq!(answer.error_type, None);
}

#[tokio::test]
async fn unknown_members_are_ignored_as_aws_does() {
    let answer = call(
        "PUT",
        "/v1/whatsapp/waba/eventdestinations",
        serde_json::json!({ "id": WABA_1, "eventDestinations": [], "surprise": {"x": 1} })
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.message);
}

#[tokio::test]
async fn a_rejected_request_changes_nothing() {
    let emu = emulator().await;
    let before: serde_json::Value = http()
        .get(format!("{}/v1/whatsapp/waba/details?id={WABA_1}", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let phone_path = format!("/v1/whatsapp/waba/phone?id={PHONE_1}");
    let bad_writes: Vec<(&str, &str, String)> = vec![
        (
            "PUT",
            "/v1/whatsapp/waba/eventdestinations",
            format!(
                r#"{{"id":"{WABA_1}","eventDestinations":[{{"eventDestinationArn":"arn:aws:sqs:us-east-1:809904170947:q"}}]}}"#
            ),
        ),
        (
            "PUT",
            "/v1/whatsapp/waba/eventdestinations",
            format!(
                r#"{{"id":"{WABA_1}","eventDestinations":[{{"eventDestinationArn":"arn:aws:sns:us-east-1:809904170947:t","roleArn":"nope"}}]}}"#
            ),
        ),
        (
            "POST",
            "/v1/tags/tag-resource",
            format!(
                r#"{{"resourceArn":"{}","tags":[{{"key":"ok","value":"1"}},{{"key":"aws:no"}}]}}"#,
                waba_arn(ACCOUNT, REGION, WABA_1)
            ),
        ),
        ("PUT", &phone_path, r#"{"callSettings":{"callEnabled":"yes"}}"#.to_string()),
        ("DELETE", "/v1/whatsapp/waba/disassociate?id=waba-", String::new()),
    ];
    for (method, path, body) in bad_writes {
        let res = http()
            .request(method.parse().unwrap(), format!("{}{path}", emu.url()))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{method} {path}: {}", res.status());
    }
    let after: serde_json::Value = http()
        .get(format!("{}/v1/whatsapp/waba/details?id={WABA_1}", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(before, after);
    let tags: serde_json::Value = http()
        .get(format!(
            "{}/v1/tags/list?resourceArn={}",
            emu.url(),
            waba_arn(ACCOUNT, REGION, WABA_1).replace(':', "%3A").replace('/', "%2F")
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], serde_json::json!([]));
    let phone: serde_json::Value = http()
        .get(format!("{}/v1/whatsapp/waba/phone/details?id={PHONE_1}", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(phone.get("callSettings").is_none());
}
