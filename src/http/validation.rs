//! `POST /api/v1/validations`: validate the signatures of an uploaded PDF, XML or CMS file
//! (ETSI EN 319 102-1 report as JSON).
//!
//! Owns: the multipart contract (`file`, optional `detached`, optional `at` query), size
//! limits, running the CPU-bound validation off the async runtime, and the mapping of
//! unreadable input to a problem. Must not: contain validation rules (`crate::validation`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::routing::post;
use bytes::Bytes;
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::OrgAuth;
use super::errors::{Kind, Problem, ProblemBody};

/// Largest accepted upload (file plus detached document).
pub const MAX_UPLOAD: usize = 128 * 1024 * 1024;

/// The multipart form (for the OpenAPI document).
#[allow(dead_code)]
#[derive(ToSchema)]
pub struct ValidationForm {
    /// The signed file: PDF (PAdES), XML (XAdES) or CMS `.p7m`/`.p7s` (CAdES).
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
    /// The signed document of a detached XAdES/CAdES signature.
    #[schema(format = Binary, value_type = Option<String>)]
    detached: Option<Vec<u8>>,
}

/// Query parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ValidationQuery {
    /// Validation time (RFC 3339); default now.
    pub at: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v1/validations", tag = "validation", params(ValidationQuery),
    request_body(content = ValidationForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The validation report (ETSI EN 319 102-1 indications, TS 119 615 qualification)", content_type = "application/json"),
        (status = 401, description = "Not authenticated", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "The upload is too large", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The file is not a readable PDF, XML or CMS signature file", body = ProblemBody, content_type = "application/problem+json"),
    ),
    security(("api_key" = []), ("mtls" = []))
)]
pub async fn validate(
    State(state): State<AppState>,
    _auth: OrgAuth,
    query: Result<Query<ValidationQuery>, axum::extract::rejection::QueryRejection>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let Query(q) = query.map_err(|e| Problem::new(Kind::MalformedRequest, e.body_text()))?;
    let at = match q.at.as_deref() {
        Some(s) => OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map_err(|_| {
                Problem::new(
                    Kind::MalformedRequest,
                    format!("at={s:?} is not an RFC 3339 time"),
                )
            })?,
        None => OffsetDateTime::now_utc(),
    };
    let mut multipart = multipart.map_err(|e| {
        Problem::new(
            Kind::UnsupportedMediaType,
            format!("send multipart/form-data with a `file` part ({e})"),
        )
    })?;
    let mut file: Option<(String, Bytes)> = None;
    let mut detached: Option<(String, Bytes)> = None;
    while let Some(field) = multipart.next_field().await.map_err(multipart_problem)? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().unwrap_or_default().to_string();
        let data = field.bytes().await.map_err(multipart_problem)?;
        match name.as_str() {
            "file" if file.is_none() => file = Some((file_name, data)),
            "detached" if detached.is_none() => detached = Some((file_name, data)),
            other => {
                return Err(Problem::new(
                    Kind::MalformedRequest,
                    format!(
                        "unexpected or repeated part {other:?}: send `file` and optionally `detached`"
                    ),
                ));
            }
        }
    }
    let (file_name, bytes) =
        file.ok_or_else(|| Problem::new(Kind::MalformedRequest, "the `file` part is missing"))?;

    let mut v = state.validator.as_ref().clone();
    v.registry = state.trust_state().map(|t| t.registry.clone());
    let v = Arc::new(v);
    let report = tokio::task::spawn_blocking(move || {
        v.validate(
            &bytes,
            detached.as_ref().map(|(n, b)| (n.as_str(), b.as_ref())),
            at,
        )
    })
    .await
    .map_err(Problem::internal)?;
    match report {
        Ok(mut r) => {
            if !file_name.is_empty() {
                r.document = Some(file_name);
            }
            let value = serde_json::to_value(&r).map_err(Problem::internal)?;
            Ok(Json(value))
        }
        Err(e) => Err(Problem::new(Kind::UnreadableSignatureFile, e.to_string())),
    }
}

/// A refused upload: too large (the body limit) or not well-formed multipart.
fn multipart_problem(e: axum::extract::multipart::MultipartError) -> Problem {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(
            Kind::DocumentTooLarge,
            format!("the upload exceeds {MAX_UPLOAD} bytes"),
        )
    } else {
        Problem::new(Kind::MalformedRequest, format!("multipart: {e}"))
    }
}

/// The validation routes.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route(
        "/api/v1/validations",
        post(validate).layer(DefaultBodyLimit::max(MAX_UPLOAD)),
    )
}
