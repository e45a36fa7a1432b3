//! Injected faults, observed on the wire with the raw client.

use std::time::{Duration, Instant};

use serde_json::Value;
use soda_testkit::generate::{self, Schema};
use soda_testkit::{Fault, FaultKind, RequestKind, SodaServer};

use crate::client::{connect, get, read_reply, resource, send};
use crate::expect::{fingerprint_query, spec};
use crate::DATASET;

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

#[test]
fn fault_bad_value_sends_raw_bytes_in_place_of_one_value_and_keeps_the_count() {
    let server = SodaServer::start(DATASET, generate::rows(&spec(35, "2024-01", "2024-01", 20, Schema::Nibrs)));
    let page = resource(&[("$limit", "100"), ("$order", ":id")]);
    let clean = get(&server, &page);
    let rows = clean.rows();
    let first = rows.iter().find_map(|r| r.get("beat")).and_then(Value::as_str).expect("a row with a beat").to_string();
    for raw in [&b"\"B\xff\""[..], &br#""B\ud800""#[..]] {
        server.push_fault(Fault {
            when: RequestKind::Page,
            times: 1,
            kind: FaultKind::BadValue { field: "beat".into(), raw: raw.to_vec() },
        });
        let probe = get(&server, &resource(&[("$limit", "1")]));
        assert!(serde_json::from_slice::<Value>(&probe.body).is_ok(), "the fault waits for a page request");
        let bad = get(&server, &page);
        assert_eq!(bad.status, 200);
        // Exactly the first beat's value changed, byte for byte; the rest of the body is as served before.
        let old_value = format!("\"beat\":\"{first}\"");
        let at = clean.body.windows(old_value.len()).position(|w| w == old_value.as_bytes()).unwrap();
        let mut want = clean.body[..at + 7].to_vec();
        want.extend_from_slice(raw);
        want.extend_from_slice(&clean.body[at + old_value.len()..]);
        assert_eq!(bad.body, want);
        assert!(serde_json::from_slice::<Value>(&bad.body).is_err(), "no JSON parser accepts the page whole");
        assert_eq!(get(&server, &page).body, clean.body, "the fault fired once");
    }
    let count = get(&server, &crate::expect::fingerprint_query("report_date_time", "2024-01-01", "2024-02-01"));
    assert_eq!(count.json()[0]["n"], rows.len().to_string(), "the bad row still counts");
}
