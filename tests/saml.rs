//! eIDAS-node SAML service provider (`signgate::identity::saml`) against real third-party
//! counterparts: a pysaml2 IdP (tests/idp/saml_idp.py, signing/encrypting with xmlsec1, and
//! ECDH-ES key agreement with libxmlsec1 1.3 through python-xmlsec for an SP with an EC
//! encryption key) for the positive flows, `xmlsec1 --verify` for our signatures, and
//! hostile responses built with lxml/signxml (tests/idp/saml_attacks.py) for the refusals.
//!
//! The end-to-end tests at the bottom sign a job through `signgate serve` with the node
//! configured by `SIGNGATE__EIDAS__*`.
//!
//! Needs the test venv (scripts/test installs pysaml2, python-xmlsec, signxml, lxml into
//! /var/tmp/signgate-venv) plus `xmlsec1` and `openssl`; a missing peer fails loudly.

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use signgate::config::EidasConfig;
use signgate::identity::saml::xmlenc::XmlEncError;
use signgate::identity::saml::{
    SamlAuthRequest, SamlError, SamlLogin, SamlPending, SamlSp, check_binding,
};
use signgate::identity::{IdpKind, LoginStart, UserReason};
use signgate::jobs::model::Loa;
use time::OffsetDateTime;

const ENTITY: &str = "https://signgate.test/saml/metadata";
const ACS: &str = "https://signgate.test/saml/acs";

fn venv_python() -> PathBuf {
    let venv = std::env::var("SIGNGATE_VENV").unwrap_or_else(|_| "/var/tmp/signgate-venv".into());
    let p = PathBuf::from(venv).join("bin/python");
    assert!(
        p.is_file(),
        "the test venv is required at {} (scripts/test installs pysaml2 into it)",
        p.display()
    );
    p
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/idp")
        .join(name)
}

/// A self-signed RSA-2048 key (PKCS#8 PEM) and certificate made by `openssl`.
fn keypair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.crt"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .arg("-subj")
        .arg(format!("/CN={name}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is required (scripts/test installs it)");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (key, cert)
}

/// A self-signed EC key (PKCS#8 PEM) and certificate on `curve` (`P-256`, `P-384`,
/// `P-521`) made by `openssl`.
fn ec_keypair(dir: &Path, name: &str, curve: &str) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.crt"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg(format!("ec_paramgen_curve:{curve}"))
        .args(["-nodes", "-days", "2"])
        .arg("-subj")
        .arg(format!("/CN={name}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is required (scripts/test installs it)");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (key, cert)
}

/// The pysaml2 IdP, on a free loopback port.
struct Idp {
    child: Child,
    port: u16,
    key: PathBuf,
    cert: PathBuf,
    metadata: PathBuf,
}

impl Idp {
    fn start(dir: &Path, args: &[&str]) -> Idp {
        let (key, cert) = keypair(dir, "idp");
        let metadata = dir.join("idp-metadata.xml");
        let mut child = Command::new(venv_python())
            .arg(script("saml_idp.py"))
            .arg("--key")
            .arg(&key)
            .arg("--cert")
            .arg(&cert)
            .arg("--sp-metadata")
            .arg(dir.join("sp-metadata.xml"))
            .arg("--metadata-out")
            .arg(&metadata)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/idp/saml_idp.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("pysaml2 IdP did not start (is pysaml2 installed in the venv?): {line:?}")
            });
        Idp {
            child,
            port,
            key,
            cert,
            metadata,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn control(&self, kv: &[(&str, &str)]) {
        let r = reqwest::Client::new()
            .get(self.url("/control"))
            .query(kv)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "control: {}",
            r.text().await.unwrap()
        );
    }

    async fn state(&self) -> serde_json::Value {
        reqwest::get(self.url("/control"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn last_request(&self) -> serde_json::Value {
        reqwest::get(self.url("/last-request"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Setup {
    sp: SamlSp,
    idp: Idp,
    dir: tempfile::TempDir,
    sp_cert: PathBuf,
}

fn eidas_config(dir: &Path, idp: &Idp, binding: &str) -> EidasConfig {
    let (sp_key, sp_cert) = keypair(dir, "sp");
    EidasConfig {
        idp_metadata: idp.metadata.display().to_string(),
        idp_metadata_signer: Some(idp.cert.clone()),
        sp_entity_id: Some(ENTITY.into()),
        sp_key_file: sp_key,
        sp_cert_file: sp_cert,
        sp_encryption_key_file: None,
        sp_encryption_cert_file: None,
        binding: binding.into(),
        sp_type: "public".into(),
        clock_skew: Duration::from_secs(60),
        metadata_refresh: Duration::from_secs(3600),
        metadata_validity: Duration::from_secs(86400),
        timeout: Duration::from_secs(5),
    }
}

async fn setup(binding: &str, idp_args: &[&str]) -> Setup {
    setup_with(binding, idp_args, None).await
}

/// [`setup`], with an EC encryption key pair on `ec_curve` beside the RSA signing pair.
async fn setup_with(binding: &str, idp_args: &[&str], ec_curve: Option<&str>) -> Setup {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let idp = Idp::start(dir.path(), idp_args);
    let mut cfg = eidas_config(dir.path(), &idp, binding);
    if let Some(curve) = ec_curve {
        let (k, c) = ec_keypair(dir.path(), "sp-enc", curve);
        cfg.sp_encryption_key_file = Some(k);
        cfg.sp_encryption_cert_file = Some(c);
    }
    let sp = SamlSp::load(&cfg, ENTITY.into(), ACS.into())
        .await
        .expect("SamlSp::load with the pysaml2 IdP's signed metadata");
    std::fs::write(
        dir.path().join("sp-metadata.xml"),
        sp.metadata_xml(OffsetDateTime::now_utc()).unwrap(),
    )
    .unwrap();
    Setup {
        sp,
        idp,
        sp_cert: cfg.sp_cert_file.clone(),
        dir,
    }
}

fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let i = html.find(&marker)? + marker.len();
    let j = html[i..].find('"')? + i;
    Some(html[i..j].replace("&#x2B;", "+").replace("&amp;", "&"))
}

fn request(loa: Loa, relay: &str) -> SamlAuthRequest {
    SamlAuthRequest {
        loa,
        country: Some("SE".into()),
        legal_person: false,
        relay_state: relay.into(),
    }
}

/// Sends our AuthnRequest to the IdP the way a browser would and returns the
/// SAMLResponse of its auto-post form (checked to target our ACS with our RelayState).
async fn login_with(s: &Setup, req: &SamlAuthRequest) -> (String, SamlPending) {
    let (start, pending) = s.sp.begin(req, OffsetDateTime::now_utc()).unwrap();
    let http = reqwest::Client::new();
    let resp = match start {
        LoginStart::Post { action, fields } => {
            assert_eq!(action, s.idp.url("/sso/post"));
            http.post(action).form(&fields).send().await.unwrap()
        }
        LoginStart::Redirect(url) => {
            assert!(
                url.starts_with(&s.idp.url("/sso/redirect?SAMLRequest=")),
                "{url}"
            );
            http.get(url).send().await.unwrap()
        }
    };
    let status = resp.status();
    let html = resp.text().await.unwrap();
    assert_eq!(status, 200, "the IdP refused our AuthnRequest: {html}");
    assert!(html.contains(&format!("action=\"{ACS}\"")), "{html}");
    assert_eq!(
        input_value(&html, "RelayState").as_deref(),
        Some(req.relay_state.as_str())
    );
    let b64 = input_value(&html, "SAMLResponse").expect("SAMLResponse in the form");
    (b64, pending)
}

async fn login(s: &Setup) -> (String, SamlPending) {
    login_with(s, &request(Loa::Substantial, "rs-1")).await
}

fn decoded(b64: &str) -> String {
    use base64::Engine as _;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap()
}

fn assert_student(l: &SamlLogin, s: &Setup, loa: Loa) {
    let id = &l.identity;
    assert_eq!(id.idp, IdpKind::Eidas);
    assert_eq!(id.issuer, s.sp.idp().entity_id);
    assert_eq!(id.eidas_id.as_deref(), Some("SE/NO/199001011234"));
    assert_eq!(id.national_id, None);
    assert_eq!(id.name, "Sven Svensson");
    assert_eq!(id.date_of_birth.as_deref(), Some("1990-01-01"));
    assert_eq!(id.loa, loa);
    assert!((OffsetDateTime::now_utc() - id.auth_time).abs() < time::Duration::minutes(2));
    let ev = id.evidence.as_deref().unwrap();
    assert!(
        ev.contains("Assertion") && ev.contains(&l.assertion_id),
        "{ev}"
    );
    assert!(ev.contains("SE/NO/199001011234"));
    assert!(l.not_on_or_after > OffsetDateTime::now_utc());
    assert!(l.assertion_id.len() > 8);
}

#[tokio::test]
async fn post_binding_signed_response_and_encrypted_aes256gcm_assertion() {
    // SIGNGATE_WRITE_SAML_BENCH_FIXTURE=DIR also writes this exchange as the fixture of
    // benches/saml.rs (tests/data/saml/bench); its IdP metadata then has no validUntil.
    let fixture_dir = std::env::var_os("SIGNGATE_WRITE_SAML_BENCH_FIXTURE").map(PathBuf::from);
    let valid_for = if fixture_dir.is_some() { "0" } else { "24" };
    let s = setup("post", &["--enc", "aes256-gcm", "--valid-for", valid_for]).await;
    let (b64, pending) = login(&s).await;
    if let Some(d) = &fixture_dir {
        std::fs::create_dir_all(d).unwrap();
        for (from, to) in [
            (s.dir.path().join("sp.key"), "sp.key"),
            (s.dir.path().join("sp.crt"), "sp.crt"),
            (s.idp.cert.clone(), "idp.crt"),
            (s.idp.metadata.clone(), "idp-metadata.xml"),
        ] {
            std::fs::copy(from, d.join(to)).unwrap();
        }
        let now = OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        for (name, text) in [
            ("response.b64", b64.as_str()),
            ("now.txt", now.as_str()),
            ("entity_id.txt", ENTITY),
            ("acs_url.txt", ACS),
        ] {
            std::fs::write(d.join(name), format!("{text}\n")).unwrap();
        }
    }
    let xml = decoded(&b64);
    assert!(xml.contains("EncryptedAssertion"), "{xml}");
    assert!(xml.contains("http://www.w3.org/2009/xmlenc11#aes256-gcm"));
    assert!(
        !xml.contains("199001011234"),
        "the assertion must travel encrypted"
    );

    // What the IdP received: an eIDAS AuthnRequest, POSTed with the country field.
    let last = s.idp.last_request().await;
    assert_eq!(last["fields"]["country"], "SE");
    let req = last["xml"].as_str().unwrap();
    for needle in [
        "ForceAuthn=\"true\"",
        "IsPassive=\"false\"",
        "<eidas:SPType>public</eidas:SPType>",
        "naturalperson/PersonIdentifier",
        "naturalperson/DateOfBirth",
        "Comparison=\"minimum\"",
        "http://eidas.europa.eu/LoA/substantial",
    ] {
        assert!(req.contains(needle), "{needle} missing in {req}");
    }
    assert!(!req.contains("LegalName"));

    let now = OffsetDateTime::now_utc();
    let login = s.sp.finish(&b64, now).expect("finish");
    assert_student(&login, &s, Loa::Substantial);
    assert_eq!(login.in_response_to, pending.request_id);
    check_binding(&login, &pending).expect("binding");

    // Replay: the response validates again with the same assertion id, which is what
    // the caller's replay table refuses.
    let again = s.sp.finish(&b64, now).expect("finish again");
    assert_eq!(again.assertion_id, login.assertion_id);

    // Another session's request id.
    let other = SamlPending {
        request_id: "_0123456789abcdef0123456789abcdef".into(),
        min_loa: Loa::Substantial,
    };
    let e = check_binding(&login, &other).unwrap_err();
    assert!(matches!(e, SamlError::InResponseTo), "{e}");
    assert_eq!(e.user_reason(), UserReason::Rejected);

    // The job needs high; the node vouched for substantial.
    let high = SamlPending {
        min_loa: Loa::High,
        ..pending.clone()
    };
    let e = check_binding(&login, &high).unwrap_err();
    assert!(matches!(e, SamlError::LoaTooLow { .. }), "{e}");
    assert_eq!(e.user_reason(), UserReason::LoaTooLow);

    // Too late: past NotOnOrAfter (pysaml2 lifetime 5 minutes) plus the skew.
    let e =
        s.sp.finish(&b64, now + time::Duration::minutes(10))
            .unwrap_err();
    assert!(matches!(e, SamlError::Expired(_)), "{e}");
    assert_eq!(e.user_reason(), UserReason::Expired);
    // Too early.
    let e =
        s.sp.finish(&b64, now - time::Duration::minutes(10))
            .unwrap_err();
    assert!(matches!(e, SamlError::NotYetValid(_)), "{e}");
}

#[tokio::test]
async fn redirect_binding_and_every_supported_encryption() {
    let s = setup("redirect", &["--loa", "high"]).await;
    for enc in ["aes128-gcm", "aes256-gcm", "aes128-cbc", "aes256-cbc"] {
        s.idp.control(&[("enc", enc)]).await;
        let (b64, pending) = login_with(&s, &request(Loa::High, "rs-redirect")).await;
        let xml = decoded(&b64);
        assert!(xml.contains(&format!("#{enc}\"")), "{enc}: {xml}");
        let last = s.idp.last_request().await;
        assert_eq!(
            last["binding"],
            "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        );
        assert!(last["xml"].as_str().unwrap().contains("LoA/high"));
        let login =
            s.sp.finish(&b64, OffsetDateTime::now_utc())
                .unwrap_or_else(|e| panic!("{enc}: {e}"));
        assert_student(&login, &s, Loa::High);
        check_binding(&login, &pending).unwrap();
    }
    // Unauthenticated CBC is decrypted only inside a verified Response signature.
    s.idp
        .control(&[("enc", "aes128-cbc"), ("sign_response", "0")])
        .await;
    let (b64, _) = login_with(&s, &request(Loa::High, "rs-cbc")).await;
    let e = s.sp.finish(&b64, OffsetDateTime::now_utc()).unwrap_err();
    assert!(matches!(e, SamlError::Decrypt(_)), "{e}");
    s.idp.control(&[("enc", "aes128-gcm")]).await;
    let (b64, _) = login_with(&s, &request(Loa::High, "rs-gcm")).await;
    assert_student(
        &s.sp.finish(&b64, OffsetDateTime::now_utc()).unwrap(),
        &s,
        Loa::High,
    );
}

/// Our metadata for an SP with an EC encryption pair: the EC certificate is the first
/// `use="encryption"` KeyDescriptor and prefers ECDH-ES; the RSA signing pair follows as
/// the RSA-OAEP fallback.
fn assert_ecdh_metadata(s: &Setup) {
    let md = std::fs::read_to_string(s.dir.path().join("sp-metadata.xml")).unwrap();
    let doc = roxmltree::Document::parse(&md).unwrap();
    let kds: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("KeyDescriptor") && n.attribute("use") == Some("encryption"))
        .collect();
    assert_eq!(kds.len(), 2, "{md}");
    let methods = |kd: roxmltree::Node| -> Vec<String> {
        kd.children()
            .filter(|c| c.has_tag_name("EncryptionMethod"))
            .map(|c| c.attribute("Algorithm").unwrap().to_string())
            .collect()
    };
    let ec = methods(kds[0]);
    assert_eq!(
        ec.first().map(String::as_str),
        Some("http://www.w3.org/2009/xmlenc11#ECDH-ES"),
        "{ec:?}"
    );
    assert!(ec.iter().any(|m| m.ends_with("#kw-aes256")));
    assert!(!ec.iter().any(|m| m.contains("rsa-oaep")));
    let rsa = methods(kds[1]);
    assert!(
        rsa.iter().any(|m| m.ends_with("#rsa-oaep-mgf1p")),
        "{rsa:?}"
    );
    assert!(!rsa.iter().any(|m| m.contains("ECDH")));
    // Still signed as xmlsec1 checks it.
    let (ok, log) = xmlsec1_verify(
        &s.dir.path().join("sp-metadata.xml"),
        &s.sp_cert,
        "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor",
    );
    assert!(ok, "xmlsec1 refused our metadata: {log}");
}

#[tokio::test]
async fn ecdh_es_encrypted_assertions_from_libxmlsec1() {
    // SIGNGATE_WRITE_SAML_BENCH_FIXTURE_ECDH=DIR writes the first exchange as the ECDH-ES
    // fixture of benches/saml.rs (tests/data/saml/bench-ecdh).
    let fixture_dir = std::env::var_os("SIGNGATE_WRITE_SAML_BENCH_FIXTURE_ECDH").map(PathBuf::from);
    let valid_for = if fixture_dir.is_some() { "0" } else { "24" };
    let s = setup_with(
        "post",
        &["--enc", "aes256-gcm", "--valid-for", valid_for],
        Some("P-256"),
    )
    .await;
    assert_ecdh_metadata(&s);
    let (b64, pending) = login(&s).await;
    if let Some(d) = &fixture_dir {
        std::fs::create_dir_all(d).unwrap();
        for (from, to) in [
            (s.dir.path().join("sp.key"), "sp.key"),
            (s.dir.path().join("sp.crt"), "sp.crt"),
            (s.dir.path().join("sp-enc.key"), "sp-enc.key"),
            (s.dir.path().join("sp-enc.crt"), "sp-enc.crt"),
            (s.idp.cert.clone(), "idp.crt"),
            (s.idp.metadata.clone(), "idp-metadata.xml"),
        ] {
            std::fs::copy(from, d.join(to)).unwrap();
        }
        let now = OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        for (name, text) in [
            ("response.b64", b64.as_str()),
            ("now.txt", now.as_str()),
            ("entity_id.txt", ENTITY),
            ("acs_url.txt", ACS),
        ] {
            std::fs::write(d.join(name), format!("{text}\n")).unwrap();
        }
    }
    let xml = decoded(&b64);
    for needle in [
        "http://www.w3.org/2009/xmlenc11#ECDH-ES",
        "http://www.w3.org/2009/xmlenc11#ConcatKDF",
        "http://www.w3.org/2001/04/xmlenc#kw-aes256",
        "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        "urn:oid:1.2.840.10045.3.1.7",
        "ECKeyValue",
    ] {
        assert!(xml.contains(needle), "{needle} missing in {xml}");
    }
    assert!(!xml.contains("rsa-oaep"), "{xml}");
    assert!(
        !xml.contains("199001011234"),
        "the assertion must travel encrypted"
    );
    assert_eq!(s.idp.state().await["last_key_transport"], "ECDH-ES");
    let first =
        s.sp.finish(&b64, OffsetDateTime::now_utc())
            .expect("finish");
    assert_student(&first, &s, Loa::Substantial);
    check_binding(&first, &pending).unwrap();

    // Every key wrap, GCM size and KDF digest libxmlsec1 offers that we accept.
    for (kw, enc, digest) in [
        ("kw-aes128", "aes128-gcm", "sha256"),
        ("kw-aes192", "aes256-gcm", "sha384"),
        ("kw-aes256", "aes128-gcm", "sha512"),
    ] {
        s.idp
            .control(&[("kw", kw), ("enc", enc), ("kdf_digest", digest)])
            .await;
        let (b64, pending) = login(&s).await;
        assert!(decoded(&b64).contains(&format!("#{kw}\"")), "{kw}");
        let l =
            s.sp.finish(&b64, OffsetDateTime::now_utc())
                .unwrap_or_else(|e| panic!("{kw} {enc} {digest}: {e}"));
        assert_student(&l, &s, Loa::Substantial);
        check_binding(&l, &pending).unwrap();
    }

    // A node without ECDH-ES uses the RSA-OAEP encryption key that follows in our metadata.
    s.idp
        .control(&[("key_transport", "rsa"), ("enc", "aes256-gcm")])
        .await;
    let (b64, _) = login(&s).await;
    let xml = decoded(&b64);
    assert!(
        xml.contains("rsa-oaep") && !xml.contains("ECDH-ES"),
        "{xml}"
    );
    assert_eq!(s.idp.state().await["last_key_transport"], "RSA-OAEP");
    assert_student(
        &s.sp.finish(&b64, OffsetDateTime::now_utc()).unwrap(),
        &s,
        Loa::Substantial,
    );
}

#[tokio::test]
async fn ecdh_es_on_p384_and_p521() {
    for curve in ["P-384", "P-521"] {
        let s = setup_with("post", &["--enc", "aes256-gcm"], Some(curve)).await;
        let (b64, pending) = login(&s).await;
        let xml = decoded(&b64);
        assert!(xml.contains("xmlenc11#ECDH-ES"), "{curve}: {xml}");
        let l =
            s.sp.finish(&b64, OffsetDateTime::now_utc())
                .unwrap_or_else(|e| panic!("{curve}: {e}"));
        assert_student(&l, &s, Loa::Substantial);
        check_binding(&l, &pending).unwrap();
    }
}

/// The node changes one thing of the ECDH-ES key agreement after wrapping the key, then
/// signs the Response as usual: the signatures hold, the decryption must refuse.
#[tokio::test]
async fn ecdh_es_tampering_is_refused() {
    let s = setup_with("post", &["--enc", "aes256-gcm"], Some("P-256")).await;
    type Want = fn(&XmlEncError) -> bool;
    let cases: [(&str, Want); 5] = [
        (
            "ephemeral",
            |e| matches!(e, XmlEncError::OriginatorKey(m) if m.contains("not a point on P-256")),
        ),
        ("other-key", |e| matches!(e, XmlEncError::Unwrap)),
        (
            "curve",
            |e| matches!(e, XmlEncError::WrongCurve { offered, ours: "P-256" } if offered == "P-384"),
        ),
        ("kdf", |e| matches!(e, XmlEncError::Unwrap)),
        (
            "kdf-digest",
            |e| matches!(e, XmlEncError::Unsupported(m) if m.contains("xmldsig#sha1")),
        ),
    ];
    for (tamper, want) in cases {
        s.idp.control(&[("ecdh_tamper", tamper)]).await;
        let (b64, _) = login(&s).await;
        assert!(decoded(&b64).contains("xmlenc11#ECDH-ES"), "{tamper}");
        match s.sp.finish(&b64, OffsetDateTime::now_utc()) {
            Ok(l) => panic!("{tamper} accepted: {:?}", l.identity),
            Err(SamlError::Decrypt(e)) => {
                assert!(want(&e), "{tamper}: {e:?}");
                assert_eq!(SamlError::Decrypt(e).user_reason(), UserReason::Rejected);
            }
            Err(e) => panic!("{tamper}: refused for another reason: {e}"),
        }
    }
    // The same node without the change is accepted (the refusals were the changes).
    s.idp.control(&[("ecdh_tamper", "")]).await;
    let (b64, _) = login(&s).await;
    s.sp.finish(&b64, OffsetDateTime::now_utc()).unwrap();
}

#[tokio::test]
async fn legal_person_attributes_are_requested_and_read() {
    let s = setup("post", &[]).await;
    s.idp
        .control(&[
            ("legal_id", "SE/NO/5560000001"),
            ("legal_name", "Example Aktiebolag"),
        ])
        .await;
    let mut req = request(Loa::Substantial, "rs-lp");
    req.legal_person = true;
    let (b64, _) = login_with(&s, &req).await;
    let last = s.idp.last_request().await;
    let xml = last["xml"].as_str().unwrap();
    assert!(
        xml.contains("legalperson/LegalPersonIdentifier") && xml.contains("legalperson/LegalName")
    );
    let login = s.sp.finish(&b64, OffsetDateTime::now_utc()).unwrap();
    let lp = login.legal_person.expect("legal person");
    assert_eq!(lp.identifier, "SE/NO/5560000001");
    assert_eq!(lp.name, "Example Aktiebolag");
}

#[tokio::test]
async fn error_statuses_map_to_signer_reasons() {
    let s = setup("post", &[]).await;
    for (status, reason) in [
        ("RequestDenied", UserReason::Cancelled),
        ("AuthnFailed", UserReason::Cancelled),
        ("NoAuthnContext", UserReason::LoaTooLow),
    ] {
        s.idp.control(&[("status", status)]).await;
        let (b64, _) = login(&s).await;
        let e = s.sp.finish(&b64, OffsetDateTime::now_utc()).unwrap_err();
        match &e {
            SamlError::Status {
                code,
                sub_codes,
                message,
            } => {
                assert!(
                    code.ends_with(":Responder") || code.ends_with(":Requester"),
                    "{code}"
                );
                assert!(
                    sub_codes.iter().any(|c| c.ends_with(status)),
                    "{sub_codes:?}"
                );
                assert!(message.as_deref().unwrap_or("").contains(status));
            }
            other => panic!("{status}: {other}"),
        }
        assert_eq!(e.user_reason(), reason, "{status}");
    }
}

fn xmlsec1_verify(file: &Path, cert: &Path, id_attr: &str) -> (bool, String) {
    let out = Command::new("xmlsec1")
        .args(["--verify", "--enabled-key-data", "rsa,ecdsa,x509"])
        .arg("--pubkey-cert-pem")
        .arg(cert)
        .arg("--id-attr:ID")
        .arg(id_attr)
        .arg(file)
        .output()
        .expect("xmlsec1 is required (scripts/test installs it)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn xmlsec1_verifies_our_metadata_and_post_authn_request() {
    let s = setup("post", &[]).await;
    let dir = s.dir.path();

    let meta = dir.join("sp-metadata.xml");
    let md_el = "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor";
    let (ok, log) = xmlsec1_verify(&meta, &s.sp_cert, md_el);
    assert!(ok, "xmlsec1 refused our metadata: {log}");
    let text = std::fs::read_to_string(&meta).unwrap();
    for needle in [
        "AuthnRequestsSigned=\"true\"",
        "WantAssertionsSigned=\"true\"",
        "use=\"encryption\"",
        "xmlenc11#aes256-gcm",
        "<eidas:SPType",
        "validUntil=",
        ACS,
    ] {
        assert!(text.contains(needle), "{needle} missing in our metadata");
    }
    // The check can fail: one changed character of signed content.
    let tampered = dir.join("sp-metadata-tampered.xml");
    std::fs::write(
        &tampered,
        text.replacen(ACS, "https://evil.test/saml/acs", 1),
    )
    .unwrap();
    assert!(!xmlsec1_verify(&tampered, &s.sp_cert, md_el).0);

    let (start, _) =
        s.sp.begin(&request(Loa::High, "rs"), OffsetDateTime::now_utc())
            .unwrap();
    let LoginStart::Post { fields, .. } = start else {
        panic!("POST binding expected")
    };
    let req = fields
        .iter()
        .find(|(k, _)| k == "SAMLRequest")
        .map(|(_, v)| decoded(v))
        .unwrap();
    let file = dir.join("authn-request.xml");
    std::fs::write(&file, &req).unwrap();
    let ar_el = "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest";
    let (ok, log) = xmlsec1_verify(&file, &s.sp_cert, ar_el);
    assert!(ok, "xmlsec1 refused our AuthnRequest: {log}\n{req}");
    std::fs::write(&file, req.replacen("LoA/high", "LoA/low", 1)).unwrap();
    assert!(!xmlsec1_verify(&file, &s.sp_cert, ar_el).0);
}

#[test]
fn xmlsec1_verifies_our_ecdsa_signature() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("ec.key");
    let cert = dir.path().join("ec.crt");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=ec"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signer = signgate::trust::xmlsign::XmlSigner::from_pem(
        &std::fs::read_to_string(&key).unwrap(),
        &std::fs::read_to_string(&cert).unwrap(),
    )
    .unwrap();
    let xml = "<saml2p:AuthnRequest xmlns:saml2p=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
               xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_e1\" Version=\"2.0\">\
               <saml2:Issuer>x</saml2:Issuer><saml2p:NameIDPolicy AllowCreate=\"true\"/>\
               </saml2p:AuthnRequest>";
    let signed = signer
        .sign_enveloped(
            xml,
            "_e1",
            Some(("urn:oasis:names:tc:SAML:2.0:assertion", "Issuer")),
        )
        .unwrap();
    assert!(signed.contains("xmldsig-more#ecdsa-sha256"));
    let file = dir.path().join("signed.xml");
    std::fs::write(&file, &signed).unwrap();
    let el = "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest";
    let (ok, log) = xmlsec1_verify(&file, &cert, el);
    assert!(ok, "xmlsec1 refused our ECDSA signature: {log}\n{signed}");
    std::fs::write(
        &file,
        signed.replacen("AllowCreate=\"true\"", "AllowCreate=\"false\"", 1),
    )
    .unwrap();
    assert!(!xmlsec1_verify(&file, &cert, el).0);
}

#[tokio::test]
async fn idp_metadata_must_be_signed_by_the_configured_signer() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let idp = Idp::start(dir.path(), &[]);
    let mut cfg = eidas_config(dir.path(), &idp, "post");
    // Another certificate as the required metadata signer.
    let (_, other) = keypair(dir.path(), "other");
    cfg.idp_metadata_signer = Some(other);
    let e = SamlSp::load(&cfg, ENTITY.into(), ACS.into())
        .await
        .unwrap_err();
    assert!(matches!(e, SamlError::MetadataSignature(_)), "{e}");
    assert_eq!(e.user_reason(), UserReason::ProviderUnavailable);

    // The right signer, but the metadata changed after signing.
    cfg.idp_metadata_signer = Some(idp.cert.clone());
    let good = std::fs::read_to_string(&idp.metadata).unwrap();
    let tampered = dir.path().join("tampered.xml");
    std::fs::write(&tampered, good.replace("/sso/post", "/evil/post")).unwrap();
    cfg.idp_metadata = tampered.display().to_string();
    let e = SamlSp::load(&cfg, ENTITY.into(), ACS.into())
        .await
        .unwrap_err();
    assert!(matches!(e, SamlError::MetadataSignature(_)), "{e}");

    // Over HTTP from the IdP itself, then a refresh that fails keeps the old metadata.
    cfg.idp_metadata = idp.url("/idp/metadata");
    let sp = SamlSp::load(&cfg, ENTITY.into(), ACS.into()).await.unwrap();
    assert_eq!(
        sp.idp().sso_post.as_deref(),
        Some(idp.url("/sso/post").as_str())
    );
    std::fs::write(&idp.metadata, good.replace("/sso/post", "/evil/post")).unwrap();
    let e = sp.refresh_metadata().await.unwrap_err();
    assert!(matches!(e, SamlError::MetadataSignature(_)), "{e}");
    assert_eq!(
        sp.idp().sso_post.as_deref(),
        Some(idp.url("/sso/post").as_str())
    );
    std::fs::write(&idp.metadata, &good).unwrap();
    sp.refresh_metadata().await.unwrap();
}

/// Runs tests/idp/saml_attacks.py on a valid response.
fn attack(idp: &Idp, variant: &str, b64: &str) -> String {
    let mut child = Command::new(venv_python())
        .arg(script("saml_attacks.py"))
        .arg(variant)
        .arg("--idp-key")
        .arg(&idp.key)
        .arg("--idp-cert")
        .arg(&idp.cert)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tests/idp/saml_attacks.py");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b64.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "saml_attacks.py {variant}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn hostile_responses_are_refused() {
    let s = setup("post", &["--enc", "none"]).await;
    let now = OffsetDateTime::now_utc;

    // Signed assertion in an unsigned response (the XSW3..8 base).
    s.idp
        .control(&[("sign_response", "0"), ("sign_assertion", "1")])
        .await;
    let (assertion_signed, _) = login(&s).await;
    let ok =
        s.sp.finish(&assertion_signed, now())
            .expect("the unmodified base is valid");
    assert_eq!(ok.identity.eidas_id.as_deref(), Some("SE/NO/199001011234"));
    // Signed response with an unsigned assertion (the XSW1/2 base).
    s.idp
        .control(&[("sign_response", "1"), ("sign_assertion", "0")])
        .await;
    let (response_signed, _) = login(&s).await;
    s.sp.finish(&response_signed, now())
        .expect("the unmodified base is valid");

    let refused = |variant: &str, b64: &str| -> SamlError {
        let hostile = attack(&s.idp, variant, b64);
        assert_ne!(hostile, b64, "{variant} changed nothing");
        match s.sp.finish(&hostile, now()) {
            Ok(l) => panic!("{variant} accepted: {:?}", l.identity),
            Err(e) => {
                let want = if variant == "expired" {
                    UserReason::Expired
                } else {
                    UserReason::Rejected
                };
                assert_eq!(
                    e.user_reason(),
                    want,
                    "{variant}: {e}\n{}",
                    decoded(&hostile)
                );
                e
            }
        }
    };

    for v in ["xsw1", "xsw2"] {
        let e = refused(v, &response_signed);
        assert!(
            matches!(
                e,
                SamlError::AssertionCount(2) | SamlError::SignaturePlacement(_)
            ),
            "{v}: {e}"
        );
    }
    for v in ["xsw3", "xsw4", "xsw5", "xsw6", "xsw7", "xsw8"] {
        let e = refused(v, &assertion_signed);
        assert!(
            matches!(
                e,
                SamlError::AssertionCount(2) | SamlError::SignaturePlacement(_)
            ),
            "{v}: {e}"
        );
    }
    let e = refused("unsigned", &assertion_signed);
    assert!(matches!(e, SamlError::Unsigned), "{e}");
    let e = refused("otherkey", &assertion_signed);
    assert!(
        matches!(
            e,
            SamlError::Signature {
                what: "Assertion",
                ..
            }
        ),
        "{e}"
    );
    let e = refused("expired", &assertion_signed);
    assert!(matches!(e, SamlError::Expired(_)), "{e}");
    let e = refused("audience", &assertion_signed);
    assert!(matches!(e, SamlError::Audience(_)), "{e}");
    let e = refused("comment", &assertion_signed);
    assert!(matches!(e, SamlError::InjectedContent(_)), "{e}");
    let e = refused("comment_nameid", &assertion_signed);
    assert!(
        matches!(e, SamlError::InjectedContent(ref w) if w == "NameID"),
        "{e}"
    );
    let e = refused("dtd", &assertion_signed);
    assert!(matches!(e, SamlError::Xml(_)), "{e}");
    let e = refused("doubly", &assertion_signed);
    assert!(matches!(e, SamlError::SignaturePlacement(_)), "{e}");
}

// ---- end to end through `signgate serve` (the ceremony wiring of the lead) ----

const ORG: &str = "991825827";
const SVEN: &str = "SE/NO/199001011234";

fn unescape(s: &str) -> String {
    s.replace("&#x2B;", "+")
        .replace("&#43;", "+")
        .replace("&#x2F;", "/")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#x3D;", "=")
        .replace("&#61;", "=")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The action and hidden fields of the first form of `html`.
fn first_form(html: &str) -> (String, Vec<(String, String)>) {
    let i = html.find("<form").expect("a form");
    let form = &html[i..html[i..]
        .find("</form>")
        .map(|j| i + j)
        .unwrap_or(html.len())];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let k = format!("{name}=\"");
        let a = tag.find(&k)? + k.len();
        let b = tag[a..].find('"')? + a;
        Some(unescape(&tag[a..b]))
    };
    let action = attr(form, "action").expect("form action");
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find("<input") {
        let end = rest[i..].find('>').unwrap() + i;
        let tag = &rest[i..end];
        if let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value")) {
            fields.push((n, v));
        }
        rest = &rest[end..];
    }
    (action, fields)
}

struct Gateway {
    server: common::Server,
    idp: Idp,
    _dir: tempfile::TempDir,
    key: String,
}

async fn gateway() -> Gateway {
    gateway_with(None).await
}

/// [`gateway`], with an EC encryption pair on `ec_curve` configured beside the RSA signing
/// pair (`eidas.sp_encryption_key_file` / `sp_encryption_cert_file`).
async fn gateway_with(ec_curve: Option<&str>) -> Gateway {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let idp = Idp::start(dir.path(), &[]);
    let (sp_key, sp_cert) = keypair(dir.path(), "sp");
    let s = |p: &Path| p.display().to_string();
    let mut env = vec![
        ("SIGNGATE__EIDAS__IDP_METADATA", s(&idp.metadata)),
        ("SIGNGATE__EIDAS__IDP_METADATA_SIGNER", s(&idp.cert)),
        ("SIGNGATE__EIDAS__SP_KEY_FILE", s(&sp_key)),
        ("SIGNGATE__EIDAS__SP_CERT_FILE", s(&sp_cert)),
    ];
    if let Some(curve) = ec_curve {
        let (k, c) = ec_keypair(dir.path(), "sp-enc", curve);
        env.push(("SIGNGATE__EIDAS__SP_ENCRYPTION_KEY_FILE", s(&k)));
        env.push(("SIGNGATE__EIDAS__SP_ENCRYPTION_CERT_FILE", s(&c)));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = common::Server::start(common::Db::Sqlite, &env).await;
    // The node learns our ACS and encryption key from our published metadata.
    let md = reqwest::get(format!("{}/saml/metadata", server.base))
        .await
        .unwrap();
    assert_eq!(md.status(), 200);
    let md = md.text().await.unwrap();
    assert!(md.contains(&format!("{}/saml/acs", server.base)), "{md}");
    std::fs::write(dir.path().join("sp-metadata.xml"), &md).unwrap();
    let key = server.org_add(ORG, "Universitetet i Oslo");
    Gateway {
        server,
        idp,
        _dir: dir,
        key,
    }
}

async fn eidas_job(g: &Gateway) -> (String, String) {
    let resp = common::create_job(
        &g.server,
        &g.key,
        serde_json::json!({
            "title": "Leieavtale – utvekslingsstudent",
            "kind": "portal",
            "required_loa": "substantial",
            "signers": [{"eidas_id": SVEN}],
        }),
        &[("kontrakt.pdf", common::sample_pdf("Kontrakt", 1))],
    )
    .await;
    assert_eq!(resp.status(), 201);
    let job: serde_json::Value = resp.json().await.unwrap();
    (
        job["id"].as_str().unwrap().to_string(),
        job["signers"][0]["signing_url"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

/// Browser: signing link → auto-post to the node → the node's auto-post back to our ACS.
/// Returns the browser, the ACS response page and the SAMLResponse that was posted.
async fn through_the_node(
    g: &Gateway,
    signing_url: &str,
) -> (reqwest::Client, reqwest::Response, Vec<(String, String)>) {
    let b = common::browser();
    let page = b.get(signing_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let (action, fields) = first_form(&html);
    assert_eq!(action, g.idp.url("/sso/post"), "{html}");
    let at_node = b.post(&action).form(&fields).send().await.unwrap();
    let status = at_node.status();
    let html = at_node.text().await.unwrap();
    assert_eq!(status, 200, "the node refused our AuthnRequest: {html}");
    let (acs, fields) = first_form(&html);
    assert_eq!(acs, format!("{}/saml/acs", g.server.base));
    let back = b.post(&acs).form(&fields).send().await.unwrap();
    (b, back, fields)
}

#[tokio::test]
async fn e2e_foreign_student_signs_through_the_eidas_node() {
    let g = gateway().await;
    let (id, url) = eidas_job(&g).await;
    let (b, page, posted) = through_the_node(&g, &url).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let action =
        common::form_action(&html, "/sign").unwrap_or_else(|| panic!("no sign form: {html}"));
    let csrf = common::input_value(&html, "csrf").expect("csrf");
    let done = b
        .post(format!("{}{action}", g.server.base))
        .form(&[("csrf", csrf.as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    let status = done.status();
    let body = done.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Thank you, you have signed"), "{body}");
    let job = common::wait_for_job(&g.server, &g.key, &id, |j| j["status"] == "completed").await;
    assert_eq!(job["signers"][0]["status"], "signed");

    // The same SAMLResponse posted again (a replay) is refused.
    let replay = common::browser()
        .post(format!("{}/saml/acs", g.server.base))
        .form(&posted)
        .send()
        .await
        .unwrap();
    let status = replay.status();
    let body = replay.text().await.unwrap();
    assert_eq!(status, 403, "replay: {body}");
    assert!(
        body.contains("The login could not be accepted")
            || body.contains("Innloggingen kunne ikke godtas"),
        "replay: {body}"
    );
}

#[tokio::test]
async fn e2e_a_different_person_is_refused() {
    let g = gateway().await;
    g.idp.control(&[("person", "SE/NO/198512249999")]).await;
    let (id, url) = eidas_job(&g).await;
    let (_, page, _) = through_the_node(&g, &url).await;
    let status = page.status();
    let html = page.text().await.unwrap();
    assert_eq!(status, 403, "{html}");
    assert!(
        html.contains("someone other than the designated signer"),
        "{html}"
    );
    let job = common::wait_for_job(&g.server, &g.key, &id, |_| true).await;
    assert_eq!(job["signers"][0]["status"], "waiting");
}

/// Signs on the page after the node's response and checks the job completes.
async fn sign_and_complete(g: &Gateway, b: &reqwest::Client, page: reqwest::Response, id: &str) {
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let action =
        common::form_action(&html, "/sign").unwrap_or_else(|| panic!("no sign form: {html}"));
    let csrf = common::input_value(&html, "csrf").expect("csrf");
    let done = b
        .post(format!("{}{action}", g.server.base))
        .form(&[("csrf", csrf.as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    let status = done.status();
    let body = done.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Thank you, you have signed"), "{body}");
    let job = common::wait_for_job(&g.server, &g.key, id, |j| j["status"] == "completed").await;
    assert_eq!(job["signers"][0]["status"], "signed");
}

#[tokio::test]
async fn e2e_foreign_student_signs_with_an_ecdh_es_encrypted_assertion() {
    let g = gateway_with(Some("P-256")).await;
    let (id, url) = eidas_job(&g).await;
    let (b, page, posted) = through_the_node(&g, &url).await;
    let response = posted
        .iter()
        .find(|(k, _)| k == "SAMLResponse")
        .map(|(_, v)| decoded(v))
        .expect("SAMLResponse posted");
    assert!(
        response.contains("xmlenc11#ECDH-ES") && !response.contains("rsa-oaep"),
        "{response}"
    );
    assert_eq!(g.idp.state().await["last_key_transport"], "ECDH-ES");
    sign_and_complete(&g, &b, page, &id).await;
}

/// Tampered ephemeral key, wrong curve, wrong KDF parameters: the signer is refused at the
/// ACS with the plain "could not be accepted" page and nothing is signed.
#[tokio::test]
async fn e2e_ecdh_es_tampering_refuses_the_login_and_nothing_is_signed() {
    let g = gateway_with(Some("P-256")).await;
    for tamper in ["ephemeral", "curve", "kdf"] {
        g.idp.control(&[("ecdh_tamper", tamper)]).await;
        let (id, url) = eidas_job(&g).await;
        let (_, page, posted) = through_the_node(&g, &url).await;
        assert!(
            posted
                .iter()
                .any(|(k, v)| k == "SAMLResponse" && decoded(v).contains("xmlenc11#ECDH-ES")),
            "{tamper}"
        );
        let status = page.status();
        let html = page.text().await.unwrap();
        assert_eq!(status, 403, "{tamper}: {html}");
        assert!(
            html.contains("The login could not be accepted")
                || html.contains("Innloggingen kunne ikke godtas"),
            "{tamper}: {html}"
        );
        let job = common::wait_for_job(&g.server, &g.key, &id, |_| true).await;
        assert_eq!(job["signers"][0]["status"], "waiting", "{tamper}");
        assert_ne!(job["status"], "completed", "{tamper}");
    }
    // The same gateway and node without the change: the student signs.
    g.idp.control(&[("ecdh_tamper", "")]).await;
    let (id, url) = eidas_job(&g).await;
    let (b, page, _) = through_the_node(&g, &url).await;
    sign_and_complete(&g, &b, page, &id).await;
}
