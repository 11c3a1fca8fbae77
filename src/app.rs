//! The composition root: builds every service from the configuration, starts the sealing
//! workers and the scheduler, and serves HTTP (plain or TLS with client certificates).
//!
//! Owns: wiring and process lifecycle. Must not: be imported by domain modules.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_lc_rs::hmac;
use axum_extra::extract::cookie::Key;
use bytes::Bytes;
use object_store::PutMode;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::archive::blobs::{self, Blobs};
use crate::archive::spool::{Spool, SpoolError, store_once};
use crate::archive::store::Store;
use crate::config::{Config, LogFormat, Profile};
use crate::http::{self, AppState, Inner, Metrics};
use crate::identity::VerifiedIdentity;
use crate::jobs::model::Limits;
use crate::jobs::service::{JobError, JobService};
use crate::sealing::keys::{DevPkiPaths, RsaPadding, SealKey, ensure_dev_pki};
use crate::sealing::pades::{SealDocument, SealInput, SealSigner};

/// Sets up logging: text on a terminal in dev, JSON in production.
pub fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIGNGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cfg.log.filter));
    let json = cfg.log.format == LogFormat::Json || cfg.profile == Profile::Production;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Opens the store and runs migrations.
pub async fn open_store(cfg: &Config) -> Result<Store> {
    let store = Store::connect(&cfg.database.url, cfg.database.max_connections)
        .await
        .with_context(|| format!("opening database {}", redact_url(&cfg.database.url)))?;
    store.migrate().await.context("running migrations")?;
    Ok(store)
}

/// A database URL for logs and errors, without its password.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The development PKI under `keys.dir`, its leaves without a CRL distribution point.
fn dev_pki(cfg: &Config) -> Result<DevPkiPaths> {
    ensure_dev_pki(&cfg.keys.dir, Some(&dev_crl_url(cfg))).context("creating development keys")
}

/// Where the development root's CRL is served (`GET /pki/dev-root-ca.crl`, dev profile): the
/// CRL distribution point of the development seal and TSA certificates, so that what the
/// embedded default seals is long-term verifiable like a real PKI's.
pub fn dev_crl_url(cfg: &Config) -> String {
    format!(
        "{}/pki/dev-root-ca.crl",
        cfg.server.public_url.trim_end_matches('/')
    )
}

/// A fresh CRL of the development root (dev profile only).
pub fn dev_root_crl(cfg: &Config) -> Result<Vec<u8>> {
    if cfg.profile != Profile::Dev {
        bail!("the development PKI exists only in the dev profile");
    }
    let paths = dev_pki(cfg)?;
    crate::sealing::keys::dev_crl(&paths, OffsetDateTime::now_utc())
        .context("issuing the development CRL")
}

/// What the sealing workers seal with: the seal key, the time-stamping authority (configured
/// TSAs over HTTP, or the in-process development unit), the LTV fetcher with its cache, the
/// roots the seal and TSA certificates must chain to, and the spool the sealed PDFs are
/// written to.
#[derive(Clone)]
pub struct Sealer {
    pub key: Arc<SealKey>,
    pub tsa: Arc<dyn crate::sealing::tsa::Timestamper>,
    pub ltv: Arc<crate::sealing::ltv::LtvFetcher>,
    pub roots: Arc<Vec<Vec<u8>>>,
    pub spool: Arc<Spool>,
}

/// Staging objects of streamed blob uploads older than this are a dead process's leftovers.
const STALE_UPLOAD: Duration = Duration::from_secs(3600);

fn read_pem_certs(path: &Path) -> Result<Vec<Vec<u8>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    crate::trust::anchors::parse_pem_certs(&text, &path.display().to_string())
        .with_context(|| format!("reading certificates from {}", path.display()))
}

/// Builds the [`Sealer`]: TSAs from `[tsa]` (or the development unit in dev), LTV from `[ltv]`,
/// the spool (removing what a crashed process left there).
pub fn build_sealer(
    cfg: &Config,
    key: Arc<SealKey>,
    unit: Option<Arc<crate::sealing::tsa::TsaUnit>>,
    blobs: &Blobs,
) -> Result<Sealer> {
    let mut tsa_roots = match &cfg.tsa.roots_file {
        Some(f) => read_pem_certs(f)?,
        None => Vec::new(),
    };
    let tsa: Arc<dyn crate::sealing::tsa::Timestamper> = if !cfg.tsa.urls.is_empty() {
        let policy = cfg
            .tsa
            .policy
            .as_deref()
            .map(|p| {
                p.parse()
                    .map_err(|_| anyhow::anyhow!("tsa.policy {p:?} is not an OID"))
            })
            .transpose()?;
        if tsa_roots.is_empty() {
            bail!("tsa.urls is set but tsa.roots_file is not: the TSA certificates need roots");
        }
        Arc::new(
            crate::sealing::tsa::TsaClient::new(
                cfg.tsa.urls.clone(),
                policy,
                tsa_roots.clone(),
                cfg.tsa.timeout,
            )
            .map_err(|e| anyhow::anyhow!("TSA client: {e}"))?,
        )
    } else if let Some(unit) = unit {
        if let Some(root) = unit.chain_der().last() {
            tsa_roots.push(root.clone());
        }
        unit
    } else {
        bail!("no time-stamping authority: set tsa.urls (and tsa.roots_file)");
    };
    let mut roots = tsa_roots;
    if let Some(root) = key.chain_der().last()
        && !roots.contains(root)
    {
        roots.push(root.clone());
    }
    let ltv = crate::sealing::ltv::LtvFetcher::new((&cfg.ltv).into())
        .map_err(|e| anyhow::anyhow!("LTV fetcher: {e}"))?;
    let spool_dir = cfg.spool_dir();
    let (spool, removed) = Spool::open(&spool_dir).context("opening the sealing spool")?;
    if removed > 0 {
        tracing::info!(dir = %spool_dir.display(), removed, "removed spool files left by a crashed process");
    }
    let stale = blobs
        .remove_stale_uploads(STALE_UPLOAD)
        .context("removing stale blob uploads")?;
    if stale > 0 {
        tracing::info!(
            removed = stale,
            "removed blob uploads left by a crashed process"
        );
    }
    Ok(Sealer {
        key,
        tsa,
        ltv: Arc::new(ltv),
        roots: Arc::new(roots),
        spool: Arc::new(spool),
    })
}

/// The seal key: a configured PKCS#11 token key or file, or (dev only) the generated
/// development PKI.
pub fn load_seal_key(cfg: &Config) -> Result<SealKey> {
    let k = &cfg.keys;
    match (&k.seal_pkcs11, &k.seal_key_file, &k.seal_chain_file) {
        (Some(p), _, Some(c)) => SealKey::from_pkcs11(p, c, k.seal_rsa_padding)
            .with_context(|| format!("opening the seal key on PKCS#11 token {:?}", p.token_label)),
        (None, Some(f), Some(c)) => SealKey::from_files_with(f, c, k.seal_rsa_padding)
            .with_context(|| format!("loading seal key {}", f.display())),
        _ if cfg.profile == Profile::Dev => {
            let paths = dev_pki(cfg)?;
            SealKey::from_files_with(&paths.seal_key, &paths.seal_chain, k.seal_rsa_padding)
                .context("loading development seal key")
        }
        _ => bail!("no seal key configured"),
    }
}

/// The development time-stamping unit (profile `dev` with `tsa.dev_unit`), keyed from
/// `keys.tsa_pkcs11` / `keys.tsa_key_file` or else the development PKI; `None` otherwise.
pub fn load_tsa_unit(cfg: &Config) -> Result<Option<crate::sealing::tsa::TsaUnit>> {
    if !cfg.tsa.dev_unit || cfg.profile != Profile::Dev {
        return Ok(None);
    }
    let k = &cfg.keys;
    let key = match (&k.tsa_pkcs11, &k.tsa_key_file, &k.tsa_chain_file) {
        (Some(p), _, Some(c)) => SealKey::from_pkcs11(p, c, RsaPadding::Pkcs1)
            .with_context(|| format!("opening the TSA key on PKCS#11 token {:?}", p.token_label))?,
        (None, Some(f), Some(c)) => SealKey::from_files(f, c)
            .with_context(|| format!("loading the time-stamping key {}", f.display()))?,
        _ => {
            let paths = dev_pki(cfg)?;
            SealKey::from_files(&paths.tsa_key, &paths.tsa_chain)
                .context("loading the development time-stamping key")?
        }
    };
    Ok(Some(crate::sealing::tsa::TsaUnit::new(
        key,
        crate::sealing::tsa::DEV_POLICY,
    )))
}

fn secret_path(cfg: &Config) -> PathBuf {
    cfg.server
        .session_secret_file
        .clone()
        .unwrap_or_else(|| cfg.keys.dir.join("session.secret"))
}

/// The server secret behind cookies, signing URLs and dev IdP codes (≥ 32 bytes).
fn load_secret(cfg: &Config) -> Result<Vec<u8>> {
    let path = secret_path(cfg);
    if !path.exists() {
        if cfg.profile == Profile::Production {
            bail!("session secret {} does not exist", path.display());
        }
        let mut b = [0u8; 64];
        aws_lc_rs::rand::fill(&mut b).map_err(|_| anyhow::anyhow!("random generator failed"))?;
        write_private(&path, hex::encode(b).as_bytes())?;
    }
    let raw = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let trimmed: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if trimmed.len() < 32 {
        bail!("session secret {} is shorter than 32 bytes", path.display());
    }
    Ok(trimmed)
}

/// Writes a file readable by the owner only, atomically.
fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)?;
    Ok(())
}

fn derive(secret: &[u8], label: &str) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::sign(&key, label.as_bytes()).as_ref().to_vec()
}

/// The OJ anchors and loading policy the configuration asks for.
pub fn trust_setup(
    cfg: &Config,
) -> Result<(
    crate::trust::anchors::OjAnchors,
    crate::trust::load::LoadOptions,
)> {
    use crate::trust::{anchors, load::LoadOptions};
    let t = &cfg.trust;
    let anchors = match &t.anchors_file {
        Some(f) => anchors::from_pem_file(f, &t.oj_url)
            .with_context(|| format!("loading LOTL anchors {}", f.display()))?,
        None => anchors::for_oj_url(&t.oj_url).with_context(|| {
            format!(
                "no shipped LOTL signer set for trust.oj_url {:?}; set trust.anchors_file",
                t.oj_url
            )
        })?,
    };
    let opts = LoadOptions {
        use_expired: t.use_expired_lists,
        use_invalid: t.use_invalid_lists,
        include_mra: t.include_mra,
        ..LoadOptions::default()
    };
    Ok((anchors, opts))
}

/// Parameters of an online trust refresh (`signgate trust refresh`, the scheduler).
pub fn trust_refresh_params(cfg: &Config) -> Result<crate::trust::refresh::RefreshParams> {
    let (anchors, opts) = trust_setup(cfg)?;
    let t = &cfg.trust;
    Ok(crate::trust::refresh::RefreshParams {
        lotl_url: t.lotl_url.clone(),
        store_dir: t.store_dir.clone(),
        limits: crate::trust::fetch::FetchLimits {
            timeout: t.fetch_timeout,
            max_bytes: t.max_list_bytes,
            concurrency: t.fetch_concurrency.max(1),
        },
        anchors,
        opts,
    })
}

/// HTTP client for trusted-list downloads.
pub fn trust_http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("signgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client")
}

/// Everything a running gateway needs.
pub struct Services {
    pub state: AppState,
    /// `None` on a replica without sealing workers (it needs no TSA or LTV setup).
    pub sealer: Option<Sealer>,
}

pub async fn build(cfg: Config) -> Result<Services> {
    let store = open_store(&cfg).await?;
    let blobs = Blobs::local(&cfg.blobs.dir).context("opening blob store")?;
    let seal_key = Arc::new(load_seal_key(&cfg)?);
    let secret = load_secret(&cfg)?;
    let limits = Limits {
        max_signers: cfg.jobs.max_signers,
        default_expires_in_days: cfg.jobs.default_expires_in_days,
        max_expires_in_days: cfg.jobs.max_expires_in_days,
    };
    let jobs = JobService::new(
        store,
        blobs,
        limits,
        cfg.jobs.max_documents,
        cfg.public_base(),
        &derive(&secret, "signgate/signing-url"),
    );
    let mut cookie_secret = derive(&secret, "signgate/cookie-1");
    cookie_secret.extend(derive(&secret, "signgate/cookie-2"));
    // Online OCSP/CRL fetching is on in `serve` (signatures without embedded revocation
    // data can still be validated); the CLI has --offline.
    let mut validator = crate::validation::Validator::new();
    validator.fetcher = Some(Arc::new(
        crate::validation::revocation::HttpFetcher::new().context("revocation fetcher")?,
    ));
    let identity = identity_providers(&cfg).await?;
    let tsa_unit = load_tsa_unit(&cfg)?.map(Arc::new);
    let sealer = if cfg.sealing.workers > 0 {
        Some(build_sealer(
            &cfg,
            seal_key.clone(),
            tsa_unit.clone(),
            jobs.blobs(),
        )?)
    } else {
        None
    };
    let register = Arc::new(
        crate::authority::RegisterClient::new(&cfg.authority)
            .context("setting up the business-register client")?,
    );
    let state = AppState(Arc::new(Inner {
        cookie_key: Key::from(&cookie_secret),
        code_key: hmac::Key::new(hmac::HMAC_SHA256, &derive(&secret, "signgate/dev-idp")),
        jobs,
        metrics: Metrics::new(),
        config: cfg,
        trust: std::sync::RwLock::new(None),
        validator: Arc::new(validator),
        identity,
        tsa_unit,
        register,
        preview_counts: moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(std::time::Duration::from_secs(60))
            .build(),
    }));
    Ok(Services { state, sealer })
}

/// The configured identity providers: ID-porten discovery and the eIDAS node's metadata are
/// fetched and verified now, so a misconfigured provider stops the start with a clear error
/// instead of failing signers later.
async fn identity_providers(cfg: &Config) -> Result<crate::identity::Providers> {
    let base = cfg.public_base();
    let oidc = match &cfg.idporten {
        Some(op) => {
            let p = crate::identity::oidc::OidcProvider::new(op, format!("{base}/oidc/callback"))
                .await
                .with_context(|| format!("ID-porten at {}", op.issuer))?;
            tracing::info!(issuer = %op.issuer, par = op.use_par, "ID-porten configured");
            Some(Arc::new(p))
        }
        None => None,
    };
    let saml = match (&cfg.eidas, cfg.sp_entity_id()) {
        (Some(e), Some(entity_id)) => {
            let sp = crate::identity::saml::SamlSp::load(e, entity_id, format!("{base}/saml/acs"))
                .await
                .context("eIDAS node metadata")?;
            tracing::info!(idp = %sp.idp().entity_id, "eIDAS node configured");
            Some(Arc::new(sp))
        }
        _ => None,
    };
    Ok(crate::identity::Providers {
        idporten_eidas: cfg.idporten.as_ref().is_some_and(|o| o.eidas_login),
        oidc,
        saml,
        dev: cfg.dev_idp.enabled,
    })
}

/// Seals one job that all signers have signed. The sealed PDF is written create-only, so two
/// workers racing on one job (a lease that ran out) end with one and the same document.
/// Why one sealing attempt failed: worth retrying (storage, TSA, revocation sources), or not
/// (the job's content cannot be sealed as it is).
#[derive(Debug)]
enum SealFailure {
    Retry(String),
    GiveUp(String),
}

impl SealFailure {
    fn message(&self) -> &str {
        match self {
            SealFailure::Retry(m) | SealFailure::GiveUp(m) => m,
        }
    }
}

impl From<String> for SealFailure {
    fn from(m: String) -> Self {
        SealFailure::Retry(m)
    }
}

impl From<&str> for SealFailure {
    fn from(m: &str) -> Self {
        SealFailure::Retry(m.to_string())
    }
}

impl From<SpoolError> for SealFailure {
    fn from(e: SpoolError) -> Self {
        SealFailure::Retry(format!("storing the sealed document: {e}"))
    }
}

impl From<crate::sealing::SealError> for SealFailure {
    fn from(e: crate::sealing::SealError) -> Self {
        use crate::sealing::SealError as E;
        match e {
            E::Document { .. } | E::NoDocuments | E::Page(_) | E::SignatureTooLarge { .. } => {
                SealFailure::GiveUp(e.to_string())
            }
            _ => SealFailure::Retry(e.to_string()),
        }
    }
}

/// Reads `key` from the blob store, or else makes it with `make` and stores it create-only:
/// two workers racing on one job (a lease that ran out) end with the same object, and a
/// retry after a crash reuses what was stored before it.
async fn once<F, Fut>(blobs: &Blobs, key: &str, make: F) -> Result<Bytes, SealFailure>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<u8>, SealFailure>>,
{
    if let Some(b) = blobs.get_opt(key).await.map_err(|e| e.to_string())? {
        return Ok(b);
    }
    let made = Bytes::from(make().await?);
    match blobs.put_mode(key, made.clone(), PutMode::Create).await {
        Ok(()) => Ok(made),
        Err(e) if e.already_exists() => Ok(blobs.get(key).await.map_err(|e| e.to_string())?),
        Err(e) => Err(e.to_string().into()),
    }
}

impl From<crate::sealing::xades::XadesError> for SealFailure {
    fn from(e: crate::sealing::xades::XadesError) -> Self {
        use crate::sealing::xades::XadesError as E;
        match e {
            E::Input(_) | E::Dsig(_) => SealFailure::GiveUp(format!("evidence record: {e}")),
            _ => SealFailure::Retry(format!("evidence record: {e}")),
        }
    }
}

/// Seals one job that all signers have signed: per signer the XAdES-BASELINE-LTA evidence
/// record, then the job's PAdES-BASELINE-LTA with the evidence records embedded. Every
/// product is written create-only before the job is completed, so a crash at any point loses
/// nothing and a retry never produces a second, different document.
async fn seal_job(state: &AppState, sealer: &Sealer, job_id: &str) -> Result<(), SealFailure> {
    use crate::sealing::evidence::{self, EvidenceRecord};
    use crate::sealing::pades::{AfRelationship, Attachment};
    let jobs = &state.jobs;
    let (job, _) = jobs
        .store()
        .job(None, job_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("job vanished")?;
    let org = jobs
        .store()
        .org_by_id(&job.org_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("organisation vanished")?;
    let blob_key = blobs::sealed_key(job_id);

    // 1. The evidence record of every signer.
    let mut attachments = Vec::with_capacity(job.signers.len());
    for s in &job.signers {
        let xml = once(
            jobs.blobs(),
            &blobs::evidence_key(job_id, &s.id),
            || async {
                let mut record = EvidenceRecord::for_signer(
                    &job,
                    evidence::Sender {
                        name: org.name.clone(),
                        orgnr: org.orgnr.clone(),
                    },
                    &s.id,
                )
                .map_err(|e| SealFailure::GiveUp(format!("evidence record: {e}")))?;
                record.gateway = Some(state.config.server.public_url.clone());
                // The business-register answers the signer's authority rested on.
                if let Some(json) = &s.authority_json {
                    let snapshot = crate::jobs::authority::AuthorityRecord::from_json(json)
                        .and_then(|r| r.snapshot())
                        .map_err(|e| {
                            SealFailure::GiveUp(format!("signer {}: {e}", s.position + 1))
                        })?;
                    record.register = Some(snapshot);
                }
                Ok(evidence::seal_record(
                    &record,
                    &sealer.key,
                    sealer.tsa.as_ref(),
                    &sealer.ltv,
                    &sealer.roots,
                    OffsetDateTime::now_utc(),
                )
                .await?)
            },
        )
        .await?;
        attachments.push(Attachment {
            name: format!("evidence-signer-{}.xml", s.position + 1),
            mime: "application/xml".into(),
            description: format!(
                "XAdES-sealed evidence record of signer {} ({})",
                s.position + 1,
                evidence::NAMESPACE
            ),
            relationship: AfRelationship::Supplement,
            bytes: xml.to_vec(),
        });
    }

    // 2. The job's PAdES, sealed into a spool file and stored from there create-only (an
    // earlier attempt's document is kept): neither the sealed file nor a second copy of the
    // inputs is held in memory.
    let sha = store_once(jobs.blobs(), &sealer.spool, &blob_key, move |mut file| async move {
        let mut documents = Vec::with_capacity(job.documents.len());
        for (i, d) in job.documents.iter().enumerate() {
            // The sender reads this reason; the storage detail (paths) goes to the log only.
            let bytes = jobs.blobs().get(&d.blob_key).await.map_err(|e| {
                tracing::warn!(job = %job_id, document = i + 1, error = %e, "cannot read a document to seal");
                format!("document {} could not be read from storage", i + 1)
            })?;
            documents.push(SealDocument {
                title: d.title.clone(),
                // Takes the buffer over (no copy: the blob was read into a buffer of its own).
                bytes: Vec::from(bytes),
            });
        }
        let mut signers = Vec::with_capacity(job.signers.len());
        for s in &job.signers {
            let ident: VerifiedIdentity = s
                .identity_json
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok())
                .ok_or_else(|| {
                    SealFailure::GiveUp(format!(
                        "signer {} has no recorded identity",
                        s.position + 1
                    ))
                })?;
            signers.push(SealSigner {
                name: ident.name.clone(),
                identifier: ident.display_identifier(),
                idp: ident.idp.label().to_string(),
                loa: ident.loa.as_str().to_string(),
                signed_at: s.status_at,
            });
        }
        let input = SealInput {
            job_id: job.id.clone(),
            title: job.title.clone(),
            sender_name: org.name.clone(),
            sender_orgnr: org.orgnr.clone(),
            documents,
            signers,
            sealed_at: OffsetDateTime::now_utc(),
            attachments,
        };
        crate::sealing::pades::seal_lta_into(
            &input,
            &sealer.key,
            sealer.tsa.as_ref(),
            &sealer.ltv,
            &sealer.roots,
            file.file_mut(),
        )
        .await?;
        Ok::<_, SealFailure>(file)
    })
    .await?;

    match jobs
        .complete_sealed(job_id, &blob_key, &sha, OffsetDateTime::now_utc())
        .await
    {
        Ok(_) => {
            state.metrics.seals.inc();
            tracing::info!(job = %job_id, "job sealed and completed");
            Ok(())
        }
        // Another worker recorded it first: nothing more to do.
        Err(JobError::Refused(r)) => {
            tracing::info!(job = %job_id, reason = %r, "job already finished");
            Ok(())
        }
        Err(e) => Err(e.to_string().into()),
    }
}

async fn seal_worker(
    state: AppState,
    sealer: Sealer,
    n: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let owner = format!("{}-{n}", uuid::Uuid::new_v4());
    let cfg = &state.config.sealing;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = OffsetDateTime::now_utc();
        match state.jobs.store().claim_seal(&owner, now, cfg.lease).await {
            Ok(Some((job_id, attempts))) => {
                if let Err(failure) = seal_job(&state, &sealer, &job_id).await {
                    state.metrics.seal_failures.inc();
                    let exhausted = u32::try_from(attempts).unwrap_or(u32::MAX) >= cfg.max_attempts;
                    match failure {
                        SealFailure::Retry(e) if !exhausted => {
                            let backoff = Duration::from_secs(2u64.saturating_pow(
                                u32::try_from(attempts.clamp(1, 30)).unwrap_or(30),
                            ))
                            .min(cfg.max_backoff);
                            tracing::warn!(job = %job_id, attempts, error = %e, "sealing failed; will retry");
                            let retry = OffsetDateTime::now_utc() + backoff;
                            if let Err(e) = state
                                .jobs
                                .store()
                                .seal_failed(&job_id, &owner, &e, retry)
                                .await
                            {
                                tracing::error!(error = %e, "cannot record sealing failure");
                            }
                        }
                        failure => {
                            let reason = failure.message();
                            tracing::error!(job = %job_id, attempts, error = %reason, "sealing gave up; the job fails");
                            match state
                                .jobs
                                .sealing_failed(&job_id, reason, OffsetDateTime::now_utc())
                                .await
                            {
                                Ok(_) | Err(JobError::Refused(_)) => {}
                                Err(e) => {
                                    tracing::error!(error = %e, "cannot record the sealing failure");
                                }
                            }
                        }
                    }
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "cannot poll the sealing queue"),
        }
        tokio::select! {
            _ = tokio::time::sleep(cfg.poll_interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}

async fn expiry_scheduler(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let every = state
        .config
        .jobs
        .expiry_interval
        .max(Duration::from_secs(1));
    loop {
        match state.jobs.expire_due(OffsetDateTime::now_utc()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "expired jobs past their deadline"),
            Err(e) => tracing::error!(error = %e, "expiry run failed"),
        }
        // Ended sessions and hand-offs go; remembered SAML assertions stay a grace period
        // past their expiry (the clock skew they may have been accepted with).
        let grace = time::Duration::minutes(10);
        if let Err(e) = state
            .jobs
            .store()
            .purge_logins(OffsetDateTime::now_utc(), grace)
            .await
        {
            tracing::error!(error = %e, "purging expired logins failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Fetches the eIDAS node's metadata again every `eidas.metadata_refresh`; a failed refresh
/// keeps the verified metadata in force (until its own `validUntil`).
async fn saml_metadata_refresher(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let (Some(sp), Some(cfg)) = (state.identity.saml.clone(), state.config.eidas.as_ref()) else {
        return;
    };
    let every = cfg.metadata_refresh.max(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        match sp.refresh_metadata().await {
            Ok(()) => tracing::info!("eIDAS node metadata refreshed"),
            Err(e) => {
                tracing::warn!(error = %e, "eIDAS node metadata refresh failed; keeping the last verified copy")
            }
        }
    }
}

fn set_trust_status(state: &AppState, f: impl FnOnce(&mut http::TrustRefreshStatus)) {
    if let Ok(mut t) = state.metrics.trust_refresh.lock() {
        f(&mut t);
    }
}

/// Puts a verified trust state in force (the registry `validation` asks), replacing the old
/// one whole.
fn install_trust(state: &AppState, trust: Arc<crate::trust::load::TrustState>) {
    let (seq, services) = (trust.lotl.sequence, trust.registry.len());
    if let Ok(mut slot) = state.trust.write() {
        *slot = Some(trust);
    }
    set_trust_status(state, |t| {
        t.lotl_sequence = seq;
        t.services = services;
    });
}

/// The stored trusted lists, re-verified at `at`; `None` when nothing is stored yet.
pub fn stored_trust(
    cfg: &Config,
    at: OffsetDateTime,
) -> Result<Option<crate::trust::load::TrustState>> {
    let (anchors, opts) = trust_setup(cfg)?;
    let t = &cfg.trust;
    if crate::trust::store::read_state(&t.store_dir).is_err() {
        return Ok(None);
    }
    let (state, _) =
        crate::trust::store::load_store(&t.store_dir, &anchors, &t.lotl_url, at, &opts)
            .context("loading the stored trusted lists")?;
    Ok(Some(state))
}

/// Puts what the trusted-list store holds into force at startup (re-verified off the async
/// runtime), so a restart works offline, whether or not the scheduler runs.
async fn load_stored_trust(state: AppState) {
    let cfg = state.config.clone();
    let at = OffsetDateTime::now_utc();
    match tokio::task::spawn_blocking(move || stored_trust(&cfg, at)).await {
        Ok(Ok(Some(trust))) => install_trust(&state, Arc::new(trust)),
        Ok(Ok(None)) => {}
        Ok(Err(e)) => tracing::warn!(error = %format!("{e:#}"), "stored trusted lists do not load"),
        Err(e) => tracing::warn!(error = %e, "loading stored trusted lists failed"),
    }
}

/// Refreshes the trusted lists every `trust.refresh_interval` (the first run right away
/// only when the store is empty or older than the interval). Never blocks startup;
/// failures are logged, counted and shown in `/health`.
async fn trust_scheduler(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let every = state
        .config
        .trust
        .refresh_interval
        .max(Duration::from_secs(1));
    let store_dir = state.config.trust.store_dir.clone();
    let saved = crate::trust::store::read_state(&store_dir)
        .ok()
        .map(|s| s.saved);
    set_trust_status(&state, |t| t.last_refresh = saved);
    let mut wait = saved.map_or(Duration::ZERO, |s| {
        let age = OffsetDateTime::now_utc() - s;
        let age = Duration::try_from(age).unwrap_or(Duration::ZERO);
        every.saturating_sub(age)
    });
    let setup =
        trust_refresh_params(&state.config).and_then(|p| trust_http_client().map(|c| (p, c)));
    let (params, client) = match setup {
        Ok(x) => x,
        Err(e) => {
            let msg = format!("{e:#}");
            tracing::error!(error = %msg, "trusted-list refresh disabled");
            state.metrics.trust_refresh_failures.inc();
            set_trust_status(&state, |t| t.last_error = Some(msg));
            return;
        }
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        let refresh = crate::trust::refresh::refresh(&client, &params, OffsetDateTime::now_utc());
        let result = tokio::select! {
            r = refresh => r,
            _ = shutdown.changed() => return,
        };
        match result {
            Ok(out) => {
                tracing::info!(
                    lotl_sequence = ?out.state.lotl.sequence,
                    failed_downloads = out.fetch.failures().count(),
                    kept = out.kept.len(),
                    "trusted lists refreshed"
                );
                for a in &out.state.alerts {
                    tracing::warn!(alert = %a, "trusted-list alert");
                }
                for k in &out.kept {
                    tracing::warn!(territory = %k.territory, sequence = k.sequence, reason = %k.reason, "last good trusted list kept in force");
                }
                set_trust_status(&state, |t| {
                    t.last_refresh = Some(out.stored.saved);
                    t.last_error = None;
                });
                install_trust(&state, Arc::new(out.state));
            }
            Err(e) => {
                let msg = e.to_string();
                tracing::error!(error = %msg, "trusted-list refresh failed; the stored lists stay in force");
                state.metrics.trust_refresh_failures.inc();
                set_trust_status(&state, |t| t.last_error = Some(msg));
            }
        }
        wait = every;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// The signer-notification worker with the channels `[notify.smtp]` and `[notify.sms]`
/// configure (a channel that is configured but cannot be set up stops the start).
pub fn notification_worker(state: &AppState) -> Result<crate::notify::outbox::Worker> {
    let cfg = &state.config;
    let n = &cfg.notify;
    let host = reqwest::Url::parse(cfg.public_base())
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "localhost".into());
    let email = n
        .smtp
        .as_ref()
        .map(|c| crate::notify::email::Mailer::new(c, &host))
        .transpose()
        .context("setting up e-mail notifications")?;
    let sms = n
        .sms
        .as_ref()
        .map(crate::notify::sms::SmsGateway::new)
        .transpose()
        .context("setting up SMS notifications")?;
    tracing::info!(
        email = email.is_some(),
        sms = sms.is_some(),
        "signer notifications"
    );
    let jobs = state.jobs.clone();
    Ok(crate::notify::outbox::Worker::new(
        state.jobs.store().clone(),
        crate::notify::outbox::Channels { email, sms },
        crate::notify::outbox::Settings {
            max_attempts: n.max_attempts,
            retry_base: n.retry_base,
            retry_max: n.retry_max,
            poll_interval: n.poll_interval,
            lease: n
                .smtp
                .as_ref()
                .map_or(Duration::from_secs(60), |s| s.timeout * 4)
                + Duration::from_secs(60),
        },
        Arc::new(move |signer_id: &str| jobs.signing_url_for(signer_id)),
    ))
}

/// Runs the gateway until SIGINT/SIGTERM.
pub async fn serve(cfg: Config) -> Result<()> {
    let listen = cfg.server.listen;
    let tls = match (&cfg.server.tls_cert, &cfg.server.tls_key) {
        (Some(cert), Some(key)) => Some(http::tls::TlsSettings {
            cert_file: cert.clone(),
            key_file: key.clone(),
            client_ca_file: cfg.server.client_ca.clone(),
        }),
        _ => None,
    };
    let services = build(cfg).await?;
    let state = services.state.clone();
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    if let Some(sealer) = &services.sealer {
        for n in 0..state.config.sealing.workers {
            tasks.push(tokio::spawn(seal_worker(
                state.clone(),
                sealer.clone(),
                n,
                rx.clone(),
            )));
        }
    }
    tasks.push(tokio::spawn(expiry_scheduler(state.clone(), rx.clone())));
    if state.identity.saml.is_some() {
        tasks.push(tokio::spawn(saml_metadata_refresher(
            state.clone(),
            rx.clone(),
        )));
    }
    tasks.push(tokio::spawn(load_stored_trust(state.clone())));
    if !state.config.trust.refresh_interval.is_zero() {
        tasks.push(tokio::spawn(trust_scheduler(state.clone(), rx.clone())));
    }
    let n = &state.config.notify;
    let webhooks = crate::notify::webhook::WebhookSettings {
        timeout: n.webhook_timeout,
        max_attempts: n.webhook_max_attempts.max(1),
        allow_private_destinations: state.config.allow_private_webhooks(),
        poll_interval: n.webhook_poll_interval,
    };
    for _ in 0..n.webhook_workers {
        tasks.push(tokio::spawn(crate::notify::webhook::run(
            state.jobs.store().clone(),
            webhooks.clone(),
            rx.clone(),
        )));
    }
    if n.workers > 0 {
        let worker = notification_worker(&state)?;
        for _ in 0..n.workers {
            tasks.push(tokio::spawn(worker.clone().run(rx.clone())));
        }
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, profile = ?state.config.profile, "signgate listening");
    // Tests and scripts read this line to find a port chosen with --listen 127.0.0.1:0.
    println!("signgate listening on {scheme}://{addr}");
    let app = http::router(state.clone());
    let stop = {
        let tx = tx.clone();
        async move {
            shutdown_signal().await;
            let _ = tx.send(true);
        }
    };
    match tls {
        Some(t) => {
            let config = http::tls::server_config(&t)?;
            http::tls::serve(listener, config, app, stop).await?;
        }
        None => {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(stop)
            .await?;
        }
    }
    let _ = tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// `signgate tsa serve`: the development time-stamping unit on its own, at `POST /` and
/// `POST /tsa`, for tools and other services that want a local RFC 3161 TSA. Refused outside
/// the `dev` profile, like the in-process unit.
pub async fn serve_tsa(cfg: Config, listen: std::net::SocketAddr) -> Result<()> {
    if cfg.profile != Profile::Dev {
        bail!(
            "the development time-stamping unit refuses to run in the {:?} profile",
            cfg.profile
        );
    }
    let mut cfg = cfg;
    cfg.tsa.dev_unit = true;
    let unit = Arc::new(load_tsa_unit(&cfg)?.context("no development time-stamping unit")?);
    async fn answer(
        axum::extract::State(unit): axum::extract::State<Arc<crate::sealing::tsa::TsaUnit>>,
        headers: axum::http::HeaderMap,
        body: Bytes,
    ) -> axum::response::Response {
        http::tsa::answer(&unit, &headers, &body).await
    }
    let app = axum::Router::new()
        .route("/", axum::routing::post(answer))
        .route("/tsa", axum::routing::post(answer))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::sealing::tsa::MAX_REQUEST,
        ))
        .with_state(unit);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "development time-stamping unit listening");
    println!("signgate tsa listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}
