-- Signer sessions live on the server: the browser holds only a random handle whose SHA-256
-- (hex) is the id, so a login's evidence (an id_token or a SAML assertion) never travels in a
-- cookie and a session ends for good when the signer signs or rejects.
CREATE TABLE signer_sessions (
    id             TEXT PRIMARY KEY,
    signer_id      TEXT NOT NULL REFERENCES signers(id),
    identity_json  TEXT NOT NULL,
    csrf           TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX signer_sessions_expires ON signer_sessions(expires_at);
CREATE INDEX signer_sessions_signer ON signer_sessions(signer_id);

-- A verified SAML login between the identity provider's cross-site POST to the assertion
-- consumer (which carries no SameSite cookies) and the same-site GET that binds it to the
-- browser's pending login. One-time (deleted when taken), short-lived.
CREATE TABLE login_handoffs (
    id              TEXT PRIMARY KEY,
    in_response_to  TEXT NOT NULL,
    identity_json   TEXT NOT NULL,
    expires_at      BIGINT NOT NULL
);
CREATE INDEX login_handoffs_expires ON login_handoffs(expires_at);

-- One-time use of SAML assertions: an assertion id is remembered until it expires.
CREATE TABLE saml_assertions_seen (
    issuer        TEXT NOT NULL,
    assertion_id  TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (issuer, assertion_id)
);
CREATE INDEX saml_assertions_seen_expires ON saml_assertions_seen(expires_at);
