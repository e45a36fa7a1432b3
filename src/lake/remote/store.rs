//! Building the one `ObjectStore` of a bucket lake, credentials and endpoint the ecosystem's way.
//!
//! S3: `AmazonS3Builder::from_env()` reads the `AWS_*` variables (keys, session token, region, endpoint) and
//! falls back to the instance/task role; `object_store` does not read the shared profile files, so a profile's
//! static keys are read here ([`super::aws_profile`]) when `AWS_ACCESS_KEY_ID` is not set.
//! `AWS_ENDPOINT_URL` points at an S3-compatible store or an emulator; plain http is allowed only when that
//! endpoint is http. Conditional writes use `If-None-Match: *` and `If-Match: <ETag>` (the crate's default).
//!
//! GCS: the JSON-API store of [`super::gcs`], with the credentials `object_store` finds
//! (`GOOGLE_APPLICATION_CREDENTIALS`, application default credentials, the metadata server on Cloud Run / GCE).
//! `STORAGE_EMULATOR_HOST` points at an emulator, without credentials.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::ObjectStore;

use super::super::config::{BucketLake, Scheme};
use super::super::LakeError;
use super::aws_profile;
use crate::domain::FailureClass;

/// The store of a bucket lake; fails only on a configuration the crate refuses (nothing is contacted here).
pub fn open_store(lake: &BucketLake) -> Result<Arc<dyn ObjectStore>, LakeError> {
    let built: Result<Arc<dyn ObjectStore>, object_store::Error> = match lake.scheme {
        Scheme::S3 => s3(&lake.bucket),
        Scheme::Gcs => gcs(&lake.bucket),
    };
    built.map_err(|e| LakeError::Bucket {
        action: "configure access to",
        object: lake.url(),
        message: e.to_string(),
        hint: "check the AWS_* / GOOGLE_* / STORAGE_EMULATOR_HOST variables (docs/lake-in-a-bucket.md)".into(),
        class: FailureClass::Usage,
    })
}

fn s3(bucket: &str) -> Result<Arc<dyn ObjectStore>, object_store::Error> {
    let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let endpoint = std::env::var("AWS_ENDPOINT_URL_S3").or_else(|_| std::env::var("AWS_ENDPOINT_URL")).ok();
    if let Some(endpoint) = endpoint.filter(|e| !e.is_empty()) {
        b = b.with_endpoint(&endpoint).with_allow_http(endpoint.starts_with("http://"));
    }
    let mut region_set = std::env::var("AWS_REGION").is_ok() || std::env::var("AWS_DEFAULT_REGION").is_ok();
    if std::env::var("AWS_ACCESS_KEY_ID").map_or(true, |v| v.is_empty()) {
        let keys = aws_profile::profile_keys(&aws_profile::ProfileSource::from_env())
            .map_err(|message| object_store::Error::Generic { store: "S3", source: message.into() })?;
        if let Some(k) = keys {
            b = b.with_access_key_id(k.access_key_id).with_secret_access_key(k.secret_access_key);
            if let Some(token) = k.session_token {
                b = b.with_token(token);
            }
            if let Some(region) = k.region.filter(|_| !region_set) {
                b = b.with_region(region);
                region_set = true;
            }
        }
    }
    if !region_set {
        b = b.with_region("us-east-1");
    }
    Ok(Arc::new(b.build()?))
}

/// GCS through the lake's JSON-API store ([`super::gcs`]): `object_store`'s own client writes through the XML
/// API, which fake-gcs-server refuses, and the same code must run against the real service and the emulator.
fn gcs(bucket: &str) -> Result<Arc<dyn ObjectStore>, object_store::Error> {
    super::gcs::gcs_store(bucket)
}
