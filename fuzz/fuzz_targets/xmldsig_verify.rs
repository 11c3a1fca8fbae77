//! cargo-fuzz target for the XML-DSig engine (`cargo +nightly fuzz run xmldsig_verify`, seed
//! with tests/data/**/*.xml): parsing and enveloped-signature verification must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signgate::trust::xmldsig::{self, DsigPolicy};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = xmldsig::decode_utf8(data)
        && let Ok(doc) = xmldsig::parse_document(text)
    {
        let _ = xmldsig::verify_enveloped(&doc, &[], &DsigPolicy::default());
    }
});
