//! When to run: the cron schedule, the one made-up run at start, and retries with bounded backoff.
//!
//! [`Scheduler`] is a plain state machine over instants handed in by the caller (the clock is injected), so
//! every decision is tested without sleeping; [`keep`](super::keep::keep) drives it with the wall clock. What a
//! due run does is not the scheduler's business: it is handed a closure, and learns only how the run ended.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};

use super::cron::CronSchedule;
use crate::domain::run::{RunEnd, RunKind, RunStatus, RunSummary, Trigger};

/// How failed scheduled runs are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per fire time, the first included.
    pub max_attempts: u32,
    /// Delay before the second try; doubled for each further try.
    pub initial: Duration,
    /// Upper bound on one delay.
    pub max: Duration,
}

impl RetryPolicy {
    /// The delay after try number `attempt` (1-based) failed.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let factor = 1i32.checked_shl(attempt.saturating_sub(1).min(30)).unwrap_or(i32::MAX);
        self.initial.checked_mul(factor).unwrap_or(self.max).min(self.max)
    }
}

/// A run the scheduler wants now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The fire time it stands for.
    pub scheduled_for: DateTime<Utc>,
    /// 1 for the first try.
    pub attempt: u32,
    /// Made up at start for a fire time missed while the process was down.
    pub catch_up: bool,
    /// Whether a transient failure of this try will be retried.
    pub retry_on_failure: bool,
}

/// What [`Scheduler::try_run_due`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing due; the next wake-up (`None`: never).
    NotDue {
        next: Option<DateTime<Utc>>,
    },
    Succeeded {
        due: Due,
        next: Option<DateTime<Utc>>,
    },
    /// The try failed and will be tried again at `retry_at`.
    WillRetry {
        due: Due,
        retry_at: DateTime<Utc>,
    },
    /// The try failed and no retry is left (or the failure is not transient).
    GaveUp {
        due: Due,
        next: Option<DateTime<Utc>>,
    },
    Stopped {
        due: Due,
    },
}

/// The schedule's state: the next fire time and, possibly, a run to start before it (a catch-up or a retry).
#[derive(Debug, Clone)]
pub struct Scheduler {
    cron: CronSchedule,
    retry: RetryPolicy,
    next_fire: Option<DateTime<Utc>>,
    pending: Option<(Due, DateTime<Utc>)>,
}

impl Scheduler {
    /// A scheduler starting at `now`. `handled_until` comes from the recorded runs ([`handled_until`]): when a
    /// fire time falls in
    /// `(handled_until, now]`, exactly one run is made up now, for the newest such fire time.
    pub fn new(
        cron: CronSchedule,
        retry: RetryPolicy,
        handled_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Scheduler {
        let mut s = Scheduler { next_fire: cron.next_after(now), cron, retry, pending: None };
        if let Some(missed) = handled_until.and_then(|h| s.newest_fire_in(h, now)) {
            let due =
                Due { scheduled_for: missed, attempt: 1, catch_up: true, retry_on_failure: s.retry.max_attempts > 1 };
            s.pending = Some((due, now));
        }
        s
    }

    /// When the scheduler next wants to run (a pending catch-up or retry, else the next fire time).
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        match (&self.pending, self.next_fire) {
            (Some((_, at)), _) => Some(*at),
            (None, next) => next,
        }
    }

    /// The run due at `now`, if any (does not change the state; [`Scheduler::record`] does).
    pub fn due(&self, now: DateTime<Utc>) -> Option<Due> {
        if let Some((due, at)) = &self.pending {
            return (*at <= now).then(|| due.clone());
        }
        let fire = self.next_fire.filter(|f| *f <= now)?;
        Some(Due { scheduled_for: fire, attempt: 1, catch_up: false, retry_on_failure: self.retry.max_attempts > 1 })
    }

    /// Takes in how the try `due` ended at `finished_at` and decides what comes next.
    pub fn record(&mut self, due: Due, result: RunEnd, finished_at: DateTime<Utc>) -> Outcome {
        self.pending = None;
        // Fire times that passed while the run was going are not made up: the run just brought things current.
        let after = finished_at.max(due.scheduled_for);
        match result {
            RunEnd::Stopped => {
                self.next_fire = None;
                Outcome::Stopped { due }
            }
            RunEnd::Succeeded => {
                self.next_fire = self.cron.next_after(after);
                Outcome::Succeeded { due, next: self.next_fire }
            }
            RunEnd::Failed { transient } if transient && due.attempt < self.retry.max_attempts => {
                let retry_at = finished_at + self.retry.delay_after(due.attempt);
                let attempt = due.attempt + 1;
                let next = Due { attempt, retry_on_failure: attempt < self.retry.max_attempts, ..due.clone() };
                self.pending = Some((next, retry_at));
                self.next_fire = self.cron.next_after(after);
                Outcome::WillRetry { due, retry_at }
            }
            RunEnd::Failed { .. } => {
                self.next_fire = self.cron.next_after(after);
                Outcome::GaveUp { due, next: self.next_fire }
            }
        }
    }

    /// If a run is due at `now`, runs it with `run` (which returns how it ended and when) and records the result.
    pub async fn try_run_due<F, Fut>(&mut self, now: DateTime<Utc>, run: F) -> Outcome
    where
        F: FnOnce(Due) -> Fut,
        Fut: Future<Output = (RunEnd, DateTime<Utc>)>,
    {
        let Some(due) = self.due(now) else {
            return Outcome::NotDue { next: self.next_wake() };
        };
        let (result, finished_at) = run(due.clone()).await;
        self.record(due, result, finished_at)
    }

    /// The newest fire time in `(after, until]`.
    fn newest_fire_in(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let first = self.cron.next_after(after).filter(|f| *f <= until)?;
        // Step over the rest, bounded; for a frequent schedule after a long outage the newest is close to `until`.
        let mut newest = first;
        for _ in 0..100_000 {
            match self.cron.next_after(newest) {
                Some(f) if f <= until => newest = f,
                _ => break,
            }
        }
        Some(newest)
    }
}

/// The point up to which scheduled fire times count as handled, for the catch-up decision at start:
/// a scheduled try that ended for good (succeeded, or failed with no retry left) handles its fire time, and any
/// succeeded pipeline run handles every fire time before it started (a single stage — `ingest`, `import`,
/// `build`, `publish` — does not: it left the rest of the pipeline undone). A scheduled try that was abandoned
/// (killed, or stopped by a shutdown) or was waiting for a retry handles nothing: the point moves back to just
/// before its fire time, so that fire time is made up (once) by the next process.
pub fn handled_until(runs: &[RunSummary]) -> Option<DateTime<Utc>> {
    let handled = runs
        .iter()
        .filter(|r| r.command == RunKind::Run)
        .filter_map(|r| match (r.status, r.trigger, r.scheduled_for) {
            (RunStatus::Succeeded, _, s) => Some(s.map_or(r.started_at, |s| s.max(r.started_at))),
            (RunStatus::Failed, Trigger::Schedule, Some(s)) if !r.will_retry => Some(s),
            _ => None,
        })
        .max();
    let unhandled = runs
        .iter()
        .filter(|r| r.trigger == Trigger::Schedule)
        .filter(|r| r.status == RunStatus::Abandoned || (r.status == RunStatus::Failed && r.will_retry))
        .filter_map(|r| r.scheduled_for)
        .filter(|s| handled.is_none_or(|h| *s > h))
        .min();
    match unhandled {
        Some(s) => Some(s - Duration::seconds(1)),
        None => handled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy { max_attempts, initial: Duration::seconds(60), max: Duration::seconds(300) }
    }

    fn monthly() -> CronSchedule {
        CronSchedule::parse("0 15 1 * *", "UTC").unwrap()
    }

    /// Runs `try_run_due` with a run that ends `took` after `now` with `result`; counts calls in `calls`.
    fn step(s: &mut Scheduler, now: DateTime<Utc>, result: RunEnd, calls: &mut Vec<Due>) -> Outcome {
        let fut = s.try_run_due(now, |due| {
            calls.push(due);
            async move { (result, now + Duration::seconds(10)) }
        });
        futures_util::FutureExt::now_or_never(fut).expect("the run future is ready at once")
    }

    #[test]
    fn not_due_before_the_fire_time_and_due_at_it() {
        let mut s = Scheduler::new(monthly(), policy(3), None, t("2026-11-20T00:00:00Z"));
        let mut calls = Vec::new();
        let out = step(&mut s, t("2026-11-30T23:59:59Z"), RunEnd::Succeeded, &mut calls);
        assert_eq!(out, Outcome::NotDue { next: Some(t("2026-12-01T15:00:00Z")) });
        assert!(calls.is_empty());
        let out = step(&mut s, t("2026-12-01T15:00:00Z"), RunEnd::Succeeded, &mut calls);
        assert!(matches!(out, Outcome::Succeeded { next: Some(n), .. } if n == t("2027-01-01T15:00:00Z")), "{out:?}");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].scheduled_for, t("2026-12-01T15:00:00Z"));
        assert!(!calls[0].catch_up);
        // Right after, nothing is due again.
        let out = step(&mut s, t("2026-12-01T15:00:30Z"), RunEnd::Succeeded, &mut calls);
        assert!(matches!(out, Outcome::NotDue { .. }));
        assert_eq!(calls.len(), 1);
    }

    #[test]
    fn missed_runs_are_made_up_once_and_only_once() {
        // Last handled run: 1 August. The process was down through September, October and November's fire times.
        let now = t("2026-11-20T08:00:00Z");
        let mut s = Scheduler::new(monthly(), policy(3), Some(t("2026-08-01T15:00:00Z")), now);
        assert_eq!(s.next_wake(), Some(now));
        let mut calls = Vec::new();
        let out = step(&mut s, now, RunEnd::Succeeded, &mut calls);
        assert!(matches!(out, Outcome::Succeeded { .. }), "{out:?}");
        assert_eq!(calls.len(), 1, "three missed fire times make one run");
        assert!(calls[0].catch_up);
        assert_eq!(calls[0].scheduled_for, t("2026-11-01T15:00:00Z"), "made up for the newest missed fire time");
        for later in ["2026-11-20T08:01:00Z", "2026-11-25T00:00:00Z", "2026-12-01T14:59:59Z"] {
            assert!(matches!(step(&mut s, t(later), RunEnd::Succeeded, &mut calls), Outcome::NotDue { .. }));
        }
        assert_eq!(calls.len(), 1, "the catch-up must not repeat");
        step(&mut s, t("2026-12-01T15:00:00Z"), RunEnd::Succeeded, &mut calls);
        assert_eq!(calls.len(), 2);
        assert!(!calls[1].catch_up);
    }

    #[test]
    fn nothing_is_made_up_when_the_last_fire_time_was_handled_or_the_ledger_is_empty() {
        let now = t("2026-11-20T08:00:00Z");
        let s = Scheduler::new(monthly(), policy(3), Some(t("2026-11-01T15:00:00Z")), now);
        assert_eq!(s.due(now), None);
        assert_eq!(s.next_wake(), Some(t("2026-12-01T15:00:00Z")));
        let s = Scheduler::new(monthly(), policy(3), None, now);
        assert_eq!(s.due(now), None);
    }

    #[test]
    fn transient_failures_retry_with_doubling_bounded_backoff_then_give_up() {
        let start = t("2026-12-01T15:00:00Z");
        let mut s = Scheduler::new(monthly(), policy(4), None, t("2026-11-30T00:00:00Z"));
        let mut calls = Vec::new();
        let fail = RunEnd::Failed { transient: true };
        // Try 1 ends at +10 s; retry after 60 s.
        let out = step(&mut s, start, fail, &mut calls);
        assert!(matches!(out, Outcome::WillRetry { retry_at, .. } if retry_at == t("2026-12-01T15:01:10Z")), "{out:?}");
        // Not before the retry time.
        assert!(matches!(step(&mut s, t("2026-12-01T15:01:09Z"), fail, &mut calls), Outcome::NotDue { .. }));
        // Try 2 at 15:01:10 ends 15:01:20; retry after 120 s.
        let out = step(&mut s, t("2026-12-01T15:01:10Z"), fail, &mut calls);
        assert!(matches!(out, Outcome::WillRetry { retry_at, .. } if retry_at == t("2026-12-01T15:03:20Z")), "{out:?}");
        // Try 3 ends 15:03:30; 240 s.
        let out = step(&mut s, t("2026-12-01T15:03:20Z"), fail, &mut calls);
        assert!(matches!(out, Outcome::WillRetry { retry_at, .. } if retry_at == t("2026-12-01T15:07:30Z")), "{out:?}");
        // Try 4 is the last.
        let out = step(&mut s, t("2026-12-01T15:07:30Z"), fail, &mut calls);
        assert!(matches!(out, Outcome::GaveUp { next: Some(n), .. } if n == t("2027-01-01T15:00:00Z")), "{out:?}");
        let attempts: Vec<(u32, bool)> = calls.iter().map(|d| (d.attempt, d.retry_on_failure)).collect();
        assert_eq!(attempts, [(1, true), (2, true), (3, true), (4, false)]);
        assert!(calls.iter().all(|d| d.scheduled_for == start));
        // The cap: a delay never exceeds max.
        assert_eq!(policy(10).delay_after(9), Duration::seconds(300));
    }

    #[test]
    fn retry_then_success_returns_to_the_schedule() {
        let mut s = Scheduler::new(monthly(), policy(3), None, t("2026-11-30T00:00:00Z"));
        let mut calls = Vec::new();
        step(&mut s, t("2026-12-01T15:00:00Z"), RunEnd::Failed { transient: true }, &mut calls);
        let out = step(&mut s, t("2026-12-01T15:01:10Z"), RunEnd::Succeeded, &mut calls);
        assert!(matches!(&out, Outcome::Succeeded { due, .. } if due.attempt == 2), "{out:?}");
        assert_eq!(s.next_wake(), Some(t("2027-01-01T15:00:00Z")));
    }

    #[test]
    fn terminal_failure_is_not_retried() {
        let mut s = Scheduler::new(monthly(), policy(3), None, t("2026-11-30T00:00:00Z"));
        let mut calls = Vec::new();
        let out = step(&mut s, t("2026-12-01T15:00:00Z"), RunEnd::Failed { transient: false }, &mut calls);
        assert!(matches!(out, Outcome::GaveUp { .. }), "{out:?}");
        assert_eq!(s.next_wake(), Some(t("2027-01-01T15:00:00Z")));
    }

    #[test]
    fn stopped_run_ends_the_schedule() {
        let mut s = Scheduler::new(monthly(), policy(3), None, t("2026-11-30T00:00:00Z"));
        let mut calls = Vec::new();
        let out = step(&mut s, t("2026-12-01T15:00:00Z"), RunEnd::Stopped, &mut calls);
        assert!(matches!(out, Outcome::Stopped { .. }));
        assert_eq!(s.next_wake(), None);
    }

    #[test]
    fn seconds_schedule_catches_up_the_newest_of_many_missed_fire_times() {
        let cron = CronSchedule::parse("*/5 * * * * *", "UTC").unwrap();
        let now = t("2026-11-20T08:00:03Z");
        let s = Scheduler::new(cron, policy(1), Some(t("2026-11-20T07:00:00Z")), now);
        let due = s.due(now).unwrap();
        assert_eq!(due.scheduled_for, t("2026-11-20T08:00:00Z"));
        assert!(due.catch_up && !due.retry_on_failure);
    }

    fn scheduled(id: &str, at: &str, status: RunStatus, will_retry: bool) -> RunSummary {
        let mut r = RunSummary {
            started_at: t(at),
            scheduled_for: Some(t(at)),
            ..RunSummary::start(id.into(), Trigger::Schedule, RunKind::Run)
        };
        r.finish(status, None);
        r.will_retry = will_retry;
        r
    }

    #[test]
    fn baseline_ignores_abandoned_and_retried_scheduled_tries() {
        let mut runs = vec![
            scheduled("1", "2026-09-01T15:00:00Z", RunStatus::Succeeded, false),
            scheduled("2", "2026-10-01T15:00:00Z", RunStatus::Failed, false),
            scheduled("3", "2026-11-01T15:00:00Z", RunStatus::Failed, true),
            scheduled("4", "2026-11-02T15:00:00Z", RunStatus::Abandoned, false),
        ];
        // 3 and 4 are not done: the point sits just before 3's fire time so it is made up.
        assert_eq!(handled_until(&runs), Some(t("2026-11-01T14:59:59Z")));
        // Without them, the last try that ended for good.
        runs.truncate(2);
        assert_eq!(handled_until(&runs), Some(t("2026-10-01T15:00:00Z")));
        assert_eq!(handled_until(&[]), None);
    }

    #[test]
    fn a_single_stage_run_does_not_handle_a_fire_time() {
        let pipeline = scheduled("1", "2026-10-01T15:00:00Z", RunStatus::Succeeded, false);
        for command in [RunKind::Ingest, RunKind::Import, RunKind::Build, RunKind::Publish] {
            let mut stage = RunSummary {
                started_at: t("2026-11-05T09:00:00Z"),
                ..RunSummary::start("2".into(), Trigger::Cli, command)
            };
            stage.finish(RunStatus::Succeeded, None);
            assert_eq!(handled_until(&[pipeline.clone(), stage]), Some(t("2026-10-01T15:00:00Z")), "{command}");
        }
        let mut cli_run = RunSummary {
            started_at: t("2026-11-05T09:00:00Z"),
            ..RunSummary::start("3".into(), Trigger::Cli, RunKind::Run)
        };
        cli_run.finish(RunStatus::Succeeded, None);
        assert_eq!(handled_until(&[pipeline, cli_run]), Some(t("2026-11-05T09:00:00Z")));
    }
}
