//! SNS HTTP(S) subscribers of event destination topics, in SNS's own wire format.
//!
//! A subscription first gets a `SubscriptionConfirmation` and receives nothing until its
//! `SubscribeURL` is fetched (served by the control API). Each event routed to its topic is then
//! POSTed as a `Notification` with the `x-amz-sns-*` headers, signed (SignatureVersion 1:
//! SHA1withRSA, 2: SHA256withRSA) over SNS's canonical string with a key whose self-signed
//! certificate the emulator serves at `SigningCertURL`; or, with raw delivery, as the bare
//! envelope. A failed attempt is retried per SNS's default HTTP policy — 3 retries, 20 s apart —
//! on the virtual clock; an event that still cannot be delivered stays listed as `failed` and can
//! be redriven. The SNS `MessageId` is the same on every attempt.
//!
//! With an SNS endpoint configured (`--sns-endpoint`, e.g. LocalStack), each event is also
//! published to its destination topic there through `aws-sdk-sns`, with the same retries.

use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer as _};
use serde::Serialize;
use serde_json::{Value, json};

use super::{Bus, Event};
use crate::scheduler::Job;

/// SNS's default HTTP/S delivery policy: the first attempt plus 3 retries, 20 s apart.
pub const MAX_ATTEMPTS: u32 = 4;
pub const RETRY_DELAY_MS: i64 = 20_000;

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_arn: String,
    pub topic_arn: String,
    pub endpoint: String,
    pub raw_message_delivery: bool,
    /// "1" (SHA1withRSA, SNS's default) or "2" (SHA256withRSA).
    pub signature_version: String,
    /// `PendingConfirmation` or `Confirmed`.
    pub status: String,
    #[serde(skip)]
    pub token: String,
}

/// Where a delivery goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Target {
    /// POST to an HTTP(S) subscriber (`subscriptionArn`).
    Subscriber,
    /// `Publish` to the topic on the configured SNS endpoint.
    SnsPublish,
    /// `PutEvents` to the default bus of the configured EventBridge endpoint.
    EventBridge,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: u64,
    pub event_seq: u64,
    pub target: Target,
    /// The subscriber's ARN, or the SNS endpoint for `snsPublish`.
    pub subscription_arn: String,
    /// SNS `MessageId`, the same on every attempt.
    pub sns_message_id: String,
    /// `pending`, `delivered` or `failed` (all attempts used; kept until redriven).
    pub state: String,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_ms: Option<i64>,
    #[serde(skip)]
    message: String,
    #[serde(skip)]
    topic_arn: String,
    #[serde(skip)]
    timestamp: String,
}

/// SNS subscriptions and deliveries as exported.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnsState {
    pub next_id: u64,
    pub subscriptions: Vec<SubscriptionRecord>,
    pub deliveries: Vec<DeliveryRecord>,
}

impl SnsState {
    pub fn check(&self) -> Result<(), String> {
        for (i, d) in self.deliveries.iter().enumerate() {
            if d.delivery.id == 0 || d.delivery.id > self.next_id {
                return Err(format!(
                    "sns.deliveries[{i}].id: {} must be between 1 and nextId {}",
                    d.delivery.id, self.next_id
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionRecord {
    #[serde(flatten)]
    pub subscription: Subscription,
    /// The confirmation token (never listed by the control API).
    pub token: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    #[serde(flatten)]
    pub delivery: Delivery,
    pub message: String,
    pub topic_arn: String,
    pub timestamp: String,
}

#[derive(Debug, Default)]
struct Inner {
    subscriptions: Vec<Subscription>,
    deliveries: VecDeque<Delivery>,
    next_id: u64,
}

/// Subscriptions, deliveries and the signing key.
pub struct Sns {
    inner: Mutex<Inner>,
    /// Made on first use (an RSA key takes a while); a failure is kept and reported by every
    /// delivery that needs it, never a panic in a delivery task.
    signer: OnceLock<Result<SigningIdentity, String>>,
    /// Built on first use: building one loads the platform's root certificates, which is not
    /// worth a slower start.
    http: OnceLock<reqwest::Client>,
    capacity: usize,
    /// Shared AWS configuration for `--sns-endpoint`, loaded on first use.
    publisher: tokio::sync::OnceCell<aws_config::SdkConfig>,
    eventbridge: tokio::sync::OnceCell<aws_config::SdkConfig>,
    /// Deterministic mode: the signing key from `fixtures/keys/` instead of a fresh one.
    fixed_identity: bool,
}

impl std::fmt::Debug for Sns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sns").finish_non_exhaustive()
    }
}

struct SigningIdentity {
    key: rsa::PrivateKey,
    cert_pem: String,
    /// File name under which the certificate is served.
    cert_name: String,
}

/// A subscription request (control API or `--sns-subscribe`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeRequest {
    pub topic_arn: String,
    pub endpoint: String,
    #[serde(default)]
    pub raw_message_delivery: bool,
    #[serde(default)]
    pub signature_version: Option<String>,
}

impl Sns {
    pub fn new(capacity: usize, fixed_identity: bool) -> Self {
        Sns {
            inner: Mutex::default(),
            signer: OnceLock::new(),
            http: OnceLock::new(),
            capacity: capacity.max(1),
            publisher: tokio::sync::OnceCell::new(),
            eventbridge: tokio::sync::OnceCell::new(),
            fixed_identity,
        }
    }

    /// The HTTP client of deliveries (SNS's user agent, a 15 s timeout).
    fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| {
            reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(15))
                .user_agent("Amazon Simple Notification Service Agent")
                .build()
                .unwrap_or_default()
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn identity(&self) -> Result<&SigningIdentity, String> {
        self.signer
            .get_or_init(|| SigningIdentity::generate(self.fixed_identity))
            .as_ref()
            .map_err(|e| format!("the SNS signing identity could not be made: {e}"))
    }

    /// The PEM certificate served at `SigningCertURL`, if `name` is its file name.
    pub fn certificate(&self, name: &str) -> Option<String> {
        let id = self.identity().ok()?;
        (id.cert_name == name).then(|| id.cert_pem.clone())
    }

    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.lock().subscriptions.clone()
    }

    pub fn deliveries(&self, state: Option<&str>) -> Vec<Delivery> {
        self.lock()
            .deliveries
            .iter()
            .filter(|d| state.is_none_or(|s| d.state == s))
            .cloned()
            .collect()
    }

    pub fn unsubscribe(&self, arn: &str) -> bool {
        let mut inner = self.lock();
        let before = inner.subscriptions.len();
        inner.subscriptions.retain(|s| s.subscription_arn != arn);
        inner.subscriptions.len() != before
    }

    /// Confirms the subscription holding `token`; returns its ARN.
    pub fn confirm(&self, token: &str) -> Option<String> {
        let mut inner = self.lock();
        let sub = inner.subscriptions.iter_mut().find(|s| s.token == token)?;
        sub.status = "Confirmed".into();
        Some(sub.subscription_arn.clone())
    }

    /// Forgets deliveries (subscriptions stay: they are configuration, not state).
    /// Subscriptions and deliveries as exported.
    pub fn snapshot(&self) -> SnsState {
        let inner = self.lock();
        SnsState {
            next_id: inner.next_id,
            subscriptions: inner
                .subscriptions
                .iter()
                .map(|s| SubscriptionRecord { token: s.token.clone(), subscription: s.clone() })
                .collect(),
            deliveries: inner
                .deliveries
                .iter()
                .map(|d| DeliveryRecord {
                    message: d.message.clone(),
                    topic_arn: d.topic_arn.clone(),
                    timestamp: d.timestamp.clone(),
                    delivery: d.clone(),
                })
                .collect(),
        }
    }

    /// Replaces subscriptions and deliveries (import); returns the pending deliveries with
    /// their next attempt, to schedule again.
    pub fn restore(&self, state: SnsState) -> Vec<(u64, i64)> {
        let mut inner = self.lock();
        inner.next_id = state.next_id;
        inner.subscriptions = state
            .subscriptions
            .into_iter()
            .map(|r| Subscription { token: r.token, ..r.subscription })
            .collect();
        inner.deliveries = state
            .deliveries
            .into_iter()
            .map(|r| Delivery {
                message: r.message,
                topic_arn: r.topic_arn,
                timestamp: r.timestamp,
                ..r.delivery
            })
            .collect();
        inner
            .deliveries
            .iter()
            .filter(|d| d.state == "pending")
            .map(|d| (d.id, d.next_attempt_ms.unwrap_or(0)))
            .collect()
    }

    pub fn clear_deliveries(&self) {
        self.lock().deliveries.clear();
    }
}

impl SigningIdentity {
    /// A fresh key, or with `fixed` the committed test key and a fixed certificate (PKCS#1 v1.5
    /// signatures are deterministic, so deterministic runs sign alike).
    fn generate(fixed: bool) -> Result<SigningIdentity, String> {
        const FIXED_KEY: &str =
            include_str!("../../../fixtures/keys/sns-signing-deterministic.pem");
        let cert_key = if fixed {
            rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(FIXED_KEY, &rcgen::PKCS_RSA_SHA256)
        } else {
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        }
        .map_err(|e| format!("RSA key generation: {e}"))?;
        let key = rsa::PrivateKey::from_pkcs8_der(&cert_key.serialize_der())
            .map_err(|e| format!("RSA key import: {e}"))?;
        let mut params = rcgen::CertificateParams::new(vec!["sns.emulator.local".to_string()])
            .map_err(|e| e.to_string())?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "sns.amazonaws.com (eum-social emulator)");
        let cert_id = if fixed {
            params.serial_number = Some(rcgen::SerialNumber::from(1u64));
            "deterministic".to_string()
        } else {
            uuid::Uuid::new_v4().simple().to_string()
        };
        let cert = params.self_signed(&cert_key).map_err(|e| e.to_string())?;
        Ok(SigningIdentity {
            key,
            cert_pem: cert.pem(),
            cert_name: format!("SimpleNotificationService-{cert_id}.pem"),
        })
    }

    fn sign(&self, version: &str, text: &str) -> String {
        let bytes = if version == "2" {
            rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(self.key.clone())
                .sign(text.as_bytes())
                .to_vec()
        } else {
            rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(self.key.clone())
                .sign(text.as_bytes())
                .to_vec()
        };
        STANDARD.encode(bytes)
    }
}

/// A query value as SNS writes ARNs in its URLs (`:` as `%3A`).
fn query_value(v: &str) -> String {
    v.replace(':', "%3A")
}

/// SNS's canonical string: `Key\nValue\n` for each present key, in byte order.
pub fn string_to_sign(fields: &[(&str, &str)]) -> String {
    let mut sorted: Vec<_> = fields.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    sorted.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect()
}

fn base_url(bus: &Bus) -> String {
    bus.settings.public_url.clone().unwrap_or_else(|| "http://127.0.0.1:4590".to_string())
}

fn cert_url(bus: &Bus, id: &SigningIdentity) -> String {
    format!("{}/_emulator/sns/{}", base_url(bus), id.cert_name)
}

/// Registers a subscription and sends its `SubscriptionConfirmation`. As in SNS, a subscription
/// whose confirmation could not be delivered stays pending; the second value says why.
pub async fn subscribe(
    bus: &Bus,
    req: SubscribeRequest,
) -> Result<(Subscription, Option<String>), String> {
    let version = req.signature_version.clone().unwrap_or_else(|| "1".to_string());
    if version != "1" && version != "2" {
        return Err(format!("signatureVersion must be \"1\" or \"2\", not {version:?}"));
    }
    if !req.topic_arn.starts_with("arn:aws") || req.topic_arn.split(':').nth(2) != Some("sns") {
        return Err(format!("topicArn {:?} is not an SNS topic ARN", req.topic_arn));
    }
    let url = reqwest::Url::parse(&req.endpoint)
        .map_err(|e| format!("endpoint {:?} is not a URL: {e}", req.endpoint))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("endpoint {:?} must be http or https", req.endpoint));
    }
    let sub = Subscription {
        subscription_arn: format!("{}:{}", req.topic_arn, bus.ids.uuid()),
        topic_arn: req.topic_arn,
        endpoint: req.endpoint,
        raw_message_delivery: req.raw_message_delivery,
        signature_version: version,
        status: "PendingConfirmation".into(),
        token: format!("{}{}", bus.ids.uuid().simple(), bus.ids.uuid().simple()),
    };
    bus.sns.lock().subscriptions.push(sub.clone());
    let problem = send_confirmation(bus, &sub).await.err();
    Ok((sub, problem))
}

/// POSTs a `SubscriptionConfirmation` (also used to resend one).
pub async fn send_confirmation(bus: &Bus, sub: &Subscription) -> Result<(), String> {
    let message_id = bus.ids.uuid().to_string();
    let timestamp = super::rfc3339_millis(bus.clock.now_ms());
    let subscribe_url = format!(
        "{}/_emulator/sns/?Action=ConfirmSubscription&TopicArn={}&Token={}",
        base_url(bus),
        query_value(&sub.topic_arn),
        sub.token
    );
    let message = format!(
        "You have chosen to subscribe to the topic {}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
        sub.topic_arn
    );
    let identity = bus.sns.identity()?;
    let signature = identity.sign(
        &sub.signature_version,
        &string_to_sign(&[
            ("Message", &message),
            ("MessageId", &message_id),
            ("SubscribeURL", &subscribe_url),
            ("Timestamp", &timestamp),
            ("Token", &sub.token),
            ("TopicArn", &sub.topic_arn),
            ("Type", "SubscriptionConfirmation"),
        ]),
    );
    let body = json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": message_id,
        "Token": sub.token,
        "TopicArn": sub.topic_arn,
        "Message": message,
        "SubscribeURL": subscribe_url,
        "Timestamp": timestamp,
        "SignatureVersion": sub.signature_version,
        "Signature": signature,
        "SigningCertURL": cert_url(bus, identity),
    });
    let res = bus
        .sns
        .http()
        .post(&sub.endpoint)
        .header("x-amz-sns-message-type", "SubscriptionConfirmation")
        .header("x-amz-sns-message-id", &message_id)
        .header("x-amz-sns-topic-arn", &sub.topic_arn)
        .header("content-type", "text/plain; charset=UTF-8")
        .body(pretty(&body))
        .send()
        .await
        .map_err(|e| format!("SubscriptionConfirmation to {} failed: {e}", sub.endpoint))?;
    if !res.status().is_success() {
        return Err(format!(
            "SubscriptionConfirmation to {} answered {}",
            sub.endpoint,
            res.status()
        ));
    }
    Ok(())
}

/// SNS sends its JSON documents indented over several lines; consumers parse JSON, so only the
/// content matters, but the multi-line form is kept.
fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Creates a delivery for every confirmed subscription of the event's destination topic (and,
/// with `--sns-endpoint`, its topic there), and with `--eventbridge-endpoint` one for the default
/// bus there when AWS sends the event to EventBridge (whether or not there is a destination).
pub fn route(bus: &Bus, event: &Event) {
    let topic = event.destination.as_deref();
    let to_eventbridge =
        bus.settings.eventbridge_endpoint.is_some() && event.eventbridge_detail_type().is_some();
    if topic.is_none() && !to_eventbridge {
        return;
    }
    let now = bus.clock.now_ms();
    let mut scheduled = Vec::new();
    {
        let mut inner = bus.sns.lock();
        let mut targets: Vec<(Target, String)> = match topic {
            Some(topic) => inner
                .subscriptions
                .iter()
                .filter(|s| s.topic_arn == topic && s.status == "Confirmed")
                .map(|s| (Target::Subscriber, s.subscription_arn.clone()))
                .collect(),
            None => Vec::new(),
        };
        if let (Some(endpoint), Some(topic)) = (&bus.settings.sns_endpoint, topic)
            && topic.split(':').nth(2) == Some("sns")
        {
            targets.push((Target::SnsPublish, endpoint.clone()));
        }
        if let Some(endpoint) =
            bus.settings.eventbridge_endpoint.as_ref().filter(|_| to_eventbridge)
        {
            targets.push((Target::EventBridge, endpoint.clone()));
        }
        if targets.is_empty() {
            // Nobody listens on this topic: no delivery, no serialized message.
            return;
        }
        let topic = topic.unwrap_or_default();
        let envelope = event.envelope().get().to_string();
        let timestamp = super::rfc3339_millis(event.time_ms);
        // SNS gives a published message one MessageId, which every subscription sees.
        let sns_message_id = bus.ids.uuid().to_string();
        for (target, arn) in targets {
            let (message, topic) = match target {
                // The EventBridge event, for the default bus of the event's Region.
                Target::EventBridge => (
                    event.eventbridge().map(|e| e.to_string()).unwrap_or_default(),
                    format!("default:{}", event.region),
                ),
                _ => (envelope.clone(), topic.to_string()),
            };
            inner.next_id += 1;
            let id = inner.next_id;
            if inner.deliveries.len() >= bus.sns.capacity {
                // Keep undelivered events: drop the oldest delivered (or, failing that, oldest).
                let at = inner.deliveries.iter().position(|d| d.state == "delivered").unwrap_or(0);
                if let Some(dropped) = inner.deliveries.remove(at)
                    && dropped.state != "delivered"
                {
                    tracing::warn!(
                        id = dropped.id,
                        "delivery log full: dropped an undelivered event"
                    );
                }
            }
            inner.deliveries.push_back(Delivery {
                id,
                event_seq: event.seq,
                target,
                subscription_arn: arn,
                sns_message_id: sns_message_id.clone(),
                state: "pending".into(),
                attempts: 0,
                last_status: None,
                last_error: None,
                next_attempt_ms: Some(now),
                message,
                topic_arn: topic,
                timestamp: timestamp.clone(),
            });
            scheduled.push(id);
        }
    }
    for id in scheduled {
        bus.scheduler.at(now, Job::SnsDelivery { delivery_id: id });
    }
}

/// Makes every `failed` delivery `pending` again and attempts it now; returns how many.
pub fn redrive(bus: &Bus) -> usize {
    let now = bus.clock.now_ms();
    let ids: Vec<u64> = {
        let mut inner = bus.sns.lock();
        inner
            .deliveries
            .iter_mut()
            .filter(|d| d.state == "failed")
            .map(|d| {
                d.state = "pending".into();
                d.attempts = 0;
                d.next_attempt_ms = Some(now);
                d.id
            })
            .collect()
    };
    for id in &ids {
        bus.scheduler.at(now, Job::SnsDelivery { delivery_id: *id });
    }
    ids.len()
}

/// One delivery attempt (run by the scheduler on a task of its own; the app persists its
/// outcome).
pub async fn attempt(bus: &Bus, delivery_id: u64) {
    let delivery = {
        let inner = bus.sns.lock();
        inner.deliveries.iter().find(|d| d.id == delivery_id && d.state == "pending").cloned()
    };
    let Some(delivery) = delivery else { return };
    let outcome = match delivery.target {
        Target::SnsPublish => publish(bus, &delivery).await,
        Target::EventBridge => put_events(bus, &delivery).await,
        Target::Subscriber => {
            let sub = bus
                .sns
                .lock()
                .subscriptions
                .iter()
                .find(|s| s.subscription_arn == delivery.subscription_arn)
                .cloned();
            match sub {
                Some(sub) => post_notification(bus, &delivery, &sub).await,
                // Unsubscribed meanwhile: nothing to deliver to.
                None => return,
            }
        }
    };
    record_attempt(bus, delivery_id, &delivery.subscription_arn, outcome);
}

/// The AWS SDK configuration for an endpoint (loaded once): the usual credential chain, or the
/// fixed credentials embedders and tests give.
async fn sdk_config<'a>(
    cell: &'a tokio::sync::OnceCell<aws_config::SdkConfig>,
    endpoint: &str,
    credentials: Option<&(String, String)>,
) -> &'a aws_config::SdkConfig {
    cell.get_or_init(|| async {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint.to_string());
        if let Some((key, secret)) = credentials {
            loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                key,
                secret,
                None,
                None,
                "eum-social",
            ));
        }
        loader.load().await
    })
    .await
}

/// `Publish` of the envelope to the delivery's topic on the configured SNS endpoint.
async fn publish(bus: &Bus, delivery: &Delivery) -> Result<u16, (Option<u16>, String)> {
    let sdk = sdk_config(
        &bus.sns.publisher,
        &delivery.subscription_arn,
        bus.settings.sns_credentials.as_ref(),
    )
    .await;
    let region = delivery.topic_arn.split(':').nth(3).unwrap_or("us-east-1").to_string();
    let config = aws_sdk_sns::config::Builder::from(sdk)
        .region(aws_sdk_sns::config::Region::new(region))
        .build();
    aws_sdk_sns::Client::from_conf(config)
        .publish()
        .topic_arn(&delivery.topic_arn)
        .message(&delivery.message)
        .send()
        .await
        .map(|_| 200)
        .map_err(|e| {
            let status = e.raw_response().map(|r| r.status().as_u16());
            (status, format!("SNS Publish: {}", aws_sdk_sns::error::DisplayErrorContext(&e)))
        })
}

/// `PutEvents` of the EventBridge event to the default bus on the configured endpoint. (Real
/// EventBridge refuses `aws.*` sources from PutEvents: the target is LocalStack or another
/// EventBridge-compatible server standing in for AWS's own delivery.)
async fn put_events(bus: &Bus, delivery: &Delivery) -> Result<u16, (Option<u16>, String)> {
    let sdk = sdk_config(
        &bus.sns.eventbridge,
        &delivery.subscription_arn,
        bus.settings.eventbridge_credentials.as_ref(),
    )
    .await;
    let event: Value = serde_json::from_str(&delivery.message)
        .map_err(|e| (None, format!("the EventBridge event is not JSON: {e}")))?;
    let region = event["region"].as_str().unwrap_or("us-east-1").to_string();
    let config = aws_sdk_eventbridge::config::Builder::from(sdk)
        .region(aws_sdk_eventbridge::config::Region::new(region))
        .build();
    let time = event["time"]
        .as_str()
        .and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
        .map(|t| aws_sdk_eventbridge::primitives::DateTime::from_secs(t.unix_timestamp()));
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source(event["source"].as_str().unwrap_or_default())
        .detail_type(event["detail-type"].as_str().unwrap_or_default())
        .detail(event["detail"].to_string())
        .event_bus_name("default")
        .set_time(time)
        .build();
    let out = aws_sdk_eventbridge::Client::from_conf(config)
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(|e| {
            let status = e.raw_response().map(|r| r.status().as_u16());
            (
                status,
                format!(
                    "EventBridge PutEvents: {}",
                    aws_sdk_eventbridge::error::DisplayErrorContext(&e)
                ),
            )
        })?;
    if out.failed_entry_count() > 0 {
        let why = out
            .entries()
            .iter()
            .filter_map(|e| {
                e.error_code().map(|c| format!("{c}: {}", e.error_message().unwrap_or_default()))
            })
            .collect::<Vec<_>>()
            .join("; ");
        return Err((Some(200), format!("EventBridge PutEvents refused the entry: {why}")));
    }
    Ok(200)
}

/// POSTs a signed `Notification` (or the raw envelope) to an HTTP(S) subscriber.
async fn post_notification(
    bus: &Bus,
    delivery: &Delivery,
    sub: &Subscription,
) -> Result<u16, (Option<u16>, String)> {
    let request = bus
        .sns
        .http()
        .post(&sub.endpoint)
        .header("x-amz-sns-message-type", "Notification")
        .header("x-amz-sns-message-id", &delivery.sns_message_id)
        .header("x-amz-sns-topic-arn", &delivery.topic_arn)
        .header("x-amz-sns-subscription-arn", &sub.subscription_arn)
        .header("content-type", "text/plain; charset=UTF-8");
    let request = if sub.raw_message_delivery {
        request.header("x-amz-sns-rawdelivery", "true").body(delivery.message.clone())
    } else {
        let identity = bus.sns.identity().map_err(|e| (None, e))?;
        let signature = identity.sign(
            &sub.signature_version,
            &string_to_sign(&[
                ("Message", &delivery.message),
                ("MessageId", &delivery.sns_message_id),
                ("Timestamp", &delivery.timestamp),
                ("TopicArn", &delivery.topic_arn),
                ("Type", "Notification"),
            ]),
        );
        let body = json!({
            "Type": "Notification",
            "MessageId": delivery.sns_message_id,
            "TopicArn": delivery.topic_arn,
            "Message": delivery.message,
            "Timestamp": delivery.timestamp,
            "SignatureVersion": sub.signature_version,
            "Signature": signature,
            "SigningCertURL": cert_url(bus, identity),
            "UnsubscribeURL": format!(
                "{}/_emulator/sns/?Action=Unsubscribe&SubscriptionArn={}",
                base_url(bus),
                query_value(&sub.subscription_arn)
            ),
        });
        request.body(pretty(&body))
    };
    let retry = request.try_clone();
    let sent = match request.send().await {
        // A pooled keep-alive connection the subscriber had closed: the request never reached
        // it, so it is sent again at once on a fresh connection (not an SNS retry).
        Err(e) if is_stale_connection(&e) => match retry {
            Some(again) => again.send().await,
            None => Err(e),
        },
        other => other,
    };
    match sent {
        Ok(res) if res.status().is_success() => Ok(res.status().as_u16()),
        Ok(res) => Err((Some(res.status().as_u16()), format!("HTTP {}", res.status()))),
        Err(e) => Err((None, e.to_string())),
    }
}

/// Whether a request failed because the connection was closed before any response (hyper's
/// "connection closed before message completed", a reset or a broken pipe on a reused socket).
fn is_stale_connection(e: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        if let Some(h) = err.downcast_ref::<hyper::Error>()
            && h.is_incomplete_message()
        {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// Records an attempt's outcome; schedules the next attempt or marks the delivery failed.
fn record_attempt(
    bus: &Bus,
    delivery_id: u64,
    endpoint: &str,
    outcome: Result<u16, (Option<u16>, String)>,
) {
    let now = bus.clock.now_ms();
    let retry = {
        let mut inner = bus.sns.lock();
        let Some(d) = inner.deliveries.iter_mut().find(|d| d.id == delivery_id) else { return };
        d.attempts += 1;
        match outcome {
            Ok(status) => {
                d.state = "delivered".into();
                d.last_status = Some(status);
                d.last_error = None;
                d.next_attempt_ms = None;
                false
            }
            Err((status, error)) => {
                d.last_status = status;
                d.last_error = Some(error);
                if d.attempts >= MAX_ATTEMPTS {
                    d.state = "failed".into();
                    d.next_attempt_ms = None;
                    tracing::warn!(delivery_id, %endpoint, "SNS delivery failed after all retries; kept as failed");
                    false
                } else {
                    d.next_attempt_ms = Some(now + RETRY_DELAY_MS);
                    true
                }
            }
        }
    };
    if retry {
        bus.scheduler.at(now + RETRY_DELAY_MS, Job::SnsDelivery { delivery_id });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_string_is_sorted_key_value_lines() {
        let s = string_to_sign(&[("Type", "Notification"), ("Message", "hi"), ("MessageId", "1")]);
        assert_eq!(s, "Message\nhi\nMessageId\n1\nType\nNotification\n");
    }
}
