//! The contract of every parser of outside input, as one check per parser
//! taking raw bytes. Shared word for word by the fuzz targets
//! (`fuzz/fuzz_targets/*.rs` include this file) and by the corpus replay and
//! property tests, so a fuzz finding and a CI failure mean the same thing.
//!
//! Each check panics when the parser panics or breaks its invariant.
#![allow(dead_code)]

use klp::pkg::{changelog as pkg_changelog, lifecycle as pkg_lifecycle, naming, rpm, vercmp, zypper};
use klp::sys::{livepatch, stack, tasks};
use std::cmp::Ordering;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A parser check on raw input.
pub type Check = fn(&[u8]);

/// (fuzz target name, check) for every parser; the corpus lives in
/// `fuzz/corpus/<name>/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("sys_value", sys_value),
    ("function_dir", function_dir),
    ("patch_name_order", patch_name_order),
    ("stack", stack_trace),
    ("patch_state", patch_state),
    ("cmdline", cmdline),
    ("task_stat", task_stat),
    ("mountinfo", mountinfo),
    ("rpm_vercmp", rpm_vercmp),
    ("changelog", changelog),
    ("rpm_records", rpm_records),
    ("zypper_search", zypper_search),
    ("lifecycle", lifecycle),
    ("package_names", package_names),
    ("path_resolution", path_resolution),
    ("bounded_read", bounded_read),
];

/// Kernel attribute files are read lossily (`sys::read_small`), so parsers
/// see what this gives.
fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// `enabled`, `transition`, `replace`, `stack_order`, `patched`, `tainted`:
/// accepted values are canonical `"%d"` and read back as themselves
/// (printing them gives the text again); rejections are
/// `malformed_value` errors naming the file, with a bounded excerpt.
pub fn sys_value(data: &[u8]) {
    let path = Path::new("/r/sys/kernel/livepatch/p/enabled");
    let text = text(data);
    let value = text.strip_suffix('\n').unwrap_or(&text);
    match klp::sys::parse_int::<i64>(path, &text, "an integer") {
        Ok(n) => {
            assert_eq!(value.parse::<i64>().ok(), Some(n));
            assert_eq!(n.to_string(), value, "only what %d prints");
        }
        Err(err) => {
            assert_eq!(err.code(), "malformed_value");
            assert_eq!(err.path(), Some(path));
            let details = serde_json::to_value(err.problem()).unwrap()["details"].take();
            let shown = details["content"].as_str().unwrap();
            assert!(shown.chars().count() <= 65, "excerpt bounded: {shown:?}");
            assert!(text.starts_with(shown.trim_end_matches('…')));
            let _ = err.to_string();
        }
    }
    for n in [
        klp::sys::parse_int::<u64>(path, &text, "u64").ok().map(i128::from),
        klp::sys::parse_int::<u32>(path, &text, "u32").ok().map(i128::from),
    ]
    .into_iter()
    .flatten()
    {
        assert!(n >= 0);
        assert_eq!(value.parse::<i128>().ok(), Some(n));
    }
    let as_int = klp::sys::parse_int::<i64>(path, &text, "0 or 1").ok();
    match klp::sys::parse_bool(path, &text) {
        Ok(flag) => assert_eq!(as_int, Some(i64::from(flag))),
        Err(err) => {
            assert!(!matches!(as_int, Some(0 | 1)), "{text:?} is a valid flag");
            assert_eq!(err.code(), "malformed_value");
        }
    }
}

/// `<function>,<sympos>` directory names: a parsed name is non-empty and,
/// with its position, spells the directory name.
pub fn function_dir(data: &[u8]) {
    let path = Path::new("/r/sys/kernel/livepatch/p/vmlinux").join(OsStr::from_bytes(data));
    let dir_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match livepatch::parse_function_dir(&path) {
        Ok(f) => {
            assert!(!f.name.is_empty());
            let rest = dir_name.strip_prefix(f.name.as_str()).and_then(|r| r.strip_prefix(',')).expect("name,position");
            assert!(!rest.contains(','), "split at the last comma");
            assert_eq!(rest.parse::<u32>().ok(), Some(f.sympos));
        }
        Err(err) => assert_eq!(err.code(), "malformed_value"),
    }
}

/// Patch directory names sort in a total order: antisymmetric, transitive,
/// equal only when identical, so the output order never depends on the
/// order the directory was listed in. Input: names separated by newlines.
pub fn patch_name_order(data: &[u8]) {
    let text = text(data);
    let names: Vec<&str> = text.split('\n').take(4).collect();
    for a in &names {
        for b in &names {
            let ab = livepatch::natural_cmp(a, b);
            assert_eq!(ab, livepatch::natural_cmp(b, a).reverse(), "antisymmetric: {a:?} {b:?}");
            assert_eq!(ab == std::cmp::Ordering::Equal, a == b, "equal only if identical: {a:?} {b:?}");
            for c in &names {
                if ab.is_le() && livepatch::natural_cmp(b, c).is_le() {
                    assert!(livepatch::natural_cmp(a, c).is_le(), "transitive: {a:?} <= {b:?} <= {c:?}");
                }
            }
        }
    }
}

/// The patched functions the culprit checks use: the stuck scenario's, plus
/// the first frame's own function so that random stacks hit too.
fn patched_set(frames: &[klp::report::StackFrame]) -> Vec<stack::PatchedSymbol> {
    let mut set = vec![
        stack::PatchedSymbol { object: "vmlinux".into(), function: "cmdline_proc_show".into() },
        stack::PatchedSymbol { object: "klp_busy".into(), function: "busy_sleep".into() },
    ];
    if let Some(frame) = frames.first() {
        if let Some(function) = &frame.function {
            let object = frame.module.clone().unwrap_or_else(|| "vmlinux".into());
            set.push(stack::PatchedSymbol { object, function: function.split('.').next().unwrap().into() });
        }
    }
    set
}

pub const PATCH_MODULE: &str = "livepatch_2_150600_2_1";

/// Stack traces: every non-blank line is kept as one frame, in order and
/// verbatim (less trailing blanks); symbols and modules come from the line;
/// culprits name only patched functions or code of the patch module.
pub fn stack_trace(data: &[u8]) {
    let text = text(data);
    let frames = stack::parse_stack(&text);
    // Lines as the kernel separates them: '\n', with a stray '\r' dropped.
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| l.chars().any(|c| !c.is_whitespace()))
        .collect();
    assert_eq!(frames.len(), lines.len(), "every line is a frame: {text:?}");
    for (frame, line) in frames.iter().zip(&lines) {
        assert_eq!(frame.text, line.trim_end());
        if let Some(function) = &frame.function {
            assert!(!function.is_empty() && !function.starts_with("0x"));
            assert!(!function.contains(char::is_whitespace) && !function.contains('+'));
            assert!(line.contains(function.as_str()));
        }
        if let Some(module) = &frame.module {
            assert!(!module.is_empty());
            assert!(line.trim_end().ends_with(&format!("[{module}]")));
        }
    }
    let patched = patched_set(&frames);
    let culprits = stack::culprits(&frames, &patched, PATCH_MODULE);
    assert!(culprits.len() <= frames.len());
    let mut next_frame = 0;
    for culprit in &culprits {
        let at = frames[next_frame..].iter().position(|f| f.text == culprit.frame).expect("culprits in frame order")
            + next_frame;
        next_frame = at + 1;
        let frame = &frames[at];
        let from_patch = patched.iter().any(|p| p.object == culprit.object && p.function == culprit.function);
        let in_module = culprit.object == PATCH_MODULE
            && frame.module.as_deref() == Some(PATCH_MODULE)
            && frame.function.as_deref() == Some(culprit.function.as_str());
        assert!(from_patch || in_module, "culprit {culprit:?} is neither patched nor in the patch module");
        if from_patch {
            let base = frame.function.as_deref().unwrap().split('.').next().unwrap();
            assert_eq!(base, culprit.function);
        }
    }
    for frame in &frames {
        let named = frame.function.as_ref().is_some_and(|f| {
            let base = f.split('.').next().unwrap();
            let object = frame.module.as_deref().unwrap_or("vmlinux");
            patched.iter().any(|p| p.function == base && p.object == object)
        });
        if named || frame.module.as_deref() == Some(PATCH_MODULE) && frame.function.is_some() {
            assert!(
                culprits.iter().any(|c| c.frame == frame.text),
                "frame {frame:?} holds a patched function but is no culprit"
            );
        }
    }
}

/// `patch_state`: exactly -1, 0 or 1 with an optional newline; else an error.
pub fn patch_state(data: &[u8]) {
    let path = Path::new("/r/proc/1/task/1/patch_state");
    let expected = match data {
        b"-1" | b"-1\n" => Some(-1),
        b"0" | b"0\n" => Some(0),
        b"1" | b"1\n" => Some(1),
        _ => None,
    };
    match tasks::parse_patch_state(path, data) {
        Ok(state) => assert_eq!(Some(state), expected),
        Err(err) => {
            assert_eq!(expected, None);
            assert_eq!(err.code(), "malformed_value");
        }
    }
}

/// `cmdline`: NUL-separated arguments, none lost or invented.
pub fn cmdline(data: &[u8]) {
    let args = tasks::split_cmdline(data);
    let body = data.strip_suffix(&[0]).unwrap_or(data);
    match args {
        None => assert!(body.is_empty()),
        Some(args) => {
            assert_eq!(args.len(), body.iter().filter(|&&b| b == 0).count() + 1);
            assert_eq!(args.join("\0"), String::from_utf8_lossy(body));
        }
    }
}

/// `stat`: comm is what lies between the first `(` and the last `)`.
pub fn task_stat(data: &[u8]) {
    if let Some(stat) = tasks::parse_stat(data) {
        let open = data.iter().position(|&b| b == b'(').unwrap();
        let close = data.iter().rposition(|&b| b == b')').unwrap();
        assert_eq!(stat.comm, String::from_utf8_lossy(&data[open + 1..close]));
        assert!(stat.state.is_ascii_alphabetic());
        let after = format!(") {} ", stat.state);
        assert!(data[close..].starts_with(after.as_bytes()));
    }
}

/// `mountinfo`: first line is the mount point asked about, the rest the
/// file. hidepid is only ever reported from a proc line at that point.
pub fn mountinfo(data: &[u8]) {
    let text = text(data);
    let (mount_point, body) = text.split_once('\n').unwrap_or(("/proc", text.as_str()));
    if tasks::mountinfo_hides_pids(body, mount_point) {
        assert!(body.lines().any(|l| l.contains(" - proc ") && l.contains("hidepid=") && l.contains(mount_point)));
    }
}

/// RPM version order (rpmvercmp) and editions: antisymmetric, transitive,
/// reflexive; an edition prints back to what parses to it. Input: up to
/// three versions separated by newlines.
pub fn rpm_vercmp(data: &[u8]) {
    let text = text(data);
    let versions: Vec<&str> = text.split('\n').take(3).collect();
    for a in &versions {
        assert_eq!(vercmp::rpmvercmp(a, a), Ordering::Equal);
        let edition = vercmp::Edition::parse(a);
        // rpm allows no '-' in a version or release; such editions print back.
        if !edition.version.contains('-') && !edition.version.contains(':') {
            assert_eq!(vercmp::Edition::parse(&edition.to_string()), edition, "edition round trip of {a:?}");
        }
        for b in &versions {
            let ab = vercmp::rpmvercmp(a, b);
            assert_eq!(ab, vercmp::rpmvercmp(b, a).reverse(), "antisymmetric: {a:?} {b:?}");
            let (ea, eb) = (vercmp::Edition::parse(a), vercmp::Edition::parse(b));
            assert_eq!(ea.cmp_rpm(&eb), eb.cmp_rpm(&ea).reverse(), "editions antisymmetric: {a:?} {b:?}");
            for c in &versions {
                if ab.is_le() && vercmp::rpmvercmp(b, c).is_le() {
                    assert!(vercmp::rpmvercmp(a, c).is_le(), "transitive: {a:?} <= {b:?} <= {c:?}");
                }
            }
        }
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Every `CVE-YYYY-NNNN...` standing as a word in `text`, uppercased: an
/// independent scanner, not the parser's regex.
pub fn cves_in(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for start in 0..bytes.len() {
        if bytes.len() - start < 13 || !bytes[start..start + 4].eq_ignore_ascii_case(b"cve-") {
            continue;
        }
        if start > 0 && is_word(bytes[start - 1]) {
            continue;
        }
        let year = &bytes[start + 4..start + 8];
        let digits = bytes[start + 9..].iter().take_while(|b| b.is_ascii_digit()).count();
        let end = start + 9 + digits;
        if year.iter().all(u8::is_ascii_digit)
            && bytes[start + 8] == b'-'
            && digits >= 4
            && !bytes.get(end).is_some_and(|&b| is_word(b))
        {
            found.push(text[start..end].to_ascii_uppercase());
        }
    }
    found
}

/// Changelog entries (split at 0x1e): no CVE named in the text is lost,
/// none is invented, each is listed once; a bug tied to a CVE is not also a
/// separate fix.
pub fn changelog(data: &[u8]) {
    let text = text(data);
    let entries: Vec<rpm::ChangelogEntry> =
        text.split('\u{1e}').map(|t| rpm::ChangelogEntry { time: 0, text: t.to_string() }).collect();
    let fixes = pkg_changelog::parse(&entries);
    let expected = cves_in(&text);
    for cve in &expected {
        assert!(fixes.cves.contains(cve), "{cve} lost from {text:?}: {fixes:?}");
    }
    for cve in &fixes.cves {
        assert!(expected.contains(cve), "{cve} invented");
    }
    let mut unique = fixes.cves.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), fixes.cves.len(), "each CVE once");
    let mut bugs = fixes.fixes.clone();
    bugs.sort();
    bugs.dedup();
    assert_eq!(bugs.len(), fixes.fixes.len(), "each fix once");
    for bug in &fixes.fixes {
        assert!(text.to_ascii_lowercase().contains(&bug.to_ascii_lowercase()), "{bug} invented");
    }
}

/// rpm --qf records (0x1e .. 0x1c, fields 0x1f, items 0x1d): at most one
/// package per record, name/version/release/arch never hold a separator.
/// (A file name may: file names can hold any byte but '/' and NUL.)
pub fn rpm_records(data: &[u8]) {
    let text = text(data);
    let records = rpm::parse_records(&text);
    assert!(records.len() <= text.matches('\u{1e}').count());
    let separators = ['\u{1e}', '\u{1c}', '\u{1f}', '\u{1d}'];
    for package in &records {
        for field in [&package.name, &package.version, &package.release, &package.arch] {
            assert!(!field.contains(separators), "separator in field {field:?}");
        }
        let _ = (package.nevra(), package.edition());
    }
}

/// zypper --xmlout search: no panic; every solvable read is a
/// `<solvable>` element of the text.
pub fn zypper_search(data: &[u8]) {
    let text = text(data);
    if let Ok(solvables) = zypper::parse_search(&text) {
        assert!(solvables.len() <= text.matches("solvable").count());
        for solvable in &solvables {
            let _ = (solvable.edition(), solvable.is_system());
        }
    }
}

/// Lifecycle data: first line `name,version,release` asked for, the rest
/// the file. A date found is a real date from a line of the file.
pub fn lifecycle(data: &[u8]) {
    let text = text(data);
    let (query, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    let mut query = query.splitn(3, ',');
    let (name, version, release) = (query.next().unwrap_or(""), query.next().unwrap_or(""), query.next().unwrap_or(""));
    if let Some(date) = pkg_lifecycle::lookup_in(body, name, version, release) {
        assert!(pkg_lifecycle::is_date(&date), "{date:?}");
        assert!(body.lines().any(|l| l.contains(date.as_str())));
        let next = pkg_lifecycle::plus_one_year(&date);
        assert!(pkg_lifecycle::is_date(&next) && next > date, "{date} + 1 year = {next}");
    }
}

/// Kernel release and patch names to package names: what is derived spells
/// back the input.
pub fn package_names(data: &[u8]) {
    let text = text(data);
    if let Some((version, release, flavor)) = naming::split_kernel_release(&text) {
        assert_eq!(format!("{version}-{release}-{flavor}"), text);
        let package = naming::livepatch_package(&text).expect("a split release names a package");
        assert!(package.starts_with("kernel-livepatch-") && package.ends_with(&format!("-{flavor}")));
        assert!(!flavor.contains('-') && !version.contains('-'), "{text:?} split at the wrong dash");
        assert!(!version.is_empty() && !release.is_empty() && !flavor.is_empty());
    }
    if let Some((version, release)) = naming::edition_from_patch_name(&text) {
        assert_eq!(format!("livepatch_{version}_{}", release.replace('.', "_")), text);
        assert!(version.bytes().all(|b| b.is_ascii_digit()) && !version.is_empty());
    }
}

/// A scratch directory of our own, removed when dropped (std only: the
/// fuzz targets include this file and have no tempfile).
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(what: &str) -> Scratch {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("klp-{what}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Paths tried by the hardening tests (and the fuzz target's seeds).
pub const RESOLVE_SEEDS: &[&str] = &[
    "a/b/file",
    "/a/b/file",
    "lib/x",
    "abs/file",
    "up/canary",
    "up/a/b/file",
    "upfile",
    "abscanary",
    "loop1",
    "loop1/x",
    "self/self/a/b/file",
    "magic",
    "magic/canary",
    "../canary",
    "../../root/a/b/file",
    "a/b/file/",
    "a/b/file/..",
    "",
    "/",
    ".",
    "dir_link/b/../b/file",
    "a//b///file",
    "lib/../lib/x",
    "a/b/deep",
    "a/b/deep2",
];

/// Path resolution under an untrusted root: `openat2` (RESOLVE_IN_ROOT)
/// and the fallback walk open the same file or fail the same way, and
/// neither ever opens the canary outside the root.
pub fn path_resolution(data: &[u8]) {
    use klp::sys::fs::{Accept, Dir, Failure, Resolver};
    use std::os::unix::fs::{symlink, MetadataExt};
    let scratch = Scratch::new("resolve");
    let canary = scratch.0.join("canary");
    std::fs::write(&canary, "outside\n").unwrap();
    let root = scratch.0.join("root");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    std::fs::write(root.join("a/b/file"), "inside\n").unwrap();
    std::fs::write(root.join("usr/lib/x"), "libx\n").unwrap();
    std::fs::write(root.join("canary"), "the root's own\n").unwrap();
    for (link, target) in [
        ("lib", "usr/lib".to_string()),
        ("abs", "/a/b".to_string()),
        ("up", "../../..".to_string()),
        ("upfile", "../canary".to_string()),
        ("abscanary", canary.display().to_string()),
        ("loop1", "loop2".to_string()),
        ("loop2", "loop1".to_string()),
        ("self", ".".to_string()),
        ("magic", "/proc/self/root".to_string()),
        ("dir_link", "a".to_string()),
        ("a/b/deep", "../../up/upfile".to_string()),
        ("a/b/deep2", "/../../abscanary".to_string()),
    ] {
        symlink(target, root.join(link)).unwrap();
    }
    let canary_ino = std::fs::metadata(&canary).unwrap().ino();
    let path = Path::new(OsStr::from_bytes(&data[..data.len().min(4096)]));
    let open = |resolver| {
        let dir = Dir::open_root_with(&root, resolver).unwrap();
        dir.open_file(path, Accept::Regular).map(|f| f.metadata().unwrap().ino()).map_err(|e| e.failure())
    };
    let walked = open(Resolver::Walk);
    assert_ne!(walked, Ok(canary_ino), "walk escaped the root: {path:?}");
    let resolved = open(Resolver::Openat2);
    assert_ne!(resolved, Ok(canary_ino), "openat2 escaped the root: {path:?}");
    let openat2_missing = resolved == Err(Failure::Other) && walked != Err(Failure::Other);
    if !openat2_missing {
        assert_eq!(walked, resolved, "the walk and openat2 disagree on {path:?}");
    }
}

/// Bounded reads: at most `limit` bytes, the file's beginning, and
/// `truncated` exactly when it held more. The first byte picks the limit.
pub fn bounded_read(data: &[u8]) {
    use klp::sys::fs::{Dir, ReadError};
    let Some((&first, body)) = data.split_first() else { return };
    let limit = usize::from(first) * 3;
    let scratch = Scratch::new("read");
    std::fs::write(scratch.0.join("f"), body).unwrap();
    let dir = Dir::open_root(&scratch.0).unwrap();
    let contents = dir.read("f", limit).unwrap();
    assert_eq!(contents.bytes, body[..body.len().min(limit)]);
    assert_eq!(contents.truncated, body.len() > limit);
    match dir.read_whole("f", limit) {
        Ok(bytes) => assert!(body.len() <= limit && bytes == body),
        Err(ReadError::TooLarge(n)) => assert!(n == limit && body.len() > limit),
        Err(e) => panic!("{e:?}"),
    }
    let mut buf = vec![0u8; usize::from(first % 17)];
    match dir.read_into("f", &mut buf) {
        Ok(n) => assert!(n == body.len() && buf[..n] == *body),
        Err(ReadError::TooLarge(n)) => assert!(n == buf.len() && body.len() > n),
        Err(e) => panic!("{e:?}"),
    }
}
