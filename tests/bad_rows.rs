//! Issue 17, item 4: one bad row in the source is one quarantined row — never a failed month, never a retry as if
//! the server were busy — and a page that is not an array of rows fails at once, naming the cause.

use serde_json::Value;
use soda_testkit::generate::Schema;
use soda_testkit::{Fault, FaultKind, RequestKind, SodaServer};

use crate::ingest::{assert_lake_equals, gen, text, World, DATASET};

fn page_requests(server: &SodaServer) -> usize {
    server.requests().iter().filter(|r| r.kind == RequestKind::Page).count()
}

#[test]
fn a_lone_surrogate_or_invalid_utf8_in_one_row_quarantines_that_row_and_keeps_the_month() {
    let rows = gen(17, "2024-01", "2024-02", 300, Schema::Nibrs);
    let cases: [(&str, &[u8], &str); 2] = [
        ("surrogate", br#""B\ud800""#, "\\ud800 is half of a UTF-16 surrogate pair"),
        ("utf8", b"\"B\xff\"", "invalid UTF-8 (byte 0xFF"),
    ];
    for (name, raw, says) in cases {
        let server = SodaServer::start(DATASET, rows.clone());
        let served = server.rows_with_system_fields();
        server.push_fault(Fault {
            when: RequestKind::Page,
            times: 1,
            kind: FaultKind::BadValue { field: "beat".into(), raw: raw.to_vec() },
        });
        let w = World::new(&format!("bad-row-{name}"), &server.url(), "");
        let s = w.ingest(&["--since", "2024-01", "--until", "2024-02"]);
        assert_eq!(s["rows_quarantined"], 1, "{name}: {s}");
        assert_eq!(s["rows_written"].as_u64().unwrap() as usize, rows.len() - 1, "{name}");
        assert_eq!(page_requests(&server), 2, "{name}: one page per month, nothing retried");

        // The quarantine line says which field and why, and keeps the row as sent (the bad part replaced).
        let mut lines = Vec::new();
        for m in ["2024-01", "2024-02"] {
            if let Ok(q) =
                std::fs::read_to_string(w.lake().join(format!("spd_crime/report_month={m}/_quarantine.jsonl")))
            {
                lines.extend(q.lines().map(|l| (m, serde_json::from_str::<Value>(l).unwrap())));
            }
        }
        assert_eq!(lines.len(), 1, "{name}: {lines:?}");
        let (month, line) = &lines[0];
        let reason = line["reason"].as_str().unwrap();
        assert!(reason.starts_with("beat: ") && reason.contains(says), "{name}: {reason}");
        assert_eq!(line["month"], *month);
        assert_eq!(line["row"]["beat"], "B\u{FFFD}", "{name}");
        let id = line["row"][":id"].as_str().unwrap();
        let bad = served.iter().find(|r| r[":id"] == id).expect("the quarantined row is a served row");
        assert!(bad["report_date_time"].as_str().unwrap().starts_with(month), "{name}");
        assert_eq!(
            w.manifest()["months"].as_array().unwrap().iter().map(|m| m["quarantined"].as_u64().unwrap()).sum::<u64>(),
            1
        );

        // Every other row is in the lake, as the server sent it.
        let kept: Vec<_> = rows.iter().filter(|r| r["offense_id"] != bad["offense_id"]).cloned().collect();
        assert_eq!(kept.len(), rows.len() - 1);
        assert_lake_equals(&w, &kept, "2024-01", "2024-02");
    }
}

#[test]
fn a_page_that_is_not_an_array_of_rows_fails_at_once_naming_the_cause() {
    let rows = gen(18, "2024-01", "2024-02", 300, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("bad-page", &server.url(), "months_in_flight = 1");
    w.ingest(&["--since", "2024-01", "--until", "2024-02"]);
    let before = w.snapshot();
    server.touch_all();
    server.reset_log();
    // The array closes after the first row's beat: what follows cannot be rows.
    server.push_fault(Fault {
        when: RequestKind::Page,
        times: 1,
        kind: FaultKind::BadValue { field: "beat".into(), raw: br#""B"}]"#.to_vec() },
    });
    let out = w.run(&["ingest", "--since", "2024-01", "--until", "2024-02"], &[]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a JSON array of rows") && err.contains("after the array of rows"), "{err}");
    assert!(!err.contains("throttling") && !err.contains("tries"), "not blamed on a busy server: {err}");
    assert_eq!(page_requests(&server), 1, "a whole but malformed page is not asked for again");
    assert_eq!(w.snapshot(), before, "the lake is unchanged");
}
