use super::{Direction, Ownership, SchemaVersion, State, UpdateState, Warning};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// `klp assess`: is this host OK, and must it reboot? A verdict over the
/// facts klp reads itself, with every finding that moved it.
///
/// Exit status (monitoring-plugin convention): 0 `ok`, 1 `warning`,
/// 2 `critical`, 3 `unknown` (usage errors and failures included).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AssessReport {
    pub(crate) schema_version: SchemaVersion,
    /// The worst severity among the findings: `critical` over `unknown` over
    /// `warning` over `ok` (`info` findings leave it `ok`).
    pub(crate) verdict: Verdict,
    /// True when some finding requires a reboot (see `reboot_reasons`); null
    /// when none does but klp could not read a fact that might (see the
    /// findings with severity `unknown`); false otherwise.
    pub(crate) reboot_required: Option<bool>,
    /// The codes of the findings that require a reboot, each once, in finding order.
    pub(crate) reboot_reasons: Vec<FindingCode>,
    /// What klp found, most severe first.
    pub(crate) findings: Vec<Finding>,
    /// The transition in progress, null when none is.
    pub(crate) transition: Option<AssessTransition>,
    /// The thresholds the verdict was made with.
    pub(crate) thresholds: Thresholds,
    /// The CVEs asked for with `--cve` (upper case), and their status.
    pub(crate) cves: Vec<CveAssessment>,
    /// The facts the verdict rests on.
    pub(crate) facts: Facts,
    pub(crate) warnings: Vec<Warning>,
}

impl AssessReport {
    /// The monitoring-plugin exit status of the verdict: 0 OK, 1 WARNING,
    /// 2 CRITICAL, 3 UNKNOWN.
    pub fn exit_code(&self) -> u8 {
        self.verdict.exit_code()
    }
}

/// The answer, as a monitoring plugin gives it.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    Ok,
    Warning,
    Unknown,
    Critical,
}

impl Verdict {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Unknown => "unknown",
            Verdict::Critical => "critical",
        }
    }

    /// The monitoring-plugin exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Verdict::Ok => 0,
            Verdict::Warning => 1,
            Verdict::Critical => 2,
            Verdict::Unknown => 3,
        }
    }
}

/// How much a finding weighs: `info` leaves the verdict `ok`.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Severity {
    Info,
    Warning,
    Unknown,
    Critical,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Unknown => "unknown",
            Severity::Critical => "critical",
        }
    }
}

/// Stable finding codes; the rules that raise them are in the README and the
/// man page (`klp assess --help`).
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
#[schemars(transform = crate::error::consts_to_enum)]
pub(crate) enum FindingCode {
    /// The kernel has no live patching (`/sys/kernel/livepatch` is missing).
    Unsupported,
    /// A transition is in progress, younger than `--stuck-after`.
    TransitionInProgress,
    /// A transition has run longer than `--stuck-after`.
    TransitionStuck,
    /// A transition is in progress and the kernel log does not say since when.
    TransitionAgeUnknown,
    /// The kernel log says a transition was forced since boot.
    TransitionForced,
    /// A loaded live patch is disabled (and not in transition).
    PatchDisabled,
    /// Some threads' states could not be read: the blockers listed may be incomplete.
    BlockingIncomplete,
    /// Package facts (rpm, zypper or dnf) could not be read.
    PackageDataUnknown,
    /// A loaded live patch belongs to no installed package.
    PatchNotFromPackage,
    /// The live patch package of the running kernel is installed, but no patch of it is loaded.
    PackageNotLoaded,
    /// An installed live patch package version is newer than the loaded patch.
    LoadedOlderThanInstalled,
    /// A loaded patch's support has ended.
    SupportExpired,
    /// A loaded patch's support ends within `--expiry-warning` days.
    SupportExpiring,
    /// A newer version of a live patch package is in the repositories.
    UpdateAvailable,
    /// A CVE asked for with `--cve` is not fixed on the running system.
    CveNotFixed,
    /// Whether a CVE asked for is fixed cannot be told (package data unknown).
    CveStatusUnknown,
    /// The kernel that boots next fixes CVEs that neither the running kernel
    /// nor an applied live patch fixes.
    NewerKernelFixesCves,
    /// A kernel of the running flavour newer than the running one is installed.
    NewerKernelInstalled,
    /// The kernel log could not be read (not root with `dmesg_restrict`).
    KernelLogUnreadable,
    /// The kernel log no longer reaches back to boot: an earlier forced
    /// transition would not be seen.
    KernelLogIncomplete,
}

impl FindingCode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FindingCode::Unsupported => "unsupported",
            FindingCode::TransitionInProgress => "transition_in_progress",
            FindingCode::TransitionStuck => "transition_stuck",
            FindingCode::TransitionAgeUnknown => "transition_age_unknown",
            FindingCode::TransitionForced => "transition_forced",
            FindingCode::PatchDisabled => "patch_disabled",
            FindingCode::BlockingIncomplete => "blocking_incomplete",
            FindingCode::PackageDataUnknown => "package_data_unknown",
            FindingCode::PatchNotFromPackage => "patch_not_from_package",
            FindingCode::PackageNotLoaded => "package_not_loaded",
            FindingCode::LoadedOlderThanInstalled => "loaded_older_than_installed",
            FindingCode::SupportExpired => "support_expired",
            FindingCode::SupportExpiring => "support_expiring",
            FindingCode::UpdateAvailable => "update_available",
            FindingCode::CveNotFixed => "cve_not_fixed",
            FindingCode::CveStatusUnknown => "cve_status_unknown",
            FindingCode::NewerKernelFixesCves => "newer_kernel_fixes_cves",
            FindingCode::NewerKernelInstalled => "newer_kernel_installed",
            FindingCode::KernelLogUnreadable => "kernel_log_unreadable",
            FindingCode::KernelLogIncomplete => "kernel_log_incomplete",
        }
    }
}

/// One thing klp found.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub(crate) struct Finding {
    pub(crate) code: FindingCode,
    pub(crate) severity: Severity,
    /// For people; may be reworded.
    pub(crate) message: String,
    /// What the finding is about: a patch name, a package, a CVE id; null
    /// when it is about the whole host.
    pub(crate) subject: Option<String>,
    /// The facts behind the finding, by name (numbers, strings, lists).
    pub(crate) evidence: BTreeMap<String, serde_json::Value>,
}

/// The transition in progress, with its age from the kernel log.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub(crate) struct AssessTransition {
    pub(crate) patch: String,
    pub(crate) direction: Direction,
    pub(crate) target_state: u8,
    #[serde(flatten)]
    pub(crate) age: TransitionAge,
    /// Threads blocking it (from the blocking scan); null when not scanned.
    pub(crate) blocking_threads: Option<u64>,
    /// False when some threads' states could not be read.
    pub(crate) blocking_complete: Option<bool>,
}

/// How long the transition has been running, from the kernel log.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub(crate) struct TransitionAge {
    /// Seconds since the kernel logged `'<patch>': starting ... transition`
    /// (the latest such record), by `/proc/uptime`; null when that cannot be
    /// told, never a guess (see `started_unknown_reason`).
    pub(crate) started_seconds_ago: Option<f64>,
    /// Why `started_seconds_ago` is null; null when it is known.
    pub(crate) started_unknown_reason: Option<AgeUnknownReason>,
    /// The kernel logged `signaling remaining tasks` since the start; null
    /// when the log could not be read.
    pub(crate) signaled: Option<bool>,
    /// The kernel logged the transition's reversal since the start.
    pub(crate) reversed: Option<bool>,
}

/// Why a transition's age is not known.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[schemars(transform = crate::error::consts_to_enum)]
pub(crate) enum AgeUnknownReason {
    /// `dev/kmsg` could not be read (not root with `kernel.dmesg_restrict=1`, or absent).
    LogUnreadable,
    /// The log holds no start record of this patch (rotated out of the ring buffer).
    NoStartRecord,
    /// `proc/uptime` could not be read.
    UptimeUnreadable,
}

impl AgeUnknownReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AgeUnknownReason::LogUnreadable => "log_unreadable",
            AgeUnknownReason::NoStartRecord => "no_start_record",
            AgeUnknownReason::UptimeUnreadable => "uptime_unreadable",
        }
    }
}

/// The thresholds used.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub(crate) struct Thresholds {
    /// A transition older than this is stuck (critical).
    pub(crate) stuck_after_seconds: f64,
    /// Support ending within this many days is a warning.
    pub(crate) expiry_warning_days: u32,
    /// Support ending within this many days is critical.
    pub(crate) expiry_critical_days: u32,
}

/// One CVE asked for with `--cve`.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub(crate) struct CveAssessment {
    pub(crate) id: String,
    pub(crate) status: CveState,
    pub(crate) fixed_by: Vec<FixedBy>,
    /// The next-boot kernel package (`name-version-release.arch`) when it names
    /// the CVE and nothing running fixes it; null otherwise.
    pub(crate) fixed_after_reboot: Option<String>,
}

/// Whether a CVE is fixed on the running system.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[schemars(transform = crate::error::consts_to_enum)]
pub(crate) enum CveState {
    /// The running kernel's changelog, or an enabled live patch whose
    /// transition has completed, names it.
    Fixed,
    /// Nothing running names it, and every source was read.
    NotFixed,
    /// Only a live patch still in transition names it.
    Pending,
    /// Not named by anything read, and some source could not be read.
    Unknown,
}

impl CveState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CveState::Fixed => "fixed",
            CveState::NotFixed => "not_fixed",
            CveState::Pending => "pending",
            CveState::Unknown => "unknown",
        }
    }
}

/// What fixes a CVE.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct FixedBy {
    pub(crate) kind: FixKind,
    /// `name-version-release.arch` of the package whose changelog names it.
    pub(crate) package: String,
    /// The live patch's sysfs name (`kind` `live_patch`); null for the kernel.
    pub(crate) patch: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FixKind {
    RunningKernel,
    LivePatch,
}

impl FixKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FixKind::RunningKernel => "running_kernel",
            FixKind::LivePatch => "live_patch",
        }
    }
}

/// The facts the verdict rests on.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub(crate) struct Facts {
    /// Running kernel release, null if unreadable.
    pub(crate) kernel_release: Option<String>,
    pub(crate) supported: bool,
    pub(crate) state: State,
    /// The installed package of the running kernel; null when unknown (see findings).
    pub(crate) running_kernel: Option<KernelPackage>,
    /// The kernel that boots next; null when unknown.
    pub(crate) next_boot_kernel: Option<KernelPackage>,
    /// How the next-boot kernel was found.
    pub(crate) next_boot_source: NextBootSource,
    /// Installed kernels of the running flavour, highest version first.
    pub(crate) installed_kernels: Vec<KernelPackage>,
    /// The loaded live patches, in `klp patches` order.
    pub(crate) patches: Vec<PatchFacts>,
    /// The live patch package of the running kernel as rpm has it installed
    /// (`name-version-release.arch`), null when none is or it is unknown.
    pub(crate) installed_livepatch: Option<String>,
    pub(crate) kernel_log: KernelLogFacts,
    /// The package backend that answered.
    pub(crate) backend: super::PackageBackend,
}

/// An installed kernel package.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct KernelPackage {
    /// `name-version-release.arch` (with `epoch:` when set).
    pub(crate) nevra: String,
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) release: String,
    /// The kernel release it installs (`uname -r` form), when known.
    pub(crate) kernel_release: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[schemars(transform = crate::error::consts_to_enum)]
pub(crate) enum NextBootSource {
    /// The target of `/boot/vmlinuz` (kept by SUSE's kernel scriptlets).
    BootSymlink,
    /// The highest installed version of the running flavour.
    HighestInstalled,
    /// Neither could be read.
    Unknown,
}

/// One loaded live patch, as far as the verdict needs it.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub(crate) struct PatchFacts {
    pub(crate) name: String,
    pub(crate) enabled: bool,
    pub(crate) transition: bool,
    pub(crate) owner: Ownership,
    /// `name-version-release.arch` of the package, null without one.
    pub(crate) package: Option<String>,
    /// The package version (SUSE: 1, 2, ...).
    pub(crate) version: Option<String>,
    /// End of support `YYYY-MM-DD`, null when unknown.
    pub(crate) support_end: Option<String>,
    /// `lifecycle`, `estimate` or `unknown` (see `klp patches -vv`).
    pub(crate) support_source: crate::report::ExpirationSource,
    /// Days from today (UTC) to `support_end`; negative once it has passed.
    pub(crate) days_left: Option<i64>,
    /// Newer version in the repositories: `available`, `up_to_date`, `unknown`; null without a package.
    pub(crate) update: Option<UpdateState>,
    /// Newest edition in the repositories, if any.
    pub(crate) update_newest: Option<String>,
    /// CVEs its changelog names.
    pub(crate) cves: Vec<String>,
}

/// What the kernel log (`dev/kmsg`) said.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub(crate) struct KernelLogFacts {
    /// Whether `dev/kmsg` could be read.
    pub(crate) readable: bool,
    /// The log still holds its first record since boot (sequence number 0),
    /// so the absence of a marker is meaningful.
    pub(crate) complete: Option<bool>,
    /// Records read.
    pub(crate) records: u64,
    /// Seconds since boot, from `proc/uptime`; null if unreadable.
    pub(crate) uptime_seconds: Option<f64>,
    /// Forced transitions the log records (`forcing remaining tasks ...`),
    /// oldest first: seconds since boot of each, and the patch that was in
    /// transition then, when the log names it.
    pub(crate) forced: Vec<ForcedTransition>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub(crate) struct ForcedTransition {
    /// The patch whose transition was forced, from the latest start record before it.
    pub(crate) patch: Option<String>,
    /// Seconds since boot of the force message.
    pub(crate) at_seconds: f64,
    /// The kernel's message, as logged.
    pub(crate) message: String,
}
