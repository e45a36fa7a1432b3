//! FAULT-INJECTION HOOK, for the crash tests only: when the environment variable
//! `CRIMEWATCH_FAULT_ABORT_AFTER` names a step of a month swap, the process aborts (as a kill would) right
//! after that step. Steps, in order: `staged` (new month file written and fsync'd outside the lake), `swapped`
//! (new month folder exchanged into the lake), `revision_kept` (old version moved to revisions),
//! `manifest_written`. Unset in normal use; it changes nothing else.

pub const FAULT_ENV: &str = "CRIMEWATCH_FAULT_ABORT_AFTER";

pub fn checkpoint(step: &str) {
    if std::env::var(FAULT_ENV).is_ok_and(|v| v == step) {
        eprintln!("crimewatch: fault injection ({FAULT_ENV}={step}): aborting now");
        std::process::abort();
    }
}
