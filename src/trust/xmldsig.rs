//! Strict XML-DSig verification of enveloped signatures, as used by ETSI TS 119 612
//! trusted lists (LOTL and national TLs), with the XAdES `SignedProperties` reference
//! they carry.
//!
//! Owns: the document parsing policy for signed XML ([`parse_document`]: DTDs refused,
//! node limit), signature discovery and structural rules (exactly one `ds:Signature`,
//! child of the document element), reference resolution (whole document or XAdES
//! `SignedProperties` inside that signature only; unique Ids), transforms, digests,
//! `SignedInfo` canonicalization, signature-value verification (aws-lc-rs only) and
//! extraction of the XAdES signing time / signing-certificate digest.
//!
//! Also owns [`verify_element`]: the signature of one ID-referenced element that need not
//! be the document element (SAML `Response`/`Assertion`), verified with pinned keys only.
//!
//! Shared with `crate::validation::xades` (the one XML-DSig engine of the crate): the
//! parsing policy, the element/base64/text helpers, `InclusiveNamespaces` and
//! `xsd:dateTime` reading (`pub(crate)` items below).
//!
//! Must not touch: canonicalization internals (`crate::trust::c14n`), certificate path
//! validation, validity periods, revocation and trusted-list semantics (which signer
//! certificates are acceptable is the caller's `candidates`). This module answers only
//! "do these exact bytes carry a valid signature by this certificate".
//!
//! Signature-wrapping resistance: the whole-document reference is checked against the
//! document element the caller will read (same `roxmltree::Document`), every `#Id`
//! reference must resolve to exactly one element in the whole document, and any other
//! reference must resolve to a XAdES `SignedProperties` element inside the one
//! `ds:Signature`.

use std::collections::HashMap;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use der::Decode as _;
use roxmltree::{Document, Node};
use time::OffsetDateTime;

use crate::trust::c14n::{self, C14nError, C14nMethod};

/// The XML-DSig namespace.
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The enveloped-signature transform.
pub const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// The `Type` of a reference to XAdES `SignedProperties`.
pub const XADES_SIGNED_PROPERTIES_TYPE: &str = "http://uri.etsi.org/01903#SignedProperties";
/// Namespace-URI prefix shared by all XAdES versions (v1.1.1, v1.2.2, v1.3.2, v1.4.1).
const XADES_NS_PREFIX: &str = "http://uri.etsi.org/01903/";

const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#sha384";
const SHA512: &str = "http://www.w3.org/2001/04/xmlenc#sha512";

/// Default upper bound on the number of nodes of a parsed document (the largest real
/// national TL, FR, has well under 100k).
pub const DEFAULT_NODES_LIMIT: u32 = 2_000_000;

/// Verification policy knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DsigPolicy {
    /// Accept SHA-1 in `Reference/DigestMethod` and in `SignatureMethod`
    /// (`rsa-sha1`, `ecdsa-sha1`). Off by default. None of the real LOTL/TL samples
    /// (2017 pivots included) needs it: they use SHA-1 only in the XAdES
    /// `SigningCertificate/CertDigest`, which is an identification hint compared after
    /// the cryptographic verification and is computed regardless of this flag.
    pub allow_sha1: bool,
    /// Smallest accepted RSA modulus, in bits (values below 1024 act as 1024, the
    /// smallest aws-lc-rs verifies). Default [`DEFAULT_MIN_RSA_BITS`] = 1900 (the SOG-IS
    /// legacy threshold), which the real Norwegian TL needs (its TLSO key has 2032
    /// bits). The 2017 LOTL pivot 172 is signed with a 1024-bit key and needs an explicit
    /// `min_rsa_bits: 1024` ([`DsigPolicy::legacy_pivots`]).
    pub min_rsa_bits: u32,
}

/// Default [`DsigPolicy::min_rsa_bits`].
pub const DEFAULT_MIN_RSA_BITS: u32 = 1900;

impl Default for DsigPolicy {
    fn default() -> Self {
        Self {
            allow_sha1: false,
            min_rsa_bits: DEFAULT_MIN_RSA_BITS,
        }
    }
}

impl DsigPolicy {
    /// Policy for walking historical LOTL pivots: additionally accepts 1024-bit RSA keys
    /// (SHA-1 stays refused; no sample needs it).
    pub fn legacy_pivots() -> Self {
        Self {
            min_rsa_bits: 1024,
            ..Self::default()
        }
    }
}

/// The XAdES `SigningCertificate(V2)/Cert/CertDigest` of the verified signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningCertDigest {
    /// `ds:DigestMethod/@Algorithm`.
    pub algorithm: String,
    /// The decoded `ds:DigestValue`.
    pub digest: Vec<u8>,
    /// Whether it is the digest of `signer_cert`; `None` if the algorithm is unknown.
    pub matches_signer: Option<bool>,
}

/// A successfully verified enveloped signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// DER of the certificate whose public key verified `SignatureValue`.
    pub signer_cert: Vec<u8>,
    /// `SignatureMethod/@Algorithm`.
    pub signature_method: String,
    /// `SignedInfo/CanonicalizationMethod/@Algorithm`.
    pub c14n_method: String,
    /// XAdES `SigningTime`, if a signed `SignedProperties` carries one.
    pub signing_time: Option<OffsetDateTime>,
    /// XAdES signing-certificate digest (the `Cert` matching the signer if several).
    pub signing_certificate_digest: Option<SigningCertDigest>,
    /// Whether a XAdES `SignedProperties` was referenced and verified.
    pub has_xades: bool,
}

/// Verification failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsigError {
    /// The input is not acceptable XML (not UTF-8, malformed, DTD present, too large).
    #[error("XML parse error: {0}")]
    Parse(String),
    /// No `ds:Signature` element anywhere in the document.
    #[error("no ds:Signature element")]
    NoSignature,
    /// More than one `ds:Signature` element in the document (count given).
    #[error("expected exactly one ds:Signature, found {0}")]
    MultipleSignatures(usize),
    /// The single `ds:Signature` is not a child of the document element.
    #[error("ds:Signature is not a child of the document element")]
    MisplacedSignature,
    /// No reference covers the whole document with the enveloped-signature transform,
    /// or a reference points to something other than the document or the signature's
    /// own XAdES `SignedProperties`.
    #[error("signature does not cover the whole document: {0}")]
    PartialReference(String),
    /// A reference to `SignedProperties` has a missing or wrong `Type`.
    #[error(
        "reference {uri} to SignedProperties has Type {found:?}, expected {XADES_SIGNED_PROPERTIES_TYPE}"
    )]
    ReferenceType {
        /// The reference URI.
        uri: String,
        /// The `Type` found (`None` if absent).
        found: Option<String>,
    },
    /// An algorithm (transform, digest, canonicalization, signature, key type) that is
    /// not supported or not allowed by the policy.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// A recomputed reference digest differs from `DigestValue`.
    #[error("digest mismatch for reference URI {uri:?}")]
    DigestMismatch {
        /// The reference URI.
        uri: String,
    },
    /// No available key verifies `SignatureValue`.
    #[error("signature value does not verify")]
    InvalidSignatureValue,
    /// The signature verifies, but only with an RSA key smaller than the policy allows.
    #[error("signature verifies only with a {bits}-bit RSA key (policy minimum {min})")]
    WeakKey {
        /// Modulus size of the signer key.
        bits: u32,
        /// The policy minimum.
        min: u32,
    },
    /// The signature verifies with the KeyInfo certificate, but that certificate is not
    /// among the caller's candidates.
    #[error("signature verifies but the signer certificate is not an accepted one")]
    UnknownSigner {
        /// DER of the certificate that verified the signature.
        signer_cert: Vec<u8>,
    },
    /// Neither KeyInfo certificates nor candidates were available.
    #[error("no key to verify the signature with")]
    NoKey,
    /// An Id value occurs on more than one element.
    #[error("duplicate Id {0:?}")]
    DuplicateId(String),
    /// Structurally invalid signature.
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// Canonicalization failed.
    #[error("canonicalization failed: {0}")]
    C14n(#[from] C14nError),
}

/// Decodes raw bytes as UTF-8 XML text (a UTF-8 byte-order mark is skipped).
pub fn decode_utf8(bytes: &[u8]) -> Result<&str, DsigError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| DsigError::Parse(format!("not UTF-8: {e}")))
}

/// Parses XML with the signature-verification policy: DTDs (and so entities) refused,
/// at most [`DEFAULT_NODES_LIMIT`] nodes.
pub fn parse_document(text: &str) -> Result<Document<'_>, DsigError> {
    parse_document_with_limit(text, DEFAULT_NODES_LIMIT)
}

/// [`parse_document`] with an explicit node limit.
pub fn parse_document_with_limit(text: &str, nodes_limit: u32) -> Result<Document<'_>, DsigError> {
    let opt = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit,
        ..Default::default()
    };
    Document::parse_with_options(text, opt).map_err(|e| DsigError::Parse(e.to_string()))
}

pub(crate) fn malformed(msg: impl Into<String>) -> DsigError {
    DsigError::Malformed(msg.into())
}

pub(crate) fn is_ds(n: &Node, local: &str) -> bool {
    n.is_element() && n.tag_name().namespace() == Some(DSIG_NS) && n.tag_name().name() == local
}

pub(crate) fn element_children<'a, 'i>(n: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(|c| c.is_element())
}

/// Takes the next element child, requiring it to be `ds:<local>`.
pub(crate) fn expect_ds<'a, 'i>(
    it: &mut std::iter::Peekable<impl Iterator<Item = Node<'a, 'i>>>,
    local: &str,
    parent: &str,
) -> Result<Node<'a, 'i>, DsigError> {
    match it.next() {
        Some(n) if is_ds(&n, local) => Ok(n),
        Some(n) => Err(malformed(format!(
            "{parent}: expected ds:{local}, found {}",
            n.tag_name().name()
        ))),
        None => Err(malformed(format!("{parent}: missing ds:{local}"))),
    }
}

pub(crate) fn algorithm_attr<'a>(n: Node<'a, '_>) -> Result<&'a str, DsigError> {
    n.attribute("Algorithm")
        .ok_or_else(|| malformed(format!("{} without Algorithm", n.tag_name().name())))
}

pub(crate) fn b64_decode(s: &str) -> Result<Vec<u8>, DsigError> {
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    ENGINE
        .decode(compact)
        .map_err(|e| malformed(format!("invalid base64: {e}")))
}

/// Concatenated text children of a value element (`DigestValue`, `SignatureValue`,
/// `X509Certificate`, `SigningTime`); element content is refused.
pub(crate) fn text_of(n: Node) -> Result<String, DsigError> {
    if element_children(n).next().is_some() {
        return Err(malformed(format!(
            "unexpected element content in {}",
            n.tag_name().name()
        )));
    }
    Ok(n.children()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect())
}

#[derive(Clone, Copy)]
enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn from_digest_uri(uri: &str) -> Option<Self> {
        match uri {
            SHA1 => Some(Self::Sha1),
            SHA256 => Some(Self::Sha256),
            SHA384 => Some(Self::Sha384),
            SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    fn algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        }
    }
}

fn policy_digest(uri: &str, policy: &DsigPolicy) -> Result<Hash, DsigError> {
    match Hash::from_digest_uri(uri) {
        Some(Hash::Sha1) if !policy.allow_sha1 => Err(DsigError::UnsupportedAlgorithm(format!(
            "{uri} (SHA-1 not allowed by policy)"
        ))),
        Some(h) => Ok(h),
        None => Err(DsigError::UnsupportedAlgorithm(uri.to_string())),
    }
}

#[derive(Clone, Copy)]
enum SigAlg {
    RsaPkcs1(Hash),
    RsaPss(Hash),
    Ecdsa(Hash),
}

impl SigAlg {
    fn from_uri(uri: &str, policy: &DsigPolicy) -> Result<Self, DsigError> {
        const MORE: &str = "http://www.w3.org/2001/04/xmldsig-more#";
        const MORE07: &str = "http://www.w3.org/2007/05/xmldsig-more#";
        let alg = if uri == "http://www.w3.org/2000/09/xmldsig#rsa-sha1" {
            Self::RsaPkcs1(Hash::Sha1)
        } else if let Some(frag) = uri.strip_prefix(MORE) {
            match frag {
                "rsa-sha256" => Self::RsaPkcs1(Hash::Sha256),
                "rsa-sha384" => Self::RsaPkcs1(Hash::Sha384),
                "rsa-sha512" => Self::RsaPkcs1(Hash::Sha512),
                "ecdsa-sha1" => Self::Ecdsa(Hash::Sha1),
                "ecdsa-sha256" => Self::Ecdsa(Hash::Sha256),
                "ecdsa-sha384" => Self::Ecdsa(Hash::Sha384),
                "ecdsa-sha512" => Self::Ecdsa(Hash::Sha512),
                _ => return Err(DsigError::UnsupportedAlgorithm(uri.to_string())),
            }
        } else if let Some(frag) = uri.strip_prefix(MORE07) {
            // RFC 6931 RSASSA-PSS with MGF1 of the same hash and default salt length.
            match frag {
                "sha256-rsa-MGF1" => Self::RsaPss(Hash::Sha256),
                "sha384-rsa-MGF1" => Self::RsaPss(Hash::Sha384),
                "sha512-rsa-MGF1" => Self::RsaPss(Hash::Sha512),
                _ => return Err(DsigError::UnsupportedAlgorithm(uri.to_string())),
            }
        } else {
            return Err(DsigError::UnsupportedAlgorithm(uri.to_string()));
        };
        let hash = match alg {
            Self::RsaPkcs1(h) | Self::RsaPss(h) | Self::Ecdsa(h) => h,
        };
        if matches!(hash, Hash::Sha1) && !policy.allow_sha1 {
            return Err(DsigError::UnsupportedAlgorithm(format!(
                "{uri} (SHA-1 not allowed by policy)"
            )));
        }
        Ok(alg)
    }
}

const OID_RSA: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_PSS: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_EC: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// Encodes a non-negative big-endian integer as a DER INTEGER.
fn der_uint(out: &mut Vec<u8>, mut v: &[u8]) {
    while v.len() > 1 && v[0] == 0 {
        v = &v[1..];
    }
    let pad = v.first().is_some_and(|b| b & 0x80 != 0);
    out.push(0x02);
    out.push((v.len() + usize::from(pad)) as u8);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(v);
}

/// Converts an XML-DSig ECDSA value (`r || s`, each `field_len` bytes) to DER.
fn ecdsa_raw_to_der(sig: &[u8], field_len: usize) -> Option<Vec<u8>> {
    if sig.len() != 2 * field_len {
        return None;
    }
    let (r, s) = sig.split_at(field_len);
    let mut body = Vec::with_capacity(sig.len() + 8);
    der_uint(&mut body, r);
    der_uint(&mut body, s);
    let mut out = Vec::with_capacity(body.len() + 3);
    out.push(0x30);
    if body.len() < 0x80 {
        out.push(body.len() as u8);
    } else {
        out.push(0x81);
        out.push(body.len() as u8);
    }
    out.extend_from_slice(&body);
    Some(out)
}

/// Result of trying one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyOutcome {
    Valid,
    Invalid,
    /// Would verify, but the RSA key is below the policy minimum.
    TooWeak(u32),
}

/// Verifies `sig` over `msg` with the public key of `cert_der` (any mismatch — wrong
/// key type, unparsable key, bad signature — is `Invalid`).
fn verify_with_cert(
    cert_der: &[u8],
    alg: SigAlg,
    msg: &[u8],
    sig: &[u8],
    policy: &DsigPolicy,
) -> KeyOutcome {
    let Ok(cert) = x509_cert::Certificate::from_der(cert_der) else {
        return KeyOutcome::Invalid;
    };
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let Some(key) = spki.subject_public_key.as_bytes() else {
        return KeyOutcome::Invalid;
    };
    let key_oid = spki.algorithm.oid;
    let check = |a: &'static dyn VerificationAlgorithm, sig: &[u8]| {
        if UnparsedPublicKey::new(a, key).verify(msg, sig).is_ok() {
            KeyOutcome::Valid
        } else {
            KeyOutcome::Invalid
        }
    };
    let rsa_bits = || signature::RsaParameters::public_modulus_len(key).unwrap_or(0);
    match alg {
        SigAlg::RsaPkcs1(h) => {
            if key_oid != OID_RSA {
                return KeyOutcome::Invalid;
            }
            let bits = rsa_bits();
            let legacy = bits < 2048;
            let a: &'static dyn VerificationAlgorithm = match (h, legacy) {
                (Hash::Sha1, false) => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                (Hash::Sha256, false) => &signature::RSA_PKCS1_2048_8192_SHA256,
                (Hash::Sha384, false) => &signature::RSA_PKCS1_2048_8192_SHA384,
                (Hash::Sha512, false) => &signature::RSA_PKCS1_2048_8192_SHA512,
                (Hash::Sha1, true) => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
                (Hash::Sha256, true) => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                (Hash::Sha512, true) => &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
                (Hash::Sha384, true) => return KeyOutcome::Invalid,
            };
            match check(a, sig) {
                KeyOutcome::Valid if bits < policy.min_rsa_bits => KeyOutcome::TooWeak(bits),
                other => other,
            }
        }
        SigAlg::RsaPss(h) => {
            if key_oid != OID_RSA && key_oid != OID_RSA_PSS {
                return KeyOutcome::Invalid;
            }
            let a: &'static dyn VerificationAlgorithm = match h {
                Hash::Sha1 => return KeyOutcome::Invalid,
                Hash::Sha256 => &signature::RSA_PSS_2048_8192_SHA256,
                Hash::Sha384 => &signature::RSA_PSS_2048_8192_SHA384,
                Hash::Sha512 => &signature::RSA_PSS_2048_8192_SHA512,
            };
            check(a, sig)
        }
        SigAlg::Ecdsa(h) => {
            if key_oid != OID_EC {
                return KeyOutcome::Invalid;
            }
            let Some(curve) = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
            else {
                return KeyOutcome::Invalid;
            };
            let (field_len, a): (usize, &'static dyn VerificationAlgorithm) =
                match (curve == OID_P256, curve == OID_P384, h) {
                    (true, _, Hash::Sha1) => (32, &signature::ECDSA_P256_SHA1_ASN1),
                    (true, _, Hash::Sha256) => (32, &signature::ECDSA_P256_SHA256_ASN1),
                    (true, _, Hash::Sha384) => (32, &signature::ECDSA_P256_SHA384_ASN1),
                    (true, _, Hash::Sha512) => (32, &signature::ECDSA_P256_SHA512_ASN1),
                    (_, true, Hash::Sha256) => (48, &signature::ECDSA_P384_SHA256_ASN1),
                    (_, true, Hash::Sha384) => (48, &signature::ECDSA_P384_SHA384_ASN1),
                    (_, true, Hash::Sha512) => (48, &signature::ECDSA_P384_SHA512_ASN1),
                    _ => return KeyOutcome::Invalid,
                };
            match ecdsa_raw_to_der(sig, field_len) {
                Some(der_sig) => check(a, &der_sig),
                None => KeyOutcome::Invalid,
            }
        }
    }
}

/// Tries each certificate in order; returns the first that verifies.
fn find_signer<'c>(
    certs: impl IntoIterator<Item = &'c [u8]>,
    alg: SigAlg,
    msg: &[u8],
    sig: &[u8],
    policy: &DsigPolicy,
) -> Result<&'c [u8], DsigError> {
    let mut weak = None;
    for c in certs {
        match verify_with_cert(c, alg, msg, sig, policy) {
            KeyOutcome::Valid => return Ok(c),
            KeyOutcome::TooWeak(bits) => weak = Some(bits),
            KeyOutcome::Invalid => {}
        }
    }
    Err(match weak {
        Some(bits) => DsigError::WeakKey {
            bits,
            min: policy.min_rsa_bits,
        },
        None => DsigError::InvalidSignatureValue,
    })
}

/// One parsed `ds:Transforms` chain.
struct Transforms<'a> {
    enveloped: bool,
    c14n: Option<(C14nMethod, Vec<&'a str>)>,
}

pub(crate) fn inclusive_prefixes<'a>(method_elem: Node<'a, '_>) -> Result<Vec<&'a str>, DsigError> {
    let mut out = Vec::new();
    for child in element_children(method_elem) {
        if child.tag_name().name() == "InclusiveNamespaces"
            && child.tag_name().namespace() == Some(c14n::EXC_C14N)
        {
            let list = child
                .attribute("PrefixList")
                .ok_or_else(|| malformed("InclusiveNamespaces without PrefixList"))?;
            out.extend(list.split_ascii_whitespace());
        } else {
            return Err(malformed(format!(
                "unexpected element {} in {}",
                child.tag_name().name(),
                method_elem.tag_name().name()
            )));
        }
    }
    Ok(out)
}

fn parse_transforms<'a>(transforms: Option<Node<'a, '_>>) -> Result<Transforms<'a>, DsigError> {
    let mut t = Transforms {
        enveloped: false,
        c14n: None,
    };
    let Some(transforms) = transforms else {
        return Ok(t);
    };
    for tr in element_children(transforms) {
        if !is_ds(&tr, "Transform") {
            return Err(malformed("non-Transform element in ds:Transforms"));
        }
        let alg = algorithm_attr(tr)?;
        if t.c14n.is_some() {
            return Err(malformed("transform after the canonicalization transform"));
        }
        if alg == ENVELOPED_SIGNATURE {
            if t.enveloped {
                return Err(malformed("repeated enveloped-signature transform"));
            }
            if element_children(tr).next().is_some() {
                return Err(malformed("enveloped-signature transform with content"));
            }
            t.enveloped = true;
        } else if let Some(m) = C14nMethod::from_uri(alg) {
            let prefixes = if m.is_exclusive() {
                inclusive_prefixes(tr)?
            } else {
                if element_children(tr).next().is_some() {
                    return Err(malformed("inclusive c14n transform with content"));
                }
                Vec::new()
            };
            t.c14n = Some((m, prefixes));
        } else {
            return Err(DsigError::UnsupportedAlgorithm(alg.to_string()));
        }
    }
    Ok(t)
}

enum Target<'a, 'i> {
    /// The whole document (`URI=""`: the document node; `#id` of the document element:
    /// that element).
    Document(Node<'a, 'i>),
    /// A XAdES `SignedProperties` inside the signature.
    SignedProperties(Node<'a, 'i>),
}

struct Reference<'a, 'i> {
    uri: &'a str,
    target: Target<'a, 'i>,
    transforms: Transforms<'a>,
    digest_method: &'a str,
    digest_value: Vec<u8>,
}

/// Collects every `Id`-like attribute value (`Id`, `ID`, `id`, `xml:id`) and rejects
/// duplicates across elements, so that no resolver (ours or the caller's) can be steered
/// to a different element than the one verified.
fn id_index<'a, 'i>(doc: &'a Document<'i>) -> Result<HashMap<&'a str, Node<'a, 'i>>, DsigError> {
    const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
    let mut map: HashMap<&'a str, Node<'a, 'i>> = HashMap::new();
    for n in doc.descendants().filter(|n| n.is_element()) {
        for a in n.attributes() {
            let id_like = match a.namespace() {
                None => matches!(a.name(), "Id" | "ID" | "id"),
                Some(ns) => ns == XML_NS && a.name() == "id",
            };
            if !id_like {
                continue;
            }
            match map.get(a.value()) {
                Some(prev) if prev.id() != n.id() => {
                    return Err(DsigError::DuplicateId(a.value().to_string()));
                }
                Some(_) => {}
                None => {
                    map.insert(a.value(), n);
                }
            }
        }
    }
    Ok(map)
}

/// A `ds:Reference`'s URI, DigestMethod algorithm, DigestValue and transforms, in the
/// schema's order with nothing after the DigestValue.
fn reference_parts<'a>(
    r: Node<'a, '_>,
) -> Result<(&'a str, &'a str, Vec<u8>, Transforms<'a>), DsigError> {
    let uri = r
        .attribute("URI")
        .ok_or_else(|| DsigError::PartialReference("Reference without URI".into()))?;
    let mut it = element_children(r).peekable();
    let transforms = match it.peek() {
        Some(n) if is_ds(n, "Transforms") => it.next(),
        _ => None,
    };
    let digest_method = algorithm_attr(expect_ds(&mut it, "DigestMethod", "Reference")?)?;
    let digest_value = b64_decode(&text_of(expect_ds(&mut it, "DigestValue", "Reference")?)?)?;
    if it.next().is_some() {
        return Err(malformed("unexpected element after ds:DigestValue"));
    }
    Ok((
        uri,
        digest_method,
        digest_value,
        parse_transforms(transforms)?,
    ))
}

fn resolve_reference<'a, 'i>(
    r: Node<'a, 'i>,
    doc: &'a Document<'i>,
    sig: Node<'a, 'i>,
    ids: &HashMap<&'a str, Node<'a, 'i>>,
) -> Result<Reference<'a, 'i>, DsigError> {
    let (uri, digest_method, digest_value, transforms) = reference_parts(r)?;

    let root = doc.root_element();
    let target = if uri.is_empty() {
        Target::Document(doc.root())
    } else if let Some(id) = uri.strip_prefix('#') {
        if id.is_empty() || id.starts_with("xpointer(") {
            return Err(DsigError::PartialReference(format!(
                "unsupported same-document URI {uri:?}"
            )));
        }
        let node = *ids
            .get(id)
            .ok_or_else(|| malformed(format!("reference {uri:?} does not resolve")))?;
        if node.id() == root.id() {
            Target::Document(node)
        } else if node.tag_name().name() == "SignedProperties"
            && node
                .tag_name()
                .namespace()
                .is_some_and(|ns| ns.starts_with(XADES_NS_PREFIX))
            && node.ancestors().any(|a| a.id() == sig.id())
        {
            Target::SignedProperties(node)
        } else {
            return Err(DsigError::PartialReference(format!(
                "reference {uri:?} points to {} which is neither the document element nor this signature's SignedProperties",
                node.tag_name().name()
            )));
        }
    } else {
        return Err(DsigError::PartialReference(format!(
            "external or unsupported reference URI {uri:?}"
        )));
    };

    match target {
        Target::Document(_) => {
            if !transforms.enveloped {
                return Err(DsigError::PartialReference(format!(
                    "whole-document reference {uri:?} lacks the enveloped-signature transform"
                )));
            }
        }
        Target::SignedProperties(_) => {
            let ty = r.attribute("Type");
            if ty != Some(XADES_SIGNED_PROPERTIES_TYPE) {
                return Err(DsigError::ReferenceType {
                    uri: uri.to_string(),
                    found: ty.map(str::to_string),
                });
            }
            if transforms.enveloped {
                return Err(malformed(
                    "enveloped-signature transform on the SignedProperties reference",
                ));
            }
        }
    }
    Ok(Reference {
        uri,
        target,
        transforms,
        digest_method,
        digest_value,
    })
}

/// Verifies the one enveloped XML-DSig signature of a trusted list (or any document
/// following the same profile) — see the module documentation for the rules.
///
/// `candidates` are DER certificates. If KeyInfo carries `X509Certificate`s, the one
/// whose key verifies the signature is the signer; when `candidates` is non-empty the
/// signer must also be one of them (byte-equal DER), else [`DsigError::UnknownSigner`].
/// Without KeyInfo certificates each candidate is tried.
pub fn verify_enveloped(
    doc: &Document,
    candidates: &[&[u8]],
    policy: &DsigPolicy,
) -> Result<VerifiedSignature, DsigError> {
    let root = doc.root_element();

    // Exactly one ds:Signature in the whole document, child of the document element.
    let mut sigs = doc.descendants().filter(|n| is_ds(n, "Signature"));
    let sig = sigs.next().ok_or(DsigError::NoSignature)?;
    let extra = sigs.count();
    if extra > 0 {
        return Err(DsigError::MultipleSignatures(extra + 1));
    }
    if sig.parent().map(|p| p.id()) != Some(root.id()) {
        return Err(DsigError::MisplacedSignature);
    }

    let ids = id_index(doc)?;

    // ds:Signature = SignedInfo, SignatureValue, KeyInfo?, Object*
    let mut it = element_children(sig).peekable();
    let signed_info = expect_ds(&mut it, "SignedInfo", "Signature")?;
    let signature_value = expect_ds(&mut it, "SignatureValue", "Signature")?;
    let key_info = match it.peek() {
        Some(n) if is_ds(n, "KeyInfo") => it.next(),
        _ => None,
    };
    for rest in it {
        if !is_ds(&rest, "Object") {
            return Err(malformed(format!(
                "unexpected element {} in ds:Signature",
                rest.tag_name().name()
            )));
        }
    }

    // ds:SignedInfo = CanonicalizationMethod, SignatureMethod, Reference+
    let mut si = element_children(signed_info).peekable();
    let c14n_elem = expect_ds(&mut si, "CanonicalizationMethod", "SignedInfo")?;
    let c14n_uri = algorithm_attr(c14n_elem)?;
    let si_method = C14nMethod::from_uri(c14n_uri)
        .ok_or_else(|| DsigError::UnsupportedAlgorithm(c14n_uri.to_string()))?;
    let si_prefixes = if si_method.is_exclusive() {
        inclusive_prefixes(c14n_elem)?
    } else {
        Vec::new()
    };
    let sm_elem = expect_ds(&mut si, "SignatureMethod", "SignedInfo")?;
    let sig_uri = algorithm_attr(sm_elem)?;
    if element_children(sm_elem).next().is_some() {
        return Err(malformed("parameters in SignatureMethod are not supported"));
    }
    let sig_alg = SigAlg::from_uri(sig_uri, policy)?;
    let mut refs = Vec::new();
    for r in si {
        if !is_ds(&r, "Reference") {
            return Err(malformed(format!(
                "unexpected element {} in ds:SignedInfo",
                r.tag_name().name()
            )));
        }
        refs.push(resolve_reference(r, doc, sig, &ids)?);
    }

    let doc_refs = refs
        .iter()
        .filter(|r| matches!(r.target, Target::Document(_)))
        .count();
    if doc_refs == 0 {
        return Err(DsigError::PartialReference(
            "no reference covers the whole document".into(),
        ));
    }
    if doc_refs > 1 {
        return Err(malformed("more than one whole-document reference"));
    }
    let sp_refs: Vec<Node> = refs
        .iter()
        .filter_map(|r| match r.target {
            Target::SignedProperties(n) => Some(n),
            Target::Document(_) => None,
        })
        .collect();
    if sp_refs.len() > 1 {
        return Err(malformed("more than one SignedProperties reference"));
    }

    // Recompute every reference digest. Same-document URIs ("" and "#id") exclude
    // comments from the node-set, whatever the canonicalization transform says.
    let mut buf = Vec::with_capacity(doc.input_text().len());
    for r in &refs {
        let hash = policy_digest(r.digest_method, policy)?;
        let (method, prefixes): (C14nMethod, &[&str]) = match &r.transforms.c14n {
            Some((m, p)) => (m.without_comments(), p.as_slice()),
            None => (C14nMethod::Inclusive, &[]),
        };
        let node = match r.target {
            Target::Document(n) | Target::SignedProperties(n) => n,
        };
        let exclude = r.transforms.enveloped.then(|| sig.id());
        buf.clear();
        c14n::canonicalize(doc, node, method, exclude, prefixes, &mut buf)?;
        let got = digest::digest(hash.algorithm(), &buf);
        if got.as_ref() != r.digest_value.as_slice() {
            return Err(DsigError::DigestMismatch {
                uri: r.uri.to_string(),
            });
        }
    }

    // Canonicalize SignedInfo and verify SignatureValue.
    buf.clear();
    c14n::canonicalize(doc, signed_info, si_method, None, &si_prefixes, &mut buf)?;
    let sig_bytes = b64_decode(&text_of(signature_value)?)?;

    let key_info_certs = match key_info {
        Some(ki) => ki
            .descendants()
            .filter(|n| is_ds(n, "X509Certificate"))
            .map(|n| b64_decode(&text_of(n)?))
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let signer_cert: Vec<u8> = if !key_info_certs.is_empty() {
        let signer = find_signer(
            key_info_certs.iter().map(Vec::as_slice),
            sig_alg,
            &buf,
            &sig_bytes,
            policy,
        )?
        .to_vec();
        if !candidates.is_empty() && !candidates.contains(&signer.as_slice()) {
            return Err(DsigError::UnknownSigner {
                signer_cert: signer,
            });
        }
        signer
    } else if candidates.is_empty() {
        return Err(DsigError::NoKey);
    } else {
        find_signer(
            candidates.iter().copied(),
            sig_alg,
            &buf,
            &sig_bytes,
            policy,
        )?
        .to_vec()
    };

    let (signing_time, signing_certificate_digest) = match sp_refs.first() {
        Some(sp) => xades_properties(*sp, &signer_cert)?,
        None => (None, None),
    };

    Ok(VerifiedSignature {
        signer_cert,
        signature_method: sig_uri.to_string(),
        c14n_method: c14n_uri.to_string(),
        signing_time,
        signing_certificate_digest,
        has_xades: !sp_refs.is_empty(),
    })
}

/// Whether `n` is a `ds:Signature` element.
pub(crate) fn is_ds_signature_element(n: &Node) -> bool {
    is_ds(n, "Signature")
}

/// The SAML-profile verification policy: SHA-1 refused, RSA keys of at least 2048 bits.
pub fn saml_policy() -> DsigPolicy {
    DsigPolicy {
        allow_sha1: false,
        min_rsa_bits: 2048,
    }
}

/// Verifies the enveloped signature of one element `elem` that is referenced by its `ID`
/// (a SAML `Response` or `Assertion`, signed metadata), which need not be the document
/// element.
///
/// Rules (the structural signature-wrapping defence; the caller must then read only from
/// `elem`, a node of the same `doc`):
/// - `elem` has exactly one `ds:Signature` child ([`DsigError::NoSignature`],
///   [`DsigError::MultipleSignatures`] for an element signed twice);
/// - every `ID`/`Id`/`id`/`xml:id` value is unique in the whole document;
/// - `SignedInfo` has exactly one `Reference`, with `URI="#"` + `elem`'s `ID` (or `Id`)
///   value, and transforms exactly enveloped-signature then exclusive C14N (optionally
///   with `InclusiveNamespaces`); `CanonicalizationMethod` is exclusive C14N;
/// - digest and signature algorithms from the policy's allow-list;
/// - the key is one of `pinned` (DER certificates); `KeyInfo` is never used to find a key.
///
/// Returns the verified signature (with `signer_cert` = the pinned certificate that
/// verified it).
pub fn verify_element<'a, 'i>(
    doc: &'a Document<'i>,
    elem: Node<'a, 'i>,
    pinned: &[&[u8]],
    policy: &DsigPolicy,
) -> Result<VerifiedSignature, DsigError> {
    if !elem.is_element() {
        return Err(malformed("signed node is not an element"));
    }
    let mut sigs = element_children(elem).filter(|n| is_ds(n, "Signature"));
    let sig = sigs.next().ok_or(DsigError::NoSignature)?;
    let extra = sigs.count();
    if extra > 0 {
        return Err(DsigError::MultipleSignatures(extra + 1));
    }
    let elem_id = elem
        .attribute("ID")
        .or_else(|| elem.attribute("Id"))
        .ok_or_else(|| DsigError::PartialReference("signed element has no ID".into()))?;
    let ids = id_index(doc)?;
    if ids.get(elem_id).map(|n| n.id()) != Some(elem.id()) {
        return Err(DsigError::DuplicateId(elem_id.to_string()));
    }

    // ds:Signature = SignedInfo, SignatureValue, KeyInfo? (no Object in this profile)
    let mut it = element_children(sig).peekable();
    let signed_info = expect_ds(&mut it, "SignedInfo", "Signature")?;
    let signature_value = expect_ds(&mut it, "SignatureValue", "Signature")?;
    if let Some(n) = it.peek()
        && is_ds(n, "KeyInfo")
    {
        it.next();
    }
    if let Some(rest) = it.next() {
        return Err(malformed(format!(
            "unexpected element {} in ds:Signature",
            rest.tag_name().name()
        )));
    }

    let mut si = element_children(signed_info).peekable();
    let c14n_elem = expect_ds(&mut si, "CanonicalizationMethod", "SignedInfo")?;
    let c14n_uri = algorithm_attr(c14n_elem)?;
    if c14n_uri != c14n::EXC_C14N {
        return Err(DsigError::UnsupportedAlgorithm(format!(
            "{c14n_uri} (SignedInfo must use exclusive C14N)"
        )));
    }
    let si_prefixes = inclusive_prefixes(c14n_elem)?;
    let sm_elem = expect_ds(&mut si, "SignatureMethod", "SignedInfo")?;
    let sig_uri = algorithm_attr(sm_elem)?;
    if element_children(sm_elem).next().is_some() {
        return Err(malformed("parameters in SignatureMethod are not supported"));
    }
    let sig_alg = SigAlg::from_uri(sig_uri, policy)?;
    let reference = expect_ds(&mut si, "Reference", "SignedInfo")?;
    if si.next().is_some() {
        return Err(DsigError::PartialReference(
            "SignedInfo must hold exactly one Reference".into(),
        ));
    }
    let (uri, digest_method, digest_value, transforms) = reference_parts(reference)?;
    if uri.strip_prefix('#') != Some(elem_id) {
        return Err(DsigError::PartialReference(format!(
            "Reference URI {uri:?} is not #{elem_id}"
        )));
    }
    if !transforms.enveloped {
        return Err(DsigError::PartialReference(
            "reference lacks the enveloped-signature transform".into(),
        ));
    }
    let prefixes = match &transforms.c14n {
        Some((C14nMethod::Exclusive, p)) => p.as_slice(),
        _ => {
            return Err(DsigError::UnsupportedAlgorithm(
                "reference transforms must end with exclusive C14N".into(),
            ));
        }
    };
    let hash = policy_digest(digest_method, policy)?;
    let mut buf = Vec::with_capacity(elem.range().len());
    c14n::canonicalize(
        doc,
        elem,
        C14nMethod::Exclusive,
        Some(sig.id()),
        prefixes,
        &mut buf,
    )?;
    if digest::digest(hash.algorithm(), &buf).as_ref() != digest_value.as_slice() {
        return Err(DsigError::DigestMismatch {
            uri: uri.to_string(),
        });
    }

    buf.clear();
    c14n::canonicalize(
        doc,
        signed_info,
        C14nMethod::Exclusive,
        None,
        &si_prefixes,
        &mut buf,
    )?;
    let sig_bytes = b64_decode(&text_of(signature_value)?)?;
    if pinned.is_empty() {
        return Err(DsigError::NoKey);
    }
    let signer_cert = find_signer(pinned.iter().copied(), sig_alg, &buf, &sig_bytes, policy)?;
    Ok(VerifiedSignature {
        signer_cert: signer_cert.to_vec(),
        signature_method: sig_uri.to_string(),
        c14n_method: c14n_uri.to_string(),
        signing_time: None,
        signing_certificate_digest: None,
        has_xades: false,
    })
}

fn xades_child<'a, 'i>(n: Node<'a, 'i>, ns: Option<&str>, local: &str) -> Option<Node<'a, 'i>> {
    element_children(n).find(|c| c.tag_name().name() == local && c.tag_name().namespace() == ns)
}

pub(crate) fn parse_xsd_datetime(s: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    // xsd:dateTime without a zone designator: read as UTC.
    let zoned = format!("{s}Z");
    OffsetDateTime::parse(&zoned, &Rfc3339).ok()
}

/// Reads SigningTime and the signing-certificate digest from a verified SignedProperties.
#[allow(clippy::type_complexity)]
fn xades_properties(
    sp: Node,
    signer_cert: &[u8],
) -> Result<(Option<OffsetDateTime>, Option<SigningCertDigest>), DsigError> {
    let ns = sp.tag_name().namespace();
    let Some(ssp) = xades_child(sp, ns, "SignedSignatureProperties") else {
        return Ok((None, None));
    };
    let signing_time = match xades_child(ssp, ns, "SigningTime") {
        Some(t) => Some(
            parse_xsd_datetime(&text_of(t)?)
                .ok_or_else(|| malformed("unparseable xades:SigningTime"))?,
        ),
        None => None,
    };
    let sc = xades_child(ssp, ns, "SigningCertificateV2")
        .or_else(|| xades_child(ssp, ns, "SigningCertificate"));
    let mut best: Option<SigningCertDigest> = None;
    if let Some(sc) = sc {
        for cert in element_children(sc).filter(|c| c.tag_name().name() == "Cert") {
            let Some(cd) = xades_child(cert, ns, "CertDigest") else {
                continue;
            };
            let mut it = element_children(cd).peekable();
            let alg = algorithm_attr(expect_ds(&mut it, "DigestMethod", "CertDigest")?)?;
            let value = b64_decode(&text_of(expect_ds(&mut it, "DigestValue", "CertDigest")?)?)?;
            // Identification only (the key was verified above), so SHA-1 is computed
            // here regardless of the policy.
            let matches_signer = Hash::from_digest_uri(alg)
                .map(|h| digest::digest(h.algorithm(), signer_cert).as_ref() == value.as_slice());
            let entry = SigningCertDigest {
                algorithm: alg.to_string(),
                digest: value,
                matches_signer,
            };
            if matches_signer == Some(true) {
                best = Some(entry);
                break;
            }
            if best.is_none() {
                best = Some(entry);
            }
        }
    }
    Ok((signing_time, best))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_raw_conversion() {
        let mut sig = vec![0u8; 64];
        sig[0] = 0x80; // r needs a leading zero
        sig[63] = 1; // s = 1
        let der = ecdsa_raw_to_der(&sig, 32).unwrap();
        assert_eq!(der[0], 0x30);
        assert_eq!(&der[2..5], &[0x02, 33, 0x00]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 1, 1]);
        assert!(ecdsa_raw_to_der(&sig, 48).is_none());
    }

    #[test]
    fn xsd_datetime() {
        assert!(parse_xsd_datetime("2019-09-04T09:42:21Z").is_some());
        assert!(parse_xsd_datetime("2019-09-04T09:42:21.123+02:00").is_some());
        assert!(parse_xsd_datetime("2019-09-04T09:42:21").is_some());
        assert!(parse_xsd_datetime("yesterday").is_none());
    }

    #[test]
    fn dtd_refused() {
        let xml = "<!DOCTYPE r [<!ENTITY e \"x\">]><r>&e;</r>";
        assert!(matches!(parse_document(xml), Err(DsigError::Parse(_))));
    }
}
