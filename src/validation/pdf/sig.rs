//! Signature fields, signature dictionaries and the Document Security Store: finding every
//! signed `/FT /Sig` field through the AcroForm (fully qualified `/T` names, ISO 32000-1
//! §12.7.3.2), reading its `/V` dictionary (§12.8.1), checking `/ByteRange` against the
//! `/Contents` hole and the revision boundaries, DocMDP / FieldMDP permissions (§12.8.2),
//! and the DSS of each revision (ISO 32000-2 §12.8.4.3, ETSI EN 319 142-1 §5.4).
//!
//! Owns: reading these structures from a [`Doc`]. Must not touch: CMS parsing, hashing or
//! change classification (`diff`).

use std::collections::HashSet;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::doc::{Def, Doc, Loaded, R};
use super::lexer::{Dict, ObjId, Object, is_ws};
use super::{Check, DssInfo, FieldLock, PdfSigKind, PdfSignature, SubIndication};

/// Most form fields visited.
const MAX_FIELDS: usize = 100_000;
/// Most nesting of the field tree.
const MAX_FIELD_DEPTH: usize = 32;
/// Largest single DSS value decoded.
pub const MAX_DSS_VALUE: usize = 16 * 1024 * 1024;
/// Most DSS values read per revision.
const MAX_DSS_VALUES: usize = 10_000;

/// A signature field found in the AcroForm.
pub struct SigField {
    /// Fully qualified name.
    pub name: String,
    /// The field object (for the field's own extent and for `/Lock`).
    pub field: Option<std::rc::Rc<Loaded>>,
    /// The field dictionary when it is direct (in the `/Fields` array).
    pub field_direct: Option<Dict>,
}

impl SigField {
    fn dict(&self) -> Option<&Dict> {
        self.field
            .as_ref()
            .and_then(|l| l.obj.dict())
            .or(self.field_direct.as_ref())
    }
}

/// Walks the AcroForm field tree as of `rev` and returns the signature fields (with or
/// without `/V`), in tree order, and every field's fully qualified name keyed by object.
pub fn sig_fields(doc: &Doc<'_>, rev: usize) -> Vec<SigField> {
    let mut out = Vec::new();
    let Some(cat) = doc.catalog(rev) else {
        return out;
    };
    let Some(cat) = cat.obj.dict() else {
        return out;
    };
    let Some(af) = doc.dict_entry(cat, b"AcroForm", rev) else {
        return out;
    };
    let Some(afd) = af.dict() else { return out };
    let Some(fields) = afd.get(b"Fields").and_then(|f| doc.resolve(f, rev)) else {
        return out;
    };
    let Object::Array(items) = &*fields else {
        return out;
    };
    let mut seen = HashSet::new();
    let mut count = 0usize;
    for item in items {
        walk(doc, rev, item, "", None, 0, &mut seen, &mut count, &mut out);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn walk(
    doc: &Doc<'_>,
    rev: usize,
    item: &Object,
    parent: &str,
    inherited_ft: Option<&[u8]>,
    depth: usize,
    seen: &mut HashSet<ObjId>,
    count: &mut usize,
    out: &mut Vec<SigField>,
) {
    *count += 1;
    if depth > MAX_FIELD_DEPTH || *count > MAX_FIELDS {
        return;
    }
    if let Object::Ref(id) = item
        && !seen.insert(*id)
    {
        doc.note(
            format!("object {} {}", id.0, id.1),
            "form field tree contains a loop or a field listed twice",
        );
        return;
    }
    let Some(r) = doc.resolve(item, rev) else {
        return;
    };
    let Some(d) = r.dict() else { return };
    let name = match d.get(b"T") {
        Some(Object::Str(s)) => {
            let t = text_string(&s.bytes);
            if parent.is_empty() {
                t
            } else {
                format!("{parent}.{t}")
            }
        }
        _ => parent.to_string(),
    };
    let ft: Option<Vec<u8>> = d
        .name(b"FT")
        .map(<[u8]>::to_vec)
        .or(inherited_ft.map(<[u8]>::to_vec));
    if let Some(Object::Array(kids)) = d.get(b"Kids").and_then(|k| doc.resolve(k, rev)).as_deref() {
        for kid in kids {
            // Kids without /T are widgets of this field, not fields.
            let is_field = doc
                .resolve(kid, rev)
                .and_then(|k| {
                    k.dict()
                        .map(|kd| kd.get(b"T").is_some() || kd.get(b"Kids").is_some())
                })
                .unwrap_or(false);
            if is_field {
                walk(
                    doc,
                    rev,
                    kid,
                    &name,
                    ft.as_deref(),
                    depth + 1,
                    seen,
                    count,
                    out,
                );
            }
        }
    }
    if ft.as_deref() == Some(b"Sig") {
        let (field, field_direct) = match r {
            R::Loaded(l) => (Some(l), None),
            R::Direct(o) => (None, o.dict().cloned()),
        };
        out.push(SigField {
            name,
            field,
            field_direct,
        });
    }
}

/// A signature read from a field: the signature, its dictionary's object (when indirect)
/// and the file extent of its `/Contents` string (when it lies in the file).
pub type Found = (PdfSignature, Option<ObjId>, Option<(usize, usize)>);

/// Builds a [`PdfSignature`] from a signed field. `None` when the field has no `/V`.
pub fn signature(doc: &Doc<'_>, rev: usize, f: &SigField) -> Option<Found> {
    let fd = f.dict()?;
    let v = fd.get(b"V")?;
    let field_extent = f.field.as_ref().and_then(|l| l.extent);
    let (holder, sig_id, extent): (R<'_>, Option<ObjId>, Option<(usize, usize)>) = match v {
        Object::Ref((n, _)) => {
            let l = doc.get(*n, rev)?;
            let id = l.id;
            let ext = l.extent;
            (R::Loaded(l), Some(id), ext)
        }
        o @ Object::Dict(_) => (R::Direct(o), None, field_extent),
        _ => return None,
    };
    let d = holder.dict()?;
    let name_of = |k: &[u8]| {
        d.name(k)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default()
    };
    let filter = name_of(b"Filter");
    let sub_filter = name_of(b"SubFilter");
    let kind = if d.name(b"Type") == Some(b"DocTimeStamp") || sub_filter == "ETSI.RFC3161" {
        PdfSigKind::DocTimeStamp
    } else {
        PdfSigKind::Signature
    };
    let text = |k: &[u8]| match d.get(k).and_then(|o| doc.resolve(o, rev)).as_deref() {
        Some(Object::Str(s)) => Some(text_string(&s.bytes)),
        _ => None,
    };
    let m = text(b"M").and_then(|s| parse_date(&s));
    let (contents, contents_span, contents_problem) = match d.get(b"Contents") {
        Some(Object::Str(s)) if s.hex => (s.bytes.clone(), s.span, None),
        Some(Object::Str(s)) => (
            s.bytes.clone(),
            None,
            Some("/Contents is a literal string, not a hexadecimal string"),
        ),
        Some(Object::Ref(_)) => (
            doc.resolve(d.get(b"Contents")?, rev)
                .and_then(|o| match &*o {
                    Object::Str(s) => Some(s.bytes.clone()),
                    _ => None,
                })
                .unwrap_or_default(),
            None,
            Some("/Contents is an indirect object, not a direct hexadecimal string"),
        ),
        Some(_) => (Vec::new(), None, Some("/Contents is not a string")),
        None => (Vec::new(), None, Some("/Contents is missing")),
    };
    let (byte_range, br_problem): (Vec<i64>, Option<&str>) = match d.get(b"ByteRange") {
        Some(Object::Array(a)) => (
            a.iter()
                .map(|x| match x {
                    Object::Int(i) => *i,
                    Object::Real(r) => *r as i64,
                    _ => -1,
                })
                .collect(),
            a.iter()
                .any(|x| !matches!(x, Object::Int(_)))
                .then_some("/ByteRange has entries that are not integers"),
        ),
        Some(Object::Ref(_)) => (
            match doc.resolve(d.get(b"ByteRange")?, rev).as_deref() {
                Some(Object::Array(a)) => a.iter().map(|x| x.as_int().unwrap_or(-1)).collect(),
                _ => Vec::new(),
            },
            Some("/ByteRange is an indirect object"),
        ),
        Some(_) => (Vec::new(), Some("/ByteRange is not an array")),
        None => (Vec::new(), Some("/ByteRange is missing")),
    };
    let docmdp_p = docmdp(doc, rev, d);
    let field_lock = fd
        .get(b"Lock")
        .and_then(|l| doc.resolve(l, rev))
        .and_then(|l| l.dict().map(lock_of));
    let mut sig = PdfSignature {
        field_name: f.name.clone(),
        kind,
        filter,
        sub_filter,
        contents,
        byte_range,
        ranges: Vec::new(),
        byte_range_check: Check::Passed,
        signed_revision: None,
        covers_whole_file: false,
        m,
        name: text(b"Name"),
        reason: text(b"Reason"),
        location: text(b"Location"),
        contact_info: text(b"ContactInfo"),
        docmdp_p,
        field_lock,
        object: sig_id,
        modifications: Vec::new(),
    };
    let problem = if d.has_duplicate_keys() {
        Some("the signature dictionary has duplicate keys".to_string())
    } else {
        contents_problem.or(br_problem).map(str::to_string)
    };
    check_byte_range(doc, &mut sig, contents_span, extent, problem);
    Some((sig, sig_id, contents_span))
}

fn fail(reason: impl Into<String>) -> Check {
    Check::Failed {
        sub: SubIndication::FormatFailure,
        reason: reason.into(),
    }
}

/// Fills `ranges`, `signed_revision`, `covers_whole_file` and `byte_range_check`.
fn check_byte_range(
    doc: &Doc<'_>,
    sig: &mut PdfSignature,
    contents_span: Option<(usize, usize)>,
    extent: Option<(usize, usize)>,
    problem: Option<String>,
) {
    let len = doc.file.len();
    let br = &sig.byte_range;
    // The pairs, as long as they are non-negative and inside the file.
    let pairs: Option<Vec<(usize, usize)>> = (br.len().is_multiple_of(2) && !br.is_empty())
        .then(|| {
            br.chunks(2)
                .map(|p| {
                    let (Ok(o), Ok(l)) = (usize::try_from(p[0]), usize::try_from(p[1])) else {
                        return None;
                    };
                    (o.checked_add(l)? <= len).then_some((o, l))
                })
                .collect()
        })
        .flatten();
    if let Some(p) = &pairs {
        sig.ranges = p.clone();
    }
    let end = match (br.get(2), br.get(3)) {
        (Some(&b), Some(&c)) => b.checked_add(c).and_then(|e| usize::try_from(e).ok()),
        _ => None,
    };
    if let Some(e) = end {
        sig.signed_revision = doc.revs.iter().position(|r| r.eof == e || r.end == e);
        if let Some(i) = sig.signed_revision {
            let tail = doc.file.get(e..).unwrap_or(&[]);
            sig.covers_whole_file = i == doc.last() && tail.iter().all(|&b| is_ws(b));
        }
    }
    let check = (|| {
        if let Some(p) = problem {
            return fail(p);
        }
        if sig.contents.is_empty() || sig.contents.iter().all(|&b| b == 0) {
            return fail("/Contents is empty or all zero (no signature value)");
        }
        if br.len() != 4 {
            return fail(format!("/ByteRange has {} entries instead of 4", br.len()));
        }
        if br.iter().any(|&x| x < 0) {
            return fail("/ByteRange has negative entries");
        }
        let Some(pairs) = &pairs else {
            return fail(format!("/ByteRange points outside the file ({len} bytes)"));
        };
        let [(o1, l1), (o2, l2)] = [pairs[0], pairs[1]];
        if o1 != 0 {
            return fail("/ByteRange does not start at offset 0");
        }
        let Some((a, b)) = contents_span else {
            return fail(
                "the signature dictionary is not stored uncompressed in the file, so its /Contents cannot be located",
            );
        };
        if l1 != a || o2 != b {
            return fail(format!(
                "/ByteRange hole {l1}–{o2} is not this signature's /Contents string ({a}–{b})"
            ));
        }
        if o2 < l1 {
            return fail("/ByteRange ranges overlap");
        }
        let e = o2 + l2;
        if sig.signed_revision.is_none() {
            return fail(format!(
                "/ByteRange ends at {e}, which is not the end of a revision (%%EOF)"
            ));
        }
        if let Some((s, t)) = extent
            && (t > e || s >= a)
        {
            return fail("the signature dictionary is not inside the signed bytes");
        }
        Check::Passed
    })();
    sig.byte_range_check = check;
}

fn docmdp(doc: &Doc<'_>, rev: usize, d: &Dict) -> Option<u8> {
    let refs = d.get(b"Reference").and_then(|r| doc.resolve(r, rev))?;
    let Object::Array(items) = &*refs else {
        return None;
    };
    for it in items.iter().take(64) {
        let Some(sr) = doc.resolve(it, rev) else {
            continue;
        };
        let Some(sd) = sr.dict() else { continue };
        if sd.name(b"TransformMethod") != Some(b"DocMDP") {
            continue;
        }
        let p = sd
            .get(b"TransformParams")
            .and_then(|t| doc.resolve(t, rev))
            .and_then(|t| {
                t.dict()
                    .and_then(|td| td.get(b"P").and_then(Object::as_int))
            })
            .unwrap_or(2);
        return Some(u8::try_from(p.clamp(1, 3)).unwrap_or(2));
    }
    None
}

fn lock_of(d: &Dict) -> FieldLock {
    let action = d
        .name(b"Action")
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let fields = match d.get(b"Fields") {
        Some(Object::Array(a)) => a
            .iter()
            .filter_map(|f| match f {
                Object::Str(s) => Some(text_string(&s.bytes)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    FieldLock { action, fields }
}

/// A text string (ISO 32000-1 §7.9.2.2): UTF-16BE with BOM, UTF-8 with BOM (PDF 2.0), or
/// PDFDocEncoding (read as Latin-1 with the §D.2 differences that matter for names).
pub fn text_string(b: &[u8]) -> String {
    if let Some(rest) = b.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = b.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    b.iter()
        .map(|&c| match c {
            0x80 => '•',
            0x84 => '—',
            0x85 => '–',
            0x8d => '“',
            0x8e => '”',
            0x8f => '‘',
            0x90 => '’',
            0xa0 => '€',
            c => char::from(c),
        })
        .collect()
}

/// Parses a PDF date `D:YYYYMMDDHHmmSSOHH'mm'` (ISO 32000-1 §7.9.4); missing parts default.
pub fn parse_date(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    let s = s.strip_prefix("D:").unwrap_or(s);
    let b = s.as_bytes();
    let num = |from: usize, n: usize| -> Option<u32> {
        let part = b.get(from..from + n)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(part).ok()?.parse().ok())
            .flatten()
    };
    let year = num(0, 4)?;
    let month = num(4, 2).unwrap_or(1);
    let day = num(6, 2).unwrap_or(1);
    let hour = num(8, 2).unwrap_or(0);
    let minute = num(10, 2).unwrap_or(0);
    let second = num(12, 2).unwrap_or(0);
    let mut i = 4;
    for n in [num(4, 2), num(6, 2), num(8, 2), num(10, 2), num(12, 2)] {
        if n.is_some() {
            i += 2;
        } else {
            break;
        }
    }
    let offset = match b.get(i) {
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(i + 1, 2).unwrap_or(0);
            let om = num(i + 4, 2).or_else(|| num(i + 3, 2)).unwrap_or(0);
            let secs = i32::try_from(oh * 3600 + om * 60).ok()?;
            UtcOffset::from_whole_seconds(if sign == b'-' { -secs } else { secs }).ok()?
        }
        _ => UtcOffset::UTC,
    };
    let date = Date::from_calendar_date(
        i32::try_from(year).ok()?,
        Month::try_from(u8::try_from(month).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let time = Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second.min(59)).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// The objects (and where they are defined) that make up the DSS as of `rev`, plus the
/// VRI keys: a fingerprint to see whether a revision changed the DSS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DssShape {
    /// The DSS dictionary's object, when indirect.
    pub dss: Option<ObjId>,
    /// Streams of `/Certs`, `/OCSPs`, `/CRLs` with their definitions.
    pub certs: Vec<(u32, Option<(usize, Def)>)>,
    /// See `certs`.
    pub ocsps: Vec<(u32, Option<(usize, Def)>)>,
    /// See `certs`.
    pub crls: Vec<(u32, Option<(usize, Def)>)>,
    /// VRI keys.
    pub vri_keys: Vec<String>,
    /// Every object of the DSS structure (dictionary, arrays, VRI entries, streams).
    pub objects: Vec<u32>,
    /// Whether a DSS exists.
    pub present: bool,
}

/// Reads the DSS structure as of `rev` without decoding anything.
pub fn dss_shape(doc: &Doc<'_>, rev: usize) -> DssShape {
    let mut shape = DssShape::default();
    let Some(cat) = doc.catalog(rev) else {
        return shape;
    };
    let Some(cd) = cat.obj.dict() else {
        return shape;
    };
    let Some(dss_obj) = cd.get(b"DSS") else {
        return shape;
    };
    if let Object::Ref((n, _)) = dss_obj {
        shape.objects.push(*n);
        shape.dss = doc.get(*n, rev).map(|l| l.id);
    }
    let Some(dss) = doc.resolve(dss_obj, rev) else {
        return shape;
    };
    let Some(dd) = dss.dict() else { return shape };
    shape.present = true;
    let mut count = 0usize;
    let mut list = |key: &[u8], objects: &mut Vec<u32>| -> Vec<(u32, Option<(usize, Def)>)> {
        let mut out = Vec::new();
        let Some(v) = dd.get(key) else { return out };
        if let Object::Ref((n, _)) = v {
            objects.push(*n);
        }
        if let Some(Object::Array(items)) = doc.resolve(v, rev).as_deref() {
            for it in items {
                count += 1;
                if count > MAX_DSS_VALUES {
                    break;
                }
                if let Object::Ref((n, _)) = it {
                    objects.push(*n);
                    out.push((*n, doc.def_at(*n, rev)));
                }
            }
        }
        out
    };
    shape.certs = list(b"Certs", &mut shape.objects);
    shape.ocsps = list(b"OCSPs", &mut shape.objects);
    shape.crls = list(b"CRLs", &mut shape.objects);
    if let Some(v) = dd.get(b"VRI") {
        if let Object::Ref((n, _)) = v {
            shape.objects.push(*n);
        }
        if let Some(vri) = doc.resolve(v, rev)
            && let Some(vd) = vri.dict()
        {
            for (k, entry) in vd.0.iter().take(MAX_DSS_VALUES) {
                shape.vri_keys.push(String::from_utf8_lossy(k).into_owned());
                if let Object::Ref((n, _)) = entry {
                    shape.objects.push(*n);
                }
                let Some(e) = doc.resolve(entry, rev) else {
                    continue;
                };
                let Some(ed) = e.dict() else { continue };
                for key in [&b"Cert"[..], b"OCSP", b"CRL", b"TS"] {
                    let Some(x) = ed.get(key) else { continue };
                    if let Object::Ref((n, _)) = x {
                        shape.objects.push(*n);
                    }
                    if let Some(Object::Array(items)) = doc.resolve(x, rev).as_deref() {
                        for it in items.iter().take(MAX_DSS_VALUES) {
                            if let Object::Ref((n, _)) = it {
                                shape.objects.push(*n);
                            }
                        }
                    }
                }
            }
            shape.vri_keys.sort();
        }
    }
    shape.objects.sort_unstable();
    shape.objects.dedup();
    shape
}

/// Decodes the DSS values of `shape` (as of `rev`).
pub fn dss_info(doc: &Doc<'_>, rev: usize, shape: &DssShape) -> DssInfo {
    let values = |list: &[(u32, Option<(usize, Def)>)]| -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for (n, _) in list {
            let Some(l) = doc.get(*n, rev) else { continue };
            match &l.obj {
                Object::Stream(s) => match doc.decode_stream(s, MAX_DSS_VALUE) {
                    Ok(v) => out.push(v),
                    Err(e) => {
                        doc.note(format!("DSS object {n}"), format!("cannot be decoded: {e}"))
                    }
                },
                _ => doc.note(format!("DSS object {n}"), "is not a stream"),
            }
        }
        out
    };
    DssInfo {
        revision: rev,
        object: shape.dss,
        certs: values(&shape.certs),
        ocsps: values(&shape.ocsps),
        crls: values(&shape.crls),
        vri_keys: shape.vri_keys.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_text() {
        let d = parse_date("D:20201101120000+01'00'").unwrap();
        assert_eq!(d.unix_timestamp(), 1_604_228_400);
        assert_eq!(parse_date("D:2020").unwrap().year(), 2020);
        assert!(parse_date("garbage").is_none());
        assert_eq!(text_string(b"\xfe\xff\x00A\x00\xe9"), "Aé");
        assert_eq!(text_string(b"Sig1"), "Sig1");
    }
}
