//! Logs on stderr, for people or for machines.
//!
//! Text (the default) is coloured only when stderr is a terminal and `NO_COLOR` is unset, so a log file or the
//! journal never holds escape codes. `--log-format json` writes one JSON object per line, and then the few
//! things a command says to the person at the terminal ([`notice`]: "waiting for the lock", the first run of
//! `up`, the final error) become log events too, so every stderr line parses. Every line goes out through
//! `domain::terminal::suspend`, which lifts the progress bars first: a retry warning never tears a bar.

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use clap::ValueEnum;
use crimewatch::domain::terminal;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// For people: one line per event, coloured on a terminal.
    #[default]
    Text,
    /// For machines: one JSON object per line (`timestamp`, `level`, `target`, `message` and the event's fields).
    Json,
}

/// The format chosen at start, for [`notice`].
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// The target of [`notice`]s in JSON logs: always let through at `info`, whatever `-v` says.
const NOTICE_TARGET: &str = "crimewatch::notice";

/// Installs the logger: `-v` info, `-vv` debug, else warnings only; `RUST_LOG` overrides.
pub fn init(format: LogFormat, verbose: u8) {
    let _ = FORMAT.set(format);
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("crimewatch={level},{NOTICE_TARGET}=info,warn")));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| BarSafeStderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(colour()).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_ansi(false).try_init(),
    };
}

/// Colour only for a person at a terminal who has not asked for none (<https://no-color.org>).
fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// How loud a [`notice`] is (its level in JSON logs).
#[derive(Debug, Clone, Copy)]
pub enum Loudness {
    Info,
    Warn,
    Error,
}

/// Tells the person running the command something (a plain line on stderr), or, with JSON logs, logs it.
pub fn notice(loudness: Loudness, message: impl Display) {
    if FORMAT.get() == Some(&LogFormat::Json) {
        match loudness {
            Loudness::Info => tracing::info!(target: NOTICE_TARGET, "{message}"),
            Loudness::Warn => tracing::warn!(target: NOTICE_TARGET, "{message}"),
            Loudness::Error => tracing::error!(target: NOTICE_TARGET, "{message}"),
        }
        return;
    }
    let line = format!("{message}\n");
    let _ = BarSafeStderr.write_all(line.as_bytes());
}

/// Says a command's failure once: `error: ...` and a `caused by:` line per cause, or one JSON log event with the
/// causes as a field.
pub fn error(message: &str, causes: &[String]) {
    if FORMAT.get() == Some(&LogFormat::Json) {
        tracing::error!(target: NOTICE_TARGET, causes = ?causes, "{message}");
        return;
    }
    let mut text = format!("error: {message}");
    for cause in causes {
        text.push_str(&format!("\n  caused by: {cause}"));
    }
    notice(Loudness::Error, text);
}

/// Stderr, written with the progress bars lifted.
struct BarSafeStderr;

impl Write for BarSafeStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        terminal::suspend(|| std::io::stderr().lock().write_all(buf)).map(|()| buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
