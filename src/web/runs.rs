//! `GET /api/runs` (the recorded runs and the next scheduled one) and `POST /api/runs` (start a run now).
//!
//! The web stage does not know how runs are kept or started: the binary edge hands it a [`RunsApi`] whose two
//! functions read the ledger and start a run. The trigger needs `Authorization: Bearer <CRIMEWATCH_ADMIN_TOKEN>`;
//! with the variable unset it is disabled (403 saying how to enable it). [`super::trigger`] decides who may try
//! and how often; a failed attempt is logged with the client's address, the token never is. The runs shown are
//! public: their error texts lose paths and SQL ([`super::redact`]); the ledger and the log keep them whole.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::redact;
use super::trigger::{self, Admit, Throttle, ADMIN_TOKEN_ENV};
use crate::domain::run::RunSummary;
use crate::domain::{DataDir, Secret};

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

/// The handlers' state: the edge's functions, the failed-attempt budgets, and the data dir errors are shown
/// relative to.
#[derive(Clone)]
struct RunsState {
    api: RunsApi,
    throttle: Arc<Throttle>,
    data_root: PathBuf,
}

/// The `/api/runs` routes with their state applied.
pub fn routes(api: RunsApi, data_dir: &DataDir) -> Router {
    let state = RunsState { api, throttle: Arc::default(), data_root: data_dir.root().to_path_buf() };
    Router::new().route("/api/runs", get(list).post(start)).with_state(state)
}

async fn list(State(state): State<RunsState>, Query(params): Query<ListParams>) -> Response {
    let api = &state.api;
    let limit = params.limit.unwrap_or(50).clamp(1, 1000);
    let read = Arc::clone(&api.list);
    let runs = match tokio::task::spawn_blocking(move || read()).await {
        Ok(Ok(runs)) => runs,
        Ok(Err(e)) => return server_error("reading the run ledger failed", &e),
        Err(e) => return server_error("reading the run ledger failed", &e.to_string()),
    };
    let shown = runs.into_iter().take(limit).map(|mut r| {
        r.error = r.error.map(|e| redact::run_error(&e, &state.data_root));
        r
    });
    let body = RunsResponse {
        next_run: *api.next_run.borrow(),
        schedule: api.schedule.clone(),
        timezone: api.timezone.clone(),
        runs: shown.collect(),
    };
    Json(body).into_response()
}

async fn start(
    State(state): State<RunsState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    let api = &state.api;
    let Some(expected) = &api.admin_token else {
        return error(
            StatusCode::FORBIDDEN,
            &format!(
                "manual runs are disabled: set {ADMIN_TOKEN_ENV} in the server's environment (for systemd, in the \
                 EnvironmentFile named in deploy/crimewatch.service), restart, and send `Authorization: Bearer <token>`"
            ),
        );
    };
    // Behind a proxy every client shares the proxy's address, and so its budget: a guesser there slows everyone
    // down, which is the safe side.
    let client = client.map(|Extension(ConnectInfo(addr))| addr.ip());
    let now = Instant::now();
    if let Some(ip) = client {
        if let Admit::Wait { retry_after, first } = state.throttle.admit(ip, now) {
            let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            if first {
                tracing::warn!(stage = "web", client = %ip, retry_after_seconds = seconds,
                    "too many failed authorisations for POST /api/runs: refusing this client's attempts for now");
            }
            let mut resp = error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("too many failed attempts from this address; try again in {seconds} s"),
            );
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            return resp;
        }
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if !given.is_some_and(|g| trigger::token_matches(g, expected)) {
        let client_text = client.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
        tracing::warn!(stage = "web", client = %client_text, error_type = "unauthorised",
            token_sent = given.is_some(), "failed authorisation for POST /api/runs (missing or wrong bearer token)");
        if let Some(ip) = client {
            state.throttle.failed(ip, now);
        }
        let mut resp = error(
            StatusCode::UNAUTHORIZED,
            &format!("missing or wrong bearer token: send `Authorization: Bearer <token>` with the value of {ADMIN_TOKEN_ENV}"),
        );
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return resp;
    }
    match (api.start)().await {
        Ok(run_id) => {
            tracing::info!(stage = "web", run_id = %run_id, "manual run started over HTTP");
            (StatusCode::ACCEPTED, Json(serde_json::json!({ "run_id": run_id, "status": "running" }))).into_response()
        }
        // These name the lock file or the shutdown; shown without paths, like the runs' errors.
        Err(Refused::Busy(e)) => error(StatusCode::CONFLICT, &redact::run_error(&e, &state.data_root)),
        Err(Refused::ShuttingDown(e)) => {
            error(StatusCode::SERVICE_UNAVAILABLE, &redact::run_error(&e, &state.data_root))
        }
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
