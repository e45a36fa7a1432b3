//! The HTTP layers every route sits behind, in one place: later layers (security headers, connection limits) are
//! added in [`layers`] next to these, not around the router elsewhere.
//!
//! - a `request` span per request (method, path) and one `response` event (status, latency) at info level, so
//!   `-v` gives an access log and errors logged while answering carry the request they belong to;
//! - a panic in a handler becomes a 500 that says so (the panic message goes to the log, not to the client);
//! - gzip or br for every body worth it (assets and API answers; tower-http skips tiny bodies and images).

use std::any::Any;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

/// Wraps `app` in the server's layers (the last one added is the outermost: tracing sees the final status).
pub fn layers(app: Router) -> Router {
    app.layer(CatchPanicLayer::custom(panic_response)).layer(CompressionLayer::new()).layer(
        TraceLayer::new_for_http()
            .make_span_with(request_span)
            .on_request(())
            .on_response(log_response)
            // A 5xx is logged once, with its cause, where it is made (`WebError`, the panic handler); the
            // trace layer's own failure event would say it a second time without one.
            .on_failure(()),
    )
}

fn request_span(req: &Request<Body>) -> Span {
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
