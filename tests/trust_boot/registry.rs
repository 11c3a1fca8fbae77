//! Registry look-ups on real certificates and lists.

use super::common::*;
use time::macros::datetime;
use trust::load::check_tl;
use trust::registry::Registry;
use trust::status::ListStatus;
use trust::xmldsig::DsigPolicy;

fn registry_for(tl: &str, lotl: &str, terr: &'static str, at: time::OffsetDateTime) -> Registry {
    let doc = trust::bootstrap::SignedDoc::read(read(tl), &DsigPolicy::default()).unwrap();
    let l = parse(lotl);
    let p = l
        .xml_pointers_for(terr)
        .find(|p| !p.is_list_of_lists())
        .unwrap();
    let (status, reason, _) = check_tl(p, &doc, at);
    assert_eq!(status, ListStatus::Valid, "{tl}: {reason:?}");
    Registry::build([(terr, &doc.list, false)])
}

#[test]
fn real_qcert_issuer_is_granted_ca_qc() {
    let at = datetime!(2025-06-01 0:00 UTC);
    let reg = registry_for(
        "tl/pyhanko/tsl-be-old.seq74.2025-01-27.xml",
        LOTL_369,
        "BE",
        at,
    );
    let cert = read("certs/pyhanko-real/real-qcert.cer");
    let m = reg.services_for_certificate(&cert);
    assert!(!m.is_empty());
    for x in &m {
        println!(
            "match: {} / {} / {} direct={}",
            x.territory, x.provider, x.service.name, x.direct
        );
    }
    let g = reg.granted_at(&cert, at);
    let ca: Vec<_> = g.iter().filter(|g| g.type_suffix == "CA/QC").collect();
    assert!(!ca.is_empty(), "{g:?}");
    let s = ca[0];
    assert!(!s.direct);
    assert!(
        s.additional_info
            .iter()
            .any(|u| u.ends_with("ForeSignatures")),
        "{:?}",
        s.additional_info
    );
    let managed = s.qualifications.iter().find(|q| {
        q.qualifiers
            .iter()
            .any(|u| u.ends_with("QCQSCDManagedOnBehalf"))
    });
    let managed = managed.unwrap_or_else(|| panic!("{:?}", s.qualifications));
    assert!(
        !managed.criteria.policy_sets.is_empty()
            || managed
                .criteria
                .nested
                .iter()
                .any(|n| !n.policy_sets.is_empty()),
        "QCQSCDManagedOnBehalf selected by policy: {:?}",
        managed.criteria
    );
    // Before the service existed nothing is in force.
    assert!(
        reg.granted_at(&cert, datetime!(2000-01-01 0:00 UTC))
            .is_empty()
    );
}

#[test]
fn real_qtst_cert_directly_listed() {
    let at = datetime!(2025-06-01 0:00 UTC);
    let reg = registry_for(
        "tl/pyhanko/tsl-be-old.seq74.2025-01-27.xml",
        LOTL_369,
        "BE",
        at,
    );
    let cert = read("certs/pyhanko-real/real-qtst-cert.cer");
    let g = reg.granted_at(&cert, datetime!(2025-08-06 0:00 UTC));
    let q: Vec<_> = g.iter().filter(|g| g.direct).collect();
    assert!(!q.is_empty(), "{g:?}");
    assert_eq!(q[0].type_suffix, "TSA/QTST");
    assert!(q[0].status_uri.ends_with("/granted"));
}

#[test]
fn ee_misissued_tsa_listed_as_qtst() {
    let at = datetime!(2025-08-06 0:00 UTC);
    let reg = registry_for("tl/pyhanko/tsl-ee.seq68.2025-06-12.xml", LOTL_369, "EE", at);
    let cert = read("certs/pyhanko-real/real-misissued-qtst-cert.cer");
    let m = reg.services_for_certificate(&cert);
    assert!(
        m.iter().any(|x| x.service.type_suffix() == "TSA/QTST"),
        "{m:?}"
    );
    let g = reg.granted_at(&cert, at);
    assert!(g.iter().any(|g| g.type_suffix == "TSA/QTST"), "{g:?}");
}

#[test]
fn garbage_input_never_panics() {
    let at = datetime!(2025-06-01 0:00 UTC);
    let reg = registry_for(
        "tl/pyhanko/tsl-be-old.seq74.2025-01-27.xml",
        LOTL_369,
        "BE",
        at,
    );
    let cert = read("certs/pyhanko-real/real-qcert.cer");
    for n in 0..cert.len() {
        let _ = reg.services_for_certificate(&cert[..n]);
    }
    assert!(reg.services_for_certificate(b"").is_empty());
}

#[test]
fn lookup_timing() {
    // Whole 2023-10 snapshot registry plus the BE 2025 list.
    let at = datetime!(2023-10-20 0:00 UTC);
    let state = trust::load::load_dir(
        &data("snapshot-2023-10"),
        &anchors_2019(),
        LOTL_URL,
        at,
        &trust::load::LoadOptions {
            pivot_dirs: vec![data("lotl/pivots-real")],
            ..Default::default()
        },
    )
    .unwrap();
    let reg = &state.registry;
    let certs = [
        read("certs/pyhanko-real/real-qcert.cer"),
        read("certs/pyhanko-real/real-qtst-cert.cer"),
        read("certs/pyhanko-real/real-misissued-qtst-cert.cer"),
    ];
    let n = 200_000;
    let t0 = std::time::Instant::now();
    let mut hits = 0usize;
    for i in 0..n {
        hits += reg.services_for_certificate(&certs[i % certs.len()]).len();
    }
    let dt = t0.elapsed();
    println!(
        "services_for_certificate: {:.0} ns/lookup over {} services ({} hits total, {} lookups)",
        dt.as_nanos() as f64 / n as f64,
        reg.len(),
        hits,
        n
    );
}
