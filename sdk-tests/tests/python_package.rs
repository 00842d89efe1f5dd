//! The Python distribution (`python/`, README "Python"): builds the wheel with maturin (profile
//! `wheel-test`: no optimization, no debug info, in the workspace's target directory), installs it
//! into a fresh virtual environment whose PATH has no cargo or rustc, with pytest and boto3 from
//! PyPI, and runs the package's tests (`python/tests`) and the example's (`examples/python`)
//! against the installed binary. Needs `python3` with `venv` and PyPI; fails (never skips)
//! without them.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// maturin from PyPI, the build backend `python/pyproject.toml` names.
const MATURIN: &str = "maturin>=1.9,<2";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The workspace's target directory: `CARGO_TARGET_DIR` when it is set to an absolute path (a
/// relative one is the caller's, not this test's), else `target/`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| root.join("target"))
}

struct Finished {
    success: bool,
    output: String,
    elapsed: Duration,
}

/// Runs `command` in a process group of its own with its output captured; after `timeout` the
/// whole group is killed and the test fails, showing what it printed.
fn run(what: &str, command: &mut Command, timeout: Duration) -> Finished {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start {command:?}: {e}"));
    let pid = child.id();
    let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let _ = done.send((child.wait(), text));
    });
    let (status, stdout) = match finished.recv_timeout(timeout) {
        Ok((status, text)) => (status.expect("wait"), text),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
            let (_, text) =
                finished.recv().unwrap_or_else(|_| (Ok(Default::default()), String::new()));
            let err = err_reader.join().unwrap_or_default();
            panic!("{what} did not finish within {timeout:?}; killed.\n{text}\n{err}");
        }
    };
    let stderr = err_reader.join().unwrap_or_default();
    Finished {
        success: status.success(),
        output: format!("{stdout}{stderr}"),
        elapsed: started.elapsed(),
    }
}

/// Like [`run`], and fails the test unless the command succeeds.
fn check(what: &str, command: &mut Command, timeout: Duration) -> Finished {
    let done = run(what, command, timeout);
    assert!(done.success, "{what} failed:\n{}", done.output);
    eprintln!("{what}: {:.1} s", done.elapsed.as_secs_f64());
    done
}

/// `PATH` without any directory holding cargo or rustc (a user's machine without Rust).
fn path_without_rust(venv_bin: &Path) -> String {
    let mut dirs = vec![venv_bin.to_path_buf()];
    let current = std::env::var_os("PATH").unwrap_or_default();
    dirs.extend(
        std::env::split_paths(&current)
            .filter(|d| !d.join("cargo").exists() && !d.join("rustc").exists()),
    );
    std::env::join_paths(dirs).expect("PATH").into_string().expect("UTF-8 PATH")
}

/// A command of the fresh environment: its PATH has no Rust, no variable of ours or Cargo's
/// leaks in, bytecode is not written into the repository.
fn fresh_env(program: &Path, venv_bin: &Path) -> Command {
    let mut command = Command::new(program);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("EUM_SOCIAL_")
            || name.starts_with("CARGO")
            || name.starts_with("RUSTUP")
            || name.starts_with("PYTHON")
            || name.starts_with("PYTEST")
            || name == "VIRTUAL_ENV"
        {
            command.env_remove(name);
        }
    }
    command
        .env("PATH", path_without_rust(venv_bin))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONNOUSERSITE", "1");
    command
}

#[test]
fn the_wheel_installs_without_rust_and_its_tests_pass() {
    let root = workspace();
    let python = std::env::var("PYTHON3").unwrap_or_else(|_| "python3".into());
    let version = Command::new(&python).arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "this test needs {python} (with the venv module) and PyPI to build and test the Python \
         package: install python3 and python3-venv (or set PYTHON3); got {version:?}"
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let minute = Duration::from_secs(60);

    // The build environment: maturin from PyPI.
    let build = tmp.path().join("build-venv");
    check(
        "python3 -m venv (build)",
        Command::new(&python).args(["-m", "venv"]).arg(&build),
        minute,
    );
    check(
        "pip install maturin",
        Command::new(build.join("bin/pip")).args(["install", "--quiet", MATURIN]),
        5 * minute,
    );

    // The wheel, built as fast as it can be (the release wheel is `maturin build --release`,
    // README "Python"): profile `wheel-test` of the workspace's Cargo.toml, stored, not deflated.
    // A profile of its own compiles the emulator's dependencies once; `cargo test`'s own builds
    // cannot be reused, as they unify features across the workspace and maturin builds the
    // emulator alone.
    let wheels = tmp.path().join("wheels");
    check(
        "maturin build",
        Command::new(build.join("bin/maturin"))
            .args(["build", "--profile", "wheel-test", "--compression-method", "stored"])
            .arg("--out")
            .arg(&wheels)
            .current_dir(root.join("python"))
            .env("CARGO_TARGET_DIR", target_dir(&root)),
        30 * minute,
    );
    let wheel = std::fs::read_dir(&wheels)
        .expect("wheels dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .expect("maturin wrote no wheel");
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    let expected = format!("eum_social-{}-py3-none-", env!("CARGO_PKG_VERSION"));
    assert!(name.starts_with(&expected), "{name}: not {expected}* (the workspace version)");

    // A fresh environment with the wheel, pytest and boto3, and no Rust on its PATH.
    let venv = tmp.path().join("venv");
    let bin = venv.join("bin");
    check("python3 -m venv (fresh)", Command::new(&python).args(["-m", "venv"]).arg(&venv), minute);
    check(
        "pip install the wheel, pytest, boto3",
        fresh_env(&bin.join("pip"), &bin)
            .args(["install", "--quiet"])
            .arg(&wheel)
            .args(["pytest", "boto3"]),
        5 * minute,
    );
    let path = path_without_rust(&bin);
    for tool in ["cargo", "rustc"] {
        let found = std::env::split_paths(&path).find(|d| d.join(tool).exists());
        assert!(found.is_none(), "{tool} is on the fresh environment's PATH: {found:?}");
    }
    assert!(bin.join("eum-social").is_file(), "the wheel did not install bin/eum-social");

    for (what, dir) in [
        ("the package's tests", root.join("python/tests")),
        ("the example's tests", root.join("examples/python")),
    ] {
        let done = check(
            what,
            fresh_env(&bin.join("python"), &bin)
                .args(["-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs"])
                .current_dir(&dir),
            5 * minute,
        );
        let summary = done.output.lines().rev().find(|l| l.contains(" passed")).unwrap_or("");
        eprintln!("{what}: {summary}");
        assert!(!summary.contains("failed") && !summary.contains("error"), "{}", done.output);
    }
}
