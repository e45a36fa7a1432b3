//! SPD CSV exports (the data portal's "Export" download), both header generations, any subset and order of
//! columns, and every date spelling exports use. Headers go through the same alias table as API names.
//!
//! An export must carry "Report Number", "Offense ID" and "Report DateTime": the offense id is the row key the
//! warehouse tests for uniqueness, and crimewatch never invents one. A file without that column is refused as a
//! whole (naming the column and the fix); a row whose offense id is empty is quarantined with the reason.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::fields::lake_column;
use super::row::{parse_timestamp, Rejected, RowBuilder};
use super::SourceError;
use crate::domain::row::col;
use crate::domain::{CanonicalRow, Month, SourceKind};

/// An open export, headers checked.
pub struct CsvExport {
    path: PathBuf,
    reader: csv::Reader<File>,
    headers: Vec<String>,
    /// Header position → lake column (None: kept in `extra_columns`).
    mapping: Vec<Option<usize>>,
}

/// One data row of the export: its line number and the parsed row or the reason it is quarantined.
pub struct CsvRow {
    pub line: u64,
    /// The report month, when the report date could be read (also for quarantined rows).
    pub month: Option<Month>,
    pub row: Result<CanonicalRow, Rejected>,
}

const REQUIRED: [(usize, &str, &str); 3] = [
    (col::REPORT_NUMBER, "Report Number", "re-export with the Report Number column selected"),
    (
        col::OFFENSE_ID,
        "Offense ID",
        "re-export with the Offense ID column selected: it is the row key and crimewatch does not invent one",
    ),
    (
        col::REPORT_DATE_TIME,
        "Report DateTime",
        "re-export with the Report DateTime column selected: it decides the report month",
    ),
];

impl CsvExport {
    pub fn open(path: &Path) -> Result<CsvExport, SourceError> {
        let file = File::open(path).map_err(|source| SourceError::Io { path: path.to_path_buf(), source })?;
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| SourceError::CsvFormat { path: path.to_path_buf(), message: e.to_string() })?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let mut mapping = Vec::with_capacity(headers.len());
        let mut seen: Vec<(usize, &str)> = Vec::new();
        for h in &headers {
            let c = lake_column(h);
            if let Some(c) = c {
                if let Some((_, first)) = seen.iter().find(|(x, _)| *x == c) {
                    return Err(SourceError::AmbiguousColumns {
                        first: first.to_string(),
                        second: h.clone(),
                        column: super::fields::column_name(c),
                    });
                }
                seen.push((c, h.as_str()));
            }
            mapping.push(c);
        }
        for (c, name, fix) in REQUIRED {
            if !mapping.contains(&Some(c)) {
                if headers.len() <= 1 {
                    return Err(SourceError::CsvFormat {
                        path: path.to_path_buf(),
                        message: format!(
                            "the first line has {} column(s); expected comma-separated headers",
                            headers.len()
                        ),
                    });
                }
                return Err(SourceError::CsvMissingColumn { path: path.to_path_buf(), column: name, fix });
            }
        }
        Ok(CsvExport { path: path.to_path_buf(), reader, headers, mapping })
    }

    /// Header names that are not lake columns (kept as text in `extra_columns`).
    pub fn extra_headers(&self) -> Vec<String> {
        self.headers.iter().zip(&self.mapping).filter(|(_, m)| m.is_none()).map(|(h, _)| h.clone()).collect()
    }

    /// Reads the next data row; `None` at the end of the file.
    pub fn next_row(&mut self) -> Option<Result<CsvRow, SourceError>> {
        let mut record = csv::StringRecord::new();
        match self.reader.read_record(&mut record) {
            Ok(false) => None,
            Err(e) => Some(Err(SourceError::CsvFormat { path: self.path.clone(), message: e.to_string() })),
            Ok(true) => {
                let line = record.position().map(|p| p.line()).unwrap_or(0);
                let month = self
                    .mapping
                    .iter()
                    .position(|m| *m == Some(col::REPORT_DATE_TIME))
                    .and_then(|i| record.get(i))
                    .and_then(parse_timestamp)
                    .map(|t| Month::of(t.date()));
                Some(Ok(CsvRow { line, month, row: self.convert(&record) }))
            }
        }
    }

    fn convert(&self, record: &csv::StringRecord) -> Result<CanonicalRow, Rejected> {
        let raw = || {
            let mut m = serde_json::Map::new();
            for (h, v) in self.headers.iter().zip(record.iter()) {
                m.insert(h.clone(), serde_json::Value::String(v.to_string()));
            }
            m
        };
        if record.len() != self.headers.len() {
            return Err(Rejected {
                reason: format!("the row has {} fields but the header has {}", record.len(), self.headers.len()),
                row: raw(),
            });
        }
        let mut b = RowBuilder::new(SourceKind::Csv);
        for ((h, m), v) in self.headers.iter().zip(&self.mapping).zip(record.iter()) {
            match m {
                Some(c) => b.set(*c, v),
                None if !v.is_empty() => b.extra(h, v.to_string()),
                None => {}
            }
        }
        b.finish(raw)
    }
}
