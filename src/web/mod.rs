//! Web stage: the JSON API and the dashboard page, served from the published warehouse (read-only).
//!
//! Requests are parsed into [`filters`] (closed enums), answered from the marts — the charts from the
//! [`serving`] index (the chart marts in memory), the rest by [`queries`] (SQL in `sql/`, bound parameters
//! only) — through the current [`published`] generation — which follows the publisher's
//! rename-over without a restart — and cached per generation. The page ([`assets`]) uses only this API.
//! [`runs`] serves `/api/runs` from the functions the binary edge hands it, [`trigger`] guards its `POST`.
//! [`startup`] binds and serves through [`connections`] (the accept loop's limits) and [`middleware`] (the
//! layers every response passes); docs/security-and-failure-modes.md says what they protect against.

mod api;
mod assets;
mod bounds;
mod config;
mod connections;
pub mod csv_body;
mod error;
mod expected_range;
mod filters;
mod geo;
mod middleware;
mod precompressed;
mod published;
mod queries;
mod redact;
mod revisions;
mod runs;
mod serving;
pub mod significance;
mod startup;
mod trigger;

pub use api::AppState;
pub use config::{WebConfig, WebSection};
pub use error::WebError;
pub use geo::polygon_for;
pub use middleware::SECURITY_HEADERS;
pub use runs::{ListRuns, Refused, RunsApi, RunsResponse, StartRun};
pub use startup::{router, Application};
pub use trigger::{admin_token_from_env, check_exposure, ADMIN_TOKEN_ENV, MIN_TOKEN_CHARS};
