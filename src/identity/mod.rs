//! Signer authentication, and the gateway's own identity towards national services.
//!
//! Owns: the identity providers that authenticate signers (`oidc` for ID-porten, `saml` for
//! eIDAS nodes, `dev` for development), the gateway's client credentials (`client_key`) and
//! its machine-to-machine tokens (`maskinporten`), and the one value the providers produce,
//! [`VerifiedIdentity`], plus the rules that say which provider a designated signer goes to
//! ([`route`]) and whether a verified identity *is* that designated signer.
//! Must not: decide whether a person may sign a job (that is `jobs`), or render pages (`http`).

pub mod client_key;
pub mod dev;
pub mod maskinporten;
pub mod nin;
pub mod oidc;
pub mod saml;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::jobs::model::{Loa, SignerIdentifier};

/// Which kind of identity provider vouched for the signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdpKind {
    /// The development identity provider (profile `dev` only).
    Dev,
    Idporten,
    Eidas,
}

impl IdpKind {
    pub fn label(self) -> &'static str {
        match self {
            IdpKind::Dev => "signgate development IdP",
            IdpKind::Idporten => "ID-porten",
            IdpKind::Eidas => "eIDAS node",
        }
    }
}

/// A signer identity established by an identity provider, with the evidence of the login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedIdentity {
    pub idp: IdpKind,
    /// Issuer / entity id of the identity provider.
    pub issuer: String,
    pub national_id: Option<String>,
    pub eidas_id: Option<String>,
    pub name: String,
    pub date_of_birth: Option<String>,
    pub loa: Loa,
    #[serde(with = "time::serde::rfc3339")]
    pub auth_time: OffsetDateTime,
    /// Raw login evidence (id_token or SAML assertion) when the provider gives one.
    pub evidence: Option<String>,
}

impl VerifiedIdentity {
    /// Whether this person is the designated signer. National ids compare exactly; eIDAS
    /// identifiers compare by issuing country and identifier (the receiving-country part of
    /// `CC/CC/identifier` names us, not the person); a register person by the rule the
    /// authority decision uses: the same birth date (the provider's, else the national id's)
    /// and matching names (`authority::names_match`). A login without a name or a birth date
    /// never matches a register person (fail closed).
    pub fn matches(&self, designated: &SignerIdentifier) -> bool {
        match designated {
            SignerIdentifier::RegisterPerson(want) => {
                let have = crate::authority::PersonClaim::from_identity(self);
                let Some(name) = have.name.as_deref() else {
                    return false;
                };
                have.birth_date == Some(want.birth_date)
                    && crate::authority::names_match(
                        &crate::authority::name_tokens(name),
                        &crate::authority::name_tokens(&want.name),
                    )
            }
            SignerIdentifier::NationalId(want) => self
                .national_id
                .as_deref()
                .is_some_and(|have| constant_time_eq(have.as_bytes(), want.as_bytes())),
            SignerIdentifier::EidasId(want) => {
                let Some(have) = self.eidas_id.as_deref() else {
                    return false;
                };
                match (split_eidas_id(have), split_eidas_id(want)) {
                    (Some((hc, _, hid)), Some((wc, _, wid))) => {
                        hc.eq_ignore_ascii_case(wc) && hid == wid
                    }
                    _ => false,
                }
            }
        }
    }

    /// The identifier to print in evidence and on the signature page.
    pub fn display_identifier(&self) -> String {
        match (&self.national_id, &self.eidas_id) {
            (Some(n), _) => SignerIdentifier::NationalId(n.clone()).masked(),
            (None, Some(e)) => e.clone(),
            (None, None) => "-".into(),
        }
    }
}

/// Where a login starts: the browser is sent to `url` (GET), or posts `fields` to `action`
/// (an auto-submitting form, e.g. the SAML HTTP-POST binding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStart {
    Redirect(String),
    Post {
        action: String,
        fields: Vec<(String, String)>,
    },
}

/// The identity provider a designated signer logs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// ID-porten with Norwegian eIDs.
    Idporten,
    /// ID-porten's eIDAS login (`acr_values` `eidas-loa-*`).
    IdportenEidas,
    /// An eIDAS node over SAML.
    EidasNode,
    /// The development IdP (profile `dev`, only for providers that are not configured).
    Dev,
}

/// Why a login did not produce an identity, as the signer is told (the page keys of
/// `http::i18n`); the detailed reason goes to the log, never to the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserReason {
    /// The signer cancelled or refused at the identity provider.
    Cancelled,
    /// The eID used is below the level of assurance the job requires.
    LoaTooLow,
    /// The login took too long or the browser session was lost; start again.
    Expired,
    /// The identity provider cannot be reached or answered with an error.
    ProviderUnavailable,
    /// The answer failed a security check (signature, audience, replay, …).
    Rejected,
}

/// Which providers this gateway has configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Available {
    pub idporten: bool,
    /// `[idporten] eidas_login = true`.
    pub idporten_eidas: bool,
    pub eidas_node: bool,
    pub dev: bool,
}

/// The identity providers this process runs with.
#[derive(Default)]
pub struct Providers {
    /// ID-porten, when `[idporten]` is configured.
    pub oidc: Option<std::sync::Arc<oidc::OidcProvider>>,
    /// `[idporten] eidas_login`: eIDAS signers log in through ID-porten.
    pub idporten_eidas: bool,
    /// An eIDAS node, when `[eidas]` is configured.
    pub saml: Option<std::sync::Arc<saml::SamlSp>>,
    /// The development IdP (profile `dev` with `dev_idp.enabled`).
    pub dev: bool,
}

impl Providers {
    pub fn available(&self) -> Available {
        Available {
            idporten: self.oidc.is_some(),
            idporten_eidas: self.oidc.is_some() && self.idporten_eidas,
            eidas_node: self.saml.is_some(),
            dev: self.dev,
        }
    }
}

/// The job's signer identifier decides the route: `national_id` → ID-porten (or the dev IdP
/// when ID-porten is not configured); `eidas_id` → ID-porten's eIDAS login when configured so,
/// else the eIDAS node, else the dev IdP; a register person (a holder of signing authority in
/// a Norwegian register) → ID-porten, else the dev IdP. `None`: no provider can serve this
/// signer (fail closed).
pub fn route(designated: &SignerIdentifier, a: Available) -> Option<Route> {
    match designated {
        SignerIdentifier::NationalId(_) | SignerIdentifier::RegisterPerson(_) if a.idporten => {
            Some(Route::Idporten)
        }
        SignerIdentifier::EidasId(_) if a.idporten && a.idporten_eidas => {
            Some(Route::IdportenEidas)
        }
        SignerIdentifier::EidasId(_) if a.eidas_node => Some(Route::EidasNode),
        _ if a.dev => Some(Route::Dev),
        _ => None,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// `CC/CC/identifier` → (issuing country, receiving country, identifier).
pub fn split_eidas_id(s: &str) -> Option<(&str, &str, &str)> {
    let mut it = s.splitn(3, '/');
    let a = it.next()?;
    let b = it.next()?;
    let id = it.next()?;
    let cc = |c: &str| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic());
    (cc(a) && cc(b) && !id.is_empty()).then_some((a, b, id))
}

/// Syntax check for an eIDAS PersonIdentifier: `CC/CC/identifier`, at most 256 characters,
/// no control characters or whitespace.
pub fn is_plausible_eidas_id(s: &str) -> bool {
    s.len() <= 256
        && !s.chars().any(|c| c.is_control() || c.is_whitespace())
        && split_eidas_id(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(nid: Option<&str>, eid: Option<&str>) -> VerifiedIdentity {
        VerifiedIdentity {
            idp: IdpKind::Dev,
            issuer: "x".into(),
            national_id: nid.map(Into::into),
            eidas_id: eid.map(Into::into),
            name: "n".into(),
            date_of_birth: None,
            loa: Loa::High,
            auth_time: OffsetDateTime::UNIX_EPOCH,
            evidence: None,
        }
    }

    #[test]
    fn routes() {
        let n = SignerIdentifier::NationalId("13097248022".into());
        let e = SignerIdentifier::EidasId("SE/NO/199001011234".into());
        let none = Available::default();
        assert_eq!(route(&n, none), None);
        let dev = Available { dev: true, ..none };
        assert_eq!(route(&n, dev), Some(Route::Dev));
        assert_eq!(route(&e, dev), Some(Route::Dev));
        let op = Available {
            idporten: true,
            dev: true,
            ..none
        };
        assert_eq!(route(&n, op), Some(Route::Idporten));
        assert_eq!(route(&e, op), Some(Route::Dev));
        let all = Available {
            idporten: true,
            idporten_eidas: false,
            eidas_node: true,
            dev: false,
        };
        assert_eq!(route(&e, all), Some(Route::EidasNode));
        let via_op = Available {
            idporten_eidas: true,
            ..all
        };
        assert_eq!(route(&e, via_op), Some(Route::IdportenEidas));
        let saml_only = Available {
            eidas_node: true,
            ..none
        };
        assert_eq!(route(&n, saml_only), None);
    }

    #[test]
    fn register_persons_match_by_birth_date_and_name_and_never_without_a_name() {
        use crate::jobs::model::RegisterPersonId;
        let ola = SignerIdentifier::RegisterPerson(RegisterPersonId {
            birth_date: time::macros::date!(1958 - 09 - 30),
            name: "Ola Berg".into(),
        });
        // 30895810130: a synthetic national id born 1958-09-30.
        let mut who = ident(Some("30895810130"), None);
        who.name = "Ola Berg".into();
        assert!(who.matches(&ola));
        who.name = "Berg, Ola Johan".into();
        assert!(who.matches(&ola), "middle names may be added on one side");
        who.name = "Ole Berg".into();
        assert!(!who.matches(&ola));
        who.name = "  ".into();
        assert!(!who.matches(&ola), "no name: fail closed");
        let mut other_day = ident(Some("13097248022"), None);
        other_day.name = "Ola Berg".into();
        assert!(!other_day.matches(&ola));
        // An eIDAS login with the provider's birth date.
        let mut eidas = ident(None, Some("SE/NO/1958"));
        eidas.name = "Ola Berg".into();
        assert!(!eidas.matches(&ola), "no birth date at all");
        eidas.date_of_birth = Some("1958-09-30".into());
        assert!(eidas.matches(&ola));
        let a = Available {
            dev: true,
            ..Available::default()
        };
        assert_eq!(route(&ola, a), Some(Route::Dev));
        let op = Available {
            idporten: true,
            ..a
        };
        assert_eq!(route(&ola, op), Some(Route::Idporten));
    }

    #[test]
    fn matching() {
        let n = SignerIdentifier::NationalId("13097248022".into());
        assert!(ident(Some("13097248022"), None).matches(&n));
        assert!(!ident(Some("13097248023"), None).matches(&n));
        assert!(!ident(None, Some("NO/NO/13097248022")).matches(&n));
        let e = SignerIdentifier::EidasId("SE/NO/199001011234".into());
        assert!(ident(None, Some("SE/NO/199001011234")).matches(&e));
        assert!(ident(None, Some("se/DE/199001011234")).matches(&e));
        assert!(!ident(None, Some("DK/NO/199001011234")).matches(&e));
        assert!(!ident(None, Some("SE/NO/199001011235")).matches(&e));
        assert!(!is_plausible_eidas_id("SE/NO/"));
        assert!(!is_plausible_eidas_id("SWE/NO/1"));
        assert!(is_plausible_eidas_id("ES/NO/12345678Z"));
    }
}
