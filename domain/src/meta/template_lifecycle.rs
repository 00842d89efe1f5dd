//! A template's life in one place: room for a new template in a WABA, Meta's review, the
//! control API's decisions (approve, reject, pause, unpause, disable), edits, and the end of a
//! pause (by Meta's timer or the control API). Each transition changes the template and returns
//! the extras of its `message_template_status_update` event (and, for a pause, when it ends);
//! callers publish and schedule.

use serde_json::{Value, json};

use super::effects::{EventDraft, WabaOf};
use super::errors::MetaError;
use super::template_rules;
use crate::state::{Template, TemplateStatus};

/// Quality pauses: the first lasts 3 hours, the second 6; the third disables the template
/// (Meta, "Template pausing").
pub const PAUSES_MS: [i64; 2] = [3 * 3_600_000, 6 * 3_600_000];

/// Templates per WABA (AWS user guide: 250).
pub const TEMPLATE_LIMIT: usize = 250;

/// Meta's refusal of a template beyond the limit, for `CreateWhatsAppMessageTemplate` and
/// `CreateWhatsAppMessageTemplateFromLibrary` alike.
/// The `message_template_status_update` of `t` (its status, reason and category), with a
/// transition's extras merged in.
pub fn status_event(
    account: &str,
    region: &str,
    waba: &WabaOf,
    t: &Template,
    extra: Value,
    now: i64,
) -> EventDraft {
    let mut value = json!({
        "event": t.status,
        "message_template_id": t.meta_template_id.parse::<u64>().unwrap_or_default(),
        "message_template_name": t.name,
        "message_template_language": t.language,
        "reason": t.rejected_reason.clone().unwrap_or_else(|| "NONE".into()),
        "message_template_category": t.category,
    });
    if let (Some(obj), Some(more)) = (value.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    EventDraft::about_waba(account, region, waba, "message_template_status_update", &value, now)
}

pub fn check_room(templates: usize) -> Result<(), MetaError> {
    if templates < TEMPLATE_LIMIT {
        return Ok(());
    }
    Err(MetaError {
        code: 2388019,
        title: "Message Template Limit Exceeded".into(),
        details: format!(
            "this WhatsApp Business Account already has {TEMPLATE_LIMIT} message templates"
        )
        .into(),
    })
}

/// Meta's review of a PENDING template: APPROVED, or REJECTED with the reason
/// [`template_rules::review`] finds. None when the template is no longer pending (edited or
/// decided meanwhile).
pub fn review(t: &mut Template) -> Option<Value> {
    if t.status != TemplateStatus::Pending {
        return None;
    }
    Some(match template_rules::review(&t.definition) {
        Ok(()) => {
            t.status = TemplateStatus::Approved;
            t.rejected_reason = None;
            t.quality_score.get_or_insert_with(|| "UNKNOWN".into());
            json!({})
        }
        Err((reason, info)) => {
            t.status = TemplateStatus::Rejected;
            t.rejected_reason = Some(reason);
            info.map(|i| json!({ "rejection_info": i })).unwrap_or(json!({}))
        }
    })
}

/// Any status → APPROVED (a reviewer's decision).
pub fn approve(t: &mut Template) -> Value {
    t.status = TemplateStatus::Approved;
    t.rejected_reason = None;
    json!({})
}

/// Any status → REJECTED for one of Meta's rejection reasons (Err names them).
pub fn reject(t: &mut Template, reason: String) -> Result<Value, String> {
    if !template_rules::REJECTION_REASONS.contains(&reason.as_str()) {
        return Err(format!(
            "reason must be one of {}",
            template_rules::REJECTION_REASONS.join(", ")
        ));
    }
    t.status = TemplateStatus::Rejected;
    t.rejected_reason = Some(reason);
    Ok(json!({}))
}

/// APPROVED → PAUSED for low quality (first 3 hours, then 6; a third pause disables it), at
/// `now`: the extras and, while paused, when the pause ends. Err when it is not approved.
pub fn pause(t: &mut Template, now: i64) -> Result<(Value, Option<i64>), String> {
    if t.status != TemplateStatus::Approved {
        return Err(format!("only an APPROVED template can be paused; this one is {}", t.status));
    }
    t.pause_count += 1;
    Ok(match PAUSES_MS.get(t.pause_count as usize - 1) {
        Some(ms) => {
            t.status = TemplateStatus::Paused;
            let title = if t.pause_count == 1 { "FIRST_PAUSE" } else { "SECOND_PAUSE" };
            let description = format!(
                "Your WhatsApp message template has been paused for {} hours because of low quality.",
                ms / 3_600_000
            );
            (
                json!({ "other_info": { "title": title, "description": description } }),
                Some(now + ms),
            )
        }
        None => (disable(t, now), None),
    })
}

/// PAUSED → APPROVED; the `message_template_status_update` extras Meta sends with it. Err (the
/// template's status) when it is not paused.
pub fn unpause(t: &mut Template) -> Result<Value, TemplateStatus> {
    if t.status != TemplateStatus::Paused {
        return Err(t.status);
    }
    t.status = TemplateStatus::Approved;
    Ok(
        json!({ "other_info": { "title": "UNPAUSE", "description": "Your WhatsApp message template has been unpaused." } }),
    )
}

/// Any status → DISABLED at `now`.
pub fn disable(t: &mut Template, now: i64) -> Value {
    t.status = TemplateStatus::Disabled;
    json!({ "disable_info": { "disable_date": (now / 1000).to_string() } })
}

/// Whether a template may be edited (APPROVED, REJECTED or PAUSED; Meta, "Edit message
/// templates"); Err says why not.
pub fn check_editable(t: &Template) -> Result<(), String> {
    match t.status {
        TemplateStatus::Approved | TemplateStatus::Rejected | TemplateStatus::Paused => Ok(()),
        other => Err(format!(
            "template {} is {other}; only APPROVED, REJECTED or PAUSED templates can be edited",
            t.name
        )),
    }
}

/// An edit submitted: back to PENDING for Meta's review (an approved template's edit counts
/// against its edit limits).
pub fn resubmit(t: &mut Template, now: i64) {
    if t.status == TemplateStatus::Approved {
        t.edits.push(now);
    }
    t.status = TemplateStatus::Pending;
    t.rejected_reason = None;
}

/// Whether a template may be deleted (a DISABLED one may not); Err says why not.
pub fn check_deletable(t: &Template) -> Result<(), String> {
    if t.status == TemplateStatus::Disabled {
        return Err(format!(
            "template {} ({}) is DISABLED and cannot be deleted",
            t.name, t.language
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_and_an_unpause() {
        assert!(check_room(249).is_ok());
        let refused = check_room(250).unwrap_err();
        assert_eq!(refused.code, 2388019);
        let mut t = Template { status: TemplateStatus::Paused, ..Default::default() };
        assert_eq!(unpause(&mut t).unwrap()["other_info"]["title"], "UNPAUSE");
        assert_eq!(t.status, TemplateStatus::Approved);
        assert_eq!(unpause(&mut t).unwrap_err(), TemplateStatus::Approved);
    }

    #[test]
    fn three_pauses_disable_a_template() {
        let mut t = Template { status: TemplateStatus::Approved, ..Default::default() };
        let (extra, until) = pause(&mut t, 0).unwrap();
        assert_eq!(extra["other_info"]["title"], "FIRST_PAUSE");
        assert_eq!(until, Some(PAUSES_MS[0]));
        assert!(pause(&mut t, 0).unwrap_err().contains("PAUSED"), "a paused one cannot be");
        unpause(&mut t).unwrap();
        let (extra, until) = pause(&mut t, 10).unwrap();
        assert_eq!(extra["other_info"]["title"], "SECOND_PAUSE");
        assert_eq!(until, Some(10 + PAUSES_MS[1]));
        unpause(&mut t).unwrap();
        let (extra, until) = pause(&mut t, 5_000).unwrap();
        assert_eq!(extra["disable_info"]["disable_date"], "5");
        assert_eq!((t.status, until), (TemplateStatus::Disabled, None));
        assert!(check_deletable(&t).is_err());
        assert!(check_editable(&t).unwrap_err().contains("DISABLED"));
    }

    #[test]
    fn review_edit_and_rejection() {
        let mut t = Template {
            name: "order_update".into(),
            definition: json!({ "name": "order_update" }),
            ..Default::default()
        };
        assert_eq!(review(&mut t), Some(json!({})));
        assert_eq!(
            (t.status, t.quality_score.as_deref()),
            (TemplateStatus::Approved, Some("UNKNOWN"))
        );
        assert_eq!(review(&mut t), None, "reviewed once");
        resubmit(&mut t, 42);
        assert_eq!((t.status, t.edits.clone()), (TemplateStatus::Pending, vec![42]));
        assert!(reject(&mut t, "NOT_A_REASON".into()).unwrap_err().contains("INVALID_FORMAT"));
        reject(&mut t, "INVALID_FORMAT".into()).unwrap();
        assert_eq!(
            (t.status, t.rejected_reason.as_deref()),
            (TemplateStatus::Rejected, Some("INVALID_FORMAT"))
        );
        resubmit(&mut t, 50);
        assert_eq!(t.edits, vec![42], "only an approved template's edit counts");
    }
}
