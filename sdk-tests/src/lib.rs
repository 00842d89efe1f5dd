//! Helpers for driving the real `aws-sdk-socialmessaging` client against an emulator started
//! in-process on a free 127.0.0.1 port.

use aws_credential_types::Credentials;
use aws_sdk_socialmessaging::config::{BehaviorVersion, Region};
use aws_sdk_socialmessaging::{Client, Config};
use aws_smithy_types::retry::RetryConfig;
pub use eum_social_emulator::Emulator;

/// The default seed's account and region.
pub const ACCOUNT: &str = "809904170947";
pub const REGION: &str = "us-east-1";
pub const WABA_1: &str = "waba-0aae9cf04cf24c66960f291c793359b4";
pub const WABA_2: &str = "waba-9bbe054d8404487397c38a9d197bc44a";
pub const PHONE_1: &str = "phone-number-id-baa217c3f11b4ffd956f6f3afb44ce54";
pub const PHONE_2: &str = "phone-number-id-1447bc72d1b040f4bf2341c9e04b2e06";

/// Starts an emulator with the default seed.
pub async fn emulator() -> Emulator {
    Emulator::start().await.expect("emulator starts")
}

/// A client for `account` in `region`: the access key id *is* the account (12 digits), retries
/// disabled so that each call is exactly one request.
pub fn client_for(emulator: &Emulator, account: &str, region: &str) -> Client {
    let config = Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(emulator.url())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(account, "secret", None, None, "sdk-tests"))
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

/// A client for the default seed's account and region.
pub fn client(emulator: &Emulator) -> Client {
    client_for(emulator, ACCOUNT, REGION)
}

/// `arn:aws:social-messaging:<region>:<account>:waba/<hex>` for a `waba-<hex>` id.
pub fn waba_arn(account: &str, region: &str, id: &str) -> String {
    let hex = id.strip_prefix("waba-").expect("a waba- id");
    format!("arn:aws:social-messaging:{region}:{account}:waba/{hex}")
}

/// `arn:…:phone-number-id/<hex>` for a `phone-number-id-<hex>` id.
pub fn phone_arn(account: &str, region: &str, id: &str) -> String {
    let hex = id.strip_prefix("phone-number-id-").expect("a phone-number-id- id");
    format!("arn:aws:social-messaging:{region}:{account}:phone-number-id/{hex}")
}

/// Links a new WABA through the embedded-signup flow (AssociateWhatsAppBusinessAccount, both
/// phases) for `access_token`; returns its `waba-…` id.
pub async fn link_waba(client: &Client, access_token: &str) -> String {
    use aws_sdk_socialmessaging::types::{
        WabaPhoneNumberSetupFinalization, WabaSetupFinalization, WhatsAppSetupFinalization,
        WhatsAppSignupCallback,
    };
    let started = client
        .associate_whats_app_business_account()
        .signup_callback(
            WhatsAppSignupCallback::builder().access_token(access_token).build().unwrap(),
        )
        .send()
        .await
        .expect("signup callback");
    let result = started.signup_callback_result().expect("signupCallbackResult");
    let token = result.associate_in_progress_token().expect("token").to_string();
    let pending = result
        .linked_accounts_with_incomplete_setup()
        .expect("linkedAccountsWithIncompleteSetup")
        .values()
        .next()
        .expect("one WABA");
    let numbers = pending
        .unregistered_whats_app_phone_numbers()
        .iter()
        .map(|n| {
            WabaPhoneNumberSetupFinalization::builder()
                .id(n.phone_number_id())
                .two_factor_pin("123456")
                .build()
                .unwrap()
        })
        .collect::<Vec<_>>();
    let finished = client
        .associate_whats_app_business_account()
        .setup_finalization(
            WhatsAppSetupFinalization::builder()
                .associate_in_progress_token(token)
                .set_phone_numbers(Some(numbers))
                .waba(WabaSetupFinalization::builder().id(pending.waba_id().unwrap()).build())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("setup finalization");
    finished.linked_whats_app_business_account_id().expect("linked id").to_string()
}

/// A raw HTTP client for wire-level checks (no SigV4: requests land in the default account).
pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}
