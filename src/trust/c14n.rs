//! XML canonicalization for signature verification: Canonical XML 1.0 and 1.1 (inclusive)
//! and Exclusive XML Canonicalization 1.0, each with or without comments, over a parsed
//! `roxmltree` document.
//!
//! Owns: turning the document node or one element subtree (optionally minus excluded
//! subtrees, e.g. the enveloped `ds:Signature`) into canonical octets. Must not touch:
//! signature semantics (reference resolution, digests, keys) — that is
//! `crate::trust::xmldsig` — nor parsing policy (the caller parses; DTDs are refused there,
//! so every node maps 1:1 onto the original input text, which this module relies on to
//! recover element and attribute prefixes that `roxmltree` does not store).
//!
//! Supported input: the document node (whole document: the XML declaration and DTD are
//! dropped, PIs/comments outside the document element are kept with the spec's line
//! feeds) or an element (an "element subtree" node-set: for inclusive C14N the apex
//! element gets all in-scope namespaces and inherits `xml:*` attributes from its
//! ancestors). Node-sets defined by arbitrary XPath are out of scope.

use roxmltree::{Document, Node, NodeId, NodeType};

/// Canonical XML 1.0.
pub const C14N10: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// Canonical XML 1.0 with comments.
pub const C14N10_WITH_COMMENTS: &str =
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// Exclusive XML Canonicalization 1.0.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Exclusive XML Canonicalization 1.0 with comments.
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
/// Canonical XML 1.1.
pub const C14N11: &str = "http://www.w3.org/2006/12/xml-c14n11";
/// Canonical XML 1.1 with comments.
pub const C14N11_WITH_COMMENTS: &str = "http://www.w3.org/2006/12/xml-c14n11#WithComments";

/// A canonicalization algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum C14nMethod {
    /// Canonical XML 1.0, comments omitted.
    Inclusive,
    /// Canonical XML 1.0, comments kept.
    InclusiveWithComments,
    /// Exclusive XML Canonicalization 1.0, comments omitted.
    Exclusive,
    /// Exclusive XML Canonicalization 1.0, comments kept.
    ExclusiveWithComments,
    /// Canonical XML 1.1, comments omitted. On the node-sets this module supports
    /// (document, element subtree) it differs from 1.0 only at the apex of a subtree:
    /// `xml:id` is not inherited, and an inherited `xml:base` would need URI fix-up,
    /// which is refused ([`C14nError::XmlBase`]).
    Inclusive11,
    /// Canonical XML 1.1, comments kept.
    Inclusive11WithComments,
}

impl C14nMethod {
    /// Maps an algorithm URI to a method; `None` for anything unsupported.
    pub fn from_uri(uri: &str) -> Option<Self> {
        match uri {
            C14N10 => Some(Self::Inclusive),
            C14N10_WITH_COMMENTS => Some(Self::InclusiveWithComments),
            EXC_C14N => Some(Self::Exclusive),
            EXC_C14N_WITH_COMMENTS => Some(Self::ExclusiveWithComments),
            C14N11 => Some(Self::Inclusive11),
            C14N11_WITH_COMMENTS => Some(Self::Inclusive11WithComments),
            _ => None,
        }
    }

    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Inclusive => C14N10,
            Self::InclusiveWithComments => C14N10_WITH_COMMENTS,
            Self::Exclusive => EXC_C14N,
            Self::ExclusiveWithComments => EXC_C14N_WITH_COMMENTS,
            Self::Inclusive11 => C14N11,
            Self::Inclusive11WithComments => C14N11_WITH_COMMENTS,
        }
    }

    /// Whether this is an exclusive canonicalization.
    pub fn is_exclusive(self) -> bool {
        matches!(self, Self::Exclusive | Self::ExclusiveWithComments)
    }

    /// Whether comments are kept.
    pub fn with_comments(self) -> bool {
        matches!(
            self,
            Self::InclusiveWithComments
                | Self::ExclusiveWithComments
                | Self::Inclusive11WithComments
        )
    }

    /// Whether this is Canonical XML 1.1.
    pub fn is_c14n11(self) -> bool {
        matches!(self, Self::Inclusive11 | Self::Inclusive11WithComments)
    }

    /// The same algorithm with comments omitted (used when the input node-set was
    /// produced by a same-document URI that excludes comments).
    pub fn without_comments(self) -> Self {
        match self {
            Self::Inclusive | Self::InclusiveWithComments => Self::Inclusive,
            Self::Exclusive | Self::ExclusiveWithComments => Self::Exclusive,
            Self::Inclusive11 | Self::Inclusive11WithComments => Self::Inclusive11,
        }
    }
}

/// Canonicalization failures. These indicate input this module cannot map faithfully
/// (never a panic).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum C14nError {
    /// The node is neither the document node nor an element.
    #[error("canonicalization input must be the document node or an element")]
    UnsupportedNode,
    /// The qualified name of a node could not be recovered from the input text (e.g. a
    /// node produced by entity expansion, which the parsing policy forbids anyway).
    #[error("cannot recover the qualified name of a node at byte offset {0}")]
    QName(usize),
    /// Canonical XML 1.1 of a subtree whose ancestors carry `xml:base` (the URI fix-up
    /// it requires is not implemented).
    #[error("Canonical XML 1.1 with an inherited xml:base is not supported")]
    XmlBase,
}

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Canonicalizes `node` (the document node or an element of `doc`) into `out`
/// (appending).
///
/// - `exclude`: an element whose whole subtree is left out (the enveloped signature
///   transform); ignored if it is not inside `node`.
/// - `inclusive_prefixes`: the exclusive-C14N `InclusiveNamespaces PrefixList`
///   (`"#default"` stands for the default namespace); ignored for inclusive methods.
pub fn canonicalize(
    doc: &Document,
    node: Node,
    method: C14nMethod,
    exclude: Option<NodeId>,
    inclusive_prefixes: &[&str],
    out: &mut Vec<u8>,
) -> Result<(), C14nError> {
    let ex: &[NodeId] = match &exclude {
        Some(id) => std::slice::from_ref(id),
        None => &[],
    };
    canonicalize_excluding(doc, node, method, ex, inclusive_prefixes, out)
}

/// [`canonicalize`] leaving out the subtrees of every element in `exclude` (e.g. every
/// `ds:Signature` for the XPath `not(ancestor-or-self::ds:Signature)` transform).
pub fn canonicalize_excluding(
    doc: &Document,
    node: Node,
    method: C14nMethod,
    exclude: &[NodeId],
    inclusive_prefixes: &[&str],
    out: &mut Vec<u8>,
) -> Result<(), C14nError> {
    let mut c = Canon {
        text: doc.input_text(),
        exclusive: method.is_exclusive(),
        c14n11: method.is_c14n11(),
        comments: method.with_comments(),
        exclude,
        inclusive_prefixes,
        out,
        rendered: Vec::with_capacity(16),
        ns_buf: Vec::with_capacity(16),
        attr_buf: Vec::with_capacity(16),
    };
    match node.node_type() {
        NodeType::Root => c.document(node),
        NodeType::Element => c.subtree(node),
        _ => Err(C14nError::UnsupportedNode),
    }
}

/// The prefix of an element's qualified name as written in the input (`""` when
/// unprefixed).
pub fn element_prefix<'a>(text: &'a str, node: Node) -> Result<&'a str, C14nError> {
    let q = element_qname(text, node)?;
    Ok(q.split_once(':').map(|(p, _)| p).unwrap_or(""))
}

/// The qualified name of an element as written in the input text.
fn element_qname<'a>(text: &'a str, node: Node) -> Result<&'a str, C14nError> {
    let start = node.range().start;
    let err = || C14nError::QName(start);
    let rest = text.get(start..).ok_or_else(err)?;
    let rest = rest.strip_prefix('<').ok_or_else(err)?;
    let end = rest
        .bytes()
        .position(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'/' | b'>'))
        .unwrap_or(rest.len());
    let q = rest.get(..end).ok_or_else(err)?;
    check_qname(q, node.tag_name().name()).ok_or_else(err)
}

/// Verifies that `q` is `local` or `prefix:local`.
fn check_qname<'a>(q: &'a str, local: &str) -> Option<&'a str> {
    if q == local {
        return Some(q);
    }
    let head = q.strip_suffix(local)?;
    let prefix = head.strip_suffix(':')?;
    (!prefix.is_empty() && !prefix.contains(':')).then_some(q)
}

struct Attr<'a> {
    ns: &'a str,
    local: &'a str,
    qname: &'a str,
    value: &'a str,
}

struct Canon<'a, 'o> {
    text: &'a str,
    exclusive: bool,
    c14n11: bool,
    comments: bool,
    exclude: &'o [NodeId],
    inclusive_prefixes: &'a [&'a str],
    out: &'o mut Vec<u8>,
    /// Namespace bindings rendered by output ancestors, innermost last; prefix `""` is
    /// the default namespace.
    rendered: Vec<(&'a str, &'a str)>,
    ns_buf: Vec<(&'a str, &'a str)>,
    attr_buf: Vec<Attr<'a>>,
}

impl<'a> Canon<'a, '_> {
    fn document(&mut self, root: Node<'a, '_>) -> Result<(), C14nError> {
        let mut after_root = false;
        for child in root.children() {
            match child.node_type() {
                NodeType::Element => {
                    self.subtree(child)?;
                    after_root = true;
                }
                NodeType::PI | NodeType::Comment => {
                    if child.is_comment() && !self.comments {
                        continue;
                    }
                    if after_root {
                        self.out.push(b'\n');
                    }
                    self.leaf(child);
                    if !after_root {
                        self.out.push(b'\n');
                    }
                }
                // Whitespace outside the document element is not part of the data model.
                NodeType::Text | NodeType::Root => {}
            }
        }
        Ok(())
    }

    fn is_excluded(&self, n: Node) -> bool {
        self.exclude.contains(&n.id())
    }

    /// Canonicalizes the subtree rooted at element `apex`, iteratively (no recursion, so
    /// deep nesting cannot overflow the stack).
    fn subtree(&mut self, apex: Node<'a, '_>) -> Result<(), C14nError> {
        if self.is_excluded(apex) {
            return Ok(());
        }
        // (qname, rendered-stack length before this element)
        let mut open: Vec<(&'a str, usize)> = Vec::with_capacity(32);
        self.start_tag(apex, true, &mut open)?;
        let mut cur = apex;
        loop {
            let descend = cur.is_element() && !self.is_excluded(cur);
            if descend && let Some(child) = cur.first_child() {
                cur = child;
                self.visit(cur, &mut open)?;
                continue;
            }
            // `cur` has no (visited) children: close it, then move to the next sibling or
            // climb up, closing ancestors on the way.
            loop {
                if cur.is_element() && !self.is_excluded(cur) {
                    self.end_tag(&mut open);
                }
                if cur.id() == apex.id() {
                    return Ok(());
                }
                if let Some(sib) = cur.next_sibling() {
                    cur = sib;
                    self.visit(cur, &mut open)?;
                    break;
                }
                match cur.parent() {
                    Some(p) => cur = p,
                    None => return Ok(()),
                }
            }
        }
    }

    fn visit(
        &mut self,
        n: Node<'a, '_>,
        open: &mut Vec<(&'a str, usize)>,
    ) -> Result<(), C14nError> {
        match n.node_type() {
            NodeType::Element => {
                if !self.is_excluded(n) {
                    self.start_tag(n, false, open)?;
                }
            }
            NodeType::Text => {
                if let Some(t) = n.text() {
                    escape_text(self.out, t);
                }
            }
            NodeType::Comment => {
                if self.comments {
                    self.leaf(n);
                }
            }
            NodeType::PI => self.leaf(n),
            NodeType::Root => {}
        }
        Ok(())
    }

    /// Writes a comment or a processing instruction.
    fn leaf(&mut self, n: Node) {
        if let Some(pi) = n.pi() {
            self.out.extend_from_slice(b"<?");
            self.out.extend_from_slice(pi.target.as_bytes());
            if let Some(v) = pi.value
                && !v.is_empty()
            {
                self.out.push(b' ');
                self.out.extend_from_slice(v.as_bytes());
            }
            self.out.extend_from_slice(b"?>");
        } else if n.is_comment() {
            self.out.extend_from_slice(b"<!--");
            self.out
                .extend_from_slice(n.text().unwrap_or_default().as_bytes());
            self.out.extend_from_slice(b"-->");
        }
    }

    fn lookup_rendered(&self, prefix: &str) -> Option<&'a str> {
        self.rendered
            .iter()
            .rev()
            .find(|(p, _)| *p == prefix)
            .map(|(_, u)| *u)
    }

    /// Adds candidate namespace binding `prefix -> uri` (uri `""` for an absent or
    /// undeclared default namespace) if no output ancestor rendered the same binding.
    fn consider_ns(&mut self, prefix: &'a str, uri: &'a str) {
        let current = match self.lookup_rendered(prefix) {
            Some(u) => u,
            None if prefix.is_empty() => "",
            None => {
                if uri.is_empty() {
                    // `xmlns:p=""` with nothing rendered: nothing to undeclare.
                    return;
                }
                if !self.ns_buf.iter().any(|(p, _)| *p == prefix) {
                    self.ns_buf.push((prefix, uri));
                }
                return;
            }
        };
        if current != uri && !self.ns_buf.iter().any(|(p, _)| *p == prefix) {
            self.ns_buf.push((prefix, uri));
        }
    }

    fn in_scope(n: Node<'a, '_>, prefix: &str) -> &'a str {
        let want = if prefix.is_empty() {
            None
        } else {
            Some(prefix)
        };
        n.namespaces()
            .find(|ns| ns.name() == want)
            .map(|ns| ns.uri())
            .unwrap_or("")
    }

    fn start_tag(
        &mut self,
        n: Node<'a, '_>,
        is_apex: bool,
        open: &mut Vec<(&'a str, usize)>,
    ) -> Result<(), C14nError> {
        let text = self.text;
        let qname = element_qname(text, n)?;
        self.ns_buf.clear();
        self.attr_buf.clear();

        for a in n.attributes() {
            let r = a.range_qname();
            let q = text
                .get(r.clone())
                .and_then(|q| check_qname(q, a.name()))
                .ok_or(C14nError::QName(r.start))?;
            self.attr_buf.push(Attr {
                ns: a.namespace().unwrap_or(""),
                local: a.name(),
                qname: q,
                value: a.value(),
            });
        }

        if self.exclusive {
            let eprefix = qname.split_once(':').map(|(p, _)| p).unwrap_or("");
            self.consider_ns(eprefix, Self::in_scope(n, eprefix));
            for i in 0..self.attr_buf.len() {
                let q = self.attr_buf[i].qname;
                if let Some((p, _)) = q.split_once(':')
                    && p != "xml"
                {
                    self.consider_ns(p, Self::in_scope(n, p));
                }
            }
            for &p in self.inclusive_prefixes {
                if p == "#default" {
                    self.consider_ns("", Self::in_scope(n, ""));
                } else if !p.is_empty() && p != "xml" && p != "xmlns" {
                    let u = Self::in_scope(n, p);
                    if !u.is_empty() {
                        self.consider_ns(p, u);
                    }
                }
            }
        } else {
            let mut has_default = false;
            for ns in n.namespaces() {
                let p = ns.name().unwrap_or("");
                has_default |= p.is_empty();
                self.consider_ns(p, ns.uri());
            }
            if !has_default {
                self.consider_ns("", "");
            }
            if is_apex {
                // C14N 1.0: an apex element inherits xml:* attributes from ancestors.
                // C14N 1.1: xml:id is not inherited; xml:base would need fix-up.
                for anc in n.ancestors().skip(1).filter(|a| a.is_element()) {
                    for a in anc.attributes() {
                        if self.c14n11 && a.namespace() == Some(XML_NS) {
                            if a.name() == "id" {
                                continue;
                            }
                            if a.name() == "base" {
                                return Err(C14nError::XmlBase);
                            }
                        }
                        if a.namespace() == Some(XML_NS)
                            && !self
                                .attr_buf
                                .iter()
                                .any(|x| x.ns == XML_NS && x.local == a.name())
                        {
                            let r = a.range_qname();
                            let q = text
                                .get(r.clone())
                                .and_then(|q| check_qname(q, a.name()))
                                .ok_or(C14nError::QName(r.start))?;
                            self.attr_buf.push(Attr {
                                ns: XML_NS,
                                local: a.name(),
                                qname: q,
                                value: a.value(),
                            });
                        }
                    }
                }
            }
        }

        let out = &mut *self.out;
        out.push(b'<');
        out.extend_from_slice(qname.as_bytes());

        self.ns_buf.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let frame = self.rendered.len();
        for &(p, u) in &self.ns_buf {
            if p.is_empty() {
                out.extend_from_slice(b" xmlns=\"");
            } else {
                out.extend_from_slice(b" xmlns:");
                out.extend_from_slice(p.as_bytes());
                out.extend_from_slice(b"=\"");
            }
            escape_attr(out, u);
            out.push(b'"');
            self.rendered.push((p, u));
        }

        self.attr_buf
            .sort_unstable_by(|a, b| (a.ns, a.local).cmp(&(b.ns, b.local)));
        for a in &self.attr_buf {
            out.push(b' ');
            out.extend_from_slice(a.qname.as_bytes());
            out.extend_from_slice(b"=\"");
            escape_attr(out, a.value);
            out.push(b'"');
        }
        out.push(b'>');
        open.push((qname, frame));
        Ok(())
    }

    fn end_tag(&mut self, open: &mut Vec<(&'a str, usize)>) {
        if let Some((q, frame)) = open.pop() {
            self.out.extend_from_slice(b"</");
            self.out.extend_from_slice(q.as_bytes());
            self.out.push(b'>');
            self.rendered.truncate(frame);
        }
    }
}

fn escape_text(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let mut last = 0;
    for (i, &c) in b.iter().enumerate() {
        let rep: &[u8] = match c {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\r' => b"&#xD;",
            _ => continue,
        };
        out.extend_from_slice(&b[last..i]);
        out.extend_from_slice(rep);
        last = i + 1;
    }
    out.extend_from_slice(&b[last..]);
}

fn escape_attr(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let mut last = 0;
    for (i, &c) in b.iter().enumerate() {
        let rep: &[u8] = match c {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'"' => b"&quot;",
            b'\t' => b"&#x9;",
            b'\n' => b"&#xA;",
            b'\r' => b"&#xD;",
            _ => continue,
        };
        out.extend_from_slice(&b[last..i]);
        out.extend_from_slice(rep);
        last = i + 1;
    }
    out.extend_from_slice(&b[last..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n_doc(xml: &str, m: C14nMethod, prefixes: &[&str]) -> String {
        let doc = roxmltree::Document::parse(xml).expect("parse");
        let mut out = Vec::new();
        canonicalize(&doc, doc.root(), m, None, prefixes, &mut out).expect("c14n");
        String::from_utf8(out).expect("utf8")
    }

    fn c14n_elem(xml: &str, local: &str, m: C14nMethod, prefixes: &[&str]) -> String {
        let doc = roxmltree::Document::parse(xml).expect("parse");
        let n = doc
            .descendants()
            .find(|n| n.is_element() && n.tag_name().name() == local)
            .expect("element");
        let mut out = Vec::new();
        canonicalize(&doc, n, m, None, prefixes, &mut out).expect("c14n");
        String::from_utf8(out).expect("utf8")
    }

    /// C14N 1.0 spec example 3.1 (PIs, comments, and outside of document element).
    const EX31: &str = "<?xml version=\"1.0\"?>\n\n<?xml-stylesheet   href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n\n<doc>Hello, world!<!-- Comment 1 --></doc>\n\n<?pi-without-data     ?>\n\n<!-- Comment 2 -->\n\n<!-- Comment 3 -->";

    #[test]
    fn spec_3_1_without_comments() {
        assert_eq!(
            c14n_doc(EX31, C14nMethod::Inclusive, &[]),
            "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!</doc>\n<?pi-without-data?>"
        );
    }

    #[test]
    fn spec_3_1_with_comments() {
        assert_eq!(
            c14n_doc(EX31, C14nMethod::InclusiveWithComments, &[]),
            "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!<!-- Comment 1 --></doc>\n<?pi-without-data?>\n<!-- Comment 2 -->\n<!-- Comment 3 -->"
        );
    }

    /// C14N 1.0 spec example 3.2 (whitespace in document content).
    #[test]
    fn spec_3_2_whitespace() {
        let input = "<doc>\n   <clean>   </clean>\n   <dirty>   A   B   </dirty>\n   <mixed>\n      A\n      <clean>   </clean>\n      B\n      <dirty>   A   B   </dirty>\n      C\n   </mixed>\n</doc>";
        assert_eq!(c14n_doc(input, C14nMethod::Inclusive, &[]), input);
    }

    /// C14N 1.0 spec example 3.3 (start and end tags), without the DTD (no default
    /// attribute), so the expected output drops `attr="default"` from e9.
    #[test]
    fn spec_3_3_start_end_tags() {
        let input = r#"<doc>
   <e1   />
   <e2   ></e2>
   <e3   name = "elem3"   id="elem3"   />
   <e4   name="elem4"   id="elem4"   ></e4>
   <e5 a:attr="out" b:attr="sorted" attr2="all" attr="I'm"
      xmlns:b="http://www.ietf.org"
      xmlns:a="http://www.w3.org"
      xmlns="http://example.org"/>
   <e6 xmlns="" xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="" xmlns:a="http://www.w3.org">
            <e9 xmlns="" xmlns:a="http://www.ietf.org"/>
         </e8>
      </e7>
   </e6>
</doc>"#;
        let expected = r#"<doc>
   <e1></e1>
   <e2></e2>
   <e3 id="elem3" name="elem3"></e3>
   <e4 id="elem4" name="elem4"></e4>
   <e5 xmlns="http://example.org" xmlns:a="http://www.w3.org" xmlns:b="http://www.ietf.org" attr="I'm" attr2="all" b:attr="sorted" a:attr="out"></e5>
   <e6 xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="">
            <e9 xmlns:a="http://www.ietf.org"></e9>
         </e8>
      </e7>
   </e6>
</doc>"#;
        assert_eq!(c14n_doc(input, C14nMethod::Inclusive, &[]), expected);
    }

    /// C14N 1.0 spec example 3.4 (character modifications), DTD-free part.
    #[test]
    fn spec_3_4_characters() {
        let input = "<doc>\n   <text>First line&#x0d;&#10;Second line</text>\n   <value>&#x32;</value>\n   <compute><![CDATA[value>\"0\" && value<\"10\" ?\"valid\":\"error\"]]></compute>\n   <compute expr='value>\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"'>valid</compute>\n   <norm attr=' &apos;   &#x20;&#13;&#xa;&#9;   &apos; '/>\n</doc>";
        let expected = "<doc>\n   <text>First line&#xD;\nSecond line</text>\n   <value>2</value>\n   <compute>value&gt;\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"</compute>\n   <compute expr=\"value>&quot;0&quot; &amp;&amp; value&lt;&quot;10&quot; ?&quot;valid&quot;:&quot;error&quot;\">valid</compute>\n   <norm attr=\" '    &#xD;&#xA;&#x9;   ' \"></norm>\n</doc>";
        assert_eq!(c14n_doc(input, C14nMethod::Inclusive, &[]), expected);
    }

    /// CR normalisation: literal CRLF / CR in text become LF (parser), `&#13;` survives.
    #[test]
    fn line_endings() {
        let input = "<a>x\r\ny\rz&#13;</a>";
        assert_eq!(
            c14n_doc(input, C14nMethod::Inclusive, &[]),
            "<a>x\ny\nz&#xD;</a>"
        );
    }

    /// Document subset (element subtree) under inclusive C14N: in-scope namespaces and
    /// inherited xml:* attributes are rendered on the apex.
    #[test]
    fn inclusive_apex_gets_context() {
        let input = r#"<r xmlns="urn:d" xmlns:a="urn:a" xml:lang="fr" xml:space="preserve"><x:e xmlns:x="urn:x" xml:lang="en"><f/></x:e></r>"#;
        assert_eq!(
            c14n_elem(input, "e", C14nMethod::Inclusive, &[]),
            r#"<x:e xmlns="urn:d" xmlns:a="urn:a" xmlns:x="urn:x" xml:lang="en" xml:space="preserve"><f></f></x:e>"#
        );
    }

    /// Exclusive C14N spec section 2.2 example: only visibly utilized namespaces.
    #[test]
    fn exclusive_spec_example() {
        let input = r#"<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org"><n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"/></n1:elem2></n0:local>"#;
        // Inclusive: n0 and n3 from the context appear on the apex.
        assert_eq!(
            c14n_elem(input, "elem2", C14nMethod::Inclusive, &[]),
            r#"<n1:elem2 xmlns:n0="foo:bar" xmlns:n1="http://example.net" xmlns:n3="ftp://example.org" xml:lang="en"><n3:stuff></n3:stuff></n1:elem2>"#
        );
        // Exclusive: n3 is pushed down to where it is utilized.
        assert_eq!(
            c14n_elem(input, "elem2", C14nMethod::Exclusive, &[]),
            r#"<n1:elem2 xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"></n3:stuff></n1:elem2>"#
        );
        // With an InclusiveNamespaces PrefixList naming n0.
        assert_eq!(
            c14n_elem(input, "elem2", C14nMethod::Exclusive, &["n0"]),
            r#"<n1:elem2 xmlns:n0="foo:bar" xmlns:n1="http://example.net" xml:lang="en"><n3:stuff xmlns:n3="ftp://example.org"></n3:stuff></n1:elem2>"#
        );
    }

    /// Default namespace handling in exclusive mode (utilized by unprefixed elements,
    /// `xmlns=""` undeclaration, `#default` in the PrefixList).
    #[test]
    fn exclusive_default_namespace() {
        let input =
            r#"<p:r xmlns:p="urn:p" xmlns="urn:d"><p:a><b><c xmlns=""><p:d/></c></b></p:a></p:r>"#;
        assert_eq!(
            c14n_elem(input, "a", C14nMethod::Exclusive, &[]),
            r#"<p:a xmlns:p="urn:p"><b xmlns="urn:d"><c xmlns=""><p:d></p:d></c></b></p:a>"#
        );
        assert_eq!(
            c14n_elem(input, "a", C14nMethod::Exclusive, &["#default"]),
            r#"<p:a xmlns="urn:d" xmlns:p="urn:p"><b><c xmlns=""><p:d></p:d></c></b></p:a>"#
        );
        // Inclusive: the default is rendered on the apex; `xmlns=""` on c.
        assert_eq!(
            c14n_elem(input, "a", C14nMethod::Inclusive, &[]),
            r#"<p:a xmlns="urn:d" xmlns:p="urn:p"><b><c xmlns=""><p:d></p:d></c></b></p:a>"#
        );
    }

    /// Attribute ordering: unqualified first (by local name), then by namespace URI then
    /// local name; namespace declarations first, default first.
    #[test]
    fn attribute_ordering() {
        let input = r#"<e xmlns:z="urn:a" xmlns:a="urn:z" a:x="1" z:y="2" z:b="3" b="4" a="5" xmlns="urn:d"/>"#;
        assert_eq!(
            c14n_doc(input, C14nMethod::Inclusive, &[]),
            r#"<e xmlns="urn:d" xmlns:a="urn:z" xmlns:z="urn:a" a="5" b="4" z:b="3" z:y="2" a:x="1"></e>"#
        );
    }

    /// Exclusion of a subtree (enveloped signature) and comment handling.
    #[test]
    fn exclude_and_comments() {
        let xml = r#"<r a="1"><!--c--><x/><S><y/></S>t</r>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let s = doc
            .descendants()
            .find(|n| n.has_tag_name("S"))
            .unwrap()
            .id();
        let mut out = Vec::new();
        canonicalize(
            &doc,
            doc.root(),
            C14nMethod::Exclusive,
            Some(s),
            &[],
            &mut out,
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), r#"<r a="1"><x></x>t</r>"#);
        let mut out = Vec::new();
        canonicalize(
            &doc,
            doc.root(),
            C14nMethod::ExclusiveWithComments,
            Some(s),
            &[],
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<r a="1"><!--c--><x></x>t</r>"#
        );
    }

    /// Deeply nested input must not overflow the stack.
    #[test]
    fn deep_nesting() {
        let depth = 20_000;
        let xml = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
        let opt = roxmltree::ParsingOptions {
            nodes_limit: u32::MAX,
            ..Default::default()
        };
        let doc = roxmltree::Document::parse_with_options(&xml, opt).expect("deep parse");
        let mut out = Vec::new();
        canonicalize(&doc, doc.root(), C14nMethod::Inclusive, None, &[], &mut out).unwrap();
        assert_eq!(out.len(), depth * 7);
    }
}
