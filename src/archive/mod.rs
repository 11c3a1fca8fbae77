//! Persistence.
//!
//! Owns: `store` (jobs, organisations, the event feed and hash-chained audit log, the sealing
//! queue; SQLite or PostgreSQL with the same migrations), `blobs` (documents and sealed
//! results) and `spool` (the local files sealed PDFs are written to before they become
//! blobs). Must not: be called from `validation`, or decide job state.

pub mod blobs;
pub mod spool;
pub mod store;
