//! Every error every operation declares, injected by a fault rule, reaches the real SDK as that
//! operation's typed exception (its own enum variant, not `Unhandled`), with the status and
//! `x-amzn-errortype` the service sends. The pairs come from the model facts, so a new
//! operation or error is checked without touching this file.

use aws_sdk_socialmessaging::Client;
use aws_sdk_socialmessaging::error::{ProvideErrorMetadata, SdkError};
use sdk_tests::*;
use serde_json::{Value, json};

fn model() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/model/socialmessaging.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What the SDK made of a failed call: the HTTP status, the error code, and the typed error as
/// `Debug` prints it (`Variant(...)`).
#[derive(Debug)]
struct Seen {
    status: u16,
    code: Option<String>,
    typed: String,
}

fn service_error<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> Result<Seen, String> {
    match result {
        Ok(out) => Err(format!("a success: {out:?}")),
        Err(SdkError::ServiceError(e)) => Ok(Seen {
            status: e.raw().status().as_u16(),
            code: e.err().code().map(str::to_string),
            typed: format!("{:?}", e.err()),
        }),
        Err(other) => Err(format!("not a service error: {other:?}")),
    }
}

/// Calls `operation` with its required query members set (the rest of its input does not
/// matter: fault rules apply before validation).
async fn call(c: &Client, operation: &str, arn: &str) -> Result<Seen, String> {
    match operation {
        "AssociateWhatsAppBusinessAccount" => {
            service_error(c.associate_whats_app_business_account().send().await)
        }
        "CreateWhatsAppDataset" => service_error(c.create_whats_app_dataset().send().await),
        "CreateWhatsAppFlow" => service_error(c.create_whats_app_flow().send().await),
        "CreateWhatsAppMessageTemplate" => {
            service_error(c.create_whats_app_message_template().send().await)
        }
        "CreateWhatsAppMessageTemplateFromLibrary" => {
            service_error(c.create_whats_app_message_template_from_library().send().await)
        }
        "CreateWhatsAppMessageTemplateMedia" => {
            service_error(c.create_whats_app_message_template_media().send().await)
        }
        "DeleteWhatsAppFlow" => {
            service_error(c.delete_whats_app_flow().id(WABA_1).flow_id("1234567890").send().await)
        }
        "DeleteWhatsAppMessageMedia" => service_error(
            c.delete_whats_app_message_media()
                .media_id("1234567890")
                .origination_phone_number_id(PHONE_1)
                .send()
                .await,
        ),
        "DeleteWhatsAppMessageTemplate" => service_error(
            c.delete_whats_app_message_template()
                .id(WABA_1)
                .template_name("order_update")
                .send()
                .await,
        ),
        "DeprecateWhatsAppFlow" => service_error(c.deprecate_whats_app_flow().send().await),
        "DisassociateWhatsAppBusinessAccount" => {
            service_error(c.disassociate_whats_app_business_account().id(WABA_1).send().await)
        }
        "GetLinkedWhatsAppBusinessAccount" => {
            service_error(c.get_linked_whats_app_business_account().id(WABA_1).send().await)
        }
        "GetLinkedWhatsAppBusinessAccountPhoneNumber" => service_error(
            c.get_linked_whats_app_business_account_phone_number().id(PHONE_1).send().await,
        ),
        "GetWhatsAppBusinessPublicKey" => service_error(
            c.get_whats_app_business_public_key().origination_phone_number_id(PHONE_1).send().await,
        ),
        "GetWhatsAppCallPermission" => {
            service_error(c.get_whats_app_call_permission().send().await)
        }
        "GetWhatsAppFlow" => {
            service_error(c.get_whats_app_flow().id(WABA_1).flow_id("1234567890").send().await)
        }
        "GetWhatsAppFlowPreview" => service_error(
            c.get_whats_app_flow_preview().id(WABA_1).flow_id("1234567890").send().await,
        ),
        "GetWhatsAppMessageMedia" => service_error(c.get_whats_app_message_media().send().await),
        "GetWhatsAppMessageTemplate" => {
            service_error(c.get_whats_app_message_template().id(WABA_1).send().await)
        }
        "ListLinkedWhatsAppBusinessAccounts" => {
            service_error(c.list_linked_whats_app_business_accounts().send().await)
        }
        "ListTagsForResource" => {
            service_error(c.list_tags_for_resource().resource_arn(arn).send().await)
        }
        "ListWhatsAppFlowAssets" => service_error(
            c.list_whats_app_flow_assets().id(WABA_1).flow_id("1234567890").send().await,
        ),
        "ListWhatsAppFlows" => service_error(c.list_whats_app_flows().id(WABA_1).send().await),
        "ListWhatsAppMessageTemplates" => {
            service_error(c.list_whats_app_message_templates().id(WABA_1).send().await)
        }
        "ListWhatsAppTemplateLibrary" => {
            service_error(c.list_whats_app_template_library().id(WABA_1).send().await)
        }
        "PostWhatsAppMessageMedia" => service_error(c.post_whats_app_message_media().send().await),
        "PublishWhatsAppFlow" => service_error(c.publish_whats_app_flow().send().await),
        "PutWhatsAppBusinessAccountEventDestinations" => {
            service_error(c.put_whats_app_business_account_event_destinations().send().await)
        }
        "PutWhatsAppBusinessPublicKey" => {
            service_error(c.put_whats_app_business_public_key().send().await)
        }
        "SendWhatsAppCallEvent" => service_error(c.send_whats_app_call_event().send().await),
        "SendWhatsAppConversionEvent" => {
            service_error(c.send_whats_app_conversion_event().send().await)
        }
        "SendWhatsAppMessage" => service_error(c.send_whats_app_message().send().await),
        "TagResource" => service_error(c.tag_resource().send().await),
        "UntagResource" => service_error(c.untag_resource().send().await),
        "UpdateLinkedWhatsAppBusinessAccountPhoneNumber" => service_error(
            c.update_linked_whats_app_business_account_phone_number().id(PHONE_1).send().await,
        ),
        "UpdateWhatsAppFlow" => service_error(c.update_whats_app_flow().send().await),
        "UpdateWhatsAppFlowAssets" => service_error(c.update_whats_app_flow_assets().send().await),
        "UpdateWhatsAppMessageTemplate" => {
            service_error(c.update_whats_app_message_template().send().await)
        }
        other => Err(format!("no call for {other}")),
    }
}

#[tokio::test]
async fn every_declared_error_of_every_operation_is_its_typed_exception() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let arn = waba_arn(ACCOUNT, REGION, WABA_1);
    let model = model();
    let mut failures = Vec::new();
    let mut pairs = 0;
    for (operation, facts) in model["operations"].as_object().unwrap() {
        for error in facts["errors"].as_array().unwrap() {
            let error = error.as_str().unwrap();
            let status = model["errors"][error]["status"].as_u64();
            let message = format!("{error} injected into {operation}");
            let rule =
                json!({ "operation": operation, "error": { "type": error, "message": message } });
            control.call("POST", "/faults", Some(rule)).await;
            let seen = call(&client, operation, &arn).await;
            control.call("DELETE", "/faults", None).await;
            pairs += 1;
            let ok = seen.as_ref().is_ok_and(|s| {
                s.code.as_deref() == Some(error)
                    && s.typed.starts_with(&format!("{error}("))
                    && s.typed.contains(&message)
                    && status.is_none_or(|st| u64::from(s.status) == st)
            });
            if !ok {
                failures.push(format!("{operation} / {error} (status {status:?}): {seen:?}"));
            }
        }
    }
    assert_eq!(pairs, 284, "the model's (operation, error) pairs");
    assert!(
        failures.is_empty(),
        "{} of {pairs} pairs wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
