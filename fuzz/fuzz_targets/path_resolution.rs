#![no_main]
#[path = "../../tests/it/hardening/invariants.rs"]
mod invariants;

libfuzzer_sys::fuzz_target!(|data: &[u8]| invariants::path_resolution(data));
