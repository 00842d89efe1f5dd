//! The `eum-social` binary's security flags: `--verify-sigv4` with `--credentials`,
//! `--control-token` (and its environment variable, also for the CLI subcommands), and the refusal
//! to serve the control API on a non-loopback address without a token.

use std::process::Command;

use crate::common::{BIN, raw_get, start, stop};

#[test]
fn a_non_loopback_host_needs_a_control_token() {
    // Checked before binding: nothing listens on the public interface.
    let out = Command::new(BIN)
        .args(["--host", "0.0.0.0", "--port", "0"])
        .env_remove("EUM_SOCIAL_CONTROL_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a loopback address") && stderr.contains("--control-token"),
        "{stderr}"
    );
    assert!(!stderr.contains("READY"), "{stderr}");
}

#[test]
fn sigv4_flags_need_each_other_and_a_good_file() {
    let alone = Command::new(BIN).args(["--port", "0", "--verify-sigv4"]).output().unwrap();
    assert_eq!(alone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&alone.stderr).contains("needs --credentials FILE"));
    let unused =
        Command::new(BIN).args(["--port", "0", "--credentials", "f.json"]).output().unwrap();
    assert_eq!(unused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unused.stderr).contains("only read with --verify-sigv4"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials.json");
    std::fs::write(&path, r#"{"AKID": {"secretAccessKey": "s", "accountId": "12"}}"#).unwrap();
    let bad = Command::new(BIN)
        .args(["--port", "0", "--verify-sigv4", "--credentials", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("credentials.json") && stderr.contains("not 12 digits"), "{stderr}");
}

#[test]
#[cfg(unix)]
fn verification_and_the_token_guard_a_running_binary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials");
    std::fs::write(
        &path,
        "[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n\
         aws_account_id = 111122223333\n",
    )
    .unwrap();
    let (child, url) = start(&[
        "--verify-sigv4",
        "--credentials",
        path.to_str().unwrap(),
        "--control-token",
        "t0ken",
    ]);
    let (status, response) = raw_get(&format!("{url}/v1/whatsapp/waba/list"), &[]);
    assert_eq!(status, 403, "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("x-amzn-errortype: missingauthenticationtokenexception")
    );
    assert!(response.contains(r#"{"message":"Missing Authentication Token"}"#), "{response}");

    assert_eq!(raw_get(&format!("{url}/_emulator/health"), &[]).0, 200);
    assert_eq!(raw_get(&format!("{url}/_emulator/clock"), &[]).0, 401);
    assert_eq!(
        raw_get(&format!("{url}/_emulator/clock"), &[("Authorization", "Bearer t0ken")]).0,
        200
    );

    // The CLI takes the token as a flag or from the environment.
    let cli = |args: &[&str], env: Option<&str>| {
        let mut command = Command::new(BIN);
        command.args(["clock", "--url", &url]).args(args).env_remove("EUM_SOCIAL_CONTROL_TOKEN");
        if let Some(token) = env {
            command.env("EUM_SOCIAL_CONTROL_TOKEN", token);
        }
        command.output().unwrap()
    };
    let refused = cli(&[], None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stdout).contains("needs a token"));
    let flag = cli(&["--control-token", "t0ken"], None);
    assert!(flag.status.success(), "{}", String::from_utf8_lossy(&flag.stdout));
    assert!(String::from_utf8_lossy(&flag.stdout).contains("nowMs"));
    assert!(cli(&[], Some("t0ken")).status.success());
    assert!(!cli(&[], Some("wrong")).status.success());
    stop(child);
}
