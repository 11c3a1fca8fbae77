//! Hand-made attacks on a real signed trusted list (SE TL seq 32), each checked against
//! the engine and, where meaningful, against xmlsec1. Owns no library code.

use crate::common::*;
use base64::Engine as _;
use signgate::trust::xmldsig::{DsigError, DsigPolicy};

const BASE: &str = "tl/dss-2019/SE.seq32.xml";
const ROOT_ID: &str = "id_for_enveloped_signing_of_the_entire_list";
const SP_ID: &str = "xades-id-b5595a66e525ef233633e78e7f630969";

fn base() -> String {
    std::fs::read_to_string(data(BASE)).expect("read base sample")
}

/// Replaces exactly one occurrence (fails the test if the pattern is not unique).
fn replace_once(s: &str, from: &str, to: &str) -> String {
    assert_eq!(
        s.matches(from).count(),
        1,
        "pattern {from:?} must occur exactly once"
    );
    s.replacen(from, to, 1)
}

fn other_cert() -> Vec<u8> {
    let pem = std::fs::read_to_string(data(
        "ojeu-lotl-signers/dss-cookbook-oj_2019/ec.europa.eu.1.cer",
    ))
    .expect("read other cert");
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .expect("pem body")
}

fn signer_cert() -> Vec<u8> {
    keyinfo_certs(&base())
        .into_iter()
        .next()
        .expect("KeyInfo cert")
}

/// Runs xmlsec1 on the attack document.
fn xmlsec(name: &str, xml: &str) -> bool {
    xmlsec1_verifies(&temp_file(name, xml.as_bytes()))
}

#[test]
fn baseline_verifies() {
    let xml = base();
    verify_bytes(xml.as_bytes(), &[]).expect("baseline");
    assert!(xmlsec("baseline.xml", &xml));
}

#[test]
fn wrapping_under_new_root_is_refused() {
    let xml = base();
    let (decl, rest) = xml.split_at(xml.find("?>").unwrap() + 2);
    let attack = format!("{decl}<Wrapper xmlns=\"urn:evil\">{rest}</Wrapper>");
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert!(matches!(r, Err(DsigError::MisplacedSignature)), "{r:?}");
    assert!(!xmlsec("wrap-new-root.xml", &attack));
}

#[test]
fn signature_moved_into_content_is_refused() {
    let xml = base();
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = &xml[start..end];
    let without = format!("{}{}", &xml[..start], &xml[end..]);
    let attack = replace_once(
        &without,
        "</SchemeInformation>",
        &format!("{sig}</SchemeInformation>"),
    );
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert!(matches!(r, Err(DsigError::MisplacedSignature)), "{r:?}");
}

/// Classic wrapping: forged content at the root, original signed root hidden in a
/// ds:Object (where the enveloped transform removes it from the digest input).
#[test]
fn wrapping_original_in_object_is_refused() {
    let xml = base();
    let root_start = xml.find("<TrustServiceStatusList").unwrap();
    let sig_start = xml.find("<ds:Signature").unwrap();
    let sig_end = xml.find("</ds:Signature>").unwrap();
    // The original root without its signature.
    let original = format!("{}</TrustServiceStatusList>", &xml[root_start..sig_start]);
    let forged = replace_once(&xml, "<TSLSequenceNumber>32<", "<TSLSequenceNumber>99<");
    let hide = |copy: &str| {
        let pos = forged.find("</ds:Signature>").unwrap();
        assert!(pos > sig_end - 10);
        format!(
            "{}<ds:Object>{copy}</ds:Object>{}",
            &forged[..pos],
            &forged[pos..]
        )
    };
    // With the copied root Id: duplicate Id.
    let attack = hide(&original);
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert_eq!(r, Err(DsigError::DuplicateId(ROOT_ID.into())));
    assert!(!xmlsec("wrap-object-dup.xml", &attack));
    // Id stripped from the copy: the digest over the forged root fails.
    let attack = hide(&original.replacen(&format!(" Id=\"{ROOT_ID}\""), "", 1));
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert!(matches!(r, Err(DsigError::DigestMismatch { .. })), "{r:?}");
    assert!(!xmlsec("wrap-object.xml", &attack));
}

/// A second element carrying the SignedProperties Id (a forged SignedProperties in
/// another ds:Object, outside the whole-document digest).
#[test]
fn duplicate_signed_properties_id_is_refused() {
    let xml = base();
    let forged_sp = format!(
        "<ds:Object><xades:QualifyingProperties xmlns:xades=\"http://uri.etsi.org/01903/v1.3.2#\"><xades:SignedProperties Id=\"{SP_ID}\"><xades:SignedSignatureProperties><xades:SigningTime>2030-01-01T00:00:00Z</xades:SigningTime></xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties></ds:Object>"
    );
    let attack = replace_once(
        &xml,
        "</ds:Signature>",
        &format!("{forged_sp}</ds:Signature>"),
    );
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert_eq!(r, Err(DsigError::DuplicateId(SP_ID.into())));
    println!(
        "xmlsec1 on duplicate SignedProperties Id: {}",
        xmlsec("dup-sp.xml", &attack)
    );

    // Same Id on an element of the signed content.
    let attack = replace_once(
        &xml,
        "<SchemeInformation>",
        &format!("<SchemeInformation Id=\"{SP_ID}\">"),
    );
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert_eq!(r, Err(DsigError::DuplicateId(SP_ID.into())));
    assert!(!xmlsec("dup-sp-content.xml", &attack));
}

#[test]
fn reference_to_non_root_element_is_partial() {
    let xml = base();
    let with_inner = replace_once(
        &xml,
        "<SchemeInformation>",
        "<SchemeInformation Id=\"inner\">",
    );
    let attack = replace_once(&with_inner, "URI=\"\"", "URI=\"#inner\"");
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert!(matches!(r, Err(DsigError::PartialReference(_))), "{r:?}");
    assert!(!xmlsec("ref-inner.xml", &attack));

    // Whole-document reference dropped: only the SignedProperties one is left.
    let start = xml.find("<ds:Reference Id=\"tl_signing_tool\"").unwrap();
    let end = start + xml[start..].find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
    let attack = format!("{}{}", &xml[..start], &xml[end..]);
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert!(matches!(r, Err(DsigError::PartialReference(_))), "{r:?}");
    assert!(!xmlsec("ref-dropped.xml", &attack));
}

/// `#<root Id>` resolves to the document element (digest still matches) but the
/// SignedInfo bytes changed, so the signature value fails.
#[test]
fn root_id_reference_resolves_but_signedinfo_changed() {
    let xml = base();
    let attack = replace_once(&xml, "URI=\"\"", &format!("URI=\"#{ROOT_ID}\""));
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert_eq!(r, Err(DsigError::InvalidSignatureValue));
    assert!(!xmlsec("ref-rootid.xml", &attack));
}

#[test]
fn removed_enveloped_transform_is_partial() {
    let xml = base();
    let attack = replace_once(
        &xml,
        "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
        "",
    );
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert!(matches!(r, Err(DsigError::PartialReference(_))), "{r:?}");
    assert!(!xmlsec("no-enveloped.xml", &attack));
}

#[test]
fn signed_properties_reference_type_is_checked() {
    let xml = base();
    let attack = replace_once(
        &xml,
        " Type=\"http://uri.etsi.org/01903#SignedProperties\"",
        "",
    );
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert_eq!(
        r,
        Err(DsigError::ReferenceType {
            uri: format!("#{SP_ID}"),
            found: None
        })
    );
}

/// Comments are not part of a same-document node-set: injected comments keep the
/// signature valid (xmlsec1 agrees). Callers must therefore read text by concatenating
/// all text children, never only the first one.
#[test]
fn injected_comments_still_verify() {
    let xml = base();
    let attack = replace_once(
        &xml,
        "<SchemeInformation>",
        "<SchemeInformation><!-- injected -->",
    );
    verify_bytes(attack.as_bytes(), &[]).expect("comment between elements");
    assert!(xmlsec("comment.xml", &attack));

    let attack = replace_once(
        &xml,
        "<TSLSequenceNumber>32<",
        "<TSLSequenceNumber>3<!--x-->2<",
    );
    verify_bytes(attack.as_bytes(), &[]).expect("comment inside text");
    assert!(xmlsec("comment-text.xml", &attack));

    // A comment before the document element (outside the root) too.
    let attack = replace_once(
        &xml,
        "?><TrustServiceStatusList",
        "?><!-- outside --><TrustServiceStatusList",
    );
    verify_bytes(attack.as_bytes(), &[]).expect("comment outside root");
    assert!(xmlsec("comment-outside.xml", &attack));
}

#[test]
fn dtd_with_entity_is_refused_at_parse() {
    let xml = base();
    let attack = replace_once(
        &xml,
        "?><TrustServiceStatusList",
        "?><!DOCTYPE TrustServiceStatusList [<!ENTITY seq \"32\">]><TrustServiceStatusList",
    );
    let attack = replace_once(
        &attack,
        "<TSLSequenceNumber>32<",
        "<TSLSequenceNumber>&seq;<",
    );
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert!(matches!(r, Err(DsigError::Parse(_))), "{r:?}");
    println!(
        "xmlsec1 on DTD+entity variant: {}",
        xmlsec("dtd.xml", &attack)
    );

    // Billion-laughs style expansion is refused the same way.
    let bomb = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><r>&b;</r>";
    assert!(matches!(
        verify_bytes(bomb.as_bytes(), &[]),
        Err(DsigError::Parse(_))
    ));
}

#[test]
fn modified_signature_value_is_invalid() {
    let xml = base();
    let start = xml.find("<ds:SignatureValue").unwrap();
    let value_start = start + xml[start..].find('>').unwrap() + 1 + 40;
    let c = xml.as_bytes()[value_start];
    let replacement = if c == b'A' { "B" } else { "A" };
    let attack = format!(
        "{}{}{}",
        &xml[..value_start],
        replacement,
        &xml[value_start + 1..]
    );
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert_eq!(r, Err(DsigError::InvalidSignatureValue));
    assert!(!xmlsec("bad-sigvalue.xml", &attack));
}

#[test]
fn candidates_decide_the_signer() {
    let xml = base();
    let signer = signer_cert();
    let other = other_cert();
    assert_ne!(signer, other);
    // Valid signature, signer not among the candidates.
    match verify_bytes(xml.as_bytes(), &[other.as_slice()]) {
        Err(DsigError::UnknownSigner { signer_cert }) => assert_eq!(signer_cert, signer),
        r => panic!("expected UnknownSigner, got {r:?}"),
    }
    // Signer among several candidates.
    let v = verify_bytes(xml.as_bytes(), &[other.as_slice(), signer.as_slice()]).expect("ok");
    assert_eq!(v.signer_cert, signer);

    // Without KeyInfo the candidates are tried.
    let ki_start = xml.find("<ds:KeyInfo>").unwrap();
    let ki_end = xml.find("</ds:KeyInfo>").unwrap() + "</ds:KeyInfo>".len();
    let no_ki = format!("{}{}", &xml[..ki_start], &xml[ki_end..]);
    let v = verify_bytes(no_ki.as_bytes(), &[other.as_slice(), signer.as_slice()]).expect("ok");
    assert_eq!(v.signer_cert, signer);
    assert_eq!(
        verify_bytes(no_ki.as_bytes(), &[other.as_slice()]),
        Err(DsigError::InvalidSignatureValue)
    );
    assert_eq!(verify_bytes(no_ki.as_bytes(), &[]), Err(DsigError::NoKey));

    // A KeyInfo carrying only an unrelated certificate does not verify.
    let other_b64 = base64::engine::general_purpose::STANDARD.encode(&other);
    let swapped = format!(
        "{}<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{other_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>{}",
        &xml[..ki_start],
        &xml[ki_end..]
    );
    assert_eq!(
        verify_bytes(swapped.as_bytes(), &[signer.as_slice()]),
        Err(DsigError::InvalidSignatureValue)
    );
}

#[test]
fn sha1_is_policy_gated() {
    // Turn the SignedProperties digest into SHA-1 (the value no longer matters: the
    // policy check comes first).
    let xml = base();
    let sp_ref = xml.find(&format!("URI=\"#{SP_ID}\"")).unwrap();
    let dm = sp_ref + xml[sp_ref..].find("xmlenc#sha256").unwrap();
    let attack = format!(
        "{}{}{}",
        &xml[..dm],
        "xmldsig#sha1",
        &xml[dm + "xmlenc#sha256".len()..]
    );
    let attack = attack.replacen(
        "http://www.w3.org/2001/04/xmldsig#sha1",
        "http://www.w3.org/2000/09/xmldsig#sha1",
        1,
    );
    let r = verify_bytes(attack.as_bytes(), &[]);
    assert!(
        matches!(r, Err(DsigError::UnsupportedAlgorithm(_))),
        "{r:?}"
    );
    let r = verify_bytes_with(
        attack.as_bytes(),
        &[],
        &DsigPolicy {
            allow_sha1: true,
            ..DsigPolicy::default()
        },
    );
    assert!(matches!(r, Err(DsigError::DigestMismatch { .. })), "{r:?}");
}

/// Truncations and byte flips of a real file never panic.
#[test]
fn mutations_never_panic() {
    let xml = base();
    let bytes = xml.as_bytes();
    let step = bytes.len() / 97;
    for i in (0..bytes.len()).step_by(step.max(1)) {
        let _ = verify_bytes(&bytes[..i], &[]);
        let mut m = bytes.to_vec();
        m[i] ^= 0x21;
        let _ = verify_bytes(&m, &[]);
    }
}
