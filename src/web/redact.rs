//! What of a run's error text may be shown over HTTP.
//!
//! The ledger keeps a failed run's error whole, for the operator (`crimewatch runs`, the log). `GET /api/runs`
//! is public, so there the text loses what tells a stranger about the machine: paths inside the data dir become
//! `DATA_DIR/…`, any other absolute path keeps only its file name, and DuckDB's quotation of the SQL it failed
//! on (`LINE 1: select …` and the caret under it) is dropped. The sentence that says what failed and what to do
//! stays.

use std::path::Path;

/// `error` as `GET /api/runs` shows it, for a data dir at `data_root`.
pub fn run_error(error: &str, data_root: &Path) -> String {
    let without_sql = drop_sql_context(error);
    // A relative data dir (`data`, the default) appears in errors as a relative path, which says nothing about
    // the machine; only an absolute one is spelled DATA_DIR.
    let root = if data_root.is_absolute() { data_root.to_string_lossy().to_string() } else { String::new() };
    let root = root.trim_end_matches('/');
    strip_absolute_paths(&relative_to(&without_sql, root))
}

/// `text` with the absolute data dir `root` spelled `DATA_DIR` wherever it is a whole path or a path's first part
/// (so `/data` does not turn `/database` into `DATA_DIRbase`).
fn relative_to(text: &str, root: &str) -> String {
    if root.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, _) in text.match_indices(root) {
        let next = text[at + root.len()..].chars().next();
        if at >= last && next.is_none_or(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))) {
            out.push_str(&text[last..at]);
            out.push_str("DATA_DIR");
            last = at + root.len();
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Removes DuckDB's `LINE n: <sql>` lines and the `^` line that points into them.
fn drop_sql_context(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut after_sql = false;
    for line in text.split('\n') {
        let trimmed = line.trim_start();
        let is_sql = trimmed
            .strip_prefix("LINE ")
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let is_caret = after_sql && !trimmed.is_empty() && trimmed.trim_end().bytes().all(|b| b == b'^');
        after_sql = is_sql;
        if !is_sql && !is_caret {
            kept.push(line);
        }
    }
    kept.join("\n").trim_end().to_string()
}

/// Replaces each absolute path (a `/` at the start of a word) with `…/<its last part>`. `DATA_DIR/…` paths and
/// URLs (`http://host/…`: their `/` follow a `:` or a `/`) are not at the start of a word, so they stay.
fn strip_absolute_paths(text: &str) -> String {
    const OPENS: &[char] = &[' ', '\t', '\n', '\'', '"', '`', '(', '[', '=', ','];
    const ENDS: &[char] = &[' ', '\t', '\n', '\'', '"', '`', ')', ']', ',', ';', ':'];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut prev: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        if c == '/' && prev.is_none_or(|p| OPENS.contains(&p)) {
            let end = rest.find(ENDS).unwrap_or(rest.len());
            let path = &rest[..end];
            let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            out.push_str("…/");
            out.push_str(last);
            prev = path.chars().last();
            rest = &rest[end..];
        } else {
            out.push(c);
            prev = Some(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_paths_become_relative_and_other_paths_keep_their_file_name() {
        let root = Path::new("/var/lib/crimewatch");
        let e = "cannot write the run ledger /var/lib/crimewatch/runs.jsonl: No space left on device (os error 28)";
        assert_eq!(
            run_error(e, root),
            "cannot write the run ledger DATA_DIR/runs.jsonl: No space left on device (os error 28)"
        );
        let e = "cannot read the export '/home/ann/Downloads/SPD_Crime_Data.csv': not found";
        assert_eq!(run_error(e, root), "cannot read the export '…/SPD_Crime_Data.csv': not found");
        let e = "reading http://127.0.0.1:9000/resource/tazs-3rd5.json failed (file /tmp/x/y.parquet)";
        assert_eq!(
            run_error(e, root),
            "reading http://127.0.0.1:9000/resource/tazs-3rd5.json failed (file …/y.parquet)"
        );
        assert_eq!(run_error("no lake at /srv/data/lake:", Path::new("/srv/data/")), "no lake at DATA_DIR/lake:");
        assert_eq!(run_error("see /data/x and /database/y", Path::new("/data")), "see DATA_DIR/x and …/y");
        assert_eq!(run_error("no data yet in data/lake", Path::new("data")), "no data yet in data/lake");
    }

    #[test]
    fn duckdb_sql_quotations_are_dropped_and_the_message_kept() {
        let e = "building model mart_area_counts failed: Binder Error: Referenced column \"beat\" not found\n\nLINE 3: select beat, count(*) from marts.fct_offenses\n               ^\n  otherwise the SQL of mart_area_counts needs fixing";
        let shown = run_error(e, Path::new("/data"));
        assert!(!shown.contains("select") && !shown.contains("LINE 3") && !shown.contains('^'), "{shown}");
        assert!(shown.contains("Referenced column \"beat\" not found") && shown.contains("needs fixing"), "{shown}");
    }
}
