//! `SodaServer`: a real HTTP/1.1 server on 127.0.0.1 that serves one data set the way Socrata's SODA 2.x
//! endpoints do, with revisions (`set_rows`, `touch_all`, `rename_column`) and injectable faults. One accept
//! thread plus one thread per connection (keep-alive honoured); usable from sync and async tests alike.
//!
//! With [`SodaServer::with_response_cache`] it answers a request it has answered before from memory, as a
//! production SODA host's response cache does: the benchmark's parties then measure themselves, not the kit's
//! SoQL engine (which evaluates every page over every row).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::dataset::{rename_fields, scramble_id, tick_epoch_ms, Dataset, DatasetBuilder, RowMeta};
use super::http::{query_pairs, set_linger_zero, Connection, Request, Response};
use super::soql::{self, looks_aggregate, QueryParams};
use super::Row;

/// Where tests' servers listen: loopback, any free port.
const LOOPBACK_ANY_PORT: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// What a request was, for the log and for matching faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// `/resource/<id>.json` with `$limit=1` and no aggregate: the client's schema probe.
    Probe,
    /// `/resource/<id>.json` with `$group` or an aggregate function in `$select`.
    Aggregate,
    /// Any other `/resource/<id>.json` read.
    Page,
    /// `/api/views/<id>.json`.
    Metadata,
    /// Anything else.
    Other,
    /// Only for [`Fault::when`]: matches every request.
    Any,
}

impl RequestKind {
    fn matches(self, actual: RequestKind) -> bool {
        self == RequestKind::Any || self == actual
    }
}

/// One served request.
#[derive(Debug, Clone)]
pub struct RequestLog {
    /// Path and query, percent-decoded (`/resource/x.json?$limit=1&$select=:*,*`).
    pub path_and_query: String,
    /// The request target exactly as received (still percent-encoded), e.g. for replaying the request.
    pub target: String,
    /// The status sent; 0 when the connection was reset without a response.
    pub status: u16,
    /// Response body bytes sent.
    pub bytes: u64,
    pub kind: RequestKind,
    /// The `X-App-Token` header, if any.
    pub app_token: Option<String>,
}

/// A fault to inject: fires for the next `times` requests that match `when`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub when: RequestKind,
    pub times: u32,
    pub kind: FaultKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// 429, with `Retry-After: <seconds>` when given.
    TooManyRequests { retry_after_seconds: Option<u32> },
    /// 500.
    ServerError,
    /// 503.
    Unavailable,
    /// 202 "still processing, retry".
    Accepted,
    /// Close the socket without answering (TCP RST).
    ConnectionReset,
    /// Send the headers with the full `Content-Length` but only half the body, then close.
    TruncatedBody,
    /// Sleep this long, then answer normally.
    Stall { seconds: u64 },
    /// Answer normally, except that in the first row holding `field` its JSON string value is replaced by `raw`,
    /// sent byte for byte: a row no valid data set can hold, such as an invalid UTF-8 byte (`b"\"B\xff\""`) or
    /// a lone surrogate escape (`br#""\ud800""#`). The row still counts in the aggregates, as a publisher's bad
    /// row would.
    BadValue { field: String, raw: Vec<u8> },
}

enum Mode {
    Soda,
    /// Answer every request with 301 to this base URL plus the same path and query.
    Redirect(String),
}

/// Revision state: the renames applied to every publication, the `:id` counter and the server clock.
struct Publisher {
    renames: Vec<(String, String)>,
    next_serial: u64,
    clock_tick: u32,
}

impl Publisher {
    fn new_meta(&mut self) -> RowMeta {
        let id_bits = scramble_id(self.next_serial);
        self.next_serial += 1;
        RowMeta { id_bits, created_tick: self.clock_tick, updated_tick: self.clock_tick }
    }
}

/// Answers already sent, by request, for one generation of what the server serves.
#[derive(Default)]
struct ResponseCache {
    /// The [`Shared::generation`] the entries were computed at; a newer one empties the cache.
    generation: u64,
    entries: HashMap<CacheKey, Arc<Response>>,
    /// Requests answered from the cache since it was turned on.
    hits: u64,
}

/// What an answer depends on besides the data: the method, the raw target (path and query, byte for byte) and
/// the app token sent (the server may require one).
type CacheKey = (String, String, Option<String>);

impl ResponseCache {
    fn get(&mut self, generation: u64, key: &CacheKey) -> Option<Arc<Response>> {
        self.expire(generation);
        let hit = self.entries.get(key).cloned();
        self.hits += u64::from(hit.is_some());
        hit
    }

    fn put(&mut self, generation: u64, key: CacheKey, response: Arc<Response>) {
        self.expire(generation);
        if self.generation == generation {
            self.entries.insert(key, response);
        }
    }

    /// Drops every entry computed before `generation`; an answer computed at an older generation than the
    /// cache's is never stored (`put` checks).
    fn expire(&mut self, generation: u64) {
        if generation > self.generation {
            self.entries.clear();
            self.generation = generation;
        }
    }
}

struct Shared {
    dataset_id: String,
    mode: Mode,
    publisher: Mutex<Publisher>,
    current: RwLock<Arc<Dataset>>,
    faults: Mutex<VecDeque<Fault>>,
    log: Mutex<Vec<RequestLog>>,
    bytes: AtomicU64,
    /// Requests being answered right now, and the most at once since the last `reset_log`.
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    refuse_updated_at: AtomicBool,
    refuse_id_sum: AtomicBool,
    app_token: Mutex<Option<String>>,
    stop: AtomicBool,
    /// Bumped after every change to what the server answers (data, renames, refusals, the app token), so a
    /// cached answer is only reused for the generation it was computed at.
    generation: AtomicU64,
    /// `Some` when the response cache is on.
    cache: Mutex<Option<ResponseCache>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn dataset(&self) -> Arc<Dataset> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn replace(&self, ds: Dataset) {
        ds.warm_indexes();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(ds);
        self.changed();
    }

    /// Marks every cached answer stale. Called *after* the change: a request reads the generation before it
    /// reads the data, so an answer stored under the new generation was computed from the new data.
    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The normal answer to `req`, from the response cache when it is on and holds one for the current generation.
    fn answer_normally(&self, req: &Request, path: &str, pairs: &[(String, String)]) -> Arc<Response> {
        if lock(&self.cache).is_none() {
            return Arc::new(respond(self, req, path, pairs));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let key = (req.method.clone(), req.target.clone(), req.header("x-app-token").map(str::to_string));
        if let Some(hit) = lock(&self.cache).as_mut().and_then(|c| c.get(generation, &key)) {
            return hit;
        }
        // Computed outside the lock: connections answering other requests do not wait for this one.
        let fresh = Arc::new(respond(self, req, path, pairs));
        if let Some(cache) = lock(&self.cache).as_mut() {
            cache.put(generation, key, Arc::clone(&fresh));
        }
        fresh
    }

    fn take_fault(&self, kind: RequestKind) -> Option<FaultKind> {
        let mut q = lock(&self.faults);
        q.retain(|f| f.times > 0);
        let f = q.iter_mut().find(|f| f.when.matches(kind))?;
        f.times -= 1;
        Some(f.kind.clone())
    }
}

/// A SODA-compatible server for one data set. Stops when dropped.
pub struct SodaServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl SodaServer {
    /// Serves `rows` as data set `dataset_id` (every row gets an `:id`; `:created_at`/`:updated_at` are the
    /// server clock's first tick, 2026-11-01T10:00:00.123Z).
    pub fn start(dataset_id: &str, rows: Vec<Row>) -> SodaServer {
        SodaServer::start_streaming(dataset_id, rows)
    }

    /// Like [`SodaServer::start`], taking rows one at a time (the benchmark feeds 1.2M generated rows
    /// without ever holding them as JSON).
    pub fn start_streaming(dataset_id: &str, rows: impl IntoIterator<Item = Row>) -> SodaServer {
        SodaServer::bind(LOOPBACK_ANY_PORT, dataset_id, rows).expect("test server: bind 127.0.0.1:0")
    }

    /// Like [`SodaServer::start_streaming`], listening on `addr` (the `soda-server` binary's `--addr`); a
    /// failure to bind is an error, not a panic.
    pub fn bind(addr: SocketAddr, dataset_id: &str, rows: impl IntoIterator<Item = Row>) -> io::Result<SodaServer> {
        let listener = TcpListener::bind(addr)?;
        let mut publisher = Publisher { renames: Vec::new(), next_serial: 0, clock_tick: 0 };
        let mut b = DatasetBuilder::default();
        for row in rows {
            b.push(&row, publisher.new_meta());
        }
        SodaServer::spawn(listener, dataset_id, Mode::Soda, publisher, b.finish(0))
    }

    /// A second server that answers every request with `301 Moved Permanently` to `target_url` + the same path
    /// and query (as data.seattle.gov does for some hosts).
    pub fn start_redirector(target_url: &str) -> SodaServer {
        let publisher = Publisher { renames: Vec::new(), next_serial: 0, clock_tick: 0 };
        let target = target_url.trim_end_matches('/').to_string();
        TcpListener::bind(LOOPBACK_ANY_PORT)
            .and_then(|listener| SodaServer::spawn(listener, "", Mode::Redirect(target), publisher, Dataset::empty()))
            .expect("test server: bind 127.0.0.1:0")
    }

    fn spawn(
        listener: TcpListener,
        dataset_id: &str,
        mode: Mode,
        publisher: Publisher,
        ds: Dataset,
    ) -> io::Result<SodaServer> {
        ds.warm_indexes();
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            dataset_id: dataset_id.to_string(),
            mode,
            publisher: Mutex::new(publisher),
            current: RwLock::new(Arc::new(ds)),
            faults: Mutex::new(VecDeque::new()),
            log: Mutex::new(Vec::new()),
            bytes: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            peak_in_flight: AtomicUsize::new(0),
            refuse_updated_at: AtomicBool::new(false),
            refuse_id_sum: AtomicBool::new(false),
            app_token: Mutex::new(None),
            stop: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            cache: Mutex::new(None),
        });
        let s = shared.clone();
        let accept =
            std::thread::Builder::new().name("soda-accept".to_string()).spawn(move || accept_loop(listener, s))?;
        Ok(SodaServer { shared, addr, accept: Some(accept) })
    }

    /// Turns the response cache on: a request answered before (same method, path and query byte for byte, same
    /// app token) while the data and settings are unchanged gets the same bytes again from memory, without
    /// evaluating its SoQL. Any revision (`set_rows`, `touch_all`, `rename_column`) or setting change empties it.
    /// Faults bypass it (a faulted answer is never stored, and a fault still fires), and every request is still
    /// logged. It holds every distinct answer until the next change: the 1.2M-row benchmark's pages take ~0.8 GB
    /// per client's set of queries.
    pub fn with_response_cache(self) -> SodaServer {
        *lock(&self.shared.cache) = Some(ResponseCache::default());
        self
    }

    /// Requests answered from the response cache so far (0 when it is off).
    pub fn response_cache_hits(&self) -> u64 {
        lock(&self.shared.cache).as_ref().map_or(0, |c| c.hits)
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn dataset_id(&self) -> &str {
        &self.shared.dataset_id
    }

    /// Publishes a revision. A row identical to one already served keeps its `:id`, `:created_at` and
    /// `:updated_at`; new or changed rows get a new `:id` and the new clock tick.
    pub fn set_rows(&self, rows: Vec<Row>) {
        let mut p = lock(&self.shared.publisher);
        let rows: Vec<Row> = rows.into_iter().map(|r| rename_fields(r, &p.renames)).collect();
        let old = self.shared.dataset();
        let identities = old.match_identities(&rows);
        p.clock_tick += 1;
        let mut b = DatasetBuilder::default();
        for (row, identity) in rows.iter().zip(identities) {
            let meta = identity.unwrap_or_else(|| p.new_meta());
            b.push(row, meta);
        }
        self.shared.replace(b.finish(p.clock_tick));
    }

    /// The publisher replaced the data set: every row's `:updated_at` moves to a new clock tick; content
    /// and `:id`s are unchanged.
    pub fn touch_all(&self) {
        let mut p = lock(&self.shared.publisher);
        p.clock_tick += 1;
        let ds = self.shared.dataset().touched(p.clock_tick);
        self.shared.replace(ds);
    }

    /// Queues a fault; faults fire in order for the requests they match.
    pub fn push_fault(&self, fault: Fault) {
        lock(&self.shared.faults).push_back(fault);
    }

    /// Renames a column (now and in later `set_rows`): queries naming `from` get `no-such-column`.
    pub fn rename_column(&self, from: &str, to: &str) {
        let mut p = lock(&self.shared.publisher);
        p.renames.push((from.to_string(), to.to_string()));
        if let Some(ds) = self.shared.dataset().renamed(from, to) {
            self.shared.replace(ds);
        }
        self.shared.changed();
    }

    /// When set, aggregating `:updated_at` answers 400 in Socrata's error shape.
    pub fn refuse_updated_at_aggregates(&self, refuse: bool) {
        self.shared.refuse_updated_at.store(refuse, Ordering::SeqCst);
        self.shared.changed();
    }

    /// When set, summing `offense_id` (`sum(offense_id::number)`) answers 400 in Socrata's error shape, while
    /// every other aggregate works: an independent SODA server did exactly this.
    pub fn refuse_offense_id_sums(&self, refuse: bool) {
        self.shared.refuse_id_sum.store(refuse, Ordering::SeqCst);
        self.shared.changed();
    }

    /// When set, a request without this `X-App-Token` gets 403.
    pub fn require_app_token(&self, token: Option<&str>) {
        *lock(&self.shared.app_token) = token.map(str::to_string);
        self.shared.changed();
    }

    /// Every request served so far, in order.
    pub fn requests(&self) -> Vec<RequestLog> {
        lock(&self.shared.log).clone()
    }

    pub fn request_count(&self) -> usize {
        lock(&self.shared.log).len()
    }

    /// Response body bytes sent so far.
    pub fn bytes_sent(&self) -> u64 {
        self.shared.bytes.load(Ordering::SeqCst)
    }

    pub fn reset_log(&self) {
        lock(&self.shared.log).clear();
        self.shared.bytes.store(0, Ordering::SeqCst);
        self.shared.peak_in_flight.store(0, Ordering::SeqCst);
    }

    /// The most requests answered at the same time since start or the last `reset_log` (a client's concurrency).
    pub fn peak_concurrency(&self) -> usize {
        self.shared.peak_in_flight.load(Ordering::SeqCst)
    }

    /// The data rows currently served (no system fields), in `:id` order.
    pub fn rows(&self) -> Vec<Row> {
        let ds = self.shared.dataset();
        (0..ds.len() as u32).map(|r| ds.row_object(r)).collect()
    }

    /// The rows currently served with their system fields `:id`, `:created_at`, `:updated_at`, in `:id` order.
    pub fn rows_with_system_fields(&self) -> Vec<Row> {
        let ds = self.shared.dataset();
        (0..ds.len() as u32)
            .map(|r| {
                let mut row = ds.row_object(r);
                row.insert(":id".to_string(), ds.row_id(r).into());
                row.insert(":created_at".to_string(), ds.created_at(r).into());
                row.insert(":updated_at".to_string(), ds.updated_at(r).into());
                row
            })
            .collect()
    }
}

impl Drop for SodaServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let s = shared.clone();
        let _ = std::thread::Builder::new().name("soda-conn".to_string()).spawn(move || serve_connection(stream, s));
    }
}

/// What to do with one request.
enum Action {
    Respond(Arc<Response>),
    Truncate(Response),
    Reset,
}

fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let Ok(mut conn) = Connection::new(stream) else { return };
    while let Some(req) = conn.next_request(&shared.stop) {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        let keep_going = answer(&mut conn, &shared, &req);
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !keep_going {
            return;
        }
    }
}

/// Answers one request; false when the connection must end.
fn answer(conn: &mut Connection, shared: &Shared, req: &Request) -> bool {
    {
        let close = req.wants_close;
        let (path, query) = req.target.split_once('?').unwrap_or((req.target.as_str(), ""));
        let pairs = query_pairs(query);
        let kind = classify(path, &pairs);
        let app_token = req.header("x-app-token").map(str::to_string);
        let decoded = decoded_target(path, &pairs);
        let action = match shared.take_fault(kind) {
            Some(FaultKind::ConnectionReset) => Action::Reset,
            Some(FaultKind::TruncatedBody) => Action::Truncate(respond(shared, req, path, &pairs)),
            Some(FaultKind::Stall { seconds }) => {
                let until = Instant::now() + Duration::from_secs(seconds);
                while Instant::now() < until && !shared.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Action::Respond(Arc::new(respond(shared, req, path, &pairs)))
            }
            Some(FaultKind::BadValue { field, raw }) => {
                let mut r = respond(shared, req, path, &pairs);
                if r.status == 200 {
                    replace_value(&mut r.body, &field, &raw);
                }
                Action::Respond(Arc::new(r))
            }
            Some(FaultKind::TooManyRequests { retry_after_seconds }) => {
                let r = Response::json(
                    429,
                    &serde_json::json!({"code": "too_many_requests", "error": true, "message": "Too many requests; slow down or use an app token"}),
                );
                Action::Respond(Arc::new(match retry_after_seconds {
                    Some(s) => r.with_header("Retry-After", s.to_string()),
                    None => r,
                }))
            }
            Some(FaultKind::ServerError) => Action::Respond(Arc::new(Response::json(
                500,
                &serde_json::json!({"code": "internal_error", "error": true, "message": "Internal error"}),
            ))),
            Some(FaultKind::Unavailable) => Action::Respond(Arc::new(Response::json(
                503,
                &serde_json::json!({"code": "service_unavailable", "error": true, "message": "Service temporarily unavailable"}),
            ))),
            Some(FaultKind::Accepted) => Action::Respond(Arc::new(Response::json(
                202,
                &serde_json::json!({"message": "Processing; retry shortly", "status": "processing"}),
            ))),
            None => Action::Respond(shared.answer_normally(req, path, &pairs)),
        };
        let head_only = req.method == "HEAD";
        let (status, bytes) = match &action {
            Action::Respond(r) if head_only => (r.status, 0),
            Action::Respond(r) => (r.status, r.body.len()),
            Action::Truncate(r) => (r.status, r.body.len() / 2),
            Action::Reset => (0, 0),
        };
        // Logged before the response goes out, so a client that has its answer always finds it in the log.
        lock(&shared.log).push(RequestLog {
            path_and_query: decoded,
            target: req.target.clone(),
            status,
            bytes: bytes as u64,
            kind,
            app_token,
        });
        shared.bytes.fetch_add(bytes as u64, Ordering::SeqCst);
        match action {
            Action::Respond(r) => r.write_to(&mut conn.stream, close, bytes).is_ok() && !close,
            Action::Truncate(r) => {
                let _ = r.write_to(&mut conn.stream, true, bytes);
                let _ = conn.stream.shutdown(std::net::Shutdown::Both);
                false
            }
            Action::Reset => {
                let _ = set_linger_zero(&conn.stream);
                false
            }
        }
    }
}

/// Replaces the JSON string value of the first `"field":` in a body of row objects with `raw`; a body without
/// such a field (or whose value is not a string) is left as it is.
fn replace_value(body: &mut Vec<u8>, field: &str, raw: &[u8]) {
    let key = format!("\"{field}\":\"");
    let Some(at) = body.windows(key.len()).enumerate().find_map(|(i, w)| {
        (w == key.as_bytes() && i > 0 && matches!(body[i - 1], b'{' | b',')).then_some(i + key.len() - 1)
    }) else {
        return;
    };
    let mut end = at + 1;
    while end < body.len() && body[end] != b'"' {
        end += if body[end] == b'\\' { 2 } else { 1 };
    }
    if end < body.len() {
        body.splice(at..=end, raw.iter().copied());
    }
}

/// The path and the decoded query pairs, for the request log (`/resource/x.json?$limit=1&$select=:*,*`).
fn decoded_target(path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return path.to_string();
    }
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{path}?{}", query.join("&"))
}

fn classify(path: &str, pairs: &[(String, String)]) -> RequestKind {
    if path.starts_with("/api/views/") {
        return RequestKind::Metadata;
    }
    if !path.starts_with("/resource/") {
        return RequestKind::Other;
    }
    let Ok(params) = QueryParams::from_pairs(pairs) else { return RequestKind::Page };
    if looks_aggregate(&params) {
        RequestKind::Aggregate
    } else if params.limit.as_deref().map(str::trim) == Some("1") {
        RequestKind::Probe
    } else {
        RequestKind::Page
    }
}

fn socrata_error(status: u16, code: &str, message: String) -> Response {
    Response::json(status, &serde_json::json!({"code": code, "error": true, "message": message}))
}

/// An HTTP date (`Sun, 01 Nov 2026 10:00:00 GMT`) for `Last-Modified`.
fn http_date(epoch_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(epoch_ms)
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

/// The normal answer to a request (no fault).
fn respond(shared: &Shared, req: &Request, path: &str, pairs: &[(String, String)]) -> Response {
    if let Mode::Redirect(target) = &shared.mode {
        return Response::json(301, &serde_json::json!({"message": "moved"}))
            .with_header("Location", format!("{target}{}", req.target));
    }
    if req.method != "GET" && req.method != "HEAD" {
        return socrata_error(405, "method_not_allowed", format!("{} is not supported; use GET", req.method));
    }
    if let Some(required) = lock(&shared.app_token).clone() {
        if req.header("x-app-token") != Some(required.as_str()) {
            return socrata_error(403, "invalid_app_token", "Invalid app_token specified".to_string());
        }
    }
    let ds = shared.dataset();
    let last_modified = http_date(tick_epoch_ms(ds.clock_tick));
    if let Some(rest) = path.strip_prefix("/resource/") {
        let id = rest.strip_suffix(".json").unwrap_or(rest);
        if id != shared.dataset_id {
            return socrata_error(404, "dataset.missing", format!("Cannot find view with id {id}"));
        }
        let params = match QueryParams::from_pairs(pairs) {
            Ok(p) => p,
            Err(e) => return Response::json(400, &e.body()),
        };
        if shared.refuse_updated_at.load(Ordering::SeqCst) && soql::query_aggregates_updated_at(&params) {
            let e = soql::SoqlError::type_mismatch(
                "Function max/min/count not defined for :updated_at (meta_data)".to_string(),
            );
            return Response::json(400, &e.body());
        }
        if shared.refuse_id_sum.load(Ordering::SeqCst) && soql::query_sums_column(&params, "offense_id") {
            let e = soql::SoqlError::type_mismatch("Function sum not defined for offense_id (text)".to_string());
            return Response::json(400, &e.body());
        }
        return match soql::execute(&ds, &shared.dataset_id, &params) {
            Ok(out) => Response {
                status: 200,
                headers: vec![
                    ("Content-Type".to_string(), "application/json;charset=utf-8".to_string()),
                    ("X-SODA2-Fields".to_string(), serde_json::to_string(&out.fields).unwrap_or_default()),
                    ("X-SODA2-Types".to_string(), serde_json::to_string(&out.types).unwrap_or_default()),
                    ("Last-Modified".to_string(), last_modified),
                ],
                body: out.body,
            },
            Err(e) => Response::json(400, &e.body()),
        };
    }
    if let Some(rest) = path.strip_prefix("/api/views/") {
        let id = rest.strip_suffix(".json").unwrap_or(rest);
        if id != shared.dataset_id {
            return socrata_error(404, "dataset.missing", format!("Cannot find view with id {id}"));
        }
        let columns: Vec<serde_json::Value> = ds
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| serde_json::json!({"id": i + 1, "fieldName": c.name, "name": c.name, "dataTypeName": c.ty.soda_name(), "position": i + 1}))
            .collect();
        let updated = tick_epoch_ms(ds.clock_tick) / 1000;
        return Response::json(
            200,
            &serde_json::json!({
                "id": shared.dataset_id,
                "name": "SPD Crime Data: 2008-Present (crimewatch testkit)",
                "rowsUpdatedAt": updated,
                "viewLastModified": updated,
                "columns": columns,
            }),
        )
        .with_header("Last-Modified", last_modified);
    }
    socrata_error(404, "not_found", format!("No route for {path}"))
}
