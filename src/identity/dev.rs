//! The development identity provider: a login page's worth of synthetic test persons plus a free
//! `pid` field, producing the same [`VerifiedIdentity`] as the real providers.
//!
//! Owns: the synthetic persons and turning a typed `pid` into an identity. Must not: run in the
//! production profile (`config` refuses it) or decide whether the person may sign.

use time::OffsetDateTime;

use super::{IdpKind, VerifiedIdentity, is_plausible_eidas_id, nin};
use crate::jobs::model::Loa;

/// Issuer string recorded in evidence for development logins.
pub const ISSUER: &str = "urn:signgate:dev-idp";

/// A synthetic test person offered on the development login page.
#[derive(Debug, Clone, Copy)]
pub struct TestPerson {
    pub pid: &'static str,
    pub name: &'static str,
    pub note: &'static str,
}

/// Synthetic persons (national ids use the +80 month offset of test persons, so they never
/// belong to a real person) and eIDAS persons from other member states.
pub const TEST_PERSONS: &[TestPerson] = &[
    TestPerson {
        pid: "13097248022",
        name: "Kari Nordmann",
        note: "national id",
    },
    TestPerson {
        pid: "01889449930",
        name: "Ola Nordmann",
        note: "national id (synthetic)",
    },
    TestPerson {
        pid: "17912099997",
        name: "Åse Ødegård",
        note: "national id (synthetic)",
    },
    TestPerson {
        pid: "SE/NO/199001011234",
        name: "Sven Svensson",
        note: "eIDAS, Sweden",
    },
    TestPerson {
        pid: "ES/NO/12345678Z",
        name: "María García",
        note: "eIDAS, Spain",
    },
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DevLoginError {
    #[error(
        "enter an 11-digit national id with valid check digits or an eIDAS id CC/CC/identifier"
    )]
    BadPid,
}

/// Logs `pid` in at the requested assurance level.
pub fn login(pid: &str, loa: Loa, now: OffsetDateTime) -> Result<VerifiedIdentity, DevLoginError> {
    let pid = pid.trim();
    let known = TEST_PERSONS.iter().find(|p| p.pid == pid);
    let (national_id, eidas_id) = if nin::is_valid_national_id(pid) {
        (Some(pid.to_string()), None)
    } else if is_plausible_eidas_id(pid) {
        (None, Some(pid.to_string()))
    } else {
        return Err(DevLoginError::BadPid);
    };
    let name = known.map_or_else(|| format!("Test Person {pid}"), |p| p.name.to_string());
    Ok(VerifiedIdentity {
        idp: IdpKind::Dev,
        issuer: ISSUER.into(),
        national_id,
        eidas_id,
        name,
        date_of_birth: None,
        loa,
        auth_time: now,
        evidence: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_persons_are_valid() {
        for p in TEST_PERSONS {
            assert!(
                login(p.pid, Loa::High, OffsetDateTime::UNIX_EPOCH).is_ok(),
                "{} must be a valid pid",
                p.pid
            );
        }
        assert_eq!(
            login("123", Loa::High, OffsetDateTime::UNIX_EPOCH),
            Err(DevLoginError::BadPid)
        );
    }
}
