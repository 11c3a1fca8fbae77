//! Signing on behalf of a company, within one job: who in the job acts for which
//! organisation, asking `authority` whether a given signer may sign now, and the record of that
//! decision kept with the signature (and sealed into the signer's evidence).
//!
//! Owns: turning a job's signers into `authority::Participant`s (a signer who has signed counts
//! with the identity recorded at signing; one still waiting only with the national id the sender
//! gave), [`AuthorityRecord`] (the decision and every register answer byte-exact, as stored in
//! `signers.authority_json`), and the mapping of a decision to "may sign" or "may not".
//! Must not: know HTTP or SQL, or decide anything the register rule decides (`authority::rules`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::authority::{
    AuthorityKind, Decision, Participant, PersonClaim, RegisterClient, RegisterFacts,
};
use crate::identity::VerifiedIdentity;
use crate::jobs::machine::AuthorityProof;
use crate::jobs::model::{Job, SignerIdentifier, SignerStatus};
use crate::sealing::evidence::{RegisterSnapshot, RegisterSource};

/// The register evidence of one company signer's signature, as stored with the signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityRecord {
    pub orgnr: String,
    /// The organisation's name in the register, when it gave one.
    pub name: Option<String>,
    pub authority: AuthorityKind,
    /// `granted` or `awaiting_co_signers`.
    pub decision: String,
    /// The decision in words (register data only, never national ids).
    pub summary: String,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
    /// Every register answer read, byte-exact (base64), in the order read.
    pub sources: Vec<RecordSource>,
}

/// One register answer in an [`AuthorityRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSource {
    pub url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub retrieved_at: OffsetDateTime,
    pub media_type: String,
    /// The body as received, base64.
    pub body: String,
}

/// Why a stored record cannot be turned back into evidence.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("the stored authority record is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the stored authority record holds a body that is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
}

impl AuthorityRecord {
    fn new(
        facts: &RegisterFacts,
        kind: AuthorityKind,
        decision: &Decision,
        now: OffsetDateTime,
    ) -> Self {
        let snapshot = facts.snapshot_for(decision);
        AuthorityRecord {
            orgnr: facts.orgnr.clone(),
            name: facts.name().map(str::to_string),
            authority: kind,
            decision: decision.code().to_string(),
            summary: snapshot.summary.unwrap_or_default(),
            decided_at: now,
            sources: snapshot
                .sources
                .into_iter()
                .map(|s| RecordSource {
                    url: s.url,
                    retrieved_at: s.retrieved_at,
                    media_type: s.media_type,
                    body: B64.encode(&s.body),
                })
                .collect(),
        }
    }

    /// Parses a record stored in `signers.authority_json`.
    pub fn from_json(json: &str) -> Result<Self, RecordError> {
        Ok(serde_json::from_str(json)?)
    }

    /// The evidence record's register snapshot.
    pub fn snapshot(&self) -> Result<RegisterSnapshot, RecordError> {
        let sources = self
            .sources
            .iter()
            .map(|s| {
                Ok(RegisterSource {
                    url: s.url.clone(),
                    retrieved_at: s.retrieved_at,
                    media_type: s.media_type.clone(),
                    body: B64.decode(&s.body)?,
                })
            })
            .collect::<Result<Vec<_>, RecordError>>()?;
        Ok(RegisterSnapshot {
            orgnr: self.orgnr.clone(),
            summary: Some(self.summary.clone()),
            sources,
        })
    }
}

/// The job's signers acting for `orgnr` who have signed or may still sign, `subject` with the
/// identity it just logged in with.
pub fn participants(
    job: &Job,
    orgnr: &str,
    subject: &str,
    identity: &VerifiedIdentity,
) -> Vec<Participant> {
    job.signers
        .iter()
        .filter(|s| s.on_behalf_of.as_ref().is_some_and(|o| o.orgnr == orgnr))
        .filter(|s| matches!(s.status, SignerStatus::Waiting | SignerStatus::Signed))
        .map(|s| {
            if s.id == subject {
                return Participant {
                    signer_id: s.id.clone(),
                    person: PersonClaim::from_identity(identity),
                    verified: true,
                    signed: false,
                };
            }
            let recorded = (s.status == SignerStatus::Signed)
                .then_some(s.identity_json.as_deref())
                .flatten()
                .and_then(|j| serde_json::from_str::<VerifiedIdentity>(j).ok());
            match recorded {
                Some(id) => Participant {
                    signer_id: s.id.clone(),
                    person: PersonClaim::from_identity(&id),
                    verified: true,
                    signed: true,
                },
                None => Participant {
                    signer_id: s.id.clone(),
                    person: match &s.identifier {
                        SignerIdentifier::NationalId(n) => PersonClaim::from_national_id(n),
                        SignerIdentifier::EidasId(_) => PersonClaim::default(),
                    },
                    verified: false,
                    signed: false,
                },
            }
        })
        .collect()
}

/// What the register says about one company signer now.
#[derive(Debug, Clone)]
pub struct Check {
    pub orgnr: String,
    pub authority: AuthorityKind,
    /// The organisation's name, when the register answered.
    pub org_name: Option<String>,
    pub decision: Decision,
    /// Present when the signer may sign (granted, or awaiting co-signers in the job).
    pub proof: Option<AuthorityProof>,
}

impl Check {
    /// The event the sender gets when the signer may not sign, if any: `authority_incomplete`
    /// (a joint rule whose co-signers are missing from the job, with exactly which roles) or
    /// `authority_refused` (with the reason's code and text).
    pub fn sender_notice(&self) -> Option<(&'static str, serde_json::Value)> {
        match &self.decision {
            Decision::Granted { .. } | Decision::AwaitingCoSigners { .. } => None,
            Decision::MissingCoSigners { options } => Some((
                "authority_incomplete",
                serde_json::json!({
                    "orgnr": self.orgnr,
                    "authority": self.authority,
                    "reason": "missing_co_signers",
                    "missing": options.iter().map(|o| o.iter().map(|r| serde_json::json!({
                        "role": r.role_code,
                        "role_text": r.role_text,
                        "name": r.name,
                        "birth_date": r.birth_date.map(|d| d.to_string()),
                    })).collect::<Vec<_>>()).collect::<Vec<_>>(),
                }),
            )),
            Decision::NotGranted(r) => Some((
                "authority_refused",
                serde_json::json!({
                    "orgnr": self.orgnr,
                    "authority": self.authority,
                    "reason": r.code(),
                    "detail": r.to_string(),
                }),
            )),
        }
    }
}

/// Asks the registers whether signer `signer_id` of `job`, logged in as `identity`, may sign
/// for the organisation the sender named. `None` when the signer signs for themselves.
pub async fn check(
    client: &RegisterClient,
    job: &Job,
    signer_id: &str,
    identity: &VerifiedIdentity,
    now: OffsetDateTime,
) -> Option<Check> {
    let signer = job.signers.iter().find(|s| s.id == signer_id)?;
    let obo = signer.on_behalf_of.as_ref()?;
    let people = participants(job, &obo.orgnr, signer_id, identity);
    let (decision, facts) = client
        .decide(&obo.orgnr, obo.authority, &people, signer_id)
        .await;
    let proof = match (&decision, &facts) {
        (Decision::Granted { .. } | Decision::AwaitingCoSigners { .. }, Some(facts)) => {
            let record = AuthorityRecord::new(facts, obo.authority, &decision, now);
            serde_json::to_string(&record)
                .ok()
                .map(|record_json| AuthorityProof {
                    record_json,
                    decision: decision.code(),
                })
        }
        _ => None,
    };
    Some(Check {
        orgnr: obo.orgnr.clone(),
        authority: obo.authority,
        org_name: facts.as_ref().and_then(|f| f.name().map(str::to_string)),
        decision,
        proof,
    })
}
