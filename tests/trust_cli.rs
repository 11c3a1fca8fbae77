//! `signgate trust refresh --from-dir` and `signgate trust show` on the real 2023-10 snapshot
//! (LOTL seq 332 tied to the OJ 2019 anchors through pivots 282 and 300).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_signgate");
const OJ_2019: &str =
    "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=uriserv:OJ.C_.2019.276.01.0001.01.ENG";

fn data(rel: &str) -> String {
    format!("{}/tests/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn signgate(dir: &std::path::Path, oj: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .current_dir(dir)
        .env("SIGNGATE__TRUST__OJ_URL", oj)
        .env("SIGNGATE__TRUST__STORE_DIR", dir.join("trust"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn refresh_from_dir_then_show() {
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = data("snapshot-2023-10");
    let pivots = data("lotl/pivots-real");
    let refresh = [
        "trust",
        "refresh",
        "--from-dir",
        &snapshot,
        "--pivot-dir",
        &pivots,
        "--at",
        "2023-10-20T00:00:00Z",
    ];
    let out = signgate(tmp.path(), OJ_2019, &refresh);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("LOTL seq 332"), "{text}");
    assert!(text.contains("via pivots [282, 300]"), "{text}");

    let out = signgate(tmp.path(), OJ_2019, &["trust", "show", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["lotl"]["sequence"], 332);
    assert_eq!(report["lotl"]["status"], "valid");
    let lists = report["lists"].as_array().unwrap();
    let status = |cc: &str| {
        lists
            .iter()
            .find(|l| l["territory"] == cc)
            .map(|l| l["status"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    for cc in [
        "AT", "BE", "CY", "CZ", "DK", "EE", "FI", "HR", "IE", "IS", "LI", "LT", "LU", "LV", "MT",
        "NO", "SE",
    ] {
        assert_eq!(status(cc), "valid", "{cc}");
    }
    assert_eq!(status("FR"), "expired");
    assert_eq!(status("UK"), "expired");
    assert_eq!(status("DE"), "unreachable");
    let no = lists.iter().find(|l| l["territory"] == "NO").unwrap();
    assert_eq!(no["sequence"], 71);
    assert_eq!(no["providers"], 14);
    assert_eq!(no["services"], 46);
    assert_eq!(no["service_types"]["CA/QC"], 40);
    assert_eq!(no["service_types"]["TSA/QTST"], 6);

    // One territory, and the per-service listing.
    let out = signgate(
        tmp.path(),
        OJ_2019,
        &["trust", "show", "--territory", "SE", "--format", "json"],
    );
    let se: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(se["lists"].as_array().unwrap().len(), 1);
    let out = signgate(
        tmp.path(),
        OJ_2019,
        &[
            "trust",
            "show",
            "--services",
            "--territory",
            "NO",
            "--format",
            "json",
        ],
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 46);
    assert!(rows.iter().all(|r| r["territory"] == "NO"));

    // Configured for the 2026 OJ publication, LOTL 332 (which names the 2019 one) still ties
    // through its pivots, and the OJ-URL change is reported as an alert.
    let newer = tempfile::tempdir().unwrap();
    let out = signgate(
        newer.path(),
        "https://eur-lex.europa.eu/eli/C/2026/1944/oj",
        &refresh,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ALERT"));
    let out = signgate(
        newer.path(),
        "https://eur-lex.europa.eu/eli/C/2026/1944/oj",
        &["trust", "show", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let alert = &v["alerts"][0];
    assert_eq!(alert["kind"], "oj_url_changed", "{v}");
    assert_eq!(alert["announced"], OJ_2019, "{v}");

    // Without its pivots, LOTL 332 cannot be tied to an anchor: nothing is trusted or stored.
    let other = tempfile::tempdir().unwrap();
    let out = signgate(
        other.path(),
        OJ_2019,
        &[
            "trust",
            "refresh",
            "--from-dir",
            &snapshot,
            "--at",
            "2023-10-20T00:00:00Z",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pivot 282"), "{err}");
    assert_eq!(err.matches("pivot 282 missing").count(), 1, "{err}");
    assert!(
        !other.path().join("trust/state.json").exists(),
        "nothing stored"
    );
}

#[test]
fn show_without_a_store_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let out = signgate(tmp.path(), OJ_2019, &["trust", "show"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("signgate trust refresh"));
}
