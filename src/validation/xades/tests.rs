//! Tests of XAdES reading on the real samples of tests/data/xades (MANIFEST section H), on
//! signatures made by the `xmlsec1` CLI, and on hostile inputs.

use std::path::{Path, PathBuf};
use std::process::Command;

use der::{Decode as _, Encode as _};
use time::OffsetDateTime;

use super::*;
use crate::validation::evidence::TimestampEvidence;
use crate::validation::tsp::check_timestamp;

fn sample(rel: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/xades/dss")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// An independent oracle for the message imprint of an RFC 3161 token (CMS → TSTInfo with
/// the RustCrypto types, or a byte search in BER tokens) compared with the digest the
/// reader hands over: it passes only if the reader computed the covered octets exactly as
/// the TSA saw them. Used where `tsp::check_timestamp` cannot read the token (a TSA policy
/// OID const-oid 0.9 rejects) and to cross-check it.
fn imprint_check(
    id: String,
    kind: TimestampKind,
    token: &[u8],
    digest: &dyn Fn(DigestAlg) -> Vec<u8>,
) -> TimestampEvidence {
    let tst = (|| {
        let ci = cms::content_info::ContentInfo::from_der(token).ok()?;
        let sd = ci
            .content
            .decode_as::<cms::signed_data::SignedData>()
            .ok()?;
        let econtent = sd.encap_content_info.econtent?;
        let os = der::asn1::OctetString::from_der(&econtent.to_der().ok()?).ok()?;
        x509_tsp::TstInfo::from_der(os.as_bytes()).ok()
    })();
    let (imprint, gen_time) = match &tst {
        Some(t) => {
            let ok = DigestAlg::from_oid(&t.message_imprint.hash_algorithm.oid)
                .is_some_and(|a| digest(a) == t.message_imprint.hashed_message.as_bytes());
            let secs = t.gen_time.to_unix_duration().as_secs() as i64;
            (
                if ok {
                    Check::Passed
                } else {
                    Check::Failed {
                        sub: SubIndication::HashFailure,
                        reason: "message imprint mismatch".into(),
                    }
                },
                OffsetDateTime::from_unix_timestamp(secs).unwrap(),
            )
        }
        // BER-encoded tokens (indefinite lengths) do not decode with the DER types: look
        // for the digest as an OCTET STRING inside the token instead.
        None => {
            let found = [
                DigestAlg::Sha1,
                DigestAlg::Sha256,
                DigestAlg::Sha384,
                DigestAlg::Sha512,
            ]
            .into_iter()
            .any(|a| {
                let d = digest(a);
                let mut pat = vec![0x04, d.len() as u8];
                pat.extend_from_slice(&d);
                token.windows(pat.len()).any(|w| w == pat.as_slice())
            });
            (
                if found {
                    Check::Passed
                } else {
                    Check::Failed {
                        sub: SubIndication::HashFailure,
                        reason: "message imprint not found".into(),
                    }
                },
                OffsetDateTime::UNIX_EPOCH,
            )
        }
    };
    TimestampEvidence {
        id,
        kind,
        gen_time,
        token: token.to_vec(),
        imprint,
        signature: Check::Passed,
        tsa_cert: None,
        certificates: Vec::new(),
        algorithms: Algorithms::default(),
        covered_certificates: Vec::new(),
        covered_crls: Vec::new(),
        covered_ocsps: Vec::new(),
    }
}

fn read(rel: &str) -> Vec<SignatureEvidence> {
    read_xades(&sample(rel), None, &check_timestamp).expect(rel)
}

fn one(rel: &str) -> SignatureEvidence {
    let mut v = read(rel);
    assert_eq!(v.len(), 1, "{rel}: signatures");
    v.remove(0)
}

fn sub(c: &Check) -> Option<SubIndication> {
    match c {
        Check::Passed => None,
        Check::Failed { sub, .. } => Some(*sub),
    }
}

fn reason(c: &Check) -> &str {
    match c {
        Check::Passed => "",
        Check::Failed { reason, .. } => reason,
    }
}

fn imprints_ok(ev: &SignatureEvidence) -> Vec<(TimestampKind, bool)> {
    ev.timestamps
        .iter()
        .map(|t| (t.kind, t.imprint.passed()))
        .collect()
}

#[test]
fn dss_signed_is_intact_baseline_b() {
    let ev = one("dss-signed.xml");
    assert_eq!(ev.integrity, Check::Passed, "{:?}", ev.integrity);
    assert_eq!(ev.format, "XAdES-BASELINE-B");
    assert_eq!(ev.cert_ref, CertRef::Matches);
    assert_eq!(ev.id, "id-8aa555101680cd4b9ace1ab16b32e4d3");
    assert_eq!(
        ev.claimed_signing_time,
        Some(time::macros::datetime!(2019-02-19 12:29:01 UTC))
    );
    assert!(ev.scope.full, "{:?}", ev.scope);
    assert!(ev.scope.description.contains("whole document"));
    assert!(ev.errors.is_empty(), "{:?}", ev.errors);
    let signer = x509_cert::Certificate::from_der(ev.signer_cert.as_deref().unwrap()).unwrap();
    assert!(
        signer
            .tbs_certificate
            .subject
            .to_string()
            .contains("good-user")
    );
    assert_eq!(ev.algorithms.signature.as_deref(), Some("RSA"));
    assert_eq!(ev.algorithms.digest.as_deref(), Some("SHA-256"));
}

#[test]
fn reference_removed_is_not_etsi_and_data_not_found() {
    let ev = one("dss-signed-altered-refRemoved.xml");
    assert_eq!(ev.format, "XML-NOT-ETSI");
    assert_eq!(sub(&ev.integrity), Some(SubIndication::SignedDataNotFound));
}

#[test]
fn tampered_digest_value_is_a_structural_error() {
    let ev = one("xades-tampered-reference.xml");
    assert!(!ev.integrity.passed());
    assert!(
        reason(&ev.integrity).contains("ds:DigestValue"),
        "{:?}",
        ev.integrity
    );
    assert!(
        ev.errors
            .iter()
            .any(|f| f.reason.contains("ds:DigestValue")),
        "{:?}",
        ev.errors
    );
}

#[test]
fn valid_xades_is_epes_with_a_digest_mismatch() {
    let ev = one("valid-xades.xml");
    assert_eq!(ev.format, "XAdES-EPES");
    assert_eq!(
        sub(&ev.integrity),
        Some(SubIndication::HashFailure),
        "{:?}",
        ev.integrity
    );
    assert_eq!(
        ev.policy_id.as_deref(),
        Some("1.3.6.1.4.1.10015.1000.3.2.1")
    );
    assert!(ev.notes.iter().any(|n| n.contains("http://spuri.test")));
    assert_eq!(ev.cert_ref, CertRef::Matches);
}

#[test]
fn extended_t() {
    let ev = one("xades-extended-t.xml");
    assert_eq!(ev.integrity, Check::Passed, "{:?}", ev.integrity);
    assert_eq!(ev.format, "XAdES-T");
    assert_eq!(imprints_ok(&ev), vec![(TimestampKind::Signature, true)]);
    assert!(ev.scope.full);
    assert!(ev.scope.description.contains("enveloped object"));
}

#[test]
fn lta_valid() {
    let ev = one("xades-lta-valid.xml");
    assert_eq!(ev.integrity, Check::Passed, "{:?}", ev.integrity);
    assert_eq!(ev.format, "XAdES-BASELINE-LTA");
    assert_eq!(ev.ocsps.len(), 1);
    assert_eq!(ev.crls.len(), 1);
    assert_eq!(
        imprints_ok(&ev),
        vec![
            (TimestampKind::Signature, true),
            (TimestampKind::Archive, true)
        ]
    );
    let ats = &ev.timestamps[1];
    assert_eq!(ats.covered_ocsps.len(), 1);
    assert_eq!(ats.covered_certificates.len(), 2 + 3);
    assert!(ev.errors.is_empty(), "{:?}", ev.errors);
}

#[test]
fn lta_with_corrupted_certificate_value() {
    let ev = one("xades-lta-corrupted-cert.xml");
    assert!(
        ev.errors
            .iter()
            .any(|f| f.reason.contains("EncapsulatedX509Certificate")
                && f.reason.contains("corrupted")),
        "{:?}",
        ev.errors
    );
    // The signature itself (and its signature timestamp) is intact; the archive
    // timestamp covers the original certificate, so its imprint no longer matches.
    assert_eq!(ev.integrity, Check::Passed, "{:?}", ev.integrity);
    let kinds = imprints_ok(&ev);
    assert!(
        kinds.contains(&(TimestampKind::Signature, true)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(TimestampKind::Archive, false)),
        "{kinds:?}"
    );
    assert_ne!(ev.format, "XAdES-BASELINE-LTA");
}

#[test]
fn cookbook_b_and_lt() {
    let b = one("signature-pool/signedXmlXadesB.xml");
    assert_eq!(b.integrity, Check::Passed, "{:?}", b.integrity);
    assert_eq!(b.format, "XAdES-BASELINE-B");
    // SigningCertificate v1 with SHA-1 and an RFC 2253 issuer.
    assert_eq!(b.cert_ref, CertRef::Matches);
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    assert!(b.scope.full);
    // Its TSA policy OID (2.194.567.890) is beyond const-oid 0.9, so the real check cannot
    // read the token: the imprint oracle stands in.
    let lt = read_xades(
        &sample("signature-pool/signedXmlXadesLT.xml"),
        None,
        &imprint_check,
    )
    .unwrap()
    .remove(0);
    assert_eq!(lt.integrity, Check::Passed, "{:?}", lt.integrity);
    assert_eq!(lt.format, "XAdES-BASELINE-LT");
    assert_eq!(imprints_ok(&lt), vec![(TimestampKind::Signature, true)]);
}

#[test]
fn lt_with_expired_ocsp_responder() {
    let ev = one("xades-lt-with-expired-ocsp-responder.xml");
    assert_eq!(ev.integrity, Check::Passed, "{:?}", ev.integrity);
    assert_eq!(ev.format, "XAdES-BASELINE-LT");
    assert!(!ev.ocsps.is_empty());
}

#[test]
fn plugtest_be_revocation_values() {
    let ev = one("plugtests/Signature-X-BE_ECON-3.xml");
    assert_eq!(ev.crls.len(), 4);
    assert_eq!(ev.ocsps.len(), 1);
    assert!(ev.errors.is_empty(), "{:?}", ev.errors);
    // Its data reference uses XPath-Filter2 `subtract /descendant::*[name()='ds:Signature']`.
    assert_eq!(ev.integrity, Check::Passed, "{:?}", ev.integrity);
    assert_eq!(ev.format, "XAdES-BASELINE-LT");
    assert!(ev.scope.full);
}

#[test]
fn plugtest_cz_manifest() {
    let ev = one("plugtests/Signature-X-CZ_SEF-4.xml");
    assert_eq!(ev.integrity, Check::Passed, "{:?}", ev.integrity);
    assert_eq!(imprints_ok(&ev), vec![(TimestampKind::Signature, true)]);
    let manifest_notes: Vec<&String> = ev
        .notes
        .iter()
        .filter(|n| n.starts_with("manifest"))
        .collect();
    assert_eq!(manifest_notes.len(), 10, "{:?}", ev.notes);
    assert!(manifest_notes.iter().all(|n| n.contains("not checked")));
    assert!(!ev.scope.full);
    assert!(ev.scope.description.contains("SignedObjectsManifest"));
    assert_eq!(ev.cert_ref, CertRef::Matches);
}

#[test]
fn trusted_lists_scope_full() {
    for f in ["xsw/TSL-noID.xml", "xsw/TSL-CY-sign.xml"] {
        let ev = one(f);
        assert_eq!(ev.integrity, Check::Passed, "{f}: {:?}", ev.integrity);
        assert!(ev.scope.full, "{f}: {:?}", ev.scope);
        assert!(ev.scope.description.contains("whole document"), "{f}");
    }
}

#[test]
fn manifest_entries_are_checked_with_the_detached_file() {
    // The CZ plugtest manifest names ten files we do not have; give one of them with the
    // wrong content: the manifest entry is reported as a mismatch, core validation holds.
    let ev = read_xades(
        &sample("plugtests/Signature-X-CZ_SEF-4.xml"),
        Some((
            "document/DOC155-DATA_1422274077-71W-BIO_FULL.pdf",
            b"not the pdf",
        )),
        &check_timestamp,
    )
    .unwrap()
    .remove(0);
    assert_eq!(ev.integrity, Check::Passed);
    assert!(
        ev.notes
            .iter()
            .any(|n| n.contains("DOC155-DATA-Reference") && n.contains("does not match")),
        "{:?}",
        ev.notes
    );
    assert!(
        ev.warnings
            .iter()
            .any(|w| w.constraint == "CV: manifest reference")
    );
}

fn text_of_sample(rel: &str) -> String {
    String::from_utf8(sample(rel)).unwrap()
}

#[test]
fn wrapping_duplicate_id_is_refused() {
    // Move the signed object out of the signature and insert a forged one with the same Id.
    let xml = text_of_sample("xades-extended-t.xml");
    let start = xml.find("<ds:Object Id=\"o-id-").unwrap();
    let end = start + xml[start..].find("</ds:Object>").unwrap() + "</ds:Object>".len();
    let original = &xml[start..end];
    let open_end = original.find('>').unwrap() + 1;
    let forged = format!("{}Zm9yZ2Vk</ds:Object>", &original[..open_end]);
    let sig_start = xml.find("<ds:Signature").unwrap();
    let signature = format!("{}{forged}{}", &xml[sig_start..start], &xml[end..]);
    let doc = format!(
        "<root>{signature}<hidden xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">{original}</hidden></root>"
    );
    let ev = read_xades(doc.as_bytes(), None, &check_timestamp)
        .unwrap()
        .remove(0);
    assert_eq!(
        sub(&ev.integrity),
        Some(SubIndication::FormatFailure),
        "{:?}",
        ev.integrity
    );
    assert!(reason(&ev.integrity).contains("signature wrapping"));
    assert!(!ev.scope.full);

    // Rename the original's Id instead: no duplicate, but the forged object does not
    // match the digest.
    let renamed = format!(
        "<root>{signature}<hidden xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">{}</hidden></root>",
        original.replacen("Id=\"o-id-", "Id=\"moved-", 1)
    );
    let ev = read_xades(renamed.as_bytes(), None, &check_timestamp)
        .unwrap()
        .remove(0);
    assert_eq!(
        sub(&ev.integrity),
        Some(SubIndication::HashFailure),
        "{:?}",
        ev.integrity
    );
}

#[test]
fn signed_properties_elsewhere_is_refused() {
    // Point the SignedProperties reference of one signature at a copy outside it.
    let xml = text_of_sample("dss-signed.xml");
    let s = xml.find("<xades:SignedProperties").unwrap();
    let e = xml.find("</xades:SignedProperties>").unwrap() + "</xades:SignedProperties>".len();
    let sp = xml[s..e].replace(
        "<xades:SignedProperties ",
        "<xades:SignedProperties xmlns:xades=\"http://uri.etsi.org/01903/v1.3.2#\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" ",
    );
    let mut moved = xml.clone();
    moved.replace_range(s..e, "");
    let moved = moved.replacen("</h:table>", &format!("<h:x>{sp}</h:x></h:table>"), 1);
    let ev = read_xades(moved.as_bytes(), None, &check_timestamp)
        .unwrap()
        .remove(0);
    assert_eq!(
        sub(&ev.integrity),
        Some(SubIndication::FormatFailure),
        "{:?}",
        ev.integrity
    );
    assert!(
        ev.errors
            .iter()
            .any(|f| f.reason.contains("outside this signature"))
    );
}

#[test]
fn unsupported_xpath_is_refused_clearly() {
    let xml = text_of_sample("signature-pool/signedXmlXadesB.xml")
        .replace("not(ancestor-or-self::ds:Signature)", "//*[name()='a']");
    let ev = read_xades(xml.as_bytes(), None, &check_timestamp)
        .unwrap()
        .remove(0);
    assert_eq!(sub(&ev.integrity), Some(SubIndication::FormatFailure));
    assert!(
        reason(&ev.integrity).contains("XPath transform"),
        "{:?}",
        ev.integrity
    );
}

#[test]
fn hostile_documents() {
    let bomb = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><r>&c;<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/></r>";
    assert!(matches!(
        read_xades(bomb.as_bytes(), None, &check_timestamp),
        Err(XadesError::Parse(_))
    ));
    let external = "<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><r/>";
    assert!(matches!(
        read_xades(external.as_bytes(), None, &check_timestamp),
        Err(XadesError::Parse(_))
    ));
    let depth = 100_000;
    let deep = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    assert!(matches!(
        read_xades(deep.as_bytes(), None, &check_timestamp),
        Err(XadesError::TooDeep) | Err(XadesError::Parse(_))
    ));
    let big = vec![b' '; MAX_INPUT_BYTES + 1];
    assert_eq!(
        read_xades(&big, None, &check_timestamp).unwrap_err(),
        XadesError::TooLarge(MAX_INPUT_BYTES + 1)
    );
    assert_eq!(
        read_xades(b"<r/>", None, &check_timestamp).unwrap_err(),
        XadesError::NoSignature
    );
    assert!(read_xades(b"\xff\xfe<", None, &check_timestamp).is_err());
    // Truncations of a real signature never panic.
    let xml = sample("xades-lta-valid.xml");
    for cut in (0..xml.len()).step_by(997) {
        let _ = read_xades(&xml[..cut], None, &check_timestamp);
    }
}

#[test]
fn empty_and_garbage_signatures_are_format_failures() {
    let xml = "<r><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo/></ds:Signature></r>";
    let ev = read_xades(xml.as_bytes(), None, &check_timestamp)
        .unwrap()
        .remove(0);
    assert_eq!(sub(&ev.integrity), Some(SubIndication::FormatFailure));
    assert_eq!(ev.format, "XML-NOT-ETSI");
}

// ---- cross-check with the xmlsec1 CLI -------------------------------------------------

struct Tmp(PathBuf);
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(dir: &Path, cmd: &str, args: &[&str]) -> std::process::Output {
    Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} (needed by this test): {e}"))
}

fn tmpdir(tag: &str) -> Tmp {
    let d = std::env::temp_dir().join(format!(
        "signgate-xades-{tag}-{}-{}",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    Tmp(d)
}

/// A key and self-signed certificate made by openssl; returns the certificate DER.
fn make_key(dir: &Path, kind: &str) -> Vec<u8> {
    let args: Vec<&str> = match kind {
        "rsa" => vec!["req", "-x509", "-newkey", "rsa:2048", "-nodes"],
        _ => vec![
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ],
    };
    let mut a = args.clone();
    a.extend([
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "30",
        "-subj",
        "/CN=xmlsec1 cross-check/O=signgate test/C=NO",
    ]);
    let o = run(dir, "openssl", &a);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(
        dir,
        "openssl",
        &[
            "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
        ],
    );
    assert!(o.status.success());
    std::fs::read(dir.join("cert.der")).unwrap()
}

fn b64(d: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(d)
}

/// An enveloped XAdES-B template (SignedProperties with SigningTime, SigningCertificateV2
/// and DataObjectFormat) for `xmlsec1 --sign`.
fn xades_template(cert_der: &[u8], sig_method: &str) -> String {
    let digest = b64(&DigestAlg::Sha256.digest(cert_der));
    format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<doc xmlns="urn:example:doc"><item n="1">Hello</item><item n="2">World &amp; all</item><!-- a comment -->
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="sig-1"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{sig_method}"/><ds:Reference Id="ref-doc" URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference><ds:Reference Type="http://uri.etsi.org/01903#SignedProperties" URI="#sp-1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha512"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo><ds:Object><xades:QualifyingProperties xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" Target="#sig-1"><xades:SignedProperties Id="sp-1"><xades:SignedSignatureProperties><xades:SigningTime>2024-05-06T07:08:09Z</xades:SigningTime><xades:SigningCertificateV2><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>{digest}</ds:DigestValue></xades:CertDigest></xades:Cert></xades:SigningCertificateV2></xades:SignedSignatureProperties><xades:SignedDataObjectProperties><xades:DataObjectFormat ObjectReference="#ref-doc"><xades:MimeType>text/xml</xades:MimeType></xades:DataObjectFormat></xades:SignedDataObjectProperties></xades:SignedProperties></xades:QualifyingProperties></ds:Object></ds:Signature></doc>
"##,
        cert = b64(cert_der)
    )
}

const SP_ID_ATTR: &str = "--id-attr:Id";
const SP_NODE: &str = "http://uri.etsi.org/01903/v1.3.2#:SignedProperties";

fn xmlsec_sign(dir: &Path, template: &str) -> Vec<u8> {
    std::fs::write(dir.join("tmpl.xml"), template).unwrap();
    let o = run(
        dir,
        "xmlsec1",
        &[
            "--sign",
            SP_ID_ATTR,
            SP_NODE,
            "--privkey-pem",
            "key.pem,cert.pem",
            "--output",
            "signed.xml",
            "tmpl.xml",
        ],
    );
    assert!(
        o.status.success(),
        "xmlsec1 --sign: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read(dir.join("signed.xml")).unwrap()
}

fn xmlsec_verifies(dir: &Path, xml: &[u8]) -> bool {
    std::fs::write(dir.join("check.xml"), xml).unwrap();
    let o = run(
        dir,
        "xmlsec1",
        &[
            "--verify",
            SP_ID_ATTR,
            SP_NODE,
            "--trusted-pem",
            "cert.pem",
            "check.xml",
        ],
    );
    o.status.success()
}

#[test]
fn agrees_with_xmlsec1_on_what_it_signs() {
    for (kind, method, family) in [
        (
            "rsa",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "RSA",
        ),
        (
            "ec",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            "PLAIN-ECDSA",
        ),
    ] {
        let tmp = tmpdir(kind);
        let cert = make_key(&tmp.0, kind);
        let signed = xmlsec_sign(&tmp.0, &xades_template(&cert, method));
        assert!(
            xmlsec_verifies(&tmp.0, &signed),
            "{kind}: xmlsec1 rejects its own signature"
        );
        let ev = read_xades(&signed, None, &check_timestamp)
            .unwrap()
            .remove(0);
        assert_eq!(ev.integrity, Check::Passed, "{kind}: {:?}", ev.integrity);
        assert_eq!(ev.format, "XAdES-BASELINE-B", "{kind}");
        assert_eq!(ev.cert_ref, CertRef::Matches, "{kind}");
        assert_eq!(ev.signer_cert.as_deref(), Some(cert.as_slice()));
        assert_eq!(ev.algorithms.signature.as_deref(), Some(family));
        assert!(ev.scope.full);

        // Tamper with the signed content: both reject it, we say HASH_FAILURE.
        let tampered = String::from_utf8(signed.clone()).unwrap().replacen(
            "World &amp; all",
            "World &amp; none",
            1,
        );
        assert!(!xmlsec_verifies(&tmp.0, tampered.as_bytes()), "{kind}");
        let ev = read_xades(tampered.as_bytes(), None, &check_timestamp)
            .unwrap()
            .remove(0);
        assert_eq!(
            sub(&ev.integrity),
            Some(SubIndication::HashFailure),
            "{kind}"
        );

        // Tamper with a signed property: both reject it.
        let tampered = String::from_utf8(signed.clone()).unwrap().replacen(
            "2024-05-06T07:08:09Z",
            "2024-05-06T07:08:10Z",
            1,
        );
        assert!(!xmlsec_verifies(&tmp.0, tampered.as_bytes()), "{kind}");
        let ev = read_xades(tampered.as_bytes(), None, &check_timestamp)
            .unwrap()
            .remove(0);
        assert_eq!(
            sub(&ev.integrity),
            Some(SubIndication::HashFailure),
            "{kind}"
        );

        // Comments are outside same-document node-sets: xmlsec1 and we still verify.
        let commented = String::from_utf8(signed).unwrap().replacen(
            "<!-- a comment -->",
            "<!-- another comment -->",
            1,
        );
        assert!(xmlsec_verifies(&tmp.0, commented.as_bytes()), "{kind}");
        let ev = read_xades(commented.as_bytes(), None, &check_timestamp)
            .unwrap()
            .remove(0);
        assert_eq!(ev.integrity, Check::Passed, "{kind}");
    }
}

#[test]
fn detached_signature_made_by_xmlsec1() {
    let tmp = tmpdir("detached");
    let cert = make_key(&tmp.0, "rsa");
    let payload = b"%PDF-1.4 pretend this is a contract\n";
    std::fs::write(tmp.0.join("contract.pdf"), payload).unwrap();
    let tmpl = r##"<?xml version="1.0"?>
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="d-1"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="contract.pdf"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>
"##;
    std::fs::write(tmp.0.join("tmpl.xml"), tmpl).unwrap();
    let o = run(
        &tmp.0,
        "xmlsec1",
        &[
            "--sign",
            "--privkey-pem",
            "key.pem,cert.pem",
            "--output",
            "signed.xml",
            "tmpl.xml",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let signed = std::fs::read(tmp.0.join("signed.xml")).unwrap();
    let ev = read_xades(&signed, Some(("contract.pdf", payload)), &check_timestamp)
        .unwrap()
        .remove(0);
    assert_eq!(ev.integrity, Check::Passed, "{:?}", ev.integrity);
    assert_eq!(ev.format, "XML-NOT-ETSI");
    assert!(ev.scope.full);
    assert!(ev.scope.description.contains("contract.pdf"));
    assert_eq!(ev.signer_cert.as_deref(), Some(cert.as_slice()));
    // Without the file: SIGNED_DATA_NOT_FOUND; with other bytes: HASH_FAILURE.
    let ev = read_xades(&signed, None, &check_timestamp)
        .unwrap()
        .remove(0);
    assert_eq!(sub(&ev.integrity), Some(SubIndication::SignedDataNotFound));
    let ev = read_xades(&signed, Some(("renamed.pdf", b"other")), &check_timestamp)
        .unwrap()
        .remove(0);
    assert_eq!(sub(&ev.integrity), Some(SubIndication::HashFailure));
}

#[test]
fn signature_timestamp_covers_the_signature_value() {
    // The digest handed to the timestamp check is over the canonical ds:SignatureValue,
    // recomputed here without the reader.
    let xml = sample("xades-extended-t.xml");
    let text = std::str::from_utf8(&xml).unwrap();
    let doc = dsig::parse_document(text).unwrap();
    let sv = doc
        .descendants()
        .find(|n| is_ds(n, "SignatureValue"))
        .unwrap();
    let mut c = Vec::new();
    c14n::canonicalize(&doc, sv, C14nMethod::Exclusive, None, &[], &mut c).unwrap();
    let expected = DigestAlg::Sha256.digest(&c);
    let seen = std::sync::Mutex::new(Vec::new());
    let check = |id: String, kind: TimestampKind, tok: &[u8], d: &dyn Fn(DigestAlg) -> Vec<u8>| {
        seen.lock().unwrap().push((kind, d(DigestAlg::Sha256)));
        imprint_check(id, kind, tok, d)
    };
    read_xades(&xml, None, &check).unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(TimestampKind::Signature, expected)]
    );
}

/// The real RFC 3161 check (`validation::tsp`) on the samples: message imprints and token
/// signatures over the data this module says each timestamp covers.
#[test]
fn real_timestamp_check_on_samples() {
    for (f, want) in [
        ("xades-extended-t.xml", vec![TimestampKind::Signature]),
        (
            "xades-lta-valid.xml",
            vec![TimestampKind::Signature, TimestampKind::Archive],
        ),
        // (signedXmlXadesLT.xml is left out: its TSA policy OID 2.194.567.890 has a first
        // sub-identifier above 255, which const-oid 0.9 cannot decode.)
        (
            "plugtests/Signature-X-CZ_SEF-4.xml",
            vec![TimestampKind::Signature],
        ),
        (
            "plugtests/Signature-X-BE_ECON-3.xml",
            vec![TimestampKind::Signature],
        ),
    ] {
        let ev = read_xades(&sample(f), None, &check_timestamp)
            .unwrap()
            .remove(0);
        let kinds: Vec<TimestampKind> = ev.timestamps.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, want, "{f}");
        for t in &ev.timestamps {
            assert_eq!(t.imprint, Check::Passed, "{f} {}: {:?}", t.id, t.imprint);
            assert_eq!(
                t.signature,
                Check::Passed,
                "{f} {}: {:?}",
                t.id,
                t.signature
            );
        }
    }
    // The archive timestamp over a corrupted certificate value no longer matches.
    let ev = read_xades(
        &sample("xades-lta-corrupted-cert.xml"),
        None,
        &check_timestamp,
    )
    .unwrap()
    .remove(0);
    let ats = ev
        .timestamps
        .iter()
        .find(|t| t.kind == TimestampKind::Archive)
        .unwrap();
    assert!(!ats.imprint.passed());
}
