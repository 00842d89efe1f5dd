//! The seed: the state the emulator starts from and resets to. The default seed (embedded from
//! `fixtures/seed/default.json`) reproduces the project's own configuration; `--seed FILE` loads
//! another, validated against `fixtures/schemas/seed.schema.json` before use.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{EventDestination, Partition, PhoneNumber, Template, Waba, ids};
use crate::meta::portfolio::{Portfolio, Tier};

pub const DEFAULT_SEED: &str = include_str!("../../../fixtures/seed/default.json");
pub const SEED_SCHEMA: &str = include_str!("../../../fixtures/schemas/seed.schema.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seed {
    pub account: String,
    pub region: String,
    #[serde(default)]
    pub wabas: Vec<SeedWaba>,
    #[serde(default)]
    pub meta_business_accounts: Vec<MetaBusinessAccount>,
    /// Messaging limits of business portfolios.
    #[serde(default)]
    pub business_portfolios: Vec<SeedPortfolio>,
}

/// A business portfolio's messaging limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedPortfolio {
    pub business_portfolio_id: String,
    pub messaging_limit_tier: Option<Tier>,
    /// The parent business whose portfolios share parent BSUIDs.
    pub parent_business_id: Option<String>,
    /// Whether the portfolio accepted the Marketing Messages API's terms.
    #[serde(default)]
    pub marketing_messages_api: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedWaba {
    pub id: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub waba_id: String,
    pub waba_name: String,
    #[serde(default = "complete")]
    pub registration_status: String,
    #[serde(default)]
    pub link_date: f64,
    pub dataset_id: Option<String>,
    #[serde(default)]
    pub event_destinations: Vec<EventDestination>,
    #[serde(default)]
    pub tags: Vec<SeedTag>,
    pub phone_numbers: Vec<SeedPhone>,
    pub templates: Option<Vec<SeedTemplate>>,
    /// Meta's business portfolio that owns the WABA.
    pub business_portfolio_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedPhone {
    pub phone_number_id: String,
    pub phone_number: String,
    pub display_phone_number: Option<String>,
    pub display_phone_number_name: Option<String>,
    pub meta_phone_number_id: String,
    #[serde(default = "green")]
    pub quality_rating: String,
    pub data_localization_region: Option<String>,
    #[serde(default)]
    pub tags: Vec<SeedTag>,
    /// A number's own limit, as seeds named it before limits were per portfolio: the portfolio
    /// takes the highest of its numbers' (Meta's migration of October 2025).
    pub messaging_limit_tier: Option<String>,
    #[serde(default = "super::default_throughput")]
    pub throughput_per_second: u32,
    /// Meta's calling limits of this number (default: Meta's current ones).
    #[serde(default)]
    pub calling_limits: Option<super::calling::CallingLimits>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SeedTag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedTemplate {
    pub meta_template_id: Option<String>,
    pub name: String,
    pub language: String,
    pub category: String,
    #[serde(default = "approved")]
    pub status: super::TemplateStatus,
    pub quality_score: Option<String>,
    pub parameter_format: Option<String>,
    pub components: Value,
}

/// A WABA on Meta's side that an embedded-signup access token grants.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetaBusinessAccount {
    pub access_token: String,
    pub waba_id: String,
    pub waba_name: String,
    pub phone_numbers: Vec<MetaPhone>,
}

#[derive(Debug, Clone, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetaPhone {
    pub meta_phone_number_id: String,
    pub phone_number: String,
    pub display_phone_number: Option<String>,
    pub display_phone_number_name: Option<String>,
    #[serde(default = "green")]
    pub quality_rating: String,
}

fn complete() -> String {
    "COMPLETE".into()
}
fn green() -> String {
    "GREEN".into()
}
fn approved() -> super::TemplateStatus {
    super::TemplateStatus::Approved
}

impl Seed {
    /// The embedded default seed.
    pub fn default_seed() -> Seed {
        Seed::parse(DEFAULT_SEED, "the default seed").expect("the default seed is valid")
    }

    /// Reads and validates a seed file; the error names the file and the failing JSON path.
    pub fn load(path: &Path) -> Result<Seed, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read seed file {}: {e}", path.display()))?;
        Seed::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Seed, String> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| format!("seed {origin} is not valid JSON: {e}"))?;
        let schema: Value = serde_json::from_str(SEED_SCHEMA).expect("the seed schema is JSON");
        let validator = jsonschema::validator_for(&schema).expect("the seed schema compiles");
        let problems: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| {
                let at = e.instance_path().to_string();
                format!("at {}: {e}", if at.is_empty() { "/" } else { &at })
            })
            .collect();
        if !problems.is_empty() {
            return Err(format!(
                "seed {origin} does not match fixtures/schemas/seed.schema.json:\n  {}",
                problems.join("\n  ")
            ));
        }
        let seed: Seed = serde_json::from_value(value)
            .map_err(|e| format!("seed {origin} could not be read: {e}"))?;
        seed.check().map_err(|e| format!("seed {origin}: {e}"))?;
        Ok(seed)
    }

    /// Rules a schema cannot say: ids unique, at most 25 WABAs per account and region.
    fn check(&self) -> Result<(), String> {
        let mut wabas = HashSet::new();
        let mut phones = HashSet::new();
        for (i, w) in self.wabas.iter().enumerate() {
            let key = (self.account_of(w), self.region_of(w), w.id.as_str());
            if !wabas.insert(key) {
                return Err(format!("at /wabas/{i}/id: WABA id {} appears twice", w.id));
            }
            for (j, p) in w.phone_numbers.iter().enumerate() {
                if !phones.insert((self.account_of(w), self.region_of(w), &p.phone_number_id)) {
                    return Err(format!(
                        "at /wabas/{i}/phoneNumbers/{j}/phoneNumberId: {} appears twice",
                        p.phone_number_id
                    ));
                }
            }
            let mut names = HashSet::new();
            for (j, t) in w.templates.iter().flatten().enumerate() {
                if !names.insert((&t.name, &t.language)) {
                    return Err(format!(
                        "at /wabas/{i}/templates/{j}: template {} ({}) appears twice",
                        t.name, t.language
                    ));
                }
            }
        }
        Ok(())
    }

    fn account_of<'a>(&'a self, w: &'a SeedWaba) -> &'a str {
        w.account.as_deref().unwrap_or(&self.account)
    }

    fn region_of<'a>(&'a self, w: &'a SeedWaba) -> &'a str {
        w.region.as_deref().unwrap_or(&self.region)
    }

    /// The partitions this seed starts with.
    pub fn partitions(&self) -> Vec<((String, String), Partition)> {
        let mut out: BTreeMap<(String, String), Partition> = BTreeMap::new();
        for w in &self.wabas {
            let (account, region) = (self.account_of(w), self.region_of(w));
            let partition = out
                .entry((account.to_string(), region.to_string()))
                .or_insert_with(|| Partition::new(account, region));
            let waba = w.to_waba();
            // Numbers that name a limit raise their portfolio's to the highest of them.
            let legacy = w
                .phone_numbers
                .iter()
                .filter_map(|p| p.messaging_limit_tier.as_deref().and_then(Tier::parse_legacy));
            if let Some(tier) = legacy.max() {
                let limit = partition
                    .meta
                    .portfolios
                    .get_mut()
                    .entry(waba.portfolio_id())
                    .or_insert_with(|| Portfolio::new(tier));
                limit.messaging_limit_tier = limit.messaging_limit_tier.max(tier);
            }
            partition.wabas.insert(waba.hex.clone(), waba);
        }
        // A portfolio's own limit, where it is named, wins.
        for seeded in &self.business_portfolios {
            for partition in out.values_mut() {
                if partition
                    .wabas
                    .values()
                    .any(|w| w.portfolio_id() == seeded.business_portfolio_id)
                {
                    let portfolio = partition.meta.portfolio(&seeded.business_portfolio_id);
                    if let Some(tier) = seeded.messaging_limit_tier {
                        portfolio.messaging_limit_tier = tier;
                    }
                    portfolio.parent_business_id = seeded.parent_business_id.clone();
                    portfolio.marketing_messages_api = seeded.marketing_messages_api;
                }
            }
        }
        out.into_iter().collect()
    }

    /// The Meta-side WABA an embedded-signup access token grants: the seeded one for a listed
    /// token, otherwise one derived from the token (same token, same WABA).
    pub fn meta_business_account(&self, access_token: &str) -> MetaBusinessAccount {
        if let Some(found) =
            self.meta_business_accounts.iter().find(|m| m.access_token == access_token)
        {
            return found.clone();
        }
        let waba_id = derived_meta_id(&format!("waba:{access_token}"), 15);
        let line = derived_meta_id(&format!("line:{access_token}"), 4);
        let last4 = &line[line.len() - 2..];
        MetaBusinessAccount {
            access_token: access_token.to_string(),
            waba_name: format!("WhatsApp Business {}", &waba_id[waba_id.len() - 4..]),
            phone_numbers: vec![MetaPhone {
                meta_phone_number_id: derived_meta_id(&format!("phone:{access_token}"), 15),
                phone_number: format!("+120655501{last4}"),
                display_phone_number: Some(format!("+1 206-555-01{last4}")),
                display_phone_number_name: None,
                quality_rating: green(),
            }],
            waba_id,
        }
    }
}

impl SeedWaba {
    fn to_waba(&self) -> Waba {
        let hex = self.id.strip_prefix(ids::WABA_PREFIX).unwrap_or(&self.id).to_string();
        let templates = match &self.templates {
            Some(list) => list
                .iter()
                .map(|t| Template {
                    meta_template_id: t.meta_template_id.clone().unwrap_or_else(|| {
                        derived_meta_id(&format!("{}:{}:{}", self.waba_id, t.name, t.language), 16)
                    }),
                    name: t.name.clone(),
                    language: t.language.clone(),
                    category: t.category.clone(),
                    status: t.status,
                    quality_score: t.quality_score.clone(),
                    definition: stored_definition(json!({
                        "name": t.name,
                        "language": t.language,
                        "category": t.category,
                        "parameter_format": t.parameter_format.as_deref().unwrap_or("POSITIONAL"),
                        "components": t.components,
                    })),
                    ..Default::default()
                })
                .collect(),
            None => meta_sample_templates(&self.waba_id),
        };
        Waba {
            hex,
            meta_waba_id: self.waba_id.clone(),
            name: self.waba_name.clone(),
            registration_status: self.registration_status.clone(),
            link_date: self.link_date,
            event_destinations: self.event_destinations.clone(),
            phone_numbers: self
                .phone_numbers
                .iter()
                .map(|p| PhoneNumber {
                    hex: p
                        .phone_number_id
                        .strip_prefix(ids::PHONE_PREFIX)
                        .unwrap_or(&p.phone_number_id)
                        .to_string(),
                    phone_number: p.phone_number.clone(),
                    display_phone_number: p
                        .display_phone_number
                        .clone()
                        .unwrap_or_else(|| p.phone_number.clone()),
                    display_phone_number_name: p
                        .display_phone_number_name
                        .clone()
                        .unwrap_or_else(|| self.waba_name.clone()),
                    meta_phone_number_id: p.meta_phone_number_id.clone(),
                    quality_rating: p.quality_rating.clone(),
                    data_localization_region: p.data_localization_region.clone(),
                    call_settings: None,
                    tags: p.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
                    throughput_per_second: p.throughput_per_second,
                    business_public_key: None,
                    calling: super::calling::PhoneCalling {
                        limits: p.calling_limits.unwrap_or_default(),
                        ..Default::default()
                    },
                    origin: Default::default(),
                })
                .collect(),
            templates,
            tags: self.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
            dataset_id: self.dataset_id.clone(),
            media_handles: Vec::new(),
            flows: Default::default(),
            business_portfolio_id: self.business_portfolio_id.clone(),
        }
    }
}

/// A seeded template as Meta stores it: an authentication template given as submitted (OTP
/// button, no text) gets Meta's preset text and URL button; anything else is kept as given.
fn stored_definition(def: Value) -> Value {
    if crate::meta::authentication::is_authentication(&def) {
        crate::meta::authentication::normalize(&def).unwrap_or(def)
    } else {
        def
    }
}

/// Meta's sample template that every new WABA holds: `hello_world` (en_US, UTILITY, APPROVED).
pub fn meta_sample_templates(meta_waba_id: &str) -> Vec<Template> {
    let definition = json!({
        "name": "hello_world",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [
            { "type": "HEADER", "format": "TEXT", "text": "Hello World" },
            { "type": "BODY", "text": "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking the time to test with us." },
            { "type": "FOOTER", "text": "WhatsApp Business Platform sample message" }
        ]
    });
    vec![Template {
        meta_template_id: derived_meta_id(&format!("{meta_waba_id}:hello_world:en_US"), 16),
        name: "hello_world".into(),
        language: "en_US".into(),
        category: "UTILITY".into(),
        status: super::TemplateStatus::Approved,
        quality_score: Some("UNKNOWN".into()),
        definition,
        ..Default::default()
    }]
}

/// A stable numeric id of `digits` digits derived from `input` (FNV-1a), so that seeded and
/// token-derived resources keep their ids across restarts.
pub fn derived_meta_id(input: &str, digits: u32) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in input.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let low = 10u64.pow(digits - 1);
    (low + hash % (9 * low)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_authentication_template_is_stored_as_meta_stores_it() {
        let submitted = json!({"name": "otp", "language": "en_US", "category": "AUTHENTICATION",
            "components": [{"type": "BODY"},
                           {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]}]});
        let stored = stored_definition(submitted);
        assert_eq!(stored["components"][0]["text"], "*{{1}}* is your verification code.");
        assert_eq!(stored["components"][1]["buttons"][0]["type"], "URL");
        let utility = json!({"name": "u", "category": "UTILITY", "components": [{"type": "BODY", "text": "x"}]});
        assert_eq!(stored_definition(utility.clone()), utility);
    }

    #[test]
    fn the_default_seed_is_valid_and_complete() {
        let seed = Seed::default_seed();
        assert_eq!(seed.account, "809904170947");
        let parts = seed.partitions();
        assert_eq!(parts.len(), 1);
        let wabas = &parts[0].1.wabas;
        assert_eq!(wabas.len(), 2);
        assert!(wabas.values().all(|w| w.templates.iter().any(|t| t.name == "hello_world")));
    }

    #[test]
    fn portfolios_take_their_limit_from_the_seed_or_from_their_numbers() {
        let phone = |id: &str, tier: Option<&str>| {
            json!({"phoneNumberId": format!("phone-number-id-{id}"), "phoneNumber": "+14255550100",
                   "metaPhoneNumberId": "1", "messagingLimitTier": tier})
        };
        let seed = json!({"account": "809904170947", "region": "us-east-1", "wabas": [
            {"id": "waba-a", "wabaId": "11", "wabaName": "A", "businessPortfolioId": "77",
             "phoneNumbers": [phone("a1", Some("TIER_250")), phone("a2", Some("TIER_1K"))]},
            {"id": "waba-b", "wabaId": "12", "wabaName": "B", "businessPortfolioId": "77",
             "phoneNumbers": [phone("b1", Some("TIER_10K"))]},
            {"id": "waba-c", "wabaId": "13", "wabaName": "C", "businessPortfolioId": "78",
             "phoneNumbers": [phone("c1", Some("TIER_UNLIMITED"))]},
            {"id": "waba-d", "wabaId": "14", "wabaName": "D", "phoneNumbers": [phone("d1", None)]}],
            "businessPortfolios": [{"businessPortfolioId": "78", "messagingLimitTier": "TIER_250"}]});
        let seed: Seed = serde_json::from_value(seed).unwrap();
        let parts = seed.partitions();
        let meta = &parts[0].1.meta;
        // Meta's migration: the highest limit of the portfolio's numbers (TIER_1K counts as 2K).
        assert_eq!(meta.tier("77"), Tier::T10K);
        assert_eq!(meta.tier("78"), Tier::T250, "a limit the seed names for the portfolio wins");
        let own = parts[0].1.wabas["d"].portfolio_id();
        assert_eq!(meta.tier(&own), Tier::T2K, "the default");
    }

    #[test]
    fn a_bad_seed_names_the_path() {
        let bad = r#"{"account":"809904170947","region":"us-east-1","wabas":[{"id":"nope","wabaId":"1","wabaName":"x","phoneNumbers":[]}]}"#;
        let err = Seed::parse(bad, "bad.json").unwrap_err();
        assert!(err.contains("/wabas/0/id"), "{err}");
    }

    #[test]
    fn derived_ids_are_stable() {
        assert_eq!(derived_meta_id("x", 15), derived_meta_id("x", 15));
        assert_eq!(derived_meta_id("x", 15).len(), 15);
    }
}
