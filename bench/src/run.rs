//! The whole benchmark: start-to-READY times, then the emulator (with a bench seed) and the bare
//! server side by side under the same loads, then the emulator's sends without and with simulated
//! web consoles connected, then the sends whose memory footprint is measured.
//! Writes `OUT/benchmarks.json` and `OUT/BENCHMARKS.md` and prints a table.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::console::ConsoleResult;
use crate::load::{LoadResult, LockWaits, RequestKind};
use crate::report::{
    self, Comparison, ConsoleCell, ConsoleRound, Machine, Memory, Report, Settings, Summary,
};

const BUILD: &str = "cargo build --release -p eum-social-emulator -p eum-social-bench";
const DEFAULT_SEED: &str = include_str!("../../fixtures/seed/default.json");
const ACCOUNT: &str = "809904170947";
/// The bench's WABA lives in its own Region so that the seeded ones (listed and read by the
/// List/Get loads) stay exactly as in the default seed.
const BENCH_REGION: &str = "us-west-2";
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Virtual time equals wall time unless moved: after this, every status of a send has fired.
const STATUSES_SETTLE: Duration = Duration::from_secs(3);
/// Web consoles connected in the consoles' cell (a requirement: two consoles cost the sends at
/// most 5%), and the concurrency of its sends.
const CONSOLES: usize = 2;
const CONSOLES_CONCURRENCY: usize = 64;
/// A console stops when its stdin closes (the runner closes it when the load ends); this cap
/// beyond the load only ends one whose runner hangs.
const CONSOLE_CAP_MS: u64 = 60_000;

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The emulator binary; default: `eum-social` next to this executable.
    #[arg(long)]
    emulator: Option<PathBuf>,
    /// Extra emulator arguments, split on whitespace (repeatable; `--emulator-arg=` for none). If
    /// the emulator refuses one as unknown, the run goes on without them and says so.
    #[arg(long = "emulator-arg", allow_hyphen_values = true, default_value = "--quotas off")]
    emulator_arg: Vec<String>,
    /// Milliseconds of load per operation, concurrency and server.
    #[arg(long, default_value_t = 2_000)]
    duration_ms: u64,
    /// Rounds per operation and concurrency, each running the bare server then the emulator;
    /// the report shows the round with the median throughput ratio (a noisy neighbour moves
    /// single rounds, not the median).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=99))]
    rounds: u64,
    /// Concurrency levels (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// SendWhatsAppMessage calls before the memory is measured (concurrency 64).
    #[arg(long, default_value_t = 1_000_000)]
    sends: u64,
    /// Starts of the emulator whose start-to-READY time is measured.
    #[arg(long, default_value_t = 20)]
    starts: usize,
    /// Untimed starts before those (an idle machine's first starts measure its wake-up).
    #[arg(long, default_value_t = 5)]
    warmup_starts: usize,
    /// Phone numbers of the bench WABA the sends use round-robin (Meta caps each number at 1,000
    /// messages per second).
    #[arg(long, default_value_t = 64)]
    phones: usize,
    /// Recipient of the sends; a customer service window is opened for it on every number first.
    #[arg(long, default_value = "+14255550123")]
    recipient: String,
    /// The emulator's `--event-log-capacity` for the loads and sends.
    #[arg(long, default_value_t = 10_000)]
    event_log_capacity: usize,
    /// The emulator's `--message-log-capacity` for the loads and sends.
    #[arg(long, default_value_t = 10_000)]
    message_log_capacity: usize,
    /// Directory of benchmarks.json and BENCHMARKS.md.
    #[arg(long, default_value = "docs")]
    out: PathBuf,
}

pub fn run(args: RunArgs) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let emulator = args.emulator.clone().unwrap_or_else(|| me.with_file_name("eum-social"));
    if !emulator.is_file() {
        return Err(format!(
            "no emulator binary at {}: build it with `{BUILD}` (or give --emulator PATH)",
            emulator.display()
        ));
    }
    let mut ctx = Ctx {
        me,
        emulator,
        extra: args
            .emulator_arg
            .iter()
            .flat_map(|a| a.split_whitespace())
            .map(String::from)
            .collect(),
        notes: Vec::new(),
    };
    let mut report = Report {
        machine: machine(),
        settings: Settings {
            duration_ms: args.duration_ms,
            rounds: args.rounds as usize,
            concurrency: args.concurrency.clone(),
            sends: args.sends,
            starts: args.starts,
            warmup_starts: args.warmup_starts,
            ..Default::default()
        },
        ..Default::default()
    };

    eprintln!("start to READY, {} starts after {} untimed …", args.starts, args.warmup_starts);
    // A machine (or VM) that sat idle wakes its CPUs slowly and has the binary out of cache:
    // the first starts measure that, not the emulator.
    for _ in 0..args.warmup_starts {
        ctx.start_emulator(&[])?;
    }
    let mut ready = Vec::new();
    for _ in 0..args.starts {
        let (_server, took) = ctx.start_emulator(&[])?;
        ready.push(took.as_secs_f64() * 1000.0);
    }
    report.ready_ms = Summary::of(&ready);

    let seed =
        std::env::temp_dir().join(format!("eum-social-bench-seed-{}.json", std::process::id()));
    let phones = bench_phones(args.phones.max(1));
    std::fs::write(&seed, bench_seed(&phones).to_string())
        .map_err(|e| format!("{}: {e}", seed.display()))?;
    let capacities = [
        "--event-log-capacity".to_string(),
        args.event_log_capacity.to_string(),
        "--message-log-capacity".into(),
        args.message_log_capacity.to_string(),
        "--seed".into(),
        seed.display().to_string(),
    ];
    let started = ctx.start_emulator(&capacities);
    let _ = std::fs::remove_file(&seed);
    let (emulator, _) = started?;
    let (bare, _) = start(&ctx.me, &["bare".into(), "--port".into(), "0".into()])?;
    std::thread::sleep(Duration::from_millis(500));
    let (idle_rss_kb, idle_hwm_kb) = rss(emulator.child.id())?;
    report.memory = Memory {
        idle_rss_kb,
        idle_hwm_kb,
        event_log_capacity: args.event_log_capacity,
        message_log_capacity: args.message_log_capacity,
        ..Default::default()
    };
    open_windows(&emulator.url, &phones, &args.recipient)?;
    ctx.notes.push(format!(
        "SendWhatsAppMessage: a text message to {} inside its customer service window (opened by an \
         inbound message), round-robin over the {} numbers of a bench WABA in {BENCH_REGION} (Meta \
         allows 1,000 messages/s per number); statuses and events on. Beyond Meta's pair rate (45 in \
         a burst, then 1 per 6 s per number and customer) Meta fails a message with 131056 \
         (one `failed` event instead of `sent`, `delivered`, `read`); the API call still succeeds.",
        args.recipient,
        phones.len()
    ));
    ctx.notes.push(format!(
        "SendWhatsAppMessage (campaign): Meta's sample template `hello_world` to a new customer \
         with every request (outside any customer service window), round-robin over the same {} \
         numbers: every send is accepted and gets its `sent`, `delivered` and `read` statuses — \
         the send path a marketing campaign takes.",
        phones.len()
    ));
    let send_args = |count: u64, duration_ms: u64, concurrency: usize| {
        vec![
            format!("--request=send"),
            format!("--phone={}", phones.join(",")),
            format!("--recipient={}", args.recipient),
            format!("--send-scope={ACCOUNT}/{BENCH_REGION}"),
            format!("--count={count}"),
            format!("--duration-ms={duration_ms}"),
            format!("--concurrency={concurrency}"),
        ]
    };

    // Read-only operations first, so that status timers of the sends do not run during them.
    for kind in [RequestKind::List, RequestKind::Get, RequestKind::Send, RequestKind::Campaign] {
        for &concurrency in &args.concurrency {
            let load_args = match kind {
                RequestKind::Send => send_args(0, args.duration_ms, concurrency),
                RequestKind::Campaign => {
                    let mut campaign = send_args(0, args.duration_ms, concurrency);
                    campaign[0] = "--request=campaign".into();
                    campaign
                }
                _ => vec![
                    format!("--request={}", if kind == RequestKind::List { "list" } else { "get" }),
                    format!("--duration-ms={}", args.duration_ms),
                    format!("--concurrency={concurrency}"),
                ],
            };
            let mut rounds = Vec::new();
            for _ in 0..args.rounds {
                let bare = ctx.load(&bare, &load_args)?;
                let emulator = ctx.load(&emulator, &load_args)?;
                let operation = kind.operation().into();
                rounds.push(Comparison {
                    operation,
                    concurrency,
                    bare,
                    emulator,
                    ..Default::default()
                });
            }
            let cell = Comparison::median_round(rounds);
            eprintln!(
                "{} c={concurrency}: bare {} req/s, emulator {} req/s ({}), server CPU per request \
                 {} / {}, p99 {} / {}, errors {}",
                cell.operation,
                report::fmt_rate(cell.bare.requests_per_s),
                report::fmt_rate(cell.emulator.requests_per_s),
                report::fmt_ratio(cell.throughput_ratio()),
                report::fmt_cpu(cell.bare.server_cpu_us),
                report::fmt_cpu(cell.emulator.server_cpu_us),
                report::fmt_ms(cell.bare.p99_us),
                report::fmt_ms(cell.emulator.p99_us),
                cell.errors()
            );
            report.throughput.push(cell);
        }
    }

    // After the throughput cells (their figures stay comparable with earlier runs), before the
    // sends whose memory is measured.
    let consoles: Vec<Vec<String>> = phones
        .iter()
        .cycle()
        .take(CONSOLES)
        .map(|phone| {
            vec![
                format!("--url={}", emulator.url),
                format!("--phone={phone}"),
                format!("--customer={}", args.recipient),
                format!("--account={ACCOUNT}"),
                format!("--region={BENCH_REGION}"),
                format!("--duration-ms={}", args.duration_ms + CONSOLE_CAP_MS),
            ]
        })
        .collect();
    let load_args = send_args(0, args.duration_ms, CONSOLES_CONCURRENCY);
    report.consoles = Some(ctx.consoles_cell(&emulator, &load_args, &consoles, args.rounds)?);

    eprintln!("{} sends at concurrency 64 …", report::fmt_count(args.sends));
    let half = args.sends / 2;
    for (i, count) in [half, args.sends - half].into_iter().enumerate() {
        // A safety cap of an hour; the count ends it long before.
        let sent = ctx.load(&emulator, &send_args(count, 3_600_000, 64))?;
        eprintln!(
            "  {} sent at {} req/s",
            report::fmt_count(count),
            report::fmt_rate(sent.requests_per_s)
        );
        report.memory.sends.push(sent);
        std::thread::sleep(STATUSES_SETTLE);
        let (now, hwm) = rss(emulator.child.id())?;
        if i == 0 {
            report.memory.half_rss_kb = now;
        } else {
            (report.memory.after_rss_kb, report.memory.after_hwm_kb) = (now, hwm);
        }
    }

    // Bound by fsync, so noisier than the loads above: rounds on fresh states, the median kept.
    let mut persisted = Vec::new();
    for _ in 0..args.rounds {
        persisted.push(persisted_sends(&mut ctx, &phones, &args, &send_args)?);
    }
    report.persistence = Some(report::PersistenceCell::median_round(persisted));

    report.verdicts = report::verdicts(&report);
    report.settings.emulator_args = ctx.extra.clone();
    report.settings.notes = ctx.notes.clone();
    report.unix_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n";
    write(&args.out.join("benchmarks.json"), &json)?;
    write(&args.out.join("BENCHMARKS.md"), &report::markdown(&report))?;
    println!("{}", report::text(&report));
    println!(
        "wrote {}/benchmarks.json and {}/BENCHMARKS.md",
        args.out.display(),
        args.out.display()
    );
    Ok(())
}

/// The recipient writes to every number first: the text sends go inside its customer service
/// window.
fn open_windows(url: &str, phones: &[String], recipient: &str) -> Result<(), String> {
    for phone in phones {
        let body = json!({
            "phoneNumberId": phone, "account": ACCOUNT, "region": BENCH_REGION,
            "from": recipient, "text": "Hi! Where is my order?",
        });
        let (status, answer) = http_post(url, "/_emulator/inbound", &body.to_string())?;
        if status != 200 {
            return Err(format!("opening the customer service window: {status} {answer}"));
        }
    }
    Ok(())
}

/// Concurrency and messages of the persisted-send cell (issue 16's targets).
const PERSIST_CONCURRENCY: usize = 8;
const PERSIST_MESSAGES: u64 = 10_000;

/// SendWhatsAppMessage against an emulator with `--state-dir` (a fresh directory): on the empty
/// state, then after [`PERSIST_MESSAGES`] more sends.
fn persisted_sends(
    ctx: &mut Ctx,
    phones: &[String],
    args: &RunArgs,
    send_args: &dyn Fn(u64, u64, usize) -> Vec<String>,
) -> Result<report::PersistenceCell, String> {
    eprintln!("persisted sends (--state-dir) at concurrency {PERSIST_CONCURRENCY} …");
    let id = std::process::id();
    let dir = std::env::temp_dir().join(format!("eum-social-bench-state-{id}"));
    let seed = std::env::temp_dir().join(format!("eum-social-bench-seed-persist-{id}.json"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::write(&seed, bench_seed(phones).to_string())
        .map_err(|e| format!("{}: {e}", seed.display()))?;
    let server_args = [
        "--state-dir".to_string(),
        dir.display().to_string(),
        "--seed".into(),
        seed.display().to_string(),
        "--message-log-capacity".into(),
        args.message_log_capacity.to_string(),
        "--event-log-capacity".into(),
        args.event_log_capacity.to_string(),
    ];
    let started = ctx.start_emulator(&server_args);
    let _ = std::fs::remove_file(&seed);
    let (server, _) = started?;
    let result = (|| {
        open_windows(&server.url, phones, &args.recipient)?;
        let empty = ctx.load(&server, &send_args(0, args.duration_ms, PERSIST_CONCURRENCY))?;
        ctx.load(&server, &send_args(PERSIST_MESSAGES, 3_600_000, PERSIST_CONCURRENCY))?;
        let after = ctx.load(&server, &send_args(0, args.duration_ms, PERSIST_CONCURRENCY))?;
        eprintln!(
            "  empty {} req/s, after {} messages {} req/s",
            report::fmt_rate(empty.requests_per_s),
            report::fmt_count(PERSIST_MESSAGES),
            report::fmt_rate(after.requests_per_s)
        );
        Ok(report::PersistenceCell {
            concurrency: PERSIST_CONCURRENCY,
            messages: PERSIST_MESSAGES,
            empty,
            after,
            round_ratios: Vec::new(),
        })
    })();
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

struct Ctx {
    me: PathBuf,
    emulator: PathBuf,
    /// Extra emulator arguments; emptied when the emulator does not know one of them.
    extra: Vec<String>,
    notes: Vec<String>,
}

impl Ctx {
    /// Starts the emulator with `--port 0 --log warn`, `args` and the extra arguments; returns it
    /// with its start-to-READY time.
    fn start_emulator(&mut self, args: &[String]) -> Result<(Server, Duration), String> {
        let base = ["--port", "0", "--log", "warn"].map(String::from);
        let with = |extra: &[String]| [&base[..], args, extra].concat();
        match start(&self.emulator, &with(&self.extra)) {
            Err(e) if !self.extra.is_empty() && unknown_argument(&e) => {
                self.notes.push(format!(
                    "The emulator refused `{}` (unknown argument), so it ran without it.",
                    self.extra.join(" ")
                ));
                eprintln!(
                    "note: the emulator refused `{}`; going on without it",
                    self.extra.join(" ")
                );
                self.extra.clear();
                start(&self.emulator, &with(&[]))
            }
            other => other,
        }
    }

    /// Runs the load generator (this executable, `load …`) against `server` in its own process,
    /// and measures the CPU time the server spent meanwhile.
    fn load(&self, server: &Server, args: &[String]) -> Result<LoadResult, String> {
        let locks_before = lock_waits(&server.url);
        let cpu_before = cpu_ticks(server.child.id())?;
        let output = Command::new(&self.me)
            .arg("load")
            .arg(format!("--url={}", server.url))
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("load generator: {e}"))?;
        if !output.status.success() {
            return Err(format!("load generator failed: {}", output.status));
        }
        let cpu = cpu_ticks(server.child.id())?.saturating_sub(cpu_before);
        let mut result: LoadResult = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("load generator's output: {e}"))?;
        let completed = result.ok + result.non_2xx;
        if completed > 0 {
            result.server_cpu_us = Some(cpu as f64 * 1e6 / TICKS_PER_S / completed as f64);
        }
        if let (Some(before), Some(after)) = (locks_before, lock_waits(&server.url)) {
            result.lock_waits = after
                .into_iter()
                .map(|(name, a)| {
                    let b = before.get(&name).copied().unwrap_or_default();
                    let waits = a.waits.saturating_sub(b.waits);
                    let waited_nanos = a.waited_nanos.saturating_sub(b.waited_nanos);
                    (name, LockWaits { waits, waited_nanos })
                })
                .collect();
        }
        Ok(result)
    }

    /// SendWhatsAppMessage on the emulator, `rounds` times: the load without consoles, then the
    /// same load with a console (this executable, `console …`) per entry of `consoles`
    /// connected. Each load starts after [`STATUSES_SETTLE`], so that neither pays for the
    /// statuses of the sends before it.
    fn consoles_cell(
        &self,
        emulator: &Server,
        load_args: &[String],
        consoles: &[Vec<String>],
        rounds: u64,
    ) -> Result<ConsoleCell, String> {
        eprintln!(
            "SendWhatsAppMessage c={CONSOLES_CONCURRENCY} with {CONSOLES} consoles connected …"
        );
        let mut cell = ConsoleCell {
            concurrency: CONSOLES_CONCURRENCY,
            consoles: consoles.len(),
            settle_ms: STATUSES_SETTLE.as_millis() as u64,
            rounds: Vec::new(),
        };
        for number in 1..=rounds {
            std::thread::sleep(STATUSES_SETTLE);
            let without = self.load(emulator, load_args)?;
            std::thread::sleep(STATUSES_SETTLE);
            let started: Vec<Server> =
                consoles.iter().map(|args| self.start_console(args)).collect::<Result<_, _>>()?;
            let with = self.load(emulator, load_args);
            // Stopped even when the load failed, so that no console outlives the run.
            let consoles: Vec<ConsoleResult> =
                started.into_iter().map(stop_console).collect::<Result<_, _>>()?;
            let round = ConsoleRound { without, with: with?, consoles };
            eprintln!(
                "  round {number}: {} req/s without, {} with ({}), p99 {} / {}, server CPU per \
                 request {} / {}; consoles: {} stream messages ({} resync), {} refetches; errors {}",
                report::fmt_rate(round.without.requests_per_s),
                report::fmt_rate(round.with.requests_per_s),
                report::fmt_ratio(round.ratio()),
                report::fmt_ms(round.without.p99_us),
                report::fmt_ms(round.with.p99_us),
                report::fmt_cpu(round.without.server_cpu_us),
                report::fmt_cpu(round.with.server_cpu_us),
                round.messages(),
                round.resyncs(),
                round.refetches(),
                round.errors()
            );
            cell.rounds.push(round);
        }
        Ok(cell)
    }

    /// Starts a simulated console and waits until its stream said `hello` (its `READY` line).
    fn start_console(&self, args: &[String]) -> Result<Server, String> {
        let mut command = Command::new(&self.me);
        command.arg("console").args(args).stdin(Stdio::piped()).stdout(Stdio::piped());
        let (console, _) = start_command(command)?;
        Ok(console)
    }
}

/// Closes a console's stdin, which stops it, and reads what it printed.
fn stop_console(mut console: Server) -> Result<ConsoleResult, String> {
    drop(console.child.stdin.take());
    let mut output = String::new();
    if let Some(mut stdout) = console.child.stdout.take() {
        stdout.read_to_string(&mut output).map_err(|e| format!("console's output: {e}"))?;
    }
    let status = console.child.wait().map_err(|e| format!("console: {e}"))?;
    if !status.success() {
        return Err(format!("console failed: {status}"));
    }
    serde_json::from_str(&output).map_err(|e| format!("console's output: {e}"))
}

/// A started child process, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `program` and waits for its `READY <url>` line on stderr; the error carries what it
/// printed before it exited.
fn start(program: &Path, args: &[String]) -> Result<(Server, Duration), String> {
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null()).stdout(Stdio::null());
    start_command(command)
}

/// [`start`] of a command whose stdin and stdout are set up by the caller.
fn start_command(mut command: Command) -> Result<(Server, Duration), String> {
    let started = Instant::now();
    let program = PathBuf::from(command.get_program());
    let args: Vec<String> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    let mut child = command
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let (lines_tx, lines) = mpsc::channel();
    // Keeps reading after READY so that the child never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut printed = Vec::new();
    loop {
        match lines.recv_timeout(READY_TIMEOUT.saturating_sub(started.elapsed())) {
            Ok(line) => match ready_url(&line) {
                Some(url) => {
                    let took = started.elapsed();
                    return Ok((Server { child, url: url.to_string() }, took));
                }
                None => printed.push(line),
            },
            Err(e) => {
                let _ = child.kill();
                let status = child.wait().map_or_else(|e| e.to_string(), |s| s.to_string());
                let why = match e {
                    mpsc::RecvTimeoutError::Timeout => "no READY line within 20 s".to_string(),
                    mpsc::RecvTimeoutError::Disconnected => format!("exited ({status})"),
                };
                return Err(format!(
                    "{} {}: {why}: {}",
                    program.display(),
                    args.join(" "),
                    printed.join("\n")
                ));
            }
        }
    }
}

pub fn ready_url(line: &str) -> Option<&str> {
    line.strip_prefix("READY ").map(str::trim).filter(|u| u.starts_with("http://"))
}

/// Whether a failed start's output is clap refusing an argument it does not know.
pub fn unknown_argument(output: &str) -> bool {
    output.contains("unexpected argument")
}

/// (VmRSS, VmHWM) in kB of a process.
/// The unit of `/proc/PID/stat` times: Linux reports them in USER_HZ, 100 per second on every
/// architecture it exposes to user space.
const TICKS_PER_S: f64 = 100.0;

/// CPU time a process has used (user + system, all its threads), in [`TICKS_PER_S`].
fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    parse_cpu_ticks(&stat).ok_or_else(|| format!("/proc/{pid}/stat: unexpected format"))
}

/// utime + stime: fields 14 and 15 of `/proc/PID/stat`, counted after the command name (which
/// is in parentheses and may hold spaces).
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn rss(pid: u32) -> Result<(u64, u64), String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    Ok(parse_rss(&status))
}

pub fn parse_rss(status: &str) -> (u64, u64) {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// `phone-number-id-…` ids of the bench WABA's numbers.
fn bench_phones(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("phone-number-id-be4c{i:028x}")).collect()
}

/// The default seed plus the bench WABA (in its own Region) with `phones`.
pub fn bench_seed(phones: &[String]) -> Value {
    let mut seed: Value = serde_json::from_str(DEFAULT_SEED).expect("the default seed is JSON");
    let numbers: Vec<Value> = phones
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({
                "phoneNumberId": id,
                "phoneNumber": format!("+1206555{i:04}"),
                "displayPhoneNumberName": "Bench",
                "metaPhoneNumberId": format!("9{i:014}"),
                "qualityRating": "GREEN",
                "messagingLimitTier": "TIER_UNLIMITED",
                "throughputPerSecond": 1000,
            })
        })
        .collect();
    let waba = json!({
        "id": format!("waba-be4c{:028x}", 0),
        "region": BENCH_REGION,
        "wabaId": "900000000000000",
        "wabaName": "Bench",
        "registrationStatus": "COMPLETE",
        "eventDestinations": [{ "eventDestinationArn": format!("arn:aws:sns:{BENCH_REGION}:{ACCOUNT}:bench") }],
        "phoneNumbers": numbers,
    });
    if let Some(wabas) = seed["wabas"].as_array_mut() {
        wabas.push(waba);
    }
    seed
}

/// The emulator's lock waits so far (`GET /_emulator/locks`); None from the bare server or an
/// emulator without the endpoint.
fn lock_waits(url: &str) -> Option<BTreeMap<String, LockWaits>> {
    let (status, body) = http_request(url, "GET", "/_emulator/locks", "").ok()?;
    if status != 200 {
        return None;
    }
    let answer: Value = serde_json::from_str(&body).ok()?;
    serde_json::from_value(answer["locks"].clone()).ok()
}

/// A POST over a fresh connection (setup calls only; the loads use the load generator).
fn http_post(url: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    http_request(url, "POST", path, body)
}

fn http_request(url: &str, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    let host = url.strip_prefix("http://").unwrap_or(url);
    let mut stream = TcpStream::connect(host).map_err(|e| format!("{host}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| e.to_string())?;
    let status = response.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty());
    describe_machine(&cpuinfo, &meminfo, &os_release, kernel.trim(), rustc)
}

pub fn describe_machine(
    cpuinfo: &str,
    meminfo: &str,
    os_release: &str,
    kernel: &str,
    rustc: Option<String>,
) -> Machine {
    let value = |text: &str, key: &str| {
        text.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let os = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into());
    let mem_kb: f64 = value(meminfo, "MemTotal")
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0.0);
    Machine {
        cpu: value(cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
        cpus: cpuinfo.lines().filter(|l| l.starts_with("processor")).count(),
        memory_gib: mem_kb / (1024.0 * 1024.0),
        os: if kernel.is_empty() { os } else { format!("{os}, Linux {kernel}") },
        rustc: rustc.unwrap_or_else(|| "unknown".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_lines() {
        assert_eq!(ready_url("READY http://127.0.0.1:4590"), Some("http://127.0.0.1:4590"));
        assert_eq!(ready_url("  INFO serving"), None);
    }

    #[test]
    fn clap_refusals_are_recognised() {
        assert!(unknown_argument(
            "error: unexpected argument '--quotas' found\n\nUsage: eum-social"
        ));
        assert!(!unknown_argument("error: cannot bind 127.0.0.1:4590"));
    }

    #[test]
    fn rss_from_proc_status() {
        let status = "Name:\teum-social\nVmHWM:\t   12345 kB\nVmRSS:\t    9876 kB\nThreads:\t3\n";
        assert_eq!(parse_rss(status), (9876, 12345));
        assert_eq!(parse_rss(""), (0, 0));
    }

    #[test]
    fn cpu_time_from_proc_stat() {
        let stat = "4242 (eum social) S 1 4242 4242 0 -1 4194560 1034 0 0 0 1234 567 0 0 20 0 \
                    3 0 123456 1234567 890 18446744073709551615";
        assert_eq!(parse_cpu_ticks(stat), Some(1234 + 567));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1"), None);
        assert_eq!(parse_cpu_ticks("no parenthesis"), None);
    }

    #[test]
    fn machine_from_proc() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        let m = describe_machine(
            cpuinfo,
            "MemTotal:       24576000 kB\n",
            "NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
            "6.1.0",
            Some("rustc 1.95.0".into()),
        );
        assert_eq!((m.cpu.as_str(), m.cpus), ("AMD EPYC 7B13", 2));
        assert!((m.memory_gib - 23.44).abs() < 0.01, "{}", m.memory_gib);
        assert_eq!(m.os, "Debian GNU/Linux 12 (bookworm), Linux 6.1.0");
    }

    #[test]
    fn the_bench_seed_keeps_the_default_wabas() {
        let seed = bench_seed(&bench_phones(3));
        let wabas = seed["wabas"].as_array().unwrap();
        assert_eq!(wabas[0]["id"], "waba-0aae9cf04cf24c66960f291c793359b4");
        let bench = wabas.last().unwrap();
        assert_eq!(bench["region"], BENCH_REGION);
        assert_eq!(bench["phoneNumbers"].as_array().unwrap().len(), 3);
        assert_eq!(
            bench["phoneNumbers"][2]["phoneNumberId"],
            "phone-number-id-be4c0000000000000000000000000002"
        );
        assert_eq!(bench["phoneNumbers"][2]["metaPhoneNumberId"], "900000000000002");
    }
}
