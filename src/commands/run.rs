use std::process::ExitCode;

use crate::cli::{Context, IngestArgs};

pub fn execute(_ctx: &Context, _args: &IngestArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("run is being built")
}
