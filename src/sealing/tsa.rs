//! RFC 3161 time-stamping: the client the sealing pipeline asks for signature, document and
//! archive timestamps, and the development time-stamping unit (TSU).
//!
//! Owns: building `TimeStampReq`s (hash algorithm, message imprint, optional policy, a 64-bit
//! random nonce, `certReq`), talking to the configured TSAs over HTTP with failover (first
//! answer that passes every check wins), verifying each reply completely (PKI status, token
//! structure, nonce, imprint, policy, the token's CMS signature and ESS certificate binding
//! through `validation::tsp`, the TSA certificate's path to the configured TSA roots with the
//! timeStamping usage through `validation::chain`), and answering requests as the
//! development TSU (`TSTInfo` with a random serial, CMS `SignedData` by the TSU key).
//! Must not: decide what gets timestamped (the PAdES/XAdES builders do) or run the
//! development TSU in the production profile (`config` and `app` refuse it).

use std::time::Duration;

use const_oid::ObjectIdentifier;
use der::asn1::{GeneralizedTime, Int, OctetString};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TspVersion, TstInfo};

use crate::sealing::cms::build_signed_data;
use crate::sealing::keys::SealKey;
use crate::validation::chain::{self, CertCheckInput, TrustSources, Usage};
use crate::validation::cms::tlv;
use crate::validation::crypto::DigestAlg;
use crate::validation::evidence::{Check, TimestampKind};
use crate::validation::policy::Policy;
use crate::validation::report::{Indication, SubIndication};
use crate::validation::tsp;

/// id-ct-TSTInfo (RFC 3161 §2.4.2).
pub const OID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// Policy of the development TSU: under IANA's enterprise number 32473, reserved for examples
/// and documentation (RFC 5612), so that no one mistakes it for a real TSA policy.
pub const DEV_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.3161.1");
/// Media types of RFC 3161 §3.4.
pub const QUERY_TYPE: &str = "application/timestamp-query";
pub const REPLY_TYPE: &str = "application/timestamp-reply";
/// Largest request the TSU reads and largest reply the client accepts.
pub const MAX_REQUEST: usize = 16 * 1024;
pub const MAX_REPLY: usize = 256 * 1024;

/// Why no acceptable timestamp was obtained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsaError {
    #[error("no time-stamping authority is configured")]
    NoTsa,
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url}: the TSA refused the request (PKIStatus {status}{text})")]
    Refused {
        url: String,
        status: u8,
        text: String,
    },
    #[error("{url}: malformed reply: {reason}")]
    Malformed { url: String, reason: String },
    #[error("{url}: the reply's nonce does not match the request's")]
    NonceMismatch { url: String },
    #[error("{url}: the reply's message imprint does not match the request's")]
    ImprintMismatch { url: String },
    #[error("{url}: the reply's policy {got} is not the requested {want}")]
    PolicyMismatch {
        url: String,
        got: String,
        want: String,
    },
    #[error("{url}: the token's signature does not verify: {reason}")]
    BadSignature { url: String, reason: String },
    #[error("{url}: the TSA certificate is not trusted for time-stamping: {reason}")]
    Untrusted { url: String, reason: String },
    #[error("{url}: the token's time {gen_time} is not within {skew:?} of ours")]
    Clock {
        url: String,
        gen_time: String,
        skew: Duration,
    },
    #[error("every TSA failed: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    AllFailed(Vec<TsaError>),
}

/// What a reply must match.
#[derive(Debug, Clone)]
pub struct Expectation<'a> {
    pub alg: DigestAlg,
    pub imprint: &'a [u8],
    pub nonce: &'a [u8],
    pub policy: Option<ObjectIdentifier>,
}

fn digest_alg_id(alg: DigestAlg) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: alg.oid(),
        parameters: None,
    }
}

/// A DER `TimeStampReq` asking for `imprint` (a digest by `alg`) with `nonce` and `certReq`.
pub fn request(
    alg: DigestAlg,
    imprint: &[u8],
    nonce: &[u8],
    policy: Option<ObjectIdentifier>,
) -> Result<Vec<u8>, der::Error> {
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: digest_alg_id(alg),
            hashed_message: OctetString::new(imprint)?,
        },
        req_policy: policy,
        nonce: Some(Int::new(nonce)?),
        cert_req: true,
        extensions: None,
    };
    req.to_der()
}

/// A fresh positive 64-bit nonce (DER INTEGER contents without a sign problem).
pub fn fresh_nonce() -> [u8; 8] {
    let mut n = [0u8; 8];
    aws_lc_rs::rand::fill(&mut n).expect("the system random generator failed");
    n[0] = (n[0] & 0x7f) | 0x01;
    n
}

/// Checks a DER `TimeStampResp` against what was asked and returns the token
/// (`ContentInfo` DER). `roots`: the TSA roots (DER) the TSA certificate must chain to;
/// `now` and `skew`: the token's genTime must be within `skew` of `now`.
pub fn verify_reply(
    url: &str,
    reply: &[u8],
    want: &Expectation<'_>,
    roots: &[Vec<u8>],
    now: OffsetDateTime,
    skew: Duration,
) -> Result<Vec<u8>, TsaError> {
    let malformed = |reason: String| TsaError::Malformed {
        url: url.to_string(),
        reason,
    };
    if reply.len() > MAX_REPLY {
        return Err(malformed(format!("{} bytes is too large", reply.len())));
    }
    // Read leniently, as validation does: real TSAs send BER, duplicate certificates, …
    let (status, status_text, token) = read_reply(reply).map_err(malformed)?;
    // granted (0) or grantedWithMods (1)
    if status > 1 {
        return Err(TsaError::Refused {
            url: url.to_string(),
            status: u8::try_from(status).unwrap_or(u8::MAX),
            text: status_text,
        });
    }
    let token = token.ok_or_else(|| malformed("granted without a token".into()))?;
    let (_, tst) = tsp::parse_token(&token).map_err(|e| malformed(e.to_string()))?;
    let nonce_ok = tst
        .nonce
        .as_deref()
        .is_some_and(|n| n == tlv::strip_zeros(want.nonce));
    if !nonce_ok {
        return Err(TsaError::NonceMismatch {
            url: url.to_string(),
        });
    }
    if tst.imprint_alg != Some(want.alg) || tst.imprint != want.imprint {
        return Err(TsaError::ImprintMismatch {
            url: url.to_string(),
        });
    }
    if let Some(p) = want.policy
        && tst.policy != p.to_string()
    {
        return Err(TsaError::PolicyMismatch {
            url: url.to_string(),
            got: tst.policy.clone(),
            want: p.to_string(),
        });
    }
    let imprint = want.imprint.to_vec();
    let alg = want.alg;
    let ev = tsp::check_timestamp("TSA".into(), TimestampKind::Signature, &token, &move |a| {
        if a == alg {
            imprint.clone()
        } else {
            Vec::new()
        }
    });
    if let Check::Failed { reason, .. } = &ev.signature {
        return Err(TsaError::BadSignature {
            url: url.to_string(),
            reason: reason.clone(),
        });
    }
    let skew_t = time::Duration::try_from(skew).unwrap_or(time::Duration::MINUTE);
    if (tst.gen_time - now).abs() > skew_t {
        return Err(TsaError::Clock {
            url: url.to_string(),
            gen_time: tst.gen_time.to_string(),
            skew,
        });
    }
    let Some(tsa_cert) = ev.tsa_cert.as_ref() else {
        return Err(TsaError::Untrusted {
            url: url.to_string(),
            reason: "the token names no certificate it carries".into(),
        });
    };
    let policy = Policy::default();
    let trust = TrustSources {
        explicit: roots,
        registry: None,
    };
    let check = chain::check_certificate(&CertCheckInput {
        cert: tsa_cert,
        pool: &ev.certificates,
        crls: &[],
        ocsps: &[],
        trust: &trust,
        at: tst.gen_time,
        usage: Usage::Timestamping,
        policy: &policy,
        fetcher: None,
    });
    // Revocation of the TSA certificate is the long-term validation's business (it goes into
    // the DSS); here the path, validity, key usage and the timeStamping EKU must hold.
    let acceptable = matches!(
        (check.indication, check.sub_indication),
        (Indication::TotalPassed, _) | (Indication::Indeterminate, Some(SubIndication::TryLater))
    );
    if !acceptable || check.anchor.is_none() {
        let reason = check
            .errors
            .first()
            .map(|f| f.reason.clone())
            .or_else(|| check.sub_indication.map(|s| s.to_string()))
            .unwrap_or_else(|| "no path to a configured TSA root".into());
        return Err(TsaError::Untrusted {
            url: url.to_string(),
            reason,
        });
    }
    Ok(token)
}

/// `TimeStampResp` → (PKIStatus, status text, token `ContentInfo` bytes).
fn read_reply(reply: &[u8]) -> Result<(u64, String, Option<Vec<u8>>), String> {
    use crate::validation::cms::tlv::tag;
    let top = tlv::read_top(reply)
        .and_then(|t| t.expect(tag::SEQUENCE, "TimeStampResp"))
        .map_err(|e| e.0)?;
    let mut r = top.reader();
    let info = r
        .required("status")
        .and_then(|s| s.expect(tag::SEQUENCE, "PKIStatusInfo"))
        .map_err(|e| e.0)?;
    let mut ir = info.reader();
    let status = ir
        .required("status")
        .and_then(|s| s.small_uint())
        .map_err(|e| e.0)?;
    let mut text = String::new();
    if let Some(free) = ir.optional(tag::SEQUENCE).map_err(|e| e.0)? {
        let mut fr = free.reader();
        while let Some(t) = fr.next().map_err(|e| e.0)? {
            text.push_str(if text.is_empty() { ": " } else { " " });
            text.extend(String::from_utf8_lossy(t.body).chars().take(200));
        }
    }
    let token = r.next().map_err(|e| e.0)?.map(|t| t.raw.to_vec());
    Ok((status, text, token))
}

/// Something that returns a verified RFC 3161 token (`ContentInfo` DER, `certReq` honoured,
/// so the token carries the TSA certificate) over a message imprint. The sealing builders ask
/// it for signature, document and archive timestamps; [`TsaClient`] asks configured TSAs over
/// HTTP, [`TsaUnit`] answers in-process (development profile, benchmarks).
pub trait Timestamper: Send + Sync {
    /// A token over `imprint`, a digest computed with `alg`.
    fn timestamp<'a>(
        &'a self,
        alg: DigestAlg,
        imprint: &'a [u8],
    ) -> futures::future::BoxFuture<'a, Result<Vec<u8>, TsaError>>;
}

impl Timestamper for TsaClient {
    fn timestamp<'a>(
        &'a self,
        alg: DigestAlg,
        imprint: &'a [u8],
    ) -> futures::future::BoxFuture<'a, Result<Vec<u8>, TsaError>> {
        Box::pin(TsaClient::timestamp(self, alg, imprint))
    }
}

impl Timestamper for TsaUnit {
    fn timestamp<'a>(
        &'a self,
        alg: DigestAlg,
        imprint: &'a [u8],
    ) -> futures::future::BoxFuture<'a, Result<Vec<u8>, TsaError>> {
        Box::pin(std::future::ready(self.stamp(
            alg,
            imprint,
            OffsetDateTime::now_utc(),
        )))
    }
}

/// An RFC 3161 client over HTTP with failover across TSAs in the configured order.
pub struct TsaClient {
    urls: Vec<String>,
    policy: Option<ObjectIdentifier>,
    roots: Vec<Vec<u8>>,
    http: reqwest::Client,
    skew: Duration,
}

impl TsaClient {
    /// `roots`: DER certificates the TSA certificates must chain to.
    pub fn new(
        urls: Vec<String>,
        policy: Option<ObjectIdentifier>,
        roots: Vec<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Self, TsaError> {
        if urls.is_empty() {
            return Err(TsaError::NoTsa);
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("signgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TsaError::Transport {
                url: urls[0].clone(),
                reason: e.to_string(),
            })?;
        Ok(TsaClient {
            urls,
            policy,
            roots,
            http,
            skew: Duration::from_secs(120),
        })
    }

    /// A verified token over `imprint` from the first TSA that gives one.
    pub async fn timestamp(&self, alg: DigestAlg, imprint: &[u8]) -> Result<Vec<u8>, TsaError> {
        let mut failures = Vec::new();
        for url in &self.urls {
            match self.ask(url, alg, imprint).await {
                Ok(token) => return Ok(token),
                Err(e) => {
                    tracing::warn!(error = %e, "time-stamping authority failed; trying the next");
                    failures.push(e);
                }
            }
        }
        Err(TsaError::AllFailed(failures))
    }

    async fn ask(&self, url: &str, alg: DigestAlg, imprint: &[u8]) -> Result<Vec<u8>, TsaError> {
        let transport = |reason: String| TsaError::Transport {
            url: url.to_string(),
            reason,
        };
        let nonce = fresh_nonce();
        let body =
            request(alg, imprint, &nonce, self.policy).map_err(|e| transport(e.to_string()))?;
        let mut resp = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, QUERY_TYPE)
            .body(body)
            .send()
            .await
            .map_err(|e| transport(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(transport(format!("HTTP {}", resp.status())));
        }
        let mut reply = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(e.to_string()))? {
            if reply.len() + chunk.len() > MAX_REPLY {
                return Err(transport(format!("reply larger than {MAX_REPLY} bytes")));
            }
            reply.extend_from_slice(&chunk);
        }
        let want = Expectation {
            alg,
            imprint,
            nonce: &nonce,
            policy: self.policy,
        };
        verify_reply(
            url,
            &reply,
            &want,
            &self.roots,
            OffsetDateTime::now_utc(),
            self.skew,
        )
    }
}

/// The development time-stamping unit: answers `TimeStampReq`s with tokens signed by its key.
pub struct TsaUnit {
    key: SealKey,
    policy: ObjectIdentifier,
}

/// PKIFailureInfo bits (RFC 3161 §2.4.2) the unit answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    BadAlg = 0,
    BadRequest = 2,
    BadDataFormat = 5,
    UnacceptedPolicy = 15,
    SystemFailure = 25,
}

impl TsaUnit {
    pub fn new(key: SealKey, policy: ObjectIdentifier) -> Self {
        TsaUnit { key, policy }
    }

    /// The unit's certificate chain (leaf first).
    pub fn chain_pem(&self) -> String {
        self.key.chain_pem()
    }

    /// An in-process token over `imprint` (no HTTP, no nonce round trip): what
    /// [`Timestamper`] gives for the unit. The request goes through the same checks as one
    /// that arrived over HTTP.
    pub fn stamp(
        &self,
        alg: DigestAlg,
        imprint: &[u8],
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, TsaError> {
        let url = "in-process TSU";
        let req = request(alg, imprint, &fresh_nonce(), Some(self.policy)).map_err(|e| {
            TsaError::Malformed {
                url: url.into(),
                reason: e.to_string(),
            }
        })?;
        self.token(&req, now).map_err(|f| TsaError::Refused {
            url: url.into(),
            status: 2,
            text: format!(": {f:?}"),
        })
    }

    /// The unit's certificate chain (DER, leaf first).
    pub fn chain_der(&self) -> &[Vec<u8>] {
        self.key.chain_der()
    }

    /// Answers a DER `TimeStampReq` with a DER `TimeStampResp` (a rejection for bad requests).
    pub fn respond(&self, request: &[u8], now: OffsetDateTime) -> Vec<u8> {
        match self.token(request, now) {
            Ok(token) => granted(&token),
            Err(f) => rejection(f),
        }
    }

    fn token(&self, request: &[u8], now: OffsetDateTime) -> Result<Vec<u8>, Failure> {
        if request.len() > MAX_REQUEST {
            return Err(Failure::BadDataFormat);
        }
        let req = TimeStampReq::from_der(request).map_err(|_| Failure::BadDataFormat)?;
        let alg = DigestAlg::from_oid(&req.message_imprint.hash_algorithm.oid)
            .filter(|a| matches!(a, DigestAlg::Sha256 | DigestAlg::Sha384 | DigestAlg::Sha512))
            .ok_or(Failure::BadAlg)?;
        if req.message_imprint.hashed_message.as_bytes().len() != alg.digest(b"").len() {
            return Err(Failure::BadDataFormat);
        }
        if req.req_policy.is_some_and(|p| p != self.policy) {
            return Err(Failure::UnacceptedPolicy);
        }
        if req.extensions.is_some() {
            return Err(Failure::BadRequest);
        }
        let mut serial = [0u8; 16];
        aws_lc_rs::rand::fill(&mut serial).map_err(|_| Failure::SystemFailure)?;
        serial[0] &= 0x7f;
        serial[0] |= 0x01;
        let secs = now.unix_timestamp();
        let gen_time = GeneralizedTime::from_unix_duration(Duration::from_secs(
            u64::try_from(secs).map_err(|_| Failure::SystemFailure)?,
        ))
        .map_err(|_| Failure::SystemFailure)?;
        let tst = TstInfo {
            version: TspVersion::V1,
            policy: self.policy,
            message_imprint: req.message_imprint.clone(),
            serial_number: Int::new(&serial).map_err(|_| Failure::SystemFailure)?,
            gen_time,
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: req.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let tst_der = tst.to_der().map_err(|_| Failure::SystemFailure)?;
        let digest = self.key.digest_algorithm().digest(&tst_der);
        build_signed_data(
            OID_CT_TST_INFO,
            Some(&tst_der),
            digest.as_ref(),
            &self.key,
            req.cert_req,
            |_| Ok(Vec::new()),
        )
        .map_err(|_| Failure::SystemFailure)
    }
}

fn granted(token: &[u8]) -> Vec<u8> {
    // SEQUENCE { PKIStatusInfo { INTEGER 0 }, token }
    let status = [0x30, 0x03, 0x02, 0x01, 0x00];
    der_sequence(&[&status, token])
}

fn rejection(f: Failure) -> Vec<u8> {
    // PKIStatusInfo { status rejection(2), failInfo BIT STRING with bit `f` set }
    let bit = f as usize;
    let n_bytes = bit / 8 + 1;
    let mut bits = vec![0u8; n_bytes];
    bits[bit / 8] = 0x80 >> (bit % 8);
    let unused = 7 - (bit % 8) as u8;
    let mut bit_string = vec![0x03, (n_bytes + 1) as u8, unused];
    bit_string.extend_from_slice(&bits);
    let info = der_sequence(&[&[0x02, 0x01, 0x02], &bit_string]);
    der_sequence(&[&info])
}

fn der_sequence(parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = vec![0x30];
    tlv::push_len(&mut out, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sealing::keys::ensure_dev_pki;

    fn unit() -> (tempfile::TempDir, TsaUnit, Vec<Vec<u8>>) {
        let dir = tempfile::tempdir().unwrap();
        let p = ensure_dev_pki(dir.path(), None).unwrap();
        let key = SealKey::from_files(&p.tsa_key, &p.tsa_chain).unwrap();
        let pem = std::fs::read_to_string(&p.root_cert).unwrap();
        let root = crate::trust::anchors::parse_pem_certs(&pem, "dev root").unwrap();
        (dir, TsaUnit::new(key, DEV_POLICY), root)
    }

    fn ask(u: &TsaUnit, imprint: &[u8], nonce: &[u8]) -> Vec<u8> {
        let req = request(DigestAlg::Sha256, imprint, nonce, Some(DEV_POLICY)).unwrap();
        u.respond(&req, OffsetDateTime::now_utc())
    }

    #[test]
    fn unit_tokens_verify_and_bind_the_request() {
        let (_d, u, roots) = unit();
        let imprint = DigestAlg::Sha256.digest(b"signature value");
        let nonce = fresh_nonce();
        let reply = ask(&u, &imprint, &nonce);
        let want = Expectation {
            alg: DigestAlg::Sha256,
            imprint: &imprint,
            nonce: &nonce,
            policy: Some(DEV_POLICY),
        };
        let now = OffsetDateTime::now_utc();
        let skew = Duration::from_secs(60);
        let token = verify_reply("dev", &reply, &want, &roots, now, skew).unwrap();
        let (_, tst) = tsp::parse_token(&token).unwrap();
        assert_eq!(tst.policy, DEV_POLICY.to_string());

        // Another nonce, another imprint, another policy, an untrusted root: refused.
        let other = fresh_nonce();
        let e = verify_reply(
            "dev",
            &reply,
            &Expectation {
                nonce: &other,
                ..want.clone()
            },
            &roots,
            now,
            skew,
        );
        assert!(matches!(e, Err(TsaError::NonceMismatch { .. })), "{e:?}");
        let wrong = DigestAlg::Sha256.digest(b"other");
        let e = verify_reply(
            "dev",
            &reply,
            &Expectation {
                imprint: &wrong,
                ..want.clone()
            },
            &roots,
            now,
            skew,
        );
        assert!(matches!(e, Err(TsaError::ImprintMismatch { .. })), "{e:?}");
        let p = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.1");
        let e = verify_reply(
            "dev",
            &reply,
            &Expectation {
                policy: Some(p),
                ..want.clone()
            },
            &roots,
            now,
            skew,
        );
        assert!(matches!(e, Err(TsaError::PolicyMismatch { .. })), "{e:?}");
        let (_d2, _u2, other_roots) = unit();
        let e = verify_reply("dev", &reply, &want, &other_roots, now, skew);
        assert!(matches!(e, Err(TsaError::Untrusted { .. })), "{e:?}");
        let later = now + time::Duration::hours(1);
        let e = verify_reply("dev", &reply, &want, &roots, later, skew);
        assert!(matches!(e, Err(TsaError::Clock { .. })), "{e:?}");
        // A flipped byte in the token's signature.
        let mut bad = reply.clone();
        let n = bad.len();
        bad[n - 5] ^= 0x01;
        let e = verify_reply("dev", &bad, &want, &roots, now, skew);
        assert!(
            matches!(
                e,
                Err(TsaError::BadSignature { .. } | TsaError::Malformed { .. })
            ),
            "{e:?}"
        );
    }

    #[test]
    fn unit_refuses_bad_requests_with_pki_status() {
        let (_d, u, roots) = unit();
        let nonce = fresh_nonce();
        let imprint = DigestAlg::Sha256.digest(b"x");
        let want = Expectation {
            alg: DigestAlg::Sha256,
            imprint: &imprint,
            nonce: &nonce,
            policy: None,
        };
        let now = OffsetDateTime::now_utc();
        for req in [
            b"garbage".to_vec(),
            request(DigestAlg::Sha1, &DigestAlg::Sha1.digest(b"x"), &nonce, None).unwrap(),
            request(DigestAlg::Sha256, &imprint[..10], &nonce, None).unwrap(),
            request(
                DigestAlg::Sha256,
                &imprint,
                &nonce,
                Some(ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.9")),
            )
            .unwrap(),
        ] {
            let reply = u.respond(&req, now);
            let e = verify_reply("dev", &reply, &want, &roots, now, Duration::from_secs(60));
            assert!(
                matches!(e, Err(TsaError::Refused { status: 2, .. })),
                "{e:?}"
            );
        }
    }
}
