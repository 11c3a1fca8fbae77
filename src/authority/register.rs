//! The business-register client: Enhetsregisteret (`/enheter/{orgnr}`, `/enheter/{orgnr}/roller`)
//! and the Fullmakt service (`/enheter/{orgnr}/signatur`, `/enheter/{orgnr}/prokura`).
//!
//! Owns: [`RegisterClient`] — one reqwest client (whole-exchange timeout, no redirects,
//! `Accept: application/json`, bodies read incrementally up to a size cap), the answers fetched
//! concurrently, each kept byte-exact with URL, retrieval time and media type, and cached per
//! source (moka): a *fresh* cache reused for `cache_ttl` (concurrent lookups of the same source
//! share one request), and a *last good* copy kept `stale_if_error` longer for previews while
//! the register does not answer. Fail closed: 404 is [`AuthorityError::NotFound`], 410
//! [`AuthorityError::Deleted`], a timeout, connection error, other status or oversized answer
//! [`AuthorityError::Unavailable`], unreadable JSON [`AuthorityError::Malformed`]; a stale copy
//! is never returned by [`RegisterClient::lookup`] (and `rules::decide` refuses stale facts).
//!
//! **Authorised variants.** With `[authority.maskinporten]`, roles may be read from
//! Enhetsregisteret's authorised API (`authorised_roles`, `…/autorisert-api/enheter/{orgnr}/roller`,
//! "inklusive fødselsnummer") and the Fullmakt answers from its national-id variant
//! (`authorised_fullmakt`), each with a Maskinporten access token for its configured scope
//! (`Authorization: Bearer`). A 401 drops the cached token and the request is repeated once
//! with a new one; a token that cannot be had, or a 401/403 after that, makes the source
//! [`AuthorityError::Unavailable`] (fail closed). The entity is always read openly. Tokens
//! never reach logs or evidence; the evidence keeps the URL that answered.
//!
//! Must not: decide (that is `rules`), log personal data (logs carry orgnr, URL, status).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;

use super::AuthorityError;
use super::facts::{Answer, RegisterFacts};
use super::model::{Entity, Fullmakt, Roles};
use super::preview::Preview;
use super::rules::{self, AuthorityKind, Basis, Decision, Participant};
use crate::config::AuthorityConfig;
use crate::identity::maskinporten::MaskinportenClient;
use crate::identity::nin;

/// Media type asked for, and assumed when an answer names none.
pub const JSON: &str = "application/json";

/// One register answer as cached: found, or a definitive "no such unit".
#[derive(Debug)]
enum Fetched<T> {
    Found(Arc<Answer<T>>),
    NotFound,
    Gone,
}

impl<T> Clone for Fetched<T> {
    fn clone(&self) -> Self {
        match self {
            Fetched::Found(a) => Fetched::Found(Arc::clone(a)),
            Fetched::NotFound => Fetched::NotFound,
            Fetched::Gone => Fetched::Gone,
        }
    }
}

/// The caches of one source.
struct SourceCache<T> {
    /// Reused for decisions; `None` when `cache_ttl` is zero.
    fresh: Option<moka::future::Cache<String, Fetched<T>>>,
    /// The last answer found, kept `cache_ttl + stale_if_error`, for previews.
    last_good: moka::future::Cache<String, Arc<Answer<T>>>,
}

impl<T: Send + Sync + 'static> SourceCache<T> {
    fn new(cfg: &AuthorityConfig) -> Self {
        let per_source = (cfg.cache_max_bytes / 4).max(1);
        let fresh = (!cfg.cache_ttl.is_zero()).then(|| {
            moka::future::Cache::builder()
                .max_capacity(per_source)
                .weigher(|_k: &String, v: &Fetched<T>| match v {
                    Fetched::Found(a) => weight(a.source.body.len()),
                    _ => weight(0),
                })
                .time_to_live(cfg.cache_ttl)
                .build()
        });
        let last_good = moka::future::Cache::builder()
            .max_capacity(per_source)
            .weigher(|_k: &String, v: &Arc<Answer<T>>| weight(v.source.body.len()))
            .time_to_live(cfg.cache_ttl.saturating_add(cfg.stale_if_error))
            .build();
        SourceCache { fresh, last_good }
    }
}

fn weight(body: usize) -> u32 {
    u32::try_from(body.saturating_add(256)).unwrap_or(u32::MAX)
}

/// The four sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Entity,
    Roles,
    Signature,
    Procuration,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Entity => "entity",
            Source::Roles => "roles",
            Source::Signature => "signature",
            Source::Procuration => "procuration",
        }
    }
}

/// A source read with a Maskinporten token.
struct Authorised {
    base: String,
    scope: String,
    resource: Option<String>,
    maskinporten: Arc<MaskinportenClient>,
}

/// Reads the registers, with caches. Cheap to share behind an `Arc`.
pub struct RegisterClient {
    http: reqwest::Client,
    enhetsregisteret: String,
    fullmakt: String,
    /// The authorised roles variant, when configured (replaces the open `/roller`).
    authorised_roles: Option<Authorised>,
    /// The national-id Fullmakt variant, when configured (replaces the open one).
    authorised_fullmakt: Option<Authorised>,
    max_body: usize,
    entity: SourceCache<Entity>,
    roles: SourceCache<Roles>,
    signature: SourceCache<Fullmakt>,
    procuration: SourceCache<Fullmakt>,
    requests: AtomicU64,
}

impl std::fmt::Debug for RegisterClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterClient")
            .field("enhetsregisteret", &self.enhetsregisteret)
            .field("fullmakt", &self.fullmakt)
            .field(
                "authorised_roles",
                &self.authorised_roles.as_ref().map(|a| &a.base),
            )
            .field(
                "authorised_fullmakt",
                &self.authorised_fullmakt.as_ref().map(|a| &a.base),
            )
            .field("max_body", &self.max_body)
            .field("requests", &self.requests.load(Ordering::Relaxed))
            .finish()
    }
}

impl RegisterClient {
    /// A client for the registers `cfg` names.
    pub fn new(cfg: &AuthorityConfig) -> Result<Self, AuthorityError> {
        for url in [&cfg.enhetsregisteret_url, &cfg.fullmakt_url] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(AuthorityError::Setup(format!(
                    "{url:?} is not an http(s) URL"
                )));
            }
        }
        if cfg.timeout.is_zero() {
            return Err(AuthorityError::Setup(
                "the timeout must be above zero".into(),
            ));
        }
        // reqwest is built without a rustls provider: make sure the crate's one is set.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static(JSON),
        );
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .user_agent(concat!("signgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AuthorityError::Setup(e.to_string()))?;
        let maskinporten = match &cfg.maskinporten {
            Some(mp) if cfg.authorised_roles.is_some() || cfg.authorised_fullmakt.is_some() => {
                Some(Arc::new(MaskinportenClient::new(mp).map_err(|e| {
                    AuthorityError::Setup(format!("authority.maskinporten: {e}"))
                })?))
            }
            _ => None,
        };
        let authorised = |key: &str,
                          src: &Option<crate::config::AuthorisedSource>|
         -> Result<Option<Authorised>, AuthorityError> {
            let Some(src) = src else { return Ok(None) };
            let Some(mp) = &maskinporten else {
                return Err(AuthorityError::Setup(format!(
                    "{key} needs [authority.maskinporten]"
                )));
            };
            if !(src.url.starts_with("https://") || src.url.starts_with("http://")) {
                return Err(AuthorityError::Setup(format!(
                    "{key}.url {:?} is not an http(s) URL",
                    src.url
                )));
            }
            Ok(Some(Authorised {
                base: src.url.trim_end_matches('/').to_string(),
                scope: src.scope.split_whitespace().collect::<Vec<_>>().join(" "),
                resource: src.resource.clone(),
                maskinporten: Arc::clone(mp),
            }))
        };
        Ok(RegisterClient {
            http,
            enhetsregisteret: cfg.enhetsregisteret_url.trim_end_matches('/').to_string(),
            fullmakt: cfg.fullmakt_url.trim_end_matches('/').to_string(),
            authorised_roles: authorised("authority.authorised_roles", &cfg.authorised_roles)?,
            authorised_fullmakt: authorised(
                "authority.authorised_fullmakt",
                &cfg.authorised_fullmakt,
            )?,
            max_body: cfg.max_body_bytes,
            entity: SourceCache::new(cfg),
            roles: SourceCache::new(cfg),
            signature: SourceCache::new(cfg),
            procuration: SourceCache::new(cfg),
            requests: AtomicU64::new(0),
        })
    }

    /// HTTP requests sent so far (cache hits send none).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Maskinporten token requests sent so far (none when no authorised variant is set).
    pub fn token_requests_sent(&self) -> u64 {
        self.authorised_roles
            .as_ref()
            .or(self.authorised_fullmakt.as_ref())
            .map_or(0, |a| a.maskinporten.requests_sent())
    }

    /// Whether `source` is read from an authorised (national-id) variant.
    fn authorised(&self, source: Source) -> Option<&Authorised> {
        match source {
            Source::Entity => None,
            Source::Roles => self.authorised_roles.as_ref(),
            Source::Signature | Source::Procuration => self.authorised_fullmakt.as_ref(),
        }
    }

    fn url(&self, source: Source, orgnr: &str) -> String {
        let roles = self
            .authorised_roles
            .as_ref()
            .map_or(self.enhetsregisteret.as_str(), |a| a.base.as_str());
        let fullmakt = self
            .authorised_fullmakt
            .as_ref()
            .map_or(self.fullmakt.as_str(), |a| a.base.as_str());
        match source {
            Source::Entity => format!("{}/enheter/{orgnr}", self.enhetsregisteret),
            Source::Roles => format!("{roles}/enheter/{orgnr}/roller"),
            Source::Signature => format!("{fullmakt}/enheter/{orgnr}/signatur"),
            Source::Procuration => format!("{fullmakt}/enheter/{orgnr}/prokura"),
        }
    }

    /// Fresh answers about `orgnr`: entity, roles, and both Fullmakt answers, fetched
    /// concurrently (or from the fresh cache). See [`RegisterClient::lookup_for`].
    pub async fn lookup(&self, orgnr: &str) -> Result<RegisterFacts, AuthorityError> {
        self.lookup_for(orgnr, AuthorityKind::Either).await
    }

    /// Fresh answers about `orgnr`: entity and roles, plus the Fullmakt answers `kind` needs,
    /// all fetched concurrently. Any source failing fails the lookup (the entity's 404/410
    /// first; roles missing for an existing unit is a failure too); a Fullmakt answer the
    /// service does not have (404/410) is left out. Never a stale copy.
    pub async fn lookup_for(
        &self,
        orgnr: &str,
        kind: AuthorityKind,
    ) -> Result<RegisterFacts, AuthorityError> {
        if !nin::is_valid_orgnr(orgnr) {
            return Err(AuthorityError::InvalidOrgnr(orgnr.to_string()));
        }
        let bases = kind.bases();
        let want_sig = bases.contains(&Basis::Signature);
        let want_prok = bases.contains(&Basis::Procuration);
        let (entity, roles, signature, procuration) = tokio::join!(
            self.get(&self.entity, Source::Entity, orgnr),
            self.get(&self.roles, Source::Roles, orgnr),
            async {
                if want_sig {
                    Some(self.get(&self.signature, Source::Signature, orgnr).await)
                } else {
                    None
                }
            },
            async {
                if want_prok {
                    Some(
                        self.get(&self.procuration, Source::Procuration, orgnr)
                            .await,
                    )
                } else {
                    None
                }
            },
        );
        let entity = match entity? {
            Fetched::Found(a) => a,
            Fetched::NotFound => {
                return Err(AuthorityError::NotFound {
                    orgnr: orgnr.to_string(),
                });
            }
            Fetched::Gone => {
                return Err(AuthorityError::Deleted {
                    orgnr: orgnr.to_string(),
                });
            }
        };
        let roles = self.required(Source::Roles, orgnr, roles?)?;
        let signature = signature
            .transpose()?
            .and_then(|f| Self::optional(Source::Signature, orgnr, f));
        let procuration = procuration
            .transpose()?
            .and_then(|f| Self::optional(Source::Procuration, orgnr, f));
        Ok(RegisterFacts {
            orgnr: orgnr.to_string(),
            entity,
            roles,
            signature,
            procuration,
            stale: false,
        })
    }

    /// A found answer, or the failure a missing one is when the unit itself exists.
    fn required<T>(
        &self,
        source: Source,
        orgnr: &str,
        f: Fetched<T>,
    ) -> Result<Arc<Answer<T>>, AuthorityError> {
        match f {
            Fetched::Found(a) => Ok(a),
            Fetched::NotFound | Fetched::Gone => Err(AuthorityError::Unavailable {
                url: self.url(source, orgnr),
                reason: format!(
                    "the unit exists but its {} answer is missing",
                    source.name()
                ),
            }),
        }
    }

    /// A Fullmakt answer, or none when the service does not know the unit (404/410): the
    /// lookup still succeeds, and a decision that needs the answer is refused
    /// (`rules::decide` says the answer is not available).
    fn optional<T>(source: Source, orgnr: &str, f: Fetched<T>) -> Option<Arc<Answer<T>>> {
        match f {
            Fetched::Found(a) => Some(a),
            Fetched::NotFound | Fetched::Gone => {
                tracing::info!(
                    orgnr,
                    source = source.name(),
                    "the Fullmakt service has no answer for this unit"
                );
                None
            }
        }
    }

    /// Who can sign for `orgnr`. When the register does not answer now, the last answers
    /// found (at most `cache_ttl + stale_if_error` old) are shown, marked `stale`.
    pub async fn preview(&self, orgnr: &str) -> Result<Preview, AuthorityError> {
        match self.lookup(orgnr).await {
            Ok(facts) => Ok(Preview::from_facts(&facts)),
            Err(e @ (AuthorityError::Unavailable { .. } | AuthorityError::Malformed { .. })) => {
                match self.stale_facts(orgnr).await {
                    Some(facts) => {
                        tracing::warn!(
                            orgnr,
                            error = %e,
                            "business register unavailable; previewing a stale copy"
                        );
                        Ok(Preview::from_facts(&facts))
                    }
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The last answers found, marked stale (entity and roles are required).
    async fn stale_facts(&self, orgnr: &str) -> Option<RegisterFacts> {
        Some(RegisterFacts {
            orgnr: orgnr.to_string(),
            entity: self.entity.last_good.get(orgnr).await?,
            roles: self.roles.last_good.get(orgnr).await?,
            signature: self.signature.last_good.get(orgnr).await,
            procuration: self.procuration.last_good.get(orgnr).await,
            stale: true,
        })
    }

    /// Looks `orgnr` up and decides for `subject` (see [`rules::decide`]); a failed lookup
    /// is the matching refusal.
    pub async fn decide(
        &self,
        orgnr: &str,
        kind: AuthorityKind,
        participants: &[Participant],
        subject: &str,
    ) -> (Decision, Option<RegisterFacts>) {
        match self.lookup_for(orgnr, kind).await {
            Ok(facts) => (
                rules::decide(&facts, kind, participants, subject),
                Some(facts),
            ),
            Err(e) => (Decision::NotGranted(e.refusal()), None),
        }
    }

    async fn get<T>(
        &self,
        cache: &SourceCache<T>,
        source: Source,
        orgnr: &str,
    ) -> Result<Fetched<T>, AuthorityError>
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        let fetch = async {
            let url = self.url(source, orgnr);
            let fetched = self.fetch::<T>(&url, self.authorised(source)).await?;
            if let Fetched::Found(a) = &fetched {
                cache
                    .last_good
                    .insert(orgnr.to_string(), Arc::clone(a))
                    .await;
            }
            Ok::<_, AuthorityError>(fetched)
        };
        match &cache.fresh {
            Some(fresh) => fresh
                .try_get_with(orgnr.to_string(), fetch)
                .await
                .map_err(|e: Arc<AuthorityError>| (*e).clone()),
            None => fetch.await,
        }
    }

    /// One GET; with a Maskinporten bearer token for an authorised source (a 401 drops the
    /// cached token and the request is sent once more with a new one).
    async fn send(
        &self,
        url: &str,
        auth: Option<&Authorised>,
    ) -> Result<reqwest::Response, String> {
        let Some(a) = auth else {
            self.requests.fetch_add(1, Ordering::Relaxed);
            return self.http.get(url).send().await.map_err(|e| describe(&e));
        };
        let resource = a.resource.as_deref();
        let mut retried = false;
        loop {
            let token = a
                .maskinporten
                .token(&a.scope, resource)
                .await
                .map_err(|e| e.to_string())?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let resp = self
                .http
                .get(url)
                .bearer_auth(token.bearer())
                .send()
                .await
                .map_err(|e| describe(&e))?;
            if resp.status() != reqwest::StatusCode::UNAUTHORIZED || retried {
                return Ok(resp);
            }
            tracing::info!(url, "register refused the access token; fetching a new one");
            a.maskinporten.invalidate(&a.scope, resource).await;
            retried = true;
        }
    }

    async fn fetch<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        auth: Option<&Authorised>,
    ) -> Result<Fetched<T>, AuthorityError> {
        let fail = |reason: String| {
            tracing::warn!(url, %reason, "business register request failed");
            AuthorityError::Unavailable {
                url: url.to_string(),
                reason,
            }
        };
        let mut resp = self.send(url, auth).await.map_err(fail)?;
        let status = resp.status();
        tracing::debug!(url, status = status.as_u16(), "business register answered");
        match status.as_u16() {
            200 => {}
            404 => return Ok(Fetched::NotFound),
            410 => return Ok(Fetched::Gone),
            401 | 403 if auth.is_some() => {
                return Err(fail(format!(
                    "HTTP {status}: the register refused the Maskinporten access token for \
                     scope {:?}",
                    auth.map_or("", |a| a.scope.as_str())
                )));
            }
            _ => return Err(fail(format!("HTTP {status}"))),
        }
        let media_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .unwrap_or(JSON)
            .to_string();
        let limit = self.max_body;
        if resp.content_length().is_some_and(|l| l > limit as u64) {
            return Err(fail(format!("answer larger than {limit} bytes")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| fail(describe(&e)))? {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(fail(format!("answer larger than {limit} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        let retrieved_at = OffsetDateTime::now_utc();
        let answer = Answer::parse(url, &media_type, body, retrieved_at).inspect_err(|e| {
            tracing::warn!(url, error = %e, "business register answer unreadable");
        })?;
        Ok(Fetched::Found(Arc::new(answer)))
    }
}

/// A reqwest error with its causes, saying plainly when it was a timeout.
fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = if e.is_timeout() {
        "no answer within the timeout".to_string()
    } else {
        e.to_string()
    };
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
