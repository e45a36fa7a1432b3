//! Lake rows column by column: the Arrow form of the source → lake contract ([`COLUMNS`]).
//!
//! The source decodes a page of JSON straight into a [`LakeBatchBuilder`] — no row object per offense in between,
//! no string allocated per value — and the lake writes the finished batches to Parquet. Timestamps are
//! microseconds without a zone (the source's floating Seattle times), as the lake's files have always held them.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use arrow_array::builder::{Float64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::NaiveDateTime;

use super::row::{CanonicalRow, ColumnKind, Value, COLUMNS};

/// One typed lake value on its way into a batch; text borrows from the page where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    Text(Cow<'a, str>),
    /// Microseconds since 1970-01-01T00:00:00 of a zone-less local time.
    Timestamp(i64),
    Double(f64),
}

impl Cell<'_> {
    /// The owned [`Value`] of this cell (for row-at-a-time callers and tests).
    pub fn to_value(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Text(t) => Value::Text(t.to_string()),
            Cell::Timestamp(us) => Value::Timestamp(from_micros(*us)),
            Cell::Double(x) => Value::Double(*x),
        }
    }

    fn kind(&self) -> Option<ColumnKind> {
        match self {
            Cell::Null => None,
            Cell::Text(_) => Some(ColumnKind::Text),
            Cell::Timestamp(_) => Some(ColumnKind::Timestamp),
            Cell::Double(_) => Some(ColumnKind::Double),
        }
    }
}

/// A zone-less timestamp as the lake stores it.
pub fn to_micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

fn from_micros(us: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp_micros(us).map(|t| t.naive_utc()).unwrap_or_default()
}

/// A cell of the wrong type for its column: a bug in the stage that built the row, reported rather than written.
#[derive(Debug, thiserror::Error)]
#[error("lake column {column} cannot hold {got}: the row was built wrong (a bug)")]
pub struct CellMismatch {
    pub column: &'static str,
    pub got: String,
}

/// The lake's Arrow schema: [`COLUMNS`] in order, every column nullable.
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let fields: Vec<Field> =
                COLUMNS.iter().map(|(name, kind)| Field::new(*name, data_type(*kind), true)).collect();
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// The Arrow type of a lake column kind.
pub fn data_type(kind: ColumnKind) -> DataType {
    match kind {
        ColumnKind::Text => DataType::Utf8,
        ColumnKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        ColumnKind::Double => DataType::Float64,
    }
}

enum ColumnBuilder {
    Text(StringBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Double(Float64Builder),
}

/// Appends whole lake rows to one Arrow builder per column.
pub struct LakeBatchBuilder {
    columns: Vec<ColumnBuilder>,
    rows: usize,
}

impl LakeBatchBuilder {
    /// Room for `rows` rows of about `text_bytes` bytes of text each (a hint; the builders grow as needed).
    pub fn with_capacity(rows: usize, text_bytes: usize) -> LakeBatchBuilder {
        let per_column = text_bytes / COLUMNS.len() + 1;
        let columns = COLUMNS
            .iter()
            .map(|(_, kind)| match kind {
                ColumnKind::Text => ColumnBuilder::Text(StringBuilder::with_capacity(rows, rows * per_column)),
                ColumnKind::Timestamp => ColumnBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows)),
                ColumnKind::Double => ColumnBuilder::Double(Float64Builder::with_capacity(rows)),
            })
            .collect();
        LakeBatchBuilder { columns, rows: 0 }
    }

    /// Rows appended so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends one row, one cell per lake column in [`COLUMNS`] order. Every cell is checked before any is
    /// appended, so a refused row leaves the batch as it was.
    pub fn append_row(&mut self, cells: &[Cell<'_>; COLUMNS.len()]) -> Result<(), CellMismatch> {
        for (c, cell) in cells.iter().enumerate() {
            if cell.kind().is_some_and(|k| k != COLUMNS[c].1) {
                return Err(CellMismatch { column: COLUMNS[c].0, got: format!("{cell:?}") });
            }
        }
        for (builder, cell) in self.columns.iter_mut().zip(cells) {
            match (builder, cell) {
                (ColumnBuilder::Text(b), Cell::Text(t)) => b.append_value(t),
                (ColumnBuilder::Text(b), _) => b.append_null(),
                (ColumnBuilder::Timestamp(b), Cell::Timestamp(t)) => b.append_value(*t),
                (ColumnBuilder::Timestamp(b), _) => b.append_null(),
                (ColumnBuilder::Double(b), Cell::Double(x)) => b.append_value(*x),
                (ColumnBuilder::Double(b), _) => b.append_null(),
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Appends a row built value by value (CSV exports).
    pub fn append_canonical(&mut self, row: &CanonicalRow) -> Result<(), CellMismatch> {
        let cells: [Cell<'_>; COLUMNS.len()] = std::array::from_fn(|c| match row.get(c) {
            Value::Null => Cell::Null,
            Value::Text(t) => Cell::Text(Cow::Borrowed(t)),
            Value::Timestamp(t) => Cell::Timestamp(to_micros(*t)),
            Value::Double(x) => Cell::Double(*x),
        });
        self.append_row(&cells)
    }

    /// The rows so far as one batch in the lake's schema; the builder starts empty again. (Every column got one
    /// value of its own type per row, so this fails only on a bug.)
    pub fn finish(&mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    ColumnBuilder::Text(b) => Arc::new(b.finish()),
                    ColumnBuilder::Timestamp(b) => Arc::new(b.finish()),
                    ColumnBuilder::Double(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        RecordBatch::try_new(schema(), arrays)
    }
}

/// The value of `column` in `row` of a lake batch (tests and error messages read batches back this way).
pub fn value_at(batch: &RecordBatch, row: usize, column: usize) -> Value {
    use arrow_array::cast::AsArray;
    use arrow_array::types::TimestampMicrosecondType;
    use arrow_array::Array;
    let a = batch.column(column);
    if a.is_null(row) {
        return Value::Null;
    }
    match COLUMNS[column].1 {
        ColumnKind::Text => Value::Text(a.as_string::<i32>().value(row).to_string()),
        ColumnKind::Timestamp => Value::Timestamp(from_micros(a.as_primitive::<TimestampMicrosecondType>().value(row))),
        ColumnKind::Double => Value::Double(a.as_primitive::<arrow_array::types::Float64Type>().value(row)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::row::col;

    #[test]
    fn rows_go_in_column_by_column_and_read_back_the_same() {
        let t = chrono::NaiveDate::from_ymd_opt(1969, 12, 31).unwrap().and_hms_micro_opt(23, 59, 59, 500_001).unwrap();
        let mut values = vec![Value::Null; COLUMNS.len()];
        values[col::OFFENSE_ID] = Value::Text("7".into());
        values[col::REPORT_DATE_TIME] = Value::Timestamp(t);
        values[col::LATITUDE] = Value::Double(47.61);
        let row = CanonicalRow { values };
        let mut b = LakeBatchBuilder::with_capacity(2, 100);
        b.append_canonical(&row).unwrap();
        b.append_canonical(&row).unwrap();
        let batch = b.finish().unwrap();
        assert_eq!((batch.num_rows(), batch.num_columns()), (2, COLUMNS.len()));
        for (c, (name, _)) in COLUMNS.iter().enumerate() {
            assert_eq!(value_at(&batch, 1, c), row.values[c], "{name}");
        }
        assert_eq!(to_micros(t), -499_999, "before 1970 counts down from the epoch");
        assert_eq!(b.rows(), 0);
    }

    #[test]
    fn a_cell_of_the_wrong_type_is_refused_and_leaves_the_batch_unchanged() {
        let mut b = LakeBatchBuilder::with_capacity(1, 10);
        let mut cells: [Cell<'_>; COLUMNS.len()] = std::array::from_fn(|_| Cell::Null);
        cells[col::LATITUDE] = Cell::Text("north".into());
        let err = b.append_row(&cells).unwrap_err();
        assert_eq!(err.column, "latitude");
        assert_eq!(b.rows(), 0);
        assert_eq!(b.finish().unwrap().num_rows(), 0);
    }
}
