use super::Context;
use crate::cli::DowngradeArgs;
use crate::pkg::backend::{self, Family};
use crate::pkg::downgrade::{self, Request, Terminal};
use crate::report::{DowngradeReport, SchemaVersion};
use crate::sys::{livepatch, SysRoot};
use crate::Result;

pub(crate) fn run(ctx: &Context, args: &DowngradeArgs) -> Result<DowngradeReport> {
    let patch_before = loaded_patch(&ctx.sys)?;
    let selected = backend::select(ctx.sys.root(), ctx.backend);
    let request = Request {
        root: ctx.sys.root(),
        kernel: ctx.sys.kernel_release(),
        to: args.to.as_deref(),
        dry_run: args.dry_run,
        assume_yes: ctx.non_interactive,
        backend: &selected,
    };
    let change = downgrade::run(&request, &mut Terminal)?;
    let family = selected.family.expect("downgrade::run fails without a backend");
    // Re-read: the package's scriptlets may have replaced the loaded patch.
    let patch_after = if change.changed { loaded_patch(&ctx.sys)? } else { patch_before.clone() };
    let loaded_patch_changed = change.changed.then(|| patch_after != patch_before);
    let note = match (family, loaded_patch_changed) {
        (Family::RedHat, Some(false)) => Some(format!(
            "Red Hat does not support reverting a live patch without a reboot: the package is now {}, \
             but the loaded live patch is still {}; the installed package takes effect at the next boot",
            change.to,
            patch_after.as_deref().unwrap_or("none")
        )),
        (Family::RedHat, Some(true)) => Some(
            "the package's scriptlets replaced the loaded live patch; Red Hat does not support reverting a \
             live patch without a reboot"
                .to_string(),
        ),
        (Family::RedHat, None) if !change.command.is_empty() => Some(
            "Red Hat does not support reverting a live patch without a reboot: after this downgrade the loaded \
             live patch changes only through the package's scriptlets or a reboot"
                .to_string(),
        ),
        (Family::Suse, Some(false)) => Some(format!(
            "the package changed but the loaded live patch is still {}",
            patch_after.as_deref().unwrap_or("none")
        )),
        _ => None,
    };
    Ok(DowngradeReport {
        schema_version: SchemaVersion,
        change,
        patch_before,
        patch_after,
        backend: selected.report(),
        loaded_patch_changed,
        live_revert_supported: family == Family::Suse,
        note,
        warnings: Vec::new(),
    })
}

/// The live patch in effect: the last enabled one in stack (or name) order.
fn loaded_patch(sys: &SysRoot) -> Result<Option<String>> {
    let patches = livepatch::read_patches(sys, false)?.unwrap_or_default();
    Ok(patches.into_iter().rev().find(|p| p.enabled).map(|p| p.name))
}
