//! A local stand-in for LINK Mobility's SMS REST API (the format `src/notify/sms.rs` documents):
//! `POST /sms/send` with HTTP Basic credentials and a JSON `SmsMessageRequest`, answered with an
//! `SmsSendResult` `{"messageId", "resultCode": 1005, "description": "Queued", "smsCount"}`.
//! It checks what LINK checks that a client can get wrong: the credentials (401), the platform
//! and partner ids (403), the required fields and their types, `sourceTON`/`destinationTON`/`dcs`
//! values from LINK's enums, an alphanumeric source of at most 11 characters, an MSISDN
//! destination (`+` and digits), unknown fields (400). It records every accepted message and
//! can be told to answer 503 or a refusing `resultCode` for a while. No sleeps.
//!
//! Owns: test plumbing only. Include with `#[path = "support/sms_gateway.rs"] mod sms_gateway;`.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

pub const USER: &str = "link-user";
pub const PASSWORD: &str = "link-p4ss";
pub const PLATFORM: &str = "COOL";
pub const PARTNER: &str = "30978";

/// One accepted SMS.
#[derive(Debug, Clone)]
pub struct Sms {
    pub source: String,
    pub destination: String,
    pub text: String,
    pub ref_id: Option<String>,
    pub message_id: String,
}

/// What the next requests get instead of a normal answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// HTTP 503 (temporarily unavailable).
    Unavailable,
    /// HTTP 200 with this refusing `resultCode` (e.g. 2104 unknown subscriber).
    Refuse(i64),
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Sms>>,
    mode: Mutex<Option<Mode>>,
    requests: Mutex<usize>,
}

pub struct SmsGatewayStandIn {
    pub base: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmsGatewayStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmsGatewayStandIn {
    pub async fn start() -> SmsGatewayStandIn {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new()
            .route("/sms/send", axum::routing::post(send))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SmsGatewayStandIn {
            base: format!("http://{addr}"),
            shared,
            task,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = Some(mode);
    }

    /// Every accepted message so far.
    pub fn received(&self) -> Vec<Sms> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Requests received in all (accepted or not).
    pub fn requests(&self) -> usize {
        *self.shared.requests.lock().unwrap()
    }

    /// Waits (bounded) until at least `n` messages were accepted.
    pub async fn wait_for(&self, n: usize) -> Vec<Sms> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let r = self.received();
            if r.len() >= n {
                return r;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "only {} of {n} SMS reached the gateway",
                r.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The `[notify.sms]` environment for a gateway process.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SIGNGATE__NOTIFY__SMS__URL".into(), self.base.clone()),
            ("SIGNGATE__NOTIFY__SMS__USERNAME".into(), USER.into()),
            ("SIGNGATE__NOTIFY__SMS__PASSWORD".into(), PASSWORD.into()),
            ("SIGNGATE__NOTIFY__SMS__PLATFORM_ID".into(), PLATFORM.into()),
            (
                "SIGNGATE__NOTIFY__SMS__PLATFORM_PARTNER_ID".into(),
                PARTNER.into(),
            ),
            ("SIGNGATE__NOTIFY__SMS__SOURCE".into(), "Signgate".into()),
        ]
    }

    /// The same as a library configuration.
    pub fn config(&self) -> signgate::notify::sms::SmsConfig {
        signgate::notify::sms::SmsConfig {
            url: self.base.clone(),
            username: USER.into(),
            password: PASSWORD.into(),
            platform_id: PLATFORM.into(),
            platform_partner_id: PARTNER.into(),
            source: "Signgate".into(),
            timeout: std::time::Duration::from_secs(10),
        }
    }
}

fn error(status: StatusCode, description: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"description": description})),
    )
        .into_response()
}

const FIELDS: &[&str] = &[
    "source",
    "sourceTON",
    "destination",
    "destinationTON",
    "dcs",
    "userDataHeader",
    "userData",
    "priority",
    "age",
    "productDescription",
    "productCategory",
    "tariff",
    "currency",
    "useDeliveryReport",
    "deliveryReportGates",
    "relativeValidityTime",
    "absoluteValidityTime",
    "platformId",
    "platformPartnerId",
    "moReferenceId",
    "refId",
    "ignoreResponse",
    "customParameters",
];

async fn send(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    *s.requests.lock().unwrap() += 1;
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(want.as_str())
    {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "JSON expected");
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Malformed JSON");
    };
    let Some(obj) = v.as_object() else {
        return error(StatusCode::BAD_REQUEST, "An object expected");
    };
    if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return error(StatusCode::BAD_REQUEST, &format!("Unknown field {k}"));
    }
    let text = |k: &str| obj.get(k).and_then(|v| v.as_str());
    for k in [
        "source",
        "destination",
        "platformId",
        "platformPartnerId",
        "userData",
    ] {
        if text(k).is_none_or(str::is_empty) {
            return error(StatusCode::BAD_REQUEST, &format!("{k} is required"));
        }
    }
    if text("platformId") != Some(PLATFORM) || text("platformPartnerId") != Some(PARTNER) {
        return error(StatusCode::FORBIDDEN, "Unknown platform or partner");
    }
    let source_ton = text("sourceTON").unwrap_or("ALPHANUMERIC");
    let dest_ton = text("destinationTON").unwrap_or("MSISDN");
    let dcs = text("dcs").unwrap_or("TEXT");
    if !["ALPHANUMERIC", "SHORTCODE", "MSISDN"].contains(&source_ton)
        || dest_ton != "MSISDN"
        || !["BINARY", "GSM", "TEXT", "UC2"].contains(&dcs)
    {
        return error(StatusCode::BAD_REQUEST, "Invalid TON or DCS");
    }
    let source = text("source").unwrap_or_default();
    if source_ton == "ALPHANUMERIC"
        && !(source.len() <= 11
            && source
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' '))
    {
        return error(StatusCode::BAD_REQUEST, "Invalid alphanumeric source");
    }
    let destination = text("destination").unwrap_or_default();
    let msisdn = destination
        .strip_prefix('+')
        .is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
    if !msisdn {
        return error(StatusCode::BAD_REQUEST, "Invalid destination MSISDN");
    }
    if obj
        .get("useDeliveryReport")
        .is_some_and(|v| !v.is_boolean())
    {
        return error(
            StatusCode::BAD_REQUEST,
            "useDeliveryReport must be a boolean",
        );
    }
    match *s.mode.lock().unwrap() {
        Some(Mode::Unavailable) => {
            return error(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable");
        }
        Some(Mode::Refuse(code)) => {
            return Json(serde_json::json!({
                "messageId": "",
                "resultCode": code,
                "description": "Refused",
            }))
            .into_response();
        }
        Some(Mode::Normal) | None => {}
    }
    let user_data = text("userData").unwrap_or_default().to_string();
    let message_id = uuid::Uuid::new_v4().to_string();
    let parts = user_data.chars().count().div_ceil(153).max(1);
    s.received.lock().unwrap().push(Sms {
        source: source.to_string(),
        destination: destination.to_string(),
        text: user_data,
        ref_id: text("refId").map(str::to_string),
        message_id: message_id.clone(),
    });
    Json(serde_json::json!({
        "messageId": message_id,
        "resultCode": 1005,
        "description": "Queued",
        "smsCount": parts,
    }))
    .into_response()
}
