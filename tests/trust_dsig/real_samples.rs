//! Real LOTL / TL / pivot samples verified by the engine and by xmlsec1 (independent
//! counterpart), plus the broken variants shipped with DSS. Owns no library code.

use std::path::PathBuf;

use crate::common::*;
use signgate::trust::xmldsig::{DsigError, DsigPolicy};

/// Pivot 172 (2017) is signed with a 1024-bit RSA key: only the explicit legacy policy
/// accepts it (checked separately in `weak_key_pivot_needs_legacy_policy`).
fn policy_for(path: &std::path::Path) -> DsigPolicy {
    if path.ends_with("tl_pivot_172_mp.xml") {
        DsigPolicy::legacy_pivots()
    } else {
        DsigPolicy::default()
    }
}

fn valid_samples() -> Vec<PathBuf> {
    let mut v = Vec::new();
    v.extend(xml_files("lotl/pyhanko"));
    v.extend(xml_files("lotl/pivots-real"));
    v.push(data("lotl/dss/eu-lotl.seq248.xml"));
    for n in [172, 191, 226, 247] {
        v.push(data(&format!(
            "lotl/dss/pivots-2017-2019/tl_pivot_{n}_mp.xml"
        )));
    }
    v.extend(xml_files("lotl/dss/synthetic-oj-transition"));
    v.extend(xml_files("lotl/dss/mra"));
    v.extend(xml_files("tl/pyhanko"));
    for f in ["CZ.seq77", "NO.seq50", "SE.seq32"] {
        v.push(data(&format!("tl/dss-2019/{f}.xml")));
    }
    for f in ["fi-v5", "fi-v6", "fi-v5-invalid"] {
        v.push(data(&format!("tl/dss-structure/{f}.xml")));
    }
    v.extend(xml_files("snapshot-2023-10"));
    v
}

#[test]
fn real_samples_verify_like_xmlsec1() {
    let files = valid_samples();
    assert!(
        files.len() >= 49,
        "expected the full sample set, got {}",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let rel = path
            .strip_prefix(DATA)
            .unwrap_or(path)
            .display()
            .to_string();
        let xmlsec = xmlsec1_verifies(path);
        let text = std::fs::read_to_string(path).expect("read");
        let keyinfo = keyinfo_certs(&text);
        let policy = policy_for(path);
        let ours = verify_file_with(path, &[], &policy);
        match &ours {
            Ok(v) => {
                println!(
                    "{rel}: ours OK ({}, {}, xades={}, time={:?}, certdigest match={:?}) | xmlsec1 {}",
                    v.signature_method.rsplit('#').next().unwrap_or(""),
                    v.c14n_method.rsplit('/').next().unwrap_or(""),
                    v.has_xades,
                    v.signing_time.map(|t| t.date()),
                    v.signing_certificate_digest
                        .as_ref()
                        .and_then(|d| d.matches_signer),
                    if xmlsec { "OK" } else { "FAIL" }
                );
                if !keyinfo.contains(&v.signer_cert) || keyinfo.first() != Some(&v.signer_cert) {
                    failures.push(format!("{rel}: signer cert is not the KeyInfo cert"));
                }
                if !v.has_xades || v.signing_time.is_none() {
                    failures.push(format!("{rel}: XAdES properties not found"));
                }
                if v.signing_certificate_digest
                    .as_ref()
                    .and_then(|d| d.matches_signer)
                    != Some(true)
                {
                    failures.push(format!("{rel}: XAdES CertDigest does not match signer"));
                }
                // Same result when the KeyInfo cert is the expected candidate.
                let cands: Vec<&[u8]> = vec![v.signer_cert.as_slice()];
                if let Err(e) = verify_file_with(path, &cands, &policy) {
                    failures.push(format!("{rel}: with candidate: {e}"));
                }
            }
            Err(e) => {
                println!(
                    "{rel}: ours ERR {e} | xmlsec1 {}",
                    if xmlsec { "OK" } else { "FAIL" }
                );
            }
        }
        if ours.is_ok() != xmlsec {
            failures.push(format!(
                "{rel}: ours={:?} xmlsec1={xmlsec}",
                ours.as_ref().err()
            ));
        }
        if !xmlsec {
            failures.push(format!("{rel}: expected a valid sample but xmlsec1 fails"));
        }
    }
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

#[test]
fn broken_variants_fail_with_their_own_error() {
    type Check = fn(&Result<signgate::trust::xmldsig::VerifiedSignature, DsigError>) -> bool;
    let cases: &[(&str, Check)] = &[
        ("lotl/dss/eu-lotl-no-sig.xml", |r| {
            matches!(r, Err(DsigError::NoSignature))
        }),
        ("tl/dss-2019/CZ_no-sig.xml", |r| {
            matches!(r, Err(DsigError::NoSignature))
        }),
        ("tl/dss-structure/tl-empty.xml", |r| {
            matches!(r, Err(DsigError::NoSignature))
        }),
        ("tl/dss-2019/CZ_broken-sig.xml", |r| {
            matches!(r, Err(DsigError::DigestMismatch { .. }))
        }),
        ("tl/dss-2019/CZ_two-sigs.xml", |r| {
            matches!(r, Err(DsigError::MultipleSignatures(2)))
        }),
        ("tl/dss-2019/CZ_not-parsable.xml", |r| {
            matches!(r, Err(DsigError::Parse(_)))
        }),
        ("lotl/dss/eu-lotl-not-parseable.xml", |r| {
            matches!(r, Err(DsigError::Parse(_)))
        }),
        ("tl/dss-2019/CZ_empty.xml", |r| {
            matches!(r, Err(DsigError::Parse(_)))
        }),
        ("lotl/dss/eu-lotl-no-tl-version.xml", |r| {
            matches!(r, Err(DsigError::DigestMismatch { .. }))
        }),
        ("tl/dss-2019/CZ_not-compliant.xml", |r| {
            matches!(r, Err(DsigError::DigestMismatch { .. }))
        }),
        (
            "lotl/dss/pivots-2017-2019/tl_pivot_247_mp_missing-pivot.xml",
            |r| matches!(r, Err(DsigError::DigestMismatch { .. })),
        ),
    ];
    let mut failures = Vec::new();
    for (rel, check) in cases {
        let path = data(rel);
        let ours = std::panic::catch_unwind(|| verify_file(&path, &[]));
        let Ok(ours) = ours else {
            failures.push(format!("{rel}: PANIC"));
            continue;
        };
        let xmlsec = xmlsec1_verifies(&path);
        println!(
            "{rel}: ours {:?} | xmlsec1 {}",
            ours.as_ref().err(),
            if xmlsec { "OK" } else { "FAIL" }
        );
        if !check(&ours) {
            failures.push(format!("{rel}: unexpected result {ours:?}"));
        }
        if xmlsec {
            failures.push(format!("{rel}: xmlsec1 unexpectedly verifies"));
        }
    }
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

#[test]
fn weak_key_pivot_needs_legacy_policy() {
    let path = data("lotl/dss/pivots-2017-2019/tl_pivot_172_mp.xml");
    match verify_file(&path, &[]) {
        Err(DsigError::WeakKey { bits: 1024, min }) => {
            assert_eq!(min, signgate::trust::xmldsig::DEFAULT_MIN_RSA_BITS)
        }
        other => panic!("expected WeakKey, got {other:?}"),
    }
    let v = verify_file_with(&path, &[], &DsigPolicy::legacy_pivots()).expect("legacy ok");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(keyinfo_certs(&text).first(), Some(&v.signer_cert));
}
