//! Signature jobs, signers and documents: the state machine and its events, and the service
//! API the HTTP layer calls.
//!
//! Owns: the rules of a job's life (who may sign, when it completes, fails, is cancelled or
//! expires). Must not: know HTTP, SQL or XML.

pub mod authority;
pub mod machine;
pub mod model;
pub mod service;
