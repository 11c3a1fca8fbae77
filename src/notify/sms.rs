//! SMS delivery through LINK Mobility's SMS REST API (`[notify.sms]`), the gateway most
//! Norwegian public bodies buy SMS from.
//!
//! The format, from LINK Mobility's "SMS REST API MT/DLR" documentation (version 1.18, as
//! published in the LINK Mobility developer documentation and mirrored in the OpenAPI document
//! of github.com/deveel/deveel.lm.client, `docs/openapi/link-api-v1.json`):
//!
//! ```text
//! POST {url}/sms/send                      (url default https://wsx.sp247.net)
//! Authorization: Basic base64(username:password)
//! Content-Type: application/json
//!
//! {"source": "Signgate", "sourceTON": "ALPHANUMERIC",
//!  "destination": "+4791234567", "destinationTON": "MSISDN",
//!  "userData": "…text…", "dcs": "TEXT",
//!  "platformId": "COOL", "platformPartnerId": "12345",
//!  "refId": "<our notification id>", "useDeliveryReport": false}
//!
//! 200 {"messageId": "…", "resultCode": 1005, "description": "Queued", "smsCount": 1}
//! ```
//!
//! `resultCode` 1000–1013 mean accepted (1005 queued, 1000 sent to operator, …); 0–6, 104 and
//! 105 are temporary or internal errors (retried); 2000–4007 are refusals of the source,
//! destination, charging, encoding or content (not retried). HTTP 5xx, 408, 429, timeouts and
//! connection failures are retried; other 4xx (bad credentials, malformed request) are not.
//! `dcs` `TEXT` lets the gateway pick GSM 7-bit or UCS-2 and split long texts.
//!
//! Owns: the request, its Basic credentials and reading the answer. Must not: log the number,
//! the text (it holds the signing link) or the password (the config's `Debug` redacts it).

use std::time::Duration;

use serde::Deserialize;

use super::DeliveryError;

/// `[notify.sms]`. `Debug` never shows the password.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// The gateway's base URL (`{url}/sms/send`); LINK's general gateway is
    /// `https://wsx.sp247.net`, regional nodes are e.g. `https://n-eu.linkmobility.io`.
    #[serde(default = "default_url")]
    pub url: String,
    pub username: String,
    /// Best given in the environment: `SIGNGATE__NOTIFY__SMS__PASSWORD`.
    pub password: String,
    /// `platformId` from LINK Mobility (usually `COOL`).
    #[serde(default = "default_platform")]
    pub platform_id: String,
    /// `platformPartnerId` from LINK Mobility (the account).
    pub platform_partner_id: String,
    /// The sender shown on the phone: up to 11 letters and digits (alphanumeric sender id).
    pub source: String,
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

fn default_url() -> String {
    "https://wsx.sp247.net".into()
}

fn default_platform() -> String {
    "COOL".into()
}

fn default_timeout() -> Duration {
    Duration::from_secs(15)
}

impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("platform_id", &self.platform_id)
            .field("platform_partner_id", &self.platform_partner_id)
            .field("source", &self.source)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why the SMS client cannot be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("notify.sms.url {0:?} is not an http(s) URL")]
    Url(String),
    #[error("notify.sms.source must be 1-11 ASCII letters, digits or spaces")]
    Source,
    #[error("notify.sms: {0}")]
    Client(String),
}

/// The request body (LINK's field names).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SendRequest<'a> {
    source: &'a str,
    #[serde(rename = "sourceTON")]
    source_ton: &'static str,
    destination: &'a str,
    #[serde(rename = "destinationTON")]
    destination_ton: &'static str,
    user_data: &'a str,
    dcs: &'static str,
    platform_id: &'a str,
    platform_partner_id: &'a str,
    ref_id: &'a str,
    use_delivery_report: bool,
}

/// The answer (`SmsSendResult`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendResult {
    message_id: Option<String>,
    result_code: Option<i64>,
    description: Option<String>,
}

/// A configured LINK Mobility account.
#[derive(Clone)]
pub struct SmsGateway {
    client: reqwest::Client,
    endpoint: String,
    cfg: SmsConfig,
}

impl std::fmt::Debug for SmsGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsGateway")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

fn is_accepted(code: i64) -> bool {
    (1000..=1013).contains(&code)
}

fn is_temporary(code: i64) -> bool {
    matches!(code, 0..=6 | 104 | 105)
}

impl SmsGateway {
    pub fn new(cfg: &SmsConfig) -> Result<Self, SetupError> {
        let url = cfg.url.trim_end_matches('/');
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(SetupError::Url(cfg.url.clone()));
        }
        let source_ok = !cfg.source.is_empty()
            && cfg.source.len() <= 11
            && cfg
                .source
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ');
        if !source_ok {
            return Err(SetupError::Source);
        }
        // The process-wide rustls provider (aws-lc-rs), as `main` installs it; a no-op then.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("signgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SetupError::Client(e.to_string()))?;
        Ok(SmsGateway {
            client,
            endpoint: format!("{url}/sms/send"),
            cfg: cfg.clone(),
        })
    }

    /// Sends `text` to `to` (`+47…`); `ref_id` (our notification id) goes along as `refId`.
    /// Returns LINK's `messageId`.
    pub async fn send(&self, to: &str, text: &str, ref_id: &str) -> Result<String, DeliveryError> {
        let body = SendRequest {
            source: &self.cfg.source,
            source_ton: "ALPHANUMERIC",
            destination: to,
            destination_ton: "MSISDN",
            user_data: text,
            dcs: "TEXT",
            platform_id: &self.cfg.platform_id,
            platform_partner_id: &self.cfg.platform_partner_id,
            ref_id,
            use_delivery_report: false,
        };
        let resp = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.cfg.username, Some(&self.cfg.password))
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                DeliveryError::Temporary(format!(
                    "the SMS gateway did not answer: {}",
                    e.without_url()
                ))
            })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| {
            DeliveryError::Temporary(format!(
                "reading the SMS gateway's answer: {}",
                e.without_url()
            ))
        })?;
        if !status.is_success() {
            let msg = format!("the SMS gateway answered HTTP {}", status.as_u16());
            return Err(
                if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
                    DeliveryError::Temporary(msg)
                } else {
                    DeliveryError::Permanent(msg)
                },
            );
        }
        // 204, or `ignoreResponse`: accepted without details.
        if bytes.is_empty() {
            return Ok(String::new());
        }
        let result: SendResult = serde_json::from_slice(&bytes).map_err(|_| {
            DeliveryError::Temporary("the SMS gateway's answer is not the JSON expected".into())
        })?;
        let code = result.result_code.unwrap_or(1005);
        let what = || {
            format!(
                "the SMS gateway answered resultCode {code} ({})",
                result.description.as_deref().unwrap_or("no description")
            )
        };
        if is_accepted(code) {
            Ok(result.message_id.unwrap_or_default())
        } else if is_temporary(code) {
            Err(DeliveryError::Temporary(what()))
        } else {
            Err(DeliveryError::Permanent(what()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_uses_links_field_names() {
        let v = serde_json::to_value(SendRequest {
            source: "Signgate",
            source_ton: "ALPHANUMERIC",
            destination: "+4791234567",
            destination_ton: "MSISDN",
            user_data: "hei",
            dcs: "TEXT",
            platform_id: "COOL",
            platform_partner_id: "123",
            ref_id: "n1",
            use_delivery_report: false,
        })
        .unwrap();
        for k in [
            "source",
            "sourceTON",
            "destination",
            "destinationTON",
            "userData",
            "dcs",
            "platformId",
            "platformPartnerId",
            "refId",
            "useDeliveryReport",
        ] {
            assert!(v.get(k).is_some(), "{k} in {v}");
        }
    }

    #[test]
    fn result_codes() {
        assert!(is_accepted(1005) && is_accepted(1000));
        assert!(!is_accepted(2104) && !is_temporary(2104));
        assert!(is_temporary(4) && is_temporary(105));
    }

    #[test]
    fn password_never_in_debug() {
        let cfg = SmsConfig {
            url: default_url(),
            username: "u".into(),
            password: "hunter2".into(),
            platform_id: default_platform(),
            platform_partner_id: "1".into(),
            source: "Signgate".into(),
            timeout: default_timeout(),
        };
        assert!(!format!("{cfg:?}").contains("hunter2"));
        assert!(!format!("{:?}", SmsGateway::new(&cfg).unwrap()).contains("hunter2"));
    }
}
