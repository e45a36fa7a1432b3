//! Minimal HTTP/1.1 over `std::net`: read one request head (with keep-alive and pipelining), write a
//! response. Written by hand so faults can control every byte (truncated bodies, resets, stalls).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Requests larger than this are refused (the server only answers GETs with a query string).
const MAX_HEAD_BYTES: usize = 1 << 20;

pub(crate) struct Request {
    pub method: String,
    /// The raw target, e.g. `/resource/x.json?%24limit=1`.
    pub target: String,
    pub headers: Vec<(String, String)>,
    /// HTTP/1.0, or `Connection: close`.
    pub wants_close: bool,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Reads requests off one connection; bytes after a request head stay buffered for the next one.
pub(crate) struct Connection {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Connection {
    pub(crate) fn new(stream: TcpStream) -> io::Result<Connection> {
        stream.set_read_timeout(Some(Duration::from_millis(200)))?;
        stream.set_nodelay(true)?;
        Ok(Connection { stream, buf: Vec::new() })
    }

    /// The next request; `None` when the peer closed, the server is stopping, or the request is malformed.
    pub(crate) fn next_request(&mut self, stop: &AtomicBool) -> Option<Request> {
        loop {
            if let Some(end) = find_head_end(&self.buf) {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                let mut consumed = end + 4;
                let req = parse_head(&head)?;
                // Discard a request body, if any (the server answers GETs only).
                let body_len: usize = req.header("content-length").and_then(|v| v.trim().parse().ok()).unwrap_or(0);
                while self.buf.len() < consumed + body_len {
                    if !self.fill(stop)? {
                        return None;
                    }
                }
                consumed += body_len;
                self.buf.drain(..consumed);
                return Some(req);
            }
            if self.buf.len() > MAX_HEAD_BYTES || !self.fill(stop)? {
                return None;
            }
        }
    }

    /// Reads more bytes; `Some(false)` on EOF, `None` when stopping or on error.
    fn fill(&mut self, stop: &AtomicBool) -> Option<bool> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Some(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Some(true);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(_) => return None,
            }
        }
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

fn parse_head(head: &str) -> Option<Request> {
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let version = first.next().unwrap_or("HTTP/1.0");
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    let connection =
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("connection")).map(|(_, v)| v.to_ascii_lowercase());
    let wants_close = match connection.as_deref() {
        Some(c) if c.contains("close") => true,
        Some(c) if c.contains("keep-alive") => false,
        _ => version != "HTTP/1.1",
    };
    Some(Request { method, target, headers, wants_close })
}

pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Response {
        let mut body = serde_json::to_vec_pretty(value).unwrap_or_default();
        body.push(b'\n');
        Response {
            status,
            headers: vec![("Content-Type".to_string(), "application/json;charset=utf-8".to_string())],
            body,
        }
    }

    pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The status line and headers (with `Content-Length` of the full body and the connection decision).
    pub(crate) fn head(&self, close: bool) -> Vec<u8> {
        let mut h = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (k, v) in &self.headers {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        h.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        h.push_str(if close { "Connection: close\r\n" } else { "Connection: keep-alive\r\n" });
        h.push_str("Server: crimewatch-testkit\r\n\r\n");
        h.into_bytes()
    }

    /// Writes head and the first `body_bytes` of the body.
    pub(crate) fn write_to(&self, stream: &mut TcpStream, close: bool, body_bytes: usize) -> io::Result<()> {
        stream.write_all(&self.head(close))?;
        stream.write_all(&self.body[..body_bytes.min(self.body.len())])?;
        stream.flush()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        301 => "Moved Permanently",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// The decoded `key=value` pairs of a query string: `%XX` and `+` (as a space) decoded, as Socrata reads them.
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

/// Makes the next close of `stream` send a TCP RST instead of a FIN (SO_LINGER with a zero timeout).
pub(crate) fn set_linger_zero(stream: &TcpStream) -> io::Result<()> {
    socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_strings_like_socrata() {
        let pairs = query_pairs("%24where=a+%3D+%27x%27&$limit=5&bad=%zz&&pct=100%&plus=%2B");
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("$where", "a = 'x'"), ("$limit", "5"), ("bad", "%zz"), ("pct", "100%"), ("plus", "+")]);
    }
}
