//! The lake in a bucket (issue 12), through the real binary, for each backend: the local folder, S3 (the moto
//! server) and GCS (fake-gcs-server), both started here. What each test expects is read back from the bucket
//! through its manifest (the way an outside reader reads the lake), or from a run of the same data with the lake
//! on disk, never from the code under test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use soda_testkit::export::{write_csv, ExportStyle};
use soda_testkit::generate::Schema;
use soda_testkit::{Row, SodaServer};

use crate::emulators::{self, FakeGcs, Moto};
use crate::ingest::{expected_rows, gen, lake_rows, late_february_report, text, without_ids, World, DATASET};

const RANGE: [&str; 4] = ["--since", "2024-01", "--until", "2024-06"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Local,
    S3,
    Gcs,
}

fn emulator_root() -> PathBuf {
    let root = std::env::temp_dir().join(format!("crimewatch-it-bucket-emulators-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    root
}

fn moto() -> &'static Moto {
    static M: OnceLock<Moto> = OnceLock::new();
    M.get_or_init(|| emulators::start_moto(&emulator_root(), &[]))
}

fn fake_gcs() -> &'static FakeGcs {
    static G: OnceLock<FakeGcs> = OnceLock::new();
    G.get_or_init(|| emulators::start_fake_gcs(&emulator_root()))
}

fn curl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("curl").args(["-sS", "--fail-with-body"]).args(args).output().unwrap();
    assert!(out.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&out.stdout));
    out.stdout
}

/// A request to moto, signed (objects are private) with the test credentials.
fn curl_s3(args: &[&str]) -> Vec<u8> {
    let mut all = vec!["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "testing:testing"];
    all.extend_from_slice(args);
    curl(&all)
}

/// One lake for one test: its URL (`None`: the default folder), the environment a run needs, and raw access to
/// its objects that bypasses crimewatch.
struct Lake {
    kind: Kind,
    bucket: String,
    url: Option<String>,
    /// The local folder, for [`Kind::Local`].
    folder: Option<PathBuf>,
    env: Vec<(String, String)>,
}

static BUCKETS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Lake {
    fn new(kind: Kind, w: &World) -> Lake {
        let n = BUCKETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let bucket = format!("lake-{}-{n}", std::process::id());
        match kind {
            Kind::Local => Lake { kind, bucket, url: None, folder: Some(w.lake()), env: Vec::new() },
            Kind::S3 => {
                let m = moto();
                curl_s3(&["-X", "PUT", &format!("{}/{bucket}", m.url)]);
                Lake {
                    kind,
                    url: Some(format!("s3://{bucket}/crime/lake")),
                    bucket,
                    folder: None,
                    env: vec![
                        ("AWS_ENDPOINT_URL".into(), m.url.clone()),
                        ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
                        ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
                        ("AWS_REGION".into(), "us-east-1".into()),
                    ],
                }
            }
            Kind::Gcs => {
                let g = fake_gcs();
                curl(&[
                    "-X",
                    "POST",
                    "-H",
                    "Content-Type: application/json",
                    "-d",
                    &format!("{{\"name\":\"{bucket}\"}}"),
                    &format!("{}/storage/v1/b", g.url),
                ]);
                Lake {
                    kind,
                    url: Some(format!("gs://{bucket}/crime/lake")),
                    bucket,
                    folder: None,
                    env: vec![("STORAGE_EMULATOR_HOST".into(), g.url.clone())],
                }
            }
        }
    }

    /// Runs the binary against this lake.
    fn run(&self, w: &World, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
        let mut all: Vec<String> = Vec::new();
        if let Some(u) = &self.url {
            all.extend(["--lake".to_string(), u.clone()]);
        }
        all.extend(args.iter().map(|a| a.to_string()));
        let mut env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        env.extend_from_slice(extra_env);
        let args: Vec<&str> = all.iter().map(String::as_str).collect();
        w.run(&args, &env)
    }

    fn ingest(&self, w: &World, extra_env: &[(&str, &str)]) -> Value {
        let mut args = vec!["--json", "ingest"];
        args.extend_from_slice(&RANGE);
        let out = self.run(w, &args, extra_env);
        assert!(out.status.success(), "{:?} ingest failed:\n{}", self.kind, text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Every object (relative to the lake) and its version: ETag (S3), generation (GCS), or size and mtime.
    fn listing(&self) -> BTreeMap<String, String> {
        let prefix = "crime/lake/";
        match self.kind {
            Kind::Local => {
                let mut out = BTreeMap::new();
                walk(self.folder.as_ref().unwrap(), self.folder.as_ref().unwrap(), &mut out);
                out
            }
            Kind::S3 => {
                let mut out = BTreeMap::new();
                let mut token: Option<String> = None;
                loop {
                    let mut url = format!("{}/{}?list-type=2&prefix={prefix}", moto().url, self.bucket);
                    if let Some(t) = &token {
                        url.push_str(&format!("&continuation-token={}", t.replace('+', "%2B").replace('=', "%3D")));
                    }
                    let xml = String::from_utf8(curl_s3(&[&url])).unwrap();
                    for c in xml.split("<Contents>").skip(1) {
                        let key = between(c, "<Key>", "</Key>");
                        let etag = between(c, "<ETag>", "</ETag>");
                        out.insert(key.trim_start_matches(prefix).to_string(), etag.to_string());
                    }
                    match xml.contains("<IsTruncated>true</IsTruncated>") {
                        true => {
                            token = Some(between(&xml, "<NextContinuationToken>", "</NextContinuationToken>").into())
                        }
                        false => return out,
                    }
                }
            }
            Kind::Gcs => {
                let url = format!("{}/storage/v1/b/{}/o?prefix={prefix}&maxResults=10000", fake_gcs().url, self.bucket);
                let v: Value = serde_json::from_slice(&curl(&[&url])).unwrap();
                v["items"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .map(|o| {
                                let name = o["name"].as_str().unwrap().trim_start_matches(prefix).to_string();
                                (name, format!("{}", o["generation"]))
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            }
        }
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        match self.kind {
            Kind::Local => std::fs::read(self.folder.as_ref().unwrap().join(rel)).unwrap(),
            Kind::S3 => curl_s3(&[&format!("{}/{}/crime/lake/{rel}", moto().url, self.bucket)]),
            Kind::Gcs => {
                let name = format!("crime/lake/{rel}").replace('/', "%2F").replace('=', "%3D");
                curl(&[&format!("{}/storage/v1/b/{}/o/{name}?alt=media", fake_gcs().url, self.bucket)])
            }
        }
    }

    /// Writes an object directly (another writer, or a crashed run's leftover).
    fn write(&self, rel: &str, bytes: &[u8]) {
        let tmp = std::env::temp_dir().join(format!("crimewatch-it-upload-{}-{}", std::process::id(), rel.len()));
        std::fs::write(&tmp, bytes).unwrap();
        let file = tmp.to_str().unwrap();
        match self.kind {
            Kind::Local => {
                let p = self.folder.as_ref().unwrap().join(rel);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, bytes).unwrap();
            }
            Kind::S3 => {
                let url = format!("{}/{}/crime/lake/{rel}", moto().url, self.bucket);
                let data = format!("@{file}");
                curl_s3(&["-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary", &data, &url]);
            }
            Kind::Gcs => {
                let name = format!("crime/lake/{rel}").replace('/', "%2F").replace('=', "%3D");
                let url =
                    format!("{}/upload/storage/v1/b/{}/o?uploadType=media&name={name}", fake_gcs().url, self.bucket);
                let data = format!("@{file}");
                curl(&["-X", "POST", "-H", "Content-Type: application/octet-stream", "--data-binary", &data, &url]);
            }
        }
        let _ = std::fs::remove_file(tmp);
    }

    fn manifest(&self) -> Value {
        serde_json::from_slice(&self.read("_manifest.json")).unwrap()
    }

    /// The lake as an outside reader sees it: the manifest's files only, downloaded into `into` (checked against
    /// the manifest's SHA-256), then read with DuckDB's hive-partitioned reader.
    fn read_through_manifest(&self, into: &Path) -> Vec<crate::ingest::LakeRow> {
        let _ = std::fs::remove_dir_all(into);
        let man = self.manifest();
        for e in man["months"].as_array().unwrap() {
            let rel =
                format!("spd_crime/report_month={}/{}", e["month"].as_str().unwrap(), e["file"].as_str().unwrap());
            let bytes = self.read(&rel);
            assert_eq!(sha256(&bytes), e["sha256"].as_str().unwrap(), "{rel}: the object is not the manifest's");
            let p = into.join(&rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        without_ids(lake_rows(into))
    }

    /// The month files the manifest names, by month: (file name, bytes).
    fn month_files(&self) -> BTreeMap<String, (String, Vec<u8>)> {
        let man = self.manifest();
        man["months"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let (m, f) = (e["month"].as_str().unwrap(), e["file"].as_str().unwrap());
                (m.to_string(), (f.to_string(), self.read(&format!("spd_crime/report_month={m}/{f}"))))
            })
            .collect()
    }
}

fn between<'a>(s: &'a str, a: &str, b: &str) -> &'a str {
    let start = s.find(a).map(|i| i + a.len()).unwrap_or(0);
    let end = s[start..].find(b).map(|i| start + i).unwrap_or(s.len());
    &s[start..end]
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    use std::os::unix::fs::MetadataExt;
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            let m = p.metadata().unwrap();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.insert(rel, format!("{}:{}:{}", m.ino(), m.len(), m.mtime_nsec()));
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn month_of(r: &Row) -> String {
    r.get("report_date_time").and_then(|v| v.as_str()).unwrap_or("").get(..7).unwrap_or("").to_string()
}

fn months(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect()
}

/// One `#[test]` per backend for each scenario.
macro_rules! for_each_backend {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn local() {
                super::$scenario(super::Kind::Local);
            }
            #[test]
            fn s3() {
                super::$scenario(super::Kind::S3);
            }
            #[test]
            fn gcs() {
                super::$scenario(super::Kind::Gcs);
            }
        }
    )*};
}

for_each_backend!(
    backfill_is_byte_identical_a_rerun_writes_nothing_and_revisions_converge,
    a_kill_during_the_commit_leaves_whole_months_and_the_rerun_converges,
    two_racing_runs_one_commits_the_other_replans_and_the_manifest_is_never_rolled_back,
    build_from_the_lake_equals_build_from_disk_and_a_second_build_downloads_nothing,
    an_import_lands_in_the_lake_and_status_reads_it_back,
);

fn an_import_lands_in_the_lake_and_status_reads_it_back(kind: Kind) {
    let rows = gen(47, "2024-01", "2024-03", 300, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new(&format!("bucket-import-{kind:?}"), &server.url(), "");
    let lake = Lake::new(kind, &w);
    let file = w.dir.join("export.csv");
    std::fs::write(&file, write_csv(&rows, ExportStyle::New)).unwrap();
    let out = lake.run(&w, &["--json", "import", file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let strip = |rows: Vec<crate::ingest::LakeRow>| {
        rows.into_iter()
            .map(|mut r| {
                r.source_kind = String::new();
                r
            })
            .collect::<Vec<_>>()
    };
    let got = lake.read_through_manifest(&w.dir.join("reader"));
    assert!(got.iter().all(|r| r.source_kind == "csv"));
    assert_eq!(strip(got), strip(expected_rows(&rows, "soda", "2024-01", "2024-03")));
    let out = lake.run(&w, &["--json", "status"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["total_rows"], rows.len());
    assert_eq!(st["total_months"], 3);
    assert!(st["months"].as_array().unwrap().iter().all(|m| m["file_present"] == true && m["source_kind"] == "csv"));
    if let Some(url) = &lake.url {
        assert_eq!(st["lake"], url.as_str());
    }
}

fn backfill_is_byte_identical_a_rerun_writes_nothing_and_revisions_converge(kind: Kind) {
    let mut rows = gen(41, "2024-01", "2024-06", 900, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new(&format!("bucket-backfill-{kind:?}"), &server.url(), "");
    let lake = Lake::new(kind, &w);
    let reference = World::new(&format!("bucket-backfill-ref-{kind:?}"), &server.url(), "");
    reference.ingest(&RANGE);

    let s = lake.ingest(&w, &[]);
    assert_eq!(months(&s, "months_added").len(), 6);
    // Byte-identical month files to a run with the lake on disk.
    let on_disk =
        Lake { kind: Kind::Local, bucket: String::new(), url: None, folder: Some(reference.lake()), env: vec![] };
    assert_eq!(lake.month_files(), on_disk.month_files(), "month files differ from a local run");
    let got = lake.read_through_manifest(&w.dir.join("reader"));
    assert_eq!(got, expected_rows(&rows, "soda", "2024-01", "2024-06"));

    // A run with nothing new writes no object.
    let before = lake.listing();
    let s = lake.ingest(&w, &[]);
    assert_eq!(s["months_fetched"], 0);
    assert_eq!(lake.listing(), before, "a no-change run changed the bucket");

    // An update, a deleted month and a late report converge.
    let i = rows.iter().position(|r| month_of(r) == "2024-04").unwrap();
    rows[i].insert("precinct".into(), Value::String("Southwest".into()));
    rows.retain(|r| month_of(r) != "2024-03");
    let late = late_february_report(&rows);
    rows.push(late);
    server.set_rows(rows.clone());
    let old = lake.manifest();
    let s = lake.ingest(&w, &[]);
    assert_eq!(months(&s, "months_changed"), ["2024-02", "2024-04"]);
    assert_eq!(months(&s, "months_deleted"), ["2024-03"]);
    let got = lake.read_through_manifest(&w.dir.join("reader"));
    assert_eq!(got, expected_rows(&rows, "soda", "2024-01", "2024-06"));
    // The replaced and deleted versions are kept under revisions/, byte for byte.
    let listing = lake.listing();
    for e in old["months"].as_array().unwrap() {
        let m = e["month"].as_str().unwrap();
        if ["2024-02", "2024-03", "2024-04"].contains(&m) {
            let file = e["file"].as_str().unwrap();
            let kept: Vec<&String> = listing
                .keys()
                .filter(|k| k.starts_with(&format!("revisions/report_month={m}/")) && k.ends_with(file))
                .collect();
            assert_eq!(kept.len(), 1, "{m}: the replaced version is not under revisions/: {listing:?}");
            assert_eq!(sha256(&lake.read(kept[0])), e["sha256"].as_str().unwrap());
        }
    }
}

fn a_kill_during_the_commit_leaves_whole_months_and_the_rerun_converges(kind: Kind) {
    let steps: &[&str] = match kind {
        Kind::Local => &["swapped#2", "manifest_written"],
        _ => &["remote_uploaded#2", "remote_manifest_written"],
    };
    for step in steps {
        let rows = gen(42, "2024-01", "2024-06", 700, Schema::Nibrs);
        let server = SodaServer::start(DATASET, rows.clone());
        let w = World::new(&format!("bucket-kill-{kind:?}"), &server.url(), "");
        let lake = Lake::new(kind, &w);
        lake.ingest(&w, &[]);
        let first = lake.read_through_manifest(&w.dir.join("reader"));
        let mut changed = rows.clone();
        for m in ["2024-02", "2024-05"] {
            let i = changed.iter().position(|r| month_of(r) == m).unwrap();
            changed[i].insert("beat".into(), Value::String("Z9".into()));
        }
        server.set_rows(changed.clone());
        let mut args = vec!["ingest"];
        args.extend_from_slice(&RANGE);
        let out = lake.run(&w, &args, &[("CRIMEWATCH_FAULT_ABORT_AFTER", step)]);
        assert!(!out.status.success(), "{step}: the hook must abort:\n{}", text(&out));
        // A reader sees, per month, the old version or the new one: through the bucket's manifest (every file it
        // names is there), or, for a folder lake, through the readers' glob (the local swap's contract).
        let seen = match kind {
            Kind::Local => without_ids(lake_rows(&w.lake())),
            _ => lake.read_through_manifest(&w.dir.join("reader")),
        };
        let new = expected_rows(&changed, "soda", "2024-01", "2024-06");
        for m in ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"] {
            let pick =
                |v: &[crate::ingest::LakeRow]| v.iter().filter(|r| r.report_month == m).cloned().collect::<Vec<_>>();
            let got = pick(&seen);
            assert!(got == pick(&first) || got == pick(&new), "{step}: {m} is neither the old nor the new version");
        }
        // The rerun converges, and the one after writes nothing.
        lake.ingest(&w, &[]);
        assert_eq!(lake.read_through_manifest(&w.dir.join("reader")), new, "{step}");
        let copy = if kind == Kind::Local { w.lake() } else { w.data().join("lake-cache") };
        assert_eq!(without_ids(lake_rows(&copy)), new, "{step}: the copy DuckDB reads");
        let before = lake.listing();
        lake.ingest(&w, &[]);
        assert_eq!(lake.listing(), before, "{step}: the run after the repair wrote again");
    }
}

fn two_racing_runs_one_commits_the_other_replans_and_the_manifest_is_never_rolled_back(kind: Kind) {
    let mut rows = gen(43, "2024-01", "2024-06", 700, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let a = World::new(&format!("bucket-race-a-{kind:?}"), &server.url(), "");
    let lake = Lake::new(kind, &a);
    lake.ingest(&a, &[]);
    let i = rows.iter().position(|r| month_of(r) == "2024-03").unwrap();
    rows[i].insert("sector".into(), Value::String("Q".into()));
    server.set_rows(rows.clone());
    // B: the same lake from another machine (data dir), or the same data dir for a folder lake (where the run
    // lock is what keeps two runs apart). B stops just before its manifest write while A commits.
    let b = match kind {
        Kind::Local => World { dir: crate::tempdir::TempDir::new("bucket-race-b"), config: a.config.clone() },
        _ => World::new(&format!("bucket-race-b-{kind:?}"), &server.url(), ""),
    };
    let gate = b.dir.join("gate");
    let hold = format!("before_manifest_put:{}", gate.display());
    let b_lake = Lake {
        kind,
        bucket: lake.bucket.clone(),
        url: lake.url.clone(),
        folder: lake.folder.clone(),
        env: lake.env.clone(),
    };
    let mut args: Vec<String> = Vec::new();
    if let Some(u) = &lake.url {
        args.extend(["--lake".into(), u.clone()]);
    }
    args.extend(["--json", "ingest"].iter().map(|s| s.to_string()));
    args.extend(RANGE.iter().map(|s| s.to_string()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crimewatch"));
    cmd.arg("--config").arg(&b.config).args(&args).current_dir(&b.dir);
    for v in crate::ingest::AMBIENT_ENV {
        cmd.env_remove(v);
    }
    cmd.env("CRIMEWATCH_FAULT_HOLD", &hold);
    for (k, v) in &b_lake.env {
        cmd.env(k, v);
    }
    let racer = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    if kind != Kind::Local {
        let reached = PathBuf::from(format!("{}.reached", gate.display()));
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !reached.exists() {
            assert!(std::time::Instant::now() < deadline, "B never reached its manifest write");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let s = lake.ingest(&a, &[]);
    if kind != Kind::Local {
        assert_eq!(months(&s, "months_changed"), ["2024-03"]);
    }
    let after_a = lake.read("_manifest.json");
    std::fs::write(&gate, b"go").unwrap();
    let out = racer.wait_with_output().unwrap();
    assert!(out.status.success(), "B must re-plan and succeed:\n{}", text(&out));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    if kind != Kind::Local {
        let notes = s["notes"].to_string();
        assert!(notes.contains("another writer committed"), "B does not say it lost the race: {notes}");
        // B re-planned from A's lake: nothing left to do, so A's manifest stands, byte for byte.
        assert_eq!(lake.read("_manifest.json"), after_a, "the manifest was overwritten or rolled back");
    }
    assert_eq!(lake.read_through_manifest(&a.dir.join("reader")), expected_rows(&rows, "soda", "2024-01", "2024-06"));
}

/// Every table of the published warehouse's `marts` schema but `meta_build` (which records when and from where),
/// each row as text, sorted.
fn marts(warehouse: &Path) -> BTreeMap<String, Vec<String>> {
    let conn = duckdb::Connection::open(warehouse).unwrap();
    let mut stmt = conn
        .prepare(
            "select table_name from information_schema.tables where table_schema = 'marts' \
             and table_name <> 'meta_build' order by 1",
        )
        .unwrap();
    let tables: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let mut stmt =
            conn.prepare(&format!("select cast(t as varchar) as x from marts.\"{t}\" as t order by x")).unwrap();
        let rows: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect();
        out.insert(t, rows);
    }
    assert!(out.len() > 3, "no marts in {}", warehouse.display());
    out
}

fn build_from_the_lake_equals_build_from_disk_and_a_second_build_downloads_nothing(kind: Kind) {
    let rows = gen(44, "2024-01", "2024-06", 900, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows);
    let writer = World::new(&format!("bucket-build-w-{kind:?}"), &server.url(), "");
    let lake = Lake::new(kind, &writer);
    lake.ingest(&writer, &[]);
    // The reference: the same lake's files on disk (a copy of the writer's), so both builds read the same versions
    // fetched at the same times (the revision marts carry each version's fetch time).
    let reference = World::new(&format!("bucket-build-ref-{kind:?}"), &server.url(), "");
    let files = if kind == Kind::Local { writer.lake() } else { writer.data().join("lake-cache") };
    std::fs::create_dir_all(reference.lake()).unwrap();
    let copied = std::process::Command::new("cp").arg("-a").arg(files.join(".")).arg(reference.lake()).status();
    assert!(copied.unwrap().success(), "copying {} failed", files.display());
    let _ = std::fs::remove_file(reference.lake().join("_bucket_index.json"));
    let out = reference.run(&["build"], &[]);
    assert!(out.status.success(), "{}", text(&out));

    // Another machine builds from the lake.
    let reader = World::new(&format!("bucket-build-r-{kind:?}"), &server.url(), "");
    let reader_lake = Lake {
        kind,
        bucket: lake.bucket.clone(),
        url: lake.url.clone().or_else(|| Some(writer.lake().display().to_string())),
        folder: lake.folder.clone(),
        env: lake.env.clone(),
    };
    let out = reader_lake.run(&reader, &["build"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(marts(&reader.data().join("warehouse.duckdb")), marts(&reference.data().join("warehouse.duckdb")));
    if kind == Kind::Local {
        return;
    }
    let cache = reader.data().join("lake-cache");
    let mut before = BTreeMap::new();
    walk(&cache.join("spd_crime"), &cache.join("spd_crime"), &mut before);
    assert!(before.keys().filter(|k| k.ends_with(".parquet")).count() == 6, "{before:?}");
    let out = reader_lake.run(&reader, &["build"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let mut after = BTreeMap::new();
    walk(&cache.join("spd_crime"), &cache.join("spd_crime"), &mut after);
    assert_eq!(after, before, "the second build downloaded again");

    // A garbled cached file is detected and fetched again; an orphan in the copy is removed.
    let (rel, _) = before.iter().find(|(k, _)| k.ends_with(".parquet")).unwrap();
    let path = cache.join("spd_crime").join(rel);
    let good = std::fs::read(&path).unwrap();
    let mut bad = good.clone();
    bad[100] ^= 0xff;
    std::fs::write(&path, &bad).unwrap();
    let orphan = cache.join("spd_crime/report_month=2024-01/part-0000000000000000.parquet");
    std::fs::copy(&path, &orphan).unwrap();
    let out = reader_lake.run(&reader, &["build"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(&path).unwrap(), good);
    assert!(!orphan.exists(), "a file the manifest does not name stayed where DuckDB globs");
}

#[test]
fn garbage_is_collected_only_when_unreferenced_for_the_grace_period_s3() {
    garbage_is_collected_only_when_unreferenced_for_the_grace_period(Kind::S3);
}

#[test]
fn garbage_is_collected_only_when_unreferenced_for_the_grace_period_gcs() {
    garbage_is_collected_only_when_unreferenced_for_the_grace_period(Kind::Gcs);
}

/// A folder lake has nothing to collect (a replaced month moves to revisions/ in the same swap); bucket lakes:
/// an orphan of a crashed run and a replaced month's old object are kept until they have been unreferenced, and
/// unwritten, for `lake.gc_grace`; everything the manifest names and every revision stays.
fn garbage_is_collected_only_when_unreferenced_for_the_grace_period(kind: Kind) {
    let mut rows = gen(45, "2024-01", "2024-06", 600, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new(&format!("bucket-gc-{kind:?}"), &server.url(), "");
    std::fs::write(&w.config, format!("{}\n[lake]\ngc_grace = \"3s\"\n", std::fs::read_to_string(&w.config).unwrap()))
        .unwrap();
    let lake = Lake::new(kind, &w);
    lake.ingest(&w, &[]);
    let orphan = "spd_crime/report_month=2024-01/part-00000000deadbeef.parquet";
    lake.write(orphan, b"left by a run killed before its manifest write");
    let old = lake.manifest();
    let old_apr = old["months"].as_array().unwrap().iter().find(|e| e["month"] == "2024-04").unwrap()["file"]
        .as_str()
        .unwrap()
        .to_string();
    let i = rows.iter().position(|r| month_of(r) == "2024-04").unwrap();
    rows[i].insert("beat".into(), Value::String("Z1".into()));
    server.set_rows(rows.clone());
    lake.ingest(&w, &[]);
    let replaced = format!("spd_crime/report_month=2024-04/{old_apr}");
    let listing = lake.listing();
    assert!(
        listing.contains_key(orphan) && listing.contains_key(&replaced),
        "deleted before the grace period: {listing:?}"
    );
    std::thread::sleep(Duration::from_secs(4));
    lake.ingest(&w, &[]);
    let listing = lake.listing();
    assert!(!listing.contains_key(orphan), "the orphan outlived the grace period");
    assert!(!listing.contains_key(&replaced), "the replaced object outlived the grace period");
    for e in lake.manifest()["months"].as_array().unwrap() {
        let rel = format!("spd_crime/report_month={}/{}", e["month"].as_str().unwrap(), e["file"].as_str().unwrap());
        assert!(listing.contains_key(&rel), "{rel} is named by the manifest and was deleted");
    }
    assert!(listing.keys().any(|k| k.starts_with("revisions/report_month=2024-04/") && k.ends_with(&old_apr)));
    assert_eq!(lake.read_through_manifest(&w.dir.join("reader")), expected_rows(&rows, "soda", "2024-01", "2024-06"));
}

#[test]
fn bucket_errors_name_the_bucket_and_what_to_set_and_leave_the_lake_s3() {
    bucket_errors_name_the_bucket_and_what_to_set_and_leave_the_lake(Kind::S3);
}

#[test]
fn bucket_errors_name_the_bucket_and_what_to_set_and_leave_the_lake_gcs() {
    bucket_errors_name_the_bucket_and_what_to_set_and_leave_the_lake(Kind::Gcs);
}

fn bucket_errors_name_the_bucket_and_what_to_set_and_leave_the_lake(kind: Kind) {
    let rows = gen(46, "2024-01", "2024-06", 300, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows);
    let w = World::new(&format!("bucket-errors-{kind:?}"), &server.url(), "");
    let lake = Lake::new(kind, &w);
    // A missing bucket: exit 2, naming it.
    let scheme = if kind == Kind::S3 { "s3" } else { "gs" };
    let missing =
        Lake { url: Some(format!("{scheme}://no-such-bucket-{}/x", std::process::id())), ..Lake::new(kind, &w) };
    for cmd in [&["ingest"][..], &["build"][..], &["status"][..]] {
        let out = missing.run(&w, cmd, &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{cmd:?}: {}", text(&out));
        if cmd != ["status"] {
            assert_eq!(out.status.code(), Some(2), "{cmd:?}: {}", text(&out));
        }
        assert!(err.contains("no-such-bucket") && err.contains("does not exist"), "{cmd:?}: {err}");
    }
    // A manifest written by a newer crimewatch: refused, nothing written.
    lake.ingest(&w, &[]);
    let mut man = lake.manifest();
    man["version"] = Value::from(99);
    lake.write("_manifest.json", &serde_json::to_vec_pretty(&man).unwrap());
    let before = lake.listing();
    let mut args = vec!["ingest"];
    args.extend_from_slice(&RANGE);
    let out = lake.run(&w, &args, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(err.contains("_manifest.json") && err.contains("newer crimewatch") && err.contains("99"), "{err}");
    assert_eq!(lake.listing(), before, "the lake changed");
    if kind == Kind::S3 {
        // Bad credentials, against a moto that checks them: named, with the variables to set, and no secret.
        let strict = emulators::start_moto(&w.dir.join("strict-moto"), &[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
        let secret = "wJalrXUtnFEMI-not-a-real-secret";
        let out = lake.run(
            &w,
            &args,
            &[
                ("AWS_ENDPOINT_URL", strict.url.as_str()),
                ("AWS_ACCESS_KEY_ID", "AKIAUNKNOWN"),
                ("AWS_SECRET_ACCESS_KEY", secret),
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(err.contains("AWS_ACCESS_KEY_ID") && err.contains(&lake.bucket), "{err}");
        assert!(!err.contains(secret) && !String::from_utf8_lossy(&out.stdout).contains(secret));
    }
}

/// An `s3://` lake with its keys only in a shared profile (`AWS_PROFILE`, `AWS_SHARED_CREDENTIALS_FILE`), as
/// `aws configure` leaves them: the run signs with them; a profile that is not there is named, exit 2.
#[test]
fn an_aws_profile_in_the_shared_files_supplies_the_keys() {
    let rows = gen(46, "2024-01", "2024-06", 300, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows);
    let w = World::new("bucket-aws-profile", &server.url(), "");
    let mut lake = Lake::new(Kind::S3, &w);
    lake.env.retain(|(k, _)| k != "AWS_ACCESS_KEY_ID" && k != "AWS_SECRET_ACCESS_KEY");
    let credentials = w.dir.join("aws-credentials");
    std::fs::write(&credentials, "[default]\n[ci]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
        .unwrap();
    let credentials = credentials.display().to_string();
    let missing_config = w.dir.join("no-aws-config").display().to_string();
    let files = [("AWS_SHARED_CREDENTIALS_FILE", credentials.as_str()), ("AWS_CONFIG_FILE", missing_config.as_str())];

    let s = lake.ingest(&w, &[files[0], files[1], ("AWS_PROFILE", "ci")]);
    assert!(lake.listing().contains_key("_manifest.json"), "nothing committed: {s}");

    let mut args = vec!["ingest"];
    args.extend_from_slice(&RANGE);
    let before = lake.listing();
    let out = lake.run(&w, &args, &[files[0], files[1], ("AWS_PROFILE", "nope")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(err.contains("AWS profile nope") && err.contains("AWS_ACCESS_KEY_ID"), "{err}");
    assert_eq!(lake.listing(), before, "the lake changed");
}
