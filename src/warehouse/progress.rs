//! A bar over a build's seeds, models and tests, drawn only on a terminal (with the process's other bars, so log
//! lines print above it), and the time each of them took.

use std::time::{Duration, Instant};

use crate::domain::terminal;

pub struct Steps(Option<indicatif::ProgressBar>);

impl Steps {
    pub fn new(show: bool, steps: u64) -> Steps {
        if !show {
            return Steps(None);
        }
        let bar = indicatif::ProgressBar::new(steps);
        if let Ok(style) = indicatif::ProgressStyle::with_template("build {bar:30} {pos}/{len} {msg}") {
            bar.set_style(style);
        }
        Steps(Some(terminal::add_bar(bar)))
    }

    pub fn step(&self, name: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(name.to_string());
            bar.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// The wall and CPU time of one step of a build, logged with it (`build -v`); unlike wall time, CPU time reads
/// the same on a busy machine as on an idle one.
pub struct Stopwatch {
    wall: Instant,
    cpu: Duration,
    who: libc::c_int,
}

impl Stopwatch {
    /// CPU time of the whole process (every DuckDB thread): a step's own while the build runs one statement at a
    /// time (the models).
    pub fn start() -> Stopwatch {
        Stopwatch::of(libc::RUSAGE_SELF)
    }

    /// CPU time of the calling thread only: a step's own when steps run side by side, each on a connection of its
    /// own with DuckDB at one thread, which then runs the whole query on the calling thread (the data tests).
    pub fn start_thread() -> Stopwatch {
        Stopwatch::of(libc::RUSAGE_THREAD)
    }

    fn of(who: libc::c_int) -> Stopwatch {
        Stopwatch { wall: Instant::now(), cpu: cpu_time(who), who }
    }

    /// Seconds since the start: (wall, CPU), rounded to milliseconds.
    pub fn seconds(&self) -> (f64, f64) {
        let round = |d: Duration| (d.as_secs_f64() * 1000.0).round() / 1000.0;
        (round(self.wall.elapsed()), round(cpu_time(self.who).saturating_sub(self.cpu)))
    }
}

/// User + system CPU time so far of this process (`RUSAGE_SELF`) or of the calling thread (`RUSAGE_THREAD`).
fn cpu_time(who: libc::c_int) -> Duration {
    // SAFETY: an all-zero rusage is valid, and getrusage only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF or RUSAGE_THREAD with a pointer to a live rusage.
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let of = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    of(usage.ru_utime) + of(usage.ru_stime)
}
