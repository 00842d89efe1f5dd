//! SendWhatsAppMessage: the Meta message object is decoded, validated and handed to the WhatsApp
//! side ([`crate::meta::outbound`]), which answers the `messageId` now and statuses later.

use super::Output;

use crate::AppState;
use crate::context::RequestContext;
use crate::error::ApiResult;
use crate::model::validate::{Input, blob_satisfies, string_satisfies};
use crate::model::{Model, Shape, ShapeKind};

use std::borrow::Cow;
use std::sync::OnceLock;

pub fn send_whatsapp_message(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Output> {
    let phone = input.req_str("originationPhoneNumberId")?;
    let version = input.req_str("metaApiVersion")?;
    let message = input.blobs.get("message").map(Vec::as_slice).unwrap_or_default();
    send(state, ctx, phone, version, message)
}

/// SendWhatsAppMessage's input read straight from the body, without a `Value` tree, when all
/// three members are there and valid — the common case of the busiest operation. Anything else
/// (a missing, null, mistyped or invalid member, a duplicate key, …) is `None`, and the model's
/// decoder reads the body again to word the errors.
pub fn fast_send_whatsapp_message(
    state: &AppState,
    ctx: &RequestContext,
    body: &[u8],
) -> Option<ApiResult<Output>> {
    let (phone, version, message) = fast_send_input(body)?;
    Some(send(state, ctx, &phone, &version, &message))
}

type SendInput<'a> = (Cow<'a, str>, Cow<'a, str>, Vec<u8>);

fn fast_send_input(body: &[u8]) -> Option<SendInput<'_>> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Members<'a> {
        #[serde(borrow)]
        origination_phone_number_id: Cow<'a, str>,
        #[serde(borrow)]
        message: Cow<'a, str>,
        #[serde(borrow)]
        meta_api_version: Cow<'a, str>,
    }
    let m: Members = serde_json::from_slice(body).ok()?;
    let [phone, message, version] = member_shapes();
    let message = blob_satisfies(message, &m.message)?;
    let valid = string_satisfies(phone, &m.origination_phone_number_id)
        && string_satisfies(version, &m.meta_api_version);
    valid.then_some((m.origination_phone_number_id, m.meta_api_version, message))
}

/// The model shapes of `originationPhoneNumberId`, `message` and `metaApiVersion`.
fn member_shapes() -> [&'static Shape; 3] {
    static SHAPES: OnceLock<[&'static Shape; 3]> = OnceLock::new();
    *SHAPES.get_or_init(|| {
        let model = Model::get();
        let input = model.shape(&model.operation("SendWhatsAppMessage").input);
        let ShapeKind::Structure { members } = &input.kind else {
            panic!("SendWhatsAppMessageInput is a structure")
        };
        ["originationPhoneNumberId", "message", "metaApiVersion"].map(|name| {
            let member = members.iter().find(|m| m.name == name).expect("a modeled member");
            model.shape(&member.shape)
        })
    })
}

fn send(
    state: &AppState,
    ctx: &RequestContext,
    phone: &str,
    version: &str,
    message: &[u8],
) -> ApiResult<Output> {
    use crate::meta::outbound::{self, Accepted, SendEnv};
    let env = SendEnv {
        now: state.clock.now_ms(),
        delays: state.config.status_delays,
        capacity: state.config.message_log_capacity,
        ids: &state.ids,
        meta_fault: ctx.meta_fault.as_ref(),
    };
    // What needs no state is read before the partition is locked.
    let request = outbound::Request::read(version, message, &env)?;
    let accepted = state.store.shared(ctx, |p| outbound::accept(p, ctx, phone, request, &env))?;
    let Accepted { message_id, timers, evicted, throttled_flow } = accepted;
    // The oldest messages the log let go are freed outside the partition's lock.
    drop(evicted);
    if let Some((waba_hex, flow_id)) = throttled_flow {
        state
            .store
            .with(ctx, |p| outbound::count_throttled_flow_send(p, &waba_hex, &flow_id, env.now));
    }
    state.bus.log.note_accepted();
    state.scheduler.at_all(timers);
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        message_id: String,
    }
    Output::serialize(&Answer { message_id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::validate::decode_input;

    const PHONE: &str = "phone-number-id-baa217c3f11b4ffd956f6f3afb44ce54";
    const ARN: &str = "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/baa217c3f11b4ffd956f6f3afb44ce54";

    /// The fast path never accepts what the model's decoder refuses, reads the same values, and
    /// takes every ordinary valid input.
    #[test]
    fn the_fast_input_agrees_with_the_model_decoder() {
        let model = Model::get();
        let op = model.operation("SendWhatsAppMessage");
        let message = r#"eyJtZXNzYWdpbmdfcHJvZHVjdCI6IndoYXRzYXBwIn0="#;
        let valid = [
            format!(
                r#"{{"originationPhoneNumberId":"{PHONE}","message":"{message}","metaApiVersion":"v20.0"}}"#
            ),
            format!(
                r#"{{"metaApiVersion":"v21.0","message":"{message}","originationPhoneNumberId":"{ARN}"}}"#
            ),
            format!(
                r#" {{ "originationPhoneNumberId" : "{PHONE}", "message":"{}", "metaApiVersion":"v20.0", "extra": [1] }} "#,
                message.trim_end_matches('=')
            ),
            format!(
                r#"{{"originationPhoneNumberId":"\u0070{}","message":"{message}","metaApiVersion":""}}"#,
                &PHONE[1..]
            ),
        ];
        let invalid = [
            format!(r#"{{"message":"{message}","metaApiVersion":"v20.0"}}"#),
            format!(r#"{{"originationPhoneNumberId":"{PHONE}","metaApiVersion":"v20.0"}}"#),
            format!(r#"{{"originationPhoneNumberId":"{PHONE}","message":"{message}"}}"#),
            format!(
                r#"{{"originationPhoneNumberId":null,"message":"{message}","metaApiVersion":"v20.0"}}"#
            ),
            format!(
                r#"{{"originationPhoneNumberId":"{PHONE}","message":"{message}","metaApiVersion":20}}"#
            ),
            format!(
                r#"{{"originationPhoneNumberId":"phone-1","message":"{message}","metaApiVersion":"v20.0"}}"#
            ),
            format!(
                r#"{{"originationPhoneNumberId":"","message":"{message}","metaApiVersion":"v20.0"}}"#
            ),
            format!(
                r#"{{"originationPhoneNumberId":"{PHONE}","message":"not base64!","metaApiVersion":"v20.0"}}"#
            ),
            format!(
                r#"{{"originationPhoneNumberId":"{PHONE}","message":"","metaApiVersion":"v20.0"}}"#
            ),
            format!(
                r#"{{"originationPhoneNumberId":"{PHONE}","message":{{}},"metaApiVersion":"v20.0"}}"#
            ),
            format!(
                r#"{{"originationPhoneNumberId":"{PHONE}{}","message":"{message}","metaApiVersion":"v20.0"}}"#,
                "0".repeat(100)
            ),
            format!(
                r#"[{{"originationPhoneNumberId":"{PHONE}","message":"{message}","metaApiVersion":"v20.0"}}]"#
            ),
            "{".to_string(),
            String::new(),
        ];
        for body in valid.iter().chain(&invalid) {
            let fast = fast_send_input(body.as_bytes());
            let decoded = decode_input(model, op, &[], body.as_bytes());
            match (&fast, &decoded) {
                (Some((phone, version, bytes)), Ok(input)) => {
                    assert_eq!(input.str("originationPhoneNumberId"), Some(&**phone), "{body}");
                    assert_eq!(input.str("metaApiVersion"), Some(&**version), "{body}");
                    assert_eq!(input.blobs.get("message"), Some(bytes), "{body}");
                }
                (Some(_), Err(e)) => {
                    panic!("fast path took what the model refuses ({e:?}): {body}")
                }
                (None, _) => {}
            }
            assert_eq!(fast.is_some(), valid.contains(body), "{body}");
            assert_eq!(decoded.is_ok(), valid.contains(body), "{body}");
        }
    }
}
