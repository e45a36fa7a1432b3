//! Ephemeral models, as dbt inlines them: a `ref` to one renders as a CTE name, and the CTEs of every ephemeral
//! model a node uses (and of those they use) go in front of the node's SQL.

use std::collections::BTreeMap;

/// An ephemeral model, rendered: its own SQL (without the CTEs of the ephemeral models it refs) and its refs.
#[derive(Debug, Clone)]
pub struct Ephemeral {
    pub sql: String,
    pub refs: Vec<String>,
}

/// The CTE name dbt gives an ephemeral model.
pub(super) fn cte_name(model: &str) -> String {
    format!("__dbt__cte__{model}")
}

/// The CTEs of the ephemeral models among `refs` and of those they use in turn, each once, every one after the
/// CTEs it reads (dbt's order: depth first, in ref order).
pub(super) fn ctes_for(refs: &[String], ephemerals: &BTreeMap<String, Ephemeral>) -> Vec<String> {
    fn visit(name: &str, ephemerals: &BTreeMap<String, Ephemeral>, seen: &mut Vec<String>, out: &mut Vec<String>) {
        let Some(e) = ephemerals.get(name) else { return };
        if seen.iter().any(|s| s == name) {
            return;
        }
        seen.push(name.to_string());
        for r in &e.refs {
            visit(r, ephemerals, seen, out);
        }
        // `not materialized`, which dbt does not write: DuckDB stores a CTE that is read more than once, and
        // int_offenses_latest reads staging twice on purpose (narrow keys to rank, then whole rows), which is
        // cheaper as two scans of the lake (2.2 s against 4.4 s for the stored CTE on 1.2M rows). The rows are
        // the same either way; dbt-duckdb's plain CTE only takes longer.
        out.push(format!("{} as not materialized (\n{}\n)", cte_name(name), e.sql));
    }
    let (mut seen, mut out) = (vec![], vec![]);
    for r in refs {
        visit(r, ephemerals, &mut seen, &mut out);
    }
    out
}

/// Puts `ctes` in front of `sql`: into its leading `with` (after `recursive`, if any) when it has one, else in a
/// `with` of their own (dbt's `_inject_ctes_into_sql`).
pub(super) fn inject_ctes(sql: &str, ctes: &[String]) -> String {
    if ctes.is_empty() {
        return sql.to_string();
    }
    let ctes = ctes.join(",\n");
    let start = skip_comments(sql, 0);
    if !keyword_at(sql, start, "with") {
        return format!("with {ctes}\n{sql}");
    }
    let mut end = start + "with".len();
    let next = skip_comments(sql, end);
    if keyword_at(sql, next, "recursive") {
        end = next + "recursive".len();
    }
    format!("{} {ctes},{}", &sql[..end], &sql[end..])
}

/// Whether the word starting at `at` is `keyword` (any case).
fn keyword_at(sql: &str, at: usize, keyword: &str) -> bool {
    let rest = &sql[at..];
    let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    rest[..len].eq_ignore_ascii_case(keyword)
}

/// Where the next token at or after `at` starts, past whitespace and `--` / `/* */` comments.
fn skip_comments(sql: &str, mut at: usize) -> usize {
    loop {
        let rest = &sql[at..];
        let trimmed = rest.trim_start();
        at += rest.len() - trimmed.len();
        if trimmed.starts_with("--") {
            at += trimmed.find('\n').unwrap_or(trimmed.len());
        } else if trimmed.starts_with("/*") {
            at += trimmed.find("*/").map(|i| i + 2).unwrap_or(trimmed.len());
        } else {
            return at;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ephemerals() -> BTreeMap<String, Ephemeral> {
        let e = |sql: &str, refs: &[&str]| Ephemeral {
            sql: sql.to_string(),
            refs: refs.iter().map(|r| r.to_string()).collect(),
        };
        [
            ("stg".to_string(), e("select 1 as x", &[])),
            ("int".to_string(), e("select x from __dbt__cte__stg", &["stg", "seed"])),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn ctes_come_once_each_after_the_ctes_they_read() {
        let ctes = ctes_for(&["int".to_string(), "stg".to_string(), "table".to_string()], &ephemerals());
        assert_eq!(
            ctes,
            [
                "__dbt__cte__stg as not materialized (\nselect 1 as x\n)",
                "__dbt__cte__int as not materialized (\nselect x from __dbt__cte__stg\n)"
            ]
        );
    }

    #[test]
    fn ctes_join_a_leading_with_past_comments_or_open_one() {
        let ctes = ["a as (select 1)".to_string()];
        assert_eq!(
            inject_ctes("-- why\n/* note */ WITH b as (select 2) select * from b", &ctes),
            "-- why\n/* note */ WITH a as (select 1), b as (select 2) select * from b"
        );
        assert_eq!(
            inject_ctes("with recursive r as (select 1) select * from r", &ctes),
            "with recursive a as (select 1), r as (select 1) select * from r"
        );
        assert_eq!(inject_ctes("-- c\nselect * from a", &ctes), "with a as (select 1)\n-- c\nselect * from a");
        assert!(!keyword_at("without_x", 0, "with") && keyword_at("WITH\n", 0, "with"));
        assert_eq!(inject_ctes("select 1", &[]), "select 1");
    }
}
