//! Locating the real test data (`tests/data`, see its MANIFEST.md), shared by the trust test
//! crates through `#[path]`. Owns: test plumbing only.

use std::path::{Path, PathBuf};

/// Root of the test data: `SIGNGATE_TEST_DATA` wins, else the copy in `tests/data`.
pub fn data_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("SIGNGATE_TEST_DATA") {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(manifest.join("tests/data"));
    candidates
        .into_iter()
        .find(|p| p.join("MANIFEST.md").is_file())
        .expect(
            "shared test data not found (set SIGNGATE_TEST_DATA to the folder holding MANIFEST.md)",
        )
}

/// A file or folder below the data root.
pub fn data(rel: &str) -> PathBuf {
    data_dir().join(rel)
}

/// The bytes of a data file.
pub fn read(rel: &str) -> Vec<u8> {
    let p = data(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}
