//! Webhook delivery: `POST callback_url` with one event as JSON and a
//! `Signgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` header.
//! Receivers recompute the MAC with the secret from `signgate org webhook-secret` and should
//! refuse timestamps older than a few minutes. A 2xx answer counts as delivered; anything else
//! is retried with exponential backoff until `max_attempts`.
//!
//! Owns: the payload, its signature, the destination policy (no private or loopback addresses
//! unless allowed) and the delivery worker. Must not: change job state.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use aws_lc_rs::hmac;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::watch;

use crate::archive::store::{EventRecord, Store, WebhookOutcome};

/// Delivery settings (from `[notify]`).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub timeout: Duration,
    pub max_attempts: i64,
    pub allow_private_destinations: bool,
    pub poll_interval: Duration,
}

/// The JSON body: the same fields as an event of `GET /api/v1/events`.
pub fn body(ev: &EventRecord) -> Vec<u8> {
    let data: serde_json::Value = serde_json::from_str(&ev.data).unwrap_or(serde_json::Value::Null);
    serde_json::to_vec(&serde_json::json!({
        "cursor": ev.seq.to_string(),
        "job_id": ev.job_id,
        "signer_id": ev.signer_id,
        "kind": ev.kind,
        "at": ev.at.format(&Rfc3339).unwrap_or_default(),
        "data": data,
        "hash": ev.hash,
    }))
    .unwrap_or_default()
}

/// The `Signgate-Signature` header value for `body` sent at `t`.
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(t.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("t={t},v1={}", hex::encode(ctx.sign().as_ref()))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DestinationError {
    #[error("callback URL is not a valid http(s) URL")]
    BadUrl,
    #[error("callback host does not resolve")]
    Unresolvable,
    #[error("callback host resolves to a private, loopback or link-local address ({0})")]
    Private(IpAddr),
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|m| is_private(IpAddr::V4(m)))
        }
    }
}

/// Resolves the callback host and applies the destination policy. The addresses returned are
/// the ones to connect to (pinned, so a DNS answer cannot change between check and connect).
pub async fn check_destination(
    url: &str,
    allow_private: bool,
) -> Result<(String, Vec<SocketAddr>), DestinationError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| DestinationError::BadUrl)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(DestinationError::BadUrl);
    }
    let host = parsed
        .host_str()
        .ok_or(DestinationError::BadUrl)?
        .to_string();
    let port = parsed
        .port_or_known_default()
        .ok_or(DestinationError::BadUrl)?;
    let lookup = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((lookup.as_str(), port))
        .await
        .map_err(|_| DestinationError::Unresolvable)?
        .collect();
    if addrs.is_empty() {
        return Err(DestinationError::Unresolvable);
    }
    if !allow_private && let Some(bad) = addrs.iter().find(|a| is_private(a.ip())) {
        return Err(DestinationError::Private(bad.ip()));
    }
    Ok((host, addrs))
}

fn backoff(attempts: i64) -> time::Duration {
    // 10 s, 20 s, 40 s … capped at one hour.
    let secs = 10i64.saturating_mul(1i64 << attempts.clamp(0, 9)).min(3600);
    time::Duration::seconds(secs)
}

/// Delivers one event; `Ok` on a 2xx answer.
async fn deliver(
    settings: &WebhookSettings,
    url: &str,
    secret: &str,
    ev: &EventRecord,
) -> Result<(), String> {
    let (host, addrs) = check_destination(url, settings.allow_private_destinations)
        .await
        .map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .resolve_to_addrs(&host, &addrs)
        .user_agent(concat!("signgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())?;
    let payload = body(ev);
    let t = OffsetDateTime::now_utc().unix_timestamp();
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .header("signgate-signature", signature(secret, t, &payload))
        .header("signgate-event", ev.kind.as_str())
        .body(payload)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", resp.status()))
    }
}

/// The delivery loop: leases due deliveries from the outbox until shutdown.
pub async fn run(store: Store, settings: WebhookSettings, mut shutdown: watch::Receiver<bool>) {
    let lease = settings.timeout + Duration::from_secs(30);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = OffsetDateTime::now_utc();
        match store.claim_webhook(now, lease).await {
            Ok(Some(d)) => {
                let result = match &d.secret {
                    Some(secret) => deliver(&settings, &d.url, secret, &d.event).await,
                    None => Err("the organisation has no webhook secret".to_string()),
                };
                let now = OffsetDateTime::now_utc();
                let outcome = match &result {
                    Ok(()) => WebhookOutcome::Delivered,
                    Err(e) if d.attempts >= settings.max_attempts => {
                        WebhookOutcome::GiveUp { error: e }
                    }
                    Err(e) => WebhookOutcome::Retry {
                        at: now + backoff(d.attempts - 1),
                        error: e,
                    },
                };
                if let Err(e) = &result {
                    tracing::warn!(org = %d.org_id, seq = d.seq, attempts = d.attempts, error = %e, "webhook delivery failed");
                }
                if let Err(e) = store.webhook_outcome(&d.org_id, d.seq, outcome, now).await {
                    tracing::error!(error = %e, "cannot record webhook outcome");
                }
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "cannot poll the webhook outbox"),
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.poll_interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_stable_and_keyed() {
        let a = signature("secret", 1_700_000_000, b"{}");
        assert!(a.starts_with("t=1700000000,v1="));
        assert_eq!(a, signature("secret", 1_700_000_000, b"{}"));
        assert_ne!(a, signature("other", 1_700_000_000, b"{}"));
        assert_ne!(a, signature("secret", 1_700_000_001, b"{}"));
    }

    #[tokio::test]
    async fn private_destinations_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:9/x",
            "http://10.1.2.3/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:80/",
            "http://100.64.0.1/",
        ] {
            assert!(
                matches!(
                    check_destination(url, false).await,
                    Err(DestinationError::Private(_))
                ),
                "{url}"
            );
        }
        assert!(
            check_destination("http://127.0.0.1:9/x", true)
                .await
                .is_ok()
        );
        assert_eq!(
            check_destination("ftp://example.org/", true).await,
            Err(DestinationError::BadUrl)
        );
        assert!(
            check_destination("http://93.184.216.34/", false)
                .await
                .is_ok()
        );
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(0), time::Duration::seconds(10));
        assert_eq!(backoff(1), time::Duration::seconds(20));
        assert_eq!(backoff(20), time::Duration::seconds(3600));
    }
}
