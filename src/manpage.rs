//! The man page, generated from the clap definition so that it cannot drift
//! from `--help`, plus the sections clap does not know (exit status, files,
//! caveats). A test keeps the committed `man/klp.8` in sync.

use crate::cli::{Cli, EXIT_STATUS_HELP};
use clap::CommandFactory;

/// The man page, roff.
/// The man page, roff.
pub fn render() -> String {
    let command = Cli::command();
    let man =
        clap_mangen::Man::new(command.clone()).date("2026").source("klp").manual("System Administration").section("8");
    let mut out = Vec::new();
    man.render_title(&mut out).expect("writing to a Vec");
    man.render_name_section(&mut out).expect("writing to a Vec");
    man.render_synopsis_section(&mut out).expect("writing to a Vec");
    man.render_description_section(&mut out).expect("writing to a Vec");
    man.render_options_section(&mut out).expect("writing to a Vec");
    let mut text = String::from_utf8(out).expect("clap_mangen writes UTF-8");
    text.push_str(&commands_section(&command));
    text.push_str(&escape_block("EXIT STATUS", EXIT_STATUS_HELP));
    text.push_str(&metrics_section());
    text.push_str(EXTRA_SECTIONS);
    text.push_str(&format!(".SH VERSION\nv{}\n", env!("CARGO_PKG_VERSION")));
    text
}

fn roff_escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('-', "\\-");
    escaped
        .lines()
        .map(
            |line| {
                if line.starts_with('.') || line.starts_with('\'') {
                    format!("\\&{line}")
                } else {
                    line.to_string()
                }
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

fn escape_block(title: &str, body: &str) -> String {
    format!(".SH \"{title}\"\n.nf\n{}\n.fi\n", roff_escape(body))
}

/// Every visible command with its long help and its own options.
fn commands_section(command: &clap::Command) -> String {
    let mut out = String::from(".SH COMMANDS\n");
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let about = sub.get_long_about().or(sub.get_about()).map(|s| s.to_string()).unwrap_or_default();
        let positionals: Vec<String> = sub
            .get_positionals()
            .map(|a| {
                format!(
                    " {}",
                    a.get_value_names()
                        .and_then(|v| v.first())
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| a.get_id().to_string().to_uppercase())
                )
            })
            .collect();
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR{}\n{}\n",
            sub.get_name(),
            roff_escape(&positionals.concat()),
            roff_escape(&about)
        ));
        for arg in sub.get_arguments().filter(|a| !a.is_global_set() && a.get_long().is_some()) {
            let value = arg
                .get_value_names()
                .filter(|_| arg.get_action().takes_values())
                .and_then(|v| v.first())
                .map(|v| format!(" \\fI{v}\\fR"))
                .unwrap_or_default();
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            out.push_str(&format!(
                ".RS\n.TP\n\\fB\\-\\-{}\\fR{value}\n{}\n.RE\n",
                roff_escape(arg.get_long().unwrap_or_default()),
                roff_escape(&help)
            ));
        }
        // `assess` carries its rules here, as in its --help.
        if let Some(after) = sub.get_after_long_help() {
            out.push_str(&format!(".RS\n.nf\n{}\n.fi\n.RE\n", roff_escape(&after.to_string())));
        }
    }
    out
}

/// The metrics of `klp assess --format prometheus`, from their one list.
fn metrics_section() -> String {
    let mut out = String::from(
        ".SH METRICS\n\\fBklp assess \\-\\-format prometheus\\fR writes these gauges (Prometheus text exposition, \
         with HELP and TYPE lines; absent series are facts klp could not tell):\n",
    );
    for (name, labels, help) in crate::render::prometheus::METRICS {
        let labels = if labels.is_empty() { String::new() } else { format!(" {{{}}}", roff_escape(labels)) };
        out.push_str(&format!(".TP\n\\fB{name}\\fR{labels}\n{}\n", roff_escape(help)));
    }
    out.push_str(
        ".PP\n\\fBklp assess \\-\\-format nagios\\fR prints the monitoring\\-plugin output: a first line \
         \\fBKLP OK|WARNING|CRITICAL|UNKNOWN \\- \\fR\\fIfindings\\fR \\fB|\\fR \\fIperfdata\\fR \
         (transition_age in seconds with 0 and \\-\\-stuck\\-after as thresholds, blocking_threads, \
         support_days_left with the \\-\\-expiry\\-warning and \\-\\-expiry\\-critical ranges, \
         patches_loaded; U when unknown), then one line per finding; the exit status is the verdict's.\n",
    );
    out
}

const EXTRA_SECTIONS: &str = r#".SH ENVIRONMENT
.TP
\fBKLP_FORMAT\fR
Default for \fB\-\-format\fR (\fBjson\fR, \fBtext\fR, or for \fBassess\fR \fBprometheus\fR or \fBnagios\fR).
.TP
\fBKLP_ROOT\fR
Default for \fB\-\-root\fR.
.TP
\fBKLP_BACKEND\fR
Default for \fB\-\-backend\fR (\fBauto\fR, \fBsuse\fR or \fBredhat\fR).
.SH FILES
.TP
\fI/etc/os-release\fR, \fI/usr/lib/os-release\fR
\fBID\fR and \fBID_LIKE\fR choose the package backend: Red Hat (rpm, dnf, \fBkpatch\-patch\-*\fR) when one is \fBrhel\fR, \fBcentos\fR or \fBfedora\fR; SUSE (rpm, zypper, \fBkernel\-livepatch\-*\fR) when one is \fBsuse\fR. Any other family gets package fields \fBunknown\fR with the warning \fBbackend_unknown\fR.
.TP
\fI/usr/lib/kpatch/<kernel>/*.ko\fR, \fI/var/lib/kpatch/<kernel>/*.ko\fR
Red Hat's live patch modules (the packaged ones, and the copies \fBkpatch install\fR loads at boot).
.TP
\fI/sys/kernel/livepatch/<patch>/\fR
One directory per loaded live patch: \fBenabled\fR, \fBtransition\fR, and on newer kernels \fBreplace\fR, \fBstack_order\fR and \fB<object>/patched\fR.
.TP
\fI/proc/<pid>/task/<tid>/patch_state\fR
Per-thread state during a transition (\-1 none, 0 unpatched, 1 patched); readable by root only, as is \fIstack\fR.
.TP
\fI/proc/sys/kernel/tainted\fR
Bit 15 (K) is set once a live patch has been loaded.
.TP
\fI/dev/kmsg\fR, \fI/proc/uptime\fR
The kernel log: when the transition in progress started (its latest \fBstarting ... transition\fR record against the uptime), and whether a transition was forced. Root only when \fBkernel.dmesg_restrict\fR is 1; then the age is unknown (null) with a warning.
.TP
\fI/boot/vmlinuz\fR
Its target names the kernel that boots next (else the highest installed version of the running flavour).
.SH CAVEATS
A task must cross the boundary between kernel and user space, or be found with no function being patched on its stack, to switch to the patched code. Tasks that are executing in the kernel when a patch is loaded therefore hold the transition until they leave it, which usually happens when their wait ends or times out. Tasks that never touch the patched functions are not waited for.
.PP
The kernel helps by waking sleeping tasks transparently (every 15 seconds it sends user tasks a fake signal and wakes interruptible kernel threads). Still, tasks in uninterruptible sleep (state \fBD\fR) and, in some conditions, kernel threads can block a transition for a long time; \fBklp blocking \-v\fR shows them with their state and the patched functions on their stacks.
.PP
Reading the threads' states needs root. Run as another user, \fBklp blocking\fR reports that its answer is incomplete instead of an empty list.
.PP
On Red Hat, \fBdowngrade\fR changes the \fBkpatch\-patch\fR package (\fBdnf downgrade\fR, \fB\-\-to\fR takes VERSION\-RELEASE such as \fB1\-2\fR, \fB\-\-dry\-run\fR runs a dnf test transaction) but Red Hat does not support reverting a live patch without a reboot: the report re\-reads sysfs and says whether the loaded patch changed (\fBloaded_patch_changed\fR, \fBnote\fR). The \fB0\-0\fR placeholder package is installed only when asked for with \fB\-\-to 0\-0\fR. Support ends are estimates (the kernel package's build date plus one year): Red Hat ships no lifecycle data.
.PP
Compared with the older \fBkgr\fR tool there is no \fBpoke\fR command (the kernel signals tasks by itself), and the old \fBblocking_threads\fR display is \fBklp blocking\fR.
.SH SECURITY
Everything under \fB\-\-root\fR is untrusted input: klp resolves every path inside the root (symlinks out of it are never followed, magic links never), opens files non\-blocking and reads only regular files, each up to a bound fit for it; a FIFO, socket or device is refused (\fBnot_regular_file\fR), an oversized value is \fBtoo_large\fR, a cut stack or command line is reported (\fBtruncated\fR). Without \fIsys/kernel\fR under the root the answer is \fBsysfs_missing\fR, never "ready". Text output escapes control characters in every name. \fBdowngrade\fR creates its lock \fI<root>/run/klp\-downgrade.lock\fR inside the root only, never through a symlink. klp trusts \fBrpm\fR and \fBzypper\fR found through PATH. See SECURITY.md.
.SH "SEE ALSO"
\fBzypper\fR(8), \fBdnf\fR(8), \fBrpm\fR(8), \fBkpatch\fR(1), the kernel's Documentation/livepatch/livepatch.rst
"#;

/// The completion script for `shell`.
/// The completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "klp", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}
