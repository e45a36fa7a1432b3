use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::trigger::{ADMIN_TOKEN_ENV, MIN_TOKEN_CHARS};

/// Errors of the web stage. Request-level variants map to an HTTP status in [`WebError::status`]; the JSON body is
/// always `{"error": "<message>"}`, and every message names the fix.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The listen address could not be bound (in use, not local, bad syntax).
    #[error("cannot listen on {addr}: {source}; pick a free address with --addr, e.g. 127.0.0.1:8081")]
    Bind { addr: SocketAddr, source: std::io::Error },
    /// `POST /api/runs` would be enabled with a token short enough to guess.
    #[error(
        "{ADMIN_TOKEN_ENV} is {chars} characters long; the run trigger needs at least {MIN_TOKEN_CHARS} so it cannot \
         be guessed: set it to `openssl rand -hex 32`, or unset it to keep POST /api/runs disabled"
    )]
    WeakAdminToken { chars: usize },
    /// `POST /api/runs` would be enabled on an address other than loopback, in plain HTTP.
    #[error(
        "{ADMIN_TOKEN_ENV} enables POST /api/runs, and {addr} is not a loopback address: crimewatch has no TLS of its \
         own, so the token would cross the network readable. Put a TLS proxy in front and start with \
         --allow-remote-trigger, or listen on 127.0.0.1, or unset {ADMIN_TOKEN_ENV}"
    )]
    RemoteTrigger { addr: SocketAddr },
    /// The HTTP server stopped with an I/O error.
    #[error("the web server stopped: {0}")]
    Serve(std::io::Error),
    /// A query parameter is missing, unknown or malformed; the message names the parameter and the allowed values.
    #[error("{message}")]
    BadParameter { parameter: String, message: String },
    /// Nothing has been published yet.
    #[error("no data yet — run `crimewatch run` (no published warehouse at {})", path.display())]
    NoWarehouse { path: PathBuf },
    /// The published file's metadata cannot be read.
    #[error("cannot read {}: {source}; check the data dir's permissions", path.display())]
    Stat { path: PathBuf, source: std::io::Error },
    /// The published file exists but DuckDB cannot open it.
    #[error("cannot open the published warehouse {}: {source}; rebuild it with `crimewatch build`", path.display())]
    Open { path: PathBuf, source: duckdb::Error },
    /// A mart query failed: the warehouse probably predates the marts this server reads.
    #[error("query `{query}` failed on {}: {source}; the warehouse may be from another version — rebuild it with `crimewatch build`", path.display())]
    Query { query: &'static str, path: PathBuf, source: duckdb::Error },
    /// The chart marts could not be read into memory ([`super::serving`]).
    #[error("cannot load the chart marts of {}: {message}; the warehouse may be from another version — rebuild it with `crimewatch build`", path.display())]
    Index { path: PathBuf, message: String },
    /// A blocking query task panicked or was cancelled (a bug).
    #[error("a query task failed: {0} (likely a bug; please report it)")]
    Task(String),
    /// No route for this path.
    #[error("no such page or endpoint: {path}; the API is under /api (health, trend, areas, offenses, heatmap, runs)")]
    NotFound { path: String },
}

impl WebError {
    pub fn bad(parameter: &str, message: impl Into<String>) -> WebError {
        WebError::BadParameter { parameter: parameter.to_string(), message: message.into() }
    }

    /// The HTTP status for a request that ended in this error.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadParameter { .. } => StatusCode::BAD_REQUEST,
            WebError::NoWarehouse { .. } => StatusCode::SERVICE_UNAVAILABLE,
            WebError::NotFound { .. } => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client is told. A server error says what failed and what to do, but not the file paths or
    /// DuckDB's text (which may quote SQL) of the `Display` form: those go to the log, once.
    fn public_message(&self) -> String {
        const SEE_LOG: &str = "the server log has the detail";
        match self {
            WebError::NoWarehouse { .. } => "no data yet — run `crimewatch run`, then reload".to_string(),
            WebError::Stat { .. } => {
                format!("cannot read the published warehouse; check the data dir's permissions ({SEE_LOG})")
            }
            WebError::Open { .. } => {
                format!("cannot open the published warehouse; rebuild it with `crimewatch build` ({SEE_LOG})")
            }
            WebError::Query { query, .. } => format!(
                "query `{query}` failed; the warehouse may be from another version — rebuild it with `crimewatch build` ({SEE_LOG})"
            ),
            WebError::Index { .. } => format!(
                "cannot load the chart marts; the warehouse may be from another version — rebuild it with `crimewatch build` ({SEE_LOG})"
            ),
            WebError::Task(_) => "a query task failed (likely a bug; please report it with the server log)".to_string(),
            WebError::Bind { .. }
            | WebError::Serve(_)
            | WebError::WeakAdminToken { .. }
            | WebError::RemoteTrigger { .. } => format!("the web server failed ({SEE_LOG})"),
            WebError::BadParameter { .. } | WebError::NotFound { .. } => self.to_string(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            WebError::Bind { .. } => "bind",
            WebError::Serve(_) => "serve",
            WebError::WeakAdminToken { .. } => "weak_admin_token",
            WebError::RemoteTrigger { .. } => "remote_trigger",
            WebError::BadParameter { .. } => "bad_parameter",
            WebError::NoWarehouse { .. } => "no_data",
            WebError::Stat { .. } => "stat",
            WebError::Open { .. } => "open",
            WebError::Query { .. } => "query",
            WebError::Index { .. } => "index",
            WebError::Task(_) => "task",
            WebError::NotFound { .. } => "not_found",
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(stage = "web", error_type = self.kind(), error = %self, "request failed");
        }
        let mut body = serde_json::json!({ "error": self.public_message() });
        if let WebError::BadParameter { parameter, .. } = &self {
            body["parameter"] = serde_json::Value::String(parameter.clone());
        }
        if let WebError::NoWarehouse { .. } = &self {
            body["status"] = serde_json::Value::String("no_data".into());
        }
        (status, axum::Json(body)).into_response()
    }
}
