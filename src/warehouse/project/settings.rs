//! `dbt_project.yml`: the project's name, its vars, and the `+schema` / `+materialized` config its `models:` and
//! `seeds:` trees give each folder.

use std::collections::BTreeMap;

use yaml_serde::Value as Yaml;

use super::{project_error, Files, NodeConfig};
use crate::warehouse::error::WarehouseError;

const FILE: &str = "dbt_project.yml";

/// What `dbt_project.yml` says.
#[derive(Debug)]
pub(super) struct Settings {
    pub name: String,
    pub vars: BTreeMap<String, serde_json::Value>,
    /// `models: <name>:` — folder names as keys, `+key` config at each level.
    models: Yaml,
    /// `seeds: <name>:`.
    seeds: Yaml,
}

pub(super) fn read(files: &Files) -> Result<Settings, WarehouseError> {
    let text = files.get(FILE).ok_or_else(|| project_error(FILE, "missing"))?;
    let doc = parse_yaml(FILE, text)?;
    let name = str_at(&doc, "name").ok_or_else(|| project_error(FILE, "no `name`"))?.to_string();
    let vars = match doc.get("vars") {
        Some(v) => serde_json::to_value(v)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .map(|m| m.into_iter().collect())
            .ok_or_else(|| project_error(FILE, "`vars` must be a mapping"))?,
        None => BTreeMap::new(),
    };
    let tree = |key: &str| doc.get(key).and_then(|m| m.get(&name)).cloned().unwrap_or(Yaml::Null);
    Ok(Settings { models: tree("models"), seeds: tree("seeds"), name, vars })
}

impl Settings {
    /// The config of a model in `folders` (its path under `models/`, without the file name).
    pub fn model_folder_config(&self, folders: &[&str]) -> Result<NodeConfig, WarehouseError> {
        folder_config(&self.models, folders)
    }

    /// The config of every seed (crimewatch reads seeds from `seeds/` itself, not from sub-folders).
    pub fn seed_config(&self) -> Result<NodeConfig, WarehouseError> {
        folder_config(&self.seeds, &[])
    }
}

/// Applies `+schema` / `+materialized` from the project level down to the node's folder, as dbt does: a deeper
/// folder's value wins.
fn folder_config(tree: &Yaml, folders: &[&str]) -> Result<NodeConfig, WarehouseError> {
    let mut config = NodeConfig::default();
    let mut levels = vec![tree];
    let mut node = Some(tree);
    for f in folders {
        node = node.and_then(|n| n.get(*f));
        levels.extend(node);
    }
    for (key, value) in levels.into_iter().filter_map(Yaml::as_mapping).flatten() {
        let Some(key) = key.as_str().and_then(|k| k.strip_prefix('+')) else { continue };
        let text = value.as_str().map(str::to_string);
        match key {
            "schema" => config.schema = text,
            "materialized" => config.materialized = text,
            other => return Err(project_error(FILE, format!("+{other} is not supported by crimewatch's runner"))),
        }
    }
    Ok(config)
}

pub(super) fn parse_yaml(file: &str, text: &str) -> Result<Yaml, WarehouseError> {
    yaml_serde::from_str(text).map_err(|e| project_error(file, e.to_string()))
}

pub(super) fn str_at<'a>(v: &'a Yaml, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Yaml::as_str)
}

pub(super) fn seq_at<'a>(v: &'a Yaml, key: &str) -> &'a [Yaml] {
    v.get(key).and_then(Yaml::as_sequence).map(|s| s.as_slice()).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deeper_folder_overrides_its_parent_and_unknown_keys_are_named() {
        let files: Files = [(
            FILE.to_string(),
            "name: p\nvars: {n: 2}\nmodels:\n  p:\n    +materialized: table\n    staging:\n      +schema: staging\n      \
             +materialized: view\n"
                .to_string(),
        )]
        .into_iter()
        .collect();
        let s = read(&files).unwrap();
        assert_eq!(s.vars["n"], serde_json::json!(2));
        let staging = s.model_folder_config(&["staging"]).unwrap();
        assert_eq!((staging.schema.as_deref(), staging.materialized.as_deref()), (Some("staging"), Some("view")));
        let other = s.model_folder_config(&["marts"]).unwrap();
        assert_eq!((other.schema, other.materialized.as_deref()), (None, Some("table")));

        let files: Files =
            [(FILE.to_string(), "name: p\nmodels:\n  p:\n    +tags: [x]\n".to_string())].into_iter().collect();
        let err = read(&files).unwrap().model_folder_config(&[]).unwrap_err().to_string();
        assert!(err.contains("+tags") && err.contains(FILE), "{err}");
    }
}
