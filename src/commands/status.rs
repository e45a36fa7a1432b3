use std::process::ExitCode;

use crate::cli::Context;

pub fn execute(_ctx: &Context) -> anyhow::Result<ExitCode> {
    anyhow::bail!("status is being built")
}
