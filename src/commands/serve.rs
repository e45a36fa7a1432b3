//! `crimewatch serve` and `crimewatch up`: the web app and the schedule side by side in one process.
//!
//! Both bind and serve at once. `up` on a data dir with nothing published also runs the pipeline once, in the
//! background: the API answers "no data yet" (503) and the page shows its no-data state until the run publishes,
//! then the web switches to the new warehouse by itself. So a container platform's startup probe sees a live
//! port during a long first backfill. Whichever of the two tasks stops first (the web server, or the pipeline's
//! side: that first run, then the schedule) is logged and stops the other. Ctrl-C/SIGTERM stops accepting work,
//! lets a warehouse publish in progress finish (an ingest is dropped: the lake is whole at every rename), and
//! exits 0.
//!
//! This is where the stages meet: the web serves `/api/runs` with functions that read the ledger and start runs,
//! and the schedule is handed a closure that does one recorded pipeline run; neither knows `runs`.

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

use super::run::report_text;
use super::{stop_on_signals, Context, ServeArgs};
use crate::logging::{notice, Loudness};

/// `--addr`, `--schedule` and `--timezone` are in `ctx.settings` already (validated with the rest).
pub fn execute(ctx: &Context, args: &ServeArgs, up: bool) -> anyhow::Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(serve(ctx.settings.clone(), !args.no_schedule, up))
}

async fn serve(settings: Settings, keep: bool, up: bool) -> anyhow::Result<()> {
    // Before anything else (`up`'s first run can take minutes): a trigger that would be exposed is refused now.
    let admin_token = web::admin_token_from_env();
    web::check_exposure(&settings.web, admin_token.as_ref()).context("refusing to start")?;
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(stop_on_signals(stop_tx.clone()));
    let service = RunService::new(settings.runs(), stop_rx.clone());
    // The published warehouse: its absence is what makes `up` run the pipeline first (after binding).
    let first_run = up && !settings.data_dir.warehouse().exists();

    let (next_tx, next_rx) = watch::channel(None);
    let runs_api = runs_api(&service, &settings, next_rx, admin_token);
    let manual = if runs_api.admin_token.is_some() { "enabled" } else { "disabled (set CRIMEWATCH_ADMIN_TOKEN)" };
    let addr = settings.web.addr;
    let app = Application::build(&settings.web, &settings.data_dir, Some(runs_api))
        .await
        .with_context(|| format!("cannot serve on {addr}"))?;
    // Without a first run the schedule starts now (and a fire time missed while down is made up now); after a
    // first run it starts when that run ends, as if the process had started then.
    let scheduler = if keep && !first_run { Some(new_scheduler(&settings)?) } else { None };
    let plan = match (&scheduler, first_run) {
        (Some(s), _) => schedule_plan(&settings, s.next_wake()),
        (None, true) if keep => format!("first run in the background, then {}", schedule_plan(&settings, None)),
        (None, true) => "first run in the background; no schedule".to_string(),
        (None, false) => "no schedule".to_string(),
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
    let pipeline = {
        let (service, settings) = (service.clone(), settings.clone());
        tokio::spawn(async move {
            let scheduler = match scheduler {
                None if first_run => {
                    run_first(&service, &settings).await;
                    if keep && !service.is_stopping() {
                        Some(new_scheduler(&settings)?)
                    } else {
                        None
                    }
                }
                scheduler => scheduler,
            };
            keep_schedule(scheduler, service, stop_rx, next_tx).await;
            Ok::<(), anyhow::Error>(())
        })
    };
    let failure = first_to_stop(web, pipeline, &service, &stop_tx).await;
    service.wait_background().await;
    notice(Loudness::Info, "crimewatch: stopped");
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The schedule from this moment, caught up with the runs on record.
fn new_scheduler(settings: &Settings) -> anyhow::Result<Scheduler> {
    let handled = schedule::handled_until(&Ledger::new(&settings.data_dir).runs()?);
    Ok(Scheduler::new(settings.schedule.cron.clone(), settings.schedule.retry.clone(), handled, Utc::now()))
}

/// "schedule `0 15 1 * *` (UTC), next run ..." for the serving line.
fn schedule_plan(settings: &Settings, next: Option<DateTime<Utc>>) -> String {
    let cron = &settings.schedule.cron;
    let mut plan = format!("schedule `{}` ({})", cron.expression(), cron.timezone().name());
    if let Some(next) = next {
        plan.push_str(&format!(", next run {}", next.format("%Y-%m-%d %H:%M:%S UTC")));
    }
    plan
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

/// Waits for the web server or the pipeline's side (first run, schedule) to stop, logs which, stops the other;
/// the failure, if any.
async fn first_to_stop(
    mut web: JoinHandle<Result<(), web::WebError>>,
    mut pipeline: JoinHandle<anyhow::Result<()>>,
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
            let pipeline_failure = task_failure("the scheduler", pipeline.await);
            task_failure("the web server", r).or(pipeline_failure)
        }
        r = &mut pipeline => {
            if !service.is_stopping() {
                tracing::error!(stage = "schedule", "the scheduler stopped; stopping the web server");
            }
            tracing::info!(stage = "schedule", "scheduler stopped");
            let failure = task_failure("the scheduler", r);
            stop.send_replace(true);
            failure.or(task_failure("the web server", web.await))
        }
    }
}

/// How a task ended, as the command's failure (none when it ended well).
fn task_failure<E>(what: &str, joined: Result<Result<(), E>, tokio::task::JoinError>) -> Option<anyhow::Error>
where
    E: Into<anyhow::Error>,
{
    match joined {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.into().context(format!("{what} failed"))),
        Err(e) => Some(anyhow::anyhow!("{what} task ended abnormally: {e}")),
    }
}

/// `up` on a data dir with nothing published: one run, while the web already serves (with progress bars when
/// stderr is a terminal). A failure does not stop `up`: it says what went wrong and how to get data in another
/// way, and the web goes on serving what exists.
async fn run_first(service: &RunService, settings: &Settings) {
    notice(
        Loudness::Info,
        format!(
            "crimewatch: nothing published in {} yet: fetching from {} and building the warehouse in the background \
             (the page says \"no data yet\" until then)",
            settings.data_dir.root().display(),
            settings.source.socrata_url
        ),
    );
    let request = RunRequest::once(Trigger::Cli, Work::Run(IngestOptions::default()), Progress::detect());
    match service.run_to_end(request).await {
        Ok(finished) if matches!(finished.summary.status, RunStatus::Succeeded | RunStatus::Abandoned) => {
            notice(Loudness::Info, report_text(&finished).trim_end())
        }
        Ok(finished) => {
            notice(Loudness::Warn, report_text(&finished).trim_end());
            notice(Loudness::Warn, unreachable_help(settings, finished.transient()));
        }
        Err(RunsError::ShuttingDown) => {}
        Err(e) => {
            notice(Loudness::Warn, format!("crimewatch: the first run could not start: {e}\n  serving what exists"))
        }
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
