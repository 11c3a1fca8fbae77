//! Persisting the verified state and rebuilding it offline.

use super::common::*;
use time::macros::datetime;
use trust::load::{LoadOptions, load_dir};
use trust::store::{load_store, read_state, save_verified};

#[test]
fn save_and_reload_snapshot() {
    let at = datetime!(2023-10-20 0:00 UTC);
    let opts = LoadOptions {
        pivot_dirs: vec![data("lotl/pivots-real")],
        ..LoadOptions::default()
    };
    let state = load_dir(
        &data("snapshot-2023-10"),
        &anchors_2019(),
        LOTL_URL,
        at,
        &opts,
    )
    .unwrap();
    let store = tempfile::tempdir().unwrap();
    // A stale file from an older state is removed.
    std::fs::write(store.path().join("XX.xml"), b"old").unwrap();
    let saved = save_verified(&state, store.path()).unwrap();
    assert!(!store.path().join("XX.xml").exists());
    assert!(store.path().join("eu-lotl-pivot-282.xml").exists());
    assert_eq!(read_state(store.path()).unwrap().lists, saved.lists);
    let (again, meta) = load_store(
        store.path(),
        &anchors_2019(),
        LOTL_URL,
        read_state(store.path()).unwrap().at,
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(meta.at, at);
    assert_eq!(again.report_json(), state.report_json());
    assert_eq!(again.registry.len(), state.registry.len());
    assert_eq!(again.pivots_used, vec![282, 300]);
    // Nothing temporary left behind.
    assert!(
        std::fs::read_dir(store.path()).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".tmp"))
    );
}
