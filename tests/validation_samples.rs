//! `signgate validate` on the real PAdES, XAdES and CAdES samples of tests/data (section G–I
//! of tests/data/MANIFEST.md): the format/level, integrity and indication EU DSS and pyHanko
//! assert for each, offline, without trusted lists. Also: bad input exits 2, and
//! `POST /api/v1/validations` answers with the same report over HTTP.

#[path = "support/cades_legacy.rs"]
mod cades_legacy;
mod common;

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_signgate");

fn data(rel: &str) -> String {
    format!("{}/tests/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn validate(args: &[&str]) -> (i32, Value, String) {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(tmp.path())
        .env("SIGNGATE__TRUST__STORE_DIR", tmp.path().join("trust"))
        .args([
            "validate",
            "--offline",
            "--no-trusted-lists",
            "--format",
            "json",
        ])
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, report, stderr)
}

fn sigs(report: &Value) -> &Vec<Value> {
    report["signatures"].as_array().expect("signatures")
}

/// No failed integrity check (CV) and not TOTAL_FAILED.
fn intact(sig: &Value) -> bool {
    sig["indication"] != "TOTAL_FAILED"
        && !sig["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["constraint"].as_str().unwrap_or("").starts_with("CV"))
}

#[test]
fn pades_samples() {
    // (file, signatures, formats, all intact)
    let cases: &[(&str, usize, &[&str], bool)] = &[
        (
            "pades/dss/pdf-signed-original.pdf",
            1,
            &["PAdES-BASELINE-B"],
            true,
        ),
        (
            "pades/dss/hello_signed_INCSAVE_signed.pdf",
            2,
            &["PAdES-BASELINE-B"; 2],
            true,
        ),
        // DSS DSS1469Test asserts PAdES_BASELINE_T; we report PAdES-BASELINE-LTA because
        // its DSS carries revocation data for the whole signer chain and a document
        // timestamp covers it. Known disagreement (DSS's LT check also weighs the
        // revocation data's freshness against the best-signature-time), not asserted.
        ("pades/dss/doc-firmado.pdf", 1, &[], true),
        (
            "pades/dss/doc-firmado-T.pdf",
            1,
            &["PAdES-BASELINE-T"],
            true,
        ),
        (
            "pades/dss/doc-firmado-LT.pdf",
            1,
            &["PAdES-BASELINE-LT"],
            true,
        ),
        ("pades/dss/pades-bes.pdf", 1, &["PAdES-BES"], true),
        (
            "pades/dss/Test.signed_Certipost-2048-SHA512.extended-LTA.pdf",
            1,
            &["PAdES-BASELINE-LTA"],
            true,
        ),
        // Real German QES with PLAIN-ECDSA on brainpoolP256r1 (pyHanko cannot verify it).
        (
            "pades/dss/TeleSec_PKS_eIDAS_QES_CA_1-baseline-b.pdf",
            1,
            &[],
            true,
        ),
        (
            "pades/dss/plugtests/Signature-P-DE_SCI-4.pdf",
            1,
            &["PAdES-BASELINE-LTA"],
            true,
        ),
        ("pades/dss/plugtests/Signature-P-SK-6.pdf", 2, &[], true),
        (
            "pades/dss/pades-5-signatures-and-1-document-timestamp.pdf",
            5,
            &[],
            true,
        ),
        ("pades/dss/pades3_Baseline_B.pdf", 2, &[], true),
        ("pades/dss/PAdES-LT.pdf", 3, &[], true),
        ("pades/dss/dss-2058-QC-LTA-test.pdf", 2, &[], true),
    ];
    let mut failures = Vec::new();
    for (file, n, formats, want_intact) in cases {
        let (code, report, stderr) = validate(&[&data(file)]);
        if report.is_null() {
            failures.push(format!("{file}: no report (exit {code}): {stderr}"));
            continue;
        }
        let s = sigs(&report);
        if s.len() != *n {
            failures.push(format!("{file}: {} signatures, expected {n}", s.len()));
        }
        for (i, f) in formats.iter().enumerate() {
            if s.get(i).map(|x| &x["format"]) != Some(&Value::from(*f)) {
                failures.push(format!(
                    "{file}: signature {i} format {:?}, expected {f}",
                    s.get(i).map(|x| &x["format"])
                ));
            }
        }
        for sig in s {
            if intact(sig) != *want_intact {
                failures.push(format!("{file}: integrity: {sig:#}"));
            }
        }
        // Untrusted (no anchors given): never TOTAL_PASSED, exit 1.
        assert_eq!(code, 1, "{file}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Corrupted bytes in the signed range / ByteRange beyond the file: TOTAL_FAILED.
    let (code, report, _) = validate(&[&data("pades/dss/pdf-signed-corrupted.pdf")]);
    assert_eq!(code, 1);
    assert_eq!(sigs(&report)[0]["indication"], "TOTAL_FAILED", "{report:#}");

    // Document timestamps: two (the second archive TS covers the first), imprints intact.
    let (_, report, _) = validate(&[&data(
        "pades/dss/Test.signed_Certipost-2048-SHA512.extended-LTA.pdf",
    )]);
    let ts = sigs(&report)[0]["timestamps"].as_array().unwrap();
    let docs = ts.iter().filter(|t| t["type"] == "document").count();
    assert_eq!(docs, 2, "{report:#}");
    for t in ts {
        assert!(
            !t["errors"].to_string().contains("imprint"),
            "timestamp imprint must match: {t:#}"
        );
    }
}

#[test]
fn pades_lta_passes_with_its_test_root_at_signing_time() {
    // pyHanko test_pades_lta_dss_indirect_arrs: bottom line true at 2020-11-01 with the
    // testing-ca root; here with full EN 319 102-1 processing, the embedded OCSP/CRLs and
    // two timestamps.
    let root = data("pki/pyhanko-testing-ca/root.cert.pem");
    let file = data("pades/pyhanko/pades-lta-dss-indirect-arrs-test.pdf");
    let (code, report, stderr) = validate(&[
        "--trust-anchor",
        &root,
        "--at",
        "2020-11-01T00:00:00Z",
        &file,
    ]);
    assert_eq!(code, 0, "{report:#} {stderr}");
    let sig = &sigs(&report)[0];
    assert_eq!(sig["format"], "PAdES-BASELINE-LTA");
    assert_eq!(sig["indication"], "TOTAL_PASSED");
    assert_eq!(sig["scope"]["full"], true, "{sig:#}");
    assert_eq!(sig["signer"], "Alice");
    assert_eq!(sig["certificate_chain"].as_array().unwrap().len(), 3);
    assert_eq!(sig["timestamps"].as_array().unwrap().len(), 2);

    // Today Alice's certificate (2020–2022) has expired; the LTA timestamps prove the
    // signature existed while it was valid (past signature validation). Without the
    // embedded data for "now", revocation freshness is what DSS would flag; our verdict
    // must not be TOTAL_FAILED and must say why.
    let (_, later, _) = validate(&["--trust-anchor", &root, &file]);
    let later_sig = &sigs(&later)[0];
    assert_ne!(later_sig["indication"], "TOTAL_FAILED", "{later_sig:#}");

    // The ETSI TS 119 102-2 XML report of the same validation.
    let out = Command::new(BIN)
        .args([
            "validate",
            "--offline",
            "--no-trusted-lists",
            "--format",
            "etsi-xml",
        ])
        .args([
            "--trust-anchor",
            &root,
            "--at",
            "2020-11-01T00:00:00Z",
            &file,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let xml = String::from_utf8(out.stdout).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed ETSI report");
    let ns = "http://uri.etsi.org/19102/v1.4.1#";
    assert!(doc.root_element().has_tag_name((ns, "ValidationReport")));
    let main: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name((ns, "MainIndication")))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(
        main[0], "urn:etsi:019102:mainindication:total-passed",
        "{xml}"
    );
    // The chain (3 certificates) and both timestamps are validation objects.
    let objects = doc
        .descendants()
        .filter(|n| n.has_tag_name((ns, "ValidationObject")))
        .count();
    assert_eq!(objects, 5, "{xml}");

    // The same file with a foreign anchor: no chain.
    let other = data("pki/pyhanko-testing-ca/tsa.cert.pem");
    let (_, untrusted, _) = validate(&[
        "--trust-anchor",
        &other,
        "--at",
        "2020-11-01T00:00:00Z",
        &file,
    ]);
    assert_eq!(
        sigs(&untrusted)[0]["sub_indication"],
        "NO_CERTIFICATE_CHAIN_FOUND"
    );
}

#[test]
fn xades_samples() {
    // (file, format of the first signature, expected indication/sub when fixed by the
    // sample, intact)
    type Case<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>, bool);
    let cases: &[Case] = &[
        (
            "xades/dss/dss-signed.xml",
            "XAdES-BASELINE-B",
            Some(("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")),
            true,
        ),
        (
            "xades/dss/dss-signed-altered-refRemoved.xml",
            "XML-NOT-ETSI",
            Some(("INDETERMINATE", "SIGNED_DATA_NOT_FOUND")),
            false,
        ),
        (
            "xades/dss/xades-tampered-reference.xml",
            "",
            Some(("TOTAL_FAILED", "FORMAT_FAILURE")),
            false,
        ),
        (
            "xades/dss/valid-xades.xml",
            "XAdES-EPES",
            Some(("TOTAL_FAILED", "HASH_FAILURE")),
            false,
        ),
        ("xades/dss/xades-extended-t.xml", "XAdES-T", None, true),
        (
            "xades/dss/xades-lta-valid.xml",
            "XAdES-BASELINE-LTA",
            None,
            true,
        ),
        (
            "xades/dss/xades-lt-with-expired-ocsp-responder.xml",
            "XAdES-BASELINE-LT",
            None,
            true,
        ),
        (
            "xades/dss/signature-pool/signedXmlXadesB.xml",
            "XAdES-BASELINE-B",
            None,
            true,
        ),
        (
            "xades/dss/signature-pool/signedXmlXadesLT.xml",
            "XAdES-BASELINE-LT",
            None,
            true,
        ),
        (
            "xades/dss/plugtests/Signature-X-BE_ECON-3.xml",
            "XAdES-BASELINE-LT",
            None,
            true,
        ),
        (
            "xades/dss/plugtests/Signature-X-CZ_SEF-4.xml",
            "",
            None,
            true,
        ),
        ("xades/dss/xsw/TSL-noID.xml", "", None, true),
    ];
    let mut failures = Vec::new();
    for (file, format, ind, want_intact) in cases {
        let (code, report, stderr) = validate(&[&data(file)]);
        if report.is_null() {
            failures.push(format!("{file}: no report (exit {code}): {stderr}"));
            continue;
        }
        let sig = &sigs(&report)[0];
        if !format.is_empty() && sig["format"] != *format {
            failures.push(format!(
                "{file}: format {} expected {format}",
                sig["format"]
            ));
        }
        if let Some((i, s)) = ind
            && (sig["indication"] != *i || sig["sub_indication"] != *s)
        {
            failures.push(format!(
                "{file}: {}/{} expected {i}/{s}",
                sig["indication"], sig["sub_indication"]
            ));
        }
        if *want_intact && !intact(sig) {
            failures.push(format!("{file}: not intact: {sig:#}"));
        }
        if *file == "xades/dss/xsw/TSL-noID.xml" && sig["scope"]["full"] != true {
            failures.push(format!("{file}: scope must be full (DSS XSWNoIdTest)"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // DSS XAdESTemperedReferenceValidationTest: the error names ds:DigestValue.
    let (_, report, _) = validate(&[&data("xades/dss/xades-tampered-reference.xml")]);
    assert!(report.to_string().contains("DigestValue"), "{report:#}");
    // DSS XAdESOCSPSourceBETest: its revocation data is read (chain revocation is
    // reported from the embedded values, not "not found").
    let (_, lta, _) = validate(&[&data("xades/dss/xades-lta-valid.xml")]);
    assert_eq!(sigs(&lta)[0]["timestamps"].as_array().unwrap().len(), 2);
}

#[test]
fn cades_sample_and_bad_input() {
    let (code, report, _) = validate(&[&data("cades/dss/signedCadesB.p7m")]);
    assert_eq!(code, 1);
    let sig = &sigs(&report)[0];
    assert_eq!(sig["format"], "CAdES-BASELINE-B");
    assert!(intact(sig), "{sig:#}");
    assert_eq!(sig["sub_indication"], "NO_CERTIFICATE_CHAIN_FOUND");

    // Bad input: exit 2 with a message, no report.
    let tmp = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("garbage.bin", b"\x00\x01\x02 not a signature".to_vec()),
        ("empty.pdf", Vec::new()),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog".to_vec()),
        ("bomb.xml", b"<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY b \"bbbbbbbb\"><!ENTITY c \"&b;&b;&b;&b;\">]><a>&c;</a>".to_vec()),
    ] {
        let p = tmp.path().join(name);
        std::fs::write(&p, &bytes).unwrap();
        let (code, report, stderr) = validate(&[p.to_str().unwrap()]);
        if code == 1 {
            // A readable container without signatures is a report with none.
            assert!(sigs(&report).is_empty(), "{name}: {report:#}");
        } else {
            assert_eq!(code, 2, "{name}: {report:#} {stderr}");
            assert!(stderr.contains("error"), "{name}: {stderr}");
        }
    }
    let (code, _, stderr) = validate(&[
        "--trust-anchor",
        "/nonexistent.pem",
        &data("cades/dss/signedCadesB.p7m"),
    ]);
    assert_eq!(code, 2, "{stderr}");
}

/// The legacy (ETSI TS 101 733) CAdES forms, built by tests/support/cades_legacy.rs from
/// `openssl cms` and `openssl ts` tokens: the level and every timestamp imprint
/// verified, offline and without trust; then a detached CAdES-A (archive-time-stamp v2)
/// validated ten days later with the test CA as the only anchor: the signer's
/// certificate (1 day) and the signature timestamp's TSA certificate (2 days) have
/// expired, the archive timestamp (TSA valid 60 days) keeps the signature valid.
#[test]
fn cades_legacy_samples() {
    use cades_legacy::{Archive, LegacyPki};
    let Some(p) = LegacyPki::new(1, 2, 60) else {
        panic!("openssl is required (scripts/test installs it)");
    };
    let tmp = tempfile::tempdir().unwrap();
    let aaa = tmp.path().join("data.txt");
    std::fs::write(&aaa, b"aaa").unwrap();
    let aaa = aaa.to_str().unwrap();

    let doc = b"legacy CAdES content\n";
    let c = p.add_refs(&p.add_signature_timestamp(&p.cades_bes(doc, false)), false);
    let x1 = p.add_esc_timestamp(&c, false);
    let xl1 = p.add_values(&x1, true);
    let a_v3 = p.add_archive_v3_old_index(&xl1);
    let a_v2 = p.add_archive(&xl1, Archive::V2WithTag, None);
    let x2 = p.add_refs_timestamp(&c);
    let a_v1 = p.add_archive(&p.add_values(&x2, true), Archive::V1, None);
    let detached = {
        let c = p.add_refs(
            &p.add_signature_timestamp(&p.cades_bes(b"aaa", true)),
            false,
        );
        p.add_archive(&p.add_values(&c, true), Archive::V2WithoutTag, Some(b"aaa"))
    };
    // (name, signature, detached, format, timestamp types)
    type Case<'a> = (&'a str, &'a [u8], Option<&'a str>, &'a str, &'a [&'a str]);
    let cases: &[Case] = &[
        ("c.p7m", &c, None, "CAdES-C", &["signature"]),
        (
            "x1.p7m",
            &x1,
            None,
            "CAdES-X-Type-1",
            &["signature", "validation_data"],
        ),
        (
            "xl1.p7m",
            &xl1,
            None,
            "CAdES-X-Long-Type-1",
            &["signature", "validation_data"],
        ),
        (
            "a-v3.p7m",
            &a_v3,
            None,
            "CAdES-A",
            &["signature", "validation_data", "archive"],
        ),
        (
            "a-v2.p7m",
            &a_v2,
            None,
            "CAdES-A",
            &["signature", "validation_data", "archive"],
        ),
        (
            "a-v1.p7m",
            &a_v1,
            None,
            "CAdES-A",
            &["signature", "refs_only", "archive"],
        ),
        (
            "detached.p7s",
            &detached,
            Some(aaa),
            "CAdES-A",
            &["signature", "archive"],
        ),
    ];
    for (name, der, detached, format, types) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, der).unwrap();
        let mut args: Vec<&str> = vec![];
        if let Some(d) = detached {
            args.extend(["--detached", *d]);
        }
        args.push(path.to_str().unwrap());
        let (code, report, stderr) = validate(&args);
        assert_eq!(code, 1, "{name}: no trust given: {report:#} {stderr}");
        let sig = &sigs(&report)[0];
        assert_eq!(sig["format"], *format, "{name}");
        assert!(intact(sig), "{name}: {sig:#}");
        let ts = sig["timestamps"].as_array().unwrap();
        let got: Vec<&str> = ts.iter().map(|t| t["type"].as_str().unwrap()).collect();
        assert_eq!(&got, types, "{name}");
        for t in ts {
            assert!(
                !t["errors"].to_string().contains("imprint"),
                "{name}: timestamp imprint must match: {t:#}"
            );
        }
    }

    let root = p.ca_pem();
    let root = root.to_str().unwrap();
    let file = tmp.path().join("detached.p7s");
    let file = file.to_str().unwrap();
    let at = (time::OffsetDateTime::now_utc() + time::Duration::days(10))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (code, report, stderr) =
        validate(&["--trust-anchor", root, "--at", &at, "--detached", aaa, file]);
    let sig = &sigs(&report)[0];
    assert_eq!(sig["indication"], "TOTAL_PASSED", "{sig:#} {stderr}");
    assert_eq!(code, 0);
    assert!(
        sig["warnings"]
            .to_string()
            .contains("PSV: past signature validation"),
        "{sig:#}"
    );
    // The same signature with another document: the content and the archive imprint
    // fail.
    let other = tmp.path().join("other.txt");
    std::fs::write(&other, b"aab").unwrap();
    let (code, report, _) = validate(&[
        "--trust-anchor",
        root,
        "--at",
        &at,
        "--detached",
        other.to_str().unwrap(),
        file,
    ]);
    assert_eq!(code, 1);
    let sig = &sigs(&report)[0];
    assert_eq!(sig["indication"], "TOTAL_FAILED", "{sig:#}");
    assert_eq!(sig["sub_indication"], "HASH_FAILURE");
    assert!(
        sig["timestamps"][1]["errors"]
            .to_string()
            .contains("archive-time-stamp (v2"),
        "{sig:#}"
    );
}

#[tokio::test]
async fn http_validations_endpoint() {
    common::install_crypto();
    let server = common::Server::start(common::Db::Sqlite, &[]).await;
    let key = server.org_add("991825827", "Validating Agency");
    let client = common::api_client();
    let url = format!("{}/api/v1/validations", server.base);
    let pdf = std::fs::read(data("pades/pyhanko/pades-lta-dss-indirect-arrs-test.pdf")).unwrap();

    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(pdf.clone()).file_name("lta.pdf"),
    );
    let resp = client
        .post(format!("{url}?at=2020-11-01T00:00:00Z"))
        .bearer_auth(&key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["document"], "lta.pdf");
    assert_eq!(report["validation_time"], "2020-11-01T00:00:00Z");
    let sig = &report["signatures"][0];
    assert_eq!(sig["format"], "PAdES-BASELINE-LTA");
    // The server trusts only the EU trusted lists (none loaded here): no chain.
    assert_eq!(sig["sub_indication"], "NO_CERTIFICATE_CHAIN_FOUND");

    // Unreadable file: problem+json with a stable type.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"\x00garbage".to_vec()),
    );
    let resp = client
        .post(&url)
        .bearer_auth(&key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let p: Value = resp.json().await.unwrap();
    assert_eq!(p["type"], "urn:signgate:problem:unreadable-signature-file");

    // No file part, bad time, no credentials.
    let form = reqwest::multipart::Form::new().text("other", "x");
    let resp = client
        .post(&url)
        .bearer_auth(&key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(pdf.clone()));
    let resp = client
        .post(format!("{url}?at=yesterday"))
        .bearer_auth(&key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(pdf));
    let resp = client.post(&url).multipart(form).send().await.unwrap();
    assert_eq!(resp.status(), 401);

    // The OpenAPI document lists the endpoint.
    let doc: Value = client
        .get(format!("{}/api/v1/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/validations"]["post"].is_object());
}

/// A detached CAdES signature made by `openssl cms -cades`, validated with and without its
/// document (`--detached`), and against a changed document.
#[test]
fn detached_cades_from_openssl() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(d)
            .args(args)
            .output()
            .expect("openssl is required (scripts/test installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "30",
        "-subj",
        "/CN=Detached Signer/O=signgate tests/C=NO",
        "-addext",
        "keyUsage=critical,digitalSignature,nonRepudiation,keyCertSign",
    ]);
    std::fs::write(d.join("doc.txt"), b"the signed document\n").unwrap();
    run(&[
        "cms", "-sign", "-binary", "-cades", "-md", "sha256", "-in", "doc.txt", "-signer",
        "cert.pem", "-inkey", "key.pem", "-outform", "DER", "-out", "sig.p7s",
    ]);
    let sig = d.join("sig.p7s");
    let doc = d.join("doc.txt");
    let cert = d.join("cert.pem");
    let (code, report, stderr) = validate(&[
        "--trust-anchor",
        cert.to_str().unwrap(),
        "--detached",
        doc.to_str().unwrap(),
        sig.to_str().unwrap(),
    ]);
    let s = &sigs(&report)[0];
    assert_eq!(s["format"], "CAdES-BASELINE-B", "{report:#} {stderr}");
    assert_eq!(s["indication"], "TOTAL_PASSED", "{report:#}");
    assert_eq!(code, 0);

    let (_, report, _) = validate(&[
        "--trust-anchor",
        cert.to_str().unwrap(),
        sig.to_str().unwrap(),
    ]);
    assert_eq!(
        sigs(&report)[0]["sub_indication"],
        "SIGNED_DATA_NOT_FOUND",
        "{report:#}"
    );

    std::fs::write(d.join("other.txt"), b"the signed document, changed\n").unwrap();
    let other = d.join("other.txt");
    let (code, report, _) = validate(&[
        "--trust-anchor",
        cert.to_str().unwrap(),
        "--detached",
        other.to_str().unwrap(),
        sig.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(sigs(&report)[0]["indication"], "TOTAL_FAILED");
    assert_eq!(sigs(&report)[0]["sub_indication"], "HASH_FAILURE");
}
