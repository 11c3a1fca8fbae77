//! XML Encryption (decryption only) of a SAML `EncryptedAssertion`.
//!
//! Owns: reading `xenc:EncryptedData` / `xenc:EncryptedKey`, unwrapping the session key
//! with our RSA key (RSA-OAEP: `xmlenc#rsa-oaep-mgf1p` and `xmlenc11#rsa-oaep`, with the
//! digest/MGF1 pairs aws-lc-rs offers: SHA-1/SHA-1, SHA-256/SHA-256, SHA-384/SHA-384,
//! SHA-512/SHA-512), and decrypting the data (AES-128/256-GCM, AES-128/256-CBC with the
//! XML-Enc padding). RSA PKCS#1 v1.5 key transport and 3DES are refused.
//! Must not: parse or trust the plaintext (the caller parses it with the DTD-refusing
//! policy and verifies its signature).

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{AES_128, AES_256, DecryptingKey, DecryptionContext, UnboundCipherKey};
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA384_MGF1SHA384, OAEP_SHA512_MGF1SHA512,
    OaepAlgorithm, OaepPrivateDecryptingKey, PrivateDecryptingKey,
};
use roxmltree::Node;

use crate::trust::xmldsig::DSIG_NS;

/// The XML Encryption 1.0 namespace.
pub const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
/// The XML Encryption 1.1 namespace.
pub const XENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";

const AES128_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
const AES256_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
/// AES-128-GCM data encryption.
pub const AES128_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
/// AES-256-GCM data encryption.
pub const AES256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
/// RSA-OAEP key transport (MGF1 with SHA-1 implied).
pub const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
/// RSA-OAEP key transport of XML Encryption 1.1 (explicit MGF).
pub const RSA_OAEP_11: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
const ELEMENT_TYPE: &str = "http://www.w3.org/2001/04/xmlenc#Element";

/// Why an `EncryptedAssertion` could not be decrypted. Deliberately coarse for anything
/// that could act as a decryption oracle (`Decrypt`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlEncError {
    #[error("malformed encrypted data: {0}")]
    Malformed(String),
    #[error("unsupported encryption algorithm: {0}")]
    Unsupported(String),
    #[error("decryption failed")]
    Decrypt,
}

fn bad(m: impl Into<String>) -> XmlEncError {
    XmlEncError::Malformed(m.into())
}

fn el<'a, 'i>(n: Node<'a, 'i>, ns: &str, local: &str) -> Vec<Node<'a, 'i>> {
    n.children()
        .filter(|c| {
            c.is_element() && c.tag_name().namespace() == Some(ns) && c.tag_name().name() == local
        })
        .collect()
}

fn one<'a, 'i>(n: Node<'a, 'i>, ns: &str, local: &str) -> Result<Node<'a, 'i>, XmlEncError> {
    let v = el(n, ns, local);
    match v.as_slice() {
        [x] => Ok(*x),
        [] => Err(bad(format!("missing {local}"))),
        _ => Err(bad(format!("more than one {local}"))),
    }
}

fn text(n: Node) -> Result<String, XmlEncError> {
    if n.children().any(|c| !c.is_text()) {
        return Err(bad(format!(
            "unexpected content in {}",
            n.tag_name().name()
        )));
    }
    Ok(n.children().filter_map(|c| c.text()).collect())
}

fn b64(n: Node) -> Result<Vec<u8>, XmlEncError> {
    crate::trust::xmldsig::b64_decode(&text(n)?).map_err(|_| bad("invalid base64"))
}

fn cipher_value(n: Node) -> Result<Vec<u8>, XmlEncError> {
    let cd = one(n, XENC_NS, "CipherData")?;
    if !el(cd, XENC_NS, "CipherReference").is_empty() {
        return Err(XmlEncError::Unsupported("CipherReference".into()));
    }
    b64(one(cd, XENC_NS, "CipherValue")?)
}

/// The RSA key that unwraps session keys.
pub struct DecryptionKey {
    key: OaepPrivateDecryptingKey,
}

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptionKey")
            .field("bits", &self.key.key_size_bits())
            .finish()
    }
}

impl DecryptionKey {
    /// From a PKCS#8 DER RSA private key (at least 2048 bits).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, String> {
        let k = PrivateDecryptingKey::from_pkcs8(der).map_err(|e| e.to_string())?;
        if k.key_size_bits() < 2048 {
            return Err("RSA encryption key below 2048 bits".into());
        }
        let key = OaepPrivateDecryptingKey::new(k).map_err(|e| e.to_string())?;
        Ok(Self { key })
    }

    /// Whether the certificate's `SubjectPublicKeyInfo` (DER) is this key's public half
    /// (an OAEP round trip, so a mismatched pair fails at start, not at the first login).
    pub fn matches_spki(&self, spki_der: &[u8]) -> bool {
        use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey};
        let Ok(public) = PublicEncryptingKey::from_der(spki_der) else {
            return false;
        };
        let Ok(public) = OaepPublicEncryptingKey::new(public) else {
            return false;
        };
        let probe = *b"signgate-key-pair-probe";
        let mut ct = vec![0u8; public.ciphertext_size()];
        let Ok(ct) = public.encrypt(&OAEP_SHA256_MGF1SHA256, &probe, &mut ct, None) else {
            return false;
        };
        let mut out = vec![0u8; self.key.min_output_size()];
        self.key
            .decrypt(&OAEP_SHA256_MGF1SHA256, ct, &mut out, None)
            .is_ok_and(|p| p == probe)
    }
}

fn oaep_algorithm(method: Node) -> Result<&'static OaepAlgorithm, XmlEncError> {
    let alg = method
        .attribute("Algorithm")
        .ok_or_else(|| bad("EncryptionMethod without Algorithm"))?;
    let digest = el(method, DSIG_NS, "DigestMethod")
        .first()
        .map(|d| {
            d.attribute("Algorithm")
                .ok_or_else(|| bad("DigestMethod without Algorithm"))
        })
        .transpose()?;
    let mgf = el(method, XENC11_NS, "MGF")
        .first()
        .map(|d| {
            d.attribute("Algorithm")
                .ok_or_else(|| bad("MGF without Algorithm"))
        })
        .transpose()?;
    for c in method.children().filter(|c| c.is_element()) {
        let known = (c.tag_name().namespace() == Some(DSIG_NS)
            && c.tag_name().name() == "DigestMethod")
            || (c.tag_name().namespace() == Some(XENC11_NS) && c.tag_name().name() == "MGF");
        if !known {
            // OAEPparams (a label) is not used by any SAML deployment we support.
            return Err(XmlEncError::Unsupported(format!(
                "{} in key EncryptionMethod",
                c.tag_name().name()
            )));
        }
    }
    const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
    const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
    const SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#sha384";
    const SHA512: &str = "http://www.w3.org/2001/04/xmlenc#sha512";
    const MGF_SHA1: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha1";
    const MGF_SHA256: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha256";
    const MGF_SHA384: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha384";
    const MGF_SHA512: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha512";
    let digest = digest.unwrap_or(SHA1);
    let mgf = match alg {
        RSA_OAEP_MGF1P => {
            if mgf.is_some() {
                return Err(bad("MGF in rsa-oaep-mgf1p"));
            }
            MGF_SHA1
        }
        RSA_OAEP_11 => mgf.unwrap_or(MGF_SHA1),
        other => return Err(XmlEncError::Unsupported(other.to_string())),
    };
    match (digest, mgf) {
        (SHA1, MGF_SHA1) => Ok(&OAEP_SHA1_MGF1SHA1),
        (SHA256, MGF_SHA256) => Ok(&OAEP_SHA256_MGF1SHA256),
        (SHA384, MGF_SHA384) => Ok(&OAEP_SHA384_MGF1SHA384),
        (SHA512, MGF_SHA512) => Ok(&OAEP_SHA512_MGF1SHA512),
        (d, m) => Err(XmlEncError::Unsupported(format!(
            "RSA-OAEP with digest {d} and {m}"
        ))),
    }
}

#[derive(Clone, Copy)]
enum DataAlg {
    Gcm128,
    Gcm256,
    Cbc128,
    Cbc256,
}

impl DataAlg {
    fn from_uri(uri: &str) -> Result<Self, XmlEncError> {
        match uri {
            AES128_GCM => Ok(Self::Gcm128),
            AES256_GCM => Ok(Self::Gcm256),
            AES128_CBC => Ok(Self::Cbc128),
            AES256_CBC => Ok(Self::Cbc256),
            other => Err(XmlEncError::Unsupported(other.to_string())),
        }
    }
    fn key_len(self) -> usize {
        match self {
            Self::Gcm128 | Self::Cbc128 => 16,
            Self::Gcm256 | Self::Cbc256 => 32,
        }
    }
}

/// Decrypts the one `xenc:EncryptedData` of a `saml:EncryptedAssertion`, returning the
/// plaintext (the serialized `saml:Assertion`). The `EncryptedKey` is taken from
/// `EncryptedData/ds:KeyInfo` or, failing that, from the `EncryptedAssertion` itself;
/// exactly one must be present.
///
/// AES-CBC is unauthenticated, so a CBC ciphertext is only decrypted when
/// `integrity_protected` (the enclosing Response's signature was verified first): otherwise
/// it could be altered at will and the answers used as a decryption oracle (Jager and
/// Somorovsky, "How to break XML Encryption", 2011).
pub fn decrypt_encrypted_assertion(
    enc_assertion: Node,
    key: &DecryptionKey,
    integrity_protected: bool,
) -> Result<Vec<u8>, XmlEncError> {
    let ed = one(enc_assertion, XENC_NS, "EncryptedData")?;
    if let Some(t) = ed.attribute("Type")
        && t != ELEMENT_TYPE
    {
        return Err(XmlEncError::Unsupported(format!("EncryptedData Type {t}")));
    }
    let data_alg = DataAlg::from_uri(
        one(ed, XENC_NS, "EncryptionMethod")?
            .attribute("Algorithm")
            .ok_or_else(|| bad("EncryptionMethod without Algorithm"))?,
    )?;
    if matches!(data_alg, DataAlg::Cbc128 | DataAlg::Cbc256) && !integrity_protected {
        return Err(XmlEncError::Unsupported(
            "AES-CBC encrypted assertion in an unsigned Response".into(),
        ));
    }
    let mut eks: Vec<Node> = el(enc_assertion, XENC_NS, "EncryptedKey");
    for ki in el(ed, DSIG_NS, "KeyInfo") {
        eks.extend(el(ki, XENC_NS, "EncryptedKey"));
    }
    let ek = match eks.as_slice() {
        [ek] => *ek,
        [] => return Err(bad("no EncryptedKey")),
        _ => return Err(bad("more than one EncryptedKey")),
    };
    let oaep = oaep_algorithm(one(ek, XENC_NS, "EncryptionMethod")?)?;
    let wrapped = cipher_value(ek)?;
    let mut session = vec![0u8; key.key.min_output_size()];
    let session = key
        .key
        .decrypt(oaep, &wrapped, &mut session, None)
        .map_err(|_| XmlEncError::Decrypt)?;
    if session.len() != data_alg.key_len() {
        return Err(XmlEncError::Decrypt);
    }
    let data = cipher_value(ed)?;
    decrypt_data(data_alg, session, data)
}

fn decrypt_data(alg: DataAlg, key: &[u8], mut data: Vec<u8>) -> Result<Vec<u8>, XmlEncError> {
    match alg {
        DataAlg::Gcm128 | DataAlg::Gcm256 => {
            // IV (96 bits) || ciphertext || tag (128 bits).
            if data.len() < 12 + 16 {
                return Err(XmlEncError::Decrypt);
            }
            let aead = if matches!(alg, DataAlg::Gcm128) {
                &AES_128_GCM
            } else {
                &AES_256_GCM
            };
            let k = LessSafeKey::new(UnboundKey::new(aead, key).map_err(|_| XmlEncError::Decrypt)?);
            let mut ct = data.split_off(12);
            let nonce =
                Nonce::try_assume_unique_for_key(&data).map_err(|_| XmlEncError::Decrypt)?;
            let plain = k
                .open_in_place(nonce, Aad::empty(), &mut ct)
                .map_err(|_| XmlEncError::Decrypt)?;
            let n = plain.len();
            ct.truncate(n);
            Ok(ct)
        }
        DataAlg::Cbc128 | DataAlg::Cbc256 => {
            // IV (128 bits) || ciphertext; XML-Enc padding: the last octet is the pad
            // length (1..=16), the other pad octets are arbitrary.
            if data.len() < 32 || !data.len().is_multiple_of(16) {
                return Err(XmlEncError::Decrypt);
            }
            let cipher = if matches!(alg, DataAlg::Cbc128) {
                &AES_128
            } else {
                &AES_256
            };
            let k = DecryptingKey::cbc(
                UnboundCipherKey::new(cipher, key).map_err(|_| XmlEncError::Decrypt)?,
            )
            .map_err(|_| XmlEncError::Decrypt)?;
            let mut ct = data.split_off(16);
            let iv: [u8; 16] = data
                .as_slice()
                .try_into()
                .map_err(|_| XmlEncError::Decrypt)?;
            let len = k
                .decrypt(&mut ct, DecryptionContext::Iv128(iv.into()))
                .map_err(|_| XmlEncError::Decrypt)?
                .len();
            ct.truncate(len);
            let pad = usize::from(*ct.last().ok_or(XmlEncError::Decrypt)?);
            if pad == 0 || pad > 16 || pad > ct.len() {
                return Err(XmlEncError::Decrypt);
            }
            ct.truncate(ct.len() - pad);
            Ok(ct)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext};

    #[test]
    fn cbc_xmlenc_padding() {
        let key = [7u8; 16];
        let iv = [9u8; 16];
        // "hello" + 10 arbitrary pad octets + pad length 11.
        let mut block = b"hello".to_vec();
        block.extend_from_slice(&[0xAA; 10]);
        block.push(11);
        let ek = EncryptingKey::cbc(UnboundCipherKey::new(&AES_128, &key).unwrap()).unwrap();
        ek.less_safe_encrypt(&mut block, EncryptionContext::Iv128(iv.into()))
            .unwrap();
        let mut data = iv.to_vec();
        data.extend_from_slice(&block);
        assert_eq!(decrypt_data(DataAlg::Cbc128, &key, data).unwrap(), b"hello");
    }

    #[test]
    fn gcm_tamper_refused() {
        let key = [3u8; 32];
        let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
        let iv = [1u8; 12];
        let mut ct = b"<x/>".to_vec();
        k.seal_in_place_append_tag(Nonce::assume_unique_for_key(iv), Aad::empty(), &mut ct)
            .unwrap();
        let mut data = iv.to_vec();
        data.extend_from_slice(&ct);
        assert_eq!(
            decrypt_data(DataAlg::Gcm256, &key, data.clone()).unwrap(),
            b"<x/>"
        );
        data[14] ^= 1;
        assert_eq!(
            decrypt_data(DataAlg::Gcm256, &key, data),
            Err(XmlEncError::Decrypt)
        );
    }
}
