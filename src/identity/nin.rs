//! Norwegian identifiers: national identity numbers (fødselsnummer, D-number, synthetic test
//! numbers) and organisation numbers, with their mod-11 check digits.
//!
//! Owns: syntax and check-digit validation. Must not: look anything up in a register.

const NIN_K1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const NIN_K2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
const ORGNR_W: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

fn digits<const N: usize>(s: &str) -> Option<[u32; N]> {
    if s.len() != N {
        return None;
    }
    let mut out = [0u32; N];
    for (i, b) in s.bytes().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        out[i] = u32::from(b - b'0');
    }
    Some(out)
}

fn mod11(d: &[u32], w: &[u32]) -> Option<u32> {
    let sum: u32 = d.iter().zip(w).map(|(a, b)| a * b).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        k => Some(k),
    }
}

/// 11 digits whose two mod-11 check digits are right, with a plausible date part (day 1–31,
/// or +40 for D-numbers; month 1–12, or +40 / +80 for H-numbers and synthetic test persons).
pub fn is_valid_national_id(s: &str) -> bool {
    let Some(d) = digits::<11>(s) else {
        return false;
    };
    let day = d[0] * 10 + d[1];
    let month = d[2] * 10 + d[3];
    let day_ok = (1..=31).contains(&day) || (41..=71).contains(&day);
    let month_ok =
        (1..=12).contains(&month) || (41..=52).contains(&month) || (81..=92).contains(&month);
    if !day_ok || !month_ok {
        return false;
    }
    mod11(&d[..9], &NIN_K1) == Some(d[9]) && mod11(&d[..10], &NIN_K2) == Some(d[10])
}

/// 9 digits with the Brønnøysund mod-11 check digit.
pub fn is_valid_orgnr(s: &str) -> bool {
    let Some(d) = digits::<9>(s) else {
        return false;
    };
    mod11(&d[..8], &ORGNR_W) == Some(d[8])
}

/// Appends check digits to a 9-digit prefix (used to make synthetic test persons).
pub fn complete_national_id(prefix9: &str) -> Option<String> {
    let d = digits::<9>(prefix9)?;
    let k1 = mod11(&d, &NIN_K1)?;
    let mut d10 = [0u32; 10];
    d10[..9].copy_from_slice(&d);
    d10[9] = k1;
    let k2 = mod11(&d10, &NIN_K2)?;
    Some(format!("{prefix9}{k1}{k2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_ids() {
        assert!(is_valid_national_id("13097248022"));
        assert!(!is_valid_national_id("13097248023"));
        assert!(!is_valid_national_id("1309724802"));
        assert!(!is_valid_national_id("1309724802a"));
        assert!(!is_valid_national_id("130972480220"));
        assert!(!is_valid_national_id("00000000000"));
        assert_eq!(
            complete_national_id("018894499").as_deref(),
            Some("01889449930")
        );
        assert!(is_valid_national_id("01889449930"));
        // a prefix whose first check digit would be 10 has no valid completion
        assert_eq!(complete_national_id("018894498"), None);
    }

    #[test]
    fn orgnrs() {
        assert!(is_valid_orgnr("991825827"));
        assert!(is_valid_orgnr("974760673"));
        assert!(!is_valid_orgnr("991825828"));
        assert!(!is_valid_orgnr("99182582"));
    }
}
