//! Timing print (no assertion on speed) for the 2023-10 snapshot: parse + canonicalize +
//! digest, and parse + full verification. Meaningful with `cargo test --release`.

use std::time::Instant;

use signgate::trust::c14n::{self, C14nMethod};
use signgate::trust::xmldsig::{self, DsigPolicy};

#[test]
fn snapshot_timing() {
    let files = crate::common::xml_files("snapshot-2023-10");
    let blobs: Vec<Vec<u8>> = files
        .iter()
        .map(|p| std::fs::read(p).expect("read"))
        .collect();
    let total: usize = blobs.iter().map(Vec::len).sum();

    // Warm-up (page cache, allocator).
    for b in &blobs {
        let doc = xmldsig::parse_document(xmldsig::decode_utf8(b).unwrap()).unwrap();
        xmldsig::verify_enveloped(&doc, &[], &DsigPolicy::default()).unwrap();
    }

    let t = Instant::now();
    let mut buf = Vec::new();
    for b in &blobs {
        let doc = xmldsig::parse_document(xmldsig::decode_utf8(b).unwrap()).unwrap();
        let sig = doc
            .descendants()
            .find(|n| n.has_tag_name((xmldsig::DSIG_NS, "Signature")))
            .map(|n| n.id());
        buf.clear();
        c14n::canonicalize(&doc, doc.root(), C14nMethod::Exclusive, sig, &[], &mut buf).unwrap();
        std::hint::black_box(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &buf));
    }
    let c14n_ms = t.elapsed().as_secs_f64() * 1e3;

    let t = Instant::now();
    let mut parse_ns = 0u128;
    for b in &blobs {
        let tp = Instant::now();
        let doc = xmldsig::parse_document(xmldsig::decode_utf8(b).unwrap()).unwrap();
        parse_ns += tp.elapsed().as_nanos();
        xmldsig::verify_enveloped(&doc, &[], &DsigPolicy::default()).unwrap();
    }
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "snapshot-2023-10: {} files, {:.2} MB: parse+c14n+sha256 {c14n_ms:.1} ms; parse+verify_enveloped {verify_ms:.1} ms (of which parse {:.1} ms){}",
        blobs.len(),
        total as f64 / 1e6,
        parse_ns as f64 / 1e6,
        if cfg!(debug_assertions) {
            " [debug build: use --release]"
        } else {
            ""
        }
    );
}
