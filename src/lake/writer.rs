//! Lake rows → a month's Parquet file, written by arrow-rs's Parquet writer straight from the Arrow columns the
//! source decoded (no DuckDB on the ingest path), and the DuckDB table a CSV import is read into.
//!
//! The file is the lake → warehouse contract (docs/CONTRACTS.md): the lake's columns in order, timestamps as
//! microseconds without a zone, text as UTF-8 strings, doubles; zstd; rows sorted by `source_row_id` (NULLS
//! FIRST), `offense_id`, then enough columns to order CSV rows (which have no row id), so unchanged data gives a
//! byte-identical file. Every column is `optional` (any may be NULL); DuckDB's writer, the lake's first, marked
//! some `required` depending on the data it had seen, which readers treat the same.

use std::cmp::Ordering;
use std::io::Read as _;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt32Array};
use parquet::arrow::arrow_writer::{ArrowWriter, ArrowWriterOptions};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::LakeError;
use crate::domain::batch::{self, LakeBatchBuilder};
use crate::domain::row::{col, COLUMNS};
use crate::domain::{CanonicalRow, Month};

/// One month's Parquet file, encoded in memory (a month is a few hundred kilobytes).
#[derive(Debug, Clone)]
pub struct MonthFile {
    pub bytes: Vec<u8>,
    pub rows: u64,
}

/// Encodes one month's rows — batches in the lake's schema, in the order the source sent them — as one Parquet
/// file. SODA pages arrive ordered by `:id`, which is the file's order, so the order is checked (one pass) and a
/// sort happens only when it does not hold (CSV imports, or a server that orders differently).
pub fn encode_month(batches: &[RecordBatch]) -> Result<MonthFile, LakeError> {
    let schema = batch::schema();
    let batches = batches
        .iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(LakeError::arrow("read the month's rows as lake columns"))?;
    // One batch, so the bytes depend on the rows alone and not on how the pages split them.
    let all = arrow_select::concat::concat_batches(&schema, &batches).map_err(LakeError::arrow("gather a month"))?;
    let all = sorted(all)?;
    let rows = all.num_rows() as u64;
    let mut bytes = Vec::with_capacity(all.get_array_memory_size() / 4);
    let mut writer = ArrowWriter::try_new_with_options(&mut bytes, all.schema(), writer_options())
        .map_err(LakeError::parquet("start a month file"))?;
    writer.write(&all).map_err(LakeError::parquet("encode a month file"))?;
    writer.close().map_err(LakeError::parquet("finish a month file"))?;
    Ok(MonthFile { bytes, rows })
}

/// Columns with a value (nearly) per row: a dictionary would only add its indices, so they are written plain (as
/// DuckDB's writer chose for them too); the others repeat a few values and get a dictionary.
const PLAIN_COLUMNS: [&str; 11] = [
    "report_number",
    "offense_id",
    "report_date_time",
    "offense_date",
    "offense_end_date",
    "block_address",
    "latitude",
    "longitude",
    "reporting_area",
    "extra_columns",
    "source_row_id",
];

/// zstd level 1: files 0.4% larger than level 3, written 12% faster (measured with DuckDB's writer, whose choice
/// this keeps). Min/max statistics per column chunk (a month has one), no page index. No `ARROW:schema` key: the
/// Parquet schema alone describes the columns, as in the lake's files so far.
fn writer_options() -> ArrowWriterOptions {
    let level = ZstdLevel::try_new(1).unwrap_or_default();
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_statistics_enabled(EnabledStatistics::Chunk);
    for c in PLAIN_COLUMNS {
        props = props.set_column_dictionary_enabled(ColumnPath::from(c), false);
    }
    ArrowWriterOptions::new().with_properties(props.build()).with_skip_arrow_metadata(true)
}

/// The columns that order a month's rows, and how: `source_row_id` NULLS FIRST, the rest NULLS LAST (the order
/// DuckDB's `ORDER BY` gave the lake's files before this writer).
enum KeyColumn<'a> {
    Text(&'a StringArray, bool),
    Timestamp(&'a TimestampMicrosecondArray),
}

fn sort_key(batch: &RecordBatch) -> Vec<KeyColumn<'_>> {
    let text = |c: usize, nulls_first: bool| KeyColumn::Text(batch.column(c).as_string::<i32>(), nulls_first);
    let ts = |c: usize| KeyColumn::Timestamp(batch.column(c).as_primitive::<TimestampMicrosecondType>());
    vec![
        text(col::SOURCE_ROW_ID, true),
        text(col::OFFENSE_ID, false),
        text(col::REPORT_NUMBER, false),
        ts(col::REPORT_DATE_TIME),
        ts(col::OFFENSE_DATE),
        text(nibrs_offense_code(), false),
        text(col::EXTRA_COLUMNS, false),
    ]
}

fn nibrs_offense_code() -> usize {
    COLUMNS.iter().position(|(n, _)| *n == "nibrs_offense_code").unwrap_or(col::LAST_SOURCE)
}

fn compare(key: &[KeyColumn<'_>], a: usize, b: usize) -> Ordering {
    fn nulls(a_null: bool, b_null: bool, nulls_first: bool) -> Option<Ordering> {
        match (a_null, b_null) {
            (false, false) => None,
            (true, true) => Some(Ordering::Equal),
            (true, false) => Some(if nulls_first { Ordering::Less } else { Ordering::Greater }),
            (false, true) => Some(if nulls_first { Ordering::Greater } else { Ordering::Less }),
        }
    }
    for k in key {
        let o = match k {
            KeyColumn::Text(x, nulls_first) => nulls(x.is_null(a), x.is_null(b), *nulls_first)
                .unwrap_or_else(|| x.value(a).as_bytes().cmp(x.value(b).as_bytes())),
            KeyColumn::Timestamp(x) => {
                nulls(x.is_null(a), x.is_null(b), false).unwrap_or_else(|| x.value(a).cmp(&x.value(b)))
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// The batch in the file's row order: as it is when already ordered, else sorted (stably, so rows equal in
/// every key column keep the order they came in).
fn sorted(batch: RecordBatch) -> Result<RecordBatch, LakeError> {
    let n = batch.num_rows();
    let order: Option<Vec<u32>> = {
        let key = sort_key(&batch);
        if (1..n).all(|i| compare(&key, i - 1, i) != Ordering::Greater) {
            None
        } else {
            let mut idx: Vec<u32> = (0..n as u32).collect();
            idx.sort_by(|&a, &b| compare(&key, a as usize, b as usize));
            Some(idx)
        }
    };
    match order {
        None => Ok(batch),
        Some(idx) => arrow_select::take::take_record_batch(&batch, &UInt32Array::from(idx))
            .map_err(LakeError::arrow("sort a month's rows")),
    }
}

/// Rows in a Parquet file, from its footer (used when recovering a month the manifest does not describe).
pub fn count_parquet_rows(path: &Path) -> Result<u64, LakeError> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let f = std::fs::File::open(path).map_err(LakeError::io("read", path))?;
    let reader = SerializedFileReader::new(f).map_err(LakeError::parquet(format!("read {}", path.display())))?;
    Ok(reader.metadata().file_metadata().num_rows().max(0) as u64)
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

/// An in-memory DuckDB table of lake rows: a CSV import, which may be larger than memory and comes in no useful
/// order, is read into it (spilling to disk), then taken out one month at a time.
pub struct StagingTable {
    conn: duckdb::Connection,
    rows: u64,
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
    /// through the row appender cost more than parsing the text they came from.
    pub fn append<'a>(&mut self, rows: impl IntoIterator<Item = &'a CanonicalRow>) -> Result<u64, LakeError> {
        let mut b = LakeBatchBuilder::with_capacity(1024, 300);
        for r in rows {
            b.append_canonical(r).map_err(LakeError::arrow_message("build a batch of lake rows"))?;
        }
        let n = b.rows() as u64;
        if n == 0 {
            return Ok(0);
        }
        let batch = b.finish().map_err(LakeError::arrow("build a batch of lake rows"))?;
        let mut app = self.conn.appender("rows").map_err(LakeError::duckdb("open the appender"))?;
        app.append_record_batch(batch).map_err(LakeError::duckdb("append rows"))?;
        app.flush().map_err(LakeError::duckdb("flush the appender"))?;
        self.rows += n;
        Ok(n)
    }

    pub fn rows(&self) -> u64 {
        self.rows
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

    /// The rows of `month`, in the order they were appended ([`encode_month`] orders them).
    pub fn month_rows(&self, month: Month) -> Result<Vec<RecordBatch>, LakeError> {
        let sql = include_str!("sql/month_rows.sql")
            .replace("{from}", &month.start().to_string())
            .replace("{to}", &month.next().start().to_string());
        let action = format!("read the rows of {month}");
        let mut stmt = self.conn.prepare(&sql).map_err(LakeError::duckdb(action.clone()))?;
        let batches = stmt.query_arrow([]).map_err(LakeError::duckdb(action))?.collect();
        Ok(batches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::batch::Cell;
    use std::borrow::Cow;

    fn batch(rows: &[(Option<&str>, &str)]) -> RecordBatch {
        let mut b = LakeBatchBuilder::with_capacity(rows.len(), 100);
        for (id, offense) in rows {
            let mut cells: [Cell<'_>; COLUMNS.len()] = std::array::from_fn(|_| Cell::Null);
            cells[col::SOURCE_ROW_ID] = id.map_or(Cell::Null, |i| Cell::Text(Cow::Borrowed(i)));
            cells[col::OFFENSE_ID] = Cell::Text(Cow::Borrowed(offense));
            cells[col::REPORT_DATE_TIME] = Cell::Timestamp(1_700_000_000_000_000);
            b.append_row(&cells).unwrap();
        }
        b.finish().unwrap()
    }

    fn read_back(file: &MonthFile) -> Vec<(Option<String>, String)> {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file.bytes.clone())).unwrap().build().unwrap();
        let mut out = Vec::new();
        for b in reader {
            let b = b.unwrap();
            let ids = b.column(col::SOURCE_ROW_ID).as_string::<i32>();
            let offenses = b.column(col::OFFENSE_ID).as_string::<i32>();
            for i in 0..b.num_rows() {
                out.push((ids.is_valid(i).then(|| ids.value(i).to_string()), offenses.value(i).to_string()));
            }
        }
        out
    }

    #[test]
    fn rows_in_order_are_written_as_they_came_and_the_bytes_do_not_depend_on_page_splits() {
        let pages = [batch(&[(Some("row-a"), "3"), (Some("row-b"), "1")]), batch(&[(Some("row-c"), "2")])];
        let file = encode_month(&pages).unwrap();
        assert_eq!(file.rows, 3);
        let ids: Vec<_> = read_back(&file).into_iter().map(|(id, _)| id.unwrap()).collect();
        assert_eq!(ids, ["row-a", "row-b", "row-c"]);
        let one_page = batch(&[(Some("row-a"), "3"), (Some("row-b"), "1"), (Some("row-c"), "2")]);
        assert_eq!(encode_month(&[one_page]).unwrap().bytes, file.bytes, "same rows, same bytes");
    }

    #[test]
    fn every_plain_column_is_a_lake_column() {
        for c in PLAIN_COLUMNS {
            assert!(COLUMNS.iter().any(|(n, _)| *n == c), "{c}");
        }
    }

    #[test]
    fn rows_out_of_order_are_sorted_row_id_nulls_first_then_offense_id() {
        let file = encode_month(&[batch(&[
            (Some("row-b"), "1"),
            (None, "9"),
            (Some("row-a"), "5"),
            (None, "10"),
            (None, "2"),
        ])])
        .unwrap();
        let got = read_back(&file);
        let want = [(None, "10"), (None, "2"), (None, "9"), (Some("row-a"), "5"), (Some("row-b"), "1")];
        let want: Vec<_> = want.iter().map(|(i, o)| (i.map(str::to_string), o.to_string())).collect();
        assert_eq!(got, want, "text compares byte by byte, as DuckDB's ORDER BY did");
    }
}
