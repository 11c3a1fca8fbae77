//! End-to-end sealing tests with pyHanko as the independent validator.
//!
//! Owns: building sample inputs, sealing them, and checking the result with external tools
//! (pyHanko, and openssl for the CMS attributes). Must not reach the network: pyHanko runs with
//! a local trust root and no revocation checks. A missing pyHanko is a test FAILURE, not a skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use signgate::sealing::keys::{SealKey, ensure_dev_pki};
use signgate::sealing::pades::{SealDocument, SealInput, SealSigner, seal};
use signgate::sealing::pdf::{PdfError, inspect};
use time::macros::datetime;

fn pyhanko() -> PathBuf {
    let path = std::env::var_os("SIGNGATE_PYHANKO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/signgate-venv/bin/pyhanko"));
    assert!(
        path.is_file(),
        "pyHanko not found at {} (set SIGNGATE_PYHANKO or install with \
         `python3 -m venv /var/tmp/signgate-venv && /var/tmp/signgate-venv/bin/pip install \
         'pyHanko[etsi]' pyhanko-cli`)",
        path.display()
    );
    path
}

/// A text PDF with `pages` pages; `with_link` adds a URI link annotation on page 1.
fn sample_pdf(pages: usize, label: &str, with_link: bool) -> Vec<u8> {
    let mut doc = Document::with_version("1.4");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Times-Roman",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let mut kids = Vec::new();
    for n in 0..pages {
        let content = Content {
            operations: vec![
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 20.into()]),
                Operation::new("Td", vec![72.into(), 700.into()]),
                Operation::new(
                    "Tj",
                    vec![Object::string_literal(format!("{label}, page {}", n + 1))],
                ),
                Operation::new("ET", vec![]),
            ],
        };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
        let mut page = dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
        };
        if with_link && n == 0 {
            let annot = doc.add_object(dictionary! {
                "Type" => "Annot",
                "Subtype" => "Link",
                "Rect" => vec![72.into(), 690.into(), 300.into(), 720.into()],
                "Border" => vec![0.into(), 0.into(), 0.into()],
                "A" => dictionary! { "S" => "URI", "URI" => Object::string_literal("https://example.org/") },
            });
            page.set("Annots", vec![Object::Reference(annot)]);
        }
        kids.push(doc.add_object(page).into());
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => pages as i64,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// A PDF of roughly `target` bytes (text pages plus an incompressible filler stream).
pub fn pdf_of_size(target: usize) -> Vec<u8> {
    let mut doc = Document::load_mem(&sample_pdf(5, "Large document", false)).unwrap();
    let mut filler = Vec::with_capacity(target);
    let mut x: u32 = 12345;
    while filler.len() < target.saturating_sub(3000) {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        filler.push((x >> 16) as u8);
    }
    let id = doc.add_object(Stream::new(dictionary! {}, filler));
    let page_id = doc.get_pages()[&1];
    doc.get_dictionary_mut(page_id)
        .unwrap()
        .set("PieceInfo", dictionary! { "Filler" => id });
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn job(docs: Vec<SealDocument>) -> SealInput {
    SealInput {
        job_id: "0193f1a2-7c4e-7d21-9a55-1f2e3d4c5b6a".into(),
        title: "Leieavtale for Ærøygata 5 – «Blåbær» kontor".into(),
        sender_name: "Fjordvik Eiendom AS".into(),
        sender_orgnr: "912345678".into(),
        documents: docs,
        signers: vec![
            SealSigner {
                name: "Bjørn Ødegård-Åsheim".into(),
                identifier: "01017012345".into(),
                idp: "ID-porten (BankID)".into(),
                loa: "idporten-loa-high".into(),
                signed_at: datetime!(2025-05-02 09:15:42 +02:00),
            },
            SealSigner {
                name: "Émilie Müller".into(),
                identifier: "SE/NO/199001011234".into(),
                idp: "eIDAS (Sweden)".into(),
                loa: "http://eidas.europa.eu/LoA/high".into(),
                signed_at: datetime!(2025-05-02 10:01:03 UTC),
            },
        ],
        sealed_at: time::OffsetDateTime::now_utc(),
        attachments: Vec::new(),
    }
}

struct Run {
    ok: bool,
    out: String,
}

fn run(cmd: &mut Command) -> Run {
    let output = cmd.output().expect("failed to start external tool");
    let mut out = String::from_utf8_lossy(&output.stdout).into_owned();
    out.push_str(&String::from_utf8_lossy(&output.stderr));
    Run {
        ok: output.status.success(),
        out,
    }
}

fn validate(pdf: &Path, root: &Path, pretty: bool) -> Run {
    let mut cmd = Command::new(pyhanko());
    cmd.args(["--no-plugins", "sign", "validate"]);
    if pretty {
        cmd.arg("--pretty-print");
    }
    run(cmd
        .arg("--trust")
        .arg(root)
        .args(["--trust-replace", "--no-revocation-check"])
        .arg(pdf))
}

/// pyHanko's ETSI EN 319 102-1 basic validation (the process for B-B signatures) plus an
/// ETSI TS 119 102-2 report, and a PAdES baseline level classification from what pyHanko
/// parsed out of the signature.
const ADES_SCRIPT: &str = r#"
import asyncio, sys
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.ades import ades_basic_validation
from pyhanko.sign.validation.policy_decl import SignatureValidationSpec
from pyhanko.sign.validation.report.tools import generate_report
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, NO_REVOCATION
from pyhanko_certvalidator.registry import SimpleTrustManager

pdf_path, root_path = sys.argv[1], sys.argv[2]
policy = CertValidationPolicySpec(
    trust_manager=SimpleTrustManager.build(trust_roots=[load_cert_from_pemder(root_path)]),
    revinfo_policy=CertRevTrustPolicy(NO_REVOCATION),
)
spec = SignatureValidationSpec(cert_validation_policy=policy)
with open(pdf_path, 'rb') as f:
    r = PdfFileReader(f)
    sigs = r.embedded_regular_signatures
    print("signatures:", len(sigs))
    for s in sigs:
        print("field:", s.field_name)
        subfilter = str(s.sig_object.get('/SubFilter'))
        print("subfilter:", subfilter)
        signed = [a['type'].native for a in s.signer_info['signed_attrs']]
        unsigned = [a['type'].native for a in (s.signer_info['unsigned_attrs'].native and s.signer_info['unsigned_attrs'] or [])]
        print("signed attrs:", signed)
        print("unsigned attrs:", unsigned)
        s.compute_integrity_info()
        print("coverage:", s.coverage.name)
        res = asyncio.run(ades_basic_validation(
            s.signed_data, spec, raw_digest=s.compute_digest()))
        print("ades indication:", res.ades_subindic)
        print(generate_report(s, res))
        baseline_b = (
            subfilter == '/ETSI.CAdES.detached'
            and 'signing_certificate_v2' in signed
            and 'content_type' in signed and 'message_digest' in signed
            and 'signing_time' not in signed
            and '/M' in s.sig_object
        )
        has_ts = 'signature_time_stamp_token' in unsigned
        has_dss = '/DSS' in r.root
        level = 'PAdES-BASELINE-' + ('LT' if has_dss and has_ts else 'T' if has_ts else 'B')
        print("profile:", level if baseline_b else 'not PAdES baseline')
"#;

fn python_for(pyhanko: &Path) -> PathBuf {
    let venv_python = pyhanko.with_file_name("python");
    if venv_python.is_file() {
        venv_python
    } else {
        PathBuf::from("python3")
    }
}

fn ades_report(tmp: &Path, pdf: &Path, root: &Path) -> Run {
    let script = tmp.join("ades_report.py");
    std::fs::write(&script, ADES_SCRIPT).unwrap();
    run(Command::new(python_for(&pyhanko()))
        .arg(&script)
        .arg(pdf)
        .arg(root))
}

/// `[start, end)` of the `/Contents` hex string (including the angle brackets) via /ByteRange.
fn contents_range(pdf: &[u8]) -> (usize, usize) {
    let at = pdf
        .windows(11)
        .rposition(|w| w == b"/ByteRange[")
        .expect("ByteRange");
    let end = at + pdf[at..].iter().position(|&b| b == b']').unwrap();
    let nums: Vec<usize> = std::str::from_utf8(&pdf[at + 11..end])
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(nums.len(), 4);
    assert_eq!(nums[0], 0);
    assert_eq!(
        nums[2] + nums[3],
        pdf.len(),
        "ByteRange must cover up to EOF"
    );
    (nums[1], nums[2])
}

#[test]
fn sealed_job_validates_in_pyhanko() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = ensure_dev_pki(&tmp.path().join("pki"), None).unwrap();
    let key = SealKey::from_files(&pki.seal_key, &pki.seal_chain).unwrap();

    let doc1 = sample_pdf(2, "Kontrakt", true);
    let doc2 = sample_pdf(1, "Vedlegg", false);
    let n1 = inspect(&doc1).unwrap().pages;
    let n2 = inspect(&doc2).unwrap().pages;
    let input = job(vec![
        SealDocument {
            title: "Kontrakt – hoveddokument".into(),
            bytes: doc1,
        },
        SealDocument {
            title: "Vedlegg 1: Plantegning".into(),
            bytes: doc2,
        },
    ]);
    let sealed = seal(&input, &key).unwrap();

    // Structure: merged pages + signature page, one revision, metadata.
    let info = inspect(&sealed).unwrap();
    assert_eq!(info.pages, n1 + n2 + 1);
    let occurrences = |needle: &[u8]| {
        sealed
            .windows(needle.len())
            .filter(|w| *w == needle)
            .count()
    };
    assert_eq!(occurrences(b"%%EOF"), 1, "exactly one revision");
    assert_eq!(occurrences(b"startxref"), 1);
    let doc = Document::load_mem(&sealed).unwrap();
    let info_dict = doc
        .trailer
        .get(b"Info")
        .and_then(|i| doc.dereference(i))
        .unwrap()
        .1
        .as_dict()
        .unwrap()
        .clone();
    assert_eq!(
        lopdf::decode_text_string(info_dict.get(b"Title").unwrap()).unwrap(),
        input.title
    );
    assert_eq!(
        info_dict.get(b"Producer").unwrap().as_str().unwrap(),
        b"signgate"
    );
    // Page 1 is the generated cover page carrying the (invisible) seal field; the documents
    // follow, and the link annotation on the first document's page 1 survived the merge.
    let cover = doc.get_pages()[&1];
    let cover_text = String::from_utf8_lossy(&doc.get_page_content(cover)).into_owned();
    assert!(cover_text.contains("Signaturside"), "{cover_text:.200}");
    let p1 = doc.get_pages()[&2];
    assert_eq!(doc.get_page_annotations(p1).unwrap().len(), 1);

    let out = tmp.path().join("sealed.pdf");
    std::fs::write(&out, &sealed).unwrap();
    if let Some(dir) = std::env::var_os("SIGNGATE_KEEP_SEALED") {
        std::fs::write(Path::new(&dir).join("sealed.pdf"), &sealed).unwrap();
        std::fs::copy(&pki.root_cert, Path::new(&dir).join("root.pem")).unwrap();
    }

    let v = validate(&out, &pki.root_cert, true);
    println!(
        "--- pyhanko sign validate --pretty-print (good) ---\n{}",
        v.out
    );
    assert!(v.ok, "pyHanko rejected the sealed PDF:\n{}", v.out);
    for expected in [
        "The signer's certificate is trusted.",
        "The signature is cryptographically sound.",
        "The digest algorithm used was 'sha256'.",
        "The signature covers the entire file.",
        "The signature is judged VALID.",
    ] {
        assert!(
            v.out.contains(expected),
            "missing {expected:?} in:\n{}",
            v.out
        );
    }
    let v = validate(&out, &pki.root_cert, false);
    println!("--- pyhanko sign validate (good) ---\n{}", v.out);
    assert!(v.ok, "{}", v.out);
    assert!(v.out.contains(":INTACT:TRUSTED,UNTOUCHED"), "{}", v.out);

    let a = ades_report(tmp.path(), &out, &pki.root_cert);
    println!("--- pyHanko AdES basic validation (good) ---\n{}", a.out);
    assert!(a.ok, "pyHanko AdES validation failed:\n{}", a.out);
    for expected in [
        "subfilter: /ETSI.CAdES.detached",
        "coverage: ENTIRE_FILE",
        "ades indication: AdESPassed.OK",
        "urn:etsi:019102:mainindication:total-passed",
        "profile: PAdES-BASELINE-B",
    ] {
        assert!(
            a.out.contains(expected),
            "missing {expected:?} in:\n{}",
            a.out
        );
    }

    // Tampering with one byte inside the covered range must be detected.
    let (contents_start, _) = contents_range(&sealed);
    let target = sealed
        .windows(b"Vedlegg, page 1".len())
        .position(|w| w == b"Vedlegg, page 1")
        .expect("page text");
    assert!(target < contents_start);
    let mut tampered = sealed.clone();
    tampered[target] ^= 0x01; // 'V' -> 'W'
    let bad = tmp.path().join("tampered.pdf");
    std::fs::write(&bad, &tampered).unwrap();
    let t = validate(&bad, &pki.root_cert, true);
    println!(
        "--- pyhanko sign validate --pretty-print (tampered) ---\n{}",
        t.out
    );
    assert!(!t.ok, "pyHanko accepted a tampered PDF:\n{}", t.out);
    assert!(
        !t.out.contains("The signature is judged VALID"),
        "{}",
        t.out
    );
    assert!(
        t.out.contains("The signature is judged INVALID."),
        "{}",
        t.out
    );
    let t = validate(&bad, &pki.root_cert, false);
    println!("--- pyhanko sign validate (tampered) ---\n{}", t.out);
    assert!(!t.ok);
    assert!(!t.out.contains(":INTACT:"), "{}", t.out);
    let a = ades_report(tmp.path(), &bad, &pki.root_cert);
    println!(
        "--- pyHanko AdES basic validation (tampered) ---\n{}",
        a.out
    );
    assert!(!a.out.contains("total-passed"), "{}", a.out);
    assert!(a.out.contains("HASH_FAILURE"), "{}", a.out);
}

#[test]
fn cms_attributes_per_openssl() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = ensure_dev_pki(tmp.path(), None).unwrap();
    let key = SealKey::from_files(&pki.seal_key, &pki.seal_chain).unwrap();
    let sealed = seal(
        &job(vec![SealDocument {
            title: "a".into(),
            bytes: sample_pdf(1, "a", false),
        }]),
        &key,
    )
    .unwrap();
    let (start, end) = contents_range(&sealed);
    let hex_str = std::str::from_utf8(&sealed[start + 1..end - 1]).unwrap();
    let der = hex::decode(hex_str).unwrap();
    // Strip the zero padding: the DER length says where the container ends.
    let len = {
        assert_eq!(der[0], 0x30);
        match der[1] {
            n if n < 0x80 => 2 + n as usize,
            0x82 => 4 + ((der[2] as usize) << 8 | der[3] as usize),
            0x83 => 5 + ((der[2] as usize) << 16 | (der[3] as usize) << 8 | der[4] as usize),
            other => panic!("unexpected length byte {other:#x}"),
        }
    };
    assert!(der[len..].iter().all(|&b| b == 0));
    let p7 = tmp.path().join("sig.der");
    std::fs::write(&p7, &der[..len]).unwrap();
    let r = run(Command::new("openssl")
        .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(&p7));
    assert!(r.ok, "openssl failed: {}", r.out);
    assert!(r.out.contains("contentType"), "{}", r.out);
    assert!(r.out.contains("messageDigest"), "{}", r.out);
    assert!(
        r.out.contains("signingCertificateV2") || r.out.contains("1.2.840.113549.1.9.16.2.47"),
        "{}",
        r.out
    );
    assert!(!r.out.contains("signingTime"), "{}", r.out);
    assert!(r.out.contains("eContent: <ABSENT>"), "{}", r.out);
}

#[test]
fn intake_rejects_bad_uploads_without_panicking() {
    let tmp = tempfile::tempdir().unwrap();
    // Non-PDF.
    assert_eq!(inspect(b"PK\x03\x04 this is a zip"), Err(PdfError::NotPdf));
    // Truncated garbage of a real PDF.
    let good = sample_pdf(2, "x", false);
    for cut in [0, 5, 9, 100, good.len() / 2] {
        let _ = inspect(&good[..cut]);
    }
    let mut garbage = b"%PDF-1.7\n".to_vec();
    garbage.extend((0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    assert!(inspect(&garbage).is_err());

    // A real AES-256 encrypted PDF made by pyHanko.
    let plain = tmp.path().join("plain.pdf");
    let enc = tmp.path().join("enc.pdf");
    std::fs::write(&plain, &good).unwrap();
    let r = run(Command::new(pyhanko())
        .args(["--no-plugins", "encrypt", "--password", "s3cret"])
        .arg(&plain)
        .arg(&enc));
    assert!(r.ok, "pyhanko encrypt failed: {}", r.out);
    let enc_bytes = std::fs::read(&enc).unwrap();
    assert_eq!(inspect(&enc_bytes), Err(PdfError::Encrypted));
    // Truncated encrypted file: still recognised as encrypted (or at least rejected).
    let half = &enc_bytes[..enc_bytes.len() * 3 / 4];
    assert!(inspect(half).is_err());
}

/// Inputs that are harder than hand-made ones: a PDF with object and xref streams, and a PDF
/// that already carries a (pyHanko) signature. The old signature cannot survive merging, so the
/// sealed file must contain exactly one signature: ours, valid.
#[test]
fn modern_and_presigned_inputs_seal_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = ensure_dev_pki(&tmp.path().join("pki"), None).unwrap();
    let key = SealKey::from_files(&pki.seal_key, &pki.seal_chain).unwrap();

    let mut modern = Document::load_mem(&sample_pdf(3, "Modern", true)).unwrap();
    let mut modern_bytes = Vec::new();
    modern.save_modern(&mut modern_bytes).unwrap();
    assert_eq!(inspect(&modern_bytes).unwrap().pages, 3);

    let chain_pem = key.chain_pem();
    let leaf_end = chain_pem.find("-----END CERTIFICATE-----").unwrap() + 26;
    let leaf_pem = tmp.path().join("leaf.pem");
    std::fs::write(&leaf_pem, &chain_pem[..leaf_end]).unwrap();
    let plain = tmp.path().join("plain.pdf");
    let signed = tmp.path().join("signed.pdf");
    std::fs::write(&plain, sample_pdf(1, "Presigned", false)).unwrap();
    let r = run(Command::new(pyhanko())
        .args([
            "--no-plugins",
            "sign",
            "addsig",
            "--field",
            "1/100,100,300,150/Sig1",
        ])
        .args(["pemder", "--no-pass", "--key"])
        .arg(&pki.seal_key)
        .arg("--cert")
        .arg(&leaf_pem)
        .arg("--chain")
        .arg(&pki.root_cert)
        .arg(&plain)
        .arg(&signed));
    assert!(r.ok, "pyhanko addsig failed: {}", r.out);
    let signed_bytes = std::fs::read(&signed).unwrap();
    assert_eq!(inspect(&signed_bytes).unwrap().pages, 1);

    let sealed = seal(
        &job(vec![
            SealDocument {
                title: "Modern".into(),
                bytes: modern_bytes,
            },
            SealDocument {
                title: "Presigned".into(),
                bytes: signed_bytes,
            },
        ]),
        &key,
    )
    .unwrap();
    assert_eq!(inspect(&sealed).unwrap().pages, 3 + 1 + 1);
    let out = tmp.path().join("sealed.pdf");
    std::fs::write(&out, &sealed).unwrap();
    let v = validate(&out, &pki.root_cert, false);
    println!(
        "--- pyhanko sign validate (modern + presigned inputs) ---\n{}",
        v.out
    );
    assert!(v.ok, "{}", v.out);
    assert_eq!(v.out.matches(":INTACT:").count(), 1, "{}", v.out);
    assert!(v.out.contains("signgate-seal:"), "{}", v.out);
    assert!(!v.out.contains("Sig1:"), "{}", v.out);
}

/// Extra encryption flavours through qpdf (RC4-40, AES-128, AES-256; installed by scripts/test,
/// a missing qpdf fails the test). The case above uses pyHanko, which only writes AES-256.
#[test]
fn qpdf_encryption_variants_are_rejected() {
    if Command::new("qpdf").arg("--version").output().is_err() {
        panic!("qpdf is required for this test (scripts/test installs it)");
    }
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain.pdf");
    std::fs::write(&plain, sample_pdf(2, "q", false)).unwrap();
    for (user, bits) in [
        ("", "40"),
        ("", "128"),
        ("u", "128"),
        ("", "256"),
        ("u", "256"),
    ] {
        let enc = tmp.path().join(format!("enc-{user}-{bits}.pdf"));
        let mut cmd = Command::new("qpdf");
        cmd.arg("--allow-weak-crypto")
            .arg("--encrypt")
            .arg(user)
            .arg("owner")
            .arg(bits);
        if bits == "128" {
            cmd.arg("--use-aes=y");
        }
        let r = run(cmd.arg("--").arg(&plain).arg(&enc));
        assert!(r.ok, "qpdf failed: {}", r.out);
        let bytes = std::fs::read(&enc).unwrap();
        assert_eq!(
            inspect(&bytes),
            Err(PdfError::Encrypted),
            "user password {user:?}, {bits} bits"
        );
    }
}

/// Writes `sealed` to `out`; `qpdf --check` finds no structural error and pyHanko validates
/// the seal against `root`.
fn qpdf_and_pyhanko_accept(out: &Path, sealed: &[u8], root: &Path) {
    std::fs::write(out, sealed).unwrap();
    let q = run(Command::new("qpdf").arg("--check").arg(out));
    assert!(
        q.ok && q.out.contains("No syntax or stream encoding errors"),
        "{}",
        q.out
    );
    let v = validate(out, root, false);
    assert!(v.ok, "{}", v.out);
}

/// Every font dictionary reachable in `doc` has its font program embedded (PDF/A, ISO 19005-3
/// §6.2.11.4): simple fonts through their descriptor, Type0 fonts through their descendant.
fn assert_all_fonts_embedded(doc: &Document) {
    let mut fonts = 0;
    for (id, obj) in &doc.objects {
        let Ok(d) = obj.as_dict() else { continue };
        if !matches!(d.get(b"Type"), Ok(Object::Name(n)) if n == b"Font") {
            continue;
        }
        let subtype = d.get(b"Subtype").and_then(|s| s.as_name()).unwrap();
        if subtype == b"Type3" || subtype == b"Type0" {
            continue; // glyphs are content streams / the descendant font is checked itself
        }
        fonts += 1;
        let desc = doc
            .dereference(d.get(b"FontDescriptor").unwrap_or_else(|_| {
                panic!(
                    "font {id:?} ({}) has no descriptor",
                    String::from_utf8_lossy(d.get(b"BaseFont").unwrap().as_name().unwrap())
                )
            }))
            .unwrap()
            .1
            .as_dict()
            .unwrap()
            .clone();
        assert!(
            desc.has(b"FontFile") || desc.has(b"FontFile2") || desc.has(b"FontFile3"),
            "font {id:?} is not embedded: {desc:?}"
        );
    }
    assert!(fonts >= 2, "found only {fonts} fonts");
}

/// ISO 19005-3 (PDF/A-3b) when every input is PDF/A: DSS's real PDF/A-1b sample (signed by
/// DSS) goes in; the output identifies itself as PDF/A-3b in unfiltered XMP that mirrors /Info,
/// carries the input's output intent (its ICC profile), embeds every font (the cover page's
/// own Liberation Sans with /Widths equal to the font program's advance widths), and describes
/// each embedded file as PDF/A-3 asks. veraPDF is not installable here (it is distributed only
/// from Maven Central and verapdf.org, which this build cannot reach), so these are the
/// checks veraPDF's rules make, applied one by one; pyHanko and qpdf check the rest.
#[test]
fn pdfa_input_is_sealed_as_pdfa3b() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = ensure_dev_pki(&tmp.path().join("pki"), None).unwrap();
    let key = SealKey::from_files(&pki.seal_key, &pki.seal_chain).unwrap();
    let input = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pades/dss/pdf-signed-original.pdf"),
    )
    .unwrap();
    let in_doc = Document::load_mem(&input).unwrap();
    let in_icc = {
        let oi = in_doc.catalog().unwrap().get(b"OutputIntents").unwrap();
        let oi = in_doc.dereference(oi).unwrap().1.as_array().unwrap()[0].clone();
        let oi = in_doc
            .dereference(&oi)
            .unwrap()
            .1
            .as_dict()
            .unwrap()
            .clone();
        let icc = oi.get(b"DestOutputProfile").unwrap();
        in_doc
            .dereference(icc)
            .unwrap()
            .1
            .as_stream()
            .unwrap()
            .decompressed_content()
            .unwrap()
    };
    let mut input_job = job(vec![SealDocument {
        title: "Avtale (PDF/A-1b)".into(),
        bytes: input,
    }]);
    input_job.sealed_at = datetime!(2026-12-07 19:30:05 UTC);
    let sealed = seal(&input_job, &key).unwrap();
    let doc = Document::load_mem(&sealed).unwrap();
    let catalog = doc.catalog().unwrap().clone();

    // XMP: unfiltered, PDF/A-3 level B, mirroring /Info.
    let meta = doc
        .dereference(catalog.get(b"Metadata").unwrap())
        .unwrap()
        .1
        .as_stream()
        .unwrap()
        .clone();
    assert!(!meta.dict.has(b"Filter"), "metadata must not be filtered");
    let xmp = String::from_utf8(meta.content.clone()).unwrap();
    assert!(xmp.contains("<pdfaid:part>3</pdfaid:part>"), "{xmp}");
    assert!(
        xmp.contains("<pdfaid:conformance>B</pdfaid:conformance>"),
        "{xmp}"
    );
    assert!(xmp.starts_with("<?xpacket begin=\"\u{feff}\""), "{xmp}");
    assert!(xmp.contains("<xmp:CreateDate>2026-12-07T19:30:05Z</xmp:CreateDate>"));
    assert!(xmp.contains("<xmp:ModifyDate>2026-12-07T19:30:05Z</xmp:ModifyDate>"));
    assert!(xmp.contains("<pdf:Producer>signgate</pdf:Producer>"));
    assert!(xmp.contains(
        "<rdf:li xml:lang=\"x-default\">Leieavtale for Ærøygata 5 – «Blåbær» kontor</rdf:li>"
    ));
    let info = doc
        .dereference(doc.trailer.get(b"Info").unwrap())
        .unwrap()
        .1
        .as_dict()
        .unwrap()
        .clone();
    assert_eq!(
        info.get(b"CreationDate").unwrap().as_str().unwrap(),
        b"D:20261207193005Z"
    );
    assert_eq!(
        info.get(b"ModDate").unwrap().as_str().unwrap(),
        b"D:20261207193005Z"
    );
    assert!(doc.trailer.has(b"ID"), "PDF/A needs a file identifier");
    assert!(!doc.trailer.has(b"Encrypt"));
    assert_eq!(
        &sealed[9..14],
        b"%\xE2\xE3\xCF\xD3",
        "binary comment after the header"
    );

    // The output intent with the very ICC profile of the input.
    let oi = doc
        .dereference(catalog.get(b"OutputIntents").unwrap())
        .unwrap()
        .1
        .as_array()
        .unwrap()[0]
        .clone();
    let oi = doc.dereference(&oi).unwrap().1.as_dict().unwrap().clone();
    assert_eq!(oi.get(b"S").unwrap().as_name().unwrap(), b"GTS_PDFA1");
    let icc = doc
        .dereference(oi.get(b"DestOutputProfile").unwrap())
        .unwrap()
        .1
        .as_stream()
        .unwrap()
        .decompressed_content()
        .unwrap();
    assert_eq!(icc, in_icc);

    // Fonts: all embedded; the cover page's are TrueType with widths from the font program.
    assert_all_fonts_embedded(&doc);
    let cover = doc.get_pages()[&1];
    let fonts = doc.get_page_fonts(cover).unwrap();
    assert_eq!(fonts.len(), 2);
    for font in fonts.values() {
        assert_eq!(
            font.get(b"Subtype").unwrap().as_name().unwrap(),
            b"TrueType"
        );
        let widths = font.get(b"Widths").unwrap().as_array().unwrap();
        assert_eq!(widths.len(), 224);
        // 'A' (65) is 667/1000 em in Liberation Sans Regular, 722 in Bold (its font program).
        let a = widths[65 - 32].as_i64().unwrap();
        assert!(a == 667 || a == 722, "{a}");
        let desc = doc
            .dereference(font.get(b"FontDescriptor").unwrap())
            .unwrap()
            .1
            .as_dict()
            .unwrap()
            .clone();
        let file = doc
            .dereference(desc.get(b"FontFile2").unwrap())
            .unwrap()
            .1
            .as_stream()
            .unwrap()
            .clone();
        let program = file.decompressed_content().unwrap();
        assert_eq!(
            file.dict.get(b"Length1").unwrap().as_i64().unwrap(),
            program.len() as i64
        );
        assert_eq!(
            &program[..4],
            b"\x00\x01\x00\x00",
            "a TrueType font program"
        );
    }

    // Embedded files: /AFRelationship, /UF, MIME subtype and /Params with /ModDate.
    let af = catalog.get(b"AF").unwrap().as_array().unwrap();
    assert_eq!(af.len(), 1);
    let spec = doc
        .dereference(&af[0])
        .unwrap()
        .1
        .as_dict()
        .unwrap()
        .clone();
    assert_eq!(
        spec.get(b"AFRelationship").unwrap().as_name().unwrap(),
        b"Source"
    );
    assert!(spec.has(b"UF") && spec.has(b"F"));
    let ef = spec.get(b"EF").unwrap().as_dict().unwrap();
    let file = doc
        .dereference(ef.get(b"F").unwrap())
        .unwrap()
        .1
        .as_stream()
        .unwrap()
        .clone();
    assert_eq!(
        file.dict.get(b"Subtype").unwrap().as_name().unwrap(),
        b"application/pdf"
    );
    let params = file.dict.get(b"Params").unwrap().as_dict().unwrap();
    assert!(params.has(b"ModDate"));

    // qpdf finds the structure sound; pyHanko validates the seal.
    qpdf_and_pyhanko_accept(&tmp.path().join("sealed-pdfa.pdf"), &sealed, &pki.root_cert);

    // A plain (non-PDF/A) input makes no PDF/A claim.
    let plain = seal(
        &job(vec![SealDocument {
            title: "Plain".into(),
            bytes: sample_pdf(1, "Plain", false),
        }]),
        &key,
    )
    .unwrap();
    let plain = Document::load_mem(&plain).unwrap();
    assert!(!plain.catalog().unwrap().has(b"Metadata"));
    assert!(!plain.catalog().unwrap().has(b"OutputIntents"));
}

/// Large streams (≥ 64 KiB) are copied into the sealed file straight from the input instead
/// of from a parsed copy: the result is the same object, qpdf finds the structure sound and
/// pyHanko validates the seal; the original stays byte-exact as the embedded file.
#[test]
fn large_streams_are_copied_from_the_input() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = ensure_dev_pki(&tmp.path().join("pki"), None).unwrap();
    let key = SealKey::from_files(&pki.seal_key, &pki.seal_chain).unwrap();
    let big = pdf_of_size(3 * 1024 * 1024);
    let filler_of = |pdf: &[u8], page: u32| -> Vec<u8> {
        let doc = Document::load_mem(pdf).unwrap();
        let p = doc.get_pages()[&page];
        let info = doc.get_dictionary(p).unwrap().get(b"PieceInfo").unwrap();
        let info = doc.dereference(info).unwrap().1.as_dict().unwrap().clone();
        let f = doc.dereference(info.get(b"Filler").unwrap()).unwrap().1;
        f.as_stream().unwrap().content.clone()
    };
    let want = filler_of(&big, 1);
    assert!(want.len() > 2 * 1024 * 1024);
    let sealed = seal(
        &job(vec![SealDocument {
            title: "Stor tegning".into(),
            bytes: big.clone(),
        }]),
        &key,
    )
    .unwrap();
    // Page 1 is the cover; the document's first page is page 2.
    assert_eq!(filler_of(&sealed, 2), want);
    let doc = Document::load_mem(&sealed).unwrap();
    let af = doc
        .catalog()
        .unwrap()
        .get(b"AF")
        .unwrap()
        .as_array()
        .unwrap()[0]
        .clone();
    let spec = doc.dereference(&af).unwrap().1.as_dict().unwrap().clone();
    let ef = spec
        .get(b"EF")
        .unwrap()
        .as_dict()
        .unwrap()
        .get(b"F")
        .unwrap()
        .clone();
    let original = doc
        .dereference(&ef)
        .unwrap()
        .1
        .as_stream()
        .unwrap()
        .decompressed_content()
        .unwrap();
    assert_eq!(original, big, "the embedded original is byte-exact");

    qpdf_and_pyhanko_accept(&tmp.path().join("sealed-big.pdf"), &sealed, &pki.root_cert);
}
