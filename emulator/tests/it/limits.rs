//! Slow or stalled clients cannot exhaust the server: header, body and idle timeouts, the
//! connection limit, and a graceful shutdown that drains in-flight requests. Raw TCP sockets on
//! 127.0.0.1; every wait is bounded.

use std::time::Duration;

use eum_social_emulator::{Config, Emulator, Seed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Long enough for any answer on a loaded machine; only reached when something is wrong.
const BOUND: Duration = Duration::from_secs(20);

async fn start(config: Config) -> Emulator {
    Emulator::start_with(config, Seed::default_seed()).await.expect("emulator starts")
}

fn limits(max_connections: usize, header_ms: u64, body_ms: u64, idle_ms: u64) -> Config {
    Config {
        max_connections,
        header_timeout_ms: header_ms,
        body_timeout_ms: body_ms,
        idle_timeout_ms: idle_ms,
        ..Config::default()
    }
}

async fn connect(emu: &Emulator) -> TcpStream {
    TcpStream::connect(emu.addr).await.expect("connects")
}

/// Reads until the server closes the connection (EOF or reset); returns what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(BOUND, stream.read(&mut buf)).await {
            Err(_) => panic!(
                "the server kept the connection open; got so far: {}",
                String::from_utf8_lossy(&out)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return out,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one response with a Content-Length body; returns (status line, headers+body text).
async fn read_response(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(BOUND, stream.read(&mut buf))
            .await
            .expect("a response within the bound")
            .expect("readable");
        assert!(n > 0, "closed before a full response: {}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0usize);
            if body.len() >= length {
                return text;
            }
        }
    }
}

const HEALTH: &[u8] = b"GET /_emulator/health HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[tokio::test]
async fn a_request_line_that_stalls_is_closed_after_the_header_timeout() {
    let emu = start(limits(1024, 200, 30_000, 60_000)).await;
    let mut stalled = connect(&emu).await;
    stalled.write_all(b"GET /_emulator/hea").await.unwrap();
    let answered = read_until_closed(&mut stalled).await;
    assert!(answered.is_empty(), "{}", String::from_utf8_lossy(&answered));
    // The server still serves everyone else.
    let mut fresh = connect(&emu).await;
    fresh.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut fresh).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_connection_that_never_sends_a_byte_is_closed_after_the_header_timeout() {
    let emu = start(limits(1024, 200, 30_000, 600_000)).await;
    let mut silent = connect(&emu).await;
    assert!(read_until_closed(&mut silent).await.is_empty());
}

#[tokio::test]
async fn dribbling_header_bytes_does_not_extend_the_header_timeout() {
    let emu = start(limits(1024, 300, 30_000, 60_000)).await;
    let mut slow = connect(&emu).await;
    // One byte every 50 ms, for longer than the timeout: the deadline runs from the first byte.
    let dribble = async {
        for b in b"GET /_emulator/health HTTP/1.1\r\nX-Slow: ".iter().cycle().take(400) {
            if slow.write_all(&[*b]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    let refused = tokio::time::timeout(BOUND, dribble).await.expect("bounded");
    assert!(refused, "the server accepted header bytes for 20 s");
}

#[tokio::test]
async fn a_body_that_stops_midway_gets_a_modeled_408_and_the_connection_closed() {
    let emu = start(limits(1024, 10_000, 200, 60_000)).await;
    let mut stream = connect(&emu).await;
    stream
        .write_all(
            b"POST /v1/whatsapp/send HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
              Content-Length: 1000\r\n\r\n{\"message\"",
        )
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&read_until_closed(&mut stream).await).to_string();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("x-amzn-errortype: validationexception"), "{answer}");
    assert!(lower.contains("x-amzn-requestid: "), "{answer}");
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert!(json["message"].as_str().unwrap().contains("stalled"), "{json}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let emu = start(limits(1024, 10_000, 30_000, 200)).await;
    let mut stream = connect(&emu).await;
    stream.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    // Kept alive for a second request at once…
    stream.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    // …and closed once idle.
    assert!(read_until_closed(&mut stream).await.is_empty());
}

#[tokio::test]
async fn a_request_in_flight_is_not_cut_by_the_idle_or_header_timeout() {
    let emu = start(limits(1024, 100, 30_000, 100)).await;
    let mut stream = connect(&emu).await;
    // A long poll on the event log: waits 1 s for an event that never comes.
    stream
        .write_all(
            b"GET /_emulator/events?kind=none&count=1&waitMs=1000 HTTP/1.1\r\nHost: localhost\r\n\r\n",
        )
        .await
        .unwrap();
    let answer = read_response(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// `n` connections that sent part of a request line and then stalled.
async fn stalled_connections(emu: &Emulator, n: usize) -> Vec<TcpStream> {
    let mut stalled = Vec::new();
    for _ in 0..n {
        let mut s = connect(emu).await;
        s.write_all(b"GET /_emul").await.unwrap();
        stalled.push(s);
    }
    stalled
}

#[tokio::test]
async fn excess_connections_wait_until_a_served_one_closes() {
    // Header timeout far away: only a closing client frees a slot.
    let emu = start(limits(4, 60_000, 60_000, 60_000)).await;
    let mut stalled = stalled_connections(&emu, 4).await;
    // The fifth connects (the kernel's backlog takes it) but is not served…
    let mut fifth = connect(&emu).await;
    fifth.write_all(HEALTH).await.unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), fifth.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond max connections: {early:?}");
    // …until one of the four goes away.
    drop(stalled.pop());
    let answer = read_response(&mut fifth).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn stalled_connections_time_out_and_free_their_slots() {
    let emu = start(limits(4, 200, 30_000, 60_000)).await;
    let stalled = stalled_connections(&emu, 4).await;
    let mut fifth = connect(&emu).await;
    fifth.write_all(HEALTH).await.unwrap();
    let answer = read_response(&mut fifth).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    for mut s in stalled {
        assert!(read_until_closed(&mut s).await.is_empty());
    }
}

#[tokio::test]
async fn shutdown_drains_the_request_in_flight_and_closes_idle_connections() {
    let emu = start(Config::default()).await;
    let mut idle = connect(&emu).await;
    idle.write_all(HEALTH).await.unwrap();
    assert!(read_response(&mut idle).await.starts_with("HTTP/1.1 200"));
    // Stop once the long poll is in its handler, waiting for an event.
    let events = emu.state.bus.log.clone();
    let waiting = events.waiting().notified();
    tokio::pin!(waiting);
    waiting.as_mut().enable();
    let mut busy = connect(&emu).await;
    busy.write_all(
        b"GET /_emulator/events?kind=none&count=1&waitMs=500 HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await
    .unwrap();
    tokio::time::timeout(BOUND, waiting).await.expect("the long poll reached its handler");
    let stopping = tokio::spawn(emu.stop());
    let answer = read_response(&mut busy).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    tokio::time::timeout(BOUND, stopping).await.expect("stops").unwrap().unwrap();
    assert!(read_until_closed(&mut idle).await.is_empty());
}
