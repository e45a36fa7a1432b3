//! `crimewatch serve` and `crimewatch up`: the web app and the schedule side by side in one process.
//!
//! `up` first runs the pipeline once when nothing is published yet. Whichever of the two tasks stops first
//! (the web server or the scheduler) is logged and stops the other. Ctrl-C/SIGTERM stops accepting work, lets a
//! warehouse publish in progress finish (an ingest is dropped: the lake is whole at every rename), and exits.

use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;
use crimewatch::pipeline::Progress;
use crimewatch::schedule::api::{self, RunsApi};
use crimewatch::schedule::{keep_schedule, Ledger, RunRequest, RunService, RunStatus, Scheduler, Trigger};
use crimewatch::settings::Settings;
use crimewatch::web::Application;
use tokio::sync::watch;

use super::{Context, ServeArgs};
use crate::commands::run::{print_report, stop_on_signals};

/// `--addr`, `--schedule` and `--timezone` are in `ctx.settings` already (validated with the rest).
pub fn execute(ctx: &Context, args: &ServeArgs, up: bool) -> anyhow::Result<ExitCode> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(serve(ctx.settings.clone(), !args.no_schedule, up))
}

async fn serve(settings: Settings, keep: bool, up: bool) -> anyhow::Result<ExitCode> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(stop_on_signals(stop_tx.clone()));
    let service = RunService::new(settings.clone(), stop_rx.clone());

    // The published warehouse: its absence is what makes `up` run the pipeline first.
    if up && !settings.data_dir.warehouse().exists() {
        first_run(&service, &settings).await;
        if service.is_stopping() {
            return Ok(ExitCode::from(130));
        }
    }

    let (next_tx, next_rx) = watch::channel(None);
    let runs_api =
        RunsApi { service: service.clone(), admin_token: RunsApi::admin_token_from_env(), next_run: next_rx };
    let manual = if runs_api.admin_token.is_some() { "enabled" } else { "disabled (set CRIMEWATCH_ADMIN_TOKEN)" };
    let addr = settings.web.addr;
    let app = Application::build(&settings.web, &settings.data_dir, api::router(runs_api))
        .await
        .with_context(|| format!("cannot serve on {addr}"))?;
    let schedule = &settings.schedule;
    let scheduler = if keep {
        let ledger = Ledger::new(&settings.data_dir);
        let handled = crimewatch::schedule::ledger::schedule_baseline(&ledger.runs()?);
        Some(Scheduler::new(schedule.cron.clone(), schedule.retry.clone(), handled, Utc::now()))
    } else {
        None
    };
    let plan = match scheduler.as_ref().and_then(Scheduler::next_wake) {
        Some(next) => format!(
            "schedule `{}` ({}), next run {}",
            schedule.cron.expression(),
            schedule.cron.timezone().name(),
            next.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        None => "no schedule".to_string(),
    };
    // Tests and scripts read the address from this line.
    let serving = std::net::SocketAddr::new(addr.ip(), app.port());
    println!("crimewatch: serving http://{serving}/ ({plan}; POST /api/runs {manual})");

    let mut web = {
        let mut stop = stop_rx.clone();
        tokio::spawn(app.run_until_stopped(async move {
            let _ = stop.wait_for(|s| *s).await;
        }))
    };
    let mut sched = {
        let service = service.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            match scheduler {
                Some(s) => keep_schedule(s, service, next_tx).await,
                None => {
                    let _ = stop.wait_for(|s| *s).await;
                }
            }
        })
    };
    let mut failure = None;
    tokio::select! {
        r = &mut web => {
            if !service.is_stopping() {
                tracing::error!(stage = "web", "the web server stopped; stopping the scheduler");
            }
            tracing::info!(stage = "web", "web server stopped");
            failure = web_failure(r);
            stop_tx.send_replace(true);
            let _ = sched.await;
        }
        r = &mut sched => {
            if !service.is_stopping() {
                tracing::error!(stage = "schedule", "the scheduler stopped; stopping the web server");
            }
            tracing::info!(stage = "schedule", "scheduler stopped");
            if let Err(e) = r {
                failure = Some(anyhow::anyhow!("the scheduler task ended abnormally: {e}"));
            }
            stop_tx.send_replace(true);
            failure = failure.or(web_failure(web.await));
        }
    }
    service.wait_background().await;
    eprintln!("crimewatch: stopped");
    match failure {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

fn web_failure<E>(joined: Result<Result<(), E>, tokio::task::JoinError>) -> Option<anyhow::Error>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match joined {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(anyhow::Error::new(e).context("the web server failed")),
        Err(e) => Some(anyhow::anyhow!("the web server task ended abnormally: {e}")),
    }
}

/// `up` on a data dir with nothing published: one run, with progress. A failure does not stop `up`: it says
/// what went wrong and how to get data in another way, then serves what exists.
async fn first_run(service: &RunService, settings: &Settings) {
    eprintln!(
        "crimewatch: nothing published in {} yet: fetching from {} and building the warehouse first",
        settings.data_dir.root().display(),
        settings.source.socrata_url
    );
    match service.run_to_end(RunRequest::once(Trigger::Cli, Progress::detect())).await {
        Ok(report) if report.status == RunStatus::Succeeded => print_report(&report),
        Ok(report) if report.status == RunStatus::Abandoned => print_report(&report),
        Ok(report) => {
            print_report(&report);
            eprintln!("{}", unreachable_help(settings, report.transient));
        }
        Err(e) => eprintln!("crimewatch: the first run could not start: {e}\n  serving what exists"),
    }
}

fn unreachable_help(settings: &Settings, source_failed: bool) -> String {
    let cause = if source_failed {
        format!("the source at {} could not be read (see the error above).", settings.source.socrata_url)
    } else {
        "the first run failed (see the error above).".to_string()
    };
    format!(
        "crimewatch: {cause}\n  serving what exists now; the schedule tries again at its next fire time.\n  \
         to load data without the API: download the CSV export from the city's portal and run \
         `crimewatch import FILE`, then `crimewatch build`;\n  to use another SODA-compatible host: \
         `crimewatch up --socrata-url URL`"
    )
}
