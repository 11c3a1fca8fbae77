//! XAdES signature reading and integrity verification (ETSI EN 319 132-1/-2 on W3C
//! XML-DSig 1.1): every `ds:Signature` of an XML document (enveloped, enveloping, detached)
//! becomes one [`SignatureEvidence`].
//!
//! Owns: signature discovery, `ds:SignedInfo` canonicalization and signature-value
//! verification (through `crate::validation::crypto`), reference checking (the engine in
//! [`refs`], built on `crate::trust::c14n` and the helpers of `crate::trust::xmldsig`: one
//! XML-DSig engine in the crate), signer identification from `ds:KeyInfo` and
//! `CertificateValues`, the XAdES qualifying properties (`SigningCertificate(V2)`,
//! `SigningTime`, `SignaturePolicyIdentifier`, `DataObjectFormat`, …), the data each XAdES
//! timestamp covers (handed to the caller's [`TimestampCheck`]), the validation data carried
//! (`CertificateValues`, `RevocationValues`, `TimeStampValidationData`), the level
//! (`XAdES-BASELINE-B/-T/-LT/-LTA`, `XAdES-BES/-EPES/-T/-C/-X/-X-L/-A`, `XML-NOT-ETSI`) and
//! the signature scope.
//! Must not touch: trusted-list verification (`crate::trust::xmldsig::verify_enveloped`
//! keeps its strict profile), RFC 3161 token checking (the caller's closure, normally
//! `crate::validation::tsp::check_timestamp`), chain building, revocation and time decisions.
//!
//! Signature-wrapping defence: a document where any `Id` value is carried by two elements
//! fails with `FORMAT_FAILURE`; `#id` references resolve to exactly one element; the
//! `SignedProperties` read are the ones the signature references (inside its own
//! `QualifyingProperties`, whose `Target` must name it); the scope lists exactly the
//! elements whose digests were verified. Input is bounded: [`MAX_INPUT_BYTES`], the node
//! limit of `crate::trust::xmldsig::parse_document` (DTDs, hence entities, refused),
//! [`MAX_DEPTH`], [`MAX_SIGNATURES`], [`MAX_REFERENCES`], [`MAX_TIMESTAMPS`].

mod certs;
mod refs;
#[cfg(test)]
mod tests;

use roxmltree::{Document, Node, NodeId};

use self::certs::Cert;
use self::refs::{Detached, Ids, RefCtx, RefError, RefSpec, Target};
use super::crypto::{self, DigestAlg, Scheme};
use super::evidence::{
    Algorithms, CertRef, Check, Family, Scope, SignatureEvidence, TimestampEvidence, TimestampKind,
};
use super::report::{Finding, SubIndication};
use crate::trust::c14n::{self, C14nMethod};
use crate::trust::xmldsig::{self as dsig, XADES_SIGNED_PROPERTIES_TYPE, element_children, is_ds};

/// Checks one RFC 3161 timestamp: `(id, kind, token DER, digest of the covered data by
/// algorithm)` → evidence (normally `crate::validation::tsp::check_timestamp`).
pub type TimestampCheck<'a> =
    dyn Fn(String, TimestampKind, &[u8], &dyn Fn(DigestAlg) -> Vec<u8>) -> TimestampEvidence + 'a;

/// Largest accepted XML input.
pub const MAX_INPUT_BYTES: usize = 32 << 20;
/// Deepest accepted element nesting.
pub const MAX_DEPTH: usize = 256;
/// Most `ds:Signature` elements read from one document.
pub const MAX_SIGNATURES: usize = 64;
/// Most references per `ds:SignedInfo` or `ds:Manifest`.
pub const MAX_REFERENCES: usize = 512;
/// Most timestamp tokens per signature.
pub const MAX_TIMESTAMPS: usize = 64;

/// Why a document could not be read at all (per-signature problems are findings in the
/// evidence instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XadesError {
    /// Input larger than [`MAX_INPUT_BYTES`].
    #[error("input of {0} bytes exceeds the limit of {MAX_INPUT_BYTES} bytes")]
    TooLarge(usize),
    /// Not acceptable XML (not UTF-8, malformed, DTD/entities, too many nodes).
    #[error("XML parse error: {0}")]
    Parse(String),
    /// Element nesting deeper than [`MAX_DEPTH`].
    #[error("XML nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// No `ds:Signature` in the document.
    #[error("no ds:Signature element in the document")]
    NoSignature,
    /// More than [`MAX_SIGNATURES`] signatures.
    #[error("more than {MAX_SIGNATURES} ds:Signature elements")]
    TooManySignatures,
}

/// XAdES namespaces share this prefix (v1.1.1, v1.2.2, v1.3.2, v1.4.1).
const XADES_NS_PREFIX: &str = "http://uri.etsi.org/01903/";
const XADES_132: &str = "http://uri.etsi.org/01903/v1.3.2#";
const XADES_141: &str = "http://uri.etsi.org/01903/v1.4.1#";
const COUNTERSIGNED_TYPE: &str = "http://uri.etsi.org/01903#CountersignedSignature";

fn is_xades(n: &Node, local: &str) -> bool {
    n.is_element()
        && n.tag_name().name() == local
        && n.tag_name()
            .namespace()
            .is_some_and(|ns| ns.starts_with(XADES_NS_PREFIX))
}

fn x_child<'a, 'i>(n: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    element_children(n).find(|c| is_xades(c, local))
}

fn x_children<'a, 'i>(n: Node<'a, 'i>, local: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    element_children(n).filter(move |c| is_xades(c, local))
}

fn count(n: Option<Node>, local: &'static str) -> usize {
    n.map_or(0, |n| x_children(n, local).count())
}

fn text(n: Node) -> String {
    n.descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect::<String>()
        .trim()
        .to_string()
}

fn describe(n: Node) -> String {
    let name = n.tag_name().name();
    match n
        .attribute("Id")
        .or_else(|| n.attribute("ID"))
        .or_else(|| n.attribute("id"))
    {
        Some(id) => format!("{name} Id={id:?}"),
        None => name.to_string(),
    }
}

/// Reads every `ds:Signature` of `xml`. `detached` is the signed file of a detached
/// signature (matched by name against external reference URIs, or used for the only
/// external reference). `ts` checks each timestamp token against the data it must cover.
pub fn read_xades(
    xml: &[u8],
    detached: Option<(&str, &[u8])>,
    ts: &TimestampCheck,
) -> Result<Vec<SignatureEvidence>, XadesError> {
    if xml.len() > MAX_INPUT_BYTES {
        return Err(XadesError::TooLarge(xml.len()));
    }
    let text = dsig::decode_utf8(xml).map_err(|e| XadesError::Parse(e.to_string()))?;
    let doc = dsig::parse_document(text).map_err(|e| XadesError::Parse(e.to_string()))?;
    check_depth(&doc)?;
    let sigs: Vec<Node> = doc
        .descendants()
        .filter(|n| is_ds(n, "Signature"))
        .take(MAX_SIGNATURES + 1)
        .collect();
    if sigs.is_empty() {
        return Err(XadesError::NoSignature);
    }
    if sigs.len() > MAX_SIGNATURES {
        return Err(XadesError::TooManySignatures);
    }
    let ids = Ids::build(&doc);
    let ctx = DocCtx {
        doc: &doc,
        ids: &ids,
        detached,
        ts,
    };
    Ok(sigs
        .iter()
        .enumerate()
        .map(|(i, s)| read_signature(&ctx, *s, i))
        .collect())
}

fn check_depth(doc: &Document) -> Result<(), XadesError> {
    let mut stack: Vec<NodeId> = Vec::new();
    for n in doc.descendants().filter(|n| n.is_element()) {
        let parent = n.parent().map(|p| p.id());
        while let Some(top) = stack.last() {
            if Some(*top) == parent {
                break;
            }
            stack.pop();
        }
        stack.push(n.id());
        if stack.len() > MAX_DEPTH {
            return Err(XadesError::TooDeep);
        }
    }
    Ok(())
}

struct DocCtx<'c, 'a, 'i> {
    doc: &'a Document<'i>,
    ids: &'c Ids<'a, 'i>,
    detached: Option<(&'c str, &'c [u8])>,
    ts: &'c TimestampCheck<'c>,
}

/// What a reference of `ds:SignedInfo` covers, for the XAdES rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    SignedProperties,
    KeyInfo,
    SignatureProperties,
    Manifest,
    CounterSigned,
    Data,
}

struct RefResult<'a, 'i> {
    spec: RefSpec<'a, 'i>,
    kind: Kind,
    /// The resolved element for `#id` references.
    element: Option<Node<'a, 'i>>,
    outcome: Result<refs::Processed<'a, 'i>, RefError>,
}

impl RefResult<'_, '_> {
    fn label(&self) -> String {
        match (self.spec.id, self.spec.uri) {
            (Some(id), Some(u)) => format!("reference {id} (URI {u:?})"),
            (Some(id), None) => format!("reference {id}"),
            (None, Some(u)) => format!("reference URI {u:?}"),
            (None, None) => "reference without URI".to_string(),
        }
    }
}

/// Integrity problems, in the order EN 319 102-1 reports them.
#[derive(Default)]
struct Problems {
    format: Vec<String>,
    not_found: Vec<String>,
    hash: Vec<String>,
    crypto: Option<(SubIndication, String)>,
}

impl Problems {
    fn verdict(&self) -> Check {
        let fail = |sub, v: &[String]| Check::Failed {
            sub,
            reason: v.join("; "),
        };
        if !self.format.is_empty() {
            fail(SubIndication::FormatFailure, &self.format)
        } else if !self.not_found.is_empty() {
            fail(SubIndication::SignedDataNotFound, &self.not_found)
        } else if !self.hash.is_empty() {
            fail(SubIndication::HashFailure, &self.hash)
        } else if let Some((sub, reason)) = &self.crypto {
            Check::Failed {
                sub: *sub,
                reason: reason.clone(),
            }
        } else {
            Check::Passed
        }
    }
}

fn new_evidence(id: String) -> SignatureEvidence {
    SignatureEvidence {
        id,
        family: Family::XAdES,
        format: "XML-NOT-ETSI".into(),
        integrity: Check::Passed,
        signer_cert: None,
        cert_ref: CertRef::Absent,
        certificates: Vec::new(),
        crls: Vec::new(),
        ocsps: Vec::new(),
        algorithms: Algorithms::default(),
        claimed_signing_time: None,
        timestamps: Vec::new(),
        scope: Scope {
            full: false,
            description: "nothing verified".into(),
        },
        errors: Vec::new(),
        warnings: Vec::new(),
        policy_id: None,
        notes: Vec::new(),
    }
}

struct Parts<'a, 'i> {
    signed_info: Node<'a, 'i>,
    signature_value: Node<'a, 'i>,
    key_info: Option<Node<'a, 'i>>,
    objects: Vec<Node<'a, 'i>>,
    c14n: C14nMethod,
    prefixes: Vec<&'a str>,
    sig_method: &'a str,
    references: Vec<Node<'a, 'i>>,
}

fn structure<'a, 'i>(sig: Node<'a, 'i>) -> Result<Parts<'a, 'i>, String> {
    let e = |e: dsig::DsigError| e.to_string();
    let mut it = element_children(sig).peekable();
    let signed_info = dsig::expect_ds(&mut it, "SignedInfo", "ds:Signature").map_err(e)?;
    let signature_value = dsig::expect_ds(&mut it, "SignatureValue", "ds:Signature").map_err(e)?;
    let key_info = match it.peek() {
        Some(n) if is_ds(n, "KeyInfo") => it.next(),
        _ => None,
    };
    let mut objects = Vec::new();
    for rest in it {
        if !is_ds(&rest, "Object") {
            return Err(format!(
                "unexpected element {} in ds:Signature",
                rest.tag_name().name()
            ));
        }
        objects.push(rest);
    }
    let mut si = element_children(signed_info).peekable();
    let cm = dsig::expect_ds(&mut si, "CanonicalizationMethod", "ds:SignedInfo").map_err(e)?;
    let c14n_uri = dsig::algorithm_attr(cm).map_err(e)?;
    let c14n = C14nMethod::from_uri(c14n_uri)
        .ok_or_else(|| format!("unsupported CanonicalizationMethod {c14n_uri}"))?;
    let prefixes = if c14n.is_exclusive() {
        dsig::inclusive_prefixes(cm).map_err(e)?
    } else {
        Vec::new()
    };
    let sm = dsig::expect_ds(&mut si, "SignatureMethod", "ds:SignedInfo").map_err(e)?;
    let sig_method = dsig::algorithm_attr(sm).map_err(e)?;
    let mut references = Vec::new();
    for r in si {
        if !is_ds(&r, "Reference") {
            return Err(format!(
                "unexpected element {} in ds:SignedInfo",
                r.tag_name().name()
            ));
        }
        references.push(r);
        if references.len() > MAX_REFERENCES {
            return Err(format!("more than {MAX_REFERENCES} references"));
        }
    }
    if references.is_empty() {
        return Err("ds:SignedInfo has no ds:Reference".into());
    }
    Ok(Parts {
        signed_info,
        signature_value,
        key_info,
        objects,
        c14n,
        prefixes,
        sig_method,
        references,
    })
}

fn is_external(spec: &RefSpec) -> bool {
    match spec.uri {
        None => true,
        Some(u) => !u.is_empty() && !u.starts_with('#'),
    }
}

fn classify<'a, 'i>(
    spec: &RefSpec<'a, 'i>,
    el: Option<Node<'a, 'i>>,
    sig: Node<'a, 'i>,
    key_info: Option<Node<'a, 'i>>,
) -> Kind {
    let inside = |n: Node| n.ancestors().any(|a| a.id() == sig.id());
    if let Some(e) = el {
        if is_xades(&e, "SignedProperties") {
            return Kind::SignedProperties;
        }
        if key_info.is_some_and(|k| k.id() == e.id()) {
            return Kind::KeyInfo;
        }
        if is_ds(&e, "SignatureProperties") && inside(e) {
            return Kind::SignatureProperties;
        }
        if is_ds(&e, "Manifest") {
            return Kind::Manifest;
        }
    }
    if spec.ty == Some(XADES_SIGNED_PROPERTIES_TYPE) {
        return Kind::SignedProperties;
    }
    if spec.ty == Some(COUNTERSIGNED_TYPE) {
        return Kind::CounterSigned;
    }
    Kind::Data
}

/// Reads and checks the references of `ds:SignedInfo` or of a `ds:Manifest`.
fn check_references<'a, 'i>(
    ctx: &DocCtx<'_, 'a, 'i>,
    sig: Node<'a, 'i>,
    key_info: Option<Node<'a, 'i>>,
    nodes: &[Node<'a, 'i>],
) -> Vec<RefResult<'a, 'i>> {
    let specs: Vec<Result<RefSpec, RefError>> = nodes.iter().map(|r| RefSpec::parse(*r)).collect();
    let externals = specs
        .iter()
        .filter(|s| s.as_ref().is_ok_and(is_external))
        .count();
    let detached = ctx.detached.map(|(name, bytes)| Detached {
        name,
        bytes,
        only_candidate: externals == 1,
    });
    let rctx = RefCtx {
        doc: ctx.doc,
        ids: ctx.ids,
        sig,
        detached,
    };
    let mut out = Vec::with_capacity(specs.len());
    for (node, spec) in nodes.iter().zip(specs) {
        let spec = match spec {
            Ok(s) => s,
            Err(e) => {
                out.push(RefResult {
                    spec: RefSpec::unparsed(*node),
                    kind: Kind::Data,
                    element: None,
                    outcome: Err(e),
                });
                continue;
            }
        };
        let element = spec.fragment().and_then(|f| ctx.ids.resolve(f).ok());
        let kind = classify(&spec, element, sig, key_info);
        let outcome = refs::process(&rctx, &spec);
        out.push(RefResult {
            spec,
            kind,
            element,
            outcome,
        });
    }
    out
}

/// Where a certificate or revocation value came from (for archive-timestamp coverage).
struct Values {
    /// (index of the `UnsignedSignatureProperties` child, DER).
    certs: Vec<(usize, Vec<u8>)>,
    crls: Vec<(usize, Vec<u8>)>,
    ocsps: Vec<(usize, Vec<u8>)>,
    errors: Vec<String>,
    /// `CertificateValues`, `RevocationValues`, `AttrAuthoritiesCertValues`,
    /// `TimeStampValidationData` present.
    any_lt: bool,
}

fn encapsulated(n: Node) -> Result<Vec<u8>, String> {
    let t = dsig::text_of(n).map_err(|e| e.to_string())?;
    dsig::b64_decode(&t).map_err(|e| e.to_string())
}

fn collect_values(usp: Option<Node>) -> Values {
    let mut v = Values {
        certs: Vec::new(),
        crls: Vec::new(),
        ocsps: Vec::new(),
        errors: Vec::new(),
        any_lt: false,
    };
    let Some(usp) = usp else {
        return v;
    };
    for (i, child) in element_children(usp).enumerate() {
        if !child
            .tag_name()
            .namespace()
            .is_some_and(|ns| ns.starts_with(XADES_NS_PREFIX))
        {
            continue;
        }
        let name = child.tag_name().name();
        let containers: Vec<Node> = match name {
            "CertificateValues"
            | "AttrAuthoritiesCertValues"
            | "RevocationValues"
            | "AttributeRevocationValues" => vec![child],
            "TimeStampValidationData" => element_children(child).collect(),
            _ => continue,
        };
        v.any_lt = true;
        for c in containers {
            match c.tag_name().name() {
                "CertificateValues" | "AttrAuthoritiesCertValues" => {
                    for (k, e) in x_children(c, "EncapsulatedX509Certificate").enumerate() {
                        match encapsulated(e).and_then(|d| {
                            Cert::parse(d.clone())
                                .map(|_| d)
                                .ok_or_else(|| "not a DER X.509 certificate".to_string())
                        }) {
                            Ok(d) => v.certs.push((i, d)),
                            Err(why) => v.errors.push(format!(
                                "{name}: EncapsulatedX509Certificate #{} is corrupted ({why})",
                                k + 1
                            )),
                        }
                    }
                }
                "RevocationValues" | "AttributeRevocationValues" => {
                    for (list, item, is_crl) in [
                        ("CRLValues", "EncapsulatedCRLValue", true),
                        ("OCSPValues", "EncapsulatedOCSPValue", false),
                    ] {
                        for l in x_children(c, list) {
                            for (k, e) in x_children(l, item).enumerate() {
                                match encapsulated(e).and_then(|d| {
                                    der_sequence(&d)
                                        .then_some(d)
                                        .ok_or_else(|| "not a DER SEQUENCE".to_string())
                                }) {
                                    Ok(d) if is_crl => v.crls.push((i, d)),
                                    Ok(d) => v.ocsps.push((i, d)),
                                    Err(why) => v.errors.push(format!(
                                        "{name}: {item} #{} is corrupted ({why})",
                                        k + 1
                                    )),
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    v
}

fn der_sequence(d: &[u8]) -> bool {
    use der::{Decode as _, Tagged as _};
    der::asn1::AnyRef::from_der(d).is_ok_and(|a| a.tag() == der::Tag::Sequence)
}

/// The XAdES properties of one signature.
struct Props<'a, 'i> {
    qp: Option<Node<'a, 'i>>,
    /// `SignedProperties`, only when this signature references it properly.
    signed: Option<Node<'a, 'i>>,
    ssp: Option<Node<'a, 'i>>,
    sdop: Option<Node<'a, 'i>>,
    usp: Option<Node<'a, 'i>>,
}

fn read_signature(ctx: &DocCtx, sig: Node, index: usize) -> SignatureEvidence {
    let sig_id = sig.attribute("Id");
    let id = sig_id.map_or_else(|| format!("S-{}", index + 1), str::to_string);
    let mut ev = new_evidence(id.clone());
    let object = format!("signature {id}");
    let mut pr = Problems::default();

    let parts = match structure(sig) {
        Ok(p) => p,
        Err(why) => {
            ev.errors
                .push(Finding::new("FC: XML-DSig structure", &object, &why));
            ev.integrity = Check::Failed {
                sub: SubIndication::FormatFailure,
                reason: why,
            };
            return ev;
        }
    };
    if !ctx.ids.duplicates.is_empty() {
        let why = format!(
            "Id values used by more than one element (signature wrapping?): {}",
            ctx.ids
                .duplicates
                .iter()
                .take(5)
                .map(|d| format!("{d:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        ev.errors
            .push(Finding::new("FC: XML-DSig structure", &object, &why));
        pr.format.push(why);
    }

    // References of SignedInfo.
    let results = check_references(ctx, sig, parts.key_info, &parts.references);
    for r in &results {
        match &r.outcome {
            Ok(p) if !p.matches => pr.hash.push(format!(
                "{}: the digest does not match ds:DigestValue",
                r.label()
            )),
            Ok(_) => {}
            Err(RefError::NotFound(m)) => pr.not_found.push(format!("{}: {m}", r.label())),
            Err(e) => {
                let why = format!("{}: {e}", r.label());
                ev.errors
                    .push(Finding::new("FC: XML-DSig reference", &object, &why));
                pr.format.push(why);
            }
        }
    }

    // XAdES qualifying properties.
    let props = find_props(&parts, sig, sig_id, &results, &object, &mut ev, &mut pr);

    let data_refs: Vec<&RefResult> = results
        .iter()
        .filter(|r| matches!(r.kind, Kind::Data | Kind::Manifest | Kind::CounterSigned))
        .collect();
    if data_refs.is_empty() {
        pr.not_found.push(
            "no reference points to signed data (only to signature properties or key info)".into(),
        );
    }

    // Manifests: their references are checked and reported, not part of core validation.
    let mut manifest_full = true;
    for r in results.iter().filter(|r| r.kind == Kind::Manifest) {
        let Some(m) = r.element else { continue };
        let nodes: Vec<Node> = element_children(m)
            .filter(|c| is_ds(c, "Reference"))
            .take(MAX_REFERENCES)
            .collect();
        let inner = check_references(ctx, sig, parts.key_info, &nodes);
        for ir in &inner {
            let line = match &ir.outcome {
                Ok(p) if p.matches => {
                    format!("manifest {}: {}: digest matches", describe(m), ir.label())
                }
                Ok(_) => {
                    manifest_full = false;
                    let w = format!("{}: the digest does not match ds:DigestValue", ir.label());
                    ev.warnings
                        .push(Finding::new("CV: manifest reference", &object, &w));
                    format!("manifest {}: {w}", describe(m))
                }
                Err(e) => {
                    manifest_full = false;
                    format!(
                        "manifest {}: {}: not checked ({e})",
                        describe(m),
                        ir.label()
                    )
                }
            };
            ev.notes.push(line);
        }
    }

    // Certificates and validation data.
    let mut pool: Vec<Cert> = Vec::new();
    let mut key_info_certs: Vec<Vec<u8>> = Vec::new();
    if let Some(ki) = parts.key_info {
        for (k, c) in ki
            .descendants()
            .filter(|n| is_ds(n, "X509Certificate"))
            .enumerate()
        {
            match encapsulated(c).map(Cert::parse) {
                Ok(Some(cert)) => {
                    key_info_certs.push(cert.der.clone());
                    pool.push(cert);
                }
                Ok(None) | Err(_) => {
                    let why = format!("ds:KeyInfo: X509Certificate #{} is corrupted", k + 1);
                    ev.errors
                        .push(Finding::new("FC: certificate values", &object, &why));
                }
            }
        }
    }
    let values = collect_values(props.usp);
    for why in &values.errors {
        ev.errors
            .push(Finding::new("FC: validation data", &object, why));
    }
    for (_, d) in &values.certs {
        if let Some(c) = Cert::parse(d.clone()) {
            pool.push(c);
        }
    }
    ev.certificates = pool.iter().map(|c| c.der.clone()).collect();
    ev.crls = values.crls.iter().map(|(_, d)| d.clone()).collect();
    ev.ocsps = values.ocsps.iter().map(|(_, d)| d.clone()).collect();

    // Signature value.
    let mut si_c14n = Vec::new();
    let si_ok = match c14n::canonicalize(
        ctx.doc,
        parts.signed_info,
        parts.c14n,
        None,
        &parts.prefixes,
        &mut si_c14n,
    ) {
        Ok(()) => true,
        Err(e) => {
            pr.format
                .push(format!("ds:SignedInfo cannot be canonicalized: {e}"));
            false
        }
    };
    let sig_bytes = match dsig::text_of(parts.signature_value).and_then(|t| dsig::b64_decode(&t)) {
        Ok(b) => Some(b),
        Err(e) => {
            let why = format!("ds:SignatureValue: {e}");
            ev.errors
                .push(Finding::new("FC: XML-DSig structure", &object, &why));
            pr.format.push(why);
            None
        }
    };
    let scheme = match Scheme::from_uri(parts.sig_method) {
        Ok(s) => Some(s),
        Err(e) => {
            pr.format.push(format!("{e}"));
            None
        }
    };
    let candidates = signer_candidates(parts.key_info, &pool, props.ssp);
    let mut verified = false;
    if let (true, Some(sig_bytes), Some(scheme)) = (si_ok, &sig_bytes, scheme) {
        let mut first_err = None;
        for &i in &candidates {
            let Some(c) = pool.get(i) else { continue };
            let Some(spki) = c.spki_der() else { continue };
            match crypto::verify(&spki, scheme, &si_c14n, sig_bytes) {
                Ok(algs) => {
                    ev.signer_cert = Some(c.der.clone());
                    ev.algorithms = algs;
                    verified = true;
                    break;
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if !verified {
            pr.crypto = Some(match (candidates.first(), first_err) {
                (None, _) => (
                    SubIndication::NoSigningCertificateFound,
                    "no certificate in ds:KeyInfo or CertificateValues to verify the signature value with"
                        .to_string(),
                ),
                (Some(_), Some(e)) => (
                    SubIndication::SigCryptoFailure,
                    format!("ds:SignatureValue does not verify: {e}"),
                ),
                (Some(_), None) => (
                    SubIndication::SigCryptoFailure,
                    "ds:SignatureValue does not verify".to_string(),
                ),
            });
        }
    }
    if !verified {
        // Identify the signer anyway: the one the signing-certificate reference names, else
        // the first candidate.
        let by_ref = candidates.iter().copied().find(|&i| {
            pool.get(i)
                .is_some_and(|c| cert_ref(props.ssp, c).0 == CertRef::Matches)
        });
        if let Some(c) = by_ref
            .or(candidates.first().copied())
            .and_then(|i| pool.get(i))
        {
            ev.signer_cert = Some(c.der.clone());
        }
        if let Some(s) = scheme {
            ev.algorithms.signature = Some(s.name().to_string());
            ev.algorithms.signature_digest = s.digest().map(|d| d.name().to_string());
        }
        if let Some(kind) = ev
            .signer_cert
            .as_deref()
            .and_then(|d| Cert::parse(d.to_vec()))
            .and_then(|c| c.spki_der())
            .and_then(|s| crypto::key_kind(&s).ok())
        {
            ev.algorithms.key_bits = Some(kind.bits());
        }
    }
    if let Some(alg) = data_refs.first().and_then(|r| r.spec.digest_alg()) {
        ev.algorithms.digest = Some(alg.name().to_string());
    }

    // Signed properties.
    let signer = ev
        .signer_cert
        .as_deref()
        .and_then(|d| Cert::parse(d.to_vec()));
    if let Some(ssp) = props.ssp {
        if let Some(st) = x_child(ssp, "SigningTime") {
            match dsig::parse_xsd_datetime(&text(st)) {
                Some(t) => ev.claimed_signing_time = Some(t),
                None => ev.errors.push(Finding::new(
                    "FC: XAdES",
                    &object,
                    "SigningTime is not an xsd:dateTime",
                )),
            }
        }
        if let Some(c) = &signer {
            let (r, warnings) = cert_ref(Some(ssp), c);
            ev.cert_ref = r;
            for w in warnings {
                ev.warnings.push(Finding::new(
                    "ISC: signing certificate reference",
                    &object,
                    w,
                ));
            }
        }
        policy(ssp, &mut ev);
        claimed_facts(ssp, props.sdop, &mut ev);
    }

    // Timestamps.
    let covered = Covered {
        doc: ctx.doc,
        parts: &parts,
        refs: &results,
        qp_object: props.qp.and_then(|q| q.parent()).map(|p| p.id()),
        key_info_certs: &key_info_certs,
        values: &values,
    };
    let mut ts_facts = TsFacts::default();
    read_timestamps(ctx, &covered, &props, &id, &mut ev, &mut ts_facts);
    for t in &ev.timestamps {
        ev.certificates.extend(t.certificates.iter().cloned());
    }

    // Level.
    let etsi = props.signed.is_some() && !data_refs.is_empty();
    let verdict = pr.verdict();
    ev.format = if etsi {
        level(&LevelFacts {
            intact: verdict.passed(),
            parts: &parts,
            props: &props,
            results: &results,
            signer_in_key_info: ev
                .signer_cert
                .as_ref()
                .is_some_and(|s| key_info_certs.contains(s)),
            ts: &ts_facts,
            lt_values: values.any_lt,
        })
    } else {
        "XML-NOT-ETSI".to_string()
    };

    ev.scope = scope(ctx.doc, sig, &data_refs, manifest_full, ctx.detached);
    ev.integrity = verdict;
    ev
}

#[allow(clippy::too_many_arguments)]
fn find_props<'a, 'i>(
    parts: &Parts<'a, 'i>,
    sig: Node<'a, 'i>,
    sig_id: Option<&str>,
    results: &[RefResult<'a, 'i>],
    object: &str,
    ev: &mut SignatureEvidence,
    pr: &mut Problems,
) -> Props<'a, 'i> {
    let qps: Vec<Node> = parts
        .objects
        .iter()
        .flat_map(|o| x_children(*o, "QualifyingProperties"))
        .collect();
    let mut props = Props {
        qp: None,
        signed: None,
        ssp: None,
        sdop: None,
        usp: None,
    };
    if qps.len() > 1 {
        let why = format!("{} xades:QualifyingProperties in one signature", qps.len());
        ev.errors.push(Finding::new("FC: XAdES", object, &why));
        pr.format.push(why);
        return props;
    }
    let Some(qp) = qps.first().copied() else {
        if parts.objects.iter().any(|o| {
            o.descendants()
                .any(|d| is_xades(&d, "QualifyingPropertiesReference"))
        }) {
            ev.warnings.push(Finding::new(
                "FC: XAdES",
                object,
                "QualifyingPropertiesReference (detached qualifying properties) is not supported",
            ));
        }
        return props;
    };
    props.qp = Some(qp);
    if let Some(t) = qp.attribute("Target") {
        let ok = sig_id.is_some_and(|id| t.strip_prefix('#') == Some(id));
        if !ok {
            let why = format!(
                "QualifyingProperties Target {t:?} does not name this ds:Signature (Id {sig_id:?})"
            );
            ev.errors.push(Finding::new("FC: XAdES", object, &why));
            pr.format.push(why);
        }
    }
    props.usp =
        x_child(qp, "UnsignedProperties").and_then(|u| x_child(u, "UnsignedSignatureProperties"));
    let sp = x_child(qp, "SignedProperties");
    let sp_refs: Vec<&RefResult> = results
        .iter()
        .filter(|r| r.kind == Kind::SignedProperties)
        .collect();
    for r in &sp_refs {
        let el = r.element;
        let is_sp = el.is_some_and(|e| is_xades(&e, "SignedProperties"));
        if !is_sp {
            let why = format!(
                "{} has Type SignedProperties but does not point to a xades:SignedProperties",
                r.label()
            );
            ev.errors.push(Finding::new("FC: XAdES", object, &why));
            pr.format.push(why);
            continue;
        }
        if el.map(|e| e.id()) != sp.map(|s| s.id()) {
            let why = format!(
                "{} points to a SignedProperties outside this signature's QualifyingProperties (signature wrapping?)",
                r.label()
            );
            ev.errors.push(Finding::new("FC: XAdES", object, &why));
            pr.format.push(why);
            continue;
        }
        if r.spec.ty != Some(XADES_SIGNED_PROPERTIES_TYPE) {
            let why = format!(
                "{} to SignedProperties has Type {:?}, expected {XADES_SIGNED_PROPERTIES_TYPE}",
                r.label(),
                r.spec.ty
            );
            ev.errors.push(Finding::new("FC: XAdES", object, &why));
            pr.format.push(why);
            continue;
        }
        props.signed = el;
    }
    if sp_refs.len() > 1 {
        let why = "more than one reference to SignedProperties".to_string();
        ev.errors.push(Finding::new("FC: XAdES", object, &why));
        pr.format.push(why);
    }
    if sp.is_some() && props.signed.is_none() && sp_refs.is_empty() {
        ev.warnings.push(Finding::new(
            "FC: XAdES",
            object,
            "xades:SignedProperties is not referenced by ds:SignedInfo: its properties are ignored",
        ));
    }
    if let Some(s) = props.signed {
        props.ssp = x_child(s, "SignedSignatureProperties");
        props.sdop = x_child(s, "SignedDataObjectProperties");
    }
    let _ = sig;
    props
}

/// Indices into `pool` of the certificates that may have produced the signature, best
/// first: `ds:KeyInfo` certificates, then certificates `ds:KeyInfo` points to (issuer and
/// serial, SKI, digest), then — when `ds:KeyInfo` names none — those matching the
/// signing-certificate reference.
fn signer_candidates(key_info: Option<Node>, pool: &[Cert], ssp: Option<Node>) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    let push = |i: usize, out: &mut Vec<usize>| {
        if !out.contains(&i) {
            out.push(i);
        }
    };
    if let Some(ki) = key_info {
        for n in ki.descendants().filter(|n| n.is_element()) {
            if is_ds(&n, "X509Certificate") {
                if let Ok(d) = encapsulated(n)
                    && let Some(i) = pool.iter().position(|c| c.der == d)
                {
                    push(i, &mut out);
                }
            } else if is_ds(&n, "X509IssuerSerial") {
                let name = element_children(n).find(|c| is_ds(c, "X509IssuerName"));
                let serial = element_children(n).find(|c| is_ds(c, "X509SerialNumber"));
                if let (Some(name), Some(serial)) = (name, serial) {
                    for (i, c) in pool.iter().enumerate() {
                        let (s_ok, n_ok) = certs::issuer_serial_v1(c, &text(name), &text(serial));
                        if s_ok && n_ok != Some(false) {
                            push(i, &mut out);
                        }
                    }
                }
            } else if is_ds(&n, "X509SKI") {
                if let Ok(ski) = dsig::b64_decode(&text(n)) {
                    for (i, c) in pool.iter().enumerate() {
                        if c.ski().as_deref() == Some(ski.as_slice()) {
                            push(i, &mut out);
                        }
                    }
                }
            } else if n.tag_name().name() == "X509Digest"
                && let (Some(alg), Ok(d)) = (
                    n.attribute("Algorithm").and_then(DigestAlg::from_uri),
                    dsig::b64_decode(&text(n)),
                )
            {
                for (i, c) in pool.iter().enumerate() {
                    if certs::digest_matches(c, alg, &d) {
                        push(i, &mut out);
                    }
                }
            }
        }
    }
    if out.is_empty() {
        for (i, c) in pool.iter().enumerate() {
            if cert_ref(ssp, c).0 == CertRef::Matches {
                push(i, &mut out);
            }
        }
    }
    out
}

/// Compares `SigningCertificate(V2)` of `ssp` with `cert`.
fn cert_ref(ssp: Option<Node>, cert: &Cert) -> (CertRef, Vec<String>) {
    let Some(ssp) = ssp else {
        return (CertRef::Absent, Vec::new());
    };
    let (sc, v2) = match x_child(ssp, "SigningCertificateV2") {
        Some(s) => (s, true),
        None => match x_child(ssp, "SigningCertificate") {
            Some(s) => (s, false),
            None => return (CertRef::Absent, Vec::new()),
        },
    };
    let mut warnings = Vec::new();
    for c in x_children(sc, "Cert") {
        let Some(cd) = x_child(c, "CertDigest") else {
            continue;
        };
        let alg = element_children(cd)
            .find(|n| is_ds(n, "DigestMethod"))
            .and_then(|n| n.attribute("Algorithm"))
            .and_then(DigestAlg::from_uri);
        let value = element_children(cd)
            .find(|n| is_ds(n, "DigestValue"))
            .and_then(|n| dsig::b64_decode(&text(n)).ok());
        let (Some(alg), Some(value)) = (alg, value) else {
            continue;
        };
        if !certs::digest_matches(cert, alg, &value) {
            continue;
        }
        if v2 {
            if let Some(isv2) = x_child(c, "IssuerSerialV2") {
                match dsig::b64_decode(&text(isv2))
                    .ok()
                    .and_then(|d| certs::issuer_serial_v2(cert, &d))
                {
                    Some(true) => {}
                    Some(false) => {
                        warnings.push(
                            "IssuerSerialV2 does not name the signing certificate".to_string(),
                        );
                        return (CertRef::Mismatch, warnings);
                    }
                    None => {
                        warnings.push("IssuerSerialV2 does not decode".to_string());
                        return (CertRef::Mismatch, warnings);
                    }
                }
            }
        } else if let Some(is) = x_child(c, "IssuerSerial") {
            let name = element_children(is).find(|n| is_ds(n, "X509IssuerName"));
            let serial = element_children(is).find(|n| is_ds(n, "X509SerialNumber"));
            let (s_ok, n_ok) = match (name, serial) {
                (Some(n), Some(s)) => certs::issuer_serial_v1(cert, &text(n), &text(s)),
                _ => (false, None),
            };
            if !s_ok {
                warnings.push(
                    "IssuerSerial serial number does not match the signing certificate".into(),
                );
                return (CertRef::Mismatch, warnings);
            }
            match n_ok {
                Some(true) => {}
                Some(false) => warnings.push(format!(
                    "IssuerSerial issuer name differs from the certificate issuer {}",
                    cert.parsed.tbs_certificate.issuer
                )),
                None => warnings.push("IssuerSerial issuer name could not be compared".into()),
            }
        }
        return (CertRef::Matches, warnings);
    }
    warnings.push(format!(
        "no Cert of SigningCertificate{} has the digest of {}",
        if v2 { "V2" } else { "" },
        cert.subject()
    ));
    (CertRef::Mismatch, warnings)
}

fn policy(ssp: Node, ev: &mut SignatureEvidence) {
    let Some(spi) = x_child(ssp, "SignaturePolicyIdentifier") else {
        return;
    };
    if x_child(spi, "SignaturePolicyImplied").is_some() {
        ev.notes.push("signature policy: implied".into());
        return;
    }
    let Some(spid) = x_child(spi, "SignaturePolicyId") else {
        return;
    };
    if let Some(ident) = x_child(spid, "SigPolicyId").and_then(|s| x_child(s, "Identifier")) {
        let t = text(ident);
        let id = t
            .strip_prefix("urn:oid:")
            .or_else(|| t.strip_prefix("URN:OID:"))
            .unwrap_or(&t)
            .to_string();
        ev.policy_id = Some(id);
    }
    for q in spid.descendants().filter(|n| is_xades(n, "SPURI")).take(8) {
        ev.notes.push(format!("signature policy URL: {}", text(q)));
    }
}

fn claimed_facts(ssp: Node, sdop: Option<Node>, ev: &mut SignatureEvidence) {
    for role in ssp
        .descendants()
        .filter(|n| is_xades(n, "ClaimedRole"))
        .take(16)
    {
        ev.notes.push(format!("claimed role: {}", text(role)));
    }
    for place in ["SignatureProductionPlace", "SignatureProductionPlaceV2"] {
        if let Some(p) = x_child(ssp, place) {
            let parts: Vec<String> = element_children(p)
                .map(text)
                .filter(|t| !t.is_empty())
                .collect();
            ev.notes
                .push(format!("signature production place: {}", parts.join(", ")));
        }
    }
    let Some(sdop) = sdop else { return };
    for dof in x_children(sdop, "DataObjectFormat").take(64) {
        let r = dof.attribute("ObjectReference").unwrap_or("?");
        let mime = x_child(dof, "MimeType").map(text);
        let desc = x_child(dof, "Description").map(text);
        ev.notes.push(format!(
            "data object {r}: {}{}",
            mime.as_deref().unwrap_or("no MIME type"),
            desc.map(|d| format!(" ({d})")).unwrap_or_default()
        ));
    }
    for cti in x_children(sdop, "CommitmentTypeIndication").take(16) {
        if let Some(i) = x_child(cti, "CommitmentTypeId").and_then(|c| x_child(c, "Identifier")) {
            ev.notes.push(format!("commitment type: {}", text(i)));
        }
    }
}

/// What the timestamps of a signature cover.
struct Covered<'x, 'a, 'i> {
    doc: &'a Document<'i>,
    parts: &'x Parts<'a, 'i>,
    refs: &'x [RefResult<'a, 'i>],
    qp_object: Option<NodeId>,
    key_info_certs: &'x [Vec<u8>],
    values: &'x Values,
}

impl Covered<'_, '_, '_> {
    fn c14n(&self, n: Node, m: C14nMethod, p: &[&str], out: &mut Vec<u8>) -> Result<(), String> {
        c14n::canonicalize(self.doc, n, m, None, p, out).map_err(|e| e.to_string())
    }

    /// Octets of each reference, re-canonicalizing node-set results with `m` (archive
    /// timestamps) when given.
    fn ref_octets(
        &self,
        which: impl Fn(&RefResult) -> bool,
        m: Option<(C14nMethod, &[&str])>,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        for r in self.refs.iter().filter(|r| which(r)) {
            let p = r
                .outcome
                .as_ref()
                .map_err(|e| format!("{}: {e}", r.label()))?;
            match (&p.implicit, m) {
                (Some((apex, exclude)), Some((method, prefixes))) => {
                    let apex = self
                        .doc
                        .get_node(*apex)
                        .ok_or_else(|| "node vanished".to_string())?;
                    c14n::canonicalize_excluding(self.doc, apex, method, exclude, prefixes, out)
                        .map_err(|e| e.to_string())?;
                }
                _ => out.extend_from_slice(&p.octets),
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct TsFacts {
    /// Per `SignatureTimeStamp`: (number of tokens, number whose imprint matched).
    signature: Vec<(usize, usize)>,
    /// An archive timestamp with a matching imprint.
    archive_ok: bool,
    /// A xades v1.3.2 `ArchiveTimeStamp` is present.
    archive_132: bool,
    /// `CompleteCertificateRefs(V2)` / `CompleteRevocationRefs` present.
    c_refs: bool,
    /// `SigAndRefsTimeStamp(V2)` / `RefsOnlyTimeStamp(V2)` present.
    x_ts: bool,
    /// `SignaturePolicyStore` count.
    policy_store: usize,
}

const SIG_AND_REFS: &[&str] = &[
    "SignatureTimeStamp",
    "CompleteCertificateRefs",
    "CompleteCertificateRefsV2",
    "CompleteRevocationRefs",
    "AttributeCertificateRefs",
    "AttributeCertificateRefsV2",
    "AttributeRevocationRefs",
];

fn read_timestamps(
    ctx: &DocCtx,
    cov: &Covered,
    props: &Props,
    sig_id: &str,
    ev: &mut SignatureEvidence,
    facts: &mut TsFacts,
) {
    let object = format!("signature {sig_id}");
    // (element, kind) in document order: signed content timestamps, then unsigned ones.
    let mut items: Vec<(Node, TimestampKind)> = Vec::new();
    if let Some(sdop) = props.sdop {
        for c in element_children(sdop) {
            if is_xades(&c, "AllDataObjectsTimeStamp")
                || is_xades(&c, "IndividualDataObjectsTimeStamp")
            {
                items.push((c, TimestampKind::Content));
            }
        }
    }
    let usp_children: Vec<Node> = props
        .usp
        .map(|u| element_children(u).collect())
        .unwrap_or_default();
    for c in &usp_children {
        let name = c.tag_name().name();
        if !c
            .tag_name()
            .namespace()
            .is_some_and(|ns| ns.starts_with(XADES_NS_PREFIX))
        {
            continue;
        }
        match name {
            "SignatureTimeStamp" => items.push((*c, TimestampKind::Signature)),
            "SigAndRefsTimeStamp" | "SigAndRefsTimeStampV2" => {
                facts.x_ts = true;
                items.push((*c, TimestampKind::ValidationData));
            }
            // Covers the references only (EN 319 132-1 §5.5.2): no proof of existence of
            // the signature itself.
            "RefsOnlyTimeStamp" | "RefsOnlyTimeStampV2" => {
                facts.x_ts = true;
                items.push((*c, TimestampKind::RefsOnly));
            }
            "ArchiveTimeStamp" => {
                if c.tag_name().namespace() == Some(XADES_132) {
                    facts.archive_132 = true;
                }
                items.push((*c, TimestampKind::Archive));
            }
            "CompleteCertificateRefs" | "CompleteCertificateRefsV2" | "CompleteRevocationRefs" => {
                facts.c_refs = true;
            }
            "SignaturePolicyStore" => facts.policy_store += 1,
            _ => {}
        }
    }
    let mut n_tokens = 0usize;
    for (el, kind) in items {
        let method_el = element_children(el).find(|n| is_ds(n, "CanonicalizationMethod"));
        let (method, prefixes) = match method_el {
            None => (C14nMethod::Inclusive, Vec::new()),
            Some(m) => {
                let uri = m.attribute("Algorithm").unwrap_or("");
                match C14nMethod::from_uri(uri) {
                    Some(c) if c.is_exclusive() => {
                        (c, dsig::inclusive_prefixes(m).unwrap_or_default())
                    }
                    Some(c) => (c, Vec::new()),
                    None => {
                        ev.errors.push(Finding::new(
                            "FC: timestamp",
                            &object,
                            format!("{}: unsupported CanonicalizationMethod {uri}", describe(el)),
                        ));
                        continue;
                    }
                }
            }
        };
        let covered = covered_data(cov, el, kind, method, &prefixes, &usp_children);
        let covered = match covered {
            Ok(c) => c,
            Err(why) => {
                ev.errors.push(Finding::new(
                    "FC: timestamp",
                    &object,
                    format!("{}: covered data cannot be computed: {why}", describe(el)),
                ));
                Vec::new()
            }
        };
        let tokens: Vec<Node> = x_children(el, "EncapsulatedTimeStamp").collect();
        if x_child(el, "XMLTimeStamp").is_some() {
            ev.warnings.push(Finding::new(
                "FC: timestamp",
                &object,
                format!("{}: XMLTimeStamp is not supported", describe(el)),
            ));
        }
        let mut ok = 0usize;
        let base_id = el.attribute("Id").map(str::to_string);
        for (k, tok) in tokens.iter().enumerate() {
            n_tokens += 1;
            if n_tokens > MAX_TIMESTAMPS {
                ev.errors.push(Finding::new(
                    "FC: timestamp",
                    &object,
                    format!("more than {MAX_TIMESTAMPS} timestamps"),
                ));
                return;
            }
            let tid = match (&base_id, tokens.len()) {
                (Some(b), 1) => b.clone(),
                (Some(b), _) => tok
                    .attribute("Id")
                    .map_or_else(|| format!("{b}-{}", k + 1), str::to_string),
                (None, _) => format!("{sig_id}-TS-{n_tokens}"),
            };
            if tok
                .attribute("Encoding")
                .is_some_and(|e| !e.ends_with("#DER"))
            {
                ev.errors.push(Finding::new(
                    "FC: timestamp",
                    &object,
                    format!(
                        "{tid}: unsupported Encoding {:?}",
                        tok.attribute("Encoding")
                    ),
                ));
                continue;
            }
            let der = match encapsulated(*tok) {
                Ok(d) => d,
                Err(why) => {
                    ev.errors.push(Finding::new(
                        "FC: timestamp",
                        &object,
                        format!("{tid}: EncapsulatedTimeStamp is corrupted ({why})"),
                    ));
                    continue;
                }
            };
            let digest = |alg: DigestAlg| alg.digest(&covered);
            let mut te = (ctx.ts)(tid, kind, &der, &digest);
            if te.imprint.passed() {
                ok += 1;
                if kind == TimestampKind::Archive {
                    facts.archive_ok = true;
                }
            }
            if kind == TimestampKind::Archive {
                let before = usp_children
                    .iter()
                    .position(|c| c.id() == el.id())
                    .unwrap_or(0);
                te.covered_certificates = cov.key_info_certs.to_vec();
                te.covered_certificates.extend(
                    cov.values
                        .certs
                        .iter()
                        .filter(|(i, _)| *i < before)
                        .map(|(_, d)| d.clone()),
                );
                te.covered_crls = cov
                    .values
                    .crls
                    .iter()
                    .filter(|(i, _)| *i < before)
                    .map(|(_, d)| d.clone())
                    .collect();
                te.covered_ocsps = cov
                    .values
                    .ocsps
                    .iter()
                    .filter(|(i, _)| *i < before)
                    .map(|(_, d)| d.clone())
                    .collect();
            }
            ev.timestamps.push(te);
        }
        if kind == TimestampKind::Signature {
            facts.signature.push((tokens.len(), ok));
        }
    }
    let rank = |k: TimestampKind| match k {
        TimestampKind::Content => 0,
        TimestampKind::Signature => 1,
        TimestampKind::ValidationData | TimestampKind::RefsOnly => 2,
        TimestampKind::Archive | TimestampKind::Document => 3,
    };
    ev.timestamps.sort_by_key(|t| rank(t.kind));
}

/// The octets a timestamp of `kind` at `el` covers (EN 319 132-1 §5.2.8, §5.3, §5.5.2;
/// XAdES v1.3.2 §7.3–7.7).
fn covered_data(
    cov: &Covered,
    el: Node,
    kind: TimestampKind,
    m: C14nMethod,
    p: &[&str],
    usp_children: &[Node],
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let before: Vec<Node> = usp_children
        .iter()
        .take_while(|c| c.id() != el.id())
        .copied()
        .collect();
    let named = |names: &[&str]| -> Vec<Node> {
        before
            .iter()
            .filter(|c| {
                c.tag_name()
                    .namespace()
                    .is_some_and(|ns| ns.starts_with(XADES_NS_PREFIX))
                    && names.contains(&c.tag_name().name())
            })
            .copied()
            .collect()
    };
    match kind {
        TimestampKind::Signature => cov.c14n(cov.parts.signature_value, m, p, &mut out)?,
        TimestampKind::Content => {
            if is_xades(&el, "AllDataObjectsTimeStamp") {
                cov.ref_octets(|r| r.kind != Kind::SignedProperties, None, &mut out)?;
            } else {
                let wanted: Vec<&str> = x_children(el, "Include")
                    .filter_map(|i| i.attribute("URI"))
                    .filter_map(|u| u.strip_prefix('#'))
                    .collect();
                if wanted.is_empty() {
                    return Err("IndividualDataObjectsTimeStamp without Include".into());
                }
                for w in &wanted {
                    if !cov.refs.iter().any(|r| r.spec.id == Some(*w)) {
                        return Err(format!("Include #{w} names no ds:Reference"));
                    }
                }
                cov.ref_octets(
                    |r| r.spec.id.is_some_and(|i| wanted.contains(&i)),
                    None,
                    &mut out,
                )?;
            }
        }
        TimestampKind::ValidationData | TimestampKind::RefsOnly => {
            let refs_only = el.tag_name().name().starts_with("RefsOnly");
            if !refs_only {
                cov.c14n(cov.parts.signature_value, m, p, &mut out)?;
            }
            let names = if refs_only {
                SIG_AND_REFS.get(1..).unwrap_or_default()
            } else {
                SIG_AND_REFS
            };
            for n in named(names) {
                cov.c14n(n, m, p, &mut out)?;
            }
        }
        TimestampKind::Archive | TimestampKind::Document => {
            cov.ref_octets(|_| true, Some((m, p)), &mut out)?;
            cov.c14n(cov.parts.signed_info, m, p, &mut out)?;
            cov.c14n(cov.parts.signature_value, m, p, &mut out)?;
            if let Some(ki) = cov.parts.key_info {
                cov.c14n(ki, m, p, &mut out)?;
            }
            for n in &before {
                cov.c14n(*n, m, p, &mut out)?;
            }
            // v1.4.1 / EN 319 132-1: every ds:Object but the one holding the qualifying
            // properties; v1.3.2: only those no reference of SignedInfo points to.
            let v141 = el.tag_name().namespace() == Some(XADES_141);
            for o in &cov.parts.objects {
                if Some(o.id()) == cov.qp_object {
                    continue;
                }
                let referenced = cov.refs.iter().any(|r| {
                    matches!(r.outcome.as_ref().map(|p| p.target), Ok(Target::Element(e)) if e.id() == o.id())
                });
                if v141 || !referenced {
                    cov.c14n(*o, m, p, &mut out)?;
                }
            }
        }
    }
    Ok(out)
}

struct LevelFacts<'x, 'a, 'i> {
    /// Integrity passed.
    intact: bool,
    parts: &'x Parts<'a, 'i>,
    props: &'x Props<'a, 'i>,
    results: &'x [RefResult<'a, 'i>],
    signer_in_key_info: bool,
    ts: &'x TsFacts,
    lt_values: bool,
}

/// DataObjectFormat rules of EN 319 132-1 §5.2.4 and the baseline's §6.3 (MimeType once,
/// ObjectReference naming a reference of SignedInfo or of a signed Manifest).
fn dof_ok(dof: Node, f: &LevelFacts) -> bool {
    let Some(r) = dof
        .attribute("ObjectReference")
        .and_then(|r| r.strip_prefix('#'))
    else {
        return false;
    };
    let in_si = f.results.iter().any(|x| x.spec.id == Some(r));
    let in_manifest = f
        .results
        .iter()
        .filter(|x| x.kind == Kind::Manifest)
        .any(|x| {
            x.element.is_some_and(|m| {
                element_children(m).any(|c| is_ds(&c, "Reference") && c.attribute("Id") == Some(r))
            })
        });
    (in_si || in_manifest)
        && count(Some(dof), "MimeType") == 1
        && count(Some(dof), "Description") <= 1
        && count(Some(dof), "ObjectIdentifier") <= 1
        && count(Some(dof), "Encoding") <= 1
}

fn baseline_b(f: &LevelFacts) -> bool {
    let ssp = f.props.ssp;
    let sdop = f.props.sdop;
    let signing_certs = count(ssp, "SigningCertificate") + count(ssp, "SigningCertificateV2");
    let v2_uri = ssp
        .and_then(|s| x_child(s, "SigningCertificateV2"))
        .is_some_and(|s| x_children(s, "Cert").any(|c| c.attribute("URI").is_some()));
    let dofs: Vec<Node> = sdop
        .map(|s| x_children(s, "DataObjectFormat").collect())
        .unwrap_or_default();
    let every_data_ref_described = f
        .results
        .iter()
        .filter(|r| r.kind == Kind::Data)
        .filter_map(|r| r.spec.id)
        .all(|id| {
            dofs.iter().any(|d| {
                d.attribute("ObjectReference")
                    .and_then(|o| o.strip_prefix('#'))
                    == Some(id)
            })
        });
    f.parts.key_info.is_some()
        && f.parts.references.len() >= 2
        && count(ssp, "SigningTime") == 1
        && signing_certs == 1
        && !v2_uri
        && dofs.iter().all(|d| dof_ok(*d, f))
        && every_data_ref_described
        && count(ssp, "SignerRole") + count(ssp, "SignerRoleV2") <= 1
        && count(ssp, "SignatureProductionPlace") + count(ssp, "SignatureProductionPlaceV2") <= 1
        && count(ssp, "SignaturePolicyIdentifier") <= 1
        && f.ts.policy_store <= 1
        && !f.ts.archive_132
        && f.signer_in_key_info
}

/// The level ETSI names for the signature. Only what is authentic counts: timestamps
/// whose imprint matched, and — when the signature is not intact (a reference digest,
/// e.g. of `SignedProperties`, or the signature value fails) — no baseline and no
/// timestamp-based form is claimed: the form is named from the properties present
/// (`XAdES-BES` / `XAdES-EPES`). (EU DSS names the structural level regardless.)
fn level(f: &LevelFacts) -> String {
    let ssp = f.props.ssp;
    let b = f.intact && baseline_b(f);
    let t = f.intact && f.ts.signature.iter().any(|(_, ok)| *ok > 0);
    if !t {
        return if b {
            "XAdES-BASELINE-B"
        } else if count(ssp, "SignaturePolicyIdentifier") == 1 {
            "XAdES-EPES"
        } else {
            "XAdES-BES"
        }
        .into();
    }
    let baseline_t = b && f.ts.signature.iter().all(|(n, _)| *n == 1);
    let c = f.ts.c_refs;
    let x = f.ts.x_ts;
    if baseline_t && f.lt_values && !c && !x {
        return if f.ts.archive_ok {
            "XAdES-BASELINE-LTA"
        } else {
            "XAdES-BASELINE-LT"
        }
        .into();
    }
    if c {
        return if x && f.lt_values {
            if f.ts.archive_ok {
                "XAdES-A"
            } else {
                "XAdES-X-L"
            }
        } else if x {
            "XAdES-X"
        } else {
            "XAdES-C"
        }
        .into();
    }
    if f.lt_values && f.ts.archive_ok {
        return "XAdES-A".into();
    }
    if baseline_t {
        "XAdES-BASELINE-T"
    } else {
        "XAdES-T"
    }
    .into()
}

fn scope(
    doc: &Document,
    sig: Node,
    data_refs: &[&RefResult],
    manifest_full: bool,
    detached: Option<(&str, &[u8])>,
) -> Scope {
    let mut full = !data_refs.is_empty();
    let mut parts = Vec::new();
    for r in data_refs {
        let p = match &r.outcome {
            Ok(p) if p.matches => p,
            _ => {
                full = false;
                parts.push(format!("{}: not verified", r.label()));
                continue;
            }
        };
        let others = p.excluded.iter().filter(|x| **x != sig.id()).count();
        let d = match (p.target, r.kind) {
            (Target::Element(e), Kind::Manifest) => {
                full &= manifest_full;
                format!(
                    "manifest {}{}",
                    describe(e),
                    if manifest_full {
                        " (every entry verified)"
                    } else {
                        " (not every entry verified)"
                    }
                )
            }
            (Target::Document, _) => {
                if others > 0 {
                    format!(
                        "whole document without {} ds:Signature element(s)",
                        others + usize::from(p.excluded.contains(&sig.id()))
                    )
                } else if p.excluded.contains(&sig.id()) {
                    "whole document (without the enveloped signature)".to_string()
                } else {
                    "whole document".to_string()
                }
            }
            (Target::Element(e), _) => {
                let own_object =
                    is_ds(&e, "Object") && e.parent().map(|x| x.id()) == Some(sig.id());
                let root = e.id() == doc.root_element().id();
                if own_object {
                    format!("enveloped object {}", describe(e))
                } else if root {
                    "whole document (document element)".to_string()
                } else {
                    full = false;
                    format!("element {} only", describe(e))
                }
            }
            (Target::Detached, _) => match detached {
                Some((name, bytes)) => format!("detached file {name:?} ({} bytes)", bytes.len()),
                None => "detached data".to_string(),
            },
        };
        parts.push(d);
    }
    Scope {
        full,
        description: if parts.is_empty() {
            "no signed data".into()
        } else {
            parts.join("; ")
        },
    }
}
