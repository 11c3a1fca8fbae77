//! Qualification of signatures, seals and timestamps from the EU trusted lists (ETSI TS 119 615
//! §4.3–4.4, TS 119 172-4), following EU DSS' qualification block (`CertQualificationAtTimeBlock`,
//! `CertificateQualificationCalculator`, `SigQualificationMatrix`, `TimestampQualificationBlock`).
//!
//! Owns: selecting the trust services that cover a certificate's path at a time (by date,
//! CA/QC type, certificate type vs. `AdditionalServiceInformation`, conflicts, consistency,
//! granted status with the pre-eIDAS statuses before 2016-07-01), matching a certificate
//! against a service's `Qualifications` `CriteriaList`s, the TL-over-certificate rules for
//! "qualified", "type" and "QSCD", the final signature qualification for an EN 319 102-1
//! indication, and QTST look-ups for timestamps.
//! Must not touch: loading or verifying trusted lists (it reads a built
//! [`Registry`](crate::trust::registry::Registry)), path building, revocation, the AdES
//! indication itself (the caller passes it in), the certificate parsing details (that is
//! [`super::qcstatements`]).

use std::sync::Arc;

use time::OffsetDateTime;
use time::macros::datetime;

use super::evidence::Der;
use super::qcstatements::{CertFacts, QcType, cert_facts};
use super::report::{Finding, Indication, Qualification};
use crate::trust::registry::{Registry, ServiceMatch, StatusAt};
use crate::trust::tsl::{Assert, CriteriaList};

/// eIDAS application date as EU DSS uses it (2016-07-01 00:00 CET).
pub const EIDAS_DATE: OffsetDateTime = datetime!(2016-06-30 22:00 UTC);

/// Deepest `CriteriaList` nesting evaluated.
pub const MAX_CRITERIA_DEPTH: usize = 16;
/// Most issuer certificates looked at.
pub const MAX_PATH: usize = 16;

/// Type of a (qualified) certificate, Annex I/III/IV of eIDAS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum QcKind {
    /// For electronic signatures.
    ESig,
    /// For electronic seals.
    ESeal,
    /// For website authentication.
    Wsa,
    /// Not determinable (conflicting or absent information).
    Unknown,
}

/// The qualification of a certificate at one time (issuance or signing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertQualification {
    /// Qualified certificate (TL + certificate content) at that time.
    pub qualified: bool,
    /// Certificate type.
    pub kind: QcKind,
    /// Private key in a QSCD (only `Some(true)` for a qualified certificate); `None` when
    /// the qualification is not determinable.
    pub qscd: Option<bool>,
    /// The selected service, `"CC / provider / service name"`.
    pub service: Option<String>,
    /// How the conclusion was reached, in words.
    pub reasons: Vec<String>,
    /// `false` when the qualification is "N/A": no trusted-list service covers the
    /// certificate's path, or the covering services conflict.
    pub determined: bool,
}

impl CertQualification {
    fn not_applicable(reasons: Vec<String>) -> Self {
        CertQualification {
            qualified: false,
            kind: QcKind::Unknown,
            qscd: None,
            service: None,
            reasons,
            determined: false,
        }
    }
}

/// Qualification of a signing certificate at its issuance and at signing time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualificationOutcome {
    /// At `notBefore`.
    pub at_issuance: CertQualification,
    /// At the (best) signing time.
    pub at_signing: CertQualification,
    /// Noteworthy facts for the report (conflicts, criteria not understood, …).
    pub findings: Vec<Finding>,
}

/// Final certificate qualification (EU DSS `CertificateQualification`), `None` = N/A.
type FinalCert = Option<(bool, QcKind, bool)>;

impl QualificationOutcome {
    /// The final qualification for a signature whose EN 319 102-1 indication is
    /// `indication`, and whether its key was in a QSCD at signing time (`None` when N/A).
    ///
    /// Qualified only when qualified both at issuance and at signing time; the type is the
    /// common type (else unknown); QSCD is the signing-time one. TOTAL-PASSED gives
    /// QESig/QESeal/QES?/AdESig-QC/AdESeal-QC/AdES?-QC/AdESig/AdESeal/AdES?; a website
    /// certificate gives "Not AdES"; any other indication gives the "Not AdES…" names; an
    /// undeterminable qualification gives N/A (or "Not AdES" when TOTAL-FAILED).
    pub fn conclude(&self, indication: Indication) -> (Qualification, Option<bool>) {
        let (i, s) = (&self.at_issuance, &self.at_signing);
        let fin: FinalCert = (i.determined && s.determined).then(|| {
            let qualified = i.qualified && s.qualified;
            let kind = if i.kind == s.kind {
                s.kind
            } else {
                QcKind::Unknown
            };
            let qscd = s.qualified && s.qscd == Some(true);
            (qualified, kind, qscd)
        });
        let q = signature_matrix(indication, fin);
        (q, fin.map(|(qc, _, qscd)| qc && qscd))
    }
}

fn signature_matrix(indication: Indication, fin: FinalCert) -> Qualification {
    use Qualification as Q;
    let Some((qc, kind, qscd)) = fin else {
        return match indication {
            Indication::TotalFailed => Q::NotAdes,
            _ => Q::NotApplicable,
        };
    };
    if kind == QcKind::Wsa {
        return Q::NotAdes;
    }
    if indication != Indication::TotalPassed {
        return match (qc, qscd) {
            (true, true) => Q::NotAdesQcQscd,
            (true, false) => Q::NotAdesQc,
            _ => Q::NotAdes,
        };
    }
    match (qc, kind, qscd) {
        (true, QcKind::ESig, true) => Q::QESig,
        (true, QcKind::ESeal, true) => Q::QESeal,
        (true, _, true) => Q::Qes,
        (true, QcKind::ESig, false) => Q::AdESigQc,
        (true, QcKind::ESeal, false) => Q::AdESealQc,
        (true, _, false) => Q::AdesQc,
        (false, QcKind::ESig, _) => Q::AdESig,
        (false, QcKind::ESeal, _) => Q::AdESeal,
        (false, _, _) => Q::Ades,
    }
}

// ---------------------------------------------------------------------------------------
// Trust-list vocabulary

fn last_segment(uri: &str) -> &str {
    uri.trim()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(uri)
}

fn post_eidas(t: OffsetDateTime) -> bool {
    t >= EIDAS_DATE
}

/// DSS `GrantedServiceFilter`: `granted` for a status that started on/after the eIDAS date;
/// `undersupervision`, `supervisionincessation`, `accredited` for one that started before.
fn granted(status_uri: &str, since: OffsetDateTime) -> bool {
    let s = last_segment(status_uri);
    if post_eidas(since) {
        s == "granted"
    } else {
        matches!(
            s,
            "undersupervision" | "supervisionincessation" | "accredited"
        )
    }
}

/// One service in force at the time asked, with the qualifiers that apply to the cert.
struct Candidate<'a> {
    m: &'a ServiceMatch,
    st: StatusAt<'a>,
    captured: Vec<&'a str>,
}

impl Candidate<'_> {
    fn q(&self, name: &str) -> bool {
        self.captured.iter().any(|u| last_segment(u) == name)
    }
    fn asi(&self, name: &str) -> bool {
        self.st
            .additional_info
            .iter()
            .any(|u| last_segment(u) == name)
    }
    fn post(&self) -> bool {
        post_eidas(self.st.since)
    }
    fn is_caqc(&self) -> bool {
        self.st.type_suffix == "CA/QC"
    }
    fn granted(&self) -> bool {
        granted(self.st.status_uri, self.st.since)
    }
    fn label(&self) -> String {
        format!(
            "{} / {} / {}",
            self.m.territory, self.m.provider, self.st.name
        )
    }
    fn usage_count(&self) -> usize {
        ["QCForESig", "QCForESeal", "QCForWSA"]
            .iter()
            .filter(|u| self.q(u))
            .count()
    }

    // -- DSS consistency conditions ------------------------------------------------------

    fn status_consistent(&self) -> bool {
        self.post() || !matches!(last_segment(self.st.status_uri), "granted" | "withdrawn")
    }
    fn qc_consistent(&self) -> bool {
        !(self.q("QCStatement") && self.q("NotQualified"))
    }
    fn type_consistent(&self) -> bool {
        let legal = !(self.q("QCForLegalPerson") && self.q("QCForESig"));
        let usage = self.usage_count() <= 1;
        let asi_ok = if !self.st.additional_info.is_empty() && self.usage_count() == 1 {
            (self.q("QCForESig") && self.asi("ForeSignatures"))
                || (self.q("QCForESeal") && self.asi("ForeSeals"))
                || (self.q("QCForWSA") && self.asi("ForWebSiteAuthentication"))
        } else {
            true
        };
        let pre_ok = self.post() || {
            let seals_only = self.asi("ForeSeals") && !self.asi("ForeSignatures");
            let wsa_only = self.asi("ForWebSiteAuthentication") && !self.asi("ForeSignatures");
            !(seals_only || wsa_only || self.q("QCForESeal") || self.q("QCForWSA"))
        };
        legal && usage && asi_ok && pre_ok
    }
    fn qscd_consistent(&self) -> bool {
        let with = self.q("QCWithQSCD") || self.q("QCWithSSCD") || self.q("QCQSCDManagedOnBehalf");
        let as_in_cert = self.q("QCQSCDStatusAsInCert") || self.q("QCSSCDStatusAsInCert");
        let no = self.q("QCNoQSCD") || self.q("QCNoSSCD");
        let a = !((with || as_in_cert) && no);
        let b = !(as_in_cert && with);
        let c = !self.post()
            || !(self.q("QCWithSSCD") || self.q("QCNoSSCD"))
            || self.q("QCWithQSCD")
            || self.q("QCNoQSCD");
        a && b && c
    }
}

// ---------------------------------------------------------------------------------------
// Certificate-only rules (DSS *ByCertificatePreEIDAS / PostEIDAS)

fn cert_qualified(f: &CertFacts) -> bool {
    let by_content = if post_eidas(f.not_before) {
        f.qc.compliance
    } else {
        f.qc.compliance || f.qc.policy_qcp() || f.qc.policy_qcp_plus()
    };
    by_content && f.qc.legislation.is_empty()
}

fn cert_kind(f: &CertFacts) -> QcKind {
    if !post_eidas(f.not_before) {
        return if f.qc.compliance || f.qc.policy_qcp() || f.qc.policy_qcp_plus() {
            QcKind::ESig
        } else {
            QcKind::Unknown
        };
    }
    let esig = f.qc.has_type(&QcType::ESign);
    let eseal = f.qc.has_type(&QcType::ESeal);
    let web = f.qc.has_type(&QcType::Web);
    let n = [esig, eseal, web].iter().filter(|b| **b).count();
    if (n == 0 && f.qc.compliance) || (esig && n == 1) {
        QcKind::ESig
    } else if eseal && n == 1 {
        QcKind::ESeal
    } else if web && n == 1 {
        QcKind::Wsa
    } else {
        QcKind::Unknown
    }
}

fn cert_qscd(f: &CertFacts) -> bool {
    if post_eidas(f.not_before) {
        f.qc.qscd
    } else {
        f.qc.qscd || f.qc.policy_qcp_plus()
    }
}

// ---------------------------------------------------------------------------------------
// TL-over-certificate rules (DSS *ByTL)

fn qualified_by_tl(c: Option<&Candidate<'_>>, f: &CertFacts) -> bool {
    let Some(c) = c else { return false };
    if !c.granted() || c.q("NotQualified") {
        return false;
    }
    c.q("QCStatement") || cert_qualified(f)
}

fn kind_by_tl(c: Option<&Candidate<'_>>, qualified: bool, f: &CertFacts) -> QcKind {
    if !qualified {
        return cert_kind(f);
    }
    let Some(c) = c else { return QcKind::Unknown };
    if !c.post() {
        return QcKind::ESig;
    }
    match c.usage_count() {
        0 => cert_kind(f),
        1 if c.q("QCForESig") => QcKind::ESig,
        1 if c.q("QCForESeal") => QcKind::ESeal,
        1 => QcKind::Wsa,
        _ => QcKind::Unknown,
    }
}

fn qscd_by_tl(c: Option<&Candidate<'_>>, qualified: bool, f: &CertFacts) -> bool {
    let Some(c) = c.filter(|_| qualified) else {
        return false;
    };
    let (with, as_in_cert, no) = if c.post() {
        (
            c.q("QCWithQSCD") || c.q("QCQSCDManagedOnBehalf"),
            c.q("QCQSCDStatusAsInCert") || c.q("QCSSCDStatusAsInCert"),
            c.q("QCNoQSCD"),
        )
    } else {
        (
            c.q("QCWithSSCD"),
            c.q("QCSSCDStatusAsInCert"),
            c.q("QCNoSSCD"),
        )
    };
    if with {
        true
    } else if as_in_cert {
        cert_qscd(f)
    } else if no {
        false
    } else {
        cert_qscd(f)
    }
}

/// DSS `CertificateQualificationCalculator` for one service.
fn calculate(c: &Candidate<'_>, f: &CertFacts) -> (bool, QcKind, bool) {
    let qualified = qualified_by_tl(Some(c), f);
    let kind = kind_by_tl(Some(c), qualified, f);
    let qscd = qscd_by_tl(Some(c), qualified, f);
    (qualified, kind, qscd)
}

/// DSS `ServiceByCertificateTypeFilter`: for certificates issued after the eIDAS date, the
/// service's `AdditionalServiceInformation` must cover the certificate type (or a single
/// `QCFor…` qualifier overrules it).
fn type_acceptable(c: &Candidate<'_>, f: &CertFacts) -> bool {
    if !post_eidas(f.not_before) {
        return true;
    }
    let legal = c.q("QCForLegalPerson");
    let asi_esig = c.asi("ForeSignatures") && !legal;
    let asi_eseal = c.asi("ForeSeals");
    let asi_wsa = c.asi("ForWebSiteAuthentication");
    let q_eseal = c.q("QCForESeal");
    let q_wsa = c.q("QCForWSA");
    let q_esig = c.q("QCForESig") || (!q_eseal && !q_wsa && f.qc.compliance);
    let one = [q_esig, q_eseal, q_wsa].iter().filter(|b| **b).count() == 1;
    let over_esig = asi_esig && q_esig && one;
    let over_eseal = asi_eseal && q_eseal && one;
    let over_wsa = asi_wsa && q_wsa && one;
    match cert_kind(f) {
        QcKind::ESig => asi_esig || over_eseal || over_wsa,
        QcKind::ESeal => asi_eseal || over_esig || over_wsa,
        QcKind::Wsa => asi_wsa || over_eseal || over_esig,
        QcKind::Unknown => true,
    }
}

/// Matches a certificate against a `CriteriaList` (TS 119 612 §5.5.9.2.1). `None` when the
/// list uses criteria not understood here (then the qualification is not applied).
pub fn criteria_match(c: &CriteriaList, f: &CertFacts) -> Option<bool> {
    criteria_match_at(c, f, 0)
}

fn criteria_match_at(c: &CriteriaList, f: &CertFacts, depth: usize) -> Option<bool> {
    if depth > MAX_CRITERIA_DEPTH || !c.other_criteria.is_empty() {
        return None;
    }
    let mut results = Vec::new();
    for ku in &c.key_usage {
        results.push(ku.iter().all(|b| f.key_usage_bit(&b.name) == Some(b.value)));
    }
    for set in &c.policy_sets {
        results.push(set.iter().all(|p| f.qc.has_policy(p)));
    }
    if !c.extended_key_usage.is_empty() {
        results.push(
            c.extended_key_usage
                .iter()
                .all(|o| f.ext_key_usage.iter().any(|e| e == o)),
        );
    }
    if !c.cert_subject_dn_attributes.is_empty() {
        results.push(
            c.cert_subject_dn_attributes
                .iter()
                .all(|o| f.subject_attributes.iter().any(|e| e == o)),
        );
    }
    for n in &c.nested {
        results.push(criteria_match_at(n, f, depth + 1)?);
    }
    Some(match c.assert {
        Assert::All => results.iter().all(|r| *r),
        Assert::AtLeastOne => results.iter().any(|r| *r),
        Assert::None => !results.iter().any(|r| *r),
    })
}

fn candidate<'a>(
    m: &'a ServiceMatch,
    t: OffsetDateTime,
    f: &CertFacts,
    notes: &mut Vec<String>,
) -> Option<Candidate<'a>> {
    let st = m.status_at(t)?;
    let mut captured: Vec<&str> = Vec::new();
    for q in st.qualifications {
        match criteria_match(&q.criteria, f) {
            Some(true) => {
                for u in &q.qualifiers {
                    if !captured.contains(&u.as_str()) {
                        captured.push(u);
                    }
                }
            }
            Some(false) => {}
            None => notes.push(format!(
                "{} / {} / {}: a Qualifications CriteriaList uses criteria not understood \
                 here ({}); its qualifiers {:?} were not applied",
                m.territory,
                m.provider,
                st.name,
                q.criteria.other_criteria.join(", "),
                q.qualifiers
                    .iter()
                    .map(|u| last_segment(u))
                    .collect::<Vec<_>>()
            )),
        }
    }
    Some(Candidate { m, st, captured })
}

/// Services that cover the certificate: listing it or one of its issuers directly, or as
/// issuer. Deduplicated, direct matches of the certificate itself first.
fn covering_services(cert: &[u8], issuer_path: &[Der], registry: &Registry) -> Vec<ServiceMatch> {
    let mut out: Vec<ServiceMatch> = Vec::new();
    let all = std::iter::once(cert).chain(issuer_path.iter().take(MAX_PATH).map(Vec::as_slice));
    for c in all {
        for m in registry.services_for_certificate(c) {
            if !out.iter().any(|o| Arc::ptr_eq(&o.service, &m.service)) {
                out.push(m);
            }
        }
    }
    out
}

/// DSS `CertQualificationAtTimeBlock` at time `t`.
fn qualify_at(
    services: &[ServiceMatch],
    f: &CertFacts,
    t: OffsetDateTime,
    what: &str,
    findings: &mut Vec<String>,
) -> CertQualification {
    let mut reasons = Vec::new();
    if services.is_empty() {
        return CertQualification::not_applicable(vec![
            "no trusted-list service lists the certificate or one of its issuers".into(),
        ]);
    }
    let mut notes = Vec::new();
    let mut cands: Vec<Candidate<'_>> = services
        .iter()
        .filter_map(|m| candidate(m, t, f, &mut notes))
        .collect();
    findings.append(&mut notes);
    if cands.is_empty() {
        reasons.push(format!("no covering service was in force at {what}"));
    }
    // CA/QC services if any (else continue with the others, which cannot qualify).
    if cands.iter().any(Candidate::is_caqc) {
        cands.retain(Candidate::is_caqc);
    } else if !cands.is_empty() {
        reasons.push(format!("no CA/QC service covers the certificate at {what}"));
    }
    // Certificate type vs. AdditionalServiceInformation.
    let before = cands.len();
    cands.retain(|c| type_acceptable(c, f));
    if before > 0 && cands.is_empty() {
        reasons.push(format!(
            "no covering service at {what} is for this certificate type \
             (AdditionalServiceInformation)"
        ));
    }
    // Conflicts between the services in force.
    if cands.len() > 1 {
        let first = calculate(&cands[0], f);
        if cands.iter().skip(1).any(|c| calculate(c, f) != first) {
            let names: Vec<String> = cands.iter().map(Candidate::label).collect();
            let msg = format!(
                "services in force at {what} reach conflicting qualifications: {}",
                names.join("; ")
            );
            findings.push(msg.clone());
            reasons.push(msg);
            return CertQualification::not_applicable(reasons);
        }
    }
    cands.retain(Candidate::status_consistent);
    if cands.iter().any(Candidate::granted) {
        cands.retain(Candidate::granted);
    } else if let Some(c) = cands.first() {
        reasons.push(format!(
            "{} was not granted at {what} (status {} since {})",
            c.label(),
            last_segment(c.st.status_uri),
            c.st.since.date()
        ));
    }
    if cands.len() > 1 {
        let first = calculate(&cands[0], f);
        if cands.iter().skip(1).any(|c| calculate(c, f) != first) {
            reasons.push(format!("cannot select one service at {what}"));
            cands.clear();
        }
    }
    let selected = cands
        .into_iter()
        .next()
        .filter(|c| c.is_caqc() && c.granted());
    let service = selected.as_ref().map(Candidate::label);
    if let Some(c) = &selected {
        let q: Vec<&str> = c.captured.iter().map(|u| last_segment(u)).collect();
        reasons.push(format!(
            "granted CA/QC {} at {what}{}",
            c.label(),
            if q.is_empty() {
                String::new()
            } else {
                format!(", qualifiers {}", q.join(", "))
            }
        ));
    }
    let by_qc = selected.as_ref().filter(|c| c.qc_consistent());
    let qualified = qualified_by_tl(by_qc, f);
    let by_type = selected.as_ref().filter(|c| c.type_consistent());
    let kind = kind_by_tl(by_type, qualified, f);
    let by_qscd = selected.as_ref().filter(|c| c.qscd_consistent());
    let qscd = qscd_by_tl(by_qscd, qualified, f);
    if selected.is_some() && (by_qc.is_none() || by_type.is_none() || by_qscd.is_none()) {
        reasons.push("the selected service's qualifiers are not consistent".into());
    }
    reasons.push(format!(
        "{} {:?}{}",
        if qualified {
            "qualified"
        } else {
            "not qualified"
        },
        kind,
        if qscd { ", QSCD" } else { "" }
    ));
    CertQualification {
        qualified,
        kind,
        qscd: Some(qscd),
        service,
        reasons,
        determined: true,
    }
}

/// Qualification of `cert` at its issuance (`notBefore`) and at `signing_time`, from the
/// services of `registry` that list the certificate or one of `issuer_path` (its issuers up
/// to the anchor; may be empty).
pub fn qualify_certificate(
    cert: &[u8],
    issuer_path: &[Der],
    registry: &Registry,
    signing_time: OffsetDateTime,
) -> QualificationOutcome {
    let Some(f) = cert_facts(cert) else {
        let na = CertQualification::not_applicable(vec!["unreadable certificate".into()]);
        return QualificationOutcome {
            at_issuance: na.clone(),
            at_signing: na,
            findings: vec![Finding::new(
                "QUAL: certificate",
                "signing certificate",
                "the certificate cannot be read",
            )],
        };
    };
    let services = covering_services(cert, issuer_path, registry);
    let mut notes = Vec::new();
    let at_issuance = qualify_at(
        &services,
        &f,
        f.not_before,
        "certificate issuance",
        &mut notes,
    );
    let at_signing = qualify_at(&services, &f, signing_time, "signing time", &mut notes);
    notes.dedup();
    let object = format!("certificate {}", f.subject);
    QualificationOutcome {
        at_issuance,
        at_signing,
        findings: notes
            .into_iter()
            .map(|n| Finding::new("QUAL: trusted list", object.clone(), n))
            .collect(),
    }
}

/// Timestamp qualification as EU DSS decides it: `true` (QTSA) when a `TSA/QTST` service
/// listing the TSA certificate directly, or its issuer, was granted at `at` (the
/// `genTime`). The reasons also say whether the TSA certificate itself is a qualified
/// certificate (see [`qualify_tsa_certificate`]); that does not change the verdict.
pub fn qualify_timestamp(
    tsa_cert: &[u8],
    registry: &Registry,
    at: OffsetDateTime,
) -> (bool, Vec<String>) {
    let mut reasons = Vec::new();
    let found = qtst_granted(tsa_cert, registry, at, &mut reasons);
    if found.is_none() {
        reasons.push("no TSA/QTST service granted at the production time lists the TSA".into());
    }
    if found.is_some() && !cert_facts(tsa_cert).is_some_and(|f| cert_qualified(&f)) {
        reasons.push(
            "note: the TSA certificate carries no QcCompliance statement, so it is not a \
             qualified certificate (pyHanko: not qualified); the TSA/QTST listing alone makes \
             the timestamp qualified"
                .into(),
        );
    }
    (found.is_some(), reasons)
}

fn qtst_granted(
    tsa_cert: &[u8],
    registry: &Registry,
    at: OffsetDateTime,
    reasons: &mut Vec<String>,
) -> Option<ServiceMatch> {
    for m in registry.services_for_certificate(tsa_cert) {
        let Some(st) = m.status_at(at) else { continue };
        if st.type_suffix != "TSA/QTST" {
            continue;
        }
        let label = format!("{} / {} / {}", m.territory, m.provider, st.name);
        if granted(st.status_uri, st.since) {
            reasons.push(format!(
                "granted TSA/QTST {label} lists the TSA certificate {}",
                if m.direct { "directly" } else { "as issuer" }
            ));
            return Some(m);
        }
        reasons.push(format!(
            "TSA/QTST {label} was {} at the production time",
            last_segment(st.status_uri)
        ));
    }
    None
}

/// The TSA certificate as a certificate (pyHanko `check_entity_cert_qualified` on a TSA
/// unit): listed by a granted `TSA/QTST` service at `at`, and qualified by its own QC
/// statements (`QcCompliance`, no foreign `QcCClegislation`), with the type from `QcType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsaCertQualification {
    /// A granted TSA/QTST service lists the certificate (or its issuer) at `at`.
    pub listed_qtst: bool,
    /// The certificate is a qualified certificate (listed and QC-compliant).
    pub qualified: bool,
    /// Type from the certificate.
    pub kind: QcKind,
    /// Why.
    pub reasons: Vec<String>,
}

/// See [`TsaCertQualification`].
pub fn qualify_tsa_certificate(
    tsa_cert: &[u8],
    registry: &Registry,
    at: OffsetDateTime,
) -> TsaCertQualification {
    let mut reasons = Vec::new();
    let listed = qtst_granted(tsa_cert, registry, at, &mut reasons).is_some();
    let facts = cert_facts(tsa_cert);
    let qc = facts.as_ref().is_some_and(cert_qualified);
    if !qc {
        reasons.push("the certificate has no QcCompliance statement".into());
    }
    TsaCertQualification {
        listed_qtst: listed,
        qualified: listed && qc,
        kind: facts.as_ref().map_or(QcKind::Unknown, cert_kind),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::bootstrap::SignedDoc;
    use crate::trust::load::check_tl;
    use crate::trust::status::ListStatus;
    use crate::trust::tsl::{
        DigitalIdentities, KeyUsageBit, Qualification as TlQualification, STATUS_GRANTED,
        STATUS_WITHDRAWN, ServiceExtensions, ServiceHistoryEntry, TSLTYPE_EU_GENERIC, TrustService,
        TrustServiceProvider, TrustedList,
    };
    use crate::trust::xmldsig::DsigPolicy;
    use crate::validation::qcstatements::{
        OID_QC_COMPLIANCE, OID_QC_SSCD, OID_QC_TYPE, OID_QCT_ESEAL, OID_QCT_ESIGN,
        POLICY_QCP_PUBLIC_SSCD,
    };
    use der::Encode;
    use der::asn1::{Any, ObjectIdentifier};

    // ---- real lists --------------------------------------------------------------------

    fn data(rel: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    const LOTL_369: &str = "lotl/pyhanko/eu-lotl-old.seq369.v5.2025-07-31.xml";
    const BE_OLD: &str = "tl/pyhanko/tsl-be-old.seq74.2025-01-27.xml";
    const EE: &str = "tl/pyhanko/tsl-ee.seq68.2025-06-12.xml";

    /// A registry from one real national list whose signature is checked against the
    /// LOTL 369 pointer at `at` (valid or expired lists are used, as `load` does).
    fn real_registry(tl: &str, terr: &str, at: OffsetDateTime) -> Registry {
        let doc = SignedDoc::read(data(tl), &DsigPolicy::default()).expect("reads");
        let lotl = crate::trust::tsl::parse_bytes(&data(LOTL_369)).expect("lotl");
        let p = lotl
            .xml_pointers_for(terr)
            .find(|p| !p.is_list_of_lists())
            .expect("pointer");
        let (status, reason, _) = check_tl(p, &doc, at);
        assert!(
            matches!(status, ListStatus::Valid | ListStatus::Expired),
            "{tl}: {status:?} {reason:?}"
        );
        Registry::build([(terr, &doc.list, status != ListStatus::Valid)])
    }

    #[test]
    fn real_belgian_qcert_is_qesig() {
        let at = datetime!(2025-08-06 0:00 UTC);
        let reg = real_registry(BE_OLD, "BE", at);
        let cert = data("certs/pyhanko-real/real-qcert.cer");
        let out = qualify_certificate(&cert, &[], &reg, at);
        for q in [&out.at_issuance, &out.at_signing] {
            assert!(q.determined, "{q:?}");
            assert!(q.qualified, "{q:?}");
            assert_eq!(q.kind, QcKind::ESig, "{q:?}");
            assert_eq!(q.qscd, Some(true), "{q:?}");
            assert!(q.service.as_deref().is_some_and(|s| s.starts_with("BE / ")));
        }
        assert_eq!(
            out.conclude(Indication::TotalPassed),
            (Qualification::QESig, Some(true))
        );
        assert_eq!(
            out.conclude(Indication::Indeterminate).0,
            Qualification::NotAdesQcQscd
        );
    }

    #[test]
    fn real_belgian_qtst_cert_is_qualified_tsa() {
        let at = datetime!(2025-08-06 0:00 UTC);
        let reg = real_registry(BE_OLD, "BE", at);
        let cert = data("certs/pyhanko-real/real-qtst-cert.cer");
        let (q, reasons) = qualify_timestamp(&cert, &reg, at);
        assert!(q, "{reasons:?}");
        assert!(
            reasons.iter().any(|r| r.contains("directly")),
            "{reasons:?}"
        );
        let c = qualify_tsa_certificate(&cert, &reg, at);
        assert!(c.listed_qtst && c.qualified, "{c:?}");
        assert_eq!(c.kind, QcKind::ESeal);
        // Before the list knew it: not a QTSA.
        let (early, _) = qualify_timestamp(&cert, &reg, datetime!(2000-01-01 0:00 UTC));
        assert!(!early);
    }

    #[test]
    fn real_estonian_tsa_cert_lacking_qc_statements_is_not_a_qualified_cert() {
        let at = datetime!(2025-08-06 0:00 UTC);
        let reg = real_registry(EE, "EE", at);
        let cert = data("certs/pyhanko-real/real-misissued-qtst-cert.cer");
        // pyHanko test_conclude_not_qualified_qtst_lacking_qc_statements: listed as QTST
        // (directly), but the certificate is not qualified.
        let c = qualify_tsa_certificate(&cert, &reg, at);
        assert!(c.listed_qtst, "{c:?}");
        assert!(!c.qualified, "{c:?}");
        let out = qualify_certificate(&cert, &[], &reg, at);
        assert!(!out.at_signing.qualified, "{out:?}");
        assert!(!out.at_issuance.qualified, "{out:?}");
        // EU DSS decides timestamp qualification from the TSA/QTST listing alone.
        let (qtsa, reasons) = qualify_timestamp(&cert, &reg, at);
        assert!(qtsa, "{reasons:?}");
        assert!(
            reasons.iter().any(|r| r.contains("no QcCompliance")),
            "{reasons:?}"
        );
    }

    // ---- synthetic lists ---------------------------------------------------------------

    const SVC: &str = "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/";
    const CAQC: &str = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC";

    #[derive(der::Sequence)]
    struct St {
        id: ObjectIdentifier,
        info: Option<Any>,
    }

    #[derive(der::Sequence)]
    struct Pol {
        id: ObjectIdentifier,
    }

    fn oid(s: &str) -> ObjectIdentifier {
        ObjectIdentifier::new(s).unwrap()
    }

    fn qc_ext(compliance: bool, sscd: bool, types: &[&str]) -> Vec<u8> {
        let mut v = Vec::new();
        if compliance {
            v.push(St {
                id: oid(OID_QC_COMPLIANCE),
                info: None,
            });
        }
        if sscd {
            v.push(St {
                id: oid(OID_QC_SSCD),
                info: None,
            });
        }
        if !types.is_empty() {
            let t: Vec<ObjectIdentifier> = types.iter().map(|s| oid(s)).collect();
            v.push(St {
                id: oid(OID_QC_TYPE),
                info: Some(Any::encode_from(&t).unwrap()),
            });
        }
        v.to_der().unwrap()
    }

    fn arcs(s: &str) -> Vec<u64> {
        s.split('.').map(|p| p.parse().unwrap()).collect()
    }

    struct Pki {
        ca: Vec<u8>,
        issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    }

    fn pki(cn: &str) -> Pki {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, cn.to_string());
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
        p.not_before = datetime!(2010-01-01 0:00 UTC);
        p.not_after = datetime!(2040-01-01 0:00 UTC);
        let ca = p.self_signed(&key).unwrap().der().to_vec();
        Pki {
            ca,
            issuer: rcgen::Issuer::new(p, key),
        }
    }

    /// A signer certificate issued at `nb`, with the given QC statements DER and policies.
    fn leaf(pki: &Pki, nb: OffsetDateTime, qc: Option<Vec<u8>>, policies: &[&str]) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "Jane Signer");
        p.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::ContentCommitment,
        ];
        p.not_before = nb;
        p.not_after = datetime!(2035-01-01 0:00 UTC);
        if let Some(qc) = qc {
            p.custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &arcs("1.3.6.1.5.5.7.1.3"),
                    qc,
                ));
        }
        if !policies.is_empty() {
            let v: Vec<Pol> = policies.iter().map(|s| Pol { id: oid(s) }).collect();
            p.custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &arcs("2.5.29.32"),
                    v.to_der().unwrap(),
                ));
        }
        p.signed_by(&key, &pki.issuer).unwrap().der().to_vec()
    }

    fn crit_nonrep() -> CriteriaList {
        CriteriaList {
            assert: Assert::All,
            key_usage: vec![vec![KeyUsageBit {
                name: "nonRepudiation".into(),
                value: true,
            }]],
            policy_sets: vec![],
            nested: vec![],
            extended_key_usage: vec![],
            cert_subject_dn_attributes: vec![],
            other_criteria: vec![],
            description: None,
        }
    }

    fn qual(qualifiers: &[&str], criteria: CriteriaList) -> TlQualification {
        TlQualification {
            qualifiers: qualifiers.iter().map(|q| format!("{SVC}{q}")).collect(),
            criteria,
        }
    }

    fn ext(quals: Vec<TlQualification>, asi: &[&str]) -> ServiceExtensions {
        ServiceExtensions {
            qualifications: quals,
            additional_info: asi.iter().map(|a| format!("{SVC}{a}")).collect(),
            ..Default::default()
        }
    }

    fn service(
        ca: &[u8],
        status: &str,
        since: OffsetDateTime,
        extensions: ServiceExtensions,
        history: Vec<ServiceHistoryEntry>,
    ) -> TrustService {
        TrustService {
            type_uri: CAQC.into(),
            name: "Test QCA service".into(),
            status_uri: status.into(),
            status_start: since,
            identities: DigitalIdentities {
                certificates: vec![ca.to_vec()],
                ..Default::default()
            },
            supply_points: vec![],
            extensions,
            history,
        }
    }

    fn history(
        status: &str,
        since: OffsetDateTime,
        extensions: ServiceExtensions,
    ) -> ServiceHistoryEntry {
        ServiceHistoryEntry {
            type_uri: CAQC.into(),
            name: "Test QCA service".into(),
            status_uri: status.into(),
            status_start: since,
            identities: DigitalIdentities::default(),
            extensions,
        }
    }

    fn list(services: Vec<TrustService>) -> TrustedList {
        TrustedList {
            version: 5,
            sequence: 1,
            tsl_type: TSLTYPE_EU_GENERIC.into(),
            operator_name: "ZZ SB".into(),
            territory: "ZZ".into(),
            issued: datetime!(2024-01-01 0:00 UTC),
            next_update: None,
            status_determination_approach: String::new(),
            scheme_information_uris: vec![],
            community_rules: vec![],
            historical_information_period: None,
            pointers: vec![],
            providers: vec![TrustServiceProvider {
                name: "Test QTSP".into(),
                trade_names: vec![],
                information_uris: vec![],
                services,
            }],
            distribution_points: vec![],
            structure: vec![],
        }
    }

    fn registry(services: Vec<TrustService>) -> Registry {
        let l = list(services);
        Registry::build([("ZZ", &l, false)])
    }

    const GRANTED_SINCE: OffsetDateTime = datetime!(2016-07-01 0:00 UTC);
    const ISSUED: OffsetDateTime = datetime!(2023-01-01 0:00 UTC);
    const SIGNED: OffsetDateTime = datetime!(2025-06-01 0:00 UTC);

    fn qes_ext() -> ServiceExtensions {
        ext(
            vec![qual(&["QCWithQSCD", "QCForESig"], crit_nonrep())],
            &["ForeSignatures"],
        )
    }

    fn conclude(
        reg: &Registry,
        cert: &[u8],
        at: OffsetDateTime,
        ind: Indication,
    ) -> (Qualification, Option<bool>) {
        qualify_certificate(cert, &[], reg, at).conclude(ind)
    }

    #[test]
    fn qualified_esig_with_qscd_qualifier_is_qesig() {
        let p = pki("ZZ Test QCA");
        let reg = registry(vec![service(
            &p.ca,
            STATUS_GRANTED,
            GRANTED_SINCE,
            qes_ext(),
            vec![],
        )]);
        // Compliance + esign, no QcSSCD: QSCD comes from the TL qualifier.
        let cert = leaf(&p, ISSUED, Some(qc_ext(true, false, &[OID_QCT_ESIGN])), &[]);
        let out = qualify_certificate(&cert, &[], &reg, SIGNED);
        assert!(
            out.at_issuance.qualified && out.at_signing.qualified,
            "{out:?}"
        );
        assert_eq!(
            out.at_signing.service.as_deref(),
            Some("ZZ / Test QTSP / Test QCA service")
        );
        assert_eq!(
            out.conclude(Indication::TotalPassed),
            (Qualification::QESig, Some(true))
        );
        assert_eq!(
            out.conclude(Indication::Indeterminate).0,
            Qualification::NotAdesQcQscd
        );
        assert_eq!(
            out.conclude(Indication::TotalFailed).0,
            Qualification::NotAdesQcQscd
        );
        // The issuer path is accepted too (the CA is then listed directly).
        let out2 = qualify_certificate(&cert, std::slice::from_ref(&p.ca), &reg, SIGNED);
        assert_eq!(
            out2.conclude(Indication::TotalPassed).0,
            Qualification::QESig
        );
    }

    #[test]
    fn withdrawn_at_signing_time_is_no_longer_qualified() {
        let p = pki("ZZ Test QCA");
        let withdrawn = datetime!(2024-06-01 0:00 UTC);
        let reg = registry(vec![service(
            &p.ca,
            STATUS_WITHDRAWN,
            withdrawn,
            qes_ext(),
            vec![history(STATUS_GRANTED, GRANTED_SINCE, qes_ext())],
        )]);
        let cert = leaf(&p, ISSUED, Some(qc_ext(true, true, &[OID_QCT_ESIGN])), &[]);
        let out = qualify_certificate(&cert, &[], &reg, SIGNED);
        assert!(out.at_issuance.qualified, "{out:?}");
        assert!(!out.at_signing.qualified, "{out:?}");
        assert!(
            out.at_signing
                .reasons
                .iter()
                .any(|r| r.contains("withdrawn")),
            "{:?}",
            out.at_signing.reasons
        );
        // DSS: not QC at signing time → not QC; both ESig → AdESig.
        assert_eq!(
            out.conclude(Indication::TotalPassed),
            (Qualification::AdESig, Some(false))
        );
        assert_eq!(
            out.conclude(Indication::TotalFailed).0,
            Qualification::NotAdes
        );
        // Signed while still granted.
        assert_eq!(
            conclude(
                &reg,
                &cert,
                datetime!(2024-01-01 0:00 UTC),
                Indication::TotalPassed
            )
            .0,
            Qualification::QESig
        );
    }

    #[test]
    fn cert_without_qc_statements() {
        let p = pki("ZZ Test QCA");
        let reg = registry(vec![service(
            &p.ca,
            STATUS_GRANTED,
            GRANTED_SINCE,
            qes_ext(),
            vec![],
        )]);
        // No statement at all: not qualified, and the type is unknown (current DSS:
        // `TypeByCertificatePostEIDAS` needs QcCompliance or a QcType) → AdES?.
        let bare = leaf(&p, ISSUED, None, &[]);
        let out = qualify_certificate(&bare, &[], &reg, SIGNED);
        assert!(
            out.at_signing.determined && !out.at_signing.qualified,
            "{out:?}"
        );
        assert_eq!(
            out.conclude(Indication::TotalPassed),
            (Qualification::Ades, Some(false))
        );
        // QcType esign without QcCompliance: an AdESig.
        let typed = leaf(&p, ISSUED, Some(qc_ext(false, true, &[OID_QCT_ESIGN])), &[]);
        assert_eq!(
            conclude(&reg, &typed, SIGNED, Indication::TotalPassed).0,
            Qualification::AdESig
        );
        assert_eq!(
            conclude(&reg, &typed, SIGNED, Indication::Indeterminate).0,
            Qualification::NotAdes
        );
    }

    #[test]
    fn qcstatement_qualifier_overrides_certificate() {
        let p = pki("ZZ Test QCA");
        let e = ext(
            vec![qual(
                &["QCStatement", "QCWithQSCD", "QCForESig"],
                crit_nonrep(),
            )],
            &["ForeSignatures"],
        );
        let reg = registry(vec![service(
            &p.ca,
            STATUS_GRANTED,
            GRANTED_SINCE,
            e,
            vec![],
        )]);
        let bare = leaf(&p, ISSUED, None, &[]);
        let out = qualify_certificate(&bare, &[], &reg, SIGNED);
        assert!(out.at_signing.qualified, "{out:?}");
        assert_eq!(
            out.conclude(Indication::TotalPassed),
            (Qualification::QESig, Some(true))
        );
    }

    #[test]
    fn not_qualified_qualifier_selected_by_policy() {
        let p = pki("ZZ Test QCA");
        let by_policy = CriteriaList {
            assert: Assert::AtLeastOne,
            key_usage: vec![],
            policy_sets: vec![vec!["1.2.3.4.5".into()]],
            nested: vec![],
            extended_key_usage: vec![],
            cert_subject_dn_attributes: vec![],
            other_criteria: vec![],
            description: None,
        };
        let e = ext(
            vec![
                qual(&["QCWithQSCD"], crit_nonrep()),
                qual(&["NotQualified"], by_policy),
            ],
            &["ForeSignatures"],
        );
        let reg = registry(vec![service(
            &p.ca,
            STATUS_GRANTED,
            GRANTED_SINCE,
            e,
            vec![],
        )]);
        let qc = || Some(qc_ext(true, true, &[OID_QCT_ESIGN]));
        let hit = leaf(&p, ISSUED, qc(), &["1.2.3.4.5"]);
        assert_eq!(
            conclude(&reg, &hit, SIGNED, Indication::TotalPassed),
            (Qualification::AdESig, Some(false))
        );
        let miss = leaf(&p, ISSUED, qc(), &["1.2.3.4.6"]);
        assert_eq!(
            conclude(&reg, &miss, SIGNED, Indication::TotalPassed).0,
            Qualification::QESig
        );
    }

    #[test]
    fn seal_cert_under_signature_only_service() {
        let p = pki("ZZ Test QCA");
        let reg = registry(vec![service(
            &p.ca,
            STATUS_GRANTED,
            GRANTED_SINCE,
            ext(vec![], &["ForWebSiteAuthentication"]),
            vec![],
        )]);
        let seal = leaf(&p, ISSUED, Some(qc_ext(true, true, &[OID_QCT_ESEAL])), &[]);
        let out = qualify_certificate(&seal, &[], &reg, SIGNED);
        assert!(!out.at_signing.qualified, "{out:?}");
        assert_eq!(
            out.conclude(Indication::TotalPassed).0,
            Qualification::AdESeal
        );
        // DSS `ServiceByCertificateTypeFilter` reads TS 119 615 Table 1 as "a QcCompliance
        // certificate without QCFor… qualifier is for e-signatures" and so admits a seal
        // certificate under a ForeSignatures-only service; its type then stays ESeal.
        let esig_only = registry(vec![service(
            &p.ca,
            STATUS_GRANTED,
            GRANTED_SINCE,
            ext(vec![], &["ForeSignatures"]),
            vec![],
        )]);
        assert_eq!(
            conclude(&esig_only, &seal, SIGNED, Indication::TotalPassed).0,
            Qualification::QESeal
        );
        // A QCForESeal qualifier overrules the ASI.
        let reg2 = registry(vec![service(
            &p.ca,
            STATUS_GRANTED,
            GRANTED_SINCE,
            ext(
                vec![qual(&["QCForESeal"], crit_nonrep())],
                &["ForeSignatures", "ForeSeals"],
            ),
            vec![],
        )]);
        assert_eq!(
            conclude(&reg2, &seal, SIGNED, Indication::TotalPassed).0,
            Qualification::QESeal
        );
    }

    #[test]
    fn not_covered_is_not_applicable() {
        let p = pki("ZZ Test QCA");
        let other = pki("Unlisted CA");
        let reg = registry(vec![service(
            &p.ca,
            STATUS_GRANTED,
            GRANTED_SINCE,
            qes_ext(),
            vec![],
        )]);
        let cert = leaf(
            &other,
            ISSUED,
            Some(qc_ext(true, true, &[OID_QCT_ESIGN])),
            &[],
        );
        let out = qualify_certificate(&cert, &[], &reg, SIGNED);
        assert!(!out.at_signing.determined);
        assert_eq!(
            out.conclude(Indication::TotalPassed),
            (Qualification::NotApplicable, None)
        );
        assert_eq!(
            out.conclude(Indication::Indeterminate).0,
            Qualification::NotApplicable
        );
        assert_eq!(
            out.conclude(Indication::TotalFailed).0,
            Qualification::NotAdes
        );
        // Garbage never panics and is N/A.
        let out = qualify_certificate(b"\x30\x03\x02\x01\x00", &[], &reg, SIGNED);
        assert_eq!(
            out.conclude(Indication::TotalPassed).0,
            Qualification::NotApplicable
        );
    }

    #[test]
    fn conflicting_services_are_not_applicable() {
        let p = pki("ZZ Test QCA");
        let mut s2 = service(
            &p.ca,
            STATUS_GRANTED,
            GRANTED_SINCE,
            ext(
                vec![qual(&["NotQualified"], crit_nonrep())],
                &["ForeSignatures"],
            ),
            vec![],
        );
        s2.name = "Second service".into();
        let reg = registry(vec![
            service(&p.ca, STATUS_GRANTED, GRANTED_SINCE, qes_ext(), vec![]),
            s2,
        ]);
        let cert = leaf(&p, ISSUED, Some(qc_ext(true, true, &[OID_QCT_ESIGN])), &[]);
        let out = qualify_certificate(&cert, &[], &reg, SIGNED);
        assert!(!out.at_signing.determined, "{out:?}");
        assert!(!out.findings.is_empty());
        assert_eq!(
            out.conclude(Indication::TotalPassed).0,
            Qualification::NotApplicable
        );
    }

    #[test]
    fn pre_eidas_statuses_and_sscd_qualifiers() {
        let p = pki("ZZ Test QCA");
        let pre = ext(vec![qual(&["QCWithSSCD"], crit_nonrep())], &[]);
        let post = ext(
            vec![qual(&["QCWithSSCD", "QCWithQSCD"], crit_nonrep())],
            &["ForeSignatures"],
        );
        let reg = registry(vec![service(
            &p.ca,
            STATUS_GRANTED,
            GRANTED_SINCE,
            post,
            vec![history(
                "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/undersupervision",
                datetime!(2010-01-01 0:00 UTC),
                pre,
            )],
        )]);
        // Issued 2015 under the TS 101 456 QCP+ policy, no QC statements.
        let cert = leaf(
            &p,
            datetime!(2015-03-01 0:00 UTC),
            None,
            &[POLICY_QCP_PUBLIC_SSCD],
        );
        let out = qualify_certificate(&cert, &[], &reg, SIGNED);
        assert!(out.at_issuance.qualified, "{out:?}");
        assert_eq!(out.at_issuance.qscd, Some(true));
        assert_eq!(out.at_issuance.kind, QcKind::ESig);
        assert_eq!(
            out.conclude(Indication::TotalPassed),
            (Qualification::QESig, Some(true))
        );
        // "granted" before 2016-07-01 is not a pre-eIDAS status: not granted.
        let reg2 = registry(vec![service(
            &p.ca,
            STATUS_GRANTED,
            datetime!(2012-01-01 0:00 UTC),
            ext(vec![], &[]),
            vec![],
        )]);
        let out2 = qualify_certificate(&cert, &[], &reg2, datetime!(2015-06-01 0:00 UTC));
        assert!(!out2.at_signing.qualified, "{out2:?}");
    }

    #[test]
    fn criteria_list_asserts() {
        let p = pki("ZZ Test QCA");
        let cert = leaf(&p, ISSUED, None, &["1.2.3.4"]);
        let f = cert_facts(&cert).unwrap();
        assert_eq!(f.qc.policies, vec!["1.2.3.4".to_string()], "{f:?}");
        let mut c = crit_nonrep();
        assert_eq!(criteria_match(&c, &f), Some(true));
        c.key_usage[0][0].name = "keyCertSign".into();
        assert_eq!(criteria_match(&c, &f), Some(false));
        c.assert = Assert::None;
        assert_eq!(criteria_match(&c, &f), Some(true));
        c.assert = Assert::AtLeastOne;
        c.policy_sets = vec![vec!["1.2.3.4".into()]];
        assert_eq!(criteria_match(&c, &f), Some(true));
        c.policy_sets = vec![vec!["1.2.3.4".into(), "1.2.4.4".into()]];
        assert_eq!(criteria_match(&c, &f), Some(false));
        c.cert_subject_dn_attributes = vec!["2.5.4.3".into()];
        assert_eq!(criteria_match(&c, &f), Some(true));
        let mut outer = crit_nonrep();
        outer.nested = vec![c.clone()];
        assert_eq!(criteria_match(&outer, &f), Some(true));
        outer.nested[0].cert_subject_dn_attributes = vec!["2.5.4.97".into()];
        assert_eq!(criteria_match(&outer, &f), Some(false));
        outer.nested[0].other_criteria = vec!["{urn:x}QcStatementSet".into()];
        assert_eq!(criteria_match(&outer, &f), None);
        let mut empty = crit_nonrep();
        empty.key_usage.clear();
        assert_eq!(criteria_match(&empty, &f), Some(true));
        empty.assert = Assert::AtLeastOne;
        assert_eq!(criteria_match(&empty, &f), Some(false));
    }
}
