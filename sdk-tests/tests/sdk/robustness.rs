//! Robustness of the AWS API against any input, for every operation of the model facts
//! (`fixtures/model/socialmessaging.json`): random and boundary-breaking requests sent as raw
//! HTTP — wrong JSON types, missing or null members, over-long and empty strings, invalid UTF-8,
//! lone surrogates, invalid base64 and hostile blob contents, huge numbers, 10,000-deep nesting,
//! unknown keys, bad query encodings (`%zz`, non-UTF-8 escapes, repeated keys), empty and garbage
//! bodies, wrong content types.
//!
//! The properties, for every answer: never a 5xx; an error is a modeled one (JSON body with a
//! `message`, an `x-amzn-ErrorType` the operation declares, its modeled status — 408 and 413 for
//! a stalled or oversized body) with a request id; and a rejected request leaves the state
//! exactly as it was (the store's partition, message logs, media, event log and timers, read
//! in-process with the clock frozen).

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use eum_social_emulator::events::EventFilter;
use eum_social_emulator::model::{Member, Model, OperationFacts, Shape, ShapeKind};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use sdk_tests::*;
use serde_json::{Value, json};

/// Random cases per operation (bounded so the whole file runs in seconds); the environment
/// variable `ROBUSTNESS_CASES` asks for more in a longer hunt.
fn cases_per_operation() -> u32 {
    std::env::var("ROBUSTNESS_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(24)
}
/// Nesting depth of the "deep nesting" inputs (serde_json stops at 128).
const DEEP: usize = 10_000;

// ---------------------------------------------------------------------------------------------
// Requests and the properties of their answers.

/// One raw HTTP request to an operation's route.
#[derive(Clone)]
struct Case {
    /// The raw (already percent-encoded) query string, without `?`.
    query: String,
    body: Vec<u8>,
    content_type: Option<&'static str>,
    trailing_slash: bool,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = String::from_utf8_lossy(&self.body);
        let body: String = if body.chars().count() > 400 {
            format!("{}… ({} bytes)", body.chars().take(400).collect::<String>(), self.body.len())
        } else {
            body.into_owned()
        };
        f.debug_struct("Case")
            .field("query", &self.query)
            .field("body", &body)
            .field("content_type", &self.content_type)
            .field("trailing_slash", &self.trailing_slash)
            .finish()
    }
}

struct Answer {
    status: u16,
    error_type: Option<String>,
    body: String,
}

/// Everything a rejected request must leave untouched, read in-process.
fn snapshot(emu: &Emulator) -> Value {
    let state = &emu.state;
    let partition = state.store.partition(ACCOUNT, REGION);
    let p = partition.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut signups: Vec<&String> = p.signups.keys().collect();
    signups.sort();
    json!({
        "wabas": serde_json::to_value(&p.wabas).expect("wabas serialize"),
        "signups": signups,
        "outbound": p.meta.outbound.lock().len(),
        "inbound": p.meta.inbound.lock().len(),
        "windows": p.meta.windows.len(),
        "conversionEvents": p.conversion_events.events.len(),
        "media": p.media.len(),
        "events": state.bus.log.query(&EventFilter::default(), usize::MAX).len(),
        "timers": state.scheduler.pending(),
    })
}

async fn send(emu: &Emulator, op: &OperationFacts, case: &Case) -> Answer {
    let slash = if case.trailing_slash { "/" } else { "" };
    let query = if case.query.is_empty() { String::new() } else { format!("?{}", case.query) };
    let url = format!("{}{}{slash}{query}", emu.url(), op.uri);
    let mut request =
        http().request(op.method.parse().expect("method"), url).body(case.body.clone());
    if let Some(ct) = case.content_type {
        request = request.header("content-type", ct);
    }
    let res = tokio::time::timeout(Duration::from_secs(30), request.send())
        .await
        .unwrap_or_else(|_| panic!("{} did not answer within 30 s: {case:?}", op.name))
        .unwrap_or_else(|e| panic!("{} closed the connection ({e}): {case:?}", op.name));
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.text().await.unwrap_or_default();
    assert!(headers.contains_key("x-amzn-requestid"), "{}: no request id: {case:?}", op.name);
    let error_type =
        headers.get("x-amzn-errortype").map(|v| v.to_str().unwrap_or("<not ASCII>").to_string());
    Answer { status, error_type, body }
}

/// Sends `case` and checks every property; `before` is the state before it, updated when the
/// request was accepted.
async fn check(
    emu: &Emulator,
    op: &OperationFacts,
    case: &Case,
    before: &mut Value,
) -> Result<Answer, String> {
    let answer = send(emu, op, case).await;
    let json: Option<Value> = serde_json::from_str(&answer.body).ok();
    if answer.status >= 500 {
        return Err(format!("a {} answer: {}", answer.status, answer.body));
    }
    if (200..300).contains(&answer.status) {
        if !json.as_ref().is_some_and(Value::is_object) {
            return Err(format!("a success whose body is not a JSON object: {}", answer.body));
        }
        *before = snapshot(emu);
        return Ok(answer);
    }
    let Some(kind) = answer.error_type.as_deref() else {
        return Err(format!("a {} without x-amzn-errortype: {}", answer.status, answer.body));
    };
    let declared = op.errors.iter().any(|e| e.shape() == kind);
    if !declared {
        return Err(format!("{kind} is not an error of {}: {}", op.name, answer.body));
    }
    let modeled = Model::get().error_statuses.get(kind).copied();
    let status_ok = modeled == Some(answer.status)
        || (kind == "ValidationException" && [408, 413].contains(&answer.status));
    if !status_ok {
        return Err(format!("{kind} with status {} (modeled: {modeled:?})", answer.status));
    }
    match json.as_ref().and_then(|j| j["message"].as_str()) {
        Some(m) if !m.is_empty() => {}
        _ => return Err(format!("an error body without a message: {}", answer.body)),
    }
    let after = snapshot(emu);
    if after != *before {
        return Err(format!(
            "{kind} ({}) but the state changed:\nbefore {before}\nafter  {after}",
            answer.body
        ));
    }
    Ok(answer)
}

// ---------------------------------------------------------------------------------------------
// Values from the model: good ones (so that one bad member is what a request gets refused for)
// and bad ones.

fn model() -> &'static Model {
    Model::get()
}

fn shape(name: &str) -> &'static Shape {
    model().shape(name)
}

/// A value that satisfies the shape's constraints, with the seed's ids where a shape names a
/// resource. Presigned URLs are never valid ones, so that nothing leaves 127.0.0.1.
fn good(shape: &Shape) -> Value {
    let waba_arn = waba_arn(ACCOUNT, REGION, WABA_1);
    let by_name = match shape.name.as_str() {
        "LinkedWhatsAppBusinessAccountId" => Some(json!(WABA_1)),
        "WhatsAppPhoneNumberId" => Some(json!(PHONE_1)),
        "LinkedWhatsAppBusinessAccountArn" | "Arn" => Some(json!(waba_arn)),
        "LinkedWhatsAppPhoneNumberArn" => Some(json!(phone_arn(ACCOUNT, REGION, PHONE_1))),
        "MetaFlowId" | "MetaTemplateId" => Some(json!("1234567890")),
        "WhatsAppDatasetId" => Some(json!("1234567890")),
        "WhatsAppDate" => Some(json!("2026-01-01")),
        "IsoCountryCode" => Some(json!("US")),
        "WhatsAppMediaId" => Some(json!("123456789012345")),
        "S3FileBucketNameString" => Some(json!("robust-bucket")),
        "WhatsAppDestinationPhoneNumber" => Some(json!("+15551230000")),
        "EventDestinationArn" => Some(json!("arn:aws:sns:us-east-1:809904170947:robust")),
        "RoleArn" => Some(json!("arn:aws:iam::809904170947:role/robust")),
        "KmsKeyArn" => Some(json!("arn:aws:kms:us-east-1:809904170947:key/robust")),
        "S3PresignedUrlUrlString" => Some(json!("https://127.0.0.1:9/never-fetched")),
        _ => None,
    };
    if let Some(v) = by_name {
        return v;
    }
    let min = shape.min.unwrap_or(0).max(0) as usize;
    match &shape.kind {
        ShapeKind::String => match &shape.enum_values {
            Some(values) => json!(values[0]),
            None => {
                let len = min.max(6).min(shape.max.map_or(usize::MAX, |m| m as usize));
                json!("robust".chars().cycle().take(len).collect::<String>())
            }
        },
        ShapeKind::Integer | ShapeKind::Long => json!(shape.min.unwrap_or(1).max(1)),
        ShapeKind::Boolean => json!(false),
        ShapeKind::Timestamp => json!(1_700_000_000),
        ShapeKind::Blob => json!(STANDARD.encode(b"{}")),
        ShapeKind::List { member } => {
            Value::Array((0..min.max(1)).map(|_| good(self::shape(member))).collect())
        }
        ShapeKind::Map { key, value } => {
            let mut map = serde_json::Map::new();
            let key = good(self::shape(key));
            if min > 0 {
                map.insert(key.as_str().unwrap_or("k").to_string(), good(self::shape(value)));
            }
            Value::Object(map)
        }
        ShapeKind::Structure { members } => Value::Object(
            members
                .iter()
                .filter(|m| m.required)
                .map(|m| (m.name.clone(), good(self::shape(&m.shape))))
                .collect(),
        ),
    }
}

/// [`good`] for a member, where its name says more than its shape (so that a hostile blob is
/// what a request is judged on, not an API version checked before it).
fn good_member(member: &Member) -> Value {
    match member.name.as_str() {
        "metaApiVersion" => json!("v20.0"),
        _ => good(shape(&member.shape)),
    }
}

fn deep_arrays() -> Vec<u8> {
    let mut v = vec![b'['; DEEP];
    v.extend(std::iter::repeat_n(b']', DEEP));
    v
}

fn deep_objects() -> Vec<u8> {
    let mut v = b"{\"a\":".repeat(DEEP);
    v.push(b'1');
    v.extend(std::iter::repeat_n(b'}', DEEP));
    v
}

/// JSON fragments no shape accepts, or that no JSON parser should choke on.
fn hostile_fragments() -> Vec<Vec<u8>> {
    vec![
        deep_arrays(),
        deep_objects(),
        br#""\ud800""#.to_vec(),
        b"\"\xff\xfe\"".to_vec(),
        br#""nul\u0000byte""#.to_vec(),
        b"1e400".to_vec(),
        b"-1e400".to_vec(),
        b"18446744073709551616".to_vec(),
        b"-9223372036854775809".to_vec(),
        b"1e-400".to_vec(),
        b"-0".to_vec(),
        b"NaN".to_vec(),
        b"[null]".to_vec(),
        br#"{"":null}"#.to_vec(),
        b"\"".to_vec(),
    ]
}

/// Blob contents the operations decode themselves (Meta's message objects, templates, flows,
/// call events, conversion events, keys).
fn hostile_blob_contents() -> Vec<Vec<u8>> {
    let deep_text = {
        let mut v =
            br#"{"messaging_product":"whatsapp","to":"+15551230000","type":"text","text":{"body":"#
                .to_vec();
        v.extend(deep_arrays());
        v.extend(b"}}");
        v
    };
    vec![
        deep_arrays(),
        deep_objects(),
        deep_text,
        vec![0xff, 0xfe, 0x00, 0x80],
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"\"".to_vec(),
        b"-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----\n".to_vec(),
        br#"{"messaging_product":"whatsapp","to":5,"type":["text"],"text":{"body":null}}"#.to_vec(),
        br#"{"data":[{"event_name":{},"event_time":1e400}]}"#.to_vec(),
        br#"{"version":"7.3","screens":[{"id":"A","layout":{"type":"SingleColumnLayout","children":[[[[]]]]}}]}"#.to_vec(),
        br#"{"name":"t","language":"en_US","category":"UTILITY","components":[{"type":"BODY","text":"{{1}}{{999999999999999999999}}"}]}"#.to_vec(),
    ]
}

fn json_bytes(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// Values of the wrong JSON type, and the boundaries the shape's constraints break.
fn bad_values(shape: &Shape) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let over = |n: i64| -> Option<usize> { usize::try_from(n + 1).ok().filter(|n| *n <= 100_000) };
    match &shape.kind {
        ShapeKind::String => {
            out.extend(
                [json!(5), json!(true), json!([]), json!({}), json!(1.5)].iter().map(json_bytes),
            );
            out.push(json_bytes(&json!("")));
            if let Some(n) = shape.max.and_then(over) {
                out.push(json_bytes(&json!("x".repeat(n))));
                out.push(json_bytes(&json!("\u{1F600}".repeat(n))));
            } else {
                out.push(json_bytes(&json!("y".repeat(100_000))));
            }
            out.push(json_bytes(&json!("ｗａｂａ-\u{202e}\u{0}")));
        }
        ShapeKind::Integer | ShapeKind::Long => {
            out.extend(
                [json!("1"), json!(true), json!(1.5), json!([]), json!({}), json!(-1), json!(0)]
                    .iter()
                    .map(json_bytes),
            );
            out.push(b"2147483648".to_vec());
            out.push(b"9223372036854775808".to_vec());
            out.push(b"1e18".to_vec());
            if let Some(max) = shape.max {
                out.push(json_bytes(&json!(max.saturating_add(1))));
            }
            if let Some(min) = shape.min {
                out.push(json_bytes(&json!(min.saturating_sub(1))));
            }
        }
        ShapeKind::Boolean => {
            out.extend([json!("true"), json!(1), json!([]), json!({})].iter().map(json_bytes));
        }
        ShapeKind::Timestamp => {
            out.extend(
                [json!("2026-01-01T00:00:00Z"), json!(true), json!([])].iter().map(json_bytes),
            );
        }
        ShapeKind::Blob => {
            out.extend([json!(5), json!([]), json!({}), json!(true)].iter().map(json_bytes));
            out.extend(
                ["not base64!", "====", "YQ=", "\u{00e9}\u{00e9}\u{00e9}\u{00e9}", "-_-_"]
                    .iter()
                    .map(|s| json_bytes(&json!(s))),
            );
            out.push(json_bytes(&json!("")));
            if let Some(n) = shape.max.and_then(over) {
                out.push(json_bytes(&json!(STANDARD.encode(vec![b'a'; n]))));
            }
            out.extend(
                hostile_blob_contents().iter().map(|b| json_bytes(&json!(STANDARD.encode(b)))),
            );
        }
        ShapeKind::List { member } => {
            out.extend([json!({}), json!("x"), json!(5), json!([null])].iter().map(json_bytes));
            if let Some(n) = shape.max.and_then(over).filter(|n| *n <= 2_000) {
                let item = good(self::shape(member));
                out.push(json_bytes(&Value::Array(vec![item; n])));
            }
            if shape.min.is_some_and(|m| m > 0) {
                out.push(b"[]".to_vec());
            }
        }
        ShapeKind::Map { value, .. } => {
            out.extend([json!([]), json!("x"), json!({"k": null})].iter().map(json_bytes));
            if let Some(n) = shape.max.and_then(over).filter(|n| *n <= 2_000) {
                let item = good(self::shape(value));
                let map: serde_json::Map<String, Value> =
                    (0..n).map(|i| (format!("k{i}"), item.clone())).collect();
                out.push(json_bytes(&Value::Object(map)));
            }
        }
        ShapeKind::Structure { .. } => {
            out.extend([json!([]), json!("x"), json!(5), json!({})].iter().map(json_bytes));
        }
    }
    out.extend(hostile_fragments());
    out
}

/// A JSON value for `shape`: mostly good, else one of its bad values; structures, lists and
/// maps recurse (to `depth`) so that bad values also sit deep inside good ones.
fn value_strategy(shape: &'static Shape, depth: u32) -> BoxedStrategy<Vec<u8>> {
    value_strategy_with(shape, good(shape), depth)
}

fn value_strategy_with(
    shape: &'static Shape,
    good_value: Value,
    depth: u32,
) -> BoxedStrategy<Vec<u8>> {
    let good_bytes = json_bytes(&good_value);
    let bad = proptest::sample::select(bad_values(shape));
    let nested: Option<BoxedStrategy<Vec<u8>>> = if depth == 0 {
        None
    } else {
        match &shape.kind {
            ShapeKind::Structure { members } => Some(object_strategy(members, depth - 1)),
            ShapeKind::List { member } => Some(
                proptest::collection::vec(value_strategy(self::shape(member), depth - 1), 0..3)
                    .prop_map(|items| {
                        let mut out = b"[".to_vec();
                        out.extend(items.join(&b","[..]));
                        out.push(b']');
                        out
                    })
                    .boxed(),
            ),
            ShapeKind::Map { value, .. } => Some(
                proptest::collection::vec(
                    ("[a-z]{1,3}|[^\"\\\\]{0,3}", value_strategy(self::shape(value), depth - 1)),
                    0..3,
                )
                .prop_map(|entries| {
                    let mut out = b"{".to_vec();
                    let parts: Vec<Vec<u8>> = entries
                        .into_iter()
                        .map(|(k, v)| {
                            let mut part = json_bytes(&json!(k));
                            part.push(b':');
                            part.extend(v);
                            part
                        })
                        .collect();
                    out.extend(parts.join(&b","[..]));
                    out.push(b'}');
                    out
                })
                .boxed(),
            ),
            _ => None,
        }
    };
    match nested {
        Some(nested) => prop_oneof![2 => Just(good_bytes), 2 => bad, 3 => nested].boxed(),
        None => prop_oneof![3 => Just(good_bytes), 2 => bad].boxed(),
    }
}

/// A JSON object of a structure's members: each absent, null, or a value; plus unknown keys.
fn object_strategy(members: &'static [Member], depth: u32) -> BoxedStrategy<Vec<u8>> {
    let fields: Vec<BoxedStrategy<Option<Vec<u8>>>> = members
        .iter()
        .filter(|m| m.query.is_none())
        .map(|m| {
            let name = m.name.clone();
            let value = value_strategy_with(shape(&m.shape), good_member(m), depth);
            let present = if m.required { 8 } else { 3 };
            prop_oneof![
                1 => Just(None),
                1 => Just(Some(format!("\"{name}\":null").into_bytes())),
                present => value.prop_map(move |v| {
                    let mut field = format!("\"{name}\":").into_bytes();
                    field.extend(v);
                    Some(field)
                }),
            ]
            .boxed()
        })
        .collect();
    let unknown = proptest::collection::vec(
        prop_oneof![
            Just(b"\"surprise\":{\"x\":[1,2,3]}".to_vec()),
            Just(b"\"__proto__\":{}".to_vec()),
            Just(b"\"id\":\"duplicate-key\"".to_vec()),
            Just(b"\"\xff\":1".to_vec()),
        ],
        0..2,
    );
    (fields, unknown)
        .prop_map(|(fields, unknown)| {
            let parts: Vec<Vec<u8>> = fields.into_iter().flatten().chain(unknown).collect();
            let mut out = b"{".to_vec();
            out.extend(parts.join(&b","[..]));
            out.push(b'}');
            out
        })
        .boxed()
}

/// A query string value (percent-encoded) for a query member: good, or broken.
fn query_value_strategy(shape: &'static Shape) -> BoxedStrategy<String> {
    let good = match good(shape) {
        Value::String(s) => percent_encoding::utf8_percent_encode(&s, QUERY).to_string(),
        other => other.to_string(),
    };
    let bad = proptest::sample::select(vec![
        String::new(),
        "%zz".to_string(),
        "%".to_string(),
        "%FF%FE".to_string(),
        "%C0%AF".to_string(),
        "%00".to_string(),
        "%D9%A2".to_string(),
        "+".to_string(),
        "x".repeat(5_000),
        "99999999999999999999".to_string(),
        "-1".to_string(),
        "1.5".to_string(),
        "TRUE".to_string(),
        "a=b=c".to_string(),
        "%E2%80%AE".to_string(),
    ]);
    prop_oneof![3 => Just(good), 2 => bad].boxed()
}

const QUERY: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn query_strategy(members: &'static [Member]) -> BoxedStrategy<String> {
    let params: Vec<BoxedStrategy<Vec<String>>> = members
        .iter()
        .filter_map(|m| m.query.as_ref().map(|wire| (m, wire.clone())))
        .map(|(m, wire)| {
            let value = query_value_strategy(shape(&m.shape));
            let w1 = wire.clone();
            let w2 = wire.clone();
            let present = if m.required { 8 } else { 3 };
            prop_oneof![
                1 => Just(Vec::new()),
                present => value.clone().prop_map(move |v| vec![format!("{w1}={v}")]),
                1 => (value.clone(), value).prop_map(move |(a, b)| vec![format!("{w2}={a}"), format!("{w2}={b}")]),
                1 => Just(vec![wire.clone()]),
            ]
            .boxed()
        })
        .collect();
    let extra = proptest::collection::vec(
        proptest::sample::select(vec!["zz=1", "%zz=1", "%FF=%FE", "=x", "&&", "id", "a=%"]),
        0..2,
    );
    (params, extra)
        .prop_map(|(params, extra)| {
            let mut parts: Vec<String> = params.into_iter().flatten().collect();
            parts.extend(extra.into_iter().map(str::to_string));
            parts.join("&")
        })
        .boxed()
}

/// Whole bodies that are not what any operation takes.
fn broken_bodies() -> Vec<Vec<u8>> {
    let mut bodies = vec![
        Vec::new(),
        b"   ".to_vec(),
        b"{".to_vec(),
        b"{} {}".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        b"\"string\"".to_vec(),
        b"1e400".to_vec(),
        b"\xef\xbb\xbf{}".to_vec(),
        b"{\"a\":\"\xff\"}".to_vec(),
        b"{\"a\":\"\\ud800\"}".to_vec(),
        b"\x00\x01\x02\x03".to_vec(),
        b"id=waba-1&x=y".to_vec(),
        b"<xml/>".to_vec(),
    ];
    bodies.push(deep_arrays());
    bodies.push(deep_objects());
    bodies
}

fn case_strategy(op: &'static OperationFacts) -> BoxedStrategy<Case> {
    let ShapeKind::Structure { members } = &shape(&op.input).kind else {
        panic!("{}: input is not a structure", op.name)
    };
    let body = prop_oneof![
        8 => object_strategy(members, 2),
        2 => proptest::sample::select(broken_bodies()),
        1 => proptest::collection::vec(any::<u8>(), 0..64),
        1 => object_strategy(members, 2).prop_map(|mut b| { b.pop(); b }),
    ];
    let content_type = proptest::sample::select(vec![
        Some("application/json"),
        Some("application/json"),
        Some("application/x-amz-json-1.1"),
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/json; charset=utf-16"),
        None,
    ]);
    (query_strategy(members), body, content_type, proptest::bool::weighted(0.1))
        .prop_map(|(query, body, content_type, trailing_slash)| Case {
            query,
            body,
            content_type,
            trailing_slash,
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// The tests.

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// An emulator with its clock frozen, so that no timer changes the state between snapshots.
async fn frozen_emulator() -> Emulator {
    let emu = emulator().await;
    Control::new(&emu).freeze(true).await;
    emu
}

/// One seed per operation: the runs are reproducible and each operation gets its own inputs.
fn rng_for(op: &str) -> TestRng {
    let mut seed = [0u8; 32];
    for (i, b) in op.bytes().enumerate() {
        seed[i % 32] = seed[i % 32].wrapping_mul(31).wrapping_add(b);
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &seed)
}

#[test]
fn every_operation_survives_random_and_boundary_breaking_input() {
    let rt = runtime();
    let mut failures = Vec::new();
    let mut answered = 0u32;
    let mut rejected = 0u32;
    for op in model().operations.values() {
        let emu = rt.block_on(frozen_emulator());
        let before = std::cell::RefCell::new(snapshot(&emu));
        let config = Config {
            cases: cases_per_operation(),
            failure_persistence: None,
            max_shrink_iters: 64,
            ..Config::default()
        };
        let mut runner = TestRunner::new_with_rng(config, rng_for(&op.name));
        let counts = std::cell::Cell::new((0u32, 0u32));
        let result = runner.run(&case_strategy(op), |case| {
            let mut before = before.borrow_mut();
            let answer =
                rt.block_on(check(&emu, op, &case, &mut before)).map_err(TestCaseError::fail)?;
            let (a, r) = counts.get();
            counts.set((a + 1, r + u32::from(answer.status >= 400)));
            Ok(())
        });
        let (a, r) = counts.get();
        answered += a;
        rejected += r;
        match result {
            Ok(()) => {}
            Err(TestError::Fail(reason, case)) => {
                failures.push(format!("{}: {reason}\n  minimal input: {case:?}", op.name));
            }
            Err(TestError::Abort(reason)) => {
                failures.push(format!("{}: aborted: {reason}", op.name))
            }
        }
        drop(emu);
    }
    eprintln!("{answered} random requests, {rejected} refused");
    assert!(
        failures.is_empty(),
        "{} operation(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The inputs are meant to break things: nearly all must have been refused.
    assert!(rejected * 10 >= answered * 9, "only {rejected} of {answered} requests were refused");
}

/// Every operation, every member: a value of the wrong JSON type (with every other required
/// member good) is a `ValidationException` naming that member, and changes nothing.
#[test]
fn a_wrong_type_in_any_member_is_a_validation_error_naming_it() {
    let rt = runtime();
    let mut failures = Vec::new();
    for op in model().operations.values() {
        let emu = rt.block_on(frozen_emulator());
        let mut before = snapshot(&emu);
        let ShapeKind::Structure { members } = &shape(&op.input).kind else { unreachable!() };
        let good_query = |skip: &str| -> Vec<String> {
            members
                .iter()
                .filter(|m| m.required && m.name != skip)
                .filter_map(|m| {
                    let wire = m.query.as_ref()?;
                    let v = match good(shape(&m.shape)) {
                        Value::String(s) => {
                            percent_encoding::utf8_percent_encode(&s, QUERY).to_string()
                        }
                        other => other.to_string(),
                    };
                    Some(format!("{wire}={v}"))
                })
                .collect()
        };
        let good_body = |skip: &str| -> serde_json::Map<String, Value> {
            members
                .iter()
                .filter(|m| m.required && m.query.is_none() && m.name != skip)
                .map(|m| (m.name.clone(), good_member(m)))
                .collect()
        };
        for member in members {
            let member_shape = shape(&member.shape);
            let case = match &member.query {
                Some(wire) => {
                    // A query string is text: only numbers and booleans have a wrong type.
                    let wrong = match member_shape.kind {
                        ShapeKind::Integer | ShapeKind::Long => "ten",
                        ShapeKind::Boolean => "yes",
                        _ => continue,
                    };
                    let mut query = good_query(&member.name);
                    query.push(format!("{wire}={wrong}"));
                    Case {
                        query: query.join("&"),
                        body: json_bytes(&Value::Object(good_body(""))),
                        content_type: Some("application/json"),
                        trailing_slash: false,
                    }
                }
                None => {
                    let wrong = match member_shape.kind {
                        ShapeKind::String | ShapeKind::Blob | ShapeKind::Timestamp => json!([1]),
                        _ => json!("wrong type"),
                    };
                    let mut body = good_body(&member.name);
                    body.insert(member.name.clone(), wrong);
                    Case {
                        query: good_query("").join("&"),
                        body: json_bytes(&Value::Object(body)),
                        content_type: Some("application/json"),
                        trailing_slash: false,
                    }
                }
            };
            let answer = rt.block_on(check(&emu, op, &case, &mut before));
            let result = answer.and_then(|a| {
                let named = format!("at '{}'", member.name);
                if a.error_type.as_deref() == Some("ValidationException") && a.body.contains(&named)
                {
                    Ok(())
                } else {
                    Err(format!(
                        "expected a ValidationException {named}, got {} {}",
                        a.status, a.body
                    ))
                }
            });
            if let Err(e) = result {
                failures.push(format!("{}.{}: {e}\n  input: {case:?}", op.name, member.name));
            }
        }
    }
    assert!(failures.is_empty(), "{} member(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// Every operation gets each broken body and each broken query encoding once (the random test
/// may not draw all of them for every operation). A body that is not a JSON object is refused by
/// every operation that takes a body; a broken query is refused or, where it names no member of
/// an operation without required members, ignored.
#[test]
fn every_operation_refuses_each_broken_body_and_query_encoding() {
    let rt = runtime();
    let mut failures = Vec::new();
    let queries = ["%zz", "id=%zz", "id=%FF%FE", "%FF%FE=1", "id=a&id=b", "id", "=", "&&&", "id=%"];
    for op in model().operations.values() {
        let emu = rt.block_on(frozen_emulator());
        let mut before = snapshot(&emu);
        let ShapeKind::Structure { members } = &shape(&op.input).kind else { unreachable!() };
        let has_body = members.iter().any(|m| m.query.is_none());
        let requires_body = members.iter().any(|m| m.query.is_none() && m.required);
        let mut cases: Vec<(Case, bool)> = Vec::new();
        if has_body {
            for body in broken_bodies() {
                let must_refuse = requires_body || !body.iter().all(u8::is_ascii_whitespace);
                let case = Case {
                    query: String::new(),
                    body,
                    content_type: Some("application/json"),
                    trailing_slash: false,
                };
                cases.push((case, must_refuse));
            }
        }
        for q in queries {
            let case = Case {
                query: q.to_string(),
                body: Vec::new(),
                content_type: None,
                trailing_slash: false,
            };
            cases.push((case, false));
        }
        for (case, must_refuse) in cases {
            match rt.block_on(check(&emu, op, &case, &mut before)) {
                Ok(a) if a.status >= 400 || !must_refuse => {}
                Ok(a) => failures
                    .push(format!("{}: accepted ({} {}): {case:?}", op.name, a.status, a.body)),
                Err(e) => failures.push(format!("{}: {e}\n  input: {case:?}", op.name)),
            }
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

/// Hostile blob contents reach the operations' own decoders (Meta's message object here) and are
/// refused there as Meta does, not by a crash or a hang.
#[test]
fn hostile_message_blobs_are_refused_as_invalid_parameters() {
    let rt = runtime();
    let op = model().operation("SendWhatsAppMessage");
    let emu = rt.block_on(frozen_emulator());
    let mut before = snapshot(&emu);
    for content in hostile_blob_contents() {
        let body = json!({
            "originationPhoneNumberId": PHONE_1,
            "metaApiVersion": "v20.0",
            "message": STANDARD.encode(&content),
        });
        let case = Case {
            query: String::new(),
            body: json_bytes(&body),
            content_type: Some("application/json"),
            trailing_slash: false,
        };
        let answer = rt.block_on(check(&emu, op, &case, &mut before)).unwrap_or_else(|e| {
            panic!("{e}: {case:?}");
        });
        assert_eq!(answer.status, 400, "{}: {case:?}", answer.body);
        assert_eq!(
            answer.error_type.as_deref(),
            Some("InvalidParametersException"),
            "{}: {case:?}",
            answer.body
        );
    }
}
