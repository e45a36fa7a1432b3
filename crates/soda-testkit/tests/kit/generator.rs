//! The generator is deterministic per seed and SPD-shaped, in both schemas.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use soda_testkit::generate::{self, Schema};
use soda_testkit::Row;

use crate::expect::{expected_by_month, month, s, spec};

#[test]
fn generator_is_deterministic_per_seed() {
    let a = generate::rows(&spec(42, "2023-01", "2023-03", 800, Schema::Nibrs));
    let b = generate::rows(&spec(42, "2023-01", "2023-03", 800, Schema::Nibrs));
    let c = generate::rows(&spec(43, "2023-01", "2023-03", 800, Schema::Nibrs));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.len(), 800);
    let streamed: Vec<Row> = generate::iter(&spec(42, "2023-01", "2023-03", 800, Schema::Nibrs)).collect();
    assert_eq!(a, streamed);
}

const NEW_FIELDS: [&str; 19] = [
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
const OLD_FIELDS: [&str; 17] = [
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

/// SPD's own category, from the FBI lists (independent of the generator's table).
fn category_of(code: &str) -> &'static str {
    const VIOLENT: [&str; 6] = ["09A", "11A", "11B", "11C", "120", "13A"];
    const PROPERTY: [&str; 12] = ["200", "220", "23A", "23B", "23C", "23D", "23E", "23F", "23G", "23H", "240", "240"];
    if VIOLENT.contains(&code) {
        "VIOLENT CRIME"
    } else if PROPERTY.contains(&code) {
        "PROPERTY CRIME"
    } else {
        "ALL OTHER"
    }
}

fn is_floating_timestamp(v: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.3f").is_ok() && v.len() == 23
}

#[test]
fn generated_nibrs_rows_have_the_spd_shape_and_consistent_values() {
    let rows = generate::rows(&spec(7, "2024-01", "2024-12", 20_000, Schema::Nibrs));
    let required = ["report_number", "report_date_time", "offense_id", "offense_category", "nibrs_offense_code"];
    let mut code_desc: HashMap<String, String> = HashMap::new();
    let precinct_code = |w: &str| match w {
        "North" => Some("N"),
        "East" => Some("E"),
        "South" => Some("S"),
        "West" => Some("W"),
        "Southwest" => Some("SW"),
        _ => None,
    };
    let mut with_census = 0;
    for r in &rows {
        assert!(r.values().all(Value::is_string), "every value a string: {r:?}");
        for f in required {
            assert!(r.contains_key(f), "{f} missing in {r:?}");
        }
        for k in r.keys() {
            assert!(NEW_FIELDS.contains(&k.as_str()) || k == "census_block_2020", "unexpected field {k}");
        }
        with_census += usize::from(r.contains_key("census_block_2020"));
        let rn = s(r, "report_number").expect("rn");
        assert!(
            rn.len() == 11
                && rn.as_bytes()[4] == b'-'
                && rn[..4].parse::<u32>().is_ok()
                && rn[5..].parse::<u32>().is_ok(),
            "{rn}"
        );
        let id = s(r, "offense_id").expect("id");
        assert!((10..=11).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
        let report = s(r, "report_date_time").expect("t");
        let offense = s(r, "offense_date").expect("offense_date");
        assert!(is_floating_timestamp(report) && is_floating_timestamp(offense), "{report} {offense}");
        assert!(offense <= report, "offense {offense} after report {report}");
        assert_eq!(&rn[..4], &report[..4], "report numbers carry the report year");
        let code = s(r, "nibrs_offense_code").expect("code");
        assert_eq!(s(r, "offense_category"), Some(category_of(code)), "category of {code}");
        let desc = s(r, "nibrs_offense_code_description").expect("desc").to_string();
        assert_eq!(
            code_desc.entry(code.to_string()).or_insert_with(|| desc.clone()),
            &desc,
            "one description per code"
        );
        let against = s(r, "nibrs_crime_against_category").expect("against");
        assert!(["PERSON", "PROPERTY", "SOCIETY", "ANY", "NOT_A_CRIME", "-"].contains(&against), "{against}");
        if code.starts_with("13") || code.starts_with("11") || code == "09A" {
            assert!(against == "PERSON" || against == "-", "{code} is against persons");
        }
        let ab = s(r, "nibrs_group_a_b").expect("ab");
        assert_eq!(ab, if code.starts_with("90") { "B" } else { "A" }, "{code}");
        // Areas agree with each other.
        let precinct = s(r, "precinct").expect("precinct");
        let sector = s(r, "sector").expect("sector");
        let beat = s(r, "beat").expect("beat");
        let hood = s(r, "neighborhood").expect("neighborhood");
        if let Some(pc) = precinct_code(precinct) {
            assert!(generate::sectors_of_precinct(precinct).contains(&sector), "{sector} not in {precinct}");
            assert!(
                beat.len() == 2 && beat.starts_with(sector) && ["1", "2", "3"].contains(&&beat[1..]),
                "{beat}/{sector}"
            );
            if hood != "FK ERROR" {
                assert_eq!(generate::precinct_of_neighborhood(hood), Some(pc), "{hood} in {precinct}");
            }
        } else {
            assert!(["UNKNOWN", "OOJ", "-"].contains(&precinct), "{precinct}");
        }
    }
    assert!(with_census > 1000 && with_census < rows.len() / 2, "census_block_2020 on some rows: {with_census}");
}

#[test]
fn generated_mix_lags_seasons_and_placeholders_are_realistic() {
    let rows = generate::rows(&spec(8, "2021-01", "2024-12", 60_000, Schema::Nibrs));
    let n = rows.len() as f64;
    let share = |cat: &str| rows.iter().filter(|r| s(r, "offense_category") == Some(cat)).count() as f64 / n;
    let (property, violent) = (share("PROPERTY CRIME"), share("VIOLENT CRIME"));
    assert!((0.55..0.65).contains(&property), "property {property}");
    assert!((0.14..0.21).contains(&violent), "violent {violent}");

    let mut per_report: HashMap<&str, Vec<&Row>> = HashMap::new();
    for r in &rows {
        per_report.entry(s(r, "report_number").expect("rn")).or_default().push(r);
    }
    let multi = per_report.values().filter(|v| v.len() > 1).count() as f64 / per_report.len() as f64;
    assert!((0.07..0.14).contains(&multi), "multi-offense reports {multi}");
    for offenses in per_report.values().filter(|v| v.len() > 1) {
        let ids: HashSet<&str> = offenses.iter().map(|r| s(r, "offense_id").expect("id")).collect();
        assert_eq!(ids.len(), offenses.len(), "different offense ids in one report");
        assert!(offenses.iter().all(|r| s(r, "report_date_time") == s(offenses[0], "report_date_time")));
    }
    let ids: HashSet<&str> = rows.iter().map(|r| s(r, "offense_id").expect("id")).collect();
    assert_eq!(ids.len(), rows.len(), "offense_id unique in one download");

    // Reporting lags: most within days, a tail of reports in later months, some more than a year late.
    let late_month = rows
        .iter()
        .filter(|r| s(r, "offense_date").expect("o")[..7] != s(r, "report_date_time").expect("r")[..7])
        .count();
    let year_late = rows
        .iter()
        .filter(|r| {
            s(r, "offense_date").expect("o")[..4].parse::<i32>().expect("y")
                < s(r, "report_date_time").expect("r")[..4].parse::<i32>().expect("y") - 1
        })
        .count();
    assert!((0.08..0.35).contains(&(late_month as f64 / n)), "late month share {}", late_month as f64 / n);
    assert!(year_late > 100, "some reports more than a year late: {year_late}");

    // Summer months are busier than winter months.
    let by_month = expected_by_month(&rows, "report_date_time");
    let total_for = |mm: &str| by_month.iter().filter(|(m, _)| m.ends_with(mm)).map(|(_, (c, _))| *c).sum::<u64>();
    assert!(total_for("-07") + total_for("-08") > total_for("-01") + total_for("-02") + 800);

    // Placeholders exist, at low rates.
    let count = |f: &dyn Fn(&Row) -> bool| rows.iter().filter(|r| f(r)).count();
    let redacted = count(&|r| s(r, "block_address") == Some("REDACTED"));
    let bad_coords = count(&|r| matches!(s(r, "latitude"), Some("-1.0" | "0")));
    let unknown = count(&|r| s(r, "neighborhood") == Some("UNKNOWN") && s(r, "sector") == Some("99"));
    let dash = count(&|r| s(r, "precinct") == Some("-"));
    let year1900 = count(&|r| s(r, "offense_date").is_some_and(|t| t.starts_with("1900-01-01")));
    let placeholder_times =
        count(&|r| s(r, "offense_date").is_some_and(|t| t.ends_with("T00:01:00.000") || t.ends_with("T12:01:00.000")));
    let spellings =
        count(&|r| matches!(s(r, "neighborhood"), Some("MADRONA/LESCHI" | "CHINATOWN/INTERNATIONAL DISTRICT")));
    for (what, c, max) in [
        ("redacted", redacted, 0.04),
        ("bad coords", bad_coords, 0.03),
        ("unknown", unknown, 0.02),
        ("dash", dash, 0.01),
        ("1900", year1900, 0.005),
        ("00:01/12:01", placeholder_times, 0.05),
        ("data spellings", spellings, 0.03),
    ] {
        assert!(c > 0 && (c as f64) < max * n, "{what}: {c}");
    }
    // Thinner coverage before 2016.
    let counts = generate::month_counts(&[month("2010-06"), month("2023-06")], 10_000);
    assert!(counts[0] * 3 / 2 < counts[1], "{counts:?}");
}

#[test]
fn generated_old_schema_rows_use_the_17_old_names_and_old_values() {
    let rows = generate::rows(&spec(9, "2018-01", "2018-06", 3000, Schema::Old));
    let mut with_end = 0;
    for r in &rows {
        assert!(r.values().all(Value::is_string));
        for k in r.keys() {
            assert!(OLD_FIELDS.contains(&k.as_str()), "unexpected field {k}");
        }
        for f in [
            "report_number",
            "offense_id",
            "offense_start_datetime",
            "report_datetime",
            "offense_code",
            "precinct",
            "mcpp",
        ] {
            assert!(r.contains_key(f), "{f} missing");
        }
        assert!(["N", "E", "S", "W", "SW", "UNKNOWN"].contains(&s(r, "precinct").expect("p")), "{r:?}");
        if let Some(end) = s(r, "offense_end_datetime") {
            with_end += 1;
            assert!(end >= s(r, "offense_start_datetime").expect("start"));
        }
        let lat = s(r, "latitude").expect("lat");
        assert!(lat == "0.000000000" || lat.split_once('.').is_some_and(|(_, f)| f.len() == 9), "{lat}");
    }
    assert!(with_end > rows.len() / 2 && with_end < rows.len());
    assert!(rows.iter().any(|r| !r.contains_key("_100_block_address")));
}
