//! JSON kept serialized.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// A JSON document kept serialized: built once, shared between the log, the control API and the
/// SNS deliveries, and written out as is.
#[derive(Debug, Clone)]
pub struct RawJson(Arc<RawValue>);

impl RawJson {
    /// Serializes `value` (which must serialize to JSON: derived `Serialize` types do).
    pub fn of<T: Serialize + ?Sized>(value: &T) -> RawJson {
        let raw = serde_json::value::to_raw_value(value)
            .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"));
        RawJson(Arc::from(raw))
    }

    /// `text` kept as it is (surrounding whitespace aside), if it is one JSON value.
    pub fn parse(text: &str) -> Option<RawJson> {
        let raw: &RawValue = serde_json::from_str(text).ok()?;
        Some(RawJson(Arc::from(raw.to_owned())))
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (*self.0).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<RawJson, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(RawJson::of(&value))
    }
}

/// `#[serde(with = "pairs")]`: a map with non-string keys as `[[key, value], …]`.
pub mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Ord + Deserialize<'de>,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}
