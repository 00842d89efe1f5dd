//! A simulated web console (`eum-social-bench console …`): what one browser tab on the console's
//! chats page asks of the emulator. It keeps `GET /_emulator/stream` (Server-Sent Events) open
//! and, on each stream message, refetches the number's conversations and the open thread, each
//! at most every 250 ms, as the console's refreshers do. It prints `READY <stream URL>` on stderr
//! once the stream said `hello`, stops after `--duration-ms` or when its stdin closes (the runner
//! closes it when its load ends), and prints what it read and did as JSON on stdout.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::load::{self, REQUEST_TIMEOUT};

/// The console's refresher gap (`refresher(fn, gap = 250)` in `core.js`): at most 4 refetches a
/// second of each view, however many stream messages arrive.
const REFRESH_GAP: Duration = Duration::from_millis(250);
/// The thread page the console asks for.
const THREAD_LIMIT: usize = 50;

#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleArgs {
    /// Server URL, `http://127.0.0.1:PORT`.
    #[arg(long)]
    pub url: String,
    /// The number whose chats page is open (`phone-number-id-…`).
    #[arg(long)]
    pub phone: String,
    /// The customer whose thread is open (`+1 425…` is named by its digits, as the console does).
    #[arg(long)]
    pub customer: String,
    /// The console's account scope (a query parameter of every request).
    #[arg(long)]
    pub account: String,
    /// The console's Region scope (a query parameter of every request).
    #[arg(long)]
    pub region: String,
    /// Stop after this many milliseconds (or earlier, when stdin closes).
    #[arg(long, default_value_t = 10_000)]
    pub duration_ms: u64,
}

/// What one console read and did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ConsoleResult {
    pub phone: String,
    /// Stream messages (`hello`, `events`, `changed`, `resync`; keep-alive comments not counted).
    pub messages: u64,
    /// Of those, `resync`: the stream fell behind the event log and the console reloads.
    pub resyncs: u64,
    /// Refetches answered with a 2xx status (the conversations and the thread, each counted).
    pub refetches: u64,
    /// Refetches that failed (non-2xx, broken connection, timeout), and the stream ending early.
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed_s: f64,
}

/// Counters shared by the stream reader and the two refreshers (aborted at the end, so they
/// count as they go).
#[derive(Debug, Default)]
struct Counts {
    messages: AtomicU64,
    resyncs: AtomicU64,
    refetches: AtomicU64,
    errors: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
}

impl Counts {
    fn fail(&self, error: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        first.get_or_insert(error);
    }
}

pub async fn run(args: ConsoleArgs) -> Result<ConsoleResult, String> {
    let duration = Duration::from_millis(args.duration_ms);
    watch(args, stopped(duration)).await
}

/// The console until `stop` resolves.
async fn watch(args: ConsoleArgs, stop: impl Future<Output = ()>) -> Result<ConsoleResult, String> {
    let host = load::host_of(&args.url)?;
    let scope = format!("account={}&region={}", args.account, args.region);
    let views = [
        format!("/_emulator/conversations?phoneNumberId={}&{scope}", args.phone),
        format!(
            "/_emulator/conversations/{}/{}?limit={THREAD_LIMIT}&{scope}",
            args.phone,
            customer_id(&args.customer)
        ),
    ];
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    tokio::pin!(stop);
    let mut stream = open_stream(&host, &format!("/_emulator/stream?{scope}")).await?;
    let wakes: Vec<Arc<Notify>> = views.iter().map(|_| Arc::new(Notify::new())).collect();
    let refreshers: Vec<_> = views
        .into_iter()
        .zip(&wakes)
        .map(|(path, wake)| {
            tokio::spawn(refresher(host.clone(), path, wake.clone(), counts.clone()))
        })
        .collect();
    let ready = format!("{}/_emulator/stream", args.url.trim_end_matches('/'));
    tokio::select! {
        why = read_stream(&mut stream, &args.phone, &ready, &wakes, &counts) => {
            // The stream ended before the load did: the figures are of a console that
            // stopped listening, which the report must show.
            counts.fail(why);
            (&mut stop).await;
        }
        () = &mut stop => {}
    }
    for r in refreshers {
        r.abort();
    }
    let first_error = counts.first_error.lock().map(|e| e.clone()).unwrap_or_default();
    Ok(ConsoleResult {
        phone: args.phone,
        messages: counts.messages.load(Ordering::Relaxed),
        resyncs: counts.resyncs.load(Ordering::Relaxed),
        refetches: counts.refetches.load(Ordering::Relaxed),
        errors: counts.errors.load(Ordering::Relaxed),
        first_error,
        elapsed_s: started.elapsed().as_secs_f64(),
    })
}

/// Resolves after `duration` or when stdin reaches its end, whichever comes first. Stdin is read
/// on a plain thread: a blocked tokio stdin read would keep the process from exiting.
async fn stopped(duration: Duration) {
    let (closed_tx, closed) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        let _ = closed_tx.send(());
    });
    tokio::select! {
        () = tokio::time::sleep(duration) => {}
        _ = closed => {}
    }
}

/// `GET path` with `accept: text/event-stream` on a connection of its own; the answer's body.
async fn open_stream(host: &str, path: &str) -> Result<hyper::body::Incoming, String> {
    let mut sender = load::connect(host).await?;
    let request = get(host, path).header("accept", "text/event-stream");
    let request = request.body(Full::new(Bytes::new())).expect("a well-formed request");
    let response = sender.send_request(request).await.map_err(|e| format!("stream: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("stream: {}", response.status()));
    }
    // The connection task lives on (spawned by `connect`) while the body is read.
    Ok(response.into_body())
}

fn get(host: &str, path: &str) -> hyper::http::request::Builder {
    Request::builder().method(hyper::Method::GET).uri(path).header("host", host)
}

/// Reads stream messages until the stream ends (and says why); wakes the refreshers on each one
/// that concerns `phone`, and prints `READY` once it said `hello`.
async fn read_stream(
    body: &mut hyper::body::Incoming,
    phone: &str,
    ready: &str,
    wakes: &[Arc<Notify>],
    counts: &Counts,
) -> String {
    let mut blocks = SseBlocks::default();
    let mut said_ready = false;
    loop {
        let frame = match body.frame().await {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => return format!("the stream broke: {e}"),
            None => return "the stream ended early".into(),
        };
        let Ok(data) = frame.into_data() else { continue };
        for message in blocks.push(&data).iter().filter_map(|b| parse_block(b)) {
            counts.messages.fetch_add(1, Ordering::Relaxed);
            if message.event == "resync" {
                counts.resyncs.fetch_add(1, Ordering::Relaxed);
            }
            if !said_ready && message.event == "hello" {
                said_ready = true;
                eprintln!("READY {ready}");
            }
            if asks_refresh(&message, phone) {
                // A permit is kept while a refresher is busy or waiting out its gap: bursts
                // coalesce into one refetch, as the console's `pending` flag does.
                wakes.iter().for_each(|w| w.notify_one());
            }
        }
    }
}

/// One view's refresher: on a wake, at most once per [`REFRESH_GAP`], `GET path` over its own
/// keep-alive connection (the stream holds another, as in a browser).
async fn refresher(host: String, path: String, wake: Arc<Notify>, counts: Arc<Counts>) {
    let mut sender = None;
    let mut last: Option<tokio::time::Instant> = None;
    loop {
        wake.notified().await;
        if let Some(last) = last {
            tokio::time::sleep_until(last + REFRESH_GAP).await;
        }
        last = Some(tokio::time::Instant::now());
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match load::connect(&host).await {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    counts.fail(e);
                    continue;
                }
            },
        };
        let request = get(&host, &path).body(Full::new(Bytes::new())).expect("a request");
        let exchange = async {
            s.ready().await?;
            let response = s.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, body))
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(Ok((status, _))) if status.is_success() => {
                counts.refetches.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Ok((status, body))) => counts.fail(format!(
                "{path}: {status} {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            )),
            Ok(Err(e)) => {
                counts.fail(format!("{path}: {e}"));
                sender = None;
            }
            Err(_) => {
                counts.fail(format!("{path}: no answer within {REQUEST_TIMEOUT:?}"));
                sender = None;
            }
        }
    }
}

/// The customer as the console names it in a thread's path: `+1 (425) 555-0123` is 14255550123.
pub fn customer_id(customer: &str) -> String {
    customer.chars().filter(|c| !"+ -()".contains(*c)).collect()
}

/// Splits a Server-Sent Events byte stream into blocks (the text between blank lines), across
/// reads that end anywhere. axum ends lines with `\n`; a `\r\n` stream is read too.
#[derive(Debug, Default)]
pub struct SseBlocks {
    buf: Vec<u8>,
}

impl SseBlocks {
    /// The blocks completed by `bytes`.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buf.extend(bytes.iter().filter(|&&b| b != b'\r'));
        let mut blocks = Vec::new();
        while let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = self.buf.drain(..end + 2).collect();
            blocks.push(String::from_utf8_lossy(&block[..end]).into_owned());
        }
        blocks
    }
}

/// One stream message: its `event:` name and its `data:` lines joined.
#[derive(Debug, Clone, PartialEq)]
pub struct SseMessage {
    pub event: String,
    pub data: String,
}

/// The message of a block, as an `EventSource` reads it (and `stream.js`): `event:` names it
/// (`message` without), `data:` lines are joined with `\n`, one space after the colon is
/// dropped, comments (`:` lines) are skipped; a block without data (a keep-alive) is no message.
pub fn parse_block(block: &str) -> Option<SseMessage> {
    let mut event = "message".to_string();
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines().filter(|l| !l.is_empty() && !l.starts_with(':')) {
        let (key, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match key {
            "event" => event = value.to_string(),
            "data" => data.push(value),
            _ => {}
        }
    }
    (!data.is_empty()).then(|| SseMessage { event, data: data.join("\n") })
}

/// Whether the chats page of `phone` refetches on `message` (`onStream` in `chats.js`): an
/// `events` message only when one of its events is about this number (or about none).
pub fn asks_refresh(message: &SseMessage, phone: &str) -> bool {
    if message.event != "events" {
        return true;
    }
    let Ok(data) = serde_json::from_str::<serde_json::Value>(&message.data) else {
        return false;
    };
    data["events"].as_array().is_some_and(|events| {
        events.iter().any(|e| e["phoneNumberId"].as_str().is_none_or(|p| p == phone))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_across_reads() {
        let mut blocks = SseBlocks::default();
        assert!(blocks.push(b"event: hello\ndata: {\"seq\"").is_empty());
        assert_eq!(
            blocks.push(b":1}\n\n:\n\nevent: ch"),
            vec!["event: hello\ndata: {\"seq\":1}", ":"]
        );
        assert_eq!(blocks.push(b"anged\r\ndata: {}\r\n\r\n"), vec!["event: changed\ndata: {}"]);
        assert!(blocks.push(b"").is_empty());
        // A blank line split between two reads.
        assert!(blocks.push(b"data: 1\n").is_empty());
        assert_eq!(blocks.push(b"\n"), vec!["data: 1"]);
    }

    #[test]
    fn messages_of_blocks() {
        assert_eq!(
            parse_block("event: resync\ndata: {\"seq\":7}"),
            Some(SseMessage { event: "resync".into(), data: "{\"seq\":7}".into() })
        );
        assert_eq!(
            parse_block(": a comment\ndata:a\ndata:  b\nid: 3"),
            Some(SseMessage { event: "message".into(), data: "a\n b".into() })
        );
        assert_eq!(parse_block(":"), None, "a keep-alive");
        assert_eq!(parse_block("event: hello"), None, "no data");
    }

    #[test]
    fn which_messages_refetch() {
        let message =
            |event: &str, data: &str| SseMessage { event: event.into(), data: data.into() };
        let events = |ids: &str| message("events", &format!("{{\"events\":[{ids}]}}"));
        assert!(asks_refresh(&message("hello", "{}"), "phone-number-id-a"));
        assert!(asks_refresh(&message("changed", "{}"), "phone-number-id-a"));
        assert!(asks_refresh(&message("resync", "{}"), "phone-number-id-a"));
        let a = "phone-number-id-a";
        assert!(asks_refresh(
            &events(
                r#"{"phoneNumberId":"phone-number-id-b"},{"phoneNumberId":"phone-number-id-a"}"#
            ),
            a
        ));
        assert!(!asks_refresh(&events(r#"{"phoneNumberId":"phone-number-id-b"}"#), a));
        assert!(asks_refresh(&events(r#"{"phoneNumberId":null}"#), a), "about no number");
        assert!(!asks_refresh(&message("events", "not json"), a));
    }

    /// A stand-in for the emulator on 127.0.0.1: the stream sends `hello`, an `events` message
    /// about another number and a `changed` one (split across writes) and stays open; every other
    /// GET is answered `{}` on a keep-alive connection and its path recorded.
    async fn fake_emulator() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let paths = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = paths.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    loop {
                        let mut head = Vec::new();
                        loop {
                            let mut line = String::new();
                            if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            head.push(line);
                        }
                        let path = head[0].split(' ').nth(1).unwrap().to_string();
                        if path.starts_with("/_emulator/stream") {
                            let s = stream.get_mut();
                            s.write_all(
                                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n",
                            )
                            .await
                            .unwrap();
                            s.write_all(b"event: hello\ndata: {\"seq\":0}\n\n:\n\nevent: ev")
                                .await
                                .unwrap();
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            let other = r#"{"events":[{"phoneNumberId":"phone-number-id-b"}]}"#;
                            let rest =
                                format!("ents\ndata: {other}\n\nevent: changed\ndata: {{}}\n\n");
                            s.write_all(rest.as_bytes()).await.unwrap();
                            std::future::pending::<()>().await;
                        }
                        seen.lock().unwrap().push(path);
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
                        stream.get_mut().write_all(answer).await.unwrap();
                    }
                });
            }
        });
        (url, paths)
    }

    #[tokio::test]
    async fn a_console_reads_the_stream_and_refetches_its_views() {
        let (url, paths) = fake_emulator().await;
        let args = ConsoleArgs {
            url,
            phone: "phone-number-id-a".into(),
            customer: "+14255550123".into(),
            account: "809904170947".into(),
            region: "us-west-2".into(),
            duration_ms: 0,
        };
        let result = watch(args, tokio::time::sleep(Duration::from_millis(1_000))).await.unwrap();
        assert_eq!((result.messages, result.resyncs, result.errors), (3, 0, 0), "{result:?}");
        // `hello` refetches both views at once; `changed` once more each after the 250 ms gap;
        // the `events` message about another number none.
        assert_eq!(result.refetches, 4, "{result:?}");
        let mut paths = paths.lock().unwrap().clone();
        paths.sort();
        paths.dedup();
        assert_eq!(
            paths,
            vec![
                "/_emulator/conversations/phone-number-id-a/14255550123?limit=50&account=809904170947&region=us-west-2",
                "/_emulator/conversations?phoneNumberId=phone-number-id-a&account=809904170947&region=us-west-2",
            ]
        );
    }

    #[test]
    fn customers_are_named_by_their_digits() {
        assert_eq!(customer_id("+1 (425) 555-0123"), "14255550123");
        assert_eq!(customer_id("14255550123"), "14255550123");
    }
}
