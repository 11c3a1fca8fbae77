//! The ID-porten relying party (`signgate::identity::oidc`) against a real OpenID provider: node
//! `oidc-provider` configured like ID-porten (tests/idp/oidc/server.mjs), over loopback HTTP.
//! Logins are walked browser-free: the authorization redirect is followed with a cookie-keeping
//! client through the provider's login form, and the redirect back is captured unfollowed.

#[path = "support/oidc_idp.rs"]
mod oidc_idp;

use oidc_idp::*;
use signgate::identity::oidc::{
    OidcAuthRequest, OidcCallback, OidcError, OidcPending, OidcProvider,
};
use signgate::identity::{IdpKind, UserReason};
use signgate::jobs::model::Loa;
use time::OffsetDateTime;

const REDIRECT: &str = "http://127.0.0.1:8080/oidc/callback";

fn req(loa: Loa, eidas: bool) -> OidcAuthRequest {
    OidcAuthRequest {
        loa,
        eidas,
        lang: "nn".into(),
    }
}

async fn rp(idp: &NodeIdp, auth: ClientAuth, par: bool) -> OidcProvider {
    OidcProvider::new(&idp.config(auth, par), REDIRECT.into())
        .await
        .expect("discovery")
}

async fn finish(
    rp: &OidcProvider,
    pending: &OidcPending,
    cb: &OidcCallback,
) -> Result<signgate::identity::VerifiedIdentity, OidcError> {
    rp.finish(pending, cb, OffsetDateTime::now_utc()).await
}

fn query(url: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn private_key_jwt_rsa_without_par() {
    let idp = NodeIdp::start();
    let rp = rp(&idp, ClientAuth::JwtRsa, false).await;
    assert_eq!(rp.issuer(), idp.issuer);
    let (url, pending, cb) =
        login(&rp, &req(Loa::High, false), Choice::Login("kari"), REDIRECT).await;
    // The authorization request as ID-porten wants it.
    let q = query(&url);
    assert!(
        url.starts_with(&format!("{}/authorize?", idp.issuer)),
        "{url}"
    );
    assert_eq!(param(&q, "response_type"), Some("code"));
    assert_eq!(param(&q, "client_id"), Some(CLIENT_JWT));
    assert_eq!(param(&q, "redirect_uri"), Some(REDIRECT));
    assert_eq!(param(&q, "scope"), Some("openid profile"));
    assert_eq!(param(&q, "acr_values"), Some("idporten-loa-high"));
    assert_eq!(param(&q, "ui_locales"), Some("nn"));
    assert_eq!(param(&q, "prompt"), Some("login"));
    assert_eq!(param(&q, "code_challenge_method"), Some("S256"));
    assert_eq!(param(&q, "state"), Some(pending.state.as_str()));
    assert_eq!(param(&q, "nonce"), Some(pending.nonce.as_str()));
    assert_eq!(param(&q, "code_challenge").map(str::len), Some(43));
    assert!(!url.contains(&pending.code_verifier));
    // The redirect back carries iss (RFC 9207).
    assert_eq!(cb.iss.as_deref(), Some(idp.issuer.as_str()));

    let id = finish(&rp, &pending, &cb).await.expect("finish");
    assert_eq!(id.idp, IdpKind::Idporten);
    assert_eq!(id.issuer, idp.issuer);
    assert_eq!(id.national_id.as_deref(), Some("13097248022"));
    assert_eq!(id.eidas_id, None);
    assert_eq!(id.loa, Loa::High);
    assert_eq!(id.name, "ID-porten 130972*****");
    let age = OffsetDateTime::now_utc() - id.auth_time;
    assert!(
        age.whole_seconds().abs() < 120,
        "auth_time {}",
        id.auth_time
    );
    let evidence = id.evidence.expect("the id_token is the evidence");
    assert_eq!(evidence.split('.').count(), 3);

    // The same code again: the provider refuses it (one-time use) and the signer starts over.
    let again = finish(&rp, &pending, &cb).await.unwrap_err();
    assert!(
        matches!(&again, OidcError::Refused { endpoint: "token", error, .. } if error == "invalid_grant"),
        "{again:?}"
    );
    assert_eq!(again.user_reason(), UserReason::Expired);

    // Logout URL from the provider's end_session_endpoint.
    let logout = rp
        .end_session_url(
            Some(&evidence),
            Some("http://127.0.0.1/logged-out"),
            Some("bye"),
        )
        .unwrap();
    let q = query(&logout);
    assert!(logout.starts_with(&format!("{}/endsession?", idp.issuer)));
    assert_eq!(param(&q, "id_token_hint"), Some(evidence.as_str()));
    assert_eq!(
        param(&q, "post_logout_redirect_uri"),
        Some("http://127.0.0.1/logged-out")
    );
    assert_eq!(param(&q, "state"), Some("bye"));
    let page = idp_browser().get(&logout).send().await.unwrap();
    assert_eq!(
        page.status(),
        200,
        "the provider accepts the logout request"
    );
}

#[tokio::test]
async fn client_secret_basic_with_par_es256() {
    let idp = NodeIdp::start();
    let rp = rp(&idp, ClientAuth::Basic, true).await;
    let (url, pending, cb) = login(
        &rp,
        &req(Loa::Substantial, false),
        Choice::Login("ola"),
        REDIRECT,
    )
    .await;
    // With PAR only client_id and request_uri travel through the browser.
    let q = query(&url);
    let names: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["client_id", "request_uri"], "{url}");
    assert_eq!(param(&q, "client_id"), Some(CLIENT_BASIC));
    assert!(!url.contains(&pending.state));
    let id = finish(&rp, &pending, &cb).await.expect("finish");
    assert_eq!(id.national_id.as_deref(), Some("01889449930"));
    assert_eq!(id.loa, Loa::Substantial);
    assert_eq!(id.name, "Ola Nordmann");
    let header = id.evidence.unwrap().split('.').next().unwrap().to_string();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "ES256", "this client gets ES256 id_tokens");
}

#[tokio::test]
async fn private_key_jwt_ec_with_par_and_basic_without() {
    let idp = NodeIdp::start();
    for (auth, par) in [
        (ClientAuth::JwtEc, true),
        (ClientAuth::Basic, false),
        (ClientAuth::JwtRsa, true),
    ] {
        let rp = rp(&idp, auth, par).await;
        let (_, pending, cb) =
            login(&rp, &req(Loa::High, false), Choice::Login("kari"), REDIRECT).await;
        let id = finish(&rp, &pending, &cb)
            .await
            .unwrap_or_else(|e| panic!("{auth:?} par={par}: {e}"));
        assert_eq!(id.national_id.as_deref(), Some("13097248022"));
    }
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused_by_the_provider() {
    let idp = NodeIdp::start();
    let mut cfg = idp.config(ClientAuth::Basic, false);
    cfg.client_secret = Some("not-the-secret".into());
    let rp = OidcProvider::new(&cfg, REDIRECT.into()).await.unwrap();
    let (_, pending, cb) =
        login(&rp, &req(Loa::High, false), Choice::Login("kari"), REDIRECT).await;
    let e = finish(&rp, &pending, &cb).await.unwrap_err();
    assert!(
        matches!(&e, OidcError::Refused { endpoint: "token", error, .. } if error == "invalid_client"),
        "{e:?}"
    );
    assert_eq!(e.user_reason(), UserReason::ProviderUnavailable);
}

#[tokio::test]
async fn eidas_login_both_identifier_spellings() {
    let idp = NodeIdp::start();
    let rp = rp(&idp, ClientAuth::JwtRsa, true).await;
    let (url, pending, cb) =
        login(&rp, &req(Loa::High, true), Choice::Login("sven"), REDIRECT).await;
    assert!(query(&url).iter().any(|(k, _)| k == "request_uri"));
    let id = finish(&rp, &pending, &cb).await.expect("sven");
    assert_eq!(id.eidas_id.as_deref(), Some("SE/NO/199001011234"));
    assert_eq!(id.national_id, None);
    assert_eq!(id.name, "Sven Svensson");
    assert_eq!(id.date_of_birth.as_deref(), Some("1990-01-01"));
    assert_eq!(id.loa, Loa::High);

    let (_, pending, cb) = login(
        &rp,
        &req(Loa::Substantial, true),
        Choice::Login("maria"),
        REDIRECT,
    )
    .await;
    let id = finish(&rp, &pending, &cb).await.expect("maria");
    assert_eq!(id.eidas_id.as_deref(), Some("ES/NO/12345678Z"));
    assert_eq!(id.name, "María García");
    assert_eq!(id.loa, Loa::Substantial);
}

#[tokio::test]
async fn callback_checks() {
    let idp = NodeIdp::start();
    let rp = rp(&idp, ClientAuth::JwtRsa, false).await;

    // Wrong state.
    let (_, pending, cb) =
        login(&rp, &req(Loa::High, false), Choice::Login("kari"), REDIRECT).await;
    let mut bad = cb.clone();
    bad.state = Some(format!("{}x", pending.state));
    assert_eq!(
        finish(&rp, &pending, &bad).await,
        Err(OidcError::StateMismatch)
    );
    bad.state = None;
    assert_eq!(
        finish(&rp, &pending, &bad).await,
        Err(OidcError::StateMismatch)
    );
    // iss from another provider, or missing although announced.
    let mut bad = cb.clone();
    bad.iss = Some("https://evil.example".into());
    assert_eq!(
        finish(&rp, &pending, &bad).await,
        Err(OidcError::IssMismatch)
    );
    bad.iss = None;
    assert_eq!(
        finish(&rp, &pending, &bad).await,
        Err(OidcError::IssMissing)
    );
    // No code.
    let mut bad = cb.clone();
    bad.code = None;
    assert_eq!(
        finish(&rp, &pending, &bad).await,
        Err(OidcError::MissingCode)
    );
    // A wrong PKCE verifier: the provider refuses the code.
    let mut wrong_verifier = pending.clone();
    wrong_verifier.code_verifier = "A".repeat(43);
    let e = finish(&rp, &wrong_verifier, &cb).await.unwrap_err();
    assert!(
        matches!(&e, OidcError::Refused { error, .. } if error == "invalid_grant"),
        "{e:?}"
    );

    // Wrong nonce: the callback of one login finished with another login's nonce.
    let (_, pending, cb) =
        login(&rp, &req(Loa::High, false), Choice::Login("kari"), REDIRECT).await;
    let (_, other, _) = login(&rp, &req(Loa::High, false), Choice::Login("kari"), REDIRECT).await;
    let crossed = OidcPending {
        nonce: other.nonce.clone(),
        ..pending.clone()
    };
    let e = finish(&rp, &crossed, &cb).await.unwrap_err();
    assert_eq!(e, OidcError::NonceMismatch);
    assert_eq!(e.user_reason(), UserReason::Rejected);
    // And with the other login's pending as a whole (its state differs).
    assert_eq!(
        finish(&rp, &other, &cb).await,
        Err(OidcError::StateMismatch)
    );
}

#[tokio::test]
async fn cancel_is_access_denied() {
    let idp = NodeIdp::start();
    let rp = rp(&idp, ClientAuth::Basic, true).await;
    let (_, pending, cb) = login(&rp, &req(Loa::High, false), Choice::Cancel, REDIRECT).await;
    assert_eq!(cb.error.as_deref(), Some("access_denied"));
    let e = finish(&rp, &pending, &cb).await.unwrap_err();
    assert_eq!(e, OidcError::Cancelled);
    assert_eq!(e.user_reason(), UserReason::Cancelled);
}

#[tokio::test]
async fn insufficient_or_wrong_kind_of_acr() {
    let idp = NodeIdp::start();
    let rp = rp(&idp, ClientAuth::JwtRsa, false).await;
    // A MinID user only reaches substantial; the job asks for high.
    let (_, pending, cb) = login(&rp, &req(Loa::High, false), Choice::Login("ase"), REDIRECT).await;
    let e = finish(&rp, &pending, &cb).await.unwrap_err();
    assert_eq!(
        e,
        OidcError::LoaTooLow {
            got: Loa::Substantial,
            required: Loa::High
        }
    );
    assert_eq!(e.user_reason(), UserReason::LoaTooLow);
    // The same person at substantial is fine.
    let (_, pending, cb) = login(
        &rp,
        &req(Loa::Substantial, false),
        Choice::Login("ase"),
        REDIRECT,
    )
    .await;
    assert_eq!(
        finish(&rp, &pending, &cb)
            .await
            .unwrap()
            .national_id
            .as_deref(),
        Some("17912099997")
    );
    // An eIDAS login where a Norwegian eID was asked for, and the reverse.
    let (_, pending, cb) =
        login(&rp, &req(Loa::High, false), Choice::Login("sven"), REDIRECT).await;
    assert!(matches!(
        finish(&rp, &pending, &cb).await,
        Err(OidcError::AcrWrongKind { .. })
    ));
    let (_, pending, cb) = login(&rp, &req(Loa::High, true), Choice::Login("kari"), REDIRECT).await;
    assert!(matches!(
        finish(&rp, &pending, &cb).await,
        Err(OidcError::AcrWrongKind { .. })
    ));
}

#[tokio::test]
async fn tampered_id_tokens_over_the_real_flow() {
    let idp = NodeIdp::start();
    let rp = rp(&idp, ClientAuth::JwtRsa, false).await;
    type Check = fn(&OidcError) -> bool;
    let cases: [(&str, Check); 4] = [
        (
            "tamper-alg-none",
            |e| matches!(e, OidcError::AlgNotAllowed(a) if a == "none"),
        ),
        ("tamper-expired", |e| *e == OidcError::TokenExpired),
        ("tamper-wrong-aud", |e| *e == OidcError::WrongAudience),
        ("tamper-unknown-kid", |e| *e == OidcError::UnknownKid),
    ];
    for (account, want) in cases {
        let (_, pending, cb) = login(
            &rp,
            &req(Loa::High, false),
            Choice::Login(account),
            REDIRECT,
        )
        .await;
        let e = finish(&rp, &pending, &cb).await.unwrap_err();
        assert!(want(&e), "{account}: {e:?}");
        assert_eq!(e.user_reason(), UserReason::Rejected, "{account}");
    }
}

#[tokio::test]
async fn jwks_rotation_refetches_once() {
    let idp = NodeIdp::start();
    let rp = rp(&idp, ClientAuth::JwtRsa, false).await;
    let (_, pending, cb) =
        login(&rp, &req(Loa::High, false), Choice::Login("kari"), REDIRECT).await;
    finish(&rp, &pending, &cb).await.expect("before rotation");
    assert_eq!(idp.jwks_fetches().await, 1);
    // Cached: a second login does not fetch the JWKS.
    let (_, pending, cb) =
        login(&rp, &req(Loa::High, false), Choice::Login("kari"), REDIRECT).await;
    finish(&rp, &pending, &cb).await.unwrap();
    assert_eq!(idp.jwks_fetches().await, 1);

    // The provider rotates: the unknown kid makes the RP fetch the JWKS once more, and succeed.
    idp.rotate_keys().await;
    let (_, pending, cb) =
        login(&rp, &req(Loa::High, false), Choice::Login("kari"), REDIRECT).await;
    let id = finish(&rp, &pending, &cb).await.expect("after rotation");
    assert_eq!(id.national_id.as_deref(), Some("13097248022"));
    assert_eq!(idp.jwks_fetches().await, 2);

    // A kid that is never published: refused, and no refetch within the rate limit.
    let (_, pending, cb) = login(
        &rp,
        &req(Loa::High, false),
        Choice::Login("tamper-unknown-kid"),
        REDIRECT,
    )
    .await;
    assert_eq!(finish(&rp, &pending, &cb).await, Err(OidcError::UnknownKid));
    assert_eq!(idp.jwks_fetches().await, 2);
}

#[tokio::test]
async fn discovery_refusals() {
    let idp = NodeIdp::start();
    // The configured issuer must equal the document's exactly (here: a trailing slash).
    let mut cfg = idp.config(ClientAuth::JwtRsa, false);
    cfg.issuer = format!("{}/", idp.issuer);
    let e = OidcProvider::new(&cfg, REDIRECT.into()).await.unwrap_err();
    assert!(matches!(e, OidcError::IssuerMismatch { .. }), "{e:?}");
    // Nothing listening.
    let mut cfg = idp.config(ClientAuth::JwtRsa, false);
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    cfg.issuer = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let e = OidcProvider::new(&cfg, REDIRECT.into()).await.unwrap_err();
    assert!(matches!(e, OidcError::Http("discovery", _)), "{e:?}");
    assert_eq!(e.user_reason(), UserReason::ProviderUnavailable);
    // A client key that is not a PKCS#8 key.
    let mut cfg = idp.config(ClientAuth::JwtRsa, false);
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        bad.path(),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    cfg.client_key_file = Some(bad.path().to_path_buf());
    let e = OidcProvider::new(&cfg, REDIRECT.into()).await.unwrap_err();
    assert!(matches!(e, OidcError::Config(_)), "{e:?}");
}

// ------------------------------------------------------------------ through the gateway

mod common;

const ORG: &str = "991825827";
const KARI: &str = "13097248022";
const SVEN: &str = "SE/NO/199001011234";

/// A gateway whose ID-porten is the node provider (private_key_jwt with the RSA key, PAR).
async fn gateway(idp: &NodeIdp) -> common::Server {
    let env = idp.gateway_env(ClientAuth::JwtRsa, true);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    common::Server::start(common::Db::Sqlite, &env).await
}

async fn one_signer_job(
    server: &common::Server,
    key: &str,
    signer: serde_json::Value,
    loa: &str,
) -> (String, String) {
    let resp = common::create_job(
        server,
        key,
        serde_json::json!({
            "title": "Leieavtale",
            "kind": "portal",
            "required_loa": loa,
            "signers": [signer],
        }),
        &[("kontrakt.pdf", common::sample_pdf("Kontrakt", 1))],
    )
    .await;
    assert_eq!(resp.status(), 201);
    let job: serde_json::Value = resp.json().await.unwrap();
    (
        job["id"].as_str().unwrap().to_string(),
        job["signers"][0]["signing_url"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

/// GET `url` and follow redirects by hand (same cookie jar); the final status, URL and body.
async fn follow(
    b: &reqwest::Client,
    mut url: reqwest::Url,
) -> (reqwest::StatusCode, String, String) {
    for _ in 0..10 {
        let resp = b.get(url.clone()).send().await.unwrap();
        if resp.status().is_redirection() {
            let loc = resp.headers()[reqwest::header::LOCATION].to_str().unwrap();
            url = url.join(loc).unwrap();
            continue;
        }
        return (resp.status(), url.to_string(), resp.text().await.unwrap());
    }
    panic!("too many redirects from {url}");
}

/// The signer ceremony through the gateway and ID-porten: the signing link redirects to the
/// provider, the signer logs in as `choice`, the provider redirects to `/oidc/callback`, and
/// the signer presses the button whose form action ends in `/{decision}`.
async fn idporten_ceremony(
    base: &str,
    signing_url: &str,
    choice: Choice<'_>,
    decision: &str,
) -> common::CeremonyOutcome {
    let b = idp_browser();
    let landing = walk_idp(&b, signing_url, choice, &format!("{base}/oidc/callback")).await;
    assert!(
        landing.login_page.contains("account"),
        "the provider's login page was shown"
    );
    let (status, url, html) = follow(&b, landing.url).await;
    let Some(action) = common::form_action(&html, &format!("/{decision}")) else {
        return common::CeremonyOutcome {
            status,
            final_url: url,
            body: html,
        };
    };
    assert_eq!(status, 200);
    let csrf = common::input_value(&html, "csrf").expect("csrf field");
    let resp = b
        .post(format!("{base}{action}"))
        .form(&[("csrf", csrf.as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    let (status, url, body) = if resp.status().is_redirection() {
        let loc = resp.headers()[reqwest::header::LOCATION]
            .to_str()
            .unwrap()
            .to_string();
        follow(&b, reqwest::Url::parse(base).unwrap().join(&loc).unwrap()).await
    } else {
        let s = resp.status();
        let u = resp.url().to_string();
        (s, u, resp.text().await.unwrap())
    };
    common::CeremonyOutcome {
        status,
        final_url: url,
        body,
    }
}

#[tokio::test]
async fn e2e_a_job_signed_through_idporten_and_a_stranger_refused() {
    let idp = NodeIdp::start();
    let server = gateway(&idp).await;
    let key = server.org_add(ORG, "Universitetet i Oslo");
    let (id, url) = one_signer_job(
        &server,
        &key,
        serde_json::json!({"national_id": KARI}),
        "high",
    )
    .await;

    // Someone else logs in with Kari's link: refused, nothing signed.
    let wrong = idporten_ceremony(&server.base, &url, Choice::Login("ola"), "sign").await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert!(
        wrong
            .body
            .contains("someone other than the designated signer"),
        "{}",
        wrong.body
    );
    // A MinID login where the job requires high: refused.
    let low = idporten_ceremony(&server.base, &url, Choice::Login("ase"), "sign").await;
    assert_eq!(low.status, 403, "{}", low.body);
    assert!(low.body.contains("higher assurance level"), "{}", low.body);
    // A forged id_token (alg none) over the real flow: refused.
    let forged =
        idporten_ceremony(&server.base, &url, Choice::Login("tamper-alg-none"), "sign").await;
    assert_ne!(forged.status, 200, "{}", forged.body);
    let still = common::get_json(&server, &key, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(still["signers"][0]["status"], "waiting", "{still}");

    // Kari herself signs.
    let done = idporten_ceremony(&server.base, &url, Choice::Login("kari"), "sign").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("Thank you, you have signed"),
        "{}",
        done.body
    );
    let job = common::wait_for_job(&server, &key, &id, |j| j["status"] == "completed").await;
    assert_eq!(job["signers"][0]["status"], "signed", "{job}");
    let pades = common::get(&server, &key, &format!("/api/v1/jobs/{id}/pades")).await;
    assert_eq!(pades.status(), 200);
}

#[tokio::test]
async fn e2e_eidas_signer_through_idporten_eidas_login() {
    let idp = NodeIdp::start();
    let server = gateway(&idp).await;
    let key = server.org_add(ORG, "Universitetet i Oslo");
    let (id, url) = one_signer_job(
        &server,
        &key,
        serde_json::json!({"eidas_id": SVEN}),
        "substantial",
    )
    .await;
    // A Norwegian login on the eIDAS signer's link is the wrong kind of login.
    let wrong = idporten_ceremony(&server.base, &url, Choice::Login("kari"), "sign").await;
    assert_ne!(wrong.status, 200, "{}", wrong.body);
    let done = idporten_ceremony(&server.base, &url, Choice::Login("sven"), "sign").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("Thank you, you have signed"),
        "{}",
        done.body
    );
    let job = common::wait_for_job(&server, &key, &id, |j| j["status"] == "completed").await;
    assert_eq!(job["signers"][0]["status"], "signed", "{job}");
}

#[tokio::test]
async fn e2e_cancel_at_idporten() {
    let idp = NodeIdp::start();
    let server = gateway(&idp).await;
    let key = server.org_add(ORG, "Universitetet i Oslo");
    let (id, url) = one_signer_job(
        &server,
        &key,
        serde_json::json!({"national_id": KARI}),
        "substantial",
    )
    .await;
    let out = idporten_ceremony(&server.base, &url, Choice::Cancel, "sign").await;
    assert_eq!(out.status, 403, "{}", out.body);
    let still = common::get_json(&server, &key, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(still["signers"][0]["status"], "waiting", "{still}");
}

/// The discovery document is read once at start and again only after `discovery_ttl`; within
/// it, logins use the document in force (no fetch per login).
#[tokio::test]
async fn discovery_is_read_again_after_its_lifetime() {
    let idp = NodeIdp::start();
    let mut cfg = idp.config(ClientAuth::JwtEc, true);
    let rp = OidcProvider::new(&cfg, REDIRECT.into())
        .await
        .expect("discovery");
    let at_start = idp.discovery_fetches().await;
    assert!(at_start >= 1);
    for _ in 0..2 {
        let (_, pending, cb) =
            login(&rp, &req(Loa::High, false), Choice::Login("kari"), REDIRECT).await;
        finish(&rp, &pending, &cb).await.expect("finish");
    }
    assert_eq!(
        idp.discovery_fetches().await,
        at_start,
        "within its lifetime"
    );

    // A lifetime of zero: every use reads it again (and the login still works).
    cfg.discovery_ttl = std::time::Duration::ZERO;
    let rp = OidcProvider::new(&cfg, REDIRECT.into())
        .await
        .expect("discovery");
    let before = idp.discovery_fetches().await;
    let (_, pending, cb) =
        login(&rp, &req(Loa::High, false), Choice::Login("kari"), REDIRECT).await;
    finish(&rp, &pending, &cb).await.expect("finish");
    assert!(
        idp.discovery_fetches().await >= before + 2,
        "begin and the token exchange each read it again"
    );
}
