//! Certificate path building and X.509 validation at a control time (RFC 5280 §6; ETSI
//! EN 319 102-1 §5.2.6 "X.509 certificate validation" building block).
//!
//! Owns: reading the certificate facts validation needs ([`CertInfo`]), building a path
//! from a certificate to a trust anchor (explicit anchors, or certificates a trusted
//! list service lists directly as a granted CA/QC, CA/PKC — TSA/* for timestamping —
//! service, with the TL's service certificates usable as issuers), the RFC 5280 checks
//! along it at the control time (validity, basic constraints and path length, key
//! usage, extended key usage for TSAs and OCSP responders, unknown critical
//! extensions), the cryptographic constraints of every certificate signature (via
//! `policy`), asking `revocation` for each non-anchor certificate, and the resulting
//! indication/sub-indication ([`check_certificate`]).
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
    "2.5.29.30",            // nameConstraints (not enforced: warning)
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
    /// A critical nameConstraints extension is present (not enforced).
    pub name_constraints: bool,
    /// AIA OCSP URLs.
    pub ocsp_urls: Vec<String>,
    /// CRL distribution point URLs.
    pub crl_urls: Vec<String>,
    /// id-pkix-ocsp-nocheck present.
    pub ocsp_nocheck: bool,
    /// `certificate CN=…, serial …`.
    pub label: String,
}

impl CertInfo {
    /// Reads a DER certificate.
    pub fn parse(der: &[u8]) -> Result<Self, String> {
        use x509_cert::ext::pkix::{
            AuthorityInfoAccessSyntax, BasicConstraints, CrlDistributionPoints, ExtendedKeyUsage,
            KeyUsage, name::DistributionPointName, name::GeneralName,
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
            name_constraints: false,
            ocsp_urls: Vec::new(),
            crl_urls: Vec::new(),
            ocsp_nocheck: false,
            label: String::new(),
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
                            if let Some(DistributionPointName::FullName(names)) =
                                &dp.distribution_point
                            {
                                for n in names.iter().take(16) {
                                    if let GeneralName::UniformResourceIdentifier(u) = n {
                                        info.crl_urls.push(u.to_string());
                                    }
                                }
                            }
                        }
                    } else {
                        bad("cRLDistributionPoints");
                    }
                }
                "1.3.6.1.5.5.7.48.1.5" => info.ocsp_nocheck = true,
                "2.5.29.30" => info.name_constraints |= ext.critical,
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
        names_equal(&self.issuer, &self.subject)
    }

    fn valid_at(&self, t: OffsetDateTime) -> bool {
        self.not_before <= t && t <= self.not_after
    }
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

/// The path search state.
struct Search<'a> {
    certs: Vec<CertInfo>,
    input: &'a CertCheckInput<'a>,
    /// Certificates whose TL issuer identities were added already.
    expanded: Vec<bool>,
    sig: HashMap<(usize, usize), Option<Algorithms>>,
    verifications: usize,
    best_partial: Vec<usize>,
    /// Why anchor candidates were not accepted (TL status, …).
    notes: Vec<String>,
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
        let explicit = self.input.trust.explicit.iter().any(|e| {
            e.as_slice() == c.der.as_slice()
                || CertInfo::parse(e)
                    .is_ok_and(|a| a.spki == c.spki && names_equal(&a.subject, &c.subject))
        });
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
            if !st.is_granted() || !type_ok {
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
                    && names_equal(&c.issuer, &p.subject)
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
        let Some(&cur) = path.last() else {
            return None;
        };
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

    let at = input.at;
    let policy = input.policy;
    let certs: Vec<&CertInfo> = path.iter().map(|&i| &search.certs[i]).collect();
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
    for c in &certs {
        if c.name_constraints {
            out.warnings.push(Finding::new(
                "XCV: name constraints",
                c.label.clone(),
                "nameConstraints is present and was not enforced",
            ));
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
    let data = RevocationData::parse(input.crls, input.ocsps);
    out.warnings.extend(data.problems.iter().cloned());
    let ctx = RevocationContext {
        data: &data,
        pool: input.pool,
        at,
        policy,
        fetcher: input.fetcher,
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
