use super::{PackageBackend, SchemaVersion, Warning};
use schemars::JsonSchema;
use serde::Serialize;

/// `klp patches`: the loaded live patches.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PatchesReport {
    pub(crate) schema_version: SchemaVersion,
    pub(crate) supported: bool,
    /// The `-v` count the report was made with (0, 1 or 2).
    pub(crate) verbosity: u8,
    /// How `patches` is ordered: by the kernel's `stack_order` when every
    /// patch has one, else by name (numbers compared as numbers).
    pub(crate) order: PatchOrder,
    pub(crate) patches: Vec<PatchInfo>,
    /// The package backend that answered (`-v` and up); absent below `-v`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) backend: Option<PackageBackend>,
    pub(crate) warnings: Vec<Warning>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PatchOrder {
    StackOrder,
    Name,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct PatchInfo {
    /// sysfs directory name (the module name, dashes as underscores).
    pub(crate) name: String,
    /// `enabled`; the classic tool calls it "active".
    pub(crate) enabled: bool,
    /// This patch is the one in transition.
    pub(crate) transition: bool,
    /// Atomic-replace (cumulative) patch; absent on kernels before 6.11.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) replace: Option<bool>,
    /// 1-based position in the patch stack; absent on kernels before 6.14.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stack_order: Option<u32>,
    pub(crate) objects: Vec<PatchedObject>,
    /// Whose version of each function this patch changes runs now, from the
    /// stack order (the kernel runs the newest, the highest `stack_order`);
    /// absent when the kernel has no `stack_order` (before 6.14).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) effect: Option<Vec<FunctionEffect>>,
    /// Package facts (`-v` and up); absent below `-v`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) package: Option<PackageInfo>,
}

/// One function of a patch and whether this patch's version of it runs.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct FunctionEffect {
    pub(crate) object: String,
    pub(crate) function: String,
    pub(crate) sympos: u32,
    pub(crate) effect: Effect,
    /// The patch whose version runs for every task (this one when
    /// `in_effect`); null while tasks switch (`transition`, or a superseded
    /// function whose top patch is in transition) or when none runs.
    pub(crate) in_effect: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::enum_variant_names)] // `in_effect` is the contract's word
pub(crate) enum Effect {
    /// This patch's version runs: it is the highest in the stack with it.
    InEffect,
    /// A patch higher in the stack has the function too, and runs instead.
    Superseded,
    /// The top patch for the function is in transition: each task runs this
    /// patch's version or the other one, by its `patch_state`.
    Transition,
    /// This version cannot run: the patch is disabled (outside a transition)
    /// or the object is not loaded (`patched` 0).
    Inactive,
}

/// The package that shipped a live patch, from rpm (`-v`), with support
/// expiration and update status (`-vv`).
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct PackageInfo {
    /// Whether an installed package owns the patch: `package`; `none` for a
    /// patch no package owns (loaded by hand); `unknown` when rpm could not be
    /// asked (see the warnings).
    pub(crate) owner: Ownership,
    /// How the package was found: from the patch's module file (`rpm -qf`), or
    /// by the backend's naming rule when the module file is gone. Null without owner.
    pub found_by: Option<FoundBy>,
    /// The patch's module file, as seen inside the root; null when not found.
    pub(crate) module_file: Option<String>,
    /// `name-version-release.arch` (with `epoch:` before the version when set),
    /// the classic `RPM:` line.
    pub(crate) nevra: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) epoch: Option<u64>,
    pub(crate) version: Option<String>,
    pub(crate) release: Option<String>,
    pub(crate) arch: Option<String>,
    /// CVE identifiers named in the package changelog, newest first.
    pub cves: Vec<String>,
    /// Other fixes and enhancements: bug references of changelog items that
    /// name no CVE, newest first (SUSE: `bsc#`, `boo#`, `bnc#`, `jsc#`;
    /// Red Hat: Bugzilla numbers and `RHEL-n`).
    pub fixes: Vec<String>,
    /// The first live patch of a kernel (SUSE: version 1, no CVE fixed yet;
    /// always false on Red Hat, whose first package is an empty placeholder).
    pub initial: bool,
    /// End of support (`-vv`); `unknown` for a patch no package owns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) expiration: Option<Expiration>,
    /// Whether a newer version is available (`-vv`); absent when no package
    /// owns the patch (there is nothing to update).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) update: Option<UpdateStatus>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Ownership {
    Package,
    None,
    Unknown,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FoundBy {
    /// `rpm -qf` of the module file: SUSE
    /// `/lib/modules/<kernel>/livepatch/livepatch-<V>-<R>.ko`, Red Hat
    /// `/usr/lib/kpatch/<kernel>/kpatch-<kver>-<krel>-<V>-<R>.ko`.
    ModuleFile,
    /// The module file is gone: the installed edition of the kernel's live
    /// patch package whose name rule gives the patch name (SUSE
    /// `livepatch_<V>_<R>`, Red Hat `kpatch_<kver>_<krel>_<V>_<R>`).
    PatchName,
}

/// When the patch's support ends.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct Expiration {
    /// `YYYY-MM-DD`; null when it cannot be told.
    pub(crate) date: Option<String>,
    /// `lifecycle`: from the vendor's lifecycle data; `estimate`: the kernel
    /// package's build date plus one year (Red Hat ships no lifecycle data:
    /// always an estimate there); `unknown`: neither is available.
    pub source: ExpirationSource,
    /// Whether `date` is in the past (UTC); null without a date.
    pub(crate) expired: Option<bool>,
    /// What the date rests on: the lifecycle file, or the kernel package.
    pub(crate) basis: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ExpirationSource {
    Lifecycle,
    Estimate,
    Unknown,
}

/// Newer versions of the same package in the configured repositories.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct UpdateStatus {
    /// `available`, `up_to_date`, or `unknown` (zypper or dnf could not
    /// tell; see the warnings).
    pub status: UpdateState,
    /// Newest edition (`VERSION-RELEASE`) in the repositories, if any.
    pub(crate) newest: Option<String>,
    /// Whether the repositories were refreshed first (`--refresh`).
    pub(crate) refreshed: bool,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum UpdateState {
    Available,
    UpToDate,
    Unknown,
}

/// `vmlinux` or a kernel module the patch changes.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub(crate) struct PatchedObject {
    pub(crate) name: String,
    /// Whether the object is patched now (false while a patched module is not
    /// loaded); absent on kernels before 6.1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) patched: Option<bool>,
    pub(crate) functions: Vec<PatchedFunction>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct PatchedFunction {
    pub name: String,
    /// Symbol position among same-named symbols (0 or 1 when unique).
    pub sympos: u32,
}
