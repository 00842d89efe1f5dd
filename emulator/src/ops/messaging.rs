//! SendWhatsAppMessage: the Meta message object is decoded, validated and handed to the WhatsApp
//! side ([`crate::meta::outbound`]), which answers the `messageId` now and statuses later.

use super::Output;

use crate::AppState;
use crate::context::RequestContext;
use crate::error::ApiResult;
use crate::model::validate::Input;

pub fn send_whatsapp_message(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Output> {
    let phone = input.req_str("originationPhoneNumberId")?;
    let version = input.req_str("metaApiVersion")?;
    let message = input.blobs.get("message").map(Vec::as_slice).unwrap_or_default();
    let message_id = crate::meta::outbound::send(state, ctx, phone, version, message)?;
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        message_id: String,
    }
    Output::serialize(&Answer { message_id })
}
