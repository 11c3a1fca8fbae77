//! HTTP: the axum routers for organisations (`api`), signers (`ceremony`), health, metrics and
//! OpenAPI; authentication extractors; problem+json errors; security headers; the TLS listener.
//!
//! Owns: everything that speaks HTTP. Must not: contain business rules (`jobs` has them).

pub mod api;
pub mod auth;
pub mod ceremony;
pub mod errors;
pub mod i18n;
pub mod tls;
pub mod tsa;
pub mod validation;

use std::sync::Arc;

use aws_lc_rs::hmac;
use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::cookie::Key;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;
use crate::jobs::service::JobService;

/// Process metrics exposed at `/metrics`.
pub struct Metrics {
    pub registry: Registry,
    pub jobs_created: Counter,
    pub signatures: Counter,
    pub seals: Counter,
    pub seal_failures: Counter,
    pub seal_queue: Gauge,
    /// Failed scheduled trusted-list refreshes.
    pub trust_refresh_failures: Counter,
    /// Outcome of the scheduled trusted-list refreshes (shown in `/health`).
    pub trust_refresh: std::sync::Mutex<TrustRefreshStatus>,
}

/// Last scheduled trusted-list refresh, for `/health` (`checks.trust`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TrustRefreshStatus {
    /// When the store was last written (or found written at startup).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_refresh: Option<time::OffsetDateTime>,
    /// Error of the last attempt, `None` when it succeeded.
    pub last_error: Option<String>,
    /// Sequence number of the LOTL in force.
    pub lotl_sequence: Option<u64>,
    /// Trust services in the in-memory registry.
    pub services: usize,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("signgate");
        let m = Metrics {
            registry: Registry::default(),
            jobs_created: Counter::default(),
            signatures: Counter::default(),
            seals: Counter::default(),
            seal_failures: Counter::default(),
            seal_queue: Gauge::default(),
            trust_refresh_failures: Counter::default(),
            trust_refresh: std::sync::Mutex::default(),
        };
        registry.register("jobs_created", "Jobs created", m.jobs_created.clone());
        registry.register(
            "signatures",
            "Signer signatures recorded",
            m.signatures.clone(),
        );
        registry.register("seals", "Jobs sealed", m.seals.clone());
        registry.register(
            "seal_failures",
            "Failed sealing attempts (retried)",
            m.seal_failures.clone(),
        );
        registry.register(
            "seal_queue_length",
            "Jobs awaiting sealing",
            m.seal_queue.clone(),
        );
        registry.register(
            "trust_refresh_failures",
            "Failed scheduled trusted-list refreshes",
            m.trust_refresh_failures.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

pub struct Inner {
    pub config: Config,
    pub jobs: JobService,
    pub metrics: Metrics,
    pub cookie_key: Key,
    /// MAC key for the development IdP's authorization codes.
    pub code_key: hmac::Key,
    /// The verified trusted lists in force (registry included), swapped whole on refresh.
    pub trust: std::sync::RwLock<Option<Arc<crate::trust::load::TrustState>>>,
    /// The signature validator (policy, revocation fetcher); the registry is taken from
    /// `trust` per request.
    pub validator: Arc<crate::validation::Validator>,
    /// The signers' identity providers.
    pub identity: crate::identity::Providers,
    /// The development time-stamping unit served at `POST /tsa` (dev only).
    pub tsa_unit: Option<Arc<crate::sealing::tsa::TsaUnit>>,
    /// The Brønnøysund registers, for signers on behalf of a company and the preview API.
    pub register: Arc<crate::authority::RegisterClient>,
    /// Authority previews per organisation in the current minute (fixed window from the
    /// organisation's first preview in it).
    pub preview_counts: moka::sync::Cache<String, Arc<std::sync::atomic::AtomicU32>>,
}

impl Inner {
    /// Counts one authority preview for `org_id`; false when over the per-minute limit.
    pub fn preview_allowed(&self, org_id: &str) -> bool {
        let n = self
            .preview_counts
            .get_with(org_id.to_string(), || {
                Arc::new(std::sync::atomic::AtomicU32::new(0))
            })
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        n < self.config.authority.preview_per_minute
    }

    /// The trusted lists in force, if any were loaded.
    pub fn trust_state(&self) -> Option<Arc<crate::trust::load::TrustState>> {
        self.trust.read().ok().and_then(|g| g.clone())
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl FromRef<AppState> for Key {
    fn from_ref(s: &AppState) -> Key {
        s.cookie_key.clone()
    }
}

impl AppState {
    pub fn public_base(&self) -> &str {
        self.config.public_base()
    }

    /// The largest request body `POST /api/v1/jobs` may have.
    pub fn max_body_bytes(&self) -> u64 {
        let j = &self.config.jobs;
        j.max_document_bytes
            .saturating_mul(j.max_documents as u64)
            .saturating_add(2 * 1024 * 1024)
    }
}

async fn health(State(state): State<AppState>) -> Response {
    let db = state.jobs.store().ping().await;
    let blobs = state.jobs.blobs().ping().await;
    let queue = state.jobs.store().seal_queue_len().await.ok();
    let ok = db.is_ok() && blobs.is_ok();
    let trust = state
        .metrics
        .trust_refresh
        .lock()
        .map(|t| t.clone())
        .unwrap_or_default();
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "degraded" },
        "profile": state.config.profile,
        "version": env!("CARGO_PKG_VERSION"),
        "checks": {
            "database": if db.is_ok() { "ok" } else { "failing" },
            "blobs": if blobs.is_ok() { "ok" } else { "failing" },
            "seal_queue": queue,
            "trust": trust,
        }
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    if let Ok(n) = state.jobs.store().seal_queue_len().await {
        state.metrics.seal_queue.set(n);
    }
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &state.metrics.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// The whole application router with its security headers.
pub fn router(state: AppState) -> axum::Router {
    let hsts = state.config.secure_cookies();
    let mut r = axum::Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .merge(api::router(&state))
        .merge(validation::router())
        .merge(ceremony::router(&state))
        .merge(tsa::router(&state))
        .fallback(errors::not_found)
        .with_state(state)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
                 frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<axum::body::Body>| {
                    tracing::info_span!(
                        "http",
                        method = %req.method(),
                        path = %redact_path(req.uri().path()),
                    )
                },
            ),
        )
        .layer(tower_http::catch_panic::CatchPanicLayer::new());
    if hsts {
        r = r.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    r
}

/// The request path for logs: signing-URL tokens are secrets and never reach a log.
pub fn redact_path(path: &str) -> String {
    match path.strip_prefix("/sign/") {
        Some(rest) => {
            let tail = rest.split_once('/').map_or("", |(_, t)| t);
            if tail.is_empty() {
                "/sign/{token}".to_string()
            } else {
                format!("/sign/{{token}}/{tail}")
            }
        }
        None => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_redacted() {
        assert_eq!(super::redact_path("/sign/abc/sign"), "/sign/{token}/sign");
        assert_eq!(super::redact_path("/sign/abc"), "/sign/{token}");
        assert_eq!(super::redact_path("/api/v1/jobs"), "/api/v1/jobs");
    }
}
