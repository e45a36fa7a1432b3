//! A bar over a build's seeds, models and tests, drawn only on a terminal (with the process's other bars, so log
//! lines print above it).

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
