//! The JSON the Brønnøysund registers answer with, read leniently: the Enhetsregisteret entity
//! (`/enheter/{orgnr}`), its roles (`/enheter/{orgnr}/roller`) and the Fullmakt service's
//! signature and procuration answers (`/fullmakt/enheter/{orgnr}/signatur` and `/prokura`).
//!
//! Owns: the serde shapes and the lenient readers (unknown fields ignored, optional fields may
//! be absent or `null`, flags given as booleans or as the strings `"true"`/`"false"`, lists given
//! as one object or an array, dates as `YYYY-MM-DD` or `DD.MM.YYYY`). Malformed JSON is a
//! [`serde_json::Error`], never a panic. Must not: decide anything (that is `rules`) or fetch.
//!
//! Field names follow the registers (Norwegian); the Rust names are their snake_case forms.

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer};
use time::Date;

/// Reads one register answer, which must be a JSON object.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(de::Error::custom("the answer is not a JSON object"));
    }
    serde_json::from_slice(body)
}

/// A code with its description (`kode` + `beskrivelse` in Enhetsregisteret, `kode` +
/// `tekstforklaring` in Fullmakt).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Code {
    #[serde(deserialize_with = "opt_string")]
    pub kode: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub beskrivelse: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub tekstforklaring: Option<String>,
}

impl Code {
    /// The code, or `""`.
    pub fn code(&self) -> &str {
        self.kode.as_deref().unwrap_or("")
    }

    /// The description in whichever field the register used.
    pub fn text(&self) -> Option<&str> {
        self.beskrivelse
            .as_deref()
            .or(self.tekstforklaring.as_deref())
    }
}

/// `GET {enhetsregisteret}/enheter/{orgnr}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Entity {
    #[serde(deserialize_with = "opt_string")]
    pub organisasjonsnummer: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub navn: Option<String>,
    #[serde(deserialize_with = "opt_struct")]
    pub organisasjonsform: Option<Code>,
    #[serde(deserialize_with = "flag")]
    pub konkurs: Option<bool>,
    #[serde(deserialize_with = "flag")]
    pub under_avvikling: Option<bool>,
    #[serde(deserialize_with = "flag")]
    pub under_tvangsavvikling_eller_tvangsopplosning: Option<bool>,
    #[serde(deserialize_with = "opt_string")]
    pub slettedato: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub konkursdato: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub under_avvikling_dato: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub tvangsopplost_pga_manglende_daglig_leder_dato: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub tvangsopplost_pga_manglende_revisor_dato: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub tvangsopplost_pga_manglende_regnskap_dato: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub tvangsopplost_pga_mangelfullt_styre_dato: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub tvangsavviklet_pga_manglende_sletting_dato: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub registreringsdato_enhetsregisteret: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub stiftelsesdato: Option<String>,
    /// `"Enhet"`, or `"SlettetEnhet"` for a deleted unit.
    #[serde(rename = "respons_klasse", deserialize_with = "opt_string")]
    pub respons_klasse: Option<String>,
}

impl Entity {
    /// Whether the register shows the unit as deleted (`slettedato` or `SlettetEnhet`).
    pub fn is_deleted(&self) -> bool {
        self.slettedato.is_some() || self.respons_klasse.as_deref() == Some("SlettetEnhet")
    }

    /// Whether a forced dissolution is under way or has been decided (the flag, or any of the
    /// `tvangsopplost…`/`tvangsavviklet…` dates).
    pub fn forced_dissolution(&self) -> bool {
        self.under_tvangsavvikling_eller_tvangsopplosning == Some(true)
            || [
                &self.tvangsopplost_pga_manglende_daglig_leder_dato,
                &self.tvangsopplost_pga_manglende_revisor_dato,
                &self.tvangsopplost_pga_manglende_regnskap_dato,
                &self.tvangsopplost_pga_mangelfullt_styre_dato,
                &self.tvangsavviklet_pga_manglende_sletting_dato,
            ]
            .iter()
            .any(|d| d.is_some())
    }
}

/// `GET {enhetsregisteret}/enheter/{orgnr}/roller`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Roles {
    #[serde(deserialize_with = "opt_string")]
    pub organisasjonsnummer: Option<String>,
    #[serde(deserialize_with = "seq")]
    pub rollegrupper: Vec<RoleGroup>,
}

/// One role group (`DAGL`, `STYR`, `REVI`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleGroup {
    #[serde(rename = "type", deserialize_with = "opt_struct")]
    pub kind: Option<Code>,
    #[serde(deserialize_with = "opt_string")]
    pub sist_endret: Option<String>,
    /// An array in the real API; a single object is accepted too.
    #[serde(deserialize_with = "seq")]
    pub roller: Vec<Role>,
}

/// One role held by a person or a unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Role {
    #[serde(rename = "type", deserialize_with = "opt_struct")]
    pub kind: Option<Code>,
    #[serde(deserialize_with = "opt_struct")]
    pub person: Option<RolePerson>,
    #[serde(deserialize_with = "opt_struct")]
    pub enhet: Option<RoleUnit>,
    /// Resigned. Being phased out by the register in favour of `avregistrert`; either may be
    /// absent.
    #[serde(deserialize_with = "flag")]
    pub fratraadt: Option<bool>,
    #[serde(deserialize_with = "flag")]
    pub avregistrert: Option<bool>,
    pub rekkefolge: Option<serde_json::Value>,
}

impl Role {
    /// A role is active only if neither `fratraadt` nor `avregistrert` is true.
    pub fn is_active(&self) -> bool {
        self.fratraadt != Some(true) && self.avregistrert != Some(true)
    }

    /// The role code (`DAGL`, `LEDE`, …), or `""`.
    pub fn code(&self) -> &str {
        self.kind.as_ref().map_or("", Code::code)
    }
}

/// A person holding a role: birth date and name in the open API, plus `fodselsnummer` in the
/// authorised one (`/autorisert-api/…/roller`). `Debug` never shows the national id.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RolePerson {
    #[serde(deserialize_with = "opt_string")]
    pub fodselsdato: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub fodselsnummer: Option<String>,
    #[serde(deserialize_with = "opt_struct")]
    pub navn: Option<PersonName>,
    #[serde(deserialize_with = "flag")]
    pub er_doed: Option<bool>,
}

impl std::fmt::Debug for RolePerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RolePerson")
            .field("fodselsdato", &self.fodselsdato)
            .field(
                "fodselsnummer",
                &self.fodselsnummer.as_ref().map(|_| "<redacted>"),
            )
            .field("navn", &self.navn)
            .field("er_doed", &self.er_doed)
            .finish()
    }
}

/// A name in parts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PersonName {
    #[serde(deserialize_with = "opt_string")]
    pub fornavn: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub mellomnavn: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub etternavn: Option<String>,
}

impl PersonName {
    /// `fornavn mellomnavn etternavn`, the parts present.
    pub fn full(&self) -> String {
        [&self.fornavn, &self.mellomnavn, &self.etternavn]
            .iter()
            .filter_map(|p| p.as_deref())
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A unit holding a role (an auditor, a company on a board).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleUnit {
    #[serde(deserialize_with = "opt_string")]
    pub organisasjonsnummer: Option<String>,
    #[serde(deserialize_with = "seq")]
    pub navn: Vec<String>,
    #[serde(deserialize_with = "flag")]
    pub er_slettet: Option<bool>,
}

/// `GET {fullmakt}/enheter/{orgnr}/signatur` or `/prokura` (both variants: with `fodselsnummer`
/// in the authorised one, `fodselsdato` only in the open one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Fullmakt {
    #[serde(deserialize_with = "opt_struct")]
    pub status: Option<FullmaktStatus>,
    #[serde(deserialize_with = "opt_struct")]
    pub enhet: Option<FullmaktEntity>,
    #[serde(deserialize_with = "opt_struct")]
    pub signerings_grunnlag: Option<SigningBasis>,
    #[serde(deserialize_with = "opt_struct")]
    pub signerings_kombinasjon: Option<Combinations>,
}

impl Fullmakt {
    /// The registered free text (`signaturProkuraFritekst`), trimmed, if not empty.
    pub fn free_text(&self) -> Option<&str> {
        self.signerings_grunnlag
            .as_ref()?
            .signatur_prokura_roller
            .as_ref()?
            .signatur_prokura_fritekst
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// The combinations the service computed (empty when none).
    pub fn combinations(&self) -> &[Combination] {
        self.signerings_kombinasjon
            .as_ref()
            .map_or(&[], |k| k.kombinasjon.as_slice())
    }

    fn status_code(&self, pick: fn(&FullmaktStatus) -> &Option<StatusCode>) -> Option<&str> {
        self.status
            .as_ref()
            .and_then(|s| pick(s).as_ref()?.kode.as_deref())
    }

    /// `status.rutineStatus.kode` (`OK` when the lookup ran).
    pub fn routine_status(&self) -> Option<&str> {
        self.status_code(|s| &s.rutine_status)
    }

    /// `status.kombinasjonStatus.kode` (`OK`, or `IK`: no combination can be given).
    pub fn combination_status(&self) -> Option<&str> {
        self.status_code(|s| &s.kombinasjon_status)
    }

    /// `status.regelStatus.kode` (`RF`: a standardised rule; `RI`: not registered or not
    /// standardised).
    pub fn rule_status(&self) -> Option<&str> {
        self.status_code(|s| &s.regel_status)
    }
}

/// `status` of a Fullmakt answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FullmaktStatus {
    #[serde(deserialize_with = "opt_struct")]
    pub rutine_status: Option<StatusCode>,
    #[serde(deserialize_with = "opt_struct")]
    pub kombinasjon_status: Option<StatusCode>,
    #[serde(deserialize_with = "opt_struct")]
    pub regel_status: Option<StatusCode>,
}

/// One status code with its explanation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StatusCode {
    #[serde(deserialize_with = "opt_string")]
    pub kode: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub tekstforklaring: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub regel_ident: Option<String>,
}

/// The unit as the Fullmakt service describes it: its status flags are *strings* there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FullmaktEntity {
    #[serde(deserialize_with = "opt_string")]
    pub organisasjonsnummer: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub navn: Option<String>,
    #[serde(deserialize_with = "opt_struct")]
    pub organisasjonsform: Option<Code>,
    #[serde(deserialize_with = "flag")]
    pub konkurs: Option<bool>,
    #[serde(deserialize_with = "flag")]
    pub under_avvikling: Option<bool>,
    #[serde(deserialize_with = "flag")]
    pub under_tvangsavvikling_eller_tvangsopplosning: Option<bool>,
}

/// `signeringsGrunnlag`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SigningBasis {
    /// `SF` (basis exists) or another code.
    #[serde(deserialize_with = "opt_string")]
    pub kode: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub tekstforklaring: Option<String>,
    #[serde(deserialize_with = "opt_struct")]
    pub signatur_prokura_roller: Option<FreeText>,
    #[serde(deserialize_with = "opt_struct")]
    pub mulige_signerings_roller: Option<PossibleRoles>,
}

/// `signaturProkuraRoller`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FreeText {
    #[serde(deserialize_with = "opt_string")]
    pub signatur_prokura_fritekst: Option<String>,
}

/// `muligeSigneringsRoller`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PossibleRoles {
    #[serde(deserialize_with = "seq")]
    pub person_rolle_grunnlag: Vec<FullmaktPerson>,
}

/// `signeringsKombinasjon`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Combinations {
    #[serde(deserialize_with = "seq")]
    pub kombinasjon: Vec<Combination>,
}

/// One sufficient set of persons: one person may sign alone, n persons jointly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Combination {
    #[serde(deserialize_with = "opt_string")]
    pub kode: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub tekstforklaring: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub kombinasjons_id: Option<String>,
    #[serde(deserialize_with = "seq")]
    pub person_rolle_kombinasjon: Vec<FullmaktPerson>,
}

/// A person in a Fullmakt answer: one-string name, `DD.MM.YYYY` birth date, the role, and
/// the national id in the authorised variant.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FullmaktPerson {
    #[serde(deserialize_with = "opt_string")]
    pub fodselsdato: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub fodselsnummer: Option<String>,
    #[serde(deserialize_with = "opt_string")]
    pub navn: Option<String>,
    #[serde(deserialize_with = "opt_struct")]
    pub rolle: Option<Code>,
}

impl std::fmt::Debug for FullmaktPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FullmaktPerson")
            .field("fodselsdato", &self.fodselsdato)
            .field(
                "fodselsnummer",
                &self.fodselsnummer.as_ref().map(|_| "<redacted>"),
            )
            .field("navn", &self.navn)
            .field("rolle", &self.rolle)
            .finish()
    }
}

/// A register date: `YYYY-MM-DD` (Enhetsregisteret; a longer ISO timestamp is cut to its
/// date) or `DD.MM.YYYY` (Fullmakt). Anything else is `None`.
pub fn parse_date(s: &str) -> Option<Date> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, m, d) = if b.len() >= 10 && b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-') {
        if b.len() > 10 && !matches!(b.get(10), Some(b'T' | b' ')) {
            return None;
        }
        (num(0..4)?, num(5..7)?, num(8..10)?)
    } else if b.len() == 10 && b.get(2) == Some(&b'.') && b.get(5) == Some(&b'.') {
        (num(6..10)?, num(3..5)?, num(0..2)?)
    } else {
        return None;
    };
    let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?).ok()
}

// ----- lenient readers -------------------------------------------------------------------

/// A string, a number (kept as its text) or `null`.
fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s)),
        serde_json::Value::Number(n) => Ok(Some(n.to_string())),
        serde_json::Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(de::Error::custom(format!(
            "expected a string, found {}",
            kind(&other)
        ))),
    }
}

/// An object or `null`.
fn opt_struct<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        v @ serde_json::Value::Object(_) => T::deserialize(v).map(Some).map_err(de::Error::custom),
        other => Err(de::Error::custom(format!(
            "expected an object, found {}",
            kind(&other)
        ))),
    }
}

/// A boolean, the strings `"true"`/`"false"` (any case, also `"j"`/`"n"`, `"ja"`/`"nei"`),
/// or `null`. Another string is an error: a status flag that cannot be read must not be taken
/// as false.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Bool(b) => Ok(Some(b)),
        serde_json::Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "j" | "ja" => Ok(Some(true)),
            "false" | "n" | "nei" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err(de::Error::custom(format!("unreadable flag {s:?}"))),
        },
        other => Err(de::Error::custom(format!(
            "expected a flag, found {}",
            kind(&other)
        ))),
    }
}

/// An array, a single element, or `null` (empty).
fn seq<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|v| T::deserialize(v).map_err(de::Error::custom))
            .collect(),
        v => T::deserialize(v)
            .map(|t| vec![t])
            .map_err(de::Error::custom),
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_in_both_register_formats() {
        assert_eq!(parse_date("1962-09-05"), Some(date!(1962 - 09 - 05)));
        assert_eq!(parse_date("01.01.1999"), Some(date!(1999 - 01 - 01)));
        assert_eq!(
            parse_date("2023-07-13T07:17:49"),
            Some(date!(2023 - 07 - 13))
        );
        assert_eq!(parse_date("1999-02-30"), None);
        assert_eq!(parse_date("31.13.1999"), None);
        assert_eq!(parse_date("1999-1-1"), None);
        assert_eq!(parse_date("1999-01-01x"), None);
        assert_eq!(parse_date("+1.01.1999"), None);
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("ø1.01.1999"), None);
    }

    #[test]
    fn entity_flags_and_unknown_fields() {
        let e: Entity = parse(
            br#"{"organisasjonsnummer":"310000019","navn":"X AS","konkurs":true,
                "underAvvikling":"false","nyttFelt":{"a":[1,2]},"slettedato":null,
                "organisasjonsform":{"kode":"AS","beskrivelse":"Aksjeselskap","_links":{}}}"#,
        )
        .unwrap();
        assert_eq!(e.konkurs, Some(true));
        assert_eq!(e.under_avvikling, Some(false));
        assert_eq!(e.under_tvangsavvikling_eller_tvangsopplosning, None);
        assert!(!e.is_deleted());
        assert_eq!(e.organisasjonsform.unwrap().code(), "AS");
        let gone: Entity =
            parse(br#"{"organisasjonsnummer":"1","respons_klasse":"SlettetEnhet"}"#).unwrap();
        assert!(gone.is_deleted());
        let forced: Entity =
            parse(br#"{"tvangsopplostPgaManglendeRevisorDato":"2020-01-01"}"#).unwrap();
        assert!(forced.forced_dissolution());
        assert!(parse::<Entity>(br#"{"konkurs":"kanskje"}"#).is_err());
        assert!(parse::<Entity>(br#"{"konkurs":[]}"#).is_err());
        assert!(parse::<Entity>(b"{\"navn\": \"trunc").is_err());
        assert!(parse::<Entity>(b"[]").is_err());
        assert!(parse::<Entity>(b" null").is_err());
        assert!(parse::<Entity>(br#"{"organisasjonsform":["AS"]}"#).is_err());
        assert!(parse::<Entity>(b" {}").is_ok());
    }

    #[test]
    fn roles_accept_one_object_and_missing_flags() {
        let r: Roles = parse(
            br#"{"rollegrupper":[{"type":{"kode":"DAGL"},"roller":
                {"type":{"kode":"DAGL"},"person":{"fodselsdato":"1962-09-05",
                 "navn":{"fornavn":"Nils Kristian","etternavn":"Nakstad"},"erDoed":false},
                 "rekkefolge":0}}]}"#,
        )
        .unwrap();
        let role = &r.rollegrupper[0].roller[0];
        assert!(role.is_active());
        assert_eq!(role.code(), "DAGL");
        let p = role.person.as_ref().unwrap();
        assert_eq!(p.navn.as_ref().unwrap().full(), "Nils Kristian Nakstad");
        let r: Roles = parse(
            br#"{"rollegrupper":[{"roller":[{"avregistrert":true},{"fratraadt":true},
                {"fratraadt":false,"avregistrert":false}]}]}"#,
        )
        .unwrap();
        let active: Vec<bool> = r.rollegrupper[0]
            .roller
            .iter()
            .map(Role::is_active)
            .collect();
        assert_eq!(active, [false, false, true]);
    }

    #[test]
    fn fullmakt_strings_and_statuses() {
        let f: Fullmakt = parse(
            br#"{"status":{"rutineStatus":{"kode":"OK"},"kombinasjonStatus":{"kode":"IK"},
                 "regelStatus":{"kode":"RI","regelIdent":null}},
                 "enhet":{"konkurs":"true","underAvvikling":"false"},
                 "signeringsGrunnlag":{"signaturProkuraRoller":{"signaturProkuraFritekst":"  "}},
                 "signeringsKombinasjon":{"kombinasjon":[{"kombinasjonsId":1,
                   "personRolleKombinasjon":[{"fodselsdato":"01.01.1999","navn":"Jon Almaas",
                   "fodselsnummer":"01019912345","rolle":{"kode":"LEDE"}}]}]}}"#,
        )
        .unwrap();
        assert_eq!(f.routine_status(), Some("OK"));
        assert_eq!(f.combination_status(), Some("IK"));
        assert_eq!(f.rule_status(), Some("RI"));
        assert_eq!(f.enhet.as_ref().unwrap().konkurs, Some(true));
        assert_eq!(f.free_text(), None);
        let k = &f.combinations()[0];
        assert_eq!(k.kombinasjons_id.as_deref(), Some("1"));
        let dbg = format!("{:?}", k.person_rolle_kombinasjon[0]);
        assert!(!dbg.contains("01019912345"), "{dbg}");
        let empty: Fullmakt = parse(b"{}").unwrap();
        assert!(empty.combinations().is_empty());
        assert_eq!(empty.routine_status(), None);
    }
}
