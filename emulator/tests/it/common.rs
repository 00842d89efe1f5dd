//! What the tests of the real `eum-social` binary share: starting it and reading its READY line,
//! a minimal HTTP/1.1 GET over std (no async runtime needed), stopping it.
#![allow(dead_code)] // each test file uses its own part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_eum-social");

/// Starts the binary on an OS-chosen port (stdout discarded) and returns it with the URL from
/// its READY line.
pub fn start(args: &[&str]) -> (Child, String) {
    start_with_stdout(args, Stdio::null())
}

/// [`start`] with the binary's stdout going to `stdout` (e.g. `Stdio::piped()`).
pub fn start_with_stdout(args: &[&str], stdout: Stdio) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--log", "warn"])
        .args(args)
        .env_remove("EUM_SOCIAL_CONTROL_TOKEN")
        .stderr(Stdio::piped())
        .stdout(stdout)
        .spawn()
        .expect("binary starts");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(url) = line.strip_prefix("READY ") {
                    return (child, url.to_string());
                }
            }
            _ => break,
        }
    }
    stop(child);
    panic!("no READY line");
}

/// GET `url` with extra `headers`: the status and the whole response (head and body).
pub fn raw_get(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.len() > 12, "no answer to GET {url}");
    let status = response[9..12].parse().unwrap();
    (status, response)
}

/// GET `url`: the status and the body.
pub fn get(url: &str) -> (u16, String) {
    let (status, response) = raw_get(url, &[]);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// Kills the binary and reaps it.
pub fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}
