//! Outcome vocabulary of trusted-list loading: the per-list status and the per-list
//! report that `signgate trust show` prints.
//!
//! Owns: [`ListStatus`] (serde `snake_case`), [`ListReport`] and the small helpers that
//! fill a report from a parsed list.
//! Must not touch: signature checks, bootstrap, loading policy (that is `load`), the
//! registry.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;

use super::tsl::TrustedList;

/// Status of one trusted list (or of the LOTL) after loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListStatus {
    /// Signed by an announced signer valid at issue time; `NextUpdate` not passed.
    Valid,
    /// As `Valid`, but `NextUpdate` is missing (closed list) or before the validation
    /// time.
    Expired,
    /// The signature is broken, missing, duplicated or structurally unacceptable.
    InvalidSignature,
    /// The signature verifies, but the signer is not announced for this list (or its
    /// certificate was not valid at the list's issue time).
    UnknownSigner,
    /// The document is not a (well-formed, structurally sound) trusted list for this
    /// pointer.
    Unparseable,
    /// No document for this pointer.
    Unreachable,
}

impl ListStatus {
    /// The serde name (`valid`, `expired`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expired => "expired",
            Self::InvalidSignature => "invalid_signature",
            Self::UnknownSigner => "unknown_signer",
            Self::Unparseable => "unparseable",
            Self::Unreachable => "unreachable",
        }
    }

    /// `true` for `valid` and `expired` (signature and signer are fine).
    pub fn is_authentic(self) -> bool {
        matches!(self, Self::Valid | Self::Expired)
    }
}

impl std::fmt::Display for ListStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Expired` when `NextUpdate` is absent or before `at`, else `Valid`.
pub fn freshness(list: &TrustedList, at: OffsetDateTime) -> ListStatus {
    match list.next_update {
        Some(n) if n >= at => ListStatus::Valid,
        _ => ListStatus::Expired,
    }
}

/// What is known about one list after loading (`signgate trust show --format json`).
#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    /// Territory (of the pointer for national lists; `EU` for the LOTL).
    pub territory: String,
    /// `TSLSequenceNumber`, when the document parsed.
    pub sequence: Option<u64>,
    /// `ListIssueDateTime`, when the document parsed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub issued: Option<OffsetDateTime>,
    /// `NextUpdate`, when present.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update: Option<OffsetDateTime>,
    /// Status.
    pub status: ListStatus,
    /// Why the status is not `valid` (or a warning), human readable.
    pub reason: Option<String>,
    /// `TSLLocation` of the pointer (configured LOTL URL for the LOTL).
    pub location: String,
    /// Number of trust service providers.
    pub providers: usize,
    /// Number of current services.
    pub services: usize,
    /// Current services per type suffix (`CA/QC`, `TSA/QTST`, …).
    pub service_types: BTreeMap<String, usize>,
    /// SHA-256 (hex) of the certificate that verified the signature, if any.
    pub signer_fingerprint: Option<String>,
}

impl ListReport {
    /// A report for a pointer without a usable document.
    pub fn empty(territory: &str, location: &str, status: ListStatus, reason: String) -> Self {
        Self {
            territory: territory.to_string(),
            sequence: None,
            issued: None,
            next_update: None,
            status,
            reason: Some(reason),
            location: location.to_string(),
            providers: 0,
            services: 0,
            service_types: BTreeMap::new(),
            signer_fingerprint: None,
        }
    }

    /// A report filled from a parsed list.
    pub fn from_list(
        territory: &str,
        location: &str,
        list: &TrustedList,
        status: ListStatus,
        reason: Option<String>,
        signer: Option<&[u8]>,
    ) -> Self {
        Self {
            territory: territory.to_string(),
            sequence: Some(list.sequence),
            issued: Some(list.issued),
            next_update: list.next_update,
            status,
            reason,
            location: location.to_string(),
            providers: list.provider_count(),
            services: list.service_count(),
            service_types: list.count_services_by_type(),
            signer_fingerprint: signer.map(super::cert::fingerprint),
        }
    }
}
