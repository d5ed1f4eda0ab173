//! Entry point: parse, run, render, exit.
//!
//! Stdout gets exactly one document: the report (JSON or text) or, in JSON
//! mode, the error document. Human-readable errors and warnings go to stderr.
//! A closed stdout (`klp ... | head`) ends the program quietly. argv is read
//! as `OsString`s: a non-UTF-8 argument is a usage error, never a panic.
//! With `--output FILE` the document goes to FILE instead (atomically, see
//! `klp::render::output`) and stdout stays empty.

use clap::Parser;
use klp::cli::{Cli, Command, Format, ReportCommand};
use klp::error::{Error, EXIT_FAILURE, EXIT_OK, EXIT_UNKNOWN, EXIT_USAGE};
use klp::report::{ErrorDocument, Report, State, Warning};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    if let Err(err) = klp::render::check_format(&cli.command, cli.format) {
        // Nothing on stdout: the caller asked for a format we cannot give.
        let _ = writeln!(std::io::stderr(), "klp: error: {err}");
        return ExitCode::from(err.exit_code());
    }
    let output = cli.output.as_deref();
    // Schemas, man page and completions have one form only and look at no system.
    match &cli.command {
        Command::Report(command) => run_report(&cli, command),
        Command::Schema { document } => {
            let mut json =
                serde_json::to_string_pretty(&klp::report::schema_of(*document).to_value()).expect("serializable");
            json.push('\n');
            deliver(&json, EXIT_OK, Format::Text, output, false)
        }
        Command::Manpage => deliver(&klp::manpage::render(), EXIT_OK, Format::Text, output, false),
        Command::Completions { shell } => {
            deliver(&klp::manpage::completions(*shell), EXIT_OK, Format::Text, output, false)
        }
    }
}

fn run_report(cli: &Cli, command: &ReportCommand) -> ExitCode {
    let is_check = matches!(command, ReportCommand::Check(_));
    let output = cli.output.as_deref();
    match klp::cmd::run(cli, command) {
        Ok(report) => {
            let body = match cli.format {
                Format::Json => json_document(&report),
                Format::Text => {
                    print_warnings(report.warnings());
                    klp::render::render(&report)
                }
                // Warnings are findings there; a plugin's stderr may be merged into its output.
                Format::Prometheus | Format::Nagios => klp::render::render_monitoring(&report, cli.format),
            };
            deliver(&body, exit_code(&report, cli.format), cli.format, output, is_check)
        }
        Err(err) => {
            let code = match command {
                // For `check` and `cve`, every failure means "could not determine".
                ReportCommand::Check(_) | ReportCommand::Cve(_) => EXIT_USAGE,
                // `assess` is a monitoring plugin: failures are UNKNOWN.
                ReportCommand::Assess(_) => EXIT_UNKNOWN,
                _ => err.exit_code(),
            };
            report_error(&err, cli.format, code, output, is_check)
        }
    }
}

fn exit_code(report: &Report, format: Format) -> u8 {
    match report {
        Report::Check(check) => match check.wait.as_ref().and_then(|w| w.signal) {
            // The shell's convention for "ended by a signal".
            Some(signal) => u8::try_from(128 + signal).unwrap_or(EXIT_USAGE),
            None if check.status.state == State::InProgress => EXIT_FAILURE,
            None => EXIT_OK,
        },
        // Text has no field to say "incomplete": an empty list must not pass
        // for "nothing blocks", so the exit status says it.
        Report::Blocking(blocking) if !blocking.complete && format == Format::Text => EXIT_FAILURE,
        Report::Assess(assess) => assess.exit_code(),
        Report::Cve(cve) => cve.exit_code(),
        _ => EXIT_OK,
    }
}

fn print_warnings(warnings: &[Warning]) {
    let mut stderr = std::io::stderr().lock();
    for warning in warnings {
        let count = if warning.count > 1 { format!(" ({} affected)", warning.count) } else { String::new() };
        let _ = writeln!(stderr, "klp: warning: {}{count}", warning.message);
    }
}

fn json_document(report: &Report) -> String {
    let mut json = serde_json::to_string(report).expect("reports contain only serializable data");
    json.push('\n');
    json
}

fn report_error(err: &Error, format: Format, code: u8, output: Option<&Path>, is_check: bool) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "klp: error: {err}");
    match format {
        Format::Json => {
            let mut json = serde_json::to_string(&ErrorDocument::new(err, code)).expect("serializable");
            json.push('\n');
            deliver(&json, code, format, output, is_check)
        }
        Format::Prometheus | Format::Nagios => {
            let body = klp::render::render_monitoring_error(err, format).expect("a monitoring format");
            deliver(&body, code, format, output, is_check)
        }
        Format::Text => ExitCode::from(code),
    }
}

/// The document to `--output FILE` when given, else to stdout. A file that
/// cannot be written is an error of its own (`output_failed`), reported on
/// stderr and, in JSON mode, as the error document on stdout.
fn deliver(body: &str, code: u8, format: Format, output: Option<&Path>, is_check: bool) -> ExitCode {
    let Some(path) = output else { return finish(body, code, is_check) };
    match klp::render::output::write_atomic(path, body.as_bytes()) {
        Ok(()) => ExitCode::from(code),
        Err(err) => {
            let code = if is_check { EXIT_USAGE } else { err.exit_code() };
            report_error(&err, format, code, None, is_check)
        }
    }
}

/// Clap's errors: help and version are successes; the rest are usage errors
/// (exit 2), which in JSON mode still produce an error document on stdout.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        return finish(&err.render().to_string(), EXIT_OK, false);
    }
    let rendered = err.render().to_string();
    let _ = write!(std::io::stderr(), "{rendered}");
    // `assess` is a monitoring plugin even when its arguments are wrong.
    let code = if requested_command().as_deref() == Some("assess") { EXIT_UNKNOWN } else { EXIT_USAGE };
    let first_line = rendered.lines().next().unwrap_or("usage error");
    let message = first_line.strip_prefix("error: ").unwrap_or(first_line).to_string();
    // A value our parsers refused (out of range, not a number) is an
    // invalid argument; the rest (unknown flags, bad UTF-8) is usage.
    let error = match err.kind() {
        ErrorKind::ValueValidation => Error::InvalidArgument { message },
        _ => Error::Usage { message },
    };
    let format = requested_format();
    if let Some(body) = klp::render::render_monitoring_error(&error, format) {
        return finish(&body, code, false);
    }
    if format == Format::Text {
        return ExitCode::from(code);
    }
    let doc = ErrorDocument::new(&error, code);
    let mut json = serde_json::to_string(&doc).expect("serializable");
    json.push('\n');
    finish(&json, code, false)
}

/// The command of a command line that clap rejected: the first argument
/// that is not an option or an option's value (lossy, as `requested_format`).
fn requested_command() -> Option<String> {
    let mut args = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        if arg == "--format" || arg == "--root" || arg == "--output" {
            args.next();
        } else if !arg.starts_with('-') {
            return Some(arg);
        }
    }
    None
}

/// The format asked for on a command line that clap rejected.
fn requested_format() -> Format {
    // Lossy: this only looks for `--format`, and must not panic on the
    // non-UTF-8 argument that may be why clap refused the line.
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let mut chosen = std::env::var_os("KLP_FORMAT").map(|v| v.to_string_lossy().into_owned());
    for (i, arg) in args.iter().enumerate() {
        if let Some(value) = arg.strip_prefix("--format=") {
            chosen = Some(value.to_string());
        } else if arg == "--format" {
            chosen = args.get(i + 1).cloned();
        }
    }
    match chosen.as_deref() {
        Some("text") => Format::Text,
        Some("prometheus") => Format::Prometheus,
        Some("nagios") => Format::Nagios,
        _ => Format::Json,
    }
}

/// Writes the document; a closed pipe ends quietly, other write failures
/// (a full disk) are reported on stderr with exit status 1, or 2 for
/// `check`, whose answer then could not be given.
fn finish(body: &str, code: u8, is_check: bool) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(body.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::from(code),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe && !is_check => ExitCode::from(code),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "klp: error: cannot write output: {e}");
            ExitCode::from(if is_check { EXIT_USAGE } else { EXIT_FAILURE })
        }
    }
}
