//! `eum-social`: the emulator binary. Serves the AWS API and the control API on one port and
//! prints `READY http://HOST:PORT` on stderr once the socket accepts connections.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use eum_social_emulator::{AppState, Config, Seed, serve};
use tokio::net::TcpListener;

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
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
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
    let config = Config {
        seed_path: args.seed.clone(),
        data_dir: args.data_dir.clone(),
        s3_endpoint: args.s3_endpoint.clone(),
        s3_region: args.s3_region.clone(),
        s3_access_key_id: args.s3_access_key_id.clone(),
        s3_secret_access_key: args.s3_secret_access_key.clone(),
        allow_any_presigned_url: args.allow_any_presigned_url,
        ..Config::default()
    };
    let state = AppState::new(config, seed);

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
    tracing::info!(%addr, account = %state.config.default_account, region = %state.config.default_region, s3 = %state.s3.describe(), "serving");
    eprintln!("READY http://{addr}");
    match serve(listener, state, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
