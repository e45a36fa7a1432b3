//! HTTP around the API: versioned asset URLs cached for a year and the page and API answers revalidated with their
//! ETags; gzip and br bodies that decode to the very bytes of the identity body; 5xx bodies that say what failed
//! without file paths or DuckDB's text, whose detail is logged once, inside a per-request span that also logs
//! status and latency.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use crimewatch::domain::Month;
use reqwest::header::HeaderMap;
use sha2::{Digest, Sha256};

use super::fixture::generate;
use super::support::spawn_app;
use crate::tempdir::TempDir;

const ASSETS: [&str; 5] = ["app.js", "charts.js", "app.css", "favicon.svg", "neighborhoods.geojson"];
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A client that neither asks for nor decodes compression unless told (reqwest's gzip feature would).
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder().no_gzip().build().unwrap()
}

async fn get(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, Vec<u8>) {
    let mut req = client.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

fn header<'h>(h: &'h HeaderMap, name: &str) -> &'h str {
    h.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

fn on_disk(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/src/web/assets/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The versioned URL the page must use for `name`: its content's SHA-256, first 16 hex digits.
fn versioned(name: &str) -> String {
    let hex: String = Sha256::digest(on_disk(name)).iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("/assets/{name}?v={hex}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_have_content_hashed_urls_cached_for_a_year_and_the_page_revalidates_with_its_etag() {
    let app = spawn_app("http-cache", None, None).await;
    let client = raw_client();
    let (status, h, body) = get(&client, &format!("{}/", app.base), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "cache-control"), "no-cache");
    let etag = header(&h, "etag").to_string();
    assert!(etag.starts_with("W/\"") && etag.len() > 6, "{etag}");
    let html = String::from_utf8(body).unwrap();
    for name in ASSETS {
        assert!(html.contains(&format!("\"{}\"", versioned(name))), "the page lacks {}", versioned(name));
    }
    // An unchanged page costs a 304 without a body.
    let (status, h, body) = get(&client, &format!("{}/", app.base), &[("if-none-match", &etag)]).await;
    assert_eq!((status, body.len()), (304, 0));
    assert_eq!(header(&h, "etag"), etag);
    let (status, _, _) = get(&client, &format!("{}/", app.base), &[("if-none-match", "W/\"0000\"")]).await;
    assert_eq!(status, 200, "another ETag is not a match");

    for name in ASSETS {
        let url = format!("{}{}", app.base, versioned(name));
        let (status, h, body) = get(&client, &url, &[]).await;
        assert_eq!(status, 200, "{url}");
        assert_eq!(header(&h, "cache-control"), IMMUTABLE, "{url}");
        assert_eq!(body, on_disk(name), "{url} serves another content");
        // Unversioned (or stale) URLs still work, but are revalidated rather than kept.
        let plain = format!("{}/assets/{name}", app.base);
        let (status, h, _) = get(&client, &plain, &[]).await;
        assert_eq!((status, header(&h, "cache-control")), (200, "no-cache"), "{plain}");
        let (status, _, body) = get(&client, &plain, &[("if-none-match", header(&h, "etag"))]).await;
        assert_eq!((status, body.len()), (304, 0), "{plain}");
        let (status, h, _) = get(&client, &format!("{plain}?v=0123456789abcdef"), &[]).await;
        assert_eq!((status, header(&h, "cache-control")), (200, "no-cache"), "{plain} under a stale version");
    }
    let (status, _, _) = get(&client, &format!("{}/assets/missing.js?v=1", app.base), &[]).await;
    assert_eq!(status, 404);
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b).read_to_end(&mut out).expect("valid gzip");
    out
}

fn unbrotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli_decompressor::Decompressor::new(b, 4096).read_to_end(&mut out).expect("valid br");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_and_api_bodies_are_sent_br_or_gzip_and_decode_to_the_same_bytes() {
    let m = |s: &str| Month::parse(s).unwrap();
    let rows = generate(11, 6000, m("2023-01"), m("2025-06"));
    let app = spawn_app("http-compress", Some(&rows), None).await;
    let client = raw_client();
    let mut paths: Vec<String> = ASSETS.iter().map(|n| versioned(n)).collect();
    paths.extend(
        ["/", "/api/trend", "/api/areas?level=beat", "/api/offenses", "/api/heatmap", "/api/trend?format=csv"]
            .map(String::from),
    );
    for path in &paths {
        let url = format!("{}{path}", app.base);
        let (status, h, plain) = get(&client, &url, &[("accept-encoding", "identity")]).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(header(&h, "content-encoding"), "", "{path}");
        let (_, h, gz) = get(&client, &url, &[("accept-encoding", "gzip")]).await;
        assert_eq!(header(&h, "content-encoding"), "gzip", "{path}");
        assert!(header(&h, "vary").to_ascii_lowercase().contains("accept-encoding"), "{path}");
        assert_eq!(gunzip(&gz), plain, "{path}: gzip body decodes to other bytes");
        // What Chromium asks for: br is chosen.
        let (_, h, br) = get(&client, &url, &[("accept-encoding", "gzip, deflate, br, zstd")]).await;
        assert_eq!(header(&h, "content-encoding"), "br", "{path}");
        assert_eq!(unbrotli(&br), plain, "{path}: br body decodes to other bytes");
        println!(
            "{path}: {} bytes, gzip {} ({:.0}%), br {} ({:.0}%)",
            plain.len(),
            gz.len(),
            100.0 * gz.len() as f64 / plain.len() as f64,
            br.len(),
            100.0 * br.len() as f64 / plain.len() as f64
        );
        if path.contains("geojson") || path.starts_with("/api/trend") {
            assert!(br.len() * 3 < plain.len() && gz.len() * 3 < plain.len(), "{path} hardly compressed");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_carry_an_etag_of_their_bytes_and_an_unchanged_answer_costs_a_304() {
    let m = |s: &str| Month::parse(s).unwrap();
    let rows = generate(12, 3000, m("2024-01"), m("2025-06"));
    let app = spawn_app("http-api-etag", Some(&rows), None).await;
    let client = raw_client();
    let trend = format!("{}/api/trend", app.base);
    let (status, h, plain) = get(&client, &trend, &[]).await;
    assert_eq!(status, 200);
    let etag = header(&h, "etag").to_string();
    let digest: String = Sha256::digest(&plain).iter().take(8).map(|b| format!("{b:02x}")).collect();
    assert_eq!(etag, format!("W/\"{digest}\""), "the ETag names the answer's bytes");
    // Compressed or not, the same answer has the same (weak) ETag, and naming it costs a 304 without a body.
    for accept in ["identity", "gzip", "br"] {
        let (status, h, _) = get(&client, &trend, &[("accept-encoding", accept)]).await;
        assert_eq!((status, header(&h, "etag")), (200, etag.as_str()), "{accept}");
        let (status, h, body) = get(&client, &trend, &[("accept-encoding", accept), ("if-none-match", &etag)]).await;
        assert_eq!((status, body.len(), header(&h, "etag")), (304, 0, etag.as_str()), "{accept}");
        assert_eq!(header(&h, "cache-control"), "no-cache", "{accept}");
    }
    // Another answer (other filters) has another ETag, so the first one's does not match it.
    let violent = format!("{trend}?category=violent");
    let (status, h, body) = get(&client, &violent, &[("if-none-match", &etag)]).await;
    assert_eq!(status, 200);
    assert!(!body.is_empty());
    assert_ne!(header(&h, "etag"), etag);
    // CSV is its own answer with its own tag.
    let (_, h, _) = get(&client, &format!("{trend}?format=csv"), &[]).await;
    assert!(header(&h, "etag").starts_with("W/\"") && header(&h, "etag") != etag);
}

/// `crimewatch serve -v` on `dir` (no schedule) with stderr in `log`; the child and its port.
fn serve(dir: &std::path::Path, log: &std::path::Path) -> (std::process::Child, u16) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crimewatch"));
    for v in ["CRIMEWATCH_DATA_DIR", "CRIMEWATCH_SOCRATA_URL", "CRIMEWATCH_CONFIG", "RUST_LOG"] {
        cmd.env_remove(v);
    }
    let data_dir = dir.to_str().unwrap();
    cmd.args(["-v", "--data-dir", data_dir, "serve", "--addr", "127.0.0.1:0", "--no-schedule"]).current_dir(dir);
    let mut child =
        cmd.stdout(Stdio::piped()).stderr(std::fs::File::create(log).unwrap()).spawn().expect("start crimewatch serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("serving http://127.0.0.1:").nth(1) {
                let _ = tx.send(rest.split('/').next().and_then(|p| p.parse::<u16>().ok()));
            }
        }
    });
    let port = rx.recv_timeout(Duration::from_secs(120)).ok().flatten().expect("serve printed its address");
    (child, port)
}

/// The log without ANSI colour escapes.
fn plain_log(path: &std::path::Path) -> String {
    let raw = std::fs::read_to_string(path).unwrap();
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_say_what_failed_without_paths_or_duckdb_text_and_the_log_holds_the_detail_once() {
    let dir = TempDir::new("http-errors");
    let warehouse = dir.join("warehouse.duckdb");
    std::fs::write(&warehouse, b"this is not a DuckDB file").unwrap();
    let log = dir.join("serve.log");
    let (mut child, port) = serve(dir.path(), &log);
    let client = raw_client();
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    let data_dir = dir.to_str().unwrap().to_string();

    let (status, _, body) = get(&client, &url("/api/health"), &[]).await;
    let body = String::from_utf8(body).unwrap();
    assert_eq!(status, 500, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    let message = error["error"].as_str().unwrap();
    assert!(message.contains("cannot open the published warehouse") && message.contains("crimewatch build"), "{body}");
    for leak in [data_dir.as_str(), "warehouse.duckdb", "IO Error", "DuckDB database file"] {
        assert!(!body.contains(leak), "the 500 body leaks {leak:?}: {body}");
    }

    // A DuckDB file without the marts: the query fails, and neither SQL nor DuckDB's message reaches the client.
    let stray = dir.join("stray.duckdb");
    duckdb::Connection::open(&stray).unwrap().execute_batch("create table t (x integer)").unwrap();
    std::fs::rename(&stray, &warehouse).unwrap();
    let (status, _, body) = get(&client, &url("/api/trend?category=violent"), &[]).await;
    let body = String::from_utf8(body).unwrap();
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("failed") && body.contains("crimewatch build"), "{body}");
    for leak in [data_dir.as_str(), "Catalog Error", "marts.", "select", "SELECT", "LINE 1"] {
        assert!(!body.contains(leak), "the 500 body leaks {leak:?}: {body}");
    }
    // The run ledger unreadable (a folder where the file should be): the body names it without its path.
    std::fs::create_dir(dir.join("runs.jsonl")).unwrap();
    let (status, _, body) = get(&client, &url("/api/runs"), &[]).await;
    let body = String::from_utf8(body).unwrap();
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("reading the run ledger failed") && !body.contains(&data_dir), "{body}");
    let (status, _, _) = get(&client, &url("/"), &[]).await;
    assert_eq!(status, 200);

    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
    let text = plain_log(&log);
    // The detail, with the path, is logged exactly once per failed request, at error level, inside its span.
    let details: Vec<&str> = text.lines().filter(|l| l.contains(&data_dir) && l.contains("request failed")).collect();
    assert_eq!(details.len(), 2, "{text}");
    let ledger: Vec<&str> = text.lines().filter(|l| l.contains("reading the run ledger failed")).collect();
    assert_eq!(ledger.len(), 1, "{text}");
    assert!(ledger[0].contains("ERROR") && ledger[0].contains("path=/api/runs"), "{}", ledger[0]);
    assert!(details.iter().all(|l| l.contains("ERROR")), "{details:?}");
    assert!(details[0].contains("request{method=GET path=/api/health}"), "{}", details[0]);
    assert!(details[1].contains("path=/api/trend") && details[1].contains("Catalog Error"), "{}", details[1]);
    assert_eq!(text.matches("ERROR").count(), 3, "each failure is logged once:\n{text}");
    // Every request gets a span and a response line with its status and latency.
    for (path, status) in [("/api/health", 500), ("/api/trend", 500), ("/api/runs", 500), ("/", 200)] {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("path={path}}}")) && l.contains(" response "))
            .unwrap_or_else(|| panic!("no response line for {path}:\n{text}"));
        assert!(line.contains(&format!("status={status}")) && line.contains("latency_ms="), "{line}");
        assert!(line.contains("INFO") && line.contains("method=GET"), "{line}");
    }
}
