//! Seal key providers: the seal key (and the time-stamping unit's key) with its certificate
//! chain, from a PKCS#8 PEM file (signing through aws-lc-rs) or from a PKCS#11 token
//! ([`pkcs11`], through `cryptoki`), and the development PKI ([`dev`]).
//!
//! Owns: key material handling; the signature algorithms a key signs with (RSA PKCS#1 v1.5
//! with SHA-256, RSASSA-PSS with SHA-256/MGF1-SHA-256/salt 32, ECDSA P-256 with SHA-256,
//! ECDSA P-384 with SHA-384) and their CMS and XML-DSig identifiers; the proof at load time
//! that a key belongs to its leaf certificate.
//!
//! Must not: build CMS or PDF structures, log or return private key bytes or PINs, or write a
//! key file non-atomically or with permissions wider than 0600.

mod dev;
mod pkcs11;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _,
    RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair,
};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, AnyRef};
use der::{Decode, Encode, Tagged as _};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

pub use dev::{DevPkiPaths, dev_crl, ensure_dev_pki};
pub use pkcs11::{Pin, Pkcs11Config};

use crate::validation::crypto::{DigestAlg, Scheme};

/// rsaEncryption (RFC 8017).
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// sha256WithRSAEncryption (RFC 4055).
const OID_SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// id-RSASSA-PSS (RFC 4055).
const OID_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
/// id-mgf1 (RFC 4055).
const OID_MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
/// id-sha256 (RFC 5754).
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-ecPublicKey (RFC 5480).
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1 (RFC 5480).
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1 (RFC 5480).
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// ecdsa-with-SHA256 (RFC 5758).
const OID_ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384 (RFC 5758).
const OID_ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

/// Salt length of our RSASSA-PSS signatures: the SHA-256 output length (RFC 8017 §9.1 note,
/// RFC 4056 §3 recommends salt length = hash length).
pub const PSS_SALT_LEN: u32 = 32;

/// Largest key or chain file we are willing to read.
const MAX_PEM_FILE: u64 = 1024 * 1024;

/// Errors from loading keys, signing, or creating the development PKI.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key, PIN or certificate file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File involved.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The private key is not one we can use.
    #[error("private key: {0}")]
    BadKey(String),
    /// The certificate chain file is unusable.
    #[error("certificate chain: {0}")]
    BadChain(String),
    /// The private key does not belong to the leaf certificate.
    #[error("the private key does not match the public key of the leaf certificate")]
    KeyMismatch,
    /// The signing operation failed.
    #[error("signing failed")]
    SignFailed,
    /// The PKCS#11 module could not be loaded or initialised.
    #[error("PKCS#11 module {module}: {reason}")]
    Pkcs11Module {
        /// Path of the shared library.
        module: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No token with the configured label is present.
    #[error("PKCS#11: no token labelled {label:?} (tokens present: {available:?})")]
    TokenNotFound {
        /// The configured token label.
        label: String,
        /// Labels of the tokens that are present.
        available: Vec<String>,
    },
    /// Logging in to the token failed (for example a wrong PIN).
    #[error("PKCS#11: login to token {token:?} failed: {reason}")]
    Login {
        /// Token label.
        token: String,
        /// Why (never the PIN itself).
        reason: String,
    },
    /// No private key with the configured label/id is on the token.
    #[error("PKCS#11: no private key {key} on token {token:?}")]
    KeyNotFound {
        /// Token label.
        token: String,
        /// The configured key label and/or id.
        key: String,
    },
    /// Another PKCS#11 failure.
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
    /// Generating the development PKI failed.
    #[error("development PKI: {0}")]
    DevPki(String),
}

impl KeyError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        KeyError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The signature algorithm of a [`SealKey`], fixed when the key is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA (≥ 2048 bits), signing with PKCS#1 v1.5 and SHA-256.
    Rsa {
        /// Modulus size in bits.
        bits: usize,
    },
    /// RSA (≥ 2048 bits), signing with RSASSA-PSS: SHA-256, MGF1 with SHA-256, salt 32.
    RsaPss {
        /// Modulus size in bits.
        bits: usize,
    },
    /// ECDSA on P-256 with SHA-256.
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
}

impl KeyAlgorithm {
    /// The digest the signature is computed with, and so the digest a CMS `SignerInfo` by
    /// this key declares (RFC 5652 §5.4: the signed attributes are hashed with it).
    pub fn digest(self) -> DigestAlg {
        match self {
            KeyAlgorithm::EcdsaP384 => DigestAlg::Sha384,
            _ => DigestAlg::Sha256,
        }
    }

    /// The verification scheme for signatures by this key (DER ECDSA values).
    pub fn scheme(self) -> Scheme {
        match self {
            KeyAlgorithm::Rsa { .. } => Scheme::RsaPkcs1(DigestAlg::Sha256),
            KeyAlgorithm::RsaPss { .. } => Scheme::RsaPss(DigestAlg::Sha256),
            KeyAlgorithm::EcdsaP256 => Scheme::Ecdsa(DigestAlg::Sha256),
            KeyAlgorithm::EcdsaP384 => Scheme::Ecdsa(DigestAlg::Sha384),
        }
    }

    /// Width in bytes of each of `r` and `s` for ECDSA; `None` for RSA.
    fn ecdsa_width(self) -> Option<usize> {
        match self {
            KeyAlgorithm::EcdsaP256 => Some(32),
            KeyAlgorithm::EcdsaP384 => Some(48),
            _ => None,
        }
    }
}

/// RSA signature padding for a key whose certificate does not impose one (an
/// `id-RSASSA-PSS` certificate or PKCS#8 key always means PSS). Config `keys.seal_rsa_padding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RsaPadding {
    /// RSASSA-PKCS1-v1_5.
    #[default]
    Pkcs1,
    /// RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32).
    Pss,
}

enum Backend {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Pkcs11(pkcs11::TokenKey),
}

/// A private key on a PKCS#11 token used without a certificate, for JWS signatures (the
/// `private_key_jwt` client assertion towards ID-porten): RSA (≥ 2048 bits) signs RS256, an
/// EC P-256 key ES256. The key never leaves the token.
pub struct TokenJwsKey {
    token: pkcs11::TokenKey,
    algorithm: KeyAlgorithm,
}

impl std::fmt::Debug for TokenJwsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenJwsKey")
            .field("token", &self.token.describe())
            .field("alg", &self.jws_alg())
            .finish()
    }
}

impl TokenJwsKey {
    /// Opens the key `config` names and checks it is RSA ≥ 2048 bits or EC P-256.
    pub fn open(config: &Pkcs11Config) -> Result<Self, KeyError> {
        let token = pkcs11::TokenKey::open(config)?;
        let algorithm = match token.public() {
            pkcs11::TokenPublic::Rsa { modulus, .. } => {
                let bits = rsa_bits_checked(bit_len(strip_zeros(modulus)))?;
                KeyAlgorithm::Rsa { bits }
            }
            pkcs11::TokenPublic::Ec { curve } if *curve == OID_P256 => KeyAlgorithm::EcdsaP256,
            pkcs11::TokenPublic::Ec { curve } => {
                return Err(KeyError::BadKey(format!(
                    "elliptic curve {curve}: JWS client keys must be RSA or EC P-256"
                )));
            }
        };
        Ok(TokenJwsKey { token, algorithm })
    }

    /// `RS256` or `ES256`.
    pub fn jws_alg(&self) -> &'static str {
        match self.algorithm {
            KeyAlgorithm::EcdsaP256 => "ES256",
            _ => "RS256",
        }
    }

    /// The JWS signature over `input`: PKCS#1 v1.5 with SHA-256, or ECDSA P-256 with SHA-256
    /// as the fixed-width `r || s` JWS wants (what the token's CKM_ECDSA returns). Blocks.
    pub fn sign_jws(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        let sig = self.token.sign(self.algorithm, input)?;
        if self.algorithm == KeyAlgorithm::EcdsaP256 && sig.len() != 64 {
            return Err(KeyError::BadKey(format!(
                "the token returned a {}-byte ECDSA signature, not r || s",
                sig.len()
            )));
        }
        Ok(sig)
    }
}

/// A seal private key together with its certificate chain (leaf first). `Send + Sync`:
/// share it (in an `Arc`) between any number of threads; [`SealKey::sign`] blocks (call it
/// from `spawn_blocking` in async code).
pub struct SealKey {
    backend: Backend,
    algorithm: KeyAlgorithm,
    chain_der: Vec<Vec<u8>>,
    chain: Vec<Certificate>,
    rng: SystemRandom,
}

// Sealing workers share one key across threads and call `sign` from `spawn_blocking`.
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<SealKey>();
};

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.backend {
            Backend::Rsa(_) | Backend::Ecdsa(_) => "file".to_string(),
            Backend::Pkcs11(t) => t.describe(),
        };
        f.debug_struct("SealKey")
            .field("algorithm", &self.algorithm)
            .field("backend", &backend)
            .field("subject", &self.subject_common_name())
            .field("chain_len", &self.chain_der.len())
            .finish_non_exhaustive()
    }
}

fn read_limited(path: &Path) -> Result<Vec<u8>, KeyError> {
    let meta = fs::metadata(path).map_err(|e| KeyError::io(path, e))?;
    if meta.len() > MAX_PEM_FILE {
        return Err(KeyError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, "file too large"),
        ));
    }
    fs::read(path).map_err(|e| KeyError::io(path, e))
}

/// What the leaf certificate says about its key.
enum LeafKey {
    /// RSA; `pss`: the certificate's key is `id-RSASSA-PSS` (PSS only).
    Rsa {
        modulus: Vec<u8>,
        exponent: Vec<u8>,
        pss: bool,
    },
    /// EC on a named curve.
    Ec { curve: ObjectIdentifier },
}

impl SealKey {
    /// Loads a PKCS#8 PEM private key (RSA ≥ 2048, ECDSA P-256 or P-384) and a PEM
    /// certificate chain (leaf first, root last), with PKCS#1 v1.5 padding for RSA unless the
    /// key or certificate is `id-RSASSA-PSS`. Refuses a key that does not match the leaf.
    pub fn from_files(key: &Path, chain: &Path) -> Result<Self, KeyError> {
        Self::from_files_with(key, chain, RsaPadding::Pkcs1)
    }

    /// [`SealKey::from_files`] with the RSA padding to use.
    pub fn from_files_with(
        key: &Path,
        chain: &Path,
        padding: RsaPadding,
    ) -> Result<Self, KeyError> {
        let mut key_pem = read_limited(key)?;
        let chain_pem = read_limited(chain)?;
        let result = Self::from_pem_with(&key_pem, &chain_pem, padding);
        key_pem.fill(0);
        std::hint::black_box(&key_pem);
        result
    }

    /// Same as [`SealKey::from_files`] but from in-memory PEM text.
    pub fn from_pem(key_pem: &[u8], chain_pem: &[u8]) -> Result<Self, KeyError> {
        Self::from_pem_with(key_pem, chain_pem, RsaPadding::Pkcs1)
    }

    /// [`SealKey::from_pem`] with the RSA padding to use.
    pub fn from_pem_with(
        key_pem: &[u8],
        chain_pem: &[u8],
        padding: RsaPadding,
    ) -> Result<Self, KeyError> {
        let (label, mut key_der) = der::pem::decode_vec(key_pem)
            .map_err(|e| KeyError::BadKey(format!("not a PEM document: {e}")))?;
        if label != "PRIVATE KEY" {
            key_der.fill(0);
            return Err(KeyError::BadKey(format!(
                "expected an unencrypted PKCS#8 \"PRIVATE KEY\" PEM block, found {label:?}"
            )));
        }
        let parsed = parse_private_key(&key_der);
        key_der.fill(0);
        std::hint::black_box(&key_der);
        let (backend, file_kind) = parsed?;

        let (chain, chain_der) = parse_chain(chain_pem)?;
        let leaf = leaf_key(&chain[0])?;
        let public: &[u8] = match &backend {
            Backend::Rsa(kp) => kp.public_key().as_ref(),
            Backend::Ecdsa(kp) => kp.public_key().as_ref(),
            Backend::Pkcs11(_) => return Err(KeyError::BadKey("not a file key".into())),
        };
        let cert_key = chain[0]
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .as_bytes()
            .ok_or(KeyError::KeyMismatch)?;
        if public != cert_key {
            return Err(KeyError::KeyMismatch);
        }
        let algorithm = match (file_kind, &leaf) {
            (FileKind::Rsa { bits, pss }, LeafKey::Rsa { pss: cert_pss, .. }) => {
                rsa_algorithm(bits, pss || *cert_pss || padding == RsaPadding::Pss)
            }
            (FileKind::Ec(curve), LeafKey::Ec { curve: cert_curve }) if curve == *cert_curve => {
                ec_algorithm(curve)?
            }
            _ => return Err(KeyError::KeyMismatch),
        };
        Ok(SealKey {
            backend,
            algorithm,
            chain_der,
            chain,
            rng: SystemRandom::new(),
        })
    }

    /// Opens the private key on a PKCS#11 token (see [`Pkcs11Config`]) with the PEM
    /// certificate chain in `chain` (leaf first). Logs in once, keeps up to
    /// `config.sessions` sessions for concurrent signers, and proves before returning that
    /// the token's key belongs to the leaf certificate (same public key parameters, and a
    /// test signature that verifies with the certificate's key).
    pub fn from_pkcs11(
        config: &Pkcs11Config,
        chain: &Path,
        padding: RsaPadding,
    ) -> Result<Self, KeyError> {
        let chain_pem = read_limited(chain)?;
        let (chain, chain_der) = parse_chain(&chain_pem)?;
        let leaf = leaf_key(&chain[0])?;
        let token = pkcs11::TokenKey::open(config)?;
        let algorithm = match (token.public(), &leaf) {
            (
                pkcs11::TokenPublic::Rsa { modulus, exponent },
                LeafKey::Rsa {
                    modulus: cert_modulus,
                    exponent: cert_exponent,
                    pss,
                },
            ) => {
                if strip_zeros(modulus) != strip_zeros(cert_modulus)
                    || strip_zeros(exponent) != strip_zeros(cert_exponent)
                {
                    return Err(KeyError::KeyMismatch);
                }
                let bits = rsa_bits_checked(bit_len(strip_zeros(modulus)))?;
                rsa_algorithm(bits, *pss || padding == RsaPadding::Pss)
            }
            (pkcs11::TokenPublic::Ec { curve }, LeafKey::Ec { curve: cert_curve }) => {
                if curve != cert_curve {
                    return Err(KeyError::KeyMismatch);
                }
                ec_algorithm(*curve)?
            }
            _ => return Err(KeyError::KeyMismatch),
        };
        let key = SealKey {
            backend: Backend::Pkcs11(token),
            algorithm,
            chain_der,
            chain,
            rng: SystemRandom::new(),
        };
        key.prove_possession()?;
        Ok(key)
    }

    /// Signs a fixed probe and verifies it with the leaf certificate's public key.
    fn prove_possession(&self) -> Result<(), KeyError> {
        const PROBE: &[u8] = b"signgate: proof that the token key belongs to the certificate";
        let sig = self.sign(PROBE)?;
        let spki = self
            .leaf()
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| KeyError::BadChain(e.to_string()))?;
        crate::validation::crypto::verify(&spki, self.algorithm.scheme(), PROBE, &sig)
            .map(|_| ())
            .map_err(|_| KeyError::KeyMismatch)
    }

    /// Signs `data` (for CMS: the DER-encoded signed attributes) with
    /// [`Self::algorithm`]: the digest of `data` is computed here (or by the token), RSA
    /// values are the plain signature block, ECDSA values a DER `Ecdsa-Sig-Value`.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.backend {
            Backend::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                let padding: &'static dyn aws_lc_rs::signature::RsaEncoding = match self.algorithm {
                    KeyAlgorithm::RsaPss { .. } => &RSA_PSS_SHA256,
                    _ => &RSA_PKCS1_SHA256,
                };
                kp.sign(padding, &self.rng, data, &mut sig)
                    .map_err(|_| KeyError::SignFailed)?;
                Ok(sig)
            }
            Backend::Ecdsa(kp) => kp
                .sign(&self.rng, data)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::SignFailed),
            Backend::Pkcs11(token) => {
                let raw = token.sign(self.algorithm, data)?;
                match self.algorithm.ecdsa_width() {
                    // CKM_ECDSA returns r || s; CMS wants the DER Ecdsa-Sig-Value.
                    Some(width) => ecdsa_fixed_to_der(&raw, width).ok_or(KeyError::SignFailed),
                    None => Ok(raw),
                }
            }
        }
    }

    /// The certificate chain as DER, leaf first.
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain_der
    }

    /// The parsed certificate chain, leaf first.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The leaf (seal) certificate.
    pub fn leaf(&self) -> &Certificate {
        // `parse_chain` refuses an empty chain, so index 0 always exists.
        &self.chain[0]
    }

    /// The DER encoding of the leaf certificate.
    pub fn leaf_der(&self) -> &[u8] {
        &self.chain_der[0]
    }

    /// The certificate chain as PEM text, leaf first.
    pub fn chain_pem(&self) -> String {
        use base64::Engine as _;
        let mut out = String::new();
        for der in &self.chain_der {
            out.push_str("-----BEGIN CERTIFICATE-----\n");
            let b64 = base64::engine::general_purpose::STANDARD.encode(der);
            for line in b64.as_bytes().chunks(64) {
                // base64 output is ASCII, so every chunk is valid UTF-8.
                out.push_str(std::str::from_utf8(line).unwrap_or_default());
                out.push('\n');
            }
            out.push_str("-----END CERTIFICATE-----\n");
        }
        out
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The digest algorithm of signatures by this key: SHA-384 for ECDSA P-384, SHA-256
    /// otherwise. A CMS `SignedData` by this key uses it for `digestAlgorithm` and so for the
    /// content digest (callers hash their content with it).
    pub fn digest_algorithm(&self) -> DigestAlg {
        self.algorithm.digest()
    }

    /// The `signatureAlgorithm` to put in a CMS `SignerInfo`: sha256WithRSAEncryption (NULL
    /// parameters), id-RSASSA-PSS with explicit RSASSA-PSS-params (RFC 4056 §2.2:
    /// SHA-256, MGF1 with SHA-256, salt length 32, default trailer), ecdsa-with-SHA256 or
    /// ecdsa-with-SHA384 (no parameters, RFC 5758 §3.2).
    pub fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        match self.algorithm {
            KeyAlgorithm::Rsa { .. } => AlgorithmIdentifierOwned {
                oid: OID_SHA256_WITH_RSA,
                parameters: Some(AnyRef::NULL.into()),
            },
            KeyAlgorithm::RsaPss { .. } => AlgorithmIdentifierOwned {
                oid: OID_RSASSA_PSS,
                parameters: Some(pss_parameters()),
            },
            KeyAlgorithm::EcdsaP256 => AlgorithmIdentifierOwned {
                oid: OID_ECDSA_WITH_SHA256,
                parameters: None,
            },
            KeyAlgorithm::EcdsaP384 => AlgorithmIdentifierOwned {
                oid: OID_ECDSA_WITH_SHA384,
                parameters: None,
            },
        }
    }

    /// The XML-DSig `SignatureMethod` URI of [`Self::sign_xmldsig`] (RFC 6931): rsa-sha256,
    /// sha256-rsa-MGF1 (salt length 32, the digest length, as RFC 6931 §2.3.10 implies
    /// without explicit parameters), ecdsa-sha256 or ecdsa-sha384.
    pub fn xml_signature_method(&self) -> &'static str {
        use crate::trust::xmlsign;
        match self.algorithm {
            KeyAlgorithm::Rsa { .. } => xmlsign::RSA_SHA256,
            KeyAlgorithm::RsaPss { .. } => xmlsign::RSA_PSS_SHA256,
            KeyAlgorithm::EcdsaP256 => xmlsign::ECDSA_SHA256,
            KeyAlgorithm::EcdsaP384 => xmlsign::ECDSA_SHA384,
        }
    }

    /// Signs `data` (canonical `SignedInfo`) for XML-DSig: the same signature as
    /// [`Self::sign`], with ECDSA values re-encoded from DER to the fixed-width `r || s` that
    /// XML-DSig (RFC 4051 §3.3) wants.
    pub fn sign_xmldsig(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let sig = self.sign(data)?;
        match self.algorithm.ecdsa_width() {
            None => Ok(sig),
            Some(width) => ecdsa_der_to_fixed(&sig, width).ok_or(KeyError::SignFailed),
        }
    }

    /// The common name of the leaf certificate's subject, if it has one.
    pub fn subject_common_name(&self) -> Option<String> {
        common_name(self.leaf())
    }
}

/// `bits` when an RSA key of that size is acceptable (at least 2048 bits).
fn rsa_bits_checked(bits: usize) -> Result<usize, KeyError> {
    if bits < 2048 {
        return Err(KeyError::BadKey(format!(
            "RSA key is {bits} bits; at least 2048 are required"
        )));
    }
    Ok(bits)
}

fn rsa_algorithm(bits: usize, pss: bool) -> KeyAlgorithm {
    if pss {
        KeyAlgorithm::RsaPss { bits }
    } else {
        KeyAlgorithm::Rsa { bits }
    }
}

fn ec_algorithm(curve: ObjectIdentifier) -> Result<KeyAlgorithm, KeyError> {
    match curve {
        OID_P256 => Ok(KeyAlgorithm::EcdsaP256),
        OID_P384 => Ok(KeyAlgorithm::EcdsaP384),
        other => Err(KeyError::BadKey(format!(
            "unsupported elliptic curve {other}; use P-256 or P-384"
        ))),
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    crate::validation::cms::tlv::strip_zeros(b)
}

/// Number of significant bits of a big-endian unsigned number without leading zero bytes.
fn bit_len(b: &[u8]) -> usize {
    match b.first() {
        Some(&first) => b.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

/// `Certificate::load_pem_chain`, except that an empty or all-whitespace input is an empty
/// chain: x509-cert 0.2.5 underflows (panics in debug builds) on such input.
pub(crate) fn load_pem_chain(pem: &[u8]) -> Result<Vec<Certificate>, der::Error> {
    if pem.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    Certificate::load_pem_chain(pem)
}

/// Parses a PEM chain, leaf first, each certificate followed by its issuer.
fn parse_chain(chain_pem: &[u8]) -> Result<(Vec<Certificate>, Vec<Vec<u8>>), KeyError> {
    let chain = load_pem_chain(chain_pem)
        .map_err(|e| KeyError::BadChain(format!("cannot parse PEM certificates: {e}")))?;
    if chain.is_empty() {
        return Err(KeyError::BadChain("no certificate found".into()));
    }
    for pair in chain.windows(2) {
        if pair[0].tbs_certificate.issuer != pair[1].tbs_certificate.subject {
            return Err(KeyError::BadChain(
                "certificates are not in order (each certificate must be followed by its issuer)"
                    .into(),
            ));
        }
    }
    let chain_der = chain
        .iter()
        .map(|c| c.to_der())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| KeyError::BadChain(format!("cannot re-encode certificate: {e}")))?;
    Ok((chain, chain_der))
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 A.1.1).
#[derive(der::Sequence)]
struct RsaPublicKey<'a> {
    modulus: der::asn1::UintRef<'a>,
    public_exponent: der::asn1::UintRef<'a>,
}

fn leaf_key(leaf: &Certificate) -> Result<LeafKey, KeyError> {
    let spki = &leaf.tbs_certificate.subject_public_key_info;
    let bad = |m: &str| KeyError::BadChain(format!("leaf certificate public key: {m}"));
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| bad("not a whole number of bytes"))?;
    match spki.algorithm.oid {
        OID_RSA_ENCRYPTION | OID_RSASSA_PSS => {
            let pss = spki.algorithm.oid == OID_RSASSA_PSS;
            if pss
                && let Some(params) = &spki.algorithm.parameters
                && !pss_params_are_ours(params)
            {
                return Err(KeyError::BadChain(
                    "the certificate restricts its RSASSA-PSS key to parameters other than \
                     SHA-256, MGF1-SHA-256, salt length 32"
                        .into(),
                ));
            }
            let pk = RsaPublicKey::from_der(key).map_err(|e| bad(&e.to_string()))?;
            Ok(LeafKey::Rsa {
                modulus: pk.modulus.as_bytes().to_vec(),
                exponent: pk.public_exponent.as_bytes().to_vec(),
                pss,
            })
        }
        OID_EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or_else(|| bad("EC key without a named curve"))?;
            Ok(LeafKey::Ec { curve })
        }
        other => Err(bad(&format!("unsupported algorithm {other}"))),
    }
}

/// `RSASSA-PSS-params` (RFC 4055 §3.1; explicit tags).
#[derive(Clone, Debug, PartialEq, Eq, der::Sequence)]
struct RsassaPssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u32>,
}

fn sha256_identifier() -> AlgorithmIdentifierOwned {
    // RFC 4055's ASN.1 module: sha256Identifier ::= { id-sha256, NULL }; OpenSSL writes the
    // same.
    AlgorithmIdentifierOwned {
        oid: OID_SHA256,
        parameters: Some(AnyRef::NULL.into()),
    }
}

fn our_pss_params() -> RsassaPssParams {
    let mgf1_param = sha256_identifier()
        .to_der()
        .ok()
        .and_then(|d| Any::from_der(&d).ok());
    RsassaPssParams {
        hash_algorithm: Some(sha256_identifier()),
        mask_gen_algorithm: Some(AlgorithmIdentifierOwned {
            oid: OID_MGF1,
            parameters: mgf1_param,
        }),
        salt_length: Some(PSS_SALT_LEN),
        trailer_field: None,
    }
}

/// The DER `RSASSA-PSS-params` of our PSS signatures as an `Any`.
fn pss_parameters() -> Any {
    // Encoding a fixed, well-formed structure cannot fail; fall back to NULL defensively
    // (a verifier would then reject the signature instead of us panicking).
    our_pss_params()
        .to_der()
        .ok()
        .and_then(|d| Any::from_der(&d).ok())
        .unwrap_or_else(|| AnyRef::NULL.into())
}

fn is_sha256(alg: &AlgorithmIdentifierOwned) -> bool {
    alg.oid == OID_SHA256
        && alg
            .parameters
            .as_ref()
            .is_none_or(|p| p.tag() == der::Tag::Null && p.value().is_empty())
}

/// Whether `params` (a certificate's or key's `RSASSA-PSS-params`) allow exactly our PSS
/// signatures: SHA-256, MGF1 with SHA-256, salt length 32, trailer field 1.
fn pss_params_are_ours(params: &Any) -> bool {
    let Ok(p) = params.decode_as::<RsassaPssParams>() else {
        return false;
    };
    let hash_ok = p.hash_algorithm.as_ref().is_some_and(is_sha256);
    let mgf_ok = p.mask_gen_algorithm.as_ref().is_some_and(|m| {
        m.oid == OID_MGF1
            && m.parameters
                .as_ref()
                .and_then(|a| a.decode_as::<AlgorithmIdentifierOwned>().ok())
                .is_some_and(|h| is_sha256(&h))
    });
    hash_ok && mgf_ok && p.salt_length == Some(PSS_SALT_LEN) && p.trailer_field.unwrap_or(1) == 1
}

/// `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` → `r || s`, each left-padded to
/// `width` bytes. `None` when the input is not such a value or a number is too wide.
pub fn ecdsa_der_to_fixed(der_sig: &[u8], width: usize) -> Option<Vec<u8>> {
    use crate::validation::cms::tlv::{self, tag};
    let top = tlv::read_top(der_sig)
        .ok()?
        .expect(tag::SEQUENCE, "Ecdsa-Sig-Value")
        .ok()?;
    let mut r = top.reader();
    let mut out = Vec::with_capacity(2 * width);
    for name in ["r", "s"] {
        let int = r.required(name).ok()?.expect(tag::INTEGER, name).ok()?;
        let digits = tlv::strip_zeros(int.body);
        if digits.len() > width {
            return None;
        }
        out.extend(std::iter::repeat_n(0u8, width - digits.len()));
        out.extend_from_slice(digits);
    }
    if r.next().ok()?.is_some() {
        return None;
    }
    Some(out)
}

/// `r || s` (each `width` bytes) → DER `Ecdsa-Sig-Value`. `None` when the length is not
/// `2 * width` or a number is zero.
pub fn ecdsa_fixed_to_der(raw: &[u8], width: usize) -> Option<Vec<u8>> {
    use crate::validation::cms::tlv::push_len;
    if raw.len() != 2 * width {
        return None;
    }
    let mut body = Vec::with_capacity(2 * width + 8);
    for half in raw.chunks(width) {
        let digits = strip_zeros(half);
        if digits.iter().all(|&b| b == 0) {
            return None;
        }
        body.push(0x02);
        let pad = digits[0] & 0x80 != 0;
        push_len(&mut body, digits.len() + usize::from(pad));
        if pad {
            body.push(0);
        }
        body.extend_from_slice(digits);
    }
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(0x30);
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    Some(out)
}

fn common_name(cert: &Certificate) -> Option<String> {
    const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
    for rdn in cert.tbs_certificate.subject.0.iter() {
        for atv in rdn.0.iter() {
            if atv.oid == CN {
                if let Ok(s) = atv.value.decode_as::<der::asn1::Utf8StringRef<'_>>() {
                    return Some(s.as_str().to_owned());
                }
                if let Ok(s) = atv.value.decode_as::<der::asn1::PrintableStringRef<'_>>() {
                    return Some(s.as_str().to_owned());
                }
            }
        }
    }
    None
}

/// What kind of key a PKCS#8 file holds.
#[derive(Debug, Clone, Copy)]
enum FileKind {
    /// `pss`: the PKCS#8 algorithm is id-RSASSA-PSS.
    Rsa {
        bits: usize,
        pss: bool,
    },
    Ec(ObjectIdentifier),
}

fn parse_private_key(der: &[u8]) -> Result<(Backend, FileKind), KeyError> {
    // Look at the PKCS#8 algorithm to pick the right parser and give a precise error.
    let head = PrivateKeyInfoHead::from_der(der)
        .map_err(|_| KeyError::BadKey("not a PKCS#8 PrivateKeyInfo".into()))?;
    let oid = head.algorithm.oid;
    let rsa = |kp: RsaKeyPair, pss: bool| {
        let bits = rsa_bits_checked(kp.public_modulus_len() * 8)?;
        Ok((Backend::Rsa(kp), FileKind::Rsa { bits, pss }))
    };
    if oid == OID_RSA_ENCRYPTION {
        let kp = RsaKeyPair::from_pkcs8(der)
            .map_err(|e| KeyError::BadKey(format!("invalid RSA key: {e}")))?;
        rsa(kp, false)
    } else if oid == OID_RSASSA_PSS {
        // An id-RSASSA-PSS PKCS#8 key (RFC 4055 §1.2): the privateKey is an RSAPrivateKey;
        // its parameters, if any, must allow our PSS signatures.
        if let Some(params) = head.algorithm.parameters
            && !pss_params_are_ours(&Any::from(params))
        {
            return Err(KeyError::BadKey(
                "the RSASSA-PSS key is restricted to parameters other than SHA-256, \
                 MGF1-SHA-256, salt length 32"
                    .into(),
            ));
        }
        let kp = RsaKeyPair::from_der(head.private_key.as_bytes())
            .map_err(|e| KeyError::BadKey(format!("invalid RSASSA-PSS key: {e}")))?;
        rsa(kp, true)
    } else if oid == OID_EC_PUBLIC_KEY {
        let curve = head
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .ok_or_else(|| KeyError::BadKey("EC key without a named curve".into()))?;
        let alg = match curve {
            OID_P256 => &ECDSA_P256_SHA256_ASN1_SIGNING,
            OID_P384 => &ECDSA_P384_SHA384_ASN1_SIGNING,
            other => {
                return Err(KeyError::BadKey(format!(
                    "unsupported elliptic curve {other}; use P-256 or P-384"
                )));
            }
        };
        let kp = EcdsaKeyPair::from_pkcs8(alg, der)
            .map_err(|e| KeyError::BadKey(format!("not a usable ECDSA key: {e}")))?;
        Ok((Backend::Ecdsa(kp), FileKind::Ec(curve)))
    } else {
        Err(KeyError::BadKey(format!(
            "unsupported key algorithm {oid}; use RSA, RSASSA-PSS or ECDSA P-256/P-384"
        )))
    }
}

/// The head of a PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey` (RFC 5958).
#[derive(der::Sequence)]
struct PrivateKeyInfoHead<'a> {
    version: u8,
    algorithm: spki::AlgorithmIdentifierRef<'a>,
    private_key: der::asn1::OctetStringRef<'a>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    attributes: Option<AnyRef<'a>>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    public_key: Option<AnyRef<'a>>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn ecdsa_signatures_re_encode_to_fixed_width() {
        // r = 0x00ff.. (leading zero for the sign), s = 0x01 (short): padded to 32 bytes each.
        let mut der_sig = vec![0x30, 0x26, 0x02, 0x21, 0x00];
        der_sig.extend([0xffu8; 32]);
        der_sig.extend([0x02, 0x01, 0x01]);
        let fixed = ecdsa_der_to_fixed(&der_sig, 32).unwrap();
        assert_eq!(fixed.len(), 64);
        assert_eq!(&fixed[..32], &[0xffu8; 32]);
        assert_eq!(fixed[63], 1);
        assert!(fixed[32..63].iter().all(|b| *b == 0));
        assert_eq!(ecdsa_der_to_fixed(&der_sig, 31), None);
        assert_eq!(ecdsa_der_to_fixed(b"\x30\x00", 32), None);
        assert_eq!(ecdsa_der_to_fixed(b"garbage", 32), None);
    }

    use super::*;

    #[test]
    fn empty_chain_files_are_refused_not_panicked_on() {
        for pem in [&b""[..], b"\n", b" \r\n\t\n"] {
            assert!(matches!(
                parse_chain(pem),
                Err(KeyError::BadChain(m)) if m == "no certificate found"
            ));
        }
        // An empty chain next to a development key is re-issued for that key.
        let dir = tempfile::tempdir().unwrap();
        let first = ensure_dev_pki(dir.path(), None).unwrap();
        let key_before = fs::read(&first.tsa_key).unwrap();
        fs::write(&first.tsa_chain, "").unwrap();
        let again = ensure_dev_pki(dir.path(), None).unwrap();
        assert_eq!(fs::read(&again.tsa_key).unwrap(), key_before);
        SealKey::from_files(&again.tsa_key, &again.tsa_chain).unwrap();
    }

    #[test]
    fn dev_pki_is_created_once_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let p = ensure_dev_pki(dir.path(), None).unwrap();
        let chain1 = fs::read(&p.seal_chain).unwrap();
        let p2 = ensure_dev_pki(dir.path(), None).unwrap();
        assert_eq!(p, p2);
        assert_eq!(
            chain1,
            fs::read(&p.seal_chain).unwrap(),
            "second call must reuse files"
        );

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for k in [&p.seal_key, &p.root_key] {
                let mode = fs::metadata(k).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", k.display());
            }
        }
        let key = SealKey::from_files(&p.seal_key, &p.seal_chain).unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::Rsa { bits: 2048 });
        assert_eq!(key.chain_der().len(), 2);
        assert_eq!(
            key.subject_common_name().as_deref(),
            Some("signgate Development Seal")
        );
        let sig = key.sign(b"hello").unwrap();
        assert_eq!(sig.len(), 256);
        // Round trip of the PEM chain.
        let again = Certificate::load_pem_chain(key.chain_pem().as_bytes()).unwrap();
        assert_eq!(again.len(), 2);

        // The seal certificate must carry the attributes the brief asks for.
        let leaf = key.leaf();
        let org_id = leaf
            .tbs_certificate
            .subject
            .0
            .iter()
            .flat_map(|rdn| rdn.0.iter())
            .find(|atv| atv.oid == ObjectIdentifier::new_unwrap("2.5.4.97"))
            .unwrap();
        let org_id: der::asn1::Utf8StringRef<'_> = org_id.value.decode_as().unwrap();
        assert_eq!(org_id.as_str(), "NTRNO-000000000");
        let exts = leaf.tbs_certificate.extensions.as_ref().unwrap();
        let ku = exts
            .iter()
            .find(|e| e.extn_id == ObjectIdentifier::new_unwrap("2.5.29.15"))
            .unwrap();
        assert!(ku.critical);
        for oid in ["2.5.29.14", "2.5.29.35"] {
            assert!(
                exts.iter()
                    .any(|e| e.extn_id == ObjectIdentifier::new_unwrap(oid)),
                "{oid}"
            );
        }
        // Leaf is issued by the root.
        assert_eq!(
            leaf.tbs_certificate.issuer,
            key.chain()[1].tbs_certificate.subject
        );
    }

    #[test]
    fn mismatched_key_is_refused() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let pa = ensure_dev_pki(a.path(), None).unwrap();
        let pb = ensure_dev_pki(b.path(), None).unwrap();
        let err = SealKey::from_files(&pa.seal_key, &pb.seal_chain).unwrap_err();
        assert!(matches!(err, KeyError::KeyMismatch), "{err}");
        // Root key (ECDSA) with the seal chain: also a mismatch.
        let err = SealKey::from_files(&pa.root_key, &pa.seal_chain).unwrap_err();
        assert!(matches!(err, KeyError::KeyMismatch), "{err}");
        // An ECDSA key with its own certificate loads fine.
        let k = SealKey::from_files(&pa.root_key, &pa.root_cert).unwrap();
        assert_eq!(k.algorithm(), KeyAlgorithm::EcdsaP256);
        assert!(!k.sign(b"x").unwrap().is_empty());
    }

    #[test]
    fn garbage_key_files_are_errors() {
        assert!(SealKey::from_pem(b"nonsense", b"nonsense").is_err());
        assert!(
            SealKey::from_pem(
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                b""
            )
            .is_err()
        );
        assert!(
            SealKey::from_pem(
                b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
                b""
            )
            .is_err()
        );
    }

    /// A self-signed certificate (PEM) for a fresh rcgen key of `alg`, and the key (PEM).
    fn self_signed(alg: &'static rcgen::SignatureAlgorithm) -> (String, String) {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["seal.test".into()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "P-384 test seal");
        let cert = params.self_signed(&key).unwrap();
        (key.serialize_pem(), cert.pem())
    }

    fn verifies(key: &SealKey, data: &[u8], sig: &[u8]) -> bool {
        verifies_as(key, key.algorithm().scheme(), data, sig)
    }

    /// Whether `sig` verifies under the leaf's public key with `scheme`.
    fn verifies_as(key: &SealKey, scheme: Scheme, data: &[u8], sig: &[u8]) -> bool {
        let spki = key
            .leaf()
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap();
        crate::validation::crypto::verify(&spki, scheme, data, sig).is_ok()
    }

    #[test]
    fn p384_file_key_signs_with_sha384() {
        let (key_pem, cert_pem) = self_signed(&rcgen::PKCS_ECDSA_P384_SHA384);
        let key = SealKey::from_pem(key_pem.as_bytes(), cert_pem.as_bytes()).unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP384);
        assert_eq!(key.digest_algorithm(), DigestAlg::Sha384);
        assert_eq!(key.signature_algorithm().oid, OID_ECDSA_WITH_SHA384);
        assert!(key.signature_algorithm().parameters.is_none());
        assert_eq!(
            key.xml_signature_method(),
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
        );
        let sig = key.sign(b"attributes").unwrap();
        assert!(verifies(&key, b"attributes", &sig));
        assert!(!verifies(&key, b"attributez", &sig));
        // A SHA-256 verifier must not accept it: the digest really is SHA-384.
        assert!(!verifies_as(
            &key,
            Scheme::Ecdsa(DigestAlg::Sha256),
            b"attributes",
            &sig
        ));
        // XML-DSig: r || s, 48 bytes each, the same signature re-encoded.
        let xml = key.sign_xmldsig(b"signed info").unwrap();
        assert_eq!(xml.len(), 96);
        let der = ecdsa_fixed_to_der(&xml, 48).unwrap();
        assert!(verifies(&key, b"signed info", &der));
    }

    #[test]
    fn rsa_pss_by_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let p = ensure_dev_pki(dir.path(), None).unwrap();
        let key = SealKey::from_files_with(&p.seal_key, &p.seal_chain, RsaPadding::Pss).unwrap();
        assert_eq!(key.algorithm(), KeyAlgorithm::RsaPss { bits: 2048 });
        assert_eq!(key.digest_algorithm(), DigestAlg::Sha256);
        let alg = key.signature_algorithm();
        assert_eq!(alg.oid, OID_RSASSA_PSS);
        // RFC 4055 RSASSA-PSS-params for SHA-256 / MGF1-SHA-256 / salt 32, byte for byte as
        // OpenSSL writes them (`openssl ... -sigopt rsa_padding_mode:pss`).
        assert_eq!(
            hex::encode(alg.parameters.as_ref().unwrap().to_der().unwrap()),
            "3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d060960\
             86480165030402010500a203020120"
        );
        assert!(pss_params_are_ours(alg.parameters.as_ref().unwrap()));
        assert_eq!(
            key.xml_signature_method(),
            "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"
        );
        let sig = key.sign(b"attributes").unwrap();
        assert!(verifies(&key, b"attributes", &sig));
        // Not a PKCS#1 v1.5 signature.
        assert!(!verifies_as(
            &key,
            Scheme::RsaPkcs1(DigestAlg::Sha256),
            b"attributes",
            &sig
        ));
        // PSS is randomised: two signatures differ, both verify.
        let again = key.sign(b"attributes").unwrap();
        assert_ne!(sig, again);
        assert!(verifies(&key, b"attributes", &again));
        assert_eq!(key.sign_xmldsig(b"x").unwrap().len(), 256);
    }

    #[test]
    fn foreign_pss_parameters_are_not_ours() {
        // SHA-384 hash, MGF1-SHA-384, salt 48.
        let der = hex::decode(
            "3034a00f300d06096086480165030402020500a11c301a06092a864886f70d010108300d060960\
             86480165030402020500a203020130",
        )
        .unwrap();
        assert!(!pss_params_are_ours(&Any::from_der(&der).unwrap()));
        // Salt 20 with SHA-256.
        let der = hex::decode(
            "3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d060960\
             86480165030402010500a203020114",
        )
        .unwrap();
        assert!(!pss_params_are_ours(&Any::from_der(&der).unwrap()));
        // Absent hash parameters are the same algorithm as NULL ones (RFC 4055 §2.1).
        let der = hex::decode(
            "3030a00d300b0609608648016503040201a11a301806092a864886f70d010108300b0609608648\
             016503040201a203020120",
        )
        .unwrap();
        assert!(pss_params_are_ours(&Any::from_der(&der).unwrap()));
    }

    #[test]
    fn ecdsa_fixed_and_der_round_trip() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r needs a sign byte
        raw[63] = 7; // s is short
        let der = ecdsa_fixed_to_der(&raw, 32).unwrap();
        assert_eq!(&der[..5], &[0x30, 0x26, 0x02, 0x21, 0x00]);
        assert_eq!(ecdsa_der_to_fixed(&der, 32).unwrap(), raw);
        assert_eq!(ecdsa_fixed_to_der(&raw[..63], 32), None);
        assert_eq!(ecdsa_fixed_to_der(&[0u8; 64], 32), None);
    }

    #[test]
    fn dev_pki_crl_distribution_point_and_crl() {
        let dir = tempfile::tempdir().unwrap();
        let p = ensure_dev_pki(dir.path(), None).unwrap();
        let seal_key_pem = fs::read(&p.seal_key).unwrap();
        let tsa_key_pem = fs::read(&p.tsa_key).unwrap();
        let root = fs::read(&p.root_cert).unwrap();
        let leaf =
            |path: &Path| Certificate::load_pem_chain(&fs::read(path).unwrap()).unwrap()[0].clone();
        assert!(dev::crl_urls(&leaf(&p.seal_chain)).is_empty());

        // A URL: both leaves are re-issued with it, for the same keys, under the same root.
        let url = "http://127.0.0.1:8080/dev-ca.crl";
        let p2 = ensure_dev_pki(dir.path(), Some(url)).unwrap();
        assert_eq!(p, p2);
        assert_eq!(dev::crl_urls(&leaf(&p.seal_chain)), vec![url.to_string()]);
        assert_eq!(dev::crl_urls(&leaf(&p.tsa_chain)), vec![url.to_string()]);
        assert_eq!(fs::read(&p.seal_key).unwrap(), seal_key_pem);
        assert_eq!(fs::read(&p.tsa_key).unwrap(), tsa_key_pem);
        assert_eq!(fs::read(&p.root_cert).unwrap(), root);
        SealKey::from_files(&p.seal_key, &p.seal_chain).unwrap();
        SealKey::from_files(&p.tsa_key, &p.tsa_chain).unwrap();
        // Same URL again: nothing changes.
        let chain = fs::read(&p.seal_chain).unwrap();
        ensure_dev_pki(dir.path(), Some(url)).unwrap();
        assert_eq!(fs::read(&p.seal_chain).unwrap(), chain);
        // Another URL: re-issued again.
        ensure_dev_pki(dir.path(), Some("http://localhost:9/x.crl")).unwrap();
        assert_eq!(
            dev::crl_urls(&leaf(&p.seal_chain)),
            vec!["http://localhost:9/x.crl".to_string()]
        );

        // The CRL: signed by the root, issuer = root subject, 7 days, v2 with a CRL number.
        let now = time::OffsetDateTime::now_utc();
        let crl_der = dev_crl(&p, now).unwrap();
        let crl = x509_cert::crl::CertificateList::from_der(&crl_der).unwrap();
        let root_cert = Certificate::load_pem_chain(&root).unwrap().remove(0);
        assert_eq!(crl.tbs_cert_list.issuer, root_cert.tbs_certificate.subject);
        assert!(crl.tbs_cert_list.revoked_certificates.is_none());
        let this = crl.tbs_cert_list.this_update.to_unix_duration().as_secs() as i64;
        let next = crl
            .tbs_cert_list
            .next_update
            .unwrap()
            .to_unix_duration()
            .as_secs() as i64;
        assert_eq!(this, now.unix_timestamp());
        assert_eq!(next - this, 7 * 24 * 3600);
        let exts = crl.tbs_cert_list.crl_extensions.as_ref().unwrap();
        for oid in ["2.5.29.20", "2.5.29.35"] {
            assert!(
                exts.iter()
                    .any(|e| e.extn_id == ObjectIdentifier::new_unwrap(oid)),
                "{oid}"
            );
        }
        let root_spki = root_cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap();
        crate::validation::crypto::verify_signed_object(&crl_der, &root_spki).unwrap();
    }

    #[test]
    fn debug_shows_no_secrets() {
        let pin = Pin::new("0123-secret");
        assert_eq!(format!("{pin:?}"), "<redacted>");
        let dir = tempfile::tempdir().unwrap();
        let p = ensure_dev_pki(dir.path(), None).unwrap();
        let key = SealKey::from_files(&p.seal_key, &p.seal_chain).unwrap();
        let dbg = format!("{key:?}");
        assert!(dbg.contains("Rsa") && dbg.contains("file"), "{dbg}");
        assert!(!dbg.contains("PRIVATE"), "{dbg}");
    }

    #[test]
    fn missing_pkcs11_module_is_a_clear_error() {
        let cfg = Pkcs11Config {
            module: "/nonexistent/libpkcs11.so".into(),
            token_label: "t".into(),
            key_label: Some("k".into()),
            key_id: None,
            pin: Some(Pin::new("1234")),
            pin_file: None,
            sessions: 1,
        };
        let dir = tempfile::tempdir().unwrap();
        let p = ensure_dev_pki(dir.path(), None).unwrap();
        let err = SealKey::from_pkcs11(&cfg, &p.seal_chain, RsaPadding::Pkcs1).unwrap_err();
        assert!(matches!(err, KeyError::Pkcs11Module { .. }), "{err}");
        assert!(
            err.to_string().contains("/nonexistent/libpkcs11.so"),
            "{err}"
        );
    }
}
