//! `soda-server`: the test kit's SODA-compatible server as a process, for scripts that need a source without
//! Rust test code (the container smoke test, the bench's Python baseline, manual tries). It prints exactly one
//! line, `listening on http://127.0.0.1:PORT`, and serves `/resource/<dataset>.json` (SODA 2.x) until SIGTERM
//! or SIGINT, or until stdin closes with `--exit-on-stdin-eof` (so a parent that dies takes it along).

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Parser, ValueEnum};
use soda_testkit::generate::{self, GenSpec, Schema};
use soda_testkit::{samples, Month, Row, SodaServer};

/// Serves seeded SPD rows (or the real sample rows) the way data.seattle.gov's SODA 2.x endpoint does.
#[derive(Parser, Debug)]
#[command(name = "soda-server", version)]
struct Args {
    /// Address to listen on; port 0 takes a free port (the first line printed names it).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Data set id, served at /resource/<dataset>.json and /api/views/<dataset>.json.
    #[arg(long, default_value = "tazs-3rd5")]
    dataset: String,
    /// Generated rows, spread over the months realistically.
    #[arg(long, default_value_t = 5000)]
    rows: usize,
    /// Generator seed: the same seed and flags give the same rows.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// First report month (YYYY-MM).
    #[arg(long, default_value = "2022-01")]
    since: Month,
    /// Last report month (YYYY-MM), included [default: the current month in Seattle].
    #[arg(long)]
    until: Option<Month>,
    /// Field names: `new` (NIBRS, `report_date_time`) or `old` (pre-2025, `report_datetime`).
    #[arg(long, value_enum, default_value_t = SchemaArg::New)]
    schema: SchemaArg,
    /// Serve the real sample rows (shared/data/spd-samples, the first pull: 4,078 rows, old schema) instead.
    #[arg(long, conflicts_with_all = ["rows", "seed", "since", "until", "schema"])]
    samples: bool,
    /// Answer a request seen before (same path and query, same data) from memory instead of evaluating its SoQL
    /// again, as a production host's response cache does; for benchmarks that measure the client.
    #[arg(long)]
    response_cache: bool,
    /// Exit when stdin reaches end of file.
    #[arg(long)]
    exit_on_stdin_eof: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum SchemaArg {
    New,
    Old,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return bad_flag(&e.to_string()),
    };
    let until = args.until.unwrap_or_else(|| Month::current_in_seattle(chrono::Utc::now()));
    if !args.samples && until < args.since {
        return bad_flag(&format!("--until {until} is before --since {}", args.since));
    }
    let rows: Box<dyn Iterator<Item = Row>> = if args.samples {
        match samples::try_pull1() {
            Ok(rows) => Box::new(rows.into_iter()),
            Err(e) => return fail(&e),
        }
    } else {
        let schema = match args.schema {
            SchemaArg::New => Schema::Nibrs,
            SchemaArg::Old => Schema::Old,
        };
        Box::new(generate::iter(&GenSpec { seed: args.seed, first: args.since, last: until, rows: args.rows, schema }))
    };
    let server = match SodaServer::bind(args.addr, &args.dataset, rows) {
        Ok(server) if args.response_cache => server.with_response_cache(),
        Ok(server) => server,
        Err(e) => return fail(&format!("cannot listen on {}: {e}", args.addr)),
    };
    exit_on_signals();
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "listening on {}", server.url()).and_then(|()| stdout.flush()).is_err() {
        return fail("cannot write to stdout");
    }
    if args.exit_on_stdin_eof {
        // Read (and drop) whatever comes, until end of file or an error.
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        return ExitCode::SUCCESS;
    }
    loop {
        std::thread::park();
    }
}

/// A flag the command line cannot mean: one line on stderr, exit code 2.
fn bad_flag(message: &str) -> ExitCode {
    let first = message.lines().next().unwrap_or(message);
    let first = first.strip_prefix("error: ").unwrap_or(first);
    eprintln!("soda-server: {first} (see soda-server --help)");
    ExitCode::from(2)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("soda-server: {message}");
    ExitCode::FAILURE
}

/// SIGTERM and SIGINT end the process at once with status 0: the server keeps nothing that needs closing, and a
/// process without a handler would ignore SIGTERM as a container's PID 1.
fn exit_on_signals() {
    extern "C" fn exit_now(_signal: libc::c_int) {
        // SAFETY: `_exit` is async-signal-safe.
        unsafe { libc::_exit(0) }
    }
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler calls only an async-signal-safe function.
        unsafe { libc::signal(signal, exit_now as extern "C" fn(libc::c_int) as libc::sighandler_t) };
    }
}
