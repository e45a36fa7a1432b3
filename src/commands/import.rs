use std::process::ExitCode;

use crate::cli::{Context, ImportArgs};

pub fn execute(_ctx: &Context, _args: &ImportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("import is being built")
}
