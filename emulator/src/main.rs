//! `eum-social`: the emulator binary. Serves the AWS API and the control API on one port and
//! prints `READY http://HOST:PORT` on stderr once the socket accepts connections. Subcommands
//! (`inbound`, `clock`, `events`) are a small client of a running emulator's control API.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use eum_social_emulator::{AppState, Config, Seed, serve};
use tokio::net::TcpListener;

/// jemalloc instead of glibc malloc: the request path allocates a lot (JSON trees), and glibc's
/// arenas spend a quarter of the CPU of a loaded emulator.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Debug, Parser)]
#[command(
    name = "eum-social",
    version,
    about = "Local emulator of AWS End User Messaging Social (WhatsApp)"
)]
struct Args {
    /// Address to bind (loopback by default).
    #[arg(long, default_value = "127.0.0.1", env = "EUM_SOCIAL_HOST")]
    host: String,
    /// Port to bind; 0 picks any free port (read it from the READY line).
    #[arg(long, default_value_t = 4590, env = "EUM_SOCIAL_PORT")]
    port: u16,
    /// Log level or filter (error, warn, info, debug, trace, or a tracing filter).
    #[arg(long, default_value = "info", env = "EUM_SOCIAL_LOG")]
    log: String,
    /// Seed file (JSON, see fixtures/schemas/seed.schema.json); default: the built-in seed.
    #[arg(long, env = "EUM_SOCIAL_SEED")]
    seed: Option<PathBuf>,
    /// Virtual delays of the sent, delivered and read statuses after a message is accepted, in
    /// milliseconds: SENT,DELIVERED,READ.
    #[arg(long, default_value = "200,700,2000", env = "EUM_SOCIAL_STATUS_DELAYS", value_parser = parse_delays)]
    status_delays: eum_social_emulator::meta::outbound::StatusDelays,
    /// Subscribes an HTTP(S) endpoint to an SNS topic at start: TOPIC_ARN=URL (repeatable). The
    /// endpoint gets a SubscriptionConfirmation first, as from SNS.
    #[arg(long = "sns-subscribe", value_name = "TOPIC_ARN=URL")]
    sns_subscribe: Vec<String>,
    /// Also publish every event to its destination topic on this SNS endpoint (e.g. LocalStack's
    /// http://localhost:4566), with credentials from the usual AWS chain.
    #[arg(long, env = "EUM_SOCIAL_SNS_ENDPOINT")]
    sns_endpoint: Option<String>,
    /// Also put every EventBridge event (message statuses, inbound messages) on the default bus of
    /// this EventBridge endpoint (e.g. LocalStack's http://localhost:4566) with PutEvents,
    /// credentials from the usual AWS chain.
    #[arg(long, env = "EUM_SOCIAL_EVENTBRIDGE_ENDPOINT")]
    eventbridge_endpoint: Option<String>,
    /// Raw message delivery for the --sns-subscribe subscriptions.
    #[arg(long)]
    sns_raw: bool,
    /// Virtual milliseconds from a template's creation or edit to Meta's review decision.
    #[arg(long, default_value_t = 5_000, env = "EUM_SOCIAL_TEMPLATE_REVIEW_DELAY_MS")]
    template_review_delay_ms: i64,
    /// Events kept in the in-memory event log.
    #[arg(long, default_value_t = 10_000)]
    event_log_capacity: usize,
    /// Outbound and inbound messages kept per account and Region.
    #[arg(long, default_value_t = 10_000)]
    message_log_capacity: usize,
    /// Directory of the embedded S3 store (`DIR/<bucket>/<key>`) and of media files; default: a
    /// temporary directory removed on exit.
    #[arg(long, env = "EUM_SOCIAL_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// A real S3-compatible endpoint (LocalStack, MinIO, AWS) instead of the embedded store;
    /// path-style; credentials from the usual AWS chain unless given below.
    #[arg(long, env = "EUM_SOCIAL_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// Region for --s3-endpoint (default: the AWS chain's, else us-east-1).
    #[arg(long, env = "EUM_SOCIAL_S3_REGION")]
    s3_region: Option<String>,
    /// Access key id for --s3-endpoint (with --s3-secret-access-key).
    #[arg(long, env = "EUM_SOCIAL_S3_ACCESS_KEY_ID", requires = "s3_secret_access_key")]
    s3_access_key_id: Option<String>,
    /// Secret access key for --s3-endpoint.
    #[arg(long, env = "EUM_SOCIAL_S3_SECRET_ACCESS_KEY", requires = "s3_access_key_id")]
    s3_secret_access_key: Option<String>,
    /// Accept any http(s) URL as a presigned URL (the model admits only
    /// https://…s3….amazonaws.com/…), e.g. a local S3 server's.
    #[arg(long, env = "EUM_SOCIAL_ALLOW_ANY_PRESIGNED_URL")]
    allow_any_presigned_url: bool,
    /// Verify the SigV4 signature of every AWS API request against --credentials; the signing
    /// key's account becomes the request's account.
    #[arg(long, env = "EUM_SOCIAL_VERIFY_SIGV4")]
    verify_sigv4: bool,
    /// Credentials file for --verify-sigv4: JSON `{"AKID": {"secretAccessKey": "…",
    /// "accountId": "123456789012"}}` or the INI form of ~/.aws/credentials with
    /// `aws_account_id`.
    #[arg(long, env = "EUM_SOCIAL_CREDENTIALS")]
    credentials: Option<PathBuf>,
    /// Token the control API (/_emulator/...) requires, as `Authorization: Bearer TOKEN` or
    /// `x-emulator-token: TOKEN` (health and SNS subscriber links stay open). Required when
    /// --host is not a loopback address. The subcommands send it too.
    #[arg(long, env = "EUM_SOCIAL_CONTROL_TOKEN", global = true, hide_env_values = true)]
    control_token: Option<String>,
    /// Serve the web console's files from this directory, read at every request (for working
    /// on the console), instead of the copies built into the binary.
    #[arg(long, env = "EUM_SOCIAL_CONSOLE_DIR")]
    console_dir: Option<PathBuf>,
    /// Connections served at once; further ones wait until one closes.
    #[arg(long, default_value_t = 1024, env = "EUM_SOCIAL_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Milliseconds from a request's first byte to the end of its headers before the connection
    /// is closed (slow or stalled clients).
    #[arg(long, default_value_t = 10_000, env = "EUM_SOCIAL_HEADER_TIMEOUT_MS", value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_ms: u64,
    /// Longest pause in milliseconds while a request body is read (then 408 and close).
    #[arg(long, default_value_t = 30_000, env = "EUM_SOCIAL_BODY_TIMEOUT_MS", value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout_ms: u64,
    /// Milliseconds a keep-alive connection may stay without a request before it is closed.
    #[arg(long, default_value_t = 60_000, env = "EUM_SOCIAL_IDLE_TIMEOUT_MS", value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_ms: u64,
    /// AWS API rate limits per account, Region and operation: `real` (the documented figures),
    /// `off`, or a JSON file of operation → {"rate": per second, "burst": n}.
    #[arg(long, default_value = "real", env = "EUM_SOCIAL_QUOTAS", value_name = "off|real|FILE")]
    quotas: String,
    /// Fault rules in force from the start: a JSON list of rules as POST /_emulator/faults takes.
    #[arg(long, env = "EUM_SOCIAL_FAULTS", value_name = "FILE")]
    faults: Option<PathBuf>,
    /// Seed of the RNG of probabilistic fault rules, for reproducible runs.
    #[arg(long, env = "EUM_SOCIAL_SEED_RNG", value_name = "N")]
    seed_rng: Option<u64>,
    /// Requests kept in the request log (GET /_emulator/requests).
    #[arg(long, default_value_t = 1_000)]
    request_log_capacity: usize,
    /// Print one line per AWS API request on stdout.
    #[arg(long, env = "EUM_SOCIAL_LOG_REQUESTS")]
    log_requests: bool,
    /// Keep the whole state in SQLite in DIR (written before each response; loaded at start,
    /// with pending timers and SNS deliveries). Files go to DIR/files unless --data-dir is given.
    #[arg(long, env = "EUM_SOCIAL_STATE_DIR")]
    state_dir: Option<PathBuf>,
    /// Deterministic mode: ids from a seeded generator, the clock frozen at --clock-start
    /// (default 2026-01-01T00:00:00Z), a fixed SNS signing key: two runs of the same script
    /// give byte-identical responses and events.
    #[arg(long, env = "EUM_SOCIAL_DETERMINISTIC")]
    deterministic: bool,
    /// Seed of the deterministic id generator.
    #[arg(long, default_value_t = 0, env = "EUM_SOCIAL_DETERMINISTIC_SEED")]
    deterministic_seed: u64,
    /// Where the virtual clock starts (RFC 3339, e.g. 2026-01-01T00:00:00Z).
    #[arg(long, env = "EUM_SOCIAL_CLOCK_START", value_parser = parse_instant)]
    clock_start: Option<i64>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Epoch milliseconds of an RFC 3339 instant.
fn parse_instant(s: &str) -> Result<i64, String> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{s:?} is not an RFC 3339 instant: {e}"))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|e| e.to_string())
}

fn parse_delays(s: &str) -> Result<eum_social_emulator::meta::outbound::StatusDelays, String> {
    let parts: Vec<i64> = s
        .split(',')
        .map(|p| p.trim().parse::<i64>().map_err(|_| format!("{p:?} is not a number of ms")))
        .collect::<Result<_, _>>()?;
    match parts[..] {
        [sent, delivered, read] if 0 <= sent && sent <= delivered && delivered <= read => {
            Ok(eum_social_emulator::meta::outbound::StatusDelays {
                sent_ms: sent,
                delivered_ms: delivered,
                read_ms: read,
            })
        }
        _ => Err("expected SENT,DELIVERED,READ in ms, non-decreasing, e.g. 200,700,2000".into()),
    }
}

/// Control API client commands (against a running emulator).
#[derive(Debug, Subcommand)]
enum Command {
    /// A customer sends a message to a business phone number.
    Inbound {
        /// The emulator's URL.
        #[arg(long, default_value = "http://127.0.0.1:4590", env = "EUM_SOCIAL_URL")]
        url: String,
        /// Business number: phone-number-id-…, its ARN, or its Meta phone number id.
        #[arg(long)]
        phone_number_id: String,
        /// The customer's WhatsApp number.
        #[arg(long)]
        from: String,
        /// The customer's profile name.
        #[arg(long)]
        name: Option<String>,
        /// A text message.
        #[arg(long, conflicts_with = "json")]
        text: Option<String>,
        /// Any inbound message in Meta's form, e.g. '{"type":"location","location":{…}}'.
        #[arg(long)]
        json: Option<String>,
    },
    /// Reads or moves the virtual clock.
    Clock {
        #[arg(long, default_value = "http://127.0.0.1:4590", env = "EUM_SOCIAL_URL")]
        url: String,
        /// Seconds to advance (timers that fall due run in order).
        #[arg(long)]
        advance: Option<f64>,
        /// Freeze (true) or unfreeze (false) the clock.
        #[arg(long)]
        freeze: Option<bool>,
    },
    /// Lists events from the event log (filters as in GET /_emulator/events).
    Events {
        #[arg(long, default_value = "http://127.0.0.1:4590", env = "EUM_SOCIAL_URL")]
        url: String,
        /// Query string, e.g. "kind=status&status=failed".
        #[arg(long, default_value = "")]
        query: String,
    },
}

/// Runs a control API client command; prints the JSON answer.
async fn control_command(command: Command, token: Option<String>) -> ExitCode {
    let http = reqwest::Client::new();
    let request = match command {
        Command::Inbound { url, phone_number_id, from, name, text, json } => {
            let mut body = match json.as_deref().map(serde_json::from_str::<serde_json::Value>) {
                Some(Ok(v @ serde_json::Value::Object(_))) => v,
                Some(_) => {
                    eprintln!("error: --json must be a JSON object");
                    return ExitCode::from(2);
                }
                None => serde_json::json!({ "text": text.unwrap_or_default() }),
            };
            body["phoneNumberId"] = phone_number_id.into();
            body["from"] = from.into();
            if let Some(name) = name {
                body["profileName"] = name.into();
            }
            http.post(format!("{url}/_emulator/inbound")).json(&body)
        }
        Command::Clock { url, advance, freeze } => match (advance, freeze) {
            (Some(seconds), _) => http
                .post(format!("{url}/_emulator/clock/advance"))
                .json(&serde_json::json!({ "seconds": seconds })),
            (None, Some(frozen)) => http
                .post(format!("{url}/_emulator/clock"))
                .json(&serde_json::json!({ "frozen": frozen })),
            (None, None) => http.get(format!("{url}/_emulator/clock")),
        },
        Command::Events { url, query } => http.get(format!("{url}/_emulator/events?{query}")),
    };
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    match request.send().await {
        Ok(res) => {
            let ok = res.status().is_success();
            let text = res.text().await.unwrap_or_default();
            // A closed stdout (`eum-social events | head`) is not an error worth a panic.
            use std::io::Write;
            let _ = writeln!(std::io::stdout(), "{text}");
            if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(command) = args.command {
        return control_command(command, args.control_token).await;
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();

    let seed = match &args.seed {
        Some(path) => match Seed::load(path) {
            Ok(seed) => seed,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => Seed::default_seed(),
    };
    let control_token = args.control_token.clone().filter(|t| !t.is_empty());
    if control_token.is_none() {
        match is_loopback(&args.host, args.port).await {
            Ok(true) => {}
            Ok(false) => {
                eprintln!(
                    "error: --host {} is not a loopback address: anyone who reaches it could \
                     drive the control API; give a token with --control-token TOKEN (or \
                     EUM_SOCIAL_CONTROL_TOKEN)",
                    args.host
                );
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("error: cannot resolve --host {}: {e}", args.host);
                return ExitCode::from(1);
            }
        }
    }
    let sigv4_credentials = match (&args.credentials, args.verify_sigv4) {
        (Some(path), true) => match eum_social_emulator::auth::Credentials::load(path) {
            Ok(c) => Some(std::sync::Arc::new(c)),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        (None, true) => {
            eprintln!("error: --verify-sigv4 needs --credentials FILE (or EUM_SOCIAL_CREDENTIALS)");
            return ExitCode::from(2);
        }
        (Some(_), false) => {
            eprintln!("error: --credentials is only read with --verify-sigv4");
            return ExitCode::from(2);
        }
        (None, false) => None,
    };
    let listener = match TcpListener::bind((args.host.as_str(), args.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot bind {}:{}: {e}", args.host, args.port);
            return ExitCode::from(1);
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let subscriptions = match args
        .sns_subscribe
        .iter()
        .map(|s| {
            s.split_once('=')
                .ok_or_else(|| format!("--sns-subscribe {s:?}: expected TOPIC_ARN=URL"))
        })
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(list) => list,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let quotas = match eum_social_emulator::limits::quotas::QuotaSettings::from_arg(&args.quotas) {
        Ok(q) => q,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let faults = match &args.faults {
        Some(path) => match eum_social_emulator::limits::faults::load_file(&path.to_string_lossy())
        {
            Ok(rules) => rules,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => Vec::new(),
    };
    let config = Config {
        seed_path: args.seed.clone(),
        public_url: Some(format!("http://{addr}")),
        status_delays: args.status_delays,
        event_log_capacity: args.event_log_capacity,
        message_log_capacity: args.message_log_capacity,
        sns_endpoint: args.sns_endpoint.clone(),
        eventbridge_endpoint: args.eventbridge_endpoint.clone(),
        template_review_delay_ms: args.template_review_delay_ms.max(0),
        data_dir: args.data_dir.clone(),
        s3_endpoint: args.s3_endpoint.clone(),
        s3_region: args.s3_region.clone(),
        s3_access_key_id: args.s3_access_key_id.clone(),
        s3_secret_access_key: args.s3_secret_access_key.clone(),
        allow_any_presigned_url: args.allow_any_presigned_url,
        sigv4_credentials,
        control_token,
        console_dir: args.console_dir.clone(),
        max_connections: args.max_connections as usize,
        header_timeout_ms: args.header_timeout_ms,
        body_timeout_ms: args.body_timeout_ms,
        idle_timeout_ms: args.idle_timeout_ms,
        quotas,
        faults,
        seed_rng: args.seed_rng,
        request_log_capacity: args.request_log_capacity,
        log_requests: args.log_requests,
        state_dir: args.state_dir.clone(),
        deterministic_seed: args.deterministic.then_some(args.deterministic_seed),
        clock_start_ms: args.clock_start,
        ..Config::default()
    };
    let state = match AppState::open(config, seed) {
        Ok(state) => state,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(%addr, account = %state.config.default_account, region = %state.config.default_region, s3 = %state.s3.describe(), "serving");
    if let Some(creds) = &state.config.sigv4_credentials {
        tracing::info!(access_keys = creds.len(), "SigV4 signatures are verified");
    }
    if state.config.control_token.is_some() {
        tracing::info!("the control API requires the control token");
    }
    for (topic, endpoint) in subscriptions {
        let (state, raw) = (state.clone(), args.sns_raw);
        let request = eum_social_emulator::events::sns::SubscribeRequest {
            topic_arn: topic.to_string(),
            endpoint: endpoint.to_string(),
            raw_message_delivery: raw,
            signature_version: None,
        };
        tokio::spawn(async move {
            match eum_social_emulator::events::sns::subscribe(&state.bus, request).await {
                Ok((sub, None)) => {
                    tracing::info!(arn = %sub.subscription_arn, "SNS subscription pending confirmation")
                }
                Ok((sub, Some(problem))) => {
                    tracing::warn!(arn = %sub.subscription_arn, %problem, "SubscriptionConfirmation not delivered")
                }
                Err(e) => tracing::error!(%e, "--sns-subscribe refused"),
            }
        });
    }
    let shutdown = shutdown_signal();
    eprintln!("Console: http://{addr}/_emulator/ui/");
    eprintln!("READY http://{addr}");
    match serve(listener, state, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Whether every address `host` names is a loopback address (checked before binding).
async fn is_loopback(host: &str, port: u16) -> std::io::Result<bool> {
    let addrs: Vec<_> = tokio::net::lookup_host((host, port)).await?.collect();
    Ok(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()))
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when it is called, before READY is
/// printed: a signal sent right after READY stops the server gracefully (instead of the default
/// action killing the process before the future is first polled).
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok())
    };
    async move {
        #[cfg(unix)]
        {
            async fn recv(signal: Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            let (term, interrupt) = signals;
            tokio::select! {
                _ = recv(term) => {},
                _ = recv(interrupt) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down");
    }
}
