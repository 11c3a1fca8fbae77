//! The eIDAS node's SAML metadata: parsing, signature check, pinning.
//!
//! Owns: reading one `md:EntityDescriptor` with one `md:IDPSSODescriptor` into
//! [`IdpMetadata`] (entity id, signing certificates from `KeyDescriptor use="signing"` or
//! without `use`, SSO endpoints per binding, `validUntil`), after verifying the
//! metadata's enveloped signature against the configured signer certificates.
//! Must not: fetch (the caller does) or decide anything about responses.

use roxmltree::Node;
use time::OffsetDateTime;

use super::{BINDING_POST, BINDING_REDIRECT, MD_NS, SAMLP_NS, SamlError};
use crate::trust::xmldsig::{self, DSIG_NS};

/// What we pin from the node's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// DER certificates whose keys may sign responses and assertions.
    pub signing_certs: Vec<Vec<u8>>,
    /// `SingleSignOnService` for HTTP-POST.
    pub sso_post: Option<String>,
    /// `SingleSignOnService` for HTTP-Redirect.
    pub sso_redirect: Option<String>,
    /// The earliest `validUntil` of the entity and its IdP role.
    pub valid_until: Option<OffsetDateTime>,
}

fn md<'a, 'i>(n: Node<'a, 'i>, local: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(move |c| {
        c.is_element() && c.tag_name().namespace() == Some(MD_NS) && c.tag_name().name() == local
    })
}

fn invalid(m: impl Into<String>) -> SamlError {
    SamlError::MetadataInvalid(m.into())
}

fn valid_until(n: Node) -> Result<Option<OffsetDateTime>, SamlError> {
    n.attribute("validUntil")
        .map(|v| xmldsig::parse_xsd_datetime(v).ok_or_else(|| invalid(format!("validUntil {v:?}"))))
        .transpose()
}

/// Parses and checks IdP metadata. With non-empty `signers` the document must carry one
/// enveloped signature (over the whole document) by one of them.
pub fn parse_idp_metadata(
    text: &str,
    signers: &[Vec<u8>],
    now: OffsetDateTime,
) -> Result<IdpMetadata, SamlError> {
    let doc = xmldsig::parse_document(text).map_err(|e| invalid(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().namespace() != Some(MD_NS) || root.tag_name().name() != "EntityDescriptor" {
        return Err(invalid(format!(
            "document element is {}, expected md:EntityDescriptor",
            root.tag_name().name()
        )));
    }
    if !signers.is_empty() {
        let candidates: Vec<&[u8]> = signers.iter().map(Vec::as_slice).collect();
        xmldsig::verify_enveloped(&doc, &candidates, &xmldsig::saml_policy())
            .map_err(SamlError::MetadataSignature)?;
    }
    let entity_id = root
        .attribute("entityID")
        .filter(|e| !e.is_empty())
        .ok_or_else(|| invalid("EntityDescriptor without entityID"))?
        .to_string();
    let idps: Vec<Node> = md(root, "IDPSSODescriptor").collect();
    let idp = match idps.as_slice() {
        [one] => *one,
        [] => return Err(invalid("no IDPSSODescriptor")),
        _ => return Err(invalid("more than one IDPSSODescriptor")),
    };
    if !idp
        .attribute("protocolSupportEnumeration")
        .is_some_and(|p| p.split_ascii_whitespace().any(|x| x == SAMLP_NS))
    {
        return Err(invalid("IDPSSODescriptor does not support SAML 2.0"));
    }
    let valid_until = match (valid_until(root)?, valid_until(idp)?) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let Some(t) = valid_until
        && t <= now
    {
        return Err(SamlError::MetadataExpired(t));
    }

    let mut signing_certs = Vec::new();
    for kd in md(idp, "KeyDescriptor") {
        if !matches!(kd.attribute("use"), None | Some("signing")) {
            continue;
        }
        for c in kd
            .descendants()
            .filter(|n| n.is_element() && n.tag_name().namespace() == Some(DSIG_NS))
            .filter(|n| n.tag_name().name() == "X509Certificate")
        {
            let der =
                xmldsig::b64_decode(&xmldsig::text_of(c).map_err(|e| invalid(e.to_string()))?)
                    .map_err(|e| invalid(e.to_string()))?;
            use der::Decode as _;
            x509_cert::Certificate::from_der(&der)
                .map_err(|e| invalid(format!("signing certificate: {e}")))?;
            if !signing_certs.contains(&der) {
                signing_certs.push(der);
            }
        }
    }
    if signing_certs.is_empty() {
        return Err(invalid("no signing certificate in IDPSSODescriptor"));
    }

    let mut sso_post = None;
    let mut sso_redirect = None;
    for s in md(idp, "SingleSignOnService") {
        let loc = s
            .attribute("Location")
            .ok_or_else(|| invalid("SingleSignOnService without Location"))?;
        if !(loc.starts_with("https://") || loc.starts_with("http://")) {
            return Err(invalid(format!("SingleSignOnService Location {loc:?}")));
        }
        match s.attribute("Binding") {
            Some(BINDING_POST) if sso_post.is_none() => sso_post = Some(loc.to_string()),
            Some(BINDING_REDIRECT) if sso_redirect.is_none() => {
                sso_redirect = Some(loc.to_string())
            }
            _ => {}
        }
    }
    if sso_post.is_none() && sso_redirect.is_none() {
        return Err(invalid("no HTTP-POST or HTTP-Redirect SingleSignOnService"));
    }
    Ok(IdpMetadata {
        entity_id,
        signing_certs,
        sso_post,
        sso_redirect,
        valid_until,
    })
}
