//! `crimewatch serve` and `crimewatch up`: the web app and the schedule side by side in one process.
//!
//! `up` first runs the pipeline once when nothing is published yet. Whichever of the two tasks stops first
//! (the web server or the scheduler) is logged and stops the other. Ctrl-C/SIGTERM stops accepting work, lets a
//! warehouse publish in progress finish (an ingest is dropped: the lake is whole at every rename), and exits.
//!
//! This is where the stages meet: the web serves `/api/runs` with functions that read the ledger and start runs,
//! and the schedule is handed a closure that does one recorded pipeline run; neither knows `runs`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use crimewatch::domain::run::{RunStatus, Trigger};
use crimewatch::domain::Secret;
use crimewatch::pipeline::{IngestOptions, Progress};
use crimewatch::runs::{Ledger, RunRequest, RunService, RunsError, ScheduledTry, Work};
use crimewatch::schedule::{self, Scheduler};
use crimewatch::settings::Settings;
use crimewatch::web::{self, Application, Refused, RunsApi};
use futures_util::FutureExt as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::run::{print_report, stop_on_signals};
use super::{Context, ServeArgs};

/// `--addr`, `--schedule` and `--timezone` are in `ctx.settings` already (validated with the rest).
pub fn execute(ctx: &Context, args: &ServeArgs, up: bool) -> anyhow::Result<ExitCode> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(serve(ctx.settings.clone(), !args.no_schedule, up))
}

async fn serve(settings: Settings, keep: bool, up: bool) -> anyhow::Result<ExitCode> {
    // Before anything else (`up`'s first run can take minutes): a trigger that would be exposed is refused now.
    let admin_token = web::admin_token_from_env();
    web::check_exposure(&settings.web, admin_token.as_ref()).context("refusing to start")?;
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(stop_on_signals(stop_tx.clone()));
    let service = RunService::new(settings.runs(), stop_rx.clone());

    // The published warehouse: its absence is what makes `up` run the pipeline first.
    if up && !settings.data_dir.warehouse().exists() {
        first_run(&service, &settings).await;
        if service.is_stopping() {
            return Ok(ExitCode::from(130));
        }
    }

    let (next_tx, next_rx) = watch::channel(None);
    let runs_api = runs_api(&service, &settings, next_rx, admin_token);
    let manual = if runs_api.admin_token.is_some() { "enabled" } else { "disabled (set CRIMEWATCH_ADMIN_TOKEN)" };
    let addr = settings.web.addr;
    let app = Application::build(&settings.web, &settings.data_dir, Some(runs_api))
        .await
        .with_context(|| format!("cannot serve on {addr}"))?;
    let scheduler = if keep {
        let handled = schedule::handled_until(&Ledger::new(&settings.data_dir).runs()?);
        Some(Scheduler::new(settings.schedule.cron.clone(), settings.schedule.retry.clone(), handled, Utc::now()))
    } else {
        None
    };
    let plan = match scheduler.as_ref().and_then(Scheduler::next_wake) {
        Some(next) => format!(
            "schedule `{}` ({}), next run {}",
            settings.schedule.cron.expression(),
            settings.schedule.cron.timezone().name(),
            next.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        None => "no schedule".to_string(),
    };
    // Tests and scripts read the address from this line.
    let serving = std::net::SocketAddr::new(addr.ip(), app.port());
    println!("crimewatch: serving http://{serving}/ ({plan}; POST /api/runs {manual})");

    let web = {
        let mut stop = stop_rx.clone();
        tokio::spawn(app.run_until_stopped(async move {
            let _ = stop.wait_for(|s| *s).await;
        }))
    };
    let sched = tokio::spawn(keep_schedule(scheduler, service.clone(), stop_rx, next_tx));
    let failure = first_to_stop(web, sched, &service, &stop_tx).await;
    service.wait_background().await;
    eprintln!("crimewatch: stopped");
    match failure {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// `/api/runs` over this process's runs: the ledger to read, and manual pipeline runs to start.
fn runs_api(
    service: &RunService,
    settings: &Settings,
    next_run: watch::Receiver<Option<DateTime<Utc>>>,
    admin_token: Option<Secret>,
) -> RunsApi {
    let ledger = Ledger::new(&settings.data_dir);
    let starter = service.clone();
    RunsApi {
        list: Arc::new(move || ledger.runs().map_err(|e| e.to_string())),
        start: Arc::new(move || {
            let service = starter.clone();
            async move { service.start_in_background(Trigger::Manual).await.map_err(refused) }.boxed()
        }),
        admin_token,
        schedule: settings.schedule.cron.expression().to_string(),
        timezone: settings.schedule.cron.timezone().name().to_string(),
        next_run,
    }
}

fn refused(e: RunsError) -> Refused {
    match e {
        RunsError::LockBusy { .. } => Refused::Busy(e.to_string()),
        RunsError::ShuttingDown => Refused::ShuttingDown(e.to_string()),
        e => Refused::Failed(e.to_string()),
    }
}

/// Keeps the schedule, each due try a recorded pipeline run; without a schedule, just waits for the stop.
async fn keep_schedule(
    scheduler: Option<Scheduler>,
    service: RunService,
    mut stop: watch::Receiver<bool>,
    next_run: watch::Sender<Option<DateTime<Utc>>>,
) {
    let Some(scheduler) = scheduler else {
        let _ = stop.wait_for(|s| *s).await;
        return;
    };
    schedule::keep(scheduler, stop, next_run, move |due| {
        let service = service.clone();
        async move {
            let scheduled = ScheduledTry {
                scheduled_for: due.scheduled_for,
                attempt: due.attempt,
                retry_on_failure: due.retry_on_failure,
            };
            service.run_scheduled(scheduled).await
        }
    })
    .await
}

/// Waits for the web server or the scheduler to stop, logs which, stops the other; the failure, if any.
async fn first_to_stop(
    mut web: JoinHandle<Result<(), web::WebError>>,
    mut sched: JoinHandle<()>,
    service: &RunService,
    stop: &watch::Sender<bool>,
) -> Option<anyhow::Error> {
    tokio::select! {
        r = &mut web => {
            if !service.is_stopping() {
                tracing::error!(stage = "web", "the web server stopped; stopping the scheduler");
            }
            tracing::info!(stage = "web", "web server stopped");
            stop.send_replace(true);
            let _ = sched.await;
            web_failure(r)
        }
        r = &mut sched => {
            if !service.is_stopping() {
                tracing::error!(stage = "schedule", "the scheduler stopped; stopping the web server");
            }
            tracing::info!(stage = "schedule", "scheduler stopped");
            let failure = r.err().map(|e| anyhow::anyhow!("the scheduler task ended abnormally: {e}"));
            stop.send_replace(true);
            failure.or(web_failure(web.await))
        }
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
    let request = RunRequest::once(Trigger::Cli, Work::Run(IngestOptions::default()), Progress::detect());
    match service.run_to_end(request).await {
        Ok(finished) if matches!(finished.summary.status, RunStatus::Succeeded | RunStatus::Abandoned) => {
            print_report(&finished)
        }
        Ok(finished) => {
            print_report(&finished);
            eprintln!("{}", unreachable_help(settings, finished.transient()));
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
