//! Identifiers in the service's real formats, and resolving the two forms every id parameter
//! accepts: `waba-<32 hex>` / `phone-number-id-<32 hex>` or the resource's ARN.

use crate::error::{ApiError, ApiResult};

pub const WABA_PREFIX: &str = "waba-";
pub const PHONE_PREFIX: &str = "phone-number-id-";

/// Where every generated id comes from, one per emulator instance: random bytes (v4 UUIDs), or in
/// deterministic mode SHA-256 of the seed and a counter, so two runs of the same script produce
/// the same ids. The counter is part of the exported state.
#[derive(Debug)]
pub struct IdGen {
    seed: Option<u64>,
    counter: std::sync::atomic::AtomicU64,
}

impl Default for IdGen {
    fn default() -> Self {
        IdGen::random()
    }
}

impl IdGen {
    pub fn random() -> Self {
        IdGen { seed: None, counter: Default::default() }
    }

    pub fn seeded(seed: u64) -> Self {
        IdGen { seed: Some(seed), counter: Default::default() }
    }

    pub fn is_deterministic(&self) -> bool {
        self.seed.is_some()
    }

    /// 16 fresh bytes.
    pub fn bytes(&self) -> [u8; 16] {
        use sha2::Digest;
        use std::sync::atomic::Ordering;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        match self.seed {
            None => *uuid::Uuid::new_v4().as_bytes(),
            Some(seed) => {
                let mut hasher = sha2::Sha256::new();
                hasher.update(seed.to_le_bytes());
                hasher.update(n.to_le_bytes());
                let digest = hasher.finalize();
                let mut out = [0u8; 16];
                out.copy_from_slice(&digest[..16]);
                out
            }
        }
    }

    /// A version-4-shaped UUID.
    pub fn uuid(&self) -> uuid::Uuid {
        uuid::Builder::from_random_bytes(self.bytes()).into_uuid()
    }

    /// 32 lowercase hex characters, as AWS's resource ids.
    pub fn hex(&self) -> String {
        self.uuid().simple().to_string()
    }

    /// A numeric Meta id of `digits` digits (Meta's WABA, phone number and template ids).
    pub fn meta_id(&self, digits: u32) -> String {
        let n = u128::from_le_bytes(self.bytes());
        let low = 10u128.pow(digits - 1);
        (low + n % (9 * low)).to_string()
    }

    /// Ids handed out so far (exported so that an imported deterministic run continues alike).
    pub fn counter(&self) -> u64 {
        self.counter.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn set_counter(&self, n: u64) {
        self.counter.store(n, std::sync::atomic::Ordering::Relaxed);
    }
}

pub fn waba_id(hex: &str) -> String {
    [WABA_PREFIX, hex].concat()
}

pub fn phone_id(hex: &str) -> String {
    [PHONE_PREFIX, hex].concat()
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

/// Whether `s` is an AWS account id (12 digits).
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Who asks: the account and Region a request was signed for (the API adapter's request context
/// is one). Resources are looked up in its partition, and ARNs of others refused.
pub trait Caller {
    fn account(&self) -> &str;
    fn region(&self) -> &str;
}

/// The id suffix named by `id` (either form), checked to belong to the caller. An ARN of another
/// account is AccessDenied; of another region, or of the wrong kind, NotFound.
pub fn resolve<'a>(ctx: &impl Caller, kind: ResourceKind, id: &'a str) -> ApiResult<&'a str> {
    if let Some(hex) = id.strip_prefix(kind.prefix()) {
        return Ok(hex);
    }
    let not_found = || ApiError::not_found(format!("{} {id} does not exist", kind.noun()));
    match parse_arn(id) {
        Some(arn) if arn.kind == kind => {
            if arn.account != ctx.account() {
                Err(ApiError::access_denied(format!(
                    "Account {} is not authorized to access {id}, which belongs to account {}",
                    ctx.account(),
                    arn.account
                )))
            } else if arn.region != ctx.region() {
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
        struct Ctx;
        impl Caller for Ctx {
            fn account(&self) -> &str {
                "123456789012"
            }
            fn region(&self) -> &str {
                "us-east-1"
            }
        }
        let ctx = Ctx;
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
        let ids = IdGen::random();
        for _ in 0..100 {
            let id = ids.meta_id(15);
            assert_eq!(id.len(), 15, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn seeded_ids_repeat_and_differ_by_seed() {
        let (a, b, c) = (IdGen::seeded(0), IdGen::seeded(0), IdGen::seeded(1));
        let run = |g: &IdGen| (g.hex(), g.meta_id(16), g.uuid().to_string());
        let first = run(&a);
        assert_eq!(first, run(&b));
        assert_ne!(first, run(&c));
        assert_eq!(a.counter(), 3, "hex, meta_id and uuid each take one counter value");
        assert_eq!(a.uuid().get_version_num(), 4);
    }
}
