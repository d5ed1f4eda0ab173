use super::Context;
use crate::report::{SchemaVersion, State, StatusReport, StatusTransition, Warning, WarningCode};
use crate::sys::{kmsg, livepatch, SysRoot, TAINT_LIVEPATCH};
use crate::Result;

pub(crate) fn run(ctx: &Context) -> Result<StatusReport> {
    build_status(&ctx.sys)
}

/// The status report: a few small reads per loaded patch, no task scan.
pub(crate) fn build_status(sys: &SysRoot) -> Result<StatusReport> {
    let patches = livepatch::read_patches(sys, false)?;
    let supported = patches.is_some();
    let patches = patches.unwrap_or_default();
    let (transition, others) = livepatch::current_transition(&patches);
    let mut warnings = Vec::new();
    if others > 0 {
        warnings.push(Warning {
            code: WarningCode::SeveralTransitions,
            message: format!(
                "{} patches claim to be in transition; the kernel allows one, reporting {}",
                others + 1,
                transition.as_ref().map(|t| t.patch.as_str()).unwrap_or_default()
            ),
            path: None,
            count: others as u64 + 1,
        });
    }
    // The age only matters, and the log is only read, while a transition runs.
    let transition = transition.map(|transition| {
        let log = kmsg::read(sys, Some(&transition.patch));
        let (age, warning) = kmsg::transition_age(&log, kmsg::uptime(sys));
        warnings.extend(warning);
        StatusTransition { transition, age }
    });
    let taint_mask = sys.taint_mask()?;
    let (kernel_release, release_warning) = sys.kernel_release_checked();
    warnings.extend(release_warning);
    Ok(StatusReport {
        schema_version: SchemaVersion,
        state: if transition.is_some() { State::InProgress } else { State::Ready },
        supported,
        kernel_release,
        patches_loaded: patches.len() as u32,
        patches_enabled: patches.iter().filter(|p| p.enabled).count() as u32,
        transition,
        livepatch_tainted: taint_mask.map(|mask| mask & TAINT_LIVEPATCH != 0),
        taint_mask,
        warnings,
    })
}
