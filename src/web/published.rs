//! The published warehouse, opened read-only, and the switch to a newly published one.
//!
//! The publisher replaces `warehouse.duckdb` by renaming a new file over it, so the file at the path changes
//! identity (inode, size, mtime) but is never half-written. Each identity is a [`Generation`]: one read-only
//! DuckDB database, a small pool of connections to it, and a response cache. A request takes an `Arc` of the
//! current generation and keeps it to the end, so a swap never fails a request in flight: the old file stays
//! open (on Linux an unlinked file lives while a descriptor does) until its last request drops the `Arc`.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use duckdb::{AccessMode, Config, Connection};

use super::bounds::Bounds;
use super::queries::{self, Health};
use super::serving::ServingIndex;
use super::WebError;

/// What identifies one published file; any change means a new file was published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
}

impl FileKey {
    fn of(path: &Path) -> std::io::Result<FileKey> {
        let m = std::fs::metadata(path)?;
        Ok(FileKey {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        })
    }
}

/// A cached answer: its bytes, and their compressed forms once asked for ([`super::precompressed`]).
pub use super::precompressed::Cached;

/// One published file, open read-only.
pub struct Generation {
    /// Counts up from 1 with every file this server opened; shown by /api/health.
    pub id: u64,
    path: PathBuf,
    key: FileKey,
    /// Kept to clone new connections from (they share the database instance and its buffer cache).
    base: Mutex<Connection>,
    idle: Mutex<Vec<Connection>>,
    cache: Mutex<HashMap<String, Cached>>,
    /// One gate per response being computed, so concurrent misses on one key run the query once.
    gates: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    cache_max_entries: usize,
    bounds: OnceLock<Bounds>,
    /// What /api/health says of this file (build times, row counts, flagged months): read once, like the bounds.
    health: OnceLock<Arc<Health>>,
    /// The chart marts in memory, loaded once (in the background from [`Published::current`]); a failed load
    /// is kept as its message, since a read-only file will not load better on a second try.
    index: OnceLock<Result<Arc<ServingIndex>, String>>,
}

/// Connections kept idle per generation; more are opened under load and closed after use.
const IDLE_CONNECTIONS: usize = 8;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves nothing half-updated (a Vec or a HashMap of whole values).
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Generation {
    fn open(id: u64, path: &Path, key: FileKey, cache_max_entries: usize) -> Result<Generation, WebError> {
        let open_err = |source| WebError::Open { path: path.to_path_buf(), source };
        let config = Config::default().access_mode(AccessMode::ReadOnly).map_err(open_err)?;
        let conn = Connection::open_with_flags(path, config).map_err(open_err)?;
        Ok(Generation {
            id,
            path: path.to_path_buf(),
            key,
            base: Mutex::new(conn),
            idle: Mutex::new(Vec::new()),
            cache: Mutex::new(HashMap::new()),
            gates: Mutex::new(HashMap::new()),
            cache_max_entries,
            bounds: OnceLock::new(),
            health: OnceLock::new(),
            index: OnceLock::new(),
        })
    }

    /// The serving index of this file: loaded by the first caller, whom any other caller waits for. Blocking.
    pub fn index(&self) -> Result<Arc<ServingIndex>, WebError> {
        let loaded = self.index.get_or_init(|| {
            let started = std::time::Instant::now();
            let loaded = match self.with_conn("serving index", |c| Ok(ServingIndex::load(c))) {
                Ok(Ok(ix)) => Ok(Arc::new(ix)),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match &loaded {
                Ok(ix) => {
                    let (trend, heatmap, offenses) = ix.rows();
                    tracing::info!(
                        stage = "web",
                        generation = self.id,
                        trend,
                        heatmap,
                        offenses,
                        load_ms = started.elapsed().as_millis() as u64,
                        "serving index loaded"
                    );
                }
                Err(e) => tracing::warn!(stage = "web", generation = self.id, error_type = "index", error = %e,
                    "cannot load the serving index"),
            }
            loaded
        });
        loaded.clone().map_err(|message| WebError::Index { path: self.path.clone(), message })
    }

    /// The data's month bounds per axis, read once per generation.
    pub fn bounds(&self) -> Result<Bounds, WebError> {
        if let Some(b) = self.bounds.get() {
            return Ok(b.clone());
        }
        let b = self.with_conn("bounds", Bounds::read)?;
        Ok(self.bounds.get_or_init(|| b).clone())
    }

    /// What /api/health answers for this file, read once per generation (three small queries).
    pub fn health(&self) -> Result<Arc<Health>, WebError> {
        if let Some(h) = self.health.get() {
            return Ok(Arc::clone(h));
        }
        let h = Arc::new(queries::health(self, &self.bounds()?)?);
        Ok(Arc::clone(self.health.get_or_init(|| h)))
    }

    /// Runs `f` on a pooled connection. Blocking: call from `spawn_blocking`.
    pub fn with_conn<T>(
        &self,
        query: &'static str,
        f: impl FnOnce(&Connection) -> duckdb::Result<T>,
    ) -> Result<T, WebError> {
        let query_err = |source| WebError::Query { query, path: self.path.clone(), source };
        let conn = match lock(&self.idle).pop() {
            Some(c) => c,
            None => {
                let c = lock(&self.base).try_clone().map_err(query_err)?;
                c.set_prepared_statement_cache_capacity(32);
                c
            }
        };
        let out = f(&conn).map_err(query_err);
        let mut idle = lock(&self.idle);
        if idle.len() < IDLE_CONNECTIONS {
            idle.push(conn);
        }
        out
    }

    pub fn cached(&self, key: &str) -> Option<Cached> {
        lock(&self.cache).get(key).cloned()
    }

    /// The cached response for `key`, or the one computed by `produce` — once, however many requests miss
    /// together (the others wait for it, then read the cache). Blocking.
    pub fn cached_or(
        &self,
        key: String,
        produce: impl FnOnce(&Generation) -> Result<Cached, WebError>,
    ) -> Result<Cached, WebError> {
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        let gate = Arc::clone(lock(&self.gates).entry(key.clone()).or_default());
        let _held = lock(&gate);
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        let fresh = produce(self);
        if let Ok(value) = &fresh {
            self.store(key.clone(), value.clone());
        }
        lock(&self.gates).remove(&key);
        fresh
    }

    fn store(&self, key: String, value: Cached) {
        if self.cache_max_entries == 0 {
            return;
        }
        let mut cache = lock(&self.cache);
        if cache.len() >= self.cache_max_entries {
            // Crude but bounded: the marts only change with a new generation, so a refill is cheap.
            cache.clear();
        }
        cache.insert(key, value);
    }
}

/// The path of the published warehouse and the generation currently served.
pub struct Published {
    path: PathBuf,
    current: Mutex<Option<Arc<Generation>>>,
    /// The identity of a file that failed to open, so a broken publish is not re-opened on every request.
    failed: Mutex<Option<FileKey>>,
    next_id: AtomicU64,
    cache_max_entries: usize,
}

impl Published {
    pub fn new(path: PathBuf, cache_max_entries: usize) -> Published {
        Published {
            path,
            current: Mutex::new(None),
            failed: Mutex::new(None),
            next_id: AtomicU64::new(1),
            cache_max_entries,
        }
    }

    /// A cached response of the current generation, without blocking: one `stat`, two short locks. `None`
    /// when the file changed (the blocking path opens it) or the response is not cached yet.
    pub fn peek(&self, key: &str) -> Option<(u64, Cached)> {
        let file = FileKey::of(&self.path).ok()?;
        let g = lock(&self.current).as_ref().filter(|g| g.key == file).map(Arc::clone)?;
        g.cached(key).map(|c| (g.id, c))
    }

    /// The id of the generation being served, without looking at the file.
    #[cfg(test)]
    fn serving(&self) -> Option<u64> {
        lock(&self.current).as_ref().map(|g| g.id)
    }

    /// Looks at the file every `every` and opens a newly published one (which starts loading its serving index),
    /// so the first chart request after a publish does not wait for the index (~0.5 s on 1.2M rows). Ends when
    /// the last other holder of `self` drops it. One `stat` per look.
    pub fn watch(self: &Arc<Self>, every: std::time::Duration) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(published) = weak.upgrade() else { return };
                // An error (no warehouse yet, a file that fails to open) is what a request would see and say.
                if tokio::task::spawn_blocking(move || published.current().map(|_| ())).await.is_err() {
                    return;
                }
            }
        });
    }

    /// The generation to serve this request from: the current one, or a newly published file opened now.
    /// One `stat` per call; blocking (it may open a DuckDB file), so call it from `spawn_blocking`.
    pub fn current(&self) -> Result<Arc<Generation>, WebError> {
        let key = match FileKey::of(&self.path) {
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                *lock(&self.current) = None;
                return Err(WebError::NoWarehouse { path: self.path.clone() });
            }
            Err(e) => return Err(WebError::Stat { path: self.path.clone(), source: e }),
        };
        // Held while opening, so concurrent requests that all notice the new file open it once.
        let mut current = lock(&self.current);
        if let Some(g) = current.as_ref() {
            if g.key == key {
                return Ok(Arc::clone(g));
            }
        }
        if *lock(&self.failed) == Some(key) {
            if let Some(g) = current.as_ref() {
                return Ok(Arc::clone(g));
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        match Generation::open(id, &self.path, key, self.cache_max_entries) {
            Ok(g) => {
                tracing::info!(stage = "web", generation = id, path = %self.path.display(), "serving newly published warehouse");
                let g = Arc::new(g);
                // Loaded now, off the request path: a chart request waits only for what is left of it.
                let loading = Arc::clone(&g);
                std::thread::spawn(move || loading.index());
                *current = Some(Arc::clone(&g));
                *lock(&self.failed) = None;
                Ok(g)
            }
            Err(e) => {
                *lock(&self.failed) = Some(key);
                match current.as_ref() {
                    Some(old) => {
                        tracing::warn!(stage = "web", error_type = "open", error = %e, "keeping the previous warehouse");
                        Ok(Arc::clone(old))
                    }
                    None => Err(e),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warehouse(path: &Path, rows: i64) {
        let tmp = path.with_extension("tmp");
        let _ = std::fs::remove_file(&tmp);
        let c = Connection::open(&tmp).unwrap();
        c.execute_batch(&format!("create table t as select range as n from range({rows})")).unwrap();
        drop(c);
        std::fs::rename(&tmp, path).unwrap();
    }

    async fn wait_for(published: &Published, id: u64) {
        for _ in 0..500 {
            if published.serving() == Some(id) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("generation {id} never opened; serving {:?}", published.serving());
    }

    #[tokio::test]
    async fn the_watcher_opens_each_newly_published_file_without_a_request() {
        let dir = std::env::temp_dir().join(format!("crimewatch-published-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("warehouse.duckdb");
        let published = Arc::new(Published::new(path.clone(), 16));
        published.watch(std::time::Duration::from_millis(10));
        // Nothing published yet: nothing is served, and the watcher keeps looking.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(published.serving(), None);
        warehouse(&path, 10);
        wait_for(&published, 1).await;
        warehouse(&path, 20);
        wait_for(&published, 2).await;
        let rows: i64 = published
            .current()
            .unwrap()
            .with_conn("count", |c| c.query_row("select count(*) from t", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(rows, 20);
        // The watcher stops with the last other holder.
        let weak = Arc::downgrade(&published);
        drop(published);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(weak.upgrade().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
