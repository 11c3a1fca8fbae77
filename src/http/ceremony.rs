//! The signer's ceremony in the browser (no JavaScript: HTML forms and redirects), the
//! identity-provider endpoints it uses (ID-porten callback, SAML assertion consumer and
//! metadata) and the development identity provider's pages.
//!
//! Flow: `GET /sign/{token}` → (no session) login at the provider [`identity::route`] picks for
//! the designated signer → callback → the identity must be the designated signer → a
//! server-side session → document page → `POST …/sign` or `POST …/reject`, which ends every
//! session of that signer. The browser holds two encrypted, HttpOnly, SameSite=Lax cookies
//! (Secure outside plain-http dev): the login in progress (state, nonce, PKCE verifier or SAML
//! request id) and a random session handle; the identity and its login evidence stay in the
//! database. Every form carries a CSRF token bound to the session, compared in constant time.
//!
//! Owns: pages, cookies, CSRF, binding a provider's answer to the browser that asked.
//! Must not: decide whether the person may sign (`jobs` does) or check provider answers
//! (`identity` does).

use std::net::SocketAddr;

use askama::Template;
use aws_lc_rs::hmac;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::PrivateCookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::AppState;
use super::i18n::Lang;
use crate::archive::store::SessionRecord;
use crate::authority::Decision;
use crate::identity::oidc::{OidcAuthRequest, OidcCallback};
use crate::identity::saml::SamlAuthRequest;
use crate::identity::{self, LoginStart, Route, UserReason, VerifiedIdentity, dev};
use crate::jobs::authority::{self, Check};
use crate::jobs::machine::{Refusal, may_sign};
use crate::jobs::model::{Job, JobStatus, Loa, Signer, SignerIdentifier, SignerStatus};
use crate::jobs::service::{JobError, SignContext};

const LOGIN_COOKIE: &str = "sg_login";
const SESSION_COOKIE: &str = "sg_session";
const SESSION_SECONDS: i64 = 30 * 60;
const LOGIN_SECONDS: i64 = 10 * 60;

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    lang: Lang,
    heading: &'a str,
    body: &'a str,
    /// A line of particulars under the body (e.g. which co-signers are missing).
    detail: Option<String>,
    logged_in_as: Option<String>,
    /// ID-porten's end_session_endpoint for this login, offered after the decision.
    logout_url: Option<String>,
}

struct DocLink {
    href: String,
    title: String,
    pages: u32,
}

#[derive(Template)]
#[template(path = "sign.html")]
struct SignPage {
    lang: Lang,
    title: String,
    sender: String,
    signer_name: String,
    signer_id: String,
    documents: Vec<DocLink>,
    action_base: String,
    csrf: String,
    /// For a signer on behalf of a company: for whom, and whether jointly.
    authority_note: Option<String>,
}

/// The SAML HTTP-POST binding without JavaScript: one button posts the request on.
#[derive(Template)]
#[template(path = "autopost.html")]
struct AutoPostPage {
    lang: Lang,
    action: String,
    fields: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "dev_login.html")]
struct DevLoginPage {
    lang: Lang,
    state: String,
    loa: String,
    error: Option<String>,
    persons: &'static [dev::TestPerson],
}

/// What the provider-specific part of a login in progress must remember.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Pending {
    /// The development IdP: the login's `state` is all it needs.
    Dev,
    /// ID-porten: state, nonce, PKCE verifier, the level asked for.
    Oidc(crate::identity::oidc::OidcPending),
    /// An eIDAS node: the AuthnRequest id the response must answer.
    Saml(crate::identity::saml::SamlPending),
}

/// Login in progress: which signing link, the anti-forgery `state`, the language, the route
/// and what the provider's answer must match.
#[derive(Serialize, Deserialize)]
struct LoginCookie {
    token: String,
    state: String,
    lang: String,
    exp: i64,
    route: Route,
    pending: Pending,
}

/// A logged-in signer (the row behind the session cookie's handle).
struct Session {
    handle: String,
    identity: VerifiedIdentity,
    csrf: String,
}

fn random_token() -> String {
    let mut b = [0u8; 24];
    aws_lc_rs::rand::fill(&mut b).expect("the system random generator failed");
    URL_SAFE_NO_PAD.encode(b)
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn page(status: StatusCode, html: Result<String, askama::Error>) -> Response {
    match html {
        Ok(h) => (status, Html(h)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

fn message(
    status: StatusCode,
    lang: Lang,
    title_key: &'static str,
    body_key: &'static str,
    who: Option<String>,
) -> Response {
    message_with_logout(status, lang, title_key, body_key, who, None)
}

fn message_with_logout(
    status: StatusCode,
    lang: Lang,
    title_key: &'static str,
    body_key: &'static str,
    who: Option<String>,
    logout_url: Option<String>,
) -> Response {
    page(
        status,
        MessagePage {
            lang,
            heading: lang.t(title_key),
            body: lang.t(body_key),
            detail: None,
            logged_in_as: who,
            logout_url,
        }
        .render(),
    )
}

/// RP-initiated logout at ID-porten for a signer who logged in there (single sign-on ends
/// when the ceremony does).
fn idporten_logout(state: &AppState, identity: &VerifiedIdentity) -> Option<String> {
    if identity.idp != identity::IdpKind::Idporten {
        return None;
    }
    let op = state.identity.oidc.as_ref()?;
    op.end_session_url(identity.evidence.as_deref(), None, None)
}

/// The organisation as the signer sees it: its register name and number.
fn org_label(c: &Check) -> String {
    match &c.org_name {
        Some(n) => format!("{n} ({})", c.orgnr),
        None => c.orgnr.clone(),
    }
}

/// The sign page's line for a company signer who may sign.
fn authority_note(lang: Lang, c: &Check) -> String {
    let mut note = format!("{} {}.", lang.t("authority_on_behalf"), org_label(c));
    if matches!(c.decision, Decision::AwaitingCoSigners { .. }) {
        note.push(' ');
        note.push_str(lang.t("authority_joint"));
    }
    note
}

/// A company signer who may not sign: the sender is told (once per distinct notice), the
/// signer sees why. Nothing is signed.
async fn authority_denied(
    state: &AppState,
    lang: Lang,
    job: &Job,
    signer_id: &str,
    c: &Check,
    who: Option<String>,
    now: OffsetDateTime,
) -> Response {
    tracing::info!(job = %job.id, signer = %signer_id, orgnr = %c.orgnr, decision = c.decision.code(), "signing authority not established");
    if let Some((kind, data)) = c.sender_notice()
        && let Err(e) = state
            .jobs
            .notify_authority(job, signer_id, kind, data, now)
            .await
    {
        tracing::error!(error = %e, "authority notice could not be recorded");
    }
    let (t, b, detail, status) = match &c.decision {
        Decision::MissingCoSigners { options } => {
            let alternatives: Vec<String> = options
                .iter()
                .map(|o| {
                    o.iter()
                        .map(|r| {
                            format!(
                                "{} ({})",
                                r.name,
                                r.role_text.as_deref().unwrap_or(&r.role_code)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" + ")
                })
                .collect();
            (
                "authority_missing_title",
                "authority_missing_body",
                Some(format!("{}: {}", org_label(c), alternatives.join(" | "))),
                StatusCode::FORBIDDEN,
            )
        }
        Decision::NotGranted(r) if r.is_transient() => (
            "authority_unavailable_title",
            "authority_unavailable_body",
            None,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        Decision::NotGranted(r) => (
            "authority_title",
            "authority_body",
            Some(format!("{}: {}", org_label(c), r)),
            StatusCode::FORBIDDEN,
        ),
        // A decision that lets the signer sign never comes here; say nothing was signed.
        Decision::Granted { .. } | Decision::AwaitingCoSigners { .. } => (
            "authority_title",
            "authority_body",
            None,
            StatusCode::FORBIDDEN,
        ),
    };
    page(
        status,
        MessagePage {
            lang,
            heading: lang.t(t),
            body: lang.t(b),
            detail,
            logged_in_as: who,
            logout_url: None,
        }
        .render(),
    )
}

fn refusal_page(lang: Lang, r: &Refusal, who: Option<String>) -> Response {
    let (t, b, status) = match r {
        Refusal::IdentityMismatch => ("mismatch_title", "mismatch_body", StatusCode::FORBIDDEN),
        Refusal::LoaTooLow => ("loa_title", "loa_body", StatusCode::FORBIDDEN),
        Refusal::NotYourTurn => ("turn_title", "turn_body", StatusCode::CONFLICT),
        Refusal::SignerNotWaiting(_) => ("done_title", "closed_body", StatusCode::CONFLICT),
        _ => ("closed_title", "closed_body", StatusCode::GONE),
    };
    message(status, lang, t, b, who)
}

fn cookie(state: &AppState, name: &'static str, value: String, max_age: i64) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .secure(state.config.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(max_age))
        .build()
}

fn removal(name: &'static str) -> Cookie<'static> {
    Cookie::build((name, "")).path("/").build()
}

/// The session this browser holds for `signer_id`, if it is live.
async fn read_session(
    state: &AppState,
    jar: &PrivateCookieJar,
    signer_id: &str,
    now: OffsetDateTime,
) -> Option<Session> {
    let handle = jar.get(SESSION_COOKIE)?.value().to_string();
    let rec = match state.jobs.store().session(&handle, now).await {
        Ok(r) => r?,
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            return None;
        }
    };
    if !ct_eq(&rec.signer_id, signer_id) {
        return None;
    }
    let identity = serde_json::from_str(&rec.identity_json).ok()?;
    Some(Session {
        handle,
        identity,
        csrf: rec.csrf,
    })
}

/// The login in progress in this browser (if it has not run out) and the language to
/// answer in: the login's, else the browser's.
fn login_in_progress(
    jar: &PrivateCookieJar,
    headers: &HeaderMap,
    now: OffsetDateTime,
) -> (Option<LoginCookie>, Lang) {
    let login = read_login(jar, now);
    let lang = Lang::choose(login.as_ref().map(|l| l.lang.as_str()), headers);
    (login, lang)
}

/// The login in progress in this browser, if it has not run out.
fn read_login(jar: &PrivateCookieJar, now: OffsetDateTime) -> Option<LoginCookie> {
    jar.get(LOGIN_COOKIE)
        .and_then(|c| serde_json::from_str::<LoginCookie>(c.value()).ok())
        .filter(|l| l.exp > now.unix_timestamp())
}

/// Client address and user agent, recorded with the signature.
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientInfo {
            ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(300).collect()),
        })
    }
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

async fn resolve(state: &AppState, token: &str, lang: Lang) -> Result<(Job, String), Response> {
    match state.jobs.by_token(token).await {
        Ok(v) => Ok(v),
        Err(JobError::NotFound) => Err(message(
            StatusCode::NOT_FOUND,
            lang,
            "notfound_title",
            "notfound_body",
            None,
        )),
        Err(e) => {
            tracing::error!(error = %e, "ceremony lookup failed");
            Err(message(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                "error_title",
                "error_body",
                None,
            ))
        }
    }
}

fn login_failed(lang: Lang, reason: UserReason) -> Response {
    let (t, b, status) = match reason {
        UserReason::Cancelled => ("cancelled_title", "cancelled_body", StatusCode::FORBIDDEN),
        UserReason::LoaTooLow => ("loa_title", "loa_body", StatusCode::FORBIDDEN),
        UserReason::Expired => ("session_title", "session_body", StatusCode::BAD_REQUEST),
        UserReason::ProviderUnavailable => (
            "idp_down_title",
            "idp_down_body",
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        UserReason::Rejected => (
            "login_rejected_title",
            "login_rejected_body",
            StatusCode::FORBIDDEN,
        ),
    };
    message(status, lang, t, b, None)
}

/// Sends the browser to the identity provider the designated signer logs in with, remembering
/// in an encrypted cookie what the answer must match.
async fn start_login(
    state: &AppState,
    jar: PrivateCookieJar,
    job: &Job,
    signer: &Signer,
    token: String,
    lang: Lang,
    now: OffsetDateTime,
) -> Response {
    let Some(route) = identity::route(&signer.identifier, state.identity.available()) else {
        tracing::warn!(job = %job.id, kind = signer.identifier.kind(), "no identity provider serves this signer");
        return login_failed(lang, UserReason::ProviderUnavailable);
    };
    let login_state = random_token();
    let started = match route {
        Route::Dev => Ok((
            Pending::Dev,
            LoginStart::Redirect(format!(
                "/dev-idp/authorize?state={login_state}&loa={}&lang={}",
                job.required_loa.as_str(),
                lang.code()
            )),
        )),
        federated => begin_federated(state, federated, job, signer, &login_state, lang, now).await,
    };
    let (pending, start) = match started {
        Ok(v) => v,
        Err(reason) => return login_failed(lang, reason),
    };
    let login = LoginCookie {
        token,
        state: login_state,
        lang: lang.code().into(),
        exp: now.unix_timestamp() + LOGIN_SECONDS,
        route,
        pending,
    };
    let jar = jar.add(cookie(
        state,
        LOGIN_COOKIE,
        serde_json::to_string(&login).unwrap_or_default(),
        LOGIN_SECONDS,
    ));
    match start {
        LoginStart::Redirect(url) => (jar, Redirect::to(&url)).into_response(),
        LoginStart::Post { action, fields } => (
            jar,
            page(
                StatusCode::OK,
                AutoPostPage {
                    lang,
                    action,
                    fields,
                }
                .render(),
            ),
        )
            .into_response(),
    }
}

/// Starts a login at ID-porten or an eIDAS node.
async fn begin_federated(
    state: &AppState,
    route: Route,
    job: &Job,
    signer: &Signer,
    login_state: &str,
    lang: Lang,
    now: OffsetDateTime,
) -> Result<(Pending, LoginStart), UserReason> {
    match route {
        Route::Idporten | Route::IdportenEidas => {
            let Some(op) = state.identity.oidc.as_ref() else {
                return Err(UserReason::ProviderUnavailable);
            };
            let req = OidcAuthRequest {
                loa: job.required_loa,
                eidas: route == Route::IdportenEidas,
                lang: lang.code().into(),
            };
            let (url, pending) = op.begin(&req).await.map_err(|e| {
                tracing::warn!(error = %e, job = %job.id, "ID-porten login could not start");
                e.user_reason()
            })?;
            Ok((Pending::Oidc(pending), LoginStart::Redirect(url)))
        }
        Route::EidasNode => {
            let Some(sp) = state.identity.saml.as_ref() else {
                return Err(UserReason::ProviderUnavailable);
            };
            let country = match &signer.identifier {
                SignerIdentifier::EidasId(id) => {
                    identity::split_eidas_id(id).map(|(c, _, _)| c.to_ascii_uppercase())
                }
                SignerIdentifier::NationalId(_) | SignerIdentifier::RegisterPerson(_) => None,
            };
            let req = SamlAuthRequest {
                loa: job.required_loa,
                country,
                legal_person: signer.on_behalf_of.is_some(),
                relay_state: login_state.to_string(),
            };
            let (start, pending) = sp.begin(&req, now).map_err(|e| {
                tracing::warn!(error = %e, job = %job.id, "eIDAS login could not start");
                e.user_reason()
            })?;
            Ok((Pending::Saml(pending), start))
        }
        Route::Dev => Err(UserReason::ProviderUnavailable),
    }
}

/// The end of every login: the identity must be the designated signer of the link this browser
/// started from; then a server-side session is opened and the browser goes to the documents.
async fn finish_login(
    state: &AppState,
    jar: PrivateCookieJar,
    login: &LoginCookie,
    identity: VerifiedIdentity,
    now: OffsetDateTime,
) -> Response {
    let lang = Lang::choose(Some(&login.lang), &HeaderMap::new());
    let jar = jar.remove(removal(LOGIN_COOKIE));
    let (job, signer_id) = match resolve(state, &login.token, lang).await {
        Ok(v) => v,
        Err(r) => return (jar, r).into_response(),
    };
    let who = Some(identity.name.clone());
    if let Err(r) = may_sign(&job, &signer_id, &identity, now) {
        tracing::info!(job = %job.id, signer = %signer_id, refusal = %r, idp = identity.idp.label(), "login refused for this signer");
        return (jar, refusal_page(lang, &r, who)).into_response();
    }
    let handle = random_token();
    let rec = SessionRecord {
        signer_id: signer_id.clone(),
        identity_json: serde_json::to_string(&identity).unwrap_or_default(),
        csrf: random_token(),
        expires_at: now + time::Duration::seconds(SESSION_SECONDS),
    };
    if let Err(e) = state.jobs.store().create_session(&handle, &rec, now).await {
        tracing::error!(error = %e, "session could not be stored");
        return (
            jar,
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                "error_title",
                "error_body",
                None,
            ),
        )
            .into_response();
    }
    tracing::info!(job = %job.id, signer = %signer_id, idp = identity.idp.label(), loa = %identity.loa, "signer logged in");
    let jar = jar.add(cookie(state, SESSION_COOKIE, handle, SESSION_SECONDS));
    (
        jar,
        Redirect::to(&format!("/sign/{}?lang={}", login.token, lang.code())),
    )
        .into_response()
}

/// `GET /sign/{token}`: the document page for a logged-in signer, else off to the login.
async fn sign_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    jar: PrivateCookieJar,
) -> Response {
    let lang = Lang::choose(q.lang.as_deref(), &headers);
    let (job, signer_id) = match resolve(&state, &token, lang).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(signer) = job.signers.iter().find(|s| s.id == signer_id) else {
        return message(
            StatusCode::NOT_FOUND,
            lang,
            "notfound_title",
            "notfound_body",
            None,
        );
    };
    if job.status != JobStatus::InProgress || signer.status != SignerStatus::Waiting {
        let key = if signer.status == SignerStatus::Waiting {
            "closed_title"
        } else {
            "done_title"
        };
        return message(StatusCode::GONE, lang, key, "closed_body", None);
    }
    let now = OffsetDateTime::now_utc();
    let Some(session) = read_session(&state, &jar, &signer_id, now).await else {
        return start_login(&state, jar, &job, signer, token, lang, now).await;
    };
    if let Err(r) = may_sign(&job, &signer_id, &session.identity, now) {
        return refusal_page(lang, &r, Some(session.identity.name.clone()));
    }
    let authority_note =
        match authority::check(&state.register, &job, &signer_id, &session.identity, now).await {
            None => None,
            Some(c) if c.proof.is_none() => {
                let who = Some(session.identity.name.clone());
                return authority_denied(&state, lang, &job, &signer_id, &c, who, now).await;
            }
            Some(c) => Some(authority_note(lang, &c)),
        };
    let sender = match state.jobs.store().org_by_id(&job.org_id).await {
        Ok(Some(o)) => format!("{} ({})", o.name, o.orgnr),
        _ => "-".into(),
    };
    let base = format!("/sign/{token}");
    page(
        StatusCode::OK,
        SignPage {
            lang,
            title: job.title.clone(),
            sender,
            signer_name: session.identity.name.clone(),
            signer_id: session.identity.display_identifier(),
            documents: job
                .documents
                .iter()
                .map(|d| DocLink {
                    href: format!("{base}/documents/{}", d.id),
                    title: d.title.clone(),
                    pages: d.pages,
                })
                .collect(),
            action_base: base,
            csrf: session.csrf.clone(),
            authority_note,
        }
        .render(),
    )
}

/// `GET /sign/{token}/documents/{doc}`: the PDF, inline, for the logged-in signer only.
async fn document(
    State(state): State<AppState>,
    Path((token, doc_id)): Path<(String, String)>,
    headers: HeaderMap,
    jar: PrivateCookieJar,
) -> Response {
    let lang = Lang::choose(None, &headers);
    let (job, signer_id) = match resolve(&state, &token, lang).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if read_session(&state, &jar, &signer_id, OffsetDateTime::now_utc())
        .await
        .is_none()
    {
        return message(
            StatusCode::UNAUTHORIZED,
            lang,
            "session_title",
            "session_body",
            None,
        );
    }
    let Some(doc) = job.documents.iter().find(|d| d.id == doc_id) else {
        return message(
            StatusCode::NOT_FOUND,
            lang,
            "notfound_title",
            "notfound_body",
            None,
        );
    };
    match state.jobs.blobs().get(&doc.blob_key).await {
        Ok(bytes) => {
            let name: String = doc
                .title
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || " -_.".contains(*c))
                .collect();
            (
                [
                    (header::CONTENT_TYPE, "application/pdf".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("inline; filename=\"{}.pdf\"", name.trim()),
                    ),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "document blob missing");
            message(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                "error_title",
                "error_body",
                None,
            )
        }
    }
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf: String,
    lang: Option<String>,
}

fn append_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = url.to_string();
    for (i, (k, v)) in pairs.iter().enumerate() {
        let sep = if i == 0 && !url.contains('?') {
            '?'
        } else {
            '&'
        };
        out.push(sep);
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

async fn decide(
    state: AppState,
    token: String,
    headers: HeaderMap,
    jar: PrivateCookieJar,
    client: ClientInfo,
    form: DecisionForm,
    sign: bool,
) -> Response {
    let lang = Lang::choose(form.lang.as_deref(), &headers);
    let (job, signer_id) = match resolve(&state, &token, lang).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let now = OffsetDateTime::now_utc();
    let Some(session) = read_session(&state, &jar, &signer_id, now).await else {
        return message(
            StatusCode::UNAUTHORIZED,
            lang,
            "session_title",
            "session_body",
            None,
        );
    };
    if !ct_eq(&form.csrf, &session.csrf) {
        return message(
            StatusCode::FORBIDDEN,
            lang,
            "session_title",
            "session_body",
            None,
        );
    }
    let who = Some(session.identity.name.clone());
    // A company signer's authority is established again now, from the register (the page
    // that offered the button proves nothing); a signer without it signs nothing.
    let mut proof = None;
    if sign
        && let Some(c) =
            authority::check(&state.register, &job, &signer_id, &session.identity, now).await
    {
        match c.proof.clone() {
            Some(p) => proof = Some(p),
            None => {
                return authority_denied(&state, lang, &job, &signer_id, &c, who, now).await;
            }
        }
    }
    let result = if sign {
        state
            .jobs
            .sign(
                &job.id,
                &signer_id,
                &session.identity,
                SignContext {
                    client_ip: client.ip,
                    user_agent: client.user_agent,
                    authority: proof,
                },
                now,
            )
            .await
    } else {
        state
            .jobs
            .reject(&job.id, &signer_id, &session.identity, now)
            .await
    };
    // A decision ends the signer's sessions: the link cannot be used again after it.
    let ended = if result.is_ok() {
        state
            .jobs
            .store()
            .end_signer_sessions(&signer_id)
            .await
            .map(|_| ())
    } else {
        state
            .jobs
            .store()
            .end_session(&session.handle)
            .await
            .map(|_| ())
    };
    if let Err(e) = ended {
        tracing::error!(error = %e, "ending the signer's session failed");
    }
    let jar = jar.remove(removal(SESSION_COOKIE));
    match result {
        Ok(job) => {
            if sign {
                state.metrics.signatures.inc();
            }
            let (target, status) = if sign {
                (job.redirect.completion.as_deref(), "signed")
            } else {
                (job.redirect.rejection.as_deref(), "rejected")
            };
            if let Some(url) = target {
                let to = append_query(
                    url,
                    &[
                        ("job_id", &job.id),
                        ("signer_id", &signer_id),
                        ("status", status),
                    ],
                );
                return (jar, Redirect::to(&to)).into_response();
            }
            let (t, b) = if sign {
                ("signed_title", "signed_body")
            } else {
                ("rejected_title", "rejected_body")
            };
            let logout = idporten_logout(&state, &session.identity);
            (
                jar,
                message_with_logout(StatusCode::OK, lang, t, b, who, logout),
            )
                .into_response()
        }
        Err(JobError::Refused(r)) => (jar, refusal_page(lang, &r, who)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, job = %job.id, "signing failed");
            if let Some(url) = job.redirect.error.as_deref() {
                let to = append_query(url, &[("job_id", &job.id), ("status", "error")]);
                return (jar, Redirect::to(&to)).into_response();
            }
            (
                jar,
                message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    lang,
                    "error_title",
                    "error_body",
                    who,
                ),
            )
                .into_response()
        }
    }
}

async fn sign_post(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    jar: PrivateCookieJar,
    client: ClientInfo,
    Form(form): Form<DecisionForm>,
) -> Response {
    decide(state, token, headers, jar, client, form, true).await
}

async fn reject_post(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    jar: PrivateCookieJar,
    client: ClientInfo,
    Form(form): Form<DecisionForm>,
) -> Response {
    decide(state, token, headers, jar, client, form, false).await
}

// ------------------------------------------------------------------ development IdP

#[derive(Deserialize)]
struct AuthorizeQuery {
    state: String,
    loa: Option<String>,
    lang: Option<String>,
}

async fn dev_authorize(Query(q): Query<AuthorizeQuery>, headers: HeaderMap) -> Response {
    let lang = Lang::choose(q.lang.as_deref(), &headers);
    let loa = q
        .loa
        .as_deref()
        .and_then(Loa::parse)
        .unwrap_or(Loa::Substantial);
    page(
        StatusCode::OK,
        DevLoginPage {
            lang,
            state: q.state.chars().take(64).collect(),
            loa: loa.as_str().into(),
            error: None,
            persons: dev::TEST_PERSONS,
        }
        .render(),
    )
}

#[derive(Deserialize)]
struct DevLoginForm {
    pid: String,
    state: String,
    loa: Option<String>,
    lang: Option<String>,
    /// The name the identity carries (for testing register matching); default: the test
    /// person's, or "Test Person {pid}".
    name: Option<String>,
}

/// An authorization code from the development IdP: the identity and the state, MAC'ed.
#[derive(Serialize, Deserialize)]
struct DevCode {
    identity: VerifiedIdentity,
    state: String,
    exp: i64,
}

fn seal_code(key: &hmac::Key, code: &DevCode) -> String {
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(code).unwrap_or_default());
    let tag = hmac::sign(key, format!("dev-idp-code:{body}").as_bytes());
    format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

fn open_code(key: &hmac::Key, s: &str) -> Option<DevCode> {
    let (body, tag) = s.split_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    hmac::verify(key, format!("dev-idp-code:{body}").as_bytes(), &tag).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
}

async fn dev_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<DevLoginForm>,
) -> Response {
    let lang = Lang::choose(f.lang.as_deref(), &headers);
    let loa = f.loa.as_deref().and_then(Loa::parse).unwrap_or(Loa::High);
    let now = OffsetDateTime::now_utc();
    match dev::login(&f.pid, loa, now) {
        Ok(mut identity) => {
            if let Some(name) = f.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                identity.name = name.chars().take(200).collect();
            }
            let code = seal_code(
                &state.code_key,
                &DevCode {
                    identity,
                    state: f.state.clone(),
                    exp: now.unix_timestamp() + 120,
                },
            );
            Redirect::to(&format!(
                "/dev-idp/callback?code={code}&state={}",
                f.state.chars().take(64).collect::<String>()
            ))
            .into_response()
        }
        Err(e) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            DevLoginPage {
                lang,
                state: f.state.chars().take(64).collect(),
                loa: loa.as_str().into(),
                error: Some(e.to_string()),
                persons: dev::TEST_PERSONS,
            }
            .render(),
        ),
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: String,
    state: String,
}

/// The relying-party side of the development IdP: the code must answer this browser's login.
async fn dev_callback(
    State(state): State<AppState>,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
    jar: PrivateCookieJar,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let (login, lang) = login_in_progress(&jar, &headers, now);
    let Some(login) = login.filter(|l| matches!(l.pending, Pending::Dev)) else {
        return login_failed(lang, UserReason::Expired);
    };
    let code = open_code(&state.code_key, &q.code)
        .filter(|c| c.exp > now.unix_timestamp())
        .filter(|c| ct_eq(&c.state, &login.state) && ct_eq(&q.state, &login.state));
    let Some(code) = code else {
        return login_failed(lang, UserReason::Rejected);
    };
    finish_login(&state, jar, &login, code.identity, now).await
}

// ------------------------------------------------------------------ ID-porten (OIDC)

/// `GET /oidc/callback`: ID-porten's answer must belong to this browser's login.
async fn oidc_callback(
    State(state): State<AppState>,
    Query(cb): Query<OidcCallback>,
    headers: HeaderMap,
    jar: PrivateCookieJar,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let (login, lang) = login_in_progress(&jar, &headers, now);
    let (Some(login), Some(op)) = (login, state.identity.oidc.as_ref()) else {
        return login_failed(lang, UserReason::Expired);
    };
    let Pending::Oidc(pending) = &login.pending else {
        return login_failed(lang, UserReason::Expired);
    };
    match op.finish(pending, &cb, now).await {
        Ok(identity) => finish_login(&state, jar, &login, identity, now).await,
        Err(e) => {
            tracing::warn!(error = %e, "ID-porten login refused");
            (
                jar.remove(removal(LOGIN_COOKIE)),
                login_failed(lang, e.user_reason()),
            )
                .into_response()
        }
    }
}

// ------------------------------------------------------------------ eIDAS node (SAML)

/// `GET /saml/metadata`: our signed SP metadata.
async fn saml_metadata(State(state): State<AppState>) -> Response {
    let Some(sp) = state.identity.saml.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match sp.metadata_xml(OffsetDateTime::now_utc()) {
        Ok(xml) => (
            [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
            xml,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "SP metadata could not be made");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Deserialize)]
struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
}

/// `POST /saml/acs`: the node's cross-site POST carries no SameSite cookies, so the response
/// is verified here, its assertion spent (one-time use), and the login handed over under a
/// one-time handle to `/saml/complete`, a same-site GET that sees the browser's login cookie.
async fn saml_acs(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<AcsForm>,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let lang = Lang::choose(None, &headers);
    let Some(sp) = state.identity.saml.as_ref() else {
        return login_failed(lang, UserReason::ProviderUnavailable);
    };
    let login = match sp.finish(&f.saml_response, now) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "eIDAS response refused");
            return login_failed(lang, e.user_reason());
        }
    };
    let store = state.jobs.store();
    match store
        .first_use_of_assertion(
            &login.identity.issuer,
            &login.assertion_id,
            login.not_on_or_after,
        )
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(assertion = %login.assertion_id, "replayed SAML assertion refused");
            return login_failed(lang, UserReason::Rejected);
        }
        Err(e) => {
            tracing::error!(error = %e, "assertion replay cache failed");
            return login_failed(lang, UserReason::ProviderUnavailable);
        }
    }
    let handle = random_token();
    let json = serde_json::to_string(&login.identity).unwrap_or_default();
    if let Err(e) = store
        .put_handoff(
            &handle,
            &login.in_response_to,
            &json,
            now + time::Duration::minutes(2),
        )
        .await
    {
        tracing::error!(error = %e, "SAML hand-off could not be stored");
        return login_failed(lang, UserReason::ProviderUnavailable);
    }
    Redirect::to(&format!("/saml/complete?h={handle}")).into_response()
}

#[derive(Deserialize)]
struct HandoffQuery {
    h: String,
}

/// `GET /saml/complete`: binds the verified login to the browser that asked (InResponseTo is
/// the request id in its login cookie) and checks the level of assurance.
async fn saml_complete(
    State(state): State<AppState>,
    Query(q): Query<HandoffQuery>,
    headers: HeaderMap,
    jar: PrivateCookieJar,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let (login, lang) = login_in_progress(&jar, &headers, now);
    let Some(login) = login else {
        return login_failed(lang, UserReason::Expired);
    };
    let Pending::Saml(pending) = &login.pending else {
        return login_failed(lang, UserReason::Expired);
    };
    let taken = match state.jobs.store().take_handoff(&q.h, now).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "SAML hand-off lookup failed");
            return login_failed(lang, UserReason::ProviderUnavailable);
        }
    };
    let Some((in_response_to, json)) = taken else {
        return login_failed(lang, UserReason::Expired);
    };
    let Ok(identity) = serde_json::from_str::<VerifiedIdentity>(&json) else {
        return login_failed(lang, UserReason::Rejected);
    };
    if !ct_eq(&in_response_to, &pending.request_id) {
        tracing::warn!("SAML response answers another browser's request");
        return (
            jar.remove(removal(LOGIN_COOKIE)),
            login_failed(lang, UserReason::Rejected),
        )
            .into_response();
    }
    if identity.loa < pending.min_loa {
        return (
            jar.remove(removal(LOGIN_COOKIE)),
            login_failed(lang, UserReason::LoaTooLow),
        )
            .into_response();
    }
    finish_login(&state, jar, &login, identity, now).await
}

pub fn router(state: &AppState) -> axum::Router<AppState> {
    let r = axum::Router::new()
        .route("/sign/{token}", get(sign_page))
        .route("/sign/{token}/documents/{doc}", get(document))
        .route("/sign/{token}/sign", post(sign_post))
        .route("/sign/{token}/reject", post(reject_post))
        .route("/oidc/callback", get(oidc_callback))
        .route("/saml/metadata", get(saml_metadata))
        .route("/saml/acs", post(saml_acs))
        .route("/saml/complete", get(saml_complete));
    if state.config.dev_idp.enabled {
        r.route("/dev-idp/authorize", get(dev_authorize).post(dev_login))
            .route("/dev-idp/callback", get(dev_callback))
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_tamper_evident() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"k");
        let ident = dev::login("13097248022", Loa::High, OffsetDateTime::UNIX_EPOCH).unwrap();
        let c = seal_code(
            &key,
            &DevCode {
                identity: ident,
                state: "s".into(),
                exp: 5,
            },
        );
        assert!(open_code(&key, &c).is_some());
        let mut bad = c.clone();
        bad.insert(3, 'A');
        assert!(open_code(&key, &bad).is_none());
        let other = hmac::Key::new(hmac::HMAC_SHA256, b"other");
        assert!(open_code(&other, &c).is_none());
    }

    #[test]
    fn query_append() {
        assert_eq!(
            append_query("https://a/b", &[("x", "1"), ("y", "2")]),
            "https://a/b?x=1&y=2"
        );
        assert_eq!(
            append_query("https://a/b?z=0", &[("x", "1")]),
            "https://a/b?z=0&x=1"
        );
    }
}
