//! Files written by `theory::fsio` get the mode a plain `File::create` gets under the umask.
//!
//! The umask is process-wide, so this binary holds one test only and changes it nowhere else.
#![cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use theory::fsio::write_atomic;

#[test]
fn atomic_writes_follow_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let old = unsafe { libc::umask(0o022) };
    let mut seen = Vec::new();
    for (umask, expected) in [
        (0o022, 0o644),
        (0o077, 0o600),
        (0o027, 0o640),
        (0o002, 0o664),
    ] {
        unsafe { libc::umask(umask) };
        let p = dir.path().join(format!("f{umask:o}"));
        write_atomic(&p, b"x").unwrap();
        seen.push((
            umask,
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            expected,
        ));
    }
    unsafe { libc::umask(old) };
    for (umask, mode, expected) in seen {
        assert_eq!(
            mode, expected,
            "umask {umask:o}: mode {mode:o}, want {expected:o}"
        );
    }
}
