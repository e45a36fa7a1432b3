//! The lake in a bucket (GCS or S3): the same layout as on disk, under `gs://bucket/prefix` or
//! `s3://bucket/prefix`, reached through one `object_store::ObjectStore` per lake. Object stores have no rename,
//! so the lake is committed the way delta-rs and Iceberg do it (see `sync` and docs/lake-in-a-bucket.md): month
//! files under names never reused for other bytes, the manifest the only truth, replaced last by a conditional
//! write.
//!
//! Every run works on a local copy (`DATA_DIR/lake-cache`, a lake folder like any other): [`Bucket::pull`] makes
//! the copy equal to what the bucket's manifest names (downloading only what changed, checked by SHA-256), the
//! ordinary local lake code ingests, imports or builds there, and [`Bucket::push`] uploads what the run added and
//! then the manifest.
//!
//! GCS goes through [`gcs`] (the JSON API, with conditional writes by generation), so the same code runs against
//! the real service and fake-gcs-server; S3 through `object_store`'s own client.

pub mod aws_profile;
pub mod gcs;
mod store;
mod sync;

pub use store::open_store;
pub use sync::{Pulled, Pushed};

use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;

use super::config::{BucketLake, Scheme};
use super::LakeError;
use crate::domain::FailureClass;

/// One bucket lake and its store.
#[derive(Clone)]
pub struct Bucket {
    pub lake: BucketLake,
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bucket({})", self.lake.url())
    }
}

impl Bucket {
    /// The store for `lake`, with credentials and endpoint from the environment (nothing is contacted yet).
    pub fn open(lake: &BucketLake) -> Result<Bucket, LakeError> {
        Ok(Bucket { lake: lake.clone(), store: open_store(lake)? })
    }

    /// A bucket lake over a store built elsewhere (tests, other backends).
    pub fn with_store(lake: &BucketLake, store: Arc<dyn ObjectStore>) -> Bucket {
        Bucket { lake: lake.clone(), store }
    }

    fn path(&self, relative: &str) -> ObjectPath {
        ObjectPath::from(self.lake.key(relative))
    }

    /// The object's path under the prefix, `None` for an object outside it.
    fn relative(&self, location: &ObjectPath) -> Option<String> {
        let key = location.as_ref();
        if self.lake.prefix.is_empty() {
            return Some(key.to_string());
        }
        key.strip_prefix(&self.lake.prefix)?.strip_prefix('/').map(str::to_string)
    }

    /// An `object_store` error as a lake error naming the object and what to set.
    fn error(&self, action: &'static str, relative: &str, e: object_store::Error) -> LakeError {
        let object = if relative.is_empty() { self.lake.url() } else { self.lake.object_url(relative) };
        let message = e.to_string();
        let lower = message.to_ascii_lowercase();
        let bucket = &self.lake.bucket;
        let (hint, class) = match &e {
            _ if lower.contains("nosuchbucket") || lower.contains("bucket does not exist") => (
                format!("bucket {bucket} does not exist: create it, or fix the bucket in --lake / CRIMEWATCH_LAKE / [lake] url"),
                FailureClass::Usage,
            ),
            object_store::Error::Unauthenticated { .. } => (self.credentials_hint(), FailureClass::Usage),
            // No credentials anywhere else, so the crate asked the instance metadata endpoint, which is not there
            // (or refuses): a credentials problem, whatever status that endpoint answered.
            _ if lower.contains("169.254.169.254") || lower.contains("metadata.google.internal") => {
                (self.credentials_hint(), FailureClass::Usage)
            }
            object_store::Error::PermissionDenied { .. } => (
                format!("the credentials in use may not {action} in bucket {bucket}: {}", self.permissions_hint()),
                FailureClass::Usage,
            ),
            _ if lower.contains("invalidaccesskeyid")
                || lower.contains("signaturedoesnotmatch")
                || lower.contains("credential")
                || lower.contains("401") =>
            {
                (self.credentials_hint(), FailureClass::Usage)
            }
            _ if lower.contains("403") || lower.contains("accessdenied") || lower.contains("forbidden") => (
                format!("the credentials in use may not {action} in bucket {bucket}: {}", self.permissions_hint()),
                FailureClass::Usage,
            ),
            object_store::Error::NotFound { .. } => (
                format!("bucket {bucket} or the object does not exist: check --lake / CRIMEWATCH_LAKE / [lake] url"),
                FailureClass::Usage,
            ),
            _ => (
                format!("check the network and the endpoint ({}); the lake was left as it was", self.endpoint_hint()),
                FailureClass::Other,
            ),
        };
        LakeError::Bucket { action, object, message, hint, class }
    }

    fn credentials_hint(&self) -> String {
        match self.lake.scheme {
            Scheme::S3 => "no valid AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or run where an instance or task role applies, or set AWS_PROFILE to a profile with keys in ~/.aws/credentials".into(),
            Scheme::Gcs => "no valid Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, run `gcloud auth application-default login`, or run on Google Cloud with a service account (STORAGE_EMULATOR_HOST for an emulator)".into(),
        }
    }

    fn permissions_hint(&self) -> &'static str {
        match self.lake.scheme {
            Scheme::S3 => "grant s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on it",
            Scheme::Gcs => "grant roles/storage.objectAdmin on it (list, read, create, delete objects)",
        }
    }

    fn endpoint_hint(&self) -> &'static str {
        match self.lake.scheme {
            Scheme::S3 => "AWS_ENDPOINT_URL, AWS_REGION",
            Scheme::Gcs => "STORAGE_EMULATOR_HOST when it is an emulator",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lake::LakeUrl;

    fn bucket(url: &str) -> Bucket {
        let LakeUrl::Bucket(lake) = LakeUrl::parse("--lake", url).unwrap() else { panic!("{url} is not a bucket") };
        Bucket::with_store(&lake, Arc::new(object_store::memory::InMemory::new()))
    }

    fn hint(b: &Bucket, message: &str) -> String {
        let e = object_store::Error::Generic { store: "S3", source: message.into() };
        match b.error("list", "", e) {
            LakeError::Bucket { hint, .. } => hint,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_refused_instance_metadata_request_is_a_missing_credentials_error_not_a_permission_one() {
        let b = bucket("s3://crime-lake/x");
        let h = hint(&b, "Error performing PUT http://169.254.169.254/latest/api/token - 403 Forbidden: denied");
        assert!(h.contains("no valid AWS credentials") && h.contains("AWS_ACCESS_KEY_ID"), "{h}");
        // A 403 from the bucket itself still names the permissions to grant.
        let h = hint(&b, "Error performing GET http://s3.example/crime-lake - 403 Forbidden: AccessDenied");
        assert!(h.contains("may not list in bucket crime-lake") && h.contains("s3:ListBucket"), "{h}");
    }
}
