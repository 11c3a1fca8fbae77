//! The organisation API against the real server: problem+json errors with stable types,
//! organisation isolation, listing, cancelling, the event feed, OpenAPI, health and metrics.

mod common;

use common::*;
use serde_json::json;

const ORG_A: &str = "991825827";
const ORG_B: &str = "974760673";
const KARI: &str = "13097248022";

async fn problem(resp: reqwest::Response, status: u16, slug: &str) -> serde_json::Value {
    assert_eq!(resp.status(), status, "expected {status} {slug}");
    assert_eq!(
        resp.headers()["content-type"],
        "application/problem+json",
        "problem content type"
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["type"],
        format!("urn:signgate:problem:{slug}"),
        "{body}"
    );
    assert_eq!(body["status"], status, "{body}");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
    body
}

fn one_signer() -> serde_json::Value {
    json!({"title": "Avtale", "kind": "portal", "signers": [{"national_id": KARI}]})
}

/// An encrypted PDF: a valid file whose trailer names an /Encrypt dictionary (standard
/// security handler, RC4 40-bit), as PDF writers produce for password-protected files.
fn encrypted_pdf() -> Vec<u8> {
    let mut pdf = sample_pdf("Secret", 1);
    let objs = b"6 0 obj\n<< /Filter /Standard /V 1 /R 2 /O <2055C756C72E1AD702608E8196ACAD447AD32D17CFF583235F6DD15FED7DAB67> /U <0A8A2B8F7C1D1F0E3A2B8F7C1D1F0E3A2B8F7C1D1F0E3A2B8F7C1D1F0E3A2B8F> /P -44 >>\nendobj\n";
    let xref_old = pdf.windows(6).rposition(|w| w == b"\nxref\n").unwrap();
    pdf.truncate(xref_old + 1);
    let obj_at = pdf.len();
    pdf.extend_from_slice(objs);
    let xref_at = pdf.len();
    // Rebuild a full xref covering objects 1-6.
    let mut offsets = Vec::new();
    for n in 1..=5 {
        let needle = format!("{n} 0 obj");
        offsets.push(
            pdf.windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .unwrap(),
        );
    }
    offsets.push(obj_at);
    let mut x = "xref\n0 7\n0000000000 65535 f \n".to_string();
    for o in offsets {
        x.push_str(&format!("{o:010} 00000 n \n"));
    }
    x.push_str(&format!(
        "trailer\n<< /Size 7 /Root 1 0 R /Encrypt 6 0 R /ID [<00112233445566778899AABBCCDDEEFF> <00112233445566778899AABBCCDDEEFF>] >>\nstartxref\n{xref_at}\n%%EOF\n"
    ));
    pdf.extend_from_slice(x.as_bytes());
    pdf
}

#[tokio::test(flavor = "multi_thread")]
async fn problems_have_stable_types() {
    let server = Server::start(Db::Sqlite, &[]).await;
    let key = server.org_add(ORG_A, "Demo kommune");
    let pdf = sample_pdf("Avtale", 1);

    // No credentials at all, and a wrong key.
    let r = api_client()
        .get(format!("{}/api/v1/jobs", server.base))
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("www-authenticate"));
    problem(r, 401, "unauthenticated").await;
    let r = api_client()
        .get(format!("{}/api/v1/jobs", server.base))
        .bearer_auth("sg_0123456789abcdef_notthekeynotthekeynotthekey")
        .send()
        .await
        .unwrap();
    problem(r, 401, "unauthenticated").await;

    // Not a PDF.
    let r = create_job(
        &server,
        &key,
        one_signer(),
        &[("a.pdf", b"hello, world".to_vec())],
    )
    .await;
    problem(r, 415, "not-a-pdf").await;
    // Truncated PDF.
    let mut cut = pdf.clone();
    cut.truncate(40);
    let r = create_job(&server, &key, one_signer(), &[("a.pdf", cut)]).await;
    problem(r, 415, "not-a-pdf").await;
    // Encrypted PDF.
    let r = create_job(&server, &key, one_signer(), &[("a.pdf", encrypted_pdf())]).await;
    problem(r, 422, "encrypted-pdf").await;
    // Over the 20 MB default limit.
    let r = create_job(
        &server,
        &key,
        one_signer(),
        &[("big.pdf", padded_pdf(21 * 1024 * 1024))],
    )
    .await;
    let body = problem(r, 413, "document-too-large").await;
    assert!(body["detail"].as_str().unwrap().contains("20971520"));
    // 0 and 11 signers.
    let r = create_job(
        &server,
        &key,
        json!({"title": "x", "kind": "portal", "signers": []}),
        &[("a.pdf", pdf.clone())],
    )
    .await;
    problem(r, 422, "invalid-signer-count").await;
    let eleven: Vec<_> = (0..11)
        .map(|i| json!({"eidas_id": format!("SE/NO/19900101{i:04}")}))
        .collect();
    let r = create_job(
        &server,
        &key,
        json!({"title": "x", "kind": "portal", "signers": eleven}),
        &[("a.pdf", pdf.clone())],
    )
    .await;
    problem(r, 422, "invalid-signer-count").await;
    // Malformed national id (right length, wrong check digits; and wrong length).
    for bad in ["13097248023", "1309724802"] {
        let r = create_job(
            &server,
            &key,
            json!({"title": "x", "kind": "portal", "signers": [{"national_id": bad}]}),
            &[("a.pdf", pdf.clone())],
        )
        .await;
        problem(r, 422, "invalid-national-id").await;
    }
    // Unknown fields, at the top and inside a signer.
    let r = create_job(
        &server,
        &key,
        json!({"title": "x", "kind": "portal", "signers": [{"national_id": KARI}], "priority": 1}),
        &[("a.pdf", pdf.clone())],
    )
    .await;
    let body = problem(r, 400, "malformed-request").await;
    assert!(body["detail"].as_str().unwrap().contains("priority"));
    let r = create_job(
        &server,
        &key,
        json!({"title": "x", "kind": "portal", "signers": [{"national_id": KARI, "nick": "k"}]}),
        &[("a.pdf", pdf.clone())],
    )
    .await;
    problem(r, 400, "malformed-request").await;
    // No document, and not multipart at all.
    let r = create_job(&server, &key, one_signer(), &[]).await;
    problem(r, 422, "document-count").await;
    let r = api_client()
        .post(format!("{}/api/v1/jobs", server.base))
        .bearer_auth(&key)
        .json(&one_signer())
        .send()
        .await
        .unwrap();
    problem(r, 415, "unsupported-media-type").await;
    // Unknown job ids and unknown routes.
    let r = get(&server, &key, "/api/v1/jobs/not-a-uuid").await;
    problem(r, 404, "not-found").await;
    let r = api_client()
        .get(format!("{}/api/v1/nothing-here", server.base))
        .send()
        .await
        .unwrap();
    problem(r, 404, "not-found").await;

    // Nothing of the refused requests became a job.
    let list = get_json(&server, &key, "/api/v1/jobs").await;
    assert_eq!(list["jobs"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn organisations_see_only_their_own_jobs() {
    let server = Server::start(Db::Sqlite, &[]).await;
    let key_a = server.org_add(ORG_A, "Org A");
    let key_b = server.org_add(ORG_B, "Org B");
    let r = create_job(
        &server,
        &key_a,
        one_signer(),
        &[("a.pdf", sample_pdf("A", 1))],
    )
    .await;
    assert_eq!(r.status(), 201);
    let job: serde_json::Value = r.json().await.unwrap();
    let id = job["id"].as_str().unwrap();

    for path in [
        format!("/api/v1/jobs/{id}"),
        format!("/api/v1/jobs/{id}/pades"),
    ] {
        let r = get(&server, &key_b, &path).await;
        problem(r, 404, "not-found").await;
    }
    let r = api_client()
        .post(format!("{}/api/v1/jobs/{id}/cancel", server.base))
        .bearer_auth(&key_b)
        .send()
        .await
        .unwrap();
    problem(r, 404, "not-found").await;
    let list = get_json(&server, &key_b, "/api/v1/jobs").await;
    assert!(list["jobs"].as_array().unwrap().is_empty());
    let feed = get_json(&server, &key_b, "/api/v1/events").await;
    assert!(
        feed["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["job_id"].is_null()),
        "B sees none of A's job events: {feed}"
    );

    // A still has it, can cancel it, and cannot cancel twice.
    let r = api_client()
        .post(format!("{}/api/v1/jobs/{id}/cancel", server.base))
        .bearer_auth(&key_a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let j: serde_json::Value = r.json().await.unwrap();
    assert_eq!(j["status"], "cancelled");
    assert_eq!(j["signers"][0]["status"], "cancelled");
    assert!(j["signers"][0]["signing_url"].is_null());
    let r = api_client()
        .post(format!("{}/api/v1/jobs/{id}/cancel", server.base))
        .bearer_auth(&key_a)
        .send()
        .await
        .unwrap();
    problem(r, 409, "job-conflict").await;

    // Revoking B's organisation revokes its keys.
    let out = server.cli(&["org", "revoke", "--orgnr", ORG_B]);
    assert!(out.status.success());
    let r = get(&server, &key_b, "/api/v1/jobs").await;
    problem(r, 401, "unauthenticated").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_pages_and_event_cursor() {
    let server = Server::start(Db::Sqlite, &[]).await;
    let key = server.org_add(ORG_A, "Org A");
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = create_job(
            &server,
            &key,
            json!({"title": format!("Job {i}"), "kind": "portal", "signers": [{"national_id": KARI}]}),
            &[("a.pdf", sample_pdf("A", 1))],
        )
        .await;
        assert_eq!(r.status(), 201);
        ids.push(
            r.json::<serde_json::Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let page = get_json(
            &server,
            &key,
            &format!("/api/v1/jobs?limit=2&after={after}"),
        )
        .await;
        for j in page["jobs"].as_array().unwrap() {
            seen.push(j["id"].as_str().unwrap().to_string());
        }
        match page["next"].as_str() {
            Some(n) => after = n.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, ids, "all jobs, in creation order, each once");

    let first = get_json(&server, &key, "/api/v1/events?limit=3").await;
    assert_eq!(first["events"].as_array().unwrap().len(), 3);
    let cursor = first["cursor"].as_str().unwrap();
    let rest = get_json(&server, &key, &format!("/api/v1/events?after={cursor}")).await;
    // 1 organisation_created + 5 job_created
    assert_eq!(rest["events"].as_array().unwrap().len(), 3);
    let r = get(&server, &key, "/api/v1/events?after=abc").await;
    problem(r, 400, "malformed-request").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_health_metrics() {
    let server = Server::start(Db::Sqlite, &[]).await;
    let doc: serde_json::Value = api_client()
        .get(format!("{}/api/v1/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for p in [
        "/api/v1/jobs",
        "/api/v1/jobs/{id}",
        "/api/v1/jobs/{id}/cancel",
        "/api/v1/jobs/{id}/pades",
        "/api/v1/events",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} documented");
    }
    let health = api_client()
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let h: serde_json::Value = health.json().await.unwrap();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["profile"], "dev");
    let m = api_client()
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("signgate_jobs_created_total"), "{m}");
}

#[tokio::test(flavor = "multi_thread")]
async fn production_profile_refuses_dev_conveniences() {
    let out = std::process::Command::new(BIN)
        .args(["serve"])
        .env("SIGNGATE__PROFILE", "production")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("development identity provider"), "{err}");
    let out = std::process::Command::new(BIN)
        .args(["serve"])
        .env("SIGNGATE__PROFILE", "production")
        .env("SIGNGATE__DEV_IDP__ENABLED", "false")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("seal key"));
}
