//! Shared helpers: locating the shared test data and reading files.
//!
//! Owns: test plumbing only. Must not: verify signatures or decide trust.
#![allow(dead_code)]

// The only line to change when these tests move into signgate (`signgate::trust`).
pub use signgate::trust;

#[path = "../support/data.rs"]
mod data;
pub use data::{data, read};

pub const LOTL_388: &str = "lotl/pyhanko/eu-lotl.seq388.v6.2026-05-22.xml";
pub const LOTL_369: &str = "lotl/pyhanko/eu-lotl-old.seq369.v5.2025-07-31.xml";
pub const LOTL_248: &str = "lotl/dss/eu-lotl.seq248.xml";
pub const LOTL_URL: &str = "https://ec.europa.eu/tools/lotl/eu-lotl.xml";

pub fn anchors_2019() -> trust::anchors::OjAnchors {
    trust::anchors::for_oj_url(trust::anchors::OJ_URL_2019).unwrap()
}

pub fn anchors_2026() -> trust::anchors::OjAnchors {
    trust::anchors::for_oj_url(trust::anchors::OJ_URL_2026).unwrap()
}

/// Pivot source backed by tests/data/lotl/pivots-real (file = URL basename), minus
/// the sequence numbers in `missing`.
pub fn real_pivots(missing: &'static [u64]) -> impl Fn(&str) -> Option<Vec<u8>> {
    move |url: &str| {
        let name = url.rsplit('/').next()?;
        if missing
            .iter()
            .any(|m| name == format!("eu-lotl-pivot-{m}.xml"))
        {
            return None;
        }
        std::fs::read(data("lotl/pivots-real").join(name)).ok()
    }
}

/// Parses a list without verification (for expected values).
pub fn parse(rel: &str) -> trust::tsl::TrustedList {
    trust::tsl::parse_bytes(&read(rel)).expect("parses")
}

pub fn pem_certs(rel: &str) -> Vec<Vec<u8>> {
    let text = String::from_utf8(read(rel)).unwrap();
    trust::anchors::parse_pem_certs(&text, rel).unwrap()
}
