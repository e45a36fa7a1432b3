//! One publish: read the local side, ask BigQuery what it has, load what changed, `meta_build` last.
//!
//! Each changed table is replaced atomically: its rows are loaded into a temporary table (created first with the
//! final schema, partitioning and clustering, and an expiry of a day in case the process dies), then one copy job
//! with `WRITE_TRUNCATE` swaps them into the real table — readers see the old rows or the new ones, never a
//! half-loaded table. The checksum label is set after the copy: if the process dies in between, the label is
//! stale and the next publish loads that table again (never the other way round).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use serde_json::{json, Value};

use super::client::{Client, JobKind, TableInfo};
use super::config::BigQueryConfig;
use super::error::{BigQueryError, Target};
use super::export::{Source, Warehouse, LAKE_TABLE, REPORT_MONTH};
use super::plan::{self, Local, CHECKSUM_LABEL};
use super::schema::{BqType, Column};
use crate::domain::run::{BigQueryPublish, RunSummary};
use crate::domain::DataDir;

/// Temporary tables expire after a day, so a publish killed mid-way leaves nothing behind for long.
const TEMP_TABLE_LIFETIME_MS: i64 = 24 * 3600 * 1000;

/// Where the lake's month files are, besides the local copy every publish reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LakeLocation {
    /// Only on this machine: `spd_crime` is exported and uploaded.
    Local,
    /// Also in a bucket, `gs://bucket/prefix` with the lake layout under it: `spd_crime` is loaded from the
    /// month objects the manifest lists (no upload; loads from GCS are free).
    Gcs { url: String },
}

/// What to publish from.
#[derive(Debug, Clone)]
pub struct PublishInput {
    /// The data dir: its published warehouse (opened read-only), its lake's manifest and month files (or the
    /// local copy of a bucket lake), and room for the Parquet exports (a folder removed again at the end).
    pub data_dir: DataDir,
    pub lake: LakeLocation,
}

/// What a publish did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PublishSummary {
    pub project: String,
    pub staging_dataset: String,
    pub marts_dataset: String,
    /// Tables loaded, in load order (`meta_build` last).
    pub published: Vec<TablePublished>,
    /// `dataset.table` of tables whose BigQuery copy already had this content.
    pub unchanged: Vec<String>,
    pub load_jobs: u64,
    pub copy_jobs: u64,
    pub query_jobs: u64,
    pub bytes_uploaded: u64,
    pub seconds: f64,
}

impl PublishSummary {
    /// Keeps what a run's record shows of this publish.
    pub fn record(&self, run: &mut RunSummary) {
        run.bigquery = Some(BigQueryPublish {
            tables_loaded: self.published.len() as u64,
            tables_skipped: self.unchanged.len() as u64,
            jobs: self.load_jobs + self.copy_jobs + self.query_jobs,
            bytes_uploaded: self.bytes_uploaded,
            seconds: self.seconds,
            error: None,
        });
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TablePublished {
    pub dataset: String,
    pub table: String,
    /// `upload`, or `gs://` when loaded from the lake's own objects.
    pub loaded_from: String,
    pub bytes_uploaded: u64,
}

/// Publishes the warehouse at `input.warehouse` and the lake's rows to BigQuery. Reads them only.
pub async fn publish(config: &BigQueryConfig, input: &PublishInput) -> Result<PublishSummary, BigQueryError> {
    let started = Instant::now();
    let local = {
        let input = input.clone();
        blocking(move || read_local(&input)).await?
    };
    let client = Client::connect(config).await?;
    client.ensure_dataset(&config.staging_dataset).await?;
    client.ensure_dataset(&config.marts_dataset).await?;

    let dataset_of = |s: &Source| {
        if s.name == LAKE_TABLE {
            config.staging_dataset.clone()
        } else {
            config.marts_dataset.clone()
        }
    };
    let locals: Vec<Local> = local
        .sources
        .iter()
        .zip(&local.checksums)
        .map(|(s, c)| Local { dataset: dataset_of(s), table: s.name.clone(), checksum: c.clone() })
        .collect();
    let existing = read_remote(&client, &locals).await?;
    let labels = existing.iter().map(|(k, v)| (k.clone(), v.labels.get(CHECKSUM_LABEL).cloned())).collect();
    let plan = plan::plan(&locals, &labels);

    let from_gcs = match &input.lake {
        LakeLocation::Gcs { url } => Some(url.trim_end_matches('/').to_string()),
        LakeLocation::Local => None,
    };
    let to_upload: Vec<usize> =
        plan.load.iter().copied().filter(|&i| !(from_gcs.is_some() && local.sources[i].name == LAKE_TABLE)).collect();
    let scratch = Scratch::create(input.data_dir.bigquery_export())?;
    let files = {
        let (warehouse, sources, dir) = (input.data_dir.warehouse(), local.sources.clone(), scratch.path.clone());
        blocking(move || export(&warehouse, &sources, &to_upload, &dir)).await?
    };

    let mut summary = PublishSummary {
        project: config.project.clone(),
        staging_dataset: config.staging_dataset.clone(),
        marts_dataset: config.marts_dataset.clone(),
        unchanged: plan.unchanged.iter().map(|&i| format!("{}.{}", locals[i].dataset, locals[i].table)).collect(),
        ..Default::default()
    };
    for &i in &plan.load {
        let (source, target) = (&local.sources[i], &locals[i]);
        let load = match files.get(&i) {
            Some(path) => Load::File(path.clone()),
            None => {
                let url = from_gcs.as_deref().unwrap_or_default();
                Load::Gcs { prefix: format!("{url}/{LAKE_TABLE}"), uris: gcs_uris(url, source) }
            }
        };
        let loaded_from = if matches!(load, Load::File(_)) { "upload" } else { "gs://" };
        let spec = TableSpec { dataset: &target.dataset, table: &target.table, columns: &source.columns };
        let existing = existing.get(&(target.dataset.clone(), target.table.clone()));
        let bytes = replace_table(&client, &spec, &load, existing, &target.checksum).await?;
        tracing::info!(stage = "bigquery", dataset = %target.dataset, table = %target.table, bytes, "table published");
        summary.published.push(TablePublished {
            dataset: target.dataset.clone(),
            table: target.table.clone(),
            loaded_from: loaded_from.to_string(),
            bytes_uploaded: bytes,
        });
    }
    let c = &client.counters;
    use std::sync::atomic::Ordering::Relaxed;
    (summary.load_jobs, summary.copy_jobs, summary.query_jobs, summary.bytes_uploaded) = (
        c.load_jobs.load(Relaxed),
        c.copy_jobs.load(Relaxed),
        c.query_jobs.load(Relaxed),
        c.bytes_uploaded.load(Relaxed),
    );
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// What BigQuery has of each table (labels, schema, layout); absent when the table does not exist.
async fn read_remote(client: &Client, locals: &[Local]) -> Result<HashMap<(String, String), TableInfo>, BigQueryError> {
    let mut existing = HashMap::new();
    for l in locals {
        if let Some(info) = client.table(&l.dataset, &l.table).await? {
            existing.insert((l.dataset.clone(), l.table.clone()), info);
        }
    }
    Ok(existing)
}

/// The local side: every source with its checksum.
struct LocalSide {
    sources: Vec<Source>,
    checksums: Vec<String>,
}

fn read_local(input: &PublishInput) -> Result<LocalSide, BigQueryError> {
    let wh = Warehouse::open(&input.data_dir.warehouse())?;
    wh.check_lake_matches(&input.data_dir.lake_manifest())?;
    let lake = wh.lake(&input.data_dir)?;
    let mut sources = vec![lake];
    sources.extend(wh.marts()?);
    let checksums = sources.iter().map(|s| wh.checksum(s)).collect::<Result<Vec<_>, _>>()?;
    Ok(LocalSide { sources, checksums })
}

/// Exports the sources at `indices` to `dir`, one Parquet file each.
fn export(
    warehouse: &Path,
    sources: &[Source],
    indices: &[usize],
    dir: &Path,
) -> Result<HashMap<usize, PathBuf>, BigQueryError> {
    let wh = Warehouse::open(warehouse)?;
    let mut out = HashMap::new();
    for &i in indices {
        let path = dir.join(format!("{}.parquet", sources[i].name));
        wh.export(&sources[i], &path)?;
        out.insert(i, path);
    }
    Ok(out)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BigQueryError> + Send + 'static,
) -> Result<T, BigQueryError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(BigQueryError::Warehouse { path: PathBuf::new(), message: format!("the DuckDB task stopped: {e}") })
    })
}

enum Load {
    File(PathBuf),
    /// The month objects and the folder above their `report_month=` folders.
    Gcs {
        prefix: String,
        uris: Vec<String>,
    },
}

struct TableSpec<'a> {
    dataset: &'a str,
    table: &'a str,
    columns: &'a [Column],
}

impl TableSpec<'_> {
    /// `fct_offenses` by report month, clustered by category and precinct, so dashboard queries scan little;
    /// `spd_crime` the same way on its report_month. Other marts are small and left plain.
    fn layout(&self) -> Option<(&'static str, Vec<String>)> {
        let cluster = vec!["offense_category".to_string(), "precinct".to_string()];
        match self.table {
            "fct_offenses" => Some(("report_date_time", cluster)),
            LAKE_TABLE => Some((REPORT_MONTH, cluster)),
            _ => None,
        }
        .filter(|(field, cluster)| {
            let has = |n: &str| self.columns.iter().any(|c| c.name == n);
            has(field) && cluster.iter().all(|c| has(c))
        })
    }

    /// The REST `Table` resource of `table` in this dataset, with the layout (for the real table's temporary copy)
    /// and an expiry (for temporary tables) when asked.
    fn resource(&self, project: &str, table: &str, columns: &[Column], layout: bool, expires: bool) -> Value {
        let mut t = json!({
            "tableReference": table_ref(project, self.dataset, table),
            "schema": {"fields": columns.iter().map(Column::field).collect::<Vec<_>>()},
        });
        if let (true, Some((field, cluster))) = (layout, self.layout()) {
            t["timePartitioning"] = json!({"type": "MONTH", "field": field});
            t["clustering"] = json!({"fields": cluster});
        }
        if expires {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            t["expirationTime"] = json!((now.as_millis() as i64 + TEMP_TABLE_LIFETIME_MS).to_string());
        }
        t
    }

    /// Whether an existing table can take a `WRITE_TRUNCATE` copy of the new one: same columns and types, same
    /// partitioning and clustering (BigQuery refuses a copy across partitioning specs).
    fn matches(&self, info: &TableInfo) -> bool {
        let fields: Vec<(String, String)> = info
            .schema
            .as_ref()
            .map(|s| s.fields.iter().map(|f| (f.name.clone(), normalise_type(&f.field_type))).collect())
            .unwrap_or_default();
        let want: Vec<(String, String)> =
            self.columns.iter().map(|c| (c.name.clone(), c.bq.rest_name().to_string())).collect();
        let partition = info
            .time_partitioning
            .as_ref()
            .filter(|p| p.partition_type.as_deref().unwrap_or("DAY") == "MONTH")
            .and_then(|p| p.field.clone());
        let cluster = info.clustering.as_ref().map(|c| c.fields.clone()).unwrap_or_default();
        let (want_partition, want_cluster) = match self.layout() {
            Some((field, cluster)) => (Some(field.to_string()), cluster),
            None => (None, Vec::new()),
        };
        fields == want && partition == want_partition && cluster == want_cluster
    }
}

fn normalise_type(t: &str) -> String {
    match t.to_ascii_uppercase().as_str() {
        "INT64" => "INTEGER".into(),
        "FLOAT64" => "FLOAT".into(),
        "BOOL" => "BOOLEAN".into(),
        "BIGDECIMAL" => "BIGNUMERIC".into(),
        "DECIMAL" => "NUMERIC".into(),
        other => other.to_string(),
    }
}

fn table_ref(project: &str, dataset: &str, table: &str) -> Value {
    json!({"projectId": project, "datasetId": dataset, "tableId": table})
}

/// Loads into a temporary table, copies it over the real one, labels it, drops the temporary table.
/// Returns the bytes uploaded.
async fn replace_table(
    client: &Client,
    spec: &TableSpec<'_>,
    load: &Load,
    existing: Option<&TableInfo>,
    checksum: &str,
) -> Result<u64, BigQueryError> {
    let project = client.project().to_string();
    let temp = format!("_crimewatch_tmp_{}_{}", spec.table, std::process::id());
    let target = Target::table(&project, spec.dataset, spec.table);
    client.create_table(&spec.resource(&project, &temp, spec.columns, true, true)).await?;
    let loaded = load_into(client, spec, load, &temp, &target).await;
    let bytes = match loaded {
        Ok(bytes) => bytes,
        Err(e) => {
            drop_quietly(client, spec.dataset, &temp).await;
            return Err(e);
        }
    };
    if existing.is_some_and(|info| !spec.matches(info)) {
        tracing::warn!(
            stage = "bigquery",
            dataset = spec.dataset,
            table = spec.table,
            "the existing table has another schema or layout; replacing it (readers may miss it for a moment)"
        );
        client.delete_table(spec.dataset, spec.table).await?;
    }
    let copy = json!({"copy": {
        "sourceTable": table_ref(&project, spec.dataset, &temp),
        "destinationTable": table_ref(&project, spec.dataset, spec.table),
        "createDisposition": "CREATE_IF_NEEDED",
        "writeDisposition": "WRITE_TRUNCATE",
    }});
    let copied = client.run_job(JobKind::Copy, copy, &target).await;
    drop_quietly(client, spec.dataset, &temp).await;
    copied?;
    let labels = HashMap::from([(CHECKSUM_LABEL.to_string(), checksum.to_string())]);
    client.set_labels(spec.dataset, spec.table, &labels).await?;
    Ok(bytes)
}

async fn load_into(
    client: &Client,
    spec: &TableSpec<'_>,
    load: &Load,
    temp: &str,
    target: &Target,
) -> Result<u64, BigQueryError> {
    let project = client.project().to_string();
    match load {
        Load::File(path) => {
            let job = load_job(&project, spec.dataset, temp, spec.columns, Vec::new());
            client.upload_load(job, path, target).await
        }
        Load::Gcs { prefix, uris } => {
            // The files hold the lake's columns; report_month is in their folder names. Loaded as they are, with
            // the folder's `report_month=YYYY-MM` as a STRING column (hive partitioning), into a raw table; then
            // one INSERT ... SELECT types the rows as the staging table has them (see insert_lake.sql).
            let mut raw_columns: Vec<Column> = spec
                .columns
                .iter()
                .filter(|c| c.name != REPORT_MONTH)
                .map(|c| Column { bq: if c.bq == BqType::Timestamp { BqType::Datetime } else { c.bq }, ..c.clone() })
                .collect();
            raw_columns.push(Column { name: REPORT_MONTH.to_string(), bq: BqType::String, expr: String::new() });
            let raw = format!("{temp}_raw");
            client.create_table(&spec.resource(&project, &raw, &raw_columns, false, true)).await?;
            let shaped = async {
                let mut job = load_job(&project, spec.dataset, &raw, &raw_columns, uris.clone());
                job["load"]["hivePartitioningOptions"] =
                    json!({"mode": "CUSTOM", "sourceUriPrefix": format!("{prefix}/{{{REPORT_MONTH}:STRING}}")});
                client.run_job(JobKind::Load, job, target).await?;
                let sql = insert_lake_sql(&project, spec, temp, &raw);
                let query = json!({"query": {"query": sql, "useLegacySql": false}});
                client.run_job(JobKind::Query, query, target).await
            };
            let result = shaped.await;
            drop_quietly(client, spec.dataset, &raw).await;
            result.map(|()| 0)
        }
    }
}

fn load_job(project: &str, dataset: &str, table: &str, columns: &[Column], uris: Vec<String>) -> Value {
    let mut load = json!({
        "destinationTable": table_ref(project, dataset, table),
        "schema": {"fields": columns.iter().map(Column::field).collect::<Vec<_>>()},
        "sourceFormat": "PARQUET",
        "createDisposition": "CREATE_NEVER",
        "writeDisposition": "WRITE_TRUNCATE",
    });
    if !uris.is_empty() {
        load["sourceUris"] = json!(uris);
    }
    json!({ "load": load })
}

fn insert_lake_sql(project: &str, spec: &TableSpec<'_>, temp: &str, raw: &str) -> String {
    let names: Vec<String> = spec.columns.iter().map(|c| format!("`{}`", c.name)).collect();
    let select: Vec<String> = spec
        .columns
        .iter()
        .map(|c| match (c.name.as_str(), c.bq) {
            (REPORT_MONTH, _) => format!("CAST(CONCAT(`{REPORT_MONTH}`, '-01') AS DATE)"),
            (name, BqType::Timestamp) => format!("CAST(`{name}` AS TIMESTAMP)"),
            (name, _) => format!("`{name}`"),
        })
        .collect();
    include_str!("sql/insert_lake.sql")
        .replace("{target}", &format!("{project}.{}.{temp}", spec.dataset))
        .replace("{raw}", &format!("{project}.{}.{raw}", spec.dataset))
        .replace("{columns}", &names.join(", "))
        .replace("{select}", &select.join(", "))
}

/// The lake's month objects: `gs://bucket/prefix/spd_crime/report_month=YYYY-MM/<file>`.
fn gcs_uris(url: &str, lake: &Source) -> Vec<String> {
    lake.lake_files.iter().map(|file| format!("{url}/{file}")).collect()
}

async fn drop_quietly(client: &Client, dataset: &str, table: &str) {
    if let Err(e) = client.delete_table(dataset, table).await {
        tracing::warn!(
            stage = "bigquery",
            dataset,
            table,
            "could not drop a temporary table (it expires in a day): {e}"
        );
    }
}

/// The export folder; removed with its files when the publish ends, however it ends (and, should the process
/// die first, by the next publish: publishes run one at a time, under the run lock).
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn create(path: PathBuf) -> Result<Scratch, BigQueryError> {
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).map_err(|e| BigQueryError::io("create", &path, e))?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!(stage = "bigquery", path = %self.path.display(), "could not remove the export folder: {e}");
        }
    }
}
