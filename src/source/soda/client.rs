//! One SODA request with timeouts, retries and backoff, and the three requests ingest makes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};

use super::body::{Body, BodyPool};
use super::page::{decode_page, DecodedPage};
use super::response::{parse_fingerprints, terminal, Fingerprints, SocrataError};
use crate::domain::Month;
use crate::source::schema::SourceSchema;
use crate::source::soql::{self, Aggregates, Params};
use crate::source::{SourceConfig, SourceError};

/// Requests and bytes so far (shared by concurrent month fetches).
#[derive(Debug, Default)]
pub struct Traffic {
    pub requests: AtomicU64,
    pub bytes: AtomicU64,
}

/// A SODA 2.x client for one dataset.
#[derive(Clone)]
pub struct SodaClient {
    http: reqwest::Client,
    resource_url: String,
    token: Option<HeaderValue>,
    config: SourceConfig,
    traffic: Arc<Traffic>,
    bodies: Arc<BodyPool>,
}

enum Failure {
    Transient { message: String, retry_after: Option<Duration> },
    Terminal(SourceError),
}

/// Why a 200 answer's body could not be used.
enum BodyError {
    /// It may have been cut short or garbled on the way: worth another try.
    Unreadable(String),
    /// It arrived whole and is wrong: another try would get the same body.
    Malformed(String),
}

impl SodaClient {
    pub fn new(config: &SourceConfig) -> Result<SodaClient, SourceError> {
        let timeout = config.timeout;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(15)))
            .gzip(true)
            .redirect(reqwest::redirect::Policy::limited(10))
            .user_agent(concat!("crimewatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SourceError::Client(e.to_string()))?;
        let token = match &config.app_token {
            Some(t) => {
                let mut v = HeaderValue::from_str(t.expose()).map_err(|_| {
                    SourceError::Client("SODA_APP_TOKEN contains characters a header cannot carry".into())
                })?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        Ok(SodaClient {
            http,
            resource_url: format!("{}/resource/{}.json", config.socrata_url, config.dataset),
            token,
            config: config.clone(),
            traffic: Arc::new(Traffic::default()),
            bodies: Arc::new(BodyPool::default()),
        })
    }

    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    /// Probes the schema: `X-SODA2-Fields` when the server sends it, else the first row's keys, checking any
    /// required column that row lacks with one more request (SODA omits NULL fields from rows).
    pub async fn probe(&self) -> Result<SourceSchema, SourceError> {
        let (header_fields, row_keys) = self
            .request("probe", &soql::probe(), |headers, body| {
                let header_fields = headers
                    .get("x-soda2-fields")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok());
                let rows: Vec<serde_json::Map<String, serde_json::Value>> =
                    serde_json::from_slice(body).map_err(|e| format!("probe body is not a JSON array of rows: {e}"))?;
                let keys: Vec<String> = rows.first().map(|r| r.keys().cloned().collect()).unwrap_or_default();
                Ok((header_fields, keys))
            })
            .await?;
        let from_header = header_fields.is_some();
        let fields = header_fields.unwrap_or(row_keys);
        if fields.iter().all(|f| f.starts_with(':')) {
            return Err(SourceError::NoSchema { url: self.resource_url.clone() });
        }
        let mut schema = SourceSchema::from_fields(&fields)?;
        let missing = schema.missing_required();
        if !missing.is_empty() {
            if from_header {
                return Err(SourceError::MissingColumns { columns: missing });
            }
            // The probe row may just have had NULLs there: ask the server, which names a missing column.
            let names: Vec<&str> = missing.iter().map(String::as_str).collect();
            self.request("probe", &soql::columns_exist(&names), |_, _| Ok(())).await?;
            let mut all = schema.fields.clone();
            all.extend(missing);
            schema = SourceSchema::from_fields(&all)?;
        }
        Ok(schema)
    }

    /// Every report month's fingerprint in `since..=until`: the count and both optional aggregates in one
    /// request. A server that refuses that is asked for each optional aggregate alone and every one it accepts
    /// is kept — one that refuses only the offense-id sum still gives `:updated_at`, which catches every edit —
    /// and a server that accepts neither is asked for the count alone.
    pub async fn fingerprints(
        &self,
        schema: &SourceSchema,
        since: Month,
        until: Month,
    ) -> Result<Fingerprints, SourceError> {
        let refused = match self.aggregate(schema, since, until, Aggregates::ALL).await {
            Ok(fingerprints) => return Ok(fingerprints),
            Err(e) if is_refusal(&e, schema) => e,
            Err(e) => return Err(e),
        };
        tracing::warn!(
            stage = "source",
            error_type = "aggregate_refused",
            "{refused}; asking for each aggregate alone"
        );
        let mut kept: Option<Fingerprints> = None;
        for alone in Aggregates::each_alone() {
            match self.aggregate(schema, since, until, alone).await {
                Ok(answer) => {
                    kept = Some(match kept.take() {
                        Some(k) => k.merge(answer),
                        None => answer,
                    })
                }
                Err(e) if is_refusal(&e, schema) => {
                    tracing::warn!(
                        stage = "source",
                        error_type = "aggregate_refused",
                        aggregates = alone.name(),
                        "{e}; months are compared without it"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        match kept {
            Some(fingerprints) => Ok(fingerprints),
            None => self.aggregate(schema, since, until, Aggregates::COUNT).await,
        }
    }

    /// One fingerprint request asking for `aggregates` besides the count.
    async fn aggregate(
        &self,
        schema: &SourceSchema,
        since: Month,
        until: Month,
        aggregates: Aggregates,
    ) -> Result<Fingerprints, SourceError> {
        let params = soql::fingerprints(&schema.report_date_field, &schema.offense_id_field, since, until, aggregates);
        let months = self.request("aggregate", &params, |_, body| parse_fingerprints(body)).await?;
        Ok(Fingerprints { months, aggregates })
    }

    /// One page of one report month, decoded into lake columns (decoding runs off the async threads). A body that
    /// ends before its array of rows is retried (it may have been cut short); one that is whole but not an array
    /// of rows fails at once, as asking again would only get it again.
    pub async fn fetch_page(
        &self,
        schema: &Arc<SourceSchema>,
        month: Month,
        offset: u64,
    ) -> Result<DecodedPage, SourceError> {
        let params = soql::month_page(schema, month, self.config.page_size_rows, offset);
        let schema = Arc::clone(schema);
        self.request_body("page", &params, move |_, body| {
            decode_page(&schema, body).map_err(|e| {
                if e.cut_short {
                    BodyError::Unreadable(e.to_string())
                } else {
                    BodyError::Malformed(e.to_string())
                }
            })
        })
        .await
    }

    /// One GET with retries. `parse` runs on a blocking thread; a parse failure of a 200 answer counts as a
    /// truncated body (transient).
    async fn request<T, F>(&self, kind: &'static str, params: &Params, parse: F) -> Result<T, SourceError>
    where
        T: Send + 'static,
        F: Fn(&HeaderMap, &[u8]) -> Result<T, String> + Send + Sync + 'static,
    {
        self.request_body(kind, params, move |h, b| parse(h, b).map_err(BodyError::Unreadable)).await
    }

    /// [`SodaClient::request`], where `parse` says whether a body it cannot use may have been cut short
    /// ([`BodyError::Unreadable`]: retried) or arrived whole and wrong ([`BodyError::Malformed`]: fails at once).
    async fn request_body<T, F>(&self, kind: &'static str, params: &Params, parse: F) -> Result<T, SourceError>
    where
        T: Send + 'static,
        F: Fn(&HeaderMap, &[u8]) -> Result<T, BodyError> + Send + Sync + 'static,
    {
        let url = reqwest::Url::parse_with_params(&self.resource_url, params.iter().map(|(k, v)| (*k, v.as_str())))
            .map_err(|e| SourceError::Client(format!("bad URL {}: {e}", self.resource_url)))?;
        let shown = url.to_string();
        let parse = Arc::new(parse);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = self.attempt(kind, &url, &shown, Arc::clone(&parse)).await;
            match outcome {
                Ok(v) => return Ok(v),
                Err(Failure::Terminal(e)) => return Err(e),
                Err(Failure::Transient { message, retry_after }) => {
                    tracing::warn!(stage = "source", kind, attempt, error_type = "transient", url = %shown, "{message}");
                    if attempt >= self.config.max_attempts {
                        return Err(SourceError::GaveUp { url: shown, attempts: attempt, last: message });
                    }
                    tokio::time::sleep(self.delay(attempt, retry_after)).await;
                }
            }
        }
    }

    async fn attempt<T, F>(
        &self,
        kind: &'static str,
        url: &reqwest::Url,
        shown: &str,
        parse: Arc<F>,
    ) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: Fn(&HeaderMap, &[u8]) -> Result<T, BodyError> + Send + Sync + 'static,
    {
        let mut req = self.http.get(url.clone()).header("Accept", "application/json");
        if let Some(t) = &self.token {
            req = req.header("X-App-Token", t.clone());
        }
        self.traffic.requests.fetch_add(1, Ordering::Relaxed);
        let resp = req.send().await.map_err(|e| transient(describe(&e), None))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let headers = resp.headers().clone();
        let body = match self.read_body(resp).await {
            Ok(b) => b,
            Err(e) => return Err(transient(format!("HTTP {status}, body cut short: {}", describe(&e)), retry_after)),
        };
        self.traffic.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        tracing::debug!(stage = "source", kind, status, bytes = body.len(), url = %shown, "response");
        match status {
            200 => {
                let parsed = tokio::task::spawn_blocking(move || parse.as_ref()(&headers, &body))
                    .await
                    .map_err(|e| transient(format!("parser task failed: {e}"), None))?;
                parsed.map_err(|e| match e {
                    BodyError::Unreadable(m) => transient(format!("truncated or malformed body: {m}"), None),
                    BodyError::Malformed(detail) => {
                        Failure::Terminal(SourceError::MalformedPage { url: shown.to_string(), detail })
                    }
                })
            }
            202 => Err(transient("HTTP 202: the server is still preparing the answer".into(), retry_after)),
            408 | 429 | 500..=599 => {
                let err = SocrataError::parse(&body);
                Err(transient(format!("HTTP {status}: {}", err.message), retry_after))
            }
            _ => Err(Failure::Terminal(terminal(status, shown, &body))),
        }
    }

    /// The whole body, chunk by chunk into a buffer from the pool (sized by `Content-Length` when there is one,
    /// so it does not grow while it fills).
    async fn read_body(&self, mut resp: reqwest::Response) -> Result<Body, reqwest::Error> {
        let size_hint = resp.content_length().unwrap_or(0).min(1 << 30) as usize;
        let mut body = self.bodies.body(size_hint);
        while let Some(chunk) = resp.chunk().await? {
            body.extend(&chunk);
        }
        Ok(body)
    }

    fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let cap = self.config.backoff_max;
        if let Some(r) = retry_after {
            return r.min(cap);
        }
        let exp = self.config.backoff_initial.saturating_mul(1u32 << (attempt - 1).min(20));
        let base = exp.min(cap);
        // Jitter in [50%, 100%] so concurrent clients do not retry in step.
        base.mul_f64(0.5 + 0.5 * jitter())
    }
}

/// Whether a fingerprint request failed because the server will not compute one of its aggregates (a 4xx query
/// error, or a "no such column" for `:updated_at` or the offense id, which the probe found), rather than because
/// the source is down or changed.
fn is_refusal(e: &SourceError, schema: &SourceSchema) -> bool {
    match e {
        SourceError::Rejected { status, .. } => (400..500).contains(status),
        SourceError::SchemaChanged { column, .. } => {
            column.starts_with(":updated_at") || column.starts_with(schema.offense_id_field.as_str())
        }
        _ => false,
    }
}

fn transient(message: String, retry_after: Option<Duration>) -> Failure {
    Failure::Transient { message, retry_after }
}

/// A reqwest error in words, without the URL (the caller names it once).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "body cut short"
    } else {
        "request failed"
    };
    let mut msg = what.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// A uniform number in [0, 1) from the clock and a counter: enough to spread retries, no RNG crate needed.
fn jitter() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut x = (nanos as u64) ^ COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_unit_interval() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
