//! Validation of AdES signatures (PAdES, XAdES, CAdES) per ETSI EN 319 102-1, with
//! qualification per ETSI TS 119 615 / TS 119 172-4.
//!
//! Owns: reading signatures out of PDF, XML and CMS files (one module per format, like EU
//! DSS), the format-independent evidence they yield ([`evidence`]), the EN 319 102-1
//! building blocks (integrity, identification of the signing certificate, X.509 chain
//! validation at the right time, revocation, timestamps and proofs of existence, past
//! signature validation), qualification, and the report ([`report`]).
//!
//! Must not touch: fetching or verifying trusted lists (it asks `crate::trust` for the
//! registry of granted services), HTTP or SQL (the `http::validation` router and the CLI
//! call [`validate`]-style entry points with bytes and get a report back).

pub mod cades;
pub mod chain;
pub mod cms;
pub mod crypto;
pub mod etsi_report;
pub mod evidence;
pub mod name_constraints;
pub mod pades;
pub mod pdf;
pub mod policies;
pub mod policy;
pub mod process;
pub mod qcstatements;
pub mod qualification;
pub mod report;
pub mod revocation;
pub mod tsp;
pub mod xades;

use std::sync::Arc;

use time::OffsetDateTime;

use crate::trust::registry::Registry;
use evidence::Der;
use report::{Finding, Report};

/// Largest document accepted for validation.
pub const MAX_INPUT: usize = 512 * 1024 * 1024;

/// A configured validator: policy, trust anchors, trusted-list registry, and (optionally)
/// an online revocation fetcher. Cheap to share.
#[derive(Clone)]
pub struct Validator {
    /// Validation policy (cryptographic constraints etc.).
    pub policy: policy::Policy,
    /// Explicit trust anchors (DER), e.g. a private PKI root given with `--trust-anchor`.
    pub explicit_anchors: Vec<Der>,
    /// Registry of the granted services of the EU trusted lists.
    pub registry: Option<Arc<Registry>>,
    /// Online OCSP/CRL fetching when the signature carries no answer; `None` = offline.
    pub fetcher: Option<Arc<dyn revocation::RevocationFetcher>>,
}

/// Why a document could not be validated at all (bad input: exit code 2, HTTP 422).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Empty input.
    #[error("the file is empty")]
    Empty,
    /// Too large.
    #[error("the file is larger than {MAX_INPUT} bytes")]
    TooLarge,
    /// Not a PDF, XML or CMS file.
    #[error("not a PDF, XML or CMS (PKCS#7) signature file")]
    UnknownFormat,
    /// The PDF could not be read.
    #[error("PDF: {0}")]
    Pdf(#[from] pdf::PdfError),
    /// The XML could not be read.
    #[error("XML: {0}")]
    Xml(#[from] xades::XadesError),
    /// The CMS could not be read.
    #[error("CMS: {0}")]
    Cms(#[from] cades::CadesError),
}

/// The detected container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// PDF.
    Pdf,
    /// XML.
    Xml,
    /// CMS / PKCS#7 (DER, PEM or base64).
    Cms,
}

/// Detects the container from the first bytes.
pub fn detect(bytes: &[u8]) -> Option<Container> {
    let head = &bytes[..bytes.len().min(1024)];
    if crate::sealing::pdf::find(head, b"%PDF-").is_some() {
        return Some(Container::Pdf);
    }
    let trimmed = head
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(head)
        .trim_ascii_start();
    match trimmed.first() {
        Some(b'<') => Some(Container::Xml),
        Some(0x30) => Some(Container::Cms),
        Some(_) if trimmed.starts_with(b"-----BEGIN") => Some(Container::Cms),
        Some(c) if c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/' => Some(Container::Cms),
        _ => None,
    }
}

impl Validator {
    /// A validator with the default policy and no trust at all (everything is
    /// `NO_CERTIFICATE_CHAIN_FOUND` until anchors or a registry are added).
    pub fn new() -> Self {
        Validator {
            policy: policy::Policy::default_eu(),
            explicit_anchors: Vec::new(),
            registry: None,
            fetcher: None,
        }
    }

    /// Validates every signature in `bytes` (a PDF, an XML document or a CMS file) at
    /// `validation_time`. `detached` is the signed document of a detached XAdES/CAdES
    /// signature, with its file name.
    pub fn validate(
        &self,
        bytes: &[u8],
        detached: Option<(&str, &[u8])>,
        validation_time: OffsetDateTime,
    ) -> Result<Report, InputError> {
        if bytes.is_empty() {
            return Err(InputError::Empty);
        }
        if bytes.len() > MAX_INPUT {
            return Err(InputError::TooLarge);
        }
        let mut doc_warnings: Vec<Finding> = Vec::new();
        let evidence = match detect(bytes).ok_or(InputError::UnknownFormat)? {
            Container::Pdf => {
                let (ev, findings) = pades::read_pades(bytes)?;
                doc_warnings.extend(findings);
                ev
            }
            Container::Xml => xades::read_xades(bytes, detached, &tsp::check_timestamp)?,
            Container::Cms => cades::read_cades(bytes, detached.map(|d| d.1))?,
        };
        let signatures = evidence
            .iter()
            .map(|ev| process::validate_signature(self, ev, validation_time))
            .collect();
        Ok(Report {
            validation_time,
            policy: self.policy.name.clone(),
            document: None,
            signatures,
            warnings: doc_warnings,
        })
    }
}

impl Default for Validator {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads every certificate of a PEM file (one or more `CERTIFICATE` blocks) or a single
/// DER certificate.
pub fn certs_from_pem_or_der(bytes: &[u8]) -> Result<Vec<Der>, String> {
    use der::Decode as _;
    if bytes.first() == Some(&0x30) {
        x509_cert::Certificate::from_der(bytes).map_err(|e| e.to_string())?;
        return Ok(vec![bytes.to_vec()]);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "neither PEM nor DER".to_string())?;
    crate::trust::anchors::parse_pem_certs(text, "trust anchor").map_err(|e| e.to_string())
}

/// Reads a file to validate: memory-mapped when large (hashing streams over the map, so
/// a 100 MB PDF costs its page cache, not a copy), refusing more than [`MAX_INPUT`].
pub fn read_input(path: &std::path::Path) -> std::io::Result<InputBytes> {
    let f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    if len > MAX_INPUT as u64 {
        return Err(std::io::Error::other(InputError::TooLarge.to_string()));
    }
    if len >= 1024 * 1024 {
        // SAFETY: the map is read-only; a concurrent truncation by another process can
        // raise SIGBUS, the documented risk of file maps that the CLI accepts for the
        // memory it saves on large documents.
        let map = unsafe { memmap2::Mmap::map(&f)? };
        return Ok(InputBytes::Mapped(map));
    }
    Ok(InputBytes::Owned(std::fs::read(path)?))
}

/// Bytes of a document: owned or memory-mapped.
pub enum InputBytes {
    /// Read into memory.
    Owned(Vec<u8>),
    /// Memory-mapped.
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for InputBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            InputBytes::Owned(v) => v,
            InputBytes::Mapped(m) => m,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<std::path::PathBuf> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let mut out = Vec::new();
        let mut dirs = vec![root.join("pades"), root.join("xades"), root.join("cades")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    out.push(p);
                }
            }
        }
        out.sort();
        out
    }

    /// The whole pipeline (container detection, format readers, EN 319 102-1 process)
    /// never panics on damaged real files: truncations and byte flips of every sample.
    #[test]
    fn damaged_samples_never_panic() {
        let v = Validator::new();
        let at = OffsetDateTime::now_utc();
        let mut seed: u64 = 0x5eed_1234_abcd_ef01;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let files = samples();
        assert!(files.len() >= 30, "samples missing: {}", files.len());
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            let _ = v.validate(&bytes, None, at);
            for _ in 0..12 {
                let mut b = bytes.clone();
                let n = (next() as usize) % b.len().max(1);
                match next() % 3 {
                    0 => b.truncate(n),
                    1 => {
                        for _ in 0..8 {
                            let i = (next() as usize) % b.len().max(1);
                            if let Some(x) = b.get_mut(i) {
                                *x ^= (next() as u8) | 1;
                            }
                        }
                    }
                    _ => {
                        let end = (n + 64).min(b.len());
                        b.drain(n..end);
                    }
                }
                let _ = v.validate(&b, None, at);
            }
        }
    }

    #[test]
    fn container_detection() {
        assert_eq!(detect(b"%PDF-1.7\n"), Some(Container::Pdf));
        assert_eq!(
            detect(b"\xEF\xBB\xBF  <?xml version='1.0'?><a/>"),
            Some(Container::Xml)
        );
        assert_eq!(detect(&[0x30, 0x82, 0x01]), Some(Container::Cms));
        assert_eq!(detect(b"-----BEGIN PKCS7-----"), Some(Container::Cms));
        assert_eq!(detect(b"\x00\x01"), None);
        assert!(matches!(
            Validator::new().validate(b"", None, OffsetDateTime::now_utc()),
            Err(InputError::Empty)
        ));
    }
}
