//! The HTTP layers every route sits behind, in one place: later layers are added in [`layers`] next to these, not
//! around the router elsewhere. (Limits on connections — how many, how slow — are the accept loop's:
//! [`super::connections`].)
//!
//! - a `request` span per request (method, path) and one `response` event (status, latency) at info
//!   level, so `-v` gives an access log and errors logged while answering carry the request they belong to;
//! - a panic in a handler becomes a 500 that says so (the panic message goes to the log, not to the client);
//! - gzip or br for every body worth it (assets and API answers; tower-http skips tiny bodies and images); an API
//!   answer is compressed once with its cache entry ([`super::precompressed`]), not for every response;
//! - request bodies over `web.max_body_bytes` are refused with 413 (by `Content-Length` before anything is read,
//!   and while streaming otherwise);
//! - [`SECURITY_HEADERS`] on every response: the page, its assets, the API and every error.

use std::any::Any;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Response, StatusCode};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

/// Sent with every response. The page loads only its own script, style and image files and talks only to its
/// own API, so the policy allows exactly that (no inline script or style, no other origin); nothing may frame it
/// (clickjacking); browsers must not guess a content type other than the one sent.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("referrer-policy", "no-referrer"),
];

/// Wraps `app` in the server's layers (the last one added is the outermost: tracing sees the final status).
pub fn layers(app: Router, max_body_bytes: u64) -> Router {
    let mut app = app
        .layer(middleware::from_fn_with_state(max_body_bytes, limit_body))
        .layer(CatchPanicLayer::custom(panic_response))
        // Inside the compression layer: a cached API answer goes out compressed once, not per response.
        .layer(middleware::from_fn(super::precompressed::choose_encoding))
        .layer(CompressionLayer::new());
    for (name, value) in SECURITY_HEADERS {
        app = app
            .layer(SetResponseHeaderLayer::overriding(HeaderName::from_static(name), HeaderValue::from_static(value)));
    }
    app.layer(
        TraceLayer::new_for_http()
            .make_span_with(request_span)
            .on_request(())
            .on_response(log_response)
            // A 5xx is logged once, with its cause, where it is made (`WebError`, the panic handler); the
            // trace layer's own failure event would say it a second time without one.
            .on_failure(()),
    )
}

/// Refuses a declared body over `max` at once; bounds an undeclared (chunked) one while it is read, so a handler
/// that reads it gets an error past `max` instead of the rest.
async fn limit_body(State(max): State<u64>, req: Request, next: Next) -> Response<Body> {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared.filter(|l| *l > max) {
        tracing::warn!(stage = "web", length, max_body_bytes = max, "request body over the limit refused");
        let body = serde_json::json!({
            "error": format!("the request body of {length} bytes is over the limit of {max} bytes (web.max_body_bytes); no endpoint needs a large body"),
        });
        return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response();
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    next.run(req.map(|b| Body::new(http_body_util::Limited::new(b, limit)))).await
}

fn request_span(req: &Request) -> Span {
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
}

fn log_response<B>(res: &Response<B>, latency: Duration, _span: &Span) {
    let latency_ms = (latency.as_secs_f64() * 1e5).round() / 100.0;
    tracing::info!(stage = "web", status = res.status().as_u16(), latency_ms, "response");
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(stage = "web", error_type = "panic", error = message, "request failed");
    let body = serde_json::json!({ "error": "the server failed while answering (a bug; please report it with the server log)" });
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}
