//! Builds ETSI TS 101 733 CAdES long-term forms (CAdES-C, CAdES-X Type 1/2, CAdES-X Long,
//! CAdES-A with archive-time-stamp v2/v1 or an archive-time-stamp-v3 with the old
//! ats-hash-index) for tests, from real external peers: a throw-away CA (`openssl ca`,
//! which also issues the CRL), a CAdES-BES from `openssl cms -sign -cades`, and every
//! timestamp token from `openssl ts` (two TSAs of that CA, each with its own validity, so
//! a test can let one expire). The message-imprint inputs are put together here, per
//! TS 101 733 §6.3.5 / §6.3.6 / §6.4.1 / Annex K, from the DER as encoded (its own small
//! TLV reader, not the crate's CMS parser), and `openssl ts -query -data` hashes them.
//! Shared by the unit tests of `validation::cades::legacy` and `tests/validation_samples.rs`
//! through `#[path]`.
//!
//! Owns: test plumbing only (files in a temporary directory). Must not: be used outside
//! tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `1.2.840.113549.1.9.16.2.<n>` (id-aa-n) as an OID TLV.
const fn id_aa(n: u8) -> [u8; 13] {
    [
        0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, n,
    ]
}

/// signature-time-stamp.
pub const SIGNATURE_TIMESTAMP: [u8; 13] = id_aa(14);
/// complete-certificate-references.
pub const CERT_REFS: [u8; 13] = id_aa(21);
/// complete-revocation-references.
pub const REV_REFS: [u8; 13] = id_aa(22);
/// certificate-values.
pub const CERT_VALUES: [u8; 13] = id_aa(23);
/// revocation-values.
pub const REV_VALUES: [u8; 13] = id_aa(24);
/// CAdES-C-time-stamp (escTimeStamp).
pub const ESC_TIMESTAMP: [u8; 13] = id_aa(25);
/// time-stamped-certs-crls-references.
pub const CERT_CRL_TIMESTAMP: [u8; 13] = id_aa(26);
/// archive-time-stamp (v1).
pub const ARCHIVE_V1: [u8; 13] = id_aa(27);
/// archive-time-stamp v2.
pub const ARCHIVE_V2: [u8; 13] = id_aa(48);
/// archive-time-stamp-v3 (0.4.0.1733.2.4).
pub const ARCHIVE_V3: [u8; 8] = [0x06, 0x06, 0x04, 0x00, 0x8d, 0x45, 0x02, 0x04];
/// ats-hash-index of TS 101 733 V2.2.1 (0.4.0.1733.2.5).
pub const ATS_HASH_INDEX: [u8; 8] = [0x06, 0x06, 0x04, 0x00, 0x8d, 0x45, 0x02, 0x05];
/// id-sha256 `AlgorithmIdentifier` (parameters absent).
const SHA256_ALG: [u8; 13] = [
    0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
];

/// Encodes `tag ‖ len ‖ body` (DER definite length).
pub fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = body.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(body);
    out
}

/// One DER element: tag, the whole encoding and its body.
#[derive(Clone, Copy)]
pub struct El<'a> {
    pub tag: u8,
    pub raw: &'a [u8],
    pub body: &'a [u8],
}

/// The first element of `input` (single-byte tags, definite lengths: what openssl writes).
pub fn element(input: &[u8]) -> El<'_> {
    let tag = input[0];
    let (len, hdr) = if input[1] < 0x80 {
        (input[1] as usize, 2)
    } else {
        let n = (input[1] & 0x7f) as usize;
        let len = input[2..2 + n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, 2 + n)
    };
    El {
        tag,
        raw: &input[..hdr + len],
        body: &input[hdr..hdr + len],
    }
}

/// The elements of a constructed body.
pub fn children(mut body: &[u8]) -> Vec<El<'_>> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let e = element(body);
        body = &body[e.raw.len()..];
        out.push(e);
    }
    out
}

/// The `SignedData` fields of a `ContentInfo`.
pub fn signed_data_fields(ci: &[u8]) -> Vec<El<'_>> {
    let k = children(element(ci).body);
    children(element(k[1].body).body)
}

/// The fields of the first `SignerInfo` of a `ContentInfo`.
pub fn signer_fields(ci: &[u8]) -> Vec<El<'_>> {
    let f = signed_data_fields(ci);
    let sis = children(f.last().unwrap().body);
    children(sis[0].body)
}

/// The signature value octets of the first `SignerInfo`.
pub fn signature_value(ci: &[u8]) -> Vec<u8> {
    signer_fields(ci)
        .iter()
        .find(|e| e.tag == 0x04)
        .unwrap()
        .body
        .to_vec()
}

/// The unsigned attributes of the first `SignerInfo`, each whole, in encoded order.
pub fn unsigned_attrs(ci: &[u8]) -> Vec<Vec<u8>> {
    signer_fields(ci)
        .iter()
        .find(|e| e.tag == 0xa1)
        .map(|ua| children(ua.body).iter().map(|a| a.raw.to_vec()).collect())
        .unwrap_or_default()
}

/// `attrType ‖ attrValues` of the unsigned attributes of type `oid`, in encoded order.
pub fn attr_bodies(ci: &[u8], oid: &[u8]) -> Vec<u8> {
    unsigned_attrs(ci)
        .iter()
        .map(|a| element(a).body.to_vec())
        .filter(|b| b.starts_with(oid))
        .collect::<Vec<_>>()
        .concat()
}

/// The values of the first unsigned attribute of type `oid`.
pub fn attr_values(ci: &[u8], oid: &[u8]) -> Vec<Vec<u8>> {
    let a = unsigned_attrs(ci)
        .into_iter()
        .find(|a| element(a).body.starts_with(oid))
        .expect("attribute present");
    let body = element(&a).body.to_vec();
    let set = element(&body[oid.len()..]);
    children(set.body).iter().map(|v| v.raw.to_vec()).collect()
}

/// `ci` with an unsigned attribute `oid` holding `value` appended to the first
/// `SignerInfo` (works for any `ContentInfo` with `SignedData`, timestamp tokens too).
pub fn add_unsigned(ci: &[u8], oid: &[u8], value: &[u8]) -> Vec<u8> {
    let attr = tlv(0x30, &[oid, &tlv(0x31, value)].concat());
    let top = children(element(ci).body);
    let sd = children(element(top[1].body).body);
    let mut fields: Vec<Vec<u8>> = sd.iter().map(|f| f.raw.to_vec()).collect();
    let sis = children(sd.last().unwrap().body);
    let si = children(sis[0].body);
    let mut parts: Vec<Vec<u8>> = si.iter().map(|x| x.raw.to_vec()).collect();
    match si.last().filter(|x| x.tag == 0xa1) {
        Some(ua) => {
            let n = parts.len() - 1;
            parts[n] = tlv(0xa1, &[ua.body, &attr].concat());
        }
        None => parts.push(tlv(0xa1, &attr)),
    }
    let mut signers: Vec<Vec<u8>> = sis.iter().map(|s| s.raw.to_vec()).collect();
    signers[0] = tlv(0x30, &parts.concat());
    let n = fields.len() - 1;
    fields[n] = tlv(0x31, &signers.concat());
    tlv(
        0x30,
        &[top[0].raw, &tlv(0xa0, &tlv(0x30, &fields.concat()))].concat(),
    )
}

/// Which test TSA.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tsa {
    /// Signs the signature-time-stamp and the CAdES-X timestamps.
    Signature,
    /// Signs the archive timestamps.
    Archive,
}

/// Which archive timestamp and which Annex K input.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Archive {
    /// archive-time-stamp v2, unsignedAttrs with their `[1]` tag and length (V2.2.1).
    V2WithTag,
    /// archive-time-stamp v2, unsignedAttrs without tag and length (V1.8.3).
    V2WithoutTag,
    /// archive-time-stamp v1 (id-aa-27), the V2.2.1 input.
    V1,
}

/// A throw-away CA issuing a signer and two TSA certificates, with a CRL; every key and
/// file lives in a temporary directory.
pub struct LegacyPki {
    _dir: tempfile::TempDir,
    pub d: PathBuf,
}

/// Runs `openssl` in `dir`; `None` when openssl is not installed, panics on failure.
pub fn openssl(dir: &Path, args: &[&str]) -> Option<Vec<u8>> {
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
    Some(out.stdout)
}

const CA_CNF: &str = "[ ca ]\ndefault_ca = test\n[ test ]\ndatabase = index.txt\n\
new_certs_dir = .\nserial = serial\ncrlnumber = crlnumber\ndefault_md = sha256\n\
default_crl_days = 60\npolicy = pol\nunique_subject = no\n[ pol ]\ncommonName = supplied\n\
organizationName = optional\n[ signer_ext ]\nbasicConstraints = critical,CA:FALSE\n\
keyUsage = critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier = hash\n\
authorityKeyIdentifier = keyid\n[ tsa_ext ]\nbasicConstraints = critical,CA:FALSE\n\
keyUsage = critical,digitalSignature\nextendedKeyUsage = critical,timeStamping\n\
subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";

const TS_CNF: &str = "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = ./serial\n\
crypto_device = builtin\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
digests = sha256\naccuracy = secs:1\nclock_precision_digits = 3\nordering = no\ntsa_name = yes\ness_cert_id_alg = sha256\n";

impl LegacyPki {
    /// The CA (ten years) issues the signer certificate valid `signer_days`, the
    /// signature TSA's valid `sig_tsa_days` and the archive TSA's valid `archive_tsa_days`
    /// (all from now), then a CRL (nothing revoked, next update in 60 days). `None`
    /// when openssl is not installed.
    pub fn new(signer_days: u32, sig_tsa_days: u32, archive_tsa_days: u32) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        openssl(
            &d,
            &[
                "req",
                "-x509",
                "-nodes",
                "-newkey",
                "rsa:2048",
                "-days",
                "3650",
                "-sha256",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=signgate legacy CAdES test CA/O=Test",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        )?;
        std::fs::write(d.join("ca.cnf"), CA_CNF).unwrap();
        std::fs::write(d.join("index.txt"), "").unwrap();
        std::fs::write(d.join("serial"), "1000\n").unwrap();
        std::fs::write(d.join("crlnumber"), "01\n").unwrap();
        let issue = |name: &str, cn: &str, days: u32, ext: &str| -> Option<()> {
            let key = format!("{name}.key");
            let csr = format!("{name}.csr");
            let pem = format!("{name}.pem");
            let subj = format!("/CN={cn}/O=Test");
            let days = days.to_string();
            openssl(
                &d,
                &[
                    "req", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", &key, "-out", &csr,
                    "-subj", &subj,
                ],
            )?;
            openssl(
                &d,
                &[
                    "ca",
                    "-batch",
                    "-notext",
                    "-config",
                    "ca.cnf",
                    "-cert",
                    "ca.pem",
                    "-keyfile",
                    "ca.key",
                    "-in",
                    &csr,
                    "-out",
                    &pem,
                    "-days",
                    &days,
                    "-extensions",
                    ext,
                ],
            )?;
            Some(())
        };
        issue("signer", "Legacy Signer", signer_days, "signer_ext")?;
        for (name, days) in [("tsa-sig", sig_tsa_days), ("tsa-arc", archive_tsa_days)] {
            issue(name, &format!("signgate test TSA {name}"), days, "tsa_ext")?;
            let td = d.join(name);
            std::fs::create_dir(&td).unwrap();
            std::fs::copy(d.join(format!("{name}.pem")), td.join("tsa.pem")).unwrap();
            std::fs::copy(d.join(format!("{name}.key")), td.join("tsa.key")).unwrap();
            std::fs::write(td.join("serial"), "01\n").unwrap();
            std::fs::write(td.join("ts.cnf"), TS_CNF).unwrap();
        }
        openssl(
            &d,
            &[
                "ca", "-config", "ca.cnf", "-gencrl", "-cert", "ca.pem", "-keyfile", "ca.key",
                "-out", "crl.pem",
            ],
        )?;
        openssl(
            &d,
            &[
                "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der",
            ],
        )?;
        Some(LegacyPki { _dir: dir, d })
    }

    /// A certificate of this PKI (`ca`, `signer`, `tsa-sig`, `tsa-arc`) as DER.
    pub fn cert_der(&self, name: &str) -> Vec<u8> {
        let pem = format!("{name}.pem");
        openssl(&self.d, &["x509", "-in", &pem, "-outform", "DER"]).unwrap()
    }

    /// The CA's CRL as DER.
    pub fn crl_der(&self) -> Vec<u8> {
        std::fs::read(self.d.join("crl.der")).unwrap()
    }

    /// The CA certificate's PEM file (the explicit trust anchor).
    pub fn ca_pem(&self) -> PathBuf {
        self.d.join("ca.pem")
    }

    /// `openssl dgst -<alg> -binary` of `data`.
    pub fn digest(&self, alg: &str, data: &[u8]) -> Vec<u8> {
        std::fs::write(self.d.join("dgst.in"), data).unwrap();
        let flag = format!("-{alg}");
        openssl(&self.d, &["dgst", &flag, "-binary", "dgst.in"]).unwrap()
    }

    /// A CAdES-BES over `content` from `openssl cms -sign -cades` (SHA-256, the CA
    /// certificate included), enveloping or detached.
    pub fn cades_bes(&self, content: &[u8], detached: bool) -> Vec<u8> {
        std::fs::write(self.d.join("doc.bin"), content).unwrap();
        let mut args = vec![
            "cms",
            "-sign",
            "-cades",
            "-binary",
            "-md",
            "sha256",
            "-in",
            "doc.bin",
            "-signer",
            "signer.pem",
            "-inkey",
            "signer.key",
            "-certfile",
            "ca.pem",
            "-outform",
            "DER",
            "-out",
            "bes.p7m",
        ];
        if !detached {
            args.push("-nodetach");
        }
        openssl(&self.d, &args).unwrap();
        std::fs::read(self.d.join("bes.p7m")).unwrap()
    }

    /// A timestamp token from `tsa` whose SHA-256 imprint is over `data` (`openssl ts
    /// -query -data`, then `-reply -token_out`).
    pub fn token(&self, tsa: Tsa, data: &[u8]) -> Vec<u8> {
        let td = self.d.join(match tsa {
            Tsa::Signature => "tsa-sig",
            Tsa::Archive => "tsa-arc",
        });
        if tsa == Tsa::Archive {
            // genTime has millisecond precision: an archive token is then strictly later
            // than the tokens it covers (a proof of existence must come after them).
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::fs::write(td.join("data.in"), data).unwrap();
        openssl(
            &td,
            &[
                "ts", "-query", "-data", "data.in", "-sha256", "-cert", "-out", "q.tsq",
            ],
        )
        .unwrap();
        openssl(
            &td,
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
        )
        .unwrap();
        std::fs::read(td.join("r.tsr")).unwrap()
    }

    /// Adds a signature-time-stamp over the signature value.
    pub fn add_signature_timestamp(&self, ci: &[u8]) -> Vec<u8> {
        let token = self.token(Tsa::Signature, &signature_value(ci));
        add_unsigned(ci, &SIGNATURE_TIMESTAMP, &token)
    }

    /// complete-certificate-references: one `OtherCertID` for the CA certificate, its
    /// hash as `OtherHashAlgAndValue` (SHA-256).
    pub fn cert_refs_value(&self) -> Vec<u8> {
        let h = self.digest("sha256", &self.cert_der("ca"));
        let other_hash = tlv(0x30, &[&SHA256_ALG[..], &tlv(0x04, &h)].concat());
        tlv(0x30, &tlv(0x30, &other_hash))
    }

    /// complete-revocation-references: one `CrlOcspRef` with `crlids` naming the CA's
    /// CRL, its hash a bare SHA-1 `OtherHash`.
    pub fn rev_refs_value(&self) -> Vec<u8> {
        let h = self.digest("sha1", &self.crl_der());
        let crl_validated_id = tlv(0x30, &tlv(0x04, &h));
        let crl_list_id = tlv(0x30, &tlv(0x30, &crl_validated_id));
        tlv(0x30, &tlv(0x30, &tlv(0xa0, &crl_list_id)))
    }

    /// Adds complete-certificate-references, then complete-revocation-references
    /// (`revocation_first` swaps them).
    pub fn add_refs(&self, ci: &[u8], revocation_first: bool) -> Vec<u8> {
        let certs = (CERT_REFS, self.cert_refs_value());
        let revs = (REV_REFS, self.rev_refs_value());
        let order = if revocation_first {
            [revs, certs]
        } else {
            [certs, revs]
        };
        order
            .iter()
            .fold(ci.to_vec(), |acc, (o, v)| add_unsigned(&acc, o, v))
    }

    /// Adds a CAdES-C-time-stamp over the signature value ‖ signature-time-stamp ‖
    /// complete-certificate-references ‖ complete-revocation-references (each `attrType
    /// ‖ attrValues`), in the order of TS 101 733 §6.3.5, or with `encoded_order` in the
    /// order the attributes are encoded.
    pub fn add_esc_timestamp(&self, ci: &[u8], encoded_order: bool) -> Vec<u8> {
        let mut input = signature_value(ci);
        if encoded_order {
            for a in unsigned_attrs(ci) {
                let body = element(&a).body.to_vec();
                if [&SIGNATURE_TIMESTAMP, &CERT_REFS, &REV_REFS]
                    .iter()
                    .any(|o| body.starts_with(&o[..]))
                {
                    input.extend_from_slice(&body);
                }
            }
        } else {
            for o in [SIGNATURE_TIMESTAMP, CERT_REFS, REV_REFS] {
                input.extend_from_slice(&attr_bodies(ci, &o));
            }
        }
        let token = self.token(Tsa::Signature, &input);
        add_unsigned(ci, &ESC_TIMESTAMP, &token)
    }

    /// Adds a time-stamped-certs-crls-references over complete-certificate-references ‖
    /// complete-revocation-references (TS 101 733 §6.3.6).
    pub fn add_refs_timestamp(&self, ci: &[u8]) -> Vec<u8> {
        let input = [attr_bodies(ci, &CERT_REFS), attr_bodies(ci, &REV_REFS)].concat();
        let token = self.token(Tsa::Signature, &input);
        add_unsigned(ci, &CERT_CRL_TIMESTAMP, &token)
    }

    /// Adds certificate-values (the signer and CA certificates) and revocation-values (the
    /// CA's CRL in `crlVals`, or nothing with `with_crl` false).
    pub fn add_values(&self, ci: &[u8], with_crl: bool) -> Vec<u8> {
        let certs = [self.cert_der("signer"), self.cert_der("ca")].concat();
        let ci = add_unsigned(ci, &CERT_VALUES, &tlv(0x30, &certs));
        let rv = if with_crl {
            tlv(0x30, &tlv(0xa0, &tlv(0x30, &self.crl_der())))
        } else {
            tlv(0x30, &[])
        };
        add_unsigned(&ci, &REV_VALUES, &rv)
    }

    /// The TS 101 733 §6.4.1 / Annex K input of an archive-time-stamp v2/v1 over `ci` as
    /// it is now: encapContentInfo ‖ detached content ‖ certificates ‖ crls ‖ the
    /// SignerInfo fields ‖ the unsigned attributes, with or without their `[1]` tag and
    /// length.
    pub fn archive_input(ci: &[u8], detached: Option<&[u8]>, with_tag: bool) -> Vec<u8> {
        let f = signed_data_fields(ci);
        let mut input = f[2].raw.to_vec();
        if let Some(c) = detached {
            input.extend_from_slice(c);
        }
        for x in &f[3..f.len() - 1] {
            // certificates [0], crls [1]
            input.extend_from_slice(x.raw);
        }
        for x in signer_fields(ci) {
            if x.tag == 0xa1 {
                input.extend_from_slice(if with_tag { x.raw } else { x.body });
            } else {
                input.extend_from_slice(x.raw);
            }
        }
        input
    }

    /// Adds an archive timestamp (from the archive TSA) over everything present.
    pub fn add_archive(&self, ci: &[u8], which: Archive, detached: Option<&[u8]>) -> Vec<u8> {
        let input = Self::archive_input(ci, detached, which != Archive::V2WithoutTag);
        let token = self.token(Tsa::Archive, &input);
        let oid = if which == Archive::V1 {
            &ARCHIVE_V1
        } else {
            &ARCHIVE_V2
        };
        add_unsigned(ci, oid, &token)
    }

    /// Adds an archive-time-stamp-v3 whose token carries the TS 101 733 V2.2.1
    /// ats-hash-index (SHA-256 of each certificate, CRL and whole unsigned attribute):
    /// its imprint is over eContentType ‖ H(content) ‖ the SignerInfo fields but
    /// unsignedAttrs ‖ the index (enveloping signatures only).
    pub fn add_archive_v3_old_index(&self, ci: &[u8]) -> Vec<u8> {
        let f = signed_data_fields(ci);
        let eci = children(f[2].body);
        let econtent = element(children(eci[1].body)[0].raw).body.to_vec();
        let hashes = |items: Vec<Vec<u8>>| -> Vec<u8> {
            let h: Vec<u8> = items
                .iter()
                .flat_map(|i| tlv(0x04, &self.digest("sha256", i)))
                .collect();
            tlv(0x30, &h)
        };
        let list_of = |tag: u8| -> Vec<Vec<u8>> {
            f.iter()
                .find(|x| x.tag == tag)
                .map(|x| children(x.body).iter().map(|c| c.raw.to_vec()).collect())
                .unwrap_or_default()
        };
        let index = tlv(
            0x30,
            &[
                hashes(list_of(0xa0)),
                hashes(list_of(0xa1)),
                hashes(unsigned_attrs(ci)),
            ]
            .concat(),
        );
        let mut input = eci[0].raw.to_vec();
        input.extend_from_slice(&self.digest("sha256", &econtent));
        for x in signer_fields(ci) {
            if x.tag != 0xa1 {
                input.extend_from_slice(x.raw);
            }
        }
        input.extend_from_slice(&index);
        let token = self.token(Tsa::Archive, &input);
        let token = add_unsigned(&token, &ATS_HASH_INDEX, &index);
        add_unsigned(ci, &ARCHIVE_V3, &token)
    }
}
