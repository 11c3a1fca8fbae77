//! ID-porten as an OpenID Connect relying party (also ID-porten's eIDAS login).
//!
//! Owns: discovery (`{issuer}/.well-known/openid-configuration`, issuer compared exactly), the
//! JWKS cache (moka, one forced refetch at most every 30 s when an unknown `kid` shows up), the
//! authorization request (code flow, PKCE S256, state, nonce, acr_values, ui_locales,
//! prompt=login, optionally pushed with PAR), the callback checks (error, state, RFC 9207
//! `iss`), the token request with client authentication (`private_key_jwt` signed with the
//! configured PKCS#8 key, or `client_secret_basic`), id_token verification ([`token`]) and the
//! RP-initiated logout URL. Every HTTP answer is size-bounded and time-bounded.
//! Must not: keep per-login state (the caller stores [`OidcPending`] in its session), decide
//! whether the person may sign (that is `jobs`), log tokens, codes, secrets or keys.

pub mod token;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::Url;
use serde::Deserialize;
use time::OffsetDateTime;

pub use token::{
    IdTokenClaims, IdTokenExpectations, JwsAlg, KeySet, MAX_ID_TOKEN_BYTES, VerifyKey, acr_value,
    parse_acr, verify_id_token,
};

use super::client_key::ClientKey;
use super::{IdpKind, UserReason, VerifiedIdentity};
use crate::config::IdportenConfig;
use crate::jobs::model::Loa;

const MAX_DISCOVERY_BYTES: usize = 64 * 1024;
const MAX_JWKS_BYTES: usize = 256 * 1024;
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;
const MAX_PAR_RESPONSE_BYTES: usize = 16 * 1024;
/// How long a fetched JWKS is used before it is fetched again.
const JWKS_TTL: Duration = Duration::from_secs(3600);
/// Earliest retry of a failed discovery refresh.
const DISCOVERY_RETRY: Duration = Duration::from_secs(60);
/// At most one refetch for an unknown `kid` in this interval.
const JWKS_FORCED_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// Lifetime of a `private_key_jwt` client assertion.
const CLIENT_ASSERTION_LIFETIME_S: i64 = 60;

/// Why an ID-porten login did not produce an identity. Messages never contain tokens, codes or
/// secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error("ID-porten configuration: {0}")]
    Config(String),
    #[error("{0} request failed: {1}")]
    Http(&'static str, String),
    #[error("{0} answered HTTP {1}")]
    HttpStatus(&'static str, u16),
    #[error("{0} answer is larger than {1} bytes")]
    ResponseTooLarge(&'static str, usize),
    #[error("{0} answer is malformed: {1}")]
    BadResponse(&'static str, String),
    #[error("discovery names issuer {found:?}, configured is {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("provider metadata: {0}")]
    BadMetadata(String),
    #[error("use_par is set but the provider has no pushed_authorization_request_endpoint")]
    ParUnsupported,
    #[error("the signer cancelled the login (access_denied)")]
    Cancelled,
    #[error("the provider returned error {error:?}: {description}")]
    ProviderError { error: String, description: String },
    #[error("the callback has no code")]
    MissingCode,
    #[error("state does not match the pending login")]
    StateMismatch,
    #[error("the authorization response iss does not name the issuer")]
    IssMismatch,
    #[error("the authorization response has no iss although the provider announces it")]
    IssMissing,
    #[error("{endpoint} endpoint refused the request: {error:?} {description}")]
    Refused {
        endpoint: &'static str,
        error: String,
        description: String,
    },
    #[error("the token response has no id_token")]
    NoIdToken,
    #[error("client authentication could not be built: {0}")]
    ClientAuth(String),
    #[error("id_token is larger than {MAX_ID_TOKEN_BYTES} bytes")]
    TokenTooLarge,
    #[error("id_token is malformed: {0}")]
    MalformedToken(&'static str),
    #[error("id_token alg {0:?} is not allowed (RS256 and ES256 only)")]
    AlgNotAllowed(String),
    #[error("id_token kid is not in the provider's JWKS")]
    UnknownKid,
    #[error("id_token alg does not match the key's algorithm")]
    KeyAlgMismatch,
    #[error("id_token signature is invalid")]
    BadSignature,
    #[error("id_token iss is not the configured issuer")]
    WrongIssuer,
    #[error("id_token aud does not contain our client_id")]
    WrongAudience,
    #[error("id_token azp is not our client_id")]
    WrongAzp,
    #[error("id_token has expired")]
    TokenExpired,
    #[error("id_token is issued in the future")]
    IssuedInFuture,
    #[error("id_token is not yet valid (nbf)")]
    NotYetValid,
    #[error("id_token nonce does not match the pending login")]
    NonceMismatch,
    #[error("id_token has no acr")]
    AcrMissing,
    #[error("id_token acr {0:?} is unknown")]
    AcrUnknown(String),
    #[error(
        "id_token acr {acr:?} does not belong to this kind of login (eIDAS login: {eidas_login})"
    )]
    AcrWrongKind { acr: String, eidas_login: bool },
    #[error("level of assurance {got} is below the required {required}")]
    LoaTooLow { got: Loa, required: Loa },
    #[error("id_token has no pid")]
    MissingPid,
    #[error("id_token pid is not 11 digits")]
    BadPid,
    #[error("id_token has no eIDAS identifier")]
    MissingEidasId,
    #[error("id_token eIDAS identifier is not CC/CC/identifier")]
    BadEidasId,
    #[error("id_token has two different eIDAS identifiers")]
    ConflictingEidasId,
}

impl OidcError {
    /// What the signer is told.
    pub fn user_reason(&self) -> UserReason {
        use OidcError::*;
        match self {
            Cancelled => UserReason::Cancelled,
            LoaTooLow { .. } => UserReason::LoaTooLow,
            Refused {
                endpoint: "token",
                error,
                ..
            } if error == "invalid_grant" => UserReason::Expired,
            Config(_)
            | Http(..)
            | HttpStatus(..)
            | ResponseTooLarge(..)
            | BadResponse(..)
            | IssuerMismatch { .. }
            | BadMetadata(_)
            | ParUnsupported
            | ProviderError { .. }
            | Refused { .. }
            | ClientAuth(_) => UserReason::ProviderUnavailable,
            MissingCode
            | StateMismatch
            | IssMismatch
            | IssMissing
            | NoIdToken
            | TokenTooLarge
            | MalformedToken(_)
            | AlgNotAllowed(_)
            | UnknownKid
            | KeyAlgMismatch
            | BadSignature
            | WrongIssuer
            | WrongAudience
            | WrongAzp
            | TokenExpired
            | IssuedInFuture
            | NotYetValid
            | NonceMismatch
            | AcrMissing
            | AcrUnknown(_)
            | AcrWrongKind { .. }
            | MissingPid
            | BadPid
            | MissingEidasId
            | BadEidasId
            | ConflictingEidasId => UserReason::Rejected,
        }
    }
}

/// What the login is for.
#[derive(Debug, Clone)]
pub struct OidcAuthRequest {
    pub loa: Loa,
    /// ID-porten's eIDAS login (`eidas-loa-*`).
    pub eidas: bool,
    /// `nb`, `nn`, `en` or `se`; anything else asks for `nb`.
    pub lang: String,
}

/// Per-login secrets the caller keeps (server-side) until the callback.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OidcPending {
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
    pub min_loa: Loa,
    pub eidas: bool,
}

/// The query of the redirect back to `/oidc/callback`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct OidcCallback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The provider metadata we use.
#[derive(Debug, Clone, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    pushed_authorization_request_endpoint: Option<String>,
    #[serde(default)]
    end_session_endpoint: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
}

/// Extra form fields of a request (client authentication).
type FormFields = Vec<(&'static str, String)>;

enum ClientAuth {
    PrivateKeyJwt { key: ClientKey, kid: Option<String> },
    SecretBasic { secret: String },
}

struct Inner {
    issuer: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    use_par: bool,
    clock_skew: Duration,
    https: bool,
    /// The discovery document in force and when to read it again.
    meta: std::sync::RwLock<(Arc<Metadata>, Instant)>,
    discovery_ttl: Duration,
    /// Held while the discovery document is being read again (one reader at a time).
    refreshing: tokio::sync::Mutex<()>,
    http: reqwest::Client,
    auth: ClientAuth,
    rng: SystemRandom,
    jwks: moka::future::Cache<(), Arc<KeySet>>,
    last_forced_refresh: Mutex<Option<Instant>>,
}

/// An ID-porten relying party. Cheap to clone (shared state behind an `Arc`).
#[derive(Clone)]
pub struct OidcProvider {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.inner.issuer)
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// Discovery, client key, HTTP client. Fails when the provider cannot be reached, its
    /// metadata names another issuer, an endpoint is not an http(s) URL (https when the issuer
    /// is), PAR is wanted but not offered, or S256 is not among the PKCE methods.
    pub async fn new(cfg: &IdportenConfig, redirect_uri: String) -> Result<Self, OidcError> {
        let issuer = cfg.issuer.clone();
        let issuer_url =
            Url::parse(&issuer).map_err(|e| OidcError::Config(format!("issuer: {e}")))?;
        let https = issuer_url.scheme() == "https";
        if !https && issuer_url.scheme() != "http" {
            return Err(OidcError::Config("issuer must be an http(s) URL".into()));
        }
        let auth = load_client_auth(cfg)?;
        // reqwest's rustls needs the process-wide provider (`main` installs it first; this
        // keeps library users and tests from a panic). An already installed one is kept.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .https_only(https)
            .user_agent(concat!("signgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OidcError::Config(format!("HTTP client: {e}")))?;

        let meta = fetch_metadata(&http, &issuer, https, cfg.use_par).await?;
        let mut scopes = vec!["openid".to_string()];
        for s in &cfg.scopes {
            if s != "openid" && !s.is_empty() && !scopes.contains(s) {
                scopes.push(s.clone());
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                issuer,
                client_id: cfg.client_id.clone(),
                redirect_uri,
                scope: scopes.join(" "),
                use_par: cfg.use_par,
                clock_skew: cfg.clock_skew,
                https,
                meta: std::sync::RwLock::new((Arc::new(meta), Instant::now() + cfg.discovery_ttl)),
                discovery_ttl: cfg.discovery_ttl,
                refreshing: tokio::sync::Mutex::new(()),
                http,
                auth,
                rng: SystemRandom::new(),
                jwks: moka::future::Cache::builder()
                    .max_capacity(1)
                    .time_to_live(JWKS_TTL)
                    .build(),
                last_forced_refresh: Mutex::new(None),
            }),
        })
    }

    /// The discovery document in force, without reading it again.
    fn current_meta(&self) -> Arc<Metadata> {
        let g = self
            .inner
            .meta
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&g.0)
    }

    /// The discovery document, read again once `discovery_ttl` has passed (ID-porten: "typisk
    /// er 24 timer en passende levetid"). A failed read keeps the document in force and is
    /// retried after a minute at the earliest; a new `jwks_uri` empties the key cache.
    async fn meta(&self) -> Arc<Metadata> {
        let i = &self.inner;
        let due = {
            let g = i.meta.read().unwrap_or_else(PoisonError::into_inner);
            Instant::now() >= g.1
        };
        if !due {
            return self.current_meta();
        }
        let Ok(_guard) = i.refreshing.try_lock() else {
            return self.current_meta(); // someone else is reading it now
        };
        match fetch_metadata(&i.http, &i.issuer, i.https, i.use_par).await {
            Ok(fresh) => {
                let changed_jwks = fresh.jwks_uri != self.current_meta().jwks_uri;
                {
                    let mut g = i.meta.write().unwrap_or_else(PoisonError::into_inner);
                    *g = (Arc::new(fresh), Instant::now() + i.discovery_ttl);
                }
                if changed_jwks {
                    i.jwks.invalidate_all();
                }
                tracing::info!(issuer = %i.issuer, "ID-porten discovery document read again");
            }
            Err(e) => {
                tracing::warn!(issuer = %i.issuer, error = %e, "ID-porten discovery refresh failed; keeping the document in force");
                let mut g = i.meta.write().unwrap_or_else(PoisonError::into_inner);
                g.1 = Instant::now() + i.discovery_ttl.min(DISCOVERY_RETRY);
            }
        }
        self.current_meta()
    }

    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The authorization request. Returns the URL to send the browser to and the secrets to
    /// keep until the callback.
    pub async fn begin(&self, req: &OidcAuthRequest) -> Result<(String, OidcPending), OidcError> {
        let i = &self.inner;
        let state = self.random_b64(32)?;
        let nonce = self.random_b64(32)?;
        let code_verifier = self.random_b64(32)?;
        let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            code_verifier.as_bytes(),
        ));
        let ui_locale = match req.lang.as_str() {
            l @ ("nb" | "nn" | "en" | "se") => l,
            _ => "nb",
        };
        let params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", i.client_id.as_str()),
            ("redirect_uri", i.redirect_uri.as_str()),
            ("scope", i.scope.as_str()),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("acr_values", acr_value(req.loa, req.eidas)),
            ("ui_locales", ui_locale),
            ("prompt", "login"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let meta = self.meta().await;
        let mut url = Url::parse(&meta.authorization_endpoint)
            .map_err(|e| OidcError::BadMetadata(e.to_string()))?;
        if i.use_par {
            let par = meta
                .pushed_authorization_request_endpoint
                .as_deref()
                .ok_or(OidcError::ParUnsupported)?;
            let request_uri = self.push(par, &params).await?;
            url.query_pairs_mut()
                .append_pair("client_id", &i.client_id)
                .append_pair("request_uri", &request_uri);
        } else {
            url.query_pairs_mut().extend_pairs(params.iter());
        }
        Ok((
            url.into(),
            OidcPending {
                state,
                nonce,
                code_verifier,
                min_loa: req.loa,
                eidas: req.eidas,
            },
        ))
    }

    /// RFC 9126: pushes the parameters, returns the `request_uri`.
    async fn push(&self, endpoint: &str, params: &[(&str, &str)]) -> Result<String, OidcError> {
        #[derive(Deserialize)]
        struct ParResponse {
            request_uri: String,
        }
        let rb = self.inner.http.post(endpoint);
        let (rb, extra) = self.client_auth(rb)?;
        let mut form: Vec<(&str, &str)> = params.to_vec();
        form.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
        let resp = rb
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Http("PAR", e.without_url().to_string()))?;
        let status = resp.status();
        let body = read_bounded(resp, "PAR", MAX_PAR_RESPONSE_BYTES).await?;
        if !status.is_success() {
            return Err(oauth_error(status.as_u16(), &body, "PAR"));
        }
        let r: ParResponse = serde_json::from_slice(&body)
            .map_err(|e| OidcError::BadResponse("PAR", e.to_string()))?;
        if r.request_uri.is_empty() || r.request_uri.len() > 2048 {
            return Err(OidcError::BadResponse("PAR", "bad request_uri".into()));
        }
        Ok(r.request_uri)
    }

    /// The redirect back: checks, code exchange, id_token verification.
    pub async fn finish(
        &self,
        pending: &OidcPending,
        cb: &OidcCallback,
        now: OffsetDateTime,
    ) -> Result<VerifiedIdentity, OidcError> {
        let i = &self.inner;
        if let Some(err) = &cb.error {
            return Err(if err == "access_denied" {
                OidcError::Cancelled
            } else {
                OidcError::ProviderError {
                    error: short(err, 64),
                    description: short(cb.error_description.as_deref().unwrap_or(""), 200),
                }
            });
        }
        match &cb.state {
            Some(s) if token::ct_eq(s.as_bytes(), pending.state.as_bytes()) => {}
            _ => return Err(OidcError::StateMismatch),
        }
        match &cb.iss {
            Some(iss) if *iss != i.issuer => return Err(OidcError::IssMismatch),
            None if self
                .current_meta()
                .authorization_response_iss_parameter_supported =>
            {
                return Err(OidcError::IssMissing);
            }
            _ => {}
        }
        let code = cb
            .code
            .as_deref()
            .filter(|c| !c.is_empty() && c.len() <= 4096)
            .ok_or(OidcError::MissingCode)?;

        let id_token = self.exchange(code, &pending.code_verifier).await?;
        let expect = IdTokenExpectations {
            issuer: i.issuer.clone(),
            client_id: i.client_id.clone(),
            nonce: pending.nonce.clone(),
            min_loa: pending.min_loa,
            eidas: pending.eidas,
            clock_skew: i.clock_skew,
        };
        let claims = self.verify(&id_token, &expect, now).await?;
        Ok(VerifiedIdentity {
            idp: IdpKind::Idporten,
            issuer: claims.issuer,
            national_id: claims.national_id,
            eidas_id: claims.eidas_id,
            name: claims.name,
            date_of_birth: claims.date_of_birth,
            loa: claims.loa,
            auth_time: claims.auth_time,
            evidence: Some(id_token),
        })
    }

    /// Verifies an id_token with the cached JWKS; an unknown `kid` refetches the JWKS once
    /// (at most every 30 s) before failing.
    pub async fn verify(
        &self,
        id_token: &str,
        expect: &IdTokenExpectations,
        now: OffsetDateTime,
    ) -> Result<IdTokenClaims, OidcError> {
        let keys = self.keys().await?;
        match verify_id_token(id_token, &keys, expect, now) {
            Err(OidcError::UnknownKid) if self.may_force_refresh() => {
                tracing::info!(issuer = %self.inner.issuer, "unknown kid: fetching the JWKS again");
                self.inner.jwks.invalidate(&()).await;
                let keys = self.keys().await?;
                verify_id_token(id_token, &keys, expect, now)
            }
            r => r,
        }
    }

    fn may_force_refresh(&self) -> bool {
        let mut last = self
            .inner
            .last_forced_refresh
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match *last {
            Some(t) if now.duration_since(t) < JWKS_FORCED_REFRESH_INTERVAL => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    async fn keys(&self) -> Result<Arc<KeySet>, OidcError> {
        let i = &self.inner;
        i.jwks
            .try_get_with((), async {
                let jwks_uri = self.meta().await.jwks_uri.clone();
                let body = get_bounded(&i.http, "jwks", &jwks_uri, MAX_JWKS_BYTES).await?;
                KeySet::from_jwks_json(&body).map(Arc::new)
            })
            .await
            .map_err(|e: Arc<OidcError>| Arc::unwrap_or_clone(e))
    }

    /// The token request; returns the raw id_token.
    async fn exchange(&self, code: &str, code_verifier: &str) -> Result<String, OidcError> {
        #[derive(Deserialize)]
        struct TokenResponse {
            #[serde(default)]
            id_token: Option<String>,
        }
        let i = &self.inner;
        let token_endpoint = self.meta().await.token_endpoint.clone();
        let rb = i.http.post(&token_endpoint);
        let (rb, extra) = self.client_auth(rb)?;
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", i.redirect_uri.as_str()),
            ("code_verifier", code_verifier),
            ("client_id", i.client_id.as_str()),
        ];
        form.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
        let resp = rb
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Http("token", e.without_url().to_string()))?;
        let status = resp.status();
        let body = read_bounded(resp, "token", MAX_TOKEN_RESPONSE_BYTES).await?;
        if !status.is_success() {
            return Err(oauth_error(status.as_u16(), &body, "token"));
        }
        let t: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| OidcError::BadResponse("token", "not a token response".into()))?;
        t.id_token.ok_or(OidcError::NoIdToken)
    }

    /// Adds client authentication: a Basic header, or the `client_assertion` form fields.
    fn client_auth(
        &self,
        rb: reqwest::RequestBuilder,
    ) -> Result<(reqwest::RequestBuilder, FormFields), OidcError> {
        let i = &self.inner;
        match &i.auth {
            ClientAuth::SecretBasic { secret } => {
                // RFC 6749 §2.3.1: form-urlencode both parts before Basic.
                let user: String = url_form_encode(&i.client_id);
                let pass: String = url_form_encode(secret);
                let h = format!("Basic {}", STANDARD.encode(format!("{user}:{pass}")));
                Ok((rb.header(reqwest::header::AUTHORIZATION, h), vec![]))
            }
            ClientAuth::PrivateKeyJwt { key, kid } => {
                let jwt = self.client_assertion(key, kid.as_deref())?;
                Ok((
                    rb,
                    vec![
                        (
                            "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                        ),
                        ("client_assertion", jwt),
                    ],
                ))
            }
        }
    }

    /// A `private_key_jwt` assertion: iss = sub = client_id, aud = issuer, random jti, 60 s.
    fn client_assertion(&self, key: &ClientKey, kid: Option<&str>) -> Result<String, OidcError> {
        let i = &self.inner;
        let mut header = serde_json::json!({"typ": "JWT"});
        if let Some(kid) = kid {
            header["kid"] = kid.into();
        }
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = serde_json::json!({
            "iss": i.client_id,
            "sub": i.client_id,
            "aud": i.issuer,
            "jti": self.random_b64(24)?,
            "iat": now,
            "exp": now + CLIENT_ASSERTION_LIFETIME_S,
        });
        key.sign_compact(&i.rng, header, &claims)
            .map_err(OidcError::ClientAuth)
    }

    /// RP-initiated logout URL, when the provider has an `end_session_endpoint`.
    pub fn end_session_url(
        &self,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> Option<String> {
        let meta = self.current_meta();
        let ep = meta.end_session_endpoint.as_deref()?;
        let mut url = Url::parse(ep).ok()?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(h) = id_token_hint {
                q.append_pair("id_token_hint", h);
            }
            q.append_pair("client_id", &self.inner.client_id);
            if let Some(p) = post_logout_redirect_uri {
                q.append_pair("post_logout_redirect_uri", p);
            }
            if let Some(s) = state {
                q.append_pair("state", s);
            }
        }
        Some(url.into())
    }

    fn random_b64(&self, n: usize) -> Result<String, OidcError> {
        let mut b = vec![0u8; n];
        self.inner
            .rng
            .fill(&mut b)
            .map_err(|_| OidcError::ClientAuth("random generator failed".into()))?;
        Ok(URL_SAFE_NO_PAD.encode(b))
    }
}

/// Reads and checks the provider's discovery document: the issuer must be ours, every endpoint
/// an http(s) URL (https when the issuer is), PAR offered when wanted, S256 among the PKCE
/// methods when the list is given.
async fn fetch_metadata(
    http: &reqwest::Client,
    issuer: &str,
    https: bool,
    use_par: bool,
) -> Result<Metadata, OidcError> {
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let body = get_bounded(http, "discovery", &discovery, MAX_DISCOVERY_BYTES).await?;
    let meta: Metadata = serde_json::from_slice(&body)
        .map_err(|e| OidcError::BadResponse("discovery", e.to_string()))?;
    if meta.issuer != issuer {
        return Err(OidcError::IssuerMismatch {
            expected: issuer.to_string(),
            found: meta.issuer,
        });
    }
    let endpoints = [
        Some(&meta.authorization_endpoint),
        Some(&meta.token_endpoint),
        Some(&meta.jwks_uri),
        meta.pushed_authorization_request_endpoint.as_ref(),
        meta.end_session_endpoint.as_ref(),
    ];
    for e in endpoints.into_iter().flatten() {
        let u = Url::parse(e)
            .map_err(|_| OidcError::BadMetadata(format!("endpoint {e:?} is not a URL")))?;
        let ok = match u.scheme() {
            "https" => true,
            "http" => !https,
            _ => false,
        };
        if !ok {
            return Err(OidcError::BadMetadata(format!(
                "endpoint {e:?} is not {}",
                if https { "https" } else { "http(s)" }
            )));
        }
    }
    if use_par && meta.pushed_authorization_request_endpoint.is_none() {
        return Err(OidcError::ParUnsupported);
    }
    if let Some(m) = &meta.code_challenge_methods_supported
        && !m.iter().any(|m| m == "S256")
    {
        return Err(OidcError::BadMetadata(
            "code_challenge_methods_supported lacks S256".into(),
        ));
    }
    Ok(meta)
}

/// The configured client authentication: PKCS#8 PEM key (RSA or EC P-256) or a secret.
fn load_client_auth(cfg: &IdportenConfig) -> Result<ClientAuth, OidcError> {
    match (&cfg.client_key_file, &cfg.client_secret) {
        (None, None) if cfg.client_key_pkcs11.is_some() => {
            let p11 = cfg
                .client_key_pkcs11
                .as_ref()
                .ok_or_else(|| OidcError::Config("client_key_pkcs11 vanished".into()))?;
            let key = ClientKey::from_pkcs11(p11).map_err(|e| {
                OidcError::Config(format!("client_key_pkcs11 {:?}: {e}", p11.token_label))
            })?;
            Ok(ClientAuth::PrivateKeyJwt {
                key,
                kid: cfg.client_key_id.clone(),
            })
        }
        _ if cfg.client_key_pkcs11.is_some() => Err(OidcError::Config(
            "set exactly one of client_secret, client_key_file and client_key_pkcs11".into(),
        )),
        (Some(path), None) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                OidcError::Config(format!("client_key_file {}: {e}", path.display()))
            })?;
            let key = parse_client_key(&text).map_err(|e| {
                OidcError::Config(format!("client_key_file {}: {e}", path.display()))
            })?;
            Ok(ClientAuth::PrivateKeyJwt {
                key,
                kid: cfg.client_key_id.clone(),
            })
        }
        (None, Some(secret)) if !secret.is_empty() => Ok(ClientAuth::SecretBasic {
            secret: secret.clone(),
        }),
        _ => Err(OidcError::Config(
            "set exactly one of client_secret, client_key_file and client_key_pkcs11".into(),
        )),
    }
}

fn parse_client_key(pem: &str) -> Result<ClientKey, String> {
    ClientKey::from_pem(pem)
}

/// application/x-www-form-urlencoded, as RFC 6749 §2.3.1 wants for Basic credentials.
fn url_form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn short(s: &str, n: usize) -> String {
    s.chars()
        .take(n)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// An OAuth error answer (`{"error": …}`) or, failing that, the bare status.
fn oauth_error(status: u16, body: &[u8], endpoint: &'static str) -> OidcError {
    #[derive(Deserialize)]
    struct E {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    match serde_json::from_slice::<E>(body) {
        Ok(e) if (400..500).contains(&status) => OidcError::Refused {
            endpoint,
            error: short(&e.error, 64),
            description: short(e.error_description.as_deref().unwrap_or(""), 200),
        },
        _ => OidcError::HttpStatus(endpoint, status),
    }
}

async fn get_bounded(
    http: &reqwest::Client,
    what: &'static str,
    url: &str,
    limit: usize,
) -> Result<Vec<u8>, OidcError> {
    let resp = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| OidcError::Http(what, e.without_url().to_string()))?;
    if !resp.status().is_success() {
        return Err(OidcError::HttpStatus(what, resp.status().as_u16()));
    }
    read_bounded(resp, what, limit).await
}

async fn read_bounded(
    mut resp: reqwest::Response,
    what: &'static str,
    limit: usize,
) -> Result<Vec<u8>, OidcError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(OidcError::ResponseTooLarge(what, limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| OidcError::Http(what, e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > limit {
            return Err(OidcError::ResponseTooLarge(what, limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests;
