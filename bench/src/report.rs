//! The report of a run: what was measured, the targets with pass/fail, and its text
//! (stdout) and Markdown (`docs/BENCHMARKS.md`) forms. Pure: no I/O here.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::console::ConsoleResult;
use crate::load::LoadResult;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// Seconds since the Unix epoch when the run ended.
    pub unix_time: u64,
    pub machine: Machine,
    pub settings: Settings,
    pub throughput: Vec<Comparison>,
    pub ready_ms: Summary,
    pub memory: Memory,
    /// SendWhatsAppMessage without and with web consoles connected (none in older reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consoles: Option<ConsoleCell>,
    /// SendWhatsAppMessage with `--state-dir` (none in older reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<PersistenceCell>,
    /// The targets with this run's figures and pass/fail, as the tables show them (filled when
    /// the report is written; recomputed from the figures for the tables).
    #[serde(default)]
    pub verdicts: Vec<Verdict>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    pub cpu: String,
    pub cpus: usize,
    pub memory_gib: f64,
    pub os: String,
    pub rustc: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Settings {
    pub duration_ms: u64,
    /// Rounds per cell (each bare then emulator); the report keeps the median one.
    #[serde(default = "one")]
    pub rounds: usize,
    pub concurrency: Vec<usize>,
    pub sends: u64,
    pub starts: usize,
    /// Untimed starts before the timed ones.
    #[serde(default)]
    pub warmup_starts: usize,
    /// Extra arguments the emulator ran with (after `--port 0 --log warn`).
    pub emulator_args: Vec<String>,
    /// What the reader should know about this run (fallbacks, the load's shape).
    pub notes: Vec<String>,
}

/// One operation at one concurrency, on both servers, with the same load.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Comparison {
    pub operation: String,
    pub concurrency: usize,
    pub bare: LoadResult,
    pub emulator: LoadResult,
    /// The throughput ratio of every round, in the order run (the figures above are the round
    /// with the median ratio).
    #[serde(default)]
    pub round_ratios: Vec<f64>,
    /// Errors in the rounds not shown (they fail the targets too).
    #[serde(default)]
    pub other_round_errors: u64,
}

fn one() -> usize {
    1
}

impl Comparison {
    /// The round with the median throughput ratio (the lower middle of an even count), with the
    /// ratios of all rounds and the errors of the others.
    pub fn median_round(rounds: Vec<Comparison>) -> Comparison {
        let ratios: Vec<f64> = rounds.iter().map(|c| c.throughput_ratio().unwrap_or(0.0)).collect();
        let mut order: Vec<usize> = (0..rounds.len()).collect();
        order.sort_by(|&a, &b| ratios[a].total_cmp(&ratios[b]));
        let Some(&middle) = order.get(rounds.len().saturating_sub(1) / 2) else {
            return Comparison::default();
        };
        let errors: u64 = rounds.iter().map(Comparison::errors).sum();
        let mut cell = rounds[middle].clone();
        cell.other_round_errors = errors - cell.errors();
        cell.round_ratios = ratios;
        cell
    }

    /// The emulator's throughput as a fraction of the bare server's.
    pub fn throughput_ratio(&self) -> Option<f64> {
        ratio(self.emulator.requests_per_s, self.bare.requests_per_s)
    }
    pub fn errors(&self) -> u64 {
        self.bare.errors() + self.emulator.errors() + self.other_round_errors
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub samples: Vec<f64>,
}

impl Summary {
    pub fn of(samples: &[f64]) -> Summary {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => 0.0,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Summary {
            median,
            min: sorted.first().copied().unwrap_or(0.0),
            max: sorted.last().copied().unwrap_or(0.0),
            samples: samples.to_vec(),
        }
    }
}

/// SendWhatsAppMessage at one concurrency on the emulator alone, in rounds of: without consoles,
/// then with `consoles` simulated web consoles connected (each on a number's chats page: the
/// live stream open, refetching on each message).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConsoleCell {
    pub concurrency: usize,
    pub consoles: usize,
    /// Milliseconds without load before each load, so that the statuses of the sends before
    /// have fired and both loads start from the same state.
    pub settle_ms: u64,
    pub rounds: Vec<ConsoleRound>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConsoleRound {
    pub without: LoadResult,
    pub with: LoadResult,
    /// What each console read and did during the `with` load.
    pub consoles: Vec<ConsoleResult>,
}

impl ConsoleRound {
    /// Throughput with the consoles as a fraction of without.
    pub fn ratio(&self) -> Option<f64> {
        ratio(self.with.requests_per_s, self.without.requests_per_s)
    }
    /// Failed sends and failed console requests.
    pub fn errors(&self) -> u64 {
        self.without.errors() + self.with.errors() + self.console_errors()
    }
    pub fn console_errors(&self) -> u64 {
        self.consoles.iter().map(|c| c.errors).sum()
    }
    pub fn messages(&self) -> u64 {
        self.consoles.iter().map(|c| c.messages).sum()
    }
    pub fn resyncs(&self) -> u64 {
        self.consoles.iter().map(|c| c.resyncs).sum()
    }
    pub fn refetches(&self) -> u64 {
        self.consoles.iter().map(|c| c.refetches).sum()
    }
    /// Whether every console read the stream and refetched (else the round measured nothing).
    pub fn consoles_worked(&self) -> bool {
        !self.consoles.is_empty() && self.consoles.iter().all(|c| c.messages > 0 && c.refetches > 0)
    }
}

impl ConsoleCell {
    /// The round with the median ratio (the lower middle of an even count).
    pub fn median_round(&self) -> Option<&ConsoleRound> {
        let mut order: Vec<&ConsoleRound> = self.rounds.iter().collect();
        order.sort_by(|a, b| a.ratio().unwrap_or(0.0).total_cmp(&b.ratio().unwrap_or(0.0)));
        order.get(self.rounds.len().saturating_sub(1) / 2).copied()
    }
    pub fn errors(&self) -> u64 {
        self.rounds.iter().map(ConsoleRound::errors).sum()
    }
    pub fn refetches(&self) -> u64 {
        self.rounds.iter().map(ConsoleRound::refetches).sum()
    }
    pub fn consoles_worked(&self) -> bool {
        !self.rounds.is_empty() && self.rounds.iter().all(ConsoleRound::consoles_worked)
    }
}

/// SendWhatsAppMessage with the state kept in SQLite (`--state-dir`, every acknowledged write
/// committed): on an empty state, then again after `messages` more sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PersistenceCell {
    pub concurrency: usize,
    pub messages: u64,
    pub empty: LoadResult,
    pub after: LoadResult,
    /// The after/empty ratio of every round, in the order run (the figures above are the round
    /// with the median ratio).
    #[serde(default)]
    pub round_ratios: Vec<f64>,
}

/// SendWhatsAppMessage's throughput ratio to the bare server at concurrency 64 that issue 16
/// asks of the core (on the benchmark's 2-core machine).
pub const MIN_SEND_RATIO_AT_64: f64 = 0.6;

/// Persisted sends per second at concurrency 8 on an empty state (issue 16).
pub const MIN_PERSISTED_RATE: f64 = 1_000.0;
/// The persisted rate after 10,000 messages, as a fraction of the empty state's.
pub const MIN_PERSISTED_RATIO: f64 = 0.8;

impl PersistenceCell {
    /// The round with the median after/empty ratio (the lower middle of an even count), with
    /// every round's ratio.
    pub fn median_round(rounds: Vec<PersistenceCell>) -> PersistenceCell {
        let ratios: Vec<f64> = rounds.iter().map(|c| c.ratio().unwrap_or(0.0)).collect();
        let mut order: Vec<usize> = (0..rounds.len()).collect();
        order.sort_by(|&a, &b| ratios[a].total_cmp(&ratios[b]));
        let middle = order.get(rounds.len().saturating_sub(1) / 2).copied().unwrap_or(0);
        let mut cell = rounds.into_iter().nth(middle).unwrap_or_default();
        cell.round_ratios = ratios;
        cell
    }

    pub fn ratio(&self) -> Option<f64> {
        ratio(self.after.requests_per_s, self.empty.requests_per_s)
    }
    pub fn errors(&self) -> u64 {
        self.empty.errors() + self.after.errors()
    }
}

/// Resident memory (kB, from /proc/PID/status) idle after start and after the sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Memory {
    pub idle_rss_kb: u64,
    pub idle_hwm_kb: u64,
    /// RSS after the first half of the sends.
    pub half_rss_kb: u64,
    pub after_rss_kb: u64,
    pub after_hwm_kb: u64,
    /// The two halves of the sends (concurrency 64, as fast as possible).
    pub sends: Vec<LoadResult>,
    pub event_log_capacity: usize,
    pub message_log_capacity: usize,
}

impl Memory {
    pub fn sent(&self) -> u64 {
        self.sends.iter().map(|s| s.ok + s.errors()).sum()
    }
    pub fn errors(&self) -> u64 {
        self.sends.iter().map(LoadResult::errors).sum()
    }
}

/// One of the targets and how this run fared.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    pub target: String,
    pub measured: String,
    pub pass: bool,
}

pub const MIN_RATIO_AT_64: f64 = 0.5;
pub const MAX_P99_US_AT_16: u64 = 2_000;
pub const MAX_READY_MS: f64 = 20.0;
/// SendWhatsAppMessage's throughput with two consoles connected, as a fraction of without.
pub const MIN_RATIO_WITH_CONSOLES: f64 = 0.95;
pub const MAX_IDLE_RSS_BYTES: u64 = 20_000_000;
/// Memory counts as bounded when the second half of the sends grew RSS by at most this much, or
/// by at most a tenth.
pub const BOUNDED_GROWTH_BYTES: u64 = 4_000_000;

pub fn verdicts(r: &Report) -> Vec<Verdict> {
    let mut out = Vec::new();
    for c in r.throughput.iter().filter(|c| c.concurrency == 64) {
        let ratio = c.throughput_ratio();
        out.push(Verdict {
            target: format!("{}: ≥ 50% of bare throughput at concurrency 64", c.operation),
            measured: format!(
                "{} ({} vs {} req/s){}",
                fmt_ratio(ratio),
                fmt_rate(c.emulator.requests_per_s),
                fmt_rate(c.bare.requests_per_s),
                fmt_errors(c.errors())
            ),
            pass: c.errors() == 0 && ratio.is_some_and(|x| x >= MIN_RATIO_AT_64),
        });
        if c.operation == "SendWhatsAppMessage" {
            out.push(Verdict {
                target: format!(
                    "SendWhatsAppMessage: ≥ {MIN_SEND_RATIO_AT_64}× of bare throughput at concurrency 64 (issue 16)"
                ),
                measured: fmt_ratio(ratio),
                pass: c.errors() == 0 && ratio.is_some_and(|x| x >= MIN_SEND_RATIO_AT_64),
            });
        }
    }
    for c in r.throughput.iter().filter(|c| c.concurrency == 16) {
        out.push(Verdict {
            target: format!("{}: p99 < 2 ms at concurrency 16", c.operation),
            measured: format!("{}{}", fmt_ms(c.emulator.p99_us), fmt_errors(c.emulator.errors())),
            pass: c.emulator.errors() == 0 && c.emulator.p99_us < MAX_P99_US_AT_16,
        });
    }
    if let Some(cell) = &r.consoles {
        out.push(consoles_verdict(cell));
    }
    if let Some(p) = &r.persistence {
        out.push(Verdict {
            target: format!(
                "SendWhatsAppMessage with --state-dir: ≥ {} req/s at concurrency {}",
                fmt_count(MIN_PERSISTED_RATE as u64),
                p.concurrency
            ),
            measured: format!(
                "{} req/s{}",
                fmt_rate(p.empty.requests_per_s),
                fmt_errors(p.empty.errors())
            ),
            pass: p.empty.errors() == 0 && p.empty.requests_per_s >= MIN_PERSISTED_RATE,
        });
        out.push(Verdict {
            target: format!(
                "SendWhatsAppMessage with --state-dir after {} messages: ≥ 80% of the empty state's rate",
                fmt_count(p.messages)
            ),
            measured: format!(
                "{} ({} vs {} req/s){}",
                fmt_ratio(p.ratio()),
                fmt_rate(p.after.requests_per_s),
                fmt_rate(p.empty.requests_per_s),
                fmt_errors(p.errors())
            ),
            pass: p.errors() == 0 && p.ratio().is_some_and(|x| x >= MIN_PERSISTED_RATIO),
        });
    }
    out.push(Verdict {
        target: format!("start to READY < 20 ms (median of {})", r.ready_ms.samples.len()),
        measured: format!(
            "{:.1} ms (min {:.1}, max {:.1})",
            r.ready_ms.median, r.ready_ms.min, r.ready_ms.max
        ),
        pass: !r.ready_ms.samples.is_empty() && r.ready_ms.median < MAX_READY_MS,
    });
    out.push(Verdict {
        target: "idle RSS < 20 MB".into(),
        measured: format!(
            "{} (peak {})",
            fmt_mb(r.memory.idle_rss_kb),
            fmt_mb(r.memory.idle_hwm_kb)
        ),
        pass: r.memory.idle_rss_kb > 0 && r.memory.idle_rss_kb * 1024 < MAX_IDLE_RSS_BYTES,
    });
    let m = &r.memory;
    out.push(Verdict {
        target: format!("RSS bounded over {} sends", fmt_count(m.sent())),
        measured: format!(
            "{} after half, {} after all (peak {}){}",
            fmt_mb(m.half_rss_kb),
            fmt_mb(m.after_rss_kb),
            fmt_mb(m.after_hwm_kb),
            fmt_errors(m.errors())
        ),
        pass: m.errors() == 0 && m.after_rss_kb > 0 && bounded(m.half_rss_kb, m.after_rss_kb),
    });
    out
}

/// The median round's ratio, with the refetches that show the consoles did their part; errors
/// anywhere, or a console that read or refetched nothing, fail it.
fn consoles_verdict(cell: &ConsoleCell) -> Verdict {
    let median = cell.median_round();
    let ratio = median.and_then(ConsoleRound::ratio);
    let measured = match median {
        Some(m) => format!(
            "{} ({} vs {} req/s; {} refetches by the consoles){}{}",
            fmt_ratio(ratio),
            fmt_rate(m.with.requests_per_s),
            fmt_rate(m.without.requests_per_s),
            fmt_count(cell.refetches()),
            if cell.consoles_worked() { "" } else { " — A CONSOLE READ OR REFETCHED NOTHING" },
            fmt_errors(cell.errors())
        ),
        None => "not measured".into(),
    };
    Verdict {
        target: format!(
            "SendWhatsAppMessage with {} consoles connected: ≥ 95% of the throughput without, at \
             concurrency {} (median round)",
            cell.consoles, cell.concurrency
        ),
        measured,
        pass: cell.errors() == 0
            && cell.consoles_worked()
            && ratio.is_some_and(|x| x >= MIN_RATIO_WITH_CONSOLES),
    }
}

/// Whether RSS stayed flat from `half` to `after` (kB).
pub fn bounded(half_kb: u64, after_kb: u64) -> bool {
    let growth = after_kb.saturating_sub(half_kb) * 1024;
    growth <= BOUNDED_GROWTH_BYTES.max(half_kb * 1024 / 10)
}

pub fn ratio(value: f64, base: f64) -> Option<f64> {
    (base > 0.0 && value.is_finite()).then(|| value / base)
}

pub fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "–".into(), |r| format!("{r:.2}×"))
}

/// Server CPU time per request.
pub fn fmt_cpu(us: Option<f64>) -> String {
    us.map_or_else(|| "-".into(), |us| format!("{us:.1} µs"))
}

pub fn fmt_ms(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

/// kB of /proc/PID/status as MB (10^6 bytes).
pub fn fmt_mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 * 1024.0 / 1e6)
}

pub fn fmt_rate(r: f64) -> String {
    fmt_count(r.round() as u64)
}

/// 1234567 as `1,234,567`.
pub fn fmt_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt_errors(n: u64) -> String {
    if n == 0 { String::new() } else { format!(" — {} ERRORS", fmt_count(n)) }
}

fn cell_errors(c: &Comparison) -> String {
    let errors = c.errors();
    if errors == 0 { "0".into() } else { format!("**{}**", fmt_count(errors)) }
}

/// The ratios of a cell's rounds, in the order run.
fn fmt_rounds(c: &Comparison) -> String {
    let ratios: Vec<String> = c.round_ratios.iter().map(|r| format!("{r:.2}")).collect();
    if ratios.is_empty() { "-".into() } else { ratios.join(", ") }
}

const CONSOLE_COLUMNS: [&str; 11] = [
    "round",
    "without req/s",
    "with req/s",
    "ratio",
    "without p99",
    "with p99",
    "without CPU/req",
    "with CPU/req",
    "stream messages (resync)",
    "refetches",
    "errors",
];

/// A round's row under [`CONSOLE_COLUMNS`]; `median` marks the round the target takes.
fn console_row(number: usize, round: &ConsoleRound, median: bool) -> [String; 11] {
    [
        format!("{number}{}", if median { " (median)" } else { "" }),
        fmt_rate(round.without.requests_per_s),
        fmt_rate(round.with.requests_per_s),
        fmt_ratio(round.ratio()),
        fmt_ms(round.without.p99_us),
        fmt_ms(round.with.p99_us),
        fmt_cpu(round.without.server_cpu_us),
        fmt_cpu(round.with.server_cpu_us),
        format!("{} ({})", fmt_count(round.messages()), fmt_count(round.resyncs())),
        fmt_count(round.refetches()),
        fmt_count(round.errors()),
    ]
}

/// Every round's row, the median one marked.
fn console_rows(cell: &ConsoleCell) -> Vec<[String; 11]> {
    let median = cell.median_round();
    cell.rounds
        .iter()
        .enumerate()
        .map(|(i, r)| console_row(i + 1, r, median.is_some_and(|m| std::ptr::eq(m, r))))
        .collect()
}

/// The first failure of a console or of a load in the consoles' cell.
fn console_error(cell: &ConsoleCell) -> Option<&String> {
    cell.rounds.iter().find_map(|r| {
        let consoles = r.consoles.iter().find_map(|c| c.first_error.as_ref());
        consoles.or(r.without.first_error.as_ref()).or(r.with.first_error.as_ref())
    })
}

/// The plain-text table printed at the end of a run.
pub fn text(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<36} {:>4} {:>10} {:>10} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>7}",
        "operation",
        "conc",
        "bare rps",
        "emu rps",
        "ratio",
        "bare CPU",
        "emu CPU",
        "bare p50",
        "emu p50",
        "bare p99",
        "emu p99",
        "errors"
    );
    for c in &r.throughput {
        let _ = writeln!(
            s,
            "{:<36} {:>4} {:>10} {:>10} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>7}",
            c.operation,
            c.concurrency,
            fmt_rate(c.bare.requests_per_s),
            fmt_rate(c.emulator.requests_per_s),
            fmt_ratio(c.throughput_ratio()),
            fmt_cpu(c.bare.server_cpu_us),
            fmt_cpu(c.emulator.server_cpu_us),
            fmt_ms(c.bare.p50_us),
            fmt_ms(c.emulator.p50_us),
            fmt_ms(c.bare.p99_us),
            fmt_ms(c.emulator.p99_us),
            c.errors()
        );
    }
    if let Some(cell) = &r.consoles {
        let _ = writeln!(
            s,
            "\nSendWhatsAppMessage at concurrency {}, without and with {} consoles connected:",
            cell.concurrency, cell.consoles
        );
        let rows: Vec<[String; 11]> =
            std::iter::once(CONSOLE_COLUMNS.map(String::from)).chain(console_rows(cell)).collect();
        // Columns as wide as their widest cell (characters, not bytes: `µs`, `×`).
        let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
        let widths: Vec<usize> = (0..CONSOLE_COLUMNS.len()).map(width).collect();
        for row in &rows {
            let cells: Vec<String> =
                row.iter().zip(&widths).map(|(c, &w)| format!("{c:>w$}")).collect();
            let _ = writeln!(s, "{}", cells.join("  "));
        }
    }
    let _ = writeln!(s);
    for v in verdicts(r) {
        let _ =
            writeln!(s, "[{}] {}: {}", if v.pass { "pass" } else { "FAIL" }, v.target, v.measured);
    }
    for c in r.throughput.iter().filter(|c| c.errors() > 0) {
        let sample = c.emulator.first_error.as_ref().or(c.bare.first_error.as_ref());
        let _ = writeln!(
            s,
            "errors in {} at {}: {}",
            c.operation,
            c.concurrency,
            sample.map_or("", |e| e)
        );
    }
    if let Some(e) = r.consoles.as_ref().and_then(console_error) {
        let _ = writeln!(s, "errors with the consoles: {e}");
    }
    if let Some(e) = r.memory.sends.iter().find_map(|l| l.first_error.as_ref()) {
        let _ = writeln!(s, "errors in the sends: {e}");
    }
    s
}

/// The Markdown section of the consoles' cell.
fn console_markdown(s: &mut String, cell: &ConsoleCell) {
    let phones: Vec<&str> = cell
        .rounds
        .first()
        .map_or(Vec::new(), |r| r.consoles.iter().map(|c| c.phone.as_str()).collect());
    let _ = writeln!(s, "\n## With web consoles connected\n");
    let _ = writeln!(
        s,
        "SendWhatsAppMessage at concurrency {} on the emulator alone (the same load as above), in \
         {} round(s) of: the load without consoles, then the same load with {} simulated web \
         consoles connected. A console (`eum-social-bench console`, a process of its own) does \
         what a browser tab on the chats page of a number does: it keeps the live stream \
         `GET /_emulator/stream` open and, on each stream message, refetches the number's \
         conversations (`GET /_emulator/conversations`) and the open thread with the sends' \
         recipient (`limit=50`), each at most every 250 ms (the console's refreshers). The \
         consoles watched {}. Each load starts after {} ms without load, so that the statuses of \
         the sends before have fired. Stream messages and refetches are the consoles' during the \
         load with them; a `resync` means the stream fell behind the event log (the console \
         refetches on it as on any message). The target takes the round with the median ratio.\n",
        cell.concurrency,
        cell.rounds.len(),
        cell.consoles,
        if phones.is_empty() { "no number".into() } else { format!("`{}`", phones.join("`, `")) },
        fmt_count(cell.settle_ms)
    );
    let _ = writeln!(s, "| {} |", CONSOLE_COLUMNS.join(" | "));
    let _ = writeln!(s, "|---|{}", "--:|".repeat(CONSOLE_COLUMNS.len() - 1));
    for row in console_rows(cell) {
        let _ = writeln!(s, "| {} |", row.join(" | "));
    }
    if let Some(e) = console_error(cell) {
        let _ = writeln!(s, "\nFirst error: `{e}`");
    }
}

/// `docs/BENCHMARKS.md`.
/// The emulator's lock waits in the rows shown (`GET /_emulator/locks` around each load): how
/// often a thread found a shared lock held, per 1,000 requests, and the time waited per request.
fn lock_markdown(s: &mut String, r: &Report) {
    let rows: Vec<&Comparison> =
        r.throughput.iter().filter(|c| !c.emulator.lock_waits.is_empty()).collect();
    let Some(first) = rows.first() else {
        return;
    };
    let names: Vec<&String> = first.emulator.lock_waits.keys().collect();
    let _ = writeln!(s, "\n## Lock waits\n");
    let _ = writeln!(
        s,
        "The emulator's shared locks during the loads above (`GET /_emulator/locks` before and \
         after each): waits per 1,000 requests (a thread found the lock held) / time waited per \
         request.\n"
    );
    let _ = write!(s, "| operation | concurrency |");
    for name in &names {
        let _ = write!(s, " {name} |");
    }
    let _ = write!(s, "\n|---|--:|");
    for _ in &names {
        let _ = write!(s, "--:|");
    }
    let _ = writeln!(s);
    for c in rows {
        let requests = (c.emulator.ok + c.emulator.non_2xx).max(1) as f64;
        let _ = write!(s, "| {} | {} |", c.operation, c.concurrency);
        for name in &names {
            let w = c.emulator.lock_waits.get(*name).copied().unwrap_or_default();
            let _ = write!(
                s,
                " {:.1} / {:.2} µs |",
                w.waits as f64 * 1000.0 / requests,
                w.waited_nanos as f64 / 1000.0 / requests
            );
        }
        let _ = writeln!(s);
    }
}

pub fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(s, "# Benchmarks\n");
    let _ = writeln!(
        s,
        "Written by `eum-social-bench` (see the README's *Benchmarks*); the raw figures are in \
         [`benchmarks.json`](benchmarks.json). The emulator binary (release build, `--log warn`) and a \
         bare hyper server answering a fixed small JSON body get the same load from a second process \
         on 127.0.0.1: one keep-alive HTTP/1.1 connection per worker, requests back to back for {} ms \
         per server and cell, in {} round(s) per cell (the bare server, then the emulator); a row \
         shows the round with the median throughput ratio, and lists every round's ratio. CPU/req is \
         the CPU time (user + system) the server spent per request during its run, from `/proc`: \
         it depends less than requests/s on how the CPUs were shared (a noisy host still moves \
         it). p50/p99 are per-request \
         latencies seen by the load generator.\n",
        fmt_count(r.settings.duration_ms),
        r.settings.rounds
    );
    let _ = writeln!(s, "## Machine\n");
    let _ = writeln!(s, "| CPU | CPUs | RAM | OS | rustc |\n|---|---|---|---|---|");
    let _ = writeln!(
        s,
        "| {} | {} | {:.1} GiB | {} | {} |\n",
        m.cpu, m.cpus, m.memory_gib, m.os, m.rustc
    );
    let extra = r.settings.emulator_args.join(" ");
    let _ = writeln!(
        s,
        "The emulator ran with `--port 0 --log warn{}{extra}` (for the loads also with a bench seed and \
         the log capacities below). The load generator shares the machine's CPUs with the server \
         under test, so a busy machine makes every figure noisy: compare runs on a quiet one.\n",
        if extra.is_empty() { "" } else { " " }
    );
    for note in &r.settings.notes {
        let _ = writeln!(s, "{note}\n");
    }
    let _ = writeln!(s, "## Targets\n");
    let _ = writeln!(s, "| target | measured | |\n|---|---|---|");
    for v in verdicts(r) {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            v.target,
            v.measured,
            if v.pass { "pass" } else { "**FAIL**" }
        );
    }
    let _ = writeln!(s, "\n## Throughput and latency\n");
    let _ = writeln!(
        s,
        "| operation | concurrency | bare req/s | emulator req/s | ratio | ratios of the rounds | bare CPU/req | emulator CPU/req | bare p50 | emulator p50 | bare p99 | emulator p99 | errors |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    );
    for c in &r.throughput {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.operation,
            c.concurrency,
            fmt_rate(c.bare.requests_per_s),
            fmt_rate(c.emulator.requests_per_s),
            fmt_ratio(c.throughput_ratio()),
            fmt_rounds(c),
            fmt_cpu(c.bare.server_cpu_us),
            fmt_cpu(c.emulator.server_cpu_us),
            fmt_ms(c.bare.p50_us),
            fmt_ms(c.emulator.p50_us),
            fmt_ms(c.bare.p99_us),
            fmt_ms(c.emulator.p99_us),
            cell_errors(c)
        );
    }
    lock_markdown(&mut s, r);
    if let Some(cell) = &r.consoles {
        console_markdown(&mut s, cell);
    }
    if let Some(p) = &r.persistence {
        let _ = writeln!(s, "\n## Persistence\n");
        let _ = writeln!(
            s,
            "SendWhatsAppMessage at concurrency {} with `--state-dir` (SQLite, WAL, `synchronous=FULL`; \
             a response only after its write is committed), on an empty state, then after {} more \
             messages; each round on a fresh state. The round with the median ratio is shown \
             (ratios of the rounds: {}).\n",
            p.concurrency,
            fmt_count(p.messages),
            if p.round_ratios.is_empty() {
                "-".to_string()
            } else {
                p.round_ratios.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", ")
            }
        );
        let _ = writeln!(s, "| state | req/s | p50 | p99 | errors |\n|---|---|---|---|---|");
        for (name, l) in [("empty", &p.empty), ("after the messages", &p.after)] {
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {} | {} |",
                fmt_rate(l.requests_per_s),
                fmt_ms(l.p50_us),
                fmt_ms(l.p99_us),
                l.errors()
            );
        }
    }
    let mem = &r.memory;
    let _ = writeln!(s, "\n## Start and memory\n");
    let _ = writeln!(s, "| measure | value |\n|---|---|");
    let _ = writeln!(
        s,
        "| start to READY, {} starts (after {} untimed) | median {:.1} ms, min {:.1} ms, max {:.1} ms |",
        r.ready_ms.samples.len(),
        r.settings.warmup_starts,
        r.ready_ms.median,
        r.ready_ms.min,
        r.ready_ms.max
    );
    let _ = writeln!(
        s,
        "| RSS idle after start | {} (peak {}) |",
        fmt_mb(mem.idle_rss_kb),
        fmt_mb(mem.idle_hwm_kb)
    );
    let rate: f64 =
        mem.sends.iter().map(|l| l.requests_per_s).sum::<f64>() / mem.sends.len().max(1) as f64;
    let _ = writeln!(
        s,
        "| RSS after {} sends (concurrency 64, {} req/s, {} errors) | {} after half, {} after all (peak {}) |",
        fmt_count(mem.sent()),
        fmt_rate(rate),
        fmt_count(mem.errors()),
        fmt_mb(mem.half_rss_kb),
        fmt_mb(mem.after_rss_kb),
        fmt_mb(mem.after_hwm_kb)
    );
    let _ = writeln!(
        s,
        "| log capacities | `--event-log-capacity {}`, `--message-log-capacity {}` |",
        mem.event_log_capacity, mem.message_log_capacity
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(rps: f64, p99_us: u64, non_2xx: u64) -> LoadResult {
        LoadResult {
            ok: 100,
            non_2xx,
            requests_per_s: rps,
            p50_us: 100,
            p99_us,
            ..Default::default()
        }
    }

    fn report() -> Report {
        let cell = |concurrency, bare: f64, emu: f64, p99| Comparison {
            operation: "ListLinkedWhatsAppBusinessAccounts".into(),
            concurrency,
            bare: load(bare, 500, 0),
            emulator: load(emu, p99, 0),
            ..Default::default()
        };
        Report {
            throughput: vec![
                cell(16, 20_000.0, 15_000.0, 1_500),
                cell(64, 40_000.0, 16_000.0, 4_000),
            ],
            ready_ms: Summary::of(&[5.0, 3.0, 9.0]),
            memory: Memory {
                idle_rss_kb: 8_000,
                idle_hwm_kb: 8_500,
                half_rss_kb: 40_000,
                after_rss_kb: 41_000,
                after_hwm_kb: 45_000,
                sends: vec![load(10_000.0, 1, 0)],
                event_log_capacity: 10_000,
                message_log_capacity: 10_000,
            },
            ..Default::default()
        }
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_count(0), "0");
        assert_eq!(fmt_count(999), "999");
        assert_eq!(fmt_count(1_000), "1,000");
        assert_eq!(fmt_count(1_234_567), "1,234,567");
        assert_eq!(fmt_rate(12_345.6), "12,346");
        assert_eq!(fmt_ms(1_234), "1.234 ms");
        assert_eq!(fmt_mb(10_000), "10.2 MB");
        assert_eq!(fmt_ratio(ratio(1.0, 4.0)), "0.25×");
        assert_eq!(fmt_ratio(ratio(1.0, 0.0)), "–");
    }

    #[test]
    fn medians() {
        assert_eq!(Summary::of(&[5.0, 3.0, 9.0]).median, 5.0);
        assert_eq!(Summary::of(&[4.0, 1.0, 3.0, 2.0]).median, 2.5);
        let s = Summary::of(&[]);
        assert_eq!((s.median, s.min, s.max), (0.0, 0.0, 0.0));
        assert_eq!(Summary::of(&[2.0, 1.0]).samples, vec![2.0, 1.0], "samples in run order");
    }

    #[test]
    fn the_median_round_is_kept_with_every_ratio_and_every_error() {
        let round = |bare: f64, emu: f64, non_2xx| Comparison {
            operation: "SendWhatsAppMessage".into(),
            concurrency: 64,
            bare: load(bare, 500, 0),
            emulator: load(emu, 900, non_2xx),
            ..Default::default()
        };
        let cell = Comparison::median_round(vec![
            round(100.0, 40.0, 0),
            round(100.0, 60.0, 2),
            round(80.0, 40.0, 0),
        ]);
        // Ratios 0.4, 0.6, 0.5: the third round is the median.
        assert_eq!(cell.emulator.requests_per_s, 40.0);
        assert_eq!(cell.bare.requests_per_s, 80.0);
        assert_eq!(cell.round_ratios, vec![0.4, 0.6, 0.5]);
        // The errors of a round not shown still count.
        assert_eq!(cell.other_round_errors, 2);
        assert_eq!(cell.errors(), 2);
        // Two rounds: the lower one.
        let cell = Comparison::median_round(vec![round(100.0, 70.0, 0), round(100.0, 30.0, 0)]);
        assert_eq!(cell.emulator.requests_per_s, 30.0);
        assert_eq!(Comparison::median_round(Vec::new()).round_ratios, Vec::<f64>::new());
    }

    #[test]
    fn lock_waits_are_shown_per_request() {
        let mut r = report();
        assert!(!markdown(&r).contains("## Lock waits"), "no section without figures");
        let waits = |waits, waited_nanos| crate::load::LockWaits { waits, waited_nanos };
        r.throughput[1].emulator.lock_waits = [
            ("partition".to_string(), waits(320, 6_400_000)),
            ("scheduler".to_string(), waits(0, 0)),
        ]
        .into();
        let md = markdown(&r);
        let section = md.split("## Lock waits").nth(1).expect("a lock section");
        // The sample load has 100 requests.
        let requests = (r.throughput[1].emulator.ok + r.throughput[1].emulator.non_2xx) as f64;
        let per_1000 = format!("{:.1} / {:.2} µs", 320.0 * 1000.0 / requests, 6_400.0 / requests);
        assert!(section.contains("| partition | scheduler |"), "{section}");
        assert!(section.contains(&per_1000), "{per_1000} in {section}");
        assert!(section.contains("| 0.0 / 0.00 µs |"), "{section}");
    }

    #[test]
    fn the_persistence_verdict_takes_the_median_round() {
        let round = |empty: f64, after: f64| PersistenceCell {
            concurrency: 8,
            messages: 10_000,
            empty: load(empty, 1_000, 0),
            after: load(after, 1_000, 0),
            round_ratios: Vec::new(),
        };
        // Ratios 0.70, 1.05, 0.90: the third round is the median.
        let cell = PersistenceCell::median_round(vec![
            round(2_000.0, 1_400.0),
            round(1_600.0, 1_680.0),
            round(1_500.0, 1_350.0),
        ]);
        assert_eq!(cell.empty.requests_per_s, 1_500.0);
        assert_eq!(cell.round_ratios.len(), 3);
        assert!((cell.round_ratios[0] - 0.70).abs() < 1e-9);
        let mut r = report();
        r.persistence = Some(cell);
        let v = verdicts(&r);
        let ratio = v.iter().find(|v| v.target.contains("empty state's rate")).unwrap();
        assert!(ratio.pass, "{}", ratio.measured);
        assert!(markdown(&r).contains("(ratios of the rounds: 0.70, 1.05, 0.90)"));
    }

    #[test]
    fn bounded_memory() {
        assert!(bounded(40_000, 41_000));
        assert!(bounded(100_000, 105_000), "within a tenth");
        assert!(!bounded(40_000, 60_000));
        assert!(bounded(40_000, 30_000), "shrinking is bounded");
    }

    #[test]
    fn verdicts_against_the_targets() {
        let r = report();
        let v = verdicts(&r);
        let find = |prefix: &str| v.iter().find(|v| v.target.contains(prefix)).unwrap().clone();
        let ratio = find("50% of bare");
        assert!(!ratio.pass, "0.40 < 0.5");
        assert!(ratio.measured.starts_with("0.40× (16,000 vs 40,000 req/s)"), "{}", ratio.measured);
        assert!(find("p99 < 2 ms").pass);
        assert!(find("READY").pass);
        assert_eq!(find("READY").measured, "5.0 ms (min 3.0, max 9.0)");
        assert!(find("idle RSS").pass);
        assert!(find("RSS bounded").pass);
    }

    #[test]
    fn a_run_with_errors_fails_its_targets() {
        let mut r = report();
        r.throughput[0].emulator.non_2xx = 3;
        let v = verdicts(&r);
        let p99 = v.iter().find(|v| v.target.contains("p99")).unwrap();
        assert!(!p99.pass);
        assert!(p99.measured.ends_with("3 ERRORS"), "{}", p99.measured);
        assert!(markdown(&r).contains("| **3** |"));
    }

    fn console_round(without: f64, with: f64, refetches: u64) -> ConsoleRound {
        let console = |phone: &str| ConsoleResult {
            phone: phone.into(),
            messages: 20,
            resyncs: 15,
            refetches,
            ..Default::default()
        };
        ConsoleRound {
            without: LoadResult { server_cpu_us: Some(33.0), ..load(without, 5_000, 0) },
            with: LoadResult { server_cpu_us: Some(34.5), ..load(with, 5_400, 0) },
            consoles: vec![console("phone-number-id-a"), console("phone-number-id-b")],
        }
    }

    fn console_cell(rounds: Vec<ConsoleRound>) -> ConsoleCell {
        ConsoleCell { concurrency: 64, consoles: 2, settle_ms: 3_000, rounds }
    }

    #[test]
    fn the_consoles_verdict_takes_the_median_round() {
        // Ratios 0.90, 0.97, 0.99: the second round is the median.
        let cell = console_cell(vec![
            console_round(30_000.0, 27_000.0, 16),
            console_round(30_000.0, 29_100.0, 16),
            console_round(30_000.0, 29_700.0, 16),
        ]);
        assert_eq!(cell.median_round().unwrap().with.requests_per_s, 29_100.0);
        let v = consoles_verdict(&cell);
        assert!(v.pass, "{v:?}");
        assert_eq!(
            v.target,
            "SendWhatsAppMessage with 2 consoles connected: ≥ 95% of the throughput without, at \
             concurrency 64 (median round)"
        );
        assert_eq!(v.measured, "0.97× (29,100 vs 30,000 req/s; 96 refetches by the consoles)");
        // Two rounds: the lower one.
        let cell = console_cell(vec![
            console_round(30_000.0, 29_700.0, 16),
            console_round(30_000.0, 27_000.0, 16),
        ]);
        assert!(!consoles_verdict(&cell).pass, "0.90 < 0.95");
        assert_eq!(console_cell(Vec::new()).median_round().map(|r| r.with.requests_per_s), None);
        assert!(!consoles_verdict(&console_cell(Vec::new())).pass);
    }

    #[test]
    fn idle_or_failing_consoles_fail_the_consoles_verdict() {
        let idle = console_cell(vec![console_round(30_000.0, 30_000.0, 0)]);
        let v = consoles_verdict(&idle);
        assert!(!v.pass);
        assert!(v.measured.contains("A CONSOLE READ OR REFETCHED NOTHING"), "{}", v.measured);
        let mut failing = console_cell(vec![console_round(30_000.0, 30_000.0, 16)]);
        failing.rounds[0].consoles[1].errors = 2;
        failing.rounds[0].consoles[1].first_error = Some("404 no such number".into());
        let v = consoles_verdict(&failing);
        assert!(!v.pass);
        assert!(v.measured.ends_with("2 ERRORS"), "{}", v.measured);
        let r = Report { consoles: Some(failing), ..report() };
        assert!(text(&r).contains("errors with the consoles: 404 no such number"));
        assert!(markdown(&r).contains("First error: `404 no such number`"));
    }

    #[test]
    fn tables_show_the_consoles_rounds() {
        let cell = console_cell(vec![
            console_round(30_000.0, 29_100.0, 16),
            console_round(30_000.0, 27_000.0, 16),
        ]);
        let r = Report { consoles: Some(cell), ..report() };
        let md = markdown(&r);
        assert!(md.contains("## With web consoles connected"), "{md}");
        assert!(md.contains("`phone-number-id-a`, `phone-number-id-b`"), "{md}");
        assert!(
            md.contains(
                "| 1 | 30,000 | 29,100 | 0.97× | 5.000 ms | 5.400 ms | 33.0 µs | 34.5 µs | 40 (30) | 32 | 0 |"
            ),
            "{md}"
        );
        assert!(md.contains("| 2 (median) | 30,000 | 27,000 | 0.90× |"), "{md}");
        assert!(md.contains("| SendWhatsAppMessage with 2 consoles connected: ≥ 95%"), "{md}");
        let text = text(&r);
        assert!(text.contains("without and with 2 consoles connected"), "{text}");
        assert!(text.contains("2 (median)"), "{text}");
        assert!(text.contains("[FAIL] SendWhatsAppMessage with 2 consoles connected"), "{text}");
        let json = serde_json::to_string(&Report { verdicts: verdicts(&r), ..r }).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back.consoles.unwrap().rounds[1].consoles[0].refetches, 16);
        assert!(back.verdicts.iter().any(|v| v.target.contains("consoles connected") && !v.pass));
    }

    #[test]
    fn older_reports_have_no_consoles_cell() {
        let json = serde_json::to_string(&report()).unwrap();
        assert!(!json.contains("\"consoles\""), "{json}");
        let back: Report = serde_json::from_str(&json).unwrap();
        assert!(back.consoles.is_none());
        assert!(!verdicts(&back).iter().any(|v| v.target.contains("consoles")));
    }

    #[test]
    fn tables_show_every_cell() {
        let r = report();
        let md = markdown(&r);
        assert!(
            md.contains("| ListLinkedWhatsAppBusinessAccounts | 64 | 40,000 | 16,000 | 0.40× |"),
            "{md}"
        );
        assert!(md.contains("**FAIL**"));
        let text = text(&r);
        assert!(
            text.contains("[FAIL] ListLinkedWhatsAppBusinessAccounts: ≥ 50% of bare"),
            "{text}"
        );
        let json = serde_json::to_string(&r).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back.throughput.len(), 2);
    }
}
