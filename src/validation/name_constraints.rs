//! RFC 5280 name constraints (§4.2.1.10, path processing §6.1.3 (b)–(c) and §6.1.4 (g)).
//!
//! Owns: decoding a CA certificate's `nameConstraints`, collecting the names a
//! certificate asserts (subject DN, `emailAddress` attributes, subjectAltName entries)
//! and deciding whether they fall within every CA's permitted subtrees and outside
//! every excluded subtree, for the name forms RFC 5280 defines matching rules for:
//! directoryName, rfc822Name, dNSName, uniformResourceIdentifier and iPAddress.
//! A constraint or name of another form that would have to be compared cannot be
//! decided, and is reported as a violation (fail closed).
//! Must not touch: path building, validity, revocation or anything else of the path
//! (that is `chain`, which calls [`check_path`] with the path it built).

use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::constraints::name::{GeneralSubtrees, NameConstraints};
use x509_cert::ext::pkix::name::GeneralName;

const OID_SAN: &str = "2.5.29.17";
const OID_EMAIL_ADDRESS: &str = "1.2.840.113549.1.9.1";
/// Most names of one certificate or subtrees of one CA looked at.
const MAX_NAMES: usize = 256;

/// One name a certificate asserts, in a comparable form.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    /// RDNs of a directory name, each as the DER of a one-RDN `Name`.
    Directory(Vec<Vec<u8>>),
    Rfc822(String),
    Dns(String),
    Uri(String),
    Ip(Vec<u8>),
    /// otherName, ediPartyName, registeredID, x400Address: no matching rule here.
    Other(&'static str),
}

impl Name {
    fn kind(&self) -> &'static str {
        match self {
            Name::Directory(_) => "directoryName",
            Name::Rfc822(_) => "rfc822Name",
            Name::Dns(_) => "dNSName",
            Name::Uri(_) => "uniformResourceIdentifier",
            Name::Ip(_) => "iPAddress",
            Name::Other(k) => k,
        }
    }

    fn show(&self) -> String {
        match self {
            Name::Directory(rdns) => {
                let mut parts = Vec::new();
                for r in rdns {
                    parts.push(
                        crate::trust::cert::normalized_name_der(r).unwrap_or_else(|| "?".into()),
                    );
                }
                parts.join(",")
            }
            Name::Rfc822(s) | Name::Dns(s) | Name::Uri(s) => s.clone(),
            Name::Ip(b) => hex::encode(b),
            Name::Other(k) => (*k).to_string(),
        }
    }
}

/// The decoded constraints of one CA.
#[derive(Debug, Clone, Default)]
pub struct Constraints {
    permitted: Vec<Name>,
    excluded: Vec<Name>,
}

/// Why a certificate's names do not satisfy the constraints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameConstraintError {
    /// The extension could not be decoded or uses minimum/maximum (RFC 5280: MUST NOT).
    #[error("nameConstraints is malformed: {0}")]
    Malformed(String),
    /// A name lies outside the CA's permitted subtrees of its form.
    #[error("{kind} {name} is not within the permitted subtrees of {ca}")]
    NotPermitted {
        /// Name form.
        kind: &'static str,
        /// The name.
        name: String,
        /// The constraining CA.
        ca: String,
    },
    /// A name lies in an excluded subtree.
    #[error("{kind} {name} is within an excluded subtree of {ca}")]
    Excluded {
        /// Name form.
        kind: &'static str,
        /// The name.
        name: String,
        /// The constraining CA.
        ca: String,
    },
    /// A constraint applies to a name form that cannot be compared.
    #[error("{kind} names cannot be checked against the nameConstraints of {ca}")]
    Unsupported {
        /// Name form.
        kind: &'static str,
        /// The constraining CA.
        ca: String,
    },
    /// The certificate's names could not be read.
    #[error("the names of the certificate could not be read: {0}")]
    BadCertificate(String),
}

fn general_name(g: &GeneralName) -> Name {
    match g {
        GeneralName::DirectoryName(n) => match der::Encode::to_der(n) {
            Ok(d) => Name::Directory(rdns_of(&d).unwrap_or_default()),
            Err(_) => Name::Other("directoryName"),
        },
        GeneralName::Rfc822Name(s) => Name::Rfc822(s.to_string()),
        GeneralName::DnsName(s) => Name::Dns(s.to_string()),
        GeneralName::UniformResourceIdentifier(s) => Name::Uri(s.to_string()),
        GeneralName::IpAddress(o) => Name::Ip(o.as_bytes().to_vec()),
        GeneralName::OtherName(_) => Name::Other("otherName"),
        GeneralName::EdiPartyName(_) => Name::Other("ediPartyName"),
        GeneralName::RegisteredId(_) => Name::Other("registeredID"),
    }
}

/// Each RDN of a DER `Name`, re-wrapped as a one-RDN `Name` (`30 len 31 …`).
fn rdns_of(name_der: &[u8]) -> Option<Vec<Vec<u8>>> {
    let body = tlv_content(name_der, 0x30)?;
    let mut out = Vec::new();
    let mut r = body;
    while !r.is_empty() {
        let (whole, rest) = split_tlv(r)?;
        if whole.first() != Some(&0x31) || out.len() >= MAX_NAMES {
            return None;
        }
        out.push(wrap(0x30, whole));
        r = rest;
    }
    Some(out)
}

fn wrap(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 0x80 {
        v.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        v.push(0x80 | bytes.len() as u8);
        v.extend(bytes);
    }
    v.extend_from_slice(content);
    v
}

/// Splits one DER TLV off `b`: (the whole TLV, the rest).
fn split_tlv(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let first_len = *b.get(1)?;
    let (len, hdr) = if first_len < 0x80 {
        (usize::from(first_len), 2)
    } else {
        let k = usize::from(first_len & 0x7f);
        if k == 0 || k > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..k {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + k)
    };
    let end = hdr.checked_add(len)?;
    if end > b.len() {
        return None;
    }
    Some((&b[..end], &b[end..]))
}

fn tlv_content(b: &[u8], tag: u8) -> Option<&[u8]> {
    if b.first() != Some(&tag) {
        return None;
    }
    let (whole, rest) = split_tlv(b)?;
    if !rest.is_empty() {
        return None;
    }
    let hdr = if whole[1] < 0x80 {
        2
    } else {
        2 + usize::from(whole[1] & 0x7f)
    };
    Some(&whole[hdr..])
}

fn subtrees(s: &GeneralSubtrees) -> Result<Vec<Name>, NameConstraintError> {
    let mut out = Vec::new();
    for t in s.iter().take(MAX_NAMES) {
        if t.minimum != 0 || t.maximum.is_some() {
            return Err(NameConstraintError::Malformed(
                "a subtree has minimum or maximum (RFC 5280 §4.2.1.10)".into(),
            ));
        }
        out.push(general_name(&t.base));
    }
    Ok(out)
}

impl Constraints {
    /// Decodes the value (`extnValue` contents) of a nameConstraints extension.
    pub fn parse(value: &[u8]) -> Result<Self, NameConstraintError> {
        let nc = NameConstraints::from_der(value)
            .map_err(|e| NameConstraintError::Malformed(e.to_string()))?;
        if nc.permitted_subtrees.is_none() && nc.excluded_subtrees.is_none() {
            return Err(NameConstraintError::Malformed(
                "neither permittedSubtrees nor excludedSubtrees".into(),
            ));
        }
        Ok(Constraints {
            permitted: nc
                .permitted_subtrees
                .as_ref()
                .map(subtrees)
                .transpose()?
                .unwrap_or_default(),
            excluded: nc
                .excluded_subtrees
                .as_ref()
                .map(subtrees)
                .transpose()?
                .unwrap_or_default(),
        })
    }

    /// Checks the names of one certificate against these constraints of CA `ca`.
    fn check(&self, names: &[Name], ca: &str) -> Result<(), NameConstraintError> {
        for name in names {
            let kind = name.kind();
            let same_kind = |c: &&Name| c.kind() == kind;
            let permitted: Vec<&Name> = self.permitted.iter().filter(same_kind).collect();
            let excluded: Vec<&Name> = self.excluded.iter().filter(same_kind).collect();
            if permitted.is_empty() && excluded.is_empty() {
                continue;
            }
            if matches!(name, Name::Other(_)) {
                return Err(NameConstraintError::Unsupported {
                    kind,
                    ca: ca.to_string(),
                });
            }
            if excluded.iter().any(|c| within(name, c)) {
                return Err(NameConstraintError::Excluded {
                    kind,
                    name: name.show(),
                    ca: ca.to_string(),
                });
            }
            if !permitted.is_empty() && !permitted.iter().any(|c| within(name, c)) {
                return Err(NameConstraintError::NotPermitted {
                    kind,
                    name: name.show(),
                    ca: ca.to_string(),
                });
            }
        }
        Ok(())
    }
}

fn rdn_eq(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    match (
        crate::trust::cert::normalized_name_der(a),
        crate::trust::cert::normalized_name_der(b),
    ) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// RFC 5280 §4.2.1.10 matching of `name` against the subtree `base` (same form).
fn within(name: &Name, base: &Name) -> bool {
    match (name, base) {
        (Name::Directory(n), Name::Directory(b)) => {
            b.len() <= n.len() && b.iter().zip(n).all(|(x, y)| rdn_eq(x, y))
        }
        (Name::Rfc822(n), Name::Rfc822(b)) => rfc822_within(n, b),
        (Name::Dns(n), Name::Dns(b)) => dns_within(n, b),
        (Name::Uri(n), Name::Uri(b)) => uri_host(n).is_some_and(|h| host_within(&h, b)),
        (Name::Ip(n), Name::Ip(b)) => ip_within(n, b),
        _ => false,
    }
}

/// `host` is `base`, or inside it when `base` starts with a dot (URI and mail rules).
fn host_within(host: &str, base: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let base = base.to_ascii_lowercase();
    if base.starts_with('.') {
        host.len() > base.len() && host.ends_with(&base)
    } else {
        host == base
    }
}

fn rfc822_within(mailbox: &str, base: &str) -> bool {
    let Some((local, host)) = mailbox.rsplit_once('@') else {
        return false;
    };
    if let Some((blocal, bhost)) = base.rsplit_once('@') {
        return local == blocal && host.eq_ignore_ascii_case(bhost);
    }
    host_within(host, base)
}

/// dNSName: `base` plus zero or more labels on the left (a leading dot in `base`, which
/// some CAs write, means at least one label).
fn dns_within(name: &str, base: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let base = base.trim_end_matches('.').to_ascii_lowercase();
    if base.is_empty() {
        return true;
    }
    if let Some(b) = base.strip_prefix('.') {
        return name.len() > b.len() + 1 && name.ends_with(&format!(".{b}"));
    }
    name == base || name.ends_with(&format!(".{base}"))
}

/// The host of an absolute URI (`scheme://[userinfo@]host[:port]/…`); `None` for URIs
/// without an authority (RFC 5280: such names do not match a host constraint).
fn uri_host(uri: &str) -> Option<String> {
    let (_, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        hostport.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_string())
}

fn ip_within(addr: &[u8], base: &[u8]) -> bool {
    let n = addr.len();
    if !(n == 4 || n == 16) || base.len() != 2 * n {
        return false;
    }
    let (net, mask) = base.split_at(n);
    addr.iter()
        .zip(net)
        .zip(mask)
        .all(|((a, b), m)| a & m == b & m)
}

/// The names `cert_der` asserts: its subject (when not empty), `emailAddress` attributes
/// of the subject as rfc822Names, and every subjectAltName entry.
fn names_of(cert_der: &[u8]) -> Result<Vec<Name>, NameConstraintError> {
    let cert = Certificate::from_der(cert_der)
        .map_err(|e| NameConstraintError::BadCertificate(e.to_string()))?;
    let tbs = &cert.tbs_certificate;
    let mut out = Vec::new();
    if !tbs.subject.0.is_empty() {
        let d = der::Encode::to_der(&tbs.subject)
            .map_err(|e| NameConstraintError::BadCertificate(e.to_string()))?;
        let rdns =
            rdns_of(&d).ok_or_else(|| NameConstraintError::BadCertificate("subject".into()))?;
        out.push(Name::Directory(rdns));
        for rdn in tbs.subject.0.iter() {
            for atv in rdn.0.iter() {
                if atv.oid.to_string() == OID_EMAIL_ADDRESS {
                    let v = atv.value.value();
                    if let Ok(s) = std::str::from_utf8(v) {
                        out.push(Name::Rfc822(s.to_string()));
                    }
                }
            }
        }
    }
    for ext in tbs.extensions.iter().flatten() {
        if ext.extn_id.to_string() == OID_SAN {
            let san = SubjectAltName::from_der(ext.extn_value.as_bytes())
                .map_err(|e| NameConstraintError::BadCertificate(format!("subjectAltName: {e}")))?;
            out.extend(san.0.iter().take(MAX_NAMES).map(general_name));
        }
    }
    Ok(out)
}

/// One certificate of a path, as [`check_path`] needs it.
pub struct PathCert<'a> {
    /// DER.
    pub der: &'a [u8],
    /// For messages.
    pub label: &'a str,
    /// Issuer and subject are the same name.
    pub self_issued: bool,
    /// The nameConstraints value, if any.
    pub name_constraints: Option<&'a [u8]>,
}

/// Checks a path given target first, trust anchor last: the constraints of each CA
/// (the anchor's included) apply to every certificate below it, except self-issued CA
/// certificates (RFC 5280 §6.1.3 (b)–(c)). Returns the violations with the certificate
/// each concerns.
pub fn check_path(path: &[PathCert<'_>]) -> Vec<(String, NameConstraintError)> {
    let mut out = Vec::new();
    for (i, ca) in path.iter().enumerate().skip(1) {
        let Some(value) = ca.name_constraints else {
            continue;
        };
        let constraints = match Constraints::parse(value) {
            Ok(c) => c,
            Err(e) => {
                out.push((ca.label.to_string(), e));
                continue;
            }
        };
        for (j, c) in path[..i].iter().enumerate() {
            if j > 0 && c.self_issued {
                continue;
            }
            let result = names_of(c.der).and_then(|names| constraints.check(&names, ca.label));
            if let Err(e) = result {
                out.push((c.label.to_string(), e));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_rules() {
        assert!(dns_within("example.com", "example.com"));
        assert!(dns_within("a.b.Example.COM", "example.com"));
        assert!(!dns_within("badexample.com", "example.com"));
        assert!(!dns_within("example.com", ".example.com"));
        assert!(dns_within("x.example.com", ".example.com"));
        assert!(dns_within("anything", ""));
    }

    #[test]
    fn rfc822_rules() {
        assert!(rfc822_within("kari@nav.no", "nav.no"));
        assert!(!rfc822_within("kari@post.nav.no", "nav.no"));
        assert!(rfc822_within("kari@post.nav.no", ".nav.no"));
        assert!(!rfc822_within("kari@nav.no", ".nav.no"));
        assert!(rfc822_within("kari@NAV.no", "kari@nav.no"));
        assert!(!rfc822_within("Kari@nav.no", "kari@nav.no"));
        assert!(!rfc822_within("no-at-sign", "nav.no"));
    }

    #[test]
    fn uri_rules() {
        assert_eq!(
            uri_host("https://user@Host.example:8443/p?q"),
            Some("Host.example".into())
        );
        assert_eq!(
            uri_host("http://[2001:db8::1]/x"),
            Some("2001:db8::1".into())
        );
        assert_eq!(uri_host("urn:oid:1.2.3"), None);
        assert!(host_within("host.example", "HOST.example"));
        assert!(host_within("a.host.example", ".host.example"));
        assert!(!host_within("host.example", ".host.example"));
    }

    #[test]
    fn ip_rules() {
        assert!(ip_within(&[10, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!ip_within(&[11, 1, 2, 3], &[10, 0, 0, 0, 255, 0, 0, 0]));
        assert!(!ip_within(&[10, 1, 2, 3], &[0; 32]));
        let mut v6 = vec![0x20, 0x01, 0x0d, 0xb8];
        v6.extend([0; 12]);
        let mut base = v6.clone();
        base.extend([0xff, 0xff, 0xff, 0xff]);
        base.extend([0; 12]);
        assert!(ip_within(&v6, &base));
    }

    #[test]
    fn hostile_der_is_refused() {
        assert!(Constraints::parse(b"").is_err());
        assert!(Constraints::parse(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(Constraints::parse(&[0x30, 0x00]).is_err());
        assert!(rdns_of(&[0x30, 0x03, 0x31, 0x05, 0x00]).is_none());
        assert!(names_of(b"junk").is_err());
    }
}
