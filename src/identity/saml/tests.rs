//! Edge cases with responses built here (signed by our own `XmlSigner` standing in for
//! the node); the main proof against a real IdP is tests/saml.rs.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use time::OffsetDateTime;

use super::*;
use crate::trust::xmldsig::{self, DsigError};
use crate::trust::xmlsign::XmlSigner;

const ENTITY: &str = "https://sp.test/saml/metadata";
const ACS: &str = "https://sp.test/saml/acs";
const IDP: &str = "https://node.test/metadata";
const IRT: &str = "_00112233445566778899aabbccddeeff";

struct Keys {
    key_pem: String,
    cert_pem: String,
    cert_der: Vec<u8>,
}

fn keys(alg: &'static rcgen::SignatureAlgorithm, cn: &str) -> Keys {
    let kp = rcgen::KeyPair::generate_for(alg).unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let cert = params.self_signed(&kp).unwrap();
    Keys {
        key_pem: kp.serialize_pem(),
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
    }
}

fn signer(k: &Keys) -> XmlSigner {
    XmlSigner::from_pem(&k.key_pem, &k.cert_pem).unwrap()
}

struct Fx {
    sp: SamlSp,
    idp: XmlSigner,
    _dir: tempfile::TempDir,
}

fn idp_metadata(cert_der: &[u8]) -> String {
    format!(
        r#"<md:EntityDescriptor xmlns:md="{MD_NS}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{IDP}"><md:IDPSSODescriptor protocolSupportEnumeration="{SAMLP_NS}"><md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="{BINDING_POST}" Location="https://node.test/sso"/><md:SingleSignOnService Binding="{BINDING_REDIRECT}" Location="https://node.test/sso?x=1"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        B64.encode(cert_der),
        B64.encode(cert_der),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

async fn fixture(binding: &str) -> Fx {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    // The node signs with ECDSA P-256 here (RSA is covered by tests/saml.rs).
    let idp_keys = keys(&rcgen::PKCS_ECDSA_P256_SHA256, "node");
    let sp_keys = keys(&rcgen::PKCS_RSA_SHA256, "sp");
    let cfg = EidasConfig {
        idp_metadata: write(dir.path(), "idp.xml", &idp_metadata(&idp_keys.cert_der))
            .display()
            .to_string(),
        idp_metadata_signer: None,
        sp_entity_id: Some(ENTITY.into()),
        sp_key_file: write(dir.path(), "sp.key", &sp_keys.key_pem),
        sp_cert_file: write(dir.path(), "sp.crt", &sp_keys.cert_pem),
        sp_encryption_key_file: None,
        sp_encryption_cert_file: None,
        binding: binding.into(),
        sp_type: "public".into(),
        clock_skew: Duration::from_secs(60),
        metadata_refresh: Duration::from_secs(3600),
        metadata_validity: Duration::from_secs(86400),
        timeout: Duration::from_secs(2),
    };
    let sp = SamlSp::load(&cfg, ENTITY.into(), ACS.into()).await.unwrap();
    Fx {
        sp,
        idp: signer(&idp_keys),
        _dir: dir,
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn t(offset_min: i64) -> String {
    saml_time(now() + time::Duration::minutes(offset_min))
}

fn attribute(name: &str, value: &str) -> String {
    format!(
        r#"<saml:Attribute Name="{name}" NameFormat="{ATTRNAME_URI}"><saml:AttributeValue>{value}</saml:AttributeValue></saml:Attribute>"#
    )
}

fn assertion_body(id: &str) -> String {
    format!(
        concat!(
            r#"<saml:Assertion xmlns:saml="{saml}" ID="{id}" IssueInstant="{now}" Version="2.0">"#,
            r#"<saml:Issuer>{idp}</saml:Issuer>"#,
            r#"<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">SE/NO/199001011234</saml:NameID>"#,
            r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="{irt}" NotOnOrAfter="{later}" Recipient="{acs}"/></saml:SubjectConfirmation></saml:Subject>"#,
            r#"<saml:Conditions NotBefore="{before}" NotOnOrAfter="{later}"><saml:AudienceRestriction><saml:Audience>{entity}</saml:Audience></saml:AudienceRestriction></saml:Conditions>"#,
            r#"<saml:AuthnStatement AuthnInstant="{now}"><saml:AuthnContext><saml:AuthnContextClassRef>{loa}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"#,
            r#"<saml:AttributeStatement>{a1}{a2}{a3}{a4}</saml:AttributeStatement>"#,
            r#"</saml:Assertion>"#
        ),
        saml = SAML_NS,
        id = id,
        now = t(0),
        before = t(-1),
        later = t(5),
        idp = IDP,
        irt = IRT,
        acs = ACS,
        entity = ENTITY,
        loa = LOA_HIGH,
        a1 = attribute(ATTR_PERSON_IDENTIFIER, "SE/NO/199001011234"),
        a2 = attribute(ATTR_FAMILY_NAME, "Svensson"),
        a3 = attribute(ATTR_GIVEN_NAME, "Sven"),
        a4 = attribute(ATTR_DATE_OF_BIRTH, "1990-01-01"),
    )
}

fn wrap_response(assertion: &str) -> String {
    format!(
        concat!(
            r#"<samlp:Response xmlns:samlp="{samlp}" xmlns:saml="{saml}" Destination="{acs}" ID="_resp1" InResponseTo="{irt}" IssueInstant="{now}" Version="2.0">"#,
            r#"<saml:Issuer>{idp}</saml:Issuer>"#,
            r#"<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>"#,
            "{assertion}</samlp:Response>"
        ),
        samlp = SAMLP_NS,
        saml = SAML_NS,
        acs = ACS,
        irt = IRT,
        now = t(0),
        idp = IDP,
        assertion = assertion,
    )
}

/// A response with an assertion edited by `edit` and then signed by the node.
fn response_with(fx: &Fx, edit: impl Fn(String) -> String) -> String {
    let a = edit(assertion_body("_a1"));
    let signed = fx
        .idp
        .sign_enveloped(&a, "_a1", Some((SAML_NS, "Issuer")))
        .unwrap();
    wrap_response(&signed)
}

fn finish(fx: &Fx, xml: &str) -> Result<SamlLogin, SamlError> {
    fx.sp.finish(&B64.encode(xml), now())
}

#[tokio::test]
async fn rust_built_response_validates() {
    let fx = fixture("post").await;
    let xml = response_with(&fx, |a| a);
    let l = finish(&fx, &xml).unwrap();
    assert_eq!(l.identity.eidas_id.as_deref(), Some("SE/NO/199001011234"));
    assert_eq!(l.identity.loa, Loa::High);
    assert_eq!(l.assertion_id, "_a1");
    assert_eq!(l.name_id, "SE/NO/199001011234");
    assert_eq!(l.in_response_to, IRT);
    // Signed response around it too (both signatures verified).
    let signed = fx
        .idp
        .sign_enveloped(&xml, "_resp1", Some((SAML_NS, "Issuer")))
        .unwrap();
    finish(&fx, &signed).unwrap();
}

type Case = (&'static str, String, fn(&SamlError) -> bool);

fn case(name: &'static str, xml: String, want: fn(&SamlError) -> bool) -> Case {
    (name, xml, want)
}

#[tokio::test]
async fn refusals() {
    let fx = fixture("post").await;
    let edited = |from: &str, to: &str| {
        let (from, to) = (from.to_string(), to.to_string());
        response_with(&fx, move |a: String| {
            assert!(a.contains(&from), "{from}");
            a.replacen(&from, &to, 1)
        })
    };
    let cases: Vec<Case> = vec![
        case(
            "issuer",
            edited(
                &format!("<saml:Issuer>{IDP}"),
                "<saml:Issuer>https://evil.test",
            ),
            |e| matches!(e, SamlError::Issuer { .. }),
        ),
        case(
            "recipient",
            edited(
                &format!("Recipient=\"{ACS}\""),
                "Recipient=\"https://evil.test/acs\"",
            ),
            |e| matches!(e, SamlError::SubjectConfirmation(_)),
        ),
        case(
            "scd irt",
            edited(
                &format!("InResponseTo=\"{IRT}\""),
                "InResponseTo=\"_other\"",
            ),
            |e| matches!(e, SamlError::SubjectConfirmation(_)),
        ),
        case("not bearer", edited("cm:bearer", "cm:holder-of-key"), |e| {
            matches!(e, SamlError::SubjectConfirmation(_))
        }),
        case("loa", edited(LOA_HIGH, "urn:example:loa:great"), |e| {
            matches!(e, SamlError::UnknownLoa(_))
        }),
        case(
            "pid syntax",
            edited(
                ">SE/NO/199001011234</saml:AttributeValue>",
                ">199001011234</saml:AttributeValue>",
            ),
            |e| matches!(e, SamlError::Attribute { .. }),
        ),
        case(
            "two values",
            edited(
                "<saml:AttributeValue>Sven</saml:AttributeValue>",
                "<saml:AttributeValue>Sven</saml:AttributeValue><saml:AttributeValue>Eve</saml:AttributeValue>",
            ),
            |e| matches!(e, SamlError::Attribute { .. }),
        ),
        case(
            "element in value",
            edited(
                "<saml:AttributeValue>Sven</saml:AttributeValue>",
                "<saml:AttributeValue>Sv<b>e</b>n</saml:AttributeValue>",
            ),
            |e| matches!(e, SamlError::InjectedContent(_)),
        ),
        case(
            "pi in nameid",
            edited(
                "SE/NO/199001011234</saml:NameID>",
                "SE/NO/1990<?x y?>01011234</saml:NameID>",
            ),
            |e| matches!(e, SamlError::InjectedContent(_)),
        ),
        case("dob", edited(">1990-01-01<", ">01.01.1990<"), |e| {
            matches!(e, SamlError::Attribute { .. })
        }),
        case(
            "no audience",
            edited(&format!("<saml:Audience>{ENTITY}</saml:Audience>"), ""),
            |e| matches!(e, SamlError::Audience(_)),
        ),
    ];
    for (name, xml, want) in cases {
        let e = finish(&fx, &xml).expect_err(name);
        assert!(want(&e), "{name}: {e}");
    }

    let good = response_with(&fx, |a| a);
    let resp_cases: Vec<Case> = vec![
        case("destination", good.replacen(&format!("Destination=\"{ACS}\""), "Destination=\"https://evil.test\"", 1),
            |e| matches!(e, SamlError::Destination { .. })),
        case("no irt", good.replacen(&format!(" InResponseTo=\"{IRT}\" IssueInstant"), " IssueInstant", 1),
            |e| matches!(e, SamlError::Malformed(_))),
        case("version", good.replacen("Version=\"2.0\">", "Version=\"1.1\">", 1),
            |e| matches!(e, SamlError::Malformed(_))),
        case("not a response", good.replacen("samlp:Response", "samlp:ArtifactResponse", 2),
            |e| matches!(e, SamlError::Malformed(_))),
        case("signature elsewhere", good.replacen("<samlp:Status>", "<samlp:Extensions><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/></samlp:Extensions><samlp:Status>", 1),
            |e| matches!(e, SamlError::SignaturePlacement(_))),
        case("tampered", good.replacen(">Sven<", ">Eve<", 1),
            |e| matches!(e, SamlError::Signature { what: "Assertion", error: DsigError::DigestMismatch { .. } })),
        case("comment", good.replacen(">Sven<", ">Sv<!-- -->en<", 1),
            |e| matches!(e, SamlError::InjectedContent(_))),
        case("not xml", "<samlp:Response".into(), |e| matches!(e, SamlError::Xml(_))),
    ];
    for (name, xml, want) in resp_cases {
        let e = finish(&fx, &xml).expect_err(name);
        assert!(want(&e), "{name}: {e}");
        assert_eq!(e.user_reason(), UserReason::Rejected, "{name}");
    }
    assert!(matches!(fx.sp.finish("%%%", now()), Err(SamlError::Base64)));
    let big = "A".repeat(MAX_RESPONSE_B64 + 4);
    assert!(matches!(
        fx.sp.finish(&big, now()),
        Err(SamlError::TooLarge(_))
    ));

    // The assertion signed by a key that is not pinned (its cert in KeyInfo is ignored).
    let other = signer(&keys(&rcgen::PKCS_ECDSA_P256_SHA256, "other"));
    let a = other
        .sign_enveloped(&assertion_body("_a1"), "_a1", Some((SAML_NS, "Issuer")))
        .unwrap();
    let e = finish(&fx, &wrap_response(&a)).unwrap_err();
    assert!(
        matches!(
            e,
            SamlError::Signature {
                error: DsigError::InvalidSignatureValue,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn verify_element_rules() {
    let k = keys(&rcgen::PKCS_ECDSA_P256_SHA256, "k");
    let s = signer(&k);
    let doc_text = format!(
        r#"<r xmlns:saml="{SAML_NS}"><saml:Assertion ID="_x"><saml:Issuer>i</saml:Issuer><v>1</v></saml:Assertion></r>"#
    );
    let signed = s
        .sign_enveloped(&doc_text, "_x", Some((SAML_NS, "Issuer")))
        .unwrap();
    let pinned: &[&[u8]] = &[&k.cert_der];
    let check = |text: &str| {
        let doc = xmldsig::parse_document(text).unwrap();
        let a = doc.root_element().first_element_child().unwrap();
        xmldsig::verify_element(&doc, a, pinned, &xmldsig::saml_policy())
    };
    let v = check(&signed).unwrap();
    assert_eq!(v.signer_cert, k.cert_der);
    assert_eq!(v.signature_method, crate::trust::xmlsign::ECDSA_SHA256);
    // Duplicate ID anywhere in the document.
    let dup = signed.replacen("</r>", "<z ID=\"_x\"/></r>", 1);
    assert!(matches!(check(&dup), Err(DsigError::DuplicateId(_))));
    // Signed twice.
    let sig_start = signed.find("<ds:Signature").unwrap();
    let sig_end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = &signed[sig_start..sig_end];
    let twice = signed.replacen(sig, &format!("{sig}{sig}"), 1);
    assert!(matches!(
        check(&twice),
        Err(DsigError::MultipleSignatures(2))
    ));
    // The reference must name this element.
    let moved = signed.replacen("ID=\"_x\"", "ID=\"_y\"", 1);
    assert!(matches!(check(&moved), Err(DsigError::PartialReference(_))));
    // Unpinned key.
    let other = keys(&rcgen::PKCS_ECDSA_P256_SHA256, "o");
    let doc = xmldsig::parse_document(&signed).unwrap();
    let a = doc.root_element().first_element_child().unwrap();
    assert!(matches!(
        xmldsig::verify_element(&doc, a, &[&other.cert_der], &xmldsig::saml_policy()),
        Err(DsigError::InvalidSignatureValue)
    ));
    // SHA-1 digest refused.
    let sha1 = signed.replacen(
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "http://www.w3.org/2000/09/xmldsig#sha1",
        1,
    );
    assert!(matches!(
        check(&sha1),
        Err(DsigError::UnsupportedAlgorithm(_))
    ));
}

#[tokio::test]
async fn begin_builds_signed_requests() {
    let fx = fixture("post").await;
    let req = SamlAuthRequest {
        loa: Loa::Substantial,
        country: Some("DE".into()),
        legal_person: true,
        relay_state: "abc".into(),
    };
    let (start, pending) = fx.sp.begin(&req, now()).unwrap();
    assert!(pending.request_id.starts_with('_') && pending.request_id.len() == 33);
    let LoginStart::Post { action, fields } = start else {
        panic!()
    };
    assert_eq!(action, "https://node.test/sso");
    assert_eq!(fields[1], ("RelayState".to_string(), "abc".to_string()));
    assert_eq!(fields[2], ("country".to_string(), "DE".to_string()));
    let xml = String::from_utf8(B64.decode(&fields[0].1).unwrap()).unwrap();
    let doc = xmldsig::parse_document(&xml).unwrap();
    let sp_cert = fx.sp.signer.cert_der().to_vec();
    xmldsig::verify_element(
        &doc,
        doc.root_element(),
        &[&sp_cert],
        &xmldsig::saml_policy(),
    )
    .unwrap();
    assert!(xml.contains("LegalName") && xml.contains(LOA_SUBSTANTIAL));
    // The signature sits right after the Issuer.
    let issuer_end = xml.find("</saml2:Issuer>").unwrap();
    assert_eq!(
        xml.find("<ds:Signature").unwrap(),
        issuer_end + "</saml2:Issuer>".len()
    );

    let long = SamlAuthRequest {
        relay_state: "x".repeat(81),
        ..req.clone()
    };
    assert!(matches!(
        fx.sp.begin(&long, now()),
        Err(SamlError::BadRequest(_))
    ));

    let fx = fixture("redirect").await;
    let (start, _) = fx.sp.begin(&req, now()).unwrap();
    let LoginStart::Redirect(url) = start else {
        panic!()
    };
    assert!(
        url.starts_with("https://node.test/sso?x=1&SAMLRequest="),
        "{url}"
    );
    let q = &url[url.find("SAMLRequest=").unwrap()..];
    let signed_part = &q[..q.find("&Signature=").unwrap()];
    assert!(signed_part.contains(
        "&RelayState=abc&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256"
    ));
    assert!(q.ends_with("&country=DE"));
}

#[tokio::test]
async fn metadata_is_signed_and_complete() {
    let fx = fixture("post").await;
    let xml = fx.sp.metadata_xml(now()).unwrap();
    let doc = xmldsig::parse_document(&xml).unwrap();
    let sp_cert = fx.sp.signer.cert_der().to_vec();
    xmldsig::verify_enveloped(&doc, &[&sp_cert], &xmldsig::saml_policy()).unwrap();
    xmldsig::verify_element(
        &doc,
        doc.root_element(),
        &[&sp_cert],
        &xmldsig::saml_policy(),
    )
    .unwrap();
    // Signature first child of EntityDescriptor (schema order).
    assert!(xmldsig::is_ds_signature_element(
        &doc.root_element().first_element_child().unwrap()
    ));
    assert!(xml.contains(&format!("Location=\"{ACS}\"")));
    assert!(xml.contains(
        "<eidas:SPType xmlns:eidas=\"http://eidas.europa.eu/saml-extensions\">public</eidas:SPType>"
    ));
}

#[tokio::test]
async fn metadata_expiry_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys(&rcgen::PKCS_ECDSA_P256_SHA256, "node");
    let md = idp_metadata(&k.cert_der).replacen(
        "entityID=",
        &format!("validUntil=\"{}\" entityID=", t(-1)),
        1,
    );
    let e = metadata::parse_idp_metadata(&md, &[], now()).unwrap_err();
    assert!(matches!(e, SamlError::MetadataExpired(_)), "{e}");
    let md = idp_metadata(&k.cert_der).replacen(
        "entityID=",
        &format!("validUntil=\"{}\" entityID=", t(10)),
        1,
    );
    let m = metadata::parse_idp_metadata(&md, &[], now()).unwrap();
    assert_eq!(m.signing_certs, vec![k.cert_der.clone()]);
    assert_eq!(m.sso_post.as_deref(), Some("https://node.test/sso"));
    let _ = dir;
}

#[test]
fn sp_is_shareable_across_tasks() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<SamlSp>();
    send_sync::<SamlError>();
}

fn cfg_with(dir: &Path, sign: &Keys, enc: Option<(&Keys, &Keys)>) -> EidasConfig {
    let idp_keys = keys(&rcgen::PKCS_ECDSA_P256_SHA256, "node");
    EidasConfig {
        idp_metadata: write(dir, "idp.xml", &idp_metadata(&idp_keys.cert_der))
            .display()
            .to_string(),
        idp_metadata_signer: None,
        sp_entity_id: Some(ENTITY.into()),
        sp_key_file: write(dir, "sp.key", &sign.key_pem),
        sp_cert_file: write(dir, "sp.crt", &sign.cert_pem),
        sp_encryption_key_file: enc.map(|(k, _)| write(dir, "enc.key", &k.key_pem)),
        sp_encryption_cert_file: enc.map(|(_, c)| write(dir, "enc.crt", &c.cert_pem)),
        binding: "post".into(),
        sp_type: "public".into(),
        clock_skew: Duration::from_secs(60),
        metadata_refresh: Duration::from_secs(3600),
        metadata_validity: Duration::from_secs(86400),
        timeout: Duration::from_secs(2),
    }
}

/// The `use="encryption"` KeyDescriptors of our metadata: (certificate, methods).
fn enc_descriptors(sp: &SamlSp) -> Vec<(Vec<u8>, Vec<String>)> {
    let xml = sp.metadata_xml(now()).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    doc.descendants()
        .filter(|n| {
            n.has_tag_name((MD_NS, "KeyDescriptor")) && n.attribute("use") == Some("encryption")
        })
        .map(|kd| {
            let cert = kd
                .descendants()
                .find(|n| n.has_tag_name("X509Certificate"))
                .and_then(|n| n.text())
                .map(|t| B64.decode(t).unwrap())
                .unwrap();
            let methods = kd
                .children()
                .filter(|n| n.has_tag_name((MD_NS, "EncryptionMethod")))
                .map(|n| n.attribute("Algorithm").unwrap().to_string())
                .collect();
            (cert, methods)
        })
        .collect()
}

#[test]
fn ec_encryption_keys_are_probed_and_published() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = keys(&rcgen::PKCS_RSA_SHA256, "sp");
    let ec = keys(&rcgen::PKCS_ECDSA_P256_SHA256, "sp-enc");
    let load = |cfg: &EidasConfig| {
        let md = std::fs::read_to_string(&cfg.idp_metadata).unwrap();
        SamlSp::with_idp_metadata(cfg, ENTITY.into(), ACS.into(), &md, now())
    };

    // RSA signing pair + EC encryption pair: EC first (ECDH-ES preferred), RSA fallback.
    let sp = load(&cfg_with(dir.path(), &rsa, Some((&ec, &ec)))).unwrap();
    let d = enc_descriptors(&sp);
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].0, ec.cert_der);
    assert_eq!(d[0].1[0], xmlenc::ECDH_ES);
    assert!(d[0].1.iter().all(|m| !m.contains("rsa-oaep")));
    assert_eq!(d[1].0, rsa.cert_der);
    assert!(d[1].1.contains(&xmlenc::RSA_OAEP_MGF1P.to_string()));
    assert!(d[1].1.iter().all(|m| m != xmlenc::ECDH_ES));
    assert_eq!(sp.dec_keys.ec_curve(), Some(xmlenc::Curve::P256));
    assert!(sp.dec_keys.has_rsa());

    // EC signing pair and no encryption pair: the signing key also agrees keys; EC only.
    let sp = load(&cfg_with(dir.path(), &ec, None)).unwrap();
    let d = enc_descriptors(&sp);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].0, ec.cert_der);
    assert!(!sp.dec_keys.has_rsa());

    // P-384 and P-521 encryption pairs.
    for (alg, curve) in [
        (&rcgen::PKCS_ECDSA_P384_SHA384, xmlenc::Curve::P384),
        (&rcgen::PKCS_ECDSA_P521_SHA512, xmlenc::Curve::P521),
    ] {
        let k = keys(alg, "sp-enc");
        let sp = load(&cfg_with(dir.path(), &rsa, Some((&k, &k)))).unwrap();
        assert_eq!(sp.dec_keys.ec_curve(), Some(curve));
    }

    // A certificate that is not the key's: the start fails.
    let other = keys(&rcgen::PKCS_ECDSA_P256_SHA256, "other");
    let e = load(&cfg_with(dir.path(), &rsa, Some((&ec, &other)))).unwrap_err();
    assert!(
        matches!(&e, SamlError::Keys(m) if m.contains("does not match")),
        "{e}"
    );
    // An RSA certificate for the EC key: same.
    let e = load(&cfg_with(dir.path(), &rsa, Some((&ec, &rsa)))).unwrap_err();
    assert!(matches!(&e, SamlError::Keys(_)), "{e}");
}
