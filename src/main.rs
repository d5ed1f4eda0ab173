//! Entry point: parse, run, render, exit.
//!
//! Stdout gets exactly one document: the report (JSON or text) or, in JSON
//! mode, the error document. Human-readable errors and warnings go to stderr.
//! A closed stdout (`klp ... | head`) ends the program quietly.

use clap::Parser;
use klp::cli::{Cli, Command, Format, ReportCommand};
use klp::error::{Error, EXIT_FAILURE, EXIT_OK, EXIT_UNKNOWN, EXIT_USAGE};
use klp::report::{ErrorDocument, Report, State, Warning};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(err),
    };
    // Schemas, man page and completions have one form only and look at no system.
    match &cli.command {
        Command::Report(command) => run_report(&cli, command),
        Command::Schema { document } => {
            let mut json =
                serde_json::to_string_pretty(&klp::report::schema_of(*document).to_value()).expect("serializable");
            json.push('\n');
            finish(&json, EXIT_OK)
        }
        Command::Manpage => finish(&klp::manpage::render(), EXIT_OK),
        Command::Completions { shell } => finish(&klp::manpage::completions(*shell), EXIT_OK),
    }
}

fn run_report(cli: &Cli, command: &ReportCommand) -> ExitCode {
    match klp::cmd::run(cli, command) {
        Ok(report) => {
            let body = match cli.format {
                Format::Json => json_document(&report),
                Format::Text => {
                    print_warnings(report.warnings());
                    klp::render::render(&report)
                }
            };
            finish(&body, exit_code(&report, cli.format))
        }
        Err(err) => {
            let code = match command {
                // For `check` and `cve`, every failure means "could not determine".
                ReportCommand::Check(_) | ReportCommand::Cve(_) => EXIT_USAGE,
                // `assess` is a monitoring plugin: failures are UNKNOWN.
                ReportCommand::Assess(_) => EXIT_UNKNOWN,
                _ => err.exit_code(),
            };
            report_error(&err, cli.format, code)
        }
    }
}

fn exit_code(report: &Report, format: Format) -> u8 {
    match report {
        Report::Check(check) if check.status.state == State::InProgress => EXIT_FAILURE,
        // Text has no field to say "incomplete": an empty list must not pass
        // for "nothing blocks", so the exit status says it.
        Report::Blocking(blocking) if !blocking.complete && format == Format::Text => EXIT_FAILURE,
        Report::Assess(assess) => assess.verdict.exit_code(),
        Report::Cve(cve) => cve_exit_code(cve),
        _ => EXIT_OK,
    }
}

/// 1 when some CVE is known not to be fixed; else 2 when some is unknown.
fn cve_exit_code(report: &klp::report::CveReport) -> u8 {
    use klp::report::CveState;
    if report.cves.iter().any(|c| matches!(c.status, CveState::NotFixed | CveState::Pending)) {
        EXIT_FAILURE
    } else if report.cves.iter().any(|c| c.status == CveState::Unknown) {
        EXIT_USAGE
    } else {
        EXIT_OK
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

fn report_error(err: &Error, format: Format, code: u8) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "klp: error: {err}");
    match format {
        Format::Json => {
            let mut json = serde_json::to_string(&ErrorDocument::new(err, code)).expect("serializable");
            json.push('\n');
            finish(&json, code)
        }
        Format::Text => ExitCode::from(code),
    }
}

/// Clap's errors: help and version are successes; the rest are usage errors
/// (exit 2), which in JSON mode still produce an error document on stdout.
fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(err.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        return finish(&err.render().to_string(), EXIT_OK);
    }
    let rendered = err.render().to_string();
    let _ = write!(std::io::stderr(), "{rendered}");
    // `assess` is a monitoring plugin even when its arguments are wrong.
    let code = if requested_command().as_deref() == Some("assess") { EXIT_UNKNOWN } else { EXIT_USAGE };
    if requested_format() == Format::Text {
        return ExitCode::from(code);
    }
    let first_line = rendered.lines().next().unwrap_or("usage error");
    let message = first_line.strip_prefix("error: ").unwrap_or(first_line).to_string();
    let doc = ErrorDocument::new(&Error::Usage { message }, code);
    let mut json = serde_json::to_string(&doc).expect("serializable");
    json.push('\n');
    finish(&json, code)
}

/// The command of a command line that clap rejected: the first argument
/// that is not an option or an option's value.
fn requested_command() -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--format" || arg == "--root" {
            args.next();
        } else if !arg.starts_with('-') {
            return Some(arg);
        }
    }
    None
}

/// The format asked for on a command line that clap rejected.
fn requested_format() -> Format {
    let args: Vec<String> = std::env::args().collect();
    let mut chosen = std::env::var("KLP_FORMAT").ok();
    for (i, arg) in args.iter().enumerate() {
        if let Some(value) = arg.strip_prefix("--format=") {
            chosen = Some(value.to_string());
        } else if arg == "--format" {
            chosen = args.get(i + 1).cloned();
        }
    }
    match chosen.as_deref() {
        Some("text") => Format::Text,
        _ => Format::Json,
    }
}

/// Writes the document; a closed pipe ends quietly, other write failures
/// (a full disk) are reported on stderr with exit status 1.
fn finish(body: &str, code: u8) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(body.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::from(code),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(code),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "klp: error: cannot write output: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
