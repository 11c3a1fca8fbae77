//! Sealing throughput: one job with a 100 KB PDF, RSA-2048 seal key, in-process, one thread.
//! Run with `cargo bench --bench seal`; `scripts/bench` runs it beside pyHanko on the same
//! input and key. Prints one JSON line.

use std::time::{Duration, Instant};

use signgate::sealing::keys::{SealKey, ensure_dev_pki};
use signgate::sealing::pades::{SealDocument, SealInput, SealSigner, seal};
use time::OffsetDateTime;

/// A one-page PDF of about `size` bytes (the bulk is an uncompressed content stream).
fn pdf_of_size(size: usize) -> Vec<u8> {
    let mut content = String::from("BT /F1 10 Tf 50 800 Td 12 TL\n");
    let mut i = 0u64;
    while content.len() < size.saturating_sub(600) {
        content.push_str(&format!(
            "(Line {i}: lorem ipsum dolor sit amet, consectetur adipiscing) '\n"
        ));
        i += 1;
    }
    content.push_str("ET");
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [4 0 R] /Count 1 >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offs = Vec::new();
    for (n, o) in objs.iter().enumerate() {
        offs.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", n + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 6\n0000000000 65535 f \n");
    for o in offs {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = std::env::var("SIGNGATE_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("signgate-bench"));
    std::fs::create_dir_all(&dir).unwrap();
    let paths = ensure_dev_pki(&dir.join("keys"), None).unwrap();
    let key = SealKey::from_files(&paths.seal_key, &paths.seal_chain).unwrap();
    let pdf = pdf_of_size(100 * 1024);
    std::fs::write(dir.join("input-100k.pdf"), &pdf).unwrap();
    let now = OffsetDateTime::now_utc();
    let input = SealInput {
        job_id: "0190b6e4-0000-7000-8000-000000000000".into(),
        title: "Benchmark".into(),
        sender_name: "Demo kommune".into(),
        sender_orgnr: "991825827".into(),
        documents: vec![SealDocument {
            title: "Input".into(),
            bytes: pdf.clone(),
        }],
        signers: vec![SealSigner {
            name: "Kari Nordmann".into(),
            identifier: "130972*****".into(),
            idp: "ID-porten".into(),
            loa: "high".into(),
            signed_at: now,
        }],
        sealed_at: now,
        attachments: Vec::new(),
    };
    // `cargo test --all-targets` runs this file too (without `--bench`): seal once, check, done.
    if !std::env::args().any(|a| a == "--bench") {
        let out = seal(&input, &key).unwrap();
        assert!(out.starts_with(b"%PDF-") && out.len() > pdf.len());
        return;
    }
    for _ in 0..20 {
        std::hint::black_box(seal(&input, &key).unwrap());
    }
    let budget = Duration::from_secs(
        std::env::var("SIGNGATE_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    );
    let mut lat = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget {
        let t = Instant::now();
        std::hint::black_box(seal(&input, &key).unwrap());
        lat.push(t.elapsed());
    }
    let total = start.elapsed();
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "{{\"impl\":\"signgate\",\"what\":\"seal 100KB PDF, RSA-2048, PAdES-B-B\",\"seals\":{},\"seconds\":{:.3},\"seals_per_s\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}}",
        lat.len(),
        total.as_secs_f64(),
        lat.len() as f64 / total.as_secs_f64(),
        p(0.5),
        p(0.99)
    );
}
