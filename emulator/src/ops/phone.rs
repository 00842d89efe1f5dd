//! Phone numbers of linked WABAs: GetLinkedWhatsAppBusinessAccountPhoneNumber and
//! UpdateLinkedWhatsAppBusinessAccountPhoneNumber (call settings).

use serde_json::{Value, json};

use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::model::validate::Input;
use crate::state::{Partition, PhoneNumber, ids};

/// `WhatsAppPhoneNumberSummary` / `WhatsAppPhoneNumberDetail` (identical members).
pub fn phone_json(p: &Partition, n: &PhoneNumber) -> Value {
    serde_json::to_value(PhoneView::of(p, n)).unwrap_or(Value::Null)
}

/// `WhatsAppPhoneNumberSummary` as the API answers it (serialized without building a `Value`).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneView<'a> {
    arn: String,
    phone_number: &'a str,
    phone_number_id: String,
    meta_phone_number_id: &'a str,
    display_phone_number_name: &'a str,
    display_phone_number: &'a str,
    quality_rating: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_localization_region: Option<&'a str>,
}

impl<'a> PhoneView<'a> {
    pub fn of(p: &Partition, n: &'a PhoneNumber) -> PhoneView<'a> {
        PhoneView {
            arn: p.phone_arn(&n.hex),
            phone_number: &n.phone_number,
            phone_number_id: ids::phone_id(&n.hex),
            meta_phone_number_id: &n.meta_phone_number_id,
            display_phone_number_name: &n.display_phone_number_name,
            display_phone_number: &n.display_phone_number,
            quality_rating: &n.quality_rating,
            data_localization_region: n.data_localization_region.as_deref(),
        }
    }
}

pub fn get_linked_whatsapp_business_account_phone_number(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    state.store.read(ctx, |p| {
        let (waba, number) = p.phone(ctx, id)?;
        let mut out = json!({
            "phoneNumber": phone_json(p, number),
            "linkedWhatsAppBusinessAccountId": ids::waba_id(&waba.hex),
        });
        if let Some(settings) = &number.call_settings {
            out["callSettings"] = settings.clone();
        }
        Ok(out)
    })
}

pub fn update_linked_whatsapp_business_account_phone_number(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let id = input.req_str("id")?;
    let settings = input.get("callSettings").cloned().unwrap_or(Value::Null);
    check_call_settings(&settings)?;
    state.store.with(ctx, |p| {
        let number = p.phone_mut(ctx, id)?;
        number.call_settings = Some(settings);
        Ok(json!({ "phoneNumberId": ids::phone_id(&number.hex) }))
    })
}

/// Meta's rules for call settings beyond the model: known enum values, an IANA time zone, each
/// opening interval ending after it starts and not overlapping another on the same day, real
/// holiday dates.
fn check_call_settings(s: &Value) -> ApiResult<()> {
    let bad = |msg: String| Err(ApiError::invalid_parameters(msg));
    if let Some(v) = s.get("callIconVisibility").and_then(Value::as_str)
        && !["DEFAULT", "DISABLE_ALL"].contains(&v)
    {
        return bad(format!(
            "Invalid callSettings.callIconVisibility '{v}': expected DEFAULT or DISABLE_ALL"
        ));
    }
    if let Some(v) = s.get("callbackPermissionStatus").and_then(Value::as_str)
        && !["ENABLED", "DISABLED"].contains(&v)
    {
        return bad(format!(
            "Invalid callSettings.callbackPermissionStatus '{v}': expected ENABLED or DISABLED"
        ));
    }
    let Some(hours) = s.get("callHours") else {
        return Ok(());
    };
    let tz = hours.get("timezone").and_then(Value::as_str).unwrap_or_default();
    if !is_time_zone_name(tz) {
        return bad(format!(
            "Invalid callSettings.callHours.timezone '{tz}': expected an IANA time zone such as \
             UTC or Asia/Kolkata"
        ));
    }
    let minutes = |t: &Value| {
        let h = t.get("hours").and_then(Value::as_i64).unwrap_or(0);
        let m = t.get("minutes").and_then(Value::as_i64).unwrap_or(0);
        h * 60 + m
    };
    let mut intervals: Vec<(&str, i64, i64, usize)> = Vec::new();
    for (i, e) in hours["weeklyOperatingHours"].as_array().into_iter().flatten().enumerate() {
        let day = e["dayOfWeek"].as_str().unwrap_or_default();
        let (open, close) = (minutes(&e["openTime"]), minutes(&e["closeTime"]));
        let at = format!("callSettings.callHours.weeklyOperatingHours.{}.member", i + 1);
        if close <= open {
            return bad(format!("Invalid {at}: closeTime must be later than openTime"));
        }
        if let Some(other) =
            intervals.iter().find(|(d, o, c, _)| *d == day && open < *c && *o < close)
        {
            return bad(format!(
                "Invalid {at}: it overlaps entry {} on {day}; operating hours of one day must \
                 not overlap",
                other.3
            ));
        }
        intervals.push((day, open, close, i + 1));
    }
    for (i, e) in hours["holidaySchedule"].as_array().into_iter().flatten().enumerate() {
        let at = format!("callSettings.callHours.holidaySchedule.{}.member", i + 1);
        let date = e["date"].as_str().unwrap_or_default();
        if !is_calendar_date(date) {
            return bad(format!("Invalid {at}.date '{date}': not a calendar date (YYYY-MM-DD)"));
        }
        if minutes(&e["endTime"]) <= minutes(&e["startTime"]) {
            return bad(format!("Invalid {at}: endTime must be later than startTime"));
        }
    }
    Ok(())
}

fn is_time_zone_name(tz: &str) -> bool {
    if tz == "UTC" || tz == "GMT" {
        return true;
    }
    let mut parts = tz.split('/');
    let area = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    !area.is_empty()
        && area.bytes().all(|b| b.is_ascii_alphabetic())
        && area.as_bytes()[0].is_ascii_uppercase()
        && (1..=2).contains(&rest.len())
        && rest.iter().all(|p| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+-".contains(&b))
        })
}

fn is_calendar_date(date: &str) -> bool {
    let parts: Vec<u32> = date.split('-').filter_map(|p| p.parse().ok()).collect();
    let [y, m, d] = parts[..] else { return false };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_zones() {
        assert!(is_calendar_date("2024-02-29"));
        assert!(!is_calendar_date("2025-02-29"));
        assert!(!is_calendar_date("2025-13-01"));
        assert!(is_time_zone_name("Asia/Kolkata"));
        assert!(is_time_zone_name("America/Argentina/Buenos_Aires"));
        assert!(is_time_zone_name("Etc/GMT+5"));
        assert!(!is_time_zone_name("not a zone"));
        assert!(!is_time_zone_name("asia/kolkata"));
    }
}
