//! AssociateWhatsAppBusinessAccount, the embedded-signup flow, through the real SDK.

use aws_sdk_socialmessaging::Client;
use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use aws_sdk_socialmessaging::types::{
    RegistrationStatus, Tag, WabaPhoneNumberSetupFinalization, WabaSetupFinalization,
    WhatsAppBusinessAccountEventDestination, WhatsAppSetupFinalization, WhatsAppSignupCallback,
};
use sdk_tests::*;
use serde_json::json;

async fn start(client: &Client, token: &str) -> (String, String, Vec<String>, String) {
    let out = client
        .associate_whats_app_business_account()
        .signup_callback(WhatsAppSignupCallback::builder().access_token(token).build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), Some(200));
    let result = out.signup_callback_result().unwrap();
    let (meta_id, pending) =
        result.linked_accounts_with_incomplete_setup().unwrap().iter().next().unwrap();
    assert_eq!(pending.registration_status(), Some(&RegistrationStatus::Incomplete));
    let phones = pending
        .unregistered_whats_app_phone_numbers()
        .iter()
        .map(|p| p.phone_number_id().to_string())
        .collect();
    (
        result.associate_in_progress_token().unwrap().to_string(),
        pending.waba_id().unwrap().to_string(),
        phones,
        meta_id.clone(),
    )
}

fn phone(id: &str, pin: &str) -> WabaPhoneNumberSetupFinalization {
    WabaPhoneNumberSetupFinalization::builder().id(id).two_factor_pin(pin).build().unwrap()
}

#[tokio::test]
async fn a_seeded_signup_links_the_waba_complete_with_its_number() {
    let emu = emulator().await;
    let client = client(&emu);
    let (token, waba_id, phones, meta_id) = start(&client, "EAAexample-signup-token").await;
    assert_eq!(meta_id, "1234567890123456");
    assert!(waba_id.starts_with("waba-") && waba_id.len() == 37, "{waba_id}");
    assert_eq!(phones.len(), 1);
    let out = client
        .associate_whats_app_business_account()
        .setup_finalization(
            WhatsAppSetupFinalization::builder()
                .associate_in_progress_token(&token)
                .phone_numbers(phone(&phones[0], "654321"))
                .waba(
                    WabaSetupFinalization::builder()
                        .id(&meta_id)
                        .event_destinations(
                            WhatsAppBusinessAccountEventDestination::builder()
                                .event_destination_arn("arn:aws:sns:us-east-1:809904170947:retail")
                                .build()
                                .unwrap(),
                        )
                        .tags(Tag::builder().key("team").value("retail").build().unwrap())
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), Some(200));
    assert_eq!(out.linked_whats_app_business_account_id(), Some(waba_id.as_str()));

    let got = client.get_linked_whats_app_business_account().id(&waba_id).send().await.unwrap();
    let account = got.account().unwrap();
    assert_eq!(account.registration_status(), &RegistrationStatus::Complete);
    assert_eq!(account.waba_name(), "Example Retail");
    assert_eq!(account.phone_numbers()[0].phone_number(), "+12065550100");
    assert_eq!(account.phone_numbers()[0].phone_number_id(), phones[0]);
    assert_eq!(account.event_destinations().len(), 1);
    let tags = client.list_tags_for_resource().resource_arn(account.arn()).send().await.unwrap();
    assert_eq!(tags.tags()[0].key(), "team");
    // A WABA signed up without a seeded portfolio is a new business portfolio: limit 250.
    let control = Control::new(&emu);
    let portfolios = control.call("GET", "/portfolios", None).await;
    let new = portfolios["portfolios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["wabaIds"] == json!([waba_id]))
        .expect("the new WABA's portfolio");
    assert_eq!(new["messagingLimitTier"], "TIER_250");
    assert_eq!(new["maxDailyConversationsPerBusiness"], 250);
    let seeded = control.call("GET", "/portfolios/1019283746556473", None).await;
    assert_eq!(seeded["messagingLimitTier"], "TIER_2K");

    // The token is spent, and the Meta WABA cannot be signed up twice.
    let err = client
        .associate_whats_app_business_account()
        .setup_finalization(
            WhatsAppSetupFinalization::builder()
                .associate_in_progress_token(&token)
                .phone_numbers(phone(&phones[0], "654321"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    let err = client
        .associate_whats_app_business_account()
        .signup_callback(
            WhatsAppSignupCallback::builder()
                .access_token("EAAexample-signup-token")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception());
    assert!(err.message().unwrap().contains("already linked"));
}

#[tokio::test]
async fn a_token_not_in_the_seed_grants_a_stable_derived_waba() {
    let emu = emulator().await;
    let client = client(&emu);
    let (_, _, _, first) = start(&client, "any-token").await;
    let (_, _, _, again) = start(&client, "any-token").await;
    assert_eq!(first, again);
    assert!(first.len() == 15 && first.bytes().all(|b| b.is_ascii_digit()));
}

#[tokio::test]
async fn numbers_can_join_an_existing_waba() {
    let emu = emulator().await;
    let client = client(&emu);
    let (token, _, phones, _) = start(&client, "extra-number").await;
    client
        .associate_whats_app_business_account()
        .setup_finalization(
            WhatsAppSetupFinalization::builder()
                .associate_in_progress_token(token)
                .phone_numbers(phone(&phones[0], "111111"))
                .phone_number_parent(WABA_2)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let got = client.get_linked_whats_app_business_account().id(WABA_2).send().await.unwrap();
    assert_eq!(got.account().unwrap().phone_numbers().len(), 2);
    let detail = client
        .get_linked_whats_app_business_account_phone_number()
        .id(&phones[0])
        .send()
        .await
        .unwrap();
    assert_eq!(detail.linked_whats_app_business_account_id(), Some(WABA_2));
}

#[tokio::test]
async fn finalization_errors_are_invalid_parameters_and_change_nothing() {
    let emu = emulator().await;
    let client = client(&emu);
    let (token, waba_id, phones, _) = start(&client, "careful").await;
    let cases: Vec<(WhatsAppSetupFinalization, &str)> = vec![
        (
            WhatsAppSetupFinalization::builder()
                .associate_in_progress_token(&token)
                .phone_numbers(phone(&phones[0], "12ab"))
                .build()
                .unwrap(),
            "twoFactorPin",
        ),
        (
            WhatsAppSetupFinalization::builder()
                .associate_in_progress_token(&token)
                .phone_numbers(phone("phone-number-id-00000000000000000000000000000000", "123456"))
                .build()
                .unwrap(),
            "not a phone number of this signup",
        ),
        (
            WhatsAppSetupFinalization::builder()
                .associate_in_progress_token("unknown-token")
                .phone_numbers(phone(&phones[0], "123456"))
                .build()
                .unwrap(),
            "associateInProgressToken",
        ),
        (
            WhatsAppSetupFinalization::builder()
                .associate_in_progress_token(&token)
                .phone_numbers(phone(&phones[0], "123456"))
                .phone_number_parent(WABA_1)
                .waba(WabaSetupFinalization::builder().build())
                .build()
                .unwrap(),
            "cannot be combined",
        ),
        (
            WhatsAppSetupFinalization::builder()
                .associate_in_progress_token(&token)
                .phone_numbers(phone(&phones[0], "123456"))
                .phone_number_parent("waba-ffffffffffffffffffffffffffffffff")
                .build()
                .unwrap(),
            "phoneNumberParent",
        ),
        (
            WhatsAppSetupFinalization::builder()
                .associate_in_progress_token(&token)
                .phone_numbers(phone(&phones[0], "123456"))
                .waba(WabaSetupFinalization::builder().id("999").build())
                .build()
                .unwrap(),
            "waba.id",
        ),
    ];
    for (finalization, needle) in cases {
        let err = client
            .associate_whats_app_business_account()
            .setup_finalization(finalization)
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(err.is_invalid_parameters_exception(), "{needle}: {err:?}");
        assert!(err.message().unwrap().contains(needle), "{needle}: {:?}", err.message());
    }
    let list = client.list_linked_whats_app_business_accounts().send().await.unwrap();
    assert_eq!(list.linked_accounts().len(), 2);
    // The token still works after the refused attempts.
    client
        .associate_whats_app_business_account()
        .setup_finalization(
            WhatsAppSetupFinalization::builder()
                .associate_in_progress_token(&token)
                .phone_numbers(phone(&phones[0], "123456"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    client.get_linked_whats_app_business_account().id(&waba_id).send().await.unwrap();
}

#[tokio::test]
async fn neither_or_both_phases_is_invalid_parameters() {
    let emu = emulator().await;
    let client = client(&emu);
    let err = client
        .associate_whats_app_business_account()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    let err = client
        .associate_whats_app_business_account()
        .signup_callback(WhatsAppSignupCallback::builder().access_token("").build().unwrap())
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
}

#[tokio::test]
async fn the_26th_waba_in_a_region_is_limit_exceeded() {
    let emu = emulator_without_quotas().await;
    let client = client(&emu);
    for i in 0..23 {
        link_waba(&client, &format!("fill-{i}")).await;
    }
    let list = client.list_linked_whats_app_business_accounts().send().await.unwrap();
    assert_eq!(list.linked_accounts().len(), 25);
    let (token, _, phones, _) = start(&client, "one-too-many").await;
    let err = client
        .associate_whats_app_business_account()
        .setup_finalization(
            WhatsAppSetupFinalization::builder()
                .associate_in_progress_token(token)
                .phone_numbers(phone(&phones[0], "123456"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_limit_exceeded_exception(), "{err:?}");
    // Another Region of the same account has its own quota.
    let west = client_for(&emu, ACCOUNT, "eu-west-1");
    link_waba(&west, "one-too-many").await;
}

#[tokio::test]
async fn validation_of_nested_members_names_the_path() {
    let emu = emulator().await;
    let body = serde_json::json!({
        "setupFinalization": {
            "associateInProgressToken": "x",
            "phoneNumbers": [{ "id": "", "twoFactorPin": "1234567", "dataLocalizationRegion": "de" }]
        }
    });
    let res =
        http().post(format!("{}/v1/whatsapp/signup", emu.url())).json(&body).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(res.headers()["x-amzn-errortype"], "ValidationException");
    let body: serde_json::Value = res.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with("3 validation errors detected: "), "{message}");
    for path in [
        "setupFinalization.phoneNumbers.1.member.id",
        "setupFinalization.phoneNumbers.1.member.twoFactorPin",
        "setupFinalization.phoneNumbers.1.member.dataLocalizationRegion",
    ] {
        assert!(message.contains(&format!("at '{path}'")), "{path} in {message}");
    }
}
