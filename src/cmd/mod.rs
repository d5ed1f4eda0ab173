//! One thin module per command: turn arguments into options, call the
//! logic, hand back a [`Report`]. Commands never print.

mod assess;
mod blocking;
mod check;
mod cve;
mod downgrade;
mod patches;
mod status;

use crate::cli::{Cli, Command};
use crate::report::{self, Report};
use crate::sys::SysRoot;
use crate::Result;

pub use check::wait_for_ready;
pub use status::build_status;

/// What every command may need from the global options.
pub struct Context {
    pub sys: SysRoot,
    pub verbosity: u8,
    pub non_interactive: bool,
    pub backend: crate::pkg::backend::Choice,
}

pub fn run(cli: &Cli) -> Result<Report> {
    // Commands that do not look at a system need no valid --root.
    match &cli.command {
        Command::Schema { document } => {
            let schema = report::schema_of(document.name()).expect("every SchemaDocument has a schema");
            return Ok(Report::Schema(schema.to_value()));
        }
        Command::Manpage => return Ok(Report::Raw(crate::manpage::render())),
        Command::Completions { shell } => return Ok(Report::Raw(crate::manpage::completions(*shell))),
        _ => {}
    }
    let ctx = Context {
        sys: SysRoot::new(&cli.root)?,
        verbosity: cli.verbose.min(2),
        non_interactive: cli.non_interactive,
        backend: cli.backend,
    };
    Ok(match &cli.command {
        Command::Status => Report::Status(status::run(&ctx)?),
        Command::Check(args) => Report::Check(check::run(&ctx, args)?),
        Command::Patches(args) => Report::Patches(patches::run(&ctx, args)?),
        Command::Blocking => Report::Blocking(blocking::run(&ctx)?),
        Command::Downgrade(args) => Report::Downgrade(downgrade::run(&ctx, args)?),
        Command::Assess(args) => Report::Assess(Box::new(assess::run(&ctx, args)?)),
        Command::Cve(args) => Report::Cve(cve::run(&ctx, args)?),
        Command::Schema { .. } | Command::Manpage | Command::Completions { .. } => unreachable!(),
    })
}
