//! Fault injection: rules that pick requests (by operation, account, Region, WABA or phone
//! number) and make them fail — with an error the operation declares, with a Meta error on the
//! asynchronous path (SendWhatsAppMessage is accepted, then the message fails), after added
//! latency, or by dropping the connection without an answer.
//!
//! Rules are evaluated in the order they were added. Each rule that matches a request counts it
//! (`matched`); it fires when its counts allow it (`first` N matches, `everyNth` match, at most
//! `maxFirings`) and then its `probability` (drawn from one RNG, seeded by `--seed-rng` for
//! reproducible runs). Latency of every firing rule adds up; the first firing rule with an
//! outcome (error, Meta error, drop) decides, and later rules are not evaluated.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{ApiError, ErrorKind};
use crate::meta::errors::MetaError;
use crate::model::Operation;
use crate::model::{Model, ShapeKind};
use crate::state::Store;
use crate::state::ids::{self, Caller, ResourceKind};

/// Longest latency a rule may add.
pub const MAX_LATENCY_MS: u64 = 600_000;
/// Most rules kept at once.
pub const MAX_RULES: usize = 1_000;

/// A rule as written in `--faults FILE` or `POST /_emulator/faults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleSpec {
    /// Operation name (e.g. `SendWhatsAppMessage`); any operation when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `waba-…` or its ARN; matches requests naming the WABA or one of its phone numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waba_id: Option<String>,
    /// `phone-number-id-…` or its ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    /// Chance of firing once the counts allow it (0 to 1; default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Fires only on the first N matching calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<u64>,
    /// Fires only on every Nth matching call (the Nth, 2Nth, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every_nth: Option<u64>,
    /// Fires at most this many times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_firings: Option<u64>,
    /// An error the operation declares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorSpec>,
    /// SendWhatsAppMessage only: accepted, then the message fails with this Meta error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_error: Option<MetaErrorSpec>,
    /// Added before the request is served (or before the other outcome).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// The connection is closed without an answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_connection: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    /// The error shape, e.g. `ThrottledRequestException`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaErrorSpec {
    pub code: u32,
    /// Meta's title for the code when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Meta's details for the code when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// What a firing rule does besides latency.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Error(ApiError),
    Meta(MetaError),
    Drop,
}

/// A validated rule with its counters.
#[derive(Debug, Clone)]
struct Rule {
    id: u64,
    spec: RuleSpec,
    operation: Option<Operation>,
    waba_hex: Option<String>,
    phone_hex: Option<String>,
    latency: Duration,
    outcome: Option<Outcome>,
    matched: u64,
    fired: u64,
}

/// Parses a rule body; errors name the field.
pub fn parse_spec(value: Value) -> Result<RuleSpec, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        if path == "." { e.inner().to_string() } else { format!("{path}: {}", e.inner()) }
    })
}

/// `--faults FILE`: a JSON list of rules, each checked.
pub fn load_file(path: &str) -> Result<Vec<RuleSpec>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--faults {path}: cannot read the file: {e}"))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| format!("--faults {path}: not valid JSON: {e}"))?;
    let Value::Array(items) = value else {
        return Err(format!("--faults {path}: expected a JSON list of rules"));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let spec = parse_spec(item).map_err(|e| format!("--faults {path}: rule {i}: {e}"))?;
            Rule::from_spec(0, spec.clone())
                .map_err(|e| format!("--faults {path}: rule {i}: {e}"))?;
            Ok(spec)
        })
        .collect()
}

fn hex_of(kind: ResourceKind, id: &str) -> Option<String> {
    let prefix = match kind {
        ResourceKind::Waba => "waba-",
        ResourceKind::PhoneNumber => "phone-number-id-",
    };
    if let Some(hex) = id.strip_prefix(prefix) {
        return Some(hex.to_string());
    }
    ids::parse_arn(id).filter(|arn| arn.kind == kind).map(|arn| arn.hex.to_string())
}

impl Rule {
    fn from_spec(id: u64, spec: RuleSpec) -> Result<Rule, String> {
        let operation = match &spec.operation {
            Some(name) => Some(Operation::from_name(name).ok_or_else(|| {
                format!("operation: unknown operation {name:?} (names are as in the API, e.g. SendWhatsAppMessage)")
            })?),
            None => None,
        };
        if let Some(account) = &spec.account
            && !ids::is_account_id(account)
        {
            return Err(format!("account: {account:?} is not a 12-digit AWS account id"));
        }
        if spec.region.as_deref().is_some_and(str::is_empty) {
            return Err("region: must not be empty".into());
        }
        let waba_hex =
            match &spec.waba_id {
                Some(w) => Some(hex_of(ResourceKind::Waba, w).ok_or_else(|| {
                    format!("wabaId: {w:?} is neither a waba-… id nor a WABA ARN")
                })?),
                None => None,
            };
        let phone_hex = match &spec.phone_number_id {
            Some(p) => Some(hex_of(ResourceKind::PhoneNumber, p).ok_or_else(|| {
                format!("phoneNumberId: {p:?} is neither a phone-number-id-… id nor its ARN")
            })?),
            None => None,
        };
        if let Some(p) = spec.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(format!("probability: must be from 0 to 1, got {p}"));
        }
        for (field, value) in
            [("first", spec.first), ("everyNth", spec.every_nth), ("maxFirings", spec.max_firings)]
        {
            if value == Some(0) {
                return Err(format!("{field}: must be at least 1"));
            }
        }
        if spec.latency_ms.is_some_and(|ms| ms > MAX_LATENCY_MS) {
            return Err(format!("latencyMs: at most {MAX_LATENCY_MS}"));
        }
        let drop = spec.drop_connection == Some(true);
        let outcomes = usize::from(spec.error.is_some())
            + usize::from(spec.meta_error.is_some())
            + usize::from(drop);
        if outcomes > 1 {
            return Err("give at most one of error, metaError and dropConnection".into());
        }
        if outcomes == 0 && spec.latency_ms.is_none() {
            return Err(
                "give what the rule does: error, metaError, dropConnection and/or latencyMs".into(),
            );
        }
        let outcome = if let Some(e) = &spec.error {
            let kind = ErrorKind::from_shape(&e.kind).ok_or_else(|| {
                format!("error.type: {:?} is not an error of the socialmessaging model", e.kind)
            })?;
            let model = Model::get();
            let undeclared: Vec<&str> = Operation::ALL
                .iter()
                .filter(|op| operation.is_none_or(|o| o == **op))
                .filter(|op| !model.operation(op.name()).errors.contains(&kind))
                .map(|op| op.name())
                .collect();
            if let Some(op) = operation.filter(|_| !undeclared.is_empty()) {
                let declared: Vec<&str> =
                    model.operation(op.name()).errors.iter().map(|k| k.shape()).collect();
                return Err(format!(
                    "error.type: {} does not declare {} (it declares {})",
                    op.name(),
                    e.kind,
                    declared.join(", ")
                ));
            }
            if !undeclared.is_empty() {
                return Err(format!(
                    "error.type: {} is not declared by every operation (not by {}): name the operation",
                    e.kind,
                    undeclared.join(", ")
                ));
            }
            let message =
                e.message.clone().unwrap_or_else(|| format!("Injected fault: {}", kind.shape()));
            Some(Outcome::Error(ApiError::new(kind, message)))
        } else if let Some(m) = &spec.meta_error {
            if operation != Some(Operation::SendWhatsAppMessage) {
                return Err("metaError: applies to SendWhatsAppMessage only (set operation to SendWhatsAppMessage)".into());
            }
            if m.code == 0 {
                return Err("metaError.code: must be a Meta error code, e.g. 131026".into());
            }
            let mut error = MetaError::new(m.code);
            if let Some(title) = &m.title {
                error.title = title.clone().into();
            }
            if let Some(details) = &m.details {
                error.details = details.clone().into();
            }
            Some(Outcome::Meta(error))
        } else if drop {
            Some(Outcome::Drop)
        } else {
            None
        };
        Ok(Rule {
            id,
            latency: Duration::from_millis(spec.latency_ms.unwrap_or(0)),
            spec,
            operation,
            waba_hex,
            phone_hex,
            outcome,
            matched: 0,
            fired: 0,
        })
    }

    fn has_resource_filter(&self) -> bool {
        self.waba_hex.is_some() || self.phone_hex.is_some()
    }

    fn matches(&self, caller: &impl Caller, op: Operation, targets: &Targets) -> bool {
        self.operation.is_none_or(|o| o == op)
            && self.spec.account.as_ref().is_none_or(|a| a == caller.account())
            && self.spec.region.as_ref().is_none_or(|r| r == caller.region())
            && self.waba_hex.as_ref().is_none_or(|w| targets.wabas.contains(w))
            && self.phone_hex.as_ref().is_none_or(|p| targets.phones.contains(p))
    }

    fn to_json(&self) -> Value {
        let mut out = json!({ "id": self.id });
        if let Ok(Value::Object(spec)) = serde_json::to_value(&self.spec) {
            out.as_object_mut().into_iter().for_each(|o| o.extend(spec.clone()));
        }
        out["matched"] = json!(self.matched);
        out["fired"] = json!(self.fired);
        out
    }
}

/// The WABAs and phone numbers a request names (32-hex ids), from its input members of the
/// model's id shapes (`LinkedWhatsAppBusinessAccountId`, `WhatsAppPhoneNumberId`, `Arn`), in
/// either form; a phone number's WABA counts as named too.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Targets {
    pub wabas: Vec<String>,
    pub phones: Vec<String>,
}

/// The top-level body members that carry ids (read without building the whole JSON tree).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BodyIds {
    id: Option<Value>,
    origination_phone_number_id: Option<Value>,
    resource_arn: Option<Value>,
}

impl Targets {
    pub fn of(
        store: &Store,
        caller: &impl Caller,
        op: Operation,
        query: &[(String, String)],
        body: &[u8],
    ) -> Targets {
        let model = Model::get();
        let facts = model.operation(op.name());
        let ShapeKind::Structure { members } = &model.shape(&facts.input).kind else {
            return Targets::default();
        };
        let mut body_ids: Option<BodyIds> = None;
        let mut targets = Targets::default();
        for member in members {
            let kinds: &[ResourceKind] = match member.shape.as_str() {
                "LinkedWhatsAppBusinessAccountId" => &[ResourceKind::Waba],
                "WhatsAppPhoneNumberId" => &[ResourceKind::PhoneNumber],
                "Arn" => &[ResourceKind::Waba, ResourceKind::PhoneNumber],
                _ => continue,
            };
            let value = match &member.query {
                Some(wire) => query.iter().find(|(k, _)| k == wire).map(|(_, v)| v.clone()),
                None => {
                    let ids = body_ids
                        .get_or_insert_with(|| serde_json::from_slice(body).unwrap_or_default());
                    match member.name.as_str() {
                        "id" => ids.id.as_ref(),
                        "originationPhoneNumberId" => ids.origination_phone_number_id.as_ref(),
                        "resourceArn" => ids.resource_arn.as_ref(),
                        _ => None,
                    }
                    .and_then(Value::as_str)
                    .map(str::to_string)
                }
            };
            let Some(value) = value else { continue };
            for kind in kinds {
                if let Some(hex) = hex_of(*kind, &value) {
                    match kind {
                        ResourceKind::Waba => targets.wabas.push(hex),
                        ResourceKind::PhoneNumber => targets.phones.push(hex),
                    }
                }
            }
        }
        if !targets.phones.is_empty() {
            let partition = store.existing_or_empty(caller.account(), caller.region());
            let p = partition.read().unwrap_or_else(PoisonError::into_inner);
            for waba in p.wabas.values() {
                if waba.phone_numbers.iter().any(|n| targets.phones.contains(&n.hex))
                    && !targets.wabas.contains(&waba.hex)
                {
                    targets.wabas.push(waba.hex.clone());
                }
            }
        }
        targets
    }
}

/// What the rules decided for one request.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Decision {
    pub latency: Duration,
    pub outcome: Option<Outcome>,
    /// The rule whose outcome applies, else the last rule that added latency.
    pub rule: Option<u64>,
}

/// The rules of a running emulator.
pub struct Faults {
    inner: Mutex<Inner>,
    /// Whether any rule exists (the request path skips the lock when none does).
    any: AtomicBool,
    /// Whether any rule filters by WABA or phone number (only then are ids read).
    by_resource: AtomicBool,
    seed: Option<u64>,
}

struct Inner {
    rules: Vec<Rule>,
    next_id: u64,
    rng: StdRng,
}

fn new_rng(seed: Option<u64>) -> StdRng {
    match seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => rand::make_rng(),
    }
}

impl Faults {
    /// Rules from `specs` (already checked; one that is not is skipped with an error logged).
    pub fn new(specs: &[RuleSpec], seed: Option<u64>) -> Self {
        let faults = Faults {
            inner: Mutex::new(Inner { rules: Vec::new(), next_id: 1, rng: new_rng(seed) }),
            any: AtomicBool::new(false),
            by_resource: AtomicBool::new(false),
            seed,
        };
        for spec in specs {
            if let Err(e) = faults.add(spec.clone()) {
                tracing::error!(%e, "fault rule skipped");
            }
        }
        faults
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn refresh_flags(&self, inner: &Inner) {
        self.any.store(!inner.rules.is_empty(), Ordering::Relaxed);
        self.by_resource
            .store(inner.rules.iter().any(Rule::has_resource_filter), Ordering::Relaxed);
    }

    /// Adds a rule; returns it as listed.
    pub fn add(&self, spec: RuleSpec) -> Result<Value, String> {
        let mut inner = self.lock();
        if inner.rules.len() >= MAX_RULES {
            return Err(format!("at most {MAX_RULES} rules: delete some first"));
        }
        let rule = Rule::from_spec(inner.next_id, spec)?;
        inner.next_id += 1;
        let out = rule.to_json();
        inner.rules.push(rule);
        self.refresh_flags(&inner);
        Ok(out)
    }

    pub fn list(&self) -> Value {
        let inner = self.lock();
        json!({
            "rules": inner.rules.iter().map(Rule::to_json).collect::<Vec<_>>(),
            "seedRng": self.seed,
        })
    }

    /// Removes rule `id`; false when there is none.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let before = inner.rules.len();
        inner.rules.retain(|r| r.id != id);
        self.refresh_flags(&inner);
        inner.rules.len() < before
    }

    /// Removes every rule; returns how many there were.
    pub fn clear(&self) -> usize {
        let mut inner = self.lock();
        let n = inner.rules.len();
        inner.rules.clear();
        self.refresh_flags(&inner);
        n
    }

    /// `POST /_emulator/reset`: the rules stay (configuration, like SNS subscriptions); their
    /// counters start again and the RNG is seeded again.
    pub fn reset_counters(&self) {
        let mut inner = self.lock();
        for rule in &mut inner.rules {
            rule.matched = 0;
            rule.fired = 0;
        }
        inner.rng = new_rng(self.seed);
    }

    /// Evaluates the rules for a request.
    pub fn decide(
        &self,
        store: &Store,
        caller: &impl Caller,
        op: Operation,
        query: &[(String, String)],
        body: &[u8],
    ) -> Decision {
        if !self.any.load(Ordering::Relaxed) {
            return Decision::default();
        }
        // Ids are read before taking the lock: the body may be large.
        let targets = if self.by_resource.load(Ordering::Relaxed) {
            Targets::of(store, caller, op, query, body)
        } else {
            Targets::default()
        };
        let mut inner = self.lock();
        let Inner { rules, rng, .. } = &mut *inner;
        let mut decision = Decision::default();
        for rule in rules.iter_mut() {
            if !rule.matches(caller, op, &targets) {
                continue;
            }
            rule.matched += 1;
            let n = rule.matched;
            let counted = rule.spec.first.is_none_or(|f| n <= f)
                && rule.spec.every_nth.is_none_or(|e| n % e == 0)
                && rule.spec.max_firings.is_none_or(|m| rule.fired < m);
            if !counted || !rule.spec.probability.is_none_or(|p| rng.random_bool(p)) {
                continue;
            }
            rule.fired += 1;
            decision.latency += rule.latency;
            decision.rule = Some(rule.id);
            if let Some(outcome) = &rule.outcome {
                decision.outcome = Some(outcome.clone());
                break;
            }
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> Store {
        Store::new(crate::state::Seed::default_seed())
    }

    /// A caller of the seed's account and Region.
    struct Seeded;

    impl Caller for Seeded {
        fn account(&self) -> &str {
            "809904170947"
        }
        fn region(&self) -> &str {
            "us-east-1"
        }
    }

    fn spec(value: Value) -> RuleSpec {
        parse_spec(value).unwrap()
    }

    fn fired(faults: &Faults, store: &Store, op: Operation, n: usize) -> Vec<bool> {
        (0..n).map(|_| faults.decide(store, &Seeded, op, &[], b"{}").outcome.is_some()).collect()
    }

    #[test]
    fn counts_first_every_nth_and_max() {
        let state = state();
        let err = json!({ "type": "InternalServiceException" });
        let first = Faults::new(
            &[spec(json!({ "operation": "SendWhatsAppMessage", "first": 2, "error": err }))],
            None,
        );
        assert_eq!(
            fired(&first, &state, Operation::SendWhatsAppMessage, 4),
            [true, true, false, false]
        );
        let every = Faults::new(
            &[spec(
                json!({ "everyNth": 3, "maxFirings": 2, "error": { "type": "ThrottledRequestException" } }),
            )],
            None,
        );
        assert_eq!(
            fired(&every, &state, Operation::TagResource, 10),
            [false, false, true, false, false, true, false, false, false, false]
        );
        assert_eq!(every.list()["rules"][0]["matched"], 10);
        assert_eq!(every.list()["rules"][0]["fired"], 2);
        every.reset_counters();
        assert_eq!(every.list()["rules"][0]["fired"], 0);
    }

    #[test]
    fn a_seed_makes_probability_reproducible() {
        let state = state();
        let rule =
            spec(json!({ "probability": 0.5, "error": { "type": "ThrottledRequestException" } }));
        let a = fired(
            &Faults::new(std::slice::from_ref(&rule), Some(7)),
            &state,
            Operation::TagResource,
            64,
        );
        let b = fired(
            &Faults::new(std::slice::from_ref(&rule), Some(7)),
            &state,
            Operation::TagResource,
            64,
        );
        assert_eq!(a, b);
        assert!(a.contains(&true) && a.contains(&false));
    }

    #[test]
    fn resource_filters_take_both_forms_and_a_phone_names_its_waba() {
        let state = state();
        let hex = "0aae9cf04cf24c66960f291c793359b4";
        let arn = ids::waba_arn("809904170947", "us-east-1", hex);
        let faults = Faults::new(&[spec(json!({ "wabaId": arn, "latencyMs": 1 }))], None);
        let ctx = Seeded;
        let by_id = [("id".to_string(), format!("waba-{hex}"))];
        let d =
            faults.decide(&state, &ctx, Operation::GetLinkedWhatsAppBusinessAccount, &by_id, b"");
        assert_eq!(d.latency, Duration::from_millis(1));
        let other = [("id".to_string(), "waba-00000000000000000000000000000000".to_string())];
        let d =
            faults.decide(&state, &ctx, Operation::GetLinkedWhatsAppBusinessAccount, &other, b"");
        assert_eq!(d, Decision::default());
        let send =
            br#"{"originationPhoneNumberId": "phone-number-id-baa217c3f11b4ffd956f6f3afb44ce54"}"#;
        let d = faults.decide(&state, &ctx, Operation::SendWhatsAppMessage, &[], send);
        assert_eq!(d.rule, Some(1), "the phone number belongs to the WABA");
    }

    #[test]
    fn bad_rules_name_the_field() {
        for (rule, field) in [
            (json!({ "operation": "Nope", "latencyMs": 1 }), "operation"),
            (json!({ "probability": 2, "latencyMs": 1 }), "probability"),
            (json!({ "probability": "x", "latencyMs": 1 }), "probability"),
            (json!({ "first": 0, "latencyMs": 1 }), "first"),
            (json!({ "wabaId": "nope", "latencyMs": 1 }), "wabaId"),
            (json!({ "phoneNumberId": "waba-1", "latencyMs": 1 }), "phoneNumberId"),
            (json!({ "account": "abc", "latencyMs": 1 }), "account"),
            (json!({ "latencyMs": 10_000_000 }), "latencyMs"),
            (
                json!({ "operation": "TagResource", "error": { "type": "ResourceNotFoundException" } }),
                "error.type",
            ),
            (json!({ "error": { "type": "ResourceNotFoundException" } }), "error.type"),
            (json!({ "error": { "type": "NopeException" } }), "error.type"),
            (json!({ "error": { "message": "x" } }), "error"),
            (json!({ "metaError": { "code": 131026 } }), "metaError"),
            (
                json!({ "operation": "SendWhatsAppMessage", "metaError": { "code": "x" } }),
                "metaError.code",
            ),
            (json!({ "colour": "red" }), "colour"),
            (json!({}), "give what"),
            (
                json!({ "dropConnection": true, "error": { "type": "ValidationException" } }),
                "give at most",
            ),
        ] {
            let e = parse_spec(rule.clone()).and_then(|s| Rule::from_spec(1, s).map(|_| ()));
            let e = e.unwrap_err();
            assert!(e.starts_with(field), "{rule}: {e}");
        }
    }
}
