//! Test 1: provider / service / per-type counts of our parser equal an independent count
//! by a stdlib-only Python script (`tests/tsl_count.py`) on the same XML, for every
//! national TL and LOTL of the 2023-10 snapshot, the pyHanko and DSS-2019 lists and the
//! DSS v5/v6 structure samples. Also compares pyHanko-style registry counts.
//!
//! Owns: the cross-check and the printed table. Must not: verify signatures or decide trust.

use std::collections::BTreeMap;
use std::process::Command;

use crate::common::{data, data_dir, load, registry_count, xml_files};

fn corpus() -> Vec<String> {
    let mut files = xml_files("snapshot-2023-10");
    files.extend(xml_files("tl/pyhanko"));
    files.extend(
        ["CZ.seq77.xml", "NO.seq50.xml", "SE.seq32.xml"]
            .iter()
            .map(|f| format!("tl/dss-2019/{f}")),
    );
    files.push("tl/dss-structure/fi-v5.xml".into());
    files.push("tl/dss-structure/fi-v6.xml".into());
    files.push("lotl/pyhanko/eu-lotl.seq388.v6.2026-05-22.xml".into());
    files.push("lotl/pyhanko/eu-lotl-old.seq369.v5.2025-07-31.xml".into());
    files.push("lotl/dss/eu-lotl.seq248.xml".into());
    files
}

#[derive(Debug)]
struct PyCount {
    pointers: usize,
    xml_pointers: usize,
    providers: usize,
    services: usize,
    by_type: BTreeMap<String, usize>,
    registry_ca: usize,
    registry_qtst: usize,
}

fn python_counts(files: &[String]) -> BTreeMap<String, PyCount> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/trust_tsl/tsl_count.py");
    let paths: Vec<_> = files.iter().map(|f| data(f)).collect();
    let out = Command::new("python3")
        .arg(script)
        .args(&paths)
        .output()
        .expect("python3 must be installed");
    assert!(
        out.status.success(),
        "python counter failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = data_dir();
    let mut res = BTreeMap::new();
    for line in String::from_utf8(out.stdout).expect("utf8").lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        let file = v["file"].as_str().expect("file");
        let rel = std::path::Path::new(file)
            .strip_prefix(&root)
            .expect("under data root")
            .to_string_lossy()
            .into_owned();
        let n = |k: &str| v[k].as_u64().expect(k) as usize;
        let by_type = v["by_type"]
            .as_object()
            .expect("by_type")
            .iter()
            .map(|(k, c)| (k.clone(), c.as_u64().expect("count") as usize))
            .collect();
        res.insert(
            rel,
            PyCount {
                pointers: n("pointers"),
                xml_pointers: n("xml_pointers"),
                providers: n("providers"),
                services: n("services"),
                by_type,
                registry_ca: n("registry_ca"),
                registry_qtst: n("registry_qtst"),
            },
        );
    }
    res
}

#[test]
fn counts_match_independent_python_counter() {
    let files = corpus();
    let py = python_counts(&files);
    assert_eq!(py.len(), files.len(), "python counted every file");

    println!(
        "\n{:<48} {:>9} {:>9} {:>9} {:>9} {:>11} {:>9} {:>9}  ok",
        "file", "ptrs(xml)", "TSPs", "services", "CA/QC", "TSA/QTST", "reg CA", "reg QTST"
    );
    println!(
        "{:<48} {:>9} {:>9} {:>9} {:>9} {:>11} {:>9} {:>9}",
        "", "ours/py", "ours/py", "ours/py", "ours/py", "ours/py", "ours/py", "ours/py"
    );
    let mut failures = Vec::new();
    for f in &files {
        let tl = load(f);
        let p = &py[f];
        let ours_types = tl.count_services_by_type();
        let get = |m: &BTreeMap<String, usize>, k: &str| m.get(k).copied().unwrap_or(0);
        let (rca, rqt) = (
            registry_count(&tl, "CA/QC"),
            registry_count(&tl, "TSA/QTST"),
        );
        let ok = tl.pointers.len() == p.pointers
            && tl.xml_pointers().count() == p.xml_pointers
            && tl.provider_count() == p.providers
            && tl.service_count() == p.services
            && ours_types == p.by_type
            && rca == p.registry_ca
            && rqt == p.registry_qtst;
        println!(
            "{:<48} {:>4}/{:<4} {:>4}/{:<4} {:>4}/{:<4} {:>4}/{:<4} {:>5}/{:<5} {:>4}/{:<4} {:>4}/{:<4}  {}",
            f.trim_end_matches(".xml"),
            tl.xml_pointers().count(),
            p.xml_pointers,
            tl.provider_count(),
            p.providers,
            tl.service_count(),
            p.services,
            get(&ours_types, "CA/QC"),
            get(&p.by_type, "CA/QC"),
            get(&ours_types, "TSA/QTST"),
            get(&p.by_type, "TSA/QTST"),
            rca,
            p.registry_ca,
            rqt,
            p.registry_qtst,
            if ok { "=" } else { "MISMATCH" }
        );
        if !ok {
            failures.push(format!(
                "{f}: ours types {ours_types:?} vs python {:?}",
                p.by_type
            ));
        }
        // Real lists must parse without structure errors (warnings allowed).
        let errors: Vec<_> = tl.errors().map(ToString::to_string).collect();
        assert!(
            errors.is_empty(),
            "{f}: unexpected structure errors {errors:#?}"
        );
    }
    assert!(failures.is_empty(), "count mismatches: {failures:#?}");
}
