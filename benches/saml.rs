//! SAML response throughput (issue 5): `SamlSp::finish` on real pysaml2 responses —
//! Response signed, Assertion signed and encrypted (AES-256-GCM) for our SP — from the
//! committed fixtures (made by tests/idp/saml_idp.py, see their READMEs), with the validation
//! time injected from `now.txt` so they stay valid. Two key transports, same IdP, same
//! flow, same signatures:
//! - `tests/data/saml/bench/`: RSA-OAEP-MGF1P to the SP's RSA-2048 key (xmlsec1);
//! - `tests/data/saml/bench-ecdh/`: ECDH-ES key agreement with the SP's P-256 key,
//!   ConcatKDF SHA-256, AES-256 key wrap (libxmlsec1 1.3 through python-xmlsec).
//!
//! In-process, one thread. Run with `cargo bench --bench saml`; prints one JSON line per
//! fixture. Without `--bench` (as in `cargo test --all-targets`) it validates each response
//! once and checks the identity.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use signgate::config::EidasConfig;
use signgate::identity::saml::SamlSp;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

struct Fixture {
    what: &'static str,
    dir: &'static str,
}

const FIXTURES: [Fixture; 2] = [
    Fixture {
        what: "SAML finish: signed Response, signed + encrypted (RSA-OAEP, AES-256-GCM) Assertion, pysaml2",
        dir: "bench",
    },
    Fixture {
        what: "SAML finish: signed Response, signed + encrypted (ECDH-ES P-256, ConcatKDF, kw-aes256, AES-256-GCM) Assertion, pysaml2 + libxmlsec1",
        dir: "bench-ecdh",
    },
];

fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let bench = std::env::args().any(|a| a == "--bench");
    let budget = Duration::from_secs_f64(
        std::env::var("SIGNGATE_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5.0),
    );
    for f in &FIXTURES {
        run(f, bench, budget);
    }
}

fn run(f: &Fixture, bench: bool, budget: Duration) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/saml")
        .join(f.dir);
    let p = |name: &str| -> PathBuf { dir.join(name) };
    let ec = p("sp-enc.key").is_file();
    let cfg = EidasConfig {
        idp_metadata: p("idp-metadata.xml").display().to_string(),
        idp_metadata_signer: Some(p("idp.crt")),
        sp_entity_id: None,
        sp_key_file: p("sp.key"),
        sp_cert_file: p("sp.crt"),
        sp_encryption_key_file: ec.then(|| p("sp-enc.key")),
        sp_encryption_cert_file: ec.then(|| p("sp-enc.crt")),
        binding: "post".into(),
        sp_type: "public".into(),
        clock_skew: Duration::from_secs(60),
        metadata_refresh: Duration::from_secs(3600),
        metadata_validity: Duration::from_secs(86400),
        timeout: Duration::from_secs(5),
    };
    let read = |name: &str| std::fs::read_to_string(p(name)).expect("read the bench fixture");
    let entity = read("entity_id.txt").trim().to_string();
    let acs = read("acs_url.txt").trim().to_string();
    let now = OffsetDateTime::parse(read("now.txt").trim(), &Rfc3339).expect("now.txt");
    let response = read("response.b64").trim().to_string();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sp = rt
        .block_on(SamlSp::load(&cfg, entity, acs))
        .expect("load the fixture SP");
    let first = sp.finish(&response, now).expect("finish on the fixture");
    assert_eq!(
        first.identity.eidas_id.as_deref(),
        Some("SE/NO/199001011234")
    );
    if !bench {
        eprintln!(
            "saml finish ({}): {} loa {} (quick run)",
            f.dir, first.identity.name, first.identity.loa
        );
        return;
    }
    for _ in 0..50 {
        std::hint::black_box(sp.finish(&response, now).expect("finish"));
    }
    let mut lat = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget {
        let t = Instant::now();
        let l = sp.finish(&response, now).expect("finish");
        lat.push(t.elapsed());
        std::hint::black_box(l);
    }
    let total = start.elapsed();
    lat.sort();
    let q = |x: f64| lat[((lat.len() as f64 * x) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "{{\"impl\":\"signgate\",\"what\":\"{}\",\"bytes\":{},\"responses\":{},\"seconds\":{:.3},\"responses_per_s\":{:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3}}}",
        f.what,
        response.len(),
        lat.len(),
        total.as_secs_f64(),
        lat.len() as f64 / total.as_secs_f64(),
        q(0.5),
        q(0.99)
    );
}
