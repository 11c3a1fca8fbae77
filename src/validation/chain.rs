//! Certificate path building and X.509 validation at a control time (RFC 5280 §6; ETSI
//! EN 319 102-1 §5.2.6 "X.509 certificate validation" building block).
//!
//! Owns: reading the certificate facts validation needs ([`CertInfo`]), building a path
//! from a certificate to a trust anchor (explicit anchors, or certificates a trusted
//! list service lists directly as a granted CA/QC, CA/PKC — TSA/* for timestamping —
//! service, with the TL's service certificates usable as issuers), the RFC 5280 checks
//! along it at the control time (validity, basic constraints and path length, key
//! usage, extended key usage for TSAs and OCSP responders, keyUsage cRLSign for indirect
//! CRL issuers, unknown critical extensions), the cryptographic constraints of every
//! certificate signature (via `policy`), asking `revocation` for each non-anchor
//! certificate, validating the certificates of indirect CRL issuers `revocation` meets
//! (a nested validation, one level deep), and the resulting indication/sub-indication
//! ([`check_certificate`]). The cRLDistributionPoints and freshestCRL facts `revocation`
//! matches CRLs with are read here ([`CrlDistPoint`], [`DpName`]).
//! Must not touch: signature formats, proofs of existence and past-signature
//! validation (the caller uses `signer_revoked_at`, `ca_revoked_at` and the
//! sub-indications to run them), qualification, trusted-list loading.

use std::collections::HashMap;

use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use time::OffsetDateTime;

use super::crypto::verify_signed_object;
use super::evidence::{Algorithms, Der};
use super::policy::{AlgoVerdict, Policy};
use super::report::{CertSummary, Finding, Indication, SubIndication};
use super::revocation::{
    RevocationContext, RevocationData, RevocationFetcher, RevocationFinding, RevocationStatus,
    check_revocation, rfc3339,
};
use crate::trust::cert::{CertView, fingerprint, normalized_name_der};
use crate::trust::registry::Registry;

/// Most candidate issuers considered for one certificate.
pub const MAX_CANDIDATES: usize = 64;
/// Most certificates (pool, anchors, TL identities) considered in one validation.
const MAX_UNIVERSE: usize = 1024;
/// Most signature verifications in one path search.
const MAX_VERIFICATIONS: usize = 512;

const OID_KP_TIMESTAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const OID_KP_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");

/// Extensions this module understands (or may ignore safely) when critical.
const KNOWN_EXTENSIONS: &[&str] = &[
    "2.5.29.14",            // subjectKeyIdentifier
    "2.5.29.35",            // authorityKeyIdentifier
    "2.5.29.15",            // keyUsage
    "2.5.29.19",            // basicConstraints
    "2.5.29.37",            // extendedKeyUsage
    "2.5.29.32",            // certificatePolicies
    "2.5.29.17",            // subjectAltName
    "2.5.29.18",            // issuerAltName
    "2.5.29.9",             // subjectDirectoryAttributes
    "2.5.29.30",            // nameConstraints (enforced: name_constraints)
    "2.5.29.36",            // policyConstraints
    "2.5.29.54",            // inhibitAnyPolicy
    "2.5.29.31",            // cRLDistributionPoints
    "2.5.29.46",            // freshestCRL
    "1.3.6.1.5.5.7.1.1",    // authorityInfoAccess
    "1.3.6.1.5.5.7.1.11",   // subjectInfoAccess
    "1.3.6.1.5.5.7.1.3",    // qcStatements
    "1.3.6.1.5.5.7.48.1.5", // id-pkix-ocsp-nocheck
];

/// Trust anchors available to a validation.
#[derive(Clone, Copy)]
pub struct TrustSources<'a> {
    /// Explicitly trusted certificates (`--trust-anchor`).
    pub explicit: &'a [Der],
    /// The trusted-list registry.
    pub registry: Option<&'a Registry>,
}

/// What the certificate is validated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A signature or seal: keyUsage digitalSignature or nonRepudiation (if present).
    Signature,
    /// A timestamp: extendedKeyUsage id-kp-timeStamping; TL TSA services are anchors.
    Timestamping,
    /// An OCSP response: extendedKeyUsage id-kp-OCSPSigning.
    OcspSigning,
    /// A CRL signed by someone other than the issuer of the certificate it is about
    /// (an indirect CRL issuer): keyUsage cRLSign (if present).
    CrlSigning,
}

/// Where the anchor's trust comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorSource {
    /// An explicitly configured trust anchor.
    Explicit,
    /// A trusted-list service listing the anchor certificate directly, granted at the
    /// control time.
    TrustedList {
        /// Territory of the list.
        territory: String,
        /// Trust service provider.
        provider: String,
        /// Service name in force.
        service: String,
        /// Service type suffix in force (`CA/QC`, `TSA/QTST`, …).
        type_suffix: String,
    },
}

impl AnchorSource {
    /// Text for [`CertSummary::trust_anchor`]: `trusted list CA/QC (BE)`,
    /// `explicit trust anchor`.
    pub fn describe(&self) -> String {
        match self {
            AnchorSource::Explicit => "explicit trust anchor".to_string(),
            AnchorSource::TrustedList {
                territory,
                type_suffix,
                ..
            } => format!("trusted list {type_suffix} ({territory})"),
        }
    }
}

/// Input of [`check_certificate`].
pub struct CertCheckInput<'a> {
    /// The certificate to validate (DER).
    pub cert: &'a [u8],
    /// Certificates to build paths with (signature, DSS, tokens…).
    pub pool: &'a [Der],
    /// CRLs available.
    pub crls: &'a [Der],
    /// OCSP responses available.
    pub ocsps: &'a [Der],
    /// Trust anchors.
    pub trust: &'a TrustSources<'a>,
    /// Control time.
    pub at: OffsetDateTime,
    /// What the certificate is for.
    pub usage: Usage,
    /// Policy.
    pub policy: &'a Policy,
    /// Online revocation source, used only when embedded data gives no answer.
    pub fetcher: Option<&'a dyn RevocationFetcher>,
}

/// Result of [`check_certificate`].
#[derive(Debug, Clone)]
pub struct CertCheck {
    /// Indication.
    pub indication: Indication,
    /// Sub-indication (EN 319 102-1 §5.2.6).
    pub sub_indication: Option<SubIndication>,
    /// The path: the certificate first, the anchor last (the best partial path when no
    /// anchor was reached).
    pub path: Vec<Der>,
    /// Where the anchor's trust comes from (`None`: no anchor reached).
    pub anchor: Option<AnchorSource>,
    /// One per non-anchor certificate of the path, in path order.
    pub revocation: Vec<RevocationFinding>,
    /// The certificate's revocation time and reason, when revoked (before or after the
    /// control time).
    pub signer_revoked_at: Option<(OffsetDateTime, String)>,
    /// The earliest revocation time of a CA certificate of the path, if any.
    pub ca_revoked_at: Option<OffsetDateTime>,
    /// Failed checks.
    pub errors: Vec<Finding>,
    /// Notes.
    pub warnings: Vec<Finding>,
}

impl CertCheck {
    /// The path as report entries (signer first).
    pub fn chain_summary(&self) -> Vec<CertSummary> {
        let n = self.path.len();
        self.path
            .iter()
            .enumerate()
            .filter_map(|(i, der)| {
                let c = CertInfo::parse(der).ok()?;
                let is_anchor = i + 1 == n && self.anchor.is_some();
                Some(CertSummary {
                    subject: c.subject_dn.clone(),
                    issuer: c.issuer_dn.clone(),
                    serial: hex::encode(&c.serial),
                    sha256: fingerprint(der),
                    not_before: c.not_before,
                    not_after: c.not_after,
                    trust_anchor: if is_anchor {
                        self.anchor.as_ref().map(AnchorSource::describe)
                    } else {
                        None
                    },
                    revocation: self.revocation.get(i).map(RevocationFinding::summary),
                })
            })
            .collect()
    }
}

/// keyUsage bits validation looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUsageBits {
    /// digitalSignature.
    pub digital_signature: bool,
    /// nonRepudiation (contentCommitment).
    pub non_repudiation: bool,
    /// keyCertSign.
    pub key_cert_sign: bool,
    /// cRLSign.
    pub crl_sign: bool,
}

/// The facts of a certificate validation needs.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// DER.
    pub der: Der,
    /// Subject `Name` DER (as encoded in the certificate).
    pub subject: Vec<u8>,
    /// Issuer `Name` DER.
    pub issuer: Vec<u8>,
    /// Subject DN (RFC 4514).
    pub subject_dn: String,
    /// Issuer DN (RFC 4514).
    pub issuer_dn: String,
    /// Serial number content bytes.
    pub serial: Vec<u8>,
    /// `notBefore`.
    pub not_before: OffsetDateTime,
    /// `notAfter`.
    pub not_after: OffsetDateTime,
    /// `SubjectPublicKeyInfo` DER.
    pub spki: Vec<u8>,
    /// `subjectPublicKey` bits.
    pub public_key: Vec<u8>,
    /// subjectKeyIdentifier extension.
    pub ski: Option<Vec<u8>>,
    /// authorityKeyIdentifier keyIdentifier.
    pub aki: Option<Vec<u8>>,
    /// `true` for v3 (extensions allowed).
    pub v3: bool,
    /// basicConstraints: (cA, pathLenConstraint).
    pub basic_constraints: Option<(bool, Option<u8>)>,
    /// keyUsage.
    pub key_usage: Option<KeyUsageBits>,
    /// extendedKeyUsage purposes and criticality.
    pub eku: Option<(Vec<ObjectIdentifier>, bool)>,
    /// Critical extensions not understood, and understood extensions that failed to
    /// decode.
    pub unknown_critical: Vec<String>,
    /// The nameConstraints extension value, if present (enforced by
    /// [`super::name_constraints::check_path`]).
    pub name_constraints: Option<Vec<u8>>,
    /// policyConstraints or policyMappings is present: the path needs
    /// [`super::policies::check_path`].
    pub policy_processing: bool,
    /// AIA OCSP URLs.
    pub ocsp_urls: Vec<String>,
    /// CRL distribution point URLs.
    pub crl_urls: Vec<String>,
    /// The cRLDistributionPoints entries (names and cRLIssuer), for matching a CRL's
    /// issuingDistributionPoint and authorising indirect CRLs (RFC 5280 §6.3.3 (b)).
    pub crl_dps: Vec<CrlDistPoint>,
    /// freshestCRL (delta CRL) URLs (RFC 5280 §4.2.1.15).
    pub freshest_urls: Vec<String>,
    /// id-pkix-ocsp-nocheck present.
    pub ocsp_nocheck: bool,
    /// `certificate CN=…, serial …`.
    pub label: String,
    /// [`normalized_name_der`] of `subject`, computed once with the rest (a pure function
    /// of the bytes, so the parsed-certificate cache can share it).
    pub subject_norm: Option<String>,
    /// [`normalized_name_der`] of `issuer`.
    pub issuer_norm: Option<String>,
}

/// Parsed certificates by SHA-256 of their DER: one validation parses the same chain
/// for path building, revocation, timestamps and the report, and a server sees the same
/// CA certificates all day. Bounded; entries are immutable facts about the bytes.
fn parsed_cache() -> &'static moka::sync::Cache<[u8; 32], std::sync::Arc<CertInfo>> {
    static CACHE: std::sync::OnceLock<moka::sync::Cache<[u8; 32], std::sync::Arc<CertInfo>>> =
        std::sync::OnceLock::new();
    CACHE.get_or_init(|| moka::sync::Cache::new(8192))
}

impl CertInfo {
    /// Reads a DER certificate (memoised by content hash, see [`parsed_cache`]; shared,
    /// not copied).
    pub fn parse(der: &[u8]) -> Result<std::sync::Arc<Self>, String> {
        if der.len() > 64 * 1024 {
            return Self::parse_uncached(der).map(std::sync::Arc::new);
        }
        let key = crate::trust::cert::sha256(der);
        if let Some(hit) = parsed_cache().get(&key) {
            return Ok(hit);
        }
        let info = std::sync::Arc::new(Self::parse_uncached(der)?);
        parsed_cache().insert(key, info.clone());
        Ok(info)
    }

    fn parse_uncached(der: &[u8]) -> Result<Self, String> {
        use x509_cert::ext::pkix::{
            AuthorityInfoAccessSyntax, BasicConstraints, CrlDistributionPoints, ExtendedKeyUsage,
            KeyUsage, name::GeneralName,
        };
        let view = CertView::parse(der).map_err(|e| e.to_string())?;
        let cert = x509_cert::Certificate::from_der(der).map_err(|e| e.to_string())?;
        let tbs = &cert.tbs_certificate;
        let spki = tbs
            .subject_public_key_info
            .to_der()
            .map_err(|e| e.to_string())?;
        let mut info = CertInfo {
            der: der.to_vec(),
            subject: view.subject.to_vec(),
            issuer: view.issuer.to_vec(),
            subject_dn: tbs.subject.to_string(),
            issuer_dn: tbs.issuer.to_string(),
            serial: view.serial.to_vec(),
            not_before: view.not_before,
            not_after: view.not_after,
            spki,
            public_key: view.public_key.to_vec(),
            ski: view.ski_ext.map(<[u8]>::to_vec),
            aki: view.aki.map(<[u8]>::to_vec),
            v3: tbs.version == x509_cert::certificate::Version::V3,
            basic_constraints: None,
            key_usage: None,
            eku: None,
            unknown_critical: Vec::new(),
            name_constraints: None,
            policy_processing: false,
            ocsp_urls: Vec::new(),
            crl_urls: Vec::new(),
            crl_dps: Vec::new(),
            freshest_urls: Vec::new(),
            ocsp_nocheck: false,
            label: String::new(),
            subject_norm: normalized_name_der(view.subject),
            issuer_norm: normalized_name_der(view.issuer),
        };
        info.label = format!(
            "certificate {}, serial {}",
            info.subject_dn,
            hex::encode(&info.serial)
        );
        for ext in tbs.extensions.iter().flatten() {
            let id = ext.extn_id.to_string();
            let v = ext.extn_value.as_bytes();
            let mut bad = |what: &str| {
                if ext.critical {
                    info.unknown_critical
                        .push(format!("{what} ({id}) unreadable"));
                }
            };
            match id.as_str() {
                "2.5.29.19" => match BasicConstraints::from_der(v) {
                    Ok(b) => info.basic_constraints = Some((b.ca, b.path_len_constraint)),
                    Err(_) => bad("basicConstraints"),
                },
                "2.5.29.15" => match KeyUsage::from_der(v) {
                    Ok(k) => {
                        info.key_usage = Some(KeyUsageBits {
                            digital_signature: k.digital_signature(),
                            non_repudiation: k.non_repudiation(),
                            key_cert_sign: k.key_cert_sign(),
                            crl_sign: k.crl_sign(),
                        })
                    }
                    Err(_) => bad("keyUsage"),
                },
                "2.5.29.37" => match ExtendedKeyUsage::from_der(v) {
                    Ok(e) => info.eku = Some((e.0, ext.critical)),
                    Err(_) => bad("extendedKeyUsage"),
                },
                "1.3.6.1.5.5.7.1.1" => {
                    if let Ok(aia) = AuthorityInfoAccessSyntax::from_der(v) {
                        for ad in aia.0.iter().take(16) {
                            if ad.access_method == const_oid::db::rfc5280::ID_AD_OCSP
                                && let GeneralName::UniformResourceIdentifier(u) =
                                    &ad.access_location
                            {
                                info.ocsp_urls.push(u.to_string());
                            }
                        }
                    }
                }
                "2.5.29.31" => {
                    if let Ok(dps) = CrlDistributionPoints::from_der(v) {
                        for dp in dps.0.iter().take(16) {
                            info.crl_urls.extend(dp_uris(dp));
                            info.crl_dps.push(CrlDistPoint::from_dp(dp, view.issuer));
                        }
                    } else {
                        bad("cRLDistributionPoints");
                    }
                }
                "2.5.29.46" => {
                    if let Ok(dps) = CrlDistributionPoints::from_der(v) {
                        for dp in dps.0.iter().take(16) {
                            info.freshest_urls.extend(dp_uris(dp));
                        }
                    } else {
                        bad("freshestCRL");
                    }
                }
                "1.3.6.1.5.5.7.48.1.5" => info.ocsp_nocheck = true,
                "2.5.29.30" => info.name_constraints = Some(v.to_vec()),
                "2.5.29.33" | "2.5.29.36" => info.policy_processing = true,
                other => {
                    if ext.critical && !KNOWN_EXTENSIONS.contains(&other) {
                        info.unknown_critical.push(other.to_string());
                    }
                }
            }
        }
        Ok(info)
    }

    /// `true` when basicConstraints says cA.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.is_some_and(|(ca, _)| ca)
    }

    /// Issuer DN = subject DN.
    pub fn is_self_issued(&self) -> bool {
        names_equal_normed(
            &self.issuer,
            self.issuer_norm.as_deref(),
            &self.subject,
            self.subject_norm.as_deref(),
        )
    }

    /// Whether this certificate's subject is the name `name` (DER) whose
    /// [`normalized_name_der`] is `norm`: what [`names_equal`] decides, without
    /// normalising the subject again.
    pub fn subject_is(&self, name: &[u8], norm: Option<&str>) -> bool {
        names_equal_normed(&self.subject, self.subject_norm.as_deref(), name, norm)
    }

    /// Whether `issuer` names this certificate's issuer (subject = this issuer name).
    pub fn issued_by_name_of(&self, issuer: &CertInfo) -> bool {
        names_equal_normed(
            &self.issuer,
            self.issuer_norm.as_deref(),
            &issuer.subject,
            issuer.subject_norm.as_deref(),
        )
    }

    fn valid_at(&self, t: OffsetDateTime) -> bool {
        self.not_before <= t && t <= self.not_after
    }
}

/// The URIs of a distribution point's fullName (at most 16).
fn dp_uris(
    dp: &x509_cert::ext::pkix::crl::dp::DistributionPoint,
) -> impl Iterator<Item = String> + '_ {
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    let names = match &dp.distribution_point {
        Some(DistributionPointName::FullName(names)) => names.as_slice(),
        _ => &[],
    };
    names.iter().take(16).filter_map(|n| match n {
        GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
        _ => None,
    })
}

fn names_equal(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    match (normalized_name_der(a), normalized_name_der(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// [`names_equal`] with both normalised forms already computed (`a_norm` must be
/// `normalized_name_der(a)`, `b_norm` likewise): byte-equal, or both normalisable and
/// the normal forms equal.
pub(crate) fn names_equal_normed(
    a: &[u8],
    a_norm: Option<&str>,
    b: &[u8],
    b_norm: Option<&str>,
) -> bool {
    if a == b {
        return true;
    }
    match (a_norm, b_norm) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// A name of a CRL distribution point (RFC 5280 §4.2.1.13 `DistributionPointName`, or a
/// `cRLIssuer` general name), as needed to compare a certificate's distribution points
/// with a CRL's issuingDistributionPoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DpName {
    /// A URI.
    Uri(String),
    /// A directoryName (`Name` DER) with its [`normalized_name_der`] form; a
    /// nameRelativeToCRLIssuer is resolved to one of these.
    Directory(Vec<u8>, Option<String>),
    /// Any other general name, as its DER.
    Other(Vec<u8>),
}

impl DpName {
    fn from_general_name(g: &x509_cert::ext::pkix::name::GeneralName) -> Option<DpName> {
        use x509_cert::ext::pkix::name::GeneralName;
        match g {
            GeneralName::UniformResourceIdentifier(u) => Some(DpName::Uri(u.to_string())),
            GeneralName::DirectoryName(n) => {
                let d = n.to_der().ok()?;
                let norm = normalized_name_der(&d);
                Some(DpName::Directory(d, norm))
            }
            other => other.to_der().ok().map(DpName::Other),
        }
    }

    /// The names of a `DistributionPointName`: the fullName's general names, or the
    /// nameRelativeToCRLIssuer appended to `crl_issuer` (a `Name` DER).
    pub fn of_dp_name(
        dpn: &x509_cert::ext::pkix::name::DistributionPointName,
        crl_issuer: &[u8],
    ) -> Vec<DpName> {
        use x509_cert::ext::pkix::name::DistributionPointName;
        match dpn {
            DistributionPointName::FullName(names) => names
                .iter()
                .take(16)
                .filter_map(DpName::from_general_name)
                .collect(),
            DistributionPointName::NameRelativeToCRLIssuer(rdn) => {
                let Ok(mut name) = x509_cert::name::Name::from_der(crl_issuer) else {
                    return Vec::new();
                };
                name.0.push(rdn.clone());
                name.to_der()
                    .ok()
                    .map(|d| {
                        let norm = normalized_name_der(&d);
                        vec![DpName::Directory(d, norm)]
                    })
                    .unwrap_or_default()
            }
        }
    }

    /// Whether both name the same thing: URIs equal with the scheme and host compared
    /// case-insensitively, directory names equal after normalisation, other names
    /// byte-equal.
    pub fn same_as(&self, other: &DpName) -> bool {
        match (self, other) {
            (DpName::Uri(a), DpName::Uri(b)) => uri_key(a) == uri_key(b),
            (DpName::Directory(a, an), DpName::Directory(b, bn)) => {
                names_equal_normed(a, an.as_deref(), b, bn.as_deref())
            }
            (DpName::Other(a), DpName::Other(b)) => a == b,
            _ => false,
        }
    }
}

/// `scheme://authority` lower-cased, the rest as is.
fn uri_key(u: &str) -> (String, &str) {
    let Some(i) = u.find("://") else {
        return (String::new(), u);
    };
    let rest_start = u[i + 3..].find('/').map_or(u.len(), |j| i + 3 + j);
    (u[..rest_start].to_ascii_lowercase(), &u[rest_start..])
}

/// One entry of a certificate's cRLDistributionPoints.
#[derive(Debug, Clone, Default)]
pub struct CrlDistPoint {
    /// The distribution point names (empty when the field is absent).
    pub names: Vec<DpName>,
    /// The cRLIssuer names (empty when absent: the CRL issuer is the certificate issuer).
    pub crl_issuers: Vec<DpName>,
}

impl CrlDistPoint {
    fn from_dp(dp: &x509_cert::ext::pkix::crl::dp::DistributionPoint, cert_issuer: &[u8]) -> Self {
        let crl_issuers: Vec<DpName> = dp
            .crl_issuer
            .iter()
            .flatten()
            .take(16)
            .filter_map(DpName::from_general_name)
            .collect();
        // nameRelativeToCRLIssuer is relative to the cRLIssuer when there is one.
        let relative_to = crl_issuers
            .iter()
            .find_map(|n| match n {
                DpName::Directory(d, _) => Some(d.as_slice()),
                _ => None,
            })
            .unwrap_or(cert_issuer);
        CrlDistPoint {
            names: dp
                .distribution_point
                .as_ref()
                .map(|n| DpName::of_dp_name(n, relative_to))
                .unwrap_or_default(),
            crl_issuers,
        }
    }

    /// Whether the directoryName `name` (DER, normalised `norm`) is one of the cRLIssuer
    /// names.
    pub fn names_crl_issuer(&self, name: &[u8], norm: Option<&str>) -> bool {
        self.crl_issuers.iter().any(|n| match n {
            DpName::Directory(d, dn) => names_equal_normed(d, dn.as_deref(), name, norm),
            _ => false,
        })
    }
}

/// The path search state.
struct Search<'a> {
    certs: Vec<std::sync::Arc<CertInfo>>,
    input: &'a CertCheckInput<'a>,
    /// Certificates whose TL issuer identities were added already.
    expanded: Vec<bool>,
    sig: HashMap<(usize, usize), Option<Algorithms>>,
    verifications: usize,
    best_partial: Vec<usize>,
    /// Why anchor candidates were not accepted (TL status, …).
    notes: Vec<String>,
    /// Notes on anchors that were accepted with a caveat (withdrawn service).
    anchor_notes: Vec<String>,
    /// (SPKI, subject) of the explicit anchors: a certificate with both is trusted.
    explicit: Vec<(Vec<u8>, Vec<u8>)>,
}

impl<'a> Search<'a> {
    fn add(&mut self, der: &[u8]) -> Option<usize> {
        if let Some(i) = self.certs.iter().position(|c| c.der == der) {
            return Some(i);
        }
        if self.certs.len() >= MAX_UNIVERSE {
            return None;
        }
        let c = CertInfo::parse(der).ok()?;
        self.certs.push(c);
        self.expanded.push(false);
        Some(self.certs.len() - 1)
    }

    fn anchor_of(&mut self, i: usize) -> Option<AnchorSource> {
        let c = &self.certs[i];
        let explicit = self
            .explicit
            .iter()
            .any(|(spki, subject)| *spki == c.spki && names_equal(subject, &c.subject));
        if explicit {
            return Some(AnchorSource::Explicit);
        }
        let reg = self.input.trust.registry?;
        let at = self.input.at;
        let usage = self.input.usage;
        let mut notes = Vec::new();
        let mut found = None;
        for m in reg
            .services_for_certificate(&c.der)
            .into_iter()
            .filter(|m| m.direct)
        {
            let Some(st) = m.status_at(at) else {
                notes.push(format!(
                    "{} is listed by {} / {} ({}) but no status was in force at {}",
                    c.label,
                    m.territory,
                    m.service.name,
                    m.service.type_suffix(),
                    rfc3339(at)
                ));
                continue;
            };
            let type_ok = st.type_suffix.starts_with("CA/")
                || (usage == Usage::Timestamping && st.type_suffix.starts_with("TSA"))
                || (usage == Usage::OcspSigning && st.type_suffix.starts_with("Certstatus/OCSP"));
            // Like EU DSS, a CA service that was granted at some time up to `at` and is
            // withdrawn now still anchors paths (its certificates are still those of a
            // supervised CA); qualification, which looks at the status in force, tells the
            // difference. A service never granted before `at` anchors nothing.
            let once_granted = st.is_granted()
                || std::iter::once((&m.service.status_uri, m.service.status_start))
                    .chain(
                        m.service
                            .history
                            .iter()
                            .map(|h| (&h.status_uri, h.status_start)),
                    )
                    .any(|(uri, start)| {
                        start <= at
                            && crate::trust::registry::GRANTED_EQUIVALENT
                                .iter()
                                .any(|g| uri.rsplit('/').next() == Some(*g))
                    });
            if once_granted && !st.is_granted() && type_ok {
                self.anchor_notes.push(format!(
                    "{} is listed by {} / {} as {} with status {} at {}; used as trust anchor because the service was granted before",
                    c.label,
                    m.territory,
                    st.name,
                    st.type_suffix,
                    st.status_suffix(),
                    rfc3339(at)
                ));
            }
            if !once_granted || !type_ok {
                notes.push(format!(
                    "{} is listed by {} / {} as {} with status {} at {}: not a trust anchor for this use",
                    c.label,
                    m.territory,
                    st.name,
                    st.type_suffix,
                    st.status_suffix(),
                    rfc3339(at)
                ));
                continue;
            }
            found = Some(AnchorSource::TrustedList {
                territory: m.territory.to_string(),
                provider: m.provider.to_string(),
                service: st.name.to_string(),
                type_suffix: st.type_suffix.to_string(),
            });
            break;
        }
        if found.is_none() {
            self.notes.extend(notes);
        }
        found
    }

    /// Adds the identity certificates of the TL services that list `i` as issued by
    /// them.
    fn expand_tl(&mut self, i: usize) {
        if self.expanded[i] {
            return;
        }
        self.expanded[i] = true;
        let Some(reg) = self.input.trust.registry else {
            return;
        };
        let ders: Vec<Vec<u8>> = reg
            .services_for_certificate(&self.certs[i].der)
            .into_iter()
            .filter(|m| !m.direct)
            .flat_map(|m| {
                let mut v = m.service.identities.certificates.clone();
                for h in &m.service.history {
                    v.extend(h.identities.certificates.iter().cloned());
                }
                v
            })
            .take(MAX_CANDIDATES)
            .collect();
        for d in ders {
            self.add(&d);
        }
    }

    fn candidates(&mut self, i: usize) -> Vec<usize> {
        self.expand_tl(i);
        let c = &self.certs[i];
        let mut out: Vec<usize> = self
            .certs
            .iter()
            .enumerate()
            .filter(|(j, p)| {
                *j != i
                    && c.issued_by_name_of(p)
                    && match (&c.aki, &p.ski) {
                        (Some(a), Some(s)) => a == s,
                        _ => true,
                    }
            })
            .map(|(j, _)| j)
            .take(MAX_CANDIDATES)
            .collect();
        // Valid-at-time candidates first.
        let at = self.input.at;
        out.sort_by_key(|j| !self.certs[*j].valid_at(at));
        out
    }

    fn signed_by(&mut self, child: usize, parent: usize) -> bool {
        if let Some(r) = self.sig.get(&(child, parent)) {
            return r.is_some();
        }
        if self.verifications >= MAX_VERIFICATIONS {
            return false;
        }
        self.verifications += 1;
        let r = verify_signed_object(&self.certs[child].der, &self.certs[parent].spki).ok();
        let ok = r.is_some();
        self.sig.insert((child, parent), r);
        ok
    }

    fn build(&mut self, path: &mut Vec<usize>) -> Option<AnchorSource> {
        let &cur = path.last()?;
        if path.len() > self.best_partial.len() {
            self.best_partial = path.clone();
        }
        if let Some(a) = self.anchor_of(cur) {
            return Some(a);
        }
        if path.len() >= self.input.policy.max_path_len.max(1) {
            self.notes.push(format!(
                "the path reached the limit of {} certificates",
                self.input.policy.max_path_len
            ));
            return None;
        }
        for p in self.candidates(cur) {
            if path.contains(&p) || !self.signed_by(cur, p) {
                continue;
            }
            path.push(p);
            if let Some(a) = self.build(path) {
                return Some(a);
            }
            path.pop();
        }
        None
    }
}

fn rank(s: SubIndication) -> u8 {
    match s {
        SubIndication::CertificateChainGeneralFailure => 0,
        SubIndication::ChainConstraintsFailure => 1,
        SubIndication::CryptoConstraintsFailure => 2,
        SubIndication::RevokedNoPoe => 3,
        SubIndication::RevokedCaNoPoe => 4,
        SubIndication::OutOfBoundsNotRevoked | SubIndication::OutOfBoundsNoPoe => 5,
        SubIndication::TryLater => 6,
        _ => 7,
    }
}

/// Validates `input.cert` at `input.at`: builds a path to a trust anchor, checks it
/// (RFC 5280 at the control time, cryptographic constraints, revocation) and returns
/// the EN 319 102-1 X.509 validation result.
pub fn check_certificate(input: &CertCheckInput<'_>) -> CertCheck {
    check_certificate_sharing(input, &std::cell::OnceCell::new())
}

/// [`check_certificate`] for callers that validate several certificates against the
/// same embedded revocation data (a signature and its timestamps): `revocation` holds
/// `RevocationData::parse(input.crls, input.ocsps)` once one call has needed it, so the
/// CRLs and OCSP responses are parsed once per validation, not once per certificate.
/// Every call must pass the same `crls` and `ocsps` as the call that filled it; the
/// responses are still checked (signature, responder, freshness) for every certificate.
pub fn check_certificate_sharing(
    input: &CertCheckInput<'_>,
    revocation: &std::cell::OnceCell<RevocationData>,
) -> CertCheck {
    check_inner(input, DataSource::Lazy(revocation), 0)
}

/// The embedded revocation data of [`check_inner`]: parsed on first need, or already
/// parsed by the validation this one is nested in.
#[derive(Clone, Copy)]
enum DataSource<'a> {
    Lazy(&'a std::cell::OnceCell<RevocationData>),
    Ready(&'a RevocationData),
}

/// How deep indirect CRL issuers are followed: the certificate of an indirect CRL's
/// issuer is validated (with its own revocation data), but a CRL issuer met while doing
/// that is not validated in turn, so its CRLs are not used there.
const MAX_CRL_ISSUER_DEPTH: u8 = 1;

/// Validates indirect CRL issuers' certificates for `revocation` (RFC 5280 §6.3.3 (f)):
/// a path to a trust anchor of the same validation, at the CRL's thisUpdate, for
/// [`Usage::CrlSigning`], with its own revocation status from the same data (and the
/// fetcher), one level deep. Results are kept for the validation's other certificates.
struct CrlIssuerPaths<'a> {
    input: &'a CertCheckInput<'a>,
    data: &'a RevocationData,
    depth: u8,
    memo: std::cell::RefCell<Vec<(Der, OffsetDateTime, CrlIssuerVerdict)>>,
}

/// What [`super::revocation::CrlIssuerCheck::check_crl_issuer`] answers.
type CrlIssuerVerdict = Result<Vec<Finding>, String>;

impl super::revocation::CrlIssuerCheck for CrlIssuerPaths<'_> {
    fn check_crl_issuer(
        &self,
        cert: &CertInfo,
        at: OffsetDateTime,
    ) -> Result<Vec<Finding>, String> {
        if self.depth >= MAX_CRL_ISSUER_DEPTH {
            return Err(format!(
                "{} signs an indirect CRL used to check another CRL issuer; indirect CRL issuers are followed {MAX_CRL_ISSUER_DEPTH} level deep",
                cert.label
            ));
        }
        if let Some((_, _, r)) = self
            .memo
            .borrow()
            .iter()
            .find(|(d, t, _)| *d == cert.der && *t == at)
        {
            return r.clone();
        }
        let nested = CertCheckInput {
            cert: &cert.der,
            pool: self.input.pool,
            crls: &[],
            ocsps: &[],
            trust: self.input.trust,
            at,
            usage: Usage::CrlSigning,
            policy: self.input.policy,
            fetcher: self.input.fetcher,
        };
        let r = check_inner(&nested, DataSource::Ready(self.data), self.depth + 1);
        let verdict = match (r.indication, r.sub_indication) {
            (Indication::TotalPassed, _) => Ok(r.warnings),
            // Only its own revocation status is missing: used, with that said (as for a
            // delegated OCSP responder without id-pkix-ocsp-nocheck).
            (_, Some(SubIndication::TryLater)) => {
                let mut notes = r.warnings;
                notes.extend(r.errors);
                notes.push(Finding::new(
                    "XCV: revocation data",
                    format!("CRL issuer {}", cert.label),
                    "no revocation data for the indirect CRL issuer's certificate was found; its own revocation status was not checked",
                ));
                Ok(notes)
            }
            (ind, sub) => Err(format!(
                "the indirect CRL issuer's certificate {} does not validate at the CRL's thisUpdate {} ({}{}){}",
                cert.label,
                rfc3339(at),
                ind.as_str(),
                sub.map(|s| format!("/{}", s.as_str())).unwrap_or_default(),
                r.errors
                    .first()
                    .map(|e| format!(": {}", e.reason))
                    .unwrap_or_default()
            )),
        };
        self.memo
            .borrow_mut()
            .push((cert.der.clone(), at, verdict.clone()));
        verdict
    }
}

fn check_inner(input: &CertCheckInput<'_>, revocation: DataSource<'_>, depth: u8) -> CertCheck {
    let mut out = CertCheck {
        indication: Indication::Indeterminate,
        sub_indication: None,
        path: Vec::new(),
        anchor: None,
        revocation: Vec::new(),
        signer_revoked_at: None,
        ca_revoked_at: None,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let target = match CertInfo::parse(input.cert) {
        Ok(t) => t,
        Err(e) => {
            out.sub_indication = Some(SubIndication::CertificateChainGeneralFailure);
            out.errors.push(Finding::new(
                "XCV: certificate",
                "certificate",
                format!("the certificate cannot be read: {e}"),
            ));
            return out;
        }
    };
    let mut search = Search {
        certs: vec![target],
        input,
        expanded: vec![false],
        sig: HashMap::new(),
        verifications: 0,
        best_partial: Vec::new(),
        notes: Vec::new(),
        anchor_notes: Vec::new(),
        explicit: input
            .trust
            .explicit
            .iter()
            .take(MAX_UNIVERSE)
            .filter_map(|e| CertInfo::parse(e).ok())
            .map(|a| (a.spki.clone(), a.subject.clone()))
            .collect(),
    };
    for d in input.pool.iter().chain(input.trust.explicit.iter()) {
        search.add(d);
    }
    let mut path = vec![0usize];
    let anchor = search.build(&mut path);
    let target_label = search.certs[0].label.clone();
    let Some(anchor) = anchor else {
        out.path = search
            .best_partial
            .iter()
            .map(|&i| search.certs[i].der.clone())
            .collect();
        out.sub_indication = Some(SubIndication::NoCertificateChainFound);
        let last = search
            .best_partial
            .last()
            .map(|&i| search.certs[i].label.clone())
            .unwrap_or_default();
        let mut reason = format!(
            "no path to a trust anchor (explicit or trusted-list service) was found; the best path has {} certificate(s) and ends at {last}",
            out.path.len()
        );
        for n in search.notes.iter().take(5) {
            reason.push_str("; ");
            reason.push_str(n);
        }
        out.errors
            .push(Finding::new("XCV: trust anchor", target_label, reason));
        return out;
    };

    for n in search.anchor_notes.drain(..) {
        out.warnings
            .push(Finding::new("XCV: trust anchor", target_label.clone(), n));
    }
    let at = input.at;
    let policy = input.policy;
    let certs: Vec<&CertInfo> = path.iter().map(|&i| &*search.certs[i]).collect();
    let n = certs.len();
    out.path = certs.iter().map(|c| c.der.clone()).collect();
    out.anchor = Some(anchor);
    let mut subs: Vec<SubIndication> = Vec::new();
    let mut fail = |out: &mut CertCheck, sub: SubIndication, f: Finding| {
        subs.push(sub);
        out.errors.push(f);
    };

    // Validity at the control time.
    let target = certs[0];
    let target_out_of_bounds = !target.valid_at(at);
    for (i, c) in certs.iter().enumerate() {
        if c.valid_at(at) {
            continue;
        }
        let why = if at < c.not_before {
            format!(
                "not yet valid at {} (notBefore {})",
                rfc3339(at),
                rfc3339(c.not_before)
            )
        } else {
            format!(
                "expired at {} (notAfter {})",
                rfc3339(at),
                rfc3339(c.not_after)
            )
        };
        if i + 1 == n && i > 0 {
            out.warnings.push(Finding::new(
                "XCV: validity range",
                c.label.clone(),
                format!("trust anchor {why}; trust anchors are not subject to the validity check"),
            ));
        } else if i > 0 {
            fail(
                &mut out,
                SubIndication::OutOfBoundsNoPoe,
                Finding::new(
                    "XCV: validity range",
                    c.label.clone(),
                    format!("CA certificate {why}"),
                ),
            );
        }
    }

    // CA constraints of every issuer.
    for (i, c) in certs.iter().enumerate().skip(1) {
        let is_anchor = i + 1 == n;
        match c.basic_constraints {
            Some((true, len)) => {
                let below = certs[1..i].iter().filter(|x| !x.is_self_issued()).count();
                if let Some(len) = len
                    && below > usize::from(len)
                {
                    fail(
                        &mut out,
                        SubIndication::ChainConstraintsFailure,
                        Finding::new(
                            "XCV: basic constraints",
                            c.label.clone(),
                            format!(
                                "pathLenConstraint {len} is exceeded by {below} intermediate CA certificate(s) below it"
                            ),
                        ),
                    );
                }
            }
            _ if !c.v3 && is_anchor => {}
            _ => fail(
                &mut out,
                SubIndication::ChainConstraintsFailure,
                Finding::new(
                    "XCV: basic constraints",
                    c.label.clone(),
                    "issues a certificate of the path but is not a CA (basicConstraints cA is absent or false)",
                ),
            ),
        }
        if let Some(ku) = c.key_usage
            && !ku.key_cert_sign
        {
            fail(
                &mut out,
                SubIndication::ChainConstraintsFailure,
                Finding::new(
                    "XCV: key usage",
                    c.label.clone(),
                    "issues a certificate of the path but its keyUsage lacks keyCertSign",
                ),
            );
        }
    }

    // Unknown critical extensions.
    for (i, c) in certs.iter().enumerate() {
        if c.unknown_critical.is_empty() {
            continue;
        }
        let f = Finding::new(
            "XCV: critical extensions",
            c.label.clone(),
            format!(
                "unsupported critical extension(s): {}",
                c.unknown_critical.join(", ")
            ),
        );
        if i + 1 == n && i > 0 {
            out.warnings.push(f);
        } else {
            fail(&mut out, SubIndication::ChainConstraintsFailure, f);
        }
    }
    // Name constraints of every CA (RFC 5280 §6.1.3 (b)–(c)).
    if certs.iter().skip(1).any(|c| c.name_constraints.is_some()) {
        let path: Vec<super::name_constraints::PathCert<'_>> = certs
            .iter()
            .map(|c| super::name_constraints::PathCert {
                der: &c.der,
                label: &c.label,
                self_issued: c.is_self_issued(),
                name_constraints: c.name_constraints.as_deref(),
            })
            .collect();
        for (label, e) in super::name_constraints::check_path(&path) {
            fail(
                &mut out,
                SubIndication::ChainConstraintsFailure,
                Finding::new("XCV: name constraints", label, e.to_string()),
            );
        }
    }

    // Certificate policies (RFC 5280 §6.1.3 (d)–(f)): only a requireExplicitPolicy or
    // a policy mapping can make them fail; the path excludes the trust anchor.
    if n > 1 && certs[..n - 1].iter().any(|c| c.policy_processing) {
        let path: Vec<super::policies::PathCert<'_>> = certs[..n - 1]
            .iter()
            .rev()
            .map(|c| super::policies::PathCert {
                der: &c.der,
                self_issued: c.is_self_issued(),
            })
            .collect();
        if let Err(e) = super::policies::check_path(&path) {
            fail(
                &mut out,
                SubIndication::ChainConstraintsFailure,
                Finding::new(
                    "XCV: certificate policies",
                    target.label.clone(),
                    e.to_string(),
                ),
            );
        }
    }

    // The certificate's own usage.
    let eku_has = |o: ObjectIdentifier| target.eku.as_ref().is_some_and(|(e, _)| e.contains(&o));
    match input.usage {
        Usage::Signature => {
            if let Some(ku) = target.key_usage
                && !(ku.digital_signature || ku.non_repudiation)
            {
                fail(
                    &mut out,
                    SubIndication::ChainConstraintsFailure,
                    Finding::new(
                        "XCV: key usage",
                        target.label.clone(),
                        "keyUsage has neither digitalSignature nor nonRepudiation",
                    ),
                );
            }
        }
        Usage::Timestamping => {
            if !eku_has(OID_KP_TIMESTAMPING) {
                fail(
                    &mut out,
                    SubIndication::ChainConstraintsFailure,
                    Finding::new(
                        "XCV: extended key usage",
                        target.label.clone(),
                        "a TSA certificate needs extendedKeyUsage id-kp-timeStamping (RFC 3161 §2.3)",
                    ),
                );
            } else if !target.eku.as_ref().is_some_and(|(_, crit)| *crit) {
                out.warnings.push(Finding::new(
                    "XCV: extended key usage",
                    target.label.clone(),
                    "extendedKeyUsage id-kp-timeStamping should be critical (RFC 3161 §2.3)",
                ));
            }
        }
        Usage::CrlSigning => {
            if let Some(ku) = target.key_usage
                && !ku.crl_sign
            {
                fail(
                    &mut out,
                    SubIndication::ChainConstraintsFailure,
                    Finding::new(
                        "XCV: key usage",
                        target.label.clone(),
                        "a CRL issuer certificate needs keyUsage cRLSign",
                    ),
                );
            }
        }
        Usage::OcspSigning => {
            if !eku_has(OID_KP_OCSP_SIGNING) {
                fail(
                    &mut out,
                    SubIndication::ChainConstraintsFailure,
                    Finding::new(
                        "XCV: extended key usage",
                        target.label.clone(),
                        "an OCSP responder certificate needs extendedKeyUsage id-kp-OCSPSigning",
                    ),
                );
            }
        }
    }

    // Cryptographic constraints of each certificate signature (anchor excluded).
    for i in 0..n.saturating_sub(1) {
        let algs = search.sig.get(&(path[i], path[i + 1])).cloned().flatten();
        let Some(algs) = algs else { continue };
        match policy.assess_algorithms(&algs, at) {
            AlgoVerdict::Ok => {}
            AlgoVerdict::Warn(mut f) => {
                f.object = format!("signature of {}", certs[i].label);
                out.warnings.push(f);
            }
            AlgoVerdict::Fail(mut f) => {
                f.object = format!("signature of {}", certs[i].label);
                fail(&mut out, SubIndication::CryptoConstraintsFailure, f);
            }
        }
    }

    // Revocation of every non-anchor certificate.
    let data = match revocation {
        DataSource::Lazy(cell) => {
            let d = cell.get_or_init(|| RevocationData::parse(input.crls, input.ocsps));
            out.warnings.extend(d.problems.iter().cloned());
            d
        }
        DataSource::Ready(d) => d,
    };
    let crl_issuers = CrlIssuerPaths {
        input,
        data,
        depth,
        memo: std::cell::RefCell::new(Vec::new()),
    };
    let ctx = RevocationContext {
        data,
        pool: input.pool,
        at,
        policy,
        fetcher: input.fetcher,
        crl_issuers: Some(&crl_issuers),
    };
    for i in 0..n.saturating_sub(1) {
        let c = certs[i];
        let rf = if c.ocsp_nocheck {
            RevocationFinding::new(
                c.label.clone(),
                RevocationStatus::NotChecked("id-pkix-ocsp-nocheck".to_string()),
            )
        } else {
            check_revocation(&ctx, c, certs[i + 1])
        };
        out.warnings.extend(rf.warnings.iter().cloned());
        out.warnings.extend(rf.rejected.iter().cloned());
        match &rf.status {
            RevocationStatus::Revoked { time, reason } => {
                let reason_s = reason.clone().unwrap_or_else(|| "unspecified".to_string());
                if i == 0 {
                    out.signer_revoked_at = Some((*time, reason_s.clone()));
                } else {
                    out.ca_revoked_at = Some(out.ca_revoked_at.map_or(*time, |t| t.min(*time)));
                }
                let f = Finding::new(
                    "XCV: revocation",
                    c.label.clone(),
                    format!(
                        "revoked at {} (reason {reason_s}) according to {}",
                        rfc3339(*time),
                        rf.summary()
                    ),
                );
                if *time <= at {
                    let sub = if i == 0 {
                        SubIndication::RevokedNoPoe
                    } else {
                        SubIndication::RevokedCaNoPoe
                    };
                    fail(&mut out, sub, f);
                } else {
                    out.warnings.push(Finding::new(
                        "XCV: revocation",
                        c.label.clone(),
                        format!(
                            "{}; that is after the control time {}",
                            f.reason,
                            rfc3339(at)
                        ),
                    ));
                }
            }
            RevocationStatus::Unknown | RevocationStatus::Unavailable => {
                let what = if rf.status == RevocationStatus::Unknown {
                    "the OCSP responder reports the status as unknown".to_string()
                } else {
                    let mut s = "no revocation data was found (embedded".to_string();
                    s.push_str(if input.fetcher.is_some() {
                        " or online)"
                    } else {
                        "; online fetching is off)"
                    });
                    if !rf.rejected.is_empty() {
                        s.push_str(&format!(
                            "; {} revocation object(s) were rejected, see warnings",
                            rf.rejected.len()
                        ));
                    }
                    s
                };
                let f = Finding::new(
                    "XCV: revocation",
                    c.label.clone(),
                    format!("{what}: revocation status not available, try later (TRY_LATER)"),
                );
                if policy.require_revocation {
                    fail(&mut out, SubIndication::TryLater, f);
                } else {
                    out.warnings.push(f);
                }
            }
            RevocationStatus::Good | RevocationStatus::NotChecked(_) => {}
        }
        out.revocation.push(rf);
    }

    // Validity of the certificate itself (after revocation: NOT_REVOKED needs it).
    if target_out_of_bounds {
        let good = out
            .revocation
            .first()
            .is_some_and(|r| r.status == RevocationStatus::Good);
        let why = if at < target.not_before {
            format!(
                "not yet valid at {} (notBefore {})",
                rfc3339(at),
                rfc3339(target.not_before)
            )
        } else {
            format!(
                "expired at {} (notAfter {})",
                rfc3339(at),
                rfc3339(target.not_after)
            )
        };
        let sub = if good {
            SubIndication::OutOfBoundsNotRevoked
        } else {
            SubIndication::OutOfBoundsNoPoe
        };
        fail(
            &mut out,
            sub,
            Finding::new("XCV: validity range", target.label.clone(), why),
        );
    }

    out.sub_indication = subs.iter().copied().min_by_key(|s| rank(*s));
    out.indication = if out.sub_indication.is_some() {
        Indication::Indeterminate
    } else {
        Indication::TotalPassed
    };
    out
}

/// A small test PKI built with rcgen (root → intermediate → signer, a TSA, OCSP
/// responders), and `openssl` helpers, shared by the chain and revocation tests.
#[cfg(test)]
pub(crate) mod test_pki {
    use der::{Decode as _, Encode as _};
    use rcgen::{
        BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
        CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair,
        KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, RevocationReason, RevokedCertParams, SerialNumber,
    };
    use std::path::Path;
    use std::process::Command;
    use time::{Duration, OffsetDateTime};

    /// One certificate with its key.
    pub struct Node {
        pub params: CertificateParams,
        pub key: KeyPair,
        pub der: Vec<u8>,
        pub pem: String,
    }

    impl Node {
        pub fn issuer(&self) -> Issuer<'_, &KeyPair> {
            Issuer::from_params(&self.params, &self.key)
        }
        pub fn key_pem(&self) -> String {
            self.key.serialize_pem()
        }
        /// Writes `NAME.pem` and `NAME.key` into `dir`.
        pub fn write(&self, dir: &Path, name: &str) {
            std::fs::write(dir.join(format!("{name}.pem")), &self.pem).unwrap();
            std::fs::write(dir.join(format!("{name}.key")), self.key_pem()).unwrap();
        }
    }

    /// Knobs for [`build`].
    pub struct Opts {
        pub now: OffsetDateTime,
        pub ocsp_url: Option<String>,
        pub interm_key_cert_sign: bool,
        pub interm_is_ca: bool,
        pub signer_not_after: Option<OffsetDateTime>,
        /// nameConstraints of the issuing CA.
        pub interm_name_constraints: Option<rcgen::NameConstraints>,
        /// subjectAltName rfc822Name of the signer.
        pub signer_email: Option<String>,
        /// Extra extensions (OID arcs, DER value) of the issuing CA and of the signer.
        pub interm_extensions: Vec<(Vec<u64>, Vec<u8>)>,
        /// See `interm_extensions`.
        pub signer_extensions: Vec<(Vec<u64>, Vec<u8>)>,
        /// The signer's cRLDistributionPoints name [`Pki::crl_authority`] as cRLIssuer
        /// (one point, [`INDIRECT_CRL_URL`]) instead of the issuing CA's CRL.
        pub signer_crl_issuer: bool,
        /// A freshestCRL (delta CRL) URL in the signer's certificate.
        pub signer_freshest: Option<String>,
    }

    impl Opts {
        pub fn new(now: OffsetDateTime) -> Self {
            Opts {
                now,
                ocsp_url: None,
                interm_key_cert_sign: true,
                interm_is_ca: true,
                signer_not_after: None,
                interm_name_constraints: None,
                signer_email: None,
                interm_extensions: Vec::new(),
                signer_extensions: Vec::new(),
                signer_crl_issuer: false,
                signer_freshest: None,
            }
        }
    }

    pub struct Pki {
        pub root: Node,
        pub interm: Node,
        pub signer: Node,
        pub tsa: Node,
        pub responder: Node,
        /// Issued by the intermediate, but without id-kp-OCSPSigning.
        pub rogue_responder: Node,
        /// A delegated OCSP responder without id-pkix-ocsp-nocheck.
        pub plain_responder: Node,
        /// An indirect CRL issuer: issued by the root, keyUsage cRLSign only.
        pub crl_authority: Node,
    }

    /// The distribution point of the signer when [`Opts::signer_crl_issuer`] is set.
    pub const INDIRECT_CRL_URL: &str = "http://127.0.0.1:9/indirect.crl";
    /// The signer's direct CRL distribution point.
    pub const ISSUING_CRL_URL: &str = "http://127.0.0.1:9/issuing.crl";

    /// Serial of [`Pki::crl_authority`].
    pub const CRL_AUTHORITY_SERIAL: [u8; 1] = [0x03];

    /// Serial of [`Pki::plain_responder`].
    pub const PLAIN_RESPONDER_SERIAL: [u8; 2] = [0x10, 0x05];

    pub const SIGNER_SERIAL: [u8; 2] = [0x10, 0x01];

    fn params(
        cn: &str,
        serial: &[u8],
        nb: OffsetDateTime,
        na: OffsetDateTime,
    ) -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CountryName, "NO");
        p.distinguished_name
            .push(DnType::OrganizationName, "signgate test");
        p.distinguished_name.push(DnType::CommonName, cn);
        p.serial_number = Some(SerialNumber::from(serial.to_vec()));
        p.not_before = nb;
        p.not_after = na;
        p.use_authority_key_identifier_extension = true;
        p.key_identifier_method = KeyIdMethod::Sha256;
        p
    }

    fn node(p: CertificateParams, issuer: Option<&Node>) -> Node {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = match issuer {
            Some(i) => p.signed_by(&key, &i.issuer()).unwrap(),
            None => p.self_signed(&key).unwrap(),
        };
        Node {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            params: p,
            key,
        }
    }

    fn aia_ocsp(url: &str) -> CustomExtension {
        use x509_cert::ext::pkix::{
            AccessDescription, AuthorityInfoAccessSyntax, name::GeneralName,
        };
        let aia = AuthorityInfoAccessSyntax(vec![AccessDescription {
            access_method: const_oid::db::rfc5280::ID_AD_OCSP,
            access_location: GeneralName::UniformResourceIdentifier(
                der::asn1::Ia5String::new(url).unwrap(),
            ),
        }]);
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], aia.to_der().unwrap())
    }

    pub fn build(o: &Opts) -> Pki {
        let now = o.now;
        let nb = now - Duration::days(30);
        let na = now + Duration::days(365);
        let mut rp = params(
            "Test Root CA",
            &[0x01],
            now - Duration::days(3650),
            now + Duration::days(3650),
        );
        rp.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        rp.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        rp.use_authority_key_identifier_extension = false;
        let root = node(rp, None);

        let mut ip = params(
            "Test Issuing CA",
            &[0x02],
            now - Duration::days(1000),
            now + Duration::days(1000),
        );
        ip.is_ca = if o.interm_is_ca {
            IsCa::Ca(BasicConstraints::Constrained(0))
        } else {
            IsCa::ExplicitNoCa
        };
        ip.key_usages = if o.interm_key_cert_sign {
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign]
        } else {
            vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign]
        };
        ip.name_constraints = o.interm_name_constraints.clone();
        for (oid, v) in &o.interm_extensions {
            ip.custom_extensions
                .push(CustomExtension::from_oid_content(oid, v.clone()));
        }
        let interm = node(ip, Some(&root));

        let mut cp = params(
            "Test CRL Authority",
            &CRL_AUTHORITY_SERIAL,
            now - Duration::days(1000),
            now + Duration::days(1000),
        );
        cp.key_usages = vec![KeyUsagePurpose::CrlSign];
        let crl_authority = node(cp, Some(&root));

        let mut sp = params(
            "Alice Signer",
            &SIGNER_SERIAL,
            nb,
            o.signer_not_after.unwrap_or(na),
        );
        sp.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        if o.signer_crl_issuer {
            sp.custom_extensions.push(CustomExtension::from_oid_content(
                &[2, 5, 29, 31],
                cdp_ext(INDIRECT_CRL_URL, Some(&subject_der(&crl_authority))),
            ));
        } else {
            sp.crl_distribution_points = vec![CrlDistributionPoint {
                uris: vec![ISSUING_CRL_URL.to_string()],
            }];
        }
        if let Some(u) = &o.signer_freshest {
            sp.custom_extensions.push(CustomExtension::from_oid_content(
                &[2, 5, 29, 46],
                cdp_ext(u, None),
            ));
        }
        if let Some(u) = &o.ocsp_url {
            sp.custom_extensions.push(aia_ocsp(u));
        }
        for (oid, v) in &o.signer_extensions {
            sp.custom_extensions
                .push(CustomExtension::from_oid_content(oid, v.clone()));
        }
        if let Some(e) = &o.signer_email {
            sp.subject_alt_names = vec![rcgen::SanType::Rfc822Name(e.clone().try_into().unwrap())];
        }
        let signer = node(sp, Some(&interm));

        let mut tp = params("Test TSA", &[0x10, 0x02], nb, na);
        tp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        tp.extended_key_usages = vec![ExtendedKeyUsagePurpose::TimeStamping];
        let tsa = node(tp, Some(&interm));

        let nocheck =
            CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 48, 1, 5], vec![0x05, 0x00]);
        let mut op = params("Test OCSP Responder", &[0x10, 0x03], nb, na);
        op.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        op.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
        op.custom_extensions.push(nocheck);
        let responder = node(op, Some(&interm));

        let mut gp = params("Rogue OCSP Responder", &[0x10, 0x04], nb, na);
        gp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        gp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let rogue_responder = node(gp, Some(&interm));

        let mut pp = params("Plain OCSP Responder", &PLAIN_RESPONDER_SERIAL, nb, na);
        pp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        pp.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
        let plain_responder = node(pp, Some(&interm));

        Pki {
            root,
            interm,
            signer,
            tsa,
            responder,
            rogue_responder,
            plain_responder,
            crl_authority,
        }
    }

    /// The subject `Name` DER of a node's certificate.
    pub fn subject_der(n: &Node) -> Vec<u8> {
        x509_cert::Certificate::from_der(&n.der)
            .unwrap()
            .tbs_certificate
            .subject
            .to_der()
            .unwrap()
    }

    fn uri(u: &str) -> x509_cert::ext::pkix::name::GeneralName {
        x509_cert::ext::pkix::name::GeneralName::UniformResourceIdentifier(
            der::asn1::Ia5String::new(u).unwrap(),
        )
    }

    fn dir_name(name: &[u8]) -> x509_cert::ext::pkix::name::GeneralName {
        x509_cert::ext::pkix::name::GeneralName::DirectoryName(
            x509_cert::name::Name::from_der(name).unwrap(),
        )
    }

    /// A cRLDistributionPoints (or freshestCRL) value: one point named `url`, with
    /// `crl_issuer` (a `Name` DER) as cRLIssuer if given.
    pub fn cdp_ext(url: &str, crl_issuer: Option<&[u8]>) -> Vec<u8> {
        use x509_cert::ext::pkix::crl::CrlDistributionPoints;
        use x509_cert::ext::pkix::crl::dp::DistributionPoint;
        use x509_cert::ext::pkix::name::DistributionPointName;
        CrlDistributionPoints(vec![DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![uri(url)])),
            reasons: None,
            crl_issuer: crl_issuer.map(|n| vec![dir_name(n)]),
        }])
        .to_der()
        .unwrap()
    }

    /// An issuingDistributionPoint value naming `url` (if given), with indirectCRL.
    pub fn idp_ext(url: Option<&str>, indirect: bool) -> Vec<u8> {
        use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
        use x509_cert::ext::pkix::name::DistributionPointName;
        IssuingDistributionPoint {
            distribution_point: url.map(|u| DistributionPointName::FullName(vec![uri(u)])),
            only_contains_user_certs: false,
            only_contains_ca_certs: false,
            only_some_reasons: None,
            indirect_crl: indirect,
            only_contains_attribute_certs: false,
        }
        .to_der()
        .unwrap()
    }

    /// One entry of a [`CrlSpec`].
    pub struct CrlEntry {
        pub serial: Vec<u8>,
        pub time: OffsetDateTime,
        pub reason: Option<x509_cert::ext::pkix::CrlReason>,
        /// certificateIssuer (a `Name` DER), for indirect CRLs.
        pub cert_issuer: Option<Vec<u8>>,
    }

    impl CrlEntry {
        pub fn new(
            serial: &[u8],
            time: OffsetDateTime,
            reason: x509_cert::ext::pkix::CrlReason,
        ) -> Self {
            CrlEntry {
                serial: serial.to_vec(),
                time,
                reason: Some(reason),
                cert_issuer: None,
            }
        }
    }

    /// What [`build_crl`] puts in a CRL (rcgen cannot write delta CRLs, indirect CRLs
    /// or certificateIssuer entries).
    pub struct CrlSpec {
        pub this_update: OffsetDateTime,
        pub next_update: OffsetDateTime,
        pub number: u64,
        /// deltaCRLIndicator's BaseCRLNumber: makes it a delta CRL.
        pub delta_base: Option<u64>,
        /// issuingDistributionPoint value (see [`idp_ext`]).
        pub idp: Option<Vec<u8>>,
        /// freshestCRL URL.
        pub freshest: Option<String>,
        pub entries: Vec<CrlEntry>,
    }

    impl CrlSpec {
        /// CRL number `number`, valid for 7 days from `this_update`, no entries.
        pub fn new(this_update: OffsetDateTime, number: u64) -> Self {
            CrlSpec {
                this_update,
                next_update: this_update + Duration::days(7),
                number,
                delta_base: None,
                idp: None,
                freshest: None,
                entries: Vec::new(),
            }
        }
    }

    fn integer(n: u64) -> Vec<u8> {
        der::asn1::Uint::new(&n.to_be_bytes())
            .unwrap()
            .to_der()
            .unwrap()
    }

    fn utc(t: OffsetDateTime) -> x509_cert::time::Time {
        x509_cert::time::Time::UtcTime(
            der::asn1::UtcTime::from_unix_duration(std::time::Duration::from_secs(
                u64::try_from(t.unix_timestamp()).unwrap(),
            ))
            .unwrap(),
        )
    }

    /// A v2 CRL signed (ECDSA P-256, SHA-256) by `signer`'s key under its subject name,
    /// with authorityKeyIdentifier, cRLNumber and what `spec` asks for.
    pub fn build_crl(signer: &Node, spec: &CrlSpec) -> Vec<u8> {
        use der::asn1::{BitString, OctetString};
        use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
        use x509_cert::ext::Extension;
        let ext = |oid: &str, critical: bool, value: Vec<u8>| Extension {
            extn_id: const_oid::ObjectIdentifier::new_unwrap(oid),
            critical,
            extn_value: OctetString::new(value).unwrap(),
        };
        let cert = x509_cert::Certificate::from_der(&signer.der).unwrap();
        let mut exts = vec![ext("2.5.29.20", false, integer(spec.number))];
        // rcgen gives only CA certificates a subjectKeyIdentifier.
        if let Some(ski) = super::CertInfo::parse(&signer.der).unwrap().ski.clone() {
            let aki = x509_cert::ext::pkix::AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(ski).unwrap()),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            };
            exts.insert(0, ext("2.5.29.35", false, aki.to_der().unwrap()));
        }
        if let Some(b) = spec.delta_base {
            exts.push(ext("2.5.29.27", true, integer(b)));
        }
        if let Some(i) = &spec.idp {
            exts.push(ext("2.5.29.28", true, i.clone()));
        }
        if let Some(u) = &spec.freshest {
            exts.push(ext("2.5.29.46", false, cdp_ext(u, None)));
        }
        let revoked: Vec<RevokedCert> = spec
            .entries
            .iter()
            .map(|e| {
                let mut ee = Vec::new();
                if let Some(r) = e.reason {
                    ee.push(ext("2.5.29.21", false, r.to_der().unwrap()));
                }
                if let Some(n) = &e.cert_issuer {
                    ee.push(ext("2.5.29.29", true, vec![dir_name(n)].to_der().unwrap()));
                }
                RevokedCert {
                    serial_number: x509_cert::serial_number::SerialNumber::new(&e.serial).unwrap(),
                    revocation_date: utc(e.time),
                    crl_entry_extensions: (!ee.is_empty()).then_some(ee),
                }
            })
            .collect();
        let alg = spki::AlgorithmIdentifierOwned {
            oid: const_oid::db::rfc5912::ECDSA_WITH_SHA_256,
            parameters: None,
        };
        let tbs = TbsCertList {
            version: x509_cert::Version::V2,
            signature: alg.clone(),
            issuer: cert.tbs_certificate.subject.clone(),
            this_update: utc(spec.this_update),
            next_update: Some(utc(spec.next_update)),
            revoked_certificates: (!revoked.is_empty()).then_some(revoked),
            crl_extensions: Some(exts),
        };
        let sig = rcgen::SigningKey::sign(&signer.key, &tbs.to_der().unwrap()).unwrap();
        CertificateList {
            tbs_cert_list: tbs,
            signature_algorithm: alg,
            signature: BitString::from_bytes(&sig).unwrap(),
        }
        .to_der()
        .unwrap()
    }

    /// A CRL by `issuer` listing `revoked` (serial, time, reason).
    pub fn crl(
        issuer: &Node,
        this_update: OffsetDateTime,
        revoked: &[(&[u8], OffsetDateTime)],
    ) -> Vec<u8> {
        CertificateRevocationListParams {
            this_update,
            next_update: this_update + Duration::days(7),
            crl_number: SerialNumber::from(vec![0x01]),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|(s, t)| RevokedCertParams {
                    serial_number: SerialNumber::from(s.to_vec()),
                    revocation_time: *t,
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&issuer.issuer())
        .unwrap()
        .der()
        .to_vec()
    }

    /// `YYMMDDHHMMSSZ` as openssl's index.txt wants it.
    pub fn index_time(t: OffsetDateTime) -> String {
        format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            t.year() % 100,
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }

    /// Writes an openssl CA `index.txt` with the signer: valid, or revoked at `revoked`.
    pub fn write_index(dir: &Path, pki: &Pki, revoked: Option<OffsetDateTime>) {
        let exp = index_time(pki.signer.params.not_after);
        let serial = hex::encode_upper(SIGNER_SERIAL);
        let line = match revoked {
            None => format!("V\t{exp}\t\t{serial}\tunknown\t/CN=Alice Signer\n"),
            Some(t) => format!(
                "R\t{exp}\t{},keyCompromise\t{serial}\tunknown\t/CN=Alice Signer\n",
                index_time(t)
            ),
        };
        std::fs::write(dir.join("index.txt"), line).unwrap();
    }

    /// Runs `openssl ARGS` in `dir`, panicking with its stderr on failure.
    pub fn openssl(dir: &Path, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// An OCSP response from `openssl ocsp` (index in `dir`) to `request`, signed by
    /// `rsigner` (a node written as `rsigner.pem`/`.key`).
    pub fn openssl_ocsp_response(dir: &Path, pki: &Pki, rsigner: &Node, request: &[u8]) -> Vec<u8> {
        pki.interm.write(dir, "issuer");
        rsigner.write(dir, "rsigner");
        std::fs::write(dir.join("req.der"), request).unwrap();
        openssl(
            dir,
            &[
                "ocsp",
                "-index",
                "index.txt",
                "-rsigner",
                "rsigner.pem",
                "-rkey",
                "rsigner.key",
                "-CA",
                "issuer.pem",
                "-reqin",
                "req.der",
                "-respout",
                "resp.der",
                "-ndays",
                "1",
                "-rmd",
                "sha256",
            ],
        );
        std::fs::read(dir.join("resp.der")).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_pki::*;
    use super::*;
    use time::macros::datetime;

    fn data(rel: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    fn pem_der(pem: &[u8]) -> Vec<u8> {
        use der::DecodePem;
        x509_cert::Certificate::from_pem(pem)
            .unwrap()
            .to_der()
            .unwrap()
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        cert: &[u8],
        pool: &[Der],
        crls: &[Der],
        ocsps: &[Der],
        anchors: &[Der],
        at: OffsetDateTime,
        usage: Usage,
        policy: &Policy,
    ) -> CertCheck {
        let trust = TrustSources {
            explicit: anchors,
            registry: None,
        };
        check_certificate(&CertCheckInput {
            cert,
            pool,
            crls,
            ocsps,
            trust: &trust,
            at,
            usage,
            policy,
            fetcher: None,
        })
    }

    fn now() -> OffsetDateTime {
        // Whole seconds: certificate times have no fractions.
        let n = OffsetDateTime::now_utc();
        n.replace_nanosecond(0).unwrap_or(n)
    }

    #[test]
    fn valid_chain_with_crls_passes() {
        let at = now();
        let pki = build(&Opts::new(at));
        let crls = vec![
            crl(&pki.interm, at - time::Duration::hours(1), &[]),
            crl(&pki.root, at - time::Duration::hours(1), &[]),
        ];
        let r = run(
            &pki.signer.der,
            std::slice::from_ref(&pki.interm.der),
            &crls,
            &[],
            std::slice::from_ref(&pki.root.der),
            at,
            Usage::Signature,
            &Policy::default_eu(),
        );
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        assert_eq!(r.sub_indication, None);
        assert_eq!(r.path.len(), 3);
        assert_eq!(r.path[0], pki.signer.der);
        assert_eq!(r.path[2], pki.root.der);
        assert_eq!(r.anchor, Some(AnchorSource::Explicit));
        assert_eq!(r.revocation.len(), 2);
        assert!(
            r.revocation
                .iter()
                .all(|f| f.status == RevocationStatus::Good)
        );
        let summary = r.chain_summary();
        assert_eq!(
            summary[2].trust_anchor.as_deref(),
            Some("explicit trust anchor")
        );
        assert!(
            summary[0]
                .revocation
                .as_deref()
                .unwrap()
                .starts_with("good (CRL")
        );
    }

    #[test]
    fn untrusted_root_has_no_chain() {
        let at = now();
        let pki = build(&Opts::new(at));
        let other = build(&Opts::new(at));
        let r = run(
            &pki.signer.der,
            &[pki.interm.der.clone(), pki.root.der.clone()],
            &[],
            &[],
            std::slice::from_ref(&other.root.der),
            at,
            Usage::Signature,
            &Policy::default_eu(),
        );
        assert_eq!(r.indication, Indication::Indeterminate);
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::NoCertificateChainFound)
        );
        assert_eq!(r.anchor, None);
        assert_eq!(
            r.path.len(),
            3,
            "best partial path reaches the untrusted root"
        );
        assert!(r.errors[0].constraint.contains("trust anchor"));
    }

    /// RFC 5280 §6.1.3 (b)–(c): the issuing CA's nameConstraints bind the signer's
    /// subject DN and subjectAltName.
    #[test]
    fn name_constraints_are_enforced() {
        use rcgen::{DistinguishedName, DnType, GeneralSubtree, NameConstraints};
        let at = now();
        let lax = Policy {
            require_revocation: false,
            ..Policy::default_eu()
        };
        let dn = |pairs: &[(DnType, &str)]| {
            let mut d = DistinguishedName::new();
            for (t, v) in pairs {
                d.push(t.clone(), *v);
            }
            d
        };
        let ours = dn(&[
            (DnType::CountryName, "NO"),
            (DnType::OrganizationName, "signgate test"),
        ]);
        let cases: Vec<(&str, NameConstraints, Option<&str>, Option<&str>)> = vec![
            (
                "permitted directory subtree (case and spacing differ)",
                NameConstraints {
                    permitted_subtrees: vec![GeneralSubtree::DirectoryName(dn(&[
                        (DnType::CountryName, "no"),
                        (DnType::OrganizationName, "Signgate  Test"),
                    ]))],
                    excluded_subtrees: vec![],
                },
                None,
                None,
            ),
            (
                "subject outside the permitted directory subtree",
                NameConstraints {
                    permitted_subtrees: vec![GeneralSubtree::DirectoryName(dn(&[(
                        DnType::CountryName,
                        "SE",
                    )]))],
                    excluded_subtrees: vec![],
                },
                None,
                Some("directoryName"),
            ),
            (
                "subject inside an excluded directory subtree",
                NameConstraints {
                    permitted_subtrees: vec![],
                    excluded_subtrees: vec![GeneralSubtree::DirectoryName(ours.clone())],
                },
                None,
                Some("excluded subtree"),
            ),
            (
                "mailbox in a permitted domain",
                NameConstraints {
                    permitted_subtrees: vec![GeneralSubtree::Rfc822Name(".nav.no".into())],
                    excluded_subtrees: vec![],
                },
                Some("kari@post.nav.no"),
                None,
            ),
            (
                "mailbox outside the permitted domain",
                NameConstraints {
                    permitted_subtrees: vec![GeneralSubtree::Rfc822Name("nav.no".into())],
                    excluded_subtrees: vec![],
                },
                Some("kari@evil.example"),
                Some("rfc822Name kari@evil.example is not within the permitted subtrees"),
            ),
            (
                "excluded mailbox domain",
                NameConstraints {
                    permitted_subtrees: vec![],
                    excluded_subtrees: vec![GeneralSubtree::Rfc822Name(".example".into())],
                },
                Some("kari@evil.example"),
                Some("excluded"),
            ),
        ];
        for (what, nc, email, expect) in cases {
            let mut o = Opts::new(at);
            o.interm_name_constraints = Some(nc);
            o.signer_email = email.map(str::to_string);
            let pki = build(&o);
            let r = run(
                &pki.signer.der,
                std::slice::from_ref(&pki.interm.der),
                &[],
                &[],
                std::slice::from_ref(&pki.root.der),
                at,
                Usage::Signature,
                &lax,
            );
            match expect {
                None => assert_eq!(
                    r.indication,
                    Indication::TotalPassed,
                    "{what}: {:?}",
                    r.errors
                ),
                Some(reason) => {
                    assert_eq!(
                        r.sub_indication,
                        Some(SubIndication::ChainConstraintsFailure),
                        "{what}"
                    );
                    assert!(
                        r.errors
                            .iter()
                            .any(|e| e.constraint == "XCV: name constraints"
                                && e.object.contains("Alice Signer")
                                && e.reason.contains(reason)
                                && e.reason.contains("Test Issuing CA")),
                        "{what}: {:?}",
                        r.errors
                    );
                }
            }
        }
    }

    /// RFC 5280 policy processing: a CA's requireExplicitPolicy makes the path need a
    /// policy valid from that CA down to the signer (policy mappings followed).
    #[test]
    fn required_explicit_policies_are_enforced() {
        use der::Encode as _;
        use x509_cert::ext::pkix::certpolicy::PolicyInformation;
        use x509_cert::ext::pkix::constraints::PolicyConstraints;
        use x509_cert::ext::pkix::{CertificatePolicies, PolicyMapping, PolicyMappings};
        let at = now();
        let lax = Policy {
            require_revocation: false,
            ..Policy::default_eu()
        };
        let p1 = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1");
        let p2 = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.2");
        let policies = |ids: &[ObjectIdentifier]| {
            (
                vec![2, 5, 29, 32],
                CertificatePolicies(
                    ids.iter()
                        .map(|o| PolicyInformation {
                            policy_identifier: *o,
                            policy_qualifiers: None,
                        })
                        .collect(),
                )
                .to_der()
                .unwrap(),
            )
        };
        let require = (
            vec![2, 5, 29, 36],
            PolicyConstraints {
                require_explicit_policy: Some(0),
                inhibit_policy_mapping: None,
            }
            .to_der()
            .unwrap(),
        );
        let map_p1_p2 = (
            vec![2, 5, 29, 33],
            PolicyMappings(vec![PolicyMapping {
                issuer_domain_policy: p1,
                subject_domain_policy: p2,
            }])
            .to_der()
            .unwrap(),
        );
        let cases = [
            ("signer under the required policy", vec![], Some(p1), true),
            ("signer under another policy", vec![], Some(p2), false),
            ("signer without certificatePolicies", vec![], None, false),
            ("mapped policy", vec![map_p1_p2.clone()], Some(p2), true),
            (
                "unmapped original policy",
                vec![map_p1_p2.clone()],
                Some(p1),
                false,
            ),
        ];
        for (what, extra, signer_policy, ok) in cases {
            let mut o = Opts::new(at);
            o.interm_extensions = vec![policies(&[p1]), require.clone()];
            o.interm_extensions.extend(extra);
            if let Some(p) = signer_policy {
                o.signer_extensions = vec![policies(&[p])];
            }
            let pki = build(&o);
            let r = run(
                &pki.signer.der,
                std::slice::from_ref(&pki.interm.der),
                &[],
                &[],
                std::slice::from_ref(&pki.root.der),
                at,
                Usage::Signature,
                &lax,
            );
            if ok {
                assert_eq!(
                    r.indication,
                    Indication::TotalPassed,
                    "{what}: {:?}",
                    r.errors
                );
            } else {
                assert_eq!(
                    r.sub_indication,
                    Some(SubIndication::ChainConstraintsFailure),
                    "{what}"
                );
                assert!(
                    r.errors
                        .iter()
                        .any(|e| e.constraint == "XCV: certificate policies"
                            && e.reason.contains("requireExplicitPolicy")),
                    "{what}: {:?}",
                    r.errors
                );
            }
        }
    }

    #[test]
    fn crl_revocation_before_control_time() {
        let at = now();
        let pki = build(&Opts::new(at));
        let revoked_at = (at - time::Duration::days(2))
            .replace_nanosecond(0)
            .unwrap();
        let crls = vec![
            crl(
                &pki.interm,
                at - time::Duration::hours(1),
                &[(&SIGNER_SERIAL, revoked_at)],
            ),
            crl(&pki.root, at - time::Duration::hours(1), &[]),
        ];
        let r = run(
            &pki.signer.der,
            std::slice::from_ref(&pki.interm.der),
            &crls,
            &[],
            std::slice::from_ref(&pki.root.der),
            at,
            Usage::Signature,
            &Policy::default_eu(),
        );
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::RevokedNoPoe),
            "{:?}",
            r.errors
        );
        let (t, reason) = r.signer_revoked_at.clone().unwrap();
        assert_eq!(t, revoked_at);
        assert_eq!(reason, "keyCompromise");
        assert!(
            r.errors
                .iter()
                .any(|e| e.reason.contains(&rfc3339(revoked_at)))
        );
        // Validated before the revocation, the same data says "revoked later": passes
        // with a warning (the CRL must still postdate notBefore).
        let before = revoked_at - time::Duration::days(1);
        let r = run(
            &pki.signer.der,
            std::slice::from_ref(&pki.interm.der),
            &crls,
            &[],
            std::slice::from_ref(&pki.root.der),
            before,
            Usage::Signature,
            &Policy::default_eu(),
        );
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        assert!(r.signer_revoked_at.is_some());
        assert!(
            r.warnings
                .iter()
                .any(|w| w.reason.contains("after the control time"))
        );
    }

    #[test]
    fn revoked_intermediate_is_revoked_ca() {
        let at = now();
        let pki = build(&Opts::new(at));
        let t = (at - time::Duration::days(1))
            .replace_nanosecond(0)
            .unwrap();
        let crls = vec![
            crl(&pki.interm, at - time::Duration::hours(1), &[]),
            crl(&pki.root, at - time::Duration::hours(1), &[(&[0x02], t)]),
        ];
        let r = run(
            &pki.signer.der,
            std::slice::from_ref(&pki.interm.der),
            &crls,
            &[],
            std::slice::from_ref(&pki.root.der),
            at,
            Usage::Signature,
            &Policy::default_eu(),
        );
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::RevokedCaNoPoe),
            "{:?}",
            r.errors
        );
        assert_eq!(r.ca_revoked_at, Some(t));
    }

    #[test]
    fn crl_signed_by_another_ca_is_rejected() {
        let at = now();
        let pki = build(&Opts::new(at));
        let other = build(&Opts::new(at));
        // Same issuer name (both "Test Issuing CA"), wrong key.
        let crls = vec![
            crl(&other.interm, at - time::Duration::hours(1), &[]),
            crl(&pki.root, at - time::Duration::hours(1), &[]),
        ];
        let r = run(
            &pki.signer.der,
            std::slice::from_ref(&pki.interm.der),
            &crls,
            &[],
            std::slice::from_ref(&pki.root.der),
            at,
            Usage::Signature,
            &Policy::default_eu(),
        );
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::TryLater),
            "{:?}",
            r.errors
        );
        assert!(!r.revocation[0].rejected.is_empty());
        assert!(
            r.warnings
                .iter()
                .any(|w| w.reason.contains("does not verify"))
        );
    }

    #[test]
    fn no_revocation_data_without_fetcher_is_try_later() {
        let at = now();
        let pki = build(&Opts::new(at));
        let r = run(
            &pki.signer.der,
            std::slice::from_ref(&pki.interm.der),
            &[],
            &[],
            std::slice::from_ref(&pki.root.der),
            at,
            Usage::Signature,
            &Policy::default_eu(),
        );
        assert_eq!(r.indication, Indication::Indeterminate);
        assert_eq!(r.sub_indication, Some(SubIndication::TryLater));
        assert_eq!(r.revocation.len(), 2);
        assert!(
            r.revocation
                .iter()
                .all(|f| f.status == RevocationStatus::Unavailable)
        );
        assert!(
            r.errors[0].reason.contains("online fetching is off"),
            "{:?}",
            r.errors
        );
        // A policy that does not require revocation data passes with warnings.
        let lax = Policy {
            require_revocation: false,
            ..Policy::default_eu()
        };
        let r = run(
            &pki.signer.der,
            std::slice::from_ref(&pki.interm.der),
            &[],
            &[],
            std::slice::from_ref(&pki.root.der),
            at,
            Usage::Signature,
            &lax,
        );
        assert_eq!(r.indication, Indication::TotalPassed);
        assert_eq!(r.warnings.len(), 2);
    }

    #[test]
    fn ca_without_key_cert_sign_or_ca_flag_fails_constraints() {
        let at = now();
        for (kcs, ca, what) in [(false, true, "keyCertSign"), (true, false, "not a CA")] {
            let mut o = Opts::new(at);
            o.interm_key_cert_sign = kcs;
            o.interm_is_ca = ca;
            let pki = build(&o);
            let lax = Policy {
                require_revocation: false,
                ..Policy::default_eu()
            };
            let r = run(
                &pki.signer.der,
                std::slice::from_ref(&pki.interm.der),
                &[],
                &[],
                std::slice::from_ref(&pki.root.der),
                at,
                Usage::Signature,
                &lax,
            );
            assert_eq!(
                r.sub_indication,
                Some(SubIndication::ChainConstraintsFailure),
                "{what}"
            );
            assert!(
                r.errors
                    .iter()
                    .any(|e| e.reason.contains(what) && e.object.contains("Test Issuing CA")),
                "{:?}",
                r.errors
            );
        }
    }

    #[test]
    fn expired_signer_is_out_of_bounds() {
        let at = now();
        let mut o = Opts::new(at);
        o.signer_not_after = Some(at - time::Duration::days(1));
        let pki = build(&o);
        let r = run(
            &pki.signer.der,
            std::slice::from_ref(&pki.interm.der),
            &[],
            &[],
            std::slice::from_ref(&pki.root.der),
            at,
            Usage::Signature,
            &Policy::default_eu(),
        );
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::OutOfBoundsNoPoe),
            "{:?}",
            r.errors
        );
        // With a CRL issued after expiry that does not list it: not revoked.
        let crls = vec![
            crl(&pki.interm, at - time::Duration::hours(1), &[]),
            crl(&pki.root, at - time::Duration::hours(1), &[]),
        ];
        let r = run(
            &pki.signer.der,
            std::slice::from_ref(&pki.interm.der),
            &crls,
            &[],
            std::slice::from_ref(&pki.root.der),
            at,
            Usage::Signature,
            &Policy::default_eu(),
        );
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::OutOfBoundsNotRevoked),
            "{:?}",
            r.errors
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.reason.contains("after the certificate expired"))
        );
    }

    #[test]
    fn tsa_usage_needs_time_stamping_eku() {
        let at = now();
        let pki = build(&Opts::new(at));
        let lax = Policy {
            require_revocation: false,
            ..Policy::default_eu()
        };
        let pool = [pki.interm.der.clone()];
        let anchors = [pki.root.der.clone()];
        let r = run(
            &pki.tsa.der,
            &pool,
            &[],
            &[],
            &anchors,
            at,
            Usage::Timestamping,
            &lax,
        );
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        // rcgen writes the EKU non-critical: RFC 3161 wants it critical.
        assert!(
            r.warnings
                .iter()
                .any(|w| w.reason.contains("should be critical"))
        );
        let r = run(
            &pki.signer.der,
            &pool,
            &[],
            &[],
            &anchors,
            at,
            Usage::Timestamping,
            &lax,
        );
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::ChainConstraintsFailure)
        );
        let r = run(
            &pki.responder.der,
            &pool,
            &[],
            &[],
            &anchors,
            at,
            Usage::OcspSigning,
            &lax,
        );
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        assert!(matches!(
            r.revocation[0].status,
            RevocationStatus::NotChecked(_)
        ));
    }

    #[test]
    fn sha1_signed_certificate_fails_crypto_constraints() {
        let at = now();
        let pki = build(&Opts::new(at));
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        pki.root.write(d, "root");
        openssl(
            d,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                "/CN=SHA-1 signed",
                "-keyout",
                "ee.key",
                "-out",
                "ee.csr",
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "ee.csr",
                "-CA",
                "root.pem",
                "-CAkey",
                "root.key",
                "-sha1",
                "-days",
                "30",
                "-set_serial",
                "0x2001",
                "-outform",
                "DER",
                "-out",
                "ee.der",
            ],
        );
        let ee = std::fs::read(d.join("ee.der")).unwrap();
        let lax = Policy {
            require_revocation: false,
            ..Policy::default_eu()
        };
        let r = run(
            &ee,
            &[],
            &[],
            &[],
            std::slice::from_ref(&pki.root.der),
            at,
            Usage::Signature,
            &lax,
        );
        assert_eq!(r.path.len(), 2);
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::CryptoConstraintsFailure),
            "{:?}",
            r.errors
        );
        let e = r
            .errors
            .iter()
            .find(|e| e.constraint.starts_with("CC"))
            .unwrap();
        assert!(
            e.reason.contains("SHA-1") && e.reason.contains("2012-08-01"),
            "{e}"
        );
        assert!(e.object.contains("SHA-1 signed"), "{e}");
        // Before SHA-1's expiry the same signature was acceptable.
        let r = run(
            &ee,
            &[],
            &[],
            &[],
            std::slice::from_ref(&pki.root.der),
            datetime!(2011-06-01 0:00 UTC),
            Usage::Signature,
            &lax,
        );
        assert!(
            !r.errors.iter().any(|e| e.constraint.starts_with("CC")),
            "{:?}",
            r.errors
        );
    }

    #[test]
    fn pyhanko_test_pki_chain_and_expiry() {
        let dir = "pki/pyhanko-testing-ca";
        let root = pem_der(&data(&format!("{dir}/root.cert.pem")));
        let interm = pem_der(&data(&format!("{dir}/interm.cert.pem")));
        let signer = pem_der(&data(&format!("{dir}/signer1.cert.pem")));
        let lax = Policy {
            require_revocation: false,
            ..Policy::default_eu()
        };
        let pool = [interm.clone(), root.clone()];
        let at = datetime!(2021-06-01 0:00 UTC);
        let r = run(
            &signer,
            &pool,
            &[],
            &[],
            std::slice::from_ref(&root),
            at,
            Usage::Signature,
            &lax,
        );
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        assert_eq!(r.path, vec![signer.clone(), interm.clone(), root.clone()]);
        // Strict policy: the test PKI's certificates carry no embedded revocation data.
        let r = run(
            &signer,
            &pool,
            &[],
            &[],
            std::slice::from_ref(&root),
            at,
            Usage::Signature,
            &Policy::default_eu(),
        );
        assert_eq!(r.sub_indication, Some(SubIndication::TryLater));
        // signer1 expired on 2022-01-01.
        let r = run(
            &signer,
            &pool,
            &[],
            &[],
            std::slice::from_ref(&root),
            datetime!(2023-03-01 0:00 UTC),
            Usage::Signature,
            &lax,
        );
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::OutOfBoundsNoPoe),
            "{:?}",
            r.errors
        );
        assert!(r.errors.iter().any(|e| e.reason.contains("expired")));
        // Without the root as anchor there is no chain.
        let r = run(&signer, &pool, &[], &[], &[], at, Usage::Signature, &lax);
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::NoCertificateChainFound)
        );
        // The TSA certificate of the same PKI, for timestamping.
        let tsa = pem_der(&data(&format!("{dir}/tsa.cert.pem")));
        let r = run(
            &tsa,
            &pool,
            &[],
            &[],
            std::slice::from_ref(&root),
            at,
            Usage::Timestamping,
            &lax,
        );
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
    }

    fn be_registry() -> Registry {
        let xml = data("tl/pyhanko/tsl-be-old.seq74.2025-01-27.xml");
        let list = crate::trust::tsl::parse_bytes(&xml).unwrap();
        Registry::build([("BE", &list, false)])
    }

    #[test]
    fn real_belgian_qcert_chains_to_tl_listed_ca_qc() {
        let reg = be_registry();
        let trust = TrustSources {
            explicit: &[],
            registry: Some(&reg),
        };
        let cert = data("certs/pyhanko-real/real-qcert.cer");
        let at = datetime!(2025-08-06 0:00 UTC);
        let lax = Policy {
            require_revocation: false,
            ..Policy::default_eu()
        };
        let input = CertCheckInput {
            cert: &cert,
            pool: &[],
            crls: &[],
            ocsps: &[],
            trust: &trust,
            at,
            usage: Usage::Signature,
            policy: &lax,
            fetcher: None,
        };
        let r = check_certificate(&input);
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        // pyHanko: path length 1 (certificates below the anchor) → signer + TL CA.
        assert_eq!(r.path.len(), 2);
        match &r.anchor {
            Some(AnchorSource::TrustedList {
                territory,
                type_suffix,
                ..
            }) => {
                assert_eq!(territory, "BE");
                assert_eq!(type_suffix, "CA/QC");
            }
            other => panic!("{other:?}"),
        }
        let ca = CertInfo::parse(&r.path[1]).unwrap();
        assert!(
            ca.subject_dn.contains("itsme Sign Issuing CA G2x"),
            "{}",
            ca.subject_dn
        );
        // Default policy: no revocation data embedded and no fetcher → TRY_LATER.
        let strict = Policy::default_eu();
        let r = check_certificate(&CertCheckInput {
            policy: &strict,
            ..input
        });
        assert_eq!(r.sub_indication, Some(SubIndication::TryLater));
        // Before the CA/QC service existed the CA is no anchor.
        let early = CertCheckInput {
            at: datetime!(2001-01-01 0:00 UTC),
            policy: &lax,
            ..input
        };
        let r = check_certificate(&early);
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::NoCertificateChainFound),
            "{:?}",
            r.errors
        );
    }

    #[test]
    fn real_qtst_cert_is_its_own_tl_anchor() {
        let reg = be_registry();
        let trust = TrustSources {
            explicit: &[],
            registry: Some(&reg),
        };
        let cert = data("certs/pyhanko-real/real-qtst-cert.cer");
        let policy = Policy::default_eu();
        let r = check_certificate(&CertCheckInput {
            cert: &cert,
            pool: &[],
            crls: &[],
            ocsps: &[],
            trust: &trust,
            at: datetime!(2025-08-06 0:00 UTC),
            usage: Usage::Timestamping,
            policy: &policy,
            fetcher: None,
        });
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        assert_eq!(r.path.len(), 1);
        assert!(r.revocation.is_empty());
        assert!(
            matches!(&r.anchor, Some(AnchorSource::TrustedList { type_suffix, .. }) if type_suffix == "TSA/QTST")
        );
    }

    #[test]
    fn hostile_input_never_panics() {
        let at = now();
        let pki = build(&Opts::new(at));
        let policy = Policy::default_eu();
        for n in (0..pki.signer.der.len()).step_by(7) {
            let r = run(
                &pki.signer.der[..n],
                std::slice::from_ref(&pki.interm.der),
                &[vec![0x30, 0x03, 1, 1, 1]],
                &[vec![0xff; 9]],
                std::slice::from_ref(&pki.root.der),
                at,
                Usage::Signature,
                &policy,
            );
            assert_eq!(r.indication, Indication::Indeterminate);
        }
        // A self-signed loop of two same-named certificates terminates.
        let r = run(
            &pki.root.der,
            &[pki.root.der.clone(), pki.interm.der.clone()],
            &[],
            &[],
            &[],
            at,
            Usage::Signature,
            &policy,
        );
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::NoCertificateChainFound)
        );
    }
}
