//! The organisation API under `/api/v1`: create, read, list and cancel jobs, add the missing
//! co-signers of a company signer from the business register, fetch the sealed PAdES and each
//! signer's XAdES evidence record, and read the durable event feed. Every handler is scoped to
//! the authenticated organisation; another organisation's job is indistinguishable from a
//! missing one.
//!
//! Owns: request parsing (multipart, JSON), response shapes, the OpenAPI description of both.
//! Must not: contain business rules (they are in `jobs`).

use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::AppState;
use super::auth::OrgAuth;
use super::errors::{Kind, Problem, ProblemBody};
use crate::archive::store::{EventRecord, JobSummary, NotificationRecord};
use crate::jobs::authority::{CoSignersAdded, CoSignersRequest};
use crate::jobs::model::{
    Job, JobKind, JobRequest, JobStatus, Language, Loa, OnBehalfOf, Redirects, SignerStatus,
    format_date,
};
use crate::jobs::service::IncomingDocument;
use crate::sealing::pdf::{PdfError, inspect};

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: String,
    pub title: String,
    pub kind: JobKind,
    pub status: JobStatus,
    pub reference: Option<String>,
    pub required_loa: Loa,
    pub created_at: String,
    pub expires_at: String,
    pub completed_at: Option<String>,
    pub signers: Vec<SignerView>,
    pub documents: Vec<DocumentView>,
    pub redirect: Redirects,
    pub callback_url: Option<String>,
    /// Where to fetch the sealed PAdES once the job is `completed`.
    pub pades_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignerView {
    pub id: String,
    #[schema(value_type = Object)]
    pub identifier: serde_json::Value,
    pub on_behalf_of: Option<OnBehalfOf>,
    pub order: u8,
    pub status: SignerStatus,
    pub status_at: String,
    /// The signer's personal link to the signing ceremony (while the signer can still act).
    pub signing_url: Option<String>,
    /// Where to fetch this signer's XAdES evidence record once the job is `completed`.
    pub xades_url: Option<String>,
    /// Language of the signer's notifications.
    pub lang: Language,
    /// For a holder of signing authority added from the register: the signer whose
    /// authority they complete.
    pub co_signer_of: Option<String>,
    /// The signer's e-mail and SMS notifications and where each stands.
    pub notifications: Vec<NotificationView>,
}

/// One signer notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    /// `email` or `sms`.
    pub channel: String,
    /// `signing_request` (the signer's order group became active) or `co_signer_request`.
    pub purpose: String,
    pub status: crate::notify::Status,
    pub attempts: i64,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// Why it failed, was not sent (channel not configured) or was cancelled; the last
    /// temporary failure while pending.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub id: String,
    pub title: String,
    pub filename: Option<String>,
    pub size: u64,
    pub sha256: String,
    pub pages: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobSummaryView {
    pub id: String,
    pub title: String,
    pub kind: JobKind,
    pub status: JobStatus,
    pub reference: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub completed_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<JobSummaryView>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Position in the organisation's feed; pass the last one as `after`.
    pub cursor: String,
    pub job_id: Option<String>,
    pub signer_id: Option<String>,
    pub kind: String,
    pub at: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// This event's hash in the organisation's audit chain.
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<EventView>,
    /// The cursor to poll with next (unchanged when there was nothing new).
    pub cursor: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Cursor from the previous page's `next`.
    pub after: Option<String>,
    /// 1–100, default 50.
    pub limit: Option<u32>,
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// The last cursor seen (0 or absent: from the beginning).
    pub after: Option<String>,
    /// 1–1000, default 100.
    pub limit: Option<u32>,
}

/// Multipart body of `POST /api/v1/jobs` (for the OpenAPI document).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreateJobForm {
    /// The job as JSON.
    job: JobRequest,
    /// One part per PDF document, in order.
    #[schema(value_type = Vec<String>, format = Binary)]
    document: Vec<Vec<u8>>,
}

/// The job as the API shows it, with each signer's notifications from the store.
pub async fn job_view(state: &AppState, job: &Job) -> Result<JobView, Problem> {
    let notifications = state
        .jobs
        .store()
        .job_notifications(&job.id)
        .await
        .map_err(Problem::internal)?;
    Ok(job_view_with(state, job, &notifications))
}

fn notification_view(n: &NotificationRecord) -> NotificationView {
    NotificationView {
        channel: n.channel.as_str().into(),
        purpose: n.purpose.as_str().into(),
        status: n.status,
        attempts: n.attempts,
        created_at: rfc3339(n.created_at),
        finished_at: n.finished_at.map(rfc3339),
        reason: n.reason.clone(),
    }
}

fn job_view_with(state: &AppState, job: &Job, notifications: &[NotificationRecord]) -> JobView {
    let base = state.public_base();
    JobView {
        id: job.id.clone(),
        title: job.title.clone(),
        kind: job.kind,
        status: job.status,
        reference: job.reference.clone(),
        required_loa: job.required_loa,
        created_at: rfc3339(job.created_at),
        expires_at: rfc3339(job.expires_at),
        completed_at: job.completed_at.map(rfc3339),
        signers: job
            .signers
            .iter()
            .map(|s| SignerView {
                id: s.id.clone(),
                identifier: s.identifier.to_json(),
                on_behalf_of: s.on_behalf_of.clone(),
                order: s.order,
                status: s.status,
                status_at: rfc3339(s.status_at),
                signing_url: (job.status == JobStatus::InProgress
                    && s.status == SignerStatus::Waiting)
                    .then(|| state.jobs.signing_url(s)),
                xades_url: (job.status == JobStatus::Completed)
                    .then(|| format!("{base}/api/v1/jobs/{}/signers/{}/xades", job.id, s.id)),
                lang: s.lang,
                co_signer_of: s.co_signer_of.as_ref().map(|c| c.signer_id.clone()),
                notifications: notifications
                    .iter()
                    .filter(|n| n.signer_id == s.id)
                    .map(notification_view)
                    .collect(),
            })
            .collect(),
        documents: job
            .documents
            .iter()
            .map(|d| DocumentView {
                id: d.id.clone(),
                title: d.title.clone(),
                filename: d.filename.clone(),
                size: d.size,
                sha256: d.sha256.clone(),
                pages: d.pages,
            })
            .collect(),
        redirect: job.redirect.clone(),
        callback_url: job.callback_url.clone(),
        pades_url: (job.status == JobStatus::Completed)
            .then(|| format!("{base}/api/v1/jobs/{}/pades", job.id)),
    }
}

fn summary_view(s: &JobSummary) -> JobSummaryView {
    JobSummaryView {
        id: s.id.clone(),
        title: s.title.clone(),
        kind: s.kind,
        status: s.status,
        reference: s.reference.clone(),
        created_at: rfc3339(s.created_at),
        expires_at: rfc3339(s.expires_at),
        completed_at: s.completed_at.map(rfc3339),
    }
}

fn event_view(e: &EventRecord) -> EventView {
    EventView {
        cursor: e.seq.to_string(),
        job_id: e.job_id.clone(),
        signer_id: e.signer_id.clone(),
        kind: e.kind.clone(),
        at: rfc3339(e.at),
        data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
        hash: e.hash.clone(),
    }
}

/// Reads one `document` part, refusing it as soon as it exceeds the limit.
async fn read_limited(
    field: &mut axum::extract::multipart::Field<'_>,
    limit: u64,
) -> Result<Option<Bytes>, Problem> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| Problem::new(Kind::MalformedRequest, format!("multipart: {e}")))?
    {
        if (buf.len() + chunk.len()) as u64 > limit {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Some(buf.freeze()))
}

/// Discards the rest of a part without keeping it.
async fn drain_field(field: &mut axum::extract::multipart::Field<'_>) {
    while let Ok(Some(_)) = field.chunk().await {}
}

/// Discards the rest of a refused upload so the client reads our answer, not a reset.
async fn drain_rest(multipart: &mut Multipart) {
    while let Ok(Some(mut f)) = multipart.next_field().await {
        drain_field(&mut f).await;
    }
}

#[utoipa::path(
    post, path = "/api/v1/jobs", tag = "jobs",
    request_body(content = CreateJobForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Job created", body = JobView),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "A document exceeds the size limit", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or a document is not a PDF", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Invalid job (signers, identifiers, encrypted PDF …)", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("mtls" = []))
)]
pub async fn create_job(
    State(state): State<AppState>,
    auth: OrgAuth,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, Problem> {
    let limits = &state.config.jobs;
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > state.max_body_bytes()
    {
        return Err(Problem::new(
            Kind::DocumentTooLarge,
            format!(
                "the request is {len} bytes; at most {} documents of {} bytes each are accepted",
                limits.max_documents, limits.max_document_bytes
            ),
        ));
    }
    let mut multipart = multipart.map_err(|e| {
        Problem::new(
            Kind::UnsupportedMediaType,
            format!("send multipart/form-data with a `job` part and `document` parts ({e})"),
        )
    })?;
    let mut job_json: Option<Bytes> = None;
    let mut docs: Vec<IncomingDocument> = Vec::new();
    // A refused part ends the loop; the rest of the upload is then read and discarded, so
    // the client gets our answer instead of a connection reset.
    let mut refused: Option<Problem> = None;
    while refused.is_none() {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| Problem::new(Kind::MalformedRequest, format!("multipart: {e}")))?;
        let Some(mut field) = field else { break };
        match field.name() {
            Some("job") => match read_limited(&mut field, 1024 * 1024).await? {
                Some(b) => job_json = Some(b),
                None => {
                    refused = Some(Problem::new(
                        Kind::MalformedRequest,
                        "the job part exceeds 1 MiB",
                    ))
                }
            },
            Some("document") if docs.len() >= limits.max_documents => {
                refused = Some(Problem::new(
                    Kind::DocumentCount,
                    format!("at most {} documents per job", limits.max_documents),
                ));
            }
            Some("document") => {
                let filename = field.file_name().map(|s| s.chars().take(200).collect());
                let Some(bytes) = read_limited(&mut field, limits.max_document_bytes).await? else {
                    refused = Some(Problem::new(
                        Kind::DocumentTooLarge,
                        format!(
                            "document {} exceeds the limit of {} bytes",
                            docs.len() + 1,
                            limits.max_document_bytes
                        ),
                    ));
                    drain_field(&mut field).await;
                    continue;
                };
                let index = docs.len() + 1;
                let probe = bytes.clone();
                let info = tokio::task::spawn_blocking(move || inspect(&probe))
                    .await
                    .map_err(Problem::internal)?;
                match info {
                    Ok(info) => docs.push(IncomingDocument {
                        filename,
                        title: None,
                        bytes,
                        pages: info.pages,
                    }),
                    Err(e) => refused = Some(pdf_problem(index, e)),
                }
            }
            other => {
                let name = other.unwrap_or("").chars().take(40).collect::<String>();
                refused = Some(Problem::new(
                    Kind::MalformedRequest,
                    format!("unknown part {name:?}; expected `job` and `document`"),
                ));
            }
        }
        if refused.is_some() {
            drain_field(&mut field).await;
        }
    }
    if let Some(p) = refused {
        drain_rest(&mut multipart).await;
        return Err(p);
    }
    let job_json = job_json
        .ok_or_else(|| Problem::new(Kind::MalformedRequest, "the `job` part is missing"))?;
    let req: JobRequest = serde_json::from_slice(&job_json)
        .map_err(|e| Problem::new(Kind::MalformedRequest, format!("job: {e}")))?;
    let valid = req.validate(state.jobs.limits())?;
    if docs.is_empty() {
        return Err(Problem::new(
            Kind::DocumentCount,
            "a job needs at least one `document` part",
        ));
    }
    let created = state
        .jobs
        .create(&auth.org_id, valid, docs, OffsetDateTime::now_utc())
        .await?;
    state.metrics.jobs_created.inc();
    let view = job_view(&state, &created.job).await?;
    let location = format!("/api/v1/jobs/{}", view.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response())
}

fn pdf_problem(index: usize, e: PdfError) -> Problem {
    match e {
        PdfError::Encrypted => Problem::new(
            Kind::EncryptedPdf,
            format!("document {index} is encrypted or password-protected; send it unencrypted"),
        ),
        other => Problem::new(Kind::NotAPdf, format!("document {index}: {other}")),
    }
}

#[utoipa::path(
    get, path = "/api/v1/jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "Job id")),
    responses(
        (status = 200, body = JobView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("mtls" = []))
)]
pub async fn get_job(
    State(state): State<AppState>,
    auth: OrgAuth,
    Path(id): Path<String>,
) -> Result<Json<JobView>, Problem> {
    let job = state.jobs.get(&auth.org_id, &id).await?;
    Ok(Json(job_view(&state, &job).await?))
}

#[utoipa::path(
    get, path = "/api/v1/jobs", tag = "jobs", params(ListQuery),
    responses((status = 200, body = JobPage)),
    security(("api_key" = []), ("mtls" = []))
)]
pub async fn list_jobs(
    State(state): State<AppState>,
    auth: OrgAuth,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<JobPage>, Problem> {
    let Query(q) = query.map_err(|e| Problem::new(Kind::MalformedRequest, e.body_text()))?;
    let limit = q.limit.unwrap_or(50).clamp(1, 100);
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(JobStatus::parse(s).ok_or_else(|| {
            Problem::new(Kind::MalformedRequest, format!("unknown status {s:?}"))
        })?),
    };
    let after = match q.after.as_deref() {
        None | Some("") => None,
        Some(c) => {
            let (ms, id) = c
                .split_once('.')
                .and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id)))
                .ok_or_else(|| Problem::new(Kind::MalformedRequest, "invalid cursor"))?;
            Some((ms, id.to_string()))
        }
    };
    let page = state
        .jobs
        .list(
            &auth.org_id,
            after.as_ref().map(|(ms, id)| (*ms, id.as_str())),
            status,
            limit,
        )
        .await?;
    let next = (page.len() as u32 == limit)
        .then(|| page.last())
        .flatten()
        .map(|j| format!("{}.{}", crate::archive::store::to_ms(j.created_at), j.id));
    Ok(Json(JobPage {
        jobs: page.iter().map(summary_view).collect(),
        next,
    }))
}

#[utoipa::path(
    post, path = "/api/v1/jobs/{id}/cancel", tag = "jobs",
    params(("id" = String, Path, description = "Job id")),
    responses(
        (status = 200, body = JobView),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The job has ended or all signers have signed", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("mtls" = []))
)]
pub async fn cancel_job(
    State(state): State<AppState>,
    auth: OrgAuth,
    Path(id): Path<String>,
) -> Result<Json<JobView>, Problem> {
    let job = state
        .jobs
        .cancel(&auth.org_id, &id, OffsetDateTime::now_utc())
        .await?;
    Ok(Json(job_view(&state, &job).await?))
}

#[utoipa::path(
    get, path = "/api/v1/jobs/{id}/pades", tag = "jobs",
    params(("id" = String, Path, description = "Job id")),
    responses(
        (status = 200, description = "The sealed PDF", content_type = "application/pdf"),
        (status = 404, body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The job is not completed", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("mtls" = []))
)]
pub async fn get_pades(
    State(state): State<AppState>,
    auth: OrgAuth,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let job = state.jobs.get(&auth.org_id, &id).await?;
    if job.status != JobStatus::Completed {
        return Err(Problem::new(
            Kind::NotReady,
            format!(
                "the job is {}; the PAdES exists once it is completed",
                job.status
            ),
        ));
    }
    // Streamed from the blob store: a sealed 100 MB job is never read into memory here.
    let (size, stream) = state
        .jobs
        .blobs()
        .get_stream(&crate::archive::blobs::sealed_key(&job.id))
        .await
        .map_err(Problem::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_LENGTH, size.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"signgate-{}.pdf\"", job.id),
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

#[utoipa::path(
    get, path = "/api/v1/jobs/{id}/signers/{sid}/xades", tag = "jobs",
    params(
        ("id" = String, Path, description = "Job id"),
        ("sid" = String, Path, description = "Signer id"),
    ),
    responses(
        (status = 200, description = "The signer's evidence record, sealed as XAdES-BASELINE-LT or -LTA (namespace urn:signgate:evidence:1)", content_type = "application/xml"),
        (status = 404, description = "No such job, no such signer in it, or no evidence stored for the signer", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The job is not completed (sealed) yet", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("mtls" = []))
)]
pub async fn get_xades(
    State(state): State<AppState>,
    auth: OrgAuth,
    Path((id, sid)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let job = state.jobs.get(&auth.org_id, &id).await?;
    let Some(signer) = job.signers.iter().find(|s| s.id == sid) else {
        return Err(Problem::new(
            Kind::NotFound,
            format!("the job has no signer {sid:?}"),
        ));
    };
    if job.status != JobStatus::Completed {
        return Err(Problem::new(
            Kind::NotReady,
            format!(
                "the job is {}; the XAdES evidence exists once it is completed and sealed",
                job.status
            ),
        ));
    }
    let key = crate::archive::blobs::evidence_key(&job.id, &signer.id);
    let Some(bytes) = state
        .jobs
        .blobs()
        .get_opt(&key)
        .await
        .map_err(Problem::internal)?
    else {
        return Err(Problem::new(
            Kind::NotFound,
            "no XAdES evidence is stored for this signer",
        ));
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/xml".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"signgate-{}-{}-xades.xml\"",
                    job.id, signer.id
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(
    get, path = "/api/v1/events", tag = "events", params(EventQuery),
    responses((status = 200, body = EventPage)),
    security(("api_key" = []), ("mtls" = []))
)]
pub async fn events(
    State(state): State<AppState>,
    auth: OrgAuth,
    query: Result<Query<EventQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EventPage>, Problem> {
    let Query(q) = query.map_err(|e| Problem::new(Kind::MalformedRequest, e.body_text()))?;
    let after = match q.after.as_deref() {
        None | Some("") => 0,
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .ok_or_else(|| Problem::new(Kind::MalformedRequest, "invalid cursor"))?,
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let evs = state.jobs.events(&auth.org_id, after, limit).await?;
    let cursor = evs.last().map_or(after, |e| e.seq).to_string();
    Ok(Json(EventPage {
        events: evs.iter().map(event_view).collect(),
        cursor,
    }))
}

/// Register look-ups an organisation asks for (previews and co-signer requests) share
/// `authority.preview_per_minute`; over it: `429 rate-limited` with `Retry-After`.
fn register_rate_limit(state: &AppState, org_id: &str) -> Option<Response> {
    if state.preview_allowed(org_id) {
        return None;
    }
    let mut resp = Problem::new(
        Kind::RateLimited,
        format!(
            "at most {} register look-ups (authority previews and co-signer requests) per minute",
            state.config.authority.preview_per_minute
        ),
    )
    .into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("60"),
    );
    Some(resp)
}

#[utoipa::path(
    get, path = "/api/v1/authority/{orgnr}", tag = "authority",
    params(("orgnr" = String, Path, description = "Norwegian organisation number (9 digits)")),
    responses(
        (status = 200, description = "Who can sign for the organisation, from Enhetsregisteret and the Fullmakt service (cached; `stale` when the registers do not answer and the last answers are shown)", body = crate::authority::Preview),
        (status = 404, description = "Not in Enhetsregisteret", body = ProblemBody, content_type = "application/problem+json"),
        (status = 410, description = "Removed from Enhetsregisteret", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid organisation number", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "More previews than `authority.preview_per_minute` in the current minute", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The registers do not answer and nothing is cached", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("mtls" = []))
)]
pub async fn authority_preview(
    State(state): State<AppState>,
    auth: OrgAuth,
    Path(orgnr): Path<String>,
) -> Result<Response, Problem> {
    if let Some(limited) = register_rate_limit(&state, &auth.org_id) {
        return Ok(limited);
    }
    let preview = state.register.preview(&orgnr).await?;
    Ok(Json(preview).into_response())
}

/// A person added by `POST …/authority/co-signers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddedCoSignerView {
    pub signer_id: String,
    /// The name as the register writes it.
    pub name: String,
    pub birth_date: Option<String>,
    /// The register role (`MEDL`, `LEDE`, `SIFE`, …) and its text.
    pub role: String,
    pub role_text: Option<String>,
    /// How the login must show it is this person: `national_id` (given by the sender or the
    /// register) or `register_person` (birth date and name, as the register has them).
    pub designation: String,
    /// Channels a notification was queued on (`email`, `sms`); see the signer's
    /// `notifications` in `job` for where they stand.
    pub notify: Vec<String>,
    /// The person's signing link (also in `job`), for a sender that delivers it itself.
    pub signing_url: Option<String>,
}

/// The answer of `POST …/authority/co-signers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoSignersView {
    /// The alternative completed: index into the alternatives, fewest persons first (the
    /// order of `missing` in the signer's `authority_incomplete` event).
    pub alternative: usize,
    /// How many alternatives the register gives.
    pub alternatives: usize,
    pub added: Vec<AddedCoSignerView>,
    pub job: JobView,
}

#[utoipa::path(
    post, path = "/api/v1/jobs/{id}/signers/{sid}/authority/co-signers", tag = "authority",
    params(
        ("id" = String, Path, description = "Job id"),
        ("sid" = String, Path, description = "The company signer whose signing authority (a joint rule) is incomplete"),
    ),
    request_body(content = CoSignersRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The missing holders of signing authority were added as signers on behalf of the same organisation, in the same order group; notifications were queued for those with contact details (e-mail, SMS; sent when their order group is active). Event `co_signers_added` (feed and webhook).", body = CoSignersView),
        (status = 404, description = "No such job (or not this organisation's), or no such signer in it", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`job-not-in-progress`; `nothing-missing` (the job's signers already complete a combination, or the signer signs for themselves); `authority-refused` (the register gives the signer no combination to complete: no authority, a non-standard rule, a bankrupt or deleted unit); `job-conflict` (the signer has acted, or a person is already a signer)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-contact` (e-mail, Norwegian mobile number, birth date, name or national id); `invalid-co-signers` (no such alternative, a contact names no person of it, or a person cannot be designated); `invalid-signer-count`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "`rate-limited`: more register look-ups (previews and co-signer requests) than `authority.preview_per_minute` in the current minute", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "`register-unavailable`: the registers do not answer (decisions never use stale answers)", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("mtls" = []))
)]
pub async fn add_co_signers(
    State(state): State<AppState>,
    auth: OrgAuth,
    Path((id, sid)): Path<(String, String)>,
    body: Result<Json<CoSignersRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let Json(req) = body.map_err(|e| Problem::new(Kind::MalformedRequest, e.body_text()))?;
    if let Some(limited) = register_rate_limit(&state, &auth.org_id) {
        return Ok(limited);
    }
    let done: CoSignersAdded = crate::jobs::authority::add_co_signers(
        &state.register,
        &state.jobs,
        &auth.org_id,
        &id,
        &sid,
        &req,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let job = job_view(&state, &done.job).await?;
    let added = done
        .added
        .iter()
        .map(|a| AddedCoSignerView {
            signer_id: a.signer_id.clone(),
            name: a.name.clone(),
            birth_date: a.birth_date.map(format_date),
            role: a.role_code.clone(),
            role_text: a.role_text.clone(),
            designation: a.designation.into(),
            notify: a.notify.iter().map(|c| (*c).to_string()).collect(),
            signing_url: job
                .signers
                .iter()
                .find(|s| s.id == a.signer_id)
                .and_then(|s| s.signing_url.clone()),
        })
        .collect();
    let location = format!("/api/v1/jobs/{}", done.job.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(CoSignersView {
            alternative: done.alternative,
            alternatives: done.alternatives,
            added,
            job,
        }),
    )
        .into_response())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "signgate organisation API",
        description = "Create signature jobs, follow them, and fetch sealed PAdES documents \
                       and each signer's XAdES evidence record. \
                       Errors are RFC 9457 problem details with stable `type` URIs \
                       (`urn:signgate:problem:<slug>`).",
        license(name = "EUPL-1.2")
    ),
    paths(create_job, get_job, list_jobs, cancel_job, get_pades, get_xades, events,
          authority_preview, add_co_signers, super::validation::validate),
    components(schemas(JobRequest, JobView, SignerView, DocumentView, JobPage, JobSummaryView,
                       EventPage, EventView, ProblemBody, NotificationView, CoSignersView,
                       AddedCoSignerView, CoSignersRequest,
                       crate::jobs::authority::CoSignerContact,
                       super::validation::ValidationForm)),
    modifiers(&SecurityAddon),
    tags((name = "jobs"), (name = "events"), (name = "validation"), (name = "authority"))
)]
pub struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("API key from `signgate org add`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "mtls",
            SecurityScheme::MutualTls {
                description: Some(
                    "Client certificate with organizationIdentifier NTRNO-<orgnr>".to_string(),
                ),
                extensions: None,
                deprecated: None,
            },
        );
    }
}

async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

pub fn router(state: &AppState) -> axum::Router<AppState> {
    let body_limit = usize::try_from(state.max_body_bytes()).unwrap_or(usize::MAX);
    axum::Router::new()
        .route(
            "/api/v1/jobs",
            post(create_job)
                .layer(DefaultBodyLimit::max(body_limit))
                .get(list_jobs),
        )
        .route("/api/v1/jobs/{id}", get(get_job))
        .route("/api/v1/jobs/{id}/cancel", post(cancel_job))
        .route("/api/v1/jobs/{id}/pades", get(get_pades))
        .route("/api/v1/jobs/{id}/signers/{sid}/xades", get(get_xades))
        .route("/api/v1/events", get(events))
        .route("/api/v1/authority/{orgnr}", get(authority_preview))
        .route(
            "/api/v1/jobs/{id}/signers/{sid}/authority/co-signers",
            post(add_co_signers),
        )
        .route("/api/v1/openapi.json", get(openapi_json))
}
