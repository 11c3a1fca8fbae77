//! Signature jobs, signers and documents as values, and the request shape organisations send.
//!
//! Owns: the vocabulary (statuses, identifiers, assurance levels) and the validation of a job
//! request. Must not: know HTTP, SQL or XML.

use std::borrow::Cow;

use crate::authority::AuthorityKind;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// A calendar date as `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &fmt).ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Direct,
    Portal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    InProgress,
    Completed,
    Failed,
    Cancelled,
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignerStatus {
    Waiting,
    Signed,
    Rejected,
    Expired,
    Failed,
    Cancelled,
    Blocked,
}

/// Identity assurance level, in eIDAS terms (ID-porten's `idporten-loa-*` map onto these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Loa {
    Low,
    Substantial,
    High,
}

macro_rules! str_enum {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

str_enum!(JobKind { Direct => "direct", Portal => "portal" });
str_enum!(JobStatus {
    InProgress => "in_progress",
    Completed => "completed",
    Failed => "failed",
    Cancelled => "cancelled",
    Expired => "expired",
});
str_enum!(SignerStatus {
    Waiting => "waiting",
    Signed => "signed",
    Rejected => "rejected",
    Expired => "expired",
    Failed => "failed",
    Cancelled => "cancelled",
    Blocked => "blocked",
});
str_enum!(Loa { Low => "low", Substantial => "substantial", High => "high" });

impl JobStatus {
    pub fn is_final(self) -> bool {
        self != JobStatus::InProgress
    }
}

/// Who must sign: a Norwegian national identity number, an eIDAS person identifier, or (for a
/// holder of signing authority added from the business register, whose open answers carry no
/// national id) the register person by birth date and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SignerIdentifier {
    /// Norwegian national identity number (fødselsnummer or D-number), 11 digits.
    NationalId(String),
    /// eIDAS PersonIdentifier `CC/CC/identifier` (issuing country / receiving country / id).
    EidasId(String),
    /// A person of the business register: the login must give the same birth date and a name
    /// that matches by the register rule (`authority::names_match`); a login without a name
    /// never matches.
    RegisterPerson(RegisterPersonId),
}

/// A register person as a signer designation: birth date and the name as the register writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterPersonId {
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub birth_date: Date,
    pub name: String,
}

impl SignerIdentifier {
    pub fn kind(&self) -> &'static str {
        match self {
            SignerIdentifier::NationalId(_) => "national_id",
            SignerIdentifier::EidasId(_) => "eidas_id",
            SignerIdentifier::RegisterPerson(_) => "register_person",
        }
    }
    /// The identifier as stored and written into the evidence record: the national id, the
    /// eIDAS id, or `YYYY-MM-DD Name` for a register person.
    pub fn value(&self) -> Cow<'_, str> {
        match self {
            SignerIdentifier::NationalId(v) | SignerIdentifier::EidasId(v) => Cow::Borrowed(v),
            SignerIdentifier::RegisterPerson(p) => {
                Cow::Owned(format!("{} {}", format_date(p.birth_date), p.name))
            }
        }
    }
    /// The inverse of [`SignerIdentifier::kind`] and [`SignerIdentifier::value`].
    pub fn from_parts(kind: &str, value: String) -> Option<Self> {
        match kind {
            "national_id" => Some(SignerIdentifier::NationalId(value)),
            "eidas_id" => Some(SignerIdentifier::EidasId(value)),
            "register_person" => {
                let (date, name) = value.split_once(' ')?;
                let name = name.trim();
                (!name.is_empty()).then_some(())?;
                Some(SignerIdentifier::RegisterPerson(RegisterPersonId {
                    birth_date: parse_date(date)?,
                    name: name.to_string(),
                }))
            }
            _ => None,
        }
    }
    /// The identifier as shown to other parties (national ids are masked after the birth date).
    pub fn masked(&self) -> String {
        match self {
            SignerIdentifier::NationalId(v) if v.len() == 11 => format!("{}*****", &v[..6]),
            other => other.value().into_owned(),
        }
    }
    /// As the API shows it: `{"national_id": …}`, `{"eidas_id": …}` or
    /// `{"register_person": {"birth_date": …, "name": …}}`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            SignerIdentifier::NationalId(v) => serde_json::json!({"national_id": v}),
            SignerIdentifier::EidasId(v) => serde_json::json!({"eidas_id": v}),
            SignerIdentifier::RegisterPerson(p) => serde_json::json!({"register_person": {
                "birth_date": format_date(p.birth_date),
                "name": p.name,
            }}),
        }
    }
}

/// The language of a signer's notifications (and the default of the signing pages they open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Norwegian Bokmål.
    #[default]
    Nb,
    /// Norwegian Nynorsk.
    Nn,
    En,
}

str_enum!(Language { Nb => "nb", Nn => "nn", En => "en" });

/// A signer added from the business register to complete another signer's authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoSignerOf {
    /// The signer whose authority (a joint rule) this signer completes.
    pub signer_id: String,
    /// The organisation's name in the register (public), for the notification.
    pub org_name: Option<String>,
    /// The person's role in the register (`MEDL`, …) and its text (`Styremedlem`).
    pub role_code: String,
    pub role_text: Option<String>,
}

/// A signer identifier as the API receives it: `{"national_id": "…"}` or `{"eidas_id": "…"}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifierInput {
    pub national_id: Option<String>,
    pub eidas_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OnBehalfOf {
    /// Norwegian organisation number (9 digits, mod-11).
    pub orgnr: String,
    /// The authority the signer must hold in the business register: `signature` (signatur,
    /// the default), `procuration` (prokura) or `either`.
    #[serde(default)]
    pub authority: AuthorityKind,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignerInput {
    pub national_id: Option<String>,
    pub eidas_id: Option<String>,
    pub on_behalf_of: Option<OnBehalfOf>,
    /// E-mail address for notifications (portal jobs: sent when the signer's order group
    /// becomes active).
    pub email: Option<String>,
    /// Norwegian mobile number for SMS notifications (`+47`, `0047` or 8 digits starting
    /// with 4 or 9); foreign numbers are refused.
    pub mobile: Option<String>,
    /// Language of the notifications: `nb` (default), `nn` or `en`.
    pub lang: Option<Language>,
    /// Signing order group (0–9); lower groups sign first. Default 0.
    pub order: Option<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct Redirects {
    pub completion: Option<String>,
    pub rejection: Option<String>,
    pub error: Option<String>,
}

/// The `job` part of `POST /api/v1/jobs`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// The job's title. It may hold personal data: it is shown to logged-in signers only,
    /// never in an e-mail or SMS.
    pub title: String,
    /// A title without personal data (1–80 characters) for e-mail and SMS notifications;
    /// without it they name no title ("a document").
    pub nonsensitive_title: Option<String>,
    pub kind: JobKind,
    pub signers: Vec<SignerInput>,
    pub required_loa: Option<Loa>,
    pub expires_in_days: Option<u32>,
    pub callback_url: Option<String>,
    pub redirect: Option<Redirects>,
    /// Optional titles of the documents, in the order of the `document` parts.
    pub document_titles: Option<Vec<String>>,
    /// The organisation's own reference.
    pub reference: Option<String>,
}

/// A validated signer, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSigner {
    pub identifier: SignerIdentifier,
    pub on_behalf_of: Option<OnBehalfOf>,
    /// Normalised e-mail address (`notify::contact`).
    pub email: Option<String>,
    /// Normalised mobile number, `+47XXXXXXXX`.
    pub mobile: Option<String>,
    pub lang: Language,
    pub order: u8,
}

/// A validated job request.
#[derive(Debug, Clone)]
pub struct ValidJob {
    pub title: String,
    pub nonsensitive_title: Option<String>,
    pub kind: JobKind,
    pub signers: Vec<NewSigner>,
    pub required_loa: Loa,
    pub expires_in_days: u32,
    pub callback_url: Option<String>,
    pub redirect: Redirects,
    pub document_titles: Option<Vec<String>>,
    pub reference: Option<String>,
}

/// A stored job as the service reads it back.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub org_id: String,
    pub title: String,
    /// The title for notifications (no personal data), when the sender gave one.
    pub nonsensitive_title: Option<String>,
    pub kind: JobKind,
    pub status: JobStatus,
    pub required_loa: Loa,
    pub reference: Option<String>,
    pub callback_url: Option<String>,
    pub redirect: Redirects,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
    pub signers: Vec<Signer>,
    pub documents: Vec<Document>,
}

#[derive(Debug, Clone)]
pub struct Signer {
    pub id: String,
    pub position: u32,
    pub identifier: SignerIdentifier,
    pub on_behalf_of: Option<OnBehalfOf>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub lang: Language,
    pub order: u8,
    /// Set for a holder of signing authority the sender added from the register.
    pub co_signer_of: Option<CoSignerOf>,
    pub status: SignerStatus,
    pub status_at: OffsetDateTime,
    /// The verified identity recorded when the signer signed (JSON of `VerifiedIdentity`).
    pub identity_json: Option<String>,
    /// Client address and user agent recorded with the signer's decision (sealed evidence).
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// For a signer on behalf of a company: the business-register evidence captured when
    /// the signer signed (JSON of `authority::AuthorityRecord`).
    pub authority_json: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    pub position: u32,
    pub title: String,
    pub filename: Option<String>,
    pub size: u64,
    pub sha256: String,
    pub pages: u32,
    pub blob_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("a job needs between 1 and {max} signers, got {got}")]
    SignerCount { got: usize, max: usize },
    #[error("signer {index}: give exactly one of national_id or eidas_id")]
    SignerIdentifier { index: usize },
    #[error("signer {index}: national_id must be 11 digits with valid mod-11 check digits")]
    NationalId { index: usize },
    #[error("signer {index}: eidas_id must look like CC/CC/identifier")]
    EidasId { index: usize },
    #[error("signer {index}: on_behalf_of.orgnr must be a 9-digit organisation number")]
    OrgNr { index: usize },
    #[error("signer {index}: order must be 0-9")]
    Order { index: usize },
    #[error("signer {index} appears twice in the job")]
    DuplicateSigner { index: usize },
    #[error("title must be 1-200 characters")]
    Title,
    #[error("expires_in_days must be between 1 and {max}")]
    Expiry { max: u32 },
    #[error("{field} must be an absolute http(s) URL of at most 500 characters")]
    Url { field: &'static str },
    #[error("{field} is too long")]
    TooLong { field: &'static str },
    #[error("signer {index}: {error}")]
    Contact {
        index: usize,
        error: crate::notify::contact::ContactError,
    },
    #[error("nonsensitive_title must be 1-80 characters")]
    NonsensitiveTitle,
}

/// Limits the service applies to requests (from configuration).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_signers: usize,
    pub default_expires_in_days: u32,
    pub max_expires_in_days: u32,
}

impl JobRequest {
    pub fn validate(self, limits: &Limits) -> Result<ValidJob, RequestError> {
        let title = self.title.trim().to_string();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(RequestError::Title);
        }
        let n = self.signers.len();
        if n == 0 || n > limits.max_signers {
            return Err(RequestError::SignerCount {
                got: n,
                max: limits.max_signers,
            });
        }
        let mut signers: Vec<NewSigner> = Vec::with_capacity(n);
        for (index, s) in self.signers.into_iter().enumerate() {
            let identifier = match (s.national_id, s.eidas_id) {
                (Some(nid), None) => {
                    if !crate::identity::nin::is_valid_national_id(&nid) {
                        return Err(RequestError::NationalId { index });
                    }
                    SignerIdentifier::NationalId(nid)
                }
                (None, Some(eid)) => {
                    if !crate::identity::is_plausible_eidas_id(&eid) {
                        return Err(RequestError::EidasId { index });
                    }
                    SignerIdentifier::EidasId(eid)
                }
                _ => return Err(RequestError::SignerIdentifier { index }),
            };
            if let Some(obo) = &s.on_behalf_of
                && !crate::identity::nin::is_valid_orgnr(&obo.orgnr)
            {
                return Err(RequestError::OrgNr { index });
            }
            let order = s.order.unwrap_or(0);
            if order > 9 {
                return Err(RequestError::Order { index });
            }
            if signers.iter().any(|o| o.identifier == identifier) {
                return Err(RequestError::DuplicateSigner { index });
            }
            let email = s
                .email
                .as_deref()
                .map(crate::notify::contact::email)
                .transpose()
                .map_err(|error| RequestError::Contact { index, error })?;
            let mobile = s
                .mobile
                .as_deref()
                .map(crate::notify::contact::mobile)
                .transpose()
                .map_err(|error| RequestError::Contact { index, error })?;
            signers.push(NewSigner {
                identifier,
                on_behalf_of: s.on_behalf_of,
                email,
                mobile,
                lang: s.lang.unwrap_or_default(),
                order,
            });
        }
        let expires_in_days = self
            .expires_in_days
            .unwrap_or(limits.default_expires_in_days);
        if expires_in_days == 0 || expires_in_days > limits.max_expires_in_days {
            return Err(RequestError::Expiry {
                max: limits.max_expires_in_days,
            });
        }
        check_url(&self.callback_url, "callback_url")?;
        let redirect = self.redirect.unwrap_or_default();
        check_url(&redirect.completion, "redirect.completion")?;
        check_url(&redirect.rejection, "redirect.rejection")?;
        check_url(&redirect.error, "redirect.error")?;
        check_len(&self.reference, 100, "reference")?;
        let nonsensitive_title = match self.nonsensitive_title.as_deref().map(str::trim) {
            None => None,
            Some(t)
                if t.is_empty() || t.chars().count() > 80 || t.chars().any(char::is_control) =>
            {
                return Err(RequestError::NonsensitiveTitle);
            }
            Some(t) => Some(t.to_string()),
        };
        if let Some(titles) = &self.document_titles
            && titles.iter().any(|t| t.chars().count() > 200)
        {
            return Err(RequestError::TooLong {
                field: "document_titles",
            });
        }
        Ok(ValidJob {
            title,
            nonsensitive_title,
            kind: self.kind,
            signers,
            required_loa: self.required_loa.unwrap_or(Loa::Substantial),
            expires_in_days,
            callback_url: self.callback_url,
            redirect,
            document_titles: self.document_titles,
            reference: self.reference,
        })
    }
}

fn check_len(v: &Option<String>, max: usize, field: &'static str) -> Result<(), RequestError> {
    match v {
        Some(s) if s.chars().count() > max => Err(RequestError::TooLong { field }),
        _ => Ok(()),
    }
}

fn check_url(v: &Option<String>, field: &'static str) -> Result<(), RequestError> {
    match v {
        None => Ok(()),
        Some(u) => {
            let ok = u.len() <= 500
                && (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() > "http://".len()
                && !u.chars().any(|c| c.is_whitespace() || c.is_control());
            if ok {
                Ok(())
            } else {
                Err(RequestError::Url { field })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_signers: 10,
        default_expires_in_days: 30,
        max_expires_in_days: 365,
    };

    fn req(signers: serde_json::Value) -> Result<ValidJob, RequestError> {
        let r: JobRequest = serde_json::from_value(serde_json::json!({
            "title": "Avtale", "kind": "direct", "signers": signers
        }))
        .unwrap();
        r.validate(&LIMITS)
    }

    #[test]
    fn signer_count_bounds() {
        assert!(matches!(
            req(serde_json::json!([])),
            Err(RequestError::SignerCount { got: 0, .. })
        ));
        let eleven: Vec<_> = (0..11)
            .map(|i| serde_json::json!({"eidas_id": format!("SE/NO/19900101-{i:04}")}))
            .collect();
        assert!(matches!(
            req(serde_json::Value::Array(eleven)),
            Err(RequestError::SignerCount { got: 11, .. })
        ));
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(req(serde_json::json!([{"national_id": "01010112345"}])).is_err());
        assert!(req(serde_json::json!([{"national_id": "12345678911"}])).is_err());
        let ok = req(serde_json::json!([{"national_id": "13097248022"}])).unwrap();
        assert_eq!(ok.signers[0].identifier.masked(), "130972*****");
        assert!(matches!(
            req(serde_json::json!([{"national_id": "13097248022", "eidas_id": "SE/NO/1"}])),
            Err(RequestError::SignerIdentifier { index: 0 })
        ));
        assert!(matches!(
            req(
                serde_json::json!([{"national_id": "13097248022"}, {"national_id": "13097248022"}])
            ),
            Err(RequestError::DuplicateSigner { index: 1 })
        ));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<JobRequest, _> = serde_json::from_value(serde_json::json!({
            "title": "x", "kind": "direct", "signers": [], "colour": "blue"
        }));
        assert!(r.unwrap_err().to_string().contains("colour"));
    }
}
