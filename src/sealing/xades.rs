//! XAdES signatures by the gateway's seal key over whole XML documents (ETSI EN 319 132-1
//! baseline levels B-B → B-T → B-LT → B-LTA), the format of the per-signer evidence records.
//!
//! Owns: the enveloped `ds:Signature` appended as the last child of the document element —
//! a whole-document reference (`URI=""`, enveloped-signature + exclusive C14N, SHA-256)
//! described by a `DataObjectFormat`, a reference to `SignedProperties` (Type
//! `http://uri.etsi.org/01903#SignedProperties`), `SigningTime`, `SigningCertificateV2`
//! (certificate digest + `IssuerSerialV2`), `ds:KeyInfo` with the seal chain — and the
//! unsigned properties added in order: `SignatureTimeStamp` (RFC 3161 token over the
//! exclusive-C14N `ds:SignatureValue` element), `CertificateValues` + `RevocationValues`
//! (from [`LtvData`] and the timestamp token's certificates) and the EN 319 132-1 v1.4.1
//! `ArchiveTimeStamp`.
//!
//! Every digest and every timestamp imprint is computed on the final document text, parsed
//! with the crate's one XML-DSig engine (`crate::trust::xmldsig` parsing policy,
//! `crate::trust::c14n`, `crate::trust::xmlsign` writers), so what a verifier canonicalizes
//! is exactly what was signed. The signature value comes from
//! [`SealKey::sign_xmldsig`], so any key provider works.
//!
//! Must not touch: what the signed document means (`sealing::evidence`), fetching
//! revocation data (the caller hands [`LtvData`] over), job state, storage, logging of
//! document contents.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use der::Encode as _;
use roxmltree::{Document, Node};
use time::OffsetDateTime;
use x509_cert::ext::pkix::name::GeneralName;

use crate::sealing::cms::IssuerSerial;
use crate::sealing::keys::{KeyError, SealKey};
use crate::sealing::ltv::LtvData;
use crate::sealing::tsa::{Timestamper, TsaError};
use crate::trust::c14n::{self, C14nMethod};
use crate::trust::xmldsig::{self, DSIG_NS, DsigError, XADES_SIGNED_PROPERTIES_TYPE};
use crate::trust::xmlsign::{self, Reference, SHA256_URI, escape_attr, escape_text};
use crate::validation::crypto::DigestAlg;

/// The XAdES v1.3.2 namespace (EN 319 132-1 keeps its new elements, e.g.
/// `SigningCertificateV2`, in it).
pub const XADES_NS: &str = "http://uri.etsi.org/01903/v1.3.2#";
/// The XAdES v1.4.1 namespace (`ArchiveTimeStamp`).
pub const XADES141_NS: &str = "http://uri.etsi.org/01903/v1.4.1#";

/// Why a XAdES signature could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum XadesError {
    /// The document to sign is not usable (not XML under the parsing policy, empty document
    /// element, an Id clash with the signature's own Ids).
    #[error("the document to sign: {0}")]
    Input(String),
    /// Canonicalization or parsing of the document being built failed.
    #[error("XML-DSig: {0}")]
    Dsig(#[from] DsigError),
    /// The seal key could not sign.
    #[error("seal key: {0}")]
    Key(#[from] KeyError),
    /// No timestamp was obtained.
    #[error("time-stamping: {0}")]
    Tsa(#[from] TsaError),
    /// Validation data for the seal or its timestamps could not be gathered (fails closed).
    #[error("long-term validation data: {0}")]
    Ltv(#[from] crate::sealing::ltv::LtvError),
    /// A certificate could not be encoded.
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    /// The timestamp token is not a CMS `SignedData`.
    #[error("the timestamp token is unreadable: {0}")]
    Token(String),
    /// A step was asked for out of order (e.g. validation data before the signature
    /// timestamp).
    #[error("XAdES level step out of order: {0}")]
    Order(&'static str),
}

/// The baseline level a [`XadesSignature`] has reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// XAdES-BASELINE-B.
    B,
    /// XAdES-BASELINE-T: a signature timestamp.
    T,
    /// XAdES-BASELINE-LT: certificate and revocation values.
    Lt,
    /// XAdES-BASELINE-LTA: an archive timestamp over all of it.
    Lta,
}

impl Level {
    /// The ETSI name, e.g. `XAdES-BASELINE-LT`.
    pub fn name(self) -> &'static str {
        match self {
            Level::B => "XAdES-BASELINE-B",
            Level::T => "XAdES-BASELINE-T",
            Level::Lt => "XAdES-BASELINE-LT",
            Level::Lta => "XAdES-BASELINE-LTA",
        }
    }
}

/// What the signed properties say about the signed document.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// `SigningTime` (written in UTC, whole seconds).
    pub signing_time: OffsetDateTime,
    /// `DataObjectFormat/MimeType` of the signed document, e.g. `text/xml`.
    pub mime_type: &'a str,
    /// `DataObjectFormat/Description`, if any.
    pub description: Option<&'a str>,
}

/// An enveloped XAdES signature being built over one document, level by level.
#[derive(Debug, Clone)]
pub struct XadesSignature {
    /// Document text before the signature (up to the document element's end tag).
    before: String,
    /// Document text after the signature (the end tag and anything after it).
    after: String,
    ids: Ids,
    signed_info: String,
    signature_value: String,
    key_info: String,
    signed_properties: String,
    key_info_certs: Vec<Vec<u8>>,
    /// Certificates carried by the timestamp tokens.
    token_certs: Vec<Vec<u8>>,
    unsigned: Vec<String>,
    level: Level,
}

#[derive(Debug, Clone)]
struct Ids {
    signature: String,
    doc_ref: String,
    signed_props: String,
    /// `#` + `signed_props`.
    signed_props_uri: String,
    signature_value: String,
    signature_ts: String,
    archive_ts: String,
}

impl Ids {
    fn new(base: &str) -> Self {
        Ids {
            signature: base.to_string(),
            doc_ref: format!("{base}-ref-document"),
            signed_props: format!("{base}-signed-properties"),
            signed_props_uri: format!("#{base}-signed-properties"),
            signature_value: format!("{base}-signature-value"),
            signature_ts: format!("{base}-signature-timestamp"),
            archive_ts: format!("{base}-archive-timestamp"),
        }
    }

    fn all(&self) -> [&str; 6] {
        [
            &self.signature,
            &self.doc_ref,
            &self.signed_props,
            &self.signature_value,
            &self.signature_ts,
            &self.archive_ts,
        ]
    }
}

pub(crate) fn xsd_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn sha256(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

fn element_by_id<'a, 'i>(doc: &'a Document<'i>, id: &str) -> Result<Node<'a, 'i>, XadesError> {
    doc.descendants()
        .find(|n| n.is_element() && n.attribute("Id") == Some(id))
        .ok_or_else(|| XadesError::Input(format!("element with Id {id:?} vanished")))
}

fn exc_c14n(doc: &Document, node: Node, out: &mut Vec<u8>) -> Result<(), XadesError> {
    c14n::canonicalize(doc, node, C14nMethod::Exclusive, None, &[], out)
        .map_err(|e| XadesError::Dsig(e.into()))
}

fn encapsulated(tag: &str, items: &[&Vec<u8>]) -> String {
    let mut out = String::new();
    for d in items {
        out.push_str(&format!(
            "<xades:{tag}>{}</xades:{tag}>",
            B64.encode(d.as_slice())
        ));
    }
    out
}

/// Signs `xml` (a whole document the caller produced) at XAdES-BASELINE-B: the signature
/// becomes the last child of the document element.
pub fn sign(xml: &str, key: &SealKey, opts: &Options) -> Result<XadesSignature, XadesError> {
    let doc = xmldsig::parse_document(xml)?;
    let root = doc.root_element();
    let range = root.range();
    let insert_at = xml
        .get(..range.end)
        .and_then(|head| head.rfind("</"))
        .filter(|at| *at > range.start)
        .ok_or_else(|| XadesError::Input("the document element has no content".into()))?;
    let hash = hex::encode(sha256(xml.as_bytes()));
    let ids = Ids::new(&format!("xades-{}", &hash[..16]));
    for id in ids.all() {
        let clash = doc.descendants().any(|n| {
            n.is_element()
                && n.attributes()
                    .any(|a| matches!(a.name(), "Id" | "ID" | "id") && a.value() == id)
        });
        if clash {
            return Err(XadesError::Input(format!(
                "the document already uses the Id {id:?}"
            )));
        }
    }

    let leaf = key.leaf();
    let issuer_serial = IssuerSerial {
        issuer: vec![GeneralName::DirectoryName(
            leaf.tbs_certificate.issuer.clone(),
        )],
        serial_number: leaf.tbs_certificate.serial_number.clone(),
    }
    .to_der()?;
    let description = opts
        .description
        .map(|d| format!("<xades:Description>{}</xades:Description>", escape_text(d)))
        .unwrap_or_default();
    let signed_properties = format!(
        concat!(
            "<xades:SignedProperties Id=\"{sp}\">",
            "<xades:SignedSignatureProperties>",
            "<xades:SigningTime>{time}</xades:SigningTime>",
            "<xades:SigningCertificateV2><xades:Cert><xades:CertDigest>",
            "<ds:DigestMethod Algorithm=\"{dm}\"/><ds:DigestValue>{cd}</ds:DigestValue>",
            "</xades:CertDigest><xades:IssuerSerialV2>{is}</xades:IssuerSerialV2>",
            "</xades:Cert></xades:SigningCertificateV2>",
            "</xades:SignedSignatureProperties>",
            "<xades:SignedDataObjectProperties>",
            "<xades:DataObjectFormat ObjectReference=\"#{dr}\">{desc}",
            "<xades:MimeType>{mime}</xades:MimeType></xades:DataObjectFormat>",
            "</xades:SignedDataObjectProperties>",
            "</xades:SignedProperties>"
        ),
        sp = ids.signed_props,
        time = xsd_datetime(opts.signing_time),
        dm = SHA256_URI,
        cd = B64.encode(sha256(key.leaf_der())),
        is = B64.encode(&issuer_serial),
        dr = ids.doc_ref,
        desc = description,
        mime = escape_text(opts.mime_type),
    );
    let mut key_info = String::from("<ds:KeyInfo><ds:X509Data>");
    for c in key.chain_der() {
        key_info.push_str(&format!(
            "<ds:X509Certificate>{}</ds:X509Certificate>",
            B64.encode(c)
        ));
    }
    key_info.push_str("</ds:X509Data></ds:KeyInfo>");

    let mut sig = XadesSignature {
        before: xml[..insert_at].to_string(),
        after: xml[insert_at..].to_string(),
        ids,
        signed_info: String::new(),
        signature_value: String::new(),
        key_info,
        signed_properties,
        key_info_certs: key.chain_der().to_vec(),
        token_certs: Vec::new(),
        unsigned: Vec::new(),
        level: Level::B,
    };
    drop(doc);

    // The two reference digests, on the document as it will read (SignedInfo and
    // SignatureValue contents do not enter either).
    sig.signed_info = xmlsign::signed_info(
        key.xml_signature_method(),
        &sig.references(&[0; 32], &[0; 32]),
    );
    let text = sig.to_xml();
    let doc = xmldsig::parse_document(&text)?;
    let sig_el = element_by_id(&doc, &sig.ids.signature)?;
    let doc_digest = xmlsign::exc_c14n_sha256(&doc, doc.root(), Some(sig_el.id()))?;
    let sp_el = element_by_id(&doc, &sig.ids.signed_props)?;
    let sp_digest = xmlsign::exc_c14n_sha256(&doc, sp_el, None)?;
    drop(doc);

    sig.signed_info = xmlsign::signed_info(
        key.xml_signature_method(),
        &sig.references(&doc_digest, &sp_digest),
    );
    let text = sig.to_xml();
    let doc = xmldsig::parse_document(&text)?;
    let si = element_by_id(&doc, &sig.ids.signature)?
        .first_element_child()
        .ok_or_else(|| XadesError::Input("ds:SignedInfo vanished".into()))?;
    let mut canon = Vec::new();
    exc_c14n(&doc, si, &mut canon)?;
    sig.signature_value = B64.encode(key.sign_xmldsig(&canon)?);
    Ok(sig)
}

impl XadesSignature {
    fn references<'a>(&'a self, doc: &'a [u8], sp: &'a [u8]) -> [Reference<'a>; 2] {
        [
            Reference {
                id: Some(&self.ids.doc_ref),
                uri: "",
                ty: None,
                enveloped: true,
                digest: doc,
            },
            Reference {
                id: None,
                uri: &self.ids.signed_props_uri,
                ty: Some(XADES_SIGNED_PROPERTIES_TYPE),
                enveloped: false,
                digest: sp,
            },
        ]
    }

    /// The level reached so far.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The `Id` of the `ds:Signature` element.
    pub fn signature_id(&self) -> &str {
        &self.ids.signature
    }

    /// The signed document as it reads now.
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(
            self.before.len()
                + self.after.len()
                + self.signed_info.len()
                + self.key_info.len()
                + self.signed_properties.len()
                + self.unsigned.iter().map(String::len).sum::<usize>()
                + 1024,
        );
        out.push_str(&self.before);
        out.push_str(&format!(
            "<ds:Signature xmlns:ds=\"{DSIG_NS}\" Id=\"{}\">",
            self.ids.signature
        ));
        out.push_str(&self.signed_info);
        out.push_str(&format!(
            "<ds:SignatureValue Id=\"{}\">{}</ds:SignatureValue>",
            self.ids.signature_value, self.signature_value
        ));
        out.push_str(&self.key_info);
        out.push_str(&format!(
            "<ds:Object><xades:QualifyingProperties xmlns:xades=\"{XADES_NS}\" Target=\"#{}\">",
            self.ids.signature
        ));
        out.push_str(&self.signed_properties);
        if !self.unsigned.is_empty() {
            out.push_str("<xades:UnsignedProperties><xades:UnsignedSignatureProperties>");
            for u in &self.unsigned {
                out.push_str(u);
            }
            out.push_str("</xades:UnsignedSignatureProperties></xades:UnsignedProperties>");
        }
        out.push_str("</xades:QualifyingProperties></ds:Object></ds:Signature>\n");
        out.push_str(&self.after);
        out
    }

    /// The SHA-256 imprint a signature timestamp must carry: the digest of the
    /// exclusive-C14N `ds:SignatureValue` element (EN 319 132-1 §5.3).
    pub fn signature_timestamp_imprint(&self) -> Result<Vec<u8>, XadesError> {
        let text = self.to_xml();
        let doc = xmldsig::parse_document(&text)?;
        let sv = element_by_id(&doc, &self.ids.signature_value)?;
        Ok(xmlsign::exc_c14n_sha256(&doc, sv, None)?)
    }

    /// Adds a `SignatureTimeStamp` obtained from `tsa` (→ XAdES-BASELINE-T).
    pub async fn add_signature_timestamp(
        &mut self,
        tsa: &dyn Timestamper,
    ) -> Result<(), XadesError> {
        if self.level != Level::B {
            return Err(XadesError::Order(
                "the signature timestamp comes right after signing",
            ));
        }
        let imprint = self.signature_timestamp_imprint()?;
        let token = tsa.timestamp(DigestAlg::Sha256, &imprint).await?;
        self.add_signature_timestamp_token(&token)
    }

    /// Adds a `SignatureTimeStamp` holding `token` (a DER RFC 3161 token the caller obtained
    /// over [`Self::signature_timestamp_imprint`] and verified).
    pub fn add_signature_timestamp_token(&mut self, token: &[u8]) -> Result<(), XadesError> {
        if self.level != Level::B {
            return Err(XadesError::Order(
                "the signature timestamp comes right after signing",
            ));
        }
        self.take_token_certs(token)?;
        self.unsigned.push(timestamp_element(
            "xades:SignatureTimeStamp",
            "",
            &self.ids.signature_ts,
            token,
        ));
        self.level = Level::T;
        Ok(())
    }

    fn take_token_certs(&mut self, token: &[u8]) -> Result<(), XadesError> {
        let parsed = crate::validation::cms::parse_signed_data(token)
            .map_err(|e| XadesError::Token(e.to_string()))?;
        for c in parsed.certificates() {
            if !self.token_certs.contains(&c) {
                self.token_certs.push(c);
            }
        }
        Ok(())
    }

    /// The certificates whose revocation status the long-term validation data must cover:
    /// the seal chain, then the certificates the timestamp tokens carry.
    pub fn validation_certificates(&self) -> Vec<Vec<u8>> {
        let mut out = self.key_info_certs.clone();
        for c in &self.token_certs {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        out
    }

    /// Adds `CertificateValues` (every certificate of `ltv` and of the timestamp tokens not
    /// already in `ds:KeyInfo`) and `RevocationValues` (the CRLs and OCSP responses of `ltv`)
    /// (→ XAdES-BASELINE-LT).
    pub fn add_validation_data(&mut self, ltv: &LtvData) -> Result<(), XadesError> {
        if self.level != Level::T {
            return Err(XadesError::Order(
                "validation data comes after the signature timestamp",
            ));
        }
        let mut certs: Vec<&Vec<u8>> = Vec::new();
        for c in self.token_certs.iter().chain(ltv.certs.iter()) {
            if !self.key_info_certs.contains(c) && !certs.contains(&c) {
                certs.push(c);
            }
        }
        if !certs.is_empty() {
            self.unsigned.push(format!(
                "<xades:CertificateValues>{}</xades:CertificateValues>",
                encapsulated("EncapsulatedX509Certificate", &certs)
            ));
        }
        if !ltv.crls.is_empty() || !ltv.ocsps.is_empty() {
            let mut rv = String::from("<xades:RevocationValues>");
            if !ltv.crls.is_empty() {
                let crls: Vec<&Vec<u8>> = ltv.crls.iter().collect();
                rv.push_str(&format!(
                    "<xades:CRLValues>{}</xades:CRLValues>",
                    encapsulated("EncapsulatedCRLValue", &crls)
                ));
            }
            if !ltv.ocsps.is_empty() {
                let ocsps: Vec<&Vec<u8>> = ltv.ocsps.iter().collect();
                rv.push_str(&format!(
                    "<xades:OCSPValues>{}</xades:OCSPValues>",
                    encapsulated("EncapsulatedOCSPValue", &ocsps)
                ));
            }
            rv.push_str("</xades:RevocationValues>");
            self.unsigned.push(rv);
        }
        self.level = Level::Lt;
        Ok(())
    }

    /// The SHA-256 imprint of an archive timestamp added now (EN 319 132-1 §5.5.2, v1.4.1):
    /// over the exclusive-C14N outputs of both references, `ds:SignedInfo`,
    /// `ds:SignatureValue`, `ds:KeyInfo` and every unsigned signature property so far (this
    /// signature has no other `ds:Object`).
    pub fn archive_timestamp_imprint(&self) -> Result<Vec<u8>, XadesError> {
        let text = self.to_xml();
        let doc = xmldsig::parse_document(&text)?;
        let sig = element_by_id(&doc, &self.ids.signature)?;
        let mut covered = Vec::new();
        c14n::canonicalize(
            &doc,
            doc.root(),
            C14nMethod::Exclusive,
            Some(sig.id()),
            &[],
            &mut covered,
        )
        .map_err(|e| XadesError::Dsig(e.into()))?;
        exc_c14n(
            &doc,
            element_by_id(&doc, &self.ids.signed_props)?,
            &mut covered,
        )?;
        let mut parts = xmldsig_children(sig);
        let si = parts.next().ok_or(XadesError::Order("no ds:SignedInfo"))?;
        let sv = parts
            .next()
            .ok_or(XadesError::Order("no ds:SignatureValue"))?;
        let ki = parts.next().ok_or(XadesError::Order("no ds:KeyInfo"))?;
        for n in [si, sv, ki] {
            exc_c14n(&doc, n, &mut covered)?;
        }
        let usp = sig
            .descendants()
            .find(|n| {
                n.is_element()
                    && n.tag_name().namespace() == Some(XADES_NS)
                    && n.tag_name().name() == "UnsignedSignatureProperties"
            })
            .ok_or(XadesError::Order("no unsigned signature properties"))?;
        for child in usp.children().filter(Node::is_element) {
            exc_c14n(&doc, child, &mut covered)?;
        }
        Ok(sha256(&covered))
    }

    /// Adds a v1.4.1 `ArchiveTimeStamp` obtained from `tsa` (→ XAdES-BASELINE-LTA). The
    /// validation data of its TSA should already be in the `CertificateValues` /
    /// `RevocationValues` (the same TSA as the signature timestamp), or be added by a later
    /// renewal.
    pub async fn add_archive_timestamp(&mut self, tsa: &dyn Timestamper) -> Result<(), XadesError> {
        if self.level < Level::Lt {
            return Err(XadesError::Order(
                "the archive timestamp comes after the validation data",
            ));
        }
        let imprint = self.archive_timestamp_imprint()?;
        let token = tsa.timestamp(DigestAlg::Sha256, &imprint).await?;
        self.take_token_certs(&token)?;
        let id = if self.level == Level::Lta {
            format!(
                "{}-{}",
                self.ids.archive_ts,
                self.unsigned
                    .iter()
                    .filter(|u| u.starts_with("<xades141:ArchiveTimeStamp"))
                    .count()
                    + 1
            )
        } else {
            self.ids.archive_ts.clone()
        };
        self.unsigned.push(timestamp_element(
            "xades141:ArchiveTimeStamp",
            &format!(" xmlns:xades141=\"{XADES141_NS}\""),
            &id,
            &token,
        ));
        self.level = Level::Lta;
        Ok(())
    }
}

fn xmldsig_children<'a, 'i>(n: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children()
        .filter(|c| c.is_element() && c.tag_name().namespace() == Some(DSIG_NS))
}

fn timestamp_element(qname: &str, ns_decl: &str, id: &str, token: &[u8]) -> String {
    format!(
        concat!(
            "<{q}{ns} Id=\"{id}\">",
            "<ds:CanonicalizationMethod Algorithm=\"{c14n}\"/>",
            "<xades:EncapsulatedTimeStamp>{tok}</xades:EncapsulatedTimeStamp>",
            "</{q}>"
        ),
        q = qname,
        ns = ns_decl,
        id = escape_attr(id),
        c14n = c14n::EXC_C14N,
        tok = B64.encode(token),
    )
}

/// Signs `xml` at XAdES-BASELINE-LT: sign, signature timestamp from `tsa`, validation data
/// from `ltv` (which should cover [`XadesSignature::validation_certificates`]).
pub async fn sign_lt(
    xml: &str,
    key: &SealKey,
    tsa: &dyn Timestamper,
    ltv: &LtvData,
    opts: &Options<'_>,
) -> Result<String, XadesError> {
    let mut sig = sign(xml, key, opts)?;
    sig.add_signature_timestamp(tsa).await?;
    sig.add_validation_data(ltv)?;
    Ok(sig.to_xml())
}

/// [`sign_lt`] plus an archive timestamp: XAdES-BASELINE-LTA.
pub async fn sign_lta(
    xml: &str,
    key: &SealKey,
    tsa: &dyn Timestamper,
    ltv: &LtvData,
    opts: &Options<'_>,
) -> Result<String, XadesError> {
    let mut sig = sign(xml, key, opts)?;
    sig.add_signature_timestamp(tsa).await?;
    sig.add_validation_data(ltv)?;
    sig.add_archive_timestamp(tsa).await?;
    Ok(sig.to_xml())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sealing::keys::ensure_dev_pki;
    use crate::sealing::tsa::{DEV_POLICY, TsaUnit};
    use crate::validation::evidence::{Check, TimestampKind};
    use crate::validation::xades::read_xades;

    fn keys() -> (tempfile::TempDir, SealKey, TsaUnit) {
        let dir = tempfile::tempdir().unwrap();
        let p = ensure_dev_pki(dir.path(), None).unwrap();
        let key = SealKey::from_files(&p.seal_key, &p.seal_chain).unwrap();
        let tsu = TsaUnit::new(
            SealKey::from_files(&p.tsa_key, &p.tsa_chain).unwrap(),
            DEV_POLICY,
        );
        (dir, key, tsu)
    }

    fn opts() -> Options<'static> {
        Options {
            signing_time: OffsetDateTime::now_utc(),
            mime_type: "text/xml",
            description: Some("test <record>"),
        }
    }

    const DOC: &str = "<?xml version=\"1.0\"?>\n<r xmlns=\"urn:x\" xmlns:p=\"urn:p\">\n  <p:a>1 &amp; 2</p:a>\n</r>\n";

    /// Our own reader (an independent computation of every digest and imprint) on `xml`.
    fn read(xml: &str) -> crate::validation::evidence::SignatureEvidence {
        let mut sigs = read_xades(
            xml.as_bytes(),
            None,
            &crate::validation::tsp::check_timestamp,
        )
        .unwrap();
        assert_eq!(sigs.len(), 1);
        sigs.remove(0)
    }

    #[tokio::test]
    async fn every_level_reads_back_intact() {
        let (_dir, key, tsu) = keys();
        let mut sig = sign(DOC, &key, &opts()).unwrap();
        let ev = read(&sig.to_xml());
        assert_eq!(ev.integrity, Check::Passed, "{ev:?}");
        assert_eq!(ev.format, "XAdES-BASELINE-B", "{ev:?}");
        assert!(ev.scope.full, "{:?}", ev.scope);

        sig.add_signature_timestamp(&tsu).await.unwrap();
        let ev = read(&sig.to_xml());
        assert_eq!(ev.format, "XAdES-BASELINE-T", "{ev:?}");
        assert_eq!(ev.timestamps[0].kind, TimestampKind::Signature);
        assert!(ev.timestamps[0].imprint.passed());
        // The TSU certificate is not in KeyInfo: it must go to CertificateValues.
        assert!(sig.validation_certificates().len() > key.chain_der().len());

        sig.add_validation_data(&LtvData::default()).unwrap();
        let ev = read(&sig.to_xml());
        assert_eq!(ev.format, "XAdES-BASELINE-LT", "{ev:?}");

        sig.add_archive_timestamp(&tsu).await.unwrap();
        sig.add_archive_timestamp(&tsu).await.unwrap();
        let xml = sig.to_xml();
        let ev = read(&xml);
        assert_eq!(ev.integrity, Check::Passed, "{ev:?}");
        assert_eq!(ev.format, "XAdES-BASELINE-LTA", "{ev:?}");
        let archive: Vec<_> = ev
            .timestamps
            .iter()
            .filter(|t| t.kind == TimestampKind::Archive)
            .collect();
        assert_eq!(archive.len(), 2);
        assert!(archive.iter().all(|t| t.imprint.passed()), "{archive:?}");
        // The document itself is untouched around the appended signature.
        assert!(xml.starts_with("<?xml version=\"1.0\"?>\n<r xmlns=\"urn:x\" xmlns:p=\"urn:p\">\n  <p:a>1 &amp; 2</p:a>\n<ds:Signature"));
        assert!(xml.ends_with("</ds:Signature>\n</r>\n"));
        assert!(xml.contains("<xades:Description>test &lt;record&gt;</xades:Description>"));
    }

    #[test]
    fn ecdsa_seal_keys_sign_too() {
        use crate::validation::chain::test_pki;
        let pki = test_pki::build(&test_pki::Opts::new(OffsetDateTime::now_utc()));
        let chain = format!("{}{}{}", pki.signer.pem, pki.interm.pem, pki.root.pem);
        let key = SealKey::from_pem(pki.signer.key_pem().as_bytes(), chain.as_bytes()).unwrap();
        assert_eq!(key.xml_signature_method(), xmlsign::ECDSA_SHA256);
        let xml = sign(DOC, &key, &opts()).unwrap().to_xml();
        let ev = read(&xml);
        assert_eq!(ev.integrity, Check::Passed, "{ev:?}");
        assert_eq!(ev.format, "XAdES-BASELINE-B", "{ev:?}");
        assert_eq!(ev.signer_cert.as_deref(), Some(pki.signer.der.as_slice()));
    }

    #[tokio::test]
    async fn steps_out_of_order_and_bad_input_are_refused() {
        let (_dir, key, tsu) = keys();
        let mut sig = sign(DOC, &key, &opts()).unwrap();
        assert!(matches!(
            sig.add_validation_data(&LtvData::default()),
            Err(XadesError::Order(_))
        ));
        assert!(matches!(
            sig.add_archive_timestamp(&tsu).await,
            Err(XadesError::Order(_))
        ));
        sig.add_signature_timestamp(&tsu).await.unwrap();
        assert!(matches!(
            sig.add_signature_timestamp(&tsu).await,
            Err(XadesError::Order(_))
        ));
        assert!(matches!(
            sign("<r/>", &key, &opts()),
            Err(XadesError::Input(_))
        ));
        assert!(matches!(
            sign("<!DOCTYPE r [<!ENTITY e \"x\">]><r>&e;</r>", &key, &opts()),
            Err(XadesError::Dsig(_))
        ));
    }
}
