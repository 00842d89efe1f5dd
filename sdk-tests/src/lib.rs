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

/// Starts an emulator with the default seed and the API rate limits off, for tests that fire
/// more calls of one operation than its real burst allows (AWS would throttle them too).
pub async fn emulator_without_quotas() -> Emulator {
    let config = eum_social_emulator::Config {
        quotas: eum_social_emulator::limits::quotas::QuotaSettings::off(),
        ..Default::default()
    };
    Emulator::start_with(config, eum_social_emulator::Seed::default_seed())
        .await
        .expect("emulator starts")
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

/// The control API of an emulator (`/_emulator/...`), for tests.
pub struct Control {
    base: String,
    http: reqwest::Client,
    /// Sent as `Authorization: Bearer …` (an emulator started with `control_token`).
    token: Option<String>,
}

impl Control {
    pub fn new(emulator: &Emulator) -> Control {
        Control { base: format!("{}/_emulator", emulator.url()), http: http(), token: None }
    }

    /// The control API of an emulator that requires `token`.
    pub fn with_token(emulator: &Emulator, token: &str) -> Control {
        Control { token: Some(token.to_string()), ..Control::new(emulator) }
    }

    /// A JSON request; panics unless the answer is 2xx.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let (status, value) = self.try_call(method, path, body).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {value}");
        value
    }

    /// A JSON request; returns the status and the JSON answer.
    pub async fn try_call(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request =
            self.http.request(method.parse().expect("method"), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let res = request.send().await.expect("control API answers");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// A customer sends a text to a business number; returns the inbound wamid.
    pub async fn customer_says(&self, phone_number_id: &str, from: &str, text: &str) -> String {
        let out = self
            .call(
                "POST",
                "/inbound",
                Some(serde_json::json!({
                    "phoneNumberId": phone_number_id,
                    "from": from,
                    "profileName": "Diego",
                    "text": text,
                })),
            )
            .await;
        out["wamid"].as_str().expect("wamid").to_string()
    }

    pub async fn advance_seconds(&self, seconds: f64) {
        self.call("POST", "/clock/advance", Some(serde_json::json!({ "seconds": seconds }))).await;
    }

    pub async fn freeze(&self, frozen: bool) {
        self.call("POST", "/clock", Some(serde_json::json!({ "frozen": frozen }))).await;
    }

    /// Events matching `query` (e.g. `kind=status&messageId=…`), waiting until `count` exist
    /// (up to 10 s).
    pub async fn wait_events(&self, query: &str, count: usize) -> Vec<serde_json::Value> {
        let out =
            self.call("GET", &format!("/events?{query}&count={count}&waitMs=10000"), None).await;
        let events = out["events"].as_array().cloned().unwrap_or_default();
        assert!(events.len() >= count, "wanted {count} events for {query}, got {events:?}");
        events
    }

    /// Waits (up to 10 s) until every timer that is due has run, so that what the events show
    /// is final for the current virtual time.
    pub async fn settle(&self) {
        for _ in 0..1000 {
            let clock = self.call("GET", "/clock", None).await;
            let now = clock["nowMs"].as_i64().unwrap_or(0);
            let next = clock["nextDueMs"].as_i64();
            if next.is_none_or(|due| due > now) && clock["runningTimers"] == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("timers did not settle");
    }

    /// Events matching `query` now, without waiting.
    pub async fn events(&self, query: &str) -> Vec<serde_json::Value> {
        let out = self.call("GET", &format!("/events?{query}"), None).await;
        out["events"].as_array().cloned().unwrap_or_default()
    }
}

/// Creates a template in `WABA_1` with the SDK and approves it through the control API at
/// once; returns its Meta template id.
pub async fn approved_template(
    client: &Client,
    control: &Control,
    definition: &serde_json::Value,
) -> String {
    let created = client
        .create_whats_app_message_template()
        .id(WABA_1)
        .template_definition(message_blob(definition.clone()))
        .send()
        .await
        .expect("template created");
    let id = created.meta_template_id().expect("metaTemplateId").to_string();
    let decision = Some(serde_json::json!({ "decision": "APPROVE" }));
    control.call("POST", &format!("/templates/{id}/review"), decision).await;
    id
}

/// A Meta message object as the `message` blob of SendWhatsAppMessage.
pub fn message_blob(message: serde_json::Value) -> aws_smithy_types::Blob {
    aws_smithy_types::Blob::new(message.to_string().into_bytes())
}

/// A text message to `to`.
pub fn text_to(to: &str, body: &str) -> aws_smithy_types::Blob {
    message_blob(serde_json::json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": { "body": body },
    }))
}

/// Meta's sample template `hello_world` to `to`.
pub fn hello_world_to(to: &str) -> aws_smithy_types::Blob {
    message_blob(serde_json::json!({
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": { "name": "hello_world", "language": { "code": "en_US" } },
    }))
}

/// Sends `message` from `phone` with the SDK; returns the messageId.
pub async fn send(client: &Client, phone: &str, message: aws_smithy_types::Blob) -> String {
    client
        .send_whats_app_message()
        .origination_phone_number_id(phone)
        .meta_api_version("v20.0")
        .message(message)
        .send()
        .await
        .expect("SendWhatsAppMessage accepted")
        .message_id()
        .expect("messageId")
        .to_string()
}

/// The decoded `whatsAppWebhookEntry` of an event from the control API.
pub fn entry(event: &serde_json::Value) -> serde_json::Value {
    let text = event["envelope"]["whatsAppWebhookEntry"].as_str().expect("entry string");
    serde_json::from_str(text).expect("entry is JSON")
}

/// Validates `value` against a schema in `fixtures/schemas/` and panics with every error.
pub fn assert_schema(schema_file: &str, value: &serde_json::Value) {
    let path = format!("{}/../fixtures/schemas/{schema_file}", env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema file"))
            .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{schema_file}: {errors:#?}\n{value:#}");
}

/// Sends `message` from `phone` expecting a refusal; returns the typed error.
pub async fn send_refused(
    client: &Client,
    phone: &str,
    message: aws_smithy_types::Blob,
) -> aws_sdk_socialmessaging::operation::send_whats_app_message::SendWhatsAppMessageError {
    client
        .send_whats_app_message()
        .origination_phone_number_id(phone)
        .meta_api_version("v20.0")
        .message(message)
        .send()
        .await
        .expect_err("SendWhatsAppMessage refused")
        .into_service_error()
}

/// A conformance context (client, endpoint, recorder) for the default seed's account and Region,
/// with the SDK's standard retry policy and 6 attempts (`AWS_MAX_ATTEMPTS=6` for the binary): the
/// scenarios run back to back under AWS's request quotas (GetLinkedWhatsAppBusinessAccount: 10
/// per second), and 3 attempts with jittered backoff can all land inside one throttled second.
pub fn conformance_ctx(emulator: &Emulator) -> eum_social_conformance::Ctx {
    let config = Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(emulator.url())
        .region(Region::new(REGION))
        .retry_config(RetryConfig::standard().with_max_attempts(6))
        .credentials_provider(Credentials::new(ACCOUNT, "secret", None, None, "conformance"));
    eum_social_conformance::Ctx::new(config, emulator.url())
}

/// Runs every conformance scenario against `emulator`, in-process; the report keeps each
/// scenario's request/response pairs.
pub async fn run_conformance(emulator: &Emulator) -> eum_social_conformance::runner::Report {
    use eum_social_conformance::runner::{Selection, plan, run};
    let ctx = conformance_ctx(emulator);
    let selection = Selection { local: true, ..Selection::default() };
    run(&ctx, plan(eum_social_conformance::scenarios(), &selection), |_| {}).await
}
