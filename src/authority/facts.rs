//! What the registers answered about one organisation: each answer parsed and kept byte-exact
//! with its URL, retrieval time and media type, ready for a decision and for the evidence
//! record's [`RegisterSnapshot`].
//!
//! Owns: [`RegisterFacts`] and [`Answer`]. Must not: fetch (that is `register`) or decide
//! (that is `rules`).

use std::sync::Arc;

use time::OffsetDateTime;

use super::AuthorityError;
use super::model::{self, Entity, Fullmakt, Roles};
use super::rules::Decision;
use crate::sealing::evidence::{RegisterSnapshot, RegisterSource};

/// One register answer: parsed, and as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer<T> {
    pub parsed: T,
    pub source: RegisterSource,
}

impl<T: serde::de::DeserializeOwned> Answer<T> {
    /// Parses `body` fetched from `url`; an unreadable body is [`AuthorityError::Malformed`].
    pub fn parse(
        url: &str,
        media_type: &str,
        body: Vec<u8>,
        retrieved_at: OffsetDateTime,
    ) -> Result<Self, AuthorityError> {
        let parsed = model::parse(&body).map_err(|e| AuthorityError::Malformed {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Answer {
            parsed,
            source: RegisterSource {
                url: url.to_string(),
                retrieved_at,
                media_type: media_type.to_string(),
                body,
            },
        })
    }
}

/// The register answers about one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterFacts {
    /// The organisation number asked for (9 digits, mod-11 valid).
    pub orgnr: String,
    /// Enhetsregisteret `/enheter/{orgnr}`.
    pub entity: Arc<Answer<Entity>>,
    /// Enhetsregisteret `/enheter/{orgnr}/roller`.
    pub roles: Arc<Answer<Roles>>,
    /// Fullmakt `/enheter/{orgnr}/signatur`, when read.
    pub signature: Option<Arc<Answer<Fullmakt>>>,
    /// Fullmakt `/enheter/{orgnr}/prokura`, when read.
    pub procuration: Option<Arc<Answer<Fullmakt>>>,
    /// Some answer is an older copy kept because the register did not answer: good for a
    /// preview, never for a decision (`rules::decide` refuses stale facts).
    pub stale: bool,
}

impl RegisterFacts {
    /// The unit's name as the entity answer gives it.
    pub fn name(&self) -> Option<&str> {
        self.entity.parsed.navn.as_deref()
    }

    /// Every answer as received, in a fixed order: entity, roles, signature, procuration.
    pub fn sources(&self) -> Vec<&RegisterSource> {
        let mut out = vec![&self.entity.source, &self.roles.source];
        if let Some(a) = &self.signature {
            out.push(&a.source);
        }
        if let Some(a) = &self.procuration {
            out.push(&a.source);
        }
        out
    }

    /// When the oldest of the answers was retrieved.
    pub fn retrieved_at(&self) -> OffsetDateTime {
        self.sources()
            .iter()
            .map(|s| s.retrieved_at)
            .min()
            .unwrap_or(self.entity.source.retrieved_at)
    }

    /// The evidence record's register snapshot: every answer byte-exact, with `summary`
    /// (typically [`Decision::summary`]) prefixed by the unit's name and number.
    pub fn snapshot(&self, summary: &str) -> RegisterSnapshot {
        let who = match self.name() {
            Some(n) => format!("{n} ({})", self.orgnr),
            None => self.orgnr.clone(),
        };
        RegisterSnapshot {
            orgnr: self.orgnr.clone(),
            summary: Some(format!("{who}: {summary}")),
            sources: self.sources().into_iter().cloned().collect(),
        }
    }

    /// [`RegisterFacts::snapshot`] with the decision's own summary.
    pub fn snapshot_for(&self, decision: &Decision) -> RegisterSnapshot {
        self.snapshot(&decision.summary())
    }
}
