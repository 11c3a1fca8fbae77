//! CAdES signature files (ETSI EN 319 122-1/-2): `.p7m` (enveloping, content
//! encapsulated) and `.p7s` (detached, the document handed separately), as DER, PEM or
//! base64.
//!
//! Owns: turning each `SignerInfo` into a [`SignatureEvidence`]: integrity and signer
//! (via `cms`), the timestamps over it (via `tsp`: signature-time-stamp over the
//! signature value, content-time-stamp over the content, archive-time-stamp-v3 over the
//! ATSHashIndexV3 imprint of EN 319 122-1 §5.5.3, and through [`legacy`] the ETSI
//! TS 101 733 CAdES-C-time-stamp, time-stamped-certs-crls-references and
//! archive-time-stamp v2/v1), the validation data it carries, its format level and its
//! scope.
//!
//! Levels: `CAdES-BASELINE-B/T/LT/LTA` (EN 319 122-1), `PKCS#7` (no signing-certificate
//! attribute), and the TS 101 733 forms, named structurally from the attributes present:
//! `CAdES-BES`, `CAdES-EPES`, `CAdES-T`, `CAdES-C` (complete-certificate- and
//! complete-revocation-references), `CAdES-X-Type-1` / `CAdES-X-Type-2` (C plus a
//! CAdES-C-time-stamp / a time-stamped-certs-crls-references; Type 1 when both),
//! `CAdES-X-Long` (C plus certificate-values and revocation-values),
//! `CAdES-X-Long-Type-1` / `CAdES-X-Long-Type-2`, and `CAdES-A` (an archive-time-stamp
//! v1, v2 or v3 on a signature that is not baseline).
//! Must not touch: chain building, revocation, trust, time or qualification decisions
//! (that is the EN 319 102-1 process), PDF (PAdES has its own module).

mod legacy;

use std::borrow::Cow;

use base64::Engine as _;

use super::cms::{self, CmsError, Content, ParsedSignedData, SignerCheck, oids, tlv};
use super::crypto::DigestAlg;
use super::evidence::{
    Check, Der, Family, Scope, SignatureEvidence, TimestampEvidence, TimestampKind,
};
use super::report::{Finding, SubIndication};
use super::tsp;

/// Why a file could not be read as CAdES at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CadesError {
    /// Not DER, PEM or base64 of a CMS structure.
    #[error("not a CMS signature (DER, PEM or base64 expected): {0}")]
    NotCms(String),
    /// The CMS structure is unreadable.
    #[error(transparent)]
    Cms(#[from] CmsError),
    /// `SignedData` without any `SignerInfo`.
    #[error("the SignedData has no signer")]
    NoSigners,
}

impl CadesError {
    /// The EN 319 102-1 sub-indication for this error.
    pub fn sub_indication(&self) -> SubIndication {
        SubIndication::FormatFailure
    }
}

/// Decodes DER, PEM (any label) or bare base64 into DER bytes.
pub fn decode_input(bytes: &[u8]) -> Result<Cow<'_, [u8]>, CadesError> {
    if bytes.len() > cms::MAX_CMS_SIZE.saturating_mul(2) {
        return Err(CmsError::TooLarge(bytes.len()).into());
    }
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let trimmed = bytes.get(start..).unwrap_or_default();
    if trimmed.first() == Some(&0x30) {
        return Ok(Cow::Borrowed(bytes));
    }
    let text = if let Some(b) = find(trimmed, b"-----BEGIN") {
        let after = trimmed.get(b..).unwrap_or_default();
        let body_start = after
            .iter()
            .position(|&c| c == b'\n')
            .map(|p| p + 1)
            .ok_or_else(|| CadesError::NotCms("PEM header without body".into()))?;
        let body = after.get(body_start..).unwrap_or_default();
        let end = find(body, b"-----END")
            .ok_or_else(|| CadesError::NotCms("PEM without END line".into()))?;
        body.get(..end).unwrap_or_default()
    } else {
        trimmed
    };
    let clean: Vec<u8> = text
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if clean.is_empty() {
        return Err(CadesError::NotCms("empty input".into()));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&clean)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&clean))
        .map_err(|e| CadesError::NotCms(format!("base64: {e}")))?;
    if decoded.first() != Some(&0x30) {
        return Err(CadesError::NotCms(
            "decoded data is not an ASN.1 SEQUENCE".into(),
        ));
    }
    Ok(Cow::Owned(decoded))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads a CAdES file: one [`SignatureEvidence`] per `SignerInfo` (ids `S-1`, `S-2`, …;
/// timestamps `TS-1`, … across the file). `detached` is the document of a detached
/// (`.p7s`) signature.
pub fn read_cades(
    bytes: &[u8],
    detached: Option<&[u8]>,
) -> Result<Vec<SignatureEvidence>, CadesError> {
    let der = decode_input(bytes)?;
    let sd = cms::parse_signed_data(&der)?;
    if sd.signer_count() == 0 {
        return Err(CadesError::NoSigners);
    }
    let econtent = sd.econtent();
    let content = match (econtent, detached) {
        (Some(_), _) => Some(Content::Attached),
        (None, Some(d)) => Some(Content::Bytes(d)),
        (None, None) => None,
    };
    let mut ts_counter = 0usize;
    let mut out = Vec::with_capacity(sd.signer_count());
    for i in 0..sd.signer_count() {
        out.push(one_signature(
            &sd,
            i,
            content.as_ref(),
            detached,
            &mut ts_counter,
        ));
    }
    Ok(out)
}

fn push_unique(v: &mut Vec<Der>, items: impl IntoIterator<Item = Der>) {
    for i in items {
        if !v.contains(&i) {
            v.push(i);
        }
    }
}

fn one_signature(
    sd: &ParsedSignedData,
    index: usize,
    content: Option<&Content<'_>>,
    detached: Option<&[u8]>,
    ts_counter: &mut usize,
) -> SignatureEvidence {
    let id = format!("S-{}", index + 1);
    let econtent = sd.econtent();
    let check = match content {
        Some(c) => sd.verify_signer(index, c),
        None => sd.verify_signer(index, &Content::Attached),
    };
    let errors = check.errors.clone();
    let mut warnings = check.warnings.clone();
    let mut integrity = check.integrity.clone();
    if content.is_none() {
        let reason = "detached signature: the signed document was not provided".to_string();
        // Not a format error: the process reports it as INDETERMINATE/SIGNED_DATA_NOT_FOUND.
        integrity = Check::Failed {
            sub: SubIndication::SignedDataNotFound,
            reason,
        };
    } else if econtent.is_some() && detached.is_some() {
        warnings.push(Finding::new(
            "FC: content",
            id.clone(),
            "the content is encapsulated; the detached document given was ignored",
        ));
    }

    let mut next_id = || {
        *ts_counter += 1;
        format!("TS-{ts_counter}")
    };
    let mut timestamps: Vec<TimestampEvidence> = Vec::new();
    let content_digest = |alg: DigestAlg| -> Option<Vec<u8>> { content?.digest(alg, econtent) };
    for tok in &check.content_timestamps {
        let mut ts = tsp::check_timestamp(next_id(), TimestampKind::Content, tok, &|alg| {
            content_digest(alg).unwrap_or_default()
        });
        if content.is_none() && !ts.imprint.passed() {
            ts.imprint = Check::Failed {
                sub: SubIndication::SignedDataNotFound,
                reason: "the time-stamped content was not provided".into(),
            };
        }
        timestamps.push(ts);
    }
    for tok in &check.signature_timestamps {
        let sv = &check.signature_value;
        timestamps.push(tsp::check_timestamp(
            next_id(),
            TimestampKind::Signature,
            tok,
            &|alg| alg.digest(sv),
        ));
    }
    if let Some(si) = sd.signer(index) {
        // CAdES-X timestamps, then archive timestamps, each in encoded order; at most
        // MAX_LEGACY_TIMESTAMPS of the legacy kinds.
        let mut legacy_budget = legacy::MAX_LEGACY_TIMESTAMPS;
        let mut skipped = 0usize;
        let mut take = |n: &mut usize| {
            if legacy_budget == 0 {
                *n += 1;
                false
            } else {
                legacy_budget -= 1;
                true
            }
        };
        for a in &si.unsigned_attrs {
            let ty = match a.oid {
                oids::ESC_TIMESTAMP => legacy::XType::SigAndRefs,
                oids::CERT_CRL_TIMESTAMP => legacy::XType::RefsOnly,
                _ => continue,
            };
            for tok in &a.values {
                if take(&mut skipped) {
                    let ts = legacy::x_timestamp(next_id(), si, tok, ty, &id, &mut warnings);
                    timestamps.push(ts);
                }
            }
        }
        let times = legacy::archive_times(si);
        for (ai, a) in si.unsigned_attrs.iter().enumerate() {
            let version = match a.oid {
                oids::ARCHIVE_TIMESTAMP_V3 => None,
                oids::ARCHIVE_TIMESTAMP_V2 => Some(legacy::ArchiveVersion::V2),
                oids::ARCHIVE_TIMESTAMP_V1 => Some(legacy::ArchiveVersion::V1),
                _ => continue,
            };
            for tok in &a.values {
                let ts = match version {
                    None => archive_v3(next_id(), sd, si, tok, content, &id),
                    Some(v) if take(&mut skipped) => {
                        legacy::archive(next_id(), sd, si, &times, ai, tok, content, v, &id)
                    }
                    Some(_) => continue,
                };
                timestamps.push(ts);
            }
        }
        if skipped > 0 {
            warnings.push(Finding::new(
                "FC: legacy timestamps",
                format!("signature {id}"),
                format!(
                    "{skipped} CAdES-X / archive-time-stamp v1/v2 tokens beyond the first {} \
                     were not checked and give no proof of existence",
                    legacy::MAX_LEGACY_TIMESTAMPS
                ),
            ));
        }
    }

    let mut certificates = sd.certificates();
    push_unique(&mut certificates, check.extra_certs.iter().cloned());
    for t in &timestamps {
        push_unique(&mut certificates, t.certificates.iter().cloned());
    }
    let mut crls = sd.crls();
    push_unique(&mut crls, check.extra_crls.iter().cloned());
    let mut ocsps = sd.ocsps();
    push_unique(&mut ocsps, check.extra_ocsps.iter().cloned());
    let mut notes = Vec::new();
    if let Some(si) = sd.signer(index) {
        let (w, n) = legacy::check_references(si, &certificates, &crls, &ocsps, &id);
        warnings.extend(w);
        notes.extend(n);
    }

    let format = format_level(&check, sd);
    let scope = match (econtent, content) {
        (Some(e), _) => Scope {
            full: true,
            description: format!("the encapsulated content, {} bytes", e.len()),
        },
        (None, Some(c)) => Scope {
            full: true,
            description: format!(
                "detached document, {} bytes",
                c.len(None).unwrap_or_default()
            ),
        },
        (None, None) => Scope {
            full: false,
            description: "detached document (not provided)".into(),
        },
    };
    if let Some(si) = sd.signer(index) {
        for a in si.signed(&oids::COMMITMENT_TYPE) {
            for v in &a.values {
                if let Some(o) = tlv::read(v, 0)
                    .ok()
                    .and_then(|(t, _)| t.reader().next().ok().flatten())
                    .and_then(|t| t.oid().ok())
                {
                    notes.push(format!("commitment type {o}"));
                }
            }
        }
        if si.signed(&oids::SIGNER_LOCATION).next().is_some() {
            notes.push("signer location given".into());
        }
        if si.signed(&oids::SIGNER_ATTRIBUTES).next().is_some() {
            notes.push("claimed signer attributes given".into());
        }
    }

    SignatureEvidence {
        id,
        family: Family::CAdES,
        format,
        integrity,
        signer_cert: check.signer_cert.clone(),
        cert_ref: check.cert_ref,
        certificates,
        crls,
        ocsps,
        algorithms: check.algorithms.clone(),
        claimed_signing_time: check.signing_time,
        timestamps,
        scope,
        errors,
        warnings,
        policy_id: check.policy_id.clone(),
        notes,
    }
}

/// The ETSI format name the attributes justify.
fn format_level(check: &SignerCheck, sd: &ParsedSignedData) -> String {
    let has_s = |o| check.signed_attr_oids.contains(&o);
    let has_u = |o| check.unsigned_attr_oids.contains(&o);
    let signing_cert = has_s(oids::SIGNING_CERTIFICATE) || has_s(oids::SIGNING_CERTIFICATE_V2);
    if !signing_cert {
        return "PKCS#7".into();
    }
    let sig_ts = !check.signature_timestamps.is_empty();
    let values = has_u(oids::CERT_VALUES) && has_u(oids::REVOCATION_VALUES);
    let in_signed_data = !sd.certificates().is_empty()
        && (!sd.crls().is_empty() || !sd.ocsps().is_empty() || !check.extra_ocsps.is_empty());
    let ats_v3 = has_u(oids::ARCHIVE_TIMESTAMP_V3);
    let ats_legacy = has_u(oids::ARCHIVE_TIMESTAMP_V2) || has_u(oids::ARCHIVE_TIMESTAMP_V1);
    let type1 = has_u(oids::ESC_TIMESTAMP);
    let type2 = has_u(oids::CERT_CRL_TIMESTAMP);
    let baseline_b = has_s(oids::CONTENT_TYPE)
        && has_s(oids::MESSAGE_DIGEST)
        && has_s(oids::SIGNING_TIME)
        && !has_u(oids::COMPLETE_CERT_REFS)
        && !has_u(oids::COMPLETE_REVOCATION_REFS)
        && !type1
        && !type2
        && !ats_legacy;
    if baseline_b {
        let level = if sig_ts && (values || in_signed_data) && ats_v3 {
            "LTA"
        } else if sig_ts && (values || in_signed_data) {
            "LT"
        } else if sig_ts {
            "T"
        } else {
            "B"
        };
        return format!("CAdES-BASELINE-{level}");
    }
    let refs = has_u(oids::COMPLETE_CERT_REFS) && has_u(oids::COMPLETE_REVOCATION_REFS);
    let name = if ats_v3 || ats_legacy {
        "CAdES-A"
    } else if refs && values && type1 {
        "CAdES-X-Long-Type-1"
    } else if refs && values && type2 {
        "CAdES-X-Long-Type-2"
    } else if refs && values {
        "CAdES-X-Long"
    } else if refs && type1 {
        "CAdES-X-Type-1"
    } else if refs && type2 {
        "CAdES-X-Type-2"
    } else if refs {
        "CAdES-C"
    } else if sig_ts {
        "CAdES-T"
    } else if check.policy_id.is_some() || has_s(oids::SIG_POLICY_ID) {
        "CAdES-EPES"
    } else {
        "CAdES-BES"
    };
    name.into()
}

/// ATSHashIndexV3 (EN 319 122-1 §5.5.2), with its original encoding; or its
/// predecessors ATSHashIndex (ETSI TS 101 733 V2.2.1 §6.4.2) and ATSHashIndexV2
/// (EN 319 122-1 V1.0.0), which have the same shape but hash each unsigned attribute
/// whole.
struct AtsHashIndex {
    /// `ats-hash-index-v3`: unsigned attributes may be hashed per value
    /// (`attrType ‖ AttributeValue`).
    v3: bool,
    alg: Option<DigestAlg>,
    raw_value: Der,
    certs: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
    attrs: Vec<Vec<u8>>,
}

fn read_ats_hash_index(token_sd: &ParsedSignedData) -> Result<AtsHashIndex, String> {
    let si = token_sd
        .signer(0)
        .ok_or_else(|| "the archive time-stamp token has no signer".to_string())?;
    let (attr, v3) = [
        (oids::ATS_HASH_INDEX_V3, true),
        (oids::ATS_HASH_INDEX_V2, false),
        (oids::ATS_HASH_INDEX, false),
    ]
    .into_iter()
    .find_map(|(o, v3)| si.unsigned(&o).next().map(|a| (a, v3)))
    .ok_or_else(|| {
        "the archive-time-stamp-v3 token has no ats-hash-index-v3 attribute (nor the older \
         ats-hash-index-v2 or TS 101 733 ats-hash-index)"
            .to_string()
    })?;
    let value = attr
        .values
        .first()
        .ok_or_else(|| "empty ats-hash-index attribute".to_string())?;
    let (t, _) = tlv::read(value, 0).map_err(|e| e.0)?;
    let kids = t.children().map_err(|e| e.0)?;
    let mut it = kids.iter().peekable();
    let mut alg = Some(DigestAlg::Sha256);
    if let Some(first) = it.peek()
        && let Ok(Some(o)) = first.reader().next()
        && o.tag == tlv::tag::OID
    {
        let oid = o.oid().map_err(|e| e.0)?;
        alg = DigestAlg::from_oid(&oid);
        it.next();
    }
    let mut lists = Vec::new();
    for l in it {
        let mut hashes = Vec::new();
        for h in l.children().map_err(|e| e.0)? {
            hashes.push(h.octets().map_err(|e| e.0)?.into_owned());
        }
        lists.push(hashes);
    }
    if lists.len() != 3 {
        return Err(format!(
            "ats-hash-index-v3 has {} hash lists, not 3",
            lists.len()
        ));
    }
    let attrs = lists.pop().unwrap_or_default();
    let crls = lists.pop().unwrap_or_default();
    let certs = lists.pop().unwrap_or_default();
    Ok(AtsHashIndex {
        v3,
        alg,
        raw_value: value.clone(),
        certs,
        crls,
        attrs,
    })
}

/// archive-time-stamp-v3: imprint = H(eContentType ‖ H(content) ‖ version ‖ sid ‖
/// digestAlgorithm ‖ signedAttrs ‖ signatureAlgorithm ‖ signature ‖ ATSHashIndexV3), each
/// as encoded; every hash in the index must still name data present in the signature.
fn archive_v3(
    ts_id: String,
    sd: &ParsedSignedData,
    si: &cms::SignerInfo,
    token: &[u8],
    content: Option<&Content<'_>>,
    sig_id: &str,
) -> TimestampEvidence {
    let index = tsp::parse_token(token)
        .map_err(|e| e.to_string())
        .and_then(|(tsd, _)| read_ats_hash_index(&tsd));
    let econtent = sd.econtent();
    let imprint_input = |alg: DigestAlg| -> Option<Vec<u8>> {
        let idx = index.as_ref().ok()?;
        let content_hash = content?.digest(alg, econtent)?;
        let mut h = alg.hasher();
        h.update(sd.econtent_type_raw());
        h.update(&content_hash);
        h.update(&si.signed_fields_raw);
        h.update(&idx.raw_value);
        Some(h.finish())
    };
    let mut ts = tsp::check_timestamp(ts_id, TimestampKind::Archive, token, &|alg| {
        imprint_input(alg).unwrap_or_default()
    });
    let idx = match index {
        Ok(i) => i,
        Err(reason) => {
            if ts.imprint.passed() {
                // Cannot happen (no index means no imprint input), but never pass blind.
                ts.imprint = Check::Failed {
                    sub: SubIndication::FormatFailure,
                    reason: reason.clone(),
                };
            } else {
                ts.imprint = Check::Failed {
                    sub: SubIndication::FormatFailure,
                    reason,
                };
            }
            return ts;
        }
    };
    if content.is_none() && !ts.imprint.passed() {
        ts.imprint = Check::Failed {
            sub: SubIndication::SignedDataNotFound,
            reason: format!("{sig_id}: the signed content is needed for the archive imprint"),
        };
        return ts;
    }
    let Some(alg) = idx.alg else {
        ts.imprint = Check::Failed {
            sub: SubIndication::FormatFailure,
            reason: "ats-hash-index-v3 uses an unsupported hash algorithm".into(),
        };
        return ts;
    };
    // Index entries: every hash must match present data; what matches is covered.
    let mut missing = 0usize;
    for h in &idx.certs {
        match sd
            .certificate_choices()
            .iter()
            .find(|c| alg.digest(c) == *h)
        {
            Some(c) if c.first() == Some(&tlv::tag::SEQUENCE) => {
                ts.covered_certificates.push(c.clone())
            }
            Some(_) => {}
            None => missing += 1,
        }
    }
    let ocsps_of = |choice: &[u8]| -> Option<Der> {
        let (t, _) = tlv::read(choice, 0).ok()?;
        if t.tag != tlv::tag::ctx(1) {
            return None;
        }
        let mut r = t.reader();
        (r.next().ok()??.oid().ok()? == oids::RI_OCSP_RESPONSE)
            .then(|| r.next().ok().flatten().map(|v| v.raw.to_vec()))?
    };
    for h in &idx.crls {
        match sd.revocation_choices().iter().find(|c| alg.digest(c) == *h) {
            Some(c) if c.first() == Some(&tlv::tag::SEQUENCE) => ts.covered_crls.push(c.clone()),
            Some(c) => ts.covered_ocsps.extend(ocsps_of(c)),
            None => missing += 1,
        }
    }
    for h in &idx.attrs {
        let found = si.unsigned_attrs.iter().find_map(|a| {
            if alg.digest(&a.raw) == *h {
                return Some((a, None));
            }
            if !idx.v3 {
                return None;
            }
            a.values.iter().find_map(|v| {
                let mut hh = alg.hasher();
                hh.update(&a.oid_raw);
                hh.update(v);
                (hh.finish() == *h).then_some((a, Some(v)))
            })
        });
        match found {
            Some((a, v)) => {
                let vals: Vec<&Der> = match v {
                    Some(v) => vec![v],
                    None => a.values.iter().collect(),
                };
                for v in vals {
                    if a.oid == oids::CERT_VALUES {
                        if let Ok(kids) = tlv::read(v, 0).and_then(|(t, _)| t.children()) {
                            ts.covered_certificates
                                .extend(kids.iter().map(|k| k.raw.to_vec()));
                        }
                    } else if a.oid == oids::REVOCATION_VALUES
                        && let Ok((t, _)) = tlv::read(v, 0)
                    {
                        for f in t.children().unwrap_or_default() {
                            let seq = f.reader().next().ok().flatten();
                            let items: Vec<Der> = seq
                                .and_then(|s| s.children().ok())
                                .unwrap_or_default()
                                .iter()
                                .map(|k| k.raw.to_vec())
                                .collect();
                            if f.tag == tlv::tag::ctx(0) {
                                ts.covered_crls.extend(items);
                            } else if f.tag == tlv::tag::ctx(1) {
                                ts.covered_ocsps.extend(items);
                            }
                        }
                    }
                }
            }
            None => missing += 1,
        }
    }
    if missing > 0 && ts.imprint.passed() {
        ts.imprint = Check::Failed {
            sub: SubIndication::HashFailure,
            reason: format!(
                "{missing} entries of the ats-hash-index-v3 name certificates, revocation data or \
                 unsigned attributes that are no longer in the signature"
            ),
        };
    }
    ts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::cms::test_support::{
        self, data, openssl, openssl_token, openssl_token_for_digest, test_tsa,
    };
    use crate::validation::cms::tlv::Tlv;
    use crate::validation::evidence::CertRef;

    /// Rebuilds a `ContentInfo` with `SignedData` fields mapped by `f` (which gets the
    /// fields and returns their new encodings).
    fn rebuild(der: &[u8], f: impl Fn(Vec<Tlv<'_>>) -> Vec<Vec<u8>>) -> Vec<u8> {
        let t = test_support::tlv;
        let ci = tlv::read_top(der).unwrap();
        let k = ci.children().unwrap();
        let sd = k[1].children().unwrap()[0];
        let fields = f(sd.children().unwrap()).concat();
        t(0x30, &[k[0].raw, &t(0xa0, &t(0x30, &fields))].concat())
    }

    fn detach(der: &[u8]) -> Vec<u8> {
        rebuild(der, |f| {
            let eci = f[2].children().unwrap();
            let mut out: Vec<Vec<u8>> = f.iter().map(|x| x.raw.to_vec()).collect();
            out[2] = test_support::tlv(0x30, eci[0].raw);
            out
        })
    }

    /// Appends an unsigned attribute to the first SignerInfo.
    pub(super) fn add_unsigned(der: &[u8], oid: &ObjectIdentifierBytes, value: &[u8]) -> Vec<u8> {
        let t = test_support::tlv;
        let attr = t(0x30, &[&oid.0[..], &t(0x31, value)].concat());
        rebuild(der, |f| {
            let mut out: Vec<Vec<u8>> = f.iter().map(|x| x.raw.to_vec()).collect();
            let sis = f.last().unwrap().children().unwrap();
            let si = sis[0].children().unwrap();
            let mut parts: Vec<Vec<u8>> = si.iter().map(|x| x.raw.to_vec()).collect();
            match si.last().filter(|x| x.tag == 0xa1) {
                Some(ua) => {
                    let n = parts.len() - 1;
                    parts[n] = t(0xa1, &[ua.body, &attr].concat());
                }
                None => parts.push(t(0xa1, &attr)),
            }
            let n = out.len() - 1;
            out[n] = t(0x31, &t(0x30, &parts.concat()));
            out
        })
    }

    pub(super) struct ObjectIdentifierBytes(pub(super) Vec<u8>);
    pub(super) fn oid_tlv(o: const_oid::ObjectIdentifier) -> ObjectIdentifierBytes {
        ObjectIdentifierBytes(test_support::tlv(0x06, o.as_bytes()))
    }

    #[test]
    fn dss_cades_b_p7m() {
        let ev = read_cades(&data("cades/dss/signedCadesB.p7m"), None).unwrap();
        assert_eq!(ev.len(), 1);
        let s = &ev[0];
        assert_eq!(s.id, "S-1");
        assert_eq!(s.family, Family::CAdES);
        // content-type, message-digest, signing-certificate-v2 and signing-time are
        // signed, no timestamp: BASELINE-B.
        assert_eq!(s.format, "CAdES-BASELINE-B");
        assert_eq!(s.integrity, Check::Passed);
        assert!(s.signer_cert.is_some());
        assert_eq!(s.cert_ref, CertRef::Matches);
        assert_eq!(s.certificates.len(), 1);
        assert!(s.timestamps.is_empty());
        assert_eq!(
            s.scope,
            Scope {
                full: true,
                description: "the encapsulated content, 24 bytes".into()
            }
        );
        assert!(s.claimed_signing_time.is_some());
        assert!(s.errors.is_empty());
    }

    #[test]
    fn pem_and_base64_inputs() {
        let der = data("cades/dss/signedCadesB.p7m");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let wrapped: String = b64
            .as_bytes()
            .chunks(64)
            .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
            .collect();
        let pem = format!("-----BEGIN PKCS7-----\n{wrapped}-----END PKCS7-----\n");
        for input in [pem.as_bytes(), wrapped.as_bytes(), b64.as_bytes()] {
            let ev = read_cades(input, None).unwrap();
            assert_eq!(ev[0].integrity, Check::Passed);
        }
        assert!(matches!(
            read_cades(b"hello world", None),
            Err(CadesError::NotCms(_))
        ));
        assert!(matches!(read_cades(b"", None), Err(CadesError::NotCms(_))));
        assert!(matches!(
            read_cades(b"\x30\x00", None),
            Err(CadesError::Cms(_))
        ));
        assert!(read_cades(&der[..der.len() / 2], None).is_err());
    }

    #[test]
    fn detached_signature_needs_its_document() {
        let p7s = detach(&data("cades/dss/signedCadesB.p7m"));
        let ev = read_cades(&p7s, None).unwrap();
        assert!(matches!(
            ev[0].integrity,
            Check::Failed {
                sub: SubIndication::SignedDataNotFound,
                ..
            }
        ));
        assert!(!ev[0].scope.full);
        assert!(ev[0].errors.is_empty(), "not a format error");
        let ev = read_cades(&p7s, Some(b"Sample txt file to sign.")).unwrap();
        assert_eq!(ev[0].integrity, Check::Passed);
        assert_eq!(ev[0].scope.description, "detached document, 24 bytes");
        let ev = read_cades(&p7s, Some(b"Sample txt file to sign!")).unwrap();
        assert!(matches!(
            ev[0].integrity,
            Check::Failed {
                sub: SubIndication::HashFailure,
                ..
            }
        ));
    }

    /// An independent CAdES from `openssl cms -sign -cades`, raised to T with a token from
    /// `openssl ts` over its signature value.
    #[test]
    fn openssl_cades_detached_b_and_t() {
        let Some((_keep, d)) = test_tsa(false) else {
            eprintln!("openssl not installed: skipped");
            return;
        };
        let doc = b"contract text\n";
        std::fs::write(d.join("doc.txt"), doc).unwrap();
        openssl(
            &d,
            &[
                "req",
                "-x509",
                "-nodes",
                "-days",
                "2",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
                "-keyout",
                "s.key",
                "-out",
                "s.pem",
                "-subj",
                "/CN=Signer",
            ],
        )
        .unwrap();
        openssl(
            &d,
            &[
                "cms", "-sign", "-cades", "-binary", "-md", "sha384", "-in", "doc.txt", "-signer",
                "s.pem", "-inkey", "s.key", "-outform", "DER", "-out", "sig.p7s",
            ],
        )
        .unwrap();
        let p7s = std::fs::read(d.join("sig.p7s")).unwrap();
        let ev = read_cades(&p7s, Some(doc)).unwrap();
        assert_eq!(ev[0].integrity, Check::Passed, "{:?}", ev[0].errors);
        assert_eq!(ev[0].format, "CAdES-BASELINE-B");
        assert_eq!(ev[0].cert_ref, CertRef::Matches);
        assert_eq!(ev[0].algorithms.signature.as_deref(), Some("ECDSA"));
        assert_eq!(ev[0].algorithms.key_bits, Some(384));

        // signature-time-stamp over the signature value octets.
        let sd = cms::parse_signed_data(&p7s).unwrap();
        let sv = sd.signer(0).unwrap().signature.clone();
        let token = openssl_token(&d, &sv).unwrap();
        let t_level = add_unsigned(&p7s, &oid_tlv(oids::SIGNATURE_TIMESTAMP), &token);
        let ev = read_cades(&t_level, Some(doc)).unwrap();
        assert_eq!(ev[0].integrity, Check::Passed);
        assert_eq!(ev[0].format, "CAdES-BASELINE-T");
        assert_eq!(ev[0].timestamps.len(), 1);
        assert_eq!(ev[0].timestamps[0].id, "TS-1");
        assert_eq!(ev[0].timestamps[0].kind, TimestampKind::Signature);
        assert_eq!(ev[0].timestamps[0].imprint, Check::Passed);
        assert_eq!(ev[0].timestamps[0].signature, Check::Passed);
        assert!(ev[0].certificates.len() >= 2, "signer and TSA certificates");

        // A token over something else is reported, not trusted.
        let other = openssl_token(&d, b"something else").unwrap();
        let bad = add_unsigned(&p7s, &oid_tlv(oids::SIGNATURE_TIMESTAMP), &other);
        let ev = read_cades(&bad, Some(doc)).unwrap();
        assert!(matches!(
            ev[0].timestamps[0].imprint,
            Check::Failed {
                sub: SubIndication::HashFailure,
                ..
            }
        ));

        // Without signing-certificate attribute: plain PKCS#7.
        openssl(
            &d,
            &[
                "cms",
                "-sign",
                "-binary",
                "-in",
                "doc.txt",
                "-signer",
                "s.pem",
                "-inkey",
                "s.key",
                "-outform",
                "DER",
                "-out",
                "plain.p7s",
            ],
        )
        .unwrap();
        let plain = std::fs::read(d.join("plain.p7s")).unwrap();
        let ev = read_cades(&plain, Some(doc)).unwrap();
        assert_eq!(ev[0].integrity, Check::Passed);
        assert_eq!(ev[0].format, "PKCS#7");
        assert_eq!(ev[0].cert_ref, CertRef::Absent);
    }

    /// Brainpool keys (DER ECDSA, SHA-384/512) from `openssl cms`.
    #[test]
    fn openssl_cades_brainpool() {
        let Some((_keep, d)) = test_tsa(false) else {
            return;
        };
        let doc = b"brainpool\n";
        std::fs::write(d.join("doc.txt"), doc).unwrap();
        for (curve, md, bits) in [
            ("brainpoolP256r1", "sha256", 256),
            ("brainpoolP384r1", "sha384", 384),
            ("brainpoolP512r1", "sha512", 512),
        ] {
            let pk = format!("ec_paramgen_curve:{curve}");
            openssl(
                &d,
                &[
                    "req",
                    "-x509",
                    "-nodes",
                    "-days",
                    "2",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    &pk,
                    "-keyout",
                    "b.key",
                    "-out",
                    "b.pem",
                    "-subj",
                    "/CN=Brainpool",
                ],
            )
            .unwrap();
            openssl(
                &d,
                &[
                    "cms", "-sign", "-cades", "-binary", "-md", md, "-in", "doc.txt", "-signer",
                    "b.pem", "-inkey", "b.key", "-outform", "DER", "-out", "b.p7s",
                ],
            )
            .unwrap();
            let p7s = std::fs::read(d.join("b.p7s")).unwrap();
            let ev = read_cades(&p7s, Some(doc)).unwrap();
            assert_eq!(ev[0].integrity, Check::Passed, "{curve}");
            assert_eq!(ev[0].algorithms.key_bits, Some(bits));
            let ev = read_cades(&p7s, Some(b"brainpool!\n")).unwrap();
            assert!(!ev[0].integrity.passed());
        }
    }

    /// archive-time-stamp-v3 built here per EN 319 122-1 §5.5.2/§5.5.3 (so this checks
    /// the plumbing and index bookkeeping against our reading of the standard, not
    /// against another implementation), with a token from `openssl ts`.
    #[test]
    fn archive_timestamp_v3_imprint_and_index() {
        let Some((_keep, d)) = test_tsa(false) else {
            return;
        };
        let t = test_support::tlv;
        let der = data("cades/dss/signedCadesB.p7m");
        let sd = cms::parse_signed_data(&der).unwrap();
        let cert = sd.certificate_choices()[0].clone();
        let si = sd.signer(0).unwrap();
        let make = |cert_hashes: &[Vec<u8>]| -> Vec<u8> {
            let certs: Vec<u8> = cert_hashes.iter().flat_map(|h| t(0x04, h)).collect();
            let index = t(
                0x30,
                &[t(0x30, &certs), t(0x30, &[]), t(0x30, &[])].concat(),
            );
            let mut h = DigestAlg::Sha256.hasher();
            h.update(sd.econtent_type_raw());
            h.update(&DigestAlg::Sha256.digest(sd.econtent().unwrap()));
            h.update(&si.signed_fields_raw);
            h.update(&index);
            let token = openssl_token_for_digest(&d, &h.finish()).unwrap();
            let token = add_unsigned(&token, &oid_tlv(oids::ATS_HASH_INDEX_V3), &index);
            add_unsigned(&der, &oid_tlv(oids::ARCHIVE_TIMESTAMP_V3), &token)
        };
        let good = make(&[DigestAlg::Sha256.digest(&cert)]);
        let ev = read_cades(&good, None).unwrap();
        let ts = &ev[0].timestamps[0];
        assert_eq!(ts.kind, TimestampKind::Archive);
        assert_eq!(ts.imprint, Check::Passed);
        assert_eq!(ts.signature, Check::Passed);
        assert_eq!(ts.covered_certificates, vec![cert.clone()]);
        // The archived signature changed afterwards (signed attributes are the same,
        // but the content is different): the imprint no longer matches.
        let at = good.windows(6).position(|w| w == b"Sample").unwrap();
        let mut changed = good.clone();
        changed[at] ^= 1;
        let ev = read_cades(&changed, None).unwrap();
        assert!(!ev[0].timestamps[0].imprint.passed());
        // The index names a certificate that is not (any more) in the SignedData.
        let gone = make(&[
            DigestAlg::Sha256.digest(&cert),
            DigestAlg::Sha256.digest(b"x"),
        ]);
        let ev = read_cades(&gone, None).unwrap();
        assert!(matches!(
            &ev[0].timestamps[0].imprint,
            Check::Failed { sub: SubIndication::HashFailure, reason } if reason.contains("no longer")
        ));
    }

    #[test]
    fn archive_timestamp_v3_without_index_is_not_passed() {
        // An archive-time-stamp-v3 attribute holding a plain token (no
        // ats-hash-index-v3): the imprint cannot be checked and must not pass.
        let Some((_keep, d)) = test_tsa(false) else {
            return;
        };
        let der = data("cades/dss/signedCadesB.p7m");
        let token = openssl_token(&d, b"x").unwrap();
        let a = add_unsigned(&der, &oid_tlv(oids::ARCHIVE_TIMESTAMP_V3), &token);
        let ev = read_cades(&a, None).unwrap();
        assert_eq!(ev[0].integrity, Check::Passed);
        assert_eq!(ev[0].timestamps[0].kind, TimestampKind::Archive);
        assert!(matches!(
            &ev[0].timestamps[0].imprint,
            Check::Failed { sub: SubIndication::FormatFailure, reason } if reason.contains("ats-hash-index-v3")
        ));
    }
}
