//! The `eum-social` binary: READY line, port 0, seed files (good and bad), graceful shutdown.

use std::io::Read;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::common::{BIN, get, start};

#[cfg(unix)]
fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[cfg(unix)]
fn serves_on_the_ready_url_and_stops_on_sigterm() {
    let (mut child, url) = start(&[]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let (status, body) = get(&format!("{url}/_emulator/health"));
    assert_eq!(status, 200);
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    let (status, body) =
        get(&format!("{url}/v1/whatsapp/waba/details?id=waba-0aae9cf04cf24c66960f291c793359b4"));
    assert_eq!(status, 200);
    assert!(body.contains("WECARE.DIGITAL"), "{body}");
    let exit = terminate(&mut child);
    assert!(exit.success(), "{exit:?}");
}

#[test]
#[cfg(unix)]
fn a_sigterm_right_after_ready_is_a_graceful_stop() {
    // The handlers are installed before READY is printed: no window where SIGTERM kills.
    for _ in 0..5 {
        let (mut child, _url) = start(&[]);
        let exit = terminate(&mut child);
        assert!(exit.success(), "{exit:?}");
    }
}

#[test]
#[cfg(unix)]
fn a_seed_file_replaces_the_default_and_its_account_becomes_the_default() {
    let dir = std::env::temp_dir().join(format!("eum-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("seed.json");
    std::fs::write(
        &path,
        r#"{
          "account": "123456789012",
          "region": "eu-west-1",
          "wabas": [{
            "id": "waba-11111111111111111111111111111111",
            "wabaId": "100000000000001",
            "wabaName": "Seeded Shop",
            "phoneNumbers": [{
              "phoneNumberId": "phone-number-id-22222222222222222222222222222222",
              "phoneNumber": "+14255550123",
              "metaPhoneNumberId": "200000000000002"
            }]
          }]
        }"#,
    )
    .unwrap();
    let (mut child, url) = start(&["--seed", path.to_str().unwrap()]);
    // No SigV4 header: the request lands in the seed's account and region.
    let (status, body) = get(&format!("{url}/v1/whatsapp/waba/list"));
    assert_eq!(status, 200);
    assert!(body.contains("arn:aws:social-messaging:eu-west-1:123456789012:waba/1111"), "{body}");
    assert!(!body.contains("WECARE"), "{body}");
    let (_, health) = get(&format!("{url}/_emulator/health"));
    assert!(health.contains("\"defaultAccount\":\"123456789012\""), "{health}");
    terminate(&mut child);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_seed_file_names_the_path_and_exits_non_zero() {
    let dir = std::env::temp_dir().join(format!("eum-bad-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("seed.json");
    std::fs::write(
        &path,
        r#"{"account":"809904170947","region":"us-east-1","wabas":[{"id":"waba-1","wabaId":"12","wabaName":"x","phoneNumbers":[{"phoneNumberId":"phone-number-id-1","phoneNumber":"12345","metaPhoneNumberId":"9"}]}]}"#,
    )
    .unwrap();
    let output = Command::new(BIN)
        .args(["--port", "0", "--seed", path.to_str().unwrap()])
        .output()
        .expect("binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/wabas/0/phoneNumbers/0/phoneNumber"), "{stderr}");
    assert!(!stderr.contains("READY"), "{stderr}");
    let missing = Command::new(BIN).args(["--seed", "/nonexistent/seed.json"]).output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/seed.json"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
#[cfg(unix)]
fn the_cli_drives_the_control_api_of_a_running_emulator() {
    let (mut child, url) = start(&[]);
    let run = |args: &[&str]| {
        let out = Command::new(BIN).args(args).args(["--url", &url]).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let inbound = run(&[
        "inbound",
        "--phone-number-id",
        "phone-number-id-baa217c3f11b4ffd956f6f3afb44ce54",
        "--from",
        "+14255550150",
        "--name",
        "Diego",
        "--text",
        "Hi from the CLI",
    ]);
    assert!(inbound.contains("\"wamid\":\"wamid."), "{inbound}");
    let located = run(&[
        "inbound",
        "--phone-number-id",
        "831049713436137",
        "--from",
        "14255550150",
        "--json",
        r#"{"type":"location","location":{"latitude":12.9,"longitude":77.6}}"#,
    ]);
    assert!(located.contains("\"kind\":\"inbound\""), "{located}");
    let events = run(&["events", "--query", "kind=inbound"]);
    assert!(events.contains("Hi from the CLI"), "{events}");
    let clock = run(&["clock", "--freeze", "true"]);
    assert!(clock.contains("\"frozen\":true"), "{clock}");
    let before: i64 = field(&clock, "nowMs");
    let after = run(&["clock", "--advance", "90000"]);
    assert_eq!(field(&after, "nowMs") - before, 90_000_000);
    // A refused request exits non-zero.
    let bad = Command::new(BIN)
        .args(["inbound", "--url", &url, "--phone-number-id", "nope", "--from", "1", "--text", "x"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    terminate(&mut child);
}

/// An integer field of a compact JSON text (enough for these checks without a JSON dependency).
fn field(json: &str, name: &str) -> i64 {
    let at = json.find(&format!("\"{name}\":")).unwrap_or_else(|| panic!("{name} in {json}"));
    json[at + name.len() + 3..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
#[cfg(unix)]
fn sns_subscribe_flag_sends_a_subscription_confirmation() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/hook", listener.local_addr().unwrap());
    let (mut child, _url) = start(&[
        "--sns-subscribe",
        &format!("arn:aws:sns:us-east-1:809904170947:base-wecare-digital={endpoint}"),
        "--status-delays",
        "0,10,20",
    ]);
    listener.set_nonblocking(false).unwrap();
    let (mut stream, _) = listener.accept().unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&request).contains("\"Type\": \"SubscriptionConfirmation\"") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed: {}", String::from_utf8_lossy(&request));
        request.extend_from_slice(&buf[..n]);
    }
    stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").unwrap();
    let text = String::from_utf8_lossy(&request);
    assert!(text.starts_with("POST /hook "), "{text}");
    assert!(text.to_ascii_lowercase().contains("x-amz-sns-message-type: subscriptionconfirmation"));
    terminate(&mut child);
    let bad = Command::new(BIN).args(["--port", "0", "--status-delays", "5,1,2"]).output().unwrap();
    assert!(!bad.status.success());
}

#[test]
#[cfg(unix)]
fn storage_flags_choose_the_s3_backend_and_the_temporary_data_dir_goes_on_exit() {
    let (mut child, url) = start(&[]);
    let (_, body) = get(&format!("{url}/_emulator/health"));
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    let s3 = health["s3"].as_str().unwrap().to_string();
    let dir = s3.strip_prefix("directory ").unwrap_or_else(|| panic!("{s3}"));
    assert!(std::path::Path::new(dir).is_dir(), "{dir}");
    assert!(terminate(&mut child).success());
    assert!(!std::path::Path::new(dir).exists(), "the temporary data dir is removed: {dir}");

    let kept = std::env::temp_dir().join(format!("eum-social-binary-test-{}", std::process::id()));
    let (mut child, url) = start(&["--data-dir", kept.to_str().unwrap()]);
    let (_, body) = get(&format!("{url}/_emulator/health"));
    assert!(body.contains(&format!("\"s3\":\"directory {}\"", kept.display())), "{body}");
    assert!(terminate(&mut child).success());
    assert!(kept.is_dir(), "a named data dir is kept");
    std::fs::remove_dir_all(&kept).unwrap();

    let (mut child, url) = start(&[
        "--s3-endpoint",
        "http://127.0.0.1:9",
        "--s3-access-key-id",
        "AKIAEXAMPLE",
        "--s3-secret-access-key",
        "secret",
    ]);
    let (_, body) = get(&format!("{url}/_emulator/health"));
    assert!(body.contains("\"s3\":\"S3 endpoint http://127.0.0.1:9 (path-style)\""), "{body}");
    assert!(terminate(&mut child).success());
}
