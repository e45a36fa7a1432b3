//! `GET /api/runs` (the recorded runs and the next scheduled one) and `POST /api/runs` (start a run now).
//!
//! The web stage does not know how runs are kept or started: the binary edge hands it a [`RunsApi`] whose two
//! functions read the ledger and start a run. The trigger needs `Authorization: Bearer <CRIMEWATCH_ADMIN_TOKEN>`;
//! with the variable unset it is disabled (403 saying how to enable it). The token is compared in constant time
//! and never logged.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::domain::run::RunSummary;
use crate::domain::Secret;

/// The environment variable holding the admin token for `POST /api/runs`.
pub const ADMIN_TOKEN_ENV: &str = "CRIMEWATCH_ADMIN_TOKEN";

/// Reads the recorded runs, newest first. Blocking (it reads a file); the error is said as is.
pub type ListRuns = Arc<dyn Fn() -> Result<Vec<RunSummary>, String> + Send + Sync>;

/// Starts a pipeline run without waiting: its id once it is locked and on record.
pub type StartRun = Arc<dyn Fn() -> BoxFuture<'static, Result<String, Refused>> + Send + Sync>;

/// Why a run was not started.
#[derive(Debug, Clone)]
pub enum Refused {
    /// Another run holds the run lock (409).
    Busy(String),
    /// The server is shutting down (503).
    ShuttingDown(String),
    /// Anything else (500).
    Failed(String),
}

/// What the `/api/runs` handlers need.
#[derive(Clone)]
pub struct RunsApi {
    pub list: ListRuns,
    pub start: StartRun,
    /// `None` disables `POST /api/runs`.
    pub admin_token: Option<Secret>,
    /// The cron expression and its time zone, as shown with the runs.
    pub schedule: String,
    pub timezone: String,
    /// The scheduler's next wake-up; `None` when no schedule is kept.
    pub next_run: watch::Receiver<Option<DateTime<Utc>>>,
}

/// Reads the admin token from [`ADMIN_TOKEN_ENV`] (empty counts as unset).
pub fn admin_token_from_env() -> Option<Secret> {
    std::env::var(ADMIN_TOKEN_ENV).ok().filter(|t| !t.trim().is_empty()).map(|t| Secret::new(t.trim()))
}

/// The body of `GET /api/runs` and of `crimewatch runs --json` (the dashboard reads these names).
#[derive(Debug, Serialize)]
pub struct RunsResponse {
    pub next_run: Option<DateTime<Utc>>,
    pub schedule: String,
    pub timezone: String,
    pub runs: Vec<RunSummary>,
}

#[derive(Debug, Deserialize)]
struct ListParams {
    limit: Option<usize>,
}

/// The `/api/runs` routes with their state applied.
pub fn routes(api: RunsApi) -> Router {
    Router::new().route("/api/runs", get(list).post(trigger)).with_state(api)
}

async fn list(State(api): State<RunsApi>, Query(params): Query<ListParams>) -> Response {
    let limit = params.limit.unwrap_or(50).clamp(1, 1000);
    let read = Arc::clone(&api.list);
    let runs = match tokio::task::spawn_blocking(move || read()).await {
        Ok(Ok(runs)) => runs,
        Ok(Err(e)) => return server_error("reading the run ledger failed", &e),
        Err(e) => return server_error("reading the run ledger failed", &e.to_string()),
    };
    let body = RunsResponse {
        next_run: *api.next_run.borrow(),
        schedule: api.schedule.clone(),
        timezone: api.timezone.clone(),
        runs: runs.into_iter().take(limit).collect(),
    };
    Json(body).into_response()
}

async fn trigger(State(api): State<RunsApi>, headers: HeaderMap) -> Response {
    let Some(expected) = &api.admin_token else {
        return error(
            StatusCode::FORBIDDEN,
            &format!(
                "manual runs are disabled: set {ADMIN_TOKEN_ENV} in the server's environment (for systemd, in the \
                 EnvironmentFile named in deploy/crimewatch.service), restart, and send `Authorization: Bearer <token>`"
            ),
        );
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let authorised = given.is_some_and(|g| constant_time_eq(g.as_bytes(), expected.expose().as_bytes()));
    if !authorised {
        let mut resp = error(
            StatusCode::UNAUTHORIZED,
            &format!("missing or wrong bearer token: send `Authorization: Bearer <token>` with the value of {ADMIN_TOKEN_ENV}"),
        );
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return resp;
    }
    match (api.start)().await {
        Ok(run_id) => {
            tracing::info!(stage = "web", run_id = %run_id, "manual run started over HTTP");
            (StatusCode::ACCEPTED, Json(serde_json::json!({ "run_id": run_id, "status": "running" }))).into_response()
        }
        Err(Refused::Busy(e)) => error(StatusCode::CONFLICT, &e),
        Err(Refused::ShuttingDown(e)) => error(StatusCode::SERVICE_UNAVAILABLE, &e),
        Err(Refused::Failed(e)) => server_error("starting the run failed", &e),
    }
}

/// A 500 that says what failed; the detail (file paths, the OS's message) goes to the log, once.
fn server_error(what: &str, detail: &str) -> Response {
    tracing::error!(stage = "web", error = detail, "{what}");
    error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{what} (the server log has the detail)"))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Compares without an early exit, so the time taken does not reveal how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn token_comparison_needs_every_byte_and_the_length() {
        assert!(constant_time_eq(b"s3cret-token", b"s3cret-token"));
        assert!(!constant_time_eq(b"s3cret-token", b"s3cret-tokeN"));
        assert!(!constant_time_eq(b"s3cret-token", b"s3cret-toke"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(!constant_time_eq(b"s3cret-token\0", b"s3cret-token"));
    }
}
