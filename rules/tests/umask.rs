//! Files written by `io::atomic_write` and folders/files written by `data` get the mode a plain
//! `File::create` / `create_dir` gets under the process umask (not tempfile's fixed 0600).
//!
//! The umask is process-wide and there is no std API to set it, so the test re-runs this test
//! binary under `sh -c 'umask U; exec BIN ...'` for each umask; the child checks the modes.
#![cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const CHILD_ENV: &str = "EMPIRICAL_RULES_UMASK_CHILD";

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn current_umask() -> u32 {
    let o = Command::new("sh").args(["-c", "umask"]).output().unwrap();
    u32::from_str_radix(String::from_utf8_lossy(&o.stdout).trim(), 8).unwrap()
}

/// Runs only in the child process started by [`written_files_follow_the_umask`].
#[test]
fn child_checks_modes_under_the_inherited_umask() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    let umask = current_umask();
    let file = 0o666 & !umask;
    let folder = 0o777 & !umask;
    let p = dir.join("atomic.txt");
    empirical_rules::io::atomic_write(&p, |w| std::io::Write::write_all(w, b"x")).unwrap();
    assert_eq!(mode(&p), file, "atomic_write under umask {umask:o}");
    let out = dir.join("data");
    empirical_rules::cli::run_data(&empirical_rules::cli::DataArgs {
        task: empirical_rules::Task::D,
        n: 2,
        size: 16,
        seed: 0,
        out: out.clone(),
        kind: empirical_rules::cli::KindArg::Train,
        delta: 0.1,
    })
    .unwrap();
    assert_eq!(mode(&out), folder, "data folder under umask {umask:o}");
    for name in ["000000.png", "manifest.csv", "images.npy"] {
        assert_eq!(mode(&out.join(name)), file, "{name} under umask {umask:o}");
    }
}

#[test]
fn written_files_follow_the_umask() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for umask in ["022", "077", "027"] {
        let dir = tempfile::tempdir().unwrap();
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask {umask} && exec \"$0\" --exact child_checks_modes_under_the_inherited_umask --test-threads 1"
            ))
            .arg(&exe)
            .env(CHILD_ENV, dir.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "umask {umask}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        // the child really ran the checks
        assert!(
            dir.path().join("atomic.txt").is_file(),
            "umask {umask}: child did not run"
        );
    }
}
