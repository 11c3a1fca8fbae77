//! eIDAS-node login over SAML 2.0: this gateway as a service provider (SP).
//!
//! Owns: our SP keys and SP metadata ([`SamlSp::metadata_xml`], signed), the eIDAS node's
//! metadata (fetched, signature-checked against `eidas.idp_metadata_signer`, `validUntil`
//! honoured, refreshed; it pins the node's signing certificates and SSO endpoints),
//! signed eIDAS `AuthnRequest`s over the HTTP-POST and HTTP-Redirect bindings
//! ([`SamlSp::begin`]), and the complete validation of a posted `SAMLResponse`
//! ([`SamlSp::finish`], in `response`) except the two checks that need the browser's
//! session and the database: the `InResponseTo` binding ([`check_binding`]) and replay
//! (the caller keeps `assertion_id` until `not_on_or_after`).
//!
//! XML-DSig goes through the one engine of the crate (`crate::trust::xmldsig` verifies,
//! `crate::trust::xmlsign` signs); XML-Enc decryption is in `xmlenc`. Signature-wrapping
//! defence is structural: a signature is verified on one element of a parsed document and
//! every value is then read from that very node (see `response`).
//!
//! Must not: render pages or hold sessions (`http::ceremony`), store replay state (the
//! caller's database), or decide whether the person may sign (`jobs`).

pub mod metadata;
mod response;
pub mod xmlenc;

use std::io::Write as _;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::EidasConfig;
use crate::identity::{LoginStart, UserReason, VerifiedIdentity};
use crate::jobs::model::Loa;
use crate::trust::xmldsig::DsigError;
use crate::trust::xmlsign::{XmlSigner, escape_attr, escape_text, pem_block};

pub use metadata::IdpMetadata;
use xmlenc::{DecryptionKeys, EncryptionKey, RsaDecryptionKey};

/// SAML 2.0 protocol namespace.
pub const SAMLP_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// SAML 2.0 assertion namespace.
pub const SAML_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// SAML 2.0 metadata namespace.
pub const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// eIDAS SAML extensions namespace.
pub const EIDAS_NS: &str = "http://eidas.europa.eu/saml-extensions";
/// HTTP-POST binding.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
/// HTTP-Redirect binding.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The `uri` attribute name format.
pub const ATTRNAME_URI: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";

/// eIDAS natural-person attribute names.
pub const ATTR_PERSON_IDENTIFIER: &str =
    "http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier";
pub const ATTR_FAMILY_NAME: &str =
    "http://eidas.europa.eu/attributes/naturalperson/CurrentFamilyName";
pub const ATTR_GIVEN_NAME: &str =
    "http://eidas.europa.eu/attributes/naturalperson/CurrentGivenName";
pub const ATTR_DATE_OF_BIRTH: &str = "http://eidas.europa.eu/attributes/naturalperson/DateOfBirth";
/// eIDAS legal-person attribute names.
pub const ATTR_LEGAL_PERSON_IDENTIFIER: &str =
    "http://eidas.europa.eu/attributes/legalperson/LegalPersonIdentifier";
pub const ATTR_LEGAL_NAME: &str = "http://eidas.europa.eu/attributes/legalperson/LegalName";

/// eIDAS level-of-assurance URIs.
pub const LOA_LOW: &str = "http://eidas.europa.eu/LoA/low";
pub const LOA_SUBSTANTIAL: &str = "http://eidas.europa.eu/LoA/substantial";
pub const LOA_HIGH: &str = "http://eidas.europa.eu/LoA/high";

const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const NAMEID_ENTITY: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";

/// Largest IdP metadata document fetched or read.
pub const MAX_METADATA_BYTES: usize = 4 * 1024 * 1024;
/// Largest accepted `SAMLResponse` form value (base64).
pub const MAX_RESPONSE_B64: usize = 512 * 1024;
/// Largest `RelayState` (SAML bindings §3.4.3 / §3.5.3: 80 bytes).
pub const MAX_RELAY_STATE: usize = 80;

/// The eIDAS URI of a level of assurance.
pub fn loa_uri(loa: Loa) -> &'static str {
    match loa {
        Loa::Low => LOA_LOW,
        Loa::Substantial => LOA_SUBSTANTIAL,
        Loa::High => LOA_HIGH,
    }
}

/// The level of assurance of an eIDAS URI.
pub fn loa_from_uri(uri: &str) -> Option<Loa> {
    match uri {
        LOA_LOW => Some(Loa::Low),
        LOA_SUBSTANTIAL => Some(Loa::Substantial),
        LOA_HIGH => Some(Loa::High),
        _ => None,
    }
}

/// What a login must ask the node for.
#[derive(Debug, Clone)]
pub struct SamlAuthRequest {
    /// The minimum level of assurance (`RequestedAuthnContext Comparison="minimum"`).
    pub loa: Loa,
    /// ISO 3166-1 alpha-2 country of the signer's eID, when known (the `country` form
    /// field the CEF reference connector reads).
    pub country: Option<String>,
    /// Also request `LegalPersonIdentifier` and `LegalName` (signing for a company).
    pub legal_person: bool,
    /// Opaque state returned with the response (at most 80 bytes).
    pub relay_state: String,
}

/// What the caller keeps in the browser's server-side session between `begin` and
/// `finish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlPending {
    /// `ID` of our `AuthnRequest`; the response's `InResponseTo` must equal it.
    pub request_id: String,
    /// The level the login must reach.
    pub min_loa: Loa,
}

/// The eIDAS legal-person attributes, when the node released them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalPerson {
    pub identifier: String,
    pub name: String,
}

/// A validated response.
#[derive(Debug, Clone)]
pub struct SamlLogin {
    pub identity: VerifiedIdentity,
    /// The response's `InResponseTo` (to be checked against [`SamlPending`]).
    pub in_response_to: String,
    /// The assertion `ID`: the replay-cache key.
    pub assertion_id: String,
    /// Until when the assertion could be replayed (the earliest of the bearer
    /// confirmation's and the conditions' `NotOnOrAfter`): keep the replay entry until then.
    pub not_on_or_after: OffsetDateTime,
    /// The `Subject/NameID` value.
    pub name_id: String,
    /// Legal-person attributes, when present.
    pub legal_person: Option<LegalPerson>,
}

/// SAML login failures. The `Display` text is for logs (it may carry IdP status
/// messages); the signer sees only [`SamlError::user_reason`].
#[derive(Debug, thiserror::Error)]
pub enum SamlError {
    /// Our own keys or certificates could not be loaded.
    #[error("SP key material: {0}")]
    Keys(String),
    /// The IdP metadata could not be fetched or read.
    #[error("IdP metadata fetch failed: {0}")]
    MetadataFetch(String),
    /// The IdP metadata is not usable (shape, missing keys or endpoints).
    #[error("IdP metadata invalid: {0}")]
    MetadataInvalid(String),
    /// The IdP metadata signature does not verify against the configured signer.
    #[error("IdP metadata signature: {0}")]
    MetadataSignature(DsigError),
    /// The IdP metadata is past its `validUntil`.
    #[error("IdP metadata expired at {0}")]
    MetadataExpired(OffsetDateTime),
    /// The IdP has no SSO endpoint for the configured binding.
    #[error("IdP has no SingleSignOnService for binding {0}")]
    NoSsoEndpoint(&'static str),
    /// Building or signing one of our messages failed.
    #[error("signing failed: {0}")]
    Signing(DsigError),
    /// The request parameters are unusable (e.g. `RelayState` over 80 bytes).
    #[error("invalid login request: {0}")]
    BadRequest(String),
    /// The posted value is larger than [`MAX_RESPONSE_B64`].
    #[error("SAMLResponse too large ({0} bytes)")]
    TooLarge(usize),
    /// Not base64.
    #[error("SAMLResponse is not base64")]
    Base64,
    /// Not acceptable XML (not UTF-8, malformed, DTD present, too many nodes).
    #[error("XML refused: {0}")]
    Xml(String),
    /// A structural SAML rule is broken (wrong root, version, missing element, …).
    #[error("malformed SAML: {0}")]
    Malformed(String),
    /// `Response/@Destination` is not our ACS URL.
    #[error("Destination {found:?} is not our ACS {expected:?}")]
    Destination {
        expected: String,
        found: Option<String>,
    },
    /// An `Issuer` is not the IdP's entity id.
    #[error("Issuer {found:?} is not the IdP {expected:?}")]
    Issuer {
        expected: String,
        found: Option<String>,
    },
    /// The IdP answered with a non-success status.
    #[error("IdP status {code} {sub_codes:?}: {message:?}")]
    Status {
        code: String,
        sub_codes: Vec<String>,
        message: Option<String>,
    },
    /// A signature (on the Response or the Assertion) is invalid or not by a pinned key.
    #[error("{what} signature: {error}")]
    Signature {
        what: &'static str,
        error: DsigError,
    },
    /// No valid signature covers the assertion (unsigned assertion in an unsigned
    /// response).
    #[error("the assertion is not covered by any signature")]
    Unsigned,
    /// An element carries more than one signature, or a signature sits where none may.
    #[error("signature placement refused: {0}")]
    SignaturePlacement(String),
    /// Not exactly one assertion (plain or encrypted) as a child of the Response.
    #[error("expected exactly one assertion, found {0}")]
    AssertionCount(usize),
    /// The encrypted assertion could not be decrypted.
    #[error("EncryptedAssertion: {0}")]
    Decrypt(#[from] xmlenc::XmlEncError),
    /// No bearer `SubjectConfirmation` satisfies Recipient / NotOnOrAfter / InResponseTo.
    #[error("no acceptable bearer SubjectConfirmation: {0}")]
    SubjectConfirmation(String),
    /// The assertion is not valid yet (`NotBefore` beyond the skew).
    #[error("assertion not valid before {0}")]
    NotYetValid(OffsetDateTime),
    /// The assertion (or its bearer confirmation) has expired.
    #[error("assertion expired at {0}")]
    Expired(OffsetDateTime),
    /// We are not in the `AudienceRestriction`.
    #[error("audience restriction does not name us: {0:?}")]
    Audience(Vec<String>),
    /// The response does not answer the request of this session.
    #[error("InResponseTo does not match the pending request")]
    InResponseTo,
    /// The authentication context is not an eIDAS LoA URI.
    #[error("unknown authentication context {0:?}")]
    UnknownLoa(String),
    /// The level reached is below what the job requires.
    #[error("LoA {got} below the required {required}")]
    LoaTooLow { required: Loa, got: Loa },
    /// A required attribute is missing, repeated or malformed.
    #[error("attribute {name}: {problem}")]
    Attribute { name: String, problem: String },
    /// Comments, processing instructions or elements inside a value (`NameID`,
    /// `AttributeValue`): the comment-injection class of attacks.
    #[error("markup inside the value of {0}")]
    InjectedContent(String),
}

impl SamlError {
    /// What the signer is told.
    pub fn user_reason(&self) -> UserReason {
        const DENIED: &str = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied";
        const AUTHN_FAILED: &str = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed";
        const NO_AUTHN_CONTEXT: &str = "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext";
        match self {
            SamlError::Status { sub_codes, .. } => {
                if sub_codes.iter().any(|c| c == NO_AUTHN_CONTEXT) {
                    UserReason::LoaTooLow
                } else if sub_codes.iter().any(|c| c == DENIED || c == AUTHN_FAILED) {
                    UserReason::Cancelled
                } else {
                    UserReason::ProviderUnavailable
                }
            }
            SamlError::Keys(_)
            | SamlError::MetadataFetch(_)
            | SamlError::MetadataInvalid(_)
            | SamlError::MetadataSignature(_)
            | SamlError::MetadataExpired(_)
            | SamlError::NoSsoEndpoint(_)
            | SamlError::Signing(_)
            | SamlError::BadRequest(_) => UserReason::ProviderUnavailable,
            SamlError::Expired(_) => UserReason::Expired,
            SamlError::LoaTooLow { .. } => UserReason::LoaTooLow,
            SamlError::TooLarge(_)
            | SamlError::Base64
            | SamlError::Xml(_)
            | SamlError::Malformed(_)
            | SamlError::Destination { .. }
            | SamlError::Issuer { .. }
            | SamlError::Signature { .. }
            | SamlError::Unsigned
            | SamlError::SignaturePlacement(_)
            | SamlError::AssertionCount(_)
            | SamlError::Decrypt(_)
            | SamlError::SubjectConfirmation(_)
            | SamlError::NotYetValid(_)
            | SamlError::Audience(_)
            | SamlError::InResponseTo
            | SamlError::UnknownLoa(_)
            | SamlError::Attribute { .. }
            | SamlError::InjectedContent(_) => UserReason::Rejected,
        }
    }
}

/// Checks that a validated response answers the pending request of this browser session
/// (`InResponseTo`, compared in constant time) and reaches the required level.
pub fn check_binding(login: &SamlLogin, pending: &SamlPending) -> Result<(), SamlError> {
    use subtle::ConstantTimeEq as _;
    let a = login.in_response_to.as_bytes();
    let b = pending.request_id.as_bytes();
    if a.len() != b.len() || !bool::from(a.ct_eq(b)) {
        return Err(SamlError::InResponseTo);
    }
    if login.identity.loa < pending.min_loa {
        return Err(SamlError::LoaTooLow {
            required: pending.min_loa,
            got: login.identity.loa,
        });
    }
    Ok(())
}

/// SAML `xs:dateTime` in UTC with a `Z` (second precision).
pub(crate) fn saml_time(t: OffsetDateTime) -> String {
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

/// A fresh SAML `ID`: `_` and 32 hex digits (an NCName).
fn random_id() -> Result<String, SamlError> {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b)
        .map_err(|_| SamlError::Signing(DsigError::Malformed("no randomness".into())))?;
    Ok(format!("_{}", hex::encode(b)))
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Our SAML service provider for one eIDAS node.
pub struct SamlSp {
    cfg: EidasConfig,
    entity_id: String,
    acs_url: String,
    signer: XmlSigner,
    dec_keys: DecryptionKeys,
    /// The certificates published as `use="encryption"`, in order of preference: the EC one
    /// (ECDH-ES) first, then the RSA one (RSA-OAEP).
    enc_certs: Vec<EncCert>,
    metadata_signers: Vec<Vec<u8>>,
    idp: RwLock<Arc<IdpMetadata>>,
}

impl std::fmt::Debug for SamlSp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamlSp")
            .field("entity_id", &self.entity_id)
            .field("acs_url", &self.acs_url)
            .finish_non_exhaustive()
    }
}

/// A published encryption certificate and the key transport it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EncKind {
    Ecdh,
    RsaOaep,
}

struct EncCert {
    kind: EncKind,
    der: Vec<u8>,
}

/// The DER of the private key in a PEM file: PKCS#8 (`PRIVATE KEY`) or, for EC, RFC 5915
/// (`EC PRIVATE KEY`, as `openssl ecparam -genkey` writes it).
fn private_key_der(pem: &str, what: &str) -> Result<Vec<u8>, SamlError> {
    pem_block(pem, "PRIVATE KEY")
        .or_else(|| pem_block(pem, "EC PRIVATE KEY"))
        .ok_or_else(|| SamlError::Keys(format!("{what}: no PRIVATE KEY PEM block")))
}

/// Our decryption keys and the encryption certificates to publish. The encryption pair is
/// `sp_encryption_key_file`/`sp_encryption_cert_file`, else the signing pair; it is RSA
/// (RSA-OAEP key transport) or EC P-256/384/521 (ECDH-ES key agreement). With an EC
/// encryption pair of its own and an RSA signing pair, the signing pair also stays an
/// RSA-OAEP encryption key (published second), so a node without ECDH-ES still works. Each
/// pair is probed (a decryption round trip) so a mismatch stops the start.
fn load_encryption_keys(cfg: &EidasConfig) -> Result<(DecryptionKeys, Vec<EncCert>), SamlError> {
    let enc_key_path = cfg
        .sp_encryption_key_file
        .as_ref()
        .unwrap_or(&cfg.sp_key_file);
    let enc_cert_path = cfg
        .sp_encryption_cert_file
        .as_ref()
        .unwrap_or(&cfg.sp_cert_file);
    let der = private_key_der(
        &read_text(enc_key_path, "encryption key")?,
        "encryption key",
    )?;
    let key = EncryptionKey::from_der(&der).map_err(|e| {
        SamlError::Keys(format!(
            "encryption key (RSA of 2048 bits or more, or EC P-256/384/521): {e}"
        ))
    })?;
    let cert_der = pem_block(&read_text(enc_cert_path, "encryption cert")?, "CERTIFICATE")
        .ok_or_else(|| SamlError::Keys("encryption cert: no CERTIFICATE PEM block".into()))?;
    let spki =
        spki_der(&cert_der).ok_or_else(|| SamlError::Keys("encryption cert unreadable".into()))?;
    if !key.matches_spki(&spki) {
        return Err(SamlError::Keys(
            "the encryption certificate does not match the encryption key".into(),
        ));
    }
    match key {
        EncryptionKey::Rsa(rsa) => Ok((
            DecryptionKeys::new(Some(rsa), None),
            vec![EncCert {
                kind: EncKind::RsaOaep,
                der: cert_der,
            }],
        )),
        EncryptionKey::Ec(ec) => {
            let mut certs = vec![EncCert {
                kind: EncKind::Ecdh,
                der: cert_der,
            }];
            let mut rsa = None;
            if cfg.sp_encryption_key_file.is_some() {
                let sign_der =
                    private_key_der(&read_text(&cfg.sp_key_file, "sp_key_file")?, "sp_key_file")?;
                if let Ok(k) = RsaDecryptionKey::from_pkcs8(&sign_der) {
                    let sign_cert = pem_block(
                        &read_text(&cfg.sp_cert_file, "sp_cert_file")?,
                        "CERTIFICATE",
                    )
                    .ok_or_else(|| {
                        SamlError::Keys("sp_cert_file: no CERTIFICATE PEM block".into())
                    })?;
                    let spki = spki_der(&sign_cert)
                        .ok_or_else(|| SamlError::Keys("sp_cert_file unreadable".into()))?;
                    if !k.matches_spki(&spki) {
                        return Err(SamlError::Keys(
                            "the signing certificate does not match the signing key".into(),
                        ));
                    }
                    rsa = Some(k);
                    certs.push(EncCert {
                        kind: EncKind::RsaOaep,
                        der: sign_cert,
                    });
                }
            }
            Ok((DecryptionKeys::new(rsa, Some(ec)), certs))
        }
    }
}

fn read_text(path: &std::path::Path, what: &str) -> Result<String, SamlError> {
    std::fs::read_to_string(path)
        .map_err(|e| SamlError::Keys(format!("{what} {}: {e}", path.display())))
}

impl SamlSp {
    /// Loads our keys (PKCS#8 PEM keys, PEM certificates) and the node's metadata from
    /// `cfg.idp_metadata` (an http(s) URL fetched with `cfg.timeout` and a size limit, or
    /// a file). With `cfg.idp_metadata_signer` the metadata's enveloped signature must
    /// verify against those certificates; an expired `validUntil` is refused.
    pub async fn load(
        cfg: &EidasConfig,
        entity_id: String,
        acs_url: String,
    ) -> Result<Self, SamlError> {
        let http = http_client(cfg)?;
        let text = fetch_metadata(&http, &cfg.idp_metadata).await?;
        Self::with_idp_metadata(cfg, entity_id, acs_url, &text, OffsetDateTime::now_utc())
    }

    /// [`SamlSp::load`] with the node's metadata already in hand (`idp_metadata`, checked
    /// like a fetched one at `now`); `refresh_metadata` still fetches `cfg.idp_metadata`.
    pub fn with_idp_metadata(
        cfg: &EidasConfig,
        entity_id: String,
        acs_url: String,
        idp_metadata: &str,
        now: OffsetDateTime,
    ) -> Result<Self, SamlError> {
        let signer = XmlSigner::from_pem(
            &read_text(&cfg.sp_key_file, "sp_key_file")?,
            &read_text(&cfg.sp_cert_file, "sp_cert_file")?,
        )
        .map_err(|e| SamlError::Keys(e.to_string()))?;
        let (dec_keys, enc_certs) = load_encryption_keys(cfg)?;
        let metadata_signers = match &cfg.idp_metadata_signer {
            Some(p) => {
                let text = read_text(p, "idp_metadata_signer")?;
                let certs = crate::trust::anchors::parse_pem_certs(&text, &p.display().to_string())
                    .map_err(|e| SamlError::Keys(e.to_string()))?;
                if certs.is_empty() {
                    return Err(SamlError::Keys(format!(
                        "idp_metadata_signer {} holds no certificate",
                        p.display()
                    )));
                }
                certs
            }
            None => Vec::new(),
        };
        let idp = metadata::parse_idp_metadata(idp_metadata, &metadata_signers, now)?;
        Ok(Self {
            cfg: cfg.clone(),
            entity_id,
            acs_url,
            signer,
            dec_keys,
            enc_certs,
            metadata_signers,
            idp: RwLock::new(Arc::new(idp)),
        })
    }

    /// Fetches and verifies the node's metadata again; on failure the previous metadata
    /// stays in use and the error is returned.
    pub async fn refresh_metadata(&self) -> Result<(), SamlError> {
        let text = fetch_metadata(&http_client(&self.cfg)?, &self.cfg.idp_metadata).await?;
        let idp =
            metadata::parse_idp_metadata(&text, &self.metadata_signers, OffsetDateTime::now_utc())?;
        let mut slot = self.idp.write().unwrap_or_else(|p| p.into_inner());
        *slot = Arc::new(idp);
        Ok(())
    }

    /// The node's metadata currently in use.
    pub fn idp(&self) -> Arc<IdpMetadata> {
        self.idp.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Our entity id.
    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }

    /// Our assertion consumer service URL.
    pub fn acs_url(&self) -> &str {
        &self.acs_url
    }

    fn current_idp(&self, now: OffsetDateTime) -> Result<Arc<IdpMetadata>, SamlError> {
        let idp = self.idp();
        if let Some(until) = idp.valid_until
            && until <= now
        {
            return Err(SamlError::MetadataExpired(until));
        }
        Ok(idp)
    }

    /// Our SP metadata, signed with the SP key.
    pub fn metadata_xml(&self, now: OffsetDateTime) -> Result<String, SamlError> {
        let id = random_id()?;
        let valid_until = now + self.cfg.metadata_validity;
        let sign_cert = B64.encode(self.signer.cert_der());
        let enc_descriptors: String = self
            .enc_certs
            .iter()
            .map(|c| {
                let methods: &[&str] = match c.kind {
                    EncKind::Ecdh => &[
                        xmlenc::ECDH_ES,
                        xmlenc::KW_AES256,
                        xmlenc::KW_AES192,
                        xmlenc::KW_AES128,
                        xmlenc::AES256_GCM,
                        xmlenc::AES192_GCM,
                        xmlenc::AES128_GCM,
                    ],
                    EncKind::RsaOaep => &[
                        xmlenc::AES256_GCM,
                        xmlenc::AES192_GCM,
                        xmlenc::AES128_GCM,
                        xmlenc::RSA_OAEP_11,
                        xmlenc::RSA_OAEP_MGF1P,
                    ],
                };
                let methods: String = methods
                    .iter()
                    .map(|m| format!(r#"<md:EncryptionMethod Algorithm="{m}"/>"#))
                    .collect();
                format!(
                    r#"<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>{methods}</md:KeyDescriptor>"#,
                    B64.encode(&c.der)
                )
            })
            .collect();
        let (org_name, org_url) = organization(&self.entity_id);
        let xml = format!(
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                "\n",
                r#"<md:EntityDescriptor xmlns:md="{md}" xmlns:ds="{ds}" ID="{id}" entityID="{eid}" validUntil="{vu}">"#,
                r#"<md:Extensions><eidas:SPType xmlns:eidas="{eidas}">{sptype}</eidas:SPType></md:Extensions>"#,
                r#"<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="{samlp}">"#,
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{scert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                "{enc_descriptors}",
                r#"<md:NameIDFormat>{nid_p}</md:NameIDFormat><md:NameIDFormat>{nid_t}</md:NameIDFormat><md:NameIDFormat>{nid_u}</md:NameIDFormat>"#,
                r#"<md:AssertionConsumerService Binding="{post}" Location="{acs}" index="0" isDefault="true"/>"#,
                r#"</md:SPSSODescriptor>"#,
                r#"<md:Organization><md:OrganizationName xml:lang="en">{org}</md:OrganizationName><md:OrganizationDisplayName xml:lang="en">{org}</md:OrganizationDisplayName><md:OrganizationURL xml:lang="en">{orgurl}</md:OrganizationURL></md:Organization>"#,
                r#"<md:ContactPerson contactType="technical"><md:Company>{org}</md:Company></md:ContactPerson>"#,
                r#"<md:ContactPerson contactType="support"><md:Company>{org}</md:Company></md:ContactPerson>"#,
                "</md:EntityDescriptor>\n"
            ),
            md = MD_NS,
            ds = crate::trust::xmldsig::DSIG_NS,
            id = id,
            eid = escape_attr(&self.entity_id),
            vu = saml_time(valid_until),
            eidas = EIDAS_NS,
            sptype = escape_text(&self.cfg.sp_type),
            samlp = SAMLP_NS,
            scert = sign_cert,
            enc_descriptors = enc_descriptors,
            nid_p = NAMEID_PERSISTENT,
            nid_t = NAMEID_TRANSIENT,
            nid_u = NAMEID_UNSPECIFIED,
            post = BINDING_POST,
            acs = escape_attr(&self.acs_url),
            org = escape_text(&org_name),
            orgurl = escape_text(&org_url),
        );
        self.signer
            .sign_enveloped(&xml, &id, None)
            .map_err(SamlError::Signing)
    }

    /// The unsigned `AuthnRequest` XML and its ID.
    fn authn_request_xml(
        &self,
        req: &SamlAuthRequest,
        destination: &str,
        now: OffsetDateTime,
    ) -> Result<(String, String), SamlError> {
        let id = random_id()?;
        let attr = |friendly: &str, name: &str| {
            format!(
                r#"<eidas:RequestedAttribute FriendlyName="{friendly}" Name="{name}" NameFormat="{ATTRNAME_URI}" isRequired="true"/>"#
            )
        };
        let mut attrs = String::new();
        attrs.push_str(&attr("PersonIdentifier", ATTR_PERSON_IDENTIFIER));
        attrs.push_str(&attr("FamilyName", ATTR_FAMILY_NAME));
        attrs.push_str(&attr("FirstName", ATTR_GIVEN_NAME));
        attrs.push_str(&attr("DateOfBirth", ATTR_DATE_OF_BIRTH));
        if req.legal_person {
            attrs.push_str(&attr("LegalPersonIdentifier", ATTR_LEGAL_PERSON_IDENTIFIER));
            attrs.push_str(&attr("LegalName", ATTR_LEGAL_NAME));
        }
        let xml = format!(
            concat!(
                r#"<saml2p:AuthnRequest xmlns:saml2p="{samlp}" xmlns:saml2="{saml}" xmlns:eidas="{eidas}" "#,
                r#"Consent="urn:oasis:names:tc:SAML:2.0:consent:unspecified" Destination="{dest}" ForceAuthn="true" "#,
                r#"ID="{id}" IsPassive="false" IssueInstant="{now}" ProviderName="{pn}" Version="2.0">"#,
                r#"<saml2:Issuer Format="{entity}">{issuer}</saml2:Issuer>"#,
                r#"<saml2p:Extensions><eidas:SPType>{sptype}</eidas:SPType><eidas:RequestedAttributes>{attrs}</eidas:RequestedAttributes></saml2p:Extensions>"#,
                r#"<saml2p:NameIDPolicy AllowCreate="true" Format="{nameid}"/>"#,
                r#"<saml2p:RequestedAuthnContext Comparison="minimum"><saml2:AuthnContextClassRef>{loa}</saml2:AuthnContextClassRef></saml2p:RequestedAuthnContext>"#,
                r#"</saml2p:AuthnRequest>"#
            ),
            samlp = SAMLP_NS,
            saml = SAML_NS,
            eidas = EIDAS_NS,
            dest = escape_attr(destination),
            id = id,
            now = saml_time(now),
            pn = escape_attr(&organization(&self.entity_id).0),
            entity = NAMEID_ENTITY,
            issuer = escape_text(&self.entity_id),
            sptype = escape_text(&self.cfg.sp_type),
            attrs = attrs,
            nameid = NAMEID_UNSPECIFIED,
            loa = loa_uri(req.loa),
        );
        Ok((xml, id))
    }

    /// A signed eIDAS `AuthnRequest` for the configured binding: HTTP-POST (enveloped
    /// signature; form fields `SAMLRequest`, `RelayState` and, when given, `country`) or
    /// HTTP-Redirect (DEFLATE, `SigAlg` and `Signature` over the query string; `country`
    /// appended unsigned).
    pub fn begin(
        &self,
        req: &SamlAuthRequest,
        now: OffsetDateTime,
    ) -> Result<(LoginStart, SamlPending), SamlError> {
        if req.relay_state.len() > MAX_RELAY_STATE {
            return Err(SamlError::BadRequest(format!(
                "RelayState of {} bytes (at most {MAX_RELAY_STATE})",
                req.relay_state.len()
            )));
        }
        if let Some(c) = &req.country
            && (c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(SamlError::BadRequest(format!(
                "country {c:?} is not ISO 3166-1 alpha-2"
            )));
        }
        let idp = self.current_idp(now)?;
        let redirect = self.cfg.binding == "redirect";
        let destination = if redirect {
            idp.sso_redirect
                .clone()
                .ok_or(SamlError::NoSsoEndpoint(BINDING_REDIRECT))?
        } else {
            idp.sso_post
                .clone()
                .ok_or(SamlError::NoSsoEndpoint(BINDING_POST))?
        };
        let (xml, id) = self.authn_request_xml(req, &destination, now)?;
        let pending = SamlPending {
            request_id: id.clone(),
            min_loa: req.loa,
        };
        if redirect {
            let mut enc =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(xml.as_bytes())
                .and_then(|()| enc.flush())
                .map_err(|e| SamlError::Signing(DsigError::Malformed(e.to_string())))?;
            let deflated = enc
                .finish()
                .map_err(|e| SamlError::Signing(DsigError::Malformed(e.to_string())))?;
            let mut query = format!("SAMLRequest={}", pct(&B64.encode(deflated)));
            if !req.relay_state.is_empty() {
                query.push_str(&format!("&RelayState={}", pct(&req.relay_state)));
            }
            query.push_str(&format!("&SigAlg={}", pct(self.signer.signature_method())));
            let sig = self
                .signer
                .sign_raw(query.as_bytes())
                .map_err(SamlError::Signing)?;
            query.push_str(&format!("&Signature={}", pct(&B64.encode(sig))));
            if let Some(c) = &req.country {
                query.push_str(&format!("&country={}", pct(c)));
            }
            let sep = if destination.contains('?') { '&' } else { '?' };
            Ok((
                LoginStart::Redirect(format!("{destination}{sep}{query}")),
                pending,
            ))
        } else {
            let signed = self
                .signer
                .sign_enveloped(&xml, &id, Some((SAML_NS, "Issuer")))
                .map_err(SamlError::Signing)?;
            let mut fields = vec![("SAMLRequest".to_string(), B64.encode(signed.as_bytes()))];
            if !req.relay_state.is_empty() {
                fields.push(("RelayState".to_string(), req.relay_state.clone()));
            }
            if let Some(c) = &req.country {
                fields.push(("country".to_string(), c.clone()));
            }
            Ok((
                LoginStart::Post {
                    action: destination,
                    fields,
                },
                pending,
            ))
        }
    }

    /// Validates a posted `SAMLResponse` (base64) completely except the `InResponseTo`
    /// binding to the browser session ([`check_binding`]) and replay (the caller's
    /// database, keyed by `assertion_id` until `not_on_or_after`).
    pub fn finish(
        &self,
        saml_response_b64: &str,
        now: OffsetDateTime,
    ) -> Result<SamlLogin, SamlError> {
        let idp = self.current_idp(now)?;
        response::validate(
            &response::Context {
                entity_id: &self.entity_id,
                acs_url: &self.acs_url,
                idp: &idp,
                enc_keys: &self.dec_keys,
                skew: time::Duration::try_from(self.cfg.clock_skew)
                    .unwrap_or(time::Duration::minutes(1)),
            },
            saml_response_b64,
            now,
        )
    }
}

fn http_client(cfg: &EidasConfig) -> Result<reqwest::Client, SamlError> {
    reqwest::Client::builder()
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .build()
        .map_err(|e| SamlError::MetadataFetch(e.to_string()))
}

/// `SubjectPublicKeyInfo` DER of a certificate.
fn spki_der(cert_der: &[u8]) -> Option<Vec<u8>> {
    use der::{Decode as _, Encode as _};
    let cert = x509_cert::Certificate::from_der(cert_der).ok()?;
    cert.tbs_certificate.subject_public_key_info.to_der().ok()
}

/// Organization name (the host) and URL (the origin) from our entity id.
fn organization(entity_id: &str) -> (String, String) {
    let (scheme, rest) = entity_id.split_once("://").unwrap_or(("https", entity_id));
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    (format!("signgate {host}"), format!("{scheme}://{host}/"))
}

async fn fetch_metadata(http: &reqwest::Client, source: &str) -> Result<String, SamlError> {
    let bytes = if source.starts_with("https://") || source.starts_with("http://") {
        let mut resp = http
            .get(source)
            .send()
            .await
            .map_err(|e| SamlError::MetadataFetch(format!("{source}: {e}")))?;
        if !resp.status().is_success() {
            return Err(SamlError::MetadataFetch(format!(
                "{source}: HTTP {}",
                resp.status()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| SamlError::MetadataFetch(format!("{source}: {e}")))?
        {
            if body.len() + chunk.len() > MAX_METADATA_BYTES {
                return Err(SamlError::MetadataFetch(format!(
                    "{source}: larger than {MAX_METADATA_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        body
    } else {
        let path = source.strip_prefix("file://").unwrap_or(source);
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|e| SamlError::MetadataFetch(format!("{path}: {e}")))?;
        if meta.len() > MAX_METADATA_BYTES as u64 {
            return Err(SamlError::MetadataFetch(format!(
                "{path}: larger than {MAX_METADATA_BYTES} bytes"
            )));
        }
        tokio::fs::read(path)
            .await
            .map_err(|e| SamlError::MetadataFetch(format!("{path}: {e}")))?
    };
    let text = crate::trust::xmldsig::decode_utf8(&bytes)
        .map_err(|e| SamlError::MetadataInvalid(e.to_string()))?;
    Ok(text.to_string())
}

#[cfg(test)]
mod tests;
