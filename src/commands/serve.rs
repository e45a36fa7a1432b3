use std::process::ExitCode;

use crate::cli::{Context, ServeArgs};

pub fn execute(_ctx: &Context, _args: &ServeArgs, _up: bool) -> anyhow::Result<ExitCode> {
    anyhow::bail!("serve is being built")
}
