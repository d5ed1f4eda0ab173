use super::{SchemaVersion, Warning};
use schemars::JsonSchema;
use serde::Serialize;

/// `klp patches`: the loaded live patches.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PatchesReport {
    pub schema_version: SchemaVersion,
    pub supported: bool,
    /// The `-v` count the report was made with (0, 1 or 2).
    pub verbosity: u8,
    /// How `patches` is ordered: by the kernel's `stack_order` when every
    /// patch has one, else by name (numbers compared as numbers).
    pub order: PatchOrder,
    pub patches: Vec<PatchInfo>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PatchOrder {
    StackOrder,
    Name,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PatchInfo {
    /// sysfs directory name (the module name, dashes as underscores).
    pub name: String,
    /// `enabled`; the classic tool calls it "active".
    pub enabled: bool,
    /// This patch is the one in transition.
    pub transition: bool,
    /// Atomic-replace (cumulative) patch; absent on kernels before 6.11.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace: Option<bool>,
    /// 1-based position in the patch stack; absent on kernels before 6.14.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_order: Option<u32>,
    pub objects: Vec<PatchedObject>,
    /// Package facts (`-v` and up); absent below `-v`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<serde_json::Value>,
}

/// `vmlinux` or a kernel module the patch changes.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct PatchedObject {
    pub name: String,
    /// Whether the object is patched now (false while a patched module is not
    /// loaded); absent on kernels before 6.1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patched: Option<bool>,
    pub functions: Vec<PatchedFunction>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, Eq)]
pub struct PatchedFunction {
    pub name: String,
    /// Symbol position among same-named symbols (0 or 1 when unique).
    pub sympos: u32,
}
