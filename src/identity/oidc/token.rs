//! id_token verification: a pure, synchronous function over a parsed key set.
//!
//! Owns: the JWS compact parsing (size-bounded), the algorithm allow-list (RS256, ES256; the
//! header `alg` is checked before anything else), key lookup by `kid`, the signature check
//! (aws-lc-rs, keys parsed once per JWKS fetch), and the claim rules of ID-porten (iss, aud/azp,
//! exp/iat/nbf with skew, nonce, acr family and level, pid / eIDAS identifiers, names).
//! Must not: do I/O (fetching keys is `jwks`), log token contents.

use std::collections::HashMap;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use time::OffsetDateTime;

use super::OidcError;
use crate::identity::{is_plausible_eidas_id, split_eidas_id};
use crate::jobs::model::{Loa, SignerIdentifier};

/// Largest id_token accepted (bytes of the compact serialisation). ID-porten's are ~1–2 KB.
pub const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;
/// Largest number of keys taken from one JWKS.
const MAX_JWKS_KEYS: usize = 64;

/// The two signature algorithms accepted for id_tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsAlg {
    Rs256,
    Es256,
}

impl JwsAlg {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }
}

/// One verification key from the provider's JWKS, parsed once.
#[derive(Clone)]
pub struct VerifyKey {
    pub alg: JwsAlg,
    key: ParsedPublicKey,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey").field("alg", &self.alg).finish()
    }
}

/// The provider's signing keys: by `kid`, plus those published without one.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    by_kid: HashMap<String, VerifyKey>,
    no_kid: Vec<VerifyKey>,
}

impl KeySet {
    /// Parses a JWKS document. Keys that are not usable signature keys for RS256 (RSA ≥ 2048
    /// bits) or ES256 (EC P-256) are skipped (a provider may publish encryption or other keys);
    /// a document that is not a JWKS at all, or has no usable key, is an error.
    pub fn from_jwks_json(body: &[u8]) -> Result<Self, OidcError> {
        #[derive(Deserialize)]
        struct Doc {
            keys: Vec<serde_json::Value>,
        }
        let doc: Doc = serde_json::from_slice(body)
            .map_err(|e| OidcError::BadResponse("jwks", format!("not a JWKS: {e}")))?;
        let mut set = KeySet::default();
        for v in doc.keys.into_iter().take(MAX_JWKS_KEYS) {
            let Ok(jwk) = serde_json::from_value::<jsonwebtoken::jwk::Jwk>(v) else {
                continue;
            };
            let Some(key) = VerifyKey::from_jwk(&jwk) else {
                continue;
            };
            match jwk.common.key_id {
                Some(kid) => {
                    set.by_kid.insert(kid, key);
                }
                None => set.no_kid.push(key),
            }
        }
        if set.is_empty() {
            return Err(OidcError::BadResponse(
                "jwks",
                "no usable RS256/ES256 signature key".into(),
            ));
        }
        Ok(set)
    }

    pub fn is_empty(&self) -> bool {
        self.by_kid.is_empty() && self.no_kid.is_empty()
    }

    pub fn len(&self) -> usize {
        self.by_kid.len() + self.no_kid.len()
    }

    /// The key for a token header: by `kid` when the header names one; without a `kid` only
    /// when exactly one key for `alg` exists.
    fn find(&self, kid: Option<&str>, alg: JwsAlg) -> Result<&VerifyKey, OidcError> {
        match kid {
            Some(kid) => self.by_kid.get(kid).ok_or(OidcError::UnknownKid),
            None => {
                let mut it = self
                    .by_kid
                    .values()
                    .chain(self.no_kid.iter())
                    .filter(|k| k.alg == alg);
                match (it.next(), it.next()) {
                    (Some(k), None) => Ok(k),
                    (None, _) => Err(OidcError::UnknownKid),
                    (Some(_), Some(_)) => Err(OidcError::MalformedToken(
                        "no kid in the header and several keys could match",
                    )),
                }
            }
        }
    }
}

impl VerifyKey {
    /// A verification key from a JWK: RSA (RS256) or EC P-256 (ES256). `None` for anything
    /// else, for keys marked for encryption, and for keys whose `alg` names another algorithm.
    pub fn from_jwk(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Self> {
        use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, KeyAlgorithm, PublicKeyUse};
        if matches!(
            jwk.common.public_key_use,
            Some(PublicKeyUse::Encryption) | Some(PublicKeyUse::Other(_))
        ) {
            return None;
        }
        match &jwk.algorithm {
            AlgorithmParameters::RSA(p) => {
                if !matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256)) {
                    return None;
                }
                let n = b64(&p.n, 2048).ok()?;
                let e = b64(&p.e, 16).ok()?;
                // RSA-2048 to RSA-8192 (what RSA_PKCS1_2048_8192_SHA256 verifies).
                if !(256..=1024).contains(&strip_zeros(&n).len()) {
                    return None;
                }
                let key = RsaPublicKeyComponents {
                    n: strip_zeros(&n),
                    e: strip_zeros(&e),
                }
                .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
                .ok()?;
                Some(Self {
                    alg: JwsAlg::Rs256,
                    key,
                })
            }
            AlgorithmParameters::EllipticCurve(p) => {
                if p.curve != EllipticCurve::P256
                    || !matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::ES256))
                {
                    return None;
                }
                let x = b64(&p.x, 32).ok()?;
                let y = b64(&p.y, 32).ok()?;
                if x.len() != 32 || y.len() != 32 {
                    return None;
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).ok()?;
                Some(Self {
                    alg: JwsAlg::Es256,
                    key,
                })
            }
            _ => None,
        }
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[i..]
}

/// base64url without padding, refusing anything longer than `max_bytes` decoded.
fn b64(s: &str, max_bytes: usize) -> Result<Vec<u8>, OidcError> {
    if s.len() > max_bytes.div_ceil(3) * 4 + 4 {
        return Err(OidcError::MalformedToken("base64url part too long"));
    }
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| OidcError::MalformedToken("invalid base64url"))
}

/// What the relying party expects of an id_token.
#[derive(Debug, Clone)]
pub struct IdTokenExpectations {
    pub issuer: String,
    pub client_id: String,
    pub nonce: String,
    pub min_loa: Loa,
    /// ID-porten's eIDAS login (`eidas-loa-*`) rather than a Norwegian eID (`idporten-loa-*`).
    pub eidas: bool,
    pub clock_skew: std::time::Duration,
}

/// The identity an id_token vouches for, after every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub issuer: String,
    pub subject: Option<String>,
    /// The `acr` as sent.
    pub acr: String,
    pub loa: Loa,
    pub amr: Vec<String>,
    pub national_id: Option<String>,
    pub eidas_id: Option<String>,
    pub name: String,
    pub date_of_birth: Option<String>,
    pub auth_time: OffsetDateTime,
    pub expires: OffsetDateTime,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    #[serde(default)]
    sub: Option<String>,
    aud: Audience,
    #[serde(default)]
    azp: Option<String>,
    exp: i64,
    iat: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    acr: Option<String>,
    #[serde(default)]
    amr: Option<Vec<String>>,
    #[serde(default)]
    auth_time: Option<i64>,
    #[serde(default)]
    pid: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
    #[serde(default)]
    eidas_identifier: Option<String>,
    #[serde(default)]
    eidas_personidentifier: Option<String>,
    #[serde(default)]
    eidas_firstname: Option<String>,
    #[serde(default)]
    eidas_lastname: Option<String>,
    #[serde(default)]
    eidas_date_of_birth: Option<String>,
}

/// `acr` → (eIDAS family?, level).
pub fn parse_acr(acr: &str) -> Option<(bool, Loa)> {
    match acr {
        "idporten-loa-low" => Some((false, Loa::Low)),
        "idporten-loa-substantial" => Some((false, Loa::Substantial)),
        "idporten-loa-high" => Some((false, Loa::High)),
        "eidas-loa-low" => Some((true, Loa::Low)),
        "eidas-loa-substantial" => Some((true, Loa::Substantial)),
        "eidas-loa-high" => Some((true, Loa::High)),
        _ => None,
    }
}

/// The `acr_values` to request for a level (ID-porten has no eID below substantial, so `low`
/// asks for substantial).
pub fn acr_value(loa: Loa, eidas: bool) -> &'static str {
    match (eidas, loa) {
        (false, Loa::Low | Loa::Substantial) => "idporten-loa-substantial",
        (false, Loa::High) => "idporten-loa-high",
        (true, Loa::Low | Loa::Substantial) => "eidas-loa-substantial",
        (true, Loa::High) => "eidas-loa-high",
    }
}

/// Verifies an id_token (compact JWS) against `keys` and `expect` at `now`.
///
/// Order: size, shape, header `alg` (RS256/ES256 only, before anything else), `crit`, key by
/// `kid` (its algorithm must be the header's), signature, then the claims. Never panics on
/// hostile input; the error never contains token contents.
pub fn verify_id_token(
    token: &str,
    keys: &KeySet,
    expect: &IdTokenExpectations,
    now: OffsetDateTime,
) -> Result<IdTokenClaims, OidcError> {
    if token.len() > MAX_ID_TOKEN_BYTES {
        return Err(OidcError::TokenTooLarge);
    }
    let mut parts = token.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(OidcError::MalformedToken("not a compact JWS (3 parts)"));
    };
    let header_json = b64(h64, MAX_ID_TOKEN_BYTES)?;
    let header: Header = serde_json::from_slice(&header_json)
        .map_err(|_| OidcError::MalformedToken("header is not a JSON object with alg"))?;
    let alg = JwsAlg::parse(&header.alg)
        .ok_or_else(|| OidcError::AlgNotAllowed(printable(&header.alg)))?;
    if header.crit.is_some() {
        return Err(OidcError::MalformedToken(
            "crit header parameters are not understood",
        ));
    }
    let key = keys.find(header.kid.as_deref(), alg)?;
    if key.alg != alg {
        return Err(OidcError::KeyAlgMismatch);
    }
    let sig = b64(s64, 512)?;
    let signed = &token[..h64.len() + 1 + p64.len()];
    key.key
        .verify_sig(signed.as_bytes(), &sig)
        .map_err(|_| OidcError::BadSignature)?;

    let payload = b64(p64, MAX_ID_TOKEN_BYTES)?;
    let c: Claims = serde_json::from_slice(&payload)
        .map_err(|_| OidcError::MalformedToken("claims are not the expected JSON object"))?;
    check_claims(c, expect, now)
}

fn check_claims(
    c: Claims,
    expect: &IdTokenExpectations,
    now: OffsetDateTime,
) -> Result<IdTokenClaims, OidcError> {
    if c.iss != expect.issuer {
        return Err(OidcError::WrongIssuer);
    }
    let auds: &[String] = match &c.aud {
        Audience::One(a) => std::slice::from_ref(a),
        Audience::Many(v) => v,
    };
    if !auds.contains(&expect.client_id) {
        return Err(OidcError::WrongAudience);
    }
    if (auds.len() > 1 || c.azp.is_some()) && c.azp.as_deref() != Some(expect.client_id.as_str()) {
        return Err(OidcError::WrongAzp);
    }
    let skew = i64::try_from(expect.clock_skew.as_secs()).unwrap_or(i64::MAX / 4);
    let now_s = now.unix_timestamp();
    if now_s > c.exp.saturating_add(skew) {
        return Err(OidcError::TokenExpired);
    }
    if c.iat > now_s.saturating_add(skew) {
        return Err(OidcError::IssuedInFuture);
    }
    if c.nbf.is_some_and(|nbf| nbf > now_s.saturating_add(skew)) {
        return Err(OidcError::NotYetValid);
    }
    match &c.nonce {
        Some(n) if ct_eq(n.as_bytes(), expect.nonce.as_bytes()) => {}
        _ => return Err(OidcError::NonceMismatch),
    }
    let acr = c.acr.ok_or(OidcError::AcrMissing)?;
    let (eidas, loa) = parse_acr(&acr).ok_or_else(|| OidcError::AcrUnknown(printable(&acr)))?;
    if eidas != expect.eidas {
        return Err(OidcError::AcrWrongKind {
            acr: acr.clone(),
            eidas_login: expect.eidas,
        });
    }
    if loa < expect.min_loa {
        return Err(OidcError::LoaTooLow {
            got: loa,
            required: expect.min_loa,
        });
    }
    let auth_ts = c.auth_time.unwrap_or(c.iat);
    if auth_ts > now_s.saturating_add(skew) {
        return Err(OidcError::IssuedInFuture);
    }
    let auth_time = OffsetDateTime::from_unix_timestamp(auth_ts)
        .map_err(|_| OidcError::MalformedToken("auth_time out of range"))?;
    let expires = OffsetDateTime::from_unix_timestamp(c.exp)
        .map_err(|_| OidcError::MalformedToken("exp out of range"))?;

    let pid = match c.pid {
        Some(p) if is_pid(&p) => Some(p),
        Some(_) => return Err(OidcError::BadPid),
        None => None,
    };
    let given = |a: &Option<String>, b: &Option<String>| -> Option<String> {
        let parts: Vec<&str> = [a, b]
            .into_iter()
            .filter_map(|s| s.as_deref().map(str::trim).filter(|s| !s.is_empty()))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    };
    let oidc_name = c
        .name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| given(&c.given_name, &c.family_name));

    let (national_id, eidas_id, name, date_of_birth) = if expect.eidas {
        let id = match (c.eidas_identifier, c.eidas_personidentifier) {
            (Some(a), Some(b)) if a != b => return Err(OidcError::ConflictingEidasId),
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => return Err(OidcError::MissingEidasId),
        };
        if !is_plausible_eidas_id(&id) || split_eidas_id(&id).is_none() {
            return Err(OidcError::BadEidasId);
        }
        let name = given(&c.eidas_firstname, &c.eidas_lastname)
            .or(oidc_name)
            .unwrap_or_else(|| id.clone());
        let dob = c
            .eidas_date_of_birth
            .filter(|d| d.len() <= 32 && !d.chars().any(char::is_control));
        (pid, Some(id), name, dob)
    } else {
        let pid = pid.ok_or(OidcError::MissingPid)?;
        let name = oidc_name.unwrap_or_else(|| {
            format!(
                "ID-porten {}",
                SignerIdentifier::NationalId(pid.clone()).masked()
            )
        });
        (Some(pid), None, name, None)
    };
    Ok(IdTokenClaims {
        issuer: c.iss,
        subject: c.sub,
        acr,
        loa,
        amr: c.amr.unwrap_or_default(),
        national_id,
        eidas_id,
        name: truncate_chars(&name, 200),
        date_of_birth,
        auth_time,
        expires,
    })
}

fn is_pid(p: &str) -> bool {
    p.len() == 11 && p.bytes().all(|b| b.is_ascii_digit())
}

fn truncate_chars(s: &str, n: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(n).collect()
}

/// An attacker-chosen value made safe to put in an error message.
fn printable(s: &str) -> String {
    s.chars()
        .take(32)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
