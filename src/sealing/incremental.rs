//! Byte-exact PDF writing for sealing: indirect objects framed exactly as lopdf frames them,
//! classic cross-reference sections, signature dictionaries whose `/ByteRange` and `/Contents`
//! are placed and patched in place, and the incremental updates that raise a seal to
//! PAdES-BASELINE-LTA (ETSI EN 319 142-1 §5.4, ISO 32000-2 §12.8): a revision adding a
//! Document Security Store (`/DSS` with `/Certs`, `/OCSPs`, `/CRLs` and a `/VRI` entry), and a
//! revision adding a document timestamp (`/Type /DocTimeStamp`, `/SubFilter /ETSI.RFC3161`)
//! in a new invisible signature field.
//!
//! Owns: file offsets, xref tables and trailers, the DSS and document-timestamp objects.
//! Must not: parse or alter earlier revisions (an update only appends), decide what gets
//! signed or fetched (the caller hands over CMS containers, tokens and [`LtvData`]).

use std::collections::HashSet;
use std::io::Write as _;

use lopdf::{Dictionary, Object, ObjectId, StringFormat, Writer, dictionary};

use crate::sealing::SealError;
use crate::sealing::ltv::LtvData;
use crate::validation::crypto::DigestAlg;

/// Width of each `/ByteRange` number field.
const BYTE_RANGE_DIGITS: usize = 10;

pub(crate) fn write_err(msg: impl Into<String>) -> SealError {
    SealError::Assemble(msg.into())
}

/// Appends `id 0 obj … endobj` for `obj` with the same separators lopdf's `Document::save`
/// uses, and records the offset.
pub(crate) fn write_object(
    buf: &mut Vec<u8>,
    offsets: &mut Vec<(u32, usize)>,
    id: u32,
    obj: &Object,
) -> Result<(), SealError> {
    offsets.push((id, buf.len()));
    let _ = write!(
        buf,
        "{id} 0 obj\n{}",
        if Writer::need_separator(obj) { " " } else { "" }
    );
    Writer::write_object(buf, obj).map_err(|e| write_err(format!("writing object {id}: {e}")))?;
    let _ = writeln!(
        buf,
        "{}\nendobj",
        if Writer::need_end_separator(obj) {
            " "
        } else {
            ""
        }
    );
    Ok(())
}

/// Appends a stream object whose data is `data`, unfiltered, with `/Length` added to `dict`.
/// The data is copied straight into `buf` (no intermediate `Stream`).
pub(crate) fn write_raw_stream(
    buf: &mut Vec<u8>,
    offsets: &mut Vec<(u32, usize)>,
    id: u32,
    mut dict: Dictionary,
    data: &[u8],
) -> Result<(), SealError> {
    dict.set(
        "Length",
        i64::try_from(data.len()).map_err(|_| write_err("stream too long"))?,
    );
    offsets.push((id, buf.len()));
    let _ = writeln!(buf, "{id} 0 obj");
    Writer::write_object(buf, &Object::Dictionary(dict))
        .map_err(|e| write_err(format!("writing object {id}: {e}")))?;
    buf.extend_from_slice(b"stream\n");
    buf.extend_from_slice(data);
    buf.extend_from_slice(b"\nendstream\nendobj\n");
    Ok(())
}

/// Appends a stream object whose data is `data` compressed with `/FlateDecode` (straight into
/// `buf`, no intermediate copy), and object `length_id` with its `/Length`. Used for embedded
/// files, so that an embedded PDF's own `startxref`/`%%EOF` never appear in the file.
pub(crate) fn write_flate_stream(
    buf: &mut Vec<u8>,
    offsets: &mut Vec<(u32, usize)>,
    id: u32,
    length_id: u32,
    mut dict: Dictionary,
    data: &[u8],
) -> Result<(), SealError> {
    dict.set("Filter", "FlateDecode");
    dict.set("Length", Object::Reference((length_id, 0)));
    offsets.push((id, buf.len()));
    let _ = writeln!(buf, "{id} 0 obj");
    Writer::write_object(buf, &Object::Dictionary(dict))
        .map_err(|e| write_err(format!("writing object {id}: {e}")))?;
    buf.extend_from_slice(b"stream\n");
    let start = buf.len();
    {
        let mut z = flate2::write::ZlibEncoder::new(&mut *buf, flate2::Compression::fast());
        z.write_all(data)
            .and_then(|_| z.finish().map(|_| ()))
            .map_err(|e| write_err(format!("compressing object {id}: {e}")))?;
    }
    let length = buf.len() - start;
    buf.extend_from_slice(b"\nendstream\nendobj\n");
    offsets.push((length_id, buf.len()));
    let _ = writeln!(buf, "{length_id} 0 obj\n{length}\nendobj");
    Ok(())
}

/// Writes an `xref` section for `offsets` (subsections per run of consecutive numbers; object
/// 0 as the head of the free list when `with_zero`), the trailer and `startxref`. Returns the
/// offset of the section.
pub(crate) fn write_xref_and_trailer(
    buf: &mut Vec<u8>,
    offsets: &mut [(u32, usize)],
    with_zero: bool,
    trailer: &Dictionary,
) -> Result<usize, SealError> {
    offsets.sort_unstable_by_key(|(id, _)| *id);
    let xref_at = buf.len();
    buf.extend_from_slice(b"xref\n");
    let mut entries: Vec<(u32, Option<usize>)> = Vec::with_capacity(offsets.len() + 1);
    if with_zero {
        entries.push((0, None));
    }
    entries.extend(offsets.iter().map(|&(id, off)| (id, Some(off))));
    let mut i = 0;
    while i < entries.len() {
        let start = entries[i].0;
        let mut j = i + 1;
        while j < entries.len() && entries[j].0 == entries[j - 1].0 + 1 {
            j += 1;
        }
        let _ = writeln!(buf, "{start} {}", j - i);
        for (_, off) in &entries[i..j] {
            match off {
                None => buf.extend_from_slice(b"0000000000 65535 f \n"),
                Some(o) => {
                    if *o > 9_999_999_999 {
                        return Err(write_err("document too large for a cross-reference table"));
                    }
                    let _ = writeln!(buf, "{o:010} 00000 n ");
                }
            }
        }
        i = j;
    }
    buf.extend_from_slice(b"trailer\n");
    Writer::write_object(buf, &Object::Dictionary(trailer.clone()))
        .map_err(|e| write_err(format!("writing trailer: {e}")))?;
    let _ = write!(buf, "\nstartxref\n{xref_at}\n%%EOF\n");
    Ok(xref_at)
}

/// What a signature dictionary is.
pub(crate) enum SigKind<'a> {
    /// A CAdES-detached signature (the seal): `/M`, `/Name`, `/Reason`.
    CadesDetached {
        m: &'a str,
        name: &'a [u8],
        reason: &'a [u8],
    },
    /// A document timestamp (RFC 3161 token over the byte ranges).
    DocTimeStamp,
}

/// Where a written signature dictionary's variable parts are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SigSlots {
    /// Offset of the `/ByteRange` number field.
    byte_range_at: usize,
    /// Offset of the `<` that opens `/Contents`.
    pub contents_start: usize,
    /// Offset just past the `>` that closes `/Contents`.
    pub contents_end: usize,
}

/// Appends a signature dictionary object with a zero-filled `/Contents` of `reserved` bytes
/// and a blank `/ByteRange` to be patched by [`patch_byte_range`].
pub(crate) fn write_sig_dict(
    buf: &mut Vec<u8>,
    offsets: &mut Vec<(u32, usize)>,
    id: u32,
    kind: &SigKind<'_>,
    reserved: usize,
) -> SigSlots {
    offsets.push((id, buf.len()));
    let _ = write!(buf, "{id} 0 obj\n<<");
    match kind {
        SigKind::CadesDetached { m, name, reason } => {
            buf.extend_from_slice(
                b"/Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/M",
            );
            write_pdf_string(buf, m.as_bytes());
            buf.extend_from_slice(b"/Name");
            write_pdf_string(buf, name);
            buf.extend_from_slice(b"/Reason");
            write_pdf_string(buf, reason);
        }
        SigKind::DocTimeStamp => {
            buf.extend_from_slice(
                b"/Type/DocTimeStamp/Filter/Adobe.PPKLite/SubFilter/ETSI.RFC3161",
            );
        }
    }
    buf.extend_from_slice(b"/ByteRange[");
    let byte_range_at = buf.len();
    buf.resize(buf.len() + byte_range_len(), b' ');
    buf.extend_from_slice(b"]/Contents");
    let contents_start = buf.len();
    buf.push(b'<');
    buf.resize(buf.len() + 2 * reserved, b'0');
    buf.push(b'>');
    let contents_end = buf.len();
    buf.extend_from_slice(b">>\nendobj\n");
    SigSlots {
        byte_range_at,
        contents_start,
        contents_end,
    }
}

fn byte_range_len() -> usize {
    1 + 3 * (BYTE_RANGE_DIGITS + 1)
}

/// Fills in `/ByteRange` once the file is complete: everything but `/Contents`, to the end.
pub(crate) fn patch_byte_range(buf: &mut [u8], slots: &SigSlots) -> Result<(), SealError> {
    let tail = buf.len() - slots.contents_end;
    let numbers = format!("0 {} {} {tail}", slots.contents_start, slots.contents_end);
    if numbers.len() > byte_range_len() {
        return Err(write_err("document too large for the ByteRange field"));
    }
    buf[slots.byte_range_at..slots.byte_range_at + numbers.len()]
        .copy_from_slice(numbers.as_bytes());
    Ok(())
}

/// The digest with `alg` of the bytes `/ByteRange` covers.
pub(crate) fn byte_range_digest(buf: &[u8], slots: &SigSlots, alg: DigestAlg) -> Vec<u8> {
    let mut h = alg.hasher();
    h.update(&buf[..slots.contents_start]);
    h.update(&buf[slots.contents_end..]);
    h.finish()
}

/// Writes `der` as hex into the reserved `/Contents` (the zero padding after it stays).
pub(crate) fn fill_contents(buf: &mut [u8], slots: &SigSlots, der: &[u8]) -> Result<(), SealError> {
    let reserved = (slots.contents_end - slots.contents_start - 2) / 2;
    if der.len() > reserved {
        return Err(SealError::SignatureTooLarge {
            needed: der.len(),
            reserved,
        });
    }
    let hex_area = &mut buf[slots.contents_start + 1..slots.contents_end - 1];
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for (i, b) in der.iter().enumerate() {
        hex_area[2 * i] = HEX[usize::from(b >> 4)];
        hex_area[2 * i + 1] = HEX[usize::from(b & 0x0f)];
    }
    Ok(())
}

/// A PDF text string: PDFDocEncoding-compatible ASCII as is, anything else UTF-16BE with BOM.
pub(crate) fn text_string(s: &str) -> Vec<u8> {
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
pub(crate) fn write_pdf_string(out: &mut Vec<u8>, s: &[u8]) {
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

/// The DSS written so far: its object and the streams it lists, so a later update lists them
/// again and adds only what is new.
#[derive(Debug, Clone, Default)]
struct DssState {
    id: u32,
    certs: Vec<(Vec<u8>, u32)>,
    ocsps: Vec<(Vec<u8>, u32)>,
    crls: Vec<(Vec<u8>, u32)>,
    vri: Vec<(Vec<u8>, u32)>,
}

/// A sealed PDF that incremental updates are appended to, with what the updates must carry
/// over from earlier revisions.
#[derive(Debug)]
pub(crate) struct SealedPdf {
    /// The file so far.
    pub bytes: Vec<u8>,
    /// Offset of the newest cross-reference section.
    pub xref_at: usize,
    /// Next unused object number (`/Size`).
    pub size: u32,
    /// The catalog object and its current dictionary.
    pub catalog_id: ObjectId,
    pub catalog: Dictionary,
    /// The document information dictionary.
    pub info_id: ObjectId,
    /// First element of the file identifier.
    pub file_id: [u8; 16],
    /// The page carrying the seal's widget, and its current dictionary.
    pub sig_page_id: ObjectId,
    pub sig_page: Dictionary,
    /// Names of the form fields, to keep new ones unique.
    pub field_names: HashSet<Vec<u8>>,
    dss: Option<DssState>,
}

/// What the trailer of every revision repeats.
fn trailer(pdf: &SealedPdf, size: u32, prev: Option<usize>) -> Result<Dictionary, SealError> {
    let mut second = [0u8; 16];
    aws_lc_rs::rand::fill(&mut second).map_err(|_| write_err("random number generator failed"))?;
    let mut t = dictionary! {
        "Size" => i64::from(size),
        "Root" => pdf.catalog_id,
        "Info" => pdf.info_id,
    };
    let first = Object::String(pdf.file_id.to_vec(), StringFormat::Hexadecimal);
    let second = if prev.is_some() {
        Object::String(second.to_vec(), StringFormat::Hexadecimal)
    } else {
        first.clone()
    };
    t.set("ID", vec![first, second]);
    if let Some(p) = prev {
        t.set(
            "Prev",
            i64::try_from(p).map_err(|_| write_err("offset too large"))?,
        );
    }
    Ok(t)
}

/// The trailer of the first revision.
pub(crate) fn base_trailer(pdf: &SealedPdf) -> Result<Dictionary, SealError> {
    trailer(pdf, pdf.size, None)
}

impl SealedPdf {
    /// State after the first revision was written.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        bytes: Vec<u8>,
        size: u32,
        catalog_id: ObjectId,
        catalog: Dictionary,
        info_id: ObjectId,
        file_id: [u8; 16],
        sig_page_id: ObjectId,
        sig_page: Dictionary,
        field_names: HashSet<Vec<u8>>,
    ) -> Self {
        SealedPdf {
            bytes,
            xref_at: 0,
            size,
            catalog_id,
            catalog,
            info_id,
            file_id,
            sig_page_id,
            sig_page,
            field_names,
            dss: None,
        }
    }

    fn alloc(&mut self) -> Result<u32, SealError> {
        let id = self.size;
        self.size = self
            .size
            .checked_add(1)
            .ok_or_else(|| write_err("too many objects"))?;
        Ok(id)
    }

    fn finish_update(&mut self, offsets: &mut [(u32, usize)]) -> Result<(), SealError> {
        let t = trailer(self, self.size, Some(self.xref_at))?;
        self.xref_at = write_xref_and_trailer(&mut self.bytes, offsets, false, &t)?;
        Ok(())
    }

    /// Appends a revision with the DSS holding `data` (added to what earlier DSS revisions
    /// hold) and, when `vri_key` is given (the upper-case hex SHA-1 of a signature's
    /// `/Contents`), a `/VRI` entry tying `data` to that signature.
    pub(crate) fn append_dss(
        &mut self,
        data: &LtvData,
        vri_key: Option<String>,
    ) -> Result<(), SealError> {
        let mut offsets: Vec<(u32, usize)> = Vec::new();
        let mut state = self.dss.clone().unwrap_or_default();
        let new_dss = self.dss.is_none();
        if new_dss {
            state.id = self.alloc()?;
        }
        // One stream per value; values already in the DSS are referenced again, not copied.
        let refs = |list: &mut Vec<(Vec<u8>, u32)>,
                    values: &[Vec<u8>],
                    me: &mut SealedPdf,
                    offsets: &mut Vec<(u32, usize)>|
         -> Result<Vec<Object>, SealError> {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                let id = match list.iter().find(|(d, _)| d == v) {
                    Some((_, id)) => *id,
                    None => {
                        let id = me.alloc()?;
                        write_raw_stream(&mut me.bytes, offsets, id, Dictionary::new(), v)?;
                        list.push((v.clone(), id));
                        id
                    }
                };
                out.push(Object::Reference((id, 0)));
            }
            Ok(out)
        };
        let cert_refs = refs(&mut state.certs, &data.certs, self, &mut offsets)?;
        let ocsp_refs = refs(&mut state.ocsps, &data.ocsps, self, &mut offsets)?;
        let crl_refs = refs(&mut state.crls, &data.crls, self, &mut offsets)?;
        if let Some(key) = vri_key {
            let mut vri = dictionary! { "Type" => "VRI", "Cert" => cert_refs };
            if !ocsp_refs.is_empty() {
                vri.set("OCSP", ocsp_refs);
            }
            if !crl_refs.is_empty() {
                vri.set("CRL", crl_refs);
            }
            let id = self.alloc()?;
            write_object(&mut self.bytes, &mut offsets, id, &Object::Dictionary(vri))?;
            let name = key.into_bytes();
            state.vri.retain(|(k, _)| *k != name);
            state.vri.push((name, id));
        }
        let all = |l: &[(Vec<u8>, u32)]| -> Vec<Object> {
            l.iter()
                .map(|(_, id)| Object::Reference((*id, 0)))
                .collect()
        };
        let mut dss = dictionary! { "Type" => "DSS", "Certs" => all(&state.certs) };
        if !state.ocsps.is_empty() {
            dss.set("OCSPs", all(&state.ocsps));
        }
        if !state.crls.is_empty() {
            dss.set("CRLs", all(&state.crls));
        }
        if !state.vri.is_empty() {
            let mut vri = Dictionary::new();
            for (k, id) in &state.vri {
                vri.set(k.clone(), Object::Reference((*id, 0)));
            }
            dss.set("VRI", vri);
        }
        write_object(
            &mut self.bytes,
            &mut offsets,
            state.id,
            &Object::Dictionary(dss),
        )?;
        if new_dss {
            self.catalog.set("DSS", Object::Reference((state.id, 0)));
            let catalog = Object::Dictionary(self.catalog.clone());
            write_object(&mut self.bytes, &mut offsets, self.catalog_id.0, &catalog)?;
        }
        self.dss = Some(state);
        self.finish_update(&mut offsets)
    }

    /// Appends the revision of a document timestamp with `reserved` bytes for the token: a
    /// new invisible signature field on the seal's page whose value is a `/DocTimeStamp`
    /// dictionary. Returns where its `/Contents` is and the SHA-256 the token must cover; the
    /// caller fills it with [`fill_contents`] or calls [`SealedPdf::truncate`] with
    /// `mark` to try again with more room.
    pub(crate) fn append_doc_timestamp(
        &mut self,
        reserved: usize,
    ) -> Result<(SigSlots, Vec<u8>), SealError> {
        let mut offsets: Vec<(u32, usize)> = Vec::new();
        let field_id = self.alloc()?;
        let sig_id = self.alloc()?;
        let name = unique_name(&self.field_names, "signgate-archive-timestamp");
        let field = dictionary! {
            "Type" => "Annot",
            "Subtype" => "Widget",
            "FT" => "Sig",
            "T" => Object::String(text_string(&name), StringFormat::Literal),
            "F" => 132, // Print | Locked
            "Rect" => vec![0.into(), 0.into(), 0.into(), 0.into()],
            "P" => self.sig_page_id,
            "V" => Object::Reference((sig_id, 0)),
        };
        write_object(
            &mut self.bytes,
            &mut offsets,
            field_id,
            &Object::Dictionary(field),
        )?;
        // The widget goes on the page, the field into the form.
        let mut annots = match self.sig_page.get(b"Annots") {
            Ok(Object::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        annots.push(Object::Reference((field_id, 0)));
        self.sig_page.set("Annots", annots);
        let page = Object::Dictionary(self.sig_page.clone());
        write_object(&mut self.bytes, &mut offsets, self.sig_page_id.0, &page)?;
        let mut acroform = match self.catalog.get(b"AcroForm") {
            Ok(Object::Dictionary(d)) => d.clone(),
            _ => Dictionary::new(),
        };
        let mut fields = match acroform.get(b"Fields") {
            Ok(Object::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        fields.push(Object::Reference((field_id, 0)));
        acroform.set("Fields", fields);
        acroform.set("SigFlags", 3);
        self.catalog.set("AcroForm", acroform);
        let catalog = Object::Dictionary(self.catalog.clone());
        write_object(&mut self.bytes, &mut offsets, self.catalog_id.0, &catalog)?;
        self.field_names.insert(text_string(&name));
        let slots = write_sig_dict(
            &mut self.bytes,
            &mut offsets,
            sig_id,
            &SigKind::DocTimeStamp,
            reserved,
        );
        self.finish_update(&mut offsets)?;
        patch_byte_range(&mut self.bytes, &slots)?;
        let digest = byte_range_digest(&self.bytes, &slots, DigestAlg::Sha256);
        Ok((slots, digest))
    }

    /// Where the file ends now, to roll back an update with [`SealedPdf::truncate`].
    pub(crate) fn mark(&self) -> Mark {
        Mark {
            len: self.bytes.len(),
            xref_at: self.xref_at,
            size: self.size,
            catalog: self.catalog.clone(),
            sig_page: self.sig_page.clone(),
            field_names: self.field_names.clone(),
            dss: self.dss.clone(),
        }
    }

    /// Drops everything written since `mark`.
    pub(crate) fn truncate(&mut self, mark: Mark) {
        self.bytes.truncate(mark.len);
        self.xref_at = mark.xref_at;
        self.size = mark.size;
        self.catalog = mark.catalog;
        self.sig_page = mark.sig_page;
        self.field_names = mark.field_names;
        self.dss = mark.dss;
    }
}

/// A point to roll back to.
pub(crate) struct Mark {
    len: usize,
    xref_at: usize,
    size: u32,
    catalog: Dictionary,
    sig_page: Dictionary,
    field_names: HashSet<Vec<u8>>,
    dss: Option<DssState>,
}

/// `base`, or `base-2`, `base-3`, … whichever is not taken.
pub(crate) fn unique_name(taken: &HashSet<Vec<u8>>, base: &str) -> String {
    let mut name = base.to_string();
    let mut n = 1;
    while taken.contains(&text_string(&name)) || taken.contains(name.as_bytes()) {
        n += 1;
        name = format!("{base}-{n}");
    }
    name
}
