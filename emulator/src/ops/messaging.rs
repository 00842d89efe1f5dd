//! SendWhatsAppMessage: the Meta message object is decoded, validated and handed to the WhatsApp
//! side ([`crate::meta::outbound`]), which answers the `messageId` now and statuses later.

use serde_json::{Value, json};

use crate::AppState;
use crate::context::RequestContext;
use crate::error::ApiResult;
use crate::model::validate::Input;

pub fn send_whatsapp_message(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let phone = input.req_str("originationPhoneNumberId")?;
    let version = input.req_str("metaApiVersion")?;
    let message = input.blobs.get("message").map(Vec::as_slice).unwrap_or_default();
    let message_id = crate::meta::outbound::send(state, ctx, phone, version, message)?;
    Ok(json!({ "messageId": message_id }))
}
