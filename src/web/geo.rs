//! Matching the data's neighborhood names to the map's polygons.
//!
//! The polygons are SPD's 58 Micro-Community Policing Plan areas (`assets/neighborhoods.geojson`, simplified from
//! `spd_mcpp_areas.geojson` by `geo/simplify.py`). The data mostly uses the same upper-case names; the names that
//! differ are mapped explicitly below, and everything else (placeholders such as `UNKNOWN`, `OOJ`, `FK ERROR`,
//! the pre-2015 district names) is reported as unmatched rather than guessed.

use std::sync::OnceLock;

/// The simplified polygons, served to the page as `/assets/neighborhoods.geojson`.
pub const NEIGHBORHOODS_GEOJSON: &str = include_str!("assets/neighborhoods.geojson");

/// Data name → polygon name, for names seen in SPD data that differ from the polygon layer.
const ALIASES: &[(&str, &str)] = &[
    ("CHINATOWN/INTERNATIONAL DISTRICT", "INTERNATIONAL DISTRICT"),
    ("MADRONA/LESCHI", "LESCHI/MADRONA"),
    ("LAKE CITY", "LAKECITY"),
    ("BITTER LAKE", "BITTERLAKE"),
    ("SAND POINT", "SANDPOINT"),
];

fn polygon_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        // The asset is compiled in and checked by a unit test, so a parse failure here is a build defect;
        // an empty list then simply leaves every name unmatched (and says so on the page).
        let parsed: serde_json::Value = serde_json::from_str(NEIGHBORHOODS_GEOJSON).unwrap_or_default();
        let mut names: Vec<String> = parsed["features"]
            .as_array()
            .map(|fs| fs.iter().filter_map(|f| f["properties"]["name"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        names.sort();
        names
    })
}

/// The polygon that draws the data's neighborhood `name`, if any.
pub fn polygon_for(name: &str) -> Option<&'static str> {
    let target = ALIASES.iter().find(|(from, _)| *from == name).map(|(_, to)| *to).unwrap_or(name);
    polygon_names().iter().find(|p| p.as_str() == target).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_polygon_has_a_unique_name_and_aliases_point_at_real_polygons() {
        let names = polygon_names();
        assert_eq!(names.len(), 58);
        let mut dedup = names.to_vec();
        dedup.dedup();
        assert_eq!(dedup.len(), 58);
        for (from, to) in ALIASES {
            assert_eq!(polygon_for(from), Some(*to), "{from}");
        }
    }

    #[test]
    fn known_names_match_and_placeholders_do_not() {
        assert_eq!(polygon_for("FREMONT"), Some("FREMONT"));
        assert_eq!(polygon_for("CHINATOWN/INTERNATIONAL DISTRICT"), Some("INTERNATIONAL DISTRICT"));
        assert_eq!(polygon_for("MADRONA/LESCHI"), Some("LESCHI/MADRONA"));
        for placeholder in ["UNKNOWN", "OOJ", "FK ERROR", "", "Downtown"] {
            assert_eq!(polygon_for(placeholder), None, "{placeholder}");
        }
    }
}
