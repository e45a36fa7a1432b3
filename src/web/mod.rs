//! Web stage: the JSON API and the dashboard page, served from the published warehouse (read-only).
//!
//! Requests are parsed into [`filters`] (closed enums), answered from the marts by [`queries`] (SQL in `sql/`,
//! bound parameters only) through the current [`published`] generation — which follows the publisher's
//! rename-over without a restart — and cached per generation. The page ([`assets`]) uses only this API.
//! [`runs`] serves `/api/runs` from the functions the binary edge hands it.

mod api;
mod assets;
mod bounds;
mod config;
mod error;
mod filters;
mod geo;
mod middleware;
mod published;
mod queries;
mod runs;
pub mod significance;
mod startup;

pub use api::AppState;
pub use config::{WebConfig, WebSection};
pub use error::WebError;
pub use geo::polygon_for;
pub use runs::{admin_token_from_env, ListRuns, Refused, RunsApi, RunsResponse, StartRun, ADMIN_TOKEN_ENV};
pub use startup::{router, Application};
