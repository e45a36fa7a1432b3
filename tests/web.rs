//! Web stage: the JSON API against counts computed in Rust from the fixture rows, bad parameters, the swap to a
//! newly published warehouse under load, and the page in headless Chromium.

mod api;
mod browser;
mod expect;
mod fixture;
mod support;
mod swap;
