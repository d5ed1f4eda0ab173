//! `/sys/kernel/livepatch`: the loaded patches.
//!
//! Only `enabled` and `transition` are relied on; `replace` (6.11),
//! `stack_order` (6.14) and `<object>/patched` (6.1) are read when present
//! and simply absent otherwise. A patch whose directory disappears while we
//! read it (replaced by an atomic-replace patch) is skipped.

use super::fs::{Dir, Failure};
use super::{parse_bool, parse_stack_order, read_attr, SysRoot};
use crate::error::{Error, Result};
use crate::report::{Direction, PatchInfo, PatchOrder, PatchedFunction, PatchedObject, Transition};
use std::ffi::{OsStr, OsString};
use std::path::Path;

/// Where the kernel puts live patches, under the root.
const LIVEPATCH: &str = "sys/kernel/livepatch";

/// The loaded patches sorted as [`patch_order`] says, or `None` when the
/// kernel has no live patching (`sys/kernel` there, `livepatch` not).
/// Without `sys/kernel` at all sysfs is not mounted: [`Error::SysfsMissing`].
/// Objects and functions are read only when `with_objects` is set, so that
/// `status` stays a few reads per patch; the package facts (`package`) are
/// the package layer's to fill in.
pub(crate) fn read_patches(sys: &SysRoot, with_objects: bool) -> Result<Option<Vec<PatchInfo>>> {
    let dir = match sys.fs().dir(LIVEPATCH) {
        Ok(dir) => dir,
        Err(e) if e.is_gone() => {
            sys.require_sysfs()?;
            return Ok(None);
        }
        Err(e) => return Err(e.into_error(&sys.livepatch_dir())),
    };
    let mut patches = Vec::new();
    // A patch that cannot be opened must fail the command, not vanish from
    // it: "no patches" would be a wrong answer.
    for name in dir.subdirs().map_err(|e| e.into_error(dir.path()))? {
        let patch_dir = match dir.dir(&name) {
            Ok(patch_dir) => patch_dir,
            Err(e) if e.is_gone() => continue,
            Err(e) => return Err(e.into_error(&dir.display(&name))),
        };
        if let Some(patch) = read_patch(&dir, &patch_dir, &name, with_objects)? {
            patches.push(patch);
        }
    }
    sort_patches(&mut patches);
    Ok(Some(patches))
}

fn read_patch(parent: &Dir, dir: &Dir, name: &OsStr, with_objects: bool) -> Result<Option<PatchInfo>> {
    let gone = || !parent.exists(name);
    let Some(enabled) = read_flag(dir, "enabled", gone)? else { return Ok(None) };
    // `transition` appeared in 4.12; before it, nothing can be in transition.
    let transition = match optional_attr(dir, "transition", parse_bool)? {
        Some(transition) => transition,
        None if gone() => return Ok(None),
        None => false,
    };
    let replace = optional_attr(dir, "replace", parse_bool)?;
    let stack_order = optional_attr(dir, "stack_order", parse_stack_order)?;
    let objects = if with_objects { read_objects(dir)? } else { Vec::new() };
    let name = name.to_string_lossy().into_owned();
    Ok(Some(PatchInfo { name, enabled, transition, replace, stack_order, objects, effect: None, package: None }))
}

/// An attribute that older kernels lack, parsed; `None` when absent.
fn optional_attr<T>(dir: &Dir, file: &str, parse: impl Fn(&Path, &str) -> Result<T>) -> Result<Option<T>> {
    read_attr(dir, file)?.map(|text| parse(&dir.display(file), &text)).transpose()
}

/// A required 0/1 file; `None` when the whole patch directory has gone.
fn read_flag(dir: &Dir, file: &str, gone: impl Fn() -> bool) -> Result<Option<bool>> {
    match read_attr(dir, file)? {
        Some(text) => parse_bool(&dir.display(file), &text).map(Some),
        None if gone() => Ok(None),
        None => Err(Error::MissingFile { path: dir.display(file) }),
    }
}

/// The objects and functions of one loaded patch (empty if it has gone).
pub(crate) fn read_patch_objects(sys: &SysRoot, patch: &str) -> Result<Vec<PatchedObject>> {
    let rel = Path::new(LIVEPATCH).join(patch);
    match sys.fs().dir(&rel) {
        Ok(dir) => read_objects(&dir),
        Err(e) if e.is_gone() => Ok(Vec::new()),
        Err(e) => Err(e.into_error(&sys.fs().display(&rel))),
    }
}

fn read_objects(dir: &Dir) -> Result<Vec<PatchedObject>> {
    let mut objects = Vec::new();
    for name in subdirs(dir)? {
        let object_dir = match dir.dir(&name) {
            Ok(object_dir) => object_dir,
            Err(e) if e.is_gone() => continue,
            Err(e) => return Err(e.into_error(&dir.display(&name))),
        };
        let patched = optional_attr(&object_dir, "patched", parse_bool)?;
        let mut functions = Vec::new();
        for func in subdirs(&object_dir)? {
            functions.push(parse_function_dir(&object_dir.display(&func))?);
        }
        functions.sort_by(|a: &PatchedFunction, b| (&a.name, a.sympos).cmp(&(&b.name, b.sympos)));
        objects.push(PatchedObject { name: name.to_string_lossy().into_owned(), patched, functions });
    }
    // vmlinux first, then modules by name: the order people expect.
    objects.sort_by(|a, b| (a.name != "vmlinux", &a.name).cmp(&(b.name != "vmlinux", &b.name)));
    Ok(objects)
}

/// `<func>,<sympos>` as the kernel names function directories.
pub fn parse_function_dir(path: &Path) -> Result<PatchedFunction> {
    let dir_name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let function = dir_name
        .rsplit_once(',')
        .filter(|(name, pos)| !name.is_empty() && super::is_kernel_decimal(pos))
        .and_then(|(name, pos)| Some(PatchedFunction { name: name.to_string(), sympos: pos.parse().ok()? }));
    function.ok_or_else(|| super::malformed(path, &dir_name, "a directory named <function>,<sympos>"))
}

/// Subdirectory names, sorted; a directory that vanished has none.
fn subdirs(dir: &Dir) -> Result<Vec<OsString>> {
    match dir.subdirs() {
        Ok(names) => Ok(names),
        Err(e) if e.failure() == Failure::Gone => Ok(Vec::new()),
        Err(e) => Err(e.into_error(dir.path())),
    }
}

/// How patches are ordered: by the kernel's stack order when every patch
/// has one, else by name (numbers as numbers).
pub(crate) fn patch_order(patches: &[PatchInfo]) -> PatchOrder {
    if !patches.is_empty() && patches.iter().all(|p| p.stack_order.is_some()) {
        PatchOrder::StackOrder
    } else {
        PatchOrder::Name
    }
}

fn sort_patches(patches: &mut [PatchInfo]) {
    match patch_order(patches) {
        PatchOrder::StackOrder => patches.sort_by(|a, b| (a.stack_order, &a.name).cmp(&(b.stack_order, &b.name))),
        PatchOrder::Name => patches.sort_by(|a, b| natural_cmp(&a.name, &b.name)),
    }
}

/// Compares names with digit runs as numbers: `livepatch_9_x` < `livepatch_10_x`.
/// Names equal but for leading zeros (`p_01`, `p_1`) fall back to byte order,
/// so the result never depends on the order the directory was listed in.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    numeric_cmp(a, b).then_with(|| a.cmp(b))
}

fn numeric_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let na = trim_zeros(&a[..da]);
                let nb = trim_zeros(&b[..db]);
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[zeros..]
}

/// The transition in progress, from the patches' `transition` and `enabled`.
/// The kernel allows one; should two claim it, the first by order wins and
/// the caller is told through the second value.
pub(crate) fn current_transition(patches: &[PatchInfo]) -> (Option<Transition>, usize) {
    let mut in_transition = patches.iter().filter(|p| p.transition);
    let first = in_transition.next().map(|p| Transition {
        patch: p.name.clone(),
        direction: if p.enabled { Direction::Patching } else { Direction::Unpatching },
        target_state: u8::from(p.enabled),
    });
    (first, in_transition.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers_as_numbers() {
        let mut names = vec!["livepatch_10_1", "livepatch_9_1", "livepatch_1_1", "a", "livepatch_010_0"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["a", "livepatch_1_1", "livepatch_9_1", "livepatch_010_0", "livepatch_10_1"]);
    }

    #[test]
    fn natural_order_is_total_with_leading_zeros() {
        use std::cmp::Ordering;
        assert_eq!(natural_cmp("p_01", "p_1"), Ordering::Less);
        assert_eq!(natural_cmp("p_1", "p_01"), Ordering::Greater);
        assert_eq!(natural_cmp("p_1", "p_1"), Ordering::Equal);
        let mut forward = vec!["p_1", "p_01", "p_001"];
        let mut backward = vec!["p_001", "p_1", "p_01"];
        forward.sort_by(|a, b| natural_cmp(a, b));
        backward.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(forward, backward, "listing order does not leak into the output");
    }

    #[test]
    fn function_dir_needs_name_and_position() {
        let ok = parse_function_dir(Path::new("/x/cmdline_proc_show,1")).unwrap();
        assert_eq!(ok, PatchedFunction { name: "cmdline_proc_show".into(), sympos: 1 });
        for bad in ["/x/noposition", "/x/,1", "/x/f,abc", "/x/f,-1"] {
            assert!(parse_function_dir(Path::new(bad)).is_err(), "{bad}");
        }
    }
}
