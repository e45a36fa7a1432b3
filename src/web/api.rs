//! The JSON API handlers. Each parses its parameters ([`Filters`]), then answers from the response cache of the
//! current warehouse generation, or computes the answer: the charts from the generation's serving index (the chart
//! marts in memory), the other endpoints by a mart query on a pooled read-only connection.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use tokio::sync::Semaphore;

use super::csv_body;
use super::filters::{parse_level, Filters, Format};
use super::published::{Cached, Generation, Published};
use super::queries::{self, Range};
use super::serving::{self, ServingIndex};
use super::{WebConfig, WebError};
use crate::domain::category::AreaLevel;
use crate::domain::DataDir;

/// Shared by every handler: the published warehouse and the limit on concurrent DuckDB queries.
#[derive(Clone)]
pub struct AppState {
    published: Arc<Published>,
    permits: Arc<Semaphore>,
}

type Params = Query<Vec<(String, String)>>;

/// How often the server looks for a newly published warehouse (one `stat`).
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl AppState {
    /// Serves the data dir's published warehouse (which may not exist yet).
    pub fn new(config: &WebConfig, data_dir: &DataDir) -> AppState {
        AppState::for_warehouse(data_dir.warehouse(), config.max_concurrent_queries, config.cache_max_entries)
    }

    /// Serves the warehouse at `path` (tests and benchmarks point this anywhere).
    pub fn for_warehouse(
        path: std::path::PathBuf,
        max_concurrent_queries: usize,
        cache_max_entries: usize,
    ) -> AppState {
        AppState {
            published: Arc::new(Published::new(path, cache_max_entries)),
            permits: Arc::new(Semaphore::new(max_concurrent_queries.max(1))),
        }
    }

    /// Opens the published warehouse (if any) and loads its serving index, so no request waits for that after
    /// start-up. A warehouse published later is opened within a second by [`Self::watch_for_publishes`] (or by
    /// the first request that notices it, [`Published::current`]) and loaded in the background; chart requests
    /// arriving before that load ends wait for it.
    pub async fn preload(&self) {
        let published = Arc::clone(&self.published);
        let loaded = tokio::task::spawn_blocking(move || published.current().and_then(|g| g.index().map(|_| ()))).await;
        if let Ok(Err(e)) = loaded {
            // No warehouse yet, or one that cannot be read: requests say so; nothing to do at start-up.
            tracing::debug!(stage = "web", error = %e, "nothing preloaded");
        }
    }

    /// Opens a newly published warehouse within [`WATCH_EVERY`] of its publication, not on the next request.
    pub fn watch_for_publishes(&self) {
        self.published.watch(WATCH_EVERY);
    }

    /// Answers `key` from the cache of the current generation, or runs `produce` (blocking) and caches its body.
    async fn respond<F>(&self, key: String, csv_name: Option<&'static str>, produce: F) -> Result<Response, WebError>
    where
        F: FnOnce(&Generation) -> Result<Cached, WebError> + Send + 'static,
    {
        if let Some((generation, hit)) = self.published.peek(&key) {
            return Ok(finish(generation, hit, csv_name));
        }
        let _permit = self.permits.acquire().await.map_err(|e| WebError::Task(e.to_string()))?;
        let published = Arc::clone(&self.published);
        let (generation, cached) = tokio::task::spawn_blocking(move || -> Result<(u64, Cached), WebError> {
            let g = published.current()?;
            let body = g.cached_or(key, produce)?;
            Ok((g.id, body))
        })
        .await
        .map_err(|e| WebError::Task(e.to_string()))??;
        Ok(finish(generation, cached, csv_name))
    }
}

fn finish(generation: u64, cached: Cached, csv_name: Option<&'static str>) -> Response {
    let content_type = cached.content_type;
    let mut resp =
        ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], cached.body.clone()).into_response();
    // For the encoding layer (src/web/precompressed.rs): the compressed forms are kept with the cached answer.
    resp.extensions_mut().insert(cached);
    let headers = resp.headers_mut();
    headers.insert("x-warehouse-generation", HeaderValue::from(generation));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let (Some(name), true) = (csv_name, content_type.starts_with("text/csv")) {
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"crimewatch-{name}.csv\"")) {
            headers.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    resp
}

fn render<T: Serialize>(rows: &[T], format: Format) -> Result<Cached, WebError> {
    match format {
        Format::Json => {
            let body = serde_json::to_vec(rows).map_err(|e| WebError::Task(format!("JSON encoding: {e}")))?;
            Ok(Cached::new("application/json", Bytes::from(body)))
        }
        Format::Csv => {
            let body = csv_body::render(rows).map_err(|e| WebError::Task(format!("CSV encoding: {e}")))?;
            Ok(Cached::new("text/csv; charset=utf-8", Bytes::from(body)))
        }
    }
}

/// Resolves the range (defaults from the data's bounds) and answers it from the generation's serving index; an
/// empty range gives an empty table.
fn chart<T: Serialize>(
    g: &Generation,
    filters: &Filters,
    answer: impl FnOnce(&ServingIndex, Range) -> Vec<T>,
) -> Result<Cached, WebError> {
    let bounds = g.bounds()?;
    let rows = match Range::resolve(&bounds, filters)? {
        Some(range) => answer(&*g.index()?, range),
        None => Vec::new(),
    };
    render(&rows, filters.format)
}

pub async fn health(State(state): State<AppState>) -> Result<Response, WebError> {
    state
        .respond("health".into(), None, |g| {
            let body = serde_json::to_vec(&*g.health()?).map_err(|e| WebError::Task(format!("JSON encoding: {e}")))?;
            Ok(Cached::new("application/json", Bytes::from(body)))
        })
        .await
}

pub async fn trend(State(state): State<AppState>, Query(q): Params) -> Result<Response, WebError> {
    let f = Filters::parse(&q, &[])?;
    let key = format!("trend|{f:?}");
    state.respond(key, Some("trend"), move |g| chart(g, &f, |ix, r| serving::trend(ix, r, &f))).await
}

pub async fn areas(State(state): State<AppState>, Query(q): Params) -> Result<Response, WebError> {
    let f = Filters::parse(&q, &["level"])?;
    let level = match q.iter().find(|(k, _)| k == "level").map(|(_, v)| v.as_str()) {
        None | Some("") => AreaLevel::Neighborhood,
        Some(v) => parse_level("level", v)?,
    };
    let key = format!("areas|{level:?}|{f:?}");
    state.respond(key, Some("areas"), move |g| chart(g, &f, |ix, r| serving::areas(ix, r, &f, level))).await
}

pub async fn offenses(State(state): State<AppState>, Query(q): Params) -> Result<Response, WebError> {
    let f = Filters::parse(&q, &[])?;
    let key = format!("offenses|{f:?}");
    state.respond(key, Some("offenses"), move |g| chart(g, &f, |ix, r| serving::offenses(ix, r, &f))).await
}

pub async fn heatmap(State(state): State<AppState>, Query(q): Params) -> Result<Response, WebError> {
    let f = Filters::parse(&q, &[])?;
    let key = format!("heatmap|{f:?}");
    state.respond(key, Some("heatmap"), move |g| chart(g, &f, |ix, r| serving::heatmap(ix, r, &f))).await
}

/// `/api/completeness`: recent occurrence months, how complete each is, and the nowcast (no filters: the marts
/// estimate it for the city per category). `format=csv` as elsewhere.
pub async fn completeness(State(state): State<AppState>, Query(q): Params) -> Result<Response, WebError> {
    unfiltered(state, &q, "completeness", queries::completeness).await
}

/// `/api/revisions`: the report months SPD revised, count when first fetched against now (no filters: per
/// month and category for the city). `format=csv` as elsewhere.
pub async fn revisions(State(state): State<AppState>, Query(q): Params) -> Result<Response, WebError> {
    unfiltered(state, &q, "revisions", super::revisions::revisions).await
}

/// `/api/revisions/drift`: the typical drift of revised months by their age when first fetched.
pub async fn revision_drift(State(state): State<AppState>, Query(q): Params) -> Result<Response, WebError> {
    unfiltered(state, &q, "revision_drift", super::revisions::drift).await
}

/// `/api/expected-range?axis=`: per month, the range its count is expected in from the same month of previous
/// years, city-wide (an area is refused: the range is estimated for the city only).
pub async fn expected_range(State(state): State<AppState>, Query(q): Params) -> Result<Response, WebError> {
    let f = Filters::parse(&q, &[])?;
    if f.area.is_some() {
        return Err(WebError::bad("area", "the expected range is for the whole city; leave out area_level and area"));
    }
    let key = format!("expected_range|{:?}|{:?}", f.axis, f.format);
    state
        .respond(key, Some("expected_range"), move |g| {
            let rows = g.with_conn("expected_range", |c| super::expected_range::expected_range(c, f.axis))?;
            render(&rows, f.format)
        })
        .await
}

/// An endpoint that takes no filters (only `format`): one mart query, cached per generation and format.
async fn unfiltered<T: Serialize + 'static>(
    state: AppState,
    q: &[(String, String)],
    name: &'static str,
    query: fn(&duckdb::Connection) -> duckdb::Result<Vec<T>>,
) -> Result<Response, WebError> {
    let f = Filters::parse(q, &[])?;
    let key = format!("{name}|{:?}", f.format);
    state
        .respond(key, Some(name), move |g| {
            let rows = g.with_conn(name, query)?;
            render(&rows, f.format)
        })
        .await
}

/// Unmatched routes. `GET /api/runs` lands here only when the server keeps no runs (see [`super::router`]): then
/// the ledger is empty and no run is scheduled by this process, which the page shows quietly.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    if method == Method::GET && uri.path() == "/api/runs" {
        let body = serde_json::json!({ "next_run": null, "schedule": null, "timezone": null, "runs": [] });
        return axum::Json(body).into_response();
    }
    WebError::NotFound { path: uri.path().to_string() }.into_response()
}
