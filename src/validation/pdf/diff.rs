//! Difference analysis between revisions (incremental updates, ISO 32000-1 §7.5.6): every
//! object a revision redefines is compared with its previous version and the change is
//! classified by what the object was in the previous revision (catalog, DSS, form field,
//! page, content stream, …) and what changed in it. This is the defence against
//! incremental-saving and shadow attacks, in the spirit of pyHanko's difference analysis
//! and EU DSS's PDF modification detection.
//!
//! Levels: [`ModLevel::LtaUpdates`] (DSS, document timestamps, /Info, XMP metadata),
//! [`ModLevel::FormFilling`] (adding or signing signature fields, filling form fields),
//! [`ModLevel::Annotations`] (annotations), [`ModLevel::Other`] (anything else: page content,
//! page objects, fonts, other catalog entries, signed signature dictionaries, objects
//! deleted). Whether a level is allowed depends on the signature (DocMDP `/P`).
//!
//! Owns: classification of revisions. Must not touch: byte ranges, CMS or DSS decoding.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::ModLevel;
use super::doc::{Doc, Loaded, Loc};
use super::lexer::{Dict, ObjId, Object};
use super::sig::{dss_shape, text_string};

/// Most objects visited when mapping roles.
const MAX_WALK: usize = 200_000;
/// Most objects visited when mapping roles, over all revisions of a document.
pub const MAX_TOTAL_WALK: usize = 2_000_000;
/// Most changes reported per revision.
const MAX_CHANGES: usize = 500;

/// One classified change of a revision.
#[derive(Debug, Clone)]
pub struct Change {
    /// Level.
    pub level: ModLevel,
    /// What changed.
    pub description: String,
    /// The form field filled, when the change is form filling (for FieldMDP locks).
    pub field: Option<String>,
}

#[derive(Debug, Clone)]
enum Role {
    Catalog,
    Info,
    Metadata,
    Dss,
    Perms,
    AcroForm,
    FieldsArray,
    Field {
        name: String,
        sig: bool,
        signed: bool,
    },
    SigDict {
        field: String,
    },
    Appearance {
        owner: String,
        level: ModLevel,
    },
    PagesNode,
    Page(usize),
    PageContent(usize),
    PageResources(usize),
    AnnotsArray(usize),
    Annot {
        page: usize,
        subtype: String,
    },
}

impl Role {
    fn describe(&self) -> String {
        match self {
            Role::Catalog => "document catalog".into(),
            Role::Info => "document information dictionary".into(),
            Role::Metadata => "XMP metadata".into(),
            Role::Dss => "DSS".into(),
            Role::Perms => "permissions dictionary".into(),
            Role::AcroForm => "interactive form dictionary".into(),
            Role::FieldsArray => "form field list".into(),
            Role::Field { name, sig, .. } => {
                format!("{} field '{name}'", if *sig { "signature" } else { "form" })
            }
            Role::SigDict { field } => format!("signature dictionary of field '{field}'"),
            Role::Appearance { owner, .. } => format!("appearance stream of {owner}"),
            Role::PagesNode => "page tree node".into(),
            Role::Page(n) => format!("page {n}"),
            Role::PageContent(n) => format!("page {n} content stream"),
            Role::PageResources(n) => format!("page {n} resources"),
            Role::AnnotsArray(n) => format!("annotation list of page {n}"),
            Role::Annot { page, subtype } => format!("/{subtype} annotation on page {page}"),
        }
    }
}

struct Roles {
    map: HashMap<u32, Role>,
    budget: usize,
}

impl Roles {
    fn set(&mut self, n: u32, role: Role) -> bool {
        if self.budget == 0 {
            return false;
        }
        self.budget -= 1;
        if let std::collections::hash_map::Entry::Vacant(v) = self.map.entry(n) {
            v.insert(role);
            true
        } else {
            false
        }
    }

    fn set_obj(&mut self, o: &Object, role: Role) -> bool {
        match o {
            Object::Ref((n, _)) => self.set(*n, role),
            _ => true,
        }
    }
}

/// What each object is in revision `rev` (first role wins), visiting at most `budget`
/// objects. Objects left without a role are classified as `Other` when changed.
fn roles(doc: &Doc<'_>, rev: usize, budget: usize) -> Roles {
    let mut r = Roles {
        map: HashMap::new(),
        budget,
    };
    let trailer = doc
        .revs
        .get(rev)
        .map(|x| x.trailer.clone())
        .unwrap_or_default();
    let root_ref = (0..=rev)
        .rev()
        .find_map(|i| doc.revs.get(i)?.trailer.get(b"Root")?.as_objref());
    if let Some(id) = root_ref {
        r.set(id.0, Role::Catalog);
    }
    if let Some(Object::Ref((n, _))) = trailer.get(b"Info") {
        r.set(*n, Role::Info);
    }
    for n in dss_shape(doc, rev).objects {
        r.set(n, Role::Dss);
    }
    let Some(cat) = doc.catalog(rev) else {
        return r;
    };
    let Some(cd) = cat.obj.dict() else { return r };
    if let Some(m) = cd.get(b"Metadata") {
        r.set_obj(m, Role::Metadata);
    }
    if let Some(p) = cd.get(b"Perms") {
        r.set_obj(p, Role::Perms);
    }
    if let Some(af) = cd.get(b"AcroForm") {
        r.set_obj(af, Role::AcroForm);
        if let Some(afr) = doc.resolve(af, rev)
            && let Some(afd) = afr.dict()
            && let Some(fields) = afd.get(b"Fields")
        {
            r.set_obj(fields, Role::FieldsArray);
            if let Some(Object::Array(items)) = doc.resolve(fields, rev).as_deref() {
                for it in items {
                    field_roles(doc, rev, it, "", None, 0, &mut r);
                }
            }
        }
    }
    if let Some(pages) = cd.get(b"Pages") {
        let mut n = 0usize;
        page_roles(doc, rev, pages, 0, &mut n, &mut HashSet::new(), &mut r);
    }
    r
}

fn field_roles(
    doc: &Doc<'_>,
    rev: usize,
    item: &Object,
    parent: &str,
    ft: Option<Vec<u8>>,
    depth: usize,
    r: &mut Roles,
) {
    if depth > 32 || r.budget == 0 {
        return;
    }
    let Some(f) = doc.resolve(item, rev) else {
        return;
    };
    let Some(d) = f.dict() else { return };
    let name = match d.get(b"T") {
        Some(Object::Str(s)) if parent.is_empty() => text_string(&s.bytes),
        Some(Object::Str(s)) => format!("{parent}.{}", text_string(&s.bytes)),
        _ => parent.to_string(),
    };
    let ft = d.name(b"FT").map(<[u8]>::to_vec).or(ft);
    let sig = ft.as_deref() == Some(b"Sig");
    let signed = d.get(b"V").is_some() && sig;
    if let Object::Ref(_) = item
        && !r.set_obj(
            item,
            Role::Field {
                name: name.clone(),
                sig,
                signed,
            },
        )
    {
        return; // Already visited (loop or shared object).
    }
    if sig && let Some(v) = d.get(b"V") {
        r.set_obj(
            v,
            Role::SigDict {
                field: name.clone(),
            },
        );
    }
    let ap_level = if signed {
        ModLevel::Other
    } else {
        ModLevel::FormFilling
    };
    ap_roles(doc, rev, d, &format!("field '{name}'"), ap_level, r);
    if let Some(kids) = d.get(b"Kids") {
        if let Object::Ref(_) = kids {
            r.set_obj(
                kids,
                Role::Field {
                    name: name.clone(),
                    sig,
                    signed,
                },
            );
        }
        if let Some(Object::Array(items)) = doc.resolve(kids, rev).as_deref() {
            for k in items {
                field_roles(doc, rev, k, &name, ft.clone(), depth + 1, r);
            }
        }
    }
}

fn ap_roles(doc: &Doc<'_>, rev: usize, d: &Dict, owner: &str, level: ModLevel, r: &mut Roles) {
    let Some(ap) = d.get(b"AP") else { return };
    let role = || Role::Appearance {
        owner: owner.to_string(),
        level,
    };
    r.set_obj(ap, role());
    let Some(apr) = doc.resolve(ap, rev) else {
        return;
    };
    let Some(apd) = apr.dict() else { return };
    for key in [&b"N"[..], b"R", b"D"] {
        let Some(v) = apd.get(key) else { continue };
        r.set_obj(v, role());
        if let Some(sub) = doc.resolve(v, rev)
            && let Object::Dict(states) = &*sub
        {
            for (_, s) in states.0.iter().take(64) {
                r.set_obj(s, role());
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn page_roles(
    doc: &Doc<'_>,
    rev: usize,
    node: &Object,
    depth: usize,
    n: &mut usize,
    seen: &mut HashSet<ObjId>,
    r: &mut Roles,
) {
    if depth > 64 || r.budget == 0 {
        return;
    }
    if let Object::Ref(id) = node
        && !seen.insert(*id)
    {
        return;
    }
    let Some(p) = doc.resolve(node, rev) else {
        return;
    };
    let Some(d) = p.dict() else { return };
    let kids = d.get(b"Kids");
    if d.name(b"Type") == Some(b"Pages") || (kids.is_some() && d.name(b"Type") != Some(b"Page")) {
        r.set_obj(node, Role::PagesNode);
        if let Some(k) = kids {
            r.set_obj(k, Role::PagesNode);
            if let Some(Object::Array(items)) = doc.resolve(k, rev).as_deref() {
                for it in items {
                    page_roles(doc, rev, it, depth + 1, n, seen, r);
                }
            }
        }
        return;
    }
    *n += 1;
    let page = *n;
    r.set_obj(node, Role::Page(page));
    if let Some(c) = d.get(b"Contents") {
        r.set_obj(c, Role::PageContent(page));
        if let Some(Object::Array(items)) = doc.resolve(c, rev).as_deref() {
            for it in items.iter().take(10_000) {
                r.set_obj(it, Role::PageContent(page));
            }
        }
    }
    if let Some(res) = d.get(b"Resources") {
        r.set_obj(res, Role::PageResources(page));
    }
    if let Some(a) = d.get(b"Annots") {
        r.set_obj(a, Role::AnnotsArray(page));
        if let Some(Object::Array(items)) = doc.resolve(a, rev).as_deref() {
            for it in items.iter().take(10_000) {
                let Some(an) = doc.resolve(it, rev) else {
                    continue;
                };
                let Some(ad) = an.dict() else { continue };
                let subtype = ad
                    .name(b"Subtype")
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .unwrap_or_default();
                if r.set_obj(
                    it,
                    Role::Annot {
                        page,
                        subtype: subtype.clone(),
                    },
                ) {
                    ap_roles(
                        doc,
                        rev,
                        ad,
                        &format!("/{subtype} annotation on page {page}"),
                        ModLevel::Annotations,
                        r,
                    );
                }
            }
        }
    }
}

/// Keys whose values differ between two dictionaries (added, removed or changed).
fn changed_keys<'k>(old: &'k Dict, new: &'k Dict, file: &[u8]) -> Vec<&'k [u8]> {
    let mut keys: Vec<&[u8]> = old.keys();
    keys.extend(new.keys());
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter(|k| match (old.get(k), new.get(k)) {
            (Some(a), Some(b)) => !a.same(b, file),
            _ => true,
        })
        .collect()
}

fn names(keys: &[&[u8]]) -> String {
    keys.iter()
        .map(|k| format!("/{}", String::from_utf8_lossy(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Ctx<'d, 'a> {
    doc: &'d Doc<'a>,
    rev: usize,
    prev: usize,
    roles: Roles,
    out: Vec<Change>,
}

impl Ctx<'_, '_> {
    fn push(&mut self, level: ModLevel, description: String, field: Option<String>) {
        if self.out.len() < MAX_CHANGES {
            self.out.push(Change {
                level,
                description,
                field,
            });
        }
    }

    fn is_new(&self, n: u32) -> bool {
        self.doc
            .def_at(n, self.prev)
            .is_none_or(|(_, d)| d.loc == Loc::Free)
    }

    fn label(&self, id: ObjId, role: Option<&Role>, obj: Option<&Object>) -> String {
        let what = match role {
            Some(r) => r.describe(),
            None => obj
                .and_then(|o| {
                    let d = o.dict()?;
                    let t = d.name(b"Type").or(d.name(b"Subtype"))?;
                    Some(format!("/{}", String::from_utf8_lossy(t)))
                })
                .unwrap_or_else(|| obj.map(|o| o.kind().to_string()).unwrap_or_default()),
        };
        format!("object {} {} ({what})", id.0, id.1)
    }

    /// Level of a signature field as of the new revision: document timestamps are LTA
    /// updates; signatures and empty signature fields are form filling.
    fn sig_field_level(&self, d: &Dict) -> (ModLevel, &'static str) {
        let Some(v) = d.get(b"V").and_then(|v| self.doc.resolve(v, self.rev)) else {
            return (ModLevel::FormFilling, "empty signature field");
        };
        let Some(vd) = v.dict() else {
            return (ModLevel::Other, "signature field with a malformed /V");
        };
        if vd.name(b"Type") == Some(b"DocTimeStamp")
            || vd.name(b"SubFilter") == Some(b"ETSI.RFC3161")
        {
            (ModLevel::LtaUpdates, "document timestamp")
        } else {
            (ModLevel::FormFilling, "signature")
        }
    }

    fn new_field(&mut self, item: &Object) {
        if let Object::Ref((n, _)) = item
            && !self.is_new(*n)
        {
            let role = self.roles.map.get(n).cloned();
            self.push(
                ModLevel::Other,
                format!(
                    "existing object {n} ({}) was added to the form field list in revision {}",
                    role.map(|r| r.describe())
                        .unwrap_or_else(|| "unknown".into()),
                    self.rev
                ),
                None,
            );
            return;
        }
        let Some(f) = self.doc.resolve(item, self.rev) else {
            return;
        };
        let Some(d) = f.dict() else { return };
        let name = match d.get(b"T") {
            Some(Object::Str(s)) => text_string(&s.bytes),
            _ => String::new(),
        };
        if d.name(b"FT") == Some(b"Sig") {
            let (level, what) = self.sig_field_level(d);
            self.push(
                level,
                format!("{what} field '{name}' was added in revision {}", self.rev),
                None,
            );
        } else {
            self.push(
                ModLevel::Other,
                format!(
                    "form field '{name}' ({}) was added in revision {}",
                    d.name(b"FT")
                        .map(|t| String::from_utf8_lossy(t).into_owned())
                        .unwrap_or_else(|| "no type".into()),
                    self.rev
                ),
                None,
            );
        }
    }

    fn items(&self, o: Option<&Object>, rev: usize) -> Vec<Object> {
        match o.and_then(|o| self.doc.resolve(o, rev)).as_deref() {
            Some(Object::Array(a)) => a.clone(),
            _ => Vec::new(),
        }
    }

    fn fields_change(&mut self, old: Vec<Object>, new: Vec<Object>) {
        let file = self.doc.file;
        for o in &old {
            if !new.iter().any(|x| x.same(o, file)) {
                self.push(
                    ModLevel::Other,
                    format!(
                        "a form field ({}) was removed from the form in revision {}",
                        ref_text(o),
                        self.rev
                    ),
                    None,
                );
            }
        }
        for x in &new {
            if !old.iter().any(|o| o.same(x, file)) {
                self.new_field(x);
            }
        }
    }

    fn acroform_change(&mut self, old: &Dict, new: &Dict) {
        let file = self.doc.file;
        for k in changed_keys(old, new, file) {
            match k {
                b"Fields" => {
                    let same_ref = matches!((old.get(k), new.get(k)),
                        (Some(Object::Ref(a)), Some(Object::Ref(b))) if a == b);
                    if !same_ref {
                        let o = self.items(old.get(k), self.prev);
                        let n = self.items(new.get(k), self.rev);
                        self.fields_change(o, n);
                    }
                }
                b"SigFlags" => self.push(
                    ModLevel::LtaUpdates,
                    format!("/AcroForm /SigFlags updated in revision {}", self.rev),
                    None,
                ),
                b"DR" | b"DA" | b"NeedAppearances" => self.push(
                    ModLevel::FormFilling,
                    format!(
                        "/AcroForm /{} updated in revision {}",
                        String::from_utf8_lossy(k),
                        self.rev
                    ),
                    None,
                ),
                other => self.push(
                    ModLevel::Other,
                    format!(
                        "/AcroForm entry /{} was changed in revision {}",
                        String::from_utf8_lossy(other),
                        self.rev
                    ),
                    None,
                ),
            }
        }
    }

    fn catalog_change(&mut self, label: &str, old: &Dict, new: &Dict) {
        let file = self.doc.file;
        for k in changed_keys(old, new, file) {
            match k {
                b"DSS" | b"Extensions" => self.push(
                    ModLevel::LtaUpdates,
                    format!(
                        "{label}: /{} updated in revision {}",
                        String::from_utf8_lossy(k),
                        self.rev
                    ),
                    None,
                ),
                b"Metadata" => self.push(
                    ModLevel::LtaUpdates,
                    format!("{label}: /Metadata replaced in revision {}", self.rev),
                    None,
                ),
                b"Perms" => self.push(
                    ModLevel::FormFilling,
                    format!("{label}: /Perms updated in revision {}", self.rev),
                    None,
                ),
                b"AcroForm" => {
                    let same_ref = matches!((old.get(k), new.get(k)),
                        (Some(Object::Ref(a)), Some(Object::Ref(b))) if a == b);
                    if same_ref {
                        continue;
                    }
                    let o = old.get(k).and_then(|x| self.doc.resolve(x, self.prev));
                    let o = o.and_then(|x| x.dict().cloned()).unwrap_or_default();
                    let n = new.get(k).and_then(|x| self.doc.resolve(x, self.rev));
                    let n = n.and_then(|x| x.dict().cloned()).unwrap_or_default();
                    self.acroform_change(&o, &n);
                }
                other => self.push(
                    ModLevel::Other,
                    format!(
                        "{label}: entry /{} was changed in revision {}",
                        String::from_utf8_lossy(other),
                        self.rev
                    ),
                    None,
                ),
            }
        }
    }

    fn annots_change(&mut self, page: usize, old: Vec<Object>, new: Vec<Object>) {
        let file = self.doc.file;
        for o in &old {
            if new.iter().any(|x| x.same(o, file)) {
                continue;
            }
            let widget = self
                .doc
                .resolve(o, self.prev)
                .and_then(|a| a.dict().map(|d| d.name(b"Subtype") == Some(b"Widget")))
                .unwrap_or(false);
            self.push(
                if widget {
                    ModLevel::Other
                } else {
                    ModLevel::Annotations
                },
                format!(
                    "an annotation ({}) was removed from page {page} in revision {}",
                    ref_text(o),
                    self.rev
                ),
                None,
            );
        }
        for x in &new {
            if old.iter().any(|o| o.same(x, file)) {
                continue;
            }
            let Some(a) = self.doc.resolve(x, self.rev) else {
                continue;
            };
            let Some(ad) = a.dict() else { continue };
            let subtype = ad
                .name(b"Subtype")
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default();
            if subtype != "Widget" {
                self.push(
                    ModLevel::Annotations,
                    format!(
                        "a /{subtype} annotation was added to page {page} in revision {}",
                        self.rev
                    ),
                    None,
                );
                continue;
            }
            // The widget's field: itself (merged) or its /Parent chain.
            let mut ft = ad.name(b"FT").map(<[u8]>::to_vec);
            let mut field: Option<Dict> = ad.get(b"FT").map(|_| ad.clone());
            let mut parent = ad.get(b"Parent").cloned();
            for _ in 0..32 {
                if ft.is_some() {
                    break;
                }
                let Some(p) = parent.take() else { break };
                let Some(pr) = self.doc.resolve(&p, self.rev) else {
                    break;
                };
                let Some(pd) = pr.dict() else { break };
                ft = pd.name(b"FT").map(<[u8]>::to_vec);
                if field.is_none() && (pd.get(b"T").is_some() || ft.is_some()) {
                    field = Some(pd.clone());
                }
                parent = pd.get(b"Parent").cloned();
            }
            let existing = x.as_objref().is_some_and(|(n, _)| !self.is_new(n));
            if ft.as_deref() == Some(b"Sig") {
                let (level, what) = field
                    .as_ref()
                    .map(|f| self.sig_field_level(f))
                    .unwrap_or((ModLevel::FormFilling, "signature"));
                self.push(
                    level,
                    format!(
                        "widget of a {what} field was added to page {page} in revision {}{}",
                        self.rev,
                        if existing { " (existing object)" } else { "" }
                    ),
                    None,
                );
            } else {
                self.push(
                    ModLevel::Other,
                    format!(
                        "a form field widget was added to page {page} in revision {}",
                        self.rev
                    ),
                    None,
                );
            }
        }
    }

    /// A page's resources replaced or rewritten: harmless when every existing resource
    /// keeps its value (unchanged content streams can only use existing names).
    fn resources_change(&mut self, page: usize, old: Option<&Object>, new: Option<&Object>) {
        let file = self.doc.file;
        let (prev, rev) = (self.prev, self.rev);
        let od = old.and_then(|o| self.doc.resolve(o, prev));
        let nd = new.and_then(|o| self.doc.resolve(o, rev));
        let empty = Dict::default();
        let od = od.as_deref().and_then(Object::dict).unwrap_or(&empty);
        let nd = nd.as_deref().and_then(Object::dict).unwrap_or(&empty);
        let kept = od.0.iter().all(|(k, ov)| {
            if k.as_slice() == b"ProcSet" {
                return true;
            }
            let Some(nv) = nd.get(k) else { return false };
            if ov.same(nv, file) {
                return true;
            }
            let (Some(ovr), Some(nvr)) = (self.doc.resolve(ov, prev), self.doc.resolve(nv, rev))
            else {
                return false;
            };
            match (ovr.dict(), nvr.dict()) {
                (Some(a), Some(b)) => {
                    a.0.iter()
                        .all(|(name, v)| b.get(name).is_some_and(|w| w.same(v, file)))
                }
                _ => false,
            }
        });
        if kept {
            self.push(
                ModLevel::LtaUpdates,
                format!(
                    "page {page} resources extended in revision {rev} (existing resources unchanged)"
                ),
                None,
            );
        } else {
            self.push(
                ModLevel::Other,
                format!("page {page} resources were changed in revision {rev}"),
                None,
            );
        }
    }

    fn classify(&mut self, id: ObjId, old: &Rc<Loaded>, new: &Rc<Loaded>) {
        let file = self.doc.file;
        let role = self.roles.map.get(&id.0).cloned();
        let label = self.label(id, role.as_ref(), Some(&old.obj));
        let rev = self.rev;
        let (od, nd) = (old.obj.dict(), new.obj.dict());
        match (role, od, nd) {
            (Some(Role::Catalog), Some(o), Some(n)) => self.catalog_change(&label, o, n),
            (Some(Role::Info), ..) => self.push(
                ModLevel::LtaUpdates,
                format!("{label} was updated in revision {rev}"),
                None,
            ),
            (Some(Role::Metadata), ..) => self.push(
                ModLevel::LtaUpdates,
                format!("{label} was updated in revision {rev}"),
                None,
            ),
            (Some(Role::Dss), ..) => self.push(
                ModLevel::LtaUpdates,
                format!("{label} was updated in revision {rev}"),
                None,
            ),
            (Some(Role::Perms), ..) => self.push(
                ModLevel::FormFilling,
                format!("{label} was updated in revision {rev}"),
                None,
            ),
            (Some(Role::AcroForm), Some(o), Some(n)) => self.acroform_change(o, n),
            (Some(Role::FieldsArray), ..) => {
                let o = self.items(Some(&old.obj), self.prev);
                let n = self.items(Some(&new.obj), self.rev);
                self.fields_change(o, n);
            }
            (Some(Role::Field { name, sig, signed }), Some(o), Some(n)) => {
                let keys = changed_keys(o, n, file);
                if sig && !signed {
                    let ok = keys.iter().all(|k| {
                        matches!(
                            *k,
                            b"V" | b"AP"
                                | b"AS"
                                | b"F"
                                | b"MK"
                                | b"DA"
                                | b"Lock"
                                | b"SV"
                                | b"P"
                                | b"M"
                        )
                    });
                    let (level, what) = if ok {
                        self.sig_field_level(n)
                    } else {
                        (ModLevel::Other, "changed")
                    };
                    self.push(
                        level,
                        format!("{label}: {what} ({}) in revision {rev}", names(&keys)),
                        Some(name),
                    );
                } else if sig {
                    self.push(
                        ModLevel::Other,
                        format!(
                            "{label} (already signed) was changed ({}) in revision {rev}",
                            names(&keys)
                        ),
                        Some(name),
                    );
                } else {
                    let ok = keys
                        .iter()
                        .all(|k| matches!(*k, b"V" | b"AS" | b"AP" | b"MK" | b"M"));
                    self.push(
                        if ok {
                            ModLevel::FormFilling
                        } else {
                            ModLevel::Other
                        },
                        format!(
                            "{label} was {} ({}) in revision {rev}",
                            if ok { "filled in" } else { "changed" },
                            names(&keys)
                        ),
                        Some(name),
                    );
                }
            }
            (Some(Role::Appearance { level, owner }), ..) => self.push(
                level,
                format!("{label} was changed in revision {rev}"),
                Some(owner),
            ),
            (Some(Role::Annot { .. }), ..) => self.push(
                ModLevel::Annotations,
                format!("{label} was changed in revision {rev}"),
                None,
            ),
            (Some(Role::Page(p)), Some(o), Some(n)) => {
                let keys = changed_keys(o, n, file);
                let other: Vec<&[u8]> = keys
                    .iter()
                    .filter(|k| !matches!(**k, b"Annots" | b"Resources"))
                    .copied()
                    .collect();
                if !other.is_empty() {
                    self.push(
                        ModLevel::Other,
                        format!("{label} was changed ({}) in revision {rev}", names(&other)),
                        None,
                    );
                }
                let same_ref = |k: &[u8]| {
                    matches!((o.get(k), n.get(k)),
                        (Some(Object::Ref(a)), Some(Object::Ref(b))) if a == b)
                };
                if keys.contains(&&b"Annots"[..]) && !same_ref(b"Annots") {
                    let oa = self.items(o.get(b"Annots"), self.prev);
                    let na = self.items(n.get(b"Annots"), self.rev);
                    self.annots_change(p, oa, na);
                }
                if keys.contains(&&b"Resources"[..]) && !same_ref(b"Resources") {
                    self.resources_change(p, o.get(b"Resources"), n.get(b"Resources"));
                }
            }
            (Some(Role::PageResources(p)), ..) => {
                self.resources_change(p, Some(&old.obj), Some(&new.obj));
            }
            (Some(Role::AnnotsArray(p)), ..) => {
                let oa = self.items(Some(&old.obj), self.prev);
                let na = self.items(Some(&new.obj), self.rev);
                self.annots_change(p, oa, na);
            }
            (_, _, _) => {
                // XRef and object streams carry no content of their own.
                let container = |o: &Object| {
                    o.dict()
                        .and_then(|d| d.name(b"Type"))
                        .is_some_and(|t| t == b"XRef" || t == b"ObjStm")
                };
                if container(&old.obj) && container(&new.obj) {
                    return;
                }
                self.push(
                    ModLevel::Other,
                    format!("{label} was changed in revision {rev}"),
                    None,
                );
            }
        }
    }
}

fn ref_text(o: &Object) -> String {
    match o {
        Object::Ref((n, g)) => format!("object {n} {g}"),
        other => format!("direct {}", other.kind()),
    }
}

/// Classifies the changes revision `rev` (≥ 1) makes to revision `rev - 1`, spending at
/// most `budget` object visits on mapping roles (shared over all revisions, so a file with
/// thousands of revisions stays bounded; when it runs out, unmapped objects count as
/// `Other`, never as allowed).
pub fn revision_changes(doc: &Doc<'_>, rev: usize, budget: &mut usize) -> Vec<Change> {
    let Some(prev) = rev.checked_sub(1) else {
        return Vec::new();
    };
    let Some(r) = doc.revs.get(rev) else {
        return Vec::new();
    };
    let given = (*budget).min(MAX_WALK);
    let mapped = roles(doc, prev, given);
    *budget -= given - mapped.budget;
    if mapped.budget == 0 {
        doc.note(
            format!("revision {rev}"),
            "difference analysis budget exhausted: objects not mapped are treated as not allowed changes",
        );
    }
    let mut ctx = Ctx {
        doc,
        rev,
        prev,
        roles: mapped,
        out: Vec::new(),
    };
    let file = doc.file;
    let old_tr = doc
        .revs
        .get(prev)
        .map(|x| x.trailer.clone())
        .unwrap_or_default();
    let new_tr = &r.trailer;
    // Trailer: a new catalog object, /Info, /Encrypt.
    let root = |t: &Dict| t.get(b"Root").and_then(Object::as_objref);
    if let (Some(o), Some(n)) = (root(&old_tr), root(new_tr))
        && o.0 != n.0
    {
        let oc = doc.get(o.0, prev);
        let nc = doc.get(n.0, rev);
        match (
            oc.as_ref().and_then(|c| c.obj.dict()),
            nc.as_ref().and_then(|c| c.obj.dict()),
        ) {
            (Some(od), Some(nd)) => {
                let label = format!("catalog (replaced by object {} {})", n.0, n.1);
                ctx.catalog_change(&label, od, nd)
            }
            _ => ctx.push(
                ModLevel::Other,
                format!("the trailer /Root was replaced in revision {rev}"),
                None,
            ),
        }
    }
    for key in [&b"Encrypt"[..], b"Info"] {
        let (o, n) = (old_tr.get(key), new_tr.get(key));
        let differs = match (o, n) {
            (Some(a), Some(b)) => !a.same(b, file),
            (None, None) => false,
            _ => true,
        };
        if differs {
            let level = if key == b"Info" {
                ModLevel::LtaUpdates
            } else {
                ModLevel::Other
            };
            ctx.push(
                level,
                format!(
                    "the trailer /{} was changed in revision {rev}",
                    String::from_utf8_lossy(key)
                ),
                None,
            );
        }
    }
    let mut order = r.order.clone();
    order.sort_unstable();
    for num in order {
        let Some(def) = r.defs.get(&num).copied() else {
            continue;
        };
        let Some((_, old_def)) = doc.def_at(num, prev) else {
            continue; // A new object: judged through whatever refers to it.
        };
        if old_def.loc == def.loc {
            continue;
        }
        let old = doc.get(num, prev);
        if def.loc == Loc::Free {
            if let Some(o) = old {
                let container = o
                    .obj
                    .dict()
                    .and_then(|d| d.name(b"Type"))
                    .is_some_and(|t| t == b"XRef" || t == b"ObjStm");
                if !container {
                    let role = ctx.roles.map.get(&num).cloned();
                    let label = ctx.label(o.id, role.as_ref(), Some(&o.obj));
                    ctx.push(
                        ModLevel::Other,
                        format!("{label} was deleted in revision {rev}"),
                        None,
                    );
                }
            }
            continue;
        }
        let new = doc.get(num, rev);
        match (old, new) {
            (Some(o), Some(n)) => {
                if o.obj.same(&n.obj, file) {
                    continue;
                }
                if let Loc::File(off) = def.loc
                    && off < r.start
                {
                    let role = ctx.roles.map.get(&num).cloned();
                    let label = ctx.label(n.id, role.as_ref(), Some(&o.obj));
                    ctx.push(
                        ModLevel::Other,
                        format!("{label} was redefined in revision {rev} to bytes at offset {off}, inside an earlier revision"),
                        None,
                    );
                }
                ctx.classify(n.id, &o, &n);
            }
            (None, Some(n)) => {
                // It was free (or unreadable) before: treated as new.
                let _ = n;
            }
            (Some(o), None) => {
                let role = ctx.roles.map.get(&num).cloned();
                let label = ctx.label(o.id, role.as_ref(), Some(&o.obj));
                ctx.push(
                    ModLevel::Other,
                    format!("{label} was replaced by an unreadable object in revision {rev}"),
                    None,
                );
            }
            (None, None) => {}
        }
    }
    ctx.out
}
