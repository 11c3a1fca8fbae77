//! Long-term validation material for what the gateway seals: the certificates, OCSP responses
//! and CRLs a verifier needs, years later and offline, to validate a seal and its timestamps
//! (the PAdES DSS dictionary, XAdES `CertificateValues`/`RevocationValues`).
//!
//! Owns: [`LtvData`], the bundle the PAdES and XAdES builders embed, and [`LtvFetcher`], which
//! gathers it live: for each certificate to cover (the seal certificate, the TSA certificates of
//! the timestamp tokens, delegated OCSP responders without `id-pkix-ocsp-nocheck`) it builds
//! the path to the configured roots (`validation::chain`), asks each non-root certificate's
//! OCSP responder (AIA `id-ad-ocsp`, HTTP POST, SHA-1 `CertID` as RFC 5019 expects) and falls
//! back to its CRL distribution points, verifies every answer with `validation::revocation`
//! (signature by the issuer or a responder the issuer certified with `id-kp-OCSPSigning`,
//! `successful` status, the certificate's own status, `thisUpdate`/`nextUpdate` against the
//! clock), refuses to go on when a certificate is revoked or unknown (fail closed), and finally
//! re-validates each target with exactly the collected data, offline, so what is embedded is
//! known to be complete. Answers are cached (moka) per responder URL and `CertID`, CRLs per
//! URL, until their `nextUpdate` (bounded by a configured maximum age), so a burst of seals
//! fetches once; concurrent requests for the same key share one fetch.
//!
//! Must not: decide job state, write PDF or XML, or log certificate contents beyond subjects
//! and URLs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::validation::chain::{self, CertCheckInput, CertInfo, TrustSources};
use crate::validation::policy::Policy;
use crate::validation::report::{Indication, SubIndication};
use crate::validation::revocation::{
    self, RevocationContext, RevocationData, RevocationFinding, RevocationSource, RevocationStatus,
    check_revocation, error_chain,
};

pub use crate::validation::chain::Usage;

/// Validation material to embed: DER certificates, DER `OCSPResponse`s and DER CRLs.
/// Duplicates are removed by [`LtvData::merge`]; order is kept (first seen first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LtvData {
    /// Certificates (signer and TSA chains, OCSP responder certificates, CRL issuers).
    pub certs: Vec<Vec<u8>>,
    /// Complete DER `OCSPResponse`s (not just the `BasicOCSPResponse`).
    pub ocsps: Vec<Vec<u8>>,
    /// DER `CertificateList`s.
    pub crls: Vec<Vec<u8>>,
}

impl LtvData {
    /// Adds everything in `other` that is not already here.
    pub fn merge(&mut self, other: LtvData) {
        add_unique(&mut self.certs, other.certs);
        add_unique(&mut self.ocsps, other.ocsps);
        add_unique(&mut self.crls, other.crls);
    }

    /// Whether there is nothing to embed.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty() && self.ocsps.is_empty() && self.crls.is_empty()
    }

    /// Whether everything in `other` is already here.
    pub fn contains(&self, other: &LtvData) -> bool {
        other.certs.iter().all(|c| self.certs.contains(c))
            && other.ocsps.iter().all(|o| self.ocsps.contains(o))
            && other.crls.iter().all(|c| self.crls.contains(c))
    }
}

fn add_unique(into: &mut Vec<Vec<u8>>, from: Vec<Vec<u8>>) {
    for item in from {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

/// Media types of RFC 6960 appendix A.
pub const OCSP_REQUEST_TYPE: &str = "application/ocsp-request";
/// See [`OCSP_REQUEST_TYPE`].
pub const OCSP_RESPONSE_TYPE: &str = "application/ocsp-response";
/// Most certificates whose revocation one collection looks up (paths of all targets and of
/// the OCSP responders they bring in).
const MAX_CERTS: usize = 32;
/// Most URLs of each kind tried per certificate.
const MAX_URLS: usize = 2;
/// How long an answer without `nextUpdate` is reused (RFC 5019 §4: no `nextUpdate` means newer
/// information is always available), at most.
const TTL_WITHOUT_NEXT_UPDATE: Duration = Duration::from_secs(60);

/// Limits and cache settings of an [`LtvFetcher`] (config `[ltv]`).
#[derive(Debug, Clone)]
pub struct LtvOptions {
    /// Whole-exchange timeout of one OCSP or CRL request (connect included).
    pub timeout: Duration,
    /// Largest OCSP response read (capped at `validation::revocation::MAX_OCSP_BYTES`).
    pub max_ocsp_bytes: usize,
    /// Largest CRL read (capped at `validation::revocation::MAX_CRL_BYTES`).
    pub max_crl_bytes: usize,
    /// Cache capacity in bytes of cached responses and CRLs.
    pub cache_max_bytes: u64,
    /// Longest an answer is reused, even when its `nextUpdate` is later.
    pub max_cache_age: Duration,
    /// How far in the future a `thisUpdate` may be (responder clock ahead of ours).
    pub clock_skew: Duration,
}

impl Default for LtvOptions {
    fn default() -> Self {
        LtvOptions {
            timeout: Duration::from_secs(5),
            max_ocsp_bytes: revocation::MAX_OCSP_BYTES,
            max_crl_bytes: revocation::MAX_CRL_BYTES,
            cache_max_bytes: 64 * 1024 * 1024,
            max_cache_age: Duration::from_secs(12 * 3600),
            clock_skew: Duration::from_secs(120),
        }
    }
}

impl From<&crate::config::LtvConfig> for LtvOptions {
    fn from(c: &crate::config::LtvConfig) -> Self {
        LtvOptions {
            timeout: c.timeout,
            max_ocsp_bytes: c.max_ocsp_bytes,
            max_crl_bytes: c.max_crl_bytes,
            cache_max_bytes: c.cache_max_bytes,
            max_cache_age: c.max_cache_age,
            clock_skew: c.clock_skew,
        }
    }
}

/// Why no complete, verified validation material could be gathered. Every variant means: do
/// not seal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LtvError {
    /// The HTTP client could not be built.
    #[error("LTV fetcher setup: {0}")]
    Setup(String),
    /// A certificate could not be read.
    #[error("unreadable certificate: {0}")]
    BadCertificate(String),
    /// No acceptable path from a certificate to the configured roots.
    #[error("{certificate}: no acceptable path to a trust root: {reason}")]
    Path {
        /// `certificate CN=…, serial …`.
        certificate: String,
        /// Why.
        reason: String,
    },
    /// The certificate is revoked: never seal with (or timestamp by) a revoked key.
    #[error(
        "{certificate} is REVOKED since {time} (reason {reason}) according to {source_kind} from {url}; refusing to seal"
    )]
    Revoked {
        /// `certificate CN=…, serial …`.
        certificate: String,
        /// Revocation time (RFC 3339).
        time: String,
        /// CRL reason code name.
        reason: String,
        /// `OCSP` or `CRL`.
        source_kind: String,
        /// Where the answer came from.
        url: String,
    },
    /// The OCSP responder does not know the certificate.
    #[error(
        "{certificate}: the OCSP responder {url} reports its status as unknown; refusing to seal"
    )]
    UnknownStatus {
        /// `certificate CN=…, serial …`.
        certificate: String,
        /// Responder URL.
        url: String,
    },
    /// One exchange failed (transport, HTTP status, size, timeout).
    #[error("{url}: {reason}")]
    Fetch {
        /// URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// An answer was received but is not acceptable (unreadable, unsuccessful, badly signed,
    /// stale, not about the certificate).
    #[error("{url}: answer rejected: {reason}")]
    Rejected {
        /// URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Neither OCSP nor a CRL gave a verified answer (fail closed).
    #[error("{certificate}: no usable revocation information ({})", if .attempts.is_empty() { "the certificate names no OCSP responder and no CRL distribution point".to_string() } else { .attempts.join("; ") })]
    Unavailable {
        /// `certificate CN=…, serial …`.
        certificate: String,
        /// What was tried and how it failed.
        attempts: Vec<String>,
    },
    /// The collected material does not make the certificate validate offline.
    #[error("{certificate}: the collected validation data does not validate it offline: {reason}")]
    Incomplete {
        /// `certificate CN=…, serial …`.
        certificate: String,
        /// Why.
        reason: String,
    },
    /// More certificates than [`MAX_CERTS`] would need revocation data.
    #[error("more than {MAX_CERTS} certificates would need revocation data")]
    TooMany,
    /// A timestamp token could not be read.
    #[error("timestamp token: {0}")]
    Token(String),
}

/// Counters of an [`LtvFetcher`] (network exchanges attempted, cache use).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LtvStats {
    /// OCSP requests sent.
    pub ocsp_requests: u64,
    /// CRL downloads started.
    pub crl_requests: u64,
    /// Revocation answers served from the cache (or from a fetch another caller was making).
    pub cache_hits: u64,
    /// Whole collections served from the cache (same targets, pool and roots, every answer
    /// in it still fresh).
    pub bundle_hits: u64,
}

#[derive(Default)]
struct Counters {
    ocsp_requests: AtomicU64,
    crl_requests: AtomicU64,
    lookups: AtomicU64,
    fetches: AtomicU64,
    bundle_hits: AtomicU64,
}

/// A verified OCSP answer for one `CertID`, or a CRL by one issuer, as cached.
#[derive(Debug)]
struct Cached {
    der: Vec<u8>,
    /// Delegated responder certificate that signed an OCSP response.
    responder_cert: Option<Vec<u8>>,
    /// Until when it may be reused (its `nextUpdate`, bounded by the maximum age).
    expires: Instant,
}

/// A whole collection, reused while every answer in it (and every certificate of its
/// paths) is still valid.
#[derive(Debug)]
struct Bundle {
    data: LtvData,
    expires: Instant,
}

trait Expires {
    fn expires(&self) -> Instant;
    fn weight(&self) -> usize;
}

impl Expires for Cached {
    fn expires(&self) -> Instant {
        self.expires
    }
    fn weight(&self) -> usize {
        self.der.len() + self.responder_cert.as_ref().map_or(0, Vec::len)
    }
}

impl Expires for Bundle {
    fn expires(&self) -> Instant {
        self.expires
    }
    fn weight(&self) -> usize {
        let d = &self.data;
        [&d.certs, &d.ocsps, &d.crls]
            .iter()
            .flat_map(|l| l.iter())
            .map(Vec::len)
            .sum()
    }
}

type OcspKey = (String, Vec<u8>);

struct UntilExpiry;

impl<K, V: Expires> moka::Expiry<K, Arc<V>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &K,
        value: &Arc<V>,
        created_at: Instant,
    ) -> Option<Duration> {
        Some(value.expires().saturating_duration_since(created_at))
    }
}

fn weigh<K, V: Expires>(_k: &K, v: &Arc<V>) -> u32 {
    u32::try_from(v.weight() + 64).unwrap_or(u32::MAX)
}

/// One certificate whose revocation status is to be embedded, with what it is used for.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// DER certificate.
    pub cert: &'a [u8],
    /// What it is used for (selects the path checks: key usage, timeStamping EKU, …).
    pub usage: Usage,
}

/// Gathers and verifies revocation data over HTTP, with a cache. Cheap to share (`Arc`).
pub struct LtvFetcher {
    http: reqwest::Client,
    opts: LtvOptions,
    policy: Policy,
    ocsp: moka::future::Cache<OcspKey, Arc<Cached>>,
    crls: moka::future::Cache<String, Arc<Cached>>,
    bundles: moka::future::Cache<[u8; 32], Arc<Bundle>>,
    counters: Counters,
}

impl std::fmt::Debug for LtvFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LtvFetcher")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl LtvFetcher {
    /// A fetcher with `opts` and the default validation policy (EU DSS cryptographic
    /// constraints) for judging the answers.
    pub fn new(opts: LtvOptions) -> Result<Self, LtvError> {
        // reqwest is built without a rustls provider: make sure the crate's one is set.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let redirect = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 3 {
                attempt.error("too many redirects")
            } else if matches!(attempt.url().scheme(), "http" | "https") {
                attempt.follow()
            } else {
                attempt.error("redirect to a non-HTTP URL refused")
            }
        });
        let http = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout)
            .redirect(redirect)
            .user_agent(concat!("signgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LtvError::Setup(e.to_string()))?;
        let ocsp = moka::future::Cache::builder()
            .max_capacity(opts.cache_max_bytes)
            .weigher(weigh)
            .expire_after(UntilExpiry)
            .build();
        let crls = moka::future::Cache::builder()
            .max_capacity(opts.cache_max_bytes)
            .weigher(weigh)
            .expire_after(UntilExpiry)
            .build();
        let bundles = moka::future::Cache::builder()
            .max_capacity(opts.cache_max_bytes)
            .weigher(weigh)
            .expire_after(UntilExpiry)
            .build();
        Ok(LtvFetcher {
            http,
            opts,
            policy: Policy::default_eu(),
            ocsp,
            crls,
            bundles,
            counters: Counters::default(),
        })
    }

    /// Network exchanges and cache use so far.
    pub fn stats(&self) -> LtvStats {
        let lookups = self.counters.lookups.load(Ordering::Relaxed);
        let fetches = self.counters.fetches.load(Ordering::Relaxed);
        LtvStats {
            ocsp_requests: self.counters.ocsp_requests.load(Ordering::Relaxed),
            crl_requests: self.counters.crl_requests.load(Ordering::Relaxed),
            cache_hits: lookups.saturating_sub(fetches),
            bundle_hits: self.counters.bundle_hits.load(Ordering::Relaxed),
        }
    }

    /// The validation material for a seal: the seal certificate (`seal_chain[0]`, the rest of
    /// the chain helping to build its path) and the TSA certificate of each timestamp token,
    /// each with the revocation status of every non-root certificate of its path to `roots`.
    pub async fn for_seal(
        &self,
        seal_chain: &[Vec<u8>],
        tokens: &[&[u8]],
        roots: &[Vec<u8>],
    ) -> Result<LtvData, LtvError> {
        let mut pool: Vec<Vec<u8>> = seal_chain.to_vec();
        let mut tsa_leaves = Vec::new();
        for t in tokens {
            let (leaf, certs) = token_signer(t)?;
            add_unique(&mut pool, certs);
            tsa_leaves.push(leaf);
        }
        let mut targets = Vec::new();
        if let Some(leaf) = seal_chain.first() {
            targets.push(Target {
                cert: leaf,
                usage: Usage::Signature,
            });
        }
        for leaf in &tsa_leaves {
            targets.push(Target {
                cert: leaf,
                usage: Usage::Timestamping,
            });
        }
        self.collect(&targets, &pool, roots).await
    }

    /// The validation material for `targets`: each one's path to `roots` (built from `pool`),
    /// every certificate of those paths, and a verified `good` OCSP response (else CRL) for
    /// every non-root certificate; delegated OCSP responders without `id-pkix-ocsp-nocheck`
    /// are covered the same way. Fails on the first revoked or unknown certificate and when
    /// any certificate has no verified answer. Finally each target is validated offline with
    /// exactly the returned material and must pass.
    pub async fn collect(
        &self,
        targets: &[Target<'_>],
        pool: &[Vec<u8>],
        roots: &[Vec<u8>],
    ) -> Result<LtvData, LtvError> {
        let key = bundle_key(targets, pool, roots);
        if let Some(b) = self.bundles.get(&key).await
            && b.expires > Instant::now()
        {
            self.counters.bundle_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(b.data.clone());
        }
        let started = Instant::now();
        let mut expires = started + self.opts.max_cache_age;
        let mut out = LtvData::default();
        let mut work: Vec<(Vec<u8>, Usage)> =
            targets.iter().map(|t| (t.cert.to_vec(), t.usage)).collect();
        let mut done: Vec<Vec<u8>> = Vec::new();
        let mut checked_paths = 0usize;
        let mut pool: Vec<Vec<u8>> = pool.to_vec();
        while !work.is_empty() {
            let (cert, usage) = work.remove(0);
            checked_paths += 1;
            if checked_paths > MAX_CERTS {
                return Err(LtvError::TooMany);
            }
            let path = self.path(&cert, usage, &pool, roots)?;
            for c in &path {
                let info = CertInfo::parse(c).map_err(LtvError::BadCertificate)?;
                expires = expires.min(instant_at(info.not_after));
            }
            add_unique(&mut out.certs, path.clone());
            // Revocation for every non-anchor certificate of the path, concurrently.
            let mut jobs = Vec::new();
            let pool_now = &pool;
            for pair in path.windows(2) {
                let (c, i) = (&pair[0], &pair[1]);
                if done.contains(c) {
                    continue;
                }
                done.push(c.clone());
                if done.len() > MAX_CERTS {
                    return Err(LtvError::TooMany);
                }
                let ci = CertInfo::parse(c).map_err(LtvError::BadCertificate)?;
                if ci.ocsp_nocheck {
                    // id-pkix-ocsp-nocheck: no revocation checking for this responder.
                    continue;
                }
                let ii = CertInfo::parse(i).map_err(LtvError::BadCertificate)?;
                jobs.push(async move { self.status_of(&ci, &ii, pool_now).await });
            }
            for got in futures::future::try_join_all(jobs).await? {
                expires = expires.min(got.expires);
                match got.source {
                    RevocationSource::Ocsp => add_unique(&mut out.ocsps, vec![got.der.clone()]),
                    RevocationSource::Crl => add_unique(&mut out.crls, vec![got.der.clone()]),
                }
                if let Some(rc) = &got.responder_cert {
                    add_unique(&mut out.certs, vec![rc.clone()]);
                    add_unique(&mut pool, vec![rc.clone()]);
                    let info = CertInfo::parse(rc).map_err(LtvError::BadCertificate)?;
                    if !info.ocsp_nocheck && !done.contains(rc) {
                        work.push((rc.clone(), Usage::OcspSigning));
                    }
                }
            }
        }
        // The proof: each target validates offline with exactly what will be embedded.
        let now = OffsetDateTime::now_utc();
        let mut all_pool = pool.clone();
        add_unique(&mut all_pool, out.certs.clone());
        for t in targets {
            let trust = TrustSources {
                explicit: roots,
                registry: None,
            };
            let check = chain::check_certificate(&CertCheckInput {
                cert: t.cert,
                pool: &all_pool,
                crls: &out.crls,
                ocsps: &out.ocsps,
                trust: &trust,
                at: now,
                usage: t.usage,
                policy: &self.policy,
                fetcher: None,
            });
            if check.indication != Indication::TotalPassed {
                return Err(LtvError::Incomplete {
                    certificate: label_of(t.cert),
                    reason: reason_of(&check),
                });
            }
        }
        if expires > Instant::now() {
            let bundle = Arc::new(Bundle {
                data: out.clone(),
                expires,
            });
            self.bundles.insert(key, bundle).await;
        }
        Ok(out)
    }

    /// The path of `cert` (leaf first, anchor last) to one of `roots`, checked for everything
    /// but revocation.
    fn path(
        &self,
        cert: &[u8],
        usage: Usage,
        pool: &[Vec<u8>],
        roots: &[Vec<u8>],
    ) -> Result<Vec<Vec<u8>>, LtvError> {
        let mut policy = self.policy.clone();
        policy.require_revocation = false;
        let trust = TrustSources {
            explicit: roots,
            registry: None,
        };
        let check = chain::check_certificate(&CertCheckInput {
            cert,
            pool,
            crls: &[],
            ocsps: &[],
            trust: &trust,
            at: OffsetDateTime::now_utc(),
            usage,
            policy: &policy,
            fetcher: None,
        });
        if check.indication != Indication::TotalPassed || check.anchor.is_none() {
            return Err(LtvError::Path {
                certificate: label_of(cert),
                reason: reason_of(&check),
            });
        }
        Ok(check.path)
    }

    /// A verified, `good` answer for `cert` (issued by `issuer`): OCSP first, then CRLs.
    async fn status_of(
        &self,
        cert: &CertInfo,
        issuer: &CertInfo,
        pool: &[Vec<u8>],
    ) -> Result<Answer, LtvError> {
        let mut attempts = Vec::new();
        for url in cert.ocsp_urls.iter().filter(|u| is_http(u)).take(MAX_URLS) {
            match self.ocsp_answer(url, cert, issuer, pool).await {
                Ok(a) => return Ok(a),
                Err(e @ (LtvError::Revoked { .. } | LtvError::UnknownStatus { .. })) => {
                    return Err(e);
                }
                Err(e) => {
                    tracing::warn!(error = %e, certificate = %cert.subject_dn, "OCSP failed; trying the next source");
                    attempts.push(format!("OCSP {e}"));
                }
            }
        }
        for url in cert.crl_urls.iter().filter(|u| is_http(u)).take(MAX_URLS) {
            match self.crl_answer(url, cert, issuer, pool).await {
                Ok(a) => return Ok(a),
                Err(e @ LtvError::Revoked { .. }) => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, certificate = %cert.subject_dn, "CRL failed; trying the next source");
                    attempts.push(format!("CRL {e}"));
                }
            }
        }
        Err(LtvError::Unavailable {
            certificate: cert.label.clone(),
            attempts,
        })
    }

    async fn ocsp_answer(
        &self,
        url: &str,
        cert: &CertInfo,
        issuer: &CertInfo,
        pool: &[Vec<u8>],
    ) -> Result<Answer, LtvError> {
        let request = revocation::build_ocsp_request(&cert.der, &issuer.der).map_err(|e| {
            LtvError::BadCertificate(format!("{}: no OCSP request: {e}", cert.label))
        })?;
        // The request is the SHA-1 CertID and nothing else (no nonce), so it is the key.
        let key = (url.to_string(), request.clone());
        self.counters.lookups.fetch_add(1, Ordering::Relaxed);
        let cached = self
            .ocsp
            .try_get_with(key, async {
                self.counters.fetches.fetch_add(1, Ordering::Relaxed);
                let body = self.post_ocsp(url, request).await?;
                self.verify_ocsp(url, body, cert, issuer, pool)
            })
            .await
            .map_err(|e| (*e).clone())?;
        Ok(Answer {
            source: RevocationSource::Ocsp,
            der: cached.der.clone(),
            responder_cert: cached.responder_cert.clone(),
            expires: cached.expires,
        })
    }

    async fn crl_answer(
        &self,
        url: &str,
        cert: &CertInfo,
        issuer: &CertInfo,
        pool: &[Vec<u8>],
    ) -> Result<Answer, LtvError> {
        self.counters.lookups.fetch_add(1, Ordering::Relaxed);
        let cached = self
            .crls
            .try_get_with(url.to_string(), async {
                self.counters.fetches.fetch_add(1, Ordering::Relaxed);
                let body = self.get_crl(url).await?;
                // Cached only when it is a CRL by this issuer whose signature verifies.
                let (_, ttl) = self.judge(url, body.clone(), false, cert, issuer, pool)?;
                Ok::<_, LtvError>(Arc::new(Cached {
                    der: body,
                    responder_cert: None,
                    expires: Instant::now() + ttl,
                }))
            })
            .await
            .map_err(|e| (*e).clone())?;
        // A CRL is shared by every certificate of its issuer: read this one's entry.
        self.judge(url, cached.der.clone(), false, cert, issuer, pool)?;
        Ok(Answer {
            source: RevocationSource::Crl,
            der: cached.der.clone(),
            responder_cert: None,
            expires: cached.expires,
        })
    }

    fn verify_ocsp(
        &self,
        url: &str,
        body: Vec<u8>,
        cert: &CertInfo,
        issuer: &CertInfo,
        pool: &[Vec<u8>],
    ) -> Result<Arc<Cached>, LtvError> {
        let (finding, ttl) = self.judge(url, body.clone(), true, cert, issuer, pool)?;
        Ok(Arc::new(Cached {
            der: body,
            responder_cert: finding.responder_cert,
            expires: Instant::now() + ttl,
        }))
    }

    /// Verifies one OCSP response or CRL for `cert` with `validation::revocation` at the
    /// current time and decides: `good` and fresh → the finding and how long it may be
    /// reused; revoked, unknown, unverifiable or stale → an error.
    fn judge(
        &self,
        url: &str,
        der: Vec<u8>,
        is_ocsp: bool,
        cert: &CertInfo,
        issuer: &CertInfo,
        pool: &[Vec<u8>],
    ) -> Result<(RevocationFinding, Duration), LtvError> {
        let rejected = |reason: String| LtvError::Rejected {
            url: url.to_string(),
            reason,
        };
        let data = if is_ocsp {
            RevocationData::parse(&[], &[der])
        } else {
            RevocationData::parse(&[der], &[])
        };
        if let Some(p) = data.problems.first() {
            return Err(rejected(p.reason.clone()));
        }
        let now = OffsetDateTime::now_utc();
        let ctx = RevocationContext {
            data: &data,
            pool,
            at: now,
            policy: &self.policy,
            fetcher: None,
            crl_issuers: None,
        };
        let finding = check_revocation(&ctx, cert, issuer);
        let kind = if is_ocsp { "OCSP" } else { "CRL" };
        match &finding.status {
            RevocationStatus::Good => {}
            RevocationStatus::Revoked { time, reason } => {
                return Err(LtvError::Revoked {
                    certificate: cert.label.clone(),
                    time: rfc3339(*time),
                    reason: reason.clone().unwrap_or_else(|| "unspecified".into()),
                    source_kind: kind.into(),
                    url: url.to_string(),
                });
            }
            RevocationStatus::Unknown => {
                return Err(LtvError::UnknownStatus {
                    certificate: cert.label.clone(),
                    url: url.to_string(),
                });
            }
            RevocationStatus::NotChecked(why) => {
                return Err(rejected(format!("not checked: {why}")));
            }
            RevocationStatus::Unavailable => {
                let why = finding
                    .rejected
                    .first()
                    .map(|f| f.reason.clone())
                    .unwrap_or_else(|| format!("the {kind} answer is not about {}", cert.label));
                return Err(rejected(why));
            }
        }
        let this_update = finding
            .this_update
            .ok_or_else(|| rejected("no thisUpdate".into()))?;
        let skew = time::Duration::try_from(self.opts.clock_skew).unwrap_or(time::Duration::ZERO);
        let max_age =
            time::Duration::try_from(self.opts.max_cache_age).unwrap_or(time::Duration::DAY);
        if this_update > now + skew {
            return Err(rejected(format!(
                "thisUpdate {} is in the future",
                rfc3339(this_update)
            )));
        }
        let ttl = match finding.next_update {
            Some(next) if next <= this_update => {
                return Err(rejected(format!(
                    "nextUpdate {} is not after thisUpdate {}",
                    rfc3339(next),
                    rfc3339(this_update)
                )));
            }
            Some(next) if next <= now => {
                return Err(rejected(format!(
                    "expired: nextUpdate {} has passed",
                    rfc3339(next)
                )));
            }
            Some(next) => Duration::try_from(next - now).unwrap_or(Duration::ZERO),
            None => {
                if now - this_update > max_age {
                    return Err(rejected(format!(
                        "stale: no nextUpdate and thisUpdate {} is older than {:?}",
                        rfc3339(this_update),
                        self.opts.max_cache_age
                    )));
                }
                TTL_WITHOUT_NEXT_UPDATE
            }
        };
        Ok((finding, ttl.min(self.opts.max_cache_age)))
    }

    async fn post_ocsp(&self, url: &str, request: Vec<u8>) -> Result<Vec<u8>, LtvError> {
        self.counters.ocsp_requests.fetch_add(1, Ordering::Relaxed);
        let req = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, OCSP_REQUEST_TYPE)
            .header(reqwest::header::ACCEPT, OCSP_RESPONSE_TYPE)
            .body(request);
        let limit = self.opts.max_ocsp_bytes.min(revocation::MAX_OCSP_BYTES);
        self.exchange(url, req, limit).await
    }

    async fn get_crl(&self, url: &str) -> Result<Vec<u8>, LtvError> {
        self.counters.crl_requests.fetch_add(1, Ordering::Relaxed);
        let limit = self.opts.max_crl_bytes.min(revocation::MAX_CRL_BYTES);
        self.exchange(url, self.http.get(url), limit).await
    }

    async fn exchange(
        &self,
        url: &str,
        req: reqwest::RequestBuilder,
        limit: usize,
    ) -> Result<Vec<u8>, LtvError> {
        let fail = |reason: String| LtvError::Fetch {
            url: url.to_string(),
            reason,
        };
        let mut resp = req.send().await.map_err(|e| fail(error_chain(&e)))?;
        if !resp.status().is_success() {
            return Err(fail(format!("HTTP {}", resp.status())));
        }
        if resp.content_length().is_some_and(|l| l > limit as u64) {
            return Err(fail(format!("answer larger than {limit} bytes")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| fail(error_chain(&e)))? {
            if body.len() + chunk.len() > limit {
                return Err(fail(format!("answer larger than {limit} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Puts an OCSP response for `cert` (issued by `issuer`) from responder `url` into the
    /// cache, after the same verification a fetched one gets (a benchmark or a warm start
    /// can run without the network). `pool`: certificates to find a delegated responder in.
    pub async fn insert_ocsp(
        &self,
        url: &str,
        cert: &[u8],
        issuer: &[u8],
        response: Vec<u8>,
        pool: &[Vec<u8>],
    ) -> Result<(), LtvError> {
        let c = CertInfo::parse(cert).map_err(LtvError::BadCertificate)?;
        let i = CertInfo::parse(issuer).map_err(LtvError::BadCertificate)?;
        let request = revocation::build_ocsp_request(cert, issuer)
            .map_err(|e| LtvError::BadCertificate(e.to_string()))?;
        let cached = self.verify_ocsp(url, response, &c, &i, pool)?;
        self.ocsp.insert((url.to_string(), request), cached).await;
        Ok(())
    }

    /// Puts the CRL published at `url` by `issuer` into the cache after verifying it for
    /// `cert` (any certificate of that issuer).
    pub async fn insert_crl(
        &self,
        url: &str,
        cert: &[u8],
        issuer: &[u8],
        crl: Vec<u8>,
    ) -> Result<(), LtvError> {
        let c = CertInfo::parse(cert).map_err(LtvError::BadCertificate)?;
        let i = CertInfo::parse(issuer).map_err(LtvError::BadCertificate)?;
        let (_, ttl) = self.judge(url, crl.clone(), false, &c, &i, &[])?;
        self.crls
            .insert(
                url.to_string(),
                Arc::new(Cached {
                    der: crl,
                    responder_cert: None,
                    expires: Instant::now() + ttl,
                }),
            )
            .await;
        Ok(())
    }
}

/// One accepted answer.
struct Answer {
    source: RevocationSource,
    der: Vec<u8>,
    responder_cert: Option<Vec<u8>>,
    expires: Instant,
}

/// What identifies a collection: the targets with their usages, the pool and the roots.
fn bundle_key(targets: &[Target<'_>], pool: &[Vec<u8>], roots: &[Vec<u8>]) -> [u8; 32] {
    let mut h = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut item = |tag: u8, bytes: &[u8]| {
        h.update(&[tag]);
        h.update(&(bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    for t in targets {
        let usage = match t.usage {
            Usage::Signature => 1,
            Usage::Timestamping => 2,
            Usage::OcspSigning => 3,
            Usage::CrlSigning => 4,
        };
        item(usage, t.cert);
    }
    for p in pool {
        item(10, p);
    }
    for r in roots {
        item(20, r);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(h.finish().as_ref());
    out
}

/// The monotonic instant of a wall-clock time (now when it has passed).
fn instant_at(t: OffsetDateTime) -> Instant {
    let left = t - OffsetDateTime::now_utc();
    Instant::now() + Duration::try_from(left).unwrap_or(Duration::ZERO)
}

/// The TSA certificate (first) and every certificate a timestamp token carries. The token's
/// signature must verify with that certificate (the imprint is the caller's business).
pub fn token_signer(token: &[u8]) -> Result<(Vec<u8>, Vec<Vec<u8>>), LtvError> {
    use crate::validation::evidence::{Check, TimestampKind};
    let ev = crate::validation::tsp::check_timestamp(
        "TSA".into(),
        TimestampKind::Signature,
        token,
        &|_| Vec::new(),
    );
    if let Check::Failed { reason, .. } = &ev.signature {
        return Err(LtvError::Token(reason.clone()));
    }
    let leaf = ev
        .tsa_cert
        .ok_or_else(|| LtvError::Token("the token does not carry its TSA certificate".into()))?;
    Ok((leaf, ev.certificates))
}

fn label_of(cert: &[u8]) -> String {
    CertInfo::parse(cert)
        .map(|c| c.label.clone())
        .unwrap_or_else(|_| "unreadable certificate".into())
}

fn reason_of(check: &chain::CertCheck) -> String {
    check
        .errors
        .first()
        .map(|f| format!("{}: {}", f.object, f.reason))
        .or_else(|| check.sub_indication.map(|s: SubIndication| s.to_string()))
        .unwrap_or_else(|| "no path to a configured root".into())
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn is_http(url: &str) -> bool {
    let l = url.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_order_and_drops_duplicates() {
        let mut a = LtvData {
            certs: vec![vec![1], vec![2]],
            ocsps: vec![vec![9]],
            crls: vec![],
        };
        a.merge(LtvData {
            certs: vec![vec![2], vec![3]],
            ocsps: vec![vec![9]],
            crls: vec![vec![7]],
        });
        assert_eq!(a.certs, vec![vec![1], vec![2], vec![3]]);
        assert_eq!(a.ocsps, vec![vec![9]]);
        assert_eq!(a.crls, vec![vec![7]]);
        assert!(!a.is_empty());
        assert!(LtvData::default().is_empty());
        assert!(a.contains(&LtvData {
            certs: vec![vec![3]],
            ocsps: vec![],
            crls: vec![vec![7]],
        }));
        assert!(!a.contains(&LtvData {
            certs: vec![vec![4]],
            ..LtvData::default()
        }));
    }

    use crate::validation::chain::test_pki::{Opts, build, openssl_ocsp_response, write_index};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-route OCSP "responder" on loopback that answers every POST with `response` and
    /// counts the requests it saw.
    struct Canned {
        url: String,
        hits: Arc<AtomicU64>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Canned {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    async fn canned(listener: tokio::net::TcpListener, response: Vec<u8>) -> Canned {
        let url = format!("http://{}/ocsp", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicU64::new(0));
        let h = hits.clone();
        let response = Arc::new(response);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let h = h.clone();
                let response = response.clone();
                tokio::spawn(async move {
                    let mut req = Vec::new();
                    let mut buf = [0u8; 4096];
                    // Head, then as many body bytes as Content-Length says.
                    loop {
                        let Ok(n) = s.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        req.extend_from_slice(&buf[..n]);
                        let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        let head = String::from_utf8_lossy(&req[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if req.len() >= end + 4 + len {
                            break;
                        }
                    }
                    h.fetch_add(1, Ordering::SeqCst);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        response.len()
                    );
                    let _ = s.write_all(head.as_bytes()).await;
                    let _ = s.write_all(&response).await;
                });
            }
        });
        Canned { url, hits, task }
    }

    struct Setup {
        _dir: tempfile::TempDir,
        signer: Vec<u8>,
        issuer: Vec<u8>,
        response: Vec<u8>,
        listener: Option<tokio::net::TcpListener>,
        url: String,
    }

    /// A PKI whose signer names a local OCSP URL, and openssl's answer for the signer
    /// (`revoked`: revoked an hour ago). The issuing CA is the trust anchor here.
    async fn setup(revoked: bool) -> Setup {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/ocsp", listener.local_addr().unwrap());
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let mut o = Opts::new(now);
        o.ocsp_url = Some(url.clone());
        let pki = build(&o);
        let dir = tempfile::tempdir().unwrap();
        write_index(
            dir.path(),
            &pki,
            revoked.then(|| now - time::Duration::hours(1)),
        );
        let req = revocation::build_ocsp_request(&pki.signer.der, &pki.interm.der).unwrap();
        let response = openssl_ocsp_response(dir.path(), &pki, &pki.responder, &req);
        Setup {
            _dir: dir,
            signer: pki.signer.der.clone(),
            issuer: pki.interm.der.clone(),
            response,
            listener: Some(listener),
            url,
        }
    }

    fn target(cert: &[u8]) -> [Target<'_>; 1] {
        [Target {
            cert,
            usage: Usage::Signature,
        }]
    }

    #[tokio::test]
    async fn second_collection_is_served_from_the_cache() {
        let mut s = setup(false).await;
        let server = canned(s.listener.take().unwrap(), s.response.clone()).await;
        assert_eq!(server.url, s.url);
        let f = LtvFetcher::new(LtvOptions::default()).unwrap();
        let roots = vec![s.issuer.clone()];
        let data = f.collect(&target(&s.signer), &[], &roots).await.unwrap();
        assert_eq!(data.ocsps, vec![s.response.clone()]);
        assert!(data.certs.contains(&s.signer) && data.certs.contains(&s.issuer));
        // The delegated responder's certificate travels along (it signed the response).
        assert_eq!(data.certs.len(), 3, "signer, issuer, OCSP responder");
        assert_eq!(server.hits.load(Ordering::SeqCst), 1);
        for _ in 0..3 {
            let again = f.collect(&target(&s.signer), &[], &roots).await.unwrap();
            assert_eq!(again, data);
        }
        assert_eq!(server.hits.load(Ordering::SeqCst), 1, "no new fetch");
        let st = f.stats();
        assert_eq!(st.ocsp_requests, 1);
        assert_eq!(st.bundle_hits, 3);
        // Another collection (another pool) reuses the cached answer itself.
        let other = f
            .collect(&target(&s.signer), std::slice::from_ref(&s.issuer), &roots)
            .await
            .unwrap();
        assert_eq!(other.ocsps, data.ocsps);
        assert_eq!(server.hits.load(Ordering::SeqCst), 1, "no new fetch");
        assert_eq!(f.stats().cache_hits, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_collections_fetches_once() {
        let mut s = setup(false).await;
        let server = canned(s.listener.take().unwrap(), s.response.clone()).await;
        let f = Arc::new(LtvFetcher::new(LtvOptions::default()).unwrap());
        let roots = Arc::new(vec![s.issuer.clone()]);
        let signer = Arc::new(s.signer.clone());
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (f, roots, signer) = (f.clone(), roots.clone(), signer.clone());
            tasks.push(tokio::spawn(async move {
                f.collect(&target(&signer), &[], &roots).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(server.hits.load(Ordering::SeqCst), 1);
        assert_eq!(f.stats().ocsp_requests, 1);
    }

    #[tokio::test]
    async fn prefilled_cache_needs_no_network() {
        let s = setup(false).await;
        // Nothing listens: the listener is dropped.
        drop(s.listener);
        let f = LtvFetcher::new(LtvOptions::default()).unwrap();
        let roots = vec![s.issuer.clone()];
        assert!(matches!(
            f.collect(&target(&s.signer), &[], &roots).await,
            Err(LtvError::Unavailable { .. })
        ));
        f.insert_ocsp(&s.url, &s.signer, &s.issuer, s.response.clone(), &[])
            .await
            .unwrap();
        let before = f.stats().ocsp_requests;
        let data = f.collect(&target(&s.signer), &[], &roots).await.unwrap();
        assert_eq!(data.ocsps, vec![s.response.clone()]);
        assert_eq!(f.stats().ocsp_requests, before);
        // A response that does not verify is not let in.
        let mut bad = s.response.clone();
        let n = bad.len();
        bad[n - 3] ^= 0x40;
        assert!(
            f.insert_ocsp(&s.url, &s.signer, &s.issuer, bad, &[])
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn revoked_answers_fail_and_are_not_cached() {
        let mut s = setup(true).await;
        let server = canned(s.listener.take().unwrap(), s.response.clone()).await;
        let f = LtvFetcher::new(LtvOptions::default()).unwrap();
        let roots = vec![s.issuer.clone()];
        for n in 1..=2 {
            let e = f
                .collect(&target(&s.signer), &[], &roots)
                .await
                .unwrap_err();
            assert!(
                matches!(&e, LtvError::Revoked { reason, source_kind, .. }
                    if reason == "keyCompromise" && source_kind == "OCSP"),
                "{e:?}"
            );
            assert!(e.to_string().contains("refusing to seal"));
            assert_eq!(server.hits.load(Ordering::SeqCst), n);
        }
    }

    #[tokio::test]
    async fn garbage_and_size_limits_are_rejected() {
        let mut s = setup(false).await;
        let server = canned(s.listener.take().unwrap(), b"not an OCSP response".to_vec()).await;
        let f = LtvFetcher::new(LtvOptions::default()).unwrap();
        let roots = vec![s.issuer.clone()];
        let e = f
            .collect(&target(&s.signer), &[], &roots)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, LtvError::Unavailable { attempts, .. } if attempts[0].contains("rejected")),
            "{e:?}"
        );
        drop(server);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let _big = canned(listener, vec![0x30; 4096]).await;
        let f = LtvFetcher::new(LtvOptions {
            max_ocsp_bytes: 1024,
            ..LtvOptions::default()
        })
        .unwrap();
        let e = f
            .ocsp_answer(
                &format!("http://127.0.0.1:{port}/ocsp"),
                &CertInfo::parse(&s.signer).unwrap(),
                &CertInfo::parse(&s.issuer).unwrap(),
                &[],
            )
            .await
            .err()
            .unwrap();
        assert!(e.to_string().contains("larger than 1024 bytes"), "{e}");
    }
}
