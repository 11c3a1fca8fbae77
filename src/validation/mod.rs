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
pub mod evidence;
pub mod pdf;
pub mod policy;
pub mod qcstatements;
pub mod qualification;
pub mod report;
pub mod revocation;
pub mod tsp;
pub mod xades;
