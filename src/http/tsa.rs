//! `POST /tsa`: the development time-stamping unit over HTTP (RFC 3161 §3.4: a DER
//! `TimeStampReq` as `application/timestamp-query` in, a DER `TimeStampResp` as
//! `application/timestamp-reply` out).
//!
//! Also `GET /pki/dev-root-ca.crl`, the development root's CRL (dev profile only).
//!
//! Owns: the HTTP framing (media types, body limit). Must not: build tokens (that is
//! `sealing::tsa`) or exist outside the dev profile (the route is only mounted when the
//! unit is loaded, which `app` does only in `dev`).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use time::OffsetDateTime;

use super::AppState;
use crate::sealing::tsa::{MAX_REQUEST, QUERY_TYPE, REPLY_TYPE, TsaUnit};

/// Answers one request; the unit answers malformed ones with a PKI status, so only the HTTP
/// framing is refused here.
pub async fn answer(unit: &TsaUnit, headers: &HeaderMap, body: &[u8]) -> Response {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if media.as_deref() != Some(QUERY_TYPE) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("send a DER TimeStampReq as {QUERY_TYPE}"),
        )
            .into_response();
    }
    let reply = unit.respond(body, OffsetDateTime::now_utc());
    ([(header::CONTENT_TYPE, REPLY_TYPE)], reply).into_response()
}

async fn tsa(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match state.tsa_unit.as_deref() {
        Some(unit) => answer(unit, &headers, &body).await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /pki/dev-root-ca.crl`: a fresh CRL of the development root, the CRL distribution
/// point of the development seal and TSA certificates (dev profile only).
async fn dev_crl(State(state): State<AppState>) -> Response {
    let cfg = state.config.clone();
    match tokio::task::spawn_blocking(move || crate::app::dev_root_crl(&cfg)).await {
        Ok(Ok(crl)) => ([(header::CONTENT_TYPE, "application/pkix-crl")], crl).into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot issue the development CRL");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

pub fn router(state: &AppState) -> axum::Router<AppState> {
    let mut r = axum::Router::new();
    if state.config.profile == crate::config::Profile::Dev {
        r = r.route("/pki/dev-root-ca.crl", axum::routing::get(dev_crl));
    }
    if state.tsa_unit.is_some() {
        r.route("/tsa", post(tsa))
            .layer(DefaultBodyLimit::max(MAX_REQUEST))
    } else {
        r
    }
}
