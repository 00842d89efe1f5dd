//! `eum-social-conformance`: runs the conformance scenarios against the endpoint the environment
//! names. Against a non-local endpoint it needs `--allow-real`, never runs `emulator-only`
//! scenarios, and runs `read-only` ones unless `--all` or `--tag` widens the set.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use eum_social_conformance::runner::{self, Selection, Status};
use eum_social_conformance::{Ctx, TAGS, endpoint_from_env, is_local, scenarios};

#[derive(Debug, Parser)]
#[command(
    name = "eum-social-conformance",
    about = "Conformance scenarios for AWS End User Messaging Social",
    after_help = "The endpoint, Region and credentials come from the environment only \
                  (AWS_ENDPOINT_URL_SOCIALMESSAGING or AWS_ENDPOINT_URL, AWS_REGION, the usual \
                  credential chain). Exit status: 0 all passed, 1 a scenario failed, 2 refused."
)]
struct Args {
    /// Only scenarios whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Only scenarios with this tag (repeatable: any of them). One of: read-only,
    /// needs-linked-waba, sends-messages, emulator-only.
    #[arg(long = "tag", value_parser = clap::builder::PossibleValuesParser::new(TAGS))]
    tags: Vec<String>,
    /// List the selected scenarios and their tags, run nothing.
    #[arg(long)]
    list: bool,
    /// Allow an endpoint that is not on this machine (the real service).
    #[arg(long)]
    allow_real: bool,
    /// With --allow-real, run every scenario but the emulator-only ones.
    #[arg(long)]
    all: bool,
    /// Write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Save each scenario's request/response pairs (credentials stripped) as DIR/<scenario>.json.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let endpoint = endpoint_from_env();
    let local = is_local(&endpoint);
    let selection =
        Selection { filter: args.filter.clone(), tags: args.tags.clone(), all: args.all, local };
    let planned = runner::plan(scenarios(), &selection);
    if args.list {
        for p in &planned {
            let note = p.skip.as_deref().map(|s| format!("\t(skipped: {s})")).unwrap_or_default();
            println!("{}\t{}{note}", p.scenario.name, p.scenario.tags.join(","));
        }
        return ExitCode::SUCCESS;
    }
    // Refuse before anything is sent: no client is built for a non-local endpoint without the flag.
    if !local && !args.allow_real {
        eprintln!(
            "error: the endpoint {} is not local; pass --allow-real to run against it",
            if endpoint.is_empty() {
                "(the real service)".to_string()
            } else {
                format!("{endpoint:?}")
            }
        );
        return ExitCode::from(2);
    }
    let ctx = Ctx::from_env().await;
    let report = runner::run(&ctx, planned, |r| {
        let (word, text) = match r.status {
            Status::Passed => ("PASS", r.detail.clone().unwrap_or_default()),
            Status::Failed => ("FAIL", r.error.clone().unwrap_or_default()),
            Status::Skipped => ("SKIP", r.detail.clone().unwrap_or_default()),
        };
        println!("{word} {} ({:.3}s) — {text}", r.name, r.duration);
    })
    .await;
    let t = &report.totals;
    println!("{} passed, {} failed, {} skipped", t.passed, t.failed, t.skipped);
    let mut ok = true;
    if let Some(path) = &args.json {
        ok &= write(path, &report.to_json());
    }
    if let Some(path) = &args.junit {
        ok &= write(path, &report.to_junit());
    }
    if let Some(dir) = &args.record {
        match report.write_recordings(dir) {
            Ok(n) => eprintln!("recorded {n} scenario(s) in {}", dir.display()),
            Err(e) => {
                eprintln!("error: cannot write recordings to {}: {e}", dir.display());
                ok = false;
            }
        }
    }
    if !ok {
        return ExitCode::from(2);
    }
    if report.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn write(path: &std::path::Path, text: &str) -> bool {
    match std::fs::write(path, text) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            false
        }
    }
}
