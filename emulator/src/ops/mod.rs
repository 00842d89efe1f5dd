//! One file per resource, each handler named after its operation: parse the validated input,
//! apply it to the state, answer the output shape. `dispatch` is the one place an operation
//! meets its handler (an exhaustive `match`: every operation of the SDK has one).

pub mod calling;
pub mod datasets;
pub mod flow_json;
pub mod flows;
pub mod media;
pub mod messaging;
pub mod phone;
pub mod public_key;
pub mod signup;
pub mod tags;
pub mod templates;
pub mod waba;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Number, Value};

use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::model::Operation;
use crate::model::validate::Input;

/// What a handler answers: a JSON value, or (on hot paths) the JSON already serialized from
/// typed views, without building a `Value`.
#[derive(Debug)]
pub enum Output {
    Json(Value),
    Serialized(Vec<u8>),
}

impl Output {
    pub fn serialize<T: serde::Serialize>(view: &T) -> ApiResult<Output> {
        serde_json::to_vec(view)
            .map(Output::Serialized)
            .map_err(|e| ApiError::internal(format!("Could not serialize the answer: {e}")))
    }

    /// The response body.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Output::Json(value) => serde_json::to_vec(&value).unwrap_or_default(),
            Output::Serialized(bytes) => bytes,
        }
    }
}

pub async fn dispatch(
    state: &AppState,
    ctx: &RequestContext,
    op: Operation,
    input: Input,
) -> ApiResult<Output> {
    use Operation::*;
    let value = match op {
        AssociateWhatsAppBusinessAccount => {
            signup::associate_whatsapp_business_account(state, ctx, &input)
        }
        DisassociateWhatsAppBusinessAccount => {
            waba::disassociate_whatsapp_business_account(state, ctx, &input)
        }
        GetLinkedWhatsAppBusinessAccount => {
            return waba::get_linked_whatsapp_business_account(state, ctx, &input);
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
        SendWhatsAppMessage => return messaging::send_whatsapp_message(state, ctx, &input),
        TagResource => tags::tag_resource(state, ctx, &input),
        CreateWhatsAppMessageTemplate => {
            templates::create_whatsapp_message_template(state, ctx, &input)
        }
        GetWhatsAppMessageTemplate => templates::get_whatsapp_message_template(state, ctx, &input),
        ListWhatsAppMessageTemplates => {
            templates::list_whatsapp_message_templates(state, ctx, &input)
        }
        UpdateWhatsAppMessageTemplate => {
            templates::update_whatsapp_message_template(state, ctx, &input)
        }
        DeleteWhatsAppMessageTemplate => {
            templates::delete_whatsapp_message_template(state, ctx, &input)
        }
        ListWhatsAppTemplateLibrary => {
            templates::list_whatsapp_template_library(state, ctx, &input)
        }
        CreateWhatsAppMessageTemplateFromLibrary => {
            templates::create_whatsapp_message_template_from_library(state, ctx, &input)
        }
        UntagResource => tags::untag_resource(state, ctx, &input),
        ListTagsForResource => tags::list_tags_for_resource(state, ctx, &input),
        CreateWhatsAppFlow => flows::create_whatsapp_flow(state, ctx, &input),
        UpdateWhatsAppFlow => flows::update_whatsapp_flow(state, ctx, &input),
        UpdateWhatsAppFlowAssets => flows::update_whatsapp_flow_assets(state, ctx, &input),
        GetWhatsAppFlow => flows::get_whatsapp_flow(state, ctx, &input),
        GetWhatsAppFlowPreview => flows::get_whatsapp_flow_preview(state, ctx, &input),
        ListWhatsAppFlows => flows::list_whatsapp_flows(state, ctx, &input),
        ListWhatsAppFlowAssets => flows::list_whatsapp_flow_assets(state, ctx, &input),
        PublishWhatsAppFlow => flows::publish_whatsapp_flow(state, ctx, &input),
        DeprecateWhatsAppFlow => flows::deprecate_whatsapp_flow(state, ctx, &input),
        DeleteWhatsAppFlow => flows::delete_whatsapp_flow(state, ctx, &input),
        CreateWhatsAppDataset => datasets::create_whatsapp_dataset(state, ctx, &input),
        SendWhatsAppConversionEvent => datasets::send_whatsapp_conversion_event(state, ctx, &input),
        GetWhatsAppCallPermission => calling::get_whatsapp_call_permission(state, ctx, &input),
        SendWhatsAppCallEvent => calling::send_whatsapp_call_event(state, ctx, &input),
        PutWhatsAppBusinessPublicKey => {
            public_key::put_whatsapp_business_public_key(state, ctx, &input)
        }
        GetWhatsAppBusinessPublicKey => {
            public_key::get_whatsapp_business_public_key(state, ctx, &input)
        }
        PostWhatsAppMessageMedia => media::post_whatsapp_message_media(state, ctx, &input).await,
        GetWhatsAppMessageMedia => media::get_whatsapp_message_media(state, ctx, &input).await,
        DeleteWhatsAppMessageMedia => {
            media::delete_whatsapp_message_media(state, ctx, &input).await
        }
        CreateWhatsAppMessageTemplateMedia => {
            media::create_whatsapp_message_template_media(state, ctx, &input).await
        }
    };
    value.map(Output::Json)
}

/// A refusal by Meta, as AWS relays it: `InvalidParametersException` whose message carries Meta's
/// code and title, `(#139002) Publishing Flow in invalid state: <detail>`.
pub fn meta_error(code: u32, title: &str, detail: impl std::fmt::Display) -> ApiError {
    let error = crate::meta::errors::MetaError {
        code,
        title: title.to_string().into(),
        details: detail.to_string().into(),
    };
    ApiError::invalid_parameters(error.sync_message())
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

    /// The List operations' answer: `{"<key>": [page], "nextToken": …}` (no token on the last page).
    pub fn respond<'k>(
        &self,
        key: &str,
        items: impl IntoIterator<Item = (&'k str, Value)>,
        token: Option<&str>,
        max: Option<i64>,
    ) -> ApiResult<Value> {
        let (page, next) = self.page(items, token, max)?;
        let mut out = serde_json::json!({ key: page });
        if let Some(next) = next {
            out["nextToken"] = Value::String(next);
        }
        Ok(out)
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
