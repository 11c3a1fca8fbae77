//! The evidence record of one signer: what the gateway witnessed, as an XML document in
//! our own versioned vocabulary (`urn:signgate:evidence:1`, schema and description in
//! `docs/evidence/`), sealed as XAdES by [`sign_record`].
//!
//! Owns: the record's content ([`EvidenceRecord`] — the job and its sender, every document's
//! size and SHA-256, the designated signer, the verified identity, the raw login evidence,
//! the consent action and time, client IP and user agent, an optional business-register
//! snapshot), building it from the job model ([`EvidenceRecord::for_signer`]) and writing
//! it ([`EvidenceRecord::to_xml`]: pure, every text escaped, characters XML 1.0 cannot carry
//! replaced by U+FFFD, raw login evidence and register responses base64-encoded so nothing in
//! them can alter the record's structure).
//!
//! Must not touch: signature construction (`sealing::xades`), job state, storage, fetching
//! register data (`authority` fills [`RegisterSnapshot`]), logging of personal data.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use time::OffsetDateTime;

use crate::identity::{IdpKind, VerifiedIdentity};
use crate::jobs::model::{Job, OnBehalfOf, SignerIdentifier, SignerStatus};
use crate::sealing::keys::SealKey;
use crate::sealing::ltv::LtvData;
use crate::sealing::tsa::Timestamper;
use crate::sealing::xades::{self, Level, XadesError};
use crate::trust::xmlsign::{escape_attr, escape_text};

/// The record's namespace; the trailing number is the vocabulary's major version.
pub const NAMESPACE: &str = "urn:signgate:evidence:1";
/// The `Version` attribute of the document element.
pub const VERSION: &str = "1";
/// Media type of the record (the XAdES `DataObjectFormat/MimeType`).
pub const MIME_TYPE: &str = "text/xml";
/// `DataObjectFormat/Description` of the signed record.
pub const DESCRIPTION: &str = "signgate signer evidence record (urn:signgate:evidence:1)";

/// Everything the gateway witnessed about one signer of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRecord {
    /// Public URL of the gateway that witnessed the ceremony, if configured.
    pub gateway: Option<String>,
    pub job: JobFacts,
    pub signer: SignerFacts,
    /// The identity the identity provider vouched for, with its raw login evidence
    /// (`evidence`: the id_token or the SAML assertion, written base64-encoded).
    pub identity: VerifiedIdentity,
    pub consent: Consent,
    /// Present when the signer acted on behalf of an organisation and the register was read.
    pub register: Option<RegisterSnapshot>,
}

/// The job as the sender created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFacts {
    pub id: String,
    pub title: String,
    /// The sender's own reference, if given.
    pub reference: Option<String>,
    pub created_at: OffsetDateTime,
    pub sender: Sender,
    /// In job order.
    pub documents: Vec<DocumentFacts>,
}

/// The organisation that sent the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub name: String,
    /// Norwegian organisation number (9 digits).
    pub orgnr: String,
}

/// One document of the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFacts {
    pub id: String,
    /// 0-based position in the job.
    pub position: u32,
    pub title: String,
    pub filename: Option<String>,
    /// Size in bytes of the original document.
    pub size: u64,
    /// SHA-256 of the original document bytes.
    pub sha256: [u8; 32],
}

/// The signer as the sender designated them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerFacts {
    pub id: String,
    /// 0-based position in the job.
    pub position: u32,
    pub designated: SignerIdentifier,
    pub on_behalf_of: Option<OnBehalfOf>,
}

/// What the signer did, when, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub action: ConsentAction,
    pub at: OffsetDateTime,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The signer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentAction {
    Signed,
    Rejected,
}

impl ConsentAction {
    /// The record's value: `signed` or `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentAction::Signed => "signed",
            ConsentAction::Rejected => "rejected",
        }
    }
}

/// The business-register responses that showed the signer may act for an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterSnapshot {
    /// The organisation acted for.
    pub orgnr: String,
    /// The rule applied and its outcome, in words (e.g. which role sufficed).
    pub summary: Option<String>,
    /// Every register response read, in the order read.
    pub sources: Vec<RegisterSource>,
}

/// One register response, kept byte-exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterSource {
    pub url: String,
    pub retrieved_at: OffsetDateTime,
    /// Media type of `body`, e.g. `application/json`.
    pub media_type: String,
    /// The response body as received (its SHA-256 is written next to it).
    pub body: Vec<u8>,
}

/// Why a record could not be built from the job model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("the job has no signer {0:?}")]
    UnknownSigner(String),
    #[error("signer {0:?} has no recorded identity")]
    NoIdentity(String),
    #[error("signer {signer:?}: the recorded identity is unreadable: {reason}")]
    Identity { signer: String, reason: String },
    #[error("signer {signer:?} has neither signed nor rejected (status {status})")]
    Undecided {
        signer: String,
        status: SignerStatus,
    },
    #[error("document {0:?}: the stored SHA-256 is not 64 hex digits")]
    Digest(String),
}

/// The kind of raw login evidence, from the identity provider that issued it.
fn login_kind(idp: IdpKind) -> (&'static str, &'static str) {
    match idp {
        IdpKind::Idporten => ("oidc-id-token", "application/jwt"),
        IdpKind::Eidas => ("saml-assertion", "application/samlassertion+xml"),
        IdpKind::Dev => ("other", "application/octet-stream"),
    }
}

fn idp_kind(idp: IdpKind) -> &'static str {
    match idp {
        IdpKind::Dev => "dev",
        IdpKind::Idporten => "idporten",
        IdpKind::Eidas => "eidas",
    }
}

impl EvidenceRecord {
    /// The record of signer `signer_id` of `job`, sent by `sender`: identity from the
    /// signer's recorded `identity_json`, consent from its status (`signed`/`rejected`),
    /// status time, client IP and user agent. `gateway` and `register` are left empty for
    /// the caller to set.
    pub fn for_signer(job: &Job, sender: Sender, signer_id: &str) -> Result<Self, EvidenceError> {
        let s = job
            .signers
            .iter()
            .find(|s| s.id == signer_id)
            .ok_or_else(|| EvidenceError::UnknownSigner(signer_id.to_string()))?;
        let action = match s.status {
            SignerStatus::Signed => ConsentAction::Signed,
            SignerStatus::Rejected => ConsentAction::Rejected,
            status => {
                return Err(EvidenceError::Undecided {
                    signer: s.id.clone(),
                    status,
                });
            }
        };
        let json = s
            .identity_json
            .as_deref()
            .ok_or_else(|| EvidenceError::NoIdentity(s.id.clone()))?;
        let identity: VerifiedIdentity =
            serde_json::from_str(json).map_err(|e| EvidenceError::Identity {
                signer: s.id.clone(),
                reason: e.to_string(),
            })?;
        let documents = job
            .documents
            .iter()
            .map(|d| {
                let mut sha256 = [0u8; 32];
                hex::decode_to_slice(&d.sha256, &mut sha256)
                    .map_err(|_| EvidenceError::Digest(d.id.clone()))?;
                Ok(DocumentFacts {
                    id: d.id.clone(),
                    position: d.position,
                    title: d.title.clone(),
                    filename: d.filename.clone(),
                    size: d.size,
                    sha256,
                })
            })
            .collect::<Result<Vec<_>, EvidenceError>>()?;
        Ok(EvidenceRecord {
            gateway: None,
            job: JobFacts {
                id: job.id.clone(),
                title: job.title.clone(),
                reference: job.reference.clone(),
                created_at: job.created_at,
                sender,
                documents,
            },
            signer: SignerFacts {
                id: s.id.clone(),
                position: s.position,
                designated: s.identifier.clone(),
                on_behalf_of: s.on_behalf_of.clone(),
            },
            identity,
            consent: Consent {
                action,
                at: s.status_at,
                client_ip: s.client_ip.clone(),
                user_agent: s.user_agent.clone(),
            },
            register: None,
        })
    }

    /// The record as an XML document (UTF-8, XML declaration, two-space indentation).
    pub fn to_xml(&self) -> String {
        let mut w = Writer::default();
        w.out
            .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        w.open_attrs(
            "EvidenceRecord",
            &[("xmlns", NAMESPACE), ("Version", VERSION)],
        );
        if let Some(g) = &self.gateway {
            w.leaf("Gateway", g);
        }

        let j = &self.job;
        w.open("Job");
        w.leaf("Id", &j.id);
        w.leaf("Title", &j.title);
        if let Some(r) = &j.reference {
            w.leaf("Reference", r);
        }
        w.leaf("CreatedAt", &datetime(j.created_at));
        w.open("Sender");
        w.leaf("Name", &j.sender.name);
        w.leaf("OrganisationNumber", &j.sender.orgnr);
        w.close("Sender");
        w.open("Documents");
        for d in &j.documents {
            w.open_attrs("Document", &[("Position", &d.position.to_string())]);
            w.leaf("Id", &d.id);
            w.leaf("Title", &d.title);
            if let Some(f) = &d.filename {
                w.leaf("Filename", f);
            }
            w.leaf("Size", &d.size.to_string());
            w.leaf("Sha256", &hex::encode(d.sha256));
            w.close("Document");
        }
        w.close("Documents");
        w.close("Job");

        let s = &self.signer;
        w.open("Signer");
        w.leaf("Id", &s.id);
        w.leaf("Position", &s.position.to_string());
        w.leaf_attrs(
            "DesignatedIdentifier",
            &[("Kind", s.designated.kind())],
            &s.designated.value(),
        );
        if let Some(o) = &s.on_behalf_of {
            w.open("OnBehalfOf");
            w.leaf("OrganisationNumber", &o.orgnr);
            w.leaf("Authority", o.authority.as_str());
            w.close("OnBehalfOf");
        }
        w.close("Signer");

        let i = &self.identity;
        w.open("VerifiedIdentity");
        if let Some(n) = &i.national_id {
            w.leaf("NationalId", n);
        }
        if let Some(e) = &i.eidas_id {
            w.leaf("EidasId", e);
        }
        w.leaf("Name", &i.name);
        if let Some(d) = &i.date_of_birth {
            w.leaf("DateOfBirth", d);
        }
        w.leaf("LevelOfAssurance", i.loa.as_str());
        w.open_attrs("IdentityProvider", &[("Kind", idp_kind(i.idp))]);
        w.leaf("Issuer", &i.issuer);
        w.close("IdentityProvider");
        w.leaf("AuthenticationTime", &datetime(i.auth_time));
        w.close("VerifiedIdentity");

        if let Some(raw) = &i.evidence {
            let (kind, media) = login_kind(i.idp);
            w.base64(
                "LoginEvidence",
                &[("Type", kind), ("MediaType", media)],
                raw.as_bytes(),
            );
        }

        let c = &self.consent;
        w.open("Consent");
        w.leaf("Action", c.action.as_str());
        w.leaf("Time", &datetime(c.at));
        if let Some(ip) = &c.client_ip {
            w.leaf("ClientIp", ip);
        }
        if let Some(ua) = &c.user_agent {
            w.leaf("UserAgent", ua);
        }
        w.close("Consent");

        if let Some(r) = &self.register {
            w.open("BusinessRegisterSnapshot");
            w.leaf("OrganisationNumber", &r.orgnr);
            if let Some(sum) = &r.summary {
                w.leaf("Summary", sum);
            }
            for src in &r.sources {
                w.open("Source");
                w.leaf("Url", &src.url);
                w.leaf("RetrievedAt", &datetime(src.retrieved_at));
                w.leaf(
                    "Sha256",
                    &hex::encode(aws_lc_rs::digest::digest(
                        &aws_lc_rs::digest::SHA256,
                        &src.body,
                    )),
                );
                w.base64("Content", &[("MediaType", &src.media_type)], &src.body);
                w.close("Source");
            }
            w.close("BusinessRegisterSnapshot");
        }
        w.close("EvidenceRecord");
        w.out
    }
}

/// Seals `record` as a XAdES signature by `key` at `level` (normally
/// [`Level::Lt`] or [`Level::Lta`]): timestamps from `tsa`, validation data from `ltv`
/// (which should cover the seal chain and the TSA's certificates; see
/// [`xades::XadesSignature::validation_certificates`]). Returns the signed XML bytes, the
/// blob served at `GET /api/v1/jobs/{id}/signers/{sid}/xades`.
pub async fn sign_record(
    record: &EvidenceRecord,
    key: &SealKey,
    tsa: &dyn Timestamper,
    ltv: &LtvData,
    signing_time: OffsetDateTime,
    level: Level,
) -> Result<Vec<u8>, XadesError> {
    let xml = record.to_xml();
    let opts = xades::Options {
        signing_time,
        mime_type: MIME_TYPE,
        description: Some(DESCRIPTION),
    };
    let mut sig = xades::sign(&xml, key, &opts)?;
    if level >= Level::T {
        sig.add_signature_timestamp(tsa).await?;
    }
    if level >= Level::Lt {
        sig.add_validation_data(ltv)?;
    }
    if level >= Level::Lta {
        sig.add_archive_timestamp(tsa).await?;
    }
    Ok(sig.to_xml().into_bytes())
}

/// Seals `record` as XAdES-BASELINE-LTA the way the pipeline does: sign, signature timestamp
/// from `tsa`, then validation data gathered live by `ltv` for the seal certificate and the
/// signature timestamp's TSA (paths to `roots`; a revoked, unknown or unverifiable status
/// fails closed), then the archive timestamp.
pub async fn seal_record(
    record: &EvidenceRecord,
    key: &SealKey,
    tsa: &dyn Timestamper,
    ltv: &crate::sealing::ltv::LtvFetcher,
    roots: &[Vec<u8>],
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>, XadesError> {
    use crate::sealing::ltv::{Target, Usage, token_signer};
    use crate::validation::crypto::DigestAlg;
    let xml = record.to_xml();
    let opts = xades::Options {
        signing_time,
        mime_type: MIME_TYPE,
        description: Some(DESCRIPTION),
    };
    let mut sig = xades::sign(&xml, key, &opts)?;
    let imprint = sig.signature_timestamp_imprint()?;
    let token = tsa.timestamp(DigestAlg::Sha256, &imprint).await?;
    sig.add_signature_timestamp_token(&token)?;
    let (tsa_cert, _) = token_signer(&token)?;
    let pool = sig.validation_certificates();
    let targets = [
        Target {
            cert: key.leaf_der(),
            usage: Usage::Signature,
        },
        Target {
            cert: &tsa_cert,
            usage: Usage::Timestamping,
        },
    ];
    let data = ltv.collect(&targets, &pool, roots).await?;
    sig.add_validation_data(&data)?;
    sig.add_archive_timestamp(tsa).await?;
    Ok(sig.to_xml().into_bytes())
}

/// `xsd:dateTime` in UTC with the fraction of a second when there is one.
fn datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Characters XML 1.0 cannot carry (C0 controls other than tab, LF, CR; U+FFFE, U+FFFF)
/// become U+FFFD.
fn xml_chars(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        (c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    };
    if s.chars().any(bad) {
        s.chars()
            .map(|c| if bad(c) { '\u{FFFD}' } else { c })
            .collect::<String>()
            .into()
    } else {
        s.into()
    }
}

/// A small indenting writer for the record's fixed vocabulary (names are constants of
/// this module; every value goes through the escapers).
#[derive(Default)]
struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            self.out.push_str(&escape_attr(&xml_chars(v)));
            self.out.push('"');
        }
        self.out.push('>');
    }

    fn open(&mut self, name: &str) {
        self.open_attrs(name, &[]);
    }

    fn open_attrs(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.out.push('\n');
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.leaf_attrs(name, &[], text);
    }

    fn leaf_attrs(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.start_tag(name, attrs);
        self.out.push_str(&escape_text(&xml_chars(text)));
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// Base64 of `bytes` in lines of 76 characters, each on its own line.
    fn base64(&mut self, name: &str, attrs: &[(&str, &str)], bytes: &[u8]) {
        self.start_tag(name, attrs);
        self.out.push('\n');
        let b64 = B64.encode(bytes);
        for line in b64.as_bytes().chunks(76) {
            // base64 output is ASCII.
            self.out
                .push_str(std::str::from_utf8(line).unwrap_or_default());
            self.out.push('\n');
        }
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::model::Loa;
    use time::macros::datetime;

    fn record() -> EvidenceRecord {
        EvidenceRecord {
            gateway: Some("https://signgate.example".into()),
            job: JobFacts {
                id: "job-1".into(),
                title: "Avtale <A & B> \"quoted\" ]]> \u{1}ctl".into(),
                reference: None,
                created_at: datetime!(2025-03-01 10:00:00.25 UTC),
                sender: Sender {
                    name: "Demo kommune".into(),
                    orgnr: "991825827".into(),
                },
                documents: vec![DocumentFacts {
                    id: "doc-1".into(),
                    position: 0,
                    title: "Kontrakt".into(),
                    filename: Some("kontrakt.pdf".into()),
                    size: 1234,
                    sha256: [0xab; 32],
                }],
            },
            signer: SignerFacts {
                id: "s-1".into(),
                position: 0,
                designated: SignerIdentifier::NationalId("13097248022".into()),
                on_behalf_of: None,
            },
            identity: VerifiedIdentity {
                idp: IdpKind::Eidas,
                issuer: "https://eidas.example/idp".into(),
                national_id: None,
                eidas_id: Some("SE/NO/199001011234".into()),
                name: "Åsa Öberg".into(),
                date_of_birth: Some("1990-01-01".into()),
                loa: Loa::High,
                auth_time: datetime!(2025-03-01 10:05:00 +01:00),
                evidence: Some("<saml:Assertion>a < b & ]]></saml:Assertion>".into()),
            },
            consent: Consent {
                action: ConsentAction::Signed,
                at: datetime!(2025-03-01 10:06:00 UTC),
                client_ip: Some("203.0.113.7".into()),
                user_agent: Some("Mozilla/5.0 \"x\" <y>".into()),
            },
            register: None,
        }
    }

    #[test]
    fn writes_escaped_wellformed_xml() {
        let xml = record().to_xml();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().namespace(), Some(NAMESPACE));
        assert_eq!(root.attribute("Version"), Some("1"));
        let title = doc
            .descendants()
            .find(|n| n.has_tag_name((NAMESPACE, "Title")))
            .unwrap();
        assert_eq!(
            title.text(),
            Some("Avtale <A & B> \"quoted\" ]]> \u{FFFD}ctl")
        );
        // Times in UTC; fraction only when there is one.
        assert!(xml.contains("<CreatedAt>2025-03-01T10:00:00.25Z</CreatedAt>"));
        assert!(xml.contains("<AuthenticationTime>2025-03-01T09:05:00Z</AuthenticationTime>"));
        // The raw assertion appears only base64-encoded.
        assert!(!xml.contains("saml:Assertion"));
        let ev = doc
            .descendants()
            .find(|n| n.has_tag_name((NAMESPACE, "LoginEvidence")))
            .unwrap();
        assert_eq!(ev.attribute("Type"), Some("saml-assertion"));
        let b64: String = ev
            .text()
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        assert_eq!(
            B64.decode(b64).unwrap(),
            b"<saml:Assertion>a < b & ]]></saml:Assertion>"
        );
        assert!(xml.contains(&format!("<Sha256>{}</Sha256>", "ab".repeat(32))));
    }

    #[test]
    fn register_sources_carry_their_digest() {
        let mut r = record();
        r.register = Some(RegisterSnapshot {
            orgnr: "974760673".into(),
            summary: Some("daglig leder signs alone".into()),
            sources: vec![RegisterSource {
                url: "https://data.brreg.no/enhetsregisteret/api/enheter/974760673/roller".into(),
                retrieved_at: datetime!(2025-03-01 10:05:30 UTC),
                media_type: "application/json".into(),
                body: b"{\"rollegrupper\":[]}".to_vec(),
            }],
        });
        let xml = r.to_xml();
        let want = hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            b"{\"rollegrupper\":[]}",
        ));
        assert!(xml.contains(&format!("<Sha256>{want}</Sha256>")));
        assert!(xml.contains("<Content MediaType=\"application/json\">"));
    }

    #[test]
    fn built_from_the_job_model() {
        use crate::jobs::model::{Document, Job, JobKind, JobStatus, Redirects, Signer};
        let r = record();
        let signer = |id: &str, status, identity: Option<String>| Signer {
            id: id.into(),
            position: 1,
            identifier: SignerIdentifier::EidasId("SE/NO/199001011234".into()),
            on_behalf_of: Some(OnBehalfOf {
                orgnr: "974760673".into(),
                authority: crate::authority::AuthorityKind::Signature,
            }),
            email: None,
            mobile: None,
            lang: crate::jobs::model::Language::Nb,
            order: 0,
            co_signer_of: None,
            status,
            status_at: datetime!(2025-03-01 10:06:00 UTC),
            identity_json: identity,
            client_ip: Some("192.0.2.1".into()),
            user_agent: Some("UA".into()),
            authority_json: None,
        };
        let json = serde_json::to_string(&r.identity).unwrap();
        let mut job = Job {
            id: "job-1".into(),
            org_id: "org-1".into(),
            title: "Avtale".into(),
            nonsensitive_title: None,
            kind: JobKind::Portal,
            status: JobStatus::Completed,
            required_loa: Loa::Substantial,
            reference: Some("ref".into()),
            callback_url: None,
            redirect: Redirects::default(),
            created_at: datetime!(2025-03-01 09:00:00 UTC),
            expires_at: datetime!(2025-03-31 09:00:00 UTC),
            completed_at: None,
            signers: vec![
                signer("s-1", SignerStatus::Rejected, Some(json.clone())),
                signer("s-2", SignerStatus::Waiting, None),
                signer("s-3", SignerStatus::Signed, None),
            ],
            documents: vec![Document {
                id: "doc-1".into(),
                position: 0,
                title: "Kontrakt".into(),
                filename: None,
                size: 10,
                sha256: "ab".repeat(32),
                pages: 1,
                blob_key: "k".into(),
            }],
        };
        let sender = || Sender {
            name: "Demo kommune".into(),
            orgnr: "991825827".into(),
        };
        let rec = EvidenceRecord::for_signer(&job, sender(), "s-1").unwrap();
        assert_eq!(rec.consent.action, ConsentAction::Rejected);
        assert_eq!(rec.consent.at, datetime!(2025-03-01 10:06:00 UTC));
        assert_eq!(rec.consent.client_ip.as_deref(), Some("192.0.2.1"));
        assert_eq!(rec.consent.user_agent.as_deref(), Some("UA"));
        assert_eq!(rec.identity, r.identity);
        assert_eq!(rec.job.documents[0].sha256, [0xab; 32]);
        assert_eq!(rec.signer.on_behalf_of.as_ref().unwrap().orgnr, "974760673");
        assert_eq!(rec.job.reference.as_deref(), Some("ref"));
        assert!(matches!(
            EvidenceRecord::for_signer(&job, sender(), "s-2"),
            Err(EvidenceError::Undecided { .. })
        ));
        assert!(matches!(
            EvidenceRecord::for_signer(&job, sender(), "s-3"),
            Err(EvidenceError::NoIdentity(_))
        ));
        assert!(matches!(
            EvidenceRecord::for_signer(&job, sender(), "s-9"),
            Err(EvidenceError::UnknownSigner(_))
        ));
        job.documents[0].sha256 = "zz".into();
        assert!(matches!(
            EvidenceRecord::for_signer(&job, sender(), "s-1"),
            Err(EvidenceError::Digest(_))
        ));
    }
}
