//! Creation of enveloped XML-DSig signatures over one element referenced by `#ID`, the
//! signing half of the one XML-DSig engine (`crate::trust::xmldsig` verifies).
//!
//! Owns: the signing key wrapper for XML ([`XmlSigner`]: RSA PKCS#1 v1.5 SHA-256 or ECDSA
//! P-256 SHA-256, aws-lc-rs only), and [`XmlSigner::sign_enveloped`], which inserts a
//! `ds:Signature` (transforms enveloped-signature + exclusive C14N, SHA-256 digest,
//! exclusive-C14N `SignedInfo`, `KeyInfo/X509Data/X509Certificate`) into the element whose
//! `ID`/`Id` attribute is given. Also raw signatures over bytes ([`XmlSigner::sign_raw`]) for
//! the SAML HTTP-Redirect binding, with the XML-DSig signature value encoding. Shared with
//! `crate::sealing::xades` (the XAdES evidence signatures): the `ds:SignedInfo` writer
//! ([`signed_info`]), the exclusive-C14N SHA-256 digest ([`exc_c14n_sha256`]) and the
//! escaping helpers.
//!
//! Must not touch: canonicalization internals (`crate::trust::c14n`), verification
//! (`crate::trust::xmldsig`), or what the signed document means (SAML, XAdES callers).
//! The input must be XML the caller produced (it is parsed with the verification policy:
//! DTDs refused).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::trust::c14n::{self, C14nMethod};
use crate::trust::xmldsig::{self, DSIG_NS, DsigError, ENVELOPED_SIGNATURE};

/// `SignatureMethod` for RSA PKCS#1 v1.5 with SHA-256.
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// `SignatureMethod` for ECDSA with SHA-256.
pub const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
/// `SignatureMethod` for ECDSA with SHA-384 (RFC 6931 §2.3.6).
pub const ECDSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
/// `SignatureMethod` for RSASSA-PSS with SHA-256 and MGF1-SHA-256, salt length 32 (RFC 6931
/// §2.3.10, without explicit parameters).
pub const RSA_PSS_SHA256: &str = "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1";
/// `DigestMethod` SHA-256.
pub const SHA256_URI: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

enum Key {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
}

/// Errors while loading a signing key.
#[derive(Debug, thiserror::Error)]
pub enum SignerKeyError {
    /// The PEM text holds no `PRIVATE KEY` block or it is not base64.
    #[error("no PKCS#8 PRIVATE KEY PEM block: {0}")]
    Pem(String),
    /// The key is neither an RSA (≥ 2048 bits) nor an ECDSA P-256 PKCS#8 key.
    #[error("unsupported or invalid signing key: {0}")]
    Key(String),
    /// The certificate does not carry the public key of the private key.
    #[error("the certificate does not match the private key")]
    CertMismatch,
}

/// A private key with its certificate, able to sign XML.
pub struct XmlSigner {
    key: Key,
    cert_der: Vec<u8>,
}

impl std::fmt::Debug for XmlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XmlSigner")
            .field("algorithm", &self.signature_method())
            .finish_non_exhaustive()
    }
}

/// Decodes the first PEM block labelled `label` (e.g. `PRIVATE KEY`).
pub fn pem_block(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let i = text.find(&begin)? + begin.len();
    let j = text[i..].find(&end)? + i;
    let b64: String = text[i..j].chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(b64).ok()
}

impl XmlSigner {
    /// From a PKCS#8 DER private key and the DER certificate of its public key.
    pub fn from_pkcs8_der(pkcs8: &[u8], cert_der: Vec<u8>) -> Result<Self, SignerKeyError> {
        let key = match RsaKeyPair::from_pkcs8(pkcs8) {
            Ok(kp) => {
                if kp.public_modulus_len() * 8 < 2048 {
                    return Err(SignerKeyError::Key("RSA key below 2048 bits".into()));
                }
                Key::Rsa(kp)
            }
            Err(rsa_err) => match EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            {
                Ok(kp) => Key::Ecdsa(kp),
                Err(ec_err) => {
                    return Err(SignerKeyError::Key(format!(
                        "not RSA ({rsa_err}) nor ECDSA P-256 ({ec_err})"
                    )));
                }
            },
        };
        let public = match &key {
            Key::Rsa(kp) => kp.public_key().as_ref().to_vec(),
            Key::Ecdsa(kp) => kp.public_key().as_ref().to_vec(),
        };
        let cert_key = {
            use der::Decode as _;
            let cert = x509_cert::Certificate::from_der(&cert_der)
                .map_err(|e| SignerKeyError::Key(format!("certificate: {e}")))?;
            cert.tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .as_bytes()
                .map(<[u8]>::to_vec)
        };
        if cert_key.as_deref() != Some(public.as_slice()) {
            return Err(SignerKeyError::CertMismatch);
        }
        Ok(Self { key, cert_der })
    }

    /// From PEM texts: a `PRIVATE KEY` (PKCS#8) block and the first `CERTIFICATE` block.
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<Self, SignerKeyError> {
        let pkcs8 = pem_block(key_pem, "PRIVATE KEY")
            .ok_or_else(|| SignerKeyError::Pem("PRIVATE KEY".into()))?;
        let cert = pem_block(cert_pem, "CERTIFICATE")
            .ok_or_else(|| SignerKeyError::Pem("CERTIFICATE".into()))?;
        Self::from_pkcs8_der(&pkcs8, cert)
    }

    /// DER of the certificate.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The XML-DSig `SignatureMethod` URI this key signs with.
    pub fn signature_method(&self) -> &'static str {
        match self.key {
            Key::Rsa(_) => RSA_SHA256,
            Key::Ecdsa(_) => ECDSA_SHA256,
        }
    }

    /// Signs `msg` with [`Self::signature_method`]; the value is encoded as XML-DSig
    /// wants it (PKCS#1 bytes, or `r || s` for ECDSA).
    pub fn sign_raw(&self, msg: &[u8]) -> Result<Vec<u8>, DsigError> {
        let rng = SystemRandom::new();
        match &self.key {
            Key::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(|_| DsigError::Malformed("RSA signing failed".into()))?;
                Ok(sig)
            }
            Key::Ecdsa(kp) => kp
                .sign(&rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| DsigError::Malformed("ECDSA signing failed".into())),
        }
    }

    /// Inserts an enveloped signature into the element of `xml` whose `ID` (or `Id`)
    /// attribute is `id`: as its first child, or right after its first child element named
    /// `after` (namespace URI, local name) when given and present (SAML wants the signature
    /// after `saml:Issuer`). Returns the signed document text.
    pub fn sign_enveloped(
        &self,
        xml: &str,
        id: &str,
        after: Option<(&str, &str)>,
    ) -> Result<String, DsigError> {
        let doc = xmldsig::parse_document(xml)?;
        let mut found = doc.descendants().filter(|n| {
            n.is_element() && (n.attribute("ID") == Some(id) || n.attribute("Id") == Some(id))
        });
        let target = found
            .next()
            .ok_or_else(|| DsigError::Malformed(format!("no element with ID {id:?}")))?;
        if found.next().is_some() {
            return Err(DsigError::DuplicateId(id.to_string()));
        }
        if target
            .children()
            .any(|c| xmldsig::is_ds_signature_element(&c))
        {
            return Err(DsigError::Malformed(format!(
                "element {id:?} is already signed"
            )));
        }
        let insert_at = after
            .and_then(|(ns, local)| {
                target.children().find(|c| {
                    c.is_element()
                        && c.tag_name().namespace() == Some(ns)
                        && c.tag_name().name() == local
                })
            })
            .map(|c| c.range().end)
            .or_else(|| target.first_child().map(|c| c.range().start))
            .ok_or_else(|| DsigError::Malformed(format!("element {id:?} has no content")))?;

        let digest = exc_c14n_sha256(&doc, target, None)?;
        let signed_info = signed_info(
            self.signature_method(),
            &[Reference {
                id: None,
                uri: &format!("#{id}"),
                ty: None,
                enveloped: true,
                digest: &digest,
            }],
        );
        // Canonical SignedInfo as it will read in place: exclusive C14N renders only the
        // visibly used `ds` namespace, which the Signature element declares. Computed by
        // the engine's canonicalizer on a standalone parse to stay exact.
        let standalone =
            format!("<ds:Signature xmlns:ds=\"{DSIG_NS}\">{signed_info}</ds:Signature>");
        let sdoc = xmldsig::parse_document(&standalone)?;
        let si = sdoc
            .root_element()
            .first_element_child()
            .ok_or_else(|| DsigError::Malformed("SignedInfo".into()))?;
        let mut canon = Vec::new();
        c14n::canonicalize(&sdoc, si, C14nMethod::Exclusive, None, &[], &mut canon)?;
        let value = self.sign_raw(&canon)?;

        let signature = format!(
            concat!(
                "<ds:Signature xmlns:ds=\"{ns}\">{si}",
                "<ds:SignatureValue>{sv}</ds:SignatureValue>",
                "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate>",
                "</ds:X509Data></ds:KeyInfo></ds:Signature>"
            ),
            ns = DSIG_NS,
            si = signed_info,
            sv = B64.encode(&value),
            cert = B64.encode(&self.cert_der),
        );
        let mut out = String::with_capacity(xml.len() + signature.len());
        out.push_str(&xml[..insert_at]);
        out.push_str(&signature);
        out.push_str(&xml[insert_at..]);
        Ok(out)
    }
}

/// One `ds:Reference` written by [`signed_info`]: transforms (enveloped-signature when
/// `enveloped`, then exclusive C14N), SHA-256 digest.
#[derive(Debug, Clone, Copy)]
pub struct Reference<'a> {
    /// `Id` attribute, if any (XAdES `DataObjectFormat` points at it).
    pub id: Option<&'a str>,
    /// `URI` attribute: `""` for the whole document, `#id` for an element.
    pub uri: &'a str,
    /// `Type` attribute, if any (e.g. [`XADES_SIGNED_PROPERTIES_TYPE`](xmldsig::XADES_SIGNED_PROPERTIES_TYPE)).
    pub ty: Option<&'a str>,
    /// Whether the enveloped-signature transform comes first.
    pub enveloped: bool,
    /// The SHA-256 digest of the transformed data.
    pub digest: &'a [u8],
}

/// A `ds:SignedInfo` (prefix `ds`, declared by the enclosing `ds:Signature`) with exclusive
/// C14N, `signature_method` and `refs` in order. Attribute values are escaped.
pub fn signed_info(signature_method: &str, refs: &[Reference]) -> String {
    let mut out = format!(
        concat!(
            "<ds:SignedInfo>",
            "<ds:CanonicalizationMethod Algorithm=\"{c14n}\"/>",
            "<ds:SignatureMethod Algorithm=\"{sm}\"/>"
        ),
        c14n = c14n::EXC_C14N,
        sm = escape_attr(signature_method),
    );
    for r in refs {
        out.push_str("<ds:Reference");
        if let Some(id) = r.id {
            out.push_str(&format!(" Id=\"{}\"", escape_attr(id)));
        }
        out.push_str(&format!(" URI=\"{}\"", escape_attr(r.uri)));
        if let Some(ty) = r.ty {
            out.push_str(&format!(" Type=\"{}\"", escape_attr(ty)));
        }
        out.push_str("><ds:Transforms>");
        if r.enveloped {
            out.push_str(&format!(
                "<ds:Transform Algorithm=\"{ENVELOPED_SIGNATURE}\"/>"
            ));
        }
        out.push_str(&format!(
            concat!(
                "<ds:Transform Algorithm=\"{c14n}\"/></ds:Transforms>",
                "<ds:DigestMethod Algorithm=\"{dm}\"/>",
                "<ds:DigestValue>{dv}</ds:DigestValue></ds:Reference>"
            ),
            c14n = c14n::EXC_C14N,
            dm = SHA256_URI,
            dv = B64.encode(r.digest),
        ));
    }
    out.push_str("</ds:SignedInfo>");
    out
}

/// SHA-256 of the exclusive canonical form (no comments, no inclusive prefixes) of `node`
/// (the document node or an element of `doc`), leaving out the subtree of `exclude`.
pub fn exc_c14n_sha256(
    doc: &roxmltree::Document,
    node: roxmltree::Node,
    exclude: Option<roxmltree::NodeId>,
) -> Result<Vec<u8>, DsigError> {
    let mut canon = Vec::new();
    c14n::canonicalize(doc, node, C14nMethod::Exclusive, exclude, &[], &mut canon)?;
    Ok(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &canon)
            .as_ref()
            .to_vec(),
    )
}

/// Escapes text for an XML attribute value (double-quoted).
pub fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes XML character data.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}
