//! The server sheds abuse (issue 17, item 3), with real sockets on loopback: idle sockets, keep-alive connections
//! waiting for a next request and clients that trickle their headers are closed once the header-read timeout
//! passes while `/api/health` keeps answering; a client
//! that stops reading its answer is dropped after the idle timeout; sockets over `web.max_connections` are refused
//! at once (not queued), and `/api/health` answers a new client as soon as others close; a body over
//! `web.max_body_bytes` is refused. Deadlines below are generous bounds for "closed at all", not speed targets.

use std::time::{Duration, Instant};

use crimewatch::domain::Month;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::fixture::generate;
use super::support::{spawn_app_with, TestApp};

fn rows() -> Vec<super::fixture::Offense> {
    generate(21, 300, Month::parse("2024-01").unwrap(), Month::parse("2024-06").unwrap())
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the socket (EOF or reset); the bytes read, or `None` if it is still open at
/// `deadline`.
async fn until_closed(stream: &mut TcpStream, deadline: Instant) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

async fn health_status(app: &TestApp) -> Result<u16, String> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    match client.get(format!("{}/api/health", app.base)).send().await {
        Ok(r) => Ok(r.status().as_u16()),
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_and_slow_headers_are_closed_after_the_header_timeout_while_health_answers() {
    let rows = rows();
    let app = spawn_app_with("limits-idle", Some(&rows), None, |web| {
        web.header_read_timeout = Duration::from_secs(2);
    })
    .await;
    let addr = addr(&app);
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    // Keep-alive: one request answered, then silence; the wait for the next request is bounded the same way.
    let mut kept_alive = Vec::new();
    for _ in 0..10 {
        let mut stream = TcpStream::connect(&addr).await.expect("connect");
        stream.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&buf[..n]));
        kept_alive.push(stream);
    }
    // Slowloris: a request line, then one header byte every 200 ms, never the blank line that ends the headers.
    let mut slow = Vec::new();
    for _ in 0..10 {
        let stream = TcpStream::connect(&addr).await.expect("connect");
        let (mut read, mut write) = stream.into_split();
        let writer = tokio::spawn(async move {
            let _ = write.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
            while write.write_all(b"a").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        let closed = tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, read.read(&mut buf)).await {
                    Err(_) => return false,
                    Ok(Ok(0)) | Ok(Err(_)) => return true,
                    Ok(Ok(_)) => {}
                }
            }
        });
        slow.push((writer, closed));
    }
    // With 220 sockets held open, a new client is served.
    for _ in 0..3 {
        assert_eq!(health_status(&app).await, Ok(200));
    }
    let begun = Instant::now();
    let deadline = begun + Duration::from_secs(30);
    let mut still_open = 0;
    for stream in &mut idle {
        match until_closed(stream, deadline).await {
            Some(bytes) => assert!(bytes.is_empty() || bytes.starts_with(b"HTTP/1.1 408"), "{bytes:?}"),
            None => still_open += 1,
        }
    }
    assert_eq!(still_open, 0, "idle sockets the server never closed (header_read_timeout 2 s)");
    for stream in &mut kept_alive {
        // The rest of a large answer may still arrive; then the server closes (idle_timeout is 60 s: not that).
        assert!(until_closed(stream, deadline).await.is_some(), "an idle keep-alive connection was never closed");
    }
    for (writer, closed) in slow {
        assert!(closed.await.unwrap(), "a client trickling its headers was never closed");
        writer.abort();
    }
    println!(
        "220 idle, kept-alive and slow sockets closed {:.1} s after the check began",
        begun.elapsed().as_secs_f64()
    );
    assert_eq!(health_status(&app).await, Ok(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_its_answers_is_dropped_after_the_idle_timeout() {
    let app = spawn_app_with("limits-reader", None, None, |web| {
        web.idle_timeout = Duration::from_secs(2);
    })
    .await;
    let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
    // 1000 pipelined requests for a 45 KB asset: ~45 MB of answers, far more than the socket buffers hold.
    const ASKED: usize = 1000;
    let request = b"GET /assets/neighborhoods.geojson HTTP/1.1\r\nHost: x\r\n\r\n";
    stream.write_all(&request.repeat(ASKED)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let got = until_closed(&mut stream, Instant::now() + Duration::from_secs(60)).await.expect("closed at all");
    let answers = got.windows(15).filter(|w| w == b"HTTP/1.1 200 OK").count();
    assert!(answers < ASKED, "the server kept writing to a client that read nothing for 6 s ({answers} answers)");
    println!("{answers} of {ASKED} answers were sent before the stalled reader was dropped");
    assert_eq!(health_status(&app).await, Ok(503), "no warehouse here: 503 'no data yet', but answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_over_the_cap_are_refused_at_once_and_health_answers_once_others_close() {
    let rows = rows();
    let app = spawn_app_with("limits-cap", Some(&rows), None, |web| {
        web.max_connections = 20;
        web.header_read_timeout = Duration::from_secs(120);
    })
    .await;
    let addr = addr(&app);
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(&addr).await.unwrap());
    }
    // Over the cap: answered 503 before the client has said anything, and closed; not left waiting.
    for _ in 0..30 {
        let mut extra = TcpStream::connect(&addr).await.unwrap();
        let got = until_closed(&mut extra, Instant::now() + Duration::from_secs(10)).await;
        let text = String::from_utf8_lossy(got.as_deref().expect("an over-the-cap socket was left waiting"));
        assert!(text.starts_with("HTTP/1.1 503") && text.contains("web.max_connections"), "{text}");
        assert!(text.contains("retry-after: 1") && text.contains("x-content-type-options: nosniff"), "{text}");
    }
    let refused = health_status(&app).await;
    assert!(refused == Ok(503) || refused.is_err(), "at the cap, a new client is refused at once: {refused:?}");
    // Five clients go away: their slots free up and a new client is served.
    held.truncate(15);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = health_status(&app).await;
    while last != Ok(200) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = health_status(&app).await;
    }
    assert_eq!(last, Ok(200), "/api/health after five of the twenty idle clients closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_with_413_before_it_is_sent() {
    let app = spawn_app_with("limits-body", None, None, |web| web.max_body_bytes = 4096).await;
    // A 10 MB body announced, none of it sent: the answer comes from the headers alone.
    let mut stream = TcpStream::connect(addr(&app)).await.unwrap();
    let head =
        "POST /api/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await.expect("answered").unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("web.max_body_bytes") && text.contains("4096"), "{text}");
    let client = reqwest::Client::new();
    let resp = client.post(format!("{}/api/runs", app.base)).body(vec![b'x'; 100]).send().await.unwrap();
    assert_ne!(resp.status(), 413, "a small body passes");
}
