//! The command line, as clap derive types. Options are global: they work
//! before and after the command, as with the classic `klp -v patches`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub(crate) const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success; for `check`: no transition in progress (ready); for `cve`: every CVE fixed
  1  runtime error (the classic tool's \"error\"); for `check`: a transition is in progress;
     for `cve`: some CVE not fixed or pending
  2  usage error (also any out-of-range argument: `invalid_argument`); for `check` and `cve`:
     the state could not be determined, or its answer could not be written
  130, 143  `check --wait` interrupted by SIGINT or SIGTERM (the document says
     `interrupted: true` and holds the last state read)
`assess` follows the monitoring-plugin convention instead (Nagios, Icinga):
  0 ok, 1 warning, 2 critical, 3 unknown (usage errors and failures included).
In JSON mode (the default) stdout always holds exactly one JSON document, the report
or an error document with a stable `error.code`; see `klp schema COMMAND`.";

// clap turns doc comments into help text: these are documented by their
// help attributes and by the variants that use them.
#[allow(missing_docs)]
#[derive(Debug, Parser)]
#[command(
    name = "klp",
    version,
    about = "Report the kernel live patching state of this host, as JSON or classic text",
    long_about = "klp reports the state of kernel live patching: whether a patch transition is in \
progress, which live patches are loaded and from which packages, and which threads hold a \
transition up. It reimplements SUSE's klp(8) as a JSON-first interface: every command prints one \
JSON document that validates against a published schema, and `--format text` reproduces the \
classic tool's output for existing scripts.",
    after_help = EXIT_STATUS_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// More detail; may be given twice (-vv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,

    /// Assume "yes" to confirmations (downgrade).
    #[arg(short = 'n', long = "non-interactive", global = true)]
    pub(crate) non_interactive: bool,

    /// Output format: one JSON document, the classic text, or (assess only) the
    /// Prometheus text exposition or monitoring-plugin (Nagios, Icinga) output.
    #[arg(long, value_enum, default_value_t = Format::Json, env = "KLP_FORMAT", global = true)]
    pub format: Format,

    /// Write the document to FILE instead of stdout, atomically (a temporary
    /// file in the same directory, renamed over FILE), mode 0644.
    #[arg(long, value_name = "FILE", global = true)]
    pub output: Option<PathBuf>,

    /// Inspect the system mounted at DIR (its sys/kernel/livepatch and proc).
    #[arg(long, value_name = "DIR", default_value = "/", env = "KLP_ROOT", global = true)]
    pub(crate) root: PathBuf,

    /// Package backend: from the system's os-release (`auto`), or forced.
    #[arg(long, value_enum, value_name = "BACKEND", default_value_t = crate::pkg::backend::Choice::Auto, env = "KLP_BACKEND", global = true)]
    pub backend: crate::pkg::backend::Choice,

    #[command(subcommand)]
    pub command: Command,
}

// clap turns doc comments into help text: these are documented by their
// help attributes and by the variants that use them.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Text,
    /// The Prometheus text exposition format (node_exporter's textfile collector).
    Prometheus,
    /// Monitoring-plugin output: a status line with perfdata (Nagios, Icinga, checkmk).
    Nagios,
}

impl Format {
    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Text => "text",
            Format::Prometheus => "prometheus",
            Format::Nagios => "nagios",
        }
    }

    /// Formats made for monitoring engines, rendered from `assess` only.
    pub fn is_monitoring(self) -> bool {
        matches!(self, Format::Prometheus | Format::Nagios)
    }
}

/// The commands: those that look at a system and hand back a report, and
/// those that print generated text (schemas, man page, completions).
#[derive(Debug, Subcommand)]
pub enum Command {
    #[allow(missing_docs)] // flattened: its commands are listed one by one
    #[command(flatten)]
    Report(ReportCommand),

    /// Print the JSON Schema of a command's report, or of the error document.
    Schema {
        #[allow(missing_docs)] // help text: the variant's
        #[arg(value_enum)]
        document: SchemaDocument,
    },

    /// Print the man page (roff).
    #[command(hide = true)]
    Manpage,

    /// Print a shell completion script.
    #[command(hide = true)]
    Completions {
        #[allow(missing_docs)] // help text: the variant's
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The commands that inspect the system under `--root` and build a report.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Overall state: `ready` or `in_progress`.
    #[command(long_about = "Show the overall live patching state: `ready` when no live patch is in \
transition, `in_progress` while one is. The JSON report adds whether live patching is supported, \
the patch in transition and its direction, how many patches are loaded, and the livepatch taint.")]
    Status,

    /// Like `status`, answered by the exit code (0 ready, 1 in progress, 2 unknown).
    #[command(long_about = "Answer the state with the exit status, for scripts: 0 ready, 1 a \
transition is in progress, 2 the state could not be determined. Text mode prints nothing. With \
--wait, block until the transition finishes or the timeout passes (exit 1 on timeout).")]
    Check(CheckArgs),

    /// Loaded live patches; -v adds package and fix details, -vv expiry and updates.
    #[command(long_about = "List the loaded live patch modules. With -v, show per patch whether it \
is active, the RPM package that shipped it, the CVEs it fixes and the other bug fixes and \
enhancements (from the package changelog), and on kernels with stack_order (6.14+) which stacked \
patch's version of each function runs; -vv adds the expiration of the patch's support and \
whether an update is available.")]
    Patches(PatchesArgs),

    /// Threads blocking the transition; -v command lines, -vv stacks.
    #[command(long_about = "List the threads that keep the current transition from finishing, by \
thread id. With -v, show command lines (kernel threads, which have none, show their name in \
brackets); with -vv, their kernel stacks. The JSON report also names, for every blocking thread, \
the patched functions found on its stack. Reading threads' states needs root: when some could not \
be read the report says it is incomplete (JSON `complete: false`; text mode warns on stderr and \
exits 1), and never claims that nothing blocks.")]
    Blocking,

    /// Replace the live patch package with its previous version.
    #[command(long_about = "Replace the live patch package of the running kernel with its previous \
version (or --to VERSION): show the package-manager command, ask for confirmation on the terminal \
(-n assumes yes), run it, and verify the installed version afterwards.")]
    Downgrade(DowngradeArgs),

    /// Is this host OK, must it reboot? A verdict with findings (exit 0 ok, 1 warning, 2 critical, 3 unknown).
    #[command(long_about = ASSESS_HELP, after_long_help = crate::decide::rules::RULES)]
    Assess(AssessArgs),

    /// Is each CVE fixed on the running system, by the kernel or a live patch?
    #[command(long_about = CVE_HELP)]
    Cve(CveArgs),
}

impl Command {
    /// The command's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Report(command) => command.name(),
            Command::Schema { .. } => "schema",
            Command::Manpage => "manpage",
            Command::Completions { .. } => "completions",
        }
    }
}

impl ReportCommand {
    /// The command's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            ReportCommand::Status => "status",
            ReportCommand::Check(_) => "check",
            ReportCommand::Patches(_) => "patches",
            ReportCommand::Blocking => "blocking",
            ReportCommand::Assess(_) => "assess",
            ReportCommand::Cve(_) => "cve",
            ReportCommand::Downgrade(_) => "downgrade",
        }
    }
}

/// The documents klp prints, each with its schema under `schemas/<name>.json`:
/// one per report command, and the error document. The one list of them.
// clap turns doc comments into help text: these are documented by their
// help attributes and by the variants that use them.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaDocument {
    Status,
    Check,
    Patches,
    Blocking,
    Downgrade,
    Assess,
    Cve,
    Error,
}

impl SchemaDocument {
    /// The name on the command line, of the command and of the schema file.
    pub fn name(self) -> String {
        self.to_possible_value().expect("no document is skipped").get_name().to_string()
    }
}

// clap turns doc comments into help text: these are documented by their
// help attributes and by the variants that use them.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Wait until no transition is in progress, or the timeout passes.
    #[arg(long)]
    pub(crate) wait: bool,

    /// Longest wait, in seconds (with --wait): 0 to 31536000 (one year).
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0, requires = "wait",
          allow_negative_numbers = true, value_parser = parse_timeout)]
    pub(crate) timeout: f64,

    /// Time between two reads of the state, in seconds (with --wait): 0.01 to 3600.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, requires = "wait",
          allow_negative_numbers = true, value_parser = parse_interval)]
    pub(crate) interval: f64,
}

// clap turns doc comments into help text: these are documented by their
// help attributes and by the variants that use them.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct PatchesArgs {
    /// With -vv: refresh the repositories before looking for updates.
    #[arg(long)]
    pub(crate) refresh: bool,
}

// clap turns doc comments into help text: these are documented by their
// help attributes and by the variants that use them.
#[allow(missing_docs)]
#[derive(Debug, Args)]
pub struct DowngradeArgs {
    /// Go to this package version (e.g. `3`, `3-1`, `1:3`) instead of the previous one.
    #[arg(long, value_name = "VERSION", allow_hyphen_values = true, value_parser = parse_version)]
    pub(crate) to: Option<String>,

    /// Show the plan (from, to, the exact command) and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

const ASSESS_HELP: &str = "Decide whether this host is OK and whether it must reboot, from facts klp reads \
itself in one process: the live patching status, the loaded patches with their packages, support ends \
and updates, the blocking threads while a transition runs, the kernel log (a transition's age, forced \
transitions) and the installed kernels with the CVEs their changelogs name. The report gives `verdict` \
(ok, warning, critical, unknown), `reboot_required` (true, false, or null when klp could not tell) with \
`reboot_reasons`, and `findings`, each with a stable code, a severity, a subject and its evidence. What \
klp could not read is never counted as fine: it makes the verdict at best `unknown`. The exit status \
follows the monitoring-plugin convention, so `klp assess` works directly as a Nagios or Icinga check: \
0 ok, 1 warning, 2 critical, 3 unknown (usage errors and failures included), unlike klp's other commands.";

const CVE_HELP: &str = "For each CVE id (CVE-YYYY-NNNN, any case): `fixed` when the running kernel's \
changelog or an applied live patch (enabled, transition completed) names it, `pending` when only a live \
patch still in transition does, `unknown` when some source could not be read, else `not_fixed`; \
`fixed_by` lists the running kernel or live patches, `fixed_after_reboot` the next-boot kernel when only \
it names the CVE. Text: one line per CVE, `ID STATUS [KIND NAME]...` (e.g. `CVE-2024-50115 fixed \
live_patch livepatch_6_150600_2_2`; `after_reboot PACKAGE` when the next-boot kernel fixes it). Exit \
status as `check`: 0 every CVE fixed, 1 some not fixed or pending, 2 usage error or some unknown.";

/// The options of `klp assess`.
#[derive(Debug, Args)]
pub struct AssessArgs {
    /// A CVE that must be fixed (critical when not); may be repeated.
    #[arg(long = "cve", value_name = "ID", value_parser = parse_cve)]
    pub cves: Vec<String>,

    /// A transition older than this is stuck (critical).
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0, value_parser = parse_seconds)]
    pub stuck_after: f64,

    /// Support ending within this many days is a warning.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub expiry_warning: u32,

    /// Support ending within this many days is critical.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub expiry_critical: u32,
}

/// The options of `klp cve`.
#[derive(Debug, Args)]
pub struct CveArgs {
    /// CVE ids, e.g. CVE-2024-50115 (case-insensitive).
    #[arg(value_name = "ID", required = true, value_parser = parse_cve)]
    pub cves: Vec<String>,
}

/// `CVE-YYYY-NNNN+`, any case, normalised to upper case.
fn parse_cve(text: &str) -> Result<String, String> {
    crate::pkg::kernels::normalize_cve(text).ok_or_else(|| format!("{text:?} is not a CVE id (CVE-YYYY-NNNN)"))
}

/// `--stuck-after`: seconds, bounded like `check --timeout`.
fn parse_seconds(text: &str) -> Result<f64, String> {
    seconds(text, 0.0, TIMEOUT_MAX)
}

/// Bounds of `check --wait`, in seconds.
pub(crate) const TIMEOUT_MAX: f64 = 365.0 * 24.0 * 3600.0;
pub(crate) const INTERVAL_MIN: f64 = 0.01;
pub(crate) const INTERVAL_MAX: f64 = 3600.0;

/// A number of seconds, finite and within `[min, max]`: checked once, here,
/// so that no later `Duration` conversion can panic and no poll can spin.
fn seconds(text: &str, min: f64, max: f64) -> Result<f64, String> {
    let value: f64 = text.trim().parse().map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !value.is_finite() || value < min || value > max {
        return Err(format!("{text} is out of range: a number of seconds from {min} to {max}"));
    }
    Ok(value)
}

pub(crate) fn parse_timeout(text: &str) -> Result<f64, String> {
    seconds(text, 0.0, TIMEOUT_MAX)
}

pub(crate) fn parse_interval(text: &str) -> Result<f64, String> {
    seconds(text, INTERVAL_MIN, INTERVAL_MAX)
}

/// `[EPOCH:]VERSION[-RELEASE]`: an epoch must fit rpm's (32 bits) rather
/// than be dropped, and the version must be there.
pub(crate) fn parse_version(text: &str) -> Result<String, String> {
    let rest = match text.split_once(':') {
        Some((epoch, rest)) => {
            if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) || epoch.parse::<u32>().is_err() {
                return Err(format!("epoch {epoch:?} of {text:?} is not a number from 0 to {}", u32::MAX));
            }
            rest
        }
        None => text,
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || "._+~^-".contains(c) || c == '_';
    if rest.is_empty() || rest.starts_with('-') || !rest.chars().all(valid) {
        return Err(format!("{text:?} is not a package version ([EPOCH:]VERSION[-RELEASE])"));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_finite_and_bounded() {
        assert_eq!(parse_timeout("0"), Ok(0.0));
        assert_eq!(parse_timeout("31536000"), Ok(TIMEOUT_MAX));
        assert_eq!(parse_interval("0.01"), Ok(0.01));
        for bad in ["-1", "1e19", "inf", "NaN", "31536001", "", "1s", "-0.5"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
        for bad in ["0", "1e-10", "0.009", "1e20", "-1", "nan", "3601"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_keep_their_epoch_or_fail() {
        for ok in ["3", "3-1", "1:3", "4294967295:3-1.2", "10_2"] {
            assert_eq!(parse_version(ok).as_deref(), Ok(ok));
        }
        for bad in ["99999999999999999999:3", "4294967296:3", ":3", "x:3", "", "-1", "3 4", "1:", "a/b"] {
            assert!(parse_version(bad).is_err(), "{bad}");
        }
    }
}
