//! Business portfolios' messaging limits (Meta, "Messaging limits"):
//! `GET /_emulator/portfolios` — the portfolios of the partition's WABAs with their limit and use;
//! `GET`/`PUT /_emulator/portfolios/{id}` `{"messagingLimitTier", "parentBusinessId",
//! "marketingMessagesApi"}` — one; Meta's decision on its limit (which fires
//! `business_capability_update` on each of its WABAs), the parent business whose portfolios share
//! parent BSUIDs, and whether it accepted the Marketing Messages API's terms.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::messaging::partition_of;
use super::{ControlError, Params, parse_body};
use crate::AppState;
use crate::meta::portfolio::Tier;
use crate::ops::templates::{WabaOf, publish_waba_event_of};
use crate::state::{Partition, ids};

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/portfolios", axum::routing::get(list))
        .route("/portfolios/{id}", axum::routing::get(get_one).put(put_one))
}

/// A portfolio's view: its limit, the unique customers reached outside a customer service window
/// in the moving 24 hours, its WABAs and numbers in this partition.
fn view(p: &mut Partition, id: &str, now: i64) -> Value {
    let wabas: Vec<&crate::state::Waba> =
        p.wabas.values().filter(|w| w.portfolio_id() == id).collect();
    let waba_ids: Vec<String> = wabas.iter().map(|w| ids::waba_id(&w.hex)).collect();
    let phone_ids: Vec<String> =
        wabas.iter().flat_map(|w| w.phone_numbers.iter().map(|n| ids::phone_id(&n.hex))).collect();
    let tier = p.meta.tier(id);
    let portfolios = p.meta.portfolios.get_mut();
    let used = portfolios.get_mut(id).map_or(0, |f| f.used(now));
    let settings = portfolios.get(id);
    json!({
        "businessPortfolioId": id,
        "messagingLimitTier": tier,
        "maxDailyConversationsPerBusiness": tier.max_daily(),
        "uniqueCustomersLast24h": used,
        "parentBusinessId": settings.and_then(|f| f.parent_business_id.as_deref()),
        "marketingMessagesApi": settings.is_some_and(|f| f.marketing_messages_api),
        "wabaIds": waba_ids,
        "phoneNumberIds": phone_ids,
    })
}

fn portfolio_ids(p: &Partition) -> Vec<String> {
    let mut found: Vec<String> = p.wabas.values().map(|w| w.portfolio_id()).collect();
    found.sort();
    found.dedup();
    found
}

/// `GET /_emulator/portfolios?account=&region=`.
async fn list(State(state): State<AppState>, params: Params) -> Json<Value> {
    let key = partition_of(&state, &params);
    let now = state.clock.now_ms();
    let Some(partition) = state.store.existing(&key) else {
        return Json(json!({ "portfolios": [] }));
    };
    let mut p = partition.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    let list: Vec<Value> = portfolio_ids(&p).iter().map(|id| view(&mut p, id, now)).collect();
    Json(json!({ "portfolios": list }))
}

fn not_found(id: &str) -> ControlError {
    ControlError::not_found(format!(
        "no WABA of this account and Region is in business portfolio {id}"
    ))
}

/// `GET /_emulator/portfolios/{id}?account=&region=`.
async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ControlError> {
    let key = partition_of(&state, &params);
    let now = state.clock.now_ms();
    let partition = state.store.existing(&key).ok_or_else(|| not_found(&id))?;
    let mut p = partition.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !p.wabas.values().any(|w| w.portfolio_id() == id) {
        return Err(not_found(&id));
    }
    Ok(Json(view(&mut p, &id, now)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PortfolioUpdate {
    account: Option<String>,
    region: Option<String>,
    messaging_limit_tier: Option<String>,
    /// The parent business whose portfolios share parent BSUIDs; `null` disables them.
    #[serde(default, deserialize_with = "super::present")]
    parent_business_id: Option<Option<String>>,
    marketing_messages_api: Option<bool>,
}

/// Parses a tier a control request names.
pub(super) fn parse_tier(name: &str) -> Result<Tier, ControlError> {
    Tier::parse(name).ok_or_else(|| {
        ControlError::bad_request(format!(
            "messagingLimitTier must be one of {} (Meta's ladder since October 2025; limits are per business portfolio)",
            Tier::names()
        ))
    })
}

/// Sets a portfolio's tier; when it changes, what each of its WABAs is told:
/// `business_capability_update` with `max_daily_conversations_per_business` (Meta, "Messaging
/// limits"; the webhook reports the messaging limit and the phone-number limits in separate
/// updates, and `max_daily_conversation_per_phone` was removed in February 2026).
pub(super) fn set_tier(p: &mut Partition, id: &str, tier: Tier) -> Vec<(WabaOf, Value)> {
    if p.meta.tier(id) == tier {
        return Vec::new();
    }
    p.meta.portfolio(id).messaging_limit_tier = tier;
    p.wabas
        .values()
        .filter(|w| w.portfolio_id() == id)
        .map(|w| {
            (WabaOf::of(w), json!({ "max_daily_conversations_per_business": tier.max_daily() }))
        })
        .collect()
}

pub(super) fn publish_capability_updates(
    state: &AppState,
    account: &str,
    region: &str,
    updates: Vec<(WabaOf, Value)>,
) {
    for (waba, value) in updates {
        publish_waba_event_of(state, account, region, &waba, "business_capability_update", value);
    }
}

/// `PUT /_emulator/portfolios/{id}` `{"messagingLimitTier"}`.
async fn put_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let update: PortfolioUpdate = parse_body(&body)?;
    let tier = update.messaging_limit_tier.as_deref().map(parse_tier).transpose()?;
    if let Some(Some(parent)) = &update.parent_business_id
        && (parent.is_empty() || parent.len() > 20 || !parent.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ControlError::bad_request(
            "parentBusinessId must be a Meta business id (1 to 20 digits) or null",
        ));
    }
    let account = update.account.unwrap_or_else(|| state.config.default_account.clone());
    let region = update.region.unwrap_or_else(|| state.config.default_region.clone());
    let now = state.clock.now_ms();
    let partition = state.store.existing(&(account.clone(), region.clone()));
    let partition = partition.ok_or_else(|| not_found(&id))?;
    let (view, updates) = {
        let mut p = partition.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !p.wabas.values().any(|w| w.portfolio_id() == id) {
            return Err(not_found(&id));
        }
        let updates = tier.map(|tier| set_tier(&mut p, &id, tier)).unwrap_or_default();
        if let Some(parent) = update.parent_business_id {
            p.meta.portfolio(&id).parent_business_id = parent;
        }
        if let Some(on) = update.marketing_messages_api {
            p.meta.portfolio(&id).marketing_messages_api = on;
        }
        (view(&mut p, &id, now), updates)
    };
    publish_capability_updates(&state, &account, &region, updates);
    Ok(Json(view))
}
