//! Shared helpers for the integration tests: sample paths, the xmlsec1 counterpart and
//! KeyInfo extraction. Owns nothing in the library; must not be used outside tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use signgate::trust::xmldsig::{self, DsigError, DsigPolicy, VerifiedSignature};

/// Real trusted lists and certificates (copied from the shared sample set; see
/// tests/data/MANIFEST.md for origins, licences and expected outcomes).
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

pub fn data(rel: &str) -> PathBuf {
    Path::new(DATA).join(rel)
}

/// Every `*.xml` in a data sub-directory, sorted.
pub fn xml_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data(dir))
        .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    v.sort();
    v
}

/// Runs xmlsec1 on a file, verifying with the certificate embedded in KeyInfo
/// (`--insecure`: no chain building; the key is taken from the X509Certificate).
/// Panics (fails the test loudly) if xmlsec1 cannot be run.
pub fn xmlsec1_verifies(path: &Path) -> bool {
    let out = Command::new("xmlsec1")
        .args([
            "--verify",
            "--enabled-reference-uris",
            "empty,same-doc",
            "--id-attr:Id",
            "TrustServiceStatusList",
            "--id-attr:Id",
            "SignedProperties",
            "--insecure",
        ])
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!("xmlsec1 is required for these tests (apt-get install xmlsec1): {e}")
        });
    out.status.success()
}

/// Reads and verifies a file with no candidates (KeyInfo certificate only).
pub fn verify_file(path: &Path, candidates: &[&[u8]]) -> Result<VerifiedSignature, DsigError> {
    verify_file_with(path, candidates, &DsigPolicy::default())
}

pub fn verify_file_with(
    path: &Path,
    candidates: &[&[u8]],
    policy: &DsigPolicy,
) -> Result<VerifiedSignature, DsigError> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {path:?}: {e}"));
    verify_bytes_with(&bytes, candidates, policy)
}

pub fn verify_bytes(bytes: &[u8], candidates: &[&[u8]]) -> Result<VerifiedSignature, DsigError> {
    verify_bytes_with(bytes, candidates, &DsigPolicy::default())
}

pub fn verify_bytes_with(
    bytes: &[u8],
    candidates: &[&[u8]],
    policy: &DsigPolicy,
) -> Result<VerifiedSignature, DsigError> {
    let text = xmldsig::decode_utf8(bytes)?;
    let doc = xmldsig::parse_document(text)?;
    xmldsig::verify_enveloped(&doc, candidates, policy)
}

/// The DER certificates of the (first) ds:KeyInfo, extracted independently of the
/// library (plain roxmltree walk + base64).
pub fn keyinfo_certs(xml: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let doc = roxmltree::Document::parse(xml).expect("parse");
    let Some(ki) = doc
        .descendants()
        .find(|n| n.has_tag_name((xmldsig::DSIG_NS, "KeyInfo")))
    else {
        return Vec::new();
    };
    ki.descendants()
        .filter(|n| n.has_tag_name((xmldsig::DSIG_NS, "X509Certificate")))
        .map(|n| {
            let b64: String = n
                .text()
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64 cert")
        })
        .collect()
}

/// Writes `content` to a unique temporary file and returns its path.
pub fn temp_file(name: &str, content: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("trust-dsig-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write temp");
    p
}
