//! The validation policy: cryptographic constraints (in the shape of EU DSS'
//! `constraint.xml` `<Cryptographic>` element: acceptable signature and digest
//! algorithms, minimum public key sizes, `AlgoExpirationDate` per digest and per key
//! size) and the X.509/revocation settings the chain building block obeys.
//!
//! Owns: [`Policy`] and its default ([`Policy::default_eu`], the values of DSS' default
//! `constraint.xml`), reading the `<Cryptographic>` element of a DSS policy file
//! ([`Policy::from_dss_constraint_xml`]), and the algorithm verdicts
//! ([`Policy::check_algorithms`], [`Policy::assess_algorithms`],
//! [`Policy::algorithms_expiry`]).
//! Must not touch: certificates, signatures, revocation data or trusted lists — callers
//! hand it the [`Algorithms`] they observed and a time.

use std::time::Duration;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use super::evidence::Algorithms;
use super::report::Finding;

/// Why a policy file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not well-formed XML (or a DTD, or too many nodes).
    #[error("policy is not acceptable XML: {0}")]
    Xml(#[from] roxmltree::Error),
    /// The document has no global `<Cryptographic>` element.
    #[error("policy has no global <Cryptographic> element")]
    NoCryptographic,
    /// A value could not be read.
    #[error("bad policy value: {0}")]
    BadValue(String),
    /// The input is larger than [`MAX_POLICY_BYTES`].
    #[error("policy too large ({0} bytes)")]
    TooLarge(usize),
}

/// Largest policy file [`Policy::from_dss_constraint_xml`] reads.
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;

/// One `AlgoExpirationDate` entry for a public-key algorithm: keys of at least
/// `min_bits` (and below the next entry's size) are reliable until `expires`
/// (`None`: no known end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyExpiry {
    /// Signature algorithm family (`RSA`, `RSA-PSS`, `ECDSA`, `PLAIN-ECDSA`, `DSA`).
    pub algorithm: String,
    /// Smallest key size this entry covers.
    pub min_bits: u32,
    /// End of reliability.
    pub expires: Option<OffsetDateTime>,
}

/// Cryptographic constraints (DSS `CryptographicConstraint`). Names are the ones
/// [`crate::validation::crypto`] reports: `SHA-256`, `SHA3-256`, `RSA`, `RSA-PSS`,
/// `ECDSA`, `PLAIN-ECDSA`, `Ed25519`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoConstraints {
    /// Acceptable signature algorithm families (DSS `AcceptableEncryptionAlgo`).
    pub signature_algorithms: Vec<String>,
    /// Minimum key size per family (DSS `MiniPublicKeySize`).
    pub min_key_bits: Vec<(String, u32)>,
    /// Acceptable digest algorithms (DSS `AcceptableDigestAlgo`).
    pub digest_algorithms: Vec<String>,
    /// Digest expiry dates (DSS `AlgoExpirationDate` digest entries).
    pub digest_expiry: Vec<(String, Option<OffsetDateTime>)>,
    /// Key-size expiry dates (DSS `AlgoExpirationDate` encryption entries).
    pub key_expiry: Vec<KeyExpiry>,
    /// DSS `UpdateDate`: the date the expiry table was last reviewed. An expiry date
    /// after it was a forecast: once passed, it yields a warning instead of a failure
    /// (DSS `LevelAfterUpdate="WARN"`). `None`: every passed expiry fails.
    pub update_date: Option<OffsetDateTime>,
}

/// The verdict on a set of algorithms at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlgoVerdict {
    /// Acceptable.
    Ok,
    /// Acceptable, but noteworthy (a forecast expiry date has passed).
    Warn(Finding),
    /// Not acceptable: unknown/forbidden algorithm, key too small, or expired.
    Fail(Finding),
}

/// A validation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Name shown in the report.
    pub name: String,
    /// Cryptographic constraints.
    pub crypto: CryptoConstraints,
    /// Maximum age of revocation data relative to the control time (its `thisUpdate`
    /// / `producedAt` must not be older than `at - freshness`). `None` (DSS default:
    /// `RevocationFreshness Level="IGNORE"`): any revocation data issued after the
    /// certificate's `notBefore` is fresh enough. Data older than this is still used,
    /// with a warning.
    pub revocation_freshness: Option<Duration>,
    /// `true` (default): a non-anchor certificate without usable revocation data makes
    /// the chain INDETERMINATE/TRY_LATER (DSS `RevocationDataAvailable Level="FAIL"`).
    /// `false`: only a warning.
    pub require_revocation: bool,
    /// Longest path accepted (certificates, target and anchor included).
    pub max_path_len: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self::default_eu()
    }
}

fn ymd(y: i32, m: u8, d: u8) -> OffsetDateTime {
    let month = Month::try_from(m).unwrap_or(Month::January);
    let date = Date::from_calendar_date(y, month, d).unwrap_or(Date::MIN);
    PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc()
}

fn s(v: &str) -> String {
    v.to_string()
}

impl Policy {
    /// The default policy: EU DSS' default `constraint.xml` ("QES AES/QC AES TL based")
    /// cryptographic constraints (ETSI TS 119 312 v1.5.1 dates, `UpdateDate`
    /// 2024-10-13), revocation data required, no freshness limit.
    pub fn default_eu() -> Self {
        let key = |a: &str, bits: u32, exp: Option<OffsetDateTime>| KeyExpiry {
            algorithm: s(a),
            min_bits: bits,
            expires: exp,
        };
        let y2029 = Some(ymd(2029, 1, 1));
        let crypto = CryptoConstraints {
            signature_algorithms: ["RSA", "RSA-PSS", "DSA", "ECDSA", "PLAIN-ECDSA"]
                .map(s)
                .to_vec(),
            min_key_bits: vec![
                (s("DSA"), 1024),
                (s("RSA"), 786),
                (s("RSA-PSS"), 786),
                (s("ECDSA"), 160),
                (s("PLAIN-ECDSA"), 160),
            ],
            digest_algorithms: [
                "MD5",
                "SHA-1",
                "SHA-224",
                "SHA-256",
                "SHA-384",
                "SHA-512",
                "SHA3-256",
                "SHA3-384",
                "SHA3-512",
                "RIPEMD160",
                "WHIRLPOOL",
            ]
            .map(s)
            .to_vec(),
            digest_expiry: vec![
                (s("MD5"), Some(ymd(2004, 8, 1))),
                (s("SHA-1"), Some(ymd(2012, 8, 1))),
                (s("SHA-224"), y2029),
                (s("SHA-256"), None),
                (s("SHA-384"), None),
                (s("SHA-512"), None),
                (s("SHA3-256"), None),
                (s("SHA3-384"), None),
                (s("SHA3-512"), None),
                (s("RIPEMD160"), Some(ymd(2014, 8, 1))),
                (s("WHIRLPOOL"), Some(ymd(2020, 12, 1))),
            ],
            key_expiry: vec![
                key("DSA", 1024, Some(ymd(2015, 12, 1))),
                key("DSA", 1900, y2029),
                key("DSA", 3000, None),
                key("RSA", 786, Some(ymd(2010, 8, 1))),
                key("RSA", 1024, Some(ymd(2019, 10, 1))),
                key("RSA", 1536, Some(ymd(2019, 10, 1))),
                key("RSA", 1900, y2029),
                key("RSA", 3000, y2029),
                key("RSA-PSS", 786, Some(ymd(2010, 8, 1))),
                key("RSA-PSS", 1024, Some(ymd(2019, 10, 1))),
                key("RSA-PSS", 1536, Some(ymd(2019, 10, 1))),
                key("RSA-PSS", 1900, y2029),
                key("RSA-PSS", 3000, None),
                key("ECDSA", 160, Some(ymd(2012, 8, 1))),
                key("ECDSA", 163, Some(ymd(2012, 8, 1))),
                key("ECDSA", 224, Some(ymd(2021, 10, 1))),
                key("ECDSA", 256, None),
                key("PLAIN-ECDSA", 160, Some(ymd(2012, 8, 1))),
                key("PLAIN-ECDSA", 163, Some(ymd(2012, 8, 1))),
                key("PLAIN-ECDSA", 224, Some(ymd(2021, 10, 1))),
                key("PLAIN-ECDSA", 256, None),
            ],
            update_date: Some(ymd(2024, 10, 13)),
        };
        Policy {
            name: s("QES AdES/QC TL based (EN 319 102-1, EU DSS default constraints)"),
            crypto,
            revocation_freshness: None,
            require_revocation: true,
            max_path_len: 10,
        }
    }

    /// Reads the global `<Cryptographic>` element of an EU DSS policy file
    /// (`ConstraintsParameters`) into a policy whose other settings are the defaults.
    /// DSS names are mapped to ours (`SHA256` → `SHA-256`, `RSASSA-PSS` → `RSA-PSS`,
    /// `EdDSA` → `Ed25519`).
    pub fn from_dss_constraint_xml(xml: &str) -> Result<Self, PolicyError> {
        if xml.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge(xml.len()));
        }
        let opts = roxmltree::ParsingOptions {
            allow_dtd: false,
            nodes_limit: 100_000,
            ..roxmltree::ParsingOptions::default()
        };
        let doc = roxmltree::Document::parse_with_options(xml, opts)?;
        let root = doc.root_element();
        let crypto_el = root
            .children()
            .find(|n| n.has_tag_name("Cryptographic"))
            .ok_or(PolicyError::NoCryptographic)?;
        let child = |name: &str| crypto_el.children().find(|n| n.has_tag_name(name));
        fn algos<'a, 'i>(el: Option<roxmltree::Node<'a, 'i>>) -> Vec<roxmltree::Node<'a, 'i>> {
            el.map(|e| e.children().filter(|n| n.has_tag_name("Algo")).collect())
                .unwrap_or_default()
        }
        let text = |n: &roxmltree::Node<'_, '_>| n.text().unwrap_or("").trim().to_string();
        let size = |n: &roxmltree::Node<'_, '_>| -> Result<Option<u32>, PolicyError> {
            n.attribute("Size")
                .map(|v| {
                    v.trim()
                        .parse::<u32>()
                        .map_err(|_| PolicyError::BadValue(format!("Size=\"{v}\"")))
                })
                .transpose()
        };
        let date = |v: &str| -> Result<OffsetDateTime, PolicyError> {
            let bad = || PolicyError::BadValue(format!("date \"{v}\""));
            let mut it = v.trim().splitn(3, '-');
            let y: i32 = it.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
            let m: u8 = it.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
            let d: u8 = it.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
            let month = Month::try_from(m).map_err(|_| bad())?;
            let date = Date::from_calendar_date(y, month, d).map_err(|_| bad())?;
            Ok(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc())
        };

        let mut c = CryptoConstraints {
            signature_algorithms: Vec::new(),
            min_key_bits: Vec::new(),
            digest_algorithms: Vec::new(),
            digest_expiry: Vec::new(),
            key_expiry: Vec::new(),
            update_date: None,
        };
        for a in algos(child("AcceptableEncryptionAlgo")) {
            c.signature_algorithms.push(dss_name(&text(&a)));
        }
        for a in algos(child("MiniPublicKeySize")) {
            let bits = size(&a)?.unwrap_or(0);
            c.min_key_bits.push((dss_name(&text(&a)), bits));
        }
        for a in algos(child("AcceptableDigestAlgo")) {
            c.digest_algorithms.push(dss_name(&text(&a)));
        }
        if let Some(exp) = child("AlgoExpirationDate") {
            if let Some(u) = exp.attribute("UpdateDate") {
                c.update_date = Some(date(u)?);
            }
            for a in algos(Some(exp)) {
                let name = dss_name(&text(&a));
                let expires = a.attribute("Date").map(date).transpose()?;
                match size(&a)? {
                    Some(bits) => c.key_expiry.push(KeyExpiry {
                        algorithm: name,
                        min_bits: bits,
                        expires,
                    }),
                    None => c.digest_expiry.push((name, expires)),
                }
            }
        }
        let name = root
            .attribute("Name")
            .map(str::to_string)
            .unwrap_or_else(|| s("DSS policy"));
        Ok(Policy {
            name,
            crypto: c,
            ..Policy::default_eu()
        })
    }

    /// `Ok` when `algs` are acceptable at `at`; otherwise a finding naming the
    /// algorithm or key size and, for an expired one, its expiry date. A forecast expiry
    /// (after the policy's update date) that has passed is not a failure here (see
    /// [`Policy::assess_algorithms`] for the warning).
    pub fn check_algorithms(&self, algs: &Algorithms, at: OffsetDateTime) -> Result<(), Finding> {
        match self.assess_algorithms(algs, at) {
            AlgoVerdict::Fail(f) => Err(f),
            AlgoVerdict::Ok | AlgoVerdict::Warn(_) => Ok(()),
        }
    }

    /// Like [`Policy::check_algorithms`], with the warning case.
    pub fn assess_algorithms(&self, algs: &Algorithms, at: OffsetDateTime) -> AlgoVerdict {
        let c = &self.crypto;
        let object = describe(algs);
        let fail = |constraint: &str, reason: String| {
            AlgoVerdict::Fail(Finding::new(constraint, object.clone(), reason))
        };
        let mut warning = None;
        let mut expired = |what: String, date: OffsetDateTime, constraint: &str| {
            let forecast = c.update_date.is_some_and(|u| date > u);
            let reason = format!(
                "{what} is not reliable after {} (cryptographic constraints of the policy)",
                fmt_date(date)
            );
            if forecast {
                warning.get_or_insert_with(|| {
                    Finding::new(
                        constraint,
                        object.clone(),
                        format!(
                            "{reason}; the date is a forecast made before {} (DSS LevelAfterUpdate WARN)",
                            c.update_date.map(fmt_date).unwrap_or_default()
                        ),
                    )
                });
                None
            } else {
                Some(Finding::new(constraint, object.clone(), reason))
            }
        };

        for d in [&algs.digest, &algs.signature_digest].into_iter().flatten() {
            if !c.digest_algorithms.iter().any(|a| a == d) {
                return fail(
                    "CC: digest algorithm",
                    format!("digest algorithm {d} is not acceptable"),
                );
            }
            if let Some((_, Some(exp))) = c.digest_expiry.iter().find(|(a, _)| a == d)
                && *exp <= at
                && let Some(f) = expired(
                    format!("digest algorithm {d}"),
                    *exp,
                    "CC: digest algorithm",
                )
            {
                return AlgoVerdict::Fail(f);
            }
        }
        if let Some(sig) = &algs.signature {
            if !c.signature_algorithms.iter().any(|a| a == sig) {
                return fail(
                    "CC: signature algorithm",
                    format!("signature algorithm {sig} is not acceptable"),
                );
            }
            if let Some(bits) = algs.key_bits {
                if let Some((_, min)) = c.min_key_bits.iter().find(|(a, _)| a == sig)
                    && bits < *min
                {
                    return fail(
                        "CC: public key size",
                        format!("{sig} key of {bits} bits is below the minimum of {min} bits"),
                    );
                }
                if let Some(e) = key_entry(c, sig, bits)
                    && let Some(exp) = e.expires
                    && exp <= at
                    && let Some(f) = expired(
                        format!("{sig} with a {bits}-bit key"),
                        exp,
                        "CC: public key size",
                    )
                {
                    return AlgoVerdict::Fail(f);
                }
            }
        }
        match warning {
            Some(w) => AlgoVerdict::Warn(w),
            None => AlgoVerdict::Ok,
        }
    }

    /// The date after which `algs` are no longer reliable (the earliest expiry of the
    /// digests and of the key size), for `CRYPTO_CONSTRAINTS_FAILURE_NO_POE` decisions:
    /// a proof of existence before this date keeps the object valid. `None` when no
    /// expiry applies (or the algorithms are unknown to the policy).
    pub fn algorithms_expiry(&self, algs: &Algorithms) -> Option<OffsetDateTime> {
        let c = &self.crypto;
        let digests = [&algs.digest, &algs.signature_digest]
            .into_iter()
            .flatten()
            .filter_map(|d| c.digest_expiry.iter().find(|(a, _)| a == d)?.1);
        let key = match (&algs.signature, algs.key_bits) {
            (Some(sig), Some(bits)) => key_entry(c, sig, bits).and_then(|e| e.expires),
            _ => None,
        };
        digests.chain(key).min()
    }
}

/// The expiry entry for a key: the one with the largest size not above `bits`.
fn key_entry<'a>(c: &'a CryptoConstraints, sig: &str, bits: u32) -> Option<&'a KeyExpiry> {
    c.key_expiry
        .iter()
        .filter(|e| e.algorithm == sig && e.min_bits <= bits)
        .max_by_key(|e| e.min_bits)
}

/// Maps DSS algorithm names to the names `crypto` reports.
fn dss_name(n: &str) -> String {
    match n {
        "SHA1" => s("SHA-1"),
        "SHA224" => s("SHA-224"),
        "SHA256" => s("SHA-256"),
        "SHA384" => s("SHA-384"),
        "SHA512" => s("SHA-512"),
        "RSASSA-PSS" => s("RSA-PSS"),
        "EdDSA" => s("Ed25519"),
        other => other.to_string(),
    }
}

fn fmt_date(t: OffsetDateTime) -> String {
    let d = t.date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `RSA 2048-bit with SHA-256`-style description.
pub fn describe(algs: &Algorithms) -> String {
    let mut out = algs
        .signature
        .clone()
        .unwrap_or_else(|| s("unknown algorithm"));
    if let Some(b) = algs.key_bits {
        out.push_str(&format!(" {b}-bit"));
    }
    if let Some(d) = algs.signature_digest.as_ref().or(algs.digest.as_ref()) {
        out.push_str(&format!(" with {d}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn algs(sig: &str, digest: &str, bits: u32) -> Algorithms {
        Algorithms {
            digest: Some(s(digest)),
            signature: Some(s(sig)),
            signature_digest: Some(s(digest)),
            key_bits: Some(bits),
        }
    }

    #[test]
    fn default_matches_dss_constraint_xml() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/policy/dss/constraint.xml");
        let xml = std::fs::read_to_string(path).unwrap();
        let parsed = Policy::from_dss_constraint_xml(&xml).unwrap();
        assert_eq!(parsed.name, "QES AES/QC AES TL based");
        assert_eq!(parsed.crypto, Policy::default_eu().crypto);
    }

    #[test]
    fn sha1_expired_and_sha256_fine() {
        let p = Policy::default_eu();
        let at = datetime!(2025-01-01 0:00 UTC);
        assert_eq!(
            p.check_algorithms(&algs("RSA", "SHA-256", 2048), at),
            Ok(())
        );
        assert_eq!(
            p.check_algorithms(&algs("ECDSA", "SHA-256", 256), at),
            Ok(())
        );
        let f = p
            .check_algorithms(&algs("RSA", "SHA-1", 2048), at)
            .unwrap_err();
        assert!(
            f.reason.contains("SHA-1") && f.reason.contains("2012-08-01"),
            "{f}"
        );
        // Before its expiry SHA-1 was fine.
        assert_eq!(
            p.check_algorithms(&algs("RSA", "SHA-1", 2048), datetime!(2011-01-01 0:00 UTC)),
            Ok(())
        );
        assert_eq!(
            p.algorithms_expiry(&algs("RSA", "SHA-1", 2048)),
            Some(datetime!(2012-08-01 0:00 UTC))
        );
    }

    #[test]
    fn key_sizes_and_unknown_algorithms() {
        let p = Policy::default_eu();
        let at = datetime!(2025-01-01 0:00 UTC);
        let f = p
            .check_algorithms(&algs("RSA", "SHA-256", 1024), at)
            .unwrap_err();
        assert!(
            f.reason.contains("1024") && f.reason.contains("2019-10-01"),
            "{f}"
        );
        let f = p
            .check_algorithms(&algs("RSA", "SHA-256", 512), at)
            .unwrap_err();
        assert!(f.reason.contains("minimum of 786"), "{f}");
        // Ed25519 is not in DSS' acceptable list.
        let ed = Algorithms {
            signature: Some(s("Ed25519")),
            key_bits: Some(256),
            ..Algorithms::default()
        };
        assert!(p.check_algorithms(&ed, at).is_err());
        assert!(p.check_algorithms(&algs("RSA", "MD2", 2048), at).is_err());
        // RSA 2048 is reliable until 2029-01-01; after that only a warning (forecast).
        assert_eq!(
            p.algorithms_expiry(&algs("RSA", "SHA-256", 2048)),
            Some(datetime!(2029-01-01 0:00 UTC))
        );
        let later = datetime!(2030-01-01 0:00 UTC);
        assert!(matches!(
            p.assess_algorithms(&algs("RSA", "SHA-256", 2048), later),
            AlgoVerdict::Warn(_)
        ));
        assert_eq!(p.algorithms_expiry(&algs("ECDSA", "SHA-384", 384)), None);
    }

    #[test]
    fn bad_policy_files() {
        assert!(Policy::from_dss_constraint_xml("<x/>").is_err());
        assert!(Policy::from_dss_constraint_xml("not xml").is_err());
        let bad = r#"<C><Cryptographic><AlgoExpirationDate><Algo Date="20x1-01-01">SHA1</Algo></AlgoExpirationDate></Cryptographic></C>"#;
        assert!(matches!(
            Policy::from_dss_constraint_xml(bad),
            Err(PolicyError::BadValue(_))
        ));
    }
}
