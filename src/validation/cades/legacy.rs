//! The long-term forms of ETSI TS 101 733 (CAdES before EN 319 122): CAdES-C, CAdES-X
//! Type 1/2, CAdES-X Long and CAdES-A with archive-time-stamp v2/v1.
//!
//! Owns: the message-imprint input of the legacy timestamps over one `SignerInfo`:
//! - `CAdES-C-time-stamp` (id-aa-25, TS 101 733 §6.3.5, EN 319 122-1 A.1.5.2): the
//!   signature value octets, then `attrType ‖ attrValues` (the attribute without its
//!   outer SEQUENCE header) of each signature-time-stamp, complete-certificate-references
//!   and complete-revocation-references attribute;
//! - `time-stamped-certs-crls-references` (id-aa-26, §6.3.6, EN 319 122-1 A.1.5.1): the
//!   two reference attributes the same way;
//! - `archive-time-stamp` v2 (id-aa-48, §6.4.1 and Annex K) and v1 (id-aa-27, which
//!   TS 101 733 V1.5.1–V1.6.3 defined compatibly for encapsulated content):
//!   `encapContentInfo ‖ [detached content] ‖ certificates ‖ crls ‖ version ‖ sid ‖
//!   digestAlgorithm ‖ signedAttrs ‖ signatureAlgorithm ‖ signature ‖ unsignedAttrs`,
//!   each as encoded, where `unsignedAttrs` holds every unsigned attribute present when
//!   the timestamp was taken (archive timestamps of the same or a later `genTime`
//!   excluded); with its `[1]` tag and length (TS 101 733 V2.2.1) or without them
//!   (V1.8.3), both tried as Annex K Note 3 recommends;
//! - the validation data an archive timestamp v2/v1 protects, and reading the
//!   complete-certificate-references / complete-revocation-references attributes and
//!   resolving them against the certificates, CRLs and OCSP responses the signature
//!   carries.
//!
//! Must not touch: the TSTInfo and token signature (`tsp`), the modern EN 319 122
//! attributes (the parent module), chain, revocation, trust or time decisions.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use super::super::cms::{self, Content, ParsedSignedData, SignerInfo, oids, tlv};
use super::super::crypto::{DigestAlg, Hasher};
use super::super::evidence::{Check, Der, TimestampEvidence, TimestampKind};
use super::super::report::{Finding, SubIndication};
use super::super::tsp;

/// Legacy timestamps (CAdES-X and archive v1/v2) checked per signer; each archive
/// timestamp hashes everything before it, so a crafted file with thousands of them would
/// cost quadratic time. Real signatures have a handful.
pub(super) const MAX_LEGACY_TIMESTAMPS: usize = 64;

/// Which legacy archive timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ArchiveVersion {
    /// `id-aa-ets-archiveTimestampV2` (1.2.840.113549.1.9.16.2.48).
    V2,
    /// `id-aa-ets-archiveTimeStamp` (1.2.840.113549.1.9.16.2.27).
    V1,
}

impl ArchiveVersion {
    fn name(self) -> &'static str {
        match self {
            ArchiveVersion::V2 => "archive-time-stamp (v2, TS 101 733 §6.4.1)",
            ArchiveVersion::V1 => "archive-time-stamp (v1, id-aa-27, TS 101 733 §6.4.1 NOTE)",
        }
    }
}

/// Which CAdES-X timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum XType {
    /// Type 1: `CAdES-C-time-stamp` (`escTimeStamp`) over the signature and references.
    SigAndRefs,
    /// Type 2: `time-stamped-certs-crls-references` over the references only.
    RefsOnly,
}

impl XType {
    fn name(self) -> &'static str {
        match self {
            XType::SigAndRefs => "CAdES-C-time-stamp (TS 101 733 §6.3.5)",
            XType::RefsOnly => "time-stamped-certs-crls-references (TS 101 733 §6.3.6)",
        }
    }
}

/// `attrType ‖ attrValues`: the attribute without its outer SEQUENCE tag and length.
fn attribute_body(a: &cms::Attribute, h: &mut Hasher) {
    h.update(&a.oid_raw);
    h.update(&a.values_raw);
}

fn is_archive(o: &const_oid::ObjectIdentifier) -> bool {
    *o == oids::ARCHIVE_TIMESTAMP_V3
        || *o == oids::ARCHIVE_TIMESTAMP_V2
        || *o == oids::ARCHIVE_TIMESTAMP_V1
}

/// A CAdES-X timestamp: `token` is a value of a CAdES-C-time-stamp (Type 1) or
/// time-stamped-certs-crls-references (Type 2) attribute of `si`.
pub(super) fn x_timestamp(
    ts_id: String,
    si: &SignerInfo,
    token: &[u8],
    ty: XType,
    sig_id: &str,
    warnings: &mut Vec<Finding>,
) -> TimestampEvidence {
    let wanted: &[const_oid::ObjectIdentifier] = match ty {
        XType::SigAndRefs => &[
            oids::SIGNATURE_TIMESTAMP,
            oids::COMPLETE_CERT_REFS,
            oids::COMPLETE_REVOCATION_REFS,
        ],
        XType::RefsOnly => &[oids::COMPLETE_CERT_REFS, oids::COMPLETE_REVOCATION_REFS],
    };
    for o in [oids::COMPLETE_CERT_REFS, oids::COMPLETE_REVOCATION_REFS] {
        if si.unsigned(&o).next().is_none() {
            warnings.push(Finding::new(
                "FC: CAdES-X",
                format!("signature {sig_id}"),
                format!(
                    "{ts_id} is a {} but the signature has no {} attribute",
                    ty.name(),
                    if o == oids::COMPLETE_CERT_REFS {
                        "complete-certificate-references"
                    } else {
                        "complete-revocation-references"
                    }
                ),
            ));
        }
    }
    let kind = match ty {
        XType::SigAndRefs => TimestampKind::ValidationData,
        XType::RefsOnly => TimestampKind::RefsOnly,
    };
    let candidates = |alg: DigestAlg| -> Vec<Vec<u8>> {
        let mut start = alg.hasher();
        if ty == XType::SigAndRefs {
            start.update(&si.signature);
        }
        // The order of §6.3.5/§6.3.6 (each kind in turn, several of a kind in encoded
        // order) ...
        let mut normative = start.clone();
        for o in wanted {
            for a in si.unsigned(o) {
                attribute_body(a, &mut normative);
            }
        }
        // ... and the attributes in their encoded order, which some producers use (the
        // ETSI plugtest sample Signature-C-X-1 does).
        let mut encoded = start;
        for a in &si.unsigned_attrs {
            if wanted.contains(&a.oid) {
                attribute_body(a, &mut encoded);
            }
        }
        vec![normative.finish(), encoded.finish()]
    };
    let (mut ts, matched) = tsp::check_timestamp_any(ts_id, kind, token, &candidates);
    if matched == Some(1) {
        // Only the encoded order matched (the first match is reported).
        warnings.push(Finding::new(
            "FC: CAdES-X",
            format!("timestamp {}", ts.id),
            format!(
                "the {} imprint covers the attributes in their encoded order, not in the \
                 order of the standard; accepted (the same data)",
                ty.name()
            ),
        ));
    }
    if let Check::Failed {
        sub: SubIndication::HashFailure,
        reason,
    } = &ts.imprint
    {
        let covered = match ty {
            XType::SigAndRefs => {
                "the signature value ‖ signature-time-stamp ‖ complete-certificate-references ‖ \
                 complete-revocation-references"
            }
            XType::RefsOnly => "complete-certificate-references ‖ complete-revocation-references",
        };
        ts.imprint = Check::Failed {
            sub: SubIndication::HashFailure,
            reason: format!(
                "{}: {reason}: it matches {covered} neither in the standard's order nor in \
                 their encoded order; one of them changed after it was time-stamped",
                ty.name()
            ),
        };
    }
    ts
}

/// Per unsigned attribute of `si`: for an archive timestamp (v1, v2, v3) the `genTime`
/// of its first readable token, `None` otherwise (or when unreadable).
pub(super) fn archive_times(si: &SignerInfo) -> Vec<Option<OffsetDateTime>> {
    si.unsigned_attrs
        .iter()
        .map(|a| {
            if !is_archive(&a.oid) {
                return None;
            }
            a.values
                .iter()
                .find_map(|v| tsp::parse_token(v).ok().map(|(_, t)| t.gen_time))
        })
        .collect()
}

/// An archive-time-stamp v2 or v1: `token` is a value of `si.unsigned_attrs[attr_index]`;
/// `times` is [`archive_times`] of `si`.
#[allow(clippy::too_many_arguments)]
pub(super) fn archive(
    ts_id: String,
    sd: &ParsedSignedData,
    si: &SignerInfo,
    times: &[Option<OffsetDateTime>],
    attr_index: usize,
    token: &[u8],
    content: Option<&Content<'_>>,
    version: ArchiveVersion,
    sig_id: &str,
) -> TimestampEvidence {
    let gen_time = tsp::parse_token(token).ok().map(|(_, t)| t.gen_time);
    // Unsigned attributes present when this timestamp was taken: not its own attribute,
    // not an archive timestamp from the same time or later (nor an unreadable one).
    let kept: Vec<&cms::Attribute> = si
        .unsigned_attrs
        .iter()
        .enumerate()
        .filter(|(i, a)| {
            *i != attr_index
                && (!is_archive(&a.oid)
                    || matches!(
                        (times.get(*i).copied().flatten(), gen_time),
                        (Some(t), Some(g)) if t < g
                    ))
        })
        .map(|(_, a)| a)
        .collect();
    let econtent = sd.econtent();
    let content_available = econtent.is_some() || content.is_some_and(|c| c.len(None).is_some());
    let candidates = |alg: DigestAlg| -> Vec<Vec<u8>> {
        let mut h = alg.hasher();
        h.update(sd.eci_raw());
        if econtent.is_none() {
            // Detached: the external content follows encapContentInfo.
            match content {
                Some(c) if c.feed(&mut h, None).is_some() => {}
                _ => return Vec::new(),
            }
        }
        if let Some(c) = sd.certificates_raw() {
            h.update(c);
        }
        if let Some(c) = sd.crls_raw() {
            h.update(c);
        }
        h.update(&si.signed_fields_raw);
        let len: usize = kept.iter().map(|a| a.raw.len()).sum();
        let mut with_tag = h.clone();
        if !kept.is_empty() {
            let mut header = vec![tlv::tag::ctx(1)];
            tlv::push_len(&mut header, len);
            with_tag.update(&header);
        }
        for a in &kept {
            with_tag.update(&a.raw);
            h.update(&a.raw);
        }
        vec![with_tag.finish(), h.finish()]
    };
    let (mut ts, _) = tsp::check_timestamp_any(ts_id, TimestampKind::Archive, token, &candidates);
    if !content_available && !ts.imprint.passed() {
        ts.imprint = Check::Failed {
            sub: SubIndication::SignedDataNotFound,
            reason: format!(
                "{sig_id}: the detached signed content is needed for the {} imprint",
                version.name()
            ),
        };
        return ts;
    }
    if let Check::Failed {
        sub: SubIndication::HashFailure,
        reason,
    } = &ts.imprint
    {
        let detached = if econtent.is_none() {
            "the detached content ‖ "
        } else {
            ""
        };
        let mut why = format!(
            "{}: {reason}: it matches encapContentInfo ‖ {detached}certificates ‖ crls ‖ the \
             SignerInfo fields ‖ the {} unsigned attributes before it, neither with nor without \
             the unsignedAttrs tag and length (TS 101 733 Annex K); the content, a certificate, \
             a CRL or one of those attributes changed after it was time-stamped",
            version.name(),
            kept.len()
        );
        if version == ArchiveVersion::V1 {
            why.push_str(
                " (TS 101 733 V1.5.1 to V1.6.3 defined the v1 imprint compatibly only for \
                 content inside encapContentInfo, earlier versions not at all: a v1 token from \
                 such a version cannot be checked)",
            );
        }
        ts.imprint = Check::Failed {
            sub: SubIndication::HashFailure,
            reason: why,
        };
        return ts;
    }
    if ts.imprint.passed() {
        // What it protects: the SignedData certificates and revocation data, and the
        // certificate-values / revocation-values present before it.
        ts.covered_certificates = sd.certificates();
        ts.covered_crls = sd.crls();
        ts.covered_ocsps = sd.ocsps();
        for a in &kept {
            for v in &a.values {
                if a.oid == oids::CERT_VALUES {
                    if let Ok(kids) = tlv::read(v, 0).and_then(|(t, _)| t.children()) {
                        ts.covered_certificates
                            .extend(kids.iter().map(|k| k.raw.to_vec()));
                    }
                } else if a.oid == oids::REVOCATION_VALUES {
                    let (crls, ocsps) = revocation_values(v);
                    ts.covered_crls.extend(crls);
                    ts.covered_ocsps.extend(ocsps);
                }
            }
        }
    }
    ts
}

/// CRLs (`crlVals [0]`) and `BasicOCSPResponse`s (`ocspVals [1]`) of a revocation-values
/// value; an unreadable value yields what could be read (the parent module reports it).
fn revocation_values(v: &[u8]) -> (Vec<Der>, Vec<Der>) {
    let mut crls = Vec::new();
    let mut ocsps = Vec::new();
    let _ = cms::revocation_values(v, &mut crls, &mut ocsps);
    (crls, ocsps)
}

/// An `OtherHash`: the algorithm (`None` when not supported) and the hash value.
type OtherHash = (Option<DigestAlg>, Vec<u8>);

/// `OtherHash`: a bare SHA-1 `OCTET STRING`, or `OtherHashAlgAndValue`.
fn other_hash(t: &tlv::Tlv<'_>) -> Result<OtherHash, String> {
    if t.tag == tlv::tag::SEQUENCE {
        let mut r = t.reader();
        let alg = r
            .required("hashAlgorithm")
            .and_then(|a| a.reader().required("algorithm").and_then(|o| o.oid()))
            .map_err(|e| e.0)?;
        let value = r
            .required("hashValue")
            .and_then(|v| v.octets())
            .map_err(|e| e.0)?;
        Ok((DigestAlg::from_oid(&alg), value.into_owned()))
    } else {
        let value = t.octets().map_err(|e| e.0)?;
        Ok((Some(DigestAlg::Sha1), value.into_owned()))
    }
}

/// One revocation reference of complete-revocation-references.
enum RevRef {
    /// `CrlValidatedID.crlHash`.
    Crl(OtherHash),
    /// `OcspResponsesID`: `producedAt` and, when given, `ocspRepHash`.
    Ocsp(Option<OffsetDateTime>, Option<OtherHash>),
    /// `otherRev`.
    Other,
}

/// The `OtherHash` of each `OtherCertID` of a complete-certificate-references value.
fn cert_refs(v: &[u8]) -> Result<Vec<OtherHash>, String> {
    let (t, _) = tlv::read(v, 0).map_err(|e| e.0)?;
    let mut out = Vec::new();
    for id in t.children().map_err(|e| e.0)? {
        let h = id
            .reader()
            .required("otherCertHash")
            .map_err(|e| e.0)
            .and_then(|h| other_hash(&h))?;
        out.push(h);
    }
    Ok(out)
}

/// The references of a complete-revocation-references value.
fn revocation_refs(v: &[u8]) -> Result<Vec<RevRef>, String> {
    let e = |e: tlv::TlvError| e.0;
    let (t, _) = tlv::read(v, 0).map_err(e)?;
    let mut out = Vec::new();
    for crl_ocsp_ref in t.children().map_err(e)? {
        for f in crl_ocsp_ref.children().map_err(e)? {
            // crlids [0] / ocspids [1] / otherRev [2], EXPLICIT.
            let inner = f.reader().required("CrlOcspRef field").map_err(e)?;
            if f.tag == tlv::tag::ctx(0) {
                let crls = inner.reader().required("crls").map_err(e)?;
                for id in crls.children().map_err(e)? {
                    let h = id.reader().required("crlHash").map_err(e)?;
                    out.push(RevRef::Crl(other_hash(&h)?));
                }
            } else if f.tag == tlv::tag::ctx(1) {
                let responses = inner.reader().required("ocspResponses").map_err(e)?;
                for id in responses.children().map_err(e)? {
                    let mut r = id.reader();
                    let ident = r.required("ocspIdentifier").map_err(e)?;
                    let mut ir = ident.reader();
                    ir.required("ocspResponderID").map_err(e)?;
                    let produced = ir.required("producedAt").and_then(|p| p.time()).ok();
                    let hash = match r.next().map_err(e)? {
                        Some(h) => Some(other_hash(&h)?),
                        None => None,
                    };
                    out.push(RevRef::Ocsp(produced, hash));
                }
            } else {
                out.push(RevRef::Other);
            }
        }
    }
    Ok(out)
}

/// `producedAt` of a `BasicOCSPResponse` or an `OCSPResponse` wrapping one, and the
/// `BasicOCSPResponse` encoding.
fn ocsp_basic(der: &[u8]) -> Option<(Der, Option<OffsetDateTime>)> {
    let (t, _) = tlv::read(der, 0).ok()?;
    let kids = t.children().ok()?;
    let basic: Der = if kids.first()?.tag == 0x0a {
        // OCSPResponse: responseStatus, [0] EXPLICIT ResponseBytes { type, OCTET STRING }.
        let rb = kids.get(1)?.reader().next().ok()??;
        let mut r = rb.reader();
        r.next().ok()??;
        r.next().ok()??.octets().ok()?.into_owned()
    } else {
        der.to_vec()
    };
    let (b, _) = tlv::read(&basic, 0).ok()?;
    let tbs = b.reader().next().ok()??;
    let mut r = tbs.reader();
    let mut produced = None;
    while let Ok(Some(f)) = r.next() {
        if f.tag == tlv::tag::GENERALIZED_TIME {
            produced = f.time().ok();
            break;
        }
    }
    Some((basic, produced))
}

/// Encodings looked up by their digest; each item is hashed at most once per algorithm
/// (a crafted file with many references and many values stays linear).
struct DigestSet<'a> {
    items: Vec<&'a [u8]>,
    by_alg: RefCell<HashMap<DigestAlg, HashSet<Vec<u8>>>>,
}

impl<'a> DigestSet<'a> {
    fn new(items: impl IntoIterator<Item = &'a [u8]>) -> Self {
        DigestSet {
            items: items.into_iter().collect(),
            by_alg: RefCell::new(HashMap::new()),
        }
    }

    /// Whether an item hashes to `value` with `alg` (never for an unsupported `alg`).
    fn contains(&self, (alg, value): &OtherHash) -> bool {
        let Some(alg) = *alg else { return false };
        let mut by_alg = self.by_alg.borrow_mut();
        by_alg
            .entry(alg)
            .or_insert_with(|| self.items.iter().map(|i| alg.digest(i)).collect())
            .contains(value)
    }
}

/// The references of the CAdES-C attributes, resolved against the validation data the
/// signature carries (`certificates` everything usable for path building, `crls` and
/// `ocsps` the signature's revocation data). Returns `(warnings, notes)`: with
/// certificate-values and revocation-values present (CAdES-X Long), a reference that
/// names no value is a warning; without them the data lives elsewhere and the counts are
/// only noted.
pub(super) fn check_references(
    si: &SignerInfo,
    certificates: &[Der],
    crls: &[Der],
    ocsps: &[Der],
    sig_id: &str,
) -> (Vec<Finding>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let object = format!("signature {sig_id}");
    let long = si.unsigned(&oids::CERT_VALUES).next().is_some()
        && si.unsigned(&oids::REVOCATION_VALUES).next().is_some();
    let mut report = |what: &str, kind: &str, found: usize, total: usize| {
        notes.push(format!(
            "{what}: {found} of {total} resolve to {kind} in the signature"
        ));
        if long && found < total {
            warnings.push(Finding::new(
                format!("FC: {what}"),
                &object,
                format!(
                    "{} of {total} references name {kind} the signature does not carry",
                    total - found
                ),
            ));
        }
    };
    let mut unreadable = Vec::new();

    let certs = DigestSet::new(certificates.iter().map(Vec::as_slice));
    for a in si.unsigned(&oids::COMPLETE_CERT_REFS) {
        for v in &a.values {
            match cert_refs(v) {
                Ok(refs) => {
                    let found = refs.iter().filter(|h| certs.contains(h)).count();
                    report(
                        "complete-certificate-references",
                        "certificates",
                        found,
                        refs.len(),
                    );
                }
                Err(e) => unreadable.push(("complete-certificate-references", e)),
            }
        }
    }

    let crl_set = DigestSet::new(crls.iter().map(Vec::as_slice));
    // OCSP responses as carried and as BasicOCSPResponse (references hash either).
    let mut ocsp_encodings: Vec<Der> = Vec::new();
    let mut produced: HashSet<OffsetDateTime> = HashSet::new();
    for o in ocsps {
        if let Some((basic, at)) = ocsp_basic(o) {
            ocsp_encodings.push(basic);
            produced.extend(at);
        }
        ocsp_encodings.push(o.clone());
    }
    let ocsp_set = DigestSet::new(ocsp_encodings.iter().map(Vec::as_slice));
    for a in si.unsigned(&oids::COMPLETE_REVOCATION_REFS) {
        for v in &a.values {
            match revocation_refs(v) {
                Ok(refs) => {
                    let found = refs
                        .iter()
                        .filter(|r| match r {
                            RevRef::Crl(h) => crl_set.contains(h),
                            RevRef::Ocsp(_, Some(h)) => ocsp_set.contains(h),
                            RevRef::Ocsp(at, None) => at.is_some_and(|t| produced.contains(&t)),
                            RevRef::Other => false,
                        })
                        .count();
                    report(
                        "complete-revocation-references",
                        "revocation data",
                        found,
                        refs.len(),
                    );
                }
                Err(e) => unreadable.push(("complete-revocation-references", e)),
            }
        }
    }
    for (what, e) in unreadable {
        warnings.push(Finding::new(
            format!("FC: {what}"),
            &object,
            format!("unreadable: {e}"),
        ));
    }
    (warnings, notes)
}

/// The builder of the legacy forms for the tests (shared with tests/validation_samples.rs).
#[cfg(test)]
#[path = "../../../tests/support/cades_legacy.rs"]
mod test_builder;

#[cfg(test)]
mod tests {
    use super::super::read_cades;
    use super::super::tests::{add_unsigned, oid_tlv};
    use crate::validation::Validator;
    use crate::validation::cms::{self, oids};
    use crate::validation::evidence::{Check, SignatureEvidence, TimestampKind};
    use crate::validation::policy::Policy;
    use crate::validation::report::{Indication, SubIndication};

    fn find(hay: &[u8], needle: &[u8]) -> usize {
        hay.windows(needle.len())
            .position(|w| w == needle)
            .expect("part present")
    }

    /// `der` with one bit flipped at `at`.
    fn flip(der: &[u8], at: usize) -> Vec<u8> {
        let mut d = der.to_vec();
        d[at] ^= 0x01;
        d
    }

    /// Offset (in `der`) of a byte inside the first SHA-1 / SHA-256 hash value of `part`.
    fn hash_byte_of(der: &[u8], part: &[u8]) -> usize {
        let start = find(der, part);
        let inner = part
            .windows(2)
            .position(|w| w == [0x04, 0x14] || w == [0x04, 0x20])
            .expect("a hash value in the part");
        start + inner + 2 + 5
    }

    /// Offset (in `der`) of a byte of the signature value at the end of the first CRL of
    /// `signer`'s revocation-values.
    fn crl_byte_of(der: &[u8], signer: usize) -> usize {
        let sd = cms::parse_signed_data(der).unwrap();
        let rv = &sd
            .signer(signer)
            .unwrap()
            .unsigned(&oids::REVOCATION_VALUES)
            .next()
            .unwrap()
            .values[0];
        let (crls, _) = super::revocation_values(rv);
        let crl = &crls[0];
        find(der, crl) + crl.len() - 5
    }

    fn kinds(s: &SignatureEvidence) -> Vec<TimestampKind> {
        s.timestamps.iter().map(|t| t.kind).collect()
    }

    fn all_pass(s: &SignatureEvidence) {
        for t in &s.timestamps {
            assert_eq!(t.imprint, Check::Passed, "{} {:?}", t.id, t.kind);
            assert_eq!(t.signature, Check::Passed, "{} {:?}", t.id, t.kind);
        }
    }

    fn hash_failure(c: &Check) -> &str {
        match c {
            Check::Failed {
                sub: SubIndication::HashFailure,
                reason,
            } => reason,
            other => panic!("expected HASH_FAILURE, got {other:?}"),
        }
    }

    use super::test_builder::{Archive, LegacyPki};

    /// A PKI whose certificates are all valid for a while; `None` (test skipped) without
    /// openssl.
    fn pki() -> Option<LegacyPki> {
        let p = LegacyPki::new(30, 30, 60);
        if p.is_none() {
            eprintln!("openssl not installed: skipped");
        }
        p
    }

    const DOC: &[u8] = b"legacy CAdES content, enveloped by openssl cms\n";

    /// CAdES-BES (openssl cms) + signature-time-stamp + complete references.
    fn c_level(p: &LegacyPki, revocation_first: bool) -> Vec<u8> {
        let bes = p.cades_bes(DOC, false);
        let t = p.add_signature_timestamp(&bes);
        p.add_refs(&t, revocation_first)
    }

    /// CAdES-X Type 1: the CAdES-C-time-stamp verifies over the attributes in the order of
    /// §6.3.5, and over their encoded order (with a warning) when a producer hashed those;
    /// a one-byte change in a revocation reference breaks it (only it).
    #[test]
    fn x_type1_in_both_orders() {
        let Some(p) = pki() else { return };
        let x = p.add_esc_timestamp(&c_level(&p, false), false);
        let ev = read_cades(&x, None).unwrap();
        let s = &ev[0];
        assert_eq!(s.format, "CAdES-X-Type-1");
        assert_eq!(s.integrity, Check::Passed, "{:?}", s.errors);
        assert_eq!(
            kinds(s),
            [TimestampKind::Signature, TimestampKind::ValidationData]
        );
        all_pass(s);
        assert!(
            !s.warnings
                .iter()
                .any(|w| w.reason.contains("encoded order")),
            "{:?}",
            s.warnings
        );
        assert!(
            s.notes.iter().any(|n| n
                == "complete-certificate-references: 1 of 1 resolve to certificates in the signature"),
            "{:?}",
            s.notes
        );
        assert!(
            s.notes.iter().any(|n| n
                == "complete-revocation-references: 0 of 1 resolve to revocation data in the signature"),
            "{:?}",
            s.notes
        );
        // No certificate-values / revocation-values: unresolved references are no finding.
        assert!(
            !s.warnings
                .iter()
                .any(|w| w.constraint.contains("references"))
        );

        let bad = flip(&x, hash_byte_of(&x, &p.rev_refs_value()));
        let ev = read_cades(&bad, None).unwrap();
        assert_eq!(ev[0].integrity, Check::Passed);
        assert_eq!(ev[0].timestamps[0].imprint, Check::Passed);
        let reason = hash_failure(&ev[0].timestamps[1].imprint);
        assert!(
            reason
                .starts_with("CAdES-C-time-stamp (TS 101 733 §6.3.5): the SHA-256 message imprint")
                && reason.contains("changed after it was time-stamped"),
            "{reason}"
        );

        // Revocation references encoded before the certificate references, the imprint
        // over the encoded order.
        let x = p.add_esc_timestamp(&c_level(&p, true), true);
        let ev = read_cades(&x, None).unwrap();
        let s = &ev[0];
        assert_eq!(s.format, "CAdES-X-Type-1");
        all_pass(s);
        assert!(
            s.warnings
                .iter()
                .any(|w| w.object == "timestamp TS-2" && w.reason.contains("encoded order")),
            "{:?}",
            s.warnings
        );
    }

    /// A crafted signature with 65 more CAdES-C-time-stamp tokens: the first 64 legacy
    /// tokens are checked, the rest reported and not used.
    #[test]
    fn legacy_timestamps_are_bounded() {
        let Some(p) = pki() else { return };
        let der = p.add_esc_timestamp(&c_level(&p, false), false);
        let sd = cms::parse_signed_data(&der).unwrap();
        let token = sd
            .signer(0)
            .unwrap()
            .unsigned(&oids::ESC_TIMESTAMP)
            .next()
            .unwrap()
            .values[0]
            .clone();
        let many = add_unsigned(&der, &oid_tlv(oids::ESC_TIMESTAMP), &token.repeat(65));
        let ev = read_cades(&many, None).unwrap();
        let x = ev[0]
            .timestamps
            .iter()
            .filter(|t| t.kind == TimestampKind::ValidationData)
            .count();
        assert_eq!(x, super::MAX_LEGACY_TIMESTAMPS);
        assert!(
            ev[0]
                .warnings
                .iter()
                .any(|w| w.constraint == "FC: legacy timestamps"
                    && w.reason
                        .starts_with("2 CAdES-X / archive-time-stamp v1/v2 tokens")),
            "{:?}",
            ev[0].warnings
        );
    }

    /// CAdES-X Long Type 1 (the references resolve to the carried values), then CAdES-A
    /// with an archive-time-stamp-v3 whose token holds the TS 101 733 ats-hash-index
    /// (each unsigned attribute hashed whole): every imprint intact; a changed CRL in
    /// revocation-values breaks the archive timestamp, not the CAdES-C-time-stamp.
    #[test]
    fn a_over_x_long_type1_with_the_old_hash_index() {
        let Some(p) = pki() else { return };
        let x = p.add_esc_timestamp(&c_level(&p, false), false);
        let xl = p.add_values(&x, true);
        let ev = read_cades(&xl, None).unwrap();
        let s = &ev[0];
        assert_eq!(s.format, "CAdES-X-Long-Type-1");
        all_pass(s);
        assert!(
            s.notes.iter().any(|n| n
                == "complete-revocation-references: 1 of 1 resolve to revocation data in the signature"),
            "{:?}",
            s.notes
        );
        assert!(
            !s.warnings.iter().any(|w| w.constraint.starts_with("FC")),
            "{:?}",
            s.warnings
        );

        let a = p.add_archive_v3_old_index(&xl);
        let ev = read_cades(&a, None).unwrap();
        let s = &ev[0];
        assert_eq!(s.format, "CAdES-A");
        assert_eq!(s.integrity, Check::Passed);
        assert_eq!(
            kinds(s),
            [
                TimestampKind::Signature,
                TimestampKind::ValidationData,
                TimestampKind::Archive
            ]
        );
        all_pass(s);
        let bad = flip(&a, crl_byte_of(&a, 0));
        let ev = read_cades(&bad, None).unwrap();
        assert_eq!(ev[0].integrity, Check::Passed);
        assert_eq!(ev[0].timestamps[1].imprint, Check::Passed);
        assert!(!ev[0].timestamps[2].imprint.passed());
    }

    /// archive-time-stamp v2 over an enveloping CAdES-X Long Type 1, TS 101 733 V2.2.1
    /// input (unsignedAttrs with tag and length): it covers the certificates and CRL
    /// carried; a changed CRL or content breaks it.
    #[test]
    fn ats_v2_with_tag_over_x_long_type1() {
        let Some(p) = pki() else { return };
        let x = p.add_esc_timestamp(&c_level(&p, false), false);
        let xl = p.add_values(&x, true);
        let a = p.add_archive(&xl, Archive::V2WithTag, None);
        let ev = read_cades(&a, None).unwrap();
        let s = &ev[0];
        assert_eq!(s.format, "CAdES-A");
        assert_eq!(s.integrity, Check::Passed);
        assert_eq!(
            kinds(s),
            [
                TimestampKind::Signature,
                TimestampKind::ValidationData,
                TimestampKind::Archive
            ]
        );
        all_pass(s);
        let ats = &s.timestamps[2];
        assert!(ats.covered_certificates.contains(&p.cert_der("signer")));
        assert!(ats.covered_certificates.contains(&p.cert_der("ca")));
        assert!(ats.covered_crls.contains(&p.crl_der()));

        // The CRL in revocation-values changes: only the archive timestamp fails.
        let bad = flip(&a, crl_byte_of(&a, 0));
        let ev = read_cades(&bad, None).unwrap();
        assert_eq!(ev[0].integrity, Check::Passed);
        assert_eq!(ev[0].timestamps[0].imprint, Check::Passed);
        assert_eq!(ev[0].timestamps[1].imprint, Check::Passed);
        let reason = hash_failure(&ev[0].timestamps[2].imprint);
        assert!(
            reason.starts_with(
                "archive-time-stamp (v2, TS 101 733 §6.4.1): the SHA-256 message imprint"
            ) && reason.contains("encapContentInfo ‖ certificates ‖ crls")
                && reason.contains("the 6 unsigned attributes before it"),
            "{reason}"
        );
        // The content changes: the signature and the archive timestamp fail.
        let at = find(&a, DOC) + 5;
        let ev = read_cades(&flip(&a, at), None).unwrap();
        assert!(!ev[0].integrity.passed());
        hash_failure(&ev[0].timestamps[2].imprint);
    }

    /// CAdES-X Long + archive-time-stamp v2 over a detached signature of `aaa`.
    fn detached_a(p: &LegacyPki) -> Vec<u8> {
        let bes = p.cades_bes(b"aaa", true);
        let t = p.add_signature_timestamp(&bes);
        let c = p.add_refs(&t, false);
        let xl = p.add_values(&c, true);
        p.add_archive(&xl, Archive::V2WithoutTag, Some(b"aaa"))
    }

    /// archive-time-stamp v2 over a detached signature, TS 101 733 V1.8.3 input
    /// (unsignedAttrs without tag and length): intact with the document, not computable
    /// without it, failing with another one or a changed CRL.
    #[test]
    fn ats_v2_detached_without_tag() {
        let Some(p) = pki() else { return };
        let der = detached_a(&p);
        let ev = read_cades(&der, Some(b"aaa")).unwrap();
        let s = &ev[0];
        assert_eq!(s.format, "CAdES-A");
        assert_eq!(s.integrity, Check::Passed);
        assert_eq!(kinds(s), [TimestampKind::Signature, TimestampKind::Archive]);
        all_pass(s);
        let ats = &s.timestamps[1];
        let signer = s.signer_cert.clone().unwrap();
        assert!(ats.covered_certificates.contains(&signer));
        assert!(!ats.covered_crls.is_empty());

        // Without the document the imprint cannot be computed.
        let ev = read_cades(&der, None).unwrap();
        assert!(matches!(
            &ev[0].timestamps[1].imprint,
            Check::Failed { sub: SubIndication::SignedDataNotFound, reason } if reason.contains("detached signed content")
        ));
        // Another document: the signature and the archive timestamp fail.
        let ev = read_cades(&der, Some(b"aab")).unwrap();
        assert!(!ev[0].integrity.passed());
        let reason = hash_failure(&ev[0].timestamps[1].imprint);
        assert!(
            reason.starts_with(
                "archive-time-stamp (v2, TS 101 733 §6.4.1): the SHA-256 message imprint"
            ) && reason.contains("the detached content ‖ certificates ‖ crls"),
            "{reason}"
        );
        // One byte of a CRL in revocation-values (not signed, but archived).
        let bad = flip(&der, crl_byte_of(&der, 0));
        let ev = read_cades(&bad, Some(b"aaa")).unwrap();
        assert_eq!(ev[0].integrity, Check::Passed);
        assert_eq!(ev[0].timestamps[0].imprint, Check::Passed);
        hash_failure(&ev[0].timestamps[1].imprint);
    }

    /// Short-lived certificates, validated ten days later with the test CA as the only
    /// (explicit) anchor: the signer's certificate (1 day) and the signature timestamp's
    /// TSA certificate (2 days) have expired, but the archive-time-stamp v2 (TSA valid 60
    /// days) proves the signature timestamp existed while they were valid, and that one
    /// proves the signature (EN 319 102-1 §5.6.2.4). Without a valid archive timestamp
    /// there is no proof of existence.
    #[test]
    fn expired_signer_passes_thanks_to_the_archive_timestamp() {
        let Some(p) = LegacyPki::new(1, 2, 60) else {
            eprintln!("openssl not installed: skipped");
            return;
        };
        let der = detached_a(&p);
        let v = Validator {
            policy: Policy::default_eu(),
            explicit_anchors: vec![p.cert_der("ca")],
            registry: None,
            fetcher: None,
        };
        let at = time::OffsetDateTime::now_utc() + time::Duration::days(10);
        let report = v.validate(&der, Some(("data.txt", b"aaa")), at).unwrap();
        let sig = &report.signatures[0];
        assert_eq!(sig.format, "CAdES-A");
        assert_eq!(sig.indication, Indication::TotalPassed, "{sig:#?}");
        let sd = cms::parse_signed_data(&der).unwrap();
        let si = sd.signer(0).unwrap();
        let sig_ts = &si
            .unsigned(&oids::SIGNATURE_TIMESTAMP)
            .next()
            .unwrap()
            .values[0];
        let (_, tst) = crate::validation::tsp::parse_token(sig_ts).unwrap();
        assert_eq!(sig.best_signature_time, Some(tst.gen_time));
        assert!(
            sig.timestamps
                .iter()
                .all(|t| t.indication == Indication::TotalPassed),
            "{sig:#?}"
        );
        assert!(
            sig.warnings
                .iter()
                .any(|w| w.constraint == "PSV: past signature validation"),
            "{:?}",
            sig.warnings
        );

        // The archive timestamp's token broken (last byte of its TSA signature).
        let ats = si
            .unsigned(&oids::ARCHIVE_TIMESTAMP_V2)
            .next()
            .unwrap()
            .raw
            .clone();
        let bad = flip(&der, find(&der, &ats) + ats.len() - 1);
        let report = v.validate(&bad, Some(("data.txt", b"aaa")), at).unwrap();
        let sig = &report.signatures[0];
        assert_eq!(sig.indication, Indication::Indeterminate, "{sig:#?}");
        assert!(
            matches!(
                sig.sub_indication,
                Some(SubIndication::OutOfBoundsNoPoe | SubIndication::OutOfBoundsNotRevoked)
            ),
            "{sig:#?}"
        );
        assert_ne!(sig.timestamps[1].indication, Indication::TotalPassed);
    }

    /// CAdES-C, CAdES-X Type 2, X Long Type 2 and an archive-time-stamp v1 over a
    /// CAdES-BES from `openssl cms`, tokens from `openssl ts` over the inputs as the
    /// builder reads TS 101 733 §6.3.6 / §6.4.1 (no real sample has them verifiably: this
    /// checks the plumbing against our reading, not against another implementation).
    #[test]
    fn x_type2_and_ats_v1_with_openssl_tokens() {
        let Some(p) = pki() else { return };
        let c = c_level(&p, false);
        let ev = read_cades(&c, None).unwrap();
        assert_eq!(ev[0].format, "CAdES-C");
        assert!(ev[0].notes.iter().any(|n| n
            == "complete-certificate-references: 1 of 1 resolve to certificates in the signature"));
        assert!(ev[0].notes.iter().any(|n| n
            == "complete-revocation-references: 0 of 1 resolve to revocation data in the signature"));
        // Without certificate-values / revocation-values that is no finding.
        assert!(
            !ev[0]
                .warnings
                .iter()
                .any(|w| w.constraint.contains("references"))
        );

        let x2 = p.add_refs_timestamp(&c);
        let ev = read_cades(&x2, None).unwrap();
        assert_eq!(ev[0].format, "CAdES-X-Type-2");
        let x_ts = ev[0].timestamps.last().unwrap();
        assert_eq!(x_ts.kind, TimestampKind::RefsOnly);
        assert_eq!(x_ts.imprint, Check::Passed);

        // X Long Type 2 with an empty revocation-values: the CRL reference names
        // revocation data the signature does not carry.
        let xl = p.add_values(&x2, false);
        let ev = read_cades(&xl, None).unwrap();
        assert_eq!(ev[0].format, "CAdES-X-Long-Type-2");
        assert!(ev[0].timestamps.iter().all(|t| t.imprint.passed()));
        assert!(
            ev[0]
                .warnings
                .iter()
                .any(|w| w.constraint == "FC: complete-revocation-references"
                    && w.reason
                        == "1 of 1 references name revocation data the signature does not carry"),
            "{:?}",
            ev[0].warnings
        );

        // archive-time-stamp v1 over everything so far (TS 101 733 V2.2.1 Annex K input).
        let a = p.add_archive(&xl, Archive::V1, None);
        let ev = read_cades(&a, None).unwrap();
        assert_eq!(ev[0].format, "CAdES-A");
        let ats = ev[0].timestamps.last().unwrap();
        assert_eq!(ats.kind, TimestampKind::Archive);
        assert_eq!(ats.imprint, Check::Passed);
        assert!(ats.covered_certificates.contains(&p.cert_der("ca")));

        // One byte of the certificate reference: the Type 2 and the archive timestamp
        // fail, the signature timestamp does not.
        let bad = flip(&a, hash_byte_of(&a, &p.cert_refs_value()));
        let ev = read_cades(&bad, None).unwrap();
        let by_kind = |k| ev[0].timestamps.iter().find(|t| t.kind == k).unwrap();
        assert!(by_kind(TimestampKind::Signature).imprint.passed());
        let reason = hash_failure(&by_kind(TimestampKind::RefsOnly).imprint);
        assert!(
            reason.starts_with("time-stamped-certs-crls-references (TS 101 733 §6.3.6)"),
            "{reason}"
        );
        let reason = hash_failure(&by_kind(TimestampKind::Archive).imprint);
        assert!(reason.starts_with("archive-time-stamp (v1"), "{reason}");
    }
}
