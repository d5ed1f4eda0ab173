use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Serialize, Serializer};
use std::borrow::Cow;

/// The document format version; always 1 in this release.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(1)
    }
}

impl JsonSchema for SchemaVersion {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "SchemaVersion".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Version of this document's format.",
            "type": "integer",
            "const": 1
        })
    }
}

/// Something klp could not fully read or tell (an unreadable file, rpm
/// failing, two patches claiming the one transition); the report is still
/// correct for what it says, and says through `complete` (where present)
/// that it is partial.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct Warning {
    pub(crate) code: WarningCode,
    /// For people.
    pub message: String,
    /// An example of a file concerned.
    pub(crate) path: Option<String>,
    /// How many files or tasks this warning stands for.
    pub count: u64,
}

/// Stable warning codes: the warnings' own, and the error codes of failures
/// that did not stop the command (`permission_denied`, `read_failed`, and in
/// `patches -v` the package layer's: `no_rpm_database`, `rpm_failed`,
/// `zypper_failed`, `lock_held`, `tool_missing`).
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[schemars(transform = warning_codes_enum)]
pub(crate) enum WarningCode {
    /// `/proc` is mounted with `hidepid`: other users' threads are invisible.
    Hidepid,
    /// More than one patch claims to be in transition.
    SeveralTransitions,
    /// The running kernel release is unreadable.
    KernelReleaseUnknown,
    /// A transition is in progress and the kernel log does not say since
    /// when (unreadable: not root with `dmesg_restrict`; or rotated out).
    TransitionAgeUnknown,
    /// A blocking thread's stack or command line is longer than klp reads:
    /// what is shown is its beginning.
    Truncated,
    /// Entries under proc whose names are not canonical pids or tids
    /// (`0100`): not tasks the kernel made, ignored.
    IgnoredEntries,
    /// A failure under its error code.
    #[serde(untagged)]
    Error(crate::error::ErrorCode),
}

/// The warning codes' schema: one `enum` of their own codes and every error code.
fn warning_codes_enum(schema: &mut Schema) {
    crate::error::consts_to_enum(schema);
    if let Some(codes) = schema.get_mut("enum").and_then(|v| v.as_array_mut()) {
        codes.extend(crate::error::error_codes());
    }
}

/// Overall live patching state, the classic `klp status` answer.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// No live patch is in transition.
    Ready,
    /// A live patch transition is under way.
    InProgress,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Ready => "ready",
            State::InProgress => "in_progress",
        }
    }
}

/// Where the transition is going.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Direction {
    /// The patch is being applied; tasks move to `patch_state` 1.
    Patching,
    /// The patch is being removed (or a patching transition was reversed);
    /// tasks move to `patch_state` 0.
    Unpatching,
}

/// The one transition the kernel allows at a time.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct Transition {
    /// Name of the patch in transition (its sysfs directory).
    pub(crate) patch: String,
    pub(crate) direction: Direction,
    /// The `patch_state` every task must reach: 1 patching, 0 unpatching.
    pub(crate) target_state: u8,
}

/// Which package backend answered the package questions, and why.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct PackageBackend {
    /// `suse` (rpm, zypper, `kernel-livepatch-*`), `redhat` (rpm, dnf,
    /// `kpatch-patch-*`), or `unknown`: the family is not one klp knows, so
    /// every package field is unknown (see the warnings).
    pub(crate) name: BackendName,
    /// `os_release`: from `ID`/`ID_LIKE` of the system's os-release; `option`: `--backend`.
    pub(crate) chosen_by: BackendChosenBy,
    /// `ID` of the system's os-release; null when there is none.
    pub(crate) os_release_id: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BackendName {
    Suse,
    Redhat,
    Unknown,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BackendChosenBy {
    OsRelease,
    Option,
}
