//! End-to-end: notifying the holders of signing authority (issue 7's add-on). The real server
//! (a child process) with the local register stand-in, the aiosmtpd SMTP sink (STARTTLS + AUTH)
//! and the LINK Mobility SMS stand-in. Under "Styrets leder og ett styremedlem i fellesskap" the
//! chair alone is blocked as incomplete; the sender asks signgate to add the missing board
//! member from the register; the board member gets an e-mail and an SMS with a working signing
//! link, logs in at the development IdP (matched by birth date and name, as the open register
//! gives no national id), signs; the chair signs; the job completes. Others who try the board
//! member's link are refused; the add-on's problem types are stable; the sender gets
//! `co_signers_added` by webhook.

mod common;
#[path = "support/register.rs"]
mod register;
#[path = "support/sms_gateway.rs"]
mod sms_gateway;
#[path = "support/smtp.rs"]
mod smtp;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use register::{RegisterServer, org};
use serde_json::json;
use sms_gateway::SmsGatewayStandIn;
use smtp::SmtpSink;

const SENDER: &str = "991825827";
const PER: &str = "12856510091"; // chair of 100010011, born 1965-05-12
const OLA: &str = "30895810130"; // board member of 100010011, born 1958-09-30
const OLA_TWIN: &str = "30895810211"; // someone else born 1958-09-30
const ANNE: &str = "01819010001"; // board member of 100010011, born 1990-01-01
const KARI: &str = "15837010052"; // daily manager of 100010003

/// Webhook deliveries: (event kind, body).
#[derive(Clone, Default)]
struct Hooks(Arc<Mutex<Vec<(String, serde_json::Value)>>>);

impl Hooks {
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = self.clone();
        tokio::spawn(async move {
            let app = axum::Router::new().route(
                "/hook",
                axum::routing::post(
                    move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                        let got = got.clone();
                        async move {
                            let kind = headers
                                .get("signgate-event")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string();
                            let v = serde_json::from_slice(&body).unwrap_or_default();
                            got.0.lock().unwrap().push((kind, v));
                            axum::http::StatusCode::NO_CONTENT
                        }
                    },
                ),
            );
            axum::serve(listener, app).await.unwrap();
        });
        url
    }

    async fn wait_for(&self, kind: &str) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some((_, v)) = self.0.lock().unwrap().iter().find(|(k, _)| k == kind) {
                return v.clone();
            }
            assert!(Instant::now() < deadline, "no {kind} webhook arrived");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn start(reg: &RegisterServer, sink: &SmtpSink, sms: &SmsGatewayStandIn) -> Server {
    let er = format!("{}/enhetsregisteret/api", reg.base);
    let fm = format!("{}/fullmakt", reg.base);
    let mut env: Vec<(String, String)> = vec![
        ("SIGNGATE__AUTHORITY__ENHETSREGISTERET_URL".into(), er),
        ("SIGNGATE__AUTHORITY__FULLMAKT_URL".into(), fm),
        ("SIGNGATE__AUTHORITY__TIMEOUT".into(), "3s".into()),
        ("SIGNGATE__NOTIFY__POLL_INTERVAL".into(), "100ms".into()),
        (
            "SIGNGATE__NOTIFY__WEBHOOK_POLL_INTERVAL".into(),
            "100ms".into(),
        ),
    ];
    env.extend(sink.env());
    env.extend(sms.env());
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Server::start(Db::Sqlite, &refs).await
}

async fn create(server: &Server, key: &str, job: serde_json::Value) -> serde_json::Value {
    let resp = create_job(server, key, job, &[("avtale.pdf", sample_pdf("Avtale", 1))]).await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn add_co_signers(
    server: &Server,
    key: &str,
    job_id: &str,
    signer_id: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = api_client()
        .post(format!(
            "{}/api/v1/jobs/{job_id}/signers/{signer_id}/authority/co-signers",
            server.base
        ))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status >= 400 {
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/problem+json"
        );
    }
    (status, r.json().await.unwrap())
}

fn problem(p: &serde_json::Value) -> &str {
    p["type"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("urn:signgate:problem:")
}

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

#[tokio::test(flavor = "multi_thread")]
async fn missing_co_signer_is_added_notified_signs_and_the_job_completes() {
    let reg = RegisterServer::start().await;
    let sink = SmtpSink::start();
    let sms = SmsGatewayStandIn::start().await;
    let hooks = Hooks::default();
    let hook = hooks.start().await;
    let server = start(&reg, &sink, &sms).await;
    let key = server.org_add(SENDER, "Universitetet i Oslo");

    // The chair alone, with an e-mail address: notified when the job starts (portal job).
    let job = create(
        &server,
        &key,
        json!({
            "title": "Aksjonæravtale for Per Hansen og Ola Berg",
            "nonsensitive_title": "Aksjonæravtale",
            "kind": "portal",
            "callback_url": hook,
            "signers": [{"national_id": PER, "email": "per.hansen@example.no",
                         "on_behalf_of": {"orgnr": org::STYRE_FELLESSKAP}}],
        }),
    )
    .await;
    let id = job["id"].as_str().unwrap().to_string();
    let per_id = job["signers"][0]["id"].as_str().unwrap().to_string();
    let per_url = job["signers"][0]["signing_url"]
        .as_str()
        .unwrap()
        .to_string();
    let mail = sink.wait_for(1).await;
    assert_eq!(mail[0].rcpt_tos, ["per.hansen@example.no"]);
    assert_eq!(mail[0].signing_link().as_deref(), Some(per_url.as_str()));
    assert!(
        mail[0].body.contains("«Aksjonæravtale»"),
        "{}",
        mail[0].body
    );
    assert!(
        !mail[0].body.contains("Per Hansen og Ola Berg"),
        "the job title stays out"
    );

    // 1. The chair, from the link in the e-mail, is blocked: the joint rule needs a board member.
    let blocked = walk_ceremony_as(&server.base, &per_url, PER, Some("Per Hansen"), "sign").await;
    assert_eq!(blocked.status, 403, "{}", blocked.body);
    assert!(
        blocked.body.contains("More signers are needed"),
        "{}",
        blocked.body
    );
    let incomplete = events(&server, &key, &id, "authority_incomplete").await;
    assert_eq!(incomplete.len(), 1);
    assert_eq!(incomplete[0]["data"]["missing"][0][0]["name"], "Ola Berg");

    // 2. What the add-on refuses, with stable problem types.
    let other = server.org_add("974760673", "Another organisation");
    let (s, p) = add_co_signers(&server, &other, &id, &per_id, json!({})).await;
    assert_eq!((s, problem(&p)), (404, "not-found"), "not yours: {p}");
    let (s, p) = add_co_signers(&server, &key, &id, "no-such-signer", json!({})).await;
    assert_eq!((s, problem(&p)), (404, "not-found"), "{p}");
    let (s, p) = add_co_signers(
        &server,
        &key,
        &id,
        &per_id,
        json!({"contacts": [{"name": "Ola Berg", "birth_date": "1958-09-30", "email": "ola(at)example.no"}]}),
    )
    .await;
    assert_eq!((s, problem(&p)), (422, "invalid-contact"), "{p}");
    let (s, p) = add_co_signers(
        &server,
        &key,
        &id,
        &per_id,
        json!({"contacts": [{"name": "Ola Berg", "birth_date": "1958-09-30", "mobile": "+46701234567"}]}),
    )
    .await;
    assert_eq!(
        (s, problem(&p)),
        (422, "invalid-contact"),
        "foreign mobile: {p}"
    );
    let (s, p) = add_co_signers(
        &server,
        &key,
        &id,
        &per_id,
        json!({"contacts": [{"name": "Ola Berg", "birth_date": "1958-09-30", "national_id": ANNE}]}),
    )
    .await;
    assert_eq!(
        (s, problem(&p)),
        (422, "invalid-contact"),
        "id of another birth date: {p}"
    );
    let (s, p) = add_co_signers(
        &server,
        &key,
        &id,
        &per_id,
        json!({"contacts": [{"name": "Kari Nordmann", "birth_date": "1970-03-15", "email": "kari@example.no"}]}),
    )
    .await;
    assert_eq!(
        (s, problem(&p)),
        (422, "invalid-co-signers"),
        "not a missing person: {p}"
    );
    let (s, p) = add_co_signers(&server, &key, &id, &per_id, json!({"alternative": 7})).await;
    assert_eq!((s, problem(&p)), (422, "invalid-co-signers"), "{p}");
    let (s, p) = add_co_signers(&server, &key, &id, &per_id, json!({"colour": "blue"})).await;
    assert_eq!((s, problem(&p)), (400, "malformed-request"), "{p}");

    // The daily manager signs alone: nothing missing. A person without authority: refused.
    // A signer for themselves: nothing missing. The register down: unavailable.
    let alone = create(
        &server,
        &key,
        json!({"title": "T", "kind": "portal", "signers": [
            {"national_id": KARI, "on_behalf_of": {"orgnr": org::DAGLIG_LEDER}},
            {"national_id": ANNE, "on_behalf_of": {"orgnr": org::DAGLIG_LEDER}},
            {"national_id": OLA_TWIN},
        ]}),
    )
    .await;
    let alone_id = alone["id"].as_str().unwrap();
    let sid = |i: usize| alone["signers"][i]["id"].as_str().unwrap().to_string();
    reg.set_failing(true);
    let (s, p) = add_co_signers(&server, &key, alone_id, &sid(0), json!({})).await;
    assert_eq!((s, problem(&p)), (503, "register-unavailable"), "{p}");
    reg.set_failing(false);
    let (s, p) = add_co_signers(&server, &key, alone_id, &sid(0), json!({})).await;
    assert_eq!((s, problem(&p)), (409, "nothing-missing"), "{p}");
    let (s, p) = add_co_signers(&server, &key, alone_id, &sid(1), json!({})).await;
    assert_eq!((s, problem(&p)), (409, "authority-refused"), "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("names the signer in no combination"),
        "{p}"
    );
    let (s, p) = add_co_signers(&server, &key, alone_id, &sid(2), json!({})).await;
    assert_eq!((s, problem(&p)), (409, "nothing-missing"), "{p}");
    let cancelled = api_client()
        .post(format!("{}/api/v1/jobs/{alone_id}/cancel", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    let (s, p) = add_co_signers(&server, &key, alone_id, &sid(1), json!({})).await;
    assert_eq!((s, problem(&p)), (409, "job-not-in-progress"), "{p}");

    // 3. The sender asks signgate to add the missing board member, with contact details.
    let (s, added) = add_co_signers(
        &server,
        &key,
        &id,
        &per_id,
        json!({"contacts": [{"name": "Ola Berg", "birth_date": "1958-09-30",
                             "email": "ola.berg@example.no", "mobile": "+47 912 34 567"}]}),
    )
    .await;
    assert_eq!(s, 201, "{added}");
    assert_eq!(added["alternatives"], 2);
    let a = &added["added"][0];
    assert_eq!(added["added"].as_array().unwrap().len(), 1, "{added}");
    assert_eq!(a["name"], "Ola Berg");
    assert_eq!(a["role"], "MEDL");
    assert_eq!(a["designation"], "register_person");
    assert_eq!(a["notify"], json!(["email", "sms"]));
    let ola_id = a["signer_id"].as_str().unwrap().to_string();
    let ola_url = a["signing_url"].as_str().unwrap().to_string();
    let view = &added["job"]["signers"][1];
    assert_eq!(view["id"], ola_id.as_str());
    assert_eq!(
        view["identifier"],
        json!({"register_person": {"birth_date": "1958-09-30", "name": "Ola Berg"}})
    );
    assert_eq!(view["on_behalf_of"]["orgnr"], org::STYRE_FELLESSKAP);
    assert_eq!(view["co_signer_of"], per_id.as_str());
    assert_eq!(view["order"], 0);
    let ev = events(&server, &key, &id, "co_signers_added").await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["signer_id"], per_id.as_str());
    assert_eq!(ev[0]["data"]["added"][0]["signer_id"], ola_id.as_str());
    let hooked = hooks.wait_for("co_signers_added").await;
    assert_eq!(hooked["data"]["added"][0]["name"], "Ola Berg");
    // Asking again: the job's signers complete the rule now.
    let (s, p) = add_co_signers(&server, &key, &id, &per_id, json!({})).await;
    assert_eq!((s, problem(&p)), (409, "nothing-missing"), "{p}");

    // 4. The board member's e-mail and SMS carry the signing link and non-sensitive facts.
    let mail = sink.wait_for(2).await;
    let m = &mail[1];
    assert_eq!(m.rcpt_tos, ["ola.berg@example.no"]);
    assert!(m.tls && m.authenticated);
    assert!(
        m.subject.contains("Universitetet i Oslo")
            && m.subject.contains("på vegne av STYRE I FELLESSKAP AS"),
        "{}",
        m.subject
    );
    assert!(
        m.body.contains("Styremedlem") && m.body.contains(org::STYRE_FELLESSKAP),
        "{}",
        m.body
    );
    assert!(!m.body.contains("Per Hansen og Ola Berg"), "{}", m.body);
    assert_eq!(m.signing_link().as_deref(), Some(ola_url.as_str()));
    let texts = sms.wait_for(1).await;
    assert_eq!(texts[0].destination, "+4791234567");
    assert!(texts[0].text.contains(&ola_url), "{}", texts[0].text);
    let j = wait_for_job(&server, &key, &id, |j| {
        j["signers"][1]["notifications"]
            .as_array()
            .is_some_and(|n| n.len() == 2 && n.iter().all(|x| x["status"] == "sent"))
    })
    .await;
    assert_eq!(
        j["signers"][1]["notifications"][0]["purpose"],
        "co_signer_request"
    );

    // 5. Nobody else can use the board member's link: another person born the same day, the
    // right name with another birth date.
    for (pid, name) in [(OLA_TWIN, "Ole Bergersen"), (ANNE, "Ola Berg")] {
        let wrong = walk_ceremony_as(&server.base, &ola_url, pid, Some(name), "sign").await;
        assert_eq!(wrong.status, 403, "{pid}: {}", wrong.body);
        assert!(
            wrong
                .body
                .contains("someone other than the designated signer"),
            "{}",
            wrong.body
        );
    }
    let j = get_json(&server, &key, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(j["signers"][1]["status"], "waiting");

    // 6. The board member, from the e-mailed link, logs in and signs; then the chair signs.
    let signed = walk_ceremony_as(&server.base, &ola_url, OLA, Some("Ola Berg"), "sign").await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    assert!(
        signed.body.contains("Thank you, you have signed"),
        "{}",
        signed.body
    );
    let open = get_json(&server, &key, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(open["status"], "in_progress");
    let chair = walk_ceremony_as(&server.base, &per_url, PER, Some("Per Hansen"), "sign").await;
    assert_eq!(chair.status, 200, "{}", chair.body);
    wait_for_job(&server, &key, &id, |j| j["status"] == "completed").await;
    let signed = events(&server, &key, &id, "signer_signed").await;
    let decision = |sid: &str| {
        signed
            .iter()
            .find(|e| e["signer_id"] == sid)
            .map(|e| e["data"]["on_behalf_of"]["decision"].clone())
    };
    assert_eq!(decision(&ola_id), Some(json!("awaiting_co_signers")));
    assert_eq!(decision(&per_id), Some(json!("granted")));
    let xades = get(
        &server,
        &key,
        &format!("/api/v1/jobs/{id}/signers/{ola_id}/xades"),
    )
    .await;
    assert_eq!(xades.status(), 200);
    let xml = xades.text().await.unwrap();
    assert!(
        xml.contains("Kind=\"register_person\"") && xml.contains("1958-09-30 Ola Berg"),
        "the evidence names how the co-signer was designated"
    );
    let (s, p) = add_co_signers(&server, &key, &id, &per_id, json!({})).await;
    assert_eq!((s, problem(&p)), (409, "job-not-in-progress"), "{p}");

    // The OpenAPI document describes the add-on.
    let doc = get_json(&server, &key, "/api/v1/openapi.json").await;
    let op = &doc["paths"]["/api/v1/jobs/{id}/signers/{sid}/authority/co-signers"]["post"];
    assert!(op["responses"]["201"].is_object(), "{op}");
    assert!(doc["components"]["schemas"]["CoSignersRequest"].is_object());
}
