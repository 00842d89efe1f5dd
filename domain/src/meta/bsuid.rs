//! Business-scoped user IDs (Meta, "Business-scoped user IDs"): every WhatsApp user has one ID
//! per business portfolio, `<ISO country>.<digits>` (e.g. `US.13491208655302741918`), that stays
//! when the user's phone number or username changes. Webhooks carry it (`contacts[].user_id`,
//! `messages[].from_user_id`, `statuses[].recipient_user_id`) and a message can be addressed to
//! it (`recipient`, or `to`).
//!
//! The emulator derives a customer's BSUID from the portfolio and the phone number (stable, so
//! tests can predict it), unless the control API or the seed set one; a customer who changes
//! number keeps it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The business portfolio a WABA belongs to: its seeded `businessPortfolioId`, else one derived
/// from its Meta id (a portfolio of its own).
pub fn portfolio_of(business_portfolio_id: Option<&str>, meta_waba_id: &str) -> String {
    match business_portfolio_id {
        Some(p) => p.to_string(),
        None => crate::state::seed::derived_meta_id(&format!("portfolio:{meta_waba_id}"), 15),
    }
}

/// Whether `s` has a BSUID's form: a 2-letter country code, an optional `ENT.` (a parent BSUID),
/// then digits.
pub fn is_bsuid(s: &str) -> bool {
    let Some((country, rest)) = s.split_once('.') else { return false };
    let digits = rest.strip_prefix("ENT.").unwrap_or(rest);
    country.len() == 2
        && country.bytes().all(|b| b.is_ascii_uppercase())
        && !digits.is_empty()
        && digits.len() <= 30
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// BSUIDs the emulator did not derive, and the customers each BSUID names.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Users {
    /// `<portfolio>|<wa_id>` → BSUID set through the control API, the seed, or kept across a
    /// change of number.
    #[serde(default)]
    pub assigned: BTreeMap<String, String>,
    /// BSUID → (portfolio, wa_id) of every customer a business has met (they wrote in, or were
    /// assigned one): who a message addressed by BSUID goes to.
    #[serde(default)]
    pub by_bsuid: BTreeMap<String, (String, String)>,
    /// wa_id → the username the customer adopted (one per user, shown to every business).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub usernames: BTreeMap<String, String>,
}

impl Users {
    /// The BSUID of customer `wa_id` in `portfolio`.
    pub fn bsuid(&self, portfolio: &str, wa_id: &str) -> String {
        self.assigned(portfolio, wa_id).map_or_else(|| derive(portfolio, wa_id), str::to_string)
    }

    /// The BSUID given to `wa_id` in `portfolio`, if one was (derived ones are not stored).
    pub fn assigned(&self, portfolio: &str, wa_id: &str) -> Option<&str> {
        if self.assigned.is_empty() {
            return None;
        }
        self.assigned.get(&key(portfolio, wa_id)).map(String::as_str)
    }

    /// Remembers that a business of `portfolio` met `wa_id`; returns the customer's BSUID.
    pub fn meet(&mut self, portfolio: &str, wa_id: &str) -> String {
        let bsuid = self.bsuid(portfolio, wa_id);
        if !self.by_bsuid.contains_key(&bsuid) {
            self.by_bsuid.insert(bsuid.clone(), (portfolio.to_string(), wa_id.to_string()));
        }
        bsuid
    }

    /// Gives `wa_id` in `portfolio` the BSUID `bsuid` (which must not name another customer).
    pub fn assign(&mut self, portfolio: &str, wa_id: &str, bsuid: &str) -> Result<(), String> {
        if let Some((p, other)) = self.by_bsuid.get(bsuid)
            && (p != portfolio || other != wa_id)
        {
            return Err(format!("BSUID {bsuid} already names customer {other}"));
        }
        let old = self.bsuid(portfolio, wa_id);
        if self.by_bsuid.get(&old).is_some_and(|(p, w)| p == portfolio && w == wa_id) {
            self.by_bsuid.remove(&old);
        }
        self.assigned.insert(key(portfolio, wa_id), bsuid.to_string());
        self.by_bsuid.insert(bsuid.to_string(), (portfolio.to_string(), wa_id.to_string()));
        Ok(())
    }

    /// The customer a BSUID names in `portfolio`.
    pub fn wa_id_of(&self, portfolio: &str, bsuid: &str) -> Option<&str> {
        self.by_bsuid.get(bsuid).filter(|(p, _)| p == portfolio).map(|(_, w)| w.as_str())
    }

    /// The customer of `portfolio` whose parent BSUID (under `parent_business`) is `parent`.
    pub fn wa_id_of_parent(
        &self,
        portfolio: &str,
        parent_business: &str,
        parent: &str,
    ) -> Option<&str> {
        self.by_bsuid
            .values()
            .filter(|(p, _)| p == portfolio)
            .map(|(_, w)| w.as_str())
            .find(|w| derive_parent(parent_business, w) == parent)
    }

    /// The username customer `wa_id` adopted, if any.
    pub fn username(&self, wa_id: &str) -> Option<&str> {
        if self.usernames.is_empty() {
            return None;
        }
        self.usernames.get(wa_id).map(String::as_str)
    }

    /// Adopts (or, with `None`, drops) a username; usernames are unique, ignoring case.
    pub fn set_username(&mut self, wa_id: &str, username: Option<&str>) -> Result<(), String> {
        let Some(username) = username else {
            self.usernames.remove(wa_id);
            return Ok(());
        };
        check_username(username)?;
        self.check_free(wa_id, username)?;
        self.usernames.insert(wa_id.to_string(), username.to_string());
        Ok(())
    }

    /// Err when another customer than `wa_id` holds `username` (ignoring case).
    pub fn check_free(&self, wa_id: &str, username: &str) -> Result<(), String> {
        match self.usernames.iter().find(|(w, u)| *w != wa_id && u.eq_ignore_ascii_case(username)) {
            Some((other, _)) => Err(format!("username {username} is already taken by {other}")),
            None => Ok(()),
        }
    }

    /// A customer's new phone number keeps their BSUID.
    pub fn change_number(&mut self, portfolio: &str, old: &str, new: &str) -> String {
        let bsuid = self.bsuid(portfolio, old);
        self.assigned.insert(key(portfolio, new), bsuid.clone());
        self.by_bsuid.insert(bsuid.clone(), (portfolio.to_string(), new.to_string()));
        bsuid
    }
}

/// Meta's format rules for usernames (users' are those of business usernames): 3–35 letters,
/// digits, periods and underscores, at least one letter, no leading, trailing or doubled
/// period, not starting with `www`, not ending with a domain suffix.
pub fn check_username(u: &str) -> Result<(), String> {
    const SUFFIXES: [&str; 9] =
        [".com", ".org", ".net", ".edu", ".gov", ".mil", ".us", ".in", ".html"];
    let lower = u.to_ascii_lowercase();
    let why = if !(3..=35).contains(&u.chars().count()) {
        "must be 3 to 35 characters"
    } else if !u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_') {
        "may hold only letters, digits, periods and underscores"
    } else if !u.bytes().any(|b| b.is_ascii_alphabetic()) {
        "must contain a letter"
    } else if u.starts_with('.') || u.ends_with('.') || u.contains("..") {
        "must not start or end with a period or hold two in a row"
    } else if lower.starts_with("www") {
        "must not start with www"
    } else if SUFFIXES.iter().any(|s| lower.ends_with(s)) {
        "must not end with a domain suffix"
    } else {
        return Ok(());
    };
    Err(format!("username {u:?} {why}"))
}

/// A parent BSUID, shared by the portfolios of one parent business (`<country>.ENT.<digits>`).
pub fn derive_parent(parent_business: &str, wa_id: &str) -> String {
    let child = derive(&format!("parent:{parent_business}"), wa_id);
    let (country, digits) = child.split_once('.').unwrap_or(("US", &child));
    format!("{country}.ENT.{digits}")
}

fn key(portfolio: &str, wa_id: &str) -> String {
    format!("{portfolio}|{wa_id}")
}

/// A stable BSUID: the number's country, then 20 digits of a hash of portfolio and number
/// (FNV-1a: the same on every build and run).
pub fn derive(portfolio: &str, wa_id: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in portfolio.bytes().chain([b'|']).chain(wa_id.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{}.{hash:020}", country(wa_id))
}

/// The ISO country of a phone number's calling code (the commonest; `US` otherwise).
fn country(wa_id: &str) -> &'static str {
    const CODES: &[(&str, &str)] = &[
        ("1", "US"),
        ("7", "RU"),
        ("20", "EG"),
        ("27", "ZA"),
        ("30", "GR"),
        ("31", "NL"),
        ("32", "BE"),
        ("33", "FR"),
        ("34", "ES"),
        ("39", "IT"),
        ("41", "CH"),
        ("44", "GB"),
        ("49", "DE"),
        ("51", "PE"),
        ("52", "MX"),
        ("54", "AR"),
        ("55", "BR"),
        ("56", "CL"),
        ("57", "CO"),
        ("60", "MY"),
        ("61", "AU"),
        ("62", "ID"),
        ("63", "PH"),
        ("65", "SG"),
        ("81", "JP"),
        ("82", "KR"),
        ("86", "CN"),
        ("90", "TR"),
        ("91", "IN"),
        ("92", "PK"),
        ("234", "NG"),
        ("254", "KE"),
        ("880", "BD"),
        ("966", "SA"),
        ("971", "AE"),
    ];
    CODES
        .iter()
        .filter(|(code, _)| wa_id.starts_with(code))
        .max_by_key(|(code, _)| code.len())
        .map_or("US", |(_, country)| country)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_bsuids_are_stable_per_portfolio() {
        let a = derive("111", "14255550150");
        assert!(is_bsuid(&a), "{a}");
        assert!(a.starts_with("US."), "{a}");
        assert_eq!(a, derive("111", "14255550150"));
        assert_ne!(a, derive("222", "14255550150"));
        assert!(derive("111", "919330994400").starts_with("IN."));
        assert!(is_bsuid("US.ENT.11815799212886844830"));
        assert!(!is_bsuid("14255550150"));
        assert!(!is_bsuid("us.123"));
    }

    #[test]
    fn assigned_bsuids_and_number_changes() {
        let mut users = Users::default();
        let first = users.meet("p", "14255550150");
        assert_eq!(users.wa_id_of("p", &first), Some("14255550150"));
        assert_eq!(users.wa_id_of("q", &first), None);
        users.assign("p", "14255550150", "US.1234").unwrap();
        assert_eq!(users.bsuid("p", "14255550150"), "US.1234");
        assert_eq!(users.wa_id_of("p", &first), None);
        assert!(users.assign("p", "14255550199", "US.1234").is_err());
        let kept = users.change_number("p", "14255550150", "14255550199");
        assert_eq!(kept, "US.1234");
        assert_eq!(users.bsuid("p", "14255550199"), "US.1234");
        assert_eq!(users.wa_id_of("p", "US.1234"), Some("14255550199"));
    }

    #[test]
    fn usernames_follow_metas_format_and_are_unique() {
        let mut users = Users::default();
        for good in ["jane_doe", "Jane.Doe", "j4ne", "abc"] {
            assert!(check_username(good).is_ok(), "{good}");
        }
        for bad in ["ab", "jane..doe", ".jane", "jane.", "1234", "wwwjane", "jane.com", "jane-doe"]
        {
            assert!(check_username(bad).is_err(), "{bad}");
        }
        users.set_username("1", Some("jane_doe")).unwrap();
        assert!(users.set_username("2", Some("JANE_DOE")).is_err());
        assert_eq!(users.username("1"), Some("jane_doe"));
        users.set_username("1", None).unwrap();
        assert_eq!(users.username("1"), None);
    }

    #[test]
    fn parent_bsuids_are_shared_by_a_parent_business() {
        let parent = derive_parent("org", "14255550150");
        assert!(parent.starts_with("US.ENT.") && is_bsuid(&parent), "{parent}");
        assert_eq!(parent, derive_parent("org", "14255550150"));
        assert_ne!(parent, derive_parent("other", "14255550150"));
        let mut users = Users::default();
        users.meet("p", "14255550150");
        assert_eq!(users.wa_id_of_parent("p", "org", &parent), Some("14255550150"));
        assert_eq!(users.wa_id_of_parent("q", "org", &parent), None);
    }
}
