//! The SDK tests: the real `aws-sdk-socialmessaging` (and raw HTTP, the AWS SDKs for S3, SNS and
//! EventBridge, a headless browser) against the emulator, one module per area. One test binary,
//! so the SDK is linked once rather than once per file.

mod auth;
mod bsuid;
mod calling;
mod concurrency;
mod conformance;
mod console_api;
mod console_browser;
mod core_defects;
mod coverage;
mod datasets;
mod declared_errors;
mod deterministic;
mod eventbridge;
mod faults;
mod flows;
mod golden;
mod media;
mod messaging;
mod meta_rules;
mod model_routes;
mod phone_numbers;
mod public_key;
mod robustness;
mod signup;
mod sns;
mod state;
mod tags;
mod templates;
mod validation;
mod wabas;
