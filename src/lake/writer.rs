//! Rows → Parquet through DuckDB: an in-memory table filled with Arrow batches through the Appender, then `COPY ... TO` a file
//! (zstd). No `parquet`/`arrow` crate: DuckDB's writer is the one the warehouse reads with.

use std::io::Read as _;
use std::path::Path;

use std::sync::Arc;

use duckdb::arrow::array::{ArrayRef, Float64Builder, StringBuilder, TimestampMicrosecondBuilder};
use duckdb::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use duckdb::arrow::record_batch::RecordBatch;

use super::LakeError;
use crate::domain::row::{ColumnKind, COLUMNS};
use crate::domain::{CanonicalRow, Month, Value};

/// An in-memory DuckDB table of lake rows.
pub struct StagingTable {
    conn: duckdb::Connection,
    rows: u64,
}

/// Rows → one Arrow batch in the lake's column order and types. A value of the wrong type for its column is a
/// bug in the source stage, reported rather than written as NULL.
fn record_batch(rows: &[&CanonicalRow]) -> Result<RecordBatch, LakeError> {
    let mismatch = |c: usize, v: &Value| LakeError::DuckDb {
        action: "build a batch of lake rows".into(),
        message: format!("column {} got {v:?}", COLUMNS[c].0),
    };
    let n = rows.len();
    let mut fields = Vec::with_capacity(COLUMNS.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(COLUMNS.len());
    for (c, (name, kind)) in COLUMNS.iter().enumerate() {
        let values = rows.iter().map(|r| r.get(c));
        let (data_type, array): (DataType, ArrayRef) = match kind {
            ColumnKind::Text => {
                let mut b = StringBuilder::with_capacity(n, n * 16);
                for v in values {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Text(t) => b.append_value(t),
                        other => return Err(mismatch(c, other)),
                    }
                }
                (DataType::Utf8, Arc::new(b.finish()))
            }
            ColumnKind::Timestamp => {
                let mut b = TimestampMicrosecondBuilder::with_capacity(n);
                for v in values {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Timestamp(t) => b.append_value(t.and_utc().timestamp_micros()),
                        other => return Err(mismatch(c, other)),
                    }
                }
                (DataType::Timestamp(TimeUnit::Microsecond, None), Arc::new(b.finish()))
            }
            ColumnKind::Double => {
                let mut b = Float64Builder::with_capacity(n);
                for v in values {
                    match v {
                        Value::Null => b.append_null(),
                        Value::Double(x) => b.append_value(*x),
                        other => return Err(mismatch(c, other)),
                    }
                }
                (DataType::Float64, Arc::new(b.finish()))
            }
        };
        fields.push(Field::new(*name, data_type, true));
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| LakeError::DuckDb { action: "build a batch of lake rows".into(), message: e.to_string() })
}

fn quote(path: &Path) -> String {
    path.to_string_lossy().replace('\'', "''")
}

impl StagingTable {
    pub fn new() -> Result<StagingTable, LakeError> {
        let conn = duckdb::Connection::open_in_memory().map_err(LakeError::duckdb("open an in-memory database"))?;
        conn.execute_batch(include_str!("sql/create_rows.sql"))
            .map_err(LakeError::duckdb("create the staging table"))?;
        Ok(StagingTable { conn, rows: 0 })
    }

    /// Lets a large import spill to disk instead of growing without bound.
    pub fn limit_memory(&self, spill_dir: &Path, limit_mb: u32) -> Result<(), LakeError> {
        let sql = format!("SET memory_limit = '{limit_mb}MB'; SET temp_directory = '{}';", quote(spill_dir));
        self.conn.execute_batch(&sql).map_err(LakeError::duckdb("set the memory limit"))
    }

    /// Appends rows as one Arrow record batch: DuckDB then copies whole columns, where binding 24 values per row
    /// through the row appender cost more than parsing the JSON they came from.
    pub fn append<'a>(&mut self, rows: impl IntoIterator<Item = &'a CanonicalRow>) -> Result<u64, LakeError> {
        let rows: Vec<&CanonicalRow> = rows.into_iter().collect();
        if rows.is_empty() {
            return Ok(0);
        }
        let batch = record_batch(&rows)?;
        let mut app = self.conn.appender("rows").map_err(LakeError::duckdb("open the appender"))?;
        app.append_record_batch(batch).map_err(LakeError::duckdb("append rows"))?;
        app.flush().map_err(LakeError::duckdb("flush the appender"))?;
        let n = rows.len() as u64;
        self.rows += n;
        Ok(n)
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Drops every row (a month that is fetched again starts empty).
    pub fn clear(&mut self) -> Result<(), LakeError> {
        self.conn.execute_batch("DELETE FROM rows").map_err(LakeError::duckdb("clear the staging table"))?;
        self.rows = 0;
        Ok(())
    }

    /// Report months in the table with their row counts.
    pub fn months(&self) -> Result<Vec<(Month, u64)>, LakeError> {
        let mut stmt = self.conn.prepare(include_str!("sql/months.sql")).map_err(LakeError::duckdb("list months"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(LakeError::duckdb("list months"))?;
        let mut out = Vec::new();
        for r in rows {
            let (m, n) = r.map_err(LakeError::duckdb("list months"))?;
            let month = Month::parse(&m)
                .map_err(|e| LakeError::DuckDb { action: "list months".into(), message: e.to_string() })?;
            out.push((month, n as u64));
        }
        Ok(out)
    }

    /// Writes the rows of `month` (every row when `None`) to `path`, sorted for byte-stable output.
    pub fn write_parquet(&self, month: Option<Month>, path: &Path) -> Result<(), LakeError> {
        let sql = match month {
            Some(m) => include_str!("sql/copy_month.sql")
                .replace("{from}", &m.start().to_string())
                .replace("{to}", &m.next().start().to_string()),
            None => include_str!("sql/copy_all.sql").to_string(),
        };
        let sql = sql.replace("{path}", &quote(path));
        self.conn.execute_batch(&sql).map_err(LakeError::duckdb(format!("write {}", path.display())))
    }
}

/// Rows in a Parquet file (used when recovering a month the manifest does not describe).
pub fn count_parquet_rows(path: &Path) -> Result<u64, LakeError> {
    let conn = duckdb::Connection::open_in_memory().map_err(LakeError::duckdb("open an in-memory database"))?;
    let sql = format!("SELECT count(*) FROM read_parquet('{}')", quote(path));
    let n: i64 =
        conn.query_row(&sql, [], |r| r.get(0)).map_err(LakeError::duckdb(format!("read {}", path.display())))?;
    Ok(n as u64)
}

/// A 64-bit FNV-1a hash of a file's bytes, as 16 hex digits: names the file after its content.
pub fn content_hash(path: &Path) -> Result<String, LakeError> {
    let mut f = std::fs::File::open(path).map_err(LakeError::io("read", path))?;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(LakeError::io("read", path))?;
        if n == 0 {
            break;
        }
        for b in &buf[..n] {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    Ok(format!("{h:016x}"))
}
