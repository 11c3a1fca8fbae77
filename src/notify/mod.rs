//! Notifications to organisations and signers. Today: webhooks to a job's `callback_url`,
//! carrying the same events as the `/api/v1/events` feed, signed with the organisation's
//! webhook secret, delivered at least once from a transactional outbox with retries.
//!
//! Owns: delivery, payload signing, destination checks. Must not: block a request on delivery
//! or change job state.

pub mod webhook;
