//! Format-independent evidence extracted from one signature.
//!
//! Owns: the data a format module (PAdES, XAdES, CAdES) hands to the EN 319 102-1
//! process: the cryptographic integrity verdict, the signing certificate it identified,
//! every certificate and revocation value the signature (or its container) carries, the
//! claimed signing time, the timestamps that cover it and the signature scope.
//! Must not touch: chain building, revocation or time decisions (that is `process`).

use time::OffsetDateTime;

use super::report::{Finding, SubIndication};

/// DER bytes.
pub type Der = Vec<u8>;

/// Signature format family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Family {
    /// ETSI EN 319 142 (PDF).
    PAdES,
    /// ETSI EN 319 132 (XML).
    XAdES,
    /// ETSI EN 319 122 (CMS).
    CAdES,
}

/// Outcome of a cryptographic or structural check done by a format module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The check passed.
    Passed,
    /// The check failed: the EN 319 102-1 sub-indication (`HASH_FAILURE`,
    /// `SIG_CRYPTO_FAILURE`, `FORMAT_FAILURE`, `SIGNED_DATA_NOT_FOUND`) and why.
    Failed {
        /// Sub-indication.
        sub: SubIndication,
        /// What failed, in words a reader can act on.
        reason: String,
    },
}

impl Check {
    /// `true` when passed.
    pub fn passed(&self) -> bool {
        matches!(self, Check::Passed)
    }
}

/// The algorithms a signature (or timestamp) uses, for the cryptographic constraints.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Algorithms {
    /// Digest algorithm of the signed data (`SHA-256`, …); `None` if unknown.
    pub digest: Option<String>,
    /// Signature algorithm (`RSA`, `RSA-PSS`, `ECDSA`, `PLAIN-ECDSA`, `Ed25519`).
    pub signature: Option<String>,
    /// Digest used inside the signature algorithm (may differ from `digest`).
    pub signature_digest: Option<String>,
    /// Public key size in bits (RSA modulus, EC field size).
    pub key_bits: Option<u32>,
}

/// Whether the signing-certificate reference (ESS signing-certificate(-v2) or XAdES
/// `SigningCertificate(V2)`) was present and matched the certificate that verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertRef {
    /// No reference attribute/property.
    Absent,
    /// Present and its digest (and issuer/serial, when given) match.
    Matches,
    /// Present but the digest or issuer/serial does not match.
    Mismatch,
}

/// Kind of a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampKind {
    /// Over the signature value (CAdES/PAdES `signature-time-stamp`, XAdES
    /// `SignatureTimeStamp`).
    Signature,
    /// Over the signed data objects before signing (XAdES `AllDataObjectsTimeStamp`,
    /// CAdES `content-time-stamp`).
    Content,
    /// Over the signature and its validation data (XAdES `SigAndRefsTimeStamp`,
    /// `RefsOnlyTimeStamp`, CAdES-X Type 1 `CAdES-C-time-stamp`).
    ValidationData,
    /// Over the validation-data references only, not the signature value (CAdES-X
    /// Type 2 `time-stamped-certs-crls-references`): no proof of existence of the
    /// signature.
    RefsOnly,
    /// Archive timestamp (XAdES `ArchiveTimeStamp`, CAdES `archive-time-stamp-v3`, and
    /// the legacy ETSI TS 101 733 `archive-time-stamp` v2 and v1).
    Archive,
    /// PAdES document timestamp (`/Type /DocTimeStamp`) covering a later revision.
    Document,
}

/// One RFC 3161 timestamp covering a signature, checked by the format module.
#[derive(Debug, Clone)]
pub struct TimestampEvidence {
    /// Stable id within the report (e.g. `TS-1`).
    pub id: String,
    /// What it covers.
    pub kind: TimestampKind,
    /// `TSTInfo.genTime`.
    pub gen_time: OffsetDateTime,
    /// The whole token (`ContentInfo` DER).
    pub token: Der,
    /// The message imprint matches the data the timestamp must cover.
    pub imprint: Check,
    /// The token's CMS signature verified with `tsa_cert`.
    pub signature: Check,
    /// The TSA certificate that verified the token, if identified.
    pub tsa_cert: Option<Der>,
    /// Certificates carried in the token.
    pub certificates: Vec<Der>,
    /// Algorithms of the token.
    pub algorithms: Algorithms,
    /// For document/archive timestamps: the certificates, CRLs and OCSP responses the
    /// timestamp protects (validation data present before it). Empty otherwise.
    pub covered_certificates: Vec<Der>,
    /// See `covered_certificates`.
    pub covered_crls: Vec<Der>,
    /// See `covered_certificates`.
    pub covered_ocsps: Vec<Der>,
}

/// What the signature covers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Scope {
    /// `true` when the whole document (or every referenced object) is covered.
    pub full: bool,
    /// Human description, e.g. "revision 1 of 3 (bytes 0–15004 of 30211)".
    pub description: String,
}

/// Everything a format module found out about one signature (not timestamps alone).
#[derive(Debug, Clone)]
pub struct SignatureEvidence {
    /// Stable id within the report (e.g. the PDF field name, the XML `Id`, `S-1`).
    pub id: String,
    /// Format family.
    pub family: Family,
    /// Format and level as ETSI names it: `PAdES-BASELINE-B`, `PAdES-BASELINE-LTA`,
    /// `PAdES-BES`, `PAdES-EPES`, `XAdES-BASELINE-T`, `XAdES-T`, `CAdES-BASELINE-B`,
    /// `PKCS#7`, `XML-NOT-ETSI`, …
    pub format: String,
    /// Integrity: digest over the signed data and cryptographic verification of the
    /// signature value.
    pub integrity: Check,
    /// The certificate whose public key verified the signature (or, when the value did
    /// not verify, the one identified by the signer identifier). `None` means
    /// `NO_SIGNING_CERTIFICATE_FOUND`.
    pub signer_cert: Option<Der>,
    /// Signing-certificate reference check.
    pub cert_ref: CertRef,
    /// Every certificate available to build paths: signature, container (DSS,
    /// `CertificateValues`), timestamp tokens. Duplicates allowed.
    pub certificates: Vec<Der>,
    /// CRLs (`CertificateList` DER) carried by the signature or its container.
    pub crls: Vec<Der>,
    /// OCSP responses carried (either `OCSPResponse` or `BasicOCSPResponse` DER).
    pub ocsps: Vec<Der>,
    /// Algorithms used.
    pub algorithms: Algorithms,
    /// Claimed signing time (signing-time attribute, XAdES `SigningTime`, PDF `/M`).
    pub claimed_signing_time: Option<OffsetDateTime>,
    /// Timestamps over this signature, in the order they apply (signature timestamps
    /// first, then validation-data and archive/document timestamps).
    pub timestamps: Vec<TimestampEvidence>,
    /// What is signed.
    pub scope: Scope,
    /// Structural and format findings that make the signature fail (`FORMAT_FAILURE`).
    pub errors: Vec<Finding>,
    /// Findings that do not change the indication.
    pub warnings: Vec<Finding>,
    /// Signature policy identifier, if any (EPES).
    pub policy_id: Option<String>,
    /// Commitment types / claimed roles / other signed facts, in words, for the report.
    pub notes: Vec<String>,
}
