//! Seal keys in a PKCS#11 token (SoftHSM2) and the other key algorithms, end to end.
//!
//! Owns: a SoftHSM2 token in a temporary directory with RSA-2048 and EC P-256 keys generated
//! inside it (`pkcs11-tool`), certificates for them and for file keys (RSA-PSS, ECDSA P-384)
//! issued by the development root with `openssl x509`, a loopback HTTP server publishing the
//! development CRL, and the checks: each key seals a PDF through `sealing::pades::seal` that
//! pyHanko and our validator (with the CRL fetched from that server) both accept; token
//! errors (wrong PIN, missing token, missing key, key/certificate mismatch) are clear
//! `KeyError`s; 64 concurrent signatures through one token key all verify; the time-stamping
//! unit works with a token key (`openssl ts -verify`).
//!
//! SoftHSM2 reads its configuration (`SOFTHSM2_CONF`) when the module is initialised, once per
//! process: every test here shares one token directory, set up before the first module load.
//! A missing SoftHSM2, pkcs11-tool, openssl or pyHanko fails the tests; nothing is skipped.

mod common;
#[path = "support/oidc_idp.rs"]
mod oidc_idp;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use signgate::sealing::keys::{
    DevPkiPaths, KeyAlgorithm, KeyError, Pin, Pkcs11Config, RsaPadding, SealKey, dev_crl,
    ensure_dev_pki,
};
use signgate::sealing::pades::{SealDocument, SealInput, SealSigner, seal};
use signgate::validation::Validator;
use signgate::validation::report::Indication;
use time::OffsetDateTime;

const TOKEN: &str = "signgate-test";
/// A second token that only the wrong-PIN test logs in to: once a process is logged in to a
/// token, PKCS#11 answers every further C_Login with "already logged in", whatever the PIN.
const PIN_TOKEN: &str = "signgate-pin";
const PIN: &str = "0123";
const SO_PIN: &str = "87654321";

/// The SoftHSM2 module; a missing one is a failure, not a skip.
fn module() -> PathBuf {
    let path = std::env::var_os("SIGNGATE_SOFTHSM_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"));
    assert!(
        path.is_file(),
        "SoftHSM2 is required for the PKCS#11 tests and its module is missing at {} \
         (apt-get install softhsm2 opensc; scripts/test installs them, or set \
         SIGNGATE_SOFTHSM_MODULE)",
        path.display()
    );
    path
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (scripts/test installs it)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// Everything the tests share: the token, the development PKI with its CRL server, and
/// chain files for the token keys.
struct Fixture {
    dir: tempfile::TempDir,
    pki: DevPkiPaths,
    crl_url: String,
    /// Chain (leaf + root) of the token's RSA key, of its EC key, of the TSA EC key, of the
    /// second token's key.
    rsa_chain: PathBuf,
    ec_chain: PathBuf,
    tsa_chain: PathBuf,
    pin_chain: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(setup)
}

fn setup() -> Fixture {
    let module = module();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tokens = d.join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = d.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n\
             slots.removable = false\n",
            tokens.display()
        ),
    )
    .unwrap();
    // SAFETY: set once, inside the fixture's initialisation, before this process loads the
    // PKCS#11 module (SoftHSM2 reads the variable in C_Initialize); every test reaches the
    // module only through this fixture, and no test reads this variable concurrently.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };

    for token in [TOKEN, PIN_TOKEN] {
        run(Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", token])
            .args(["--so-pin", SO_PIN, "--pin", PIN]));
    }
    let p11 = |token: &str, args: &[&str]| {
        run(Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", &conf)
            .arg("--module")
            .arg(&module)
            .args(["--token-label", token, "--login", "--pin", PIN])
            .args(args))
    };
    // Keys generated inside the token; only their public halves leave it.
    for (token, key_type, label, id) in [
        (TOKEN, "rsa:2048", "seal-rsa", "01"),
        (TOKEN, "EC:prime256v1", "seal-ec", "02"),
        (TOKEN, "EC:prime256v1", "tsa-ec", "03"),
        (PIN_TOKEN, "EC:prime256v1", "pin-ec", "04"),
    ] {
        p11(
            token,
            &[
                "--keypairgen",
                "--key-type",
                key_type,
                "--label",
                label,
                "--id",
                id,
                "--usage-sign",
            ],
        );
        let der = d.join(format!("{label}.pub.der"));
        p11(
            token,
            &[
                "--read-object",
                "--type",
                "pubkey",
                "--id",
                id,
                "--output-file",
                der.to_str().unwrap(),
            ],
        );
        run(Command::new("openssl")
            .args(["pkey", "-pubin", "-inform", "DER", "-in"])
            .arg(&der)
            .arg("-out")
            .arg(d.join(format!("{label}.pub.pem"))));
    }

    // The CRL server: serves a fresh development CRL on every request.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let crl_url = format!("http://{}/dev-ca.crl", listener.local_addr().unwrap());
    let pki = ensure_dev_pki(&d.join("pki"), Some(&crl_url)).unwrap();
    let served = pki.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = dev_crl(&served, OffsetDateTime::now_utc()).unwrap();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });

    let fx = Fixture {
        rsa_chain: d.join("seal-rsa.chain.pem"),
        ec_chain: d.join("seal-ec.chain.pem"),
        tsa_chain: d.join("tsa-ec.chain.pem"),
        pin_chain: d.join("pin-ec.chain.pem"),
        dir,
        pki,
        crl_url,
    };
    fx.issue(
        &fx.dir.path().join("seal-rsa.pub.pem"),
        "HSM seal RSA",
        false,
        &fx.rsa_chain,
    );
    fx.issue(
        &fx.dir.path().join("seal-ec.pub.pem"),
        "HSM seal EC",
        false,
        &fx.ec_chain,
    );
    fx.issue(
        &fx.dir.path().join("tsa-ec.pub.pem"),
        "HSM TSU",
        true,
        &fx.tsa_chain,
    );
    fx.issue(
        &fx.dir.path().join("pin-ec.pub.pem"),
        "HSM PIN",
        false,
        &fx.pin_chain,
    );
    fx
}

impl Fixture {
    /// Issues a certificate for the public key in `key` (a PEM public key file) with
    /// `openssl x509 -new` under the development root, and writes leaf + root to `chain`.
    fn issue(&self, key: &Path, cn: &str, tsa: bool, chain: &Path) {
        let d = self.dir.path();
        let ext = d.join(format!("{cn}.ext"));
        let usage = if tsa {
            "extendedKeyUsage = critical, timeStamping\n"
        } else {
            ""
        };
        std::fs::write(
            &ext,
            format!(
                "[leaf]\nbasicConstraints = critical, CA:FALSE\n\
                 keyUsage = critical, digitalSignature, nonRepudiation\n{usage}\
                 subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n\
                 crlDistributionPoints = URI:{}\n",
                self.crl_url
            ),
        )
        .unwrap();
        let leaf = d.join(format!("{cn}.pem"));
        run(Command::new("openssl")
            .args(["x509", "-new", "-force_pubkey"])
            .arg(key)
            .args([
                "-subj",
                &format!("/C=NO/O=signgate test/organizationIdentifier=NTRNO-000000000/CN={cn}"),
            ])
            .arg("-CA")
            .arg(&self.pki.root_cert)
            .arg("-CAkey")
            .arg(&self.pki.root_key)
            .args(["-days", "365", "-sha256", "-extensions", "leaf", "-extfile"])
            .arg(&ext)
            .arg("-out")
            .arg(&leaf));
        let mut pem = std::fs::read_to_string(&leaf).unwrap();
        pem.push_str(&std::fs::read_to_string(&self.pki.root_cert).unwrap());
        std::fs::write(chain, pem).unwrap();
    }

    fn token(&self, key_label: &str) -> Pkcs11Config {
        Pkcs11Config {
            module: module(),
            token_label: TOKEN.into(),
            key_label: Some(key_label.into()),
            key_id: None,
            pin: Some(Pin::new(PIN)),
            pin_file: None,
            sessions: 4,
        }
    }

    /// A file key made by `openssl genpkey` with `args`, and its chain.
    fn file_key(&self, name: &str, args: &[&str]) -> (PathBuf, PathBuf) {
        let d = self.dir.path();
        let key = d.join(format!("{name}.key"));
        run(Command::new("openssl")
            .args(["genpkey"])
            .args(args)
            .arg("-out")
            .arg(&key));
        let public = d.join(format!("{name}.pub.pem"));
        run(Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(&public));
        let chain = d.join(format!("{name}.chain.pem"));
        self.issue(&public, name, false, &chain);
        (key, chain)
    }
}

fn job(title: &str) -> SealInput {
    SealInput {
        job_id: "0193f1a2-7c4e-7d21-9a55-1f2e3d4c5b6a".into(),
        title: title.into(),
        sender_name: "Fjordvik Eiendom AS".into(),
        sender_orgnr: "912345678".into(),
        documents: vec![SealDocument {
            title: "Kontrakt".into(),
            bytes: common::sample_pdf(title, 1),
        }],
        signers: vec![SealSigner {
            name: "Kari Nordmann".into(),
            identifier: "01017012345".into(),
            idp: "ID-porten (BankID)".into(),
            loa: "idporten-loa-high".into(),
            signed_at: OffsetDateTime::now_utc(),
        }],
        sealed_at: OffsetDateTime::now_utc(),
        attachments: Vec::new(),
    }
}

/// Our validator, trusting the development root, fetching the CRL from the fixture's server.
fn validator(fx: &Fixture) -> Validator {
    let mut v = Validator::new();
    let root = std::fs::read(&fx.pki.root_cert).unwrap();
    v.explicit_anchors = signgate::validation::certs_from_pem_or_der(&root).unwrap();
    v.fetcher = Some(Arc::new(
        signgate::validation::revocation::HttpFetcher::new().unwrap(),
    ));
    v
}

/// Our validator's verdict on `pdf`: exactly one signature, TOTAL_PASSED; returns its
/// format.
fn our_verdict(v: &Validator, pdf: &[u8]) -> String {
    let report = v.validate(pdf, None, OffsetDateTime::now_utc()).unwrap();
    assert_eq!(report.signatures.len(), 1);
    let sig = &report.signatures[0];
    assert_eq!(
        sig.indication,
        Indication::TotalPassed,
        "{}",
        serde_json::to_string_pretty(sig).unwrap()
    );
    sig.format.clone()
}

/// Seals a PDF with `key`, and has pyHanko and our validator accept it. Returns pyHanko's
/// output.
fn seal_and_validate(fx: &Fixture, key: &SealKey, name: &str) -> String {
    let sealed = seal(&job(name), key).unwrap();
    let pdf = fx.dir.path().join(format!("{name}.pdf"));
    std::fs::write(&pdf, &sealed).unwrap();
    let (ok, out) = common::pyhanko_validate(&pdf, &fx.pki.root_cert);
    assert!(ok, "pyHanko rejected the {name} seal:\n{out}");
    for expected in [
        "The signer's certificate is trusted.",
        "The signature is cryptographically sound.",
        "The signature covers the entire file.",
    ] {
        assert!(
            out.contains(expected),
            "{name}: missing {expected:?} in:\n{out}"
        );
    }
    let format = our_verdict(&validator(fx), &sealed);
    assert_eq!(format, "PAdES-BASELINE-B", "{name}");
    out
}

#[test]
fn token_rsa_and_ec_keys_seal_pdfs_that_validate() {
    common::install_crypto();
    let fx = fixture();
    let rsa =
        SealKey::from_pkcs11(&fx.token("seal-rsa"), &fx.rsa_chain, RsaPadding::Pkcs1).unwrap();
    assert_eq!(rsa.algorithm(), KeyAlgorithm::Rsa { bits: 2048 });
    let dbg = format!("{rsa:?}");
    assert!(dbg.contains("PKCS#11") && !dbg.contains(PIN), "{dbg}");
    let out = seal_and_validate(fx, &rsa, "hsm-rsa");
    assert!(out.contains("'sha256'"), "{out}");

    let ec = SealKey::from_pkcs11(&fx.token("seal-ec"), &fx.ec_chain, RsaPadding::Pkcs1).unwrap();
    assert_eq!(ec.algorithm(), KeyAlgorithm::EcdsaP256);
    seal_and_validate(fx, &ec, "hsm-ec");

    // The token RSA key with PSS padding (CKM_SHA256_RSA_PKCS_PSS).
    let pss = SealKey::from_pkcs11(&fx.token("seal-rsa"), &fx.rsa_chain, RsaPadding::Pss).unwrap();
    assert_eq!(pss.algorithm(), KeyAlgorithm::RsaPss { bits: 2048 });
    seal_and_validate(fx, &pss, "hsm-rsa-pss");

    // The key found by CKA_ID alone, the PIN read from a file (with a trailing newline).
    let pin_file = fx.dir.path().join("pin");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    let by_id = Pkcs11Config {
        key_label: None,
        key_id: Some("02".into()),
        pin: None,
        pin_file: Some(pin_file),
        ..fx.token("unused")
    };
    let ec2 = SealKey::from_pkcs11(&by_id, &fx.ec_chain, RsaPadding::Pkcs1).unwrap();
    assert_eq!(ec2.leaf_der(), ec.leaf_der());
    let sig = ec2.sign_xmldsig(b"signed info").unwrap();
    assert_eq!(sig.len(), 64, "XML-DSig ECDSA value is r || s");
}

#[test]
fn file_keys_rsa_pss_and_p384_seal_pdfs_that_validate() {
    common::install_crypto();
    let fx = fixture();
    // An id-RSASSA-PSS key (PKCS#8 and certificate restricted to SHA-256/MGF1-SHA-256/32):
    // PSS whatever the configured padding.
    let (key, chain) = fx.file_key(
        "file-rsassa-pss",
        &[
            "-algorithm",
            "RSA-PSS",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-pkeyopt",
            "rsa_pss_keygen_md:sha256",
            "-pkeyopt",
            "rsa_pss_keygen_mgf1_md:sha256",
            "-pkeyopt",
            "rsa_pss_keygen_saltlen:32",
        ],
    );
    let k = SealKey::from_files_with(&key, &chain, RsaPadding::Pkcs1).unwrap();
    assert_eq!(k.algorithm(), KeyAlgorithm::RsaPss { bits: 2048 });
    seal_and_validate(fx, &k, "file-rsassa-pss");

    // A plain RSA key with PSS chosen by configuration.
    let (key, chain) = fx.file_key(
        "file-rsa-pss",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    );
    let k = SealKey::from_files_with(&key, &chain, RsaPadding::Pss).unwrap();
    assert_eq!(k.algorithm(), KeyAlgorithm::RsaPss { bits: 2048 });
    seal_and_validate(fx, &k, "file-rsa-pss");

    // ECDSA P-384: SHA-384 throughout the CMS.
    let (key, chain) = fx.file_key(
        "file-p384",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    );
    let k = SealKey::from_files(&key, &chain).unwrap();
    assert_eq!(k.algorithm(), KeyAlgorithm::EcdsaP384);
    let out = seal_and_validate(fx, &k, "file-p384");
    assert!(out.contains("'sha384'"), "{out}");
}

#[test]
fn token_errors_are_clear() {
    let fx = fixture();
    let err = |cfg: &Pkcs11Config, chain: &Path| {
        SealKey::from_pkcs11(cfg, chain, RsaPadding::Pkcs1).unwrap_err()
    };

    let on_pin_token = |pin: &str| Pkcs11Config {
        token_label: PIN_TOKEN.into(),
        pin: Some(Pin::new(pin)),
        ..fx.token("pin-ec")
    };
    let e = err(&on_pin_token("9999"), &fx.pin_chain);
    assert!(matches!(e, KeyError::Login { .. }), "{e}");
    assert!(e.to_string().contains("PIN is incorrect"), "{e}");
    assert!(!e.to_string().contains("9999"), "{e}");
    // The right PIN then works.
    let k = SealKey::from_pkcs11(&on_pin_token(PIN), &fx.pin_chain, RsaPadding::Pkcs1).unwrap();
    assert_eq!(k.algorithm(), KeyAlgorithm::EcdsaP256);

    let no_token = Pkcs11Config {
        token_label: "no-such-token".into(),
        ..fx.token("seal-rsa")
    };
    let e = err(&no_token, &fx.rsa_chain);
    match &e {
        KeyError::TokenNotFound { label, available } => {
            assert_eq!(label, "no-such-token");
            assert!(available.iter().any(|l| l == TOKEN), "{available:?}");
        }
        other => panic!("expected TokenNotFound, got {other}"),
    }

    let e = err(&fx.token("no-such-key"), &fx.rsa_chain);
    assert!(matches!(e, KeyError::KeyNotFound { .. }), "{e}");
    assert!(e.to_string().contains("no-such-key"), "{e}");

    // Key and certificate of different keys: RSA key with the EC certificate, EC key with
    // the TSA certificate (same curve, another key: only the test signature can tell).
    let e = err(&fx.token("seal-rsa"), &fx.ec_chain);
    assert!(matches!(e, KeyError::KeyMismatch), "{e}");
    let e = err(&fx.token("seal-ec"), &fx.tsa_chain);
    assert!(matches!(e, KeyError::KeyMismatch), "{e}");

    let missing_module = Pkcs11Config {
        module: fx.dir.path().join("no-such-module.so"),
        ..fx.token("seal-rsa")
    };
    let e = err(&missing_module, &fx.rsa_chain);
    assert!(matches!(e, KeyError::Pkcs11Module { .. }), "{e}");
}

#[test]
fn sixty_four_concurrent_signatures_through_one_token_key() {
    common::install_crypto();
    let fx = fixture();
    let key = Arc::new(
        SealKey::from_pkcs11(&fx.token("seal-rsa"), &fx.rsa_chain, RsaPadding::Pkcs1).unwrap(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let sealed: Vec<Vec<u8>> = rt.block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let key = key.clone();
                tokio::task::spawn_blocking(move || seal(&job(&format!("Job {i}")), &key))
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap().unwrap());
        }
        out
    });
    let v = validator(fx);
    for pdf in &sealed {
        our_verdict(&v, pdf);
    }
    // And one of them through pyHanko too.
    let pdf = fx.dir.path().join("concurrent-17.pdf");
    std::fs::write(&pdf, &sealed[17]).unwrap();
    let (ok, out) = common::pyhanko_validate(&pdf, &fx.pki.root_cert);
    assert!(ok, "{out}");
}

#[test]
fn time_stamping_unit_with_a_token_key() {
    let fx = fixture();
    let key = SealKey::from_pkcs11(&fx.token("tsa-ec"), &fx.tsa_chain, RsaPadding::Pkcs1).unwrap();
    let unit = signgate::sealing::tsa::TsaUnit::new(key, signgate::sealing::tsa::DEV_POLICY);
    let d = fx.dir.path();
    std::fs::write(d.join("ts-data.bin"), b"a signature value").unwrap();
    run(Command::new("openssl")
        .current_dir(d)
        .args(["ts", "-query", "-data", "ts-data.bin", "-sha256", "-cert"])
        .args(["-out", "hsm.tsq"]));
    let q = std::fs::read(d.join("hsm.tsq")).unwrap();
    std::fs::write(
        d.join("hsm.tsr"),
        unit.respond(&q, OffsetDateTime::now_utc()),
    )
    .unwrap();
    let out = run(Command::new("openssl")
        .current_dir(d)
        .args([
            "ts",
            "-verify",
            "-queryfile",
            "hsm.tsq",
            "-in",
            "hsm.tsr",
            "-CAfile",
        ])
        .arg(&fx.pki.root_cert));
    assert!(out.contains("Verification: OK"), "{out}");
}

/// `private_key_jwt` towards the ID-porten stand-in (node `oidc-provider`) with the client key
/// inside the token: the provider, given only the token key's public JWK, accepts the client
/// assertion signed in the token (ES256) and the login completes; the token's RSA key, which
/// the provider does not know, is refused at the token endpoint.
#[tokio::test]
async fn idporten_client_assertion_signed_in_the_token() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use oidc_idp::{Choice, ClientAuth, NodeIdp, login};
    use signgate::identity::oidc::{OidcAuthRequest, OidcProvider};
    use signgate::jobs::model::Loa;

    let fx = fixture();
    // The token key's public half, as the JWK registered with the provider.
    let der = std::fs::read(fx.dir.path().join("seal-ec.pub.der")).unwrap();
    let spki: spki::SubjectPublicKeyInfoRef<'_> = der::Decode::from_der(&der).unwrap();
    let point = spki.subject_public_key.raw_bytes();
    assert_eq!((point.len(), point[0]), (65, 4), "uncompressed P-256 point");
    let jwk = serde_json::json!({"kty": "EC", "kid": "token-ec", "use": "sig", "alg": "ES256",
        "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65])});
    let idp = NodeIdp::start_with_client_keys(&[jwk]);
    let redirect = "http://127.0.0.1:9/oidc/callback";
    let req = OidcAuthRequest {
        loa: Loa::High,
        eidas: false,
        lang: "en".into(),
    };

    let mut cfg = idp.config(ClientAuth::JwtEc, false);
    cfg.client_key_file = None;
    cfg.client_key_pkcs11 = Some(fx.token("seal-ec"));
    cfg.client_key_id = Some("token-ec".into());
    let rp = OidcProvider::new(&cfg, redirect.into())
        .await
        .expect("discovery");
    let (_, pending, cb) = login(&rp, &req, Choice::Login("kari"), redirect).await;
    let id = rp
        .finish(&pending, &cb, OffsetDateTime::now_utc())
        .await
        .expect("the provider accepts the token-signed client assertion");
    assert_eq!(id.national_id.as_deref(), Some("13097248022"));

    // A token key the provider was never given: the token request is refused.
    cfg.client_key_pkcs11 = Some(fx.token("seal-rsa"));
    cfg.client_key_id = Some("token-rsa".into());
    let rp = OidcProvider::new(&cfg, redirect.into())
        .await
        .expect("discovery");
    let (_, pending, cb) = login(&rp, &req, Choice::Login("kari"), redirect).await;
    let err = rp
        .finish(&pending, &cb, OffsetDateTime::now_utc())
        .await
        .expect_err("an unregistered client key must be refused");
    assert!(err.to_string().contains("invalid_client"), "{err}");

    // Both key settings at once is a configuration error, not a guess.
    cfg.client_key_file = Some(idp.ec_key_file.clone());
    let e = OidcProvider::new(&cfg, redirect.into()).await.unwrap_err();
    assert!(e.to_string().contains("exactly one"), "{e}");
}
