//! Certificate identification for XAdES: `ds:KeyInfo` hints (`X509IssuerSerial`,
//! `X509SKI`, `X509Digest`), XAdES `SigningCertificate` (v1: digest + `IssuerSerial` with
//! an RFC 2253 issuer string) and `SigningCertificateV2` (digest + DER `IssuerSerialV2`).
//!
//! Owns: comparing such references with a DER certificate. Must not touch: path
//! building, validity or trust (that is the EN 319 102-1 process).

use der::{Decode as _, Encode as _, Tagged as _};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

use crate::validation::crypto::DigestAlg;

/// A certificate pool entry.
pub(super) struct Cert {
    pub der: Vec<u8>,
    pub parsed: Certificate,
}

impl Cert {
    pub(super) fn parse(der: Vec<u8>) -> Option<Self> {
        let parsed = Certificate::from_der(&der).ok()?;
        Some(Cert { der, parsed })
    }

    pub(super) fn spki_der(&self) -> Option<Vec<u8>> {
        self.parsed
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .ok()
    }

    fn serial(&self) -> &[u8] {
        strip_zeros(self.parsed.tbs_certificate.serial_number.as_bytes())
    }

    fn issuer(&self) -> &Name {
        &self.parsed.tbs_certificate.issuer
    }

    /// Subject key identifier extension value.
    pub(super) fn ski(&self) -> Option<Vec<u8>> {
        const SKI: const_oid::ObjectIdentifier =
            const_oid::ObjectIdentifier::new_unwrap("2.5.29.14");
        let exts = self.parsed.tbs_certificate.extensions.as_ref()?;
        let e = exts.iter().find(|e| e.extn_id == SKI)?;
        let os = der::asn1::OctetString::from_der(e.extn_value.as_bytes()).ok()?;
        Some(os.as_bytes().to_vec())
    }

    /// RFC 4514 subject, for messages.
    pub(super) fn subject(&self) -> String {
        self.parsed.tbs_certificate.subject.to_string()
    }
}

fn strip_zeros(mut b: &[u8]) -> &[u8] {
    while b.len() > 1 && b[0] == 0 {
        b = &b[1..];
    }
    b
}

/// Decimal string to big-endian bytes (no sign; at most 128 digits).
pub(super) fn decimal_to_bytes(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out: Vec<u8> = vec![0];
    for d in s.bytes() {
        let mut carry = u32::from(d - b'0');
        for byte in out.iter_mut().rev() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            out.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    Some(strip_zeros(&out).to_vec())
}

/// Attribute type names of RFC 4514 / RFC 2253 (and common extras) to OIDs.
fn attr_oid(t: &str) -> Option<String> {
    let u = t.trim().to_ascii_uppercase();
    let u = u.strip_prefix("OID.").unwrap_or(&u);
    if u.bytes().all(|b| b.is_ascii_digit() || b == b'.') && u.contains('.') {
        return Some(u.to_string());
    }
    Some(
        match u {
            "CN" => "2.5.4.3",
            "SN" | "SURNAME" => "2.5.4.4",
            "SERIALNUMBER" => "2.5.4.5",
            "C" => "2.5.4.6",
            "L" => "2.5.4.7",
            "ST" | "S" => "2.5.4.8",
            "STREET" => "2.5.4.9",
            "O" => "2.5.4.10",
            "OU" => "2.5.4.11",
            "T" | "TITLE" => "2.5.4.12",
            "GIVENNAME" | "G" | "GN" => "2.5.4.42",
            "ORGANIZATIONIDENTIFIER" => "2.5.4.97",
            "E" | "EMAIL" | "EMAILADDRESS" => "1.2.840.113549.1.9.1",
            "DC" => "0.9.2342.19200300.100.1.25",
            "UID" => "0.9.2342.19200300.100.1.1",
            _ => return None,
        }
        .to_string(),
    )
}

fn normalize(v: &str) -> String {
    v.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Parses an RFC 2253 DN string into (OID, normalized value) pairs; `None` when it uses
/// forms that cannot be compared as text (unknown type, `#hex` values).
fn parse_dn(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut bytes: Vec<u8> = Vec::new();
    let mut ty: Option<String> = None;
    let mut it = s.as_bytes().iter().copied().peekable();
    let mut in_quotes = false;
    let mut flush = |ty: &mut Option<String>, bytes: &mut Vec<u8>| -> Option<()> {
        let t = ty.take()?;
        let v = String::from_utf8(std::mem::take(bytes)).ok()?;
        if v.trim_start().starts_with('#') {
            return None;
        }
        out.push((attr_oid(&t)?, normalize(v.trim().trim_matches('"'))));
        Some(())
    };
    while let Some(c) = it.next() {
        match c {
            b'\\' => {
                let a = it.next()?;
                if a.is_ascii_hexdigit()
                    && let Some(&b) = it.peek()
                    && b.is_ascii_hexdigit()
                {
                    it.next();
                    let h = [a, b];
                    let hs = std::str::from_utf8(&h).ok()?;
                    bytes.push(u8::from_str_radix(hs, 16).ok()?);
                } else {
                    bytes.push(a);
                }
            }
            b'"' => in_quotes = !in_quotes,
            b'=' if ty.is_none() && !in_quotes => {
                ty = Some(String::from_utf8(std::mem::take(&mut bytes)).ok()?);
            }
            b',' | b';' | b'+' if !in_quotes => flush(&mut ty, &mut bytes)?,
            _ => bytes.push(c),
        }
    }
    if ty.is_some() {
        flush(&mut ty, &mut bytes)?;
    }
    Some(out)
}

/// The (OID, normalized text) pairs of a certificate name; `None` if a value is not a
/// string type.
fn name_pairs(name: &Name) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for rdn in name.0.iter() {
        for atv in rdn.0.iter() {
            let v = &atv.value;
            let raw = v.value();
            let text = match v.tag() {
                der::Tag::Utf8String
                | der::Tag::PrintableString
                | der::Tag::Ia5String
                | der::Tag::VisibleString => String::from_utf8(raw.to_vec()).ok()?,
                der::Tag::TeletexString => raw.iter().map(|&b| char::from(b)).collect(),
                der::Tag::BmpString => {
                    let units: Vec<u16> = raw
                        .chunks(2)
                        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                        .collect();
                    String::from_utf16(&units).ok()?
                }
                _ => return None,
            };
            out.push((atv.oid.to_string(), normalize(&text)));
        }
    }
    Some(out)
}

/// Whether an RFC 2253 issuer string names `name`; `None` when undecidable.
pub(super) fn dn_matches(s: &str, name: &Name) -> Option<bool> {
    let mut a = parse_dn(s)?;
    let mut b = name_pairs(name)?;
    a.sort();
    b.sort();
    Some(a == b)
}

/// A `ds:X509IssuerSerial` / XAdES v1 `IssuerSerial` (issuer string, decimal serial).
pub(super) fn issuer_serial_v1(cert: &Cert, issuer: &str, serial: &str) -> (bool, Option<bool>) {
    let serial_ok = decimal_to_bytes(serial).is_some_and(|s| s == cert.serial());
    (serial_ok, dn_matches(issuer, cert.issuer()))
}

#[derive(der::Sequence)]
struct EssIssuerSerial {
    issuer: GeneralNames,
    serial_number: SerialNumber,
}

/// A XAdES `IssuerSerialV2` (base64 DER of the RFC 5035 `IssuerSerial`): `Some(matches)`,
/// or `None` if it does not decode.
pub(super) fn issuer_serial_v2(cert: &Cert, der_bytes: &[u8]) -> Option<bool> {
    let is = EssIssuerSerial::from_der(der_bytes).ok()?;
    let serial_ok = strip_zeros(is.serial_number.as_bytes()) == cert.serial();
    let issuer_ok = is
        .issuer
        .iter()
        .any(|g| matches!(g, GeneralName::DirectoryName(n) if n == cert.issuer()));
    Some(serial_ok && issuer_ok)
}

/// Whether `digest` (by `alg`) is the digest of the certificate.
pub(super) fn digest_matches(cert: &Cert, alg: DigestAlg, digest: &[u8]) -> bool {
    alg.digest(&cert.der) == digest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_serials() {
        assert_eq!(decimal_to_bytes("2"), Some(vec![2]));
        assert_eq!(decimal_to_bytes("256"), Some(vec![1, 0]));
        assert_eq!(
            decimal_to_bytes("71449483495842"),
            Some(vec![0x40, 0xFB, 0xA1, 0x15, 0x49, 0xA2])
        );
        assert_eq!(decimal_to_bytes("x1"), None);
        assert_eq!(decimal_to_bytes(""), None);
    }

    #[test]
    fn rfc2253_strings() {
        let p = parse_dn("OU=I.CA - Accredited,O=Prvn\\C3\\AD a\\, a.s.,CN=x,C=CZ").unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p[1], ("2.5.4.10".to_string(), "první a, a.s.".to_string()));
        assert!(parse_dn("CN=#0403616263").is_none());
        assert!(parse_dn("FOO=bar").is_none());
    }
}
