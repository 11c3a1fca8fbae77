//! The XAdES evidence record per signer (issue 6): records for an ID-porten signer (id_token)
//! and an eIDAS signer (SAML assertion full of `<`, `&` and `]]>`) are sealed by the
//! development seal key with timestamps from the development TSU and revocation data issued
//! by OpenSSL (a CRL from `openssl ca -gencrl`, OCSP responses from `openssl ocsp`).
//! Checked by software we did not write — `xmlsec1 --verify` and signxml's `XAdESVerifier`
//! against the development root, `xmllint --schema` against
//! docs/evidence/signgate-evidence-1.xsd — and by our own
//! `signgate validate` (XAdES-BASELINE-LT / -LTA, TOTAL_PASSED). One changed digest character
//! makes both verifiers fail. The raw login evidence decodes back byte-exact. Over HTTP,
//! `GET /api/v1/jobs/{id}/signers/{sid}/xades` is organisation-scoped, answers problem+json
//! before the job is sealed and for unknown signers, and serves the stored record as
//! `application/xml`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use common::*;
use der::Decode as _;
use serde_json::{Value, json};
use signgate::identity::{IdpKind, VerifiedIdentity};
use signgate::jobs::model::{Loa, OnBehalfOf, SignerIdentifier};
use signgate::sealing::evidence::{
    Consent, ConsentAction, DocumentFacts, EvidenceRecord, JobFacts, NAMESPACE, RegisterSnapshot,
    RegisterSource, Sender, SignerFacts, sign_record,
};
use signgate::sealing::keys::{DevPkiPaths, SealKey, ensure_dev_pki};
use signgate::sealing::ltv::LtvData;
use signgate::sealing::tsa::{DEV_POLICY, TsaUnit};
use signgate::sealing::xades::Level;
use time::OffsetDateTime;
use time::macros::datetime;

const BIN: &str = env!("CARGO_BIN_EXE_signgate");
const XADES_SP: &str = "http://uri.etsi.org/01903/v1.3.2#:SignedProperties";

fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/evidence/signgate-evidence-1.xsd")
}

/// The development PKI in `dir`: seal key, TSU, root.
struct Pki {
    paths: DevPkiPaths,
    key: SealKey,
    tsa: TsaUnit,
}

impl Pki {
    fn load(dir: &Path) -> Pki {
        let paths = ensure_dev_pki(dir, None).expect("development PKI");
        let key = SealKey::from_files(&paths.seal_key, &paths.seal_chain).unwrap();
        let tsa = TsaUnit::new(
            SealKey::from_files(&paths.tsa_key, &paths.tsa_chain).unwrap(),
            DEV_POLICY,
        );
        Pki { paths, key, tsa }
    }
}

/// Runs `openssl ARGS` in `dir`; fails loudly (with stderr) when openssl is missing or fails.
fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is required (scripts/test installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn write_der_cert(dir: &Path, name: &str, der: &[u8]) -> String {
    let cert = x509_cert::Certificate::from_der(der).unwrap();
    let pem = der::EncodePem::to_pem(&cert, der::pem::LineEnding::LF).unwrap();
    std::fs::write(dir.join(name), pem).unwrap();
    name.to_string()
}

/// A CRL of the development root, issued by `openssl ca -gencrl` (nothing revoked).
fn openssl_crl(pki: &Pki) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("ca.cnf"),
        "[ ca ]\ndefault_ca = dev\n[ dev ]\ndatabase = index.txt\ncrlnumber = crlnumber\n\
         default_md = sha256\ndefault_crl_days = 7\n",
    )
    .unwrap();
    std::fs::write(d.join("index.txt"), "").unwrap();
    std::fs::write(d.join("crlnumber"), "01\n").unwrap();
    let root = pki.paths.root_cert.display().to_string();
    let root_key = pki.paths.root_key.display().to_string();
    openssl(
        d,
        &[
            "ca", "-config", "ca.cnf", "-gencrl", "-keyfile", &root_key, "-cert", &root, "-out",
            "crl.pem",
        ],
    );
    openssl(
        d,
        &[
            "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der",
        ],
    );
    std::fs::read(d.join("crl.der")).unwrap()
}

/// `YYMMDDHHMMSSZ` as openssl's index.txt wants it.
fn index_time(t: OffsetDateTime) -> String {
    format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        t.year() % 100,
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// OCSP responses ("good") from `openssl ocsp`, signed by the development root itself, for
/// each certificate in `certs` (DER, each issued by the root).
fn openssl_ocsp(pki: &Pki, certs: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut index = String::new();
    for (i, c) in certs.iter().enumerate() {
        let cert = x509_cert::Certificate::from_der(c).unwrap();
        let tbs = &cert.tbs_certificate;
        let na = OffsetDateTime::UNIX_EPOCH + tbs.validity.not_after.to_unix_duration();
        index.push_str(&format!(
            "V\t{}\t\t{}\tunknown\t/CN=certificate {i}\n",
            index_time(na),
            hex::encode_upper(tbs.serial_number.as_bytes()),
        ));
    }
    std::fs::write(d.join("index.txt"), index).unwrap();
    let root = pki.paths.root_cert.display().to_string();
    let root_key = pki.paths.root_key.display().to_string();
    let mut out = Vec::new();
    for (i, c) in certs.iter().enumerate() {
        let name = write_der_cert(d, &format!("cert{i}.pem"), c);
        openssl(
            d,
            &[
                "ocsp", "-sha256", "-issuer", &root, "-cert", &name, "-reqout", "req.der",
            ],
        );
        openssl(
            d,
            &[
                "ocsp",
                "-index",
                "index.txt",
                "-rsigner",
                &root,
                "-rkey",
                &root_key,
                "-CA",
                &root,
                "-reqin",
                "req.der",
                "-respout",
                "resp.der",
                "-ndays",
                "1",
                "-rmd",
                "sha256",
            ],
        );
        let resp = std::fs::read(d.join("resp.der")).unwrap();
        // The response must say "good" for this certificate (openssl reads it back).
        let text = openssl(
            d,
            &[
                "ocsp",
                "-respin",
                "resp.der",
                "-issuer",
                &root,
                "-sha256",
                "-cert",
                &name,
                "-CAfile",
                &root,
                "-no_nonce",
            ],
        );
        assert!(
            String::from_utf8_lossy(&text).contains(": good"),
            "{}",
            String::from_utf8_lossy(&text)
        );
        out.push(resp);
    }
    out
}

/// `xmlsec1 --verify` against the development root; (accepted, output).
fn xmlsec_verify(file: &Path, root: &Path) -> (bool, String) {
    let out = Command::new("xmlsec1")
        .args(["--verify", "--trusted-pem"])
        .arg(root)
        .args(["--id-attr:Id", XADES_SP])
        .arg(file)
        .output()
        .expect("xmlsec1 is required (scripts/test installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn venv_python() -> PathBuf {
    let venv = std::env::var("SIGNGATE_VENV").unwrap_or_else(|_| "/var/tmp/signgate-venv".into());
    let p = PathBuf::from(venv).join("bin/python");
    assert!(
        p.exists(),
        "the test venv is required at {} (scripts/test installs signxml into it)",
        p.display()
    );
    p
}

/// signxml's `XAdESVerifier` (XML-DSig, the XAdES signing-certificate reference and the
/// chain to `root`); (accepted, output).
fn signxml_verify(file: &Path, root: &Path) -> (bool, String) {
    const SCRIPT: &str = "import sys\n\
        from signxml.xades import XAdESVerifier\n\
        data = open(sys.argv[1], 'rb').read()\n\
        results = XAdESVerifier().verify(data, ca_pem_file=sys.argv[2], expect_references=2)\n\
        print(' '.join(type(r).__name__ for r in results))\n";
    let out = Command::new(venv_python())
        .arg("-c")
        .arg(SCRIPT)
        .arg(file)
        .arg(root)
        .output()
        .expect("run the venv python");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `xmllint --schema docs/evidence/signgate-evidence-1.xsd`; (valid, output).
fn xmllint_schema(file: &Path) -> (bool, String) {
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(schema())
        .arg(file)
        .output()
        .expect("xmllint is required (Debian libxml2-utils; scripts/test installs it)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `signgate validate --trust-anchor ROOT --format json FILE`, offline; (exit code, report).
fn validate(file: &Path, root: &Path) -> (i32, Value) {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(tmp.path())
        .env("SIGNGATE__TRUST__STORE_DIR", tmp.path().join("trust"))
        .args([
            "validate",
            "--offline",
            "--no-trusted-lists",
            "--format",
            "json",
            "--trust-anchor",
        ])
        .arg(root)
        .arg(file)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("no JSON report: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), report)
}

/// The decoded `LoginEvidence` of a (signed) record.
fn login_evidence(xml: &[u8]) -> (String, Vec<u8>) {
    let text = std::str::from_utf8(xml).unwrap();
    let doc = roxmltree::Document::parse(text).unwrap();
    let ev = doc
        .descendants()
        .find(|n| n.has_tag_name((NAMESPACE, "LoginEvidence")))
        .expect("LoginEvidence");
    let b64: String = ev
        .text()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    (
        ev.attribute("Type").unwrap_or_default().to_string(),
        B64.decode(b64).unwrap(),
    )
}

/// A realistic ID-porten id_token (JWS compact serialization; the gateway verified it at
/// login, here it is only carried).
fn id_token() -> String {
    let header = json!({"kid": "c6d8e4b2-idporten", "typ": "JWT", "alg": "RS256"});
    let claims = json!({
        "iss": "https://idporten.no/",
        "aud": "signgate-test",
        "sub": "kRq8Sj0v9XKe4w",
        "pid": "13097248022",
        "acr": "idporten-loa-high",
        "amr": ["BankID"],
        "auth_time": 1_740_823_200,
        "iat": 1_740_823_201,
        "exp": 1_740_823_321,
        "nonce": "n-0S6_WzA2Mj",
        "locale": "nb",
        "sid": "b1e1c1d3-1d1c-4e6a-9c21-0f6b2cfe7d11"
    });
    format!(
        "{}.{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string()),
        B64URL.encode([0x5a_u8; 256])
    )
}

/// A SAML assertion as received, with characters that would break a naive writer.
const SAML_ASSERTION: &str = concat!(
    r#"<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1b2" "#,
    r#"IssueInstant="2025-03-01T10:05:00Z" Version="2.0">"#,
    r#"<saml2:Issuer>https://eidas.example.se/idp</saml2:Issuer>"#,
    r#"<saml2:AttributeStatement><saml2:Attribute Name="http://eidas.europa.eu/attributes/naturalperson/CurrentFamilyName">"#,
    r#"<saml2:AttributeValue>Öberg &amp; Söner &lt;AB&gt; ]]&gt;</saml2:AttributeValue></saml2:Attribute>"#,
    r#"<saml2:Attribute Name="note"><saml2:AttributeValue><![CDATA[a < b && c ]]></saml2:AttributeValue>"#,
    "</saml2:Attribute></saml2:AttributeStatement>\r\n<!-- ]]> -->\n",
    r#"</saml2:Assertion>"#
);

fn job_facts() -> JobFacts {
    JobFacts {
        id: "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
        title: "Leieavtale <Storgata 1> & vedlegg".into(),
        reference: Some("SAK-2025/117".into()),
        created_at: datetime!(2025-03-01 09:00:00.123 UTC),
        sender: Sender {
            name: "Demo kommune".into(),
            orgnr: "991825827".into(),
        },
        documents: vec![
            DocumentFacts {
                id: "doc-a".into(),
                position: 0,
                title: "Kontrakt".into(),
                filename: Some("kontrakt.pdf".into()),
                size: 48_213,
                sha256: sha256(b"kontrakt"),
            },
            DocumentFacts {
                id: "doc-b".into(),
                position: 1,
                title: "Vedlegg".into(),
                filename: None,
                size: 1_024,
                sha256: sha256(b"vedlegg"),
            },
        ],
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    d.as_ref().try_into().unwrap()
}

fn idporten_record() -> EvidenceRecord {
    EvidenceRecord {
        gateway: Some("https://signgate.example.no".into()),
        job: job_facts(),
        signer: SignerFacts {
            id: "signer-kari".into(),
            position: 0,
            designated: SignerIdentifier::NationalId("13097248022".into()),
            on_behalf_of: None,
        },
        identity: VerifiedIdentity {
            idp: IdpKind::Idporten,
            issuer: "https://idporten.no/".into(),
            national_id: Some("13097248022".into()),
            eidas_id: None,
            name: "Kari Nordmann".into(),
            date_of_birth: Some("1972-09-13".into()),
            loa: Loa::High,
            auth_time: datetime!(2025-03-01 10:00:00 UTC),
            evidence: Some(id_token()),
        },
        consent: Consent {
            action: ConsentAction::Signed,
            at: datetime!(2025-03-01 10:01:30 UTC),
            client_ip: Some("2001:db8::17".into()),
            user_agent: Some(
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".into(),
            ),
        },
        register: None,
    }
}

fn eidas_record() -> EvidenceRecord {
    EvidenceRecord {
        gateway: None,
        job: job_facts(),
        signer: SignerFacts {
            id: "signer-sven".into(),
            position: 1,
            designated: SignerIdentifier::EidasId("SE/NO/199001011234".into()),
            on_behalf_of: Some(OnBehalfOf {
                orgnr: "974760673".into(),
                authority: signgate::authority::AuthorityKind::Signature,
            }),
        },
        identity: VerifiedIdentity {
            idp: IdpKind::Eidas,
            issuer: "https://eidas.example.se/idp".into(),
            national_id: None,
            eidas_id: Some("SE/NO/199001011234".into()),
            name: "Sven Öberg".into(),
            date_of_birth: Some("1990-01-01".into()),
            loa: Loa::Substantial,
            auth_time: datetime!(2025-03-01 10:05:00 UTC),
            evidence: Some(SAML_ASSERTION.into()),
        },
        consent: Consent {
            action: ConsentAction::Signed,
            at: datetime!(2025-03-01 10:06:10 UTC),
            client_ip: Some("198.51.100.23".into()),
            user_agent: Some("curl/8.5.0 \"<&>\"".into()),
        },
        register: Some(RegisterSnapshot {
            orgnr: "974760673".into(),
            summary: Some("styrets leder alone holds signatur".into()),
            sources: vec![RegisterSource {
                url: "https://data.brreg.no/enhetsregisteret/api/enheter/974760673/roller".into(),
                retrieved_at: datetime!(2025-03-01 10:05:20 UTC),
                media_type: "application/json".into(),
                body: br#"{"rollegrupper":[{"type":{"kode":"STYR"},"roller":[{"type":{"kode":"LEDE"}}]}]}"#.to_vec(),
            }],
        }),
    }
}

/// Every check one sealed record must pass; returns the validator's report.
fn check_sealed(
    pki: &Pki,
    signed: &[u8],
    want_level: &str,
    raw_login: &str,
    want_type: &str,
) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("evidence.xml");
    std::fs::write(&file, signed).unwrap();

    let (ok, out) = xmlsec_verify(&file, &pki.paths.root_cert);
    assert!(ok, "xmlsec1 rejects the evidence: {out}");
    assert!(out.contains("OK"), "{out}");

    let (ok, out) = signxml_verify(&file, &pki.paths.root_cert);
    assert!(ok, "signxml rejects the evidence: {out}");
    assert!(out.contains("XAdESVerifyResult"), "{out}");

    let (ok, out) = xmllint_schema(&file);
    assert!(ok, "the evidence does not validate against the XSD: {out}");

    let (code, report) = validate(&file, &pki.paths.root_cert);
    let sigs = report["signatures"].as_array().expect("signatures");
    assert_eq!(sigs.len(), 1, "{report:#}");
    let s = &sigs[0];
    assert_eq!(s["format"], want_level, "{report:#}");
    assert_eq!(s["indication"], "TOTAL_PASSED", "{report:#}");
    assert_eq!(code, 0, "{report:#}");
    assert!(
        s["signer"]
            .as_str()
            .is_some_and(|n| n.contains("signgate Development Seal")),
        "{report:#}"
    );

    let (ty, raw) = login_evidence(signed);
    assert_eq!(ty, want_type);
    assert_eq!(
        raw,
        raw_login.as_bytes(),
        "login evidence is not byte-exact"
    );

    // One changed character of a signed document digest: both verifiers refuse.
    let text = std::str::from_utf8(signed).unwrap();
    let at = text.find("<Sha256>").unwrap() + "<Sha256>".len();
    let mut tampered = signed.to_vec();
    tampered[at] = if tampered[at] == b'0' { b'1' } else { b'0' };
    let bad = dir.path().join("tampered.xml");
    std::fs::write(&bad, &tampered).unwrap();
    let (ok, out) = xmlsec_verify(&bad, &pki.paths.root_cert);
    assert!(!ok, "xmlsec1 accepts a tampered record: {out}");
    let (ok, out) = signxml_verify(&bad, &pki.paths.root_cert);
    assert!(!ok, "signxml accepts a tampered record: {out}");
    let (code, bad_report) = validate(&bad, &pki.paths.root_cert);
    assert_eq!(code, 1, "{bad_report:#}");
    assert_eq!(
        bad_report["signatures"][0]["indication"], "TOTAL_FAILED",
        "{bad_report:#}"
    );
    assert_eq!(
        bad_report["signatures"][0]["sub_indication"], "HASH_FAILURE",
        "{bad_report:#}"
    );
    report
}

#[tokio::test]
async fn idporten_signer_evidence_is_xades_baseline_lt() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::load(tmp.path());
    // Revocation data from a cache: a CRL of the root issued before sealing.
    let ltv = LtvData {
        certs: vec![],
        ocsps: vec![],
        crls: vec![openssl_crl(&pki)],
    };
    let record = idporten_record();
    let signed = sign_record(
        &record,
        &pki.key,
        &pki.tsa,
        &ltv,
        OffsetDateTime::now_utc(),
        Level::Lt,
    )
    .await
    .unwrap();
    let report = check_sealed(
        &pki,
        &signed,
        "XAdES-BASELINE-LT",
        record.identity.evidence.as_deref().unwrap(),
        "oidc-id-token",
    );
    let ts = report["signatures"][0]["timestamps"].as_array().unwrap();
    assert_eq!(ts.len(), 1, "{report:#}");
    // The record says what the sender and the signer's browser said, escaped.
    let text = String::from_utf8(signed).unwrap();
    assert!(text.contains("<Title>Leieavtale &lt;Storgata 1&gt; &amp; vedlegg</Title>"));
    assert!(text.contains("<ClientIp>2001:db8::17</ClientIp>"));
    assert!(text.contains("<xades:CRLValues>"));
}

#[tokio::test]
async fn eidas_signer_evidence_is_xades_baseline_lta_with_ocsp() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::load(tmp.path());
    // OCSP responses for the seal certificate and the TSU certificate.
    let seal_leaf = pki.key.leaf_der().to_vec();
    let tsu_leaf = pki.tsa.chain_der()[0].clone();
    let ltv = LtvData {
        certs: pki.tsa.chain_der().to_vec(),
        ocsps: openssl_ocsp(&pki, &[seal_leaf, tsu_leaf]),
        crls: vec![],
    };
    let record = eidas_record();
    let signed = sign_record(
        &record,
        &pki.key,
        &pki.tsa,
        &ltv,
        OffsetDateTime::now_utc(),
        Level::Lta,
    )
    .await
    .unwrap();
    let report = check_sealed(
        &pki,
        &signed,
        "XAdES-BASELINE-LTA",
        SAML_ASSERTION,
        "saml-assertion",
    );
    let ts = report["signatures"][0]["timestamps"].as_array().unwrap();
    assert_eq!(ts.len(), 2, "signature + archive timestamp: {report:#}");
    let text = String::from_utf8(signed).unwrap();
    assert!(text.contains("<xades:OCSPValues>"));
    assert!(text.contains("<OrganisationNumber>974760673</OrganisationNumber>"));
    // Nothing of the assertion leaks into the record's markup.
    assert!(!text.contains("saml2:Assertion"));
    assert!(!text.contains("CDATA"));
}

#[tokio::test]
async fn evidence_is_served_to_its_organisation_only_once_sealed() {
    install_crypto();
    let server = Server::start(Db::Sqlite, &[]).await;
    let key = server.org_add("991825827", "Demo kommune");
    let other = server.org_add("974760673", "Annen etat");
    let resp = create_job(
        &server,
        &key,
        json!({"title": "Avtale", "kind": "portal", "signers": [{"national_id": "13097248022"}]}),
        &[("avtale.pdf", sample_pdf("Avtale", 1))],
    )
    .await;
    assert_eq!(resp.status(), 201);
    let job: Value = resp.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    let sid = job["signers"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/jobs/{id}/signers/{sid}/xades");
    assert!(job["signers"][0]["xades_url"].is_null());

    // Not sealed yet; unknown signer; another organisation's job.
    problem(get(&server, &key, &path).await, 409, "not-ready").await;
    let unknown = format!("/api/v1/jobs/{id}/signers/no-such-signer/xades");
    problem(get(&server, &key, &unknown).await, 404, "not-found").await;
    problem(get(&server, &other, &path).await, 404, "not-found").await;

    let url = job["signers"][0]["signing_url"].as_str().unwrap();
    let done = walk_ceremony(&server.base, url, "13097248022", "sign").await;
    assert_eq!(done.status, 200, "{}", done.body);
    let done = wait_for_job(&server, &key, &id, |j| j["status"] == "completed").await;
    assert!(
        done["signers"][0]["xades_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http") && u.ends_with(&path)),
        "{done:#}"
    );

    // The record the sealing worker stores under `evidence_key`, sealed by this server's
    // development PKI, is what the endpoint serves.
    let pki = Pki::load(&server.dir.join("keys"));
    let doc = &done["documents"][0];
    let mut sha = [0u8; 32];
    hex::decode_to_slice(doc["sha256"].as_str().unwrap(), &mut sha).unwrap();
    let mut record = idporten_record();
    record.job.id = id.clone();
    record.job.title = "Avtale".into();
    record.job.documents = vec![DocumentFacts {
        id: doc["id"].as_str().unwrap().into(),
        position: 0,
        title: doc["title"].as_str().unwrap().into(),
        filename: doc["filename"].as_str().map(str::to_string),
        size: doc["size"].as_u64().unwrap(),
        sha256: sha,
    }];
    record.signer.id = sid.clone();
    let ltv = LtvData {
        crls: vec![openssl_crl(&pki)],
        ..LtvData::default()
    };
    let signed = sign_record(
        &record,
        &pki.key,
        &pki.tsa,
        &ltv,
        OffsetDateTime::now_utc(),
        Level::Lt,
    )
    .await
    .unwrap();
    let blob = server
        .dir
        .join("blobs")
        .join(signgate::archive::blobs::evidence_key(&id, &sid));
    std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
    std::fs::write(&blob, &signed).unwrap();

    let resp = get(&server, &key, &path).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/xml");
    let served = resp.bytes().await.unwrap();
    assert_eq!(&served[..], &signed[..]);
    problem(get(&server, &other, &path).await, 404, "not-found").await;

    // Documented in the OpenAPI description.
    let doc: Value = api_client()
        .get(format!("{}/api/v1/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = &doc["paths"]["/api/v1/jobs/{id}/signers/{sid}/xades"]["get"];
    assert!(
        op["responses"]["200"]["content"]["application/xml"].is_object(),
        "{op:#}"
    );
    assert!(op["responses"]["409"].is_object(), "{op:#}");

    let file = server.dir.join("served.xml");
    std::fs::write(&file, &served).unwrap();
    let (code, report) = validate(&file, &server.root_ca_pem());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["signatures"][0]["format"], "XAdES-BASELINE-LT");
}

async fn problem(resp: reqwest::Response, status: u16, slug: &str) -> Value {
    assert_eq!(resp.status(), status, "expected {status} {slug}");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["type"],
        format!("urn:signgate:problem:{slug}"),
        "{body}"
    );
    body
}
