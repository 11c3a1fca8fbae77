//! The ID-porten stand-in for tests: node `oidc-provider` (tests/idp/oidc/server.mjs) on a free
//! loopback port, plus a browser-free login through its interaction form.
//!
//! The provider is started with our client's public keys (an RSA and an EC P-256 key generated
//! here, whose PKCS#8 PEMs the relying party is configured with) and a random client secret.
//! It prints `READY <issuer>` once it listens; we wait for that line (no sleeps) and kill the
//! process on drop (it also exits when its stdin closes, so a crashed test leaves nothing).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use signgate::config::IdportenConfig;
use signgate::identity::oidc::{OidcCallback, OidcPending, OidcProvider};

/// The provider's clients (tests/idp/oidc/server.mjs).
pub const CLIENT_JWT: &str = "signgate-jwt";
pub const CLIENT_BASIC: &str = "signgate-basic";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// private_key_jwt with the RSA client key.
    JwtRsa,
    /// private_key_jwt with the EC P-256 client key.
    JwtEc,
    /// client_secret_basic.
    Basic,
}

pub struct NodeIdp {
    child: Child,
    pub issuer: String,
    pub client_secret: String,
    pub rsa_key_file: PathBuf,
    pub ec_key_file: PathBuf,
    _tmp: tempfile::TempDir,
}

fn idp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/idp/oidc")
}

#[derive(der::Sequence)]
struct RsaPublicKey<'a> {
    n: der::asn1::UintRef<'a>,
    e: der::asn1::UintRef<'a>,
}

fn pem(der: &[u8]) -> String {
    der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, der).unwrap()
}

impl NodeIdp {
    /// Starts the provider; panics with a clear message when node or its packages are missing.
    pub fn start() -> NodeIdp {
        Self::start_with_client_keys(&[])
    }

    /// [`NodeIdp::start`], registering `extra` public JWKs for the private_key_jwt client
    /// besides the generated RSA and EC keys (e.g. a key that lives in a PKCS#11 token).
    pub fn start_with_client_keys(extra: &[serde_json::Value]) -> NodeIdp {
        let dir = idp_dir();
        match Command::new("node").arg("--version").output() {
            Ok(o) if o.status.success() => {}
            _ => panic!(
                "node is required for the OIDC tests (the ID-porten stand-in is node \
                 oidc-provider) and was not found; install Node.js 20+ and run scripts/test"
            ),
        }
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "{}/node_modules is missing: run `npm ci` there (scripts/test does)",
            dir.display()
        );
        let tmp = tempfile::tempdir().unwrap();
        let rng = SystemRandom::new();

        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let rsa_pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).unwrap();
        let rsa_pub: RsaPublicKey =
            der::Decode::from_der(rsa.public_key().as_ref()).expect("PKCS#1 public key");
        let ec_pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let ec =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ec_pkcs8.as_ref()).unwrap();
        let point = ec.public_key().as_ref();
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let mut keys = vec![
            serde_json::json!({"kty": "RSA", "kid": "client-rsa", "use": "sig", "alg": "RS256",
             "n": b64(rsa_pub.n.as_bytes()), "e": b64(rsa_pub.e.as_bytes())}),
            serde_json::json!({"kty": "EC", "kid": "client-ec", "use": "sig", "alg": "ES256", "crv": "P-256",
             "x": b64(&point[1..33]), "y": b64(&point[33..65])}),
        ];
        keys.extend_from_slice(extra);
        let jwks = serde_json::json!({ "keys": keys });
        let rsa_key_file = tmp.path().join("client-rsa.pem");
        let ec_key_file = tmp.path().join("client-ec.pem");
        std::fs::write(&rsa_key_file, pem(rsa_pkcs8.as_ref())).unwrap();
        std::fs::write(&ec_key_file, pem(ec_pkcs8.as_ref())).unwrap();
        let client_secret = {
            let mut b = [0u8; 24];
            aws_lc_rs::rand::SecureRandom::fill(&rng, &mut b).unwrap();
            b64(&b)
        };

        // Start the provider and wait for its READY line. Once in a while (seen twice in
        // dozens of suite runs, each time as the first provider of a test binary) node stays
        // silent before listening; a start that prints nothing within a minute is killed and
        // tried again, at most three times — the tests themselves never retry.
        let mut attempt = 0;
        let (child, issuer) = loop {
            attempt += 1;
            let mut child = Command::new("node")
                .arg("server.mjs")
                .current_dir(&dir)
                .env("OIDC_CLIENT_JWKS", jwks.to_string())
                .env("OIDC_CLIENT_SECRET", &client_secret)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn node tests/idp/oidc/server.mjs");
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(issuer) = line.strip_prefix("READY ") {
                        let _ = tx.send(issuer.trim().to_string());
                    }
                }
            });
            // The wait ends as soon as READY is printed.
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(issuer) => break (child, issuer),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait();
                    panic!(
                        "the node OIDC provider exited before READY ({status:?}); its stderr is above"
                    );
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    assert!(
                        attempt < 3,
                        "the node OIDC provider did not print READY ({e:?}) in 3 starts of 60 s"
                    );
                    eprintln!(
                        "the node OIDC provider did not print READY within 60 s ({e:?}); \
                         starting it again (attempt {})",
                        attempt + 1
                    );
                }
            }
        };
        NodeIdp {
            child,
            issuer,
            client_secret,
            rsa_key_file,
            ec_key_file,
            _tmp: tmp,
        }
    }

    /// An `[idporten]` section for one of the provider's clients.
    pub fn config(&self, auth: ClientAuth, use_par: bool) -> IdportenConfig {
        let (client_id, secret, key, kid) = match auth {
            ClientAuth::JwtRsa => (
                CLIENT_JWT,
                None,
                Some(self.rsa_key_file.clone()),
                "client-rsa",
            ),
            ClientAuth::JwtEc => (
                CLIENT_JWT,
                None,
                Some(self.ec_key_file.clone()),
                "client-ec",
            ),
            ClientAuth::Basic => (CLIENT_BASIC, Some(self.client_secret.clone()), None, ""),
        };
        IdportenConfig {
            issuer: self.issuer.clone(),
            client_id: client_id.into(),
            client_secret: secret,
            client_key_file: key,
            client_key_pkcs11: None,
            client_key_id: (!kid.is_empty()).then(|| kid.to_string()),
            use_par,
            eidas_login: true,
            clock_skew: Duration::from_secs(60),
            scopes: vec!["profile".into()],
            timeout: Duration::from_secs(10),
            discovery_ttl: Duration::from_secs(24 * 3600),
        }
    }

    /// Environment overrides that point a gateway at this provider.
    pub fn gateway_env(&self, auth: ClientAuth, use_par: bool) -> Vec<(String, String)> {
        let c = self.config(auth, use_par);
        let mut env = vec![
            ("SIGNGATE__IDPORTEN__ISSUER".to_string(), c.issuer),
            ("SIGNGATE__IDPORTEN__CLIENT_ID".to_string(), c.client_id),
            (
                "SIGNGATE__IDPORTEN__USE_PAR".to_string(),
                use_par.to_string(),
            ),
            (
                "SIGNGATE__IDPORTEN__EIDAS_LOGIN".to_string(),
                "true".to_string(),
            ),
        ];
        if let Some(s) = c.client_secret {
            env.push(("SIGNGATE__IDPORTEN__CLIENT_SECRET".into(), s));
        }
        if let Some(k) = c.client_key_file {
            env.push((
                "SIGNGATE__IDPORTEN__CLIENT_KEY_FILE".into(),
                k.display().to_string(),
            ));
        }
        if let Some(k) = c.client_key_id {
            env.push(("SIGNGATE__IDPORTEN__CLIENT_KEY_ID".into(), k));
        }
        env
    }

    /// Test control: sign every following id_token with a new, then-published key.
    pub async fn rotate_keys(&self) {
        let r = plain_client()
            .post(format!("{}/test/rotate", self.issuer))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "rotate: {}", r.status());
    }

    /// The provider's request counters (`GET /test/stats`).
    async fn stats(&self) -> serde_json::Value {
        plain_client()
            .get(format!("{}/test/stats", self.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// How often the discovery document has been fetched.
    pub async fn discovery_fetches(&self) -> u64 {
        self.stats().await["discovery_fetches"].as_u64().unwrap()
    }

    /// How often the JWKS has been fetched.
    pub async fn jwks_fetches(&self) -> u64 {
        self.stats().await["jwks_fetches"].as_u64().unwrap()
    }
}

impl Drop for NodeIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn plain_client() -> reqwest::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A cookie-keeping client that does not follow redirects (we follow them by hand, to stop at
/// the redirect back to the relying party).
pub fn idp_browser() -> reqwest::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        reqwest::header::HeaderValue::from_static("en-GB,en;q=0.9"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// What the signer does on the provider's login page.
#[derive(Clone, Copy, Debug)]
pub enum Choice<'a> {
    Login(&'a str),
    Cancel,
}

/// Where the browser ended up: the redirect to a URL starting with `stop_prefix`.
pub struct Landing {
    pub url: reqwest::Url,
    /// The provider's login page HTML, seen on the way.
    pub login_page: String,
}

fn resolve(base: &reqwest::Url, resp: &reqwest::Response) -> reqwest::Url {
    let loc = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .expect("redirect without Location")
        .to_str()
        .unwrap();
    base.join(loc).unwrap()
}

/// Follows `start` through the provider's pages, makes `choice` on its login form, and stops
/// at the first redirect to a URL beginning with `stop_prefix` (not followed).
pub async fn walk_idp(
    browser: &reqwest::Client,
    start: &str,
    choice: Choice<'_>,
    stop_prefix: &str,
) -> Landing {
    let mut url = reqwest::Url::parse(start).unwrap();
    let mut login_page = String::new();
    let mut submitted = false;
    for _ in 0..20 {
        if url.as_str().starts_with(stop_prefix) {
            return Landing { url, login_page };
        }
        let resp = browser.get(url.clone()).send().await.unwrap();
        if resp.status().is_redirection() {
            url = resolve(&url, &resp);
            continue;
        }
        let status = resp.status();
        let html = resp.text().await.unwrap();
        assert_eq!(status, 200, "{url}: {html}");
        assert!(
            !submitted,
            "the provider showed a second page after login: {html}"
        );
        let (path, form): (&str, Vec<(&str, &str)>) = match choice {
            Choice::Login(account) => ("/login", vec![("account", account)]),
            Choice::Cancel => ("/abort", vec![]),
        };
        let action = html
            .split("action=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .find(|a| a.ends_with(path))
            .unwrap_or_else(|| panic!("no form ending in {path} on {url}: {html}"))
            .to_string();
        login_page = html;
        let post_url = url.join(&action).unwrap();
        let resp = browser
            .post(post_url.clone())
            .form(&form)
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_redirection(),
            "login POST answered {}",
            resp.status()
        );
        url = resolve(&post_url, &resp);
        submitted = true;
    }
    panic!("too many redirects");
}

/// The callback query of a redirect back to the relying party.
pub fn callback_of(url: &reqwest::Url) -> OidcCallback {
    serde_urlencoded_like(url)
}

fn serde_urlencoded_like(url: &reqwest::Url) -> OidcCallback {
    let mut cb = OidcCallback::default();
    for (k, v) in url.query_pairs() {
        let v = Some(v.into_owned());
        match k.as_ref() {
            "code" => cb.code = v,
            "state" => cb.state = v,
            "iss" => cb.iss = v,
            "error" => cb.error = v,
            "error_description" => cb.error_description = v,
            _ => {}
        }
    }
    cb
}

/// `begin` → provider login as `choice` → the callback and the pending login.
pub async fn login(
    rp: &OidcProvider,
    req: &signgate::identity::oidc::OidcAuthRequest,
    choice: Choice<'_>,
    redirect_uri: &str,
) -> (String, OidcPending, OidcCallback) {
    let (url, pending) = rp.begin(req).await.expect("begin");
    let landing = walk_idp(&idp_browser(), &url, choice, redirect_uri).await;
    (url, pending, callback_of(&landing.url))
}
