//! The gateway as a Maskinporten client: machine-to-machine access tokens for national APIs
//! (Brønnøysund's authorised register variants) by the RFC 7523 JWT grant.
//!
//! Owns: [`MaskinportenClient`] — the grant (Digdir, "Maskinporten: JWT grant"): header `alg`
//! RS256 (Maskinporten accepts RS256/384/512 only, so the key must be RSA) with either `kid`
//! (a key registered with the client) or `x5c` (the business certificate chain, checked at
//! start to belong to the key); claims exactly `aud` (Maskinporten's issuer identifier, not the
//! token endpoint), `iss` (client id), `iat`, `exp` (`iat` + 60 s; Maskinporten allows ≤ 120),
//! a random single-use `jti`, `scope` and, when the API owner asks for one, `resource` (an
//! array); Maskinporten refuses any other claim. The grant goes to the token endpoint as
//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=…` (no client
//! authentication: the grant is it). Tokens are cached per (scope, resource) until 30 s before
//! `expires_in` runs out (concurrent callers share one request), and can be dropped
//! ([`MaskinportenClient::invalidate`]) when an API answers 401. Answers are size- and
//! time-bounded; errors carry Maskinporten's `error`/`error_description`.
//! Must not: log or return tokens or grants except to the caller that asked, inspect tokens
//! (they are opaque to clients), decide anything about a register answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use der::Encode;
use serde::Deserialize;
use time::OffsetDateTime;

use super::client_key::ClientKey;
use crate::config::MaskinportenConfig;

/// The grant type of RFC 7523 §2.1.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Lifetime of one grant (Maskinporten accepts at most 120 s).
const GRANT_LIFETIME_S: i64 = 60;
/// A cached token is not handed out when less than this is left of it.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// Largest token answer read.
const MAX_TOKEN_ANSWER: usize = 64 * 1024;

/// Why no access token was obtained. Never contains a grant or a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaskinportenError {
    #[error("Maskinporten configuration: {0}")]
    Config(String),
    #[error("signing the Maskinporten grant failed: {0}")]
    Signing(String),
    #[error("Maskinporten could not be reached: {0}")]
    Unreachable(String),
    #[error("Maskinporten refused the grant (HTTP {status}, {error}): {description}")]
    Refused {
        status: u16,
        error: String,
        description: String,
    },
    #[error("Maskinporten's answer is unusable: {0}")]
    BadAnswer(String),
}

/// An access token. `Debug` never shows it.
#[derive(Clone)]
pub struct AccessToken {
    value: String,
    /// When it stops being handed out (its expiry less the margin).
    usable_until: Instant,
    /// The scopes Maskinporten says it granted (informational).
    pub scope: Option<String>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"<redacted>")
            .field("scope", &self.scope)
            .finish()
    }
}

impl AccessToken {
    /// The value for `Authorization: Bearer …`.
    pub fn bearer(&self) -> &str {
        &self.value
    }

    fn usable(&self) -> bool {
        Instant::now() < self.usable_until
    }
}

/// How the grant names the client's key.
enum KeyRef {
    Kid(String),
    /// Base64 (standard) DER certificates, leaf first.
    X5c(Vec<String>),
}

/// Cache key: scope and resource.
type Wanted = (String, Option<String>);

/// A Maskinporten client. Cheap to share behind an `Arc`.
pub struct MaskinportenClient {
    http: reqwest::Client,
    audience: String,
    token_endpoint: String,
    client_id: String,
    key: Arc<ClientKey>,
    key_ref: KeyRef,
    rng: SystemRandom,
    tokens: moka::future::Cache<Wanted, Arc<AccessToken>>,
    requests: AtomicU64,
}

impl std::fmt::Debug for MaskinportenClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaskinportenClient")
            .field("audience", &self.audience)
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.client_id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Maskinporten's token answer (RFC 6749 §5.1).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

/// An OAuth error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl MaskinportenClient {
    /// Loads the key (and certificate chain) `cfg` names and builds the HTTP client. Fails
    /// when the key is not RSA, the chain's leaf is not the key's certificate, or an URL is
    /// not http(s).
    pub fn new(cfg: &MaskinportenConfig) -> Result<Self, MaskinportenError> {
        let bad = |m: String| MaskinportenError::Config(m);
        let key = match (&cfg.key_file, &cfg.key_pkcs11) {
            (Some(path), None) => ClientKey::from_file(path)
                .map_err(|e| bad(format!("key_file {}: {e}", path.display())))?,
            (None, Some(p11)) => ClientKey::from_pkcs11(p11)
                .map_err(|e| bad(format!("key_pkcs11 {:?}: {e}", p11.token_label)))?,
            _ => return Err(bad("set exactly one of key_file and key_pkcs11".into())),
        };
        if !key.is_rsa() {
            return Err(bad(
                "the key must be RSA: Maskinporten accepts RS256, RS384 and RS512 grants only"
                    .into(),
            ));
        }
        let rng = SystemRandom::new();
        let key_ref = match (&cfg.key_id, &cfg.certificate_chain_file) {
            (Some(kid), None) if !kid.trim().is_empty() => KeyRef::Kid(kid.trim().to_string()),
            (None, Some(path)) => {
                let pem = std::fs::read(path)
                    .map_err(|e| bad(format!("certificate_chain_file {}: {e}", path.display())))?;
                let chain = crate::sealing::keys::load_pem_chain(&pem)
                    .map_err(|e| bad(format!("certificate_chain_file {}: {e}", path.display())))?;
                let Some(leaf) = chain.first() else {
                    return Err(bad(format!(
                        "certificate_chain_file {} holds no certificate",
                        path.display()
                    )));
                };
                check_leaf_is_key(leaf, &key, &rng)
                    .map_err(|e| bad(format!("certificate_chain_file {}: {e}", path.display())))?;
                let x5c = chain
                    .iter()
                    .map(|c| c.to_der().map(|d| STANDARD.encode(d)))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| bad(format!("re-encoding the certificate chain: {e}")))?;
                KeyRef::X5c(x5c)
            }
            _ => {
                return Err(bad(
                    "set exactly one of key_id and certificate_chain_file".into()
                ));
            }
        };
        let audience = cfg.issuer.trim().to_string();
        let token_endpoint = match &cfg.token_endpoint {
            Some(ep) => ep.trim().to_string(),
            None => format!("{}/token", audience.trim_end_matches('/')),
        };
        for (what, url) in [("issuer", &audience), ("token_endpoint", &token_endpoint)] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(bad(format!("{what} {url:?} is not an http(s) URL")));
            }
        }
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("signgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| bad(e.to_string()))?;
        Ok(MaskinportenClient {
            http,
            audience,
            token_endpoint,
            client_id: cfg.client_id.trim().to_string(),
            key: Arc::new(key),
            key_ref,
            rng,
            tokens: moka::future::Cache::builder().max_capacity(64).build(),
            requests: AtomicU64::new(0),
        })
    }

    /// Token requests sent so far (cache hits send none).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// An access token for `scope` (space-separated) and `resource`: the cached one while it
    /// has more than 30 s left, else a new one (concurrent callers share the request).
    pub async fn token(
        &self,
        scope: &str,
        resource: Option<&str>,
    ) -> Result<Arc<AccessToken>, MaskinportenError> {
        let wanted: Wanted = (scope.to_string(), resource.map(str::to_string));
        if let Some(t) = self.tokens.get(&wanted).await {
            if t.usable() {
                return Ok(t);
            }
            self.tokens.invalidate(&wanted).await;
        }
        let fetched = self
            .tokens
            .try_get_with(wanted.clone(), self.fetch(scope, resource))
            .await
            .map_err(|e: Arc<MaskinportenError>| (*e).clone())?;
        if !fetched.usable() {
            // Too short-lived to cache: hand it out once.
            self.tokens.invalidate(&wanted).await;
        }
        Ok(fetched)
    }

    /// Forgets the cached token for `scope`/`resource` (an API answered 401 with it).
    pub async fn invalidate(&self, scope: &str, resource: Option<&str>) {
        self.tokens
            .invalidate(&(scope.to_string(), resource.map(str::to_string)))
            .await;
    }

    /// The signed grant for `scope`/`resource`.
    pub async fn grant(
        &self,
        scope: &str,
        resource: Option<&str>,
    ) -> Result<String, MaskinportenError> {
        let header = match &self.key_ref {
            KeyRef::Kid(kid) => serde_json::json!({ "kid": kid }),
            KeyRef::X5c(chain) => serde_json::json!({ "x5c": chain }),
        };
        let mut jti = [0u8; 24];
        self.rng
            .fill(&mut jti)
            .map_err(|_| MaskinportenError::Signing("random generator failed".into()))?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut claims = serde_json::json!({
            "aud": self.audience,
            "iss": self.client_id,
            "iat": now,
            "exp": now + GRANT_LIFETIME_S,
            "jti": URL_SAFE_NO_PAD.encode(jti),
            "scope": scope,
        });
        if let Some(r) = resource {
            claims["resource"] = serde_json::json!([r]);
        }
        if self.key.is_token() {
            let key = Arc::clone(&self.key);
            let rng = self.rng.clone();
            tokio::task::spawn_blocking(move || key.sign_compact(&rng, header, &claims))
                .await
                .map_err(|e| MaskinportenError::Signing(e.to_string()))?
                .map_err(MaskinportenError::Signing)
        } else {
            self.key
                .sign_compact(&self.rng, header, &claims)
                .map_err(MaskinportenError::Signing)
        }
    }

    async fn fetch(
        &self,
        scope: &str,
        resource: Option<&str>,
    ) -> Result<Arc<AccessToken>, MaskinportenError> {
        let grant = self.grant(scope, resource).await?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let unreachable = |e: reqwest::Error| {
            let m = if e.is_timeout() {
                "no answer within the timeout".to_string()
            } else {
                e.to_string()
            };
            tracing::warn!(endpoint = %self.token_endpoint, error = %m, "Maskinporten unreachable");
            MaskinportenError::Unreachable(m)
        };
        let mut resp = self
            .http
            .post(&self.token_endpoint)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("grant_type", JWT_BEARER), ("assertion", grant.as_str())])
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status().as_u16();
        if resp
            .content_length()
            .is_some_and(|l| l > MAX_TOKEN_ANSWER as u64)
        {
            return Err(MaskinportenError::BadAnswer(format!(
                "larger than {MAX_TOKEN_ANSWER} bytes"
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_TOKEN_ANSWER {
                return Err(MaskinportenError::BadAnswer(format!(
                    "larger than {MAX_TOKEN_ANSWER} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        if status != 200 {
            let (error, description) = match serde_json::from_slice::<ErrorAnswer>(&body) {
                Ok(e) => (e.error, e.error_description.unwrap_or_default()),
                Err(_) => ("(no OAuth error)".to_string(), String::new()),
            };
            let description: String = description
                .chars()
                .take(300)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            tracing::warn!(status, %error, %description, scope, "Maskinporten refused the grant");
            return Err(MaskinportenError::Refused {
                status,
                error,
                description,
            });
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| MaskinportenError::BadAnswer(format!("not a token answer: {e}")))?;
        if !answer.token_type.eq_ignore_ascii_case("bearer") {
            return Err(MaskinportenError::BadAnswer(format!(
                "token_type {:?}, not Bearer",
                answer.token_type
            )));
        }
        if answer.access_token.is_empty()
            || !answer.access_token.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(MaskinportenError::BadAnswer(
                "the access token is empty or not printable ASCII".into(),
            ));
        }
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(0));
        tracing::debug!(
            scope,
            expires_in = lifetime.as_secs(),
            "Maskinporten issued an access token"
        );
        Ok(Arc::new(AccessToken {
            value: answer.access_token,
            usable_until: (started + lifetime)
                .checked_sub(EXPIRY_MARGIN)
                .unwrap_or(started),
            scope: answer.scope,
        }))
    }
}

/// Checks that `leaf` certifies `key`: a probe signed with the key verifies with the
/// certificate's RSA public key.
fn check_leaf_is_key(
    leaf: &x509_cert::Certificate,
    key: &ClientKey,
    rng: &SystemRandom,
) -> Result<(), String> {
    let spki = &leaf.tbs_certificate.subject_public_key_info;
    let public = spki
        .subject_public_key
        .as_bytes()
        .ok_or("the certificate's public key is not a whole number of bytes")?;
    let probe = b"signgate maskinporten key check";
    let sig = key.sign(rng, probe)?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public)
        .verify(probe, &sig)
        .map_err(|_| "the first certificate is not the key's (x5c must start with it)".to_string())
}
