//! Unit tests of id_token verification with tokens crafted by `jsonwebtoken` (an independent JWS
//! producer) under keys generated here.

use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair as RsaGen, KeySize};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::*;

const ISS: &str = "https://test.idporten.no";
const CLIENT: &str = "signgate-client";
const NONCE: &str = "n-0S6_WzA2Mj";
const NOW: i64 = 1_780_000_000;

/// A test signer: the PKCS#8 key, the jsonwebtoken key and the public JWK.
pub struct TestKey {
    pub pkcs8: Vec<u8>,
    pub enc: EncodingKey,
    pub alg: Algorithm,
    pub jwk: Jwk,
}

#[derive(der::Sequence)]
struct PrivateKeyInfo<'a> {
    version: u8,
    algorithm: spki::AlgorithmIdentifierRef<'a>,
    private_key: der::asn1::OctetStringRef<'a>,
}

impl TestKey {
    pub fn rsa(kid: &str) -> Self {
        let kp = RsaGen::generate(KeySize::Rsa2048).unwrap();
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp)
            .unwrap()
            .as_ref()
            .to_vec();
        let pki: PrivateKeyInfo = der::Decode::from_der(&pkcs8).unwrap();
        let enc = EncodingKey::from_rsa_der(pki.private_key.as_bytes());
        Self::finish(pkcs8, enc, Algorithm::RS256, kid)
    }

    pub fn ec(kid: &str) -> Self {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pkcs8 = doc.as_ref().to_vec();
        let enc = EncodingKey::from_ec_der(&pkcs8);
        Self::finish(pkcs8, enc, Algorithm::ES256, kid)
    }

    fn finish(pkcs8: Vec<u8>, enc: EncodingKey, alg: Algorithm, kid: &str) -> Self {
        let mut jwk = Jwk::from_encoding_key(&enc, alg).unwrap();
        jwk.common.key_id = Some(kid.into());
        Self {
            pkcs8,
            enc,
            alg,
            jwk,
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(self.alg);
        h.kid = self.jwk.common.key_id.clone();
        jsonwebtoken::encode(&h, claims, &self.enc).unwrap()
    }
}

fn keyset(keys: &[&TestKey]) -> KeySet {
    let set = JwkSet {
        keys: keys.iter().map(|k| k.jwk.clone()).collect(),
    };
    KeySet::from_jwks_json(serde_json::to_vec(&set).unwrap().as_slice()).unwrap()
}

fn expect(min_loa: Loa, eidas: bool) -> IdTokenExpectations {
    IdTokenExpectations {
        issuer: ISS.into(),
        client_id: CLIENT.into(),
        nonce: NONCE.into(),
        min_loa,
        eidas,
        clock_skew: Duration::from_secs(60),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(NOW).unwrap()
}

fn claims() -> Value {
    json!({
        "iss": ISS, "aud": CLIENT, "sub": "pairwise-sub", "pid": "13097248022",
        "acr": "idporten-loa-high", "amr": ["BankID"], "auth_time": NOW - 5,
        "iat": NOW - 5, "exp": NOW + 115, "nonce": NONCE, "locale": "nb", "jti": "j1",
    })
}

fn with(mut v: Value, k: &str, x: Value) -> Value {
    v[k] = x;
    v
}

fn without(mut v: Value, k: &str) -> Value {
    v.as_object_mut().unwrap().remove(k);
    v
}

struct Fixture {
    rsa: TestKey,
    ec: TestKey,
    keys: KeySet,
}

fn fixture() -> &'static Fixture {
    static F: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let rsa = TestKey::rsa("rsa-1");
        let ec = TestKey::ec("ec-1");
        let keys = keyset(&[&rsa, &ec]);
        Fixture { rsa, ec, keys }
    })
}

fn verify(token: &str, e: &IdTokenExpectations) -> Result<IdTokenClaims, OidcError> {
    verify_id_token(token, &fixture().keys, e, now())
}

#[test]
fn valid_rs256_and_es256() {
    let f = fixture();
    for key in [&f.rsa, &f.ec] {
        let c = verify(&key.sign(&claims()), &expect(Loa::High, false)).unwrap();
        assert_eq!(c.national_id.as_deref(), Some("13097248022"));
        assert_eq!(c.eidas_id, None);
        assert_eq!(c.loa, Loa::High);
        assert_eq!(c.acr, "idporten-loa-high");
        assert_eq!(c.issuer, ISS);
        assert_eq!(c.auth_time.unix_timestamp(), NOW - 5);
        assert_eq!(c.amr, vec!["BankID".to_string()]);
        // ID-porten gives no names: the fallback shows the masked pid.
        assert_eq!(c.name, "ID-porten 130972*****");
    }
    let named = with(
        with(claims(), "given_name", json!("Kari")),
        "family_name",
        json!("Nordmann"),
    );
    let c = verify(&f.rsa.sign(&named), &expect(Loa::Substantial, false)).unwrap();
    assert_eq!(c.name, "Kari Nordmann");
    let c = verify(
        &f.rsa.sign(&with(named, "name", json!("Kari N."))),
        &expect(Loa::Substantial, false),
    )
    .unwrap();
    assert_eq!(c.name, "Kari N.");
}

fn raw_token(header: &Value, claims: &Value, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(sig)
    )
}

#[test]
fn alg_none_is_refused() {
    let t = raw_token(&json!({"alg": "none", "kid": "rsa-1"}), &claims(), b"");
    assert_eq!(
        verify(&t, &expect(Loa::High, false)),
        Err(OidcError::AlgNotAllowed("none".into()))
    );
    let t = raw_token(&json!({"alg": "None"}), &claims(), b"");
    assert!(matches!(
        verify(&t, &expect(Loa::High, false)),
        Err(OidcError::AlgNotAllowed(_))
    ));
}

#[test]
fn hs256_with_the_public_key_as_secret_is_refused() {
    let f = fixture();
    // The classic confusion: HMAC keyed with the RSA public key the verifier knows.
    let public_der = {
        let kp = aws_lc_rs::rsa::KeyPair::from_pkcs8(&f.rsa.pkcs8).unwrap();
        aws_lc_rs::signature::KeyPair::public_key(&kp)
            .as_ref()
            .to_vec()
    };
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("rsa-1".into());
    let t = jsonwebtoken::encode(
        &h,
        &claims(),
        &EncodingKey::from_secret(&public_der).unwrap(),
    )
    .unwrap();
    assert_eq!(
        verify(&t, &expect(Loa::High, false)),
        Err(OidcError::AlgNotAllowed("HS256".into()))
    );
    // Other algorithms the crate could verify are refused too.
    let t = raw_token(
        &json!({"alg": "PS256", "kid": "rsa-1"}),
        &claims(),
        &[0; 256],
    );
    assert!(matches!(
        verify(&t, &expect(Loa::High, false)),
        Err(OidcError::AlgNotAllowed(_))
    ));
}

#[test]
fn alg_must_match_the_key() {
    let f = fixture();
    // An ES256 token that names the RSA key.
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("rsa-1".into());
    let t = jsonwebtoken::encode(&h, &claims(), &f.ec.enc).unwrap();
    assert_eq!(
        verify(&t, &expect(Loa::High, false)),
        Err(OidcError::KeyAlgMismatch)
    );
}

#[test]
fn unknown_kid_and_bad_signature() {
    let f = fixture();
    let other = TestKey::ec("ec-2");
    assert_eq!(
        verify(&other.sign(&claims()), &expect(Loa::High, false)),
        Err(OidcError::UnknownKid)
    );
    // Right kid, wrong key.
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("ec-1".into());
    let t = jsonwebtoken::encode(&h, &claims(), &other.enc).unwrap();
    assert_eq!(
        verify(&t, &expect(Loa::High, false)),
        Err(OidcError::BadSignature)
    );
    // A changed payload under the original signature.
    let t = f.rsa.sign(&claims());
    let mut parts: Vec<&str> = t.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(with(claims(), "pid", json!("01889449930")).to_string());
    parts[1] = &forged;
    assert_eq!(
        verify(&parts.join("."), &expect(Loa::High, false)),
        Err(OidcError::BadSignature)
    );
}

#[test]
fn issuer_audience_azp() {
    let f = fixture();
    let e = expect(Loa::High, false);
    let t = f
        .rsa
        .sign(&with(claims(), "iss", json!("https://idporten.no")));
    assert_eq!(verify(&t, &e), Err(OidcError::WrongIssuer));
    let t = f.rsa.sign(&with(claims(), "iss", json!(format!("{ISS}/"))));
    assert_eq!(verify(&t, &e), Err(OidcError::WrongIssuer));
    let t = f.rsa.sign(&with(claims(), "aud", json!("someone-else")));
    assert_eq!(verify(&t, &e), Err(OidcError::WrongAudience));
    let t = f.rsa.sign(&with(claims(), "aud", json!(["a", "b"])));
    assert_eq!(verify(&t, &e), Err(OidcError::WrongAudience));
    let t = f.rsa.sign(&with(claims(), "aud", json!([CLIENT, "other"])));
    assert_eq!(verify(&t, &e), Err(OidcError::WrongAzp));
    let multi = with(
        with(claims(), "aud", json!([CLIENT, "other"])),
        "azp",
        json!(CLIENT),
    );
    assert!(verify(&f.rsa.sign(&multi), &e).is_ok());
    let t = f.rsa.sign(&with(claims(), "azp", json!("other")));
    assert_eq!(verify(&t, &e), Err(OidcError::WrongAzp));
}

#[test]
fn times_with_skew() {
    let f = fixture();
    let e = expect(Loa::High, false);
    let t = f.rsa.sign(&with(claims(), "exp", json!(NOW - 61)));
    assert_eq!(verify(&t, &e), Err(OidcError::TokenExpired));
    let t = f.rsa.sign(&with(claims(), "exp", json!(NOW - 59)));
    assert!(verify(&t, &e).is_ok(), "inside the skew");
    let t = f.rsa.sign(&with(claims(), "iat", json!(NOW + 61)));
    assert_eq!(verify(&t, &e), Err(OidcError::IssuedInFuture));
    let t = f.rsa.sign(&with(claims(), "iat", json!(NOW + 59)));
    assert!(verify(&t, &e).is_ok(), "inside the skew");
    let t = f.rsa.sign(&with(claims(), "nbf", json!(NOW + 120)));
    assert_eq!(verify(&t, &e), Err(OidcError::NotYetValid));
    let t = f.rsa.sign(&with(claims(), "auth_time", json!(NOW + 600)));
    assert_eq!(verify(&t, &e), Err(OidcError::IssuedInFuture));
    let t = f.rsa.sign(&without(claims(), "exp"));
    assert!(matches!(verify(&t, &e), Err(OidcError::MalformedToken(_))));
    let t = f.rsa.sign(&with(claims(), "exp", json!("tomorrow")));
    assert!(matches!(verify(&t, &e), Err(OidcError::MalformedToken(_))));
    // Without auth_time, iat is the authentication time.
    let c = verify(&f.rsa.sign(&without(claims(), "auth_time")), &e).unwrap();
    assert_eq!(c.auth_time.unix_timestamp(), NOW - 5);
}

#[test]
fn nonce() {
    let f = fixture();
    let e = expect(Loa::High, false);
    let t = f.rsa.sign(&with(claims(), "nonce", json!("another-nonce")));
    assert_eq!(verify(&t, &e), Err(OidcError::NonceMismatch));
    let t = f.rsa.sign(&without(claims(), "nonce"));
    assert_eq!(verify(&t, &e), Err(OidcError::NonceMismatch));
}

#[test]
fn acr_levels_and_kinds() {
    let f = fixture();
    let subst = with(claims(), "acr", json!("idporten-loa-substantial"));
    assert_eq!(
        verify(&f.rsa.sign(&subst), &expect(Loa::High, false)),
        Err(OidcError::LoaTooLow {
            got: Loa::Substantial,
            required: Loa::High
        })
    );
    let c = verify(&f.rsa.sign(&subst), &expect(Loa::Substantial, false)).unwrap();
    assert_eq!(c.loa, Loa::Substantial);
    let low = with(claims(), "acr", json!("idporten-loa-low"));
    assert!(matches!(
        verify(&f.rsa.sign(&low), &expect(Loa::Substantial, false)),
        Err(OidcError::LoaTooLow { .. })
    ));
    let t = f.rsa.sign(&without(claims(), "acr"));
    assert_eq!(
        verify(&t, &expect(Loa::Substantial, false)),
        Err(OidcError::AcrMissing)
    );
    // Old-platform values are unknown.
    let t = f.rsa.sign(&with(claims(), "acr", json!("Level4")));
    assert!(matches!(
        verify(&t, &expect(Loa::Substantial, false)),
        Err(OidcError::AcrUnknown(_))
    ));
    // An eIDAS acr on an ID-porten login, and the reverse.
    let t = f.rsa.sign(&with(claims(), "acr", json!("eidas-loa-high")));
    assert!(matches!(
        verify(&t, &expect(Loa::Substantial, false)),
        Err(OidcError::AcrWrongKind { .. })
    ));
    let t = f
        .rsa
        .sign(&eidas_claims("eidas_identifier", "idporten-loa-high"));
    assert!(matches!(
        verify(&t, &expect(Loa::Substantial, true)),
        Err(OidcError::AcrWrongKind { .. })
    ));
    assert_eq!(
        OidcError::LoaTooLow {
            got: Loa::Substantial,
            required: Loa::High
        }
        .user_reason(),
        crate::identity::UserReason::LoaTooLow
    );
}

#[test]
fn pid_rules() {
    let f = fixture();
    let e = expect(Loa::High, false);
    let t = f.rsa.sign(&without(claims(), "pid"));
    assert_eq!(verify(&t, &e), Err(OidcError::MissingPid));
    for bad in ["1309724802", "130972480221", "1309724802x", " 13097248022"] {
        let t = f.rsa.sign(&with(claims(), "pid", json!(bad)));
        assert_eq!(verify(&t, &e), Err(OidcError::BadPid), "{bad}");
    }
}

fn eidas_claims(id_claim: &str, acr: &str) -> Value {
    let mut c = without(claims(), "pid");
    c["acr"] = json!(acr);
    c["amr"] = json!(["eIDAS"]);
    c[id_claim] = json!("SE/NO/199001011234");
    c["eidas_firstname"] = json!("Sven");
    c["eidas_lastname"] = json!("Svensson");
    c["eidas_date_of_birth"] = json!("1990-01-01");
    c
}

#[test]
fn eidas_claims_both_spellings() {
    let f = fixture();
    let e = expect(Loa::Substantial, true);
    for spelling in ["eidas_identifier", "eidas_personidentifier"] {
        let t = f.ec.sign(&eidas_claims(spelling, "eidas-loa-substantial"));
        let c = verify(&t, &e).unwrap();
        assert_eq!(
            c.eidas_id.as_deref(),
            Some("SE/NO/199001011234"),
            "{spelling}"
        );
        assert_eq!(c.national_id, None);
        assert_eq!(c.name, "Sven Svensson");
        assert_eq!(c.date_of_birth.as_deref(), Some("1990-01-01"));
        assert_eq!(c.loa, Loa::Substantial);
    }
    // pid when ID-porten matched the person in the population register.
    let t = f.ec.sign(&with(
        eidas_claims("eidas_identifier", "eidas-loa-high"),
        "pid",
        json!("13097248022"),
    ));
    let c = verify(&t, &expect(Loa::High, true)).unwrap();
    assert_eq!(c.national_id.as_deref(), Some("13097248022"));
    // Both spellings with different values, none, or a malformed identifier.
    let both = with(
        eidas_claims("eidas_identifier", "eidas-loa-high"),
        "eidas_personidentifier",
        json!("DK/NO/1"),
    );
    assert_eq!(
        verify(&f.ec.sign(&both), &e),
        Err(OidcError::ConflictingEidasId)
    );
    let none = without(
        eidas_claims("eidas_identifier", "eidas-loa-high"),
        "eidas_identifier",
    );
    assert_eq!(
        verify(&f.ec.sign(&none), &e),
        Err(OidcError::MissingEidasId)
    );
    let bad = with(
        eidas_claims("eidas_identifier", "eidas-loa-high"),
        "eidas_identifier",
        json!("SWE/NO/1 2"),
    );
    assert_eq!(verify(&f.ec.sign(&bad), &e), Err(OidcError::BadEidasId));
    // No names: the identifier stands in.
    let anon = without(
        without(
            eidas_claims("eidas_identifier", "eidas-loa-high"),
            "eidas_firstname",
        ),
        "eidas_lastname",
    );
    assert_eq!(
        verify(&f.ec.sign(&anon), &e).unwrap().name,
        "SE/NO/199001011234"
    );
}

#[test]
fn oversize_and_garbage() {
    let f = fixture();
    let e = expect(Loa::High, false);
    let huge = with(claims(), "pad", json!("x".repeat(MAX_ID_TOKEN_BYTES)));
    assert_eq!(
        verify(&f.rsa.sign(&huge), &e),
        Err(OidcError::TokenTooLarge)
    );
    for garbage in [
        "",
        ".",
        "..",
        "...",
        "a.b.c",
        "a.b.c.d",
        "eyJhbGciOiJSUzI1NiJ9",
        "eyJhbGciOiJSUzI1NiJ9..",
        "!!!.###.$$$",
        "\u{0}\u{1}.\u{2}.\u{3}",
        "eyJ9.eyJ9.eyJ9",
        "W10.e30.",
    ] {
        // (`{"alg":"RS256"}` with an empty signature reaches the signature check.)
        let r = verify(garbage, &e);
        assert!(
            matches!(
                r,
                Err(OidcError::MalformedToken(_) | OidcError::BadSignature)
            ),
            "{garbage:?}: {r:?}"
        );
    }
    // A valid header and signature shape, but claims that are not an object.
    let t = raw_token(
        &json!({"alg": "RS256", "kid": "nope"}),
        &json!([1]),
        &[1; 8],
    );
    assert_eq!(verify(&t, &e), Err(OidcError::UnknownKid));
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("rsa-1".into());
    let t = jsonwebtoken::encode(&h, &json!([1, 2]), &f.rsa.enc).unwrap();
    assert!(matches!(verify(&t, &e), Err(OidcError::MalformedToken(_))));
    // crit headers are not understood.
    let t = raw_token(
        &json!({"alg": "RS256", "kid": "rsa-1", "crit": ["b64"]}),
        &claims(),
        &[1],
    );
    assert!(matches!(verify(&t, &e), Err(OidcError::MalformedToken(_))));
    // Every single-byte truncation of a valid token fails cleanly.
    let t = f.ec.sign(&claims());
    for n in 0..t.len() {
        assert!(verify(&t[..n], &e).is_err());
    }
}

#[test]
fn jwks_parsing_skips_unusable_keys() {
    let f = fixture();
    let mut set = serde_json::to_value(JwkSet {
        keys: vec![f.rsa.jwk.clone()],
    })
    .unwrap();
    let keys = set["keys"].as_array_mut().unwrap();
    keys.push(json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}));
    keys.push(json!({"kty": "RSA", "use": "enc", "kid": "enc", "n": f.rsa.jwk_n(), "e": "AQAB"}));
    keys.push(json!({"kty": "RSA", "alg": "PS256", "kid": "pss", "n": f.rsa.jwk_n(), "e": "AQAB"}));
    keys.push(json!({"kty": "RSA", "kid": "short", "n": "AQAB", "e": "AQAB"}));
    keys.push(json!({"kty": "EC", "crv": "P-384", "kid": "p384", "x": "AA", "y": "AA"}));
    keys.push(json!({"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "AA"}));
    keys.push(json!("not a key"));
    let ks = KeySet::from_jwks_json(set.to_string().as_bytes()).unwrap();
    assert_eq!(ks.len(), 1);
    assert!(KeySet::from_jwks_json(b"{\"keys\":[]}").is_err());
    assert!(KeySet::from_jwks_json(b"[]").is_err());
    assert!(KeySet::from_jwks_json(b"\xff").is_err());
    // The HMAC key is never used, whatever the token says.
    let t = raw_token(&json!({"alg": "HS256", "kid": "hmac"}), &claims(), &[0; 32]);
    assert!(matches!(
        verify_id_token(&t, &ks, &expect(Loa::High, false), now()),
        Err(OidcError::AlgNotAllowed(_))
    ));
}

#[test]
fn no_kid_needs_a_single_candidate() {
    let f = fixture();
    let t = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims(), &f.ec.enc).unwrap();
    // Only one ES256 key is known: it is used.
    assert!(verify(&t, &expect(Loa::High, false)).is_ok());
    let ks = keyset(&[&f.ec, &TestKey::ec("ec-2")]);
    assert!(matches!(
        verify_id_token(&t, &ks, &expect(Loa::High, false), now()),
        Err(OidcError::MalformedToken(_))
    ));
}

#[test]
fn client_keys_parse() {
    let f = fixture();
    let pem =
        |der: &[u8]| der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, der).unwrap();
    assert!(matches!(
        parse_client_key(&pem(&f.rsa.pkcs8)),
        Ok(ClientKey::Rsa(_))
    ));
    assert!(matches!(
        parse_client_key(&pem(&f.ec.pkcs8)),
        Ok(ClientKey::Ec(_))
    ));
    assert!(parse_client_key("garbage").is_err());
    let wrong_label =
        der::pem::encode_string("RSA PRIVATE KEY", der::pem::LineEnding::LF, &f.rsa.pkcs8).unwrap();
    assert!(parse_client_key(&wrong_label).is_err());
    assert!(parse_client_key(&pem(b"\x30\x03\x02\x01\x00")).is_err());
}

#[test]
fn acr_values_requested() {
    assert_eq!(acr_value(Loa::High, false), "idporten-loa-high");
    assert_eq!(
        acr_value(Loa::Substantial, false),
        "idporten-loa-substantial"
    );
    assert_eq!(acr_value(Loa::Low, false), "idporten-loa-substantial");
    assert_eq!(acr_value(Loa::High, true), "eidas-loa-high");
    assert_eq!(acr_value(Loa::Substantial, true), "eidas-loa-substantial");
}

#[test]
fn basic_credentials_are_form_encoded() {
    assert_eq!(
        url_form_encode("signgate-client_1.x"),
        "signgate-client_1.x"
    );
    assert_eq!(url_form_encode("a b:c/d%é"), "a+b%3Ac%2Fd%25%C3%A9");
}

#[test]
fn user_reasons() {
    use crate::identity::UserReason;
    assert_eq!(OidcError::Cancelled.user_reason(), UserReason::Cancelled);
    assert_eq!(OidcError::BadSignature.user_reason(), UserReason::Rejected);
    assert_eq!(OidcError::StateMismatch.user_reason(), UserReason::Rejected);
    assert_eq!(
        OidcError::Http("token", "timeout".into()).user_reason(),
        UserReason::ProviderUnavailable
    );
    assert_eq!(
        OidcError::Refused {
            endpoint: "token",
            error: "invalid_grant".into(),
            description: String::new()
        }
        .user_reason(),
        UserReason::Expired
    );
}

impl TestKey {
    fn jwk_n(&self) -> String {
        match &self.jwk.algorithm {
            jsonwebtoken::jwk::AlgorithmParameters::RSA(p) => p.n.clone(),
            _ => panic!("not RSA"),
        }
    }
}
