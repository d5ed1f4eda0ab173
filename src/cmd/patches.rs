use super::Context;
use crate::cli::PatchesArgs;
use crate::pkg::{backend, info};
use crate::report::{PatchesReport, SchemaVersion};
use crate::sys::livepatch;
use crate::Result;

pub fn run(ctx: &Context, args: &PatchesArgs) -> Result<PatchesReport> {
    let patches = livepatch::read_patches(&ctx.sys, true)?;
    let supported = patches.is_some();
    let mut patches = patches.unwrap_or_default();
    let order = livepatch::patch_order(&patches);
    let mut warnings = Vec::new();
    let mut selected = None;
    if ctx.verbosity >= 1 {
        let names: Vec<String> = patches.iter().map(|p| p.name.clone()).collect();
        let options = info::Options { verbosity: ctx.verbosity, refresh: args.refresh };
        let backend = backend::select(ctx.sys.root(), ctx.backend);
        let (infos, package_warnings) =
            info::describe(ctx.sys.root(), ctx.sys.kernel_release().as_deref(), &names, &options, &backend);
        for (patch, package) in patches.iter_mut().zip(infos) {
            patch.package = Some(package);
        }
        warnings = package_warnings;
        selected = Some(backend.report());
    }
    Ok(PatchesReport {
        schema_version: SchemaVersion,
        supported,
        verbosity: ctx.verbosity,
        order,
        patches,
        backend: selected,
        warnings,
    })
}
