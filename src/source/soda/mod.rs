//! The SODA 2.x source: [`client`] makes the requests (timeouts, retries, the three kinds of request ingest
//! makes: probe, fingerprint aggregate, month page), [`response`] reads the server's answers and error bodies, and
//! [`page`] decodes a page of rows straight into the lake's Arrow columns.
//!
//! Errors are classed transient (429, 5xx, 202 "still processing", connection errors, timeouts, truncated
//! bodies) or terminal (every other 4xx, and a page that arrived whole but is not an array of rows); the class
//! alone decides whether to retry. A bad row is neither: it is quarantined and the page kept. Transient failures
//! back off exponentially with jitter, or as long as `Retry-After` says (0 included), up to
//! `source.max_attempts` tries. The app token travels in the `X-App-Token` header, never in a URL or a log line.

mod body;
mod client;
mod page;
mod response;

pub use client::{SodaClient, Traffic};
pub use page::{decode_page, DecodedPage, MalformedPage};
pub use response::{parse_fingerprints, Fingerprints, SocrataError};
