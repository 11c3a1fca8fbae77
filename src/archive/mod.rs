//! Persistence.
//!
//! Owns: `store` (jobs, organisations, the event feed and hash-chained audit log, the sealing
//! queue; SQLite or PostgreSQL with the same migrations) and `blobs` (documents and sealed
//! results). Must not: be called from `validation`, or decide job state.

pub mod blobs;
pub mod store;
