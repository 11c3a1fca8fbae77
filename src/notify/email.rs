//! E-mail delivery over SMTP (`[notify.smtp]`), with lettre on tokio and rustls.
//!
//! One connection per message (notifications are few: one per signer and channel), STARTTLS
//! required by default, implicit TLS on request, plaintext only outside production (a local
//! relay or a test sink). Server certificates are checked against the Mozilla roots, or against
//! the roots in `ca_file` for a relay with a private CA. AUTH PLAIN or LOGIN when a username is
//! set (over TLS only: a plaintext connection never sends the password).
//!
//! Owns: building the message (plain-text UTF-8 body, our own `Message-ID`), talking SMTP and
//! sorting failures into temporary (4xx replies, connection and TLS trouble, timeouts: retried)
//! and permanent (5xx replies: not retried). Must not: log addresses, message text or the
//! password (the config's `Debug` redacts it).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Deserialize;

use super::DeliveryError;

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS; a relay that does not offer it is refused.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// No TLS: only for a relay on the same host or a test sink. Refused in production.
    None,
}

/// `[notify.smtp]`. `Debug` never shows the password.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The relay's host name (also the name its certificate must carry).
    pub host: String,
    /// Default 587 (465 with `tls = "tls"`).
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: SmtpTls,
    pub username: Option<String>,
    /// Best given in the environment: `SIGNGATE__NOTIFY__SMTP__PASSWORD`.
    pub password: Option<String>,
    /// The sender mailbox, e.g. `Signgate <no-reply@signgate.example>`.
    pub from: String,
    /// PEM file of extra roots for the relay's certificate (a private CA).
    pub ca_file: Option<std::path::PathBuf>,
    /// The name sent in EHLO (default: the host of `server.public_url`).
    pub hello_name: Option<String>,
    /// Whole-exchange timeout per command.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("ca_file", &self.ca_file)
            .field("hello_name", &self.hello_name)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why the mailer cannot be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("notify.smtp.from {0:?} is not a mailbox (\"Name <address>\" or an address)")]
    From(String),
    #[error("notify.smtp.ca_file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("notify.smtp: {0}")]
    Tls(String),
    #[error("notify.smtp: a password is set but no username")]
    PasswordWithoutUser,
    #[error("notify.smtp: credentials are only sent over TLS (tls = \"none\" with a username)")]
    CredentialsWithoutTls,
}

/// A configured SMTP relay.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain part of our `Message-ID`s.
    id_domain: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// Builds the transport; `local_name` (the gateway's public host) names us in EHLO and in
    /// `Message-ID`s unless `hello_name` is set.
    pub fn new(cfg: &SmtpConfig, local_name: &str) -> Result<Self, SetupError> {
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|_| SetupError::From(cfg.from.clone()))?;
        let tls_params = || -> Result<TlsParameters, SetupError> {
            let mut b = TlsParameters::builder(cfg.host.clone());
            if let Some(path) = &cfg.ca_file {
                let pem = std::fs::read(path).map_err(|e| SetupError::CaFile {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                let cert = Certificate::from_pem(&pem).map_err(|e| SetupError::CaFile {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls().map_err(|e| SetupError::Tls(e.to_string()))
        };
        let (tls, default_port) = match cfg.tls {
            SmtpTls::Starttls => (Tls::Required(tls_params()?), 587),
            SmtpTls::Tls => (Tls::Wrapper(tls_params()?), 465),
            SmtpTls::None => (Tls::None, 25),
        };
        let name = cfg
            .hello_name
            .clone()
            .unwrap_or_else(|| local_name.to_string());
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
            .port(cfg.port.unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(cfg.timeout))
            .hello_name(match name.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(a)) => ClientId::Ipv4(a),
                Ok(std::net::IpAddr::V6(a)) => ClientId::Ipv6(a),
                Err(_) => ClientId::Domain(name.clone()),
            });
        if cfg.username.is_some() && cfg.tls == SmtpTls::None {
            return Err(SetupError::CredentialsWithoutTls);
        }
        match (&cfg.username, &cfg.password) {
            (Some(user), pass) => {
                builder = builder
                    .credentials(Credentials::new(
                        user.clone(),
                        pass.clone().unwrap_or_default(),
                    ))
                    .authentication(vec![Mechanism::Plain, Mechanism::Login]);
            }
            (None, Some(_)) => return Err(SetupError::PasswordWithoutUser),
            (None, None) => {}
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
            id_domain: name,
        })
    }

    /// Sends one plain-text message to `to`; `id` (the notification id) becomes the local part
    /// of its `Message-ID`, which is returned as the provider reference.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        id: &str,
    ) -> Result<String, DeliveryError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| DeliveryError::Permanent("the recipient address is not valid".into()))?;
        let message_id = format!("<{id}@{}>", self.id_domain);
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(message_id.clone()))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| DeliveryError::Permanent(format!("the message cannot be built: {e}")))?;
        match self.transport.send(msg).await {
            Ok(_) => Ok(message_id),
            Err(e) if e.is_permanent() => Err(DeliveryError::Permanent(format!(
                "the SMTP relay refused the message: {e}"
            ))),
            Err(e) => Err(DeliveryError::Temporary(format!(
                "SMTP delivery failed: {e}"
            ))),
        }
    }
}
