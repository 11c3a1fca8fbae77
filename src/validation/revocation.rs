//! Revocation status of one certificate at a control time (RFC 6960 OCSP, RFC 5280
//! CRLs), from the data a signature carries and, when that gives no answer, from the
//! network.
//!
//! Owns: parsing OCSP responses (`OCSPResponse` or bare `BasicOCSPResponse`) and CRLs,
//! verifying them (OCSP signed by the issuing CA or by a delegated responder the CA
//! certified with `id-kp-OCSPSigning`; CRLs signed by the issuer, or indirect CRLs signed
//! by a cRLIssuer the certificate's cRLDistributionPoints name, whose own certificate
//! `chain` validates through [`CrlIssuerCheck`]), matching them to a certificate (OCSP
//! `CertID` with any hash; CRL issuer name, issuingDistributionPoint scope and serial,
//! with certificateIssuer entries in indirect CRLs), completing a complete CRL with its
//! newest delta CRL (RFC 5280 §5.2.4: same issuer and scope, BaseCRLNumber ≤ the base's
//! cRLNumber; the delta's entries, including removeFromCRL, prevail), choosing the answer
//! ([`check_revocation`]), building OCSP requests ([`build_ocsp_request`]) and the online
//! fetcher ([`RevocationFetcher`], [`HttpFetcher`]: http/https only, timeouts, size limits,
//! a cache honouring `nextUpdate`; delta CRLs come from freshestCRL through it).
//! Must not touch: path building or trust decisions (that is `chain`, which hands this
//! module a certificate and its issuer from a path it built, and validates indirect CRL
//! issuers), policy contents (`policy`), signature formats.

use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use der::asn1::{AnyRef, OctetString};
use der::{Decode, Encode};
use time::OffsetDateTime;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, TbsRequest,
};

use super::chain::{CertInfo, DpName};
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
    /// The delta CRL used together with the complete CRL in `data` (RFC 5280 §5.2.4),
    /// if any; `this_update`/`next_update` are then the delta's.
    pub delta: Option<Der>,
    /// The certificate of the indirect CRL issuer that signed the CRL (RFC 5280 §5.2.5),
    /// when it is not the certificate's issuer.
    pub crl_issuer_cert: Option<Der>,
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
            delta: None,
            crl_issuer_cert: None,
            warnings: Vec::new(),
            rejected: Vec::new(),
        }
    }

    /// Short text for the report (`good (OCSP, 2025-01-01T…)`, `revoked 2021-… (keyCompromise)`).
    pub fn summary(&self) -> String {
        let src = match self.source {
            Some(RevocationSource::Ocsp) => "OCSP",
            Some(RevocationSource::Crl) if self.delta.is_some() => "CRL with delta CRL",
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
    /// The issuer as a DN (RFC 4514), for findings.
    issuer_dn: String,
    /// `thisUpdate`.
    pub this_update: OffsetDateTime,
    /// `nextUpdate`.
    pub next_update: Option<OffsetDateTime>,
    /// cRLNumber (RFC 5280 §5.2.3): big-endian magnitude without leading zeros.
    pub number: Option<Vec<u8>>,
    /// deltaCRLIndicator's BaseCRLNumber (RFC 5280 §5.2.4): set on delta CRLs only.
    pub delta_base: Option<Vec<u8>>,
    /// issuingDistributionPoint (RFC 5280 §5.2.5): the extension value's DER (compared
    /// between a complete CRL and its delta) and its content.
    idp: Option<(Vec<u8>, IssuingDistributionPoint)>,
    /// authorityKeyIdentifier keyIdentifier, to pick the signer among same-named
    /// certificates.
    aki: Option<Vec<u8>>,
    /// freshestCRL URLs (RFC 5280 §5.2.6): where its delta CRLs are published.
    freshest_urls: Vec<String>,
    /// Why the CRL cannot be used whatever it is checked for: an unreadable cRLNumber,
    /// deltaCRLIndicator or issuingDistributionPoint, an unsupported critical extension.
    unusable: Option<String>,
}

impl ParsedCrl {
    /// Whether this is a delta CRL (it carries a deltaCRLIndicator).
    pub fn is_delta(&self) -> bool {
        self.delta_base.is_some()
    }

    fn is_indirect(&self) -> bool {
        self.idp.as_ref().is_some_and(|(_, i)| i.indirect_crl)
    }

    fn idp_der(&self) -> Option<&[u8]> {
        self.idp.as_ref().map(|(d, _)| d.as_slice())
    }

    fn issued_by_name(&self, name: &[u8], norm: Option<&str>) -> bool {
        super::chain::names_equal_normed(&self.issuer, self.issuer_norm.as_deref(), name, norm)
    }

    /// `CRL issued by … at …` or `delta CRL …`, for findings.
    fn describe(&self) -> String {
        format!(
            "{} issued by {} at {}{}",
            if self.is_delta() { "delta CRL" } else { "CRL" },
            self.issuer_dn,
            rfc3339(self.this_update),
            self.number
                .as_ref()
                .map(|n| format!(" (cRLNumber {})", number_text(n)))
                .unwrap_or_default()
        )
    }
}

/// The magnitude of a non-negative DER INTEGER value (leading zeros stripped), `None`
/// when negative or empty.
fn crl_number_of(content: &[u8]) -> Option<Vec<u8>> {
    let first = *content.first()?;
    if first & 0x80 != 0 {
        return None;
    }
    let start = content
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(content.len());
    Some(content[start..].to_vec())
}

/// Compares two CRL numbers as read by [`crl_number_of`].
fn cmp_number(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A CRL number for findings: decimal when it fits in 128 bits, hex otherwise.
fn number_text(n: &[u8]) -> String {
    if n.len() <= 16 {
        let mut v: u128 = 0;
        for b in n {
            v = (v << 8) | u128::from(*b);
        }
        v.to_string()
    } else {
        format!("0x{}", hex::encode(n))
    }
}

/// Reads an INTEGER extension value (cRLNumber, BaseCRLNumber).
fn read_number(v: &[u8]) -> Option<Vec<u8>> {
    let any = AnyRef::from_der(v).ok()?;
    if der::Tagged::tag(&any) != der::Tag::Integer {
        return None;
    }
    crl_number_of(any.value())
}

/// Parses a DER CRL.
pub fn parse_crl(der: &[u8]) -> Result<ParsedCrl, RevocationError> {
    use x509_cert::ext::pkix::crl::CrlDistributionPoints;
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    if der.len() > MAX_CRL_BYTES {
        return Err(RevocationError::TooLarge {
            what: "CRL",
            size: der.len(),
        });
    }
    let crl = CertificateList::from_der(der).map_err(malformed("CRL"))?;
    let tbs = &crl.tbs_cert_list;
    let issuer = tbs.issuer.to_der().map_err(malformed("CRL"))?;
    let this_update = time_of(tbs.this_update);
    let next_update = tbs.next_update.map(time_of);
    let issuer_norm = crate::trust::cert::normalized_name_der(&issuer);
    let issuer_dn = tbs.issuer.to_string();
    let mut unusable: Option<String> = None;
    let mut note = |why: String| {
        unusable.get_or_insert(why);
    };
    let mut number = None;
    let mut delta_base = None;
    let mut idp = None;
    let mut aki = None;
    let mut freshest_urls = Vec::new();
    for ext in tbs.crl_extensions.iter().flatten() {
        let id = ext.extn_id.to_string();
        let v = ext.extn_value.as_bytes();
        match id.as_str() {
            OID_CRL_NUMBER => match read_number(v) {
                Some(n) => number = Some(n),
                None => note("unreadable cRLNumber".into()),
            },
            OID_DELTA_CRL => match read_number(v) {
                Some(n) => delta_base = Some(n),
                None => note("unreadable deltaCRLIndicator".into()),
            },
            OID_IDP => match IssuingDistributionPoint::from_der(v) {
                Ok(i) => idp = Some((v.to_vec(), i)),
                Err(_) => note("unreadable issuingDistributionPoint".into()),
            },
            OID_AKI => {
                aki = x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(v)
                    .ok()
                    .and_then(|a| a.key_identifier)
                    .map(|k| k.as_bytes().to_vec());
            }
            OID_FRESHEST => {
                if let Ok(dps) = CrlDistributionPoints::from_der(v) {
                    for dp in dps.0.iter().take(16) {
                        if let Some(DistributionPointName::FullName(names)) = &dp.distribution_point
                        {
                            for n in names.iter().take(16) {
                                if let GeneralName::UniformResourceIdentifier(u) = n {
                                    freshest_urls.push(u.to_string());
                                }
                            }
                        }
                    }
                } else if ext.critical {
                    note("unreadable critical freshestCRL".into());
                }
            }
            OID_EXPIRED_ON_CRL => {}
            _ if ext.critical => note(format!("unsupported critical CRL extension {id}")),
            _ => {}
        }
    }
    if delta_base.is_some() && number.is_none() {
        unusable.get_or_insert_with(|| "a delta CRL without cRLNumber (RFC 5280 §5.2.4)".into());
    }
    Ok(ParsedCrl {
        der: der.to_vec(),
        crl,
        issuer,
        issuer_norm,
        issuer_dn,
        this_update,
        next_update,
        number,
        delta_base,
        idp,
        aki,
        freshest_urls,
        unusable,
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
    /// Validates the certificates of indirect CRL issuers; without it indirect CRLs
    /// signed by anyone but the certificate's issuer are not accepted.
    pub crl_issuers: Option<&'a dyn CrlIssuerCheck>,
}

/// Validation of an indirect CRL issuer's certificate (RFC 5280 §6.3.3 (f): a path to a
/// trust anchor, keyUsage cRLSign, its own revocation status), which needs path
/// building and trust: `chain` implements it.
pub trait CrlIssuerCheck {
    /// `Ok(notes)` when `cert` may sign CRLs at `at` (the CRL's thisUpdate); the notes
    /// are caveats (e.g. its own revocation status could not be checked). `Err(why)`
    /// otherwise.
    fn check_crl_issuer(&self, cert: &CertInfo, at: OffsetDateTime)
    -> Result<Vec<Finding>, String>;
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
    /// Delta CRL used with the complete CRL `data`.
    delta: Option<Der>,
    /// The delta was fetched online.
    delta_fetched: bool,
    /// Indirect CRL issuer certificate.
    crl_issuer_cert: Option<Der>,
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
        delta: None,
        delta_fetched: false,
        crl_issuer_cert: None,
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
    let deltas = Deltas::new(&ctx.data.crls, None);
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
            match crl_answer(p, responder, issuer, ctx, &deltas) {
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

/// An entry of a CRL for one certificate.
#[derive(Clone)]
struct Entry {
    time: OffsetDateTime,
    reason: Option<String>,
}

impl Entry {
    fn is_remove(&self) -> bool {
        self.reason.as_deref() == Some("removeFromCRL")
    }
}

const OID_CERT_ISSUER_OID: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("2.5.29.29");

/// Whether a certificateIssuer entry extension value names `cert`'s issuer.
fn names_issuer_of(value: &[u8], cert: &CertInfo) -> Result<bool, String> {
    use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
    let names =
        GeneralNames::from_der(value).map_err(|e| format!("unreadable certificateIssuer: {e}"))?;
    Ok(names.iter().take(16).any(|g| match g {
        GeneralName::DirectoryName(n) => n.to_der().is_ok_and(|d| {
            let norm = crate::trust::cert::normalized_name_der(&d);
            super::chain::names_equal_normed(
                &d,
                norm.as_deref(),
                &cert.issuer,
                cert.issuer_norm.as_deref(),
            )
        }),
        _ => false,
    }))
}

/// The entry for `cert` in `crl`. In an indirect CRL each entry belongs to the issuer
/// named by its certificateIssuer extension or, without one, by the previous entry's
/// (the CRL issuer for the first entries) (RFC 5280 §5.3.3); only entries of `cert`'s
/// issuer count. `Err`: the entry cannot be used (an unsupported critical entry
/// extension, certificateIssuer in a CRL that is not indirect).
fn find_entry(crl: &ParsedCrl, cert: &CertInfo) -> Result<Option<Entry>, String> {
    let indirect = crl.is_indirect();
    let mut ours = crl.issued_by_name(&cert.issuer, cert.issuer_norm.as_deref());
    for entry in crl.crl.tbs_cert_list.revoked_certificates.iter().flatten() {
        if indirect {
            for ext in entry.crl_entry_extensions.iter().flatten() {
                if ext.extn_id == OID_CERT_ISSUER_OID {
                    ours = names_issuer_of(ext.extn_value.as_bytes(), cert)?;
                }
            }
        }
        if !ours || entry.serial_number.as_bytes() != cert.serial.as_slice() {
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
                OID_CERT_ISSUER if indirect => {}
                OID_CERT_ISSUER => {
                    return Err("a CRL entry with certificateIssuer in a CRL whose issuingDistributionPoint does not assert indirectCRL".into());
                }
                _ if ext.critical => {
                    return Err(format!("unsupported critical CRL entry extension {id}"));
                }
                _ => {}
            }
        }
        return Ok(Some(Entry {
            time: time_of(entry.revocation_date),
            reason,
        }));
    }
    Ok(None)
}

/// Whether an indirect CRL has entries attributed (by certificateIssuer) to `cert`'s
/// issuer.
fn lists_issuer(crl: &ParsedCrl, cert: &CertInfo) -> bool {
    crl.crl
        .tbs_cert_list
        .revoked_certificates
        .iter()
        .flatten()
        .flat_map(|e| e.crl_entry_extensions.iter().flatten())
        .any(|ext| {
            ext.extn_id == OID_CERT_ISSUER_OID
                && names_issuer_of(ext.extn_value.as_bytes(), cert).unwrap_or(false)
        })
}

fn names_text(names: &[DpName]) -> String {
    names
        .iter()
        .map(|n| match n {
            DpName::Uri(u) => u.clone(),
            DpName::Directory(d, _) => x509_cert::name::Name::from_der(d)
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "a directory name".into()),
            DpName::Other(_) => "a general name".into(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// RFC 5280 §6.3.3 (b)(2)(i): when the CRL's issuingDistributionPoint names a
/// distribution point, one of its names must be a name of a distribution point of the
/// certificate through which this CRL issuer is reached (or of that point's cRLIssuer
/// when the point has no name). `Some(why)` when none matches. A certificate without
/// such a distribution point is not held to it.
fn idp_mismatch(
    p: &ParsedCrl,
    idp: &IssuingDistributionPoint,
    cert: &CertInfo,
    direct: bool,
) -> Option<String> {
    let idp_names = DpName::of_dp_name(idp.distribution_point.as_ref()?, &p.issuer);
    if idp_names.is_empty() {
        return None;
    }
    let mut relevant = cert.crl_dps.iter().filter(|dp| {
        (direct && dp.crl_issuers.is_empty())
            || dp.names_crl_issuer(&p.issuer, p.issuer_norm.as_deref())
    });
    let mut any = false;
    let hit = relevant.any(|dp| {
        any = true;
        let theirs = if dp.names.is_empty() {
            &dp.crl_issuers
        } else {
            &dp.names
        };
        theirs
            .iter()
            .any(|n| idp_names.iter().any(|m| m.same_as(n)))
    });
    if hit || !any {
        return None;
    }
    Some(format!(
        "the CRL's issuingDistributionPoint ({}) matches none of the certificate's CRL distribution points: it covers other certificates (RFC 5280 §6.3.3 (b)(2)(i))",
        names_text(&idp_names)
    ))
}

/// The certificate of an indirect CRL's issuer: a certificate of the pool with the
/// CRL's issuer name whose key verifies the CRL, with keyUsage cRLSign (if present),
/// and validated by `ctx.crl_issuers` at the CRL's thisUpdate.
fn indirect_signer(
    p: &ParsedCrl,
    ctx: &RevocationContext<'_>,
) -> Result<(Arc<CertInfo>, super::evidence::Algorithms, Vec<Finding>), String> {
    let mut named = false;
    let mut problem = String::new();
    for d in ctx.pool.iter().take(MAX_OBJECTS) {
        let Ok(c) = CertInfo::parse(d) else { continue };
        if !c.subject_is(&p.issuer, p.issuer_norm.as_deref()) {
            continue;
        }
        if let (Some(a), Some(s)) = (&p.aki, &c.ski)
            && a != s
        {
            continue;
        }
        named = true;
        let algs = match verify_signed_object(&p.der, &c.spki) {
            Ok(a) => a,
            Err(e) => {
                problem = format!("the CRL signature does not verify with {}: {e}", c.label);
                continue;
            }
        };
        if let Some(ku) = &c.key_usage
            && !ku.crl_sign
        {
            problem = format!(
                "the indirect CRL issuer {} has no cRLSign key usage",
                c.label
            );
            continue;
        }
        let Some(check) = ctx.crl_issuers else {
            return Err(format!(
                "the indirect CRL issuer {} cannot be validated here, so its CRL is not used",
                c.label
            ));
        };
        match check.check_crl_issuer(&c, p.this_update) {
            Ok(notes) => return Ok((c, algs, notes)),
            Err(why) => problem = why,
        }
    }
    if named {
        Err(problem)
    } else {
        Err(format!(
            "the certificate of the indirect CRL issuer {} was not found among the available certificates",
            p.issuer_dn
        ))
    }
}

/// A delta CRL chosen to complete a complete CRL, with what was read from it.
struct ChosenDelta {
    der: Der,
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
    entry: Result<Option<Entry>, String>,
    fetched: bool,
    label: String,
}

/// The delta CRLs available to complete CRLs for one certificate: the embedded ones
/// and, once `online` is set, those fetched through the fetcher from freshestCRL
/// pointers (at most [`MAX_URLS`] URLs per certificate, through the same fetcher, limits
/// and cache as every CRL). Records which deltas were used or rejected, so the others
/// can be reported as ignored.
struct Deltas<'a> {
    embedded: &'a [ParsedCrl],
    fetcher: Option<&'a dyn RevocationFetcher>,
    online: std::cell::Cell<bool>,
    fetched: std::cell::RefCell<Vec<Arc<ParsedCrl>>>,
    tried: std::cell::RefCell<Vec<String>>,
    /// Indices (embedded first, then fetched) of deltas paired with a complete CRL.
    used: std::cell::RefCell<Vec<usize>>,
    /// Indices of deltas rejected with a finding in `findings`.
    reported: std::cell::RefCell<Vec<usize>>,
    findings: std::cell::RefCell<Vec<Finding>>,
    /// Failed delta CRL downloads.
    fetch_notes: std::cell::RefCell<Vec<Finding>>,
}

impl<'a> Deltas<'a> {
    fn new(embedded: &'a [ParsedCrl], fetcher: Option<&'a dyn RevocationFetcher>) -> Self {
        Deltas {
            embedded,
            fetcher,
            online: std::cell::Cell::new(false),
            fetched: Default::default(),
            tried: Default::default(),
            used: Default::default(),
            reported: Default::default(),
            findings: Default::default(),
            fetch_notes: Default::default(),
        }
    }

    fn note(&self, f: Finding) {
        let mut all = self.findings.borrow_mut();
        if !all.contains(&f) {
            all.push(f);
        }
    }

    /// Calls `f` with each delta CRL and its index.
    fn each(&self, mut f: impl FnMut(usize, &ParsedCrl, bool)) {
        let n = self.embedded.len();
        for (i, d) in self
            .embedded
            .iter()
            .enumerate()
            .filter(|(_, d)| d.is_delta())
        {
            f(i, d, false);
        }
        for (j, d) in self.fetched.borrow().iter().enumerate() {
            f(n + j, d, true);
        }
    }

    /// Calls `f` with the delta CRL of index `i`.
    fn with<T>(&self, i: usize, f: impl FnOnce(&ParsedCrl, bool) -> T) -> Option<T> {
        match self.embedded.get(i) {
            Some(d) => Some(f(d, false)),
            None => self
                .fetched
                .borrow()
                .get(i - self.embedded.len())
                .map(|d| f(d, true)),
        }
    }

    /// The newest delta completing `base` (RFC 5280 §5.2.4, §6.3.3 (c), (h)): issued
    /// under the same name and with the same issuingDistributionPoint, BaseCRLNumber ≤
    /// the base's cRLNumber < its own cRLNumber, signed with the base's key (`signer`),
    /// usable extensions and algorithms. Candidates that fail are recorded as rejected;
    /// older candidates than the one chosen count as used (superseded, not ignored).
    fn best_for(
        &self,
        base: &ParsedCrl,
        signer: &CertInfo,
        cert: &CertInfo,
        ctx: &RevocationContext<'_>,
    ) -> Option<ChosenDelta> {
        let base_number = base.number.as_deref()?;
        let mut candidates: Vec<(usize, Vec<u8>)> = Vec::new();
        self.each(|i, d, _| {
            let (Some(delta_base), Some(number)) = (d.delta_base.as_deref(), d.number.as_deref())
            else {
                return;
            };
            if d.issued_by_name(&base.issuer, base.issuer_norm.as_deref())
                && d.idp_der() == base.idp_der()
                && !cmp_number(delta_base, base_number).is_gt()
                && cmp_number(number, base_number).is_gt()
            {
                candidates.push((i, number.to_vec()));
            }
        });
        candidates.sort_by(|a, b| cmp_number(&b.1, &a.1));
        for (k, (i, _)) in candidates.iter().enumerate() {
            let chosen = self.with(*i, |d, fetched| {
                let why = if let Some(why) = &d.unusable {
                    why.clone()
                } else {
                    match verify_signed_object(&d.der, &signer.spki) {
                        Err(e) => format!(
                            "its signature does not verify with {}, the signer of the complete CRL: {e}",
                            signer.label
                        ),
                        Ok(algs) => match ctx.policy.check_algorithms(&algs, ctx.at) {
                            Err(f) => f.reason,
                            Ok(_) => {
                                return Some(ChosenDelta {
                                    der: d.der.clone(),
                                    this_update: d.this_update,
                                    next_update: d.next_update,
                                    entry: find_entry(d, cert),
                                    fetched,
                                    label: d.describe(),
                                });
                            }
                        },
                    }
                };
                self.note(Finding::new(
                    "XCV: revocation data",
                    d.describe(),
                    format!("delta CRL not used: {why}"),
                ));
                None
            });
            match chosen.flatten() {
                Some(c) => {
                    self.used
                        .borrow_mut()
                        .extend(candidates[k..].iter().map(|(j, _)| *j));
                    return Some(c);
                }
                None => self.reported.borrow_mut().push(*i),
            }
        }
        None
    }

    /// Fetches the delta CRLs at `urls` (http/https, not tried before for this
    /// certificate, within [`MAX_URLS`]). Returns whether one was added.
    fn fetch(&self, urls: &[String], what: &str) -> bool {
        let Some(fetcher) = self.fetcher.filter(|_| self.online.get()) else {
            return false;
        };
        let mut added = false;
        for url in urls.iter().filter(|u| is_http(u)) {
            {
                let mut tried = self.tried.borrow_mut();
                if tried.len() >= MAX_URLS || tried.contains(url) {
                    continue;
                }
                tried.push(url.clone());
            }
            match fetcher
                .fetch_crl(url)
                .map_err(|e| e.to_string())
                .and_then(|b| parse_crl(&b).map_err(|e| e.to_string()))
            {
                Ok(d) if d.is_delta() => {
                    self.fetched.borrow_mut().push(Arc::new(d));
                    added = true;
                }
                Ok(_) => self.note(Finding::new(
                    "XCV: revocation data",
                    what.to_string(),
                    format!("the freshestCRL {url} is not a delta CRL; ignored"),
                )),
                Err(e) => self.fetch_notes.borrow_mut().push(Finding::new(
                    "XCV: revocation data",
                    what.to_string(),
                    format!("downloading the delta CRL {url} failed: {e}"),
                )),
            }
        }
        added
    }
}

/// The answer of one complete CRL (with its newest delta CRL, if one is available)
/// for `cert` issued by `issuer`: `None` when the CRL is not about the certificate (another
/// issuer, or a scope that excludes it). The CRL is the certificate issuer's own (direct),
/// or an indirect CRL (RFC 5280 §5.2.5) whose issuer the certificate's
/// cRLDistributionPoints name as cRLIssuer; the certificate of an indirect CRL issuer is
/// validated through `ctx.crl_issuers`.
fn crl_answer(
    p: &ParsedCrl,
    cert: &CertInfo,
    issuer: &CertInfo,
    ctx: &RevocationContext<'_>,
    deltas: &Deltas<'_>,
) -> Option<Result<Answer, Finding>> {
    if p.is_delta() {
        return None;
    }
    let direct = p.issued_by_name(&cert.issuer, cert.issuer_norm.as_deref());
    let object = p.describe();
    let reject = |reason: String| {
        Some(Err(Finding::new(
            "XCV: revocation data",
            object.clone(),
            reason,
        )))
    };
    if !direct {
        let named = cert
            .crl_dps
            .iter()
            .any(|dp| dp.names_crl_issuer(&p.issuer, p.issuer_norm.as_deref()));
        if !named {
            if p.is_indirect() && lists_issuer(p, cert) {
                return reject(format!(
                    "an indirect CRL with entries for certificates of {}, but the certificate's cRLDistributionPoints do not name {} as cRLIssuer: it is not authoritative for this certificate (RFC 5280 §6.3.3 (b)(1))",
                    cert.issuer_dn, p.issuer_dn
                ));
            }
            return None;
        }
        if !p.is_indirect() {
            return reject(format!(
                "the certificate names {} as cRLIssuer, but the CRL's issuingDistributionPoint does not assert indirectCRL (RFC 5280 §5.2.5, §6.3.3 (b)(1))",
                p.issuer_dn
            ));
        }
    }
    if let Some(why) = &p.unusable {
        return reject(why.clone());
    }
    if let Some((_, idp)) = &p.idp {
        if idp.only_contains_attribute_certs
            || (idp.only_contains_user_certs && cert.is_ca())
            || (idp.only_contains_ca_certs && !cert.is_ca())
        {
            return None;
        }
        if idp.only_some_reasons.is_some() {
            return reject("CRLs limited to some reasons are not supported".into());
        }
        if let Some(why) = idp_mismatch(p, idp, cert, direct) {
            return reject(why);
        }
    }
    let mut warnings = Vec::new();
    let indirect_signer_cert;
    let (signer, algs): (&CertInfo, _) = if direct {
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
        (issuer, algs)
    } else {
        match indirect_signer(p, ctx) {
            Ok((c, algs, notes)) => {
                warnings.extend(notes);
                indirect_signer_cert = c;
                (&*indirect_signer_cert, algs)
            }
            Err(why) => return reject(why),
        }
    };
    if let Err(mut f) = ctx.policy.check_algorithms(&algs, ctx.at) {
        f.object = object.clone();
        return Some(Err(f));
    }
    let base_entry = match find_entry(p, cert) {
        Ok(e) => e,
        Err(why) => return reject(why),
    };

    // A delta CRL completing this one: embedded, else (online) from freshestCRL.
    let mut delta = deltas.best_for(p, signer, cert, ctx);
    let mut want: Vec<String> = p.freshest_urls.clone();
    if direct {
        want.extend(cert.freshest_urls.iter().cloned());
    }
    if delta.is_none()
        && !want.is_empty()
        && !matches!(&base_entry, Some(e) if !e.is_remove() && e.reason.as_deref() != Some("certificateHold"))
        && deltas.fetch(&want, &cert.label)
    {
        delta = deltas.best_for(p, signer, cert, ctx);
    }
    let mut entry = base_entry.clone();
    let mut from_delta = false;
    if let Some(d) = &delta {
        match &d.entry {
            Ok(Some(e)) => {
                entry = Some(e.clone());
                from_delta = true;
            }
            Ok(None) => {}
            Err(why) => return reject(format!("{}: {why}", d.label)),
        }
    } else if !want.is_empty() {
        warnings.push(Finding::new(
            "XCV: revocation data",
            object.clone(),
            "the CRL announces delta CRLs (freshestCRL) but no matching delta CRL was available: the status is that of the complete CRL alone",
        ));
    }
    let status = match &entry {
        None => RevocationStatus::Good,
        Some(e) if e.is_remove() => {
            let note = if from_delta {
                match &base_entry {
                    Some(b) if b.reason.as_deref() != Some("certificateHold") => format!(
                        "the delta CRL lists the certificate with reason removeFromCRL although the complete CRL lists it as revoked ({}); the delta CRL prevails",
                        b.reason.as_deref().unwrap_or("unspecified")
                    ),
                    _ => "the delta CRL lists the certificate with reason removeFromCRL: released from the hold of the complete CRL".to_string(),
                }
            } else {
                "entry removeFromCRL: the certificate was released from hold".to_string()
            };
            warnings.push(Finding::new("XCV: revocation data", object.clone(), note));
            RevocationStatus::Good
        }
        Some(e) => RevocationStatus::Revoked {
            time: e.time,
            reason: e.reason.clone(),
        },
    };
    let (this_update, next_update) = delta.as_ref().map_or((p.this_update, p.next_update), |d| {
        (d.this_update, d.next_update)
    });
    Some(Ok(Answer {
        source: RevocationSource::Crl,
        status,
        this_update,
        next_update,
        produced_at: None,
        signed_by: signer.subject_dn.clone(),
        data: p.der.clone(),
        responder_cert: None,
        delta_fetched: delta.as_ref().is_some_and(|d| d.fetched),
        delta: delta.map(|d| d.der),
        crl_issuer_cert: (!direct).then(|| signer.der.clone()),
        warnings,
    }))
}

/// Why the delta CRL `d` completed none of the complete CRLs `bases` for this
/// certificate.
fn unpaired_reason(d: &ParsedCrl, bases: &[&ParsedCrl]) -> String {
    let base_no = d.delta_base.as_deref().map(number_text).unwrap_or_default();
    let same_issuer: Vec<&&ParsedCrl> = bases
        .iter()
        .filter(|b| b.issued_by_name(&d.issuer, d.issuer_norm.as_deref()))
        .collect();
    if same_issuer.is_empty() {
        return format!(
            "no complete CRL of {} is available to apply it to (it needs one with cRLNumber ≥ its BaseCRLNumber {base_no})",
            d.issuer_dn
        );
    }
    let same_scope: Vec<&&&ParsedCrl> = same_issuer
        .iter()
        .filter(|b| b.idp_der() == d.idp_der())
        .collect();
    if same_scope.is_empty() {
        return format!(
            "no complete CRL of {} with the same issuingDistributionPoint scope is available",
            d.issuer_dn
        );
    }
    let newest = same_scope
        .iter()
        .filter_map(|b| b.number.as_deref())
        .max_by(|a, b| cmp_number(a, b));
    let (Some(newest), Some(delta_base), Some(number)) =
        (newest, d.delta_base.as_deref(), d.number.as_deref())
    else {
        return "the complete CRLs of its issuer carry no cRLNumber".into();
    };
    if cmp_number(newest, delta_base).is_lt() {
        return format!(
            "the newest complete CRL of its issuer and scope has cRLNumber {}, older than the delta's BaseCRLNumber {base_no}",
            number_text(newest)
        );
    }
    if !cmp_number(number, newest).is_gt() {
        return format!(
            "it is not newer than the complete CRL (its cRLNumber {} ≤ {})",
            number_text(number),
            number_text(newest)
        );
    }
    "the complete CRL it applies to was not accepted (see the other findings)".into()
}

/// Collects the accepted answers of `ocsps` and `crls` for `cert`.
fn answers(
    ocsps: &[ParsedOcsp],
    crls: &[ParsedCrl],
    cert: &CertInfo,
    issuer: &CertInfo,
    ctx: &RevocationContext<'_>,
    deltas: &Deltas<'_>,
    rejected: &mut Vec<Finding>,
) -> Vec<Answer> {
    let mut out = Vec::new();
    let mut push = |r: Result<Answer, Finding>, out: &mut Vec<Answer>| match r {
        Ok(a) => {
            if a.this_update < cert.not_before {
                let f = Finding::new(
                    "XCV: revocation data",
                    format!("{:?} signed by {}", a.source, a.signed_by),
                    format!(
                        "issued at {}, before the certificate's notBefore {}",
                        rfc3339(a.this_update),
                        rfc3339(cert.not_before)
                    ),
                );
                if !rejected.contains(&f) {
                    rejected.push(f);
                }
            } else {
                out.push(a);
            }
        }
        Err(f) => {
            if !rejected.contains(&f) {
                rejected.push(f);
            }
        }
    };
    for p in ocsps {
        if let Some(r) = ocsp_answer(p, cert, issuer, ctx.pool, ctx, false) {
            push(r, &mut out);
        }
    }
    for p in crls {
        if let Some(r) = crl_answer(p, cert, issuer, ctx, deltas) {
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
    let deltas = Deltas::new(&ctx.data.crls, ctx.fetcher);
    let mut online_crls: Vec<ParsedCrl> = Vec::new();
    let embedded = answers(
        &ctx.data.ocsps,
        &ctx.data.crls,
        cert,
        issuer,
        ctx,
        &deltas,
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
        deltas.online.set(true);
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
                        &deltas,
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
        // Embedded complete CRLs announcing delta CRLs (freshestCRL): completed by the
        // deltas fetched from there (answers without a fetched delta were had above).
        if !got_decisive
            && (!cert.freshest_urls.is_empty()
                || ctx
                    .data
                    .crls
                    .iter()
                    .any(|c| !c.is_delta() && !c.freshest_urls.is_empty()))
        {
            let got: Vec<Answer> = answers(
                &[],
                &ctx.data.crls,
                cert,
                issuer,
                ctx,
                &deltas,
                &mut rejected,
            )
            .into_iter()
            .filter(|a| a.delta_fetched)
            .collect();
            got_decisive |= got.iter().any(|a| a.status != RevocationStatus::Unknown);
            online.extend(got);
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
                            &deltas,
                            &mut rejected,
                        );
                        got_decisive |= got.iter().any(|a| a.status != RevocationStatus::Unknown);
                        online.extend(got);
                        online_crls.push(p);
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
    // Delta CRLs about this certificate's issuer that completed no complete CRL.
    {
        let bases: Vec<&ParsedCrl> = ctx
            .data
            .crls
            .iter()
            .filter(|c| !c.is_delta())
            .chain(online_crls.iter())
            .collect();
        let used = deltas.used.borrow();
        let reported = deltas.reported.borrow();
        deltas.each(|i, d, _| {
            if used.contains(&i) || reported.contains(&i) {
                return;
            }
            let relevant = d.issued_by_name(&cert.issuer, cert.issuer_norm.as_deref())
                || cert
                    .crl_dps
                    .iter()
                    .any(|dp| dp.names_crl_issuer(&d.issuer, d.issuer_norm.as_deref()));
            if relevant {
                rejected.push(Finding::new(
                    "XCV: revocation data",
                    d.describe(),
                    format!("delta CRL ignored: {}", unpaired_reason(d, &bases)),
                ));
            }
        });
    }
    for f in deltas.findings.take() {
        if !rejected.contains(&f) {
            rejected.push(f);
        }
    }
    notes.extend(deltas.fetch_notes.take());
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
        delta: a.delta,
        crl_issuer_cert: a.crl_issuer_cert,
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
/// single response for its serial number, or a CRL issued under its issuer's name or
/// under a cRLIssuer name of its cRLDistributionPoints (an indirect CRL). Used for the
/// level (B-LT needs the validation data of the signing certificate in the signature or
/// its container), not for trust: the data is verified by [`check_revocation`].
pub fn data_covers(cert: &[u8], crls: &[Der], ocsps: &[Der]) -> bool {
    let Ok(info) = CertInfo::parse(cert) else {
        return false;
    };
    let serial = super::cms::tlv::strip_zeros(&info.serial);
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
                !p.is_delta()
                    && (p.issued_by_name(&info.issuer, info.issuer_norm.as_deref())
                        || info
                            .crl_dps
                            .iter()
                            .any(|dp| dp.names_crl_issuer(&p.issuer, p.issuer_norm.as_deref())))
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

    // -----------------------------------------------------------------------------
    // Delta CRLs (RFC 5280 §5.2.4, §5.2.6, §6.3.3) and indirect CRLs (§5.2.5, §5.3.3),
    // each outcome cross-checked with `openssl verify` (-use_deltas, -extended_crl) and
    // pyhanko-certvalidator on the same files.

    use x509_cert::ext::pkix::CrlReason;

    const DELTA_URL: &str = "http://127.0.0.1:9/issuing-delta.crl";

    /// Validates `pki.signer` (or `cert`) at `at` with `crls` plus an empty root CRL (for
    /// the intermediate and the CRL authority), the intermediate and the CRL authority
    /// in the pool.
    fn check_crls(
        pki: &Pki,
        crls: &[Der],
        at: OffsetDateTime,
        policy: &Policy,
        fetcher: Option<&dyn RevocationFetcher>,
    ) -> CertCheck {
        let mut all = vec![crl(&pki.root, at - time::Duration::hours(3), &[])];
        all.extend_from_slice(crls);
        let anchors = [pki.root.der.clone()];
        let trust = TrustSources {
            explicit: &anchors,
            registry: None,
        };
        check_certificate(&CertCheckInput {
            cert: &pki.signer.der,
            pool: &[pki.interm.der.clone(), pki.crl_authority.der.clone()],
            crls: &all,
            ocsps: &[],
            trust: &trust,
            at,
            usage: Usage::Signature,
            policy,
            fetcher,
        })
    }

    fn pem_crl(dir: &std::path::Path, name: &str, der: &[u8]) -> String {
        std::fs::write(dir.join(format!("{name}.der")), der).unwrap();
        let file = format!("{name}.pem");
        openssl(
            dir,
            &[
                "crl",
                "-inform",
                "DER",
                "-in",
                &format!("{name}.der"),
                "-out",
                &file,
            ],
        );
        file
    }

    /// `openssl crl -text` of a DER CRL.
    fn openssl_crl_text(der: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.der"), der).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["crl", "-inform", "DER", "-in", "c.der", "-noout", "-text"])
            .current_dir(dir.path())
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `openssl verify -crl_check` of the signer with `crls` (the root CRL is not needed:
    /// only the leaf is checked); `flags`: `-use_deltas`, `-extended_crl` (OpenSSL 3.0
    /// only keeps delta CRLs out of the complete-CRL candidates with `-extended_crl`).
    /// Returns `OK` or openssl's error line.
    fn openssl_verify(pki: &Pki, crls: &[&[u8]], flags: &[&str]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        pki.root.write(d, "root");
        pki.signer.write(d, "signer");
        std::fs::write(
            d.join("untrusted.pem"),
            format!("{}{}", pki.interm.pem, pki.crl_authority.pem),
        )
        .unwrap();
        let mut args: Vec<String> = [
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "untrusted.pem",
            "-crl_check",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(flags.iter().map(|s| s.to_string()));
        for (i, c) in crls.iter().enumerate() {
            args.push("-CRLfile".into());
            args.push(pem_crl(d, &format!("crl{i}"), c));
        }
        args.push("signer.pem".into());
        let out = std::process::Command::new("openssl")
            .args(&args)
            .current_dir(d)
            .output()
            .expect("openssl runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() && text.contains("signer.pem: OK") {
            "OK".into()
        } else {
            text.lines()
                .find(|l| l.contains("error"))
                .unwrap_or(&text)
                .to_string()
        }
    }

    /// The pyHanko venv's python; a missing peer fails the test loudly (scripts/test
    /// installs it).
    fn venv_python() -> std::path::PathBuf {
        let venv =
            std::env::var("SIGNGATE_VENV").unwrap_or_else(|_| "/var/tmp/signgate-venv".into());
        let p = std::path::PathBuf::from(venv).join("bin/python");
        assert!(
            p.exists(),
            "{} is missing: run scripts/test, which installs pyHanko there",
            p.display()
        );
        p
    }

    /// pyhanko-certvalidator's verdict on the signer with `crls` (and the root CRL),
    /// revocation checking `hard-fail`, no fetching: `good`, `revoked` or `error: …`.
    fn pyhanko_verdict(pki: &Pki, crls: &[&[u8]], at: OffsetDateTime) -> String {
        const SCRIPT: &str = r#"
import asyncio, sys
from datetime import datetime, timezone
from pyhanko_certvalidator import ValidationContext, CertificateValidator
from pyhanko_certvalidator.errors import RevokedError
from asn1crypto import x509
d, n, moment = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def cert(name):
    return x509.Certificate.load(open(f"{d}/{name}.der", "rb").read())
crls = [open(f"{d}/crl{i}.der", "rb").read() for i in range(n)]
vc = ValidationContext(
    trust_roots=[cert("root")], other_certs=[cert("interm"), cert("authority")],
    crls=crls, revocation_mode="hard-fail", allow_fetching=False,
    moment=datetime.fromtimestamp(moment, timezone.utc))
v = CertificateValidator(cert("signer"), validation_context=vc)
try:
    asyncio.run(v.async_validate_path())
    print("good")
except RevokedError as e:
    print("revoked")
except Exception as e:
    print(f"error: {type(e).__name__}: {e}")
"#;
        let py = venv_python();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (name, node) in [
            ("root", &pki.root),
            ("interm", &pki.interm),
            ("authority", &pki.crl_authority),
            ("signer", &pki.signer),
        ] {
            std::fs::write(d.join(format!("{name}.der")), &node.der).unwrap();
        }
        let mut all: Vec<Vec<u8>> = vec![crl(&pki.root, at - time::Duration::hours(3), &[])];
        all.extend(crls.iter().map(|c| c.to_vec()));
        for (i, c) in all.iter().enumerate() {
            std::fs::write(d.join(format!("crl{i}.der")), c).unwrap();
        }
        let out = std::process::Command::new(py)
            .args([
                "-c",
                SCRIPT,
                d.to_str().unwrap(),
                &all.len().to_string(),
                &at.unix_timestamp().to_string(),
            ])
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = String::from_utf8(out.stdout).unwrap().trim().to_string();
        eprintln!("pyhanko-certvalidator: {v}");
        v
    }

    /// The interm's complete CRL number `number` issued at `t` with freshestCRL, listing
    /// `entries`.
    fn base_crl(pki: &Pki, t: OffsetDateTime, number: u64, entries: Vec<CrlEntry>) -> Der {
        let mut s = CrlSpec::new(t, number);
        s.freshest = Some(DELTA_URL.into());
        s.entries = entries;
        build_crl(&pki.interm, &s)
    }

    /// A delta CRL of the interm (cRLNumber `number`, BaseCRLNumber `base`).
    fn delta_crl(
        signer: &Node,
        t: OffsetDateTime,
        number: u64,
        base: u64,
        entries: Vec<CrlEntry>,
    ) -> Der {
        let mut s = CrlSpec::new(t, number);
        s.delta_base = Some(base);
        s.next_update = t + time::Duration::days(1);
        s.entries = entries;
        build_crl(signer, &s)
    }

    fn rejected_has(f: &RevocationFinding, needle: &str) -> bool {
        f.rejected.iter().any(|x| x.reason.contains(needle))
    }

    #[test]
    fn delta_crl_revocation_overrides_a_good_complete_crl() {
        let at = now();
        let pki = build(&Opts::new(at));
        let revoked_at = at - time::Duration::minutes(30);
        let base = base_crl(&pki, at - time::Duration::days(2), 10, vec![]);
        let delta = delta_crl(
            &pki.interm,
            at - time::Duration::hours(1),
            12,
            10,
            vec![CrlEntry::new(
                &SIGNER_SERIAL,
                revoked_at,
                CrlReason::KeyCompromise,
            )],
        );
        let text = openssl_crl_text(&delta);
        assert!(text.contains("Delta CRL Indicator"), "{text}");
        let policy = Policy::default_eu();

        // The complete CRL alone: good (with a note that its delta was missing).
        let r = check_crls(&pki, std::slice::from_ref(&base), at, &policy, None);
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        let f = &r.revocation[0];
        assert_eq!(f.status, RevocationStatus::Good);
        assert!(f.delta.is_none());
        assert!(
            f.warnings
                .iter()
                .any(|w| w.reason.contains("no matching delta CRL was available")),
            "{:?}",
            f.warnings
        );
        assert_eq!(
            openssl_verify(&pki, &[&base], &["-use_deltas", "-extended_crl"]),
            "OK"
        );

        // With the delta: revoked, from the delta's time, and the delta is reported.
        let r = check_crls(&pki, &[base.clone(), delta.clone()], at, &policy, None);
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::RevokedNoPoe),
            "{:?}",
            r.errors
        );
        let f = &r.revocation[0];
        assert_eq!(
            f.status,
            RevocationStatus::Revoked {
                time: revoked_at,
                reason: Some("keyCompromise".into())
            }
        );
        assert_eq!(f.source, Some(RevocationSource::Crl));
        assert_eq!(f.data.as_deref(), Some(base.as_slice()));
        assert_eq!(f.delta.as_deref(), Some(delta.as_slice()));
        assert_eq!(f.this_update, Some(at - time::Duration::hours(1)));
        assert!(
            f.summary().contains("CRL with delta CRL"),
            "{}",
            f.summary()
        );
        // Given in the other order, the same.
        let r2 = check_crls(&pki, &[delta.clone(), base.clone()], at, &policy, None);
        assert_eq!(r2.revocation[0].status, f.status);

        assert!(
            openssl_verify(&pki, &[&base, &delta], &["-use_deltas", "-extended_crl"])
                .contains("revoked"),
            "openssl agrees the delta revokes"
        );
        let v = pyhanko_verdict(&pki, &[&base, &delta], at);
        assert_eq!(v, "revoked");
    }

    #[test]
    fn delta_remove_from_crl_releases_a_hold() {
        let at = now();
        let pki = build(&Opts::new(at));
        let held_at = at - time::Duration::days(1);
        let base = base_crl(
            &pki,
            at - time::Duration::hours(20),
            20,
            vec![CrlEntry::new(
                &SIGNER_SERIAL,
                held_at,
                CrlReason::CertificateHold,
            )],
        );
        let delta = delta_crl(
            &pki.interm,
            at - time::Duration::hours(1),
            21,
            20,
            vec![CrlEntry::new(
                &SIGNER_SERIAL,
                held_at,
                CrlReason::RemoveFromCRL,
            )],
        );
        let policy = Policy::default_eu();

        let r = check_crls(&pki, std::slice::from_ref(&base), at, &policy, None);
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::RevokedNoPoe),
            "on hold: {:?}",
            r.errors
        );
        assert!(
            openssl_verify(&pki, &[&base], &["-use_deltas", "-extended_crl"]).contains("revoked")
        );
        // pyHanko refuses a complete CRL whose announced delta (freshestCRL) is missing;
        // like openssl (and EU DSS) we use it alone, with a warning: it is complete and
        // current until its nextUpdate (RFC 5280 §6.3.3 makes delta CRLs optional).
        let v = pyhanko_verdict(&pki, &[&base], at);
        assert!(
            v.contains("Delta CRL matching Freshest CRL extension not available"),
            "{v}"
        );

        let r = check_crls(&pki, &[base.clone(), delta.clone()], at, &policy, None);
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        let f = &r.revocation[0];
        assert_eq!(f.status, RevocationStatus::Good);
        assert_eq!(f.delta.as_deref(), Some(delta.as_slice()));
        assert!(
            f.warnings
                .iter()
                .any(|w| w.reason.contains("released from the hold")),
            "{:?}",
            f.warnings
        );
        assert_eq!(
            openssl_verify(&pki, &[&base, &delta], &["-use_deltas", "-extended_crl"]),
            "OK"
        );
        let v = pyhanko_verdict(&pki, &[&base, &delta], at);
        assert_eq!(v, "good");
    }

    #[test]
    fn delta_crls_without_a_matching_base_are_ignored_with_a_reason() {
        let at = now();
        let pki = build(&Opts::new(at));
        let other = build(&Opts::new(at));
        let policy = Policy::default_eu();
        let revoking = || {
            vec![CrlEntry::new(
                &SIGNER_SERIAL,
                at - time::Duration::hours(2),
                CrlReason::KeyCompromise,
            )]
        };
        let t = at - time::Duration::hours(1);

        // No complete CRL at all: no status, and the delta is named.
        let delta = delta_crl(&pki.interm, t, 8, 7, revoking());
        let r = check_crls(&pki, std::slice::from_ref(&delta), at, &policy, None);
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::TryLater),
            "{:?}",
            r.errors
        );
        assert_eq!(r.revocation[0].status, RevocationStatus::Unavailable);
        assert!(
            rejected_has(&r.revocation[0], "delta CRL ignored: no complete CRL of"),
            "{:?}",
            r.revocation[0].rejected
        );

        // The complete CRL is older than the delta's base: the base alone answers.
        let old_base = base_crl(&pki, at - time::Duration::days(3), 5, vec![]);
        let r = check_crls(&pki, &[old_base.clone(), delta.clone()], at, &policy, None);
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        let f = &r.revocation[0];
        assert!(f.delta.is_none());
        assert!(
            rejected_has(f, "cRLNumber 5, older than the delta's BaseCRLNumber 7"),
            "{:?}",
            f.rejected
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.reason.contains("delta CRL ignored")),
            "the reason reaches the report: {:?}",
            r.warnings
        );
        assert_eq!(
            openssl_verify(
                &pki,
                &[&old_base, &delta],
                &["-use_deltas", "-extended_crl"]
            ),
            "OK",
            "openssl does not apply the delta either"
        );

        // A delta not newer than the complete CRL.
        let new_base = base_crl(&pki, at - time::Duration::hours(3), 9, vec![]);
        let r = check_crls(&pki, &[new_base.clone(), delta.clone()], at, &policy, None);
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        assert!(
            rejected_has(&r.revocation[0], "not newer than the complete CRL"),
            "{:?}",
            r.revocation[0].rejected
        );

        // Another scope (issuingDistributionPoint) than the complete CRL's.
        let mut s = CrlSpec::new(t, 8);
        s.delta_base = Some(5);
        s.idp = Some(idp_ext(Some(ISSUING_CRL_URL), false));
        s.entries = revoking();
        let scoped = build_crl(&pki.interm, &s);
        let text = openssl_crl_text(&scoped);
        assert!(text.contains("Issuing Distribution Point"), "{text}");
        let r = check_crls(&pki, &[old_base.clone(), scoped.clone()], at, &policy, None);
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        assert!(
            rejected_has(&r.revocation[0], "same issuingDistributionPoint scope"),
            "{:?}",
            r.revocation[0].rejected
        );
        assert_eq!(
            openssl_verify(
                &pki,
                &[&old_base, &scoped],
                &["-use_deltas", "-extended_crl"]
            ),
            "OK"
        );

        // Same name, other key: the delta's signature is checked like any CRL's.
        let forged = delta_crl(&other.interm, t, 8, 5, revoking());
        let r = check_crls(&pki, &[old_base.clone(), forged], at, &policy, None);
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        assert!(
            rejected_has(
                &r.revocation[0],
                "delta CRL not used: its signature does not verify"
            ),
            "{:?}",
            r.revocation[0].rejected
        );

        // Of two matching deltas the newest wins: an older one revoking, a newer one
        // (cumulative since the same base) no longer listing a hold it had.
        let hold = vec![CrlEntry::new(
            &SIGNER_SERIAL,
            at - time::Duration::hours(2),
            CrlReason::CertificateHold,
        )];
        let older = delta_crl(&pki.interm, at - time::Duration::minutes(50), 6, 5, hold);
        let newer = delta_crl(&pki.interm, at - time::Duration::minutes(10), 7, 5, vec![]);
        let r = check_crls(
            &pki,
            &[newer.clone(), old_base.clone(), older.clone()],
            at,
            &policy,
            None,
        );
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        assert_eq!(r.revocation[0].delta.as_deref(), Some(newer.as_slice()));
    }

    #[test]
    fn indirect_crl_revokes_through_inherited_certificate_issuer() {
        let at = now();
        let mut o = Opts::new(at);
        o.signer_crl_issuer = true;
        let pki = build(&o);
        let policy = Policy::default_eu();
        let interm_name = subject_der(&pki.interm);
        let root_name = subject_der(&pki.root);
        let revoked_at = at - time::Duration::hours(5);
        let entry = |serial: &[u8], issuer: Option<&[u8]>| CrlEntry {
            serial: serial.to_vec(),
            time: revoked_at,
            reason: Some(CrlReason::KeyCompromise),
            cert_issuer: issuer.map(<[u8]>::to_vec),
        };
        let mut s = CrlSpec::new(at - time::Duration::hours(1), 3);
        s.idp = Some(idp_ext(Some(INDIRECT_CRL_URL), true));
        s.entries = vec![
            // The root's certificates first, then the intermediate's: the signer's entry
            // carries no certificateIssuer and inherits the intermediate.
            entry(&[0x42], Some(&root_name)),
            entry(&[0x43], None),
            entry(&[0x77], Some(&interm_name)),
            entry(&SIGNER_SERIAL, None),
        ];
        let indirect = build_crl(&pki.crl_authority, &s);
        let text = openssl_crl_text(&indirect);
        assert!(
            text.contains("Indirect CRL") && text.contains("Certificate Issuer"),
            "{text}"
        );

        let r = check_crls(&pki, std::slice::from_ref(&indirect), at, &policy, None);
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::RevokedNoPoe),
            "{:?} {:?}",
            r.errors,
            r.warnings
        );
        let f = &r.revocation[0];
        assert_eq!(
            f.status,
            RevocationStatus::Revoked {
                time: revoked_at,
                reason: Some("keyCompromise".into())
            }
        );
        assert!(
            f.signed_by
                .as_deref()
                .is_some_and(|s| s.contains("Test CRL Authority")),
            "{f:?}"
        );
        assert_eq!(
            f.crl_issuer_cert.as_deref(),
            Some(pki.crl_authority.der.as_slice())
        );
        assert!(
            openssl_verify(&pki, &[&indirect], &["-extended_crl"]).contains("revoked"),
            "openssl agrees"
        );
        let v = pyhanko_verdict(&pki, &[&indirect], at);
        assert_eq!(v, "revoked");

        // The CRL authority's certificate is validated: without it, or revoked by the
        // root before the CRL was issued, the CRL is not used.
        let anchors = [pki.root.der.clone()];
        let trust = TrustSources {
            explicit: &anchors,
            registry: None,
        };
        let root_crl = crl(&pki.root, at - time::Duration::hours(3), &[]);
        let r = check_certificate(&CertCheckInput {
            cert: &pki.signer.der,
            pool: std::slice::from_ref(&pki.interm.der),
            crls: &[root_crl, indirect.clone()],
            ocsps: &[],
            trust: &trust,
            at,
            usage: Usage::Signature,
            policy: &policy,
            fetcher: None,
        });
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::TryLater),
            "{:?}",
            r.errors
        );
        assert!(
            rejected_has(
                &r.revocation[0],
                "was not found among the available certificates"
            ),
            "{:?}",
            r.revocation[0].rejected
        );
        let revoked_root_crl = crl(
            &pki.root,
            at - time::Duration::hours(3),
            &[(&CRL_AUTHORITY_SERIAL, at - time::Duration::days(1))],
        );
        let r = check_certificate(&CertCheckInput {
            cert: &pki.signer.der,
            pool: &[pki.interm.der.clone(), pki.crl_authority.der.clone()],
            crls: &[revoked_root_crl, indirect.clone()],
            ocsps: &[],
            trust: &trust,
            at,
            usage: Usage::Signature,
            policy: &policy,
            fetcher: None,
        });
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::TryLater),
            "{:?}",
            r.errors
        );
        assert!(
            rejected_has(&r.revocation[0], "indirect CRL issuer's certificate")
                && rejected_has(&r.revocation[0], "REVOKED_NO_POE"),
            "{:?}",
            r.revocation[0].rejected
        );

        // A CRL from the named cRLIssuer without indirectCRL is refused.
        let mut s = CrlSpec::new(at - time::Duration::hours(1), 4);
        s.entries = vec![entry(&SIGNER_SERIAL, None)];
        let plain = build_crl(&pki.crl_authority, &s);
        let r = check_crls(&pki, std::slice::from_ref(&plain), at, &policy, None);
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::TryLater),
            "{:?}",
            r.errors
        );
        assert!(
            rejected_has(&r.revocation[0], "does not assert indirectCRL"),
            "{:?}",
            r.revocation[0].rejected
        );
    }

    #[test]
    fn indirect_crl_needs_the_crl_issuer_in_the_certificates_distribution_points() {
        let at = now();
        // The signer's CRL distribution point is its issuer's own CRL.
        let pki = build(&Opts::new(at));
        let policy = Policy::default_eu();
        let mut s = CrlSpec::new(at - time::Duration::hours(1), 3);
        s.idp = Some(idp_ext(Some(INDIRECT_CRL_URL), true));
        s.entries = vec![CrlEntry {
            serial: SIGNER_SERIAL.to_vec(),
            time: at - time::Duration::hours(5),
            reason: Some(CrlReason::KeyCompromise),
            cert_issuer: Some(subject_der(&pki.interm)),
        }];
        let indirect = build_crl(&pki.crl_authority, &s);
        let r = check_crls(&pki, std::slice::from_ref(&indirect), at, &policy, None);
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::TryLater),
            "{:?}",
            r.errors
        );
        assert_eq!(r.revocation[0].status, RevocationStatus::Unavailable);
        assert!(
            rejected_has(&r.revocation[0], "do not name")
                && rejected_has(&r.revocation[0], "not authoritative"),
            "{:?}",
            r.revocation[0].rejected
        );
        // openssl finds the CRL but not covering the certificate.
        let v = openssl_verify(&pki, &[&indirect], &["-extended_crl"]);
        assert!(v.contains("different CRL scope"), "{v}");
        let v = pyhanko_verdict(&pki, &[&indirect], at);
        assert!(v.contains("InsufficientRevinfoError"), "{v}");
    }

    #[test]
    fn indirect_crl_entries_of_another_issuer_do_not_revoke() {
        let at = now();
        let mut o = Opts::new(at);
        o.signer_crl_issuer = true;
        let pki = build(&o);
        let policy = Policy::default_eu();
        let mut s = CrlSpec::new(at - time::Duration::hours(1), 3);
        s.idp = Some(idp_ext(Some(INDIRECT_CRL_URL), true));
        // The signer's serial, but under the root (and, inherited, a second entry).
        s.entries = vec![
            CrlEntry {
                serial: SIGNER_SERIAL.to_vec(),
                time: at - time::Duration::hours(5),
                reason: Some(CrlReason::KeyCompromise),
                cert_issuer: Some(subject_der(&pki.root)),
            },
            CrlEntry::new(
                &[0x10, 0x02],
                at - time::Duration::hours(4),
                CrlReason::Superseded,
            ),
        ];
        let indirect = build_crl(&pki.crl_authority, &s);
        let r = check_crls(&pki, std::slice::from_ref(&indirect), at, &policy, None);
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        let f = &r.revocation[0];
        assert_eq!(f.status, RevocationStatus::Good);
        assert_eq!(
            f.crl_issuer_cert.as_deref(),
            Some(pki.crl_authority.der.as_slice())
        );
        assert_eq!(openssl_verify(&pki, &[&indirect], &["-extended_crl"]), "OK");
        let v = pyhanko_verdict(&pki, &[&indirect], at);
        assert_eq!(v, "good");
        // The same CRL as a B-LT level witness for the signer.
        assert!(data_covers(
            &pki.signer.der,
            std::slice::from_ref(&indirect),
            &[]
        ));
    }

    /// RFC 5280 §6.3.3 (b)(2)(i): a CRL whose issuingDistributionPoint names another
    /// distribution point than the certificate's covers other certificates (a partition).
    #[test]
    fn crl_of_another_distribution_point_is_not_used() {
        let at = now();
        let pki = build(&Opts::new(at));
        let policy = Policy::default_eu();
        let partition = |url: &str| {
            let mut s = CrlSpec::new(at - time::Duration::hours(1), 2);
            s.idp = Some(idp_ext(Some(url), false));
            build_crl(&pki.interm, &s)
        };
        let other = partition("http://127.0.0.1:9/partition-2.crl");
        let r = check_crls(&pki, std::slice::from_ref(&other), at, &policy, None);
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::TryLater),
            "{:?}",
            r.errors
        );
        assert!(
            rejected_has(&r.revocation[0], "partition-2.crl")
                && rejected_has(
                    &r.revocation[0],
                    "matches none of the certificate's CRL distribution points"
                ),
            "{:?}",
            r.revocation[0].rejected
        );
        let v = openssl_verify(&pki, &[&other], &[]);
        assert!(v.contains("different CRL scope"), "{v}");
        // Scheme and host compare case-insensitively.
        let own = partition(&ISSUING_CRL_URL.replace("http://", "HTTP://"));
        let r = check_crls(&pki, std::slice::from_ref(&own), at, &policy, None);
        assert_eq!(r.indication, Indication::TotalPassed, "{:?}", r.errors);
        assert_eq!(
            openssl_verify(&pki, &[&partition(ISSUING_CRL_URL)], &[]),
            "OK"
        );
    }

    #[test]
    fn crl_numbers_and_hostile_delta_and_indirect_crls() {
        assert_eq!(crl_number_of(&[0x00, 0x00, 0x80]), Some(vec![0x80]));
        assert_eq!(crl_number_of(&[0x80]), None, "negative");
        assert_eq!(crl_number_of(&[]), None);
        assert!(cmp_number(&[0x01, 0x00], &[0xff]).is_gt());
        assert!(cmp_number(&[0x05], &[0x07]).is_lt());
        assert_eq!(number_text(&[0x01, 0x00]), "256");
        assert_eq!(number_text(&[0xab; 17]), format!("0x{}", "ab".repeat(17)));

        let at = now();
        let pki = build(&Opts::new(at));
        let mut s = CrlSpec::new(at, 9);
        s.delta_base = Some(8);
        s.idp = Some(idp_ext(Some(INDIRECT_CRL_URL), true));
        s.freshest = Some(DELTA_URL.into());
        s.entries = vec![CrlEntry {
            serial: SIGNER_SERIAL.to_vec(),
            time: at,
            reason: Some(CrlReason::RemoveFromCRL),
            cert_issuer: Some(subject_der(&pki.interm)),
        }];
        let c = build_crl(&pki.crl_authority, &s);
        let p = parse_crl(&c).unwrap();
        assert!(p.is_delta() && p.is_indirect());
        assert_eq!(p.number.as_deref(), Some(&[9u8][..]));
        assert_eq!(p.delta_base.as_deref(), Some(&[8u8][..]));
        assert_eq!(p.freshest_urls, vec![DELTA_URL.to_string()]);
        assert!(p.unusable.is_none());
        let signer = CertInfo::parse(&pki.signer.der).unwrap();
        for n in 0..c.len() {
            if let Ok(p) = parse_crl(&c[..n]) {
                let _ = find_entry(&p, &signer);
                let _ = lists_issuer(&p, &signer);
            }
        }
        // A delta CRL without cRLNumber cannot be placed.
        let mut der = c.clone();
        let at_number = der
            .windows(5)
            .position(|w| w == [0x06, 0x03, 0x55, 0x1d, 0x14])
            .unwrap();
        der[at_number + 4] = 0x63; // 2.5.29.99: an unknown, non-critical extension
        let p = parse_crl(&der).unwrap();
        assert!(
            p.unusable
                .as_deref()
                .is_some_and(|u| u.contains("without cRLNumber")),
            "{:?}",
            p.unusable
        );
    }

    /// Serves files (path → body, see [`StaticServer::put`]) over HTTP/1.0 on loopback,
    /// counting requests, until dropped.
    type Files = Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

    struct StaticServer {
        base: String,
        files: Files,
        hits: Arc<std::sync::atomic::AtomicUsize>,
        stop: Arc<std::sync::atomic::AtomicBool>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl StaticServer {
        fn start() -> StaticServer {
            use std::io::{Read as _, Write as _};
            use std::sync::atomic::Ordering;
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let files: Files = Arc::default();
            let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (f, h, s) = (files.clone(), hits.clone(), stop.clone());
            let thread = std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if s.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut conn) = conn else { continue };
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut buf = [0u8; 4096];
                    let n = conn.read(&mut buf).unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]);
                    let path = req.split_whitespace().nth(1).unwrap_or("").to_string();
                    h.fetch_add(1, Ordering::SeqCst);
                    let body = f
                        .lock()
                        .unwrap()
                        .iter()
                        .find(|(p, _)| *p == path)
                        .map(|(_, b)| b.clone());
                    let _ = match body {
                        Some(body) => conn
                            .write_all(
                                format!(
                                    "HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\n\r\n",
                                    body.len()
                                )
                                .as_bytes(),
                            )
                            .and_then(|()| conn.write_all(&body)),
                        None => conn.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
                    };
                }
            });
            StaticServer {
                base,
                files,
                hits,
                stop,
                thread: Some(thread),
            }
        }

        /// Serves `body` at `path`; returns its URL.
        fn put(&self, path: &str, body: Vec<u8>) -> String {
            self.files.lock().unwrap().push((path.to_string(), body));
            format!("{}{path}", self.base)
        }

        fn hits(&self) -> usize {
            self.hits.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    impl Drop for StaticServer {
        fn drop(&mut self) {
            self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = std::net::TcpStream::connect(self.base.trim_start_matches("http://"));
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    /// A stale embedded complete CRL whose delta is announced by freshestCRL, in the
    /// certificate or in the CRL: online, the delta is fetched through the same fetcher
    /// (limits, cache) as any CRL and completes it.
    #[test]
    fn delta_crl_is_fetched_from_freshest_crl_online() {
        let at = now();
        let server = StaticServer::start();
        let mut policy = Policy::default_eu();
        policy.revocation_freshness = Some(Duration::from_secs(3600));
        let fetcher = HttpFetcher::new().unwrap();
        let revoking = |signer: &Node, number: u64, base: u64| {
            delta_crl(
                signer,
                at - time::Duration::minutes(10),
                number,
                base,
                vec![CrlEntry::new(
                    &SIGNER_SERIAL,
                    at - time::Duration::minutes(20),
                    CrlReason::KeyCompromise,
                )],
            )
        };
        let stale_base = |pki: &Pki, number: u64, freshest: Option<String>| {
            let mut s = CrlSpec::new(at - time::Duration::hours(6), number);
            s.freshest = freshest;
            build_crl(&pki.interm, &s)
        };

        // freshestCRL in the certificate; the complete CRL does not name it.
        let mut o = Opts::new(at);
        o.signer_freshest = Some(format!("{}/cert-delta.crl", server.base));
        let pki = build(&o);
        assert_eq!(
            CertInfo::parse(&pki.signer.der).unwrap().freshest_urls,
            vec![format!("{}/cert-delta.crl", server.base)]
        );
        let delta = revoking(&pki.interm, 31, 30);
        server.put("/cert-delta.crl", delta.clone());
        let base = stale_base(&pki, 30, None);
        let offline = check_crls(&pki, std::slice::from_ref(&base), at, &policy, None);
        assert_eq!(offline.revocation[0].status, RevocationStatus::Good);
        assert_eq!(server.hits(), 0, "offline means offline");
        let r = check_crls(
            &pki,
            std::slice::from_ref(&base),
            at,
            &policy,
            Some(&fetcher),
        );
        assert_eq!(
            r.sub_indication,
            Some(SubIndication::RevokedNoPoe),
            "{:?} {:?}",
            r.errors,
            r.warnings
        );
        let f = &r.revocation[0];
        assert!(f.fetched);
        assert_eq!(f.delta.as_deref(), Some(delta.as_slice()));
        assert_eq!(f.data.as_deref(), Some(base.as_slice()));
        assert_eq!(server.hits(), 1);
        // The fetcher's cache (until the delta's nextUpdate) answers the next time.
        let r = check_crls(
            &pki,
            std::slice::from_ref(&base),
            at,
            &policy,
            Some(&fetcher),
        );
        assert_eq!(r.sub_indication, Some(SubIndication::RevokedNoPoe));
        assert_eq!(server.hits(), 1);

        // freshestCRL in the complete CRL only.
        let pki = build(&Opts::new(at));
        let delta = revoking(&pki.interm, 41, 40);
        let url = server.put("/crl-delta.crl", delta.clone());
        let base = stale_base(&pki, 40, Some(url));
        let r = check_crls(
            &pki,
            std::slice::from_ref(&base),
            at,
            &policy,
            Some(&fetcher),
        );
        assert_eq!(r.sub_indication, Some(SubIndication::RevokedNoPoe));
        assert_eq!(r.revocation[0].delta.as_deref(), Some(delta.as_slice()));
        assert_eq!(server.hits(), 2);

        // A freshestCRL that does not answer: the base alone, with the failure noted.
        let base = stale_base(&pki, 40, Some(format!("{}/missing.crl", server.base)));
        let r = check_crls(
            &pki,
            std::slice::from_ref(&base),
            at,
            &policy,
            Some(&fetcher),
        );
        assert_eq!(
            r.revocation[0].status,
            RevocationStatus::Good,
            "{:?}",
            r.revocation[0]
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.reason.contains("downloading the delta CRL")
                    && w.reason.contains("HTTP status 404")),
            "{:?}",
            r.warnings
        );
    }
}
