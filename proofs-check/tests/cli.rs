//! The `proofs-check` binary: where it writes, with which modes, and its usage errors.

use proofs_check::report::{snapshot_path, Snapshot};
use std::path::Path;
use std::process::Command;

fn run(cwd: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_proofs-check"))
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn write_snapshot_needs_a_path_and_quick_all_claims() {
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("snap.json");
    let snap = snap.to_str().unwrap();
    // the path is the flag's value: without one it is a usage error
    let (code, err) = run(dir.path(), &["--quick", "--write-snapshot"]);
    assert_eq!(code, 2, "{err}");
    // a snapshot of a subset, or of full sizes, would not match what the test runs
    let (code, err) = run(
        dir.path(),
        &[
            "--quick",
            "--claim",
            "Thm42.score",
            "--write-snapshot",
            snap,
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--write-snapshot"), "{err}");
    let (code, err) = run(dir.path(), &["--write-snapshot", snap]);
    assert_eq!(code, 2, "{err}");
    assert!(!Path::new(snap).exists());
    assert_eq!(dir.path().read_dir().unwrap().count(), 0);
    // the snapshot goes where the command line says, relative to the working folder
    let (code, err) = run(
        dir.path(),
        &["--quick", "--write-snapshot", "snap.json", "--out", "r"],
    );
    assert_eq!(code, 0, "{err}");
    let written: Snapshot =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("snap.json")).unwrap())
            .unwrap();
    let shipped: Snapshot =
        serde_json::from_str(&std::fs::read_to_string(snapshot_path()).unwrap()).unwrap();
    assert_eq!(written, shipped);
}

#[test]
fn reports_go_to_out_with_the_modes_of_a_plain_create() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let (code, err) = run(
        dir.path(),
        &[
            "--quick",
            "--claim",
            "Thm42.score",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    for name in ["proofs-report.md", "proofs-report.json"] {
        let p = out.join(name);
        assert!(p.is_file(), "{} missing", p.display());
        #[cfg(unix)]
        if let Some(umask) = theory::fsio::process_umask() {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o666 & !umask, "{name}: mode {mode:o}");
        }
    }
}
