use super::Context;
use crate::cli::DowngradeArgs;
use crate::pkg::downgrade::{self, Request, Terminal};
use crate::report::{DowngradeReport, SchemaVersion};
use crate::sys::{livepatch, SysRoot};
use crate::Result;

pub(crate) fn run(ctx: &Context, args: &DowngradeArgs) -> Result<DowngradeReport> {
    let patch_before = loaded_patch(&ctx.sys)?;
    let request = Request {
        root: ctx.sys.root(),
        kernel: ctx.sys.kernel_release(),
        to: args.to.as_deref(),
        dry_run: args.dry_run,
        assume_yes: ctx.non_interactive,
    };
    let change = downgrade::run(&request, &mut Terminal)?;
    // Re-read: the package's scriptlets replace the loaded patch.
    let patch_after = if change.changed { loaded_patch(&ctx.sys)? } else { patch_before.clone() };
    Ok(DowngradeReport { schema_version: SchemaVersion, change, patch_before, patch_after, warnings: Vec::new() })
}

/// The live patch in effect: the last enabled one in stack (or name) order.
fn loaded_patch(sys: &SysRoot) -> Result<Option<String>> {
    let patches = livepatch::read_patches(sys, false)?.unwrap_or_default();
    Ok(patches.into_iter().rev().find(|p| p.enabled).map(|p| p.name))
}
