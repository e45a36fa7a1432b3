//! A raw HTTP/1.1 client, so faults are seen exactly as the server sends them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;
use soda_testkit::{Row, SodaServer};

use crate::DATASET;

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body[..self.body.len().min(300)]))
        })
    }

    pub fn rows(&self) -> Vec<Row> {
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

pub fn resource(params: &[(&str, &str)]) -> String {
    let q: Vec<String> = params.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    format!("/resource/{DATASET}.json?{}", q.join("&"))
}

/// What the client connects to: a [`SodaServer`] in this process, or the base URL of one in another.
pub trait Endpoint {
    fn base_url(&self) -> String;
}

impl Endpoint for SodaServer {
    fn base_url(&self) -> String {
        self.url()
    }
}

impl Endpoint for str {
    fn base_url(&self) -> String {
        self.to_string()
    }
}

pub fn send(stream: &mut TcpStream, target: &str, headers: &[(&str, &str)], close: bool) {
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
pub fn read_reply(stream: &mut TcpStream) -> Result<Reply, (std::io::ErrorKind, Vec<u8>)> {
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

pub fn connect<E: Endpoint + ?Sized>(server: &E) -> TcpStream {
    let s = TcpStream::connect(server.base_url().trim_start_matches("http://")).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    s
}

pub fn get_with<E: Endpoint + ?Sized>(server: &E, target: &str, headers: &[(&str, &str)]) -> Reply {
    let mut s = connect(server);
    send(&mut s, target, headers, true);
    read_reply(&mut s).unwrap_or_else(|(k, got)| panic!("no full reply for {target}: {k:?} after {} bytes", got.len()))
}

pub fn get<E: Endpoint + ?Sized>(server: &E, target: &str) -> Reply {
    get_with(server, target, &[])
}
