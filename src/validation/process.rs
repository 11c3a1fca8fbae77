//! The ETSI EN 319 102-1 validation processes over format-independent evidence.
//!
//! Owns: combining the building blocks into an indication per signature —
//! format checking (§5.2.2), identification of the signing certificate (§5.2.3),
//! cryptographic verification (§5.2.7), signature acceptance / cryptographic constraints
//! (§5.2.8), X.509 certificate validation (§5.2.6, delegated to `chain`), the validation
//! process for signatures with time and with long-term validation data (§5.5: timestamps,
//! best-signature-time, proofs of existence), the past signature validation of §5.6.2.4
//! (an LTA- or T-protected signature over a certificate that expired or was revoked
//! after the POE still passes), timestamp validation, and qualification (`qualification`).
//! Must not touch: file formats (the format modules produce [`SignatureEvidence`]),
//! fetching (the revocation fetcher is injected), trusted-list loading.

use time::OffsetDateTime;
use x509_cert::Certificate;

use super::Validator;
use super::chain::{self, CertCheckInput, TrustSources, Usage};
use super::evidence::{CertRef, Check, Der, SignatureEvidence, TimestampEvidence, TimestampKind};
use super::qualification;
use super::report::{
    CertSummary, Finding, Indication, Qualification, SignatureReport, SubIndication,
    TimestampReport,
};
use super::revocation::RevocationData;

/// Validates one signature's evidence at `validation_time`.
pub fn validate_signature(
    v: &Validator,
    ev: &SignatureEvidence,
    validation_time: OffsetDateTime,
) -> SignatureReport {
    let object = format!("signature {}", ev.id);
    let mut errors: Vec<Finding> = Vec::new();
    let mut warnings: Vec<Finding> = ev.warnings.clone();
    let mut verdict: Option<(Indication, Option<SubIndication>)> = None;
    let set = |v: &mut Option<(Indication, Option<SubIndication>)>, i, s| {
        if v.is_none() {
            *v = Some((i, Some(s)));
        }
    };

    // §5.2.2 Format checking.
    if !ev.errors.is_empty() {
        errors.extend(ev.errors.iter().cloned());
        set(
            &mut verdict,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
        );
    }

    // §5.2.7 Cryptographic verification (integrity of the signed data and value).
    if let Check::Failed { sub, reason } = &ev.integrity {
        errors.push(Finding::new("CV: signature integrity", &object, reason));
        let ind = match sub {
            SubIndication::SignedDataNotFound | SubIndication::NoSigningCertificateFound => {
                Indication::Indeterminate
            }
            _ => Indication::TotalFailed,
        };
        set(&mut verdict, ind, *sub);
    }

    // §5.2.3 Identification of the signing certificate.
    let Some(signer) = ev.signer_cert.as_deref() else {
        errors.push(Finding::new(
            "ISC: signing certificate",
            &object,
            "the signing certificate is neither in the signature nor in the document",
        ));
        set(
            &mut verdict,
            Indication::Indeterminate,
            SubIndication::NoSigningCertificateFound,
        );
        return finish(ev, verdict, None, errors, warnings, Vec::new(), None);
    };
    match ev.cert_ref {
        CertRef::Matches => {}
        CertRef::Mismatch => {
            errors.push(Finding::new(
                "ISC: signing certificate reference",
                &object,
                "the signed signing-certificate reference does not match the certificate that verifies the signature",
            ));
            set(
                &mut verdict,
                Indication::Indeterminate,
                SubIndication::NoSigningCertificateFound,
            );
        }
        CertRef::Absent => warnings.push(Finding::new(
            "ISC: signing certificate reference",
            &object,
            "no signed reference to the signing certificate (signing-certificate(-v2) / SigningCertificate)",
        )),
    }

    // Everything the signature and its container carry for path building and revocation.
    let mut pool: Vec<Der> = ev.certificates.clone();
    let mut crls: Vec<Der> = ev.crls.clone();
    let mut ocsps: Vec<Der> = ev.ocsps.clone();
    for ts in &ev.timestamps {
        pool.extend(ts.certificates.iter().cloned());
        pool.extend(ts.covered_certificates.iter().cloned());
        crls.extend(ts.covered_crls.iter().cloned());
        ocsps.extend(ts.covered_ocsps.iter().cloned());
    }
    dedup(&mut pool);
    dedup(&mut crls);
    dedup(&mut ocsps);
    // `crls` and `ocsps` are fixed from here on: parsed once, for the signer and every
    // timestamp's TSA.
    let revocation_data = std::cell::OnceCell::new();
    let trust = TrustSources {
        explicit: &v.explicit_anchors,
        registry: v.registry.as_deref(),
    };

    // Timestamps: each validated on its own; valid ones are proofs of existence. The
    // latest first: a timestamp whose TSA chain fails at the validation time may be
    // validated at the time of a later archive/document timestamp (past timestamp
    // validation, §5.6.2.4), but only of one that itself passed, so every link of a
    // chain of archive timestamps is proven, never one that merely carries a signature
    // (an untrusted TSA's token proves nothing).
    let mut order: Vec<usize> = (0..ev.timestamps.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(ev.timestamps[i].gen_time));
    let mut results: Vec<Option<TimestampReport>> = vec![None; ev.timestamps.len()];
    let mut proven_archive: Vec<OffsetDateTime> = Vec::new();
    for &i in &order {
        let ts = &ev.timestamps[i];
        let later_archive = proven_archive
            .iter()
            .filter(|t| **t > ts.gen_time)
            .min()
            .copied();
        let r = validate_timestamp(
            v,
            ts,
            &pool,
            &crls,
            &ocsps,
            &revocation_data,
            &trust,
            validation_time,
            later_archive,
        );
        if r.indication == Indication::TotalPassed
            && matches!(ts.kind, TimestampKind::Archive | TimestampKind::Document)
        {
            proven_archive.push(ts.gen_time);
        }
        results[i] = Some(r);
    }
    let mut ts_reports = Vec::new();
    let mut poe_signature: Option<OffsetDateTime> = None;
    let mut poe_archive: Vec<OffsetDateTime> = Vec::new();
    let mut content_ts: Vec<OffsetDateTime> = Vec::new();
    for (ts, r) in ev.timestamps.iter().zip(results) {
        let Some(r) = r else { continue };
        if r.indication == Indication::TotalPassed {
            match ts.kind {
                TimestampKind::Content => content_ts.push(ts.gen_time),
                TimestampKind::Signature | TimestampKind::ValidationData => {
                    poe_signature = Some(poe_signature.map_or(ts.gen_time, |p| p.min(ts.gen_time)));
                }
                TimestampKind::Archive | TimestampKind::Document => poe_archive.push(ts.gen_time),
                // Covers the references to validation data, not the signature value.
                TimestampKind::RefsOnly => {}
            }
        } else {
            warnings.push(Finding::new(
                "TS: timestamp validation",
                format!("timestamp {}", ts.id),
                format!(
                    "{}{}: it gives no proof of existence",
                    r.indication,
                    r.sub_indication
                        .map(|s| format!("/{s}"))
                        .unwrap_or_default()
                ),
            ));
        }
        ts_reports.push(r);
    }
    // Best-signature-time: the earliest POE of the signature (§5.5.3).
    let archive_poe = poe_archive.iter().min().copied();
    let best_signature_time = [Some(validation_time), poe_signature, archive_poe]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(validation_time);

    // Timestamp order (§5.5.4 step 5): content timestamps before signature timestamps.
    if let (Some(c), Some(s)) = (content_ts.iter().max(), poe_signature)
        && *c > s
    {
        errors.push(Finding::new(
            "TS: timestamp order",
            &object,
            "a content timestamp is later than the signature timestamp",
        ));
        set(
            &mut verdict,
            Indication::Indeterminate,
            SubIndication::TimestampOrderFailure,
        );
    }

    // §5.2.8 Signature acceptance: cryptographic constraints at validation time, or at
    // best-signature-time when a POE exists (§5.6.2.4 past signature validation).
    if let Err(f) = v.policy.check_algorithms(&ev.algorithms, validation_time) {
        if v.policy
            .check_algorithms(&ev.algorithms, best_signature_time)
            .is_ok()
            && best_signature_time < validation_time
        {
            warnings.push(Finding::new(
                "SAV: cryptographic constraints",
                &object,
                format!(
                    "{}; accepted because a proof of existence at {} predates the algorithm's expiry",
                    f.reason,
                    fmt(best_signature_time)
                ),
            ));
        } else {
            let no_poe = v.policy.algorithms_expiry(&ev.algorithms).is_some();
            errors.push(f);
            set(
                &mut verdict,
                Indication::Indeterminate,
                if no_poe {
                    SubIndication::CryptoConstraintsFailureNoPoe
                } else {
                    SubIndication::CryptoConstraintsFailure
                },
            );
        }
    }

    // §5.2.6 X.509 certificate validation at the validation time.
    let signer_at = |at| {
        chain::check_certificate_sharing(
            &CertCheckInput {
                cert: signer,
                pool: &pool,
                crls: &crls,
                ocsps: &ocsps,
                trust: &trust,
                at,
                usage: Usage::Signature,
                policy: &v.policy,
                fetcher: v.fetcher.as_deref(),
            },
            &revocation_data,
        )
    };
    let mut check = signer_at(validation_time);
    let mut psv_note = None;
    if check.indication != Indication::TotalPassed
        && best_signature_time < validation_time
        && matches!(
            check.sub_indication,
            Some(
                SubIndication::OutOfBoundsNoPoe
                    | SubIndication::OutOfBoundsNotRevoked
                    | SubIndication::RevokedNoPoe
                    | SubIndication::RevokedCaNoPoe
                    | SubIndication::CryptoConstraintsFailureNoPoe
            )
        )
    {
        // §5.5.4 / §5.6.2.4: with a POE, validate the chain at best-signature-time: a
        // certificate that expired or was revoked after the POE does not invalidate it.
        let past = signer_at(best_signature_time);
        if past.indication == Indication::TotalPassed {
            psv_note = Some(Finding::new(
                "PSV: past signature validation",
                &object,
                format!(
                    "at the validation time: {}; the signature has a proof of existence at {} when the chain was valid",
                    check
                        .sub_indication
                        .map(|s| s.as_str())
                        .unwrap_or("INDETERMINATE"),
                    fmt(best_signature_time)
                ),
            ));
            check = past;
        } else if let Some(cert) = parse(signer) {
            // A POE before notBefore proves the signature predates the certificate.
            let nb = to_time(cert.tbs_certificate.validity.not_before.to_unix_duration());
            if best_signature_time < nb {
                errors.push(Finding::new(
                    "PSV: signing certificate validity",
                    &object,
                    format!(
                        "proof of existence at {} is before the certificate's notBefore {}",
                        fmt(best_signature_time),
                        fmt(nb)
                    ),
                ));
                set(
                    &mut verdict,
                    Indication::TotalFailed,
                    SubIndication::NotYetValid,
                );
            }
        }
    }
    if let Some(n) = psv_note {
        warnings.push(n);
    }
    if check.indication != Indication::TotalPassed {
        errors.extend(check.errors.iter().cloned());
        if let Some(sub) = check.sub_indication {
            set(&mut verdict, check.indication, sub);
        } else if verdict.is_none() {
            verdict = Some((check.indication, None));
        }
    }
    warnings.extend(check.warnings.iter().cloned());

    // Revocation time against best-signature-time (RevocationTimeAgainstBestSignatureTime).
    if let Some((revoked_at, reason)) = &check.signer_revoked_at
        && *revoked_at <= best_signature_time
        && check.indication == Indication::TotalPassed
    {
        errors.push(Finding::new(
            "XCV: revocation",
            &object,
            format!(
                "the signing certificate was revoked at {} ({reason}), before the best-signature-time {}",
                fmt(*revoked_at),
                fmt(best_signature_time)
            ),
        ));
        set(
            &mut verdict,
            Indication::Indeterminate,
            SubIndication::RevokedNoPoe,
        );
    }

    let chain_summary = check.chain_summary();
    let qual = v.registry.as_deref().map(|reg| {
        qualification::qualify_certificate(
            signer,
            check.path.get(1..).unwrap_or(&[]),
            reg,
            best_signature_time,
        )
    });
    if let Some(q) = &qual {
        warnings.extend(q.findings.iter().cloned());
    }
    let mut report = finish(
        ev,
        verdict,
        Some(signer),
        errors,
        warnings,
        chain_summary,
        Some(best_signature_time),
    );
    report.timestamps = ts_reports;
    if let Some(q) = qual {
        let (qualification, qscd) = q.conclude(report.indication);
        report.qualification = qualification;
        report.qscd = qscd;
    }
    report
}

#[allow(clippy::too_many_arguments)]
fn finish(
    ev: &SignatureEvidence,
    verdict: Option<(Indication, Option<SubIndication>)>,
    signer: Option<&[u8]>,
    errors: Vec<Finding>,
    warnings: Vec<Finding>,
    chain: Vec<CertSummary>,
    best_signature_time: Option<OffsetDateTime>,
) -> SignatureReport {
    let (indication, sub_indication) = verdict.unwrap_or((Indication::TotalPassed, None));
    SignatureReport {
        id: ev.id.clone(),
        format: ev.format.clone(),
        indication,
        sub_indication,
        qualification: if indication == Indication::TotalPassed {
            Qualification::NotApplicable
        } else {
            Qualification::NotAdes
        },
        qscd: None,
        signer: signer.and_then(parse).map(|c| common_name(&c)),
        signing_time: ev.claimed_signing_time,
        best_signature_time,
        scope: Some(ev.scope.clone()),
        certificate_chain: chain,
        timestamps: Vec::new(),
        errors,
        warnings,
    }
}

/// Validates one timestamp (EN 319 102-1 §5.4): integrity, TSA chain at the validation
/// time (or, when an archive timestamp covers it, at that later POE), algorithms.
#[allow(clippy::too_many_arguments)]
fn validate_timestamp(
    v: &Validator,
    ts: &TimestampEvidence,
    pool: &[Der],
    crls: &[Der],
    ocsps: &[Der],
    revocation_data: &std::cell::OnceCell<RevocationData>,
    trust: &TrustSources<'_>,
    validation_time: OffsetDateTime,
    covered_by_archive_at: Option<OffsetDateTime>,
) -> TimestampReport {
    let object = format!("timestamp {}", ts.id);
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut verdict: Option<(Indication, SubIndication)> = None;
    if let Check::Failed { sub, reason } = &ts.imprint {
        errors.push(Finding::new("TS: message imprint", &object, reason));
        verdict.get_or_insert((Indication::TotalFailed, *sub));
    }
    if let Check::Failed { sub, reason } = &ts.signature {
        errors.push(Finding::new("TS: signature", &object, reason));
        verdict.get_or_insert((Indication::TotalFailed, *sub));
    }
    let tsa = ts.tsa_cert.as_deref();
    let mut qualification = "N/A".to_string();
    match tsa {
        None => {
            errors.push(Finding::new(
                "TS: TSA certificate",
                &object,
                "the TSA certificate is not in the token",
            ));
            verdict.get_or_insert((
                Indication::Indeterminate,
                SubIndication::NoSigningCertificateFound,
            ));
        }
        Some(tsa) if verdict.is_none() => {
            let mut tpool: Vec<Der> = ts.certificates.clone();
            tpool.extend(pool.iter().cloned());
            let input = |at| CertCheckInput {
                cert: tsa,
                pool: &tpool,
                crls,
                ocsps,
                trust,
                at,
                usage: Usage::Timestamping,
                policy: &v.policy,
                fetcher: v.fetcher.as_deref(),
            };
            let mut check =
                chain::check_certificate_sharing(&input(validation_time), revocation_data);
            if check.indication != Indication::TotalPassed
                && let Some(poe) = covered_by_archive_at
            {
                let past = chain::check_certificate_sharing(&input(poe), revocation_data);
                if past.indication == Indication::TotalPassed {
                    warnings.push(Finding::new(
                        "PSV: past timestamp validation",
                        &object,
                        format!(
                            "TSA chain not valid at the validation time ({}), but valid at {} when a later archive timestamp proves the token existed",
                            check.sub_indication.map(|s| s.as_str()).unwrap_or("-"),
                            fmt(poe)
                        ),
                    ));
                    check = past;
                }
            }
            if check.indication != Indication::TotalPassed {
                errors.extend(check.errors.iter().cloned());
                verdict.get_or_insert((
                    check.indication,
                    check
                        .sub_indication
                        .unwrap_or(SubIndication::CertificateChainGeneralFailure),
                ));
            }
            warnings.extend(check.warnings.iter().cloned());
            if let Some(reg) = v.registry.as_deref() {
                let (q, reasons) = qualification::qualify_timestamp(tsa, reg, ts.gen_time);
                qualification = if q { "QTSA" } else { "TSA" }.to_string();
                if !q {
                    for r in reasons {
                        warnings.push(Finding::new("QUAL: timestamp", &object, r));
                    }
                }
            }
        }
        Some(_) => {}
    }
    let at = covered_by_archive_at.unwrap_or(validation_time);
    if verdict.is_none()
        && let Err(f) = v
            .policy
            .check_algorithms(&ts.algorithms, at.min(validation_time))
    {
        errors.push(f);
        verdict = Some((
            Indication::Indeterminate,
            SubIndication::CryptoConstraintsFailure,
        ));
    }
    let (indication, sub_indication) = match verdict {
        Some((i, s)) => (i, Some(s)),
        None => (Indication::TotalPassed, None),
    };
    TimestampReport {
        id: ts.id.clone(),
        kind: serde_json::to_value(ts.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        production_time: ts.gen_time,
        indication,
        sub_indication,
        tsa: tsa.and_then(parse).map(|c| common_name(&c)),
        qualification,
        errors,
        warnings,
    }
}

fn parse(der: &[u8]) -> Option<Certificate> {
    use der::Decode as _;
    Certificate::from_der(der).ok()
}

/// The subject's common name, or the whole DN.
pub(crate) fn common_name(c: &Certificate) -> String {
    const CN: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("2.5.4.3");
    for rdn in c.tbs_certificate.subject.0.iter() {
        for atv in rdn.0.iter() {
            if atv.oid == CN {
                if let Ok(s) = atv.value.decode_as::<der::asn1::Utf8StringRef<'_>>() {
                    return s.as_str().to_string();
                }
                if let Ok(s) = atv.value.decode_as::<der::asn1::PrintableStringRef<'_>>() {
                    return s.as_str().to_string();
                }
            }
        }
    }
    c.tbs_certificate.subject.to_string()
}

fn to_time(d: std::time::Duration) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub(crate) fn fmt(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Drops exact duplicates (byte-equal DER), keeping the first of each. Buckets by a
/// cheap hash of the length and the last 64 bytes (a signature, for certificates, CRLs
/// and OCSP responses) and compares whole encodings within a bucket; a bucket holds at
/// most [`DEDUP_BUCKET`] encodings, the rest of its class goes to a set hashed over the
/// whole encoding, so crafted look-alikes cannot make this quadratic.
fn dedup(v: &mut Vec<Der>) {
    use std::hash::{BuildHasher as _, Hasher as _};
    let state = std::collections::hash_map::RandomState::new();
    let keep: Vec<bool> = {
        let mut buckets: std::collections::HashMap<u64, Vec<&[u8]>> =
            std::collections::HashMap::with_capacity(v.len());
        let mut overflow: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
        v.iter()
            .map(|d| {
                let mut h = state.build_hasher();
                h.write_usize(d.len());
                h.write(d.get(d.len().saturating_sub(64)..).unwrap_or(d));
                let bucket = buckets.entry(h.finish()).or_default();
                if bucket.contains(&d.as_slice()) {
                    false
                } else if bucket.len() < DEDUP_BUCKET {
                    bucket.push(d);
                    true
                } else {
                    overflow.insert(d)
                }
            })
            .collect()
    };
    let mut keep = keep.into_iter();
    v.retain(|_| keep.next().unwrap_or(true));
}

/// Encodings compared one by one in a [`dedup`] bucket.
const DEDUP_BUCKET: usize = 8;

#[cfg(test)]
mod tests {
    use super::{DEDUP_BUCKET, dedup};
    use crate::validation::Validator;
    use crate::validation::chain::test_pki::{Opts, Pki, build};
    use crate::validation::evidence::{
        Algorithms, CertRef, Check, Family, Scope, SignatureEvidence, TimestampEvidence,
        TimestampKind,
    };
    use crate::validation::policy::Policy;
    use crate::validation::report::Indication;
    use time::{Duration, OffsetDateTime};

    fn algs() -> Algorithms {
        Algorithms {
            digest: Some("SHA-256".into()),
            signature: Some("ECDSA".into()),
            signature_digest: Some("SHA-256".into()),
            key_bits: Some(256),
        }
    }

    fn ts(id: &str, kind: TimestampKind, at: OffsetDateTime, tsa: &Pki) -> TimestampEvidence {
        TimestampEvidence {
            id: id.into(),
            kind,
            gen_time: at,
            token: Vec::new(),
            imprint: Check::Passed,
            signature: Check::Passed,
            tsa_cert: Some(tsa.tsa.der.clone()),
            certificates: vec![tsa.interm.der.clone()],
            algorithms: algs(),
            covered_certificates: Vec::new(),
            covered_crls: Vec::new(),
            covered_ocsps: Vec::new(),
        }
    }

    /// Past timestamp validation across a chain of archive timestamps (§5.6.2.4): the
    /// signature timestamp's TSA certificate has expired at the validation time; a later
    /// document timestamp proves it existed while it was valid only if that later
    /// timestamp itself passes. One from an untrusted TSA, though its token verifies,
    /// proves nothing.
    #[test]
    fn only_proven_archive_timestamps_are_proofs_of_existence() {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let pki = build(&Opts::new(now));
        // Certificates valid around now + 200 days, and a PKI nobody trusts.
        let later = build(&Opts::new(now + Duration::days(200)));
        let untrusted = build(&Opts::new(now + Duration::days(200)));
        let validation_time = now + Duration::days(400); // pki's TSA and signer expired
        let v = Validator {
            policy: Policy {
                require_revocation: false,
                ..Policy::default_eu()
            },
            explicit_anchors: vec![pki.root.der.clone(), later.root.der.clone()],
            registry: None,
            fetcher: None,
        };
        let evidence = |doc_ts_by: &Pki| SignatureEvidence {
            id: "Sig1".into(),
            family: Family::PAdES,
            format: "PAdES-BASELINE-LTA".into(),
            integrity: Check::Passed,
            signer_cert: Some(pki.signer.der.clone()),
            cert_ref: CertRef::Matches,
            certificates: vec![pki.interm.der.clone()],
            crls: Vec::new(),
            ocsps: Vec::new(),
            algorithms: algs(),
            claimed_signing_time: Some(now - Duration::days(2)),
            timestamps: vec![
                ts(
                    "TS-1",
                    TimestampKind::Signature,
                    now - Duration::days(2),
                    &pki,
                ),
                ts(
                    "DTS-1",
                    TimestampKind::Document,
                    now + Duration::days(200),
                    doc_ts_by,
                ),
            ],
            scope: Scope {
                full: true,
                description: "the whole document".into(),
            },
            errors: Vec::new(),
            warnings: Vec::new(),
            policy_id: None,
            notes: Vec::new(),
        };

        let r = super::validate_signature(&v, &evidence(&later), validation_time);
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        assert_eq!(r.timestamps[0].indication, Indication::TotalPassed);
        assert!(
            r.timestamps[0]
                .warnings
                .iter()
                .any(|w| w.constraint == "PSV: past timestamp validation"),
            "{:?}",
            r.timestamps[0].warnings
        );
        assert_eq!(r.best_signature_time, Some(now - Duration::days(2)));

        let r = super::validate_signature(&v, &evidence(&untrusted), validation_time);
        assert_ne!(r.timestamps[1].indication, Indication::TotalPassed);
        assert_ne!(
            r.timestamps[0].indication,
            Indication::TotalPassed,
            "{:?}",
            r.timestamps[0]
        );
        assert_ne!(r.indication, Indication::TotalPassed);
    }

    #[test]
    fn dedup_keeps_first_of_each_exact_encoding_in_order() {
        let a = vec![1u8, 2, 3];
        let b = vec![9u8, 2, 3];
        let c = vec![1u8, 2, 3, 4];
        let mut v = vec![
            a.clone(),
            b.clone(),
            a.clone(),
            c.clone(),
            b.clone(),
            a.clone(),
        ];
        dedup(&mut v);
        assert_eq!(v, vec![a, b, c]);
    }

    #[test]
    fn dedup_is_exact_for_look_alikes_beyond_one_bucket() {
        // Same length and same last 64 bytes: one bucket, then the overflow set.
        let item = |k: u8| {
            let mut d = vec![k];
            d.extend_from_slice(&[7u8; 100]);
            d
        };
        let n = u8::try_from(DEDUP_BUCKET * 3).unwrap_or(u8::MAX);
        let distinct: Vec<Vec<u8>> = (0..n).map(item).collect();
        let mut v: Vec<Vec<u8>> = distinct.iter().chain(distinct.iter()).cloned().collect();
        dedup(&mut v);
        assert_eq!(v, distinct);
    }
}
