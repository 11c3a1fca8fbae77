//! PAdES-BASELINE-LTA seals against a live PKI: a test PKI whose certificates name live
//! `openssl ocsp` responders (tests/support/pki.rs), the in-process time-stamping unit with a
//! certificate of that PKI, and the gateway's LTV fetcher. What is proven, each time by
//! software we did not write where it matters:
//! - pyHanko's EN 319 102-1 long-term validation (`ades_lta_validation`, no online fetching,
//!   the responders stopped) and `pyhanko sign adesverify` judge the seal valid, intact and
//!   covered by a validated document timestamp, with the signature timestamp validated;
//! - our own validator reports `PAdES-BASELINE-LTA` and `TOTAL_PASSED` offline;
//! - the DSS holds OCSP responses signed by this run's live responder, which `openssl ocsp`
//!   verifies for the seal certificate;
//! - a revoked seal certificate, and an unreachable responder without a CRL, stop sealing
//!   (fail closed, no PDF); with a CRL the seal falls back to it;
//! - the originals are embedded byte for byte (`qpdf --show-attachment`), the extra
//!   associated file too, with their `/AFRelationship`;
//! - a second seal fetches nothing (the front counts the requests);
//! - the development PKI (CRL only) seals at LTA once its CRL is served.
//!
//! A missing pyHanko, qpdf or openssl is a test failure, not a skip.

#[path = "support/pki.rs"]
mod pki;

use std::path::{Path, PathBuf};
use std::process::Command;

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use pki::{Ocsp, Pki, PkiOptions};
use signgate::sealing::SealError;
use signgate::sealing::ltv::{LtvError, LtvFetcher, LtvOptions};
use signgate::sealing::pades::{
    AfRelationship, Attachment, SealDocument, SealInput, SealSigner, seal_lta,
};
use signgate::validation::Validator;
use signgate::validation::report::Indication;
use time::OffsetDateTime;

fn pyhanko() -> PathBuf {
    let path = std::env::var_os("SIGNGATE_PYHANKO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/signgate-venv/bin/pyhanko"));
    assert!(
        path.is_file(),
        "pyHanko not found at {} (set SIGNGATE_PYHANKO or install with \
         `python3 -m venv /var/tmp/signgate-venv && /var/tmp/signgate-venv/bin/pip install \
         'pyHanko[etsi]' pyhanko-cli`)",
        path.display()
    );
    path
}

fn python() -> PathBuf {
    let p = pyhanko().with_file_name("python");
    if p.is_file() {
        p
    } else {
        PathBuf::from("python3")
    }
}

struct Run {
    ok: bool,
    out: String,
    stdout: Vec<u8>,
}

fn run(cmd: &mut Command) -> Run {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("failed to start {cmd:?}: {e}"));
    let mut out = String::from_utf8_lossy(&output.stdout).into_owned();
    out.push_str(&String::from_utf8_lossy(&output.stderr));
    Run {
        ok: output.status.success(),
        out,
        stdout: output.stdout,
    }
}

/// A text PDF with `pages` pages.
fn sample_pdf(pages: usize, label: &str) -> Vec<u8> {
    let mut doc = Document::with_version("1.6");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let mut kids = Vec::new();
    for n in 0..pages {
        let content = Content {
            operations: vec![
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 18.into()]),
                Operation::new("Td", vec![72.into(), 720.into()]),
                Operation::new(
                    "Tj",
                    vec![Object::string_literal(format!("{label}, page {}", n + 1))],
                ),
                Operation::new("ET", vec![]),
            ],
        };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
        kids.push(
            doc.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => pages_id,
                "Contents" => content_id,
                "Resources" => dictionary! { "Font" => dictionary! { "F1" => font_id } },
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            })
            .into(),
        );
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => pages as i64,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

const EVIDENCE_XML: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ev:Evidence xmlns:ev=\"urn:example:test\"><ev:Signer>Kari Nordmann</ev:Signer></ev:Evidence>\n";

fn job() -> SealInput {
    let now = OffsetDateTime::now_utc();
    SealInput {
        job_id: "0193f1a2-7c4e-7d21-9a55-1f2e3d4c5b6a".into(),
        title: "Avtale om langtidsarkiv – «LTA»".into(),
        sender_name: "Fjordvik Eiendom AS".into(),
        sender_orgnr: "912345678".into(),
        documents: vec![
            SealDocument {
                title: "Kontrakt – hoveddokument".into(),
                bytes: sample_pdf(2, "Kontrakt"),
            },
            SealDocument {
                title: "Vedlegg 1".into(),
                bytes: sample_pdf(1, "Vedlegg"),
            },
        ],
        signers: vec![SealSigner {
            name: "Kari Nordmann".into(),
            identifier: "01017012345".into(),
            idp: "ID-porten (MinID)".into(),
            loa: "idporten-loa-substantial".into(),
            signed_at: now,
        }],
        sealed_at: now,
        attachments: vec![Attachment {
            name: "evidence-kari.xml".into(),
            mime: "application/xml".into(),
            description: "XAdES evidence of signer Kari Nordmann".into(),
            relationship: AfRelationship::Supplement,
            bytes: EVIDENCE_XML.to_vec(),
        }],
    }
}

fn fetcher() -> LtvFetcher {
    LtvFetcher::new(LtvOptions::default()).unwrap()
}

/// Decoded DSS values: certificates, OCSP responses, CRLs.
type DssValues = (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<Vec<u8>>);

/// The DSS streams (certs, OCSPs, CRLs) of the newest revision, decoded.
fn dss(pdf: &[u8]) -> DssValues {
    let doc = Document::load_mem(pdf).unwrap();
    let cat = doc.catalog().unwrap();
    let dss = doc
        .dereference(cat.get(b"DSS").expect("a /DSS in the catalog"))
        .unwrap()
        .1
        .as_dict()
        .unwrap()
        .clone();
    let list = |key: &[u8]| -> Vec<Vec<u8>> {
        match dss.get(key) {
            Ok(Object::Array(a)) => a
                .iter()
                .map(|r| {
                    let s = doc.get_object(r.as_reference().unwrap()).unwrap();
                    s.as_stream().unwrap().content.clone()
                })
                .collect(),
            _ => Vec::new(),
        }
    };
    (list(b"Certs"), list(b"OCSPs"), list(b"CRLs"))
}

/// pyHanko's ETSI EN 319 102-1 validation of a signature with long-term availability and
/// integrity of validation material (§5.6.3): document timestamps as evidence records,
/// validation data only from the file (no online fetching of revocation data or
/// certificates), difference analysis on.
const PYHANKO_LTA: &str = r#"
import asyncio, sys
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule, PdfSignatureValidationSpec, RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec, SignatureValidationSpec)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, REQUIRE_REVINFO
from pyhanko_certvalidator.registry import SimpleTrustManager

pdf_path, root_path = sys.argv[1], sys.argv[2]
policy = CertValidationPolicySpec(
    trust_manager=SimpleTrustManager.build(trust_roots=[load_cert_from_pemder(root_path)]),
    revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
)
spec = SignatureValidationSpec(
    cert_validation_policy=policy,
    revinfo_gathering_policy=RevocationInfoGatheringSpec(
        online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
        certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
    ),
)
pdf_spec = PdfSignatureValidationSpec(signature_validation_spec=spec, diff_policy=DEFAULT_DIFF_POLICY)
with open(pdf_path, 'rb') as f:
    r = PdfFileReader(f)
    dss = DocumentSecurityStore.read_dss(r)
    print("dss certs:", len(list(dss.load_certs())), "ocsps:", len(dss.ocsps), "crls:", len(dss.crls))
    print("document timestamps:", len(r.embedded_timestamp_signatures))
    sigs = r.embedded_regular_signatures
    print("signatures:", len(sigs))
    for s in sigs:
        print("field:", s.field_name)
        res = asyncio.run(ades_lta_validation(s, pdf_spec, timing_info=ValidationTimingInfo.now()))
        print("lta indication:", res.ades_subindic)
        print("failure:", res.failure_msg)
        print("evidence record timestamp:", res.oldest_evidence_record_timestamp is not None)
        ts = res.signature_timestamp_status
        print("signature timestamp:", ts.ades_subindic if ts is not None else None)
        st = res.api_status
        print("intact:", st.intact, "valid:", st.valid, "trusted:", st.trusted)
        print("coverage:", st.coverage.name)
        print("modification level:", st.modification_level.name if st.modification_level else None)
        print("bottom line:", st.bottom_line)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lta_seal_validates_offline_and_is_complete() {
    let mut pki = Pki::start(PkiOptions::default());
    let key = pki.seal_key();
    let tsa = pki.tsa_unit();
    let ltv = fetcher();
    let input = job();

    let sealed = seal_lta(&input, &key, &tsa, &ltv, &pki.roots())
        .await
        .expect("sealing with a live responder works");
    // Three OCSP requests: the seal and the TSA certificate at the issuing CA's delegated
    // responder, the issuing CA at the root's responder.
    assert_eq!(pki.requests("/ocsp/issuing"), 2, "front counts");
    assert_eq!(pki.requests("/ocsp/root"), 1, "front counts");
    assert_eq!(ltv.stats().ocsp_requests, 3);

    // A second seal (a burst): everything comes from the cache, no request at all.
    let again = seal_lta(&input, &key, &tsa, &ltv, &pki.roots())
        .await
        .unwrap();
    assert_eq!(pki.ocsp_requests(), 3, "the second seal must not fetch");
    assert_eq!(ltv.stats().ocsp_requests, 3);
    assert!(ltv.stats().bundle_hits >= 1, "{:?}", ltv.stats());
    assert_ne!(sealed, again);

    // (a) pyHanko's command line: `sign adesverify` (EN 319 102-1 LTA validation). It cannot
    // be told not to fetch, and once it may fetch it uses only what it fetched for a
    // certificate with an OCSP URL, so it runs while the responders are up; the offline proof
    // is the API run below.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sealed-lta.pdf");
    std::fs::write(&out, &sealed).unwrap();
    let v = run(Command::new(pyhanko())
        .args([
            "--no-plugins",
            "sign",
            "adesverify",
            "--pretty-print",
            "--trust",
        ])
        .arg(pki.path("root.pem"))
        .arg("--trust-replace")
        .arg(&out));
    println!("--- pyhanko sign adesverify --pretty-print ---\n{}", v.out);
    assert!(v.ok, "pyHanko adesverify rejected the seal:\n{}", v.out);
    for expected in [
        "The signer's certificate is trusted.",
        "The signature is cryptographically sound.",
        "The timestamp token is cryptographically sound.",
        "The TSA certificate is trusted.",
        "All modifications relate to signature maintenance",
        "The signature is judged VALID.",
    ] {
        assert!(
            v.out.contains(expected),
            "missing {expected:?} in:\n{}",
            v.out
        );
    }

    // From here on nothing answers: every check below is offline.
    pki.stop();
    if let Some(dir) = std::env::var_os("SIGNGATE_KEEP_SEALED") {
        std::fs::write(Path::new(&dir).join("sealed-lta.pdf"), &sealed).unwrap();
        std::fs::copy(pki.path("root.pem"), Path::new(&dir).join("lta-root.pem")).unwrap();
    }
    let count = |needle: &[u8]| {
        sealed
            .windows(needle.len())
            .filter(|w| *w == needle)
            .count()
    };
    assert_eq!(
        count(b"%%EOF"),
        3,
        "B revision, DSS revision, document timestamp revision"
    );

    // (b) Our validator, offline, trusting only the test root.
    let validator = Validator {
        explicit_anchors: pki.roots(),
        ..Validator::new()
    };
    let report = validator
        .validate(&sealed, None, OffsetDateTime::now_utc())
        .unwrap();
    let json = serde_json::to_string_pretty(&report).unwrap();
    println!("--- signgate validation report ---\n{json}");
    assert_eq!(report.signatures.len(), 1, "{json}");
    let s = &report.signatures[0];
    assert_eq!(s.format, "PAdES-BASELINE-LTA", "{json}");
    assert_eq!(s.indication, Indication::TotalPassed, "{json}");
    assert!(s.errors.is_empty(), "{json}");
    assert!(
        s.timestamps.len() >= 2,
        "signature and document timestamp: {json}"
    );

    // (a) pyHanko, EN 319 102-1 long-term validation from the file alone.
    let script = tmp.path().join("lta.py");
    std::fs::write(&script, PYHANKO_LTA).unwrap();
    let v = run(Command::new(python())
        .arg(&script)
        .arg(&out)
        .arg(pki.path("root.pem")));
    println!("--- pyHanko ades_lta_validation ---\n{}", v.out);
    assert!(v.ok, "pyHanko failed:\n{}", v.out);
    for expected in [
        "dss certs: 6 ocsps: 3 crls: 0",
        "document timestamps: 1",
        "signatures: 1",
        "lta indication: AdESPassed.OK",
        "evidence record timestamp: True",
        "signature timestamp: AdESPassed.OK",
        "intact: True valid: True trusted: True",
        "coverage: ENTIRE_REVISION",
        "modification level: LTA_UPDATES",
        "bottom line: True",
    ] {
        assert!(
            v.out.contains(expected),
            "missing {expected:?} in:\n{}",
            v.out
        );
    }
    // (c) The DSS carries what this run's live responders signed; openssl verifies the
    // seal certificate's response against the root with the responder certificate.
    let (certs, ocsps, crls) = dss(&sealed);
    assert!(crls.is_empty());
    assert_eq!(ocsps.len(), 3);
    for c in [
        &pki.root.der,
        &pki.issuing.der,
        &pki.seal.der,
        &pki.tsa.der,
        &pki.responder.der,
        &pki.root_responder.der,
    ] {
        assert!(certs.contains(c), "a certificate is missing from the DSS");
    }
    let mut seal_good = 0;
    for (n, o) in ocsps.iter().enumerate() {
        let f = tmp.path().join(format!("dss-ocsp-{n}.der"));
        std::fs::write(&f, o).unwrap();
        let text = run(Command::new("openssl")
            .args(["ocsp", "-noverify", "-resp_text", "-respin"])
            .arg(&f));
        assert!(text.ok, "{}", text.out);
        assert!(
            text.out.contains("Responder Id: C = NO, O = signgate test PKI, CN = signgate Test OCSP Responder")
                || text.out.contains("Responder Id: C = NO, O = signgate test PKI, CN = signgate Test Root OCSP Responder"),
            "not from this run's responders:\n{}",
            text.out
        );
        let verify = run(Command::new("openssl")
            .args(["ocsp", "-respin"])
            .arg(&f)
            .arg("-CAfile")
            .arg(pki.path("root.pem"))
            .arg("-VAfile")
            .arg(pki.path("responder.pem"))
            .arg("-issuer")
            .arg(pki.path("issuing.pem"))
            .arg("-cert")
            .arg(pki.path("seal.pem")));
        if verify.out.contains("Response verify OK") && verify.out.contains("seal.pem: good") {
            seal_good += 1;
        }
    }
    assert_eq!(
        seal_good, 1,
        "exactly one DSS response verifies as `good` for the seal certificate"
    );

    // The /VRI entry is keyed by the SHA-1 of the seal's /Contents (ISO 32000-2 §12.8.4.4).
    {
        let doc = Document::load_mem(&sealed).unwrap();
        let mut contents = None;
        for (_, obj) in doc.objects.iter() {
            if let Ok(d) = obj.as_dict()
                && d.get(b"SubFilter").ok().and_then(|v| v.as_name().ok())
                    == Some(&b"ETSI.CAdES.detached"[..])
            {
                contents = Some(d.get(b"Contents").unwrap().as_str().unwrap().to_vec());
            }
        }
        let contents = contents.expect("the seal's signature dictionary");
        let want = hex::encode_upper(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &contents)
                .as_ref(),
        );
        let dss_dict = doc
            .dereference(doc.catalog().unwrap().get(b"DSS").unwrap())
            .unwrap()
            .1
            .as_dict()
            .unwrap()
            .clone();
        let vri = dss_dict.get(b"VRI").unwrap().as_dict().unwrap();
        let keys: Vec<String> = vri
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect();
        assert_eq!(keys, vec![want]);
    }

    // qpdf reads all three revisions (cross-reference sections, streams) without complaint.
    let check = run(Command::new("qpdf").arg("--check").arg(&out));
    assert!(check.ok, "{}", check.out);
    assert!(
        check
            .out
            .contains("No syntax or stream encoding errors found"),
        "{}",
        check.out
    );

    // (f) The originals and the evidence file, byte for byte, with their relationships.
    let list = run(Command::new("qpdf").arg("--list-attachments").arg(&out));
    println!("--- qpdf --list-attachments ---\n{}", list.out);
    assert!(list.ok, "{}", list.out);
    let keys: Vec<String> = list
        .out
        .lines()
        .filter_map(|l| l.split(" -> ").next())
        .filter(|k| !k.starts_with(' ') && !k.is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    let expected: Vec<&[u8]> = vec![
        &input.documents[0].bytes,
        &input.documents[1].bytes,
        EVIDENCE_XML,
    ];
    for (k, want) in keys.iter().zip(expected) {
        let got = run(Command::new("qpdf")
            .arg(format!("--show-attachment={k}"))
            .arg(&out));
        assert!(got.ok, "{}", got.out);
        assert!(got.stdout == want, "attachment {k} is not byte-exact");
    }
    let doc = Document::load_mem(&sealed).unwrap();
    let af = doc
        .catalog()
        .unwrap()
        .get(b"AF")
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    let rels: Vec<Vec<u8>> = af
        .iter()
        .map(|r| {
            doc.get_dictionary(r.as_reference().unwrap())
                .unwrap()
                .get(b"AFRelationship")
                .unwrap()
                .as_name()
                .unwrap()
                .to_vec()
        })
        .collect();
    assert_eq!(
        rels,
        vec![
            b"Source".to_vec(),
            b"Source".to_vec(),
            b"Supplement".to_vec()
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_seal_certificate_is_refused() {
    let pki = Pki::start(PkiOptions {
        seal_revoked: true,
        ..PkiOptions::default()
    });
    let err = seal_lta(
        &job(),
        &pki.seal_key(),
        &pki.tsa_unit(),
        &fetcher(),
        &pki.roots(),
    )
    .await
    .expect_err("a revoked seal certificate must not seal");
    let text = err.to_string();
    println!("{text}");
    match err {
        SealError::Ltv(LtvError::Revoked {
            certificate,
            reason,
            source_kind,
            ..
        }) => {
            assert!(certificate.contains("signgate Test Seal"), "{text}");
            assert_eq!(reason, "keyCompromise");
            assert_eq!(source_kind, "OCSP");
        }
        other => panic!("expected a revocation error, got {other:?}"),
    }
    assert!(
        text.contains("REVOKED") && text.contains("refusing to seal"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_responder_without_crl_fails_closed() {
    let pki = Pki::start(PkiOptions {
        ocsp: Ocsp::Unreachable,
        crl: false,
        ..PkiOptions::default()
    });
    let err = seal_lta(
        &job(),
        &pki.seal_key(),
        &pki.tsa_unit(),
        &fetcher(),
        &pki.roots(),
    )
    .await
    .expect_err("no revocation data, no seal");
    let text = err.to_string();
    println!("{text}");
    match err {
        SealError::Ltv(LtvError::Unavailable { attempts, .. }) => {
            assert_eq!(attempts.len(), 1, "{attempts:?}");
            assert!(attempts[0].starts_with("OCSP"), "{attempts:?}");
        }
        other => panic!("expected unavailable revocation data, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_responder_falls_back_to_the_crl() {
    // The root signs its OCSP responses itself here: the issuer-signed case.
    let mut pki = Pki::start(PkiOptions {
        ocsp: Ocsp::Unreachable,
        crl: true,
        root_signs_ocsp: true,
        ..PkiOptions::default()
    });
    let ltv = fetcher();
    let sealed = seal_lta(&job(), &pki.seal_key(), &pki.tsa_unit(), &ltv, &pki.roots())
        .await
        .expect("the CRL stands in for the dead responder");
    // One CRL download serves both the seal and the TSA certificate.
    assert_eq!(pki.requests("/crl/issuing.crl"), 1);
    assert_eq!(ltv.stats().crl_requests, 1);
    pki.stop();
    let (_, ocsps, crls) = dss(&sealed);
    assert_eq!(crls.len(), 1, "the issuing CA's CRL");
    assert_eq!(
        ocsps.len(),
        1,
        "the issuing CA's status from the root's responder"
    );
    let validator = Validator {
        explicit_anchors: pki.roots(),
        ..Validator::new()
    };
    let report = validator
        .validate(&sealed, None, OffsetDateTime::now_utc())
        .unwrap();
    let json = serde_json::to_string_pretty(&report).unwrap();
    assert_eq!(report.signatures[0].format, "PAdES-BASELINE-LTA", "{json}");
    assert_eq!(
        report.signatures[0].indication,
        Indication::TotalPassed,
        "{json}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sealed-crl.pdf");
    std::fs::write(&out, &sealed).unwrap();
    if let Some(dir) = std::env::var_os("SIGNGATE_KEEP_SEALED") {
        std::fs::write(Path::new(&dir).join("sealed-lta-crl.pdf"), &sealed).unwrap();
        std::fs::copy(
            pki.path("root.pem"),
            Path::new(&dir).join("lta-crl-root.pem"),
        )
        .unwrap();
    }
    let script = tmp.path().join("lta.py");
    std::fs::write(&script, PYHANKO_LTA).unwrap();
    let v = run(Command::new(python())
        .arg(&script)
        .arg(&out)
        .arg(pki.path("root.pem")));
    println!("--- pyHanko ades_lta_validation (CRL) ---\n{}", v.out);
    assert!(v.ok, "{}", v.out);
    assert!(v.out.contains("lta indication: AdESPassed.OK"), "{}", v.out);
    assert!(v.out.contains("bottom line: True"), "{}", v.out);
}

/// The development PKI (root → seal, root → TSA, a CRL distribution point, no OCSP) seals at
/// LTA once its CRL is served: what `dev` gets when the gateway serves its development CRL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn development_pki_seals_with_its_crl() {
    use signgate::sealing::keys::{SealKey, dev_crl, ensure_dev_pki};
    let (listener, base) = pki::FileServer::bind();
    let crl_url = format!("{base}/dev-ca.crl");
    let dir = tempfile::tempdir().unwrap();
    let paths = ensure_dev_pki(dir.path(), Some(&crl_url)).unwrap();
    let crl = dev_crl(&paths, OffsetDateTime::now_utc()).unwrap();
    let mut server = pki::FileServer::start(listener, vec![("/dev-ca.crl".into(), crl)]);
    let key = SealKey::from_files(&paths.seal_key, &paths.seal_chain).unwrap();
    let tsa = signgate::sealing::tsa::TsaUnit::new(
        SealKey::from_files(&paths.tsa_key, &paths.tsa_chain).unwrap(),
        signgate::sealing::tsa::DEV_POLICY,
    );
    let roots = signgate::trust::anchors::parse_pem_certs(
        &std::fs::read_to_string(&paths.root_cert).unwrap(),
        "dev root",
    )
    .unwrap();
    let ltv = fetcher();
    let sealed = seal_lta(&job(), &key, &tsa, &ltv, &roots).await.unwrap();
    assert_eq!(
        server.requests("/dev-ca.crl"),
        1,
        "one download for seal and TSA"
    );
    server.stop();
    let (_, ocsps, crls) = dss(&sealed);
    assert!(ocsps.is_empty());
    assert_eq!(crls.len(), 1);
    let validator = Validator {
        explicit_anchors: roots,
        ..Validator::new()
    };
    let report = validator
        .validate(&sealed, None, OffsetDateTime::now_utc())
        .unwrap();
    let json = serde_json::to_string_pretty(&report).unwrap();
    assert_eq!(report.signatures[0].format, "PAdES-BASELINE-LTA", "{json}");
    assert_eq!(
        report.signatures[0].indication,
        Indication::TotalPassed,
        "{json}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sealed-dev.pdf");
    std::fs::write(&out, &sealed).unwrap();
    let script = tmp.path().join("lta.py");
    std::fs::write(&script, PYHANKO_LTA).unwrap();
    let v = run(Command::new(python())
        .arg(&script)
        .arg(&out)
        .arg(&paths.root_cert));
    println!(
        "--- pyHanko ades_lta_validation (development PKI) ---\n{}",
        v.out
    );
    assert!(v.ok, "{}", v.out);
    assert!(v.out.contains("lta indication: AdESPassed.OK"), "{}", v.out);
    assert!(v.out.contains("bottom line: True"), "{}", v.out);
}
