//! Revocation status of one certificate at a control time (RFC 6960 OCSP, RFC 5280
//! CRLs), from the data a signature carries and, when that gives no answer, from the
//! network.
//!
//! Owns: parsing OCSP responses (`OCSPResponse` or bare `BasicOCSPResponse`) and CRLs,
//! verifying them (OCSP signed by the issuing CA or by a delegated responder the CA
//! certified with `id-kp-OCSPSigning`; CRLs signed by the issuer, direct CRLs only),
//! matching them to a certificate (OCSP `CertID` with any hash, CRL issuer name and
//! serial), choosing the answer ([`check_revocation`]), building OCSP requests
//! ([`build_ocsp_request`]) and the online fetcher ([`RevocationFetcher`],
//! [`HttpFetcher`]: http/https only, timeouts, size limits, a cache honouring
//! `nextUpdate`).
//! Must not touch: path building or trust decisions (that is `chain`, which hands this
//! module a certificate and its issuer from a path it built), policy contents
//! (`policy`), signature formats.

use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use der::asn1::{AnyRef, OctetString};
use der::{Decode, Encode};
use time::OffsetDateTime;
use x509_cert::crl::CertificateList;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, TbsRequest,
};

use super::chain::CertInfo;
use super::crypto::{DigestAlg, verify_signed_object};
use super::evidence::Der;
use super::policy::Policy;
use super::report::Finding;

/// Largest OCSP response accepted (embedded or fetched).
pub const MAX_OCSP_BYTES: usize = 64 * 1024;
/// Largest CRL accepted (embedded or fetched).
pub const MAX_CRL_BYTES: usize = 16 * 1024 * 1024;
/// Most revocation objects of each kind looked at for one validation.
pub const MAX_OBJECTS: usize = 256;
/// Most single responses looked at in one OCSP response.
const MAX_SINGLE_RESPONSES: usize = 1024;
/// Most URLs (of each kind) tried online per certificate.
const MAX_URLS: usize = 2;

const OID_OCSP_BASIC: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const OID_KP_OCSP_SIGNING: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
const OID_CRL_NUMBER: &str = "2.5.29.20";
const OID_DELTA_CRL: &str = "2.5.29.27";
const OID_IDP: &str = "2.5.29.28";
const OID_AKI: &str = "2.5.29.35";
const OID_FRESHEST: &str = "2.5.29.46";
const OID_EXPIRED_ON_CRL: &str = "2.5.29.60";
const OID_REASON: &str = "2.5.29.21";
const OID_INVALIDITY: &str = "2.5.29.24";
const OID_CERT_ISSUER: &str = "2.5.29.29";

/// Why revocation data could not be read or a request built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationError {
    /// Not the expected ASN.1 structure.
    #[error("malformed {what}: {msg}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Decoder message.
        msg: String,
    },
    /// The OCSP response status is not `successful`.
    #[error("OCSP response status is {0}")]
    OcspStatus(String),
    /// Larger than the limit.
    #[error("{what} of {size} bytes exceeds the limit")]
    TooLarge {
        /// What.
        what: &'static str,
        /// Size.
        size: usize,
    },
}

/// Why an online fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Not an http/https URL (or unparseable).
    #[error("URL not fetched (only http and https are): {0}")]
    BadUrl(String),
    /// Transport error or timeout.
    #[error("HTTP request failed: {0}")]
    Http(String),
    /// Non-success HTTP status.
    #[error("HTTP status {0}")]
    Status(u16),
    /// Body larger than the limit.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
}

/// Online source of revocation data. Implementations block; call
/// [`crate::validation::chain::check_certificate`] from a blocking context.
pub trait RevocationFetcher: Send + Sync {
    /// POSTs a DER `OCSPRequest` to `url`, returns the DER `OCSPResponse`.
    fn fetch_ocsp(&self, url: &str, request_der: &[u8]) -> Result<Vec<u8>, FetchError>;
    /// GETs the CRL at `url` (DER).
    fn fetch_crl(&self, url: &str) -> Result<Vec<u8>, FetchError>;
}

/// Where a revocation answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum RevocationSource {
    /// An OCSP response.
    Ocsp,
    /// A CRL.
    Crl,
}

/// Revocation status of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationStatus {
    /// Not revoked according to the data used.
    Good,
    /// Revoked (or on hold) since `time`. Whether that matters depends on the control
    /// time: `chain` compares.
    Revoked {
        /// `revocationTime` / `revocationDate`.
        time: OffsetDateTime,
        /// CRL reason (`keyCompromise`, `certificateHold`, …), if given.
        reason: Option<String>,
    },
    /// The OCSP responder does not know the certificate.
    Unknown,
    /// Deliberately not checked (trust anchor, `id-pkix-ocsp-nocheck`): why.
    NotChecked(String),
    /// No usable revocation data was found (embedded or online).
    Unavailable,
}

/// The revocation result for one certificate of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationFinding {
    /// `certificate CN=…, serial …`.
    pub certificate: String,
    /// Status.
    pub status: RevocationStatus,
    /// Kind of data the status comes from.
    pub source: Option<RevocationSource>,
    /// Who signed that data (the CA or the OCSP responder), as a DN.
    pub signed_by: Option<String>,
    /// `thisUpdate` of the data (OCSP single response or CRL).
    pub this_update: Option<OffsetDateTime>,
    /// `nextUpdate`, if any.
    pub next_update: Option<OffsetDateTime>,
    /// OCSP `producedAt`.
    pub produced_at: Option<OffsetDateTime>,
    /// `true` when the data was fetched online (not carried by the signature).
    pub fetched: bool,
    /// The CRL or OCSP response used (DER), e.g. to embed for LTV.
    pub data: Option<Der>,
    /// The delegated OCSP responder certificate that signed the response, if any.
    pub responder_cert: Option<Der>,
    /// Notes on the data used (stale, issued after expiry, responder not checked…).
    pub warnings: Vec<Finding>,
    /// Data found for this certificate but not accepted, and why.
    pub rejected: Vec<Finding>,
}

impl RevocationFinding {
    /// A finding without data.
    pub fn new(certificate: impl Into<String>, status: RevocationStatus) -> Self {
        RevocationFinding {
            certificate: certificate.into(),
            status,
            source: None,
            signed_by: None,
            this_update: None,
            next_update: None,
            produced_at: None,
            fetched: false,
            data: None,
            responder_cert: None,
            warnings: Vec::new(),
            rejected: Vec::new(),
        }
    }

    /// Short text for the report (`good (OCSP, 2025-01-01T…)`, `revoked 2021-… (keyCompromise)`).
    pub fn summary(&self) -> String {
        let src = match self.source {
            Some(RevocationSource::Ocsp) => "OCSP",
            Some(RevocationSource::Crl) => "CRL",
            None => "",
        };
        let when = self
            .this_update
            .map(|t| format!(", {}", rfc3339(t)))
            .unwrap_or_default();
        match &self.status {
            RevocationStatus::Good => format!("good ({src}{when})"),
            RevocationStatus::Revoked { time, reason } => format!(
                "revoked {}{} ({src}{when})",
                rfc3339(*time),
                reason.as_ref().map(|r| format!(" {r}")).unwrap_or_default()
            ),
            RevocationStatus::Unknown => format!("unknown ({src}{when})"),
            RevocationStatus::NotChecked(why) => format!("not checked: {why}"),
            RevocationStatus::Unavailable => "no revocation data".to_string(),
        }
    }
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn malformed(what: &'static str) -> impl Fn(der::Error) -> RevocationError {
    move |e| RevocationError::Malformed {
        what,
        msg: e.to_string(),
    }
}

fn time_of(t: x509_cert::time::Time) -> OffsetDateTime {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn gtime(t: &x509_ocsp::OcspGeneralizedTime) -> OffsetDateTime {
    let secs = i64::try_from(t.0.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A parsed OCSP response.
pub struct ParsedOcsp {
    /// As given (OCSPResponse or BasicOCSPResponse DER).
    pub der: Der,
    basic: BasicOcspResponse,
    /// `SEQUENCE { tbsResponseData, signatureAlgorithm, signature }` for
    /// [`verify_signed_object`].
    signed: Vec<u8>,
    /// `producedAt`.
    pub produced_at: OffsetDateTime,
    /// The embedded `certs`, each re-encoded once here for the responder search.
    certs_der: Vec<Der>,
}

/// Parses an `OCSPResponse` (status must be `successful`, type `id-pkix-ocsp-basic`) or
/// a bare `BasicOCSPResponse`.
pub fn parse_ocsp(der: &[u8]) -> Result<ParsedOcsp, RevocationError> {
    if der.len() > MAX_OCSP_BYTES {
        return Err(RevocationError::TooLarge {
            what: "OCSP response",
            size: der.len(),
        });
    }
    let basic_der: Vec<u8> = match OcspResponse::from_der(der) {
        Ok(resp) => {
            if resp.response_status != OcspResponseStatus::Successful {
                return Err(RevocationError::OcspStatus(format!(
                    "{:?}",
                    resp.response_status
                )));
            }
            let rb = resp.response_bytes.ok_or(RevocationError::Malformed {
                what: "OCSP response",
                msg: "successful response without responseBytes".into(),
            })?;
            if rb.response_type != OID_OCSP_BASIC {
                return Err(RevocationError::Malformed {
                    what: "OCSP response",
                    msg: format!(
                        "response type {} is not id-pkix-ocsp-basic",
                        rb.response_type
                    ),
                });
            }
            rb.response.as_bytes().to_vec()
        }
        Err(_) => der.to_vec(),
    };
    let basic = BasicOcspResponse::from_der(&basic_der).map_err(malformed("BasicOCSPResponse"))?;
    // Re-assemble the signed part from the raw encodings.
    let outer = AnyRef::from_der(&basic_der).map_err(malformed("BasicOCSPResponse"))?;
    let mut reader =
        der::SliceReader::new(outer.value()).map_err(malformed("BasicOCSPResponse"))?;
    let mut body = Vec::new();
    for _ in 0..3 {
        let part: AnyRef<'_> =
            der::Decode::decode(&mut reader).map_err(malformed("BasicOCSPResponse"))?;
        part.encode_to_vec(&mut body)
            .map_err(malformed("BasicOCSPResponse"))?;
    }
    let signed = wrap_sequence(&body).map_err(malformed("BasicOCSPResponse"))?;
    let produced_at = gtime(&basic.tbs_response_data.produced_at);
    let certs_der = basic
        .certs
        .iter()
        .flatten()
        .filter_map(|c| c.to_der().ok())
        .collect();
    Ok(ParsedOcsp {
        der: der.to_vec(),
        basic,
        signed,
        produced_at,
        certs_der,
    })
}

fn wrap_sequence(body: &[u8]) -> der::Result<Vec<u8>> {
    let len = der::Length::try_from(body.len())?;
    let mut out = vec![0x30];
    len.encode_to_vec(&mut out)?;
    out.extend_from_slice(body);
    Ok(out)
}

/// A parsed CRL.
pub struct ParsedCrl {
    /// As given.
    pub der: Der,
    crl: CertificateList,
    /// DER of the issuer name.
    issuer: Vec<u8>,
    /// `normalized_name_der(issuer)`, computed once.
    issuer_norm: Option<String>,
    /// `thisUpdate`.
    pub this_update: OffsetDateTime,
    /// `nextUpdate`.
    pub next_update: Option<OffsetDateTime>,
}

/// Parses a DER CRL.
pub fn parse_crl(der: &[u8]) -> Result<ParsedCrl, RevocationError> {
    if der.len() > MAX_CRL_BYTES {
        return Err(RevocationError::TooLarge {
            what: "CRL",
            size: der.len(),
        });
    }
    let crl = CertificateList::from_der(der).map_err(malformed("CRL"))?;
    let issuer = crl
        .tbs_cert_list
        .issuer
        .to_der()
        .map_err(malformed("CRL"))?;
    let this_update = time_of(crl.tbs_cert_list.this_update);
    let next_update = crl.tbs_cert_list.next_update.map(time_of);
    let issuer_norm = crate::trust::cert::normalized_name_der(&issuer);
    Ok(ParsedCrl {
        der: der.to_vec(),
        crl,
        issuer,
        issuer_norm,
        this_update,
        next_update,
    })
}

/// The `nextUpdate` of a DER OCSP response (first single response) or CRL, for caches.
pub fn next_update_of(der: &[u8], is_crl: bool) -> Option<OffsetDateTime> {
    if is_crl {
        parse_crl(der).ok()?.next_update
    } else {
        let p = parse_ocsp(der).ok()?;
        p.basic
            .tbs_response_data
            .responses
            .first()?
            .next_update
            .as_ref()
            .map(gtime)
    }
}

/// Builds a DER `OCSPRequest` for `cert` issued by `issuer` with a SHA-1 `CertID`
/// (what RFC 5019 / RFC 6960 responders commonly require), no nonce, unsigned.
pub fn build_ocsp_request(cert: &[u8], issuer: &[u8]) -> Result<Vec<u8>, RevocationError> {
    let c = CertInfo::parse(cert).map_err(|m| RevocationError::Malformed {
        what: "certificate",
        msg: m,
    })?;
    let i = CertInfo::parse(issuer).map_err(|m| RevocationError::Malformed {
        what: "issuer certificate",
        msg: m,
    })?;
    request_for(&c, &i)
}

pub(crate) fn request_for(c: &CertInfo, i: &CertInfo) -> Result<Vec<u8>, RevocationError> {
    let h = DigestAlg::Sha1;
    let cert_id = CertId {
        hash_algorithm: spki::AlgorithmIdentifierOwned {
            oid: h.oid(),
            parameters: Some(der::asn1::Null.into()),
        },
        issuer_name_hash: OctetString::new(h.digest(&i.subject)).map_err(malformed("CertID"))?,
        issuer_key_hash: OctetString::new(h.digest(&i.public_key)).map_err(malformed("CertID"))?,
        serial_number: x509_cert::serial_number::SerialNumber::new(&c.serial)
            .map_err(malformed("serial number"))?,
    };
    let req = OcspRequest {
        tbs_request: TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: cert_id,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    };
    req.to_der().map_err(malformed("OCSPRequest"))
}

/// The embedded revocation data of a validation, parsed once.
pub struct RevocationData {
    ocsps: Vec<ParsedOcsp>,
    crls: Vec<ParsedCrl>,
    /// Objects that could not be read.
    pub problems: Vec<Finding>,
}

impl RevocationData {
    /// Parses up to [`MAX_OBJECTS`] of each; unreadable ones become `problems`.
    pub fn parse(crls: &[Der], ocsps: &[Der]) -> Self {
        let mut problems = Vec::new();
        let mut out_o = Vec::new();
        for (n, d) in ocsps.iter().take(MAX_OBJECTS).enumerate() {
            match parse_ocsp(d) {
                Ok(p) => out_o.push(p),
                Err(e) => problems.push(Finding::new(
                    "XCV: revocation data",
                    format!("OCSP response #{}", n + 1),
                    format!("not usable: {e}"),
                )),
            }
        }
        let mut out_c = Vec::new();
        for (n, d) in crls.iter().take(MAX_OBJECTS).enumerate() {
            match parse_crl(d) {
                Ok(p) => out_c.push(p),
                Err(e) => problems.push(Finding::new(
                    "XCV: revocation data",
                    format!("CRL #{}", n + 1),
                    format!("not usable: {e}"),
                )),
            }
        }
        if ocsps.len() > MAX_OBJECTS || crls.len() > MAX_OBJECTS {
            problems.push(Finding::new(
                "XCV: revocation data",
                "revocation data",
                format!("only the first {MAX_OBJECTS} CRLs and OCSP responses were used"),
            ));
        }
        RevocationData {
            ocsps: out_o,
            crls: out_c,
            problems,
        }
    }
}

/// Inputs of [`check_revocation`] besides the certificate.
pub struct RevocationContext<'a> {
    /// Embedded data.
    pub data: &'a RevocationData,
    /// Certificates available to find OCSP responder certificates.
    pub pool: &'a [Der],
    /// Control time.
    pub at: OffsetDateTime,
    /// Policy (freshness, algorithms).
    pub policy: &'a Policy,
    /// Online fetcher, used only when the embedded data gives no answer.
    pub fetcher: Option<&'a dyn RevocationFetcher>,
}

/// One accepted answer.
struct Answer {
    source: RevocationSource,
    status: RevocationStatus,
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
    produced_at: Option<OffsetDateTime>,
    signed_by: String,
    data: Der,
    responder_cert: Option<Der>,
    warnings: Vec<Finding>,
}

impl Answer {
    fn is_hold(&self) -> bool {
        matches!(&self.status, RevocationStatus::Revoked { reason: Some(r), .. } if r == "certificateHold")
    }
}

/// The answer of one OCSP response for `cert` (issued by `issuer`): `None` when the
/// response is not about this certificate.
///
/// `nested` is set while checking a delegated responder's own certificate: a response
/// for it must then come from the CA itself or from a responder with
/// `id-pkix-ocsp-nocheck` (no further recursion).
fn ocsp_answer(
    p: &ParsedOcsp,
    cert: &CertInfo,
    issuer: &CertInfo,
    pool: &[Der],
    ctx: &RevocationContext<'_>,
    nested: bool,
) -> Option<Result<Answer, Finding>> {
    let single = p
        .basic
        .tbs_response_data
        .responses
        .iter()
        .take(MAX_SINGLE_RESPONSES)
        .find(|s| {
            let id = &s.cert_id;
            let Some(h) = DigestAlg::from_oid(&id.hash_algorithm.oid) else {
                return false;
            };
            id.serial_number.as_bytes() == cert.serial.as_slice()
                && id.issuer_name_hash.as_bytes() == h.digest(&issuer.subject).as_slice()
                && id.issuer_key_hash.as_bytes() == h.digest(&issuer.public_key).as_slice()
        })?;
    let object = "OCSP response".to_string();
    let reject = |reason: String| {
        Some(Err(Finding::new(
            "XCV: revocation data",
            object.clone(),
            reason,
        )))
    };

    // Find the responder certificate named by responderID: the CA itself, then the
    // response's own certificates, then the pool, each tried in that order until one
    // is authorised and verifies the response (later candidates are not parsed).
    let rid = &p.basic.tbs_response_data.responder_id;
    let rid_name = match rid {
        ResponderId::ByName(n) => n.to_der().ok().map(|d| {
            let norm = crate::trust::cert::normalized_name_der(&d);
            (d, norm)
        }),
        ResponderId::ByKey(_) => None,
    };
    let matches_rid = |c: &CertInfo| match rid {
        ResponderId::ByName(_) => rid_name
            .as_ref()
            .is_some_and(|(d, norm)| c.subject_is(d, norm.as_deref())),
        ResponderId::ByKey(k) => k.as_bytes() == DigestAlg::Sha1.digest(&c.public_key).as_slice(),
    };
    let mut tried: Vec<std::sync::Arc<CertInfo>> = Vec::new();
    let mut last_problem = String::new();
    let mut chosen: Option<(std::sync::Arc<CertInfo>, super::evidence::Algorithms)> = None;
    let mut try_candidate =
        |cand: std::sync::Arc<CertInfo>, tried: &mut Vec<std::sync::Arc<CertInfo>>| {
            match responder_signs(p, &cand, issuer) {
                Ok(algs) => Some((cand, algs)),
                Err(problem) => {
                    last_problem = problem;
                    tried.push(cand);
                    None
                }
            }
        };
    if matches_rid(issuer) {
        chosen = try_candidate(std::sync::Arc::new(issuer.clone()), &mut tried);
    }
    let mut found = chosen.is_some() || !tried.is_empty();
    if chosen.is_none() {
        for d in p.certs_der.iter().chain(pool.iter()).take(MAX_OBJECTS) {
            if tried.iter().any(|c| c.der == *d) {
                continue;
            }
            if let Ok(ci) = CertInfo::parse(d)
                && matches_rid(&ci)
            {
                found = true;
                chosen = try_candidate(ci, &mut tried);
                if chosen.is_some() {
                    break;
                }
            }
        }
    }
    if !found {
        return reject(format!(
            "the responder certificate ({}) was not found",
            match rid {
                ResponderId::ByName(n) => format!("by name {n}"),
                ResponderId::ByKey(k) => format!("by key {}", hex::encode(k.as_bytes())),
            }
        ));
    }
    let Some((responder, algs)) = chosen else {
        return reject(last_problem);
    };
    if let Err(mut f) = ctx.policy.check_algorithms(&algs, ctx.at) {
        f.object = object.clone();
        return Some(Err(f));
    }
    let mut warnings = Vec::new();
    let delegated = responder.der != issuer.der;
    if delegated && !responder.ocsp_nocheck {
        if nested {
            return reject(format!(
                "the delegated responder {} of a responder's own status lacks id-pkix-ocsp-nocheck",
                responder.label
            ));
        }
        // RFC 6960 §4.2.2.2.1: without id-pkix-ocsp-nocheck the responder certificate's
        // own status must be checked (EN 319 102-1 §5.2.6: the revocation data's
        // issuer chain is validated too).
        match responder_status(&responder, issuer, p.produced_at, ctx) {
            ResponderStatus::Good(how) => warnings.extend(how),
            ResponderStatus::RevokedBefore(why) | ResponderStatus::Unknown(why) => {
                return reject(why);
            }
            ResponderStatus::Unavailable(notes) => {
                warnings.extend(notes);
                warnings.push(Finding::new(
                    "XCV: revocation data",
                    format!("OCSP responder {}", responder.label),
                    "the responder certificate has no id-pkix-ocsp-nocheck and no revocation data for it was found; its own revocation status was not checked",
                ));
            }
        }
    }
    let status = match single.cert_status {
        CertStatus::Good(_) => RevocationStatus::Good,
        CertStatus::Revoked(info) => RevocationStatus::Revoked {
            time: gtime(&info.revocation_time),
            reason: info.revocation_reason.map(reason_name),
        },
        CertStatus::Unknown(_) => RevocationStatus::Unknown,
    };
    Some(Ok(Answer {
        source: RevocationSource::Ocsp,
        status,
        this_update: gtime(&single.this_update),
        next_update: single.next_update.as_ref().map(gtime),
        produced_at: Some(p.produced_at),
        signed_by: responder.subject_dn.clone(),
        data: p.der.clone(),
        responder_cert: delegated.then(|| responder.der.clone()),
        warnings,
    }))
}

fn reason_name(r: x509_cert::ext::pkix::CrlReason) -> String {
    use x509_cert::ext::pkix::CrlReason as R;
    match r {
        R::Unspecified => "unspecified",
        R::KeyCompromise => "keyCompromise",
        R::CaCompromise => "cACompromise",
        R::AffiliationChanged => "affiliationChanged",
        R::Superseded => "superseded",
        R::CessationOfOperation => "cessationOfOperation",
        R::CertificateHold => "certificateHold",
        R::RemoveFromCRL => "removeFromCRL",
        R::PrivilegeWithdrawn => "privilegeWithdrawn",
        R::AaCompromise => "aACompromise",
    }
    .to_string()
}

/// The status of a delegated OCSP responder's certificate (without
/// `id-pkix-ocsp-nocheck`) for one of its responses.
enum ResponderStatus {
    /// Not revoked when the response was produced; notes on the data used.
    Good(Vec<Finding>),
    /// Revoked (not on hold) at or before `producedAt`: the response is not accepted.
    RevokedBefore(String),
    /// The only answer is `unknown`.
    Unknown(String),
    /// No data (embedded or online): notes on what was tried.
    Unavailable(Vec<Finding>),
}

/// Checks `responder` (issued by `issuer`) from the embedded CRLs and OCSP responses
/// (signed by the CA or a `nocheck` responder, never recursing further), else from its
/// CRL distribution points and OCSP URLs online when a fetcher is given.
fn responder_status(
    responder: &CertInfo,
    issuer: &CertInfo,
    produced_at: OffsetDateTime,
    ctx: &RevocationContext<'_>,
) -> ResponderStatus {
    let mut rejected = Vec::new();
    let collect = |ocsps: &[ParsedOcsp], crls: &[ParsedCrl], rejected: &mut Vec<Finding>| {
        let mut out = Vec::new();
        for p in ocsps {
            match ocsp_answer(p, responder, issuer, ctx.pool, ctx, true) {
                Some(Ok(a)) => out.push(a),
                Some(Err(f)) => rejected.push(f),
                None => {}
            }
        }
        for p in crls {
            match crl_answer(p, responder, issuer, ctx) {
                Some(Ok(a)) => out.push(a),
                Some(Err(f)) => rejected.push(f),
                None => {}
            }
        }
        out
    };
    let mut best = decide(collect(&ctx.data.ocsps, &ctx.data.crls, &mut rejected));
    let mut notes = Vec::new();
    if best.is_none()
        && let Some(fetcher) = ctx.fetcher
    {
        let mut online = Vec::new();
        for url in responder
            .crl_urls
            .iter()
            .filter(|u| is_http(u))
            .take(MAX_URLS)
        {
            match fetcher
                .fetch_crl(url)
                .map_err(|e| e.to_string())
                .and_then(|b| parse_crl(&b).map_err(|e| e.to_string()))
            {
                Ok(c) => online.extend(collect(&[], std::slice::from_ref(&c), &mut rejected)),
                Err(e) => notes.push(Finding::new(
                    "XCV: revocation data",
                    responder.label.clone(),
                    format!("downloading the CRL {url} failed: {e}"),
                )),
            }
            if !online.is_empty() {
                break;
            }
        }
        if online.is_empty()
            && let Ok(req) = request_for(responder, issuer)
        {
            for url in responder
                .ocsp_urls
                .iter()
                .filter(|u| is_http(u))
                .take(MAX_URLS)
            {
                match fetcher
                    .fetch_ocsp(url, &req)
                    .map_err(|e| e.to_string())
                    .and_then(|b| parse_ocsp(&b).map_err(|e| e.to_string()))
                {
                    Ok(o) => online.extend(collect(std::slice::from_ref(&o), &[], &mut rejected)),
                    Err(e) => notes.push(Finding::new(
                        "XCV: revocation data",
                        responder.label.clone(),
                        format!("online OCSP request to {url} failed: {e}"),
                    )),
                }
                if !online.is_empty() {
                    break;
                }
            }
        }
        best = decide(online);
    }
    let Some(a) = best else {
        notes.extend(rejected);
        return ResponderStatus::Unavailable(notes);
    };
    let what = format!(
        "{} signed by {} at {}",
        match a.source {
            RevocationSource::Ocsp => "OCSP response",
            RevocationSource::Crl => "CRL",
        },
        a.signed_by,
        rfc3339(a.this_update)
    );
    match &a.status {
        // A hold (suspension) in force when the response was produced counts too.
        RevocationStatus::Revoked { time, reason } if *time <= produced_at => {
            ResponderStatus::RevokedBefore(format!(
                "the responder certificate {} was revoked at {}{}, before the response was produced at {} ({what})",
                responder.label,
                rfc3339(*time),
                reason
                    .as_ref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
                rfc3339(produced_at)
            ))
        }
        RevocationStatus::Unknown => ResponderStatus::Unknown(format!(
            "the status of the responder certificate {} is unknown ({what})",
            responder.label
        )),
        _ => {
            let mut notes = notes;
            if let RevocationStatus::Revoked { time, .. } = &a.status {
                notes.push(Finding::new(
                    "XCV: revocation data",
                    format!("OCSP responder {}", responder.label),
                    format!(
                        "the responder certificate was revoked at {}, after the response was produced ({what})",
                        rfc3339(*time)
                    ),
                ));
            }
            notes.extend(a.warnings);
            ResponderStatus::Good(notes)
        }
    }
}

/// Whether `cand` (named by the response's responderID) may sign `p` for certificates
/// issued by `issuer` — the CA itself, or a delegated responder certified by it for OCSP
/// signing and valid at producedAt — and the response's signature verifies with its
/// key. `Err` says why not.
fn responder_signs(
    p: &ParsedOcsp,
    cand: &CertInfo,
    issuer: &CertInfo,
) -> Result<super::evidence::Algorithms, String> {
    let is_ca = cand.spki == issuer.spki
        && cand.subject_is(&issuer.subject, issuer.subject_norm.as_deref());
    if !is_ca {
        // Delegated responder: certified by the CA for OCSP signing.
        if verify_signed_object(&cand.der, &issuer.spki).is_err() {
            return Err(format!(
                "responder {} is not authorised: its certificate was not issued by {} (the certificate's issuer)",
                cand.label, issuer.label
            ));
        }
        if !cand
            .eku
            .as_ref()
            .is_some_and(|(e, _)| e.contains(&OID_KP_OCSP_SIGNING))
        {
            return Err(format!(
                "responder {} is not authorised: its certificate lacks extended key usage id-kp-OCSPSigning",
                cand.label
            ));
        }
        if !(cand.not_before <= p.produced_at && p.produced_at <= cand.not_after) {
            return Err(format!(
                "responder certificate {} was not valid at producedAt {}",
                cand.label,
                rfc3339(p.produced_at)
            ));
        }
    }
    verify_signed_object(&p.signed, &cand.spki).map_err(|e| {
        format!(
            "the response signature does not verify with {}: {e}",
            cand.label
        )
    })
}

/// The answer of one CRL for `cert`: `None` when the CRL is not from its issuer or
/// its scope excludes the certificate.
fn crl_answer(
    p: &ParsedCrl,
    cert: &CertInfo,
    issuer: &CertInfo,
    ctx: &RevocationContext<'_>,
) -> Option<Result<Answer, Finding>> {
    if !super::chain::names_equal_normed(
        &p.issuer,
        p.issuer_norm.as_deref(),
        &cert.issuer,
        cert.issuer_norm.as_deref(),
    ) {
        return None;
    }
    let object = format!(
        "CRL issued by {} at {}",
        issuer.subject_dn,
        rfc3339(p.this_update)
    );
    let reject = |reason: String| {
        Some(Err(Finding::new(
            "XCV: revocation data",
            object.clone(),
            reason,
        )))
    };
    let tbs = &p.crl.tbs_cert_list;
    let mut warnings = Vec::new();
    for ext in tbs.crl_extensions.iter().flatten() {
        let id = ext.extn_id.to_string();
        match id.as_str() {
            OID_DELTA_CRL => return reject("delta CRLs are not supported".into()),
            OID_IDP => {
                let Ok(idp) = x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint::from_der(
                    ext.extn_value.as_bytes(),
                ) else {
                    return reject("unreadable issuingDistributionPoint".into());
                };
                if idp.indirect_crl {
                    return reject("indirect CRLs are not supported".into());
                }
                if idp.only_contains_attribute_certs
                    || (idp.only_contains_user_certs && cert.is_ca())
                    || (idp.only_contains_ca_certs && !cert.is_ca())
                {
                    return None;
                }
                if idp.only_some_reasons.is_some() {
                    return reject("CRLs limited to some reasons are not supported".into());
                }
            }
            OID_CRL_NUMBER | OID_AKI | OID_FRESHEST | OID_EXPIRED_ON_CRL => {}
            _ if ext.critical => {
                return reject(format!("unsupported critical CRL extension {id}"));
            }
            _ => {}
        }
    }
    let algs = match verify_signed_object(&p.der, &issuer.spki) {
        Ok(a) => a,
        Err(e) => {
            return reject(format!(
                "the CRL signature does not verify with {}: {e}",
                issuer.label
            ));
        }
    };
    if let Some(ku) = &issuer.key_usage
        && !ku.crl_sign
    {
        return reject(format!("{} has no cRLSign key usage", issuer.label));
    }
    if let Err(mut f) = ctx.policy.check_algorithms(&algs, ctx.at) {
        f.object = object.clone();
        return Some(Err(f));
    }
    let mut status = RevocationStatus::Good;
    for entry in tbs.revoked_certificates.iter().flatten() {
        if entry.serial_number.as_bytes() != cert.serial.as_slice() {
            continue;
        }
        let mut reason = None;
        for ext in entry.crl_entry_extensions.iter().flatten() {
            let id = ext.extn_id.to_string();
            match id.as_str() {
                OID_REASON => {
                    reason = x509_cert::ext::pkix::CrlReason::from_der(ext.extn_value.as_bytes())
                        .ok()
                        .map(reason_name);
                }
                OID_INVALIDITY => {}
                OID_CERT_ISSUER => {
                    return reject("CRL entry with certificateIssuer (indirect CRL)".into());
                }
                _ if ext.critical => {
                    return reject(format!("unsupported critical CRL entry extension {id}"));
                }
                _ => {}
            }
        }
        if reason.as_deref() == Some("removeFromCRL") {
            status = RevocationStatus::Good;
            warnings.push(Finding::new(
                "XCV: revocation data",
                object.clone(),
                "entry removeFromCRL: the certificate was released from hold",
            ));
        } else {
            status = RevocationStatus::Revoked {
                time: time_of(entry.revocation_date),
                reason,
            };
        }
        break;
    }
    Some(Ok(Answer {
        source: RevocationSource::Crl,
        status,
        this_update: p.this_update,
        next_update: p.next_update,
        produced_at: None,
        signed_by: issuer.subject_dn.clone(),
        data: p.der.clone(),
        responder_cert: None,
        warnings,
    }))
}

/// Collects the accepted answers of `ocsps` and `crls` for `cert`.
fn answers(
    ocsps: &[ParsedOcsp],
    crls: &[ParsedCrl],
    cert: &CertInfo,
    issuer: &CertInfo,
    ctx: &RevocationContext<'_>,
    rejected: &mut Vec<Finding>,
) -> Vec<Answer> {
    let mut out = Vec::new();
    let mut push = |r: Result<Answer, Finding>, out: &mut Vec<Answer>| match r {
        Ok(a) => {
            if a.this_update < cert.not_before {
                rejected.push(Finding::new(
                    "XCV: revocation data",
                    format!("{:?} signed by {}", a.source, a.signed_by),
                    format!(
                        "issued at {}, before the certificate's notBefore {}",
                        rfc3339(a.this_update),
                        rfc3339(cert.not_before)
                    ),
                ));
            } else {
                out.push(a);
            }
        }
        Err(f) => rejected.push(f),
    };
    for p in ocsps {
        if let Some(r) = ocsp_answer(p, cert, issuer, ctx.pool, ctx, false) {
            push(r, &mut out);
        }
    }
    for p in crls {
        if let Some(r) = crl_answer(p, cert, issuer, ctx) {
            push(r, &mut out);
        }
    }
    out
}

/// Picks the decisive answer: a permanent revocation (earliest) wins; otherwise the
/// freshest good/hold answer; otherwise the freshest `unknown`.
fn decide(mut answers: Vec<Answer>) -> Option<Answer> {
    let revoked = answers
        .iter()
        .enumerate()
        .filter(|(_, a)| matches!(a.status, RevocationStatus::Revoked { .. }) && !a.is_hold())
        .min_by_key(|(_, a)| match a.status {
            RevocationStatus::Revoked { time, .. } => time,
            _ => OffsetDateTime::UNIX_EPOCH,
        })
        .map(|(i, _)| i);
    if let Some(i) = revoked {
        return Some(answers.swap_remove(i));
    }
    let decisive = answers
        .iter()
        .enumerate()
        .filter(|(_, a)| a.status != RevocationStatus::Unknown)
        .max_by_key(|(_, a)| (a.this_update, a.source == RevocationSource::Ocsp))
        .map(|(i, _)| i);
    if let Some(i) = decisive {
        return Some(answers.swap_remove(i));
    }
    let i = answers
        .iter()
        .enumerate()
        .max_by_key(|(_, a)| a.this_update)
        .map(|(i, _)| i)?;
    Some(answers.swap_remove(i))
}

fn is_http(url: &str) -> bool {
    let l = url.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// Revocation status of `cert` (issued by `issuer`) at `ctx.at`: from the embedded
/// data, and when that gives no good/revoked answer (or only stale data under a
/// freshness policy) from the certificate's AIA OCSP URLs and CRL distribution points
/// through `ctx.fetcher`.
pub fn check_revocation(
    ctx: &RevocationContext<'_>,
    cert: &CertInfo,
    issuer: &CertInfo,
) -> RevocationFinding {
    let mut rejected = Vec::new();
    let mut notes = Vec::new();
    let embedded = answers(
        &ctx.data.ocsps,
        &ctx.data.crls,
        cert,
        issuer,
        ctx,
        &mut rejected,
    );
    let mut best = decide(embedded);
    let mut fetched = false;
    let stale = |a: &Answer| {
        ctx.policy
            .revocation_freshness
            .is_some_and(|f| a.this_update + f < ctx.at)
    };
    let need_online = match &best {
        None => true,
        Some(a) => a.status == RevocationStatus::Unknown || stale(a),
    };
    if need_online && let Some(fetcher) = ctx.fetcher {
        let mut online = Vec::new();
        let mut got_decisive = false;
        for url in cert.ocsp_urls.iter().filter(|u| is_http(u)).take(MAX_URLS) {
            let req = match request_for(cert, issuer) {
                Ok(r) => r,
                Err(e) => {
                    notes.push(Finding::new(
                        "XCV: revocation data",
                        cert.label.clone(),
                        format!("no OCSP request: {e}"),
                    ));
                    break;
                }
            };
            match fetcher
                .fetch_ocsp(url, &req)
                .map_err(|e| e.to_string())
                .and_then(|b| parse_ocsp(&b).map_err(|e| e.to_string()))
            {
                Ok(p) => {
                    let got = answers(
                        std::slice::from_ref(&p),
                        &[],
                        cert,
                        issuer,
                        ctx,
                        &mut rejected,
                    );
                    got_decisive |= got.iter().any(|a| a.status != RevocationStatus::Unknown);
                    online.extend(got);
                }
                Err(e) => notes.push(Finding::new(
                    "XCV: revocation data",
                    cert.label.clone(),
                    format!("online OCSP request to {url} failed: {e}"),
                )),
            }
            if got_decisive {
                break;
            }
        }
        if !got_decisive {
            for url in cert.crl_urls.iter().filter(|u| is_http(u)).take(MAX_URLS) {
                match fetcher
                    .fetch_crl(url)
                    .map_err(|e| e.to_string())
                    .and_then(|b| parse_crl(&b).map_err(|e| e.to_string()))
                {
                    Ok(p) => {
                        let got = answers(
                            &[],
                            std::slice::from_ref(&p),
                            cert,
                            issuer,
                            ctx,
                            &mut rejected,
                        );
                        got_decisive |= got.iter().any(|a| a.status != RevocationStatus::Unknown);
                        online.extend(got);
                    }
                    Err(e) => notes.push(Finding::new(
                        "XCV: revocation data",
                        cert.label.clone(),
                        format!("downloading the CRL {url} failed: {e}"),
                    )),
                }
                if got_decisive {
                    break;
                }
            }
        }
        if let Some(a) = decide(online) {
            let better = match &best {
                None => true,
                Some(b) => b.status == RevocationStatus::Unknown || a.this_update > b.this_update,
            };
            if better {
                best = Some(a);
                fetched = true;
            }
        }
    }
    let Some(mut a) = best else {
        let mut f = RevocationFinding::new(cert.label.clone(), RevocationStatus::Unavailable);
        f.rejected = rejected;
        f.warnings = notes;
        return f;
    };
    let mut warnings = notes;
    warnings.append(&mut a.warnings);
    if stale(&a) {
        warnings.push(Finding::new(
            "XCV: revocation freshness",
            cert.label.clone(),
            format!(
                "the revocation data was issued at {}, more than the policy's {} s before the control time {}",
                rfc3339(a.this_update),
                ctx.policy.revocation_freshness.map(|d| d.as_secs()).unwrap_or(0),
                rfc3339(ctx.at)
            ),
        ));
    }
    if let Some(n) = a.next_update
        && n < ctx.at
        && a.status == RevocationStatus::Good
    {
        warnings.push(Finding::new(
            "XCV: revocation freshness",
            cert.label.clone(),
            format!(
                "the revocation data's nextUpdate {} is before the control time",
                rfc3339(n)
            ),
        ));
    }
    if a.source == RevocationSource::Crl
        && a.this_update > cert.not_after
        && a.status == RevocationStatus::Good
    {
        warnings.push(Finding::new(
            "XCV: revocation data",
            cert.label.clone(),
            "the CRL was issued after the certificate expired; CAs may drop expired certificates from CRLs",
        ));
    }
    RevocationFinding {
        certificate: cert.label.clone(),
        status: a.status,
        source: Some(a.source),
        signed_by: Some(a.signed_by),
        this_update: Some(a.this_update),
        next_update: a.next_update,
        produced_at: a.produced_at,
        fetched,
        data: Some(a.data),
        responder_cert: a.responder_cert,
        warnings,
        rejected,
    }
}

// ---------------------------------------------------------------------------------
// Online fetching.

/// Timeout of one HTTP exchange.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a fetched object stays cached (even if its nextUpdate is later).
const MAX_CACHE_TTL: Duration = Duration::from_secs(24 * 3600);
/// Cache capacity in bytes.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

type CacheKey = (bool, String, Vec<u8>);

#[derive(Clone)]
struct Cached {
    body: Arc<[u8]>,
    ttl: Duration,
}

struct TtlExpiry;

impl moka::Expiry<CacheKey, Cached> for TtlExpiry {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        value: &Cached,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// HTTP fetcher (reqwest, blocking): http/https only (redirects too, at most 3), 5 s
/// timeouts, OCSP responses ≤ 64 KiB, CRLs ≤ 16 MiB, a cache keyed by URL (and OCSP
/// request) whose entries live until the object's `nextUpdate` (at most a day; objects
/// without `nextUpdate` are not cached).
///
/// Blocking: call it from a blocking context (`spawn_blocking`). When called on a tokio
/// runtime thread anyway, the request is made on a helper thread so reqwest does not
/// panic; the calling thread still blocks.
pub struct HttpFetcher {
    client: reqwest::blocking::Client,
    cache: moka::sync::Cache<CacheKey, Cached>,
}

impl std::fmt::Debug for HttpFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFetcher").finish_non_exhaustive()
    }
}

/// An error and its sources, `: `-separated.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    let mut n = 0;
    while let Some(c) = cur
        && n < 8
    {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
        n += 1;
    }
    s
}

/// Runs `f` off any tokio runtime thread.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> Option<T> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Some(f());
    }
    std::thread::scope(|s| s.spawn(f).join().ok())
}

impl HttpFetcher {
    /// A fetcher with the default timeout ([`FETCH_TIMEOUT`]).
    pub fn new() -> Result<Self, FetchError> {
        Self::with_timeout(FETCH_TIMEOUT)
    }

    /// A fetcher with another timeout.
    pub fn with_timeout(timeout: Duration) -> Result<Self, FetchError> {
        // reqwest is built without a rustls provider: make sure the crate's one is set.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let redirect = reqwest::redirect::Policy::custom(|attempt| {
            let scheme = attempt.url().scheme().to_string();
            if attempt.previous().len() >= 3 {
                attempt.error("too many redirects")
            } else if scheme == "http" || scheme == "https" {
                attempt.follow()
            } else {
                attempt.error(format!("redirect to a {scheme} URL refused"))
            }
        });
        let client = off_runtime(move || {
            reqwest::blocking::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .redirect(redirect)
                .user_agent(concat!("signgate/", env!("CARGO_PKG_VERSION")))
                .build()
        })
        .ok_or_else(|| FetchError::Http("client thread failed".into()))?
        .map_err(|e| FetchError::Http(e.to_string()))?;
        let cache = moka::sync::Cache::builder()
            .max_capacity(CACHE_BYTES)
            .weigher(|_k: &CacheKey, v: &Cached| u32::try_from(v.body.len()).unwrap_or(u32::MAX))
            .expire_after(TtlExpiry)
            .build();
        Ok(HttpFetcher { client, cache })
    }

    fn check_url(url: &str) -> Result<reqwest::Url, FetchError> {
        let u = reqwest::Url::parse(url).map_err(|_| FetchError::BadUrl(url.to_string()))?;
        match u.scheme() {
            "http" | "https" => Ok(u),
            _ => Err(FetchError::BadUrl(url.to_string())),
        }
    }

    fn exchange(
        &self,
        req: reqwest::blocking::RequestBuilder,
        limit: usize,
    ) -> Result<Vec<u8>, FetchError> {
        off_runtime(move || {
            let resp = req.send().map_err(|e| FetchError::Http(error_chain(&e)))?;
            if !resp.status().is_success() {
                return Err(FetchError::Status(resp.status().as_u16()));
            }
            if resp.content_length().is_some_and(|l| l > limit as u64) {
                return Err(FetchError::TooLarge(limit));
            }
            let mut body = Vec::new();
            resp.take(limit as u64 + 1)
                .read_to_end(&mut body)
                .map_err(|e| FetchError::Http(e.to_string()))?;
            if body.len() > limit {
                return Err(FetchError::TooLarge(limit));
            }
            Ok(body)
        })
        .unwrap_or_else(|| Err(FetchError::Http("fetch thread failed".into())))
    }

    fn cached_or(
        &self,
        key: CacheKey,
        is_crl: bool,
        fetch: impl FnOnce() -> Result<Vec<u8>, FetchError>,
    ) -> Result<Vec<u8>, FetchError> {
        if let Some(c) = self.cache.get(&key) {
            return Ok(c.body.to_vec());
        }
        let body = fetch()?;
        if let Some(next) = next_update_of(&body, is_crl) {
            let left = next - OffsetDateTime::now_utc();
            if left.is_positive() {
                let ttl = Duration::try_from(left)
                    .unwrap_or(MAX_CACHE_TTL)
                    .min(MAX_CACHE_TTL);
                self.cache.insert(
                    key,
                    Cached {
                        body: Arc::from(body.as_slice()),
                        ttl,
                    },
                );
            }
        }
        Ok(body)
    }
}

impl RevocationFetcher for HttpFetcher {
    fn fetch_ocsp(&self, url: &str, request_der: &[u8]) -> Result<Vec<u8>, FetchError> {
        let u = Self::check_url(url)?;
        let key = (false, url.to_string(), request_der.to_vec());
        self.cached_or(key, false, || {
            let req = self
                .client
                .post(u)
                .header("Content-Type", "application/ocsp-request")
                .header("Accept", "application/ocsp-response")
                .body(request_der.to_vec());
            self.exchange(req, MAX_OCSP_BYTES)
        })
    }

    fn fetch_crl(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let u = Self::check_url(url)?;
        let key = (true, url.to_string(), Vec::new());
        self.cached_or(key, true, || {
            self.exchange(self.client.get(u), MAX_CRL_BYTES)
        })
    }
}

/// Whether the given revocation data speaks about `cert`: an OCSP response with a
/// single response for its serial number, or a CRL issued under its issuer's name. Used
/// for the level (B-LT needs the validation data of the signing certificate in the
/// signature or its container), not for trust: the data is verified by
/// [`check_revocation`].
pub fn data_covers(cert: &[u8], crls: &[Der], ocsps: &[Der]) -> bool {
    let Ok(view) = crate::trust::cert::CertView::parse(cert) else {
        return false;
    };
    let serial = super::cms::tlv::strip_zeros(view.serial);
    let ocsp_hit =
        ocsps.iter().take(MAX_OBJECTS).any(|o| {
            parse_ocsp(o).is_ok_and(|p| {
                p.basic.tbs_response_data.responses.iter().any(|r| {
                    super::cms::tlv::strip_zeros(r.cert_id.serial_number.as_bytes()) == serial
                })
            })
        });
    ocsp_hit
        || crls.iter().take(MAX_OBJECTS).any(|c| {
            parse_crl(c).is_ok_and(|p| {
                p.issuer == view.issuer
                    || crate::trust::cert::normalized_name_der(&p.issuer).is_some_and(|a| {
                        crate::trust::cert::normalized_name_der(view.issuer) == Some(a)
                    })
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::chain::test_pki::*;
    use crate::validation::chain::{
        CertCheck, CertCheckInput, TrustSources, Usage, check_certificate,
    };
    use crate::validation::report::{Indication, SubIndication};

    fn now() -> OffsetDateTime {
        let n = OffsetDateTime::now_utc();
        n.replace_nanosecond(0).unwrap_or(n)
    }

    fn check(
        pki: &Pki,
        ocsps: &[Der],
        at: OffsetDateTime,
        fetcher: Option<&dyn RevocationFetcher>,
    ) -> CertCheck {
        // The intermediate's status comes from a root CRL; the signer's from `ocsps`.
        let crls = vec![crl(&pki.root, at - time::Duration::hours(1), &[])];
        let anchors = [pki.root.der.clone()];
        let trust = TrustSources {
            explicit: &anchors,
            registry: None,
        };
        let policy = Policy::default_eu();
        check_certificate(&CertCheckInput {
            cert: &pki.signer.der,
            pool: std::slice::from_ref(&pki.interm.der),
            crls: &crls,
            ocsps,
            trust: &trust,
            at,
            usage: Usage::Signature,
            policy: &policy,
            fetcher,
        })
    }

    #[test]
    fn ocsp_request_is_sha1_cert_id() {
        let pki = build(&Opts::new(now()));
        let req = build_ocsp_request(&pki.signer.der, &pki.interm.der).unwrap();
        let parsed = OcspRequest::from_der(&req).unwrap();
        let id = &parsed.tbs_request.request_list[0].req_cert;
        assert_eq!(id.hash_algorithm.oid, DigestAlg::Sha1.oid());
        assert_eq!(id.serial_number.as_bytes(), SIGNER_SERIAL);
        let interm = CertInfo::parse(&pki.interm.der).unwrap();
        assert_eq!(
            id.issuer_key_hash.as_bytes(),
            DigestAlg::Sha1.digest(&interm.public_key).as_slice()
        );
        assert!(build_ocsp_request(b"junk", &pki.interm.der).is_err());
    }

    #[test]
    fn openssl_ocsp_good_then_revoked() {
        let at = now();
        let pki = build(&Opts::new(at));
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_index(d, &pki, None);
        let req = build_ocsp_request(&pki.signer.der, &pki.interm.der).unwrap();
        let resp = openssl_ocsp_response(d, &pki, &pki.responder, &req);
        let r = check(&pki, &[resp], at + time::Duration::seconds(5), None);
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        let f = &r.revocation[0];
        assert_eq!(f.status, RevocationStatus::Good);
        assert_eq!(f.source, Some(RevocationSource::Ocsp));
        assert_eq!(
            f.responder_cert.as_deref(),
            Some(pki.responder.der.as_slice())
        );
        assert!(f.next_update.is_some() && !f.fetched);
        assert_eq!(r.revocation[1].source, Some(RevocationSource::Crl));

        // Revoked yesterday: a SHA-256 CertID request built by openssl this time.
        let revoked_at = at - time::Duration::days(1);
        write_index(d, &pki, Some(revoked_at));
        pki.signer.write(d, "signer");
        openssl(
            d,
            &[
                "ocsp",
                "-issuer",
                "issuer.pem",
                "-sha256",
                "-cert",
                "signer.pem",
                "-no_nonce",
                "-reqout",
                "req256.der",
            ],
        );
        let req256 = std::fs::read(d.join("req256.der")).unwrap();
        let parsed = OcspRequest::from_der(&req256).unwrap();
        assert_eq!(
            parsed.tbs_request.request_list[0]
                .req_cert
                .hash_algorithm
                .oid,
            DigestAlg::Sha256.oid()
        );
        let resp = openssl_ocsp_response(d, &pki, &pki.responder, &req256);
        let r = check(&pki, &[resp], at + time::Duration::seconds(5), None);
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::RevokedNoPoe),
            "{:?}",
            r.errors
        );
        let (t, reason) = r.signer_revoked_at.clone().unwrap();
        assert_eq!(t, revoked_at);
        assert_eq!(reason, "keyCompromise");
    }

    #[test]
    fn ocsp_signed_by_the_ca_itself_is_accepted() {
        let at = now();
        let pki = build(&Opts::new(at));
        let dir = tempfile::tempdir().unwrap();
        write_index(dir.path(), &pki, None);
        let req = build_ocsp_request(&pki.signer.der, &pki.interm.der).unwrap();
        let resp = openssl_ocsp_response(dir.path(), &pki, &pki.interm, &req);
        let r = check(&pki, &[resp], at + time::Duration::seconds(5), None);
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        assert_eq!(r.revocation[0].responder_cert, None);
        assert!(
            r.revocation[0]
                .signed_by
                .as_deref()
                .unwrap()
                .contains("Test Issuing CA")
        );
    }

    #[test]
    fn unauthorised_ocsp_responders_are_rejected() {
        let at = now();
        let pki = build(&Opts::new(at));
        let other = build(&Opts::new(at));
        let dir = tempfile::tempdir().unwrap();
        write_index(dir.path(), &pki, None);
        let req = build_ocsp_request(&pki.signer.der, &pki.interm.der).unwrap();
        // Issued by the right CA but without id-kp-OCSPSigning.
        let rogue = openssl_ocsp_response(dir.path(), &pki, &pki.rogue_responder, &req);
        let r = check(&pki, &[rogue], at + time::Duration::seconds(5), None);
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::TryLater),
            "{:?}",
            r.errors
        );
        let rej = &r.revocation[0].rejected;
        assert!(
            rej.iter()
                .any(|f| f.reason.contains("not authorised")
                    && f.reason.contains("id-kp-OCSPSigning")),
            "{rej:?}"
        );
        // A proper OCSP signing certificate, but from another CA (same names).
        let foreign = openssl_ocsp_response(dir.path(), &pki, &other.responder, &req);
        let r = check(&pki, &[foreign], at + time::Duration::seconds(5), None);
        assert_eq!(r.sub_indication, Some(SubIndication::TryLater));
        assert!(
            r.revocation[0]
                .rejected
                .iter()
                .any(|f| f.reason.contains("not issued by")),
            "{:?}",
            r.revocation[0].rejected
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.reason.contains("not authorised"))
        );
    }

    /// RFC 6960 §4.2.2.2.1: a delegated responder without id-pkix-ocsp-nocheck has its
    /// own certificate checked, here from CRLs of the CA and from an OCSP response the CA
    /// signed itself (openssl ocsp).
    #[test]
    fn delegated_responder_without_nocheck_is_checked() {
        let at = now();
        let pki = build(&Opts::new(at));
        let dir = tempfile::tempdir().unwrap();
        write_index(dir.path(), &pki, None);
        let req = build_ocsp_request(&pki.signer.der, &pki.interm.der).unwrap();
        let resp = openssl_ocsp_response(dir.path(), &pki, &pki.plain_responder, &req);
        let later = at + time::Duration::seconds(5);
        let anchors = [pki.root.der.clone()];
        let trust = TrustSources {
            explicit: &anchors,
            registry: None,
        };
        let policy = Policy::default_eu();
        let run = |crls: &[Der], ocsps: &[Der]| {
            let mut all = vec![crl(&pki.root, at - time::Duration::hours(1), &[])];
            all.extend_from_slice(crls);
            check_certificate(&CertCheckInput {
                cert: &pki.signer.der,
                pool: &[pki.interm.der.clone(), pki.plain_responder.der.clone()],
                crls: &all,
                ocsps,
                trust: &trust,
                at: later,
                usage: Usage::Signature,
                policy: &policy,
                fetcher: None,
            })
        };
        let not_checked = |w: &[Finding]| {
            w.iter().any(|f| {
                f.reason
                    .contains("its own revocation status was not checked")
            })
        };

        // No data for the responder: accepted, with the gap said.
        let r = run(&[], std::slice::from_ref(&resp));
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        assert_eq!(r.revocation[0].source, Some(RevocationSource::Ocsp));
        assert!(
            not_checked(&r.revocation[0].warnings),
            "{:?}",
            r.revocation[0].warnings
        );

        // The CA's CRL (older than the OCSP answer) says the responder is good.
        let ca_crl = crl(&pki.interm, at - time::Duration::hours(2), &[]);
        let r = run(std::slice::from_ref(&ca_crl), std::slice::from_ref(&resp));
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        let f = &r.revocation[0];
        assert_eq!(f.source, Some(RevocationSource::Ocsp), "{f:?}");
        assert_eq!(
            f.responder_cert.as_deref(),
            Some(pki.plain_responder.der.as_slice())
        );
        assert!(!not_checked(&f.warnings), "{:?}", f.warnings);

        // Revoked a day before the response was produced: the response is refused and
        // the signer's status comes from the CA's CRL instead.
        let revoked = crl(
            &pki.interm,
            at - time::Duration::hours(2),
            &[(&PLAIN_RESPONDER_SERIAL, at - time::Duration::days(1))],
        );
        let r = run(std::slice::from_ref(&revoked), std::slice::from_ref(&resp));
        let f = &r.revocation[0];
        assert_eq!(f.source, Some(RevocationSource::Crl), "{f:?}");
        assert!(
            f.rejected
                .iter()
                .any(|x| x.reason.contains("Plain OCSP Responder")
                    && x.reason.contains("was revoked at")
                    && x.reason.contains("before the response was produced")),
            "{:?}",
            f.rejected
        );
        // An OCSP response signed by the CA itself about the responder (openssl ocsp with
        // the responder revoked in its index) is used too.
        let d2 = tempfile::tempdir().unwrap();
        let exp = index_time(pki.plain_responder.params.not_after);
        std::fs::write(
            d2.path().join("index.txt"),
            format!(
                "R\t{exp}\t{},keyCompromise\t{}\tunknown\t/CN=Plain OCSP Responder\n",
                index_time(at - time::Duration::days(2)),
                hex::encode_upper(PLAIN_RESPONDER_SERIAL)
            ),
        )
        .unwrap();
        let rreq = build_ocsp_request(&pki.plain_responder.der, &pki.interm.der).unwrap();
        let about_responder = openssl_ocsp_response(d2.path(), &pki, &pki.interm, &rreq);
        let r = run(&[], &[resp.clone(), about_responder.clone()]);
        assert_eq!(
            r.revocation[0].status,
            RevocationStatus::Unavailable,
            "{:?}",
            r.revocation[0]
        );
        assert!(
            r.revocation[0]
                .rejected
                .iter()
                .any(|x| x.reason.contains("was revoked at")
                    && x.reason.contains("OCSP response signed by")),
            "{:?}",
            r.revocation[0].rejected
        );
        // A response about the responder signed by the responder itself never vouches for it.
        let self_signed = openssl_ocsp_response(d2.path(), &pki, &pki.plain_responder, &rreq);
        let r = run(&[], &[resp.clone(), self_signed]);
        assert!(
            not_checked(&r.revocation[0].warnings),
            "{:?}",
            r.revocation[0]
        );
    }

    #[test]
    fn parsers_survive_truncation() {
        let at = now();
        let pki = build(&Opts::new(at));
        let c = crl(&pki.interm, at, &[(&SIGNER_SERIAL, at)]);
        let parsed = parse_crl(&c).unwrap();
        assert!(parsed.next_update.is_some());
        for n in 0..c.len() {
            let _ = parse_crl(&c[..n]);
            let _ = parse_ocsp(&c[..n]);
        }
        assert!(parse_ocsp(&vec![0u8; MAX_OCSP_BYTES + 1]).is_err());
        // An OCSPResponse with status tryLater (3): `30 03 0a 01 03`.
        assert_eq!(
            parse_ocsp(&[0x30, 0x03, 0x0a, 0x01, 0x03]).err(),
            Some(RevocationError::OcspStatus("TryLater".into()))
        );
    }

    /// `openssl ocsp` as a live responder on a free local port.
    struct Responder {
        child: std::process::Child,
        port: u16,
    }

    impl Drop for Responder {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// Starts the responder and waits until it answers. openssl 3.0's responder hangs
    /// on a connection closed without a request, so readiness is polled with a real
    /// OCSP request over a raw socket (bounded number of attempts and time).
    fn start_responder(dir: &std::path::Path, port: u16, probe: &[u8]) -> Responder {
        use std::io::Write as _;
        let child = std::process::Command::new("openssl")
            .args([
                "ocsp",
                "-index",
                "index.txt",
                "-port",
                &port.to_string(),
                "-rsigner",
                "rsigner.pem",
                "-rkey",
                "rsigner.key",
                "-CA",
                "issuer.pem",
                "-ndays",
                "1",
                "-ignore_err",
            ])
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl starts");
        let r = Responder { child, port };
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "openssl ocsp did not start"
            );
            let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))
            else {
                std::thread::yield_now();
                continue;
            };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let head = format!(
                "POST / HTTP/1.0\r\nContent-Type: application/ocsp-request\r\nContent-Length: {}\r\n\r\n",
                probe.len()
            );
            let mut answer = Vec::new();
            if s.write_all(head.as_bytes()).is_ok()
                && s.write_all(probe).is_ok()
                && s.read_to_end(&mut answer).is_ok()
                && answer.starts_with(b"HTTP/1.0 200")
            {
                return r;
            }
        }
    }

    #[test]
    fn http_fetcher_against_live_openssl_responder() {
        let at = now();
        let port = free_port();
        let mut o = Opts::new(at);
        o.ocsp_url = Some(format!("http://127.0.0.1:{port}/"));
        let pki = build(&o);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_index(d, &pki, None);
        pki.interm.write(d, "issuer");
        pki.responder.write(d, "rsigner");
        let probe = build_ocsp_request(&pki.tsa.der, &pki.interm.der).unwrap();
        let responder = start_responder(d, port, &probe);
        let fetcher = HttpFetcher::new().unwrap();

        let r = check(&pki, &[], at + time::Duration::seconds(5), Some(&fetcher));
        assert_eq!(
            r.indication,
            Indication::TotalPassed,
            "{:?} {:?}",
            r.errors,
            r.warnings
        );
        let f = &r.revocation[0];
        assert_eq!(f.status, RevocationStatus::Good);
        assert!(f.fetched);
        assert_eq!(f.source, Some(RevocationSource::Ocsp));
        assert!(f.data.as_ref().is_some_and(|d| parse_ocsp(d).is_ok()));
        // The CRL distribution point (http://127.0.0.1:9/…) was not needed.
        assert!(!r.warnings.iter().any(|w| w.reason.contains("CRL")));

        // From inside a tokio runtime the blocking client must not panic.
        let req = build_ocsp_request(&pki.signer.der, &pki.interm.der).unwrap();
        let url = format!("http://127.0.0.1:{}/", responder.port);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let body = rt
            .block_on(async { fetcher.fetch_ocsp(&url, &req) })
            .unwrap();
        assert!(parse_ocsp(&body).is_ok());

        // Responses with a nextUpdate are cached: with the responder gone, the same
        // request is still answered.
        drop(responder);
        let again = fetcher.fetch_ocsp(&url, &req).unwrap();
        assert_eq!(again, body);
        // A new request to the dead responder fails quickly with a transport error.
        let other_req = build_ocsp_request(&pki.tsa.der, &pki.interm.der).unwrap();
        assert!(matches!(
            fetcher.fetch_ocsp(&url, &other_req),
            Err(FetchError::Http(_))
        ));
        assert!(matches!(
            fetcher.fetch_crl("ldap://example.org/cn=crl"),
            Err(FetchError::BadUrl(_))
        ));
        assert!(matches!(
            fetcher.fetch_crl("file:///etc/passwd"),
            Err(FetchError::BadUrl(_))
        ));
    }

    #[test]
    fn online_fetch_failure_is_try_later_with_a_note() {
        let at = now();
        let port = free_port(); // nothing listens there
        let mut o = Opts::new(at);
        o.ocsp_url = Some(format!("http://127.0.0.1:{port}/"));
        let pki = build(&o);
        let fetcher = HttpFetcher::new().unwrap();
        let r = check(&pki, &[], at, Some(&fetcher));
        assert_eq!(r.sub_indication, Some(SubIndication::TryLater));
        assert!(
            r.errors[0].reason.contains("embedded or online"),
            "{:?}",
            r.errors
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.reason.contains("online OCSP request")),
            "{:?}",
            r.warnings
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.reason.contains("downloading the CRL")),
            "{:?}",
            r.warnings
        );
    }
}
