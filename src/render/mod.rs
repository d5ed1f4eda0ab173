//! The classic text format, rendered from the same reports as the JSON.
//!
//! Compatibility contract (see the facts in README): `status` prints exactly
//! `ready` or `in_progress`; `check` prints nothing; `patches` prints names,
//! and with `-v` one block per patch: the name unindented, then 4-space
//! indented `key: value` lines, a blank line between patches. Parsers in the
//! field abort on any indented line that is not `key: value`, so everything
//! beyond the classic keys is more `key: value` lines after them.

mod text;

pub use text::render;
