//! The lake's object stores beyond what `object_store` gives as it is: Google Cloud Storage through its JSON API
//! ([`gcs`]), so that the same code runs against the real service and against fake-gcs-server.

pub mod gcs;
