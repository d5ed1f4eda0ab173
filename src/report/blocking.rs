use super::{SchemaVersion, State, Transition, Warning};
use schemars::JsonSchema;
use serde::Serialize;

/// `klp blocking`: the threads that keep the transition from finishing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BlockingReport {
    pub(crate) schema_version: SchemaVersion,
    pub(crate) state: State,
    pub(crate) supported: bool,
    pub(crate) transition: Option<Transition>,
    /// The `-v` count the report was made with (0, 1 or 2).
    pub(crate) verbosity: u8,
    /// False when some threads' `patch_state` could not be read (not root,
    /// `hidepid`): then `threads` may miss blockers, and an empty list does
    /// NOT mean that nothing blocks.
    pub complete: bool,
    /// What the thread scan found (nothing scanned when nothing is in transition).
    #[serde(flatten)]
    pub(crate) scan: ThreadScan,
    pub(crate) warnings: Vec<Warning>,
}

/// The result of one walk over `/proc/*/task/*` (`sys::tasks::scan`).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub(crate) struct ThreadScan {
    /// Threads whose `patch_state` was read.
    pub(crate) threads_scanned: u64,
    /// Threads whose `patch_state` could not be read.
    pub(crate) threads_unreadable: u64,
    /// Threads that exited while klp looked at them (skipped).
    pub(crate) threads_vanished: u64,
    /// The blocking threads, sorted by pid then tid.
    pub(crate) threads: Vec<BlockingThread>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct BlockingThread {
    /// Thread group id (the process).
    pub(crate) pid: i32,
    /// Thread id.
    pub(crate) tid: i32,
    /// Task name (`comm`) as the kernel shows it (short, often truncated).
    pub(crate) comm: Option<String>,
    /// True for kernel threads (PF_KTHREAD), which have no command line.
    pub(crate) kernel_thread: Option<bool>,
    /// Scheduler state letter (`R`, `S`, `D`, ...); `D` is not woken by the
    /// kernel's fake signals and so blocks for as long as it sleeps.
    pub(crate) state: Option<String>,
    /// The thread's `patch_state` (0 unpatched, 1 patched).
    pub(crate) patch_state: i8,
    /// Functions of the transitioning patch found on the thread's stack: why
    /// it cannot switch. Null when the stack could not be read, or the kernel
    /// showed none (the thread was running on another CPU).
    pub(crate) culprits: Option<Vec<Culprit>>,
    /// Command line (`-v` and up); null for kernel threads and exited ones.
    #[serde(default, skip_serializing_if = "Verbose::is_absent")]
    pub(crate) cmdline: Verbose<Vec<String>>,
    /// Kernel stack (`-vv`); null when it could not be read or was empty.
    #[serde(default, skip_serializing_if = "Verbose::is_absent")]
    pub(crate) stack: Verbose<Vec<StackFrame>>,
}

/// A value shown only at some verbosity: absent below it, else the value or null.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Verbose<T> {
    #[default]
    Absent,
    Known(Option<T>),
}

impl<T> Verbose<T> {
    pub(crate) fn is_absent(&self) -> bool {
        matches!(self, Verbose::Absent)
    }
    pub(crate) fn value(&self) -> Option<&T> {
        match self {
            Verbose::Known(Some(v)) => Some(v),
            _ => None,
        }
    }
}

impl<T: Serialize> Serialize for Verbose<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Verbose::Absent | Verbose::Known(None) => s.serialize_none(),
            Verbose::Known(Some(v)) => v.serialize(s),
        }
    }
}

impl<T: JsonSchema> JsonSchema for Verbose<T> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Nullable_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Option<T>>::json_schema(generator)
    }
}

/// A patched function on a blocking thread's stack.
/// A patched function on a blocking thread's stack.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Culprit {
    /// The patched object (`vmlinux` or a module).
    pub object: String,
    /// The patched function found on the stack.
    pub function: String,
    /// The stack frame as the kernel printed it.
    pub frame: String,
}

/// One line of a thread's kernel stack.
/// One line of a thread's kernel stack.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct StackFrame {
    /// The line as the kernel printed it.
    pub text: String,
    /// Symbol name, null when the line has none.
    pub function: Option<String>,
    /// Module the symbol lives in, null for vmlinux.
    pub module: Option<String>,
}
