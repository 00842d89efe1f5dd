//! `eum-social-bench`: benchmarks of the `eum-social` emulator binary against a bare hyper server
//! answering a fixed small JSON body, both driven with the same load from a second process.
//! Run on demand (never as a timed test):
//!
//! ```sh
//! cargo build --release -p eum-social-emulator -p eum-social-bench && target/release/eum-social-bench
//! ```
//!
//! # Layout
//! - `run`: the whole benchmark (default command): starts the processes, measures, writes reports
//! - `bare`: the baseline server (`eum-social-bench bare --port 0`)
//! - `load`: the load generator (`eum-social-bench load …`), one keep-alive connection per worker
//! - `report`: the report, the targets and their verdicts, the text and Markdown tables

mod bare;
mod load;
mod report;
mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "eum-social-bench",
    about = "Benchmarks the eum-social emulator against a bare hyper server",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: run::RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The baseline: a bare hyper server answering every request with a fixed small JSON body.
    Bare {
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// The load generator: drives one URL and prints its result as JSON on stdout.
    Load(load::LoadArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Bare { port }) => runtime().block_on(bare::serve(port)),
        Some(Command::Load(args)) => match runtime().block_on(load::run(args)) {
            Ok(result) => {
                println!("{}", serde_json::to_string(&result).expect("a result serializes"));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        None => match run::run(cli.run) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// The same runtime as the emulator's `#[tokio::main]`: multi-threaded, one worker per core.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime")
}
