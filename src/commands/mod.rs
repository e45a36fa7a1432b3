//! One file per subcommand: run the library's work and print the summary (a table, or JSON with `--json`).

mod args;
pub mod build;
pub mod import;
pub mod ingest;
pub mod run;
pub mod runs;
pub mod serve;
pub mod status;

use crimewatch::schedule::lock::{LockHolder, RunLock};
use crimewatch::schedule::Trigger;
use crimewatch::settings::Settings;

pub use args::{ImportArgs, IngestArgs, RunsArgs, ServeArgs};

/// What every command gets: validated settings and how to report.
pub struct Context {
    pub settings: Settings,
    pub json: bool,
}

/// Takes the cross-process run lock for a command that writes the lake or the warehouse, so it never runs
/// beside a scheduled or another CLI run; waits up to `schedule.lock_wait_seconds`, then fails naming the holder.
pub fn take_run_lock(ctx: &Context, command: &str) -> anyhow::Result<RunLock> {
    let holder = LockHolder::this_process(Trigger::Cli, command, None);
    let lock = RunLock::acquire_as(&ctx.settings.data_dir, ctx.settings.lock_wait, holder)?;
    if let Some(stale) = lock.stale_holder() {
        eprintln!("note: cleared a stale run lock left by a process that was killed ({stale})");
    }
    Ok(lock)
}
