//! CMS `SignedData` for PAdES-BASELINE-B signatures (ETSI EN 319 142-1 §6.3, EN 319 122-1).
//!
//! This file owns the DER structure of the signature container: a detached `SignedData` over a
//! content digest with the content-type, message-digest and ESS signing-certificate-v2
//! signed attributes, signed by a [`SealKey`]. The digest algorithm is the key's
//! ([`SealKey::digest_algorithm`]: SHA-384 for ECDSA P-384, SHA-256 otherwise), so
//! `digestAlgorithm`, the content digest and the hash inside `signatureAlgorithm` agree (RFC
//! 5652 §5.4 hashes the signed attributes with `digestAlgorithm`; RFC 5753 §2.1.1, RFC 4056
//! §2.2). It must not touch PDF bytes (the caller computes
//! the digest over the ByteRange), must not add a signing-time attribute (PAdES puts the time in
//! the signature dictionary), and does not fetch timestamps itself: unsigned attributes are
//! supplied by the caller through [`build_detached_signed_data_with`].

use aws_lc_rs::digest;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use crate::sealing::keys::SealKey;

/// id-data (RFC 5652).
pub const OID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// id-signedData (RFC 5652).
pub const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-contentType attribute (RFC 5652 §11.1).
pub const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest attribute (RFC 5652 §11.2).
pub const OID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-aa-signingCertificateV2 attribute (RFC 5035).
pub const OID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-aa-signatureTimeStampToken (RFC 3161 appendix A), for the unsigned attribute a later
/// timestamping step adds.
pub const OID_SIGNATURE_TIMESTAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// id-sha256 (RFC 5754).
pub const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// Errors while building the CMS container.
#[derive(Debug, thiserror::Error)]
pub enum CmsError {
    /// The content digest is not a digest of the key's digest algorithm.
    #[error("content digest has {0} bytes, not the length of the seal key's digest algorithm")]
    BadDigestLength(usize),
    /// DER encoding failed (for example a malformed certificate in the chain).
    #[error("DER encoding: {0}")]
    Der(#[from] der::Error),
    /// The seal key failed to sign.
    #[error("signing: {0}")]
    Sign(#[from] crate::sealing::keys::KeyError),
    /// The caller's unsigned-attribute hook failed.
    #[error("unsigned attributes: {0}")]
    UnsignedAttributes(String),
}

/// ESS `SigningCertificateV2` (RFC 5035 §3).
///
/// ```text
/// SigningCertificateV2 ::= SEQUENCE {
///     certs    SEQUENCE OF ESSCertIDv2,
///     policies SEQUENCE OF PolicyInformation OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// The signer's certificate first.
    pub certs: Vec<EssCertIdV2>,
}

/// ESS `ESSCertIDv2` (RFC 5035 §4).
///
/// ```text
/// ESSCertIDv2 ::= SEQUENCE {
///     hashAlgorithm AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///     certHash      Hash,
///     issuerSerial  IssuerSerial OPTIONAL }
/// ```
/// `hash_algorithm` is `None` for SHA-256: DER omits a field equal to its default.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// Hash algorithm; `None` means the default, SHA-256.
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// Hash of the whole DER certificate.
    pub cert_hash: OctetString,
    /// Issuer name and serial number of the certificate.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial` (RFC 5035 §4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// The issuer as `GeneralNames` (a directoryName).
    pub issuer: Vec<GeneralName>,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, CmsError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// The `DigestAlgorithmIdentifier` of `key`'s digest (parameters absent, RFC 5754 §2).
fn digest_alg(key: &SealKey) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: key.digest_algorithm().oid(),
        parameters: None,
    }
}

/// The signed attributes for a PAdES-BASELINE-B signature, sorted as a DER `SET OF`.
pub fn signed_attributes(
    content_digest: &[u8],
    key: &SealKey,
) -> Result<SetOfVec<Attribute>, CmsError> {
    signed_attributes_for(OID_DATA, content_digest, key)
}

/// Signed attributes (content-type, message-digest, signing-certificate-v2) for content of
/// type `content_type`.
pub fn signed_attributes_for(
    content_type: ObjectIdentifier,
    content_digest: &[u8],
    key: &SealKey,
) -> Result<SetOfVec<Attribute>, CmsError> {
    if content_digest.len() != key.digest_algorithm().digest(b"").len() {
        return Err(CmsError::BadDigestLength(content_digest.len()));
    }
    let leaf = key.leaf();
    let cert_hash = digest::digest(&digest::SHA256, key.leaf_der());
    let signing_cert = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(cert_hash.as_ref())?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    leaf.tbs_certificate.issuer.clone(),
                )],
                serial_number: leaf.tbs_certificate.serial_number.clone(),
            }),
        }],
    };
    let attrs = vec![
        attribute(OID_CONTENT_TYPE, Any::encode_from(&content_type)?)?,
        attribute(
            OID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(content_digest)?)?,
        )?,
        attribute(OID_SIGNING_CERTIFICATE_V2, Any::encode_from(&signing_cert)?)?,
    ];
    Ok(SetOfVec::try_from(attrs)?)
}

/// Builds a detached CMS `SignedData` (DER `ContentInfo`) over `content_digest`, the digest
/// (with [`SealKey::digest_algorithm`]) of the signed PDF byte ranges.
pub fn build_detached_signed_data(
    content_digest: &[u8],
    key: &SealKey,
) -> Result<Vec<u8>, CmsError> {
    build_detached_signed_data_with(content_digest, key, |_| Ok(Vec::new()))
}

/// Like [`build_detached_signed_data`], with a hook that returns unsigned attributes for the
/// `SignerInfo`. The hook gets the signature value, which is what a signature timestamp
/// (`id-aa-signatureTimeStampToken`) is computed over; an empty vector adds no attributes.
pub fn build_detached_signed_data_with<F>(
    content_digest: &[u8],
    key: &SealKey,
    unsigned_attributes: F,
) -> Result<Vec<u8>, CmsError>
where
    F: FnOnce(&[u8]) -> Result<Vec<Attribute>, CmsError>,
{
    build_signed_data(
        OID_DATA,
        None,
        content_digest,
        key,
        true,
        unsigned_attributes,
    )
}

/// A CMS `SignedData` (DER `ContentInfo`) by `key`: detached when `econtent` is `None`,
/// else encapsulating it (as an RFC 3161 token encapsulates its `TSTInfo`);
/// `content_digest` is the digest of the content (with [`SealKey::digest_algorithm`]) either
/// way. `with_chain`: include the
/// key's certificate chain.
pub fn build_signed_data<F>(
    content_type: ObjectIdentifier,
    econtent: Option<&[u8]>,
    content_digest: &[u8],
    key: &SealKey,
    with_chain: bool,
    unsigned_attributes: F,
) -> Result<Vec<u8>, CmsError>
where
    F: FnOnce(&[u8]) -> Result<Vec<Attribute>, CmsError>,
{
    let signed_attrs = signed_attributes_for(content_type, content_digest, key)?;
    // The signature covers the DER encoding of the attributes with the SET OF tag (RFC 5652
    // §5.4), not the [0] IMPLICIT tag they carry inside SignerInfo.
    let to_sign = signed_attrs.to_der()?;
    let signature = key.sign(&to_sign)?;

    let unsigned = unsigned_attributes(&signature)?;
    let unsigned_attrs = if unsigned.is_empty() {
        None
    } else {
        Some(SetOfVec::try_from(unsigned)?)
    };

    let leaf = key.leaf();
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: leaf.tbs_certificate.issuer.clone(),
            serial_number: leaf.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: digest_alg(key),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: key.signature_algorithm(),
        signature: OctetString::new(signature)?,
        unsigned_attrs,
    };

    let mut certs: Vec<CertificateChoices> = Vec::with_capacity(key.chain().len());
    for cert in key.chain().iter().filter(|_| with_chain) {
        let choice = CertificateChoices::Certificate(cert.clone());
        if !certs.contains(&choice) {
            certs.push(choice);
        }
    }
    let econtent = econtent
        .map(|c| Any::encode_from(&OctetString::new(c)?))
        .transpose()?;

    let signed_data = SignedData {
        // RFC 5652 §5.1: version 3 when the content type is not id-data.
        version: if content_type == OID_DATA {
            CmsVersion::V1
        } else {
            CmsVersion::V3
        },
        digest_algorithms: SetOfVec::try_from(vec![digest_alg(key)])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: content_type,
            econtent,
        },
        certificates: if certs.is_empty() {
            None
        } else {
            Some(CertificateSet(SetOfVec::try_from(certs)?))
        },
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    let content_info = ContentInfo {
        content_type: OID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    };
    Ok(content_info.to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;

    fn dev_key() -> (tempfile::TempDir, SealKey) {
        let dir = tempfile::tempdir().unwrap();
        let p = crate::sealing::keys::ensure_dev_pki(dir.path(), None).unwrap();
        let key = SealKey::from_files(&p.seal_key, &p.seal_chain).unwrap();
        (dir, key)
    }

    #[test]
    fn structure_is_pades_baseline_b() {
        let (_dir, key) = dev_key();
        let digest = digest::digest(&digest::SHA256, b"content");
        let der = build_detached_signed_data(digest.as_ref(), &key).unwrap();

        let ci = ContentInfo::from_der(&der).unwrap();
        assert_eq!(ci.content_type, OID_SIGNED_DATA);
        let sd: SignedData = ci.content.decode_as().unwrap();
        assert!(sd.encap_content_info.econtent.is_none(), "must be detached");
        assert_eq!(sd.encap_content_info.econtent_type, OID_DATA);
        assert_eq!(sd.certificates.as_ref().unwrap().0.len(), 2);
        let si = &sd.signer_infos.0.as_slice()[0];
        assert!(matches!(si.sid, SignerIdentifier::IssuerAndSerialNumber(_)));
        let attrs = si.signed_attrs.as_ref().unwrap();
        let oids: Vec<_> = attrs.iter().map(|a| a.oid).collect();
        assert!(oids.contains(&OID_CONTENT_TYPE));
        assert!(oids.contains(&OID_MESSAGE_DIGEST));
        assert!(oids.contains(&OID_SIGNING_CERTIFICATE_V2));
        let signing_time = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
        assert!(!oids.contains(&signing_time));

        let md = attrs.iter().find(|a| a.oid == OID_MESSAGE_DIGEST).unwrap();
        let md: OctetString = md.values.as_slice()[0].decode_as().unwrap();
        assert_eq!(md.as_bytes(), digest.as_ref());

        let sc = attrs
            .iter()
            .find(|a| a.oid == OID_SIGNING_CERTIFICATE_V2)
            .unwrap();
        let sc: SigningCertificateV2 = sc.values.as_slice()[0].decode_as().unwrap();
        let id = &sc.certs[0];
        assert!(id.hash_algorithm.is_none());
        assert_eq!(
            id.cert_hash.as_bytes(),
            digest::digest(&digest::SHA256, key.leaf_der()).as_ref()
        );

        // Verify the signature over the DER SET OF signed attributes.
        let spki = &key.leaf().tbs_certificate.subject_public_key_info;
        let pk = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            spki.subject_public_key.raw_bytes(),
        );
        pk.verify(&attrs.to_der().unwrap(), si.signature.as_bytes())
            .unwrap();
    }

    #[test]
    fn unsigned_attribute_hook_sees_signature() {
        let (_dir, key) = dev_key();
        let digest = [7u8; 32];
        let der = build_detached_signed_data_with(&digest, &key, |sig| {
            assert_eq!(sig.len(), 256);
            Ok(vec![attribute(
                OID_SIGNATURE_TIMESTAMP_TOKEN,
                Any::encode_from(&OctetString::new(&b"placeholder"[..])?)?,
            )?])
        })
        .unwrap();
        let ci = ContentInfo::from_der(&der).unwrap();
        let sd: SignedData = ci.content.decode_as().unwrap();
        let si = &sd.signer_infos.0.as_slice()[0];
        assert_eq!(si.unsigned_attrs.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn wrong_digest_length_is_an_error() {
        let (_dir, key) = dev_key();
        assert!(matches!(
            build_detached_signed_data(&[0u8; 20], &key),
            Err(CmsError::BadDigestLength(20))
        ));
    }
}
