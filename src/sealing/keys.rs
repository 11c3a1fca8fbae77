//! Seal key providers: loading the seal private key and its certificate chain from PEM files,
//! signing with it through aws-lc-rs, and generating a development PKI.
//!
//! This file owns key material handling only. It must not build CMS or PDF structures, must not
//! log or return private key bytes, and must never write a key file non-atomically or with
//! permissions wider than 0600.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use const_oid::ObjectIdentifier;
use der::asn1::AnyRef;
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

/// rsaEncryption (RFC 8017).
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// sha256WithRSAEncryption (RFC 4055).
const OID_SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// id-ecPublicKey (RFC 5480).
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1 (RFC 5480).
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// ecdsa-with-SHA256 (RFC 5758).
const OID_ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// Largest key or chain file we are willing to read.
const MAX_PEM_FILE: u64 = 1024 * 1024;

/// Errors from loading keys, signing, or creating the development PKI.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key or certificate file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File involved.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The private key file is not a PKCS#8 PEM key we can use.
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

/// The kind of key behind a [`SealKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA (≥ 2048 bits), signing with PKCS#1 v1.5 and SHA-256.
    Rsa {
        /// Modulus size in bits.
        bits: usize,
    },
    /// ECDSA on P-256 with SHA-256, ASN.1 (DER) signatures.
    EcdsaP256,
}

enum Signer {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
}

/// A seal private key together with its certificate chain (leaf first).
pub struct SealKey {
    signer: Signer,
    algorithm: KeyAlgorithm,
    chain_der: Vec<Vec<u8>>,
    chain: Vec<Certificate>,
    rng: SystemRandom,
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealKey")
            .field("algorithm", &self.algorithm)
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

impl SealKey {
    /// Loads a PKCS#8 PEM private key (RSA ≥ 2048 or ECDSA P-256) and a PEM certificate chain
    /// (leaf first, root last). Refuses a key that does not match the leaf certificate.
    pub fn from_files(key: &Path, chain: &Path) -> Result<Self, KeyError> {
        let mut key_pem = read_limited(key)?;
        let chain_pem = read_limited(chain)?;
        let result = Self::from_pem(&key_pem, &chain_pem);
        key_pem.fill(0);
        std::hint::black_box(&key_pem);
        result
    }

    /// Same as [`SealKey::from_files`] but from in-memory PEM text.
    pub fn from_pem(key_pem: &[u8], chain_pem: &[u8]) -> Result<Self, KeyError> {
        let (label, mut key_der) = der::pem::decode_vec(key_pem)
            .map_err(|e| KeyError::BadKey(format!("not a PEM document: {e}")))?;
        if label != "PRIVATE KEY" {
            key_der.fill(0);
            return Err(KeyError::BadKey(format!(
                "expected an unencrypted PKCS#8 \"PRIVATE KEY\" PEM block, found {label:?}"
            )));
        }
        let signer = parse_private_key(&key_der);
        key_der.fill(0);
        std::hint::black_box(&key_der);
        let (signer, algorithm) = signer?;

        let chain = Certificate::load_pem_chain(chain_pem)
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

        let key = SealKey {
            signer,
            algorithm,
            chain_der,
            chain,
            rng: SystemRandom::new(),
        };
        key.check_leaf_matches()?;
        Ok(key)
    }

    fn check_leaf_matches(&self) -> Result<(), KeyError> {
        let spki = &self.leaf().tbs_certificate.subject_public_key_info;
        let Some(cert_key) = spki.subject_public_key.as_bytes() else {
            return Err(KeyError::KeyMismatch);
        };
        let ok = match &self.signer {
            Signer::Rsa(kp) => {
                spki.algorithm.oid == OID_RSA_ENCRYPTION && kp.public_key().as_ref() == cert_key
            }
            Signer::Ecdsa(kp) => {
                let curve_ok = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                    == Some(OID_P256);
                spki.algorithm.oid == OID_EC_PUBLIC_KEY
                    && curve_ok
                    && kp.public_key().as_ref() == cert_key
            }
        };
        if ok {
            Ok(())
        } else {
            Err(KeyError::KeyMismatch)
        }
    }

    /// Signs `data` (the DER-encoded signed attributes): RSA PKCS#1 v1.5 with SHA-256, or ECDSA
    /// P-256 with SHA-256 and an ASN.1 DER signature.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.signer {
            Signer::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, &self.rng, data, &mut sig)
                    .map_err(|_| KeyError::SignFailed)?;
                Ok(sig)
            }
            Signer::Ecdsa(kp) => kp
                .sign(&self.rng, data)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::SignFailed),
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
        // `from_pem` refuses an empty chain, so index 0 always exists.
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

    /// The kind of key.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The `signatureAlgorithm` to put in a CMS `SignerInfo`: sha256WithRSAEncryption (with
    /// NULL parameters) or ecdsa-with-SHA256 (no parameters).
    pub fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        match self.algorithm {
            KeyAlgorithm::Rsa { .. } => AlgorithmIdentifierOwned {
                oid: OID_SHA256_WITH_RSA,
                parameters: Some(AnyRef::NULL.into()),
            },
            KeyAlgorithm::EcdsaP256 => AlgorithmIdentifierOwned {
                oid: OID_ECDSA_WITH_SHA256,
                parameters: None,
            },
        }
    }

    /// The XML-DSig `SignatureMethod` URI of [`Self::sign_xmldsig`].
    pub fn xml_signature_method(&self) -> &'static str {
        match self.algorithm {
            KeyAlgorithm::Rsa { .. } => crate::trust::xmlsign::RSA_SHA256,
            KeyAlgorithm::EcdsaP256 => crate::trust::xmlsign::ECDSA_SHA256,
        }
    }

    /// Signs `data` (canonical `SignedInfo`) for XML-DSig: the same signature as
    /// [`Self::sign`], with ECDSA values re-encoded from DER to the fixed-width `r || s` that
    /// XML-DSig (RFC 4051 §3.3) wants.
    pub fn sign_xmldsig(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let sig = self.sign(data)?;
        match self.algorithm {
            KeyAlgorithm::Rsa { .. } => Ok(sig),
            KeyAlgorithm::EcdsaP256 => ecdsa_der_to_fixed(&sig, 32).ok_or(KeyError::SignFailed),
        }
    }

    /// The common name of the leaf certificate's subject, if it has one.
    pub fn subject_common_name(&self) -> Option<String> {
        common_name(self.leaf())
    }
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

fn parse_private_key(der: &[u8]) -> Result<(Signer, KeyAlgorithm), KeyError> {
    // Look at the PKCS#8 algorithm OID to pick the right parser and give a precise error.
    let info = pkcs8_algorithm(der)?;
    if info == OID_RSA_ENCRYPTION {
        let kp = RsaKeyPair::from_pkcs8(der)
            .map_err(|e| KeyError::BadKey(format!("invalid RSA key: {e}")))?;
        let bits = kp.public_modulus_len() * 8;
        if bits < 2048 {
            return Err(KeyError::BadKey(format!(
                "RSA key is {bits} bits; at least 2048 are required"
            )));
        }
        Ok((Signer::Rsa(kp), KeyAlgorithm::Rsa { bits }))
    } else if info == OID_EC_PUBLIC_KEY {
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
            .map_err(|e| KeyError::BadKey(format!("not a usable ECDSA P-256 key: {e}")))?;
        Ok((Signer::Ecdsa(kp), KeyAlgorithm::EcdsaP256))
    } else {
        Err(KeyError::BadKey(format!(
            "unsupported key algorithm {info}; use RSA or ECDSA P-256"
        )))
    }
}

/// Reads the algorithm OID of a PKCS#8 `PrivateKeyInfo` without touching the key itself.
fn pkcs8_algorithm(der: &[u8]) -> Result<ObjectIdentifier, KeyError> {
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
    let info = PrivateKeyInfoHead::from_der(der)
        .map_err(|_| KeyError::BadKey("not a PKCS#8 PrivateKeyInfo".into()))?;
    let _ = (
        info.version,
        info.private_key,
        info.attributes,
        info.public_key,
    );
    Ok(info.algorithm.oid)
}

/// Where [`ensure_dev_pki`] put its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPkiPaths {
    /// Self-signed development root CA certificate (PEM).
    pub root_cert: PathBuf,
    /// Private key of the development root CA (PKCS#8 PEM, mode 0600).
    pub root_key: PathBuf,
    /// Private key of the seal certificate (PKCS#8 PEM, mode 0600).
    pub seal_key: PathBuf,
    /// Seal certificate followed by the root certificate (PEM).
    pub seal_chain: PathBuf,
    /// Private key of the development time-stamping unit (PKCS#8 PEM, mode 0600).
    pub tsa_key: PathBuf,
    /// Time-stamping unit certificate (critical extendedKeyUsage timeStamping) followed by the
    /// root certificate (PEM).
    pub tsa_chain: PathBuf,
}

impl DevPkiPaths {
    fn new(dir: &Path) -> Self {
        DevPkiPaths {
            root_cert: dir.join("dev-root-ca.pem"),
            root_key: dir.join("dev-root-ca.key"),
            seal_key: dir.join("seal.key"),
            seal_chain: dir.join("seal-chain.pem"),
            tsa_key: dir.join("tsa.key"),
            tsa_chain: dir.join("tsa-chain.pem"),
        }
    }
}

/// Creates a development PKI under `dir` on first use and reuses it afterwards.
///
/// Generates a self-signed root CA (ECDSA P-256, 10 years), a seal certificate issued by it
/// for an RSA-2048 key (3 years) and a time-stamping unit certificate for an ECDSA P-256 key
/// (3 years, critical extendedKeyUsage timeStamping as RFC 3161 §2.3 requires). Every file is
/// written atomically (temporary file + rename); key files get mode 0600. Each chain file is
/// written after its key and marks that part complete; missing parts are added to an existing
/// directory.
pub fn ensure_dev_pki(dir: &Path) -> Result<DevPkiPaths, KeyError> {
    let paths = DevPkiPaths::new(dir);
    create_private_dir(dir)?;
    let have = |p: &Path| p.is_file();
    if have(&paths.root_cert)
        && have(&paths.root_key)
        && have(&paths.seal_key)
        && have(&paths.seal_chain)
        && have(&paths.tsa_key)
        && have(&paths.tsa_chain)
    {
        return Ok(paths);
    }

    let dev = |e: rcgen::Error| KeyError::DevPki(e.to_string());
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());

    // Root CA: reuse an existing one if both halves are there, else make a fresh one.
    let (root_key, root_params) = if have(&paths.root_cert) && have(&paths.root_key) {
        let pem =
            fs::read_to_string(&paths.root_key).map_err(|e| KeyError::io(&paths.root_key, e))?;
        let key = rcgen::KeyPair::from_pem(&pem).map_err(dev)?;
        (key, root_ca_params(now)?)
    } else {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(dev)?;
        let params = root_ca_params(now)?;
        let cert = params.self_signed(&key).map_err(dev)?;
        write_atomic(&paths.root_key, key.serialize_pem().as_bytes(), 0o600)?;
        write_atomic(&paths.root_cert, cert.pem().as_bytes(), 0o644)?;
        (key, params)
    };
    let root_pem =
        fs::read_to_string(&paths.root_cert).map_err(|e| KeyError::io(&paths.root_cert, e))?;
    let issuer = rcgen::Issuer::new(root_params, &root_key);

    let with_root = |leaf_pem: String| {
        let mut chain = leaf_pem;
        if !chain.ends_with('\n') {
            chain.push('\n');
        }
        chain.push_str(&root_pem);
        chain
    };
    if !(have(&paths.seal_key) && have(&paths.seal_chain)) {
        let seal_key =
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .map_err(dev)?;
        let seal_cert = seal_params(now)?
            .signed_by(&seal_key, &issuer)
            .map_err(dev)?;
        write_atomic(&paths.seal_key, seal_key.serialize_pem().as_bytes(), 0o600)?;
        write_atomic(
            &paths.seal_chain,
            with_root(seal_cert.pem()).as_bytes(),
            0o644,
        )?;
    }
    if !(have(&paths.tsa_key) && have(&paths.tsa_chain)) {
        let tsa_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(dev)?;
        let tsa_cert = tsa_params(now)?.signed_by(&tsa_key, &issuer).map_err(dev)?;
        write_atomic(&paths.tsa_key, tsa_key.serialize_pem().as_bytes(), 0o600)?;
        write_atomic(
            &paths.tsa_chain,
            with_root(tsa_cert.pem()).as_bytes(),
            0o644,
        )?;
    }
    tracing::info!(dir = %dir.display(), "created development seal PKI");
    Ok(paths)
}

fn random_serial() -> Result<rcgen::SerialNumber, KeyError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| KeyError::DevPki("random number generator failed".into()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40; // positive, no leading zero byte
    Ok(rcgen::SerialNumber::from_slice(&bytes))
}

fn country_no() -> Result<rcgen::DnValue, KeyError> {
    // RFC 5280: countryName is a PrintableString.
    rcgen::string::PrintableString::try_from("NO")
        .map(rcgen::DnValue::PrintableString)
        .map_err(|e| KeyError::DevPki(e.to_string()))
}

fn root_ca_params(now: time::OffsetDateTime) -> Result<rcgen::CertificateParams, KeyError> {
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, country_no()?);
    dn.push(
        rcgen::DnType::OrganizationName,
        "signgate (development only)",
    );
    dn.push(rcgen::DnType::CommonName, "signgate Development Root CA");
    params.distinguished_name = dn;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(3652);
    params.serial_number = Some(random_serial()?);
    Ok(params)
}

fn seal_params(now: time::OffsetDateTime) -> Result<rcgen::CertificateParams, KeyError> {
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, country_no()?);
    dn.push(rcgen::DnType::OrganizationName, "signgate development");
    // organizationIdentifier (ETSI EN 319 412-1 §5.1.4): legal person semantics identifier.
    dn.push(
        rcgen::DnType::CustomDnType(vec![2, 5, 4, 97]),
        rcgen::DnValue::Utf8String("NTRNO-000000000".into()),
    );
    dn.push(rcgen::DnType::CommonName, "signgate Development Seal");
    params.distinguished_name = dn;
    // ExplicitNoCa makes rcgen write basicConstraints CA:false and a subject key identifier.
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::ContentCommitment,
    ];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(3 * 365);
    params.serial_number = Some(random_serial()?);
    Ok(params)
}

/// The development time-stamping unit: RFC 3161 §2.3 wants exactly one extendedKeyUsage,
/// id-kp-timeStamping, marked critical (rcgen writes EKUs non-critical, hence the raw extension).
fn tsa_params(now: time::OffsetDateTime) -> Result<rcgen::CertificateParams, KeyError> {
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CountryName, country_no()?);
    dn.push(rcgen::DnType::OrganizationName, "signgate development");
    dn.push(rcgen::DnType::CommonName, "signgate Development TSU");
    params.distinguished_name = dn;
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::ContentCommitment,
    ];
    // SEQUENCE { OID 1.3.6.1.5.5.7.3.8 }
    let eku_value = vec![
        0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
    ];
    let mut eku = rcgen::CustomExtension::from_oid_content(&[2, 5, 29, 37], eku_value);
    eku.set_criticality(true);
    params.custom_extensions = vec![eku];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(3 * 365);
    params.serial_number = Some(random_serial()?);
    Ok(params)
}

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| KeyError::io(dir, e))
}

/// Writes `data` to `path` atomically: a new temporary file in the same directory, fsync,
/// rename over the target, fsync of the directory.
fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), KeyError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut suffix = [0u8; 8];
    SystemRandom::new()
        .fill(&mut suffix)
        .map_err(|_| KeyError::DevPki("random number generator failed".into()))?;
    let tmp = dir.join(format!(".{name}.{}.tmp", hex::encode(suffix)));

    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e: std::io::Error| {
        let _ = fs::remove_file(&tmp);
        KeyError::io(path, e)
    })
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
    fn dev_pki_is_created_once_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let p = ensure_dev_pki(dir.path()).unwrap();
        let chain1 = fs::read(&p.seal_chain).unwrap();
        let p2 = ensure_dev_pki(dir.path()).unwrap();
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
        let pa = ensure_dev_pki(a.path()).unwrap();
        let pb = ensure_dev_pki(b.path()).unwrap();
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
}
