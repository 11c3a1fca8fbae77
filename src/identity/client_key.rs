//! The gateway's own JWS signing key towards OAuth authorization servers: the `private_key_jwt`
//! client assertion to ID-porten ([`super::oidc`]) and the JWT grant to Maskinporten
//! ([`super::maskinporten`]).
//!
//! Owns: [`ClientKey`] — a PKCS#8 PEM key (RSA ≥ 2048 bits, or EC P-256) or a key on a PKCS#11
//! token — its JWS `alg`, and compact JWS serialisation ([`ClientKey::sign_compact`]).
//! Must not: choose claims (the protocol modules do), log keys or signatures.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::sealing::keys::{Pkcs11Config, TokenJwsKey};

/// A JWS signing key held by the gateway.
pub enum ClientKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    /// On a PKCS#11 token (the key never leaves it).
    Token(Box<TokenJwsKey>),
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientKey::Rsa(k) => write!(f, "ClientKey::Rsa({} bits)", k.public_modulus_len() * 8),
            ClientKey::Ec(_) => f.write_str("ClientKey::Ec(P-256)"),
            ClientKey::Token(k) => write!(f, "ClientKey::Token({k:?})"),
        }
    }
}

impl ClientKey {
    /// A PKCS#8 `PRIVATE KEY` PEM: RSA (at least 2048 bits) or EC P-256.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let (label, der) =
            der::pem::decode_vec(pem.trim().as_bytes()).map_err(|e| format!("not PEM: {e}"))?;
        if label != "PRIVATE KEY" {
            return Err(format!(
                "expected a PKCS#8 \"PRIVATE KEY\", found {label:?}"
            ));
        }
        if let Ok(k) = RsaKeyPair::from_pkcs8(&der) {
            if k.public_modulus_len() < 256 {
                return Err("RSA keys must have at least 2048 bits".into());
            }
            return Ok(ClientKey::Rsa(k));
        }
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der) {
            let _ = k.public_key();
            return Ok(ClientKey::Ec(k));
        }
        Err("neither an RSA nor an EC P-256 PKCS#8 key".into())
    }

    /// Reads [`ClientKey::from_pem`] from a file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        Self::from_pem(&text)
    }

    /// Opens the key on a PKCS#11 token (RSA ≥ 2048 bits or EC P-256).
    pub fn from_pkcs11(config: &Pkcs11Config) -> Result<Self, String> {
        TokenJwsKey::open(config)
            .map(|k| ClientKey::Token(Box::new(k)))
            .map_err(|e| e.to_string())
    }

    /// The JWS `alg`: `RS256` or `ES256`.
    pub fn alg(&self) -> &'static str {
        match self {
            ClientKey::Rsa(_) => "RS256",
            ClientKey::Ec(_) => "ES256",
            ClientKey::Token(k) => k.jws_alg(),
        }
    }

    /// Whether the key signs RS256 (RSA).
    pub fn is_rsa(&self) -> bool {
        self.alg() == "RS256"
    }

    /// Whether signing talks to a token (blocking I/O: call it off the async runtime).
    pub fn is_token(&self) -> bool {
        matches!(self, ClientKey::Token(_))
    }

    /// The raw JWS signature over `input` (PKCS#1 v1.5 SHA-256, or ECDSA P-256 `r || s`).
    pub fn sign(&self, rng: &SystemRandom, input: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            ClientKey::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, rng, input, &mut sig)
                    .map_err(|_| "RSA signing failed".to_string())?;
                Ok(sig)
            }
            ClientKey::Ec(k) => k
                .sign(rng, input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ECDSA signing failed".to_string()),
            ClientKey::Token(k) => k
                .sign_jws(input)
                .map_err(|e| format!("token signing failed: {e}")),
        }
    }

    /// A compact JWS of `claims` with `header` (its `alg` is set here).
    pub fn sign_compact(
        &self,
        rng: &SystemRandom,
        mut header: serde_json::Value,
        claims: &serde_json::Value,
    ) -> Result<String, String> {
        header["alg"] = self.alg().into();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.sign(rng, input.as_bytes())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}
