//! `eum-social-conformance`: runs the conformance scenarios against the endpoint the environment
//! names. Against a non-local endpoint it needs `--allow-real` and runs read-only scenarios only
//! unless `--all` is given.

use std::process::ExitCode;

use clap::Parser;
use eum_social_conformance::scenarios;

#[derive(Debug, Parser)]
#[command(
    name = "eum-social-conformance",
    about = "Conformance scenarios for AWS End User Messaging Social"
)]
struct Args {
    /// Only scenarios whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// List the scenarios and their tags, run nothing.
    #[arg(long)]
    list: bool,
    /// Allow an endpoint that is not on this machine (the real service).
    #[arg(long)]
    allow_real: bool,
    /// With --allow-real, also run scenarios that are not read-only.
    #[arg(long)]
    all: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut selected: Vec<_> = scenarios()
        .into_iter()
        .filter(|s| args.filter.as_deref().is_none_or(|f| s.name.contains(f)))
        .collect();
    if args.list {
        for s in &selected {
            println!("{}\t{}", s.name, s.tags.join(","));
        }
        return ExitCode::SUCCESS;
    }
    let config = aws_config::load_from_env().await;
    let endpoint = std::env::var("AWS_ENDPOINT_URL_SOCIALMESSAGING")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .unwrap_or_default();
    let local =
        ["http://127.", "http://localhost", "http://[::1]"].iter().any(|p| endpoint.starts_with(p));
    if !local {
        if !args.allow_real {
            eprintln!(
                "error: the endpoint {:?} is not local; pass --allow-real to run against it",
                if endpoint.is_empty() { "(the real service)" } else { &endpoint }
            );
            return ExitCode::from(2);
        }
        if !args.all {
            selected.retain(|s| s.tags.contains(&"read-only"));
        }
    }
    let client = aws_sdk_socialmessaging::Client::new(&config);
    let (mut passed, mut failed) = (0, 0);
    for s in &selected {
        match (s.run)(&client).await {
            Ok(detail) => {
                passed += 1;
                println!("PASS {} — {detail}", s.name);
            }
            Err(why) => {
                failed += 1;
                println!("FAIL {} — {why}", s.name);
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
