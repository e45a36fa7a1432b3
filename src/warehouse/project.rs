//! Reads the dbt project (`dbt_project.yml`, the `.yml` property files, models, seeds, singular tests, macros)
//! into plain values. Only what crimewatch's runner implements is accepted; anything else is an error naming the
//! file, so the runner never silently differs from dbt.

use std::collections::BTreeMap;

use serde_yaml::Value as Yaml;

use super::error::WarehouseError;

/// dbt-duckdb's default schema (`main`), used when a node sets no custom schema.
pub const DEFAULT_SCHEMA: &str = "main";

/// How a model is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Materialized {
    Table,
    View,
}

impl Materialized {
    fn parse(value: &str, file: &str) -> Result<Materialized, WarehouseError> {
        match value {
            "table" => Ok(Materialized::Table),
            "view" => Ok(Materialized::View),
            other => Err(project_error(
                file,
                format!("materialized '{other}' is not supported by crimewatch's runner; use 'table' or 'view'"),
            )),
        }
    }
}

/// Config that folders (`dbt_project.yml`) and `{{ config(...) }}` can set.
#[derive(Debug, Clone, Default)]
pub struct NodeConfig {
    pub schema: Option<String>,
    pub materialized: Option<String>,
}

/// A `.sql` file under `models/`.
#[derive(Debug, Clone)]
pub struct ModelFile {
    pub name: String,
    pub path: String,
    pub sql: String,
    /// Config from `dbt_project.yml` folders (the model's own `config()` is applied when rendering).
    pub folder_config: NodeConfig,
}

/// A CSV under `seeds/` with its column types.
#[derive(Debug, Clone)]
pub struct SeedFile {
    pub name: String,
    pub path: String,
    pub csv: String,
    pub schema: String,
    /// Header columns in file order with their DuckDB types (from `column_types`).
    pub columns: Vec<(String, String)>,
}

/// `accepted_values`, `not_null`, ... declared on a column in a property file.
#[derive(Debug, Clone)]
pub struct GenericTest {
    /// dbt's name for it, e.g. `unique_fct_offenses_offense_id`.
    pub name: String,
    pub kind: GenericKind,
    pub model: String,
    pub column: String,
    pub severity: Severity,
    pub file: String,
}

#[derive(Debug, Clone)]
pub enum GenericKind {
    NotNull,
    Unique,
    AcceptedValues { values: Vec<String>, quote: bool },
    Relationships { to_model: String, field: String },
}

/// Whether failing rows stop the publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warn,
}

impl Severity {
    pub fn parse(value: &str, file: &str) -> Result<Severity, WarehouseError> {
        match value.to_ascii_lowercase().as_str() {
            "error" => Ok(Severity::Error),
            "warn" => Ok(Severity::Warn),
            other => Err(project_error(file, format!("severity '{other}' is not error or warn"))),
        }
    }
}

/// A `.sql` file under `tests/`.
#[derive(Debug, Clone)]
pub struct SingularTest {
    pub name: String,
    pub path: String,
    pub sql: String,
}

/// A source table: `source('lake', 'spd_crime')` renders to its `external_location`.
#[derive(Debug, Clone)]
pub struct SourceTable {
    pub source: String,
    pub table: String,
    /// The yml's `meta.external_location` (a Jinja template; `{name}`-style placeholders as dbt-duckdb formats them).
    pub external_location: String,
    pub file: String,
}

/// The whole project.
#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    pub vars: BTreeMap<String, serde_json::Value>,
    /// Every macro file, concatenated: prepended to each model and test so their macros are global, as in dbt.
    pub macros: String,
    pub models: Vec<ModelFile>,
    pub seeds: Vec<SeedFile>,
    pub sources: Vec<SourceTable>,
    pub generic_tests: Vec<GenericTest>,
    pub singular_tests: Vec<SingularTest>,
}

pub(crate) fn project_error(file: &str, message: impl Into<String>) -> WarehouseError {
    WarehouseError::Project { file: file.to_string(), message: message.into() }
}

impl Project {
    /// The project compiled into the binary.
    pub fn embedded() -> Result<Project, WarehouseError> {
        Project::from_files(super::embedded::FILES.iter().map(|(p, c)| (p.to_string(), c.to_string())).collect())
    }

    /// Parses a project from `(relative path, contents)` pairs.
    pub fn from_files(files: BTreeMap<String, String>) -> Result<Project, WarehouseError> {
        let project_file = "dbt_project.yml";
        let text = files.get(project_file).ok_or_else(|| project_error(project_file, "missing"))?;
        let doc: Yaml = parse_yaml(project_file, text)?;
        let name = str_at(&doc, "name").ok_or_else(|| project_error(project_file, "no `name`"))?.to_string();
        let vars = match doc.get("vars") {
            Some(v) => serde_json::to_value(v)
                .ok()
                .and_then(|v| v.as_object().cloned())
                .map(|m| m.into_iter().collect())
                .ok_or_else(|| project_error(project_file, "`vars` must be a mapping"))?,
            None => BTreeMap::new(),
        };
        let model_tree = doc.get("models").and_then(|m| m.get(&name)).cloned().unwrap_or(Yaml::Null);
        let seed_tree = doc.get("seeds").and_then(|m| m.get(&name)).cloned().unwrap_or(Yaml::Null);

        let macros: String = files
            .iter()
            .filter(|(p, _)| p.starts_with("macros/") && p.ends_with(".sql"))
            .map(|(_, c)| c.as_str())
            .collect::<Vec<_>>()
            .join("\n");

        let mut models = Vec::new();
        for (path, sql) in files.iter().filter(|(p, _)| p.starts_with("models/") && p.ends_with(".sql")) {
            let rel = &path["models/".len()..];
            let folders: Vec<&str> = rel.split('/').collect();
            let folder_config = folder_config(&model_tree, &folders[..folders.len() - 1], project_file)?;
            models.push(ModelFile { name: file_stem(path), path: path.clone(), sql: sql.clone(), folder_config });
        }

        let mut sources = Vec::new();
        let mut generic_tests = Vec::new();
        let mut seed_types: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (path, text) in files.iter().filter(|(p, _)| {
            (p.starts_with("models/") || p.starts_with("seeds/")) && (p.ends_with(".yml") || p.ends_with(".yaml"))
        }) {
            let doc = parse_yaml(path, text)?;
            for src in seq_at(&doc, "sources") {
                let source = str_at(src, "name").ok_or_else(|| project_error(path, "a source without `name`"))?;
                for table in seq_at(src, "tables") {
                    let t =
                        str_at(table, "name").ok_or_else(|| project_error(path, "a source table without `name`"))?;
                    let location = table
                        .get("meta")
                        .and_then(|m| m.get("external_location"))
                        .or_else(|| table.get("config").and_then(|m| m.get("external_location")))
                        .or_else(|| src.get("meta").and_then(|m| m.get("external_location")))
                        .and_then(Yaml::as_str)
                        .ok_or_else(|| {
                            project_error(path, format!("source {source}.{t} has no meta.external_location"))
                        })?;
                    sources.push(SourceTable {
                        source: source.to_string(),
                        table: t.to_string(),
                        external_location: location.trim().to_string(),
                        file: path.clone(),
                    });
                }
            }
            for node in seq_at(&doc, "models").iter().chain(seq_at(&doc, "seeds").iter()) {
                let model = str_at(node, "name").ok_or_else(|| project_error(path, "an entry without `name`"))?;
                if node.get("data_tests").is_some() || node.get("tests").is_some() {
                    return Err(project_error(
                        path,
                        format!("{model}: model-level tests are not supported; declare them on a column or as a singular test"),
                    ));
                }
                if let Some(types) = node.get("config").and_then(|c| c.get("column_types")) {
                    let map =
                        types.as_mapping().ok_or_else(|| project_error(path, "column_types must be a mapping"))?;
                    let mut out = BTreeMap::new();
                    for (k, v) in map {
                        let (Some(k), Some(v)) = (k.as_str(), v.as_str()) else {
                            return Err(project_error(path, format!("{model}: column_types entries must be text")));
                        };
                        out.insert(k.to_string(), v.to_string());
                    }
                    seed_types.insert(model.to_string(), out);
                }
                for column in seq_at(node, "columns") {
                    let col = str_at(column, "name").ok_or_else(|| project_error(path, "a column without `name`"))?;
                    let tests = column.get("data_tests").or_else(|| column.get("tests"));
                    for spec in tests.and_then(Yaml::as_sequence).map(|s| s.as_slice()).unwrap_or(&[]) {
                        generic_tests.push(parse_generic_test(spec, model, col, path)?);
                    }
                }
            }
        }

        let mut seeds = Vec::new();
        for (path, csv) in files.iter().filter(|(p, _)| p.starts_with("seeds/") && p.ends_with(".csv")) {
            let name = file_stem(path);
            let config = folder_config(&seed_tree, &[], project_file)?;
            let types = seed_types.get(&name).ok_or_else(|| {
                project_error(path, format!("seed {name} has no config.column_types; declare every column's type"))
            })?;
            let header = csv.lines().next().unwrap_or_default();
            let mut columns = Vec::new();
            for col in header.split(',').map(str::trim) {
                let ty = types.get(col).ok_or_else(|| {
                    project_error(path, format!("column {col} has no entry in column_types; add its type"))
                })?;
                columns.push((col.to_string(), ty.clone()));
            }
            seeds.push(SeedFile {
                name,
                path: path.clone(),
                csv: csv.clone(),
                schema: config.schema.unwrap_or_else(|| DEFAULT_SCHEMA.to_string()),
                columns,
            });
        }

        let singular_tests = files
            .iter()
            .filter(|(p, _)| p.starts_with("tests/") && p.ends_with(".sql"))
            .map(|(p, sql)| SingularTest { name: file_stem(p), path: p.clone(), sql: sql.clone() })
            .collect();

        Ok(Project { name, vars, macros, models, seeds, sources, generic_tests, singular_tests })
    }
}

impl Materialized {
    /// The materialization a model ends up with: its own `config()`, else its folder's, else `view` (dbt's default).
    pub fn resolve(own: Option<&str>, folder: Option<&str>, file: &str) -> Result<Materialized, WarehouseError> {
        Materialized::parse(own.or(folder).unwrap_or("view"), file)
    }
}

fn parse_yaml(file: &str, text: &str) -> Result<Yaml, WarehouseError> {
    serde_yaml::from_str(text).map_err(|e| project_error(file, e.to_string()))
}

fn str_at<'a>(v: &'a Yaml, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Yaml::as_str)
}

fn seq_at<'a>(v: &'a Yaml, key: &str) -> &'a [Yaml] {
    v.get(key).and_then(Yaml::as_sequence).map(|s| s.as_slice()).unwrap_or(&[])
}

fn file_stem(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.rsplit_once('.').map(|(s, _)| s).unwrap_or(base).to_string()
}

/// Applies `+schema` / `+materialized` from the project level down to the model's folder, as dbt does.
fn folder_config(tree: &Yaml, folders: &[&str], file: &str) -> Result<NodeConfig, WarehouseError> {
    let mut config = NodeConfig::default();
    let mut node = Some(tree);
    let mut levels = vec![tree];
    for f in folders {
        node = node.and_then(|n| n.get(*f));
        if let Some(n) = node {
            levels.push(n);
        }
    }
    for level in levels {
        let Some(map) = level.as_mapping() else { continue };
        for (k, v) in map {
            let Some(k) = k.as_str() else { continue };
            let Some(key) = k.strip_prefix('+') else { continue };
            let text = v.as_str().map(str::to_string);
            match key {
                "schema" => config.schema = text,
                "materialized" => config.materialized = text,
                other => {
                    return Err(project_error(file, format!("+{other} is not supported by crimewatch's runner")));
                }
            }
        }
    }
    Ok(config)
}

/// One entry of a column's `data_tests:` list: a name, or `{name: {arguments: {...}, config: {...}}}`
/// (dbt ≥ 1.10), or the older `{name: {values: [...]}}` with the arguments at the top level.
fn parse_generic_test(spec: &Yaml, model: &str, column: &str, file: &str) -> Result<GenericTest, WarehouseError> {
    let (kind_name, body) = match spec {
        Yaml::String(s) => (s.clone(), None),
        Yaml::Mapping(m) if m.len() == 1 => match m.iter().next() {
            Some((Yaml::String(k), v)) => (k.clone(), Some(v)),
            _ => return Err(project_error(file, format!("{model}.{column}: a test name must be text"))),
        },
        _ => return Err(project_error(file, format!("{model}.{column}: a test must be a name or a one-key mapping"))),
    };
    let mut args: BTreeMap<String, Yaml> = BTreeMap::new();
    let mut severity = Severity::Error;
    if let Some(body) = body.and_then(Yaml::as_mapping) {
        for (k, v) in body {
            let k = k.as_str().unwrap_or_default();
            match k {
                "arguments" => {
                    for (ak, av) in v.as_mapping().into_iter().flatten() {
                        args.insert(ak.as_str().unwrap_or_default().to_string(), av.clone());
                    }
                }
                "config" => {
                    for (ck, cv) in v.as_mapping().into_iter().flatten() {
                        match ck.as_str().unwrap_or_default() {
                            "severity" => severity = Severity::parse(cv.as_str().unwrap_or_default(), file)?,
                            other => {
                                return Err(project_error(
                                    file,
                                    format!(
                                    "{model}.{column}: test config `{other}` is not supported by crimewatch's runner"
                                ),
                                ))
                            }
                        }
                    }
                }
                "severity" => severity = Severity::parse(v.as_str().unwrap_or_default(), file)?,
                other => {
                    args.insert(other.to_string(), v.clone());
                }
            }
        }
    }
    let arg_text = |key: &str| -> Result<String, WarehouseError> {
        args.get(key)
            .and_then(yaml_scalar)
            .ok_or_else(|| project_error(file, format!("{model}.{column}: {kind_name} needs `{key}`")))
    };
    let kind = match kind_name.as_str() {
        "not_null" => GenericKind::NotNull,
        "unique" => GenericKind::Unique,
        "accepted_values" => {
            let values = args
                .get("values")
                .and_then(Yaml::as_sequence)
                .ok_or_else(|| project_error(file, format!("{model}.{column}: accepted_values needs `values`")))?
                .iter()
                .map(|v| yaml_scalar(v).ok_or_else(|| project_error(file, "accepted values must be scalars")))
                .collect::<Result<Vec<_>, _>>()?;
            let quote = args.get("quote").and_then(Yaml::as_bool).unwrap_or(true);
            GenericKind::AcceptedValues { values, quote }
        }
        "relationships" => {
            let to = arg_text("to")?;
            let to_model = to
                .trim()
                .strip_prefix("ref(")
                .and_then(|s| s.strip_suffix(')'))
                .map(|s| s.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
                .ok_or_else(|| project_error(file, format!("{model}.{column}: relationships `to` must be ref('model')")))?;
            GenericKind::Relationships { to_model, field: arg_text("field")? }
        }
        other => {
            return Err(project_error(
                file,
                format!("{model}.{column}: generic test `{other}` is not one crimewatch runs (not_null, unique, accepted_values, relationships)"),
            ))
        }
    };
    Ok(GenericTest {
        name: dbt_test_name(&kind_name, model, column, &args),
        kind,
        model: model.to_string(),
        column: column.to_string(),
        severity,
        file: file.to_string(),
    })
}

fn yaml_scalar(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    }
}

/// dbt's name for a generic test: `<test>_<model>_<column>` then `__<argument>` for each argument in key order
/// (lists flattened), with every run of characters other than letters, digits and `_` turned into `_`.
fn dbt_test_name(kind: &str, model: &str, column: &str, args: &BTreeMap<String, Yaml>) -> String {
    let mut parts = vec![];
    for v in args.values() {
        match v {
            Yaml::Sequence(items) => parts.extend(items.iter().filter_map(yaml_scalar)),
            other => parts.extend(yaml_scalar(other)),
        }
    }
    let clean = |s: &str| {
        let mut out = String::new();
        let mut in_run = false;
        for ch in s.chars() {
            if ch.is_ascii_alphanumeric() || ch == '_' {
                out.push(ch);
                in_run = false;
            } else if !in_run {
                out.push('_');
                in_run = true;
            }
        }
        out
    };
    let mut name = format!("{kind}_{model}_{column}");
    for p in parts {
        name.push_str("__");
        name.push_str(&clean(&p));
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_project_lists_every_file_of_the_transform_folder() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("transform");
        let mut on_disk = vec![];
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let rel = path.strip_prefix(&root).unwrap().to_string_lossy().to_string();
                if rel.starts_with('.') {
                    continue; // dbt's own files (.user.yml), never part of the project
                }
                if path.is_dir() {
                    if !["target", "logs", "dbt_packages"].contains(&rel.as_str()) {
                        stack.push(path);
                    }
                } else {
                    on_disk.push(rel);
                }
            }
        }
        on_disk.sort();
        let embedded: Vec<String> = super::super::embedded::FILES.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(on_disk, embedded, "add the new transform/ file to src/warehouse/embedded.rs");
        for (path, contents) in super::super::embedded::FILES {
            assert_eq!(&std::fs::read_to_string(root.join(path)).unwrap(), contents, "{path}");
        }
    }

    #[test]
    fn embedded_project_parses_with_tests_named_as_dbt_names_them() {
        let p = Project::embedded().unwrap();
        assert_eq!(p.name, "crimewatch");
        let names: Vec<&str> = p.generic_tests.iter().map(|t| t.name.as_str()).collect();
        assert!(names.contains(&"unique_fct_offenses_offense_id"), "{names:?}");
        assert!(names.contains(&"relationships_mart_area_counts_month__month__ref_dim_month_"), "{names:?}");
        assert!(
            names.contains(&"accepted_values_fct_offenses_offense_category__VIOLENT_CRIME__PROPERTY_CRIME__ALL_OTHER")
        );
        assert!(names.contains(&"accepted_values_mart_hour_weekday_weekday__False__0__1__2__3__4__5__6"));
        let warn = p.generic_tests.iter().find(|t| t.name.starts_with("relationships_stg_offenses_precinct")).unwrap();
        assert_eq!(warn.severity, Severity::Warn);
        let fct = p.models.iter().find(|m| m.name == "fct_offenses").unwrap();
        assert_eq!(fct.folder_config.schema.as_deref(), Some("marts"));
        let seed = p.seeds.iter().find(|s| s.name == "nibrs_offense_codes").unwrap();
        assert_eq!(seed.schema, "staging");
        assert_eq!(seed.columns[0], ("nibrs_offense_code".to_string(), "varchar".to_string()));
        let lake = p.sources.iter().find(|s| s.source == "lake" && s.table == "spd_crime").unwrap();
        assert!(lake.external_location.contains("read_parquet("));
    }

    #[test]
    fn unsupported_test_and_materialization_are_named() {
        let mut files = BTreeMap::new();
        files.insert("dbt_project.yml".to_string(), "name: p\n".to_string());
        files.insert(
            "models/schema.yml".to_string(),
            "models:\n  - name: m\n    columns:\n      - name: c\n        data_tests: [dbt_utils_at_least_one]\n"
                .to_string(),
        );
        let err = Project::from_files(files).unwrap_err().to_string();
        assert!(err.contains("dbt_utils_at_least_one") && err.contains("models/schema.yml"), "{err}");
        let err = Materialized::resolve(Some("incremental"), None, "models/x.sql").unwrap_err().to_string();
        assert!(err.contains("incremental") && err.contains("models/x.sql"), "{err}");
    }
}
