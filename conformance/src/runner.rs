//! Running scenarios: which run where, the results, and the reports (JSON, JUnit XML) and
//! recordings (`--record DIR`) a run writes.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::{Ctx, EMULATOR_ONLY, Exchange, READ_ONLY, Scenario, Stop};

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only scenarios whose name contains this text.
    pub filter: Option<String>,
    /// Only scenarios with at least one of these tags (against the real service: widens the
    /// default `read-only` set to these tags).
    pub tags: Vec<String>,
    /// Against the real service, every scenario but the `emulator-only` ones.
    pub all: bool,
    /// Whether the endpoint is on this machine.
    pub local: bool,
}

/// A scenario picked by the filter, and why it will not run (`None`: it runs).
pub struct Planned {
    pub scenario: Scenario,
    pub skip: Option<String>,
}

/// Applies the filter and the tag rules: a non-local endpoint never runs `emulator-only`
/// scenarios and runs `read-only` ones unless `--all` or `--tag` widens the set; the scenarios
/// left out that way are reported as skipped.
pub fn plan(scenarios: Vec<Scenario>, selection: &Selection) -> Vec<Planned> {
    scenarios
        .into_iter()
        .filter(|s| selection.filter.as_deref().is_none_or(|f| s.name.contains(f)))
        .filter(|s| selection.tags.is_empty() || selection.tags.iter().any(|t| s.has_tag(t)))
        .map(|scenario| {
            let skip = if selection.local {
                None
            } else if scenario.has_tag(EMULATOR_ONLY) {
                Some("emulator-only: never runs against a non-local endpoint".to_string())
            } else if !selection.all && selection.tags.is_empty() && !scenario.has_tag(READ_ONLY) {
                Some("not read-only: pass --all or --tag to run it against this endpoint".into())
            } else {
                None
            };
            Planned { scenario, skip }
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

/// One scenario's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioResult {
    pub name: String,
    pub tags: Vec<String>,
    pub status: Status,
    /// Seconds.
    pub duration: f64,
    /// What a passed scenario saw, or why one was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Why a scenario failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The request/response pairs it made (not in the reports: see `--record`).
    #[serde(skip)]
    pub exchanges: Vec<Exchange>,
    /// Epoch milliseconds when it started.
    #[serde(skip)]
    pub started_at_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// The JSON report (`--json FILE`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The endpoint the run used (empty: the real service's default).
    pub endpoint: String,
    pub scenarios: Vec<ScenarioResult>,
    pub totals: Totals,
    /// Seconds.
    pub duration: f64,
}

impl Report {
    pub fn success(&self) -> bool {
        self.totals.failed == 0
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    /// JUnit XML: one `testsuite` named `eum-social-conformance`, one `testcase` per scenario
    /// with a `failure` or `skipped` child where it did not pass.
    pub fn to_junit(&self) -> String {
        use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
        let mut suite = TestSuite::new("eum-social-conformance");
        for s in &self.scenarios {
            let status = match s.status {
                Status::Passed => TestCaseStatus::success(),
                Status::Failed => {
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let error = s.error.clone().unwrap_or_default();
                    st.set_message(first_line(&error)).set_type("ScenarioFailed");
                    st.set_description(error);
                    st
                }
                Status::Skipped => {
                    let mut st = TestCaseStatus::skipped();
                    st.set_message(s.detail.clone().unwrap_or_default());
                    st
                }
            };
            let mut case = TestCase::new(s.name.as_str(), status);
            case.set_classname(format!("conformance.{}", s.tags.join(".")));
            case.set_time(Duration::from_secs_f64(s.duration));
            if let (Status::Passed, Some(detail)) = (s.status, &s.detail) {
                case.set_system_out(detail.as_str());
            }
            suite.add_test_case(case);
        }
        suite.set_time(Duration::from_secs_f64(self.duration));
        let mut report = quick_junit::Report::new("eum-social-conformance");
        report.set_time(Duration::from_secs_f64(self.duration));
        report.add_test_suite(suite);
        report.to_string().expect("a JUnit report serializes")
    }

    /// Writes one `<scenario>.json` per scenario that ran into `dir`: its name, tags, start
    /// time and exchanges (see [`Recording`]).
    pub fn write_recordings(&self, dir: &Path) -> std::io::Result<usize> {
        std::fs::create_dir_all(dir)?;
        let mut written = 0;
        for s in self.scenarios.iter().filter(|s| s.status != Status::Skipped) {
            let recording = Recording {
                scenario: s.name.clone(),
                tags: s.tags.clone(),
                passed: s.status == Status::Passed,
                recorded_at_ms: s.started_at_ms,
                exchanges: s.exchanges.clone(),
            };
            let text = serde_json::to_string_pretty(&recording).expect("a recording serializes");
            std::fs::write(dir.join(format!("{}.json", s.name)), text + "\n")?;
            written += 1;
        }
        Ok(written)
    }
}

/// One scenario's recording: what `--record DIR` writes and the golden fixtures hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recording {
    pub scenario: String,
    pub tags: Vec<String>,
    pub passed: bool,
    /// Epoch milliseconds when the scenario started (a replay sets the emulator's clock there).
    pub recorded_at_ms: i64,
    pub exchanges: Vec<Exchange>,
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().chars().take(200).collect()
}

fn epoch_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64
}

/// Runs the planned scenarios one after the other; `progress` sees each result as it comes.
pub async fn run(
    ctx: &Ctx,
    planned: Vec<Planned>,
    mut progress: impl FnMut(&ScenarioResult),
) -> Report {
    let started = Instant::now();
    let mut results = Vec::new();
    for Planned { scenario, skip } in planned {
        let tags = scenario.tags.iter().map(|t| t.to_string()).collect();
        let started_at_ms = epoch_ms();
        let begun = Instant::now();
        ctx.recorder.take();
        let (status, detail, error) = match skip {
            Some(why) => (Status::Skipped, Some(why), None),
            None => match (scenario.run)(ctx).await {
                Ok(detail) => (Status::Passed, Some(detail), None),
                Err(Stop::Skip(why)) => (Status::Skipped, Some(why), None),
                Err(Stop::Fail(why)) => (Status::Failed, None, Some(why)),
            },
        };
        let result = ScenarioResult {
            name: scenario.name.to_string(),
            tags,
            status,
            duration: begun.elapsed().as_secs_f64(),
            detail,
            error,
            exchanges: ctx.recorder.take(),
            started_at_ms,
        };
        progress(&result);
        results.push(result);
    }
    let count = |status| results.iter().filter(|r| r.status == status).count();
    let totals = Totals {
        total: results.len(),
        passed: count(Status::Passed),
        failed: count(Status::Failed),
        skipped: count(Status::Skipped),
    };
    Report {
        endpoint: ctx.endpoint.clone(),
        scenarios: results,
        totals,
        duration: started.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(planned: &[Planned]) -> Vec<(&str, bool)> {
        planned.iter().map(|p| (p.scenario.name, p.skip.is_none())).collect()
    }

    #[test]
    fn a_real_endpoint_runs_read_only_scenarios_by_default() {
        let selection = Selection { local: false, ..Selection::default() };
        let planned = plan(crate::scenarios(), &selection);
        for p in &planned {
            assert_eq!(p.skip.is_none(), p.scenario.has_tag(READ_ONLY), "{}", p.scenario.name);
        }
        let all = plan(crate::scenarios(), &Selection { all: true, ..selection.clone() });
        for p in &all {
            assert_eq!(p.skip.is_none(), !p.scenario.has_tag(EMULATOR_ONLY), "{}", p.scenario.name);
        }
        let tagged =
            plan(crate::scenarios(), &Selection { tags: vec![EMULATOR_ONLY.into()], ..selection });
        assert!(!tagged.is_empty() && tagged.iter().all(|p| p.skip.is_some()));
    }

    #[test]
    fn a_local_endpoint_runs_everything_selected() {
        let selection =
            Selection { local: true, filter: Some("template".into()), ..Selection::default() };
        let planned = plan(crate::scenarios(), &selection);
        assert!(!planned.is_empty());
        assert!(names(&planned).iter().all(|(name, runs)| name.contains("template") && *runs));
    }

    #[test]
    fn junit_escapes_what_it_carries() {
        let report = Report {
            endpoint: "http://127.0.0.1:1".into(),
            scenarios: vec![ScenarioResult {
                name: "a<b>&\"c\"".into(),
                tags: vec!["read-only".into()],
                status: Status::Failed,
                duration: 0.25,
                detail: None,
                error: Some("expected <x> & got ]]> \"y\"".into()),
                exchanges: vec![],
                started_at_ms: 0,
            }],
            totals: Totals { total: 1, passed: 0, failed: 1, skipped: 0 },
            duration: 0.25,
        };
        let xml = report.to_junit();
        assert!(xml.contains("a&lt;b&gt;&amp;"), "{xml}");
        assert!(!xml.contains("<x>"), "{xml}");
    }
}
