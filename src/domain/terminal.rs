//! The terminal's progress bars, one set for the whole process. Every stage that draws a bar adds it here, and
//! the log writer prints through [`suspend`], which lifts the bars, writes the line and draws them again below
//! it: a retry warning in the middle of a download no longer tears a bar in two.

use std::sync::OnceLock;

use indicatif::{MultiProgress, ProgressBar};

fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(MultiProgress::new)
}

/// Draws `bar` with the process's other bars (on stderr, only when it is a terminal).
pub fn add_bar(bar: ProgressBar) -> ProgressBar {
    bars().add(bar)
}

/// Runs `write` (which writes to stderr) with the bars lifted, then draws them again.
pub fn suspend<R>(write: impl FnOnce() -> R) -> R {
    bars().suspend(write)
}
