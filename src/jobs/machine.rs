//! The job state machine: every allowed transition, explicitly, as a pure function from
//! (job, action, time) to a [`Transition`] with its events.
//!
//! Owns: who may sign when, what ends a job, when a job goes to sealing. Must not: perform I/O.
//!
//! ```text
//! in_progress ──all signers signed──▶ (sealing queue) ──sealed──▶ completed
//!      │                                       └──sealing gives up──▶ failed
//!      │ any signer rejects ──▶ failed      (waiting signers → cancelled)
//!      │ organisation cancels ──▶ cancelled (waiting signers → cancelled)
//!      │ deadline passes (scheduler) ──▶ expired (waiting signers → expired)
//!      │ the sender adds co-signers from the business register ──▶ in_progress (more signers)
//! ```
//!
//! Signer notifications (e-mail, SMS) are decided here too, as outbox rows of the same
//! transition: a signer with contact details in a `portal` job, or a co-signer added from the
//! register in any job, is notified when their order group becomes active (at creation, when
//! the last signer of the earlier groups signs, or at once when added to an active group).

use time::OffsetDateTime;

use crate::archive::store::{AddedSigner, NewEvent, SignerChange, Transition};
use crate::identity::VerifiedIdentity;
use crate::jobs::model::{Job, JobKind, JobStatus, Signer, SignerStatus};
use crate::notify::{Channel, NewNotification, Purpose};

/// Something that happens to a job.
#[derive(Debug, Clone)]
pub enum Action<'a> {
    Sign {
        signer_id: &'a str,
        identity: &'a VerifiedIdentity,
        client_ip: Option<String>,
        user_agent: Option<String>,
        /// Required for a signer on behalf of a company: the established authority.
        authority: Option<AuthorityProof>,
    },
    Reject {
        signer_id: &'a str,
        identity: &'a VerifiedIdentity,
    },
    Cancel,
    Expire,
    Sealed {
        blob_key: String,
        sha256: String,
    },
    /// Sealing gave up (a permanent error, or retries exhausted): the job fails with a reason
    /// the sender can read.
    SealingFailed {
        reason: String,
    },
    /// The sender adds holders of signing authority from the business register to complete
    /// the authority of signer `for_signer` (`jobs::authority` picked them).
    AddCoSigners {
        for_signer: &'a str,
        signers: Vec<AddedSigner>,
        /// The `co_signers_added` event's data (organisation, the alternative, who was added).
        event: serde_json::Value,
    },
}

/// What the ceremony established about a company signer's authority before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityProof {
    /// The evidence (JSON of `authority::AuthorityRecord`), kept with the signature.
    pub record_json: String,
    /// The decision's code: `granted` or `awaiting_co_signers`.
    pub decision: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the job is {0}")]
    JobNotInProgress(JobStatus),
    #[error("the job's deadline has passed")]
    JobExpired,
    #[error("the signer is {0}")]
    SignerNotWaiting(SignerStatus),
    #[error("no such signer in this job")]
    NoSuchSigner,
    #[error("signers earlier in the signing order have not signed yet")]
    NotYourTurn,
    #[error("the logged-in person is not the designated signer")]
    IdentityMismatch,
    #[error("the login's assurance level is below what the job requires")]
    LoaTooLow,
    #[error("every signer has signed; the job is being sealed and can no longer be cancelled")]
    AlreadySigned,
    #[error("the job is not ready for sealing")]
    NotReadyForSealing,
    #[error("the signer's authority to sign for the organisation has not been established")]
    AuthorityNotEstablished,
    #[error("the signer does not sign on behalf of an organisation")]
    NotOnBehalfOf,
    #[error("the job already has a signer with the same identifier")]
    DuplicateSigner,
}

fn signer<'j>(job: &'j Job, id: &str) -> Result<&'j Signer, Refusal> {
    job.signers
        .iter()
        .find(|s| s.id == id)
        .ok_or(Refusal::NoSuchSigner)
}

/// Whether the signing order lets `s` act now: every signer of a lower order group has signed.
pub fn is_active(job: &Job, s: &Signer) -> bool {
    job.signers
        .iter()
        .all(|o| o.order >= s.order || o.status == SignerStatus::Signed)
}

/// The notifications `s` gets when their order group becomes active: one per contact detail,
/// for a signer of a `portal` job or a co-signer added from the register; none otherwise
/// (a `direct` job's sender leads its signers to the signing page itself).
pub fn notifications_for(job: &Job, s: &Signer) -> Vec<NewNotification> {
    if job.kind != JobKind::Portal && s.co_signer_of.is_none() {
        return Vec::new();
    }
    let purpose = if s.co_signer_of.is_some() {
        Purpose::CoSignerRequest
    } else {
        Purpose::SigningRequest
    };
    [(Channel::Email, &s.email), (Channel::Sms, &s.mobile)]
        .into_iter()
        .filter_map(|(channel, to)| {
            to.as_ref().map(|d| NewNotification {
                signer_id: s.id.clone(),
                purpose,
                channel,
                destination: d.clone(),
                lang: s.lang,
            })
        })
        .collect()
}

/// The notifications of every signer active when the job is created.
pub fn initial_notifications(job: &Job) -> Vec<NewNotification> {
    job.signers
        .iter()
        .filter(|s| s.status == SignerStatus::Waiting && is_active(job, s))
        .flat_map(|s| notifications_for(job, s))
        .collect()
}

fn all_signed(job: &Job) -> bool {
    job.signers.iter().all(|s| s.status == SignerStatus::Signed)
}

/// Whether the signer may act now: job open, deadline not passed, signer waiting, own turn,
/// right person at a sufficient assurance level.
pub fn may_sign(
    job: &Job,
    signer_id: &str,
    identity: &VerifiedIdentity,
    now: OffsetDateTime,
) -> Result<(), Refusal> {
    if job.status != JobStatus::InProgress {
        return Err(Refusal::JobNotInProgress(job.status));
    }
    if now >= job.expires_at {
        return Err(Refusal::JobExpired);
    }
    let s = signer(job, signer_id)?;
    if s.status != SignerStatus::Waiting {
        return Err(Refusal::SignerNotWaiting(s.status));
    }
    if job
        .signers
        .iter()
        .any(|o| o.order < s.order && o.status != SignerStatus::Signed)
    {
        return Err(Refusal::NotYourTurn);
    }
    if !identity.matches(&s.identifier) {
        return Err(Refusal::IdentityMismatch);
    }
    if identity.loa < job.required_loa {
        return Err(Refusal::LoaTooLow);
    }
    Ok(())
}

fn event(job: &Job, signer_id: Option<&str>, kind: &str, data: serde_json::Value) -> NewEvent {
    NewEvent {
        job_id: Some(job.id.clone()),
        signer_id: signer_id.map(str::to_string),
        kind: kind.to_string(),
        data,
        webhook: job.callback_url.clone(),
    }
}

/// Ends every waiting signer with `to`.
fn end_waiting(job: &Job, to: SignerStatus) -> Vec<SignerChange> {
    job.signers
        .iter()
        .filter(|s| s.status == SignerStatus::Waiting)
        .map(|s| SignerChange {
            signer_id: s.id.clone(),
            from: SignerStatus::Waiting,
            to,
            identity_json: None,
            client_ip: None,
            user_agent: None,
            authority_json: None,
        })
        .collect()
}

/// Decides the transition `action` causes on `job` (read at `version`).
pub fn decide(
    job: &Job,
    version: i64,
    action: Action<'_>,
    now: OffsetDateTime,
) -> Result<Transition, Refusal> {
    let mut t = Transition {
        job_id: job.id.clone(),
        org_id: job.org_id.clone(),
        expected_version: version,
        ..Transition::default()
    };
    match action {
        Action::Sign {
            signer_id,
            identity,
            client_ip,
            user_agent,
            authority,
        } => {
            may_sign(job, signer_id, identity, now)?;
            let on_behalf_of = signer(job, signer_id)?.on_behalf_of.as_ref();
            if on_behalf_of.is_some() && authority.is_none() {
                return Err(Refusal::AuthorityNotEstablished);
            }
            let identity_json = serde_json::to_string(identity).ok();
            let mut data = serde_json::json!({
                "status": "signed",
                "idp": identity.idp,
                "loa": identity.loa,
            });
            if let (Some(obo), Some(a)) = (on_behalf_of, &authority) {
                data["on_behalf_of"] = serde_json::json!({
                    "orgnr": obo.orgnr,
                    "authority": obo.authority,
                    "decision": a.decision,
                });
            }
            t.signers.push(SignerChange {
                signer_id: signer_id.to_string(),
                from: SignerStatus::Waiting,
                to: SignerStatus::Signed,
                identity_json,
                client_ip,
                user_agent,
                authority_json: authority.map(|a| a.record_json),
            });
            t.events
                .push(event(job, Some(signer_id), "signer_signed", data));
            // Signers whose order group this signature activates are notified now.
            let order = signer(job, signer_id)?.order;
            let signed_after = |o: &Signer| o.id == signer_id || o.status == SignerStatus::Signed;
            for s in job.signers.iter().filter(|s| {
                s.status == SignerStatus::Waiting && s.id != signer_id && s.order > order
            }) {
                if job
                    .signers
                    .iter()
                    .filter(|o| o.order < s.order)
                    .all(signed_after)
                {
                    t.notifications.extend(notifications_for(job, s));
                }
            }
            let rest_signed = job
                .signers
                .iter()
                .filter(|s| s.id != signer_id)
                .all(|s| s.status == SignerStatus::Signed);
            if rest_signed {
                t.enqueue_seal = true;
                t.events.push(event(
                    job,
                    None,
                    "job_all_signed",
                    serde_json::json!({"status": "in_progress"}),
                ));
            }
        }
        Action::Reject {
            signer_id,
            identity,
        } => {
            may_sign(job, signer_id, identity, now)?;
            t.signers.push(SignerChange {
                signer_id: signer_id.to_string(),
                from: SignerStatus::Waiting,
                to: SignerStatus::Rejected,
                identity_json: serde_json::to_string(identity).ok(),
                client_ip: None,
                user_agent: None,
                authority_json: None,
            });
            t.signers.extend(
                end_waiting(job, SignerStatus::Cancelled)
                    .into_iter()
                    .filter(|c| c.signer_id != signer_id),
            );
            t.job_status = Some(JobStatus::Failed);
            t.events.push(event(
                job,
                Some(signer_id),
                "signer_rejected",
                serde_json::json!({"status": "rejected"}),
            ));
            t.events.push(event(
                job,
                None,
                "job_failed",
                serde_json::json!({"status": "failed", "reason": "rejected_by_signer"}),
            ));
        }
        Action::Cancel => {
            if job.status != JobStatus::InProgress {
                return Err(Refusal::JobNotInProgress(job.status));
            }
            if all_signed(job) {
                return Err(Refusal::AlreadySigned);
            }
            t.signers = end_waiting(job, SignerStatus::Cancelled);
            t.job_status = Some(JobStatus::Cancelled);
            t.events.push(event(
                job,
                None,
                "job_cancelled",
                serde_json::json!({"status": "cancelled"}),
            ));
        }
        Action::Expire => {
            if job.status != JobStatus::InProgress {
                return Err(Refusal::JobNotInProgress(job.status));
            }
            if all_signed(job) {
                return Err(Refusal::AlreadySigned);
            }
            if now < job.expires_at {
                return Err(Refusal::JobNotInProgress(job.status));
            }
            t.signers = end_waiting(job, SignerStatus::Expired);
            t.job_status = Some(JobStatus::Expired);
            t.events.push(event(
                job,
                None,
                "job_expired",
                serde_json::json!({"status": "expired"}),
            ));
        }
        Action::Sealed { blob_key, sha256 } => {
            if job.status != JobStatus::InProgress {
                return Err(Refusal::JobNotInProgress(job.status));
            }
            if !all_signed(job) {
                return Err(Refusal::NotReadyForSealing);
            }
            t.job_status = Some(JobStatus::Completed);
            t.completed_at = Some(now);
            t.events.push(event(
                job,
                None,
                "job_completed",
                serde_json::json!({"status": "completed", "pades_sha256": sha256}),
            ));
            t.sealed = Some((blob_key, sha256));
            t.dequeue_seal = true;
        }
        Action::AddCoSigners {
            for_signer,
            signers,
            event: data,
        } => {
            if job.status != JobStatus::InProgress {
                return Err(Refusal::JobNotInProgress(job.status));
            }
            if now >= job.expires_at {
                return Err(Refusal::JobExpired);
            }
            let subject = signer(job, for_signer)?;
            if subject.status != SignerStatus::Waiting {
                return Err(Refusal::SignerNotWaiting(subject.status));
            }
            if subject.on_behalf_of.is_none() {
                return Err(Refusal::NotOnBehalfOf);
            }
            for (i, a) in signers.iter().enumerate() {
                let clash = job
                    .signers
                    .iter()
                    .chain(signers[..i].iter().map(|b| &b.signer))
                    .any(|o| o.identifier == a.signer.identifier);
                if clash {
                    return Err(Refusal::DuplicateSigner);
                }
            }
            // Active with the signer they complete: notified now; otherwise when their order
            // group activates (see `Action::Sign`).
            let active = is_active(job, subject);
            let mut grown = job.clone();
            grown
                .signers
                .extend(signers.iter().map(|a| a.signer.clone()));
            if active {
                for a in &signers {
                    t.notifications.extend(notifications_for(&grown, &a.signer));
                }
            }
            t.events
                .push(event(job, Some(for_signer), "co_signers_added", data));
            t.added_signers = signers;
        }
        Action::SealingFailed { reason } => {
            if job.status != JobStatus::InProgress {
                return Err(Refusal::JobNotInProgress(job.status));
            }
            if !all_signed(job) {
                return Err(Refusal::NotReadyForSealing);
            }
            t.job_status = Some(JobStatus::Failed);
            t.events.push(event(
                job,
                None,
                "job_failed",
                serde_json::json!({"status": "failed", "reason": "sealing_failed", "detail": reason}),
            ));
            t.dequeue_seal = true;
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdpKind;
    use crate::jobs::model::{JobKind, Loa, Redirects, SignerIdentifier};
    use time::Duration;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn signer(id: &str, nid: &str, order: u8) -> Signer {
        Signer {
            id: id.into(),
            position: 0,
            identifier: SignerIdentifier::NationalId(nid.into()),
            on_behalf_of: None,
            email: None,
            mobile: None,
            lang: crate::jobs::model::Language::Nb,
            order,
            co_signer_of: None,
            status: SignerStatus::Waiting,
            status_at: now(),
            identity_json: None,
            client_ip: None,
            user_agent: None,
            authority_json: None,
        }
    }

    fn job() -> Job {
        Job {
            id: "j".into(),
            org_id: "o".into(),
            title: "t".into(),
            nonsensitive_title: None,
            kind: JobKind::Direct,
            status: JobStatus::InProgress,
            required_loa: Loa::Substantial,
            reference: None,
            callback_url: None,
            redirect: Redirects::default(),
            created_at: now(),
            expires_at: now() + Duration::days(30),
            completed_at: None,
            signers: vec![signer("a", "13097248022", 0), signer("b", "01889449930", 1)],
            documents: vec![],
        }
    }

    fn who(nid: &str, loa: Loa) -> VerifiedIdentity {
        VerifiedIdentity {
            idp: IdpKind::Dev,
            issuer: "dev".into(),
            national_id: Some(nid.into()),
            eidas_id: None,
            name: "x".into(),
            date_of_birth: None,
            loa,
            auth_time: now(),
            evidence: None,
        }
    }

    fn sign<'a>(id: &'a str, ident: &'a VerifiedIdentity) -> Action<'a> {
        Action::Sign {
            signer_id: id,
            identity: ident,
            client_ip: None,
            user_agent: None,
            authority: None,
        }
    }

    #[test]
    fn a_company_signer_signs_only_with_established_authority() {
        let mut j = job();
        j.signers[0].on_behalf_of = Some(crate::jobs::model::OnBehalfOf {
            orgnr: "912345675".into(),
            authority: crate::authority::AuthorityKind::Signature,
        });
        let kari = who("13097248022", Loa::High);
        assert_eq!(
            decide(&j, 0, sign("a", &kari), now()).unwrap_err(),
            Refusal::AuthorityNotEstablished
        );
        let with = Action::Sign {
            signer_id: "a",
            identity: &kari,
            client_ip: None,
            user_agent: None,
            authority: Some(AuthorityProof {
                record_json: "{}".into(),
                decision: "granted",
            }),
        };
        let t = decide(&j, 0, with, now()).unwrap();
        assert_eq!(t.signers[0].authority_json.as_deref(), Some("{}"));
        assert_eq!(t.events[0].data["on_behalf_of"]["decision"], "granted");
        assert_eq!(t.events[0].data["on_behalf_of"]["orgnr"], "912345675");
    }

    #[test]
    fn order_identity_and_loa_are_enforced() {
        let j = job();
        let kari = who("13097248022", Loa::High);
        let ola = who("01889449930", Loa::High);
        assert_eq!(
            decide(&j, 0, sign("b", &ola), now()).unwrap_err(),
            Refusal::NotYourTurn
        );
        assert_eq!(
            decide(&j, 0, sign("a", &ola), now()).unwrap_err(),
            Refusal::IdentityMismatch
        );
        let low = who("13097248022", Loa::Low);
        assert_eq!(
            decide(&j, 0, sign("a", &low), now()).unwrap_err(),
            Refusal::LoaTooLow
        );
        let t = decide(&j, 0, sign("a", &kari), now()).unwrap();
        assert!(!t.enqueue_seal);
        assert_eq!(t.signers.len(), 1);
        assert_eq!(
            decide(&j, 0, sign("a", &kari), j.expires_at).unwrap_err(),
            Refusal::JobExpired
        );
    }

    #[test]
    fn last_signature_enqueues_sealing_and_blocks_cancel() {
        let mut j = job();
        j.signers[0].status = SignerStatus::Signed;
        let ola = who("01889449930", Loa::Substantial);
        let t = decide(&j, 3, sign("b", &ola), now()).unwrap();
        assert!(t.enqueue_seal);
        assert_eq!(t.expected_version, 3);
        j.signers[1].status = SignerStatus::Signed;
        assert_eq!(
            decide(&j, 4, Action::Cancel, now()).unwrap_err(),
            Refusal::AlreadySigned
        );
        let t = decide(
            &j,
            4,
            Action::Sealed {
                blob_key: "k".into(),
                sha256: "h".into(),
            },
            now(),
        )
        .unwrap();
        assert_eq!(t.job_status, Some(JobStatus::Completed));
        assert!(t.dequeue_seal);
    }

    #[test]
    fn sealing_failure_fails_only_a_fully_signed_job_with_its_reason() {
        let mut j = job();
        let give_up = || Action::SealingFailed {
            reason: "every TSA failed".into(),
        };
        assert_eq!(
            decide(&j, 0, give_up(), now()).unwrap_err(),
            Refusal::NotReadyForSealing
        );
        j.signers[0].status = SignerStatus::Signed;
        j.signers[1].status = SignerStatus::Signed;
        let t = decide(&j, 5, give_up(), now()).unwrap();
        assert_eq!(t.job_status, Some(JobStatus::Failed));
        assert!(t.dequeue_seal);
        assert!(t.sealed.is_none());
        let ev = t.events.iter().find(|e| e.kind == "job_failed").unwrap();
        assert_eq!(ev.data["reason"], "sealing_failed");
        assert_eq!(ev.data["detail"], "every TSA failed");
        j.status = JobStatus::Completed;
        assert_eq!(
            decide(&j, 6, give_up(), now()).unwrap_err(),
            Refusal::JobNotInProgress(JobStatus::Completed)
        );
    }

    #[test]
    fn rejection_fails_the_job_and_cancels_the_rest() {
        let j = job();
        let kari = who("13097248022", Loa::High);
        let t = decide(
            &j,
            0,
            Action::Reject {
                signer_id: "a",
                identity: &kari,
            },
            now(),
        )
        .unwrap();
        assert_eq!(t.job_status, Some(JobStatus::Failed));
        assert_eq!(t.signers[0].to, SignerStatus::Rejected);
        assert_eq!(t.signers[1].to, SignerStatus::Cancelled);
    }

    #[test]
    fn notifications_follow_the_signing_order_and_the_job_kind() {
        let mut j = job();
        j.kind = JobKind::Portal;
        j.signers[0].email = Some("a@example.no".into());
        j.signers[0].mobile = Some("+4791234567".into());
        j.signers[1].email = Some("b@example.no".into());
        let first = initial_notifications(&j);
        assert_eq!(first.len(), 2, "only the first order group: {first:?}");
        assert!(first.iter().all(|n| n.signer_id == "a"));
        assert!(first.iter().any(|n| n.channel == Channel::Sms));
        // a signs: b's group activates, b's e-mail is queued with the signature.
        let kari = who("13097248022", Loa::High);
        let t = decide(&j, 0, sign("a", &kari), now()).unwrap();
        assert_eq!(t.notifications.len(), 1);
        assert_eq!(t.notifications[0].signer_id, "b");
        assert_eq!(t.notifications[0].purpose, Purpose::SigningRequest);
        // Two in the first group: the first signature activates nobody.
        let mut three = j.clone();
        let mut c = three.signers[0].clone();
        c.id = "c".into();
        c.identifier = SignerIdentifier::NationalId("17912099997".into());
        three.signers.push(c);
        let t = decide(&three, 0, sign("a", &kari), now()).unwrap();
        assert!(t.notifications.is_empty());
        // A direct job notifies nobody.
        j.kind = JobKind::Direct;
        assert!(initial_notifications(&j).is_empty());
    }

    #[test]
    fn co_signers_are_added_next_to_the_signer_they_complete() {
        let mut j = job();
        j.signers[1].on_behalf_of = Some(crate::jobs::model::OnBehalfOf {
            orgnr: "100010011".into(),
            authority: crate::authority::AuthorityKind::Signature,
        });
        let mut ola = signer("x", "30895810130", 1);
        ola.email = Some("ola@example.no".into());
        ola.co_signer_of = Some(crate::jobs::model::CoSignerOf {
            signer_id: "b".into(),
            org_name: None,
            role_code: "MEDL".into(),
            role_text: None,
        });
        let add = |who: &'static str, s: Signer| Action::AddCoSigners {
            for_signer: who,
            signers: vec![AddedSigner {
                signer: s,
                token_hash: "h".into(),
            }],
            event: serde_json::json!({}),
        };
        // b's group is not active yet (a has not signed): added, notified later.
        let t = decide(&j, 0, add("b", ola.clone()), now()).unwrap();
        assert_eq!(t.added_signers.len(), 1);
        assert!(t.notifications.is_empty());
        assert_eq!(t.events[0].kind, "co_signers_added");
        assert_eq!(t.events[0].signer_id.as_deref(), Some("b"));
        // Once a has signed, the co-signer is notified at once (any job kind).
        j.signers[0].status = SignerStatus::Signed;
        let t = decide(&j, 0, add("b", ola.clone()), now()).unwrap();
        assert_eq!(t.notifications.len(), 1);
        assert_eq!(t.notifications[0].purpose, Purpose::CoSignerRequest);
        // Refusals: a signer for themselves, the same person twice, an ended job.
        assert_eq!(
            decide(&j, 0, add("a", ola.clone()), now()).unwrap_err(),
            Refusal::SignerNotWaiting(SignerStatus::Signed)
        );
        let mut dup = ola.clone();
        dup.identifier = SignerIdentifier::NationalId("01889449930".into());
        assert_eq!(
            decide(&j, 0, add("b", dup), now()).unwrap_err(),
            Refusal::DuplicateSigner
        );
        j.signers[1].on_behalf_of = None;
        assert_eq!(
            decide(&j, 0, add("b", ola.clone()), now()).unwrap_err(),
            Refusal::NotOnBehalfOf
        );
        j.status = JobStatus::Cancelled;
        assert_eq!(
            decide(&j, 0, add("b", ola), now()).unwrap_err(),
            Refusal::JobNotInProgress(JobStatus::Cancelled)
        );
    }

    #[test]
    fn expiry_only_after_the_deadline() {
        let j = job();
        assert!(decide(&j, 0, Action::Expire, now()).is_err());
        let t = decide(&j, 0, Action::Expire, j.expires_at).unwrap();
        assert_eq!(t.job_status, Some(JobStatus::Expired));
        assert!(t.signers.iter().all(|s| s.to == SignerStatus::Expired));
    }
}
