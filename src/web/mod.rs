//! Web stage: the JSON API and the dashboard page, served from the published warehouse (read-only).

mod config;
mod error;

pub use config::WebConfig;
pub use error::WebError;
