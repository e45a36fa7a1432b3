//! Publishing a new warehouse (rename over the old one) while requests run: zero failed requests, and requests
//! after the swap see the new data.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crimewatch::domain::Month;
use serde_json::Value;

use super::fixture::generate;
use super::support::{publish, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn publishing_a_new_warehouse_under_load_fails_no_request_and_new_requests_see_new_data() {
    let m = |s: &str| Month::parse(s).unwrap();
    let first = generate(11, 3000, m("2024-01"), m("2025-03"));
    let app = Arc::new(spawn_app("swap", Some(&first), None).await);
    let health = app.json("/api/health").await;
    assert_eq!(health["fact_rows"], 3000);
    let first_generation = health["generation"].as_u64().unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut clients = Vec::new();
    for c in 0..8u32 {
        let (app, stop, ok, failures) = (Arc::clone(&app), Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failures));
        clients.push(tokio::spawn(async move {
            let endpoints = ["trend", "areas?level=beat", "offenses", "heatmap", "health"];
            let mut i = c as usize;
            while !stop.load(Ordering::Relaxed) {
                // Vary the range so most requests miss the cache and really query the file being replaced.
                let from = 1 + (i % 9);
                let sep = if endpoints[i % 5].contains('?') { '&' } else { '?' };
                let url = format!("{}/api/{}{sep}from=2024-0{from}", app.base, endpoints[i % 5]);
                match app.client.get(&url).send().await {
                    Ok(r) if r.status().is_success() => match r.text().await {
                        Ok(body) if serde_json::from_str::<Value>(&body).is_ok() => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(body) => failures.lock().unwrap().push(format!("{url}: bad JSON {body}")),
                        Err(e) => failures.lock().unwrap().push(format!("{url}: {e}")),
                    },
                    Ok(r) => {
                        let status = r.status();
                        let body = r.text().await.unwrap_or_default();
                        failures.lock().unwrap().push(format!("{url}: {status} {body}"));
                    }
                    Err(e) => failures.lock().unwrap().push(format!("{url}: {e}")),
                }
                i += 1;
            }
        }));
    }
    // Three publishes while the clients run; each must be picked up.
    let mut expected_rows = 3000;
    for round in 0..3u64 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        expected_rows += 500;
        let rows = generate(100 + round, expected_rows, m("2024-01"), m("2025-03"));
        publish(&rows, &app.warehouse()).await;
        let health = app.json("/api/health").await;
        assert_eq!(health["fact_rows"], expected_rows as i64, "round {round}");
        let trend = app.json("/api/trend?axis=reported").await;
        let total: i64 = trend.as_array().unwrap().iter().map(|r| r["count"].as_i64().unwrap()).sum();
        assert_eq!(total, expected_rows as i64, "round {round}: a new request sees the new warehouse");
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let failures: Vec<String> = failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "{} failed requests, e.g. {:?}", failures.len(), &failures[..failures.len().min(5)]);
    assert!(ok.load(Ordering::Relaxed) > 100, "only {} requests ran", ok.load(Ordering::Relaxed));
    let health = app.json("/api/health").await;
    assert_eq!(health["generation"].as_u64().unwrap(), first_generation + 3);
}
