use super::Context;
use crate::cli::PatchesArgs;
use crate::report::{PatchInfo, PatchesReport, SchemaVersion};
use crate::sys::livepatch;
use crate::Result;

pub fn run(ctx: &Context, _args: &PatchesArgs) -> Result<PatchesReport> {
    let patches = livepatch::read_patches(&ctx.sys, true)?;
    let supported = patches.is_some();
    let mut patches = patches.unwrap_or_default();
    let order = livepatch::sort_patches(&mut patches);
    Ok(PatchesReport {
        schema_version: SchemaVersion,
        supported,
        verbosity: ctx.verbosity,
        order,
        patches: patches
            .into_iter()
            .map(|p| PatchInfo {
                name: p.name,
                enabled: p.enabled,
                transition: p.transition,
                replace: p.replace,
                stack_order: p.stack_order,
                objects: p.objects,
                package: None,
            })
            .collect(),
        warnings: Vec::new(),
    })
}
