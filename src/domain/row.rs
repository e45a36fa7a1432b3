//! One offense as the lake stores it: the lake's columns, in file order, and a row of typed values.
//!
//! This is the source → lake contract (docs/CONTRACTS.md, "Lake Parquet columns"): the source stage builds
//! these rows, the lake writes them to Parquet column by column, the warehouse reads the files.

use chrono::NaiveDateTime;
use serde::Serialize;

/// The type of a lake column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Timestamp,
    Double,
}

/// The lake Parquet columns, in file order (docs/CONTRACTS.md, "Lake Parquet columns").
pub const COLUMNS: [(&str, ColumnKind); 24] = [
    ("report_number", ColumnKind::Text),
    ("offense_id", ColumnKind::Text),
    ("report_date_time", ColumnKind::Timestamp),
    ("offense_date", ColumnKind::Timestamp),
    ("offense_end_date", ColumnKind::Timestamp),
    ("nibrs_group_a_b", ColumnKind::Text),
    ("nibrs_crime_against_category", ColumnKind::Text),
    ("offense_sub_category", ColumnKind::Text),
    ("shooting_type_group", ColumnKind::Text),
    ("block_address", ColumnKind::Text),
    ("latitude", ColumnKind::Double),
    ("longitude", ColumnKind::Double),
    ("beat", ColumnKind::Text),
    ("precinct", ColumnKind::Text),
    ("sector", ColumnKind::Text),
    ("neighborhood", ColumnKind::Text),
    ("reporting_area", ColumnKind::Text),
    ("offense_category", ColumnKind::Text),
    ("nibrs_offense_code_description", ColumnKind::Text),
    ("nibrs_offense_code", ColumnKind::Text),
    ("extra_columns", ColumnKind::Text),
    ("source_row_id", ColumnKind::Text),
    ("source_updated_at", ColumnKind::Timestamp),
    ("source_kind", ColumnKind::Text),
];

/// Column positions, so code reads `col::OFFENSE_ID` rather than a bare number.
pub mod col {
    pub const REPORT_NUMBER: usize = 0;
    pub const OFFENSE_ID: usize = 1;
    pub const REPORT_DATE_TIME: usize = 2;
    pub const OFFENSE_DATE: usize = 3;
    pub const OFFENSE_END_DATE: usize = 4;
    pub const BLOCK_ADDRESS: usize = 9;
    pub const LATITUDE: usize = 10;
    pub const LONGITUDE: usize = 11;
    pub const REPORTING_AREA: usize = 16;
    /// The last column a source field can map to; the rest are filled by crimewatch.
    pub const LAST_SOURCE: usize = 19;
    pub const EXTRA_COLUMNS: usize = 20;
    pub const SOURCE_ROW_ID: usize = 21;
    pub const SOURCE_UPDATED_AT: usize = 22;
    pub const SOURCE_KIND: usize = 23;
}

/// One typed lake value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Null,
    Text(String),
    Timestamp(NaiveDateTime),
    Double(f64),
}

impl Value {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_timestamp(&self) -> Option<NaiveDateTime> {
        match self {
            Value::Timestamp(t) => Some(*t),
            _ => None,
        }
    }
}

/// A row in the lake's column order ([`COLUMNS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CanonicalRow {
    pub values: Vec<Value>,
}

impl CanonicalRow {
    pub fn get(&self, column: usize) -> &Value {
        &self.values[column]
    }

    /// The row's report timestamp (always present on rows that made it into the lake).
    pub fn report_date_time(&self) -> Option<NaiveDateTime> {
        self.values[col::REPORT_DATE_TIME].as_timestamp()
    }
}
