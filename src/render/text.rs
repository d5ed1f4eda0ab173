use crate::report::{
    BlockingReport, DowngradeReport, Effect, ExpirationSource, FoundBy, FunctionEffect, Ownership, PackageInfo,
    PatchInfo, PatchesReport, Report, UpdateState,
};
use std::fmt::Write;

/// Stdout text of a report (warnings go to stderr, see `main`).
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    match report {
        Report::Status(status) => writeln!(out, "{}", status.state.as_str()).unwrap(),
        Report::Check(_) => {}
        Report::Patches(patches) => render_patches(&mut out, patches),
        Report::Blocking(blocking) => render_blocking(&mut out, blocking),
        Report::Downgrade(downgrade) => render_downgrade(&mut out, downgrade),
    }
    out
}

fn flag(value: bool) -> u8 {
    u8::from(value)
}

fn render_patches(out: &mut String, report: &PatchesReport) {
    for (index, patch) in report.patches.iter().enumerate() {
        if report.verbosity == 0 {
            writeln!(out, "{}", printable(&patch.name)).unwrap();
            continue;
        }
        if index > 0 {
            out.push('\n');
        }
        render_patch_block(out, patch);
    }
}

fn render_patch_block(out: &mut String, patch: &PatchInfo) {
    writeln!(out, "{}", printable(&patch.name)).unwrap();
    writeln!(out, "    active: {}", flag(patch.enabled)).unwrap();
    if let Some(package) = &patch.package {
        render_classic_package_lines(out, package);
    }
    // Beyond the classic keys: more `key: value` lines, never free text.
    writeln!(out, "    transition: {}", flag(patch.transition)).unwrap();
    if let Some(replace) = patch.replace {
        writeln!(out, "    replace: {}", flag(replace)).unwrap();
    }
    if let Some(order) = patch.stack_order {
        writeln!(out, "    stack_order: {order}").unwrap();
    }
    for object in &patch.objects {
        let functions: Vec<String> =
            object.functions.iter().map(|f| format!("{},{}", printable(&f.name), f.sympos)).collect();
        let state = match object.patched {
            Some(false) => " (not patched)",
            _ => "",
        };
        let functions = if functions.is_empty() { "(none)".to_string() } else { functions.join(" ") };
        writeln!(out, "    object {}{state}: {functions}", printable(&object.name)).unwrap();
    }
    if let Some(effects) = &patch.effect {
        render_effects(out, effects);
    }
    if let Some(package) = &patch.package {
        render_package_details(out, package);
    }
}

/// One `key: value` line per kind of effect, listing `object:function,sympos`.
fn render_effects(out: &mut String, effects: &[FunctionEffect]) {
    for (effect, key) in [
        (Effect::InEffect, "in effect"),
        (Effect::Superseded, "superseded"),
        (Effect::Transition, "in transition"),
        (Effect::Inactive, "inactive"),
    ] {
        let items: Vec<String> = effects
            .iter()
            .filter(|e| e.effect == effect)
            .map(|e| {
                let by = match (effect, &e.in_effect) {
                    (Effect::Superseded, Some(top)) => format!(" (by {top})"),
                    (Effect::Superseded, None) => " (by a patch in transition)".to_string(),
                    _ => String::new(),
                };
                format!("{}:{},{}{by}", e.object, e.function, e.sympos)
            })
            .collect();
        if !items.is_empty() {
            writeln!(out, "    {key}: {}", items.join(" ")).unwrap();
        }
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(" ")
    }
}

/// The classic `RPM:`, `CVE:`, `bug fixes and enhancements:` lines, right
/// after `active:` as the classic tool prints them.
fn render_classic_package_lines(out: &mut String, package: &PackageInfo) {
    let rpm = match (package.owner, &package.nevra) {
        (_, Some(nevra)) => nevra.as_str(),
        (Ownership::Unknown, None) => "(unknown)",
        _ => "(none)",
    };
    writeln!(out, "    RPM: {rpm}").unwrap();
    if package.owner == Ownership::Unknown {
        // Not asked, or rpm failed: the fixes are unknown, not absent.
        writeln!(out, "    CVE: (unknown)\n    bug fixes and enhancements: (unknown)").unwrap();
        return;
    }
    let cves = if package.initial && package.cves.is_empty() {
        "(none - this is an initial kernel live patch)".to_string()
    } else {
        list_or_none(&package.cves)
    };
    writeln!(out, "    CVE: {cves}").unwrap();
    writeln!(out, "    bug fixes and enhancements: {}", list_or_none(&package.fixes)).unwrap();
}

/// Beyond the classic keys: more `key: value` lines, never free text.
fn render_package_details(out: &mut String, package: &PackageInfo) {
    let owner = match (package.owner, package.found_by) {
        (Ownership::Package, Some(FoundBy::ModuleFile)) => "package (found by module file)",
        (Ownership::Package, _) => "package (found by patch name)",
        (Ownership::None, _) => "none (no package owns this patch)",
        (Ownership::Unknown, _) => "unknown (rpm could not tell, see the warnings)",
    };
    writeln!(out, "    owner: {owner}").unwrap();
    if let Some(file) = &package.module_file {
        writeln!(out, "    module file: {}", printable(file)).unwrap();
    }
    if let Some(expiration) = &package.expiration {
        let value = match (&expiration.date, expiration.source) {
            (Some(date), ExpirationSource::Lifecycle) => format!("{date} (lifecycle data)"),
            (Some(date), _) => format!("{date} (estimate: kernel release date plus one year)"),
            (None, _) => "(unknown)".to_string(),
        };
        writeln!(out, "    expires: {value}").unwrap();
        if let Some(expired) = expiration.expired {
            writeln!(out, "    expired: {}", if expired { "yes" } else { "no" }).unwrap();
        }
        if let Some(basis) = &expiration.basis {
            writeln!(out, "    expiration basis: {basis}").unwrap();
        }
    }
    if let Some(update) = &package.update {
        let value = match (update.status, &update.newest) {
            (UpdateState::Available, Some(newest)) => format!("available ({newest})"),
            (UpdateState::Available, None) => "available".to_string(),
            (UpdateState::UpToDate, _) => "up to date".to_string(),
            (UpdateState::Unknown, _) => "(unknown)".to_string(),
        };
        writeln!(out, "    update: {value}").unwrap();
    }
}

/// A short summary for people: the plan, or what happened.
fn render_downgrade(out: &mut String, report: &DowngradeReport) {
    let change = &report.change;
    let command = change.command_line();
    if change.dry_run {
        writeln!(out, "would downgrade {} from {} to {}", printable(&change.package), change.from, change.to).unwrap();
        writeln!(out, "command: {command}").unwrap();
        writeln!(out, "dry run: nothing was changed").unwrap();
        return;
    }
    if !change.changed {
        writeln!(out, "{} is already at {}: nothing to do", printable(&change.package), change.from).unwrap();
        return;
    }
    writeln!(
        out,
        "downgraded {} from {} to {}",
        printable(&change.package),
        change.from,
        change.installed_after.as_deref().unwrap_or(&change.to)
    )
    .unwrap();
    writeln!(out, "command: {command}").unwrap();
    let patch = |p: &Option<String>| p.as_deref().map_or_else(|| "(none)".into(), printable);
    writeln!(out, "live patch: {} -> {}", patch(&report.patch_before), patch(&report.patch_after)).unwrap();
}

fn render_blocking(out: &mut String, report: &BlockingReport) {
    for (index, thread) in report.scan.threads.iter().enumerate() {
        if report.verbosity == 0 {
            writeln!(out, "{}", thread.tid).unwrap();
            continue;
        }
        if report.verbosity >= 2 && index > 0 {
            out.push('\n');
        }
        let command = match (thread.cmdline.value(), &thread.comm) {
            (Some(args), _) => printable(&args.join(" ")),
            (None, Some(comm)) => format!("[{}]", printable(comm)),
            (None, None) => "[?]".to_string(),
        };
        writeln!(out, "{} {}", thread.tid, command).unwrap();
        writeln!(out, "    pid: {}", thread.pid).unwrap();
        if let Some(comm) = &thread.comm {
            writeln!(out, "    comm: {}", printable(comm)).unwrap();
        }
        if let Some(state) = &thread.state {
            writeln!(out, "    state: {state}").unwrap();
        }
        if let Some(kthread) = thread.kernel_thread {
            writeln!(out, "    kernel thread: {}", if kthread { "yes" } else { "no" }).unwrap();
        }
        match &thread.culprits {
            Some(culprits) if !culprits.is_empty() => {
                let names: Vec<String> =
                    culprits.iter().map(|c| format!("{}:{}", printable(&c.object), printable(&c.function))).collect();
                writeln!(out, "    culprits: {}", names.join(" ")).unwrap();
            }
            Some(_) => writeln!(out, "    culprits: (none on stack)").unwrap(),
            None => writeln!(out, "    culprits: (stack unreadable)").unwrap(),
        }
        if report.verbosity >= 2 {
            match thread.stack.value() {
                Some(frames) => {
                    writeln!(out, "    stack:").unwrap();
                    for frame in frames {
                        writeln!(out, "        {}", printable(&frame.text)).unwrap();
                    }
                }
                None => writeln!(out, "    stack: (unreadable)").unwrap(),
            }
        }
    }
}

/// Any process chooses its own command line and comm, and a hostile root
/// its patch, object, function and file names: control characters (a
/// newline would forge a line, and with it a PID or a patch, in the
/// one-item-a-line formats; escape sequences would drive the terminal) are
/// shown escaped. Every name from outside goes through here.
fn printable(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}
