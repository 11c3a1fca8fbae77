//! cargo-fuzz target for XAdES reading (`cargo +nightly fuzz run xades_read`, seed with
//! tests/data/xades/**/*.xml): reading any bytes as XAdES, with or without a detached
//! document, must never panic and must stay bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signgate::validation::evidence::{Algorithms, Check, TimestampEvidence, TimestampKind};
use signgate::validation::xades;

fuzz_target!(|data: &[u8]| {
    // The timestamp check only exercises the covered-data digest.
    let ts = |id: String,
              kind: TimestampKind,
              token: &[u8],
              digest: &dyn Fn(signgate::validation::crypto::DigestAlg) -> Vec<u8>| {
        let _ = digest(signgate::validation::crypto::DigestAlg::Sha256);
        TimestampEvidence {
            id,
            kind,
            gen_time: time::OffsetDateTime::UNIX_EPOCH,
            token: token.to_vec(),
            imprint: Check::Passed,
            signature: Check::Passed,
            tsa_cert: None,
            certificates: Vec::new(),
            algorithms: Algorithms::default(),
            covered_certificates: Vec::new(),
            covered_crls: Vec::new(),
            covered_ocsps: Vec::new(),
        }
    };
    let _ = xades::read_xades(data, None, &ts);
    // Split: the tail doubles as a detached document.
    if let Some(cut) = data.iter().position(|&b| b == 0) {
        let (xml, rest) = data.split_at(cut);
        let _ = xades::read_xades(xml, Some(("doc.bin", rest)), &ts);
    }
});
