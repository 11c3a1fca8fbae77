//! The Official Journal (OJEU) anchors of the EU LOTL: which certificates the European
//! Commission published as LOTL signers, per OJ publication.
//!
//! Owns: the two shipped PEM bundles (`trust-lists/oj-c-276-2019.pem`,
//! `trust-lists/oj-c-2026-1944.pem`, embedded at build time), their OJ URLs, lookup by
//! OJ URL, and loading an operator-configured `anchors_file`.
//! Must not touch: LOTL parsing or signature checks (that is `bootstrap`), fetching.

use std::path::Path;

use base64::Engine as _;

use super::cert::CertView;

/// OJ URL of OJ C 276, 16.8.2019 (first published LOTL signer set still in use).
pub const OJ_URL_2019: &str =
    "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=uriserv:OJ.C_.2019.276.01.0001.01.ENG";
/// OJ URL of OJ C/2026/1944, 15.4.2026 (the re-anchoring publication).
pub const OJ_URL_2026: &str = "https://eur-lex.europa.eu/eli/C/2026/1944/oj";
/// The default configured OJ URL (`[trust] oj_url`).
pub const DEFAULT_OJ_URL: &str = OJ_URL_2026;

const PEM_2019: &str = include_str!("../../trust-lists/oj-c-276-2019.pem");
const PEM_2026: &str = include_str!("../../trust-lists/oj-c-2026-1944.pem");

/// One OJ publication: its URL and the LOTL signer certificates it lists (DER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OjAnchors {
    /// The OJ URL as the LOTL names it in `SchemeInformationURI`.
    pub oj_url: String,
    /// DER certificates.
    pub certs: Vec<Vec<u8>>,
}

impl OjAnchors {
    /// `true` when `der` is one of the anchor certificates (byte-equal).
    pub fn contains(&self, der: &[u8]) -> bool {
        self.certs.iter().any(|c| c == der)
    }
}

/// Anchor loading failures.
#[derive(Debug, thiserror::Error)]
pub enum AnchorsError {
    /// The file could not be read.
    #[error("cannot read anchors file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A PEM block is not valid base64 or not a certificate.
    #[error("anchors file {path}: certificate #{index} is invalid: {reason}")]
    BadCertificate {
        /// The path (or `<embedded>`).
        path: String,
        /// 1-based index of the PEM block.
        index: usize,
        /// Why.
        reason: String,
    },
    /// No certificate found.
    #[error("anchors file {0} holds no certificate")]
    Empty(String),
}

/// Decodes every `CERTIFICATE` PEM block of `text` (other blocks and text are ignored)
/// and checks each is a readable X.509 certificate.
pub fn parse_pem_certs(text: &str, origin: &str) -> Result<Vec<Vec<u8>>, AnchorsError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(BEGIN) {
        let after = &rest[i + BEGIN.len()..];
        let index = out.len() + 1;
        let j = after
            .find(END)
            .ok_or_else(|| AnchorsError::BadCertificate {
                path: origin.to_string(),
                index,
                reason: "missing END line".into(),
            })?;
        let b64: String = after[..j].chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| AnchorsError::BadCertificate {
                path: origin.to_string(),
                index,
                reason: e.to_string(),
            })?;
        CertView::parse(&der).map_err(|e| AnchorsError::BadCertificate {
            path: origin.to_string(),
            index,
            reason: e.to_string(),
        })?;
        out.push(der);
        rest = &after[j + END.len()..];
    }
    if out.is_empty() {
        return Err(AnchorsError::Empty(origin.to_string()));
    }
    Ok(out)
}

fn embedded(url: &str, pem: &str) -> OjAnchors {
    // The embedded bundles are checked by the unit test below; a broken bundle would
    // be a build defect, so an empty set (which trusts nothing) is the safe fallback.
    OjAnchors {
        oj_url: url.to_string(),
        certs: parse_pem_certs(pem, "<embedded>").unwrap_or_default(),
    }
}

/// Both shipped anchor sets, oldest first.
pub fn shipped() -> Vec<OjAnchors> {
    vec![
        embedded(OJ_URL_2019, PEM_2019),
        embedded(OJ_URL_2026, PEM_2026),
    ]
}

/// The shipped anchor set of the OJ publication `url` (exact URL match, surrounding
/// whitespace ignored).
pub fn for_oj_url(url: &str) -> Option<OjAnchors> {
    let url = url.trim();
    shipped().into_iter().find(|a| a.oj_url == url)
}

/// Loads an operator-supplied PEM bundle (`[trust] anchors_file`) for OJ URL `oj_url`.
pub fn from_pem_file(path: &Path, oj_url: &str) -> Result<OjAnchors, AnchorsError> {
    let text = std::fs::read_to_string(path).map_err(|source| AnchorsError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(OjAnchors {
        oj_url: oj_url.trim().to_string(),
        certs: parse_pem_certs(&text, &path.display().to_string())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_sets() {
        let s = shipped();
        assert_eq!(s[0].certs.len(), 8);
        assert_eq!(s[1].certs.len(), 6);
        assert_eq!(for_oj_url(DEFAULT_OJ_URL).unwrap().certs.len(), 6);
        assert!(for_oj_url("https://example.org/").is_none());
    }
}
