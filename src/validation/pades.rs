//! PAdES (ETSI EN 319 142-1): from the PDF structure (`pdf`) and the CMS containers
//! (`cms`, `tsp`) to format-independent [`SignatureEvidence`], one per signature
//! dictionary; document timestamps become timestamps of the signatures they cover.
//!
//! Owns: the PAdES level names (BASELINE-B/T/LT/LTA, legacy BES/EPES, PKCS#7), which DSS
//! dictionary and document timestamp belong to which signature, byte-range hashing
//! (streamed over the file, never copied), and turning disallowed incremental updates
//! into findings.
//! Must not touch: PDF parsing (`pdf`), CMS parsing (`cms`), chain/time decisions.

use super::cms::{self, Content};
use super::crypto::DigestAlg;
use super::evidence::{
    Algorithms, CertRef, Check, Family, Scope, SignatureEvidence, TimestampEvidence, TimestampKind,
};
use super::pdf::{self, PdfSigKind, PdfSignature, PdfSignatures};
use super::report::{Finding, SubIndication};
use super::tsp;

/// id-aa-ets-sigPolicyId.
const OID_SIG_POLICY: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.15");
/// id-signingTime.
const OID_SIGNING_TIME: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");

/// Reads every signature of a PDF. Returns the evidence and document-level findings.
pub fn read_pades(bytes: &[u8]) -> Result<(Vec<SignatureEvidence>, Vec<Finding>), pdf::PdfError> {
    let doc = pdf::read_signatures(bytes)?;
    let mut out = Vec::new();
    // Document timestamps, validated once, attached to every signature they cover.
    let doc_ts: Vec<(usize, TimestampEvidence)> = doc
        .signatures
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == PdfSigKind::DocTimeStamp)
        .map(|(i, s)| (i, document_timestamp(bytes, &doc, s)))
        .collect();
    let mut n = 0;
    for (i, sig) in doc.signatures.iter().enumerate() {
        if sig.kind != PdfSigKind::Signature {
            continue;
        }
        n += 1;
        out.push(signature_evidence(bytes, &doc, i, sig, n, &doc_ts));
    }
    // A PDF with only document timestamps: report each as its own "signature" so the
    // caller sees them (DSS reports detached timestamps the same way).
    if out.is_empty() {
        for (i, ts) in &doc_ts {
            let s = &doc.signatures[*i];
            out.push(timestamp_only_evidence(s, ts.clone()));
        }
    }
    Ok((out, doc.findings.clone()))
}

fn ranges_digest(bytes: &[u8], sig: &PdfSignature, alg: DigestAlg) -> Vec<u8> {
    let mut h = alg.hasher();
    for &(off, len) in &sig.ranges {
        if let Some(chunk) = bytes.get(off..off.saturating_add(len)) {
            h.update(chunk);
        }
    }
    h.finish()
}

fn document_timestamp(bytes: &[u8], doc: &PdfSignatures, sig: &PdfSignature) -> TimestampEvidence {
    let id = format!("DTS-{}", sig.field_name);
    let mut ts = tsp::check_timestamp(id, TimestampKind::Document, &sig.contents, &|alg| {
        ranges_digest(bytes, sig, alg)
    });
    if let Check::Failed { reason, .. } = &sig.byte_range_check {
        ts.imprint = Check::Failed {
            sub: SubIndication::FormatFailure,
            reason: format!("ByteRange: {reason}"),
        };
    }
    // Validation data the timestamp protects: DSS dictionaries of revisions it covers.
    if let Some(rev) = sig.signed_revision {
        for d in doc.dss.iter().filter(|d| d.revision <= rev) {
            ts.covered_certificates.extend(d.certs.iter().cloned());
            ts.covered_crls.extend(d.crls.iter().cloned());
            ts.covered_ocsps.extend(d.ocsps.iter().cloned());
        }
    }
    ts
}

fn signature_evidence(
    bytes: &[u8],
    doc: &PdfSignatures,
    index: usize,
    sig: &PdfSignature,
    n: usize,
    doc_ts: &[(usize, TimestampEvidence)],
) -> SignatureEvidence {
    let id = if sig.field_name.is_empty() {
        format!("S-{n}")
    } else {
        sig.field_name.clone()
    };
    let object = format!("signature {id}");
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut ev = SignatureEvidence {
        id: id.clone(),
        family: Family::PAdES,
        format: "PAdES".to_string(),
        integrity: Check::Passed,
        signer_cert: None,
        cert_ref: CertRef::Absent,
        certificates: Vec::new(),
        crls: Vec::new(),
        ocsps: Vec::new(),
        algorithms: Algorithms::default(),
        claimed_signing_time: sig.m,
        timestamps: Vec::new(),
        // Full: the signature covers a whole revision; later revisions are judged below
        // (only allowed changes keep the scope full).
        scope: Scope {
            full: sig.byte_range_check.passed() && sig.signed_revision.is_some(),
            description: scope_text(doc, sig),
        },
        errors: Vec::new(),
        warnings: Vec::new(),
        policy_id: None,
        notes: Vec::new(),
    };
    if let Check::Failed { reason, .. } = &sig.byte_range_check {
        errors.push(Finding::new("FC: ByteRange", &object, reason));
    }
    // Validation data from every DSS (any revision: it is unsigned data anyway).
    for d in &doc.dss {
        ev.certificates.extend(d.certs.iter().cloned());
        ev.crls.extend(d.crls.iter().cloned());
        ev.ocsps.extend(d.ocsps.iter().cloned());
    }
    let sd = match cms::parse_signed_data(&sig.contents) {
        Ok(sd) => sd,
        Err(e) => {
            ev.integrity = Check::Failed {
                sub: SubIndication::FormatFailure,
                reason: format!("the /Contents is not a CMS SignedData: {e}"),
            };
            ev.errors = errors;
            ev.format = "PAdES".to_string();
            return ev;
        }
    };
    if sd.signer_count() != 1 {
        errors.push(Finding::new(
            "FC: SignerInfo",
            &object,
            format!(
                "a PAdES signature must have exactly one SignerInfo, found {}",
                sd.signer_count()
            ),
        ));
    }
    let content = Content::Ranges {
        data: bytes,
        ranges: sig.ranges.clone(),
    };
    let check = sd.verify_signer(0, &content);
    ev.integrity = if sig.byte_range_check.passed() {
        check.integrity.clone()
    } else {
        match &check.integrity {
            Check::Passed => Check::Failed {
                sub: SubIndication::FormatFailure,
                reason: "the ByteRange does not cover the revision".to_string(),
            },
            f => f.clone(),
        }
    };
    ev.signer_cert = check.signer_cert.clone();
    ev.cert_ref = check.cert_ref;
    ev.algorithms = check.algorithms.clone();
    ev.certificates.extend(sd.certificates());
    ev.certificates.extend(check.extra_certs.iter().cloned());
    ev.crls.extend(sd.crls());
    ev.crls.extend(check.extra_crls.iter().cloned());
    ev.ocsps.extend(sd.ocsps());
    ev.ocsps.extend(check.extra_ocsps.iter().cloned());
    ev.policy_id = check.policy_id.clone();
    errors.extend(check.errors.iter().cloned());
    warnings.extend(check.warnings.iter().cloned());
    if check.signing_time.is_some() && ev.claimed_signing_time.is_none() {
        ev.claimed_signing_time = check.signing_time;
    }

    // Signature timestamps (over the signature value).
    for (k, tok) in check.signature_timestamps.iter().enumerate() {
        let value = check.signature_value.clone();
        ev.timestamps.push(tsp::check_timestamp(
            format!("{id}-TS-{}", k + 1),
            TimestampKind::Signature,
            tok,
            &move |alg| alg.digest(&value),
        ));
    }
    // Document timestamps in later revisions cover this signature.
    for (j, ts) in doc_ts {
        if *j != index
            && doc.signatures[*j].signed_revision > sig.signed_revision
            && sig.signed_revision.is_some()
        {
            ev.timestamps.push(ts.clone());
        }
    }

    // Modifications after the signed revision.
    let mut disallowed = 0;
    for m in &sig.modifications {
        if m.allowed {
            ev.notes
                .push(format!("revision {}: {}", m.revision, m.description));
        } else {
            disallowed += 1;
            warnings.push(Finding::new(
                "FC: modifications after signing",
                &object,
                format!("revision {}: {}", m.revision, m.description),
            ));
        }
    }
    if disallowed > 0 {
        ev.scope.full = false;
        ev.scope.description = format!(
            "{}; {} disallowed change(s) after signing",
            ev.scope.description, disallowed
        );
    }

    ev.format = level(sig, &check, &ev, doc);
    ev.errors = errors;
    ev.warnings = warnings;
    ev
}

fn scope_text(doc: &PdfSignatures, sig: &PdfSignature) -> String {
    let total = doc.revisions.len();
    match sig.signed_revision {
        Some(r) if sig.covers_whole_file => {
            format!("the whole document (revision {} of {total})", r + 1)
        }
        Some(r) => format!(
            "the whole document as signed (revision {} of {total}; later revisions are judged as modifications)",
            r + 1
        ),
        None => "no complete revision".to_string(),
    }
}

/// ETSI level name (EN 319 142-1 §6; legacy forms of EN 319 142-2 / TS 102 778).
fn level(
    sig: &PdfSignature,
    check: &cms::SignerCheck,
    ev: &SignatureEvidence,
    doc: &PdfSignatures,
) -> String {
    let has_signing_cert = ev.cert_ref != CertRef::Absent;
    let has_signing_time_attr = check.signed_attr_oids.contains(&OID_SIGNING_TIME);
    let has_policy = check.signed_attr_oids.contains(&OID_SIG_POLICY);
    let cades = sig.sub_filter == "ETSI.CAdES.detached";
    let has_t = !check.signature_timestamps.is_empty()
        || ev
            .timestamps
            .iter()
            .any(|t| t.kind == TimestampKind::Document);
    let sig_rev = sig.signed_revision.unwrap_or(usize::MAX);
    // B-LT: validation data added after the signature, covering the signing certificate
    // (EN 319 142-1 §6.4: revocation data of the signer, not just any DSS).
    let (mut dss_crls, mut dss_ocsps) = (Vec::new(), Vec::new());
    for d in doc.dss.iter().filter(|d| d.revision > sig_rev) {
        dss_crls.extend(d.crls.iter().cloned());
        dss_ocsps.extend(d.ocsps.iter().cloned());
    }
    // Only the DSS counts (revocation data inside the CMS, Adobe's
    // revocationInfoArchival, is the legacy PAdES-BES way and does not make B-LT).
    let signer_covered = ev
        .signer_cert
        .as_deref()
        .is_some_and(|c| super::revocation::data_covers(c, &dss_crls, &dss_ocsps));
    let has_lt = signer_covered
        && doc
            .dss
            .iter()
            .any(|d| d.revision > sig_rev && (!d.ocsps.is_empty() || !d.crls.is_empty()));
    // LTA: a document timestamp after the DSS carrying the validation data.
    let first_dss = doc
        .dss
        .iter()
        .filter(|d| d.revision > sig_rev && (!d.ocsps.is_empty() || !d.crls.is_empty()))
        .map(|d| d.revision)
        .min();
    let has_lta = first_dss.is_some_and(|dr| {
        doc.signatures.iter().any(|s| {
            s.kind == PdfSigKind::DocTimeStamp && s.signed_revision.is_some_and(|r| r >= dr)
        })
    });
    if !cades {
        let base = if has_signing_cert {
            "PAdES-BES"
        } else {
            "PKCS#7"
        };
        return match (base, has_lta, has_lt, has_t) {
            ("PKCS#7", true, _, _) => "PKCS#7-LTA",
            ("PKCS#7", _, true, true) => "PKCS#7-LT",
            ("PKCS#7", _, _, true) => "PKCS#7-T",
            ("PKCS#7", _, _, _) => "PKCS#7-B",
            _ => base,
        }
        .to_string();
    }
    if !has_signing_cert {
        return "PKCS#7-B".to_string();
    }
    if has_signing_time_attr || has_policy && !has_t {
        // The baseline profile forbids the signing-time attribute (EN 319 142-1 §6.3).
        return if has_policy {
            "PAdES-EPES"
        } else {
            "PAdES-BES"
        }
        .to_string();
    }
    match (has_lta, has_lt, has_t) {
        (true, true, true) => "PAdES-BASELINE-LTA",
        (_, true, true) => "PAdES-BASELINE-LT",
        (_, _, true) => "PAdES-BASELINE-T",
        _ => "PAdES-BASELINE-B",
    }
    .to_string()
}

fn timestamp_only_evidence(sig: &PdfSignature, ts: TimestampEvidence) -> SignatureEvidence {
    SignatureEvidence {
        id: sig.field_name.clone(),
        family: Family::PAdES,
        format: "PAdES-DOC-TIMESTAMP".to_string(),
        integrity: match (&ts.imprint, &ts.signature) {
            (Check::Passed, Check::Passed) => Check::Passed,
            (Check::Failed { .. }, _) => ts.imprint.clone(),
            (_, f) => f.clone(),
        },
        signer_cert: ts.tsa_cert.clone(),
        cert_ref: CertRef::Matches,
        certificates: ts.certificates.clone(),
        crls: ts.covered_crls.clone(),
        ocsps: ts.covered_ocsps.clone(),
        algorithms: ts.algorithms.clone(),
        claimed_signing_time: Some(ts.gen_time),
        timestamps: Vec::new(),
        scope: Scope {
            full: sig.covers_whole_file,
            description: "document timestamp".to_string(),
        },
        errors: Vec::new(),
        warnings: Vec::new(),
        policy_id: None,
        notes: Vec::new(),
    }
}
