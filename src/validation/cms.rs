//! CMS `SignedData` (RFC 5652) for validation: parsing, the signer's signed and unsigned
//! attributes (RFC 5035 ESS signing-certificate(-v2), ETSI EN 319 122-1 CAdES attributes,
//! Adobe `adbe-revocationInfoArchival`) and cryptographic verification of one `SignerInfo`.
//!
//! Owns: a bounded, panic-free TLV walker ([`tlv`]) that keeps every element's original
//! encoding (signed attributes are hashed exactly as encoded, and real signatures are not
//! always DER-sorted; BER indefinite lengths and constructed OCTET STRINGs from older tools
//! are accepted), [`parse_signed_data`], [`ParsedSignedData::verify_signer`] and the
//! [`Content`] a signature covers (attached, detached bytes, or PDF byte ranges).
//! Must not touch: chain building, revocation, trust or time decisions, timestamp imprint
//! semantics (that is `tsp`/`cades`/`pades`), or any crypto backend other than
//! `crate::validation::crypto`.

use const_oid::ObjectIdentifier;
use time::OffsetDateTime;

use super::crypto::{self, CryptoError, DigestAlg, Hasher, Scheme};
use super::evidence::{Algorithms, CertRef, Check, Der};
use super::report::{Finding, SubIndication};

/// Largest CMS structure accepted (bytes).
pub const MAX_CMS_SIZE: usize = 64 * 1024 * 1024;
/// Largest content materialised for a signature without signed attributes (bytes).
pub const MAX_MATERIALISED_CONTENT: usize = 64 * 1024 * 1024;
/// Most signer infos, certificates, CRLs or attributes read from one structure.
const MAX_ITEMS: usize = 10_000;

/// Object identifiers used by the CMS and CAdES layers.
pub mod oids {
    use const_oid::ObjectIdentifier as O;
    /// id-data.
    pub const DATA: O = O::new_unwrap("1.2.840.113549.1.7.1");
    /// id-signedData.
    pub const SIGNED_DATA: O = O::new_unwrap("1.2.840.113549.1.7.2");
    /// id-ct-TSTInfo.
    pub const TST_INFO: O = O::new_unwrap("1.2.840.113549.1.9.16.1.4");
    /// content-type attribute.
    pub const CONTENT_TYPE: O = O::new_unwrap("1.2.840.113549.1.9.3");
    /// message-digest attribute.
    pub const MESSAGE_DIGEST: O = O::new_unwrap("1.2.840.113549.1.9.4");
    /// signing-time attribute.
    pub const SIGNING_TIME: O = O::new_unwrap("1.2.840.113549.1.9.5");
    /// countersignature attribute.
    pub const COUNTER_SIGNATURE: O = O::new_unwrap("1.2.840.113549.1.9.6");
    /// CMSAlgorithmProtection (RFC 6211).
    pub const CMS_ALGORITHM_PROTECTION: O = O::new_unwrap("1.2.840.113549.1.9.52");
    /// ESS signing-certificate (RFC 2634).
    pub const SIGNING_CERTIFICATE: O = O::new_unwrap("1.2.840.113549.1.9.16.2.12");
    /// ESS signing-certificate-v2 (RFC 5035).
    pub const SIGNING_CERTIFICATE_V2: O = O::new_unwrap("1.2.840.113549.1.9.16.2.47");
    /// signature-policy-identifier.
    pub const SIG_POLICY_ID: O = O::new_unwrap("1.2.840.113549.1.9.16.2.15");
    /// commitment-type-indication.
    pub const COMMITMENT_TYPE: O = O::new_unwrap("1.2.840.113549.1.9.16.2.16");
    /// signer-location.
    pub const SIGNER_LOCATION: O = O::new_unwrap("1.2.840.113549.1.9.16.2.17");
    /// signer-attributes.
    pub const SIGNER_ATTRIBUTES: O = O::new_unwrap("1.2.840.113549.1.9.16.2.18");
    /// content-time-stamp.
    pub const CONTENT_TIMESTAMP: O = O::new_unwrap("1.2.840.113549.1.9.16.2.20");
    /// signature-time-stamp (id-aa-signatureTimeStampToken).
    pub const SIGNATURE_TIMESTAMP: O = O::new_unwrap("1.2.840.113549.1.9.16.2.14");
    /// complete-certificate-references.
    pub const COMPLETE_CERT_REFS: O = O::new_unwrap("1.2.840.113549.1.9.16.2.21");
    /// complete-revocation-references.
    pub const COMPLETE_REVOCATION_REFS: O = O::new_unwrap("1.2.840.113549.1.9.16.2.22");
    /// certificate-values.
    pub const CERT_VALUES: O = O::new_unwrap("1.2.840.113549.1.9.16.2.23");
    /// revocation-values.
    pub const REVOCATION_VALUES: O = O::new_unwrap("1.2.840.113549.1.9.16.2.24");
    /// CAdES-C-time-stamp (id-aa-ets-escTimeStamp).
    pub const ESC_TIMESTAMP: O = O::new_unwrap("1.2.840.113549.1.9.16.2.25");
    /// time-stamped-certs-crls-references (id-aa-ets-certCRLTimestamp).
    pub const CERT_CRL_TIMESTAMP: O = O::new_unwrap("1.2.840.113549.1.9.16.2.26");
    /// archive-time-stamp (v1, TS 101 733 1.x).
    pub const ARCHIVE_TIMESTAMP_V1: O = O::new_unwrap("1.2.840.113549.1.9.16.2.27");
    /// archive-time-stamp-v2 (TS 101 733).
    pub const ARCHIVE_TIMESTAMP_V2: O = O::new_unwrap("1.2.840.113549.1.9.16.2.48");
    /// archive-time-stamp-v3 (EN 319 122-1).
    pub const ARCHIVE_TIMESTAMP_V3: O = O::new_unwrap("0.4.0.1733.2.4");
    /// ats-hash-index (TS 101 733 v2.2.1).
    pub const ATS_HASH_INDEX: O = O::new_unwrap("0.4.0.1733.2.5");
    /// ats-hash-index-v2 (EN 319 122-1 V1.0).
    pub const ATS_HASH_INDEX_V2: O = O::new_unwrap("0.4.0.19122.1.4");
    /// ats-hash-index-v3 (EN 319 122-1).
    pub const ATS_HASH_INDEX_V3: O = O::new_unwrap("0.4.0.19122.1.5");
    /// id-ri-ocsp-response (RFC 5940).
    pub const RI_OCSP_RESPONSE: O = O::new_unwrap("1.3.6.1.5.5.7.16.2");
    /// Adobe adbe-revocationInfoArchival.
    pub const ADBE_REVOCATION: O = O::new_unwrap("1.2.840.113583.1.1.8");
    /// subjectKeyIdentifier extension.
    pub const SUBJECT_KEY_ID: O = O::new_unwrap("2.5.29.14");
}

/// Why a CMS structure could not be read (always `FORMAT_FAILURE`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmsError {
    /// Empty input.
    #[error("empty CMS input")]
    Empty,
    /// Input above [`MAX_CMS_SIZE`].
    #[error("CMS input of {0} bytes exceeds the {MAX_CMS_SIZE}-byte limit")]
    TooLarge(usize),
    /// The `ContentInfo` is not `id-signedData`.
    #[error("ContentInfo type is {0}, not id-signedData")]
    NotSignedData(String),
    /// An element is malformed.
    #[error("malformed CMS: {0}")]
    Malformed(String),
}

impl CmsError {
    /// The EN 319 102-1 sub-indication for this error.
    pub fn sub_indication(&self) -> SubIndication {
        SubIndication::FormatFailure
    }
}

impl From<tlv::TlvError> for CmsError {
    fn from(e: tlv::TlvError) -> Self {
        CmsError::Malformed(e.0)
    }
}

/// A bounded, panic-free ASN.1 BER/DER TLV walker that keeps original encodings.
pub mod tlv {
    use std::borrow::Cow;

    use const_oid::ObjectIdentifier;
    use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

    /// Deepest nesting followed.
    pub const MAX_DEPTH: u32 = 64;

    /// Universal tags used here.
    pub mod tag {
        /// BOOLEAN.
        pub const BOOLEAN: u8 = 0x01;
        /// INTEGER.
        pub const INTEGER: u8 = 0x02;
        /// BIT STRING.
        pub const BIT_STRING: u8 = 0x03;
        /// OCTET STRING (primitive).
        pub const OCTET_STRING: u8 = 0x04;
        /// OCTET STRING (constructed, BER).
        pub const OCTET_STRING_C: u8 = 0x24;
        /// NULL.
        pub const NULL: u8 = 0x05;
        /// OBJECT IDENTIFIER.
        pub const OID: u8 = 0x06;
        /// UTCTime.
        pub const UTC_TIME: u8 = 0x17;
        /// GeneralizedTime.
        pub const GENERALIZED_TIME: u8 = 0x18;
        /// SEQUENCE.
        pub const SEQUENCE: u8 = 0x30;
        /// SET.
        pub const SET: u8 = 0x31;
        /// `[n]` constructed context-specific.
        pub const fn ctx(n: u8) -> u8 {
            0xa0 | n
        }
        /// `[n]` primitive context-specific.
        pub const fn ctx_prim(n: u8) -> u8 {
            0x80 | n
        }
    }

    /// A malformed encoding.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct TlvError(pub String);

    fn err<T>(m: impl Into<String>) -> Result<T, TlvError> {
        Err(TlvError(m.into()))
    }

    /// One element: its identifier octet, its whole encoding and its contents.
    #[derive(Debug, Clone, Copy)]
    pub struct Tlv<'a> {
        /// First identifier octet (class, constructed bit, low tag number; `0x1f`-form
        /// high tag numbers keep `0x1f` in the low bits and never match a known tag).
        pub tag: u8,
        /// The whole element: identifier, length, contents (and end-of-contents).
        pub raw: &'a [u8],
        /// The contents octets (without end-of-contents for indefinite lengths).
        pub body: &'a [u8],
        /// BER indefinite length.
        pub indefinite: bool,
        depth: u32,
    }

    /// Reads one element from the front of `input`; returns it and the rest.
    pub fn read(input: &[u8], depth: u32) -> Result<(Tlv<'_>, &[u8]), TlvError> {
        if depth > MAX_DEPTH {
            return err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        let Some(&tag) = input.first() else {
            return err("unexpected end of data");
        };
        let mut pos = 1usize;
        if tag & 0x1f == 0x1f {
            // High tag number: skip its base-128 octets (at most 4).
            let mut n = 0;
            loop {
                let Some(&b) = input.get(pos) else {
                    return err("truncated tag");
                };
                pos += 1;
                n += 1;
                if n > 4 {
                    return err("tag number too large");
                }
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let Some(&l0) = input.get(pos) else {
            return err("truncated length");
        };
        pos += 1;
        if l0 == 0x80 {
            if tag & 0x20 == 0 {
                return err("indefinite length on a primitive element");
            }
            // Walk the children up to the end-of-contents octets.
            let start = pos;
            let mut rest = input.get(pos..).unwrap_or_default();
            let mut count = 0usize;
            loop {
                if rest.len() >= 2 && rest[0] == 0 && rest[1] == 0 {
                    let body_len = input.len() - start - rest.len();
                    let end = start + body_len + 2;
                    let (Some(raw), Some(body)) =
                        (input.get(..end), input.get(start..start + body_len))
                    else {
                        return err("length");
                    };
                    let after = input.get(end..).unwrap_or_default();
                    return Ok((
                        Tlv {
                            tag,
                            raw,
                            body,
                            indefinite: true,
                            depth,
                        },
                        after,
                    ));
                }
                if rest.is_empty() {
                    return err("missing end-of-contents");
                }
                count += 1;
                if count > 1_000_000 {
                    return err("too many elements");
                }
                let (_, r) = read(rest, depth + 1)?;
                rest = r;
            }
        }
        let len = if l0 & 0x80 == 0 {
            usize::from(l0)
        } else {
            let n = usize::from(l0 & 0x7f);
            if n == 0x7f || n > 4 {
                return err("length field too long");
            }
            let Some(bytes) = input.get(pos..pos + n) else {
                return err("truncated length");
            };
            pos += n;
            bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b))
        };
        let end = pos
            .checked_add(len)
            .ok_or_else(|| TlvError("length overflow".into()))?;
        let (Some(raw), Some(body)) = (input.get(..end), input.get(pos..end)) else {
            return err(format!(
                "element of {len} bytes runs past the end of the data"
            ));
        };
        Ok((
            Tlv {
                tag,
                raw,
                body,
                indefinite: false,
                depth,
            },
            input.get(end..).unwrap_or_default(),
        ))
    }

    /// Reads exactly one top-level element; trailing zero octets (PDF `/Contents`
    /// padding) are tolerated, anything else after it is an error.
    pub fn read_top(input: &[u8]) -> Result<Tlv<'_>, TlvError> {
        let (t, rest) = read(input, 0)?;
        if rest.iter().any(|&b| b != 0) {
            return err(format!(
                "{} unexpected bytes after the structure",
                rest.len()
            ));
        }
        Ok(t)
    }

    impl<'a> Tlv<'a> {
        /// Constructed bit.
        pub fn constructed(&self) -> bool {
            self.tag & 0x20 != 0
        }

        /// A reader over the children.
        pub fn reader(&self) -> Reader<'a> {
            Reader {
                rest: self.body,
                depth: self.depth + 1,
            }
        }

        /// All children (bounded count).
        pub fn children(&self) -> Result<Vec<Tlv<'a>>, TlvError> {
            let mut r = self.reader();
            let mut out = Vec::new();
            while let Some(t) = r.next()? {
                if out.len() >= super::MAX_ITEMS {
                    return err("too many elements");
                }
                out.push(t);
            }
            Ok(out)
        }

        /// Expects `tag`.
        pub fn expect(self, tag: u8, what: &str) -> Result<Self, TlvError> {
            if self.tag == tag {
                Ok(self)
            } else {
                err(format!(
                    "{what}: expected tag {tag:#04x}, found {:#04x}",
                    self.tag
                ))
            }
        }

        /// OBJECT IDENTIFIER value.
        pub fn oid(&self) -> Result<ObjectIdentifier, TlvError> {
            if self.tag != tag::OID {
                return err(format!(
                    "expected OBJECT IDENTIFIER, found tag {:#04x}",
                    self.tag
                ));
            }
            ObjectIdentifier::from_bytes(self.body)
                .map_err(|e| TlvError(format!("object identifier: {e}")))
        }

        /// OBJECT IDENTIFIER in dotted form, decoded by hand so that arcs beyond what
        /// `const-oid` accepts (e.g. a first arc `2.194` as some TSA policies use) still
        /// read. Arcs are limited to 128 bits.
        pub fn oid_string(&self) -> Result<String, TlvError> {
            if self.tag != tag::OID {
                return err(format!(
                    "expected OBJECT IDENTIFIER, found tag {:#04x}",
                    self.tag
                ));
            }
            if self.body.is_empty() || self.body.last().is_some_and(|b| b & 0x80 != 0) {
                return err("malformed object identifier");
            }
            let mut arcs: Vec<u128> = Vec::new();
            let mut cur: u128 = 0;
            for &b in self.body {
                if cur > (u128::MAX >> 7) {
                    return err("object identifier arc too large");
                }
                cur = (cur << 7) | u128::from(b & 0x7f);
                if b & 0x80 == 0 {
                    arcs.push(cur);
                    cur = 0;
                }
            }
            let first = arcs.first().copied().unwrap_or(0);
            let (a, b) = match first {
                0..=39 => (0, first),
                40..=79 => (1, first - 40),
                _ => (2, first - 80),
            };
            let mut out = format!("{a}.{b}");
            for arc in arcs.iter().skip(1) {
                out.push('.');
                out.push_str(&arc.to_string());
            }
            Ok(out)
        }

        /// OCTET STRING contents (a BER constructed string is flattened).
        pub fn octets(&self) -> Result<Cow<'a, [u8]>, TlvError> {
            match self.tag {
                tag::OCTET_STRING => Ok(Cow::Borrowed(self.body)),
                tag::OCTET_STRING_C => {
                    let mut out = Vec::new();
                    self.flatten_into(&mut out)?;
                    Ok(Cow::Owned(out))
                }
                t => err(format!("expected OCTET STRING, found tag {t:#04x}")),
            }
        }

        fn flatten_into(&self, out: &mut Vec<u8>) -> Result<(), TlvError> {
            let mut r = self.reader();
            while let Some(c) = r.next()? {
                match c.tag {
                    tag::OCTET_STRING => out.extend_from_slice(c.body),
                    tag::OCTET_STRING_C => c.flatten_into(out)?,
                    t => return err(format!("constructed OCTET STRING holds tag {t:#04x}")),
                }
            }
            Ok(())
        }

        /// INTEGER contents (two's complement, as encoded).
        pub fn integer(&self) -> Result<&'a [u8], TlvError> {
            if self.tag != tag::INTEGER || self.body.is_empty() {
                return err("expected INTEGER");
            }
            Ok(self.body)
        }

        /// Small non-negative INTEGER.
        pub fn small_uint(&self) -> Result<u64, TlvError> {
            let b = self.integer()?;
            if b.first().is_some_and(|x| x & 0x80 != 0) {
                return err("negative INTEGER");
            }
            let b = strip_zeros(b);
            if b.len() > 8 {
                return err("INTEGER too large");
            }
            Ok(b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
        }

        /// UTCTime or GeneralizedTime.
        pub fn time(&self) -> Result<OffsetDateTime, TlvError> {
            let s =
                std::str::from_utf8(self.body).map_err(|_| TlvError("time: not ASCII".into()))?;
            match self.tag {
                tag::UTC_TIME => parse_time(s, false),
                tag::GENERALIZED_TIME => parse_time(s, true),
                t => err(format!("expected a time, found tag {t:#04x}")),
            }
        }

        /// The encoding with the identifier octet replaced (e.g. `[0] IMPLICIT` signed
        /// attributes hashed as `SET OF`). Indefinite lengths are re-encoded definite.
        pub fn retagged(&self, new_tag: u8) -> Vec<u8> {
            if self.indefinite || self.tag & 0x1f == 0x1f {
                let mut out = Vec::with_capacity(self.body.len() + 6);
                out.push(new_tag);
                push_len(&mut out, self.body.len());
                out.extend_from_slice(self.body);
                return out;
            }
            let mut out = self.raw.to_vec();
            if let Some(f) = out.first_mut() {
                *f = new_tag;
            }
            out
        }
    }

    /// Appends a DER length.
    pub fn push_len(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            let n = bytes.len() - skip;
            out.push(0x80 | n as u8);
            out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
        }
    }

    /// Strips leading zero octets (for INTEGER comparison).
    pub fn strip_zeros(b: &[u8]) -> &[u8] {
        let n = b.iter().take_while(|&&x| x == 0).count();
        let n = n.min(b.len().saturating_sub(1));
        b.get(n..).unwrap_or_default()
    }

    /// Sequential reader over a constructed element's children.
    pub struct Reader<'a> {
        rest: &'a [u8],
        depth: u32,
    }

    impl<'a> Reader<'a> {
        /// Next child, `None` at the end.
        #[allow(clippy::should_implement_trait)]
        pub fn next(&mut self) -> Result<Option<Tlv<'a>>, TlvError> {
            if self.rest.is_empty() {
                return Ok(None);
            }
            let (t, rest) = read(self.rest, self.depth)?;
            self.rest = rest;
            Ok(Some(t))
        }

        /// Next child, which must exist.
        pub fn required(&mut self, what: &str) -> Result<Tlv<'a>, TlvError> {
            self.next()?
                .ok_or_else(|| TlvError(format!("{what} missing")))
        }

        /// Next child if its tag is `tag`.
        pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, TlvError> {
            if self.rest.first() == Some(&tag) {
                self.next()
            } else {
                Ok(None)
            }
        }

        /// `true` at the end.
        pub fn is_empty(&self) -> bool {
            self.rest.is_empty()
        }
    }

    fn num(s: &str, what: &str) -> Result<u32, TlvError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return err(format!("time: bad {what}"));
        }
        s.parse().map_err(|_| TlvError(format!("time: bad {what}")))
    }

    /// Parses UTCTime (`YYMMDDHHMM[SS](Z|±hhmm)`) or GeneralizedTime
    /// (`YYYYMMDDHH[MM[SS[.f+]]](Z|±hhmm)`).
    pub fn parse_time(s: &str, generalized: bool) -> Result<OffsetDateTime, TlvError> {
        if !s.is_ascii() || s.len() > 40 {
            return err("time: not ASCII");
        }
        let (main, offset) = if let Some(m) = s.strip_suffix('Z') {
            (m, UtcOffset::UTC)
        } else if let Some(pos) = s.rfind(['+', '-']) {
            let (m, off) = s.split_at(pos);
            let sign: i32 = if off.starts_with('-') { -1 } else { 1 };
            let digits = off.get(1..).unwrap_or_default();
            if digits.len() != 4 {
                return err("time: bad offset");
            }
            let h = num(digits.get(..2).unwrap_or_default(), "offset")? as i32;
            let mi = num(digits.get(2..).unwrap_or_default(), "offset")? as i32;
            let off = UtcOffset::from_whole_seconds(sign * (h * 3600 + mi * 60))
                .map_err(|_| TlvError("time: bad offset".into()))?;
            (m, off)
        } else if generalized {
            // Local time without offset: read as UTC (RFC 5280 forbids it anyway).
            (s, UtcOffset::UTC)
        } else {
            return err("time: missing zone");
        };
        let (main, frac) = match main.find(['.', ',']) {
            Some(p) => (main.get(..p).unwrap_or_default(), main.get(p + 1..)),
            None => (main, None),
        };
        let (year, rest) = if generalized {
            (
                num(main.get(..4).unwrap_or_default(), "year")? as i32,
                main.get(4..),
            )
        } else {
            let yy = num(main.get(..2).unwrap_or_default(), "year")? as i32;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, main.get(2..))
        };
        let rest = rest.unwrap_or_default();
        if !matches!(rest.len(), 6 | 8 | 10) {
            return err("time: bad length");
        }
        let field = |i: usize, what| num(rest.get(i..i + 2).unwrap_or_default(), what);
        let month = field(0, "month")?;
        let day = field(2, "day")?;
        let hour = field(4, "hour")?;
        let minute = if rest.len() >= 8 {
            field(6, "minute")?
        } else {
            0
        };
        let second = if rest.len() >= 10 {
            field(8, "second")?
        } else {
            0
        };
        let nanos = match frac {
            Some(f) => {
                let f = f.get(..f.len().min(9)).unwrap_or_default();
                let v = num(f, "fraction")?;
                v * 10u32.pow(9 - f.len() as u32)
            }
            None => 0,
        };
        let month = Month::try_from(month as u8).map_err(|_| TlvError("time: bad month".into()))?;
        let date = Date::from_calendar_date(year, month, day as u8)
            .map_err(|_| TlvError("time: bad date".into()))?;
        let second = second.min(59); // leap second
        let t = Time::from_hms_nano(hour as u8, minute as u8, second as u8, nanos)
            .map_err(|_| TlvError("time: bad time of day".into()))?;
        Ok(PrimitiveDateTime::new(date, t)
            .assume_offset(offset)
            .to_offset(UtcOffset::UTC))
    }
}

use tlv::{Tlv, TlvError, tag};

/// What a signature covers.
#[derive(Debug, Clone)]
pub enum Content<'a> {
    /// The encapsulated content (`eContent`).
    Attached,
    /// Detached content.
    Bytes(&'a [u8]),
    /// Byte ranges of `data`, `(offset, len)` each (PDF `/ByteRange`).
    Ranges {
        /// The whole file.
        data: &'a [u8],
        /// `(offset, len)` pairs.
        ranges: Vec<(usize, usize)>,
    },
}

impl Content<'_> {
    /// Digest of the content (streaming over ranges); `None` when the content is not
    /// available (attached without `eContent`, a range outside `data`).
    pub fn digest(&self, alg: DigestAlg, econtent: Option<&[u8]>) -> Option<Vec<u8>> {
        match self {
            Content::Attached => econtent.map(|c| alg.digest(c)),
            Content::Bytes(b) => Some(alg.digest(b)),
            Content::Ranges { data, ranges } => {
                let mut h = alg.hasher();
                for &(off, len) in ranges {
                    h.update(data.get(off..off.checked_add(len)?)?);
                }
                Some(h.finish())
            }
        }
    }

    /// Feeds the content into `h` (streaming over ranges); `None` when the content is
    /// not available.
    pub fn feed(&self, h: &mut Hasher, econtent: Option<&[u8]>) -> Option<()> {
        match self {
            Content::Attached => h.update(econtent?),
            Content::Bytes(b) => h.update(b),
            Content::Ranges { data, ranges } => {
                for &(off, len) in ranges {
                    h.update(data.get(off..off.checked_add(len)?)?);
                }
            }
        }
        Some(())
    }

    /// The content as one slice (copied for ranges), bounded by
    /// [`MAX_MATERIALISED_CONTENT`].
    pub fn materialise<'b>(
        &'b self,
        econtent: Option<&'b [u8]>,
    ) -> Option<std::borrow::Cow<'b, [u8]>> {
        use std::borrow::Cow;
        match self {
            Content::Attached => econtent.map(Cow::Borrowed),
            Content::Bytes(b) => Some(Cow::Borrowed(b)),
            Content::Ranges { data, ranges } => {
                let mut out = Vec::new();
                for &(off, len) in ranges {
                    let part = data.get(off..off.checked_add(len)?)?;
                    if out.len() + part.len() > MAX_MATERIALISED_CONTENT {
                        return None;
                    }
                    out.extend_from_slice(part);
                }
                Some(Cow::Owned(out))
            }
        }
    }

    /// Total length in bytes, if available.
    pub fn len(&self, econtent: Option<&[u8]>) -> Option<usize> {
        match self {
            Content::Attached => econtent.map(<[u8]>::len),
            Content::Bytes(b) => Some(b.len()),
            Content::Ranges { ranges, .. } => ranges
                .iter()
                .try_fold(0usize, |a, &(_, l)| a.checked_add(l)),
        }
    }
}

/// One attribute with its original encodings.
#[derive(Debug, Clone)]
pub struct Attribute {
    /// `attrType`.
    pub oid: ObjectIdentifier,
    /// The `attrType` element as encoded.
    pub oid_raw: Der,
    /// The whole `Attribute` as encoded.
    pub raw: Der,
    /// The `attrValues` `SET OF` as encoded (`oid_raw ‖ values_raw` is the attribute's
    /// body: what the TS 101 733 §6.3.5/§6.3.6 timestamps cover).
    pub values_raw: Der,
    /// Each `AttributeValue` as encoded.
    pub values: Vec<Der>,
}

/// `SignerIdentifier`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerId {
    /// `issuerAndSerialNumber`: the issuer `Name` as encoded and the serial INTEGER
    /// contents.
    IssuerSerial {
        /// Issuer `Name` TLV.
        issuer: Der,
        /// Serial number contents.
        serial: Vec<u8>,
    },
    /// `subjectKeyIdentifier`.
    Ski(Vec<u8>),
}

/// One `SignerInfo`, with every field's original encoding.
#[derive(Debug, Clone)]
pub struct SignerInfo {
    /// `version`.
    pub version: u64,
    /// `sid`.
    pub sid: SignerId,
    /// `digestAlgorithm` OID.
    pub digest_oid: ObjectIdentifier,
    /// `signedAttrs` TLV as encoded (tag `[0]`), if present.
    pub signed_attrs_raw: Option<Der>,
    /// `signedAttrs` re-tagged as `SET OF` (what the signature covers).
    pub signed_attrs_set: Option<Der>,
    /// Signed attributes in encoded order.
    pub signed_attrs: Vec<Attribute>,
    /// `signatureAlgorithm` OID.
    pub sig_alg_oid: ObjectIdentifier,
    /// `signatureAlgorithm` parameters (DER), if any.
    pub sig_alg_params: Option<Der>,
    /// `signature` OCTET STRING contents.
    pub signature: Vec<u8>,
    /// Unsigned attributes in encoded order.
    pub unsigned_attrs: Vec<Attribute>,
    /// Concatenated TLVs of `version`, `sid`, `digestAlgorithm`, `signedAttrs`,
    /// `signatureAlgorithm`, `signature` (EN 319 122-1 §5.5.3 item 3).
    pub signed_fields_raw: Der,
}

impl SignerInfo {
    /// Signed attributes of a type.
    pub fn signed(&self, oid: &ObjectIdentifier) -> impl Iterator<Item = &Attribute> {
        self.signed_attrs.iter().filter(move |a| a.oid == *oid)
    }
    /// Unsigned attributes of a type.
    pub fn unsigned(&self, oid: &ObjectIdentifier) -> impl Iterator<Item = &Attribute> {
        self.unsigned_attrs.iter().filter(move |a| a.oid == *oid)
    }
}

/// A parsed `SignedData` (owns all the encodings it keeps).
#[derive(Debug, Clone)]
pub struct ParsedSignedData {
    der: Der,
    econtent_type: ObjectIdentifier,
    econtent_type_raw: Der,
    eci_raw: Der,
    certificates_raw: Option<Der>,
    crls_raw: Option<Der>,
    econtent: Option<Vec<u8>>,
    cert_choices: Vec<Der>,
    revocation_choices: Vec<Der>,
    signers: Vec<SignerInfo>,
}

/// The outcome of verifying one `SignerInfo`.
#[derive(Debug, Clone)]
pub struct SignerCheck {
    /// `HASH_FAILURE` if the message-digest mismatches, `SIG_CRYPTO_FAILURE` if the value
    /// does not verify, `FORMAT_FAILURE` for structure, `NO_SIGNING_CERTIFICATE_FOUND`
    /// when no certificate could be tried, `SIGNED_DATA_NOT_FOUND` without content.
    pub integrity: Check,
    /// The certificate named by the `SignerIdentifier`; `None` means
    /// `NO_SIGNING_CERTIFICATE_FOUND`.
    pub signer_cert: Option<Der>,
    /// ESS signing-certificate(-v2) against `signer_cert`.
    pub cert_ref: CertRef,
    /// Algorithms used.
    pub algorithms: Algorithms,
    /// signing-time attribute.
    pub signing_time: Option<OffsetDateTime>,
    /// Signed attribute types, in order.
    pub signed_attr_oids: Vec<ObjectIdentifier>,
    /// Unsigned attribute types, in order.
    pub unsigned_attr_oids: Vec<ObjectIdentifier>,
    /// `SignerInfo.signature` octets (the signature-time-stamp imprint input).
    pub signature_value: Vec<u8>,
    /// signature-time-stamp tokens.
    pub signature_timestamps: Vec<Der>,
    /// archive-time-stamp-v3 and legacy v2 / v1 tokens, in encoded order.
    pub archive_timestamps: Vec<Der>,
    /// content-time-stamp tokens.
    pub content_timestamps: Vec<Der>,
    /// signature-policy-identifier OID (`None` also for implied policies).
    pub policy_id: Option<String>,
    /// Certificates of the certificate-values unsigned attribute.
    pub extra_certs: Vec<Der>,
    /// CRLs of revocation-values and of `adbe-revocationInfoArchival`.
    pub extra_crls: Vec<Der>,
    /// OCSP responses of revocation-values (`BasicOCSPResponse`) and of
    /// `adbe-revocationInfoArchival` (`OCSPResponse`).
    pub extra_ocsps: Vec<Der>,
    /// Structural findings (they make the signature fail).
    pub errors: Vec<Finding>,
    /// Findings that do not change the indication.
    pub warnings: Vec<Finding>,
}

fn malformed(m: impl Into<String>) -> CmsError {
    CmsError::Malformed(m.into())
}

/// Parses a DER (or BER) `ContentInfo` holding `SignedData`. Trailing zero padding is
/// tolerated.
pub fn parse_signed_data(der: &[u8]) -> Result<ParsedSignedData, CmsError> {
    if der.is_empty() {
        return Err(CmsError::Empty);
    }
    if der.len() > MAX_CMS_SIZE {
        return Err(CmsError::TooLarge(der.len()));
    }
    let top = tlv::read_top(der)?.expect(tag::SEQUENCE, "ContentInfo")?;
    let used = top.raw.len();
    let mut ci = top.reader();
    let ct = ci.required("ContentInfo.contentType")?.oid()?;
    if ct != oids::SIGNED_DATA {
        return Err(CmsError::NotSignedData(ct.to_string()));
    }
    let explicit = ci
        .required("ContentInfo.content")?
        .expect(tag::ctx(0), "ContentInfo.content")?;
    let sd = explicit
        .reader()
        .required("SignedData")?
        .expect(tag::SEQUENCE, "SignedData")?;
    let mut r = sd.reader();
    r.required("SignedData.version")?.small_uint()?;
    r.required("SignedData.digestAlgorithms")?
        .expect(tag::SET, "SignedData.digestAlgorithms")?;
    let eci = r
        .required("encapContentInfo")?
        .expect(tag::SEQUENCE, "encapContentInfo")?;
    let mut er = eci.reader();
    let ect = er.required("eContentType")?;
    let econtent_type = ect.oid()?;
    let econtent = match er.optional(tag::ctx(0))? {
        Some(e) => Some(e.reader().required("eContent")?.octets()?.into_owned()),
        None => None,
    };
    let mut cert_choices = Vec::new();
    let mut certificates_raw = None;
    if let Some(certs) = r.optional(tag::ctx(0))? {
        certificates_raw = Some(certs.raw.to_vec());
        for c in certs.children()? {
            cert_choices.push(c.raw.to_vec());
        }
    }
    let mut revocation_choices = Vec::new();
    let mut crls_raw = None;
    if let Some(crls) = r.optional(tag::ctx(1))? {
        crls_raw = Some(crls.raw.to_vec());
        for c in crls.children()? {
            revocation_choices.push(c.raw.to_vec());
        }
    }
    let sis = r.required("signerInfos")?.expect(tag::SET, "signerInfos")?;
    let mut signers = Vec::new();
    for si in sis.children()? {
        signers.push(parse_signer_info(si)?);
    }
    if !r.is_empty() {
        return Err(malformed("unexpected element after signerInfos"));
    }
    Ok(ParsedSignedData {
        der: der.get(..used).unwrap_or(der).to_vec(),
        econtent_type,
        econtent_type_raw: ect.raw.to_vec(),
        eci_raw: eci.raw.to_vec(),
        certificates_raw,
        crls_raw,
        econtent,
        cert_choices,
        revocation_choices,
        signers,
    })
}

fn parse_attributes(t: &Tlv<'_>) -> Result<Vec<Attribute>, TlvError> {
    let mut out = Vec::new();
    for a in t.children()? {
        let a = a.expect(tag::SEQUENCE, "Attribute")?;
        let mut ar = a.reader();
        let oid_t = ar.required("attrType")?;
        let oid = oid_t.oid()?;
        let set = ar.required("attrValues")?.expect(tag::SET, "attrValues")?;
        let values = set.children()?.iter().map(|v| v.raw.to_vec()).collect();
        out.push(Attribute {
            oid,
            oid_raw: oid_t.raw.to_vec(),
            raw: a.raw.to_vec(),
            values_raw: set.raw.to_vec(),
            values,
        });
    }
    Ok(out)
}

fn alg_id(t: &Tlv<'_>, what: &str) -> Result<(ObjectIdentifier, Option<Der>), TlvError> {
    let t = t.expect(tag::SEQUENCE, what)?;
    let mut r = t.reader();
    let oid = r.required(what)?.oid()?;
    let params = r.next()?.map(|p| p.raw.to_vec());
    Ok((oid, params))
}

fn parse_signer_info(si: Tlv<'_>) -> Result<SignerInfo, CmsError> {
    let si = si.expect(tag::SEQUENCE, "SignerInfo")?;
    let mut r = si.reader();
    let mut fields = Vec::new();
    let v = r.required("SignerInfo.version")?;
    fields.extend_from_slice(v.raw);
    let version = v.small_uint()?;
    let sid_t = r.required("SignerInfo.sid")?;
    fields.extend_from_slice(sid_t.raw);
    let sid = match sid_t.tag {
        tag::SEQUENCE => {
            let mut sr = sid_t.reader();
            let issuer = sr.required("issuer")?.expect(tag::SEQUENCE, "issuer")?;
            let serial = sr.required("serialNumber")?.integer()?;
            SignerId::IssuerSerial {
                issuer: issuer.raw.to_vec(),
                serial: serial.to_vec(),
            }
        }
        t if t == tag::ctx_prim(0) => SignerId::Ski(sid_t.body.to_vec()),
        t if t == tag::ctx(0) => SignerId::Ski(sid_t.octets().unwrap_or_default().into_owned()),
        t => return Err(malformed(format!("SignerIdentifier with tag {t:#04x}"))),
    };
    let d = r.required("SignerInfo.digestAlgorithm")?;
    fields.extend_from_slice(d.raw);
    let (digest_oid, _) = alg_id(&d, "digestAlgorithm")?;
    let mut signed_attrs_raw = None;
    let mut signed_attrs_set = None;
    let mut signed_attrs = Vec::new();
    if let Some(sa) = r.optional(tag::ctx(0))? {
        fields.extend_from_slice(sa.raw);
        signed_attrs_raw = Some(sa.raw.to_vec());
        signed_attrs_set = Some(sa.retagged(tag::SET));
        signed_attrs = parse_attributes(&sa)?;
    }
    let sa = r.required("SignerInfo.signatureAlgorithm")?;
    fields.extend_from_slice(sa.raw);
    let (sig_alg_oid, sig_alg_params) = alg_id(&sa, "signatureAlgorithm")?;
    let sv = r.required("SignerInfo.signature")?;
    fields.extend_from_slice(sv.raw);
    let signature = sv.octets()?.into_owned();
    let mut unsigned_attrs = Vec::new();
    if let Some(ua) = r.optional(tag::ctx(1))? {
        unsigned_attrs = parse_attributes(&ua)?;
    }
    if !r.is_empty() {
        return Err(malformed(
            "unexpected element after SignerInfo.unsignedAttrs",
        ));
    }
    Ok(SignerInfo {
        version,
        sid,
        digest_oid,
        signed_attrs_raw,
        signed_attrs_set,
        signed_attrs,
        sig_alg_oid,
        sig_alg_params,
        signature,
        unsigned_attrs,
        signed_fields_raw: fields,
    })
}

/// The parts of a certificate needed to match signer identifiers and verify.
#[derive(Debug, Clone)]
pub struct CertParts<'a> {
    /// Issuer `Name` TLV.
    pub issuer: &'a [u8],
    /// Subject `Name` TLV.
    pub subject: &'a [u8],
    /// Serial number INTEGER contents.
    pub serial: &'a [u8],
    /// `SubjectPublicKeyInfo` TLV.
    pub spki: &'a [u8],
    /// subjectKeyIdentifier extension value.
    pub ski: Option<Vec<u8>>,
}

/// Reads issuer, serial, SPKI and SKI from a certificate without strict DER decoding.
pub fn cert_parts(cert: &[u8]) -> Option<CertParts<'_>> {
    let c = tlv::read(cert, 0).ok()?.0;
    if c.tag != tag::SEQUENCE {
        return None;
    }
    let tbs = c.reader().next().ok()??;
    if tbs.tag != tag::SEQUENCE {
        return None;
    }
    let mut r = tbs.reader();
    r.optional(tag::ctx(0)).ok()?;
    let serial = r.next().ok()??.integer().ok()?;
    r.next().ok()??; // signature
    let issuer = r.next().ok()??;
    r.next().ok()??; // validity
    let subject = r.next().ok()??;
    let spki = r.next().ok()??;
    if issuer.tag != tag::SEQUENCE || subject.tag != tag::SEQUENCE || spki.tag != tag::SEQUENCE {
        return None;
    }
    let mut ski = None;
    while let Ok(Some(t)) = r.next() {
        if t.tag != tag::ctx(3) {
            continue;
        }
        let exts = t.reader().next().ok()??;
        for e in exts.children().ok()? {
            let mut er = e.reader();
            let Ok(Some(o)) = er.next() else { continue };
            if o.oid().ok() != Some(oids::SUBJECT_KEY_ID) {
                continue;
            }
            let mut v = er.next().ok()??;
            if v.tag == tag::BOOLEAN {
                v = er.next().ok()??;
            }
            let inner = v.octets().ok()?;
            let (k, _) = tlv::read(&inner, 0).ok()?;
            ski = k.octets().ok().map(|x| x.into_owned());
        }
    }
    if ski.is_none() {
        // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
        let mut sr = spki.reader();
        sr.next().ok()?;
        if let Ok(Some(bits)) = sr.next()
            && bits.tag == tag::BIT_STRING
        {
            let key = bits.body.get(1..).unwrap_or_default();
            ski = Some(DigestAlg::Sha1.digest(key));
        }
    }
    Some(CertParts {
        issuer: issuer.raw,
        subject: subject.raw,
        serial,
        spki: spki.raw,
        ski,
    })
}

/// Whether two `Name`s are equal: byte-equal, or equal once decoded.
pub fn names_equal(a: &[u8], b: &[u8]) -> bool {
    use der::Decode as _;
    if a == b {
        return true;
    }
    match (
        x509_cert::name::Name::from_der(a),
        x509_cert::name::Name::from_der(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn serials_equal(a: &[u8], b: &[u8]) -> bool {
    tlv::strip_zeros(a) == tlv::strip_zeros(b)
}

impl SignerId {
    /// Whether `cert` is the one named.
    pub fn matches(&self, cert: &[u8]) -> bool {
        let Some(p) = cert_parts(cert) else {
            return false;
        };
        match self {
            SignerId::IssuerSerial { issuer, serial } => {
                serials_equal(serial, p.serial) && names_equal(issuer, p.issuer)
            }
            SignerId::Ski(k) => p.ski.as_deref() == Some(k.as_slice()),
        }
    }
}

/// Extracts CRLs (`[0]`) and OCSP responses (`[1]`) of an Adobe
/// `RevocationInfoArchival` value.
fn adobe_revocation(
    value: &[u8],
    crls: &mut Vec<Der>,
    ocsps: &mut Vec<Der>,
) -> Result<(), TlvError> {
    let (v, _) = tlv::read(value, 0)?;
    let v = v.expect(tag::SEQUENCE, "RevocationInfoArchival")?;
    for field in v.children()? {
        let target = match field.tag {
            t if t == tag::ctx(0) => &mut *crls,
            t if t == tag::ctx(1) => &mut *ocsps,
            _ => continue,
        };
        for seq in field.children()? {
            // `[n] EXPLICIT SEQUENCE OF X`: tolerate a bare X as well.
            let kids = seq.children()?;
            if kids
                .iter()
                .any(|k| k.tag == tag::BIT_STRING || k.tag == 0x0a)
            {
                target.push(seq.raw.to_vec());
            } else {
                target.extend(kids.iter().map(|k| k.raw.to_vec()));
            }
        }
    }
    Ok(())
}

/// revocation-values: `crlVals [0]`, `ocspVals [1]` (`BasicOCSPResponse`).
pub(crate) fn revocation_values(
    value: &[u8],
    crls: &mut Vec<Der>,
    ocsps: &mut Vec<Der>,
) -> Result<(), TlvError> {
    let (v, _) = tlv::read(value, 0)?;
    let v = v.expect(tag::SEQUENCE, "RevocationValues")?;
    for field in v.children()? {
        let target = match field.tag {
            t if t == tag::ctx(0) => &mut *crls,
            t if t == tag::ctx(1) => &mut *ocsps,
            _ => continue,
        };
        let seq = field.reader().required("RevocationValues field")?;
        target.extend(seq.children()?.iter().map(|k| k.raw.to_vec()));
    }
    Ok(())
}

impl ParsedSignedData {
    /// The `ContentInfo` encoding (without trailing padding).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// `eContentType`.
    pub fn econtent_type(&self) -> ObjectIdentifier {
        self.econtent_type
    }

    /// `eContentType` TLV as encoded.
    pub fn econtent_type_raw(&self) -> &[u8] {
        &self.econtent_type_raw
    }

    /// `encapContentInfo` TLV as encoded (with `eContent`, when encapsulated).
    pub fn eci_raw(&self) -> &[u8] {
        &self.eci_raw
    }

    /// The `certificates [0]` field TLV as encoded, if present.
    pub fn certificates_raw(&self) -> Option<&[u8]> {
        self.certificates_raw.as_deref()
    }

    /// The `crls [1]` field TLV as encoded, if present.
    pub fn crls_raw(&self) -> Option<&[u8]> {
        self.crls_raw.as_deref()
    }

    /// `eContent` octets, if encapsulated.
    pub fn econtent(&self) -> Option<&[u8]> {
        self.econtent.as_deref()
    }

    /// Every `CertificateChoices` as encoded (including non-X.509 choices).
    pub fn certificate_choices(&self) -> &[Der] {
        &self.cert_choices
    }

    /// Every `RevocationInfoChoice` as encoded.
    pub fn revocation_choices(&self) -> &[Der] {
        &self.revocation_choices
    }

    /// X.509 certificates of `SignedData.certificates`.
    pub fn certificates(&self) -> Vec<Der> {
        self.cert_choices
            .iter()
            .filter(|c| c.first() == Some(&tag::SEQUENCE))
            .cloned()
            .collect()
    }

    /// CRLs of `SignedData.crls` and of every signer's `adbe-revocationInfoArchival`.
    pub fn crls(&self) -> Vec<Der> {
        let mut out: Vec<Der> = self
            .revocation_choices
            .iter()
            .filter(|c| c.first() == Some(&tag::SEQUENCE))
            .cloned()
            .collect();
        let mut ocsps = Vec::new();
        for s in &self.signers {
            for a in s.signed(&oids::ADBE_REVOCATION) {
                for v in &a.values {
                    let _ = adobe_revocation(v, &mut out, &mut ocsps);
                }
            }
        }
        out
    }

    /// OCSP responses: `RevocationInfoChoice.other` with `id-ri-ocsp-response`, and
    /// every signer's `adbe-revocationInfoArchival` (`OCSPResponse` DER).
    pub fn ocsps(&self) -> Vec<Der> {
        let mut out = Vec::new();
        for c in &self.revocation_choices {
            let Ok((t, _)) = tlv::read(c, 0) else {
                continue;
            };
            if t.tag != tag::ctx(1) {
                continue;
            }
            let mut r = t.reader();
            let Ok(Some(f)) = r.next() else { continue };
            if f.oid().ok() != Some(oids::RI_OCSP_RESPONSE) {
                continue;
            }
            if let Ok(Some(v)) = r.next() {
                out.push(v.raw.to_vec());
            }
        }
        let mut crls = Vec::new();
        for s in &self.signers {
            for a in s.signed(&oids::ADBE_REVOCATION) {
                for v in &a.values {
                    let _ = adobe_revocation(v, &mut crls, &mut out);
                }
            }
        }
        out
    }

    /// Number of `SignerInfo`s.
    pub fn signer_count(&self) -> usize {
        self.signers.len()
    }

    /// A `SignerInfo`.
    pub fn signer(&self, index: usize) -> Option<&SignerInfo> {
        self.signers.get(index)
    }

    /// Verifies `SignerInfo` `index` over `content` and collects its attributes.
    pub fn verify_signer(&self, index: usize, content: &Content<'_>) -> SignerCheck {
        let object = format!("signer info {}", index + 1);
        let Some(si) = self.signers.get(index) else {
            let reason = format!("there is no {object}");
            return SignerCheck {
                integrity: Check::Failed {
                    sub: SubIndication::FormatFailure,
                    reason: reason.clone(),
                },
                signer_cert: None,
                cert_ref: CertRef::Absent,
                algorithms: Algorithms::default(),
                signing_time: None,
                signed_attr_oids: Vec::new(),
                unsigned_attr_oids: Vec::new(),
                signature_value: Vec::new(),
                signature_timestamps: Vec::new(),
                archive_timestamps: Vec::new(),
                content_timestamps: Vec::new(),
                policy_id: None,
                extra_certs: Vec::new(),
                extra_crls: Vec::new(),
                extra_ocsps: Vec::new(),
                errors: vec![Finding::new("FC: SignedData", object, reason)],
                warnings: Vec::new(),
            };
        };
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut format_problem: Option<String> = None;
        let mut fmt = |errors: &mut Vec<Finding>, reason: String| {
            errors.push(Finding::new(
                "FC: CMS structure",
                object.clone(),
                reason.clone(),
            ));
            if format_problem.is_none() {
                format_problem = Some(reason);
            }
        };

        // --- signer certificate ---
        let certs = self.certificates();
        let signer_cert = certs.iter().find(|c| si.sid.matches(c)).cloned();

        // --- attributes ---
        let digest_alg = DigestAlg::from_oid(&si.digest_oid);
        let mut signing_time = None;
        let mut policy_id = None;
        let mut message_digest: Option<Vec<u8>> = None;
        let mut content_timestamps = Vec::new();
        let mut cert_ref = CertRef::Absent;
        if si.signed_attrs_raw.is_some() {
            let count = |o: &ObjectIdentifier| si.signed(o).count();
            match count(&oids::CONTENT_TYPE) {
                0 => fmt(
                    &mut errors,
                    "the content-type signed attribute is missing".into(),
                ),
                1 => {
                    let ok = si
                        .signed(&oids::CONTENT_TYPE)
                        .next()
                        .filter(|a| a.values.len() == 1)
                        .and_then(|a| a.values.first())
                        .and_then(|v| tlv::read(v, 0).ok())
                        .and_then(|(t, _)| t.oid().ok());
                    match ok {
                        Some(o) if o == self.econtent_type => {}
                        Some(o) => fmt(
                            &mut errors,
                            format!(
                                "the content-type attribute ({o}) differs from eContentType ({})",
                                self.econtent_type
                            ),
                        ),
                        None => fmt(
                            &mut errors,
                            "the content-type attribute is malformed".into(),
                        ),
                    }
                }
                _ => fmt(
                    &mut errors,
                    "the content-type attribute occurs more than once".into(),
                ),
            }
            match count(&oids::MESSAGE_DIGEST) {
                0 => fmt(
                    &mut errors,
                    "the message-digest signed attribute is missing".into(),
                ),
                1 => {
                    let v = si
                        .signed(&oids::MESSAGE_DIGEST)
                        .next()
                        .filter(|a| a.values.len() == 1)
                        .and_then(|a| a.values.first())
                        .and_then(|v| tlv::read(v, 0).ok())
                        .and_then(|(t, _)| t.octets().ok().map(|o| o.into_owned()));
                    match v {
                        Some(d) => message_digest = Some(d),
                        None => fmt(
                            &mut errors,
                            "the message-digest attribute is malformed".into(),
                        ),
                    }
                }
                _ => fmt(
                    &mut errors,
                    "the message-digest attribute occurs more than once".into(),
                ),
            }
            for (o, name) in [
                (oids::SIGNING_TIME, "signing-time"),
                (oids::SIGNING_CERTIFICATE, "signing-certificate"),
                (oids::SIGNING_CERTIFICATE_V2, "signing-certificate-v2"),
                (oids::SIG_POLICY_ID, "signature-policy-identifier"),
            ] {
                if count(&o) > 1 {
                    fmt(
                        &mut errors,
                        format!("the {name} attribute occurs more than once"),
                    );
                }
            }
            if let Some(a) = si.signed(&oids::SIGNING_TIME).next() {
                match a
                    .values
                    .first()
                    .and_then(|v| tlv::read(v, 0).ok())
                    .map(|(t, _)| t.time())
                {
                    Some(Ok(t)) => signing_time = Some(t),
                    _ => warnings.push(Finding::new(
                        "FC: signing-time",
                        object.clone(),
                        "the signing-time attribute could not be read",
                    )),
                }
            }
            if let Some(a) = si.signed(&oids::SIG_POLICY_ID).next() {
                policy_id = a.values.first().and_then(|v| policy_oid(v));
            }
            if let Some(a) = si.signed(&oids::CMS_ALGORITHM_PROTECTION).next()
                && let Some(problem) = check_algorithm_protection(a, si)
            {
                fmt(&mut errors, problem);
            }
            for a in si.signed(&oids::CONTENT_TIMESTAMP) {
                content_timestamps.extend(a.values.iter().cloned());
            }
            if si.signed(&oids::COUNTER_SIGNATURE).next().is_some() {
                fmt(
                    &mut errors,
                    "a countersignature attribute is signed (RFC 5652 allows it only unsigned)"
                        .into(),
                );
            }
            cert_ref = match signer_cert.as_deref() {
                Some(c) => ess_cert_ref(si, c, &mut warnings, &object),
                None => {
                    if si.signed(&oids::SIGNING_CERTIFICATE_V2).next().is_some()
                        || si.signed(&oids::SIGNING_CERTIFICATE).next().is_some()
                    {
                        CertRef::Mismatch
                    } else {
                        CertRef::Absent
                    }
                }
            };
        }

        // --- unsigned attributes ---
        let mut signature_timestamps = Vec::new();
        let mut archive_timestamps = Vec::new();
        let mut extra_certs = Vec::new();
        let mut extra_crls = Vec::new();
        let mut extra_ocsps = Vec::new();
        for a in &si.unsigned_attrs {
            match a.oid {
                oids::SIGNATURE_TIMESTAMP => signature_timestamps.extend(a.values.iter().cloned()),
                oids::ARCHIVE_TIMESTAMP_V3
                | oids::ARCHIVE_TIMESTAMP_V2
                | oids::ARCHIVE_TIMESTAMP_V1 => archive_timestamps.extend(a.values.iter().cloned()),
                oids::CERT_VALUES => {
                    for v in &a.values {
                        match tlv::read(v, 0).and_then(|(t, _)| t.children()) {
                            Ok(kids) => extra_certs.extend(kids.iter().map(|k| k.raw.to_vec())),
                            Err(e) => warnings.push(Finding::new(
                                "FC: certificate-values",
                                object.clone(),
                                format!("unreadable: {}", e.0),
                            )),
                        }
                    }
                }
                oids::REVOCATION_VALUES => {
                    for v in &a.values {
                        if let Err(e) = revocation_values(v, &mut extra_crls, &mut extra_ocsps) {
                            warnings.push(Finding::new(
                                "FC: revocation-values",
                                object.clone(),
                                format!("unreadable: {}", e.0),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        for a in si.signed(&oids::ADBE_REVOCATION) {
            for v in &a.values {
                if let Err(e) = adobe_revocation(v, &mut extra_crls, &mut extra_ocsps) {
                    warnings.push(Finding::new(
                        "FC: adbe-revocationInfoArchival",
                        object.clone(),
                        format!("unreadable: {}", e.0),
                    ));
                }
            }
        }

        // --- integrity ---
        let econtent = self.econtent.as_deref();
        let scheme =
            Scheme::from_identifier(&si.sig_alg_oid, si.sig_alg_params.as_deref(), digest_alg);
        let mut algorithms = Algorithms {
            digest: digest_alg.map(|d| d.name().to_string()),
            signature: scheme.as_ref().ok().map(|s| s.name().to_string()),
            signature_digest: scheme
                .as_ref()
                .ok()
                .and_then(|s| s.digest())
                .map(|d| d.name().to_string()),
            key_bits: signer_cert
                .as_deref()
                .and_then(cert_parts)
                .and_then(|p| crypto::key_kind(p.spki).ok())
                .map(|k| k.bits()),
        };
        let integrity = (|| {
            if let Some(reason) = format_problem.clone() {
                return Check::Failed {
                    sub: SubIndication::FormatFailure,
                    reason,
                };
            }
            let Some(dalg) = digest_alg else {
                return Check::Failed {
                    sub: SubIndication::FormatFailure,
                    reason: format!("unsupported digest algorithm {}", si.digest_oid),
                };
            };
            if matches!(content, Content::Attached) && econtent.is_none() {
                return Check::Failed {
                    sub: SubIndication::SignedDataNotFound,
                    reason: "the signed content is detached and was not provided".into(),
                };
            }
            let message: std::borrow::Cow<'_, [u8]> = if let Some(set) = &si.signed_attrs_set {
                let Some(actual) = content.digest(dalg, econtent) else {
                    return Check::Failed {
                        sub: SubIndication::HashFailure,
                        reason: "the signed byte ranges lie outside the data".into(),
                    };
                };
                if message_digest.as_deref() != Some(actual.as_slice()) {
                    return Check::Failed {
                        sub: SubIndication::HashFailure,
                        reason: format!(
                            "the {} digest of the content does not match the message-digest attribute",
                            dalg.name()
                        ),
                    };
                }
                std::borrow::Cow::Borrowed(set.as_slice())
            } else {
                match content.materialise(econtent) {
                    Some(c) => c,
                    None => {
                        return Check::Failed {
                            sub: SubIndication::HashFailure,
                            reason: "the signed content is unavailable (ranges outside the data or too large)"
                                .into(),
                        };
                    }
                }
            };
            let Some(cert) = signer_cert.as_deref() else {
                return Check::Failed {
                    sub: SubIndication::NoSigningCertificateFound,
                    reason: "no certificate in the SignedData matches the signer identifier".into(),
                };
            };
            let Some(parts) = cert_parts(cert) else {
                return Check::Failed {
                    sub: SubIndication::FormatFailure,
                    reason: "the signing certificate could not be read".into(),
                };
            };
            let scheme = match &scheme {
                Ok(s) => *s,
                Err(e) => {
                    return Check::Failed {
                        sub: SubIndication::SigCryptoFailure,
                        reason: format!("signature algorithm: {e}"),
                    };
                }
            };
            match crypto::verify(parts.spki, scheme, &message, &si.signature) {
                Ok(a) => {
                    algorithms.signature = a.signature;
                    algorithms.signature_digest = a.signature_digest;
                    algorithms.key_bits = a.key_bits;
                    Check::Passed
                }
                Err(CryptoError::Invalid) => Check::Failed {
                    sub: SubIndication::SigCryptoFailure,
                    reason: "the signature value does not verify with the signing certificate's public key"
                        .into(),
                },
                Err(e) => Check::Failed {
                    sub: SubIndication::SigCryptoFailure,
                    reason: format!("the signature value could not be verified: {e}"),
                },
            }
        })();

        if si.unsigned(&oids::COUNTER_SIGNATURE).next().is_some() {
            warnings.push(Finding::new(
                "FC: countersignature",
                object.clone(),
                "a countersignature is present; it is not validated",
            ));
        }

        SignerCheck {
            integrity,
            signer_cert,
            cert_ref,
            algorithms,
            signing_time,
            signed_attr_oids: si.signed_attrs.iter().map(|a| a.oid).collect(),
            unsigned_attr_oids: si.unsigned_attrs.iter().map(|a| a.oid).collect(),
            signature_value: si.signature.clone(),
            signature_timestamps,
            archive_timestamps,
            content_timestamps,
            policy_id,
            extra_certs,
            extra_crls,
            extra_ocsps,
            errors,
            warnings,
        }
    }
}

/// SignaturePolicyIdentifier: `signaturePolicyId SEQUENCE { sigPolicyId OID, … }` or
/// `signaturePolicyImplied NULL`.
fn policy_oid(v: &[u8]) -> Option<String> {
    let (t, _) = tlv::read(v, 0).ok()?;
    if t.tag != tag::SEQUENCE {
        return None;
    }
    t.reader().next().ok()??.oid().ok().map(|o| o.to_string())
}

/// RFC 6211: the protected algorithms must equal the `SignerInfo` ones.
fn check_algorithm_protection(a: &Attribute, si: &SignerInfo) -> Option<String> {
    let v = a.values.first()?;
    let (t, _) = tlv::read(v, 0).ok()?;
    let mut r = t.reader();
    let d = r.next().ok()??;
    let (doid, _) = alg_id(&d, "digestAlgorithm").ok()?;
    if doid != si.digest_oid {
        return Some(format!(
            "CMSAlgorithmProtection digest {doid} differs from the SignerInfo digest {}",
            si.digest_oid
        ));
    }
    while let Ok(Some(f)) = r.next() {
        if f.tag == tag::ctx(1) {
            let mut fr = f.reader();
            let o = fr.next().ok()??.oid().ok()?;
            if o != si.sig_alg_oid {
                return Some(format!(
                    "CMSAlgorithmProtection signature algorithm {o} differs from the SignerInfo one {}",
                    si.sig_alg_oid
                ));
            }
        }
    }
    None
}

/// Checks the first ESSCertID(v2) of signing-certificate-v2 (preferred) or
/// signing-certificate against `cert`: hash, and issuer/serial when present.
pub fn ess_cert_ref(
    si: &SignerInfo,
    cert: &[u8],
    warnings: &mut Vec<Finding>,
    object: &str,
) -> CertRef {
    let (attr, v2) = match si.signed(&oids::SIGNING_CERTIFICATE_V2).next() {
        Some(a) => (a, true),
        None => match si.signed(&oids::SIGNING_CERTIFICATE).next() {
            Some(a) => (a, false),
            None => return CertRef::Absent,
        },
    };
    let result = (|| -> Result<bool, TlvError> {
        let v = attr
            .values
            .first()
            .ok_or_else(|| TlvError("no value".into()))?;
        let (sc, _) = tlv::read(v, 0)?;
        let certs = sc
            .reader()
            .required("certs")?
            .expect(tag::SEQUENCE, "certs")?;
        let first = certs.reader().required("ESSCertID")?;
        let mut r = first.reader();
        let mut alg = DigestAlg::Sha1;
        if v2 {
            alg = DigestAlg::Sha256;
            if let Some(a) = r.optional(tag::SEQUENCE)? {
                let (o, _) = alg_id(&a, "hashAlgorithm")?;
                alg = DigestAlg::from_oid(&o)
                    .ok_or_else(|| TlvError(format!("unsupported hash {o}")))?;
            }
        }
        let hash = r.required("certHash")?.octets()?;
        if alg.digest(cert) != *hash {
            return Ok(false);
        }
        if let Some(is) = r.optional(tag::SEQUENCE)? {
            let parts = cert_parts(cert).ok_or_else(|| TlvError("certificate".into()))?;
            let mut ir = is.reader();
            let names = ir.required("issuer")?.children()?;
            let serial = ir.required("serialNumber")?.integer()?;
            if !serials_equal(serial, parts.serial) {
                return Ok(false);
            }
            let dir_ok = names.iter().any(|n| {
                n.tag == tag::ctx(4)
                    && n.reader()
                        .next()
                        .ok()
                        .flatten()
                        .is_some_and(|name| names_equal(name.raw, parts.issuer))
            });
            if !dir_ok {
                return Ok(false);
            }
        }
        Ok(true)
    })();
    match result {
        Ok(true) => CertRef::Matches,
        Ok(false) => CertRef::Mismatch,
        Err(e) => {
            warnings.push(Finding::new(
                "ISC: signing certificate reference",
                object,
                format!(
                    "the signing-certificate attribute could not be read: {}",
                    e.0
                ),
            ));
            CertRef::Mismatch
        }
    }
}

/// Helpers shared by the `cms`, `tsp` and `cades` tests.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// `tests/data/<rel>`.
    pub fn data(rel: &str) -> Vec<u8> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// A PDF signature: `/ByteRange` pairs and the `/Contents` DER.
    pub type PdfSig = (Vec<(usize, usize)>, Vec<u8>);

    /// Every signature of a PDF, by plain byte search: its `/ByteRange` as
    /// `(offset, len)` pairs and the DER of the `/Contents` hex string in the gap.
    pub fn pdf_signatures(pdf: &[u8]) -> Vec<PdfSig> {
        let needle = b"/ByteRange";
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some(i) = pdf[pos..].windows(needle.len()).position(|w| w == needle) {
            let start = pos + i + needle.len();
            let open = start + pdf[start..].iter().position(|&b| b == b'[').unwrap();
            let close = open + pdf[open..].iter().position(|&b| b == b']').unwrap();
            let nums: Vec<usize> = std::str::from_utf8(&pdf[open + 1..close])
                .unwrap()
                .split_ascii_whitespace()
                .map(|n| n.parse().unwrap())
                .collect();
            assert_eq!(nums.len(), 4, "ByteRange with four numbers");
            let ranges = vec![(nums[0], nums[1]), (nums[2], nums[3])];
            // The gap between the two ranges is `<hex>`.
            let gap = &pdf[nums[0] + nums[1]..nums[2]];
            assert_eq!(gap.first(), Some(&b'<'));
            assert_eq!(gap.last(), Some(&b'>'));
            let hex_str: Vec<u8> = gap[1..gap.len() - 1]
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            out.push((ranges, hex::decode(hex_str).unwrap()));
            pos = close;
        }
        out
    }

    /// Runs `openssl` in `dir`; `None` when openssl is not installed.
    pub fn openssl(dir: &Path, args: &[&str]) -> Option<()> {
        let out = match Command::new("openssl").args(args).current_dir(dir).output() {
            Ok(o) => o,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => panic!("openssl: {e}"),
        };
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(())
    }

    /// A throw-away TSA (key `tsa.key`, cert `tsa.pem`, config `ts.cnf`) in a tempdir;
    /// `ec` picks a P-256 key instead of RSA-2048.
    pub fn test_tsa(ec: bool) -> Option<(tempfile::TempDir, PathBuf)> {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let key_args: &[&str] = if ec {
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        } else {
            &["-newkey", "rsa:2048"]
        };
        let mut args = vec!["req", "-x509", "-nodes", "-days", "2", "-sha256"];
        args.extend_from_slice(key_args);
        args.extend_from_slice(&[
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.pem",
            "-subj",
            "/CN=signgate test TSA/O=Test",
            "-addext",
            "extendedKeyUsage=critical,timeStamping",
        ]);
        openssl(&d, &args)?;
        std::fs::write(d.join("serial"), "01\n").unwrap();
        std::fs::write(
            d.join("ts.cnf"),
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = ./serial\ncrypto_device = builtin\n\
             signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\n\
             accuracy = secs:1, millisecs:500\nordering = no\ntsa_name = yes\n\
             ess_cert_id_alg = sha256\n",
        )
        .unwrap();
        Some((dir, d))
    }

    /// A token from the test TSA over `data` (`openssl ts -query` then `-reply
    /// -token_out`).
    pub fn openssl_token(d: &Path, data: &[u8]) -> Option<Vec<u8>> {
        std::fs::write(d.join("f"), data).unwrap();
        openssl(
            d,
            &[
                "ts", "-query", "-data", "f", "-sha256", "-cert", "-out", "q.tsq",
            ],
        )?;
        openssl(
            d,
            &[
                "ts",
                "-reply",
                "-config",
                "ts.cnf",
                "-queryfile",
                "q.tsq",
                "-signer",
                "tsa.pem",
                "-inkey",
                "tsa.key",
                "-out",
                "r.tsr",
                "-token_out",
            ],
        )?;
        Some(std::fs::read(d.join("r.tsr")).unwrap())
    }

    /// A token from the test TSA over a precomputed SHA-256 `digest`.
    pub fn openssl_token_for_digest(d: &Path, digest: &[u8]) -> Option<Vec<u8>> {
        let hex_digest = hex::encode(digest);
        openssl(
            d,
            &[
                "ts",
                "-query",
                "-digest",
                &hex_digest,
                "-sha256",
                "-cert",
                "-out",
                "q.tsq",
            ],
        )?;
        openssl(
            d,
            &[
                "ts",
                "-reply",
                "-config",
                "ts.cnf",
                "-queryfile",
                "q.tsq",
                "-signer",
                "tsa.pem",
                "-inkey",
                "tsa.key",
                "-out",
                "r.tsr",
                "-token_out",
            ],
        )?;
        Some(std::fs::read(d.join("r.tsr")).unwrap())
    }

    /// Encodes `tag ‖ len ‖ body`.
    pub fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        super::tlv::push_len(&mut out, body.len());
        out.extend_from_slice(body);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    fn cades_b() -> Vec<u8> {
        data("cades/dss/signedCadesB.p7m")
    }

    #[test]
    fn dss_cades_b_verifies_with_unsorted_signed_attributes() {
        let der = cades_b();
        let sd = parse_signed_data(&der).unwrap();
        assert_eq!(sd.econtent_type(), oids::DATA);
        assert_eq!(sd.econtent(), Some(&b"Sample txt file to sign."[..]));
        assert_eq!(sd.signer_count(), 1);
        assert_eq!(sd.certificates().len(), 1);
        // The signed attributes are not in DER SET order (mime-type 0.4.0… first): the
        // signature only verifies because they are hashed exactly as encoded.
        let si = sd.signer(0).unwrap();
        assert_eq!(si.signed_attrs[0].oid.to_string(), "0.4.0.1733.2.1");
        let c = sd.verify_signer(0, &Content::Attached);
        assert_eq!(c.integrity, Check::Passed, "{:?}", c.errors);
        assert!(c.signer_cert.is_some());
        assert_eq!(c.cert_ref, CertRef::Matches);
        assert_eq!(c.algorithms.digest.as_deref(), Some("SHA-256"));
        assert_eq!(c.algorithms.signature.as_deref(), Some("RSA"));
        assert_eq!(c.algorithms.key_bits, Some(2048));
        assert_eq!(
            c.signing_time,
            Some(time::macros::datetime!(2023-11-07 11:57:24 UTC))
        );
        assert!(c.signed_attr_oids.contains(&oids::SIGNING_CERTIFICATE_V2));
        assert!(c.unsigned_attr_oids.is_empty());
        assert_eq!(c.signature_value.len(), 256);
        assert!(c.errors.is_empty());
    }

    #[test]
    fn flipped_content_is_hash_failure_and_flipped_signature_is_sig_crypto_failure() {
        let der = cades_b();
        let at = der.windows(6).position(|w| w == b"Sample").unwrap();
        let mut bad = der.clone();
        bad[at] ^= 0x01;
        let c = parse_signed_data(&bad)
            .unwrap()
            .verify_signer(0, &Content::Attached);
        assert!(matches!(
            c.integrity,
            Check::Failed {
                sub: SubIndication::HashFailure,
                ..
            }
        ));

        let mut bad = der.clone();
        let n = bad.len() - 1; // the signature value ends the file
        bad[n] ^= 0x01;
        let c = parse_signed_data(&bad)
            .unwrap()
            .verify_signer(0, &Content::Attached);
        assert!(
            matches!(
                c.integrity,
                Check::Failed {
                    sub: SubIndication::SigCryptoFailure,
                    ..
                }
            ),
            "{:?}",
            c.integrity
        );
        // Content given detached but wrong.
        let c = parse_signed_data(&der)
            .unwrap()
            .verify_signer(0, &Content::Bytes(b"other"));
        assert!(matches!(
            c.integrity,
            Check::Failed {
                sub: SubIndication::HashFailure,
                ..
            }
        ));
        assert!(matches!(
            parse_signed_data(&der)
                .unwrap()
                .verify_signer(7, &Content::Attached)
                .integrity,
            Check::Failed {
                sub: SubIndication::FormatFailure,
                ..
            }
        ));
    }

    /// Re-encodes the sample with BER indefinite lengths on the outer structures and a
    /// chunked (constructed) eContent OCTET STRING, as older tools wrote it.
    fn to_ber(der: &[u8]) -> Vec<u8> {
        let indef = |tag: u8, parts: &[&[u8]]| {
            let mut v = vec![tag, 0x80];
            for p in parts {
                v.extend_from_slice(p);
            }
            v.extend_from_slice(&[0, 0]);
            v
        };
        let ci = tlv::read_top(der).unwrap();
        let k = ci.children().unwrap();
        let sd = k[1].children().unwrap()[0];
        let f = sd.children().unwrap();
        let eci = f[2].children().unwrap();
        let econtent = eci[1].children().unwrap()[0].body;
        let (a, b) = econtent.split_at(5);
        let chunks = indef(0x24, &[&test_support::tlv(4, a), &test_support::tlv(4, b)]);
        let eci_ber = indef(0x30, &[eci[0].raw, &indef(0xa0, &[&chunks])]);
        let mut sd_parts: Vec<&[u8]> = vec![f[0].raw, f[1].raw, &eci_ber];
        for x in &f[3..] {
            sd_parts.push(x.raw);
        }
        let sd_ber = indef(0x30, &sd_parts);
        indef(0x30, &[k[0].raw, &indef(0xa0, &[&sd_ber])])
    }

    #[test]
    fn ber_indefinite_lengths_and_padding_are_accepted() {
        let ber = to_ber(&cades_b());
        let sd = parse_signed_data(&ber).unwrap();
        assert_eq!(sd.econtent(), Some(&b"Sample txt file to sign."[..]));
        assert_eq!(
            sd.verify_signer(0, &Content::Attached).integrity,
            Check::Passed
        );
        let mut padded = cades_b();
        padded.extend_from_slice(&[0; 300]);
        assert!(parse_signed_data(&padded).is_ok());
        padded.push(1);
        assert!(matches!(
            parse_signed_data(&padded),
            Err(CmsError::Malformed(_))
        ));
    }

    #[test]
    fn hostile_inputs_are_errors_not_panics() {
        let der = cades_b();
        assert!(matches!(parse_signed_data(b""), Err(CmsError::Empty)));
        for n in [1, 2, 5, 17, 100, 1000, der.len() - 1] {
            assert!(parse_signed_data(&der[..n]).is_err(), "truncated at {n}");
        }
        assert!(parse_signed_data(b"garbage garbage garbage").is_err());
        assert!(parse_signed_data(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(parse_signed_data(&[0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9]).is_err());
        // 100 000 nested indefinite-length SEQUENCEs: bounded, no stack overflow.
        let mut deep = [0x30, 0x80].repeat(100_000);
        deep.extend(vec![0u8; 200_000]);
        assert!(matches!(
            parse_signed_data(&deep),
            Err(CmsError::Malformed(_))
        ));
        let mut deep = Vec::new();
        for _ in 0..10_000 {
            deep = test_support::tlv(0x30, &deep);
        }
        assert!(parse_signed_data(&deep).is_err());
        // Wrong content type.
        let other = test_support::tlv(
            0x30,
            &[
                &[
                    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
                ][..],
                &[0xa0, 0x00],
            ]
            .concat(),
        );
        assert!(matches!(
            parse_signed_data(&other),
            Err(CmsError::NotSignedData(_))
        ));
        // Every single-byte corruption: an error or a verdict, never a panic or a pass
        // with a changed signature.
        for i in 0..der.len() {
            let mut bad = der.clone();
            bad[i] ^= 0xff;
            if let Ok(sd) = parse_signed_data(&bad) {
                let c = sd.verify_signer(0, &Content::Attached);
                let _ = (sd.crls(), sd.ocsps(), sd.certificates());
                // From eContentType on, every byte is covered by the signature, the
                // message digest or the ESS certificate hash, except the (unsigned)
                // SignerInfo.version INTEGER at 1650..1653 and the NULL parameters of
                // signatureAlgorithm at 2095..2097 (neither is signed; RSA PKCS#1 v1.5
                // ignores them).
                if i >= 41 && !(1650..1653).contains(&i) && !(2095..2097).contains(&i) {
                    assert!(
                        !(c.integrity.passed() && c.cert_ref == CertRef::Matches),
                        "byte {i} changed and the signature still fully verifies"
                    );
                }
            }
        }
    }

    #[test]
    fn times_parse() {
        use time::macros::datetime;
        assert_eq!(
            tlv::parse_time("20201101120000.123Z", true).unwrap(),
            datetime!(2020-11-01 12:00:00.123 UTC)
        );
        assert_eq!(
            tlv::parse_time("491231235959Z", false).unwrap(),
            datetime!(2049-12-31 23:59:59 UTC)
        );
        assert_eq!(
            tlv::parse_time("500101000000+0100", false).unwrap(),
            datetime!(1949-12-31 23:00:00 UTC)
        );
        assert!(tlv::parse_time("20201301000000Z", true).is_err());
        assert!(tlv::parse_time("2020", true).is_err());
        assert!(tlv::parse_time("2020010100000Z", true).is_err());
    }

    fn pdf_check(rel: &str, i: usize) -> (SignerCheck, ParsedSignedData) {
        let pdf = data(rel);
        let sigs = pdf_signatures(&pdf);
        let (ranges, der) = sigs[i].clone();
        let sd = parse_signed_data(&der).unwrap();
        let c = sd.verify_signer(0, &Content::Ranges { data: &pdf, ranges });
        (c, sd)
    }

    #[test]
    fn pades_cms_over_byte_ranges() {
        let (c, _) = pdf_check("pades/dss/pdf-signed-original.pdf", 0);
        assert_eq!(c.integrity, Check::Passed, "{:?}", c.errors);
        assert!(c.signer_cert.is_some());
        let (c, _) = pdf_check("pades/dss/pdf-signed-corrupted.pdf", 0);
        assert!(matches!(
            c.integrity,
            Check::Failed {
                sub: SubIndication::HashFailure,
                ..
            }
        ));
        // A byte flipped inside the first range.
        let mut pdf = data("pades/dss/pdf-signed-original.pdf");
        let (ranges, der) = pdf_signatures(&pdf)[0].clone();
        pdf[100] ^= 1;
        let c = parse_signed_data(&der)
            .unwrap()
            .verify_signer(0, &Content::Ranges { data: &pdf, ranges });
        assert!(matches!(
            c.integrity,
            Check::Failed {
                sub: SubIndication::HashFailure,
                ..
            }
        ));
    }

    #[test]
    fn pades_plain_ecdsa_telesec() {
        let (c, sd) = pdf_check("pades/dss/TeleSec_PKS_eIDAS_QES_CA_1-baseline-b.pdf", 0);
        let si = sd.signer(0).unwrap();
        assert_eq!(si.sig_alg_oid, crypto::oid::PLAIN_ECDSA_SHA256);
        assert!(c.signer_cert.is_some());
        assert_eq!(c.cert_ref, CertRef::Matches);
        assert_eq!(c.integrity, Check::Passed, "{:?}", c.integrity);
        assert_eq!(c.algorithms.signature.as_deref(), Some("PLAIN-ECDSA"));
        assert_eq!(c.algorithms.key_bits, Some(256));
        // The same value with one bit of `s` flipped does not verify.
        let pdf = data("pades/dss/TeleSec_PKS_eIDAS_QES_CA_1-baseline-b.pdf");
        let (ranges, der) = pdf_signatures(&pdf)[0].clone();
        let sv = &si.signature;
        let at = der.windows(sv.len()).position(|w| w == &sv[..]).unwrap();
        let mut bad = der.clone();
        bad[at + sv.len() - 1] ^= 1;
        let c = parse_signed_data(&bad)
            .unwrap()
            .verify_signer(0, &Content::Ranges { data: &pdf, ranges });
        assert!(matches!(
            c.integrity,
            Check::Failed {
                sub: SubIndication::SigCryptoFailure,
                ..
            }
        ));
    }

    #[test]
    fn pyhanko_pades_lta_signature_has_timestamps_and_revocation_data() {
        let (c, sd) = pdf_check("pades/pyhanko/pades-lta-dss-indirect-arrs-test.pdf", 0);
        assert_eq!(c.integrity, Check::Passed, "{:?}", c.errors);
        assert_eq!(c.cert_ref, CertRef::Matches);
        assert_eq!(c.signature_timestamps.len(), 1);
        assert!(!sd.certificates().is_empty());
    }
}
