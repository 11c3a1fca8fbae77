//! Test 2: facts about the real LOTL/TL samples stated in `shared/data/MANIFEST.md`
//! (sections A, C, D), checked against what our parser reads — and, where the manifest's
//! wording is ambiguous, against what the files really contain.
//!
//! Owns: those assertions. Must not: verify signatures or decide trust.

use crate::common::tsl::{IssueKind, Severity};
use crate::common::{
    fingerprints, granted_current, load, pem_bundle, read, registry_count, sha256_hex, tsl,
};
use time::macros::datetime;

const LOTL_388: &str = "lotl/pyhanko/eu-lotl.seq388.v6.2026-05-22.xml";
const LOTL_369: &str = "lotl/pyhanko/eu-lotl-old.seq369.v5.2025-07-31.xml";
const LOTL_332: &str = "snapshot-2023-10/EU-lotl.seq332.xml";
const BE_V6: &str = "tl/pyhanko/tsl-be-v6.seq81.2026-06-15.xml";

fn eu_self_pointer(tl: &tsl::TrustedList) -> &tsl::TlPointer {
    let mut it = tl.xml_pointers_for("EU");
    let p = it.next().expect("EU self-pointer");
    assert!(it.next().is_none(), "exactly one EU XML pointer");
    assert!(p.is_list_of_lists());
    assert_eq!(p.tsl_type.as_deref(), Some(tsl::TSLTYPE_EU_LOTL));
    p
}

#[test]
fn lotl_388_header_pointers_and_self_pointer() {
    let tl = load(LOTL_388);
    assert_eq!(
        (tl.version, tl.sequence, tl.territory.as_str()),
        (6, 388, "EU")
    );
    assert!(tl.is_lotl());
    assert_eq!(tl.operator_name, "European Commission");
    assert_eq!(tl.issued, datetime!(2026-05-22 13:16:35 UTC));
    assert_eq!(tl.next_update, Some(datetime!(2026-11-18 12:16:35 UTC)));
    // MANIFEST "32 pointers" = the XML pointers (pyHanko's LOTL references); the file
    // has 43 OtherTSLPointer elements, 11 of them to PDF renditions.
    assert_eq!(tl.pointers.len(), 43);
    assert_eq!(tl.xml_pointers().count(), 32);
    assert_eq!(
        tl.pointers
            .iter()
            .filter(|p| p.mime_type.as_deref() == Some("application/pdf"))
            .count(),
        11
    );
    assert_eq!(tl.pointers.iter().filter(|p| p.is_mra).count(), 0);

    let eu = eu_self_pointer(&tl);
    assert_eq!(eu.location, "https://ec.europa.eu/tools/lotl/eu-lotl.xml");
    let expected = pem_bundle("ojeu-lotl-signers/pyhanko/bootstrap-1.OJ-C-2026-1944.cert.pem");
    assert_eq!(expected.len(), 6);
    // Same 6 certificates (the pointer lists them in another order than the PEM bundle).
    assert_eq!(
        fingerprints(&eu.certificates),
        fingerprints(&expected),
        "EU self-pointer = bootstrap-1 certs"
    );
    // pyHanko's latest.cert.pem is the same set at this commit.
    assert_eq!(
        pem_bundle("ojeu-lotl-signers/pyhanko/latest.cert.pem"),
        expected
    );
    assert!(tl.errors().next().is_none(), "{:?}", tl.structure);
}

#[test]
fn lotl_388_scheme_information_uris() {
    let tl = load(LOTL_388);
    let uris: Vec<&str> = tl
        .scheme_information_uris
        .iter()
        .map(|(_, u)| u.as_str())
        .collect();
    // What the file really contains: the new OJ reference, five pivots (newest first),
    // the 2019 OJ reference, then an explanation page and the legal notice in 23 languages.
    assert_eq!(
        uris[..8],
        [
            "https://eur-lex.europa.eu/eli/C/2026/1944/oj",
            "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-378.xml",
            "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-341.xml",
            "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-335.xml",
            "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-300.xml",
            "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-282.xml",
            "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=uriserv:OJ.C_.2019.276.01.0001.01.ENG",
            "https://ec.europa.eu/tools/lotl/pivot-lotl-explanation.html",
        ]
    );
    assert_eq!(uris.len(), 31);
    assert!(
        uris[8..]
            .iter()
            .all(|u| u.starts_with("https://ec.europa.eu/tools/lotl/eu-lotl-legalnotice.html#"))
    );
    assert!(
        tl.scheme_information_uris[..8]
            .iter()
            .all(|(l, _)| l == "en")
    );
}

#[test]
fn lotl_369_and_332_pivots_and_self_pointer() {
    let old = load(LOTL_369);
    assert_eq!((old.version, old.sequence), (5, 369));
    assert_eq!(old.xml_pointers().count(), 32);
    let expected = pem_bundle("ojeu-lotl-signers/pyhanko/pre-reanchor.cert.pem");
    assert_eq!(expected.len(), 7);
    assert_eq!(
        fingerprints(&eu_self_pointer(&old).certificates),
        fingerprints(&expected)
    );
    let pivots: Vec<&str> = old
        .scheme_information_uris
        .iter()
        .map(|(_, u)| u.as_str())
        .take(5)
        .collect();
    assert_eq!(
        pivots,
        [
            "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-341.xml",
            "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-335.xml",
            "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-300.xml",
            "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-282.xml",
            "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=uriserv:OJ.C_.2019.276.01.0001.01.ENG",
        ]
    );

    let s332 = load(LOTL_332);
    assert_eq!((s332.version, s332.sequence), (5, 332));
    assert_eq!(s332.xml_pointers().count(), 32);
    let pivots: Vec<&str> = s332
        .scheme_information_uris
        .iter()
        .map(|(_, u)| u.as_str())
        .take(3)
        .collect();
    assert_eq!(
        pivots,
        [
            "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-300.xml",
            "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-282.xml",
            "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=uriserv:OJ.C_.2019.276.01.0001.01.ENG",
        ]
    );

    // LOTL 248: EU self-pointer = the 8 OJ C 276/2019 certs (bootstrap-0).
    let l248 = load("lotl/dss/eu-lotl.seq248.xml");
    let b0 = pem_bundle("ojeu-lotl-signers/pyhanko/bootstrap-0.OJ-C-276-2019.cert.pem");
    assert_eq!(b0.len(), 8);
    assert_eq!(
        fingerprints(&eu_self_pointer(&l248).certificates),
        fingerprints(&b0)
    );
}

/// `ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate` of a list (test-side look-up).
fn tl_signer_cert(rel: &str) -> Vec<u8> {
    use base64::Engine as _;
    let bytes = read(rel);
    let text = std::str::from_utf8(&bytes).expect("utf8");
    let doc = roxmltree::Document::parse_with_options(text, tsl::parsing_options()).expect("xml");
    let ds = "http://www.w3.org/2000/09/xmldsig#";
    let node = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name((ds, "Signature")))
        .and_then(|s| {
            s.descendants()
                .find(|n| n.has_tag_name((ds, "X509Certificate")))
        })
        .expect("signer certificate in KeyInfo");
    let b64: String = node.text().unwrap_or("").split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64")
}

#[test]
fn be_v6_signer_announced_by_lotl_388_not_369() {
    let signer = tl_signer_cert(BE_V6);
    let fp = sha256_hex(&signer);
    assert!(fp.starts_with("fbec3a3b"), "BE v6 signer fingerprint {fp}");
    let be388: Vec<_> = load(LOTL_388).xml_pointers_for("BE").cloned().collect();
    let be369: Vec<_> = load(LOTL_369).xml_pointers_for("BE").cloned().collect();
    assert_eq!((be388.len(), be369.len()), (1, 1));
    assert!(be388[0].certificates.contains(&signer));
    assert!(!be369[0].certificates.contains(&signer));
    println!(
        "BE pointer: LOTL 388 lists {} certs (incl. fbec3a3b…), LOTL 369 lists {} (without)",
        be388[0].certificates.len(),
        be369[0].certificates.len()
    );
}

#[test]
fn be_v6_and_ee_service_counts() {
    let be = load(BE_V6);
    assert_eq!(
        (be.version, be.sequence, be.territory.as_str()),
        (6, 81, "BE")
    );
    assert!(be.errors().next().is_none(), "{:?}", be.structure);
    let by_type = be.count_services_by_type();
    // Current service entries per type …
    assert_eq!((by_type["CA/QC"], by_type["TSA/QTST"]), (84, 20));
    // … of which currently granted …
    assert_eq!(
        (
            granted_current(&be, "CA/QC"),
            granted_current(&be, "TSA/QTST")
        ),
        (39, 19)
    );
    // … and MANIFEST's "19 QTSAs + 29 CAs" is pyHanko's registry count: distinct
    // (subject, public key) authorities over granted service definitions (current or
    // history). 39 granted CA/QC entries collapse to 29 authorities (re-listed keys).
    assert_eq!(
        (
            registry_count(&be, "CA/QC"),
            registry_count(&be, "TSA/QTST")
        ),
        (29, 19)
    );

    let ee = load("tl/pyhanko/tsl-ee.seq68.2025-06-12.xml");
    assert_eq!(
        (ee.version, ee.sequence, ee.territory.as_str()),
        (5, 68, "EE")
    );
    let by_type = ee.count_services_by_type();
    assert_eq!((by_type["CA/QC"], by_type["TSA/QTST"]), (17, 32));
    assert_eq!(
        (
            granted_current(&ee, "CA/QC"),
            granted_current(&ee, "TSA/QTST")
        ),
        (10, 7)
    );
    assert_eq!(
        (
            registry_count(&ee, "CA/QC"),
            registry_count(&ee, "TSA/QTST")
        ),
        (10, 7)
    );

    // pyHanko smoke tests on tsl-be-old: 28 current granted CA/QC defs, 17 current QTST;
    // registry 20 CAs / 17 QTSAs.
    let old = load("tl/pyhanko/tsl-be-old.seq74.2025-01-27.xml");
    assert_eq!(
        (
            granted_current(&old, "CA/QC"),
            granted_current(&old, "TSA/QTST")
        ),
        (28, 17)
    );
    assert_eq!(
        (
            registry_count(&old, "CA/QC"),
            registry_count(&old, "TSA/QTST")
        ),
        (20, 17)
    );

    // FR.expired: pyHanko at issue time registers 54 CAs / 42 QTSAs.
    let fr = load("snapshot-2023-10/FR.expired.xml");
    assert_eq!(
        (
            registry_count(&fr, "CA/QC"),
            registry_count(&fr, "TSA/QTST")
        ),
        (54, 42)
    );
}

#[test]
fn next_update_edge_cases() {
    let uk = load("snapshot-2023-10/UK-final.xml");
    assert_eq!((uk.sequence, uk.territory.as_str()), (25, "UK"));
    assert_eq!(uk.next_update, None);
    assert!(
        uk.structure
            .iter()
            .any(|i| i.kind == IssueKind::NoNextUpdate && i.severity == Severity::Warning)
    );
    assert!(uk.errors().next().is_none());
    // pyHanko registers 0 CAs / 0 QTSAs from it.
    assert_eq!(
        (
            registry_count(&uk, "CA/QC"),
            registry_count(&uk, "TSA/QTST")
        ),
        (0, 0)
    );

    let fr = load("snapshot-2023-10/FR.expired.xml");
    assert_eq!((fr.sequence, fr.territory.as_str()), (112, "FR"));
    assert_eq!(fr.issued, datetime!(2023-02-23 01:00:07 UTC));
    assert_eq!(fr.next_update, Some(datetime!(2023-08-23 00:00:07 UTC)));
}

#[test]
fn no_tl_version_cases() {
    for f in [
        "tl/dss-structure/tl-empty.xml",
        "lotl/dss/eu-lotl-no-tl-version.xml",
        "tl/dss-2019/CZ_not-compliant.xml",
    ] {
        let tl = load(f);
        assert_eq!(tl.version, 0, "{f}");
        assert!(
            tl.structure
                .iter()
                .any(|i| i.kind == IssueKind::MissingVersion
                    && i.message.contains("No TLVersion has been found!")),
            "{f}: {:?}",
            tl.structure
        );
        assert!(tl.has_errors());
    }
}

#[test]
fn mra_pointers_flagged() {
    let mra = load("lotl/dss/mra/mra-lotl.xml");
    let flagged: Vec<_> = mra.pointers.iter().filter(|p| p.is_mra).collect();
    assert_eq!(flagged.len(), 1);
    let p = flagged[0];
    assert_eq!(p.territory.as_deref(), Some("XX"));
    assert_eq!(
        p.tsl_type.as_deref(),
        Some("http://uri.etsi.org/TrstSvc/TrustedList/TSLType/ZZlist")
    );
    assert_eq!(p.community_rules, ["http://example/schemerules/ZZ"]);
    assert!(p.is_xml());
    assert!(p.location.ends_with("/mra_tl_zz.xml"));
    assert_eq!(p.certificates.len(), 1);
    // Every EU member-state pointer stays un-flagged.
    assert_eq!(mra.xml_pointers().filter(|p| !p.is_mra).count(), 32);

    // The third-country list itself: non-EU TSLType, one CA service with its own type URI.
    let zz = load("lotl/dss/mra/mra-zz-tl.xml");
    assert_eq!(
        (zz.territory.as_str(), zz.tsl_type.as_str()),
        (
            "ZZ",
            "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/ZZlist"
        )
    );
    assert_eq!(zz.service_count(), 1);
}

#[test]
fn version_specific_structure() {
    for f in ["tl/dss-structure/fi-v5.xml", "tl/dss-structure/fi-v6.xml"] {
        let tl = load(f);
        assert!(tl.structure.is_empty(), "{f}: {:?}", tl.structure);
    }
    let v6 = load("tl/dss-structure/fi-v6.xml");
    assert_eq!(v6.version, 6);
    assert!(
        v6.services()
            .flat_map(|(_, s)| &s.supply_points)
            .all(|sp| sp.type_uri.is_some())
    );

    let bad = load("tl/dss-structure/fi-v5-invalid.xml");
    let mismatches = bad
        .errors()
        .filter(|i| i.kind == IssueKind::VersionMismatch)
        .count();
    assert_eq!(mismatches, 11, "{:?}", bad.structure);

    let two = load("tl/dss-2019/CZ_two-sigs.xml");
    assert!(
        two.errors()
            .any(|i| i.message == "Number of signatures must be equal to 1 (currently : 2)")
    );
    for f in ["tl/dss-2019/CZ_no-sig.xml", "lotl/dss/eu-lotl-no-sig.xml"] {
        assert!(
            load(f)
                .errors()
                .any(|i| i.message == "No ds:Signature element is present!"),
            "{f}"
        );
    }
    // v6 lists carry SigningCertificateV2 (no structure issue); v5 lists SigningCertificate.
    assert!(load(LOTL_388).structure.is_empty());
    assert!(load(BE_V6).structure.is_empty());
}

#[test]
fn unparseable_inputs_are_errors() {
    for f in [
        "lotl/dss/eu-lotl-not-parseable.xml",
        "tl/dss-2019/CZ_not-parsable.xml",
        "tl/dss-2019/CZ_empty.xml",
    ] {
        assert!(
            matches!(tsl::parse_bytes(&read(f)), Err(tsl::TslError::Xml(_))),
            "{f}"
        );
    }
    assert!(matches!(
        tsl::parse_bytes(b"<a/>"),
        Err(tsl::TslError::NotATrustedList(_))
    ));
    let dtd = br#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><TrustServiceStatusList xmlns="http://uri.etsi.org/02231/v2#">&a;</TrustServiceStatusList>"#;
    assert!(matches!(tsl::parse_bytes(dtd), Err(tsl::TslError::Xml(_))));
}
