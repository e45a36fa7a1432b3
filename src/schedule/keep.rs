//! Keeping the schedule with the wall clock: sleep until the scheduler's next wake-up, run what is due with the
//! closure the caller hands in, and publish the next wake-up (for `GET /api/runs`).

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::scheduler::{Due, Outcome, Scheduler};
use crate::domain::run::RunEnd;

/// Keeps the schedule until `stop` turns true (or a run reports the process is stopping). `run` does one due
/// try and says how it ended; the next wake-up goes out on `next_run` whenever it changes.
pub async fn keep<F, Fut>(
    mut scheduler: Scheduler,
    mut stop: watch::Receiver<bool>,
    next_run: watch::Sender<Option<DateTime<Utc>>>,
    mut run: F,
) where
    F: FnMut(Due) -> Fut,
    Fut: Future<Output = RunEnd>,
{
    tracing::info!(stage = "schedule", next = ?scheduler.next_wake(), "schedule started");
    loop {
        next_run.send_replace(scheduler.next_wake());
        if *stop.borrow() {
            return;
        }
        let now = Utc::now();
        if scheduler.due(now).is_none() {
            let Some(wake) = scheduler.next_wake() else {
                let _ = stop.wait_for(|s| *s).await;
                return;
            };
            // Wake at least once a minute, so a changed wall clock (suspend, NTP step) is noticed.
            let nap = (wake - now).to_std().unwrap_or_default().min(Duration::from_secs(60));
            tokio::select! {
                () = tokio::time::sleep(nap.max(Duration::from_millis(5))) => continue,
                _ = stop.wait_for(|s| *s) => return,
            }
        }
        let outcome = scheduler
            .try_run_due(now, |due| {
                let ran = run(due);
                async move { (ran.await, Utc::now()) }
            })
            .await;
        if !log(&outcome) {
            return;
        }
    }
}

/// Logs what a due try did; false when the schedule is to end.
fn log(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::NotDue { .. } => {}
        Outcome::Succeeded { due, next } => {
            tracing::info!(stage = "schedule", scheduled_for = %due.scheduled_for, catch_up = due.catch_up,
                next = ?next, "scheduled run succeeded")
        }
        Outcome::WillRetry { due, retry_at } => {
            tracing::warn!(stage = "schedule", scheduled_for = %due.scheduled_for, attempt = due.attempt,
                retry_at = %retry_at, "scheduled run failed; trying again")
        }
        Outcome::GaveUp { due, next } => {
            tracing::error!(stage = "schedule", scheduled_for = %due.scheduled_for, attempt = due.attempt,
                next = ?next, "scheduled run failed; no tries left until the next fire time")
        }
        Outcome::Stopped { .. } => return false,
    }
    true
}
