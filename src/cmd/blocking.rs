use super::Context;
use crate::report::{BlockingReport, SchemaVersion, State, ThreadScan, Warning, WarningCode};
use crate::sys::stack::{CulpritIndex, PatchedSymbol};
use crate::sys::{livepatch, tasks};
use crate::Result;

pub(crate) fn run(ctx: &Context) -> Result<BlockingReport> {
    let patches = livepatch::read_patches(&ctx.sys, false)?;
    let supported = patches.is_some();
    let patches = patches.unwrap_or_default();
    let (transition, _) = livepatch::current_transition(&patches);
    let mut report = BlockingReport {
        schema_version: SchemaVersion,
        state: if transition.is_some() { State::InProgress } else { State::Ready },
        supported,
        transition: transition.clone(),
        verbosity: ctx.verbosity,
        complete: true,
        scan: ThreadScan::default(),
        warnings: Vec::new(),
    };
    // Nothing in transition: nothing can block, no scan needed.
    let Some(transition) = transition else { return Ok(report) };

    // Only the transitioning patch's functions can hold tasks up.
    let patched: Vec<PatchedSymbol> = livepatch::read_patch_objects(&ctx.sys, &transition.patch)?
        .iter()
        .flat_map(|o| o.functions.iter().map(|f| PatchedSymbol { object: o.name.clone(), function: f.name.clone() }))
        .collect();
    let options = tasks::ScanOptions {
        target: transition.target_state,
        with_cmdline: ctx.verbosity >= 1,
        with_stack: ctx.verbosity >= 2,
        culprits: CulpritIndex::new(&patched, &transition.patch),
    };
    (report.scan, report.warnings) = tasks::scan(&ctx.sys, &options)?;
    report.complete = report.scan.threads_unreadable == 0;

    // With hidepid, non-root does not even see other users' tasks; and
    // without mountinfo, whether it does is unknown.
    if !is_root() {
        let proc_dir = ctx.sys.proc_dir().display().to_string();
        let warning = match tasks::proc_hides_pids(&ctx.sys) {
            Ok(false) => None,
            Ok(true) => Some(Warning {
                code: WarningCode::Hidepid,
                message: "/proc is mounted with hidepid: other users' threads are invisible to non-root".into(),
                path: Some(proc_dir),
                count: 1,
            }),
            Err((failure, path)) => Some(Warning {
                code: WarningCode::Error(failure.code()),
                message: "proc's mountinfo could not be read: whether /proc hides other users' threads \
                          (hidepid) is unknown"
                    .into(),
                path: Some(path.display().to_string()),
                count: 1,
            }),
        };
        if let Some(warning) = warning {
            report.complete = false;
            report.warnings.push(warning);
        }
    }
    Ok(report)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
