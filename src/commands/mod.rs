//! One file per subcommand: run the library's work and print the summary (a table, or JSON with `--json`).

pub mod build;
pub mod import;
pub mod ingest;
pub mod run;
pub mod runs;
pub mod serve;
pub mod status;
