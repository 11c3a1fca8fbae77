-- Webhook delivery: an outbox row per (job event, callback URL), written in the same
-- transaction as the event, delivered at least once by a notify worker with retries.
ALTER TABLE organisations ADD COLUMN webhook_secret TEXT;

CREATE TABLE webhook_outbox (
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    seq             BIGINT NOT NULL,
    url             TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    delivered_at    BIGINT,
    failed_at       BIGINT,
    last_error      TEXT,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox(delivered_at, failed_at, next_attempt_at);
