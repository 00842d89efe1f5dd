//! A customer writing in (control API `POST /_emulator/inbound`): the message is recorded, the
//! 24-hour customer service window of (business number, customer) opens or refreshes, and the
//! inbound event is published to the WABA's event destination.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::effects::{EventDraft, EventValue};
use super::{InboundMessage, new_wamid};
use crate::state::{Partition, PhoneNumber, Waba, ids};

/// Inbound message types a customer can send.
pub const INBOUND_TYPES: &[&str] = &[
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "system",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundRequest {
    /// The business number: `phone-number-id-…`, its ARN, or its Meta phone number id.
    pub phone_number_id: String,
    /// The customer's WhatsApp id (phone number digits; `+` and spaces are dropped).
    pub from: String,
    #[serde(default)]
    pub profile_name: Option<String>,
    /// Account and Region of the number (default: the emulator's defaults, or the ARN's).
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// Meta's inbound message type (default `text`).
    #[serde(default, rename = "type")]
    pub message_type: Option<String>,
    /// Everything else: the type's object in Meta's inbound form (`text` may be a plain string),
    /// and `context` `{"id": "<wamid of our message>"}` for replies.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// The account and Region of an inbound request's business number: its ARN's, else the
/// request's, else the defaults.
pub fn partition_of(
    req: &InboundRequest,
    default_account: &str,
    default_region: &str,
) -> (String, String) {
    match ids::parse_arn(&req.phone_number_id) {
        Some(arn) => (arn.account.to_string(), arn.region.to_string()),
        None => (
            req.account.clone().unwrap_or_else(|| default_account.to_string()),
            req.region.clone().unwrap_or_else(|| default_region.to_string()),
        ),
    }
}

/// The WABA and number of a partition's `wabas` an inbound request names (`phone-number-id-…`, its ARN or its
/// Meta phone number id).
pub fn find_phone<'p>(
    wabas: &'p BTreeMap<String, Waba>,
    req: &InboundRequest,
) -> Option<(&'p Waba, &'p PhoneNumber)> {
    let wanted = req.phone_number_id.as_str();
    let hex = ids::parse_arn(wanted).map(|a| a.hex).unwrap_or(wanted);
    let hex = hex.strip_prefix(ids::PHONE_PREFIX).unwrap_or(hex);
    wabas.values().find_map(|w| {
        w.phone_numbers
            .iter()
            .find(|n| n.hex == hex || n.meta_phone_number_id == wanted)
            .map(|n| (w, n))
    })
}

/// The refusal of a request whose number `p` does not have.
pub fn no_such_phone(req: &InboundRequest, account: &str, region: &str) -> String {
    format!(
        "phone number {} does not exist in account {account}, Region {region}",
        req.phone_number_id
    )
}

/// The media type an inbound request carries a file of, if any (image, audio, …).
pub fn media_type(req: &InboundRequest) -> Option<&str> {
    let t = req.message_type.as_deref().unwrap_or("text");
    ["image", "audio", "video", "document", "sticker"].contains(&t).then_some(t)
}

/// The URL Meta gives an inbound media file: `lookaside.fbsbx.com/whatsapp_business/attachments/`
/// with the media id, a time and a hash.
fn media_url(media_id: &str, now_ms: i64) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in media_id.bytes().chain(now_ms.to_le_bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!(
        "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid={media_id}&ext={}&hash=AT{hash:016x}",
        now_ms / 1000
    )
}

/// An inbound request's message, checked (no state needed): the sender, the type, its object.
#[derive(Debug)]
pub struct Prepared {
    from: String,
    message_type: String,
    body: Value,
}

/// Checks an inbound request's message and shapes its object. `media` is the file a media
/// message carries, already stored as media of the number (GetWhatsAppMessageMedia can fetch
/// it).
pub fn prepare(
    req: &InboundRequest,
    media: Option<&super::media::InboundMedia>,
    now: i64,
    ids: &ids::IdGen,
) -> Result<Prepared, String> {
    let from: String = req.from.chars().filter(char::is_ascii_digit).collect();
    if !(5..=15).contains(&from.len()) {
        return Err(format!("from {:?} is not a WhatsApp phone number", req.from));
    }
    let message_type = req.message_type.clone().unwrap_or_else(|| "text".into());
    if !INBOUND_TYPES.contains(&message_type.as_str()) {
        return Err(format!(
            "type {message_type:?} is not an inbound message type; use one of {}",
            INBOUND_TYPES.join(", ")
        ));
    }
    let mut body = match req.fields.get(&message_type).cloned() {
        Some(Value::String(s)) if message_type == "text" => json!({ "body": s }),
        Some(v @ Value::Object(_)) => v,
        Some(Value::Array(a)) if message_type == "contacts" => Value::Array(a),
        _ => {
            return Err(format!(
                "the {message_type} object is missing (e.g. \"{message_type}\": {{…}})"
            ));
        }
    };
    if let Some(m) = media {
        body["id"] = json!(m.media_id);
        body["mime_type"] = json!(m.mime_type);
        body["sha256"] = json!(m.sha256);
        // Meta's media webhooks carry the media's URL since late 2025 (webhooks reference, "Image
        // messages"): its lookaside form, which needs Meta's token; through AWS the bytes come
        // with GetWhatsAppMessageMedia.
        body["url"] = json!(media_url(&m.media_id, now));
    }
    check_body(ids, &message_type, &mut body)?;
    Ok(Prepared { from, message_type, body })
}

/// Records a prepared inbound message in `p` (under its exclusive lock): the message, the
/// customer's window, the customer's BSUID; returns the message and its event's draft.
#[allow(clippy::too_many_arguments)]
pub fn record(
    p: &mut Partition,
    account: &str,
    region: &str,
    req: &InboundRequest,
    prepared: Prepared,
    now: i64,
    capacity: usize,
    ids: &ids::IdGen,
) -> Result<(InboundMessage, EventDraft), String> {
    let Prepared { from, message_type, body } = prepared;
    {
        let Some((waba, phone)) = find_phone(&p.wabas, req) else {
            return Err(no_such_phone(req, account, region));
        };
        let display: String = phone.phone_number.chars().filter(char::is_ascii_digit).collect();
        let wamid = new_wamid(ids, &from);
        let origin = phone.origin(waba);
        // The customer's business-scoped user ID (Meta, "Business-scoped user IDs").
        let user_id = p.meta.users.meet(&origin.portfolio_id, &from);
        let parent_user_id = p.meta.parent_bsuid(&origin.portfolio_id, &from);
        let mut message = json!({
            "from": from,
            "from_user_id": user_id,
            "id": wamid,
            "timestamp": (now / 1000).to_string(),
            "type": message_type,
        });
        let mut contact = json!({
            "profile": { "name": req.profile_name.clone().unwrap_or_else(|| "Customer".into()) },
            "wa_id": from,
            "user_id": user_id,
        });
        // A parent BSUID where the portfolio has them, and the username the customer adopted.
        if let Some(parent) = parent_user_id {
            message["from_parent_user_id"] = json!(parent);
            contact["parent_user_id"] = json!(parent);
        }
        if let Some(username) = p.meta.users.username(&from) {
            contact["profile"]["username"] = json!(username);
        }
        message[&message_type] = body;
        if let Some(context) = req.fields.get("context") {
            let id = context.get("id").and_then(Value::as_str).unwrap_or_default();
            let ours = p
                .meta
                .outbound
                .lock()
                .iter()
                .any(|m| m.wamid == id && m.origin.phone_hex == phone.hex);
            if !ours {
                return Err(format!("context.id {id:?} is not a message this phone number sent"));
            }
            message["context"] = json!({ "from": display, "id": id });
        }
        let draft = EventDraft {
            account: account.to_string(),
            region: region.to_string(),
            origin,
            about_phone: true,
            field: "messages".into(),
            kind: "inbound".into(),
            status: None,
            message_id: None,
            wamid: Some(wamid.clone()),
            destination: waba.event_destinations.first().map(|d| d.event_destination_arn.clone()),
            time_ms: now,
            value: EventValue::json(&{
                let mut value = json!({
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": display,
                        "phone_number_id": phone.meta_phone_number_id,
                    },
                    "contacts": [contact],
                    "messages": [message.clone()],
                });
                // System messages carry no contacts (Meta, webhooks reference: system messages).
                if message_type == "system"
                    && let Some(v) = value.as_object_mut()
                {
                    v.shift_remove("contacts");
                }
                value
            }),
        };
        let inbound = InboundMessage {
            wamid: wamid.clone(),
            phone_number_id: ids::phone_id(&phone.hex),
            from: from.clone(),
            time_ms: now,
            message,
            read: false,
            profile_name: req.profile_name.clone(),
            order: 0,
        };
        let phone_hex = phone.hex.clone();
        let mut inbound = inbound;
        inbound.order = p.meta.next_order();
        p.meta.windows.insert((phone_hex, from.clone()), now);
        p.meta.inbound.get_mut().insert(wamid, inbound.clone(), capacity);
        Ok((inbound, draft))
    }
}

/// The minimum Meta's inbound objects carry; media get an id, a MIME type and a sha256.
fn check_body(
    ids: &crate::state::ids::IdGen,
    message_type: &str,
    body: &mut Value,
) -> Result<(), String> {
    let need = |body: &Value, key: &str| {
        if body.get(key).is_none() {
            Err(format!("{message_type}.{key} is required"))
        } else {
            Ok(())
        }
    };
    match message_type {
        "text" => need(body, "body"),
        "image" | "audio" | "video" | "document" | "sticker" => {
            let default_mime = match message_type {
                "image" => "image/jpeg",
                "audio" => "audio/ogg",
                "video" => "video/mp4",
                "sticker" => "image/webp",
                _ => "application/pdf",
            };
            if body.get("id").is_none() {
                body["id"] = json!(ids.meta_id(15));
            }
            if body.get("mime_type").is_none() {
                body["mime_type"] = json!(default_mime);
            }
            if body.get("sha256").is_none() {
                use base64::Engine;
                let digest = aws_lc_rs::digest::digest(
                    &aws_lc_rs::digest::SHA256,
                    body["id"].to_string().as_bytes(),
                );
                body["sha256"] =
                    json!(base64::engine::general_purpose::STANDARD.encode(digest.as_ref()));
            }
            Ok(())
        }
        "location" => {
            need(body, "latitude")?;
            need(body, "longitude")
        }
        "interactive" => {
            let kind = body["type"].as_str().unwrap_or_default().to_string();
            if !["button_reply", "list_reply", "nfm_reply"].contains(&kind.as_str()) {
                return Err("interactive.type must be button_reply, list_reply or nfm_reply".into());
            }
            need(body, &kind)
        }
        "button" => need(body, "payload"),
        "system" => need(body, "type"),
        "reaction" => {
            need(body, "message_id")?;
            need(body, "emoji")
        }
        _ => Ok(()),
    }
}
