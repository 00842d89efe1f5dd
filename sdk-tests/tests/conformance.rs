//! Every conformance scenario passes against the emulator, in-process.

use sdk_tests::*;

#[tokio::test]
async fn every_conformance_scenario_passes_against_the_emulator() {
    let emu = emulator().await;
    let client = client(&emu);
    let scenarios = eum_social_conformance::scenarios();
    assert!(!scenarios.is_empty());
    for s in scenarios {
        let outcome = (s.run)(&client).await;
        assert!(outcome.is_ok(), "{}: {outcome:?}", s.name);
    }
}
