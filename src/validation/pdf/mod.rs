//! The PDF side of PAdES validation (ETSI EN 319 142-1; ISO 32000-1 §7.5.6 incremental
//! updates and §12.8 signatures; ISO 32000-2 §12.8.4.3 DSS): which signatures a PDF holds,
//! what bytes each one signs, which revision it covers, what the DSS of each revision
//! carries, and what changed after each signature and whether that was allowed.
//!
//! Owns: a small lazy PDF reader of its own over a borrowed `&[u8]` (the caller may mmap
//! a large file): nothing is parsed until needed, stream data is decoded only for
//! cross-reference streams, object streams and DSS values, all under caps; limits on
//! nesting, counts, revisions and `/Prev` loops. Hands out raw `/Contents` bytes and
//! validated byte ranges.
//! Must not touch: CMS/PKCS#7 parsing, hashing, certificates or revocation (other parts of
//! `validation` do that with what this module returns), and it never writes PDFs.
//!
//! Revision indices are 0-based: revision 0 is the original document, revision `i` the
//! `i`-th incremental update.

mod diff;
mod doc;
mod filter;
mod lexer;
mod sig;

#[cfg(test)]
mod tests;

use time::OffsetDateTime;

pub use super::evidence::Check;
pub use super::report::{Finding, SubIndication};
pub use doc::XrefKind;

/// Why a PDF could not be read at all. Problems in an otherwise readable file are
/// reported as [`Finding`]s or failed checks instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// No `%PDF-` header in the first 1024 bytes.
    #[error("not a PDF document (no %PDF- header)")]
    NotPdf,
    /// A syntax error at a byte offset.
    #[error("PDF syntax error at offset {offset}: {msg}")]
    Syntax {
        /// Offset in the data being parsed.
        offset: usize,
        /// What was wrong.
        msg: String,
    },
    /// Cross-reference data is unusable.
    #[error("PDF cross-reference error: {0}")]
    Xref(String),
    /// A stream could not be decoded.
    #[error("PDF stream decoding error: {0}")]
    Decode(String),
    /// A safety limit was hit.
    #[error("PDF limit exceeded: {0}")]
    Limit(&'static str),
}

/// Everything signature validation needs from the PDF structure.
#[derive(Debug, Clone)]
pub struct PdfSignatures {
    /// The revisions in file order.
    pub revisions: Vec<Revision>,
    /// Signatures and document timestamps, in the order of the revisions they sign
    /// (those whose byte range matches no revision last, in field order).
    pub signatures: Vec<PdfSignature>,
    /// One entry per revision that adds or changes the DSS, with the DSS as of that revision.
    pub dss: Vec<DssInfo>,
    /// Document-level findings (structure repairs, unsigned trailing changes, …).
    pub findings: Vec<Finding>,
}

/// One revision: the original document or one incremental update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// 0-based index.
    pub index: usize,
    /// First byte (the end of the previous revision).
    pub start: usize,
    /// Offset right after `%%EOF`.
    pub eof: usize,
    /// Offset after `%%EOF` and its end-of-line marker (the usual signed length).
    pub end: usize,
    /// The `startxref` value.
    pub startxref: usize,
    /// How its cross-reference data is written.
    pub xref: XrefKind,
    /// Objects it defines (number, generation), in-use entries only, in written order.
    pub objects: Vec<(u32, u16)>,
    /// Objects its cross-reference data marks free.
    pub freed: Vec<u32>,
}

/// Whether a signature dictionary is an ordinary signature or a document timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PdfSigKind {
    /// `/Type /Sig` (or no type) with a CMS signature.
    Signature,
    /// `/Type /DocTimeStamp` or `/SubFilter /ETSI.RFC3161`.
    DocTimeStamp,
}

/// A FieldMDP `/Lock` dictionary of a signature field (ISO 32000-1 §12.7.4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLock {
    /// `All`, `Include` or `Exclude`.
    pub action: String,
    /// Fully qualified names listed in `/Fields`.
    pub fields: Vec<String>,
}

impl FieldLock {
    /// Whether filling field `name` is forbidden by this lock.
    pub fn locks(&self, name: &str) -> bool {
        let listed = self.fields.iter().any(|f| f == name);
        match self.action.as_str() {
            "All" => true,
            "Include" => listed,
            "Exclude" => !listed,
            _ => false,
        }
    }
}

/// How far a change reaches, in increasing order (cf. pyHanko's modification levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModLevel {
    /// DSS, document timestamps, document information, XMP metadata.
    LtaUpdates,
    /// Adding or signing signature fields, filling in form fields.
    FormFilling,
    /// Adding, changing or removing annotations.
    Annotations,
    /// Anything else.
    Other,
}

/// One change made after a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modification {
    /// The revision that made it.
    pub revision: usize,
    /// Allowed for this signature (by its level and the DocMDP/FieldMDP permissions).
    pub allowed: bool,
    /// The kind of change.
    pub level: ModLevel,
    /// What changed, naming the object, e.g. "object 12 0 (page 1 content stream) was
    /// changed in revision 3".
    pub description: String,
}

/// One signature field's signature (or document timestamp).
#[derive(Debug, Clone)]
pub struct PdfSignature {
    /// Fully qualified field name (`/T` chain joined with dots).
    pub field_name: String,
    /// Signature or document timestamp.
    pub kind: PdfSigKind,
    /// `/Filter` (e.g. `Adobe.PPKLite`).
    pub filter: String,
    /// `/SubFilter` (`adbe.pkcs7.detached`, `ETSI.CAdES.detached`, `ETSI.RFC3161`,
    /// `adbe.pkcs7.sha1`, `adbe.x509.rsa_sha1`).
    pub sub_filter: String,
    /// Decoded `/Contents`, padding included.
    pub contents: Vec<u8>,
    /// `/ByteRange` as written (non-integers as -1).
    pub byte_range: Vec<i64>,
    /// The (offset, length) pairs to hash: filled whenever every pair lies inside the file,
    /// even when `byte_range_check` failed (callers must honour the check).
    pub ranges: Vec<(usize, usize)>,
    /// Passed iff `/ByteRange` is `[0 a b c]` with `a` the offset of `<` of this
    /// dictionary's own hexadecimal `/Contents`, `b` the offset after `>`, `b + c` the end
    /// of a revision, the dictionary itself inside the signed bytes, `/Contents` not empty.
    pub byte_range_check: Check,
    /// The revision whose end is `b + c`.
    pub signed_revision: Option<usize>,
    /// The byte range covers the whole file (only whitespace after it).
    pub covers_whole_file: bool,
    /// `/M`.
    pub m: Option<OffsetDateTime>,
    /// `/Name`.
    pub name: Option<String>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// `/ContactInfo`.
    pub contact_info: Option<String>,
    /// DocMDP `/P` of a certification signature (1, 2 or 3).
    pub docmdp_p: Option<u8>,
    /// The field's FieldMDP `/Lock`.
    pub field_lock: Option<FieldLock>,
    /// The signature dictionary's object, when indirect.
    pub object: Option<(u32, u16)>,
    /// Changes made by revisions after `signed_revision`.
    pub modifications: Vec<Modification>,
}

impl PdfSignature {
    /// Whether every modification after this signature is allowed.
    pub fn only_allowed_modifications(&self) -> bool {
        self.modifications.iter().all(|m| m.allowed)
    }
}

/// The DSS as of one revision that added or changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DssInfo {
    /// The revision.
    pub revision: usize,
    /// The DSS dictionary object, when indirect.
    pub object: Option<(u32, u16)>,
    /// Decoded `/Certs` streams (DER), each capped at 16 MiB.
    pub certs: Vec<Vec<u8>>,
    /// Decoded `/OCSPs` streams (DER `OCSPResponse`).
    pub ocsps: Vec<Vec<u8>>,
    /// Decoded `/CRLs` streams (DER).
    pub crls: Vec<Vec<u8>>,
    /// Keys of `/VRI` (upper-case hex SHA-1 of signature values).
    pub vri_keys: Vec<String>,
}

/// Reads the signatures, revisions and DSS of a PDF and classifies what changed after each
/// signature. Never panics; bounded in time and memory. An error means the bytes are not a
/// readable PDF at all.
pub fn read_signatures(bytes: &[u8]) -> Result<PdfSignatures, PdfError> {
    let doc = doc::Doc::open(bytes)?;
    let last = doc.last();
    let mut findings = Vec::new();

    let revisions: Vec<Revision> = doc
        .revs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut objects = Vec::new();
            let mut freed = Vec::new();
            for n in &r.order {
                if let Some(d) = r.defs.get(n) {
                    if d.loc == doc::Loc::Free {
                        freed.push(*n);
                    } else {
                        objects.push((*n, d.generation));
                    }
                }
            }
            Revision {
                index: i,
                start: r.start,
                eof: r.eof,
                end: r.end,
                startxref: r.startxref,
                xref: r.kind,
                objects,
                freed,
            }
        })
        .collect();

    let trailing_from = doc.revs.last().map(|r| r.end).unwrap_or(0);
    if bytes
        .get(trailing_from..)
        .is_some_and(|t| t.iter().any(|&b| !lexer::is_ws(b)))
    {
        findings.push(Finding::new(
            "PDF: revisions",
            format!("bytes {trailing_from}–{}", bytes.len()),
            "data after the last %%EOF that belongs to no revision",
        ));
    }

    // Signatures, from the final revision's form.
    let mut signatures = Vec::new();
    let mut seen_dicts: Vec<((u32, u16), String)> = Vec::new();
    let mut seen_holes: Vec<((usize, usize), String)> = Vec::new();
    for f in sig::sig_fields(&doc, last) {
        let Some((mut s, sig_id, span)) = sig::signature(&doc, last, &f) else {
            continue;
        };
        if let Some(id) = sig_id {
            if let Some((_, other)) = seen_dicts.iter().find(|(i, _)| *i == id) {
                s.byte_range_check = Check::Failed {
                    sub: SubIndication::FormatFailure,
                    reason: format!(
                        "field '{}' uses the same signature dictionary (object {} {}) as field '{other}'",
                        s.field_name, id.0, id.1
                    ),
                };
            } else {
                seen_dicts.push((id, s.field_name.clone()));
            }
        }
        if let Some(span) = span {
            if let Some((_, other)) = seen_holes.iter().find(|(h, _)| *h == span) {
                s.byte_range_check = Check::Failed {
                    sub: SubIndication::FormatFailure,
                    reason: format!(
                        "field '{}' shares its /Contents hole with field '{other}'",
                        s.field_name
                    ),
                };
            } else {
                seen_holes.push((span, s.field_name.clone()));
            }
        }
        signatures.push(s);
    }
    signatures.sort_by_key(|s| s.signed_revision.unwrap_or(usize::MAX));
    for w in signatures.windows(2) {
        if let (Some(a), Some(b)) = (w[0].signed_revision, w[1].signed_revision)
            && a == b
        {
            findings.push(Finding::new(
                "PDF: revisions",
                format!("revision {a}"),
                format!(
                    "signatures '{}' and '{}' both claim to sign revision {a}",
                    w[0].field_name, w[1].field_name
                ),
            ));
        }
    }

    // Changes after the earliest signed revision.
    let first_signed = signatures.iter().filter_map(|s| s.signed_revision).min();
    let mut changes: Vec<Vec<diff::Change>> = vec![Vec::new(); doc.revs.len()];
    if let Some(first) = first_signed {
        let mut budget = diff::MAX_TOTAL_WALK;
        for (r, slot) in changes.iter_mut().enumerate().skip(first + 1) {
            *slot = diff::revision_changes(&doc, r, &mut budget);
        }
    }
    // The strictest DocMDP of certification signatures covering each signature.
    let certs: Vec<(usize, u8)> = signatures
        .iter()
        .filter_map(|s| Some((s.signed_revision?, s.docmdp_p?)))
        .collect();
    for s in &mut signatures {
        let Some(sr) = s.signed_revision else {
            continue;
        };
        let p = certs
            .iter()
            .filter(|(r, _)| *r <= sr)
            .map(|(_, p)| *p)
            .min();
        let max = match p {
            Some(1) => ModLevel::LtaUpdates,
            Some(2) => ModLevel::FormFilling,
            _ => ModLevel::Annotations,
        };
        for (r, list) in changes.iter().enumerate().skip(sr + 1) {
            for c in list {
                let locked = c.level == ModLevel::FormFilling
                    && c.field
                        .as_deref()
                        .zip(s.field_lock.as_ref())
                        .is_some_and(|(name, lock)| lock.locks(name));
                s.modifications.push(Modification {
                    revision: r,
                    allowed: c.level <= max && !locked,
                    level: c.level,
                    description: if locked {
                        format!("{} (field locked by this signature's /Lock)", c.description)
                    } else {
                        c.description.clone()
                    },
                });
            }
        }
    }
    if let Some(last_signed) = signatures.iter().filter_map(|s| s.signed_revision).max() {
        for (r, list) in changes.iter().enumerate().skip(last_signed + 1) {
            let Some(worst) = list.iter().max_by_key(|c| c.level) else {
                continue;
            };
            let what = if worst.level == ModLevel::LtaUpdates {
                "adds validation data only (DSS, metadata)"
            } else {
                "changes the document"
            };
            findings.push(Finding::new(
                "PDF: revisions",
                format!("revision {r}"),
                format!(
                    "revision {r} is not covered by any signature or timestamp and {what}: {} change(s), e.g. {}",
                    list.len(),
                    worst.description
                ),
            ));
        }
    }

    // DSS per revision that changes it.
    let mut dss = Vec::new();
    let mut prev_shape = sig::DssShape::default();
    let mut prev_root = None;
    for (r, rev) in doc.revs.iter().enumerate() {
        // The DSS can only change where the catalog or one of its own objects is redefined.
        let root = (0..=r)
            .rev()
            .find_map(|i| doc.revs.get(i)?.trailer.get(b"Root")?.as_objref());
        let touched = root != prev_root
            || root.is_some_and(|id| rev.defs.contains_key(&id.0))
            || prev_shape.objects.iter().any(|n| rev.defs.contains_key(n))
            || prev_shape
                .certs
                .iter()
                .chain(&prev_shape.ocsps)
                .chain(&prev_shape.crls)
                .any(|(n, _)| rev.defs.contains_key(n));
        prev_root = root;
        if !touched {
            continue;
        }
        let shape = sig::dss_shape(&doc, r);
        if shape.present && shape != prev_shape {
            dss.push(sig::dss_info(&doc, r, &shape));
        }
        prev_shape = shape;
    }

    findings.extend(doc.take_findings());
    Ok(PdfSignatures {
        revisions,
        signatures,
        dss,
        findings,
    })
}
