//! id_token verification throughput: `signgate::identity::oidc::verify_id_token` on one thread,
//! for an ID-porten-shaped id_token signed RS256 (RSA-2048) and ES256 (P-256), with a JWKS of
//! both keys (as parsed once per fetch in the relying party). Run with `cargo bench --bench oidc`;
//! prints one JSON line per case. Under `cargo test --all-targets` (no `--bench`) it verifies
//! each token once and checks the result.

use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use signgate::identity::oidc::{IdTokenExpectations, KeySet, verify_id_token};
use signgate::jobs::model::Loa;
use time::OffsetDateTime;

const ISS: &str = "https://test.idporten.no";
const CLIENT: &str = "signgate-client";
const NONCE: &str = "w4EGogkl8AwguhpAUyUMTxVPUhaTIiUhRDOXyGxTkYs";

#[derive(der::Sequence)]
struct PrivateKeyInfo<'a> {
    version: u8,
    algorithm: spki::AlgorithmIdentifierRef<'a>,
    private_key: der::asn1::OctetStringRef<'a>,
}

#[derive(der::Sequence)]
struct RsaPublicKey<'a> {
    n: der::asn1::UintRef<'a>,
    e: der::asn1::UintRef<'a>,
}

fn main() {
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let rsa_pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).unwrap();
    let pki: PrivateKeyInfo = der::Decode::from_der(rsa_pkcs8.as_ref()).unwrap();
    let rsa_enc = EncodingKey::from_rsa_der(pki.private_key.as_bytes());
    let rsa_pub: RsaPublicKey = der::Decode::from_der(rsa.public_key().as_ref()).unwrap();
    let ec_pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ec_pkcs8.as_ref()).unwrap();
    let ec_enc = EncodingKey::from_ec_der(ec_pkcs8.as_ref());
    let point = ec.public_key().as_ref();
    let jwks = serde_json::json!({"keys": [
        {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
         "n": b64(rsa_pub.n.as_bytes()), "e": b64(rsa_pub.e.as_bytes())},
        {"kty": "EC", "kid": "ec-1", "use": "sig", "alg": "ES256", "crv": "P-256",
         "x": b64(&point[1..33]), "y": b64(&point[33..65])},
    ]});
    let keys = KeySet::from_jwks_json(jwks.to_string().as_bytes()).unwrap();

    let now = OffsetDateTime::now_utc();
    let t = now.unix_timestamp();
    // The shape of ID-porten's id_token (docs example), with our issuer/audience.
    let claims = serde_json::json!({
        "sub": "qD-kwgr3FcGA9zy4M7O_4Dco95Uobipd0RJeHSWypG5BL0VrsSND4Pppa2ZInbDyTGfo0AncdvAbU74gfdQmVe7Uz_D0el0",
        "amr": ["TestID"], "iss": ISS, "pid": "13097248022", "locale": "nb",
        "nonce": NONCE, "sid": "dskgZMtxu8DRSyIBTljf9XgqVggBS865o6Rmf74rskQ", "aud": CLIENT,
        "acr": "idporten-loa-high", "auth_time": t, "exp": t + 120, "iat": t, "jti": "mR5RhSGm-ig",
    });
    let expect = IdTokenExpectations {
        issuer: ISS.into(),
        client_id: CLIENT.into(),
        nonce: NONCE.into(),
        min_loa: Loa::Substantial,
        eidas: false,
        clock_skew: Duration::from_secs(60),
    };
    let sign = |alg: Algorithm, kid: &str, key: &EncodingKey| {
        let mut h = Header::new(alg);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(&h, &claims, key).unwrap()
    };
    let cases = [
        ("RS256", sign(Algorithm::RS256, "rsa-1", &rsa_enc)),
        ("ES256", sign(Algorithm::ES256, "ec-1", &ec_enc)),
    ];

    if !std::env::args().any(|a| a == "--bench") {
        for (alg, token) in &cases {
            let c = verify_id_token(token, &keys, &expect, now)
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(c.national_id.as_deref(), Some("13097248022"));
            assert_eq!(c.loa, Loa::High);
        }
        println!("oidc bench: quick check passed (run `cargo bench --bench oidc` to measure)");
        return;
    }

    for (alg, token) in &cases {
        // Warm up, then run for about three seconds.
        for _ in 0..200 {
            verify_id_token(token, &keys, &expect, now).unwrap();
        }
        let start = Instant::now();
        let mut n: u64 = 0;
        while start.elapsed() < Duration::from_secs(3) {
            for _ in 0..100 {
                let c = verify_id_token(std::hint::black_box(token), &keys, &expect, now).unwrap();
                std::hint::black_box(c);
            }
            n += 100;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({
                "bench": "oidc_verify_id_token",
                "alg": alg,
                "threads": 1,
                "token_bytes": token.len(),
                "ops": n,
                "seconds": (secs * 1000.0).round() / 1000.0,
                "ops_per_sec": (n as f64 / secs).round(),
                "us_per_op": ((secs / n as f64) * 1e7).round() / 10.0,
            })
        );
    }
}
