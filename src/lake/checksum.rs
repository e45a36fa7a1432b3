//! What a month file's bytes are: its SHA-256 and size, as the manifest keeps them, and the file name derived
//! from them. Files are streamed through a fixed buffer (a month is ~0.3–1 MB, the whole 1.2M-row lake ~70 MB);
//! `sha2` picks the CPU's SHA extensions at run time where there are some.

use std::fmt;
use std::io::Read as _;
use std::path::Path;

use sha2::{Digest as _, Sha256};

use super::writer::content_hash;
use super::LakeError;

/// Hex digits of the SHA-256 in a month file's name: 64 bits, so a name is never reused for other content.
const NAME_HEX: usize = 16;

/// A file's SHA-256 (lowercase hex) and size in bytes: the fields `sha256` and `bytes` of a manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    pub sha256: String,
    pub bytes: u64,
}

impl FileDigest {
    /// `part-<first 16 hex digits of the SHA-256>.parquet`: named by content, so unchanged data keeps its name.
    pub fn part_file_name(&self) -> String {
        format!("part-{}.parquet", &self.sha256[..NAME_HEX])
    }
}

impl fmt::Display for FileDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes, SHA-256 {}", self.bytes, self.sha256)
    }
}

/// The SHA-256 and size of the file at `path`, read once from start to end.
pub fn digest(path: &Path) -> Result<FileDigest, LakeError> {
    let mut hasher = Sha256::new();
    let bytes = stream(path, |chunk| hasher.update(chunk))?;
    let sha256 = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(FileDigest { sha256, bytes })
}

/// The SHA-256 and size of bytes in memory (a downloaded object).
pub fn digest_bytes(bytes: &[u8]) -> FileDigest {
    let sha256 = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    FileDigest { sha256, bytes: bytes.len() as u64 }
}

/// What a file's name says about its content, when the name was derived from it: `Some(true)` when the content
/// still hashes to the name (the first 16 hex digits of its SHA-256, or — for files written before checksums were
/// kept — its 64-bit FNV-1a), `Some(false)` when it does not, `None` for a name that carries no hash.
pub fn name_matches(name: &str, path: &Path, digest: &FileDigest) -> Result<Option<bool>, LakeError> {
    let Some(hash) = name.strip_prefix("part-").and_then(|n| n.strip_suffix(".parquet")) else { return Ok(None) };
    if hash.len() != NAME_HEX || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    if digest.sha256.starts_with(hash) {
        return Ok(Some(true));
    }
    Ok(Some(content_hash(path)? == hash))
}

/// Feeds the file to `f` in 256 KiB chunks; returns its length.
fn stream(path: &Path, mut f: impl FnMut(&[u8])) -> Result<u64, LakeError> {
    let mut file = std::fs::File::open(path).map_err(LakeError::io("read", path))?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(LakeError::io("read", path))?;
        if n == 0 {
            return Ok(total);
        }
        f(&buf[..n]);
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("crimewatch-checksum-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn digest_is_the_sha256_and_size_of_the_bytes() {
        let p = temp_file("abc", b"abc");
        let d = digest(&p).unwrap();
        // FIPS 180-2, appendix B.1
        assert_eq!(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(d.bytes, 3);
        assert_eq!(d.part_file_name(), "part-ba7816bf8f01cfea.parquet");
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }

    #[test]
    fn names_from_either_hash_are_checked_and_other_names_carry_none() {
        let p = temp_file("names", b"abc");
        let d = digest(&p).unwrap();
        assert_eq!(name_matches("part-ba7816bf8f01cfea.parquet", &p, &d).unwrap(), Some(true));
        // FNV-1a 64 of "abc" (the name an older crimewatch gave this content)
        assert_eq!(name_matches("part-e71fa2190541574b.parquet", &p, &d).unwrap(), Some(true));
        assert_eq!(name_matches("part-0000000000000000.parquet", &p, &d).unwrap(), Some(false));
        assert_eq!(name_matches("part-fixture0.parquet", &p, &d).unwrap(), None);
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }
}
