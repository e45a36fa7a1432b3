//! App tokens, redirects, the request log and keep-alive.

use std::io::Read;

use soda_testkit::generate::{self, Schema};
use soda_testkit::{RequestKind, SodaServer};

use crate::client::{connect, get, get_with, read_reply, resource, send};
use crate::expect::{fingerprint_query, spec};
use crate::DATASET;

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
