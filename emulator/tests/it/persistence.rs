//! `--state-dir`: the real binary is killed with SIGKILL at random points while the SDK writes;
//! after a restart on the same directory every acknowledged write is there, the state is whole,
//! and pending status timers resume.

#![cfg(unix)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use aws_credential_types::Credentials;
use aws_sdk_socialmessaging::Client;
use aws_sdk_socialmessaging::config::{BehaviorVersion, Region};
use aws_sdk_socialmessaging::types::Tag;
use aws_smithy_types::retry::RetryConfig;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_eum-social");
const ACCOUNT: &str = "809904170947";
const WABA_1: &str = "waba-0aae9cf04cf24c66960f291c793359b4";
const WABA_2: &str = "waba-9bbe054d8404487397c38a9d197bc44a";
const PHONE_1: &str = "phone-number-id-baa217c3f11b4ffd956f6f3afb44ce54";
const PHONE_2: &str = "phone-number-id-1447bc72d1b040f4bf2341c9e04b2e06";
const ROUNDS: u64 = 5;
const WRITES_PER_ROUND: u64 = 30;
const WRITERS: u64 = 3;

/// A running `eum-social --state-dir DIR`, killed with SIGKILL when dropped.
struct Process {
    child: Child,
    url: String,
}

impl Process {
    fn start(dir: &Path) -> Process {
        let mut child = Command::new(BIN)
            .args(["--port", "0", "--log", "warn", "--quotas", "off", "--state-dir"])
            .arg(dir)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("binary starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("READY ") {
                        break url.to_string();
                    }
                }
                other => {
                    let _ = child.kill();
                    panic!("no READY line: {other:?}");
                }
            }
        };
        // Keep draining stderr so that logging never blocks the process.
        std::thread::spawn(move || lines.for_each(drop));
        Process { child, url }
    }

    /// SIGKILL: no shutdown, no flush.
    fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    fn client(&self) -> Client {
        let config = aws_sdk_socialmessaging::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(ACCOUNT, "secret", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .build();
        Client::from_conf(config)
    }

    async fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let mut request = reqwest::Client::new()
            .request(method.parse().unwrap(), format!("{}/_emulator{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let res = request.send().await.expect("control API answers");
        assert!(res.status().is_success(), "{method} {path}: {}", res.status());
        res.json().await.unwrap()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SplitMix64: a seeded, reproducible choice of kill points and writes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A write the emulator acknowledged.
#[derive(Debug, Clone)]
enum Write {
    Tag { arn: String, key: String, value: String },
    Template { waba: &'static str, name: String },
    Message { message_id: String },
    Destination { topic: String },
}

fn arn(kind: &str, id: &str) -> String {
    let hex = id.rsplit('-').next().unwrap();
    format!("arn:aws:social-messaging:us-east-1:{ACCOUNT}:{kind}/{hex}")
}

/// One write of kind `choice` named by `(round, writer, i)`; Some when acknowledged.
async fn write(client: &Client, choice: u64, round: u64, writer: u64, i: u64) -> Option<Write> {
    let name = format!("r{round}_w{writer}_{i}");
    match choice {
        0 => {
            let resources = [
                arn("waba", WABA_1),
                arn("waba", WABA_2),
                arn("phone-number-id", PHONE_1),
                arn("phone-number-id", PHONE_2),
            ];
            let arn = resources[((round * WRITERS + writer + i) % 4) as usize].clone();
            let tag = Tag::builder().key(&name).value(format!("v{i}")).build().unwrap();
            client.tag_resource().resource_arn(&arn).tags(tag).send().await.ok()?;
            Some(Write::Tag { arn, key: name, value: format!("v{i}") })
        }
        1 => {
            let waba = if i.is_multiple_of(2) { WABA_1 } else { WABA_2 };
            let definition = json!({
                "name": name,
                "language": "en_US",
                "category": "UTILITY",
                "components": [{ "type": "BODY", "text": "Your order has shipped." }],
            });
            client
                .create_whats_app_message_template()
                .id(waba)
                .template_definition(aws_smithy_types::Blob::new(definition.to_string()))
                .send()
                .await
                .ok()?;
            Some(Write::Template { waba, name })
        }
        _ => {
            let message = json!({
                "messaging_product": "whatsapp",
                "to": format!("1555110{:04}", i),
                "type": "template",
                "template": { "name": "hello_world", "language": { "code": "en_US" } },
            });
            let out = client
                .send_whats_app_message()
                .origination_phone_number_id(if i.is_multiple_of(2) { PHONE_1 } else { PHONE_2 })
                .meta_api_version("v20.0")
                .message(aws_smithy_types::Blob::new(message.to_string()))
                .send()
                .await
                .ok()?;
            Some(Write::Message { message_id: out.message_id()?.to_string() })
        }
    }
}

/// Writer 0 also sets WABA_2's event destination, one at a time, so the stored one must be the
/// last acknowledged or the single one in flight after it.
async fn put_destination(client: &Client, topic: &str) -> bool {
    let destination =
        aws_sdk_socialmessaging::types::WhatsAppBusinessAccountEventDestination::builder()
            .event_destination_arn(topic)
            .build()
            .unwrap();
    client
        .put_whats_app_business_account_event_destinations()
        .id(WABA_2)
        .event_destinations(destination)
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0x5eed);
    let mut acked: Vec<Write> = Vec::new();
    let mut destinations_tried: Vec<String> = Vec::new();
    for round in 0..ROUNDS {
        let process = Process::start(dir.path());
        let client = process.client();
        let log: Arc<Mutex<Vec<Write>>> = Arc::default();
        let tried: Arc<Mutex<Vec<String>>> = Arc::default();
        let kill_after = 1 + rng.below(WRITES_PER_ROUND);
        let mut writers = Vec::new();
        for writer in 0..WRITERS {
            let (client, log, tried) = (client.clone(), log.clone(), tried.clone());
            let seed = rng.next();
            writers.push(tokio::spawn(async move {
                let mut rng = Rng(seed);
                for i in 0..WRITES_PER_ROUND {
                    if writer == 0 && i % 5 == 0 {
                        let topic = format!("arn:aws:sns:us-east-1:{ACCOUNT}:topic-{round}-{i}");
                        tried.lock().unwrap().push(topic.clone());
                        if !put_destination(&client, &topic).await {
                            return;
                        }
                        log.lock().unwrap().push(Write::Destination { topic });
                    }
                    match write(&client, rng.below(3), round, writer, i).await {
                        Some(w) => log.lock().unwrap().push(w),
                        None => return,
                    }
                }
            }));
        }
        // Kill once `kill_after` writes are acknowledged, while the others are in flight.
        loop {
            let done = log.lock().unwrap().len() as u64;
            if done >= kill_after || writers.iter().all(|w| w.is_finished()) {
                break;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        process.kill9();
        for w in writers {
            w.await.unwrap();
        }
        acked.extend(log.lock().unwrap().iter().cloned());
        destinations_tried.extend(tried.lock().unwrap().iter().cloned());
        check(dir.path(), &acked, &destinations_tried).await;
    }
    assert!(acked.len() as u64 >= ROUNDS, "some writes were acknowledged: {}", acked.len());
}

/// Restarts on `dir` and checks every acknowledged write, then stops the process (SIGKILL too).
async fn check(dir: &Path, acked: &[Write], destinations_tried: &[String]) {
    let process = Process::start(dir);
    let client = process.client();
    // Whole: the state exports, and the export imports again.
    let state = process.control("GET", "/state", None).await;
    assert_eq!(state["version"], 1);
    process.control("PUT", "/state", Some(state.clone())).await;

    let messages = process.control("GET", "/messages?limit=10000", None).await;
    let messages: BTreeSet<&str> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["messageId"].as_str())
        .collect();
    let mut templates: BTreeSet<(String, String)> = BTreeSet::new();
    for waba in [WABA_1, WABA_2] {
        let mut pages = client.list_whats_app_message_templates().id(waba).into_paginator().send();
        while let Some(page) = pages.next().await {
            for t in page.expect("templates list").templates() {
                templates
                    .insert((waba.to_string(), t.template_name().unwrap_or_default().to_string()));
            }
        }
    }
    let mut last_destination = None;
    for w in acked {
        match w {
            Write::Tag { arn, key, value } => {
                let tags = client.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
                assert!(
                    tags.tags().iter().any(|t| t.key() == key && t.value() == Some(value.as_str())),
                    "acknowledged tag {key} on {arn} lost"
                );
            }
            Write::Template { waba, name } => {
                assert!(
                    templates.contains(&(waba.to_string(), name.clone())),
                    "acknowledged template {name} lost"
                );
            }
            Write::Message { message_id } => {
                assert!(
                    messages.contains(message_id.as_str()),
                    "acknowledged message {message_id} lost"
                );
            }
            Write::Destination { topic } => last_destination = Some(topic.clone()),
        }
    }
    if let Some(last) = last_destination {
        let waba = client.get_linked_whats_app_business_account().id(WABA_2).send().await.unwrap();
        let stored =
            waba.account().unwrap().event_destinations()[0].event_destination_arn().to_string();
        let at = destinations_tried.iter().position(|t| *t == last).unwrap();
        assert!(
            destinations_tried[at..].contains(&stored),
            "event destination {stored} is older than the acknowledged {last}"
        );
    }
    process.kill9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_status_timer_resumes_after_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let process = Process::start(dir.path());
    let client = process.client();
    process.control("POST", "/clock", Some(json!({ "frozen": true }))).await;
    process
        .control(
            "POST",
            "/inbound",
            Some(json!({ "phoneNumberId": PHONE_1, "from": "15551237777", "text": "hi" })),
        )
        .await;
    let message = json!({
        "messaging_product": "whatsapp",
        "to": "15551237777",
        "type": "text",
        "text": { "body": "hello again" },
    });
    let message_id = client
        .send_whats_app_message()
        .origination_phone_number_id(PHONE_1)
        .meta_api_version("v20.0")
        .message(aws_smithy_types::Blob::new(message.to_string()))
        .send()
        .await
        .unwrap()
        .message_id()
        .unwrap()
        .to_string();
    let before = process.control("GET", "/clock", None).await;
    process.kill9();

    let process = Process::start(dir.path());
    let clock = process.control("GET", "/clock", None).await;
    assert_eq!(clock["frozen"], true);
    assert_eq!(clock["nowMs"], before["nowMs"], "the frozen clock is where it was");
    assert!(
        clock["pendingTimers"].as_u64().unwrap() >= 1,
        "the status timer was restored: {clock}"
    );
    let query = format!("/events?kind=status&messageId={message_id}");
    assert_eq!(process.control("GET", &query, None).await["events"], json!([]));
    process.control("POST", "/clock/advance", Some(json!({ "seconds": 60 }))).await;
    let events = process.control("GET", &format!("{query}&count=3&waitMs=10000"), None).await;
    let statuses: Vec<&str> =
        events["events"].as_array().unwrap().iter().filter_map(|e| e["status"].as_str()).collect();
    assert_eq!(statuses, ["sent", "delivered", "read"]);
    let inbound = process.control("GET", "/events?kind=inbound", None).await;
    assert_eq!(inbound["events"].as_array().unwrap().len(), 1, "the inbound event survived");
    process.kill9();
}

/// Sends `n` texts to a customer who wrote in; returns their message ids.
async fn send_texts(process: &Process, n: usize) -> Vec<String> {
    let client = process.client();
    process
        .control(
            "POST",
            "/inbound",
            Some(json!({ "phoneNumberId": PHONE_2, "from": "15551238888", "text": "hi" })),
        )
        .await;
    let mut ids = Vec::new();
    for i in 0..n {
        let message = json!({ "messaging_product": "whatsapp", "to": "15551238888",
                              "type": "text", "text": { "body": format!("reply {i}") } });
        let out = client
            .send_whats_app_message()
            .origination_phone_number_id(PHONE_2)
            .meta_api_version("v20.0")
            .message(aws_smithy_types::Blob::new(message.to_string()))
            .send()
            .await
            .unwrap();
        ids.push(out.message_id().unwrap().to_string());
    }
    ids
}

fn open(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("state.sqlite3")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_rows_of_their_own_and_an_older_layout_loads() {
    let dir = tempfile::tempdir().unwrap();
    let process = Process::start(dir.path());
    let ids = send_texts(&process, 5).await;
    let exported = process.control("GET", "/state", None).await;
    process.kill9();

    // Each message is a row of its own; the partition's row holds no messages.
    let db = open(dir.path());
    let part = format!("{ACCOUNT}/us-east-1");
    let rows: Vec<String> = db
        .prepare("SELECT key FROM messages WHERE part = ?1 ORDER BY ord")
        .unwrap()
        .query_map([&part], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 6, "one inbound and five outbound messages: {rows:?}");
    assert!(rows[0].starts_with(&format!("{part}/in/wamid.")));
    for (row, id) in rows[1..].iter().zip(&ids) {
        assert_eq!(row, &format!("{part}/out/{id}"));
    }
    let partition: String = db
        .query_row("SELECT value FROM rows WHERE key = ?1", [format!("partition/{part}")], |r| {
            r.get(0)
        })
        .unwrap();
    let partition: Value = serde_json::from_str(&partition).unwrap();
    assert_eq!(partition["meta"]["outbound"], json!([]));
    assert_eq!(partition["meta"]["inbound"], json!([]));

    // Storage layout 1, as the previous version wrote it: the messages inside the partition's
    // row, no messages table, no layout in the header.
    let whole = exported["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["account"] == ACCOUNT && p["region"] == "us-east-1")
        .unwrap()
        .clone();
    db.execute("DROP TABLE messages", []).unwrap();
    db.execute(
        "UPDATE rows SET value = ?1 WHERE key = ?2",
        [whole.to_string(), format!("partition/{part}")],
    )
    .unwrap();
    let header: String =
        db.query_row("SELECT value FROM rows WHERE key = 'header'", [], |r| r.get(0)).unwrap();
    let mut header: Value = serde_json::from_str(&header).unwrap();
    header.as_object_mut().unwrap().remove("storage");
    db.execute("UPDATE rows SET value = ?1 WHERE key = 'header'", [header.to_string()]).unwrap();
    drop(db);

    let process = Process::start(dir.path());
    let messages = process.control("GET", "/messages", None).await;
    let loaded: Vec<&str> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["messageId"].as_str())
        .collect();
    for id in &ids {
        assert!(loaded.contains(&id.as_str()), "{id} was lost from a layout-1 directory");
    }
    // Rewritten in this version's layout.
    let more = send_texts(&process, 1).await;
    process.kill9();
    let db = open(dir.path());
    let stored: i64 = db
        .query_row("SELECT count(*) FROM messages WHERE part = ?1", [&part], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 8, "six, the new inbound message and {more:?}");
}

#[test]
fn a_newer_storage_layout_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.execute_batch(
        "CREATE TABLE rows (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         INSERT INTO rows VALUES ('header', '{\"version\": 1, \"storage\": 9, \"clock\": {}, \"ids\": {}}');",
    )
    .unwrap();
    drop(db);
    let out = Command::new(BIN)
        .args(["--port", "0", "--state-dir"])
        .arg(dir.path())
        .output()
        .expect("binary runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("storage layout 9") && stderr.contains("newer version"), "{stderr}");
}
