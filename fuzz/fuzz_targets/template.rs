//! See `parley_domain::checks::template` for the invariants; this only feeds it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| parley_domain::checks::template(data));
