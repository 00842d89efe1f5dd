//! Control API for the WhatsApp side: a customer writing in, the outbound message log, the
//! event log (with filters and a wait, so tests never sleep), phone number quality and limits.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ControlError, Params, parse_body};
use crate::AppState;
use crate::events::Event;
use crate::events::{EventDraft, EventFilter};
use crate::meta::InboundMessage;
use crate::meta::inbound::{self, InboundRequest, media_type};
use crate::state::{Waba, ids};

/// Where an inbound request's business number lives: (account, Region, phone hex).
pub fn locate_phone(
    state: &AppState,
    req: &InboundRequest,
) -> Result<(String, String, String), String> {
    let config = &state.config;
    let (account, region) =
        inbound::partition_of(req, &config.default_account, &config.default_region);
    let found = state.store.view(&account, &region, |p| {
        inbound::find_phone(&p.wabas, req).map(|(_, n)| n.hex.clone())
    });
    match found {
        Some(hex) => Ok((account, region, hex)),
        None => Err(inbound::no_such_phone(req, &account, &region)),
    }
}

/// A customer's message recorded (the domain's rules, under the partition's exclusive lock), and
/// its event published.
pub fn receive(
    state: &AppState,
    req: InboundRequest,
    media: Option<crate::media::InboundMedia>,
) -> Result<(InboundMessage, std::sync::Arc<Event>), String> {
    let now = state.clock.now_ms();
    let prepared = inbound::prepare(&req, media.as_ref(), now, &state.ids)?;
    let config = &state.config;
    let (account, region) =
        inbound::partition_of(&req, &config.default_account, &config.default_region);
    let partition = state.store.partition(&account, &region);
    let (message, draft) = {
        let mut p = crate::locks::write(&partition, &crate::locks::PARTITION);
        let capacity = config.message_log_capacity;
        inbound::record(&mut p, &account, &region, &req, prepared, now, capacity, &state.ids)?
    };
    Ok((message, state.bus.publish(draft)))
}

/// `POST /_emulator/inbound`: a customer sends a message to a business number.
pub async fn inbound(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let req: InboundRequest = parse_body(&body)?;
    let media = match media_type(&req) {
        Some(kind) => {
            let (account, region, phone_hex) =
                locate_phone(&state, &req).map_err(ControlError::bad_request)?;
            let (bytes, mime) = inbound_file(&state, &req, kind).await?;
            let stored = store_inbound(&state, &account, &region, &phone_hex, bytes, &mime)
                .await
                .map_err(|e| ControlError::bad_request(e.message))?;
            Some(stored)
        }
        None => None,
    };
    let (message, event) = receive(&state, req, media).map_err(ControlError::bad_request)?;
    Ok(Json(json!({
        "wamid": message.wamid,
        "phoneNumberId": message.phone_number_id,
        "from": message.from,
        "windowExpiresAtMs": message.time_ms + crate::meta::DAY_MS,
        "event": event,
    })))
}

/// The file of an inbound media message: `"file": {"base64": …}` (bytes), `{"path": …}` (a file
/// on this machine) or `{"bucketName", "key"}` (an object of the S3 store), with `mimeType`
/// (default: the object's type, else the type's usual one). Without `file`, a small placeholder of
/// that type stands in, so that every inbound media id can be fetched.
async fn inbound_file(
    state: &AppState,
    req: &InboundRequest,
    kind: &str,
) -> Result<(bytes::Bytes, String), ControlError> {
    let file = req.fields.get("file").cloned().unwrap_or(Value::Null);
    let declared = req.fields.get(kind).and_then(|o| o.get("mime_type")).and_then(Value::as_str);
    let mime = file.get("mimeType").and_then(Value::as_str).or(declared).map(str::to_string);
    let default_mime = match kind {
        "image" => "image/jpeg",
        "audio" => "audio/ogg",
        "video" => "video/mp4",
        "sticker" => "image/webp",
        _ => "application/pdf",
    };
    if let Some(b64) = file.get("base64").and_then(Value::as_str) {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| ControlError::bad_request(format!("file.base64 is not base64: {e}")))?;
        return Ok((bytes.into(), mime.unwrap_or_else(|| default_mime.to_string())));
    }
    if let Some(path) = file.get("path").and_then(Value::as_str) {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| ControlError::bad_request(format!("cannot read file.path {path}: {e}")))?;
        return Ok((bytes.into(), mime.unwrap_or_else(|| default_mime.to_string())));
    }
    let bucket = file.get("bucketName").and_then(Value::as_str);
    if let (Some(bucket), Some(key)) = (bucket, file.get("key").and_then(Value::as_str)) {
        let object = state
            .s3
            .store
            .get_object(bucket, key, crate::media::MAX_MEDIA_BYTES + 1)
            .await
            .map_err(|e| {
                ControlError::bad_request(format!("cannot read s3://{bucket}/{key}: {e:?}"))
            })?;
        let mime = mime.or(object.content_type.clone()).unwrap_or_else(|| default_mime.to_string());
        return Ok((object.bytes, mime));
    }
    if !file.is_null() {
        return Err(ControlError::bad_request("file needs base64, path, or bucketName and key"));
    }
    let placeholder: &[u8] = match kind {
        "image" => b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00placeholder\xFF\xD9",
        _ => b"placeholder media file of the eum-social emulator",
    };
    Ok((bytes::Bytes::from_static(placeholder), mime.unwrap_or_else(|| default_mime.to_string())))
}

/// The account and Region a control request's query names (the defaults when absent).
pub(super) fn partition_of(state: &AppState, params: &Params) -> (String, String) {
    (
        params.get("account").cloned().unwrap_or_else(|| state.config.default_account.clone()),
        params.get("region").cloned().unwrap_or_else(|| state.config.default_region.clone()),
    )
}

fn number(params: &Params, key: &str, default: u64, max: u64) -> Result<u64, ControlError> {
    match params.get(key) {
        None => Ok(default),
        Some(v) => v.parse::<u64>().map(|n| n.min(max)).map_err(|_| {
            ControlError::bad_request(format!("{key} must be a non-negative integer"))
        }),
    }
}

/// `GET /_emulator/messages?phoneNumberId=&to=&messageId=&limit=&account=&region=`: accepted
/// outbound messages with their decoded payload and status history, oldest first.
pub async fn messages(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Value>, ControlError> {
    let (account, region) = partition_of(&state, &params);
    let limit = number(&params, "limit", 1000, 10_000)? as usize;
    let partition = state.store.existing_or_empty(&account, &region);
    let p = partition.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let list: Vec<Value> = p
        .meta
        .outbound
        .lock()
        .iter()
        .filter(|m| params.get("phoneNumberId").is_none_or(|v| *v == m.phone_number_id))
        .filter(|m| params.get("to").is_none_or(|v| *v == m.to))
        .filter(|m| params.get("messageId").is_none_or(|v| *v == m.message_id))
        .take(limit)
        .map(|m| {
            let mut v = serde_json::to_value(m).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                // Internal bookkeeping, exported with the state but not part of the log's view.
                o.remove("plan");
                o.remove("origin");
            }
            v
        })
        .collect();
    Ok(Json(json!({ "messages": list })))
}

/// `GET /_emulator/events?kind=&status=&messageId=&wabaId=&phoneNumberId=&field=&wamid=&after=
/// &count=N&waitMs=T&limit=`: matching events, oldest first; with `count`, waits up to `waitMs`
/// (at most 30 s) until that many match.
pub async fn events(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Value>, ControlError> {
    let filter = EventFilter {
        account: params.get("account").cloned(),
        region: params.get("region").cloned(),
        waba_id: params.get("wabaId").cloned(),
        phone_number_id: params.get("phoneNumberId").cloned(),
        kind: params.get("kind").cloned(),
        field: params.get("field").cloned(),
        status: params.get("status").cloned(),
        message_id: params.get("messageId").cloned(),
        wamid: params.get("wamid").cloned(),
        after: params
            .get("after")
            .map(|a| a.parse::<u64>())
            .transpose()
            .map_err(|_| ControlError::bad_request("after must be an event seq (integer)"))?,
    };
    let limit = number(&params, "limit", 1000, 10_000)? as usize;
    let count = number(&params, "count", 0, 10_000)? as usize;
    let wait = number(&params, "waitMs", 5_000, 30_000)?;
    let found = if count > 0 {
        state.bus.log.wait_for(&filter, count, limit, std::time::Duration::from_millis(wait)).await
    } else {
        state.bus.log.query(&filter, limit)
    };
    if filter.kind.as_deref() == Some("eventbridge") {
        // The EventBridge form of each: its own kind, the event AWS puts on the default bus.
        let list: Vec<Value> = found
            .iter()
            .filter_map(|e| {
                let event = e.eventbridge()?;
                Some(json!({
                    "seq": e.seq,
                    "account": e.account,
                    "region": e.region,
                    "wabaId": e.waba_id,
                    "phoneNumberId": e.phone_number_id,
                    "field": e.field,
                    "kind": "eventbridge",
                    "status": e.status,
                    "messageId": e.message_id,
                    "wamid": e.wamid,
                    "timeMs": e.time_ms,
                    "detailType": event["detail-type"],
                    "eventBridge": event,
                }))
            })
            .collect();
        return Ok(Json(json!({ "events": list })));
    }
    Ok(Json(json!({ "events": found })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhoneUpdate {
    account: Option<String>,
    region: Option<String>,
    quality_rating: Option<String>,
    messaging_limit_tier: Option<String>,
    throughput_per_second: Option<u32>,
    calling_limits: Option<crate::state::calling::CallingLimits>,
}

fn phone_view(meta: &crate::meta::MetaState, w: &Waba, n: &crate::state::PhoneNumber) -> Value {
    let portfolio = w.portfolio_id();
    json!({
        "phoneNumberId": ids::phone_id(&n.hex),
        "phoneNumber": n.phone_number,
        "qualityRating": n.quality_rating,
        "businessPortfolioId": portfolio,
        "messagingLimitTier": meta.tier(&portfolio),
        "throughputPerSecond": n.throughput_per_second,
        "callingLimits": n.calling.limits,
    })
}

fn locate(
    state: &AppState,
    id: &str,
    account: Option<String>,
    region: Option<String>,
) -> (String, String, String) {
    match ids::parse_arn(id) {
        Some(arn) => (arn.account.to_string(), arn.region.to_string(), arn.hex.to_string()),
        None => (
            account.unwrap_or_else(|| state.config.default_account.clone()),
            region.unwrap_or_else(|| state.config.default_region.clone()),
            id.strip_prefix(ids::PHONE_PREFIX).unwrap_or(id).to_string(),
        ),
    }
}

/// `GET /_emulator/phone-numbers/{id}`: quality rating, tier and throughput of a number.
pub async fn phone_number(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ControlError> {
    let (account, region, hex) =
        locate(&state, &id, params.get("account").cloned(), params.get("region").cloned());
    let partition = state.store.existing_or_empty(&account, &region);
    let p = partition.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    p.wabas
        .values()
        .find_map(|w| w.phone_numbers.iter().find(|n| n.hex == hex).map(|n| (w, n)))
        .map(|(w, n)| Json(phone_view(&p.meta, w, n)))
        .ok_or_else(|| ControlError::not_found(format!("phone number {id} does not exist")))
}

/// `PUT /_emulator/phone-numbers/{id}` `{"qualityRating", "messagingLimitTier",
/// "throughputPerSecond", "callingLimits"}`. The tier is the number's business portfolio's
/// (`business_capability_update` on each of its WABAs); a throughput raised to Meta's higher
/// level (1,000/s) fires `phone_number_quality_update` `THROUGHPUT_UPGRADE`. A quality rating
/// change fires nothing: since October 2025 it no longer flags a number or lowers its limit.
pub async fn update_phone_number(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let update: PhoneUpdate = parse_body(&body)?;
    if let Some(q) = &update.quality_rating
        && !["GREEN", "YELLOW", "RED", "UNKNOWN"].contains(&q.as_str())
    {
        return Err(ControlError::bad_request(
            "qualityRating must be GREEN, YELLOW, RED or UNKNOWN",
        ));
    }
    let tier =
        update.messaging_limit_tier.as_deref().map(super::portfolios::parse_tier).transpose()?;
    if update.throughput_per_second.is_some_and(|t| t == 0 || t > HIGHER_THROUGHPUT) {
        return Err(ControlError::bad_request("throughputPerSecond must be 1 to 1000"));
    }
    if let Some(limits) = &update.calling_limits {
        limits.check().map_err(ControlError::bad_request)?;
    }
    let (account, region, hex) = locate(&state, &id, update.account.clone(), update.region.clone());
    let now = state.clock.now_ms();
    let not_found = || ControlError::not_found(format!("phone number {id} does not exist"));
    let partition =
        state.store.existing(&(account.clone(), region.clone())).ok_or_else(not_found)?;
    let (view, capability, upgrade) = {
        let mut guard = partition.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let p = &mut *guard;
        let Some(waba) =
            p.wabas.values_mut().find(|w| w.phone_numbers.iter().any(|n| n.hex == hex))
        else {
            return Err(not_found());
        };
        let portfolio = waba.portfolio_id();
        let destination = waba.event_destinations.first().map(|d| d.event_destination_arn.clone());
        let origin = waba.phone_numbers.iter().find(|n| n.hex == hex).map(|n| n.origin(waba));
        let (Some(origin), Some(n)) =
            (origin, waba.phone_numbers.iter_mut().find(|n| n.hex == hex))
        else {
            return Err(not_found());
        };
        if let Some(q) = update.quality_rating {
            n.quality_rating = q;
        }
        let upgraded = update
            .throughput_per_second
            .is_some_and(|t| t >= HIGHER_THROUGHPUT && n.throughput_per_second < HIGHER_THROUGHPUT);
        if let Some(t) = update.throughput_per_second {
            n.throughput_per_second = t;
        }
        if let Some(limits) = update.calling_limits {
            n.calling.limits = limits;
        }
        let capability = match tier {
            Some(tier) => super::portfolios::set_tier(p, &portfolio, tier),
            None => Vec::new(),
        };
        // Meta's phone_number_quality_update reference (updated November 2025): `event` and the
        // portfolio's `max_daily_conversations_per_business`; `current_limit` and `old_limit`
        // were removed in February 2026.
        let upgrade = upgraded.then(|| EventDraft {
            account: account.clone(),
            region: region.clone(),
            origin: origin.clone(),
            about_phone: true,
            field: "phone_number_quality_update".into(),
            kind: "phone_number_quality_update".into(),
            status: None,
            message_id: None,
            wamid: None,
            destination,
            time_ms: now,
            value: crate::events::EventValue::json(&json!({
                "display_phone_number": origin.display_digits,
                "event": "THROUGHPUT_UPGRADE",
                "max_daily_conversations_per_business": p.meta.tier(&portfolio),
            })),
        });
        let (w, n) = p
            .wabas
            .values()
            .find_map(|w| w.phone_numbers.iter().find(|n| n.hex == hex).map(|n| (w, n)))
            .ok_or_else(not_found)?;
        (phone_view(&p.meta, w, n), capability, upgrade)
    };
    super::portfolios::publish_capability_updates(&state, &account, &region, capability);
    if let Some(draft) = upgrade {
        state.bus.publish(draft);
    }
    Ok(Json(view))
}

/// Meta's higher throughput level, messages per second (Meta, "Throughput").
const HIGHER_THROUGHPUT: u32 = 1000;

/// Stores a file a customer sent to the phone number `phone_hex` (of the partition `account`,
/// `region`) and records it as media of that number for 7 days, retrievable with
/// GetWhatsAppMessageMedia. A file over 100 MB is refused with Meta's 131052 (the inbound
/// simulation reports it in the message's `errors`); the MIME type is taken as given (customers
/// can send any file as a document).
pub async fn store_inbound(
    state: &AppState,
    account: &str,
    region: &str,
    phone_hex: &str,
    bytes: Bytes,
    mime_type: &str,
) -> crate::error::ApiResult<crate::media::InboundMedia> {
    if bytes.len() as u64 > crate::media::MAX_MEDIA_BYTES {
        return Err(crate::media::MetaMediaError::download(format!(
            "the file is {} bytes; WhatsApp takes files up to 100 MB",
            bytes.len()
        ))
        .to_api_error());
    }
    let mime = crate::media::normalize_mime(mime_type);
    let mime = if mime.is_empty() { "application/octet-stream".to_string() } else { mime };
    let media_id = state.ids.meta_id(15);
    let hashed = bytes.clone();
    let sha256 =
        tokio::task::spawn_blocking(move || crate::media::sha256_base64(&hashed)).await.map_err(
            |e| crate::error::ApiError::internal(format!("Hashing the media file failed: {e}")),
        )?;
    let file_size = bytes.len() as u64;
    state.media.write(account, region, &media_id, &bytes).await?;
    let now = state.clock.now_ms();
    let file = crate::state::media::MediaFile {
        media_id: media_id.clone(),
        phone_hex: phone_hex.to_string(),
        kind: crate::media::MediaKind::of_mime(&mime),
        mime_type: mime.clone(),
        file_size,
        sha256: sha256.clone(),
        animated: mime == "image/webp" && crate::media::sniff::webp_is_animated(&bytes),
        created_ms: now,
        expires_ms: now + crate::state::media::INBOUND_LIFETIME_MS,
        origin: crate::state::media::MediaOrigin::Inbound,
    };
    let kind = file.kind;
    let partition = state.store.partition(account, region);
    let expired = {
        let mut p = partition.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        p.media.insert(file, now)
    };
    state.media.remove_all(account, region, &expired).await;
    Ok(crate::media::InboundMedia { media_id, mime_type: mime, sha256, file_size, kind })
}
