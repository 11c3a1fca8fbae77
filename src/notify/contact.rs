//! Contact details a sender gives for a signer: an e-mail address and a Norwegian mobile number,
//! checked and normalised once, when they enter the gateway (job creation, co-signers).
//!
//! Owns: what counts as a deliverable address. Mobile numbers follow Posten signering's rule
//! (Norwegian mobile numbers only; a foreign number given explicitly is refused): the number
//! plan of Nkom gives mobile numbers 8 digits starting with 4 or 9. Must not: send anything.

use std::str::FromStr as _;

/// Why a contact detail is refused. The value itself is never repeated (it is personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("email is not a valid e-mail address")]
    Email,
    #[error(
        "mobile must be a Norwegian mobile number (+47 or 0047 and 8 digits starting with 4 or 9)"
    )]
    Mobile,
}

/// A checked e-mail address (trimmed; at most 254 characters; `local@domain` as RFC 5321
/// allows it, without display name, comments or whitespace).
pub fn email(s: &str) -> Result<String, ContactError> {
    let s = s.trim();
    if s.is_empty() || s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ContactError::Email);
    }
    let addr = lettre::Address::from_str(s).map_err(|_| ContactError::Email)?;
    // A domain must have a dot: single-label domains do not deliver on the Internet.
    if !addr.domain().contains('.') || addr.domain().ends_with('.') {
        return Err(ContactError::Email);
    }
    Ok(addr.to_string())
}

/// A checked Norwegian mobile number as `+47XXXXXXXX`. Spaces, dots and hyphens between digits
/// are ignored; `+47`, `0047` and `47` (with 10 digits) prefixes are accepted.
pub fn mobile(s: &str) -> Result<String, ContactError> {
    let s = s.trim();
    if s.len() > 32 {
        return Err(ContactError::Mobile);
    }
    let (plus, rest) = match s.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-'))
    {
        return Err(ContactError::Mobile);
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let national = match (plus, digits.len()) {
        (false, 8) => digits.as_str(),
        (true, 10) | (false, 10) if digits.starts_with("47") => &digits[2..],
        (false, 12) if digits.starts_with("0047") => &digits[4..],
        _ => return Err(ContactError::Mobile),
    };
    if !matches!(national.as_bytes().first(), Some(b'4' | b'9')) {
        return Err(ContactError::Mobile);
    }
    Ok(format!("+47{national}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            email(" Kari.Nordmann@Example.no ").unwrap(),
            "Kari.Nordmann@Example.no"
        );
        for bad in [
            "",
            "kari",
            "kari@",
            "@example.no",
            "kari@localhost",
            "kari nordmann@example.no",
            "Kari <kari@example.no>",
            "kari@example.no\r\nBcc: x@y.no",
            &format!("{}@example.no", "a".repeat(250)),
        ] {
            assert_eq!(email(bad), Err(ContactError::Email), "{bad:?}");
        }
    }

    #[test]
    fn norwegian_mobiles_only() {
        for ok in [
            "91234567",
            "+4791234567",
            "+47 912 34 567",
            "004741234567",
            "4791234567",
            "912-34-567",
        ] {
            assert!(mobile(ok).unwrap().starts_with("+47"), "{ok}");
        }
        assert_eq!(mobile("+47 912 34 567").unwrap(), "+4791234567");
        for bad in [
            "",
            "22334455",    // a landline
            "+4622334455", // Sweden
            "+46701234567",
            "9123456",
            "+47912345678",
            "tel:91234567",
            "91234567; rm",
        ] {
            assert_eq!(mobile(bad), Err(ContactError::Mobile), "{bad:?}");
        }
    }
}
