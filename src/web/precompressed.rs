//! API answers compressed once per cached answer, not once per response. The response cache holds each answer's
//! bytes; without this, the compression layer gzipped or brotli'd those same bytes again for every request that
//! asked for them — a trend answer is ~140 kB of JSON, and compressing it cost more CPU than serving it from the
//! cache (at 32 clients on 2 cores it set the cached p99). [`Cached`] carries one slot per encoding, filled by the
//! first request that asks for it (with tower-http's own encoder; gzip at its fastest level, see [`compress`]);
//! [`choose_encoding`], inside the compression layer, serves the slot and marks the response encoded, which the
//! compression layer then leaves alone. A request that accepts neither gzip nor br gets the plain bytes.
//!
//! Each answer also carries a weak ETag of its bytes (as the assets do): a client that sends it back in
//! `If-None-Match` gets a 304 without a body while the answer is unchanged, across publishes too.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use axum::middleware::Next;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::sync::OnceCell;
use tower::ServiceExt;
use tower_http::compression::{Compression, CompressionLevel};

use super::assets;

/// A response body as cached: its content type, its bytes, and its compressed forms once asked for.
#[derive(Debug, Clone)]
pub struct Cached {
    pub content_type: &'static str,
    pub body: Bytes,
    encoded: Arc<Encoded>,
    /// The bytes' version (hex prefix of their SHA-256) and the weak ETag made of it.
    version: Arc<str>,
    etag: HeaderValue,
}

#[derive(Debug, Default)]
struct Encoded {
    gzip: OnceCell<Option<Bytes>>,
    br: OnceCell<Option<Bytes>>,
}

impl Cached {
    pub fn new(content_type: &'static str, body: Bytes) -> Cached {
        let (version, etag) = assets::content_tag(&body);
        Cached { content_type, body, encoded: Arc::default(), version: version.into(), etag }
    }

    /// The body in `encoding`, compressed on first use; `None` when the encoder declined (a tiny body).
    async fn encoded(&self, encoding: Encoding) -> Option<Bytes> {
        let slot = match encoding {
            Encoding::Br => &self.encoded.br,
            Encoding::Gzip => &self.encoded.gzip,
        };
        slot.get_or_init(|| compress(encoding, self.content_type, self.body.clone())).await.clone()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Br,
    Gzip,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Gzip => "gzip",
        }
    }
}

/// The encoding to send for an `Accept-Encoding` header: the highest q-value of br and gzip (br on a tie, as the
/// compression layer chooses), none when neither is accepted.
fn negotiate(headers: &HeaderMap) -> Option<Encoding> {
    let mut best: Option<(Encoding, f32)> = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let encoding = match parts.next().map(str::trim) {
                Some(e) if e.eq_ignore_ascii_case("br") => Encoding::Br,
                Some(e) if e.eq_ignore_ascii_case("gzip") => Encoding::Gzip,
                _ => continue,
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").map(|q| q.trim().parse::<f32>().unwrap_or(0.0)))
                .unwrap_or(1.0);
            let better = match best {
                None => true,
                Some((b, bq)) => q > bq || (q == bq && encoding == Encoding::Br && b == Encoding::Gzip),
            };
            if q > 0.0 && better {
                best = Some((encoding, q));
            }
        }
    }
    best.map(|(e, _)| e)
}

/// Compresses `body` with the compression layer's encoder: br at its default quality, gzip at the fastest level.
/// An uncached answer (the cache off or full, or a first request) is compressed for one response, and gzip's
/// default level was three quarters of an uncached trend answer's CPU (1.3 of 1.8 ms for ~200 kB of JSON,
/// docs/benchmarks.md, session 4); the fastest level costs a third of that for a ~35% larger body.
async fn compress(encoding: Encoding, content_type: &'static str, body: Bytes) -> Option<Bytes> {
    let plain = tower::service_fn(move |_: Request<()>| {
        let body = body.clone();
        async move {
            let mut resp = Response::new(Full::new(body));
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            Ok::<_, Infallible>(resp)
        }
    });
    let quality = match encoding {
        Encoding::Gzip => CompressionLevel::Fastest,
        Encoding::Br => CompressionLevel::Default,
    };
    let service =
        Compression::new(plain).gzip(encoding == Encoding::Gzip).br(encoding == Encoding::Br).quality(quality);
    let mut req = Request::new(());
    req.headers_mut().insert(header::ACCEPT_ENCODING, HeaderValue::from_static(encoding.name()));
    let resp = service.oneshot(req).await.ok()?;
    if !resp.headers().contains_key(header::CONTENT_ENCODING) {
        return None;
    }
    resp.into_body().collect().await.ok().map(|c| c.to_bytes())
}

/// Serves a cached answer (a response carrying [`Cached`] as an extension) in the encoding the request accepts,
/// with its ETag; a 304 without a body when `If-None-Match` names it.
pub async fn choose_encoding(req: Request, next: Next) -> Response<Body> {
    let encoding = negotiate(req.headers());
    let mut validators = HeaderMap::new();
    for v in req.headers().get_all(header::IF_NONE_MATCH) {
        validators.append(header::IF_NONE_MATCH, v.clone());
    }
    let mut resp = next.run(req).await;
    let Some(cached) = resp.extensions_mut().remove::<Cached>() else { return resp };
    resp.headers_mut().insert(header::ETAG, cached.etag.clone());
    if assets::matches(&validators, &cached.version) {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        resp.headers_mut().remove(header::CONTENT_TYPE);
        resp.headers_mut().remove(header::CONTENT_DISPOSITION);
        *resp.body_mut() = Body::empty();
        return resp;
    }
    let Some(encoding) = encoding else { return resp };
    let Some(bytes) = cached.encoded(encoding).await else { return resp };
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding.name()));
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.remove(header::CONTENT_LENGTH);
    *resp.body_mut() = Body::from(bytes);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn negotiation_follows_q_values_and_prefers_br_on_a_tie() {
        assert_eq!(negotiate(&accept("gzip, deflate, br, zstd")), Some(Encoding::Br));
        assert_eq!(negotiate(&accept("gzip")), Some(Encoding::Gzip));
        assert_eq!(negotiate(&accept("br;q=0.5, gzip")), Some(Encoding::Gzip));
        assert_eq!(negotiate(&accept("br;q=0, gzip;q=0")), None);
        assert_eq!(negotiate(&accept("identity")), None);
        assert_eq!(negotiate(&accept("deflate, zstd")), None);
        assert_eq!(negotiate(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn each_encoding_is_compressed_once_and_shared_by_clones() {
        let body = Bytes::from(serde_json::to_vec(&vec!["the same row of an answer"; 400]).unwrap());
        let cached = Cached::new("application/json", body.clone());
        let copy = cached.clone();
        let gz = cached.encoded(Encoding::Gzip).await.expect("compressed");
        assert!(gz.len() * 10 < body.len(), "{} of {}", gz.len(), body.len());
        let again = copy.encoded(Encoding::Gzip).await.expect("compressed");
        assert_eq!(gz.as_ptr(), again.as_ptr(), "a clone serves the bytes compressed first, not new ones");
        let br = cached.encoded(Encoding::Br).await.expect("compressed");
        assert_ne!(br, gz);
    }
}
