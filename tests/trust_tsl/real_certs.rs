//! Test 3: locate the services behind real Belgian certificates in `tsl-be-old.seq74`
//! (MANIFEST section E) using only the parsed model plus x509-cert: the CA/QC service that
//! issued the "itsme" QES certificate (issuer DN + AKI against the listed certificate's
//! subject + SKI, and the list's own X509SKI), and the directly listed TSA/QTST service of
//! the BOSA timestamp unit. Prints type, status history and qualifications.
//!
//! Owns: those look-ups and assertions. Must not: decide qualification (that needs
//! certificate content evaluation, the trust layer's job) or verify signatures.

use const_oid::db::rfc5280::{ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_SUBJECT_KEY_IDENTIFIER};
use der::{Decode, Encode};
use time::macros::datetime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};

use crate::common::tsl::{Assert, TrustService};
use crate::common::{load, read};

const BE_OLD: &str = "tl/pyhanko/tsl-be-old.seq74.2025-01-27.xml";

fn ext(c: &Certificate, oid: const_oid::ObjectIdentifier) -> Option<&[u8]> {
    c.tbs_certificate
        .extensions
        .as_deref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes())
}

fn aki(c: &Certificate) -> Option<Vec<u8>> {
    let a = AuthorityKeyIdentifier::from_der(ext(c, ID_CE_AUTHORITY_KEY_IDENTIFIER)?).ok()?;
    a.key_identifier.map(|k| k.as_bytes().to_vec())
}

fn ski(c: &Certificate) -> Option<Vec<u8>> {
    let s = SubjectKeyIdentifier::from_der(ext(c, ID_CE_SUBJECT_KEY_IDENTIFIER)?).ok()?;
    Some(s.0.as_bytes().to_vec())
}

fn describe(provider: &str, s: &TrustService) {
    println!("  provider      : {provider}");
    println!("  service       : {}", s.name);
    println!("  type          : {} ({})", s.type_suffix(), s.type_uri);
    println!(
        "  status        : {} since {}",
        s.status_suffix(),
        s.status_start
    );
    if s.history.is_empty() {
        println!("  history       : (none: status unchanged since listed)");
    }
    for h in &s.history {
        println!(
            "  history       : {} since {} ({})",
            h.status_suffix(),
            h.status_start,
            h.type_suffix()
        );
    }
    println!("  additional    : {:?}", s.extensions.additional_info);
    for q in &s.extensions.qualifications {
        println!("  qualification : {:?}", q.qualifiers);
        println!(
            "                  criteria {:?}: policy sets {:?}, key usage {:?}, nested {}",
            q.criteria.assert,
            q.criteria.policy_sets,
            q.criteria.key_usage,
            q.criteria.nested.len()
        );
    }
}

#[test]
fn qes_certificate_issuer_service() {
    let leaf = Certificate::from_der(&read("certs/pyhanko-real/real-qcert.cer")).expect("leaf");
    let issuer = leaf.tbs_certificate.issuer.to_der().expect("issuer DER");
    let leaf_aki = aki(&leaf).expect("leaf has AKI");
    let tl = load(BE_OLD);

    let mut hits = Vec::new();
    for (p, s) in tl.services() {
        for der in &s.identities.certificates {
            let ca = Certificate::from_der(der).expect("listed cert");
            let subject_ok = ca.tbs_certificate.subject.to_der().expect("subject") == issuer;
            let key_ok = ski(&ca).as_deref() == Some(leaf_aki.as_slice());
            if subject_ok && key_ok {
                hits.push((p, s, ca));
            }
        }
    }
    assert_eq!(
        hits.len(),
        1,
        "exactly one listed CA issued the itsme certificate"
    );
    let (p, s, ca) = &hits[0];
    println!("\nreal-qcert.cer issued by {}:", ca.tbs_certificate.subject);
    describe(&p.name, s);

    // The list's own X509SKI agrees with the certificate's SKI extension.
    assert!(s.identities.skis.contains(&leaf_aki));
    assert_eq!(s.type_suffix(), "CA/QC");
    assert_eq!(s.name, "itsme Sign Issuing CA G2x");
    assert!(s.is_granted());
    assert_eq!(s.status_start, datetime!(2020-10-21 00:00:00 UTC));
    assert!(s.history.is_empty());
    assert_eq!(p.name, "DigiCert Europe Belgium B.V.");
    assert_eq!(
        s.extensions.additional_info,
        ["http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/ForeSignatures"]
    );
    // Two QualificationElements: certificates under the itsme QES policy have their
    // QSCD managed on behalf of the signer; certificates without it are not qualified.
    let quals = &s.extensions.qualifications;
    assert_eq!(quals.len(), 2);
    let policy = vec![vec!["1.3.6.1.4.1.8024.1.410".to_owned()]];
    assert_eq!(
        quals[0].qualifiers,
        ["http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/QCQSCDManagedOnBehalf"]
    );
    assert_eq!(quals[0].criteria.assert, Assert::AtLeastOne);
    assert_eq!(quals[0].criteria.policy_sets, policy);
    assert_eq!(
        quals[1].qualifiers,
        ["http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/NotQualified"]
    );
    assert_eq!(quals[1].criteria.assert, Assert::None);
    assert!(quals[1].criteria.policy_sets.is_empty());
    assert_eq!(quals[1].criteria.nested.len(), 1);
    assert_eq!(quals[1].criteria.nested[0].assert, Assert::AtLeastOne);
    assert_eq!(quals[1].criteria.nested[0].policy_sets, policy);
    // … and the leaf does carry that policy.
    let leaf_has_policy = {
        let pol = ext(&leaf, const_oid::db::rfc5280::ID_CE_CERTIFICATE_POLICIES).expect("policies");
        let pols = x509_cert::ext::pkix::CertificatePolicies::from_der(pol).expect("policies DER");
        pols.0
            .iter()
            .any(|pi| pi.policy_identifier.to_string() == "1.3.6.1.4.1.8024.1.410")
    };
    assert!(leaf_has_policy);
}

#[test]
fn qtst_certificate_directly_listed() {
    let der = read("certs/pyhanko-real/real-qtst-cert.cer");
    let tl = load(BE_OLD);
    let hits: Vec<_> = tl
        .services()
        .filter(|(_, s)| s.identities.certificates.contains(&der))
        .collect();
    assert_eq!(hits.len(), 1, "the TSA certificate is listed exactly once");
    let (p, s) = hits[0];
    println!("\nreal-qtst-cert.cer is listed directly:");
    describe(&p.name, s);
    assert_eq!(s.type_suffix(), "TSA/QTST");
    assert!(s.is_granted());
    assert_eq!(p.name, "Kingdom of Belgium - Federal Government");
    assert_eq!(s.name, "TSU 202301");
    assert_eq!(s.status_start, datetime!(2024-04-12 15:00:36 UTC));
    assert!(s.history.is_empty());
    assert!(s.extensions.qualifications.is_empty());
    // The list's X509SKI / X509SubjectName agree with the certificate itself.
    let cert = Certificate::from_der(&der).expect("tsa cert");
    assert_eq!(s.identities.skis, [ski(&cert).expect("ski")]);
    assert_eq!(s.identities.subject_names.len(), 1);
}

#[test]
fn misissued_estonian_qtst_is_listed_as_qtst() {
    // MANIFEST E: listed as a QTST service although the certificate lacks QcStatements
    // (the "not qualified" conclusion is the trust layer's; here: it is listed).
    let der = read("certs/pyhanko-real/real-misissued-qtst-cert.cer");
    let tl = load("tl/pyhanko/tsl-ee.seq68.2025-06-12.xml");
    let hits: Vec<_> = tl
        .services()
        .filter(|(_, s)| s.identities.certificates.contains(&der))
        .collect();
    assert_eq!(hits.len(), 1);
    let (p, s) = hits[0];
    println!("\nreal-misissued-qtst-cert.cer is listed directly:");
    describe(&p.name, s);
    assert_eq!(s.type_suffix(), "TSA/QTST");
    assert!(s.is_granted());
    assert_eq!(
        s.name,
        "SK Time-Stamping Authority for qualified electronic time stamps (SK-TSA 2025E)"
    );
    assert_eq!(s.status_start, datetime!(2025-02-14 03:00:00 UTC));
}
