//! Who can sign for an organisation, as a public answer (for a future
//! `GET /api/v1/authority/{orgnr}`): the unit's status, each basis's rule (free text and
//! combinations, alone or jointly) and, per person, name, birth date, role and whether they
//! count after the cross-check with the roles answer.
//!
//! Owns: [`Preview`] and building it from [`RegisterFacts`] (pure). Must not: fetch, decide for
//! a signer, or return national ids (the authorised Fullmakt variant's `fodselsnummer` never
//! leaves `rules`): names and birth dates are public register data and are shown.

use serde::Serialize;
use utoipa::ToSchema;

use super::facts::RegisterFacts;
use super::rules::{self, Basis, Refusal, RuleState, Standing};

/// The unit's status as the register shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntityStatus {
    Active,
    Bankrupt,
    UnderLiquidation,
    ForcedDissolution,
    Deleted,
    /// The answers contradict each other (e.g. describe different units).
    Inconsistent,
}

/// Who can sign for an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Preview {
    /// 9 digits.
    pub orgnr: String,
    pub name: Option<String>,
    /// Organisation form code (`AS`, `ENK`, …).
    pub organisation_form: Option<String>,
    pub status: EntityStatus,
    /// Signature right (`signatur`), when read.
    pub signature: Option<RulePreview>,
    /// Procuration (`prokura`), when read.
    pub procuration: Option<RulePreview>,
    /// When the oldest answer was retrieved (RFC 3339).
    pub retrieved_at: String,
    /// Some answer is an older copy kept because the register did not answer now.
    pub stale: bool,
}

/// One basis (signature right or procuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RulePreview {
    pub basis: Basis,
    /// `standard`, `non_standard` (read the free text), `none_registered`; absent when the
    /// answer could not be used (see `problem`).
    pub state: Option<RuleState>,
    /// The registered rule in words (`signaturProkuraFritekst`).
    pub free_text: Option<String>,
    pub combinations: Vec<CombinationPreview>,
    /// Why the answer could not be used, if so.
    pub problem: Option<String>,
}

/// One sufficient set of persons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CombinationPreview {
    pub code: Option<String>,
    pub text: Option<String>,
    /// `alone` (one person) or `jointly` (all persons together).
    pub mode: Mode,
    /// Every person counts (none resigned, deceased or missing from the roles answer).
    pub usable: bool,
    pub persons: Vec<PersonPreview>,
}

/// Alone or jointly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Alone,
    Jointly,
}

/// A person in a combination (public register data only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PersonPreview {
    pub name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub role_code: String,
    pub role_text: Option<String>,
    pub standing: Standing,
}

impl Preview {
    /// The preview of `facts` (stale facts give a preview marked `stale`).
    pub fn from_facts(facts: &RegisterFacts) -> Self {
        let e = &facts.entity.parsed;
        let status = match rules::entity_refusal(facts) {
            None => EntityStatus::Active,
            Some(Refusal::Deleted) => EntityStatus::Deleted,
            Some(Refusal::Bankrupt) => EntityStatus::Bankrupt,
            Some(Refusal::UnderLiquidation) => EntityStatus::UnderLiquidation,
            Some(Refusal::ForcedDissolution) => EntityStatus::ForcedDissolution,
            Some(_) => EntityStatus::Inconsistent,
        };
        let rule = |basis: Basis, present: bool| -> Option<RulePreview> {
            if !present {
                return None;
            }
            Some(match rules::analyse(facts, basis) {
                Ok(a) => RulePreview {
                    basis,
                    state: Some(a.state),
                    free_text: a.free_text.clone(),
                    combinations: a
                        .combos
                        .iter()
                        .map(|c| CombinationPreview {
                            code: c.combination.code.clone(),
                            text: c.combination.text.clone(),
                            mode: if c.combination.alone() {
                                Mode::Alone
                            } else {
                                Mode::Jointly
                            },
                            usable: c.usable(),
                            persons: c
                                .combination
                                .persons
                                .iter()
                                .zip(&c.standing)
                                .map(|(p, s)| PersonPreview {
                                    name: p.name.clone(),
                                    birth_date: p.birth_date.map(|d| {
                                        format!(
                                            "{:04}-{:02}-{:02}",
                                            d.year(),
                                            u8::from(d.month()),
                                            d.day()
                                        )
                                    }),
                                    role_code: p.role_code.clone(),
                                    role_text: p.role_text.clone(),
                                    standing: *s,
                                })
                                .collect(),
                        })
                        .collect(),
                    problem: None,
                },
                Err(r) => RulePreview {
                    basis,
                    state: None,
                    free_text: None,
                    combinations: Vec::new(),
                    problem: Some(r.to_string()),
                },
            })
        };
        Preview {
            orgnr: facts.orgnr.clone(),
            name: e.navn.clone(),
            organisation_form: e.organisasjonsform.as_ref().and_then(|f| f.kode.clone()),
            status,
            signature: rule(Basis::Signature, facts.signature.is_some()),
            procuration: rule(Basis::Procuration, facts.procuration.is_some()),
            retrieved_at: facts
                .retrieved_at()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            stale: facts.stale,
        }
    }
}
