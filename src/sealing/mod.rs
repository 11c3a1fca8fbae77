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
//! errors; the only network it touches is the TSAs and the OCSP responders / CRL distribution
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
    /// The CMS container does not fit the space reserved for it in the PDF.
    #[error("signature container is {needed} bytes but only {reserved} bytes are reserved")]
    SignatureTooLarge {
        /// Size of the DER-encoded CMS container.
        needed: usize,
        /// Space reserved in `/Contents`.
        reserved: usize,
    },
}
