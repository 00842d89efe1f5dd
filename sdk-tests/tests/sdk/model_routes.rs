//! The model facts, the real SDK and the emulator's route table agree: the SDK sends every
//! operation to the method and path the model gives, the emulator routes every model operation,
//! error statuses are the modeled ones, and operations not implemented yet say so.

use std::collections::BTreeSet;
use std::future::Future;

use aws_credential_types::Credentials;
use aws_sdk_socialmessaging::config::{BehaviorVersion, Region};
use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use aws_sdk_socialmessaging::types::{
    MetaFlowCategory, MetaLibraryTemplate, S3File, Tag, WhatsAppBusinessAccountEventDestination,
    WhatsAppCallSettings, WhatsAppSignupCallback,
};
use aws_sdk_socialmessaging::{Client, Config};
use aws_smithy_http_client::test_util::capture_request;
use aws_smithy_types::Blob;
use aws_smithy_types::retry::RetryConfig;
use eum_social_emulator::error::ErrorKind;
use eum_social_emulator::model::{Model, ShapeKind};
use eum_social_emulator::routes::Operation;
use sdk_tests::{ACCOUNT, PHONE_1, REGION, WABA_1};

const FLOW_ID: &str = "1234567890123456";
const MEDIA_ID: &str = "1029384756473829";
const DATASET_ID: &str = "9876543210987654";
const TEMPLATE_ID: &str = "1122334455667788";
const TEXT_MESSAGE: &str = r#"{"messaging_product":"whatsapp","to":"+14255550123","type":"text","text":{"body":"Hello from the emulator"}}"#;

/// Where the requests of [`send_every_operation`] go.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// A capturing HTTP client: the request is recorded, the canned answer ignored.
    Capture,
    /// A running emulator: the answer is recorded.
    Emulator(&'a str),
}

/// What the SDK put on the wire for one operation, or what the emulator answered.
struct Sent {
    operation: &'static str,
    method: String,
    path: String,
    query_names: Vec<String>,
    /// Emulator target: `None` on success, else the error's (code, message).
    error: Option<(Option<String>, Option<String>)>,
}

fn config(endpoint: &str) -> aws_sdk_socialmessaging::config::Builder {
    Config::builder()
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(ACCOUNT, "secret", None, None, "model-routes"))
        .retry_config(RetryConfig::disabled())
        .behavior_version(BehaviorVersion::latest())
}

/// Runs `call` against `target` and records the request (capture) or the answer (emulator).
async fn capture<T, E, Fut>(
    target: Target<'_>,
    operation: &'static str,
    call: impl FnOnce(Client) -> Fut,
) -> Sent
where
    Fut: Future<Output = Result<T, E>>,
    E: ProvideErrorMetadata,
{
    if let Target::Emulator(url) = target {
        let outcome = call(Client::from_conf(config(url).build())).await;
        let error =
            outcome.err().map(|e| (e.code().map(str::to_string), e.message().map(str::to_string)));
        return Sent {
            operation,
            method: String::new(),
            path: String::new(),
            query_names: Vec::new(),
            error,
        };
    }
    let (http_client, receiver) = capture_request(None);
    let _ =
        call(Client::from_conf(config("http://localhost:1234").http_client(http_client).build()))
            .await;
    let request = receiver.expect_request();
    let method = request.method().to_string();
    let uri = request.uri().to_string();
    let after_scheme = uri.split_once("://").map_or(uri.as_str(), |(_, rest)| rest);
    let path_and_query = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let query_names = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name).to_string())
        .collect();
    Sent { operation, method, path: path.to_string(), query_names, error: None }
}

fn blob(text: &str) -> Blob {
    Blob::new(text.as_bytes().to_vec())
}

fn phone_arn() -> String {
    sdk_tests::phone_arn(ACCOUNT, REGION, PHONE_1)
}

/// One request per operation, every required member set (and the optional query members too,
/// so that their wire names are checked as well).
async fn send_every_operation(target: Target<'_>) -> Vec<Sent> {
    let s3_file = || S3File::builder().bucket_name("my-media-bucket").key("media/cat.jpg").build();
    vec![
        capture(target, "AssociateWhatsAppBusinessAccount", |c| {
            c.associate_whats_app_business_account()
                .signup_callback(
                    WhatsAppSignupCallback::builder()
                        .access_token("EAAGm0PX4ZCpsBAKZC0ZAtoken")
                        .build()
                        .expect("signup callback"),
                )
                .send()
        })
        .await,
        capture(target, "CreateWhatsAppDataset", |c| c.create_whats_app_dataset().id(WABA_1).send()).await,
        capture(target, "CreateWhatsAppFlow", |c| {
            c.create_whats_app_flow()
                .id(WABA_1)
                .flow_name("signup_flow")
                .categories(MetaFlowCategory::SignUp)
                .flow_json(blob(r#"{"version":"6.0","screens":[]}"#))
                .send()
        })
        .await,
        capture(target, "CreateWhatsAppMessageTemplate", |c| {
            c.create_whats_app_message_template()
                .id(WABA_1)
                .template_definition(blob(
                    r#"{"name":"order_update","language":"en_US","category":"UTILITY","components":[{"type":"BODY","text":"Your order shipped"}]}"#,
                ))
                .send()
        })
        .await,
        capture(target, "CreateWhatsAppMessageTemplateFromLibrary", |c| {
            c.create_whats_app_message_template_from_library()
                .id(WABA_1)
                .meta_library_template(
                    MetaLibraryTemplate::builder()
                        .template_name("my_payment_reminder")
                        .library_template_name("payment_reminder")
                        .template_category("UTILITY")
                        .template_language("en_US")
                        .build()
                        .expect("library template"),
                )
                .send()
        })
        .await,
        capture(target, "CreateWhatsAppMessageTemplateMedia", |c| {
            c.create_whats_app_message_template_media()
                .id(WABA_1)
                .source_s3_file(s3_file().expect("s3 file"))
                .send()
        })
        .await,
        capture(target, "DeleteWhatsAppFlow", |c| {
            c.delete_whats_app_flow().id(WABA_1).flow_id(FLOW_ID).send()
        })
        .await,
        capture(target, "DeleteWhatsAppMessageMedia", |c| {
            c.delete_whats_app_message_media()
                .media_id(MEDIA_ID)
                .origination_phone_number_id(PHONE_1)
                .send()
        })
        .await,
        capture(target, "DeleteWhatsAppMessageTemplate", |c| {
            c.delete_whats_app_message_template()
                .id(WABA_1)
                .template_name("hello_world")
                .meta_template_id(TEMPLATE_ID)
                .delete_all_languages(true)
                .send()
        })
        .await,
        capture(target, "DeprecateWhatsAppFlow", |c| {
            c.deprecate_whats_app_flow().id(WABA_1).flow_id(FLOW_ID).send()
        })
        .await,
        capture(target, "DisassociateWhatsAppBusinessAccount", |c| {
            c.disassociate_whats_app_business_account().id(WABA_1).send()
        })
        .await,
        capture(target, "GetLinkedWhatsAppBusinessAccount", |c| {
            c.get_linked_whats_app_business_account().id(WABA_1).send()
        })
        .await,
        capture(target, "GetLinkedWhatsAppBusinessAccountPhoneNumber", |c| {
            c.get_linked_whats_app_business_account_phone_number().id(PHONE_1).send()
        })
        .await,
        capture(target, "GetWhatsAppBusinessPublicKey", |c| {
            c.get_whats_app_business_public_key().origination_phone_number_id(PHONE_1).send()
        })
        .await,
        capture(target, "GetWhatsAppCallPermission", |c| {
            c.get_whats_app_call_permission()
                .origination_phone_number_id(PHONE_1)
                .destination_phone_number("+14255550123")
                .send()
        })
        .await,
        capture(target, "GetWhatsAppFlow", |c| c.get_whats_app_flow().id(WABA_1).flow_id(FLOW_ID).send())
            .await,
        capture(target, "GetWhatsAppFlowPreview", |c| {
            c.get_whats_app_flow_preview().id(WABA_1).flow_id(FLOW_ID).invalidate(true).send()
        })
        .await,
        capture(target, "GetWhatsAppMessageMedia", |c| {
            c.get_whats_app_message_media()
                .media_id(MEDIA_ID)
                .origination_phone_number_id(PHONE_1)
                .metadata_only(true)
                .send()
        })
        .await,
        capture(target, "GetWhatsAppMessageTemplate", |c| {
            c.get_whats_app_message_template()
                .id(WABA_1)
                .meta_template_id(TEMPLATE_ID)
                .template_name("hello_world")
                .template_language_code("en_US")
                .send()
        })
        .await,
        capture(target, "ListLinkedWhatsAppBusinessAccounts", |c| {
            c.list_linked_whats_app_business_accounts().max_results(10).next_token("token").send()
        })
        .await,
        capture(target, "ListTagsForResource", |c| {
            c.list_tags_for_resource().resource_arn(phone_arn()).send()
        })
        .await,
        capture(target, "ListWhatsAppFlowAssets", |c| {
            c.list_whats_app_flow_assets()
                .id(WABA_1)
                .flow_id(FLOW_ID)
                .max_results(10)
                .next_token("token")
                .send()
        })
        .await,
        capture(target, "ListWhatsAppFlows", |c| {
            c.list_whats_app_flows().id(WABA_1).max_results(10).next_token("token").send()
        })
        .await,
        capture(target, "ListWhatsAppMessageTemplates", |c| {
            c.list_whats_app_message_templates().id(WABA_1).max_results(10).next_token("token").send()
        })
        .await,
        capture(target, "ListWhatsAppTemplateLibrary", |c| {
            c.list_whats_app_template_library()
                .id(WABA_1)
                .max_results(10)
                .filters("topic", "ORDER_MANAGEMENT")
                .send()
        })
        .await,
        capture(target, "PostWhatsAppMessageMedia", |c| {
            c.post_whats_app_message_media()
                .origination_phone_number_id(PHONE_1)
                .source_s3_file(s3_file().expect("s3 file"))
                .send()
        })
        .await,
        capture(target, "PublishWhatsAppFlow", |c| {
            c.publish_whats_app_flow().id(WABA_1).flow_id(FLOW_ID).send()
        })
        .await,
        capture(target, "PutWhatsAppBusinessAccountEventDestinations", |c| {
            c.put_whats_app_business_account_event_destinations()
                .id(WABA_1)
                .event_destinations(
                    WhatsAppBusinessAccountEventDestination::builder()
                        .event_destination_arn(format!(
                            "arn:aws:sns:{REGION}:{ACCOUNT}:whatsapp-events"
                        ))
                        .build()
                        .expect("event destination"),
                )
                .send()
        })
        .await,
        capture(target, "PutWhatsAppBusinessPublicKey", |c| {
            c.put_whats_app_business_public_key()
                .origination_phone_number_id(PHONE_1)
                .business_public_key(
                    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----",
                )
                .send()
        })
        .await,
        capture(target, "SendWhatsAppCallEvent", |c| {
            c.send_whats_app_call_event()
                .origination_phone_number_id(PHONE_1)
                .meta_api_version("v20.0")
                .call_event(blob(r#"{"messaging_product":"whatsapp","call_id":"wacid.1","action":"terminate"}"#))
                .send()
        })
        .await,
        capture(target, "SendWhatsAppConversionEvent", |c| {
            c.send_whats_app_conversion_event()
                .id(WABA_1)
                .dataset_id(DATASET_ID)
                .event_data(blob(r#"{"data":[{"event_name":"Purchase","event_time":1767225600}]}"#))
                .send()
        })
        .await,
        capture(target, "SendWhatsAppMessage", |c| {
            c.send_whats_app_message()
                .origination_phone_number_id(PHONE_1)
                .meta_api_version("v20.0")
                .message(blob(TEXT_MESSAGE))
                .send()
        })
        .await,
        capture(target, "TagResource", |c| {
            c.tag_resource()
                .resource_arn(phone_arn())
                .tags(Tag::builder().key("team").value("support").build().expect("tag"))
                .send()
        })
        .await,
        capture(target, "UntagResource", |c| {
            c.untag_resource().resource_arn(phone_arn()).tag_keys("team").send()
        })
        .await,
        capture(target, "UpdateLinkedWhatsAppBusinessAccountPhoneNumber", |c| {
            c.update_linked_whats_app_business_account_phone_number()
                .id(PHONE_1)
                .call_settings(
                    WhatsAppCallSettings::builder()
                        .call_enabled(true)
                        .build()
                        .expect("call settings"),
                )
                .send()
        })
        .await,
        capture(target, "UpdateWhatsAppFlow", |c| {
            c.update_whats_app_flow()
                .id(WABA_1)
                .flow_id(FLOW_ID)
                .flow_name("signup_flow_v2")
                .categories(MetaFlowCategory::SignUp)
                .send()
        })
        .await,
        capture(target, "UpdateWhatsAppFlowAssets", |c| {
            c.update_whats_app_flow_assets()
                .id(WABA_1)
                .flow_id(FLOW_ID)
                .flow_json(blob(r#"{"version":"6.0","screens":[]}"#))
                .send()
        })
        .await,
        capture(target, "UpdateWhatsAppMessageTemplate", |c| {
            c.update_whats_app_message_template()
                .id(WABA_1)
                .meta_template_id(TEMPLATE_ID)
                .template_category("UTILITY")
                .send()
        })
        .await,
    ]
}

/// (wire name, required) of every query-bound member of an input shape.
fn query_members(model: &Model, input: &str) -> Vec<(String, bool)> {
    match &model.shape(input).kind {
        ShapeKind::Structure { members } => {
            members.iter().filter_map(|m| m.query.clone().map(|name| (name, m.required))).collect()
        }
        other => panic!("input shape {input} is not a structure: {other:?}"),
    }
}

#[tokio::test]
async fn sdk_sends_every_operation_where_the_model_says() {
    let model = Model::get();
    let mut covered = BTreeSet::new();
    for sent in send_every_operation(Target::Capture).await {
        let op = sent.operation;
        let facts = model
            .operations
            .get(op)
            .unwrap_or_else(|| panic!("{op} is not an operation of the model"));
        assert_eq!(sent.method, facts.method, "{op}: method");
        assert_eq!(sent.path, facts.uri, "{op}: path");

        let query = query_members(model, &facts.input);
        for name in &sent.query_names {
            assert!(
                query.iter().any(|(wire, _)| wire == name),
                "{op}: the SDK sent query parameter {name:?}, which is not a query member of {}",
                facts.input
            );
        }
        for (wire, required) in &query {
            if *required {
                assert!(
                    sent.query_names.contains(wire),
                    "{op}: required query member {wire:?} missing from the SDK's request"
                );
            }
        }
        assert!(covered.insert(op), "{op} sent twice");
    }
    let all: BTreeSet<&str> = model.operations.keys().map(String::as_str).collect();
    assert_eq!(covered, all, "every model operation is sent through the SDK exactly once");
    assert_eq!(all.len(), 38);
    let routed: BTreeSet<&str> = Operation::ALL.iter().map(|op| op.name()).collect();
    assert_eq!(routed, all, "Operation::ALL is the model's operations");
}

/// Asserts an AWS-shaped error body and returns its message.
fn error_message(context: &str, body: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{context}: error body is not JSON ({e}): {body}"));
    json.get("message")
        .and_then(|m| m.as_str())
        .unwrap_or_else(|| panic!("{context}: error body has no message string: {body}"))
        .to_string()
}

async fn raw(
    http: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = http.request(method.clone(), format!("{base}{path}"));
    if method == reqwest::Method::POST || method == reqwest::Method::PUT {
        request = request.header("content-type", "application/json").body("{}");
    }
    let response = request.send().await.expect("request reaches the emulator");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.expect("response body");
    (status, headers, body)
}

fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn every_model_operation_is_routed() {
    let emu = sdk_tests::emulator().await;
    let base = emu.url();
    let http = reqwest::Client::new();
    let model = Model::get();
    assert_eq!(model.operations.len(), 38);
    for facts in model.operations.values() {
        let context = format!("{} ({} {})", facts.name, facts.method, facts.uri);
        let (status, headers, body) = raw(&http, &base, &facts.method, &facts.uri).await;
        assert!(
            header(&headers, "x-amzn-requestid").is_some_and(|v| !v.is_empty()),
            "{context}: no x-amzn-requestid"
        );
        let error_type = header(&headers, "x-amzn-errortype");
        assert_ne!(error_type, Some("UnknownOperationException"), "{context}: not routed: {body}");
        if !status.is_success() {
            error_message(&context, &body);
            let error_type = error_type
                .unwrap_or_else(|| panic!("{context}: error {status} without x-amzn-errortype"));
            let kind = ErrorKind::from_shape(error_type)
                .unwrap_or_else(|| panic!("{context}: unmodeled error type {error_type}"));
            assert!(
                facts.errors.contains(&kind),
                "{context}: {error_type} is not declared by the operation ({:?}); body {body}",
                facts.errors
            );
        }
    }

    for (method, path) in [("GET", "/v1/whatsapp/nope"), ("PATCH", "/v1/whatsapp/send")] {
        let context = format!("{method} {path}");
        let (status, headers, body) = raw(&http, &base, method, path).await;
        assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{context}: {body}");
        assert_eq!(
            header(&headers, "x-amzn-errortype"),
            Some("UnknownOperationException"),
            "{context}"
        );
        assert!(header(&headers, "x-amzn-requestid").is_some(), "{context}: no x-amzn-requestid");
        let message = error_message(&context, &body);
        assert!(message.contains(path), "{context}: message {message:?} names the path");
    }
}

#[test]
fn error_statuses_match_the_model() {
    let model = Model::get();
    for kind in ErrorKind::MODELED {
        let modeled = model
            .error_statuses
            .get(kind.shape())
            .unwrap_or_else(|| panic!("{} is not an error shape of the model", kind.shape()));
        assert_eq!(kind.status().as_u16(), *modeled, "status of {}", kind.shape());
        assert_eq!(ErrorKind::from_shape(kind.shape()), Some(kind));
    }
    for shape in model.error_statuses.keys() {
        assert!(
            ErrorKind::MODELED.iter().any(|k| k.shape() == shape),
            "model error {shape} has no ErrorKind"
        );
    }
    assert!(!model.error_statuses.contains_key(ErrorKind::UnknownOperation.shape()));
}

#[tokio::test]
async fn no_operation_answers_not_implemented() {
    let emu = sdk_tests::emulator().await;
    let answers = send_every_operation(Target::Emulator(&emu.url())).await;
    assert_eq!(answers.len(), Operation::ALL.len());
    for sent in answers {
        let (code, message) = sent.error.clone().unwrap_or_default();
        let message = message.unwrap_or_default();
        assert!(!message.contains("not implemented"), "{}: {message}", sent.operation);
        // Whatever the answer, it is one the operation declares (or a success).
        if let Some(code) = code {
            let declared = &Model::get().operation(sent.operation).errors;
            let kind = ErrorKind::from_shape(&code).unwrap_or(ErrorKind::UnknownOperation);
            assert!(declared.contains(&kind), "{}: undeclared {code}: {message}", sent.operation);
        }
    }
    emu.stop().await.expect("emulator stops");
}
