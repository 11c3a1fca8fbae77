//! End-to-end: the real server, two signers walking the browser ceremony over HTTP, the sealed
//! PAdES checked by pyHanko; on SQLite and on PostgreSQL; and a kill -9 before sealing.

mod common;

use common::*;
use serde_json::json;

const ORG: &str = "991825827";
const KARI: &str = "13097248022";
const SVEN: &str = "SE/NO/199001011234";

async fn two_signer_job(server: &Server, key: &str) -> serde_json::Value {
    let resp = create_job(
        server,
        key,
        json!({
            "title": "Leieavtale for hybel – Blindern",
            "kind": "portal",
            "required_loa": "substantial",
            "signers": [{"national_id": KARI}, {"eidas_id": SVEN}],
            "document_titles": ["Kontrakt", "Vedlegg"],
        }),
        &[
            ("kontrakt.pdf", sample_pdf("Kontrakt", 2)),
            ("vedlegg.pdf", sample_pdf("Vedlegg", 1)),
        ],
    )
    .await;
    assert_eq!(resp.status(), 201);
    let job: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(job["status"], "in_progress");
    assert_eq!(job["signers"].as_array().unwrap().len(), 2);
    job
}

fn signing_url(job: &serde_json::Value, i: usize) -> String {
    job["signers"][i]["signing_url"]
        .as_str()
        .expect("signing_url")
        .to_string()
}

async fn full_flow(db: Db) {
    let server = Server::start(db, &[]).await;
    let key = server.org_add(ORG, "Universitetet i Oslo");
    let job = two_signer_job(&server, &key).await;
    let id = job["id"].as_str().unwrap().to_string();

    // The PAdES does not exist before completion.
    let early = get(&server, &key, &format!("/api/v1/jobs/{id}/pades")).await;
    assert_eq!(early.status(), 409);

    // A stranger logging in with the first signer's link is refused and nothing is signed.
    let wrong = walk_ceremony(&server.base, &signing_url(&job, 0), "01889449930", "sign").await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert!(
        wrong
            .body
            .contains("someone other than the designated signer"),
        "{}",
        wrong.body
    );
    let still = wait_for_job(&server, &key, &id, |_| true).await;
    assert_eq!(still["signers"][0]["status"], "waiting");

    for (i, pid) in [(0, KARI), (1, SVEN)] {
        let done = walk_ceremony(&server.base, &signing_url(&job, i), pid, "sign").await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(
            done.body.contains("Thank you, you have signed"),
            "{}",
            done.body
        );
    }

    let done = wait_for_job(&server, &key, &id, |j| j["status"] == "completed").await;
    assert!(
        done["signers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "signed")
    );
    assert!(done["pades_url"].as_str().unwrap().ends_with("/pades"));

    let pdf = get(&server, &key, &format!("/api/v1/jobs/{id}/pades")).await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    let path = server.dir.join("sealed.pdf");
    std::fs::write(&path, &bytes).unwrap();

    // pyHanko, trusting our development root, judges the seal intact and valid.
    let chain = server.cli(&["keys", "chain"]);
    assert!(chain.status.success());
    let chain = String::from_utf8(chain.stdout).unwrap();
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2, "leaf + root");
    let root_pem = chain
        .rfind("-----BEGIN CERTIFICATE-----")
        .map(|i| chain[i..].to_string())
        .unwrap();
    let root = server.dir.join("root-from-cli.pem");
    std::fs::write(&root, root_pem).unwrap();
    let (ok, report) = pyhanko_validate(&path, &root);
    assert!(ok, "pyHanko rejected the seal:\n{report}");
    assert!(report.contains("The signature is judged VALID"), "{report}");
    // PAdES-BASELINE-LTA: a signature timestamp, then only DSS and document-timestamp updates.
    assert!(
        report
            .contains(":INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,EXTENDED_WITH_LTA_UPDATES"),
        "{report}"
    );
    // Our own validator, offline: everything needed is embedded.
    let ours = server.cli(&[
        "validate",
        path.to_str().unwrap(),
        "--trust-anchor",
        root.to_str().unwrap(),
        "--no-trusted-lists",
        "--offline",
        "--format",
        "json",
    ]);
    let ours_report = String::from_utf8_lossy(&ours.stdout);
    assert!(ours.status.success(), "{ours_report}");
    assert!(ours_report.contains("PAdES-BASELINE-LTA"), "{ours_report}");
    // Each signer's XAdES evidence is served, and our validator finds it XAdES-BASELINE-LTA
    // offline (the live seal and TSA revocation data is inside).
    for (n, s) in done["signers"].as_array().unwrap().iter().enumerate() {
        let url = s["xades_url"].as_str().expect("xades_url once completed");
        let path_only = url.strip_prefix(&server.base).unwrap_or(url);
        let xml = get(&server, &key, path_only).await;
        assert_eq!(xml.status(), 200, "{url}");
        let xml = xml.bytes().await.unwrap();
        let text = String::from_utf8_lossy(&xml);
        assert!(text.contains("urn:signgate:evidence:1"), "{text}");
        let xpath = server.dir.join(format!("evidence-{n}.xml"));
        std::fs::write(&xpath, &xml).unwrap();
        let v = server.cli(&[
            "validate",
            xpath.to_str().unwrap(),
            "--trust-anchor",
            root.to_str().unwrap(),
            "--no-trusted-lists",
            "--offline",
            "--format",
            "json",
        ]);
        let vr = String::from_utf8_lossy(&v.stdout);
        assert!(v.status.success(), "{vr}");
        assert!(vr.contains("XAdES-BASELINE-LTA"), "{vr}");
    }

    // A copy with one byte flipped inside the signed range is caught by pyHanko.
    let mut tampered = bytes.to_vec();
    let at = tampered
        .windows(8)
        .position(|w| w == b"Kontrakt")
        .expect("the document text is in the PDF");
    tampered[at] = b'X';
    let tpath = server.dir.join("tampered.pdf");
    std::fs::write(&tpath, &tampered).unwrap();
    let (ok, report) = pyhanko_validate(&tpath, &root);
    assert!(!ok, "pyHanko accepted a tampered PDF:\n{report}");

    // The event feed tells the whole story in order, and the audit chain verifies.
    let feed = get_json(&server, &key, "/api/v1/events?after=0").await;
    let kinds: Vec<&str> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "organisation_created",
            "job_created",
            "signer_signed",
            "signer_signed",
            "job_all_signed",
            "job_completed"
        ]
    );
    let audit = server.cli(&["audit", "verify", "--orgnr", ORG]);
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    assert!(String::from_utf8_lossy(&audit.stdout).contains("intact: 6 events"));

    // Once signed, the links no longer open a ceremony.
    let again = browser().get(signing_url(&job, 0)).send().await.unwrap();
    assert_eq!(again.status(), 410);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_signers_sqlite() {
    full_flow(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_signers_postgres() {
    full_flow(Db::Postgres).await;
}

/// The server dies (SIGKILL) after the last signature and before sealing; after a restart the
/// job still completes, exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn kill9_between_last_signature_and_sealing() {
    // First life: an API/ceremony-only replica (no sealing workers), as in a scaled deployment.
    let mut server = Server::start(Db::Sqlite, &[("SIGNGATE__SEALING__WORKERS", "0")]).await;
    let key = server.org_add(ORG, "Demo kommune");
    let job = two_signer_job(&server, &key).await;
    let id = job["id"].as_str().unwrap().to_string();
    for (i, pid) in [(0, KARI), (1, SVEN)] {
        let done = walk_ceremony(&server.base, &signing_url(&job, i), pid, "sign").await;
        assert_eq!(done.status, 200, "{}", done.body);
    }
    let j = wait_for_job(&server, &key, &id, |_| true).await;
    assert_eq!(
        j["status"], "in_progress",
        "nobody may seal in the first life"
    );
    server.kill9();

    // Second life with a sealing worker.
    server
        .env
        .retain(|(k, _)| k != "SIGNGATE__SEALING__WORKERS");
    server.boot();
    let done = wait_for_job(&server, &key, &id, |j| j["status"] == "completed").await;
    assert_eq!(done["status"], "completed");

    let feed = get_json(&server, &key, "/api/v1/events").await;
    let completed = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "job_completed")
        .count();
    assert_eq!(completed, 1, "sealed exactly once: {feed}");
    let pdf = get(&server, &key, &format!("/api/v1/jobs/{id}/pades"))
        .await
        .bytes()
        .await
        .unwrap();
    let sealed = std::fs::read(server.dir.join("blobs/jobs").join(&id).join("sealed.pdf")).unwrap();
    assert_eq!(pdf.as_ref(), sealed.as_slice());
    let path = server.dir.join("after-crash.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let (ok, report) = pyhanko_validate(&path, &server.root_ca_pem());
    assert!(ok, "{report}");
}

/// Rejection by one signer ends the job for everyone.
#[tokio::test(flavor = "multi_thread")]
async fn rejection_fails_the_job() {
    let server = Server::start(Db::Sqlite, &[]).await;
    let key = server.org_add(ORG, "Demo kommune");
    let job = two_signer_job(&server, &key).await;
    let id = job["id"].as_str().unwrap().to_string();
    let out = walk_ceremony(&server.base, &signing_url(&job, 1), SVEN, "reject").await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(
        out.body.contains("You rejected the signing"),
        "{}",
        out.body
    );
    let j = wait_for_job(&server, &key, &id, |_| true).await;
    assert_eq!(j["status"], "failed");
    assert_eq!(j["signers"][0]["status"], "cancelled");
    assert_eq!(j["signers"][1]["status"], "rejected");
    // The other signer's link no longer opens a ceremony.
    let page = browser().get(signing_url(&job, 0)).send().await.unwrap();
    assert_eq!(page.status(), 410);
}

/// Direct jobs send the signer back to the organisation's completion URL.
#[tokio::test(flavor = "multi_thread")]
async fn direct_job_redirects_to_completion_url() {
    // A tiny local "organisation site" that records where the signer lands.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/done",
            axum::routing::get(|q: axum::extract::RawQuery| async move {
                format!("landed:{}", q.0.unwrap_or_default())
            }),
        );
        axum::serve(listener, app).await.unwrap();
    });
    let server = Server::start(Db::Sqlite, &[]).await;
    let key = server.org_add(ORG, "Demo kommune");
    let resp = create_job(
        &server,
        &key,
        json!({
            "title": "Samtykke",
            "kind": "direct",
            "signers": [{"national_id": KARI}],
            "redirect": {"completion": format!("{site}/done"), "rejection": format!("{site}/no")},
        }),
        &[("a.pdf", sample_pdf("Samtykke", 1))],
    )
    .await;
    assert_eq!(resp.status(), 201);
    let job: serde_json::Value = resp.json().await.unwrap();
    let out = walk_ceremony(&server.base, &signing_url(&job, 0), KARI, "sign").await;
    assert_eq!(out.status, 200);
    assert!(
        out.final_url.starts_with(&format!("{site}/done?job_id=")),
        "{}",
        out.final_url
    );
    assert!(out.body.contains("status=signed"), "{}", out.body);
}

/// Two replicas with sealing workers on one PostgreSQL database race for the same queue:
/// every job is sealed exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn replicas_seal_each_job_exactly_once_on_postgres() {
    let first = Server::start(Db::Postgres, &[("SIGNGATE__SEALING__WORKERS", "2")]).await;
    let second = first.replica(&[("SIGNGATE__SEALING__WORKERS", "2")]);
    let key = first.org_add(ORG, "Demo kommune");
    let mut ids = Vec::new();
    for i in 0..6 {
        let server = if i % 2 == 0 { &first } else { &second };
        let resp = create_job(
            server,
            &key,
            json!({"title": format!("Avtale {i}"), "kind": "portal", "signers": [{"national_id": KARI}]}),
            &[("a.pdf", sample_pdf("Avtale", 1))],
        )
        .await;
        assert_eq!(resp.status(), 201);
        let job: serde_json::Value = resp.json().await.unwrap();
        let done = walk_ceremony(&first.base, &signing_url(&job, 0), KARI, "sign").await;
        assert_eq!(done.status, 200, "{}", done.body);
        ids.push(job["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        wait_for_job(&second, &key, id, |j| j["status"] == "completed").await;
    }
    let feed = get_json(&first, &key, "/api/v1/events?limit=1000").await;
    for id in &ids {
        let completed = feed["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "job_completed" && e["job_id"] == id.as_str())
            .count();
        assert_eq!(completed, 1, "job {id} sealed once");
    }
    let audit = first.cli(&["audit", "verify", "--orgnr", ORG]);
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let pdf = get(&second, &key, &format!("/api/v1/jobs/{}/pades", ids[0]))
        .await
        .bytes()
        .await
        .unwrap();
    let path = first.dir.join("replica.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let (ok, report) = pyhanko_validate(&path, &first.root_ca_pem());
    assert!(ok, "{report}");
}

/// A session is bound to one signer's link and ends with the decision: the same browser can
/// neither use it on the co-signer's link nor sign twice, and a forged or stale cookie opens
/// nothing.
#[tokio::test(flavor = "multi_thread")]
async fn sessions_are_single_signer_and_end_with_the_decision() {
    let server = Server::start(Db::Sqlite, &[]).await;
    let key = server.org_add(ORG, "Demo kommune");
    let job = two_signer_job(&server, &key).await;
    let id = job["id"].as_str().unwrap().to_string();
    let (kari_url, sven_url) = (signing_url(&job, 0), signing_url(&job, 1));

    let b = browser();
    let login = b.get(&kari_url).send().await.unwrap();
    let state = input_value(&login.text().await.unwrap(), "state").expect("state");
    let page = b
        .post(format!("{}/dev-idp/authorize", server.base))
        .form(&[
            ("pid", KARI),
            ("state", &state),
            ("loa", "high"),
            ("lang", "en"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let action = form_action(&html, "/sign").expect("sign form");
    let csrf = input_value(&html, "csrf").expect("csrf");

    // The co-signer's link in the same browser asks for a login: the session is Kari's only.
    let other = b.get(&sven_url).send().await.unwrap();
    assert!(
        other.url().path().starts_with("/dev-idp/authorize"),
        "{}",
        other.url()
    );

    // A wrong CSRF token is refused and signs nothing.
    let forged = b
        .post(format!("{}{action}", server.base))
        .form(&[("csrf", "x".repeat(csrf.len()).as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let j = get_json(&server, &key, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(j["signers"][0]["status"], "waiting");

    // The session survives a forged post; the real form still works.
    let again = b.get(&kari_url).send().await.unwrap().text().await.unwrap();
    assert_eq!(input_value(&again, "csrf").as_deref(), Some(csrf.as_str()));
    let signed = b
        .post(format!("{}{action}", server.base))
        .form(&[("csrf", csrf.as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 200);

    // Replaying the decision with the same cookie jar and token: no session any more.
    let replay = b
        .post(format!("{}{action}", server.base))
        .form(&[("csrf", csrf.as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
    // The link itself is spent.
    assert_eq!(b.get(&kari_url).send().await.unwrap().status(), 410);
    let j = get_json(&server, &key, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(j["signers"][0]["status"], "signed");
    let events = get_json(&server, &key, "/api/v1/events?after=0").await;
    let signed_events = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "signer_signed")
        .count();
    assert_eq!(signed_events, 1, "{events}");
}
