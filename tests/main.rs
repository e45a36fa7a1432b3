//! The one integration-test binary (each extra binary would link the bundled DuckDB again).
mod fixture_lake;
mod testkit;
mod warehouse;
