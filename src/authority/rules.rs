//! The rule that says whether a signer may act for an organisation: pure, no I/O.
//!
//! Owns: reading the register facts ([`RegisterFacts`]) as sets of persons who together suffice
//! (Fullmakt's `signeringsKombinasjon`), matching the job's participants to those persons, the
//! [`Decision`] for one signer ([`decide`]), the check at job completion
//! ([`completion_satisfied`]), birth dates from national ids ([`birth_date_from_national_id`])
//! and name comparison ([`name_tokens`], [`names_match`]).
//! Must not: fetch anything, know HTTP, SQL or the job store, log personal data.
//!
//! # The rules
//!
//! **The unit.** Refused, in this order, when the answers contradict each other about which
//! unit they describe ([`Refusal::Malformed`]), when it is deleted (`slettedato`, or
//! `respons_klasse` `SlettetEnhet`), bankrupt, under forced dissolution (the flag or any
//! `tvangsopplost…`/`tvangsavviklet…` date) or under liquidation. The Fullmakt answers' own
//! `enhet` flags (strings there) count as much as the entity's: either saying so refuses.
//!
//! **Combinations.** Each Fullmakt `kombinasjon` is one sufficient set of persons: one person
//! may sign alone ("hver for seg"), n persons only jointly ("i fellesskap"). Combinations are
//! read only when `rutineStatus` is `OK` (otherwise the register is unavailable) and
//! `kombinasjonStatus` is `OK` (otherwise none can be given). A combination the register lists
//! is always taken as sufficient, because that is what the service asserts. `kombinasjonStatus`
//! `IK` or `regelStatus` `RI` with a registered basis (a free text, or `signeringsGrunnlag`
//! `SF`) mark the rule as non-standard: a signer in no listed combination is then refused with
//! [`Refusal::NonStandardRule`] (a person must read the free text) rather than
//! [`Refusal::NoAuthority`]. `IK`/`RI` with no free text means nothing is registered for that
//! basis. A Fullmakt answer that is not available (not read, or the service has none for the
//! unit) refuses that basis with [`Refusal::RegisterUnavailable`]. A combination without persons (the service sometimes lists "Styret i fellesskap"
//! without naming anyone) cannot be checked and is never used.
//!
//! **Who counts (cross-check with the roles answer).** A person in a combination counts only
//! if the roles answer (`/roller`) shows them alive and in office: the roles answer must hold
//! at least one person role that is them — the same national id when both answers carry one
//! (the authorised variants), else the same birth date and a matching name ([`names_match`]);
//! if any such entry has `erDoed: true` the person never counts; of those entries, the ones
//! with the same role code as in Fullmakt decide if there are any (otherwise all of them, since
//! `/roller` may not carry the signature/procuration codes): the person counts only if one of
//! them is active (neither `fratraadt` nor `avregistrert` is true). A person the roles answer
//! does not show at all does not count (fail closed). A combination with a person who does not
//! count is never used, whoever else signs. When the Fullmakt answer has no national ids but
//! the (authorised) roles answer does, a person whose role entries all carry the same national
//! id takes it, so participants are matched to them by national id.
//!
//! **Matching a participant to a register person** ([`MatchMethod`]):
//! 1. When both sides carry a national id (the authorised Fullmakt or roles variant), they
//!    must be equal ([`MatchMethod::NationalId`]); nothing else is compared.
//! 2. Otherwise a *verified* participant matches when the birth dates are equal and the names
//!    match ([`MatchMethod::BirthDateAndName`]). The participant's birth date is the identity
//!    provider's, else the one derived from the national id.
//! 3. A participant who has not logged in yet (only the national id the sender gave) matches
//!    tentatively on the birth date derived from that id ([`MatchMethod::BirthDateOnly`]). That
//!    is only ever used to say a co-signer is still expected, never to grant.
//!
//! **Names.** Both names are reduced to tokens ([`name_tokens`]): a `"Family, Given"` form is
//! turned around; letters are lower-cased and diacritics removed (`é`→`e`, `ö`→`o`), the
//! Nordic letters folded (`ø`→`o`, `å`→`a`, `æ`→`ae`; also `ß`→`ss`, `ł`→`l`, `đ`/`ð`→`d`,
//! `þ`→`th`, `œ`→`oe`); apostrophes dropped (`O'Brien`→`obrien`); hyphens, dots and other
//! punctuation separate tokens. Two names match ([`names_match`]) when each has at least two
//! tokens, the first tokens (first given name) are equal, the last tokens (last family name)
//! are equal, and the tokens of the shorter name appear in the longer one in the same order:
//! middle names and extra family-name parts may be left out, nothing may be added, initials
//! and transliterations (`Bjoern` for `Bjørn`) do not match. A person this cannot match must
//! be identified by national id.
//!
//! **The decision for one signer** ([`decide`], the subject must be a verified participant):
//! [`Decision::Granted`] when the subject plus co-signers who have signed with a verified
//! identity cover a combination (smallest first, signature before procuration);
//! else [`Decision::AwaitingCoSigners`] when a combination with the subject can be covered by
//! adding the job's other, not yet signed, signers for the organisation (fewest still pending
//! first); else [`Decision::MissingCoSigners`] when the subject is in a joint combination the
//! job cannot complete (each option lists the register persons no participant can be);
//! else [`Decision::NotGranted`]. Each participant covers at most one person of a combination,
//! and one person appearing twice in a combination (two roles) needs one participant.
//! [`AuthorityKind::Either`] looks at the signature and the procuration answer together.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use time::Date;
use unicode_normalization::UnicodeNormalization as _;
use utoipa::ToSchema;

use super::facts::RegisterFacts;
use super::model::{self, Fullmakt, FullmaktPerson};
use crate::identity::VerifiedIdentity;
use crate::identity::nin;

/// What the signer must hold: signature right, procuration, or either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthorityKind {
    /// Signatur: acting for the unit in all matters.
    #[default]
    Signature,
    /// Prokura: acting for the unit in its daily business.
    Procuration,
    /// Either is enough.
    Either,
}

impl AuthorityKind {
    /// `signature`, `procuration` or `either` (the API and storage spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorityKind::Signature => "signature",
            AuthorityKind::Procuration => "procuration",
            AuthorityKind::Either => "either",
        }
    }

    /// The inverse of [`AuthorityKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            AuthorityKind::Signature,
            AuthorityKind::Procuration,
            AuthorityKind::Either,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// The Fullmakt answers this kind needs, in the order they are preferred.
    pub fn bases(self) -> &'static [Basis] {
        match self {
            AuthorityKind::Signature => &[Basis::Signature],
            AuthorityKind::Procuration => &[Basis::Procuration],
            AuthorityKind::Either => &[Basis::Signature, Basis::Procuration],
        }
    }
}

/// One Fullmakt answer: the signature right or the procuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    Signature,
    Procuration,
}

impl Basis {
    /// `signature` or `procuration`.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Signature => "signature",
            Basis::Procuration => "procuration",
        }
    }

    /// In words: `signature right` or `procuration`.
    pub fn label(self) -> &'static str {
        match self {
            Basis::Signature => "signature right",
            Basis::Procuration => "procuration",
        }
    }
}

/// What is known about a participant's person. `Debug` never shows the national id.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PersonClaim {
    pub national_id: Option<String>,
    pub birth_date: Option<Date>,
    pub name: Option<String>,
}

impl std::fmt::Debug for PersonClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonClaim")
            .field(
                "national_id",
                &self.national_id.as_ref().map(|_| "<redacted>"),
            )
            .field("birth_date", &self.birth_date)
            .field("name", &self.name)
            .finish()
    }
}

impl PersonClaim {
    /// From a login: its national id, its birth date (the provider's `date_of_birth`, else
    /// derived from the national id) and its name.
    pub fn from_identity(id: &VerifiedIdentity) -> Self {
        let birth_date = id
            .date_of_birth
            .as_deref()
            .and_then(model::parse_date)
            .or_else(|| {
                id.national_id
                    .as_deref()
                    .and_then(birth_date_from_national_id)
            });
        let name = Some(id.name.trim().to_string()).filter(|n| !n.is_empty());
        PersonClaim {
            national_id: id.national_id.clone(),
            birth_date,
            name,
        }
    }

    /// From the national id the sender designated (a signer who has not logged in yet).
    pub fn from_national_id(national_id: &str) -> Self {
        PersonClaim {
            national_id: Some(national_id.to_string()),
            birth_date: birth_date_from_national_id(national_id),
            name: None,
        }
    }
}

/// One signer of the job acting for the organisation in question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub signer_id: String,
    pub person: PersonClaim,
    /// Logged in: `person` comes from the identity provider.
    pub verified: bool,
    /// Has signed (with a verified identity).
    pub signed: bool,
}

/// How a participant was matched to a register person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchMethod {
    /// Equal national ids (the register answer carried them).
    NationalId,
    /// Equal birth dates and matching names, for a verified identity.
    BirthDateAndName,
    /// Equal birth dates only, for a signer who has not logged in yet: tentative, never
    /// enough to grant.
    BirthDateOnly,
}

impl MatchMethod {
    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            MatchMethod::NationalId => "national id",
            MatchMethod::BirthDateAndName => "birth date and name",
            MatchMethod::BirthDateOnly => "birth date only (tentative)",
        }
    }

    fn is_strong(self) -> bool {
        !matches!(self, MatchMethod::BirthDateOnly)
    }
}

/// A person in a Fullmakt combination. `Debug` never shows the national id.
#[derive(Clone, PartialEq, Eq)]
pub struct RegisterPerson {
    /// As the register writes it.
    pub name: String,
    pub birth_date: Option<Date>,
    /// From the authorised Fullmakt variant, or taken from the authorised roles answer (see
    /// the module documentation); never shown or returned.
    pub national_id: Option<String>,
    /// `DAGL`, `LEDE`, `MEDL`, `SIHV`, `POFE`, …
    pub role_code: String,
    pub role_text: Option<String>,
    tokens: Vec<String>,
}

impl std::fmt::Debug for RegisterPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterPerson")
            .field("name", &self.name)
            .field("birth_date", &self.birth_date)
            .field(
                "national_id",
                &self.national_id.as_ref().map(|_| "<redacted>"),
            )
            .field("role_code", &self.role_code)
            .field("role_text", &self.role_text)
            .finish()
    }
}

impl RegisterPerson {
    fn from_fullmakt(p: &FullmaktPerson) -> Self {
        let national_id = p
            .fodselsnummer
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        let birth_date = p
            .fodselsdato
            .as_deref()
            .and_then(model::parse_date)
            .or_else(|| national_id.as_deref().and_then(birth_date_from_national_id));
        let name = p.navn.as_deref().unwrap_or("").trim().to_string();
        let rolle = p.rolle.as_ref();
        RegisterPerson {
            tokens: name_tokens(&name),
            name,
            birth_date,
            national_id,
            role_code: rolle.map_or("", |r| r.code()).trim().to_string(),
            role_text: rolle.and_then(|r| r.text()).map(str::to_string),
        }
    }

    /// `Kari Nordmann (DAGL Daglig leder, born 1970-03-15)`.
    pub fn describe(&self) -> String {
        let mut s = if self.name.is_empty() {
            "(no name)".to_string()
        } else {
            self.name.clone()
        };
        s.push_str(" (");
        s.push_str(if self.role_code.is_empty() {
            "?"
        } else {
            &self.role_code
        });
        if let Some(t) = &self.role_text {
            s.push(' ');
            s.push_str(t);
        }
        if let Some(d) = self.birth_date {
            let _ = write!(s, ", born {}", iso_date(d));
        }
        s.push(')');
        s
    }

    /// Same person as `other` (for merging duplicates within one combination).
    fn same_person(&self, other: &RegisterPerson) -> bool {
        match (&self.national_id, &other.national_id) {
            (Some(a), Some(b)) => a == b,
            _ => {
                self.birth_date.is_some()
                    && self.birth_date == other.birth_date
                    && self.tokens == other.tokens
            }
        }
    }
}

/// A register person read from one Fullmakt person JSON object (for tests of callers).
#[cfg(test)]
pub(crate) fn register_person_from_json(v: &serde_json::Value) -> Option<RegisterPerson> {
    let p: FullmaktPerson = serde_json::from_value(v.clone()).ok()?;
    Some(RegisterPerson::from_fullmakt(&p))
}

/// One sufficient set of persons from a Fullmakt answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combination {
    pub basis: Basis,
    /// The combination's code (`R0012`, `STYR`, `SIFE`, …).
    pub code: Option<String>,
    /// Its text (`Styrets leder og ett styremedlem i fellesskap`).
    pub text: Option<String>,
    /// `kombinasjonsId`.
    pub id: Option<String>,
    /// Distinct persons: all of them together suffice.
    pub persons: Vec<RegisterPerson>,
}

impl Combination {
    /// One person suffices ("hver for seg").
    pub fn alone(&self) -> bool {
        self.persons.len() == 1
    }

    /// `signature right "Daglig leder alene" (R0001)`.
    pub fn describe(&self) -> String {
        let mut s = self.basis.label().to_string();
        match (&self.text, &self.code) {
            (Some(t), Some(c)) => {
                let _ = write!(s, " \"{t}\" ({c})");
            }
            (Some(t), None) => {
                let _ = write!(s, " \"{t}\"");
            }
            (None, Some(c)) => {
                let _ = write!(s, " combination {c}");
            }
            (None, None) => {}
        }
        s
    }
}

/// A participant standing for a register person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonMatch {
    pub signer_id: String,
    pub person: RegisterPerson,
    pub method: MatchMethod,
}

/// A register person the job has no signer for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleNeeded {
    pub role_code: String,
    pub role_text: Option<String>,
    pub name: String,
    pub birth_date: Option<Date>,
}

impl RoleNeeded {
    fn of(p: &RegisterPerson) -> Self {
        RoleNeeded {
            role_code: p.role_code.clone(),
            role_text: p.role_text.clone(),
            name: p.name.clone(),
            birth_date: p.birth_date,
        }
    }

    fn describe(&self) -> String {
        let mut s = format!("{} ({}", self.name, self.role_code);
        if let Some(t) = &self.role_text {
            let _ = write!(s, " {t}");
        }
        if let Some(d) = self.birth_date {
            let _ = write!(s, ", born {}", iso_date(d));
        }
        s.push(')');
        s
    }
}

/// A combination covered by signers, with who stood for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub combination: Combination,
    pub matches: Vec<PersonMatch>,
    pub alone: bool,
}

/// Whether one signer may sign for the organisation now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The subject, with co-signers who have already signed (verified), covers `combination`.
    Granted {
        combination: Combination,
        /// The subject's match first, then the co-signers'.
        matches: Vec<PersonMatch>,
        /// The subject may sign alone.
        alone: bool,
    },
    /// The subject is in `combination`, which the job's other signers for the organisation
    /// can complete once those in `pending` (signer ids) have signed.
    AwaitingCoSigners {
        combination: Combination,
        pending: Vec<String>,
    },
    /// The subject is only in joint combinations the job cannot complete: each option lists
    /// the register persons (roles) no signer of the job can be.
    MissingCoSigners {
        options: Vec<Vec<RoleNeeded>>,
    },
    NotGranted(Refusal),
}

/// Why a signer may not act for the organisation. Exhaustive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the organisation is not in Enhetsregisteret")]
    NotFound,
    #[error("the organisation has been deleted from Enhetsregisteret")]
    Deleted,
    #[error("the organisation is bankrupt")]
    Bankrupt,
    #[error("the organisation is under liquidation")]
    UnderLiquidation,
    #[error("the organisation is under forced dissolution")]
    ForcedDissolution,
    /// The register holds a rule it has not standardised: a person must read the free text.
    #[error("the registered {} rule is not standardised{}", .basis.label(), .free_text.as_ref().map(|t| format!(": \"{t}\"")).unwrap_or_default())]
    NonStandardRule {
        basis: Basis,
        free_text: Option<String>,
    },
    #[error("the register names the signer in no combination that may sign")]
    NoAuthority,
    #[error("the business register is unavailable: {0}")]
    RegisterUnavailable(String),
    #[error("the business register's answer cannot be used: {0}")]
    Malformed(String),
}

impl Refusal {
    /// Stable machine code (snake_case) for events.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotFound => "not_found",
            Refusal::Deleted => "deleted",
            Refusal::Bankrupt => "bankrupt",
            Refusal::UnderLiquidation => "under_liquidation",
            Refusal::ForcedDissolution => "forced_dissolution",
            Refusal::NonStandardRule { .. } => "non_standard_rule",
            Refusal::NoAuthority => "no_authority",
            Refusal::RegisterUnavailable(_) => "register_unavailable",
            Refusal::Malformed(_) => "malformed",
        }
    }

    /// A sentence in English for the evidence record.
    pub fn summary(&self) -> String {
        let mut s = String::from("Not granted: ");
        s.push_str(&self.to_string());
        s.push('.');
        s
    }

    /// Whether asking again later may give another answer (the register was unavailable).
    pub fn is_transient(&self) -> bool {
        matches!(self, Refusal::RegisterUnavailable(_))
    }

    /// Which refusal to report when several bases refuse: the one that says most.
    fn rank(&self) -> u8 {
        match self {
            Refusal::NotFound
            | Refusal::Deleted
            | Refusal::Bankrupt
            | Refusal::UnderLiquidation
            | Refusal::ForcedDissolution => 0,
            Refusal::RegisterUnavailable(_) => 1,
            Refusal::Malformed(_) => 2,
            Refusal::NonStandardRule { .. } => 3,
            Refusal::NoAuthority => 4,
        }
    }
}

impl Decision {
    /// Stable machine code (snake_case) for events: `granted`, `awaiting_co_signers`,
    /// `missing_co_signers`, or the refusal's code.
    pub fn code(&self) -> &'static str {
        match self {
            Decision::Granted { .. } => "granted",
            Decision::AwaitingCoSigners { .. } => "awaiting_co_signers",
            Decision::MissingCoSigners { .. } => "missing_co_signers",
            Decision::NotGranted(r) => r.code(),
        }
    }

    /// Whether the signer may sign now.
    pub fn is_granted(&self) -> bool {
        matches!(self, Decision::Granted { .. })
    }

    /// A sentence or two in English for the evidence record (register data only: names,
    /// birth dates, roles; never national ids).
    pub fn summary(&self) -> String {
        match self {
            Decision::Granted {
                combination,
                matches,
                alone,
            } => {
                let mut s = format!("Granted by {}: ", combination.describe());
                s.push_str(&describe_matches(matches));
                s.push_str(if *alone {
                    ". May sign alone."
                } else {
                    ". Signs jointly with those named."
                });
                s
            }
            Decision::AwaitingCoSigners {
                combination,
                pending,
            } => format!(
                "Awaiting co-signers for {}: {} of the job's signers must still sign ({}).",
                combination.describe(),
                pending.len(),
                pending.join(", ")
            ),
            Decision::MissingCoSigners { options } => {
                let mut s = String::from(
                    "Missing co-signers: the signer may only sign jointly, and the job has no \
                     signer for ",
                );
                let alts: Vec<String> = options
                    .iter()
                    .map(|o| {
                        o.iter()
                            .map(RoleNeeded::describe)
                            .collect::<Vec<_>>()
                            .join(" and ")
                    })
                    .collect();
                s.push_str(&alts.join("; or "));
                s.push('.');
                s
            }
            Decision::NotGranted(r) => r.summary(),
        }
    }
}

fn describe_matches(matches: &[PersonMatch]) -> String {
    matches
        .iter()
        .map(|m| {
            format!(
                "signer {} as {}, matched by {}",
                m.signer_id,
                m.person.describe(),
                m.method.label()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn iso_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

// ----- birth dates and names -------------------------------------------------------------

/// The birth date a Norwegian national id encodes: `DDMMYY` plus the century from the
/// individual number (digits 7–9): 000–499 → 1900s; 500–749 with YY ≥ 54 → 1800s; 500–999
/// with YY ≤ 39 → 2000s; 900–999 with YY ≥ 40 → 1900s; anything else is unassigned. D-numbers
/// add 40 to the day, H-numbers 40 to the month, synthetic test persons 80 to the month.
/// `None` for anything that is not a valid national id or does not give a real date.
pub fn birth_date_from_national_id(id: &str) -> Option<Date> {
    if !nin::is_valid_national_id(id) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> { id.get(r)?.parse().ok() };
    let mut day = num(0..2)?;
    let mut month = num(2..4)?;
    let yy = num(4..6)?;
    let individual = num(6..9)?;
    if day > 40 {
        day -= 40;
    }
    if (41..=52).contains(&month) {
        month -= 40;
    } else if (81..=92).contains(&month) {
        month -= 80;
    }
    let century = match (individual, yy) {
        (0..=499, _) => 1900,
        (500..=749, 54..=99) => 1800,
        (500..=999, 0..=39) => 2000,
        (900..=999, 40..=99) => 1900,
        _ => return None,
    };
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(
        century + i32::try_from(yy).ok()?,
        month,
        u8::try_from(day).ok()?,
    )
    .ok()
}

/// A name as comparable tokens (see the module documentation for the exact rule).
pub fn name_tokens(name: &str) -> Vec<String> {
    // "Nordmann, Kari" → "Kari Nordmann"
    let turned;
    let name = match name.split_once(',') {
        Some((family, given)) if !given.contains(',') && !given.trim().is_empty() => {
            turned = format!("{given} {family}");
            turned.as_str()
        }
        _ => name,
    };
    let mut tokens = Vec::new();
    let mut cur = String::new();
    for c in name.nfd() {
        if is_combining_mark(c) || matches!(c, '\'' | '’' | '‘' | '`' | 'ʼ' | '´') {
            continue;
        }
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                match l {
                    'ø' => cur.push('o'),
                    'æ' => cur.push_str("ae"),
                    'œ' => cur.push_str("oe"),
                    'ß' => cur.push_str("ss"),
                    'ł' => cur.push('l'),
                    'đ' | 'ð' => cur.push('d'),
                    'þ' => cur.push_str("th"),
                    'ı' => cur.push('i'),
                    other => cur.push(other),
                }
            }
        } else if !cur.is_empty() {
            tokens.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        tokens.push(cur);
    }
    tokens
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Whether two token lists name the same person: both at least two tokens, equal first and
/// last tokens, and the shorter list a subsequence of the longer.
pub fn names_match(a: &[String], b: &[String]) -> bool {
    if a.len() < 2 || b.len() < 2 || a.first() != b.first() || a.last() != b.last() {
        return false;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut rest = long.iter();
    short.iter().all(|t| rest.any(|u| u == t))
}

// ----- reading the facts -----------------------------------------------------------------

/// Whether a register person counts, after the cross-check with the roles answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Alive and in office: counts.
    Active,
    /// Resigned (`fratraadt`/`avregistrert`): never counts.
    Resigned,
    /// Deceased (`erDoed`): never counts.
    Deceased,
    /// Not found in the roles answer (or without a birth date to look for): does not count.
    NotInRoles,
}

/// How the register holds the rule of one basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleState {
    /// Combinations are given and the rule is standardised (or given by registered persons).
    Standard,
    /// The register holds a rule it has not standardised (`IK`/`RI` with a free text):
    /// only the combinations it lists (if any) can be checked.
    NonStandard,
    /// Nothing is registered for this basis.
    NoneRegistered,
}

/// A combination with the standing of each of its persons.
#[derive(Debug, Clone)]
pub(crate) struct Analysed {
    pub combination: Combination,
    pub standing: Vec<Standing>,
}

impl Analysed {
    /// Usable for decisions: it names persons and all of them count.
    pub fn usable(&self) -> bool {
        !self.combination.persons.is_empty() && self.standing.iter().all(|s| *s == Standing::Active)
    }
}

/// One Fullmakt answer read as combinations.
#[derive(Debug, Clone)]
pub(crate) struct Analysis {
    pub basis: Basis,
    pub state: RuleState,
    pub free_text: Option<String>,
    pub combos: Vec<Analysed>,
}

impl Analysis {
    fn not_in_any(&self) -> Refusal {
        match self.state {
            RuleState::NonStandard => Refusal::NonStandardRule {
                basis: self.basis,
                free_text: self.free_text.clone(),
            },
            RuleState::Standard | RuleState::NoneRegistered => Refusal::NoAuthority,
        }
    }
}

/// A person role from the roles answer, ready for comparison.
struct RoleHolder {
    birth_date: Option<Date>,
    /// Only from the authorised roles variant.
    national_id: Option<String>,
    tokens: Vec<String>,
    code: String,
    active: bool,
    deceased: bool,
}

fn role_holders(facts: &RegisterFacts) -> Vec<RoleHolder> {
    let mut out = Vec::new();
    for group in &facts.roles.parsed.rollegrupper {
        for role in &group.roller {
            let Some(p) = &role.person else { continue };
            let name = p
                .navn
                .as_ref()
                .map(model::PersonName::full)
                .unwrap_or_default();
            let national_id = p
                .fodselsnummer
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string);
            out.push(RoleHolder {
                birth_date: p
                    .fodselsdato
                    .as_deref()
                    .and_then(model::parse_date)
                    .or_else(|| national_id.as_deref().and_then(birth_date_from_national_id)),
                national_id,
                tokens: name_tokens(&name),
                code: role.code().trim().to_string(),
                active: role.is_active(),
                deceased: p.er_doed == Some(true),
            });
        }
    }
    out
}

/// Whether role holder `h` is Fullmakt person `p`: by national id when both carry one
/// (the authorised variants), else by birth date and name.
fn is_holder(p: &RegisterPerson, h: &RoleHolder) -> bool {
    match (&p.national_id, &h.national_id) {
        (Some(a), Some(b)) => a == b,
        _ => {
            p.birth_date.is_some()
                && h.birth_date == p.birth_date
                && names_match(&h.tokens, &p.tokens)
        }
    }
}

/// `p`'s standing in the roles answer. When `p` has no national id (the open Fullmakt
/// variant) and every role entry that is `p` carries the same one (the authorised roles
/// variant), `p` takes it, so a participant is then matched by national id.
fn standing(p: &mut RegisterPerson, holders: &[RoleHolder]) -> Standing {
    if p.birth_date.is_none() && p.national_id.is_none() {
        return Standing::NotInRoles;
    }
    let same: Vec<&RoleHolder> = holders.iter().filter(|h| is_holder(p, h)).collect();
    if same.is_empty() {
        return Standing::NotInRoles;
    }
    if p.national_id.is_none()
        && let Some(first) = same[0].national_id.as_ref()
        && same.iter().all(|h| h.national_id.as_ref() == Some(first))
    {
        p.national_id = Some(first.clone());
    }
    if same.iter().any(|h| h.deceased) {
        return Standing::Deceased;
    }
    let with_code: Vec<&&RoleHolder> = same.iter().filter(|h| h.code == p.role_code).collect();
    let active = if with_code.is_empty() {
        same.iter().any(|h| h.active)
    } else {
        with_code.iter().any(|h| h.active)
    };
    if active {
        Standing::Active
    } else {
        Standing::Resigned
    }
}

/// The unit's own refusals (consistency, deleted, bankrupt, forced dissolution, liquidation).
pub(crate) fn entity_refusal(facts: &RegisterFacts) -> Option<Refusal> {
    let e = &facts.entity.parsed;
    match e.organisasjonsnummer.as_deref().map(str::trim) {
        Some(n) if n == facts.orgnr => {}
        Some(_) => {
            return Some(Refusal::Malformed(
                "the entity answer describes another organisation".into(),
            ));
        }
        None => {
            return Some(Refusal::Malformed(
                "the entity answer names no organisation number".into(),
            ));
        }
    }
    if let Some(n) = facts.roles.parsed.organisasjonsnummer.as_deref()
        && n.trim() != facts.orgnr
    {
        return Some(Refusal::Malformed(
            "the roles answer describes another organisation".into(),
        ));
    }
    let fullmakt_units: Vec<&model::FullmaktEntity> = [&facts.signature, &facts.procuration]
        .into_iter()
        .flatten()
        .filter_map(|a| a.parsed.enhet.as_ref())
        .collect();
    for u in &fullmakt_units {
        if let Some(n) = u.organisasjonsnummer.as_deref()
            && n.trim() != facts.orgnr
        {
            return Some(Refusal::Malformed(
                "a Fullmakt answer describes another organisation".into(),
            ));
        }
    }
    if e.is_deleted() {
        return Some(Refusal::Deleted);
    }
    let any = |own: Option<bool>, pick: fn(&model::FullmaktEntity) -> Option<bool>| {
        own == Some(true) || fullmakt_units.iter().any(|u| pick(u) == Some(true))
    };
    if any(e.konkurs, |u| u.konkurs) {
        return Some(Refusal::Bankrupt);
    }
    if e.forced_dissolution() || any(None, |u| u.under_tvangsavvikling_eller_tvangsopplosning) {
        return Some(Refusal::ForcedDissolution);
    }
    if any(e.under_avvikling, |u| u.under_avvikling) {
        return Some(Refusal::UnderLiquidation);
    }
    None
}

/// Reads the Fullmakt answer for `basis` as combinations, cross-checked with the roles.
pub(crate) fn analyse(facts: &RegisterFacts, basis: Basis) -> Result<Analysis, Refusal> {
    let holders = role_holders(facts);
    analyse_with(facts, basis, &holders)
}

fn analyse_with(
    facts: &RegisterFacts,
    basis: Basis,
    holders: &[RoleHolder],
) -> Result<Analysis, Refusal> {
    let answer = match basis {
        Basis::Signature => &facts.signature,
        Basis::Procuration => &facts.procuration,
    };
    let Some(answer) = answer else {
        return Err(Refusal::RegisterUnavailable(format!(
            "the Fullmakt {} answer is not available",
            basis.as_str()
        )));
    };
    let f: &Fullmakt = &answer.parsed;
    match f.routine_status() {
        Some("OK") => {}
        Some(code) => {
            let text = f
                .status
                .as_ref()
                .and_then(|s| s.rutine_status.as_ref())
                .and_then(|s| s.tekstforklaring.as_deref())
                .unwrap_or("");
            return Err(Refusal::RegisterUnavailable(format!(
                "the Fullmakt {} lookup did not run (routine status {code} {text})",
                basis.as_str()
            )));
        }
        None => {
            return Err(Refusal::Malformed(format!(
                "the Fullmakt {} answer has no routine status",
                basis.as_str()
            )));
        }
    }
    let free_text = f.free_text().map(str::to_string);
    let registered = free_text.is_some()
        || f.signerings_grunnlag
            .as_ref()
            .and_then(|g| g.kode.as_deref())
            == Some("SF");
    let combinations_given = f.combination_status() == Some("OK");
    let state = if !combinations_given || f.rule_status() == Some("RI") {
        if registered {
            RuleState::NonStandard
        } else if combinations_given {
            RuleState::Standard
        } else {
            RuleState::NoneRegistered
        }
    } else {
        RuleState::Standard
    };
    let mut combos = Vec::new();
    if combinations_given {
        for k in f.combinations() {
            let mut persons: Vec<RegisterPerson> = Vec::new();
            for p in &k.person_rolle_kombinasjon {
                let rp = RegisterPerson::from_fullmakt(p);
                if !persons.iter().any(|q| q.same_person(&rp)) {
                    persons.push(rp);
                }
            }
            let standing = persons.iter_mut().map(|p| standing(p, holders)).collect();
            combos.push(Analysed {
                combination: Combination {
                    basis,
                    code: k.kode.clone(),
                    text: k.tekstforklaring.clone(),
                    id: k.kombinasjons_id.clone(),
                    persons,
                },
                standing,
            });
        }
    }
    Ok(Analysis {
        basis,
        state,
        free_text,
        combos,
    })
}

// ----- matching --------------------------------------------------------------------------

/// How `p` matches register person `r`, if at all (see the module documentation).
pub fn match_person(p: &Participant, r: &RegisterPerson) -> Option<MatchMethod> {
    if let (Some(a), Some(b)) = (&p.person.national_id, &r.national_id) {
        return (a == b).then_some(MatchMethod::NationalId);
    }
    let born = p.person.birth_date?;
    if r.birth_date != Some(born) {
        return None;
    }
    if p.verified {
        let name = p.person.name.as_deref()?;
        names_match(&name_tokens(name), &r.tokens).then_some(MatchMethod::BirthDateAndName)
    } else if r.national_id.is_none() {
        Some(MatchMethod::BirthDateOnly)
    } else {
        None
    }
}

/// A strong match, for a verified participant.
fn strong_match(p: &Participant, r: &RegisterPerson) -> Option<MatchMethod> {
    if !p.verified {
        return None;
    }
    match_person(p, r).filter(|m| m.is_strong())
}

/// Maximum bipartite matching (augmenting paths): `adj[l]` lists the right nodes left node
/// `l` may take. Returns, per left node, the right node it got.
fn max_matching(adj: &[Vec<usize>], n_right: usize) -> Vec<Option<usize>> {
    fn augment(
        l: usize,
        adj: &[Vec<usize>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        let Some(options) = adj.get(l) else {
            return false;
        };
        for &r in options {
            match seen.get_mut(r) {
                Some(s) if !*s => *s = true,
                _ => continue,
            }
            let current = owner.get(r).copied().flatten();
            let free = match current {
                None => true,
                Some(other) => augment(other, adj, seen, owner),
            };
            if free {
                if let Some(o) = owner.get_mut(r) {
                    *o = Some(l);
                }
                return true;
            }
        }
        false
    }
    let mut owner: Vec<Option<usize>> = vec![None; n_right];
    for l in 0..adj.len() {
        let mut seen = vec![false; n_right];
        augment(l, adj, &mut seen, &mut owner);
    }
    let mut out = vec![None; adj.len()];
    for (r, l) in owner.iter().enumerate() {
        if let Some(slot) = l.and_then(|l| out.get_mut(l)) {
            *slot = Some(r);
        }
    }
    out
}

/// What one combination gives the subject.
enum Outcome {
    Granted(Vec<PersonMatch>),
    Awaiting(Vec<String>),
    Missing(Vec<RegisterPerson>),
}

/// How the subject may match a register person: strongly when deciding, tentatively too when
/// planning which co-signers a job lacks.
type SubjectMatch = fn(&Participant, &RegisterPerson) -> Option<MatchMethod>;

/// Evaluates `combo` for `me` with co-signers `others`; `me_match` says how `me` may match.
fn evaluate(
    combo: &Combination,
    me: &Participant,
    others: &[&Participant],
    me_match: SubjectMatch,
) -> Option<Outcome> {
    let mut best: Option<Outcome> = None;
    for (i, person) in combo.persons.iter().enumerate() {
        let Some(my_method) = me_match(me, person) else {
            continue;
        };
        let rest: Vec<&RegisterPerson> = combo
            .persons
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| p)
            .collect();
        let mine = PersonMatch {
            signer_id: me.signer_id.clone(),
            person: person.clone(),
            method: my_method,
        };
        // Co-signers who have signed with a verified identity.
        let signed_adj: Vec<Vec<usize>> = rest
            .iter()
            .map(|p| {
                others
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| o.signed && strong_match(o, p).is_some())
                    .map(|(k, _)| k)
                    .collect()
            })
            .collect();
        let m = max_matching(&signed_adj, others.len());
        if m.iter().all(Option::is_some) {
            let mut matches = vec![mine];
            for (p, k) in rest.iter().zip(&m) {
                let Some(o) = k.and_then(|k| others.get(k)) else {
                    continue;
                };
                if let Some(method) = strong_match(o, p) {
                    matches.push(PersonMatch {
                        signer_id: o.signer_id.clone(),
                        person: (*p).clone(),
                        method,
                    });
                }
            }
            return Some(Outcome::Granted(matches));
        }
        // Adding co-signers who have not signed yet (tentative matches allowed); those
        // who have signed are listed first so the matching prefers them.
        let any_adj: Vec<Vec<usize>> = rest
            .iter()
            .map(|p| {
                let mut signed = Vec::new();
                let mut pending = Vec::new();
                for (k, o) in others.iter().enumerate() {
                    if o.signed {
                        if strong_match(o, p).is_some() {
                            signed.push(k);
                        }
                    } else if o.verified {
                        if strong_match(o, p).is_some() {
                            pending.push(k);
                        }
                    } else if match_person(o, p).is_some() {
                        pending.push(k);
                    }
                }
                signed.extend(pending);
                signed
            })
            .collect();
        let m = max_matching(&any_adj, others.len());
        let outcome = if m.iter().all(Option::is_some) {
            let pending: Vec<String> = m
                .iter()
                .flatten()
                .filter_map(|k| others.get(*k))
                .filter(|o| !o.signed)
                .map(|o| o.signer_id.clone())
                .collect();
            Outcome::Awaiting(pending)
        } else {
            Outcome::Missing(
                rest.iter()
                    .zip(&m)
                    .filter(|(_, k)| k.is_none())
                    .map(|(p, _)| (*p).clone())
                    .collect(),
            )
        };
        best = Some(match (best, outcome) {
            (None, o) => o,
            (Some(Outcome::Awaiting(a)), Outcome::Awaiting(b)) => {
                Outcome::Awaiting(if b.len() < a.len() { b } else { a })
            }
            (Some(Outcome::Missing(_)), o @ Outcome::Awaiting(_)) => o,
            (Some(Outcome::Missing(a)), Outcome::Missing(b)) => {
                Outcome::Missing(if b.len() < a.len() { b } else { a })
            }
            (Some(kept), _) => kept,
        });
    }
    best
}

/// The best candidate so far: its rank (lower is better), combination and details.
type Ranked<K, T> = Option<(K, Combination, T)>;

/// Picks the refusal that says most among several.
fn strongest(refusals: Vec<Refusal>) -> Refusal {
    refusals
        .into_iter()
        .min_by_key(Refusal::rank)
        .unwrap_or(Refusal::NoAuthority)
}

/// Whether signer `subject` may sign for the organisation `facts` describes, holding
/// `kind`, given the job's `participants` acting for that organisation (the subject included;
/// pass only signers who have signed or may still sign). See the module documentation.
pub fn decide(
    facts: &RegisterFacts,
    kind: AuthorityKind,
    participants: &[Participant],
    subject: &str,
) -> Decision {
    if facts.stale {
        return Decision::NotGranted(Refusal::RegisterUnavailable(
            "only a stale copy of the register answers is available".into(),
        ));
    }
    if let Some(r) = entity_refusal(facts) {
        return Decision::NotGranted(r);
    }
    let Some(me) = participants
        .iter()
        .find(|p| p.signer_id == subject && p.verified)
    else {
        return Decision::NotGranted(Refusal::NoAuthority);
    };
    let others: Vec<&Participant> = participants
        .iter()
        .filter(|p| p.signer_id != subject)
        .collect();
    let holders = role_holders(facts);
    let mut refusals = Vec::new();
    // (persons, basis order, index) for granted; (pending, persons, …) for awaiting.
    let mut granted: Ranked<(usize, usize), Vec<PersonMatch>> = None;
    let mut awaiting: Ranked<(usize, usize, usize), Vec<String>> = None;
    let mut missing: Vec<Vec<RoleNeeded>> = Vec::new();
    for (order, basis) in kind.bases().iter().enumerate() {
        let analysis = match analyse_with(facts, *basis, &holders) {
            Ok(a) => a,
            Err(r) => {
                refusals.push(r);
                continue;
            }
        };
        let mut found = false;
        for a in analysis.combos.iter().filter(|a| a.usable()) {
            let c = &a.combination;
            let Some(outcome) = evaluate(c, me, &others, strong_match) else {
                continue;
            };
            found = true;
            match outcome {
                Outcome::Granted(matches) => {
                    let key = (c.persons.len(), order);
                    if granted.as_ref().is_none_or(|(k, ..)| key < *k) {
                        granted = Some((key, c.clone(), matches));
                    }
                }
                Outcome::Awaiting(pending) => {
                    let key = (pending.len(), c.persons.len(), order);
                    if awaiting.as_ref().is_none_or(|(k, ..)| key < *k) {
                        awaiting = Some((key, c.clone(), pending));
                    }
                }
                Outcome::Missing(needed) => {
                    let needed: Vec<RoleNeeded> = needed.iter().map(RoleNeeded::of).collect();
                    if !missing.contains(&needed) {
                        missing.push(needed);
                    }
                }
            }
        }
        if !found {
            refusals.push(analysis.not_in_any());
        }
    }
    if let Some((_, combination, matches)) = granted {
        let alone = combination.alone();
        return Decision::Granted {
            combination,
            matches,
            alone,
        };
    }
    if let Some((_, combination, pending)) = awaiting {
        return Decision::AwaitingCoSigners {
            combination,
            pending,
        };
    }
    if !missing.is_empty() {
        missing.sort_by_key(Vec::len);
        return Decision::MissingCoSigners { options: missing };
    }
    Decision::NotGranted(strongest(refusals))
}

/// What adding co-signers could do for a company signer, as the sender sees it (the signer
/// need not have logged in: the subject may match a register person tentatively, by the birth
/// date of the national id the sender designated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// The job's signers can already complete a combination with the subject.
    Complete { combination: Combination },
    /// The subject is only in joint combinations the job cannot complete. Each option is the
    /// register persons one combination still needs, in the order of
    /// [`Decision::MissingCoSigners`]: fewest persons first.
    Missing { options: Vec<Vec<RegisterPerson>> },
}

/// Which register persons the job lacks for signer `subject` to sign for the organisation
/// (see [`Completion`]); the same reading of the facts as [`decide`], refusing the same way
/// when the unit or the register rules out any combination with the subject.
pub fn plan_completion(
    facts: &RegisterFacts,
    kind: AuthorityKind,
    participants: &[Participant],
    subject: &str,
) -> Result<Completion, Refusal> {
    if facts.stale {
        return Err(Refusal::RegisterUnavailable(
            "only a stale copy of the register answers is available".into(),
        ));
    }
    if let Some(r) = entity_refusal(facts) {
        return Err(r);
    }
    let Some(me) = participants.iter().find(|p| p.signer_id == subject) else {
        return Err(Refusal::NoAuthority);
    };
    let others: Vec<&Participant> = participants
        .iter()
        .filter(|p| p.signer_id != subject)
        .collect();
    let holders = role_holders(facts);
    let mut refusals = Vec::new();
    let mut complete: Option<((usize, usize), Combination)> = None;
    let mut missing: Vec<Vec<RegisterPerson>> = Vec::new();
    for (order, basis) in kind.bases().iter().enumerate() {
        let analysis = match analyse_with(facts, *basis, &holders) {
            Ok(a) => a,
            Err(r) => {
                refusals.push(r);
                continue;
            }
        };
        let mut found = false;
        for a in analysis.combos.iter().filter(|a| a.usable()) {
            let c = &a.combination;
            let Some(outcome) = evaluate(c, me, &others, match_person) else {
                continue;
            };
            found = true;
            match outcome {
                Outcome::Granted(_) | Outcome::Awaiting(_) => {
                    let key = (c.persons.len(), order);
                    if complete.as_ref().is_none_or(|(k, _)| key < *k) {
                        complete = Some((key, c.clone()));
                    }
                }
                Outcome::Missing(needed) => {
                    if !missing.contains(&needed) {
                        missing.push(needed);
                    }
                }
            }
        }
        if !found {
            refusals.push(analysis.not_in_any());
        }
    }
    if let Some((_, combination)) = complete {
        return Ok(Completion::Complete { combination });
    }
    if !missing.is_empty() {
        missing.sort_by_key(Vec::len);
        return Ok(Completion::Missing { options: missing });
    }
    Err(strongest(refusals))
}

/// At job completion: whether the participants who have signed with a verified identity
/// cover some combination for `kind` (the smallest, signature before procuration).
pub fn completion_satisfied(
    facts: &RegisterFacts,
    kind: AuthorityKind,
    participants: &[Participant],
) -> Result<Coverage, Refusal> {
    if facts.stale {
        return Err(Refusal::RegisterUnavailable(
            "only a stale copy of the register answers is available".into(),
        ));
    }
    if let Some(r) = entity_refusal(facts) {
        return Err(r);
    }
    let signed: Vec<&Participant> = participants
        .iter()
        .filter(|p| p.signed && p.verified)
        .collect();
    let holders = role_holders(facts);
    let mut refusals = Vec::new();
    let mut best: Option<((usize, usize), Coverage)> = None;
    for (order, basis) in kind.bases().iter().enumerate() {
        let analysis = match analyse_with(facts, *basis, &holders) {
            Ok(a) => a,
            Err(r) => {
                refusals.push(r);
                continue;
            }
        };
        let mut found = false;
        for a in analysis.combos.iter().filter(|a| a.usable()) {
            let c = &a.combination;
            let adj: Vec<Vec<usize>> = c
                .persons
                .iter()
                .map(|p| {
                    signed
                        .iter()
                        .enumerate()
                        .filter(|(_, o)| strong_match(o, p).is_some())
                        .map(|(k, _)| k)
                        .collect()
                })
                .collect();
            let m = max_matching(&adj, signed.len());
            if !m.iter().all(Option::is_some) {
                continue;
            }
            found = true;
            let matches: Vec<PersonMatch> = c
                .persons
                .iter()
                .zip(&m)
                .filter_map(|(p, k)| {
                    let o = signed.get((*k)?)?;
                    Some(PersonMatch {
                        signer_id: o.signer_id.clone(),
                        person: p.clone(),
                        method: strong_match(o, p)?,
                    })
                })
                .collect();
            let key = (c.persons.len(), order);
            if best.as_ref().is_none_or(|(k, _)| key < *k) {
                best = Some((
                    key,
                    Coverage {
                        alone: c.alone(),
                        combination: c.clone(),
                        matches,
                    },
                ));
            }
        }
        if !found {
            refusals.push(analysis.not_in_any());
        }
    }
    match best {
        Some((_, coverage)) => Ok(coverage),
        None => Err(strongest(refusals)),
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
