//! AssociateWhatsAppBusinessAccount: the embedded-signup flow, in two calls.
//!
//! 1. `signupCallback {accessToken}`: the WABA and phone numbers Meta's side grants for the token
//!    (seeded in `metaBusinessAccounts`, otherwise derived from the token) come back as
//!    `linkedAccountsWithIncompleteSetup`, with AWS ids already assigned and an
//!    `associateInProgressToken` valid for one hour.
//! 2. `setupFinalization {associateInProgressToken, phoneNumbers, waba | phoneNumberParent}`:
//!    registers the numbers (two-factor PIN of six digits) and links the WABA, COMPLETE, with
//!    Meta's sample template; or adds the numbers to an already linked WABA.
//!
//! The operation declares no ResourceNotFoundException, so unknown references are
//! InvalidParametersException; the 26th WABA of a region is LimitExceededException.

use serde::Deserialize;
use serde_json::{Value, json};

use super::tags::{Tag, check_tags};
use super::waba::check_event_destinations;
use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::model::validate::Input;
use crate::state::seed::meta_sample_templates;
use crate::state::{EventDestination, PendingSignup, PhoneNumber, Waba, ids};

/// How long an `associateInProgressToken` stays valid.
const SIGNUP_TTL_MS: i64 = 60 * 60 * 1000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignupCallback {
    access_token: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetupFinalization {
    associate_in_progress_token: String,
    phone_numbers: Vec<PhoneSetup>,
    phone_number_parent: Option<String>,
    waba: Option<WabaSetup>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneSetup {
    id: String,
    two_factor_pin: String,
    data_localization_region: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WabaSetup {
    id: Option<String>,
    #[serde(default)]
    event_destinations: Vec<EventDestination>,
    #[serde(default)]
    tags: Vec<Tag>,
}

pub fn associate_whatsapp_business_account(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let callback: Option<SignupCallback> = input.parse("signupCallback")?;
    let finalization: Option<SetupFinalization> = input.parse("setupFinalization")?;
    match (callback, finalization) {
        (Some(c), None) => signup_callback(state, ctx, c),
        (None, Some(f)) => setup_finalization(state, ctx, f),
        (Some(_), Some(_)) => Err(ApiError::invalid_parameters(
            "Provide either signupCallback or setupFinalization, not both",
        )),
        (None, None) => Err(ApiError::invalid_parameters(
            "Provide signupCallback (to start an embedded signup) or setupFinalization (to \
             complete it)",
        )),
    }
}

fn signup_callback(state: &AppState, ctx: &RequestContext, c: SignupCallback) -> ApiResult<Value> {
    if c.access_token.trim().is_empty() {
        return Err(ApiError::invalid_parameters(
            "Invalid signupCallback.accessToken: (#190) the access token is empty or invalid",
        ));
    }
    let meta = state.store.seed().meta_business_account(&c.access_token);
    let now = state.clock.now_ms();
    state.store.with(ctx, |p| {
        if let Some(linked) = p.wabas.values().find(|w| w.meta_waba_id == meta.waba_id) {
            return Err(ApiError::invalid_parameters(format!(
                "WhatsApp Business Account {} is already linked to this account as {}",
                meta.waba_id,
                ids::waba_id(&linked.hex)
            )));
        }
        p.signups.retain(|_, s| now - s.created_ms < SIGNUP_TTL_MS);
        let token = state.ids.uuid().to_string();
        let signup = PendingSignup {
            waba_hex: state.ids.hex(),
            phone_hexes: meta.phone_numbers.iter().map(|_| state.ids.hex()).collect(),
            meta,
            created_ms: now,
        };
        let numbers: Vec<Value> = signup
            .meta
            .phone_numbers
            .iter()
            .zip(&signup.phone_hexes)
            .map(|(m, hex)| super::phone::phone_json(p, &pending_phone(&signup, m, hex)))
            .collect();
        let result = json!({
            "associateInProgressToken": token,
            "linkedAccountsWithIncompleteSetup": {
                signup.meta.waba_id.clone(): {
                    "accountName": signup.meta.waba_name,
                    "registrationStatus": "INCOMPLETE",
                    "unregisteredWhatsAppPhoneNumbers": numbers,
                    "wabaId": ids::waba_id(&signup.waba_hex),
                }
            }
        });
        p.signups.insert(token, signup);
        Ok(json!({ "signupCallbackResult": result, "statusCode": 200 }))
    })
}

fn pending_phone(
    signup: &PendingSignup,
    m: &crate::state::seed::MetaPhone,
    hex: &str,
) -> PhoneNumber {
    PhoneNumber {
        hex: hex.to_string(),
        phone_number: m.phone_number.clone(),
        display_phone_number: m.display_phone_number.clone().unwrap_or(m.phone_number.clone()),
        display_phone_number_name: m
            .display_phone_number_name
            .clone()
            .unwrap_or(signup.meta.waba_name.clone()),
        meta_phone_number_id: m.meta_phone_number_id.clone(),
        quality_rating: m.quality_rating.clone(),
        data_localization_region: None,
        call_settings: None,
        tags: Default::default(),
        throughput_per_second: crate::state::default_throughput(),
        business_public_key: None,
        calling: Default::default(),
        origin: Default::default(),
    }
}

fn setup_finalization(
    state: &AppState,
    ctx: &RequestContext,
    f: SetupFinalization,
) -> ApiResult<Value> {
    if f.waba.is_some() && f.phone_number_parent.is_some() {
        return Err(ApiError::invalid_parameters(
            "setupFinalization.waba and setupFinalization.phoneNumberParent cannot be combined: \
             link a new WABA or add numbers to an existing one",
        ));
    }
    if f.phone_numbers.is_empty() {
        return Err(ApiError::invalid_parameters(
            "setupFinalization.phoneNumbers must name at least one phone number to register",
        ));
    }
    for (i, n) in f.phone_numbers.iter().enumerate() {
        if n.two_factor_pin.len() != 6 || !n.two_factor_pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::invalid_parameters(format!(
                "Invalid setupFinalization.phoneNumbers.{}.member.twoFactorPin: (#131031) the \
                 two-step verification PIN must be exactly 6 digits",
                i + 1
            )));
        }
        check_tags(&n.tags, &format!("setupFinalization.phoneNumbers.{}.member.tags", i + 1))?;
    }
    if let Some(w) = &f.waba {
        check_tags(&w.tags, "setupFinalization.waba.tags")?;
        check_event_destinations(
            &w.event_destinations,
            "setupFinalization.waba.eventDestinations",
        )?;
    }
    let now = state.clock.now_ms();
    let limit = state.config.waba_limit;
    state.store.with(ctx, |p| {
        let token = &f.associate_in_progress_token;
        let signup = p
            .signups
            .get(token)
            .filter(|s| now - s.created_ms < SIGNUP_TTL_MS)
            .ok_or_else(|| {
                ApiError::invalid_parameters(format!(
                    "Invalid setupFinalization.associateInProgressToken '{token}': it is unknown, \
                     already used or expired; start again with signupCallback"
                ))
            })?
            .clone();

        // Every number must be one the signup offered (by AWS id or Meta id).
        let mut numbers = Vec::new();
        for (i, n) in f.phone_numbers.iter().enumerate() {
            let wanted = n.id.strip_prefix(ids::PHONE_PREFIX).unwrap_or(&n.id);
            let found = signup
                .meta
                .phone_numbers
                .iter()
                .zip(&signup.phone_hexes)
                .find(|(m, hex)| hex.as_str() == wanted || m.meta_phone_number_id == n.id);
            let Some((m, hex)) = found else {
                return Err(ApiError::invalid_parameters(format!(
                    "Invalid setupFinalization.phoneNumbers.{}.member.id '{}': not a phone \
                     number of this signup",
                    i + 1,
                    n.id
                )));
            };
            let mut number = pending_phone(&signup, m, hex);
            number.data_localization_region = n.data_localization_region.clone();
            number.tags = n
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
                .collect();
            numbers.push(number);
        }

        let linked_id = if let Some(parent) = &f.phone_number_parent {
            let waba = p.waba_mut(ctx, parent).map_err(|e| {
                ApiError::invalid_parameters(format!(
                    "Invalid setupFinalization.phoneNumberParent: {}",
                    e.message
                ))
            })?;
            waba.phone_numbers.extend(numbers);
            ids::waba_id(&waba.hex)
        } else {
            let setup = f.waba.unwrap_or(WabaSetup {
                id: None,
                event_destinations: Vec::new(),
                tags: Vec::new(),
            });
            if let Some(id) = &setup.id {
                let hex = id.strip_prefix(ids::WABA_PREFIX).unwrap_or(id);
                if hex != signup.waba_hex && *id != signup.meta.waba_id {
                    return Err(ApiError::invalid_parameters(format!(
                        "Invalid setupFinalization.waba.id '{id}': not the WhatsApp Business \
                         Account of this signup ({} / {})",
                        ids::waba_id(&signup.waba_hex),
                        signup.meta.waba_id
                    )));
                }
            }
            if p.wabas.len() >= limit {
                return Err(ApiError::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "You can link at most {limit} WhatsApp Business Accounts per Region; \
                         {} already has {}",
                        ctx.region,
                        p.wabas.len()
                    ),
                ));
            }
            let waba = Waba {
                hex: signup.waba_hex.clone(),
                meta_waba_id: signup.meta.waba_id.clone(),
                name: signup.meta.waba_name.clone(),
                registration_status: "COMPLETE".into(),
                link_date: (now / 1000) as f64,
                event_destinations: setup.event_destinations,
                phone_numbers: numbers,
                templates: meta_sample_templates(&signup.meta.waba_id),
                tags: setup
                    .tags
                    .into_iter()
                    .map(|t| (t.key, t.value.unwrap_or_default()))
                    .collect(),
                dataset_id: None,
                media_handles: Vec::new(),
                flows: Default::default(),
                business_portfolio_id: None,
            };
            // A business portfolio new to the platform starts at 250 (Meta, "Messaging limits").
            p.meta.portfolios.get_mut().entry(waba.portfolio_id()).or_insert_with(|| {
                crate::meta::portfolio::Portfolio::new(crate::meta::portfolio::Tier::T250)
            });
            p.wabas.insert(waba.hex.clone(), waba);
            ids::waba_id(&signup.waba_hex)
        };
        p.signups.remove(token);
        Ok(json!({ "statusCode": 200, "linkedWhatsAppBusinessAccountId": linked_id }))
    })
}
