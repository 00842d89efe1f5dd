//! Who may call: SigV4 verification (`--verify-sigv4` with a credentials file) through the real
//! SDK and raw HTTP, and the control API token (`--control-token`).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_socialmessaging::config::{BehaviorVersion, Region};
use aws_sdk_socialmessaging::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_socialmessaging::{Client, Config};
use aws_smithy_async::time::StaticTimeSource;
use aws_smithy_types::retry::RetryConfig;
use eum_social_emulator::{Seed, auth};
use sdk_tests::*;

/// A key of the seed's account, one of another account, one without an account.
const KEY_SEED: &str = "AKIAEMULATORSEED0001";
const KEY_OTHER: &str = "AKIAEMULATOROTHER002";
const KEY_DEFAULT: &str = "AKIAEMULATORDEFAULT3";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const OTHER_ACCOUNT: &str = "444455556666";
const TOKEN: &str = "control-token-for-tests";

async fn verifying_emulator() -> Emulator {
    let credentials = auth::Credentials::parse(&format!(
        r#"{{"{KEY_SEED}": {{"secretAccessKey": "{SECRET}", "accountId": "{ACCOUNT}"}},
            "{KEY_OTHER}": {{"secretAccessKey": "{SECRET}-2", "accountId": "{OTHER_ACCOUNT}"}},
            "{KEY_DEFAULT}": {{"secretAccessKey": "{SECRET}-3"}}}}"#
    ))
    .expect("credentials parse");
    let config = eum_social_emulator::Config {
        sigv4_credentials: Some(Arc::new(credentials)),
        ..Default::default()
    };
    Emulator::start_with(config, Seed::default_seed()).await.expect("emulator starts")
}

/// A client signing with `key`/`secret` in `region`, at `time` when given (else the real clock).
fn signing_client(
    emu: &Emulator,
    key: &str,
    secret: &str,
    region: &str,
    time: Option<SystemTime>,
) -> Client {
    let mut config = Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(emu.url())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(key, secret, None, None, "auth-tests"))
        .retry_config(RetryConfig::disabled());
    if let Some(time) = time {
        config = config.time_source(StaticTimeSource::new(time));
    }
    Client::from_conf(config.build())
}

/// The error code, HTTP status and message of a refused SDK call.
fn code_and_status<E>(err: SdkError<E>) -> (String, u16, String)
where
    E: ProvideErrorMetadata + std::fmt::Debug,
{
    let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    let service = err.as_service_error().unwrap_or_else(|| panic!("not a service error: {err:?}"));
    (service.code().unwrap_or("-").into(), status, service.message().unwrap_or("-").into())
}

#[tokio::test]
async fn the_right_secret_is_accepted_and_the_key_picks_the_account() {
    let emu = verifying_emulator().await;
    // The seed's account: its two WABAs, listed with a query parameter.
    let seed = signing_client(&emu, KEY_SEED, SECRET, REGION, None);
    let out = seed.list_linked_whats_app_business_accounts().max_results(10).send().await.unwrap();
    let arns: Vec<&str> = out.linked_accounts().iter().map(|a| a.arn()).collect();
    assert_eq!(arns.len(), 2, "{arns:?}");
    assert!(arns.iter().all(|a| a.contains(&format!(":{ACCOUNT}:"))), "{arns:?}");
    let got = seed.get_linked_whats_app_business_account().id(WABA_1).send().await.unwrap();
    assert_eq!(got.account().unwrap().arn(), waba_arn(ACCOUNT, REGION, WABA_1));
    // A query value the signer percent-encodes (`:` and `/` of an ARN).
    let by_arn = seed
        .get_linked_whats_app_business_account()
        .id(waba_arn(ACCOUNT, REGION, WABA_1))
        .send()
        .await
        .unwrap();
    assert_eq!(by_arn.account().unwrap().id(), WABA_1);
    // A request with a body.
    send(&seed, PHONE_1, hello_world_to("+14255550150")).await;

    // Another key's account: empty, and what it links carries its account in the ARN.
    let other = signing_client(&emu, KEY_OTHER, &format!("{SECRET}-2"), "eu-west-1", None);
    let out = other.list_linked_whats_app_business_accounts().send().await.unwrap();
    assert!(out.linked_accounts().is_empty());
    let linked = link_waba(&other, "token-of-the-other-account").await;
    let got = other.get_linked_whats_app_business_account().id(&linked).send().await.unwrap();
    assert_eq!(got.account().unwrap().arn(), waba_arn(OTHER_ACCOUNT, "eu-west-1", &linked));

    // A key without an account in the file uses the default account.
    let default = signing_client(&emu, KEY_DEFAULT, &format!("{SECRET}-3"), REGION, None);
    let out = default.list_linked_whats_app_business_accounts().send().await.unwrap();
    assert_eq!(out.linked_accounts().len(), 2);
}

#[tokio::test]
async fn a_wrong_secret_is_an_invalid_signature() {
    let emu = verifying_emulator().await;
    let client = signing_client(&emu, KEY_SEED, "not-the-secret", REGION, None);
    let err = client.list_linked_whats_app_business_accounts().send().await.unwrap_err();
    let (code, status, message) = code_and_status(err);
    assert_eq!((code.as_str(), status), ("InvalidSignatureException", 403));
    assert_eq!(
        message,
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details."
    );
    // With a body too.
    let err = client
        .send_whats_app_message()
        .origination_phone_number_id(PHONE_1)
        .meta_api_version("v20.0")
        .message(hello_world_to("+14255550150"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_and_status(err).0, "InvalidSignatureException");
    // Nothing was sent.
    let messages = Control::new(&emu).call("GET", "/messages", None).await;
    assert_eq!(messages["messages"].as_array().map(Vec::len), Some(0), "{messages}");
}

#[tokio::test]
async fn an_unknown_access_key_is_an_unrecognized_client() {
    let emu = verifying_emulator().await;
    // A 12-digit key would be an account without verification; here it is just unknown.
    let client = signing_client(&emu, ACCOUNT, SECRET, REGION, None);
    let err = client.get_linked_whats_app_business_account().id(WABA_1).send().await.unwrap_err();
    let (code, status, message) = code_and_status(err);
    assert_eq!((code.as_str(), status), ("UnrecognizedClientException", 403));
    assert_eq!(message, "The security token included in the request is invalid.");
}

#[tokio::test]
async fn a_signature_ten_minutes_old_has_expired() {
    let emu = verifying_emulator().await;
    let then = SystemTime::now() - Duration::from_secs(600);
    let client = signing_client(&emu, KEY_SEED, SECRET, REGION, Some(then));
    let err = client.list_linked_whats_app_business_accounts().send().await.unwrap_err();
    let (code, status, message) = code_and_status(err);
    assert_eq!((code.as_str(), status), ("InvalidSignatureException", 403));
    assert!(message.starts_with("Signature expired: "), "{message}");
    assert!(
        message.contains(" is now earlier than ") && message.ends_with(" - 5 min.)"),
        "{message}"
    );
    // Ten minutes ahead is not yet current.
    let later = SystemTime::now() + Duration::from_secs(600);
    let client = signing_client(&emu, KEY_SEED, SECRET, REGION, Some(later));
    let err = client.list_linked_whats_app_business_accounts().send().await.unwrap_err();
    let (code, _, message) = code_and_status(err);
    assert_eq!(code, "InvalidSignatureException");
    assert!(message.starts_with("Signature not yet current: "), "{message}");
}

async fn raw(emu: &Emulator, authorization: Option<&str>) -> (u16, String, serde_json::Value) {
    let mut request = http().get(format!("{}/v1/whatsapp/waba/list", emu.url()));
    if let Some(auth) = authorization {
        request = request.header("authorization", auth).header("x-amz-date", "20261127T052500Z");
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    let kind = res.headers()["x-amzn-errortype"].to_str().unwrap().to_string();
    (status, kind, res.json().await.unwrap())
}

#[tokio::test]
async fn missing_and_malformed_authorization_over_raw_http() {
    let emu = verifying_emulator().await;
    let (status, kind, body) = raw(&emu, None).await;
    assert_eq!((status, kind.as_str()), (403, "MissingAuthenticationTokenException"));
    assert_eq!(body, serde_json::json!({ "message": "Missing Authentication Token" }));

    let (status, kind, body) = raw(&emu, Some("Bearer abc")).await;
    assert_eq!((status, kind.as_str()), (403, "IncompleteSignatureException"));
    assert_eq!(
        body["message"],
        "Authorization header requires 'Credential' parameter. Authorization header requires \
         'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. \
         Authorization=Bearer abc"
    );

    let no_equals = "AWS4-HMAC-SHA256 Credential=AKID /20261127/us-east-1/social-messaging/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";
    let (status, kind, body) = raw(&emu, Some(no_equals)).await;
    assert_eq!((status, kind.as_str()), (403, "IncompleteSignatureException"));
    assert!(body["message"].as_str().unwrap().contains("not a valid key=value pair"), "{body}");

    let short_scope = "AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1, SignedHeaders=host;x-amz-date, Signature=00";
    let (status, kind, _) = raw(&emu, Some(short_scope)).await;
    assert_eq!((status, kind.as_str()), (403, "IncompleteSignatureException"));

    // Well-formed but from a key nobody knows.
    let unknown = format!(
        "AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN/20261127/us-east-1/social-messaging/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
        "0".repeat(64)
    );
    let (status, kind, _) = raw(&emu, Some(&unknown)).await;
    assert_eq!((status, kind.as_str()), (403, "UnrecognizedClientException"));
}

#[tokio::test]
async fn a_presigned_query_is_verified() {
    use aws_sigv4::http_request::{
        SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
    };
    let emu = verifying_emulator().await;
    let presign = |id: &str, secret: &str| {
        let identity = Credentials::new(KEY_SEED, secret, None, None, "auth-tests").into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(300));
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name("social-messaging")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let url = format!("{}/v1/whatsapp/waba/details?id={id}", emu.url());
        let host = emu.addr.to_string();
        let request = SignableRequest::new(
            "GET",
            url.clone(),
            [("host", host.as_str())].into_iter(),
            SignableBody::Bytes(b""),
        )
        .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let mut url = reqwest::Url::parse(&url).unwrap();
        for (k, v) in instructions.params() {
            url.query_pairs_mut().append_pair(k, v);
        }
        url
    };
    let res = http().get(presign(WABA_1, SECRET)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["account"]["id"], WABA_1);

    let res = http().get(presign(WABA_1, "wrong")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["x-amzn-errortype"], "InvalidSignatureException");
}

#[tokio::test]
async fn without_the_flag_signatures_are_not_checked() {
    let emu = emulator().await;
    let client = signing_client(&emu, ACCOUNT, "any secret", REGION, None);
    assert!(client.list_linked_whats_app_business_accounts().send().await.is_ok());
    let res = http().get(format!("{}/v1/whatsapp/waba/list", emu.url())).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

async fn token_emulator() -> Emulator {
    let config = eum_social_emulator::Config {
        control_token: Some(TOKEN.to_string()),
        ..Default::default()
    };
    Emulator::start_with(config, Seed::default_seed()).await.expect("emulator starts")
}

#[tokio::test]
async fn the_control_api_requires_the_token() {
    let emu = token_emulator().await;
    let url = format!("{}/_emulator/clock", emu.url());

    let res = http().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("needs a token"), "{body}");

    let res = http().get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["message"], "The control API token is not valid");

    let res = http().get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = http().get(&url).header("x-emulator-token", TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 200);

    // A state-changing request without it does nothing.
    let res = http().post(format!("{}/_emulator/reset", emu.url())).send().await.unwrap();
    assert_eq!(res.status(), 401);

    // The helper sends it.
    let control = Control::with_token(&emu, TOKEN);
    control.advance_seconds(1.0).await;
    assert_eq!(Control::new(&emu).try_call("GET", "/events", None).await.0, 401);

    // The AWS API is not affected.
    assert!(client(&emu).list_linked_whats_app_business_accounts().send().await.is_ok());
}

#[tokio::test]
async fn health_and_sns_subscriber_links_stay_open() {
    let emu = token_emulator().await;
    let get = |path: &str| http().get(format!("{}/_emulator{path}", emu.url())).send();
    assert_eq!(get("/health").await.unwrap().status(), 200);
    // What SNS subscribers fetch: answered on their merits (unknown token, ARN, file), not 401.
    assert_eq!(get("/sns/confirm?token=unknown").await.unwrap().status(), 404);
    assert_eq!(
        get("/sns/unsubscribe?SubscriptionArn=arn:aws:sns:us-east-1:809904170947:t:x")
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(get("/sns/SimpleNotificationService-unknown.pem").await.unwrap().status(), 404);
    // Listing subscriptions is not open.
    assert_eq!(get("/sns/subscriptions").await.unwrap().status(), 401);
}
