//! Translations of the signer-facing pages: Norwegian Bokmål (default), Nynorsk and English.
//!
//! Owns: the language choice (`?lang=`, then `Accept-Language`) and the message catalogue.
//! Must not: hold page logic.

use axum::http::{HeaderMap, header};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Nb,
    Nn,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Nb => "nb",
            Lang::Nn => "nn",
            Lang::En => "en",
        }
    }

    fn parse(s: &str) -> Option<Lang> {
        let primary = s.trim().split(['-', '_', ';']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "nb" | "no" => Some(Lang::Nb),
            "nn" => Some(Lang::Nn),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// `?lang=` wins; otherwise the first supported language in `Accept-Language`; else nb.
    pub fn choose(query: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(l) = query.and_then(Lang::parse) {
            return l;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').find_map(Lang::parse))
            .unwrap_or(Lang::Nb)
    }

    /// The message for `key` in this language (the key itself if missing, so gaps are visible).
    pub fn t(self, key: &'static str) -> &'static str {
        let row = CATALOGUE.iter().find(|(k, ..)| *k == key);
        match (row, self) {
            (Some((_, nb, _, _)), Lang::Nb) => nb,
            (Some((_, _, nn, _)), Lang::Nn) => nn,
            (Some((_, _, _, en)), Lang::En) => en,
            (None, _) => key,
        }
    }
}

/// key, nb, nn, en
const CATALOGUE: &[(&str, &str, &str, &str)] = &[
    (
        "app",
        "signgate signering",
        "signgate signering",
        "signgate signing",
    ),
    ("from", "Fra", "Frå", "From"),
    ("documents", "Dokumenter", "Dokument", "Documents"),
    ("open", "Åpne", "Opne", "Open"),
    ("pages", "sider", "sider", "pages"),
    (
        "logged_in_as",
        "Innlogget som",
        "Innlogga som",
        "Logged in as",
    ),
    (
        "sign_intro",
        "Les dokumentene. Ved å signere bekrefter du at du er enig i innholdet.",
        "Les dokumenta. Ved å signere stadfestar du at du er einig i innhaldet.",
        "Read the documents. By signing you confirm that you agree to their content.",
    ),
    ("sign", "Signer", "Signer", "Sign"),
    (
        "devidp_name",
        "Navn (valgfritt)",
        "Namn (valfritt)",
        "Name (optional)",
    ),
    (
        "authority_on_behalf",
        "Du signerer på vegne av",
        "Du signerer på vegner av",
        "You sign on behalf of",
    ),
    (
        "authority_joint",
        "Du har signaturrett bare i fellesskap med andre. Virksomheten er bundet når også de har signert; oppdraget fullføres først da.",
        "Du har signaturrett berre i fellesskap med andre. Verksemda er bunden når også dei har signert; oppdraget vert fullført først då.",
        "You may sign only jointly with others. The organisation is bound once they have signed too; the job completes only then.",
    ),
    (
        "authority_title",
        "Du kan ikke signere for virksomheten",
        "Du kan ikkje signere for verksemda",
        "You cannot sign for the organisation",
    ),
    (
        "authority_body",
        "Brønnøysundregistrene viser ikke at du har rett til å signere for virksomheten. Ingenting ble signert. Avsenderen er varslet.",
        "Brønnøysundregistera viser ikkje at du har rett til å signere for verksemda. Ingenting vart signert. Avsendaren er varsla.",
        "The Brønnøysund registers do not show that you may sign for the organisation. Nothing was signed. The sender has been told.",
    ),
    (
        "authority_missing_title",
        "Det trengs flere som signerer",
        "Det trengst fleire som signerer",
        "More signers are needed",
    ),
    (
        "authority_missing_body",
        "Du kan signere for virksomheten bare i fellesskap med andre, og de er ikke med i dette oppdraget. Ingenting ble signert. Avsenderen er varslet om hvem som mangler.",
        "Du kan signere for verksemda berre i fellesskap med andre, og dei er ikkje med i dette oppdraget. Ingenting vart signert. Avsendaren er varsla om kven som manglar.",
        "You may sign for the organisation only jointly with others who are not part of this job. Nothing was signed. The sender has been told who is missing.",
    ),
    (
        "authority_unavailable_title",
        "Signaturretten kan ikke bekreftes nå",
        "Signaturretten kan ikkje stadfestast no",
        "Your signing authority cannot be confirmed now",
    ),
    (
        "authority_unavailable_body",
        "Brønnøysundregistrene svarer ikke akkurat nå. Ingenting ble signert. Prøv igjen senere.",
        "Brønnøysundregistera svarar ikkje akkurat no. Ingenting vart signert. Prøv igjen seinare.",
        "The Brønnøysund registers do not answer right now. Nothing was signed. Please try again later.",
    ),
    ("reject", "Avvis", "Avvis", "Reject"),
    (
        "signed_title",
        "Takk, du har signert",
        "Takk, du har signert",
        "Thank you, you have signed",
    ),
    (
        "signed_body",
        "Signaturen din er registrert. Avsenderen får det signerte dokumentet når alle har signert.",
        "Signaturen din er registrert. Avsendaren får det signerte dokumentet når alle har signert.",
        "Your signature is recorded. The sender receives the signed document when everyone has signed.",
    ),
    (
        "rejected_title",
        "Du har avvist signeringen",
        "Du har avvist signeringa",
        "You rejected the signing",
    ),
    (
        "rejected_body",
        "Ingenting ble signert. Avsenderen er varslet.",
        "Ingenting vart signert. Avsendaren er varsla.",
        "Nothing was signed. The sender has been notified.",
    ),
    (
        "mismatch_title",
        "Du kan ikke signere dette oppdraget",
        "Du kan ikkje signere dette oppdraget",
        "You cannot sign this request",
    ),
    (
        "mismatch_body",
        "Du er logget inn som en annen person enn den som skal signere. Ingenting ble signert.",
        "Du er logga inn som ein annan person enn den som skal signere. Ingenting vart signert.",
        "You are logged in as someone other than the designated signer. Nothing was signed.",
    ),
    (
        "loa_title",
        "For lavt sikkerhetsnivå",
        "For lågt tryggleiksnivå",
        "Assurance level too low",
    ),
    (
        "loa_body",
        "Dette oppdraget krever innlogging med høyere sikkerhetsnivå. Ingenting ble signert.",
        "Dette oppdraget krev innlogging med høgare tryggleiksnivå. Ingenting vart signert.",
        "This request needs a login at a higher assurance level. Nothing was signed.",
    ),
    (
        "turn_title",
        "Ikke din tur ennå",
        "Ikkje din tur enno",
        "Not your turn yet",
    ),
    (
        "turn_body",
        "Andre må signere før deg. Prøv igjen senere.",
        "Andre må signere før deg. Prøv igjen seinare.",
        "Others must sign before you. Please try again later.",
    ),
    (
        "closed_title",
        "Oppdraget er avsluttet",
        "Oppdraget er avslutta",
        "This request has ended",
    ),
    (
        "closed_body",
        "Dette signeringsoppdraget kan ikke lenger signeres.",
        "Dette signeringsoppdraget kan ikkje lenger signerast.",
        "This signing request can no longer be signed.",
    ),
    (
        "done_title",
        "Du har allerede svart",
        "Du har alt svart",
        "You have already answered",
    ),
    (
        "notfound_title",
        "Lenken er ugyldig",
        "Lenka er ugyldig",
        "The link is not valid",
    ),
    (
        "notfound_body",
        "Sjekk at du har brukt hele lenken du fikk.",
        "Sjekk at du har brukt heile lenka du fekk.",
        "Check that you used the whole link you received.",
    ),
    (
        "cancelled_title",
        "Innloggingen ble avbrutt",
        "Innlogginga vart avbroten",
        "The login was cancelled",
    ),
    (
        "cancelled_body",
        "Du avbrøt innloggingen, eller den ble ikke fullført. Åpne signeringslenken igjen for å prøve på nytt.",
        "Du avbraut innlogginga, eller ho vart ikkje fullført. Opne signeringslenkja igjen for å prøve på nytt.",
        "You cancelled the login or it was not completed. Open the signing link again to retry.",
    ),
    (
        "idp_down_title",
        "Innlogging er ikke tilgjengelig",
        "Innlogging er ikkje tilgjengeleg",
        "Login is not available",
    ),
    (
        "idp_down_body",
        "Vi får ikke kontakt med innloggingstjenesten akkurat nå. Prøv igjen om litt.",
        "Vi får ikkje kontakt med innloggingstenesta akkurat no. Prøv igjen om litt.",
        "We cannot reach the login service right now. Please try again in a while.",
    ),
    (
        "login_rejected_title",
        "Innloggingen kunne ikke godtas",
        "Innlogginga kunne ikkje godtakast",
        "The login could not be accepted",
    ),
    (
        "login_rejected_body",
        "Svaret fra innloggingstjenesten besto ikke sikkerhetskontrollen. Ingenting er signert. Åpne signeringslenken igjen for å prøve på nytt.",
        "Svaret frå innloggingstenesta stod ikkje sikkerheitskontrollen. Ingenting er signert. Opne signeringslenkja igjen for å prøve på nytt.",
        "The answer from the login service failed a security check. Nothing was signed. Open the signing link again to retry.",
    ),
    (
        "continue_login_title",
        "Videre til innlogging",
        "Vidare til innlogging",
        "On to the login",
    ),
    (
        "continue_login_body",
        "Du sendes videre til innloggingstjenesten i ditt land.",
        "Du vert send vidare til innloggingstenesta i landet ditt.",
        "You are being sent to the login service of your country.",
    ),
    ("continue", "Fortsett", "Hald fram", "Continue"),
    (
        "idporten_logout",
        "Logg ut av ID-porten",
        "Logg ut av ID-porten",
        "Log out of ID-porten",
    ),
    (
        "session_title",
        "Økten er utløpt",
        "Økta har gått ut",
        "Your session has expired",
    ),
    (
        "session_body",
        "Åpne signeringslenken på nytt for å logge inn.",
        "Opne signeringslenka på nytt for å logge inn.",
        "Open the signing link again to log in.",
    ),
    (
        "error_title",
        "Noe gikk galt",
        "Noko gjekk gale",
        "Something went wrong",
    ),
    (
        "error_body",
        "Prøv igjen om litt. Ingenting ble signert.",
        "Prøv igjen om litt. Ingenting vart signert.",
        "Please try again shortly. Nothing was signed.",
    ),
    (
        "devidp_title",
        "Utviklings-ID (kun for testing)",
        "Utviklings-ID (berre for testing)",
        "Development IdP (testing only)",
    ),
    (
        "devidp_intro",
        "Velg en syntetisk testperson, eller skriv inn et fødselsnummer eller en eIDAS-identifikator.",
        "Vel ein syntetisk testperson, eller skriv inn eit fødselsnummer eller ein eIDAS-identifikator.",
        "Choose a synthetic test person, or enter a national id or an eIDAS identifier.",
    ),
    ("login", "Logg inn", "Logg inn", "Log in"),
    (
        "pid",
        "Fødselsnummer eller eIDAS-id",
        "Fødselsnummer eller eIDAS-id",
        "National id or eIDAS id",
    ),
    (
        "level",
        "Sikkerhetsnivå",
        "Tryggleiksnivå",
        "Assurance level",
    ),
    (
        "badpid",
        "Ugyldig identifikator",
        "Ugyldig identifikator",
        "Invalid identifier",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choose_and_translate() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::choose(None, &h), Lang::Nb);
        h.insert(
            header::ACCEPT_LANGUAGE,
            "de-DE,en-GB;q=0.8".parse().unwrap(),
        );
        assert_eq!(Lang::choose(None, &h), Lang::En);
        assert_eq!(Lang::choose(Some("nn"), &h), Lang::Nn);
        for (k, nb, nn, en) in CATALOGUE {
            assert!(!nb.is_empty() && !nn.is_empty() && !en.is_empty(), "{k}");
        }
        assert_eq!(Lang::En.t("sign"), "Sign");
    }
}
