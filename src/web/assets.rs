//! The dashboard page and its assets, compiled into the binary (no CDN, no web fonts, nothing fetched at run time).

use axum::extract::Path;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::geo::NEIGHBORHOODS_GEOJSON;
use super::WebError;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const CHARTS_JS: &str = include_str!("assets/charts.js");
const APP_CSS: &str = include_str!("assets/app.css");
const FAVICON_SVG: &str = include_str!("assets/favicon.svg");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

pub async fn file(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "app.js" => asset("text/javascript; charset=utf-8", APP_JS),
        "charts.js" => asset("text/javascript; charset=utf-8", CHARTS_JS),
        "app.css" => asset("text/css; charset=utf-8", APP_CSS),
        "favicon.svg" => asset("image/svg+xml", FAVICON_SVG),
        "neighborhoods.geojson" => asset("application/geo+json", NEIGHBORHOODS_GEOJSON),
        _ => WebError::NotFound { path: format!("/assets/{name}") }.into_response(),
    }
}
