//! Durable file-system steps: fsync'd writes and renames, and the atomic exchange of two folders.

use std::fs::File;
use std::io::Write as _;
use std::path::Path;

use super::LakeError;

pub fn fsync_file(path: &Path) -> Result<(), LakeError> {
    File::open(path).and_then(|f| f.sync_all()).map_err(LakeError::io("fsync", path))
}

pub fn fsync_dir(path: &Path) -> Result<(), LakeError> {
    File::open(path).and_then(|f| f.sync_all()).map_err(LakeError::io("fsync folder", path))
}

/// Writes `bytes` to `path` through a temp file beside it: readers see the old file or the new one, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LakeError> {
    let tmp = path.with_extension("json.tmp");
    let mut f = File::create(&tmp).map_err(LakeError::io("create", &tmp))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(LakeError::io("write", &tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(LakeError::io("rename into place", path))?;
    if let Some(dir) = path.parent() {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temp file beside it, without fsync: readers see the old file or the new
/// one, but after a power cut the file may be the old one, empty, or gone (only for files that are checked
/// before they are believed).
pub fn replace_unsynced(path: &Path, bytes: &[u8]) -> Result<(), LakeError> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).map_err(LakeError::io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(LakeError::io("rename into place", path))
}

pub fn rename(from: &Path, to: &Path) -> Result<(), LakeError> {
    std::fs::rename(from, to).map_err(LakeError::io("rename", from))
}

/// Swaps two folders in one step (Linux `renameat2(RENAME_EXCHANGE)`), so a reader globbing the lake sees the
/// old month or the new one and never neither. Returns false when the file system cannot exchange; the caller
/// then uses two renames.
#[cfg(target_os = "linux")]
pub fn exchange(a: &Path, b: &Path) -> Result<bool, LakeError> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca =
        CString::new(a.as_os_str().as_bytes()).map_err(|e| LakeError::io("exchange", a)(std::io::Error::other(e)))?;
    let cb =
        CString::new(b.as_os_str().as_bytes()).map_err(|e| LakeError::io("exchange", b)(std::io::Error::other(e)))?;
    // SAFETY: both paths are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(LakeError::io("exchange", a)(err)),
    }
}

#[cfg(not(target_os = "linux"))]
pub fn exchange(_a: &Path, _b: &Path) -> Result<bool, LakeError> {
    Ok(false)
}
