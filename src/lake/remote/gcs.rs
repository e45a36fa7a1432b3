//! An [`ObjectStore`] for Google Cloud Storage that speaks only GCS's **JSON API**, so that the real service and
//! fake-gcs-server (the tests' emulator) take the very same requests.
//!
//! ## Why not `object_store::gcp::GoogleCloudStorage` as it is
//! `GoogleCloudStorage` reads, writes, heads, deletes and copies through the XML API (`{base}/{bucket}/{object}`)
//! and lists with the XML `list-type=2`. Measured against fake-gcs-server 1.54.0 started the way the tests and the
//! outside checks start it (`-scheme http -host 127.0.0.1 -port P -backend memory`):
//! - the XML object PUT answers `400 invalid uploadType` (with or without a matching `Host`), so no write works;
//! - every XML read (GET, HEAD, list) answers `404 Not Found` unless the request's `Host` header equals the
//!   emulator's `-public-host` (default `storage.googleapis.com`): the XML routes are bound to that host name.
//!   Spoofing `Host` would tie us to one emulator flag; Google's own client libraries talk to
//!   `STORAGE_EMULATOR_HOST` through the JSON API only, and so do we.
//!
//! So every operation goes through the JSON API, one path for both, tested end to end on the emulator
//! (tests/gcs_store.rs). Only the credential chain is `object_store`'s ([`GoogleCloudStorage::credentials`]).
//!
//! ## Endpoints (`{base}` = `https://storage.googleapis.com` or `STORAGE_EMULATOR_HOST`)
//! - put: `POST {base}/upload/storage/v1/b/{bucket}/o?uploadType=multipart&name={object}` with
//!   `ifGenerationMatch=0` for [`PutMode::Create`] and `ifGenerationMatch={generation}` for [`PutMode::Update`]; a
//!   `412` is [`object_store::Error::AlreadyExists`] (create) or [`object_store::Error::Precondition`] (update).
//!   The whole object goes in that one request (`multipart/related`: JSON metadata, then the bytes), held in
//!   memory. GCS takes objects up to 5 TiB that way, but a failed request is sent again from the start, so Google
//!   advises single-request uploads only for what is cheap to resend (its guide: ~30 MB at 8 Mbit/s for a 30 s
//!   budget); the lake's month files are a few MB. No resumable upload: `put_multipart` buffers its parts and
//!   sends them as one such upload on `complete`.
//! - get/head: `GET {base}/storage/v1/b/{bucket}/o/{object}` (metadata: size, `updated`, `etag`, `generation`),
//!   then for get `GET …?alt=media&generation={generation}`, with `Range` when a range is asked. Pinning the
//!   generation read from the metadata means the bytes are those of the object the metadata describes; if it was
//!   replaced in between (the media request answers 404), the pair is tried again, three times at most.
//!   [`ObjectMeta::version`] is the object's generation, so a conditional update can be planned from a read.
//!   `If-Match`/`If-None-Match`/`If-(Un)Modified-Since` are checked against that metadata
//!   ([`GetOptions::check_preconditions`]), not by the server.
//! - list: `GET {base}/storage/v1/b/{bucket}/o?prefix=…[&delimiter=/]&maxResults=1000[&pageToken=…]`, every page.
//! - delete: `DELETE {base}/storage/v1/b/{bucket}/o/{object}` (a missing object is `NotFound`).
//! - copy: a get and a put (create-if-absent or overwrite). fake-gcs-server ignores `ifGenerationMatch=0` on
//!   `copyTo` and `rewriteTo` (measured: both overwrite an existing destination), so a server-side copy could not
//!   be tested to be create-only; the lake's files are small enough to pass through.
//!
//! ## Credentials
//! With `STORAGE_EMULATOR_HOST` set (`http://127.0.0.1:4443` or `127.0.0.1:4443`), requests go there with no
//! credentials at all, as Google's client libraries do. Otherwise `object_store`'s chain, from the environment
//! ([`GoogleCloudStorageBuilder::from_env`]): `GOOGLE_SERVICE_ACCOUNT`/`GOOGLE_SERVICE_ACCOUNT_KEY`, else
//! application default credentials (`GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's
//! `~/.config/gcloud/application_default_credentials.json`), else the metadata server (Cloud Run, GCE, GKE). Its
//! tokens are cached and refreshed by `object_store`; the bearer token goes only into the `Authorization` header
//! and is never logged or put in an error. With no credentials anywhere, the first request fails with
//! `Unauthenticated` ("no Google credentials", naming the bucket) once the metadata server has been tried: two
//! retries within 15 s at most, not `object_store`'s default 10 within 3 minutes (measured here, where the
//! metadata address is refused: 0.4 s).
//!
//! ## Errors
//! Each one keeps the bucket and the object: its source is a [`GcsError`] naming `gs://bucket/object`, the HTTP
//! status and GCS's own message. A write or a listing answered `404` means the bucket is missing (or not visible
//! to these credentials), and says so. Reads and listings are retried (three attempts) on a connection error, a
//! timeout, `429` and `5xx`; writes are not, since a conditional write whose answer was lost would come back as a
//! `412` that is not a lost race.
//!
//! ## Not verified against the real GCS
//! No test here reaches Google. Unverified: the credential chain end to end (service account, ADC, metadata
//! server); the real service's error bodies (the emulator's say only "Not Found"/"Precondition failed"); that
//! `+` in a query string (the form encoding of a space in an object name) is read as a space, as the emulator does.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::gcp::{GcpCredentialProvider, GoogleCloudStorage, GoogleCloudStorageBuilder};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, BackoffConfig, CopyMode, CopyOptions, Extensions, GetOptions, GetResult,
    GetResultPayload, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMode, PutMultipartOptions, PutOptions,
    PutPayload, PutResult, RetryConfig, UploadPart,
};
use reqwest::{header, RequestBuilder, Response, StatusCode, Url};
use serde::Deserialize;

/// The store's name in `object_store::Error::Generic`.
const STORE: &str = "GCS";
const GOOGLE_BASE: &str = "https://storage.googleapis.com";
/// Objects per listing page: GCS's default and maximum. Sent explicitly because fake-gcs-server returns everything in
/// one page unless asked (measured), which would leave the paging untested.
const LIST_PAGE: &str = "1000";
/// Attempts of an idempotent request (reads, listings, deletes) before its error is returned.
const ATTEMPTS: u32 = 3;

/// The lake's bucket on GCS: `STORAGE_EMULATOR_HOST` when set (no credentials), else storage.googleapis.com with
/// the environment's Google credentials (see the module's doc). Fails only on a malformed emulator address or
/// unreadable credential files; a missing bucket shows on the first request, naming the bucket.
pub fn gcs_store(bucket: &str) -> Result<Arc<dyn ObjectStore>, object_store::Error> {
    let emulator = std::env::var("STORAGE_EMULATOR_HOST").ok();
    Ok(Arc::new(GcsStore::from_env(bucket, emulator.as_deref())?))
}

/// Retries of a token request. object_store's default (10 retries within 3 minutes) would keep a run with no
/// credentials off Google Cloud knocking at the metadata server for minutes before it says what is missing.
fn token_retry() -> RetryConfig {
    let backoff =
        BackoffConfig { init_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(2), base: 2.0 };
    RetryConfig { backoff, max_retries: 2, retry_timeout: Duration::from_secs(15) }
}

/// The JSON-API GCS store; cheap to clone (one shared client).
#[derive(Debug, Clone)]
pub struct GcsStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    bucket: String,
    base: Url,
    http: reqwest::Client,
    /// `None` on an emulator: no `Authorization` header at all.
    credentials: Option<GcpCredentialProvider>,
}

/// What GCS (or the way to it) answered, naming the bucket and the object: the source of every error this store
/// returns.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} gs://{bucket}/{object}: {detail}")]
pub struct GcsError {
    action: &'static str,
    bucket: String,
    object: String,
    detail: String,
}

impl GcsStore {
    /// What [`gcs_store`] makes with `STORAGE_EMULATOR_HOST=emulator_host`, without reading or changing the
    /// process's environment (the tests run many stores, and child processes, side by side).
    pub fn emulated(bucket: &str, emulator_host: &str) -> Result<GcsStore, object_store::Error> {
        GcsStore::from_env(bucket, Some(emulator_host))
    }

    /// `emulator` is `STORAGE_EMULATOR_HOST`'s value: an empty one counts as unset.
    fn from_env(bucket: &str, emulator: Option<&str>) -> Result<GcsStore, object_store::Error> {
        let (base, credentials) = match emulator.map(str::trim).filter(|e| !e.is_empty()) {
            Some(host) => (emulator_base(host).map_err(|detail| config_error(bucket, detail))?, None),
            None => {
                let google: GoogleCloudStorage =
                    GoogleCloudStorageBuilder::from_env().with_bucket_name(bucket).with_retry(token_retry()).build()?;
                let base = Url::parse(GOOGLE_BASE).map_err(|e| config_error(bucket, e.to_string()))?;
                (base, Some(Arc::clone(google.credentials())))
            }
        };
        GcsStore::new(bucket, base, credentials)
    }

    fn new(
        bucket: &str,
        base: Url,
        credentials: Option<GcpCredentialProvider>,
    ) -> Result<GcsStore, object_store::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("crimewatch/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| config_error(bucket, e.to_string()))?;
        Ok(GcsStore { inner: Arc::new(Inner { bucket: bucket.to_string(), base, http, credentials }) })
    }

    pub fn bucket(&self) -> &str {
        &self.inner.bucket
    }
}

/// `STORAGE_EMULATOR_HOST` → the base URL: `host:port` means plain http, as Google's client libraries read it.
fn emulator_base(host: &str) -> Result<Url, String> {
    let with_scheme = if host.contains("://") { host.to_string() } else { format!("http://{host}") };
    let url = Url::parse(&with_scheme).map_err(|e| format!("STORAGE_EMULATOR_HOST={host:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(format!("STORAGE_EMULATOR_HOST={host:?} must be http://host:port or https://host:port"));
    }
    Ok(url)
}

fn config_error(bucket: &str, detail: String) -> object_store::Error {
    let source = GcsError { action: "reach", bucket: bucket.to_string(), object: String::new(), detail };
    object_store::Error::Generic { store: STORE, source: Box::new(source) }
}

// ---------------------------------------------------------------------------------------------------------------
// URLs and request bodies (pure).

impl Inner {
    /// `{base}/{segments…}`, each segment percent-encoded whole (an object name's `/` becomes `%2F`).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // The base was checked to be a base URL when the store was made.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// The object's metadata resource; `?alt=media` on it is its bytes.
    fn object_url(&self, name: &str) -> Url {
        self.url(&["storage", "v1", "b", &self.bucket, "o", name])
    }

    fn list_url(&self, prefix: &str, delimiter: bool, page_token: Option<&str>) -> Url {
        let mut url = self.url(&["storage", "v1", "b", &self.bucket, "o"]);
        {
            let mut q = url.query_pairs_mut();
            if !prefix.is_empty() {
                q.append_pair("prefix", prefix);
            }
            if delimiter {
                q.append_pair("delimiter", "/");
            }
            q.append_pair("maxResults", LIST_PAGE);
            if let Some(token) = page_token {
                q.append_pair("pageToken", token);
            }
        }
        url
    }

    /// The multipart upload's URL, with the precondition that `mode` asks for.
    fn upload_url(&self, name: &str, mode: &PutMode) -> Result<Url, object_store::Error> {
        let mut url = self.url(&["upload", "storage", "v1", "b", &self.bucket, "o"]);
        url.query_pairs_mut().append_pair("uploadType", "multipart").append_pair("name", name);
        match mode {
            PutMode::Overwrite => {}
            PutMode::Create => {
                url.query_pairs_mut().append_pair("ifGenerationMatch", "0");
            }
            PutMode::Update(version) => {
                let generation = version.version.as_deref().ok_or_else(|| {
                    object_store::Error::Precondition {
                    path: name.to_string(),
                    source: Box::new(self.error(
                        "update",
                        name,
                        "a conditional update needs the object's generation (ObjectMeta.version or PutResult.version \
                         from this store), and none was given"
                            .to_string(),
                    )),
                }
                })?;
                url.query_pairs_mut().append_pair("ifGenerationMatch", generation);
            }
        }
        Ok(url)
    }

    fn error(&self, action: &'static str, object: &str, detail: String) -> GcsError {
        GcsError { action, bucket: self.bucket.clone(), object: object.to_string(), detail }
    }
}

/// The `multipart/related` body of an upload: the object's JSON metadata, then its bytes. Returns the
/// `Content-Type` (with the boundary, chosen to occur nowhere in the bytes) and the body.
fn multipart_body(metadata: &serde_json::Value, payload: &PutPayload) -> (String, Vec<u8>) {
    let data: Vec<u8> = payload.iter().flat_map(|chunk| chunk.iter().copied()).collect();
    let boundary = (0u64..)
        .map(|n| format!("crimewatch-{:016x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ data.len() as u64))
        .find(|b| !data.windows(b.len()).any(|w| w == b.as_bytes()))
        .unwrap_or_default();
    let mut body = Vec::with_capacity(data.len() + 512);
    body.extend_from_slice(format!("--{boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n").as_bytes());
    body.extend_from_slice(metadata.to_string().as_bytes());
    body.extend_from_slice(format!("\r\n--{boundary}\r\ncontent-type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend_from_slice(&data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/related; boundary={boundary}"), body)
}

/// The object resource's metadata for an upload: its name and the attributes GCS keeps.
fn upload_metadata(name: &str, attributes: &Attributes) -> serde_json::Value {
    let mut meta = serde_json::json!({ "name": name, "contentType": "application/octet-stream" });
    let mut custom = serde_json::Map::new();
    for (attribute, value) in attributes {
        let value = value.as_ref().to_string();
        match attribute {
            Attribute::ContentType => meta["contentType"] = value.into(),
            Attribute::ContentEncoding => meta["contentEncoding"] = value.into(),
            Attribute::ContentDisposition => meta["contentDisposition"] = value.into(),
            Attribute::ContentLanguage => meta["contentLanguage"] = value.into(),
            Attribute::CacheControl => meta["cacheControl"] = value.into(),
            Attribute::StorageClass => meta["storageClass"] = value.into(),
            Attribute::Metadata(key) => {
                custom.insert(key.to_string(), value.into());
            }
            // `Attribute` is non-exhaustive: a kind added later is not sent rather than sent wrong.
            _ => {}
        }
    }
    if !custom.is_empty() {
        meta["metadata"] = custom.into();
    }
    meta
}

/// An object prefix for a listing: `a/b` lists what is under `a/b/`, not `a/bc` (object_store's meaning).
fn dir_prefix(prefix: Option<&Path>) -> String {
    match prefix.map(|p| p.as_ref()).filter(|p| !p.is_empty()) {
        Some(p) => format!("{p}/"),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Responses.

/// The fields of GCS's object resource that the store uses (the JSON API gives `size` and `generation` as strings).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectResource {
    name: String,
    size: String,
    generation: String,
    etag: Option<String>,
    updated: Option<String>,
    time_created: Option<String>,
    content_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectList {
    #[serde(default)]
    items: Vec<ObjectResource>,
    #[serde(default)]
    prefixes: Vec<String>,
    next_page_token: Option<String>,
}

impl ObjectResource {
    fn meta(&self) -> Result<ObjectMeta, String> {
        let location = Path::parse(&self.name).map_err(|e| format!("object name {:?}: {e}", self.name))?;
        let size = self.size.parse().map_err(|e| format!("size {:?}: {e}", self.size))?;
        let stamp = self.updated.as_deref().or(self.time_created.as_deref()).unwrap_or_default();
        let last_modified =
            DateTime::parse_from_rfc3339(stamp).map_err(|e| format!("timestamp {stamp:?}: {e}"))?.with_timezone(&Utc);
        Ok(ObjectMeta {
            location,
            last_modified,
            size,
            e_tag: self.etag.clone(),
            version: Some(self.generation.clone()),
        })
    }
}

/// The `object_store` error for a GCS answer other than success. `create`: the request was a create-if-absent, so
/// a failed precondition means the object exists.
fn status_error(status: StatusCode, create: bool, path: &str, source: GcsError) -> object_store::Error {
    let (path, source) = (path.to_string(), Box::new(source));
    match status {
        StatusCode::NOT_FOUND => object_store::Error::NotFound { path, source },
        StatusCode::PRECONDITION_FAILED if create => object_store::Error::AlreadyExists { path, source },
        StatusCode::PRECONDITION_FAILED => object_store::Error::Precondition { path, source },
        StatusCode::NOT_MODIFIED => object_store::Error::NotModified { path, source },
        StatusCode::UNAUTHORIZED => object_store::Error::Unauthenticated { path, source },
        StatusCode::FORBIDDEN => object_store::Error::PermissionDenied { path, source },
        _ => object_store::Error::Generic { store: STORE, source },
    }
}

/// GCS's own message from an error body (`{"error": {"message": …}}`), else the body's start.
fn error_message(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string));
    from_json.unwrap_or_else(|| body.trim().chars().take(300).collect())
}

fn is_transient(result: &Result<Response, reqwest::Error>) -> bool {
    match result {
        Ok(r) => r.status() == StatusCode::TOO_MANY_REQUESTS || r.status().is_server_error(),
        Err(e) => e.is_connect() || e.is_timeout() || e.is_request(),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Requests.

/// How a request is sent and what its failure means.
struct Call<'a> {
    action: &'static str,
    object: &'a str,
    /// Sent again on a transient failure.
    idempotent: bool,
    /// A create-if-absent write (412 → AlreadyExists).
    create: bool,
    /// A 404 means the bucket is missing (writes, listings), not the object.
    missing_means_bucket: bool,
}

impl Inner {
    /// Sends `request` (with the bearer token, if any) and returns a successful response, or the error naming the
    /// bucket and object.
    async fn send(&self, request: RequestBuilder, call: Call<'_>) -> Result<Response, object_store::Error> {
        let request = match &self.credentials {
            None => request,
            Some(provider) => {
                let credential = provider.get_credential().await.map_err(|e| object_store::Error::Unauthenticated {
                    path: call.object.to_string(),
                    source: Box::new(self.error(call.action, call.object, format!("no Google credentials ({e})"))),
                })?;
                request.bearer_auth(&credential.bearer)
            }
        };
        let attempts = if call.idempotent { ATTEMPTS } else { 1 };
        let mut result: Result<Response, Option<reqwest::Error>> = Err(None);
        for attempt in 1..=attempts {
            let Some(this) = request.try_clone() else { break };
            let sent = this.send().await;
            let retry = attempt < attempts && is_transient(&sent);
            result = sent.map_err(Some);
            if !retry {
                break;
            }
            tracing::debug!(bucket = %self.bucket, object = call.object, attempt, "GCS request failed; retrying");
            tokio::time::sleep(Duration::from_millis(250 * 4u64.pow(attempt - 1))).await;
        }
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                let detail = e.map(|e| e.to_string()).unwrap_or_else(|| "the request could not be built".to_string());
                let source = self.error(call.action, call.object, detail);
                return Err(object_store::Error::Generic { store: STORE, source: Box::new(source) });
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let message = error_message(&response.text().await.unwrap_or_default());
        let detail = if status == StatusCode::NOT_FOUND && call.missing_means_bucket {
            format!("HTTP 404: bucket does not exist, or these credentials cannot see it ({message})")
        } else {
            format!("HTTP {status}: {message}")
        };
        Err(status_error(status, call.create, call.object, self.error(call.action, call.object, detail)))
    }

    async fn json<T: for<'de> Deserialize<'de>>(
        &self,
        response: Response,
        action: &'static str,
        object: &str,
    ) -> Result<T, object_store::Error> {
        let body = response.bytes().await.map_err(|e| self.generic(action, object, e.to_string()))?;
        serde_json::from_slice(&body).map_err(|e| self.generic(action, object, format!("unexpected answer: {e}")))
    }

    fn generic(&self, action: &'static str, object: &str, detail: String) -> object_store::Error {
        object_store::Error::Generic { store: STORE, source: Box::new(self.error(action, object, detail)) }
    }

    async fn put(&self, name: &str, payload: PutPayload, opts: PutOptions) -> Result<PutResult, object_store::Error> {
        let url = self.upload_url(name, &opts.mode)?;
        let (content_type, body) = multipart_body(&upload_metadata(name, &opts.attributes), &payload);
        tracing::debug!(bucket = %self.bucket, object = name, bytes = payload.content_length(), "GCS upload");
        let request = self.http.post(url).header(header::CONTENT_TYPE, content_type).body(body);
        let create = matches!(opts.mode, PutMode::Create);
        let call = Call { action: "write", object: name, idempotent: false, create, missing_means_bucket: true };
        let response = self.send(request, call).await?;
        let object: ObjectResource = self.json(response, "write", name).await?;
        Ok(PutResult { e_tag: object.etag, version: Some(object.generation), extensions: Extensions::default() })
    }

    /// The object's metadata, at `generation` if one is given.
    async fn metadata(&self, name: &str, generation: Option<&str>) -> Result<ObjectResource, object_store::Error> {
        let mut url = self.object_url(name);
        if let Some(g) = generation {
            url.query_pairs_mut().append_pair("generation", g);
        }
        let call = Call { action: "read", object: name, idempotent: true, create: false, missing_means_bucket: false };
        let response = self.send(self.http.get(url), call).await?;
        self.json(response, "read", name).await
    }

    async fn get(&self, name: &str, options: GetOptions) -> Result<GetResult, object_store::Error> {
        let pinned = options.version.is_some();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let object = self.metadata(name, options.version.as_deref()).await?;
            let meta = object.meta().map_err(|e| self.generic("read", name, e))?;
            options.check_preconditions(&meta)?;
            let range = match &options.range {
                Some(r) => r.as_range(meta.size).map_err(|e| self.generic("read", name, e.to_string()))?,
                None => 0..meta.size,
            };
            let mut attributes = Attributes::new();
            if let Some(ct) = object.content_type {
                attributes.insert(Attribute::ContentType, AttributeValue::from(ct));
            }
            if options.head {
                let payload = GetResultPayload::Stream(stream::empty().boxed());
                return Ok(GetResult { payload, meta, range, attributes, extensions: Extensions::default() });
            }
            match self.media(name, &object.generation, &range, meta.size).await {
                Ok(payload) => {
                    return Ok(GetResult { payload, meta, range, attributes, extensions: Extensions::default() })
                }
                // Replaced between the two requests: read the new one (unless that very generation was asked for).
                Err(object_store::Error::NotFound { .. }) if !pinned && attempt < ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The bytes of `generation` of the object, `range` of them.
    async fn media(
        &self,
        name: &str,
        generation: &str,
        range: &Range<u64>,
        size: u64,
    ) -> Result<GetResultPayload, object_store::Error> {
        let mut url = self.object_url(name);
        url.query_pairs_mut().append_pair("alt", "media").append_pair("generation", generation);
        let mut request = self.http.get(url);
        if *range != (0..size) {
            request = request.header(header::RANGE, format!("bytes={}-{}", range.start, range.end - 1));
        }
        let call = Call { action: "read", object: name, idempotent: true, create: false, missing_means_bucket: false };
        let response = self.send(request, call).await?;
        let (bucket, object) = (self.bucket.clone(), name.to_string());
        let body = response.bytes_stream().map_err(move |e| object_store::Error::Generic {
            store: STORE,
            source: Box::new(GcsError {
                action: "read",
                bucket: bucket.clone(),
                object: object.clone(),
                detail: e.to_string(),
            }),
        });
        Ok(GetResultPayload::Stream(body.boxed()))
    }

    async fn list_page(
        &self,
        prefix: &str,
        delimiter: bool,
        token: Option<&str>,
    ) -> Result<ObjectList, object_store::Error> {
        let url = self.list_url(prefix, delimiter, token);
        let call = Call { action: "list", object: prefix, idempotent: true, create: false, missing_means_bucket: true };
        let response = self.send(self.http.get(url), call).await?;
        self.json(response, "list", prefix).await
    }

    fn metas(&self, items: Vec<ObjectResource>, prefix: &str) -> Result<Vec<ObjectMeta>, object_store::Error> {
        items.iter().map(|o| o.meta().map_err(|e| self.generic("list", prefix, e))).collect()
    }

    async fn delete(&self, name: &str) -> Result<(), object_store::Error> {
        let call =
            Call { action: "delete", object: name, idempotent: true, create: false, missing_means_bucket: false };
        self.send(self.http.delete(self.object_url(name)), call).await?;
        Ok(())
    }
}

/// Where a listing is: before its first page, at a next page, or past its last.
enum Page {
    First,
    Next(String),
    Done,
}

#[async_trait]
impl ObjectStore for GcsStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put(location.as_ref(), payload, opts).await
    }

    /// Buffers the parts in memory and writes them as one upload on `complete` (see the module's doc: no
    /// resumable uploads; the lake's objects are a few MB).
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let opts = PutOptions { attributes: opts.attributes, ..PutOptions::default() };
        Ok(Box::new(BufferedUpload { store: self.clone(), location: location.clone(), parts: Vec::new(), opts }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        self.inner.get(location.as_ref(), options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let inner = Arc::clone(&self.inner);
        locations
            .map(move |location| {
                let inner = Arc::clone(&inner);
                async move {
                    let location = location?;
                    inner.delete(location.as_ref()).await?;
                    Ok(location)
                }
            })
            .buffered(10)
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let inner = Arc::clone(&self.inner);
        let prefix = dir_prefix(prefix);
        stream::try_unfold(Page::First, move |page| {
            let (inner, prefix) = (Arc::clone(&inner), prefix.clone());
            async move {
                let token = match page {
                    Page::Done => return Ok::<_, object_store::Error>(None),
                    Page::First => None,
                    Page::Next(token) => Some(token),
                };
                let list = inner.list_page(&prefix, false, token.as_deref()).await?;
                let next = list.next_page_token.map_or(Page::Done, Page::Next);
                Ok(Some((stream::iter(inner.metas(list.items, &prefix)?.into_iter().map(Ok)), next)))
            }
        })
        .try_flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let prefix = dir_prefix(prefix);
        let mut result =
            ListResult { common_prefixes: Vec::new(), objects: Vec::new(), extensions: Extensions::default() };
        let mut token = None;
        loop {
            let list = self.inner.list_page(&prefix, true, token.as_deref()).await?;
            result.objects.extend(self.inner.metas(list.items, &prefix)?);
            for p in &list.prefixes {
                let dir = Path::parse(p.trim_end_matches('/'))
                    .map_err(|e| self.inner.generic("list", &prefix, e.to_string()))?;
                result.common_prefixes.push(dir);
            }
            match list.next_page_token {
                Some(t) => token = Some(t),
                None => return Ok(result),
            }
        }
    }

    /// A get and a put: see the module's doc for why not GCS's `copyTo`.
    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
        let source = self.inner.get(from.as_ref(), GetOptions::default()).await?;
        let attributes = source.attributes.clone();
        let bytes: Bytes = source.bytes().await?;
        let mode = match options.mode {
            CopyMode::Create => PutMode::Create,
            CopyMode::Overwrite => PutMode::Overwrite,
        };
        self.inner.put(to.as_ref(), bytes.into(), PutOptions { mode, attributes, ..PutOptions::default() }).await?;
        Ok(())
    }
}

impl fmt::Display for GcsStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GcsStore(gs://{} at {})", self.inner.bucket, self.inner.base)
    }
}

/// [`ObjectStore::put_multipart_opts`]'s upload: the parts in memory until `complete` writes them as one object.
#[derive(Debug)]
struct BufferedUpload {
    store: GcsStore,
    location: Path,
    parts: Vec<PutPayload>,
    opts: PutOptions,
}

#[async_trait]
impl MultipartUpload for BufferedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.parts.push(data);
        Box::pin(futures_util::future::ready(Ok(())))
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let payload: PutPayload = std::mem::take(&mut self.parts).iter().flat_map(|p| p.iter().cloned()).collect();
        self.store.inner.put(self.location.as_ref(), payload, self.opts.clone()).await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.parts.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::UpdateVersion;

    fn store(base: &str) -> GcsStore {
        GcsStore::new("lake-bucket", Url::parse(base).unwrap(), None).unwrap()
    }

    const MONTH_FILE: &str = "spd_crime/report_month=2024-03/part 1%.parquet";

    #[test]
    fn object_urls_encode_the_whole_name_as_one_segment() {
        let s = store("http://127.0.0.1:4443");
        assert_eq!(
            s.inner.object_url(MONTH_FILE).as_str(),
            "http://127.0.0.1:4443/storage/v1/b/lake-bucket/o/spd_crime%2Freport_month=2024-03%2Fpart%201%25.parquet"
        );
        // A base with a path (a proxy in front of the emulator) keeps it.
        let s = store("http://proxy.local/gcs/");
        assert_eq!(s.inner.object_url("a").as_str(), "http://proxy.local/gcs/storage/v1/b/lake-bucket/o/a");
    }

    #[test]
    fn upload_urls_carry_the_precondition_each_mode_asks_for() {
        let s = store("https://storage.googleapis.com");
        let url = |mode: &PutMode| s.inner.upload_url(MONTH_FILE, mode).unwrap();
        let query = |mode: &PutMode| url(mode).query_pairs().into_owned().collect::<Vec<_>>();
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(url(&PutMode::Overwrite).path(), "/upload/storage/v1/b/lake-bucket/o");
        assert_eq!(query(&PutMode::Overwrite), [pair("uploadType", "multipart"), pair("name", MONTH_FILE)]);
        assert_eq!(query(&PutMode::Create)[2], pair("ifGenerationMatch", "0"));
        let update = PutMode::Update(UpdateVersion { e_tag: None, version: Some("1795987889424310".into()) });
        assert_eq!(query(&update)[2], pair("ifGenerationMatch", "1795987889424310"));
        assert_eq!(query(&update).len(), 3);
        // No generation to match: refused before any request, naming the object.
        let blind = PutMode::Update(UpdateVersion { e_tag: Some("etag".into()), version: None });
        let err = s.inner.upload_url(MONTH_FILE, &blind).unwrap_err();
        assert!(matches!(err, object_store::Error::Precondition { .. }), "{err:?}");
        assert!(err.to_string().contains("gs://lake-bucket/spd_crime/report_month=2024-03"), "{err}");
    }

    #[test]
    fn list_urls_ask_for_a_directory_prefix_and_the_next_page() {
        let s = store("http://127.0.0.1:4443");
        assert_eq!(dir_prefix(Some(&Path::from("spd_crime/report_month=2024-03"))), "spd_crime/report_month=2024-03/");
        assert_eq!(dir_prefix(None), "");
        assert_eq!(dir_prefix(Some(&Path::from(""))), "");
        let url = s.inner.list_url("spd_crime/", true, Some("tok/1"));
        assert_eq!(url.path(), "/storage/v1/b/lake-bucket/o");
        assert_eq!(url.query(), Some("prefix=spd_crime%2F&delimiter=%2F&maxResults=1000&pageToken=tok%2F1"));
        assert_eq!(s.inner.list_url("", false, None).query(), Some("maxResults=1000"));
    }

    #[test]
    fn a_failed_precondition_is_already_exists_for_a_create_and_precondition_for_an_update() {
        let s = store("http://127.0.0.1:4443");
        let source = || s.inner.error("write", "_manifest.json", "HTTP 412: Precondition failed".into());
        let create = status_error(StatusCode::PRECONDITION_FAILED, true, "_manifest.json", source());
        assert!(
            matches!(&create, object_store::Error::AlreadyExists { path, .. } if path == "_manifest.json"),
            "{create:?}"
        );
        let update = status_error(StatusCode::PRECONDITION_FAILED, false, "_manifest.json", source());
        assert!(
            matches!(&update, object_store::Error::Precondition { path, .. } if path == "_manifest.json"),
            "{update:?}"
        );
        assert!(update.to_string().contains("gs://lake-bucket/_manifest.json"), "{update}");
        let other = |status| status_error(status, false, "x", source());
        assert!(matches!(other(StatusCode::NOT_FOUND), object_store::Error::NotFound { .. }));
        assert!(matches!(other(StatusCode::FORBIDDEN), object_store::Error::PermissionDenied { .. }));
        assert!(matches!(other(StatusCode::UNAUTHORIZED), object_store::Error::Unauthenticated { .. }));
        assert!(matches!(other(StatusCode::BAD_GATEWAY), object_store::Error::Generic { store: "GCS", .. }));
    }

    #[test]
    fn the_multipart_body_frames_metadata_then_the_exact_bytes() {
        let payload = PutPayload::from_iter([Bytes::from_static(b"\x00PAR1\r\n--"), Bytes::from_static(b"\xff\r\n")]);
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::Metadata("sha256".into()), AttributeValue::from("abc"));
        let meta = upload_metadata("a/b.parquet", &attributes);
        assert_eq!(meta["name"], "a/b.parquet");
        assert_eq!(meta["contentType"], "application/octet-stream");
        assert_eq!(meta["metadata"]["sha256"], "abc");
        let (content_type, body) = multipart_body(&meta, &payload);
        let boundary = content_type.strip_prefix("multipart/related; boundary=").unwrap();
        let expected = [
            format!("--{boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n{meta}\r\n").into_bytes(),
            format!("--{boundary}\r\ncontent-type: application/octet-stream\r\n\r\n").into_bytes(),
            b"\x00PAR1\r\n--\xff\r\n".to_vec(),
            format!("\r\n--{boundary}--\r\n").into_bytes(),
        ]
        .concat();
        assert_eq!(body, expected);
    }

    #[test]
    fn the_boundary_never_occurs_in_the_bytes() {
        // Bytes that are exactly the first boundary tried for a payload of their length (27 bytes).
        let hostile = format!("crimewatch-{:016x}", 27);
        assert_eq!(hostile.len(), 27);
        let (content_type, body) =
            multipart_body(&serde_json::json!({}), &PutPayload::from(hostile.clone().into_bytes()));
        let chosen = content_type.strip_prefix("multipart/related; boundary=").unwrap();
        assert!(!hostile.contains(chosen), "{chosen}");
        assert!(body.windows(hostile.len()).any(|w| w == hostile.as_bytes()), "the bytes are still sent");
    }

    #[test]
    fn object_resources_give_the_generation_as_the_version() {
        let body = r#"{"kind":"storage#object","name":"spd_crime/report_month=2024-03/a.parquet","size":"7",
            "etag":"GlIUBp4PyS4sNPbx16VUVA==","updated":"2026-11-29T21:31:29.424301Z","generation":"1795987889424310"}"#;
        let meta = serde_json::from_str::<ObjectResource>(body).unwrap().meta().unwrap();
        assert_eq!(meta.location.as_ref(), "spd_crime/report_month=2024-03/a.parquet");
        assert_eq!(meta.size, 7);
        assert_eq!(meta.version.as_deref(), Some("1795987889424310"));
        assert_eq!(meta.e_tag.as_deref(), Some("GlIUBp4PyS4sNPbx16VUVA=="));
        assert_eq!(meta.last_modified.to_rfc3339(), "2026-11-29T21:31:29.424301+00:00");
    }

    #[test]
    fn error_bodies_give_gcs_own_message() {
        let body = r#"{"error":{"code":412,"message":"Precondition failed","errors":[]}}"#;
        assert_eq!(error_message(body), "Precondition failed");
        assert_eq!(error_message("Not Found\n"), "Not Found");
    }

    #[test]
    fn the_emulator_host_is_read_the_way_google_clients_read_it() {
        assert_eq!(emulator_base("127.0.0.1:4443").unwrap().as_str(), "http://127.0.0.1:4443/");
        assert_eq!(emulator_base("https://gcs.local:8443").unwrap().as_str(), "https://gcs.local:8443/");
        assert!(emulator_base("ftp://x").unwrap_err().contains("STORAGE_EMULATOR_HOST"));
        let s = GcsStore::from_env("b", Some("127.0.0.1:4443")).unwrap();
        assert!(s.inner.credentials.is_none());
        assert_eq!(s.to_string(), "GcsStore(gs://b at http://127.0.0.1:4443/)");
    }
}
