//! The subcommands' arguments (clap), beside the commands that read them, so `cli.rs` depends on `commands` and
//! never the other way round.

use std::path::PathBuf;

use clap::Args;
use crimewatch::domain::Month;

#[derive(Debug, Args, Clone)]
pub struct IngestArgs {
    /// First report month (YYYY-MM); default 2022-01 or `source.default_since`.
    #[arg(long, value_name = "YYYY-MM")]
    pub since: Option<Month>,
    /// Last report month (YYYY-MM); default the current month.
    #[arg(long, value_name = "YYYY-MM")]
    pub until: Option<Month>,
    /// Re-fetch every month in range, even unchanged ones.
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ImportArgs {
    /// The CSV file, as downloaded with the portal's Export button.
    pub file: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Listen address (default 127.0.0.1:8080 or `web.addr`).
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
    /// Cron expression for scheduled runs (default `0 15 1 * *` or `schedule.cron`).
    #[arg(long, value_name = "CRON")]
    pub schedule: Option<String>,
    /// Time zone of the cron expression (default UTC or `schedule.timezone`).
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// Serve only: no scheduled runs.
    #[arg(long)]
    pub no_schedule: bool,
    /// Allow POST /api/runs (enabled by CRIMEWATCH_ADMIN_TOKEN) on an address other than loopback: only behind a
    /// TLS proxy, since crimewatch speaks plain HTTP.
    #[arg(long, env = "CRIMEWATCH_ALLOW_REMOTE_TRIGGER")]
    pub allow_remote_trigger: bool,
}

#[derive(Debug, Args, Clone)]
pub struct RunsArgs {
    /// How many runs to show.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}
