//! Synthetic OJ transition (DSS `LOTLLocationRenewalTest` data): the OJ-URL-change and
//! location-change alerts fire exactly in the DSS combinations.
//!
//! The synthetic signer certificates are valid from 2023-12-18, after the lists'
//! ListIssueDateTime (2023-11-24): with signgate's point-in-time rule the bootstrap
//! itself refuses them (DSS validates at "now" and passes). The chain logic is checked
//! on the signature level below.

use super::common::*;
use trust::anchors::OjAnchors;
use trust::bootstrap::{Alert, BootstrapError, BootstrapOptions, bootstrap, detect_alerts};

const DIR: &str = "lotl/dss/synthetic-oj-transition";
const BASE: &str = "http://18.202.217.18/res/pivot/";
const OJ1: &str =
    "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=uriserv:OJ.C_.2019.276.01.0001.01.ENG";
const OJ2: &str =
    "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=uriserv:OJ.C_.2023.999.01.0001.01.ENG";

fn ks(n: u8) -> OjAnchors {
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        format!("tests/trust_boot/fixtures/synthetic-keystore-OJ{n}.cert.pem"),
    ))
    .unwrap();
    OjAnchors {
        oj_url: if n == 1 { OJ1 } else { OJ2 }.to_string(),
        certs: trust::anchors::parse_pem_certs(&text, "ks").unwrap(),
    }
}

/// (served file, OJ URL) pairs DSS runs, with the locations that list the file.
fn combinations() -> Vec<(&'static str, &'static str, &'static str)> {
    let loc1 = [
        "lotl_test_OJ_1_pivot_01.xml",
        "lotl_test_OJ_1_pivot_02.xml",
        "lotl_test_OJ_1_pivot_03.xml",
        "lotl_test_OJ_2_pivot_01.xml",
        "lotl_test_OJ_2_pivot_02.xml",
    ];
    let loc2 = [
        "lotl_test_OJ_2_pivot_01.xml",
        "lotl_test_OJ_2_pivot_02.xml",
        "lotl_test_OJ-2_reset_pivot.xml",
    ];
    let oj1 = loc1;
    let oj2 = loc2;
    let mut out = Vec::new();
    for (oj, files) in [(OJ1, &oj1[..]), (OJ2, &oj2[..])] {
        for f in files {
            for (loc, served) in [
                ("lotl_test_loc_01.xml", &loc1[..]),
                ("lotl_test_loc_02.xml", &loc2[..]),
            ] {
                if served.contains(f) {
                    out.push((loc, *f, oj));
                }
            }
        }
    }
    out
}

#[test]
fn alerts_match_dss() {
    let new_locations = [
        "lotl_test_loc_02.xml",
        "lotl_test_OJ_1_pivot_03.xml",
        "lotl_test_OJ_2_pivot_01.xml",
        "lotl_test_OJ_2_pivot_02.xml",
        "lotl_test_OJ-2_reset_pivot.xml",
    ];
    let new_oj_files = [
        "lotl_test_OJ_2_pivot_01.xml",
        "lotl_test_OJ_2_pivot_02.xml",
        "lotl_test_OJ-2_reset_pivot.xml",
    ];
    let combos = combinations();
    assert_eq!(combos.len(), 12);
    for (loc, file, oj) in combos {
        let list = parse(&format!("{DIR}/{file}"));
        let url = format!("{BASE}{loc}");
        let alerts = detect_alerts(&list, oj, &url);
        let oj_alert = alerts
            .iter()
            .any(|a| matches!(a, Alert::OjUrlChanged { .. }));
        let loc_alert = alerts
            .iter()
            .any(|a| matches!(a, Alert::LocationChanged { .. }));
        let want_oj = oj != OJ2 && new_oj_files.contains(&file);
        let want_loc = !new_locations.contains(&loc) && new_locations.contains(&file);
        assert_eq!(oj_alert, want_oj, "OJ alert {loc} {file} {oj}: {alerts:?}");
        assert_eq!(
            loc_alert, want_loc,
            "location alert {loc} {file} {oj}: {alerts:?}"
        );
    }
    // The served loc_01 document names itself with a relative location: no alert.
    let l = parse(&format!("{DIR}/lotl_test_loc_01.xml"));
    assert!(detect_alerts(&l, OJ1, &format!("{BASE}lotl_test_loc_01.xml")).is_empty());
}

fn synthetic_source(url: &str) -> Option<Vec<u8>> {
    let name = url.strip_prefix(BASE)?;
    std::fs::read(data(DIR).join(name)).ok()
}

#[test]
fn bootstrap_alerts_and_point_in_time_rule() {
    // OJ_2 pivot 02 served at the old location with the OJ-2 keystore: the pivot chain
    // stops at the OJ-2 URL (pivots 02, 01); alerts are those of DSS, and the signer
    // validity rule refuses the list (certificate not yet valid at issue time).
    let file = "lotl_test_OJ_2_pivot_02.xml";
    let bytes = read(&format!("{DIR}/{file}"));
    let list = parse(&format!("{DIR}/{file}"));
    let err = bootstrap(
        &bytes,
        &ks(2),
        &format!("{BASE}lotl_test_loc_01.xml"),
        list.issued,
        &synthetic_source,
        &BootstrapOptions::default(),
    )
    .expect_err("signer certs are not valid at the issue time");
    assert!(
        matches!(err, BootstrapError::SignerNotValidAtIssue { .. }),
        "{err:?}"
    );
    println!("{file}: {err}");
    // Signature-level chain: pivot 01 of OJ-2 is signed by an OJ-2 keystore cert; the
    // served list by a cert of pivot 01's self-pointer.
    let p1 = trust::bootstrap::SignedDoc::read(
        read(&format!("{DIR}/lotl_test_OJ_2_pivot_01.xml")),
        &Default::default(),
    )
    .unwrap();
    let s1 = p1
        .signer_among(&ks(2).certs)
        .expect("OJ-2 keystore signs OJ_2 pivot 01");
    assert!(ks(2).contains(&s1));
    let set = trust::bootstrap::eu_self_pointer(&p1.list)
        .unwrap()
        .certificates
        .clone();
    let p2 = trust::bootstrap::SignedDoc::read(bytes, &Default::default()).unwrap();
    p2.signer_among(&set)
        .expect("pivot 02 signed by a pivot-01 announced cert");
    // The OJ-1 keystore does not sign OJ_2 pivot 01 (the OJ URL is a re-anchor).
    assert!(p1.signer_among(&ks(1).certs).is_err());
}
