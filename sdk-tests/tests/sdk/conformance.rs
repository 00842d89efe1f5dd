//! Every conformance scenario passes against the emulator, in-process, through the same runner
//! the `eum-social-conformance` binary uses.

use eum_social_conformance::runner::Status;
use sdk_tests::*;

#[tokio::test]
async fn every_conformance_scenario_passes_against_the_emulator() {
    let emu = emulator().await;
    let report = run_conformance(&emu).await;
    assert!(report.scenarios.len() >= 30, "{} scenarios", report.scenarios.len());
    let failures: Vec<String> = report
        .scenarios
        .iter()
        .filter(|s| s.status != Status::Passed)
        .map(|s| format!("{} ({:?}): {:?} {:?}", s.name, s.status, s.error, s.detail))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(report.totals.passed, report.scenarios.len());
    // Every scenario talked to the service, and the recording holds no credentials.
    for s in &report.scenarios {
        assert!(!s.exchanges.is_empty(), "{} sent nothing", s.name);
        let text = serde_json::to_string(&s.exchanges).unwrap().to_ascii_lowercase();
        for secret in
            ["authorization", "x-amz-date", "x-amz-security-token", "user-agent", "amz-sdk"]
        {
            assert!(!text.contains(secret), "{}: {secret} recorded", s.name);
        }
    }
}

#[tokio::test]
async fn scenario_names_are_unique_and_tags_known() {
    let scenarios = eum_social_conformance::scenarios();
    let mut names: Vec<&str> = scenarios.iter().map(|s| s.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), scenarios.len(), "duplicate scenario names");
    for s in &scenarios {
        assert!(!s.tags.is_empty(), "{} has no tag", s.name);
        assert!(s.tags.iter().all(|t| eum_social_conformance::TAGS.contains(t)), "{}", s.name);
    }
}
