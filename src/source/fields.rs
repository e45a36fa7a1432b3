//! The one explicit table that maps source field names onto the lake columns ([`COLUMNS`]).
//!
//! SPD republished `tazs-3rd5` in 2025 with NIBRS names; older API pulls and CSV exports use the old names, and
//! CSV exports use display headers ("Report DateTime", "100 Block Address", "NIBRS_offense_code"). Every name is
//! first normalised ([`normalize`]: lower case, runs of non-alphanumerics → `_`, trimmed) and then looked up in
//! [`ALIASES`], so API names, old API names and both generations of export headers go through the same table.

use crate::domain::row::COLUMNS;

/// Normalised source name → lake column. Current API names map to themselves; the old API names and the export
/// display headers (after [`normalize`]) map as SPD-FORMAT.md describes.
pub const ALIASES: &[(&str, usize)] = &[
    // current (NIBRS) API names = lake names
    ("report_number", 0),
    ("offense_id", 1),
    ("report_date_time", 2),
    ("offense_date", 3),
    ("offense_end_date", 4),
    ("nibrs_group_a_b", 5),
    ("nibrs_crime_against_category", 6),
    ("offense_sub_category", 7),
    ("shooting_type_group", 8),
    ("block_address", 9),
    ("latitude", 10),
    ("longitude", 11),
    ("beat", 12),
    ("precinct", 13),
    ("sector", 14),
    ("neighborhood", 15),
    ("reporting_area", 16),
    ("offense_category", 17),
    ("nibrs_offense_code_description", 18),
    ("nibrs_offense_code", 19),
    // old API names (before the 2025 republication) and old export headers
    ("report_datetime", 2),        // "Report DateTime" (both export generations)
    ("offense_start_datetime", 3), // "Offense Start DateTime"
    ("offense_end_datetime", 4),   // "Offense End DateTime"
    ("group_a_b", 5),              // "Group A B"
    ("crime_against_category", 6), // "Crime Against Category"
    ("offense_parent_group", 7),   // "Offense Parent Group"
    ("100_block_address", 9),      // `_100_block_address`, "100 Block Address"
    ("mcpp", 15),                  // "MCPP"
    ("offense", 18),               // "Offense"
    ("offense_code", 19),          // "Offense Code"
    // new export headers that differ from the API names
    ("nibrs_group_ab", 5), // "NIBRS Group AB"
];

/// The API field set after the 2025 republication.
pub const NEW_API_FIELDS: [&str; 19] = [
    "report_number",
    "report_date_time",
    "offense_id",
    "offense_date",
    "nibrs_group_a_b",
    "nibrs_crime_against_category",
    "offense_sub_category",
    "shooting_type_group",
    "block_address",
    "latitude",
    "longitude",
    "beat",
    "precinct",
    "sector",
    "neighborhood",
    "reporting_area",
    "offense_category",
    "nibrs_offense_code_description",
    "nibrs_offense_code",
];

/// The API field set before the 2025 republication.
pub const OLD_API_FIELDS: [&str; 17] = [
    "report_number",
    "offense_id",
    "offense_start_datetime",
    "offense_end_datetime",
    "report_datetime",
    "group_a_b",
    "crime_against_category",
    "offense_parent_group",
    "offense",
    "offense_code",
    "precinct",
    "sector",
    "beat",
    "mcpp",
    "_100_block_address",
    "longitude",
    "latitude",
];

/// Lower case, every run of characters other than ASCII letters and digits becomes one `_`, trimmed of `_`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// The lake column a source field (API name or export header) maps to, if any.
pub fn lake_column(source_name: &str) -> Option<usize> {
    let n = normalize(source_name);
    ALIASES.iter().find(|(alias, _)| *alias == n).map(|(_, c)| *c)
}

/// The lake column name at `index`.
pub fn column_name(index: usize) -> &'static str {
    COLUMNS[index].0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::row::col;

    #[test]
    fn every_old_api_field_maps_as_spd_format_says() {
        let expect = [
            ("report_number", "report_number"),
            ("offense_id", "offense_id"),
            ("offense_start_datetime", "offense_date"),
            ("offense_end_datetime", "offense_end_date"),
            ("report_datetime", "report_date_time"),
            ("group_a_b", "nibrs_group_a_b"),
            ("crime_against_category", "nibrs_crime_against_category"),
            ("offense_parent_group", "offense_sub_category"),
            ("offense", "nibrs_offense_code_description"),
            ("offense_code", "nibrs_offense_code"),
            ("precinct", "precinct"),
            ("sector", "sector"),
            ("beat", "beat"),
            ("mcpp", "neighborhood"),
            ("_100_block_address", "block_address"),
            ("longitude", "longitude"),
            ("latitude", "latitude"),
        ];
        assert_eq!(expect.len(), OLD_API_FIELDS.len());
        for (old, new) in expect {
            assert!(OLD_API_FIELDS.contains(&old));
            assert_eq!(lake_column(old).map(column_name), Some(new), "{old}");
        }
    }

    #[test]
    fn every_new_api_field_maps_to_itself() {
        for f in NEW_API_FIELDS {
            assert_eq!(lake_column(f).map(column_name), Some(f));
        }
        assert_eq!(lake_column("census_block_2020"), None);
        assert_eq!(lake_column(":id"), None);
    }

    #[test]
    fn export_headers_of_both_generations_map() {
        let new = [
            ("Report Number", "report_number"),
            ("Report DateTime", "report_date_time"),
            ("Offense ID", "offense_id"),
            ("Offense Date", "offense_date"),
            ("NIBRS Group AB", "nibrs_group_a_b"),
            ("NIBRS Crime Against Category", "nibrs_crime_against_category"),
            ("Offense Sub Category", "offense_sub_category"),
            ("Shooting Type Group", "shooting_type_group"),
            ("Block Address", "block_address"),
            ("Latitude", "latitude"),
            ("Longitude", "longitude"),
            ("Beat", "beat"),
            ("Precinct", "precinct"),
            ("Sector", "sector"),
            ("Neighborhood", "neighborhood"),
            ("Reporting Area", "reporting_area"),
            ("Offense Category", "offense_category"),
            ("NIBRS Offense Code Description", "nibrs_offense_code_description"),
            ("NIBRS_offense_code", "nibrs_offense_code"),
        ];
        let old = [
            ("Offense Start DateTime", "offense_date"),
            ("Offense End DateTime", "offense_end_date"),
            ("Group A B", "nibrs_group_a_b"),
            ("Crime Against Category", "nibrs_crime_against_category"),
            ("Offense Parent Group", "offense_sub_category"),
            ("Offense", "nibrs_offense_code_description"),
            ("Offense Code", "nibrs_offense_code"),
            ("MCPP", "neighborhood"),
            ("100 Block Address", "block_address"),
        ];
        for (header, lake) in new.into_iter().chain(old) {
            assert_eq!(lake_column(header).map(column_name), Some(lake), "{header}");
        }
    }

    #[test]
    fn alias_table_has_no_duplicate_names_and_covers_every_source_column() {
        let mut names: Vec<&str> = ALIASES.iter().map(|(a, _)| *a).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        for c in 0..=col::LAST_SOURCE {
            assert!(ALIASES.iter().any(|(a, i)| *i == c && *a == column_name(c)), "{}", column_name(c));
        }
        for (a, _) in ALIASES {
            assert_eq!(&normalize(a), a, "alias {a} must be stored normalised");
        }
    }
}
