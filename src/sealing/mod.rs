//! Sealing: producing signatures over finished signing jobs.
//!
//! This module owns everything needed to turn the documents of a completed job into one sealed
//! PDF: the seal key and its certificate chain ([`keys`]), the CMS `SignedData` structure
//! ([`cms`]), intake checks for uploaded PDFs ([`pdf`]), the generated signature page
//! ([`page`]), the PAdES assembly at levels BASELINE-B and BASELINE-LTA ([`pades`], with the
//! byte-level revisions in [`incremental`]), RFC 3161 time-stamping ([`tsa`]) and the
//! long-term validation material ([`ltv`]); per signer, the evidence record ([`evidence`])
//! sealed as XAdES-BASELINE-LT/-LTA ([`xades`]).
//!
//! It is a library layer: it reads key files and byte buffers and returns bytes or typed
//! errors, or writes a sealed PDF into a [`SealSink`] the caller hands over (the spool file of
//! `archive::spool`, so that a large seal is never held in memory); the only network it touches is the TSAs and the OCSP responders / CRL distribution
//! points of the certificates it seals with (through [`tsa`] and [`ltv`]). It must not decide
//! job state, talk to storage or the database, or log document contents or key material.
//! Callers decide what a failure means for a job.

pub mod cms;
pub mod evidence;
mod font_metrics;
pub(crate) mod incremental;
pub mod keys;
pub mod ltv;
pub mod pades;
pub mod page;
pub mod pdf;
pub mod tsa;
pub mod xades;

/// Where a sealed PDF is written: appended to, patched in place, read back and cut short.
/// A file (the sealing spool) in production; memory ([`std::io::Cursor`]) for small seals.
pub trait SealSink: std::io::Read + std::io::Write + std::io::Seek + Send {
    /// Bytes of small appends to collect before writing them to the sink (and digesting
    /// them, when the writer digests as it goes).
    const BUFFER: usize = 64 * 1024;

    /// Truncates (or extends with zeros) to `len` bytes.
    fn set_len(&mut self, len: u64) -> std::io::Result<()>;

    /// A hint that about `bytes` bytes will be written.
    fn reserve(&mut self, _bytes: usize) {}
}

impl SealSink for std::fs::File {
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        std::fs::File::set_len(self, len)
    }
}

impl SealSink for std::io::Cursor<Vec<u8>> {
    const BUFFER: usize = 16 * 1024;

    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        let len = usize::try_from(len).map_err(std::io::Error::other)?;
        self.get_mut().resize(len, 0);
        Ok(())
    }

    fn reserve(&mut self, bytes: usize) {
        let v = self.get_mut();
        v.reserve(bytes.saturating_sub(v.len()));
    }
}

/// Everything that can go wrong while sealing a job.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The seal key could not sign.
    #[error("seal key: {0}")]
    Key(#[from] keys::KeyError),
    /// The CMS signature container could not be built.
    #[error("cms: {0}")]
    Cms(#[from] cms::CmsError),
    /// One of the input documents was rejected.
    #[error("document {index} ({title:?}): {source}")]
    Document {
        /// Position of the document in the job (0-based).
        index: usize,
        /// Title of the document as given by the sender.
        title: String,
        /// Why it was rejected.
        #[source]
        source: pdf::PdfError,
    },
    /// The signature page could not be generated.
    #[error("signature page: {0}")]
    Page(#[from] page::PageError),
    /// The job has nothing to seal.
    #[error("nothing to seal: the job has no documents")]
    NoDocuments,
    /// The merged document could not be assembled or written.
    #[error("assembling the sealed PDF failed: {0}")]
    Assemble(String),
    /// No acceptable timestamp was obtained.
    #[error("time-stamping: {0}")]
    Timestamp(#[from] tsa::TsaError),
    /// The long-term validation material could not be gathered (fail closed: nothing sealed).
    #[error("long-term validation data: {0}")]
    Ltv(#[from] ltv::LtvError),
    /// Writing or reading back the sealed file failed (disk full, I/O error).
    #[error("writing the sealed PDF: {0}")]
    Io(#[from] std::io::Error),
    /// The CMS container does not fit the space reserved for it in the PDF.
    #[error("signature container is {needed} bytes but only {reserved} bytes are reserved")]
    SignatureTooLarge {
        /// Size of the DER-encoded CMS container.
        needed: usize,
        /// Space reserved in `/Contents`.
        reserved: usize,
    },
}
