//! Signing on behalf of a company, within one job: who in the job acts for which
//! organisation, asking `authority` whether a given signer may sign now, and the record of that
//! decision kept with the signature (and sealed into the signer's evidence).
//!
//! Owns: turning a job's signers into `authority::Participant`s (a signer who has signed counts
//! with the identity recorded at signing; one still waiting only with the designation the sender
//! gave: a national id's birth date, or a register person's birth date and name),
//! [`AuthorityRecord`] (the decision and every register answer byte-exact, as stored in
//! `signers.authority_json`), the mapping of a decision to "may sign" or "may not", and the
//! sender's add-on ([`add_co_signers`]): completing a signer's joint authority with the missing
//! holders of signing authority from the register, designated and notified.
//! Must not: know HTTP or SQL, or decide anything the register rule decides (`authority::rules`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::authority::{
    AuthorityError, AuthorityKind, Completion, Decision, Participant, PersonClaim, RegisterClient,
    RegisterFacts, RegisterPerson, name_tokens, names_match,
};
use crate::identity::VerifiedIdentity;
use crate::jobs::machine::{AuthorityProof, Refusal as JobRefusal};
use crate::jobs::model::{
    CoSignerOf, Job, JobStatus, Language, OnBehalfOf, RegisterPersonId, Signer, SignerIdentifier,
    SignerStatus, format_date, parse_date,
};
use crate::jobs::service::{JobError, JobService};
use crate::notify::contact::{self, ContactError};
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
                None => designated(s),
            }
        })
        .collect()
}

/// A signer who has not signed, as the sender designated them.
fn designated(s: &Signer) -> Participant {
    Participant {
        signer_id: s.id.clone(),
        person: match &s.identifier {
            SignerIdentifier::NationalId(n) => PersonClaim::from_national_id(n),
            SignerIdentifier::EidasId(_) => PersonClaim::default(),
            SignerIdentifier::RegisterPerson(p) => PersonClaim {
                national_id: None,
                birth_date: Some(p.birth_date),
                name: Some(p.name.clone()),
            },
        },
        verified: false,
        signed: false,
    }
}

/// The job's signers acting for `orgnr` as the sender sees them (nobody logged in): those who
/// signed with their recorded identity, the others as designated.
fn participants_as_designated(job: &Job, orgnr: &str) -> Vec<Participant> {
    job.signers
        .iter()
        .filter(|s| s.on_behalf_of.as_ref().is_some_and(|o| o.orgnr == orgnr))
        .filter(|s| matches!(s.status, SignerStatus::Waiting | SignerStatus::Signed))
        .map(|s| {
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
                None => designated(s),
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

// ------------------------------------------------------------------ the co-signer add-on

/// Contact details the sender gives for one register person of the alternative.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoSignerContact {
    /// The person's name as in the register (matched by the register name rule).
    pub name: String,
    /// `YYYY-MM-DD`, as in the register.
    pub birth_date: String,
    /// The person's national id, when the sender knows it: the person is then designated by
    /// it (must encode the same birth date). Otherwise by the register's birth date and name.
    pub national_id: Option<String>,
    /// Notify by e-mail.
    pub email: Option<String>,
    /// Notify by SMS (Norwegian mobile numbers only).
    pub mobile: Option<String>,
    /// Language of the notification: `nb` (default), `nn` or `en`.
    pub lang: Option<Language>,
}

/// `POST /api/v1/jobs/{id}/signers/{sid}/authority/co-signers`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoSignersRequest {
    /// Which alternative to complete: the index into `missing` of the signer's
    /// `authority_incomplete` event (fewest persons first). Default: the first alternative
    /// that holds every person in `contacts` (so the fewest persons when none are named).
    pub alternative: Option<usize>,
    /// Contact details per register person; persons of the alternative without contact
    /// details are added without a notification.
    #[serde(default)]
    pub contacts: Vec<CoSignerContact>,
}

/// Why co-signers cannot be added. Each maps to one problem type.
#[derive(Debug, thiserror::Error)]
pub enum CoSignerError {
    #[error(transparent)]
    Job(#[from] JobError),
    #[error("the job is {0}; co-signers can only be added while it is in progress")]
    NotInProgress(JobStatus),
    #[error("nothing is missing: {0}")]
    NothingMissing(&'static str),
    #[error("the signer's authority cannot be completed by adding co-signers: {0}")]
    Refused(crate::authority::Refusal),
    #[error("the business register is unavailable: {0}")]
    RegisterUnavailable(String),
    #[error("alternative {index} does not exist; the signer has {count}")]
    UnknownAlternative { index: usize, count: usize },
    #[error("contacts[{index}] names no person the alternative needs")]
    UnknownPerson { index: usize },
    #[error("no single alternative holds every person named in contacts")]
    NoAlternativeFits,
    #[error("contacts[{index}]: {error}")]
    Contact { index: usize, error: ContactError },
    #[error("contacts[{index}]: {reason}")]
    InvalidContact { index: usize, reason: &'static str },
    #[error(
        "the register gives {name:?} no birth date and full name to designate them by; give \
         their national_id in contacts"
    )]
    CannotDesignate { name: String },
}

/// One person added.
#[derive(Debug, Clone)]
pub struct AddedCoSigner {
    pub signer_id: String,
    pub name: String,
    pub birth_date: Option<time::Date>,
    pub role_code: String,
    pub role_text: Option<String>,
    /// `national_id` or `register_person`.
    pub designation: &'static str,
    /// Channels a notification was queued on.
    pub notify: Vec<&'static str>,
}

/// What the add-on did.
#[derive(Debug, Clone)]
pub struct CoSignersAdded {
    pub job: Job,
    /// The alternative completed (index into the options, fewest persons first).
    pub alternative: usize,
    pub alternatives: usize,
    pub added: Vec<AddedCoSigner>,
}

/// A contact, checked.
struct CheckedContact {
    birth_date: time::Date,
    tokens: Vec<String>,
    national_id: Option<String>,
    email: Option<String>,
    mobile: Option<String>,
    lang: Language,
}

fn check_contacts(contacts: &[CoSignerContact]) -> Result<Vec<CheckedContact>, CoSignerError> {
    let mut out: Vec<CheckedContact> = Vec::with_capacity(contacts.len());
    for (index, c) in contacts.iter().enumerate() {
        let invalid = |reason| CoSignerError::InvalidContact { index, reason };
        let birth_date =
            parse_date(&c.birth_date).ok_or(invalid("birth_date must be YYYY-MM-DD"))?;
        let tokens = name_tokens(&c.name);
        if tokens.len() < 2 || c.name.chars().count() > 200 {
            return Err(invalid("name must be a full name (given and family name)"));
        }
        let national_id = match c.national_id.as_deref().map(str::trim) {
            None => None,
            Some(n) => {
                if !crate::identity::nin::is_valid_national_id(n) {
                    return Err(invalid(
                        "national_id is not a valid national identity number",
                    ));
                }
                if crate::authority::birth_date_from_national_id(n) != Some(birth_date) {
                    return Err(invalid("national_id does not encode birth_date"));
                }
                Some(n.to_string())
            }
        };
        let email = c
            .email
            .as_deref()
            .map(contact::email)
            .transpose()
            .map_err(|error| CoSignerError::Contact { index, error })?;
        let mobile = c
            .mobile
            .as_deref()
            .map(contact::mobile)
            .transpose()
            .map_err(|error| CoSignerError::Contact { index, error })?;
        if out
            .iter()
            .any(|o| o.birth_date == birth_date && names_match(&o.tokens, &tokens))
        {
            return Err(invalid("the same person is named twice"));
        }
        out.push(CheckedContact {
            birth_date,
            tokens,
            national_id,
            email,
            mobile,
            lang: c.lang.unwrap_or_default(),
        });
    }
    Ok(out)
}

fn contact_is(c: &CheckedContact, p: &RegisterPerson) -> bool {
    p.birth_date == Some(c.birth_date) && names_match(&c.tokens, &name_tokens(&p.name))
}

/// Which alternative to complete (see [`CoSignersRequest::alternative`]).
fn pick(
    options: &[Vec<RegisterPerson>],
    alternative: Option<usize>,
    contacts: &[CheckedContact],
) -> Result<usize, CoSignerError> {
    let holds_all =
        |o: &Vec<RegisterPerson>| contacts.iter().all(|c| o.iter().any(|p| contact_is(c, p)));
    match alternative {
        Some(index) => {
            let o = options
                .get(index)
                .ok_or(CoSignerError::UnknownAlternative {
                    index,
                    count: options.len(),
                })?;
            if let Some(index) = contacts
                .iter()
                .position(|c| !o.iter().any(|p| contact_is(c, p)))
            {
                return Err(CoSignerError::UnknownPerson { index });
            }
            Ok(index)
        }
        None => {
            if let Some(i) = options.iter().position(holds_all) {
                return Ok(i);
            }
            match contacts
                .iter()
                .position(|c| !options.iter().flatten().any(|p| contact_is(c, p)))
            {
                Some(index) => Err(CoSignerError::UnknownPerson { index }),
                None => Err(CoSignerError::NoAlternativeFits),
            }
        }
    }
}

/// How an added person is designated: the national id the sender gave, else the one the
/// register gave (authorised variant), else the register's birth date and name.
fn designation(
    p: &RegisterPerson,
    c: Option<&CheckedContact>,
) -> Result<SignerIdentifier, CoSignerError> {
    if let Some(n) = c.and_then(|c| c.national_id.clone()) {
        return Ok(SignerIdentifier::NationalId(n));
    }
    if let Some(n) = &p.national_id {
        return Ok(SignerIdentifier::NationalId(n.clone()));
    }
    match p.birth_date {
        Some(birth_date) if name_tokens(&p.name).len() >= 2 => {
            Ok(SignerIdentifier::RegisterPerson(RegisterPersonId {
                birth_date,
                name: p.name.clone(),
            }))
        }
        _ => Err(CoSignerError::CannotDesignate {
            name: p.name.clone(),
        }),
    }
}

fn register_error(e: AuthorityError) -> CoSignerError {
    match e {
        AuthorityError::Unavailable { .. }
        | AuthorityError::Malformed { .. }
        | AuthorityError::Setup(_) => CoSignerError::RegisterUnavailable(e.to_string()),
        other => CoSignerError::Refused(other.refusal()),
    }
}

/// The sender's add-on: re-reads the registers for the organisation signer `signer_id` of the
/// organisation's job `job_id` acts for, finds which register persons the job lacks for a
/// combination with that signer (fewest first, or the alternative the sender names), adds each
/// as a signer on behalf of the same organisation and in the same order group, designated by
/// national id where known and otherwise by register birth date and name, and queues their
/// notifications to the contact details given. Retries when the job changed concurrently.
pub async fn add_co_signers(
    client: &RegisterClient,
    jobs: &JobService,
    org_id: &str,
    job_id: &str,
    signer_id: &str,
    req: &CoSignersRequest,
    now: OffsetDateTime,
) -> Result<CoSignersAdded, CoSignerError> {
    let contacts = check_contacts(&req.contacts)?;
    for _ in 0..4 {
        let (job, version) = jobs.get_versioned(org_id, job_id).await?;
        if job.status != JobStatus::InProgress {
            return Err(CoSignerError::NotInProgress(job.status));
        }
        let Some(subject) = job.signers.iter().find(|s| s.id == signer_id) else {
            return Err(JobError::Refused(JobRefusal::NoSuchSigner).into());
        };
        if subject.status != SignerStatus::Waiting {
            return Err(JobError::Refused(JobRefusal::SignerNotWaiting(subject.status)).into());
        }
        let Some(obo) = subject.on_behalf_of.clone() else {
            return Err(CoSignerError::NothingMissing(
                "the signer signs for themselves, not for an organisation",
            ));
        };
        let facts = client
            .lookup_for(&obo.orgnr, obo.authority)
            .await
            .map_err(register_error)?;
        let people = participants_as_designated(&job, &obo.orgnr);
        let options =
            match crate::authority::plan_completion(&facts, obo.authority, &people, signer_id) {
                Ok(Completion::Missing { options }) => options,
                Ok(Completion::Complete { .. }) => {
                    return Err(CoSignerError::NothingMissing(
                        "the job's signers already complete a combination the register gives",
                    ));
                }
                Err(r) if r.is_transient() => {
                    return Err(CoSignerError::RegisterUnavailable(r.to_string()));
                }
                Err(r) => return Err(CoSignerError::Refused(r)),
            };
        let index = pick(&options, req.alternative, &contacts)?;
        let Some(persons) = options.get(index) else {
            return Err(CoSignerError::UnknownAlternative {
                index,
                count: options.len(),
            });
        };
        let next = job
            .signers
            .iter()
            .map(|s| s.position + 1)
            .max()
            .unwrap_or(0);
        let mut signers = Vec::with_capacity(persons.len());
        let mut added = Vec::with_capacity(persons.len());
        for (position, p) in (next..).zip(persons) {
            let c = contacts.iter().find(|c| contact_is(c, p));
            let identifier = designation(p, c)?;
            let s = Signer {
                id: uuid::Uuid::new_v4().to_string(),
                position,
                identifier,
                on_behalf_of: Some(OnBehalfOf {
                    orgnr: obo.orgnr.clone(),
                    authority: obo.authority,
                }),
                email: c.and_then(|c| c.email.clone()),
                mobile: c.and_then(|c| c.mobile.clone()),
                lang: c.map_or(Language::Nb, |c| c.lang),
                order: subject.order,
                co_signer_of: Some(CoSignerOf {
                    signer_id: subject.id.clone(),
                    org_name: facts.name().map(str::to_string),
                    role_code: p.role_code.clone(),
                    role_text: p.role_text.clone(),
                }),
                status: SignerStatus::Waiting,
                status_at: now,
                identity_json: None,
                client_ip: None,
                user_agent: None,
                authority_json: None,
            };
            let mut notify = Vec::new();
            if s.email.is_some() {
                notify.push("email");
            }
            if s.mobile.is_some() {
                notify.push("sms");
            }
            added.push(AddedCoSigner {
                signer_id: s.id.clone(),
                name: p.name.clone(),
                birth_date: p.birth_date,
                role_code: p.role_code.clone(),
                role_text: p.role_text.clone(),
                designation: s.identifier.kind(),
                notify,
            });
            signers.push(s);
        }
        let event = serde_json::json!({
            "orgnr": obo.orgnr,
            "authority": obo.authority,
            "alternative": index,
            "alternatives": options.len(),
            "added": added.iter().map(|a| serde_json::json!({
                "signer_id": a.signer_id,
                "name": a.name,
                "birth_date": a.birth_date.map(format_date),
                "role": a.role_code,
                "role_text": a.role_text,
                "designation": a.designation,
                "notify": a.notify,
            })).collect::<Vec<_>>(),
        });
        match jobs
            .add_co_signers(&job, version, signer_id, signers, event, now)
            .await
        {
            Ok(job) => {
                return Ok(CoSignersAdded {
                    job,
                    alternative: index,
                    alternatives: options.len(),
                    added,
                });
            }
            Err(JobError::Store(crate::archive::store::StoreError::Conflict)) => continue,
            Err(JobError::Store(crate::archive::store::StoreError::Duplicate)) => {
                return Err(JobError::Refused(JobRefusal::DuplicateSigner).into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(JobError::Busy.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(name: &str, born: &str) -> CoSignerContact {
        CoSignerContact {
            name: name.into(),
            birth_date: born.into(),
            national_id: None,
            email: None,
            mobile: None,
            lang: None,
        }
    }

    #[test]
    fn contacts_are_checked_and_normalised() {
        let mut c = contact("Ola Berg", "1958-09-30");
        c.mobile = Some("912 34 567".into());
        c.email = Some(" ola@example.no ".into());
        let ok = check_contacts(&[c.clone()]).unwrap();
        assert_eq!(ok[0].mobile.as_deref(), Some("+4791234567"));
        assert_eq!(ok[0].email.as_deref(), Some("ola@example.no"));
        let bad = |c: CoSignerContact| check_contacts(&[c]).err().map(|e| e.to_string());
        assert!(
            bad(contact("Ola", "1958-09-30"))
                .unwrap()
                .contains("full name")
        );
        assert!(
            bad(contact("Ola Berg", "30.09.1958"))
                .unwrap()
                .contains("YYYY-MM-DD")
        );
        let mut nid = contact("Ola Berg", "1958-09-30");
        nid.national_id = Some("13097248022".into());
        assert!(bad(nid.clone()).unwrap().contains("does not encode"));
        nid.national_id = Some("30895810130".into());
        assert!(bad(nid).is_none());
        let mut foreign = contact("Ola Berg", "1958-09-30");
        foreign.mobile = Some("+46701234567".into());
        assert!(matches!(
            check_contacts(&[foreign]),
            Err(CoSignerError::Contact {
                index: 0,
                error: ContactError::Mobile
            })
        ));
        assert!(
            check_contacts(&[c.clone(), contact("Berg, Ola", "1958-09-30")])
                .err()
                .unwrap()
                .to_string()
                .contains("twice")
        );
    }

    fn person(name: &str, born: Option<time::Date>, nid: Option<&str>) -> RegisterPerson {
        // Built the way the register is read: from a Fullmakt person.
        let json = serde_json::json!({
            "fodselsdato": born.map(|d| format!("{:02}.{:02}.{}", d.day(), u8::from(d.month()), d.year())),
            "fodselsnummer": nid,
            "navn": name,
            "rolle": {"kode": "MEDL", "tekstforklaring": "Styremedlem"},
        });
        crate::authority::rules::register_person_from_json(&json).unwrap()
    }

    #[test]
    fn alternatives_are_picked_by_contacts_or_index_and_persons_designated() {
        let ola = person("Ola Berg", Some(time::macros::date!(1958 - 09 - 30)), None);
        let anne = person("Anne Lie", Some(time::macros::date!(1990 - 01 - 01)), None);
        let options = vec![vec![ola.clone()], vec![anne.clone()]];
        let named = |n: &str, b: &str| check_contacts(&[contact(n, b)]).unwrap();
        assert_eq!(pick(&options, None, &[]).unwrap(), 0, "fewest first");
        assert_eq!(
            pick(&options, None, &named("Anne Lie", "1990-01-01")).unwrap(),
            1
        );
        assert_eq!(pick(&options, Some(1), &[]).unwrap(), 1);
        assert!(matches!(
            pick(&options, Some(2), &[]),
            Err(CoSignerError::UnknownAlternative { index: 2, count: 2 })
        ));
        assert!(matches!(
            pick(&options, Some(0), &named("Anne Lie", "1990-01-01")),
            Err(CoSignerError::UnknownPerson { index: 0 })
        ));
        assert!(matches!(
            pick(&options, None, &named("Anne Lie", "1990-01-02")),
            Err(CoSignerError::UnknownPerson { index: 0 })
        ));
        let both = check_contacts(&[
            contact("Anne Lie", "1990-01-01"),
            contact("Ola Berg", "1958-09-30"),
        ])
        .unwrap();
        assert!(matches!(
            pick(&options, None, &both),
            Err(CoSignerError::NoAlternativeFits)
        ));

        // Designation: the sender's national id, the register's, else birth date and name.
        assert_eq!(
            designation(&ola, None).unwrap(),
            SignerIdentifier::RegisterPerson(RegisterPersonId {
                birth_date: time::macros::date!(1958 - 09 - 30),
                name: "Ola Berg".into(),
            })
        );
        let mut c = contact("Ola Berg", "1958-09-30");
        c.national_id = Some("30895810130".into());
        let checked = check_contacts(&[c]).unwrap();
        assert_eq!(
            designation(&ola, checked.first()).unwrap(),
            SignerIdentifier::NationalId("30895810130".into())
        );
        let authorised = person("Ola Berg", None, Some("30895810130"));
        assert_eq!(
            designation(&authorised, None).unwrap(),
            SignerIdentifier::NationalId("30895810130".into())
        );
        let one_name = person("Cher", Some(time::macros::date!(1946 - 05 - 20)), None);
        assert!(matches!(
            designation(&one_name, None),
            Err(CoSignerError::CannotDesignate { .. })
        ));
    }
}
