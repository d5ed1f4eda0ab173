//! One thin module per command: turn arguments into options, call the
//! logic, hand back a [`Report`]. Commands never print.

mod assess;
mod blocking;
mod check;
mod cve;
mod downgrade;
mod patches;
mod status;

use crate::cli::{Cli, ReportCommand};
use crate::report::Report;
use crate::sys::SysRoot;
use crate::Result;

pub(crate) use status::build_status;

/// What every command may need from the global options.
pub(crate) struct Context {
    pub(crate) sys: SysRoot,
    pub(crate) verbosity: u8,
    pub(crate) non_interactive: bool,
    pub(crate) backend: crate::pkg::backend::Choice,
}

/// Runs a report command against the system under `--root`.
pub fn run(cli: &Cli, command: &ReportCommand) -> Result<Report> {
    let ctx = Context {
        sys: SysRoot::new(&cli.root)?,
        verbosity: cli.verbose.min(2),
        non_interactive: cli.non_interactive,
        backend: cli.backend,
    };
    Ok(match command {
        ReportCommand::Status => Report::Status(status::run(&ctx)?),
        ReportCommand::Check(args) => Report::Check(check::run(&ctx, args)?),
        ReportCommand::Patches(args) => Report::Patches(patches::run(&ctx, args)?),
        ReportCommand::Blocking => Report::Blocking(blocking::run(&ctx)?),
        ReportCommand::Downgrade(args) => Report::Downgrade(downgrade::run(&ctx, args)?),
        ReportCommand::Assess(args) => Report::Assess(Box::new(assess::run(&ctx, args)?)),
        ReportCommand::Cve(args) => Report::Cve(cve::run(&ctx, args)?),
    })
}
