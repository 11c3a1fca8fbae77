//! Freshly signed synthetic documents covering algorithms and canonicalization variants
//! the real samples do not use (ECDSA P-256/P-384 with raw r||s values, RSA-PSS,
//! inclusive C14N, WithComments, InclusiveNamespaces PrefixList), cross-checked with
//! xmlsec1 where it supports the algorithm. Owns no library code.

use crate::common::*;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, RsaKeyPair};
use base64::Engine as _;
use signgate::trust::c14n::{self, C14nMethod};
use signgate::trust::xmldsig::{self, DsigError, DsigPolicy};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Content that exercises canonicalization: PIs and comments inside and outside the
/// document element, namespace redeclarations and undeclarations, attribute ordering
/// and escaping, CDATA, character references, xml:lang.
const CONTENT: &str = r#"<a z="1" attr="v&#9;x &lt; &quot;q&quot;" b:z="2" xmlns:b="urn:b">text &amp; more&#13; <![CDATA[<cdata> & ]]></a><c xmlns=""><d xmlns="urn:other"><e xmlns="urn:default"/></d><r:f xml:lang="fr"/></c><?inner pi data?><!-- inner comment --><b:g xmlns:b="urn:b2"/>"#;

type Signer = Box<dyn Fn(&[u8]) -> Vec<u8>>;

struct Key {
    cert: Vec<u8>,
    sign: Signer,
}

fn ec_key(
    alg: &'static rcgen::SignatureAlgorithm,
    signing: &'static sig::EcdsaSigningAlgorithm,
) -> Key {
    let kp = rcgen::KeyPair::generate_for(alg).expect("keygen");
    let params = rcgen::CertificateParams::new(vec!["synthetic.test".to_string()]).unwrap();
    let cert = params.self_signed(&kp).expect("cert").der().to_vec();
    let ec = EcdsaKeyPair::from_pkcs8(signing, &kp.serialize_der()).expect("pkcs8");
    Key {
        cert,
        sign: Box::new(move |m| ec.sign(&SystemRandom::new(), m).unwrap().as_ref().to_vec()),
    }
}

fn rsa_key(enc: &'static dyn sig::RsaEncoding) -> Key {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("rsa keygen");
    let params = rcgen::CertificateParams::new(vec!["synthetic.test".to_string()]).unwrap();
    let cert = params.self_signed(&kp).expect("cert").der().to_vec();
    let rsa = RsaKeyPair::from_pkcs8(&kp.serialize_der()).expect("pkcs8");
    Key {
        cert,
        sign: Box::new(move |m| {
            let mut out = vec![0u8; rsa.public_modulus_len()];
            rsa.sign(enc, &SystemRandom::new(), m, &mut out).unwrap();
            out
        }),
    }
}

/// Builds and signs an enveloped document with the given algorithms.
fn signed_doc(
    key: &Key,
    sig_method: &str,
    si_c14n: C14nMethod,
    ref_c14n: C14nMethod,
    prefix_list: Option<&str>,
    signed_info_comment: bool,
) -> String {
    let incl = |m: C14nMethod| match (m.is_exclusive(), prefix_list) {
        (true, Some(p)) => format!(
            "<ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"{p}\"/>"
        ),
        _ => String::new(),
    };
    let comment = if signed_info_comment {
        "<!-- in SignedInfo -->"
    } else {
        ""
    };
    let build = |dv: &str, sv: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<?pi-before data?>
<!-- before -->
<r:Root xmlns:r="urn:root" xmlns="urn:default" xmlns:unused="urn:unused" xml:lang="en" Id="root-1">{CONTENT}<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>{comment}<ds:CanonicalizationMethod Algorithm="{}">{}</ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="{sig_method}"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="{}">{}</ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>{dv}</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>{sv}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature></r:Root>
<!-- after -->
<?pi-after?>"#,
            si_c14n.uri(),
            incl(si_c14n),
            ref_c14n.uri(),
            incl(ref_c14n),
            B64.encode(&key.cert),
        )
    };
    let prefixes: Vec<&str> = prefix_list
        .map(|p| p.split_whitespace().collect())
        .unwrap_or_default();

    let draft = build("", "");
    let doc = roxmltree::Document::parse(&draft).unwrap();
    let sig_id = doc
        .descendants()
        .find(|n| n.has_tag_name((xmldsig::DSIG_NS, "Signature")))
        .unwrap()
        .id();
    let mut buf = Vec::new();
    let ref_prefixes: &[&str] = if ref_c14n.is_exclusive() {
        &prefixes
    } else {
        &[]
    };
    c14n::canonicalize(
        &doc,
        doc.root(),
        ref_c14n.without_comments(),
        Some(sig_id),
        ref_prefixes,
        &mut buf,
    )
    .unwrap();
    let dv = B64.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &buf));

    let with_dv = build(&dv, "");
    let doc = roxmltree::Document::parse(&with_dv).unwrap();
    let si = doc
        .descendants()
        .find(|n| n.has_tag_name((xmldsig::DSIG_NS, "SignedInfo")))
        .unwrap();
    buf.clear();
    let si_prefixes: &[&str] = if si_c14n.is_exclusive() {
        &prefixes
    } else {
        &[]
    };
    c14n::canonicalize(&doc, si, si_c14n, None, si_prefixes, &mut buf).unwrap();
    let sv = B64.encode((key.sign)(&buf));
    build(&dv, &sv)
}

fn check(name: &str, xml: &str, key: &Key, xmlsec_supported: bool) {
    let v =
        verify_bytes(xml.as_bytes(), &[]).unwrap_or_else(|e| panic!("{name}: ours failed: {e}"));
    assert_eq!(v.signer_cert, key.cert, "{name}");
    assert!(!v.has_xades);
    if xmlsec_supported {
        assert!(
            xmlsec(name, xml),
            "{name}: xmlsec1 does not verify our synthetic document"
        );
    }
    // Tampering with the content is detected by both.
    let tampered = xml.replacen("text &amp; more", "text &amp; mora", 1);
    assert!(
        matches!(
            verify_bytes(tampered.as_bytes(), &[]),
            Err(DsigError::DigestMismatch { .. })
        ),
        "{name}"
    );
    if xmlsec_supported {
        assert!(!xmlsec(&format!("tampered-{name}"), &tampered), "{name}");
    }
}

fn xmlsec(name: &str, xml: &str) -> bool {
    xmlsec1_verifies(&temp_file(&format!("{name}.xml"), xml.as_bytes()))
}

const ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
const ECDSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";

#[test]
fn ecdsa_p256_inclusive_c14n() {
    let key = ec_key(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
    );
    let xml = signed_doc(
        &key,
        ECDSA_SHA256,
        C14nMethod::Inclusive,
        C14nMethod::Inclusive,
        None,
        false,
    );
    check("p256-incl", &xml, &key, true);
    // With comments in SignedInfo (signed because of WithComments).
    let xml = signed_doc(
        &key,
        ECDSA_SHA256,
        C14nMethod::InclusiveWithComments,
        C14nMethod::InclusiveWithComments,
        None,
        true,
    );
    check("p256-incl-comments", &xml, &key, true);
    let stripped = xml.replacen("<!-- in SignedInfo -->", "", 1);
    assert_eq!(
        verify_bytes(stripped.as_bytes(), &[]),
        Err(DsigError::InvalidSignatureValue)
    );
    assert!(!xmlsec("p256-incl-comments-stripped", &stripped));
}

#[test]
fn ecdsa_p384_exclusive_c14n_with_prefix_list() {
    let key = ec_key(
        &rcgen::PKCS_ECDSA_P384_SHA384,
        &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
    );
    let xml = signed_doc(
        &key,
        ECDSA_SHA384,
        C14nMethod::Exclusive,
        C14nMethod::Exclusive,
        Some("unused #default"),
        false,
    );
    check("p384-exc-prefixlist", &xml, &key, true);
    let xml = signed_doc(
        &key,
        ECDSA_SHA384,
        C14nMethod::ExclusiveWithComments,
        C14nMethod::ExclusiveWithComments,
        None,
        true,
    );
    check("p384-exc-comments", &xml, &key, true);
    // The wrong curve / hash pairing is refused.
    let wrong = xml.replacen(ECDSA_SHA384, ECDSA_SHA256, 1);
    assert!(verify_bytes(wrong.as_bytes(), &[]).is_err());
}

#[test]
fn rsa_pkcs1_and_pss() {
    let key = rsa_key(&sig::RSA_PKCS1_SHA256);
    let xml = signed_doc(
        &key,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        C14nMethod::Exclusive,
        C14nMethod::Inclusive,
        None,
        false,
    );
    check("rsa-pkcs1", &xml, &key, true);
    // xmlsec1 1.2.37 has no RSA-PSS: ours only.
    let key = rsa_key(&sig::RSA_PSS_SHA256);
    let xml = signed_doc(
        &key,
        "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
        C14nMethod::Exclusive,
        C14nMethod::Exclusive,
        None,
        false,
    );
    check("rsa-pss", &xml, &key, false);
    // SHA-1 signature methods need the policy flag.
    let sha1 = xml.replacen(
        "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        1,
    );
    assert!(matches!(
        verify_bytes(sha1.as_bytes(), &[]),
        Err(DsigError::UnsupportedAlgorithm(_))
    ));
    assert_eq!(
        verify_bytes_with(
            sha1.as_bytes(),
            &[],
            &DsigPolicy {
                allow_sha1: true,
                ..Default::default()
            }
        ),
        Err(DsigError::InvalidSignatureValue)
    );
}
