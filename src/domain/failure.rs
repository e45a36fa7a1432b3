//! Whose problem a failure is, in the few classes a person or a script acts on differently: each stage's error
//! type says which class each of its variants falls in (next to `is_transient`), and the command line turns the
//! class into its documented exit code, so a cron job can tell "source unreachable" from "data test failed".

/// The class of a failure. New variants of a stage's errors fall in [`FailureClass::Other`] until classed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// The command line, the configuration or an input file is wrong: fix it, then run again.
    Usage,
    /// The source could not be reached, refused the requests, or answered with something unusable (a changed
    /// schema, counts that moved during the run): check the URL and the token, or try again later.
    Source,
    /// Data tests failed, so nothing was published.
    DataTests,
    /// Another run holds the run lock.
    Busy,
    /// The run was stopped (Ctrl-C, SIGTERM, a shutdown) before it finished.
    Stopped,
    /// Anything else: the disk, the lake, DuckDB, a bug.
    Other,
}
