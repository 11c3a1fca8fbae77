//! LOTL bootstrap against the OJ anchor sets, with and without pivots.

use super::common::*;
use trust::bootstrap::{BootstrapError, BootstrapOptions, bootstrap, pivot_urls};
use trust::status::ListStatus;

fn no_pivots(_: &str) -> Option<Vec<u8>> {
    None
}

#[test]
fn lotl_388_direct_with_2026_anchors() {
    let lotl = parse(LOTL_388);
    assert!(pivot_urls(&lotl).is_empty(), "388 names the 2026 OJ first");
    let t = bootstrap(
        &read(LOTL_388),
        &anchors_2026(),
        LOTL_URL,
        lotl.issued,
        &no_pivots,
        &BootstrapOptions::default(),
    )
    .expect("388 ties to the 2026 anchors");
    assert_eq!(t.lotl.sequence, 388);
    assert!(t.pivots_used.is_empty());
    assert_eq!(t.status, ListStatus::Valid);
    assert!(anchors_2026().contains(&t.signer_cert));
    assert_eq!(t.signer_set.len(), 6);
    let mut a = t.signer_set.clone();
    let mut b = anchors_2026().certs;
    a.sort();
    b.sort();
    assert_eq!(a, b, "EU self-pointer of 388 = OJ 2026 set");
    assert!(t.alerts.is_empty(), "{:?}", t.alerts);
}

#[test]
fn lotl_388_fails_with_2019_anchors() {
    let lotl = parse(LOTL_388);
    let err = bootstrap(
        &read(LOTL_388),
        &anchors_2019(),
        LOTL_URL,
        lotl.issued,
        &real_pivots(&[]),
        &BootstrapOptions::default(),
    )
    .expect_err("not tied to the 2019 anchors");
    match &err {
        BootstrapError::NotTied {
            sequence,
            announced_oj_url,
            ..
        } => {
            assert_eq!(*sequence, 388);
            assert_eq!(
                announced_oj_url.as_deref(),
                Some(trust::anchors::OJ_URL_2026)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    println!("388 with 2019 anchors: {err}");
}

#[test]
fn lotl_369_via_pivots_with_2019_anchors() {
    let lotl = parse(LOTL_369);
    let urls = pivot_urls(&lotl);
    assert_eq!(urls.len(), 4);
    let t = bootstrap(
        &read(LOTL_369),
        &anchors_2019(),
        LOTL_URL,
        lotl.issued,
        &real_pivots(&[]),
        &BootstrapOptions::default(),
    )
    .expect("369 bootstraps through pivots");
    assert_eq!(t.pivots_used, vec![282, 300, 335, 341]);
    let mut got = t.signer_set.clone();
    let mut want = pem_certs("ojeu-lotl-signers/pyhanko/pre-reanchor.cert.pem");
    assert_eq!(want.len(), 7);
    got.sort();
    want.sort();
    assert_eq!(got, want, "signer set = pre-reanchor.cert.pem");
    assert_eq!(t.status, ListStatus::Valid);
    assert!(t.alerts.is_empty(), "{:?}", t.alerts);
    // Later: expired (NextUpdate 2026-01-21 passed), not a failure.
    let later = bootstrap(
        &read(LOTL_369),
        &anchors_2019(),
        LOTL_URL,
        time::macros::datetime!(2026-06-01 0:00 UTC),
        &real_pivots(&[]),
        &BootstrapOptions::default(),
    )
    .unwrap();
    assert_eq!(later.status, ListStatus::Expired);
}

#[test]
fn lotl_369_missing_pivot_300() {
    let lotl = parse(LOTL_369);
    let err = bootstrap(
        &read(LOTL_369),
        &anchors_2019(),
        LOTL_URL,
        lotl.issued,
        &real_pivots(&[300]),
        &BootstrapOptions::default(),
    )
    .expect_err("pivot 300 missing");
    assert!(
        matches!(
            &err,
            BootstrapError::PivotMissing {
                sequence: Some(300),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("pivot 300"), "{err}");
    println!("{err}");
}

#[test]
fn lotl_369_broken_pivot() {
    let lotl = parse(LOTL_369);
    let src = |url: &str| {
        let mut b = real_pivots(&[])(url)?;
        if url.ends_with("-335.xml") {
            let i = b.len() / 2;
            b[i] ^= 0x01;
        }
        Some(b)
    };
    let err = bootstrap(
        &read(LOTL_369),
        &anchors_2019(),
        LOTL_URL,
        lotl.issued,
        &src,
        &BootstrapOptions::default(),
    )
    .expect_err("pivot 335 broken");
    assert!(err.to_string().contains("pivot 335"), "{err}");
}

#[test]
fn lotl_248_direct_and_tampered() {
    let lotl = parse(LOTL_248);
    let t = bootstrap(
        &read(LOTL_248),
        &anchors_2019(),
        LOTL_URL,
        lotl.issued,
        &no_pivots,
        &BootstrapOptions::default(),
    )
    .unwrap();
    assert!(t.pivots_used.is_empty());
    for f in [
        "lotl/dss/eu-lotl-no-sig.xml",
        "lotl/dss/eu-lotl-not-parseable.xml",
        "lotl/dss/eu-lotl-no-tl-version.xml",
    ] {
        let r = bootstrap(
            &read(f),
            &anchors_2019(),
            LOTL_URL,
            lotl.issued,
            &no_pivots,
            &BootstrapOptions::default(),
        );
        assert!(r.is_err(), "{f}");
        println!("{f}: {}", r.unwrap_err());
    }
}

#[test]
fn lotl_332_via_pivots() {
    let rel = "snapshot-2023-10/EU-lotl.seq332.xml";
    let lotl = parse(rel);
    let t = bootstrap(
        &read(rel),
        &anchors_2019(),
        LOTL_URL,
        lotl.issued,
        &real_pivots(&[]),
        &BootstrapOptions::default(),
    )
    .unwrap();
    assert_eq!(t.pivots_used, vec![282, 300]);
}
