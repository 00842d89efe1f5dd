//! SNS HTTP subscribers of the event destination topic: a real socket on 127.0.0.1 receives the
//! SubscriptionConfirmation, confirms it, then receives signed Notifications (signature versions
//! 1 and 2 verified with the certificate the emulator serves), raw deliveries, and retries per
//! SNS's default policy on the virtual clock — every event exactly once per SNS MessageId.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use sdk_tests::*;
use serde_json::{Value, json};

const TOPIC: &str = "arn:aws:sns:us-east-1:809904170947:base-wecare-digital";

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: String,
    answered: u16,
}

/// A subscriber endpoint: records every POST; answers 500 to the first `fail_first` attempts of
/// each SNS MessageId (and to everything while `down`).
#[derive(Clone, Default)]
struct Subscriber {
    received: Arc<Mutex<Vec<Received>>>,
    fail_first: Arc<Mutex<usize>>,
    down: Arc<Mutex<bool>>,
}

async fn receive(
    State(sub): State<Subscriber>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let headers: HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let mut received = sub.received.lock().unwrap();
    let id = headers.get("x-amz-sns-message-id").cloned().unwrap_or_default();
    let earlier =
        received.iter().filter(|r| r.headers.get("x-amz-sns-message-id") == Some(&id)).count();
    let is_notification =
        headers.get("x-amz-sns-message-type").map(String::as_str) == Some("Notification");
    let fail =
        is_notification && (*sub.down.lock().unwrap() || earlier < *sub.fail_first.lock().unwrap());
    let answered = if fail { 500 } else { 200 };
    received.push(Received { path: uri.path().to_string(), headers, body, answered });
    StatusCode::from_u16(answered).unwrap()
}

impl Subscriber {
    async fn start() -> (Subscriber, String) {
        let sub = Subscriber::default();
        let app = axum::Router::new().fallback(receive).with_state(sub.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (sub, url)
    }

    /// Waits until `pred` holds for the recorded requests (up to 10 s).
    async fn wait_for(&self, what: &str, pred: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        for _ in 0..1000 {
            {
                let received = self.received.lock().unwrap();
                if pred(&received) {
                    return received.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what}: {:#?}", self.received.lock().unwrap());
    }
}

fn of_type<'a>(received: &'a [Received], path: &str, kind: &str) -> Vec<&'a Received> {
    received
        .iter()
        .filter(|r| {
            r.path == path
                && r.headers.get("x-amz-sns-message-type").map(String::as_str) == Some(kind)
        })
        .collect()
}

/// Verifies an SNS signature the way SNS's validators do: fetch the PEM certificate from
/// SigningCertURL, rebuild the canonical string, check SHA1withRSA (v1) or SHA256withRSA (v2).
async fn verify_signature(doc: &Value) {
    let keys: &[&str] = match doc["Type"].as_str().unwrap() {
        "Notification" => &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
        _ => &["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
    };
    let mut canonical = String::new();
    for key in keys {
        if let Some(value) = doc[*key].as_str() {
            canonical.push_str(&format!("{key}\n{value}\n"));
        }
    }
    let cert_url = doc["SigningCertURL"].as_str().unwrap();
    assert!(cert_url.ends_with(".pem"), "{cert_url}");
    let pem = http().get(cert_url).send().await.unwrap().bytes().await.unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("a PEM certificate");
    let cert = pem.parse_x509().expect("an X.509 certificate");
    let public_key = cert.public_key().subject_public_key.data.to_vec();
    use base64::Engine;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(doc["Signature"].as_str().unwrap())
        .unwrap();
    let algorithm: &dyn aws_lc_rs::signature::VerificationAlgorithm =
        match doc["SignatureVersion"].as_str() {
            Some("1") => &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            Some("2") => &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            other => panic!("SignatureVersion {other:?}"),
        };
    aws_lc_rs::signature::UnparsedPublicKey::new(algorithm, &public_key)
        .verify(canonical.as_bytes(), &signature)
        .expect("the SNS signature verifies with the served certificate");
}

/// Subscribes `endpoint` and confirms it through the SubscribeURL it receives.
async fn subscribe_and_confirm(
    control: &Control,
    sub: &Subscriber,
    endpoint: &str,
    extra: Value,
) -> String {
    let mut body = json!({ "topicArn": TOPIC, "endpoint": endpoint });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let created = control.call("POST", "/sns/subscriptions", Some(body)).await;
    assert_eq!(created["status"], "PendingConfirmation");
    let path = endpoint.rsplit_once('/').map(|(_, p)| format!("/{p}")).unwrap();
    let received = sub
        .wait_for("a SubscriptionConfirmation", |r| {
            !of_type(r, &path, "SubscriptionConfirmation").is_empty()
        })
        .await;
    let confirmation = of_type(&received, &path, "SubscriptionConfirmation")[0].clone();
    assert_eq!(confirmation.headers["x-amz-sns-topic-arn"], TOPIC);
    let doc: Value = serde_json::from_str(&confirmation.body).unwrap();
    assert_eq!(doc["Type"], "SubscriptionConfirmation");
    assert_eq!(doc["TopicArn"], TOPIC);
    assert!(
        doc["Message"].as_str().unwrap().starts_with("You have chosen to subscribe to the topic")
    );
    verify_signature(&doc).await;
    // SNS's URL form, answered with SNS's XML.
    let subscribe_url = doc["SubscribeURL"].as_str().unwrap();
    assert!(
        subscribe_url.contains("/?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3A")
            && subscribe_url.ends_with(&format!("&Token={}", doc["Token"].as_str().unwrap())),
        "{subscribe_url}"
    );
    let confirmed = http().get(subscribe_url).send().await.unwrap();
    assert!(confirmed.status().is_success());
    assert_eq!(confirmed.headers()["content-type"], "text/xml");
    let xml = confirmed.text().await.unwrap();
    let arn = created["subscriptionArn"].as_str().unwrap().to_string();
    assert!(
        xml.starts_with(
            "<ConfirmSubscriptionResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
        ) && xml.contains(&format!("<SubscriptionArn>{arn}</SubscriptionArn>"))
            && xml.contains("<RequestId>"),
        "{xml}"
    );
    arn
}

#[tokio::test]
async fn confirmed_subscribers_receive_signed_notifications_and_raw_messages() {
    let emu = emulator().await;
    let control = Control::new(&emu);
    let (sub, url) = Subscriber::start().await;

    // Nothing is delivered to a subscription that is not confirmed yet.
    control
        .call(
            "POST",
            "/sns/subscriptions",
            Some(json!({"topicArn": TOPIC, "endpoint": format!("{url}/unconfirmed")})),
        )
        .await;
    let v1 = subscribe_and_confirm(&control, &sub, &format!("{url}/v1"), json!({})).await;
    subscribe_and_confirm(&control, &sub, &format!("{url}/v2"), json!({"signatureVersion": "2"}))
        .await;
    subscribe_and_confirm(
        &control,
        &sub,
        &format!("{url}/raw"),
        json!({"rawMessageDelivery": true}),
    )
    .await;
    let subs = control.call("GET", "/sns/subscriptions", None).await;
    let confirmed = subs["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "Confirmed")
        .count();
    assert_eq!(confirmed, 3);

    let wamid = control.customer_says(PHONE_1, "14255550150", "Hello \u{1F44B}").await;
    let event = control.wait_events(&format!("kind=inbound&wamid={wamid}"), 1).await.remove(0);
    let received = sub
        .wait_for("three notifications", |r| {
            ["/v1", "/v2", "/raw"].iter().all(|p| !of_type(r, p, "Notification").is_empty())
        })
        .await;
    for path in ["/v1", "/v2"] {
        let n = of_type(&received, path, "Notification")[0];
        assert_eq!(n.headers["x-amz-sns-topic-arn"], TOPIC);
        assert_eq!(n.headers["content-type"], "text/plain; charset=UTF-8");
        assert_eq!(n.headers["user-agent"], "Amazon Simple Notification Service Agent");
        assert!(n.headers["x-amz-sns-subscription-arn"].starts_with(&format!("{TOPIC}:")));
        let doc: Value = serde_json::from_str(&n.body).unwrap();
        assert_eq!(doc["Type"], "Notification");
        assert_eq!(doc["MessageId"], n.headers["x-amz-sns-message-id"].as_str());
        assert!(doc.get("Subject").is_none());
        assert_eq!(doc["SignatureVersion"], if path == "/v1" { "1" } else { "2" });
        verify_signature(&doc).await;
        // The Message is the AWS envelope, exactly as the event log has it.
        let message: Value = serde_json::from_str(doc["Message"].as_str().unwrap()).unwrap();
        assert_eq!(message, event["envelope"]);
        assert!(
            doc["Message"].as_str().unwrap().contains("\\\\ud83d\\\\udc4b"),
            "non-ASCII escaped in the entry"
        );
    }
    // SNS gives the published message one MessageId, which every subscription sees.
    let ids: Vec<&str> = ["/v1", "/v2", "/raw"]
        .iter()
        .map(|p| of_type(&received, p, "Notification")[0].headers["x-amz-sns-message-id"].as_str())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let raw = of_type(&received, "/raw", "Notification")[0];
    let message: Value = serde_json::from_str(&raw.body).unwrap();
    assert_eq!(message, event["envelope"]);
    assert!(of_type(&received, "/unconfirmed", "Notification").is_empty());

    // Visiting the UnsubscribeURL (SNS's form and XML answer) stops deliveries.
    let doc: Value =
        serde_json::from_str(&of_type(&received, "/v1", "Notification")[0].body).unwrap();
    let unsubscribe_url = doc["UnsubscribeURL"].as_str().unwrap();
    assert!(
        unsubscribe_url
            .contains(&format!("/?Action=Unsubscribe&SubscriptionArn={}", v1.replace(':', "%3A"))),
        "{unsubscribe_url}"
    );
    let answer = http().get(unsubscribe_url).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let xml = answer.text().await.unwrap();
    assert!(xml.starts_with("<UnsubscribeResponse") && xml.contains("<RequestId>"), "{xml}");
    let again = http().get(unsubscribe_url).send().await.unwrap();
    assert_eq!(again.status(), 404);
    assert!(again.text().await.unwrap().contains("<Code>NotFound</Code>"));
    control.customer_says(PHONE_1, "14255550150", "again").await;
    sub.wait_for("the second notifications", |r| of_type(r, "/v2", "Notification").len() == 2)
        .await;
    control.settle().await;
    assert_eq!(of_type(&sub.received.lock().unwrap(), "/v1", "Notification").len(), 1);
}

/// A subscriber that closes a kept-alive connection when the next request arrives on it, without
/// answering (as a server does when its idle timeout races the reuse): the request never reached
/// it, so the emulator sends it again at once on a fresh connection instead of waiting SNS's
/// 20-second retry delay.
#[tokio::test]
async fn a_stale_pooled_connection_is_retried_at_once_on_a_fresh_one() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let emu = emulator().await;
    let control = Control::new(&emu);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/stale", listener.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::<String>::new()));
    let arrived = Arc::new(tokio::sync::Notify::new());
    let connections = Arc::new(Mutex::new(0usize));
    {
        let (bodies, connections, arrived) = (bodies.clone(), connections.clone(), arrived.clone());
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                *connections.lock().unwrap() += 1;
                let (bodies, arrived) = (bodies.clone(), arrived.clone());
                tokio::spawn(async move {
                    // Answers the first request of the connection, keeps it alive, and drops it
                    // when a second request comes.
                    let mut buffer = vec![0u8; 1 << 16];
                    let mut seen = Vec::new();
                    loop {
                        let n = socket.read(&mut buffer).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buffer[..n]);
                        let text = String::from_utf8_lossy(&seen).to_string();
                        let Some(head_end) = text.find("\r\n\r\n") else { continue };
                        let length: usize = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if seen.len() < head_end + 4 + length {
                            continue;
                        }
                        bodies.lock().unwrap().push(text[head_end + 4..].to_string());
                        arrived.notify_one();
                        socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n")
                            .await
                            .unwrap();
                        // The next request on this connection finds it closed.
                        let mut next = [0u8; 1];
                        let _ = socket.read(&mut next).await;
                        return;
                    }
                });
            }
        });
    }
    let received = |text: &'static str| {
        let (bodies, arrived) = (bodies.clone(), arrived.clone());
        async move {
            while !bodies.lock().unwrap().iter().any(|b| b.contains(text)) {
                tokio::time::timeout(Duration::from_secs(10), arrived.notified())
                    .await
                    .unwrap_or_else(|_| panic!("{text} never arrived"));
            }
        }
    };
    let created = control
        .call("POST", "/sns/subscriptions", Some(json!({"topicArn": TOPIC, "endpoint": url})))
        .await;
    received("SubscriptionConfirmation").await;
    let confirm: Value = serde_json::from_str(&bodies.lock().unwrap()[0]).unwrap();
    http().get(confirm["SubscribeURL"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(created["status"], "PendingConfirmation");
    control.freeze(true).await;
    for text in ["one", "two", "three"] {
        control.customer_says(PHONE_1, "14255550150", text).await;
        // Each delivery is due at once, with the clock frozen: none waits SNS's 20 s retry.
        received(text).await;
    }
    control.settle().await;
    let delivered = control.call("GET", "/sns/deliveries?state=delivered", None).await;
    let delivered = delivered["deliveries"].as_array().unwrap();
    assert_eq!(delivered.len(), 3, "{delivered:?}");
    assert!(delivered.iter().all(|d| d["attempts"] == 1), "{delivered:?}");
    assert!(*connections.lock().unwrap() >= 3, "fresh connections were opened");
}

#[tokio::test]
async fn a_subscriber_that_fails_twice_gets_every_event_exactly_once() {
    let emu = emulator().await;
    let (client, control) = (client(&emu), Control::new(&emu));
    let (sub, url) = Subscriber::start().await;
    control.freeze(true).await;
    subscribe_and_confirm(&control, &sub, &format!("{url}/flaky"), json!({})).await;
    *sub.fail_first.lock().unwrap() = 2;

    control.customer_says(PHONE_1, "14255550150", "hi").await;
    let id = send(&client, PHONE_1, text_to("14255550150", "hello")).await;
    control.advance_seconds(3.0).await; // sent, delivered, read fall due
    control.wait_events(&format!("kind=status&messageId={id}"), 3).await;
    // Four events, each attempted once and refused.
    sub.wait_for("first attempts", |r| of_type(r, "/flaky", "Notification").len() == 4).await;
    control.advance_seconds(20.0).await;
    sub.wait_for("second attempts", |r| of_type(r, "/flaky", "Notification").len() == 8).await;
    control.advance_seconds(20.0).await;
    let received =
        sub.wait_for("third attempts", |r| of_type(r, "/flaky", "Notification").len() == 12).await;
    control.settle().await;

    let mut by_id: HashMap<String, Vec<u16>> = HashMap::new();
    for r in of_type(&received, "/flaky", "Notification") {
        by_id.entry(r.headers["x-amz-sns-message-id"].clone()).or_default().push(r.answered);
    }
    assert_eq!(by_id.len(), 4, "one SNS MessageId per event, reused on retries");
    for answers in by_id.values() {
        assert_eq!(answers, &vec![500, 500, 200]);
    }
    let deliveries = control.call("GET", "/sns/deliveries?state=delivered", None).await;
    let deliveries = deliveries["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 4);
    assert!(deliveries.iter().all(|d| d["attempts"] == 3));
    // Nothing more is attempted.
    control.advance_seconds(120.0).await;
    control.settle().await;
    assert_eq!(of_type(&sub.received.lock().unwrap(), "/flaky", "Notification").len(), 12);
}

#[tokio::test]
async fn undeliverable_events_are_kept_and_can_be_redriven() {
    let emu = emulator().await;
    let control = Control::new(&emu);
    let (sub, url) = Subscriber::start().await;
    control.freeze(true).await;
    subscribe_and_confirm(&control, &sub, &format!("{url}/down"), json!({})).await;
    *sub.down.lock().unwrap() = true;
    control.customer_says(PHONE_1, "14255550150", "anyone?").await;
    for _ in 0..4 {
        control.advance_seconds(20.0).await;
        control.settle().await;
    }
    sub.wait_for("four attempts", |r| of_type(r, "/down", "Notification").len() == 4).await;
    let failed = control.call("GET", "/sns/deliveries?state=failed", None).await;
    let failed = failed["deliveries"].as_array().unwrap().clone();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["attempts"], 4);
    assert_eq!(failed[0]["lastStatus"], 500);

    *sub.down.lock().unwrap() = false;
    let redriven = control.call("POST", "/sns/deliveries/redrive", None).await;
    assert_eq!(redriven["redriven"], 1);
    let received = sub
        .wait_for("the redriven delivery", |r| {
            r.iter().any(|x| {
                x.answered == 200
                    && x.path == "/down"
                    && x.headers["x-amz-sns-message-type"] == "Notification"
            })
        })
        .await;
    let ids: Vec<&String> = of_type(&received, "/down", "Notification")
        .iter()
        .map(|r| &r.headers["x-amz-sns-message-id"])
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "the same SNS MessageId throughout");
    control.settle().await;
    let delivered = control.call("GET", "/sns/deliveries?state=delivered", None).await;
    assert_eq!(delivered["deliveries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_subscriptions_are_refused() {
    let emu = emulator().await;
    let control = Control::new(&emu);
    for (body, needle) in [
        (
            json!({"topicArn": "arn:aws:sqs:us-east-1:809904170947:q", "endpoint": "http://127.0.0.1:1/x"}),
            "not an SNS topic",
        ),
        (json!({"topicArn": TOPIC, "endpoint": "ftp://127.0.0.1/x"}), "http or https"),
        (
            json!({"topicArn": TOPIC, "endpoint": "http://127.0.0.1:1/x", "signatureVersion": "3"}),
            "signatureVersion",
        ),
        (json!({"topicArn": TOPIC}), "invalid JSON body"),
    ] {
        let (status, answer) = control.try_call("POST", "/sns/subscriptions", Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["message"].as_str().unwrap().contains(needle), "{answer}");
    }
    let (status, _) = control.try_call("GET", "/sns/confirm?token=nope", None).await;
    assert_eq!(status, 404);
    let bad = http()
        .get(format!(
            "{}/_emulator/sns/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=nope",
            emu.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let xml = bad.text().await.unwrap();
    assert!(
        xml.starts_with("<ErrorResponse") && xml.contains("<Code>InvalidParameter</Code>"),
        "{xml}"
    );
    // An endpoint that cannot be reached stays pending, as in SNS, and says why.
    let pending = control
        .call(
            "POST",
            "/sns/subscriptions",
            Some(json!({"topicArn": TOPIC, "endpoint": "http://127.0.0.1:9/nobody"})),
        )
        .await;
    assert_eq!(pending["status"], "PendingConfirmation");
    assert!(pending["confirmationError"].as_str().unwrap().contains("127.0.0.1:9"));
}

/// Publish calls a fake SNS endpoint received, as form fields.
type Published = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// A stand-in SNS endpoint speaking the Query protocol `aws-sdk-sns` uses: records Publish calls.
async fn fake_sns(published: Published) -> String {
    async fn handle(State(published): State<Published>, body: String) -> (StatusCode, String) {
        let form: HashMap<String, String> = body
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| {
                let decode = |s: &str| percent_decode(&s.replace('+', " "));
                (decode(k), decode(v))
            })
            .collect();
        let id = format!("{:08}", published.lock().unwrap().len());
        published.lock().unwrap().push(form);
        (
            StatusCode::OK,
            format!(
                "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>{id}</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>"
            ),
        )
    }
    let app = axum::Router::new().fallback(handle).with_state(published);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[tokio::test]
async fn events_are_published_to_a_real_sns_endpoint() {
    let published = Arc::new(Mutex::new(Vec::new()));
    let endpoint = fake_sns(published.clone()).await;
    let config = eum_social_emulator::Config {
        sns_endpoint: Some(endpoint.clone()),
        sns_credentials: Some(("test".into(), "test".into())),
        ..Default::default()
    };
    let emu =
        Emulator::start_with(config, eum_social_emulator::Seed::default_seed()).await.unwrap();
    let control = Control::new(&emu);
    let wamid = control.customer_says(PHONE_1, "14255550150", "published?").await;
    let event = control.wait_events(&format!("kind=inbound&wamid={wamid}"), 1).await.remove(0);
    for _ in 0..1000 {
        if !published.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let calls = published.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["Action"], "Publish");
    assert_eq!(calls[0]["TopicArn"], TOPIC);
    let message: Value = serde_json::from_str(&calls[0]["Message"]).unwrap();
    assert_eq!(message, event["envelope"]);
    control.settle().await;
    let delivered = control.call("GET", "/sns/deliveries?state=delivered", None).await;
    let d = &delivered["deliveries"][0];
    assert_eq!(d["target"], "snsPublish");
    assert_eq!(d["subscriptionArn"], endpoint.as_str());
}
