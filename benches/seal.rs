//! Sealing throughput: one job with a 100 KB PDF, RSA-2048 seal key, in-process, one thread.
//! Run with `cargo bench --bench seal` (PAdES-BASELINE-B) or `cargo bench --bench seal -- --lta`
//! (PAdES-BASELINE-LTA: signature timestamp and document timestamp from the in-process
//! time-stamping unit with an RSA-2048 key, revocation data from a warm cache);
//! `cargo bench --bench seal -- --big MB [--noise]` seals one job of about MB megabytes (text, or
//! with `--noise` an incompressible image) to B-LTA once the way the sealing workers do (into a
//! spool file, then stored create-only in a local blob store) and prints the peak RSS.
//! `scripts/bench` runs each beside pyHanko on the same input and keys.
//! Prints one JSON line.

use std::time::{Duration, Instant};

use signgate::archive::blobs::Blobs;
use signgate::archive::spool::{Spool, SpoolError, store_once};
use signgate::sealing::SealError;
use signgate::sealing::keys::{DevPkiPaths, SealKey, dev_crl, ensure_dev_pki};
use signgate::sealing::ltv::{LtvFetcher, LtvOptions};
use signgate::sealing::pades::{
    SealDocument, SealInput, SealSigner, seal, seal_lta, seal_lta_into,
};
use signgate::sealing::tsa::{DEV_POLICY, TsaUnit};
use time::OffsetDateTime;

/// Where the leaf certificates say the root's CRL is; never fetched (the cache is filled first).
const CRL_URL: &str = "http://127.0.0.1:9/dev-root-ca.crl";

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
    finish_pdf(out, &offs)
}

/// Appends the cross-reference table for objects 1..=5 at `offs` and the trailer.
fn finish_pdf(mut out: Vec<u8>, offs: &[usize]) -> Vec<u8> {
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

/// A one-page PDF of about `size` bytes whose bulk is an uncompressed RGB image of noise
/// (incompressible, like the scans and photos that make real documents large).
fn noise_pdf_of_size(size: usize) -> Vec<u8> {
    let side = ((size / 3) as f64).sqrt() as usize;
    let mut pixels = vec![0u8; side * side * 3];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in pixels.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = (x >> 24) as u8;
    }
    let content = "q 595 0 0 842 0 0 cm /Im1 Do Q";
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offs = Vec::new();
    let objs = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
    ];
    for (n, o) in objs.iter().enumerate() {
        offs.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", n + 1).as_bytes());
    }
    offs.push(out.len());
    out.extend_from_slice(
        format!(
            "5 0 obj\n<< /Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length {} >>\nstream\n",
            pixels.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&pixels);
    drop(pixels);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    finish_pdf(out, &offs)
}

/// Peak resident set size of this process so far, in bytes (Linux `getrusage`, KiB → bytes).
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Why the big seal failed (the bench panics with it).
#[derive(Debug)]
#[allow(dead_code)]
enum BigError {
    Seal(SealError),
    Spool(SpoolError),
}

impl From<SealError> for BigError {
    fn from(e: SealError) -> Self {
        BigError::Seal(e)
    }
}

impl From<SpoolError> for BigError {
    fn from(e: SpoolError) -> Self {
        BigError::Spool(e)
    }
}

struct Lta {
    tsa: TsaUnit,
    ltv: LtvFetcher,
    roots: Vec<Vec<u8>>,
}

/// The in-process time-stamping unit (RSA-2048, like pyHanko's `DummyTimeStamper` needs) and an
/// LTV fetcher whose cache already holds the root's CRL for both leaf certificates.
fn lta_setup(paths: &DevPkiPaths, rt: &tokio::runtime::Runtime) -> Lta {
    let tsa = TsaUnit::new(
        SealKey::from_files(&paths.tsa_key, &paths.tsa_chain).unwrap(),
        DEV_POLICY,
    );
    let root = tsa.chain_der().last().unwrap().clone();
    let ltv = LtvFetcher::new(LtvOptions::default()).unwrap();
    let crl = dev_crl(paths, OffsetDateTime::now_utc()).unwrap();
    let crl_file = paths.root_cert.with_file_name("dev-root-ca.crl");
    std::fs::write(crl_file, &crl).unwrap();
    rt.block_on(ltv.insert_crl(CRL_URL, &tsa.chain_der()[0], &root, crl))
        .unwrap();
    Lta {
        tsa,
        ltv,
        roots: vec![root],
    }
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    let lta_mode = args.iter().any(|a| a == "--lta");
    let big_mb: Option<usize> = args
        .iter()
        .position(|a| a == "--big")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok());
    let dir = std::env::var("SIGNGATE_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("signgate-bench"));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = dir.join("keys");
    // The time-stamping unit gets an RSA-2048 key: pyHanko's DummyTimeStamper signs only with
    // RSA, and both sides must do the same work. A key file with an unreadable chain beside it
    // is kept and certified by `ensure_dev_pki`.
    if !keys.join("tsa.key").is_file() {
        std::fs::create_dir_all(&keys).unwrap();
        let k = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
            .unwrap();
        std::fs::write(keys.join("tsa.key"), k.serialize_pem()).unwrap();
        std::fs::write(keys.join("tsa-chain.pem"), "").unwrap();
    }
    let paths = ensure_dev_pki(&keys, Some(CRL_URL)).unwrap();
    let key = SealKey::from_files(&paths.seal_key, &paths.seal_chain).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lta = lta_setup(&paths, &rt);
    // `--noise`: the big document is an image of noise (incompressible) instead of text.
    let noise = args.iter().any(|a| a == "--noise");
    let pdf = match big_mb {
        Some(mb) if noise => noise_pdf_of_size(mb * 1024 * 1024),
        Some(mb) => pdf_of_size(mb * 1024 * 1024),
        None => pdf_of_size(100 * 1024),
    };
    let now = OffsetDateTime::now_utc();
    let mut input = SealInput {
        job_id: "0190b6e4-0000-7000-8000-000000000000".into(),
        title: "Benchmark".into(),
        sender_name: "Demo kommune".into(),
        sender_orgnr: "991825827".into(),
        documents: vec![SealDocument {
            title: "Input".into(),
            bytes: Vec::new(),
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
    let run_lta = |input: &SealInput| {
        rt.block_on(seal_lta(input, &key, &lta.tsa, &lta.ltv, &lta.roots))
            .unwrap()
    };

    if let Some(mb) = big_mb {
        // One big job: the document is generated straight into the job (no second copy kept).
        let doc_len = pdf.len();
        input.documents[0].bytes = pdf;
        // Sealed as the workers seal: into a spool file, stored from there in the blob store.
        let (spool, _) = Spool::open(&dir.join("spool")).unwrap();
        let blob_dir = dir.join("blobs");
        let blobs = Blobs::local(&blob_dir).unwrap();
        let blob_key = format!("bench/{}.pdf", uuid::Uuid::new_v4());
        // Forget the high-water mark of generating the input (Linux ≥ 4.0: writing 5 to
        // clear_refs resets VmHWM to the current RSS), so the peak is the seal's own.
        std::fs::write("/proc/self/clear_refs", "5").unwrap();
        let base = peak_rss_bytes();
        let t = Instant::now();
        let (input, key, lta) = (&input, &key, &lta);
        // When the sealed file is complete in the spool (the rest is storing it).
        let sealed_after = std::cell::Cell::new(Duration::ZERO);
        let sealed_after = &sealed_after;
        let sha = rt
            .block_on(store_once(
                &blobs,
                &spool,
                &blob_key,
                |mut file| async move {
                    seal_lta_into(input, key, &lta.tsa, &lta.ltv, &lta.roots, file.file_mut())
                        .await?;
                    sealed_after.set(t.elapsed());
                    Ok::<_, BigError>(file)
                },
            ))
            .unwrap();
        let took = t.elapsed();
        let sealing = sealed_after.get();
        let peak = peak_rss_bytes();
        let stored = blob_dir.join(&blob_key);
        let out_len = std::fs::metadata(&stored).unwrap().len() as usize;
        let mut head = [0u8; 5];
        std::io::Read::read_exact(&mut std::fs::File::open(&stored).unwrap(), &mut head).unwrap();
        assert!(&head == b"%PDF-" && out_len > doc_len && sha.len() == 64);
        assert_eq!(
            std::fs::read_dir(spool.dir()).unwrap().count(),
            0,
            "spool left empty"
        );
        std::fs::remove_file(&stored).unwrap();
        println!(
            "{{\"impl\":\"signgate\",\"what\":\"seal {mb} MB PDF ({}) to PAdES-B-LTA once, via the spool into the blob store\",\"document_bytes\":{doc_len},\"output_bytes\":{out_len},\"seconds\":{:.3},\"sealing_seconds\":{:.3},\"storing_seconds\":{:.3},\"peak_rss_bytes\":{peak},\"rss_before_bytes\":{base},\"peak_over_document\":{:.2}}}",
            if noise { "noise image" } else { "text" },
            took.as_secs_f64(),
            sealing.as_secs_f64(),
            (took - sealing).as_secs_f64(),
            peak as f64 / doc_len as f64
        );
        return;
    }
    std::fs::write(dir.join("input-100k.pdf"), &pdf).unwrap();
    input.documents[0].bytes = pdf.clone();
    let one = |input: &SealInput| {
        if lta_mode {
            run_lta(input)
        } else {
            seal(input, &key).unwrap()
        }
    };
    // `cargo test --all-targets` runs this file too (without `--bench`): seal once, check, done.
    if !args.iter().any(|a| a == "--bench") {
        let out = seal(&input, &key).unwrap();
        assert!(out.starts_with(b"%PDF-") && out.len() > pdf.len());
        let out = run_lta(&input);
        assert!(out.starts_with(b"%PDF-") && out.len() > pdf.len());
        assert_eq!(
            lta.ltv.stats().crl_requests,
            0,
            "the CRL comes from the cache"
        );
        return;
    }
    for _ in 0..20 {
        std::hint::black_box(one(&input));
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
        std::hint::black_box(one(&input));
        lat.push(t.elapsed());
    }
    let total = start.elapsed();
    assert_eq!(
        lta.ltv.stats().crl_requests + lta.ltv.stats().ocsp_requests,
        0,
        "no network"
    );
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
    let what = if lta_mode {
        "seal 100KB PDF, RSA-2048, PAdES-B-LTA (in-process TSU, cached CRL)"
    } else {
        "seal 100KB PDF, RSA-2048, PAdES-B-B"
    };
    println!(
        "{{\"impl\":\"signgate\",\"what\":\"{what}\",\"seals\":{},\"seconds\":{:.3},\"seals_per_s\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}}",
        lat.len(),
        total.as_secs_f64(),
        lat.len() as f64 / total.as_secs_f64(),
        p(0.5),
        p(0.99)
    );
}
