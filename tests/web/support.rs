//! `spawn_app`: a fresh data dir, a warehouse published from fixture rows, the real server on a random port.

use std::path::{Path, PathBuf};

use crimewatch::settings::Settings;
use crimewatch::web::{Application, RunsApi, WebConfig};
use serde_json::Value;

use super::fixture::{self, Offense};
use crate::tempdir::TempDir;

pub struct TestApp {
    pub base: String,
    pub dir: TempDir,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestApp {
    pub fn warehouse(&self) -> PathBuf {
        self.dir.join("warehouse.duckdb")
    }

    pub async fn get(&self, path_and_query: &str) -> (u16, String, reqwest::header::HeaderMap) {
        let resp = self.client.get(format!("{}{path_and_query}", self.base)).send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, resp.text().await.expect("body"), headers)
    }

    pub async fn json(&self, path_and_query: &str) -> Value {
        let (status, body, _) = self.get(path_and_query).await;
        assert_eq!(status, 200, "GET {path_and_query}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path_and_query}: {e}: {body}"))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Publishes `rows` (when given) into a fresh data dir and serves it; `runs` as in `Application::build`.
pub async fn spawn_app(name: &str, rows: Option<&[Offense]>, runs: Option<RunsApi>) -> TestApp {
    spawn_app_with(name, rows, runs, |_| ()).await
}

/// [`spawn_app`] with the web settings changed by `configure` first (limits, timeouts).
pub async fn spawn_app_with(
    name: &str,
    rows: Option<&[Offense]>,
    runs: Option<RunsApi>,
    configure: impl FnOnce(&mut WebConfig),
) -> TestApp {
    let dir = TempDir::new(name);
    if let Some(rows) = rows {
        publish(rows, &dir.join("warehouse.duckdb")).await;
    }
    let mut settings = Settings::for_data_dir(dir.path(), "http://127.0.0.1:9");
    settings.web.addr = "127.0.0.1:0".parse().unwrap();
    configure(&mut settings.web);
    let app = Application::build(&settings.web, &settings.data_dir, runs).await.expect("build app");
    let base = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp { base, dir, client: reqwest::Client::new(), shutdown: Some(tx) }
}

/// Publishes a warehouse for `rows` at `path` (blocking work on the blocking pool).
pub async fn publish(rows: &[Offense], path: &Path) {
    let rows = rows.to_vec();
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || fixture::publish_standin_warehouse(&rows, &path)).await.expect("publish");
}
