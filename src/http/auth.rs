//! Organisation authentication: API keys (`Authorization: Bearer sg_<id>_<secret>`, stored as a
//! SHA-256 of the secret and compared in constant time) and client certificates whose
//! organizationIdentifier `NTRNO-<orgnr>` names a registered organisation.
//!
//! Owns: issuing and checking API keys, the `OrgAuth` extractor. Must not: decide what an
//! organisation may do with a job (every job query is scoped to the caller's organisation by
//! `jobs`/`archive`).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::AppState;
use super::errors::{Kind, Problem};
use super::tls::{ClientCertificate, norwegian_orgnr, organization_identifier};
use crate::archive::store::{Org, Store, StoreError};

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ApiKey,
    ClientCertificate,
}

/// An authenticated organisation.
#[derive(Debug, Clone)]
pub struct OrgAuth {
    pub org_id: String,
    pub method: AuthMethod,
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b).as_ref())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    aws_lc_rs::rand::fill(&mut b).expect("the system random generator failed");
    b
}

/// Creates a new API key for the organisation; returns the key, which is shown once.
pub async fn issue_api_key(
    store: &Store,
    org: &Org,
    now: OffsetDateTime,
) -> Result<String, StoreError> {
    let key_id = hex::encode(random_bytes::<8>());
    let secret = URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    store
        .add_api_key(&org.id, &key_id, &sha256_hex(secret.as_bytes()), now)
        .await?;
    Ok(format!("sg_{key_id}_{secret}"))
}

/// Splits `sg_<16 hex>_<secret>`.
fn parse_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("sg_")?;
    let (id, secret) = rest.split_once('_')?;
    let ok = id.len() == 16
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && (20..=128).contains(&secret.len());
    ok.then_some((id, secret))
}

/// Checks an API key; `None` for any unknown, revoked or wrong key.
pub async fn verify_api_key(store: &Store, key: &str) -> Result<Option<String>, StoreError> {
    let Some((id, secret)) = parse_key(key) else {
        return Ok(None);
    };
    let Some(rec) = store.api_key(id).await? else {
        return Ok(None);
    };
    let got = sha256_hex(secret.as_bytes());
    let same: bool = got.as_bytes().ct_eq(rec.secret_hash.as_bytes()).into();
    Ok(same.then_some(rec.org_id))
}

impl FromRequestParts<AppState> for OrgAuth {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let store = state.jobs.store();
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let key = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(|| {
                    Problem::new(Kind::Unauthenticated, "use Authorization: Bearer <api key>")
                })?;
            return match verify_api_key(store, key)
                .await
                .map_err(Problem::internal)?
            {
                Some(org_id) => Ok(OrgAuth {
                    org_id,
                    method: AuthMethod::ApiKey,
                }),
                None => Err(Problem::new(
                    Kind::Unauthenticated,
                    "the API key is unknown or revoked",
                )),
            };
        }
        if let Some(cert) = parts.extensions.get::<ClientCertificate>() {
            let orgnr = organization_identifier(&cert.der)
                .as_deref()
                .and_then(norwegian_orgnr)
                .ok_or_else(|| {
                    Problem::new(
                        Kind::Forbidden,
                        "the client certificate has no organizationIdentifier NTRNO-<orgnr>",
                    )
                })?;
            let org = store
                .org_by_orgnr(&orgnr)
                .await
                .map_err(Problem::internal)?;
            return match org {
                Some(o) if o.revoked_at.is_none() => Ok(OrgAuth {
                    org_id: o.id,
                    method: AuthMethod::ClientCertificate,
                }),
                _ => Err(Problem::new(
                    Kind::Forbidden,
                    format!("organisation {orgnr} is not registered or is revoked"),
                )),
            };
        }
        Err(Problem::new(
            Kind::Unauthenticated,
            "authenticate with Authorization: Bearer <api key> or a client certificate",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_syntax() {
        assert!(parse_key("sg_0123456789abcdef_abcdefghijklmnopqrstuvwxyz").is_some());
        assert!(parse_key("sg_0123456789abcdeg_abcdefghijklmnopqrstuvwxyz").is_none());
        assert!(parse_key("0123456789abcdef_abcdefghijklmnopqrstuvwxyz").is_none());
        assert!(parse_key("sg_0123456789abcdef_short").is_none());
    }
}
