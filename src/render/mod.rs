//! Renderers: every format is rendered from the same typed reports.
//!
//! The classic text format (`text`). Compatibility contract (see the facts in
//! README): `status` prints exactly `ready` or `in_progress`; `check` prints
//! nothing; `patches` prints names, and with `-v` one block per patch: the
//! name unindented, then 4-space indented `key: value` lines, a blank line
//! between patches. Parsers in the field abort on any indented line that is
//! not `key: value`, so everything beyond the classic keys is more
//! `key: value` lines after them.
//!
//! The monitoring formats (`prometheus`, `nagios`) render the `assess`
//! report only; every other command refuses them before it runs
//! ([`check_format`]), so a monitoring engine never receives some other
//! document. `output` writes a document to `--output FILE` atomically.

pub mod nagios;
pub mod output;
pub mod prometheus;
mod text;

pub use text::render;

use crate::cli::{Command, Format};
use crate::error::Error;
use crate::report::Report;

/// The commands that render the monitoring formats.
pub const MONITORING_COMMANDS: &[&str] = &["assess"];

/// Refuses a monitoring format for a command that has no rendering for it.
pub fn check_format(command: &Command, format: Format) -> Result<(), Error> {
    let name = command.name();
    if format.is_monitoring() && !MONITORING_COMMANDS.contains(&name) {
        return Err(Error::FormatUnsupported {
            format: format.name(),
            command: name,
            supported_by: MONITORING_COMMANDS,
        });
    }
    Ok(())
}

/// A monitoring format of a report that [`check_format`] let through.
pub fn render_monitoring(report: &Report, format: Format) -> String {
    match (report, format) {
        (Report::Assess(assess), Format::Prometheus) => prometheus::render(assess),
        (Report::Assess(assess), Format::Nagios) => nagios::render(assess),
        _ => unreachable!("check_format lets monitoring formats through for assess only"),
    }
}

/// A monitoring format's document for a failure: the engine still learns
/// that klp could not assess. None for the other formats.
pub fn render_monitoring_error(err: &Error, format: Format) -> Option<String> {
    match format {
        Format::Prometheus => Some(prometheus::render_error(err)),
        Format::Nagios => Some(nagios::render_error(err)),
        Format::Json | Format::Text => None,
    }
}
