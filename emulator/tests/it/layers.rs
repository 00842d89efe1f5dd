//! The layering of `emulator/src`, checked from the sources: which top-level module refers to
//! which (`crate::<module>`, and `AppState`, the app layer's).
//!
//! The target (issue 16), each layer looking only down:
//! - *base*: the crate `eum-social-base` (`base/`): `clock`, `error`, `model` (with `Operation`),
//!   `reqlog`, `scheduler` (a queue). A crate of its own: the compiler refuses an upward import,
//!   and [`the_base_crate_depends_on_no_framework`] keeps its dependencies few;
//! - *domain*: the crate `eum-social-domain` (`domain/`): `state`, `meta` — WhatsApp's rules
//!   over the state, looking only at the base ([`the_domain_crate_depends_on_the_base_alone`]);
//! - *runtime*: `events` (the event bus), `limits`, `persist`, `s3`, `media`, each with its own
//!   settings or handles, composed by the app; [`the_runtime_looks_only_down`] refuses an import
//!   of `AppState`, an adapter or the app;
//! - *adapters*: `auth`, `context`, `routes`, `server`, `ops`, `control`; they get the app's
//!   `AppState` as their (axum) state, and [`adapters_do_not_reach_into_the_app`] refuses an
//!   import of `timers` or `config`;
//! - *app*: `lib.rs` (`AppState`, `app()`, `serve()`), `timers` (where timers meet the domain),
//!   `config` (composes every layer's settings).
//!
//! [`no_module_gains_a_dependency`] is the ratchet over the whole graph: a new edge fails, and an
//! edge that disappears must be removed from [`TODAY`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every top-level module's dependencies today (`AppState`: the app layer's state).
const TODAY: &[(&str, &[&str])] = &[
    ("auth", &["AppState"]),
    ("config", &["auth", "events", "limits", "s3", "server"]),
    ("context", &[]),
    ("control", &["AppState", "context", "events", "limits", "media", "ops", "persist"]),
    ("events", &[]),
    ("limits", &[]),
    ("media", &["s3"]),
    ("ops", &["AppState", "context", "events", "media", "s3"]),
    ("persist", &["events"]),
    ("routes", &["AppState", "auth", "context", "control", "limits", "ops", "server"]),
    ("s3", &[]),
    ("server", &[]),
    ("timers", &["AppState", "events"]),
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
                // The re-export `crate::Config` is the config module's.
                let name = if name == "Config" { "config".to_string() } else { name };
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
    let deps = dependencies("../base/Cargo.toml");
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
    let extra: Vec<&String> = deps.iter().filter(|d| !allowed.contains(d.as_str())).collect();
    assert!(extra.is_empty(), "the base crate gained dependencies {extra:?}");
    assert!(deps.contains("tokio"), "parsed the base crate's dependencies: {deps:?}");
    let text = std::fs::read_to_string(manifest("../base/Cargo.toml")).unwrap();
    let tokio = text.lines().find(|l| l.starts_with("tokio")).unwrap();
    assert!(
        tokio.contains("default-features = false") && tokio.contains("features = [\"sync\"]"),
        "the base crate takes only tokio's sync: {tokio}"
    );
}

/// A manifest's path from the emulator crate's directory.
fn manifest(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The names in a manifest's `[dependencies]`.
fn dependencies(relative: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest(relative)).unwrap();
    let section = text.split("\n[dependencies]").nth(1).unwrap();
    let section = section.split("\n[").next().unwrap();
    section
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split(['=', '.', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// The domain crate (`domain/`: `state`, `meta`, WhatsApp's rules over the state) cannot import
/// the emulator (cargo refuses the cycle): never the app's `AppState`, the runtime (event bus,
/// timer loop, persistence, media copies) or the API adapters (a request is a
/// `state::ids::Caller`); its transitions take a partition and return their effects. This keeps
/// it free of what the layers above bring: no web framework, no async runtime, no AWS SDK.
#[test]
fn the_domain_crate_depends_on_the_base_alone() {
    let deps = dependencies("../domain/Cargo.toml");
    let allowed: BTreeSet<&str> = [
        "aws-lc-rs",
        "base64",
        "eum-social-base",
        "hashbrown",
        "infer",
        "jsonschema",
        "regex",
        "serde",
        "serde_json",
        "sha2",
        "uuid",
    ]
    .into();
    let extra: Vec<&String> = deps.iter().filter(|d| !allowed.contains(d.as_str())).collect();
    assert!(extra.is_empty(), "the domain crate gained dependencies {extra:?}");
    assert!(deps.contains("eum-social-base"), "parsed the domain crate's dependencies: {deps:?}");
}

/// The runtime layer's modules.
const RUNTIME: &[&str] = &["events", "limits", "media", "persist", "s3"];
/// The adapters' modules.
const ADAPTERS: &[&str] = &["auth", "context", "control", "ops", "routes", "server"];
/// The app layer's modules (besides `lib.rs`, where `AppState` is).
const APP: &[&str] = &["config", "timers"];

/// Every module is in one layer.
#[test]
fn every_module_has_a_layer() {
    let layered: BTreeSet<&str> = RUNTIME.iter().chain(ADAPTERS).chain(APP).copied().collect();
    let modules: BTreeSet<String> = graph().into_keys().collect();
    let unlayered: Vec<&String> =
        modules.iter().filter(|m| !layered.contains(m.as_str())).collect();
    assert!(unlayered.is_empty(), "modules in no layer: {unlayered:?}");
    assert!(modules.len() >= layered.len(), "every layered module exists: {modules:?}");
}

/// The runtime (event bus, limits, persistence, S3, media copies) sees the domain and the base,
/// and other runtime modules; never the app's `AppState`, an adapter or the app: what it needs
/// is handed to it (settings structs, `Arc`s of the parts, a `Caller`).
#[test]
fn the_runtime_looks_only_down() {
    refuse_edges(RUNTIME, |dep| !RUNTIME.contains(&dep), "the runtime's");
}

/// Adapters serve requests with what the app gives them; they never call into the timer loop or
/// read the command line's `Config` module (its values reach them through `AppState`).
#[test]
fn adapters_do_not_reach_into_the_app() {
    refuse_edges(ADAPTERS, |dep| APP.contains(&dep), "the adapter");
}

/// Fails naming every edge from one of `modules` to a dependency `forbidden` refuses.
fn refuse_edges(modules: &[&str], forbidden: impl Fn(&str) -> bool, who: &str) {
    let graph = graph();
    let problems: Vec<String> = modules
        .iter()
        .flat_map(|m| graph[*m].iter().map(move |dep| (m, dep)))
        .filter(|(_, dep)| forbidden(dep.as_str()))
        .map(|(m, dep)| format!("{who} {m} depends on {dep}"))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
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
