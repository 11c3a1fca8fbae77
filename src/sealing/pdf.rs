//! Intake checks for uploaded PDF documents, and the one guarded entry point through which the
//! sealing code parses untrusted PDF bytes.
//!
//! This file owns deciding whether bytes are a usable PDF (header, encryption, page tree) and
//! shielding callers from parser panics. It must not modify documents, must not decrypt
//! anything, and must never panic on hostile input: every lopdf call is wrapped in
//! `catch_unwind` as a last line of defence (this requires the default `panic = "unwind"`).

use std::collections::HashMap;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};

use lopdf::{Document, LoadOptions, Object};

/// How far into the file the `%PDF-` header may start.
const HEADER_WINDOW: usize = 1024;
/// Cap on data decompressed while loading one document (object streams, metadata).
pub const MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;
/// Cap on the XMP metadata stream we look into.
const MAX_XMP: usize = 4 * 1024 * 1024;

/// What the intake check learned about a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfInfo {
    /// Number of pages in the page tree.
    pub pages: u32,
    /// PDF version (from the header, or the catalog's `/Version` when that is higher).
    pub version: String,
    /// Whether XMP metadata declares PDF/A conformance (`pdfaid:part`), best effort.
    pub pdfa: bool,
}

/// Why a document was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    /// No `%PDF-` header in the first 1024 bytes, or the file cannot be parsed at all.
    #[error("not a PDF document")]
    NotPdf,
    /// The document is encrypted (its trailer has `/Encrypt`).
    #[error("the PDF is encrypted")]
    Encrypted,
    /// The file parses but its structure is broken.
    #[error("malformed PDF: {0}")]
    Malformed(String),
    /// The page tree is empty.
    #[error("the PDF has no pages")]
    NoPages,
}

/// Checks uploaded bytes: a PDF, not encrypted, with at least one page.
pub fn inspect(bytes: &[u8]) -> Result<PdfInfo, PdfError> {
    let doc = load_document(bytes)?;
    guarded(|| {
        let pages = doc.page_iter().count();
        let pages =
            u32::try_from(pages).map_err(|_| PdfError::Malformed("too many pages".into()))?;
        if pages == 0 {
            return Err(PdfError::NoPages);
        }
        Ok(PdfInfo {
            pages,
            version: effective_version(&doc),
            pdfa: has_pdfa_id(&doc),
        })
    })?
}

/// Parses untrusted bytes into a lopdf [`Document`], refusing non-PDFs, encrypted files and
/// files without a catalog. Never panics.
pub fn load_document(bytes: &[u8]) -> Result<Document, PdfError> {
    let start = header_offset(bytes).ok_or(PdfError::NotPdf)?;
    let body = &bytes[start..];
    let encrypt_token = has_encrypt_token(body);
    let loaded = guarded(|| {
        Document::load_mem_with_options(
            body,
            LoadOptions::with_max_decompressed_size(MAX_DECOMPRESSED),
        )
    });
    let doc = match loaded {
        Ok(Ok(doc)) => doc,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "PDF parser rejected document");
            return Err(if encrypt_token {
                PdfError::Encrypted
            } else {
                PdfError::NotPdf
            });
        }
        Err(_) => {
            return Err(if encrypt_token {
                PdfError::Encrypted
            } else {
                PdfError::Malformed("the PDF parser failed on this file".into())
            });
        }
    };
    if doc.trailer.has(b"Encrypt") || doc.was_encrypted() {
        return Err(PdfError::Encrypted);
    }
    let has_catalog = guarded(|| doc.catalog().is_ok()).unwrap_or(false);
    if !has_catalog {
        // An encrypted file that the parser could not make sense of often ends up here.
        return Err(if encrypt_token {
            PdfError::Encrypted
        } else {
            PdfError::Malformed("no document catalog".into())
        });
    }
    if encrypt_token && guarded(|| doc.page_iter().next().is_none()).unwrap_or(true) {
        return Err(PdfError::Encrypted);
    }
    Ok(doc)
}

/// Runs `f`, turning a panic inside the PDF parser into a [`PdfError::Malformed`].
pub(crate) fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, PdfError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        tracing::warn!("PDF parser panicked; document rejected");
        PdfError::Malformed("the PDF parser failed on this file".into())
    })
}

/// Offset of `%PDF-` within the first 1024 bytes.
fn header_offset(bytes: &[u8]) -> Option<usize> {
    let window = &bytes[..bytes.len().min(HEADER_WINDOW)];
    find(window, b"%PDF-")
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let last_start = haystack.len() - needle.len();
    let mut i = 0;
    while i <= last_start {
        match haystack[i..=last_start].iter().position(|&b| b == first) {
            None => return None,
            Some(p) => {
                let at = i + p;
                if &haystack[at..at + needle.len()] == needle {
                    return Some(at);
                }
                i = at + 1;
            }
        }
    }
    None
}

/// Whether the raw bytes contain the name `/Encrypt` (as a whole token). Used to classify files
/// the parser cannot load: a trailer or xref-stream dictionary with `/Encrypt` means the file
/// is encrypted even if its objects are unreadable to us.
fn has_encrypt_token(bytes: &[u8]) -> bool {
    const TOKEN: &[u8] = b"/Encrypt";
    let mut rest = bytes;
    while let Some(at) = find(rest, TOKEN) {
        let after = rest.get(at + TOKEN.len()).copied();
        let is_token_end = match after {
            None => true,
            Some(b) => is_delimiter_or_space(b),
        };
        if is_token_end {
            return true;
        }
        rest = &rest[at + TOKEN.len()..];
    }
    false
}

fn is_delimiter_or_space(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t'
            | b'\r'
            | b'\n'
            | 0x0c
            | 0
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'/'
            | b'%'
    )
}

fn effective_version(doc: &Document) -> String {
    let header: String = doc
        .version
        .chars()
        .take(8)
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let catalog_version = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Version").ok())
        .and_then(|v| v.as_name().ok())
        .map(|n| {
            n.iter()
                .take(8)
                .filter(|c| c.is_ascii_digit() || **c == b'.')
                .map(|&c| c as char)
                .collect::<String>()
        });
    match catalog_version {
        Some(v) if !v.is_empty() && version_key(&v) > version_key(&header) => v,
        _ => header,
    }
}

fn version_key(v: &str) -> (u32, u32) {
    let mut it = v.split('.');
    let major = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let minor = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (major, minor)
}

/// Streams of at least this many bytes are copied into a sealed file straight from the input.
pub(crate) const DETACH_MIN: usize = 64 * 1024;

/// How far past an object's offset the `stream` keyword is looked for.
const MAX_DICT_SCAN: usize = 64 * 1024;

/// Frees the data of `doc`'s large streams and says where it lies in `bytes`, the file `doc`
/// was loaded from: for each stream of at least [`DETACH_MIN`] bytes (metadata excepted) whose
/// data is found verbatim after the `stream` keyword following its object's xref offset, the
/// parsed copy is dropped and its byte range in `bytes` returned. A writer then copies those
/// bytes from the input, so a large document is not held twice while it is sealed. A stream
/// whose data cannot be found exactly keeps its parsed copy.
pub(crate) fn detach_large_streams(
    doc: &mut Document,
    bytes: &[u8],
) -> HashMap<lopdf::ObjectId, Range<usize>> {
    let mut out = HashMap::new();
    let Some(start) = header_offset(bytes) else {
        return out;
    };
    let Document {
        objects,
        reference_table,
        ..
    } = doc;
    for (id, obj) in objects.iter_mut() {
        let Object::Stream(s) = obj else { continue };
        let len = s.content.len();
        if len < DETACH_MIN
            || matches!(s.dict.get(b"Type"), Ok(Object::Name(n)) if n == b"Metadata")
        {
            continue;
        }
        let Some(lopdf::xref::XrefEntry::Normal { offset, .. }) = reference_table.get(id.0) else {
            continue;
        };
        let Some(obj_at) = start.checked_add(*offset as usize) else {
            continue;
        };
        let window = bytes
            .get(obj_at..bytes.len().min(obj_at.saturating_add(MAX_DICT_SCAN)))
            .unwrap_or_default();
        let mut from = 0;
        while let Some(p) = window.get(from..).and_then(|w| find(w, b"stream")) {
            let mut data_at = obj_at + from + p + b"stream".len();
            match bytes.get(data_at..data_at + 2) {
                Some(b"\r\n") => data_at += 2,
                Some([b'\n' | b'\r', _]) => data_at += 1,
                _ => {}
            }
            let range = data_at..data_at.saturating_add(len);
            if bytes.get(range.clone()) == Some(&s.content[..]) {
                s.content = Vec::new();
                out.insert(*id, range);
                break;
            }
            from += p + 1;
        }
    }
    out
}

fn has_pdfa_id(doc: &Document) -> bool {
    pdfa_part(doc).is_some()
}

/// The PDF/A part (1–4) the catalog's XMP metadata claims (`pdfaid:part`), reading at most
/// `MAX_XMP` bytes of (decompressed) metadata.
pub(crate) fn pdfa_part(doc: &Document) -> Option<u8> {
    let meta = doc.catalog().ok()?.get(b"Metadata").ok()?;
    let stream = match doc.dereference(meta) {
        Ok((_, Object::Stream(s))) => s,
        _ => return None,
    };
    let content = if stream.dict.has(b"Filter") {
        std::borrow::Cow::Owned(stream.decompressed_content_with_limit(MAX_XMP).ok()?)
    } else {
        std::borrow::Cow::Borrowed(&stream.content[..stream.content.len().min(MAX_XMP)])
    };
    xmp_pdfa_part(&content)
}

/// The PDF/A part an XMP packet claims with `pdfaid:part`, as an attribute
/// (`pdfaid:part="2"`) or an element (`<pdfaid:part>2</pdfaid:part>`).
pub(crate) fn xmp_pdfa_part(xmp: &[u8]) -> Option<u8> {
    let needle = b"pdfaid:part";
    let mut from = 0;
    while let Some(pos) = find(xmp.get(from..)?, needle) {
        let after = from + pos + needle.len();
        let value = xmp
            .get(after..)?
            .iter()
            .skip_while(|b| matches!(b, b' ' | b'=' | b'"' | b'\'' | b'>'))
            .copied()
            .next();
        if let Some(d @ b'1'..=b'4') = value {
            return Some(d - b'0');
        }
        from = after;
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use lopdf::content::{Content, Operation};
    use lopdf::{Stream, dictionary};

    /// A small valid PDF with `pages` pages of text.
    pub(crate) fn sample_pdf(pages: usize, label: &str) -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let font_id = doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => "Courier",
        });
        let resources_id = doc.add_object(dictionary! {
            "Font" => dictionary! { "F1" => font_id },
        });
        let mut kids = Vec::new();
        for n in 0..pages {
            let content = Content {
                operations: vec![
                    Operation::new("BT", vec![]),
                    Operation::new("Tf", vec!["F1".into(), 24.into()]),
                    Operation::new("Td", vec![72.into(), 700.into()]),
                    Operation::new(
                        "Tj",
                        vec![Object::string_literal(format!("{label} page {}", n + 1))],
                    ),
                    Operation::new("ET", vec![]),
                ],
            };
            let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
            let page_id = doc.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => pages_id,
                "Contents" => content_id,
            });
            kids.push(page_id.into());
        }
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Kids" => kids,
                "Count" => pages as i64,
                "Resources" => resources_id,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            }),
        );
        let catalog_id = doc.add_object(dictionary! {
            "Type" => "Catalog",
            "Pages" => pages_id,
        });
        doc.trailer.set("Root", catalog_id);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    #[test]
    fn large_streams_are_detached_to_their_exact_input_range() {
        // Three large streams: a plain one, one whose dictionary mentions "stream" in a
        // string before the keyword, one with CRLF after the keyword; and a small one.
        let mut doc = Document::load_mem(&sample_pdf(1, "Big")).unwrap();
        let big = |seed: u8| -> Vec<u8> {
            (0..DETACH_MIN + 999)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                .collect()
        };
        let a = doc.add_object(Stream::new(dictionary! {}, big(1)));
        let b = doc.add_object(Stream::new(
            dictionary! { "Note" => Object::string_literal("not a stream keyword") },
            big(2),
        ));
        let small = doc.add_object(Stream::new(dictionary! {}, vec![7u8; 100]));
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).unwrap();
        // Junk before the header (allowed by readers) shifts every offset.
        let mut file = b"junk\n".to_vec();
        file.extend_from_slice(&bytes);
        let mut parsed = load_document(&file).unwrap();
        let before: Vec<Vec<u8>> = [a, b]
            .iter()
            .map(|id| {
                parsed
                    .get_object(*id)
                    .unwrap()
                    .as_stream()
                    .unwrap()
                    .content
                    .clone()
            })
            .collect();
        let ranges = detach_large_streams(&mut parsed, &file);
        for (id, want) in [a, b].iter().zip(&before) {
            let r = ranges.get(id).expect("detached");
            assert_eq!(&file[r.clone()], &want[..]);
            assert!(
                parsed
                    .get_object(*id)
                    .unwrap()
                    .as_stream()
                    .unwrap()
                    .content
                    .is_empty()
            );
        }
        assert!(!ranges.contains_key(&small));
        assert_eq!(
            parsed
                .get_object(small)
                .unwrap()
                .as_stream()
                .unwrap()
                .content
                .len(),
            100
        );
        // Bytes that do not match what was parsed (a lying offset) keep the parsed copy.
        let mut parsed = load_document(&file).unwrap();
        let mut other = file.clone();
        let r = detach_large_streams(&mut load_document(&file).unwrap(), &file)[&a].clone();
        other[r.start + 10] ^= 0xff;
        let ranges = detach_large_streams(&mut parsed, &other);
        assert!(!ranges.contains_key(&a));
        assert!(ranges.contains_key(&b));
        assert_eq!(
            parsed
                .get_object(a)
                .unwrap()
                .as_stream()
                .unwrap()
                .content
                .len(),
            DETACH_MIN + 999
        );
    }

    #[test]
    fn accepts_a_normal_pdf() {
        let info = inspect(&sample_pdf(3, "x")).unwrap();
        assert_eq!(info.pages, 3);
        assert_eq!(info.version, "1.5");
        assert!(!info.pdfa);
    }

    #[test]
    fn detects_pdfa_metadata() {
        let mut doc = Document::load_mem(&sample_pdf(1, "a")).unwrap();
        let xmp = br#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" pdfaid:part="2" pdfaid:conformance="B"/></rdf:RDF></x:xmpmeta>"#;
        let meta = doc.add_object(Stream::new(
            dictionary! {"Type" => "Metadata", "Subtype" => "XML"},
            xmp.to_vec(),
        ));
        doc.catalog_mut().unwrap().set("Metadata", meta);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        assert!(inspect(&out).unwrap().pdfa);
    }

    #[test]
    fn rejects_non_pdf_and_garbage() {
        assert_eq!(inspect(b""), Err(PdfError::NotPdf));
        assert_eq!(inspect(b"hello world"), Err(PdfError::NotPdf));
        assert_eq!(inspect(&[0u8; 4096]), Err(PdfError::NotPdf));
        let mut late = vec![b' '; 2000];
        late.extend_from_slice(&sample_pdf(1, "late"));
        assert_eq!(inspect(&late), Err(PdfError::NotPdf));
        assert!(inspect(b"%PDF-1.7\n%%EOF").is_err());
        assert!(
            inspect(
                b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"
            )
            .is_err()
        );
    }

    #[test]
    fn rejects_handwritten_encrypted_trailer() {
        let pdf = b"%PDF-1.6\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n3 0 obj\n<< /Filter /Standard /V 4 /R 4 /Length 128 /O <00> /U <00> /P -4 >>\nendobj\ntrailer\n<< /Root 1 0 R /Encrypt 3 0 R /Size 4 >>\n%%EOF\n";
        assert_eq!(inspect(pdf), Err(PdfError::Encrypted));
    }

    #[test]
    fn empty_page_tree_is_no_pages() {
        let pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R /Size 3 >>\n%%EOF\n";
        assert_eq!(inspect(pdf), Err(PdfError::NoPages));
    }

    /// Fuzz-ish: truncations and bit flips of real PDFs must give a result, never a panic.
    #[test]
    fn survives_truncation_and_bit_flips() {
        let mut seeds = vec![sample_pdf(2, "fuzz")];
        let mut modern = Document::load_mem(&sample_pdf(3, "modern")).unwrap();
        let mut out = Vec::new();
        modern.save_modern(&mut out).unwrap();
        seeds.push(out);

        // Deterministic xorshift so failures are reproducible.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut cases = 0;
        for seed in &seeds {
            let len = seed.len();
            for cut in (0..len).step_by((len / 97).max(1)) {
                let _ = inspect(&seed[..cut]);
                cases += 1;
            }
            for _ in 0..400 {
                let mut m = seed.clone();
                let flips = 1 + (next() % 8) as usize;
                for _ in 0..flips {
                    let pos = (next() as usize) % len;
                    m[pos] ^= 1 << (next() % 8);
                }
                let _ = inspect(&m);
                cases += 1;
            }
            for _ in 0..100 {
                let mut m = seed.clone();
                let pos = (next() as usize) % len;
                let n = ((next() as usize) % 64).min(len - pos);
                for b in &mut m[pos..pos + n] {
                    *b = (next() & 0xff) as u8;
                }
                let _ = inspect(&m);
                cases += 1;
            }
        }
        assert!(cases > 1000);
    }
}
