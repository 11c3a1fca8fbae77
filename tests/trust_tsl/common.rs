//! Shared helpers for the `crate::trust::tsl` integration tests: locating the shared test
//! data, loading lists, and a pyHanko-style registry count computed on our model.
//!
//! Owns: test plumbing only. Must not: verify signatures or decide trust.
#![allow(dead_code)]

use std::collections::BTreeSet;

use der::{Decode, Encode};
// The only line to change when these tests move into signgate (`signgate::trust::tsl`).
pub use signgate::trust::tsl;

#[path = "../support/data.rs"]
mod data;
pub use data::{data, data_dir, read};

pub fn load(rel: &str) -> tsl::TrustedList {
    tsl::parse_bytes(&read(rel)).unwrap_or_else(|e| panic!("parsing {rel}: {e}"))
}

/// Every `*.xml` directly inside `dir` (relative to the data root), sorted.
pub fn xml_files(dir: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(data(dir))
        .unwrap_or_else(|e| panic!("listing {dir}: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xml"))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    out.sort();
    out
}

/// DER certificates of a PEM bundle. Lenient about line length (pyHanko's bundles use
/// one base64 line per certificate, which strict RFC 7468 parsers reject); every block
/// must still decode as an X.509 certificate.
pub fn pem_bundle(rel: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let text = String::from_utf8(read(rel)).expect("PEM is text");
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            let b64 = body.take().expect("END without BEGIN");
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_else(|e| panic!("{rel}: base64 {e}"));
            x509_cert::Certificate::from_der(&der).unwrap_or_else(|e| panic!("{rel}: {e}"));
            out.push(der);
        } else if let Some(b) = body.as_mut() {
            b.extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
        }
    }
    out
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}

/// Sorted SHA-256 fingerprints (hex) of DER certificates (a multiset, order-free).
pub fn fingerprints(certs: &[Vec<u8>]) -> Vec<String> {
    let mut v: Vec<String> = certs.iter().map(|c| sha256_hex(c)).collect();
    v.sort();
    v
}

/// pyHanko's `TSPRegistry` authority count for a service type: distinct
/// `(subject DN DER, SubjectPublicKeyInfo DER)` over the certificates of every service
/// definition of that type whose status is *granted*, current or historical.
pub fn registry_count(tl: &tsl::TrustedList, type_suffix: &str) -> usize {
    let mut keys = BTreeSet::new();
    let mut add = |certs: &[Vec<u8>]| {
        for der in certs {
            let c = x509_cert::Certificate::from_der(der).expect("listed certificate parses");
            let subject = c.tbs_certificate.subject.to_der().expect("subject DER");
            let spki = c
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .expect("spki DER");
            keys.insert((subject, spki));
        }
    };
    for (_, s) in tl.services() {
        if s.type_suffix() != type_suffix {
            continue;
        }
        if s.status_uri == tsl::STATUS_GRANTED {
            add(&s.identities.certificates);
        }
        for h in &s.history {
            // Like pyHanko: history entries of a service of this (current) type count whatever
            // their own type says.
            if h.status_uri == tsl::STATUS_GRANTED {
                add(&h.identities.certificates);
            }
        }
    }
    keys.len()
}

/// Current services of a type whose current status is *granted*.
pub fn granted_current(tl: &tsl::TrustedList, type_suffix: &str) -> usize {
    tl.services()
        .filter(|(_, s)| s.type_suffix() == type_suffix && s.is_granted())
        .count()
}
