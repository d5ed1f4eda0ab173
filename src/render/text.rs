use crate::report::{BlockingReport, PatchInfo, PatchesReport, Report};
use std::fmt::Write;

/// Stdout text of a report (warnings go to stderr, see `main`).
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    match report {
        Report::Status(status) => writeln!(out, "{}", status.state.as_str()).unwrap(),
        Report::Check(_) => {}
        Report::Patches(patches) => render_patches(&mut out, patches),
        Report::Blocking(blocking) => render_blocking(&mut out, blocking),
        Report::Downgrade(_) => {}
        Report::Schema(value) => {
            out = serde_json::to_string_pretty(value).expect("a JSON value serializes");
            out.push('\n');
        }
        Report::Raw(text) => out.push_str(text),
    }
    out
}

fn flag(value: bool) -> u8 {
    u8::from(value)
}

fn render_patches(out: &mut String, report: &PatchesReport) {
    for (index, patch) in report.patches.iter().enumerate() {
        if report.verbosity == 0 {
            writeln!(out, "{}", patch.name).unwrap();
            continue;
        }
        if index > 0 {
            out.push('\n');
        }
        render_patch_block(out, patch);
    }
}

fn render_patch_block(out: &mut String, patch: &PatchInfo) {
    writeln!(out, "{}", patch.name).unwrap();
    writeln!(out, "    active: {}", flag(patch.enabled)).unwrap();
    // Beyond the classic keys: more `key: value` lines, never free text.
    writeln!(out, "    transition: {}", flag(patch.transition)).unwrap();
    if let Some(replace) = patch.replace {
        writeln!(out, "    replace: {}", flag(replace)).unwrap();
    }
    if let Some(order) = patch.stack_order {
        writeln!(out, "    stack_order: {order}").unwrap();
    }
    for object in &patch.objects {
        let functions: Vec<String> = object.functions.iter().map(|f| format!("{},{}", f.name, f.sympos)).collect();
        let state = match object.patched {
            Some(false) => " (not patched)",
            _ => "",
        };
        let functions = if functions.is_empty() { "(none)".to_string() } else { functions.join(" ") };
        writeln!(out, "    object {}{state}: {functions}", object.name).unwrap();
    }
}

fn render_blocking(out: &mut String, report: &BlockingReport) {
    for (index, thread) in report.threads.iter().enumerate() {
        if report.verbosity == 0 {
            writeln!(out, "{}", thread.tid).unwrap();
            continue;
        }
        if report.verbosity >= 2 && index > 0 {
            out.push('\n');
        }
        let command = match (thread.cmdline.value(), &thread.comm) {
            (Some(args), _) => args.join(" "),
            (None, Some(comm)) => format!("[{comm}]"),
            (None, None) => "[?]".to_string(),
        };
        writeln!(out, "{} {}", thread.tid, command).unwrap();
        writeln!(out, "    pid: {}", thread.pid).unwrap();
        if let Some(comm) = &thread.comm {
            writeln!(out, "    comm: {comm}").unwrap();
        }
        if let Some(state) = &thread.state {
            writeln!(out, "    state: {state}").unwrap();
        }
        if let Some(kthread) = thread.kernel_thread {
            writeln!(out, "    kernel thread: {}", if kthread { "yes" } else { "no" }).unwrap();
        }
        match &thread.culprits {
            Some(culprits) if !culprits.is_empty() => {
                let names: Vec<String> = culprits.iter().map(|c| format!("{}:{}", c.object, c.function)).collect();
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
                        writeln!(out, "        {}", frame.text).unwrap();
                    }
                }
                None => writeln!(out, "    stack: (unreadable)").unwrap(),
            }
        }
    }
}
