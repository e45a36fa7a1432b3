//! The source's columns, as probed, mapped onto the lake columns.
//!
//! Which generation the source speaks is decided by its report-date field (`report_date_time` = NIBRS names since
//! 2025, `report_datetime` = the old names). Every column of that generation is required: a missing one means the
//! publisher renamed or dropped it, and mirroring on would silently fill the lake with NULLs. Columns the table
//! does not know are kept (as text, in `extra_columns`) and named in the summary.

use std::collections::HashMap;

use super::fields::{column_name, lake_column, NEW_API_FIELDS, OLD_API_FIELDS};
use super::SourceError;
use crate::domain::row::col;

/// Which field names the source uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Generation {
    /// NIBRS names (2025 republication onward).
    Nibrs,
    /// The names before 2025.
    Old,
}

/// The probed source schema.
#[derive(Debug, Clone)]
pub struct SourceSchema {
    pub generation: Generation,
    /// Every non-system source field, as the source spells it, in the source's order.
    pub fields: Vec<String>,
    /// Source field → lake column.
    pub mapping: HashMap<String, usize>,
    /// Source fields with no lake column (kept as text in `extra_columns`).
    pub extras: Vec<String>,
    /// The source's name for the report timestamp (queries filter and group on it).
    pub report_date_field: String,
    /// The source's name for the offense id (the content aggregate sums it).
    pub offense_id_field: String,
}

impl SourceSchema {
    /// Maps `fields` (system fields such as `:id` are skipped); see [`SourceSchema::missing_required`] for the
    /// completeness check.
    pub fn from_fields<S: AsRef<str>>(fields: &[S]) -> Result<SourceSchema, SourceError> {
        let mut mapping = HashMap::new();
        let mut by_column: HashMap<usize, String> = HashMap::new();
        let mut extras = Vec::new();
        let mut names = Vec::new();
        for f in fields {
            let f = f.as_ref();
            if f.starts_with(':') || names.iter().any(|n: &String| n == f) {
                continue;
            }
            names.push(f.to_string());
            match lake_column(f) {
                Some(c) => {
                    if let Some(first) = by_column.get(&c) {
                        return Err(SourceError::AmbiguousColumns {
                            first: first.clone(),
                            second: f.to_string(),
                            column: column_name(c),
                        });
                    }
                    by_column.insert(c, f.to_string());
                    mapping.insert(f.to_string(), c);
                }
                None => extras.push(f.to_string()),
            }
        }
        let has = |n: &str| names.iter().any(|x| x == n);
        let generation = if has("report_date_time") {
            Generation::Nibrs
        } else if has("report_datetime") {
            Generation::Old
        } else {
            return Err(SourceError::MissingColumns { columns: vec!["report_date_time".into()] });
        };
        let report_date_field = by_column.get(&col::REPORT_DATE_TIME).cloned().unwrap_or_default();
        let offense_id_field = by_column.get(&col::OFFENSE_ID).cloned().unwrap_or_else(|| "offense_id".into());
        Ok(SourceSchema { generation, fields: names, mapping, extras, report_date_field, offense_id_field })
    }

    /// The required fields of this generation that the source lacks.
    pub fn missing_required(&self) -> Vec<String> {
        let required: &[&str] = match self.generation {
            Generation::Nibrs => &NEW_API_FIELDS,
            Generation::Old => &OLD_API_FIELDS,
        };
        required.iter().filter(|r| !self.fields.iter().any(|f| f == *r)).map(|r| r.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_schema_with_an_unknown_column_is_kept_and_named() {
        let mut fields: Vec<&str> = vec![":id", ":updated_at"];
        fields.extend(NEW_API_FIELDS);
        fields.push("census_block_2020");
        let s = SourceSchema::from_fields(&fields).unwrap();
        assert_eq!(s.generation, Generation::Nibrs);
        assert!(s.missing_required().is_empty());
        assert_eq!(s.extras, ["census_block_2020"]);
        assert_eq!(s.report_date_field, "report_date_time");
        assert_eq!(s.fields.len(), 20);
    }

    #[test]
    fn old_schema_maps_and_queries_use_old_names() {
        let s = SourceSchema::from_fields(&OLD_API_FIELDS).unwrap();
        assert_eq!(s.generation, Generation::Old);
        assert_eq!(s.report_date_field, "report_datetime");
        assert!(s.missing_required().is_empty());
        assert_eq!(s.mapping["mcpp"], 15);
    }

    #[test]
    fn a_renamed_required_column_is_named() {
        let fields: Vec<&str> =
            NEW_API_FIELDS.iter().map(|f| if *f == "offense_category" { "offense_cat" } else { *f }).collect();
        let s = SourceSchema::from_fields(&fields).unwrap();
        assert_eq!(s.missing_required(), ["offense_category"]);
        let fields: Vec<&str> = NEW_API_FIELDS.iter().filter(|f| **f != "report_date_time").copied().collect();
        let err = SourceSchema::from_fields(&fields).unwrap_err().to_string();
        assert!(err.contains("report_date_time"), "{err}");
    }

    #[test]
    fn two_names_for_one_column_is_an_error() {
        let err = SourceSchema::from_fields(&["report_date_time", "offense_id", "mcpp", "neighborhood"]).unwrap_err();
        assert!(err.to_string().contains("neighborhood"), "{err}");
    }
}
