//! The text of signer notifications (e-mail and SMS) in Bokmål, Nynorsk and English.
//!
//! Owns: what a notification says. Following Posten signering's rule for notifications, it
//! carries only non-sensitive content: the sender's name, the job's *non-sensitive* title (the
//! job title may hold personal data and is never used; without a non-sensitive title the text
//! says "a document"), the deadline, the signing link, and for a company signer the
//! organisation's public register name, number and the person's register role. Never national
//! ids, document names or contents. Must not: send anything or read the store.

use time::OffsetDateTime;

use crate::jobs::model::{Language, format_date};

/// Why a signer is notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The signer's order group became active (a portal job's signer, at creation or when
    /// the earlier groups have signed).
    SigningRequest,
    /// A holder of signing authority the sender added from the business register.
    CoSignerRequest,
}

impl Purpose {
    /// `signing_request` or `co_signer_request` (storage and API spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::SigningRequest => "signing_request",
            Purpose::CoSignerRequest => "co_signer_request",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Purpose::SigningRequest, Purpose::CoSignerRequest]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// The organisation a company signer signs for.
#[derive(Debug, Clone, Copy)]
pub struct Company<'a> {
    pub orgnr: &'a str,
    /// Its name in the register, when known.
    pub name: Option<&'a str>,
}

/// Everything a notification may say.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub purpose: Purpose,
    pub lang: Language,
    /// The sending organisation's name.
    pub sender: &'a str,
    /// The job's non-sensitive title, if the sender gave one.
    pub title: Option<&'a str>,
    /// The signer's personal signing link.
    pub link: &'a str,
    pub deadline: OffsetDateTime,
    pub company: Option<Company<'a>>,
    /// For a co-signer: the register role (`Styremedlem`).
    pub role: Option<&'a str>,
}

/// A rendered notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    /// Plain text (UTF-8) e-mail body.
    pub body: String,
    /// The SMS text.
    pub sms: String,
}

/// Keeps a value from the sender or the register on one line (no line breaks or control
/// characters end up in a message).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The organisation as `NAME (org.nr. NNNNNNNNN)` in the message's language.
fn company_label(lang: Language, c: Company<'_>) -> String {
    let number = match lang {
        Language::Nb | Language::Nn => format!("org.nr. {}", c.orgnr),
        Language::En => format!("organisation number {}", c.orgnr),
    };
    match c.name.map(one_line).filter(|n| !n.is_empty()) {
        Some(n) => format!("{n} ({number})"),
        None => number,
    }
}

/// Renders the notification for `ctx`.
pub fn render(ctx: &Context<'_>) -> Message {
    let lang = ctx.lang;
    let sender = one_line(ctx.sender);
    let title = ctx.title.map(one_line).filter(|t| !t.is_empty());
    let date = format_date(ctx.deadline.date());
    let company = ctx.company.map(|c| company_label(lang, c));
    let role = ctx.role.map(one_line).filter(|r| !r.is_empty());
    let co_signer = ctx.purpose == Purpose::CoSignerRequest;

    let subject = match (lang, co_signer, &company) {
        (Language::Nb, true, Some(c)) => format!("{sender} ber deg signere på vegne av {c}"),
        (Language::Nn, true, Some(c)) => format!("{sender} ber deg signere på vegner av {c}"),
        (Language::En, true, Some(c)) => format!("{sender} asks you to sign on behalf of {c}"),
        (Language::Nb, ..) => format!("{sender} ber deg signere et dokument"),
        (Language::Nn, ..) => format!("{sender} ber deg signere eit dokument"),
        (Language::En, ..) => format!("{sender} asks you to sign a document"),
    };

    let mut body = String::new();
    body.push_str(match lang {
        Language::Nb | Language::Nn => "Hei,\n\n",
        Language::En => "Hello,\n\n",
    });
    body.push_str(&match (lang, &title) {
        (Language::Nb, Some(t)) => {
            format!("{sender} har sendt deg et dokument til signering: «{t}».")
        }
        (Language::Nn, Some(t)) => {
            format!("{sender} har sendt deg eit dokument til signering: «{t}».")
        }
        (Language::En, Some(t)) => format!("{sender} has sent you a document to sign: “{t}”."),
        (Language::Nb, None) => format!("{sender} har sendt deg et dokument til signering."),
        (Language::Nn, None) => format!("{sender} har sendt deg eit dokument til signering."),
        (Language::En, None) => format!("{sender} has sent you a document to sign."),
    });
    if let Some(c) = &company {
        body.push(' ');
        body.push_str(&match lang {
            Language::Nb => format!("Du signerer på vegne av {c}."),
            Language::Nn => format!("Du signerer på vegner av {c}."),
            Language::En => format!("You sign on behalf of {c}."),
        });
    }
    if co_signer {
        body.push_str("\n\n");
        let as_role = |prefix: &str| {
            role.as_deref()
                .map(|r| format!(", {prefix} {r}"))
                .unwrap_or_default()
        };
        body.push_str(&match lang {
            Language::Nb => format!(
                "Signaturregelen i Brønnøysundregistrene krever at du signerer sammen med andre{}.",
                as_role("som")
            ),
            Language::Nn => format!(
                "Signaturregelen i Brønnøysundregistera krev at du signerer saman med andre{}.",
                as_role("som")
            ),
            Language::En => format!(
                "The signature rule in the Brønnøysund Register Centre requires you to sign \
                 together with others{}.",
                as_role("as")
            ),
        });
    }
    body.push_str("\n\n");
    body.push_str(match lang {
        Language::Nb => {
            "Åpne lenken for å lese dokumentet og signere. Du logger inn med elektronisk ID."
        }
        Language::Nn => {
            "Opne lenkja for å lese dokumentet og signere. Du loggar inn med elektronisk ID."
        }
        Language::En => {
            "Open the link to read the document and sign. You log in with an electronic ID."
        }
    });
    body.push_str("\n\n");
    body.push_str(ctx.link);
    body.push_str("\n\n");
    body.push_str(&match lang {
        Language::Nb | Language::Nn => format!("Fristen for å signere er {date}."),
        Language::En => format!("The deadline for signing is {date}."),
    });
    body.push_str("\n\n-- \n");
    body.push_str(&match lang {
        Language::Nb => format!(
            "Denne meldingen er sendt av signgate på vegne av {sender}. Svar på den blir ikke lest."
        ),
        Language::Nn => format!(
            "Denne meldinga er send av signgate på vegner av {sender}. Svar på ho blir ikkje lesne."
        ),
        Language::En => {
            format!(
                "This message was sent by signgate on behalf of {sender}. Replies are not read."
            )
        }
    });
    body.push('\n');

    let sms = match (lang, &company, co_signer) {
        (Language::Nb, Some(c), true) => {
            format!(
                "{sender} ber deg signere på vegne av {c}. Frist {date}. {}",
                ctx.link
            )
        }
        (Language::Nn, Some(c), true) => {
            format!(
                "{sender} ber deg signere på vegner av {c}. Frist {date}. {}",
                ctx.link
            )
        }
        (Language::En, Some(c), true) => format!(
            "{sender} asks you to sign on behalf of {c}. Deadline {date}. {}",
            ctx.link
        ),
        (Language::Nb, ..) => format!(
            "{sender} ber deg signere et dokument{}. Frist {date}. {}",
            title
                .as_deref()
                .map(|t| format!(": «{t}»"))
                .unwrap_or_default(),
            ctx.link
        ),
        (Language::Nn, ..) => format!(
            "{sender} ber deg signere eit dokument{}. Frist {date}. {}",
            title
                .as_deref()
                .map(|t| format!(": «{t}»"))
                .unwrap_or_default(),
            ctx.link
        ),
        (Language::En, ..) => format!(
            "{sender} asks you to sign a document{}. Deadline {date}. {}",
            title
                .as_deref()
                .map(|t| format!(": “{t}”"))
                .unwrap_or_default(),
            ctx.link
        ),
    };
    Message { subject, body, sms }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(lang: Language, purpose: Purpose, title: Option<&'static str>) -> Context<'static> {
        Context {
            purpose,
            lang,
            sender: "Universitetet i Oslo",
            title,
            link: "https://gw.example/sign/abc",
            deadline: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            company: Some(Company {
                orgnr: "100010011",
                name: Some("STYRE I FELLESSKAP AS"),
            }),
            role: Some("Styremedlem"),
        }
    }

    #[test]
    fn every_language_has_link_sender_deadline_and_company() {
        for lang in [Language::Nb, Language::Nn, Language::En] {
            for purpose in [Purpose::SigningRequest, Purpose::CoSignerRequest] {
                let m = render(&ctx(lang, purpose, Some("Aksjonæravtale 2027")));
                for text in [&m.body, &m.sms] {
                    assert!(text.contains("https://gw.example/sign/abc"), "{text}");
                    assert!(text.contains("Universitetet i Oslo"), "{text}");
                    assert!(text.contains("2027-01-15"), "{text}");
                }
                assert!(m.body.contains("STYRE I FELLESSKAP AS"), "{}", m.body);
                assert!(m.body.contains("100010011"), "{}", m.body);
                assert_eq!(
                    m.body.contains("Styremedlem"),
                    purpose == Purpose::CoSignerRequest
                );
                assert!(!m.subject.contains('\n'));
            }
        }
        let nn = render(&ctx(Language::Nn, Purpose::CoSignerRequest, None));
        assert!(nn.body.contains("på vegner av"), "{}", nn.body);
        assert!(nn.body.contains("eit dokument"), "{}", nn.body);
        let en = render(&ctx(Language::En, Purpose::SigningRequest, None));
        assert!(en.body.starts_with("Hello,"), "{}", en.body);
    }

    #[test]
    fn only_the_nonsensitive_title_and_no_line_breaks_from_input() {
        let mut c = ctx(Language::Nb, Purpose::SigningRequest, None);
        c.company = None;
        let m = render(&c);
        assert!(m.body.contains("et dokument til signering."), "{}", m.body);
        let c = Context {
            title: Some("Avtale\r\nBcc: x@example.no"),
            sender: "Kommune\nX",
            ..c
        };
        let m = render(&c);
        assert!(m.subject.starts_with("Kommune X "), "{}", m.subject);
        assert!(m.body.contains("«Avtale Bcc: x@example.no»"), "{}", m.body);
        assert!(!m.sms.contains('\n'));
    }
}
