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
//! - `console`: a simulated web console (`eum-social-bench console …`): the live stream and the
//!   refetches it triggers, as a browser tab on the chats page does
//! - `report`: the report, the targets and their verdicts, the text and Markdown tables

mod bare;
mod console;
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
    /// A simulated web console: reads the live stream and refetches a number's chats page on
    /// each message until `--duration-ms` or stdin closes, then prints its counts as JSON.
    Console(console::ConsoleArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Bare { port }) => runtime().block_on(bare::serve(port)),
        Some(Command::Load(args)) => print_json(runtime().block_on(load::run(args))),
        // One thread, as a browser tab's script: the console takes little CPU from the server.
        Some(Command::Console(args)) => print_json(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime")
                .block_on(console::run(args)),
        ),
        None => match run::run(cli.run) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Prints a subcommand's result as one line of JSON on stdout (the runner reads it).
fn print_json<T: serde::Serialize>(result: Result<T, String>) -> ExitCode {
    match result {
        Ok(result) => {
            println!("{}", serde_json::to_string(&result).expect("a result serializes"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The same runtime as the emulator's `#[tokio::main]`: multi-threaded, one worker per core.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime")
}
