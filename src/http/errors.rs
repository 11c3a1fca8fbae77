//! RFC 9457 problem details: the one error type every API handler returns, mapped to an
//! `application/problem+json` response with a stable `type` URI.
//!
//! Owns: the catalogue of problem types and their HTTP statuses. Must not: contain business
//! rules (it only translates typed errors from the domain).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::jobs::machine::Refusal;
use crate::jobs::model::RequestError;
use crate::jobs::service::JobError;

/// Prefix of every problem `type`; the suffix is the stable slug listed in [`Kind`].
pub const TYPE_PREFIX: &str = "urn:signgate:problem:";

/// Every kind of problem the API reports. The slug is part of the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Unauthenticated,
    Forbidden,
    NotFound,
    MalformedRequest,
    UnsupportedMediaType,
    NotAPdf,
    EncryptedPdf,
    DocumentTooLarge,
    DocumentCount,
    InvalidSignerCount,
    InvalidNationalId,
    InvalidEidasId,
    InvalidSignerIdentifier,
    InvalidJob,
    UnreadableSignatureFile,
    JobConflict,
    NotReady,
    Busy,
    Internal,
    InvalidOrganisationNumber,
    OrganisationDeleted,
    RegisterUnavailable,
    RateLimited,
    JobNotInProgress,
    NothingMissing,
    AuthorityRefused,
    InvalidContact,
    InvalidCoSigners,
}

impl Kind {
    pub fn slug(self) -> &'static str {
        match self {
            Kind::Unauthenticated => "unauthenticated",
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not-found",
            Kind::MalformedRequest => "malformed-request",
            Kind::UnsupportedMediaType => "unsupported-media-type",
            Kind::NotAPdf => "not-a-pdf",
            Kind::EncryptedPdf => "encrypted-pdf",
            Kind::DocumentTooLarge => "document-too-large",
            Kind::DocumentCount => "document-count",
            Kind::InvalidSignerCount => "invalid-signer-count",
            Kind::InvalidNationalId => "invalid-national-id",
            Kind::InvalidEidasId => "invalid-eidas-id",
            Kind::InvalidSignerIdentifier => "invalid-signer-identifier",
            Kind::InvalidJob => "invalid-job",
            Kind::UnreadableSignatureFile => "unreadable-signature-file",
            Kind::JobConflict => "job-conflict",
            Kind::NotReady => "not-ready",
            Kind::Busy => "busy",
            Kind::Internal => "internal",
            Kind::InvalidOrganisationNumber => "invalid-organisation-number",
            Kind::OrganisationDeleted => "organisation-deleted",
            Kind::RegisterUnavailable => "register-unavailable",
            Kind::RateLimited => "rate-limited",
            Kind::JobNotInProgress => "job-not-in-progress",
            Kind::NothingMissing => "nothing-missing",
            Kind::AuthorityRefused => "authority-refused",
            Kind::InvalidContact => "invalid-contact",
            Kind::InvalidCoSigners => "invalid-co-signers",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MalformedRequest => StatusCode::BAD_REQUEST,
            Kind::UnsupportedMediaType | Kind::NotAPdf => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::DocumentTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::EncryptedPdf
            | Kind::DocumentCount
            | Kind::InvalidSignerCount
            | Kind::InvalidNationalId
            | Kind::InvalidEidasId
            | Kind::InvalidSignerIdentifier
            | Kind::InvalidJob
            | Kind::UnreadableSignatureFile => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::JobConflict | Kind::NotReady => StatusCode::CONFLICT,
            Kind::Busy | Kind::RegisterUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Kind::InvalidOrganisationNumber => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::OrganisationDeleted => StatusCode::GONE,
            Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Kind::JobNotInProgress | Kind::NothingMissing | Kind::AuthorityRefused => {
                StatusCode::CONFLICT
            }
            Kind::InvalidContact | Kind::InvalidCoSigners => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Unauthenticated => "Authentication required",
            Kind::Forbidden => "Not allowed",
            Kind::NotFound => "Not found",
            Kind::MalformedRequest => "Malformed request",
            Kind::UnsupportedMediaType => "Unsupported media type",
            Kind::NotAPdf => "Document is not a PDF",
            Kind::EncryptedPdf => "Document is encrypted",
            Kind::DocumentTooLarge => "Document too large",
            Kind::DocumentCount => "Wrong number of documents",
            Kind::InvalidSignerCount => "Wrong number of signers",
            Kind::InvalidNationalId => "Invalid national identity number",
            Kind::InvalidEidasId => "Invalid eIDAS identifier",
            Kind::InvalidSignerIdentifier => "Invalid signer identifier",
            Kind::InvalidJob => "Invalid job",
            Kind::UnreadableSignatureFile => "The file cannot be read as a signature",
            Kind::JobConflict => "Job state does not allow this",
            Kind::NotReady => "Not ready",
            Kind::Busy => "Busy",
            Kind::Internal => "Internal error",
            Kind::InvalidOrganisationNumber => "Invalid organisation number",
            Kind::OrganisationDeleted => "Organisation deleted",
            Kind::RegisterUnavailable => "Business register unavailable",
            Kind::RateLimited => "Too many requests",
            Kind::JobNotInProgress => "The job is not in progress",
            Kind::NothingMissing => "Nothing is missing",
            Kind::AuthorityRefused => "The signing authority cannot be completed",
            Kind::InvalidContact => "Invalid contact details",
            Kind::InvalidCoSigners => "Invalid co-signer request",
        }
    }
}

/// An RFC 9457 problem.
#[derive(Debug, Clone)]
pub struct Problem {
    pub kind: Kind,
    pub detail: String,
}

/// The JSON body of a problem (for the OpenAPI document).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemBody {
    /// Stable URI identifying the problem type, `urn:signgate:problem:<slug>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

impl Problem {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Problem {
            kind,
            detail: detail.into(),
        }
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        // The cause goes to the log, never to the client.
        tracing::error!(error = %err, "internal error");
        Problem::new(
            Kind::Internal,
            "an internal error occurred; it has been logged",
        )
    }

    pub fn body(&self) -> ProblemBody {
        ProblemBody {
            type_: format!("{TYPE_PREFIX}{}", self.kind.slug()),
            title: self.kind.title().to_string(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.kind.status();
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.kind == Kind::Unauthenticated {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"signgate\""),
            );
        }
        resp
    }
}

impl From<RequestError> for Problem {
    fn from(e: RequestError) -> Self {
        let kind = match e {
            RequestError::SignerCount { .. } => Kind::InvalidSignerCount,
            RequestError::NationalId { .. } => Kind::InvalidNationalId,
            RequestError::EidasId { .. } => Kind::InvalidEidasId,
            RequestError::SignerIdentifier { .. } | RequestError::DuplicateSigner { .. } => {
                Kind::InvalidSignerIdentifier
            }
            RequestError::Contact { .. } => Kind::InvalidContact,
            _ => Kind::InvalidJob,
        };
        Problem::new(kind, e.to_string())
    }
}

impl From<JobError> for Problem {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Request(r) => r.into(),
            JobError::NotFound => Problem::new(Kind::NotFound, "no such job"),
            JobError::Refused(r) => {
                let kind = match r {
                    Refusal::NoSuchSigner => Kind::NotFound,
                    _ => Kind::JobConflict,
                };
                Problem::new(kind, r.to_string())
            }
            JobError::DocumentCount { .. } => Problem::new(Kind::DocumentCount, e.to_string()),
            JobError::Busy => Problem::new(Kind::Busy, e.to_string()),
            JobError::Store(_) | JobError::Blob(_) => Problem::internal(e),
        }
    }
}

impl From<crate::authority::AuthorityError> for Problem {
    fn from(e: crate::authority::AuthorityError) -> Self {
        use crate::authority::AuthorityError as A;
        let kind = match &e {
            A::InvalidOrgnr(_) => Kind::InvalidOrganisationNumber,
            A::NotFound { .. } => Kind::NotFound,
            A::Deleted { .. } => Kind::OrganisationDeleted,
            A::Unavailable { .. } | A::Malformed { .. } => Kind::RegisterUnavailable,
            A::Setup(_) => return Problem::internal(e),
        };
        Problem::new(kind, e.to_string())
    }
}

impl From<crate::jobs::authority::CoSignerError> for Problem {
    fn from(e: crate::jobs::authority::CoSignerError) -> Self {
        use crate::jobs::authority::CoSignerError as C;
        let kind = match &e {
            C::Job(_) => None,
            C::NotInProgress(_) => Some(Kind::JobNotInProgress),
            C::NothingMissing(_) => Some(Kind::NothingMissing),
            C::Refused(_) => Some(Kind::AuthorityRefused),
            C::RegisterUnavailable(_) => Some(Kind::RegisterUnavailable),
            C::Contact { .. } | C::InvalidContact { .. } => Some(Kind::InvalidContact),
            C::UnknownAlternative { .. }
            | C::UnknownPerson { .. }
            | C::NoAlternativeFits
            | C::CannotDesignate { .. } => Some(Kind::InvalidCoSigners),
        };
        match (kind, e) {
            (_, C::Job(j)) => j.into(),
            (Some(kind), e) => Problem::new(kind, e.to_string()),
            (None, e) => Problem::internal(e),
        }
    }
}

/// Fallback for unknown API routes.
pub async fn not_found() -> Problem {
    Problem::new(Kind::NotFound, "no such resource")
}
