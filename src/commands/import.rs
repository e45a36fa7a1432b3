//! `crimewatch import FILE`: load an SPD CSV export into the lake, then print the summary.

use std::process::ExitCode;

use crimewatch::runs::Work;

use super::{Context, ImportArgs};

pub fn execute(ctx: &Context, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    if !args.file.is_file() {
        anyhow::bail!(
            "{} is not a file\n  give the path of the CSV downloaded with the data portal's Export button",
            args.file.display()
        );
    }
    let started = super::begin_run(&ctx.settings, Work::Import(args.file.clone()), ctx.progress())?;
    let mut finished = super::finish_run(started)?;
    match finished.ingest.take() {
        Some(summary) if finished.failure.is_none() => {
            super::ingest::print_summary(ctx, "import", &summary)?;
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(super::failure(finished).context(format!("import of {} failed", args.file.display()))),
    }
}
