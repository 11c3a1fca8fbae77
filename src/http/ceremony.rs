//! The signer's ceremony in the browser (no JavaScript: HTML forms and redirects) and the
//! development identity provider's pages.
//!
//! Flow: `GET /sign/{token}` → (no session) login at the identity provider → callback → the
//! identity must be the designated signer → document page → `POST …/sign` or `POST …/reject`.
//! Sessions are signed, HttpOnly, SameSite=Lax cookies (Secure outside plain-http dev); every
//! form carries a CSRF token bound to the session and compared in constant time.
//!
//! Owns: pages, cookies, CSRF. Must not: decide whether the person may sign (`jobs` does).

use std::net::SocketAddr;

use askama::Template;
use aws_lc_rs::hmac;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::SignedCookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::AppState;
use super::i18n::Lang;
use crate::identity::{VerifiedIdentity, dev};
use crate::jobs::machine::{Refusal, may_sign};
use crate::jobs::model::{Job, JobStatus, Loa, SignerStatus};
use crate::jobs::service::JobError;

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
    logged_in_as: Option<String>,
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

/// Login in progress: which signer, the anti-forgery `state`, the language.
#[derive(Serialize, Deserialize)]
struct LoginCookie {
    token: String,
    state: String,
    lang: String,
    exp: i64,
}

/// A logged-in signer.
#[derive(Serialize, Deserialize)]
struct SessionCookie {
    signer: String,
    identity: VerifiedIdentity,
    csrf: String,
    exp: i64,
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
    page(
        status,
        MessagePage {
            lang,
            heading: lang.t(title_key),
            body: lang.t(body_key),
            logged_in_as: who,
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

fn read_session(jar: &SignedCookieJar, signer_id: &str, now: i64) -> Option<SessionCookie> {
    let c = jar.get(SESSION_COOKIE)?;
    let s: SessionCookie = serde_json::from_str(c.value()).ok()?;
    (s.exp > now && s.signer == signer_id).then_some(s)
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

/// `GET /sign/{token}`: the document page for a logged-in signer, else off to the login.
async fn sign_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    jar: SignedCookieJar,
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
    let Some(session) = read_session(&jar, &signer_id, now.unix_timestamp()) else {
        // Start a login: bind this browser to the request with a one-time state.
        let login_state = random_token();
        let login = LoginCookie {
            token: token.clone(),
            state: login_state.clone(),
            lang: lang.code().into(),
            exp: now.unix_timestamp() + LOGIN_SECONDS,
        };
        let jar = jar.add(cookie(
            &state,
            LOGIN_COOKIE,
            serde_json::to_string(&login).unwrap_or_default(),
            LOGIN_SECONDS,
        ));
        let loa = job.required_loa.as_str();
        let target = format!(
            "/dev-idp/authorize?state={login_state}&loa={loa}&lang={}",
            lang.code()
        );
        if !state.config.dev_idp.enabled {
            // Real providers arrive with the federation issue; fail closed until then.
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                lang,
                "error_title",
                "error_body",
                None,
            );
        }
        return (jar, Redirect::to(&target)).into_response();
    };
    if let Err(r) = may_sign(&job, &signer_id, &session.identity, now) {
        return refusal_page(lang, &r, Some(session.identity.name.clone()));
    }
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
        }
        .render(),
    )
}

/// `GET /sign/{token}/documents/{doc}`: the PDF, inline, for the logged-in signer only.
async fn document(
    State(state): State<AppState>,
    Path((token, doc_id)): Path<(String, String)>,
    headers: HeaderMap,
    jar: SignedCookieJar,
) -> Response {
    let lang = Lang::choose(None, &headers);
    let (job, signer_id) = match resolve(&state, &token, lang).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if read_session(&jar, &signer_id, OffsetDateTime::now_utc().unix_timestamp()).is_none() {
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
    jar: SignedCookieJar,
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
    let Some(session) = read_session(&jar, &signer_id, now.unix_timestamp()) else {
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
    let result = if sign {
        state
            .jobs
            .sign(
                &job.id,
                &signer_id,
                &session.identity,
                client.ip,
                client.user_agent,
                now,
            )
            .await
    } else {
        state
            .jobs
            .reject(&job.id, &signer_id, &session.identity, now)
            .await
    };
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
            (jar, message(StatusCode::OK, lang, t, b, who)).into_response()
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
    jar: SignedCookieJar,
    client: ClientInfo,
    Form(form): Form<DecisionForm>,
) -> Response {
    decide(state, token, headers, jar, client, form, true).await
}

async fn reject_post(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    jar: SignedCookieJar,
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
        Ok(identity) => {
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

/// The relying-party side: checks the code and that it answers this browser's login, then
/// refuses anyone but the designated signer before a session exists.
async fn dev_callback(
    State(state): State<AppState>,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
    jar: SignedCookieJar,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let login: Option<LoginCookie> = jar
        .get(LOGIN_COOKIE)
        .and_then(|c| serde_json::from_str(c.value()).ok())
        .filter(|l: &LoginCookie| l.exp > now.unix_timestamp());
    let lang = Lang::choose(login.as_ref().map(|l| l.lang.as_str()), &headers);
    let Some(login) = login else {
        return message(
            StatusCode::BAD_REQUEST,
            lang,
            "session_title",
            "session_body",
            None,
        );
    };
    let code = open_code(&state.code_key, &q.code)
        .filter(|c| c.exp > now.unix_timestamp())
        .filter(|c| ct_eq(&c.state, &login.state) && ct_eq(&q.state, &login.state));
    let Some(code) = code else {
        return message(
            StatusCode::BAD_REQUEST,
            lang,
            "session_title",
            "session_body",
            None,
        );
    };
    let jar = jar.remove(removal(LOGIN_COOKIE));
    let (job, signer_id) = match resolve(&state, &login.token, lang).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let who = Some(code.identity.name.clone());
    if let Err(r) = may_sign(&job, &signer_id, &code.identity, now) {
        tracing::info!(job = %job.id, signer = %signer_id, refusal = %r, "login refused for this signer");
        return (jar, refusal_page(lang, &r, who)).into_response();
    }
    let session = SessionCookie {
        signer: signer_id,
        identity: code.identity,
        csrf: random_token(),
        exp: now.unix_timestamp() + SESSION_SECONDS,
    };
    let jar = jar.add(cookie(
        &state,
        SESSION_COOKIE,
        serde_json::to_string(&session).unwrap_or_default(),
        SESSION_SECONDS,
    ));
    (
        jar,
        Redirect::to(&format!("/sign/{}?lang={}", login.token, lang.code())),
    )
        .into_response()
}

pub fn router(state: &AppState) -> axum::Router<AppState> {
    let r = axum::Router::new()
        .route("/sign/{token}", get(sign_page))
        .route("/sign/{token}/documents/{doc}", get(document))
        .route("/sign/{token}/sign", post(sign_post))
        .route("/sign/{token}/reject", post(reject_post));
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
