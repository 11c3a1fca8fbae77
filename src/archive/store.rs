//! The job store: organisations, API keys, jobs, signers, documents, the event feed with its
//! hash-chained audit log, and the sealing queue, on SQLite (default) or PostgreSQL.
//!
//! Owns: SQL, migrations (`migrations/`, the same files on both databases), transactions and
//! the atomicity of a state change with its events. Must not: decide state transitions (it
//! applies the [`Transition`]s that `jobs` computes, refusing them if the job moved meanwhile).

mod logins;

pub use logins::SessionRecord;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use time::OffsetDateTime;

use crate::authority::AuthorityKind;
use crate::jobs::model::{
    CoSignerOf, Document, Job, JobKind, JobStatus, Language, Loa, OnBehalfOf, Redirects, Signer,
    SignerIdentifier, SignerStatus,
};
use crate::notify::{Channel, NewNotification, Purpose, Status as NotificationStatus};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?} (use sqlite://PATH or postgres://…)")]
    Url(String),
    #[error("the record changed concurrently; retry")]
    Conflict,
    #[error("already exists")]
    Duplicate,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// SQLite has one writer at a time; writers queue here (fairly, without sleeping) instead
    /// of in SQLite's busy handler, whose backoff sleeps are what a p99 latency would show.
    write_gate: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
}

type WriteGate = Option<tokio::sync::OwnedMutexGuard<()>>;

#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub orgnr: String,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub org_id: String,
    pub secret_hash: String,
}

/// A job as first stored.
pub struct NewJobRecord<'a> {
    pub job: &'a Job,
    pub signer_token_hashes: &'a [String],
    /// Notifications of the signers active from the start.
    pub notifications: &'a [NewNotification],
}

/// A signer added to a job in progress, with the SHA-256 of its signing-URL secret.
#[derive(Debug, Clone)]
pub struct AddedSigner {
    pub signer: Signer,
    pub token_hash: String,
}

/// A signer notification leased by a notify worker.
#[derive(Debug, Clone)]
pub struct NotificationDelivery {
    pub id: String,
    pub org_id: String,
    pub job_id: String,
    pub signer_id: String,
    pub purpose: Purpose,
    pub channel: Channel,
    pub destination: String,
    pub lang: Language,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// What happened to one notification attempt.
#[derive(Debug, Clone, Copy)]
pub enum NotificationOutcome<'a> {
    /// Accepted by the relay or gateway, with its reference (our Message-ID, LINK's messageId).
    Sent { provider_ref: &'a str },
    /// Try again at `at`.
    Retry { at: OffsetDateTime, error: &'a str },
    /// Given up: refused for good or out of attempts.
    Failed { error: &'a str },
    /// The channel is not configured.
    NotSent { reason: &'a str },
    /// No longer needed.
    Cancelled { reason: &'a str },
}

/// A signer notification as the API shows it.
#[derive(Debug, Clone)]
pub struct NotificationRecord {
    pub signer_id: String,
    pub purpose: Purpose,
    pub channel: Channel,
    pub status: NotificationStatus,
    pub attempts: i64,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    /// The last failure, or why it was not sent or cancelled.
    pub reason: Option<String>,
}

/// An event to append to the organisation's feed.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub job_id: Option<String>,
    pub signer_id: Option<String>,
    pub kind: String,
    pub data: serde_json::Value,
    /// Deliver this event to the job's callback URL as well (outbox row, same transaction).
    pub webhook: Option<String>,
}

/// A webhook delivery leased by a notify worker.
#[derive(Debug, Clone)]
pub struct WebhookDelivery {
    pub org_id: String,
    pub seq: i64,
    pub url: String,
    pub attempts: i64,
    pub event: EventRecord,
    pub secret: Option<String>,
}

/// What happened to one webhook delivery attempt.
#[derive(Debug, Clone, Copy)]
pub enum WebhookOutcome<'a> {
    Delivered,
    Retry { at: OffsetDateTime, error: &'a str },
    GiveUp { error: &'a str },
}

#[derive(Debug, Clone)]
pub struct EventRecord {
    pub seq: i64,
    pub job_id: Option<String>,
    pub signer_id: Option<String>,
    pub kind: String,
    pub data: String,
    pub at: OffsetDateTime,
    pub hash: String,
}

/// A change of one job that `jobs` decided, applied atomically or not at all.
#[derive(Debug, Clone, Default)]
pub struct Transition {
    pub job_id: String,
    pub org_id: String,
    /// The job version the decision was based on; a different stored version refuses it.
    pub expected_version: i64,
    pub job_status: Option<JobStatus>,
    pub completed_at: Option<OffsetDateTime>,
    pub sealed: Option<(String, String)>,
    pub signers: Vec<SignerChange>,
    pub enqueue_seal: bool,
    pub dequeue_seal: bool,
    pub events: Vec<NewEvent>,
    /// Signers added to the job (co-signers from the business register).
    pub added_signers: Vec<AddedSigner>,
    /// Signer notifications to queue (outbox rows; a duplicate of a queued one is ignored).
    pub notifications: Vec<NewNotification>,
}

#[derive(Debug, Clone)]
pub struct SignerChange {
    pub signer_id: String,
    pub from: SignerStatus,
    pub to: SignerStatus,
    pub identity_json: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Business-register evidence for a signer on behalf of a company (set when signing).
    pub authority_json: Option<String>,
}

#[derive(Debug, Clone)]
pub struct JobSummary {
    pub id: String,
    pub title: String,
    pub kind: JobKind,
    pub status: JobStatus,
    pub reference: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
}

pub fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    hex::encode(ctx.finish().as_ref())
}

/// The audit chain's hash of one event: SHA-256 over the previous hash and the row's fields,
/// each length-prefixed so no two different rows serialise the same.
pub fn event_hash(prev: &str, org_id: &str, seq: i64, ev: &EventFields<'_>) -> String {
    let seq = seq.to_string();
    let at = ev.at_ms.to_string();
    let fields: [&[u8]; 8] = [
        prev.as_bytes(),
        org_id.as_bytes(),
        seq.as_bytes(),
        ev.job_id.unwrap_or("").as_bytes(),
        ev.signer_id.unwrap_or("").as_bytes(),
        ev.kind.as_bytes(),
        at.as_bytes(),
        ev.data.as_bytes(),
    ];
    let lens: Vec<[u8; 8]> = fields
        .iter()
        .map(|f| (f.len() as u64).to_be_bytes())
        .collect();
    let mut parts: Vec<&[u8]> = Vec::with_capacity(16);
    for (f, l) in fields.iter().zip(&lens) {
        parts.push(l);
        parts.push(f);
    }
    sha256_hex(&parts)
}

pub struct EventFields<'a> {
    pub job_id: Option<&'a str>,
    pub signer_id: Option<&'a str>,
    pub kind: &'a str,
    pub at_ms: i64,
    pub data: &'a str,
}

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {v:?}"))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation()
                || d.message().contains("UNIQUE constraint failed")
                || d.code().as_deref() == Some("23505")
        }
        _ => false,
    }
}

impl Store {
    /// Connects (creating a SQLite file and its directory when missing).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (dialect, url) = if let Some(path) = url.strip_prefix("sqlite://") {
            let (file, _) = path.split_once('?').unwrap_or((path, ""));
            if file != ":memory:"
                && let Some(dir) = Path::new(file).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Url(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            let url = if url.contains('?') {
                url.to_string()
            } else {
                format!("{url}?mode=rwc")
            };
            (Dialect::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Dialect::Postgres, url.to_string())
        } else {
            return Err(StoreError::Url(url.to_string()));
        };
        let mut opts = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30));
        if dialect == Dialect::Sqlite {
            opts = opts.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL for concurrent readers; FULL sync so an accepted job survives power loss.
                    sqlx::raw_sql(
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                         PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;",
                    )
                    .execute(conn)
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = opts.connect(&url).await?;
        let write_gate =
            (dialect == Dialect::Sqlite).then(|| std::sync::Arc::new(tokio::sync::Mutex::new(())));
        Ok(Store {
            pool,
            dialect,
            write_gate,
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Waits for this process's turn to write (SQLite only; PostgreSQL locks rows itself).
    async fn gate(&self) -> WriteGate {
        match &self.write_gate {
            Some(g) => Some(g.clone().lock_owned().await),
            None => None,
        }
    }

    /// A write transaction and the gate guard that must outlive it.
    async fn begin_write(
        &self,
    ) -> Result<(WriteGate, sqlx::Transaction<'static, sqlx::Any>), StoreError> {
        let gate = self.gate().await;
        let tx = match self.dialect {
            // Take the write lock up front: a deferred transaction that reads, then writes,
            // can fail with SQLITE_BUSY when another writer got there first.
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        };
        Ok((gate, tx))
    }

    // ---------------------------------------------------------------- organisations

    pub async fn create_org(
        &self,
        orgnr: &str,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<Org, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let genesis = sha256_hex(&[b"signgate-audit-genesis", id.as_bytes()]);
        let mut secret = [0u8; 32];
        aws_lc_rs::rand::fill(&mut secret)
            .map_err(|_| StoreError::Corrupt("no randomness".into()))?;
        let (_gate, mut tx) = self.begin_write().await?;
        let r = sqlx::query(
            "INSERT INTO organisations (id, orgnr, name, created_at, event_seq, audit_head, \
             webhook_secret) VALUES ($1, $2, $3, $4, 0, $5, $6)",
        )
        .bind(&id)
        .bind(orgnr)
        .bind(name)
        .bind(to_ms(now))
        .bind(&genesis)
        .bind(hex::encode(secret))
        .execute(&mut *tx)
        .await;
        if let Err(e) = r {
            return Err(if is_unique_violation(&e) {
                StoreError::Duplicate
            } else {
                e.into()
            });
        }
        append_events(
            &mut tx,
            &id,
            now,
            &[NewEvent {
                job_id: None,
                signer_id: None,
                kind: "organisation_created".into(),
                data: serde_json::json!({"orgnr": orgnr, "name": name}),
                webhook: None,
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(Org {
            id,
            orgnr: orgnr.into(),
            name: name.into(),
            created_at: now,
            revoked_at: None,
        })
    }

    pub async fn orgs(&self) -> Result<Vec<Org>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, orgnr, name, created_at, revoked_at FROM organisations ORDER BY orgnr",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(org_from_row).collect()
    }

    pub async fn org_by_orgnr(&self, orgnr: &str) -> Result<Option<Org>, StoreError> {
        let row = sqlx::query(
            "SELECT id, orgnr, name, created_at, revoked_at FROM organisations WHERE orgnr = $1",
        )
        .bind(orgnr)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    pub async fn org_by_id(&self, id: &str) -> Result<Option<Org>, StoreError> {
        let row = sqlx::query(
            "SELECT id, orgnr, name, created_at, revoked_at FROM organisations WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    /// Revokes the organisation and all its API keys. Returns false if it was not active.
    pub async fn revoke_org(&self, orgnr: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let (_gate, mut tx) = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE organisations SET revoked_at = $1 WHERE orgnr = $2 AND revoked_at IS NULL \
             RETURNING id",
        )
        .bind(to_ms(now))
        .bind(orgnr)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let id: String = row.try_get("id")?;
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE org_id = $2 AND revoked_at IS NULL")
            .bind(to_ms(now))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        append_events(
            &mut tx,
            &id,
            now,
            &[NewEvent {
                job_id: None,
                signer_id: None,
                kind: "organisation_revoked".into(),
                data: serde_json::json!({"orgnr": orgnr}),
                webhook: None,
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn add_api_key(
        &self,
        org_id: &str,
        key_id: &str,
        secret_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let _gate = self.gate().await;
        sqlx::query(
            "INSERT INTO api_keys (id, org_id, secret_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(key_id)
        .bind(org_id)
        .bind(secret_hash)
        .bind(to_ms(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An active key of an active organisation.
    pub async fn api_key(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT k.org_id, k.secret_hash FROM api_keys k JOIN organisations o ON o.id = k.org_id \
             WHERE k.id = $1 AND k.revoked_at IS NULL AND o.revoked_at IS NULL",
        )
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(ApiKeyRecord {
                org_id: r.try_get("org_id")?,
                secret_hash: r.try_get("secret_hash")?,
            })
        })
        .transpose()
    }

    // ---------------------------------------------------------------- jobs

    pub async fn insert_job(
        &self,
        rec: NewJobRecord<'_>,
        event: NewEvent,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let job = rec.job;
        let redirect =
            serde_json::to_string(&job.redirect).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (_gate, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO jobs (id, org_id, title, kind, status, required_loa, reference, \
             callback_url, redirect_json, created_at, expires_at, version, nonsensitive_title) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12)",
        )
        .bind(&job.id)
        .bind(&job.org_id)
        .bind(&job.title)
        .bind(job.kind.as_str())
        .bind(job.status.as_str())
        .bind(job.required_loa.as_str())
        .bind(&job.reference)
        .bind(&job.callback_url)
        .bind(&redirect)
        .bind(to_ms(job.created_at))
        .bind(to_ms(job.expires_at))
        .bind(&job.nonsensitive_title)
        .execute(&mut *tx)
        .await?;
        for d in &job.documents {
            sqlx::query(
                "INSERT INTO documents (id, job_id, position, title, filename, size, sha256, \
                 pages, blob_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&d.id)
            .bind(&job.id)
            .bind(i64::from(d.position))
            .bind(&d.title)
            .bind(&d.filename)
            .bind(d.size as i64)
            .bind(&d.sha256)
            .bind(i64::from(d.pages))
            .bind(&d.blob_key)
            .execute(&mut *tx)
            .await?;
        }
        for (s, token_hash) in job.signers.iter().zip(rec.signer_token_hashes) {
            insert_signer(&mut tx, &job.id, s, token_hash).await?;
        }
        insert_notifications(&mut tx, job, rec.notifications, now).await?;
        append_events(&mut tx, &job.org_id, now, &[event]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Loads a job with its signers and documents, and its version. With `org_id`, only a job
    /// of that organisation is found (others' jobs are indistinguishable from missing ones).
    pub async fn job(
        &self,
        org_id: Option<&str>,
        job_id: &str,
    ) -> Result<Option<(Job, i64)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, title, kind, status, required_loa, reference, callback_url, \
             redirect_json, created_at, expires_at, completed_at, version, nonsensitive_title \
             FROM jobs WHERE id = $1",
        )
        .bind(job_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let owner: String = row.try_get("org_id")?;
        if org_id.is_some_and(|o| o != owner) {
            return Ok(None);
        }
        let version: i64 = row.try_get("version")?;
        let signers = sqlx::query(
            "SELECT id, position, identifier_kind, identifier, on_behalf_of, \
             on_behalf_authority, email, mobile, signing_order, status, status_at, identity_json, \
             client_ip, user_agent, authority_json, lang, added_for, notify_context \
             FROM signers WHERE job_id = $1 ORDER BY position",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        let documents = sqlx::query(
            "SELECT id, position, title, filename, size, sha256, pages, blob_key FROM documents \
             WHERE job_id = $1 ORDER BY position",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        let job = Job {
            id: row.try_get("id")?,
            org_id: owner,
            title: row.try_get("title")?,
            nonsensitive_title: row.try_get("nonsensitive_title")?,
            kind: parse_col(&row, "kind", JobKind::parse)?,
            status: parse_col(&row, "status", JobStatus::parse)?,
            required_loa: parse_col(&row, "required_loa", Loa::parse)?,
            reference: row.try_get("reference")?,
            callback_url: row.try_get("callback_url")?,
            redirect: {
                let s: String = row.try_get("redirect_json")?;
                serde_json::from_str::<Redirects>(&s).map_err(|_| corrupt("redirect", &s))?
            },
            created_at: from_ms(row.try_get("created_at")?),
            expires_at: from_ms(row.try_get("expires_at")?),
            completed_at: row.try_get::<Option<i64>, _>("completed_at")?.map(from_ms),
            signers: signers
                .iter()
                .map(signer_from_row)
                .collect::<Result<_, _>>()?,
            documents: documents
                .iter()
                .map(document_from_row)
                .collect::<Result<_, _>>()?,
        };
        Ok(Some((job, version)))
    }

    /// The job and signer a signing-URL token belongs to.
    pub async fn signer_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query("SELECT id, job_id FROM signers WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("job_id")?, r.try_get("id")?)))
            .transpose()
    }

    /// One page of the organisation's jobs, oldest first, after the `(created_at, id)` cursor.
    pub async fn list_jobs(
        &self,
        org_id: &str,
        after: Option<(i64, &str)>,
        status: Option<JobStatus>,
        limit: u32,
    ) -> Result<Vec<JobSummary>, StoreError> {
        let (after_ms, after_id) = after.unwrap_or((i64::MIN, ""));
        let rows = sqlx::query(
            "SELECT id, title, kind, status, reference, created_at, expires_at, completed_at \
             FROM jobs WHERE org_id = $1 AND (created_at > $2 OR (created_at = $2 AND id > $3)) \
             AND ($4 = '' OR status = $4) ORDER BY created_at, id LIMIT $5",
        )
        .bind(org_id)
        .bind(after_ms)
        .bind(after_id)
        .bind(status.map_or("", JobStatus::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(JobSummary {
                    id: r.try_get("id")?,
                    title: r.try_get("title")?,
                    kind: parse_col(r, "kind", JobKind::parse)?,
                    status: parse_col(r, "status", JobStatus::parse)?,
                    reference: r.try_get("reference")?,
                    created_at: from_ms(r.try_get("created_at")?),
                    expires_at: from_ms(r.try_get("expires_at")?),
                    completed_at: r.try_get::<Option<i64>, _>("completed_at")?.map(from_ms),
                })
            })
            .collect()
    }

    /// Applies a decided transition atomically. `Conflict` when the job moved since it was read
    /// or a signer is no longer in the expected status.
    pub async fn apply(&self, t: &Transition, now: OffsetDateTime) -> Result<(), StoreError> {
        let (_gate, mut tx) = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE jobs SET version = version + 1, \
             status = CASE WHEN $1 = '' THEN status ELSE $1 END, \
             completed_at = CASE WHEN $2 < 0 THEN completed_at ELSE $2 END, \
             sealed_key = CASE WHEN $3 = '' THEN sealed_key ELSE $3 END, \
             sealed_sha256 = CASE WHEN $4 = '' THEN sealed_sha256 ELSE $4 END \
             WHERE id = $5 AND org_id = $6 AND version = $7",
        )
        .bind(t.job_status.map_or("", JobStatus::as_str))
        .bind(t.completed_at.map_or(-1, to_ms))
        .bind(t.sealed.as_ref().map_or("", |s| s.0.as_str()))
        .bind(t.sealed.as_ref().map_or("", |s| s.1.as_str()))
        .bind(&t.job_id)
        .bind(&t.org_id)
        .bind(t.expected_version)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        for s in &t.signers {
            let r = sqlx::query(
                "UPDATE signers SET status = $1, status_at = $2, \
                 identity_json = COALESCE($3, identity_json), client_ip = COALESCE($4, client_ip), \
                 user_agent = COALESCE($5, user_agent), \
                 authority_json = COALESCE($9, authority_json) \
                 WHERE id = $6 AND job_id = $7 AND status = $8",
            )
            .bind(s.to.as_str())
            .bind(to_ms(now))
            .bind(&s.identity_json)
            .bind(&s.client_ip)
            .bind(&s.user_agent)
            .bind(&s.signer_id)
            .bind(&t.job_id)
            .bind(s.from.as_str())
            .bind(&s.authority_json)
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() != 1 {
                return Err(StoreError::Conflict);
            }
        }
        if t.enqueue_seal {
            sqlx::query(
                "INSERT INTO seal_queue (job_id, enqueued_at, attempts, lease_until) \
                 VALUES ($1, $2, 0, 0)",
            )
            .bind(&t.job_id)
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
        }
        if t.dequeue_seal {
            sqlx::query("DELETE FROM seal_queue WHERE job_id = $1")
                .bind(&t.job_id)
                .execute(&mut *tx)
                .await?;
        }
        for a in &t.added_signers {
            let r = insert_signer(&mut tx, &t.job_id, &a.signer, &a.token_hash).await;
            if let Err(StoreError::Db(e)) = &r
                && is_unique_violation(e)
            {
                return Err(StoreError::Duplicate);
            }
            r?;
        }
        if !t.notifications.is_empty() {
            let ids = JobRef {
                id: &t.job_id,
                org_id: &t.org_id,
            };
            insert_notifications(&mut tx, ids, &t.notifications, now).await?;
        }
        append_events(&mut tx, &t.org_id, now, &t.events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Appends `ev` to the organisation's feed (and its webhook) unless an event with the same
    /// job, signer, kind and data is already there: for notices that a page view may raise
    /// again and again (a signer who lacks authority reloading the page). `true` if appended.
    pub async fn append_event_once(
        &self,
        org_id: &str,
        ev: &NewEvent,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (_gate, mut tx) = self.begin_write().await?;
        let seen = sqlx::query(
            "SELECT 1 AS one FROM events WHERE org_id = $1 AND job_id = $2 AND signer_id = $3 \
             AND kind = $4 AND data = $5",
        )
        .bind(org_id)
        .bind(&ev.job_id)
        .bind(&ev.signer_id)
        .bind(&ev.kind)
        .bind(ev.data.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if seen.is_some() {
            return Ok(false);
        }
        append_events(&mut tx, org_id, now, std::slice::from_ref(ev)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// In-progress jobs whose deadline has passed.
    pub async fn expired_job_ids(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM jobs WHERE status = 'in_progress' AND expires_at <= $1 \
             AND id NOT IN (SELECT job_id FROM seal_queue) ORDER BY expires_at LIMIT $2",
        )
        .bind(to_ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    // ---------------------------------------------------------------- sealing queue

    /// Leases the oldest job awaiting sealing whose lease is free or ran out.
    pub async fn claim_seal(
        &self,
        owner: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<(String, i64)>, StoreError> {
        let _gate = self.gate().await;
        let until = to_ms(now) + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let sql = match self.dialect {
            Dialect::Postgres => {
                "UPDATE seal_queue SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
                 WHERE job_id = (SELECT job_id FROM seal_queue WHERE lease_until <= $3 \
                 ORDER BY enqueued_at LIMIT 1 FOR UPDATE SKIP LOCKED) AND lease_until <= $3 \
                 RETURNING job_id, attempts"
            }
            Dialect::Sqlite => {
                "UPDATE seal_queue SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
                 WHERE job_id = (SELECT job_id FROM seal_queue WHERE lease_until <= $3 \
                 ORDER BY enqueued_at LIMIT 1) AND lease_until <= $3 \
                 RETURNING job_id, attempts"
            }
        };
        let row = sqlx::query(sql)
            .bind(owner)
            .bind(until)
            .bind(to_ms(now))
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("job_id")?, r.try_get("attempts")?)))
            .transpose()
    }

    /// Records a failed sealing attempt; the job is retried when `retry_at` comes.
    pub async fn seal_failed(
        &self,
        job_id: &str,
        owner: &str,
        error: &str,
        retry_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let _gate = self.gate().await;
        sqlx::query(
            "UPDATE seal_queue SET lease_until = $1, last_error = $2, lease_owner = NULL \
             WHERE job_id = $3 AND lease_owner = $4",
        )
        .bind(to_ms(retry_at))
        .bind(error)
        .bind(job_id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn seal_queue_len(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM seal_queue")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    // ---------------------------------------------------------------- webhooks

    /// The organisation's webhook signing secret (hex), created on first use.
    pub async fn webhook_secret(&self, org_id: &str) -> Result<String, StoreError> {
        let _gate = self.gate().await;
        let mut fresh = [0u8; 32];
        aws_lc_rs::rand::fill(&mut fresh)
            .map_err(|_| StoreError::Corrupt("no randomness".into()))?;
        sqlx::query(
            "UPDATE organisations SET webhook_secret = $1 WHERE id = $2 AND webhook_secret IS NULL",
        )
        .bind(hex::encode(fresh))
        .bind(org_id)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT webhook_secret FROM organisations WHERE id = $1")
            .bind(org_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("webhook_secret")?)
    }

    /// Leases the next due webhook delivery.
    pub async fn claim_webhook(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<WebhookDelivery>, StoreError> {
        let _gate = self.gate().await;
        let until = to_ms(now) + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let sql = match self.dialect {
            Dialect::Postgres => {
                "UPDATE webhook_outbox SET lease_until = $1, attempts = attempts + 1 \
                 WHERE (org_id, seq) = (SELECT org_id, seq FROM webhook_outbox \
                 WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2 \
                 AND lease_until <= $2 ORDER BY next_attempt_at, seq LIMIT 1 \
                 FOR UPDATE SKIP LOCKED) AND lease_until <= $2 \
                 RETURNING org_id, seq, url, attempts"
            }
            Dialect::Sqlite => {
                "UPDATE webhook_outbox SET lease_until = $1, attempts = attempts + 1 \
                 WHERE (org_id, seq) = (SELECT org_id, seq FROM webhook_outbox \
                 WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2 \
                 AND lease_until <= $2 ORDER BY next_attempt_at, seq LIMIT 1) \
                 AND lease_until <= $2 \
                 RETURNING org_id, seq, url, attempts"
            }
        };
        let Some(row) = sqlx::query(sql)
            .bind(until)
            .bind(to_ms(now))
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let org_id: String = row.try_get("org_id")?;
        let seq: i64 = row.try_get("seq")?;
        let ev = sqlx::query(
            "SELECT seq, job_id, signer_id, kind, data, at, hash FROM events \
             WHERE org_id = $1 AND seq = $2",
        )
        .bind(&org_id)
        .bind(seq)
        .fetch_one(&self.pool)
        .await?;
        let secret = sqlx::query("SELECT webhook_secret FROM organisations WHERE id = $1")
            .bind(&org_id)
            .fetch_one(&self.pool)
            .await?
            .try_get("webhook_secret")?;
        Ok(Some(WebhookDelivery {
            url: row.try_get("url")?,
            attempts: row.try_get("attempts")?,
            event: event_from_row(&ev)?,
            org_id,
            seq,
            secret,
        }))
    }

    /// Records the outcome of a delivery attempt: delivered, retry at a time, or given up.
    pub async fn webhook_outcome(
        &self,
        org_id: &str,
        seq: i64,
        outcome: WebhookOutcome<'_>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let _gate = self.gate().await;
        let (delivered, failed, next, error) = match outcome {
            WebhookOutcome::Delivered => (Some(to_ms(now)), None, 0, None),
            WebhookOutcome::Retry { at, error } => (None, None, to_ms(at), Some(error)),
            WebhookOutcome::GiveUp { error } => (None, Some(to_ms(now)), 0, Some(error)),
        };
        sqlx::query(
            "UPDATE webhook_outbox SET delivered_at = $1, failed_at = $2, \
             next_attempt_at = CASE WHEN $3 > 0 THEN $3 ELSE next_attempt_at END, \
             last_error = $4, lease_until = 0 WHERE org_id = $5 AND seq = $6",
        )
        .bind(delivered)
        .bind(failed)
        .bind(next)
        .bind(error)
        .bind(org_id)
        .bind(seq)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // ---------------------------------------------------------------- signer notifications

    /// Leases the next due signer notification (attempts + 1).
    pub async fn claim_notification(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<NotificationDelivery>, StoreError> {
        let _gate = self.gate().await;
        let until = to_ms(now) + i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2);
        let sql = match self.dialect {
            Dialect::Postgres => {
                "UPDATE notifications SET lease_until = $1, attempts = attempts + 1 \
                 WHERE id = (SELECT id FROM notifications WHERE status = 'pending' \
                 AND next_attempt_at <= $2 AND lease_until <= $2 ORDER BY next_attempt_at, id \
                 LIMIT 1 FOR UPDATE SKIP LOCKED) AND status = 'pending' AND lease_until <= $2 \
                 RETURNING id, org_id, job_id, signer_id, purpose, channel, destination, lang, \
                 attempts"
            }
            Dialect::Sqlite => {
                "UPDATE notifications SET lease_until = $1, attempts = attempts + 1 \
                 WHERE id = (SELECT id FROM notifications WHERE status = 'pending' \
                 AND next_attempt_at <= $2 AND lease_until <= $2 ORDER BY next_attempt_at, id \
                 LIMIT 1) AND status = 'pending' AND lease_until <= $2 \
                 RETURNING id, org_id, job_id, signer_id, purpose, channel, destination, lang, \
                 attempts"
            }
        };
        let Some(r) = sqlx::query(sql)
            .bind(until)
            .bind(to_ms(now))
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(NotificationDelivery {
            id: r.try_get("id")?,
            org_id: r.try_get("org_id")?,
            job_id: r.try_get("job_id")?,
            signer_id: r.try_get("signer_id")?,
            purpose: parse_col(&r, "purpose", Purpose::parse)?,
            channel: parse_col(&r, "channel", Channel::parse)?,
            destination: r.try_get("destination")?,
            lang: parse_col(&r, "lang", Language::parse)?,
            attempts: r.try_get("attempts")?,
        }))
    }

    /// Records the outcome of a notification attempt, and for a final one (sent, failed, not
    /// sent) tells the sender in the same transaction: `signer_notified` or
    /// `notification_failed` (feed, and `webhook` when the job has a callback URL).
    pub async fn notification_outcome(
        &self,
        n: &NotificationDelivery,
        outcome: NotificationOutcome<'_>,
        webhook: Option<String>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (status, next, finished, error, reference) = match outcome {
            NotificationOutcome::Sent { provider_ref } => (
                NotificationStatus::Sent,
                None,
                Some(to_ms(now)),
                None,
                Some(provider_ref),
            ),
            NotificationOutcome::Retry { at, error } => (
                NotificationStatus::Pending,
                Some(to_ms(at)),
                None,
                Some(error),
                None,
            ),
            NotificationOutcome::Failed { error } => (
                NotificationStatus::Failed,
                None,
                Some(to_ms(now)),
                Some(error),
                None,
            ),
            NotificationOutcome::NotSent { reason } => (
                NotificationStatus::NotSent,
                None,
                Some(to_ms(now)),
                Some(reason),
                None,
            ),
            NotificationOutcome::Cancelled { reason } => (
                NotificationStatus::Cancelled,
                None,
                Some(to_ms(now)),
                Some(reason),
                None,
            ),
        };
        let (_gate, mut tx) = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE notifications SET status = $1, \
             next_attempt_at = CASE WHEN $2 >= 0 THEN $2 ELSE next_attempt_at END, \
             finished_at = $3, last_error = $4, provider_ref = COALESCE($5, provider_ref), \
             lease_until = 0 WHERE id = $6 AND status = 'pending'",
        )
        .bind(status.as_str())
        .bind(next.unwrap_or(-1))
        .bind(finished)
        .bind(error)
        .bind(reference)
        .bind(&n.id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            // Another worker recorded an outcome first (this one's lease ran out): its event
            // stands, this one is not added.
            return Ok(());
        }
        let kind = match status {
            NotificationStatus::Sent => Some("signer_notified"),
            NotificationStatus::Failed | NotificationStatus::NotSent => Some("notification_failed"),
            NotificationStatus::Pending | NotificationStatus::Cancelled => None,
        };
        if let Some(kind) = kind {
            let mut data = serde_json::json!({
                "notification_id": n.id,
                "channel": n.channel.as_str(),
                "purpose": n.purpose.as_str(),
                "status": status.as_str(),
                "attempts": n.attempts,
            });
            if let Some(e) = error {
                data["reason"] = serde_json::Value::String(e.to_string());
            }
            append_events(
                &mut tx,
                &n.org_id,
                now,
                &[NewEvent {
                    job_id: Some(n.job_id.clone()),
                    signer_id: Some(n.signer_id.clone()),
                    kind: kind.into(),
                    data,
                    webhook,
                }],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every notification of a job, oldest first.
    pub async fn job_notifications(
        &self,
        job_id: &str,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT signer_id, purpose, channel, status, attempts, created_at, finished_at, \
             last_error FROM notifications WHERE job_id = $1 ORDER BY created_at, id",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(NotificationRecord {
                    signer_id: r.try_get("signer_id")?,
                    purpose: parse_col(r, "purpose", Purpose::parse)?,
                    channel: parse_col(r, "channel", Channel::parse)?,
                    status: parse_col(r, "status", NotificationStatus::parse)?,
                    attempts: r.try_get("attempts")?,
                    created_at: from_ms(r.try_get("created_at")?),
                    finished_at: r.try_get::<Option<i64>, _>("finished_at")?.map(from_ms),
                    reason: r.try_get("last_error")?,
                })
            })
            .collect()
    }

    // ---------------------------------------------------------------- events / audit

    pub async fn events_after(
        &self,
        org_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, job_id, signer_id, kind, data, at, hash FROM events \
             WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(org_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    pub async fn job_events(&self, job_id: &str) -> Result<Vec<EventRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, job_id, signer_id, kind, data, at, hash FROM events \
             WHERE job_id = $1 ORDER BY seq",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Recomputes the organisation's audit chain. Returns the number of events checked, or
    /// `Corrupt` naming the first event whose hash or link does not hold.
    pub async fn verify_audit_chain(&self, org_id: &str) -> Result<u64, StoreError> {
        let head = sqlx::query("SELECT audit_head, event_seq FROM organisations WHERE id = $1")
            .bind(org_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| corrupt("organisation", org_id))?;
        let head_hash: String = head.try_get("audit_head")?;
        let head_seq: i64 = head.try_get("event_seq")?;
        let rows = sqlx::query(
            "SELECT seq, job_id, signer_id, kind, data, at, prev_hash, hash FROM events \
             WHERE org_id = $1 ORDER BY seq",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        let mut prev = sha256_hex(&[b"signgate-audit-genesis", org_id.as_bytes()]);
        let mut n = 0u64;
        for r in &rows {
            let seq: i64 = r.try_get("seq")?;
            let stored_prev: String = r.try_get("prev_hash")?;
            let hash: String = r.try_get("hash")?;
            let job_id: Option<String> = r.try_get("job_id")?;
            let signer_id: Option<String> = r.try_get("signer_id")?;
            let kind: String = r.try_get("kind")?;
            let data: String = r.try_get("data")?;
            let at: i64 = r.try_get("at")?;
            if seq != n as i64 + 1 || stored_prev != prev {
                return Err(StoreError::Corrupt(format!(
                    "audit chain broken at event {seq}"
                )));
            }
            let want = event_hash(
                &prev,
                org_id,
                seq,
                &EventFields {
                    job_id: job_id.as_deref(),
                    signer_id: signer_id.as_deref(),
                    kind: &kind,
                    at_ms: at,
                    data: &data,
                },
            );
            if want != hash {
                return Err(StoreError::Corrupt(format!(
                    "audit hash mismatch at event {seq}"
                )));
            }
            prev = hash;
            n += 1;
        }
        if head_seq != n as i64 || head_hash != prev {
            return Err(StoreError::Corrupt(
                "audit head does not match the last event".into(),
            ));
        }
        Ok(n)
    }
}

/// Appends events to the organisation's feed inside `tx`. The `UPDATE … RETURNING` on the
/// organisation row serialises writers per organisation, so sequence order is commit order and
/// a poller that reads `seq > cursor` never skips an event that commits later.
async fn append_events(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    org_id: &str,
    now: OffsetDateTime,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let n = events.len() as i64;
    let row = sqlx::query(
        "UPDATE organisations SET event_seq = event_seq + $1 WHERE id = $2 \
         RETURNING event_seq, audit_head",
    )
    .bind(n)
    .bind(org_id)
    .fetch_one(&mut **tx)
    .await?;
    let last: i64 = row.try_get("event_seq")?;
    let mut prev: String = row.try_get("audit_head")?;
    let at = to_ms(now);
    for (i, ev) in events.iter().enumerate() {
        let seq = last - n + 1 + i as i64;
        let data = ev.data.to_string();
        let hash = event_hash(
            &prev,
            org_id,
            seq,
            &EventFields {
                job_id: ev.job_id.as_deref(),
                signer_id: ev.signer_id.as_deref(),
                kind: &ev.kind,
                at_ms: at,
                data: &data,
            },
        );
        sqlx::query(
            "INSERT INTO events (org_id, seq, job_id, signer_id, kind, data, at, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(org_id)
        .bind(seq)
        .bind(&ev.job_id)
        .bind(&ev.signer_id)
        .bind(&ev.kind)
        .bind(&data)
        .bind(at)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
        if let Some(url) = &ev.webhook {
            sqlx::query(
                "INSERT INTO webhook_outbox (org_id, seq, url, attempts, next_attempt_at, \
                 lease_until) VALUES ($1, $2, $3, 0, $4, 0)",
            )
            .bind(org_id)
            .bind(seq)
            .bind(url)
            .bind(at)
            .execute(&mut **tx)
            .await?;
        }
        prev = hash;
    }
    sqlx::query("UPDATE organisations SET audit_head = $1 WHERE id = $2")
        .bind(&prev)
        .bind(org_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The job a notification row belongs to.
#[derive(Clone, Copy)]
struct JobRef<'a> {
    id: &'a str,
    org_id: &'a str,
}

impl<'a> From<&'a Job> for JobRef<'a> {
    fn from(j: &'a Job) -> Self {
        JobRef {
            id: &j.id,
            org_id: &j.org_id,
        }
    }
}

/// The stored form of a co-signer's non-sensitive notification context.
#[derive(serde::Serialize, serde::Deserialize)]
struct NotifyContext {
    org_name: Option<String>,
    role_code: String,
    role_text: Option<String>,
}

async fn insert_signer(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    job_id: &str,
    s: &Signer,
    token_hash: &str,
) -> Result<(), StoreError> {
    let obo = s.on_behalf_of.as_ref().map(|o| o.orgnr.clone());
    let obo_authority = s
        .on_behalf_of
        .as_ref()
        .map(|o| o.authority.as_str().to_string());
    let (added_by, added_for, context) = match &s.co_signer_of {
        Some(c) => (
            Some("co_signer"),
            Some(c.signer_id.clone()),
            serde_json::to_string(&NotifyContext {
                org_name: c.org_name.clone(),
                role_code: c.role_code.clone(),
                role_text: c.role_text.clone(),
            })
            .ok(),
        ),
        None => (None, None, None),
    };
    sqlx::query(
        "INSERT INTO signers (id, job_id, position, identifier_kind, identifier, \
         on_behalf_of, email, mobile, signing_order, status, status_at, token_hash, \
         on_behalf_authority, lang, added_by, added_for, notify_context) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&s.id)
    .bind(job_id)
    .bind(i64::from(s.position))
    .bind(s.identifier.kind())
    .bind(s.identifier.value().into_owned())
    .bind(obo)
    .bind(&s.email)
    .bind(&s.mobile)
    .bind(i64::from(s.order))
    .bind(s.status.as_str())
    .bind(to_ms(s.status_at))
    .bind(token_hash)
    .bind(obo_authority)
    .bind(s.lang.as_str())
    .bind(added_by)
    .bind(added_for)
    .bind(context)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queues notifications; one already queued for the same signer, purpose and channel stays.
async fn insert_notifications<'a>(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    job: impl Into<JobRef<'a>>,
    notifications: &[NewNotification],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let job = job.into();
    for n in notifications {
        sqlx::query(
            "INSERT INTO notifications (id, org_id, job_id, signer_id, purpose, channel, \
             destination, lang, status, attempts, next_attempt_at, lease_until, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, 0, $9) \
             ON CONFLICT (signer_id, purpose, channel) DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(job.org_id)
        .bind(job.id)
        .bind(&n.signer_id)
        .bind(n.purpose.as_str())
        .bind(n.channel.as_str())
        .bind(&n.destination)
        .bind(n.lang.as_str())
        .bind(to_ms(now))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn parse_col<T>(row: &AnyRow, col: &str, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
    let s: String = row.try_get(col)?;
    parse(&s).ok_or_else(|| corrupt(col, &s))
}

fn org_from_row(r: &AnyRow) -> Result<Org, StoreError> {
    Ok(Org {
        id: r.try_get("id")?,
        orgnr: r.try_get("orgnr")?,
        name: r.try_get("name")?,
        created_at: from_ms(r.try_get("created_at")?),
        revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(from_ms),
    })
}

fn signer_from_row(r: &AnyRow) -> Result<Signer, StoreError> {
    let kind: String = r.try_get("identifier_kind")?;
    let value: String = r.try_get("identifier")?;
    let identifier =
        SignerIdentifier::from_parts(&kind, value).ok_or_else(|| corrupt("identifier", &kind))?;
    let obo: Option<String> = r.try_get("on_behalf_of")?;
    let obo_authority: Option<String> = r.try_get("on_behalf_authority")?;
    let authority = match obo_authority.as_deref() {
        None => AuthorityKind::default(),
        Some(a) => AuthorityKind::parse(a).ok_or_else(|| corrupt("on_behalf_authority", a))?,
    };
    Ok(Signer {
        id: r.try_get("id")?,
        position: u32::try_from(r.try_get::<i64, _>("position")?).unwrap_or(0),
        identifier,
        on_behalf_of: obo.map(|orgnr| OnBehalfOf { orgnr, authority }),
        email: r.try_get("email")?,
        mobile: r.try_get("mobile")?,
        lang: r
            .try_get::<Option<String>, _>("lang")?
            .as_deref()
            .map_or(Some(Language::Nb), Language::parse)
            .ok_or_else(|| corrupt("lang", "?"))?,
        order: u8::try_from(r.try_get::<i64, _>("signing_order")?).unwrap_or(0),
        co_signer_of: {
            let added_for: Option<String> = r.try_get("added_for")?;
            let context: Option<String> = r.try_get("notify_context")?;
            match (added_for, context) {
                (Some(signer_id), Some(c)) => {
                    let c: NotifyContext =
                        serde_json::from_str(&c).map_err(|_| corrupt("notify_context", &c))?;
                    Some(CoSignerOf {
                        signer_id,
                        org_name: c.org_name,
                        role_code: c.role_code,
                        role_text: c.role_text,
                    })
                }
                _ => None,
            }
        },
        status: parse_col(r, "status", SignerStatus::parse)?,
        status_at: from_ms(r.try_get("status_at")?),
        identity_json: r.try_get("identity_json")?,
        client_ip: r.try_get("client_ip")?,
        user_agent: r.try_get("user_agent")?,
        authority_json: r.try_get("authority_json")?,
    })
}

fn document_from_row(r: &AnyRow) -> Result<Document, StoreError> {
    Ok(Document {
        id: r.try_get("id")?,
        position: u32::try_from(r.try_get::<i64, _>("position")?).unwrap_or(0),
        title: r.try_get("title")?,
        filename: r.try_get("filename")?,
        size: u64::try_from(r.try_get::<i64, _>("size")?).unwrap_or(0),
        sha256: r.try_get("sha256")?,
        pages: u32::try_from(r.try_get::<i64, _>("pages")?).unwrap_or(0),
        blob_key: r.try_get("blob_key")?,
    })
}

fn event_from_row(r: &AnyRow) -> Result<EventRecord, StoreError> {
    Ok(EventRecord {
        seq: r.try_get("seq")?,
        job_id: r.try_get("job_id")?,
        signer_id: r.try_get("signer_id")?,
        kind: r.try_get("kind")?,
        data: r.try_get("data")?,
        at: from_ms(r.try_get("at")?),
        hash: r.try_get("hash")?,
    })
}
