//! Sending: what happens between SendWhatsAppMessage accepting a message and the statuses that
//! follow on the virtual clock — the 24-hour customer service window, messaging limit tiers,
//! throughput, the pair rate limit, magic recipients, template checks, pricing.

use serde::Serialize;
use serde_json::Value;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::effects::{EventDraft, EventValue};
use super::errors::{MetaError, StatusError};
use super::media::MediaKind;
use super::messages::{self, Recipient, Shape};
use super::{DAY_MS, Origin, OutboundMessage, PlannedStatus, StatusRecord};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::json::RawJson;
use crate::scheduler::Job;
use crate::state::Partition;
use crate::state::ids::{self, Caller};

/// Virtual delays after acceptance of each status (configurable; small by default).
#[derive(Debug, Clone, Copy)]
pub struct StatusDelays {
    pub sent_ms: i64,
    pub delivered_ms: i64,
    pub read_ms: i64,
}

impl Default for StatusDelays {
    fn default() -> Self {
        StatusDelays { sent_ms: 200, delivered_ms: 700, read_ms: 2_000 }
    }
}

/// Pair rate limit: one message per 6 s to one customer, bursts up to 45.
pub const PAIR_BURST: f64 = 45.0;
pub const PAIR_REFILL_MS: f64 = 6_000.0;

/// Magic recipients: numbers that always produce an outcome, like Stripe's test cards.
/// `1555 0 <6-digit Meta code>` fails with that code; three more cover slow or partial delivery.
pub const NEVER_READ: &str = "15550000001";
pub const NEVER_DELIVERED: &str = "15550000002";
pub const SLOW_DELIVERY: &str = "15550000003";
pub const SLOW_DELIVERY_MS: i64 = 5 * 60 * 1000;

fn magic_plan(wa_id: &str, d: StatusDelays) -> Option<Vec<PlannedStatus>> {
    let ok = |delay_ms, status: &'static str| PlannedStatus {
        delay_ms,
        status: status.into(),
        error: None,
    };
    match wa_id {
        NEVER_READ => Some(vec![ok(d.sent_ms, "sent"), ok(d.delivered_ms, "delivered")]),
        NEVER_DELIVERED => Some(vec![ok(d.sent_ms, "sent")]),
        SLOW_DELIVERY => Some(vec![
            ok(d.sent_ms, "sent"),
            ok(SLOW_DELIVERY_MS, "delivered"),
            ok(SLOW_DELIVERY_MS + 60_000, "read"),
        ]),
        _ => {
            let code = wa_id.strip_prefix("15550").filter(|c| c.len() == 6)?;
            let code: u32 = code.parse().ok().filter(|c| *c >= 100)?;
            Some(vec![failed(d, MetaError::new(code))])
        }
    }
}

fn failed(d: StatusDelays, error: MetaError) -> PlannedStatus {
    PlannedStatus { delay_ms: d.sent_ms, status: "failed".into(), error: Some(error) }
}

fn meta_invalid(e: MetaError) -> ApiError {
    ApiError::invalid_parameters(e.sync_message())
}

/// `v<major>.<minor>`, version 20.0 or later; returns the major version.
pub fn check_api_version(v: &str) -> ApiResult<u32> {
    let parsed = v
        .strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .and_then(|(major, minor)| Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?)));
    match parsed {
        Some((major, _)) if major >= 20 => Ok(major),
        Some(_) => Err(ApiError::invalid_parameters(format!(
            "metaApiVersion '{v}' is not supported: use v20.0 or later"
        ))),
        None => Err(ApiError::invalid_parameters(format!(
            "metaApiVersion '{v}' is not valid: expected v<major>.<minor>, e.g. v20.0"
        ))),
    }
}

/// What a send needs besides the partition: the moment, the settings and the id generator.
pub struct SendEnv<'a> {
    pub now: i64,
    pub delays: StatusDelays,
    /// The message log's capacity.
    pub capacity: usize,
    pub ids: &'a ids::IdGen,
    /// A fault rule's Meta error: the message is accepted, then fails with it.
    pub meta_fault: Option<&'a MetaError>,
}

/// A SendWhatsAppMessage body after model validation, read without the state (before the
/// partition is locked), with the ids it will have.
pub struct Request {
    api_major: u32,
    payload: Value,
    shape: Shape,
    /// The message as sent.
    stored_payload: RawJson,
    message_id: String,
    wamid: String,
    meta_api_version: String,
}

impl Request {
    pub fn read(api_version: &str, bytes: &[u8], env: &SendEnv) -> ApiResult<Request> {
        let api_major = check_api_version(api_version)?;
        let messages::Outbound { payload, shape } = messages::parse(bytes).map_err(meta_invalid)?;
        // The message as sent (valid JSON: it was just parsed).
        let stored_payload = std::str::from_utf8(bytes)
            .ok()
            .and_then(RawJson::parse)
            .unwrap_or_else(|| RawJson::of(&payload));
        // A plain text message has no tree: nothing below looks into its members.
        let payload = payload.unwrap_or(Value::Null);
        let message_id = env.ids.uuid().to_string();
        let wamid = match &shape {
            Shape::Message { to, .. } => super::new_wamid(env.ids, to.id()),
            Shape::MarkRead { .. } => String::new(),
        };
        let meta_api_version = api_version.to_string();
        Ok(Request {
            api_major,
            payload,
            shape,
            stored_payload,
            message_id,
            wamid,
            meta_api_version,
        })
    }
}

/// A message SendWhatsAppMessage accepted, and what follows from it.
#[derive(Debug)]
pub struct Accepted {
    pub message_id: String,
    /// The timers of its statuses.
    pub timers: Vec<(i64, Job)>,
    /// The oldest messages the log let go (for the caller to free outside the partition's lock).
    pub evicted: Vec<Box<OutboundMessage>>,
    /// A THROTTLED flow it carried (WABA hex, flow id), to count with
    /// [`count_throttled_flow_send`] under the partition's exclusive lock.
    pub throttled_flow: Option<(String, String)>,
}

/// SendWhatsAppMessage's rules over the partition, under its *shared* lock (each change locks
/// only the log, counter or portfolio it touches: see `MetaState`): the recipient, the sender's
/// own number, flows, templates, media, throughput, then the plan of statuses (magic numbers,
/// the customer service window, the portfolio's messaging limit, the pair rate, reactions, the
/// time-to-live), and the message recorded.
pub fn accept(
    p: &Partition,
    ctx: &impl Caller,
    phone_id: &str,
    request: Request,
    env: &SendEnv,
) -> ApiResult<Accepted> {
    let Request { api_major, payload, shape, stored_payload, message_id, wamid, meta_api_version } =
        request;
    let (now, delays, capacity) = (env.now, env.delays, env.capacity);
    let done = |message_id: String| Accepted {
        message_id,
        timers: Vec::new(),
        evicted: Vec::new(),
        throttled_flow: None,
    };
    {
        let (waba, phone) = p.phone(ctx, phone_id)?;
        let origin = phone.origin(waba);
        let throughput = phone.throughput_per_second;

        let (message_type, to) = match shape {
            Shape::MarkRead { message_id: wamid } => {
                let mut log = p.meta.inbound.lock();
                let inbound = log
                    .get_mut(&wamid)
                    .filter(|m| m.phone_number_id == ids::phone_id(&origin.phone_hex));
                let Some(inbound) = inbound else {
                    return Err(meta_invalid(MetaError::with_details(
                        131009,
                        format!(
                            "Parameter message_id is invalid: {wamid} is not a message received by this phone number"
                        ),
                    )));
                };
                inbound.read = true;
                return Ok(done(message_id));
            }
            Shape::Message { message_type, to } => (message_type, to),
        };
        // A message addressed by business-scoped user ID goes to the customer it names in this
        // portfolio (Meta, "Business-scoped user IDs").
        let (to, to_user_id, by_bsuid) = match to {
            Recipient::WaId(wa_id) => {
                // A derived BSUID is computed when a status is read, not on every send.
                let user_id = p
                    .meta
                    .users
                    .assigned(&origin.portfolio_id, &wa_id)
                    .map(str::to_string)
                    .unwrap_or_default();
                (Recipient::WaId(wa_id), user_id, false)
            }
            Recipient::Bsuid(parent) if parent.contains(".ENT.") => {
                // A parent BSUID, where Meta enabled them for the portfolio's parent business.
                let business = p
                    .meta
                    .portfolios
                    .lock()
                    .get(&origin.portfolio_id)
                    .and_then(|f| f.parent_business_id.clone());
                let wa_id = business
                    .and_then(|b| p.meta.users.wa_id_of_parent(&origin.portfolio_id, &b, &parent));
                let Some(wa_id) = wa_id else {
                    return Err(meta_invalid(MetaError::with_details(
                        131009,
                        format!(
                            "Parameter recipient is invalid: no WhatsApp user has the parent business-scoped user ID {parent} in this business portfolio"
                        ),
                    )));
                };
                let wa_id = wa_id.to_string();
                let user_id = p.meta.users.bsuid(&origin.portfolio_id, &wa_id);
                (Recipient::WaId(wa_id), user_id, true)
            }
            Recipient::Bsuid(bsuid) => {
                let Some(wa_id) = p.meta.users.wa_id_of(&origin.portfolio_id, &bsuid) else {
                    return Err(meta_invalid(MetaError::with_details(
                        131009,
                        format!(
                            "Parameter recipient is invalid: no WhatsApp user has the business-scoped user ID {bsuid} in this business portfolio"
                        ),
                    )));
                };
                (Recipient::WaId(wa_id.to_string()), bsuid, true)
            }
        };
        if to.id() == origin.display_digits {
            return Err(meta_invalid(MetaError::new(131021)));
        }

        // A flow message names a published flow of this WABA (or a draft in draft mode), with
        // Meta's rules for its parameters.
        let interactive = &payload["interactive"];
        let mut flow_sent = None;
        if message_type == "interactive" && interactive["type"] == "flow" {
            let parameters = &interactive["action"]["parameters"];
            let flow_id = super::flow_messages::check_flow_message(waba, parameters, now)
                .map_err(|e| meta_invalid(MetaError::with_details(131009, e)))?;
            flow_sent = Some(flow_id);
        }

        // Templates are checked against the WABA's templates at once, as Meta does.
        let mut category = Cow::Borrowed("service");
        let mut ttl_ms = super::template_rules::DEFAULT_TTL_MS;
        if message_type == "template" {
            let template = super::templates::check_send(waba, &payload["template"], api_major)
                .map_err(meta_invalid)?;
            // Authentication templates go to phone numbers (Meta, "Business-scoped user IDs").
            if by_bsuid && super::authentication::is_authentication(&template.definition) {
                return Err(meta_invalid(MetaError::new(131062)));
            }
            category = pricing_category(&template.category);
            ttl_ms = super::template_rules::ttl_ms(&template.definition);
        }

        // Media by id must be this number's, of the message's kind (Meta 100 / 131053).
        for (kind, path, id) in media_references(message_type, &payload) {
            p.media
                .check_for_send(&origin.phone_hex, &id, kind, &path, now)
                .map_err(|e| e.to_api_error())?;
        }

        let window_key = (origin.phone_hex.clone(), to.id().to_string());
        let in_window = p.meta.windows.get(&window_key).is_some_and(|t| now - t < DAY_MS);

        // Throughput: at most `throughput` messages per second per number (130429).
        let mut traffic_log = p.meta.traffic.lock();
        let traffic = entry(&mut traffic_log, &origin.phone_hex, Default::default);
        while traffic.recent_sends.front().is_some_and(|t| *t <= now - 1000) {
            traffic.recent_sends.pop_front();
        }
        if traffic.recent_sends.len() >= throughput as usize {
            return Err(ApiError::new(
                ErrorKind::ThrottledRequest,
                MetaError::new(130429).sync_message(),
            ));
        }
        traffic.recent_sends.push_back(now);

        let mut plan = if let Some(error) = env.meta_fault {
            vec![failed(delays, error.clone())]
        } else if let Some(plan) = magic_plan(to.id(), delays) {
            plan
        } else if message_type != "template" && !in_window {
            vec![failed(delays, MetaError::new(131047))]
        } else if message_type == "template"
            && !in_window
            && !super::portfolio_entry(&mut p.meta.portfolios.lock(), &origin.portfolio_id)
                .reach(to.id(), now)
        {
            let tier = p.meta.tier(&origin.portfolio_id).name();
            vec![failed(
                delays,
                MetaError::with_details(
                    131048,
                    format!(
                        "Message failed to send because this business portfolio reached its messaging limit ({tier}) of unique customers outside a customer service window in a moving 24 hours."
                    ),
                ),
            )]
        } else if !take_pair_token(traffic, to.id(), now) {
            vec![failed(delays, MetaError::new(131056))]
        } else {
            vec![
                PlannedStatus { delay_ms: delays.sent_ms, status: "sent".into(), error: None },
                PlannedStatus {
                    delay_ms: delays.delivered_ms,
                    status: "delivered".into(),
                    error: None,
                },
                PlannedStatus { delay_ms: delays.read_ms, status: "read".into(), error: None },
            ]
        };
        drop(traffic_log);
        let delivering = plan.iter().all(|s| s.error.is_none());
        if message_type == "reaction" && delivering {
            // Meta, "Reaction messages": a reaction triggers only `sent`, or fails with 131009.
            plan = match reaction_target(p, &origin, to.id(), &payload["reaction"], now) {
                Ok(()) => plan.into_iter().filter(|s| s.status == "sent").collect(),
                Err(details) => vec![failed(delays, MetaError::with_details(131009, details))],
            };
        } else if delivering {
            plan = expire(plan, ttl_ms);
        }
        let dues: Vec<i64> = plan.iter().map(|s| now + s.delay_ms).collect();
        // AWS sends marketing templates through Meta's Marketing Messages API once the
        // portfolio accepted its terms (AWS user guide, "What is AWS End User Messaging Social").
        let marketing_messages_api = category == "marketing"
            && p.meta
                .portfolios
                .lock()
                .get(&origin.portfolio_id)
                .is_some_and(|f| f.marketing_messages_api);
        let message = OutboundMessage {
            message_id: message_id.clone(),
            wamid,
            waba_id: ids::waba_id(&origin.waba_hex),
            phone_number_id: ids::phone_id(&origin.phone_hex),
            to: to.into_id(),
            message_type: message_type.into(),
            meta_api_version,
            payload: stored_payload,
            accepted_ms: now,
            category,
            in_window,
            statuses: {
                // Room for every status to come: advancing one never reallocates.
                let mut statuses = Vec::with_capacity(1 + plan.len());
                statuses.push(StatusRecord {
                    status: "accepted".into(),
                    time_ms: now,
                    error: None,
                });
                statuses
            },
            plan,
            origin,
            order: p.meta.next_order(),
            to_user_id,
            by_bsuid,
            marketing_messages_api,
        };
        // A THROTTLED flow counts what it carries (10 an hour), under the exclusive lock below.
        let throttled_flow = flow_sent
            .filter(|id| {
                waba.flows.get(id).is_some_and(|f| f.status == crate::state::flows::THROTTLED)
            })
            .map(|id| (message.origin.waba_hex.clone(), id));
        let evicted = p.meta.outbound.lock().insert(message_id.clone(), message, capacity);
        let timers = dues
            .into_iter()
            .enumerate()
            .map(|(step, due)| {
                let (account, region) = (ctx.account().to_string(), ctx.region().to_string());
                (due, Job::MessageStatus { account, region, message_id: message_id.clone(), step })
            })
            .collect();
        Ok(Accepted { message_id, timers, evicted, throttled_flow })
    }
}

/// Counts a send of a THROTTLED flow (Meta allows 10 an hour), under the partition's exclusive
/// lock.
pub fn count_throttled_flow_send(p: &mut Partition, waba_hex: &str, flow_id: &str, now: i64) {
    if let Some(flow) = p.wabas.get_mut(waba_hex).and_then(|w| w.flows.get_mut(flow_id)) {
        flow.throttled_sends.retain(|t| now - t < 3_600_000);
        flow.throttled_sends.push(now);
    }
}

/// A plan whose delivery comes after the message's time-to-live (or never) ends in `failed` at
/// the TTL instead (Meta, "Configure message time-to-live": the message is dropped).
fn expire(plan: Vec<PlannedStatus>, ttl_ms: i64) -> Vec<PlannedStatus> {
    let delivered = plan.iter().find(|s| s.status == "delivered").map(|s| s.delay_ms);
    if delivered.is_some_and(|at| at <= ttl_ms) {
        return plan;
    }
    let mut kept: Vec<PlannedStatus> =
        plan.into_iter().filter(|s| s.status == "sent" && s.delay_ms <= ttl_ms).collect();
    kept.push(PlannedStatus {
        delay_ms: ttl_ms,
        status: "failed".into(),
        error: Some(MetaError::with_details(
            131026,
            format!(
                "Message failed to send because it was not delivered within its time-to-live ({} seconds).",
                ttl_ms / 1000
            ),
        )),
    });
    kept
}

/// Why a reaction cannot be delivered, if it cannot: it must react to a message this customer
/// sent to this number in the last 30 days, not itself a reaction, with one emoji (or `""`, which
/// removes a reaction).
fn reaction_target(
    p: &crate::state::Partition,
    origin: &Origin,
    customer: &str,
    reaction: &Value,
    now: i64,
) -> Result<(), String> {
    let target = reaction["message_id"].as_str().unwrap_or_default();
    let phone_number_id = ids::phone_id(&origin.phone_hex);
    let inbound = p.meta.inbound.lock();
    let Some(m) =
        inbound.get(target).filter(|m| m.phone_number_id == phone_number_id && m.from == customer)
    else {
        return Err(format!(
            "Reaction to {target} was not delivered: it is not a message this customer sent to this phone number."
        ));
    };
    if m.message["type"] == "reaction" {
        return Err(format!("Reaction to {target} was not delivered: it is itself a reaction."));
    }
    if now - m.time_ms > 30 * DAY_MS {
        return Err(format!(
            "Reaction to {target} was not delivered: the message is more than 30 days old."
        ));
    }
    let emoji = reaction["emoji"].as_str().unwrap_or_default();
    if !emoji.is_empty() && !is_one_emoji(emoji) {
        return Err(format!("Reaction emoji '{emoji}' is not an emoji."));
    }
    Ok(())
}

/// One emoji: pictographs with their modifiers and joiners, flags, or a keycap (`1️⃣`); no
/// letters, digits (outside a keycap), spaces or punctuation.
fn is_one_emoji(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() > 10 {
        return false;
    }
    let keycap = chars.len() >= 2 && chars.last() == Some(&'\u{20E3}');
    chars.iter().enumerate().all(|(i, c)| {
        let u = *c as u32;
        let joiner = matches!(u, 0x200D | 0xFE0F | 0x20E3) || (0x1F3FB..=0x1F3FF).contains(&u);
        let pictograph = u >= 0x1F000
            || (0x2190..=0x2BFF).contains(&u)
            || matches!(
                u,
                0x00A9
                    | 0x00AE
                    | 0x203C
                    | 0x2049
                    | 0x2122
                    | 0x2139
                    | 0x3030
                    | 0x303D
                    | 0x3297
                    | 0x3299
            );
        let keycap_base = keycap && i == 0 && (c.is_ascii_digit() || *c == '#' || *c == '*');
        (joiner && i > 0) || pictograph || keycap_base
    })
}

/// Every media object a message names by id: (kind, Meta's parameter path, media id) — the
/// message's own media, an interactive header's, and a template's header parameters.
fn media_references(message_type: &str, payload: &Value) -> Vec<(MediaKind, String, String)> {
    let mut found = Vec::new();
    let mut add = |kind_name: &str, object: &Value, path: &dyn Fn() -> String| {
        if let (Some(kind), Some(id)) =
            (MediaKind::from_message_type(kind_name), object["id"].as_str())
        {
            found.push((kind, path(), id.to_string()));
        }
    };
    add(message_type, &payload[message_type], &|| format!("{message_type}['id']"));
    let header = &payload["interactive"]["header"];
    if let Some(kind) = header["type"].as_str() {
        add(kind, &header[kind], &|| format!("interactive['header']['{kind}']['id']"));
    }
    for component in payload["template"]["components"].as_array().into_iter().flatten() {
        for parameter in component["parameters"].as_array().into_iter().flatten() {
            if let Some(kind) = parameter["type"].as_str() {
                add(kind, &parameter[kind], &|| {
                    format!("template['components']['parameters']['{kind}']['id']")
                });
            }
        }
    }
    found
}

/// `map[key]`, inserted with `new()` first if absent; unlike `entry`, the key is copied only
/// when it is inserted (these lookups are on every send).
fn entry<'a, V>(map: &'a mut BTreeMap<String, V>, key: &str, new: impl FnOnce() -> V) -> &'a mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), new());
    }
    map.get_mut(key).expect("present or inserted above")
}

/// Buckets kept per number before full ones are dropped (a full bucket is the same as none).
const PAIR_BUCKETS_KEPT: usize = 1024;

fn take_pair_token(t: &mut super::PhoneTraffic, wa_id: &str, now: i64) -> bool {
    if t.pair_buckets.len() >= PAIR_BUCKETS_KEPT && !t.pair_buckets.contains_key(wa_id) {
        // Memory stays bounded by the customers reached in the last few minutes, however many
        // distinct customers a long run reaches.
        let full = |(tokens, last): &(f64, i64)| {
            *tokens + (now - *last) as f64 / PAIR_REFILL_MS >= PAIR_BURST
        };
        t.pair_buckets.retain(|_, bucket| !full(bucket));
    }
    let (tokens, last) = entry(&mut t.pair_buckets, wa_id, || (PAIR_BURST, now));
    *tokens = (*tokens + (now - *last) as f64 / PAIR_REFILL_MS).min(PAIR_BURST);
    *last = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        true
    } else {
        false
    }
}

/// One status step that fell due: (the `messageId` SendWhatsAppMessage returned, the index in
/// its plan, the virtual time it is due at).
pub type StatusStep = (String, usize, i64);

/// Status steps applied under one lock of the message log.
const STEPS_PER_LOCK: usize = 32;

/// Applies status steps of messages of one partition (under its shared lock), each at its own
/// virtual time; returns their status events, for the caller to publish.
pub fn apply_statuses(
    p: &Partition,
    account: &str,
    region: &str,
    steps: &[StatusStep],
) -> Vec<EventDraft> {
    // Under the message log's lock, a few steps at a time (sends wait for no whole batch), only
    // what the statuses change and copies of what their events need; the rest after it.
    let mut taken = Vec::with_capacity(steps.len());
    for chunk in steps.chunks(STEPS_PER_LOCK) {
        let mut outbound = p.meta.outbound.lock();
        for (message_id, step, at) in chunk {
            let Some(m) = outbound.get_mut(message_id) else { continue };
            let Some(planned) = m.plan.get(*step) else { continue };
            let error = planned.error.as_ref().map(|e| Arc::new(e.status_error()));
            let status = planned.status.clone();
            let record =
                StatusRecord { status: status.clone(), time_ms: *at, error: error.clone() };
            m.statuses.push(record);
            let facts = StatusFacts {
                at: *at,
                status,
                error,
                wamid: m.wamid.clone(),
                to: m.to.clone(),
                origin: m.origin.clone(),
                free: is_free(m),
                category: m.category.clone(),
                biz_opaque_callback_data: None,
                user_id: m.to_user_id.clone(),
                by_bsuid: m.by_bsuid,
                parent_user_id: None,
                username: None,
            };
            taken.push((Box::new(facts), m.message_id.clone(), m.payload.clone()));
        }
    }
    let mut due = Vec::with_capacity(taken.len());
    for (mut facts, message_id, payload) in taken {
        facts.biz_opaque_callback_data = biz_opaque_callback_data(&payload);
        facts.parent_user_id = p.meta.parent_bsuid(&facts.origin.portfolio_id, &facts.to);
        facts.username = p.meta.users.username(&facts.to).map(str::to_string);
        let destination = p
            .wabas
            .get(&facts.origin.waba_hex)
            .and_then(|w| w.event_destinations.first())
            .map(|d| d.event_destination_arn.clone());
        due.push((facts, message_id, destination));
    }
    let mut drafts = Vec::with_capacity(due.len());
    for (facts, message_id, destination) in due {
        drafts.push(EventDraft {
            account: account.to_string(),
            region: region.to_string(),
            origin: facts.origin.clone(),
            about_phone: true,
            field: "messages".into(),
            kind: "status".into(),
            status: Some(facts.status.clone()),
            message_id: Some(message_id),
            wamid: Some(facts.wamid.clone()),
            destination,
            time_ms: facts.at,
            value: EventValue::Status(facts),
        });
    }
    drafts
}

/// The message's `biz_opaque_callback_data`, which Meta echoes in its statuses.
fn biz_opaque_callback_data(payload: &RawJson) -> Option<Value> {
    #[derive(serde::Deserialize)]
    struct Opaque {
        biz_opaque_callback_data: Option<Value>,
    }
    let json = payload.get();
    if !json.contains("biz_opaque_callback_data") {
        return None;
    }
    serde_json::from_str::<Opaque>(json).ok()?.biz_opaque_callback_data
}

/// What a status event's `value` says, kept until the event is read (see
/// the emulator's `events::Envelope`).
#[derive(Debug, Clone)]
pub struct StatusFacts {
    at: i64,
    status: Cow<'static, str>,
    error: Option<Arc<StatusError>>,
    wamid: String,
    to: String,
    origin: Arc<Origin>,
    free: bool,
    category: Cow<'static, str>,
    biz_opaque_callback_data: Option<Value>,
    user_id: String,
    by_bsuid: bool,
    /// The recipient's parent BSUID, where their portfolio has them.
    parent_user_id: Option<String>,
    /// The username the recipient adopted.
    username: Option<String>,
}

impl serde::Serialize for StatusFacts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let priced = matches!(&*self.status, "sent" | "delivered");
        let recipient_user_id = match (self.user_id.as_str(), self.origin.portfolio_id.as_str()) {
            ("", "") => None, // a message recorded before portfolios were kept
            ("", portfolio) => Some(Cow::Owned(super::bsuid::derive(portfolio, &self.to))),
            (user_id, _) => Some(Cow::Borrowed(user_id)),
        };
        // Addressed by BSUID, the phone number stays out (Meta, "Business-scoped user IDs").
        let wa_id = if self.by_bsuid { "" } else { &self.to };
        // Statuses other than `failed` name the recipient in `contacts`; their username only
        // on `delivered` and `read`.
        let contacts =
            recipient_user_id.as_deref().filter(|_| self.error.is_none()).map(|user_id| {
                [StatusContact {
                    profile: self
                        .username
                        .as_deref()
                        .filter(|_| matches!(&*self.status, "delivered" | "read"))
                        .map(|username| UsernameProfile { username }),
                    wa_id: (!wa_id.is_empty()).then_some(wa_id),
                    user_id,
                    parent_user_id: self.parent_user_id.as_deref(),
                }]
            });
        StatusValue {
            messaging_product: "whatsapp",
            metadata: Metadata {
                display_phone_number: &self.origin.display_digits,
                phone_number_id: &self.origin.meta_phone_id,
            },
            contacts,
            statuses: [StatusObject {
                id: &self.wamid,
                status: &self.status,
                timestamp: self.at / 1000,
                recipient_id: wa_id,
                recipient_user_id: recipient_user_id.clone(),
                recipient_parent_user_id: self.parent_user_id.as_deref(),
                pricing: priced.then(|| Pricing::of(self.free, &self.category)),
                errors: self.error.as_deref().map(std::slice::from_ref),
                biz_opaque_callback_data: self.biz_opaque_callback_data.as_ref(),
            }],
        }
        .serialize(serializer)
    }
}

/// The `value` of a status event, as Meta sends it.
#[derive(Serialize)]
struct StatusValue<'a> {
    messaging_product: &'static str,
    metadata: Metadata<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contacts: Option<[StatusContact<'a>; 1]>,
    statuses: [StatusObject<'a>; 1],
}

/// The recipient as a status names them (Meta, "Business-scoped user IDs").
#[derive(Serialize)]
struct StatusContact<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<UsernameProfile<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wa_id: Option<&'a str>,
    user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_user_id: Option<&'a str>,
}

#[derive(Serialize)]
struct UsernameProfile<'a> {
    username: &'a str,
}

#[derive(Serialize)]
struct Metadata<'a> {
    display_phone_number: &'a str,
    phone_number_id: &'a str,
}

#[derive(Serialize)]
struct StatusObject<'a> {
    id: &'a str,
    status: &'a str,
    #[serde(serialize_with = "as_string")]
    timestamp: i64,
    recipient_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient_user_id: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient_parent_user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pricing: Option<Pricing<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [StatusError]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    biz_opaque_callback_data: Option<&'a Value>,
}

/// Meta writes epoch seconds as a JSON string.
fn as_string<S: serde::Serializer>(n: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(n)
}

/// Meta's per-message pricing (PMP) of a `sent` or `delivered` status.
#[derive(Serialize)]
struct Pricing<'a> {
    billable: bool,
    pricing_model: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    category: &'a str,
}

impl Pricing<'_> {
    fn of(free: bool, category: &str) -> Pricing<'_> {
        let kind = if free { "free_customer_service" } else { "regular" };
        Pricing { billable: !free, pricing_model: "PMP", kind, category }
    }
}

/// The pricing category of a template category (`MARKETING` → `marketing`).
fn pricing_category(template_category: &str) -> Cow<'static, str> {
    const KNOWN: [&str; 4] = ["service", "utility", "marketing", "authentication"];
    match KNOWN.iter().find(|k| k.eq_ignore_ascii_case(template_category)) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(template_category.to_ascii_lowercase()),
    }
}

/// Whether Meta's per-message pricing (PMP) leaves the message free: service messages and
/// utility templates inside an open customer service window are.
fn is_free(m: &OutboundMessage) -> bool {
    m.in_window && (m.category == "service" || m.category == "utility")
}

/// The recipient of a parsed message (for callers outside this module).
pub fn recipient_of(shape: &Shape) -> Option<&Recipient> {
    match shape {
        Shape::Message { to, .. } => Some(to),
        Shape::MarkRead { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        assert_eq!(check_api_version("v20.0").unwrap(), 20);
        assert_eq!(check_api_version("v24.1").unwrap(), 24);
        assert!(check_api_version("v19.0").is_err());
        assert!(check_api_version("20.0").is_err());
        assert!(check_api_version("vX.0").is_err());
    }

    #[test]
    fn pair_buckets_of_customers_gone_quiet_are_dropped() {
        let mut t = crate::meta::PhoneTraffic::default();
        for i in 0..PAIR_BUCKETS_KEPT {
            assert!(take_pair_token(&mut t, &format!("1425{i:07}"), 0));
        }
        assert_eq!(t.pair_buckets.len(), PAIR_BUCKETS_KEPT);
        // Still refilling one second later: every bucket is kept.
        assert!(take_pair_token(&mut t, "14259999999", 1_000));
        assert_eq!(t.pair_buckets.len(), PAIR_BUCKETS_KEPT + 1);
        // Five minutes later they are all full again, the same as no bucket at all.
        assert!(take_pair_token(&mut t, "14258888888", 300_000));
        assert_eq!(t.pair_buckets.len(), 1);
        // A customer over the pair rate keeps its (empty) bucket through a prune.
        for _ in 1..PAIR_BURST as usize {
            assert!(take_pair_token(&mut t, "14258888888", 300_000));
        }
        assert!(!take_pair_token(&mut t, "14258888888", 300_000));
    }

    #[test]
    fn magic_numbers() {
        let d = StatusDelays::default();
        let plan = magic_plan("15550131026", d).unwrap();
        assert_eq!(plan[0].error.as_ref().unwrap().code, 131026);
        assert_eq!(magic_plan(NEVER_READ, d).unwrap().len(), 2);
        assert!(magic_plan("15551234567", d).is_none());
    }

    #[test]
    fn emoji_or_not() {
        for e in [
            "👍",
            "😀",
            "\u{1F44D}\u{1F3FD}",
            "👨\u{200D}👩\u{200D}👧",
            "🇩🇪",
            "1\u{FE0F}\u{20E3}",
            "❤\u{FE0F}",
        ] {
            assert!(is_one_emoji(e), "{e}");
        }
        for e in ["ab", "a", "1", " ", "👍 ", ":)"] {
            assert!(!is_one_emoji(e), "{e:?}");
        }
    }

    #[test]
    fn ttl_cuts_a_late_delivery() {
        let d = StatusDelays::default();
        let ok = |delay_ms, status: &'static str| PlannedStatus {
            delay_ms,
            status: status.into(),
            error: None,
        };
        let normal =
            vec![ok(d.sent_ms, "sent"), ok(d.delivered_ms, "delivered"), ok(d.read_ms, "read")];
        assert_eq!(expire(normal.clone(), 30_000).len(), 3);
        let never = expire(vec![ok(d.sent_ms, "sent")], 60_000);
        assert_eq!(never[1].status, "failed");
        assert_eq!(never[1].delay_ms, 60_000);
        assert_eq!(never[1].error.as_ref().unwrap().code, 131026);
        let slow = expire(
            vec![
                ok(200, "sent"),
                ok(SLOW_DELIVERY_MS, "delivered"),
                ok(SLOW_DELIVERY_MS + 1, "read"),
            ],
            60_000,
        );
        assert_eq!(slow.iter().map(|s| s.status.as_ref()).collect::<Vec<_>>(), ["sent", "failed"]);
    }

    #[test]
    fn pair_rate_bursts_then_refills() {
        let mut t = super::super::PhoneTraffic::default();
        for _ in 0..45 {
            assert!(take_pair_token(&mut t, "1", 0));
        }
        assert!(!take_pair_token(&mut t, "1", 0));
        assert!(take_pair_token(&mut t, "1", 6_000));
        assert!(take_pair_token(&mut t, "2", 6_000), "buckets are per customer");
    }
}
