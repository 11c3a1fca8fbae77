-- Signer notifications by e-mail and SMS (issue 7: notifying the holders of signing authority
-- the sender adds as co-signers; and every portal signer with contact details when their
-- signing-order group becomes active).
--
-- jobs.nonsensitive_title: the title used in notifications (Posten's `nonsensitive-title`); the
-- job title may hold personal data and never leaves the gateway in an e-mail or SMS.
-- signers.lang: the language of the signer's notifications (nb, nn, en; NULL reads as nb).
-- signers.added_by: NULL for signers the sender gave when creating the job; `co_signer` for a
-- holder of signing authority added from the business register (POST …/authority/co-signers);
-- signers.added_for: then the signer whose authority the addition completes.
-- signers.notify_context: non-sensitive, public facts a notification may show (the
-- organisation's register name and the person's role), JSON.
ALTER TABLE jobs ADD COLUMN nonsensitive_title TEXT;
ALTER TABLE signers ADD COLUMN lang TEXT;
ALTER TABLE signers ADD COLUMN added_by TEXT;
ALTER TABLE signers ADD COLUMN added_for TEXT;
ALTER TABLE signers ADD COLUMN notify_context TEXT;

-- The outbox: one row per (signer, purpose, channel), written in the same transaction as the
-- state change that activates the signer, so a notification is never lost and never queued
-- twice. A notify worker leases due rows (lease_until), renders the message at send time (the
-- signing link is derived from the signer id, never stored) and records the outcome:
--   pending  → sent        (the SMTP relay or SMS gateway accepted it; provider_ref)
--   pending  → pending     (a temporary failure: attempts + 1, next_attempt_at with backoff)
--   pending  → failed      (a permanent refusal, or max attempts reached; last_error)
--   pending  → not_sent    (the channel is not configured on this gateway; last_error says so)
--   pending  → cancelled   (the job ended or the signer acted before it was sent)
CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    job_id          TEXT NOT NULL REFERENCES jobs(id),
    signer_id       TEXT NOT NULL REFERENCES signers(id),
    purpose         TEXT NOT NULL,
    channel         TEXT NOT NULL,
    destination     TEXT NOT NULL,
    lang            TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT,
    last_error      TEXT,
    provider_ref    TEXT,
    UNIQUE (signer_id, purpose, channel)
);
CREATE INDEX notifications_due ON notifications(status, next_attempt_at);
CREATE INDEX notifications_job ON notifications(job_id);
