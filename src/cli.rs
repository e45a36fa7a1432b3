//! The command line: global options (each with an environment variable), one subcommand per job with examples
//! in its help, and the dispatch.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use crimewatch::settings::{ConfigFile, Overrides, Settings, DEFAULT_CONFIG_FILE};
use crimewatch::web::ADMIN_TOKEN_ENV;

use crate::commands::failure::{print_json, Exit, Failure};
use crate::commands::{self, Context, ImportArgs, IngestArgs, RunsArgs, ServeArgs};
use crate::logging::LogFormat;

/// The SODA host's app token: read from the environment only, never a flag (a flag shows in `ps`).
const APP_TOKEN_ENV: &str = "SODA_APP_TOKEN";

/// Seattle Police Department crime data, kept in step with data.seattle.gov: lake, warehouse, dashboard.
#[derive(Debug, Parser)]
#[command(name = "crimewatch", version, about)]
pub struct Cli {
    /// Data directory (lake, warehouse, run ledger) [default: ./data or `data_dir`].
    #[arg(long, global = true, env = "CRIMEWATCH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where the lake is: gs://bucket/prefix, s3://bucket/prefix or a folder [default: <data-dir>/lake or
    /// `[lake] url`]. Credentials as the cloud's own tools take them (docs/lake-in-a-bucket.md).
    #[arg(long, global = true, env = "CRIMEWATCH_LAKE", value_name = "URL")]
    pub lake: Option<String>,
    /// Socrata host, e.g. https://data.seattle.gov or http://127.0.0.1:9000.
    #[arg(long, global = true, env = "CRIMEWATCH_SOCRATA_URL", value_name = "URL")]
    pub socrata_url: Option<String>,
    /// Socrata dataset id [default: tazs-3rd5 or `dataset`].
    #[arg(long, global = true, env = "CRIMEWATCH_DATASET", value_name = "ID")]
    pub dataset: Option<String>,
    /// Google Cloud project to publish the warehouse to (BigQuery); off when unset.
    #[arg(long, global = true, env = "CRIMEWATCH_BIGQUERY_PROJECT", value_name = "PROJECT")]
    pub bigquery_project: Option<String>,
    /// Where the BigQuery datasets are created: US, EU or a region (default US, or `[bigquery] location`).
    #[arg(long, global = true, env = "CRIMEWATCH_BIGQUERY_LOCATION", value_name = "LOCATION")]
    pub bigquery_location: Option<String>,
    /// Config file [default: ./crimewatch.toml when it exists].
    #[arg(long, global = true, env = "CRIMEWATCH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print JSON on stdout instead of the table: the summary, or {"error": {...}} when the command fails.
    #[arg(long, global = true, env = "CRIMEWATCH_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub json: bool,
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, env = "CRIMEWATCH_VERBOSE")]
    pub verbose: u8,
    /// Log lines on stderr as text (coloured on a terminal unless NO_COLOR is set) or one JSON object per line.
    #[arg(long, global = true, env = "CRIMEWATCH_LOG_FORMAT", value_enum, default_value_t, value_name = "FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring the lake in step with the source for report months in range.
    #[command(after_help = INGEST_EXAMPLES)]
    Ingest(IngestArgs),
    /// Load an SPD CSV export (old or new headers) into the lake.
    #[command(after_help = IMPORT_EXAMPLES)]
    Import(ImportArgs),
    /// Per report month: rows, source fingerprint, fetched-at, partial or complete.
    #[command(after_help = STATUS_EXAMPLES)]
    Status,
    /// Build the warehouse from the lake: stage, transform, test, publish.
    #[command(after_help = BUILD_EXAMPLES)]
    Build,
    /// `ingest` then `build` (then `publish` when a BigQuery project is set).
    #[command(after_help = RUN_EXAMPLES)]
    Run(IngestArgs),
    /// Copy the published warehouse to BigQuery (tables that changed only).
    #[command(after_help = PUBLISH_EXAMPLES)]
    Publish,
    /// Serve the dashboard and JSON API (and keep the schedule).
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Serve at once, run the pipeline in the background if nothing is published yet, and keep the schedule.
    #[command(after_help = UP_EXAMPLES)]
    Up(ServeArgs),
    /// The run ledger: recent runs, newest first.
    #[command(after_help = RUNS_EXAMPLES)]
    Runs(RunsArgs),
}

const ROOT_EXAMPLES: &str = "\
Examples:
  crimewatch up                 fetch, build and serve http://127.0.0.1:8080/, then stay current
  crimewatch import examples/spd-export-2025-12-excerpt.csv && crimewatch build && crimewatch serve
                                the same from a CSV export, without network
  crimewatch --json status      the lake's months as JSON";

/// The end of `-h`: where the rest is.
const ROOT_MORE: &str = "\
`crimewatch <command> --help` shows a command's examples; `crimewatch --help` also lists the environment
variables, the secrets and the exit codes.";

const INGEST_EXAMPLES: &str = "\
Examples:
  crimewatch ingest                                  report months since 2022-01 (source.default_since) to now
  crimewatch ingest --since 2008-01                  the whole history (~1.2M rows)
  crimewatch ingest --since 2024-01 --until 2024-06 --full
                                                     download a range again even if nothing changed
  crimewatch --json ingest | jq .months_changed      the summary as JSON";

const IMPORT_EXAMPLES: &str = "\
Examples:
  crimewatch import SPD_Crime_Data__2008-Present_20251120.csv
                                  a file from the data portal's Export button (old or new headers)
  crimewatch import examples/spd-export-2025-12-excerpt.csv
                                  the real excerpt in the repository (130 rows), no network needed";

const STATUS_EXAMPLES: &str = "\
Examples:
  crimewatch status                                          one line per report month, totals last
  crimewatch --json status | jq '.months[] | select(.partial)'   the month still filling";

const BUILD_EXAMPLES: &str = "\
Examples:
  crimewatch build              lake -> warehouse.duckdb, published only when every data test passes
  crimewatch --json build       the summary; on exit 4 also the failed tests with sample rows";

const RUN_EXAMPLES: &str = "\
Examples:
  crimewatch run                                     what the schedule does: ingest, then build
  crimewatch run --since 2024-01                     from January 2024
  15 6 2 * * crimewatch --data-dir /var/lib/crimewatch run
                                                     from cron; the exit code says what failed (see --help)";

const PUBLISH_EXAMPLES: &str = "\
Examples:
  crimewatch --bigquery-project my-project publish   the published marts and the lake's rows to BigQuery
  CRIMEWATCH_BIGQUERY_PROJECT=my-project CRIMEWATCH_BIGQUERY_LOCATION=EU crimewatch run
                                                     every run publishes after a tested build (docs/bigquery.md)";

const SERVE_EXAMPLES: &str = "\
Examples:
  crimewatch serve                                   http://127.0.0.1:8080/ and the monthly schedule
  crimewatch serve --addr 0.0.0.0:8080 --no-schedule serve only, on every interface
  CRIMEWATCH_ADMIN_TOKEN=$(openssl rand -hex 32) crimewatch serve
                                                     also allow POST /api/runs with that bearer token";

const UP_EXAMPLES: &str = "\
Examples:
  crimewatch up                 serve at once; fetch and build in the background if nothing is published
  crimewatch up --addr 0.0.0.0:8080 --schedule '0 6 * * *' --timezone America/Los_Angeles";

const RUNS_EXAMPLES: &str = "\
Examples:
  crimewatch runs --limit 5     the last five runs
  crimewatch --json runs        the same body as GET /api/runs";

/// The root's long help: the examples, then the environment variables that are not options (the secrets shown
/// as set or not, never their values) and the exit codes.
fn root_long_help() -> String {
    let state = |var: &str| if std::env::var_os(var).is_some_and(|v| !v.is_empty()) { "set" } else { "not set" };
    let mut help = format!(
        "{ROOT_EXAMPLES}

Secrets (read from the environment only; never printed or logged):
  {APP_TOKEN_ENV:<24}app token sent to the SODA host as X-App-Token; raises its rate limits [{}]
  {ADMIN_TOKEN_ENV:<24}bearer token that enables POST /api/runs in `serve` and `up` [{}]
  GOOGLE_APPLICATION_CREDENTIALS
                          a service-account key file for BigQuery (else gcloud's or the metadata server's) [{}]

Other environment variables:
  RUST_LOG                log filter, e.g. crimewatch=debug (overrides -v)
  NO_COLOR                no colour in log lines (colour is only ever used when stderr is a terminal)
  BIGQUERY_EMULATOR_HOST  host:port of a BigQuery emulator to publish to, without credentials
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL
                          an s3:// lake's credentials and endpoint (docs/lake-in-a-bucket.md)
  STORAGE_EMULATOR_HOST   http://host:port of a GCS emulator for a gs:// lake, without credentials

Exit codes:
  0    success",
        state(APP_TOKEN_ENV),
        state(ADMIN_TOKEN_ENV),
        state("GOOGLE_APPLICATION_CREDENTIALS")
    );
    for exit in Exit::ALL {
        help.push_str(&format!("\n  {:<5}{}", exit.code(), exit.meaning()));
    }
    help
}

/// Parses the command line. Help and version go to stdout and exit 0; a usage error goes to stderr (and, with
/// `--json`, as an error object to stdout) and exits 2.
pub fn parse() -> Result<Cli, ExitCode> {
    let command =
        Cli::command().after_help(format!("{ROOT_EXAMPLES}\n\n{ROOT_MORE}")).after_long_help(root_long_help());
    match command.try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => Ok(cli),
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            Err(ExitCode::SUCCESS)
        }
        Err(err) => {
            let _ = err.print();
            if json_wanted(std::env::args_os()) {
                let text = err.to_string();
                let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
                let message = lines.next().unwrap_or_default().trim_start_matches("error: ").to_string();
                let causes: Vec<String> =
                    lines.filter(|l| !l.starts_with("For more information")).map(str::to_string).collect();
                print_json(Exit::Usage, &message, &causes, Default::default());
            }
            Err(ExitCode::from(Exit::Usage.code()))
        }
    }
}

/// Whether the command line that failed to parse asked for JSON (`--json`, or `CRIMEWATCH_JSON` true as clap's
/// boolish values read it).
fn json_wanted(args: impl Iterator<Item = OsString>) -> bool {
    let truthy = |v: &str| ["y", "yes", "t", "true", "on", "1"].contains(&v.trim().to_ascii_lowercase().as_str());
    args.skip(1).any(|a| a == "--json") || std::env::var("CRIMEWATCH_JSON").is_ok_and(|v| truthy(&v))
}

pub fn run(cli: Cli) -> Result<(), Failure> {
    let (path, required) = match &cli.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
    };
    let file = ConfigFile::load(&path, required)?;
    let serve = match &cli.command {
        Command::Serve(args) | Command::Up(args) => Some(args),
        _ => None,
    };
    let overrides = Overrides {
        data_dir: cli.data_dir.clone(),
        lake: cli.lake.clone(),
        socrata_url: cli.socrata_url.clone(),
        dataset: cli.dataset.clone(),
        app_token: std::env::var(APP_TOKEN_ENV).ok(),
        addr: serve.and_then(|a| a.addr.clone()),
        cron: serve.and_then(|a| a.schedule.clone()),
        timezone: serve.and_then(|a| a.timezone.clone()),
        allow_remote_trigger: serve.is_some_and(|a| a.allow_remote_trigger),
        bigquery_project: cli.bigquery_project.clone(),
        bigquery_location: cli.bigquery_location.clone(),
        bigquery_emulator_host: std::env::var("BIGQUERY_EMULATOR_HOST").ok(),
    };
    let settings = Settings::resolve(file, overrides).map_err(|e| Failure::from(e).context("invalid configuration"))?;
    let ctx = Context { settings, json: cli.json };
    match &cli.command {
        Command::Ingest(args) => commands::ingest::execute(&ctx, args),
        Command::Import(args) => commands::import::execute(&ctx, args),
        Command::Status => Ok(commands::status::execute(&ctx).map(drop)?),
        Command::Build => commands::build::execute(&ctx),
        Command::Run(args) => commands::run::execute(&ctx, args),
        Command::Publish => commands::publish::execute(&ctx),
        Command::Serve(args) => Ok(commands::serve::execute(&ctx, args, false)?),
        Command::Up(args) => Ok(commands::serve::execute(&ctx, args, true)?),
        Command::Runs(args) => Ok(commands::runs::execute(&ctx, args).map(drop)?),
    }
}
