use super::{SchemaVersion, State, Transition, TransitionAge, Warning};
use schemars::JsonSchema;
use serde::Serialize;

/// `klp status`: the overall live patching state of the host.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StatusReport {
    pub(crate) schema_version: SchemaVersion,
    /// `ready` or `in_progress`, the classic answer.
    pub state: State,
    /// Whether the kernel supports live patching (`/sys/kernel/livepatch` exists).
    pub(crate) supported: bool,
    /// Running kernel release (`/proc/sys/kernel/osrelease`), null if unreadable.
    pub(crate) kernel_release: Option<String>,
    /// Number of loaded live patches.
    pub(crate) patches_loaded: u32,
    /// Number of loaded live patches that are enabled.
    pub(crate) patches_enabled: u32,
    /// The patch in transition, null when ready.
    pub(crate) transition: Option<StatusTransition>,
    /// Kernel taint flag K (bit 15): a live patch has been loaded since boot.
    /// Null when `/proc/sys/kernel/tainted` could not be read.
    pub(crate) livepatch_tainted: Option<bool>,
    /// The whole taint mask, null when unreadable.
    pub(crate) taint_mask: Option<u64>,
    pub(crate) warnings: Vec<Warning>,
}

/// `klp check`: the status report, answered by exit code (0 ready,
/// 1 in progress, 2 could not determine), with the wait's outcome.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckReport {
    #[serde(flatten)]
    pub status: StatusReport,
    /// Present when `--wait` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitOutcome>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WaitOutcome {
    pub(crate) timeout_seconds: f64,
    pub(crate) interval_seconds: f64,
    /// How long klp waited.
    pub(crate) waited_seconds: f64,
    /// True when the timeout passed with the transition still in progress.
    pub(crate) timed_out: bool,
    /// How many times the state was read.
    pub(crate) polls: u64,
    /// True when SIGINT or SIGTERM ended the wait; the state is the last
    /// one read, and klp exits 128 + the signal number (130, 143).
    pub(crate) interrupted: bool,
    /// The signal that ended the wait, when `interrupted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

/// The transition in progress and, from the kernel log, since when.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub(crate) struct StatusTransition {
    #[serde(flatten)]
    pub(crate) transition: Transition,
    #[serde(flatten)]
    pub(crate) age: TransitionAge,
}
