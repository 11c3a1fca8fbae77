//! The signer-notification worker: drains the `notifications` outbox (rows written with the job
//! change that activated the signer), renders each message at send time and hands it to the
//! configured channel, with retries, exponential backoff and a final `failed` state.
//!
//! Delivery is at least once: a worker that outlives its lease mid-send may see the row sent
//! again by another. Per leased row: a job that is no longer in progress or past its deadline,
//! or a signer who is no longer waiting, cancels it; a channel that is not configured marks it
//! `not_sent` (with the reason, and a `notification_failed` event to the sender); otherwise the
//! message is rendered (the signing link is derived from the signer id at this moment, never
//! stored) and sent. A temporary failure is retried after `retry_base · 2^(attempts-1)` (at
//! most `retry_max`) until `max_attempts`; a permanent one fails at once. Final outcomes reach
//! the sender as `signer_notified` / `notification_failed` events (feed and webhook).
//!
//! [`Worker::run_due`] processes everything due at a given time once; tests drive it with their
//! own clock. [`Worker::run`] is the loop `serve` starts.
//!
//! Owns: the delivery loop and its bookkeeping. Must not: change job state, log destinations,
//! message texts or links.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use super::email::Mailer;
use super::message::{self, Company, Context};
use super::sms::SmsGateway;
use super::{Channel, DeliveryError};
use crate::archive::store::{NotificationDelivery, NotificationOutcome, Store, StoreError};
use crate::jobs::model::{JobStatus, SignerStatus};

/// The channels this gateway can deliver on.
#[derive(Clone, Default)]
pub struct Channels {
    pub email: Option<Mailer>,
    pub sms: Option<SmsGateway>,
}

/// Retry policy and polling (from `[notify]`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_attempts: i64,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub poll_interval: Duration,
    /// How long a leased row stays with one worker (a crashed worker's rows come back).
    pub lease: Duration,
}

/// Derives a signer's signing link from the signer id (the job service's secret).
pub type LinkFn = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// A notification worker.
#[derive(Clone)]
pub struct Worker {
    store: Store,
    channels: Channels,
    settings: Settings,
    link: LinkFn,
}

/// What one attempt came to (for tests and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Sent,
    Retry,
    Failed,
    NotSent,
    Cancelled,
}

impl Worker {
    pub fn new(store: Store, channels: Channels, settings: Settings, link: LinkFn) -> Self {
        Worker {
            store,
            channels,
            settings,
            link,
        }
    }

    /// The wait after `attempts` failed attempts.
    pub fn backoff(&self, attempts: i64) -> Duration {
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        self.settings
            .retry_base
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.settings.retry_max)
    }

    /// Processes every notification due at `now`, once each; returns what each came to.
    pub async fn run_due(&self, now: OffsetDateTime) -> Result<Vec<Attempt>, StoreError> {
        let mut done = Vec::new();
        while let Some(n) = self
            .store
            .claim_notification(now, self.settings.lease)
            .await?
        {
            done.push(self.attempt(&n, now).await?);
        }
        Ok(done)
    }

    /// One delivery attempt of a leased row, and its bookkeeping.
    async fn attempt(
        &self,
        n: &NotificationDelivery,
        now: OffsetDateTime,
    ) -> Result<Attempt, StoreError> {
        let Some((job, _)) = self.store.job(None, &n.job_id).await? else {
            return Err(StoreError::Corrupt(format!(
                "notification {} names a missing job",
                n.id
            )));
        };
        let webhook = job.callback_url.as_deref();
        // A notification is only worth sending while its signer can still act.
        let signer = job.signers.iter().find(|s| s.id == n.signer_id);
        let cancel = match signer {
            None => Some("the signer is no longer in the job".to_string()),
            Some(_) if job.status != JobStatus::InProgress => {
                Some(format!("the job is {}", job.status))
            }
            Some(_) if now >= job.expires_at => Some("the job's deadline has passed".to_string()),
            Some(s) if s.status != SignerStatus::Waiting => {
                Some(format!("the signer is {}", s.status))
            }
            Some(_) => None,
        };
        let (Some(signer), None) = (signer, &cancel) else {
            let reason = cancel.unwrap_or_default();
            self.record(
                n,
                webhook,
                now,
                NotificationOutcome::Cancelled { reason: &reason },
            )
            .await?;
            return Ok(Attempt::Cancelled);
        };
        let not_configured = match n.channel {
            Channel::Email if self.channels.email.is_none() => {
                Some("e-mail is not configured on this gateway ([notify.smtp])")
            }
            Channel::Sms if self.channels.sms.is_none() => {
                Some("SMS is not configured on this gateway ([notify.sms])")
            }
            _ => None,
        };
        if let Some(reason) = not_configured {
            tracing::warn!(notification = %n.id, job = %n.job_id, channel = n.channel.as_str(), "notification not sent: channel not configured");
            self.record(n, webhook, now, NotificationOutcome::NotSent { reason })
                .await?;
            return Ok(Attempt::NotSent);
        }
        let sender = self
            .store
            .org_by_id(&job.org_id)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        let link = (self.link)(&signer.id);
        let co = signer.co_signer_of.as_ref();
        let msg = message::render(&Context {
            purpose: n.purpose,
            lang: n.lang,
            sender: &sender,
            title: job.nonsensitive_title.as_deref(),
            link: &link,
            deadline: job.expires_at,
            company: signer.on_behalf_of.as_ref().map(|o| Company {
                orgnr: &o.orgnr,
                name: co.and_then(|c| c.org_name.as_deref()),
            }),
            role: co.and_then(|c| c.role_text.as_deref().or(Some(c.role_code.as_str()))),
        });
        let sent = match (n.channel, &self.channels.email, &self.channels.sms) {
            (Channel::Email, Some(mailer), _) => {
                mailer
                    .send(&n.destination, &msg.subject, &msg.body, &n.id)
                    .await
            }
            (Channel::Sms, _, Some(gateway)) => gateway.send(&n.destination, &msg.sms, &n.id).await,
            _ => Err(DeliveryError::Permanent("no channel".into())),
        };
        let attempt = match &sent {
            Ok(reference) => {
                tracing::info!(notification = %n.id, job = %n.job_id, channel = n.channel.as_str(), attempts = n.attempts, "signer notified");
                self.record(
                    n,
                    webhook,
                    now,
                    NotificationOutcome::Sent {
                        provider_ref: reference,
                    },
                )
                .await?;
                Attempt::Sent
            }
            Err(DeliveryError::Temporary(e)) if n.attempts < self.settings.max_attempts => {
                let wait = self.backoff(n.attempts);
                tracing::warn!(notification = %n.id, job = %n.job_id, channel = n.channel.as_str(), attempts = n.attempts, error = %e, retry_in = ?wait, "notification failed; will retry");
                let at = now + time::Duration::try_from(wait).unwrap_or(time::Duration::HOUR);
                self.record(n, webhook, now, NotificationOutcome::Retry { at, error: e })
                    .await?;
                Attempt::Retry
            }
            Err(DeliveryError::Temporary(e) | DeliveryError::Permanent(e)) => {
                tracing::error!(notification = %n.id, job = %n.job_id, channel = n.channel.as_str(), attempts = n.attempts, error = %e, "notification failed for good");
                self.record(n, webhook, now, NotificationOutcome::Failed { error: e })
                    .await?;
                Attempt::Failed
            }
        };
        Ok(attempt)
    }

    async fn record(
        &self,
        n: &NotificationDelivery,
        webhook: Option<&str>,
        now: OffsetDateTime,
        outcome: NotificationOutcome<'_>,
    ) -> Result<(), StoreError> {
        self.store
            .notification_outcome(n, outcome, webhook.map(str::to_string), now)
            .await
    }

    /// The delivery loop: runs what is due, then waits `poll_interval` (or for shutdown).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = self.run_due(OffsetDateTime::now_utc()).await {
                tracing::error!(error = %e, "cannot work the notification outbox");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
