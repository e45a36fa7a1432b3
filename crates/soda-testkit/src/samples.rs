//! The real SPD rows saved in the shared folder (`shared/data/spd-samples`, see its SOURCES.md): two SODA JSON
//! pulls of the same three-week window, three weeks apart, in the old schema — a real revision.

use std::path::{Path, PathBuf};

use super::Row;

/// The shared data folder: `$CRIMEWATCH_SHARED_DIR`, else `$CARGO_MANIFEST_DIR/../shared`, else the nearest
/// ancestor of the package holding `shared/data/spd-samples` (worktrees sit one level deeper).
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CRIMEWATCH_SHARED_DIR") {
        return PathBuf::from(dir);
    }
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let sibling = manifest.join("..").join("shared");
    if sibling.join("data").is_dir() {
        return sibling;
    }
    manifest
        .ancestors()
        .map(|a| a.join("shared"))
        .find(|s| s.join("data").join("spd-samples").is_dir())
        .unwrap_or(sibling)
}

/// The folder of sample files.
pub fn samples_dir() -> PathBuf {
    shared_dir().join("data").join("spd-samples")
}

/// The rows of the pull whose file name holds `tag`, or why they cannot be read.
fn load_pull(tag: &str) -> Result<Vec<Row>, String> {
    let dir = samples_dir();
    let hint = "set CRIMEWATCH_SHARED_DIR to the shared folder";
    let file = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot list {}: {e}; {hint}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.contains(tag) && name.ends_with(".json")
        })
        .ok_or_else(|| format!("no *{tag}*.json in {}; {hint}", dir.display()))?;
    try_read_rows(&file)
}

fn try_read_rows(path: &Path) -> Result<Vec<Row>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a JSON array of rows: {e}", path.display()))
}

/// Reads a SODA JSON array of rows.
pub fn read_rows(path: &Path) -> Vec<Row> {
    try_read_rows(path).unwrap_or_else(|e| panic!("{e}"))
}

/// The first real pull (4,078 rows, old schema).
pub fn pull1() -> Vec<Row> {
    try_pull1().unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`pull1`], with an error message instead of a panic (for the `soda-server` binary).
pub fn try_pull1() -> Result<Vec<Row>, String> {
    load_pull("pull1")
}

/// The same window pulled three weeks later (4,098 rows): rows added, gone, changed.
pub fn pull2() -> Vec<Row> {
    load_pull("pull2").unwrap_or_else(|e| panic!("{e}"))
}
