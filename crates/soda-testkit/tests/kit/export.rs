//! CSV exports in both generations of SPD's portal.

use soda_testkit::export::{write_csv, ExportStyle};
use soda_testkit::generate::{self, Schema};

use crate::expect::{s, spec};

#[test]
fn exports_write_both_header_generations_and_date_styles() {
    let rows = generate::rows(&spec(10, "2025-12", "2025-12", 20, Schema::Nibrs));
    let new = write_csv(&rows, ExportStyle::New);
    let mut lines = new.lines();
    let header = lines.next().expect("header");
    assert!(header.starts_with(r#""Report Number","Report DateTime","Offense ID","Offense Date","#), "{header}");
    assert!(header.contains(r#""NIBRS_offense_code""#));
    let first = lines.next().expect("row");
    assert!(first.starts_with('"') && first.ends_with('"'));
    let mut reader = csv::Reader::from_reader(new.as_bytes());
    let rec = reader.records().next().expect("record").expect("csv");
    assert_eq!(&rec[0], s(&rows[0], "report_number").expect("rn"));
    let when = chrono::NaiveDateTime::parse_from_str(&rec[1], "%Y %b %d %I:%M:%S %p").expect("new export date");
    assert_eq!(when.format("%Y-%m-%dT%H:%M:%S%.3f").to_string(), s(&rows[0], "report_date_time").expect("t"));

    let old_rows = generate::rows(&spec(10, "2020-12", "2020-12", 20, Schema::Old));
    let old = write_csv(&old_rows, ExportStyle::Old);
    let mut reader = csv::Reader::from_reader(old.as_bytes());
    let headers: Vec<String> = reader.headers().expect("headers").iter().map(str::to_string).collect();
    assert_eq!(
        headers[..5],
        ["Report Number", "Offense ID", "Offense Start DateTime", "Offense End DateTime", "Report DateTime"]
    );
    assert_eq!(headers.len(), 17);
    let rec = reader.records().next().expect("record").expect("csv");
    let when = chrono::NaiveDateTime::parse_from_str(&rec[4], "%m/%d/%Y %I:%M:%S %p").expect("old export date");
    assert_eq!(when.format("%Y-%m-%dT%H:%M:%S%.3f").to_string(), s(&old_rows[0], "report_datetime").expect("t"));
    assert_eq!(&rec[13], s(&old_rows[0], "mcpp").expect("mcpp"));
}
