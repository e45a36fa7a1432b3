//! `crimewatch run`: `ingest` then `build`, as one command (one JSON object with both summaries under `--json`).

use std::process::ExitCode;

use anyhow::Context as _;
use crimewatch::pipeline::{self, IngestOptions, Progress};

use crate::cli::{Context, IngestArgs};
use crate::commands::{build, ingest};

pub fn execute(ctx: &Context, args: &IngestArgs) -> anyhow::Result<ExitCode> {
    let opts = IngestOptions { since: args.since, until: args.until, full: args.full };
    let progress = if ctx.json { Progress::Hidden } else { Progress::detect() };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let ingested = runtime.block_on(pipeline::ingest(&ctx.settings, &opts, progress)).context("ingest failed")?;
    let built = pipeline::build(&ctx.settings, progress);
    if ctx.json {
        if let Ok(summary) = &built {
            let both = serde_json::json!({ "ingest": ingested, "build": summary });
            println!("{}", serde_json::to_string_pretty(&both)?);
            return Ok(ExitCode::SUCCESS);
        }
    } else {
        ingest::print_summary(ctx, "ingest", &ingested)?;
    }
    build::report(ctx, built)
}
