//! Ties an EU LOTL to the Official Journal anchors, following pivot LOTLs when the
//! current LOTL signer is not itself an anchor.
//!
//! Owns: opening a signed list (parse once, verify the enveloped signature, check the
//! signer certificate against the list's own `ListIssueDateTime`), the pivot walk
//! (pivots = `SchemeInformationURI`s before the first `eur-lex.europa.eu` URI, walked
//! oldest → newest), the EU self-pointer, and the OJ-URL / LOTL-location change alerts.
//! Must not touch: fetching (pivots come from the caller's `pivot source`), national TL
//! policy (that is `load`), the registry.
//!
//! Semantics follow EU DSS (`LOTLSource` with pivot support, `OJUrlChangeDetection`,
//! `LOTLLocationChangeDetection`) and pyHanko (`bootstrap_lotl_signers`) with two
//! deliberate differences: a missing or broken pivot is an error (DSS only logs it),
//! and the pivot list stops at the first OJ URL (a new OJ publication is a re-anchor:
//! the operator must configure its anchor set, as with LOTL 388 / OJ C/2026/1944).

use roxmltree::Document;
use serde::Serialize;
use time::OffsetDateTime;

use super::anchors::OjAnchors;
use super::cert::{CertView, fingerprint};
use super::status::{ListStatus, freshness};
use super::tsl::{self, TlPointer, TrustedList};
use super::xmldsig::{self, DsigError, DsigPolicy, VerifiedSignature};

/// Host that identifies an Official Journal `SchemeInformationURI`.
pub const EURLEX_HOST: &str = "eur-lex.europa.eu";

/// A warning raised while tying the LOTL to its anchors (never a failure by itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    /// The LOTL names (first eur-lex `SchemeInformationURI`) another OJ publication
    /// than the configured one: new LOTL signer certificates were announced.
    OjUrlChanged {
        /// Configured `oj_url`.
        configured: String,
        /// OJ URL the LOTL names.
        announced: String,
    },
    /// The LOTL's EU self-pointer gives another location than the configured LOTL URL.
    LocationChanged {
        /// Configured LOTL URL.
        configured: String,
        /// `TSLLocation` of the EU self-pointer (resolved against the configured URL
        /// when relative).
        announced: String,
    },
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OjUrlChanged {
                configured,
                announced,
            } => write!(
                f,
                "the LOTL announces OJ publication {announced} (configured: {configured})"
            ),
            Self::LocationChanged {
                configured,
                announced,
            } => write!(
                f,
                "the LOTL announces its location as {announced} (configured: {configured})"
            ),
        }
    }
}

/// Why a signed list could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Not UTF-8 / not well-formed XML / not a `TrustServiceStatusList`.
    #[error("{0}")]
    Unparseable(String),
    /// The signature does not verify (or is missing, duplicated, misplaced…).
    #[error("{0}")]
    Signature(DsigError),
}

/// A list whose signature verified.
#[derive(Debug, Clone)]
pub struct OpenedList {
    /// The parsed list.
    pub list: TrustedList,
    /// The verified signature (signer certificate inside).
    pub signature: VerifiedSignature,
}

/// Parses `xml` once and verifies its enveloped signature. With non-empty
/// `candidates`, the signer must be one of them ([`DsigError::UnknownSigner`]
/// otherwise); with none, the KeyInfo certificate that verifies is the signer.
pub fn open_signed_list(
    xml: &[u8],
    candidates: &[&[u8]],
    policy: &DsigPolicy,
) -> Result<OpenedList, OpenError> {
    if xml.is_empty() {
        return Err(OpenError::Unparseable("empty document".into()));
    }
    if xml.len() > tsl::MAX_DOCUMENT_BYTES {
        return Err(OpenError::Unparseable(format!(
            "document too large: {} bytes",
            xml.len()
        )));
    }
    let text = xmldsig::decode_utf8(xml).map_err(|e| OpenError::Unparseable(e.to_string()))?;
    let doc: Document<'_> =
        xmldsig::parse_document(text).map_err(|e| OpenError::Unparseable(e.to_string()))?;
    let list = tsl::parse(&doc).map_err(|e| OpenError::Unparseable(e.to_string()))?;
    let signature =
        xmldsig::verify_enveloped(&doc, candidates, policy).map_err(OpenError::Signature)?;
    Ok(OpenedList { list, signature })
}

/// The EU self-pointer of a LOTL/pivot: territory `EU`, type a list of lists (XML
/// pointer preferred).
pub fn eu_self_pointer(list: &TrustedList) -> Option<&TlPointer> {
    let is_self = |p: &&TlPointer| {
        p.territory
            .as_deref()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("EU"))
            && p.is_list_of_lists()
    };
    list.pointers
        .iter()
        .filter(is_self)
        .find(|p| p.is_xml())
        .or_else(|| list.pointers.iter().find(is_self))
}

fn is_eurlex(uri: &str) -> bool {
    let rest = uri
        .trim()
        .strip_prefix("https://")
        .or_else(|| uri.trim().strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        host.eq_ignore_ascii_case(EURLEX_HOST)
    })
}

/// The OJ URL the list names: its first eur-lex `SchemeInformationURI`.
pub fn announced_oj_url(list: &TrustedList) -> Option<&str> {
    list.scheme_information_uris
        .iter()
        .map(|(_, u)| u.trim())
        .find(|u| is_eurlex(u))
}

/// Pivot URLs of a LOTL, newest first: the `SchemeInformationURI`s before the first
/// eur-lex URI (all of them are pivot LOTL locations in EU practice).
pub fn pivot_urls(list: &TrustedList) -> Vec<String> {
    list.scheme_information_uris
        .iter()
        .map(|(_, u)| u.trim())
        .take_while(|u| !is_eurlex(u))
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect()
}

/// Sequence number in an EU pivot URL `…-pivot-NNN.xml`; `None` for other names.
pub fn pivot_sequence_from_url(url: &str) -> Option<u64> {
    let name = url.trim().rsplit('/').next()?.to_ascii_lowercase();
    let i = name.rfind("-pivot-")?;
    let digits = name[i + 7..].strip_suffix(".xml")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Resolves a possibly relative `TSLLocation` against `base` (an absolute URL).
pub fn resolve_location(location: &str, base: &str) -> String {
    let location = location.trim();
    if location.contains("://") || base.is_empty() {
        return location.to_string();
    }
    match base.rfind('/') {
        Some(i) if base[..i].contains("://") => {
            if let Some(abs) = location.strip_prefix('/') {
                // Host-relative: keep scheme://host.
                let host_end = base
                    .find("://")
                    .and_then(|s| base[s + 3..].find('/').map(|h| s + 3 + h))
                    .unwrap_or(base.len());
                format!("{}/{abs}", &base[..host_end])
            } else {
                format!("{}/{location}", &base[..i])
            }
        }
        _ => location.to_string(),
    }
}

/// The OJ-URL and location alerts for `lotl` given the configured OJ URL and LOTL URL
/// (an empty configured value disables that check).
pub fn detect_alerts(lotl: &TrustedList, oj_url: &str, lotl_url: &str) -> Vec<Alert> {
    let mut out = Vec::new();
    if !oj_url.trim().is_empty()
        && let Some(announced) = announced_oj_url(lotl)
        && announced != oj_url.trim()
    {
        out.push(Alert::OjUrlChanged {
            configured: oj_url.trim().to_string(),
            announced: announced.to_string(),
        });
    }
    if !lotl_url.trim().is_empty()
        && let Some(p) = eu_self_pointer(lotl)
    {
        let announced = resolve_location(&p.location, lotl_url.trim());
        if announced != lotl_url.trim() {
            out.push(Alert::LocationChanged {
                configured: lotl_url.trim().to_string(),
                announced,
            });
        }
    }
    out
}

/// A LOTL tied to the OJ anchors.
#[derive(Debug, Clone)]
pub struct LotlTrust {
    /// The parsed LOTL.
    pub lotl: TrustedList,
    /// `valid`, or `expired` when `NextUpdate` is missing or before the validation time.
    pub status: ListStatus,
    /// DER of the LOTL signer certificate.
    pub signer_cert: Vec<u8>,
    /// The LOTL's own EU self-pointer certificates: who may sign the next LOTL.
    pub signer_set: Vec<Vec<u8>>,
    /// Sequence numbers of the pivots walked, oldest first (empty when the signer is an
    /// anchor).
    pub pivots_used: Vec<u64>,
    /// The pivot documents walked, oldest first: `(url, bytes)` (for the store).
    pub pivot_documents: Vec<(String, Vec<u8>)>,
    /// Warnings.
    pub alerts: Vec<Alert>,
}

/// Why a LOTL could not be tied to the anchors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootstrapError {
    /// The LOTL document is not a trusted list.
    #[error("LOTL is unparseable: {0}")]
    Unparseable(String),
    /// The document is not the EU list of lists.
    #[error("not a usable EU list of trusted lists: {0}")]
    NotALotl(String),
    /// The LOTL signature does not verify.
    #[error("LOTL signature invalid: {0}")]
    Signature(DsigError),
    /// The LOTL signer is not an anchor and the LOTL lists no pivot to follow.
    #[error(
        "LOTL seq {sequence} is signed by {signer} which is not among the {anchors} certificates of OJ {oj_url}, and it lists no pivot LOTL to follow{}",
        match announced_oj_url { Some(u) if u != oj_url => format!(" (it names OJ {u}: configure that publication's anchors)"), _ => String::new() }
    )]
    NotTied {
        /// LOTL sequence number.
        sequence: u64,
        /// SHA-256 of the signer certificate.
        signer: String,
        /// Configured OJ URL.
        oj_url: String,
        /// Number of anchor certificates.
        anchors: usize,
        /// OJ URL the LOTL names.
        announced_oj_url: Option<String>,
    },
    /// The pivot source has no document for a pivot URL.
    #[error("pivot {} missing: no document for {url}", fmt_seq(*sequence))]
    PivotMissing {
        /// Sequence number from the URL.
        sequence: Option<u64>,
        /// Pivot URL.
        url: String,
    },
    /// A pivot document does not parse or is not a LOTL.
    #[error("pivot {} ({url}) is unusable: {reason}", fmt_seq(*sequence))]
    PivotUnusable {
        /// Sequence number from the URL.
        sequence: Option<u64>,
        /// Pivot URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A pivot signature does not verify.
    #[error("pivot {} ({url}) signature invalid: {source}", fmt_seq(*sequence))]
    PivotSignature {
        /// Sequence number from the URL.
        sequence: Option<u64>,
        /// Pivot URL.
        url: String,
        /// The verification error.
        source: DsigError,
    },
    /// A list (pivot or LOTL) is signed by a certificate that the previous step did not
    /// announce.
    #[error("{what} is signed by {signer}, which is not announced by {expected_from}")]
    UnexpectedSigner {
        /// `pivot 300`, `LOTL 369`.
        what: String,
        /// SHA-256 of the signer.
        signer: String,
        /// `OJ <url>` or `pivot NNN`.
        expected_from: String,
    },
    /// A signer certificate was not valid at the list's `ListIssueDateTime`.
    #[error("{what}: signer {signer} was not valid at the list's issue time {issued}")]
    SignerNotValidAtIssue {
        /// `pivot 300`, `LOTL 369`.
        what: String,
        /// SHA-256 of the signer.
        signer: String,
        /// `ListIssueDateTime`.
        issued: OffsetDateTime,
    },
}

fn fmt_seq(s: Option<u64>) -> String {
    s.map_or_else(|| "?".to_string(), |s| s.to_string())
}

/// Options of [`bootstrap`].
#[derive(Debug, Clone, Copy, Default)]
pub struct BootstrapOptions {
    /// XML-DSig policy for the LOTL and pivots.
    pub dsig: DsigPolicy,
}

fn check_lotl_shape(list: &TrustedList) -> Result<(), String> {
    if !list.is_lotl() {
        return Err(format!("TSLType is {}", list.tsl_type));
    }
    if !list.territory.trim().eq_ignore_ascii_case("EU") {
        return Err(format!("SchemeTerritory is {}", list.territory));
    }
    if list.has_errors() {
        let errs: Vec<String> = list.errors().take(3).map(ToString::to_string).collect();
        return Err(format!("structure errors: {}", errs.join("; ")));
    }
    Ok(())
}

fn check_validity(what: &str, signer: &[u8], issued: OffsetDateTime) -> Result<(), BootstrapError> {
    let ok = CertView::parse(signer).is_ok_and(|c| c.valid_at(issued));
    if ok {
        Ok(())
    } else {
        Err(BootstrapError::SignerNotValidAtIssue {
            what: what.to_string(),
            signer: fingerprint(signer),
            issued,
        })
    }
}

fn refs(set: &[Vec<u8>]) -> Vec<&[u8]> {
    set.iter().map(Vec::as_slice).collect()
}

/// A parsed trusted list with the result of verifying its signature against its own
/// KeyInfo certificates (parse once, verify once; membership in a signer set is checked
/// afterwards with [`SignedDoc::signer_among`]).
#[derive(Debug, Clone)]
pub struct SignedDoc {
    /// The document bytes.
    pub bytes: Vec<u8>,
    /// The parsed list.
    pub list: TrustedList,
    /// The signature check (signer = the KeyInfo certificate that verifies).
    pub signature: Result<VerifiedSignature, DsigError>,
    policy: DsigPolicy,
}

impl SignedDoc {
    /// Parses `xml` and verifies its signature with its KeyInfo certificates. `Err` is
    /// the reason the document is not a readable trusted list.
    pub fn read(xml: Vec<u8>, policy: &DsigPolicy) -> Result<Self, String> {
        let (list, signature) = {
            if xml.is_empty() {
                return Err("empty document".into());
            }
            if xml.len() > tsl::MAX_DOCUMENT_BYTES {
                return Err(format!("document too large: {} bytes", xml.len()));
            }
            let text = xmldsig::decode_utf8(&xml).map_err(|e| e.to_string())?;
            let doc = xmldsig::parse_document(text).map_err(|e| e.to_string())?;
            let list = tsl::parse(&doc).map_err(|e| e.to_string())?;
            (list, xmldsig::verify_enveloped(&doc, &[], policy))
        };
        Ok(Self {
            bytes: xml,
            list,
            signature,
            policy: *policy,
        })
    }

    /// The signer, if it is one of `set` (byte-equal DER). Without KeyInfo
    /// certificates the members of `set` are tried as keys.
    pub fn signer_among(&self, set: &[Vec<u8>]) -> Result<Vec<u8>, DsigError> {
        match &self.signature {
            Ok(v) if set.contains(&v.signer_cert) => Ok(v.signer_cert.clone()),
            Ok(v) => Err(DsigError::UnknownSigner {
                signer_cert: v.signer_cert.clone(),
            }),
            Err(DsigError::NoKey) if !set.is_empty() => {
                open_signed_list(&self.bytes, &refs(set), &self.policy)
                    .map(|o| o.signature.signer_cert)
                    .map_err(|e| match e {
                        OpenError::Signature(e) => e,
                        OpenError::Unparseable(m) => DsigError::Parse(m),
                    })
            }
            Err(e) => Err(e.clone()),
        }
    }
}

/// Source of pivot documents for [`bootstrap_doc`]: pivot URL → the document (or why
/// it is unreadable); `None` when there is no document.
pub type PivotDocs<'a> = dyn Fn(&str) -> Option<Result<std::sync::Arc<SignedDoc>, String>> + 'a;

/// Ties the LOTL `lotl_xml` to `anchors` at validation time `at`.
///
/// If the LOTL signer is an anchor certificate, the LOTL is trusted directly. Otherwise
/// the pivots ([`pivot_urls`]) are fetched through `pivot_source` and walked oldest →
/// newest: the oldest must be signed by an anchor, each next one (and finally the LOTL)
/// by a certificate of the previous one's EU self-pointer. Every signer certificate must
/// be valid at its list's `ListIssueDateTime`. `lotl_url` is the configured LOTL
/// location (for the location-change alert).
pub fn bootstrap(
    lotl_xml: &[u8],
    anchors: &OjAnchors,
    lotl_url: &str,
    at: OffsetDateTime,
    pivot_source: &dyn Fn(&str) -> Option<Vec<u8>>,
    opts: &BootstrapOptions,
) -> Result<LotlTrust, BootstrapError> {
    let lotl =
        SignedDoc::read(lotl_xml.to_vec(), &opts.dsig).map_err(BootstrapError::Unparseable)?;
    let src = |url: &str| {
        pivot_source(url).map(|b| SignedDoc::read(b, &opts.dsig).map(std::sync::Arc::new))
    };
    bootstrap_doc(&lotl, anchors, lotl_url, at, &src)
}

/// [`bootstrap`] on an already read LOTL and pivot documents.
pub fn bootstrap_doc(
    lotl_doc: &SignedDoc,
    anchors: &OjAnchors,
    lotl_url: &str,
    at: OffsetDateTime,
    pivot_source: &PivotDocs<'_>,
) -> Result<LotlTrust, BootstrapError> {
    let lotl = &lotl_doc.list;
    check_lotl_shape(lotl).map_err(BootstrapError::NotALotl)?;
    let lotl_name = format!("LOTL {}", lotl.sequence);
    let alerts = detect_alerts(lotl, &anchors.oj_url, lotl_url);

    let mut pivots_used = Vec::new();
    let mut pivot_documents = Vec::new();
    let signer_cert = match lotl_doc.signer_among(&anchors.certs) {
        Ok(s) => s,
        Err(DsigError::UnknownSigner { .. } | DsigError::InvalidSignatureValue) => {
            let urls = pivot_urls(lotl);
            if urls.is_empty() {
                let signer = match &lotl_doc.signature {
                    Ok(v) => fingerprint(&v.signer_cert),
                    Err(e) => format!("<unverifiable: {e}>"),
                };
                return Err(BootstrapError::NotTied {
                    sequence: lotl.sequence,
                    signer,
                    oj_url: anchors.oj_url.clone(),
                    anchors: anchors.certs.len(),
                    announced_oj_url: announced_oj_url(lotl).map(str::to_string),
                });
            }
            let mut set: Vec<Vec<u8>> = anchors.certs.clone();
            let mut set_from = format!("OJ {}", anchors.oj_url);
            for url in urls.iter().rev() {
                let sequence = pivot_sequence_from_url(url);
                let what = format!("pivot {}", fmt_seq(sequence));
                let doc = match pivot_source(url) {
                    None => {
                        return Err(BootstrapError::PivotMissing {
                            sequence,
                            url: url.clone(),
                        });
                    }
                    Some(Err(reason)) => {
                        return Err(BootstrapError::PivotUnusable {
                            sequence,
                            url: url.clone(),
                            reason,
                        });
                    }
                    Some(Ok(d)) => d,
                };
                let signer = match doc.signer_among(&set) {
                    Ok(s) => s,
                    Err(DsigError::UnknownSigner { signer_cert }) => {
                        return Err(BootstrapError::UnexpectedSigner {
                            what,
                            signer: fingerprint(&signer_cert),
                            expected_from: set_from,
                        });
                    }
                    Err(source) => {
                        return Err(BootstrapError::PivotSignature {
                            sequence,
                            url: url.clone(),
                            source,
                        });
                    }
                };
                let pl = &doc.list;
                check_lotl_shape(pl).map_err(|reason| BootstrapError::PivotUnusable {
                    sequence,
                    url: url.clone(),
                    reason,
                })?;
                if let Some(s) = sequence
                    && s != pl.sequence
                {
                    return Err(BootstrapError::PivotUnusable {
                        sequence,
                        url: url.clone(),
                        reason: format!("document has TSLSequenceNumber {}", pl.sequence),
                    });
                }
                check_validity(&what, &signer, pl.issued)?;
                let next = eu_self_pointer(pl)
                    .map(|p| p.certificates.clone())
                    .unwrap_or_default();
                if next.is_empty() {
                    return Err(BootstrapError::PivotUnusable {
                        sequence,
                        url: url.clone(),
                        reason: "no EU self-pointer with certificates".into(),
                    });
                }
                set = next;
                set_from = format!("pivot {}", pl.sequence);
                pivots_used.push(pl.sequence);
                pivot_documents.push((url.clone(), doc.bytes.clone()));
            }
            match lotl_doc.signer_among(&set) {
                Ok(s) => s,
                Err(DsigError::UnknownSigner { signer_cert }) => {
                    return Err(BootstrapError::UnexpectedSigner {
                        what: lotl_name,
                        signer: fingerprint(&signer_cert),
                        expected_from: set_from,
                    });
                }
                Err(e) => return Err(BootstrapError::Signature(e)),
            }
        }
        Err(e) => return Err(BootstrapError::Signature(e)),
    };
    check_validity(&lotl_name, &signer_cert, lotl.issued)?;
    let signer_set = eu_self_pointer(lotl)
        .map(|p| p.certificates.clone())
        .unwrap_or_default();
    Ok(LotlTrust {
        status: freshness(lotl, at),
        lotl: lotl.clone(),
        signer_cert,
        signer_set,
        pivots_used,
        pivot_documents,
        alerts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pivot_seq() {
        assert_eq!(
            pivot_sequence_from_url("https://ec.europa.eu/tools/lotl/eu-lotl-pivot-341.xml"),
            Some(341)
        );
        assert_eq!(
            pivot_sequence_from_url("http://x/res/pivot/lotl_test_OJ_1_pivot_01.xml"),
            None
        );
        assert_eq!(pivot_sequence_from_url("https://x/eu-lotl.xml"), None);
    }

    #[test]
    fn relative_location() {
        assert_eq!(
            resolve_location(
                "lotl_test_loc_01.xml",
                "http://h/res/pivot/lotl_test_loc_02.xml"
            ),
            "http://h/res/pivot/lotl_test_loc_01.xml"
        );
        assert_eq!(
            resolve_location("/a.xml", "https://h/x/y.xml"),
            "https://h/a.xml"
        );
        assert_eq!(
            resolve_location("https://o/a.xml", "https://h/y.xml"),
            "https://o/a.xml"
        );
    }

    #[test]
    fn eurlex() {
        assert!(is_eurlex("https://eur-lex.europa.eu/eli/C/2026/1944/oj"));
        assert!(!is_eurlex(
            "https://ec.europa.eu/tools/lotl/eu-lotl-pivot-341.xml"
        ));
    }
}
