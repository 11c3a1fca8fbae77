//! cargo-fuzz target for `crate::trust::tsl::parse_bytes` (`cargo +nightly fuzz run
//! tsl_parse`, seed with the XML files of shared/data). The parser must never panic;
//! successful parses are also serialised and walked through the public helpers.
//!
//! Owns: the fuzz entry point. Must not: verify signatures or decide trust.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signgate::trust::tsl;

fuzz_target!(|data: &[u8]| {
    if let Ok(tl) = tsl::parse_bytes(data) {
        let _ = tl.count_services_by_type();
        let _ = tl.service_count();
        let _ = tl.xml_pointers().count();
        let _ = tl.has_errors();
        for (_, s) in tl.services() {
            let _ = s.type_suffix();
            let _ = s.status_suffix();
        }
        let _ = serde_json::to_vec(&tl);
    }
});
