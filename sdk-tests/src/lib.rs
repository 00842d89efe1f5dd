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
