//! The ETSI TS 119 102-2 validation report (XML, namespace `http://uri.etsi.org/19102/v1.4.1#`)
//! rendered from a [`Report`]: per signature its identifier, validation and best-signature
//! time, signing time, signer, qualification, main and sub-indication URNs and the
//! certificate chain, plus the validation objects (certificates, timestamps) they refer to.
//!
//! Owns: the XML shape and the URN spellings. Must not touch: any validation decision.

use std::fmt::Write as _;

use base64::Engine as _;

use super::report::{Indication, Report};

const NS: &str = "http://uri.etsi.org/19102/v1.4.1#";
const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

fn t(x: &time::OffsetDateTime) -> String {
    x.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(*x)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn main_indication(i: Indication) -> &'static str {
    match i {
        Indication::TotalPassed => "urn:etsi:019102:mainindication:total-passed",
        Indication::TotalFailed => "urn:etsi:019102:mainindication:total-failed",
        Indication::Indeterminate => "urn:etsi:019102:mainindication:indeterminate",
    }
}

/// Same indications for timestamps, which TS 119 102-2 words as passed/failed.
fn ts_indication(i: Indication) -> &'static str {
    match i {
        Indication::TotalPassed => "urn:etsi:019102:mainindication:passed",
        Indication::TotalFailed => "urn:etsi:019102:mainindication:failed",
        Indication::Indeterminate => "urn:etsi:019102:mainindication:indeterminate",
    }
}

fn digest(hex_sha256: &str) -> String {
    let bytes = hex::decode(hex_sha256).unwrap_or_default();
    format!(
        "<DigestAlgAndValue><ds:DigestMethod Algorithm=\"{SHA256}\"/><ds:DigestValue>{}</ds:DigestValue></DigestAlgAndValue>",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

impl Report {
    /// The ETSI TS 119 102-2 validation report.
    pub fn to_etsi_xml(&self) -> String {
        let mut x = String::new();
        let _ = write!(
            x,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ValidationReport xmlns=\"{NS}\" xmlns:ds=\"{DS}\">\n"
        );
        let mut objects: Vec<(String, String, String)> = Vec::new(); // (id, type, digest xml)
        for sig in &self.signatures {
            x.push_str("  <SignatureValidationReport>\n");
            let _ = writeln!(
                x,
                "    <SignatureIdentifier id=\"S-{}\"><HashOnly>false</HashOnly><DocHashOnly>false</DocHashOnly></SignatureIdentifier>",
                esc(&sig.id)
            );
            let _ = write!(
                x,
                "    <ValidationTimeInfo><ValidationTime>{}</ValidationTime>",
                t(&self.validation_time)
            );
            if let Some(b) = &sig.best_signature_time {
                let _ = write!(
                    x,
                    "<BestSignatureTime><POETime>{}</POETime><TypeOfProof>urn:etsi:019102:poetype:validation</TypeOfProof></BestSignatureTime>",
                    t(b)
                );
            }
            x.push_str("</ValidationTimeInfo>\n");
            if let Some(st) = &sig.signing_time {
                let _ = writeln!(
                    x,
                    "    <SignatureAttributes><SigningTime Signed=\"true\"><Time>{}</Time></SigningTime></SignatureAttributes>",
                    t(st)
                );
            }
            if let Some(first) = sig.certificate_chain.first() {
                let _ = writeln!(
                    x,
                    "    <SignerInformation><SignerCertificate VOReference=\"C-{}\"/><Signer>{}</Signer></SignerInformation>",
                    first.sha256.to_uppercase(),
                    esc(sig.signer.as_deref().unwrap_or(&first.subject))
                );
            }
            let _ = writeln!(
                x,
                "    <SignatureQuality><SignatureQualityInformation>urn:cef:dss:signatureQualification:{}</SignatureQualityInformation></SignatureQuality>",
                esc(sig.qualification.as_str())
            );
            let _ = writeln!(
                x,
                "    <SignatureValidationProcess><SignatureValidationProcessID>{}</SignatureValidationProcessID></SignatureValidationProcess>",
                if sig
                    .timestamps
                    .iter()
                    .any(|t| t.kind == "archive" || t.kind == "document")
                {
                    "urn:etsi:019102:validationprocess:LTA"
                } else if sig.timestamps.is_empty() {
                    "urn:etsi:019102:validationprocess:Basic"
                } else {
                    "urn:etsi:019102:validationprocess:LTVM"
                }
            );
            let _ = write!(
                x,
                "    <SignatureValidationStatus><MainIndication>{}</MainIndication>",
                main_indication(sig.indication)
            );
            if let Some(sub) = sig.sub_indication {
                let _ = write!(
                    x,
                    "<SubIndication>urn:etsi:019102:subindication:{}</SubIndication>",
                    sub.as_str()
                );
            }
            if !sig.certificate_chain.is_empty() {
                x.push_str("<AssociatedValidationReportData>");
                let last = sig.certificate_chain.len() - 1;
                if let Some(a) = sig
                    .certificate_chain
                    .last()
                    .filter(|c| c.trust_anchor.is_some())
                {
                    let _ = write!(
                        x,
                        "<TrustAnchor VOReference=\"C-{}\"/>",
                        a.sha256.to_uppercase()
                    );
                }
                x.push_str("<CertificateChain>");
                for (i, c) in sig.certificate_chain.iter().enumerate() {
                    let el = if i == 0 {
                        "SigningCertificate"
                    } else if i == last && c.trust_anchor.is_some() {
                        "TrustAnchor"
                    } else {
                        "IntermediateCertificate"
                    };
                    let id = format!("C-{}", c.sha256.to_uppercase());
                    let _ = write!(x, "<{el} VOReference=\"{id}\"/>");
                    if !objects.iter().any(|o| o.0 == id) {
                        objects.push((id, "certificate".into(), digest(&c.sha256)));
                    }
                }
                x.push_str("</CertificateChain></AssociatedValidationReportData>");
            }
            x.push_str("</SignatureValidationStatus>\n");
            x.push_str("  </SignatureValidationReport>\n");
        }
        x.push_str("  <SignatureValidationObjects>\n");
        for (id, ty, dig) in &objects {
            let _ = writeln!(
                x,
                "    <ValidationObject id=\"{}\"><ObjectType>urn:etsi:019102:validationObject:{ty}</ObjectType><ValidationObjectRepresentation>{dig}</ValidationObjectRepresentation></ValidationObject>",
                esc(id)
            );
        }
        for sig in &self.signatures {
            for ts in &sig.timestamps {
                let _ = write!(
                    x,
                    "    <ValidationObject id=\"T-{}\"><ObjectType>urn:etsi:019102:validationObject:timestamp</ObjectType><POE><POETime>{}</POETime><TypeOfProof>urn:etsi:019102:poetype:validation</TypeOfProof></POE><ValidationReport><SignatureValidationStatus><MainIndication>{}</MainIndication>",
                    esc(&ts.id),
                    t(&ts.production_time),
                    ts_indication(ts.indication)
                );
                if let Some(sub) = ts.sub_indication {
                    let _ = write!(
                        x,
                        "<SubIndication>urn:etsi:019102:subindication:{}</SubIndication>",
                        sub.as_str()
                    );
                }
                x.push_str("</SignatureValidationStatus></ValidationReport></ValidationObject>\n");
            }
        }
        x.push_str("  </SignatureValidationObjects>\n");
        x.push_str("  <SignatureValidator><DigitalId><ds:X509SubjectName>signgate</ds:X509SubjectName></DigitalId></SignatureValidator>\n");
        x.push_str("</ValidationReport>\n");
        x
    }
}

#[cfg(test)]
mod tests {
    use super::super::report::*;
    use time::macros::datetime;

    #[test]
    fn etsi_report_is_well_formed_and_uses_the_urns() {
        let r = Report {
            validation_time: datetime!(2026-11-28 12:00 UTC),
            policy: "p".into(),
            document: None,
            signatures: vec![SignatureReport {
                id: "Sig<1>".into(),
                format: "PAdES-BASELINE-B".into(),
                indication: Indication::Indeterminate,
                sub_indication: Some(SubIndication::NoCertificateChainFound),
                qualification: Qualification::NotAdes,
                qscd: None,
                signer: Some("Ålice & Bob".into()),
                signing_time: Some(datetime!(2026-11-27 12:00 UTC)),
                best_signature_time: Some(datetime!(2026-11-28 12:00 UTC)),
                scope: None,
                certificate_chain: vec![CertSummary {
                    subject: "CN=A".into(),
                    issuer: "CN=B".into(),
                    serial: "01".into(),
                    sha256: "ab".repeat(32),
                    not_before: datetime!(2026-01-01 0:00 UTC),
                    not_after: datetime!(2027-01-01 0:00 UTC),
                    trust_anchor: None,
                    revocation: None,
                }],
                timestamps: vec![],
                errors: vec![],
                warnings: vec![],
            }],
            warnings: vec![],
        };
        let xml = r.to_etsi_xml();
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "ValidationReport");
        assert_eq!(root.tag_name().namespace(), Some(super::NS));
        assert!(xml.contains("urn:etsi:019102:mainindication:indeterminate"));
        assert!(xml.contains("urn:etsi:019102:subindication:NO_CERTIFICATE_CHAIN_FOUND"));
        assert!(xml.contains("Ålice &amp; Bob"));
        assert!(xml.contains("S-Sig&lt;1&gt;"));
        let vo = doc
            .descendants()
            .filter(|n| n.has_tag_name((super::NS, "ValidationObject")))
            .count();
        assert_eq!(vo, 1);
    }
}
