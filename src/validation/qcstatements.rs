//! The certificate side of qualification: ETSI EN 319 412-5 QC statements, the EN 319 411-2 /
//! TS 101 456 certificate-policy hints, and the few other certificate facts a trusted list's
//! `CriteriaList` can select on (key usage, extended key usage, subject DN attribute types,
//! certificate policies).
//!
//! Owns: reading those facts out of a DER certificate, structurally and leniently (an
//! unreadable statement is skipped; an unreadable certificate yields empty facts).
//! Must not touch: trusted lists, service statuses, qualification conclusions (that is
//! `qualification`), signature verification or path building.

use der::asn1::{Any, BitString, Ia5String, ObjectIdentifier, PrintableString};
use der::{Decode, Sequence};
use time::OffsetDateTime;
use x509_cert::Certificate;

/// Largest certificate looked at (bigger input yields empty facts).
pub const MAX_CERT_BYTES: usize = 256 * 1024;
/// Most QC statements, policies, EKUs or DN attributes read from one certificate.
pub const MAX_ITEMS: usize = 128;

/// `id-pe-qcStatements` (RFC 3739).
pub const OID_QC_STATEMENTS: &str = "1.3.6.1.5.5.7.1.3";
/// `id-etsi-qcs-QcCompliance`.
pub const OID_QC_COMPLIANCE: &str = "0.4.0.1862.1.1";
/// `id-etsi-qcs-QcRetentionPeriod`.
pub const OID_QC_RETENTION_PERIOD: &str = "0.4.0.1862.1.3";
/// `id-etsi-qcs-QcSSCD` (pre-eIDAS "SSCD", post-eIDAS "QSCD": same OID).
pub const OID_QC_SSCD: &str = "0.4.0.1862.1.4";
/// `id-etsi-qcs-QcPDS`.
pub const OID_QC_PDS: &str = "0.4.0.1862.1.5";
/// `id-etsi-qcs-QcType`.
pub const OID_QC_TYPE: &str = "0.4.0.1862.1.6";
/// `id-etsi-qct-esign`.
pub const OID_QCT_ESIGN: &str = "0.4.0.1862.1.6.1";
/// `id-etsi-qct-eseal`.
pub const OID_QCT_ESEAL: &str = "0.4.0.1862.1.6.2";
/// `id-etsi-qct-web`.
pub const OID_QCT_WEB: &str = "0.4.0.1862.1.6.3";
/// `id-etsi-qcs-QcCClegislation`.
pub const OID_QC_CC_LEGISLATION: &str = "0.4.0.1862.1.7";

/// TS 101 456 QCP public (pre-eIDAS qualified certificate policy).
pub const POLICY_QCP_PUBLIC: &str = "0.4.0.1456.1.2";
/// TS 101 456 QCP public + SSCD ("QCP+").
pub const POLICY_QCP_PUBLIC_SSCD: &str = "0.4.0.1456.1.1";
/// EN 319 411-2 QCP-n.
pub const POLICY_QCP_N: &str = "0.4.0.194112.1.0";
/// EN 319 411-2 QCP-l.
pub const POLICY_QCP_L: &str = "0.4.0.194112.1.1";
/// EN 319 411-2 QCP-n-qscd.
pub const POLICY_QCP_N_QSCD: &str = "0.4.0.194112.1.2";
/// EN 319 411-2 QCP-l-qscd.
pub const POLICY_QCP_L_QSCD: &str = "0.4.0.194112.1.3";
/// EN 319 411-2 QCP-w.
pub const POLICY_QCP_W: &str = "0.4.0.194112.1.4";

/// A `QcType` value (EN 319 412-5 §4.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QcType {
    /// `id-etsi-qct-esign`.
    ESign,
    /// `id-etsi-qct-eseal`.
    ESeal,
    /// `id-etsi-qct-web`.
    Web,
    /// Any other OID (dotted form).
    Other(String),
}

/// QC statements of a certificate (EN 319 412-5), plus its certificate policies as hints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QcStatements {
    /// `QcCompliance` present.
    pub compliance: bool,
    /// `QcSSCD` present (the key is in an SSCD / QSCD).
    pub qscd: bool,
    /// `QcType` values, in certificate order.
    pub types: Vec<QcType>,
    /// `QcCClegislation` country codes (non-empty means "qualified under the law of that
    /// non-EU country", not under eIDAS).
    pub legislation: Vec<String>,
    /// `QcPDS` URLs.
    pub pds: Vec<String>,
    /// `QcRetentionPeriod` in years.
    pub retention_period: Option<i64>,
    /// Certificate policy OIDs (dotted), from `certificatePolicies`.
    pub policies: Vec<String>,
}

impl QcStatements {
    /// `true` when `QcType` lists `t`.
    pub fn has_type(&self, t: &QcType) -> bool {
        self.types.contains(t)
    }

    /// `true` when the certificate policies include `oid`.
    pub fn has_policy(&self, oid: &str) -> bool {
        self.policies.iter().any(|p| p == oid)
    }

    /// Pre-eIDAS TS 101 456 "QCP public" policy.
    pub fn policy_qcp(&self) -> bool {
        self.has_policy(POLICY_QCP_PUBLIC)
    }

    /// Pre-eIDAS TS 101 456 "QCP public + SSCD" policy.
    pub fn policy_qcp_plus(&self) -> bool {
        self.has_policy(POLICY_QCP_PUBLIC_SSCD)
    }

    /// An EN 319 411-2 policy saying the key is in a QSCD (QCP-n-qscd, QCP-l-qscd) or the
    /// TS 101 456 QCP+ one. A hint only: the qualification rules use the QC statements.
    pub fn policy_says_qscd(&self) -> bool {
        [POLICY_QCP_PUBLIC_SSCD, POLICY_QCP_N_QSCD, POLICY_QCP_L_QSCD]
            .iter()
            .any(|p| self.has_policy(p))
    }

    /// An EN 319 411-2 / TS 101 456 policy for qualified certificates.
    pub fn policy_says_qualified(&self) -> bool {
        [
            POLICY_QCP_PUBLIC,
            POLICY_QCP_PUBLIC_SSCD,
            POLICY_QCP_N,
            POLICY_QCP_L,
            POLICY_QCP_N_QSCD,
            POLICY_QCP_L_QSCD,
            POLICY_QCP_W,
        ]
        .iter()
        .any(|p| self.has_policy(p))
    }
}

/// Everything the qualification rules read from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// Subject DN (RFC 4514 form, at most 512 characters), for messages.
    pub subject: String,
    /// `notBefore` (the issuance time of TS 119 615).
    pub not_before: OffsetDateTime,
    /// QC statements and policies.
    pub qc: QcStatements,
    /// Key usage bits 0..=8 (`digitalSignature` = bit 0); `None` without the extension.
    pub key_usage: Option<[bool; 9]>,
    /// Extended key usage OIDs.
    pub ext_key_usage: Vec<String>,
    /// Attribute type OIDs present in the subject DN.
    pub subject_attributes: Vec<String>,
}

impl CertFacts {
    /// Value of the named key usage bit (TS 119 612 `KeyUsageBit/@name`), `false` without
    /// the extension; `None` for an unknown name.
    pub fn key_usage_bit(&self, name: &str) -> Option<bool> {
        let i = match name {
            "digitalSignature" => 0,
            "nonRepudiation" | "contentCommitment" => 1,
            "keyEncipherment" => 2,
            "dataEncipherment" => 3,
            "keyAgreement" => 4,
            "keyCertSign" => 5,
            "crlSign" | "cRLSign" => 6,
            "encipherOnly" => 7,
            "decipherOnly" => 8,
            _ => return None,
        };
        Some(
            self.key_usage
                .is_some_and(|k| k.get(i).copied().unwrap_or(false)),
        )
    }
}

#[derive(Sequence)]
struct QcStatement {
    statement_id: ObjectIdentifier,
    statement_info: Option<Any>,
}

#[derive(Sequence)]
struct PdsLocation {
    url: Ia5String,
    _language: Any,
}

#[derive(Sequence)]
struct PolicyInfo {
    policy_identifier: ObjectIdentifier,
    _policy_qualifiers: Option<Any>,
}

/// QC statements (and policies) of `cert_der`; empty for unreadable input.
pub fn qc_statements(cert_der: &[u8]) -> QcStatements {
    cert_facts(cert_der).map(|f| f.qc).unwrap_or_default()
}

/// Facts of `cert_der`; `None` when it is not a readable certificate.
pub fn cert_facts(cert_der: &[u8]) -> Option<CertFacts> {
    if cert_der.len() > MAX_CERT_BYTES {
        return None;
    }
    let cert = Certificate::from_der(cert_der).ok()?;
    let tbs = &cert.tbs_certificate;
    let not_before = OffsetDateTime::from(tbs.validity.not_before.to_system_time());
    let subject: String = tbs.subject.to_string().chars().take(512).collect();
    let mut facts = CertFacts {
        subject,
        not_before,
        qc: QcStatements::default(),
        key_usage: None,
        ext_key_usage: Vec::new(),
        subject_attributes: Vec::new(),
    };
    for rdn in tbs.subject.0.iter().take(MAX_ITEMS) {
        for atv in rdn.0.iter().take(MAX_ITEMS) {
            let oid = atv.oid.to_string();
            if !facts.subject_attributes.contains(&oid)
                && facts.subject_attributes.len() < MAX_ITEMS
            {
                facts.subject_attributes.push(oid);
            }
        }
    }
    for ext in tbs.extensions.iter().flatten().take(MAX_ITEMS) {
        let value = ext.extn_value.as_bytes();
        match ext.extn_id.to_string().as_str() {
            OID_QC_STATEMENTS => read_qc_statements(value, &mut facts.qc),
            "2.5.29.32" => {
                if let Ok(list) = Vec::<PolicyInfo>::from_der(value) {
                    facts.qc.policies = list
                        .iter()
                        .take(MAX_ITEMS)
                        .map(|p| p.policy_identifier.to_string())
                        .collect();
                }
            }
            "2.5.29.15" => {
                if let Ok(bits) = BitString::from_der(value) {
                    let raw = bits.raw_bytes();
                    let mut ku = [false; 9];
                    for (i, b) in ku.iter_mut().enumerate() {
                        let byte = raw.get(i / 8).copied().unwrap_or(0);
                        *b = byte & (0x80 >> (i % 8)) != 0;
                    }
                    facts.key_usage = Some(ku);
                }
            }
            "2.5.29.37" => {
                if let Ok(list) = Vec::<ObjectIdentifier>::from_der(value) {
                    facts.ext_key_usage =
                        list.iter().take(MAX_ITEMS).map(|o| o.to_string()).collect();
                }
            }
            _ => {}
        }
    }
    Some(facts)
}

fn read_qc_statements(value: &[u8], qc: &mut QcStatements) {
    let Ok(list) = Vec::<QcStatement>::from_der(value) else {
        return;
    };
    for st in list.iter().take(MAX_ITEMS) {
        let info = st.statement_info.as_ref();
        match st.statement_id.to_string().as_str() {
            OID_QC_COMPLIANCE => qc.compliance = true,
            OID_QC_SSCD => qc.qscd = true,
            OID_QC_TYPE => {
                if let Some(Ok(types)) = info.map(|a| a.decode_as::<Vec<ObjectIdentifier>>()) {
                    for t in types.iter().take(MAX_ITEMS) {
                        let t = match t.to_string().as_str() {
                            OID_QCT_ESIGN => QcType::ESign,
                            OID_QCT_ESEAL => QcType::ESeal,
                            OID_QCT_WEB => QcType::Web,
                            other => QcType::Other(other.to_string()),
                        };
                        if !qc.types.contains(&t) {
                            qc.types.push(t);
                        }
                    }
                }
            }
            OID_QC_CC_LEGISLATION => {
                if let Some(Ok(ccs)) = info.map(|a| a.decode_as::<Vec<PrintableString>>()) {
                    qc.legislation = ccs
                        .iter()
                        .take(MAX_ITEMS)
                        .map(|c| c.as_str().to_string())
                        .collect();
                }
            }
            OID_QC_PDS => {
                if let Some(Ok(locs)) = info.map(|a| a.decode_as::<Vec<PdsLocation>>()) {
                    qc.pds = locs
                        .iter()
                        .take(MAX_ITEMS)
                        .map(|l| l.url.as_str().to_string())
                        .collect();
                }
            }
            OID_QC_RETENTION_PERIOD => {
                qc.retention_period = info.and_then(|a| a.decode_as::<i64>().ok());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(rel: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn real_belgian_qes_cert() {
        let qc = qc_statements(&data("certs/pyhanko-real/real-qcert.cer"));
        assert!(qc.compliance, "{qc:?}");
        assert!(qc.qscd, "{qc:?}");
        assert_eq!(qc.types, vec![QcType::ESign]);
        assert!(qc.legislation.is_empty());
    }

    #[test]
    fn real_belgian_tsa_cert_is_eseal() {
        let qc = qc_statements(&data("certs/pyhanko-real/real-qtst-cert.cer"));
        assert!(qc.compliance, "{qc:?}");
        assert!(qc.has_type(&QcType::ESeal), "{qc:?}");
        assert!(!qc.qscd, "{qc:?}");
    }

    #[test]
    fn real_estonian_tsa_cert_has_no_statements() {
        let der = data("certs/pyhanko-real/real-misissued-qtst-cert.cer");
        let facts = cert_facts(&der).expect("readable");
        assert!(!facts.qc.compliance);
        assert!(!facts.qc.qscd);
        assert!(facts.qc.types.is_empty());
        assert_eq!(facts.ext_key_usage, vec!["1.3.6.1.5.5.7.3.8".to_string()]);
    }

    #[test]
    fn garbage_never_panics() {
        let der = data("certs/pyhanko-real/real-qcert.cer");
        for n in 0..der.len() {
            let _ = qc_statements(&der[..n]);
        }
        let mut flipped = der.clone();
        for i in (0..flipped.len()).step_by(7) {
            flipped[i] ^= 0x5a;
            let _ = cert_facts(&flipped);
            flipped[i] ^= 0x5a;
        }
        assert_eq!(qc_statements(b""), QcStatements::default());
    }
}
