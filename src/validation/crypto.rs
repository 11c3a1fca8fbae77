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

/// Streaming digest (feed byte ranges without copying them together).
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
    /// Ed25519.
    Ed25519,
}

impl KeyKind {
    /// Key size in bits.
    pub fn bits(self) -> u32 {
        match self {
            KeyKind::Rsa(b) | KeyKind::Ec(b) => b,
            KeyKind::Ed25519 => 256,
        }
    }
    /// Family name.
    pub fn family(self) -> &'static str {
        match self {
            KeyKind::Rsa(_) => "RSA",
            KeyKind::Ec(_) => "EC",
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
        let field = AnyRef::from_der(rest).map_err(|e| bad(&e.to_string()))?;
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
    let bad = |m: &str| CryptoError::BadKey(format!("signed object: {m}"));
    let outer = AnyRef::from_der(signed_der).map_err(|e| bad(&e.to_string()))?;
    if outer.tag() != der::Tag::Sequence {
        return Err(bad("not a SEQUENCE"));
    }
    let body = outer.value();
    let tbs = AnyRef::from_der(body).map_err(|e| bad(&e.to_string()))?;
    let tbs_len = der::Encode::encoded_len(&tbs)
        .ok()
        .and_then(|l| usize::try_from(u32::from(l)).ok())
        .ok_or_else(|| bad("length"))?;
    let tbs_bytes = body.get(..tbs_len).ok_or_else(|| bad("length"))?;
    let mut rest = body.get(tbs_len..).ok_or_else(|| bad("length"))?;
    let alg_any = AnyRef::from_der(rest).map_err(|e| bad(&e.to_string()))?;
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

/// Converts a plain `r || s` ECDSA value to a DER `Ecdsa-Sig-Value`.
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
