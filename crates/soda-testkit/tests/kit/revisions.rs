//! Revisions keep or move system fields as documented; the real sample pulls are a real revision.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use soda_testkit::generate::{self, Schema};
use soda_testkit::{samples, SodaServer};

use crate::client::{get, resource};
use crate::expect::{expected_by_month, fingerprint_query, s, spec, strip_system};
use crate::DATASET;

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

#[test]
fn refusing_offense_id_sums_answers_400_but_count_and_updated_at_aggregates_work() {
    let rows = generate::rows(&spec(29, "2024-01", "2024-01", 40, Schema::Nibrs));
    let server = SodaServer::start(DATASET, rows);
    server.refuse_offense_id_sums(true);
    let r = get(&server, &fingerprint_query("report_date_time", "2024-01-01", "2024-02-01"));
    assert_eq!(r.status, 400, "the full fingerprint sums offense_id");
    assert_eq!(r.json()["errorCode"], "query.soql.type-mismatch");
    let alone = resource(&[("$select", "sum(offense_id::number) AS s")]);
    assert_eq!(get(&server, &alone).status, 400, "a sum of offense_id alone is refused too");
    let select = "date_trunc_ym(report_date_time) AS month, count(*) AS n, max(:updated_at) AS u";
    let ok = get(&server, &resource(&[("$select", select), ("$group", "month")]));
    assert_eq!(ok.status, 200);
    assert_eq!((s(&ok.rows()[0], "n"), s(&ok.rows()[0], "u").is_some()), (Some("40"), true));
    let other_aggregate = resource(&[("$select", "max(offense_id) AS m, count(*) AS n")]);
    assert_eq!(get(&server, &other_aggregate).status, 200, "only sums of offense_id are refused");
    server.refuse_offense_id_sums(false);
    assert_eq!(get(&server, &fingerprint_query("report_date_time", "2024-01-01", "2024-02-01")).status, 200);
}

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
