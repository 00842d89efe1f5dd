//! The core's defects, each with the test that would have caught it: reads never create state
//! (random access keys cost no memory) and take read locks (they run while another reader holds
//! the partition).

use std::sync::mpsc;
use std::time::Duration;

use sdk_tests::*;

/// Reads from accounts that have no state, as a client with ever new access keys makes them.
async fn read_everything(client: &aws_sdk_socialmessaging::Client, account: &str) {
    let _ = client.list_linked_whats_app_business_accounts().send().await;
    let _ = client
        .get_linked_whats_app_business_account()
        .id("waba-0aae9cf04cf24c66960f291c793359b4")
        .send()
        .await;
    let _ = client
        .get_whats_app_message_template()
        .id("waba-0aae9cf04cf24c66960f291c793359b4")
        .meta_template_id("1")
        .send()
        .await;
    let _ = client
        .list_tags_for_resource()
        .resource_arn(waba_arn(account, "eu-west-1", "waba-0aae9cf04cf24c66960f291c793359b4"))
        .send()
        .await;
    let _ = client.list_whats_app_message_templates().id("waba-1").send().await;
}

#[tokio::test]
async fn reads_with_random_access_keys_create_no_partitions() {
    let emu = emulator_without_quotas().await;
    let before = emu.state.store.len();
    for i in 0..40u64 {
        let account = format!("{:012}", 100_000_000_000 + i * 7919);
        let client = client_for(&emu, &account, "eu-west-1");
        read_everything(&client, &account).await;
        let control = Control::new(&emu);
        let query = format!("account={account}&region=eu-west-1");
        control.call("GET", &format!("/messages?{query}"), None).await;
        control.call("GET", &format!("/templates?{query}"), None).await;
        control.call("GET", &format!("/calls?{query}"), None).await;
        control.call("GET", &format!("/conversion-events?{query}"), None).await;
    }
    assert_eq!(emu.state.store.len(), before, "reads created partitions");
    // A write still creates its partition.
    let control = Control::new(&emu);
    let accounts = control.call("GET", "/accounts", None).await;
    assert_eq!(accounts["accounts"].as_array().unwrap().len(), before);
}

#[tokio::test]
async fn reads_run_while_another_reader_holds_the_partition() {
    let emu = emulator().await;
    let client = client(&emu);
    let partition = emu.state.store.existing(&(ACCOUNT.to_string(), REGION.to_string())).unwrap();
    let (held, wait_held) = mpsc::channel();
    let (release, wait_release) = mpsc::channel::<()>();
    // Another reader holds the partition's read lock until the reads below are done: a read
    // that took the write lock would wait for it, and time out.
    let holder = std::thread::spawn(move || {
        let _guard = partition.read().unwrap();
        held.send(()).unwrap();
        let _ = wait_release.recv_timeout(Duration::from_secs(30));
    });
    wait_held.recv_timeout(Duration::from_secs(10)).unwrap();
    let reads = async {
        let template = client
            .get_whats_app_message_template()
            .id(WABA_1)
            .template_name("hello_world")
            .template_language_code("en_US")
            .send()
            .await
            .expect("GetWhatsAppMessageTemplate");
        assert!(template.template().unwrap().contains("hello_world"));
        let tags = client
            .list_tags_for_resource()
            .resource_arn(waba_arn(ACCOUNT, REGION, WABA_1))
            .send()
            .await
            .expect("ListTagsForResource");
        assert_eq!(tags.status_code(), Some(200));
        let control = Control::new(&emu);
        control.call("GET", "/calls", None).await;
        control.call("GET", "/conversion-events", None).await;
    };
    let done = tokio::time::timeout(Duration::from_secs(10), reads).await;
    release.send(()).unwrap();
    holder.join().unwrap();
    done.expect("reads waited for a reader: they took the write lock");
}

/// Sends, and the status timers after them, change only the message logs and counters, which
/// have locks of their own: they run while another thread holds the partition's shared lock
/// (a send that took the exclusive lock would wait for it, and time out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_and_statuses_run_while_another_reader_holds_the_partition() {
    let emu = emulator().await;
    let client = client(&emu);
    let control = Control::new(&emu);
    control.freeze(true).await;
    control.customer_says(PHONE_1, "14255550199", "hi").await;
    let partition = emu.state.store.existing(&(ACCOUNT.to_string(), REGION.to_string())).unwrap();
    let (held, wait_held) = mpsc::channel();
    let (release, wait_release) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let _guard = partition.read().unwrap();
        held.send(()).unwrap();
        let _ = wait_release.recv_timeout(Duration::from_secs(30));
    });
    wait_held.recv_timeout(Duration::from_secs(10)).unwrap();
    let work = async {
        let mut ids = Vec::new();
        for text in ["one", "two", "three"] {
            let sent = client
                .send_whats_app_message()
                .origination_phone_number_id(PHONE_1)
                .meta_api_version("v20.0")
                .message(text_to("14255550199", text))
                .send()
                .await
                .expect("SendWhatsAppMessage");
            ids.push(sent.message_id().unwrap().to_string());
        }
        // The statuses fire (the timer loop takes the shared lock too).
        control.advance_seconds(3.0).await;
        control.settle().await;
        let events = control.wait_events("kind=status&limit=100", 9).await;
        for id in &ids {
            let statuses: Vec<&str> = events
                .iter()
                .filter(|e| e["messageId"] == id.as_str())
                .filter_map(|e| e["status"].as_str())
                .collect();
            assert_eq!(statuses, ["sent", "delivered", "read"], "{id}");
        }
    };
    let done = tokio::time::timeout(Duration::from_secs(20), work).await;
    release.send(()).unwrap();
    holder.join().unwrap();
    done.expect("sends or statuses waited for a reader: they took the exclusive lock");
}

#[tokio::test]
async fn every_control_api_error_is_json_with_a_message() {
    let emu = emulator().await;
    let url = |path: &str| format!("{}/_emulator{path}", emu.url());
    let http = http();
    let cases = [
        // axum's own rejections: a body that is not JSON, a missing member, a wrong method.
        http.post(url("/calls")).header("content-type", "application/json").body("not json"),
        http.post(url("/calls")).header("content-type", "application/json").body("{}"),
        http.post(url("/call-permissions")).body("{}"),
        http.delete(url("/clock")),
        // The control API's own errors, in both of its former formats.
        http.post(url("/calls/wacid.nope/customer")).json(&serde_json::json!({"action": "accept"})),
        http.put(url("/phone-numbers/nope")).body("{}"),
    ];
    for request in cases {
        let res = request.send().await.unwrap();
        let status = res.status();
        assert!(status.is_client_error(), "{status}");
        let kind = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("application/json"), "{status}: {kind}");
        let body: serde_json::Value = res.json().await.unwrap();
        let message = body["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty() && body.get("error").is_none(), "{status}: {body}");
    }
}
