//! `crimewatch import FILE`: load an SPD CSV export into the lake, then print the summary.

use crimewatch::domain::run::RunStatus;
use crimewatch::pipeline::PipelineError;
use crimewatch::runs::{RunFailure, Work};

use super::failure::{CommandError, Exit};
use super::{Context, ImportArgs, Outcome};

pub fn execute(ctx: &Context, args: &ImportArgs) -> Outcome {
    if !args.file.is_file() {
        return Err(CommandError::NotAFile { path: args.file.clone() }.into());
    }
    let started = super::begin_run(&ctx.settings, Work::Import(args.file.clone()), ctx.progress())?;
    let mut finished = super::finish_run(started)?;
    match finished.ingest.take() {
        Some(summary) if finished.summary.status == RunStatus::Succeeded => {
            super::ingest::print_summary(ctx, "import", &summary)?;
            Ok(())
        }
        _ => {
            // An import's source is the file it was given: what is wrong with it is the user's to fix.
            let bad_file = matches!(&finished.failure, Some(RunFailure::Pipeline(PipelineError::Source(_))));
            let failure = super::failure(finished).context(format!("import of {} failed", args.file.display()));
            Err(if bad_file { failure.exit_as(Exit::Usage) } else { failure })
        }
    }
}
