//! XML-DSig reference processing for XAdES: `Id` resolution, the transform chain and the
//! digest of one `ds:Reference` (of `ds:SignedInfo` or of a `ds:Manifest`).
//!
//! Owns: turning a `ds:Reference` into the octets it digests and comparing them with
//! `ds:DigestValue`. Supported: same-document URIs (`""` and `#id`, resolved to exactly one
//! element), detached files, the enveloped-signature transform, the XPath transform
//! `not(ancestor-or-self::ds:Signature)` and XPath-Filter2 `subtract` of every (or the
//! enclosing) `ds:Signature`, base64, and every canonicalization of `crate::trust::c14n`.
//! Anything else is refused with a reason.
//! Must not touch: canonicalization internals (`crate::trust::c14n`), signature values,
//! keys or XAdES semantics (`super`).

use std::collections::HashMap;

use roxmltree::{Document, Node, NodeId};

use crate::trust::c14n::{self, C14nMethod};
use crate::trust::xmldsig::{
    self as dsig, DSIG_NS, ENVELOPED_SIGNATURE, algorithm_attr, element_children, is_ds,
};
use crate::validation::crypto::DigestAlg;

/// The base64 transform.
pub(super) const BASE64: &str = "http://www.w3.org/2000/09/xmldsig#base64";
/// The XPath 1.0 transform.
pub(super) const XPATH: &str = "http://www.w3.org/TR/1999/REC-xpath-19991116";
/// XPath Filter 2.0.
pub(super) const XPATH_FILTER2: &str = "http://www.w3.org/2002/06/xmldsig-filter2";

/// At most this many `ds:Signature` elements are excluded by one XPath transform (the
/// exclusion test is linear in it).
const MAX_EXCLUDED: usize = 64;
/// At most this many transforms per reference.
const MAX_TRANSFORMS: usize = 16;

/// Every `Id`-like attribute (`Id`, `ID`, `id`, `xml:id`) of the document.
pub(super) struct Ids<'a, 'i> {
    map: HashMap<&'a str, Vec<Node<'a, 'i>>>,
    /// Id values carried by more than one element (sorted, deduplicated).
    pub duplicates: Vec<String>,
}

impl<'a, 'i> Ids<'a, 'i> {
    pub(super) fn build(doc: &'a Document<'i>) -> Self {
        const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
        let mut map: HashMap<&'a str, Vec<Node<'a, 'i>>> = HashMap::new();
        for n in doc.descendants().filter(|n| n.is_element()) {
            for a in n.attributes() {
                let id_like = match a.namespace() {
                    None => matches!(a.name(), "Id" | "ID" | "id"),
                    Some(ns) => ns == XML_NS && a.name() == "id",
                };
                if !id_like {
                    continue;
                }
                let v = map.entry(a.value()).or_default();
                if !v.iter().any(|x| x.id() == n.id()) {
                    v.push(n);
                }
            }
        }
        let mut duplicates: Vec<String> = map
            .iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(k, _)| (*k).to_string())
            .collect();
        duplicates.sort();
        Ids { map, duplicates }
    }

    /// The one element carrying `id`.
    pub(super) fn resolve(&self, id: &str) -> Result<Node<'a, 'i>, RefError> {
        match self.map.get(id).map(Vec::as_slice) {
            None | Some([]) => Err(RefError::NotFound(format!("no element has Id {id:?}"))),
            Some([one]) => Ok(*one),
            Some(many) => Err(RefError::Malformed(format!(
                "Id {id:?} is carried by {} elements (signature wrapping?)",
                many.len()
            ))),
        }
    }
}

/// Why a reference could not be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RefError {
    /// The referenced data is not available (`SIGNED_DATA_NOT_FOUND`).
    NotFound(String),
    /// A transform, URI form or digest algorithm that is not supported.
    Unsupported(String),
    /// Structurally invalid reference (`FORMAT_FAILURE`).
    Malformed(String),
}

impl std::fmt::Display for RefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefError::NotFound(m) => write!(f, "referenced data not found: {m}"),
            RefError::Unsupported(m) => write!(f, "unsupported: {m}"),
            RefError::Malformed(m) => write!(f, "malformed reference: {m}"),
        }
    }
}

/// One parsed `ds:Reference`.
pub(super) struct RefSpec<'a, 'i> {
    pub id: Option<&'a str>,
    pub uri: Option<&'a str>,
    pub ty: Option<&'a str>,
    transforms: Vec<Node<'a, 'i>>,
    digest_uri: &'a str,
    digest_value: Result<Vec<u8>, String>,
}

impl<'a, 'i> RefSpec<'a, 'i> {
    /// Parses `ds:Reference` = `Transforms?, DigestMethod, DigestValue`.
    pub(super) fn parse(r: Node<'a, 'i>) -> Result<Self, RefError> {
        let m = |e: dsig::DsigError| RefError::Malformed(e.to_string());
        let mut it = element_children(r).peekable();
        let transforms = match it.peek() {
            Some(n) if is_ds(n, "Transforms") => it.next(),
            _ => None,
        };
        let dm = dsig::expect_ds(&mut it, "DigestMethod", "ds:Reference").map_err(m)?;
        let digest_uri = algorithm_attr(dm).map_err(m)?;
        let dv = dsig::expect_ds(&mut it, "DigestValue", "ds:Reference").map_err(m)?;
        if it.next().is_some() {
            return Err(RefError::Malformed(
                "unexpected element after ds:DigestValue".into(),
            ));
        }
        let digest_value = dsig::text_of(dv)
            .and_then(|t| dsig::b64_decode(&t))
            .map_err(|e| format!("ds:DigestValue is not valid base64 ({e})"));
        let mut tr = Vec::new();
        if let Some(t) = transforms {
            for c in element_children(t) {
                if !is_ds(&c, "Transform") {
                    return Err(RefError::Malformed(
                        "non-Transform element in ds:Transforms".into(),
                    ));
                }
                tr.push(c);
            }
        }
        if tr.len() > MAX_TRANSFORMS {
            return Err(RefError::Unsupported(format!(
                "{} transforms (at most {MAX_TRANSFORMS})",
                tr.len()
            )));
        }
        Ok(RefSpec {
            id: r.attribute("Id"),
            uri: r.attribute("URI"),
            ty: r.attribute("Type"),
            transforms: tr,
            digest_uri,
            digest_value,
        })
    }

    /// A stand-in for a reference that did not parse (for labels only).
    pub(super) fn unparsed(node: Node<'a, 'i>) -> Self {
        RefSpec {
            id: node.attribute("Id"),
            uri: node.attribute("URI"),
            ty: node.attribute("Type"),
            transforms: Vec::new(),
            digest_uri: "",
            digest_value: Err(String::new()),
        }
    }

    /// The `#id` this reference points to, if it is a same-document `#id` URI.
    pub(super) fn fragment(&self) -> Option<&'a str> {
        self.uri.and_then(|u| u.strip_prefix('#'))
    }

    /// The digest algorithm, if known.
    pub(super) fn digest_alg(&self) -> Option<DigestAlg> {
        DigestAlg::from_uri(self.digest_uri)
    }
}

/// What a reference points at.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target<'a, 'i> {
    /// `URI=""`: the whole document.
    Document,
    /// `#id`: this element.
    Element(Node<'a, 'i>),
    /// A detached file (index into the detached list: always 0 here).
    Detached,
}

/// A processed reference.
pub(super) struct Processed<'a, 'i> {
    pub target: Target<'a, 'i>,
    /// The octets that were digested.
    pub octets: Vec<u8>,
    /// When the transform chain ended with a node-set (implicit C14N 1.0): its apex and
    /// excluded subtrees, so an archive timestamp can canonicalize it with its own method.
    pub implicit: Option<(NodeId, Vec<NodeId>)>,
    /// Subtrees the transforms removed (enveloped signature, XPath filters).
    pub excluded: Vec<NodeId>,
    /// Whether the recomputed digest equals `ds:DigestValue`.
    pub matches: bool,
}

/// The detached document given by the caller, and whether it may stand in for an
/// external reference whose URI does not name it.
#[derive(Clone, Copy)]
pub(super) struct Detached<'d> {
    pub name: &'d str,
    pub bytes: &'d [u8],
    pub only_candidate: bool,
}

/// Context shared by the references of one signature.
pub(super) struct RefCtx<'c, 'a, 'i> {
    pub doc: &'a Document<'i>,
    pub ids: &'c Ids<'a, 'i>,
    pub sig: Node<'a, 'i>,
    pub detached: Option<Detached<'c>>,
}

enum Data<'a, 'i> {
    Nodes {
        apex: Node<'a, 'i>,
        exclude: Vec<NodeId>,
    },
    Octets(Vec<u8>),
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = b.get(i + 1..i + 3)
            && let Ok(hs) = std::str::from_utf8(h)
            && let Ok(v) = u8::from_str_radix(hs, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn last_segment(s: &str) -> &str {
    s.rsplit(['/', '\\']).next().unwrap_or(s)
}

/// Whether the external URI names the detached file `name`.
pub(super) fn names_file(uri: &str, name: &str) -> bool {
    let u = percent_decode(uri);
    u == name || (!name.is_empty() && last_segment(&u) == last_segment(name))
}

/// Every `ds:Signature` element of the document (bounded).
fn all_signatures(doc: &Document) -> Result<Vec<NodeId>, RefError> {
    let v: Vec<NodeId> = doc
        .descendants()
        .filter(|n| is_ds(n, "Signature"))
        .take(MAX_EXCLUDED + 1)
        .map(|n| n.id())
        .collect();
    if v.len() > MAX_EXCLUDED {
        return Err(RefError::Unsupported(format!(
            "more than {MAX_EXCLUDED} ds:Signature elements to filter out"
        )));
    }
    Ok(v)
}

/// Every `Signature` element whose qualified name as written is `qname` (bounded).
fn by_qname(doc: &Document, qname: &str) -> Result<Vec<NodeId>, RefError> {
    let (prefix, _) = qname.split_once(':').unwrap_or(("", qname));
    let text = doc.input_text();
    let v: Vec<NodeId> = doc
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "Signature")
        .filter(|n| c14n::element_prefix(text, *n).is_ok_and(|p| p == prefix))
        .take(MAX_EXCLUDED + 1)
        .map(|n| n.id())
        .collect();
    if v.len() > MAX_EXCLUDED {
        return Err(RefError::Unsupported(format!(
            "more than {MAX_EXCLUDED} elements to filter out"
        )));
    }
    Ok(v)
}

/// `P:Signature` where prefix `P` is bound to the XML-DSig namespace at `ctx`.
fn is_dsig_qname(ctx: Node, qname: &str) -> bool {
    match qname.split_once(':') {
        Some((p, "Signature")) => ctx.lookup_namespace_uri(Some(p)) == Some(DSIG_NS),
        _ => false,
    }
}

fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// What an XPath-type transform removes.
enum Filter {
    AllSignatures,
    ThisSignature,
    /// Every element whose qualified name, as written, is this (`name()='ds:Signature'`).
    QName(String),
}

fn xpath_filter(tr: Node, alg: &str) -> Result<Filter, RefError> {
    if alg == XPATH {
        let mut xs = element_children(tr);
        let (Some(x), None) = (xs.next(), xs.next()) else {
            return Err(RefError::Malformed(
                "XPath transform needs exactly one ds:XPath".into(),
            ));
        };
        if !is_ds(&x, "XPath") {
            return Err(RefError::Malformed(
                "XPath transform without ds:XPath".into(),
            ));
        }
        let expr = compact(&dsig::text_of(x).map_err(|e| RefError::Malformed(e.to_string()))?);
        if let Some(inner) = expr
            .strip_prefix("not(ancestor-or-self::")
            .and_then(|r| r.strip_suffix(')'))
            && is_dsig_qname(x, inner)
        {
            return Ok(Filter::AllSignatures);
        }
        return Err(RefError::Unsupported(format!(
            "XPath transform {expr:?} (only not(ancestor-or-self::ds:Signature) is supported)"
        )));
    }
    // XPath Filter 2.0: exactly one subtract filter.
    let mut xs = element_children(tr);
    let (Some(x), None) = (xs.next(), xs.next()) else {
        return Err(RefError::Unsupported(
            "XPath-Filter2 with other than one XPath".into(),
        ));
    };
    if x.tag_name().namespace() != Some(XPATH_FILTER2) || x.tag_name().name() != "XPath" {
        return Err(RefError::Malformed(
            "XPath-Filter2 transform without dsig-xpath:XPath".into(),
        ));
    }
    if x.attribute("Filter") != Some("subtract") {
        return Err(RefError::Unsupported(format!(
            "XPath-Filter2 Filter={:?} (only subtract is supported)",
            x.attribute("Filter")
        )));
    }
    let expr = compact(&dsig::text_of(x).map_err(|e| RefError::Malformed(e.to_string()))?);
    if let Some(q) = expr
        .strip_prefix("/descendant::")
        .or_else(|| expr.strip_prefix("//"))
        && is_dsig_qname(x, q)
    {
        return Ok(Filter::AllSignatures);
    }
    if let Some(q) = expr
        .strip_prefix("/descendant::*[name()='")
        .or_else(|| expr.strip_prefix("//*[name()='"))
        .and_then(|r| r.strip_suffix("']"))
        && (q == "Signature"
            || q.strip_suffix(":Signature")
                .is_some_and(|p| !p.contains(':')))
    {
        return Ok(Filter::QName(q.to_string()));
    }
    if let Some(q) = expr
        .strip_prefix("here()/ancestor::")
        .and_then(|r| r.strip_suffix("[1]"))
        && is_dsig_qname(x, q)
    {
        return Ok(Filter::ThisSignature);
    }
    Err(RefError::Unsupported(format!(
        "XPath-Filter2 expression {expr:?}"
    )))
}

/// The XPath string-value of a node-set given by an apex (text of every descendant).
fn string_value(apex: Node) -> String {
    apex.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

fn b64(text: &str) -> Result<Vec<u8>, RefError> {
    dsig::b64_decode(text).map_err(|e| RefError::Malformed(format!("base64 transform: {e}")))
}

fn c14n_err(e: c14n::C14nError) -> RefError {
    RefError::Unsupported(format!("canonicalization: {e}"))
}

/// Canonicalizes detached octets as an XML document.
fn c14n_octets(bytes: &[u8], method: C14nMethod, prefixes: &[&str]) -> Result<Vec<u8>, RefError> {
    let text = dsig::decode_utf8(bytes)
        .map_err(|e| RefError::Malformed(format!("canonicalizing octets: {e}")))?;
    let doc = dsig::parse_document(text)
        .map_err(|e| RefError::Malformed(format!("canonicalizing octets: {e}")))?;
    let mut out = Vec::with_capacity(bytes.len());
    c14n::canonicalize(&doc, doc.root(), method, None, prefixes, &mut out).map_err(c14n_err)?;
    Ok(out)
}

/// Resolves and transforms a reference, then compares its digest.
pub(super) fn process<'a, 'i>(
    ctx: &RefCtx<'_, 'a, 'i>,
    spec: &RefSpec<'a, 'i>,
) -> Result<Processed<'a, 'i>, RefError> {
    let alg = spec
        .digest_alg()
        .ok_or_else(|| RefError::Unsupported(format!("DigestMethod {}", spec.digest_uri)))?;
    let expected = spec
        .digest_value
        .as_ref()
        .map_err(|e| RefError::Malformed(e.clone()))?;
    let want_len = alg.digest(b"").len();
    if expected.len() != want_len {
        return Err(RefError::Malformed(format!(
            "ds:DigestValue has {} bytes, {} needs {want_len}",
            expected.len(),
            alg.name()
        )));
    }

    let uri = spec.uri.unwrap_or("");
    let (target, mut data) = if uri.is_empty() {
        if spec.uri.is_none() {
            // A missing URI means the application knows the data: only a detached
            // document can stand in for it.
            match ctx.detached {
                Some(d) if d.only_candidate => (Target::Detached, Data::Octets(d.bytes.to_vec())),
                _ => {
                    return Err(RefError::NotFound(
                        "reference without URI and no detached document".into(),
                    ));
                }
            }
        } else {
            (
                Target::Document,
                Data::Nodes {
                    apex: ctx.doc.root(),
                    exclude: Vec::new(),
                },
            )
        }
    } else if let Some(id) = uri.strip_prefix('#') {
        if id.is_empty() || id.starts_with("xpointer(") {
            return Err(RefError::Unsupported(format!("URI {uri:?}")));
        }
        let el = ctx.ids.resolve(id)?;
        (
            Target::Element(el),
            Data::Nodes {
                apex: el,
                exclude: Vec::new(),
            },
        )
    } else {
        match ctx.detached {
            Some(d) if names_file(uri, d.name) || d.only_candidate => {
                (Target::Detached, Data::Octets(d.bytes.to_vec()))
            }
            Some(d) => {
                return Err(RefError::NotFound(format!(
                    "detached file {uri:?} (the given document is {:?})",
                    d.name
                )));
            }
            None => {
                return Err(RefError::NotFound(format!(
                    "detached file {uri:?} was not provided"
                )));
            }
        }
    };

    let mut excluded = Vec::new();
    for tr in &spec.transforms {
        let talg = algorithm_attr(*tr).map_err(|e| RefError::Malformed(e.to_string()))?;
        data = match (data, talg) {
            (Data::Nodes { apex, mut exclude }, ENVELOPED_SIGNATURE) => {
                if element_children(*tr).next().is_some() {
                    return Err(RefError::Malformed(
                        "enveloped-signature transform with content".into(),
                    ));
                }
                exclude.push(ctx.sig.id());
                Data::Nodes { apex, exclude }
            }
            (Data::Nodes { apex, mut exclude }, XPATH | XPATH_FILTER2) => {
                match xpath_filter(*tr, talg)? {
                    Filter::AllSignatures => exclude.extend(all_signatures(ctx.doc)?),
                    Filter::ThisSignature => exclude.push(ctx.sig.id()),
                    Filter::QName(q) => exclude.extend(by_qname(ctx.doc, &q)?),
                }
                Data::Nodes { apex, exclude }
            }
            (Data::Nodes { apex, exclude }, BASE64) => {
                if exclude.iter().any(|x| {
                    ctx.doc
                        .get_node(*x)
                        .is_some_and(|n| n.ancestors().any(|a| a.id() == apex.id()))
                }) {
                    return Err(RefError::Unsupported(
                        "base64 transform over a filtered node-set".into(),
                    ));
                }
                Data::Octets(b64(&string_value(apex))?)
            }
            (Data::Octets(o), BASE64) => {
                let text = std::str::from_utf8(&o).map_err(|_| {
                    RefError::Malformed("base64 transform input is not text".into())
                })?;
                Data::Octets(b64(text)?)
            }
            (d, a) => {
                let Some(method) = C14nMethod::from_uri(a) else {
                    return Err(RefError::Unsupported(format!("transform {a}")));
                };
                let prefixes = if method.is_exclusive() {
                    dsig::inclusive_prefixes(*tr).map_err(|e| RefError::Malformed(e.to_string()))?
                } else {
                    Vec::new()
                };
                match d {
                    Data::Nodes { apex, exclude } => {
                        // Same-document URIs drop comments whatever the method says.
                        let mut out = Vec::new();
                        c14n::canonicalize_excluding(
                            ctx.doc,
                            apex,
                            method.without_comments(),
                            &exclude,
                            &prefixes,
                            &mut out,
                        )
                        .map_err(c14n_err)?;
                        excluded.extend(exclude);
                        Data::Octets(out)
                    }
                    Data::Octets(o) => Data::Octets(c14n_octets(&o, method, &prefixes)?),
                }
            }
        };
    }
    let mut implicit = None;
    let octets = match data {
        Data::Octets(o) => o,
        Data::Nodes { apex, exclude } => {
            let mut out = Vec::new();
            c14n::canonicalize_excluding(
                ctx.doc,
                apex,
                C14nMethod::Inclusive,
                &exclude,
                &[],
                &mut out,
            )
            .map_err(c14n_err)?;
            implicit = Some((apex.id(), exclude.clone()));
            excluded.extend(exclude);
            out
        }
    };
    let matches = alg.digest(&octets) == *expected;
    Ok(Processed {
        target,
        octets,
        implicit,
        excluded,
        matches,
    })
}
