//! The ETSI TS 119 612 parser against real trusted lists: counts cross-checked by an
//! independent Python counter, facts from the sample manifest, real certificates, robustness.

mod common;
mod manifest_facts;
mod python_counts;
mod real_certs;
mod robustness;
mod timing;
