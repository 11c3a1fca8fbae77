//! Loading directories and checking national lists against LOTL pointers.

use super::common::*;
use time::macros::datetime;
use trust::load::{LoadOptions, check_tl_bytes, load_dir};
use trust::status::ListStatus;
use trust::xmldsig::DsigPolicy;

fn pointer<'a>(lotl: &'a trust::tsl::TrustedList, terr: &'a str) -> &'a trust::tsl::TlPointer {
    lotl.xml_pointers_for(terr)
        .find(|p| !p.is_list_of_lists())
        .unwrap_or_else(|| panic!("no {terr} pointer"))
}

fn snapshot_opts() -> LoadOptions {
    LoadOptions {
        pivot_dirs: vec![data("lotl/pivots-real")],
        ..LoadOptions::default()
    }
}

#[test]
fn snapshot_2023_10() {
    let at = datetime!(2023-10-20 0:00 UTC);
    let dir = data("snapshot-2023-10");
    let t0 = std::time::Instant::now();
    let state = load_dir(&dir, &anchors_2019(), LOTL_URL, at, &snapshot_opts()).expect("loads");
    let elapsed = t0.elapsed();
    println!(
        "snapshot load: {:.1} ms ({} lists, {} registry services)",
        elapsed.as_secs_f64() * 1e3,
        state.lists.len(),
        state.registry.len()
    );
    println!("{}", state.report_text());
    assert_eq!(state.lotl.status, ListStatus::Valid);
    assert_eq!(state.lotl.sequence, Some(332));
    assert_eq!(state.pivots_used, vec![282, 300]);
    assert!(state.alerts.is_empty(), "{:?}", state.alerts);

    let present: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("EU-"))
        .map(|n| n[..2].to_string())
        .collect();
    assert_eq!(present.len(), 19);
    for r in &state.lists {
        let expect = match r.territory.as_str() {
            "FR" | "UK" => ListStatus::Expired,
            t if present.iter().any(|p| p == t) => ListStatus::Valid,
            _ => ListStatus::Unreachable,
        };
        assert_eq!(r.status, expect, "{}: {:?}", r.territory, r.reason);
    }
    let uk = state.lists.iter().find(|r| r.territory == "UK").unwrap();
    assert!(uk.next_update.is_none());
    assert!(uk.reason.as_deref().unwrap().contains("NextUpdate"));
    for t in &present {
        assert!(
            state.lists.iter().any(|r| &r.territory == t),
            "{t} reported"
        );
    }
    // service_types equal what the tsl parser counts.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let list = trust::tsl::parse_bytes(&std::fs::read(&p).unwrap()).unwrap();
        if list.is_lotl() {
            continue;
        }
        let r = state
            .lists
            .iter()
            .find(|r| r.territory == list.territory)
            .unwrap();
        assert_eq!(
            r.service_types,
            list.count_services_by_type(),
            "{}",
            p.display()
        );
        assert_eq!(r.services, list.service_count());
    }
    // Registry holds valid + expired lists (use_expired default true).
    let usable: usize = state
        .lists
        .iter()
        .filter(|r| r.status.is_authentic())
        .map(|r| r.services)
        .sum();
    assert_eq!(state.registry.len(), usable);
    let json: serde_json::Value = serde_json::from_str(&state.report_json()).unwrap();
    assert_eq!(json["lotl"]["status"], "valid");
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["alerts", "lists", "lotl", "warnings"]);
    assert_eq!(
        json["warnings"].as_array().unwrap().len(),
        2,
        "FR and UK used while expired"
    );
    let fr = json["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["territory"] == "FR")
        .unwrap();
    assert_eq!(fr["status"], "expired");
    assert!(!state.services_report(Some("BE")).is_empty());

    // Without expired lists the FR/UK services stay out.
    let strict = LoadOptions {
        use_expired: false,
        ..snapshot_opts()
    };
    let s2 = load_dir(&dir, &anchors_2019(), LOTL_URL, at, &strict).unwrap();
    let valid: usize = s2
        .lists
        .iter()
        .filter(|r| r.status == ListStatus::Valid)
        .map(|r| r.services)
        .sum();
    assert_eq!(s2.registry.len(), valid);

    // Without the pivots the LOTL is not trusted: a clear error naming the oldest
    // missing pivot (282).
    let err = load_dir(&dir, &anchors_2019(), LOTL_URL, at, &LoadOptions::default())
        .expect_err("pivots needed");
    assert!(err.to_string().contains("pivot 282"), "{err}");
}

#[test]
fn be_v6_against_388_and_369() {
    let be = read("tl/pyhanko/tsl-be-v6.seq81.2026-06-15.xml");
    let at = parse("tl/pyhanko/tsl-be-v6.seq81.2026-06-15.xml").issued;
    let pol = DsigPolicy::default();
    let l388 = parse(LOTL_388);
    let (s, r) = check_tl_bytes(pointer(&l388, "BE"), &be, at, &pol);
    assert_eq!(s, ListStatus::Valid, "{r:?}");
    let l369 = parse(LOTL_369);
    let (s, r) = check_tl_bytes(pointer(&l369, "BE"), &be, at, &pol);
    assert_eq!(s, ListStatus::UnknownSigner, "{r:?}");
    println!("BE v6 vs LOTL 369: {}", r.unwrap());
    // Wrong pointer: EE list against the BE pointer.
    let ee = read("tl/pyhanko/tsl-ee.seq68.2025-06-12.xml");
    let (s, _) = check_tl_bytes(pointer(&l388, "BE"), &ee, at, &pol);
    assert_eq!(s, ListStatus::UnknownSigner);
}

#[test]
fn cz_tampered_variants() {
    let at = datetime!(2019-09-05 0:00 UTC);
    let l248 = parse(LOTL_248);
    let cz = pointer(&l248, "CZ");
    let pol = DsigPolicy::default();
    let cases = [
        ("CZ.seq77.xml", ListStatus::Valid),
        ("CZ_broken-sig.xml", ListStatus::InvalidSignature),
        ("CZ_no-sig.xml", ListStatus::InvalidSignature),
        ("CZ_two-sigs.xml", ListStatus::InvalidSignature),
        ("CZ_not-compliant.xml", ListStatus::InvalidSignature),
        ("CZ_not-parsable.xml", ListStatus::Unparseable),
        ("CZ_empty.xml", ListStatus::Unparseable),
    ];
    for (f, want) in cases {
        let (s, r) = check_tl_bytes(cz, &read(&format!("tl/dss-2019/{f}")), at, &pol);
        println!("{f}: {s} {r:?}");
        assert_eq!(s, want, "{f}: {r:?}");
    }
}

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (src, name) in files {
        std::fs::copy(data(src), d.path().join(name)).unwrap();
    }
    d
}

#[test]
fn load_dir_lotl_248_with_tampered_cz() {
    let at = datetime!(2019-09-05 0:00 UTC);
    for (file, want) in [
        ("CZ.seq77.xml", ListStatus::Valid),
        ("CZ_broken-sig.xml", ListStatus::InvalidSignature),
        ("CZ_not-parsable.xml", ListStatus::Unparseable),
        ("CZ_empty.xml", ListStatus::Unparseable),
    ] {
        let d = dir_with(&[
            (LOTL_248, "eu-lotl.xml"),
            (&format!("tl/dss-2019/{file}"), file),
            ("tl/dss-2019/NO.seq50.xml", "NO.xml"),
            ("tl/dss-2019/SE.seq32.xml", "SE.xml"),
        ]);
        let s = load_dir(
            d.path(),
            &anchors_2019(),
            LOTL_URL,
            at,
            &LoadOptions::default(),
        )
        .expect("loads");
        let get = |t: &str| s.lists.iter().find(|r| r.territory == t).unwrap();
        assert_eq!(get("CZ").status, want, "{file}: {:?}", get("CZ").reason);
        assert_eq!(
            get("NO").status,
            ListStatus::Valid,
            "{:?}",
            get("NO").reason
        );
        assert_eq!(
            get("SE").status,
            ListStatus::Valid,
            "{:?}",
            get("SE").reason
        );
        assert_eq!(get("DE").status, ListStatus::Unreachable);
        let cz_services = s.registry.iter().filter(|(t, ..)| *t == "CZ").count();
        assert_eq!(cz_services > 0, want == ListStatus::Valid, "{file}");
        // use_invalid lets the broken list in.
        if want == ListStatus::InvalidSignature {
            let s2 = load_dir(
                d.path(),
                &anchors_2019(),
                LOTL_URL,
                at,
                &LoadOptions {
                    use_invalid: true,
                    ..LoadOptions::default()
                },
            )
            .unwrap();
            assert!(s2.registry.iter().any(|(t, ..)| t == "CZ"));
        }
    }
}

#[test]
fn mra_pointers_kept_apart() {
    let d = dir_with(&[("lotl/dss/mra/mra-lotl.xml", "mra-lotl.xml")]);
    let lotl = parse("lotl/dss/mra/mra-lotl.xml");
    println!(
        "mra lotl: seq {} type {} terr {} pointers {}",
        lotl.sequence,
        lotl.tsl_type,
        lotl.territory,
        lotl.pointers.len()
    );
    let signer = lotl_signer("lotl/dss/mra/mra-lotl.xml");
    let anchors = trust::anchors::OjAnchors {
        oj_url: trust::anchors::OJ_URL_2019.into(),
        certs: vec![signer],
    };
    let s = load_dir(
        d.path(),
        &anchors,
        LOTL_URL,
        lotl.issued,
        &LoadOptions::default(),
    );
    match s {
        Ok(s) => {
            println!("mra pointers: {:?}", s.mra_pointers);
            assert!(!s.mra_pointers.is_empty());
            assert!(
                s.lists
                    .iter()
                    .all(|r| !s.mra_pointers.iter().any(|m| m.location == r.location))
            );
        }
        Err(e) => panic!("{e}"),
    }
}

pub fn lotl_signer(rel: &str) -> Vec<u8> {
    let doc = trust::bootstrap::SignedDoc::read(read(rel), &DsigPolicy::default()).unwrap();
    doc.signature.unwrap().signer_cert
}
