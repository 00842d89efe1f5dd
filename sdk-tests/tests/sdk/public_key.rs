//! Business public keys through the real SDK: a PEM RSA key (SPKI or PKCS#1) is parsed and
//! stored per phone number, a KMS key is referenced, bad keys are refused, and Meta's signature
//! status can be set to MISMATCH through the control API.

use aws_sdk_socialmessaging::error::ProvideErrorMetadata;
use rstest::rstest;
use sdk_tests::*;
use serde_json::{Value, json};

const KEY_2048: &str = include_str!("../../../fixtures/keys/rsa-2048-public.pem");
const KEY_2048_PKCS1: &str = include_str!("../../../fixtures/keys/rsa-2048-public-pkcs1.pem");
const KEY_1024: &str = include_str!("../../../fixtures/keys/rsa-1024-public.pem");
const KEY_EC: &str = include_str!("../../../fixtures/keys/ec-p256-public.pem");
const KMS_KEY: &str = "arn:aws:kms:us-east-1:809904170947:key/1234abcd-12ab-34cd-56ef-1234567890ab";

async fn set_signature_status(emu: &Emulator, phone: &str, status: &str) -> (u16, Value) {
    let res = http()
        .post(format!("{}/_emulator/business-public-keys/signature-status", emu.url()))
        .json(&json!({ "phoneNumberId": phone, "status": status }))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn get_before_any_put_is_not_found() {
    let emu = emulator().await;
    let err = client(&emu)
        .get_whats_app_business_public_key()
        .origination_phone_number_id(PHONE_1)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("PutWhatsAppBusinessPublicKey"));
}

#[rstest]
#[case::spki(KEY_2048)]
#[case::pkcs1(KEY_2048_PKCS1)]
#[tokio::test]
async fn a_pem_rsa_key_is_stored_and_returned(#[case] pem: &str) {
    let emu = emulator().await;
    let client = client(&emu);
    client
        .put_whats_app_business_public_key()
        .origination_phone_number_id(phone_arn(ACCOUNT, REGION, PHONE_1))
        .business_public_key(pem)
        .send()
        .await
        .unwrap();
    let got = client
        .get_whats_app_business_public_key()
        .origination_phone_number_id(PHONE_1)
        .send()
        .await
        .unwrap();
    assert_eq!(got.business_public_key(), Some(pem));
    assert_eq!(got.business_public_key_signature_status(), Some("VALID"));
    // The key belongs to that number only.
    let err = client
        .get_whats_app_business_public_key()
        .origination_phone_number_id(PHONE_2)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
}

#[tokio::test]
async fn the_get_wire_body_matches_the_snapshot() {
    let emu = emulator().await;
    client(&emu)
        .put_whats_app_business_public_key()
        .origination_phone_number_id(PHONE_1)
        .business_public_key(KEY_2048)
        .send()
        .await
        .unwrap();
    let body: Value = http()
        .get(format!(
            "{}/v1/whatsapp/business-public-key?originationPhoneNumberId={PHONE_1}",
            emu.url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    insta::assert_json_snapshot!("get_business_public_key", body);
}

#[tokio::test]
async fn a_kms_key_is_referenced() {
    let emu = emulator().await;
    let client = client(&emu);
    client
        .put_whats_app_business_public_key()
        .origination_phone_number_id(PHONE_2)
        .kms_key_arn(KMS_KEY)
        .send()
        .await
        .unwrap();
    let got = client
        .get_whats_app_business_public_key()
        .origination_phone_number_id(PHONE_2)
        .send()
        .await
        .unwrap();
    assert_eq!(got.business_public_key(), None, "the key material stays in KMS");
    assert_eq!(got.business_public_key_signature_status(), Some("VALID"));
}

#[rstest]
#[case::too_short(KEY_1024, "1024-bit RSA key; Meta requires at least 2048 bits")]
#[case::not_rsa(KEY_EC, "not a valid RSA public key")]
#[case::not_pem("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ", "must be a PEM-encoded RSA public key")]
#[case::private_key(
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
    "is a private key"
)]
#[case::certificate(
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n",
    "PEM CERTIFICATE, not an RSA public key"
)]
#[case::corrupted(
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n",
    "not a valid RSA public key"
)]
#[tokio::test]
async fn bad_keys_are_invalid_parameters(#[case] pem: &str, #[case] reason: &str) {
    let emu = emulator().await;
    let client = client(&emu);
    let err = client
        .put_whats_app_business_public_key()
        .origination_phone_number_id(PHONE_1)
        .business_public_key(pem)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    let message = err.message().unwrap();
    assert!(message.starts_with("(#100) Invalid parameter: "), "{message}");
    assert!(message.contains(reason), "{message}");
    // Nothing was stored.
    let err = client
        .get_whats_app_business_public_key()
        .origination_phone_number_id(PHONE_1)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception());
}

#[rstest]
#[case::both(Some(KEY_2048), Some(KMS_KEY))]
#[case::neither(None, None)]
#[tokio::test]
async fn exactly_one_key_source(#[case] pem: Option<&str>, #[case] kms: Option<&str>) {
    let emu = emulator().await;
    let err = client(&emu)
        .put_whats_app_business_public_key()
        .origination_phone_number_id(PHONE_1)
        .set_business_public_key(pem.map(str::to_string))
        .set_kms_key_arn(kms.map(str::to_string))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameters_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("exactly one of businessPublicKey"));
}

#[tokio::test]
async fn model_constraints_are_validation_errors() {
    let emu = emulator().await;
    let err = client(&emu)
        .put_whats_app_business_public_key()
        .origination_phone_number_id(PHONE_1)
        .kms_key_arn("arn:aws:s3:::not-a-key")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(err.message().unwrap().contains("'kmsKeyArn'"));
}

#[rstest]
#[case::put(true)]
#[case::get(false)]
#[tokio::test]
async fn an_unknown_phone_number_is_not_found(#[case] put: bool) {
    let emu = emulator().await;
    let client = client(&emu);
    let unknown = "phone-number-id-00000000000000000000000000000000";
    let not_found = if put {
        client
            .put_whats_app_business_public_key()
            .origination_phone_number_id(unknown)
            .business_public_key(KEY_2048)
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .is_resource_not_found_exception()
    } else {
        client
            .get_whats_app_business_public_key()
            .origination_phone_number_id(unknown)
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .is_resource_not_found_exception()
    };
    assert!(not_found);
}

#[tokio::test]
async fn the_control_api_sets_a_signature_mismatch_and_a_new_upload_clears_it() {
    let emu = emulator().await;
    let client = client(&emu);
    let (status, body) = set_signature_status(&emu, PHONE_1, "MISMATCH").await;
    assert_eq!(status, 404, "{body}");
    client
        .put_whats_app_business_public_key()
        .origination_phone_number_id(PHONE_1)
        .business_public_key(KEY_2048)
        .send()
        .await
        .unwrap();
    let (status, body) = set_signature_status(&emu, PHONE_1, "MISMATCH").await;
    assert_eq!(status, 200, "{body}");
    let status_now = || async {
        client
            .get_whats_app_business_public_key()
            .origination_phone_number_id(PHONE_1)
            .send()
            .await
            .unwrap()
            .business_public_key_signature_status()
            .map(str::to_string)
    };
    assert_eq!(status_now().await.as_deref(), Some("MISMATCH"));
    client
        .put_whats_app_business_public_key()
        .origination_phone_number_id(PHONE_1)
        .business_public_key(KEY_2048_PKCS1)
        .send()
        .await
        .unwrap();
    assert_eq!(status_now().await.as_deref(), Some("VALID"));
    let (status, _) = set_signature_status(&emu, PHONE_1, "BROKEN").await;
    assert_eq!(status, 400);
}
