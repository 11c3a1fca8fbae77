//! PAdES-BASELINE-B sealing of a finished job: merge the job's documents, append the signature
//! page, and sign the result with the seal key in one clean PDF revision.
//!
//! This file owns the PDF assembly (object import and renumbering, page tree, AcroForm with an
//! invisible signature field, `/Info`) and the byte-exact signature placement (`/ByteRange`
//! computed around the `/Contents` hex string, SHA-256 over the covered bytes, CMS spliced in).
//! It must not decide job state, must not alter the input documents' page content, and must not
//! do any I/O: input and output are byte buffers.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat, dictionary};

use crate::sealing::SealError;
use crate::sealing::cms::build_detached_signed_data;
use crate::sealing::keys::SealKey;
use crate::sealing::page;
use crate::sealing::pdf::{self, PdfError, guarded};

/// Bytes reserved for the DER CMS container in `/Contents` (written as twice as many hex
/// digits). Leaves room for a signature timestamp token to be added later.
pub const CONTENTS_RESERVED: usize = 16 * 1024;

/// The `/Reason` written into the signature dictionary.
pub const SEAL_REASON: &str = "Sealed by signgate after all signers signed";

/// Width of each `/ByteRange` number field.
const BYTE_RANGE_DIGITS: usize = 10;

/// One document of the job, in the order it should appear.
#[derive(Debug, Clone)]
pub struct SealDocument {
    /// Title shown on the signature page.
    pub title: String,
    /// The PDF as uploaded.
    pub bytes: Vec<u8>,
}

/// One signer of the job, as shown on the signature page.
#[derive(Debug, Clone)]
pub struct SealSigner {
    /// Display name.
    pub name: String,
    /// National identity number (masked on the page) or eIDAS identifier (shown).
    pub identifier: String,
    /// Identity provider that authenticated the signer.
    pub idp: String,
    /// Level of assurance of that authentication.
    pub loa: String,
    /// When the signer signed.
    pub signed_at: time::OffsetDateTime,
}

/// Everything needed to seal a job.
#[derive(Debug, Clone)]
pub struct SealInput {
    /// Job identifier.
    pub job_id: String,
    /// Job title; also the sealed PDF's `/Info /Title`.
    pub title: String,
    /// Sender organisation name.
    pub sender_name: String,
    /// Sender organisation number.
    pub sender_orgnr: String,
    /// Documents in order.
    pub documents: Vec<SealDocument>,
    /// Signers in order.
    pub signers: Vec<SealSigner>,
    /// Sealing time, written to the signature dictionary `/M`.
    pub sealed_at: time::OffsetDateTime,
}

/// Merges the job's documents, appends the signature page and applies a PAdES-BASELINE-B
/// signature with `key`. Returns the sealed PDF.
pub fn seal(input: &SealInput, key: &SealKey) -> Result<Vec<u8>, SealError> {
    if input.documents.is_empty() {
        return Err(SealError::NoDocuments);
    }
    let digests: Vec<[u8; 32]> = input
        .documents
        .iter()
        .map(|d| {
            let mut out = [0u8; 32];
            out.copy_from_slice(digest::digest(&digest::SHA256, &d.bytes).as_ref());
            out
        })
        .collect();

    let (body, sig_id) = assemble(input, &digests)?;
    let mut prepared = place_signature_dictionary(body, sig_id, input, key)?;

    // The CMS digest algorithm is the seal key's (SHA-384 for ECDSA P-384).
    let mut ctx = key.digest_algorithm().hasher();
    ctx.update(&prepared.bytes[..prepared.contents_start]);
    ctx.update(&prepared.bytes[prepared.contents_end..]);
    let content_digest = ctx.finish();

    let cms = build_detached_signed_data(content_digest.as_ref(), key)?;
    if cms.len() > CONTENTS_RESERVED {
        return Err(SealError::SignatureTooLarge {
            needed: cms.len(),
            reserved: CONTENTS_RESERVED,
        });
    }
    // Hex digits go between '<' and '>'; the zero padding after them stays.
    let hex_area = &mut prepared.bytes[prepared.contents_start + 1..prepared.contents_end - 1];
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for (i, b) in cms.iter().enumerate() {
        hex_area[2 * i] = HEX[usize::from(b >> 4)];
        hex_area[2 * i + 1] = HEX[usize::from(b & 0x0f)];
    }
    Ok(prepared.bytes)
}

struct Prepared {
    bytes: Vec<u8>,
    /// Offset of the `<` that opens `/Contents`.
    contents_start: usize,
    /// Offset just past the `>` that closes `/Contents`.
    contents_end: usize,
}

// ---------------------------------------------------------------------------------------------
// Assembly
// ---------------------------------------------------------------------------------------------

fn assemble_err(msg: impl Into<String>) -> SealError {
    SealError::Assemble(msg.into())
}

/// Builds the merged document and writes it with lopdf. The signature dictionary is the object
/// with the highest number, so lopdf writes it last, right before the xref table; it is a stub
/// that [`place_signature_dictionary`] replaces byte-exactly.
fn assemble(input: &SealInput, digests: &[[u8; 32]]) -> Result<(Vec<u8>, u32), SealError> {
    let mut out = Document::with_version("1.7");
    // A classic xref table: the signature splice below relies on its layout.
    out.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceTable;
    let pages_id = out.new_object_id();
    let mut kids: Vec<Object> = Vec::new();
    let mut form = FormParts::default();
    let mut version = (1u32, 7u32);
    let mut total_input = 0usize;

    for (index, d) in input.documents.iter().enumerate() {
        total_input += d.bytes.len();
        let doc_err = |source: PdfError| SealError::Document {
            index,
            title: d.title.clone(),
            source,
        };
        let doc = pdf::load_document(&d.bytes).map_err(doc_err)?;
        version = version.max(parse_version(&doc.version));
        let first_id = out.max_id + 1;
        let imported = guarded(|| import_document(doc, first_id, pages_id))
            .and_then(|r| r)
            .map_err(doc_err)?;
        out.max_id = imported.next_id - 1;
        kids.extend(imported.pages.into_iter().map(Object::Reference));
        form.absorb(imported.form);
        out.objects.extend(imported.objects);
    }

    // Signature page(s) and the invisible signature field on the first of them.
    let sig_pages = page::add_signature_pages(&mut out, pages_id, input, digests)?;
    let first_sig_page = *sig_pages
        .first()
        .ok_or_else(|| assemble_err("no signature page generated"))?;
    kids.extend(sig_pages.iter().copied().map(Object::Reference));
    let page_count = kids.len();

    let field_id = out.new_object_id();
    let field_name = form.unique_field_name("signgate-seal");
    out.objects.insert(
        field_id,
        Object::Dictionary(dictionary! {
            "Type" => "Annot",
            "Subtype" => "Widget",
            "FT" => "Sig",
            "T" => Object::String(text_string(&field_name), StringFormat::Literal),
            "F" => 132, // Print | Locked
            "Rect" => vec![0.into(), 0.into(), 0.into(), 0.into()],
            "P" => first_sig_page,
        }),
    );
    if let Ok(page) = out.get_dictionary_mut(first_sig_page) {
        page.set("Annots", vec![Object::Reference(field_id)]);
    }
    out.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => i64::try_from(page_count).unwrap_or(i64::MAX),
        }),
    );

    let mut acroform = Dictionary::new();
    let mut fields = form.fields;
    fields.push(Object::Reference(field_id));
    acroform.set("Fields", fields);
    acroform.set("SigFlags", 3);
    if let Some(dr) = form.dr {
        acroform.set("DR", dr);
    }
    if let Some(da) = form.da {
        acroform.set("DA", da);
    }
    let catalog_id = out.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
        "AcroForm" => acroform,
    });
    let date = pdf_date(input.sealed_at);
    let info_id = out.add_object(dictionary! {
        "Title" => Object::String(text_string(&input.title), StringFormat::Literal),
        "Producer" => Object::string_literal("signgate"),
        "CreationDate" => Object::string_literal(date.clone()),
        "ModDate" => Object::string_literal(date),
    });

    // The signature dictionary must be the last object written: give it the highest number.
    let sig_id = out.new_object_id();
    if let Ok(field) = out.get_dictionary_mut(field_id) {
        field.set("V", sig_id);
    }
    out.objects
        .insert(sig_id, Object::Dictionary(dictionary! { "Type" => "Sig" }));

    let mut file_id = [0u8; 16];
    SystemRandom::new()
        .fill(&mut file_id)
        .map_err(|_| assemble_err("random number generator failed"))?;
    out.trailer.set("Root", catalog_id);
    out.trailer.set("Info", info_id);
    out.trailer.set(
        "ID",
        vec![
            Object::String(file_id.to_vec(), StringFormat::Hexadecimal),
            Object::String(file_id.to_vec(), StringFormat::Hexadecimal),
        ],
    );
    out.version = format!("{}.{}", version.0, version.1);

    let mut buf = Vec::with_capacity(total_input + 2 * CONTENTS_RESERVED + 16 * 1024);
    guarded(|| out.save_to(&mut buf))
        .map_err(|e| assemble_err(e.to_string()))?
        .map_err(|e| assemble_err(format!("writing PDF: {e}")))?;
    Ok((buf, sig_id.0))
}

fn parse_version(v: &str) -> (u32, u32) {
    let mut it = v.trim().split('.');
    let major = it.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let minor = it.next().and_then(|s| s.parse().ok()).unwrap_or(7);
    // Only versions we know how to write.
    if (major, minor) > (2, 0) || major == 0 {
        (1, 7)
    } else {
        (major, minor)
    }
}

#[derive(Default)]
struct FormParts {
    fields: Vec<Object>,
    names: HashSet<Vec<u8>>,
    dr: Option<Object>,
    da: Option<Object>,
}

impl FormParts {
    fn absorb(&mut self, other: FormParts) {
        self.fields.extend(other.fields);
        self.names.extend(other.names);
        if self.dr.is_none() {
            self.dr = other.dr;
        }
        if self.da.is_none() {
            self.da = other.da;
        }
    }

    fn unique_field_name(&self, base: &str) -> String {
        let mut name = base.to_string();
        let mut n = 1;
        while self.names.contains(&text_string(&name)) || self.names.contains(name.as_bytes()) {
            n += 1;
            name = format!("{base}-{n}");
        }
        name
    }
}

struct Imported {
    objects: Vec<(ObjectId, Object)>,
    pages: Vec<ObjectId>,
    form: FormParts,
    next_id: u32,
}

/// Keys a page can inherit from its ancestors (ISO 32000-1 §7.7.3.4).
const INHERITABLE: [&[u8]; 4] = [b"MediaBox", b"CropBox", b"Resources", b"Rotate"];

/// Moves the pages of `doc` (and every object they or the form fields reach) into fresh object
/// numbers starting at `first_id`. Page tree nodes, the catalog and objects nothing on a page
/// refers to are left behind; references to objects that do not exist become `null`.
fn import_document(
    mut doc: Document,
    first_id: u32,
    pages_id: ObjectId,
) -> Result<Imported, PdfError> {
    // A hostile page tree may list a page twice; keep the first occurrence.
    let mut unique = HashSet::new();
    let page_ids: Vec<ObjectId> = doc.page_iter().filter(|p| unique.insert(*p)).collect();
    if page_ids.is_empty() {
        return Err(PdfError::NoPages);
    }

    // Resolve inherited attributes onto each page before its parents are dropped.
    for &pid in &page_ids {
        let mut inherited: Vec<(&[u8], Object)> = Vec::new();
        for key in INHERITABLE {
            if let Some(v) = inherited_attribute(&doc, pid, key) {
                inherited.push((key, v));
            }
        }
        let Ok(page) = doc.get_dictionary_mut(pid) else {
            return Err(PdfError::Malformed("page is not a dictionary".into()));
        };
        for (key, v) in inherited {
            page.set(key.to_vec(), v);
        }
        if !page.has(b"MediaBox") {
            page.set(
                "MediaBox",
                vec![
                    0.into(),
                    0.into(),
                    Object::Real(page::A4_WIDTH),
                    Object::Real(page::A4_HEIGHT),
                ],
            );
        }
        if !page.has(b"Resources") {
            page.set("Resources", Dictionary::new());
        }
    }

    // Existing form fields (signature fields lose their now-broken values).
    let mut form = FormParts::default();
    let mut roots: Vec<ObjectId> = page_ids.clone();
    if let Some(acroform) = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"AcroForm").ok())
        .and_then(|a| doc.dereference(a).ok())
        .and_then(|(_, a)| a.as_dict().ok())
    {
        if let Some(Object::Array(fields)) = acroform
            .get(b"Fields")
            .ok()
            .and_then(|f| doc.dereference(f).ok())
            .map(|(_, f)| f)
        {
            for f in fields {
                if let Object::Reference(id) = f {
                    roots.push(*id);
                    form.fields.push(Object::Reference(*id));
                    if let Ok(Object::String(t, _)) =
                        doc.get_dictionary(*id).and_then(|d| d.get(b"T"))
                    {
                        form.names.insert(t.clone());
                    }
                }
            }
        }
        if let Ok(dr) = acroform.get(b"DR") {
            form.dr = Some(dr.clone());
            collect_refs(dr, &mut roots);
        }
        if let Ok(da) = acroform.get(b"DA") {
            form.da = Some(da.clone());
        }
    }

    // Objects that must not be carried over even if something points at them.
    let skip = |o: &Object| -> bool {
        matches!(
            o.type_name(),
            Ok(b"Catalog" | b"Pages" | b"ObjStm" | b"XRef" | b"Linearized")
        )
    };
    let page_set: HashSet<ObjectId> = page_ids.iter().copied().collect();

    // Reachability from the pages and form, in discovery order.
    let mut order: Vec<ObjectId> = Vec::new();
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut queue: Vec<ObjectId> = roots;
    let mut refs: Vec<ObjectId> = Vec::new();
    while let Some(id) = queue.pop() {
        if !seen.insert(id) {
            continue;
        }
        let Some(obj) = doc.objects.get(&id) else {
            continue;
        };
        if skip(obj) && !page_set.contains(&id) {
            continue;
        }
        order.push(id);
        refs.clear();
        if page_set.contains(&id) {
            if let Object::Dictionary(d) = obj {
                for (k, v) in d.iter() {
                    if k.as_slice() != b"Parent" {
                        collect_refs(v, &mut refs);
                    }
                }
            }
        } else {
            collect_refs(obj, &mut refs);
        }
        queue.extend(refs.iter().copied().filter(|r| !seen.contains(r)));
    }

    // New numbers in old-number order (keeps related objects together).
    order.sort_unstable();
    let mut map: HashMap<ObjectId, ObjectId> = HashMap::with_capacity(order.len());
    let mut next = first_id;
    for &old in &order {
        map.insert(old, (next, 0));
        next = next
            .checked_add(1)
            .ok_or_else(|| PdfError::Malformed("too many objects".into()))?;
    }

    let mut objects = Vec::with_capacity(order.len());
    for old in order {
        let Some(mut obj) = doc.objects.remove(&old) else {
            continue;
        };
        rewrite_refs(&mut obj, &map);
        if let Object::Dictionary(d) = &mut obj {
            if page_set.contains(&old) {
                d.set("Parent", pages_id);
            }
            let is_sig_field = matches!(d.get(b"FT"), Ok(Object::Name(n)) if n == b"Sig");
            if is_sig_field && d.has(b"V") {
                // A signature over the original file cannot survive merging; drop its value so
                // validators do not report a broken signature, but keep the field.
                d.remove(b"V");
                d.remove(b"Lock");
            }
        }
        if let Some(&new) = map.get(&old) {
            objects.push((new, obj));
        }
    }
    for f in &mut form.fields {
        rewrite_refs(f, &map);
    }
    form.fields.retain(|f| !f.is_null());
    if let Some(dr) = &mut form.dr {
        rewrite_refs(dr, &map);
    }
    let pages = page_ids
        .iter()
        .filter_map(|p| map.get(p).copied())
        .collect();
    Ok(Imported {
        objects,
        pages,
        form,
        next_id: next,
    })
}

/// Looks a key up on the page and then its ancestors, stopping on cycles.
fn inherited_attribute(doc: &Document, page: ObjectId, key: &[u8]) -> Option<Object> {
    let mut current = page;
    let mut visited = HashSet::new();
    while visited.insert(current) {
        let node = doc.get_dictionary(current).ok()?;
        if let Ok(v) = node.get(key) {
            match doc.dereference(v) {
                Ok((_, Object::Null)) | Err(_) => {}
                Ok((_, resolved)) => {
                    // Keep indirect references (shared resources); inline only what a missing
                    // object would otherwise break.
                    return Some(match v {
                        Object::Reference(_) => v.clone(),
                        _ => resolved.clone(),
                    });
                }
            }
        }
        current = node.get(b"Parent").ok()?.as_reference().ok()?;
    }
    None
}

/// Appends every reference inside `obj` to `out` (iteratively: no recursion on hostile input).
fn collect_refs(obj: &Object, out: &mut Vec<ObjectId>) {
    let mut stack: Vec<&Object> = vec![obj];
    while let Some(o) = stack.pop() {
        match o {
            Object::Reference(id) => out.push(*id),
            Object::Array(a) => stack.extend(a.iter()),
            Object::Dictionary(d) => stack.extend(d.iter().map(|(_, v)| v)),
            Object::Stream(s) => stack.extend(s.dict.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// Renumbers references with `map`; references to objects not carried over become `null`.
fn rewrite_refs(obj: &mut Object, map: &HashMap<ObjectId, ObjectId>) {
    let mut stack: Vec<&mut Object> = vec![obj];
    while let Some(o) = stack.pop() {
        if let Object::Reference(id) = *o {
            *o = match map.get(&id) {
                Some(&new) => Object::Reference(new),
                None => Object::Null,
            };
            continue;
        }
        match o {
            Object::Array(a) => stack.extend(a.iter_mut()),
            Object::Dictionary(d) => stack.extend(d.iter_mut().map(|(_, v)| v)),
            Object::Stream(s) => stack.extend(s.dict.iter_mut().map(|(_, v)| v)),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Signature placement
// ---------------------------------------------------------------------------------------------

/// Replaces the stub signature object (the last object lopdf wrote) with the real signature
/// dictionary, copies the xref table and trailer unchanged (no offset before the stub moved),
/// rewrites `startxref`, and fills in `/ByteRange`.
fn place_signature_dictionary(
    body: Vec<u8>,
    sig_id: u32,
    input: &SealInput,
    key: &SealKey,
) -> Result<Prepared, SealError> {
    let startxref = pdf::rfind(&body, b"startxref")
        .ok_or_else(|| assemble_err("writer produced no startxref"))?;
    let xref_at = parse_usize_after(&body[startxref + b"startxref".len()..])
        .ok_or_else(|| assemble_err("cannot read startxref offset"))?;
    if xref_at >= startxref || !body[xref_at..].starts_with(b"xref") {
        return Err(assemble_err("unexpected xref layout"));
    }
    let header = format!("\n{sig_id} 0 obj\n");
    let sig_obj_at = pdf::rfind(&body[..xref_at], header.as_bytes())
        .map(|p| p + 1)
        .ok_or_else(|| assemble_err("signature object not found"))?;

    let mut out = Vec::with_capacity(body.len() + 2 * CONTENTS_RESERVED + 1024);
    out.extend_from_slice(&body[..sig_obj_at]);

    // The signature dictionary, written by hand so every offset is known.
    let name = key
        .subject_common_name()
        .unwrap_or_else(|| "signgate seal".to_string());
    let _ = write!(
        out,
        "{sig_id} 0 obj\n<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/M"
    );
    write_pdf_string(&mut out, pdf_date(input.sealed_at).as_bytes());
    out.extend_from_slice(b"/Name");
    write_pdf_string(&mut out, &text_string(&name));
    out.extend_from_slice(b"/Reason");
    write_pdf_string(&mut out, &text_string(SEAL_REASON));
    out.extend_from_slice(b"/ByteRange[");
    let byte_range_at = out.len();
    let byte_range_len = 1 + 3 * (BYTE_RANGE_DIGITS + 1);
    out.resize(out.len() + byte_range_len, b' ');
    out.extend_from_slice(b"]/Contents");
    let contents_start = out.len();
    out.push(b'<');
    out.resize(out.len() + 2 * CONTENTS_RESERVED, b'0');
    out.push(b'>');
    let contents_end = out.len();
    out.extend_from_slice(b">>\nendobj\n");

    let new_xref_at = out.len();
    out.extend_from_slice(&body[xref_at..startxref]);
    let _ = write!(out, "startxref\n{new_xref_at}\n%%EOF\n");
    drop(body);

    let tail = out.len() - contents_end;
    let numbers = format!("0 {contents_start} {contents_end} {tail}");
    if numbers.len() > byte_range_len {
        return Err(assemble_err("document too large for the ByteRange field"));
    }
    out[byte_range_at..byte_range_at + numbers.len()].copy_from_slice(numbers.as_bytes());

    Ok(Prepared {
        bytes: out,
        contents_start,
        contents_end,
    })
}

fn parse_usize_after(bytes: &[u8]) -> Option<usize> {
    let digits: Vec<u8> = bytes
        .iter()
        .copied()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(u8::is_ascii_digit)
        .take(20)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// A PDF text string: PDFDocEncoding-compatible ASCII as is, anything else UTF-16BE with BOM.
fn text_string(s: &str) -> Vec<u8> {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        s.as_bytes().to_vec()
    } else {
        let mut v = vec![0xfe, 0xff];
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_be_bytes());
        }
        v
    }
}

/// Writes a string object: literal when printable ASCII, hexadecimal otherwise.
fn write_pdf_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.iter().all(|b| (0x20..0x7f).contains(b)) {
        out.push(b'(');
        for &b in s {
            if matches!(b, b'(' | b')' | b'\\') {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b')');
    } else {
        out.push(b'<');
        out.extend_from_slice(hex::encode_upper(s).as_bytes());
        out.push(b'>');
    }
}

/// `D:YYYYMMDDHHmmSSZ` in UTC.
pub fn pdf_date(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
