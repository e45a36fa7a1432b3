//! The compile step of a build: reads the dbt project (`dbt_project.yml`, the `.yml` property files, models,
//! seeds, singular tests, macros) into plain values, renders it ([`render`]), orders it by its refs ([`dag`]) and
//! hands the runner every node's final SQL ([`compile`]). Only what crimewatch's runner implements is accepted;
//! anything else is an error naming the file, so the runner never silently differs from dbt.
//!
//! Reading is a few named steps over the project's files ([`Project::from_files`]): the project file
//! ([`settings`]), macros, models, property files ([`properties`], with each test's spec in [`generic_test`]),
//! seeds, singular tests.

mod compile;
mod dag;
mod embedded;
mod ephemeral;
mod generic_test;
mod properties;
mod render;
mod settings;

use std::collections::BTreeMap;

use super::error::WarehouseError;

pub use compile::{compile, CompiledNode, Step, Stored};
pub use render::{render, RenderContext};

/// dbt-duckdb's default schema (`main`), used when a node sets no custom schema.
pub const DEFAULT_SCHEMA: &str = "main";

/// How a model is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Materialized {
    Table,
    View,
    /// Never stored: inlined as a CTE into every model and test that `ref`s it, as dbt does.
    Ephemeral,
}

impl Materialized {
    fn parse(value: &str, file: &str) -> Result<Materialized, WarehouseError> {
        match value {
            "table" => Ok(Materialized::Table),
            "view" => Ok(Materialized::View),
            "ephemeral" => Ok(Materialized::Ephemeral),
            other => Err(project_error(
                file,
                format!(
                    "materialized '{other}' is not supported by crimewatch's runner; use 'table', 'view' or 'ephemeral'"
                ),
            )),
        }
    }

    /// The materialization a model ends up with: its own `config()`, else its folder's, else `view` (dbt's default).
    pub fn resolve(own: Option<&str>, folder: Option<&str>, file: &str) -> Result<Materialized, WarehouseError> {
        Materialized::parse(own.or(folder).unwrap_or("view"), file)
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

/// `accepted_values`, `not_null`, ... declared on a column, or on a model with `column_name`, in a property file.
#[derive(Debug, Clone)]
pub struct GenericTest {
    /// dbt's name for it, e.g. `unique_fct_offenses_offense_id`.
    pub name: String,
    pub kind: GenericKind,
    pub model: String,
    pub column: TestedColumn,
    pub severity: Severity,
    pub file: String,
}

/// What a generic test looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestedColumn {
    /// A column declared under `columns:`.
    Name(String),
    /// A model-level test's `column_name` argument: any SQL expression over the model's columns, such as
    /// `row(axis, month)` for a grain of several columns (dbt pastes it into the test's SQL as written).
    Expression(String),
}

impl TestedColumn {
    /// The value the test's SQL compares: the quoted column, or the expression as written.
    pub fn sql(&self) -> String {
        match self {
            TestedColumn::Name(name) => format!("\"{name}\""),
            TestedColumn::Expression(expr) => expr.clone(),
        }
    }
}

impl std::fmt::Display for TestedColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TestedColumn::Name(text) | TestedColumn::Expression(text) => f.write_str(text),
        }
    }
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

/// The project's files: relative path → contents.
type Files = BTreeMap<String, String>;

impl Project {
    /// The project compiled into the binary.
    pub fn embedded() -> Result<Project, WarehouseError> {
        Project::from_files(embedded::FILES.iter().map(|(p, c)| (p.to_string(), c.to_string())).collect())
    }

    /// Parses a project from `(relative path, contents)` pairs.
    pub fn from_files(files: Files) -> Result<Project, WarehouseError> {
        let settings = settings::read(&files)?;
        let macros = read_macros(&files);
        let models = read_models(&files, &settings)?;
        let properties = properties::read(&files)?;
        let seeds = read_seeds(&files, &settings, &properties.seed_types)?;
        let singular_tests = read_singular_tests(&files);
        Ok(Project {
            name: settings.name,
            vars: settings.vars,
            macros,
            models,
            seeds,
            sources: properties.sources,
            generic_tests: properties.generic_tests,
            singular_tests,
        })
    }
}

/// The files under `folder` whose names end in one of `extensions`.
fn files_in<'f>(
    files: &'f Files,
    folder: &'f str,
    extensions: &'f [&str],
) -> impl Iterator<Item = (&'f String, &'f String)> {
    files.iter().filter(move |(p, _)| p.starts_with(folder) && extensions.iter().any(|e| p.ends_with(e)))
}

/// Every macro file, concatenated (dbt makes each file's macros visible everywhere).
fn read_macros(files: &Files) -> String {
    files_in(files, "macros/", &[".sql"]).map(|(_, c)| c.as_str()).collect::<Vec<_>>().join("\n")
}

/// Every model with the config its folders give it.
fn read_models(files: &Files, settings: &settings::Settings) -> Result<Vec<ModelFile>, WarehouseError> {
    files_in(files, "models/", &[".sql"])
        .map(|(path, sql)| {
            let folders: Vec<&str> = path["models/".len()..].split('/').collect();
            let folder_config = settings.model_folder_config(&folders[..folders.len() - 1])?;
            Ok(ModelFile { name: file_stem(path), path: path.clone(), sql: sql.clone(), folder_config })
        })
        .collect()
}

/// Every seed CSV, with its columns typed from the property files' `column_types` (every column needs one, so
/// both tools read the CSV the same way).
fn read_seeds(
    files: &Files,
    settings: &settings::Settings,
    seed_types: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<Vec<SeedFile>, WarehouseError> {
    let schema = settings.seed_config()?.schema.unwrap_or_else(|| DEFAULT_SCHEMA.to_string());
    files_in(files, "seeds/", &[".csv"])
        .map(|(path, csv)| {
            let name = file_stem(path);
            let types = seed_types.get(&name).ok_or_else(|| {
                project_error(path, format!("seed {name} has no config.column_types; declare every column's type"))
            })?;
            let header = csv.lines().next().unwrap_or_default();
            let columns = header
                .split(',')
                .map(str::trim)
                .map(|col| {
                    let ty = types.get(col).ok_or_else(|| {
                        project_error(path, format!("column {col} has no entry in column_types; add its type"))
                    })?;
                    Ok((col.to_string(), ty.clone()))
                })
                .collect::<Result<Vec<_>, WarehouseError>>()?;
            Ok(SeedFile { name, path: path.clone(), csv: csv.clone(), schema: schema.clone(), columns })
        })
        .collect()
}

fn read_singular_tests(files: &Files) -> Vec<SingularTest> {
    files_in(files, "tests/", &[".sql"])
        .map(|(p, sql)| SingularTest { name: file_stem(p), path: p.clone(), sql: sql.clone() })
        .collect()
}

fn file_stem(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.rsplit_once('.').map(|(s, _)| s).unwrap_or(base).to_string()
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
        let embedded: Vec<String> = embedded::FILES.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(on_disk, embedded, "add the new transform/ file to src/warehouse/project/embedded.rs");
        for (path, contents) in embedded::FILES {
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
        // A model-level test on a grain of several columns, named as `dbt ls` names it.
        let grain = p
            .generic_tests
            .iter()
            .find(|t| t.name == "unique_mart_area_counts_row_axis_month_offense_category_area_level_area_")
            .unwrap_or_else(|| panic!("{names:?}"));
        assert_eq!(grain.column.sql(), "row(axis, month, offense_category, area_level, area)");
        let warn = p.generic_tests.iter().find(|t| t.name.starts_with("relationships_stg_offenses_precinct")).unwrap();
        assert_eq!(warn.severity, Severity::Warn);
        let fct = p.models.iter().find(|m| m.name == "fct_offenses").unwrap();
        assert_eq!(fct.folder_config.schema.as_deref(), Some("marts"));
        let int = p.models.iter().find(|m| m.name == "int_offenses_latest").unwrap();
        assert_eq!(int.folder_config.materialized.as_deref(), Some("ephemeral"));
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
