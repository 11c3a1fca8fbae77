//! ETSI TS 119 612 trusted lists (v5 = v2.1.1, v6 = v2.3.1/v2.4.1): model and parser.
//!
//! Owns: parsing a `TrustServiceStatusList` document (national TL, EU LOTL, pivot LOTL,
//! MRA third-country list) into the owned [`TrustedList`] model, and structure checks in
//! the spirit of EU DSS' `TLStructureVerifier` (version, mandatory fields, v5/v6-specific
//! constructs, presence of the XAdES signing-certificate element), collected as
//! [`StructureIssue`]s.
//! Must not: verify signatures (that is `crate::trust::xmldsig`, which receives the same
//! `roxmltree::Document`), fetch lists, or decide trust/qualification.
//!
//! Use [`parse`] when the caller already holds the parsed document (parse once, hand it
//! to both the signature verifier and this module), or [`parse_bytes`] for untrusted
//! bytes with size and node limits.

mod datetime;
mod model;
mod parser;
mod structure;

use serde::Serialize;

pub use model::{
    Assert, CriteriaList, DigitalIdentities, KeyUsageBit, MIME_TSL_XML, Qualification,
    STATUS_GRANTED, STATUS_WITHDRAWN, ServiceExtensions, ServiceHistoryEntry, ServiceSupplyPoint,
    TSLTYPE_EU_GENERIC, TSLTYPE_EU_LOTL, TakenOverBy, TlPointer, TrustService,
    TrustServiceProvider, TrustedList, type_suffix,
};

/// Largest document [`parse_bytes`] accepts (the biggest EU TLs are a few MB).
pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024 * 1024;
/// Largest number of XML nodes [`parse_bytes`] lets `roxmltree` build (same as
/// `crate::trust::xmldsig::DEFAULT_NODES_LIMIT`).
pub const MAX_NODES: u32 = 2_000_000;
/// Deepest `CriteriaList` nesting accepted (deeper lists are dropped with an error).
pub const MAX_CRITERIA_DEPTH: usize = 16;

/// Namespace of TS 119 612 / TS 102 231 v2 elements.
pub const NS_TSL: &str = "http://uri.etsi.org/02231/v2#";

/// Why a document could not be read as a trusted list at all.
///
/// Anything less severe (missing fields, bad values, unsupported version) is reported
/// in [`TrustedList::structure`] instead.
#[derive(Debug, thiserror::Error)]
pub enum TslError {
    /// The input exceeds [`MAX_DOCUMENT_BYTES`].
    #[error("trusted list too large: {size} bytes (limit {limit})")]
    TooLarge {
        /// Input size.
        size: usize,
        /// Limit applied.
        limit: usize,
    },
    /// The input is not UTF-8 (trusted lists are UTF-8 XML).
    #[error("trusted list is not UTF-8: {0}")]
    NotUtf8(#[from] std::str::Utf8Error),
    /// The input is not well-formed XML, has a DTD, or hits the node limit.
    #[error("trusted list is not acceptable XML: {0}")]
    Xml(#[from] roxmltree::Error),
    /// The root element is not `{http://uri.etsi.org/02231/v2#}TrustServiceStatusList`.
    #[error("not a trusted list: root element is {0}")]
    NotATrustedList(String),
}

/// Severity of a [`StructureIssue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Severity {
    /// The list does not conform; do not base trust decisions on it.
    Error,
    /// Noteworthy but tolerated (e.g. frozen list without `NextUpdate`).
    Warning,
}

/// Category of a [`StructureIssue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum IssueKind {
    /// `TSLVersionIdentifier` absent or not an integer ("No TLVersion has been found!").
    MissingVersion,
    /// `TSLVersionIdentifier` is not 5 or 6.
    UnsupportedVersion,
    /// A mandatory element is absent or empty.
    MissingElement,
    /// A single-valued element occurs more than once.
    DuplicateElement,
    /// A value is malformed (number, URI list, attribute value, boolean, OID…).
    InvalidValue,
    /// A date is not a valid `xsd:dateTime`.
    InvalidDate,
    /// A base64 value does not decode.
    InvalidBase64,
    /// An `X509Certificate` does not parse as an X.509 certificate.
    InvalidCertificate,
    /// The enveloped `ds:Signature` or its XAdES properties do not have the expected
    /// structure for the list's version (not a cryptographic check).
    SignatureStructure,
    /// A construct of one TS 119 612 version appears in a list of the other version.
    VersionMismatch,
    /// `NextUpdate` is empty (closed/frozen list).
    NoNextUpdate,
    /// A critical service extension is not understood.
    UnknownCriticalExtension,
    /// A nesting limit was hit.
    LimitExceeded,
}

/// One structure finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StructureIssue {
    /// Error or warning.
    pub severity: Severity,
    /// Category.
    pub kind: IssueKind,
    /// Element path (local names, 1-based indexes), e.g.
    /// `TrustServiceProviderList/TrustServiceProvider[3]/TSPServices/TSPService[2]`.
    pub path: String,
    /// Human-readable message (DSS wording where DSS has one).
    pub message: String,
}

impl StructureIssue {
    /// `true` for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for StructureIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} {:?} at {}: {}",
            self.severity, self.kind, self.path, self.message
        )
    }
}

/// Parses a trusted list from an already parsed XML document.
///
/// Fails only when the root is not a `TrustServiceStatusList` in the TS 119 612
/// namespace; every other defect is recorded in [`TrustedList::structure`].
pub fn parse(doc: &roxmltree::Document<'_>) -> Result<TrustedList, TslError> {
    parser::parse_document(doc)
}

/// Parses a trusted list from raw bytes (UTF-8, optional BOM), refusing DTDs, inputs
/// over [`MAX_DOCUMENT_BYTES`] and documents over [`MAX_NODES`] nodes.
pub fn parse_bytes(xml: &[u8]) -> Result<TrustedList, TslError> {
    if xml.len() > MAX_DOCUMENT_BYTES {
        return Err(TslError::TooLarge {
            size: xml.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let text = std::str::from_utf8(xml)?;
    let doc = roxmltree::Document::parse_with_options(text, parsing_options())?;
    parse(&doc)
}

/// The `roxmltree` options [`parse_bytes`] uses: DTDs refused, node count capped.
/// Callers that parse the document themselves (to share it with the signature
/// verifier) should use these too.
pub fn parsing_options<'input>() -> roxmltree::ParsingOptions<'input> {
    roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..roxmltree::ParsingOptions::default()
    }
}
