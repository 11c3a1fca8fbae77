//! Typed configuration.
//!
//! Owns: the embedded defaults (`config/default.toml`), the optional `--config FILE`, the
//! `SIGNGATE__SECTION__KEY` environment overrides and the profile rules (what `production`
//! refuses). This is the only module that reads environment variables for configuration.
//! Must not: build services or open connections (that is `app`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Deserialize;

use crate::sealing::keys::{Pkcs11Config, RsaPadding};

/// The configuration compiled into the binary, so `signgate serve` works from any directory.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration is invalid: {0}")]
    Invalid(String),
    #[error("configuration cannot be loaded: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("the production profile refuses this configuration: {0}")]
    Production(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    Dev,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub profile: Profile,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub blobs: BlobsConfig,
    pub keys: KeysConfig,
    pub jobs: JobsConfig,
    pub sealing: SealingConfig,
    pub notify: NotifyConfig,
    pub trust: TrustConfig,
    pub dev_idp: DevIdpConfig,
    pub tsa: TsaConfig,
    /// Long-term validation material fetched for seals (`[ltv]`).
    #[serde(default)]
    pub ltv: LtvConfig,
    /// The Brønnøysund registers read when a signer acts for an organisation (`[authority]`).
    #[serde(default)]
    pub authority: AuthorityConfig,
    /// ID-porten (OIDC). Configured when `idporten.issuer` is set.
    #[serde(default)]
    pub idporten: Option<IdportenConfig>,
    /// An eIDAS node (SAML 2.0). Configured when `eidas.idp_metadata` is set.
    #[serde(default)]
    pub eidas: Option<EidasConfig>,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub public_url: String,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub client_ca: Option<PathBuf>,
    pub session_secret_file: Option<PathBuf>,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobsConfig {
    pub dir: PathBuf,
}

/// Keys (`[keys]`): the seal key and the time-stamping unit's key, each from a PKCS#8 PEM
/// file or a PKCS#11 token, with its PEM chain; the development PKI directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    pub dir: PathBuf,
    pub seal_key_file: Option<PathBuf>,
    /// PEM chain of the seal key, leaf first (file and PKCS#11 keys alike).
    pub seal_chain_file: Option<PathBuf>,
    /// RSA seal keys: `pkcs1` (default) or `pss`. An id-RSASSA-PSS key or certificate is
    /// always PSS.
    #[serde(default)]
    pub seal_rsa_padding: RsaPadding,
    /// The seal key on a PKCS#11 token (instead of `seal_key_file`).
    #[serde(default)]
    pub seal_pkcs11: Option<Pkcs11Config>,
    /// The development time-stamping unit's key (default: the development PKI's).
    #[serde(default)]
    pub tsa_key_file: Option<PathBuf>,
    #[serde(default)]
    pub tsa_chain_file: Option<PathBuf>,
    #[serde(default)]
    pub tsa_pkcs11: Option<Pkcs11Config>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    pub max_document_bytes: u64,
    pub max_documents: usize,
    pub max_signers: usize,
    pub default_expires_in_days: u32,
    pub max_expires_in_days: u32,
    #[serde(with = "humantime_serde")]
    pub expiry_interval: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealingConfig {
    pub workers: usize,
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// Attempts before a job whose sealing keeps failing is marked `failed`.
    pub max_attempts: u32,
    /// Longest wait between attempts (the wait doubles from 2 s up to this).
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Local directory the sealed PDFs are written to before they are stored as blobs
    /// (default: `spool` beside `blobs.dir`). Best on the file system of `blobs.dir`: the
    /// sealed file is then linked into the blob store instead of copied.
    #[serde(default)]
    pub spool_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    pub lotl_url: String,
    pub oj_url: String,
    pub anchors_file: Option<PathBuf>,
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
    pub store_dir: PathBuf,
    /// Whole-request timeout of each list download.
    #[serde(with = "humantime_serde")]
    pub fetch_timeout: Duration,
    /// Largest accepted list (bytes).
    pub max_list_bytes: u64,
    /// Downloads in flight at once.
    pub fetch_concurrency: usize,
    pub use_expired_lists: bool,
    pub use_invalid_lists: bool,
    pub include_mra: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    pub webhook_workers: usize,
    #[serde(with = "humantime_serde")]
    pub webhook_timeout: Duration,
    pub webhook_max_attempts: i64,
    #[serde(with = "humantime_serde")]
    pub webhook_poll_interval: Duration,
    pub allow_private_destinations: Option<bool>,
    /// Workers sending signer notifications (e-mail, SMS) in this process.
    #[serde(default = "one")]
    pub workers: usize,
    /// Attempts per notification before it is marked failed.
    #[serde(default = "default_notify_attempts")]
    pub max_attempts: i64,
    /// Wait before the second attempt; doubled after each failure up to `retry_max`.
    #[serde(default = "default_retry_base", with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(default = "default_retry_max", with = "humantime_serde")]
    pub retry_max: Duration,
    #[serde(default = "default_notify_poll", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// E-mail: the SMTP relay. Unset: e-mail notifications are recorded as `not_sent`.
    #[serde(default)]
    pub smtp: Option<crate::notify::email::SmtpConfig>,
    /// SMS: LINK Mobility's SMS REST API. Unset: SMS notifications are recorded as `not_sent`.
    #[serde(default)]
    pub sms: Option<crate::notify::sms::SmsConfig>,
}

fn one() -> usize {
    1
}
fn default_notify_attempts() -> i64 {
    8
}
fn default_retry_base() -> Duration {
    Duration::from_secs(30)
}
fn default_retry_max() -> Duration {
    Duration::from_secs(3600)
}
fn default_notify_poll() -> Duration {
    Duration::from_millis(500)
}

/// Time-stamping (`[tsa]`): the RFC 3161 authorities the sealing pipeline asks, and the
/// development time-stamping unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsaConfig {
    /// TSA URLs, asked in this order (failover).
    #[serde(default)]
    pub urls: Vec<String>,
    /// PEM file of the roots the TSA certificates must chain to.
    #[serde(default)]
    pub roots_file: Option<PathBuf>,
    /// TSA policy OID to request (`reqPolicy`); unset: the TSA's default.
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Serve the development time-stamping unit at `POST /tsa` (key from the development
    /// PKI). Refused in production.
    pub dev_unit: bool,
}

/// Revocation material fetched for long-term validation of seals (`[ltv]`): OCSP responses
/// and CRLs of the seal and TSA certificate paths, cached until their `nextUpdate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LtvConfig {
    /// Whole-exchange timeout of one OCSP request or CRL download.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Largest OCSP response accepted (bytes; at most 64 KiB).
    pub max_ocsp_bytes: usize,
    /// Largest CRL accepted (bytes; at most 16 MiB).
    pub max_crl_bytes: usize,
    /// Memory for cached OCSP responses and CRLs (bytes).
    pub cache_max_bytes: u64,
    /// Longest an OCSP response or CRL is reused, even when its `nextUpdate` is later.
    #[serde(with = "humantime_serde")]
    pub max_cache_age: Duration,
    /// How far ahead of our clock a responder's `thisUpdate` may be.
    #[serde(with = "humantime_serde")]
    pub clock_skew: Duration,
}

impl Default for LtvConfig {
    fn default() -> Self {
        LtvConfig {
            timeout: Duration::from_secs(5),
            max_ocsp_bytes: 64 * 1024,
            max_crl_bytes: 16 * 1024 * 1024,
            cache_max_bytes: 64 * 1024 * 1024,
            max_cache_age: Duration::from_secs(12 * 3600),
            clock_skew: Duration::from_secs(120),
        }
    }
}

/// The Brønnøysund registers (`[authority]`): Enhetsregisteret (entity and roles) and the
/// Fullmakt service (signature right and procuration).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthorityConfig {
    /// Base of the Enhetsregisteret API (`{base}/enheter/{orgnr}`, `…/roller`).
    pub enhetsregisteret_url: String,
    /// Base of the Fullmakt service (`{base}/enheter/{orgnr}/signatur`, `…/prokura`).
    pub fullmakt_url: String,
    /// Whole-exchange timeout of one register request (connect included).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Largest register answer accepted (bytes).
    pub max_body_bytes: usize,
    /// How long an answer is reused for decisions.
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    /// How much longer an answer is kept for previews while the register does not answer
    /// (never used for a decision).
    #[serde(with = "humantime_serde")]
    pub stale_if_error: Duration,
    /// Memory for cached answers (bytes).
    pub cache_max_bytes: u64,
    /// `GET /api/v1/authority/{orgnr}` calls allowed per organisation per minute.
    pub preview_per_minute: u32,
    /// The gateway's Maskinporten client, for the authorised variants below.
    pub maskinporten: Option<MaskinportenConfig>,
    /// Enhetsregisteret's authorised roles (`{url}/enheter/{orgnr}/roller`, with national ids),
    /// read instead of the open `/roller` when set.
    pub authorised_roles: Option<AuthorisedSource>,
    /// The Fullmakt service's national-id variant (`{url}/enheter/{orgnr}/signatur`,
    /// `…/prokura`), read instead of the open one when set.
    pub authorised_fullmakt: Option<AuthorisedSource>,
}

/// A register API that wants a Maskinporten access token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorisedSource {
    /// Base URL, as for the open variant.
    pub url: String,
    /// The Maskinporten scope(s) the API owner granted (space-separated).
    pub scope: String,
    /// The `resource` (audience restriction) the API owner asks for, if any.
    #[serde(default)]
    pub resource: Option<String>,
}

/// The gateway as a Maskinporten client (RFC 7523 JWT grant). `Debug` shows no key material.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskinportenConfig {
    /// Maskinporten's issuer identifier, the grant's `aud`: `https://maskinporten.no/` or
    /// `https://test.maskinporten.no/`.
    pub issuer: String,
    /// Where grants are exchanged for tokens; default `{issuer}token`.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// The integration's client id (the grant's `iss`).
    pub client_id: String,
    /// RSA private key (PKCS#8 PEM, ≥ 2048 bits); Maskinporten accepts RS256/384/512 only.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The RSA key on a PKCS#11 token instead of `key_file`.
    #[serde(default)]
    pub key_pkcs11: Option<crate::sealing::keys::Pkcs11Config>,
    /// `kid` of a key registered with the client. Exactly one of `key_id` and
    /// `certificate_chain_file` (the business certificate chain, sent as `x5c`).
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub certificate_chain_file: Option<PathBuf>,
    /// Whole-exchange timeout of one token request.
    #[serde(with = "humantime_serde", default = "default_maskinporten_timeout")]
    pub timeout: Duration,
}

fn default_maskinporten_timeout() -> Duration {
    Duration::from_secs(10)
}

impl Default for AuthorityConfig {
    fn default() -> Self {
        AuthorityConfig {
            enhetsregisteret_url: "https://data.brreg.no/enhetsregisteret/api".into(),
            fullmakt_url: "https://data.brreg.no/fullmakt".into(),
            timeout: Duration::from_secs(5),
            max_body_bytes: 2 * 1024 * 1024,
            cache_ttl: Duration::from_secs(300),
            stale_if_error: Duration::from_secs(3600),
            cache_max_bytes: 64 * 1024 * 1024,
            preview_per_minute: 60,
            maskinporten: None,
            authorised_roles: None,
            authorised_fullmakt: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevIdpConfig {
    pub enabled: bool,
}

/// ID-porten as an OpenID Connect provider (`[idporten]`). `Debug` never shows the secret.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdportenConfig {
    /// `https://test.idporten.no` or `https://idporten.no`; discovery reads
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// `client_secret_basic` when set.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// `private_key_jwt` (recommended): a PKCS#8 PEM private key (RSA or EC P-256).
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
    /// `private_key_jwt` with the key on a PKCS#11 token (RSA ≥ 2048 or EC P-256), instead
    /// of `client_key_file`.
    #[serde(default)]
    pub client_key_pkcs11: Option<crate::sealing::keys::Pkcs11Config>,
    /// `kid` announced in the client assertion header (as registered with ID-porten).
    #[serde(default)]
    pub client_key_id: Option<String>,
    /// Pushed authorization requests (`/par`, `request_uri`).
    #[serde(default)]
    pub use_par: bool,
    /// Route `eidas_id` signers through ID-porten's eIDAS login instead of an eIDAS node.
    #[serde(default)]
    pub eidas_login: bool,
    /// Allowed clock skew for `exp`/`iat`/`nbf`.
    #[serde(default = "default_skew", with = "humantime_serde")]
    pub clock_skew: Duration,
    /// Scopes requested besides `openid`.
    #[serde(default = "default_idporten_scopes")]
    pub scopes: Vec<String>,
    /// HTTP timeout for discovery, JWKS, PAR and token calls.
    #[serde(default = "default_idp_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// How long the discovery document is used before it is read again (ID-porten: 24 h).
    #[serde(default = "default_discovery_ttl", with = "humantime_serde")]
    pub discovery_ttl: Duration,
}

impl std::fmt::Debug for IdportenConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdportenConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("client_key_file", &self.client_key_file)
            .field("client_key_pkcs11", &self.client_key_pkcs11)
            .field("client_key_id", &self.client_key_id)
            .field("use_par", &self.use_par)
            .field("eidas_login", &self.eidas_login)
            .field("clock_skew", &self.clock_skew)
            .field("scopes", &self.scopes)
            .field("timeout", &self.timeout)
            .field("discovery_ttl", &self.discovery_ttl)
            .finish()
    }
}

/// An eIDAS node as a SAML 2.0 identity provider (`[eidas]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EidasConfig {
    /// The node's metadata: an `https://` (or, outside production, `http://`) URL or a file.
    pub idp_metadata: String,
    /// PEM certificate(s) that must have signed the node's metadata. Production requires it;
    /// without it unsigned metadata is accepted (development/test only).
    #[serde(default)]
    pub idp_metadata_signer: Option<PathBuf>,
    /// Our entity id; default `{public_url}/saml/metadata`.
    #[serde(default)]
    pub sp_entity_id: Option<String>,
    /// Signing key (PKCS#8 PEM) and certificate (PEM) of our SP.
    pub sp_key_file: PathBuf,
    pub sp_cert_file: PathBuf,
    /// Encryption key (PKCS#8 PEM, or `EC PRIVATE KEY`) and certificate (default: the signing
    /// pair): RSA (RSA-OAEP key transport) or EC P-256/384/521 (ECDH-ES key agreement, cheaper
    /// per response). An EC pair is published first; with an RSA signing pair that one stays
    /// an RSA-OAEP encryption key too.
    #[serde(default)]
    pub sp_encryption_key_file: Option<PathBuf>,
    #[serde(default)]
    pub sp_encryption_cert_file: Option<PathBuf>,
    /// `post` (default) or `redirect` for the AuthnRequest.
    #[serde(default = "default_saml_binding")]
    pub binding: String,
    /// `public` (default) or `private`: the eidas:SPType we announce.
    #[serde(default = "default_sp_type")]
    pub sp_type: String,
    #[serde(default = "default_skew", with = "humantime_serde")]
    pub clock_skew: Duration,
    /// How often the node's metadata is fetched again.
    #[serde(default = "default_metadata_refresh", with = "humantime_serde")]
    pub metadata_refresh: Duration,
    /// Lifetime announced in our own metadata (`validUntil`).
    #[serde(default = "default_metadata_validity", with = "humantime_serde")]
    pub metadata_validity: Duration,
    #[serde(default = "default_idp_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

fn default_skew() -> Duration {
    Duration::from_secs(60)
}
fn default_idp_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_discovery_ttl() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn default_idporten_scopes() -> Vec<String> {
    vec!["profile".into()]
}
fn default_saml_binding() -> String {
    "post".into()
}
fn default_sp_type() -> String {
    "public".into()
}
fn default_metadata_refresh() -> Duration {
    Duration::from_secs(6 * 3600)
}
fn default_metadata_validity() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Keys whose environment values are strings as given, never parsed as numbers or lists.
const RAW_ENV_KEYS: &[&str] = &[
    "keys.seal_pkcs11.pin",
    "keys.tsa_pkcs11.pin",
    "notify.smtp.username",
    "notify.smtp.password",
    "notify.sms.username",
    "notify.sms.password",
    "notify.sms.platform_id",
    "notify.sms.platform_partner_id",
    "notify.sms.source",
];

impl Config {
    /// Loads defaults, then `file` (if any), then `SIGNGATE__…` environment overrides.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, Env::prefixed("SIGNGATE__").split("__"))
    }

    fn load_with_env(file: Option<&Path>, env: Env) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            fig = fig.merge(Toml::file(path));
        }
        // PINs are taken verbatim: figment would read "0123" as the number 123.
        let mut fig = fig.merge(env.clone().ignore(RAW_ENV_KEYS).lowercase(true));
        for (key, value) in env.only(RAW_ENV_KEYS).lowercase(true).iter() {
            fig = fig.merge(Serialized::default(key.as_str(), value));
        }
        let cfg: Config = fig.extract().map_err(Box::new)?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Invariants of every profile, then the production profile's refusals (fail closed).
    /// `[authority.maskinporten]` and the authorised sources that need it.
    fn check_authorised(&self) -> Result<(), ConfigError> {
        let a = &self.authority;
        let production = self.profile == Profile::Production;
        let https = |key: &str, url: &str| -> Result<(), ConfigError> {
            match url_scheme(url) {
                None => Err(ConfigError::Invalid(format!(
                    "{key} {url:?} is not an http(s) URL"
                ))),
                Some("http") if production => {
                    Err(ConfigError::Production(format!("{key} must be https")))
                }
                _ => Ok(()),
            }
        };
        for (key, src) in [
            ("authority.authorised_roles", &a.authorised_roles),
            ("authority.authorised_fullmakt", &a.authorised_fullmakt),
        ] {
            let Some(src) = src else { continue };
            https(&format!("{key}.url"), &src.url)?;
            if src.scope.split_whitespace().next().is_none() {
                return Err(ConfigError::Invalid(format!("{key}.scope is empty")));
            }
            if a.maskinporten.is_none() {
                return Err(ConfigError::Invalid(format!(
                    "{key} needs [authority.maskinporten]"
                )));
            }
        }
        let Some(mp) = &a.maskinporten else {
            return Ok(());
        };
        https("authority.maskinporten.issuer", &mp.issuer)?;
        if let Some(ep) = &mp.token_endpoint {
            https("authority.maskinporten.token_endpoint", ep)?;
        }
        if mp.client_id.trim().is_empty() {
            return Err(ConfigError::Invalid(
                "authority.maskinporten.client_id is empty".into(),
            ));
        }
        if mp.key_file.is_some() == mp.key_pkcs11.is_some() {
            return Err(ConfigError::Invalid(
                "authority.maskinporten: set exactly one of key_file and key_pkcs11".into(),
            ));
        }
        if let Some(p11) = &mp.key_pkcs11 {
            p11.check().map_err(|e| {
                ConfigError::Invalid(format!("authority.maskinporten.key_pkcs11: {e}"))
            })?;
        }
        if mp.key_id.is_some() == mp.certificate_chain_file.is_some() {
            return Err(ConfigError::Invalid(
                "authority.maskinporten: set exactly one of key_id (a key registered with the \
                 client) and certificate_chain_file (the business certificate, sent as x5c)"
                    .into(),
            ));
        }
        if mp.timeout.is_zero() {
            return Err(ConfigError::Invalid(
                "authority.maskinporten.timeout must be above zero".into(),
            ));
        }
        Ok(())
    }

    fn check(&self) -> Result<(), ConfigError> {
        let public = url_scheme(&self.server.public_url).ok_or_else(|| {
            ConfigError::Invalid(format!(
                "server.public_url {:?} is not an http(s) URL",
                self.server.public_url
            ))
        })?;
        if self.server.client_ca.is_some()
            && (self.server.tls_cert.is_none() || self.server.tls_key.is_none())
        {
            return Err(ConfigError::Invalid(
                "server.client_ca needs server.tls_cert and server.tls_key".into(),
            ));
        }
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "server.tls_cert and server.tls_key must be set together".into(),
            ));
        }
        if self.jobs.max_signers == 0 || self.jobs.max_documents == 0 {
            return Err(ConfigError::Invalid(
                "jobs.max_signers and jobs.max_documents must be at least 1".into(),
            ));
        }
        if self.jobs.default_expires_in_days == 0
            || self.jobs.default_expires_in_days > self.jobs.max_expires_in_days
        {
            return Err(ConfigError::Invalid(
                "jobs.default_expires_in_days must be between 1 and jobs.max_expires_in_days"
                    .into(),
            ));
        }
        self.keys.check()?;
        if let Some(op) = &self.idporten {
            if url_scheme(&op.issuer).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "idporten.issuer {:?} is not an http(s) URL",
                    op.issuer
                )));
            }
            if op.client_secret.is_some() == op.client_key_file.is_some() {
                return Err(ConfigError::Invalid(
                    "idporten: set exactly one of client_secret (client_secret_basic) and \
                     client_key_file (private_key_jwt)"
                        .into(),
                ));
            }
        }
        if let Some(e) = &self.eidas {
            if !matches!(e.binding.as_str(), "post" | "redirect") {
                return Err(ConfigError::Invalid(
                    "eidas.binding must be \"post\" or \"redirect\"".into(),
                ));
            }
            if !matches!(e.sp_type.as_str(), "public" | "private") {
                return Err(ConfigError::Invalid(
                    "eidas.sp_type must be \"public\" or \"private\"".into(),
                ));
            }
        }
        for (key, url) in [
            (
                "authority.enhetsregisteret_url",
                &self.authority.enhetsregisteret_url,
            ),
            ("authority.fullmakt_url", &self.authority.fullmakt_url),
        ] {
            if url_scheme(url).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "{key} {url:?} is not an http(s) URL"
                )));
            }
            if self.profile == Profile::Production && url_scheme(url) != Some("https") {
                return Err(ConfigError::Production(format!("{key} must be https")));
            }
        }
        self.check_authorised()?;
        if self.authority.timeout.is_zero() || self.authority.max_body_bytes == 0 {
            return Err(ConfigError::Invalid(
                "authority.timeout and authority.max_body_bytes must be above zero".into(),
            ));
        }
        if self.notify.max_attempts < 1 || self.notify.retry_base.is_zero() {
            return Err(ConfigError::Invalid(
                "notify.max_attempts must be at least 1 and notify.retry_base above zero".into(),
            ));
        }
        if let Some(sms) = &self.notify.sms {
            match url_scheme(&sms.url) {
                None => {
                    return Err(ConfigError::Invalid(format!(
                        "notify.sms.url {:?} is not an http(s) URL",
                        sms.url
                    )));
                }
                Some("http") if self.profile == Profile::Production => {
                    return Err(ConfigError::Production(
                        "notify.sms.url must be https".into(),
                    ));
                }
                _ => {}
            }
        }
        if let Some(smtp) = &self.notify.smtp
            && smtp.tls == crate::notify::email::SmtpTls::None
            && self.profile == Profile::Production
        {
            return Err(ConfigError::Production(
                "notify.smtp.tls = \"none\" (mail and links in clear text)".into(),
            ));
        }
        if let Some(p) = &self.tsa.policy
            && p.parse::<const_oid::ObjectIdentifier>().is_err()
        {
            return Err(ConfigError::Invalid(format!(
                "tsa.policy {p:?} is not an OID"
            )));
        }
        if self.profile == Profile::Production {
            if let Some(op) = &self.idporten
                && url_scheme(&op.issuer) != Some("https")
            {
                return Err(ConfigError::Production(
                    "idporten.issuer must be https".into(),
                ));
            }
            if let Some(e) = &self.eidas {
                if e.idp_metadata_signer.is_none() {
                    return Err(ConfigError::Production(
                        "eidas.idp_metadata_signer is required (unsigned node metadata is refused)"
                            .into(),
                    ));
                }
                if e.idp_metadata.starts_with("http://") {
                    return Err(ConfigError::Production(
                        "eidas.idp_metadata must be https or a file".into(),
                    ));
                }
            }
            if self.dev_idp.enabled {
                return Err(ConfigError::Production(
                    "the development identity provider is enabled (set dev_idp.enabled = false)"
                        .into(),
                ));
            }
            if self.keys.seal_key_file.is_none() && self.keys.seal_pkcs11.is_none() {
                return Err(ConfigError::Production(
                    "no seal key configured (keys.seal_key_file or keys.seal_pkcs11, with \
                     keys.seal_chain_file); development keys are refused"
                        .into(),
                ));
            }
            if self.server.session_secret_file.is_none() {
                return Err(ConfigError::Production(
                    "server.session_secret_file is required".into(),
                ));
            }
            if public != "https" {
                return Err(ConfigError::Production(
                    "server.public_url must be https".into(),
                ));
            }
            if self.tsa.dev_unit {
                return Err(ConfigError::Production(
                    "the development time-stamping unit is enabled (set tsa.dev_unit = false)"
                        .into(),
                ));
            }
        }
        Ok(())
    }

    /// Whether cookies must carry `Secure` (everywhere but plain-http development).
    pub fn secure_cookies(&self) -> bool {
        self.profile == Profile::Production || url_scheme(&self.server.public_url) == Some("https")
    }

    /// Whether webhooks may go to private/loopback addresses (default: only in dev).
    pub fn allow_private_webhooks(&self) -> bool {
        self.notify
            .allow_private_destinations
            .unwrap_or(self.profile == Profile::Dev)
    }

    /// The SAML SP entity id (default `{public_url}/saml/metadata`).
    pub fn sp_entity_id(&self) -> Option<String> {
        let e = self.eidas.as_ref()?;
        Some(
            e.sp_entity_id
                .clone()
                .unwrap_or_else(|| format!("{}/saml/metadata", self.public_base())),
        )
    }

    /// The public base URL without a trailing slash.
    pub fn public_base(&self) -> &str {
        self.server.public_url.trim_end_matches('/')
    }

    /// The sealing spool directory: `sealing.spool_dir`, or `spool` beside `blobs.dir`.
    pub fn spool_dir(&self) -> PathBuf {
        if let Some(dir) = &self.sealing.spool_dir {
            return dir.clone();
        }
        match self.blobs.dir.parent() {
            Some(parent) => parent.join("spool"),
            None => self.blobs.dir.join("spool"),
        }
    }
}

impl KeysConfig {
    /// Each key: a file or a token, never both, always with its chain.
    fn check(&self) -> Result<(), ConfigError> {
        let pairs = [
            (
                "seal",
                &self.seal_key_file,
                &self.seal_chain_file,
                &self.seal_pkcs11,
            ),
            (
                "tsa",
                &self.tsa_key_file,
                &self.tsa_chain_file,
                &self.tsa_pkcs11,
            ),
        ];
        for (name, file, chain, token) in pairs {
            match (file, chain, token) {
                (Some(_), _, Some(_)) => {
                    return Err(ConfigError::Invalid(format!(
                        "keys.{name}_key_file and keys.{name}_pkcs11 are exclusive"
                    )));
                }
                (None, None, Some(_)) => {
                    return Err(ConfigError::Invalid(format!(
                        "keys.{name}_pkcs11 needs keys.{name}_chain_file (the certificate chain)"
                    )));
                }
                (Some(_), None, None) | (None, Some(_), None) => {
                    return Err(ConfigError::Invalid(format!(
                        "keys.{name}_key_file and keys.{name}_chain_file must be set together"
                    )));
                }
                _ => {}
            }
            if let Some(p) = token {
                p.check()
                    .map_err(|e| ConfigError::Invalid(format!("keys.{name}_pkcs11: {e}")))?;
            }
        }
        Ok(())
    }
}

fn url_scheme(url: &str) -> Option<&'static str> {
    if url.starts_with("https://") {
        Some("https")
    } else if url.starts_with("http://") {
        Some("http")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        // Figment's Env reads the process environment, shared by tests running in parallel:
        // each call gets its own prefix.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let prefix = format!("SGTEST{}X{n}__", std::process::id());
        let mut set = Vec::new();
        for (k, v) in vars {
            let key = format!("{prefix}{k}");
            // SAFETY: the variable has a prefix unique to this call; nothing else reads it.
            unsafe { std::env::set_var(&key, v) };
            set.push(key);
        }
        let r = Config::load_with_env(None, Env::prefixed(&prefix).split("__"));
        for k in set {
            unsafe { std::env::remove_var(k) };
        }
        r
    }

    #[test]
    fn production_refuses_the_development_tsa() {
        let e = load(&[
            ("PROFILE", "production"),
            ("DEV_IDP__ENABLED", "false"),
            ("TSA__DEV_UNIT", "true"),
            ("KEYS__SEAL_KEY_FILE", "/k"),
            ("KEYS__SEAL_CHAIN_FILE", "/c"),
            ("SERVER__SESSION_SECRET_FILE", "/s"),
            ("SERVER__PUBLIC_URL", "https://sign.example"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("time-stamping"), "{e}");
        assert!(load(&[("TSA__POLICY", "not-an-oid")]).is_err());
        assert!(load(&[("TSA__POLICY", "1.3.6.1.4.1.32473.1")]).is_ok());
    }

    #[test]
    fn idporten_secret_never_in_debug() {
        let c = load(&[
            ("IDPORTEN__ISSUER", "https://test.idporten.no"),
            ("IDPORTEN__CLIENT_ID", "abc"),
            ("IDPORTEN__CLIENT_SECRET", "s3cr3t-value"),
        ])
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(dbg.contains("test.idporten.no"), "{dbg}");
        assert!(!dbg.contains("s3cr3t-value"), "{dbg}");
        // Exactly one client authentication method.
        assert!(
            load(&[
                ("IDPORTEN__ISSUER", "https://test.idporten.no"),
                ("IDPORTEN__CLIENT_ID", "abc"),
            ])
            .is_err()
        );
    }

    #[test]
    fn defaults_are_dev_and_valid() {
        let c = Config::load_with_env(None, Env::prefixed("SGNONE_UNUSED__").split("__"))
            .expect("defaults load");
        assert_eq!(c.profile, Profile::Dev);
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database.url, "sqlite://var/signgate.db");
        assert!(c.dev_idp.enabled);
        assert_eq!(c.jobs.max_document_bytes, 20 * 1024 * 1024);
    }

    #[test]
    fn production_refuses_dev_conveniences() {
        let err = load(&[("PROFILE", "production")]).unwrap_err();
        assert!(matches!(err, ConfigError::Production(_)), "{err}");
        assert!(err.to_string().contains("development identity provider"));
        let err = load(&[("PROFILE", "production"), ("DEV_IDP__ENABLED", "false")]).unwrap_err();
        assert!(err.to_string().contains("seal key"), "{err}");
    }

    #[test]
    fn pkcs11_keys_from_env_keep_the_pin_verbatim_and_secret() {
        let c = load(&[
            (
                "KEYS__SEAL_PKCS11__MODULE",
                "/usr/lib/softhsm/libsofthsm2.so",
            ),
            ("KEYS__SEAL_PKCS11__TOKEN_LABEL", "signgate"),
            ("KEYS__SEAL_PKCS11__KEY_LABEL", "seal"),
            ("KEYS__SEAL_PKCS11__PIN", "0012"),
            ("KEYS__SEAL_CHAIN_FILE", "/c"),
            ("KEYS__SEAL_RSA_PADDING", "pss"),
        ])
        .unwrap();
        let p = c.keys.seal_pkcs11.as_ref().unwrap();
        assert_eq!(p.token_label, "signgate");
        assert_eq!(p.sessions, 4);
        assert_eq!(c.keys.seal_rsa_padding, RsaPadding::Pss);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("0012"), "{dbg}");
        assert!(dbg.contains("<redacted>"), "{dbg}");
        // A leading-zero PIN stays a string (figment would parse "0012" as 12).
        assert_eq!(p.pin.as_ref().unwrap().expose(), "0012");
        assert_eq!(format!("{:?}", p.pin), "Some(<redacted>)");

        // Production accepts a token seal key.
        let prod = load(&[
            ("PROFILE", "production"),
            ("DEV_IDP__ENABLED", "false"),
            ("TSA__DEV_UNIT", "false"),
            ("KEYS__SEAL_PKCS11__MODULE", "/m.so"),
            ("KEYS__SEAL_PKCS11__TOKEN_LABEL", "hsm"),
            ("KEYS__SEAL_PKCS11__KEY_LABEL", "seal"),
            ("KEYS__SEAL_PKCS11__PIN_FILE", "/run/pin"),
            ("KEYS__SEAL_CHAIN_FILE", "/c"),
            ("SERVER__SESSION_SECRET_FILE", "/s"),
            ("SERVER__PUBLIC_URL", "https://sign.example"),
        ]);
        assert!(prod.is_ok(), "{prod:?}");

        // Shape errors.
        let token = [
            ("KEYS__SEAL_PKCS11__MODULE", "/m.so"),
            ("KEYS__SEAL_PKCS11__TOKEN_LABEL", "hsm"),
            ("KEYS__SEAL_PKCS11__KEY_LABEL", "seal"),
        ];
        let mut no_pin = token.to_vec();
        no_pin.push(("KEYS__SEAL_CHAIN_FILE", "/c"));
        let e = load(&no_pin).unwrap_err().to_string();
        assert!(e.contains("exactly one of pin and pin_file"), "{e}");
        let mut no_chain = token.to_vec();
        no_chain.push(("KEYS__SEAL_PKCS11__PIN", "1"));
        let e = load(&no_chain).unwrap_err().to_string();
        assert!(e.contains("seal_chain_file"), "{e}");
        let mut both = no_chain.clone();
        both.push(("KEYS__SEAL_CHAIN_FILE", "/c"));
        both.push(("KEYS__SEAL_KEY_FILE", "/k"));
        let e = load(&both).unwrap_err().to_string();
        assert!(e.contains("exclusive"), "{e}");
        let e = load(&[("KEYS__TSA_KEY_FILE", "/k")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("tsa_chain_file"), "{e}");
        let e = load(&[("KEYS__SEAL_RSA_PADDING", "oaep")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("oaep"), "{e}");
    }

    #[test]
    fn authority_defaults_and_env_overrides() {
        let c = load(&[]).unwrap();
        assert_eq!(
            c.authority.enhetsregisteret_url,
            "https://data.brreg.no/enhetsregisteret/api"
        );
        assert_eq!(c.authority.fullmakt_url, "https://data.brreg.no/fullmakt");
        assert_eq!(c.authority.timeout, Duration::from_secs(5));
        assert_eq!(c.authority.max_body_bytes, 2 * 1024 * 1024);
        assert_eq!(c.authority.cache_ttl, Duration::from_secs(300));
        assert_eq!(c.authority.stale_if_error, Duration::from_secs(3600));
        let c = load(&[
            ("AUTHORITY__ENHETSREGISTERET_URL", "http://127.0.0.1:9/er"),
            ("AUTHORITY__FULLMAKT_URL", "http://127.0.0.1:9/fm"),
            ("AUTHORITY__TIMEOUT", "300ms"),
            ("AUTHORITY__CACHE_TTL", "0s"),
        ])
        .unwrap();
        assert_eq!(c.authority.enhetsregisteret_url, "http://127.0.0.1:9/er");
        assert_eq!(c.authority.fullmakt_url, "http://127.0.0.1:9/fm");
        assert_eq!(c.authority.timeout, Duration::from_millis(300));
        assert_eq!(c.authority.cache_ttl, Duration::ZERO);
        let e = load(&[("AUTHORITY__FULLMAKT_URL", "ftp://x")]).unwrap_err();
        assert!(e.to_string().contains("authority.fullmakt_url"), "{e}");
        let e = load(&[("AUTHORITY__TIMEOUT", "0s")]).unwrap_err();
        assert!(e.to_string().contains("authority.timeout"), "{e}");
        let e = load(&[
            ("PROFILE", "production"),
            ("DEV_IDP__ENABLED", "false"),
            ("TSA__DEV_UNIT", "false"),
            ("KEYS__SEAL_KEY_FILE", "/k"),
            ("KEYS__SEAL_CHAIN_FILE", "/c"),
            ("SERVER__SESSION_SECRET_FILE", "/s"),
            ("SERVER__PUBLIC_URL", "https://sign.example"),
            (
                "AUTHORITY__FULLMAKT_URL",
                "http://register.example/fullmakt",
            ),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("must be https"), "{e}");
    }

    #[test]
    fn authorised_register_variants_need_a_complete_maskinporten_client() {
        let mp = [
            (
                "AUTHORITY__MASKINPORTEN__ISSUER",
                "https://test.maskinporten.no/",
            ),
            ("AUTHORITY__MASKINPORTEN__CLIENT_ID", "client-1"),
            ("AUTHORITY__MASKINPORTEN__KEY_FILE", "/etc/signgate/mp.key"),
            ("AUTHORITY__MASKINPORTEN__KEY_ID", "kid-1"),
        ];
        let roles = [
            (
                "AUTHORITY__AUTHORISED_ROLES__URL",
                "https://data.brreg.no/enhetsregisteret/autorisert-api",
            ),
            ("AUTHORITY__AUTHORISED_ROLES__SCOPE", "brreg:roller"),
        ];
        let c = load(&[&mp[..], &roles[..]].concat()).unwrap();
        let m = c.authority.maskinporten.as_ref().unwrap();
        assert_eq!(m.timeout, Duration::from_secs(10));
        assert_eq!(m.key_id.as_deref(), Some("kid-1"));
        assert_eq!(
            c.authority
                .authorised_roles
                .as_ref()
                .map(|r| r.scope.as_str()),
            Some("brreg:roller")
        );
        let e = load(&roles).unwrap_err();
        assert!(
            e.to_string().contains("needs [authority.maskinporten]"),
            "{e}"
        );
        let both = [
            &mp[..],
            &[(
                "AUTHORITY__MASKINPORTEN__CERTIFICATE_CHAIN_FILE",
                "/etc/signgate/c.pem",
            )][..],
        ]
        .concat();
        let e = load(&both).unwrap_err();
        assert!(e.to_string().contains("exactly one of key_id"), "{e}");
        let e = load(&[&mp[..3], &roles[..]].concat()).unwrap_err();
        assert!(e.to_string().contains("exactly one of key_id"), "{e}");
        let e = load(
            &[
                &mp[..],
                &[
                    ("AUTHORITY__AUTHORISED_ROLES__URL", "https://x.example"),
                    ("AUTHORITY__AUTHORISED_ROLES__SCOPE", " "),
                ][..],
            ]
            .concat(),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("authorised_roles.scope is empty"),
            "{e}"
        );
    }

    #[test]
    fn notify_channels_from_env_keep_secrets_verbatim_and_out_of_debug() {
        let cfg = load(&[
            ("NOTIFY__SMTP__HOST", "smtp.example.no"),
            ("NOTIFY__SMTP__PORT", "2525"),
            ("NOTIFY__SMTP__FROM", "Signgate <no-reply@example.no>"),
            ("NOTIFY__SMTP__USERNAME", "0042"),
            ("NOTIFY__SMTP__PASSWORD", "007"),
            ("NOTIFY__SMS__USERNAME", "u"),
            ("NOTIFY__SMS__PASSWORD", "1234"),
            ("NOTIFY__SMS__PLATFORM_PARTNER_ID", "030978"),
            ("NOTIFY__SMS__SOURCE", "Signgate"),
        ])
        .unwrap();
        let smtp = cfg.notify.smtp.as_ref().unwrap();
        assert_eq!(smtp.port, Some(2525));
        assert_eq!(smtp.username.as_deref(), Some("0042"));
        assert_eq!(smtp.password.as_deref(), Some("007"));
        assert_eq!(smtp.tls, crate::notify::email::SmtpTls::Starttls);
        let sms = cfg.notify.sms.as_ref().unwrap();
        assert_eq!(sms.platform_partner_id, "030978");
        assert_eq!(sms.password, "1234");
        assert_eq!(sms.url, "https://wsx.sp247.net");
        let dbg = format!("{:?}", cfg.notify);
        assert!(!dbg.contains("007") && !dbg.contains("1234"), "{dbg}");
        assert!(cfg.notify.smtp.is_some() && load(&[]).unwrap().notify.smtp.is_none());
        let plain = load(&[
            ("PROFILE", "production"),
            ("NOTIFY__SMTP__HOST", "localhost"),
            ("NOTIFY__SMTP__FROM", "a@example.no"),
            ("NOTIFY__SMTP__TLS", "none"),
        ]);
        assert!(
            matches!(&plain, Err(ConfigError::Production(m)) if m.contains("notify.smtp.tls")),
            "{:?}",
            plain.err()
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = load(&[("SERVER__LISTN", "127.0.0.1:1")]).unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
    }
}
