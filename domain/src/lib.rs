//! The domain layer of the `eum-social` emulator: the state and WhatsApp's rules over it, looking
//! only at the base (a crate of its own, so the compiler refuses an import of the runtime, the
//! adapters or the app).
//!
//! - [`state`]: the store keyed by (account, Region), WABAs, numbers, templates (with their
//!   status), flows, calls, media metadata, ids and ARNs, the seed.
//! - [`meta`]: the WhatsApp side: message rules, sending, statuses, windows, limits, inbound,
//!   flow messages, media rules, template rules, the template lifecycle, authentication (OTP)
//!   templates, BSUIDs, portfolios. Transitions take a partition and return their effects
//!   ([`meta::effects`]: event drafts; timers as scheduler jobs).
//!
//! The base's modules are re-exported, so that paths read `crate::clock`, `crate::error`, … here
//! as in the emulator.

pub use eum_social_base::{clock, error, json, locks, model, reqlog, scheduler};

pub mod meta;
pub mod state;
