//! The `crimewatch` binary: parses the command line, wires settings and logging, runs one command.
//! Errors are printed once, with their cause chain, and turn into a non-zero exit code.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod commands;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(1)
        }
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
