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

fn load_pull(tag: &str) -> Vec<Row> {
    let dir = samples_dir();
    let file = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!("cannot list {}: {e}; set CRIMEWATCH_SHARED_DIR to the shared folder", dir.display())
        })
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.contains(tag) && name.ends_with(".json")
        })
        .unwrap_or_else(|| {
            panic!("no *{tag}*.json in {}; set CRIMEWATCH_SHARED_DIR to the shared folder", dir.display())
        });
    read_rows(&file)
}

/// Reads a SODA JSON array of rows.
pub fn read_rows(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not a JSON array of rows: {e}", path.display()))
}

/// The first real pull (4,078 rows, old schema).
pub fn pull1() -> Vec<Row> {
    load_pull("pull1")
}

/// The same window pulled three weeks later (4,098 rows): rows added, gone, changed.
pub fn pull2() -> Vec<Row> {
    load_pull("pull2")
}
