//! The WhatsApp side: what Meta does with a message after AWS accepts it. Message validation
//! ([`messages`]), Meta's error codes ([`errors`]), template checks at send time ([`templates`]),
//! sending, statuses, windows and limits ([`outbound`]), and customers writing in ([`inbound`]).

pub mod authentication;
pub mod bsuid;
pub mod calls;
pub mod effects;
pub mod errors;
pub mod flow_messages;
pub mod inbound;
pub mod media;
pub mod messages;
pub mod outbound;
pub mod portfolio;
pub mod template_lifecycle;
pub mod template_rules;
pub mod templates;

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use errors::MetaError;

/// Meta-side state of one partition (account, Region).
///
/// Sends and status timers run under the partition's *shared* lock (they change no resource):
/// what they change — the message logs, the traffic counters, the portfolios' reach and the
/// message order — sits behind locks of its own ([`Guarded`]), each held for one insert or one
/// counter update. Whoever holds the partition's exclusive lock reaches them without locking
/// (`get_mut`). Lock order, outer to inner: `outbound`, `inbound`, `traffic`, `portfolios`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetaState {
    /// Accepted outbound messages by `messageId`.
    pub outbound: Guarded<BoundedLog<OutboundMessage>>,
    /// Inbound messages by wamid.
    pub inbound: Guarded<BoundedLog<InboundMessage>>,
    /// Customer service windows: (phone hex, customer wa_id) → last inbound message, epoch ms.
    #[serde(with = "crate::json::pairs")]
    pub windows: BTreeMap<(String, String), i64>,
    /// Per phone number: throughput, business-initiated conversations, pair rates.
    pub traffic: Guarded<BTreeMap<String, PhoneTraffic>>,
    /// Messages recorded so far, in and out: orders a conversation's messages of one instant.
    #[serde(default)]
    pub recorded: std::sync::atomic::AtomicU64,
    /// Business-scoped user IDs assigned, and the customers each names.
    #[serde(default)]
    pub users: bsuid::Users,
    /// Messaging limits and the customers reached, per business portfolio.
    #[serde(default)]
    pub portfolios: Guarded<BTreeMap<String, portfolio::Portfolio>>,
}

impl MetaState {
    /// The position of the next message recorded (1, 2, …).
    pub fn next_order(&self) -> u64 {
        self.recorded.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }

    /// A business portfolio's limit and use (the default tier until one is set).
    pub fn portfolio(&mut self, id: &str) -> &mut portfolio::Portfolio {
        portfolio_entry(self.portfolios.get_mut(), id)
    }

    /// A customer's parent BSUID, where the portfolio has parent BSUIDs.
    pub fn parent_bsuid(&self, portfolio: &str, wa_id: &str) -> Option<String> {
        let portfolios = self.portfolios.lock();
        let parent = portfolios.get(portfolio)?.parent_business_id.as_deref()?;
        Some(bsuid::derive_parent(parent, wa_id))
    }

    /// A business portfolio's messaging limit tier.
    pub fn tier(&self, id: &str) -> portfolio::Tier {
        self.portfolios.lock().get(id).map(|p| p.messaging_limit_tier).unwrap_or_default()
    }
}

/// The portfolio `id` of `portfolios`, made with the defaults when it has none yet.
pub fn portfolio_entry<'a>(
    portfolios: &'a mut BTreeMap<String, portfolio::Portfolio>,
    id: &str,
) -> &'a mut portfolio::Portfolio {
    if !portfolios.contains_key(id) {
        portfolios.insert(id.to_string(), Default::default());
    }
    portfolios.get_mut(id).expect("present or inserted above")
}

/// A part of a partition that changes under the partition's shared lock: a mutex of its own,
/// whose waits are counted ([`crate::locks::PARTITION_PARTS`]). Exported and persisted as the
/// value it holds.
#[derive(Debug, Default)]
pub struct Guarded<T>(std::sync::Mutex<T>);

impl<T> Guarded<T> {
    pub fn new(value: T) -> Self {
        Guarded(std::sync::Mutex::new(value))
    }

    /// The value, locked (for a holder of the partition's shared lock; never across an await).
    pub fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        crate::locks::lock(&self.0, &crate::locks::PARTITION_PARTS)
    }

    /// The value, for the holder of the partition's exclusive lock (no locking).
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<T: Serialize> Serialize for Guarded<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.lock().serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Guarded<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Guarded::new)
    }
}

/// A map that keeps insertion order and forgets its oldest entry beyond a capacity, so that
/// message logs stay bounded however long the emulator runs. Values are boxed: the table stays
/// small (a full log of 10,000 inline messages was megabytes of buckets, most of them cold, that
/// every insert and eviction probed).
///
/// With persistence the log also records what changed since the last write ([`Self::track`]),
/// so that a write stores the messages that changed, not the log.
#[derive(Debug)]
pub struct BoundedLog<V> {
    map: hashbrown::HashMap<String, Box<V>>,
    order: VecDeque<String>,
    changes: Option<Box<LogChanges>>,
}

/// What changed in a tracked [`BoundedLog`] since [`BoundedLog::take_changes`].
#[derive(Debug, Default)]
pub struct LogChanges {
    /// Inserted, or handed out to change.
    pub changed: std::collections::HashSet<String>,
    /// Evicted.
    pub removed: std::collections::HashSet<String>,
}

impl<V> Default for BoundedLog<V> {
    fn default() -> Self {
        BoundedLog { map: hashbrown::HashMap::new(), order: VecDeque::new(), changes: None }
    }
}

/// Exported as `[[key, value], …]`, oldest first.
impl<V: Serialize> Serialize for BoundedLog<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.order.iter().filter_map(|k| self.map.get(k).map(|v| (k, v))))
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for BoundedLog<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut log = BoundedLog::default();
        for (key, value) in Vec::<(String, V)>::deserialize(d)? {
            if log.map.insert(key.clone(), Box::new(value)).is_none() {
                log.order.push_back(key);
            }
        }
        Ok(log)
    }
}

impl<V> BoundedLog<V> {
    /// Inserts, first evicting the oldest entries down to `capacity`; returns what was evicted
    /// (so that a caller holding a lock can free it after unlocking).
    pub fn insert(&mut self, key: String, value: V, capacity: usize) -> Vec<Box<V>> {
        let mut evicted = Vec::new();
        while self.map.len() >= capacity.max(1) {
            match self.order.pop_front() {
                Some(old) => {
                    evicted.extend(self.map.remove(&old));
                    if let Some(c) = &mut self.changes {
                        c.changed.remove(&old);
                        c.removed.insert(old);
                    }
                }
                None => break,
            }
        }
        if let Some(c) = &mut self.changes {
            c.removed.remove(&key);
            c.changed.insert(key.clone());
        }
        if self.map.insert(key.clone(), Box::new(value)).is_none() {
            self.order.push_back(key);
        }
        evicted
    }
    pub fn get(&self, key: &str) -> Option<&V> {
        self.map.get(key).map(|v| &**v)
    }
    /// The entry to change (tracked as changed).
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let found = self.map.get_mut(key).map(|v| &mut **v);
        if found.is_some()
            && let Some(c) = &mut self.changes
        {
            c.changed.insert(key.to_string());
        }
        found
    }
    /// Starts recording what changes (persistence); everything is new to the next write.
    pub fn track(&mut self) {
        if self.changes.is_none() {
            self.changes = Some(Box::new(LogChanges {
                changed: self.order.iter().cloned().collect(),
                removed: Default::default(),
            }));
        }
    }
    /// What changed since the last call (None when not tracked).
    pub fn take_changes(&mut self) -> Option<LogChanges> {
        self.changes.as_mut().map(|c| std::mem::take(&mut **c))
    }
    /// Every entry with its key, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = (&String, &V)> {
        self.order.iter().filter_map(|k| self.map.get(k).map(|v| (k, &**v)))
    }
    /// Oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &V> {
        self.order.iter().filter_map(|k| self.get(k))
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// One message accepted by SendWhatsAppMessage.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundMessage {
    pub message_id: String,
    pub wamid: String,
    pub waba_id: String,
    pub phone_number_id: String,
    pub to: String,
    #[serde(rename = "type")]
    pub message_type: std::borrow::Cow<'static, str>,
    pub meta_api_version: String,
    /// The decoded message object as sent, kept serialized (one allocation, not a tree: the log
    /// holds thousands of messages).
    pub payload: crate::json::RawJson,
    pub accepted_ms: i64,
    /// Pricing category: `service`, `utility`, `marketing`, `authentication`.
    pub category: std::borrow::Cow<'static, str>,
    /// Whether the customer service window was open when it was sent.
    pub in_window: bool,
    /// Statuses reached so far.
    pub statuses: Vec<StatusRecord>,
    /// What will happen: (delay after acceptance in ms, status, error).
    /// The statuses still to come (exported; the control API's message log leaves it out).
    pub plan: Vec<PlannedStatus>,
    /// Shared by the message's status events.
    pub origin: std::sync::Arc<Origin>,
    /// Its place among the partition's messages, in and out ([`MetaState::next_order`]).
    #[serde(default)]
    pub order: u64,
    /// The recipient's business-scoped user ID when it is not the derived one (assigned, or the
    /// one the message was addressed to); empty otherwise.
    #[serde(default)]
    pub to_user_id: String,
    /// Whether the message was addressed by BSUID (statuses then leave `recipient_id` empty).
    #[serde(default)]
    pub by_bsuid: bool,
    /// Whether a marketing template went through the Marketing Messages API (its portfolio
    /// accepted the API's terms), as AWS routes them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub marketing_messages_api: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusRecord {
    pub status: std::borrow::Cow<'static, str>,
    pub time_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<std::sync::Arc<errors::StatusError>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedStatus {
    pub delay_ms: i64,
    pub status: std::borrow::Cow<'static, str>,
    pub error: Option<MetaError>,
}

/// The identities an event about a message needs, captured at send time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    pub waba_hex: String,
    pub meta_waba_id: String,
    pub phone_hex: String,
    pub meta_phone_id: String,
    /// The business number as digits (`display_phone_number` in webhooks).
    pub display_digits: String,
    /// The business portfolio of the WABA (BSUIDs and messaging limits are per portfolio).
    #[serde(default)]
    pub portfolio_id: String,
}

/// One message a customer sent in (control API).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundMessage {
    pub wamid: String,
    pub phone_number_id: String,
    pub from: String,
    pub time_ms: i64,
    pub message: Value,
    pub read: bool,
    /// The customer's WhatsApp profile name, as the inbound event carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_name: Option<String>,
    /// Its place among the partition's messages, in and out ([`MetaState::next_order`]).
    #[serde(default)]
    pub order: u64,
}

/// Traffic of one phone number.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneTraffic {
    /// Acceptance times within the last second (throughput).
    pub recent_sends: VecDeque<i64>,
    /// Pair-rate token buckets per customer: (tokens, last refill ms).
    pub pair_buckets: BTreeMap<String, (f64, i64)>,
}

pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// `wamid.` ids as Meta makes them: base64 of a small binary record naming the customer.
pub fn new_wamid(ids: &crate::state::ids::IdGen, wa_id: &str) -> String {
    use base64::Engine;
    let mut raw = Vec::with_capacity(wa_id.len() + 28);
    raw.extend_from_slice(&[0x1c, 0x18, wa_id.len() as u8]);
    raw.extend_from_slice(wa_id.as_bytes());
    raw.extend_from_slice(&[0x15, 0x02, 0x00, 0x11, 0x18, 0x12]);
    let mut hex = uuid::Uuid::encode_buffer();
    raw.extend_from_slice(&ids.uuid().simple().encode_upper(&mut hex).as_bytes()[..18]);
    raw.push(0x00);
    let mut wamid = String::with_capacity(6 + raw.len().div_ceil(3) * 4);
    wamid.push_str("wamid.");
    base64::engine::general_purpose::STANDARD.encode_string(raw, &mut wamid);
    wamid
}
