//! cargo-fuzz target for PDF intake (`cargo +nightly fuzz run pdf_inspect`): whatever an
//! organisation uploads, `inspect` answers with a value or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = signgate::sealing::pdf::inspect(data);
});
