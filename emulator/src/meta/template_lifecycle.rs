//! The transitions of a template's life that more than one caller makes, in one place: room for
//! a new template in a WABA, and the end of a pause (by Meta's timer or the control API).

use serde_json::{Value, json};

use super::errors::MetaError;
use crate::state::Template;

/// Templates per WABA (AWS user guide: 250).
pub const TEMPLATE_LIMIT: usize = 250;

/// Meta's refusal of a template beyond the limit, for `CreateWhatsAppMessageTemplate` and
/// `CreateWhatsAppMessageTemplateFromLibrary` alike.
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

/// PAUSED → APPROVED; the `message_template_status_update` extras Meta sends with it. Err (the
/// template's status) when it is not paused.
pub fn unpause(t: &mut Template) -> Result<Value, String> {
    if t.status != "PAUSED" {
        return Err(t.status.clone());
    }
    t.status = "APPROVED".into();
    Ok(
        json!({ "other_info": { "title": "UNPAUSE", "description": "Your WhatsApp message template has been unpaused." } }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_and_an_unpause() {
        assert!(check_room(249).is_ok());
        let refused = check_room(250).unwrap_err();
        assert_eq!(refused.code, 2388019);
        let mut t = Template { status: "PAUSED".into(), ..Default::default() };
        assert_eq!(unpause(&mut t).unwrap()["other_info"]["title"], "UNPAUSE");
        assert_eq!(t.status, "APPROVED");
        assert_eq!(unpause(&mut t).unwrap_err(), "APPROVED");
    }
}
