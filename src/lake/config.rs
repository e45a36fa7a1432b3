//! Lake options (`[lake]` in crimewatch.toml, `--lake` / `CRIMEWATCH_LAKE`), read as written ([`LakeSection`])
//! and validated once into [`LakeConfig`]: where the lake is ([`LakeUrl`]) and how long an unreferenced object
//! in a bucket lake is kept before a later run deletes it.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::domain::InvalidSetting;

/// How long an object no manifest names is kept (a reader may still be reading the version that named it).
pub const DEFAULT_GC_GRACE: Duration = Duration::from_secs(24 * 3600);

/// `[lake]` as written in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LakeSection {
    /// How many replaced versions of each month to keep under `revisions/`; unset keeps all.
    pub revisions_kept_per_month: Option<u32>,
    /// `gs://bucket/prefix`, `s3://bucket/prefix` or a local path; default `<data-dir>/lake`.
    pub url: Option<String>,
    /// How long objects no manifest names are kept in a bucket lake: `30s`, `15m`, `12h`, `1d` (default `1d`).
    pub gc_grace: Option<String>,
}

/// Where the lake is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LakeUrl {
    /// A folder on this machine (the default: `<data-dir>/lake`).
    Local(PathBuf),
    /// A bucket: the lake's layout under `prefix` (no leading or trailing `/`, may be empty).
    Bucket(BucketLake),
}

/// Which object store a bucket lake is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Gcs,
    S3,
}

/// A lake in a bucket: `gs://bucket/prefix` or `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketLake {
    pub scheme: Scheme,
    pub bucket: String,
    pub prefix: String,
}

impl BucketLake {
    /// `gs://bucket/prefix` (as given, normalised).
    pub fn url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Gcs => "gs",
            Scheme::S3 => "s3",
        };
        if self.prefix.is_empty() {
            format!("{scheme}://{}", self.bucket)
        } else {
            format!("{scheme}://{}/{}", self.bucket, self.prefix)
        }
    }

    /// `gs://bucket/prefix/<relative>`: an object's URL, for messages.
    pub fn object_url(&self, relative: &str) -> String {
        format!("{}/{relative}", self.url())
    }

    /// The object key of `relative` under the prefix.
    pub fn key(&self, relative: &str) -> String {
        if self.prefix.is_empty() {
            relative.to_string()
        } else {
            format!("{}/{relative}", self.prefix)
        }
    }
}

impl LakeUrl {
    /// Parses `--lake` / `[lake] url`. `key` names where the value came from, for the error.
    pub fn parse(key: &'static str, value: &str) -> Result<LakeUrl, InvalidSetting> {
        let invalid = |why: &str| {
            InvalidSetting::new(
                key,
                value,
                format!("{why}; expected gs://bucket/prefix, s3://bucket/prefix or a local folder such as data/lake"),
            )
        };
        let Some((scheme, rest)) = value.split_once("://") else {
            if value.trim().is_empty() {
                return Err(invalid("empty"));
            }
            return Ok(LakeUrl::Local(PathBuf::from(value)));
        };
        let scheme = match scheme {
            "gs" => Scheme::Gcs,
            "s3" => Scheme::S3,
            "file" => return Ok(LakeUrl::Local(PathBuf::from(rest))),
            other => return Err(invalid(&format!("unsupported scheme {other}://"))),
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
            && bucket.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if !bucket_ok {
            return Err(invalid(&format!(
                "{bucket:?} is not a bucket name (3-63 lowercase letters, digits, '-', '_' or '.')"
            )));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|p| p == "." || p == "..") || prefix.contains("//") {
            return Err(invalid("the prefix may not contain '.', '..' or empty parts"));
        }
        Ok(LakeUrl::Bucket(BucketLake { scheme, bucket: bucket.to_string(), prefix: prefix.to_string() }))
    }
}

/// The lake's options, validated.
#[derive(Debug, Clone)]
pub struct LakeConfig {
    pub revisions_kept_per_month: Option<u32>,
    /// `None`: the lake is a folder, `DataDir::lake()`. `Some`: the lake is in this bucket, and
    /// `DataDir::lake()` is its local copy.
    pub bucket: Option<BucketLake>,
    pub gc_grace: Duration,
}

impl Default for LakeConfig {
    fn default() -> LakeConfig {
        LakeConfig { revisions_kept_per_month: None, bucket: None, gc_grace: DEFAULT_GC_GRACE }
    }
}

impl LakeSection {
    /// The typed config, and the lake's local folder when the URL names one (`None`: the default, or a bucket).
    /// `url` from `--lake`/`CRIMEWATCH_LAKE` overrides the file's.
    pub fn validate(self, url: Option<String>) -> Result<(LakeConfig, Option<PathBuf>), InvalidSetting> {
        let parsed = match (url, self.url) {
            (Some(u), _) => Some(LakeUrl::parse("--lake", &u)?),
            (None, Some(u)) => Some(LakeUrl::parse("lake.url", &u)?),
            (None, None) => None,
        };
        let gc_grace = match self.gc_grace {
            Some(g) => parse_duration(&g).ok_or_else(|| {
                InvalidSetting::new("lake.gc_grace", &g, "expected a number and a unit: 30s, 15m, 12h or 1d")
            })?,
            None => DEFAULT_GC_GRACE,
        };
        let (bucket, folder) = match parsed {
            Some(LakeUrl::Bucket(b)) => (Some(b), None),
            Some(LakeUrl::Local(p)) => (None, Some(p)),
            None => (None, None),
        };
        Ok((LakeConfig { revisions_kept_per_month: self.revisions_kept_per_month, bucket, gc_grace }, folder))
    }
}

/// `30s`, `15m`, `12h`, `1d`.
fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: u64 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    let secs = match unit {
        's' => n,
        'm' => n.checked_mul(60)?,
        'h' => n.checked_mul(3600)?,
        'd' => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_buckets_and_folders_and_bad_ones_are_named() {
        let b = |u: &str| match LakeUrl::parse("--lake", u).unwrap() {
            LakeUrl::Bucket(b) => b,
            other => panic!("{other:?}"),
        };
        let g = b("gs://my-bucket/crime/lake/");
        assert_eq!((g.scheme, g.bucket.as_str(), g.prefix.as_str()), (Scheme::Gcs, "my-bucket", "crime/lake"));
        assert_eq!(g.url(), "gs://my-bucket/crime/lake");
        assert_eq!(g.key("_manifest.json"), "crime/lake/_manifest.json");
        let s = b("s3://lake-1");
        assert_eq!((s.scheme, s.prefix.as_str(), s.key("x")), (Scheme::S3, "", "x".to_string()));
        assert_eq!(LakeUrl::parse("--lake", "/var/lake").unwrap(), LakeUrl::Local("/var/lake".into()));
        for bad in ["az://x/y", "gs://", "gs://UPPER/x", "s3://b/../x", ""] {
            let err = LakeUrl::parse("--lake", bad).unwrap_err();
            assert_eq!(err.key, "--lake", "{bad}");
            assert!(err.reason.contains("gs://bucket/prefix"), "{bad}: {}", err.reason);
        }
    }

    #[test]
    fn gc_grace_takes_a_unit_and_defaults_to_a_day() {
        let with = |g: &str| LakeSection { gc_grace: Some(g.into()), ..Default::default() }.validate(None);
        assert_eq!(with("90m").unwrap().0.gc_grace, Duration::from_secs(5400));
        assert_eq!(with("0s").unwrap().0.gc_grace, Duration::ZERO);
        assert_eq!(with("2 weeks").unwrap_err().key, "lake.gc_grace");
        assert_eq!(LakeSection::default().validate(None).unwrap().0.gc_grace, DEFAULT_GC_GRACE);
        let (c, folder) =
            LakeSection { url: Some("s3://file-bucket".into()), ..Default::default() }.validate(None).unwrap();
        assert!(c.bucket.is_some() && folder.is_none());
        let (c, folder) = LakeSection { url: Some("s3://file-bucket".into()), ..Default::default() }
            .validate(Some("/flag/lake".into()))
            .unwrap();
        assert!(c.bucket.is_none() && folder == Some("/flag/lake".into()), "the flag wins over the file");
    }
}
