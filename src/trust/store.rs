//! On-disk store of the last verified trust state, so a restart can rebuild the
//! [`TrustState`] offline.
//!
//! Owns: writing the verified LOTL, the pivots walked and the national list XML bytes
//! plus a small `state.json` (statuses, alerts, validation time, save time) into a store
//! directory, each file atomically (temp file in the same directory + rename), and
//! reading it back by re-verifying the stored files with [`load_dir`].
//! Must not touch: fetching, verification rules (it re-runs `load_dir`, trusting
//! nothing it wrote).

use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::anchors::OjAnchors;
use super::bootstrap::Alert;
use super::load::{LoadError, LoadOptions, TrustState, load_dir};
use super::status::ListStatus;

/// File name of the state summary.
pub const STATE_FILE: &str = "state.json";

/// One stored list in `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredList {
    /// `lotl`, `pivot`, `tl`.
    pub role: String,
    /// Territory.
    pub territory: String,
    /// Sequence number.
    pub sequence: u64,
    /// Status at save time.
    pub status: ListStatus,
    /// File name in the store.
    pub file: String,
}

/// Content of `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredState {
    /// Validation time of the saved state.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// When the state was saved.
    #[serde(with = "time::serde::rfc3339")]
    pub saved: OffsetDateTime,
    /// Stored lists.
    pub lists: Vec<StoredList>,
    /// Alerts at save time.
    pub alerts: Vec<Alert>,
}

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// I/O.
    #[error("store I/O on {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Error.
        source: std::io::Error,
    },
    /// `state.json` unreadable.
    #[error("store state file invalid: {0}")]
    State(String),
    /// Re-verification of the stored files failed.
    #[error("stored lists do not load: {0}")]
    Load(#[from] LoadError),
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `bytes` to `dir/name` atomically (temp file in `dir`, fsync, rename).
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let target = dir.join(name);
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(io_err(dir))?;
    tmp.write_all(bytes).map_err(io_err(&target))?;
    tmp.as_file().sync_all().map_err(io_err(&target))?;
    tmp.persist(&target).map_err(|e| io_err(&target)(e.error))?;
    Ok(())
}

/// Saves the documents of `state` (LOTL, pivots used, national lists that parsed)
/// and `state.json` into `store_dir` (created if needed). XML files of an older state
/// that are not part of this one are removed; `state.json` is written last.
pub fn save_verified(state: &TrustState, store_dir: &Path) -> Result<StoredState, StoreError> {
    std::fs::create_dir_all(store_dir).map_err(io_err(store_dir))?;
    let mut lists = Vec::new();
    for d in &state.documents {
        let file = match d.role {
            "lotl" => "eu-lotl.xml".to_string(),
            "pivot" => format!("eu-lotl-pivot-{}.xml", d.sequence),
            _ => format!(
                "{}.xml",
                d.territory
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
            ),
        };
        if lists.iter().any(|l: &StoredList| l.file == file) {
            continue;
        }
        write_atomic(store_dir, &file, &d.bytes)?;
        lists.push(StoredList {
            role: d.role.to_string(),
            territory: d.territory.clone(),
            sequence: d.sequence,
            status: d.status,
            file,
        });
    }
    // Remove stale lists (a restart must not pick up an old LOTL or TL).
    for e in std::fs::read_dir(store_dir)
        .map_err(io_err(store_dir))?
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.to_ascii_lowercase().ends_with(".xml") && !lists.iter().any(|l| l.file == name) {
            std::fs::remove_file(e.path()).map_err(io_err(&e.path()))?;
        }
    }
    let stored = StoredState {
        at: state.at,
        saved: OffsetDateTime::now_utc(),
        lists,
        alerts: state.alerts.clone(),
    };
    let json = serde_json::to_vec_pretty(&stored).map_err(|e| StoreError::State(e.to_string()))?;
    write_atomic(store_dir, STATE_FILE, &json)?;
    Ok(stored)
}

/// Reads `state.json` of a store.
pub fn read_state(store_dir: &Path) -> Result<StoredState, StoreError> {
    let p = store_dir.join(STATE_FILE);
    let bytes = std::fs::read(&p).map_err(io_err(&p))?;
    serde_json::from_slice(&bytes).map_err(|e| StoreError::State(e.to_string()))
}

/// Rebuilds the trust state from a store by re-verifying the stored files at `at`
/// (pass `read_state(dir)?.at` to reproduce the saved evaluation).
pub fn load_store(
    store_dir: &Path,
    anchors: &OjAnchors,
    lotl_url: &str,
    at: OffsetDateTime,
    opts: &LoadOptions,
) -> Result<(TrustState, StoredState), StoreError> {
    let stored = read_state(store_dir)?;
    let state = load_dir(store_dir, anchors, lotl_url, at, opts)?;
    Ok((state, stored))
}
