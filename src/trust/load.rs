//! Loading a directory of trusted lists into a [`TrustState`]: LOTL bootstrap, one
//! status per LOTL pointer, the loading policy, and the registry of usable services.
//!
//! Owns: reading every `*.xml` of a directory once (parse + signature check once per
//! file), picking the LOTL (EU list of lists with the highest sequence number) and its
//! pivots, matching national lists to LOTL pointers by `SchemeTerritory`, the per-list
//! status rules ([`check_tl`]), the policy of [`LoadOptions`], and the reports printed
//! by `signgate trust show`.
//! Must not touch: fetching (the directory is the input), the XML-DSig engine and the
//! TSL parser internals, persistence (that is `store`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::anchors::OjAnchors;
use super::bootstrap::{
    Alert, BootstrapError, LotlTrust, SignedDoc, bootstrap_doc, detect_alerts, eu_self_pointer,
    pivot_sequence_from_url,
};
use super::cert::{CertView, fingerprint};
use super::registry::Registry;
use super::status::{ListReport, ListStatus, freshness};
use super::tsl::{TlPointer, TrustedList};
use super::xmldsig::{DsigError, DsigPolicy};

/// Loading policy.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Services of `expired` lists enter the registry (flagged). Default `true`.
    pub use_expired: bool,
    /// Services of `invalid_signature` / `unknown_signer` / `unparseable` lists enter
    /// the registry. Default `false`.
    pub use_invalid: bool,
    /// Load the lists of MRA (third-country) pointers too. Default `false`.
    pub include_mra: bool,
    /// XML-DSig policy for every list.
    pub dsig: DsigPolicy,
    /// Further directories searched for pivot LOTLs (not for national lists).
    pub pivot_dirs: Vec<PathBuf>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            use_expired: true,
            use_invalid: false,
            include_mra: false,
            dsig: DsigPolicy::default(),
            pivot_dirs: Vec::new(),
        }
    }
}

/// Why a directory could not be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Directory or file I/O.
    #[error("cannot read {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Error.
        source: std::io::Error,
    },
    /// No EU list of lists among the files.
    #[error("no EU LOTL found in {0}")]
    NoLotl(String),
    /// The LOTL could not be tied to the configured OJ anchors (nothing is trusted).
    #[error("LOTL not trusted: {source}")]
    Lotl {
        /// Why.
        source: BootstrapError,
        /// Alerts computed from the (untrusted) LOTL content.
        alerts: Vec<Alert>,
    },
}

/// An MRA (third-country) pointer of the LOTL, kept apart.
#[derive(Debug, Clone, Serialize)]
pub struct MraPointer {
    /// Territory.
    pub territory: String,
    /// `TSLLocation`.
    pub location: String,
    /// `TSLType`.
    pub tsl_type: Option<String>,
}

/// A document the state was built from (for the store).
#[derive(Debug, Clone)]
pub struct SourceDocument {
    /// `lotl`, `pivot` or `tl`.
    pub role: &'static str,
    /// Territory (`EU` for LOTL/pivots).
    pub territory: String,
    /// Sequence number.
    pub sequence: u64,
    /// Status of the list.
    pub status: ListStatus,
    /// The bytes.
    pub bytes: Arc<[u8]>,
}

/// The loaded trust state: reports, alerts and the registry of usable services.
#[derive(Debug, Clone)]
pub struct TrustState {
    /// Validation time used.
    pub at: OffsetDateTime,
    /// LOTL report.
    pub lotl: ListReport,
    /// One report per (non-MRA, unless `include_mra`) XML pointer of the LOTL, by
    /// territory.
    pub lists: Vec<ListReport>,
    /// Alerts (OJ URL / location change).
    pub alerts: Vec<Alert>,
    /// Warnings (expired lists used, invalid lists used, …).
    pub warnings: Vec<String>,
    /// MRA pointers (not loaded unless `include_mra`).
    pub mra_pointers: Vec<MraPointer>,
    /// Pivot sequence numbers walked, oldest first.
    pub pivots_used: Vec<u64>,
    /// Certificates allowed to sign the next LOTL (EU self-pointer).
    pub lotl_signer_set: Vec<Vec<u8>>,
    /// The registry of usable services.
    pub registry: Arc<Registry>,
    /// Source documents (LOTL, pivots used, national lists that parsed).
    pub documents: Vec<SourceDocument>,
}

#[derive(Serialize)]
struct ReportJson<'a> {
    lotl: &'a ListReport,
    lists: &'a [ListReport],
    /// OJ-URL and LOTL-location changes announced by the LOTL.
    alerts: &'a [Alert],
    /// Lists used despite a problem (expired), and similar notices.
    warnings: &'a [String],
}

/// One row of [`TrustState::services_report`].
#[derive(Debug, Clone, Serialize)]
pub struct ServiceRow {
    /// Territory.
    pub territory: String,
    /// Provider.
    pub provider: String,
    /// Type suffix.
    #[serde(rename = "type")]
    pub type_: String,
    /// Status suffix.
    pub status: String,
    /// Status starting time.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// Service name.
    pub name: String,
}

fn fmt_time(t: Option<OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".to_string())
}

impl TrustState {
    /// `{"lotl": {…}, "lists": [{…}]}` (what `signgate trust show --format json` prints).
    pub fn report_json(&self) -> String {
        serde_json::to_string_pretty(&ReportJson {
            lotl: &self.lotl,
            lists: &self.lists,
            alerts: &self.alerts,
            warnings: &self.warnings,
        })
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// Keeps only the national lists of one territory (for `trust show --territory`).
    pub fn retain_territory(&mut self, territory: &str) {
        self.lists
            .retain(|l| l.territory.eq_ignore_ascii_case(territory));
    }

    /// Human-readable report.
    pub fn report_text(&self) -> String {
        let mut s = String::new();
        let l = &self.lotl;
        let _ = writeln!(
            s,
            "LOTL seq {} issued {} next {} status {}{}",
            l.sequence.map_or("-".into(), |n| n.to_string()),
            fmt_time(l.issued),
            fmt_time(l.next_update),
            l.status,
            if self.pivots_used.is_empty() {
                String::new()
            } else {
                format!(" (via pivots {:?})", self.pivots_used)
            }
        );
        for a in &self.alerts {
            let _ = writeln!(s, "ALERT: {a}");
        }
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
        let _ = writeln!(
            s,
            "{:<4} {:>5} {:<20} {:<18} {:>5} {:>5}  reason",
            "terr", "seq", "issued", "status", "tsps", "svcs"
        );
        for r in &self.lists {
            let _ = writeln!(
                s,
                "{:<4} {:>5} {:<20} {:<18} {:>5} {:>5}  {}",
                r.territory,
                r.sequence.map_or("-".into(), |n| n.to_string()),
                fmt_time(r.issued),
                r.status.as_str(),
                r.providers,
                r.services,
                r.reason.as_deref().unwrap_or("")
            );
        }
        if !self.mra_pointers.is_empty() {
            let _ = writeln!(s, "MRA pointers (not loaded): {}", self.mra_pointers.len());
        }
        s
    }

    /// Every service of the registry (optionally of one territory).
    pub fn services_report(&self, territory: Option<&str>) -> Vec<ServiceRow> {
        self.registry
            .iter()
            .filter(|(t, ..)| territory.is_none_or(|w| t.eq_ignore_ascii_case(w)))
            .map(|(t, p, s, _)| ServiceRow {
                territory: t.to_string(),
                provider: p.to_string(),
                type_: s.type_suffix().to_string(),
                status: s.status_suffix().to_string(),
                start: s.status_start,
                name: s.name.clone(),
            })
            .collect()
    }
}

/// Status of national list `doc` for `pointer` at `at` (see the module rules), with a
/// reason when not `valid`, and the signer certificate when the signature verified.
pub fn check_tl(
    pointer: &TlPointer,
    doc: &SignedDoc,
    at: OffsetDateTime,
) -> (ListStatus, Option<String>, Option<Vec<u8>>) {
    let list = &doc.list;
    let signer = match doc.signer_among(&pointer.certificates) {
        Ok(s) => s,
        Err(DsigError::UnknownSigner { signer_cert }) => {
            return (
                ListStatus::UnknownSigner,
                Some(format!(
                    "signed by {} which is not among the {} certificate(s) of the pointer",
                    fingerprint(&signer_cert),
                    pointer.certificates.len()
                )),
                Some(signer_cert),
            );
        }
        Err(e) => return (ListStatus::InvalidSignature, Some(e.to_string()), None),
    };
    let ptr_terr = pointer.territory.as_deref().unwrap_or("").trim();
    if !ptr_terr.eq_ignore_ascii_case(list.territory.trim()) {
        return (
            ListStatus::Unparseable,
            Some(format!(
                "territory mismatch: pointer {ptr_terr}, list {}",
                list.territory
            )),
            Some(signer),
        );
    }
    if !CertView::parse(&signer).is_ok_and(|c| c.valid_at(list.issued)) {
        return (
            ListStatus::UnknownSigner,
            Some(format!(
                "signer certificate {} not valid at ListIssueDateTime {}",
                fingerprint(&signer),
                fmt_time(Some(list.issued))
            )),
            Some(signer),
        );
    }
    if list.has_errors() {
        let errs: Vec<String> = list.errors().take(3).map(ToString::to_string).collect();
        return (
            ListStatus::Unparseable,
            Some(format!("structure errors: {}", errs.join("; "))),
            Some(signer),
        );
    }
    let status = freshness(list, at);
    let reason = match (status, list.next_update) {
        (ListStatus::Expired, None) => Some("no NextUpdate (closed list)".to_string()),
        (ListStatus::Expired, Some(n)) => Some(format!(
            "NextUpdate {} is before {}",
            fmt_time(Some(n)),
            fmt_time(Some(at))
        )),
        _ => None,
    };
    (status, reason, Some(signer))
}

/// [`check_tl`] on raw bytes: a document that does not read as a trusted list is
/// `unparseable`.
pub fn check_tl_bytes(
    pointer: &TlPointer,
    xml: &[u8],
    at: OffsetDateTime,
    policy: &DsigPolicy,
) -> (ListStatus, Option<String>) {
    match SignedDoc::read(xml.to_vec(), policy) {
        Err(reason) => (ListStatus::Unparseable, Some(reason)),
        Ok(doc) => {
            let (status, reason, _) = check_tl(pointer, &doc, at);
            (status, reason)
        }
    }
}

/// A file of the directory: its name and its reading result.
type NamedDoc = (String, Result<Arc<SignedDoc>, String>);

struct FileDoc {
    name: String,
    doc: Result<Arc<SignedDoc>, String>,
}

fn read_xml_dir(dir: &Path, policy: &DsigPolicy) -> Result<Vec<FileDoc>, LoadError> {
    let io = |source| LoadError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
        .collect();
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        let bytes = std::fs::read(&p).map_err(|source| LoadError::Io {
            path: p.display().to_string(),
            source,
        })?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(FileDoc {
            name,
            doc: SignedDoc::read(bytes, policy).map(Arc::new),
        });
    }
    Ok(out)
}

fn is_eu_lotl(l: &TrustedList) -> bool {
    l.is_lotl() && l.territory.trim().eq_ignore_ascii_case("EU")
}

/// Territory guessed from a file name (`CZ_empty.xml`, `UK-final.xml` → `CZ`, `UK`).
fn territory_from_name(name: &str) -> Option<String> {
    let lead: String = name.chars().take_while(char::is_ascii_alphabetic).collect();
    let next = name[lead.len()..].chars().next();
    (lead.len() == 2 && matches!(next, Some('.' | '_' | '-'))).then(|| lead.to_ascii_uppercase())
}

/// Loads every `*.xml` of `dir` (see the module documentation) and builds the state at
/// validation time `at`. `lotl_url` is the configured LOTL location.
pub fn load_dir(
    dir: &Path,
    anchors: &OjAnchors,
    lotl_url: &str,
    at: OffsetDateTime,
    opts: &LoadOptions,
) -> Result<TrustState, LoadError> {
    let files = read_xml_dir(dir, &opts.dsig)?;
    let mut pivot_files = Vec::new();
    for d in &opts.pivot_dirs {
        pivot_files.extend(read_xml_dir(d, &opts.dsig)?);
    }

    // The LOTL: EU list of lists with the highest sequence number in `dir`.
    let lotl_doc = files
        .iter()
        .filter_map(|f| f.doc.as_ref().ok())
        .filter(|d| is_eu_lotl(&d.list))
        .max_by_key(|d| d.list.sequence)
        .cloned()
        .ok_or_else(|| LoadError::NoLotl(dir.display().to_string()))?;

    // Pivot pool: every other EU list of lists, by sequence number and by file name.
    let mut by_seq: HashMap<u64, Arc<SignedDoc>> = HashMap::new();
    let mut by_name: HashMap<String, Result<Arc<SignedDoc>, String>> = HashMap::new();
    for f in files.iter().chain(pivot_files.iter()) {
        if let Ok(d) = &f.doc {
            if !is_eu_lotl(&d.list) || Arc::ptr_eq(d, &lotl_doc) {
                continue;
            }
            by_seq.entry(d.list.sequence).or_insert_with(|| d.clone());
        }
        by_name
            .entry(f.name.to_ascii_lowercase())
            .or_insert_with(|| f.doc.clone());
    }
    let pivot_source = |url: &str| -> Option<Result<Arc<SignedDoc>, String>> {
        if let Some(seq) = pivot_sequence_from_url(url) {
            return by_seq.get(&seq).map(|d| Ok(d.clone()));
        }
        let base = url.rsplit('/').next()?.to_ascii_lowercase();
        by_name.get(&base).cloned()
    };

    let trust: LotlTrust =
        bootstrap_doc(&lotl_doc, anchors, lotl_url, at, &pivot_source).map_err(|source| {
            LoadError::Lotl {
                source,
                alerts: detect_alerts(&lotl_doc.list, &anchors.oj_url, lotl_url),
            }
        })?;

    let lotl_reason = (trust.status == ListStatus::Expired).then(|| {
        trust.lotl.next_update.map_or_else(
            || "no NextUpdate".to_string(),
            |n| {
                format!(
                    "NextUpdate {} is before {}",
                    fmt_time(Some(n)),
                    fmt_time(Some(at))
                )
            },
        )
    });
    let lotl_report = ListReport::from_list(
        "EU",
        lotl_url,
        &trust.lotl,
        trust.status,
        lotl_reason,
        Some(&trust.signer_cert),
    );
    let mut documents = vec![SourceDocument {
        role: "lotl",
        territory: "EU".into(),
        sequence: trust.lotl.sequence,
        status: trust.status,
        bytes: Arc::from(lotl_doc.bytes.as_slice()),
    }];
    for (url, bytes) in &trust.pivot_documents {
        let seq = pivot_sequence_from_url(url)
            .or_else(|| {
                pivot_source(url)
                    .and_then(|d| d.ok())
                    .map(|d| d.list.sequence)
            })
            .unwrap_or(0);
        documents.push(SourceDocument {
            role: "pivot",
            territory: "EU".into(),
            sequence: seq,
            status: ListStatus::Valid,
            bytes: Arc::from(bytes.as_slice()),
        });
    }

    // National lists: parsed docs by territory; unreadable files by file-name territory.
    let mut tl_by_terr: HashMap<String, Vec<Arc<SignedDoc>>> = HashMap::new();
    let mut bad_by_terr: HashMap<String, Vec<NamedDoc>> = HashMap::new();
    for f in &files {
        match &f.doc {
            Ok(d) if is_eu_lotl(&d.list) => {}
            Ok(d) => tl_by_terr
                .entry(d.list.territory.trim().to_ascii_uppercase())
                .or_default()
                .push(d.clone()),
            Err(_) => {}
        }
        if let Some(t) = territory_from_name(&f.name) {
            bad_by_terr
                .entry(t)
                .or_default()
                .push((f.name.clone(), f.doc.clone()));
        }
    }

    let self_ptr = eu_self_pointer(&trust.lotl).map(|p| p as *const TlPointer);
    let mut lists = Vec::new();
    let mut mra_pointers = Vec::new();
    let mut usable: Vec<(String, Arc<SignedDoc>, bool)> = Vec::new();
    let mut warnings = Vec::new();
    for p in trust.lotl.xml_pointers() {
        if Some(p as *const TlPointer) == self_ptr || p.is_list_of_lists() {
            continue;
        }
        let terr = p
            .territory
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_ascii_uppercase();
        if p.is_mra {
            mra_pointers.push(MraPointer {
                territory: terr.clone(),
                location: p.location.clone(),
                tsl_type: p.tsl_type.clone(),
            });
            if !opts.include_mra {
                continue;
            }
        }
        let candidates = tl_by_terr.get(&terr);
        let report = match candidates.and_then(|c| c.iter().max_by_key(|d| d.list.sequence)) {
            Some(doc) => {
                let (status, reason, signer) = check_tl(p, doc, at);
                let use_it = match status {
                    ListStatus::Valid => true,
                    ListStatus::Expired => opts.use_expired,
                    _ => opts.use_invalid,
                };
                if use_it {
                    if status == ListStatus::Expired {
                        warnings.push(format!(
                            "{terr}: expired list used ({})",
                            reason.as_deref().unwrap_or("")
                        ));
                    } else if status != ListStatus::Valid {
                        warnings.push(format!("{terr}: {status} list used by policy"));
                    }
                    usable.push((terr.clone(), doc.clone(), status != ListStatus::Valid));
                }
                documents.push(SourceDocument {
                    role: "tl",
                    territory: terr.clone(),
                    sequence: doc.list.sequence,
                    status,
                    bytes: Arc::from(doc.bytes.as_slice()),
                });
                ListReport::from_list(
                    &terr,
                    &p.location,
                    &doc.list,
                    status,
                    reason,
                    signer.as_deref(),
                )
            }
            None => match bad_by_terr.get(&terr).and_then(|v| v.first()) {
                Some((name, Err(reason))) => ListReport::empty(
                    &terr,
                    &p.location,
                    ListStatus::Unparseable,
                    format!("{name}: {reason}"),
                ),
                Some((name, Ok(d))) => ListReport::from_list(
                    &terr,
                    &p.location,
                    &d.list,
                    ListStatus::Unparseable,
                    Some(format!(
                        "{name}: territory mismatch: pointer {terr}, list {}",
                        d.list.territory
                    )),
                    None,
                ),
                None => ListReport::empty(
                    &terr,
                    &p.location,
                    ListStatus::Unreachable,
                    "no document".into(),
                ),
            },
        };
        lists.push(report);
    }
    lists.sort_by(|a, b| a.territory.cmp(&b.territory));
    if trust.status == ListStatus::Expired {
        warnings.push("the LOTL is expired".into());
    }

    let registry = Registry::build(
        usable
            .iter()
            .map(|(t, d, expired)| (t.as_str(), &d.list, *expired)),
    );
    Ok(TrustState {
        at,
        lotl: lotl_report,
        lists,
        alerts: trust.alerts.clone(),
        warnings,
        mra_pointers,
        pivots_used: trust.pivots_used.clone(),
        lotl_signer_set: trust.signer_set.clone(),
        registry: Arc::new(registry),
        documents,
    })
}

/// Counts of list statuses (for summaries).
pub fn status_counts(lists: &[ListReport]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for l in lists {
        *m.entry(l.status.as_str()).or_insert(0) += 1;
    }
    m
}
