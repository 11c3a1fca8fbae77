//! signgate: a federated EU-interop signing gateway for public-sector organisations.
//!
//! Organisations hand over documents over a REST API; signers authenticate (ID-porten, eIDAS,
//! or the development IdP) and sign in the browser; the gateway seals the result as PAdES. See
//! `README.md` for running it and `../shared/design.md` for the architecture.

pub mod app;
pub mod archive;
pub mod authority;
pub mod cli;
pub mod config;
pub mod http;
pub mod identity;
pub mod jobs;
pub mod notify;
pub mod sealing;
pub mod trust;
pub mod validation;
