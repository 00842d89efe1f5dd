//! What the web console reads (and anyone else may): the partitions that have state, WABAs with
//! their numbers, each number's conversations and a conversation's messages in pages, the bytes
//! of a media id, and the live stream (Server-Sent Events) of events and sends.
//!
//! The live stream is bounded per subscriber without a queue: it sends what the event log holds
//! after the subscriber's last seq, at most [`STREAM_BATCH`] events and ten messages a second; a
//! subscriber that falls further behind (or stops reading while the log moves on) is told
//! `resync` (at most once a second) and reloads what it shows. Publishing never waits for a
//! subscriber.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::messaging::partition_of;
use super::{ControlError, Params, clock_json};
use crate::AppState;
use crate::events::{Event, Tail};
use crate::meta::{DAY_MS, InboundMessage, OutboundMessage};
use crate::state::{Partition, PhoneNumber, Waba, ids};

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/accounts", get(accounts))
        .route("/wabas", get(wabas))
        .route("/conversations", get(conversations))
        .route("/conversations/{phone}/{customer}", get(thread))
        .route("/media/{id}", get(media))
        .route("/stream", get(stream))
}

/// `GET /_emulator/accounts`: every (account, Region) that has state, with its counts.
async fn accounts(State(state): State<AppState>) -> Json<Value> {
    let list: Vec<Value> = state
        .store
        .keys()
        .into_iter()
        .filter_map(|key| {
            let partition = state.store.existing(&key)?;
            let p = partition.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            let phones: usize = p.wabas.values().map(|w| w.phone_numbers.len()).sum();
            Some(json!({
                "account": key.0,
                "region": key.1,
                "wabas": p.wabas.len(),
                "phoneNumbers": phones,
            }))
        })
        .collect();
    Json(json!({
        "defaultAccount": state.config.default_account,
        "defaultRegion": state.config.default_region,
        "accounts": list,
    }))
}

fn phone_json(p: &Partition, w: &Waba, n: &PhoneNumber) -> Value {
    let portfolio = w.portfolio_id();
    json!({
        "phoneNumberId": ids::phone_id(&n.hex),
        "arn": p.phone_arn(&n.hex),
        "metaPhoneNumberId": n.meta_phone_number_id,
        "phoneNumber": n.phone_number,
        "displayPhoneNumber": n.display_phone_number,
        "displayPhoneNumberName": n.display_phone_number_name,
        "qualityRating": n.quality_rating,
        "businessPortfolioId": portfolio,
        "messagingLimitTier": p.meta.tier(&portfolio),
        "throughputPerSecond": n.throughput_per_second,
    })
}

/// `GET /_emulator/wabas?account=&region=`: the WABAs of a partition with their numbers.
async fn wabas(State(state): State<AppState>, params: Params) -> Json<Value> {
    let (account, region) = partition_of(&state, &params);
    let Some(partition) = state.store.existing(&(account, region)) else {
        return Json(json!({ "wabas": [] }));
    };
    let p = partition.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let list: Vec<Value> = p
        .wabas
        .values()
        .map(|w| {
            json!({
                "wabaId": ids::waba_id(&w.hex),
                "arn": p.waba_arn(&w.hex),
                "metaWabaId": w.meta_waba_id,
                "name": w.name,
                "registrationStatus": w.registration_status,
                "eventDestinations": w
                    .event_destinations
                    .iter()
                    .map(|d| d.event_destination_arn.as_str())
                    .collect::<Vec<_>>(),
                "phoneNumbers": w.phone_numbers.iter().map(|n| phone_json(&p, w, n)).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({ "wabas": list }))
}

/// The number `id` names (`phone-number-id-…` or its ARN) in `p`, as the AWS API resolves it.
fn find_phone<'a>(
    p: &'a Partition,
    account: &str,
    region: &str,
    id: &str,
) -> Option<(&'a Waba, &'a PhoneNumber)> {
    p.phone(&crate::context::RequestContext::new(account, region), id).ok()
}

/// One message of a conversation, outbound (the app's) or inbound (the customer's).
enum Item<'a> {
    Out(&'a OutboundMessage),
    In(&'a InboundMessage),
}

impl Item<'_> {
    fn time_ms(&self) -> i64 {
        match self {
            Item::Out(m) => m.accepted_ms,
            Item::In(m) => m.time_ms,
        }
    }

    fn order(&self) -> u64 {
        match self {
            Item::Out(m) => m.order,
            Item::In(m) => m.order,
        }
    }

    fn wamid(&self) -> &str {
        match self {
            Item::Out(m) => &m.wamid,
            Item::In(m) => &m.wamid,
        }
    }

    /// The view the console renders: Meta's message object, statuses, and for a template the
    /// WABA's definition of it.
    fn to_json(&self, waba: &Waba) -> Value {
        match self {
            Item::Out(m) => {
                let message: Value = serde_json::from_str(m.payload.get()).unwrap_or(Value::Null);
                let mut v = json!({
                    "direction": "outbound",
                    "wamid": m.wamid,
                    "messageId": m.message_id,
                    "timeMs": m.accepted_ms,
                    "type": m.message_type,
                    "status": m.statuses.last().map_or("accepted", |s| &*s.status),
                    "statuses": m.statuses,
                    "message": message,
                });
                if m.message_type == "template" {
                    let t = &v["message"]["template"];
                    let (name, code) = (t["name"].as_str(), t["language"]["code"].as_str());
                    let definition = waba.templates.iter().find(|t| {
                        Some(t.name.as_str()) == name && Some(t.language.as_str()) == code
                    });
                    if let Some(t) = definition {
                        v["template"] = json!({
                            "name": t.name,
                            "language": t.language,
                            "category": t.category,
                            "status": t.status,
                            "components": t.definition.get("components").cloned().unwrap_or(json!([])),
                        });
                    }
                }
                v
            }
            Item::In(m) => json!({
                "direction": "inbound",
                "wamid": m.wamid,
                "timeMs": m.time_ms,
                "type": m.message["type"],
                "read": m.read,
                "message": m.message,
            }),
        }
    }
}

/// Every message of `phone` grouped by customer, each group oldest first.
/// A partition's message logs, locked (outbound first: the lock order of `MetaState`).
struct Logs<'p> {
    outbound: std::sync::MutexGuard<'p, crate::meta::BoundedLog<crate::meta::OutboundMessage>>,
    inbound: std::sync::MutexGuard<'p, crate::meta::BoundedLog<crate::meta::InboundMessage>>,
}

impl<'p> Logs<'p> {
    fn of(p: &'p Partition) -> Self {
        let outbound = p.meta.outbound.lock();
        Logs { outbound, inbound: p.meta.inbound.lock() }
    }
}

fn by_customer<'a>(
    logs: &'a Logs<'_>,
    phone: &PhoneNumber,
) -> std::collections::BTreeMap<&'a str, Vec<Item<'a>>> {
    let phone_id = ids::phone_id(&phone.hex);
    let mut groups: std::collections::BTreeMap<&str, Vec<Item>> = Default::default();
    for m in logs.outbound.iter().filter(|m| m.phone_number_id == phone_id) {
        groups.entry(m.to.as_str()).or_default().push(Item::Out(m));
    }
    for m in logs.inbound.iter().filter(|m| m.phone_number_id == phone_id) {
        groups.entry(m.from.as_str()).or_default().push(Item::In(m));
    }
    for items in groups.values_mut() {
        // Messages of one instant (a frozen clock) in the order they were recorded.
        items.sort_by_key(|i| (i.time_ms(), i.order()));
    }
    groups
}

/// The messages of `phone` with one customer, oldest first (without grouping the whole log: the
/// partition's lock is held while they are read).
fn customer_items<'a>(logs: &'a Logs<'_>, phone: &PhoneNumber, customer: &str) -> Vec<Item<'a>> {
    let phone_id = ids::phone_id(&phone.hex);
    let mut items: Vec<Item> = logs
        .outbound
        .iter()
        .filter(|m| m.to == customer && m.phone_number_id == phone_id)
        .map(Item::Out)
        .chain(
            logs.inbound
                .iter()
                .filter(|m| m.from == customer && m.phone_number_id == phone_id)
                .map(Item::In),
        )
        .collect();
    items.sort_by_key(|i| (i.time_ms(), i.order()));
    items
}

/// The customer service window of (phone, customer) at `now`.
fn window(p: &Partition, phone: &PhoneNumber, customer: &str, now: i64) -> Value {
    let last = p.meta.windows.get(&(phone.hex.clone(), customer.to_string()));
    let expires = last.map(|t| t + DAY_MS);
    json!({ "open": expires.is_some_and(|e| e > now), "expiresAtMs": expires })
}

fn profile_name(items: &[Item]) -> Option<String> {
    items.iter().rev().find_map(|i| match i {
        Item::In(m) => m.profile_name.clone(),
        Item::Out(_) => None,
    })
}

fn phone_not_found(id: &str, account: &str, region: &str) -> ControlError {
    ControlError::not_found(format!(
        "phone number {id} does not exist in account {account}, Region {region}"
    ))
}

/// `GET /_emulator/conversations?phoneNumberId=&account=&region=`: a number's conversations,
/// newest activity first, each with its last message, unread count and window.
async fn conversations(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Value>, ControlError> {
    let (account, region) = partition_of(&state, &params);
    let id = params
        .get("phoneNumberId")
        .ok_or_else(|| ControlError::bad_request("phoneNumberId is required"))?;
    let partition = state
        .store
        .existing(&(account.clone(), region.clone()))
        .ok_or_else(|| phone_not_found(id, &account, &region))?;
    let p = partition.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (waba, phone) = find_phone(&p, &account, &region, id)
        .ok_or_else(|| phone_not_found(id, &account, &region))?;
    let now = state.clock.now_ms();
    let mut list: Vec<(i64, Value)> = by_customer(&Logs::of(&p), phone)
        .into_iter()
        .filter_map(|(customer, items)| {
            let last = items.iter().rev().find(|i| !is_reaction(i)).or(items.last())?;
            let unread = items.iter().filter(|i| matches!(i, Item::In(m) if !m.read)).count();
            Some((
                last.time_ms(),
                json!({
                    "customer": customer,
                    "profileName": profile_name(&items),
                    "lastTimeMs": items.last().map(Item::time_ms),
                    "unread": unread,
                    "messages": items.len(),
                    "window": window(&p, phone, customer, now),
                    "lastMessage": last.to_json(waba),
                }),
            ))
        })
        .collect();
    list.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    let list: Vec<Value> = list.into_iter().map(|(_, v)| v).collect();
    Ok(Json(json!({ "nowMs": now, "conversations": list })))
}

fn is_reaction(item: &Item) -> bool {
    match item {
        Item::Out(m) => m.message_type == "reaction",
        Item::In(m) => m.message["type"] == "reaction",
    }
}

/// `GET /_emulator/conversations/{phoneNumberId}/{customer}?limit=&before=`: the newest `limit`
/// messages (default 50, at most 500) before the one with wamid `before`, oldest first.
async fn thread(
    State(state): State<AppState>,
    Path((id, customer)): Path<(String, String)>,
    params: Params,
) -> Result<Json<Value>, ControlError> {
    let (account, region) = partition_of(&state, &params);
    // `+1 425-555-0150` names the customer 14255550150 (a BSUID keeps its dots).
    let customer: String = customer.chars().filter(|c| !"+ -()".contains(*c)).collect();
    let limit = match params.get("limit") {
        None => 50,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| *l > 0)
            .ok_or_else(|| ControlError::bad_request("limit must be a positive integer"))?
            .min(500),
    };
    let partition = state
        .store
        .existing(&(account.clone(), region.clone()))
        .ok_or_else(|| phone_not_found(&id, &account, &region))?;
    let p = partition.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (waba, phone) = find_phone(&p, &account, &region, &id)
        .ok_or_else(|| phone_not_found(&id, &account, &region))?;
    let now = state.clock.now_ms();
    let logs = Logs::of(&p);
    let items = customer_items(&logs, phone, &customer);
    let end = match params.get("before") {
        None => items.len(),
        Some(before) => items.iter().position(|i| i.wamid() == before).ok_or_else(|| {
            ControlError::bad_request(format!(
                "before {before:?} is not a message of this conversation"
            ))
        })?,
    };
    let start = end.saturating_sub(limit);
    let page: Vec<Value> = items[start..end].iter().map(|i| i.to_json(waba)).collect();
    Ok(Json(json!({
        "customer": customer,
        "profileName": profile_name(&items),
        "nowMs": now,
        "window": window(&p, phone, &customer, now),
        "total": items.len(),
        "hasMore": start > 0,
        "items": page,
    })))
}

/// `GET /_emulator/media/{mediaId}?phoneNumberId=&account=&region=`: the bytes of an uploaded
/// or inbound media id, with its type (inline; sandboxed so a document cannot run script).
async fn media(
    State(state): State<AppState>,
    Path(media_id): Path<String>,
    params: Params,
) -> Result<Response, ControlError> {
    let (account, region) = partition_of(&state, &params);
    let not_found = || {
        ControlError::not_found(format!(
            "media {media_id} does not exist in account {account}, Region {region} (unknown, \
             expired or deleted)"
        ))
    };
    let mime = {
        let partition =
            state.store.existing(&(account.clone(), region.clone())).ok_or_else(not_found)?;
        let p = partition.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = state.clock.now_ms();
        let file = match params.get("phoneNumberId") {
            Some(phone) => {
                let (_, n) = find_phone(&p, &account, &region, phone).ok_or_else(not_found)?;
                p.media.get(&n.hex, &media_id, now)
            }
            None => p.media.find(&media_id, now),
        };
        file.ok_or_else(not_found)?.mime_type.clone()
    };
    let bytes = state
        .media
        .read(&account, &region, &media_id)
        .await
        .map_err(|e| ControlError::bad_request(e.message))?
        .ok_or_else(not_found)?;
    let mut response = Body::from(bytes).into_response();
    let headers = response.headers_mut();
    let mime = HeaderValue::from_str(&mime)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, mime);
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    Ok(response)
}

/// Events a stream message lists at most; beyond it the subscriber resynchronises.
pub const STREAM_BATCH: usize = 200;
/// The shortest time between two looks at the log (so between two stream messages).
const STREAM_INTERVAL: Duration = Duration::from_millis(100);
/// The shortest time between two `resync` messages (each makes a console reload its view).
const STREAM_RESYNC_INTERVAL: Duration = Duration::from_secs(1);
/// How often a stream looks for accepted sends (which publish no event of their own).
const STREAM_POLL: Duration = Duration::from_millis(250);

fn summary(e: &Event) -> Value {
    json!({
        "seq": e.seq,
        "kind": e.kind,
        "field": e.field,
        "status": e.status,
        "account": e.account,
        "region": e.region,
        "wabaId": e.waba_id,
        "phoneNumberId": e.phone_number_id,
        "messageId": e.message_id,
        "wamid": e.wamid,
        "timeMs": e.time_ms,
        // AWS also puts this event on the default EventBridge bus (GET /events?kind=eventbridge).
        "eventBridgeDetailType": e.eventbridge_detail_type(),
    })
}

/// Where one subscriber is.
struct Cursor {
    state: AppState,
    account: Option<String>,
    region: Option<String>,
    seq: u64,
    accepted: u64,
    generation: u64,
    /// The clock's jump count last told.
    clock_jumps: u64,
    published: tokio::sync::watch::Receiver<u64>,
    clock: tokio::sync::watch::Receiver<u64>,
    closing: tokio::sync::watch::Receiver<bool>,
    /// When the stream last looked at the log.
    last_poll: Option<tokio::time::Instant>,
    hello: bool,
    /// Events were skipped (lagged, or the log was replaced): a `resync` is due.
    owes_resync: bool,
    last_resync: Option<tokio::time::Instant>,
}

impl Cursor {
    /// The next stream message, or None when the server stops.
    async fn next(&mut self) -> Option<SseEvent> {
        if !self.hello {
            self.hello = true;
            let data = json!({
                "seq": self.seq,
                "messages": self.accepted,
                "clock": clock_json(&self.state),
            });
            return Some(SseEvent::default().event("hello").data(data.to_string()));
        }
        loop {
            // At most one look at the log per interval, whatever it found: while events flow the
            // wake-ups come with every publish, and a subscriber must not spin on the log's lock.
            if let Some(last) = self.last_poll {
                tokio::select! {
                    () = tokio::time::sleep_until(last + STREAM_INTERVAL) => {}
                    _ = self.closing.changed() => return None,
                }
            }
            if *self.closing.borrow() {
                return None;
            }
            let jumps = *self.clock.borrow_and_update();
            let clock_moved = jumps != self.clock_jumps;
            self.clock_jumps = jumps;
            self.published.mark_unchanged();
            self.last_poll = Some(tokio::time::Instant::now());
            if let Some(message) = self.poll(clock_moved) {
                return Some(message);
            }
            tokio::select! {
                _ = self.published.changed() => {}
                _ = self.clock.changed() => {}
                () = tokio::time::sleep(STREAM_POLL) => {}
                _ = self.closing.changed() => return None,
            }
        }
    }

    /// What changed since the last message, if anything.
    fn poll(&mut self, clock_moved: bool) -> Option<SseEvent> {
        let events = &self.state.bus.log;
        let generation = events.generation();
        let accepted = events.accepted();
        let sends = accepted != self.accepted;
        self.accepted = accepted;
        if generation != self.generation {
            self.generation = generation;
            self.seq = events.last_seq();
            self.owes_resync = true;
        }
        match events.tail(self.seq, STREAM_BATCH) {
            Tail::Lagged(next) => {
                self.seq = next;
                self.owes_resync = true;
            }
            // Events a resync will cover are not listed.
            Tail::Events(_, next) if self.owes_resync => self.seq = next,
            Tail::Events(list, next) => {
                self.seq = next;
                let mine: Vec<Value> = list
                    .iter()
                    .filter(|e| self.account.as_deref().is_none_or(|a| a == e.account))
                    .filter(|e| self.region.as_deref().is_none_or(|r| r == e.region))
                    .map(|e| summary(e))
                    .collect();
                drop(list);
                if !mine.is_empty() {
                    let data = json!({ "events": mine, "clock": clock_json(&self.state) });
                    return Some(SseEvent::default().event("events").data(data.to_string()));
                }
            }
        }
        if self.owes_resync {
            // A subscriber behind a busy emulator reloads at most once a second.
            let due = self.last_resync.is_none_or(|t| t.elapsed() >= STREAM_RESYNC_INTERVAL);
            if !due {
                return None;
            }
            self.owes_resync = false;
            self.last_resync = Some(tokio::time::Instant::now());
            let data =
                json!({ "seq": self.seq, "reason": "lagged", "clock": clock_json(&self.state) });
            return Some(SseEvent::default().event("resync").data(data.to_string()));
        }
        (sends || clock_moved).then(|| {
            let data = json!({ "messages": accepted, "clock": clock_json(&self.state) });
            SseEvent::default().event("changed").data(data.to_string())
        })
    }
}

/// `GET /_emulator/stream?account=&region=`: Server-Sent Events — `hello`, then `events`
/// (summaries of new events), `changed` (sends accepted, the clock jumped) and `resync`.
async fn stream(State(state): State<AppState>, params: Params) -> Response {
    let seq = state.bus.log.last_seq();
    let clock = state.clock.subscribe();
    let clock_jumps = *clock.borrow();
    let cursor = Cursor {
        clock_jumps,
        clock,
        account: params.get("account").cloned(),
        region: params.get("region").cloned(),
        seq,
        accepted: state.bus.log.accepted(),
        generation: state.bus.log.generation(),
        published: state.bus.log.subscribe(),
        closing: state.bus.log.closing(),
        last_poll: None,
        hello: false,
        owes_resync: false,
        last_resync: None,
        state,
    };
    let stream = futures_util::stream::unfold(cursor, |mut cursor| async move {
        let message = cursor.next().await?;
        Some((Ok::<_, Infallible>(message), cursor))
    });
    let mut response = Sse::new(stream).keep_alive(KeepAlive::default()).into_response();
    // Proxies must not buffer it.
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
