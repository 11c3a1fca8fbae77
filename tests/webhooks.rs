//! Webhooks: a job's callback URL receives every job event, in order, signed with the
//! organisation's secret; a receiver that fails at first gets the event again later.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;

/// One received delivery: the signature header, the event header and the body.
type Call = (String, String, Vec<u8>);

#[derive(Clone, Default)]
struct Received {
    calls: Arc<Mutex<Vec<Call>>>,
    fail_first: Arc<Mutex<bool>>,
}

fn hmac_hex(secret: &str, msg: &[u8]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    hex::encode(aws_lc_rs::hmac::sign(&key, msg).as_ref())
}

#[tokio::test(flavor = "multi_thread")]
async fn callback_url_receives_signed_events_at_least_once() {
    let rec = Received::default();
    *rec.fail_first.lock().unwrap() = true;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    let r2 = rec.clone();
    tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let r = r2.clone();
                    async move {
                        let mut fail = r.fail_first.lock().unwrap();
                        if *fail {
                            *fail = false;
                            return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                        }
                        let h = |n: &str| {
                            headers
                                .get(n)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string()
                        };
                        r.calls.lock().unwrap().push((
                            h("signgate-signature"),
                            h("signgate-event"),
                            body.to_vec(),
                        ));
                        axum::http::StatusCode::NO_CONTENT
                    }
                },
            ),
        );
        axum::serve(listener, app).await.unwrap();
    });

    // Retries start at 10 s; the poll interval is short so the test is bounded by the backoff.
    let server = Server::start(
        Db::Sqlite,
        &[("SIGNGATE__NOTIFY__WEBHOOK_POLL_INTERVAL", "100ms")],
    )
    .await;
    let key = server.org_add("991825827", "Demo kommune");
    let secret = String::from_utf8(
        server
            .cli(&["org", "webhook-secret", "--orgnr", "991825827"])
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    assert_eq!(secret.len(), 64);
    let resp = create_job(
        &server,
        &key,
        json!({"title": "Hook", "kind": "portal", "signers": [{"national_id": "13097248022"}],
               "callback_url": hook}),
        &[("a.pdf", sample_pdf("Hook", 1))],
    )
    .await;
    assert_eq!(resp.status(), 201);
    let job: serde_json::Value = resp.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    let url = job["signers"][0]["signing_url"]
        .as_str()
        .unwrap()
        .to_string();
    let out = walk_ceremony(&server.base, &url, "13097248022", "sign").await;
    assert_eq!(out.status, 200);
    wait_for_job(&server, &key, &id, |j| j["status"] == "completed").await;

    // job_created (after one refused attempt), signer_signed, job_all_signed, job_completed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if rec.calls.lock().unwrap().len() >= 4 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "webhooks not delivered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let calls = rec.calls.lock().unwrap().clone();
    let mut kinds: Vec<(i64, String)> = Vec::new();
    for (sig, kind, body) in &calls {
        let (t, v1) = sig.split_once(",v1=").expect("signature header");
        let t = t.strip_prefix("t=").unwrap();
        let mut msg = format!("{t}.").into_bytes();
        msg.extend_from_slice(body);
        assert_eq!(
            v1,
            hmac_hex(&secret, &msg),
            "signature verifies with the org secret"
        );
        let ev: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(&ev["kind"], kind.as_str());
        assert_eq!(ev["job_id"], id.as_str());
        kinds.push((
            ev["cursor"].as_str().unwrap().parse().unwrap(),
            kind.clone(),
        ));
    }
    kinds.sort();
    let kinds: Vec<&str> = kinds.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "job_created",
            "signer_signed",
            "job_all_signed",
            "job_completed"
        ]
    );
}
