//! Authority to act for an organisation, from the Brønnøysund registers.
//!
//! Owns: the business-register client ([`RegisterClient`]: Enhetsregisteret entity and roles,
//! the Fullmakt service's signature and procuration answers, fetched concurrently, cached,
//! size- and time-limited, failing closed), the lenient reading of their JSON ([`model`]), the
//! pure rule that says whether a set of signers suffices ([`rules`]: [`decide`],
//! [`completion_satisfied`]), the public preview of who can sign ([`Preview`]) and the register
//! snapshot for the evidence record ([`RegisterFacts::snapshot`]).
//!
//! Must not: talk to signers, know the ceremony, HTTP routing, SQL or the job store, or log
//! personal data (names, birth dates, national ids): logs carry organisation numbers and URLs.
//!
//! How it is meant to be used (the wiring lives in the ceremony and `jobs`):
//! ```text
//! let facts = client.lookup(orgnr).await?;                 // fresh answers, or an error
//! let decision = authority::decide(&facts, kind, &participants, signer_id);
//! evidence.register = Some(facts.snapshot_for(&decision)); // when the signer signs
//! // at completion: authority::completion_satisfied(&facts, kind, &participants)
//! ```
//! An [`AuthorityError`] from a lookup turns into a refusal with [`AuthorityError::refusal`].

pub mod facts;
pub mod model;
pub mod preview;
pub mod register;
pub mod rules;

pub use facts::{Answer, RegisterFacts};
pub use preview::Preview;
pub use register::RegisterClient;
pub use rules::{
    AuthorityKind, Basis, Combination, Completion, Coverage, Decision, MatchMethod, Participant,
    PersonClaim, PersonMatch, Refusal, RegisterPerson, RoleNeeded, birth_date_from_national_id,
    completion_satisfied, decide, name_tokens, names_match, plan_completion,
};

/// Why the registers gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    /// Not 9 digits with a valid mod-11 check digit (nothing was asked).
    #[error("{0:?} is not a valid organisation number")]
    InvalidOrgnr(String),
    /// Enhetsregisteret answered 404.
    #[error("organisation {orgnr} is not in Enhetsregisteret")]
    NotFound { orgnr: String },
    /// Enhetsregisteret answered 410: the unit has been removed.
    #[error("organisation {orgnr} has been removed from Enhetsregisteret")]
    Deleted { orgnr: String },
    /// No answer in time, a connection failure, an unexpected HTTP status, or an answer
    /// larger than allowed.
    #[error("{url}: {reason}")]
    Unavailable { url: String, reason: String },
    /// An answer that is not the JSON expected.
    #[error("{url}: unreadable answer: {reason}")]
    Malformed { url: String, reason: String },
    /// The HTTP client could not be built.
    #[error("register client setup: {0}")]
    Setup(String),
}

impl AuthorityError {
    /// The refusal a signer gets for this failure (fail closed).
    pub fn refusal(&self) -> Refusal {
        match self {
            AuthorityError::NotFound { .. } | AuthorityError::InvalidOrgnr(_) => Refusal::NotFound,
            AuthorityError::Deleted { .. } => Refusal::Deleted,
            AuthorityError::Unavailable { .. } | AuthorityError::Setup(_) => {
                Refusal::RegisterUnavailable(self.to_string())
            }
            AuthorityError::Malformed { .. } => Refusal::Malformed(self.to_string()),
        }
    }

    /// Stable machine code (snake_case) for events and logs.
    pub fn code(&self) -> &'static str {
        match self {
            AuthorityError::InvalidOrgnr(_) => "invalid_orgnr",
            AuthorityError::NotFound { .. } => "not_found",
            AuthorityError::Deleted { .. } => "deleted",
            AuthorityError::Unavailable { .. } => "register_unavailable",
            AuthorityError::Malformed { .. } => "malformed",
            AuthorityError::Setup(_) => "setup",
        }
    }
}
