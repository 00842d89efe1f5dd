//! Run-time settings of one emulator instance.

use std::path::PathBuf;

/// Settings shared by every request (cheap to read, set at start).
#[derive(Debug, Clone)]
pub struct Config {
    /// Account for requests whose access key id is not a 12-digit account id.
    pub default_account: String,
    /// Region for requests without a SigV4 credential scope.
    pub default_region: String,
    /// Largest request body accepted (the largest blob, a 10 MiB flow JSON, is ~14 MB in base64).
    pub max_body_bytes: usize,
    /// Linked WhatsApp Business Accounts per account and region (AWS quota: 25).
    pub waba_limit: usize,
    /// Tags per resource (AWS: 50).
    pub tag_limit: usize,
    /// The seed file in use (None: the embedded default seed).
    pub seed_path: Option<PathBuf>,
    /// The emulator's own base URL (`http://127.0.0.1:4590`), for SNS `SubscribeURL` and
    /// `SigningCertURL`; set once the socket is bound.
    pub public_url: Option<String>,
    /// Virtual delays of message statuses after acceptance.
    pub status_delays: crate::meta::outbound::StatusDelays,
    /// Events kept in the in-memory event log.
    pub event_log_capacity: usize,
    /// Outbound (and inbound) messages kept per account and Region.
    pub message_log_capacity: usize,
    /// Virtual time from a template's creation or edit to Meta's review decision.
    pub template_review_delay_ms: i64,
    /// SNS deliveries kept (undelivered ones are kept first).
    pub delivery_log_capacity: usize,
    /// A real SNS (or SNS-compatible, e.g. LocalStack) endpoint: events are also published to
    /// their destination topic there with `aws-sdk-sns` (credentials from the usual AWS chain).
    pub sns_endpoint: Option<String>,
    /// Fixed (access key id, secret) for the SNS endpoint instead of the AWS chain (embedders
    /// and tests).
    pub sns_credentials: Option<(String, String)>,
    /// An EventBridge (or EventBridge-compatible, e.g. LocalStack) endpoint: every EventBridge
    /// event (statuses, inbound messages) is also put on its default bus with
    /// `aws-sdk-eventbridge` PutEvents (credentials from the usual AWS chain).
    pub eventbridge_endpoint: Option<String>,
    /// Fixed (access key id, secret) for the EventBridge endpoint instead of the AWS chain.
    pub eventbridge_credentials: Option<(String, String)>,
    /// The embedded S3 store (`<dir>/<bucket>/<key>`) and WhatsApp's media copies; a temporary
    /// directory when None.
    pub data_dir: Option<PathBuf>,
    /// A real S3-compatible endpoint (path-style) instead of the embedded store.
    pub s3_endpoint: Option<String>,
    /// Region for `s3_endpoint` (None: the AWS chain's, else us-east-1).
    pub s3_region: Option<String>,
    /// Credentials for `s3_endpoint` (None: the usual AWS credential chain).
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    /// Accept any http(s) URL as a presigned URL, not only `https://…s3….amazonaws.com/…`.
    pub allow_any_presigned_url: bool,
    /// `--verify-sigv4`: every AWS API request must be signed by a key of these credentials,
    /// whose account it then addresses. None: signatures are not checked.
    pub sigv4_credentials: Option<std::sync::Arc<crate::auth::Credentials>>,
    /// `--control-token`: the control API (but its open paths) requires this token.
    pub control_token: Option<String>,
    /// `--console-dir`: serve the web console's files from this directory, read at every request
    /// (console development), instead of the copies built into the binary.
    pub console_dir: Option<PathBuf>,
    /// Connections served at once; more wait until one closes.
    pub max_connections: usize,
    /// From a request's first byte to the end of its headers, else the connection is closed.
    pub header_timeout_ms: u64,
    /// The longest pause while a request body is read (then 408 and the connection closed).
    pub body_timeout_ms: u64,
    /// A keep-alive connection without a request is closed after this.
    pub idle_timeout_ms: u64,
    /// AWS API rate limits (`--quotas`): on with the real figures by default.
    pub quotas: crate::limits::quotas::QuotaSettings,
    /// Fault rules in force at start (`--faults FILE`).
    pub faults: Vec<crate::limits::faults::RuleSpec>,
    /// Seed of the RNG of probabilistic fault rules (`--seed-rng`); random when None.
    pub seed_rng: Option<u64>,
    /// Requests kept in the request log.
    pub request_log_capacity: usize,
    /// Print one line per AWS API request on stdout (`--log-requests`).
    pub log_requests: bool,
    /// Keep the whole state in SQLite in this directory (None: in memory only).
    pub state_dir: Option<PathBuf>,
    /// Deterministic mode: ids from a generator seeded with this, the clock frozen at start,
    /// a fixed SNS signing key.
    pub deterministic_seed: Option<u64>,
    /// Where the virtual clock starts (epoch ms; deterministic mode default:
    /// [`DETERMINISTIC_CLOCK_START_MS`]).
    pub clock_start_ms: Option<i64>,
}

/// 2026-01-01T00:00:00Z, where a deterministic run's clock starts unless told otherwise.
pub const DETERMINISTIC_CLOCK_START_MS: i64 = 1_767_225_600_000;

impl Config {
    /// The customer's S3 as the `s3` runtime takes it.
    pub fn s3_settings(&self) -> crate::s3::S3Settings {
        crate::s3::S3Settings {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone(),
        }
    }

    /// The accept loop's limits.
    pub fn server_limits(&self) -> crate::server::Limits {
        crate::server::Limits::new(
            self.max_connections,
            self.header_timeout_ms,
            self.body_timeout_ms,
            self.idle_timeout_ms,
        )
    }

    /// The event bus's settings.
    pub fn event_settings(&self) -> crate::events::EventSettings {
        crate::events::EventSettings {
            public_url: self.public_url.clone(),
            sns_endpoint: self.sns_endpoint.clone(),
            sns_credentials: self.sns_credentials.clone(),
            eventbridge_endpoint: self.eventbridge_endpoint.clone(),
            eventbridge_credentials: self.eventbridge_credentials.clone(),
            log_capacity: self.event_log_capacity,
            delivery_capacity: self.delivery_log_capacity,
            deterministic: self.deterministic_seed.is_some(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            default_account: "809904170947".into(),
            default_region: "us-east-1".into(),
            max_body_bytes: 16 * 1024 * 1024,
            waba_limit: 25,
            tag_limit: 50,
            seed_path: None,
            public_url: None,
            status_delays: Default::default(),
            event_log_capacity: 10_000,
            message_log_capacity: 10_000,
            delivery_log_capacity: 10_000,
            template_review_delay_ms: 5_000,
            sns_endpoint: None,
            sns_credentials: None,
            eventbridge_endpoint: None,
            eventbridge_credentials: None,
            data_dir: None,
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            allow_any_presigned_url: false,
            sigv4_credentials: None,
            control_token: None,
            console_dir: None,
            max_connections: 1024,
            header_timeout_ms: 10_000,
            body_timeout_ms: 30_000,
            idle_timeout_ms: 60_000,
            quotas: Default::default(),
            faults: Vec::new(),
            seed_rng: None,
            request_log_capacity: 1_000,
            log_requests: false,
            state_dir: None,
            deterministic_seed: None,
            clock_start_ms: None,
        }
    }
}
