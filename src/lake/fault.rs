//! FAULT-INJECTION HOOK, for the crash tests only: when the environment variable
//! `CRIMEWATCH_FAULT_ABORT_AFTER` names a step of a month swap, the process aborts (as a kill would) right
//! after that step. Steps, in order: `staged` (new month file written and fsync'd outside the lake), `swapped`
//! (new month folder exchanged into the lake), `revision_kept` (old version moved to revisions),
//! `manifest_written`. `STEP#N` aborts the N-th time the step is reached instead of the first (e.g. `swapped#5`:
//! a backfill killed with five months swapped in). Unset in normal use; it changes nothing else.
//!
//! A lake in a bucket adds `remote_uploaded` (one object uploaded, before the manifest) and
//! `remote_manifest_written` (the bucket's manifest replaced). `CRIMEWATCH_FAULT_HOLD=STEP:FILE` (for the race
//! tests) pauses at [`hold`]`(STEP)`: it creates `FILE.reached`, then waits until `FILE` exists.

use std::sync::atomic::{AtomicU32, Ordering};

pub const FAULT_ENV: &str = "CRIMEWATCH_FAULT_ABORT_AFTER";
pub const HOLD_ENV: &str = "CRIMEWATCH_FAULT_HOLD";

/// How many checkpoints of the step named in the variable were reached.
static REACHED: AtomicU32 = AtomicU32::new(0);

pub fn checkpoint(step: &str) {
    let Ok(v) = std::env::var(FAULT_ENV) else { return };
    let (name, nth) = match v.split_once('#') {
        Some((name, n)) => (name, n.parse::<u32>().unwrap_or(1)),
        None => (v.as_str(), 1),
    };
    if name == step && REACHED.fetch_add(1, Ordering::SeqCst) + 1 == nth {
        eprintln!("crimewatch: fault injection ({FAULT_ENV}={v}): aborting now");
        std::process::abort();
    }
}

/// Pauses at `step` while the test that set [`HOLD_ENV`] lets another process act (at most two minutes).
pub fn hold(step: &str) {
    let Ok(v) = std::env::var(HOLD_ENV) else { return };
    let Some((name, file)) = v.split_once(':') else { return };
    if name != step {
        return;
    }
    let _ = std::fs::write(format!("{file}.reached"), b"");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !std::path::Path::new(file).exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
