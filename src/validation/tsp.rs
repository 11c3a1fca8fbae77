//! RFC 3161 time-stamp tokens for validation: the `TSTInfo` (RFC 3161 §2.4.2) and the
//! check of one token against the data it must cover.
//!
//! Owns: [`parse_token`] (a `SignedData` whose eContent is `id-ct-TSTInfo`) and
//! [`check_timestamp`], which fills a [`TimestampEvidence`]: message imprint, CMS
//! signature of the token with its ESS signing-certificate reference, TSA certificate,
//! certificates and algorithms.
//! Must not touch: what the timestamp covers (the caller hands over the digest of the
//! covered data), TSA trust, chain or qualification decisions, or timestamp ordering.

use time::OffsetDateTime;

use super::cms::{self, CmsError, Content, ParsedSignedData, oids, tlv};
use super::crypto::DigestAlg;
use super::evidence::{Algorithms, CertRef, Check, TimestampEvidence, TimestampKind};
use super::report::SubIndication;

/// Why a token could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TspError {
    /// The CMS structure is unreadable.
    #[error("time-stamp token: {0}")]
    Cms(#[from] CmsError),
    /// The eContentType is not `id-ct-TSTInfo`.
    #[error("time-stamp token content type is {0}, not id-ct-TSTInfo")]
    NotTstInfo(String),
    /// No encapsulated `TSTInfo`.
    #[error("time-stamp token without encapsulated TSTInfo")]
    NoContent,
    /// The `TSTInfo` is malformed.
    #[error("malformed TSTInfo: {0}")]
    Malformed(String),
}

/// The parts of `TSTInfo` validation uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TstInfo {
    /// `genTime`.
    pub gen_time: OffsetDateTime,
    /// `messageImprint.hashAlgorithm` (`None` if not supported).
    pub imprint_alg: Option<DigestAlg>,
    /// `messageImprint.hashedMessage`.
    pub imprint: Vec<u8>,
    /// `policy` OID.
    pub policy: String,
    /// `serialNumber` contents.
    pub serial: Vec<u8>,
    /// `tsa` when a directory name (RFC 4514), or a description of another name form.
    pub tsa_name: Option<String>,
    /// `accuracy` in milliseconds.
    pub accuracy_ms: Option<u64>,
    /// `nonce` contents (leading zero octets removed), when present.
    pub nonce: Option<Vec<u8>>,
}

fn bad(e: tlv::TlvError) -> TspError {
    TspError::Malformed(e.0)
}

/// Parses a `TSTInfo`.
pub fn parse_tst_info(der: &[u8]) -> Result<TstInfo, TspError> {
    use tlv::tag;
    let top = tlv::read_top(der).map_err(bad)?;
    let top = top.expect(tag::SEQUENCE, "TSTInfo").map_err(bad)?;
    let mut r = top.reader();
    let version = r
        .required("version")
        .and_then(|v| v.small_uint())
        .map_err(bad)?;
    if version != 1 {
        return Err(TspError::Malformed(format!("version {version}")));
    }
    let policy = r
        .required("policy")
        .and_then(|p| p.oid_string())
        .map_err(bad)?;
    let mi = r
        .required("messageImprint")
        .and_then(|m| m.expect(tag::SEQUENCE, "messageImprint"))
        .map_err(bad)?;
    let mut mr = mi.reader();
    let alg = mr
        .required("hashAlgorithm")
        .and_then(|a| a.expect(tag::SEQUENCE, "hashAlgorithm"))
        .and_then(|a| a.reader().required("algorithm").and_then(|o| o.oid()))
        .map_err(bad)?;
    let imprint = mr
        .required("hashedMessage")
        .and_then(|h| h.octets())
        .map_err(bad)?
        .into_owned();
    let serial = r
        .required("serialNumber")
        .and_then(|s| s.integer().map(<[u8]>::to_vec))
        .map_err(bad)?;
    let gen_t = r.required("genTime").map_err(bad)?;
    if gen_t.tag != tag::GENERALIZED_TIME {
        return Err(TspError::Malformed(
            "genTime is not a GeneralizedTime".into(),
        ));
    }
    let gen_time = gen_t.time().map_err(bad)?;
    let mut accuracy_ms = None;
    let mut tsa_name = None;
    let mut nonce = None;
    while let Some(f) = r.next().map_err(bad)? {
        match f.tag {
            tag::SEQUENCE => {
                let mut ms: u64 = 0;
                let mut ar = f.reader();
                while let Some(a) = ar.next().map_err(bad)? {
                    let v = tlv::strip_zeros(a.body);
                    if v.len() > 8 {
                        return Err(TspError::Malformed("accuracy too large".into()));
                    }
                    let n = v.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
                    match a.tag {
                        tag::INTEGER => ms = ms.saturating_add(n.saturating_mul(1000)),
                        t if t == tag::ctx_prim(0) => ms = ms.saturating_add(n),
                        t if t == tag::ctx_prim(1) => ms = ms.saturating_add(n.div_ceil(1000)),
                        _ => {}
                    }
                }
                accuracy_ms = Some(ms);
            }
            t if t == tag::ctx(0) => {
                tsa_name = f.reader().next().ok().flatten().map(|g| general_name(&g));
            }
            tag::INTEGER => {
                nonce = Some(tlv::strip_zeros(f.integer().map_err(bad)?).to_vec());
            }
            _ => {}
        }
    }
    Ok(TstInfo {
        gen_time,
        imprint_alg: DigestAlg::from_oid(&alg),
        imprint,
        policy,
        serial,
        tsa_name,
        accuracy_ms,
        nonce,
    })
}

fn general_name(g: &tlv::Tlv<'_>) -> String {
    use der::Decode as _;
    match g.tag {
        0xa4 => g
            .reader()
            .next()
            .ok()
            .flatten()
            .and_then(|n| x509_cert::name::Name::from_der(n.raw).ok())
            .map(|n| n.to_string())
            .unwrap_or_else(|| "unreadable directory name".into()),
        0x81 | 0x82 | 0x86 => String::from_utf8_lossy(g.body).into_owned(),
        t => format!("general name with tag {t:#04x}"),
    }
}

/// Parses a `TimeStampToken` (`ContentInfo` DER) into its `SignedData` and `TSTInfo`.
pub fn parse_token(token: &[u8]) -> Result<(ParsedSignedData, TstInfo), TspError> {
    let sd = cms::parse_signed_data(token)?;
    if sd.econtent_type() != oids::TST_INFO {
        return Err(TspError::NotTstInfo(sd.econtent_type().to_string()));
    }
    let tst = parse_tst_info(sd.econtent().ok_or(TspError::NoContent)?)?;
    Ok((sd, tst))
}

/// Checks one token: the message imprint against `digest_of_covered(imprint_alg)`, the
/// token's CMS signature and ESS signing-certificate reference. Never panics; an
/// unreadable token yields `genTime` = UNIX epoch and failed checks.
pub fn check_timestamp(
    id: String,
    kind: TimestampKind,
    token: &[u8],
    digest_of_covered: &dyn Fn(DigestAlg) -> Vec<u8>,
) -> TimestampEvidence {
    check_timestamp_any(id, kind, token, &|alg| vec![digest_of_covered(alg)]).0
}

/// [`check_timestamp`] for data with more than one accepted encoding (e.g. the two
/// archive-time-stamp v2 inputs of ETSI TS 101 733 Annex K): `candidates(imprint_alg)`
/// lists the digests of each accepted encoding, in order of preference; the imprint
/// passes when it equals one of them, and the index of the first one it equals is
/// returned alongside.
pub fn check_timestamp_any(
    id: String,
    kind: TimestampKind,
    token: &[u8],
    candidates: &dyn Fn(DigestAlg) -> Vec<Vec<u8>>,
) -> (TimestampEvidence, Option<usize>) {
    let failed = |sub, reason: String| Check::Failed { sub, reason };
    let (sd, tst) = match parse_token(token) {
        Ok(x) => x,
        Err(e) => {
            let ev = TimestampEvidence {
                id,
                kind,
                gen_time: OffsetDateTime::UNIX_EPOCH,
                token: token.to_vec(),
                imprint: failed(SubIndication::FormatFailure, e.to_string()),
                signature: failed(SubIndication::FormatFailure, e.to_string()),
                tsa_cert: None,
                certificates: Vec::new(),
                algorithms: Algorithms::default(),
                covered_certificates: Vec::new(),
                covered_crls: Vec::new(),
                covered_ocsps: Vec::new(),
            };
            return (ev, None);
        }
    };
    let mut matched = None;
    let imprint = match tst.imprint_alg {
        None => failed(
            SubIndication::FormatFailure,
            "the message imprint uses an unsupported hash algorithm".into(),
        ),
        Some(alg) => {
            // An empty candidate stands for "the covered data is not available": never a
            // match, not even for a token whose hashedMessage is empty.
            matched = candidates(alg)
                .iter()
                .position(|c| !c.is_empty() && *c == tst.imprint);
            if matched.is_some() {
                Check::Passed
            } else {
                failed(
                    SubIndication::HashFailure,
                    format!(
                        "the {} message imprint does not match the time-stamped data",
                        alg.name()
                    ),
                )
            }
        }
    };
    let (signature, tsa_cert, algorithms) = if sd.signer_count() != 1 {
        (
            failed(
                SubIndication::FormatFailure,
                format!(
                    "a time-stamp token has {} signers, not one",
                    sd.signer_count()
                ),
            ),
            None,
            Algorithms::default(),
        )
    } else {
        let c = sd.verify_signer(0, &Content::Attached);
        let sig = match (&c.integrity, c.cert_ref) {
            (Check::Passed, CertRef::Mismatch) => failed(
                SubIndication::FormatFailure,
                "the ESS signing-certificate reference does not match the TSA certificate".into(),
            ),
            (other, _) => other.clone(),
        };
        (sig, c.signer_cert, c.algorithms)
    };
    let ev = TimestampEvidence {
        id,
        kind,
        gen_time: tst.gen_time,
        token: sd.der().to_vec(),
        imprint,
        signature,
        tsa_cert,
        certificates: sd.certificates(),
        algorithms,
        covered_certificates: Vec::new(),
        covered_crls: Vec::new(),
        covered_ocsps: Vec::new(),
    };
    (ev, matched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::cms::test_support::*;

    fn pyhanko() -> (Vec<u8>, Vec<PdfSig>) {
        let pdf = data("pades/pyhanko/pades-lta-dss-indirect-arrs-test.pdf");
        let sigs = pdf_signatures(&pdf);
        assert_eq!(sigs.len(), 2);
        (pdf, sigs)
    }

    #[test]
    fn pyhanko_document_timestamp_checks() {
        let (pdf, sigs) = pyhanko();
        let (ranges, token) = sigs[1].clone();
        let (_, tst) = parse_token(&token).unwrap();
        assert_eq!(tst.imprint_alg, Some(DigestAlg::Sha256));
        let content = Content::Ranges {
            data: &pdf,
            ranges: ranges.clone(),
        };
        let covered = |alg: DigestAlg| content.digest(alg, None).unwrap();
        let ev = check_timestamp("TS-1".into(), TimestampKind::Document, &token, &covered);
        assert_eq!(ev.imprint, Check::Passed);
        assert_eq!(ev.signature, Check::Passed);
        assert!(ev.tsa_cert.is_some());
        assert!(!ev.certificates.is_empty());
        assert_eq!(ev.gen_time.year(), 2020);
        // The pyHanko test TSA key verified (the PEM in tests/data is a later re-issue
        // of the same key with other validity dates, so compare the SPKI).
        let tsa_pem = data("pki/pyhanko-testing-ca/tsa.cert.pem");
        let (_, tsa_der) = der::pem::decode_vec(&tsa_pem).unwrap();
        let ours = cms::cert_parts(ev.tsa_cert.as_deref().unwrap()).unwrap();
        assert_eq!(ours.spki, cms::cert_parts(&tsa_der).unwrap().spki);

        // The same token over other data: imprint fails, signature still verifies.
        let ev = check_timestamp("TS-1".into(), TimestampKind::Document, &token, &|a| {
            a.digest(b"other")
        });
        assert!(matches!(
            ev.imprint,
            Check::Failed {
                sub: SubIndication::HashFailure,
                ..
            }
        ));
        assert_eq!(ev.signature, Check::Passed);
    }

    #[test]
    fn pyhanko_signature_timestamp_covers_the_signature_value() {
        let (pdf, sigs) = pyhanko();
        let (ranges, der) = sigs[0].clone();
        let sd = cms::parse_signed_data(&der).unwrap();
        let c = sd.verify_signer(0, &Content::Ranges { data: &pdf, ranges });
        assert_eq!(c.integrity, Check::Passed);
        assert_eq!(c.signature_timestamps.len(), 1);
        let sv = c.signature_value.clone();
        let ev = check_timestamp(
            "TS-1".into(),
            TimestampKind::Signature,
            &c.signature_timestamps[0],
            &|a| a.digest(&sv),
        );
        assert_eq!(ev.imprint, Check::Passed);
        assert_eq!(ev.signature, Check::Passed);
        let mut other = sv.clone();
        other[0] ^= 1;
        let ev = check_timestamp(
            "TS-1".into(),
            TimestampKind::Signature,
            &c.signature_timestamps[0],
            &|a| a.digest(&other),
        );
        assert!(!ev.imprint.passed());
    }

    #[test]
    fn openssl_ts_tokens_verify_rsa_and_ecdsa() {
        for ec in [false, true] {
            let Some((_keep, dir)) = test_tsa(ec) else {
                eprintln!("openssl not installed: skipped");
                return;
            };
            let doc = b"the quick brown fox";
            let token = openssl_token(&dir, doc).unwrap();
            let (_, tst) = parse_token(&token).unwrap();
            assert_eq!(tst.policy, "1.2.3.4.1");
            assert_eq!(tst.accuracy_ms, Some(1500));
            assert!(
                tst.tsa_name
                    .as_deref()
                    .unwrap_or_default()
                    .contains("signgate test TSA")
            );
            let age = OffsetDateTime::now_utc() - tst.gen_time;
            assert!(age.whole_minutes().abs() < 10, "genTime {}", tst.gen_time);
            let ev = check_timestamp("TS-1".into(), TimestampKind::Signature, &token, &|a| {
                a.digest(doc)
            });
            assert_eq!(ev.imprint, Check::Passed, "ec={ec}");
            assert_eq!(ev.signature, Check::Passed, "ec={ec}");
            assert_eq!(
                ev.algorithms.signature.as_deref(),
                Some(if ec { "ECDSA" } else { "RSA" })
            );
            let pem = std::fs::read(dir.join("tsa.pem")).unwrap();
            let (_, tsa_der) = der::pem::decode_vec(&pem).unwrap();
            assert_eq!(ev.tsa_cert, Some(tsa_der));
            // Wrong imprint.
            let ev = check_timestamp("TS-1".into(), TimestampKind::Signature, &token, &|a| {
                a.digest(b"the quick brown fox.")
            });
            assert!(matches!(
                ev.imprint,
                Check::Failed {
                    sub: SubIndication::HashFailure,
                    ..
                }
            ));
            // Tampered TSTInfo (serial number byte): signature fails.
            let sd = cms::parse_signed_data(&token).unwrap();
            let tst_der = sd.econtent().unwrap().to_vec();
            let at = token
                .windows(tst_der.len())
                .position(|w| w == tst_der)
                .unwrap();
            let mut bad = token.clone();
            bad[at + tst_der.len() - 1] ^= 1;
            let ev = check_timestamp("TS-1".into(), TimestampKind::Signature, &bad, &|a| {
                a.digest(doc)
            });
            assert!(!ev.signature.passed());
        }
    }

    #[test]
    fn any_of_several_encodings_but_never_an_unavailable_one() {
        let Some((_keep, dir)) = test_tsa(false) else {
            eprintln!("openssl not installed: skipped");
            return;
        };
        let token = openssl_token(&dir, b"second encoding").unwrap();
        let (ev, matched) =
            check_timestamp_any("TS-1".into(), TimestampKind::Archive, &token, &|a| {
                vec![a.digest(b"first encoding"), a.digest(b"second encoding")]
            });
        assert_eq!(ev.imprint, Check::Passed);
        assert_eq!(matched, Some(1));
        // An empty candidate means "the covered data is not available": no match.
        let (ev, matched) =
            check_timestamp_any("TS-1".into(), TimestampKind::Archive, &token, &|_| {
                vec![Vec::new()]
            });
        assert!(!ev.imprint.passed());
        assert_eq!(matched, None);
    }

    #[test]
    fn garbage_tokens_fail_without_panicking() {
        for t in [
            &b""[..],
            b"\x30\x03\x02\x01\x01",
            b"nonsense",
            &[0x30, 0x80, 0x30, 0x80],
        ] {
            let ev = check_timestamp("TS-9".into(), TimestampKind::Archive, t, &|a| a.digest(b""));
            assert_eq!(ev.gen_time, OffsetDateTime::UNIX_EPOCH);
            assert!(!ev.imprint.passed() && !ev.signature.passed());
        }
        // A SignedData that is not a TSTInfo.
        let cades = data("cades/dss/signedCadesB.p7m");
        assert!(matches!(parse_token(&cades), Err(TspError::NotTstInfo(_))));
        assert!(parse_tst_info(b"\x30\x00").is_err());
    }
}
