//! Property tests: round trips and invariants of the parsers on generated,
//! kernel-shaped input (the fuzz targets cover arbitrary bytes).

use super::invariants;
use klp::sys::{livepatch, parse_bool, parse_int, stack, tasks};
use proptest::prelude::*;
use std::path::Path;

fn config() -> ProptestConfig {
    // No regression files written into the source tree.
    ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() }
}

const P: &str = "/r/sys/kernel/livepatch/p/stack_order";

/// A function name as the kernel prints it, with GCC clone suffixes.
fn symbol() -> impl Strategy<Value = String> {
    ("[a-z_][a-z0-9_]{0,10}", prop::sample::select(vec!["", ".isra.0", ".cold", ".constprop.0", ".part.1"]))
        .prop_map(|(name, suffix)| format!("{name}{suffix}"))
}

/// One stack line: a well-formed frame (function, module) or noise.
fn frame_line() -> impl Strategy<Value = (String, Option<(String, Option<String>)>)> {
    let module = prop::option::of(prop::sample::select(vec!["klp_busy", "ext4", "livepatch_2_150600_2_1", "vmlinux"]));
    let good = (prop::sample::select(vec!["<0>", "<ffffffffc0a1b0c5>"]), symbol(), 0u32..0x1000, 1u32..0x1000, module)
        .prop_map(|(addr, sym, off, len, module)| {
            let tail = module.map(|m| format!(" [{m}]")).unwrap_or_default();
            (format!("[{addr}] {sym}+{off:#x}/{len:#x}{tail}"), Some((sym, module.map(String::from))))
        });
    let noise = prop_oneof![
        Just("[<0>] 0xffffffffc0a1b0c5".to_string()),
        "[ -~]{0,40}",
        Just(String::new()),
        Just("   ".to_string()),
    ]
    .prop_map(|text| (text, None));
    prop_oneof![3 => good, 1 => noise]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn integers_round_trip_as_the_kernel_prints_them(n in any::<i64>(), u in any::<u64>(), o in any::<u32>()) {
        let path = Path::new(P);
        prop_assert_eq!(parse_int::<i64>(path, &format!("{n}\n"), "i").unwrap(), n);
        prop_assert_eq!(parse_int::<i64>(path, &n.to_string(), "i").unwrap(), n);
        prop_assert_eq!(parse_int::<u64>(path, &format!("{u}\n"), "u").unwrap(), u);
        prop_assert_eq!(parse_int::<u32>(path, &format!("{o}\n"), "u").unwrap(), o);
        for bad in [format!(" {n}\n"), format!("{n}\n\n"), format!("{n} \n"), format!("{n}\nx"), format!("0x{u:x}")] {
            let err = parse_int::<i64>(path, &bad, "i").unwrap_err();
            prop_assert_eq!(err.code(), "malformed_value");
        }
        let negative = format!("-{}\n", u.max(1));
        prop_assert!(parse_int::<u64>(path, &negative, "u").is_err(), "{:?} accepted as unsigned", negative);
    }

    #[test]
    fn flags_are_exactly_0_and_1(n in any::<i64>(), newline in any::<bool>()) {
        let text = if newline { format!("{n}\n") } else { n.to_string() };
        let parsed = parse_bool(Path::new(P), &text);
        match n {
            0 | 1 => prop_assert_eq!(parsed.unwrap(), n == 1),
            _ => prop_assert_eq!(parsed.unwrap_err().code(), "malformed_value"),
        }
    }

    #[test]
    fn stack_parsing_keeps_every_line_and_reads_symbols(lines in prop::collection::vec(frame_line(), 0..40), crlf in any::<bool>()) {
        let end = if crlf { "\r\n" } else { "\n" };
        let text: String = lines.iter().map(|(l, _)| format!("{l}{end}")).collect();
        invariants::stack_trace(text.as_bytes());
        let frames = stack::parse_stack(&text);
        let kept: Vec<_> = lines.iter().filter(|(l, _)| !l.trim().is_empty()).collect();
        prop_assert_eq!(frames.len(), kept.len());
        for (frame, (line, expected)) in frames.iter().zip(kept) {
            prop_assert_eq!(&frame.text, line.trim_end());
            if let Some((symbol, module)) = expected {
                prop_assert_eq!(frame.function.as_deref(), Some(symbol.as_str()));
                prop_assert_eq!(frame.module.as_deref(), module.as_deref());
            }
        }
    }

    #[test]
    fn culprits_name_only_patched_functions_or_the_patch_module(
        lines in prop::collection::vec(frame_line(), 0..30),
        patched in prop::collection::vec((prop::sample::select(vec!["vmlinux", "klp_busy", "ext4"]), "[a-z_][a-z0-9_]{0,10}"), 0..6),
    ) {
        let text: String = lines.iter().map(|(l, _)| format!("{l}\n")).collect();
        let frames = stack::parse_stack(&text);
        // Make some generated frames hit: patch the functions of every third frame.
        let mut patched: Vec<stack::PatchedSymbol> =
            patched.into_iter().map(|(o, f)| stack::PatchedSymbol { object: o.into(), function: f }).collect();
        for frame in frames.iter().step_by(3) {
            if let Some(function) = &frame.function {
                let object = frame.module.clone().unwrap_or_else(|| "vmlinux".into());
                patched.push(stack::PatchedSymbol { object, function: function.split('.').next().unwrap().into() });
            }
        }
        let module = invariants::PATCH_MODULE;
        let found = stack::culprits(&frames, &patched, module);
        // Expected, computed independently: frame by frame.
        let expected: Vec<(String, String, String)> = frames
            .iter()
            .filter_map(|f| {
                let function = f.function.as_ref()?;
                let base = function.split('.').next().unwrap();
                let object = f.module.as_deref().unwrap_or("vmlinux");
                if let Some(p) = patched.iter().find(|p| p.function == base && p.object == object) {
                    Some((p.object.clone(), p.function.clone(), f.text.clone()))
                } else if f.module.as_deref() == Some(module) {
                    Some((module.to_string(), function.clone(), f.text.clone()))
                } else {
                    None
                }
            })
            .collect();
        let got: Vec<(String, String, String)> = found.into_iter().map(|c| (c.object, c.function, c.frame)).collect();
        prop_assert_eq!(&got, &expected);
        for (object, function, _) in &got {
            let named = object == module || patched.iter().any(|p| &p.object == object && &p.function == function);
            prop_assert!(named, "culprit {}:{} is not patched", object, function);
        }
    }

    #[test]
    fn patch_names_sort_in_a_total_order(names in prop::collection::vec("(livepatch_)?[0-9]{0,3}(_[0-9]{1,3}){0,2}[a-z_]{0,2}", 3)) {
        invariants::patch_name_order(names.join("\n").as_bytes());
        let mut forward = names.clone();
        let mut backward: Vec<String> = names.iter().rev().cloned().collect();
        forward.sort_by(|a, b| livepatch::natural_cmp(a, b));
        backward.sort_by(|a, b| livepatch::natural_cmp(a, b));
        prop_assert_eq!(forward, backward);
    }

    #[test]
    fn command_lines_round_trip(args in prop::collection::vec("[^\u{0}]{0,12}", 0..8)) {
        let mut bytes = Vec::new();
        for arg in &args {
            bytes.extend_from_slice(arg.as_bytes());
            bytes.push(0);
        }
        invariants::cmdline(&bytes);
        let split = tasks::split_cmdline(&bytes);
        if args.is_empty() || args == [""] {
            prop_assert_eq!(split, None);
        } else {
            prop_assert_eq!(split, Some(args));
        }
    }

    #[test]
    fn stat_lines_round_trip(
        pid in 1u32..4_194_304,
        comm in prop::collection::vec(1u8..=255, 0..16),
        state in prop::sample::select(vec!['R', 'S', 'D', 'Z', 'T', 't', 'X', 'I']),
        flags in any::<u32>(),
    ) {
        let mut line = format!("{pid} (").into_bytes();
        line.extend_from_slice(&comm);
        line.extend_from_slice(format!(") {state} 1 {pid} {pid} 0 -1 {flags} 0 0 0 0 1 2 3 4 20 0 1 0\n").as_bytes());
        invariants::task_stat(&line);
        let stat = tasks::parse_stat(&line).expect("a kernel-shaped stat line parses");
        prop_assert_eq!(stat, tasks::TaskStat { comm: String::from_utf8_lossy(&comm).into_owned(), state, flags });
    }

    #[test]
    fn hidepid_is_seen_exactly_on_proc_at_the_mount_point(
        mounts in prop::collection::vec((
            prop::sample::select(vec!["/proc", "/srv/root/proc", "/sys", "/"]),
            prop::sample::select(vec!["proc", "sysfs", "tmpfs"]),
            prop::sample::select(vec!["rw", "rw,hidepid=2", "rw,hidepid=invisible", "rw,hidepid=0", "rw,hidepid=off", "rw,subset=pid", "rw,hidepid=ptraceable"]),
        ), 0..6),
        asked in prop::sample::select(vec!["/proc", "/srv/root/proc"]),
    ) {
        let text: String = mounts
            .iter()
            .enumerate()
            .map(|(i, (point, fs, options))| format!("{} 1 0:{i} / {point} rw,relatime shared:{i} - {fs} {fs} {options}\n", 20 + i))
            .collect();
        let expected = mounts.iter().any(|(point, fs, options)| {
            *point == asked && *fs == "proc" && ["hidepid=2", "hidepid=invisible", "hidepid=ptraceable"].iter().any(|h| options.contains(h))
        });
        prop_assert_eq!(tasks::mountinfo_hides_pids(&text, asked), expected);
    }
}

/// Version-like strings: digits, letters, separators, `~` and `^`.
fn rpm_version() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9]{1,3}(\\.[0-9]{1,3}){0,3}", "[0-9a-c~^._+]{0,8}", "[0-9]{1,2}(~|\\^)?[a-z]{0,2}[0-9]{0,2}"]
}

/// A changelog item naming `cves` somewhere among other words, with the
/// punctuation, case and line wrapping SUSE changelogs show.
fn changelog_item(cves: Vec<(u16, u32, u8, u8)>) -> String {
    let mut item = String::from("- Fix");
    for (year, number, case, context) in cves {
        let prefix = if case % 3 == 0 {
            "cve"
        } else if case % 3 == 1 {
            "CVE"
        } else {
            "Cve"
        };
        let cve = format!("{prefix}-{year:04}-{number:04}");
        item.push_str(&match context % 6 {
            0 => format!(" {cve}"),
            1 => format!(" ({cve})"),
            2 => format!("\n  KLP: {cve}"),
            3 => format!("\n  References: bsc#12345 {cve},"),
            4 => format!(" [{cve}]."),
            _ => format!("\n{cve}:"),
        });
    }
    item
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn rpm_version_order_is_antisymmetric_and_transitive(a in rpm_version(), b in rpm_version(), c in rpm_version()) {
        invariants::rpm_vercmp(format!("{a}\n{b}\n{c}").as_bytes());
        use klp::pkg::vercmp::rpmvercmp;
        let mut forward = [a.clone(), b.clone(), c.clone()];
        let mut backward = [c, b, a];
        forward.sort_by(|x, y| rpmvercmp(x, y));
        backward.sort_by(|x, y| rpmvercmp(x, y));
        for (x, y) in forward.iter().zip(&backward) {
            prop_assert_eq!(rpmvercmp(x, y), std::cmp::Ordering::Equal, "sorted orders agree");
        }
    }

    #[test]
    fn package_versions_order_numerically(v in 1u32..200, w in 1u32..200, r in 1u32..30, s in 1u32..30) {
        use klp::pkg::vercmp::Edition;
        let a = Edition::parse(&format!("{v}-150600.{r}.1"));
        let b = Edition::parse(&format!("{w}-150600.{s}.1"));
        prop_assert_eq!(a.cmp_rpm(&b), v.cmp(&w).then(r.cmp(&s)));
        prop_assert_eq!(Edition::parse(&a.to_string()), a);
    }

    #[test]
    fn changelog_parsing_never_loses_a_cve(
        entries in prop::collection::vec(prop::collection::vec(prop::collection::vec((1999u16..2030, 1u32..200_000, any::<u8>(), any::<u8>()), 0..4), 1..4), 0..5),
    ) {
        let texts: Vec<String> = entries.iter().map(|items| items.iter().cloned().map(changelog_item).collect::<Vec<_>>().join("\n")).collect();
        let log: Vec<klp::pkg::rpm::ChangelogEntry> = texts.iter().map(|t| klp::pkg::rpm::ChangelogEntry { time: 0, text: t.clone() }).collect();
        let fixes = klp::pkg::changelog::parse(&log);
        for (year, number, _, _) in entries.iter().flatten().flatten() {
            let cve = format!("CVE-{year:04}-{number:04}");
            prop_assert!(fixes.cves.contains(&cve), "{} lost: {:?}", cve, fixes.cves);
        }
        invariants::changelog(texts.join("\u{1e}").as_bytes());
    }
}
