//! Building and running the server (zero2prod style): [`Application::build`] binds, [`Application::port`] tells
//! tests where, [`Application::run_until_stopped`] serves until the shutdown future resolves.

use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use super::api::{self, AppState};
use super::connections::{self, Limits};
use super::runs::{self, RunsApi};
use super::{assets, middleware, trigger, WebConfig, WebError};
use crate::domain::DataDir;

/// Descriptors kept free beside the connections: the warehouse's files, the ledger, the lock, DuckDB's temp files.
const SPARE_DESCRIPTORS: u64 = 128;

/// The routes of the web stage. A plain function, so tests can serve it on any listener. Without `runs`,
/// `GET /api/runs` answers an empty ledger (a server that keeps no runs). `data_dir` is what the run errors
/// shown over HTTP are made relative to.
pub fn router(state: AppState, runs: Option<RunsApi>, data_dir: &DataDir) -> Router {
    let app = Router::new()
        .route("/", get(assets::index))
        .route("/assets/{name}", get(assets::file))
        .route("/api/health", get(api::health))
        .route("/api/trend", get(api::trend))
        .route("/api/areas", get(api::areas))
        .route("/api/offenses", get(api::offenses))
        .route("/api/heatmap", get(api::heatmap))
        .route("/api/completeness", get(api::completeness))
        .route("/api/revisions", get(api::revisions))
        .route("/api/expected-range", get(api::expected_range))
        .route("/api/revisions/drift", get(api::revision_drift))
        .fallback(api::fallback)
        .with_state(state);
    match runs {
        Some(api) => app.merge(runs::routes(api, data_dir)),
        None => app,
    }
}

/// A bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    port: u16,
    app: Router,
    limits: Limits,
}

impl Application {
    /// Binds `config.addr` (port 0 = random) to serve `data_dir`'s warehouse, and the runs `runs` reads and
    /// starts (see [`router`]). Refuses an admin token or an address that would expose the run trigger
    /// ([`trigger::check_exposure`]).
    pub async fn build(config: &WebConfig, data_dir: &DataDir, runs: Option<RunsApi>) -> Result<Application, WebError> {
        let token = runs.as_ref().and_then(|r| r.admin_token.as_ref());
        trigger::check_exposure(config, token)?;
        let addr = config.addr;
        let listener = TcpListener::bind(addr).await.map_err(|source| WebError::Bind { addr, source })?;
        let port = listener.local_addr().map_err(|source| WebError::Bind { addr, source })?.port();
        ensure_descriptors(config.max_connections as u64 + SPARE_DESCRIPTORS);
        assets::prepare();
        let state = AppState::new(config, data_dir);
        state.preload().await;
        state.watch_for_publishes();
        let app = middleware::layers(router(state, runs, data_dir), config.max_body_bytes);
        let limits = Limits {
            max_connections: config.max_connections,
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
        };
        tracing::info!(stage = "web", %addr, port, data_dir = %data_dir.root().display(),
            max_connections = limits.max_connections, "listening");
        Ok(Application { listener, port, app, limits })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), WebError> {
        connections::serve(self.listener, self.app, self.limits, shutdown).await.map_err(WebError::Serve)
    }
}

/// Raises the soft open-file limit to the hard one (as Go's runtime does at start) and warns when even that is
/// below `needed`: a server out of descriptors accepts no one, not even `/api/health`.
fn ensure_descriptors(needed: u64) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read or write the struct passed in.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    if lim.rlim_cur < needed {
        tracing::warn!(
            stage = "web",
            open_file_limit = lim.rlim_cur,
            needed,
            "the open-file limit is below web.max_connections plus {SPARE_DESCRIPTORS} spare: raise LimitNOFILE \
             (systemd) or `ulimit -n`, or lower web.max_connections"
        );
    }
}
