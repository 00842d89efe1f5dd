//! Linked WhatsApp Business Accounts: GetLinkedWhatsAppBusinessAccount,
//! ListLinkedWhatsAppBusinessAccounts, DisassociateWhatsAppBusinessAccount,
//! PutWhatsAppBusinessAccountEventDestinations.

use serde_json::{Value, json};

use super::{Pager, epoch_json, phone};
use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::model::validate::Input;
use crate::state::{EventDestination, Partition, Waba, ids};

/// `LinkedWhatsAppBusinessAccountSummary` (and, with phone numbers, `LinkedWhatsAppBusinessAccount`).
pub fn waba_json(p: &Partition, w: &Waba, with_phones: bool) -> Value {
    let mut v = json!({
        "arn": p.waba_arn(&w.hex),
        "id": ids::waba_id(&w.hex),
        "wabaId": w.meta_waba_id,
        "registrationStatus": w.registration_status,
        "linkDate": epoch_json(w.link_date),
        "wabaName": w.name,
        "eventDestinations": w.event_destinations,
    });
    if let Some(dataset) = &w.dataset_id {
        v["datasetId"] = json!(dataset);
    }
    if with_phones {
        v["phoneNumbers"] =
            w.phone_numbers.iter().map(|n| phone::phone_json(p, n)).collect::<Vec<_>>().into();
    }
    v
}

pub fn get_linked_whatsapp_business_account(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    state.store.read(ctx, |p| {
        let w = p.waba(ctx, id)?;
        Ok(json!({ "account": waba_json(p, w, true) }))
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
