//! Notifications to organisations and signers, never on a request's path: everything goes
//! through transactional outboxes in the store, written together with the change that causes
//! it, and drained by workers with retries.
//!
//! - [`webhook`]: a job's events to its `callback_url`, signed with the organisation's secret.
//! - [`outbox`]: signer notifications by e-mail ([`email`], SMTP) and SMS ([`sms`], LINK
//!   Mobility's REST API), with the texts in [`message`] and the contact rules in [`contact`].
//!   A channel that is not configured leaves its notifications `not_sent`, with the reason,
//!   never silently dropped.
//!
//! Owns: delivery, payload signing, destination checks, message texts. Must not: block a
//! request on delivery, change job state, or log addresses, message texts (they hold signing
//! links) or credentials.

pub mod contact;
pub mod email;
pub mod message;
pub mod outbox;
pub mod sms;
pub mod webhook;

pub use message::Purpose;

use crate::jobs::model::Language;

/// How a signer is notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    /// `email` or `sms` (storage and API spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

/// Where a notification stands (the outbox row's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// Accepted by the SMTP relay or the SMS gateway.
    Sent,
    /// Refused for good, or still failing after the last attempt.
    Failed,
    /// The channel is not configured on this gateway (`[notify.smtp]` / `[notify.sms]`).
    NotSent,
    /// No longer needed: the job ended or the signer acted first.
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Sent => "sent",
            Status::Failed => "failed",
            Status::NotSent => "not_sent",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Status::Pending,
            Status::Sent,
            Status::Failed,
            Status::NotSent,
            Status::Cancelled,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A notification to queue, decided by `jobs` and stored with the change that causes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub signer_id: String,
    pub purpose: Purpose,
    pub channel: Channel,
    /// The normalised address or `+47…` number.
    pub destination: String,
    pub lang: Language,
}

/// Why one delivery attempt did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth trying again later (connection trouble, a 4xx SMTP reply, a gateway error).
    #[error("{0}")]
    Temporary(String),
    /// Trying again will not help (a 5xx SMTP reply, a refused number, bad credentials).
    #[error("{0}")]
    Permanent(String),
}
