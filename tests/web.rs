//! Web stage: the JSON API against counts computed in Rust from the fixture rows, bad parameters, the swap to a
//! newly published warehouse under load, HTTP caching, compression and errors, and the page in headless Chromium.
//!
//! Most tests publish the marts with a STAND-IN build (`fixture.rs` + `standin_marts.sql`) so they run without
//! the other stages. `real.rs` runs the same comparison through the real source → lake → warehouse path.

mod api;
mod browser;
mod expect;
mod fixture;
mod http;
mod limits;
mod quarantine;
mod real;
mod serving;
mod significance;
mod support;
mod surface;
mod swap;
