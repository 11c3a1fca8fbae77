//! PAdES sealing of a finished job: merge the job's documents behind a generated cover (signature) page,
//! keep the originals byte-exact as embedded files, and seal the result with the seal key —
//! as PAdES-BASELINE-B in one clean revision ([`seal`]), or as PAdES-BASELINE-LTA
//! ([`seal_lta`], ETSI EN 319 142-1 §6): the same revision with a signature timestamp in the
//! CMS, then an incremental update with the DSS (every certificate, OCSP response and CRL of
//! the seal and TSA paths), then one with a document timestamp over all of it.
//!
//! This file owns the PDF assembly (object import and renumbering, page tree, AcroForm with an
//! invisible signature field, `/Info`, the embedded-file name tree and associated files
//! `/AF`), writing the first revision, and the order of the LTA steps. Byte-level writing of
//! signature dictionaries and updates is `incremental`'s. It must not decide job state, must
//! not alter the input documents' page content or the embedded originals, and does no I/O of
//! its own beyond the [`SealSink`] it writes the sealed file into: the timestamper and the LTV
//! fetcher it is handed do the network.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfos};
use der::asn1::{Any, SetOfVec};
use der::{Decode, Encode};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat, dictionary};
use x509_cert::attr::Attribute;

use crate::sealing::cms::{
    CmsError, OID_SIGNATURE_TIMESTAMP_TOKEN, build_detached_signed_data,
    build_detached_signed_data_with,
};
use crate::sealing::incremental::{
    self, PdfOut, SealedPdf, SigKind, SigSlots, text_string, unique_name, write_flate_stream,
    write_object, write_raw_stream, write_sig_dict, write_xref_and_trailer,
};
use crate::sealing::keys::SealKey;
use crate::sealing::ltv::{LtvFetcher, Target, Usage, token_signer};
use crate::sealing::page;
use crate::sealing::pdf::{self, PdfError, guarded};
use crate::sealing::tsa::Timestamper;
use crate::sealing::{SealError, SealSink};
use crate::validation::crypto::DigestAlg;

/// Bytes reserved for the DER CMS container of a PAdES-BASELINE-B seal in `/Contents`
/// (written as twice as many hex digits).
pub const CONTENTS_RESERVED: usize = 16 * 1024;
/// Room for a signature timestamp token on top of the CMS container of an LTA seal. A token
/// that does not fit makes the seal start over with enough room.
pub const TIMESTAMP_ALLOWANCE: usize = 12 * 1024;
/// Bytes first reserved for the document timestamp token.
pub const DOC_TIMESTAMP_RESERVED: usize = 12 * 1024;

/// The `/Reason` written into the signature dictionary.
pub const SEAL_REASON: &str = "Sealed by signgate after all signers signed";

/// How an embedded file relates to the document (ISO 32000-2 §14.13, `/AFRelationship`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfRelationship {
    /// The original source material of the document (the uploaded PDFs).
    Source,
    /// Information used to derive a visual presentation.
    Data,
    /// An alternative representation.
    Alternative,
    /// A supplemental representation of the original source or data (evidence records).
    Supplement,
    /// None of the above.
    Unspecified,
}

impl AfRelationship {
    fn name(self) -> &'static str {
        match self {
            AfRelationship::Source => "Source",
            AfRelationship::Data => "Data",
            AfRelationship::Alternative => "Alternative",
            AfRelationship::Supplement => "Supplement",
            AfRelationship::Unspecified => "Unspecified",
        }
    }
}

/// A file to embed as an associated file of the sealed PDF (for example a signer's XAdES
/// evidence, with [`AfRelationship::Supplement`]).
#[derive(Debug, Clone)]
pub struct Attachment {
    /// File name shown by readers (`/UF`); path separators are replaced.
    pub name: String,
    /// Media type (`/Subtype` of the embedded file stream), e.g. `application/xml`.
    pub mime: String,
    /// Description (`/Desc`).
    pub description: String,
    /// Relationship to the document.
    pub relationship: AfRelationship,
    /// The content, embedded byte for byte.
    pub bytes: Vec<u8>,
}

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
    /// Documents in order. Each is also embedded byte-exact with `/AFRelationship /Source`.
    pub documents: Vec<SealDocument>,
    /// Signers in order.
    pub signers: Vec<SealSigner>,
    /// Sealing time, written to the signature dictionary `/M`.
    pub sealed_at: time::OffsetDateTime,
    /// Further associated files (the signers' XAdES evidence, …), embedded after the
    /// originals.
    pub attachments: Vec<Attachment>,
}

/// Merges the job's documents behind the generated cover page, embeds the originals and applies a
/// PAdES-BASELINE-B signature with `key`. Returns the sealed PDF (one revision), built in
/// memory.
pub fn seal(input: &SealInput, key: &SealKey) -> Result<Vec<u8>, SealError> {
    let mut sink = std::io::Cursor::new(Vec::new());
    let mut base = Base::assemble(input, &mut sink, &[key.digest_algorithm()])?;
    let slots = base.finish(key, CONTENTS_RESERVED)?;
    // The CMS digest algorithm is the seal key's (SHA-384 for ECDSA P-384).
    let digest = incremental::byte_range_digest(&mut base.out, &slots, key.digest_algorithm())?;
    let cms = build_detached_signed_data(&digest, key)?;
    incremental::fill_contents(&mut base.out, &slots, &cms)?;
    base.out.finish()?;
    Ok(sink.into_inner())
}

/// [`seal_lta_into`] in memory: returns the sealed PDF. For small jobs and tests; the sealing
/// workers write into a spool file instead.
pub async fn seal_lta(
    input: &SealInput,
    key: &SealKey,
    tsa: &dyn Timestamper,
    ltv: &LtvFetcher,
    roots: &[Vec<u8>],
) -> Result<Vec<u8>, SealError> {
    let mut sink = std::io::Cursor::new(Vec::new());
    seal_lta_into(input, key, tsa, ltv, roots, &mut sink).await?;
    Ok(sink.into_inner())
}

/// Seals like [`seal`] and raises the seal to PAdES-BASELINE-LTA:
///
/// 1. the CMS gets a signature timestamp (`id-aa-signatureTimeStampToken` over the signature
///    value) from `tsa`;
/// 2. `ltv` gathers and verifies revocation data for the seal certificate's path and the
///    timestamp's TSA path to `roots` (fails closed: a revoked, unknown or unverifiable
///    certificate stops the seal, and no PDF is returned);
/// 3. an incremental update adds the DSS with all of it (and a `/VRI` entry for the seal);
/// 4. an incremental update adds a document timestamp from `tsa` over everything;
/// 5. when that timestamp's TSA certificate differs from the first one's, one more DSS
///    update adds its validation data.
///
/// The sealed PDF is written into `sink` from its start (whatever it held is dropped): each
/// revision is appended, its `/ByteRange` and `/Contents` patched in place, and the signed
/// ranges digested by reading them back, so the sealed file is never held in memory. On an
/// error `sink` holds a partial file the caller must discard. Returns the sealed file's
/// length.
///
/// Assembly, hashing and writing the sink are blocking work on the calling task; callers with
/// large documents run this where blocking a little is fine (a dedicated worker task).
pub async fn seal_lta_into<W: SealSink>(
    input: &SealInput,
    key: &SealKey,
    tsa: &dyn Timestamper,
    ltv: &LtvFetcher,
    roots: &[Vec<u8>],
    sink: &mut W,
) -> Result<u64, SealError> {
    // The seal's digest is the key's; the document timestamp's SHA-256.
    let mut digests = vec![key.digest_algorithm()];
    if !digests.contains(&DigestAlg::Sha256) {
        digests.push(DigestAlg::Sha256);
    }
    let mut base = Base::assemble(input, sink, &digests)?;
    let chain_len: usize = key.chain_der().iter().map(Vec::len).sum();
    let mut reserved = (chain_len + 4096 + TIMESTAMP_ALLOWANCE).max(CONTENTS_RESERVED);

    // 1. The seal with its signature timestamp; start over with more room if it does not fit.
    let mut attempt = 0;
    let (slots, sig_token, cms) = loop {
        attempt += 1;
        let slots = base.finish(key, reserved)?;
        let digest = incremental::byte_range_digest(&mut base.out, &slots, key.digest_algorithm())?;
        let mut signature = Vec::new();
        let plain = build_detached_signed_data_with(&digest, key, |sig| {
            signature.extend_from_slice(sig);
            Ok(Vec::new())
        })?;
        let imprint = DigestAlg::Sha256.digest(&signature);
        let token = tsa.timestamp(DigestAlg::Sha256, &imprint).await?;
        let cms = with_signature_timestamp(&plain, &token)?;
        if cms.len() <= reserved {
            incremental::fill_contents(&mut base.out, &slots, &cms)?;
            break (slots, token, cms);
        }
        if attempt >= 3 {
            return Err(SealError::SignatureTooLarge {
                needed: cms.len(),
                reserved,
            });
        }
        reserved = cms.len() + 2048;
    };
    // The /VRI key: SHA-1 of the /Contents value, zero padding included (ISO 32000-2
    // §12.8.4.4), i.e. the CMS followed by zeros.
    let vri_key = {
        let mut h = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        let hex_len = slots.contents_end - slots.contents_start - 2;
        h.update(&cms);
        let zeros = [0u8; 1024];
        let mut left = hex_len / 2 - cms.len();
        while left > 0 {
            let n = left.min(zeros.len());
            h.update(&zeros[..n]);
            left -= n;
        }
        hex::encode_upper(h.finish().as_ref())
    };
    let mut pdf = base.into_sealed();

    // 2. + 3. Validation data for the seal and the signature timestamp, in the DSS.
    let (sig_tsa, sig_tsa_certs) = token_signer(&sig_token)?;
    let mut pool = key.chain_der().to_vec();
    pool.extend(sig_tsa_certs);
    let targets = [
        Target {
            cert: key.leaf_der(),
            usage: Usage::Signature,
        },
        Target {
            cert: &sig_tsa,
            usage: Usage::Timestamping,
        },
    ];
    let mut data = ltv.collect(&targets, &pool, roots).await?;
    pdf.append_dss(&data, Some(vri_key))?;

    // 4. The document timestamp over everything so far.
    let mut reserved = DOC_TIMESTAMP_RESERVED;
    let mut attempt = 0;
    let doc_token = loop {
        attempt += 1;
        let mark = pdf.mark();
        let (slots, digest) = pdf.append_doc_timestamp(reserved)?;
        let token = tsa.timestamp(DigestAlg::Sha256, &digest).await?;
        if token.len() <= slots.reserved() {
            incremental::fill_contents(&mut pdf.out, &slots, &token)?;
            break token;
        }
        if attempt >= 3 {
            return Err(SealError::SignatureTooLarge {
                needed: token.len(),
                reserved,
            });
        }
        pdf.truncate(mark)?;
        reserved = token.len() + 1024;
    };

    // 5. The document timestamp's TSA, when it is another one (failover to a second TSA).
    let (doc_tsa, doc_tsa_certs) = token_signer(&doc_token)?;
    if doc_tsa != sig_tsa {
        let target = [Target {
            cert: &doc_tsa,
            usage: Usage::Timestamping,
        }];
        let more = ltv.collect(&target, &doc_tsa_certs, roots).await?;
        if !data.contains(&more) {
            data.merge(more);
            pdf.append_dss(&data, None)?;
        }
    }
    Ok(pdf.out.finish()?)
}

/// Adds the signature timestamp token as the unsigned attribute of the (only) `SignerInfo`.
fn with_signature_timestamp(cms_der: &[u8], token: &[u8]) -> Result<Vec<u8>, SealError> {
    let ci = ContentInfo::from_der(cms_der).map_err(CmsError::Der)?;
    let mut sd: SignedData = ci.content.decode_as().map_err(CmsError::Der)?;
    let token = Any::from_der(token).map_err(|e| {
        CmsError::UnsignedAttributes(format!("the timestamp token is not DER: {e}"))
    })?;
    let attr = Attribute {
        oid: OID_SIGNATURE_TIMESTAMP_TOKEN,
        values: SetOfVec::try_from(vec![token]).map_err(CmsError::Der)?,
    };
    let mut infos = sd.signer_infos.0.into_vec();
    let Some(si) = infos.first_mut() else {
        return Err(CmsError::UnsignedAttributes("no SignerInfo".into()).into());
    };
    si.unsigned_attrs = Some(SetOfVec::try_from(vec![attr]).map_err(CmsError::Der)?);
    sd.signer_infos = SignerInfos(SetOfVec::try_from(infos).map_err(CmsError::Der)?);
    let out = ContentInfo {
        content_type: ci.content_type,
        content: Any::encode_from(&sd).map_err(CmsError::Der)?,
    };
    Ok(out.to_der().map_err(CmsError::Der)?)
}

// ---------------------------------------------------------------------------------------------
// Assembly and the first revision
// ---------------------------------------------------------------------------------------------

fn assemble_err(msg: impl Into<String>) -> SealError {
    SealError::Assemble(msg.into())
}

/// An embedded file whose stream is copied straight from the input when the file is written.
struct EmbeddedStream<'a> {
    id: u32,
    length_id: u32,
    mime: &'a str,
    bytes: &'a [u8],
}

/// The first revision: objects written, the signature dictionary not yet.
struct Base<'a, W: SealSink> {
    /// The file up to (not including) the signature dictionary.
    out: PdfOut<'a, W>,
    /// Offsets of the objects written so far.
    offsets: Vec<(u32, usize)>,
    /// Where the signature dictionary starts (everything after it is rewritten by `finish`).
    sig_at: usize,
    sig_id: u32,
    size: u32,
    /// Offset of the cross-reference table once `finish` ran.
    xref_at: usize,
    catalog_id: ObjectId,
    catalog: Dictionary,
    info_id: ObjectId,
    file_id: [u8; 16],
    sig_page_id: ObjectId,
    sig_page: Dictionary,
    field_names: HashSet<Vec<u8>>,
    m: String,
}

impl<'a, W: SealSink> Base<'a, W> {
    /// Builds the merged document and writes every object but the signature dictionary into
    /// `sink`, digesting it with each of `sign_digests` as it goes (what follows is small:
    /// the signatures over it need not read it back).
    fn assemble(
        input: &SealInput,
        sink: &'a mut W,
        sign_digests: &[DigestAlg],
    ) -> Result<Self, SealError> {
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

        let mut out = Document::with_version("1.7");
        let pages_id = out.new_object_id();
        let mut kids: Vec<Object> = Vec::new();
        let mut form = FormParts::default();
        let mut version = (1u32, 7u32);
        // The output claims PDF/A-3b only when every input claims some PDF/A part.
        let mut all_pdfa = true;
        let mut output_intents: Option<Object> = None;
        // New object number → (document index, byte range of its stream data in that input).
        let mut raw_streams: HashMap<u32, (usize, std::ops::Range<usize>)> = HashMap::new();

        for (index, d) in input.documents.iter().enumerate() {
            let doc_err = |source: PdfError| SealError::Document {
                index,
                title: d.title.clone(),
                source,
            };
            let mut doc = pdf::load_document(&d.bytes).map_err(doc_err)?;
            version = version.max(parse_version(&doc.version));
            // Large streams are written from the input later, not from a parsed copy.
            let detached = pdf::detach_large_streams(&mut doc, &d.bytes);
            let first_id = out.max_id + 1;
            let imported = guarded(|| import_document(doc, first_id, pages_id, &detached))
                .and_then(|r| r)
                .map_err(doc_err)?;
            raw_streams.extend(
                imported
                    .raw_streams
                    .iter()
                    .map(|(id, range)| (*id, (index, range.clone()))),
            );
            out.max_id = imported.next_id - 1;
            all_pdfa &= imported.pdfa_part.is_some();
            if output_intents.is_none() {
                output_intents = imported.output_intents;
            }
            kids.extend(imported.pages.into_iter().map(Object::Reference));
            form.absorb(imported.form);
            out.objects.extend(imported.objects);
        }

        // Signature page(s) and the invisible signature field on the first of them.
        let sig_pages = page::add_signature_pages(&mut out, pages_id, input, &digests)?;
        let first_sig_page = *sig_pages
            .first()
            .ok_or_else(|| assemble_err("no signature page generated"))?;
        // The signature page is the cover page: a reader sees who signed, how and over which
        // documents before the documents themselves.
        let mut kids: Vec<Object> = sig_pages
            .iter()
            .copied()
            .map(Object::Reference)
            .chain(kids)
            .collect();
        kids.shrink_to_fit();
        let page_count = kids.len();

        let field_id = out.new_object_id();
        let field_name = unique_name(&form.names, "signgate-seal");
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

        // The originals and the further attachments as associated embedded files.
        let date = pdf_date(input.sealed_at);
        let mut streams: Vec<EmbeddedStream<'_>> = Vec::new();
        let mut tree: Vec<(Vec<u8>, Object)> = Vec::new();
        let mut af: Vec<Object> = Vec::new();
        let total = input.documents.len() + input.attachments.len();
        let width = total.to_string().len().max(2);
        let files = input
            .documents
            .iter()
            .map(|d| {
                (
                    pdf_file_name(&d.title),
                    "application/pdf",
                    format!("Original document: {}", d.title),
                    AfRelationship::Source,
                    d.bytes.as_slice(),
                )
            })
            .chain(input.attachments.iter().map(|a| {
                (
                    if a.name.trim().is_empty() {
                        "attachment".to_string()
                    } else {
                        a.name.replace(['/', '\\'], "_")
                    },
                    a.mime.as_str(),
                    a.description.clone(),
                    a.relationship,
                    a.bytes.as_slice(),
                )
            }));
        for (n, (name, mime, desc, rel, bytes)) in files.enumerate() {
            let stream_id = out.new_object_id();
            let length_id = out.new_object_id();
            streams.push(EmbeddedStream {
                id: stream_id.0,
                length_id: length_id.0,
                mime,
                bytes,
            });
            // The name-tree key (and /F): an ASCII name numbered in job order, so the keys
            // sort the way the files come; /UF keeps the real name.
            let key = format!("{:0width$}-{}", n + 1, ascii_file_name(&name));
            let spec = out.add_object(dictionary! {
                "Type" => "Filespec",
                "F" => Object::String(key.clone().into_bytes(), StringFormat::Literal),
                "UF" => Object::String(text_string(&name), StringFormat::Literal),
                "Desc" => Object::String(text_string(&desc), StringFormat::Literal),
                "AFRelationship" => Object::Name(rel.name().as_bytes().to_vec()),
                "EF" => dictionary! { "F" => stream_id, "UF" => stream_id },
            });
            tree.push((key.into_bytes(), Object::Reference(spec)));
            af.push(Object::Reference(spec));
        }
        tree.sort_by(|a, b| a.0.cmp(&b.0));
        let names: Vec<Object> = tree
            .into_iter()
            .flat_map(|(k, v)| [Object::String(k, StringFormat::Literal), v])
            .collect();
        let embedded_files = out.add_object(dictionary! { "Names" => names });

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
        let mut catalog = dictionary! {
            "Type" => "Catalog",
            "Pages" => pages_id,
            "AcroForm" => acroform,
            "Names" => dictionary! { "EmbeddedFiles" => embedded_files },
            "AF" => af,
        };
        if version < (2, 0) {
            // ISO 32000-1 with the ETSI extensions (DSS, document timestamps).
            catalog.set(
                "Extensions",
                dictionary! {
                    "ESIC" => dictionary! { "BaseVersion" => "1.7", "ExtensionLevel" => 5 },
                },
            );
        }
        if all_pdfa {
            // PDF/A-3b (ISO 19005-3): XMP identification mirroring /Info, the inputs' output
            // intent; fonts are embedded by `page`, files carry /AFRelationship and /Params.
            let mut xmp = Stream::new(
                dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
                pdfa_xmp(&input.title, input.sealed_at),
            );
            // ISO 19005-3 §6.6.2.1: the metadata stream is not filtered.
            xmp.allows_compression = false;
            catalog.set("Metadata", out.add_object(xmp));
            if let Some(oi) = output_intents {
                catalog.set("OutputIntents", oi);
            }
        }
        let catalog_id = out.add_object(catalog.clone());
        let info_id = out.add_object(dictionary! {
            "Title" => Object::String(text_string(&input.title), StringFormat::Literal),
            "Producer" => Object::string_literal("signgate"),
            "CreationDate" => Object::string_literal(date.clone()),
            "ModDate" => Object::string_literal(date.clone()),
        });
        let sig_id = out.new_object_id();
        if let Ok(field) = out.get_dictionary_mut(field_id) {
            field.set("V", sig_id);
        }
        let sig_page = out
            .get_dictionary(first_sig_page)
            .map_err(|e| assemble_err(format!("signature page: {e}")))?
            .clone();

        let mut file_id = [0u8; 16];
        SystemRandom::new()
            .fill(&mut file_id)
            .map_err(|_| assemble_err("random number generator failed"))?;

        // Write: header, every object (moved out of the document as it goes), the embedded
        // files straight from the input.
        // About the size of the merged pages and the embedded files, and the signature.
        let page_bytes: usize = input.documents.iter().map(|d| d.bytes.len()).sum();
        let embedded_bytes: usize = streams.iter().map(|s| s.bytes.len()).sum();
        let mut file = PdfOut::new(
            sink,
            page_bytes + embedded_bytes + 2 * CONTENTS_RESERVED + 64 * 1024,
        )?;
        file.digest_as_written(sign_digests);
        let (major, minor) = version;
        file.write_all(format!("%PDF-{major}.{minor}\n").as_bytes())?;
        file.write_all(b"%\xE2\xE3\xCF\xD3\n")?;
        let mut offsets: Vec<(u32, usize)> = Vec::with_capacity(out.objects.len() + 8);
        let objects = std::mem::take(&mut out.objects);
        for ((id, gen_), obj) in objects {
            if gen_ != 0 {
                return Err(assemble_err("unexpected generation number"));
            }
            match (raw_streams.get(&id), obj) {
                (Some((doc, range)), Object::Stream(s)) => {
                    let data = input
                        .documents
                        .get(*doc)
                        .and_then(|d| d.bytes.get(range.clone()))
                        .ok_or_else(|| assemble_err("detached stream out of range"))?;
                    write_raw_stream(&mut file, &mut offsets, id, s.dict, data)?;
                }
                (_, obj) => write_object(&mut file, &mut offsets, id, &obj)?,
            }
        }
        for s in &streams {
            let params = dictionary! {
                "Size" => i64::try_from(s.bytes.len()).unwrap_or(i64::MAX),
                "ModDate" => Object::string_literal(date.clone()),
            };
            let dict = dictionary! {
                "Type" => "EmbeddedFile",
                "Subtype" => Object::Name(s.mime.as_bytes().to_vec()),
                "Params" => params,
            };
            write_flate_stream(&mut file, &mut offsets, s.id, s.length_id, dict, s.bytes)?;
        }
        let sig_at = file.len();
        // Nothing before the signature dictionary changes any more.
        file.freeze_digests()?;
        let mut field_names = form.names;
        field_names.insert(text_string(&field_name));
        Ok(Base {
            out: file,
            offsets,
            sig_at,
            sig_id: sig_id.0,
            size: out.max_id + 1,
            xref_at: 0,
            catalog_id,
            catalog,
            info_id,
            file_id,
            sig_page_id: first_sig_page,
            sig_page,
            field_names,
            m: date,
        })
    }

    /// (Re)writes the seal's signature dictionary with `reserved` bytes for the CMS, the
    /// cross-reference table and the trailer, and fills in `/ByteRange`.
    fn finish(&mut self, key: &SealKey, reserved: usize) -> Result<SigSlots, SealError> {
        self.out.truncate(self.sig_at)?;
        let mut offsets = self.offsets.clone();
        let name = key
            .subject_common_name()
            .unwrap_or_else(|| "signgate seal".to_string());
        let name = text_string(&name);
        let reason = text_string(SEAL_REASON);
        let slots = write_sig_dict(
            &mut self.out,
            &mut offsets,
            self.sig_id,
            &SigKind::CadesDetached {
                m: &self.m,
                name: &name,
                reason: &reason,
            },
            reserved,
        )?;
        let trailer =
            incremental::base_trailer(self.size, self.catalog_id, self.info_id, &self.file_id)?;
        let xref_at = write_xref_and_trailer(&mut self.out, &mut offsets, true, &trailer)?;
        self.xref_at = xref_at;
        incremental::patch_byte_range(&mut self.out, &slots)?;
        Ok(slots)
    }

    fn into_sealed(self) -> SealedPdf<'a, W> {
        SealedPdf::new(
            self.out,
            self.xref_at,
            self.size,
            self.catalog_id,
            self.catalog,
            self.info_id,
            self.file_id,
            self.sig_page_id,
            self.sig_page,
            self.field_names,
        )
    }
}

/// `title.pdf` as a file name (path separators replaced; `.pdf` added when missing).
fn pdf_file_name(title: &str) -> String {
    let mut name: String = title
        .chars()
        .map(|c| if matches!(c, '/' | '\\') { '_' } else { c })
        .collect();
    if name.trim().is_empty() {
        name = "document".into();
    }
    if !name.to_ascii_lowercase().ends_with(".pdf") {
        name.push_str(".pdf");
    }
    name
}

/// An ASCII rendering of a file name (at most 96 characters, letters, digits, `.-_` kept,
/// everything else `_`).
fn ascii_file_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.len() > 96 {
        // Keep the extension.
        let ext = out
            .rfind('.')
            .map(|i| out[i..].to_string())
            .unwrap_or_default();
        out.truncate(96 - ext.len().min(16));
        out.push_str(&ext[..ext.len().min(16)]);
    }
    out
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
}

struct Imported {
    objects: Vec<(ObjectId, Object)>,
    pages: Vec<ObjectId>,
    form: FormParts,
    next_id: u32,
    /// The PDF/A part the document's XMP metadata claims (`pdfaid:part`), if any.
    pdfa_part: Option<u8>,
    /// The catalog's `/OutputIntents`, references renumbered (its objects are imported).
    output_intents: Option<Object>,
    /// Streams whose data is to be copied from the input: new object number, byte range.
    raw_streams: Vec<(u32, std::ops::Range<usize>)>,
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
    detached: &HashMap<ObjectId, std::ops::Range<usize>>,
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

    // PDF/A identification and output intents (carried over so a PDF/A job stays PDF/A).
    let pdfa_part = pdf::pdfa_part(&doc);
    let mut output_intents = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"OutputIntents").ok())
        .cloned();

    // Existing form fields (signature fields lose their now-broken values).
    let mut form = FormParts::default();
    let mut roots: Vec<ObjectId> = page_ids.clone();
    if let Some(oi) = &output_intents {
        collect_refs(oi, &mut roots);
    }
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
    if let Some(oi) = &mut output_intents {
        rewrite_refs(oi, &map);
    }
    let raw_streams = detached
        .iter()
        .filter_map(|(old, range)| map.get(old).map(|new| (new.0, range.clone())))
        .collect();
    let pages = page_ids
        .iter()
        .filter_map(|p| map.get(p).copied())
        .collect();
    Ok(Imported {
        objects,
        pages,
        form,
        next_id: next,
        pdfa_part,
        output_intents,
        raw_streams,
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

/// The XMP packet of a PDF/A-3b output: identification, and the /Info entries mirrored
/// (ISO 19005-3 §6.6.3: title, producer, creation and modification dates).
fn pdfa_xmp(title: &str, at: time::OffsetDateTime) -> Vec<u8> {
    let date = crate::sealing::xades::xsd_datetime(at);
    let title = crate::trust::xmlsign::escape_text(title);
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
 <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
  <rdf:Description rdf:about=\"\"\n\
    xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\"\n\
    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n\
    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n\
    xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n\
   <pdfaid:part>3</pdfaid:part>\n\
   <pdfaid:conformance>B</pdfaid:conformance>\n\
   <dc:format>application/pdf</dc:format>\n\
   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{title}</rdf:li></rdf:Alt></dc:title>\n\
   <pdf:Producer>signgate</pdf:Producer>\n\
   <xmp:CreateDate>{date}</xmp:CreateDate>\n\
   <xmp:ModifyDate>{date}</xmp:ModifyDate>\n\
   <xmp:MetadataDate>{date}</xmp:MetadataDate>\n\
  </rdf:Description>\n\
 </rdf:RDF>\n\
</x:xmpmeta>\n\
<?xpacket end=\"w\"?>"
    )
    .into_bytes()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Sealing workers spawn `seal_lta` on the runtime: its future must be `Send`.
    #[allow(dead_code)]
    fn seal_lta_future_is_send(
        input: &SealInput,
        key: &SealKey,
        tsa: &dyn Timestamper,
        ltv: &LtvFetcher,
        roots: &[Vec<u8>],
    ) {
        fn send<T: Send>(_: &T) {}
        send(&seal_lta(input, key, tsa, ltv, roots));
        let mut spool = tempfile::tempfile().unwrap();
        send(&seal_lta_into(input, key, tsa, ltv, roots, &mut spool));
    }

    #[test]
    fn pdfa_claims_are_read_in_both_xmp_spellings() {
        assert_eq!(
            pdf::xmp_pdfa_part(b"<x pdfaid:part='1' pdfaid:conformance='B'/>"),
            Some(1)
        );
        assert_eq!(pdf::xmp_pdfa_part(b"<x pdfaid:part=\"2\"/>"), Some(2));
        assert_eq!(pdf::xmp_pdfa_part(b"<pdfaid:part>3</pdfaid:part>"), Some(3));
        // A namespace declaration or an out-of-range value is not a claim.
        assert_eq!(
            pdf::xmp_pdfa_part(b"xmlns:pdfaid:partx='http://www.aiim.org/pdfa/ns/id/'"),
            None
        );
        assert_eq!(pdf::xmp_pdfa_part(b"<pdfaid:part>9</pdfaid:part>"), None);
        assert_eq!(pdf::xmp_pdfa_part(b"pdfaid:part"), None);
        assert_eq!(pdf::xmp_pdfa_part(b""), None);
    }

    #[test]
    fn pdfa_xmp_escapes_the_title() {
        let xmp = pdfa_xmp("A & <B>", time::macros::datetime!(2026-01-02 03:04:05 UTC));
        let xmp = String::from_utf8(xmp).unwrap();
        assert!(xmp.contains(">A &amp; &lt;B&gt;<"), "{xmp}");
        assert!(xmp.contains("<xmp:CreateDate>2026-01-02T03:04:05Z</xmp:CreateDate>"));
        assert!(xmp.ends_with("<?xpacket end=\"w\"?>"));
        // Well-formed XML (roxmltree refuses anything else).
        roxmltree::Document::parse(&xmp).unwrap();
    }

    #[test]
    fn file_names() {
        assert_eq!(
            pdf_file_name("Kontrakt – hoveddokument"),
            "Kontrakt – hoveddokument.pdf"
        );
        assert_eq!(pdf_file_name("a/b\\c.PDF"), "a_b_c.PDF");
        assert_eq!(pdf_file_name("  "), "document.pdf");
        assert_eq!(ascii_file_name("Blåbær kontor.pdf"), "Bl_b_r_kontor.pdf");
        let long = format!("{}.xml", "x".repeat(300));
        let a = ascii_file_name(&long);
        assert_eq!(a.len(), 96);
        assert!(a.ends_with(".xml"));
    }

    #[test]
    fn originals_and_attachments_are_embedded_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let p = crate::sealing::keys::ensure_dev_pki(dir.path(), None).unwrap();
        let key = SealKey::from_files(&p.seal_key, &p.seal_chain).unwrap();
        let mut input = page::tests::input(1);
        input.documents = vec![
            SealDocument {
                title: "Zeta".into(),
                bytes: crate::sealing::pdf::tests::sample_pdf(1, "z"),
            },
            SealDocument {
                title: "Alpha".into(),
                bytes: crate::sealing::pdf::tests::sample_pdf(2, "a"),
            },
        ];
        input.attachments = vec![Attachment {
            name: "evidence.xml".into(),
            mime: "application/xml".into(),
            description: "evidence".into(),
            relationship: AfRelationship::Supplement,
            bytes: b"<e/>".to_vec(),
        }];
        let sealed = seal(&input, &key).unwrap();
        let doc = Document::load_mem(&sealed).unwrap();
        let cat = doc.catalog().unwrap();
        let ef = cat
            .get(b"Names")
            .and_then(Object::as_dict)
            .and_then(|n| n.get(b"EmbeddedFiles"))
            .and_then(|r| doc.dereference(r))
            .unwrap()
            .1
            .as_dict()
            .unwrap();
        let names = ef.get(b"Names").unwrap().as_array().unwrap();
        // Keys in job order (and sorted), each file decompressing to the exact input.
        let want: Vec<(&str, &[u8], &[u8])> = vec![
            ("01-Zeta.pdf", &input.documents[0].bytes, b"Source"),
            ("02-Alpha.pdf", &input.documents[1].bytes, b"Source"),
            ("03-evidence.xml", b"<e/>", b"Supplement"),
        ];
        assert_eq!(names.len(), 2 * want.len());
        for (pair, (key_want, bytes, rel)) in names.chunks(2).zip(want) {
            assert_eq!(pair[0].as_str().unwrap(), key_want.as_bytes());
            let spec = doc.get_dictionary(pair[1].as_reference().unwrap()).unwrap();
            assert_eq!(spec.get(b"AFRelationship").unwrap().as_name().unwrap(), rel);
            let stream_ref = spec
                .get(b"EF")
                .and_then(Object::as_dict)
                .and_then(|d| d.get(b"F"))
                .and_then(Object::as_reference)
                .unwrap();
            let stream = doc.get_object(stream_ref).unwrap().as_stream().unwrap();
            assert_eq!(stream.decompressed_content().unwrap(), bytes);
        }
        assert_eq!(cat.get(b"AF").unwrap().as_array().unwrap().len(), 3);
    }
}
