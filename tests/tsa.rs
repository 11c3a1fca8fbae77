//! RFC 3161 against OpenSSL, both ways: `openssl ts -verify` accepts the development
//! time-stamping unit's replies to `openssl ts -query` requests, and our client's reply check
//! accepts what `openssl ts -reply` (a TSA we did not write) answers to our requests — and
//! refuses it for another nonce, another imprint or an untrusted TSA; and the gateway's
//! `POST /tsa` (the development unit) answers OpenSSL and our client, which fails over from a
//! dead TSA to a live one.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use signgate::sealing::keys::{SealKey, ensure_dev_pki};
use signgate::sealing::tsa::{
    DEV_POLICY, Expectation, TsaClient, TsaError, TsaUnit, fresh_nonce, request, verify_reply,
};
use signgate::validation::crypto::DigestAlg;
use time::OffsetDateTime;

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is required (scripts/test installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn pem_roots(path: &Path) -> Vec<Vec<u8>> {
    let pem = std::fs::read_to_string(path).unwrap();
    signgate::trust::anchors::parse_pem_certs(&pem, "test root").unwrap()
}

#[test]
fn openssl_verifies_our_unit_s_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pki = ensure_dev_pki(&d.join("keys"), None).unwrap();
    let unit = TsaUnit::new(
        SealKey::from_files(&pki.tsa_key, &pki.tsa_chain).unwrap(),
        DEV_POLICY,
    );
    std::fs::write(d.join("data.bin"), b"the signature value to timestamp").unwrap();
    for (digest, cert) in [("-sha256", true), ("-sha512", false)] {
        let mut args = vec!["ts", "-query", "-data", "data.bin", digest, "-out", "q.tsq"];
        if cert {
            args.push("-cert");
        }
        openssl(d, &args);
        let q = std::fs::read(d.join("q.tsq")).unwrap();
        std::fs::write(d.join("r.tsr"), unit.respond(&q, OffsetDateTime::now_utc())).unwrap();
        let text = openssl(d, &["ts", "-reply", "-in", "r.tsr", "-text"]);
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("Status: Granted"), "{text}");
        assert!(text.contains("1.3.6.1.4.1.32473.3161.1"), "{text}");
        let root = pki.root_cert.to_str().unwrap();
        let chain = pki.tsa_chain.to_str().unwrap();
        let mut verify = vec![
            "ts",
            "-verify",
            "-queryfile",
            "q.tsq",
            "-in",
            "r.tsr",
            "-CAfile",
            root,
        ];
        if !cert {
            // Without certReq the token carries no certificate: OpenSSL needs it given.
            verify.extend(["-untrusted", chain]);
        }
        let out = openssl(d, &verify);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
            "{out:?}"
        );
        // The same reply against another request's data: OpenSSL refuses it.
        std::fs::write(d.join("other.bin"), b"something else").unwrap();
        let refused = Command::new("openssl")
            .args([
                "ts",
                "-verify",
                "-data",
                "other.bin",
                "-in",
                "r.tsr",
                "-CAfile",
                root,
                "-untrusted",
                chain,
            ])
            .current_dir(d)
            .output()
            .unwrap();
        assert!(!refused.status.success(), "a wrong imprint must not verify");
    }
}

/// A TSA made with OpenSSL: its own root and TSA certificate (critical timeStamping EKU).
fn openssl_tsa(d: &Path) {
    std::fs::write(
        d.join("tsa.cnf"),
        "[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\nCN = OpenSSL Test TSA\n\
         [ tsa_ext ]\nextendedKeyUsage = critical,timeStamping\nkeyUsage = critical,digitalSignature\n\
         basicConstraints = CA:FALSE\n\
         [ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = .\nserial = ./serial\n\
         signer_cert = ./tsa.pem\ncerts = ./tsa.pem\nsigner_key = ./tsa.key\n\
         signer_digest = sha256\ndefault_policy = 1.3.6.1.4.1.32473.7\n\
         other_policies = 1.3.6.1.4.1.32473.3161.1\ndigests = sha256, sha384, sha512\n\
         accuracy = secs:1\ness_cert_id_alg = sha256\n",
    )
    .unwrap();
    std::fs::write(d.join("serial"), "01\n").unwrap();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-subj",
            "/CN=OpenSSL Test Root",
            "-days",
            "30",
        ],
    );
    openssl(
        d,
        &[
            "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out",
            "tsa.csr", "-config", "tsa.cnf",
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-out",
            "tsa.pem",
            "-days",
            "30",
            "-extfile",
            "tsa.cnf",
            "-extensions",
            "tsa_ext",
        ],
    );
}

#[test]
fn our_client_checks_openssl_replies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl_tsa(d);
    let imprint = DigestAlg::Sha256.digest(b"document bytes");
    let nonce = fresh_nonce();
    std::fs::write(
        d.join("q.tsq"),
        request(DigestAlg::Sha256, &imprint, &nonce, None).unwrap(),
    )
    .unwrap();
    openssl(
        d,
        &[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "q.tsq",
            "-out",
            "r.tsr",
        ],
    );
    let reply = std::fs::read(d.join("r.tsr")).unwrap();
    let roots = pem_roots(&d.join("root.pem"));
    let want = Expectation {
        alg: DigestAlg::Sha256,
        imprint: &imprint,
        nonce: &nonce,
        policy: None,
    };
    let now = OffsetDateTime::now_utc();
    let skew = Duration::from_secs(120);
    let token = verify_reply("openssl", &reply, &want, &roots, now, skew)
        .expect("an OpenSSL reply to our request is accepted");
    assert!(!token.is_empty());

    let other_nonce = fresh_nonce();
    let e = verify_reply(
        "openssl",
        &reply,
        &Expectation {
            nonce: &other_nonce,
            ..want.clone()
        },
        &roots,
        now,
        skew,
    );
    assert!(matches!(e, Err(TsaError::NonceMismatch { .. })), "{e:?}");
    let other_imprint = DigestAlg::Sha256.digest(b"other bytes");
    let e = verify_reply(
        "openssl",
        &reply,
        &Expectation {
            imprint: &other_imprint,
            ..want.clone()
        },
        &roots,
        now,
        skew,
    );
    assert!(matches!(e, Err(TsaError::ImprintMismatch { .. })), "{e:?}");
    let e = verify_reply(
        "openssl",
        &reply,
        &Expectation {
            policy: Some(DEV_POLICY),
            ..want.clone()
        },
        &roots,
        now,
        skew,
    );
    assert!(matches!(e, Err(TsaError::PolicyMismatch { .. })), "{e:?}");
    // Trusting another root: the same reply is untrusted.
    let keys = tempfile::tempdir().unwrap();
    let pki = ensure_dev_pki(keys.path(), None).unwrap();
    let e = verify_reply(
        "openssl",
        &reply,
        &want,
        &pem_roots(&pki.root_cert),
        now,
        skew,
    );
    assert!(matches!(e, Err(TsaError::Untrusted { .. })), "{e:?}");

    // A request for a policy OpenSSL does not serve is refused with a PKI status.
    std::fs::write(
        d.join("q2.tsq"),
        request(
            DigestAlg::Sha256,
            &imprint,
            &nonce,
            Some(const_oid::ObjectIdentifier::new_unwrap(
                "1.3.6.1.4.1.32473.99",
            )),
        )
        .unwrap(),
    )
    .unwrap();
    openssl(
        d,
        &[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "q2.tsq",
            "-out",
            "r2.tsr",
        ],
    );
    let e = verify_reply(
        "openssl",
        &std::fs::read(d.join("r2.tsr")).unwrap(),
        &want,
        &roots,
        now,
        skew,
    );
    assert!(
        matches!(e, Err(TsaError::Refused { status: 2, .. })),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_serves_the_development_unit_and_the_client_fails_over() {
    common::install_crypto();
    let server = common::Server::start(common::Db::Sqlite, &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // `keys chain --tsa`: the unit's certificate first, the development root last.
    let out = server.cli(&["keys", "chain", "--tsa"]);
    assert!(out.status.success(), "{out:?}");
    let chain = String::from_utf8(out.stdout).unwrap();
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2, "{chain}");
    std::fs::write(d.join("tsa-chain.pem"), &chain).unwrap();

    // OpenSSL's request over HTTP, OpenSSL's verification of the reply.
    std::fs::write(d.join("data.bin"), b"sealed document bytes").unwrap();
    openssl(
        d,
        &[
            "ts", "-query", "-data", "data.bin", "-sha256", "-cert", "-out", "q.tsq",
        ],
    );
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/tsa", server.base))
        .header("content-type", "application/timestamp-query")
        .body(std::fs::read(d.join("q.tsq")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/timestamp-reply"
    );
    std::fs::write(d.join("r.tsr"), resp.bytes().await.unwrap()).unwrap();
    let root = server.root_ca_pem();
    let out = openssl(
        d,
        &[
            "ts",
            "-verify",
            "-queryfile",
            "q.tsq",
            "-in",
            "r.tsr",
            "-CAfile",
            root.to_str().unwrap(),
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verification: OK"));

    // Wrong media type: refused before the unit sees it.
    let wrong = http
        .post(format!("{}/tsa", server.base))
        .header("content-type", "application/octet-stream")
        .body(std::fs::read(d.join("q.tsq")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 415);

    // Our client: a dead TSA first (a closed loopback port), then the gateway's unit.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/tsa", l.local_addr().unwrap())
    };
    let roots = pem_roots(&root);
    let client = TsaClient::new(
        vec![dead.clone(), format!("{}/tsa", server.base)],
        Some(DEV_POLICY),
        roots.clone(),
        Duration::from_secs(5),
    )
    .unwrap();
    let imprint = DigestAlg::Sha256.digest(b"signature value");
    let token = client
        .timestamp(DigestAlg::Sha256, &imprint)
        .await
        .expect("the second TSA answers");
    let (_, tst) = signgate::validation::tsp::parse_token(&token).unwrap();
    assert_eq!(tst.imprint, imprint);
    // Only dead TSAs, or a live one we do not trust: every attempt fails, each with its reason.
    let only_dead = TsaClient::new(vec![dead], None, roots, Duration::from_secs(5)).unwrap();
    let e = only_dead.timestamp(DigestAlg::Sha256, &imprint).await;
    assert!(
        matches!(&e, Err(TsaError::AllFailed(v)) if v.len() == 1),
        "{e:?}"
    );
    let keys = tempfile::tempdir().unwrap();
    let other = ensure_dev_pki(keys.path(), None).unwrap();
    let untrusting = TsaClient::new(
        vec![format!("{}/tsa", server.base)],
        None,
        pem_roots(&other.root_cert),
        Duration::from_secs(5),
    )
    .unwrap();
    let e = untrusting.timestamp(DigestAlg::Sha256, &imprint).await;
    assert!(
        matches!(&e, Err(TsaError::AllFailed(v)) if matches!(v[0], TsaError::Untrusted { .. })),
        "{e:?}"
    );
}

/// `signgate tsa serve`: the development unit on its own answers OpenSSL's request at `/`,
/// the reply verifies with OpenSSL against the development root; the production profile
/// refuses to start it.
#[tokio::test(flavor = "multi_thread")]
async fn tsa_serve_runs_the_unit_standalone_and_refuses_production() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;
    /// Kills the unit even when an assertion fails first.
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    common::install_crypto();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = d.join("keys");
    let child_process = Command::new(common::BIN)
        .args(["tsa", "serve", "--listen", "127.0.0.1:0"])
        .env_remove("SIGNGATE_CONFIG")
        .env("SIGNGATE__KEYS__DIR", &keys)
        .current_dir(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Running(child_process);
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("listening on") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("tsa serve started");
    let base = line.rsplit(' ').next().unwrap().to_string();
    std::fs::write(d.join("data.bin"), b"a document to stamp").unwrap();
    openssl(
        d,
        &[
            "ts", "-query", "-data", "data.bin", "-sha256", "-cert", "-out", "q.tsq",
        ],
    );
    let resp = reqwest::Client::new()
        .post(format!("{base}/"))
        .header("content-type", "application/timestamp-query")
        .body(std::fs::read(d.join("q.tsq")).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    std::fs::write(d.join("r.tsr"), resp.bytes().await.unwrap()).unwrap();
    let root = keys.join("dev-root-ca.pem");
    let out = openssl(
        d,
        &[
            "ts",
            "-verify",
            "-queryfile",
            "q.tsq",
            "-in",
            "r.tsr",
            "-CAfile",
            root.to_str().unwrap(),
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verification: OK"));
    drop(child);

    let refused = Command::new(common::BIN)
        .args(["tsa", "serve", "--listen", "127.0.0.1:0"])
        .env_remove("SIGNGATE_CONFIG")
        .env("SIGNGATE__KEYS__DIR", &keys)
        .env("SIGNGATE__PROFILE", "production")
        .current_dir(d)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("development") || err.contains("production"),
        "{err}"
    );
}
