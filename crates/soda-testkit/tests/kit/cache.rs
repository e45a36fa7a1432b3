//! The response cache: a cached answer is the fresh answer byte for byte, and every change to what the server
//! serves (a revision, a rename, a refusal, an app token) empties it; faults still fire through it.

use soda_testkit::generate::{self, Schema};
use soda_testkit::{Fault, FaultKind, RequestKind, Row, SodaServer};

use crate::client::{get, get_with, resource, Reply};
use crate::expect::{fingerprint_query, s, spec};
use crate::DATASET;

fn rows() -> Vec<Row> {
    generate::rows(&spec(51, "2024-01", "2024-03", 400, Schema::Nibrs))
}

/// One month's page in `:id` order, as crimewatch asks for it.
fn page(month: &str, next: &str, offset: u32) -> String {
    let where_ = format!("report_date_time >= '{month}-01T00:00:00' AND report_date_time < '{next}-01T00:00:00'");
    let offset = offset.to_string();
    resource(&[("$select", ":*,*"), ("$where", &where_), ("$order", ":id"), ("$limit", "100"), ("$offset", &offset)])
}

/// Status, headers and body: everything a client can see of an answer.
fn seen(r: &Reply) -> (u16, Vec<(String, String)>, Vec<u8>) {
    (r.status, r.headers.clone(), r.body.clone())
}

#[test]
fn cached_answers_equal_fresh_answers_byte_for_byte() {
    let fresh = SodaServer::start(DATASET, rows());
    let cached = SodaServer::start(DATASET, rows()).with_response_cache();
    let targets = [
        page("2024-02", "2024-03", 0),
        page("2024-02", "2024-03", 100),
        fingerprint_query("report_date_time", "2024-01-01", "2024-04-01"),
        resource(&[("$limit", "1")]),
        resource(&[("$select", "no_such_column")]),
        format!("/api/views/{DATASET}.json"),
    ];
    for target in &targets {
        let want = seen(&get(&fresh, target));
        assert_eq!(seen(&get(&cached, target)), want, "first answer (computed): {target}");
        assert_eq!(seen(&get(&cached, target)), want, "second answer (from the cache): {target}");
    }
    assert_eq!(cached.response_cache_hits(), targets.len() as u64, "every second request was a hit");
    assert_eq!(fresh.response_cache_hits(), 0, "the cache is off unless asked for");
    assert_eq!(cached.request_count(), 2 * targets.len(), "hits are logged like every other request");
    assert_eq!(cached.bytes_sent(), 2 * fresh.bytes_sent(), "and count their bytes");
}

#[test]
fn every_revision_empties_the_response_cache() {
    let mut data = rows();
    let server = SodaServer::start(DATASET, data.clone()).with_response_cache();
    let fp = fingerprint_query("report_date_time", "2024-01-01", "2024-04-01");
    let target = page("2024-01", "2024-02", 0);
    let first = get(&server, &target);
    let first_fp = get(&server, &fp);
    assert_eq!(seen(&get(&server, &target)), seen(&first));
    assert_eq!(server.response_cache_hits(), 1);

    // A revision: one January row reclassified gets a new :id and :updated_at, in the page and the fingerprint.
    let i = data.iter().position(|r| s(r, "report_date_time").is_some_and(|t| t.starts_with("2024-01"))).expect("Jan");
    data[i].insert("nibrs_offense_code".into(), "999".into());
    server.set_rows(data);
    let revised = get(&server, &target);
    assert_ne!(revised.body, first.body, "a revision is served at once");
    assert!(revised.rows().iter().any(|r| s(r, "nibrs_offense_code") == Some("999")));
    assert_ne!(get(&server, &fp).body, first_fp.body, "so is its fingerprint");
    assert_eq!(server.response_cache_hits(), 1, "nothing from before the revision was reused");

    // touch_all moves every :updated_at.
    assert_eq!(seen(&get(&server, &target)), seen(&revised));
    server.touch_all();
    let updated_at = |r: &Reply| -> Vec<String> {
        r.rows().iter().map(|row| s(row, ":updated_at").expect(":updated_at").to_string()).collect()
    };
    let (before, after) = (updated_at(&revised), updated_at(&get(&server, &target)));
    assert_eq!(before.len(), after.len());
    assert!(!after.is_empty());
    assert!(after.iter().min() > before.iter().max(), "every :updated_at moved: {before:?} → {after:?}");

    // A rename: a query naming the old column is refused even though it was answered before.
    let narrow = resource(&[("$select", "offense_id"), ("$limit", "5")]);
    assert_eq!(get(&server, &narrow).status, 200);
    server.rename_column("offense_id", "offense_identifier");
    assert_eq!(get(&server, &narrow).status, 400);
}

#[test]
fn setting_changes_empty_the_response_cache_and_faults_still_fire() {
    let server = SodaServer::start(DATASET, rows()).with_response_cache();
    let fp = fingerprint_query("report_date_time", "2024-01-01", "2024-04-01");
    let target = page("2024-03", "2024-04", 0);
    let ok = get(&server, &target);
    assert_eq!((ok.status, get(&server, &fp).status), (200, 200));

    server.refuse_updated_at_aggregates(true);
    assert_eq!(get(&server, &fp).status, 400, "a refusal turned on is not hidden by a cached 200");
    server.refuse_updated_at_aggregates(false);
    server.require_app_token(Some("secret"));
    assert_eq!(get(&server, &target).status, 403, "nor is a required app token");
    assert_eq!(seen(&get_with(&server, &target, &[("X-App-Token", "secret")])), seen(&ok));
    server.require_app_token(None);

    assert_eq!(seen(&get(&server, &target)), seen(&ok));
    let hits = server.response_cache_hits();
    server.push_fault(Fault { when: RequestKind::Page, times: 1, kind: FaultKind::ServerError });
    assert_eq!(get(&server, &target).status, 500, "a fault fires for a request the cache could answer");
    assert_eq!(seen(&get(&server, &target)), seen(&ok), "and is not stored");
    assert_eq!(server.response_cache_hits(), hits + 1);
}
