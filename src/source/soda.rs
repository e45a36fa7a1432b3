//! The SODA 2.x client: one HTTP request with timeouts and retries, and the three kinds of request ingest makes
//! (probe, fingerprint aggregate, month page).
//!
//! Errors are classed transient (429, 5xx, 202 "still processing", connection errors, timeouts, truncated or
//! malformed bodies) or terminal (every other 4xx); the class alone decides whether to retry. Transient failures
//! back off exponentially with jitter, or as long as `Retry-After` says (0 included), up to
//! `source.max_attempts` tries. The app token travels in the `X-App-Token` header, never in a URL or a log line.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::row::{Rejected, RowBuilder};
use super::schema::SourceSchema;
use super::soql::{self, AggregateLevel, Params};
use super::{SourceConfig, SourceError};
use crate::domain::row::col;
use crate::domain::{CanonicalRow, Fingerprint, Month, SourceKind};
use crate::settings::Settings;

/// Per-month fingerprints and how they were computed.
#[derive(Debug, Clone)]
pub struct Fingerprints {
    pub months: BTreeMap<Month, Fingerprint>,
    pub level: AggregateLevel,
}

/// A page's rows, parsed: kept rows and rows to quarantine, in the source's order.
pub type PageRows = Vec<Result<CanonicalRow, Rejected>>;

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
}

enum Failure {
    Transient { message: String, retry_after: Option<Duration> },
    Terminal(SourceError),
}

impl SodaClient {
    pub fn new(settings: &Settings) -> Result<SodaClient, SourceError> {
        let config = settings.source.clone();
        let timeout = Duration::from_secs(config.timeout_seconds);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(15)))
            .gzip(true)
            .redirect(reqwest::redirect::Policy::limited(10))
            .user_agent(concat!("crimewatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SourceError::Client(e.to_string()))?;
        let token = match &settings.app_token {
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
            resource_url: format!("{}/resource/{}.json", settings.socrata_url, settings.dataset),
            token,
            config,
            traffic: Arc::new(Traffic::default()),
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
                let rows: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(&body)
                    .map_err(|e| format!("probe body is not a JSON array of rows: {e}"))?;
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

    /// Every report month's fingerprint in `since..=until`, in one request. Falls back to smaller aggregates
    /// when the server refuses `max(:updated_at)` (then the sum).
    pub async fn fingerprints(
        &self,
        schema: &SourceSchema,
        since: Month,
        until: Month,
    ) -> Result<Fingerprints, SourceError> {
        let mut level = AggregateLevel::Full;
        loop {
            let params = soql::fingerprints(&schema.report_date_field, &schema.offense_id_field, since, until, level);
            match self.request("aggregate", &params, |_, body| parse_fingerprints(&body)).await {
                Ok(months) => return Ok(Fingerprints { months, level }),
                Err(err) => {
                    let refusable = match &err {
                        SourceError::Rejected { status, .. } => (400..500).contains(status),
                        SourceError::SchemaChanged { column, .. } => column.starts_with(":updated_at"),
                        _ => false,
                    };
                    let next = match level {
                        AggregateLevel::Full => AggregateLevel::Content,
                        AggregateLevel::Content => AggregateLevel::CountOnly,
                        AggregateLevel::CountOnly => return Err(err),
                    };
                    if !refusable {
                        return Err(err);
                    }
                    tracing::warn!(stage = "source", error_type = "aggregate_refused", "{err}; retrying with {next:?}");
                    level = next;
                }
            }
        }
    }

    /// One page of one report month, parsed into lake rows (parsing runs off the async threads).
    pub async fn fetch_page(
        &self,
        schema: &Arc<SourceSchema>,
        month: Month,
        offset: u64,
    ) -> Result<PageRows, SourceError> {
        let params = soql::month_page(&schema.report_date_field, month, self.config.page_size_rows, offset);
        let schema = Arc::clone(schema);
        self.request("page", &params, move |_, body| parse_page(&schema, &body)).await
    }

    /// One GET with retries. `parse` runs on a blocking thread; a parse failure of a 200 answer counts as a
    /// truncated body (transient).
    async fn request<T, F>(&self, kind: &'static str, params: &Params, parse: F) -> Result<T, SourceError>
    where
        T: Send + 'static,
        F: Fn(&HeaderMap, Bytes) -> Result<T, String> + Send + Sync + 'static,
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
        F: Fn(&HeaderMap, Bytes) -> Result<T, String> + Send + Sync + 'static,
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
        let body = resp.bytes().await;
        let body = match body {
            Ok(b) => b,
            Err(e) => return Err(transient(format!("HTTP {status}, body cut short: {}", describe(&e)), retry_after)),
        };
        self.traffic.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        tracing::debug!(stage = "source", kind, status, bytes = body.len(), url = %shown, "response");
        match status {
            200 => {
                let parsed = tokio::task::spawn_blocking(move || parse.as_ref()(&headers, body))
                    .await
                    .map_err(|e| transient(format!("parser task failed: {e}"), None))?;
                parsed.map_err(|m| transient(format!("truncated or malformed body: {m}"), None))
            }
            202 => Err(transient("HTTP 202: the server is still preparing the answer".into(), retry_after)),
            408 | 429 | 500..=599 => {
                let err = SocrataError::parse(&body);
                Err(transient(format!("HTTP {status}: {}", err.message), retry_after))
            }
            _ => Err(Failure::Terminal(terminal(status, shown, &body))),
        }
    }

    fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let cap = Duration::from_secs(self.config.backoff_max_seconds);
        if let Some(r) = retry_after {
            return r.min(cap);
        }
        let exp = self.config.backoff_initial_ms.saturating_mul(1u64 << (attempt - 1).min(20));
        let base = Duration::from_millis(exp).min(cap);
        // Jitter in [50%, 100%] so concurrent clients do not retry in step.
        base.mul_f64(0.5 + 0.5 * jitter())
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

/// Socrata's error body, read loosely: `errorCode` (query errors) or `code` (dataset errors) or just `message`.
#[derive(Debug, Clone, PartialEq)]
pub struct SocrataError {
    pub code: Option<String>,
    pub message: String,
}

impl SocrataError {
    pub fn parse(body: &[u8]) -> SocrataError {
        let v: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let text = |k: &str| v.as_ref().and_then(|v| v.get(k)).and_then(|x| x.as_str()).map(str::to_string);
        let code = text("errorCode").or_else(|| text("code"));
        let message = text("message").unwrap_or_else(|| {
            let s = String::from_utf8_lossy(body);
            let s = s.trim();
            if s.is_empty() {
                "(empty body)".to_string()
            } else {
                s.chars().take(300).collect()
            }
        });
        SocrataError { code, message }
    }

    /// The column named by a `no-such-column` error, if this is one.
    pub fn missing_column(&self) -> Option<String> {
        let is_it = self.code.as_deref().is_some_and(|c| c.contains("no-such-column"))
            || self.message.to_ascii_lowercase().contains("no such column");
        if !is_it {
            return None;
        }
        let lower = self.message.to_ascii_lowercase();
        let column = lower.find("no such column").map(|i| {
            let rest = &self.message[i + "no such column".len()..];
            let rest = rest.trim_start_matches([':', ' ']);
            rest.split(|c: char| c == ';' || c == ',' || c.is_whitespace()).next().unwrap_or("").to_string()
        });
        Some(column.filter(|c| !c.is_empty()).unwrap_or_else(|| "(not named by the server)".into()))
    }
}

fn terminal(status: u16, url: &str, body: &[u8]) -> SourceError {
    let err = SocrataError::parse(body);
    if let Some(column) = err.missing_column() {
        return SourceError::SchemaChanged { column, url: url.to_string() };
    }
    let hint = match status {
        401 | 403 => {
            "the server refused the request: check SODA_APP_TOKEN (or unset it) and that the dataset is public"
        }
        404 => "no such dataset at this host: check --dataset and --socrata-url",
        _ => "the server refused the query; this is not retried",
    };
    SourceError::Rejected { url: url.to_string(), status, code: err.code, message: err.message, hint }
}

/// A JSON value as the text the source meant (SODA sends strings; other servers may send numbers).
fn text_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Parses the fingerprint aggregate: `[{"month": "2024-03-01T00:00:00.000", "n": "6512", "u": ..., "s": ...}]`.
pub fn parse_fingerprints(body: &[u8]) -> Result<BTreeMap<Month, Fingerprint>, String> {
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(body).map_err(|e| format!("aggregate body is not a JSON array: {e}"))?;
    let mut out = BTreeMap::new();
    for r in rows {
        let Some(month_text) = r.get("month").and_then(text_of) else {
            continue; // rows without a report date: not in any month (and outside the range filter anyway)
        };
        let month = month_text
            .get(..7)
            .and_then(|m| Month::parse(m).ok())
            .ok_or_else(|| format!("aggregate month {month_text:?} is not a date"))?;
        let count = r
            .get("n")
            .and_then(text_of)
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|n| *n >= 0.0 && n.fract() == 0.0)
            .ok_or_else(|| format!("aggregate count for {month} is missing or not a whole number"))?
            as u64;
        out.insert(
            month,
            Fingerprint {
                count,
                max_updated_at: r.get("u").and_then(text_of),
                content_sum: r.get("s").and_then(text_of),
            },
        );
    }
    Ok(out)
}

/// Parses one page (a JSON array of row objects) straight into lake rows, one object at a time.
///
/// A page is tens of megabytes and every byte of it is parsed, so this avoids building a `serde_json::Map` per
/// row: keys and values are borrowed from the body where they have no escapes, and each key's meaning is looked
/// up once per position (rows of one page list their fields in the same order).
pub fn parse_page(schema: &SourceSchema, body: &[u8]) -> Result<PageRows, String> {
    struct PageVisitor<'s>(&'s SourceSchema);
    impl<'de> Visitor<'de> for PageVisitor<'_> {
        type Value = PageRows;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array of row objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PageRows, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1024));
            let mut keys = KeyCache::default();
            let mut fields: Vec<(JsonText<'de>, JsonField<'de>)> = Vec::with_capacity(32);
            while let Some(()) = seq.next_element_seed(RowSeed { fields: &mut fields })? {
                out.push(row_from_fields(self.0, &mut keys, &mut fields));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let rows = serde::Deserializer::deserialize_seq(&mut de, PageVisitor(schema)).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(rows)
}

/// What a source key means for the lake row.
#[derive(Debug, Clone, Copy)]
enum KeyUse {
    RowId,
    UpdatedAt,
    System,
    Column(usize),
    Extra,
}

fn key_use(schema: &SourceSchema, key: &str) -> KeyUse {
    match key {
        ":id" => KeyUse::RowId,
        ":updated_at" => KeyUse::UpdatedAt,
        k if k.starts_with(':') => KeyUse::System,
        k => match schema.mapping.get(k) {
            Some(&c) if c <= col::LAST_SOURCE => KeyUse::Column(c),
            _ => KeyUse::Extra,
        },
    }
}

/// The meaning of the key last seen at each position of a row object.
#[derive(Default)]
struct KeyCache(Vec<(String, KeyUse)>);

impl KeyCache {
    fn lookup(&mut self, schema: &SourceSchema, position: usize, key: &str) -> KeyUse {
        if let Some((k, u)) = self.0.get(position) {
            if k == key {
                return *u;
            }
        }
        let u = key_use(schema, key);
        if position < self.0.len() {
            self.0[position] = (key.to_string(), u);
        } else if position == self.0.len() {
            self.0.push((key.to_string(), u));
        }
        u
    }
}

/// Builds a lake row from a row object's fields, in document order (a repeated key: the last one wins); drains
/// `fields`.
fn row_from_fields(
    schema: &SourceSchema,
    keys: &mut KeyCache,
    fields: &mut Vec<(JsonText, JsonField)>,
) -> Result<CanonicalRow, Rejected> {
    let mut b = RowBuilder::new(SourceKind::Soda);
    for (i, (k, v)) in fields.iter().enumerate() {
        let text: Cow<str> = match v {
            JsonField::Null => continue,
            JsonField::Text(t) => Cow::Borrowed(t),
            JsonField::Other(o) => Cow::Owned(o.to_string()),
        };
        let text = text.as_ref();
        match keys.lookup(schema, i, &k.0) {
            KeyUse::RowId => b.set_row_id(text),
            KeyUse::UpdatedAt => b.set_updated_at(text),
            KeyUse::System => {}
            KeyUse::Column(c) => b.set(c, text),
            KeyUse::Extra => b.extra(&k.0, text.to_string()),
        }
    }
    let row = b.finish(|| {
        fields
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    JsonField::Null => serde_json::Value::Null,
                    JsonField::Text(t) => serde_json::Value::String(t.to_string()),
                    JsonField::Other(o) => o.clone(),
                };
                (k.0.to_string(), v)
            })
            .collect()
    });
    fields.clear();
    row
}

/// A JSON string, borrowed from the page when it has no escapes.
struct JsonText<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for JsonText<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonText<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonText(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonText(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// One value of a row object: SODA sends strings; other servers may send numbers or nested values.
enum JsonField<'de> {
    Null,
    Text(Cow<'de, str>),
    Other(serde_json::Value),
}

impl<'de> Deserialize<'de> for JsonField<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonField<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonField::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonField::Text(Cow::Owned(v.to_string())))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(JsonField::Null)
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(JsonField::Null)
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(JsonField::Other(v.into()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(JsonField::Other(v.into()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(JsonField::Other(v.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(JsonField::Other(v.into()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                serde_json::Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(JsonField::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(JsonField::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads one row object into a reused field list.
struct RowSeed<'a, 'de> {
    fields: &'a mut Vec<(JsonText<'de>, JsonField<'de>)>,
}

impl<'de> serde::de::DeserializeSeed<'de> for RowSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a row object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key::<JsonText<'de>>()? {
            let v = map.next_value::<JsonField<'de>>()?;
            self.fields.push((k, v));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Value;
    use crate::source::fields::NEW_API_FIELDS;

    #[test]
    fn both_socrata_error_shapes_and_bare_messages_parse() {
        let e = SocrataError::parse(br#"{"message": "Query coordinator error: query.soql.no-such-column; No such column: report_date_time; position: Map(row -> 1)", "errorCode": "query.soql.no-such-column", "data": {}}"#);
        assert_eq!(e.code.as_deref(), Some("query.soql.no-such-column"));
        assert_eq!(e.missing_column().as_deref(), Some("report_date_time"));
        let e = SocrataError::parse(br#"{"code": "dataset.missing", "error": true, "message": "Not found"}"#);
        assert_eq!(e.code.as_deref(), Some("dataset.missing"));
        assert_eq!(e.missing_column(), None);
        let e = SocrataError::parse(br#"{"message": "No such column: offense_cat"}"#);
        assert_eq!(e.missing_column().as_deref(), Some("offense_cat"));
        let e = SocrataError::parse(b"<html>bad gateway</html>");
        assert_eq!(e.message, "<html>bad gateway</html>");
    }

    #[test]
    fn fingerprints_parse_strings_and_numbers() {
        let fp = parse_fingerprints(
            br#"[{"month":"2024-03-01T00:00:00.000","n":"6512","u":"2026-11-01T10:00:00.000Z","s":"123"},{"month":"2024-04-01T00:00:00.000","n":7}]"#,
        )
        .unwrap();
        let m = Month::parse("2024-03").unwrap();
        assert_eq!(fp[&m].count, 6512);
        assert_eq!(fp[&m].max_updated_at.as_deref(), Some("2026-11-01T10:00:00.000Z"));
        assert_eq!(fp[&m.next()], Fingerprint { count: 7, max_updated_at: None, content_sum: None });
        assert!(parse_fingerprints(br#"[{"month":"2024-03-01T00:0"#).is_err());
    }

    #[test]
    fn a_page_parses_into_lake_rows_and_rejects_bad_ones() {
        let mut fields: Vec<&str> = NEW_API_FIELDS.to_vec();
        fields.push("census_block_2020");
        let schema = SourceSchema::from_fields(&fields).unwrap();
        let body = br#"[{":id":"row-1",":updated_at":"2026-01-02T03:04:05.678Z","report_number":"2026-906790","report_date_time":"2026-04-20T08:28:24.000","offense_id":"69762952251","latitude":"-1.0","longitude":"-122.33","block_address":"REDACTED","census_block_2020":"6400.3016","precinct":"North"},
        {":id":"row-2","offense_id":"1","report_date_time":"garbage"}]"#;
        let rows = parse_page(&schema, body).unwrap();
        let ok = rows[0].as_ref().unwrap();
        assert_eq!(ok.get(col::SOURCE_ROW_ID), &Value::Text("row-1".into()));
        assert_eq!(ok.get(col::LATITUDE), &Value::Null);
        assert_eq!(ok.get(col::LONGITUDE), &Value::Double(-122.33));
        assert_eq!(ok.get(col::BLOCK_ADDRESS), &Value::Null);
        assert_eq!(ok.get(13), &Value::Text("North".into()));
        assert_eq!(ok.get(col::EXTRA_COLUMNS), &Value::Text(r#"{"census_block_2020":"6400.3016"}"#.into()));
        assert_eq!(ok.get(col::SOURCE_KIND), &Value::Text("soda".into()));
        assert!(ok.get(col::SOURCE_UPDATED_AT).as_timestamp().is_some());
        let bad = rows[1].as_ref().unwrap_err();
        assert!(bad.reason.contains("report_date_time"));
        assert_eq!(bad.row.get(":id").and_then(|v| v.as_str()), Some("row-2"));
        assert!(parse_page(&schema, br#"[{"offense_id":"1"},{"off"#).is_err());
    }

    #[test]
    fn rows_with_other_key_orders_escapes_and_non_string_values_parse_alike() {
        let schema = SourceSchema::from_fields(&NEW_API_FIELDS).unwrap();
        // Three spellings of one row: SODA's, keys reordered with an escaped string, and numbers instead of
        // strings with a nested value and a repeated key (the last one wins, as in a JSON object).
        let body = br#"[
        {":id":"r1","offense_id":"7","report_date_time":"2024-03-05T10:00:00.000","beat":"B2","latitude":"47.61","precinct":null},
        {"beat":"B\u0032","report_date_time":"2024-03-05T10:00:00.000","latitude":"47.61",":id":"r1","offense_id":"7"},
        {":id":"r1","offense_id":7,"report_date_time":"2024-03-05T10:00:00.000","beat":"X","beat":"B2","latitude":47.61,":@computed":{"a":[1]}}
        ]"#;
        let rows = parse_page(&schema, body).unwrap();
        assert_eq!(rows.len(), 3);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.get(12), &Value::Text("B2".into()));
        assert_eq!(first.get(col::OFFENSE_ID), &Value::Text("7".into()));
        assert_eq!(first.get(col::LATITUDE), &Value::Double(47.61));
        for r in &rows[1..] {
            assert_eq!(r.as_ref().unwrap(), first);
        }
        // A rejected row keeps every field as sent, non-string values included.
        let bad =
            parse_page(&schema, br#"[{":id":"r9","offense_id":9,"report_date_time":"soon","x":{"y":1}}]"#).unwrap();
        let bad = bad[0].as_ref().unwrap_err();
        assert_eq!(bad.row.get("offense_id"), Some(&serde_json::json!(9)));
        assert_eq!(bad.row.get("x"), Some(&serde_json::json!({"y": 1})));
        assert_eq!(bad.row.get("report_date_time"), Some(&serde_json::json!("soon")));
    }

    #[test]
    fn jitter_stays_in_unit_interval() {
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
