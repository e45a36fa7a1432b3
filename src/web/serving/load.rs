//! Reading the marts into the serving index: one query per mart (`sql/serving/`), streamed as Arrow batches
//! (DuckDB hands its columns over as they are; a value-by-value row reader costs ~10× more for 3M rows).

use duckdb::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use duckdb::arrow::datatypes::{Float64Type, Int32Type, Int64Type};
use duckdb::Connection;

/// Why the index could not be read; the server answers the charts with a 500 naming a rebuild.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading {mart}: {source}")]
    Query { mart: &'static str, source: duckdb::Error },
    #[error("{mart}.{column} is not of the type the index reads ({found}); the warehouse is from another version")]
    Type { mart: &'static str, column: usize, found: String },
    #[error("{mart} holds a NULL in column {column}, which its data tests forbid")]
    Null { mart: &'static str, column: usize },
    #[error("{mart} holds the count {n}, outside 0 … 4294967295")]
    Count { mart: &'static str, n: i64 },
    #[error("{mart} holds {what}")]
    Other { mart: &'static str, what: String },
}

/// Runs `sql` and hands every batch to `each`.
pub fn batches(
    c: &Connection,
    mart: &'static str,
    sql: &str,
    mut each: impl FnMut(&Batch<'_>) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let query = |source| LoadError::Query { mart, source };
    let mut stmt = c.prepare(sql).map_err(query)?;
    for batch in stmt.stream_arrow([]).map_err(query)? {
        let batch = batch.map_err(query)?;
        each(&Batch { mart, batch: &batch })?;
    }
    Ok(())
}

/// One Arrow batch of a mart's rows, its columns read by position with their expected type.
pub struct Batch<'a> {
    mart: &'static str,
    batch: &'a RecordBatch,
}

impl<'a> Batch<'a> {
    pub fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    fn column(&self, i: usize) -> &'a ArrayRef {
        self.batch.column(i)
    }

    fn wrong(&self, i: usize) -> LoadError {
        LoadError::Type { mart: self.mart, column: i, found: self.batch.column(i).data_type().to_string() }
    }

    /// A text column (NULL as `None`).
    pub fn text(&self, i: usize) -> Result<impl Fn(usize) -> Option<&'a str>, LoadError> {
        let a = self.column(i).as_string_opt::<i32>().ok_or_else(|| self.wrong(i))?;
        Ok(move |row| (!a.is_null(row)).then(|| a.value(row)))
    }

    /// A text column that holds no NULL.
    pub fn required_text(&self, i: usize) -> Result<impl Fn(usize) -> &'a str, LoadError> {
        let a = self.column(i).as_string_opt::<i32>().ok_or_else(|| self.wrong(i))?;
        if a.null_count() > 0 {
            return Err(LoadError::Null { mart: self.mart, column: i });
        }
        Ok(move |row| a.value(row))
    }

    /// An INTEGER column (NULL as `None`).
    pub fn int(&self, i: usize) -> Result<impl Fn(usize) -> Option<i32> + 'a, LoadError> {
        let a = self.column(i).as_primitive_opt::<Int32Type>().ok_or_else(|| self.wrong(i))?;
        Ok(move |row| (!a.is_null(row)).then(|| a.value(row)))
    }

    /// An INTEGER column that holds no NULL.
    pub fn required_int(&self, i: usize) -> Result<impl Fn(usize) -> i32 + 'a, LoadError> {
        let a = self.column(i).as_primitive_opt::<Int32Type>().ok_or_else(|| self.wrong(i))?;
        if a.null_count() > 0 {
            return Err(LoadError::Null { mart: self.mart, column: i });
        }
        Ok(move |row| a.value(row))
    }

    /// A BIGINT count column: no NULL, each value within u32.
    pub fn counts(&self, i: usize) -> Result<Vec<u32>, LoadError> {
        let a = self.column(i).as_primitive_opt::<Int64Type>().ok_or_else(|| self.wrong(i))?;
        if a.null_count() > 0 {
            return Err(LoadError::Null { mart: self.mart, column: i });
        }
        a.values().iter().map(|&n| u32::try_from(n).map_err(|_| LoadError::Count { mart: self.mart, n })).collect()
    }

    /// A BOOLEAN column, NULL read as false (as the chart queries' `coalesce(…, false)` and `where` did).
    pub fn flag(&self, i: usize) -> Result<impl Fn(usize) -> bool + 'a, LoadError> {
        let a = self.column(i).as_boolean_opt().ok_or_else(|| self.wrong(i))?;
        Ok(move |row| !a.is_null(row) && a.value(row))
    }

    /// A DOUBLE column that holds no NULL.
    pub fn required_double(&self, i: usize) -> Result<impl Fn(usize) -> f64 + 'a, LoadError> {
        let a = self.column(i).as_primitive_opt::<Float64Type>().ok_or_else(|| self.wrong(i))?;
        if a.null_count() > 0 {
            return Err(LoadError::Null { mart: self.mart, column: i });
        }
        Ok(move |row| a.value(row))
    }

    pub fn other(&self, what: String) -> LoadError {
        LoadError::Other { mart: self.mart, what }
    }
}
