//! A local stand-in for the Brønnøysund registers: an axum server on `127.0.0.1:0`, started by
//! the test, serving the synthetic answers in `tests/data/register/` (see its README) at the
//! real APIs' paths:
//! `/enhetsregisteret/api/enheter/{orgnr}`, `/enhetsregisteret/api/enheter/{orgnr}/roller`,
//! `/fullmakt/enheter/{orgnr}/signatur`, `/fullmakt/enheter/{orgnr}/prokura`.
//!
//! The authorised variants are served too, to requests whose bearer token the configured
//! [`TokenCheck`] accepts (the Maskinporten stand-in's): `/enhetsregisteret/autorisert-api/
//! enheter/{orgnr}/roller` (`roller-autorisert.json`, scope [`ROLES_SCOPE`]) and
//! `/fullmakt-autorisert/enheter/{orgnr}/signatur|prokura` (`…-autorisert.json`, scope
//! [`FULLMAKT_SCOPE`]); without a check configured they answer 401.
//!
//! Per organisation folder: `NAME.json` → 200, `NAME.STATUS.json` → that status, nothing → 404,
//! a `hang` file → never answers (the client's timeout must end the request). It counts
//! requests per path and the most requests in flight at once, can fail everything with 503
//! ([`RegisterServer::set_failing`]) and can hold requests for one organisation until a number
//! of them are in flight together ([`RegisterServer::hold_until_concurrent`]: a client that
//! fetched one source after the other would never get an answer). No sleeps anywhere.
//!
//! Owns: test plumbing only. Shared by `tests/authority.rs` and `benches/authority.rs` through
//! `#[path]`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use signgate::config::AuthorityConfig;

/// Where the answers live.
pub fn register_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/register")
}

/// Scenario organisation numbers (see `tests/data/register/README.md`).
pub mod org {
    pub const DAGLIG_LEDER: &str = "100010003";
    pub const STYRE_FELLESSKAP: &str = "100010011";
    pub const SIGNATUR_PROKURA: &str = "100010038";
    pub const KONKURS: &str = "100010046";
    pub const SLETTET: &str = "100010054";
    pub const SPESIELL_REGEL: &str = "100010062";
    pub const FRATRAADT: &str = "100010070";
    pub const TREG: &str = "100010089";
    pub const ROTETE: &str = "100010097";
    pub const UKJENT: &str = "100010100";
    pub const ENK: &str = "100010119";
}

/// Request paths of the four sources of `orgnr`.
pub fn paths(orgnr: &str) -> [String; 4] {
    [
        format!("/enhetsregisteret/api/enheter/{orgnr}"),
        format!("/enhetsregisteret/api/enheter/{orgnr}/roller"),
        format!("/fullmakt/enheter/{orgnr}/signatur"),
        format!("/fullmakt/enheter/{orgnr}/prokura"),
    ]
}

/// The scope the stand-in's authorised roles variant wants.
pub const ROLES_SCOPE: &str = "brreg:enhetsregisteret/roller.fnr";
/// The scope the stand-in's national-id Fullmakt variant wants.
pub const FULLMAKT_SCOPE: &str = "brreg:fullmakt/oppslag.fnr";

/// Judges a request's `Authorization` header for a scope: `Ok` to answer, else the status
/// (401 unknown or expired token, 403 a token without the scope).
pub type TokenCheck = Arc<dyn Fn(Option<&str>, &str) -> Result<(), StatusCode> + Send + Sync>;

type St = State<Arc<Shared>>;

#[derive(Default)]
struct Shared {
    dir: PathBuf,
    token_check: Mutex<Option<TokenCheck>>,
    counts: Mutex<HashMap<String, usize>>,
    failing: AtomicBool,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    hold: Mutex<Option<(String, Arc<tokio::sync::Barrier>)>>,
}

/// The running server; stops when dropped.
pub struct RegisterServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RegisterServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(s: &'a Shared) -> Self {
        let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        s.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(s)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl RegisterServer {
    /// Serves `tests/data/register/` on a free loopback port.
    pub async fn start() -> RegisterServer {
        Self::start_with(register_dir()).await
    }

    /// Serves `dir` (same layout) on a free loopback port.
    pub async fn start_with(dir: PathBuf) -> RegisterServer {
        let shared = Arc::new(Shared {
            dir,
            ..Shared::default()
        });
        let app = axum::Router::new()
            .route(
                "/enhetsregisteret/api/enheter/{orgnr}",
                get(|s: St, o: UrlPath<String>, u: Uri| answer(s, o, u, "enhet")),
            )
            .route(
                "/enhetsregisteret/api/enheter/{orgnr}/roller",
                get(|s: St, o: UrlPath<String>, u: Uri| answer(s, o, u, "roller")),
            )
            .route(
                "/fullmakt/enheter/{orgnr}/signatur",
                get(|s: St, o: UrlPath<String>, u: Uri| answer(s, o, u, "signatur")),
            )
            .route(
                "/fullmakt/enheter/{orgnr}/prokura",
                get(|s: St, o: UrlPath<String>, u: Uri| answer(s, o, u, "prokura")),
            )
            .route(
                "/enhetsregisteret/autorisert-api/enheter/{orgnr}/roller",
                get(|s: St, o: UrlPath<String>, u: Uri, h: HeaderMap| {
                    authorised(s, o, u, h, "roller-autorisert", ROLES_SCOPE)
                }),
            )
            .route(
                "/fullmakt-autorisert/enheter/{orgnr}/signatur",
                get(|s: St, o: UrlPath<String>, u: Uri, h: HeaderMap| {
                    authorised(s, o, u, h, "signatur-autorisert", FULLMAKT_SCOPE)
                }),
            )
            .route(
                "/fullmakt-autorisert/enheter/{orgnr}/prokura",
                get(|s: St, o: UrlPath<String>, u: Uri, h: HeaderMap| {
                    authorised(s, o, u, h, "prokura-autorisert", FULLMAKT_SCOPE)
                }),
            )
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the register stand-in");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RegisterServer {
            base: format!("http://{addr}"),
            shared,
            task,
        }
    }

    /// A client configuration pointing at this server.
    pub fn config(&self, timeout: Duration) -> AuthorityConfig {
        AuthorityConfig {
            enhetsregisteret_url: format!("{}/enhetsregisteret/api", self.base),
            fullmakt_url: format!("{}/fullmakt", self.base),
            timeout,
            ..AuthorityConfig::default()
        }
    }

    /// Lets the authorised variants answer requests `check` accepts.
    pub fn set_token_check(&self, check: TokenCheck) {
        *self.shared.token_check.lock().unwrap() = Some(check);
    }

    /// Base URL of the authorised roles variant (`authority.authorised_roles.url`).
    pub fn authorised_roles_url(&self) -> String {
        format!("{}/enhetsregisteret/autorisert-api", self.base)
    }

    /// Base URL of the national-id Fullmakt variant (`authority.authorised_fullmakt.url`).
    pub fn authorised_fullmakt_url(&self) -> String {
        format!("{}/fullmakt-autorisert", self.base)
    }

    /// Requests received for `path` so far.
    pub fn requests(&self, path: &str) -> usize {
        self.shared
            .counts
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests received for the four sources of `orgnr`, in the order of [`paths`].
    pub fn requests_for(&self, orgnr: &str) -> [usize; 4] {
        paths(orgnr).map(|p| self.requests(&p))
    }

    /// Requests received in all.
    pub fn total(&self) -> usize {
        self.shared.counts.lock().unwrap().values().sum()
    }

    /// The most requests that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// From now on answer every request with 503 (`true`) or normally (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.shared.failing.store(failing, Ordering::SeqCst);
    }

    /// Requests for `orgnr` are held until `n` of them are in flight together.
    pub fn hold_until_concurrent(&self, orgnr: &str, n: usize) {
        *self.shared.hold.lock().unwrap() =
            Some((orgnr.to_string(), Arc::new(tokio::sync::Barrier::new(n))));
    }
}

async fn authorised(
    s: State<Arc<Shared>>,
    orgnr: UrlPath<String>,
    uri: Uri,
    headers: HeaderMap,
    name: &'static str,
    scope: &'static str,
) -> Response {
    let check = s.token_check.lock().unwrap().clone();
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let verdict = match check {
        Some(check) => check(auth, scope),
        None => Err(StatusCode::UNAUTHORIZED),
    };
    if let Err(status) = verdict {
        *s.counts
            .lock()
            .unwrap()
            .entry(format!("{} (refused {})", uri.path(), status.as_u16()))
            .or_insert(0) += 1;
        return (
            status,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "access token missing, invalid or without the scope",
        )
            .into_response();
    }
    answer(s, orgnr, uri, name).await
}

async fn answer(
    State(s): State<Arc<Shared>>,
    UrlPath(orgnr): UrlPath<String>,
    uri: Uri,
    name: &'static str,
) -> Response {
    *s.counts
        .lock()
        .unwrap()
        .entry(uri.path().to_string())
        .or_insert(0) += 1;
    let _flight = InFlight::enter(&s);
    if !(orgnr.len() == 9 && orgnr.bytes().all(|b| b.is_ascii_digit())) {
        return (StatusCode::BAD_REQUEST, "not an organisation number").into_response();
    }
    let barrier = s
        .hold
        .lock()
        .unwrap()
        .as_ref()
        .filter(|(o, _)| *o == orgnr)
        .map(|(_, b)| Arc::clone(b));
    if let Some(b) = barrier {
        b.wait().await;
    }
    if s.failing.load(Ordering::SeqCst) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "register down for maintenance",
        )
            .into_response();
    }
    let folder = s.dir.join(&orgnr);
    if folder.join("hang").is_file() {
        std::future::pending::<()>().await;
    }
    let json = |status: StatusCode, body: Vec<u8>| {
        (
            status,
            [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
            body,
        )
            .into_response()
    };
    if let Ok(body) = std::fs::read(folder.join(format!("{name}.json"))) {
        return json(StatusCode::OK, body);
    }
    for status in [404u16, 410, 500, 503] {
        if let Ok(body) = std::fs::read(folder.join(format!("{name}.{status}.json"))) {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            return json(status, body);
        }
    }
    // Brønnøysund's 404 body.
    json(
        StatusCode::NOT_FOUND,
        format!(
            r#"{{"timestamp":"2026-11-30T10:15:00.000+00:00","status":404,"error":"Not Found","message":"Ingen enhet med organisasjonsnummer {orgnr} ble funnet","path":"{}"}}"#,
            uri.path()
        )
        .into_bytes(),
    )
}
