//! The job service: the API that `http` calls to create, read, list, cancel, sign, reject and
//! expire jobs. It runs the state machine against the store, retrying when a concurrent change
//! got there first.
//!
//! Owns: orchestration of a job's lifecycle and signing-URL secrets. Must not: know HTTP, SQL
//! or XML; render anything.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use time::{Duration, OffsetDateTime};

use crate::archive::blobs::{self, BlobError, Blobs};
use crate::archive::store::{
    EventRecord, JobSummary, NewEvent, NewJobRecord, Store, StoreError, to_ms,
};
use crate::identity::VerifiedIdentity;
use crate::jobs::machine::{self, Action, AuthorityProof, Refusal};
use crate::jobs::model::{
    Document, Job, JobStatus, Limits, RequestError, Signer, SignerStatus, ValidJob,
};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("no such job")]
    NotFound,
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("a job needs between 1 and {max} documents, got {got}")]
    DocumentCount { got: usize, max: usize },
    #[error("the job changed concurrently too many times; retry")]
    Busy,
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Store(e)
    }
}

/// A checked PDF ready to be stored with the job.
#[derive(Debug, Clone)]
pub struct IncomingDocument {
    pub filename: Option<String>,
    pub title: Option<String>,
    pub bytes: Bytes,
    pub pages: u32,
}

/// A newly created job and each signer's signing URL.
pub struct Created {
    pub job: Job,
}

/// What comes with a signature besides the identity: the request's client address and user
/// agent, and for a company signer the authority the ceremony established.
#[derive(Debug, Clone, Default)]
pub struct SignContext {
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub authority: Option<AuthorityProof>,
}

#[derive(Clone)]
pub struct JobService {
    store: Store,
    blobs: Blobs,
    limits: Limits,
    max_documents: usize,
    public_base: String,
    url_key: hmac::Key,
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b).as_ref())
}

impl JobService {
    pub fn new(
        store: Store,
        blobs: Blobs,
        limits: Limits,
        max_documents: usize,
        public_base: &str,
        url_secret: &[u8],
    ) -> Self {
        JobService {
            store,
            blobs,
            limits,
            max_documents,
            public_base: public_base.trim_end_matches('/').to_string(),
            url_key: hmac::Key::new(hmac::HMAC_SHA256, url_secret),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn blobs(&self) -> &Blobs {
        &self.blobs
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The secret part of a signer's signing URL. Derived (HMAC) from the signer id, so it
    /// never needs storing; only its SHA-256 is kept to find the signer.
    pub fn signing_token(&self, signer_id: &str) -> String {
        let tag = hmac::sign(&self.url_key, format!("signing-url:{signer_id}").as_bytes());
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    pub fn signing_url(&self, signer: &Signer) -> String {
        self.signing_url_for(&signer.id)
    }

    /// The signing URL of the signer with id `signer_id`.
    pub fn signing_url_for(&self, signer_id: &str) -> String {
        format!(
            "{}/sign/{}",
            self.public_base,
            self.signing_token(signer_id)
        )
    }

    pub async fn create(
        &self,
        org_id: &str,
        req: ValidJob,
        documents: Vec<IncomingDocument>,
        now: OffsetDateTime,
    ) -> Result<Created, JobError> {
        if documents.is_empty() || documents.len() > self.max_documents {
            return Err(JobError::DocumentCount {
                got: documents.len(),
                max: self.max_documents,
            });
        }
        let job_id = uuid::Uuid::now_v7().to_string();
        let now = crate::archive::store::from_ms(to_ms(now));
        let mut docs = Vec::with_capacity(documents.len());
        for (i, d) in documents.into_iter().enumerate() {
            let doc_id = uuid::Uuid::new_v4().to_string();
            let title = req
                .document_titles
                .as_ref()
                .and_then(|t| t.get(i).cloned())
                .or(d.title)
                .or_else(|| d.filename.clone())
                .unwrap_or_else(|| format!("Document {}", i + 1));
            let key = blobs::document_key(&job_id, &doc_id);
            let sha = sha256_hex(&d.bytes);
            let size = d.bytes.len() as u64;
            self.blobs.put(&key, d.bytes).await?;
            docs.push(Document {
                id: doc_id,
                position: i as u32,
                title,
                filename: d.filename,
                size,
                sha256: sha,
                pages: d.pages,
                blob_key: key,
            });
        }
        let signers: Vec<Signer> = req
            .signers
            .into_iter()
            .enumerate()
            .map(|(i, s)| Signer {
                id: uuid::Uuid::new_v4().to_string(),
                position: i as u32,
                identifier: s.identifier,
                on_behalf_of: s.on_behalf_of,
                email: s.email,
                mobile: s.mobile,
                lang: s.lang,
                order: s.order,
                co_signer_of: None,
                status: SignerStatus::Waiting,
                status_at: now,
                identity_json: None,
                client_ip: None,
                user_agent: None,
                authority_json: None,
            })
            .collect();
        let token_hashes: Vec<String> = signers
            .iter()
            .map(|s| sha256_hex(self.signing_token(&s.id).as_bytes()))
            .collect();
        let job = Job {
            id: job_id,
            org_id: org_id.to_string(),
            title: req.title,
            nonsensitive_title: req.nonsensitive_title,
            kind: req.kind,
            status: JobStatus::InProgress,
            required_loa: req.required_loa,
            reference: req.reference,
            callback_url: req.callback_url,
            redirect: req.redirect,
            created_at: now,
            expires_at: now + Duration::days(i64::from(req.expires_in_days)),
            completed_at: None,
            signers,
            documents: docs,
        };
        let event = NewEvent {
            job_id: Some(job.id.clone()),
            signer_id: None,
            kind: "job_created".into(),
            data: serde_json::json!({
                "status": "in_progress",
                "signers": job.signers.len(),
                "documents": job.documents.len(),
            }),
            webhook: job.callback_url.clone(),
        };
        let notifications = machine::initial_notifications(&job);
        self.store
            .insert_job(
                NewJobRecord {
                    job: &job,
                    signer_token_hashes: &token_hashes,
                    notifications: &notifications,
                },
                event,
                now,
            )
            .await?;
        Ok(Created { job })
    }

    /// The organisation's job; someone else's job is reported as not found.
    pub async fn get(&self, org_id: &str, job_id: &str) -> Result<Job, JobError> {
        if uuid::Uuid::parse_str(job_id).is_err() {
            return Err(JobError::NotFound);
        }
        self.store
            .job(Some(org_id), job_id)
            .await?
            .map(|(j, _)| j)
            .ok_or(JobError::NotFound)
    }

    pub async fn list(
        &self,
        org_id: &str,
        after: Option<(i64, &str)>,
        status: Option<JobStatus>,
        limit: u32,
    ) -> Result<Vec<JobSummary>, JobError> {
        Ok(self.store.list_jobs(org_id, after, status, limit).await?)
    }

    pub async fn events(
        &self,
        org_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>, JobError> {
        Ok(self.store.events_after(org_id, after, limit).await?)
    }

    /// Resolves a signing-URL token to its job and signer.
    pub async fn by_token(&self, token: &str) -> Result<(Job, String), JobError> {
        if token.len() > 64
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(JobError::NotFound);
        }
        let hash = sha256_hex(token.as_bytes());
        let (job_id, signer_id) = self
            .store
            .signer_by_token(&hash)
            .await?
            .ok_or(JobError::NotFound)?;
        let (job, _) = self
            .store
            .job(None, &job_id)
            .await?
            .ok_or(JobError::NotFound)?;
        Ok((job, signer_id))
    }

    /// Runs `action` on the job, re-reading and re-deciding when a concurrent change won.
    async fn act<'a, F>(
        &self,
        org_id: Option<&str>,
        job_id: &str,
        now: OffsetDateTime,
        action: F,
    ) -> Result<Job, JobError>
    where
        F: Fn(&Job) -> Action<'a>,
    {
        for _ in 0..8 {
            let (job, version) = self
                .store
                .job(org_id, job_id)
                .await?
                .ok_or(JobError::NotFound)?;
            let t = machine::decide(&job, version, action(&job), now)?;
            match self.store.apply(&t, now).await {
                Ok(()) => {
                    let (job, _) = self
                        .store
                        .job(org_id, job_id)
                        .await?
                        .ok_or(JobError::NotFound)?;
                    return Ok(job);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(JobError::Busy)
    }

    pub async fn cancel(
        &self,
        org_id: &str,
        job_id: &str,
        now: OffsetDateTime,
    ) -> Result<Job, JobError> {
        if uuid::Uuid::parse_str(job_id).is_err() {
            return Err(JobError::NotFound);
        }
        self.act(Some(org_id), job_id, now, |_| Action::Cancel)
            .await
    }

    pub async fn sign(
        &self,
        job_id: &str,
        signer_id: &str,
        identity: &VerifiedIdentity,
        ctx: SignContext,
        now: OffsetDateTime,
    ) -> Result<Job, JobError> {
        self.act(None, job_id, now, |_| Action::Sign {
            signer_id,
            identity,
            client_ip: ctx.client_ip.clone(),
            user_agent: ctx.user_agent.clone(),
            authority: ctx.authority.clone(),
        })
        .await
    }

    /// Adds `signers` (holders of signing authority from the register) to the job so that the
    /// authority of `for_signer` can be completed, on the job as read at `version`: a job that
    /// changed meanwhile is refused with `StoreError::Conflict` (the caller decides again).
    /// Their signing-URL secrets are derived as for any signer; the `co_signers_added` event
    /// and the notifications of those already active go in the same transaction.
    pub async fn add_co_signers(
        &self,
        job: &Job,
        version: i64,
        for_signer: &str,
        signers: Vec<Signer>,
        event: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<Job, JobError> {
        if job.signers.len() + signers.len() > self.limits.max_signers {
            return Err(JobError::Request(RequestError::SignerCount {
                got: job.signers.len() + signers.len(),
                max: self.limits.max_signers,
            }));
        }
        let added = signers
            .into_iter()
            .map(|signer| crate::archive::store::AddedSigner {
                token_hash: sha256_hex(self.signing_token(&signer.id).as_bytes()),
                signer,
            })
            .collect();
        let t = machine::decide(
            job,
            version,
            Action::AddCoSigners {
                for_signer,
                signers: added,
                event,
            },
            now,
        )?;
        self.store.apply(&t, now).await?;
        let (job, _) = self
            .store
            .job(Some(&job.org_id), &job.id)
            .await?
            .ok_or(JobError::NotFound)?;
        Ok(job)
    }

    /// The job with its version, for a caller that decides on it and applies with
    /// [`JobService::add_co_signers`]. Someone else's job is reported as not found.
    pub async fn get_versioned(&self, org_id: &str, job_id: &str) -> Result<(Job, i64), JobError> {
        if uuid::Uuid::parse_str(job_id).is_err() {
            return Err(JobError::NotFound);
        }
        self.store
            .job(Some(org_id), job_id)
            .await?
            .ok_or(JobError::NotFound)
    }

    /// Tells the sender (event feed and webhook), once per distinct notice, that a company
    /// signer cannot sign: `authority_incomplete` or `authority_refused` with its details.
    pub async fn notify_authority(
        &self,
        job: &Job,
        signer_id: &str,
        kind: &str,
        data: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<bool, JobError> {
        let ev = NewEvent {
            job_id: Some(job.id.clone()),
            signer_id: Some(signer_id.to_string()),
            kind: kind.to_string(),
            data,
            webhook: job.callback_url.clone(),
        };
        Ok(self.store.append_event_once(&job.org_id, &ev, now).await?)
    }

    pub async fn reject(
        &self,
        job_id: &str,
        signer_id: &str,
        identity: &VerifiedIdentity,
        now: OffsetDateTime,
    ) -> Result<Job, JobError> {
        self.act(None, job_id, now, |_| Action::Reject {
            signer_id,
            identity,
        })
        .await
    }

    /// Records a finished seal; exactly one caller wins, the others get a refusal.
    pub async fn complete_sealed(
        &self,
        job_id: &str,
        blob_key: &str,
        sha256: &str,
        now: OffsetDateTime,
    ) -> Result<Job, JobError> {
        self.act(None, job_id, now, |_| Action::Sealed {
            blob_key: blob_key.to_string(),
            sha256: sha256.to_string(),
        })
        .await
    }

    /// Fails a fully signed job whose sealing gave up; `reason` is shown to the sender.
    pub async fn sealing_failed(
        &self,
        job_id: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Job, JobError> {
        self.act(None, job_id, now, |_| Action::SealingFailed {
            reason: reason.to_string(),
        })
        .await
    }

    /// Ends every in-progress job whose deadline has passed. Returns how many it ended.
    pub async fn expire_due(&self, now: OffsetDateTime) -> Result<usize, JobError> {
        let mut ended = 0;
        loop {
            let ids = self.store.expired_job_ids(now, 100).await?;
            if ids.is_empty() {
                return Ok(ended);
            }
            let batch = ids.len();
            for id in ids {
                match self.act(None, &id, now, |_| Action::Expire).await {
                    Ok(_) => ended += 1,
                    // Signed meanwhile, or ended by someone else: nothing to expire.
                    Err(JobError::Refused(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            if batch < 100 {
                return Ok(ended);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{IdpKind, VerifiedIdentity};
    use crate::jobs::model::{JobKind, JobRequest, Loa};

    const KARI: &str = "13097248022";
    const OLA: &str = "01889449930";

    async fn service(dir: &std::path::Path) -> (JobService, String) {
        let store = Store::connect(&format!("sqlite://{}/t.db", dir.display()), 4)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let org = store
            .create_org("991825827", "Org", OffsetDateTime::now_utc())
            .await
            .unwrap();
        let blobs = Blobs::local(&dir.join("blobs")).unwrap();
        let limits = Limits {
            max_signers: 10,
            default_expires_in_days: 30,
            max_expires_in_days: 365,
        };
        (
            JobService::new(store, blobs, limits, 10, "http://gw", b"secret"),
            org.id,
        )
    }

    fn identity(nid: &str) -> VerifiedIdentity {
        VerifiedIdentity {
            idp: IdpKind::Dev,
            issuer: "dev".into(),
            national_id: Some(nid.into()),
            eidas_id: None,
            name: nid.into(),
            date_of_birth: None,
            loa: Loa::High,
            auth_time: OffsetDateTime::now_utc(),
            evidence: None,
        }
    }

    async fn new_job(svc: &JobService, org: &str, now: OffsetDateTime) -> Job {
        let req: JobRequest = serde_json::from_value(serde_json::json!({
            "title": "T", "kind": "portal",
            "signers": [{"national_id": KARI}, {"national_id": OLA}]
        }))
        .unwrap();
        let valid = req.validate(svc.limits()).unwrap();
        assert_eq!(valid.kind, JobKind::Portal);
        let doc = IncomingDocument {
            filename: Some("a.pdf".into()),
            title: None,
            bytes: Bytes::from_static(b"%PDF-1.7 test"),
            pages: 1,
        };
        svc.create(org, valid, vec![doc], now).await.unwrap().job
    }

    #[tokio::test]
    async fn scheduler_expiry_ends_only_overdue_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let (svc, org) = service(dir.path()).await;
        let now = OffsetDateTime::now_utc();
        let job = new_job(&svc, &org, now).await;
        assert_eq!(svc.expire_due(now + Duration::days(29)).await.unwrap(), 0);
        assert_eq!(svc.expire_due(now + Duration::days(31)).await.unwrap(), 1);
        let j = svc.get(&org, &job.id).await.unwrap();
        assert_eq!(j.status, JobStatus::Expired);
        assert!(j.signers.iter().all(|s| s.status == SignerStatus::Expired));
        // Idempotent: nothing left to expire.
        assert_eq!(svc.expire_due(now + Duration::days(40)).await.unwrap(), 0);
        let kinds: Vec<String> = svc
            .store()
            .job_events(&job.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["job_created", "job_expired"]);
    }

    #[tokio::test]
    async fn concurrent_last_signatures_enqueue_sealing_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let (svc, org) = service(dir.path()).await;
        let now = OffsetDateTime::now_utc();
        let job = new_job(&svc, &org, now).await;
        let (a, b) = (identity(KARI), identity(OLA));
        let (r1, r2) = tokio::join!(
            svc.sign(&job.id, &job.signers[0].id, &a, SignContext::default(), now),
            svc.sign(&job.id, &job.signers[1].id, &b, SignContext::default(), now),
        );
        r1.unwrap();
        r2.unwrap();
        assert_eq!(svc.store().seal_queue_len().await.unwrap(), 1);
        let all_signed = svc
            .store()
            .job_events(&job.id)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.kind == "job_all_signed")
            .count();
        assert_eq!(all_signed, 1);
        // Signing twice is refused, and so is cancelling a fully signed job.
        assert!(matches!(
            svc.sign(&job.id, &job.signers[0].id, &a, SignContext::default(), now)
                .await,
            Err(JobError::Refused(Refusal::SignerNotWaiting(
                SignerStatus::Signed
            )))
        ));
        assert!(matches!(
            svc.cancel(&org, &job.id, now).await,
            Err(JobError::Refused(Refusal::AlreadySigned))
        ));
    }

    #[tokio::test]
    async fn audit_chain_detects_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let (svc, org) = service(dir.path()).await;
        let now = OffsetDateTime::now_utc();
        let job = new_job(&svc, &org, now).await;
        svc.sign(
            &job.id,
            &job.signers[0].id,
            &identity(KARI),
            SignContext::default(),
            now,
        )
        .await
        .unwrap();
        assert_eq!(svc.store().verify_audit_chain(&org).await.unwrap(), 3);
        // Rewrite history behind the gateway's back: the chain no longer verifies.
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}/t.db", dir.path().display()))
            .await
            .unwrap();
        sqlx::query(
            "UPDATE events SET data = '{\"status\":\"rejected\"}' WHERE kind = 'signer_signed'",
        )
        .execute(&pool)
        .await
        .unwrap();
        let err = svc.store().verify_audit_chain(&org).await.unwrap_err();
        assert!(
            err.to_string().contains("audit hash mismatch at event 3"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn signing_tokens_resolve_and_reject_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let (svc, org) = service(dir.path()).await;
        let job = new_job(&svc, &org, OffsetDateTime::now_utc()).await;
        let token = svc.signing_token(&job.signers[1].id);
        let (j, sid) = svc.by_token(&token).await.unwrap();
        assert_eq!(
            (j.id.as_str(), sid.as_str()),
            (job.id.as_str(), job.signers[1].id.as_str())
        );
        assert!(svc.signing_url(&job.signers[1]).ends_with(&token));
        for bad in ["", "x", "../../etc/passwd", &"A".repeat(65), &token[1..]] {
            assert!(
                matches!(svc.by_token(bad).await, Err(JobError::NotFound)),
                "{bad}"
            );
        }
        // Another organisation cannot read the job.
        assert!(matches!(
            svc.get("someone-else", &job.id).await,
            Err(JobError::NotFound)
        ));
    }
}
