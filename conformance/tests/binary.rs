//! The real `eum-social-conformance` binary against an emulator started in-process: its JSON and
//! JUnit reports parse and agree with its exit status, `--record` writes one file per scenario,
//! and a non-local endpoint is refused before anything is sent.

use std::path::Path;
use std::process::Output;

use eum_social_emulator::Emulator;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_eum-social-conformance");

/// Runs the binary with only `endpoint` and fixed credentials in its AWS environment.
async fn conformance(endpoint: &str, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("AWS_") {
            command.env_remove(key);
        }
    }
    command
        .args(args)
        .env("AWS_ENDPOINT_URL_SOCIALMESSAGING", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "809904170947")
        .env("AWS_SECRET_ACCESS_KEY", "conformance")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .kill_on_drop(true);
    command.output().await.expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Counts of `testcase`, `failure` and `skipped` elements, and the `tests`/`failures` attributes
/// of the `testsuite`, read with an XML parser (which also proves the file well-formed).
#[derive(Debug, Default, PartialEq)]
struct Junit {
    testcases: usize,
    failures: usize,
    skipped: usize,
    suite_tests: Option<usize>,
    suite_failures: Option<usize>,
    names: Vec<String>,
}

fn parse_junit(path: &Path) -> Junit {
    use quick_xml::events::Event;
    let xml = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut out = Junit::default();
    loop {
        match reader.read_event().unwrap_or_else(|e| panic!("bad XML: {e}\n{xml}")) {
            Event::Start(e) | Event::Empty(e) => {
                let attr = |name: &str| {
                    e.try_get_attribute(name)
                        .unwrap()
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                };
                match e.name().as_ref() {
                    b"testsuite" => {
                        out.suite_tests = attr("tests").map(|v| v.parse().unwrap());
                        out.suite_failures = attr("failures").map(|v| v.parse().unwrap());
                    }
                    b"testcase" => {
                        out.testcases += 1;
                        out.names.push(attr("name").unwrap());
                    }
                    b"failure" => out.failures += 1,
                    b"skipped" => out.skipped += 1,
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("the JSON report parses")
}

#[tokio::test]
async fn a_full_run_passes_and_both_reports_say_so() {
    let emu = Emulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (json, junit, record) =
        (dir.path().join("report.json"), dir.path().join("report.xml"), dir.path().join("rec"));
    let out = conformance(
        &emu.url(),
        &[
            "--json",
            json.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--record",
            record.to_str().unwrap(),
        ],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let scenarios = eum_social_conformance::scenarios().len();
    assert!(stdout.contains(&format!("{scenarios} passed, 0 failed, 0 skipped")), "{stdout}");

    let report = read_json(&json);
    assert_eq!(report["totals"]["total"], scenarios);
    assert_eq!(report["totals"]["passed"], scenarios);
    assert_eq!(report["totals"]["failed"], 0);
    for s in report["scenarios"].as_array().unwrap() {
        assert_eq!(s["status"], "passed", "{s}");
        assert!(s["duration"].as_f64().unwrap() >= 0.0);
        assert!(s["tags"].as_array().is_some_and(|t| !t.is_empty()));
    }

    let xml = parse_junit(&junit);
    assert_eq!((xml.testcases, xml.failures, xml.skipped), (scenarios, 0, 0), "{xml:?}");
    assert_eq!((xml.suite_tests, xml.suite_failures), (Some(scenarios), Some(0)));

    let files = std::fs::read_dir(&record).unwrap().count();
    assert_eq!(files, scenarios);
    let one: Value = read_json(&record.join("list-linked-wabas.json"));
    assert_eq!(one["exchanges"][0]["operation"], "ListLinkedWhatsAppBusinessAccounts");
    assert_eq!(one["exchanges"][0]["response"]["status"], 200);
    let raw = std::fs::read_to_string(record.join("tag-and-untag-a-waba.json")).unwrap();
    assert!(!raw.to_ascii_lowercase().contains("authorization"));
    assert!(!raw.contains("809904170947:conformance"));
}

#[tokio::test]
async fn a_failing_scenario_fails_the_run_and_both_reports() {
    // Nothing listens on port 1: the one selected scenario cannot reach the service.
    let dir = tempfile::tempdir().unwrap();
    let (json, junit) = (dir.path().join("report.json"), dir.path().join("report.xml"));
    let out = conformance(
        "http://127.0.0.1:1",
        &[
            "--filter",
            "list-linked-wabas",
            "--json",
            json.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let report = read_json(&json);
    assert_eq!(report["totals"]["failed"], 1);
    assert_eq!(report["scenarios"][0]["status"], "failed");
    assert!(report["scenarios"][0]["error"].as_str().is_some_and(|e| !e.is_empty()));
    let xml = parse_junit(&junit);
    assert_eq!((xml.testcases, xml.failures), (1, 1));
    assert_eq!(xml.names, vec!["list-linked-wabas".to_string()]);
}

#[tokio::test]
async fn a_non_local_endpoint_is_refused_before_anything_is_sent() {
    // `.invalid` never resolves: had the binary tried to connect, it would fail differently
    // (and no report would say "refused").
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = conformance("https://conformance.invalid", &["--json", json.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("not local") && stderr.contains("--allow-real"), "{stderr}");
    assert!(!text(&out.stdout).contains("PASS") && !text(&out.stdout).contains("FAIL"));
    assert!(!json.exists(), "no scenario ran, no report");

    // Listing is allowed and shows what --allow-real would run: read-only only by default.
    let out = conformance("https://conformance.invalid", &["--list"]).await;
    assert!(out.status.success());
    for line in text(&out.stdout).lines() {
        let runs = !line.contains("(skipped:");
        assert_eq!(
            runs,
            line.split('\t').nth(1).unwrap().split(',').any(|t| t == "read-only"),
            "{line}"
        );
        if line.contains("emulator-only") {
            assert!(!runs, "{line}");
        }
    }
}

#[tokio::test]
async fn tags_and_filters_select_scenarios() {
    let out = conformance("http://127.0.0.1:1", &["--list", "--tag", "emulator-only"]).await;
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| l.contains("emulator-only") && !l.contains("skipped")));
    let out = conformance("http://127.0.0.1:1", &["--list", "--filter", "flow"]).await;
    assert!(text(&out.stdout).lines().all(|l| l.starts_with("flow") || l.contains("flow")));
    let out = conformance("http://127.0.0.1:1", &["--list", "--tag", "no-such-tag"]).await;
    assert_eq!(out.status.code(), Some(2), "clap refuses an unknown tag");
}
