//! Immutable, queryable index of the trust services of the usable trusted lists.
//!
//! Owns: indexing every service's digital identities (certificates, subject DNs, SKIs,
//! also those of history entries) in hash maps, answering "which services list this
//! certificate, directly or as its issuer" in a few hash probes, and "which status was
//! in force at time T" from the current status and the `ServiceHistory`.
//! Must not touch: list loading or signature checks (the caller decides which lists are
//! usable — see `load`), certificate path validation, qualification conclusions (the
//! caller combines the returned qualifications with the certificate's QC statements).

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;

use super::cert::{CertView, normalized_name_der, normalized_name_str, sha256};
use super::tsl::{
    DigitalIdentities, Qualification, ServiceExtensions, TrustService, TrustedList, type_suffix,
};

/// Status URI suffixes treated as "granted" (`granted`, and the pre-eIDAS
/// `undersupervision`, `supervisionincessation`, `accredited`).
pub const GRANTED_EQUIVALENT: &[&str] = &[
    "granted",
    "undersupervision",
    "supervisionincessation",
    "accredited",
];

/// One indexed service.
#[derive(Debug, Clone)]
struct Entry {
    territory: Arc<str>,
    provider: Arc<str>,
    service: Arc<TrustService>,
    list_expired: bool,
}

/// A service that lists a certificate.
#[derive(Debug, Clone)]
pub struct ServiceMatch {
    /// Territory of the list.
    pub territory: Arc<str>,
    /// Trust service provider name.
    pub provider: Arc<str>,
    /// The service (current information and history).
    pub service: Arc<TrustService>,
    /// The list was not `valid` when loaded: `expired` (usable with a warning, the
    /// normal case) or admitted despite its status by `LoadOptions::use_invalid`.
    pub list_expired: bool,
    /// `true` when the certificate itself is a digital identity of the service (e.g. a
    /// TSA unit); `false` when the service is the certificate's issuer.
    pub direct: bool,
}

/// The status of a service in force at some time.
#[derive(Debug, Clone, Copy)]
pub struct StatusAt<'a> {
    /// Service type URI.
    pub type_uri: &'a str,
    /// Service type suffix (`CA/QC`, `TSA/QTST`, …).
    pub type_suffix: &'a str,
    /// Service status URI.
    pub status_uri: &'a str,
    /// Start of that status.
    pub since: OffsetDateTime,
    /// Service name in force.
    pub name: &'a str,
    /// Qualifications (`Qualifications` extension) in force.
    pub qualifications: &'a [Qualification],
    /// `AdditionalServiceInformation` URIs in force (ForeSignatures, ForeSeals, …).
    pub additional_info: &'a [String],
    /// `true` when this is the current status (not a history entry).
    pub current: bool,
}

impl StatusAt<'_> {
    /// Last segment of the status URI.
    pub fn status_suffix(&self) -> &str {
        self.status_uri
            .rsplit('/')
            .next()
            .unwrap_or(self.status_uri)
    }

    /// `true` for `granted` (and the pre-eIDAS equivalents, see [`GRANTED_EQUIVALENT`]).
    pub fn is_granted(&self) -> bool {
        GRANTED_EQUIVALENT.contains(&self.status_suffix())
    }

    /// `true` when an `AdditionalServiceInformation` URI ends with `suffix`
    /// (e.g. `ForeSignatures`).
    pub fn has_additional_info(&self, suffix: &str) -> bool {
        self.additional_info.iter().any(|u| u.ends_with(suffix))
    }

    /// `true` when some qualification element carries a qualifier URI ending with
    /// `suffix` (e.g. `QCQSCDManagedOnBehalf`).
    pub fn has_qualifier(&self, suffix: &str) -> bool {
        self.qualifications
            .iter()
            .any(|q| q.qualifiers.iter().any(|u| u.ends_with(suffix)))
    }
}

impl ServiceMatch {
    /// The status in force at `t`: among the current information and the history
    /// entries, the one with the latest `StatusStartingTime` ≤ `t`; `None` when `t` is
    /// before every entry.
    pub fn status_at(&self, t: OffsetDateTime) -> Option<StatusAt<'_>> {
        status_at(&self.service, t)
    }
}

fn entry<'a>(
    type_uri: &'a str,
    status_uri: &'a str,
    since: OffsetDateTime,
    name: &'a str,
    ext: &'a ServiceExtensions,
    current: bool,
) -> StatusAt<'a> {
    StatusAt {
        type_uri,
        type_suffix: type_suffix(type_uri),
        status_uri,
        since,
        name,
        qualifications: &ext.qualifications,
        additional_info: &ext.additional_info,
        current,
    }
}

/// See [`ServiceMatch::status_at`]: the entry (current information or a `ServiceHistory`
/// instance) with the latest StatusStartingTime not after `t`; on a tie the current one.
pub fn status_at(s: &TrustService, t: OffsetDateTime) -> Option<StatusAt<'_>> {
    let current = entry(
        &s.type_uri,
        &s.status_uri,
        s.status_start,
        &s.name,
        &s.extensions,
        true,
    );
    let history = s.history.iter().map(|h| {
        entry(
            &h.type_uri,
            &h.status_uri,
            h.status_start,
            &h.name,
            &h.extensions,
            false,
        )
    });
    std::iter::once(current)
        .chain(history)
        .filter(|e| e.since <= t)
        .fold(None, |best, e| match best {
            Some(b) if e.since <= b.since => Some(b),
            _ => Some(e),
        })
}

/// Answer of [`Registry::granted_at`]: a service granted at the asked time.
#[derive(Debug, Clone)]
pub struct GrantedService {
    /// Territory.
    pub territory: String,
    /// Provider name.
    pub provider: String,
    /// Service name in force.
    pub service_name: String,
    /// Service type suffix in force (`CA/QC`, `TSA/QTST`, …).
    pub type_suffix: String,
    /// Status URI in force.
    pub status_uri: String,
    /// Start of that status.
    pub since: OffsetDateTime,
    /// Qualifications in force.
    pub qualifications: Vec<Qualification>,
    /// `AdditionalServiceInformation` URIs in force.
    pub additional_info: Vec<String>,
    /// Directly listed (vs. issuer).
    pub direct: bool,
    /// From an expired list.
    pub list_expired: bool,
}

/// An identity certificate: the service entry and the certificate DER.
type IdentityCert = (u32, Arc<[u8]>);

/// Registry index. Cheap to share (`Arc<Registry>`); never mutated after building.
#[derive(Debug, Default)]
pub struct Registry {
    entries: Vec<Entry>,
    /// Identity certificates: serial → (entry, DER) (direct match confirmed by DER).
    by_serial: HashMap<Vec<u8>, Vec<IdentityCert>>,
    /// SHA-256 of identity certificates → entries.
    by_sha256: HashMap<[u8; 32], Vec<u32>>,
    /// Subject DN DER of identity certificates → (entry, SKI of that certificate).
    by_subject: HashMap<Vec<u8>, Vec<(u32, Vec<u8>)>>,
    /// SKIs (of identity certificates and `X509SKI`) → entries.
    by_ski: HashMap<Vec<u8>, Vec<u32>>,
    /// Normalised `X509SubjectName` of identities without certificate and SKI.
    by_name: HashMap<String, Vec<u32>>,
}

fn push_unique<K: std::hash::Hash + Eq, V: PartialEq>(m: &mut HashMap<K, Vec<V>>, k: K, v: V) {
    let e = m.entry(k).or_default();
    if !e.contains(&v) {
        e.push(v);
    }
}

impl Registry {
    /// Builds the index from `(territory, list, list_expired)` triples.
    pub fn build<'a>(lists: impl IntoIterator<Item = (&'a str, &'a TrustedList, bool)>) -> Self {
        let mut r = Registry::default();
        for (territory, list, list_expired) in lists {
            let territory: Arc<str> = Arc::from(territory);
            for p in &list.providers {
                let provider: Arc<str> = Arc::from(p.name.as_str());
                for s in &p.services {
                    let Ok(idx) = u32::try_from(r.entries.len()) else {
                        return r;
                    };
                    let service = Arc::new(s.clone());
                    r.index_identities(idx, &s.identities);
                    for h in &s.history {
                        r.index_identities(idx, &h.identities);
                    }
                    r.entries.push(Entry {
                        territory: territory.clone(),
                        provider: provider.clone(),
                        service,
                        list_expired,
                    });
                }
            }
        }
        r
    }

    fn index_identities(&mut self, idx: u32, ids: &DigitalIdentities) {
        for der in &ids.certificates {
            let Ok(c) = CertView::parse(der) else {
                continue;
            };
            let der: Arc<[u8]> = Arc::from(der.as_slice());
            push_unique(&mut self.by_serial, c.serial.to_vec(), (idx, der.clone()));
            push_unique(&mut self.by_sha256, sha256(&der), idx);
            let ski = c.ski();
            push_unique(&mut self.by_subject, c.subject.to_vec(), (idx, ski.clone()));
            push_unique(&mut self.by_ski, ski, idx);
        }
        for ski in &ids.skis {
            if !ski.is_empty() {
                push_unique(&mut self.by_ski, ski.clone(), idx);
            }
        }
        if ids.certificates.is_empty() && ids.skis.is_empty() {
            for n in &ids.subject_names {
                if let Some(k) = normalized_name_str(n) {
                    push_unique(&mut self.by_name, k, idx);
                }
            }
        }
    }

    /// Number of indexed services.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when no service is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn make(&self, idx: u32, direct: bool) -> Option<ServiceMatch> {
        let e = self.entries.get(idx as usize)?;
        Some(ServiceMatch {
            territory: e.territory.clone(),
            provider: e.provider.clone(),
            service: e.service.clone(),
            list_expired: e.list_expired,
            direct,
        })
    }

    /// Services that list `cert_der` directly (one of their digital identities is this
    /// certificate) or as its issuer (an identity certificate whose subject DN equals
    /// the certificate's issuer DN — and whose SKI equals its AKI when both exist —, an
    /// `X509SKI` equal to its AKI, or, for identities with neither, an `X509SubjectName`
    /// equal to its issuer DN). Direct matches come first. Unreadable input → empty.
    pub fn services_for_certificate(&self, cert_der: &[u8]) -> Vec<ServiceMatch> {
        let Ok(c) = CertView::parse(cert_der) else {
            return Vec::new();
        };
        let mut hits: Vec<(u32, bool)> = Vec::new();
        let add = |idx: u32, direct: bool, hits: &mut Vec<(u32, bool)>| {
            if let Some(h) = hits.iter_mut().find(|h| h.0 == idx) {
                h.1 |= direct;
            } else {
                hits.push((idx, direct));
            }
        };
        if let Some(v) = self.by_serial.get(c.serial) {
            for (idx, der) in v {
                if **der == *cert_der {
                    add(*idx, true, &mut hits);
                }
            }
        }
        let is_self_issued = c.is_self_issued();
        if !is_self_issued {
            if let Some(v) = self.by_subject.get(c.issuer) {
                for (idx, ski) in v {
                    if c.aki.is_none_or(|aki| aki == ski.as_slice()) {
                        add(*idx, false, &mut hits);
                    }
                }
            }
            if let Some(aki) = c.aki
                && let Some(v) = self.by_ski.get(aki)
            {
                for idx in v {
                    add(*idx, false, &mut hits);
                }
            }
            if !self.by_name.is_empty()
                && let Some(k) = normalized_name_der(c.issuer)
                && let Some(v) = self.by_name.get(&k)
            {
                for idx in v {
                    add(*idx, false, &mut hits);
                }
            }
        }
        hits.sort_by_key(|h| (!h.1, h.0));
        hits.into_iter()
            .filter_map(|(idx, direct)| self.make(idx, direct))
            .collect()
    }

    /// Services whose identity certificate has SHA-256 `fp`.
    pub fn services_for_fingerprint(&self, fp: &[u8; 32]) -> Vec<ServiceMatch> {
        self.by_sha256
            .get(fp)
            .map(|v| v.iter().filter_map(|i| self.make(*i, true)).collect())
            .unwrap_or_default()
    }

    /// "At time `t`, which services listing this certificate (directly or as issuer)
    /// were granted, of which type, with which qualifications and additional
    /// information?" — see [`ServiceMatch::status_at`].
    pub fn granted_at(&self, cert_der: &[u8], t: OffsetDateTime) -> Vec<GrantedService> {
        self.services_for_certificate(cert_der)
            .iter()
            .filter_map(|m| {
                let s = m.status_at(t)?;
                s.is_granted().then(|| GrantedService {
                    territory: m.territory.to_string(),
                    provider: m.provider.to_string(),
                    service_name: s.name.to_string(),
                    type_suffix: s.type_suffix.to_string(),
                    status_uri: s.status_uri.to_string(),
                    since: s.since,
                    qualifications: s.qualifications.to_vec(),
                    additional_info: s.additional_info.to_vec(),
                    direct: m.direct,
                    list_expired: m.list_expired,
                })
            })
            .collect()
    }

    /// All indexed services as `(territory, provider, service, list_expired)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &TrustService, bool)> {
        self.entries
            .iter()
            .map(|e| (&*e.territory, &*e.provider, &*e.service, e.list_expired))
    }
}
