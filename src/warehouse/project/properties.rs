//! The `.yml` property files under `models/` and `seeds/`: sources, the data tests declared on models, seeds and
//! their columns, and each seed's `column_types`.

use std::collections::BTreeMap;

use yaml_serde::Value as Yaml;

use super::generic_test;
use super::settings::{parse_yaml, seq_at, str_at};
use super::{project_error, Files, GenericTest, SourceTable, TestedColumn};
use crate::warehouse::error::WarehouseError;

/// What the property files declare.
#[derive(Debug, Default)]
pub(super) struct Properties {
    pub sources: Vec<SourceTable>,
    pub generic_tests: Vec<GenericTest>,
    /// Seed name → column → DuckDB type.
    pub seed_types: BTreeMap<String, BTreeMap<String, String>>,
}

pub(super) fn read(files: &Files) -> Result<Properties, WarehouseError> {
    let mut out = Properties::default();
    let property_files = files.iter().filter(|(p, _)| {
        (p.starts_with("models/") || p.starts_with("seeds/")) && (p.ends_with(".yml") || p.ends_with(".yaml"))
    });
    for (path, text) in property_files {
        let doc = parse_yaml(path, text)?;
        for source in seq_at(&doc, "sources") {
            out.sources.extend(read_source(source, path)?);
        }
        for node in seq_at(&doc, "models").iter().chain(seq_at(&doc, "seeds")) {
            read_node(node, path, &mut out)?;
        }
    }
    Ok(out)
}

/// One `sources:` entry: each of its tables with the `external_location` crimewatch reads it from.
fn read_source(src: &Yaml, path: &str) -> Result<Vec<SourceTable>, WarehouseError> {
    let source = str_at(src, "name").ok_or_else(|| project_error(path, "a source without `name`"))?;
    seq_at(src, "tables")
        .iter()
        .map(|table| {
            let t = str_at(table, "name").ok_or_else(|| project_error(path, "a source table without `name`"))?;
            let location = table
                .get("meta")
                .and_then(|m| m.get("external_location"))
                .or_else(|| table.get("config").and_then(|m| m.get("external_location")))
                .or_else(|| src.get("meta").and_then(|m| m.get("external_location")))
                .and_then(Yaml::as_str)
                .ok_or_else(|| project_error(path, format!("source {source}.{t} has no meta.external_location")))?;
            Ok(SourceTable {
                source: source.to_string(),
                table: t.to_string(),
                external_location: location.trim().to_string(),
                file: path.to_string(),
            })
        })
        .collect()
}

/// One `models:` or `seeds:` entry: its model-level tests (each names what it tests with `column_name`), its
/// columns' tests, and (seeds) its column types.
fn read_node(node: &Yaml, path: &str, out: &mut Properties) -> Result<(), WarehouseError> {
    let model = str_at(node, "name").ok_or_else(|| project_error(path, "an entry without `name`"))?;
    for spec in tests_of(node) {
        out.generic_tests.push(generic_test::parse(spec, model, None, path)?);
    }
    if let Some(types) = read_config(node, model, path)? {
        out.seed_types.insert(model.to_string(), types);
    }
    for column in seq_at(node, "columns") {
        let col = str_at(column, "name").ok_or_else(|| project_error(path, "a column without `name`"))?;
        for spec in tests_of(column) {
            let tested = TestedColumn::Name(col.to_string());
            out.generic_tests.push(generic_test::parse(spec, model, Some(tested), path)?);
        }
    }
    Ok(())
}

/// `data_tests:` (dbt ≥ 1.8), or the older `tests:`.
fn tests_of(node: &Yaml) -> &[Yaml] {
    let tests = node.get("data_tests").or_else(|| node.get("tests"));
    tests.and_then(Yaml::as_sequence).map(|s| s.as_slice()).unwrap_or(&[])
}

/// A node's `config:` in its property file. Only a seed's `column_types` is read; any other key would change
/// how dbt builds the node, so it is refused rather than ignored.
fn read_config(node: &Yaml, model: &str, path: &str) -> Result<Option<BTreeMap<String, String>>, WarehouseError> {
    let Some(config) = node.get("config").and_then(Yaml::as_mapping) else { return Ok(None) };
    let mut column_types = None;
    for (key, value) in config {
        match key.as_str().unwrap_or_default() {
            "column_types" => column_types = Some(read_column_types(value, model, path)?),
            other => {
                return Err(project_error(
                    path,
                    format!(
                        "{model}: config `{other}` in a property file is not supported by crimewatch's runner; set \
                         it in dbt_project.yml or in the model's config()"
                    ),
                ))
            }
        }
    }
    Ok(column_types)
}

fn read_column_types(types: &Yaml, model: &str, path: &str) -> Result<BTreeMap<String, String>, WarehouseError> {
    let map = types.as_mapping().ok_or_else(|| project_error(path, "column_types must be a mapping"))?;
    map.iter()
        .map(|(k, v)| match (k.as_str(), v.as_str()) {
            (Some(k), Some(v)) => Ok((k.to_string(), v.to_string())),
            _ => Err(project_error(path, format!("{model}: column_types entries must be text"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_one(yml: &str) -> Result<Properties, WarehouseError> {
        read(&[("models/m.yml".to_string(), yml.to_string())].into_iter().collect())
    }

    #[test]
    fn model_level_tests_test_their_column_name_expression() {
        let p = read_one(
            "models:\n  - name: m\n    data_tests:\n      - unique:\n          arguments:\n            \
             column_name: \"row(a, b)\"\n    columns:\n      - name: a\n        data_tests: [not_null]\n",
        )
        .unwrap();
        let names: Vec<(&str, String)> = p.generic_tests.iter().map(|t| (t.name.as_str(), t.column.sql())).collect();
        assert_eq!(names, [("unique_m_row_a_b_", "row(a, b)".to_string()), ("not_null_m_a", "\"a\"".to_string())]);
    }

    #[test]
    fn a_model_level_test_without_column_name_and_other_config_keys_are_refused() {
        let err = read_one("models:\n  - name: m\n    data_tests: [unique]\n").unwrap_err().to_string();
        assert!(err.contains("column_name") && err.contains("models/m.yml"), "{err}");
        let err = read_one("models:\n  - name: m\n    config:\n      materialized: table\n").unwrap_err().to_string();
        assert!(err.contains("materialized") && err.contains("dbt_project.yml"), "{err}");
    }
}
