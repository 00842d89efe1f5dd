//! Identifiers in the service's real formats, and resolving the two forms every id parameter
//! accepts: `waba-<32 hex>` / `phone-number-id-<32 hex>` or the resource's ARN.

use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};

pub const WABA_PREFIX: &str = "waba-";
pub const PHONE_PREFIX: &str = "phone-number-id-";

/// 32 lowercase hex characters, as AWS's resource ids.
pub fn new_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A numeric Meta id of `digits` digits (Meta's WABA, phone number and template ids).
pub fn new_meta_id(digits: u32) -> String {
    let n = u128::from_le_bytes(*uuid::Uuid::new_v4().as_bytes());
    let low = 10u128.pow(digits - 1);
    (low + n % (9 * low)).to_string()
}

pub fn waba_id(hex: &str) -> String {
    format!("{WABA_PREFIX}{hex}")
}

pub fn phone_id(hex: &str) -> String {
    format!("{PHONE_PREFIX}{hex}")
}

pub fn waba_arn(account: &str, region: &str, hex: &str) -> String {
    format!("arn:aws:social-messaging:{region}:{account}:waba/{hex}")
}

pub fn phone_arn(account: &str, region: &str, hex: &str) -> String {
    format!("arn:aws:social-messaging:{region}:{account}:phone-number-id/{hex}")
}

/// The kinds of resource an id or ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Waba,
    PhoneNumber,
}

impl ResourceKind {
    fn prefix(self) -> &'static str {
        match self {
            ResourceKind::Waba => WABA_PREFIX,
            ResourceKind::PhoneNumber => PHONE_PREFIX,
        }
    }
    pub fn noun(self) -> &'static str {
        match self {
            ResourceKind::Waba => "WhatsApp Business Account",
            ResourceKind::PhoneNumber => "phone number",
        }
    }
}

/// A parsed `arn:aws:social-messaging:<region>:<account>:<type>/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceArn<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub kind: ResourceKind,
    pub hex: &'a str,
}

pub fn parse_arn(arn: &str) -> Option<ResourceArn<'_>> {
    let mut parts = arn.splitn(6, ':');
    let (arn_lit, _partition, service) = (parts.next()?, parts.next()?, parts.next()?);
    let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    if arn_lit != "arn" || service != "social-messaging" {
        return None;
    }
    let (kind, hex) = match resource.split_once('/')? {
        ("waba", hex) => (ResourceKind::Waba, hex),
        ("phone-number-id", hex) => (ResourceKind::PhoneNumber, hex),
        _ => return None,
    };
    Some(ResourceArn { region, account, kind, hex })
}

/// The id suffix named by `id` (either form), checked to belong to the caller. An ARN of another
/// account is AccessDenied; of another region, or of the wrong kind, NotFound.
pub fn resolve<'a>(ctx: &RequestContext, kind: ResourceKind, id: &'a str) -> ApiResult<&'a str> {
    if let Some(hex) = id.strip_prefix(kind.prefix()) {
        return Ok(hex);
    }
    let not_found = || ApiError::not_found(format!("{} {id} does not exist", kind.noun()));
    match parse_arn(id) {
        Some(arn) if arn.kind == kind => {
            if arn.account != ctx.account {
                Err(ApiError::access_denied(format!(
                    "Account {} is not authorized to access {id}, which belongs to account {}",
                    ctx.account, arn.account
                )))
            } else if arn.region != ctx.region {
                Err(not_found())
            } else {
                Ok(arn.hex)
            }
        }
        _ => Err(not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_resolve_to_the_same_resource() {
        let ctx = RequestContext::new("123456789012", "us-east-1");
        let hex = "0aae9cf04cf24c66960f291c793359b4";
        assert_eq!(resolve(&ctx, ResourceKind::Waba, &waba_id(hex)).unwrap(), hex);
        let arn = waba_arn("123456789012", "us-east-1", hex);
        assert_eq!(resolve(&ctx, ResourceKind::Waba, &arn).unwrap(), hex);
        let other = waba_arn("210987654321", "us-east-1", hex);
        assert_eq!(
            resolve(&ctx, ResourceKind::Waba, &other).unwrap_err().kind,
            crate::error::ErrorKind::AccessDenied
        );
        let phone_arn = phone_arn("123456789012", "us-east-1", hex);
        assert!(resolve(&ctx, ResourceKind::Waba, &phone_arn).is_err());
    }

    #[test]
    fn meta_ids_have_the_requested_digits() {
        for _ in 0..100 {
            let id = new_meta_id(15);
            assert_eq!(id.len(), 15, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
