//! Linked WhatsApp Business Accounts: GetLinkedWhatsAppBusinessAccount,
//! ListLinkedWhatsAppBusinessAccounts, DisassociateWhatsAppBusinessAccount,
//! PutWhatsAppBusinessAccountEventDestinations.

use serde_json::{Value, json};

use super::{Output, Pager, epoch_json, phone};
use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::model::validate::Input;
use crate::state::{EventDestination, Partition, Waba, ids};

/// `LinkedWhatsAppBusinessAccountSummary` (and, with phone numbers, `LinkedWhatsAppBusinessAccount`).
pub fn waba_json(p: &Partition, w: &Waba, with_phones: bool) -> Value {
    serde_json::to_value(WabaView::of(p, w, with_phones)).unwrap_or(Value::Null)
}

/// A linked WABA as the API answers it (serialized without building a `Value`).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct WabaView<'a> {
    arn: String,
    id: String,
    waba_id: &'a str,
    registration_status: &'a str,
    link_date: Value,
    waba_name: &'a str,
    event_destinations: &'a [EventDestination],
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_numbers: Option<Vec<phone::PhoneView<'a>>>,
}

impl<'a> WabaView<'a> {
    fn of(p: &Partition, w: &'a Waba, with_phones: bool) -> WabaView<'a> {
        WabaView {
            arn: p.waba_arn(&w.hex),
            id: ids::waba_id(&w.hex),
            waba_id: &w.meta_waba_id,
            registration_status: &w.registration_status,
            link_date: epoch_json(w.link_date),
            waba_name: &w.name,
            event_destinations: &w.event_destinations,
            dataset_id: w.dataset_id.as_deref(),
            phone_numbers: with_phones
                .then(|| w.phone_numbers.iter().map(|n| phone::PhoneView::of(p, n)).collect()),
        }
    }
}

pub fn get_linked_whatsapp_business_account(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Output> {
    let id = input.req_str("id")?;
    state.store.read(ctx, |p| {
        let w = p.waba(ctx, id)?;
        #[derive(serde::Serialize)]
        struct Answer<'a> {
            account: WabaView<'a>,
        }
        Output::serialize(&Answer { account: WabaView::of(p, w, true) })
    })
}

pub fn list_linked_whatsapp_business_accounts(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let pager = Pager { scope: "linked-wabas", default_size: 25 };
    state.store.read(ctx, |p| {
        let items = p.wabas.iter().map(|(k, w)| (k.as_str(), waba_json(p, w, false)));
        pager.respond("linkedAccounts", items, input.str("nextToken"), input.i64("maxResults"))
    })
}

pub fn disassociate_whatsapp_business_account(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    state.store.with(ctx, |p| {
        let hex = p.waba(ctx, id)?.hex.clone();
        p.wabas.remove(&hex);
        Ok(json!({}))
    })
}

pub fn put_whatsapp_business_account_event_destinations(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let destinations: Vec<EventDestination> = input.parse("eventDestinations")?.unwrap_or_default();
    check_event_destinations(&destinations, "eventDestinations")?;
    state.store.with(ctx, |p| {
        p.waba_mut(ctx, id)?.event_destinations = destinations;
        Ok(json!({}))
    })
}

/// An event destination is an Amazon SNS standard topic or an Amazon Connect instance.
pub fn check_event_destinations(list: &[EventDestination], field: &str) -> ApiResult<()> {
    for (i, d) in list.iter().enumerate() {
        let arn = &d.event_destination_arn;
        let at = format!("{field}.{}.member.eventDestinationArn", i + 1);
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let well_formed = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && !parts[3].is_empty()
            && parts[4].len() == 12
            && parts[4].bytes().all(|b| b.is_ascii_digit());
        let ok = well_formed
            && match parts[2] {
                "sns" => {
                    if parts[5].ends_with(".fifo") {
                        return Err(ApiError::invalid_parameters(format!(
                            "Invalid {at} '{arn}': Amazon SNS FIFO topics are not supported as \
                             event destinations; use a standard topic"
                        )));
                    }
                    !parts[5].is_empty()
                        && parts[5].len() <= 256
                        && parts[5]
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                }
                "connect" => parts[5].strip_prefix("instance/").is_some_and(|s| !s.is_empty()),
                _ => false,
            };
        if !ok {
            return Err(ApiError::invalid_parameters(format!(
                "Invalid {at} '{arn}': an event destination must be an Amazon SNS topic ARN \
                 (arn:aws:sns:<region>:<account>:<topic>) or an Amazon Connect instance ARN \
                 (arn:aws:connect:<region>:<account>:instance/<id>)"
            )));
        }
    }
    Ok(())
}
