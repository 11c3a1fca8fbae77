//! Validation of a posted SAML `Response` (Web Browser SSO profile, eIDAS profile).
//!
//! Owns: every check of `SamlSp::finish` (see the list in [`validate`]).
//! Must not: check the browser-session binding or replay (the caller), or fetch anything.
//!
//! Signature-wrapping defence (structural): a document may hold exactly one assertion
//! (plain or encrypted) in the whole tree and it must be a child of the `Response`
//! document element; `ds:Signature` elements may only be children of the `Response` or of
//! that assertion, at most one each; a signature is verified with
//! `xmldsig::verify_element` on the very node (same `roxmltree::Document`) that is then
//! read, with its `Reference` pointing at that node's unique `ID`. Nothing is ever looked
//! up by ID or XPath after verification.

use roxmltree::{Document, Node, NodeType};
use time::OffsetDateTime;

use super::metadata::IdpMetadata;
use super::xmlenc::{self, DecryptionKeys};
use super::{
    ATTR_DATE_OF_BIRTH, ATTR_FAMILY_NAME, ATTR_GIVEN_NAME, ATTR_LEGAL_NAME,
    ATTR_LEGAL_PERSON_IDENTIFIER, ATTR_PERSON_IDENTIFIER, ATTRNAME_URI, LegalPerson,
    MAX_RESPONSE_B64, NAMEID_ENTITY, SAML_NS, SAMLP_NS, SamlError, SamlLogin, loa_from_uri,
};
use crate::identity::{IdpKind, VerifiedIdentity, is_plausible_eidas_id};
use crate::trust::xmldsig::{self, DSIG_NS};

const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// Node limit for a response document (a real eIDAS response has a few hundred).
const MAX_NODES: u32 = 20_000;

pub(super) struct Context<'a> {
    pub entity_id: &'a str,
    pub acs_url: &'a str,
    pub idp: &'a IdpMetadata,
    pub enc_keys: &'a DecryptionKeys,
    pub skew: time::Duration,
}

fn malformed(m: impl Into<String>) -> SamlError {
    SamlError::Malformed(m.into())
}

fn is(n: &Node, ns: &str, local: &str) -> bool {
    n.is_element() && n.tag_name().namespace() == Some(ns) && n.tag_name().name() == local
}

fn children<'a, 'i>(n: Node<'a, 'i>, ns: &'static str, local: &'static str) -> Vec<Node<'a, 'i>> {
    n.children().filter(|c| is(c, ns, local)).collect()
}

fn exactly_one<'a, 'i>(
    n: Node<'a, 'i>,
    ns: &'static str,
    local: &'static str,
) -> Result<Node<'a, 'i>, SamlError> {
    match children(n, ns, local).as_slice() {
        [x] => Ok(*x),
        [] => Err(malformed(format!(
            "{} without {local}",
            n.tag_name().name()
        ))),
        v => Err(malformed(format!(
            "{} with {} {local} elements",
            n.tag_name().name(),
            v.len()
        ))),
    }
}

fn optional_one<'a, 'i>(
    n: Node<'a, 'i>,
    ns: &'static str,
    local: &'static str,
) -> Result<Option<Node<'a, 'i>>, SamlError> {
    match children(n, ns, local).as_slice() {
        [] => Ok(None),
        [x] => Ok(Some(*x)),
        v => Err(malformed(format!(
            "{} with {} {local} elements",
            n.tag_name().name(),
            v.len()
        ))),
    }
}

/// The text of a value element, refusing anything but character data (comments,
/// processing instructions and child elements are the comment-injection class).
fn strict_text(n: Node, what: &str) -> Result<String, SamlError> {
    let mut s = String::new();
    for c in n.children() {
        match c.node_type() {
            NodeType::Text => s.push_str(c.text().unwrap_or("")),
            _ => return Err(SamlError::InjectedContent(what.to_string())),
        }
    }
    Ok(s)
}

fn time_attr(n: Node, name: &str) -> Result<Option<OffsetDateTime>, SamlError> {
    n.attribute(name)
        .map(|v| {
            xmldsig::parse_xsd_datetime(v)
                .ok_or_else(|| malformed(format!("{}/@{name} {v:?}", n.tag_name().name())))
        })
        .transpose()
}

fn check_issuer(n: Node, expected: &str) -> Result<(), SamlError> {
    let issuer = exactly_one(n, SAML_NS, "Issuer")?;
    if let Some(f) = issuer.attribute("Format")
        && f != NAMEID_ENTITY
    {
        return Err(malformed(format!("Issuer Format {f:?}")));
    }
    let got = strict_text(issuer, "Issuer")?;
    if got.trim() != expected {
        return Err(SamlError::Issuer {
            expected: expected.to_string(),
            found: Some(got),
        });
    }
    Ok(())
}

fn status_error(status: Node) -> Result<(), SamlError> {
    let top = exactly_one(status, SAMLP_NS, "StatusCode")?;
    let code = top
        .attribute("Value")
        .ok_or_else(|| malformed("StatusCode without Value"))?;
    if code == STATUS_SUCCESS {
        return Ok(());
    }
    let mut sub_codes = Vec::new();
    let mut cur = top;
    while let Some(sub) = optional_one(cur, SAMLP_NS, "StatusCode")? {
        if let Some(v) = sub.attribute("Value") {
            sub_codes.push(v.to_string());
        }
        cur = sub;
    }
    let message = optional_one(status, SAMLP_NS, "StatusMessage")?
        .map(|m| m.children().filter_map(|c| c.text()).collect::<String>());
    Err(SamlError::Status {
        code: code.to_string(),
        sub_codes,
        message,
    })
}

/// Validates `b64` (the `SAMLResponse` form value):
/// size; base64; UTF-8 XML with DTDs refused; `samlp:Response` 2.0 with `ID`,
/// `Destination` = our ACS, `InResponseTo`, `Issuer` = the node; `Status` Success (else
/// the status codes as [`SamlError::Status`]); signature placement; the `Response`
/// signature when present (pinned keys only); exactly one assertion, decrypted when
/// encrypted; then [`assertion`].
pub(super) fn validate(
    ctx: &Context,
    b64: &str,
    now: OffsetDateTime,
) -> Result<SamlLogin, SamlError> {
    if b64.len() > MAX_RESPONSE_B64 {
        return Err(SamlError::TooLarge(b64.len()));
    }
    let raw = xmldsig::b64_decode(b64).map_err(|_| SamlError::Base64)?;
    let text = xmldsig::decode_utf8(&raw).map_err(|e| SamlError::Xml(e.to_string()))?;
    let doc = xmldsig::parse_document_with_limit(text, MAX_NODES)
        .map_err(|e| SamlError::Xml(e.to_string()))?;
    let resp = doc.root_element();
    if !is(&resp, SAMLP_NS, "Response") {
        return Err(malformed(format!(
            "document element is {}, expected samlp:Response",
            resp.tag_name().name()
        )));
    }
    if resp.attribute("Version") != Some("2.0") {
        return Err(malformed("Response Version is not 2.0"));
    }
    if resp.attribute("ID").is_none_or(str::is_empty) {
        return Err(malformed("Response without ID"));
    }
    let destination = resp.attribute("Destination");
    if destination != Some(ctx.acs_url) {
        return Err(SamlError::Destination {
            expected: ctx.acs_url.to_string(),
            found: destination.map(str::to_string),
        });
    }
    check_issuer(resp, &ctx.idp.entity_id)?;
    status_error(exactly_one(resp, SAMLP_NS, "Status")?)?;
    let in_response_to = resp
        .attribute("InResponseTo")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            malformed("Response without InResponseTo (unsolicited responses are refused)")
        })?;

    // Exactly one assertion in the whole document, a child of the Response.
    let all_assertions = doc
        .descendants()
        .filter(|n| is(n, SAML_NS, "Assertion") || is(n, SAML_NS, "EncryptedAssertion"))
        .count();
    let direct: Vec<Node> = resp
        .children()
        .filter(|n| is(n, SAML_NS, "Assertion") || is(n, SAML_NS, "EncryptedAssertion"))
        .collect();
    let the_assertion = match (all_assertions, direct.as_slice()) {
        (1, [a]) => *a,
        (n, _) => return Err(SamlError::AssertionCount(n.max(direct.len()))),
    };
    if is(&the_assertion, SAML_NS, "Assertion") {
        check_signature_placement(&doc, &[resp, the_assertion])?;
    } else {
        check_signature_placement(&doc, &[resp])?;
    }

    let pinned: Vec<&[u8]> = ctx.idp.signing_certs.iter().map(Vec::as_slice).collect();
    let response_signed = if children(resp, DSIG_NS, "Signature").is_empty() {
        false
    } else {
        xmldsig::verify_element(&doc, resp, &pinned, &xmldsig::saml_policy()).map_err(|error| {
            SamlError::Signature {
                what: "Response",
                error,
            }
        })?;
        true
    };

    if is(&the_assertion, SAML_NS, "Assertion") {
        let evidence = &text[the_assertion.range()];
        return assertion(
            ctx,
            &doc,
            the_assertion,
            response_signed,
            in_response_to,
            evidence,
            now,
        );
    }

    // EncryptedAssertion: decrypt, parse the plaintext (DTD refused) inside a wrapper that
    // declares the namespaces in scope at the EncryptedAssertion, verify there.
    let plain = xmlenc::decrypt_encrypted_assertion(the_assertion, ctx.enc_keys, response_signed)?;
    let plain = xmldsig::decode_utf8(&plain).map_err(|e| SamlError::Xml(e.to_string()))?;
    let plain = strip_xml_declaration(plain);
    let mut wrapped = String::with_capacity(plain.len() + 512);
    wrapped.push_str("<signgate-decrypted");
    for ns in the_assertion.namespaces() {
        match ns.name() {
            Some("xml") => {}
            Some(p) => wrapped.push_str(&format!(
                " xmlns:{p}=\"{}\"",
                crate::trust::xmlsign::escape_attr(ns.uri())
            )),
            None => wrapped.push_str(&format!(
                " xmlns=\"{}\"",
                crate::trust::xmlsign::escape_attr(ns.uri())
            )),
        }
    }
    wrapped.push('>');
    let body_start = wrapped.len();
    wrapped.push_str(plain);
    let body_end = wrapped.len();
    wrapped.push_str("</signgate-decrypted>");
    let adoc = xmldsig::parse_document_with_limit(&wrapped, MAX_NODES)
        .map_err(|e| SamlError::Xml(format!("decrypted assertion: {e}")))?;
    let wrapper = adoc.root_element();
    let mut elems = wrapper.children().filter(|c| c.is_element());
    let a = match (elems.next(), elems.next()) {
        (Some(a), None) if is(&a, SAML_NS, "Assertion") => a,
        _ => {
            return Err(malformed(
                "decrypted content is not exactly one saml:Assertion",
            ));
        }
    };
    if wrapper
        .children()
        .any(|c| !(c.is_element() || c.is_text() && c.text().is_some_and(|t| t.trim().is_empty())))
    {
        return Err(malformed("content beside the decrypted assertion"));
    }
    let nested = adoc
        .descendants()
        .filter(|n| is(n, SAML_NS, "Assertion") || is(n, SAML_NS, "EncryptedAssertion"))
        .count();
    if nested != 1 {
        return Err(SamlError::AssertionCount(nested));
    }
    check_signature_placement(&adoc, &[a])?;
    let evidence = &wrapped[body_start..body_end];
    assertion(
        ctx,
        &adoc,
        a,
        response_signed,
        in_response_to,
        evidence,
        now,
    )
}

fn strip_xml_declaration(s: &str) -> &str {
    let t = s.trim_start();
    if t.starts_with("<?xml")
        && let Some(end) = t.find("?>")
    {
        return &t[end + 2..];
    }
    s
}

/// Every `ds:Signature` of the document must be a child of one of `allowed`, and no
/// element may carry two.
fn check_signature_placement(doc: &Document, allowed: &[Node]) -> Result<(), SamlError> {
    for s in doc.descendants().filter(|n| is(n, DSIG_NS, "Signature")) {
        let parent = s.parent().map(|p| p.id());
        if !allowed.iter().any(|a| Some(a.id()) == parent) {
            return Err(SamlError::SignaturePlacement(format!(
                "ds:Signature inside {}",
                s.parent_element()
                    .map(|p| p.tag_name().name().to_string())
                    .unwrap_or_default()
            )));
        }
    }
    for a in allowed {
        let n = children(*a, DSIG_NS, "Signature").len();
        if n > 1 {
            return Err(SamlError::SignaturePlacement(format!(
                "{} signed {n} times",
                a.tag_name().name()
            )));
        }
    }
    Ok(())
}

struct Attrs<'a, 'i> {
    all: Vec<(&'a str, Node<'a, 'i>)>,
}

impl<'a, 'i> Attrs<'a, 'i> {
    fn single(&self, name: &str, required: bool) -> Result<Option<String>, SamlError> {
        let attr = |p: &str| SamlError::Attribute {
            name: name.to_string(),
            problem: p.to_string(),
        };
        let Some((_, node)) = self.all.iter().find(|(n, _)| *n == name) else {
            return if required {
                Err(attr("missing"))
            } else {
                Ok(None)
            };
        };
        if let Some(f) = node.attribute("NameFormat")
            && f != ATTRNAME_URI
        {
            return Err(attr(&format!("NameFormat {f:?}")));
        }
        let values = children(*node, SAML_NS, "AttributeValue");
        let [v] = values.as_slice() else {
            return Err(attr(&format!("{} values, expected 1", values.len())));
        };
        let text = strict_text(*v, name)?;
        let text = text.trim();
        if text.is_empty() {
            return Err(attr("empty"));
        }
        Ok(Some(text.to_string()))
    }
}

#[allow(clippy::too_many_arguments)]
fn assertion(
    ctx: &Context,
    doc: &Document,
    a: Node,
    response_signed: bool,
    in_response_to: &str,
    evidence: &str,
    now: OffsetDateTime,
) -> Result<SamlLogin, SamlError> {
    let pinned: Vec<&[u8]> = ctx.idp.signing_certs.iter().map(Vec::as_slice).collect();
    if children(a, DSIG_NS, "Signature").is_empty() {
        if !response_signed {
            return Err(SamlError::Unsigned);
        }
    } else {
        xmldsig::verify_element(doc, a, &pinned, &xmldsig::saml_policy()).map_err(|error| {
            SamlError::Signature {
                what: "Assertion",
                error,
            }
        })?;
    }
    if a.attribute("Version") != Some("2.0") {
        return Err(malformed("Assertion Version is not 2.0"));
    }
    let assertion_id = a
        .attribute("ID")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| malformed("Assertion without ID"))?
        .to_string();
    check_issuer(a, &ctx.idp.entity_id)?;

    // Subject: NameID and a bearer confirmation for us, for this request, still valid.
    let subject = exactly_one(a, SAML_NS, "Subject")?;
    let name_id = strict_text(exactly_one(subject, SAML_NS, "NameID")?, "NameID")?
        .trim()
        .to_string();
    if name_id.is_empty() {
        return Err(malformed("empty NameID"));
    }
    let mut confirmed: Option<OffsetDateTime> = None;
    let mut why: Option<SamlError> = None;
    for sc in children(subject, SAML_NS, "SubjectConfirmation") {
        if sc.attribute("Method") != Some(CM_BEARER) {
            continue;
        }
        match bearer(ctx, sc, in_response_to, now) {
            Ok(t) => {
                confirmed = Some(t);
                break;
            }
            Err(e) => {
                why.get_or_insert(e);
            }
        }
    }
    let scd_not_on_or_after = match (confirmed, why) {
        (Some(t), _) => t,
        (None, Some(e)) => return Err(e),
        (None, None) => {
            return Err(SamlError::SubjectConfirmation(
                "no bearer SubjectConfirmation".into(),
            ));
        }
    };

    // Conditions.
    let conditions = exactly_one(a, SAML_NS, "Conditions")?;
    if let Some(nb) = time_attr(conditions, "NotBefore")?
        && nb > now + ctx.skew
    {
        return Err(SamlError::NotYetValid(nb));
    }
    let cond_noa = time_attr(conditions, "NotOnOrAfter")?
        .ok_or_else(|| malformed("Conditions without NotOnOrAfter"))?;
    if cond_noa <= now - ctx.skew {
        return Err(SamlError::Expired(cond_noa));
    }
    let restrictions = children(conditions, SAML_NS, "AudienceRestriction");
    if restrictions.is_empty() {
        return Err(SamlError::Audience(Vec::new()));
    }
    for r in restrictions {
        let audiences = children(r, SAML_NS, "Audience")
            .into_iter()
            .map(|n| strict_text(n, "Audience").map(|s| s.trim().to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        if !audiences.iter().any(|x| x == ctx.entity_id) {
            return Err(SamlError::Audience(audiences));
        }
    }

    // Authentication statement: instant and level.
    let authn = exactly_one(a, SAML_NS, "AuthnStatement")?;
    let auth_time = time_attr(authn, "AuthnInstant")?
        .ok_or_else(|| malformed("AuthnStatement without AuthnInstant"))?;
    if auth_time > now + ctx.skew {
        return Err(SamlError::NotYetValid(auth_time));
    }
    let class_ref = exactly_one(
        exactly_one(authn, SAML_NS, "AuthnContext")?,
        SAML_NS,
        "AuthnContextClassRef",
    )?;
    let class_ref = strict_text(class_ref, "AuthnContextClassRef")?;
    let loa = loa_from_uri(class_ref.trim())
        .ok_or_else(|| SamlError::UnknownLoa(class_ref.trim().to_string()))?;

    // Attributes.
    let mut all = Vec::new();
    for st in children(a, SAML_NS, "AttributeStatement") {
        if !children(st, SAML_NS, "EncryptedAttribute").is_empty() {
            return Err(malformed("EncryptedAttribute is not supported"));
        }
        for at in children(st, SAML_NS, "Attribute") {
            let name = at
                .attribute("Name")
                .ok_or_else(|| malformed("Attribute without Name"))?;
            if all.iter().any(|(n, _)| *n == name) {
                return Err(SamlError::Attribute {
                    name: name.to_string(),
                    problem: "repeated".into(),
                });
            }
            all.push((name, at));
        }
    }
    let attrs = Attrs { all };
    let pid = attrs
        .single(ATTR_PERSON_IDENTIFIER, true)?
        .unwrap_or_default();
    if !is_plausible_eidas_id(&pid) {
        return Err(SamlError::Attribute {
            name: ATTR_PERSON_IDENTIFIER.into(),
            problem: "not CC/CC/identifier".into(),
        });
    }
    let family = attrs.single(ATTR_FAMILY_NAME, true)?.unwrap_or_default();
    let given = attrs.single(ATTR_GIVEN_NAME, true)?.unwrap_or_default();
    let dob = attrs.single(ATTR_DATE_OF_BIRTH, true)?.unwrap_or_default();
    let date_fmt = time::macros::format_description!("[year]-[month]-[day]");
    if time::Date::parse(&dob, &date_fmt).is_err() {
        return Err(SamlError::Attribute {
            name: ATTR_DATE_OF_BIRTH.into(),
            problem: "not YYYY-MM-DD".into(),
        });
    }
    let legal_person = match (
        attrs.single(ATTR_LEGAL_PERSON_IDENTIFIER, false)?,
        attrs.single(ATTR_LEGAL_NAME, false)?,
    ) {
        (Some(identifier), Some(name)) => Some(LegalPerson { identifier, name }),
        (None, None) => None,
        _ => {
            return Err(SamlError::Attribute {
                name: ATTR_LEGAL_PERSON_IDENTIFIER.into(),
                problem: "LegalPersonIdentifier and LegalName must come together".into(),
            });
        }
    };

    Ok(SamlLogin {
        identity: VerifiedIdentity {
            idp: IdpKind::Eidas,
            issuer: ctx.idp.entity_id.clone(),
            national_id: None,
            eidas_id: Some(pid),
            name: format!("{given} {family}"),
            date_of_birth: Some(dob),
            loa,
            auth_time,
            evidence: Some(evidence.to_string()),
        },
        in_response_to: in_response_to.to_string(),
        assertion_id,
        not_on_or_after: scd_not_on_or_after.min(cond_noa),
        name_id,
        legal_person,
    })
}

/// A bearer `SubjectConfirmation`: its data must name our ACS as `Recipient`, answer this
/// response's request, and not have expired. Returns its `NotOnOrAfter`.
fn bearer(
    ctx: &Context,
    sc: Node,
    in_response_to: &str,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, SamlError> {
    let data = exactly_one(sc, SAML_NS, "SubjectConfirmationData")?;
    let recipient = data.attribute("Recipient");
    if recipient != Some(ctx.acs_url) {
        return Err(SamlError::SubjectConfirmation(format!(
            "Recipient {recipient:?} is not our ACS"
        )));
    }
    if data.attribute("InResponseTo") != Some(in_response_to) {
        return Err(SamlError::SubjectConfirmation(
            "InResponseTo differs from the Response's".into(),
        ));
    }
    if let Some(nb) = time_attr(data, "NotBefore")?
        && nb > now + ctx.skew
    {
        return Err(SamlError::NotYetValid(nb));
    }
    let noa = time_attr(data, "NotOnOrAfter")?.ok_or_else(|| {
        SamlError::SubjectConfirmation("SubjectConfirmationData without NotOnOrAfter".into())
    })?;
    if noa <= now - ctx.skew {
        return Err(SamlError::Expired(noa));
    }
    Ok(noa)
}
