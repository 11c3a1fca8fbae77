//! Minimal, allocation-light reading of X.509 certificates for the trust module.
//!
//! Owns: extracting from a DER certificate exactly what trusted-list handling needs —
//! the raw issuer/subject `Name` DER, serial number, validity window, subject key
//! identifier (extension, or the RFC 5280 method-1 SHA-1 of the public key when the
//! extension is absent), authority key identifier, SHA-256 fingerprint — plus an
//! RFC 4514-like normalised string form of a `Name` (for `X509SubjectName` identities).
//! Must not touch: signature verification, path building, revocation, policy decisions.
//! It is a structural reader: it never panics on input and reports [`CertError`].

use aws_lc_rs::digest;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Why a certificate could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// The DER structure is not a certificate as expected.
    #[error("malformed certificate: {0}")]
    Malformed(&'static str),
}

fn bad(msg: &'static str) -> CertError {
    CertError::Malformed(msg)
}

/// One DER TLV: tag byte, whole encoding, content.
#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    full: &'a [u8],
    content: &'a [u8],
}

/// Reads one TLV from the front of `input`; returns it and the rest.
fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), CertError> {
    let tag = *input.first().ok_or(bad("truncated tag"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("high tag numbers are not supported"));
    }
    let first = *input.get(1).ok_or(bad("truncated length"))?;
    let (len, hdr) = if first < 0x80 {
        (first as usize, 2usize)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return Err(bad("unsupported length encoding"));
        }
        let bytes = input.get(2..2 + n).ok_or(bad("truncated length"))?;
        let mut len = 0usize;
        for b in bytes {
            len = (len << 8) | *b as usize;
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len).ok_or(bad("length overflow"))?;
    let full = input.get(..end).ok_or(bad("truncated content"))?;
    Ok((
        Tlv {
            tag,
            full,
            content: &full[hdr..],
        },
        &input[end..],
    ))
}

fn expect<'a>(
    input: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<(Tlv<'a>, &'a [u8]), CertError> {
    let (t, rest) = read_tlv(input)?;
    if t.tag != tag {
        return Err(bad(what));
    }
    Ok((t, rest))
}

/// The parts of a certificate the trust module uses (borrowed from the DER).
#[derive(Debug, Clone)]
pub struct CertView<'a> {
    /// The whole certificate DER.
    pub der: &'a [u8],
    /// Serial number content bytes.
    pub serial: &'a [u8],
    /// DER of the issuer `Name` (whole SEQUENCE).
    pub issuer: &'a [u8],
    /// DER of the subject `Name` (whole SEQUENCE).
    pub subject: &'a [u8],
    /// `notBefore`.
    pub not_before: OffsetDateTime,
    /// `notAfter`.
    pub not_after: OffsetDateTime,
    /// The `subjectPublicKey` BIT STRING content (without the unused-bits byte).
    pub public_key: &'a [u8],
    /// Subject key identifier extension value, if present.
    pub ski_ext: Option<&'a [u8]>,
    /// Authority key identifier `keyIdentifier`, if present.
    pub aki: Option<&'a [u8]>,
}

const OID_SKI: &[u8] = &[0x55, 0x1d, 0x0e];
const OID_AKI: &[u8] = &[0x55, 0x1d, 0x23];

impl<'a> CertView<'a> {
    /// Reads a DER certificate.
    pub fn parse(der: &'a [u8]) -> Result<Self, CertError> {
        let (cert, _) = expect(der, 0x30, "certificate is not a SEQUENCE")?;
        let (tbs, _) = expect(cert.content, 0x30, "tbsCertificate is not a SEQUENCE")?;
        let mut r = tbs.content;
        let (mut t, mut rest) = read_tlv(r)?;
        if t.tag == 0xa0 {
            (t, rest) = read_tlv(rest)?;
        }
        if t.tag != 0x02 {
            return Err(bad("serial number missing"));
        }
        let serial = t.content;
        let (_, rest) = expect(rest, 0x30, "signature algorithm missing")?;
        let (issuer, rest) = expect(rest, 0x30, "issuer missing")?;
        let (validity, rest) = expect(rest, 0x30, "validity missing")?;
        let (subject, rest) = expect(rest, 0x30, "subject missing")?;
        let (spki, rest) = expect(rest, 0x30, "subjectPublicKeyInfo missing")?;
        r = rest;

        let (nb, vrest) = read_tlv(validity.content)?;
        let (na, _) = read_tlv(vrest)?;
        let not_before = parse_time(nb)?;
        let not_after = parse_time(na)?;

        let (_, spk_rest) = expect(spki.content, 0x30, "SPKI algorithm missing")?;
        let (bits, _) = expect(spk_rest, 0x03, "subjectPublicKey missing")?;
        let public_key = bits.content.get(1..).ok_or(bad("empty public key"))?;

        let mut ski_ext = None;
        let mut aki = None;
        while !r.is_empty() {
            let (t, rest) = read_tlv(r)?;
            r = rest;
            if t.tag != 0xa3 {
                continue;
            }
            let (exts, _) = expect(t.content, 0x30, "extensions not a SEQUENCE")?;
            let mut e = exts.content;
            while !e.is_empty() {
                let (ext, rest) = expect(e, 0x30, "extension not a SEQUENCE")?;
                e = rest;
                let (oid, mut x) = expect(ext.content, 0x06, "extension OID missing")?;
                let (mut v, after) = read_tlv(x)?;
                if v.tag == 0x01 {
                    x = after;
                    (v, _) = read_tlv(x)?;
                }
                if v.tag != 0x04 {
                    return Err(bad("extension value not an OCTET STRING"));
                }
                if oid.content == OID_SKI {
                    let (k, _) = expect(v.content, 0x04, "SKI not an OCTET STRING")?;
                    ski_ext = Some(k.content);
                } else if oid.content == OID_AKI {
                    let (seq, _) = expect(v.content, 0x30, "AKI not a SEQUENCE")?;
                    let mut a = seq.content;
                    while !a.is_empty() {
                        let (f, rest) = read_tlv(a)?;
                        a = rest;
                        if f.tag == 0x80 {
                            aki = Some(f.content);
                        }
                    }
                }
            }
        }
        Ok(Self {
            der,
            serial,
            issuer: issuer.full,
            subject: subject.full,
            not_before,
            not_after,
            public_key,
            ski_ext,
            aki,
        })
    }

    /// The subject key identifier: the extension value, else the SHA-1 of the
    /// `subjectPublicKey` bits (RFC 5280 4.2.1.2 method 1, what TL tools compute).
    pub fn ski(&self) -> Vec<u8> {
        match self.ski_ext {
            Some(k) => k.to_vec(),
            None => digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, self.public_key)
                .as_ref()
                .to_vec(),
        }
    }

    /// `true` when `t` lies within `[notBefore, notAfter]`.
    pub fn valid_at(&self, t: OffsetDateTime) -> bool {
        self.not_before <= t && t <= self.not_after
    }

    /// `true` for a self-issued certificate (issuer DN = subject DN).
    pub fn is_self_issued(&self) -> bool {
        self.issuer == self.subject
    }
}

/// SHA-256 of `der`.
pub fn sha256(der: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, der);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Lower-case hex SHA-256 fingerprint of `der`.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(sha256(der))
}

fn digits(b: &[u8]) -> Result<u32, CertError> {
    let mut v = 0u32;
    for c in b {
        if !c.is_ascii_digit() {
            return Err(bad("non-digit in time"));
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Ok(v)
}

fn parse_time(t: Tlv<'_>) -> Result<OffsetDateTime, CertError> {
    let s = t.content;
    let (year, rest) = match t.tag {
        0x17 => {
            let yy = digits(s.get(..2).ok_or(bad("short UTCTime"))?)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &s[2..])
        }
        0x18 => (
            digits(s.get(..4).ok_or(bad("short GeneralizedTime"))?)?,
            &s[4..],
        ),
        _ => return Err(bad("validity time has an unexpected type")),
    };
    if rest.len() != 11 || rest[10] != b'Z' {
        return Err(bad("validity time is not YYMMDDHHMMSSZ"));
    }
    let f = |i: usize| digits(&rest[i..i + 2]);
    let month = Month::try_from(f(0)? as u8).map_err(|_| bad("bad month"))?;
    let date =
        Date::from_calendar_date(year as i32, month, f(2)? as u8).map_err(|_| bad("bad date"))?;
    let time =
        Time::from_hms(f(4)? as u8, f(6)? as u8, f(8)? as u8).map_err(|_| bad("bad time"))?;
    Ok(PrimitiveDateTime::new(date, time).assume_utc())
}

/// Short names used in normalised DN strings.
fn attr_short_name(oid: &[u8]) -> Option<&'static str> {
    // 2.5.4.x
    if oid.len() == 3 && oid[0] == 0x55 && oid[1] == 0x04 {
        return Some(match oid[2] {
            3 => "cn",
            4 => "sn",
            5 => "serialnumber",
            6 => "c",
            7 => "l",
            8 => "st",
            9 => "street",
            10 => "o",
            11 => "ou",
            12 => "title",
            42 => "givenname",
            97 => "organizationidentifier",
            _ => return None,
        });
    }
    // 1.2.840.113549.1.9.1 emailAddress
    if oid == [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] {
        return Some("emailaddress");
    }
    None
}

fn norm_value(v: &str) -> String {
    v.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Normalised form of a DER `Name`: `type=value` pairs (known short types, lower-case,
/// whitespace collapsed), sorted and joined with `,`. `None` if the name holds an
/// attribute this function cannot render (unknown type or non-string value).
pub fn normalized_name_der(name: &[u8]) -> Option<String> {
    let (seq, _) = expect(name, 0x30, "name").ok()?;
    let mut parts = Vec::new();
    let mut r = seq.content;
    while !r.is_empty() {
        let (set, rest) = expect(r, 0x31, "rdn").ok()?;
        r = rest;
        let mut s = set.content;
        while !s.is_empty() {
            let (atv, rest) = expect(s, 0x30, "atv").ok()?;
            s = rest;
            let (oid, vrest) = expect(atv.content, 0x06, "oid").ok()?;
            let (val, _) = read_tlv(vrest).ok()?;
            let ty = attr_short_name(oid.content)?;
            let text = match val.tag {
                0x0c | 0x13 | 0x16 | 0x14 => std::str::from_utf8(val.content).ok()?.to_string(),
                0x1e => {
                    let units: Vec<u16> = val
                        .content
                        .chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                    String::from_utf16(&units).ok()?
                }
                _ => return None,
            };
            parts.push(format!("{ty}={}", norm_value(&text)));
        }
    }
    parts.sort();
    Some(parts.join(","))
}

/// Normalised form of an RFC 4514-like `X509SubjectName` as written in trusted lists
/// (e.g. `CN=Foo CA, O=Bar, C=BE`), comparable with [`normalized_name_der`]. `None` if
/// an attribute type is not one of the known short names / OIDs.
pub fn normalized_name_str(name: &str) -> Option<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut pieces = Vec::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            ',' | ';' | '+' => pieces.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    pieces.push(cur);
    for p in pieces {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let (ty, val) = p.split_once('=')?;
        let ty = ty.trim().to_ascii_lowercase();
        let ty = match ty.as_str() {
            "cn"
            | "sn"
            | "c"
            | "l"
            | "st"
            | "o"
            | "ou"
            | "title"
            | "street"
            | "givenname"
            | "serialnumber"
            | "organizationidentifier"
            | "emailaddress" => ty,
            "s" => "st".to_string(),
            "surname" => "sn".to_string(),
            "e" => "emailaddress".to_string(),
            "2.5.4.97" | "oid.2.5.4.97" => "organizationidentifier".to_string(),
            "2.5.4.5" | "oid.2.5.4.5" => "serialnumber".to_string(),
            _ => return None,
        };
        let val = val.trim().trim_matches('"');
        parts.push(format!("{ty}={}", norm_value(val)));
    }
    parts.sort();
    Some(parts.join(","))
}
