//! Customers' business-scoped user IDs (Meta, "Business-scoped user IDs"):
//! `GET /_emulator/users/{waId}?phoneNumberId=` — the customer's BSUID for the number's business
//! portfolio; `PUT /_emulator/users/{waId}` `{"phoneNumberId", "bsuid"}` — gives them one;
//! `POST /_emulator/users/{waId}/change-number` `{"phoneNumberId", "newWaId"}` — the customer
//! moves to a new phone number, keeps their BSUID, and the business receives Meta's
//! `user_changed_number` system message.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::messaging::{locate_phone, receive};
use super::{ControlError, Params, parse_body};
use crate::AppState;
use crate::meta::inbound::InboundRequest;

pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/users/{wa_id}", axum::routing::get(get_user).put(put_user))
        .route("/users/{wa_id}/change-number", axum::routing::post(change_number))
}

/// The portfolio and business number a request names (`phoneNumberId`, its ARN or Meta id).
fn portfolio(
    state: &AppState,
    phone_number_id: &str,
    account: Option<String>,
    region: Option<String>,
) -> Result<(String, String, String), ControlError> {
    let req = InboundRequest {
        phone_number_id: phone_number_id.to_string(),
        from: String::new(),
        profile_name: None,
        account,
        region,
        message_type: None,
        fields: Default::default(),
    };
    let (account, region, hex) = locate_phone(state, &req).map_err(ControlError::not_found)?;
    let partition = state.store.existing_or_empty(&account, &region);
    let p = partition.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    let portfolio = p
        .wabas
        .values()
        .find_map(|w| w.phone_numbers.iter().find(|n| n.hex == hex).map(|n| n.origin(w)))
        .map(|o| o.portfolio_id.clone())
        .ok_or_else(|| {
            ControlError::not_found(format!("phone number {phone_number_id} does not exist"))
        })?;
    Ok((account, region, portfolio))
}

fn digits(wa_id: &str) -> Result<String, ControlError> {
    let d: String = wa_id.chars().filter(char::is_ascii_digit).collect();
    if (5..=15).contains(&d.len()) {
        Ok(d)
    } else {
        Err(ControlError::bad_request(format!("{wa_id:?} is not a WhatsApp phone number")))
    }
}

/// A customer as a business of `portfolio` sees them: BSUID, parent BSUID where the portfolio
/// has them, and the username they adopted.
fn view(meta: &crate::meta::MetaState, wa_id: &str, portfolio: &str) -> Value {
    json!({
        "waId": wa_id,
        "businessPortfolioId": portfolio,
        "bsuid": meta.users.bsuid(portfolio, wa_id),
        "parentBsuid": meta.parent_bsuid(portfolio, wa_id),
        "username": meta.users.username(wa_id),
    })
}

async fn get_user(
    State(state): State<AppState>,
    Path(wa_id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ControlError> {
    let wa_id = digits(&wa_id)?;
    let phone = params
        .get("phoneNumberId")
        .ok_or_else(|| ControlError::bad_request("phoneNumberId is required"))?;
    let (account, region, portfolio) =
        portfolio(&state, phone, params.get("account").cloned(), params.get("region").cloned())?;
    let partition = state.store.existing_or_empty(&account, &region);
    let p = partition.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(Json(view(&p.meta, &wa_id, &portfolio)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PutUser {
    phone_number_id: String,
    bsuid: Option<String>,
    /// A username to adopt; `null` drops it.
    #[serde(default, deserialize_with = "super::present")]
    username: Option<Option<String>>,
    account: Option<String>,
    region: Option<String>,
}

async fn put_user(
    State(state): State<AppState>,
    Path(wa_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let wa_id = digits(&wa_id)?;
    let b: PutUser = parse_body(&body)?;
    if b.bsuid.is_none() && b.username.is_none() {
        return Err(ControlError::bad_request("give bsuid, username, or both"));
    }
    if let Some(bsuid) = b.bsuid.as_deref().filter(|b| !crate::meta::bsuid::is_bsuid(b)) {
        return Err(ControlError::bad_request(format!(
            "bsuid {bsuid:?} is not a business-scoped user ID (e.g. US.13491208655302741918)"
        )));
    }
    if let Some(Some(username)) = &b.username {
        crate::meta::bsuid::check_username(username).map_err(ControlError::bad_request)?;
    }
    let (account, region, portfolio) = portfolio(&state, &b.phone_number_id, b.account, b.region)?;
    let partition = state.store.partition(&account, &region);
    let mut p = partition.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Both are checked before either is changed.
    if let Some(Some(username)) = &b.username {
        p.meta.users.check_free(&wa_id, username).map_err(ControlError::bad_request)?;
    }
    if let Some(bsuid) = &b.bsuid {
        p.meta.users.assign(&portfolio, &wa_id, bsuid).map_err(ControlError::bad_request)?;
    }
    if let Some(username) = &b.username {
        p.meta
            .users
            .set_username(&wa_id, username.as_deref())
            .map_err(ControlError::bad_request)?;
    }
    Ok(Json(view(&p.meta, &wa_id, &portfolio)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChangeNumber {
    phone_number_id: String,
    new_wa_id: String,
    profile_name: Option<String>,
    account: Option<String>,
    region: Option<String>,
}

async fn change_number(
    State(state): State<AppState>,
    Path(wa_id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let old = digits(&wa_id)?;
    let b: ChangeNumber = parse_body(&body)?;
    let new = digits(&b.new_wa_id)?;
    if new == old {
        return Err(ControlError::bad_request("newWaId is the customer's current number"));
    }
    let (account, region, portfolio) =
        portfolio(&state, &b.phone_number_id, b.account.clone(), b.region.clone())?;
    let bsuid = {
        let partition = state.store.partition(&account, &region);
        let mut p = partition.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        p.meta.users.change_number(&portfolio, &old, &new)
    };
    // Meta's system message, from the old number (Meta, webhooks reference: system messages).
    let name = b.profile_name.clone().unwrap_or_else(|| "Customer".into());
    let mut fields = serde_json::Map::new();
    fields.insert(
        "system".into(),
        json!({
            "body": format!("User {name} changed from {old} to {new}"),
            "wa_id": new,
            "type": "user_changed_number",
        }),
    );
    let req = InboundRequest {
        phone_number_id: b.phone_number_id.clone(),
        from: old.clone(),
        profile_name: b.profile_name,
        account: Some(account),
        region: Some(region),
        message_type: Some("system".into()),
        fields,
    };
    let (message, event) = receive(&state, req, None).map_err(ControlError::bad_request)?;
    Ok(Json(json!({
        "waId": new,
        "previousWaId": old,
        "businessPortfolioId": portfolio,
        "bsuid": bsuid,
        "wamid": message.wamid,
        "eventSeq": event.seq,
    })))
}
