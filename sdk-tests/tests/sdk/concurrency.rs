//! Many clients at once lose nothing: 64 SDK clients send 20 messages each concurrently, and every
//! message gets its own id, its three statuses exactly once, and the per-number counts add up;
//! `GET /_emulator/locks` counts the waits on the shared locks meanwhile.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use sdk_tests::*;
use serde_json::json;

const CLIENTS: usize = 64;
const SENDS_PER_CLIENT: usize = 20;

/// Sends a text, retrying only when throttled (an API rate limit or Meta's throughput): a
/// throttled send is not accepted, so the totals stay exact whatever limits are configured.
async fn send_counted(
    client: &aws_sdk_socialmessaging::Client,
    phone: &str,
    to: &str,
    body: &str,
) -> String {
    for _ in 0..200 {
        let sent = client
            .send_whats_app_message()
            .origination_phone_number_id(phone)
            .meta_api_version("v20.0")
            .message(text_to(to, body))
            .send()
            .await;
        match sent {
            Ok(out) => return out.message_id().expect("messageId").to_string(),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_throttled_request_exception()) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("send {body} to {to}: {e:?}"),
        }
    }
    panic!("send {body} to {to}: still throttled after 200 attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_clients_sending_at_once_lose_no_message_and_no_status() {
    let emu = emulator().await;
    let control = Control::new(&emu);
    let locks_before = control.call("GET", "/locks", None).await;
    let phones = [PHONE_1, PHONE_2];
    // Room for every send within one virtual second (Meta's default is 80/s per number).
    for phone in phones {
        control
            .call(
                "PUT",
                &format!("/phone-numbers/{phone}"),
                Some(json!({"throughputPerSecond": 1000})),
            )
            .await;
    }
    // Each client has its own customer (pair rate: bursts of 45) with an open window.
    let customer = |i: usize| format!("1555123{i:04}");
    for i in 0..CLIENTS {
        control.customer_says(phones[i % 2], &customer(i), "hi").await;
    }
    // No status fires while sending; then all of them fire at once.
    control.freeze(true).await;

    let start = std::sync::Arc::new(tokio::sync::Barrier::new(CLIENTS));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let client = client(&emu);
            let start = start.clone();
            let (phone, to) = (phones[i % 2], customer(i));
            tokio::spawn(async move {
                start.wait().await;
                let mut ids = Vec::with_capacity(SENDS_PER_CLIENT);
                for n in 0..SENDS_PER_CLIENT {
                    ids.push(send_counted(&client, phone, &to, &format!("c{i} m{n}")).await);
                    // ~640 sends/s in all: under a default API rate limit of 1,000/s.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                (phone, ids)
            })
        })
        .collect();
    let mut sent_by_phone: HashMap<&str, Vec<String>> = HashMap::new();
    for task in tasks {
        let (phone, ids) = tokio::time::timeout(Duration::from_secs(120), task)
            .await
            .expect("clients finish")
            .expect("client task");
        sent_by_phone.entry(phone).or_default().extend(ids);
    }
    let all: Vec<&String> = sent_by_phone.values().flatten().collect();
    let total = CLIENTS * SENDS_PER_CLIENT;
    assert_eq!(all.len(), total);
    let distinct: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(distinct.len(), total, "every message has its own id");

    // The outbound log has every message once, per number.
    for phone in phones {
        let out = control
            .call("GET", &format!("/messages?phoneNumberId={phone}&limit=10000"), None)
            .await;
        let logged: Vec<String> = out["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| m["messageId"].as_str().expect("messageId").to_string())
            .collect();
        assert_eq!(logged.len(), total / 2, "{phone}");
        let logged: HashSet<String> = logged.into_iter().collect();
        let sent: HashSet<String> = sent_by_phone[phone].iter().cloned().collect();
        assert_eq!(logged, sent, "{phone}");
    }

    // Past the read delay (2 s), every message has sent, delivered and read, exactly once.
    control.advance_seconds(3.0).await;
    control.settle().await;
    let events = control.wait_events("kind=status&limit=10000", total * 3).await;
    assert_eq!(events.len(), total * 3, "no extra status event");
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut per_phone: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for event in &events {
        let message_id = event["messageId"].as_str().expect("messageId").to_string();
        let status = event["status"].as_str().expect("status").to_string();
        let phone = event["phoneNumberId"].as_str().expect("phoneNumberId").to_string();
        assert!(distinct.contains(&message_id), "an event of an unknown message {message_id}");
        assert!(seen.insert((message_id, status.clone())), "a duplicate status event: {event}");
        *per_phone.entry(phone).or_default().entry(status).or_default() += 1;
    }
    let each = BTreeMap::from([
        ("delivered".to_string(), total / 2),
        ("read".to_string(), total / 2),
        ("sent".to_string(), total / 2),
    ]);
    let expected =
        BTreeMap::from([(PHONE_1.to_string(), each.clone()), (PHONE_2.to_string(), each)]);
    assert_eq!(per_phone, expected);
    // Nothing else fires later.
    control.advance_seconds(600.0).await;
    control.settle().await;
    assert_eq!(control.events("kind=status&limit=10000").await.len(), total * 3);

    // The lock waits of the shared locks are counted (process-wide: never fewer than before).
    let locks_after = control.call("GET", "/locks", None).await;
    for name in ["partition", "partitionParts", "scheduler", "eventLog", "requestLog"] {
        for field in ["waits", "waitedNanos"] {
            let before = locks_before["locks"][name][field].as_u64();
            let after = locks_after["locks"][name][field].as_u64();
            assert!(before.is_some() && after.is_some(), "{name}.{field}: {locks_after}");
            assert!(after >= before, "{name}.{field} went back: {locks_before} {locks_after}");
        }
        let waits = locks_after["locks"][name]["waits"].as_u64().unwrap();
        let nanos = locks_after["locks"][name]["waitedNanos"].as_u64().unwrap();
        assert!(waits == 0 || nanos > 0, "a wait takes time: {name} {locks_after}");
    }
}
