//! The validation report: ETSI EN 319 102-1 indications and sub-indications, ETSI
//! TS 119 615 qualification names, and the JSON and text renderings (design.md fixes the
//! JSON shape).
//!
//! Owns: the vocabulary (names exactly as ETSI spells them) and the report structures.
//! Must not touch: how a conclusion is reached (that is `process`).

use std::fmt;

use serde::Serialize;
use time::OffsetDateTime;

/// Main status indication (EN 319 102-1 §5.1.3, table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Indication {
    /// `TOTAL-PASSED`.
    #[serde(rename = "TOTAL_PASSED")]
    TotalPassed,
    /// `TOTAL-FAILED`.
    #[serde(rename = "TOTAL_FAILED")]
    TotalFailed,
    /// `INDETERMINATE`.
    #[serde(rename = "INDETERMINATE")]
    Indeterminate,
}

impl Indication {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Indication::TotalPassed => "TOTAL_PASSED",
            Indication::TotalFailed => "TOTAL_FAILED",
            Indication::Indeterminate => "INDETERMINATE",
        }
    }
}

impl fmt::Display for Indication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! sub_indications {
    ($($(#[$m:meta])* $v:ident => $s:literal),* $(,)?) => {
        /// Sub-indications (EN 319 102-1 §5.1.3, table 5), spelled as ETSI spells them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum SubIndication {
            $($(#[$m])* #[serde(rename = $s)] $v,)*
        }
        impl SubIndication {
            /// The ETSI name.
            pub fn as_str(self) -> &'static str {
                match self { $(SubIndication::$v => $s,)* }
            }
            /// Every sub-indication.
            pub const ALL: &'static [SubIndication] = &[$(SubIndication::$v,)*];
        }
    };
}

sub_indications! {
    /// The signature is not conformant to one of the base standards.
    FormatFailure => "FORMAT_FAILURE",
    /// A hash of a signed data object does not match.
    HashFailure => "HASH_FAILURE",
    /// The signature value could not be verified with the signer's public key.
    SigCryptoFailure => "SIG_CRYPTO_FAILURE",
    /// The signing certificate was revoked and a POE proves the signature was created after.
    Revoked => "REVOKED",
    /// The signature was created after the signing certificate expired (proved by POE).
    Expired => "EXPIRED",
    /// The signature was created before the signing certificate was valid (proved by POE).
    NotYetValid => "NOT_YET_VALID",
    /// A signature constraint of the policy is not met.
    SigConstraintsFailure => "SIG_CONSTRAINTS_FAILURE",
    /// A chain constraint of the policy is not met.
    ChainConstraintsFailure => "CHAIN_CONSTRAINTS_FAILURE",
    /// The chain could not be validated for a reason not covered by another sub-indication.
    CertificateChainGeneralFailure => "CERTIFICATE_CHAIN_GENERAL_FAILURE",
    /// An algorithm or key size is below the cryptographic constraints at the time.
    CryptoConstraintsFailure => "CRYPTO_CONSTRAINTS_FAILURE",
    /// A policy could not be processed.
    PolicyProcessingError => "POLICY_PROCESSING_ERROR",
    /// The signature policy is not available.
    SignaturePolicyNotAvailable => "SIGNATURE_POLICY_NOT_AVAILABLE",
    /// Timestamps are not in the order their semantics requires.
    TimestampOrderFailure => "TIMESTAMP_ORDER_FAILURE",
    /// The signing certificate cannot be identified.
    NoSigningCertificateFound => "NO_SIGNING_CERTIFICATE_FOUND",
    /// No chain to a trust anchor can be built.
    NoCertificateChainFound => "NO_CERTIFICATE_CHAIN_FOUND",
    /// The signing certificate is revoked and no POE before the revocation exists.
    RevokedNoPoe => "REVOKED_NO_POE",
    /// A CA certificate of the chain is revoked and no POE before the revocation exists.
    RevokedCaNoPoe => "REVOKED_CA_NO_POE",
    /// The signing certificate is expired or not yet valid and no POE places the
    /// signature within its validity.
    OutOfBoundsNoPoe => "OUT_OF_BOUNDS_NO_POE",
    /// The signing certificate is expired or not yet valid, but not revoked.
    OutOfBoundsNotRevoked => "OUT_OF_BOUNDS_NOT_REVOKED",
    /// Revocation data is outside the certificate's validity and no POE exists.
    RevocationOutOfBoundsNoPoe => "REVOCATION_OUT_OF_BOUNDS_NO_POE",
    /// An algorithm became unreliable and no POE before that date exists.
    CryptoConstraintsFailureNoPoe => "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
    /// A proof of existence is missing.
    NoPoe => "NO_POE",
    /// Revocation information newer than the signature is needed: try later.
    TryLater => "TRY_LATER",
    /// A signed data object cannot be found.
    SignedDataNotFound => "SIGNED_DATA_NOT_FOUND",
    /// Implementation-specific.
    Custom => "CUSTOM",
}

impl fmt::Display for SubIndication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Qualification of a signature or seal (ETSI TS 119 615 §4 / TS 119 172-4), spelled
/// like EU DSS spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Qualification {
    /// Qualified electronic signature.
    #[serde(rename = "QESig")]
    QESig,
    /// Qualified electronic seal.
    #[serde(rename = "QESeal")]
    QESeal,
    /// Qualified, but whether signature or seal is unknown.
    #[serde(rename = "QES?")]
    Qes,
    /// Advanced electronic signature supported by a qualified certificate.
    #[serde(rename = "AdESig-QC")]
    AdESigQc,
    /// Advanced electronic seal supported by a qualified certificate.
    #[serde(rename = "AdESeal-QC")]
    AdESealQc,
    /// AdES with a qualified certificate of unknown type.
    #[serde(rename = "AdES?-QC")]
    AdesQc,
    /// Advanced electronic signature.
    #[serde(rename = "AdESig")]
    AdESig,
    /// Advanced electronic seal.
    #[serde(rename = "AdESeal")]
    AdESeal,
    /// Advanced, type unknown.
    #[serde(rename = "AdES?")]
    Ades,
    /// The qualification could not be determined as qualified: the signature is not
    /// TOTAL-PASSED (so not AdES), but the certificate is qualified and in a QSCD.
    #[serde(rename = "Not AdES but QC with QSCD")]
    NotAdesQcQscd,
    /// Not AdES (failed/indeterminate), qualified certificate.
    #[serde(rename = "Not AdES but QC")]
    NotAdesQc,
    /// Not AdES, not QC.
    #[serde(rename = "Not AdES")]
    NotAdes,
    /// No trusted list covers the certificate (or no trust service information).
    #[serde(rename = "N/A")]
    NotApplicable,
}

impl Qualification {
    /// The ETSI / DSS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Qualification::QESig => "QESig",
            Qualification::QESeal => "QESeal",
            Qualification::Qes => "QES?",
            Qualification::AdESigQc => "AdESig-QC",
            Qualification::AdESealQc => "AdESeal-QC",
            Qualification::AdesQc => "AdES?-QC",
            Qualification::AdESig => "AdESig",
            Qualification::AdESeal => "AdESeal",
            Qualification::Ades => "AdES?",
            Qualification::NotAdesQcQscd => "Not AdES but QC with QSCD",
            Qualification::NotAdesQc => "Not AdES but QC",
            Qualification::NotAdes => "Not AdES",
            Qualification::NotApplicable => "N/A",
        }
    }
}

impl fmt::Display for Qualification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failed, indeterminate or noteworthy check: which constraint, on which object, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The constraint, named like the EN 319 102-1 building block and check
    /// (e.g. `BBB_CV_ISI` style names are avoided: `CV: signature value`,
    /// `XCV: revocation`, `ISC: signing certificate reference`).
    pub constraint: String,
    /// The object the constraint applies to (`signature S-1`, `certificate CN=…`,
    /// `timestamp TS-2`, `revision 2`).
    pub object: String,
    /// Why it failed, in plain words.
    pub reason: String,
}

impl Finding {
    /// Builds a finding.
    pub fn new(
        constraint: impl Into<String>,
        object: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Finding {
            constraint: constraint.into(),
            object: object.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.constraint, self.object, self.reason)
    }
}

/// A certificate of the validated chain, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertSummary {
    /// Subject DN in RFC 4514 form.
    pub subject: String,
    /// Issuer DN in RFC 4514 form.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
    /// `notBefore`.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// `notAfter`.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// Where its trust comes from, for the anchor: `trusted list CA/QC (BE)`,
    /// `explicit trust anchor`; `None` for the other certificates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_anchor: Option<String>,
    /// Revocation status found (`good`, `revoked 2021-…`, `unknown`, `not checked`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<String>,
}

/// A timestamp in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimestampReport {
    /// Id.
    pub id: String,
    /// Kind (`signature`, `content`, `validation_data`, `refs_only`, `archive`, `document`).
    #[serde(rename = "type")]
    pub kind: String,
    /// `genTime`.
    #[serde(with = "time::serde::rfc3339")]
    pub production_time: OffsetDateTime,
    /// Indication of the timestamp's own validation.
    pub indication: Indication,
    /// Sub-indication.
    pub sub_indication: Option<SubIndication>,
    /// TSA (subject DN of the TSA certificate).
    pub tsa: Option<String>,
    /// Qualification of the timestamp: `QTSA` when issued by a granted TSA/QTST service,
    /// `TSA` otherwise, `N/A` when unknown.
    pub qualification: String,
    /// Failures.
    pub errors: Vec<Finding>,
    /// Notes.
    pub warnings: Vec<Finding>,
}

/// One signature in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureReport {
    /// Id (PDF field name, XML `Id`, …).
    pub id: String,
    /// Format and level (`PAdES-BASELINE-LTA`, `XAdES-BASELINE-B`, `PAdES-BES`, …).
    pub format: String,
    /// Main indication.
    pub indication: Indication,
    /// Sub-indication.
    pub sub_indication: Option<SubIndication>,
    /// Qualification (TS 119 615).
    pub qualification: Qualification,
    /// Whether the private key resided in a QSCD at signing time, when known.
    pub qscd: Option<bool>,
    /// Signer: subject common name (or the whole DN).
    pub signer: Option<String>,
    /// Claimed signing time.
    #[serde(with = "time::serde::rfc3339::option")]
    pub signing_time: Option<OffsetDateTime>,
    /// Best-signature-time (the earliest POE of the signature).
    #[serde(with = "time::serde::rfc3339::option")]
    pub best_signature_time: Option<OffsetDateTime>,
    /// Signature scope.
    pub scope: Option<super::evidence::Scope>,
    /// Certificate chain, signer first.
    pub certificate_chain: Vec<CertSummary>,
    /// Timestamps.
    pub timestamps: Vec<TimestampReport>,
    /// Failed and indeterminate checks.
    pub errors: Vec<Finding>,
    /// Warnings and informational notes.
    pub warnings: Vec<Finding>,
}

/// The validation report of one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Validation time (the "current time" of EN 319 102-1).
    #[serde(with = "time::serde::rfc3339")]
    pub validation_time: OffsetDateTime,
    /// Policy name.
    pub policy: String,
    /// Document-level file name, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// Signatures, in document order.
    pub signatures: Vec<SignatureReport>,
    /// Document-level findings (e.g. unsigned modifications after the last signature).
    pub warnings: Vec<Finding>,
}

impl Report {
    /// `true` when there is at least one signature and every one is TOTAL-PASSED.
    pub fn all_passed(&self) -> bool {
        !self.signatures.is_empty()
            && self
                .signatures
                .iter()
                .all(|s| s.indication == Indication::TotalPassed)
    }

    /// Pretty JSON (the design.md contract).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }

    /// Human-readable text.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let fmt_t = |t: &OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        let mut s = String::new();
        let _ = writeln!(s, "Validation time: {}", fmt_t(&self.validation_time));
        let _ = writeln!(s, "Policy: {}", self.policy);
        if self.signatures.is_empty() {
            let _ = writeln!(s, "No signatures found.");
        }
        for (i, sig) in self.signatures.iter().enumerate() {
            let _ = writeln!(s);
            let _ = writeln!(s, "Signature {} ({}): {}", i + 1, sig.id, sig.format);
            match sig.sub_indication {
                Some(sub) => {
                    let _ = writeln!(s, "  Indication:     {} / {}", sig.indication, sub);
                }
                None => {
                    let _ = writeln!(s, "  Indication:     {}", sig.indication);
                }
            }
            let _ = writeln!(s, "  Qualification:  {}", sig.qualification);
            if let Some(q) = sig.qscd {
                let _ = writeln!(s, "  Key in QSCD:    {}", if q { "yes" } else { "no" });
            }
            if let Some(who) = &sig.signer {
                let _ = writeln!(s, "  Signer:         {who}");
            }
            if let Some(t) = &sig.signing_time {
                let _ = writeln!(s, "  Signing time:   {} (claimed)", fmt_t(t));
            }
            if let Some(t) = &sig.best_signature_time {
                let _ = writeln!(s, "  Best sig. time: {}", fmt_t(t));
            }
            if let Some(scope) = &sig.scope {
                let _ = writeln!(
                    s,
                    "  Scope:          {} ({})",
                    if scope.full { "full" } else { "partial" },
                    scope.description
                );
            }
            for (n, c) in sig.certificate_chain.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "  Chain[{n}]:       {}{}{}",
                    c.subject,
                    c.trust_anchor
                        .as_ref()
                        .map(|a| format!(" — anchor: {a}"))
                        .unwrap_or_default(),
                    c.revocation
                        .as_ref()
                        .map(|r| format!(" — revocation: {r}"))
                        .unwrap_or_default()
                );
            }
            for ts in &sig.timestamps {
                let _ = writeln!(
                    s,
                    "  Timestamp {} ({}): {} at {}{}",
                    ts.id,
                    ts.kind,
                    match ts.sub_indication {
                        Some(sub) => format!("{} / {}", ts.indication, sub),
                        None => ts.indication.to_string(),
                    },
                    fmt_t(&ts.production_time),
                    ts.tsa
                        .as_ref()
                        .map(|t| format!(" by {t} ({})", ts.qualification))
                        .unwrap_or_default()
                );
                for e in &ts.errors {
                    let _ = writeln!(s, "    error:   {e}");
                }
            }
            for e in &sig.errors {
                let _ = writeln!(s, "  error:   {e}");
            }
            for w in &sig.warnings {
                let _ = writeln!(s, "  warning: {w}");
            }
        }
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etsi_spellings() {
        assert_eq!(
            serde_json::to_string(&Indication::TotalPassed).unwrap(),
            "\"TOTAL_PASSED\""
        );
        assert_eq!(
            serde_json::to_string(&SubIndication::OutOfBoundsNoPoe).unwrap(),
            "\"OUT_OF_BOUNDS_NO_POE\""
        );
        assert_eq!(
            serde_json::to_string(&Qualification::AdESigQc).unwrap(),
            "\"AdESig-QC\""
        );
        for s in SubIndication::ALL {
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(SubIndication::ALL.len(), 25);
    }
}
