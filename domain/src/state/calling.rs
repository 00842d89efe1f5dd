//! WhatsApp calling on one business phone number: each customer's call permission (status,
//! expiry, the counters Meta limits) and the call log with each call's state machine
//! (GetWhatsAppCallPermission, SendWhatsAppCallEvent, and the control API's customer side).

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// Permission statuses Meta answers.
pub const NO_PERMISSION: &str = "no_permission";
pub const TEMPORARY: &str = "temporary";
pub const PERMANENT: &str = "permanent";

/// A temporary permission lasts 7 days from the customer's approval.
pub const TEMPORARY_PERMISSION_SECS: f64 = 7.0 * 86_400.0;
/// Meta's calling limits of one business number with each customer (Meta, "Obtain user call
/// permissions", updated November 2025): `send_call_permission_request` 1 per 24 hours and 2 per
/// 7 days; `start_call` 100 connected business-initiated calls per 24 hours. Seedable and
/// settable per number (`callingLimits`), as the other limits are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct CallingLimits {
    pub permission_requests_per_24h: u32,
    pub permission_requests_per_7d: u32,
    pub connected_calls_per_24h: u32,
}

impl Default for CallingLimits {
    fn default() -> Self {
        CallingLimits {
            permission_requests_per_24h: 1,
            permission_requests_per_7d: 2,
            connected_calls_per_24h: 100,
        }
    }
}

impl CallingLimits {
    /// `send_call_permission_request`'s limits.
    pub fn permission_requests(&self) -> [Limit; 2] {
        [
            Limit {
                time_period: "PT24H",
                secs: DAY_SECS,
                max_allowed: self.permission_requests_per_24h,
            },
            Limit {
                time_period: "P7D",
                secs: WEEK_SECS,
                max_allowed: self.permission_requests_per_7d,
            },
        ]
    }

    /// `start_call`'s limit.
    pub fn start_call(&self) -> [Limit; 1] {
        [Limit { time_period: "PT24H", secs: DAY_SECS, max_allowed: self.connected_calls_per_24h }]
    }

    /// Each limit at least 1 and at most 100,000.
    pub fn check(&self) -> Result<(), String> {
        for (name, value) in [
            ("permissionRequestsPer24h", self.permission_requests_per_24h),
            ("permissionRequestsPer7d", self.permission_requests_per_7d),
            ("connectedCallsPer24h", self.connected_calls_per_24h),
        ] {
            if !(1..=100_000).contains(&value) {
                return Err(format!("callingLimits.{name} must be 1 to 100000, got {value}"));
            }
        }
        Ok(())
    }
}

const DAY_SECS: f64 = 86_400.0;
const WEEK_SECS: f64 = 604_800.0;
/// Unanswered or rejected business-initiated calls in a row that revoke a permission.
pub const UNANSWERED_CALLS_REVOKE: u32 = 4;
/// Calls kept per phone number (the oldest are dropped first).
pub const CALL_LOG_LIMIT: usize = 500;

/// One of Meta's rolling limits on a calling action.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// ISO-8601 duration, as Meta answers it.
    pub time_period: &'static str,
    pub secs: f64,
    pub max_allowed: u32,
}

impl Limit {
    /// (uses within the period, when the oldest of them leaves it).
    pub fn usage(&self, uses: &[f64], now: f64) -> (u32, Option<f64>) {
        let mut within = uses.iter().filter(|t| now - **t < self.secs);
        let oldest = within.clone().copied().reduce(f64::min);
        let count = within.by_ref().count() as u32;
        (count, oldest.map(|t| t + self.secs))
    }
}

/// What one customer allows this business number, and what the business used.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallCustomer {
    /// E.164 with `+`, when known.
    pub phone_number: Option<String>,
    /// Business-scoped user id, when known.
    pub bsuid: Option<String>,
    /// `no_permission`, `temporary` or `permanent` as last set.
    pub permission: String,
    /// Epoch seconds a temporary permission ends.
    pub expires_at: Option<f64>,
    /// When call permission requests were sent (epoch seconds).
    pub permission_requests: Vec<f64>,
    /// When business-initiated calls connected (epoch seconds).
    pub connected_calls: Vec<f64>,
    pub unanswered_streak: u32,
}

impl CallCustomer {
    pub fn new(phone_number: Option<String>, bsuid: Option<String>) -> Self {
        CallCustomer { phone_number, bsuid, permission: NO_PERMISSION.into(), ..Default::default() }
    }

    /// The status now: a temporary permission past its expiry is gone.
    pub fn status(&self, now: f64) -> &str {
        match (self.permission.as_str(), self.expires_at) {
            (TEMPORARY, Some(end)) if end <= now => NO_PERMISSION,
            (TEMPORARY | PERMANENT, _) => &self.permission,
            _ => NO_PERMISSION,
        }
    }

    pub fn grant_temporary(&mut self, now: f64) {
        self.permission = TEMPORARY.into();
        self.expires_at = Some(now + TEMPORARY_PERMISSION_SECS);
        self.unanswered_streak = 0;
    }

    /// Drops counters older than the longest period (keeps the lists short).
    pub fn prune(&mut self, now: f64) {
        let keep = |secs: f64| move |t: &f64| now - *t < secs;
        self.permission_requests.retain(keep(WEEK_SECS));
        self.connected_calls.retain(keep(DAY_SECS));
    }

    /// Whether every limit in `limits` still has room.
    pub fn within(limits: &[Limit], uses: &[f64], now: f64) -> bool {
        limits.iter().all(|l| l.usage(uses, now).0 < l.max_allowed)
    }
}

/// Who acts on a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Business,
    Customer,
}

pub const BUSINESS_INITIATED: &str = "BUSINESS_INITIATED";
pub const USER_INITIATED: &str = "USER_INITIATED";

/// Call statuses: live ones, then the ways a call ends.
pub const RINGING: &str = "RINGING";
pub const PRE_ACCEPTED: &str = "PRE_ACCEPTED";
pub const ONGOING: &str = "ONGOING";
pub const COMPLETED: &str = "COMPLETED";
pub const REJECTED: &str = "REJECTED";
pub const CANCELED: &str = "CANCELED";
pub const NO_ANSWER: &str = "NO_ANSWER";

/// One WhatsApp call and what happened to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    /// Meta's `wacid.…` id.
    pub call_id: String,
    /// `phone-number-id-…` of the business number.
    pub phone_number_id: String,
    pub direction: String,
    /// The customer's key (E.164 number or BSUID).
    pub customer: String,
    /// The customer's WhatsApp profile name, when the control API gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_name: Option<String>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_opaque_callback_data: Option<String>,
    /// Epoch seconds.
    pub started_at: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<f64>,
    pub events: Vec<CallLogEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallLogEvent {
    pub at: f64,
    /// `business` or `customer`.
    pub by: String,
    pub action: String,
    /// Status after the event.
    pub status: String,
    /// Size of the SDP the event carried, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdp_bytes: Option<usize>,
}

impl Call {
    pub fn is_live(&self) -> bool {
        [RINGING, PRE_ACCEPTED, ONGOING].contains(&self.status.as_str())
    }

    /// The status `action` by `actor` leads to, or why it conflicts with the call's state.
    pub fn next_status(&self, actor: Actor, action: &str) -> Result<&'static str, String> {
        let status = self.status.as_str();
        if !self.is_live() {
            return Err(format!("call {} has already ended ({status})", self.call_id));
        }
        let user_initiated = self.direction == USER_INITIATED;
        let next = match (actor, user_initiated, action, status) {
            (Actor::Business, false, "terminate", RINGING) => Some(CANCELED),
            (Actor::Business, _, "terminate", ONGOING) => Some(COMPLETED),
            (Actor::Business, true, "pre_accept", RINGING) => Some(PRE_ACCEPTED),
            (Actor::Business, true, "accept", RINGING | PRE_ACCEPTED) => Some(ONGOING),
            (Actor::Business, true, "reject", RINGING | PRE_ACCEPTED) => Some(REJECTED),
            (Actor::Customer, false, "accept", RINGING) => Some(ONGOING),
            (Actor::Customer, false, "reject", RINGING) => Some(REJECTED),
            (Actor::Customer, false, "no_answer", RINGING) => Some(NO_ANSWER),
            (Actor::Customer, _, "terminate", ONGOING) => Some(COMPLETED),
            (Actor::Customer, true, "terminate", RINGING | PRE_ACCEPTED) => Some(CANCELED),
            _ => None,
        };
        next.ok_or_else(|| {
            let hint = match (actor, user_initiated, action) {
                (Actor::Business, false, "pre_accept" | "accept" | "reject") => {
                    " (pre_accept, accept and reject answer a call the customer placed; this \
                     call was placed by the business)"
                }
                (Actor::Business, true, "terminate") => {
                    " (a call that is not connected yet is declined with reject)"
                }
                _ => "",
            };
            format!(
                "{action} conflicts with the state of call {}: it is {status}{hint}",
                self.call_id
            )
        })
    }
}

/// Calling state of one business phone number.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneCalling {
    /// Meta's limits for this number (default: Meta's current ones).
    #[serde(default)]
    pub limits: CallingLimits,
    /// By customer key: the E.164 number when known, else the BSUID.
    pub customers: BTreeMap<String, CallCustomer>,
    /// BSUID → customer key, for customers known by both.
    pub bsuid_aliases: BTreeMap<String, String>,
    pub calls: BTreeMap<String, Call>,
    /// Call ids oldest first, to bound the log.
    pub call_order: VecDeque<String>,
}

impl PhoneCalling {
    /// The key a customer is stored under.
    pub fn customer_key(&self, phone_number: Option<&str>, bsuid: Option<&str>) -> String {
        if let Some(phone) = phone_number {
            return phone.to_string();
        }
        let bsuid = bsuid.unwrap_or_default();
        self.bsuid_aliases.get(bsuid).cloned().unwrap_or_else(|| bsuid.to_string())
    }

    /// The customer (a fresh one with no permission when never seen).
    pub fn customer(&self, key: &str) -> CallCustomer {
        self.customers.get(key).cloned().unwrap_or_else(|| {
            let is_phone = key.starts_with('+');
            CallCustomer::new(
                is_phone.then(|| key.to_string()),
                (!is_phone).then(|| key.to_string()),
            )
        })
    }

    pub fn customer_mut(&mut self, key: &str) -> &mut CallCustomer {
        if !self.customers.contains_key(key) {
            let fresh = self.customer(key);
            self.customers.insert(key.to_string(), fresh);
        }
        self.customers.get_mut(key).expect("inserted above")
    }

    /// Adds a call, dropping the oldest ended calls past the limit.
    pub fn add_call(&mut self, call: Call) {
        while self.call_order.len() >= CALL_LOG_LIMIT {
            let Some(oldest) = self.call_order.pop_front() else { break };
            self.calls.remove(&oldest);
        }
        self.call_order.push_back(call.call_id.clone());
        self.calls.insert(call.call_id.clone(), call);
    }

    /// A live call between this number and the customer, if any.
    pub fn live_call_with(&self, customer: &str) -> Option<&Call> {
        self.calls.values().find(|c| c.customer == customer && c.is_live())
    }

    /// Applies an allowed transition and its effects on the customer's permission and counters.
    pub fn apply(
        &mut self,
        call_id: &str,
        actor: Actor,
        action: &str,
        next: &str,
        now: f64,
        sdp_bytes: Option<usize>,
    ) {
        let Some(call) = self.calls.get_mut(call_id) else { return };
        let was_ringing = call.status != ONGOING;
        call.status = next.to_string();
        call.events.push(CallLogEvent {
            at: now,
            by: match actor {
                Actor::Business => "business".into(),
                Actor::Customer => "customer".into(),
            },
            action: action.to_string(),
            status: next.to_string(),
            sdp_bytes,
        });
        let business_initiated = call.direction == BUSINESS_INITIATED;
        let customer_key = call.customer.clone();
        if next == ONGOING {
            call.connected_at = Some(now);
        } else if !call.is_live() {
            call.ended_at = Some(now);
        }
        let customer = self.customer_mut(&customer_key);
        customer.prune(now);
        match next {
            ONGOING => {
                // Any connected call resets the permission-request limits.
                customer.permission_requests.clear();
                if business_initiated {
                    customer.connected_calls.push(now);
                    customer.unanswered_streak = 0;
                }
            }
            CANCELED | NO_ANSWER | REJECTED if business_initiated && was_ringing => {
                customer.unanswered_streak += 1;
                if customer.unanswered_streak >= UNANSWERED_CALLS_REVOKE {
                    customer.permission = NO_PERMISSION.into();
                    customer.expires_at = None;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(direction: &str, status: &str) -> Call {
        Call {
            call_id: "wacid.x".into(),
            phone_number_id: "phone-number-id-1".into(),
            direction: direction.into(),
            customer: "+14255550123".into(),
            profile_name: None,
            status: status.into(),
            biz_opaque_callback_data: None,
            started_at: 0.0,
            connected_at: None,
            ended_at: None,
            events: vec![],
        }
    }

    #[test]
    fn the_state_machine_allows_only_meta_transitions() {
        let b = Actor::Business;
        let c = Actor::Customer;
        let ui = |s| call(USER_INITIATED, s);
        let bi = |s| call(BUSINESS_INITIATED, s);
        assert_eq!(ui(RINGING).next_status(b, "pre_accept"), Ok(PRE_ACCEPTED));
        assert_eq!(ui(PRE_ACCEPTED).next_status(b, "accept"), Ok(ONGOING));
        assert_eq!(ui(ONGOING).next_status(b, "terminate"), Ok(COMPLETED));
        assert!(ui(ONGOING).next_status(b, "accept").is_err());
        assert!(ui(COMPLETED).next_status(b, "accept").unwrap_err().contains("already ended"));
        assert!(ui(RINGING).next_status(b, "terminate").unwrap_err().contains("reject"));
        assert!(bi(RINGING).next_status(b, "accept").is_err());
        assert_eq!(bi(RINGING).next_status(c, "accept"), Ok(ONGOING));
        assert_eq!(bi(RINGING).next_status(b, "terminate"), Ok(CANCELED));
    }

    #[test]
    fn four_unanswered_calls_revoke_the_permission() {
        let mut phone = PhoneCalling::default();
        phone.customer_mut("+14255550123").grant_temporary(0.0);
        for i in 0..4 {
            let mut c = call(BUSINESS_INITIATED, RINGING);
            c.call_id = format!("wacid.{i}");
            phone.add_call(c);
            phone.apply(&format!("wacid.{i}"), Actor::Customer, "no_answer", NO_ANSWER, 1.0, None);
        }
        assert_eq!(phone.customer("+14255550123").status(2.0), NO_PERMISSION);
    }

    #[test]
    fn limits_count_a_rolling_window() {
        let l = CallingLimits::default().permission_requests()[0];
        assert_eq!(l.usage(&[0.0, 100.0], 200.0), (2, Some(86_400.0)));
        assert_eq!(l.usage(&[0.0], 86_400.0), (0, None));
    }
}
