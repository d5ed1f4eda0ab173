//! `--output FILE`: the document goes to a file, replaced atomically.
//!
//! Contract: readers of FILE (node_exporter's textfile collector, a monitoring
//! agent) see either the previous complete document or the new complete one,
//! never a partial write. The document is written to a temporary file in the
//! same directory (same file system, so `rename` is atomic), named
//! `.NAME.XXXXXX.tmp` so that a collector matching `*.prom` never picks it
//! up, given mode 0644, synced, then renamed over FILE; the directory is
//! synced after the rename so the new name survives a crash. On any failure
//! the temporary file is removed and FILE is left as it was. A symlink at
//! FILE is replaced by the new file, never followed.
//!
//! The temporary file comes from the `tempfile` crate (unique name, `O_EXCL`,
//! removed on drop) rather than hand-written retry loops.

use crate::error::Error;
use std::fs::{File, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Mode of the written file: world-readable, so that an unprivileged
/// collector (node_exporter runs as its own user) can read it.
pub const OUTPUT_MODE: u32 = 0o644;

/// Replaces `path` with `body`, atomically.
pub fn write_atomic(path: &Path, body: &[u8]) -> Result<(), Error> {
    let fail = |source: std::io::Error| Error::Output { path: path.to_path_buf(), source };
    let name = path.file_name().ok_or_else(|| fail(std::io::Error::other("the path names no file")))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    temp.as_file().set_permissions(Permissions::from_mode(OUTPUT_MODE)).map_err(fail)?;
    temp.write_all(body).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(path).map_err(|e| fail(e.error))?;
    // Durability of the rename; some file systems refuse to sync a
    // directory, which does not undo the (already visible) replacement.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn replaces_the_file_with_mode_0644_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("klp.prom");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o600)).unwrap();
        let before = std::fs::metadata(&path).unwrap().ino();
        write_atomic(&path, b"new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o644);
        assert_ne!(meta.ino(), before, "a new inode: renamed over, not rewritten in place");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("klp.prom")]);
    }

    #[test]
    fn a_failure_keeps_the_old_file_and_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("klp.prom");
        std::fs::create_dir(&path).unwrap();
        let err = write_atomic(&path, b"x").unwrap_err();
        assert_eq!(err.code(), "output_failed");
        assert_eq!(err.path(), Some(path.as_path()));
        assert!(path.is_dir());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "temporary file removed");
        let missing = dir.path().join("no/such/dir/klp.prom");
        assert_eq!(write_atomic(&missing, b"x").unwrap_err().code(), "output_failed");
    }

    #[test]
    fn a_symlink_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("klp.prom");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    }
}
