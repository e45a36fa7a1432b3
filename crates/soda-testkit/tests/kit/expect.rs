//! Expectations computed here from the rows themselves, and the queries that ask the server for them.

use std::collections::BTreeMap;

use serde_json::Value;
use soda_testkit::generate::{GenSpec, Schema};
use soda_testkit::{Month, Row};

use crate::client::resource;

pub fn month(m: &str) -> Month {
    Month::parse(m).expect("month")
}

pub fn spec(seed: u64, first: &str, last: &str, rows: usize, schema: Schema) -> GenSpec {
    GenSpec { seed, first: month(first), last: month(last), rows, schema }
}

pub fn s<'a>(row: &'a Row, field: &str) -> Option<&'a str> {
    row.get(field).and_then(Value::as_str)
}

/// month (YYYY-MM) → (count, sum of offense_id), from the rows themselves.
pub fn expected_by_month(rows: &[Row], report_field: &str) -> BTreeMap<String, (u64, u128)> {
    let mut out = BTreeMap::new();
    for r in rows {
        let t = s(r, report_field).expect("report time");
        let e = out.entry(t[..7].to_string()).or_insert((0u64, 0u128));
        e.0 += 1;
        e.1 += s(r, "offense_id").expect("offense_id").parse::<u128>().expect("numeric offense_id");
    }
    out
}

pub fn fingerprint_query(field: &str, from: &str, to: &str) -> String {
    let select =
        format!("date_trunc_ym({field}) AS month, count(*) AS n, max(:updated_at) AS u, sum(offense_id::number) AS s");
    let where_ = format!("{field} >= '{from}' AND {field} < '{to}'");
    resource(&[
        ("$select", &select),
        ("$where", &where_),
        ("$group", "month"),
        ("$order", "month"),
        ("$limit", "50000"),
    ])
}

pub fn strip_system(mut r: Row) -> Row {
    r.retain(|k, _| !k.starts_with(':'));
    r
}

pub fn canonical(rows: &[Row]) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(|r| serde_json::to_string(r).expect("json")).collect();
    v.sort();
    v
}
