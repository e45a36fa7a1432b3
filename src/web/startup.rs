//! Building and running the server (zero2prod style): [`Application::build`] binds, [`Application::port`] tells
//! tests where, [`Application::run_until_stopped`] serves until the shutdown future resolves.

use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use super::api::{self, AppState};
use super::runs::{self, RunsApi};
use super::{assets, middleware, WebConfig, WebError};
use crate::domain::DataDir;

/// The routes of the web stage. A plain function, so tests can serve it on any listener. Without `runs`,
/// `GET /api/runs` answers an empty ledger (a server that keeps no runs).
pub fn router(state: AppState, runs: Option<RunsApi>) -> Router {
    let app = Router::new()
        .route("/", get(assets::index))
        .route("/assets/{name}", get(assets::file))
        .route("/api/health", get(api::health))
        .route("/api/trend", get(api::trend))
        .route("/api/areas", get(api::areas))
        .route("/api/offenses", get(api::offenses))
        .route("/api/heatmap", get(api::heatmap))
        .route("/api/completeness", get(api::completeness))
        .fallback(api::fallback)
        .with_state(state);
    match runs {
        Some(api) => app.merge(runs::routes(api)),
        None => app,
    }
}

/// A bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    port: u16,
    app: Router,
}

impl Application {
    /// Binds `config.addr` (port 0 = random) to serve `data_dir`'s warehouse, and the runs `runs` reads and
    /// starts (see [`router`]).
    pub async fn build(config: &WebConfig, data_dir: &DataDir, runs: Option<RunsApi>) -> Result<Application, WebError> {
        let addr = config.addr;
        let listener = TcpListener::bind(addr).await.map_err(|source| WebError::Bind { addr, source })?;
        let port = listener.local_addr().map_err(|source| WebError::Bind { addr, source })?.port();
        assets::prepare();
        let app = middleware::layers(router(AppState::new(config, data_dir), runs));
        tracing::info!(stage = "web", %addr, port, data_dir = %data_dir.root().display(), "listening");
        Ok(Application { listener, port, app })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), WebError> {
        axum::serve(self.listener, self.app).with_graceful_shutdown(shutdown).await.map_err(WebError::Serve)
    }
}
