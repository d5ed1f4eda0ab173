use super::Context;
use crate::cli::PatchesArgs;
use crate::pkg::{backend, info};
use crate::report::{Effect, FunctionEffect, PatchInfo, PatchOrder, PatchesReport, SchemaVersion};
use crate::sys::livepatch;
use crate::Result;

pub(crate) fn run(ctx: &Context, args: &PatchesArgs) -> Result<PatchesReport> {
    let patches = livepatch::read_patches(&ctx.sys, true)?;
    let supported = patches.is_some();
    let mut patches = patches.unwrap_or_default();
    let order = livepatch::patch_order(&patches);
    if order == PatchOrder::StackOrder {
        let effects = function_effects(&patches);
        for (patch, effect) in patches.iter_mut().zip(effects) {
            patch.effect = Some(effect);
        }
    }
    let mut warnings = Vec::new();
    let mut selected = None;
    if ctx.verbosity >= 1 {
        let names: Vec<String> = patches.iter().map(|p| p.name.clone()).collect();
        let options = info::Options { verbosity: ctx.verbosity, refresh: args.refresh };
        let backend = backend::select(ctx.sys.root(), ctx.backend);
        let (infos, package_warnings) =
            info::describe(ctx.sys.root(), ctx.sys.kernel_release().as_deref(), &names, &options, &backend);
        for (patch, package) in patches.iter_mut().zip(infos) {
            patch.package = Some(package);
        }
        warnings = package_warnings;
        selected = Some(backend.report());
    }
    Ok(PatchesReport {
        schema_version: SchemaVersion,
        supported,
        verbosity: ctx.verbosity,
        order,
        patches,
        backend: selected,
        warnings,
    })
}

/// For each patch (sorted by stack order), what runs for each of its
/// functions. Per function the kernel runs the highest patch that has it,
/// enabled and on a patched object; while that one is in transition, each
/// task runs it or the next one below, by its own `patch_state`.
fn function_effects(patches: &[PatchInfo]) -> Vec<Vec<FunctionEffect>> {
    use std::collections::HashMap;
    let live = |p: &PatchInfo, patched: Option<bool>| (p.enabled || p.transition) && patched != Some(false);
    // Function -> indexes of the patches whose version can run, top first.
    let mut stacks: HashMap<(&str, &str, u32), Vec<usize>> = HashMap::new();
    for (index, patch) in patches.iter().enumerate().rev() {
        for object in patch.objects.iter().filter(|o| live(patch, o.patched)) {
            for f in &object.functions {
                stacks.entry((&object.name, &f.name, f.sympos)).or_default().push(index);
            }
        }
    }
    let effect_of = |index: usize, key: (&str, &str, u32), live: bool| {
        let stack = stacks.get(&key).map(Vec::as_slice).unwrap_or_default();
        let switching = stack.first().is_some_and(|&top| patches[top].transition);
        let in_effect = stack.first().filter(|_| !switching).map(|&top| patches[top].name.clone());
        let effect = match stack.iter().position(|&i| i == index) {
            _ if !live => Effect::Inactive,
            Some(0) if !switching => Effect::InEffect,
            Some(0 | 1) if switching => Effect::Transition,
            _ => Effect::Superseded,
        };
        (effect, in_effect)
    };
    patches
        .iter()
        .enumerate()
        .map(|(index, patch)| {
            let mut effects = Vec::new();
            for object in &patch.objects {
                for f in &object.functions {
                    let key = (object.name.as_str(), f.name.as_str(), f.sympos);
                    let (effect, in_effect) = effect_of(index, key, live(patch, object.patched));
                    effects.push(FunctionEffect {
                        object: object.name.clone(),
                        function: f.name.clone(),
                        sympos: f.sympos,
                        effect,
                        in_effect,
                    });
                }
            }
            effects
        })
        .collect()
}
