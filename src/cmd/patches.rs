use super::Context;
use crate::cli::PatchesArgs;
use crate::pkg::{backend, info};
use crate::report::{PatchInfo, PatchesReport, SchemaVersion};
use crate::sys::livepatch;
use crate::Result;

pub fn run(ctx: &Context, args: &PatchesArgs) -> Result<PatchesReport> {
    let patches = livepatch::read_patches(&ctx.sys, true)?;
    let supported = patches.is_some();
    let patches = patches.unwrap_or_default();
    let order = livepatch::patch_order(&patches);
    let (packages, warnings, selected) = if ctx.verbosity >= 1 {
        let names: Vec<String> = patches.iter().map(|p| p.name.clone()).collect();
        let options = info::Options { verbosity: ctx.verbosity, refresh: args.refresh };
        let selected = backend::select(ctx.sys.root(), ctx.backend);
        let (infos, warnings) =
            info::describe(ctx.sys.root(), ctx.sys.kernel_release().as_deref(), &names, &options, &selected);
        (infos.into_iter().map(Some).collect(), warnings, Some(selected.report()))
    } else {
        (vec![None; patches.len()], Vec::new(), None)
    };
    Ok(PatchesReport {
        schema_version: SchemaVersion,
        supported,
        verbosity: ctx.verbosity,
        order,
        patches: patches
            .into_iter()
            .zip(packages)
            .map(|(p, package)| PatchInfo {
                name: p.name,
                enabled: p.enabled,
                transition: p.transition,
                replace: p.replace,
                stack_order: p.stack_order,
                objects: p.objects,
                package,
            })
            .collect(),
        backend: selected,
        warnings,
    })
}
