//! The lake's GCS store (src/lake/remote/gcs.rs) against a real fake-gcs-server (installed by
//! `scripts/install-test-deps`, started here in memory, once for the test binary; each test has a bucket of its
//! own). What the store says is checked against the emulator's own JSON answers (`FakeGcs::objects`), never only
//! against itself.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use crimewatch::lake::remote::gcs::GcsStore;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload, PutResult, UpdateVersion};

use crate::emulators::{start_fake_gcs, FakeGcs};
use crate::tempdir::TempDir;

fn fake_gcs() -> &'static FakeGcs {
    static E: OnceLock<(TempDir, FakeGcs)> = OnceLock::new();
    &E.get_or_init(|| {
        let root = TempDir::new("gcs-store-emulator");
        let gcs = start_fake_gcs(&root);
        (root, gcs)
    })
    .1
}

/// Two workers, so that the racing tasks really run side by side.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A fresh bucket and the store on it, as `gcs_store` makes it with `STORAGE_EMULATOR_HOST` set.
async fn bucket(name: &str) -> (GcsStore, String) {
    let bucket = format!("{name}-{}", std::process::id());
    fake_gcs().create_bucket(&bucket).await;
    (GcsStore::emulated(&bucket, &fake_gcs().url).unwrap(), bucket)
}

fn mode_update(put: &PutResult) -> PutMode {
    PutMode::Update(UpdateVersion { e_tag: put.e_tag.clone(), version: put.version.clone() })
}

async fn bytes_of(store: &GcsStore, path: &Path) -> Bytes {
    store.get(path).await.unwrap().bytes().await.unwrap()
}

/// Every byte value, and the sequences a multipart body is framed with.
fn binary(n: usize) -> Vec<u8> {
    let mut data: Vec<u8> = (0..n).map(|i| (i * 7 % 256) as u8).collect();
    data.extend_from_slice(b"\r\n--\r\n--crimewatch-\x00\xff");
    data
}

#[test]
fn create_if_absent_succeeds_once_then_is_already_exists() {
    runtime().block_on(async {
        let (store, bucket) = bucket("gcs-create").await;
        let manifest = Path::from("_manifest.json");
        let first = store.put_opts(&manifest, PutPayload::from_static(b"first"), PutMode::Create.into()).await.unwrap();
        assert!(first.version.is_some(), "{first:?}");

        let second = store.put_opts(&manifest, PutPayload::from_static(b"second"), PutMode::Create.into()).await;
        let err = second.unwrap_err();
        assert!(matches!(err, object_store::Error::AlreadyExists { .. }), "{err:?}");
        assert!(err.to_string().contains(&format!("gs://{bucket}/_manifest.json")), "{err}");
        assert_eq!(bytes_of(&store, &manifest).await, "first");
        assert_eq!(fake_gcs().objects(&bucket).await, [("_manifest.json".to_string(), first.version.unwrap())]);
    });
}

#[test]
fn update_with_the_current_generation_succeeds_and_with_a_stale_one_is_refused() {
    runtime().block_on(async {
        let (store, bucket) = bucket("gcs-update").await;
        let manifest = Path::from("_manifest.json");
        let v1 = store.put_opts(&manifest, PutPayload::from_static(b"v1"), PutMode::Create.into()).await.unwrap();
        let v2 = store.put_opts(&manifest, PutPayload::from_static(b"v2"), mode_update(&v1).into()).await.unwrap();
        assert_ne!(v2.version, v1.version);
        assert_eq!(bytes_of(&store, &manifest).await, "v2");

        let stale = store.put_opts(&manifest, PutPayload::from_static(b"v3"), mode_update(&v1).into()).await;
        let err = stale.unwrap_err();
        assert!(matches!(err, object_store::Error::Precondition { .. }), "{err:?}");
        assert!(err.to_string().contains(&format!("gs://{bucket}/_manifest.json")), "{err}");
        assert_eq!(bytes_of(&store, &manifest).await, "v2", "a refused update left the object unchanged");
        assert_eq!(store.head(&manifest).await.unwrap().version, v2.version);

        // A conditional update planned from a read (not from a put) works the same way.
        let read = store.head(&manifest).await.unwrap();
        let planned = PutMode::Update(UpdateVersion { e_tag: read.e_tag, version: read.version });
        store.put_opts(&manifest, PutPayload::from_static(b"v3"), planned.into()).await.unwrap();
        assert_eq!(bytes_of(&store, &manifest).await, "v3");
    });
}

#[test]
fn put_get_head_list_delete_round_trip_binary_content_byte_identical() {
    runtime().block_on(async {
        let (store, bucket) = bucket("gcs-roundtrip").await;
        let data = binary(300_000);
        let month = Path::from("spd_crime/report_month=2024-03/part 1.parquet");
        let other = Path::from("spd_crime/report_month=2024-04/part-2.parquet");
        let put = store.put(&month, PutPayload::from(data.clone())).await.unwrap();
        store.put(&other, PutPayload::from_static(b"")).await.unwrap();
        store.put(&Path::from("_manifest.json"), PutPayload::from_static(b"{}")).await.unwrap();

        let got = store.get(&month).await.unwrap();
        assert_eq!(got.meta.size, data.len() as u64);
        assert_eq!(got.bytes().await.unwrap(), data, "bytes read back differ from bytes written");
        assert_eq!(bytes_of(&store, &other).await, "", "an empty object");
        assert_eq!(store.get_range(&month, 10..1010).await.unwrap(), data[10..1010]);
        let tail = store.get_opts(
            &month,
            object_store::GetOptions { range: Some((data.len() as u64 - 5..u64::MAX).into()), ..Default::default() },
        );
        assert_eq!(tail.await.unwrap().bytes().await.unwrap(), data[data.len() - 5..]);

        let head = store.head(&month).await.unwrap();
        assert_eq!(
            (head.location.clone(), head.size, head.version.clone()),
            (month.clone(), data.len() as u64, put.version.clone())
        );

        let mut listed: Vec<_> = store.list(Some(&Path::from("spd_crime"))).try_collect().await.unwrap();
        listed.sort_by(|a, b| a.location.cmp(&b.location));
        let names: Vec<_> = listed.iter().map(|m| (m.location.to_string(), m.size)).collect();
        assert_eq!(names, [(month.to_string(), data.len() as u64), (other.to_string(), 0)]);
        assert_eq!(listed[0].version, put.version);
        let dirs = store.list_with_delimiter(Some(&Path::from("spd_crime"))).await.unwrap();
        let dirs: Vec<_> = dirs.common_prefixes.iter().map(|p| p.to_string()).collect();
        assert_eq!(dirs, ["spd_crime/report_month=2024-03", "spd_crime/report_month=2024-04"]);
        let top = store.list_with_delimiter(None).await.unwrap();
        assert_eq!(top.objects.iter().map(|m| m.location.to_string()).collect::<Vec<_>>(), ["_manifest.json"]);

        store.delete(&month).await.unwrap();
        let gone = store.head(&month).await.unwrap_err();
        assert!(matches!(gone, object_store::Error::NotFound { .. }), "{gone:?}");
        assert!(matches!(store.get(&month).await.unwrap_err(), object_store::Error::NotFound { .. }));
        let left: Vec<_> = fake_gcs().objects(&bucket).await.into_iter().map(|(n, _)| n).collect();
        assert_eq!(left, ["_manifest.json", other.as_ref()]);
    });
}

#[test]
fn the_version_from_head_and_list_is_the_generation_put_returned() {
    runtime().block_on(async {
        let (store, bucket) = bucket("gcs-version").await;
        let path = Path::from("revisions/2024-03/abc.parquet");
        let put = store.put(&path, PutPayload::from_static(b"x")).await.unwrap();
        let emulator = fake_gcs().objects(&bucket).await;
        assert_eq!(emulator.len(), 1);
        assert_eq!(put.version.as_deref(), Some(emulator[0].1.as_str()), "put's version is the object's generation");
        assert_eq!(store.head(&path).await.unwrap().version, put.version);
        assert_eq!(store.get(&path).await.unwrap().meta.version, put.version);
        let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
        assert_eq!(listed[0].version, put.version);
        // A replacement is a new generation, and head follows it.
        let again = store.put(&path, PutPayload::from_static(b"y")).await.unwrap();
        assert_ne!(again.version, put.version);
        assert_eq!(store.head(&path).await.unwrap().version, again.version);
    });
}

#[test]
fn a_missing_bucket_is_an_error_that_names_the_bucket() {
    runtime().block_on(async {
        let bucket = format!("no-such-bucket-{}", std::process::id());
        let store = GcsStore::emulated(&bucket, &fake_gcs().url).unwrap();
        let path = Path::from("_manifest.json");
        let put = store.put_opts(&path, PutPayload::from_static(b"{}"), PutMode::Create.into()).await.unwrap_err();
        assert!(matches!(put, object_store::Error::NotFound { .. }), "{put:?}");
        let says_so = |e: &object_store::Error| {
            let m = e.to_string();
            m.contains(&format!("gs://{bucket}/")) && m.contains("bucket does not exist")
        };
        assert!(says_so(&put), "{put}");
        let list = store.list(None).try_collect::<Vec<_>>().await.unwrap_err();
        assert!(says_so(&list), "{list}");
        let head = store.head(&path).await.unwrap_err();
        assert!(head.to_string().contains(&format!("gs://{bucket}/_manifest.json")), "{head}");
    });
}

/// `n` tasks write `{label} {i}` to `path` with `mode` at once: exactly one must win, the others must be refused
/// as a lost race (AlreadyExists for a create, Precondition for an update), and the object must hold the winner's
/// bytes at the winner's generation. Returns the winner's put.
async fn race(store: &GcsStore, path: &Path, n: usize, mode: PutMode, label: &str) -> PutResult {
    let create = matches!(mode, PutMode::Create);
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (store, path, mode, body) = (store.clone(), path.clone(), mode.clone(), format!("{label} {i}"));
            tokio::spawn(async move { store.put_opts(&path, PutPayload::from(body), mode.into()).await })
        })
        .collect();
    let mut won = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(put) => won.push((i, put)),
            Err(object_store::Error::AlreadyExists { .. }) if create => {}
            Err(object_store::Error::Precondition { .. }) if !create => {}
            Err(e) => panic!("{label} {i}: {e}"),
        }
    }
    assert_eq!(won.len(), 1, "{label}: exactly one writer wins");
    let (i, put) = won.pop().unwrap();
    assert_eq!(bytes_of(store, path).await, format!("{label} {i}"), "{label}: the winner's bytes");
    assert_eq!(store.head(path).await.unwrap().version, put.version, "{label}: the winner's generation");
    put
}

#[test]
fn writers_racing_from_one_generation_exactly_one_wins() {
    runtime().block_on(async {
        let (store, _bucket) = bucket("gcs-race").await;
        let manifest = Path::from("_manifest.json");
        // Racing creators: one creates the manifest, the others learn that it exists.
        let mut current = race(&store, &manifest, 4, PutMode::Create, "creator").await;
        // Racing updaters, each from the generation they all read.
        for round in 0..5 {
            current = race(&store, &manifest, 2, mode_update(&current), &format!("round {round} writer")).await;
        }
    });
}

#[test]
fn listings_read_every_page() {
    runtime().block_on(async {
        let (store, bucket) = bucket("gcs-pages").await;
        // More than one page of 1000 (the store asks for pages of 1000; fake-gcs-server honours it).
        let names: Vec<Path> =
            (0..1003).map(|i| Path::from(format!("spd_crime/report_month=2024-03/f{i:04}"))).collect();
        let store_ref = &store;
        futures_util::stream::iter(
            names.iter().map(|n| async move { store_ref.put(n, PutPayload::from_static(b"p")).await }),
        )
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
        let mut listed: Vec<String> =
            store.list(Some(&Path::from("spd_crime"))).map_ok(|m| m.location.to_string()).try_collect().await.unwrap();
        listed.sort();
        let expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        assert_eq!(listed, expected);
        let flat = store.list_with_delimiter(Some(&Path::from("spd_crime/report_month=2024-03"))).await.unwrap();
        assert_eq!(flat.objects.len(), 1003);
        assert_eq!(fake_gcs().objects(&bucket).await.len(), 1003);
    });
}

#[test]
fn copy_if_not_exists_refuses_an_existing_target_and_copies_the_exact_bytes() {
    runtime().block_on(async {
        let (store, _bucket) = bucket("gcs-copy").await;
        let (from, to, new) = (Path::from("a/src.bin"), Path::from("a/dst.bin"), Path::from("b/new.bin"));
        let data = binary(50_000);
        store.put(&from, PutPayload::from(data.clone())).await.unwrap();
        store.put(&to, PutPayload::from_static(b"keep")).await.unwrap();

        let err = store.copy_if_not_exists(&from, &to).await.unwrap_err();
        assert!(matches!(err, object_store::Error::AlreadyExists { .. }), "{err:?}");
        assert_eq!(bytes_of(&store, &to).await, "keep");
        store.copy_if_not_exists(&from, &new).await.unwrap();
        assert_eq!(bytes_of(&store, &new).await, data);
        store.copy(&from, &to).await.unwrap();
        assert_eq!(bytes_of(&store, &to).await, data);
    });
}

#[test]
fn a_multipart_upload_is_written_whole_on_complete() {
    runtime().block_on(async {
        let (store, bucket) = bucket("gcs-multipart").await;
        let path = Path::from("spd_crime/report_month=2024-05/m.parquet");
        let mut upload = store.put_multipart(&path).await.unwrap();
        let data = binary(20_000);
        upload.put_part(PutPayload::from(data[..7_000].to_vec())).await.unwrap();
        upload.put_part(PutPayload::from(data[7_000..].to_vec())).await.unwrap();
        assert!(fake_gcs().objects(&bucket).await.is_empty(), "nothing is visible before complete");
        let put = upload.complete().await.unwrap();
        assert_eq!(bytes_of(&store, &path).await, data);
        assert_eq!(store.head(&path).await.unwrap().version, put.version);
        let arc: Arc<dyn ObjectStore> = Arc::new(store);
        assert!(arc.to_string().contains(&bucket));
    });
}

/// The binary with `--lake gs://…` and nothing else from the environment: no `STORAGE_EMULATOR_HOST`, no
/// `GOOGLE_*`, `HOME` without gcloud's credentials; `env` adds what a case needs.
fn crimewatch_on_gs(dir: &std::path::Path, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let data = dir.join("data");
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_crimewatch"));
    c.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("HOME", dir);
    c.arg("--data-dir").arg(&data).args(["--lake", "gs://cw-no-credentials/lake", "build"]).envs(env.iter().copied());
    let out = c.output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_gs_lake_without_google_credentials_fails_naming_the_bucket_and_what_to_set() {
    let dir = TempDir::new("gcs-no-credentials");
    // No credentials anywhere and a metadata server that is not there (a closed loopback port, so the test does
    // not depend on where it runs): the token request fails, and the run says what to set.
    let metadata = format!("127.0.0.1:{}", crate::emulators::free_port());
    let (code, err) = crimewatch_on_gs(&dir, &[("GCE_METADATA_HOST", &metadata), ("GCE_METADATA_IP", &metadata)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("gs://cw-no-credentials/lake") && err.contains("no Google credentials"), "{err}");
    assert!(err.contains("GOOGLE_APPLICATION_CREDENTIALS"), "{err}");
    // A key file that is not there: named, with the lake.
    let key = dir.join("no-such-key.json");
    let (code, err) = crimewatch_on_gs(&dir, &[("GOOGLE_APPLICATION_CREDENTIALS", key.to_str().unwrap())]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("gs://cw-no-credentials/lake") && err.contains(key.to_str().unwrap()), "{err}");
    assert!(!dir.join("data").join("lake-cache").join("_manifest.json").exists());
}
