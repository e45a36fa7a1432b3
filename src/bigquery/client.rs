//! The BigQuery REST calls a publish needs (datasets, tables, jobs, a resumable upload), over the project's own
//! `reqwest` (0.13, native TLS).
//!
//! Credentials are Google's default chain through `gcloud-auth` (`GOOGLE_APPLICATION_CREDENTIALS`,
//! `gcloud auth application-default login`, the metadata server on Google Cloud); an emulator gets no credentials.
//! The few resources used are written as the REST API's JSON, and answers are read into the few fields used here,
//! so an emulator's extra or missing output-only fields never break a publish. No BigQuery client crate uploads a
//! file for a load job, so the resumable upload (one `POST` that opens a session, one `PUT` with the file) is here.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::config::{BigQueryConfig, Endpoint};
use super::error::{BigQueryError, Target};

/// How long one REST call may take (an upload of the largest table included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);
/// Error rows of a failed job shown in the message.
const ERROR_ROWS_SHOWN: usize = 5;

/// Jobs and bytes a publish caused, for the summary and the benchmark.
#[derive(Debug, Default)]
pub struct Counters {
    pub load_jobs: AtomicU64,
    pub copy_jobs: AtomicU64,
    pub query_jobs: AtomicU64,
    pub bytes_uploaded: AtomicU64,
}

/// A connected client for one project.
pub struct Client {
    http: reqwest::Client,
    base: String,
    tokens: Option<Tokens>,
    project: String,
    location: String,
    pub counters: Counters,
}

/// What a publish reads back about an existing table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableInfo {
    #[serde(default)]
    pub labels: HashMap<String, String>,
    pub schema: Option<SchemaInfo>,
    pub time_partitioning: Option<PartitionInfo>,
    pub clustering: Option<ClusteringInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SchemaInfo {
    #[serde(default)]
    pub fields: Vec<FieldInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct FieldInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PartitionInfo {
    #[serde(rename = "type")]
    pub partition_type: Option<String>,
    pub field: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClusteringInfo {
    #[serde(default)]
    pub fields: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobInfo {
    job_reference: JobRef,
    #[serde(default)]
    status: JobStatusInfo,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobRef {
    job_id: String,
    location: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobStatusInfo {
    state: Option<String>,
    error_result: Option<ErrorInfo>,
    #[serde(default)]
    errors: Vec<ErrorInfo>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ErrorInfo {
    reason: Option<String>,
    location: Option<String>,
    message: Option<String>,
}

impl ErrorInfo {
    fn line(&self) -> String {
        let mut s = self.message.clone().unwrap_or_default();
        if let Some(l) = self.location.as_deref().filter(|l| !l.is_empty()) {
            s = format!("{s} (at {l})");
        }
        if let Some(r) = &self.reason {
            s = format!("{r}: {s}");
        }
        s
    }
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorInfo>,
    status: Option<String>,
}

/// What a job is, for counting and for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Load,
    Copy,
    Query,
}

impl JobKind {
    fn name(self) -> &'static str {
        match self {
            JobKind::Load => "load",
            JobKind::Copy => "copy",
            JobKind::Query => "query",
        }
    }
}

impl Client {
    /// Builds the HTTP client and, for Google's endpoint, finds credentials the Google way.
    pub async fn connect(config: &BigQueryConfig) -> Result<Client, BigQueryError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| BigQueryError::Unreachable {
                endpoint: config.endpoint.base_url(),
                target: Target::project(&config.project),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let tokens = match &config.endpoint {
            Endpoint::Emulator { .. } => None,
            Endpoint::Google { .. } => Some(Tokens::google().await?),
        };
        Ok(Client {
            http,
            base: config.endpoint.base_url(),
            tokens,
            project: config.project.clone(),
            location: config.location.clone(),
            counters: Counters::default(),
        })
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    fn api(&self, path: &str) -> String {
        format!("{}/bigquery/v2/projects/{}{path}", self.base, self.project)
    }

    /// Creates the dataset in the configured location unless it exists.
    pub async fn ensure_dataset(&self, dataset: &str) -> Result<(), BigQueryError> {
        let target = Target::dataset(&self.project, dataset);
        let url = self.api(&format!("/datasets/{dataset}"));
        if self.call::<Value>(Method::GET, &url, None::<&()>, &target, "read the dataset").await?.is_some() {
            return Ok(());
        }
        let body = json!({
            "datasetReference": {"projectId": self.project, "datasetId": dataset},
            "location": self.location,
        });
        let url = self.api("/datasets");
        let created = self.call::<Value>(Method::POST, &url, Some(&body), &target, "create the dataset");
        match created.await {
            Ok(_) => Ok(()),
            // Created by someone else in between: fine.
            Err(BigQueryError::Api { status: 409, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The table's labels, schema and layout, or `None` when it does not exist.
    pub async fn table(&self, dataset: &str, table: &str) -> Result<Option<TableInfo>, BigQueryError> {
        let url = self.api(&format!("/datasets/{dataset}/tables/{table}"));
        self.call(Method::GET, &url, None::<&()>, &Target::table(&self.project, dataset, table), "read the table").await
    }

    /// Creates a table from its REST resource (`tableReference`, `schema`, ...).
    pub async fn create_table(&self, table: &Value) -> Result<(), BigQueryError> {
        let r = &table["tableReference"];
        let (dataset, name) = (r["datasetId"].as_str().unwrap_or_default(), r["tableId"].as_str().unwrap_or_default());
        let url = self.api(&format!("/datasets/{dataset}/tables"));
        let target = Target::table(&self.project, dataset, name);
        self.call::<Value>(Method::POST, &url, Some(table), &target, "create a table").await?;
        Ok(())
    }

    /// Deletes the table; one that does not exist is fine.
    pub async fn delete_table(&self, dataset: &str, table: &str) -> Result<(), BigQueryError> {
        let url = self.api(&format!("/datasets/{dataset}/tables/{table}"));
        let target = Target::table(&self.project, dataset, table);
        self.call::<Value>(Method::DELETE, &url, None::<&()>, &target, "delete a table").await?;
        Ok(())
    }

    /// Replaces the table's labels (only the labels: a PATCH with one field).
    pub async fn set_labels(
        &self,
        dataset: &str,
        table: &str,
        labels: &HashMap<String, String>,
    ) -> Result<(), BigQueryError> {
        #[derive(Serialize)]
        struct Patch<'a> {
            labels: &'a HashMap<String, String>,
        }
        let url = self.api(&format!("/datasets/{dataset}/tables/{table}"));
        let target = Target::table(&self.project, dataset, table);
        self.call::<Value>(Method::PATCH, &url, Some(&Patch { labels }), &target, "label a table").await?;
        Ok(())
    }

    /// Inserts a job and waits until it is done; a job that ended with an error becomes [`BigQueryError::JobFailed`].
    pub async fn run_job(&self, kind: JobKind, job: Value, target: &Target) -> Result<(), BigQueryError> {
        let body = self.job(job);
        let action = format!("start a {} job", kind.name());
        let info: JobInfo = self
            .call(Method::POST, &self.api("/jobs"), Some(&body), target, &action)
            .await?
            .ok_or_else(|| not_found(target, &action))?;
        self.count(kind);
        self.wait(kind, info, target).await
    }

    /// A load job whose data is the file at `path`, sent by a resumable upload (one session, one `PUT`).
    pub async fn upload_load(&self, job: Value, path: &Path, target: &Target) -> Result<u64, BigQueryError> {
        let bytes = tokio::fs::read(path).await.map_err(|e| BigQueryError::io("read", path, e))?;
        let size = bytes.len() as u64;
        let body = self.job(job);
        let url = format!("{}/upload/bigquery/v2/projects/{}/jobs?uploadType=resumable", self.base, self.project);
        let action = "start an upload for a load job";
        let open = self.request(Method::POST, &url).await?.json(&body);
        let response = self.send(open, target, action).await?;
        let session = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| BigQueryError::Api {
                target: target.clone(),
                action: action.to_string(),
                status: response.status().as_u16(),
                message: "the answer named no upload session (no Location header)".into(),
            })?;
        let put = self
            .request(Method::PUT, &session)
            .await?
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_RANGE, format!("bytes 0-{}/{size}", size.saturating_sub(1)))
            .body(bytes);
        let response = self.send(put, target, "upload a Parquet file").await?;
        let info: JobInfo = response.json().await.map_err(|e| BigQueryError::Api {
            target: target.clone(),
            action: "upload a Parquet file".into(),
            status: 200,
            message: format!("unreadable answer: {e}"),
        })?;
        self.count(JobKind::Load);
        self.counters.bytes_uploaded.fetch_add(size, Ordering::Relaxed);
        self.wait(JobKind::Load, info, target).await?;
        Ok(size)
    }

    /// A job resource around `configuration` (`{"load": ...}`, `{"copy": ...}` or `{"query": ...}`), with an id
    /// of our own so a retried insert could never run twice.
    fn job(&self, configuration: Value) -> Value {
        json!({
            "jobReference": {"projectId": self.project, "jobId": new_job_id(), "location": self.location},
            "configuration": configuration,
        })
    }

    fn count(&self, kind: JobKind) {
        let counter = match kind {
            JobKind::Load => &self.counters.load_jobs,
            JobKind::Copy => &self.counters.copy_jobs,
            JobKind::Query => &self.counters.query_jobs,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Polls the job until it is done (the emulator answers done at once; BigQuery takes seconds).
    async fn wait(&self, kind: JobKind, mut info: JobInfo, target: &Target) -> Result<(), BigQueryError> {
        let mut delay = Duration::from_millis(250);
        while info.status.state.as_deref() != Some("DONE") {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
            let location = info.job_reference.location.clone().unwrap_or_else(|| self.location.clone());
            let url = self.api(&format!("/jobs/{}?location={location}", info.job_reference.job_id));
            info = self
                .call(Method::GET, &url, None::<&()>, target, "read a job's state")
                .await?
                .ok_or_else(|| not_found(target, "read a job's state"))?;
        }
        match info.status.error_result {
            None => Ok(()),
            Some(result) => {
                let rows: Vec<String> = info.status.errors.iter().take(ERROR_ROWS_SHOWN).map(ErrorInfo::line).collect();
                let mut message = result.line();
                if !rows.is_empty() {
                    message = format!("{message}; errors: {}", rows.join(" | "));
                }
                Err(BigQueryError::JobFailed {
                    target: target.clone(),
                    job: format!("{} job {}", kind.name(), info.job_reference.job_id),
                    message,
                })
            }
        }
    }

    async fn request(&self, method: Method, url: &str) -> Result<reqwest::RequestBuilder, BigQueryError> {
        let builder = self.http.request(method, url);
        match &self.tokens {
            None => Ok(builder),
            Some(tokens) => Ok(builder.header(reqwest::header::AUTHORIZATION, tokens.bearer().await?)),
        }
    }

    /// One JSON call: `None` for 404 (the caller decides whether that is an error).
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&impl Serialize>,
        target: &Target,
        action: &str,
    ) -> Result<Option<T>, BigQueryError> {
        let mut builder = self.request(method.clone(), url).await?;
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let response = match self.send(builder, target, action).await {
            Ok(r) => r,
            Err(BigQueryError::Api { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        if method == Method::DELETE || response.status() == StatusCode::NO_CONTENT {
            return Ok(serde_json::from_value(Value::Null).ok());
        }
        let value = response.json::<T>().await.map_err(|e| BigQueryError::Api {
            target: target.clone(),
            action: action.to_string(),
            status: 200,
            message: format!("unreadable answer: {e}"),
        })?;
        Ok(Some(value))
    }

    /// Sends and classifies the outcome: transport failures, permissions, quotas and other HTTP errors.
    async fn send(
        &self,
        builder: reqwest::RequestBuilder,
        target: &Target,
        action: &str,
    ) -> Result<reqwest::Response, BigQueryError> {
        let response = builder.send().await.map_err(|e| BigQueryError::Unreachable {
            endpoint: self.base.clone(),
            target: target.clone(),
            message: error_chain(&e),
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        Err(classify(status.as_u16(), &text, target, action))
    }
}

/// Maps an HTTP error answer to the error a user can act on.
fn classify(status: u16, text: &str, target: &Target, action: &str) -> BigQueryError {
    let (message, reasons) = match serde_json::from_str::<ErrorEnvelope>(text) {
        Ok(envelope) => {
            let mut reasons: Vec<String> = envelope.error.errors.iter().filter_map(|e| e.reason.clone()).collect();
            reasons.extend(envelope.error.status);
            (envelope.error.message, reasons)
        }
        Err(_) => (text.chars().take(300).collect(), Vec::new()),
    };
    let has = |r: &str| reasons.iter().any(|x| x.eq_ignore_ascii_case(r));
    let (target, action) = (target.clone(), action.to_string());
    if status == 429 || has("quotaExceeded") || has("rateLimitExceeded") || has("RESOURCE_EXHAUSTED") {
        BigQueryError::Quota { target, action, message }
    } else if status == 403 || status == 401 {
        BigQueryError::PermissionDenied { target, action, message }
    } else {
        BigQueryError::Api { target, action, status, message }
    }
}

fn not_found(target: &Target, action: &str) -> BigQueryError {
    BigQueryError::Api {
        target: target.clone(),
        action: action.to_string(),
        status: 404,
        message: "not found; check bigquery.project and that the project exists".into(),
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Bearer tokens from Google's default credential chain, refreshed by `gcloud-auth` as they expire.
struct Tokens(std::sync::Arc<dyn token_source::TokenSource>);

impl Tokens {
    /// BigQuery's scope; the chain: GOOGLE_APPLICATION_CREDENTIALS, gcloud's ADC file, the metadata server.
    async fn google() -> Result<Tokens, BigQueryError> {
        use token_source::TokenSourceProvider as _;
        let config = gcloud_auth::project::Config::default().with_scopes(&[BIGQUERY_SCOPE]);
        let provider = gcloud_auth::token::DefaultTokenSourceProvider::new(config)
            .await
            .map_err(|e| BigQueryError::Credentials { message: e.to_string() })?;
        Ok(Tokens(provider.token_source()))
    }

    /// `Bearer <token>`.
    async fn bearer(&self) -> Result<String, BigQueryError> {
        self.0.token().await.map_err(|e| BigQueryError::Credentials { message: e.to_string() })
    }
}

const BIGQUERY_SCOPE: &str = "https://www.googleapis.com/auth/bigquery";

/// Unique per call: `crimewatch_<unix micros>_<pid>_<n>` (job ids are letters, digits, `_` and `-`).
fn new_job_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let micros = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_micros();
    format!("crimewatch_{micros}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_errors_become_errors_a_user_can_act_on() {
        let t = Target::table("p", "d", "t");
        let denied = r#"{"error":{"code":403,"message":"Access Denied: Table p:d.t","errors":[{"reason":"accessDenied","message":"Access Denied"}],"status":"PERMISSION_DENIED"}}"#;
        assert!(matches!(classify(403, denied, &t, "x"), BigQueryError::PermissionDenied { .. }));
        let quota =
            r#"{"error":{"code":403,"message":"Quota exceeded","errors":[{"reason":"quotaExceeded","message":"q"}]}}"#;
        let e = classify(403, quota, &t, "x");
        assert!(matches!(e, BigQueryError::Quota { .. }) && e.is_transient(), "{e}");
        let e = classify(503, "<html>down</html>", &t, "x");
        assert!(matches!(e, BigQueryError::Api { status: 503, .. }) && e.is_transient(), "{e}");
        assert!(!classify(400, "{}", &t, "x").is_transient());
    }
}
