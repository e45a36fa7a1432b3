use std::process::ExitCode;

use crate::cli::{Context, RunsArgs};

pub fn execute(_ctx: &Context, _args: &RunsArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("runs is being built")
}
