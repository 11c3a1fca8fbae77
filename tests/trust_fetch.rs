//! `signgate trust refresh` online: the real binary downloads a synthetic, freshly signed
//! LOTL and Norwegian TL from a loopback axum server (ETags, 404, hangs, oversized
//! bodies), and the store keeps the last good copies; `signgate serve` runs the same
//! refresh on its schedule without blocking startup.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use signgate::trust::c14n::{self, C14nMethod};
use signgate::trust::xmldsig;

const BIN: &str = env!("CARGO_BIN_EXE_signgate");
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const OJ_URL: &str = "https://eur-lex.europa.eu/eli/C/2099/1/oj";

// ------------------------------------------------------------------ signing helpers
// (the approach of tests/trust_dsig/synthetic.rs: rcgen key + aws-lc-rs + our c14n)

struct Key {
    cert: Vec<u8>,
    kp: EcdsaKeyPair,
}

impl Key {
    fn new(cn: &str) -> Self {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        let cert = params.self_signed(&kp).unwrap().der().to_vec();
        let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &kp.serialize_der())
            .unwrap();
        Self { cert, kp: ec }
    }

    fn b64(&self) -> String {
        B64.encode(&self.cert)
    }

    fn pem(&self) -> String {
        let b = self.b64();
        let lines: Vec<&str> = b
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }
}

/// Signs `body` (the children of `TrustServiceStatusList`) with an enveloped signature.
fn sign_list(key: &Key, body: &str) -> String {
    let build = |dv: &str, sv: &str| {
        format!(
            r##"<?xml version="1.0" encoding="UTF-8"?>
<TrustServiceStatusList xmlns="http://uri.etsi.org/02231/v2#" xmlns:ns3="http://uri.etsi.org/02231/v2/additionaltypes#" Id="tsl" TSLTag="http://uri.etsi.org/19612/TSLTag">{body}<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="sig"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{exc}"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="{exc}"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>{dv}</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>{sv}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo><ds:Object><xades:QualifyingProperties xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" Target="#sig"><xades:SignedProperties Id="sp"><xades:SignedSignatureProperties><xades:SigningCertificate/></xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties></ds:Object></ds:Signature></TrustServiceStatusList>"##,
            exc = c14n::EXC_C14N,
            cert = key.b64(),
        )
    };
    let draft = build("", "");
    let doc = roxmltree::Document::parse(&draft).unwrap();
    let sig_id = doc
        .descendants()
        .find(|n| n.has_tag_name((xmldsig::DSIG_NS, "Signature")))
        .unwrap()
        .id();
    let mut buf = Vec::new();
    c14n::canonicalize(
        &doc,
        doc.root(),
        C14nMethod::Exclusive,
        Some(sig_id),
        &[],
        &mut buf,
    )
    .unwrap();
    let dv = B64.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &buf));
    let with_dv = build(&dv, "");
    let doc = roxmltree::Document::parse(&with_dv).unwrap();
    let si = doc
        .descendants()
        .find(|n| n.has_tag_name((xmldsig::DSIG_NS, "SignedInfo")))
        .unwrap();
    buf.clear();
    c14n::canonicalize(&doc, si, C14nMethod::Exclusive, None, &[], &mut buf).unwrap();
    let sv = B64.encode(key.kp.sign(&SystemRandom::new(), &buf).unwrap().as_ref());
    build(&dv, &sv)
}

fn scheme_info(seq: u64, tsl_type: &str, territory: &str, pointers: &str) -> String {
    format!(
        r#"<SchemeInformation><TSLVersionIdentifier>5</TSLVersionIdentifier><TSLSequenceNumber>{seq}</TSLSequenceNumber><TSLType>http://uri.etsi.org/TrstSvc/TrustedList/TSLType/{tsl_type}</TSLType><SchemeOperatorName><Name xml:lang="en">Operator {territory}</Name></SchemeOperatorName><StatusDeterminationApproach>http://uri.etsi.org/TrstSvc/TrustedList/StatusDetn/EUappropriate</StatusDeterminationApproach><SchemeTerritory>{territory}</SchemeTerritory>{pointers}<ListIssueDateTime>2026-01-01T00:00:00Z</ListIssueDateTime><NextUpdate><dateTime>2099-01-01T00:00:00Z</dateTime></NextUpdate></SchemeInformation>"#
    )
}

fn pointer(cert_b64: &str, location: &str, tsl_type: &str, territory: &str) -> String {
    format!(
        r#"<OtherTSLPointer><ServiceDigitalIdentities><ServiceDigitalIdentity><DigitalId><X509Certificate>{cert_b64}</X509Certificate></DigitalId></ServiceDigitalIdentity></ServiceDigitalIdentities><TSLLocation>{location}</TSLLocation><AdditionalInformation><OtherInformation><TSLType>http://uri.etsi.org/TrstSvc/TrustedList/TSLType/{tsl_type}</TSLType></OtherInformation><OtherInformation><SchemeOperatorName><Name xml:lang="en">Operator {territory}</Name></SchemeOperatorName></OtherInformation><OtherInformation><SchemeTerritory>{territory}</SchemeTerritory></OtherInformation><OtherInformation><ns3:MimeType>application/vnd.etsi.tsl+xml</ns3:MimeType></OtherInformation></AdditionalInformation></OtherTSLPointer>"#
    )
}

fn lotl(oj: &Key, tl_signer: &Key, base: &str) -> String {
    let ptrs = format!(
        "<PointersToOtherTSL>{}{}</PointersToOtherTSL>",
        pointer(
            &oj.b64(),
            &format!("{base}/eu-lotl.xml"),
            "EUlistofthelists",
            "EU"
        ),
        pointer(
            &tl_signer.b64(),
            &format!("{base}/NO.xml"),
            "EUgeneric",
            "NO"
        ),
    );
    sign_list(oj, &scheme_info(10, "EUlistofthelists", "EU", &ptrs))
}

fn no_tl(signer: &Key, ca: &Key, seq: u64) -> String {
    let tsp = format!(
        r#"<TrustServiceProviderList><TrustServiceProvider><TSPInformation><TSPName><Name xml:lang="en">Test TSP</Name></TSPName></TSPInformation><TSPServices><TSPService><ServiceInformation><ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/CA/QC</ServiceTypeIdentifier><ServiceName><Name xml:lang="en">Test CA</Name></ServiceName><ServiceDigitalIdentity><DigitalId><X509Certificate>{}</X509Certificate></DigitalId></ServiceDigitalIdentity><ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted</ServiceStatus><StatusStartingTime>2025-01-01T00:00:00Z</StatusStartingTime></ServiceInformation></TSPService></TSPServices></TrustServiceProvider></TrustServiceProviderList>"#,
        ca.b64()
    );
    sign_list(
        signer,
        &format!("{}{tsp}", scheme_info(seq, "EUgeneric", "NO", "")),
    )
}

// ------------------------------------------------------------------ server

#[derive(Clone)]
enum Serve {
    Doc(Arc<Vec<u8>>),
    NotFound,
    /// Never answers (until the client gives up).
    Hang,
    /// Streams this many bytes (no Content-Length).
    Huge(usize),
}

#[derive(Clone, Default)]
struct Server {
    files: Arc<Mutex<HashMap<String, Serve>>>,
    conditional: Arc<AtomicUsize>,
    not_modified: Arc<AtomicUsize>,
}

impl Server {
    fn set(&self, name: &str, s: Serve) {
        self.files.lock().unwrap().insert(name.to_string(), s);
    }
    fn doc(&self, name: &str, xml: &str) {
        self.set(name, Serve::Doc(Arc::new(xml.as_bytes().to_vec())));
    }
}

async fn handler(
    State(s): State<Server>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let entry = s.files.lock().unwrap().get(&name).cloned();
    match entry {
        None | Some(Serve::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Some(Serve::Hang) => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        Some(Serve::Huge(n)) => {
            let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
            let stream = futures::stream::iter(
                (0..n.div_ceil(chunk.len())).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            Response::new(Body::from_stream(stream))
        }
        Some(Serve::Doc(bytes)) => {
            let etag = format!(
                "\"{}\"",
                hex::encode(
                    &aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes).as_ref()[..8]
                )
            );
            if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
                s.conditional.fetch_add(1, Ordering::SeqCst);
                if inm.to_str().ok() == Some(etag.as_str()) {
                    s.not_modified.fetch_add(1, Ordering::SeqCst);
                    return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
                }
            }
            (
                [
                    (header::ETAG, etag),
                    (header::CONTENT_TYPE, "application/xml".to_string()),
                ],
                bytes.as_ref().clone(),
            )
                .into_response()
        }
    }
}

// ------------------------------------------------------------------ binary

struct Env {
    dir: PathBuf,
    lotl_url: String,
    anchors: PathBuf,
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

async fn signgate(env: &Env, args: &[&str]) -> Run {
    let start = Instant::now();
    let out = tokio::process::Command::new(BIN)
        .current_dir(&env.dir)
        .env("SIGNGATE__TRUST__LOTL_URL", &env.lotl_url)
        .env("SIGNGATE__TRUST__OJ_URL", OJ_URL)
        .env("SIGNGATE__TRUST__ANCHORS_FILE", &env.anchors)
        .env("SIGNGATE__TRUST__STORE_DIR", env.dir.join("trust"))
        .env("SIGNGATE__TRUST__FETCH_TIMEOUT", "1s")
        .env("SIGNGATE__TRUST__MAX_LIST_BYTES", "200000")
        .args(args)
        .output()
        .await
        .unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

async fn refresh(env: &Env) -> Run {
    signgate(env, &["trust", "refresh"]).await
}

/// `trust show --format json`: (LOTL status, NO status, NO sequence).
async fn show(env: &Env) -> (String, String, u64) {
    let r = signgate(env, &["trust", "show", "--format", "json"]).await;
    assert!(r.ok, "show: {}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let no = v["lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["territory"] == "NO")
        .cloned()
        .unwrap();
    (
        v["lotl"]["status"].as_str().unwrap().to_string(),
        no["status"].as_str().unwrap().to_string(),
        no["sequence"].as_u64().unwrap_or(0),
    )
}

fn stored_lists(dir: &Path) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("trust/state.json")).unwrap()).unwrap();
    v["lists"].clone()
}

struct Fixture {
    oj: Key,
    tl_signer: Key,
    ca: Key,
    server: Server,
    base: String,
}

async fn fixture() -> Fixture {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let server = Server::default();
    let app = axum::Router::new()
        .route("/{name}", axum::routing::get(handler))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Fixture {
        oj: Key::new("Test OJ LOTL signer"),
        tl_signer: Key::new("Test NO TL signer"),
        ca: Key::new("Test NO CA"),
        server,
        base,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn online_refresh_keeps_last_good_copies() {
    let Fixture {
        oj,
        tl_signer,
        ca,
        server,
        base,
    } = fixture().await;
    let good_lotl = lotl(&oj, &tl_signer, &base);
    server.doc("eu-lotl.xml", &good_lotl);
    server.doc("NO.xml", &no_tl(&tl_signer, &ca, 1));

    let tmp = tempfile::tempdir().unwrap();
    let anchors = tmp.path().join("oj.pem");
    std::fs::write(&anchors, oj.pem()).unwrap();
    let env = Env {
        dir: tmp.path().to_path_buf(),
        lotl_url: format!("{base}/eu-lotl.xml"),
        anchors,
    };

    // (1) First refresh: LOTL and NO valid, stored.
    let r = refresh(&env).await;
    assert!(r.ok, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("LOTL seq 10"), "{}", r.stdout);
    assert_eq!(show(&env).await, ("valid".into(), "valid".into(), 1));
    let first = stored_lists(&env.dir);
    let no_bytes = std::fs::read(env.dir.join("trust/NO.xml")).unwrap();

    // (2) Second refresh: conditional GETs answered 304, state unchanged.
    let r = refresh(&env).await;
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(server.conditional.load(Ordering::SeqCst), 2);
    assert_eq!(server.not_modified.load(Ordering::SeqCst), 2);
    assert!(r.stderr.contains("2 not modified"), "{}", r.stderr);
    assert_eq!(stored_lists(&env.dir), first);
    assert_eq!(
        std::fs::read(env.dir.join("trust/NO.xml")).unwrap(),
        no_bytes
    );

    // (2b) NO publishes its .sha2 (ETSI TS 119 612): it matches the cached copy, so NO is not
    // requested at all; only the LOTL (no .sha2 here) is revalidated.
    let no_digest = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &no_bytes,
    ));
    server.doc("NO.sha2", &no_digest);
    let r = refresh(&env).await;
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(
        server.conditional.load(Ordering::SeqCst),
        3,
        "only the LOTL asked again"
    );
    assert!(r.stderr.contains("2 not modified"), "{}", r.stderr);
    assert_eq!(stored_lists(&env.dir), first);
    server.set("NO.sha2", Serve::NotFound);

    // (3) The NO TL disappears: the last good copy stays in force.
    server.set("NO.xml", Serve::NotFound);
    let r = refresh(&env).await;
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stderr.contains("404"), "{}", r.stderr);
    assert!(
        r.stderr.contains("NO: last good copy seq 1 kept in force"),
        "{}",
        r.stderr
    );
    assert_eq!(show(&env).await, ("valid".into(), "valid".into(), 1));

    // (4) A new NO TL is picked up.
    server.doc("NO.xml", &no_tl(&tl_signer, &ca, 2));
    let r = refresh(&env).await;
    assert!(r.ok, "{}", r.stderr);
    assert!(!r.stderr.contains("kept in force"), "{}", r.stderr);
    assert_eq!(show(&env).await, ("valid".into(), "valid".into(), 2));

    // (5) A LOTL with a broken signature: refresh fails, nothing replaced.
    let state_before = std::fs::read(env.dir.join("trust/state.json")).unwrap();
    let broken = good_lotl.replacen("Operator EU", "Operator EV", 1);
    assert_ne!(broken, good_lotl);
    server.doc("eu-lotl.xml", &broken);
    server.doc("NO.xml", &no_tl(&tl_signer, &ca, 3));
    let r = refresh(&env).await;
    assert!(!r.ok, "{}", r.stdout);
    assert!(r.stderr.contains("LOTL"), "{}", r.stderr);
    assert_eq!(
        std::fs::read(env.dir.join("trust/state.json")).unwrap(),
        state_before
    );
    assert_eq!(show(&env).await, ("valid".into(), "valid".into(), 2));
    // The failure is visible in `trust show`, while the last good lists stay in force.
    let text = signgate(&env, &["trust", "show"]).await;
    assert!(
        text.stdout.contains("LAST REFRESH FAILED"),
        "{}",
        text.stdout
    );
    let json = signgate(&env, &["trust", "show", "--format", "json"]).await;
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["last_refresh"]["ok"], false, "{v}");
    assert!(
        v["last_refresh"]["error"]
            .as_str()
            .unwrap()
            .contains("LOTL"),
        "{v}"
    );
    server.doc("eu-lotl.xml", &good_lotl);
    server.doc("NO.xml", &no_tl(&tl_signer, &ca, 2));

    // (6a) A TL that never answers is refused after the timeout (1 s), in bounded time.
    server.set("NO.xml", Serve::Hang);
    let r = refresh(&env).await;
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stderr.contains("timeout"), "{}", r.stderr);
    assert!(r.stderr.contains("kept in force"), "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(15), "{:?}", r.elapsed);
    assert_eq!(show(&env).await, ("valid".into(), "valid".into(), 2));

    // (6b) A TL larger than max_list_bytes (streamed, no Content-Length) is refused.
    server.set("NO.xml", Serve::Huge(1_000_000));
    let r = refresh(&env).await;
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stderr.contains("too large"), "{}", r.stderr);
    assert!(r.stderr.contains("kept in force"), "{}", r.stderr);
    assert_eq!(show(&env).await, ("valid".into(), "valid".into(), 2));
}

/// Polls `/health` until `checks.trust` satisfies `done` (bounded).
async fn wait_trust(base: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let h: serde_json::Value = client
            .get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let t = h["checks"]["trust"].clone();
        if done(&t) {
            return t;
        }
        assert!(Instant::now() < deadline, "health never showed it: {h}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_refreshes_on_schedule() {
    let f = fixture().await;
    let anchors_dir = tempfile::tempdir().unwrap();
    let anchors = anchors_dir.path().join("oj.pem");
    std::fs::write(&anchors, f.oj.pem()).unwrap();
    let lotl_url = format!("{}/eu-lotl.xml", f.base);
    let anchors_s = anchors.display().to_string();
    let env = [
        ("SIGNGATE__TRUST__LOTL_URL", lotl_url.as_str()),
        ("SIGNGATE__TRUST__OJ_URL", OJ_URL),
        ("SIGNGATE__TRUST__ANCHORS_FILE", anchors_s.as_str()),
        ("SIGNGATE__TRUST__REFRESH_INTERVAL", "1h"),
        ("SIGNGATE__TRUST__FETCH_TIMEOUT", "1s"),
    ];

    // A LOTL server that never answers: startup is not blocked, the refresh fails after
    // the timeout, is counted and shown in /health.
    f.server.set("eu-lotl.xml", Serve::Hang);
    let mut a = common::Server::start(common::Db::Sqlite, &env).await;
    let t = wait_trust(&a.base, |t| !t["last_error"].is_null()).await;
    assert!(t["last_error"].as_str().unwrap().contains("timeout"), "{t}");
    assert!(t["last_refresh"].is_null(), "{t}");
    let m = reqwest::get(format!("{}/metrics", a.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("signgate_trust_refresh_failures_total 1"), "{m}");
    a.kill9();

    // The lists are served: the next start (store still empty) refreshes right away.
    f.server
        .doc("eu-lotl.xml", &lotl(&f.oj, &f.tl_signer, &f.base));
    f.server.doc("NO.xml", &no_tl(&f.tl_signer, &f.ca, 7));
    let b = a.replica(&[]);
    let t = wait_trust(&b.base, |t| !t["last_refresh"].is_null()).await;
    assert!(t["last_error"].is_null(), "{t}");
    let out = b.cli(&["trust", "show", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["lotl"]["status"], "valid");
    assert_eq!(v["lists"][0]["territory"], "NO");
    assert_eq!(v["lists"][0]["sequence"], 7);
    // The refreshed lists are in force in memory (the registry validation asks).
    let t = wait_trust(&b.base, |t| t["services"].as_u64().unwrap_or(0) > 0).await;
    assert_eq!(t["lotl_sequence"], 10, "{t}");
    assert_eq!(t["services"], 1, "{t}");

    // A restart without the scheduler puts the stored lists in force offline.
    let mut b = b;
    b.kill9();
    let c = a.replica(&[("SIGNGATE__TRUST__REFRESH_INTERVAL", "0s")]);
    let t = wait_trust(&c.base, |t| t["services"].as_u64().unwrap_or(0) > 0).await;
    assert_eq!(t["lotl_sequence"], 10, "{t}");
}
