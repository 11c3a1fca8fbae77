//! cargo-fuzz target for the PAdES side of PDF validation (`cargo +nightly fuzz run
//! pdf_signatures`): whatever bytes arrive, `read_signatures` answers with signatures and
//! findings or a typed error, never a panic, and every byte range it hands out lies inside
//! the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = signgate::validation::pdf::read_signatures(data) {
        for s in &r.signatures {
            for &(offset, len) in &s.ranges {
                assert!(offset.checked_add(len).is_some_and(|end| end <= data.len()));
            }
            if s.byte_range_check.passed() {
                assert!(s.signed_revision.is_some());
            }
        }
        for w in r.revisions.windows(2) {
            assert!(w[0].end <= w[1].start);
        }
    }
});
