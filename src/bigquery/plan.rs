//! What a publish loads, decided from checksums alone (pure, unit-tested).
//!
//! A table is loaded when BigQuery has no table of that name or its `crimewatch_checksum` label differs from the
//! local content's checksum. The staging table goes first, then the marts, and `meta_build` always last: a reader
//! that sees a new `built_at` then sees every table of that build.

use std::collections::HashMap;

/// The label that carries a table's content checksum in BigQuery.
pub const CHECKSUM_LABEL: &str = "crimewatch_checksum";
/// Written last.
pub const META_BUILD: &str = "meta_build";

/// A table as the local side knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    pub dataset: String,
    pub table: String,
    pub checksum: String,
}

/// One step: load the table at this index of the local list, or leave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Indices into the local list, in load order.
    pub load: Vec<usize>,
    /// Indices of tables whose BigQuery copy already has this content.
    pub unchanged: Vec<usize>,
}

/// `remote`: (dataset, table) → the checksum label, `None` when the table has none; absent when no such table.
pub fn plan(local: &[Local], remote: &HashMap<(String, String), Option<String>>) -> Plan {
    let (mut load, mut unchanged) = (Vec::new(), Vec::new());
    for (i, t) in local.iter().enumerate() {
        let key = (t.dataset.clone(), t.table.clone());
        match remote.get(&key) {
            Some(Some(label)) if *label == t.checksum => unchanged.push(i),
            _ => load.push(i),
        }
    }
    // A stable sort: meta_build moves to the end, the rest keep the caller's order (staging first, then marts).
    load.sort_by_key(|&i| local[i].table == META_BUILD);
    Plan { load, unchanged }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(dataset: &str, table: &str, checksum: &str) -> Local {
        Local { dataset: dataset.into(), table: table.into(), checksum: checksum.into() }
    }

    fn remote(entries: &[(&str, &str, Option<&str>)]) -> HashMap<(String, String), Option<String>> {
        entries.iter().map(|(d, t, c)| ((d.to_string(), t.to_string()), c.map(String::from))).collect()
    }

    #[test]
    fn first_publish_loads_everything_with_meta_build_last() {
        let l = [local("m", "meta_build", "1"), local("s", "spd_crime", "2"), local("m", "dim_month", "3")];
        let p = plan(&l, &HashMap::new());
        assert_eq!(p.load, vec![1, 2, 0]);
        assert!(p.unchanged.is_empty());
    }

    #[test]
    fn unchanged_tables_are_left_and_changed_or_unlabelled_ones_loaded() {
        let l = [local("s", "spd_crime", "a"), local("m", "dim_month", "b"), local("m", "meta_build", "c")];
        let same =
            remote(&[("s", "spd_crime", Some("a")), ("m", "dim_month", Some("b")), ("m", "meta_build", Some("c"))]);
        assert_eq!(plan(&l, &same), Plan { load: vec![], unchanged: vec![0, 1, 2] });
        let moved =
            remote(&[("s", "spd_crime", Some("a")), ("m", "dim_month", None), ("m", "meta_build", Some("old"))]);
        assert_eq!(plan(&l, &moved), Plan { load: vec![1, 2], unchanged: vec![0] });
    }

    #[test]
    fn same_table_name_in_another_dataset_is_not_the_same_table() {
        let l = [local("m", "dim_month", "b")];
        assert_eq!(plan(&l, &remote(&[("s", "dim_month", Some("b"))])).load, vec![0]);
    }
}
