//! The lake verifies what it reads (issue 17): every month file is checked against the SHA-256 and size in the
//! manifest before it is trusted — the build refuses a lake that does not verify, the next ingest (without
//! `--full`, whatever its range) fetches such months again, and a commit never keeps a same-named file that does
//! not verify. A truncated or garbled manifest is rebuilt from the months' own records; `status` shows what a
//! killed first backfill left; a full disk is named as such. Real binary, real files, the local SODA-compatible
//! server; each damage is done to the bytes on disk, and the published marts are checked against the
//! independent computation of `tests/warehouse.rs`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use soda_testkit::generate::Schema;
use soda_testkit::{RequestKind, Row, SodaServer};

use crate::fixture_lake;
use crate::ingest::{assert_lake_equals, expected_rows, gen, temp_dir, text, World, DATASET};
use crate::warehouse::{assert_trend_matches, expected, open_read_only};

const RANGE: [&str; 4] = ["--since", "2024-01", "--until", "2024-06"];

/// The one Parquet file of a month folder.
fn month_file(w: &World, month: &str) -> PathBuf {
    let dir = w.lake().join(format!("spd_crime/report_month={month}"));
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .collect();
    assert_eq!(files.len(), 1, "{}", dir.display());
    files[0].clone()
}

/// Flips every bit of 4 KB in the middle of the file: same name, same size, other bytes.
fn garble(path: &Path) {
    let mut b = std::fs::read(path).unwrap();
    let mid = b.len() / 2;
    for x in &mut b[mid - 2048..mid + 2048] {
        *x = !*x;
    }
    std::fs::write(path, b).unwrap();
}

fn truncate(path: &Path) {
    let b = std::fs::read(path).unwrap();
    std::fs::write(path, &b[..b.len() / 2]).unwrap();
}

/// SHA-256 (hex) of a file, computed here.
fn sha256(path: &Path) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

fn months(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {v:#}"))
        .iter()
        .map(|m| m.as_str().unwrap().into())
        .collect()
}

/// Report months whose page requests the server saw since its log was last reset (a page's `$where` starts at
/// its month: `>= 'YYYY-MM-01T00:00:00'`).
fn paged_months(server: &SodaServer, candidates: &[&str]) -> BTreeSet<String> {
    let pages: Vec<String> =
        server.requests().into_iter().filter(|r| r.kind == RequestKind::Page).map(|r| r.path_and_query).collect();
    let paged = |m: &str| pages.iter().any(|p| p.contains(&format!(">= '{m}-01T00:00:00'")));
    candidates.iter().filter(|m| paged(m)).map(|m| m.to_string()).collect()
}

/// The published marts hold exactly what the served rows say (tests/warehouse.rs's independent computation).
fn assert_published_marts_match(w: &World, rows: &[Row]) {
    let lake_rows: Vec<_> = rows.iter().enumerate().map(|(i, r)| fixture_lake::to_lake_row(r, i)).collect();
    let offenses = expected::offenses(&lake_rows);
    let conn = open_read_only(&w.data().join("warehouse.duckdb"));
    assert_trend_matches(&conn, &offenses, "mart_category_trend after the repair");
    let facts: i64 = conn.query_row("SELECT count(*) FROM marts.fct_offenses", [], |r| r.get(0)).unwrap();
    assert_eq!(facts as usize, offenses.len(), "fct_offenses");
}

fn build_ok(w: &World) {
    let out = w.run(&["--json", "build"], &[]);
    assert!(out.status.success(), "build: {}", text(&out));
}

#[test]
fn garbled_and_truncated_month_files_stop_the_build_and_the_next_ingest_repairs_them() {
    let rows = gen(41, "2024-01", "2024-06", 1200, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("li-damage", &server.url(), "");
    w.ingest(&RANGE);
    build_ok(&w);
    let published = std::fs::read(w.data().join("warehouse.duckdb")).unwrap();

    // Garbled alone (same name, same size, other bytes): what DuckDB would make of it is not the point — the
    // build must not read it at all.
    garble(&month_file(&w, "2024-03"));
    let out = w.run(&["build"], &[]);
    assert!(!out.status.success(), "a garbled month must not be built:\n{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2024-03: ") && err.contains("(garbled)"), "{err}");
    assert_eq!(std::fs::read(w.data().join("warehouse.duckdb")).unwrap(), published, "nothing may be published");

    truncate(&month_file(&w, "2024-05"));
    let out = w.run(&["build"], &[]);
    assert!(!out.status.success(), "a lake that does not verify must not be built:\n{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in ["2024-03", "garbled", "2024-05", "truncated", "crimewatch ingest", "no --full needed"] {
        assert!(err.contains(needle), "the error should say {needle:?}:\n{err}");
    }
    assert!(!err.contains("2024-04"), "only the damaged months are named:\n{err}");
    assert_eq!(std::fs::read(w.data().join("warehouse.duckdb")).unwrap(), published, "nothing may be published");

    // The next ingest, without --full and over a range that leaves both months out, fetches them again.
    server.reset_log();
    let s = w.ingest(&["--since", "2024-06", "--until", "2024-06"]);
    assert_eq!(months(&s, "months_repaired"), ["2024-03", "2024-05"], "{s:#}");
    let all = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"];
    assert_eq!(paged_months(&server, &all), ["2024-03", "2024-05"].map(String::from).into());
    assert_lake_equals(&w, &rows, "2024-01", "2024-06");
    for m in ["2024-03", "2024-05"] {
        let kept = std::fs::read_dir(w.lake().join(format!("revisions/report_month={m}"))).unwrap();
        let names: Vec<String> = kept.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.len() == 1 && names[0].ends_with("-damaged"), "{m}: {names:?}");
    }
    build_ok(&w);
    assert_published_marts_match(&w, &rows);
}

#[test]
fn a_truncated_file_fetched_again_with_full_is_replaced_not_kept_under_its_name() {
    let rows = gen(42, "2024-01", "2024-03", 600, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("li-same-name", &server.url(), "");
    // One month per run, so both downloads are written the same way and get the same bytes, hence the same name.
    let month = ["--since", "2024-02", "--until", "2024-02"];
    w.ingest(&month);
    let file = month_file(&w, "2024-02");
    let good = std::fs::read(&file).unwrap();
    truncate(&file);
    let s = w.ingest(&[&month[..], &["--full"]].concat());
    assert_eq!(months(&s, "months_repaired"), ["2024-02"], "{s:#}");
    assert!(months(&s, "months_same_content").is_empty(), "{s:#}");
    assert_eq!(month_file(&w, "2024-02"), file, "same content, same name");
    assert_eq!(std::fs::read(&file).unwrap(), good, "the damaged file must not be kept");
    let entry = w.manifest()["months"][0].clone();
    assert_eq!(entry["sha256"].as_str(), Some(sha256(&file).as_str()));
    assert_eq!(entry["bytes"].as_u64(), Some(good.len() as u64));
    assert_lake_equals(&w, &rows, "2024-02", "2024-02");
}

#[test]
fn every_month_file_has_its_checksum_size_and_rows_in_the_manifest_and_in_its_own_record() {
    let rows = gen(43, "2024-01", "2024-03", 600, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("li-fields", &server.url(), "");
    w.ingest(&["--since", "2024-01", "--until", "2024-03"]);
    for e in w.manifest()["months"].as_array().unwrap() {
        let m = e["month"].as_str().unwrap();
        let file = month_file(&w, m);
        let sha = sha256(&file);
        assert_eq!(e["sha256"].as_str(), Some(sha.as_str()), "{m}");
        assert_eq!(e["bytes"].as_u64(), Some(std::fs::metadata(&file).unwrap().len()), "{m}");
        assert_eq!(e["file"].as_str().unwrap(), format!("part-{}.parquet", &sha[..16]), "named by its SHA-256");
        let record: Value =
            serde_json::from_slice(&std::fs::read(file.with_file_name("_month.json")).unwrap()).unwrap();
        assert_eq!(record["dataset"], DATASET);
        for key in ["month", "rows", "file", "sha256", "bytes", "fingerprint", "partial", "source_kind"] {
            assert_eq!(record[key], e[key], "{m}: {key}");
        }
    }
}

#[test]
fn a_manifest_without_checksums_still_loads_and_gets_them_once_its_rows_verify() {
    let rows = gen(44, "2024-01", "2024-04", 800, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("li-legacy", &server.url(), "");
    w.ingest(&["--since", "2024-01", "--until", "2024-04"]);
    // Turn it into a lake as an older crimewatch wrote it: no checksums, no records, files named by FNV-1a.
    let mut man = w.manifest();
    for e in man["months"].as_array_mut().unwrap() {
        let m = e["month"].as_str().unwrap().to_string();
        let file = month_file(&w, &m);
        std::fs::remove_file(file.with_file_name("_month.json")).unwrap();
        let legacy = format!("part-{}.parquet", fnv64(&std::fs::read(&file).unwrap()));
        std::fs::rename(&file, file.with_file_name(&legacy)).unwrap();
        let obj = e.as_object_mut().unwrap();
        obj.remove("sha256");
        obj.remove("bytes");
        obj.insert("file".into(), legacy.into());
        if m == "2024-02" {
            // A row count that the file does not hold: that month cannot be trusted.
            obj.insert("rows".into(), (obj["rows"].as_u64().unwrap() + 1).into());
        }
    }
    std::fs::write(w.lake().join("_manifest.json"), serde_json::to_vec_pretty(&man).unwrap()).unwrap();

    server.reset_log();
    let s = w.ingest(&["--since", "2024-01", "--until", "2024-04"]);
    let notes = s["notes"].to_string();
    assert!(notes.contains("recorded SHA-256 checksums for 3 month file(s)"), "{notes}");
    assert!(notes.contains("2024-02") && notes.contains("rows"), "{notes}");
    assert_eq!(months(&s, "months_repaired"), ["2024-02"]);
    let all = ["2024-01", "2024-02", "2024-03", "2024-04"];
    assert_eq!(paged_months(&server, &all), ["2024-02".to_string()].into(), "only the month that failed");
    for e in w.manifest()["months"].as_array().unwrap() {
        let file = month_file(&w, e["month"].as_str().unwrap());
        assert_eq!(e["sha256"].as_str(), Some(sha256(&file).as_str()));
        assert!(file.with_file_name("_month.json").is_file());
    }
    assert_lake_equals(&w, &rows, "2024-01", "2024-04");
    build_ok(&w);
}

/// 64-bit FNV-1a, as 16 hex digits (how an older crimewatch named month files).
fn fnv64(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[test]
fn truncated_and_garbage_manifests_are_rebuilt_from_the_month_records() {
    let rows = gen(45, "2024-01", "2024-06", 1200, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("li-manifest", &server.url(), "");
    w.ingest(&RANGE);
    build_ok(&w);
    let original = w.manifest();
    let path = w.lake().join("_manifest.json");
    let text_of = std::fs::read(&path).unwrap();
    let damages: [(&str, Vec<u8>); 3] = [
        ("truncated", text_of[..text_of.len() / 3].to_vec()),
        ("garbage", b"\xe2\x28\xa1 not json at all \x00\xff".to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in damages {
        std::fs::write(&path, &bytes).unwrap();
        let files_before = w.snapshot().into_iter().filter(|(k, _)| k.starts_with("spd_crime")).collect::<Vec<_>>();
        // The build refuses and says what to do.
        let out = w.run(&["build"], &[]);
        assert!(!out.status.success(), "{what}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("rebuilds the manifest"), "{what}: {}", text(&out));
        // The next ingest rebuilds it from the months' records: nothing is downloaded again.
        server.reset_log();
        let s = w.ingest(&RANGE);
        assert_eq!(server.request_count(), 2, "{what}: {:?}", server.requests());
        let notes = s["notes"].to_string();
        assert!(notes.contains("rebuilt it from the 6 month folder(s): 6 adopted"), "{what}: {notes}");
        assert_eq!(std::fs::read(w.lake().join("_manifest.json.damaged")).unwrap(), bytes, "{what}: kept aside");
        let rebuilt = w.manifest();
        assert_eq!(rebuilt["months"], original["months"], "{what}: every entry as it was");
        assert_eq!(rebuilt["dataset"], original["dataset"]);
        let files_after = w.snapshot().into_iter().filter(|(k, _)| k.starts_with("spd_crime")).collect::<Vec<_>>();
        assert_eq!(files_after, files_before, "{what}: the month files are untouched");
        build_ok(&w);
    }

    // A month whose record is lost too cannot be vouched for: it alone is fetched again.
    std::fs::remove_file(month_file(&w, "2024-04").with_file_name("_month.json")).unwrap();
    std::fs::write(&path, b"{\"version\": 1, \"datas").unwrap();
    server.reset_log();
    let s = w.ingest(&RANGE);
    let notes = s["notes"].to_string();
    assert!(notes.contains("5 adopted") && notes.contains("1 without a usable record"), "{notes}");
    let all = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"];
    assert_eq!(paged_months(&server, &all), ["2024-04".to_string()].into());
    assert_lake_equals(&w, &rows, "2024-01", "2024-06");
    // Every entry as it was, but for the fetched month's download (DuckDB's Parquet writer does not promise the
    // same bytes for the same rows, so its file, size and checksum may differ; its rows and fingerprint may not).
    let mut want = original["months"].clone();
    let rebuilt = w.manifest();
    for (e, now) in want.as_array_mut().unwrap().iter_mut().zip(rebuilt["months"].as_array().unwrap()) {
        if e["month"] == "2024-04" {
            for key in ["fetched_at", "file", "sha256", "bytes"] {
                e[key] = now[key].clone();
            }
        }
    }
    assert_eq!(rebuilt["months"], want);
    build_ok(&w);
    assert_published_marts_match(&w, &rows);
}

#[test]
fn status_after_a_killed_first_backfill_reports_the_months_on_disk() {
    let rows = gen(46, "2024-01", "2024-12", 2400, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("li-killed", &server.url(), "");
    let range = ["--since", "2024-01", "--until", "2024-12"];
    let mut args = vec!["ingest"];
    args.extend_from_slice(&range);
    // Killed with five months swapped in and no manifest written yet.
    let out = w.run(&args, &[("CRIMEWATCH_FAULT_ABORT_AFTER", "swapped#5")]);
    assert!(!out.status.success(), "the hook must abort:\n{}", text(&out));
    assert!(!w.lake().join("_manifest.json").exists());
    let on_disk: Vec<String> = std::fs::read_dir(w.lake().join("spd_crime"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_start_matches("report_month=").to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(on_disk.len(), 5, "{on_disk:?}");

    let out = w.run(&["status"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(!s.contains("no lake yet"), "{s}");
    assert!(s.contains("no manifest yet: 5 month(s) on disk"), "{s}");
    for m in &on_disk {
        assert!(s.lines().any(|l| l.starts_with(m.as_str()) && l.contains("unlisted")), "{m} missing from:\n{s}");
    }
    let out = w.run(&["--json", "status"], &[]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["manifest"], "missing");
    assert_eq!(v["total_months"], 5);
    assert_eq!(v["months_not_in_manifest"], 5);
    // The rows shown are the rows the source has for those months, counted here.
    let want: usize = on_disk.iter().map(|m| expected_rows(&rows, "soda", m, m).len()).sum();
    assert_eq!(v["total_rows"].as_u64(), Some(want as u64), "{v:#}");

    // The next ingest adopts the five and fetches only the other seven.
    server.reset_log();
    let s = w.ingest(&range);
    assert_eq!(s["months_fetched"], 7, "{s:#}");
    assert!(s["notes"].to_string().contains("5 adopted"), "{s:#}");
    let all: Vec<String> = (1..=12).map(|m| format!("2024-{m:02}")).collect();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let fetched = paged_months(&server, &all);
    assert!(fetched.iter().all(|m| !on_disk.contains(m)) && fetched.len() == 7, "{fetched:?}");
    assert_lake_equals(&w, &rows, "2024-01", "2024-12");
    let out = w.run(&["status"], &[]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(!s.contains("unlisted") && s.contains("in 12 months"), "{s}");
}

#[test]
fn status_with_a_stale_manifest_shows_the_months_it_does_not_list() {
    let rows = gen(47, "2024-01", "2024-08", 1600, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows.clone());
    let w = World::new("li-stale", &server.url(), "");
    w.ingest(&["--since", "2024-01", "--until", "2024-03"]);
    let out = w
        .run(&["ingest", "--since", "2024-01", "--until", "2024-08"], &[("CRIMEWATCH_FAULT_ABORT_AFTER", "swapped#2")]);
    assert!(!out.status.success(), "{}", text(&out));
    let out = w.run(&["--json", "status"], &[]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["manifest"], "present");
    assert_eq!(v["total_months"], 5, "{v:#}");
    assert_eq!(v["months_not_in_manifest"], 2, "{v:#}");
    let out = w.run(&["status"], &[]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("2 month(s) on disk are not in the manifest"),
        "{}",
        text(&out)
    );
}

/// A real full file system: a small tmpfs mounted in a private mount namespace (`unshare`, as root or through
/// an unprivileged user namespace), holding a data dir whose next warehouse cannot fit.
#[test]
fn a_build_on_a_full_disk_names_the_disk_not_the_sql() {
    let rows = gen(48, "2024-01", "2024-03", 900, Schema::Nibrs);
    let server = SodaServer::start(DATASET, rows);
    let w = World::new("li-full", &server.url(), "");
    w.ingest(&["--since", "2024-01", "--until", "2024-03"]);
    build_ok(&w);
    let used = dir_size(&w.data());
    let mnt = temp_dir("li-full-mount");
    let report = mnt.join("..").join(format!("{}-report", mnt.file_name().unwrap().to_string_lossy()));
    // Room for the data dir as it is, not for a second warehouse file.
    let size_kb = used / 1024 + 512;
    let bin = env!("CARGO_BIN_EXE_crimewatch");
    let script = format!(
        r#"set -e
mount -t tmpfs -o size={size_kb}k tmpfs "$MNT"
cp -a "$DATA/." "$MNT/"
before=$(sha256sum "$MNT/warehouse.duckdb" | cut -d' ' -f1)
set +e
"$BIN" --data-dir "$MNT" build > "$REPORT.out" 2> "$REPORT.err"
echo $? > "$REPORT.code"
after=$(sha256sum "$MNT/warehouse.duckdb" | cut -d' ' -f1)
[ "$before" = "$after" ] && echo same > "$REPORT.published" || echo changed > "$REPORT.published"
ls -a "$MNT" > "$REPORT.ls"
"#
    );
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
        .env("MNT", mnt.path())
        .env("DATA", w.data())
        .env("BIN", bin)
        .env("REPORT", &report)
        .env_remove("CRIMEWATCH_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(out.status.success(), "a tmpfs could not be set up:\n{}", text(&out));
    let read = |ext: &str| std::fs::read_to_string(format!("{}.{ext}", report.display())).unwrap_or_default();
    let (code, err, published, ls) = (read("code"), read("err"), read("published"), read("ls"));
    for ext in ["out", "err", "code", "published", "ls"] {
        let _ = std::fs::remove_file(format!("{}.{ext}", report.display()));
    }
    assert_ne!(code.trim(), "0", "the build cannot succeed on a full disk:\n{err}");
    let mount = mnt.path().to_string_lossy();
    assert!(err.contains(&format!("the disk holding {mount} ran out of space")), "{err}");
    assert!(err.contains("Free space on that disk"), "{err}");
    assert!(!err.contains("needs fixing"), "the SQL is not to blame:\n{err}");
    assert_eq!(published.trim(), "same", "the published warehouse must be left as it was");
    assert!(!ls.contains("candidate"), "the unfinished candidate must be removed: {ls}");
}

fn dir_size(dir: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        n += if p.is_dir() { dir_size(&p) } else { std::fs::metadata(&p).unwrap().len() };
    }
    n
}
