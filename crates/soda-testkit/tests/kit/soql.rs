//! SoQL answers: aggregates, paging, `$where`, `$group`/`$order`/`$limit`, Socrata's error shapes and headers,
//! each checked against counts computed here from the rows.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use soda_testkit::generate::{self, Schema};
use soda_testkit::{RequestKind, Row, SodaServer};

use crate::client::{get, resource};
use crate::expect::{canonical, expected_by_month, fingerprint_query, s, spec, strip_system};
use crate::DATASET;

#[test]
fn aggregate_fingerprint_equals_counts_and_sums_from_the_rows() {
    let rows = generate::rows(&spec(7, "2023-10", "2024-05", 4000, Schema::Nibrs));
    let expected = expected_by_month(&rows, "report_date_time");
    let server = SodaServer::start(DATASET, rows);
    let reply = get(&server, &fingerprint_query("report_date_time", "2023-11-01T00:00:00", "2024-05-01T00:00:00"));
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let got = reply.rows();
    let months: Vec<&str> = got.iter().map(|r| s(r, "month").expect("month")).collect();
    let want: Vec<String> = expected
        .keys()
        .filter(|m| m.as_str() >= "2023-11" && m.as_str() < "2024-05")
        .map(|m| format!("{m}-01T00:00:00.000"))
        .collect();
    assert_eq!(months, want, "one row per month in range, ordered");
    for r in &got {
        let m = &s(r, "month").expect("month")[..7];
        let (n, sum) = expected[m];
        assert_eq!(s(r, "n"), Some(n.to_string().as_str()), "count for {m}");
        assert_eq!(s(r, "s"), Some(sum.to_string().as_str()), "sum of offense_id for {m}");
        assert_eq!(s(r, "u"), Some("2026-11-01T10:00:00.123Z"), "max(:updated_at) for {m}");
    }
    assert_eq!(reply.header("X-SODA2-Fields"), Some(r#"["month","n","u","s"]"#));
    assert_eq!(reply.header("X-SODA2-Types"), Some(r#"["floating_timestamp","number","fixed_timestamp","number"]"#));
    assert_eq!(server.requests().last().map(|r| r.kind), Some(RequestKind::Aggregate));
}

#[test]
fn old_schema_is_aggregated_on_report_datetime_and_rejects_new_names() {
    let rows = generate::rows(&spec(11, "2019-01", "2019-06", 1500, Schema::Old));
    let expected = expected_by_month(&rows, "report_datetime");
    let server = SodaServer::start(DATASET, rows);
    let reply = get(&server, &fingerprint_query("report_datetime", "2019-01-01", "2019-07-01"));
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let got: BTreeMap<String, u64> = reply
        .rows()
        .iter()
        .map(|r| (s(r, "month").expect("month")[..7].to_string(), s(r, "n").expect("n").parse().expect("count")))
        .collect();
    let want: BTreeMap<String, u64> = expected.iter().map(|(m, (n, _))| (m.clone(), *n)).collect();
    assert_eq!(got, want);

    let bad = get(&server, &fingerprint_query("report_date_time", "2019-01-01", "2019-07-01"));
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["errorCode"], "query.soql.no-such-column");
}

#[test]
fn paging_by_id_returns_every_row_exactly_once() {
    let rows = generate::rows(&spec(3, "2024-01", "2024-03", 2345, Schema::Nibrs));
    let server = SodaServer::start(DATASET, rows.clone());
    let mut fetched = Vec::new();
    let mut offset = 0;
    loop {
        let off = offset.to_string();
        let page =
            get(&server, &resource(&[("$select", ":*,*"), ("$order", ":id"), ("$limit", "700"), ("$offset", &off)]));
        assert_eq!(page.status, 200);
        let got = page.rows();
        let n = got.len();
        fetched.extend(got);
        if n < 700 {
            break;
        }
        offset += 700;
    }
    assert_eq!(fetched.len(), rows.len());
    let ids: Vec<&str> = fetched.iter().map(|r| s(r, ":id").expect(":id")).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "pages come in strictly ascending :id order");
    assert!(ids.iter().all(|id| id.starts_with("row-") && id.len() == 18), "ids look like Socrata's: {}", ids[0]);
    assert!(fetched.iter().all(|r| s(r, ":updated_at").is_some() && s(r, ":created_at").is_some()));
    let data: Vec<Row> = fetched.into_iter().map(strip_system).collect();
    assert_eq!(canonical(&data), canonical(&rows), "the pages hold exactly the source rows");
    assert_eq!(server.requests().iter().filter(|r| r.kind == RequestKind::Page).count(), 4);
}

#[test]
fn where_month_ranges_and_predicates_match_a_filter_in_rust() {
    let rows = generate::rows(&spec(5, "2024-01", "2024-04", 3000, Schema::Nibrs));
    let server = SodaServer::start(DATASET, rows.clone());
    let in_feb = |r: &Row| s(r, "report_date_time").is_some_and(|t| t.starts_with("2024-02"));
    let want = rows.iter().filter(|r| in_feb(r)).count();
    assert!(want > 500);
    for literal in [
        ("2024-02-01T00:00:00", "2024-03-01T00:00:00"),
        ("2024-02-01", "2024-03-01"),
        ("2024-02-01T00:00:00.000", "2024-03-01T00:00:00.000"),
    ] {
        let w = format!("report_date_time >= '{}' AND report_date_time < '{}'", literal.0, literal.1);
        let reply = get(&server, &resource(&[("$where", &w), ("$limit", "50000")]));
        assert_eq!(reply.status, 200);
        let got = reply.rows();
        assert_eq!(got.len(), want, "{w}");
        assert!(got.iter().all(in_feb));
    }
    let north = "report_date_time >= '2024-02-01' AND report_date_time < '2024-03-01' AND precinct = 'North'";
    let want_north = rows.iter().filter(|r| in_feb(r) && s(r, "precinct") == Some("North")).count();
    assert!(want_north > 0 && want_north < want);
    assert_eq!(get(&server, &resource(&[("$where", north), ("$limit", "50000")])).rows().len(), want_north);
    let between = "report_date_time between '2024-02-01T00:00:00' and '2024-02-29T23:59:59'";
    assert_eq!(get(&server, &resource(&[("$where", between), ("$limit", "50000")])).rows().len(), want);

    let pred = "offense_category in ('VIOLENT CRIME', 'PROPERTY CRIME') AND NOT (precinct = 'North' OR shooting_type_group IS NULL)";
    let want_pred = rows
        .iter()
        .filter(|r| {
            matches!(s(r, "offense_category"), Some("VIOLENT CRIME" | "PROPERTY CRIME"))
                && s(r, "precinct") != Some("North")
                && s(r, "shooting_type_group").is_some()
        })
        .count();
    let reply = get(&server, &resource(&[("$where", pred), ("$limit", "50000")]));
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    assert_eq!(reply.rows().len(), want_pred);

    let quoted = "block_address = 'it''s nowhere'";
    assert_eq!(get(&server, &resource(&[("$where", quoted)])).rows().len(), 0);
}

#[test]
fn group_order_and_limit_behave_like_soql() {
    let rows = generate::rows(&spec(9, "2024-01", "2024-02", 2000, Schema::Nibrs));
    let mut want: HashMap<String, u64> = HashMap::new();
    for r in &rows {
        *want.entry(s(r, "offense_category").expect("category").to_string()).or_default() += 1;
    }
    let server = SodaServer::start(DATASET, rows.clone());
    let reply = get(
        &server,
        &resource(&[
            ("$select", "offense_category, count(*)"),
            ("$group", "offense_category"),
            ("$order", "count(*) DESC"),
        ]),
    );
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    let got = reply.rows();
    let counts: Vec<u64> = got.iter().map(|r| s(r, "count").expect("count").parse().expect("n")).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "descending: {counts:?}");
    for r in &got {
        assert_eq!(
            want[s(r, "offense_category").expect("cat")],
            s(r, "count").expect("count").parse::<u64>().expect("n")
        );
    }
    assert_eq!(got.len(), want.len());

    // Default limit is 1000, like Socrata.
    assert_eq!(get(&server, &resource(&[])).rows().len(), 1000);
    // Ordering by a text column, descending, then by :id.
    let ordered = get(&server, &resource(&[("$order", "report_number DESC, :id"), ("$limit", "50")])).rows();
    let mut all: Vec<&str> = rows.iter().map(|r| s(r, "report_number").expect("rn")).collect();
    all.sort_unstable_by(|a, b| b.cmp(a));
    let got: Vec<&str> = ordered.iter().map(|r| s(r, "report_number").expect("rn")).collect();
    assert_eq!(got, all[..50].to_vec());
    // count(*) without $group: one row, even with no match.
    let none = get(&server, &resource(&[("$select", "count(*) AS n"), ("$where", "report_number = 'nope'")])).rows();
    assert_eq!(none.len(), 1);
    assert_eq!(s(&none[0], "n"), Some("0"));
}

#[test]
fn errors_come_in_socratas_two_shapes() {
    let server = SodaServer::start(DATASET, generate::rows(&spec(1, "2024-01", "2024-01", 50, Schema::Nibrs)));
    let r = get(&server, &resource(&[("$where", "foo = 'x'")]));
    assert_eq!(r.status, 400);
    let j = r.json();
    assert_eq!(j["errorCode"], "query.soql.no-such-column");
    assert_eq!(j["message"], "Query coordinator error: query.soql.no-such-column; No such column: foo");
    assert!(j["data"].is_object());

    let r = get(&server, &resource(&[("$select", "sum(offense_id)")]));
    assert_eq!((r.status, r.json()["errorCode"].clone()), (400, Value::from("query.soql.type-mismatch")));
    let r = get(&server, &resource(&[("$where", "report_date_time > 'not a date'")]));
    assert_eq!((r.status, r.json()["errorCode"].clone()), (400, Value::from("query.soql.type-mismatch")));
    let r = get(&server, &resource(&[("$where", "report_number = ")]));
    assert_eq!((r.status, r.json()["errorCode"].clone()), (400, Value::from("query.soql.invalid-query")));
    let r = get(&server, &resource(&[("$limit", "50001")]));
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().expect("message").contains("50000"));

    let r = get(&server, "/resource/abcd-1234.json?$limit=1");
    assert_eq!(r.status, 404);
    let j = r.json();
    assert_eq!((j["code"].as_str(), j["error"].as_bool()), (Some("dataset.missing"), Some(true)));
    assert!(j["message"].is_string());
}

#[test]
fn responses_carry_socratas_headers_body_layout_and_metadata() {
    let rows = generate::rows(&spec(2, "2024-01", "2024-01", 30, Schema::Nibrs));
    let server = SodaServer::start(DATASET, rows);
    let r = get(&server, &resource(&[("$limit", "1"), ("$select", ":*,*")]));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("application/json;charset=utf-8"));
    assert!(r.header("Last-Modified").is_some_and(|v| v.ends_with("GMT")));
    let fields: Vec<String> = serde_json::from_str(r.header("X-SODA2-Fields").expect("fields")).expect("json list");
    let types: Vec<String> = serde_json::from_str(r.header("X-SODA2-Types").expect("types")).expect("json list");
    assert_eq!(&fields[..4], [":id", ":created_at", ":updated_at", "report_number"]);
    assert_eq!(fields.len(), types.len());
    let ty = |f: &str| types[fields.iter().position(|x| x == f).expect(f)].as_str();
    assert_eq!(ty("report_date_time"), "floating_timestamp");
    assert_eq!(ty("offense_date"), "floating_timestamp");
    assert_eq!(ty("latitude"), "text");
    assert_eq!(server.requests()[0].kind, RequestKind::Probe);

    let page = get(&server, &resource(&[("$limit", "5")]));
    let text = String::from_utf8(page.body.clone()).expect("utf8");
    assert!(text.starts_with("[{\"report_number\":") && text.ends_with("}]\n"), "{text}");
    assert_eq!(text.matches("}\n,{").count(), 4, "rows separated by newline-comma");
    assert!(page.rows().iter().all(|r| r.keys().all(|k| !k.starts_with(':'))), "no system fields unless selected");

    let meta = get(&server, &format!("/api/views/{DATASET}.json"));
    assert_eq!(meta.status, 200);
    let j = meta.json();
    assert_eq!(j["id"], DATASET);
    assert_eq!(j["rowsUpdatedAt"], 1_793_527_200);
    let cols = j["columns"].as_array().expect("columns");
    assert!(cols.iter().any(|c| c["fieldName"] == "report_date_time" && c["dataTypeName"] == "floating_timestamp"));
    assert_eq!(server.requests().last().map(|r| r.kind), Some(RequestKind::Metadata));
}
