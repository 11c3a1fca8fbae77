//! Signer sessions, SAML login hand-offs and the SAML assertion replay cache.
//!
//! Owns: the rows of `signer_sessions`, `login_handoffs` and `saml_assertions_seen`, keyed by
//! digests of the handles browsers hold (a database dump never yields a usable cookie).
//! Must not: check identities or decide who may sign (`identity`, `jobs`).

use sqlx::Row;
use time::OffsetDateTime;

use super::{Store, StoreError, is_unique_violation, sha256_hex, to_ms};

/// A signer's server-side session.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub signer_id: String,
    pub identity_json: String,
    pub csrf: String,
    pub expires_at: OffsetDateTime,
}

fn handle_id(handle: &str) -> String {
    sha256_hex(&[b"signgate-handle:", handle.as_bytes()])
}

impl Store {
    pub async fn create_session(
        &self,
        handle: &str,
        rec: &SessionRecord,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let _gate = self.gate().await;
        sqlx::query(
            "INSERT INTO signer_sessions (id, signer_id, identity_json, csrf, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(handle_id(handle))
        .bind(&rec.signer_id)
        .bind(&rec.identity_json)
        .bind(&rec.csrf)
        .bind(to_ms(now))
        .bind(to_ms(rec.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live session behind `handle`, if any.
    pub async fn session(
        &self,
        handle: &str,
        now: OffsetDateTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT signer_id, identity_json, csrf, expires_at FROM signer_sessions \
             WHERE id = $1 AND expires_at > $2",
        )
        .bind(handle_id(handle))
        .bind(to_ms(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SessionRecord {
                signer_id: r.try_get("signer_id")?,
                identity_json: r.try_get("identity_json")?,
                csrf: r.try_get("csrf")?,
                expires_at: super::from_ms(r.try_get("expires_at")?),
            })
        })
        .transpose()
    }

    /// Ends the session behind `handle`; true when there was one.
    pub async fn end_session(&self, handle: &str) -> Result<bool, StoreError> {
        let _gate = self.gate().await;
        let r = sqlx::query("DELETE FROM signer_sessions WHERE id = $1")
            .bind(handle_id(handle))
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Ends every session of a signer (after they signed or rejected).
    pub async fn end_signer_sessions(&self, signer_id: &str) -> Result<u64, StoreError> {
        let _gate = self.gate().await;
        let r = sqlx::query("DELETE FROM signer_sessions WHERE signer_id = $1")
            .bind(signer_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    pub async fn put_handoff(
        &self,
        handle: &str,
        in_response_to: &str,
        identity_json: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let _gate = self.gate().await;
        sqlx::query(
            "INSERT INTO login_handoffs (id, in_response_to, identity_json, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(handle_id(handle))
        .bind(in_response_to)
        .bind(identity_json)
        .bind(to_ms(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes (deletes and returns) a live hand-off: `(in_response_to, identity_json)`.
    pub async fn take_handoff(
        &self,
        handle: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(String, String)>, StoreError> {
        let _gate = self.gate().await;
        let row = sqlx::query(
            "DELETE FROM login_handoffs WHERE id = $1 RETURNING in_response_to, identity_json, \
             expires_at",
        )
        .bind(handle_id(handle))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let expires: i64 = r.try_get("expires_at")?;
        if expires <= to_ms(now) {
            return Ok(None);
        }
        Ok(Some((
            r.try_get("in_response_to")?,
            r.try_get("identity_json")?,
        )))
    }

    /// Records the first use of a SAML assertion; false when it was seen before (a replay).
    pub async fn first_use_of_assertion(
        &self,
        issuer: &str,
        assertion_id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let _gate = self.gate().await;
        let r = sqlx::query(
            "INSERT INTO saml_assertions_seen (issuer, assertion_id, expires_at) \
             VALUES ($1, $2, $3)",
        )
        .bind(issuer)
        .bind(assertion_id)
        .bind(to_ms(expires_at))
        .execute(&self.pool)
        .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes expired sessions, hand-offs and remembered assertions. The assertion cache
    /// keeps rows for `grace` past their expiry, covering the clock skew they were accepted with.
    pub async fn purge_logins(
        &self,
        now: OffsetDateTime,
        grace: time::Duration,
    ) -> Result<u64, StoreError> {
        let _gate = self.gate().await;
        let mut n = 0;
        for (sql, at) in [
            ("DELETE FROM signer_sessions WHERE expires_at <= $1", now),
            ("DELETE FROM login_handoffs WHERE expires_at <= $1", now),
            (
                "DELETE FROM saml_assertions_seen WHERE expires_at <= $1",
                now - grace,
            ),
        ] {
            n += sqlx::query(sql)
                .bind(to_ms(at))
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::connect(&format!("sqlite://{}/t.db", dir.path().display()), 2)
            .await
            .unwrap();
        s.migrate().await.unwrap();
        (s, dir)
    }

    #[tokio::test]
    async fn assertions_are_single_use() {
        let (s, _dir) = store().await;
        let now = OffsetDateTime::now_utc();
        let exp = now + time::Duration::minutes(5);
        assert!(s.first_use_of_assertion("idp", "_a1", exp).await.unwrap());
        assert!(!s.first_use_of_assertion("idp", "_a1", exp).await.unwrap());
        assert!(s.first_use_of_assertion("other", "_a1", exp).await.unwrap());
        // Kept through the grace period, then forgotten.
        s.purge_logins(
            exp + time::Duration::seconds(30),
            time::Duration::minutes(1),
        )
        .await
        .unwrap();
        assert!(!s.first_use_of_assertion("idp", "_a1", exp).await.unwrap());
        s.purge_logins(exp + time::Duration::minutes(2), time::Duration::minutes(1))
            .await
            .unwrap();
        assert!(s.first_use_of_assertion("idp", "_a1", exp).await.unwrap());
    }

    #[tokio::test]
    async fn handoffs_are_taken_once_and_expire() {
        let (s, _dir) = store().await;
        let now = OffsetDateTime::now_utc();
        s.put_handoff("h1", "_req", "{}", now + time::Duration::minutes(1))
            .await
            .unwrap();
        assert_eq!(
            s.take_handoff("h1", now).await.unwrap(),
            Some(("_req".into(), "{}".into()))
        );
        assert_eq!(s.take_handoff("h1", now).await.unwrap(), None);
        s.put_handoff("h2", "_req", "{}", now + time::Duration::minutes(1))
            .await
            .unwrap();
        assert_eq!(
            s.take_handoff("h2", now + time::Duration::minutes(2))
                .await
                .unwrap(),
            None
        );
    }
}
