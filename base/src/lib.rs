//! The base layer of the `eum-social` emulator: what every layer above may use and what looks at
//! nothing above it (a separate crate, so the compiler refuses an upward import).
//!
//! - [`clock`]: the virtual clock and time formats.
//! - [`error`]: the one [`error::ApiError`] and its restJson1 wire form.
//! - [`json`]: JSON kept serialized ([`json::RawJson`]).
//! - [`locks`]: lock waits, counted.
//! - [`model`]: the service model facts (embedded from `fixtures/model/`), input validation and
//!   [`model::Operation`].
//! - [`reqlog`]: the request log (recent AWS API requests and their answers).
//! - [`scheduler`]: timers on the virtual clock, a queue (what a job does is the app layer's).

pub mod clock;
pub mod error;
pub mod json;
pub mod locks;
pub mod model;
pub mod reqlog;
pub mod scheduler;
