//! The test kit's own tests: the SODA-compatible server answers like Socrata (checked against counts computed
//! here from the rows), faults are observable on the wire with a raw client, revisions keep or move system
//! fields as documented, and the generator is deterministic and SPD-shaped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use soda_testkit::export::{write_csv, ExportStyle};
use soda_testkit::generate::{self, GenSpec, Schema};
use soda_testkit::{samples, Fault, FaultKind, Month, RequestKind, Row, SodaServer};

const DATASET: &str = "tazs-3rd5";

// ---------- a raw HTTP/1.1 client (so faults are seen exactly as sent) ----------

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body[..self.body.len().min(300)]))
        })
    }

    fn rows(&self) -> Vec<Row> {
        match self.json() {
            Value::Array(items) => items.into_iter().map(|v| v.as_object().cloned().expect("row object")).collect(),
            other => panic!("expected an array, got {other}"),
        }
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn resource(params: &[(&str, &str)]) -> String {
    let q: Vec<String> = params.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    format!("/resource/{DATASET}.json?{}", q.join("&"))
}

fn addr(server: &SodaServer) -> String {
    server.url().trim_start_matches("http://").to_string()
}

fn send(stream: &mut TcpStream, target: &str, headers: &[(&str, &str)], close: bool) {
    let mut req = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if close {
        req.push_str("Connection: close\r\n");
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).expect("send request");
}

/// Reads one response; `Err` with what was received when the connection ends early.
fn read_reply(stream: &mut TcpStream) -> Result<Reply, (std::io::ErrorKind, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err((std::io::ErrorKind::UnexpectedEof, buf)),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err((e.kind(), buf)),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 =
        lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).expect("status");
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .expect("content-length");
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        match stream.read(&mut chunk) {
            Ok(0) => return Err((std::io::ErrorKind::UnexpectedEof, body)),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) => return Err((e.kind(), body)),
        }
    }
    body.truncate(len);
    Ok(Reply { status, headers, body })
}

fn connect(server: &SodaServer) -> TcpStream {
    let s = TcpStream::connect(addr(server)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    s
}

fn get_with(server: &SodaServer, target: &str, headers: &[(&str, &str)]) -> Reply {
    let mut s = connect(server);
    send(&mut s, target, headers, true);
    read_reply(&mut s).unwrap_or_else(|(k, got)| panic!("no full reply for {target}: {k:?} after {} bytes", got.len()))
}

fn get(server: &SodaServer, target: &str) -> Reply {
    get_with(server, target, &[])
}

// ---------- helpers computing expectations from the rows ----------

fn month(m: &str) -> Month {
    Month::parse(m).expect("month")
}

fn spec(seed: u64, first: &str, last: &str, rows: usize, schema: Schema) -> GenSpec {
    GenSpec { seed, first: month(first), last: month(last), rows, schema }
}

fn s<'a>(row: &'a Row, field: &str) -> Option<&'a str> {
    row.get(field).and_then(Value::as_str)
}

/// month (YYYY-MM) → (count, sum of offense_id), from the rows themselves.
fn expected_by_month(rows: &[Row], report_field: &str) -> BTreeMap<String, (u64, u128)> {
    let mut out = BTreeMap::new();
    for r in rows {
        let t = s(r, report_field).expect("report time");
        let e = out.entry(t[..7].to_string()).or_insert((0u64, 0u128));
        e.0 += 1;
        e.1 += s(r, "offense_id").expect("offense_id").parse::<u128>().expect("numeric offense_id");
    }
    out
}

fn fingerprint_query(field: &str, from: &str, to: &str) -> String {
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

fn strip_system(mut r: Row) -> Row {
    r.retain(|k, _| !k.starts_with(':'));
    r
}

fn canonical(rows: &[Row]) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(|r| serde_json::to_string(r).expect("json")).collect();
    v.sort();
    v
}

// ---------- SoQL answers ----------

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

// ---------- revisions ----------

fn system_by_content(server: &SodaServer) -> HashMap<String, (String, String)> {
    server
        .rows_with_system_fields()
        .into_iter()
        .map(|r| {
            let id = s(&r, ":id").expect("id").to_string();
            let up = s(&r, ":updated_at").expect("updated").to_string();
            (serde_json::to_string(&strip_system(r)).expect("json"), (id, up))
        })
        .collect()
}

#[test]
fn set_rows_keeps_unchanged_rows_and_moves_changed_ones() {
    let mut rows = generate::rows(&spec(21, "2024-01", "2024-02", 300, Schema::Nibrs));
    let server = SodaServer::start(DATASET, rows.clone());
    let before = system_by_content(&server);
    assert_eq!(before.len(), 300);

    // A revision: one reclassified, one deleted, one late report added.
    rows[10].insert("nibrs_offense_code".into(), "240".into());
    let changed = serde_json::to_string(&rows[10]).expect("json");
    let deleted = serde_json::to_string(&rows.remove(20)).expect("json");
    let mut late = rows[0].clone();
    late.insert("offense_id".into(), "99999999999".into());
    let added = serde_json::to_string(&late).expect("json");
    rows.push(late);
    server.set_rows(rows.clone());

    let after = system_by_content(&server);
    assert_eq!(after.len(), 300);
    assert!(!after.contains_key(&deleted));
    let old_ids: HashSet<&String> = before.values().map(|(id, _)| id).collect();
    for (content, (id, up)) in &after {
        if content == &changed || content == &added {
            assert!(!old_ids.contains(id), "a changed or new row gets a new :id");
            assert!(up.as_str() > "2026-11-01T10:00:00.123Z", "and a later :updated_at: {up}");
        } else {
            assert_eq!(Some(&(id.clone(), up.clone())), before.get(content), "unchanged rows keep :id and :updated_at");
        }
    }
    // The fingerprint of the changed month moves, the other does not.
    let fp = |server: &SodaServer| -> BTreeMap<String, String> {
        get(server, &fingerprint_query("report_date_time", "2024-01-01", "2024-03-01"))
            .rows()
            .iter()
            .map(|r| (s(r, "month").expect("m").to_string(), s(r, "u").expect("u").to_string()))
            .collect()
    };
    let months = fp(&server);
    let changed_month = format!("{}-01T00:00:00.000", &s(&rows[10], "report_date_time").expect("t")[..7]);
    assert!(months[&changed_month].as_str() > "2026-11-01T10:00:00.123Z");

    // Publishing the same rows again changes nothing.
    let snapshot = system_by_content(&server);
    server.set_rows(rows);
    assert_eq!(system_by_content(&server), snapshot);
}

#[test]
fn touch_all_moves_every_updated_at_but_keeps_ids_and_content() {
    let rows = generate::rows(&spec(22, "2024-01", "2024-01", 100, Schema::Nibrs));
    let server = SodaServer::start(DATASET, rows);
    let before = system_by_content(&server);
    server.touch_all();
    let after = system_by_content(&server);
    assert_eq!(before.len(), after.len());
    for (content, (id, up)) in &after {
        let (old_id, old_up) = &before[content];
        assert_eq!(id, old_id);
        assert!(up > old_up, "{up} should be after {old_up}");
    }
    let meta = get(&server, &format!("/api/views/{DATASET}.json")).json();
    assert!(meta["rowsUpdatedAt"].as_i64().expect("epoch") > 1_793_527_200);
}

#[test]
fn renamed_column_is_unknown_under_its_old_name() {
    let rows = generate::rows(&spec(23, "2024-01", "2024-01", 40, Schema::Nibrs));
    let server = SodaServer::start(DATASET, rows.clone());
    server.rename_column("report_date_time", "report_datetime_new");
    let r = get(&server, &fingerprint_query("report_date_time", "2024-01-01", "2024-02-01"));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errorCode"], "query.soql.no-such-column");
    let ok = get(&server, &fingerprint_query("report_datetime_new", "2024-01-01", "2024-02-01"));
    assert_eq!(ok.status, 200);
    assert_eq!(s(&ok.rows()[0], "n"), Some("40"));
    // The rename also applies to later publications.
    server.set_rows(rows);
    assert_eq!(get(&server, &resource(&[("$select", "report_date_time")])).status, 400);
}

#[test]
fn refusing_updated_at_aggregates_answers_400_but_content_aggregates_work() {
    let server = SodaServer::start(DATASET, generate::rows(&spec(24, "2024-01", "2024-01", 40, Schema::Nibrs)));
    server.refuse_updated_at_aggregates(true);
    let r = get(&server, &fingerprint_query("report_date_time", "2024-01-01", "2024-02-01"));
    assert_eq!(r.status, 400);
    assert!(r.json()["errorCode"].as_str().expect("code").starts_with("query.soql."));
    let select = "date_trunc_ym(report_date_time) AS month, count(*) AS n, sum(offense_id::number) AS s";
    let ok = get(&server, &resource(&[("$select", select), ("$group", "month")]));
    assert_eq!(ok.status, 200);
    server.refuse_updated_at_aggregates(false);
    assert_eq!(get(&server, &fingerprint_query("report_date_time", "2024-01-01", "2024-02-01")).status, 200);
}

// ---------- access, redirects, the log ----------

#[test]
fn app_token_is_required_when_set_and_logged() {
    let server = SodaServer::start(DATASET, generate::rows(&spec(25, "2024-01", "2024-01", 10, Schema::Nibrs)));
    server.require_app_token(Some("tok123"));
    let denied = get(&server, &resource(&[("$limit", "1")]));
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json()["error"], true);
    assert_eq!(get_with(&server, &resource(&[("$limit", "1")]), &[("X-App-Token", "wrong")]).status, 403);
    let ok = get_with(&server, &resource(&[("$limit", "1")]), &[("X-App-Token", "tok123")]);
    assert_eq!(ok.status, 200);
    let log = server.requests();
    assert_eq!(log[0].app_token, None);
    assert_eq!(log[2].app_token.as_deref(), Some("tok123"));
    server.require_app_token(None);
    assert_eq!(get(&server, &resource(&[("$limit", "1")])).status, 200);
}

#[test]
fn redirector_answers_301_to_the_same_path_on_the_target() {
    let server = SodaServer::start(DATASET, generate::rows(&spec(26, "2024-01", "2024-01", 10, Schema::Nibrs)));
    let redirector = SodaServer::start_redirector(&format!("{}/", server.url()));
    let target = resource(&[("$limit", "1"), ("$select", ":*,*")]);
    let r = get(&redirector, &target);
    assert_eq!(r.status, 301);
    let location = r.header("Location").expect("Location").to_string();
    assert_eq!(location, format!("{}{target}", server.url()));
    let followed = get(&server, location.trim_start_matches(&server.url()));
    assert_eq!(followed.status, 200);
    assert_eq!(redirector.request_count(), 1);
}

#[test]
fn request_log_classifies_requests_and_counts_body_bytes() {
    let server = SodaServer::start(DATASET, generate::rows(&spec(27, "2024-01", "2024-02", 200, Schema::Nibrs)));
    let probe = get(&server, &resource(&[("$limit", "1"), ("$select", ":*,*")]));
    let agg = get(&server, &fingerprint_query("report_date_time", "2024-01-01", "2024-03-01"));
    let page =
        get(&server, &resource(&[("$select", ":*,*"), ("$order", ":id"), ("$limit", "50000"), ("$offset", "0")]));
    let meta = get(&server, &format!("/api/views/{DATASET}.json"));
    let other = get(&server, "/robots.txt");
    assert_eq!(other.status, 404);
    let log = server.requests();
    let kinds: Vec<RequestKind> = log.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [RequestKind::Probe, RequestKind::Aggregate, RequestKind::Page, RequestKind::Metadata, RequestKind::Other]
    );
    assert!(
        log[1].path_and_query.contains("$select=date_trunc_ym(report_date_time) AS month"),
        "{}",
        log[1].path_and_query
    );
    let sizes: Vec<u64> = [&probe, &agg, &page, &meta, &other].iter().map(|r| r.body.len() as u64).collect();
    assert_eq!(log.iter().map(|r| r.bytes).collect::<Vec<_>>(), sizes);
    assert_eq!(server.bytes_sent(), sizes.iter().sum::<u64>());
    assert_eq!(server.request_count(), 5);
    server.reset_log();
    assert_eq!((server.request_count(), server.bytes_sent()), (0, 0));
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection_until_close() {
    let server = SodaServer::start(DATASET, generate::rows(&spec(28, "2024-01", "2024-01", 20, Schema::Nibrs)));
    let mut conn = connect(&server);
    for _ in 0..3 {
        send(&mut conn, &resource(&[("$limit", "2")]), &[], false);
        let r = read_reply(&mut conn).unwrap_or_else(|(k, _)| panic!("keep-alive reply: {k:?}"));
        assert_eq!(r.status, 200);
        assert_eq!(r.rows().len(), 2);
    }
    send(&mut conn, &resource(&[("$limit", "1")]), &[], true);
    assert_eq!(read_reply(&mut conn).map(|r| r.status).ok(), Some(200));
    let mut rest = Vec::new();
    assert_eq!(conn.read_to_end(&mut rest).map(|_| rest.len()).ok(), Some(0), "server closes after Connection: close");
    assert_eq!(server.request_count(), 4);
}

// ---------- faults ----------

#[test]
fn fault_429_sends_retry_after_for_the_given_times_then_recovers() {
    let server = SodaServer::start(DATASET, generate::rows(&spec(30, "2024-01", "2024-01", 10, Schema::Nibrs)));
    server.push_fault(Fault {
        when: RequestKind::Any,
        times: 2,
        kind: FaultKind::TooManyRequests { retry_after_seconds: Some(0) },
    });
    server.push_fault(Fault {
        when: RequestKind::Any,
        times: 1,
        kind: FaultKind::TooManyRequests { retry_after_seconds: None },
    });
    let target = resource(&[("$limit", "1")]);
    for _ in 0..2 {
        let r = get(&server, &target);
        assert_eq!((r.status, r.header("Retry-After")), (429, Some("0")));
    }
    let r = get(&server, &target);
    assert_eq!((r.status, r.header("Retry-After")), (429, None));
    assert_eq!(get(&server, &target).status, 200);
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 429, 200]);
}

#[test]
fn fault_status_codes_fire_only_for_their_request_kind() {
    let server = SodaServer::start(DATASET, generate::rows(&spec(31, "2024-01", "2024-01", 10, Schema::Nibrs)));
    server.push_fault(Fault { when: RequestKind::Page, times: 1, kind: FaultKind::ServerError });
    server.push_fault(Fault { when: RequestKind::Page, times: 1, kind: FaultKind::Unavailable });
    server.push_fault(Fault { when: RequestKind::Aggregate, times: 1, kind: FaultKind::Accepted });
    let probe = resource(&[("$limit", "1")]);
    let page = resource(&[("$limit", "100"), ("$order", ":id")]);
    assert_eq!(get(&server, &probe).status, 200, "a Page fault does not hit the probe");
    assert_eq!(get(&server, &page).status, 500);
    assert_eq!(get(&server, &page).status, 503);
    assert_eq!(get(&server, &page).status, 200);
    assert_eq!(get(&server, &fingerprint_query("report_date_time", "2024-01-01", "2024-02-01")).status, 202);
    assert_eq!(get(&server, &fingerprint_query("report_date_time", "2024-01-01", "2024-02-01")).status, 200);
}

#[test]
fn fault_connection_reset_closes_without_a_response() {
    let server = SodaServer::start(DATASET, generate::rows(&spec(32, "2024-01", "2024-01", 10, Schema::Nibrs)));
    server.push_fault(Fault { when: RequestKind::Probe, times: 1, kind: FaultKind::ConnectionReset });
    let mut conn = connect(&server);
    send(&mut conn, &resource(&[("$limit", "1")]), &[], false);
    match read_reply(&mut conn) {
        Ok(r) => panic!("expected no response, got {}", r.status),
        Err((kind, got)) => {
            assert!(got.is_empty(), "no bytes at all");
            assert!(
                matches!(kind, std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof),
                "reset or EOF, got {kind:?}"
            );
        }
    }
    assert_eq!(server.requests()[0].status, 0);
    assert_eq!(get(&server, &resource(&[("$limit", "1")])).status, 200);
}

#[test]
fn fault_truncated_body_sends_less_than_content_length() {
    let server = SodaServer::start(DATASET, generate::rows(&spec(33, "2024-01", "2024-01", 200, Schema::Nibrs)));
    server.push_fault(Fault { when: RequestKind::Page, times: 1, kind: FaultKind::TruncatedBody });
    let target = resource(&[("$limit", "200"), ("$order", ":id")]);
    let mut conn = connect(&server);
    send(&mut conn, &target, &[], false);
    let err = read_reply(&mut conn).err().expect("the body must be cut short");
    let full = get(&server, &target);
    assert_eq!(full.status, 200);
    assert!(!err.1.is_empty() && err.1.len() < full.body.len(), "{} of {} bytes", err.1.len(), full.body.len());
    assert_eq!(full.body[..err.1.len()], err.1[..], "the part sent is the start of the real body");
    assert!(serde_json::from_slice::<Value>(&err.1).is_err());
}

#[test]
fn fault_stall_delays_the_answer() {
    let server = SodaServer::start(DATASET, generate::rows(&spec(34, "2024-01", "2024-01", 10, Schema::Nibrs)));
    server.push_fault(Fault { when: RequestKind::Any, times: 1, kind: FaultKind::Stall { seconds: 2 } });
    let mut conn = connect(&server);
    conn.set_read_timeout(Some(Duration::from_millis(700))).expect("timeout");
    send(&mut conn, &resource(&[("$limit", "1")]), &[], false);
    let started = Instant::now();
    let early = read_reply(&mut conn).err().expect("nothing within 0.7 s");
    assert!(matches!(early.0, std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut), "{:?}", early.0);
    conn.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let r = read_reply(&mut conn).unwrap_or_else(|(k, _)| panic!("late reply: {k:?}"));
    assert_eq!(r.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(1200));
}

// ---------- real samples ----------

#[test]
fn real_pulls_load_and_are_served_with_their_real_counts() {
    let pull1 = samples::pull1();
    let pull2 = samples::pull2();
    assert_eq!((pull1.len(), pull2.len()), (4078, 4098));
    assert!(pull1.iter().all(|r| r.values().all(Value::is_string)));
    let expected = expected_by_month(&pull2, "report_datetime");
    let server = SodaServer::start(DATASET, pull1);
    server.set_rows(pull2);
    let got = get(&server, &fingerprint_query("report_datetime", "2022-01-01", "2023-01-01")).rows();
    let got: BTreeMap<String, (u64, u128)> = got
        .iter()
        .map(|r| {
            (
                s(r, "month").expect("month")[..7].to_string(),
                (s(r, "n").expect("n").parse().expect("n"), s(r, "s").expect("s").parse().expect("s")),
            )
        })
        .collect();
    assert_eq!(got, expected);
}

// ---------- the generator ----------

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

// ---------- CSV exports ----------

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
