//! Atomic file writes shared by every crate of the suite.
//!
//! A result file is written to a temporary file in its destination folder and renamed over the
//! destination, so a reader never sees half a file and a killed writer leaves the old file (or
//! none). The temporary file is created with mode `0o666` less the process umask, exactly as
//! `File::create` would create the destination itself (`tempfile::NamedTempFile::new_in` alone
//! gives `0o600` whatever the umask).
use std::io::{BufWriter, Write};
use std::path::Path;

/// The folder `path` lives in (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A named temporary file beside `path` (hidden: `.<file name>.<random>.tmp`) whose mode
/// follows the umask like `File::create` (the mode is passed to `open(2)`, which applies it).
pub fn tempfile_for(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let prefix = format!(
        ".{}.",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(parent_of(path))
}

/// Write `path` atomically through `fill`, creating its parent folder.
///
/// `fill` gets a buffered writer on the temporary file; the file is flushed and synced before
/// it is renamed over `path`. On any error the temporary file is removed and `path` is left as
/// it was.
pub fn write_atomic_with<F>(path: &Path, fill: F) -> std::io::Result<()>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    std::fs::create_dir_all(parent_of(path))?;
    let mut tmp = tempfile_for(path)?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        fill(&mut w)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Write `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// The process umask, read from `/proc/self/status` without changing it (Linux; `None`
/// elsewhere). Tests use it to check that written files get the mode `0o666 & !umask`.
pub fn process_umask() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_parent_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn failed_fill_keeps_the_old_file_and_removes_the_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"old").unwrap();
        let err = write_atomic_with(&p, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("stop"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "stop");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn mode_is_that_of_a_plain_create() {
        use std::os::unix::fs::PermissionsExt;
        let Some(umask) = process_umask() else {
            eprintln!("no /proc/self/status: umask unknown, mode not checked");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("atomic");
        let plain = dir.path().join("plain");
        write_atomic(&ours, b"x").unwrap();
        std::fs::write(&plain, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ours), 0o666 & !umask);
        assert_eq!(mode(&ours), mode(&plain));
    }
}
