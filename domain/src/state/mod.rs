//! The store: every resource, keyed by (account, region) so that nothing crosses accounts or
//! regions. Each partition has its own read-write lock (std, never held across an await:
//! handlers lock, change, unlock, and only then do anything asynchronous). Reads and sends take
//! it shared ([`Store::read`], [`Store::shared`]; what a send changes has a lock of its own, see
//! [`crate::meta::MetaState`]); changes to resources take it exclusive ([`Store::with`]).

pub mod calling;
pub mod datasets;
pub mod flows;
pub mod ids;
pub mod media;
pub mod public_key;
pub mod seed;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use ids::{Caller, ResourceKind};
pub use seed::Seed;

/// A linked WhatsApp Business Account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Waba {
    /// The 32-hex suffix of `waba-…` and of the ARN.
    pub hex: String,
    /// Meta's numeric WABA id.
    pub meta_waba_id: String,
    pub name: String,
    pub registration_status: String,
    /// Epoch seconds.
    pub link_date: f64,
    pub event_destinations: Vec<EventDestination>,
    pub phone_numbers: Vec<PhoneNumber>,
    pub templates: Vec<Template>,
    pub tags: BTreeMap<String, String>,
    pub dataset_id: Option<String>,
    /// Media header handles uploaded with CreateWhatsAppMessageTemplateMedia.
    #[serde(default)]
    pub media_handles: Vec<String>,
    /// Meta's business portfolio that owns the WABA (seeded `businessPortfolioId`; otherwise
    /// a portfolio of its own, derived from the WABA's Meta id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_portfolio_id: Option<String>,
    /// WhatsApp Flows by Meta flow id.
    pub flows: BTreeMap<String, flows::Flow>,
}

impl Waba {
    /// The business portfolio of this WABA (BSUIDs and messaging limits are per portfolio).
    pub fn portfolio_id(&self) -> String {
        crate::meta::bsuid::portfolio_of(self.business_portfolio_id.as_deref(), &self.meta_waba_id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDestination {
    pub event_destination_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// A phone number registered to a linked WABA.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    pub hex: String,
    /// E.164, e.g. `+919330994400`.
    pub phone_number: String,
    /// As Meta displays it, e.g. `+91 93309 94400`.
    pub display_phone_number: String,
    pub display_phone_number_name: String,
    pub meta_phone_number_id: String,
    pub quality_rating: String,
    pub data_localization_region: Option<String>,
    /// `WhatsAppCallSettings` as last set by UpdateLinkedWhatsAppBusinessAccountPhoneNumber.
    pub call_settings: Option<Value>,
    pub tags: BTreeMap<String, String>,
    /// Cloud API throughput, messages per second (Meta's default: 80).
    #[serde(default = "default_throughput")]
    pub throughput_per_second: u32,
    /// Set by PutWhatsAppBusinessPublicKey.
    #[serde(default)]
    pub business_public_key: Option<public_key::BusinessPublicKey>,
    /// Customers' call permissions and the call log.
    #[serde(default)]
    pub calling: calling::PhoneCalling,
    /// The identities events about this number's messages carry, made once and shared by them
    /// all (none of them changes in a number's life).
    #[serde(skip)]
    pub origin: std::sync::OnceLock<std::sync::Arc<crate::meta::Origin>>,
}

impl PhoneNumber {
    /// The identities of messages sent from this number of `waba`.
    pub fn origin(&self, waba: &Waba) -> std::sync::Arc<crate::meta::Origin> {
        let origin = self.origin.get_or_init(|| {
            std::sync::Arc::new(crate::meta::Origin {
                waba_hex: waba.hex.clone(),
                meta_waba_id: waba.meta_waba_id.clone(),
                phone_hex: self.hex.clone(),
                meta_phone_id: self.meta_phone_number_id.clone(),
                display_digits: self.phone_number.chars().filter(char::is_ascii_digit).collect(),
                portfolio_id: waba.portfolio_id(),
            })
        });
        origin.clone()
    }
}

pub fn default_throughput() -> u32 {
    80
}

/// A template's status (Meta's `status`, the API's `templateStatus`). Its transitions are
/// [`crate::meta::template_lifecycle`]'s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateStatus {
    /// Submitted or edited, waiting for Meta's review.
    #[default]
    Pending,
    Approved,
    Rejected,
    /// Paused for low quality (3 hours, then 6).
    Paused,
    /// Disabled for low quality (the third pause) or by Meta.
    Disabled,
    /// Deleted (only in the event of its deletion).
    Deleted,
}

impl TemplateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateStatus::Pending => "PENDING",
            TemplateStatus::Approved => "APPROVED",
            TemplateStatus::Rejected => "REJECTED",
            TemplateStatus::Paused => "PAUSED",
            TemplateStatus::Disabled => "DISABLED",
            TemplateStatus::Deleted => "DELETED",
        }
    }
}

impl std::fmt::Display for TemplateStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message template of a WABA, kept in Meta's own JSON form.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    pub meta_template_id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: TemplateStatus,
    pub quality_score: Option<String>,
    /// Meta's template object (`name`, `language`, `category`, `components`, …).
    pub definition: Value,
    /// `LIBRARY` for templates made from Meta's template library.
    #[serde(default)]
    pub source: Option<String>,
    /// Meta's rejection reason (`INVALID_FORMAT`, …) while REJECTED.
    #[serde(default)]
    pub rejected_reason: Option<String>,
    /// How often quality pauses hit it (the third disables it).
    #[serde(default)]
    pub pause_count: u32,
    /// Times of edits of the approved template (Meta limits them).
    #[serde(default)]
    pub edits: Vec<i64>,
}

/// A WABA an embedded-signup access token grants, waiting for setup finalization.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingSignup {
    /// What Meta's side grants.
    pub meta: seed::MetaBusinessAccount,
    /// The AWS ids assigned at the callback, used again when setup is finalized.
    pub waba_hex: String,
    /// One per `meta.phone_numbers`, same order.
    pub phone_hexes: Vec<String>,
    /// When the callback ran (virtual clock, ms).
    pub created_ms: i64,
}

/// Everything one account owns in one region (exported and persisted as one JSON document).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Partition {
    pub account: String,
    pub region: String,
    /// By hex id; a BTreeMap so listings are in a stable order.
    pub wabas: BTreeMap<String, Waba>,
    /// Embedded-signup sessions by `associateInProgressToken`.
    pub signups: BTreeMap<String, PendingSignup>,
    /// The WhatsApp side: messages, windows, traffic.
    pub meta: crate::meta::MetaState,
    /// Events accepted by SendWhatsAppConversionEvent (bounded).
    pub conversion_events: datasets::ConversionEventLog,
    /// Uploaded and inbound media ids (the bytes are in `media::blobs`).
    pub media: media::MediaFiles,
}

impl Partition {
    pub fn new(account: &str, region: &str) -> Self {
        Partition { account: account.into(), region: region.into(), ..Default::default() }
    }

    pub fn waba_arn(&self, hex: &str) -> String {
        ids::waba_arn(&self.account, &self.region, hex)
    }

    pub fn phone_arn(&self, hex: &str) -> String {
        ids::phone_arn(&self.account, &self.region, hex)
    }

    /// The WABA named by `id` (`waba-…` or its ARN).
    pub fn waba(&self, ctx: &impl Caller, id: &str) -> ApiResult<&Waba> {
        let hex = ids::resolve(ctx, ResourceKind::Waba, id)?;
        self.wabas.get(hex).ok_or_else(|| waba_not_found(id))
    }

    pub fn waba_mut(&mut self, ctx: &impl Caller, id: &str) -> ApiResult<&mut Waba> {
        let hex = ids::resolve(ctx, ResourceKind::Waba, id)?;
        self.wabas.get_mut(hex).ok_or_else(|| waba_not_found(id))
    }

    /// The phone number named by `id` (`phone-number-id-…` or its ARN) and its WABA.
    pub fn phone(&self, ctx: &impl Caller, id: &str) -> ApiResult<(&Waba, &PhoneNumber)> {
        let hex = ids::resolve(ctx, ResourceKind::PhoneNumber, id)?;
        self.wabas
            .values()
            .find_map(|w| w.phone_numbers.iter().find(|p| p.hex == hex).map(|p| (w, p)))
            .ok_or_else(|| phone_not_found(id))
    }

    pub fn phone_mut(&mut self, ctx: &impl Caller, id: &str) -> ApiResult<&mut PhoneNumber> {
        let hex = ids::resolve(ctx, ResourceKind::PhoneNumber, id)?;
        self.wabas
            .values_mut()
            .flat_map(|w| w.phone_numbers.iter_mut())
            .find(|p| p.hex == hex)
            .ok_or_else(|| phone_not_found(id))
    }

    /// [`Self::phone_mut`], with the customers' business-scoped user IDs beside it.
    pub fn phone_mut_with_users(
        &mut self,
        ctx: &impl Caller,
        id: &str,
    ) -> ApiResult<(&mut PhoneNumber, &crate::meta::bsuid::Users)> {
        let hex = ids::resolve(ctx, ResourceKind::PhoneNumber, id)?;
        let phone = self
            .wabas
            .values_mut()
            .flat_map(|w| w.phone_numbers.iter_mut())
            .find(|p| p.hex == hex)
            .ok_or_else(|| phone_not_found(id))?;
        Ok((phone, &self.meta.users))
    }
}

fn waba_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("WhatsApp Business Account {id} does not exist"))
}

fn phone_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Phone number {id} does not exist"))
}

pub type PartitionKey = (String, String);

/// A [`PartitionKey`] made of borrowed strings: looks a partition up without allocating (it
/// hashes as the owned tuple does).
#[derive(Hash)]
struct KeyRef<'a>(&'a str, &'a str);

impl hashbrown::Equivalent<PartitionKey> for KeyRef<'_> {
    fn equivalent(&self, key: &PartitionKey) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

/// All partitions, and the seed they started from.
#[derive(Debug)]
pub struct Store {
    partitions: RwLock<hashbrown::HashMap<PartitionKey, Arc<RwLock<Partition>>>>,
    seed: Seed,
    /// With persistence: the partitions handed out since the last persist (any of them may have
    /// changed). None without persistence, so that costs nothing.
    touched: std::sync::OnceLock<Mutex<std::collections::HashSet<PartitionKey>>>,
}

impl Store {
    pub fn new(seed: Seed) -> Self {
        let store = Store { partitions: RwLock::default(), seed, touched: Default::default() };
        store.reset();
        store
    }

    pub fn seed(&self) -> &Seed {
        &self.seed
    }

    /// Back to the seed: every partition dropped, the seeded ones rebuilt.
    pub fn reset(&self) {
        let fresh = self.seed.partitions();
        let mut map = self.partitions.write().unwrap_or_else(PoisonError::into_inner);
        *map = fresh.into_iter().map(|(k, p)| (k, self.tracked(p))).collect();
    }

    /// A partition as the store keeps it: with persistence, its message logs record what
    /// changes (a write stores those messages, not the logs).
    fn tracked(&self, mut p: Partition) -> Arc<RwLock<Partition>> {
        if self.touched.get().is_some() {
            p.meta.outbound.get_mut().track();
            p.meta.inbound.get_mut().track();
        }
        Arc::new(RwLock::new(p))
    }

    /// Starts recording which partitions are handed out and what changes in them (persistence).
    pub fn track_changes(&self) {
        let _ = self.touched.set(Mutex::default());
        for p in self.partitions.read().unwrap_or_else(PoisonError::into_inner).values() {
            let mut p = p.write().unwrap_or_else(PoisonError::into_inner);
            p.meta.outbound.get_mut().track();
            p.meta.inbound.get_mut().track();
        }
    }

    /// The partitions handed out since the last call (with `track_changes`).
    pub fn take_touched(&self) -> Vec<PartitionKey> {
        match self.touched.get() {
            Some(t) => t.lock().unwrap_or_else(PoisonError::into_inner).drain().collect::<Vec<_>>(),
            None => Vec::new(),
        }
    }

    /// Every partition key, sorted.
    pub fn keys(&self) -> Vec<PartitionKey> {
        let mut keys: Vec<PartitionKey> = self
            .partitions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    /// A partition if it exists (never creates one).
    pub fn existing(&self, key: &PartitionKey) -> Option<Arc<RwLock<Partition>>> {
        self.partitions.read().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }

    /// Replaces every partition (import).
    pub fn replace(&self, partitions: Vec<Partition>) {
        let mut map = self.partitions.write().unwrap_or_else(PoisonError::into_inner);
        *map = partitions
            .into_iter()
            .map(|p| ((p.account.clone(), p.region.clone()), self.tracked(p)))
            .collect();
    }

    /// The partition of (`account`, `region`), if it exists (no allocation).
    fn lookup(&self, account: &str, region: &str) -> Option<Arc<RwLock<Partition>>> {
        self.partitions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&KeyRef(account, region))
            .cloned()
    }

    /// The caller's partition (created empty on first use).
    pub fn partition(&self, account: &str, region: &str) -> Arc<RwLock<Partition>> {
        if let Some(touched) = self.touched.get() {
            let key = (account.to_string(), region.to_string());
            touched.lock().unwrap_or_else(PoisonError::into_inner).insert(key);
        }
        let found = self.lookup(account, region);
        if let Some(p) = found {
            return p;
        }
        let mut map = self.partitions.write().unwrap_or_else(PoisonError::into_inner);
        map.entry((account.to_string(), region.to_string()))
            .or_insert_with(|| self.tracked(Partition::new(account, region)))
            .clone()
    }

    /// Runs `f` on the caller's partition (created empty on first use) under its *shared* lock,
    /// for changes to the parts that have locks of their own (the Meta side's logs and
    /// counters: [`crate::meta::MetaState`]): sends run side by side.
    pub fn shared<R>(&self, ctx: &impl Caller, f: impl FnOnce(&Partition) -> R) -> R {
        let partition = self.partition(ctx.account(), ctx.region());
        let guard = crate::locks::read(&partition, &crate::locks::PARTITION);
        f(&guard)
    }

    /// Runs `f` on the caller's partition under its write lock.
    pub fn with<R>(&self, ctx: &impl Caller, f: impl FnOnce(&mut Partition) -> R) -> R {
        let partition = self.partition(ctx.account(), ctx.region());
        let mut guard = crate::locks::write(&partition, &crate::locks::PARTITION);
        f(&mut guard)
    }

    /// Runs `f` on the caller's partition under its read lock: reads run side by side. A
    /// partition that does not exist is read as an empty one and not created (nor marked
    /// touched), so that reads with ever new access keys cost no memory.
    pub fn read<R>(&self, ctx: &impl Caller, f: impl FnOnce(&Partition) -> R) -> R {
        self.view(ctx.account(), ctx.region(), f)
    }

    /// [`Self::read`] by account and Region.
    pub fn view<R>(&self, account: &str, region: &str, f: impl FnOnce(&Partition) -> R) -> R {
        let found = self.lookup(account, region);
        match found {
            Some(partition) => f(&crate::locks::read(&partition, &crate::locks::PARTITION)),
            None => f(&Partition::new(account, region)),
        }
    }

    /// The partition of (`account`, `region`) to read, or an empty one of its own when there is
    /// none: never creates one, so reads with ever new access keys cost no memory.
    pub fn existing_or_empty(&self, account: &str, region: &str) -> Arc<RwLock<Partition>> {
        let found = self.lookup(account, region);
        found.unwrap_or_else(|| Arc::new(RwLock::new(Partition::new(account, region))))
    }

    /// How many partitions exist.
    pub fn len(&self) -> usize {
        self.partitions.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no partition exists.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
