//! Owned data model of an ETSI TS 119 612 (v5/v6) trusted list (`crate::trust::tsl`).
//!
//! Owns: the structures produced by the parser (list header, pointers to other lists,
//! providers, services, service history, service information extensions, qualification
//! criteria) and small structural helpers (type suffixes, counts, look-ups).
//! Must not: verify signatures, fetch anything, or decide trust/qualification — the
//! model only says what the list contains.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Serialize, Serializer};
use time::OffsetDateTime;

use super::StructureIssue;

/// ETSI service type URI prefix (`http://uri.etsi.org/TrstSvc/Svctype/…`).
pub const SVCTYPE_MARKER: &str = "/Svctype/";
/// ETSI service status URI for "granted".
pub const STATUS_GRANTED: &str = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted";
/// ETSI service status URI for "withdrawn".
pub const STATUS_WITHDRAWN: &str = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn";
/// MIME type of XML trusted lists in `OtherTSLPointer`.
pub const MIME_TSL_XML: &str = "application/vnd.etsi.tsl+xml";
/// TSLType of the EU list of trusted lists.
pub const TSLTYPE_EU_LOTL: &str =
    "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUlistofthelists";
/// TSLType of an EU member state trusted list.
pub const TSLTYPE_EU_GENERIC: &str = "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric";

/// A parsed trusted list (national TL, LOTL, pivot LOTL or MRA third-country list).
///
/// Mandatory header fields that are absent or malformed are reported in
/// [`TrustedList::structure`] as [`Severity::Error`](super::Severity::Error) issues and
/// take neutral placeholders here (`0`, `""`, `OffsetDateTime::UNIX_EPOCH`). Callers
/// must not base trust decisions on a list for which [`TrustedList::has_errors`] is true.
#[derive(Debug, Clone, Serialize)]
pub struct TrustedList {
    /// `TSLVersionIdentifier` (5 or 6 are supported; 0 when absent or unparseable).
    pub version: u8,
    /// `TSLSequenceNumber` (0 when absent or unparseable).
    pub sequence: u64,
    /// `TSLType` URI.
    pub tsl_type: String,
    /// `SchemeOperatorName`, English variant preferred (else the first one).
    pub operator_name: String,
    /// `SchemeTerritory` (ISO 3166 alpha-2 or `EU`, `UK`, `EL`, …).
    pub territory: String,
    /// `ListIssueDateTime` (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub issued: OffsetDateTime,
    /// `NextUpdate/dateTime`; `None` for a closed/frozen list (empty `NextUpdate`).
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_update: Option<OffsetDateTime>,
    /// `StatusDeterminationApproach` URI.
    pub status_determination_approach: String,
    /// `SchemeInformationURI/URI` as `(xml:lang, uri)` in document order (LOTLs list the
    /// OJ reference and pivot LOTLs here). Missing `xml:lang` gives `""`.
    pub scheme_information_uris: Vec<(String, String)>,
    /// `SchemeTypeCommunityRules/URI` values in document order.
    pub community_rules: Vec<String>,
    /// `HistoricalInformationPeriod` (days), if present and numeric.
    pub historical_information_period: Option<u64>,
    /// `PointersToOtherTSL/OtherTSLPointer` in document order (XML and PDF pointers).
    pub pointers: Vec<TlPointer>,
    /// `TrustServiceProviderList/TrustServiceProvider` in document order (empty for LOTLs).
    pub providers: Vec<TrustServiceProvider>,
    /// `DistributionPoints/URI` values.
    pub distribution_points: Vec<String>,
    /// Structure findings (errors and warnings), in discovery order.
    pub structure: Vec<StructureIssue>,
}

/// One `OtherTSLPointer`.
#[derive(Debug, Clone, Serialize)]
pub struct TlPointer {
    /// `TSLLocation`.
    pub location: String,
    /// `AdditionalInformation/OtherInformation/SchemeTerritory`.
    pub territory: Option<String>,
    /// `AdditionalInformation/OtherInformation/TSLType`.
    pub tsl_type: Option<String>,
    /// `AdditionalInformation/OtherInformation/MimeType`.
    pub mime_type: Option<String>,
    /// `AdditionalInformation/OtherInformation/SchemeOperatorName` (English preferred).
    pub operator_name: Option<String>,
    /// `AdditionalInformation/OtherInformation/SchemeTypeCommunityRules/URI` values.
    pub community_rules: Vec<String>,
    /// DER of every `ServiceDigitalIdentities/ServiceDigitalIdentity/DigitalId/X509Certificate`
    /// (the certificates allowed to sign the pointed-to list), in document order.
    #[serde(serialize_with = "ser_b64_list")]
    pub certificates: Vec<Vec<u8>>,
    /// `true` when the pointer belongs to a mutual-recognition (third-country) scheme:
    /// it carries an EU `MutualRecognitionAgreementInformation` element, or its `TSLType`
    /// is a non-EU `…/TSLType/<CC>list` / `<CC>listofthelists` type.
    pub is_mra: bool,
}

impl TlPointer {
    /// `true` when the pointer designates an XML trusted list (MIME type
    /// `application/vnd.etsi.tsl+xml`), as opposed to the human-readable PDF form.
    pub fn is_xml(&self) -> bool {
        self.mime_type
            .as_deref()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case(MIME_TSL_XML))
    }

    /// `true` when the pointed-to list is a list of lists (its `TSLType` ends in
    /// `listofthelists`), e.g. the EU LOTL self-pointer.
    pub fn is_list_of_lists(&self) -> bool {
        self.tsl_type
            .as_deref()
            .is_some_and(|t| t.ends_with("listofthelists"))
    }
}

/// One `TrustServiceProvider`.
#[derive(Debug, Clone, Serialize)]
pub struct TrustServiceProvider {
    /// `TSPInformation/TSPName`, English preferred.
    pub name: String,
    /// All `TSPInformation/TSPTradeName/Name` values (every language, document order).
    pub trade_names: Vec<String>,
    /// `TSPInformation/TSPInformationURI/URI` values.
    pub information_uris: Vec<String>,
    /// `TSPServices/TSPService` in document order.
    pub services: Vec<TrustService>,
}

/// One `TSPService` (its current `ServiceInformation` plus `ServiceHistory`).
#[derive(Debug, Clone, Serialize)]
pub struct TrustService {
    /// `ServiceTypeIdentifier` URI.
    pub type_uri: String,
    /// `ServiceName`, English preferred.
    pub name: String,
    /// `ServiceStatus` URI.
    pub status_uri: String,
    /// `StatusStartingTime` (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub status_start: OffsetDateTime,
    /// `ServiceDigitalIdentity`.
    pub identities: DigitalIdentities,
    /// `ServiceSupplyPoints/ServiceSupplyPoint`.
    pub supply_points: Vec<ServiceSupplyPoint>,
    /// `ServiceInformationExtensions`.
    pub extensions: ServiceExtensions,
    /// `ServiceHistory/ServiceHistoryInstance` in document order (normally newest first).
    pub history: Vec<ServiceHistoryEntry>,
}

/// One `ServiceHistoryInstance`.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceHistoryEntry {
    /// `ServiceTypeIdentifier` URI.
    pub type_uri: String,
    /// `ServiceName`, English preferred.
    pub name: String,
    /// `ServiceStatus` URI.
    pub status_uri: String,
    /// `StatusStartingTime` (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub status_start: OffsetDateTime,
    /// `ServiceDigitalIdentity` (history entries often carry only subject name and SKI).
    pub identities: DigitalIdentities,
    /// `ServiceInformationExtensions`.
    pub extensions: ServiceExtensions,
}

/// The `DigitalId` entries of one `ServiceDigitalIdentity`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DigitalIdentities {
    /// DER of each `X509Certificate` (kept even if it does not parse as X.509; a
    /// warning is recorded in that case).
    #[serde(serialize_with = "ser_b64_list")]
    pub certificates: Vec<Vec<u8>>,
    /// Each `X509SubjectName` as written in the list (RFC 4514-like string).
    pub subject_names: Vec<String>,
    /// Each `X509SKI` (decoded bytes).
    #[serde(serialize_with = "ser_hex_list")]
    pub skis: Vec<Vec<u8>>,
    /// Number of `KeyValue` / `Other` digital ids (not interpreted).
    pub other_ids: usize,
}

/// One `ServiceSupplyPoint`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ServiceSupplyPoint {
    /// The URI.
    pub uri: String,
    /// v6 `type` attribute (e.g. `…/Svctype/Certstatus/OCSP/QC`).
    pub type_uri: Option<String>,
}

/// `ServiceInformationExtensions` content.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServiceExtensions {
    /// `Qualifications/QualificationElement` entries (TS 119 612 5.5.9.2).
    pub qualifications: Vec<Qualification>,
    /// `AdditionalServiceInformation/URI` values (e.g. `…/SvcInfoExt/ForeSignatures`,
    /// `ForeSeals`, `ForWebSiteAuthentication`, `RootCA-QC`).
    pub additional_info: Vec<String>,
    /// `ExpiredCertsRevocationInfo` (UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    pub expired_certs_revocation_info: Option<OffsetDateTime>,
    /// `TakenOverBy` (TS 119 612 5.5.9.3).
    pub taken_over_by: Option<TakenOverBy>,
    /// Qualified names (`{ns}local`) of extensions marked `Critical="true"` that this
    /// parser does not understand. A consumer should not rely on such a service.
    pub unknown_critical: Vec<String>,
}

/// `TakenOverBy` extension.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TakenOverBy {
    /// `URI` of the taking-over TSP.
    pub uri: String,
    /// `TSPName`, English preferred.
    pub tsp_name: String,
    /// `SchemeOperatorName`, English preferred.
    pub scheme_operator_name: String,
    /// `SchemeTerritory`.
    pub territory: String,
}

/// One `QualificationElement`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Qualification {
    /// `Qualifiers/Qualifier/@uri` values (e.g. `…/SvcInfoExt/QCWithQSCD`).
    pub qualifiers: Vec<String>,
    /// The `CriteriaList` selecting the certificates the qualifiers apply to.
    pub criteria: CriteriaList,
}

/// `CriteriaList/@assert`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum Assert {
    /// `all`: every criterion must match.
    All,
    /// `atLeastOne`: at least one criterion must match.
    AtLeastOne,
    /// `none`: no criterion may match.
    None,
}

/// One `KeyUsageBit` of a `KeyUsage` criterion.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KeyUsageBit {
    /// Bit name (`digitalSignature`, `nonRepudiation`, `keyCertSign`, …).
    pub name: String,
    /// Required value of the bit.
    pub value: bool,
}

/// A (possibly nested) `CriteriaList`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CriteriaList {
    /// How the criteria below combine.
    pub assert: Assert,
    /// `KeyUsage` criteria; each inner vector is one `KeyUsage` element (all its bits must
    /// hold).
    pub key_usage: Vec<Vec<KeyUsageBit>>,
    /// `PolicySet` criteria; each inner vector is one `PolicySet` (dotted OIDs, all must
    /// be present in the certificate policies). `urn:oid:` prefixes are removed.
    pub policy_sets: Vec<Vec<String>>,
    /// Nested `CriteriaList` elements.
    pub nested: Vec<CriteriaList>,
    /// `otherCriteriaList/ExtendedKeyUsage/KeyPurposeId` OIDs (all `ExtendedKeyUsage`
    /// elements flattened).
    pub extended_key_usage: Vec<String>,
    /// `otherCriteriaList/CertSubjectDNAttribute/AttributeOID` OIDs (flattened).
    pub cert_subject_dn_attributes: Vec<String>,
    /// Qualified names (`{ns}local`) of other `otherCriteriaList` children not understood
    /// here (e.g. MRA `QcStatementSet`). A matcher that meets one should not guess.
    pub other_criteria: Vec<String>,
    /// `Description`, if any.
    pub description: Option<String>,
}

impl TrustedList {
    /// `true` if any structure issue has [`Severity::Error`](super::Severity::Error).
    pub fn has_errors(&self) -> bool {
        self.structure.iter().any(StructureIssue::is_error)
    }

    /// Structure issues with [`Severity::Error`](super::Severity::Error).
    pub fn errors(&self) -> impl Iterator<Item = &StructureIssue> {
        self.structure.iter().filter(|i| i.is_error())
    }

    /// `true` for a list of lists (`TSLType` ending in `listofthelists`).
    pub fn is_lotl(&self) -> bool {
        self.tsl_type.ends_with("listofthelists")
    }

    /// Number of trust service providers.
    pub fn provider_count(&self) -> usize {
        self.providers.len()
    }

    /// Number of current services (history entries are not counted).
    pub fn service_count(&self) -> usize {
        self.providers.iter().map(|p| p.services.len()).sum()
    }

    /// All current services with their provider, in document order.
    pub fn services(&self) -> impl Iterator<Item = (&TrustServiceProvider, &TrustService)> {
        self.providers
            .iter()
            .flat_map(|p| p.services.iter().map(move |s| (p, s)))
    }

    /// Number of current services per [`TrustService::type_suffix`].
    pub fn count_services_by_type(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for (_, s) in self.services() {
            *out.entry(s.type_suffix().to_owned()).or_insert(0) += 1;
        }
        out
    }

    /// Pointers that designate XML lists (see [`TlPointer::is_xml`]).
    pub fn xml_pointers(&self) -> impl Iterator<Item = &TlPointer> {
        self.pointers.iter().filter(|p| p.is_xml())
    }

    /// XML pointers whose `SchemeTerritory` equals `territory` (ASCII case-insensitive).
    pub fn xml_pointers_for<'a>(
        &'a self,
        territory: &'a str,
    ) -> impl Iterator<Item = &'a TlPointer> {
        self.xml_pointers().filter(move |p| {
            p.territory
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(territory))
        })
    }
}

impl TrustService {
    /// The service type relative to `…/TrstSvc/Svctype/` (`"CA/QC"`, `"TSA/QTST"`, `"TSA"`,
    /// `"Certstatus/OCSP/QC"`, …); the whole URI if it has no `/Svctype/` segment.
    pub fn type_suffix(&self) -> &str {
        type_suffix(&self.type_uri)
    }

    /// Last path segment of the status URI (`"granted"`, `"withdrawn"`, …).
    pub fn status_suffix(&self) -> &str {
        last_segment(&self.status_uri)
    }

    /// `true` when the current status is `…/Svcstatus/granted`.
    pub fn is_granted(&self) -> bool {
        self.status_uri == STATUS_GRANTED
    }
}

impl ServiceHistoryEntry {
    /// See [`TrustService::type_suffix`].
    pub fn type_suffix(&self) -> &str {
        type_suffix(&self.type_uri)
    }

    /// See [`TrustService::status_suffix`].
    pub fn status_suffix(&self) -> &str {
        last_segment(&self.status_uri)
    }
}

/// Service type relative to the `/Svctype/` marker (whole URI if absent).
pub fn type_suffix(uri: &str) -> &str {
    match uri.rfind(SVCTYPE_MARKER) {
        Some(i) => &uri[i + SVCTYPE_MARKER.len()..],
        None => uri,
    }
}

fn last_segment(uri: &str) -> &str {
    uri.rsplit('/').next().unwrap_or(uri)
}

fn ser_b64_list<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(
        v.iter()
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
    )
}

fn ser_hex_list<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(hex::encode))
}

#[cfg(test)]
mod tests {
    use super::type_suffix;

    #[test]
    fn suffixes() {
        assert_eq!(
            type_suffix("http://uri.etsi.org/TrstSvc/Svctype/CA/QC"),
            "CA/QC"
        );
        assert_eq!(
            type_suffix("http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"),
            "TSA/QTST"
        );
        assert_eq!(
            type_suffix("http://uri.etsi.org/TrstSvc/Svctype/TSA"),
            "TSA"
        );
        assert_eq!(type_suffix("urn:x"), "urn:x");
    }
}
