//! AWS API rate limits: one token bucket per (account, Region, operation), refilled on real
//! (monotonic) time, as the service's request quotas apply. Over the limit a request is answered
//! `ThrottledRequestException` (429), which every operation declares.
//!
//! The buckets are `governor` rate limiters (GCRA, the token bucket's equivalent): `rate` tokens
//! per second, holding at most `burst`. A fresh bucket is full.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ErrorKind};
use crate::model::Operation;

/// Highest rate and burst accepted (a million per second is "no limit" for a local emulator).
pub const MAX_RATE: f64 = 1_000_000.0;
pub const MAX_BURST: u32 = 1_000_000;

/// One operation's limit: `rate` requests per second, bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    pub rate: f64,
    pub burst: u32,
}

impl Limit {
    /// Checks the figures; the error names `field` (e.g. `operations.SendWhatsAppMessage`).
    pub fn check(&self, field: &str) -> Result<(), String> {
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= MAX_RATE) {
            return Err(format!(
                "{field}.rate must be a number of requests per second > 0 and <= {MAX_RATE}, got {}",
                self.rate
            ));
        }
        if !(1..=MAX_BURST).contains(&self.burst) {
            return Err(format!(
                "{field}.burst must be an integer from 1 to {MAX_BURST}, got {}",
                self.burst
            ));
        }
        Ok(())
    }

    fn quota(&self) -> Quota {
        let period = Duration::from_secs_f64(1.0 / self.rate).max(Duration::from_nanos(1));
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst)
    }
}

/// The documented default rate of an operation (requests per second per account and Region).
///
/// AWS documents SendWhatsAppMessage (1,000), the three media operations (100 each),
/// DisassociateWhatsAppBusinessAccount, ListLinkedWhatsAppBusinessAccounts and the tag
/// operations (10 each). The rest are this emulator's choice: the other WABA, phone number and
/// template operations 10 like the documented ones, the per-message and per-call operations
/// (SendWhatsAppCallEvent, GetWhatsAppCallPermission, SendWhatsAppConversionEvent) 100, and
/// flows, datasets, public keys and template media 10.
pub fn real_rate(op: Operation) -> f64 {
    use Operation::*;
    match op {
        SendWhatsAppMessage => 1_000.0,
        PostWhatsAppMessageMedia | GetWhatsAppMessageMedia | DeleteWhatsAppMessageMedia => 100.0,
        SendWhatsAppCallEvent | GetWhatsAppCallPermission | SendWhatsAppConversionEvent => 100.0,
        _ => 10.0,
    }
}

/// The real figures: each operation's documented rate, with a burst of one second's worth.
pub fn real_limit(op: Operation) -> Limit {
    let rate = real_rate(op);
    Limit { rate, burst: rate as u32 }
}

/// Where the figures in force came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Real,
    File(String),
    ControlApi,
}

/// The figures in force: whether they are enforced, and each operation's limit.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaSettings {
    pub enabled: bool,
    pub limits: HashMap<Operation, Limit>,
    pub source: Source,
}

impl Default for QuotaSettings {
    /// On, with the real figures.
    fn default() -> Self {
        QuotaSettings::real()
    }
}

impl QuotaSettings {
    pub fn real() -> Self {
        QuotaSettings {
            enabled: true,
            limits: Operation::ALL.iter().map(|op| (*op, real_limit(*op))).collect(),
            source: Source::Real,
        }
    }

    pub fn off() -> Self {
        QuotaSettings { enabled: false, ..QuotaSettings::real() }
    }

    /// `--quotas off|real|FILE`.
    pub fn from_arg(arg: &str) -> Result<Self, String> {
        match arg {
            "off" => Ok(QuotaSettings::off()),
            "real" => Ok(QuotaSettings::real()),
            path => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("--quotas {path}: cannot read the file: {e}"))?;
                let mut settings =
                    QuotaSettings::from_json(&text).map_err(|e| format!("--quotas {path}: {e}"))?;
                settings.source = Source::File(path.to_string());
                Ok(settings)
            }
        }
    }

    /// A quota file: `{"SendWhatsAppMessage": {"rate": 5, "burst": 10}, …}`; the operations it
    /// does not name keep the real figures.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let Value::Object(map) = value else {
            return Err(
                "expected a JSON object of operation name → {\"rate\": n, \"burst\": n}".into()
            );
        };
        let mut settings = QuotaSettings::real();
        settings.apply_limits(&map, "")?;
        Ok(settings)
    }

    /// Sets the limits of `map` (operation name → limit, `rate`/`burst` both optional when
    /// `partial`); errors name the field under `prefix`.
    fn apply_limits(&mut self, map: &Map<String, Value>, prefix: &str) -> Result<(), String> {
        let mut changed = Vec::new();
        for (name, value) in map {
            let field = format!("{prefix}{name}");
            let op = Operation::from_name(name).ok_or_else(|| {
                format!(
                    "{field}: unknown operation (names are as in the API, e.g. SendWhatsAppMessage)"
                )
            })?;
            let Value::Object(fields) = value else {
                return Err(format!("{field} must be an object {{\"rate\": n, \"burst\": n}}"));
            };
            let mut limit = self.limits.get(&op).copied().unwrap_or_else(|| real_limit(op));
            for (key, v) in fields {
                match key.as_str() {
                    "rate" => {
                        limit.rate = v.as_f64().ok_or_else(|| {
                            format!("{field}.rate must be a number of requests per second")
                        })?
                    }
                    "burst" => {
                        limit.burst = v
                            .as_u64()
                            .and_then(|b| u32::try_from(b).ok())
                            .ok_or_else(|| format!("{field}.burst must be a positive integer"))?
                    }
                    other => {
                        return Err(format!(
                            "{field}.{other}: unknown field (expected rate, burst)"
                        ));
                    }
                }
            }
            if fields.is_empty() {
                return Err(format!("{field}: give rate and/or burst"));
            }
            limit.check(&field)?;
            changed.push((op, limit));
        }
        self.limits.extend(changed);
        Ok(())
    }

    pub fn to_json(&self) -> Value {
        let operations: Map<String, Value> = Operation::ALL
            .iter()
            .map(|op| {
                let limit = self.limits.get(op).copied().unwrap_or_else(|| real_limit(*op));
                (op.name().to_string(), json!({ "rate": limit.rate, "burst": limit.burst }))
            })
            .collect();
        let source = match &self.source {
            Source::Real => "real".to_string(),
            Source::File(path) => format!("file:{path}"),
            Source::ControlApi => "control-api".to_string(),
        };
        json!({
            "enabled": self.enabled,
            "source": source,
            "scope": "per account, Region and operation",
            "refill": "real (monotonic) time",
            "operations": operations,
        })
    }
}

type Buckets = HashMap<String, HashMap<String, HashMap<Operation, DefaultDirectRateLimiter>>>;

/// The rate limits of a running emulator: the settings and the buckets.
///
/// A read lock serves the common case (the bucket exists; `governor` takes the token with an
/// atomic update), so requests of different accounts and operations do not queue on one lock.
pub struct Quotas {
    inner: RwLock<Inner>,
    throttled: AtomicU64,
}

struct Inner {
    settings: QuotaSettings,
    /// account → Region → operation → bucket (nested so a lookup allocates nothing).
    buckets: Buckets,
}

impl Quotas {
    pub fn new(settings: QuotaSettings) -> Self {
        Quotas {
            inner: RwLock::new(Inner { settings, buckets: HashMap::new() }),
            throttled: AtomicU64::new(0),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a token for `op` in (account, Region), or answers the throttling error.
    pub fn check(&self, account: &str, region: &str, op: Operation) -> Result<(), ApiError> {
        let (allowed, limit) = {
            let inner = self.read();
            if !inner.settings.enabled {
                return Ok(());
            }
            let limit = inner.settings.limits.get(&op).copied().unwrap_or_else(|| real_limit(op));
            let bucket =
                inner.buckets.get(account).and_then(|r| r.get(region)).and_then(|o| o.get(&op));
            (bucket.map(|b| b.check().is_ok()), limit)
        };
        let allowed = match allowed {
            Some(allowed) => allowed,
            None => {
                let mut inner = self.write();
                let bucket = inner
                    .buckets
                    .entry(account.to_string())
                    .or_default()
                    .entry(region.to_string())
                    .or_default()
                    .entry(op)
                    .or_insert_with(|| RateLimiter::direct(limit.quota()));
                bucket.check().is_ok()
            }
        };
        if allowed {
            return Ok(());
        }
        self.throttled.fetch_add(1, Ordering::Relaxed);
        Err(ApiError::new(
            ErrorKind::ThrottledRequest,
            format!(
                "Rate exceeded: {} is limited to {} requests per second (burst {}) per account and Region",
                op.name(),
                limit.rate,
                limit.burst
            ),
        ))
    }

    /// `GET /_emulator/quotas`
    pub fn to_json(&self) -> Value {
        let mut out = self.read().settings.to_json();
        out["throttled"] = json!(self.throttled.load(Ordering::Relaxed));
        out
    }

    pub fn settings(&self) -> QuotaSettings {
        self.read().settings.clone()
    }

    /// `PUT /_emulator/quotas`: `{"enabled": bool, "real": true, "operations": {Op: {"rate": n,
    /// "burst": n}}}`, all optional; applied in that order (`real` restores the real figures
    /// first). Nothing changes unless the whole body is valid. Changed operations start with
    /// full buckets.
    pub fn update(&self, body: &Value) -> Result<(), String> {
        let Value::Object(map) = body else {
            return Err("expected a JSON object".into());
        };
        let mut inner = self.write();
        let mut next = inner.settings.clone();
        for (key, value) in map {
            match key.as_str() {
                "enabled" | "real" | "operations" => {}
                other => {
                    return Err(format!(
                        "{other}: unknown field (expected enabled, real, operations)"
                    ));
                }
            }
            if key == "enabled" && !value.is_boolean() {
                return Err("enabled must be a boolean".into());
            }
            if key == "real" && !value.is_boolean() {
                return Err("real must be a boolean".into());
            }
        }
        if map.get("real") == Some(&Value::Bool(true)) {
            next = QuotaSettings { enabled: next.enabled, ..QuotaSettings::real() };
        }
        if let Some(enabled) = map.get("enabled").and_then(Value::as_bool) {
            next.enabled = enabled;
        }
        if let Some(ops) = map.get("operations") {
            let Value::Object(ops) = ops else {
                return Err("operations must be an object of operation name → {rate, burst}".into());
            };
            next.apply_limits(ops, "operations.")?;
            next.source = Source::ControlApi;
        }
        let changed: Vec<Operation> = Operation::ALL
            .iter()
            .copied()
            .filter(|op| next.limits.get(op) != inner.settings.limits.get(op))
            .collect();
        for regions in inner.buckets.values_mut() {
            for ops in regions.values_mut() {
                ops.retain(|op, _| !changed.contains(op));
            }
        }
        inner.settings = next;
        Ok(())
    }

    /// Full buckets again (the figures stay): `POST /_emulator/reset`.
    pub fn refill(&self) {
        self.write().buckets.clear();
        self.throttled.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_throttled() {
        let quotas = Quotas::new(QuotaSettings::real());
        let body = json!({ "operations": { "TagResource": { "rate": 0.001, "burst": 3 } } });
        quotas.update(&body).unwrap();
        for _ in 0..3 {
            quotas.check("111111111111", "us-east-1", Operation::TagResource).unwrap();
        }
        let e = quotas.check("111111111111", "us-east-1", Operation::TagResource).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ThrottledRequest);
        assert!(e.message.contains("TagResource") && e.message.contains("0.001"), "{}", e.message);
        // Other accounts, Regions and operations have their own buckets.
        quotas.check("222222222222", "us-east-1", Operation::TagResource).unwrap();
        quotas.check("111111111111", "eu-west-1", Operation::TagResource).unwrap();
        quotas.check("111111111111", "us-east-1", Operation::UntagResource).unwrap();
        quotas.update(&json!({ "enabled": false })).unwrap();
        quotas.check("111111111111", "us-east-1", Operation::TagResource).unwrap();
        assert_eq!(quotas.to_json()["throttled"], 1);
    }

    #[test]
    fn the_real_figures() {
        let real = QuotaSettings::real();
        assert_eq!(
            real.limits[&Operation::SendWhatsAppMessage],
            Limit { rate: 1000.0, burst: 1000 }
        );
        assert_eq!(real.limits[&Operation::PostWhatsAppMessageMedia].rate, 100.0);
        assert_eq!(real.limits[&Operation::CreateWhatsAppMessageTemplate].rate, 10.0);
        assert_eq!(real.limits.len(), Operation::ALL.len());
    }

    #[test]
    fn bad_bodies_name_the_field_and_change_nothing() {
        let quotas = Quotas::new(QuotaSettings::real());
        let before = quotas.to_json();
        for (body, field) in [
            (json!({ "enabled": "no" }), "enabled"),
            (json!({ "operations": { "Nope": { "rate": 1 } } }), "operations.Nope"),
            (
                json!({ "operations": { "TagResource": { "rate": 0 } } }),
                "operations.TagResource.rate",
            ),
            (
                json!({ "operations": { "TagResource": { "rate": -1 } } }),
                "operations.TagResource.rate",
            ),
            (
                json!({ "operations": { "TagResource": { "burst": 0 } } }),
                "operations.TagResource.burst",
            ),
            (
                json!({ "operations": { "TagResource": { "burst": 1.5 } } }),
                "operations.TagResource.burst",
            ),
            (
                json!({ "operations": { "TagResource": { "rat": 1 } } }),
                "operations.TagResource.rat",
            ),
            (json!({ "operations": [] }), "operations"),
            (json!({ "speed": 1 }), "speed"),
        ] {
            let e = quotas.update(&body).unwrap_err();
            assert!(e.starts_with(field), "{body}: {e}");
        }
        assert_eq!(quotas.to_json(), before);
    }

    #[test]
    fn quota_files() {
        let s = QuotaSettings::from_json(r#"{"SendWhatsAppMessage": {"rate": 5, "burst": 10}}"#)
            .unwrap();
        assert_eq!(s.limits[&Operation::SendWhatsAppMessage], Limit { rate: 5.0, burst: 10 });
        assert_eq!(s.limits[&Operation::TagResource], real_limit(Operation::TagResource));
        assert!(QuotaSettings::from_json("[]").is_err());
        assert!(QuotaSettings::from_json("{").unwrap_err().contains("JSON"));
        let e = QuotaSettings::from_json(r#"{"SendWhatsAppMessage": {"rate": "x"}}"#).unwrap_err();
        assert!(e.contains("SendWhatsAppMessage.rate"), "{e}");
        assert!(
            QuotaSettings::from_arg("/nonexistent/q.json").unwrap_err().contains("cannot read")
        );
        assert!(!QuotaSettings::from_arg("off").unwrap().enabled);
    }
}
