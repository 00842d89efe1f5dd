//! Tags on WABAs and phone numbers: TagResource, UntagResource, ListTagsForResource.
//!
//! AWS's tagging rules apply: keys 1–128 and values 0–256 characters of letters, digits, spaces
//! and `_ . : / = + - @`; the `aws:` prefix is reserved; at most 50 tags per resource. These
//! operations declare no ResourceNotFoundException, so an unknown resource is an
//! InvalidParametersException.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::model::validate::{Input, validation_error};
use crate::state::Partition;
use crate::state::ids::{self, ResourceKind};

#[derive(Debug, Clone, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// Checks tags against AWS's rules; `field` names the list in messages.
pub fn check_tags(tags: &[Tag], field: &str) -> ApiResult<()> {
    static CHARS: OnceLock<Regex> = OnceLock::new();
    let chars = CHARS.get_or_init(|| Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").expect("regex"));
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, t) in tags.iter().enumerate() {
        let at = format!("{field}.{}.member", i + 1);
        if !chars.is_match(&t.key) {
            errors.push(format!(
                "Value '{}' at '{at}.key' failed to satisfy constraint: Member must satisfy \
                 regular expression pattern: ^([\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]*)$",
                t.key
            ));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            errors.push(format!(
                "Value '{}' at '{at}.key' failed to satisfy constraint: Tag keys must not \
                 start with the reserved prefix aws:",
                t.key
            ));
        }
        if let Some(v) = t.value.as_deref().filter(|v| !chars.is_match(v)) {
            errors.push(format!(
                "Value '{v}' at '{at}.value' failed to satisfy constraint: Member must satisfy \
                 regular expression pattern: ^([\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]*)$"
            ));
        }
        if !seen.insert(t.key.as_str()) {
            errors.push(format!(
                "Value '{}' at '{at}.key' failed to satisfy constraint: Tag keys must be unique \
                 within a request",
                t.key
            ));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(validation_error(&errors)) }
}

/// The kind of resource `arn` names, if it can be tagged and is the caller's.
fn taggable(ctx: &RequestContext, arn: &str) -> ApiResult<ResourceKind> {
    let Some(parsed) = ids::parse_arn(arn) else {
        return Err(ApiError::invalid_parameters(format!(
            "Invalid resourceArn '{arn}': only WhatsApp Business Account \
             (arn:aws:social-messaging:<region>:<account>:waba/<id>) and phone number \
             (…:phone-number-id/<id>) ARNs can be tagged"
        )));
    };
    ids::resolve(ctx, parsed.kind, arn)?;
    Ok(parsed.kind)
}

fn missing(arn: &str) -> ApiError {
    ApiError::invalid_parameters(format!("Resource {arn} does not exist"))
}

/// The tags of the WABA or phone number named by `arn`, to change.
fn tags_of<'p>(
    p: &'p mut Partition,
    ctx: &RequestContext,
    arn: &str,
) -> ApiResult<&'p mut BTreeMap<String, String>> {
    let tags = match taggable(ctx, arn)? {
        ResourceKind::Waba => p.waba_mut(ctx, arn).map(|w| &mut w.tags),
        ResourceKind::PhoneNumber => p.phone_mut(ctx, arn).map(|n| &mut n.tags),
    };
    tags.map_err(|_| missing(arn))
}

pub fn tag_resource(state: &AppState, ctx: &RequestContext, input: &Input) -> ApiResult<Value> {
    let arn = input.req_str("resourceArn")?;
    let tags: Vec<Tag> = input.parse("tags")?.unwrap_or_default();
    check_tags(&tags, "tags")?;
    let limit = state.config.tag_limit;
    state.store.with(ctx, |p| {
        let current = tags_of(p, ctx, arn)?;
        let mut next = current.clone();
        for t in tags {
            next.insert(t.key, t.value.unwrap_or_default());
        }
        if next.len() > limit {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value at 'tags' failed to satisfy constraint: \
                 a resource can have at most {limit} tags; {arn} would have {}",
                next.len()
            )));
        }
        *current = next;
        Ok(json!({ "statusCode": 200 }))
    })
}

pub fn untag_resource(state: &AppState, ctx: &RequestContext, input: &Input) -> ApiResult<Value> {
    let arn = input.req_str("resourceArn")?;
    let keys: Vec<String> = input.parse("tagKeys")?.unwrap_or_default();
    state.store.with(ctx, |p| {
        let current = tags_of(p, ctx, arn)?;
        for k in &keys {
            current.remove(k);
        }
        Ok(json!({ "statusCode": 200 }))
    })
}

pub fn list_tags_for_resource(
    state: &AppState,
    ctx: &RequestContext,
    input: &Input,
) -> ApiResult<Value> {
    let arn = input.req_str("resourceArn")?;
    state.store.read(ctx, |p| {
        let current = match taggable(ctx, arn)? {
            ResourceKind::Waba => p.waba(ctx, arn).map(|w| &w.tags),
            ResourceKind::PhoneNumber => p.phone(ctx, arn).map(|(_, n)| &n.tags),
        }
        .map_err(|_| missing(arn))?;
        let tags: Vec<Value> =
            current.iter().map(|(k, v)| json!({ "key": k, "value": v })).collect();
        Ok(json!({ "statusCode": 200, "tags": tags }))
    })
}
