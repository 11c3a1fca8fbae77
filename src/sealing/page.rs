//! The generated cover page ("Signaturside / Signature page") placed first in a sealed job.
//!
//! This file owns the layout and text encoding of that page: which facts are listed (job,
//! sender, document digests, signers with masked identifiers, LoA and signing time), the A4
//! geometry, line wrapping, and cp1252 (WinAnsiEncoding) text in the embedded Signgate Sans
//! fonts (cp1252 subsets of Liberation Sans, `assets/fonts/`, SIL OFL 1.1; embedded because
//! PDF/A requires every font program to be in the file).
//! It must not sign anything and must not read or change the input documents; it only adds its
//! own page objects to the document it is given.

use lopdf::{Dictionary, Document, Object, ObjectId, Stream, dictionary};
use time::format_description::well_known::Rfc3339;

use crate::sealing::font_metrics;
use crate::sealing::pades::SealInput;

/// A4 width in points.
pub const A4_WIDTH: f32 = 595.28;
/// A4 height in points.
pub const A4_HEIGHT: f32 = 841.89;
const MARGIN_X: f32 = 56.0;
const MARGIN_TOP: f32 = 60.0;
const MARGIN_BOTTOM: f32 = 64.0;
const TEXT_WIDTH: f32 = A4_WIDTH - 2.0 * MARGIN_X;
/// Upper bound on generated pages, so absurd inputs cannot make unbounded output.
const MAX_PAGES: usize = 500;

/// Errors while generating the signature page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The job lists more text than fits on [`MAX_PAGES`] pages.
    #[error("the signature page would need more than {0} pages")]
    TooLong(usize),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }
}

/// One logical paragraph before wrapping.
struct Para {
    font: Font,
    size: f32,
    indent: f32,
    space_before: f32,
    text: Vec<u8>,
    rule_after: bool,
}

impl Para {
    fn new(font: Font, size: f32, text: &str) -> Self {
        Para {
            font,
            size,
            indent: 0.0,
            space_before: 0.0,
            text: encode_cp1252(text),
            rule_after: false,
        }
    }
    fn indent(mut self, indent: f32) -> Self {
        self.indent = indent;
        self
    }
    fn before(mut self, space: f32) -> Self {
        self.space_before = space;
        self
    }
    fn rule(mut self) -> Self {
        self.rule_after = true;
        self
    }
}

/// Formats a time as RFC 3339 in UTC, whole seconds.
pub fn rfc3339_utc(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| "?".into())
}

/// Masks a Norwegian national identity number (11 digits) as its first 6 digits followed by
/// `*****`. Anything else (for example an eIDAS person identifier) is shown unchanged.
pub fn mask_identifier(identifier: &str) -> String {
    let trimmed = identifier.trim();
    if trimmed.len() == 11 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}*****", &trimmed[..6])
    } else {
        trimmed.to_string()
    }
}

fn paragraphs(input: &SealInput, digests: &[[u8; 32]]) -> Vec<Para> {
    let mut p = vec![
        Para::new(Font::Bold, 16.0, "Signaturside / Signature page").rule(),
        Para::new(Font::Bold, 13.0, &input.title).before(10.0),
        Para::new(
            Font::Regular,
            10.0,
            &format!(
                "Avsender / Sender: {} (org.nr. {})",
                input.sender_name, input.sender_orgnr
            ),
        )
        .before(6.0),
        Para::new(
            Font::Regular,
            10.0,
            &format!("Oppdrag / Job ID: {}", input.job_id),
        ),
        Para::new(
            Font::Regular,
            10.0,
            &format!("Forseglet / Sealed (UTC): {}", rfc3339_utc(input.sealed_at)),
        ),
        Para::new(Font::Bold, 12.0, "Dokumenter / Documents")
            .before(14.0)
            .rule(),
    ];
    for (i, doc) in input.documents.iter().enumerate() {
        p.push(Para::new(Font::Bold, 10.0, &format!("{}. {}", i + 1, doc.title)).before(6.0));
        p.push(Para::new(Font::Regular, 9.0, "SHA-256:").indent(14.0));
        let hex = digests.get(i).map(hex::encode).unwrap_or_default();
        p.push(Para::new(Font::Regular, 9.0, &hex).indent(14.0));
    }
    p.push(
        Para::new(Font::Bold, 12.0, "Signatarer / Signers")
            .before(14.0)
            .rule(),
    );
    for (i, s) in input.signers.iter().enumerate() {
        p.push(Para::new(Font::Bold, 10.0, &format!("{}. {}", i + 1, s.name)).before(6.0));
        for line in [
            format!(
                "Identifikator / Identifier: {}",
                mask_identifier(&s.identifier)
            ),
            format!("Identitetsleverandør / Identity provider: {}", s.idp),
            format!("Sikkerhetsnivå / Level of assurance: {}", s.loa),
            format!("Signert / Signed (UTC): {}", rfc3339_utc(s.signed_at)),
        ] {
            p.push(Para::new(Font::Regular, 9.0, &line).indent(14.0));
        }
    }
    p.push(
        Para::new(
            Font::Regular,
            8.0,
            "Dokumentet er forseglet med et elektronisk segl fra signgate etter at alle \
             signatarer har signert. / This document was sealed with an electronic seal by \
             signgate after all signers had signed.",
        )
        .before(18.0),
    );
    p
}

struct PageBuf {
    content: Vec<u8>,
}

/// Lays out the signature page(s) and returns one content stream per page.
pub fn render_content(input: &SealInput, digests: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, PageError> {
    let paras = paragraphs(input, digests);
    let mut pages: Vec<PageBuf> = Vec::new();
    let mut y = 0.0f32;
    let new_page = |pages: &mut Vec<PageBuf>, y: &mut f32| -> Result<(), PageError> {
        if pages.len() >= MAX_PAGES {
            return Err(PageError::TooLong(MAX_PAGES));
        }
        pages.push(PageBuf {
            content: Vec::with_capacity(4096),
        });
        *y = A4_HEIGHT - MARGIN_TOP;
        Ok(())
    };
    new_page(&mut pages, &mut y)?;

    for para in &paras {
        let leading = para.size * 1.3;
        let width = TEXT_WIDTH - para.indent;
        let lines = wrap(&para.text, para.font, para.size, width);
        y -= para.space_before;
        for line in lines {
            if y - leading < MARGIN_BOTTOM {
                new_page(&mut pages, &mut y)?;
            }
            y -= leading;
            if let Some(page) = pages.last_mut() {
                text_line(
                    &mut page.content,
                    para.font,
                    para.size,
                    MARGIN_X + para.indent,
                    y,
                    &line,
                );
            }
        }
        if para.rule_after {
            y -= 4.0;
            if let Some(page) = pages.last_mut() {
                page.content.extend_from_slice(
                    format!(
                        "q 0.6 G 0.5 w {:.2} {:.2} m {:.2} {:.2} l S Q\n",
                        MARGIN_X,
                        y,
                        A4_WIDTH - MARGIN_X,
                        y
                    )
                    .as_bytes(),
                );
            }
        }
    }

    let total = pages.len();
    Ok(pages
        .into_iter()
        .enumerate()
        .map(|(i, mut page)| {
            let footer = encode_cp1252(&format!(
                "signgate \u{2013} {} \u{2013} {}/{}",
                input.job_id,
                i + 1,
                total
            ));
            let footer = truncate_to_width(&footer, Font::Regular, 7.0, TEXT_WIDTH);
            page.content.extend_from_slice(b"0.4 g\n");
            text_line(
                &mut page.content,
                Font::Regular,
                7.0,
                MARGIN_X,
                MARGIN_BOTTOM - 24.0,
                &footer,
            );
            page.content
        })
        .collect())
}

/// Adds the signature page(s) to `doc` under the page tree node `parent` (the caller puts the
/// returned page ids into its `/Kids`). Returns the new page ids in order.
pub fn add_signature_pages(
    doc: &mut Document,
    parent: ObjectId,
    input: &SealInput,
    digests: &[[u8; 32]],
) -> Result<Vec<ObjectId>, PageError> {
    let contents = render_content(input, digests)?;
    let f1 = add_font(doc, Font::Regular);
    let f2 = add_font(doc, Font::Bold);
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => f1, "F2" => f2 },
        "ProcSet" => vec![Object::Name(b"PDF".to_vec()), Object::Name(b"Text".to_vec())],
    });
    let mut ids = Vec::with_capacity(contents.len());
    for content in contents {
        let stream = doc.add_object(Stream::new(Dictionary::new(), content));
        let page = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => parent,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(A4_WIDTH), Object::Real(A4_HEIGHT)],
            "Resources" => resources,
            "Contents" => stream,
        });
        ids.push(page);
    }
    Ok(ids)
}

/// The embedded font programs: Signgate Sans, subsets of Liberation Sans 2.1.5 (cp1252).
const REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/SigngateSans-Regular.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/SigngateSans-Bold.ttf");

/// A font program compressed once per process: (Flate data, uncompressed length).
fn compressed(font: Font) -> &'static (Vec<u8>, usize) {
    use std::io::Write as _;
    use std::sync::OnceLock;
    static REGULAR: OnceLock<(Vec<u8>, usize)> = OnceLock::new();
    static BOLD: OnceLock<(Vec<u8>, usize)> = OnceLock::new();
    let (cell, ttf) = match font {
        Font::Regular => (&REGULAR, REGULAR_TTF),
        Font::Bold => (&BOLD, BOLD_TTF),
    };
    cell.get_or_init(|| {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail; an (impossible) error leaves the stream empty and the
        // validator would say so, rather than a panic in the sealing worker.
        let data = z
            .write_all(ttf)
            .and_then(|_| z.finish())
            .unwrap_or_default();
        (data, ttf.len())
    })
}

/// Adds a simple TrueType font (WinAnsiEncoding, codes 32–255) with its descriptor and the
/// embedded font program; returns the font dictionary's id.
fn add_font(doc: &mut Document, font: Font) -> ObjectId {
    let (name, widths, d) = match font {
        Font::Regular => (
            "SGATEA+SigngateSans-Regular",
            &font_metrics::REGULAR_WIDTHS,
            &font_metrics::REGULAR_DESCRIPTOR,
        ),
        Font::Bold => (
            "SGATEB+SigngateSans-Bold",
            &font_metrics::BOLD_WIDTHS,
            &font_metrics::BOLD_DESCRIPTOR,
        ),
    };
    let (data, length1) = compressed(font);
    let mut file = Stream::new(
        dictionary! {
            "Filter" => "FlateDecode",
            "Length1" => i64::try_from(*length1).unwrap_or(i64::MAX),
        },
        data.clone(),
    );
    file.allows_compression = false;
    let file = doc.add_object(file);
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => name,
        // Nonsymbolic (bit 6): the glyphs are the standard Latin set, reached via WinAnsi.
        "Flags" => 32,
        "FontBBox" => d.bbox.iter().map(|&v| Object::Integer(v.into())).collect::<Vec<_>>(),
        "ItalicAngle" => i64::from(d.italic_angle),
        "Ascent" => i64::from(d.ascent),
        "Descent" => i64::from(d.descent),
        "CapHeight" => i64::from(d.cap_height),
        "StemV" => i64::from(d.stem_v),
        "FontFile2" => file,
    });
    doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "TrueType",
        "BaseFont" => name,
        "FirstChar" => 32,
        "LastChar" => 255,
        "Widths" => widths.iter().map(|&w| Object::Integer(w.into())).collect::<Vec<_>>(),
        "Encoding" => "WinAnsiEncoding",
        "FontDescriptor" => descriptor,
    })
}

fn text_line(out: &mut Vec<u8>, font: Font, size: f32, x: f32, y: f32, text: &[u8]) {
    out.extend_from_slice(
        format!("BT /{} {} Tf {:.2} {:.2} Td (", font.resource(), size, x, y).as_bytes(),
    );
    for &b in text {
        match b {
            b'(' | b')' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
    out.extend_from_slice(b") Tj ET\n");
}

/// Encodes text as Windows-1252 (the PDF WinAnsiEncoding). Characters outside cp1252 become
/// `?`; control characters become spaces.
pub fn encode_cp1252(s: &str) -> Vec<u8> {
    s.chars().map(cp1252_byte).collect()
}

fn cp1252_byte(c: char) -> u8 {
    let u = c as u32;
    match u {
        0x09..=0x0d => b' ',
        0x20..=0x7e => u as u8,
        0xa0..=0xff => u as u8,
        0x20ac => 0x80,
        0x201a => 0x82,
        0x0192 => 0x83,
        0x201e => 0x84,
        0x2026 => 0x85,
        0x2020 => 0x86,
        0x2021 => 0x87,
        0x02c6 => 0x88,
        0x2030 => 0x89,
        0x0160 => 0x8a,
        0x2039 => 0x8b,
        0x0152 => 0x8c,
        0x017d => 0x8e,
        0x2018 => 0x91,
        0x2019 => 0x92,
        0x201c => 0x93,
        0x201d => 0x94,
        0x2022 => 0x95,
        0x2013 => 0x96,
        0x2014 => 0x97,
        0x02dc => 0x98,
        0x2122 => 0x99,
        0x0161 => 0x9a,
        0x203a => 0x9b,
        0x0153 => 0x9c,
        0x017e => 0x9e,
        0x0178 => 0x9f,
        0x00..=0x1f | 0x7f..=0x9f => b' ',
        _ => b'?',
    }
}

/// Advance width (1/1000 em) of one cp1252 byte in the embedded font, exactly what the font
/// dictionary's `/Widths` says (codes below 32 are never written: they become spaces).
fn char_width(b: u8, font: Font) -> f32 {
    let widths = match font {
        Font::Regular => &font_metrics::REGULAR_WIDTHS,
        Font::Bold => &font_metrics::BOLD_WIDTHS,
    };
    f32::from(
        widths
            .get(usize::from(b.saturating_sub(32)))
            .copied()
            .unwrap_or(1000),
    )
}

fn text_width(text: &[u8], font: Font, size: f32) -> f32 {
    text.iter().map(|&b| char_width(b, font)).sum::<f32>() * size / 1000.0
}

fn truncate_to_width(text: &[u8], font: Font, size: f32, max: f32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = 0.0;
    for &b in text {
        w += char_width(b, font) * size / 1000.0;
        if w > max {
            break;
        }
        out.push(b);
    }
    out
}

/// Greedy word wrap; words longer than a line are broken between characters.
fn wrap(text: &[u8], font: Font, size: f32, max: f32) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    let space = char_width(b' ', font) * size / 1000.0;
    let mut line_w = 0.0f32;
    for word in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let word_w = text_width(word, font, size);
        let needed = if line.is_empty() {
            word_w
        } else {
            line_w + space + word_w
        };
        if needed <= max {
            if !line.is_empty() {
                line.push(b' ');
                line_w += space;
            }
            line.extend_from_slice(word);
            line_w += word_w;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            line_w = 0.0;
        }
        if word_w <= max {
            line.extend_from_slice(word);
            line_w = word_w;
        } else {
            for &b in word {
                let cw = char_width(b, font) * size / 1000.0;
                if line_w + cw > max && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0.0;
                }
                line.push(b);
                line_w += cw;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sealing::pades::{SealDocument, SealSigner};
    use time::macros::datetime;

    pub(crate) fn input(signers: usize) -> SealInput {
        SealInput {
            job_id: "job-0001".into(),
            title: "Avtale om kjøp av ærfugldun – «Blåbærtur» (2025)".into(),
            sender_name: "Ærlig Øl & Åkervekst AS".into(),
            sender_orgnr: "999888777".into(),
            documents: vec![SealDocument {
                title: "Kontrakt.pdf".into(),
                bytes: vec![],
            }],
            signers: (0..signers)
                .map(|i| SealSigner {
                    name: format!("Signatar {i} Bjørn Æsøy Ålesund"),
                    identifier: "01017012345".into(),
                    idp: "ID-porten".into(),
                    loa: "high".into(),
                    signed_at: datetime!(2025-03-01 12:34:56.789 +01:00),
                })
                .collect(),
            sealed_at: datetime!(2025-03-01 13:00:00 UTC),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn cp1252_encoding() {
        assert_eq!(
            encode_cp1252("æøåÆØÅ"),
            vec![0xe6, 0xf8, 0xe5, 0xc6, 0xd8, 0xc5]
        );
        assert_eq!(
            encode_cp1252("é ü €–"),
            vec![0xe9, b' ', 0xfc, b' ', 0x80, 0x96]
        );
        assert_eq!(encode_cp1252("日本\u{1F600}"), b"???".to_vec());
        assert_eq!(encode_cp1252("a\nb"), b"a b".to_vec());
    }

    #[test]
    fn masking() {
        assert_eq!(mask_identifier("01017012345"), "010170*****");
        assert_eq!(mask_identifier("NO/SE/ABC123"), "NO/SE/ABC123");
        assert_eq!(mask_identifier("1234"), "1234");
    }

    #[test]
    fn wraps_long_text() {
        let text = encode_cp1252(&"ord ".repeat(200));
        let lines = wrap(&text, Font::Regular, 10.0, TEXT_WIDTH);
        assert!(lines.len() > 3);
        for l in &lines {
            assert!(text_width(l, Font::Regular, 10.0) <= TEXT_WIDTH);
        }
        let long_word = vec![b'W'; 500];
        let lines = wrap(&long_word, Font::Bold, 10.0, TEXT_WIDTH);
        assert!(lines.len() > 3);
    }

    #[test]
    fn content_lists_everything() {
        let inp = input(2);
        let pages = render_content(&inp, &[[0xab; 32]]).unwrap();
        assert_eq!(pages.len(), 1);
        let c = &pages[0];
        let has = |s: &str| crate::sealing::pdf::find(c, &encode_cp1252(s)).is_some();
        assert!(has("Signaturside / Signature page"));
        assert!(has("010170*****"));
        assert!(!has("01017012345"));
        assert!(has(&"ab".repeat(32)));
        assert!(has("2025-03-01T11:34:56Z"));
        assert!(has("Bjørn Æsøy Ålesund"));
        assert!(has("ID-porten"));
    }

    #[test]
    fn many_signers_flow_onto_more_pages() {
        let inp = input(60);
        let pages = render_content(&inp, &[[0; 32]]).unwrap();
        assert!(pages.len() > 1);
    }
}
