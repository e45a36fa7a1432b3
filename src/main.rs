//! The `crimewatch` binary: parses the command line, wires settings and logging, runs one command.
//! A failure is printed once, with its cause chain (and with `--json` as one object on stdout), and ends the
//! process with the exit code of its class (`crimewatch --help` lists them).

use std::process::ExitCode;

mod cli;
mod commands;
mod logging;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    logging::init(cli.log_format, cli.verbose);
    let json = cli.json;
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(json),
    }
}

/// At most two glibc malloc arenas (the machine this targets has two cores). By default every thread that
/// allocates may get its own arena, and an ingest's page parsing hops across tokio's blocking threads, so
/// freed memory sat in many arenas at once: the 1.2M-row backfill peaked at ~250 MB with the default and
/// ~228 MB with two (docs/benchmarks.md), and ran no slower.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it runs first thing in main, before any other thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
