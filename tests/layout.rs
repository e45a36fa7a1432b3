//! The allowed arrows between the library's modules (docs/ARCHITECTURE.md, "Who may use whom"), enforced: every
//! `crate::…` path in `src/` (grouped `use crate::{a::X, b::Y}` included; comments skipped) must point at the
//! file's own module or at one it may use. A forbidden one fails the test naming the file, the line and the arrow.

use std::path::{Path, PathBuf};

/// Module → the modules it may use besides itself. Nothing else in the crate may be used.
const ALLOWED: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("source", &["domain"]),
    ("lake", &["domain"]),
    ("warehouse", &["domain"]),
    ("web", &["domain"]),
    ("schedule", &["domain"]),
    ("bigquery", &["domain"]),
    // The one place that knows two stages.
    ("pipeline", &["domain", "source", "lake", "warehouse", "bigquery"]),
    ("runs", &["domain", "pipeline"]),
];

/// The binary edge and the settings wire the stages together: they may use anything.
const EDGE: &[&str] = &["main", "cli", "commands", "settings", "lib"];

/// One `crate::<module>` reference.
#[derive(Debug)]
struct Arrow {
    file: String,
    line: usize,
    from: String,
    to: String,
}

#[test]
fn every_module_uses_only_the_modules_the_layout_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src);
    assert!(files.len() > 30, "found only {} files under {}", files.len(), src.display());
    let mut arrows = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let from = top_module(rel);
        let text = std::fs::read_to_string(file).unwrap();
        for (line, to) in crate_paths(&text) {
            arrows.push(Arrow { file: format!("src/{}", rel.display()), line, from: from.clone(), to });
        }
    }
    assert!(arrows.len() > 50, "read only {} crate:: paths: the reader is broken", arrows.len());
    let forbidden: Vec<String> = arrows
        .iter()
        .filter_map(|a| {
            if EDGE.contains(&a.from.as_str()) || a.from == a.to {
                return None;
            }
            match ALLOWED.iter().find(|(m, _)| *m == a.from) {
                None => Some(format!("{}:{}: module `{}` is not in the layout's table", a.file, a.line, a.from)),
                Some((_, may)) if may.contains(&a.to.as_str()) => None,
                Some((_, may)) => Some(format!(
                    "{}:{}: {} → {} is not an allowed arrow ({} may use: {})",
                    a.file,
                    a.line,
                    a.from,
                    a.to,
                    a.from,
                    if may.is_empty() { "nothing else".to_string() } else { may.join(", ") }
                )),
            }
        })
        .collect();
    assert!(forbidden.is_empty(), "forbidden imports (see docs/ARCHITECTURE.md):\n{}", forbidden.join("\n"));
}

#[test]
fn the_reader_finds_plain_grouped_and_nested_paths_and_skips_comments() {
    let text =
        "use crate::domain::Month;\n// use crate::web::X;\nuse crate::{\n    lake::Lake,\n    source::{a, b},\n};\n\
                let x = crate::pipeline::run(); /* crate::runs */ let u = \"crate::schedule\";\n\
                let q = '\"'; let r = r#\"a \" crate::web\"#; fn f<'a>(x: &'a str) { crate::lake::open(x) }\n";
    let found: Vec<(usize, String)> = crate_paths(text);
    let want = [(1, "domain"), (4, "lake"), (5, "source"), (7, "pipeline"), (8, "lake")];
    assert_eq!(found, want.map(|(l, m)| (l, m.to_string())));
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// `web/api.rs` → `web`, `cli.rs` → `cli`.
fn top_module(rel: &Path) -> String {
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
    first.strip_suffix(".rs").unwrap_or(&first).to_string()
}

/// The top module of every `crate::` path, with its line (1-based).
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let code = without_comments_and_strings(text);
    let bytes = code.as_bytes();
    let line_of = |i: usize| code[..i].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::") {
        let i = from + at;
        from = i + "crate::".len();
        let before = if i == 0 { b' ' } else { bytes[i - 1] };
        if before.is_ascii_alphanumeric() || before == b'_' || before == b'$' {
            continue;
        }
        let rest = code[from..].trim_start();
        let start = code.len() - rest.len();
        if let Some(group) = rest.strip_prefix('{') {
            let end = matching_brace(group);
            let inner_start = start + 1;
            for (offset, item) in top_level_items(&group[..end]) {
                if let Some(module) = ident(item.trim_start()) {
                    let lead = item.len() - item.trim_start().len();
                    out.push((line_of(inner_start + offset + lead), module));
                }
            }
        } else if let Some(module) = ident(rest) {
            out.push((line_of(start), module));
        }
    }
    out
}

/// The code with comments, string and char literals blanked (newlines kept, so line numbers stay).
fn without_comments_and_strings(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let end = literal_or_comment_end(&chars, i);
        if end == i {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let end = end.min(chars.len());
        out.extend(chars[i..end].iter().map(|&c| if c == '\n' { '\n' } else { ' ' }));
        i = end;
    }
    out
}

/// Where a comment or literal starting at `i` ends; `i` itself when none starts there.
fn literal_or_comment_end(chars: &[char], i: usize) -> usize {
    let at = |j: usize| chars.get(j).copied();
    let find = |from: usize, done: &dyn Fn(usize) -> bool| (from..chars.len()).find(|&j| done(j));
    let ident_before = i > 0 && (chars[i - 1].is_ascii_alphanumeric() || chars[i - 1] == '_');
    match (chars[i], at(i + 1)) {
        ('/', Some('/')) => find(i, &|j| chars[j] == '\n').unwrap_or(chars.len()),
        ('/', Some('*')) => find(i + 2, &|j| chars[j] == '*' && at(j + 1) == Some('/')).map_or(chars.len(), |j| j + 2),
        ('r', Some('#' | '"')) if !ident_before => {
            let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
            if at(i + 1 + hashes) != Some('"') {
                return i;
            }
            let closes = |j: usize| chars[j] == '"' && (1..=hashes).all(|k| at(j + k) == Some('#'));
            find(i + 2 + hashes, &closes).map_or(chars.len(), |j| j + 1 + hashes)
        }
        ('"', _) => {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            j + 1
        }
        // A char literal ('x', '\n', '\''); a lifetime ('a) is code.
        ('\'', Some('\\')) => find(i + 3, &|j| chars[j] == '\'').map_or(chars.len(), |j| j + 1),
        ('\'', Some(_)) if at(i + 2) == Some('\'') => i + 3,
        _ => i,
    }
}

/// The index of the `}` that closes a group whose `{` was just before `s`.
fn matching_brace(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    s.len()
}

/// The comma-separated items of a group at its top level, with their offsets.
fn top_level_items(s: &str) -> Vec<(usize, &str)> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push((start, &s[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    if !s[start..].trim().is_empty() {
        out.push((start, &s[start..]));
    }
    out
}

/// The identifier `s` starts with.
fn ident(s: &str) -> Option<String> {
    let end = s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(s.len());
    (end > 0).then(|| s[..end].to_string())
}
