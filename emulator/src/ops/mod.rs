//! One file per resource, each handler named after its operation: parse the validated input,
//! apply it to the state, answer the output shape. `dispatch` is the one place an operation
//! meets its handler; an operation a later version brings answers `not_implemented`.

pub mod media;
pub mod phone;
pub mod signup;
pub mod tags;
pub mod waba;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Number, Value};

use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::model::validate::Input;
use crate::routes::Operation;

pub async fn dispatch(
    state: &AppState,
    ctx: &RequestContext,
    op: Operation,
    input: Input,
) -> ApiResult<Value> {
    use Operation::*;
    match op {
        AssociateWhatsAppBusinessAccount => {
            signup::associate_whatsapp_business_account(state, ctx, &input)
        }
        DisassociateWhatsAppBusinessAccount => {
            waba::disassociate_whatsapp_business_account(state, ctx, &input)
        }
        GetLinkedWhatsAppBusinessAccount => {
            waba::get_linked_whatsapp_business_account(state, ctx, &input)
        }
        ListLinkedWhatsAppBusinessAccounts => {
            waba::list_linked_whatsapp_business_accounts(state, ctx, &input)
        }
        PutWhatsAppBusinessAccountEventDestinations => {
            waba::put_whatsapp_business_account_event_destinations(state, ctx, &input)
        }
        GetLinkedWhatsAppBusinessAccountPhoneNumber => {
            phone::get_linked_whatsapp_business_account_phone_number(state, ctx, &input)
        }
        UpdateLinkedWhatsAppBusinessAccountPhoneNumber => {
            phone::update_linked_whatsapp_business_account_phone_number(state, ctx, &input)
        }
        TagResource => tags::tag_resource(state, ctx, &input),
        UntagResource => tags::untag_resource(state, ctx, &input),
        ListTagsForResource => tags::list_tags_for_resource(state, ctx, &input),
        PostWhatsAppMessageMedia => media::post_whatsapp_message_media(state, ctx, &input).await,
        GetWhatsAppMessageMedia => media::get_whatsapp_message_media(state, ctx, &input).await,
        DeleteWhatsAppMessageMedia => {
            media::delete_whatsapp_message_media(state, ctx, &input).await
        }
        CreateWhatsAppDataset
        | CreateWhatsAppFlow
        | CreateWhatsAppMessageTemplate
        | CreateWhatsAppMessageTemplateFromLibrary
        | CreateWhatsAppMessageTemplateMedia
        | DeleteWhatsAppFlow
        | DeleteWhatsAppMessageTemplate
        | DeprecateWhatsAppFlow
        | GetWhatsAppBusinessPublicKey
        | GetWhatsAppCallPermission
        | GetWhatsAppFlow
        | GetWhatsAppFlowPreview
        | GetWhatsAppMessageTemplate
        | ListWhatsAppFlowAssets
        | ListWhatsAppFlows
        | ListWhatsAppMessageTemplates
        | ListWhatsAppTemplateLibrary
        | PublishWhatsAppFlow
        | PutWhatsAppBusinessPublicKey
        | SendWhatsAppCallEvent
        | SendWhatsAppConversionEvent
        | SendWhatsAppMessage
        | UpdateWhatsAppFlow
        | UpdateWhatsAppFlowAssets
        | UpdateWhatsAppMessageTemplate => Err(ApiError::not_implemented(op)),
    }
}

/// Operations this version implements for real (the rest answer `not_implemented`).
pub fn is_implemented(op: Operation) -> bool {
    use Operation::*;
    matches!(
        op,
        AssociateWhatsAppBusinessAccount
            | DisassociateWhatsAppBusinessAccount
            | GetLinkedWhatsAppBusinessAccount
            | ListLinkedWhatsAppBusinessAccounts
            | PutWhatsAppBusinessAccountEventDestinations
            | GetLinkedWhatsAppBusinessAccountPhoneNumber
            | UpdateLinkedWhatsAppBusinessAccountPhoneNumber
            | TagResource
            | UntagResource
            | ListTagsForResource
            | PostWhatsAppMessageMedia
            | GetWhatsAppMessageMedia
            | DeleteWhatsAppMessageMedia
    )
}

/// An epoch-seconds timestamp as the JSON number the SDKs parse (integral when whole).
pub fn epoch_json(secs: f64) -> Value {
    if secs.fract() == 0.0 && secs.abs() < 9.0e15 {
        Value::from(secs as i64)
    } else {
        Number::from_f64(secs).map(Value::Number).unwrap_or(Value::from(0))
    }
}

/// Cursor pagination shared by the List operations: items come in a stable key order; the token
/// names the last key of the page, so pages stay consistent while items are added or removed.
pub struct Pager<'a> {
    /// Distinguishes the tokens of different listings (a token of one is invalid for another).
    pub scope: &'a str,
    pub default_size: usize,
}

impl Pager<'_> {
    /// The page of `items` (sorted by key) after `token`, at most `max` long, and the next token.
    pub fn page<'k, T>(
        &self,
        items: impl IntoIterator<Item = (&'k str, T)>,
        token: Option<&str>,
        max: Option<i64>,
    ) -> ApiResult<(Vec<T>, Option<String>)> {
        let after = token.map(|t| self.decode(t)).transpose()?;
        let size = max.map(|m| m as usize).unwrap_or(self.default_size);
        let mut page = Vec::new();
        let mut last = None;
        let mut more = false;
        for (key, item) in items {
            if after.as_deref().is_some_and(|a| key <= a) {
                continue;
            }
            if page.len() == size {
                more = true;
                break;
            }
            last = Some(key);
            page.push(item);
        }
        let next = if more { last.map(|k| self.encode(k)) } else { None };
        Ok((page, next))
    }

    fn encode(&self, key: &str) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}\n{key}", self.scope))
    }

    fn decode(&self, token: &str) -> ApiResult<String> {
        let invalid = || {
            ApiError::validation(format!(
                "Invalid nextToken '{token}': it was not returned by this operation"
            ))
        };
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (scope, key) = text.split_once('\n').ok_or_else(invalid)?;
        if scope != self.scope {
            return Err(invalid());
        }
        Ok(key.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_every_item_once() {
        let keys: Vec<String> = (0..7).map(|i| format!("k{i}")).collect();
        let pager = Pager { scope: "t", default_size: 3 };
        let mut token = None;
        let mut seen = Vec::new();
        loop {
            let (page, next) = pager
                .page(keys.iter().map(|k| (k.as_str(), k.clone())), token.as_deref(), Some(3))
                .unwrap();
            seen.extend(page);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, keys);
        assert!(pager.page(keys.iter().map(|k| (k.as_str(), 1)), Some("garbage!"), None).is_err());
    }

    #[test]
    fn epoch_numbers_are_integral_when_whole() {
        assert_eq!(epoch_json(1730419200.0).to_string(), "1730419200");
        assert_eq!(epoch_json(1.5).to_string(), "1.5");
    }
}
