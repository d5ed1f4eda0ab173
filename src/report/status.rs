use super::{SchemaVersion, State, Transition, TransitionAge, Warning};
use schemars::JsonSchema;
use serde::Serialize;

/// `klp status`: the overall live patching state of the host.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StatusReport {
    pub schema_version: SchemaVersion,
    /// `ready` or `in_progress`, the classic answer.
    pub state: State,
    /// Whether the kernel supports live patching (`/sys/kernel/livepatch` exists).
    pub supported: bool,
    /// Running kernel release (`/proc/sys/kernel/osrelease`), null if unreadable.
    pub kernel_release: Option<String>,
    /// Number of loaded live patches.
    pub patches_loaded: u32,
    /// Number of loaded live patches that are enabled.
    pub patches_enabled: u32,
    /// The patch in transition, null when ready.
    pub transition: Option<StatusTransition>,
    /// Kernel taint flag K (bit 15): a live patch has been loaded since boot.
    /// Null when `/proc/sys/kernel/tainted` could not be read.
    pub livepatch_tainted: Option<bool>,
    /// The whole taint mask, null when unreadable.
    pub taint_mask: Option<u64>,
    pub warnings: Vec<Warning>,
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
    pub timeout_seconds: f64,
    pub interval_seconds: f64,
    /// How long klp waited.
    pub waited_seconds: f64,
    /// True when the timeout passed with the transition still in progress.
    pub timed_out: bool,
    /// How many times the state was read.
    pub polls: u64,
}

/// The transition in progress and, from the kernel log, since when.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct StatusTransition {
    #[serde(flatten)]
    pub transition: Transition,
    #[serde(flatten)]
    pub age: TransitionAge,
}
