//! The binary's flags for rate limits, fault rules and the request log: `--quotas`, `--faults`,
//! `--seed-rng`, `--request-log-capacity`, `--log-requests`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{BIN, get, start_with_stdout, stop};

/// The binary with its stdout piped (request lines are read from it).
fn start(args: &[&str]) -> (Child, String) {
    start_with_stdout(args, Stdio::piped())
}

/// Runs the binary to its exit (a bad flag must stop it before READY).
fn run_to_exit(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--log", "warn"])
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("binary starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (status.code().unwrap_or(-1), stderr)
}

/// The first line of `stdout` that starts with `prefix` (up to 10 s).
fn line_starting(stdout: ChildStdout, prefix: &str) -> String {
    let prefix = prefix.to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Reads to the end, so that the emulator's stdout stays open.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with(&prefix) {
                let _ = tx.send(line);
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("a request line on stdout")
}

#[test]
fn bad_quota_and_fault_files_stop_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let quotas = dir.path().join("quotas.json");
    std::fs::write(&quotas, r#"{"SendWhatsAppMessage": {"rate": -5, "burst": 10}}"#).unwrap();
    let (code, stderr) = run_to_exit(&["--quotas", quotas.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("quotas.json") && stderr.contains("SendWhatsAppMessage.rate"),
        "{stderr}"
    );
    assert!(!stderr.contains("READY"));

    let (code, stderr) = run_to_exit(&["--quotas", "/nonexistent/quotas.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read"), "{stderr}");

    let faults = dir.path().join("faults.json");
    std::fs::write(
        &faults,
        r#"[{"operation": "TagResource", "latencyMs": 5}, {"operation": "TagResource", "probability": 3, "latencyMs": 5}]"#,
    )
    .unwrap();
    let (code, stderr) = run_to_exit(&["--faults", faults.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("rule 1") && stderr.contains("probability"), "{stderr}");
    std::fs::write(&faults, r#"{"not": "a list"}"#).unwrap();
    let (code, stderr) = run_to_exit(&["--faults", faults.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("list"), "{stderr}");
}

#[test]
fn quota_and_fault_files_seed_rng_and_request_lines() {
    let dir = tempfile::tempdir().unwrap();
    let quotas = dir.path().join("quotas.json");
    std::fs::write(&quotas, r#"{"TagResource": {"rate": 2.5, "burst": 4}}"#).unwrap();
    let faults = dir.path().join("faults.json");
    std::fs::write(
        &faults,
        r#"[{"operation": "GetLinkedWhatsAppBusinessAccount", "latencyMs": 1}]"#,
    )
    .unwrap();
    let (mut child, url) = start(&[
        "--quotas",
        quotas.to_str().unwrap(),
        "--faults",
        faults.to_str().unwrap(),
        "--seed-rng",
        "7",
        "--request-log-capacity",
        "2",
        "--log-requests",
    ]);
    let stdout = child.stdout.take().unwrap();
    let (status, body) = get(&format!("{url}/_emulator/quotas"));
    assert_eq!(status, 200);
    let quotas: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(quotas["enabled"], true);
    assert!(quotas["source"].as_str().unwrap().ends_with("quotas.json"), "{quotas}");
    assert_eq!(quotas["operations"]["TagResource"]["rate"], 2.5);
    assert_eq!(quotas["operations"]["TagResource"]["burst"], 4);
    assert_eq!(quotas["operations"]["SendWhatsAppMessage"]["rate"], 1000.0);

    let (_, body) = get(&format!("{url}/_emulator/faults"));
    let faults: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(faults["seedRng"], 7);
    assert_eq!(faults["rules"][0]["operation"], "GetLinkedWhatsAppBusinessAccount");

    let (status, _) =
        get(&format!("{url}/v1/whatsapp/waba/details?id=waba-0aae9cf04cf24c66960f291c793359b4"));
    assert_eq!(status, 200);
    let line = line_starting(stdout, "request ");
    assert!(
        line.contains("GET /v1/whatsapp/waba/details GetLinkedWhatsAppBusinessAccount")
            && line.contains(" 200 - "),
        "{line}"
    );
    for _ in 0..2 {
        get(&format!("{url}/v1/whatsapp/waba/list"));
    }
    let (_, body) = get(&format!("{url}/_emulator/requests"));
    let log: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(log["capacity"], 2);
    assert_eq!(log["requests"].as_array().unwrap().len(), 2, "bounded by --request-log-capacity");
    let (_, body) = get(&format!("{url}/_emulator/faults"));
    let faults: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(faults["rules"][0]["fired"], 1);
    stop(child);

    // Request lines to a closed stdout (`| head -1`) do not fail the requests.
    let (mut child, url) = start(&["--quotas", "off", "--log-requests"]);
    drop(child.stdout.take());
    let (_, body) = get(&format!("{url}/_emulator/quotas"));
    assert!(body.contains("\"enabled\":false"), "{body}");
    for _ in 0..3 {
        assert_eq!(get(&format!("{url}/v1/whatsapp/waba/list")).0, 200);
    }
    stop(child);
}
