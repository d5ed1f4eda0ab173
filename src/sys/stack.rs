//! `/proc/<pid>/task/<tid>/stack` lines, and which patched functions they hold.
//!
//! The kernel prints one frame a line: `[<0>] msleep+0x2a/0x40` (addresses
//! are hidden from all but kptr_restrict-exempt readers, hence `<0>`), with
//! ` [module]` after symbols that live in a module.

use crate::report::{Culprit, StackFrame};
use std::collections::HashMap;

/// The frames of a `stack` file, blank lines skipped.
/// The frames of a `stack` file, blank lines skipped.
pub fn parse_stack(text: &str) -> Vec<StackFrame> {
    text.lines().filter(|l| !l.trim().is_empty()).map(parse_frame).collect()
}

pub(crate) fn parse_frame(line: &str) -> StackFrame {
    let text = line.trim_end().to_string();
    let mut rest = line.trim();
    // Strip the address column, `[<...>]`.
    if rest.starts_with("[<") {
        match rest.find(">]") {
            Some(end) => rest = rest[end + 2..].trim_start(),
            None => rest = "",
        }
    }
    let (symbol_part, module) = match rest.rfind(" [") {
        Some(start) if rest.ends_with(']') => {
            let module = &rest[start + 2..rest.len() - 1];
            (&rest[..start], (!module.is_empty()).then(|| module.to_string()))
        }
        _ => (rest, None),
    };
    let symbol = symbol_part.split('+').next().unwrap_or("").trim();
    let function = (!symbol.is_empty() && !symbol.starts_with("0x") && !symbol.contains(char::is_whitespace))
        .then(|| symbol.to_string());
    StackFrame { text, function, module }
}

/// A patched function as the culprit search needs it.
#[derive(Debug, Clone)]
pub struct PatchedSymbol {
    /// `vmlinux` or the module.
    pub object: String,
    /// The function's name.
    pub function: String,
}

/// Frames that keep a task from switching: a function of the transitioning
/// patch (matched with its object: no module for vmlinux), GCC's clones of it
/// (`name.isra.0`, `name.cold`), or any code of the patch module itself
/// (where unpatching tasks sit, in the replacement functions).
pub fn culprits(frames: &[StackFrame], patched: &[PatchedSymbol], patch_module: &str) -> Vec<Culprit> {
    CulpritIndex::new(patched, patch_module).find(frames)
}

/// The transitioning patch's functions, indexed once per scan: a hostile
/// root's stacks and patch set can both be huge, and neither frames x
/// functions nor an index per blocking thread may be the cost.
pub(crate) struct CulpritIndex {
    /// function -> the objects it is patched in, in the order given.
    objects_by_function: HashMap<String, Vec<String>>,
    patch_module: String,
}

impl CulpritIndex {
    pub(crate) fn new(patched: &[PatchedSymbol], patch_module: &str) -> Self {
        let mut objects_by_function: HashMap<String, Vec<String>> = HashMap::new();
        for p in patched {
            let objects = objects_by_function.entry(p.function.clone()).or_default();
            if !objects.contains(&p.object) {
                objects.push(p.object.clone());
            }
        }
        CulpritIndex { objects_by_function, patch_module: patch_module.to_string() }
    }

    pub(crate) fn find(&self, frames: &[StackFrame]) -> Vec<Culprit> {
        let mut found = Vec::new();
        for frame in frames {
            let Some(function) = frame.function.as_deref() else { continue };
            let base = function.split('.').next().unwrap_or(function);
            let object = frame.module.as_deref().unwrap_or("vmlinux");
            let patched = self.objects_by_function.get(base).is_some_and(|objects| objects.iter().any(|o| o == object));
            if patched {
                found.push(Culprit {
                    object: object.to_string(),
                    function: base.to_string(),
                    frame: frame.text.clone(),
                });
            } else if frame.module.as_deref() == Some(self.patch_module.as_str()) {
                found.push(Culprit {
                    object: self.patch_module.clone(),
                    function: function.to_string(),
                    frame: frame.text.clone(),
                });
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_with_and_without_module() {
        let f = parse_frame("[<0>] msleep+0x2a/0x40");
        assert_eq!((f.function.as_deref(), f.module.as_deref()), (Some("msleep"), None));
        let f = parse_frame("[<ffffffffc0a1b0c5>] busy_sleep+0x15/0x30 [klp_busy]");
        assert_eq!((f.function.as_deref(), f.module.as_deref()), (Some("busy_sleep"), Some("klp_busy")));
        let f = parse_frame("[<0>] 0xffffffffc0a1b0c5");
        assert_eq!(f.function, None);
        let f = parse_frame("garbage [");
        assert_eq!(f.function, None, "no symbol in a malformed line");
    }

    #[test]
    fn culprits_match_object_clones_and_patch_module() {
        let frames = parse_stack(
            "[<0>] msleep+0x2a/0x40\n[<0>] busy_sleep.isra.0+0x15/0x30 [klp_busy]\n\
             [<0>] cmdline_proc_show+0x1/0x2 [other]\n[<0>] klpp_foo+0x1/0x2 [livepatch_x]\n",
        );
        let patched = vec![
            PatchedSymbol { object: "klp_busy".into(), function: "busy_sleep".into() },
            PatchedSymbol { object: "vmlinux".into(), function: "cmdline_proc_show".into() },
        ];
        let found = culprits(&frames, &patched, "livepatch_x");
        let names: Vec<_> = found.iter().map(|c| (c.object.as_str(), c.function.as_str())).collect();
        assert_eq!(names, [("klp_busy", "busy_sleep"), ("livepatch_x", "klpp_foo")]);
    }
}
