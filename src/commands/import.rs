//! `crimewatch import FILE`: load an SPD CSV export into the lake, then print the summary.

use std::process::ExitCode;

use anyhow::Context as _;
use crimewatch::pipeline::{self, Progress};

use super::{Context, ImportArgs};

pub fn execute(ctx: &Context, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    if !args.file.is_file() {
        anyhow::bail!(
            "{} is not a file\n  give the path of the CSV downloaded with the data portal's Export button",
            args.file.display()
        );
    }
    let progress = if ctx.json { Progress::Hidden } else { Progress::detect() };
    let _lock = super::take_run_lock(ctx, "import")?;
    let summary = pipeline::import(&ctx.settings.pipeline(), &args.file, progress)
        .with_context(|| format!("import of {} failed", args.file.display()))?;
    super::ingest::print_summary(ctx, "import", &summary)?;
    Ok(ExitCode::SUCCESS)
}
