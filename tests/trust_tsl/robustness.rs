//! Never-panic tests for `crate::trust::tsl`: truncated and bit-flipped real lists, the
//! tampered DSS variants, hostile constructs (deep nesting, huge numbers, bad dates and
//! base64, DTDs) and the size limit. Results may be errors or issue lists; a panic or
//! abort fails the test.
//!
//! Owns: robustness checks. Must not: verify signatures or decide trust.

use crate::common::tsl::IssueKind;
use crate::common::{load, read, tsl, xml_files};

/// Small deterministic PRNG (xorshift64*), so failures are reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SAMPLES: [&str; 5] = [
    "tl/pyhanko/tsl-be-v6.seq81.2026-06-15.xml",
    "tl/pyhanko/tsl-ee.seq68.2025-06-12.xml",
    "lotl/pyhanko/eu-lotl.seq388.v6.2026-05-22.xml",
    "snapshot-2023-10/UK-final.xml",
    "lotl/dss/mra/mra-lotl.xml",
];

fn exercise(bytes: &[u8]) {
    if let Ok(tl) = tsl::parse_bytes(bytes) {
        // Touch the helpers and serialisation too.
        let _ = tl.count_services_by_type();
        let _ = tl.xml_pointers().count();
        let _ = serde_json::to_string(&tl).expect("serialisable");
    }
}

#[test]
fn truncated_real_files() {
    for f in SAMPLES {
        let bytes = read(f);
        let n = bytes.len();
        let mut cuts: Vec<usize> = (0..200).map(|i| i * n / 200).collect();
        cuts.extend((1..64).map(|d| n.saturating_sub(d)));
        for cut in cuts {
            exercise(&bytes[..cut]);
        }
    }
}

#[test]
fn bit_flipped_real_files() {
    let mut rng = Rng(0x5EED_0001_u64);
    for f in SAMPLES {
        let orig = read(f);
        for _ in 0..150 {
            let mut b = orig.clone();
            for _ in 0..=rng.below(4) {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            exercise(&b);
        }
    }
}

/// Text-level mutations that keep the XML well-formed, so the model code (not only the
/// XML parser) sees hostile values.
#[test]
fn well_formed_hostile_values() {
    let docs: Vec<String> = [
        "tl/pyhanko/tsl-be-old.seq74.2025-01-27.xml",
        "snapshot-2023-10/FR.expired.xml",
    ]
    .iter()
    .map(|f| String::from_utf8(read(f)).expect("utf8"))
    .collect();
    let replacements: &[(&str, &str)] = &[
        (
            "<TSLVersionIdentifier>5<",
            "<TSLVersionIdentifier>99999999999999999999<",
        ),
        ("<TSLVersionIdentifier>5<", "<TSLVersionIdentifier>4<"),
        ("<TSLSequenceNumber>74<", "<TSLSequenceNumber>-1<"),
        ("2025-01-27T07:35:45Z", "2025-02-30T07:35:45Z"),
        ("2025-01-27T07:35:45Z", "+99999-01-27T07:35:45Z"),
        ("2025-01-27T07:35:45Z", "9999-12-31T23:59:59-14:00"),
        ("T00:00:00Z", "T25:61:61.999999999999+99:99"),
        ("Critical=\"true\"", "Critical=\"maybe\""),
        ("assert=\"atLeastOne\"", "assert=\"some\""),
        (">true</", ">perhaps</"),
        ("Identifier>", "Identifier>not.an.oid."),
        ("<X509Certificate>MII", "<X509Certificate>!!!"),
        ("<X509Certificate>MII", "<X509Certificate>AAAA"),
        ("<X509SKI>", "<X509SKI>%%%"),
        ("<ServiceStatus>", "<ServiceStatus>x"),
        (
            "<TSPName>",
            "<TSPName><Name xml:lang=\"\u{1F600}\u{1F600}\">x</Name>",
        ),
    ];
    for (from, to) in replacements {
        let mut applied = false;
        for orig in docs.iter().filter(|d| d.contains(from)) {
            applied = true;
            exercise(orig.replace(from, to).as_bytes());
            exercise(orig.replacen(from, to, 1).as_bytes());
        }
        assert!(applied, "no sample contains {from:?}");
    }
    // Dropping whole element kinds.
    let orig = &docs[0];
    for tag in [
        "ServiceStatus",
        "StatusStartingTime",
        "ServiceTypeIdentifier",
        "SchemeInformation",
        "TSPInformation",
    ] {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let mut s = orig.clone();
        while let (Some(a), Some(b)) = (s.find(&open), s.find(&close)) {
            if b < a {
                break;
            }
            s.replace_range(a..b + close.len(), "");
        }
        let tl = tsl::parse_bytes(s.as_bytes()).expect("still well-formed");
        assert!(tl.has_errors(), "dropping {tag} must be reported");
    }
}

#[test]
fn deep_criteria_nesting_is_bounded() {
    let depth = 5_000;
    let sie = "http://uri.etsi.org/TrstSvc/SvcInfoExt/eSigDir-1999-93-EC-TrustedList/#";
    let mut crit = String::new();
    for _ in 0..depth {
        crit.push_str(r#"<q:CriteriaList assert="all">"#);
    }
    for _ in 0..depth {
        crit.push_str("</q:CriteriaList>");
    }
    let xml = format!(
        r#"<TrustServiceStatusList xmlns="http://uri.etsi.org/02231/v2#" xmlns:q="{sie}">
<SchemeInformation><TSLVersionIdentifier>5</TSLVersionIdentifier></SchemeInformation>
<TrustServiceProviderList><TrustServiceProvider><TSPInformation><TSPName><Name xml:lang="en">P</Name></TSPName></TSPInformation>
<TSPServices><TSPService><ServiceInformation>
<ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/CA/QC</ServiceTypeIdentifier>
<ServiceName><Name xml:lang="en">S</Name></ServiceName>
<ServiceDigitalIdentity><DigitalId><X509SKI>AAAA</X509SKI></DigitalId></ServiceDigitalIdentity>
<ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted</ServiceStatus>
<StatusStartingTime>2020-01-01T00:00:00</StatusStartingTime>
<ServiceInformationExtensions><Extension Critical="true"><q:Qualifications><q:QualificationElement>
<q:Qualifiers><q:Qualifier uri="http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/QCWithSSCD"/></q:Qualifiers>
{crit}
</q:QualificationElement></q:Qualifications></Extension></ServiceInformationExtensions>
</ServiceInformation></TSPService></TSPServices></TrustServiceProvider></TrustServiceProviderList>
</TrustServiceStatusList>"#
    );
    let tl = tsl::parse_bytes(xml.as_bytes()).expect("well-formed");
    assert!(
        tl.structure
            .iter()
            .any(|i| i.kind == IssueKind::LimitExceeded)
    );
    let svc = &tl.providers[0].services[0];
    // Zone-less date taken as UTC.
    assert_eq!(
        svc.status_start,
        time::macros::datetime!(2020-01-01 00:00:00 UTC)
    );
    // The over-deep branch is dropped: at most MAX_CRITERIA_DEPTH levels survive.
    let mut levels = 0;
    let mut c = &svc.extensions.qualifications[0].criteria;
    loop {
        levels += 1;
        match c.nested.first() {
            Some(n) => c = n,
            None => break,
        }
    }
    assert_eq!(levels, tsl::MAX_CRITERIA_DEPTH);
}

#[test]
fn tampered_variants_and_all_samples() {
    let mut files = xml_files("tl/dss-2019");
    files.extend(xml_files("lotl/dss"));
    files.extend(xml_files("lotl/dss/mra"));
    files.extend(xml_files("lotl/dss/pivots-2017-2019"));
    files.extend(xml_files("lotl/dss/synthetic-oj-transition"));
    files.extend(xml_files("lotl/pivots-real"));
    files.extend(xml_files("tl/dss-structure"));
    for f in &files {
        exercise(&read(f));
    }
    // The broken-signature and missing-pivot variants are still well-formed lists: the
    // parser reads them (detecting the tampering is the signature verifier's job).
    assert_eq!(
        load("tl/dss-2019/CZ_broken-sig.xml").service_count(),
        load("tl/dss-2019/CZ.seq77.xml").service_count()
    );
    assert!(
        load("lotl/dss/pivots-2017-2019/tl_pivot_247_mp_missing-pivot.xml")
            .structure
            .is_empty()
    );
}

#[test]
fn limits_and_non_lists() {
    let big = vec![b' '; tsl::MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(
        tsl::parse_bytes(&big),
        Err(tsl::TslError::TooLarge { .. })
    ));
    assert!(matches!(
        tsl::parse_bytes(&[0xff, 0xfe, 0x00]),
        Err(tsl::TslError::NotUtf8(_))
    ));
    assert!(matches!(tsl::parse_bytes(b""), Err(tsl::TslError::Xml(_))));
    let billion_laughs = br#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>"#;
    assert!(matches!(
        tsl::parse_bytes(billion_laughs),
        Err(tsl::TslError::Xml(_))
    ));
    // Wrong namespace on the root.
    assert!(matches!(
        tsl::parse_bytes(br#"<TrustServiceStatusList xmlns="urn:other"/>"#),
        Err(tsl::TslError::NotATrustedList(_))
    ));
    // BOM accepted.
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend(read("tl/dss-structure/tl-empty.xml"));
    assert!(tsl::parse_bytes(&with_bom).is_ok());
}
