//! Messaging limits per business portfolio (Meta, "Messaging limits", since October 7, 2025):
//! the unique customers reached outside a customer service window in a moving 24 hours are
//! counted per portfolio and shared by all of its numbers. The ladder is 250, 2,000, 10,000,
//! 100,000, unlimited (`TIER_50` is still listed by the webhook references and kept for tests).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::DAY_MS;

/// A messaging limit tier, in rank order.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Tier {
    #[serde(rename = "TIER_50")]
    T50,
    #[serde(rename = "TIER_250")]
    T250,
    /// The seeded portfolios' default: a verified business (a new portfolio starts at 250).
    #[default]
    #[serde(rename = "TIER_2K")]
    T2K,
    #[serde(rename = "TIER_10K")]
    T10K,
    #[serde(rename = "TIER_100K")]
    T100K,
    #[serde(rename = "TIER_UNLIMITED")]
    Unlimited,
}

impl Tier {
    pub const ALL: [Tier; 6] =
        [Tier::T50, Tier::T250, Tier::T2K, Tier::T10K, Tier::T100K, Tier::Unlimited];

    pub fn name(self) -> &'static str {
        match self {
            Tier::T50 => "TIER_50",
            Tier::T250 => "TIER_250",
            Tier::T2K => "TIER_2K",
            Tier::T10K => "TIER_10K",
            Tier::T100K => "TIER_100K",
            Tier::Unlimited => "TIER_UNLIMITED",
        }
    }

    /// A current tier by name.
    pub fn parse(name: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.name() == name)
    }

    /// A tier as a number's limit was named before portfolios: `TIER_1K`, no longer on Meta's
    /// ladder, becomes the next one up.
    pub fn parse_legacy(name: &str) -> Option<Tier> {
        if name == "TIER_1K" { Some(Tier::T2K) } else { Tier::parse(name) }
    }

    /// Unique customers per moving 24 hours; `None` for unlimited.
    pub fn limit(self) -> Option<usize> {
        match self {
            Tier::T50 => Some(50),
            Tier::T250 => Some(250),
            Tier::T2K => Some(2_000),
            Tier::T10K => Some(10_000),
            Tier::T100K => Some(100_000),
            Tier::Unlimited => None,
        }
    }

    /// As `business_capability_update`'s `max_daily_conversations_per_business` (-1: unlimited).
    pub fn max_daily(self) -> i64 {
        self.limit().map_or(-1, |l| l as i64)
    }

    /// The names, for messages listing what is accepted.
    pub fn names() -> String {
        Tier::ALL.map(Tier::name).join(", ")
    }
}

/// One business portfolio's limit and the customers it reached.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Portfolio {
    pub messaging_limit_tier: Tier,
    /// The parent business whose portfolios share parent BSUIDs, when Meta enabled them for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_business_id: Option<String>,
    /// Whether the portfolio accepted the Marketing Messages API's terms: its marketing
    /// templates then go through it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub marketing_messages_api: bool,
    /// Unique customers reached outside a service window in the moving 24 h: (time, wa_id);
    /// not counted while the limit is unlimited.
    #[serde(default)]
    pub business_initiated: VecDeque<(i64, String)>,
    #[serde(default)]
    pub business_initiated_set: BTreeMap<String, i64>,
}

impl Portfolio {
    pub fn new(tier: Tier) -> Self {
        Portfolio { messaging_limit_tier: tier, ..Default::default() }
    }

    fn expire(&mut self, now: i64) {
        while let Some((at, id)) = self.business_initiated.front() {
            if *at > now - DAY_MS {
                break;
            }
            if self.business_initiated_set.get(id) == Some(at) {
                self.business_initiated_set.remove(id);
            }
            self.business_initiated.pop_front();
        }
    }

    /// Unique customers reached outside a service window in the moving 24 hours.
    pub fn used(&mut self, now: i64) -> usize {
        self.expire(now);
        self.business_initiated_set.len()
    }

    /// Counts a business-initiated message to `wa_id`; false when the customer would be one more
    /// than the tier allows in the moving 24 hours (a customer already reached is free).
    pub fn reach(&mut self, wa_id: &str, now: i64) -> bool {
        // Unlimited: nothing to count (and nothing that grows with every customer reached).
        if self.messaging_limit_tier == Tier::Unlimited {
            return true;
        }
        self.expire(now);
        if self.business_initiated_set.contains_key(wa_id) {
            return true;
        }
        if self.messaging_limit_tier.limit().is_some_and(|l| self.business_initiated_set.len() >= l)
        {
            return false;
        }
        self.business_initiated.push_back((now, wa_id.to_string()));
        self.business_initiated_set.insert(wa_id.to_string(), now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_rank_and_name_as_meta_lists_them() {
        assert!(Tier::T250 < Tier::T2K && Tier::T100K < Tier::Unlimited);
        assert_eq!(Tier::parse("TIER_10K"), Some(Tier::T10K));
        assert_eq!(Tier::parse("TIER_1K"), None);
        assert_eq!(Tier::parse_legacy("TIER_1K"), Some(Tier::T2K));
        assert_eq!(Tier::Unlimited.max_daily(), -1);
        assert_eq!(serde_json::to_value(Tier::T2K).unwrap(), "TIER_2K");
    }

    #[test]
    fn a_portfolio_counts_unique_customers_in_a_moving_day() {
        let mut p = Portfolio::new(Tier::T50);
        for i in 0..50 {
            assert!(p.reach(&format!("c{i}"), 0));
        }
        assert!(p.reach("c0", 10), "a customer already reached is free");
        assert!(!p.reach("c50", 10));
        assert_eq!(p.used(10), 50);
        assert!(p.reach("c50", DAY_MS + 1), "a day later the first ones are forgotten");
        assert_eq!(p.used(DAY_MS + 1), 1);
    }
}
