//! DuckDB column types → BigQuery column types, chosen on purpose.
//!
//! SPD publishes its times as Seattle wall-clock times with no offset ("floating"), and the lake and warehouse
//! keep them that way in DuckDB `TIMESTAMP` columns: they become BigQuery `DATETIME`, so a chart shows 14:05 as
//! SPD wrote it instead of shifting it by the viewer's or UTC's offset. The few columns that *are* instants in
//! UTC (the source's `:updated_at`, the build and fetch times) become `TIMESTAMP`, and are exported as DuckDB
//! `TIMESTAMPTZ`, so the Parquet file itself marks them as UTC-adjusted.

use super::error::BigQueryError;

/// Timestamp columns that hold UTC instants; every other `TIMESTAMP` column is a floating local time.
pub const UTC_INSTANT_COLUMNS: &[&str] =
    &["source_updated_at", "built_at", "last_fetched_at", "source_max_updated_at", "fetched_at"];

/// A BigQuery column type this stage writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BqType {
    String,
    Int64,
    Float64,
    Bool,
    Date,
    Datetime,
    Timestamp,
    Time,
    Numeric,
    BigNumeric,
    Bytes,
}

impl BqType {
    /// The name `tables.get` answers with (legacy SQL names), to compare an existing table's schema.
    pub fn rest_name(self) -> &'static str {
        match self {
            BqType::String => "STRING",
            BqType::Int64 => "INTEGER",
            BqType::Float64 => "FLOAT",
            BqType::Bool => "BOOLEAN",
            BqType::Date => "DATE",
            BqType::Datetime => "DATETIME",
            BqType::Timestamp => "TIMESTAMP",
            BqType::Time => "TIME",
            BqType::Numeric => "NUMERIC",
            BqType::BigNumeric => "BIGNUMERIC",
            BqType::Bytes => "BYTES",
        }
    }
}

/// One column as it is exported and loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub bq: BqType,
    /// The SELECT expression that exports it (a cast when Parquet must carry another type).
    pub expr: String,
}

impl Column {
    /// Maps one DuckDB column (`data_type` as `information_schema.columns` spells it).
    pub fn map(table: &str, name: &str, duckdb_type: &str) -> Result<Column, BigQueryError> {
        let quoted = quote_ident(name);
        let plain = |bq| Ok(Column { name: name.to_string(), bq, expr: quoted.clone() });
        let cast = |bq, to: &str| {
            Ok(Column { name: name.to_string(), bq, expr: format!("CAST({quoted} AS {to}) AS {quoted}") })
        };
        let t = duckdb_type.trim().to_ascii_uppercase();
        match t.as_str() {
            "VARCHAR" | "TEXT" | "STRING" | "UUID" => plain(BqType::String),
            "TINYINT" | "SMALLINT" | "INTEGER" | "BIGINT" | "UTINYINT" | "USMALLINT" | "UINTEGER" => {
                plain(BqType::Int64)
            }
            // Counts summed in DuckDB come out as HUGEINT; they fit INT64 (a value that does not fails the export).
            "HUGEINT" | "UBIGINT" | "UHUGEINT" => cast(BqType::Int64, "BIGINT"),
            "FLOAT" | "REAL" | "DOUBLE" => plain(BqType::Float64),
            "BOOLEAN" => plain(BqType::Bool),
            "DATE" => plain(BqType::Date),
            "TIME" => plain(BqType::Time),
            "BLOB" => plain(BqType::Bytes),
            "TIMESTAMP WITH TIME ZONE" | "TIMESTAMPTZ" => plain(BqType::Timestamp),
            "TIMESTAMP" | "DATETIME" | "TIMESTAMP_US" | "TIMESTAMP_MS" | "TIMESTAMP_S" | "TIMESTAMP_NS" => {
                if UTC_INSTANT_COLUMNS.contains(&name) {
                    cast(BqType::Timestamp, "TIMESTAMPTZ")
                } else {
                    cast(BqType::Datetime, "TIMESTAMP")
                }
            }
            _ if t.starts_with("DECIMAL") => {
                let (p, s) = decimal_precision(&t).unwrap_or((38, 9));
                plain(if p - s <= 29 && s <= 9 { BqType::Numeric } else { BqType::BigNumeric })
            }
            _ => Err(BigQueryError::UnsupportedType {
                table: table.to_string(),
                column: name.to_string(),
                duckdb_type: duckdb_type.to_string(),
            }),
        }
    }

    /// The column as a field of a BigQuery table schema (REST `TableFieldSchema`).
    pub fn field(&self) -> serde_json::Value {
        serde_json::json!({"name": self.name, "type": self.bq.rest_name(), "mode": "NULLABLE"})
    }
}

/// `name:TYPE,...`: what a checksum covers besides the values, so a type change is a change.
pub fn signature(columns: &[Column]) -> String {
    columns.iter().map(|c| format!("{}:{}", c.name, c.bq.rest_name())).collect::<Vec<_>>().join(",")
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn decimal_precision(t: &str) -> Option<(u32, u32)> {
    let inner = t.strip_prefix("DECIMAL(")?.strip_suffix(')')?;
    let (p, s) = inner.split_once(',')?;
    Some((p.trim().parse().ok()?, s.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floating_local_times_become_datetime_and_utc_instants_timestamp() {
        let c = Column::map("fct_offenses", "report_date_time", "TIMESTAMP").unwrap();
        assert_eq!(c.bq, BqType::Datetime);
        let c = Column::map("fct_offenses", "source_updated_at", "TIMESTAMP").unwrap();
        assert_eq!(c.bq, BqType::Timestamp);
        assert_eq!(c.expr, "CAST(\"source_updated_at\" AS TIMESTAMPTZ) AS \"source_updated_at\"");
        assert_eq!(Column::map("meta_build", "built_at", "TIMESTAMP").unwrap().bq, BqType::Timestamp);
        assert_eq!(Column::map("t", "x", "TIMESTAMP WITH TIME ZONE").unwrap().bq, BqType::Timestamp);
    }

    #[test]
    fn other_types_map_and_unknown_ones_are_named() {
        for (duck, bq) in [
            ("VARCHAR", BqType::String),
            ("BIGINT", BqType::Int64),
            ("INTEGER", BqType::Int64),
            ("HUGEINT", BqType::Int64),
            ("DOUBLE", BqType::Float64),
            ("BOOLEAN", BqType::Bool),
            ("DATE", BqType::Date),
            ("DECIMAL(18,3)", BqType::Numeric),
            ("DECIMAL(38,20)", BqType::BigNumeric),
        ] {
            assert_eq!(Column::map("t", "c", duck).unwrap().bq, bq, "{duck}");
        }
        let e = Column::map("mart_x", "tags", "VARCHAR[]").unwrap_err().to_string();
        assert!(e.contains("tags") && e.contains("mart_x") && e.contains("VARCHAR[]"), "{e}");
    }
}
