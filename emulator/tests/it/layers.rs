//! The layering of `emulator/src`, checked from the sources: which top-level module refers to
//! which (`crate::<module>`, and `AppState`, the app layer's).
//!
//! The target (issue 16), each layer looking only down:
//! - *base*: the crate `eum-social-base` (`base/`): `clock`, `error`, `model` (with `Operation`),
//!   `reqlog`, `scheduler` (a queue). A crate of its own: the compiler refuses an upward import,
//!   and [`the_base_crate_depends_on_no_framework`] keeps its dependencies few;
//! - *domain*: `state`, `meta` — WhatsApp's rules over the state, without `AppState`
//!   ([`the_domain_takes_no_app_state_and_returns_its_effects`]);
//! - *runtime*: `events`, `limits`, `persist`, `s3`, `media`;
//! - *adapters*: `auth`, `context`, `routes`, `server`, `ops`, `control`;
//! - *app*: `lib.rs` (`AppState`, `app()`, `serve()`), `timers` (where timers meet the domain),
//!   `config`.
//!
//! Above the base the graph still has cycles; [`no_module_gains_a_dependency`] is the ratchet
//! that lets it only shrink: a new edge fails, and an edge that disappears must be removed from
//! [`TODAY`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every top-level module's dependencies today (`AppState`: the app layer's state).
const TODAY: &[(&str, &[&str])] = &[
    ("auth", &["AppState", "context"]),
    ("config", &["auth", "limits", "meta"]),
    ("context", &["config", "meta", "state"]),
    (
        "control",
        &["AppState", "context", "events", "limits", "media", "meta", "ops", "persist", "state"],
    ),
    ("events", &["AppState", "meta", "state"]),
    ("limits", &["AppState", "context", "meta", "state"]),
    ("media", &["AppState", "s3", "state"]),
    ("meta", &["context", "media", "state"]),
    ("ops", &["AppState", "context", "events", "media", "meta", "s3", "state"]),
    ("persist", &["AppState", "events", "meta", "state"]),
    ("routes", &["AppState", "auth", "context", "control", "limits", "ops", "server"]),
    ("s3", &["config", "media"]),
    ("server", &[]),
    ("state", &["context", "media", "meta"]),
    ("timers", &["AppState", "control", "events", "meta", "ops"]),
];

/// The graph as the sources have it (code only: comments and `#[cfg(test)]` modules aside).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir()
            || (path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main")
        {
            modules.insert(name);
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> =
        modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let top =
            relative.iter().next().unwrap().to_string_lossy().trim_end_matches(".rs").to_string();
        if !modules.contains(&top) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let name: String =
                    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if name != top && modules.contains(&name) {
                    graph.get_mut(&top).unwrap().insert(name);
                }
            }
            let words = line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
            if words.into_iter().any(|w| w == "AppState") {
                graph.get_mut(&top).unwrap().insert("AppState".into());
            }
        }
    }
    graph
}

/// The base crate (`base/`) cannot import the emulator (cargo refuses a dependency cycle); this
/// keeps it free of what the layers above bring: its dependencies are a fixed, small set (no web
/// framework, no AWS SDK, no async runtime beyond tokio's `sync`).
#[test]
fn the_base_crate_depends_on_no_framework() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../base/Cargo.toml");
    let text = std::fs::read_to_string(manifest).unwrap();
    let section = text.split("[dependencies]").nth(1).unwrap();
    let section = section.split("\n[").next().unwrap();
    let deps: BTreeSet<&str> = section
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split(['=', '.', ' ']).next())
        .collect();
    let allowed: BTreeSet<&str> = [
        "base64",
        "hashbrown",
        "http",
        "percent-encoding",
        "regex",
        "serde",
        "serde_json",
        "time",
        "tokio",
    ]
    .into();
    let extra: Vec<&&str> = deps.difference(&allowed).collect();
    assert!(extra.is_empty(), "the base crate gained dependencies {extra:?}");
    assert!(deps.contains("tokio"), "parsed the base crate's dependencies: {deps:?}");
    let tokio = text.lines().find(|l| l.starts_with("tokio")).unwrap();
    assert!(
        tokio.contains("default-features = false") && tokio.contains("features = [\"sync\"]"),
        "the base crate takes only tokio's sync: {tokio}"
    );
}

/// The domain (`state`, `meta`: WhatsApp's rules over the state) never reaches the app's
/// `AppState`, the runtime's event bus, scheduler loop or persistence, or the API adapters: its
/// transitions take a partition and return their effects. Two edges remain, named here: request
/// contexts (ARN checks of ids) and media kinds.
#[test]
fn the_domain_takes_no_app_state_and_returns_its_effects() {
    let graph = graph();
    let allowed = ["state", "meta", "context", "media"];
    for module in ["state", "meta"] {
        let wrong: Vec<&String> =
            graph[module].iter().filter(|d| !allowed.contains(&d.as_str())).collect();
        assert!(wrong.is_empty(), "the domain module {module} depends on {wrong:?}");
    }
}

#[test]
fn no_module_gains_a_dependency() {
    let graph = graph();
    let today: BTreeMap<&str, BTreeSet<&str>> =
        TODAY.iter().map(|(m, deps)| (*m, deps.iter().copied().collect())).collect();
    let mut problems = Vec::new();
    for (module, deps) in &graph {
        let Some(allowed) = today.get(module.as_str()) else {
            problems.push(format!("{module} is a new module: add it to TODAY in its layer"));
            continue;
        };
        for dep in deps {
            if !allowed.contains(dep.as_str()) {
                problems.push(format!("{module} now depends on {dep}: the layering forbids it"));
            }
        }
        for dep in allowed {
            if !deps.contains(*dep) {
                problems.push(format!("{module} no longer depends on {dep}: remove it from TODAY"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
