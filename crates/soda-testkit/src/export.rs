//! SPD CSV exports as the portal's "Export" button writes them, in both generations (see SPD-FORMAT.md and
//! `shared/data/spd-samples/SOURCES.md`), built from SODA rows of either schema.

use chrono::NaiveDateTime;

use super::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportStyle {
    /// The 2026 portal export: display headers, every field quoted, dates `2025 Dec 01 09:15:21 PM`.
    New,
    /// The pre-2025 export: old display headers, dates `12/01/2020 06:35:48 PM`.
    Old,
}

/// (header, new field name, old field name) for the new export.
const NEW_COLUMNS: &[(&str, &str, &str)] = &[
    ("Report Number", "report_number", "report_number"),
    ("Report DateTime", "report_date_time", "report_datetime"),
    ("Offense ID", "offense_id", "offense_id"),
    ("Offense Date", "offense_date", "offense_start_datetime"),
    ("NIBRS Group AB", "nibrs_group_a_b", "group_a_b"),
    ("NIBRS Crime Against Category", "nibrs_crime_against_category", "crime_against_category"),
    ("Offense Sub Category", "offense_sub_category", "offense_parent_group"),
    ("Shooting Type Group", "shooting_type_group", ""),
    ("Block Address", "block_address", "_100_block_address"),
    ("Latitude", "latitude", "latitude"),
    ("Longitude", "longitude", "longitude"),
    ("Beat", "beat", "beat"),
    ("Precinct", "precinct", "precinct"),
    ("Sector", "sector", "sector"),
    ("Neighborhood", "neighborhood", "mcpp"),
    ("Reporting Area", "reporting_area", ""),
    ("Offense Category", "offense_category", ""),
    ("NIBRS Offense Code Description", "nibrs_offense_code_description", "offense"),
    ("NIBRS_offense_code", "nibrs_offense_code", "offense_code"),
];

/// (header, old field name, new field name) for the old export.
const OLD_COLUMNS: &[(&str, &str, &str)] = &[
    ("Report Number", "report_number", "report_number"),
    ("Offense ID", "offense_id", "offense_id"),
    ("Offense Start DateTime", "offense_start_datetime", "offense_date"),
    ("Offense End DateTime", "offense_end_datetime", ""),
    ("Report DateTime", "report_datetime", "report_date_time"),
    ("Group A B", "group_a_b", "nibrs_group_a_b"),
    ("Crime Against Category", "crime_against_category", "nibrs_crime_against_category"),
    ("Offense Parent Group", "offense_parent_group", "offense_sub_category"),
    ("Offense", "offense", "nibrs_offense_code_description"),
    ("Offense Code", "offense_code", "nibrs_offense_code"),
    ("Precinct", "precinct", "precinct"),
    ("Sector", "sector", "sector"),
    ("Beat", "beat", "beat"),
    ("MCPP", "mcpp", "neighborhood"),
    ("100 Block Address", "_100_block_address", "block_address"),
    ("Longitude", "longitude", "longitude"),
    ("Latitude", "latitude", "latitude"),
];

fn field<'a>(row: &'a Row, primary: &str, alternate: &str) -> &'a str {
    row.get(primary)
        .or_else(|| if alternate.is_empty() { None } else { row.get(alternate) })
        .and_then(|v| v.as_str())
        .unwrap_or("")
}

/// Reformats a SODA floating timestamp (`2025-12-01T21:15:21.000`) in the export's date style; other text
/// is kept as is.
fn export_date(value: &str, style: ExportStyle) -> String {
    let Ok(t) = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f") else {
        return value.to_string();
    };
    match style {
        ExportStyle::New => t.format("%Y %b %d %I:%M:%S %p").to_string(),
        ExportStyle::Old => t.format("%m/%d/%Y %I:%M:%S %p").to_string(),
    }
}

/// The CSV text of `rows` as the portal exports them (rows of either schema; a field the row lacks is empty).
pub fn write_csv(rows: &[Row], style: ExportStyle) -> String {
    let columns = match style {
        ExportStyle::New => NEW_COLUMNS,
        ExportStyle::Old => OLD_COLUMNS,
    };
    let quote = match style {
        ExportStyle::New => csv::QuoteStyle::Always,
        ExportStyle::Old => csv::QuoteStyle::Necessary,
    };
    let mut w = csv::WriterBuilder::new().quote_style(quote).from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(columns.iter().map(|(h, _, _)| *h));
    for row in rows {
        let record: Vec<String> = columns
            .iter()
            .map(|(header, primary, alternate)| {
                let v = field(row, primary, alternate);
                if header.contains("Date") {
                    export_date(v, style)
                } else {
                    v.to_string()
                }
            })
            .collect();
        let _ = w.write_record(&record);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_use_each_generations_format() {
        assert_eq!(export_date("2025-12-01T21:15:21.000", ExportStyle::New), "2025 Dec 01 09:15:21 PM");
        assert_eq!(export_date("2020-12-01T18:35:48.000", ExportStyle::Old), "12/01/2020 06:35:48 PM");
    }
}
