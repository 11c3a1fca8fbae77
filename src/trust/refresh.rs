//! Online refresh of the trust store: fetch → load → keep last good copies → save.
//!
//! Owns: the orchestration only. The staging directory (a fresh temporary directory
//! next to the store, removed afterwards), the "last good copy stays in force" rule for
//! national lists, the LOTL rollback guard, and the [`RefreshOutcome`].
//! Must not: download (`fetch`), verify or decide list statuses (`load`), write the
//! store itself (`store`).
//!
//! Rules:
//! - The store changes only when the fetched LOTL is tied to the anchors (`load_dir`
//!   succeeds) and its sequence number is not lower than the stored LOTL's; otherwise
//!   the last good state stays in force and the refresh fails.
//! - A national list that is now not authentic (unreachable, invalid signature, unknown
//!   signer, unparseable) or older than the stored copy, while the store holds an
//!   authentic copy of that territory, is replaced by the stored copy before loading
//!   again; the copy is re-verified against the new LOTL pointer like any other file.

use std::path::Path;

use time::OffsetDateTime;

use super::anchors::OjAnchors;
use super::fetch::{FetchError, FetchLimits, FetchReport, fetch_all};
use super::load::{LoadError, LoadOptions, TrustState, load_dir};
use super::store::{StoreError, StoredList, StoredState, read_state, save_verified};

/// A national list whose stored copy was kept in force.
#[derive(Debug, Clone)]
pub struct KeptList {
    /// Territory.
    pub territory: String,
    /// Sequence number of the copy kept.
    pub sequence: u64,
    /// Why the fetched document was not used.
    pub reason: String,
}

/// A successful refresh.
#[derive(Debug)]
pub struct RefreshOutcome {
    /// The state saved.
    pub state: TrustState,
    /// What the downloads did.
    pub fetch: FetchReport,
    /// National lists kept from the previous store.
    pub kept: Vec<KeptList>,
    /// What was written.
    pub stored: StoredState,
}

/// Why a refresh failed (the store is unchanged).
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Download of the LOTL failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The fetched lists do not load (LOTL not trusted, …).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The fetched LOTL is older than the stored one.
    #[error("fetched LOTL seq {fetched} is older than the stored LOTL seq {stored}")]
    Rollback {
        /// Fetched sequence.
        fetched: u64,
        /// Stored sequence.
        stored: u64,
    },
    /// Store or staging I/O.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Staging I/O.
    #[error("staging directory {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Error.
        source: std::io::Error,
    },
    /// The blocking load task failed.
    #[error("load task failed: {0}")]
    Task(String),
    /// Another refresh of the same store is running (its lock file is fresh).
    #[error("another trusted-list refresh is running ({0} exists); try again later")]
    Busy(String),
}

/// A lock file beside the store while a refresh runs, so a CLI refresh and the `serve`
/// scheduler (or two replicas on shared storage) never write the store at the same time.
/// A lock older than [`STALE_LOCK`] is a leftover of a crash and is taken over.
struct RefreshLock {
    path: std::path::PathBuf,
}

const STALE_LOCK: std::time::Duration = std::time::Duration::from_secs(30 * 60);
const STAGING_PREFIX: &str = ".signgate-trust-staging-";

impl RefreshLock {
    fn acquire(parent: &Path, store_dir: &Path) -> Result<Self, RefreshError> {
        let name = store_dir
            .file_name()
            .map_or_else(|| "store".into(), |n| n.to_string_lossy().into_owned());
        let path = parent.join(format!(".{name}.refresh.lock"));
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(RefreshLock { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > STALE_LOCK);
                    if !stale {
                        return Err(RefreshError::Busy(path.display().to_string()));
                    }
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(io_err(&path)(e)),
            }
        }
        Err(RefreshError::Busy(path.display().to_string()))
    }
}

impl Drop for RefreshLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Removes staging directories that crashed refreshes left behind (we hold the lock, so none
/// of them is in use).
fn remove_stale_staging(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(STAGING_PREFIX) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// What [`refresh`] needs.
#[derive(Debug, Clone)]
pub struct RefreshParams {
    /// Configured LOTL URL.
    pub lotl_url: String,
    /// Store directory.
    pub store_dir: std::path::PathBuf,
    /// Download limits.
    pub limits: FetchLimits,
    /// OJ anchors.
    pub anchors: OjAnchors,
    /// Loading policy.
    pub opts: LoadOptions,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> RefreshError + '_ {
    move |source| RefreshError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// File in the store directory recording the last refresh attempt.
pub const STATUS_FILE: &str = "refresh-status.json";

/// The last refresh attempt, kept beside the store so `trust show` can say when the lists in
/// force are older than a failed attempt.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RefreshStatus {
    #[serde(with = "time::serde::rfc3339")]
    pub attempted_at: OffsetDateTime,
    pub ok: bool,
    pub error: Option<String>,
}

/// The recorded last attempt, if any.
pub fn read_status(store_dir: &Path) -> Option<RefreshStatus> {
    let raw = std::fs::read(store_dir.join(STATUS_FILE)).ok()?;
    serde_json::from_slice(&raw).ok()
}

fn write_status(store_dir: &Path, status: &RefreshStatus) {
    use std::io::Write;
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(store_dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(store_dir)?;
        tmp.write_all(&serde_json::to_vec_pretty(status).unwrap_or_default())?;
        tmp.persist(store_dir.join(STATUS_FILE))
            .map(|_| ())
            .map_err(|e| e.error)
    };
    if let Err(e) = write() {
        tracing::warn!(error = %e, "cannot record the trust refresh status");
    }
}

/// Fetches the lists, loads them at `at`, keeps last good national lists, and saves the
/// result into the store (see the module rules). The attempt's outcome is recorded in
/// [`STATUS_FILE`] either way.
pub async fn refresh(
    client: &reqwest::Client,
    p: &RefreshParams,
    at: OffsetDateTime,
) -> Result<RefreshOutcome, RefreshError> {
    let result = refresh_inner(client, p, at).await;
    write_status(
        &p.store_dir,
        &RefreshStatus {
            attempted_at: OffsetDateTime::now_utc(),
            ok: result.is_ok(),
            error: result.as_ref().err().map(ToString::to_string),
        },
    );
    result
}

async fn refresh_inner(
    client: &reqwest::Client,
    p: &RefreshParams,
    at: OffsetDateTime,
) -> Result<RefreshOutcome, RefreshError> {
    let parent = match p.store_dir.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let lock = RefreshLock::acquire(&parent, &p.store_dir)?;
    remove_stale_staging(&parent);
    let staging = tempfile::Builder::new()
        .prefix(STAGING_PREFIX)
        .tempdir_in(&parent)
        .map_err(io_err(&parent))?;
    let fetch = fetch_all(
        client,
        &p.lotl_url,
        staging.path(),
        Some(&p.store_dir),
        &p.limits,
        p.opts.include_mra,
    )
    .await?;
    let p = p.clone();
    tokio::task::spawn_blocking(move || {
        let r = load_merge_save(&p, staging.path(), at, fetch);
        drop(staging);
        drop(lock);
        r
    })
    .await
    .map_err(|e| RefreshError::Task(e.to_string()))?
}

fn load_merge_save(
    p: &RefreshParams,
    staging: &Path,
    at: OffsetDateTime,
    fetch: FetchReport,
) -> Result<RefreshOutcome, RefreshError> {
    let mut state = load_dir(staging, &p.anchors, &p.lotl_url, at, &p.opts)?;
    let previous = read_state(&p.store_dir).ok();
    if let Some(prev) = &previous
        && let Some(prev_lotl) = prev.lists.iter().find(|l| l.role == "lotl")
        && state.lotl.sequence.is_some_and(|s| s < prev_lotl.sequence)
    {
        return Err(RefreshError::Rollback {
            fetched: state.lotl.sequence.unwrap_or(0),
            stored: prev_lotl.sequence,
        });
    }

    let mut kept = Vec::new();
    if let Some(prev) = &previous {
        let mut candidates: Vec<(&StoredList, String)> = Vec::new();
        for report in &state.lists {
            let Some(old) = prev.lists.iter().find(|l| {
                l.role == "tl"
                    && l.territory.eq_ignore_ascii_case(&report.territory)
                    && l.status.is_authentic()
            }) else {
                continue;
            };
            let older = report.sequence.is_some_and(|s| s < old.sequence);
            if report.status.is_authentic() && !older {
                continue;
            }
            let why = if report.status.is_authentic() {
                format!(
                    "fetched seq {} is older than the stored seq {}",
                    report.sequence.unwrap_or(0),
                    old.sequence
                )
            } else {
                let download = fetch.tl(&report.territory).and_then(|d| match &d.outcome {
                    super::fetch::FetchOutcome::Failed { reason } => Some(reason.clone()),
                    _ => None,
                });
                match download {
                    Some(r) => format!("download failed: {r}"),
                    None => format!(
                        "fetched list is {}{}",
                        report.status,
                        report
                            .reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ),
                }
            };
            candidates.push((old, why));
        }
        if !candidates.is_empty() {
            for (old, _) in &candidates {
                // Remove the staged document(s) of that territory, stage the stored one.
                let prefix = format!("{}-tl", old.territory.to_ascii_uppercase());
                for e in std::fs::read_dir(staging)
                    .map_err(io_err(staging))?
                    .flatten()
                {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if name.to_ascii_uppercase().starts_with(&prefix) {
                        std::fs::remove_file(e.path()).map_err(io_err(&e.path()))?;
                    }
                }
                let src = p.store_dir.join(&old.file);
                let dst = staging.join(format!("{prefix}-kept.xml"));
                std::fs::copy(&src, &dst).map_err(io_err(&src))?;
            }
            state = load_dir(staging, &p.anchors, &p.lotl_url, at, &p.opts)?;
            for (old, why) in candidates {
                let now_ok = state.lists.iter().any(|l| {
                    l.territory.eq_ignore_ascii_case(&old.territory)
                        && l.status.is_authentic()
                        && l.sequence == Some(old.sequence)
                });
                if now_ok {
                    kept.push(KeptList {
                        territory: old.territory.clone(),
                        sequence: old.sequence,
                        reason: why,
                    });
                }
            }
        }
    }
    // load_dir only returns an authentic LOTL; keep the rule explicit at the write.
    if !state.lotl.status.is_authentic() {
        return Err(RefreshError::Task(format!(
            "LOTL status {}",
            state.lotl.status
        )));
    }
    let stored = save_verified(&state, &p.store_dir)?;
    Ok(RefreshOutcome {
        state,
        fetch,
        kept,
        stored,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_refresh_at_a_time_and_stale_locks_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("trust");
        let first = RefreshLock::acquire(dir.path(), &store).unwrap();
        assert!(matches!(
            RefreshLock::acquire(dir.path(), &store),
            Err(RefreshError::Busy(_))
        ));
        drop(first);
        let again = RefreshLock::acquire(dir.path(), &store).unwrap();
        // A crashed refresh's lock (old mtime) does not block forever.
        let old = std::time::SystemTime::now() - STALE_LOCK - std::time::Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&again.path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        std::mem::forget(again);
        let taken = RefreshLock::acquire(dir.path(), &store).unwrap();
        drop(taken);
        // Leftover staging directories are removed.
        let leftover = dir.path().join(format!("{STAGING_PREFIX}abc"));
        std::fs::create_dir_all(leftover.join("x")).unwrap();
        remove_stale_staging(dir.path());
        assert!(!leftover.exists());
    }
}
