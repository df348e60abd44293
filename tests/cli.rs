//! Workspace-level test: every binary of the suite rejects bad input with a clear message and a
//! non-zero exit code, never a panic (unknown task, bad flag value, missing file).
//!
//! The binaries are looked up next to this test's own executable (`target/<profile>/`), where
//! `cargo test --workspace` builds them.

use std::path::PathBuf;
use std::process::Command;

fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "binary {} not built: run `cargo test --workspace` (it builds every package's binaries)",
        path.display()
    );
    path
}

/// Run `name args`, expect exit code `code`, and return stderr + stdout.
fn fails_with(name: &str, args: &[&str], code: i32, needle: &str) {
    let out = Command::new(binary(name))
        .args(args)
        .output()
        .expect("binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "{name} {args:?} exited with {:?}: {text}",
        out.status
    );
    assert!(
        !text.contains("panicked"),
        "{name} {args:?} panicked: {text}"
    );
    assert!(
        text.to_lowercase().contains(&needle.to_lowercase()),
        "{name} {args:?}: message does not mention {needle:?}: {text}"
    );
}

#[test]
fn unknown_task_is_rejected_by_name() {
    let out = std::env::temp_dir().join("hidden-rules-cli-test-unused");
    let out = out.to_str().unwrap();
    fails_with(
        "empirical-rules",
        &["data", "--task", "Z", "--out", out],
        2,
        "task",
    );
    fails_with(
        "empirical",
        &["data", "--task", "Z", "--out", out],
        2,
        "task",
    );
    fails_with("empirical", &["train", "--task", "Q"], 2, "task");
}

#[test]
fn bad_flag_values_are_rejected_with_the_flag_named() {
    fails_with("theory", &["stationary", "--d", "0"], 2, "--d");
    fails_with(
        "theory",
        &["psi", "--activation", "tanh"],
        2,
        "--activation",
    );
    fails_with(
        "theory",
        &["stationary", "--zeta", "uniform:0.8:0.2"],
        2,
        "--zeta",
    );
    fails_with("bridge", &["--m", "abc"], 2, "--m");
    fails_with(
        "proofs-check",
        &["--claim", "no.such.claim"],
        2,
        "no.such.claim",
    );
    fails_with("plots", &["no-such-figure"], 2, "no-such-figure");
}

#[test]
fn missing_files_are_reported_by_path() {
    let missing = "/nonexistent/hidden-rules/samples";
    let out = std::env::temp_dir().join("hidden-rules-cli-results.json");
    let out = out.to_str().unwrap();
    for bin in ["empirical-rules", "empirical"] {
        let o = Command::new(binary(bin))
            .args(["eval", "--task", "A", "--samples", missing, "--out", out])
            .output()
            .expect("binary runs");
        let text =
            String::from_utf8_lossy(&o.stderr).to_string() + &String::from_utf8_lossy(&o.stdout);
        assert!(
            !o.status.success(),
            "{bin} eval on a missing path succeeded: {text}"
        );
        assert!(!text.contains("panicked"), "{bin} panicked: {text}");
        assert!(
            text.contains(missing),
            "{bin}: message does not name the path: {text}"
        );
    }
}

#[test]
fn mitigation_commands_reject_bad_input() {
    // Section 5 commands: unknown task, bad guidance value, missing files
    fails_with("empirical", &["mitigate", "--task", "E"], 2, "task");
    fails_with(
        "empirical",
        &["mitigate", "--task", "A", "--scale=-3"],
        2,
        "scale",
    );
    fails_with(
        "empirical",
        &[
            "classifier",
            "train",
            "--arch",
            "vgg",
            "--out",
            "/nonexistent/x",
        ],
        2,
        "arch",
    );
    fails_with(
        "empirical",
        &["table2", "--runs", "/nonexistent/hidden-rules/runs"],
        1,
        "/nonexistent/hidden-rules/runs",
    );
    fails_with(
        "empirical",
        &[
            "filter",
            "--classifier",
            "/nonexistent/clf.ckpt",
            "--samples",
            "/nonexistent/samples",
            "--out",
            "/nonexistent/out",
        ],
        1,
        "/nonexistent/clf.ckpt",
    );
}
