//! Events: the AWS envelope around one Meta webhook `entry`, the in-memory event log the control
//! API serves (bounded, filterable, with a wait), and routing to the WABA's event destination,
//! whose SNS HTTP subscribers are served by [`sns`].

pub mod sns;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::json::RawJson;
use crate::meta::Origin;
pub use crate::meta::effects::{EventDraft, EventValue};

/// One published event.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    /// Position in the log (1, 2, …), never reused.
    pub seq: u64,
    pub account: String,
    pub region: String,
    /// AWS id of the WABA (`waba-…`).
    pub waba_id: String,
    /// AWS id of the phone number (`phone-number-id-…`), for phone-level events.
    pub phone_number_id: Option<String>,
    /// Meta's webhook field: `messages`, `message_template_status_update`, …
    pub field: Cow<'static, str>,
    /// `inbound`, `status`, `call` (field `calls`) or the field name for other kinds.
    pub kind: Cow<'static, str>,
    /// For status events: `sent`, `delivered`, `read`, `failed`; for call events: `connect`,
    /// `terminate`, or the call status (`RINGING`, `ACCEPTED`, `REJECTED`).
    pub status: Option<Cow<'static, str>>,
    /// The `messageId` SendWhatsAppMessage returned (status events of our sends).
    pub message_id: Option<String>,
    /// Meta's id of the message (`wamid.…`) or call (`wacid.…`) the event is about.
    pub wamid: Option<String>,
    /// The SNS topic (or Connect instance) the WABA routes events to, when it has one.
    pub destination: Option<String>,
    /// Virtual time of the event, epoch ms.
    pub time_ms: i64,
    /// The AWS envelope exactly as published (`Message` of the SNS notification): see
    /// [`Event::envelope`].
    envelope: Envelope,
}

impl Event {
    /// The AWS envelope, built on first use (an SNS delivery, the control API, an export) from
    /// the event and what its producer knew: most events of a busy emulator are never read.
    pub fn envelope(&self) -> &RawJson {
        self.envelope.built.get_or_init(|| match &self.envelope.source {
            Some(source) => envelope(self, source),
            None => RawJson::of(&Value::Null),
        })
    }
}

/// `detail-type`s of the EventBridge events AWS sends (Amazon EventBridge events reference, "AWS
/// End User Messaging Social events"; AWS user guide, "Monitoring with Amazon EventBridge").
pub const EVENTBRIDGE_SOURCE: &str = "aws.social-messaging";

impl Event {
    /// The `detail-type` of the EventBridge event AWS sends for this event, if it sends one:
    /// message statuses and inbound messages.
    pub fn eventbridge_detail_type(&self) -> Option<&'static str> {
        match (self.kind.as_ref(), self.status.as_deref()) {
            ("status", Some("sent")) => Some("WhatsApp Message Sent"),
            ("status", Some("delivered")) => Some("WhatsApp Message Delivered"),
            ("status", Some("read")) => Some("WhatsApp Message Read"),
            ("status", Some("failed")) => Some("WhatsApp Message Failed"),
            ("inbound", _) => Some("WhatsApp Message Received"),
            _ => None,
        }
    }

    /// The EventBridge event AWS sends to the account's default bus for this event, whether or
    /// not the WABA has an event destination; built from the event when read. The `detail` of
    /// statuses is the documented one (`wabaId`, `originationPhoneNumber`,
    /// `originationPhoneNumberId`, `messageId`, `status`, `eventTimestamp`); an inbound message's
    /// carries the same fields with Meta's message id as `messageId` and no `status`
    /// (undocumented: AWS has no id of its own for it).
    pub fn eventbridge(&self) -> Option<Value> {
        let detail_type = self.eventbridge_detail_type()?;
        let envelope: Value = serde_json::from_str(self.envelope().get()).ok()?;
        let entry: Value = serde_json::from_str(envelope["whatsAppWebhookEntry"].as_str()?).ok()?;
        let value = &entry["changes"][0]["value"];
        let mut detail = serde_json::json!({
            "wabaId": entry["id"],
            "originationPhoneNumber": value["metadata"]["display_phone_number"],
            "originationPhoneNumberId": value["metadata"]["phone_number_id"],
            "messageId": self.message_id.as_deref().or(self.wamid.as_deref()),
        });
        if let Some(status) = self.status.as_deref().filter(|_| self.kind == "status") {
            detail["status"] = Value::from(status);
        }
        detail["eventTimestamp"] = Value::from((self.time_ms / 1000).to_string());
        Some(serde_json::json!({
            "version": "0",
            "id": eventbridge_id(&self.account, &self.region, self.seq),
            "detail-type": detail_type,
            "source": EVENTBRIDGE_SOURCE,
            "account": self.account,
            "time": rfc3339_seconds(self.time_ms),
            "region": self.region,
            "resources": [],
            "detail": detail,
        }))
    }
}

/// A stable UUID-shaped id for an event's EventBridge form (the same on every read).
fn eventbridge_id(account: &str, region: &str, seq: u64) -> String {
    use std::hash::{Hash, Hasher};
    let mut halves = [0u64; 2];
    for (i, half) in halves.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (i, account, region, seq, "eventbridge").hash(&mut h);
        *half = h.finish();
    }
    let hex = format!("{:016x}{:016x}", halves[0], halves[1]);
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// `2025-10-03T04:34:24Z` — EventBridge's `time`.
pub fn rfc3339_seconds(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&format).unwrap_or_default()
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Exported<'a> {
            seq: u64,
            account: &'a str,
            region: &'a str,
            waba_id: &'a str,
            phone_number_id: Option<&'a str>,
            field: &'a str,
            kind: &'a str,
            status: Option<&'a str>,
            message_id: Option<&'a str>,
            wamid: Option<&'a str>,
            destination: Option<&'a str>,
            time_ms: i64,
            envelope: &'a RawJson,
        }
        Exported {
            seq: self.seq,
            account: &self.account,
            region: &self.region,
            waba_id: &self.waba_id,
            phone_number_id: self.phone_number_id.as_deref(),
            field: &self.field,
            kind: &self.kind,
            status: self.status.as_deref(),
            message_id: self.message_id.as_deref(),
            wamid: self.wamid.as_deref(),
            destination: self.destination.as_deref(),
            time_ms: self.time_ms,
            envelope: self.envelope(),
        }
        .serialize(serializer)
    }
}

/// An event's envelope: built (imported, or read once), or still to build from its source.
#[derive(Debug, Clone)]
struct Envelope {
    built: std::sync::OnceLock<RawJson>,
    source: Option<Box<EnvelopeSource>>,
}

/// What the envelope is built from besides the event's own fields.
#[derive(Debug, Clone)]
struct EnvelopeSource {
    origin: Arc<Origin>,
    about_phone: bool,
    value: EventValue,
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Envelope, D::Error> {
        let json = RawJson::deserialize(deserializer)?;
        Ok(Envelope { built: std::sync::OnceLock::from(json), source: None })
    }
}

/// The bounded event log.
#[derive(Debug)]
pub struct EventLog {
    inner: Mutex<LogInner>,
    capacity: usize,
    /// Bumped on every publish, so waiters wake without polling.
    published: tokio::sync::watch::Sender<u64>,
    /// Sends SendWhatsAppMessage accepted (consoles show a message before its first status).
    accepted: std::sync::atomic::AtomicU64,
    /// Bumped when the log is cleared or replaced: live streams resynchronise.
    generation: std::sync::atomic::AtomicU64,
    /// Set when the server stops, so that live streams end and connections can drain.
    closed: tokio::sync::watch::Sender<bool>,
    /// See [`EventLog::waiting`].
    waiting: tokio::sync::Notify,
}

/// What [`EventLog::tail`] finds after a seq.
#[derive(Debug)]
pub enum Tail {
    /// Every event after it (possibly none), oldest first, and the last seq handed out.
    Events(Vec<Arc<Event>>, u64),
    /// More than the reader asked for, or some were evicted before it read them: it must
    /// resynchronise from the last seq handed out.
    Lagged(u64),
}

/// The event log as exported: events oldest first, seqs increasing, at most `nextSeq`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventLogState {
    pub next_seq: u64,
    pub events: Vec<Arc<Event>>,
}

impl EventLogState {
    pub fn check(&self) -> Result<(), String> {
        let mut last: Option<u64> = None;
        for (i, e) in self.events.iter().enumerate() {
            let consecutive = last.is_none_or(|l| e.seq == l + 1);
            if e.seq == 0 || !consecutive || e.seq > self.next_seq {
                return Err(format!(
                    "events.events[{i}].seq: {} does not follow the previous seq or exceeds \
                     nextSeq {}",
                    e.seq, self.next_seq
                ));
            }
            last = Some(e.seq);
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct LogInner {
    events: VecDeque<Arc<Event>>,
    next_seq: u64,
}

/// Filters of `GET /_emulator/events` (all optional, combined with AND).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFilter {
    pub account: Option<String>,
    pub region: Option<String>,
    pub waba_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub kind: Option<String>,
    pub field: Option<String>,
    pub status: Option<String>,
    pub message_id: Option<String>,
    pub wamid: Option<String>,
    /// Only events with `seq` greater than this.
    pub after: Option<u64>,
}

impl EventFilter {
    pub fn matches(&self, e: &Event) -> bool {
        fn eq(want: &Option<String>, have: Option<&str>) -> bool {
            want.as_deref().is_none_or(|w| have == Some(w))
        }
        // `eventbridge` is the EventBridge form of statuses and inbound messages.
        let kind_matches = match self.kind.as_deref() {
            Some("eventbridge") => e.eventbridge_detail_type().is_some(),
            _ => eq(&self.kind, Some(&e.kind)),
        };
        eq(&self.account, Some(&e.account))
            && eq(&self.region, Some(&e.region))
            && eq(&self.waba_id, Some(&e.waba_id))
            && eq(&self.phone_number_id, e.phone_number_id.as_deref())
            && kind_matches
            && eq(&self.field, Some(&e.field))
            && eq(&self.status, e.status.as_deref())
            && eq(&self.message_id, e.message_id.as_deref())
            && eq(&self.wamid, e.wamid.as_deref())
            && self.after.is_none_or(|a| e.seq > a)
    }
}

impl EventLog {
    pub fn new(capacity: usize) -> Self {
        EventLog {
            inner: Mutex::default(),
            capacity: capacity.max(1),
            published: tokio::sync::watch::Sender::new(0),
            accepted: Default::default(),
            generation: Default::default(),
            closed: tokio::sync::watch::Sender::new(false),
            waiting: tokio::sync::Notify::new(),
        }
    }

    /// A receiver that sees every publish.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.published.subscribe()
    }

    /// Notified whenever a long poll of the event log starts waiting (tests and embedders wait
    /// on it instead of sleeping).
    pub fn waiting(&self) -> &tokio::sync::Notify {
        &self.waiting
    }

    /// Counts an accepted send (one relaxed add: the send path pays nothing more).
    pub fn note_accepted(&self) {
        self.accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sends accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Bumped when the log is cleared or replaced.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Ends every live stream (the server is stopping).
    pub fn close_streams(&self) {
        self.closed.send_replace(true);
    }

    /// A receiver that turns true when the server stops.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closed.subscribe()
    }

    /// The last seq handed out (0: none yet).
    pub fn last_seq(&self) -> u64 {
        crate::locks::lock(&self.inner, &crate::locks::EVENT_LOG).next_seq
    }

    /// The events after seq `after`, at most `max` of them (else [`Tail::Lagged`], without
    /// copying anything: a reader far behind costs the log nothing).
    pub fn tail(&self, after: u64, max: usize) -> Tail {
        let inner = crate::locks::lock(&self.inner, &crate::locks::EVENT_LOG);
        let next = inner.next_seq;
        if next <= after {
            return Tail::Events(Vec::new(), next);
        }
        let first = inner.events.front().map_or(next + 1, |e| e.seq);
        if next - after > max as u64 || first > after + 1 {
            return Tail::Lagged(next);
        }
        let skip = (after + 1 - first) as usize;
        Tail::Events(inner.events.iter().skip(skip).cloned().collect(), next)
    }

    fn push(&self, build: impl FnOnce(u64) -> Event) -> Arc<Event> {
        let (event, evicted) = {
            let mut inner = crate::locks::lock(&self.inner, &crate::locks::EVENT_LOG);
            inner.next_seq += 1;
            let event = Arc::new(build(inner.next_seq));
            let evicted =
                (inner.events.len() == self.capacity).then(|| inner.events.pop_front()).flatten();
            inner.events.push_back(event.clone());
            (event, evicted)
        };
        // Freed outside the lock.
        drop(evicted);
        self.published.send_modify(|n| *n += 1);
        event
    }

    /// Matching events, oldest first, at most `limit`.
    pub fn query(&self, filter: &EventFilter, limit: usize) -> Vec<Arc<Event>> {
        let inner = crate::locks::lock(&self.inner, &crate::locks::EVENT_LOG);
        inner.events.iter().filter(|e| filter.matches(e)).take(limit).cloned().collect()
    }

    /// Waits until at least `count` events match (or `timeout` passes), then returns the matches.
    pub async fn wait_for(
        &self,
        filter: &EventFilter,
        count: usize,
        limit: usize,
        timeout: std::time::Duration,
    ) -> Vec<Arc<Event>> {
        let mut rx = self.published.subscribe();
        self.waiting.notify_waiters();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let found = self.query(filter, limit);
            if found.len() >= count {
                return found;
            }
            if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                return found;
            }
        }
    }

    pub fn get(&self, seq: u64) -> Option<Arc<Event>> {
        let inner = crate::locks::lock(&self.inner, &crate::locks::EVENT_LOG);
        let first = inner.events.front()?.seq;
        inner.events.get(seq.checked_sub(first)? as usize).cloned()
    }

    /// The log as exported.
    pub fn snapshot(&self) -> EventLogState {
        let inner = crate::locks::lock(&self.inner, &crate::locks::EVENT_LOG);
        EventLogState { next_seq: inner.next_seq, events: inner.events.iter().cloned().collect() }
    }

    /// For incremental persistence: the first kept seq (None: empty), the last seq handed out,
    /// and the events after `after`.
    pub fn since(&self, after: u64) -> (Option<u64>, u64, Vec<Arc<Event>>) {
        let inner = crate::locks::lock(&self.inner, &crate::locks::EVENT_LOG);
        let first = inner.events.front().map(|e| e.seq);
        let skip = first.map_or(0, |f| after.saturating_add(1).saturating_sub(f) as usize);
        (first, inner.next_seq, inner.events.iter().skip(skip).cloned().collect())
    }

    /// Replaces the log (import); the newest `capacity` events are kept.
    pub fn restore(&self, state: EventLogState) {
        let mut events: VecDeque<Arc<Event>> = state.events.into();
        while events.len() > self.capacity {
            events.pop_front();
        }
        *crate::locks::lock(&self.inner, &crate::locks::EVENT_LOG) =
            LogInner { events, next_seq: state.next_seq };
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.published.send_modify(|n| *n += 1);
    }

    pub fn clear(&self) {
        crate::locks::lock(&self.inner, &crate::locks::EVENT_LOG).events.clear();
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.published.send_modify(|n| *n += 1);
    }
}

/// Where events go besides the log, and how SNS links are written: the event bus's own settings
/// (composed from the command line by `Config::event_settings`).
#[derive(Debug, Clone, Default)]
pub struct EventSettings {
    /// The emulator's address as subscribers reach it (`SubscribeURL`, `SigningCertURL`).
    pub public_url: Option<String>,
    /// Events are also published to their destination topic on this SNS endpoint.
    pub sns_endpoint: Option<String>,
    pub sns_credentials: Option<(String, String)>,
    /// Events AWS sends to EventBridge also go to this endpoint's default bus.
    pub eventbridge_endpoint: Option<String>,
    pub eventbridge_credentials: Option<(String, String)>,
    /// How many events the log keeps.
    pub log_capacity: usize,
    /// How many SNS deliveries are listed.
    pub delivery_capacity: usize,
    /// Deterministic mode: a fixed SNS signing key.
    pub deterministic: bool,
}

/// The event bus: takes events (drafts the domain returns), keeps them in the log, routes them
/// to SNS subscribers and endpoints, and queues their delivery attempts on the scheduler. It
/// sees the clock, the id generator and the scheduler's queue, never the app's state.
pub struct Bus {
    pub log: Arc<EventLog>,
    pub sns: Arc<sns::Sns>,
    settings: EventSettings,
    clock: Arc<crate::clock::Clock>,
    ids: Arc<crate::state::ids::IdGen>,
    scheduler: Arc<crate::scheduler::Scheduler>,
}

impl Bus {
    pub fn new(
        settings: EventSettings,
        clock: Arc<crate::clock::Clock>,
        ids: Arc<crate::state::ids::IdGen>,
        scheduler: Arc<crate::scheduler::Scheduler>,
    ) -> Bus {
        Bus {
            log: Arc::new(EventLog::new(settings.log_capacity)),
            sns: Arc::new(sns::Sns::new(settings.delivery_capacity, settings.deterministic)),
            settings,
            clock,
            ids,
            scheduler,
        }
    }

    /// Publishes an event: wraps the Meta value in an `entry` and the AWS envelope, appends it
    /// to the log and hands it to the SNS subscribers of its destination.
    pub fn publish(&self, draft: EventDraft) -> Arc<Event> {
        let waba_id = crate::state::ids::waba_id(&draft.origin.waba_hex);
        let phone_number_id =
            draft.about_phone.then(|| crate::state::ids::phone_id(&draft.origin.phone_hex));
        let source = EnvelopeSource {
            origin: draft.origin,
            about_phone: draft.about_phone,
            value: draft.value,
        };
        let envelope =
            Envelope { built: std::sync::OnceLock::new(), source: Some(Box::new(source)) };
        let event = self.log.push(|seq| Event {
            seq,
            account: draft.account,
            region: draft.region,
            waba_id,
            phone_number_id,
            field: draft.field,
            kind: draft.kind,
            status: draft.status,
            message_id: draft.message_id,
            wamid: draft.wamid,
            destination: draft.destination,
            time_ms: draft.time_ms,
            envelope,
        });
        tracing::debug!(seq = event.seq, kind = %event.kind, status = ?event.status, "event");
        sns::route(self, &event);
        event
    }
}

/// The AWS envelope: `context`, `whatsAppWebhookEntry` (one Meta `entry` as compact JSON with
/// non-ASCII escaped, as AWS sends it), `aws_account_id`, `message_timestamp`, and `messageId` on
/// status events of our sends.
fn envelope(event: &Event, source: &EnvelopeSource) -> RawJson {
    #[derive(Serialize)]
    struct Envelope<'a> {
        context: Context<'a>,
        #[serde(rename = "whatsAppWebhookEntry")]
        entry: String,
        aws_account_id: &'a str,
        message_timestamp: String,
        #[serde(rename = "messageId", skip_serializing_if = "Option::is_none")]
        message_id: Option<&'a str>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Context<'a> {
        meta_waba_ids: [WabaRef<'a>; 1],
        meta_phone_number_ids: Vec<PhoneRef<'a>>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct WabaRef<'a> {
        waba_id: &'a str,
        arn: String,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct PhoneRef<'a> {
        meta_phone_number_id: &'a str,
        arn: String,
    }
    #[derive(Serialize)]
    struct Entry<'a> {
        id: &'a str,
        changes: [Change<'a>; 1],
    }
    #[derive(Serialize)]
    struct Change<'a> {
        value: &'a EventValue,
        field: &'a str,
    }

    let (o, account, region) = (&*source.origin, &*event.account, &*event.region);
    let entry = Entry {
        id: &o.meta_waba_id,
        changes: [Change { value: &source.value, field: &event.field }],
    };
    RawJson::of(&Envelope {
        context: Context {
            meta_waba_ids: [WabaRef {
                waba_id: &o.meta_waba_id,
                arn: crate::state::ids::waba_arn(account, region, &o.waba_hex),
            }],
            meta_phone_number_ids: source
                .about_phone
                .then(|| PhoneRef {
                    meta_phone_number_id: &o.meta_phone_id,
                    arn: crate::state::ids::phone_arn(account, region, &o.phone_hex),
                })
                .into_iter()
                .collect(),
        },
        entry: ascii_json(&entry),
        aws_account_id: account,
        message_timestamp: rfc3339_nanos(event.time_ms, event.seq),
        message_id: event.message_id.as_deref(),
    })
}

/// Compact JSON with every non-ASCII character written as `\uXXXX` (surrogate pairs beyond the
/// BMP), as the `whatsAppWebhookEntry` strings AWS publishes are.
pub fn ascii_json<T: Serialize + ?Sized>(v: &T) -> String {
    let text = serde_json::to_string(v).unwrap_or_default();
    if text.is_ascii() {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                use std::fmt::Write;
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out
}

/// `2025-01-08T23:30:43.271004212Z` — RFC 3339 with nanoseconds, as `message_timestamp` is. The
/// virtual clock counts milliseconds; the digits below the millisecond come from the event's
/// sequence number, so they are not all zeros (AWS's are real nanoseconds), stay deterministic,
/// and order the events of one millisecond as they were published.
pub fn rfc3339_nanos(ms: i64, seq: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000 + i128::from(seq % 1_000_000);
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
    );
    t.format(&format).unwrap_or_default()
}

pub use crate::clock::rfc3339_millis;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn non_ascii_is_escaped_like_aws() {
        let v = json!({ "name": "Francesco\u{1F4BB}", "t": "é" });
        assert_eq!(ascii_json(&v), r#"{"name":"Francesco\ud83d\udcbb","t":"\u00e9"}"#);
    }

    fn push(log: &EventLog) {
        log.push(|seq| Event {
            seq,
            account: "a".into(),
            region: "r".into(),
            waba_id: "w".into(),
            phone_number_id: None,
            field: "messages".into(),
            kind: "inbound".into(),
            status: None,
            message_id: None,
            wamid: None,
            destination: None,
            time_ms: 0,
            envelope: Envelope { built: std::sync::OnceLock::new(), source: None },
        });
    }

    #[test]
    fn a_tail_lists_what_follows_or_says_the_reader_lagged() {
        let log = EventLog::new(5);
        assert!(matches!(log.tail(0, 10), Tail::Events(ref e, 0) if e.is_empty()));
        for _ in 0..3 {
            push(&log);
        }
        match log.tail(1, 10) {
            Tail::Events(e, 3) => assert_eq!(e.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]),
            other => panic!("{other:?}"),
        }
        // More than the reader takes at once.
        assert!(matches!(log.tail(0, 2), Tail::Lagged(3)));
        // Evicted before it read them (capacity 5: seqs 4..=8 are kept).
        for _ in 0..5 {
            push(&log);
        }
        assert!(matches!(log.tail(2, 100), Tail::Lagged(8)));
        assert!(matches!(log.tail(3, 100), Tail::Events(ref e, 8) if e.len() == 5));
        assert!(matches!(log.tail(8, 100), Tail::Events(ref e, 8) if e.is_empty()));
        let generation = log.generation();
        log.clear();
        assert_eq!(log.generation(), generation + 1);
        assert_eq!(log.last_seq(), 8);
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339_nanos(1736379042271, 0), "2025-01-08T23:30:42.271000000Z");
        assert_eq!(rfc3339_nanos(1736379042271, 4212), "2025-01-08T23:30:42.271004212Z");
        assert_eq!(rfc3339_nanos(1736379042271, 1_000_007), "2025-01-08T23:30:42.271000007Z");
        assert_eq!(rfc3339_millis(1736379042271), "2025-01-08T23:30:42.271Z");
    }
}
