//! The command line: global options, one subcommand per job, and the dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use crimewatch::settings::{ConfigFile, Overrides, Settings, DEFAULT_CONFIG_FILE};

use crate::commands::{self, Context, ImportArgs, IngestArgs, RunsArgs, ServeArgs};

/// Seattle Police Department crime data, kept in step with data.seattle.gov: lake, warehouse, dashboard.
#[derive(Debug, Parser)]
#[command(name = "crimewatch", version, about)]
pub struct Cli {
    /// Data directory (lake, warehouse, run ledger).
    #[arg(long, global = true, env = "CRIMEWATCH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Socrata host, e.g. https://data.seattle.gov or http://127.0.0.1:9000.
    #[arg(long, global = true, env = "CRIMEWATCH_SOCRATA_URL", value_name = "URL")]
    pub socrata_url: Option<String>,
    /// Socrata dataset id.
    #[arg(long, global = true, value_name = "ID")]
    pub dataset: Option<String>,
    /// Google Cloud project to publish the warehouse to (BigQuery); off when unset.
    #[arg(long, global = true, env = "CRIMEWATCH_BIGQUERY_PROJECT", value_name = "PROJECT")]
    pub bigquery_project: Option<String>,
    /// Where the BigQuery datasets are created: US, EU or a region (default US, or `[bigquery] location`).
    #[arg(long, global = true, env = "CRIMEWATCH_BIGQUERY_LOCATION", value_name = "LOCATION")]
    pub bigquery_location: Option<String>,
    /// Config file (default: ./crimewatch.toml when it exists).
    #[arg(long, global = true, env = "CRIMEWATCH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print a machine-readable JSON summary on stdout instead of the table.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring the lake in step with the source for report months in range.
    Ingest(IngestArgs),
    /// Load an SPD CSV export (old or new headers) into the lake.
    Import(ImportArgs),
    /// Per report month: rows, source fingerprint, fetched-at, partial or complete.
    Status,
    /// Build the warehouse from the lake: stage, transform, test, publish.
    Build,
    /// `ingest` then `build` (then `publish` when a BigQuery project is set).
    Run(IngestArgs),
    /// Copy the published warehouse to BigQuery (tables that changed only).
    Publish,
    /// Serve the dashboard and JSON API (and keep the schedule).
    Serve(ServeArgs),
    /// Run the pipeline if nothing is published yet, then serve and keep the schedule.
    Up(ServeArgs),
    /// The run ledger: recent runs, newest first.
    Runs(RunsArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    init_logging(cli.verbose);
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
        socrata_url: cli.socrata_url.clone(),
        dataset: cli.dataset.clone(),
        app_token: std::env::var("SODA_APP_TOKEN").ok(),
        addr: serve.and_then(|a| a.addr.clone()),
        cron: serve.and_then(|a| a.schedule.clone()),
        timezone: serve.and_then(|a| a.timezone.clone()),
        bigquery_project: cli.bigquery_project.clone(),
        bigquery_location: cli.bigquery_location.clone(),
        bigquery_emulator_host: std::env::var("BIGQUERY_EMULATOR_HOST").ok(),
    };
    let settings = Settings::resolve(file, overrides).context("invalid configuration")?;
    let ctx = Context { settings, json: cli.json };
    match &cli.command {
        Command::Ingest(args) => commands::ingest::execute(&ctx, args),
        Command::Import(args) => commands::import::execute(&ctx, args),
        Command::Status => commands::status::execute(&ctx),
        Command::Build => commands::build::execute(&ctx),
        Command::Run(args) => commands::run::execute(&ctx, args),
        Command::Publish => commands::publish::execute(&ctx),
        Command::Serve(args) => commands::serve::execute(&ctx, args, false),
        Command::Up(args) => commands::serve::execute(&ctx, args, true),
        Command::Runs(args) => commands::runs::execute(&ctx, args),
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("crimewatch={default},warn")));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
