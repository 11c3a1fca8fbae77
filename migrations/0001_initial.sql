-- signgate schema. The same SQL runs on SQLite and PostgreSQL: only portable types
-- (TEXT, BIGINT), times as Unix milliseconds, ids as text (UUIDs), no autoincrement.

CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    orgnr       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    -- the organisation's event feed and audit chain head: bumped in the same transaction
    -- as every event row, so feed order equals commit order
    event_seq   BIGINT NOT NULL DEFAULT 0,
    audit_head  TEXT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organisations(id),
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_org ON api_keys(org_id);

CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organisations(id),
    title         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    status        TEXT NOT NULL,
    required_loa  TEXT NOT NULL,
    reference     TEXT,
    callback_url  TEXT,
    redirect_json TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    completed_at  BIGINT,
    sealed_key    TEXT,
    sealed_sha256 TEXT,
    -- optimistic concurrency: every applied transition bumps it
    version       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX jobs_org_created ON jobs(org_id, created_at, id);
CREATE INDEX jobs_status_expires ON jobs(status, expires_at);

CREATE TABLE documents (
    id        TEXT PRIMARY KEY,
    job_id    TEXT NOT NULL REFERENCES jobs(id),
    position  BIGINT NOT NULL,
    title     TEXT NOT NULL,
    filename  TEXT,
    size      BIGINT NOT NULL,
    sha256    TEXT NOT NULL,
    pages     BIGINT NOT NULL,
    blob_key  TEXT NOT NULL
);
CREATE INDEX documents_job ON documents(job_id, position);

CREATE TABLE signers (
    id               TEXT PRIMARY KEY,
    job_id           TEXT NOT NULL REFERENCES jobs(id),
    position         BIGINT NOT NULL,
    identifier_kind  TEXT NOT NULL,
    identifier       TEXT NOT NULL,
    on_behalf_of     TEXT,
    email            TEXT,
    mobile           TEXT,
    signing_order    BIGINT NOT NULL,
    status           TEXT NOT NULL,
    status_at        BIGINT NOT NULL,
    -- SHA-256 of the secret in the signing URL (the URL itself is never stored)
    token_hash       TEXT NOT NULL UNIQUE,
    identity_json    TEXT,
    client_ip        TEXT,
    user_agent       TEXT
);
CREATE INDEX signers_job ON signers(job_id, position);

-- Durable per-organisation event feed and hash-chained audit log in one:
-- hash = SHA-256(prev_hash || canonical row), genesis prev_hash = organisations.audit_head at creation.
CREATE TABLE events (
    org_id     TEXT NOT NULL REFERENCES organisations(id),
    seq        BIGINT NOT NULL,
    job_id     TEXT,
    signer_id  TEXT,
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL,
    at         BIGINT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
);
CREATE INDEX events_job ON events(job_id);

-- Jobs whose signers have all signed and that await sealing. A worker leases a row;
-- a crashed worker's lease runs out and another worker takes the job.
CREATE TABLE seal_queue (
    job_id       TEXT PRIMARY KEY REFERENCES jobs(id),
    enqueued_at  BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX seal_queue_lease ON seal_queue(lease_until, enqueued_at);
