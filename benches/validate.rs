//! Validation throughput (issue 4): `Validator::validate` on the corpus of
//! `tests/validation/make_corpus.py` — `pdf/b-b.pdf` (100 KB PAdES-BASELINE-B) and
//! `pdf/b-lta.pdf` (B-LTA, chain of 3, embedded OCSP, two timestamps) — with `pki/root.pem`
//! as the only trust anchor, in-process, offline (no fetcher), one thread, validation time
//! = now. Run with `cargo bench --bench validate`; `scripts/bench` runs it beside
//! `bench/pyhanko_validate.py` on the same files. Prints one JSON line per file.
//!
//! The corpus directory comes from `SIGNGATE_BENCH_CORPUS`. Without `--bench` (as in
//! `cargo test --all-targets`) each file is validated once and its indication checked; if
//! the variable is unset, the corpus is generated into a temporary directory with the venv
//! python (`SIGNGATE_VENV`, default `/var/tmp/signgate-venv`), or, if that python is missing,
//! the quick run says so loudly and skips.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use signgate::validation::report::{Indication, Report};
use signgate::validation::{Validator, certs_from_pem_or_der};
use time::OffsetDateTime;

fn venv_python() -> PathBuf {
    let venv = std::env::var("SIGNGATE_VENV").unwrap_or_else(|_| "/var/tmp/signgate-venv".into());
    Path::new(&venv).join("bin/python")
}

/// Generates the corpus into a fresh temporary directory; `None` if the venv is missing.
fn generate_corpus() -> Option<PathBuf> {
    let python = venv_python();
    if !python.exists() {
        return None;
    }
    let out = std::env::temp_dir().join(format!("signgate-bench-corpus-{}", std::process::id()));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validation/make_corpus.py");
    let status = std::process::Command::new(python)
        .arg(script)
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run make_corpus.py");
    assert!(status.success(), "make_corpus.py failed: {status}");
    Some(out)
}

fn summary(r: &Report) -> String {
    r.signatures
        .iter()
        .map(|s| {
            format!(
                "{} {}{}",
                s.format,
                s.indication,
                s.sub_indication
                    .map(|x| format!("/{x}"))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let bench = std::env::args().any(|a| a == "--bench");
    let mut generated = None;
    let corpus = match std::env::var("SIGNGATE_BENCH_CORPUS") {
        Ok(d) => PathBuf::from(d),
        Err(_) => match generate_corpus() {
            Some(d) => {
                generated = Some(d.clone());
                d
            }
            None => {
                assert!(
                    !bench,
                    "SIGNGATE_BENCH_CORPUS is unset and no venv python to generate it"
                );
                eprintln!(
                    "\n*** benches/validate.rs: SKIPPED — SIGNGATE_BENCH_CORPUS is unset and {} \
                     (pyHanko, see scripts/test) is missing, so the corpus cannot be generated. \
                     Nothing was validated. ***\n",
                    venv_python().display()
                );
                return;
            }
        },
    };
    let root = std::fs::read(corpus.join("pki/root.pem")).expect("read pki/root.pem");
    let mut v = Validator::new();
    v.explicit_anchors = certs_from_pem_or_der(&root).expect("parse root.pem");
    v.fetcher = None;

    // (file, what, the indication the corpus promises offline; `None` = report what it is)
    let cases: [(&str, &str, Option<Indication>); 2] = [
        ("b-b.pdf", "validate 100KB PAdES-B-B, offline", None),
        (
            "b-lta.pdf",
            "validate PAdES-B-LTA (chain of 3, embedded OCSP, 2 timestamps), offline",
            Some(Indication::TotalPassed),
        ),
    ];
    let budget = Duration::from_secs_f64(
        std::env::var("SIGNGATE_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5.0),
    );
    for (file, what, expect) in cases {
        let bytes = std::fs::read(corpus.join("pdf").join(file)).expect("read corpus PDF");
        let now = OffsetDateTime::now_utc();
        let first = v.validate(&bytes, None, now).expect("validate");
        assert_eq!(first.signatures.len(), 1, "{file}: one signature");
        let got = first.signatures[0].indication;
        if let Some(e) = expect {
            assert_eq!(got, e, "{file}: {}", summary(&first));
        }
        if !bench {
            eprintln!("validate {file}: {} (quick run)", summary(&first));
            continue;
        }
        for _ in 0..20 {
            std::hint::black_box(v.validate(&bytes, None, now).expect("validate"));
        }
        let mut lat = Vec::new();
        let start = Instant::now();
        while start.elapsed() < budget {
            let t = Instant::now();
            let r = v
                .validate(&bytes, None, OffsetDateTime::now_utc())
                .expect("validate");
            lat.push(t.elapsed());
            assert_eq!(r.signatures.first().map(|s| s.indication), Some(got));
            std::hint::black_box(r);
        }
        let total = start.elapsed();
        lat.sort();
        let p =
            |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
        println!(
            "{{\"impl\":\"signgate\",\"what\":\"{what}\",\"file\":\"{file}\",\"bytes\":{},\"result\":\"{}\",\"validations\":{},\"seconds\":{:.3},\"validations_per_s\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}}",
            bytes.len(),
            summary(&first),
            lat.len(),
            total.as_secs_f64(),
            lat.len() as f64 / total.as_secs_f64(),
            p(0.5),
            p(0.99)
        );
    }
    if let Some(d) = generated {
        let _ = std::fs::remove_dir_all(d);
    }
}
