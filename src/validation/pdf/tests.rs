//! Tests of the PDF signature reader on the samples in `tests/data/pades` (MANIFEST
//! section G) and on attacks built from them by appending or patching bytes.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Instant;

use super::doc::Doc;
use super::lexer::Object;
use super::*;

fn sample(rel: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pades")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const SAMPLES: &[&str] = &[
    "pyhanko/pades-lta-dss-indirect-arrs-test.pdf",
    "pyhanko/unsigned-minimal.pdf",
    "pyhanko/unsigned-minimal-with-field.pdf",
    "dss/pdf-signed-original.pdf",
    "dss/pdf-signed-corrupted.pdf",
    "dss/hello_signed_INCSAVE_signed.pdf",
    "dss/doc-firmado.pdf",
    "dss/doc-firmado-T.pdf",
    "dss/doc-firmado-LT.pdf",
    "dss/pades-bes.pdf",
    "dss/Test.signed_Certipost-2048-SHA512.extended-LTA.pdf",
    "dss/dss-2058-QC-LTA-test.pdf",
    "dss/TeleSec_PKS_eIDAS_QES_CA_1-baseline-b.pdf",
    "dss/plugtests/Signature-P-DE_SCI-4.pdf",
    "dss/plugtests/Signature-P-SK-6.pdf",
    "dss/pades-5-signatures-and-1-document-timestamp.pdf",
    "dss/pades3_Baseline_B.pdf",
    "dss/PAdES-LT.pdf",
];

fn kinds(r: &PdfSignatures) -> (usize, usize) {
    let sigs = r
        .signatures
        .iter()
        .filter(|s| s.kind == PdfSigKind::Signature)
        .count();
    (sigs, r.signatures.len() - sigs)
}

fn failed_reason(c: &Check) -> &str {
    match c {
        Check::Failed { sub, reason } => {
            assert_eq!(*sub, SubIndication::FormatFailure);
            reason
        }
        Check::Passed => panic!("check passed"),
    }
}

// ---------------------------------------------------------------------------------------
// Samples

#[test]
fn every_sample_parses_and_signed_ones_have_signatures() {
    for f in SAMPLES {
        let bytes = sample(f);
        let t = Instant::now();
        let r = read_signatures(&bytes).unwrap_or_else(|e| panic!("{f}: {e}"));
        eprintln!("{f}: {:?}, {} revisions", t.elapsed(), r.revisions.len());
        assert!(!r.revisions.is_empty(), "{f}");
        // Revisions are contiguous and in order.
        for w in r.revisions.windows(2) {
            assert_eq!(w[0].end, w[1].start, "{f}");
            assert!(w[0].end < w[1].end, "{f}");
        }
        if !f.contains("unsigned") {
            assert!(!r.signatures.is_empty(), "{f}: no signature found");
        }
        for s in &r.signatures {
            assert!(!s.contents.is_empty(), "{f}: {}", s.field_name);
            if s.byte_range_check.passed() {
                let rev = &r.revisions[s.signed_revision.unwrap()];
                let (a, b) = (s.ranges[0], s.ranges[1]);
                assert_eq!(a.0, 0);
                assert!(b.0 + b.1 == rev.end || b.0 + b.1 == rev.eof, "{f}");
                // The hole is exactly `<hex>`.
                assert_eq!(bytes[a.1], b'<');
                assert_eq!(bytes[b.0 - 1], b'>');
            }
        }
    }
}

#[test]
fn original_has_one_signature_covering_the_whole_file() {
    let bytes = sample("dss/pdf-signed-original.pdf");
    let r = read_signatures(&bytes).unwrap();
    assert_eq!(r.signatures.len(), 1);
    let s = &r.signatures[0];
    assert_eq!(s.byte_range_check, Check::Passed);
    assert!(s.covers_whole_file);
    assert_eq!(s.signed_revision, Some(r.revisions.len() - 1));
    assert_eq!(s.sub_filter, "ETSI.CAdES.detached");
    assert_eq!(s.kind, PdfSigKind::Signature);
    assert_eq!(s.ranges, vec![(0, 18801), (37747, 113379)]);
    // /Contents is the hex string of the hole, padding included.
    assert_eq!(s.contents.len(), (37747 - 18801 - 2) / 2);
    assert_eq!(s.contents[0], 0x30, "a DER SEQUENCE");
    assert!(s.modifications.is_empty());
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn corrupted_byte_range_fails() {
    let r = read_signatures(&sample("dss/pdf-signed-corrupted.pdf")).unwrap();
    assert_eq!(r.signatures.len(), 1);
    let reason = failed_reason(&r.signatures[0].byte_range_check);
    assert!(reason.contains("ByteRange"), "{reason}");
    assert!(!r.findings.is_empty());
}

#[test]
fn incremental_second_signature_is_an_allowed_change() {
    let r = read_signatures(&sample("dss/hello_signed_INCSAVE_signed.pdf")).unwrap();
    assert_eq!(kinds(&r), (2, 0));
    let (s1, s2) = (&r.signatures[0], &r.signatures[1]);
    assert!(s1.byte_range_check.passed() && s2.byte_range_check.passed());
    assert!(!s1.covers_whole_file);
    assert!(s2.covers_whole_file);
    assert!(s1.signed_revision < s2.signed_revision);
    assert!(!s1.modifications.is_empty());
    assert!(s1.only_allowed_modifications(), "{:?}", s1.modifications);
    assert!(
        s1.modifications
            .iter()
            .any(|m| m.description.contains("Signature2"))
    );
    assert!(s2.modifications.is_empty());
}

#[test]
fn pades_lta_with_indirect_dss_arrays() {
    let r = read_signatures(&sample("pyhanko/pades-lta-dss-indirect-arrs-test.pdf")).unwrap();
    assert_eq!(kinds(&r), (1, 1));
    assert_eq!(r.signatures[0].kind, PdfSigKind::Signature);
    assert_eq!(r.signatures[1].kind, PdfSigKind::DocTimeStamp);
    assert_eq!(r.signatures[1].sub_filter, "ETSI.RFC3161");
    assert_eq!(r.signatures[0].field_name, "Sig1");
    for s in &r.signatures {
        assert!(s.byte_range_check.passed());
        assert!(s.only_allowed_modifications(), "{:?}", s.modifications);
        assert!(
            s.modifications
                .iter()
                .all(|m| m.level == ModLevel::LtaUpdates)
        );
    }
    let d = r.dss.last().unwrap();
    assert!(!d.certs.is_empty() && !d.ocsps.is_empty());
    assert!(d.certs.iter().all(|c| c.first() == Some(&0x30)));
    assert_eq!(d.vri_keys.len(), 1);
    assert_eq!(d.vri_keys[0].len(), 40, "hex SHA-1");
}

#[test]
fn two_dss_revisions_with_three_ocsps() {
    let r = read_signatures(&sample("dss/plugtests/Signature-P-DE_SCI-4.pdf")).unwrap();
    // Revision 2 adds a DSS with 3 certificates and 3 OCSP responses; revision 3 replaces
    // it by a DSS with 3 other OCSP responses only: validation must look at both.
    assert_eq!(r.dss.len(), 2);
    assert_eq!((r.dss[0].certs.len(), r.dss[0].ocsps.len()), (3, 3));
    assert_eq!((r.dss[1].certs.len(), r.dss[1].ocsps.len()), (0, 3));
    let ocsps: HashSet<&Vec<u8>> = r.dss.iter().flat_map(|d| d.ocsps.iter()).collect();
    assert_eq!(ocsps.len(), 6);
    assert!(ocsps.iter().all(|o| o.starts_with(&[0x30, 0x82])));
    assert_eq!(kinds(&r), (1, 1));
    assert!(r.signatures[0].only_allowed_modifications());
}

#[test]
fn pades_lt_dss_has_certificates_and_ocsp() {
    let r = read_signatures(&sample("dss/PAdES-LT.pdf")).unwrap();
    assert!(r.revisions.iter().any(|x| x.xref == XrefKind::Hybrid));
    assert!(
        r.dss
            .iter()
            .any(|d| !d.certs.is_empty() && !d.ocsps.is_empty())
    );
    for s in &r.signatures {
        assert!(s.byte_range_check.passed(), "{}", s.field_name);
        assert!(s.only_allowed_modifications(), "{:?}", s.modifications);
    }
}

#[test]
fn five_signatures_and_a_document_timestamp_without_looping() {
    let t = Instant::now();
    let r = read_signatures(&sample(
        "dss/pades-5-signatures-and-1-document-timestamp.pdf",
    ))
    .unwrap();
    eprintln!("{:?}", t.elapsed());
    assert_eq!(kinds(&r), (5, 1));
    // The last /Prev is 0: the unlinked revisions are recovered and reported.
    assert!(r.findings.iter().any(|f| f.reason.contains("/Prev")));
    for s in &r.signatures {
        assert!(s.byte_range_check.passed(), "{}", s.field_name);
    }
    let revs: HashSet<_> = r.signatures.iter().map(|s| s.signed_revision).collect();
    assert_eq!(revs.len(), 6);
}

#[test]
fn sk_plugtest_two_signatures_and_a_document_timestamp() {
    let r = read_signatures(&sample("dss/plugtests/Signature-P-SK-6.pdf")).unwrap();
    assert_eq!(kinds(&r), (2, 1));
    assert!(r.signatures.iter().all(|s| s.byte_range_check.passed()));
    assert!(r.signatures[0].only_allowed_modifications());
}

#[test]
fn xref_stream_sample_with_object_streams() {
    let r = read_signatures(&sample("dss/TeleSec_PKS_eIDAS_QES_CA_1-baseline-b.pdf")).unwrap();
    assert!(r.revisions.iter().all(|x| x.xref == XrefKind::Stream));
    assert_eq!(r.signatures.len(), 1);
    assert!(r.signatures[0].byte_range_check.passed());
    assert!(r.signatures[0].covers_whole_file);
}

/// Every object lopdf loads (it reads the whole document eagerly) is found by the lazy
/// reader with the same type and, for dictionaries, the same keys.
#[test]
fn lazy_reader_agrees_with_lopdf() {
    for f in SAMPLES {
        let bytes = sample(f);
        let Ok(lo) = lopdf::Document::load_mem(&bytes) else {
            continue;
        };
        let doc = Doc::open(&bytes).unwrap();
        let last = doc.last();
        let mut checked = 0;
        for (&(num, _), o) in &lo.objects {
            let ours = doc
                .load(num, last)
                .unwrap_or_else(|e| panic!("{f} {num}: {e}"));
            let Some(ours) = ours else {
                panic!("{f}: object {num} missing");
            };
            let same_kind = matches!(
                (&ours.obj, o),
                (Object::Dict(_), lopdf::Object::Dictionary(_))
                    | (Object::Stream(_), lopdf::Object::Stream(_))
                    | (Object::Array(_), lopdf::Object::Array(_))
                    | (Object::Int(_), lopdf::Object::Integer(_))
                    | (Object::Real(_), lopdf::Object::Real(_))
                    | (Object::Str(_), lopdf::Object::String(..))
                    | (Object::Name(_), lopdf::Object::Name(_))
                    | (Object::Ref(_), lopdf::Object::Reference(_))
                    | (Object::Null, lopdf::Object::Null)
                    | (Object::Bool(_), lopdf::Object::Boolean(_))
            );
            assert!(
                same_kind,
                "{f}: object {num}: {:?} vs {o:?}",
                ours.obj.kind()
            );
            let lo_dict = match o {
                lopdf::Object::Dictionary(d) => Some(d),
                lopdf::Object::Stream(s) => Some(&s.dict),
                _ => None,
            };
            if let (Some(a), Some(b)) = (ours.obj.dict(), lo_dict) {
                let mut lk: Vec<&[u8]> = b.iter().map(|(k, _)| k.as_slice()).collect();
                lk.sort_unstable();
                if let lopdf::Object::Stream(_) = o {
                    // lopdf rewrites /Length and drops filters it decoded; compare the rest.
                    lk.retain(|k| *k != b"Length");
                    let mut ak = a.keys();
                    ak.retain(|k| *k != b"Length");
                    assert!(lk.iter().all(|k| ak.contains(k)), "{f}: object {num}");
                } else {
                    assert_eq!(a.keys(), lk, "{f}: object {num}");
                }
            }
            checked += 1;
        }
        eprintln!("{f}: {checked} objects agree with lopdf");
    }
}

// ---------------------------------------------------------------------------------------
// Helpers to build attacks

/// Serialises an object (enough for these tests).
fn write_obj(o: &Object, out: &mut String) {
    match o {
        Object::Null => out.push_str("null"),
        Object::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Object::Int(i) => write!(out, "{i}").unwrap(),
        Object::Real(r) => write!(out, "{r}").unwrap(),
        Object::Str(s) => {
            out.push('<');
            for b in &s.bytes {
                write!(out, "{b:02X}").unwrap();
            }
            out.push('>');
        }
        Object::Name(n) => {
            out.push('/');
            for &b in n {
                if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-' {
                    out.push(char::from(b));
                } else {
                    write!(out, "#{b:02X}").unwrap();
                }
            }
        }
        Object::Array(a) => {
            out.push('[');
            for x in a {
                write_obj(x, out);
                out.push(' ');
            }
            out.push(']');
        }
        Object::Dict(d) => {
            out.push_str("<<");
            for (k, v) in &d.0 {
                write_obj(&Object::Name(k.clone()), out);
                out.push(' ');
                write_obj(v, out);
                out.push(' ');
            }
            out.push_str(">>");
        }
        Object::Stream(_) => panic!("streams are written by hand"),
        Object::Ref((n, g)) => write!(out, "{n} {g} R").unwrap(),
    }
}

/// Appends an incremental update with a classic xref table defining `objects`
/// (number, body after `N 0 obj`), keeping /Root and /Info.
fn append_update(base: &[u8], objects: &[(u32, String)]) -> Vec<u8> {
    let doc = Doc::open(base).unwrap();
    let last = doc.revs.last().unwrap();
    let trailer = &last.trailer;
    let size = trailer.get(b"Size").and_then(Object::as_int).unwrap();
    let max = objects
        .iter()
        .map(|(n, _)| i64::from(*n) + 1)
        .max()
        .unwrap_or(0);
    let mut out = base.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut offsets = Vec::new();
    for (n, body) in objects {
        offsets.push((*n, out.len()));
        out.extend_from_slice(format!("{n} 0 obj\n{body}\nendobj\n").as_bytes());
    }
    let xref = out.len();
    let mut t = String::from("xref\n0 1\n0000000000 65535 f\r\n");
    let mut sorted = offsets.clone();
    sorted.sort_unstable();
    for (n, off) in sorted {
        write!(t, "{n} 1\n{off:010} 00000 n\r\n").unwrap();
    }
    let mut tr = String::new();
    write!(tr, "/Size {} /Prev {}", size.max(max), last.startxref).unwrap();
    for key in [&b"Root"[..], b"Info", b"ID"] {
        if let Some(v) = trailer.get(key) {
            write!(tr, " /{} ", String::from_utf8_lossy(key)).unwrap();
            write_obj(v, &mut tr);
        }
    }
    write!(t, "trailer\n<<{tr}>>\nstartxref\n{xref}\n%%EOF\n").unwrap();
    out.extend_from_slice(t.as_bytes());
    out
}

/// The first page's object number and its content stream's object number.
fn first_page_content(bytes: &[u8]) -> (u32, u32) {
    let doc = Doc::open(bytes).unwrap();
    let last = doc.last();
    let cat = doc.catalog(last).unwrap();
    let pages = doc
        .resolve(cat.obj.dict().unwrap().get(b"Pages").unwrap(), last)
        .unwrap();
    let kids = pages.dict().unwrap().get(b"Kids").unwrap().clone();
    let Object::Array(k) = &*doc.resolve(&kids, last).unwrap() else {
        panic!()
    };
    let page_ref = k[0].as_objref().unwrap();
    let page = doc.get(page_ref.0, last).unwrap();
    let c = page.obj.dict().unwrap().get(b"Contents").unwrap().clone();
    let c = match c {
        Object::Array(a) => a[0].as_objref().unwrap(),
        o => o.as_objref().unwrap(),
    };
    (page_ref.0, c.0)
}

fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "keep offsets");
    let i = lexer::find(bytes, from).expect("pattern present");
    let mut out = bytes.to_vec();
    out[i..i + from.len()].copy_from_slice(to);
    out
}

// ---------------------------------------------------------------------------------------
// Attacks

#[test]
fn replacing_a_page_content_stream_after_signing_is_not_allowed() {
    let base = sample("dss/pdf-signed-original.pdf");
    let (_, content) = first_page_content(&base);
    let evil = append_update(
        &base,
        &[(
            content,
            "<</Length 22>>\nstream\nBT /F1 24 Tf (PAY) Tj ET\nendstream".into(),
        )],
    );
    let r = read_signatures(&evil).unwrap();
    let s = &r.signatures[0];
    assert!(s.byte_range_check.passed());
    assert!(!s.covers_whole_file);
    assert_eq!(s.signed_revision, Some(1));
    let bad: Vec<_> = s.modifications.iter().filter(|m| !m.allowed).collect();
    assert_eq!(bad.len(), 1, "{:?}", s.modifications);
    assert_eq!(bad[0].level, ModLevel::Other);
    assert_eq!(bad[0].revision, 2);
    assert!(
        bad[0]
            .description
            .contains(&format!("object {content} 0 (page 1 content stream)")),
        "{}",
        bad[0].description
    );
    assert!(r.findings.iter().any(|f| f.object == "revision 2"));
}

#[test]
fn adding_only_a_dss_is_allowed() {
    let base = sample("dss/pdf-signed-original.pdf");
    let doc = Doc::open(&base).unwrap();
    let last = doc.last();
    let cat = doc.catalog(last).unwrap();
    let cat_num = cat.id.0;
    let size = u32::try_from(
        doc.revs[last]
            .trailer
            .get(b"Size")
            .and_then(Object::as_int)
            .unwrap(),
    )
    .unwrap();
    let mut cat_dict = cat.obj.dict().unwrap().clone();
    cat_dict.0.push((b"DSS".to_vec(), Object::Ref((size, 0))));
    let mut cat_text = String::new();
    write_obj(&Object::Dict(cat_dict), &mut cat_text);
    let cert = "0\u{82}\u{1}\u{0}"; // placeholder DER-ish bytes
    let evil = append_update(
        &base,
        &[
            (cat_num, cat_text),
            (
                size,
                format!("<</Certs [{} 0 R] /OCSPs [{} 0 R]>>", size + 1, size + 2),
            ),
            (
                size + 1,
                format!("<</Length {}>>\nstream\n{cert}\nendstream", cert.len()),
            ),
            (
                size + 2,
                "<</Length 3>>\nstream\n0\u{3}\u{1}\nendstream".into(),
            ),
        ],
    );
    let r = read_signatures(&evil).unwrap();
    let s = &r.signatures[0];
    assert!(s.byte_range_check.passed());
    assert!(!s.modifications.is_empty());
    assert!(s.only_allowed_modifications(), "{:?}", s.modifications);
    assert_eq!(r.dss.len(), 1);
    assert_eq!(r.dss[0].revision, 2);
    assert_eq!(r.dss[0].certs.len(), 1);
    assert_eq!(r.dss[0].ocsps, vec![vec![b'0', 3, 1]]);
}

#[test]
fn byte_range_that_leaves_a_gap_or_stops_short_fails() {
    let base = sample("dss/pdf-signed-original.pdf");
    // Stop one byte short of the revision end.
    let short = replace_once(
        &base,
        b"/ByteRange [0 18801 37747 113379]",
        b"/ByteRange [0 18801 37747 113370]",
    );
    let r = read_signatures(&short).unwrap();
    let reason = failed_reason(&r.signatures[0].byte_range_check);
    assert!(reason.contains("not the end of a revision"), "{reason}");
    assert!(!r.signatures[0].covers_whole_file);
    // Leave a gap after /Contents.
    let gap = replace_once(
        &base,
        b"/ByteRange [0 18801 37747 113379]",
        b"/ByteRange [0 18801 37749 113377]",
    );
    let r = read_signatures(&gap).unwrap();
    let reason = failed_reason(&r.signatures[0].byte_range_check);
    assert!(
        reason.contains("not this signature's /Contents"),
        "{reason}"
    );
    // Point outside the file.
    let outside = replace_once(
        &base,
        b"/ByteRange [0 18801 37747 113379]",
        b"/ByteRange [0 18801 37747 913379]",
    );
    let r = read_signatures(&outside).unwrap();
    let reason = failed_reason(&r.signatures[0].byte_range_check);
    assert!(reason.contains("outside the file"), "{reason}");
    assert!(r.signatures[0].ranges.is_empty());
    // Three entries.
    let three = replace_once(
        &base,
        b"/ByteRange [0 18801 37747 113379]",
        b"/ByteRange [0 18801 37747]       ",
    );
    let r = read_signatures(&three).unwrap();
    let reason = failed_reason(&r.signatures[0].byte_range_check);
    assert!(reason.contains("3 entries"), "{reason}");
}

#[test]
fn byte_range_pointing_at_another_signatures_hole_fails() {
    let base = sample("dss/hello_signed_INCSAVE_signed.pdf");
    let evil = replace_once(&base, b"0 216719 235665 313", b"0 196862 215808 313");
    let r = read_signatures(&evil).unwrap();
    let sig2 = r
        .signatures
        .iter()
        .find(|s| s.field_name == "Signature2")
        .unwrap();
    let reason = failed_reason(&sig2.byte_range_check);
    assert!(
        reason.contains("not this signature's /Contents"),
        "{reason}"
    );
    assert!(
        r.findings
            .iter()
            .any(|f| f.reason.contains("both claim to sign revision 1"))
    );
    let sig1 = r
        .signatures
        .iter()
        .find(|s| s.field_name == "Signature1")
        .unwrap();
    assert!(sig1.byte_range_check.passed());
}

#[test]
fn empty_zero_or_missing_contents_fail() {
    let base = sample("dss/pdf-signed-original.pdf");
    // All zero, same length.
    let mut zero = base.clone();
    for b in &mut zero[18802..37746] {
        *b = b'0';
    }
    let r = read_signatures(&zero).unwrap();
    let reason = failed_reason(&r.signatures[0].byte_range_check);
    assert!(reason.contains("empty or all zero"), "{reason}");
    // `<>` followed by spaces (the hole no longer matches either).
    let mut empty = base.clone();
    empty[18802] = b'>';
    for b in &mut empty[18803..37747] {
        *b = b' ';
    }
    let r = read_signatures(&empty).unwrap();
    assert!(r.signatures[0].contents.is_empty());
    let reason = failed_reason(&r.signatures[0].byte_range_check);
    assert!(reason.contains("empty"), "{reason}");
    // Missing.
    let missing = replace_once(&base, b"/Contents <", b"/Contentz <");
    let r = read_signatures(&missing).unwrap();
    let reason = failed_reason(&r.signatures[0].byte_range_check);
    assert!(reason.contains("/Contents is missing"), "{reason}");
    // A literal string instead of hex.
    let mut literal = base.clone();
    literal[18801] = b'(';
    literal[37746] = b')';
    let r = read_signatures(&literal).unwrap();
    let reason = failed_reason(&r.signatures[0].byte_range_check);
    assert!(reason.contains("literal string"), "{reason}");
}

#[test]
fn prev_loops_terminate_with_a_finding() {
    let base = sample("pyhanko/unsigned-minimal.pdf");
    // A self-referencing /Prev.
    let xref = base.len() + 1;
    let mut evil = base.clone();
    evil.extend_from_slice(
        format!("\nxref\n0 1\n0000000000 65535 f\r\ntrailer\n<</Size 5 /Root 1 0 R /Prev {xref}>>\nstartxref\n{xref}\n%%EOF\n")
            .as_bytes(),
    );
    assert_eq!(&evil[xref..xref + 4], b"xref");
    let t = Instant::now();
    let r = read_signatures(&evil).unwrap();
    assert!(t.elapsed().as_secs() < 5);
    assert!(
        r.findings.iter().any(|f| f.reason.contains("loops")),
        "{:?}",
        r.findings
    );
    // Two sections pointing at each other.
    let a = base.len();
    let first = format!(
        "xref\n0 1\n0000000000 65535 f\r\ntrailer\n<</Size 5 /Root 1 0 R /Prev BBBBBB>>\nstartxref\n{a}\n%%EOF\n"
    );
    let b = a + first.len();
    let first = first.replace("BBBBBB", &format!("{b:06}"));
    let second = format!(
        "xref\n0 1\n0000000000 65535 f\r\ntrailer\n<</Size 5 /Root 1 0 R /Prev {a}>>\nstartxref\n{b}\n%%EOF\n"
    );
    let mut evil = base.clone();
    evil.extend_from_slice(first.as_bytes());
    assert_eq!(evil.len(), b);
    evil.extend_from_slice(second.as_bytes());
    let r = read_signatures(&evil).unwrap();
    assert!(
        r.findings.iter().any(|f| f.reason.contains("loops")),
        "{:?}",
        r.findings
    );
}

/// A file with an xref stream, built by hand: `objects` are (number, body) written in
/// order; `in_stream` are (number, body) placed in one object stream with `objstm_data`
/// overriding its (uncompressed or Flate) data when given.
fn xref_stream_pdf(objects: &[(u32, Vec<u8>)], objstm: Option<(u32, Vec<(u32, u32)>)>) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut rows: Vec<(u32, [u8; 7])> = Vec::new();
    for (n, body) in objects {
        let off = u32::try_from(out.len()).unwrap();
        out.extend_from_slice(format!("{n} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
        let o = off.to_be_bytes();
        rows.push((*n, [1, o[0], o[1], o[2], o[3], 0, 0]));
    }
    if let Some((stm, members)) = objstm {
        for (n, idx) in members {
            let s = stm.to_be_bytes();
            let i = u16::try_from(idx).unwrap().to_be_bytes();
            rows.push((n, [2, s[0], s[1], s[2], s[3], i[0], i[1]]));
        }
    }
    rows.sort_unstable_by_key(|r| r.0);
    let xref_num = rows.last().map(|r| r.0 + 1).unwrap_or(1);
    let xref_off = out.len();
    let mut data = Vec::new();
    let mut index = String::new();
    for (n, row) in &rows {
        write!(index, "{n} 1 ").unwrap();
        data.extend_from_slice(row);
    }
    out.extend_from_slice(
        format!(
            "{xref_num} 0 obj\n<</Type /XRef /Size {} /W [1 4 2] /Index [{index}] /Root 1 0 R /Length {}>>\nstream\n",
            xref_num + 1,
            data.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&data);
    out.extend_from_slice(
        format!("\nendstream\nendobj\nstartxref\n{xref_off}\n%%EOF\n").as_bytes(),
    );
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn object_streams_are_read_lazily_and_bombs_are_capped() {
    // A working object stream holding the catalog.
    let members = b"1 0 <</Type /Catalog /Pages 2 0 R>>";
    let packed = zlib(members);
    let mut stm = format!(
        "<</Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length {}>>\nstream\n",
        packed.len()
    )
    .into_bytes();
    stm.extend_from_slice(&packed);
    stm.extend_from_slice(b"\nendstream");
    let ok = xref_stream_pdf(
        &[
            (2, b"<</Type /Pages /Kids [] /Count 0>>".to_vec()),
            (3, stm),
        ],
        Some((3, vec![(1, 0)])),
    );
    let doc = Doc::open(&ok).unwrap();
    let cat = doc.catalog(0).expect("catalog from the object stream");
    assert!(cat.extent.is_none());
    assert_eq!(cat.obj.dict().unwrap().name(b"Type"), Some(&b"Catalog"[..]));
    assert!(read_signatures(&ok).unwrap().signatures.is_empty());

    // A bomb: 200 MB of zeros compressed, declared as the object stream.
    let bomb_data = zlib(&vec![b' '; 200 * 1024 * 1024]);
    let mut bomb = format!(
        "<</Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length {}>>\nstream\n",
        bomb_data.len()
    )
    .into_bytes();
    bomb.extend_from_slice(&bomb_data);
    bomb.extend_from_slice(b"\nendstream");
    let evil = xref_stream_pdf(&[(3, bomb)], Some((3, vec![(1, 0)])));
    let t = Instant::now();
    let r = read_signatures(&evil).unwrap();
    eprintln!("bomb: {:?}", t.elapsed());
    assert!(r.signatures.is_empty());
    assert!(
        r.findings
            .iter()
            .any(|f| f.reason.contains("exceeds the cap")),
        "{:?}",
        r.findings
    );

    // A huge /Length and deeply nested arrays.
    let deep = format!("<</Type /Catalog /X {}>>", "[".repeat(100_000));
    let evil = xref_stream_pdf(
        &[
            (1, deep.into_bytes()),
            (
                2,
                b"<</Length 999999999999>>\nstream\nabc\nendstream".to_vec(),
            ),
        ],
        None,
    );
    let r = read_signatures(&evil).unwrap();
    assert!(r.signatures.is_empty());
    assert!(
        r.findings.iter().any(|f| f.reason.contains("nesting")),
        "{:?}",
        r.findings
    );
    let doc = Doc::open(&evil).unwrap();
    let Object::Stream(s) = &doc.load(2, 0).unwrap().unwrap().obj else {
        panic!()
    };
    assert!(s.length_repaired);
    assert_eq!(&evil[s.data_start..s.data_end], b"abc");
}

#[test]
fn ten_megabytes_of_xref_garbage_fail_fast() {
    let mut evil = b"%PDF-1.4\n1 0 obj\n<</Type /Catalog>>\nendobj\nxref\n0 99999999\n".to_vec();
    let xref = lexer::find(&evil, b"xref").unwrap();
    let mut x: u32 = 12345;
    while evil.len() < 10 * 1024 * 1024 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        evil.push((x >> 16) as u8);
    }
    evil.extend_from_slice(format!("\ntrailer\n<<>>\nstartxref\n{xref}\n%%EOF\n").as_bytes());
    let t = Instant::now();
    let r = read_signatures(&evil);
    eprintln!("garbage xref: {:?}", t.elapsed());
    let r = r.unwrap();
    assert!(r.signatures.is_empty());
    assert!(
        r.findings
            .iter()
            .any(|f| f.reason.contains("objects located by scanning")),
        "{:?}",
        r.findings
    );
    // Not a PDF at all.
    assert_eq!(read_signatures(b"hello").unwrap_err(), PdfError::NotPdf);
    assert!(read_signatures(b"%PDF-1.7\n").is_err());
}

#[test]
fn truncations_and_bit_flips_never_panic() {
    let base = sample("pyhanko/pades-lta-dss-indirect-arrs-test.pdf");
    for cut in (0..base.len()).step_by(997) {
        let _ = read_signatures(&base[..cut]);
    }
    let mut x: u32 = 7;
    for _ in 0..300 {
        let mut v = base.clone();
        for _ in 0..8 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let i = (x as usize >> 8) % v.len();
            v[i] = (x >> 3) as u8;
        }
        let _ = read_signatures(&v);
    }
}

/// A signed single-revision PDF built by hand: catalog 1 (direct AcroForm), pages 2, page 3
/// with content 4 (`big` bytes of pseudo-random data declared as Flate, never decodable),
/// signature field/widget 5 (with `field_extra`), signature dictionary 6 (with
/// `sig_extra`), text field/widget 7 "Name". Returns the bytes and the hole (a, b).
fn build_signed(big: usize, sig_extra: &str, field_extra: &str) -> (Vec<u8>, usize, usize) {
    let mut out: Vec<u8> = Vec::with_capacity(big + 50_000);
    out.extend_from_slice(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
    let mut offs = [0usize; 8];
    let obj = |out: &mut Vec<u8>, offs: &mut [usize; 8], n: usize, body: &[u8]| {
        offs[n] = out.len();
        out.extend_from_slice(format!("{n} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    obj(
        &mut out,
        &mut offs,
        1,
        b"<</Type /Catalog /Pages 2 0 R /AcroForm <</Fields [5 0 R 7 0 R] /SigFlags 3>>>>",
    );
    obj(
        &mut out,
        &mut offs,
        2,
        b"<</Type /Pages /Kids [3 0 R] /Count 1>>",
    );
    obj(&mut out, &mut offs, 3, b"<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Annots [5 0 R 7 0 R]>>");
    offs[4] = out.len();
    out.extend_from_slice(
        format!("4 0 obj\n<</Length {big} /Filter /FlateDecode>>\nstream\n").as_bytes(),
    );
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let start = out.len();
    out.resize(start + big, 0);
    for chunk in out[start..].chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
    out.extend_from_slice(b"\nendstream\nendobj\n");
    obj(
        &mut out,
        &mut offs,
        5,
        format!("<</Type /Annot /Subtype /Widget /FT /Sig /T (Big) /Rect [0 0 0 0] /P 3 0 R /V 6 0 R {field_extra}>>").as_bytes(),
    );
    offs[6] = out.len();
    out.extend_from_slice(
        format!("6 0 obj\n<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached {sig_extra} /ByteRange [0 AAAAAAAAAA BBBBBBBBBB CCCCCCCCCC] /Contents ").as_bytes(),
    );
    let a = out.len();
    out.push(b'<');
    out.extend_from_slice(b"3082");
    out.extend(std::iter::repeat_n(b'0', 8188));
    out.push(b'>');
    let b = out.len();
    out.extend_from_slice(b" /M (D:20240101120000Z)>>\nendobj\n");
    obj(
        &mut out,
        &mut offs,
        7,
        b"<</Type /Annot /Subtype /Widget /FT /Tx /T (Name) /Rect [0 0 10 10] /P 3 0 R>>",
    );
    let xref = out.len();
    let mut t = String::from("xref\n0 8\n0000000000 65535 f\r\n");
    for off in &offs[1..8] {
        write!(t, "{off:010} 00000 n\r\n").unwrap();
    }
    write!(
        t,
        "trailer\n<</Size 8 /Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n"
    )
    .unwrap();
    out.extend_from_slice(t.as_bytes());
    let c = out.len() - b;
    let br = format!("{a:010} {b:010} {c:010}");
    let at = lexer::find(&out, b"AAAAAAAAAA BBBBBBBBBB CCCCCCCCCC").unwrap();
    out[at..at + br.len()].copy_from_slice(br.as_bytes());
    (out, a, b)
}

const P1: &str = "/Reference [<</Type /SigRef /TransformMethod /DocMDP /TransformParams <</Type /TransformParams /P 1 /V /1.2>>>>]";
const P2: &str = "/Reference [<</Type /SigRef /TransformMethod /DocMDP /TransformParams <</Type /TransformParams /P 2 /V /1.2>>>>]";

/// An update that adds signature field 8 (with signature dictionary 9 when `signed`).
fn add_signature_field(base: &[u8], doc_ts: bool) -> Vec<u8> {
    let sub = if doc_ts {
        "/Type /DocTimeStamp /SubFilter /ETSI.RFC3161"
    } else {
        "/Type /Sig /SubFilter /ETSI.CAdES.detached"
    };
    append_update(
        base,
        &[
            (1, "<</Type /Catalog /Pages 2 0 R /AcroForm <</Fields [5 0 R 7 0 R 8 0 R] /SigFlags 3>>>>".into()),
            (3, "<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Annots [5 0 R 7 0 R 8 0 R]>>".into()),
            (8, "<</Type /Annot /Subtype /Widget /FT /Sig /T (Second) /Rect [0 0 0 0] /P 3 0 R /V 9 0 R>>".into()),
            (9, format!("<<{sub} /Filter /Adobe.PPKLite /ByteRange [0 0 0 0] /Contents <00>>>")),
        ],
    )
}

fn add_text_annotation(base: &[u8]) -> Vec<u8> {
    append_update(
        base,
        &[
            (3, "<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Annots [5 0 R 7 0 R 8 0 R]>>".into()),
            (8, "<</Type /Annot /Subtype /Text /Rect [0 0 10 10] /Contents (note)>>".into()),
        ],
    )
}

fn fill_name_field(base: &[u8]) -> Vec<u8> {
    append_update(
        base,
        &[(7, "<</Type /Annot /Subtype /Widget /FT /Tx /T (Name) /Rect [0 0 10 10] /P 3 0 R /V (Mallory)>>".into())],
    )
}

fn allowed_levels(bytes: &[u8]) -> Vec<(ModLevel, bool)> {
    let r = read_signatures(bytes).unwrap();
    assert_eq!(r.signatures[0].byte_range_check, Check::Passed);
    r.signatures[0]
        .modifications
        .iter()
        .map(|m| (m.level, m.allowed))
        .collect()
}

#[test]
fn docmdp_and_fieldmdp_permissions_decide_what_is_allowed() {
    // Approval signature: a later signature, an annotation and form filling are allowed.
    let (plain, ..) = build_signed(1000, "", "");
    let r = read_signatures(&plain).unwrap();
    assert_eq!(r.signatures[0].docmdp_p, None);
    assert!(r.signatures[0].covers_whole_file);
    assert!(
        allowed_levels(&add_signature_field(&plain, false))
            .iter()
            .all(|m| m.1)
    );
    assert!(allowed_levels(&add_text_annotation(&plain)).contains(&(ModLevel::Annotations, true)));
    assert!(allowed_levels(&fill_name_field(&plain)).contains(&(ModLevel::FormFilling, true)));

    // P=1: only DSS / document timestamps.
    let (p1, ..) = build_signed(1000, P1, "");
    assert_eq!(
        read_signatures(&p1).unwrap().signatures[0].docmdp_p,
        Some(1)
    );
    let later_sig = allowed_levels(&add_signature_field(&p1, false));
    assert!(
        later_sig.contains(&(ModLevel::FormFilling, false)),
        "{later_sig:?}"
    );
    let doc_ts = allowed_levels(&add_signature_field(&p1, true));
    assert!(
        !doc_ts.is_empty() && doc_ts.iter().all(|m| m == &(ModLevel::LtaUpdates, true)),
        "{doc_ts:?}"
    );

    // P=2: signatures and form filling, not annotations.
    let (p2, ..) = build_signed(1000, P2, "");
    assert!(
        allowed_levels(&add_signature_field(&p2, false))
            .iter()
            .all(|m| m.1)
    );
    assert!(allowed_levels(&fill_name_field(&p2)).iter().all(|m| m.1));
    assert!(allowed_levels(&add_text_annotation(&p2)).contains(&(ModLevel::Annotations, false)));

    // FieldMDP lock of every field: filling "Name" is not allowed.
    let (locked, ..) = build_signed(1000, "", "/Lock <</Type /SigFieldLock /Action /All>>");
    let r = read_signatures(&fill_name_field(&locked)).unwrap();
    let s = &r.signatures[0];
    assert_eq!(
        s.field_lock.as_ref().map(|l| l.action.as_str()),
        Some("All")
    );
    assert!(
        s.modifications
            .iter()
            .any(|m| !m.allowed && m.description.contains("locked")),
        "{:?}",
        s.modifications
    );
}

#[test]
fn changing_a_signed_signature_dictionary_is_not_allowed() {
    let (base, ..) = build_signed(1000, "", "");
    // Redefine the signature dictionary: its /Contents hole is now in the update.
    let evil = append_update(
        &base,
        &[(6, "<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 1 2 3] /Contents <3082FFFF>>>".into())],
    );
    let r = read_signatures(&evil).unwrap();
    let s = &r.signatures[0];
    assert!(!s.byte_range_check.passed());
    // The original signature dictionary, read as of its revision, would pass; what the
    // final document shows is a different one, and the change is reported.
    let (base2, ..) = build_signed(1000, "", "");
    let evil2 = append_update(
        &base2,
        &[(5, "<</Type /Annot /Subtype /Widget /FT /Sig /T (Big) /Rect [0 0 100 100] /P 3 0 R /V 6 0 R>>".into())],
    );
    let r = read_signatures(&evil2).unwrap();
    let m = &r.signatures[0].modifications;
    assert!(
        m.iter()
            .any(|m| !m.allowed && m.description.contains("already signed")),
        "{m:?}"
    );
}

/// ~100 MB: a signed single-revision PDF whose page content is one big stream, mapped
/// with mmap. The big stream must never be decoded (its bytes are not valid Flate).
#[test]
fn hundred_megabyte_file_is_read_without_materialising_streams() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.pdf");
    let (out, a, b) = build_signed(100 * 1024 * 1024, "", "");
    std::fs::write(&path, &out).unwrap();
    let len = out.len();
    drop(out);

    let file = std::fs::File::open(&path).unwrap();
    // SAFETY: the file is private to this test and not modified while mapped.
    let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
    let t = Instant::now();
    let r = read_signatures(&map).unwrap();
    eprintln!("100 MB: read_signatures took {:?}", t.elapsed());
    assert_eq!(r.revisions.len(), 1);
    assert_eq!(r.signatures.len(), 1);
    let s = &r.signatures[0];
    assert_eq!(s.field_name, "Big");
    assert_eq!(
        s.byte_range_check,
        Check::Passed,
        "{:?}",
        s.byte_range_check
    );
    assert!(s.covers_whole_file);
    assert_eq!(s.ranges, vec![(0, a), (b, len - b)]);
    assert_eq!(s.contents.len(), 4096);
    assert!(s.m.is_some());
    // The big stream was never decoded: decoding it would fail and leave a finding.
    assert!(r.findings.is_empty(), "{:?}", r.findings);
}

#[test]
fn pointing_a_page_at_other_signed_bytes_is_not_allowed() {
    // Shadow "replace": no new bytes for content, the page is re-pointed at an object that
    // already existed in the signed revision.
    let (base, ..) = build_signed(1000, "", "");
    let evil = append_update(
        &base,
        &[(3, "<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 7 0 R /Annots [5 0 R 7 0 R]>>".into())],
    );
    let r = read_signatures(&evil).unwrap();
    let m = &r.signatures[0].modifications;
    assert!(
        m.iter().any(|m| !m.allowed
            && m.description
                .contains("object 3 0 (page 1) was changed (/Contents)")),
        "{m:?}"
    );
    // Deleting an object of the signed revision is not allowed either.
    let mut del = base.clone();
    let doc = Doc::open(&base).unwrap();
    let sx = doc.revs[0].startxref;
    let xref = del.len();
    del.extend_from_slice(
        format!("xref\n0 1\n0000000000 65535 f\r\n4 1\n0000000000 00001 f\r\ntrailer\n<</Size 8 /Root 1 0 R /Prev {sx}>>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    let r = read_signatures(&del).unwrap();
    assert_eq!(r.revisions[1].freed, vec![4]);
    let m = &r.signatures[0].modifications;
    assert!(
        m.iter()
            .any(|m| !m.allowed && m.description.contains("deleted")),
        "{m:?}"
    );
}

#[test]
fn many_revisions_after_a_signature_stay_bounded() {
    let (mut bytes, ..) = build_signed(1000, "", "");
    for i in 0..300 {
        bytes = append_update(&bytes, &[(20, format!("<</Producer (update {i})>>"))]);
    }
    let t = Instant::now();
    let r = read_signatures(&bytes).unwrap();
    eprintln!("301 revisions: {:?}", t.elapsed());
    assert_eq!(r.revisions.len(), 301);
    assert!(r.signatures[0].byte_range_check.passed());
    assert_eq!(r.signatures[0].signed_revision, Some(0));
    // New unreferenced objects change nothing; the first redefinition onwards does not
    // touch any role either (object 20 is unreferenced), so it is an unknown object.
    let m = &r.signatures[0].modifications;
    assert_eq!(m.len(), 299, "{:?}", m.first());
    assert!(m.iter().all(|m| m.level == ModLevel::Other));
}
