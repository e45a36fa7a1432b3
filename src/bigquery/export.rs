//! The DuckDB side of a publish: the published warehouse attached read-only (never written, never locked
//! against the next build's rename), its `marts` tables and the lake's rows as [`Source`]s, their checksums,
//! and their export to Parquet files for load jobs.

use std::path::{Path, PathBuf};

use duckdb::Connection;

use super::error::BigQueryError;
use super::schema::{quote_ident, signature, Column};
use crate::domain::{DataDir, Month};

/// The staging table: the lake's rows with their report month.
pub const LAKE_TABLE: &str = "spd_crime";
/// The partition column of [`LAKE_TABLE`] (the lake's folder `report_month=YYYY-MM`, as a DATE).
pub const REPORT_MONTH: &str = "report_month";

/// One table to publish: where its rows come from in DuckDB and how its columns are exported.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    /// A relation in the attached warehouse's connection (`w.marts."x"` or a lake read).
    relation: String,
    pub columns: Vec<Column>,
    /// For the lake: the month files the manifest lists, relative to the lake's root
    /// (`spd_crime/report_month=YYYY-MM/part-<hash>.parquet`, the same under a `gs://` lake).
    pub lake_files: Vec<String>,
}

/// The published warehouse, attached read-only as `w` to an in-memory DuckDB.
pub struct Warehouse {
    conn: Connection,
    path: PathBuf,
}

impl Warehouse {
    pub fn open(path: &Path) -> Result<Warehouse, BigQueryError> {
        if !path.is_file() {
            return Err(BigQueryError::NothingPublished { path: path.to_path_buf() });
        }
        let err = |e: duckdb::Error| BigQueryError::Warehouse { path: path.to_path_buf(), message: e.to_string() };
        let conn = Connection::open_in_memory().map_err(err)?;
        let literal = path.to_string_lossy().replace('\'', "''");
        conn.execute_batch(&format!("ATTACH '{literal}' AS w (READ_ONLY)")).map_err(err)?;
        Ok(Warehouse { conn, path: path.to_path_buf() })
    }

    fn err(&self, e: impl std::fmt::Display) -> BigQueryError {
        BigQueryError::Warehouse { path: self.path.clone(), message: e.to_string() }
    }

    /// Every table and view of `marts`, with its columns mapped to BigQuery types.
    pub fn marts(&self) -> Result<Vec<Source>, BigQueryError> {
        let mut stmt = self.conn.prepare(include_str!("sql/mart_columns.sql")).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .map_err(|e| self.err(e))?;
        let mut out: Vec<Source> = Vec::new();
        for row in rows {
            let (table, column, data_type) = row.map_err(|e| self.err(e))?;
            if out.last().is_none_or(|s| s.name != table) {
                out.push(Source {
                    relation: format!("w.marts.{}", quote_ident(&table)),
                    name: table.clone(),
                    columns: Vec::new(),
                    lake_files: Vec::new(),
                });
            }
            let column = Column::map(&table, &column, &data_type)?;
            out.last_mut().expect("pushed above").columns.push(column);
        }
        if out.is_empty() {
            return Err(self.err("it has no marts schema (was it built by crimewatch?)"));
        }
        Ok(out)
    }

    /// Fails when the lake's manifest moved on since the published warehouse was built from it.
    pub fn check_lake_matches(&self, manifest: &Path) -> Result<(), BigQueryError> {
        let mut stmt = self.conn.prepare(include_str!("sql/lake_vs_warehouse.sql")).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([manifest.to_string_lossy().into_owned()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?, r.get::<_, Option<i64>>(2)?))
            })
            .map_err(|e| self.err(e))?;
        let mut diffs = Vec::new();
        for row in rows {
            let (month, lake, built) = row.map_err(|e| self.err(e))?;
            let show = |n: Option<i64>| n.map_or("none".to_string(), |n| n.to_string());
            diffs.push(format!("month {month}: lake rows {}, built from {}", show(lake), show(built)));
        }
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(BigQueryError::LakeAheadOfWarehouse { detail: diffs.join("; ") })
        }
    }

    /// The lake's rows as `spd_crime`: the manifest's month files, plus `report_month` (DATE) from their folder.
    pub fn lake(&self, data_dir: &DataDir) -> Result<Source, BigQueryError> {
        let manifest = data_dir.lake_manifest();
        let mut stmt = self.conn.prepare(include_str!("sql/lake_months.sql")).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([manifest.to_string_lossy().into_owned()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let (mut files, mut paths) = (Vec::new(), Vec::new());
        for row in rows {
            let (month, file) = row.map_err(|e| self.err(e))?;
            let bad = |e: &dyn std::fmt::Display| {
                self.err(format!("the lake manifest {} lists month {month:?}: {e}", manifest.display()))
            };
            let path = data_dir.lake_month(Month::parse(&month).map_err(|e| bad(&e))?).join(&file);
            let relative = path.strip_prefix(data_dir.lake()).map_err(|e| bad(&e))?;
            files.push(relative.to_string_lossy().into_owned());
            paths.push(path);
        }
        if files.is_empty() {
            return Err(self.err(format!("the lake manifest {} lists no month", manifest.display())));
        }
        let list = paths
            .iter()
            .map(|p| format!("'{}'", p.to_string_lossy().replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(", ");
        let relation =
            format!("read_parquet([{list}], hive_partitioning = true, hive_types = {{'{REPORT_MONTH}': VARCHAR}})");
        let mut stmt = self.conn.prepare(&format!("DESCRIBE SELECT * FROM {relation}")).map_err(|e| self.err(e))?;
        let described =
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(|e| self.err(e))?;
        let mut columns = Vec::new();
        for d in described {
            let (name, data_type) = d.map_err(|e| self.err(e))?;
            if name == REPORT_MONTH {
                continue;
            }
            columns.push(Column::map(LAKE_TABLE, &name, &data_type)?);
        }
        let mut month = Column::map(LAKE_TABLE, REPORT_MONTH, "DATE")?;
        month.expr = format!("CAST({REPORT_MONTH} || '-01' AS DATE) AS {REPORT_MONTH}");
        columns.push(month);
        Ok(Source { name: LAKE_TABLE.to_string(), relation, columns, lake_files: files })
    }

    /// The content checksum (32 hex digits, a valid label value). For the lake, its month files' names are
    /// content hashes, so the list of them is the content: no need to read 1M rows to know nothing changed.
    pub fn checksum(&self, source: &Source) -> Result<String, BigQueryError> {
        let sig = signature(&source.columns);
        if !source.lake_files.is_empty() {
            let key = format!("{sig}|{}", source.lake_files.join(","));
            return self.conn.query_row("SELECT md5(?)", [key], |r| r.get(0)).map_err(|e| self.err(e));
        }
        let sql = include_str!("sql/checksum.sql")
            .replace("{columns}", &select_list(&source.columns))
            .replace("{relation}", &source.relation);
        self.conn.query_row(&sql, [sig], |r| r.get(0)).map_err(|e| self.err(e))
    }

    /// Writes the source to `path` as Parquet (zstd), columns in order, typed for BigQuery.
    pub fn export(&self, source: &Source, path: &Path) -> Result<(), BigQueryError> {
        let sql = include_str!("sql/export.sql")
            .replace("{columns}", &select_list(&source.columns))
            .replace("{relation}", &source.relation)
            .replace("{path}", &path.to_string_lossy().replace('\'', "''"));
        self.conn.execute_batch(&sql).map_err(|e| self.err(e))
    }
}

fn select_list(columns: &[Column]) -> String {
    columns.iter().map(|c| c.expr.as_str()).collect::<Vec<_>>().join(", ")
}
