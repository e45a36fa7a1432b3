//! The dashboard page and its assets, compiled into the binary (no CDN, no web fonts, nothing fetched at run time).
//!
//! Caching: each asset's URL carries a hash of its content (`/assets/app.js?v=<hash>`), written into the page once
//! at start; a browser keeps such a URL for a year without asking again (`immutable`), and a new binary with
//! changed assets gives new URLs. The page itself and unversioned asset URLs are revalidated on every load
//! (`no-cache`) against an ETag, which costs a 304 without a body when nothing changed. Compression is the
//! middleware's ([`super::middleware`]); the ETags are weak because the same bytes go out gzip-, br- or
//! un-encoded.

use std::sync::LazyLock;

use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::geo::NEIGHBORHOODS_GEOJSON;
use super::WebError;

/// `Cache-Control` of a versioned asset URL: its content never changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of the page and of unversioned URLs: keep, but ask (with the ETag) before each use.
const REVALIDATE: &str = "no-cache";

/// (name under /assets/, content type, content)
const FILES: &[(&str, &str, &str)] = &[
    ("app.js", "text/javascript; charset=utf-8", include_str!("assets/app.js")),
    ("charts.js", "text/javascript; charset=utf-8", include_str!("assets/charts.js")),
    ("app.css", "text/css; charset=utf-8", include_str!("assets/app.css")),
    ("favicon.svg", "image/svg+xml", include_str!("assets/favicon.svg")),
    ("neighborhoods.geojson", "application/geo+json", NEIGHBORHOODS_GEOJSON),
];
const INDEX_HTML: &str = include_str!("assets/index.html");

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: String,
    /// Hex prefix of the content's SHA-256: the `v` of the asset's URL and its ETag.
    version: String,
    etag: HeaderValue,
}

impl Asset {
    fn new(name: &'static str, content_type: &'static str, body: String) -> Asset {
        let (version, etag) = content_tag(body.as_bytes());
        Asset { name, content_type, body, version, etag }
    }
}

/// A content's version (hex prefix of its SHA-256) and the weak ETag made of it; API answers use the same.
pub(super) fn content_tag(content: &[u8]) -> (String, HeaderValue) {
    let digest = Sha256::digest(content);
    let version: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    // A hex string in quotes is always a valid header value.
    let etag = HeaderValue::from_str(&format!("W/\"{version}\"")).expect("hex ETag");
    (version, etag)
}

struct Assets {
    index: Asset,
    files: Vec<Asset>,
}

/// Hashed once, on first use: the page refers to every asset by its versioned URL.
static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let files: Vec<Asset> = FILES.iter().map(|(n, t, b)| Asset::new(n, t, (*b).to_string())).collect();
    let mut html = INDEX_HTML.to_string();
    for a in &files {
        let plain = format!("\"/assets/{}\"", a.name);
        html = html.replace(&plain, &format!("\"/assets/{}?v={}\"", a.name, a.version));
    }
    Assets { index: Asset::new("index.html", "text/html; charset=utf-8", html), files }
});

/// Hashes the assets now (at start) rather than on the first request.
pub fn prepare() {
    LazyLock::force(&ASSETS);
}

#[derive(Deserialize)]
pub struct Version {
    v: Option<String>,
}

/// `GET /`: the page, revalidated on each load.
pub async fn index(headers: HeaderMap) -> Response {
    serve(&ASSETS.index, REVALIDATE, &headers)
}

/// `GET /assets/{name}`: cached for good under the current version, revalidated otherwise.
pub async fn file(Path(name): Path<String>, Query(q): Query<Version>, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.files.iter().find(|a| a.name == name) else {
        return WebError::NotFound { path: format!("/assets/{name}") }.into_response();
    };
    let cache = if q.v.as_deref() == Some(asset.version.as_str()) { IMMUTABLE } else { REVALIDATE };
    serve(asset, cache, &headers)
}

fn serve(asset: &'static Asset, cache: &'static str, request: &HeaderMap) -> Response {
    let validators = [(header::ETAG, asset.etag.clone()), (header::CACHE_CONTROL, HeaderValue::from_static(cache))];
    if matches(request, &asset.version) {
        return (StatusCode::NOT_MODIFIED, validators).into_response();
    }
    let content_type = [(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))];
    (content_type, validators, asset.body.as_str()).into_response()
}

/// Whether `If-None-Match` names this version (weak comparison, as RFC 9110 asks for `If-None-Match`).
pub(super) fn matches(request: &HeaderMap, version: &str) -> bool {
    request.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == version
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_refers_to_every_asset_by_its_current_version() {
        let html = &ASSETS.index.body;
        for a in &ASSETS.files {
            let versioned = format!("\"/assets/{}?v={}\"", a.name, a.version);
            assert!(html.contains(&versioned), "index.html lacks {versioned}");
            assert_eq!(a.version.len(), 16);
        }
        assert!(!html.contains("\"/assets/app.js\""), "an unversioned asset URL is left in the page");
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
            m
        };
        assert!(matches(&h("W/\"abc\""), "abc"));
        assert!(matches(&h("\"abc\""), "abc"));
        assert!(matches(&h("W/\"x\", W/\"abc\""), "abc"));
        assert!(matches(&h("*"), "abc"));
        assert!(!matches(&h("W/\"abd\""), "abc"));
        assert!(!matches(&HeaderMap::new(), "abc"));
    }
}
