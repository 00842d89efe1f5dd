//! Coverage of the conformance scenarios, observed: every request they send is recorded (the
//! operation from the SDK, the outcome from the answer: success or the `x-amzn-errortype`), and
//! compared with the model facts (fixtures/model/socialmessaging.json). Fails if an operation of
//! the model has no successful call in any scenario, or if a scenario saw an error the operation
//! does not declare; prints which declared errors are exercised and which are not.

use std::collections::{BTreeMap, BTreeSet};

use sdk_tests::*;
use serde_json::Value;

fn model() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/model/socialmessaging.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn every_operation_has_a_success_scenario_and_errors_are_declared() {
    let model = model();
    let operations = model["operations"].as_object().unwrap();
    let emu = emulator().await;
    let report = run_conformance(&emu).await;

    // operation → outcome ("success" or the error type) → scenarios that saw it.
    let mut seen: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for s in &report.scenarios {
        for e in &s.exchanges {
            let Some(op) = &e.operation else { continue };
            let outcome = match e.error_type() {
                None if (200..300).contains(&e.response.status) => "success".to_string(),
                None => format!("HTTP {}", e.response.status),
                Some(t) => t.to_string(),
            };
            seen.entry(op.clone()).or_default().entry(outcome).or_default().insert(s.name.clone());
        }
    }

    let mut table =
        String::from("operation | success | declared errors exercised | not exercised\n");
    let mut missing = Vec::new();
    let mut undeclared = Vec::new();
    let (mut declared_total, mut exercised_total) = (0, 0);
    for (op, facts) in operations {
        let outcomes = seen.get(op).cloned().unwrap_or_default();
        let declared: Vec<&str> =
            facts["errors"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
        let success = outcomes.contains_key("success");
        if !success {
            missing.push(op.clone());
        }
        for outcome in outcomes.keys().filter(|o| *o != "success") {
            if !declared.contains(&outcome.as_str()) {
                undeclared.push(format!("{op}: {outcome}"));
            }
        }
        let (hit, miss): (Vec<&str>, Vec<&str>) =
            declared.iter().partition(|e| outcomes.contains_key(**e));
        declared_total += declared.len();
        exercised_total += hit.len();
        let short = |v: &[&str]| {
            v.iter().map(|e| e.trim_end_matches("Exception")).collect::<Vec<_>>().join(", ")
        };
        table.push_str(&format!(
            "{op} | {} | {} | {}\n",
            if success { "yes" } else { "NO" },
            short(&hit),
            short(&miss)
        ));
    }
    for op in seen.keys() {
        assert!(operations.contains_key(op), "{op} is not an operation of the model");
    }
    println!("{table}");
    println!(
        "{} of {} operations succeed in a scenario; {exercised_total} of {declared_total} declared (operation, error) pairs exercised",
        operations.len() - missing.len(),
        operations.len()
    );
    assert!(missing.is_empty(), "operations without a success scenario: {missing:?}\n{table}");
    assert!(undeclared.is_empty(), "errors the model does not declare: {undeclared:?}");
    // The common declared errors are exercised somewhere.
    let exercised: BTreeSet<&str> =
        seen.values().flat_map(|o| o.keys()).map(String::as_str).collect();
    for error in [
        "ValidationException",
        "ResourceNotFoundException",
        "InvalidParametersException",
        "AccessDeniedException",
        "LimitExceededException",
        "ConflictException",
    ] {
        assert!(exercised.contains(error), "no scenario sees {error}");
    }
}
