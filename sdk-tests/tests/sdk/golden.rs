//! Golden fixtures: every request recorded by `eum-social-conformance --record` (fixtures/golden/,
//! one file per scenario; recorded against the emulator, or against the real service to check
//! the emulator against it) is replayed against a fresh emulator, in the scenarios' run order,
//! and each answer must match the recording: the same status, the same error type, the same
//! JSON shape (keys and value types, recursively, also inside JSON carried in strings), and the
//! same values except volatile ones.
//!
//! **Volatile values** are those under a key that names an identifier, a time or a secret: the
//! key is `wamid`, `sha256`, or one of the words `id`, `ids`, `arn`, `token`, `url`, `handle`,
//! `at`, `time`, `timestamp`, `date` — alone, or as the last word of a camelCase or snake_case
//! key (`metaTemplateId`, `expires_at`; not `valid` or `format`). Their type is still checked,
//! and each recorded string is mapped to the replayed one, so that a later request that used a
//! recorded id (in its query, path or body, also inside base64 blobs) is sent with the new one.
//! Control API answers (`/_emulator/...`) are replayed for their effect and status only, and a
//! `GET /_emulator/clock` waits until the emulator's due timers have run, as the recording did.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use eum_social_conformance::Exchange;
use eum_social_conformance::runner::Recording;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sdk_tests::*;
use serde_json::Value;

/// What the SDK leaves unencoded in a query value.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/golden")
}

fn recordings() -> Vec<Recording> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("fixtures/golden exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        })
        .collect()
}

const VOLATILE: [&str; 10] =
    ["id", "ids", "arn", "token", "url", "handle", "at", "time", "timestamp", "date"];

fn is_volatile_key(key: &str) -> bool {
    // `id` or `…Id` / `…_id`: a word of its own, so that `valid` or `format` are not volatile.
    let word = |w: &str| {
        let mut camel = w.to_string();
        camel[..1].make_ascii_uppercase();
        key == w || key.ends_with(&camel) || key.ends_with(&format!("_{w}"))
    };
    key == "wamid" || key == "sha256" || VOLATILE.iter().any(|w| word(w))
}

/// Recorded → replayed values learned so far.
#[derive(Default)]
struct Subs(BTreeMap<String, String>);

impl Subs {
    fn learn(&mut self, recorded: &str, replayed: &str) {
        if recorded != replayed && recorded.len() >= 6 {
            self.0.insert(recorded.to_string(), replayed.to_string());
        }
    }

    /// Replaces every learned value in `s`, longest first.
    fn apply(&self, s: &str) -> String {
        let mut pairs: Vec<(&String, &String)> = self.0.iter().collect();
        pairs.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        let mut out = s.to_string();
        for (from, to) in pairs {
            if out.contains(from.as_str()) {
                out = out.replace(from.as_str(), to);
            }
        }
        out
    }

    /// A request body with the learned values replaced, inside base64 blobs too.
    fn apply_json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => {
                let direct = self.apply(s);
                if direct != *s {
                    return Value::String(direct);
                }
                let b64 = base64::engine::general_purpose::STANDARD;
                if let Ok(Ok(text)) = b64.decode(s).map(String::from_utf8) {
                    let replaced = self.apply(&text);
                    if replaced != text {
                        return Value::String(b64.encode(replaced));
                    }
                }
                value.clone()
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.apply_json(v)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.apply_json(v))).collect())
            }
            other => other.clone(),
        }
    }

    fn apply_query(&self, query: &str) -> String {
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let decoded = percent_decode_str(v).decode_utf8_lossy();
                format!("{k}={}", utf8_percent_encode(&self.apply(&decoded), QUERY))
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A string that holds a JSON object or array.
fn embedded_json(s: &str) -> Option<Value> {
    let t = s.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str(s).ok()
}

/// Learns the volatile values of an answer without checking it.
fn learn(recorded: &Value, replayed: &Value, key: &str, subs: &mut Subs) {
    match (recorded, replayed) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    learn(v, w, k, subs);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (v, w) in a.iter().zip(b) {
                learn(v, w, key, subs);
            }
        }
        (Value::String(a), Value::String(b)) => {
            if let (Some(x), Some(y)) = (embedded_json(a), embedded_json(b)) {
                learn(&x, &y, key, subs);
            } else if is_volatile_key(key) {
                subs.learn(a, b);
            }
        }
        _ => {}
    }
}

/// Checks `replayed` against `recorded` at `path`; pushes every difference.
fn compare(
    recorded: &Value,
    replayed: &Value,
    path: &str,
    key: &str,
    subs: &mut Subs,
    diffs: &mut Vec<String>,
) {
    if kind(recorded) != kind(replayed) {
        diffs.push(format!("{path}: {} recorded, {} replayed", kind(recorded), kind(replayed)));
        return;
    }
    match (recorded, replayed) {
        (Value::Object(a), Value::Object(b)) => {
            let keys_a: Vec<&String> = a.keys().collect();
            let keys_b: Vec<&String> = b.keys().collect();
            let mut sorted_a = keys_a.clone();
            let mut sorted_b = keys_b.clone();
            sorted_a.sort();
            sorted_b.sort();
            if sorted_a != sorted_b {
                diffs.push(format!("{path}: keys {sorted_a:?} recorded, {sorted_b:?} replayed"));
            }
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    compare(v, w, &format!("{path}.{k}"), k, subs, diffs);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                diffs.push(format!("{path}: {} items recorded, {} replayed", a.len(), b.len()));
            }
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                compare(v, w, &format!("{path}[{i}]"), key, subs, diffs);
            }
        }
        (Value::String(a), Value::String(b)) => {
            if let (Some(x), Some(y)) = (embedded_json(a), embedded_json(b)) {
                compare(&x, &y, &format!("{path}<json>"), key, subs, diffs);
            } else if is_volatile_key(key) {
                subs.learn(a, b);
            } else if subs.apply(a) != *b {
                diffs.push(format!("{path}: {a:?} recorded, {b:?} replayed"));
            }
        }
        (Value::Number(_), Value::Number(_)) if is_volatile_key(key) => {}
        (a, b) => {
            if a != b {
                diffs.push(format!("{path}: {a} recorded, {b} replayed"));
            }
        }
    }
}

async fn settle(control: &Control) {
    control.settle().await;
}

/// Sends one recorded request (with learned values replaced); retries a throttled one.
async fn send(emu: &Emulator, exchange: &Exchange, subs: &Subs) -> (u16, Option<String>, Value) {
    let req = &exchange.request;
    let mut url = format!("{}{}", emu.url(), subs.apply(&req.path));
    if !req.query.is_empty() {
        url = format!("{url}?{}", subs.apply_query(&req.query));
    }
    let body = match &req.body {
        Value::Null => None,
        Value::String(s) => Some(subs.apply(s).into_bytes()),
        other => Some(serde_json::to_vec(&subs.apply_json(other)).unwrap()),
    };
    for _ in 0..50 {
        let mut request = http().request(req.method.parse().unwrap(), &url);
        for (name, value) in &req.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &body {
            request = request.body(body.clone());
        }
        let res = request.send().await.expect("the emulator answers");
        let status = res.status().as_u16();
        if status == 429 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let error_type = res
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(':').next().unwrap_or(v).to_string());
        let bytes = res.bytes().await.unwrap();
        return (status, error_type, eum_social_conformance::record::body_value(&bytes));
    }
    panic!("{} {url}: throttled 50 times", req.method);
}

async fn replay(emu: &Emulator, recording: &Recording, first: bool) -> Vec<String> {
    // Times in the recorded requests (e.g. a conversion event's event_time) fit the clock then:
    // the first scenario sets the clock to its recording's time, later ones move it forward.
    let now = emu.state.clock.now_ms();
    if first || recording.recorded_at_ms > now {
        emu.state.clock.set_ms(recording.recorded_at_ms);
    }
    let control = Control::new(emu);
    let mut subs = Subs::default();
    let mut diffs = Vec::new();
    for (i, exchange) in recording.exchanges.iter().enumerate() {
        let label = format!(
            "{} #{i} {} {}",
            recording.scenario,
            exchange.operation.as_deref().unwrap_or("control"),
            exchange.request.path
        );
        if exchange.operation.is_none()
            && exchange.request.method == "GET"
            && exchange.request.path == "/_emulator/clock"
        {
            settle(&control).await;
        }
        let (status, error_type, body) = send(emu, exchange, &subs).await;
        let recorded = &exchange.response;
        if status != recorded.status {
            diffs.push(format!(
                "{label}: status {} recorded, {status} replayed: {body}",
                recorded.status
            ));
            continue;
        }
        if exchange.operation.is_none() {
            learn(&recorded.body, &body, "", &mut subs);
            continue;
        }
        if error_type.as_deref() != exchange.error_type() {
            diffs.push(format!(
                "{label}: error {:?} recorded, {error_type:?} replayed",
                exchange.error_type()
            ));
            continue;
        }
        let mut found = Vec::new();
        compare(&recorded.body, &body, "$", "", &mut subs, &mut found);
        diffs.extend(found.into_iter().map(|d| format!("{label}: {d}")));
    }
    diffs
}

/// The recordings are replayed in the scenarios' run order against one fresh emulator, as they
/// were recorded (a scenario sees what the ones before it left, e.g. a dataset or a tag).
#[tokio::test]
async fn every_golden_recording_replays_against_a_fresh_emulator() {
    let mut recordings: BTreeMap<String, Recording> =
        recordings().into_iter().map(|r| (r.scenario.clone(), r)).collect();
    let scenarios = eum_social_conformance::scenarios();
    let names: Vec<&str> = scenarios.iter().map(|s| s.name).collect();
    let files: Vec<&String> = recordings.keys().collect();
    assert_eq!(
        files.len(),
        names.len(),
        "one golden file per scenario ({files:?} vs {names:?}); re-record with scripts/record-golden.sh"
    );
    let emu = emulator().await;
    let mut diffs = Vec::new();
    let mut recorded_before = i64::MIN;
    for (i, name) in names.into_iter().enumerate() {
        let recording =
            recordings.remove(name).unwrap_or_else(|| panic!("no golden file for {name}"));
        assert!(recording.passed, "{name} was recorded from a failing run");
        // The replay's clock only moves forward: a file recorded later than the scenarios after
        // it would put their recorded times (a conversion event's event_time) in the past.
        assert!(
            recording.recorded_at_ms >= recorded_before,
            "{name} was recorded after the scenarios that follow it: record the files in one run (scripts/record-golden.sh)"
        );
        recorded_before = recording.recorded_at_ms;
        assert!(!recording.exchanges.is_empty(), "{name} recorded nothing");
        diffs.extend(replay(&emu, &recording, i == 0).await);
    }
    assert!(diffs.is_empty(), "{} difference(s):\n{}", diffs.len(), diffs.join("\n"));
}

#[test]
fn volatile_keys_follow_the_documented_rule() {
    for key in [
        "id",
        "wamid",
        "arn",
        "messageId",
        "metaTemplateId",
        "linkedAccountIds",
        "resourceArn",
        "nextToken",
        "downloadUrl",
        "metaHeaderHandle",
        "expiresAt",
        "expirationTime",
        "linkDate",
        "sha256",
    ] {
        assert!(is_volatile_key(key), "{key}");
    }
    for key in
        ["status", "templateStatus", "message", "wabaName", "format", "valid", "fileSize", "tags"]
    {
        assert!(!is_volatile_key(key), "{key}");
    }
}

#[test]
fn learned_ids_replace_recorded_ones_in_queries_and_blobs() {
    let mut subs = Subs::default();
    subs.learn("arn:aws:x:1234567", "arn:aws:x:7654321");
    assert_eq!(
        subs.apply_query("id=arn%3Aaws%3Ax%3A1234567&n=1"),
        "id=arn%3Aaws%3Ax%3A7654321&n=1"
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = serde_json::json!({ "message": b64.encode("{\"id\":\"arn:aws:x:1234567\"}") });
    let replaced = subs.apply_json(&body);
    assert_eq!(
        b64.decode(replaced["message"].as_str().unwrap()).unwrap(),
        b"{\"id\":\"arn:aws:x:7654321\"}"
    );
}
