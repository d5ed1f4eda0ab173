use super::Context;
use crate::cli::DowngradeArgs;
use crate::report::DowngradeReport;
use crate::{Error, Result};

pub fn run(_ctx: &Context, _args: &DowngradeArgs) -> Result<DowngradeReport> {
    Err(Error::NotImplemented { what: "downgrade" })
}
