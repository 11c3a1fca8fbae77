//! End-to-end signing on behalf of a company: the real server (a child process) asks the local
//! register stand-in (`tests/support/register.rs`, Brønnøysund's JSON shapes) whether each
//! company signer may sign. A daily manager signs alone; a joint board rule keeps the job open
//! until the second board member has signed; a person without authority and a signer whose
//! co-signers are missing from the job are refused with nothing signed, and the sender learns
//! why from the event feed; the sealed XAdES evidence carries the register answers byte-exact
//! with digests that verify. Plus the sender's preview API.

mod common;
#[path = "support/register.rs"]
mod register;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;
use register::{RegisterServer, org};
use serde_json::json;

const SENDER: &str = "991825827";
/// Synthetic persons of the register fixtures (tests/data/register/README.md).
const KARI: &str = "15837010052"; // daily manager of 100010003
const PER: &str = "12856510091"; // chair of 100010011
const OLA: &str = "30895810130"; // board member of 100010011
const ANNE: &str = "01819010001"; // board member of 100010011, nobody at 100010003

async fn start(reg: &RegisterServer, extra: &[(&str, &str)]) -> Server {
    let er = format!("{}/enhetsregisteret/api", reg.base);
    let fm = format!("{}/fullmakt", reg.base);
    let mut env = vec![
        ("SIGNGATE__AUTHORITY__ENHETSREGISTERET_URL", er.as_str()),
        ("SIGNGATE__AUTHORITY__FULLMAKT_URL", fm.as_str()),
        ("SIGNGATE__AUTHORITY__TIMEOUT", "3s"),
    ];
    env.extend_from_slice(extra);
    Server::start(Db::Sqlite, &env).await
}

async fn company_job(
    server: &Server,
    key: &str,
    title: &str,
    signers: serde_json::Value,
) -> serde_json::Value {
    let resp = create_job(
        server,
        key,
        json!({"title": title, "kind": "portal", "signers": signers}),
        &[("avtale.pdf", sample_pdf(title, 1))],
    )
    .await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

fn url(job: &serde_json::Value, i: usize) -> String {
    job["signers"][i]["signing_url"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The organisation's events of `kind` for `job_id`.
async fn events(server: &Server, key: &str, job_id: &str, kind: &str) -> Vec<serde_json::Value> {
    let page = get_json(server, key, "/api/v1/events?limit=1000").await;
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["job_id"] == job_id && e["kind"] == kind)
        .cloned()
        .collect()
}

/// The text of every `<name>` element in `xml` (no attributes on the element itself).
fn elements<'a>(doc: &'a roxmltree::Document<'a>, name: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == name)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn company_signers_end_to_end() {
    let reg = RegisterServer::start().await;
    let server = start(&reg, &[]).await;
    let key = server.org_add(SENDER, "Universitetet i Oslo");

    // 1. The daily manager signs alone; the job completes and its evidence holds the register.
    let job = company_job(
        &server,
        &key,
        "Leveranseavtale",
        json!([{"national_id": KARI, "on_behalf_of": {"orgnr": org::DAGLIG_LEDER}}]),
    )
    .await;
    assert_eq!(job["signers"][0]["on_behalf_of"]["authority"], "signature");
    let id = job["id"].as_str().unwrap();
    let done = walk_ceremony_as(
        &server.base,
        &url(&job, 0),
        KARI,
        Some("Kari Nordmann"),
        "sign",
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("Thank you, you have signed"),
        "{}",
        done.body
    );
    wait_for_job(&server, &key, id, |j| j["status"] == "completed").await;
    let signed = events(&server, &key, id, "signer_signed").await;
    assert_eq!(signed[0]["data"]["on_behalf_of"]["decision"], "granted");

    let sid = job["signers"][0]["id"].as_str().unwrap();
    let xades = get(
        &server,
        &key,
        &format!("/api/v1/jobs/{id}/signers/{sid}/xades"),
    )
    .await;
    assert_eq!(xades.status(), 200);
    let xml = xades.text().await.unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let snap = elements(&doc, "BusinessRegisterSnapshot");
    assert_eq!(snap.len(), 1, "{xml}");
    let summary = elements(&doc, "Summary")[0]
        .text()
        .unwrap_or_default()
        .to_string();
    assert!(
        summary.contains(org::DAGLIG_LEDER) && summary.contains("Granted"),
        "{summary}"
    );
    assert!(
        !summary.contains(KARI),
        "no national id in the summary: {summary}"
    );
    let sources = elements(&doc, "Source");
    assert!(sources.len() >= 3, "entity, roles and signature: {xml}");
    let fixtures = register::register_dir().join(org::DAGLIG_LEDER);
    for src in &sources {
        let child = |n: &str| {
            src.children()
                .find(|c| c.is_element() && c.tag_name().name() == n)
                .and_then(|c| c.text())
                .unwrap_or_else(|| panic!("Source without {n}"))
                .trim()
                .to_string()
        };
        let content: String = child("Content").split_whitespace().collect();
        let body = B64.decode(content).unwrap();
        let digest = hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &body));
        assert_eq!(
            digest,
            child("Sha256").to_lowercase(),
            "the snapshot digest verifies"
        );
        // Byte-exact: the very file the register stand-in served for that URL.
        let u = child("Url");
        let file = match u.rsplit('/').next().unwrap() {
            "roller" => "roller.json",
            "signatur" => "signatur.json",
            "prokura" => "prokura.json",
            _ => "enhet.json",
        };
        assert_eq!(body, std::fs::read(fixtures.join(file)).unwrap(), "{u}");
    }
    // The evidence file itself verifies as an XML signature (xmlsec1, the gateway's root).
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("evidence.xml");
    std::fs::write(&f, &xml).unwrap();
    let out = std::process::Command::new("xmlsec1")
        .args(["--verify", "--trusted-pem"])
        .arg(server.root_ca_pem())
        .args([
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
        ])
        .arg(&f)
        .output()
        .expect("xmlsec1 is installed by scripts/test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 2. "Styrets leder og ett styremedlem i fellesskap": the chair signs, the job stays open;
    // the board member signs, the job completes.
    let job = company_job(
        &server,
        &key,
        "Aksjonæravtale",
        json!([
            {"national_id": PER, "on_behalf_of": {"orgnr": org::STYRE_FELLESSKAP}},
            {"national_id": OLA, "on_behalf_of": {"orgnr": org::STYRE_FELLESSKAP, "authority": "either"}},
        ]),
    )
    .await;
    let id = job["id"].as_str().unwrap();
    let first =
        walk_ceremony_as(&server.base, &url(&job, 0), PER, Some("Per Hansen"), "sign").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let open = wait_for_job(&server, &key, id, |j| j["signers"][0]["status"] == "signed").await;
    assert_eq!(open["status"], "in_progress");
    let ev = events(&server, &key, id, "signer_signed").await;
    assert_eq!(
        ev[0]["data"]["on_behalf_of"]["decision"],
        "awaiting_co_signers"
    );
    let second = walk_ceremony_as(&server.base, &url(&job, 1), OLA, Some("Ola Berg"), "sign").await;
    assert_eq!(second.status, 200, "{}", second.body);
    wait_for_job(&server, &key, id, |j| j["status"] == "completed").await;
    let ev = events(&server, &key, id, "signer_signed").await;
    assert_eq!(ev[1]["data"]["on_behalf_of"]["decision"], "granted");
    assert_eq!(ev[1]["data"]["on_behalf_of"]["authority"], "either");

    // 3. A person the register does not name is refused; nothing is signed; the sender is told.
    let job = company_job(
        &server,
        &key,
        "Fullmakt",
        json!([{"national_id": ANNE, "on_behalf_of": {"orgnr": org::DAGLIG_LEDER}}]),
    )
    .await;
    let id = job["id"].as_str().unwrap();
    let refused = walk_ceremony_as(
        &server.base,
        &url(&job, 0),
        ANNE,
        Some("Anne Marie Lie"),
        "sign",
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("You cannot sign for the organisation"),
        "{}",
        refused.body
    );
    assert!(
        !refused.body.contains("action="),
        "no sign form: {}",
        refused.body
    );
    let j = get_json(&server, &key, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(j["signers"][0]["status"], "waiting");
    assert_eq!(j["status"], "in_progress");
    let told = events(&server, &key, id, "authority_refused").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0]["data"]["reason"], "no_authority");
    assert_eq!(told[0]["data"]["orgnr"], org::DAGLIG_LEDER);
    // Posting the sign form anyway (a crafted request) signs nothing either.
    let again = walk_ceremony_as(
        &server.base,
        &url(&job, 0),
        ANNE,
        Some("Anne Marie Lie"),
        "sign",
    )
    .await;
    assert_eq!(again.status, 403);
    assert_eq!(
        events(&server, &key, id, "authority_refused").await.len(),
        1,
        "told once"
    );

    // 4. The chair alone, without the board members the joint rule needs: refused, and the
    // sender learns exactly who is missing.
    let job = company_job(
        &server,
        &key,
        "Styrevedtak",
        json!([{"national_id": PER, "on_behalf_of": {"orgnr": org::STYRE_FELLESSKAP}}]),
    )
    .await;
    let id = job["id"].as_str().unwrap();
    let missing =
        walk_ceremony_as(&server.base, &url(&job, 0), PER, Some("Per Hansen"), "sign").await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    assert!(
        missing.body.contains("More signers are needed"),
        "{}",
        missing.body
    );
    assert!(missing.body.contains("Ola Berg"), "{}", missing.body);
    let told = events(&server, &key, id, "authority_incomplete").await;
    assert_eq!(told.len(), 1, "{told:?}");
    let options = told[0]["data"]["missing"].as_array().unwrap();
    let names: Vec<&str> = options
        .iter()
        .flat_map(|o| o.as_array().unwrap())
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Ola Berg"), "{names:?}");
    assert!(
        options
            .iter()
            .flat_map(|o| o.as_array().unwrap())
            .all(|r| r["role"] == "MEDL")
    );
    let j = get_json(&server, &key, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(j["signers"][0]["status"], "waiting");
}

#[tokio::test(flavor = "multi_thread")]
async fn authority_preview_api() {
    let reg = RegisterServer::start().await;
    let server = start(&reg, &[("SIGNGATE__AUTHORITY__PREVIEW_PER_MINUTE", "5")]).await;
    let key = server.org_add(SENDER, "Universitetet i Oslo");

    let ok = get(
        &server,
        &key,
        &format!("/api/v1/authority/{}", org::STYRE_FELLESSKAP),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    let text = body.to_string();
    assert!(
        text.contains("Per Hansen") && text.contains("Ola Berg"),
        "{text}"
    );
    assert!(
        !text.contains(PER) && !text.contains(OLA),
        "no national ids: {text}"
    );

    for (orgnr, status, slug) in [
        (org::SLETTET, 410, "organisation-deleted"),
        (org::UKJENT, 404, "not-found"),
        ("123456789", 422, "invalid-organisation-number"),
    ] {
        let r = get(&server, &key, &format!("/api/v1/authority/{orgnr}")).await;
        assert_eq!(r.status(), status, "{orgnr}");
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/problem+json"
        );
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(p["type"], format!("urn:signgate:problem:{slug}"), "{p}");
    }
    // Five previews this minute were allowed; the sixth is refused with Retry-After.
    let r = get(
        &server,
        &key,
        &format!("/api/v1/authority/{}", org::DAGLIG_LEDER),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = get(
        &server,
        &key,
        &format!("/api/v1/authority/{}", org::DAGLIG_LEDER),
    )
    .await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "60");
    // Unauthenticated callers get nothing.
    let r = api_client()
        .get(format!(
            "{}/api/v1/authority/{}",
            server.base,
            org::DAGLIG_LEDER
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}
