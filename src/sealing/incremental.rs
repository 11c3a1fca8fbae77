//! Byte-exact PDF writing for sealing: indirect objects framed exactly as lopdf frames them,
//! classic cross-reference sections, signature dictionaries whose `/ByteRange` and `/Contents`
//! are placed and patched in place, and the incremental updates that raise a seal to
//! PAdES-BASELINE-LTA (ETSI EN 319 142-1 §5.4, ISO 32000-2 §12.8): a revision adding a
//! Document Security Store (`/DSS` with `/Certs`, `/OCSPs`, `/CRLs` and a `/VRI` entry), and a
//! revision adding a document timestamp (`/Type /DocTimeStamp`, `/SubFilter /ETSI.RFC3161`)
//! in a new invisible signature field.
//!
//! The file is written through [`PdfOut`] into a [`SealSink`] the caller hands over (the
//! sealing spool file, or memory): appended through a small buffer, the `/ByteRange` and
//! `/Contents` placeholders patched in place, the signed byte ranges digested by reading them
//! back in chunks. No step needs the whole file in memory.
//!
//! Owns: file offsets, xref tables and trailers, the DSS and document-timestamp objects.
//! Must not: parse or alter earlier revisions (an update only appends), decide what gets
//! signed or fetched (the caller hands over CMS containers, tokens and [`LtvData`]).

use std::collections::HashSet;
use std::io::{self, SeekFrom, Write};

use lopdf::{Dictionary, Object, ObjectId, StringFormat, Writer, dictionary};

use crate::sealing::ltv::LtvData;
use crate::sealing::{SealError, SealSink};
use crate::validation::crypto::{DigestAlg, Hasher};

/// Width of each `/ByteRange` number field.
const BYTE_RANGE_DIGITS: usize = 10;

/// Chunk size for reading signed byte ranges back (a stack buffer).
const READ_CHUNK: usize = 16 * 1024;

/// The sealed file being written: an append position over a [`SealSink`], with a small write
/// buffer, in-place patches, reads of byte ranges and truncation (to retry an update with
/// more room). Offsets are positions in the whole file.
///
/// It can digest what is appended as it goes ([`PdfOut::digest_as_written`]) up to a point
/// that is never patched afterwards ([`PdfOut::freeze_digests`]): the bulk of the file then
/// need not be read back for each signature over it ([`byte_range_digest`] continues from
/// there).
pub(crate) struct PdfOut<'a, W: SealSink> {
    sink: &'a mut W,
    /// Bytes already in the sink.
    flushed: u64,
    /// Bytes appended after `flushed`, not yet in the sink.
    buf: Vec<u8>,
    /// Digests of everything appended so far, while digesting as written.
    running: Vec<(DigestAlg, Hasher)>,
    /// Digests of the file's first `.0` bytes, which nothing has changed since.
    frozen: Option<(usize, Vec<(DigestAlg, Hasher)>)>,
}

impl<'a, W: SealSink> PdfOut<'a, W> {
    /// Writes from offset 0 of `sink`, dropping whatever it held; about `expected` bytes
    /// will be written.
    pub(crate) fn new(sink: &'a mut W, expected: usize) -> io::Result<Self> {
        sink.set_len(0)?;
        sink.reserve(expected);
        Ok(PdfOut {
            sink,
            flushed: 0,
            buf: Vec::with_capacity(W::BUFFER),
            running: Vec::new(),
            frozen: None,
        })
    }

    /// Digests everything appended from now on with each of `algs` (from an empty file).
    pub(crate) fn digest_as_written(&mut self, algs: &[DigestAlg]) {
        if self.len() == 0 {
            self.running = algs.iter().map(|&a| (a, a.hasher())).collect();
        }
    }

    /// Keeps the digests of the file so far (which must not change any more) and stops
    /// digesting.
    pub(crate) fn freeze_digests(&mut self) -> io::Result<()> {
        // Digests are fed what goes to the sink (in large pieces, not per small append).
        self.flush_buf()?;
        let running = std::mem::take(&mut self.running);
        if !running.is_empty() {
            self.frozen = Some((self.len(), running));
        }
        Ok(())
    }

    /// The digest state with `alg` of the first `.0` bytes, if kept.
    fn prefix_digest(&self, alg: DigestAlg) -> Option<(usize, Hasher)> {
        let (len, states) = self.frozen.as_ref()?;
        let (_, h) = states.iter().find(|(a, _)| *a == alg)?;
        Some((*len, h.clone()))
    }

    /// Forgets digests that bytes from `at` on were part of (they are being changed).
    fn invalidate_digests(&mut self, at: usize) {
        if at < self.len() {
            self.running.clear();
        }
        if self.frozen.as_ref().is_some_and(|(len, _)| at < *len) {
            self.frozen = None;
        }
    }

    /// Length of the file so far (the offset the next byte is written at).
    pub(crate) fn len(&self) -> usize {
        // Saturates only past usize::MAX, far beyond what the 10-digit xref offsets allow.
        usize::try_from(self.flushed).unwrap_or(usize::MAX) + self.buf.len()
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            for (_, h) in &mut self.running {
                h.update(&self.buf);
            }
            self.sink.seek(SeekFrom::Start(self.flushed))?;
            self.sink.write_all(&self.buf)?;
            self.flushed += self.buf.len() as u64;
            self.buf.clear();
        }
        Ok(())
    }

    /// Appends `n` copies of `b`.
    pub(crate) fn fill(&mut self, b: u8, mut n: usize) -> io::Result<()> {
        let chunk = [b; 1024];
        while n > 0 {
            let k = n.min(chunk.len());
            self.write_all(&chunk[..k])?;
            n -= k;
        }
        Ok(())
    }

    /// Overwrites the bytes at `at` (already written) with `data`.
    pub(crate) fn patch(&mut self, at: usize, data: &[u8]) -> io::Result<()> {
        let end = at
            .checked_add(data.len())
            .filter(|&e| e <= self.len())
            .ok_or_else(|| io::Error::other("patch beyond the end of the file"))?;
        self.invalidate_digests(at);
        let at64 = at as u64;
        if at64 >= self.flushed {
            let from = usize::try_from(at64 - self.flushed).map_err(io::Error::other)?;
            self.buf[from..from + data.len()].copy_from_slice(data);
            return Ok(());
        }
        if (end as u64) > self.flushed {
            self.flush_buf()?;
        }
        self.sink.seek(SeekFrom::Start(at64))?;
        self.sink.write_all(data)
    }

    /// Feeds the bytes `range` of the file to `f`, in chunks.
    pub(crate) fn read_range(
        &mut self,
        range: std::ops::Range<usize>,
        mut f: impl FnMut(&[u8]),
    ) -> io::Result<()> {
        if range.end > self.len() || range.start > range.end {
            return Err(io::Error::other("read beyond the end of the file"));
        }
        self.flush_buf()?;
        self.sink.seek(SeekFrom::Start(range.start as u64))?;
        let mut chunk = [0u8; READ_CHUNK];
        let mut left = range.len();
        while left > 0 {
            let n = left.min(chunk.len());
            self.sink.read_exact(&mut chunk[..n])?;
            f(&chunk[..n]);
            left -= n;
        }
        Ok(())
    }

    /// Cuts the file back to `len` bytes.
    pub(crate) fn truncate(&mut self, len: usize) -> io::Result<()> {
        self.invalidate_digests(len);
        let len64 = len as u64;
        if len64 >= self.flushed {
            let keep = usize::try_from(len64 - self.flushed).map_err(io::Error::other)?;
            self.buf.truncate(keep);
        } else {
            self.buf.clear();
            self.sink.set_len(len64)?;
            self.flushed = len64;
        }
        Ok(())
    }

    /// Writes out what is buffered; returns the file's length.
    pub(crate) fn finish(&mut self) -> io::Result<u64> {
        self.flush_buf()?;
        self.sink.flush()?;
        Ok(self.flushed)
    }
}

impl<W: SealSink> Write for PdfOut<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > W::BUFFER {
            self.flush_buf()?;
        }
        if data.len() >= W::BUFFER {
            // Large stream data: straight to the sink, no copy through the buffer.
            for (_, h) in &mut self.running {
                h.update(data);
            }
            self.sink.seek(SeekFrom::Start(self.flushed))?;
            self.sink.write_all(data)?;
            self.flushed += data.len() as u64;
        } else {
            self.buf.extend_from_slice(data);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.sink.flush()
    }
}

pub(crate) fn write_err(msg: impl Into<String>) -> SealError {
    SealError::Assemble(msg.into())
}

/// Appends `id 0 obj … endobj` for `obj` with the same separators lopdf's `Document::save`
/// uses, and records the offset.
pub(crate) fn write_object<W: SealSink>(
    out: &mut PdfOut<'_, W>,
    offsets: &mut Vec<(u32, usize)>,
    id: u32,
    obj: &Object,
) -> Result<(), SealError> {
    offsets.push((id, out.len()));
    write!(
        out,
        "{id} 0 obj\n{}",
        if Writer::need_separator(obj) { " " } else { "" }
    )?;
    Writer::write_object(out, obj).map_err(|e| write_err(format!("writing object {id}: {e}")))?;
    writeln!(
        out,
        "{}\nendobj",
        if Writer::need_end_separator(obj) {
            " "
        } else {
            ""
        }
    )?;
    Ok(())
}

/// Appends a stream object whose data is `data`, unfiltered, with `/Length` added to `dict`.
/// The data goes straight to the file (no intermediate `Stream`).
pub(crate) fn write_raw_stream<W: SealSink>(
    out: &mut PdfOut<'_, W>,
    offsets: &mut Vec<(u32, usize)>,
    id: u32,
    mut dict: Dictionary,
    data: &[u8],
) -> Result<(), SealError> {
    dict.set(
        "Length",
        i64::try_from(data.len()).map_err(|_| write_err("stream too long"))?,
    );
    offsets.push((id, out.len()));
    writeln!(out, "{id} 0 obj")?;
    Writer::write_object(out, &Object::Dictionary(dict))
        .map_err(|e| write_err(format!("writing object {id}: {e}")))?;
    out.write_all(b"stream\n")?;
    out.write_all(data)?;
    out.write_all(b"\nendstream\nendobj\n")?;
    Ok(())
}

/// Appends a stream object whose data is `data` compressed with `/FlateDecode` (straight into
/// the file, no intermediate copy), and object `length_id` with its `/Length`. Used for
/// embedded files, so that an embedded PDF's own `startxref`/`%%EOF` never appear in the file.
pub(crate) fn write_flate_stream<W: SealSink>(
    out: &mut PdfOut<'_, W>,
    offsets: &mut Vec<(u32, usize)>,
    id: u32,
    length_id: u32,
    mut dict: Dictionary,
    data: &[u8],
) -> Result<(), SealError> {
    dict.set("Filter", "FlateDecode");
    dict.set("Length", Object::Reference((length_id, 0)));
    offsets.push((id, out.len()));
    writeln!(out, "{id} 0 obj")?;
    Writer::write_object(out, &Object::Dictionary(dict))
        .map_err(|e| write_err(format!("writing object {id}: {e}")))?;
    out.write_all(b"stream\n")?;
    let start = out.len();
    {
        let mut z = flate2::write::ZlibEncoder::new(&mut *out, flate2::Compression::fast());
        z.write_all(data).and_then(|_| z.finish().map(|_| ()))?;
    }
    let length = out.len() - start;
    out.write_all(b"\nendstream\nendobj\n")?;
    offsets.push((length_id, out.len()));
    writeln!(out, "{length_id} 0 obj\n{length}\nendobj")?;
    Ok(())
}

/// Writes an `xref` section for `offsets` (subsections per run of consecutive numbers; object
/// 0 as the head of the free list when `with_zero`), the trailer and `startxref`. Returns the
/// offset of the section.
pub(crate) fn write_xref_and_trailer<W: SealSink>(
    out: &mut PdfOut<'_, W>,
    offsets: &mut [(u32, usize)],
    with_zero: bool,
    trailer: &Dictionary,
) -> Result<usize, SealError> {
    offsets.sort_unstable_by_key(|(id, _)| *id);
    let xref_at = out.len();
    // The section is built in memory (20 bytes per object) and appended at once.
    let mut buf: Vec<u8> = Vec::with_capacity(64 + 20 * offsets.len());
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
    Writer::write_object(&mut buf, &Object::Dictionary(trailer.clone()))
        .map_err(|e| write_err(format!("writing trailer: {e}")))?;
    let _ = write!(buf, "\nstartxref\n{xref_at}\n%%EOF\n");
    out.write_all(&buf)?;
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

impl SigSlots {
    /// Bytes of DER the `/Contents` hole holds.
    pub(crate) fn reserved(&self) -> usize {
        (self.contents_end - self.contents_start - 2) / 2
    }
}

/// Appends a signature dictionary object with a zero-filled `/Contents` of `reserved` bytes
/// and a blank `/ByteRange` to be patched by [`patch_byte_range`].
pub(crate) fn write_sig_dict<W: SealSink>(
    out: &mut PdfOut<'_, W>,
    offsets: &mut Vec<(u32, usize)>,
    id: u32,
    kind: &SigKind<'_>,
    reserved: usize,
) -> Result<SigSlots, SealError> {
    offsets.push((id, out.len()));
    let mut head: Vec<u8> = Vec::with_capacity(512);
    let _ = write!(head, "{id} 0 obj\n<<");
    match kind {
        SigKind::CadesDetached { m, name, reason } => {
            head.extend_from_slice(
                b"/Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/M",
            );
            write_pdf_string(&mut head, m.as_bytes());
            head.extend_from_slice(b"/Name");
            write_pdf_string(&mut head, name);
            head.extend_from_slice(b"/Reason");
            write_pdf_string(&mut head, reason);
        }
        SigKind::DocTimeStamp => {
            head.extend_from_slice(
                b"/Type/DocTimeStamp/Filter/Adobe.PPKLite/SubFilter/ETSI.RFC3161",
            );
        }
    }
    head.extend_from_slice(b"/ByteRange[");
    out.write_all(&head)?;
    let byte_range_at = out.len();
    out.fill(b' ', byte_range_len())?;
    out.write_all(b"]/Contents")?;
    let contents_start = out.len();
    out.write_all(b"<")?;
    out.fill(b'0', 2 * reserved)?;
    out.write_all(b">")?;
    let contents_end = out.len();
    out.write_all(b">>\nendobj\n")?;
    Ok(SigSlots {
        byte_range_at,
        contents_start,
        contents_end,
    })
}

fn byte_range_len() -> usize {
    1 + 3 * (BYTE_RANGE_DIGITS + 1)
}

/// Fills in `/ByteRange` once the file is complete: everything but `/Contents`, to the end.
pub(crate) fn patch_byte_range<W: SealSink>(
    out: &mut PdfOut<'_, W>,
    slots: &SigSlots,
) -> Result<(), SealError> {
    let tail = out.len() - slots.contents_end;
    let numbers = format!("0 {} {} {tail}", slots.contents_start, slots.contents_end);
    if numbers.len() > byte_range_len() {
        return Err(write_err("document too large for the ByteRange field"));
    }
    out.patch(slots.byte_range_at, numbers.as_bytes())?;
    Ok(())
}

/// The digest with `alg` of the bytes `/ByteRange` covers, read back from the file (from
/// where the digest kept by [`PdfOut::freeze_digests`] ends, when there is one).
pub(crate) fn byte_range_digest<W: SealSink>(
    out: &mut PdfOut<'_, W>,
    slots: &SigSlots,
    alg: DigestAlg,
) -> Result<Vec<u8>, SealError> {
    let (from, mut h) = match out.prefix_digest(alg) {
        Some((len, h)) if len <= slots.contents_start => (len, h),
        _ => (0, alg.hasher()),
    };
    out.read_range(from..slots.contents_start, |c| h.update(c))?;
    let end = out.len();
    out.read_range(slots.contents_end..end, |c| h.update(c))?;
    Ok(h.finish())
}

/// Writes `der` as hex into the reserved `/Contents` (the zero padding after it stays).
pub(crate) fn fill_contents<W: SealSink>(
    out: &mut PdfOut<'_, W>,
    slots: &SigSlots,
    der: &[u8],
) -> Result<(), SealError> {
    let reserved = slots.reserved();
    if der.len() > reserved {
        return Err(SealError::SignatureTooLarge {
            needed: der.len(),
            reserved,
        });
    }
    out.patch(slots.contents_start + 1, hex::encode_upper(der).as_bytes())?;
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
pub(crate) struct SealedPdf<'a, W: SealSink> {
    /// The file so far.
    pub out: PdfOut<'a, W>,
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

/// What the trailer of every revision repeats: `/Size`, `/Root`, `/Info`, `/ID` (a fresh
/// second element in updates) and `/Prev` in updates.
fn trailer(
    size: u32,
    catalog_id: ObjectId,
    info_id: ObjectId,
    file_id: &[u8; 16],
    prev: Option<usize>,
) -> Result<Dictionary, SealError> {
    let mut second = [0u8; 16];
    aws_lc_rs::rand::fill(&mut second).map_err(|_| write_err("random number generator failed"))?;
    let mut t = dictionary! {
        "Size" => i64::from(size),
        "Root" => catalog_id,
        "Info" => info_id,
    };
    let first = Object::String(file_id.to_vec(), StringFormat::Hexadecimal);
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
pub(crate) fn base_trailer(
    size: u32,
    catalog_id: ObjectId,
    info_id: ObjectId,
    file_id: &[u8; 16],
) -> Result<Dictionary, SealError> {
    trailer(size, catalog_id, info_id, file_id, None)
}

impl<'a, W: SealSink> SealedPdf<'a, W> {
    /// State after the first revision was written, its cross-reference section at `xref_at`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        out: PdfOut<'a, W>,
        xref_at: usize,
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
            out,
            xref_at,
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
        let t = trailer(
            self.size,
            self.catalog_id,
            self.info_id,
            &self.file_id,
            Some(self.xref_at),
        )?;
        self.xref_at = write_xref_and_trailer(&mut self.out, offsets, false, &t)?;
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
                    me: &mut SealedPdf<'a, W>,
                    offsets: &mut Vec<(u32, usize)>|
         -> Result<Vec<Object>, SealError> {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                let id = match list.iter().find(|(d, _)| d == v) {
                    Some((_, id)) => *id,
                    None => {
                        let id = me.alloc()?;
                        write_raw_stream(&mut me.out, offsets, id, Dictionary::new(), v)?;
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
            write_object(&mut self.out, &mut offsets, id, &Object::Dictionary(vri))?;
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
            &mut self.out,
            &mut offsets,
            state.id,
            &Object::Dictionary(dss),
        )?;
        if new_dss {
            self.catalog.set("DSS", Object::Reference((state.id, 0)));
            let catalog = Object::Dictionary(self.catalog.clone());
            write_object(&mut self.out, &mut offsets, self.catalog_id.0, &catalog)?;
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
            &mut self.out,
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
        write_object(&mut self.out, &mut offsets, self.sig_page_id.0, &page)?;
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
        write_object(&mut self.out, &mut offsets, self.catalog_id.0, &catalog)?;
        self.field_names.insert(text_string(&name));
        let slots = write_sig_dict(
            &mut self.out,
            &mut offsets,
            sig_id,
            &SigKind::DocTimeStamp,
            reserved,
        )?;
        self.finish_update(&mut offsets)?;
        patch_byte_range(&mut self.out, &slots)?;
        let digest = byte_range_digest(&mut self.out, &slots, DigestAlg::Sha256)?;
        Ok((slots, digest))
    }

    /// Where the file ends now, to roll back an update with [`SealedPdf::truncate`].
    pub(crate) fn mark(&self) -> Mark {
        Mark {
            len: self.out.len(),
            xref_at: self.xref_at,
            size: self.size,
            catalog: self.catalog.clone(),
            sig_page: self.sig_page.clone(),
            field_names: self.field_names.clone(),
            dss: self.dss.clone(),
        }
    }

    /// Drops everything written since `mark`.
    pub(crate) fn truncate(&mut self, mark: Mark) -> Result<(), SealError> {
        self.out.truncate(mark.len)?;
        self.xref_at = mark.xref_at;
        self.size = mark.size;
        self.catalog = mark.catalog;
        self.sig_page = mark.sig_page;
        self.field_names = mark.field_names;
        self.dss = mark.dss;
        Ok(())
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

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read as _, Seek as _, Write as _};

    use super::*;

    /// Every operation of [`PdfOut`] against a plain vector, across the buffer boundary: small
    /// and large appends, patches in the sink, in the buffer and straddling both, reads and
    /// truncations; on a file and in memory alike.
    fn exercise<W: SealSink>(sink: &mut W) -> Vec<u8> {
        let mut model: Vec<u8> = Vec::new();
        let mut out = PdfOut::new(sink, 0).unwrap();
        let mut x: u32 = 12345;
        let mut next = |m: u32| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x % m
        };
        for round in 0..400 {
            match next(6) {
                0 | 1 => {
                    let n = if round % 50 == 0 {
                        64 * 1024 + next(1000) as usize
                    } else {
                        next(4000) as usize
                    };
                    let data: Vec<u8> = (0..n).map(|i| (i as u32 + round) as u8).collect();
                    out.write_all(&data).unwrap();
                    model.extend_from_slice(&data);
                }
                2 => {
                    let fill = next(3000) as usize;
                    out.fill(b'0', fill).unwrap();
                    model.resize(model.len() + fill, b'0');
                }
                3 if !model.is_empty() => {
                    let at = next(model.len() as u32) as usize;
                    let n = (next(600) as usize).min(model.len() - at);
                    let data = vec![round as u8; n];
                    out.patch(at, &data).unwrap();
                    model[at..at + n].copy_from_slice(&data);
                }
                4 if !model.is_empty() => {
                    let a = next(model.len() as u32) as usize;
                    let b = a + next((model.len() - a) as u32 + 1) as usize;
                    let mut got = Vec::new();
                    out.read_range(a..b, |c| got.extend_from_slice(c)).unwrap();
                    assert_eq!(got, model[a..b]);
                }
                5 if model.len() > 10 && round % 7 == 0 => {
                    let len = model.len() - next(model.len() as u32 / 2) as usize;
                    out.truncate(len).unwrap();
                    model.truncate(len);
                }
                _ => {}
            }
            assert_eq!(out.len(), model.len());
        }
        assert!(
            out.patch(model.len(), b"x").is_err(),
            "no patch past the end"
        );
        assert!(out.read_range(0..model.len() + 1, |_| {}).is_err());
        assert_eq!(out.finish().unwrap(), model.len() as u64);
        model
    }

    /// A digest kept while writing gives the same `/ByteRange` digest as reading everything
    /// back, and is dropped (not misused) when what it covered changes.
    #[test]
    fn digests_kept_while_writing_match_reading_back() {
        let mut sink = Cursor::new(Vec::new());
        let mut out = PdfOut::new(&mut sink, 0).unwrap();
        out.digest_as_written(&[DigestAlg::Sha256, DigestAlg::Sha384]);
        let bulk: Vec<u8> = (0..3 * 64 * 1024 + 17).map(|i| (i % 253) as u8).collect();
        out.write_all(b"%PDF-1.7\n").unwrap();
        out.write_all(&bulk).unwrap();
        out.fill(b'x', 1000).unwrap();
        out.freeze_digests().unwrap();
        let mut offsets = Vec::new();
        let slots = write_sig_dict(&mut out, &mut offsets, 7, &SigKind::DocTimeStamp, 100).unwrap();
        out.write_all(b"trailer").unwrap();
        patch_byte_range(&mut out, &slots).unwrap();
        fill_contents(&mut out, &slots, &[0xab; 40]).unwrap();
        let plain = |out: &mut PdfOut<'_, Cursor<Vec<u8>>>, alg: DigestAlg| {
            let mut h = alg.hasher();
            out.read_range(0..slots.contents_start, |c| h.update(c))
                .unwrap();
            let end = out.len();
            out.read_range(slots.contents_end..end, |c| h.update(c))
                .unwrap();
            h.finish()
        };
        for alg in [DigestAlg::Sha256, DigestAlg::Sha384, DigestAlg::Sha512] {
            let want = plain(&mut out, alg);
            assert_eq!(byte_range_digest(&mut out, &slots, alg).unwrap(), want);
        }
        assert!(out.prefix_digest(DigestAlg::Sha256).is_some());
        // Changing a byte the kept digest covers drops it; the digest still comes out right.
        out.patch(100, b"changed").unwrap();
        assert!(out.prefix_digest(DigestAlg::Sha256).is_none());
        let want = plain(&mut out, DigestAlg::Sha256);
        assert_eq!(
            byte_range_digest(&mut out, &slots, DigestAlg::Sha256).unwrap(),
            want
        );
    }

    #[test]
    fn pdf_out_matches_a_vector() {
        let mut mem = Cursor::new(b"stale content".to_vec());
        let model = exercise(&mut mem);
        assert_eq!(mem.into_inner(), model);

        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"stale content").unwrap();
        let model = exercise(&mut file);
        let mut back = Vec::new();
        file.seek(SeekFrom::Start(0)).unwrap();
        file.read_to_end(&mut back).unwrap();
        assert_eq!(back, model);
    }
}
