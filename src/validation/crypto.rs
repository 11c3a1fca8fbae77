//! Digest and signature-value primitives for validation, on the one crypto backend
//! (aws-lc-rs).
//!
//! Owns: mapping algorithm identifiers (OIDs of RFC 3279/4055/5480/5758/8410 and BSI
//! TR-03111 plain-ECDSA) to aws-lc-rs verification algorithms, digests (one-shot and
//! streaming), public-key sizes, and [`verify`]: "does this signature value over these
//! bytes verify with this SubjectPublicKeyInfo".
//! Must not touch: policy decisions (whether SHA-1 or a 1024-bit key is acceptable at a
//! given time is `policy`'s call: this module verifies what it can and reports the
//! algorithms used), certificates, CMS or XML structure.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use der::Decode as _;
use der::Tagged as _;
use der::asn1::AnyRef;
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};

use super::evidence::Algorithms;

/// Why a signature value could not be verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The algorithm (or the combination of key and algorithm) is not supported.
    #[error("unsupported algorithm: {0}")]
    Unsupported(String),
    /// The public key could not be read.
    #[error("malformed public key: {0}")]
    BadKey(String),
    /// The key type does not fit the signature algorithm.
    #[error("key type {key} does not match signature algorithm {alg}")]
    KeyMismatch {
        /// Key type.
        key: String,
        /// Signature algorithm.
        alg: String,
    },
    /// The signature value does not verify.
    #[error("the signature value does not verify with the public key")]
    Invalid,
}

/// Digest algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlg {
    /// SHA-1 (legacy).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// SHA3-256.
    Sha3_256,
    /// SHA3-384.
    Sha3_384,
    /// SHA3-512.
    Sha3_512,
}

/// OIDs.
pub mod oid {
    use const_oid::ObjectIdentifier as O;
    /// sha1.
    pub const SHA1: O = O::new_unwrap("1.3.14.3.2.26");
    /// sha224.
    pub const SHA224: O = O::new_unwrap("2.16.840.1.101.3.4.2.4");
    /// sha256.
    pub const SHA256: O = O::new_unwrap("2.16.840.1.101.3.4.2.1");
    /// sha384.
    pub const SHA384: O = O::new_unwrap("2.16.840.1.101.3.4.2.2");
    /// sha512.
    pub const SHA512: O = O::new_unwrap("2.16.840.1.101.3.4.2.3");
    /// sha3-256.
    pub const SHA3_256: O = O::new_unwrap("2.16.840.1.101.3.4.2.8");
    /// sha3-384.
    pub const SHA3_384: O = O::new_unwrap("2.16.840.1.101.3.4.2.9");
    /// sha3-512.
    pub const SHA3_512: O = O::new_unwrap("2.16.840.1.101.3.4.2.10");
    /// rsaEncryption.
    pub const RSA: O = O::new_unwrap("1.2.840.113549.1.1.1");
    /// sha1WithRSAEncryption.
    pub const RSA_SHA1: O = O::new_unwrap("1.2.840.113549.1.1.5");
    /// sha224WithRSAEncryption.
    pub const RSA_SHA224: O = O::new_unwrap("1.2.840.113549.1.1.14");
    /// sha256WithRSAEncryption.
    pub const RSA_SHA256: O = O::new_unwrap("1.2.840.113549.1.1.11");
    /// sha384WithRSAEncryption.
    pub const RSA_SHA384: O = O::new_unwrap("1.2.840.113549.1.1.12");
    /// sha512WithRSAEncryption.
    pub const RSA_SHA512: O = O::new_unwrap("1.2.840.113549.1.1.13");
    /// id-RSASSA-PSS.
    pub const RSA_PSS: O = O::new_unwrap("1.2.840.113549.1.1.10");
    /// id-mgf1.
    pub const MGF1: O = O::new_unwrap("1.2.840.113549.1.1.8");
    /// id-ecPublicKey.
    pub const EC_PUBLIC_KEY: O = O::new_unwrap("1.2.840.10045.2.1");
    /// ecdsa-with-SHA1.
    pub const ECDSA_SHA1: O = O::new_unwrap("1.2.840.10045.4.1");
    /// ecdsa-with-SHA224.
    pub const ECDSA_SHA224: O = O::new_unwrap("1.2.840.10045.4.3.1");
    /// ecdsa-with-SHA256.
    pub const ECDSA_SHA256: O = O::new_unwrap("1.2.840.10045.4.3.2");
    /// ecdsa-with-SHA384.
    pub const ECDSA_SHA384: O = O::new_unwrap("1.2.840.10045.4.3.3");
    /// ecdsa-with-SHA512.
    pub const ECDSA_SHA512: O = O::new_unwrap("1.2.840.10045.4.3.4");
    /// BSI TR-03111 ecdsa-plain-SHA1.
    pub const PLAIN_ECDSA_SHA1: O = O::new_unwrap("0.4.0.127.0.7.1.1.4.1.1");
    /// BSI TR-03111 ecdsa-plain-SHA224.
    pub const PLAIN_ECDSA_SHA224: O = O::new_unwrap("0.4.0.127.0.7.1.1.4.1.2");
    /// BSI TR-03111 ecdsa-plain-SHA256.
    pub const PLAIN_ECDSA_SHA256: O = O::new_unwrap("0.4.0.127.0.7.1.1.4.1.3");
    /// BSI TR-03111 ecdsa-plain-SHA384.
    pub const PLAIN_ECDSA_SHA384: O = O::new_unwrap("0.4.0.127.0.7.1.1.4.1.4");
    /// BSI TR-03111 ecdsa-plain-SHA512.
    pub const PLAIN_ECDSA_SHA512: O = O::new_unwrap("0.4.0.127.0.7.1.1.4.1.5");
    /// Ed25519.
    pub const ED25519: O = O::new_unwrap("1.3.101.112");
    /// secp256r1.
    pub const P256: O = O::new_unwrap("1.2.840.10045.3.1.7");
    /// secp384r1.
    pub const P384: O = O::new_unwrap("1.3.132.0.34");
    /// secp521r1.
    pub const P521: O = O::new_unwrap("1.3.132.0.35");
    /// brainpoolP256r1 (RFC 5639).
    pub const BRAINPOOL_P256R1: O = O::new_unwrap("1.3.36.3.3.2.8.1.1.7");
    /// brainpoolP384r1 (RFC 5639).
    pub const BRAINPOOL_P384R1: O = O::new_unwrap("1.3.36.3.3.2.8.1.1.11");
    /// brainpoolP512r1 (RFC 5639).
    pub const BRAINPOOL_P512R1: O = O::new_unwrap("1.3.36.3.3.2.8.1.1.13");
}

impl DigestAlg {
    /// From a digest algorithm OID.
    pub fn from_oid(o: &ObjectIdentifier) -> Option<Self> {
        Some(match *o {
            oid::SHA1 => Self::Sha1,
            oid::SHA224 => Self::Sha224,
            oid::SHA256 => Self::Sha256,
            oid::SHA384 => Self::Sha384,
            oid::SHA512 => Self::Sha512,
            oid::SHA3_256 => Self::Sha3_256,
            oid::SHA3_384 => Self::Sha3_384,
            oid::SHA3_512 => Self::Sha3_512,
            _ => return None,
        })
    }

    /// From an XML-DSig / XML-Enc digest method URI.
    pub fn from_uri(uri: &str) -> Option<Self> {
        Some(match uri {
            "http://www.w3.org/2000/09/xmldsig#sha1" => Self::Sha1,
            "http://www.w3.org/2001/04/xmldsig-more#sha224" => Self::Sha224,
            "http://www.w3.org/2001/04/xmlenc#sha256" => Self::Sha256,
            "http://www.w3.org/2001/04/xmldsig-more#sha384" => Self::Sha384,
            "http://www.w3.org/2001/04/xmlenc#sha512" => Self::Sha512,
            "http://www.w3.org/2007/05/xmldsig-more#sha3-256" => Self::Sha3_256,
            "http://www.w3.org/2007/05/xmldsig-more#sha3-384" => Self::Sha3_384,
            "http://www.w3.org/2007/05/xmldsig-more#sha3-512" => Self::Sha3_512,
            _ => return None,
        })
    }

    /// The OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => oid::SHA1,
            Self::Sha224 => oid::SHA224,
            Self::Sha256 => oid::SHA256,
            Self::Sha384 => oid::SHA384,
            Self::Sha512 => oid::SHA512,
            Self::Sha3_256 => oid::SHA3_256,
            Self::Sha3_384 => oid::SHA3_384,
            Self::Sha3_512 => oid::SHA3_512,
        }
    }

    /// The name used in reports and policies (`SHA-256`, `SHA3-256`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha224 => "SHA-224",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
            Self::Sha3_256 => "SHA3-256",
            Self::Sha3_384 => "SHA3-384",
            Self::Sha3_512 => "SHA3-512",
        }
    }

    fn algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha224 => &digest::SHA224,
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
            Self::Sha3_256 => &digest::SHA3_256,
            Self::Sha3_384 => &digest::SHA3_384,
            Self::Sha3_512 => &digest::SHA3_512,
        }
    }

    /// One-shot digest.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        digest::digest(self.algorithm(), data).as_ref().to_vec()
    }

    /// A streaming hasher.
    pub fn hasher(self) -> Hasher {
        Hasher(digest::Context::new(self.algorithm()))
    }
}

/// Streaming digest (feed byte ranges without copying them together). A clone continues
/// from the same state (a shared prefix hashed once).
#[derive(Clone)]
pub struct Hasher(digest::Context);

impl Hasher {
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    /// Finishes.
    pub fn finish(self) -> Vec<u8> {
        self.0.finish().as_ref().to_vec()
    }
}

/// Public key family and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA with modulus bits.
    Rsa(u32),
    /// EC on a named curve with field bits (256, 384, 521).
    Ec(u32),
    /// EC on a Brainpool curve (RFC 5639) with field bits (256, 384, 512).
    EcBrainpool(u32),
    /// Ed25519.
    Ed25519,
}

impl KeyKind {
    /// Key size in bits.
    pub fn bits(self) -> u32 {
        match self {
            KeyKind::Rsa(b) | KeyKind::Ec(b) | KeyKind::EcBrainpool(b) => b,
            KeyKind::Ed25519 => 256,
        }
    }
    /// Family name.
    pub fn family(self) -> &'static str {
        match self {
            KeyKind::Rsa(_) => "RSA",
            KeyKind::Ec(_) | KeyKind::EcBrainpool(_) => "EC",
            KeyKind::Ed25519 => "Ed25519",
        }
    }
}

/// Reads the key kind and size of a DER `SubjectPublicKeyInfo`.
pub fn key_kind(spki_der: &[u8]) -> Result<KeyKind, CryptoError> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| CryptoError::BadKey(e.to_string()))?;
    key_kind_of(&spki)
}

fn key_kind_of(spki: &SubjectPublicKeyInfoRef<'_>) -> Result<KeyKind, CryptoError> {
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| CryptoError::BadKey("unused bits in key".into()))?;
    match spki.algorithm.oid {
        oid::RSA | oid::RSA_PSS => {
            let len = signature::RsaParameters::public_modulus_len(key)
                .map_err(|_| CryptoError::BadKey("unreadable RSA key".into()))?;
            Ok(KeyKind::Rsa(len))
        }
        oid::EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or_else(|| CryptoError::BadKey("EC key without named curve".into()))?;
            match curve {
                oid::P256 => Ok(KeyKind::Ec(256)),
                oid::P384 => Ok(KeyKind::Ec(384)),
                oid::P521 => Ok(KeyKind::Ec(521)),
                oid::BRAINPOOL_P256R1 => Ok(KeyKind::EcBrainpool(256)),
                oid::BRAINPOOL_P384R1 => Ok(KeyKind::EcBrainpool(384)),
                oid::BRAINPOOL_P512R1 => Ok(KeyKind::EcBrainpool(512)),
                other => Err(CryptoError::Unsupported(format!("EC curve {other}"))),
            }
        }
        oid::ED25519 => Ok(KeyKind::Ed25519),
        other => Err(CryptoError::Unsupported(format!(
            "public key algorithm {other}"
        ))),
    }
}

/// A signature scheme resolved from an algorithm identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1(DigestAlg),
    /// RSASSA-PSS (MGF1 with the same digest).
    RsaPss(DigestAlg),
    /// ECDSA with a DER `Ecdsa-Sig-Value`.
    Ecdsa(DigestAlg),
    /// ECDSA with the plain `r || s` encoding (BSI TR-03111).
    PlainEcdsa(DigestAlg),
    /// Ed25519.
    Ed25519,
}

impl Scheme {
    /// Resolves a signature algorithm identifier (`algorithm` OID and DER parameters).
    /// `digest_hint` is the digest of a CMS `SignerInfo` for the bare `rsaEncryption` /
    /// `id-ecPublicKey` identifiers some signers put in `signatureAlgorithm`.
    pub fn from_identifier(
        alg: &ObjectIdentifier,
        params: Option<&[u8]>,
        digest_hint: Option<DigestAlg>,
    ) -> Result<Self, CryptoError> {
        let hinted =
            || digest_hint.ok_or_else(|| CryptoError::Unsupported(format!("{alg} without digest")));
        Ok(match *alg {
            oid::RSA => Self::RsaPkcs1(hinted()?),
            oid::RSA_SHA1 => Self::RsaPkcs1(DigestAlg::Sha1),
            oid::RSA_SHA224 => Self::RsaPkcs1(DigestAlg::Sha224),
            oid::RSA_SHA256 => Self::RsaPkcs1(DigestAlg::Sha256),
            oid::RSA_SHA384 => Self::RsaPkcs1(DigestAlg::Sha384),
            oid::RSA_SHA512 => Self::RsaPkcs1(DigestAlg::Sha512),
            oid::RSA_PSS => Self::RsaPss(pss_digest(params)?),
            oid::EC_PUBLIC_KEY => Self::Ecdsa(hinted()?),
            oid::ECDSA_SHA1 => Self::Ecdsa(DigestAlg::Sha1),
            oid::ECDSA_SHA224 => Self::Ecdsa(DigestAlg::Sha224),
            oid::ECDSA_SHA256 => Self::Ecdsa(DigestAlg::Sha256),
            oid::ECDSA_SHA384 => Self::Ecdsa(DigestAlg::Sha384),
            oid::ECDSA_SHA512 => Self::Ecdsa(DigestAlg::Sha512),
            oid::PLAIN_ECDSA_SHA1 => Self::PlainEcdsa(DigestAlg::Sha1),
            oid::PLAIN_ECDSA_SHA224 => Self::PlainEcdsa(DigestAlg::Sha224),
            oid::PLAIN_ECDSA_SHA256 => Self::PlainEcdsa(DigestAlg::Sha256),
            oid::PLAIN_ECDSA_SHA384 => Self::PlainEcdsa(DigestAlg::Sha384),
            oid::PLAIN_ECDSA_SHA512 => Self::PlainEcdsa(DigestAlg::Sha512),
            oid::ED25519 => Self::Ed25519,
            other => {
                return Err(CryptoError::Unsupported(format!(
                    "signature algorithm {other}"
                )));
            }
        })
    }

    /// Resolves an XML-DSig `SignatureMethod` URI.
    pub fn from_uri(uri: &str) -> Result<Self, CryptoError> {
        const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
        const MORE: &str = "http://www.w3.org/2001/04/xmldsig-more#";
        const MORE07: &str = "http://www.w3.org/2007/05/xmldsig-more#";
        let unsupported = || CryptoError::Unsupported(format!("SignatureMethod {uri}"));
        if let Some(f) = uri.strip_prefix(DS) {
            return match f {
                "rsa-sha1" => Ok(Self::RsaPkcs1(DigestAlg::Sha1)),
                _ => Err(unsupported()),
            };
        }
        if let Some(f) = uri.strip_prefix(MORE) {
            return Ok(match f {
                "rsa-sha224" => Self::RsaPkcs1(DigestAlg::Sha224),
                "rsa-sha256" => Self::RsaPkcs1(DigestAlg::Sha256),
                "rsa-sha384" => Self::RsaPkcs1(DigestAlg::Sha384),
                "rsa-sha512" => Self::RsaPkcs1(DigestAlg::Sha512),
                "ecdsa-sha1" => Self::PlainEcdsa(DigestAlg::Sha1),
                "ecdsa-sha224" => Self::PlainEcdsa(DigestAlg::Sha224),
                "ecdsa-sha256" => Self::PlainEcdsa(DigestAlg::Sha256),
                "ecdsa-sha384" => Self::PlainEcdsa(DigestAlg::Sha384),
                "ecdsa-sha512" => Self::PlainEcdsa(DigestAlg::Sha512),
                _ => return Err(unsupported()),
            });
        }
        if let Some(f) = uri.strip_prefix(MORE07) {
            return Ok(match f {
                "sha256-rsa-MGF1" => Self::RsaPss(DigestAlg::Sha256),
                "sha384-rsa-MGF1" => Self::RsaPss(DigestAlg::Sha384),
                "sha512-rsa-MGF1" => Self::RsaPss(DigestAlg::Sha512),
                "ecdsa-sha3-256" => Self::PlainEcdsa(DigestAlg::Sha3_256),
                "ecdsa-sha3-384" => Self::PlainEcdsa(DigestAlg::Sha3_384),
                "ecdsa-sha3-512" => Self::PlainEcdsa(DigestAlg::Sha3_512),
                _ => return Err(unsupported()),
            });
        }
        if uri == "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519" {
            return Ok(Self::Ed25519);
        }
        Err(unsupported())
    }

    /// Family name for reports and policies.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::RsaPkcs1(_) => "RSA",
            Scheme::RsaPss(_) => "RSA-PSS",
            Scheme::Ecdsa(_) => "ECDSA",
            Scheme::PlainEcdsa(_) => "PLAIN-ECDSA",
            Scheme::Ed25519 => "Ed25519",
        }
    }

    /// Digest inside the scheme (`None` for Ed25519).
    pub fn digest(self) -> Option<DigestAlg> {
        match self {
            Scheme::RsaPkcs1(d) | Scheme::RsaPss(d) | Scheme::Ecdsa(d) | Scheme::PlainEcdsa(d) => {
                Some(d)
            }
            Scheme::Ed25519 => None,
        }
    }
}

/// RSASSA-PSS-params: hashAlgorithm [0] (default SHA-1), maskGenAlgorithm [1] (MGF1 with
/// the same hash is all aws-lc-rs verifies), saltLength [2].
fn pss_digest(params: Option<&[u8]>) -> Result<DigestAlg, CryptoError> {
    let bad = |m: &str| CryptoError::Unsupported(format!("RSASSA-PSS parameters: {m}"));
    let Some(p) = params else {
        return Ok(DigestAlg::Sha1);
    };
    let seq = AnyRef::from_der(p).map_err(|e| bad(&e.to_string()))?;
    if seq.tag() != der::Tag::Sequence {
        return Err(bad("not a SEQUENCE"));
    }
    let mut hash = DigestAlg::Sha1;
    let mut mgf_hash = DigestAlg::Sha1;
    let mut rest = seq.value();
    while !rest.is_empty() {
        let field = first_tlv(rest).map_err(|e| bad(&e.to_string()))?;
        let len = der::Encode::encoded_len(&field)
            .ok()
            .and_then(|l| usize::try_from(u32::from(l)).ok())
            .ok_or_else(|| bad("length"))?;
        rest = rest.get(len..).ok_or_else(|| bad("length"))?;
        let tag_number = match field.tag() {
            der::Tag::ContextSpecific { number, .. } => number.value(),
            _ => return Err(bad("unexpected field")),
        };
        match tag_number {
            0 => {
                let alg = AlgorithmIdentifierRef::from_der(field.value())
                    .map_err(|e| bad(&e.to_string()))?;
                hash = DigestAlg::from_oid(&alg.oid).ok_or_else(|| bad("hash"))?;
            }
            1 => {
                let mgf = AlgorithmIdentifierRef::from_der(field.value())
                    .map_err(|e| bad(&e.to_string()))?;
                if mgf.oid != oid::MGF1 {
                    return Err(bad("mask generation function is not MGF1"));
                }
                let inner = mgf
                    .parameters
                    .and_then(|a| a.decode_as::<AlgorithmIdentifierRef<'_>>().ok())
                    .ok_or_else(|| bad("MGF1 hash"))?;
                mgf_hash = DigestAlg::from_oid(&inner.oid).ok_or_else(|| bad("MGF1 hash"))?;
            }
            2 | 3 => {}
            _ => return Err(bad("unexpected field")),
        }
    }
    if hash != mgf_hash {
        return Err(bad("MGF1 hash differs from the message hash"));
    }
    Ok(hash)
}

/// Verifies `signature` over `message` with the key of `spki_der` under `scheme`.
/// Returns the algorithms used (for the cryptographic constraints).
pub fn verify(
    spki_der: &[u8],
    scheme: Scheme,
    message: &[u8],
    signature_value: &[u8],
) -> Result<Algorithms, CryptoError> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| CryptoError::BadKey(e.to_string()))?;
    let kind = key_kind_of(&spki)?;
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| CryptoError::BadKey("unused bits in key".into()))?;
    let mismatch = || CryptoError::KeyMismatch {
        key: kind.family().to_string(),
        alg: scheme.name().to_string(),
    };
    let unsupported = || {
        CryptoError::Unsupported(format!(
            "{} with {} on a {}-bit {} key",
            scheme.name(),
            scheme.digest().map(DigestAlg::name).unwrap_or("-"),
            kind.bits(),
            kind.family()
        ))
    };
    if let (Scheme::Ecdsa(d) | Scheme::PlainEcdsa(d), KeyKind::EcBrainpool(bits)) = (scheme, kind) {
        let field = (bits as usize).div_ceil(8);
        let rs = match scheme {
            Scheme::PlainEcdsa(_) => {
                (signature_value.len() == 2 * field).then(|| signature_value.split_at(field))
            }
            _ => der_to_rs(signature_value),
        }
        .ok_or(CryptoError::Invalid)?;
        brainpool::verify(bits, key, &d.digest(message), rs)?;
        return Ok(Algorithms {
            digest: Some(d.name().to_string()),
            signature: Some(scheme.name().to_string()),
            signature_digest: Some(d.name().to_string()),
            key_bits: Some(bits),
        });
    }
    let mut der_sig = None;
    let alg: &'static dyn VerificationAlgorithm = match (scheme, kind) {
        (Scheme::RsaPkcs1(d), KeyKind::Rsa(bits)) => match (d, bits >= 2048) {
            (DigestAlg::Sha1, true) => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            (DigestAlg::Sha1, false) => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            (DigestAlg::Sha256, true) => &signature::RSA_PKCS1_2048_8192_SHA256,
            (DigestAlg::Sha256, false) => {
                &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
            }
            (DigestAlg::Sha384, true) => &signature::RSA_PKCS1_2048_8192_SHA384,
            (DigestAlg::Sha512, true) => &signature::RSA_PKCS1_2048_8192_SHA512,
            (DigestAlg::Sha512, false) => {
                &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY
            }
            _ => return Err(unsupported()),
        },
        (Scheme::RsaPss(d), KeyKind::Rsa(_)) => match d {
            DigestAlg::Sha256 => &signature::RSA_PSS_2048_8192_SHA256,
            DigestAlg::Sha384 => &signature::RSA_PSS_2048_8192_SHA384,
            DigestAlg::Sha512 => &signature::RSA_PSS_2048_8192_SHA512,
            _ => return Err(unsupported()),
        },
        (Scheme::Ecdsa(d) | Scheme::PlainEcdsa(d), KeyKind::Ec(bits)) => {
            if let Scheme::PlainEcdsa(_) = scheme {
                let field = (bits as usize).div_ceil(8);
                der_sig = Some(plain_to_der(signature_value, field).ok_or(CryptoError::Invalid)?);
            }
            match (bits, d) {
                (256, DigestAlg::Sha1) => &signature::ECDSA_P256_SHA1_ASN1,
                (256, DigestAlg::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
                (256, DigestAlg::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
                (256, DigestAlg::Sha512) => &signature::ECDSA_P256_SHA512_ASN1,
                (384, DigestAlg::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
                (384, DigestAlg::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
                (384, DigestAlg::Sha512) => &signature::ECDSA_P384_SHA512_ASN1,
                (384, DigestAlg::Sha3_384) => &signature::ECDSA_P384_SHA3_384_ASN1,
                (521, DigestAlg::Sha1) => &signature::ECDSA_P521_SHA1_ASN1,
                (521, DigestAlg::Sha224) => &signature::ECDSA_P521_SHA224_ASN1,
                (521, DigestAlg::Sha256) => &signature::ECDSA_P521_SHA256_ASN1,
                (521, DigestAlg::Sha384) => &signature::ECDSA_P521_SHA384_ASN1,
                (521, DigestAlg::Sha512) => &signature::ECDSA_P521_SHA512_ASN1,
                (521, DigestAlg::Sha3_512) => &signature::ECDSA_P521_SHA3_512_ASN1,
                _ => return Err(unsupported()),
            }
        }
        (Scheme::Ed25519, KeyKind::Ed25519) => &signature::ED25519,
        _ => return Err(mismatch()),
    };
    let sig = der_sig.as_deref().unwrap_or(signature_value);
    UnparsedPublicKey::new(alg, key)
        .verify(message, sig)
        .map_err(|_| CryptoError::Invalid)?;
    Ok(Algorithms {
        digest: scheme.digest().map(|d| d.name().to_string()),
        signature: Some(scheme.name().to_string()),
        signature_digest: scheme.digest().map(|d| d.name().to_string()),
        key_bits: Some(kind.bits()),
    })
}

/// Verifies the signature of a DER certificate (or CRL, or any `SEQUENCE { tbs,
/// AlgorithmIdentifier, BIT STRING }` signed object) with the issuer's SPKI.
pub fn verify_signed_object(
    signed_der: &[u8],
    issuer_spki_der: &[u8],
) -> Result<Algorithms, CryptoError> {
    // Successful verifications are memoised by (object, key) digest: a validation checks
    // the same CA certificates for the signer, the OCSP responder and every timestamp,
    // and a server sees the same CAs all day. Failures are not cached.
    static CACHE: std::sync::OnceLock<moka::sync::Cache<[u8; 32], Algorithms>> =
        std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| moka::sync::Cache::new(16_384));
    let mut h = DigestAlg::Sha256.hasher();
    h.update(&(signed_der.len() as u64).to_be_bytes());
    h.update(signed_der);
    h.update(issuer_spki_der);
    let mut key = [0u8; 32];
    key.copy_from_slice(&h.finish());
    if let Some(hit) = cache.get(&key) {
        return Ok(hit);
    }
    let algs = verify_signed_object_uncached(signed_der, issuer_spki_der)?;
    cache.insert(key, algs.clone());
    Ok(algs)
}

fn verify_signed_object_uncached(
    signed_der: &[u8],
    issuer_spki_der: &[u8],
) -> Result<Algorithms, CryptoError> {
    let bad = |m: &str| CryptoError::BadKey(format!("signed object: {m}"));
    let outer = AnyRef::from_der(signed_der).map_err(|e| bad(&e.to_string()))?;
    if outer.tag() != der::Tag::Sequence {
        return Err(bad("not a SEQUENCE"));
    }
    let body = outer.value();
    let tbs = first_tlv(body).map_err(|e| bad(&e.to_string()))?;
    let tbs_len = der::Encode::encoded_len(&tbs)
        .ok()
        .and_then(|l| usize::try_from(u32::from(l)).ok())
        .ok_or_else(|| bad("length"))?;
    let tbs_bytes = body.get(..tbs_len).ok_or_else(|| bad("length"))?;
    let mut rest = body.get(tbs_len..).ok_or_else(|| bad("length"))?;
    let alg_any = first_tlv(rest).map_err(|e| bad(&e.to_string()))?;
    let alg_len = der::Encode::encoded_len(&alg_any)
        .ok()
        .and_then(|l| usize::try_from(u32::from(l)).ok())
        .ok_or_else(|| bad("length"))?;
    let alg = AlgorithmIdentifierRef::from_der(rest.get(..alg_len).ok_or_else(|| bad("length"))?)
        .map_err(|e| bad(&e.to_string()))?;
    rest = rest.get(alg_len..).ok_or_else(|| bad("length"))?;
    let sig = der::asn1::BitStringRef::from_der(rest).map_err(|e| bad(&e.to_string()))?;
    let sig = sig.as_bytes().ok_or_else(|| bad("unused bits"))?;
    let params = match alg.parameters {
        Some(p) => Some(der::Encode::to_der(&p).map_err(|e| bad(&e.to_string()))?),
        None => None,
    };
    let scheme = Scheme::from_identifier(&alg.oid, params.as_deref(), None)?;
    verify(issuer_spki_der, scheme, tbs_bytes, sig)
}

/// The first TLV of `input` (which may be followed by more).
fn first_tlv(input: &[u8]) -> der::Result<AnyRef<'_>> {
    let mut reader = der::SliceReader::new(input)?;
    der::Decode::decode(&mut reader)
}

/// Converts a plain `r || s` ECDSA value to a DER `Ecdsa-Sig-Value`.
/// Splits a DER `Ecdsa-Sig-Value` into the `r` and `s` INTEGER contents.
fn der_to_rs(sig: &[u8]) -> Option<(&[u8], &[u8])> {
    let seq = AnyRef::from_der(sig).ok()?;
    if seq.tag() != der::Tag::Sequence {
        return None;
    }
    let mut rest = seq.value();
    let mut out = [&[][..]; 2];
    for slot in &mut out {
        let i = first_tlv(rest).ok()?;
        if i.tag() != der::Tag::Integer {
            return None;
        }
        *slot = i.value();
        let len = usize::try_from(u32::from(der::Encode::encoded_len(&i).ok()?)).ok()?;
        rest = rest.get(len..)?;
    }
    rest.is_empty().then_some((out[0], out[1]))
}

/// ECDSA on the Brainpool curves (RFC 5639), which the aws-lc-rs API does not expose:
/// the same AWS-LC library through its C API (`EC_GROUP_new_curve_GFp`,
/// `ECDSA_do_verify`).
mod brainpool {
    use aws_lc_sys as sys;

    use super::CryptoError;

    struct Params {
        p: &'static str,
        a: &'static str,
        b: &'static str,
        gx: &'static str,
        gy: &'static str,
        n: &'static str,
    }

    // RFC 5639 §3.4, §3.6, §3.7 (checked against `openssl ecparam -param_enc explicit`).
    const P256R1: Params = Params {
        p: "A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377",
        a: "7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9",
        b: "26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6",
        gx: "8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262",
        gy: "547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997",
        n: "A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7",
    };
    const P384R1: Params = Params {
        p: "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123ACD3A729901D1A71874700133107EC53",
        a: "7BC382C63D8C150C3C72080ACE05AFA0C2BEA28E4FB22787139165EFBA91F90F8AA5814A503AD4EB04A8C7DD22CE2826",
        b: "04A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D57CB4390295DBC9943AB78696FA504C11",
        gx: "1D1C64F068CF45FFA2A63A81B7C13F6B8847A3E77EF14FE3DB7FCAFE0CBD10E8E826E03436D646AAEF87B2E247D4AF1E",
        gy: "8ABE1D7520F9C2A45CB1EB8E95CFD55262B70B29FEEC5864E19C054FF99129280E4646217791811142820341263C5315",
        n: "8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B31F166E6CAC0425A7CF3AB6AF6B7FC3103B883202E9046565",
    };
    const P512R1: Params = Params {
        p: "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA703308717D4D9B009BC66842AECDA12AE6A380E62881FF2F2D82C68528AA6056583A48F3",
        a: "7830A3318B603B89E2327145AC234CC594CBDD8D3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CA",
        b: "3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CADC083E67984050B75EBAE5DD2809BD638016F723",
        gx: "81AEE4BDD82ED9645A21322E9C4C6A9385ED9F70B5D916C1B43B62EEF4D0098EFF3B1F78E2D0D48D50D1687B93B97D5F7C6D5047406A5E688B352209BCB9F822",
        gy: "7DDE385D566332ECC0EABFA9CF7822FDF209F70024A57B1AA000C55B881F8111B2DCDE494A5F485E5BCA4BD88A2763AED1CA2B2FA8F0540678CD1E0F3AD80892",
        n: "AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330870553E5C414CA92619418661197FAC10471DB1D381085DDADDB58796829CA90069",
    };

    /// Frees every AWS-LC object it holds when dropped.
    #[derive(Default)]
    struct Guard {
        bns: Vec<*mut sys::BIGNUM>,
        points: Vec<*mut sys::EC_POINT>,
        group: Option<*mut sys::EC_GROUP>,
        key: Option<*mut sys::EC_KEY>,
        sig: Option<*mut sys::ECDSA_SIG>,
        ctx: Option<*mut sys::BN_CTX>,
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            // SAFETY: each pointer was returned non-null by the matching AWS-LC
            // constructor, is owned by this guard only, and is freed exactly once; points
            // are freed before their group.
            unsafe {
                if let Some(s) = self.sig {
                    sys::ECDSA_SIG_free(s);
                }
                if let Some(k) = self.key {
                    sys::EC_KEY_free(k);
                }
                for &p in &self.points {
                    sys::EC_POINT_free(p);
                }
                if let Some(g) = self.group {
                    sys::EC_GROUP_free(g);
                }
                for &b in &self.bns {
                    sys::BN_free(b);
                }
                if let Some(c) = self.ctx {
                    sys::BN_CTX_free(c);
                }
            }
        }
    }

    fn internal() -> CryptoError {
        CryptoError::Unsupported("Brainpool ECDSA: AWS-LC refused the curve".into())
    }

    /// Verifies `(r, s)` over `digest` with the uncompressed or compressed `point` on the
    /// Brainpool curve of `bits`.
    pub(super) fn verify(
        bits: u32,
        point: &[u8],
        digest: &[u8],
        (r, s): (&[u8], &[u8]),
    ) -> Result<(), CryptoError> {
        let params = match bits {
            256 => &P256R1,
            384 => &P384R1,
            512 => &P512R1,
            _ => return Err(CryptoError::Unsupported(format!("brainpoolP{bits}r1"))),
        };
        if r.len() > 80 || s.len() > 80 {
            return Err(CryptoError::Invalid);
        }
        let mut g = Guard::default();
        // SAFETY: all calls get valid pointers (checked non-null right after creation,
        // owned by `g`) and slices with their true lengths; AWS-LC copies what it keeps.
        unsafe {
            let mut bn = |bytes: &[u8]| -> Result<*mut sys::BIGNUM, CryptoError> {
                let b = sys::BN_bin2bn(bytes.as_ptr(), bytes.len(), std::ptr::null_mut());
                if b.is_null() {
                    return Err(internal());
                }
                g.bns.push(b);
                Ok(b)
            };
            let hex = |h: &str| hex::decode(h).map_err(|_| internal());
            let p = bn(&hex(params.p)?)?;
            let a = bn(&hex(params.a)?)?;
            let b = bn(&hex(params.b)?)?;
            let gx = bn(&hex(params.gx)?)?;
            let gy = bn(&hex(params.gy)?)?;
            let n = bn(&hex(params.n)?)?;
            let one = bn(&[1])?;
            let r_bn = sys::BN_bin2bn(r.as_ptr(), r.len(), std::ptr::null_mut());
            let s_bn = sys::BN_bin2bn(s.as_ptr(), s.len(), std::ptr::null_mut());
            let sig = sys::ECDSA_SIG_new();
            if sig.is_null() || r_bn.is_null() || s_bn.is_null() {
                sys::BN_free(r_bn);
                sys::BN_free(s_bn);
                if !sig.is_null() {
                    sys::ECDSA_SIG_free(sig);
                }
                return Err(internal());
            }
            g.sig = Some(sig);
            if sys::ECDSA_SIG_set0(sig, r_bn, s_bn) != 1 {
                sys::BN_free(r_bn);
                sys::BN_free(s_bn);
                return Err(internal());
            }
            let ctx = sys::BN_CTX_new();
            if ctx.is_null() {
                return Err(internal());
            }
            g.ctx = Some(ctx);
            let group = sys::EC_GROUP_new_curve_GFp(p, a, b, ctx);
            if group.is_null() {
                return Err(internal());
            }
            g.group = Some(group);
            let gen_pt = sys::EC_POINT_new(group);
            if gen_pt.is_null() {
                return Err(internal());
            }
            g.points.push(gen_pt);
            if sys::EC_POINT_set_affine_coordinates_GFp(group, gen_pt, gx, gy, ctx) != 1
                || sys::EC_GROUP_set_generator(group, gen_pt, n, one) != 1
            {
                return Err(internal());
            }
            let q = sys::EC_POINT_new(group);
            if q.is_null() {
                return Err(internal());
            }
            g.points.push(q);
            if sys::EC_POINT_oct2point(group, q, point.as_ptr(), point.len(), ctx) != 1 {
                return Err(CryptoError::BadKey(
                    "point not on the Brainpool curve".into(),
                ));
            }
            let key = sys::EC_KEY_new();
            if key.is_null() {
                return Err(internal());
            }
            g.key = Some(key);
            if sys::EC_KEY_set_group(key, group) != 1 || sys::EC_KEY_set_public_key(key, q) != 1 {
                return Err(CryptoError::BadKey("unusable Brainpool public key".into()));
            }
            if sys::ECDSA_do_verify(digest.as_ptr(), digest.len(), sig, key) == 1 {
                Ok(())
            } else {
                Err(CryptoError::Invalid)
            }
        }
    }
}

fn plain_to_der(sig: &[u8], field_len: usize) -> Option<Vec<u8>> {
    if sig.len() != 2 * field_len {
        return None;
    }
    let (r, s) = sig.split_at(field_len);
    let mut body = Vec::with_capacity(sig.len() + 8);
    for v in [r, s] {
        let mut v = v;
        while v.len() > 1 && v[0] == 0 {
            v = &v[1..];
        }
        let pad = v.first().is_some_and(|b| b & 0x80 != 0);
        body.push(0x02);
        body.push(u8::try_from(v.len() + usize::from(pad)).ok()?);
        if pad {
            body.push(0);
        }
        body.extend_from_slice(v);
    }
    let mut out = Vec::with_capacity(body.len() + 3);
    out.push(0x30);
    if body.len() < 0x80 {
        out.push(u8::try_from(body.len()).ok()?);
    } else {
        out.push(0x81);
        out.push(u8::try_from(body.len()).ok()?);
    }
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_spki(pem: &str) -> (Vec<u8>, Vec<u8>) {
        use der::{DecodePem, Encode};
        let c = x509_cert::Certificate::from_pem(pem).unwrap();
        (
            c.to_der().unwrap(),
            c.tbs_certificate.subject_public_key_info.to_der().unwrap(),
        )
    }

    #[test]
    fn verifies_real_certificate_chain_and_rejects_a_flipped_bit() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/pki/pyhanko-testing-ca");
        let root = std::fs::read_to_string(dir.join("root.cert.pem")).unwrap();
        let interm = std::fs::read_to_string(dir.join("interm.cert.pem")).unwrap();
        let (root_der, root_spki) = cert_spki(&root);
        let (interm_der, _) = cert_spki(&interm);
        let algs = verify_signed_object(&interm_der, &root_spki).unwrap();
        assert_eq!(algs.signature.as_deref(), Some("RSA"));
        verify_signed_object(&root_der, &root_spki).unwrap();
        let mut bad = interm_der.clone();
        let n = bad.len() - 10;
        bad[n] ^= 1;
        assert_eq!(
            verify_signed_object(&bad, &root_spki),
            Err(CryptoError::Invalid)
        );
    }

    #[test]
    fn digests_and_uris() {
        assert_eq!(DigestAlg::Sha256.digest(b"abc").len(), 32);
        let mut h = DigestAlg::Sha384.hasher();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish(), DigestAlg::Sha384.digest(b"abc"));
        assert_eq!(
            DigestAlg::from_uri("http://www.w3.org/2001/04/xmlenc#sha512"),
            Some(DigestAlg::Sha512)
        );
        assert!(Scheme::from_uri("http://example.org/none").is_err());
        assert_eq!(DigestAlg::from_oid(&oid::SHA256), Some(DigestAlg::Sha256));
    }

    #[test]
    fn hostile_inputs_are_errors() {
        assert!(verify_signed_object(b"", b"").is_err());
        assert!(verify_signed_object(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], b"").is_err());
        assert!(key_kind(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
        assert!(plain_to_der(&[1, 2, 3], 32).is_none());
    }
}
