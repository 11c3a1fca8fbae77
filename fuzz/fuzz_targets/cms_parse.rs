//! cargo-fuzz target for CMS intake (`cargo +nightly fuzz run cms_parse`): whatever bytes
//! arrive as a `.p7m`/`.p7s`, a PDF `/Contents` or a time-stamp token, parsing, signer
//! verification and the CAdES reader answer with a value or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signgate::validation::{cades, cms, evidence::TimestampKind, tsp};

fuzz_target!(|data: &[u8]| {
    if let Ok(sd) = cms::parse_signed_data(data) {
        let _ = (sd.certificates(), sd.crls(), sd.ocsps());
        for i in 0..sd.signer_count().min(4) {
            let _ = sd.verify_signer(i, &cms::Content::Attached);
            let _ = sd.verify_signer(
                i,
                &cms::Content::Ranges { data, ranges: vec![(0, 8), (16, 1 << 20)] },
            );
        }
    }
    let _ = tsp::check_timestamp("TS-1".into(), TimestampKind::Signature, data, &|a| {
        a.digest(b"")
    });
    let _ = cades::read_cades(data, Some(b"detached"));
});
