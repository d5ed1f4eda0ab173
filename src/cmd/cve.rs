use super::assess::{dedup, PackageFacts};
use super::Context;
use crate::cli::CveArgs;
use crate::decide;
use crate::report::{CveReport, SchemaVersion};
use crate::sys::livepatch;
use crate::Result;
use std::collections::BTreeSet;

pub(super) fn run(ctx: &Context, args: &CveArgs) -> Result<CveReport> {
    let patches = livepatch::read_patches(&ctx.sys, false)?.unwrap_or_default();
    let wanted: BTreeSet<String> = args.cves.iter().cloned().collect();
    let packages = PackageFacts::gather(ctx, &patches, &wanted, false);
    let sources = packages.sources();
    let cves = dedup(&args.cves).iter().map(|id| decide::cve_status(id, &sources)).collect();
    let kernels = packages.kernels;
    Ok(CveReport {
        schema_version: SchemaVersion,
        cves,
        running_kernel: kernels.running,
        next_boot_kernel: kernels.next_boot,
        backend: packages.backend,
        warnings: packages.warnings,
    })
}
