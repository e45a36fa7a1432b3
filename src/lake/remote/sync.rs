//! The commit protocol of a bucket lake, over the local copy (`DATA_DIR/lake-cache`).
//!
//! - [`Bucket::pull`]: list the bucket, read the manifest and its version (ETag / generation), and make the copy
//!   what that manifest names: each listed month file downloaded unless the copy already has the manifest's
//!   size and SHA-256 (a partial or garbled copy is fetched again), the months' records and quarantine files and
//!   `revisions/` mirrored, every other file removed (so DuckDB's glob over the copy never reads a file the
//!   manifest does not name).
//! - [`Bucket::push`]: after the local lake code committed in the copy, upload every file the bucket does not
//!   have yet (month files are named by their content, so a new version is a new object; replaced versions go to
//!   `revisions/` as new objects), then replace the manifest with a conditional write: create-only-if-absent for
//!   the first manifest, only-if-still-the-version-pulled after. A lost race is [`LakeError::Conflict`], never an
//!   overwrite. Nothing is uploaded when the run changed nothing.
//! - [`Bucket::collect_garbage`]: objects no manifest names are deleted once they have been seen unreferenced
//!   for the grace period *and* were written longer ago than it: never by the run that wrote them, never while a
//!   reader of the previous manifest may still be reading them.
//!
//! `_bucket_index.json` in the copy remembers, per object, the ETag and SHA-256 of what was downloaded or
//! uploaded, and since when each unreferenced object has been seen; losing it costs re-hashing and a later GC.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{StreamExt as _, TryStreamExt as _};
use object_store::{ObjectMeta, ObjectStoreExt as _, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};

use super::Bucket;
use crate::domain::data_dir::{month_folder, MONTH_RECORD_FILE, QUARANTINE_FILE};
use crate::domain::DataDir;
use crate::lake::checksum::{self, FileDigest};
use crate::lake::durable;
use crate::lake::fault::{checkpoint, hold};
use crate::lake::manifest::Manifest;
use crate::lake::{LakeError, ManifestState, Survey, SurveyedMonth};

const MANIFEST: &str = "_manifest.json";
const IMPORT_QUARANTINE: &str = "_quarantine_import.jsonl";
const TABLE: &str = "spd_crime/";
const REVISIONS: &str = "revisions/";
/// The copy's own bookkeeping (never uploaded).
const INDEX_FILE: &str = "_bucket_index.json";
/// Transfers at a time.
const PARALLEL: usize = 8;

/// What the bucket held when pulled: the base of the run's conditional manifest write.
#[derive(Debug, Default)]
pub struct Pulled {
    listing: BTreeMap<String, ObjectMeta>,
    manifest: Option<(Vec<u8>, UpdateVersion)>,
    /// Objects downloaded into the copy, and their bytes.
    pub downloaded: usize,
    pub downloaded_bytes: u64,
    /// What the copy could not get (an object the manifest names that is gone or does not match it).
    pub notes: Vec<String>,
}

/// What a push wrote.
#[derive(Debug, Default, Clone)]
pub struct Pushed {
    pub uploaded: usize,
    pub uploaded_bytes: u64,
    pub manifest_written: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Known {
    e_tag: Option<String>,
    size: u64,
    sha256: String,
    /// The local file's [`stamp`] when its SHA-256 was taken: unchanged, the file is not hashed again.
    #[serde(default)]
    stamp: Option<String>,
}

/// Size, modification time (ns) and inode of a local file: any write or replacement changes it.
fn stamp(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let m = std::fs::metadata(path).ok()?;
    Some(format!("{}:{}.{}:{}", m.len(), m.mtime(), m.mtime_nsec(), m.ino()))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    url: String,
    objects: BTreeMap<String, Known>,
    /// Object → Unix seconds when this copy first saw it named by no manifest.
    unreferenced_since: BTreeMap<String, i64>,
}

impl Index {
    fn load(root: &Path, url: &str) -> Index {
        let read = std::fs::read(root.join(INDEX_FILE)).ok().and_then(|b| serde_json::from_slice::<Index>(&b).ok());
        match read {
            Some(i) if i.url == url => i,
            _ => Index { url: url.to_string(), ..Index::default() },
        }
    }

    fn save(&self, root: &Path) -> Result<(), LakeError> {
        let text = serde_json::to_vec_pretty(self).unwrap_or_default();
        durable::replace_unsynced(&root.join(INDEX_FILE), &text)
    }

    /// The local file's digest: the one recorded for it when the file is unchanged since, else hashed now.
    fn digest(&self, rel: &str, path: &Path) -> Result<FileDigest, LakeError> {
        match self.objects.get(rel) {
            Some(k) if k.stamp.is_some() && k.stamp == stamp(path) => {
                Ok(FileDigest { sha256: k.sha256.clone(), bytes: k.size })
            }
            _ => checksum::digest(path),
        }
    }

    /// Whether the object in the bucket is the bytes `sha256` (as downloaded or uploaded by this copy).
    fn vouches(&self, rel: &str, meta: &ObjectMeta, sha256: &str) -> bool {
        self.objects.get(rel).is_some_and(|k| k.e_tag == meta.e_tag && k.size == meta.size && k.sha256 == sha256)
    }
}

/// Every file of the copy that belongs in the bucket (month folders, revisions, the import's quarantine), by
/// relative path; temp files and the staging area excluded.
fn local_files(root: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if !p.to_string_lossy().ends_with(".tmp") {
                if let Ok(rel) = p.strip_prefix(root) {
                    out.insert(rel.to_string_lossy().into_owned(), p);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, &root.join(TABLE), &mut out);
    walk(root, &root.join(REVISIONS), &mut out);
    let q = root.join(IMPORT_QUARANTINE);
    if q.is_file() {
        out.insert(IMPORT_QUARANTINE.to_string(), q);
    }
    out
}

/// Removes empty folders under `dir` (not `dir` itself).
fn prune_empty(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            prune_empty(&p);
            let _ = std::fs::remove_dir(&p);
        }
    }
}

fn remove_file(p: &Path) -> Result<(), LakeError> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(LakeError::io("remove", p)(e)),
        _ => Ok(()),
    }
}

impl Bucket {
    /// Every object under the lake's prefix, by relative path.
    async fn list(&self) -> Result<BTreeMap<String, ObjectMeta>, LakeError> {
        let prefix = (!self.lake.prefix.is_empty()).then(|| object_store::path::Path::from(self.lake.prefix.as_str()));
        let all: Vec<ObjectMeta> =
            self.store.list(prefix.as_ref()).try_collect().await.map_err(|e| self.error("list", "", e))?;
        Ok(all.into_iter().filter_map(|m| Some((self.relative(&m.location)?, m))).collect())
    }

    /// The manifest's bytes and version; `None` when the bucket has no manifest yet.
    async fn read_manifest(&self) -> Result<Option<(Vec<u8>, UpdateVersion)>, LakeError> {
        match self.store.get(&self.path(MANIFEST)).await {
            Ok(r) => {
                let version = UpdateVersion { e_tag: r.meta.e_tag.clone(), version: r.meta.version.clone() };
                let bytes = r.bytes().await.map_err(|e| self.error("read", MANIFEST, e))?;
                Ok(Some((bytes.to_vec(), version)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("read", MANIFEST, e)),
        }
    }

    /// The bucket's manifest, parsed; `None` when there is none.
    pub async fn manifest(&self) -> Result<Option<Manifest>, LakeError> {
        self.list().await?;
        match self.read_manifest().await? {
            Some((bytes, _)) => Manifest::parse(&bytes, Path::new(&self.lake.object_url(MANIFEST))).map(Some),
            None => Ok(None),
        }
    }

    /// What the bucket holds, for `status`: its manifest's months, each marked present when its object is
    /// listed. Nothing is downloaded or changed. `None` when the bucket holds no lake.
    pub async fn survey(&self) -> Result<Option<Survey>, LakeError> {
        let listing = self.list().await?;
        let Some((bytes, _)) = self.read_manifest().await? else { return Ok(None) };
        let (state, manifest) = match Manifest::parse(&bytes, Path::new(&self.lake.object_url(MANIFEST))) {
            Ok(m) => (ManifestState::Present, Some(m)),
            Err(LakeError::Manifest { message, .. }) => (ManifestState::Damaged(message), None),
            Err(e) => return Err(e),
        };
        let months = manifest
            .iter()
            .flat_map(|m| &m.months)
            .map(|e| SurveyedMonth {
                entry: e.clone(),
                listed: true,
                on_disk: listing.contains_key(&format!("{TABLE}{}/{}", month_folder(e.month), e.file)),
            })
            .collect();
        Ok(Some(Survey {
            manifest: state,
            dataset: manifest.as_ref().map(|m| m.dataset.clone()),
            source: manifest.as_ref().map(|m| m.source.clone()),
            updated_at: manifest.as_ref().map(|m| m.updated_at.clone()),
            months,
        }))
    }

    /// Makes the copy in `dir.lake()` what the bucket's manifest names (see the module doc).
    pub async fn pull(&self, dir: &DataDir) -> Result<Pulled, LakeError> {
        let root = dir.lake();
        std::fs::create_dir_all(&root).map_err(LakeError::io("create", &root))?;
        // Both at once; the listing's error first: a missing bucket or bad credentials fail there, naming the bucket.
        let (listing, manifest) = tokio::join!(self.list(), self.read_manifest());
        let (listing, manifest) = (listing?, manifest?);
        let parsed = match &manifest {
            Some((bytes, _)) => match Manifest::parse(bytes, Path::new(&self.lake.object_url(MANIFEST))) {
                Ok(m) => Some(m),
                // Unreadable: handed to the local lake as is, which sets it aside and rebuilds it.
                Err(LakeError::Manifest { .. }) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let damaged_manifest = manifest.is_some() && parsed.is_none();
        let mut index = Index::load(&root, &self.lake.url());
        let mut pulled = Pulled { listing, ..Pulled::default() };

        // What the copy must hold: (relative path, the manifest's SHA-256 and size when it has them).
        let mut wanted: Vec<(String, Option<(String, u64)>)> = Vec::new();
        for e in parsed.iter().flat_map(|m| &m.months) {
            let folder = format!("{TABLE}{}", month_folder(e.month));
            wanted.push((format!("{folder}/{}", e.file), e.sha256.clone().zip(e.bytes)));
            for small in [MONTH_RECORD_FILE, QUARANTINE_FILE] {
                let rel = format!("{folder}/{small}");
                if pulled.listing.contains_key(&rel) {
                    wanted.push((rel, None));
                }
            }
        }
        for rel in pulled.listing.keys() {
            if rel.starts_with(REVISIONS) || rel == IMPORT_QUARANTINE {
                wanted.push((rel.clone(), None));
            }
        }

        let mut keep = BTreeSet::new();
        let mut fetch = Vec::new();
        for (rel, expect) in wanted {
            let local = root.join(&rel);
            let on_disk = std::fs::metadata(&local).ok().filter(|m| m.is_file()).map(|m| m.len());
            let remote = pulled.listing.get(&rel);
            let fresh = match (on_disk, &expect) {
                (None, _) => None,
                (Some(len), Some((_, size))) if len != *size => None,
                (Some(_), _) => index.digest(&rel, &local).ok().filter(|d| match &expect {
                    Some((sha, _)) => d.sha256 == *sha,
                    None => remote.is_some_and(|m| index.vouches(&rel, m, &d.sha256)),
                }),
            };
            match (fresh, remote) {
                (Some(d), Some(meta)) => {
                    let known =
                        Known { e_tag: meta.e_tag.clone(), size: d.bytes, sha256: d.sha256, stamp: stamp(&local) };
                    index.objects.insert(rel.clone(), known);
                    keep.insert(rel);
                }
                // The copy has the manifest's bytes and the bucket lost them: kept, and uploaded again by a push.
                (Some(_), None) => {
                    index.objects.remove(&rel);
                    keep.insert(rel);
                }
                (None, Some(_)) => fetch.push((rel, expect)),
                (None, None) => pulled.notes.push(format!(
                    "{} is named by the manifest but is not in the bucket; `crimewatch ingest` fetches that month again",
                    self.lake.object_url(&rel)
                )),
            }
        }

        let got: Vec<Result<(String, Option<Known>), LakeError>> = futures_util::stream::iter(fetch)
            .map(|(rel, expect)| self.download(&root, rel, expect))
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        for r in got {
            let (rel, known) = r?;
            match known {
                Some(k) => {
                    pulled.downloaded += 1;
                    pulled.downloaded_bytes += k.size;
                    index.objects.insert(rel.clone(), k);
                    keep.insert(rel);
                }
                None => pulled.notes.push(format!(
                    "{} does not match the manifest's size and SHA-256 (not used; `crimewatch ingest` fetches that month again)",
                    self.lake.object_url(&rel)
                )),
            }
        }

        // Everything else goes, so readers of the copy see exactly the manifest's files.
        for (rel, path) in local_files(&root) {
            let unlisted_but_kept = damaged_manifest && rel.starts_with(TABLE) && pulled.listing.contains_key(&rel);
            if !keep.contains(&rel) && !unlisted_but_kept {
                remove_file(&path)?;
            }
        }
        prune_empty(&root.join(TABLE));
        prune_empty(&root.join(REVISIONS));
        remove_file(&root.join("_manifest.json.damaged"))?;
        index.objects.retain(|rel, _| keep.contains(rel));
        match &manifest {
            Some((bytes, _)) => durable::write_atomic(&root.join(MANIFEST), bytes)?,
            None => remove_file(&root.join(MANIFEST))?,
        }
        index.save(&root)?;
        pulled.manifest = manifest;
        tracing::info!(
            stage = "lake",
            bucket = %self.lake.url(),
            objects = pulled.listing.len(),
            downloaded = pulled.downloaded,
            bytes = pulled.downloaded_bytes,
            "lake copy in step with the bucket"
        );
        Ok(pulled)
    }

    /// Downloads one object into the copy (temp file, then rename). `None` when its bytes are not the expected.
    async fn download(
        &self,
        root: &Path,
        rel: String,
        expect: Option<(String, u64)>,
    ) -> Result<(String, Option<Known>), LakeError> {
        let got = self.store.get(&self.path(&rel)).await.map_err(|e| self.error("read", &rel, e))?;
        let e_tag = got.meta.e_tag.clone();
        let bytes = got.bytes().await.map_err(|e| self.error("read", &rel, e))?;
        let d = checksum::digest_bytes(&bytes);
        if expect.as_ref().is_some_and(|(sha, size)| d.sha256 != *sha || d.bytes != *size) {
            return Ok((rel, None));
        }
        let path = root.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(LakeError::io("create", parent))?;
        }
        let tmp = PathBuf::from(format!("{}.tmp", path.display()));
        std::fs::write(&tmp, &bytes).map_err(LakeError::io("write", &tmp))?;
        durable::rename(&tmp, &path)?;
        Ok((rel, Some(Known { e_tag, size: d.bytes, sha256: d.sha256, stamp: stamp(&path) })))
    }

    /// Uploads what the run added to the copy, then replaces the manifest conditionally (see the module doc).
    pub async fn push(&self, dir: &DataDir, pulled: &Pulled) -> Result<Pushed, LakeError> {
        let root = dir.lake();
        let new = match std::fs::read(root.join(MANIFEST)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Pushed::default()),
            Err(e) => return Err(LakeError::io("read", root.join(MANIFEST))(e)),
        };
        if pulled.manifest.as_ref().is_some_and(|(old, _)| *old == new) {
            return Ok(Pushed::default());
        }
        let mut index = Index::load(&root, &self.lake.url());
        let mut upload = Vec::new();
        for (rel, path) in local_files(&root) {
            let d = index.digest(&rel, &path)?;
            if !pulled.listing.get(&rel).is_some_and(|m| index.vouches(&rel, m, &d.sha256)) {
                upload.push((rel, path, d));
            }
        }
        let sent: Vec<Result<(String, Known), LakeError>> = futures_util::stream::iter(upload)
            .map(|(rel, path, d)| self.upload(rel, path, d))
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        let mut pushed = Pushed::default();
        let mut failed = None;
        for r in sent {
            match r {
                Ok((rel, k)) => {
                    pushed.uploaded += 1;
                    pushed.uploaded_bytes += k.size;
                    index.objects.insert(rel, k);
                }
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        index.save(&root)?;
        if let Some(e) = failed {
            return Err(e);
        }
        hold("before_manifest_put");
        let mode = match &pulled.manifest {
            Some((_, version)) => PutMode::Update(version.clone()),
            None => PutMode::Create,
        };
        match self.store.put_opts(&self.path(MANIFEST), PutPayload::from(new), PutOptions::from(mode)).await {
            Ok(_) => {}
            Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => {
                return Err(self.conflict().await)
            }
            Err(e) => return Err(self.error("write", MANIFEST, e)),
        }
        checkpoint("remote_manifest_written");
        pushed.manifest_written = true;
        tracing::info!(
            stage = "lake",
            bucket = %self.lake.url(),
            uploaded = pushed.uploaded,
            bytes = pushed.uploaded_bytes,
            "lake committed to the bucket"
        );
        Ok(pushed)
    }

    async fn upload(&self, rel: String, path: PathBuf, d: FileDigest) -> Result<(String, Known), LakeError> {
        let bytes = std::fs::read(&path).map_err(LakeError::io("read", &path))?;
        let put = self
            .store
            .put(&self.path(&rel), PutPayload::from(bytes))
            .await
            .map_err(|e| self.error("write", &rel, e))?;
        checkpoint("remote_uploaded");
        Ok((rel, Known { e_tag: put.e_tag, size: d.bytes, sha256: d.sha256, stamp: stamp(&path) }))
    }

    /// The lost race, naming the writer that won it.
    async fn conflict(&self) -> LakeError {
        let other = self.read_manifest().await.ok().flatten();
        let parsed = other.and_then(|(b, _)| serde_json::from_slice::<serde_json::Value>(&b).ok());
        let field = |k: &str| parsed.as_ref().and_then(|v| v.get(k)).and_then(|v| v.as_str()).map(str::to_string);
        LakeError::Conflict {
            object: self.lake.object_url(MANIFEST),
            updated_at: field("updated_at").unwrap_or_else(|| "an unknown time".into()),
            run: field("source").map(|s| format!(", source {s}")).unwrap_or_default(),
        }
    }

    /// Deletes objects no manifest names that have been unreferenced, and unwritten, for `grace` (see the module
    /// doc). Call after a pull (and a push, when the run wrote one) in the same run; returns how many went.
    pub async fn collect_garbage(&self, dir: &DataDir, pulled: &Pulled, grace: Duration) -> Result<usize, LakeError> {
        let root = dir.lake();
        let referenced = local_files(&root);
        let mut index = Index::load(&root, &self.lake.url());
        let now = chrono::Utc::now();
        let candidates: BTreeMap<&String, &ObjectMeta> = pulled
            .listing
            .iter()
            .filter(|(rel, _)| rel.starts_with(TABLE) || rel.starts_with(REVISIONS) || *rel == IMPORT_QUARANTINE)
            .filter(|(rel, _)| !referenced.contains_key(*rel))
            .collect();
        index.unreferenced_since.retain(|rel, _| candidates.contains_key(rel));
        let grace_secs = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
        let mut due = Vec::new();
        for (rel, meta) in candidates {
            let since = *index.unreferenced_since.entry(rel.clone()).or_insert(now.timestamp());
            let written = meta.last_modified.timestamp();
            if now.timestamp() - since >= grace_secs && now.timestamp() - written >= grace_secs {
                due.push(rel.clone());
            }
        }
        let mut deleted = 0;
        for rel in due {
            match self.store.delete(&self.path(&rel)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                    index.unreferenced_since.remove(&rel);
                    deleted += 1;
                }
                Err(e) => return Err(self.error("delete", &rel, e)),
            }
        }
        index.save(&root)?;
        if deleted > 0 {
            tracing::info!(stage = "lake", bucket = %self.lake.url(), deleted, "unreferenced objects deleted");
        }
        Ok(deleted)
    }
}
