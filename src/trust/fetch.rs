//! Downloading the LOTL, its pivots and the national trusted lists into a staging
//! directory that [`crate::trust::load::load_dir`] can read.
//!
//! Owns: the HTTP GETs (timeout and size limit enforced while streaming, bounded
//! concurrency), the conditional-GET cache (`ETag` / `Last-Modified` per URL plus the
//! last body received, kept under `<store>/.http-cache/`), the staging file names
//! (`lotl.xml`, pivots by their URL file name, `<CC>-tl.xml`), progress on a terminal,
//! and the [`FetchReport`].
//! Must not: verify signatures or decide trust. The LOTL is parsed only to read its
//! pointers and pivot URLs; everything written here is re-verified by `load_dir`.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt as _;
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use serde::{Deserialize, Serialize};

use super::bootstrap::{pivot_urls, resolve_location};
use super::tsl::parse_bytes;

/// Limits applied to every download.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    /// Whole-request timeout (connect, headers and body).
    pub timeout: Duration,
    /// Largest accepted body, in bytes.
    pub max_bytes: u64,
    /// Downloads in flight at once (at least 1).
    pub concurrency: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_bytes: 32 * 1024 * 1024,
            concurrency: 8,
        }
    }
}

/// What happened to one URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FetchOutcome {
    /// A body was received (`bytes` long).
    Downloaded {
        /// Body length.
        bytes: u64,
    },
    /// `304 Not Modified`, or the published `.sha2` digest equals the cached body's: the
    /// cached body was staged.
    NotModified,
    /// Nothing staged.
    Failed {
        /// Why (timeout, too large, HTTP status, connection error).
        reason: String,
    },
}

impl FetchOutcome {
    /// `true` unless [`FetchOutcome::Failed`].
    pub fn is_ok(&self) -> bool {
        !matches!(self, Self::Failed { .. })
    }
}

/// One downloaded (or not) document.
#[derive(Debug, Clone, Serialize)]
pub struct FetchedDoc {
    /// `lotl`, `pivot` or `tl`.
    pub role: &'static str,
    /// Territory of the pointer (`EU` for the LOTL and pivots).
    pub territory: String,
    /// URL requested.
    pub url: String,
    /// File name in the staging directory (also when the download failed).
    pub file: String,
    /// Outcome.
    #[serde(flatten)]
    pub outcome: FetchOutcome,
}

/// Result of [`fetch_all`].
#[derive(Debug, Clone, Serialize)]
pub struct FetchReport {
    /// The LOTL (always staged when `fetch_all` returns `Ok`).
    pub lotl: FetchedDoc,
    /// Pivots and national lists, in LOTL order (pivots first).
    pub documents: Vec<FetchedDoc>,
}

impl FetchReport {
    /// The failed downloads.
    pub fn failures(&self) -> impl Iterator<Item = &FetchedDoc> {
        self.documents.iter().filter(|d| !d.outcome.is_ok())
    }

    /// The national list download of `territory`, if the LOTL points to one.
    pub fn tl(&self, territory: &str) -> Option<&FetchedDoc> {
        self.documents
            .iter()
            .find(|d| d.role == "tl" && d.territory.eq_ignore_ascii_case(territory))
    }
}

/// Why nothing could be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The LOTL download failed.
    #[error("cannot download the LOTL {url}: {reason}")]
    Lotl {
        /// URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The LOTL does not parse (its pointers cannot be read).
    #[error("the LOTL from {url} does not parse: {reason}")]
    LotlUnparseable {
        /// URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Staging or cache I/O.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Error.
        source: std::io::Error,
    },
}

/// Directory of the conditional-GET cache inside the store directory.
pub const CACHE_DIR: &str = ".http-cache";
const CACHE_INDEX: &str = "index.json";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CacheEntry {
    etag: Option<String>,
    last_modified: Option<String>,
    /// Body file in the cache directory.
    body: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CacheIndex {
    entries: BTreeMap<String, CacheEntry>,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn body_name(url: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, url.as_bytes());
    format!("{}.body", hex::encode(&d.as_ref()[..16]))
}

struct Cache {
    dir: Option<PathBuf>,
    index: CacheIndex,
}

impl Cache {
    fn open(previous: Option<&Path>) -> Self {
        let dir = previous.map(|p| p.join(CACHE_DIR));
        let index = dir
            .as_ref()
            .and_then(|d| std::fs::read(d.join(CACHE_INDEX)).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Self { dir, index }
    }

    /// The cached entry for `url`, only if its body is still there.
    fn entry(&self, url: &str) -> Option<(CacheEntry, PathBuf)> {
        let dir = self.dir.as_ref()?;
        let e = self.index.entries.get(url)?;
        let body = dir.join(&e.body);
        body.is_file().then(|| (e.clone(), body))
    }

    fn record(
        &mut self,
        url: &str,
        etag: Option<String>,
        last_modified: Option<String>,
        body: &[u8],
    ) {
        let Some(dir) = &self.dir else { return };
        if etag.is_none() && last_modified.is_none() {
            self.index.entries.remove(url);
            return;
        }
        let name = body_name(url);
        if std::fs::create_dir_all(dir).is_err() || std::fs::write(dir.join(&name), body).is_err() {
            self.index.entries.remove(url);
            return;
        }
        self.index.entries.insert(
            url.to_string(),
            CacheEntry {
                etag,
                last_modified,
                body: name,
            },
        );
    }

    /// Forgets the URLs not requested in this run (lists the LOTL no longer points to).
    fn retain(&mut self, requested: &[&str]) {
        let Some(dir) = &self.dir else { return };
        self.index.entries.retain(|url, e| {
            let keep = requested.contains(&url.as_str());
            if !keep {
                let _ = std::fs::remove_file(dir.join(&e.body));
            }
            keep
        });
    }

    fn save(&self) {
        let Some(dir) = &self.dir else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if let Ok(json) = serde_json::to_vec_pretty(&self.index) {
            let tmp = dir.join(format!("{CACHE_INDEX}.tmp"));
            if std::fs::write(&tmp, json).is_ok() {
                let _ = std::fs::rename(&tmp, dir.join(CACHE_INDEX));
            }
        }
    }
}

/// What a single GET produced.
enum Got {
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    NotModified,
}

fn header(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn get_inner(
    client: &reqwest::Client,
    url: &str,
    cached: Option<&CacheEntry>,
    limits: &FetchLimits,
) -> Result<Got, String> {
    let mut req = client.get(url).timeout(limits.timeout);
    if let Some(c) = cached {
        if let Some(e) = &c.etag {
            req = req.header(IF_NONE_MATCH, e);
        }
        if let Some(m) = &c.last_modified {
            req = req.header(IF_MODIFIED_SINCE, m);
        }
    }
    let mut resp = req.send().await.map_err(|e| describe(&e))?;
    let status = resp.status();
    if status == StatusCode::NOT_MODIFIED && cached.is_some() {
        return Ok(Got::NotModified);
    }
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    if let Some(len) = resp.content_length()
        && len > limits.max_bytes
    {
        return Err(format!(
            "too large: {len} bytes announced, limit {}",
            limits.max_bytes
        ));
    }
    let etag = header(&resp, ETAG);
    let last_modified = header(&resp, LAST_MODIFIED);
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| describe(&e))? {
        if bytes.len() as u64 + chunk.len() as u64 > limits.max_bytes {
            return Err(format!("too large: more than {} bytes", limits.max_bytes));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Got::Body {
        bytes,
        etag,
        last_modified,
    })
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".to_string()
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(c) = src {
            s.push_str(": ");
            s.push_str(&c.to_string());
            src = c.source();
        }
        s
    }
}

/// One GET with the whole-request timeout enforced here too (the body included).
async fn get(
    client: &reqwest::Client,
    url: &str,
    cached: Option<&CacheEntry>,
    limits: &FetchLimits,
) -> Result<Got, String> {
    // Slightly longer than the request timeout so reqwest's own (more precise) error
    // wins when it fires.
    let bound = limits.timeout + Duration::from_millis(250);
    match tokio::time::timeout(bound, get_inner(client, url, cached, limits)).await {
        Ok(r) => r,
        Err(_) => Err("timeout".into()),
    }
}

struct Job {
    role: &'static str,
    territory: String,
    url: String,
    file: String,
}

/// Staging file name of a pivot: its URL file name when that is a plain `.xml` name
/// (pivots are matched by sequence number or by that name), else `pivot-<i>.xml`.
fn pivot_file(url: &str, i: usize) -> String {
    let base = url.rsplit('/').next().unwrap_or("");
    let plain = base.to_ascii_lowercase().ends_with(".xml")
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !base.starts_with('.');
    if plain && !base.eq_ignore_ascii_case("lotl.xml") {
        base.to_string()
    } else {
        format!("pivot-{i}.xml")
    }
}

/// Staging file name of a national list: `<CC>-tl.xml` (the loader maps an unreadable
/// file to its territory by this prefix).
fn tl_file(territory: &str, taken: &mut Vec<String>) -> String {
    let cc: String = territory
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase();
    let cc = if cc.is_empty() { "XX".into() } else { cc };
    let mut name = format!("{cc}-tl.xml");
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{cc}-tl-{n}.xml");
        n += 1;
    }
    taken.push(name.clone());
    name
}

fn progress(msg: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("{msg}");
    }
}

/// Downloads the LOTL at `lotl_url`, then its pivots and every XML national list it
/// points to (MRA pointers included only if `include_mra`), into the staging
/// directory `dir`. With `previous` (the store directory) requests are conditional and
/// a `304` stages the body cached there. A failed national list or pivot is absent from
/// `dir` and reported; a failed LOTL is an error.
pub async fn fetch_all(
    client: &reqwest::Client,
    lotl_url: &str,
    dir: &Path,
    previous: Option<&Path>,
    limits: &FetchLimits,
    include_mra: bool,
) -> Result<FetchReport, FetchError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut cache = Cache::open(previous);

    progress(&format!("fetching LOTL {lotl_url}"));
    let lotl_bytes = fetch_one(client, lotl_url, &mut cache, limits)
        .await
        .map_err(|reason| FetchError::Lotl {
            url: lotl_url.to_string(),
            reason,
        })?;
    let (lotl_bytes, lotl_outcome) = lotl_bytes;
    let lotl_path = dir.join("lotl.xml");
    std::fs::write(&lotl_path, &lotl_bytes).map_err(io_err(&lotl_path))?;
    let lotl = parse_bytes(&lotl_bytes).map_err(|e| FetchError::LotlUnparseable {
        url: lotl_url.to_string(),
        reason: e.to_string(),
    })?;

    let mut jobs = Vec::new();
    for (i, url) in pivot_urls(&lotl).into_iter().enumerate() {
        jobs.push(Job {
            role: "pivot",
            territory: "EU".into(),
            file: pivot_file(&url, i),
            url,
        });
    }
    let mut taken = Vec::new();
    for p in lotl.xml_pointers() {
        if p.is_list_of_lists() || (p.is_mra && !include_mra) {
            continue;
        }
        let territory = p
            .territory
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_ascii_uppercase();
        let url = resolve_location(&p.location, lotl_url);
        if url.is_empty() || jobs.iter().any(|j: &Job| j.url == url) {
            continue;
        }
        jobs.push(Job {
            role: "tl",
            file: tl_file(&territory, &mut taken),
            territory,
            url,
        });
    }

    let total = jobs.len();
    let work: Vec<_> = jobs
        .iter()
        .enumerate()
        .map(|(i, job)| (i, job.url.clone(), cache.entry(&job.url)))
        .collect();
    let limits_copy = *limits;
    let results: Vec<(usize, JobResult)> = futures::stream::iter(work)
        .map(|(i, url, cached)| {
            let client = client.clone();
            async move { (i, get_job(&client, &url, cached, &limits_copy).await) }
        })
        .buffer_unordered(limits.concurrency.max(1))
        .inspect(|(i, r)| {
            let j = &jobs[*i];
            match r {
                Ok((_, o, _)) => progress(&format!(
                    "  {} {} {}: {}",
                    j.role,
                    j.territory,
                    j.url,
                    match o {
                        FetchOutcome::NotModified => "not modified".to_string(),
                        FetchOutcome::Downloaded { bytes } => format!("{bytes} bytes"),
                        FetchOutcome::Failed { reason } => reason.clone(),
                    }
                )),
                Err(e) => progress(&format!(
                    "  {} {} {}: FAILED {e}",
                    j.role, j.territory, j.url
                )),
            }
        })
        .collect()
        .await;

    let mut by_index: Vec<Option<FetchedDoc>> = vec![None; total];
    for (i, r) in results {
        let job = &jobs[i];
        let outcome = match r {
            Ok((bytes, outcome, update)) => {
                let path = dir.join(&job.file);
                std::fs::write(&path, &bytes).map_err(io_err(&path))?;
                if let Some(u) = update {
                    cache.record(&job.url, u.etag, u.last_modified, &bytes);
                }
                outcome
            }
            Err(reason) => FetchOutcome::Failed { reason },
        };
        by_index[i] = Some(FetchedDoc {
            role: job.role,
            territory: job.territory.clone(),
            url: job.url.clone(),
            file: job.file.clone(),
            outcome,
        });
    }
    let requested: Vec<&str> = std::iter::once(lotl_url)
        .chain(jobs.iter().map(|j| j.url.as_str()))
        .collect();
    cache.retain(&requested);
    cache.save();
    Ok(FetchReport {
        lotl: FetchedDoc {
            role: "lotl",
            territory: "EU".into(),
            url: lotl_url.to_string(),
            file: "lotl.xml".into(),
            outcome: lotl_outcome,
        },
        documents: by_index.into_iter().flatten().collect(),
    })
}

/// Staged bytes, outcome and cache validators of one job, or why it failed.
type JobResult = Result<(Vec<u8>, FetchOutcome, Option<CacheUpdate>), String>;

struct CacheUpdate {
    etag: Option<String>,
    last_modified: Option<String>,
}

/// ETSI TS 119 612 publishes a list's SHA-256 beside it (`<name>.sha2`, hex). When it equals
/// the digest of the body cached for `url`, the list has not changed and is not downloaded.
/// Any problem with the digest file (absent, too large, malformed) just means "download".
async fn unchanged_by_sha2(
    client: &reqwest::Client,
    url: &str,
    cached_body: &Path,
    limits: &FetchLimits,
) -> bool {
    let Some(base) = url.strip_suffix(".xml") else {
        return false;
    };
    let Ok(cached) = std::fs::read(cached_body) else {
        return false;
    };
    let digest = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &cached,
    ));
    let probe = async {
        let mut resp = client
            .get(format!("{base}.sha2"))
            .timeout(limits.timeout)
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.ok()? {
            body.extend_from_slice(&chunk);
            if body.len() > 1024 {
                return None;
            }
        }
        Some(body)
    };
    match tokio::time::timeout(limits.timeout, probe).await {
        Ok(Some(body)) => {
            let text = String::from_utf8_lossy(&body);
            let published = text.trim();
            published.len() == 64
                && published.bytes().all(|b| b.is_ascii_hexdigit())
                && published.eq_ignore_ascii_case(&digest)
        }
        _ => false,
    }
}

/// One pivot or national list download, with the cached entry for a conditional GET.
async fn get_job(
    client: &reqwest::Client,
    url: &str,
    cached: Option<(CacheEntry, PathBuf)>,
    limits: &FetchLimits,
) -> JobResult {
    if let Some((_, body)) = &cached
        && unchanged_by_sha2(client, url, body, limits).await
    {
        return std::fs::read(body)
            .map(|b| (b, FetchOutcome::NotModified, None))
            .map_err(|e| format!("cached body is unreadable: {e}"));
    }
    match get(client, url, cached.as_ref().map(|c| &c.0), limits).await? {
        Got::NotModified => match cached {
            Some((_, body)) => std::fs::read(&body)
                .map(|b| (b, FetchOutcome::NotModified, None))
                .map_err(|e| format!("304 but the cached body is unreadable: {e}")),
            None => Err("unexpected 304".to_string()),
        },
        Got::Body {
            bytes,
            etag,
            last_modified,
        } => {
            let n = bytes.len() as u64;
            Ok((
                bytes,
                FetchOutcome::Downloaded { bytes: n },
                Some(CacheUpdate {
                    etag,
                    last_modified,
                }),
            ))
        }
    }
}

/// Fetches one URL with the cache (used for the LOTL), updating the cache.
async fn fetch_one(
    client: &reqwest::Client,
    url: &str,
    cache: &mut Cache,
    limits: &FetchLimits,
) -> Result<(Vec<u8>, FetchOutcome), String> {
    let cached = cache.entry(url);
    if let Some((_, body)) = &cached
        && unchanged_by_sha2(client, url, body, limits).await
    {
        let b = std::fs::read(body).map_err(|e| format!("cached body is unreadable: {e}"))?;
        return Ok((b, FetchOutcome::NotModified));
    }
    match get(client, url, cached.as_ref().map(|c| &c.0), limits).await? {
        Got::NotModified => {
            let (_, body) = cached.ok_or("unexpected 304")?;
            let b = std::fs::read(&body)
                .map_err(|e| format!("304 but the cached body is unreadable: {e}"))?;
            Ok((b, FetchOutcome::NotModified))
        }
        Got::Body {
            bytes,
            etag,
            last_modified,
        } => {
            cache.record(url, etag, last_modified, &bytes);
            let n = bytes.len() as u64;
            Ok((bytes, FetchOutcome::Downloaded { bytes: n }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            pivot_file("https://ec.europa.eu/tools/lotl/eu-lotl-pivot-341.xml", 0),
            "eu-lotl-pivot-341.xml"
        );
        assert_eq!(pivot_file("https://x/y?z=1", 3), "pivot-3.xml");
        let mut taken = Vec::new();
        assert_eq!(tl_file("no", &mut taken), "NO-tl.xml");
        assert_eq!(tl_file("NO", &mut taken), "NO-tl-2.xml");
    }
}
