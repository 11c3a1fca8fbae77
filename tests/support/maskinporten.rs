//! A local stand-in for Maskinporten's token endpoint (Digdir, "Maskinporten: /token endpoint"
//! and "JWT grant"): `POST /token` with `application/x-www-form-urlencoded`
//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT grant>`, answered
//! `{"access_token", "token_type": "Bearer", "expires_in", "scope"}` or an OAuth error
//! `{"error", "error_description"}` with HTTP 400.
//!
//! It checks what Maskinporten documents, with `jsonwebtoken` (not signgate's code) for the
//! signature: header `alg` RS256/RS384/RS512 and exactly one of `kid` (a key registered for the
//! client) or `x5c` (whose first certificate must be the one registered); claims only from
//! Maskinporten's list (any other claim is "Invalid assertion"); `aud` equal to the issuer
//! identifier (not the token endpoint); `iss` a known client; `iat` within 10 s of now;
//! `exp − iat ≤ 120` and `exp` in the future; `jti` never reused; every requested `scope`
//! granted to the client. Tokens are opaque random strings remembered with their scopes;
//! [`MaskinportenStandIn::token_check`] lets the register stand-in accept them, and
//! [`MaskinportenStandIn::expire_all`] makes every issued token invalid at once (what expiry
//! does, without waiting). It records each accepted grant's header and claims.
//!
//! Owns: test plumbing only. Include with `#[path = "support/maskinporten.rs"] mod maskinporten;`.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use der::Decode;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// The grant type of RFC 7523 §2.1.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The claims Maskinporten's JWT grant documentation lists.
const KNOWN_CLAIMS: [&str; 9] = [
    "aud",
    "iss",
    "iat",
    "exp",
    "jti",
    "scope",
    "resource",
    "consumer_org",
    "iss_onbehalfof",
];

/// What the register stand-in calls to judge an `Authorization` header for a scope (the same
/// shape as `register::TokenCheck`).
pub type TokenCheck = Arc<dyn Fn(Option<&str>, &str) -> Result<(), StatusCode> + Send + Sync>;

/// A client registered with the stand-in.
#[derive(Clone)]
pub struct Client {
    /// `kid` of its registered key, if it uses one.
    pub kid: Option<String>,
    /// The registered business certificate (DER), if it uses `x5c`.
    pub certificate: Option<Vec<u8>>,
    /// PKCS#1 `RSAPublicKey` DER of its key.
    pub public_key: Vec<u8>,
    pub scopes: Vec<String>,
}

/// One accepted grant, decoded.
#[derive(Debug, Clone)]
pub struct Grant {
    pub header: serde_json::Value,
    pub claims: serde_json::Value,
}

struct Issued {
    scopes: Vec<String>,
    valid: bool,
}

struct Shared {
    issuer: Mutex<String>,
    clients: Mutex<HashMap<String, Client>>,
    jtis: Mutex<HashSet<String>>,
    tokens: Mutex<HashMap<String, Issued>>,
    grants: Mutex<Vec<Grant>>,
    requests: AtomicUsize,
    expires_in: Mutex<u64>,
}

pub struct MaskinportenStandIn {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MaskinportenStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MaskinportenStandIn {
    pub async fn start() -> MaskinportenStandIn {
        let shared = Arc::new(Shared {
            issuer: Mutex::new(String::new()),
            clients: Mutex::new(HashMap::new()),
            jtis: Mutex::new(HashSet::new()),
            tokens: Mutex::new(HashMap::new()),
            grants: Mutex::new(Vec::new()),
            requests: AtomicUsize::new(0),
            expires_in: Mutex::new(119),
        });
        let app = axum::Router::new()
            .route("/token", axum::routing::post(token))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        *shared.issuer.lock().unwrap() = format!("{base}/");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MaskinportenStandIn { base, shared, task }
    }

    /// The issuer identifier (the grant's `aud`), with Maskinporten's trailing slash.
    pub fn issuer(&self) -> String {
        self.shared.issuer.lock().unwrap().clone()
    }

    pub fn register(&self, client_id: &str, client: Client) {
        self.shared
            .clients
            .lock()
            .unwrap()
            .insert(client_id.to_string(), client);
    }

    /// `expires_in` of the tokens issued from now on.
    pub fn set_expires_in(&self, seconds: u64) {
        *self.shared.expires_in.lock().unwrap() = seconds;
    }

    /// Token requests received (accepted or not).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The grants accepted so far.
    pub fn grants(&self) -> Vec<Grant> {
        self.shared.grants.lock().unwrap().clone()
    }

    /// Every token issued so far stops being valid.
    pub fn expire_all(&self) {
        for t in self.shared.tokens.lock().unwrap().values_mut() {
            t.valid = false;
        }
    }

    /// A check for the register stand-in: `Authorization: Bearer <a valid token of ours>`
    /// (else 401) whose scopes include `scope` (else 403).
    pub fn token_check(&self) -> TokenCheck {
        let shared = Arc::clone(&self.shared);
        Arc::new(move |auth: Option<&str>, scope: &str| {
            let token = auth
                .and_then(|a| a.strip_prefix("Bearer "))
                .ok_or(StatusCode::UNAUTHORIZED)?;
            let tokens = shared.tokens.lock().unwrap();
            let issued = tokens
                .get(token)
                .filter(|t| t.valid)
                .ok_or(StatusCode::UNAUTHORIZED)?;
            if issued.scopes.iter().any(|s| s == scope) {
                Ok(())
            } else {
                Err(StatusCode::FORBIDDEN)
            }
        })
    }
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    s.requests.fetch_add(1, Ordering::SeqCst);
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !form_type.starts_with("application/x-www-form-urlencoded") {
        return oauth_error("invalid_request", "not a form");
    }
    if form.get("grant_type").map(String::as_str) != Some(JWT_BEARER) {
        return oauth_error("unsupported_grant_type", "grant_type must be jwt-bearer");
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error("invalid_request", "no assertion");
    };
    match judge(&s, assertion) {
        Ok((grant, scopes)) => {
            let token = URL_SAFE_NO_PAD.encode(rand_bytes());
            s.tokens.lock().unwrap().insert(
                token.clone(),
                Issued {
                    scopes: scopes.clone(),
                    valid: true,
                },
            );
            s.grants.lock().unwrap().push(grant);
            let expires_in = *s.expires_in.lock().unwrap();
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::json!({
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": expires_in,
                    "scope": scopes.join(" "),
                })
                .to_string(),
            )
                .into_response()
        }
        Err((error, description)) => oauth_error(error, &description),
    }
}

fn rand_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b
}

type Judged = Result<(Grant, Vec<String>), (&'static str, String)>;

fn judge(s: &Shared, assertion: &str) -> Judged {
    let invalid = |m: &str| ("invalid_grant", format!("Invalid assertion. {m}"));
    let mut parts = assertion.split('.');
    let (Some(h), Some(c), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a compact JWS"));
    };
    let decode = |p: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()
    };
    let (Some(header), Some(claims)) = (decode(h), decode(c)) else {
        return Err(invalid("unreadable header or claims"));
    };
    let alg = match header["alg"].as_str() {
        Some("RS256") => Algorithm::RS256,
        Some("RS384") => Algorithm::RS384,
        Some("RS512") => Algorithm::RS512,
        other => return Err(invalid(&format!("alg {other:?} is not supported"))),
    };
    let obj = claims
        .as_object()
        .ok_or_else(|| invalid("claims are not an object"))?;
    if let Some(k) = obj.keys().find(|k| !KNOWN_CLAIMS.contains(&k.as_str())) {
        return Err((
            "invalid_request",
            format!("Invalid assertion. Unknown claim {k}"),
        ));
    }
    let issuer = s.issuer.lock().unwrap().clone();
    if claims["aud"].as_str() != Some(issuer.as_str()) {
        return Err(invalid(
            "Client authentication failed. Invalid JWT claim aud",
        ));
    }
    let client_id = claims["iss"].as_str().unwrap_or_default();
    let client = s
        .clients
        .lock()
        .unwrap()
        .get(client_id)
        .cloned()
        .ok_or_else(|| ("invalid_client", format!("unknown client {client_id:?}")))?;
    // The key: a registered kid, or the registered certificate as the first x5c entry.
    match (header.get("kid"), header.get("x5c")) {
        (Some(kid), None) => {
            if client.kid.as_deref() != kid.as_str() {
                return Err(invalid("unknown kid"));
            }
        }
        (None, Some(x5c)) => {
            let first = x5c
                .as_array()
                .and_then(|a| a.first())
                .and_then(|c| c.as_str())
                .and_then(|c| STANDARD.decode(c).ok())
                .ok_or_else(|| invalid("x5c is not an array of base64 certificates"))?;
            x509_cert::Certificate::from_der(&first)
                .map_err(|_| invalid("x5c[0] is not a certificate"))?;
            if client.certificate.as_deref() != Some(first.as_slice()) {
                return Err(invalid(
                    "Client authentication failed. The JWT is signed with an invalid certificate.",
                ));
            }
        }
        _ => return Err(invalid("exactly one of kid and x5c must be present")),
    }
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    jsonwebtoken::decode::<serde_json::Value>(
        assertion,
        &DecodingKey::from_rsa_der(&client.public_key),
        &validation,
    )
    .map_err(|e| invalid(&format!("signature: {e}")))?;
    let now = now();
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err(invalid("iat and exp are required"));
    };
    if (iat - now).abs() > 10 {
        return Err(invalid("iat is more than 10 s from our clock"));
    }
    if exp - iat > 120 {
        return Err(invalid("exp - iat is more than 120 s"));
    }
    if exp <= now {
        return Err(invalid("the grant has expired"));
    }
    if let Some(jti) = claims["jti"].as_str()
        && !s.jtis.lock().unwrap().insert(jti.to_string())
    {
        return Err(invalid("jti already used"));
    }
    let scopes: Vec<String> = claims["scope"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if scopes.is_empty() {
        return Err(("invalid_scope", "no scope requested".into()));
    }
    if let Some(missing) = scopes.iter().find(|sc| !client.scopes.contains(sc)) {
        return Err((
            "invalid_scope",
            format!("Scope {missing} is not allowed for client {client_id}"),
        ));
    }
    Ok((Grant { header, claims }, scopes))
}
