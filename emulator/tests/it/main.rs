//! The emulator's own integration tests, one test binary: the `eum-social` binary (READY line,
//! flags, signals, auth), the HTTP limits (timeouts, connection limit, draining) and persistence
//! (`--state-dir`, `kill -9`), and the layering of the sources.

mod binary;
mod binary_auth;
mod common;
mod layers;
mod limits;
mod limits_flags;
mod persistence;
