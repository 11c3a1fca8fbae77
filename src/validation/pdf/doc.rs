//! The lazy document reader: revision boundaries (`%%EOF` markers), the cross-reference
//! chain (tables, streams, hybrid `/XRefStm`, `/Prev` with loop detection, ISO 32000-1
//! §7.5.4–§7.5.8), object streams, and on-demand loading of objects as of any revision.
//! When the cross-reference data cannot be used it rebuilds an index by scanning for
//! `N G obj` headers and says so in a finding.
//!
//! Owns: locating and parsing objects in a borrowed file image without copying it; nothing
//! is parsed before it is asked for, and stream data is decoded only for object streams and
//! cross-reference streams (always under caps).
//! Must not touch: signature semantics (fields, byte ranges, DSS) or change classification.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::ops::Deref;
use std::rc::Rc;

use super::filter;
use super::lexer::{Dict, LengthResolver, NoResolver, ObjId, Object, Parser, find, is_ws};
use super::{Finding, PdfError};

/// Most revisions (cross-reference sections) followed.
pub const MAX_REVISIONS: usize = 4096;
/// Most cross-reference entries over all sections.
pub const MAX_XREF_ENTRIES: usize = 4_000_000;
/// Largest decoded cross-reference or object stream.
pub const MAX_STREAM_DECODED: usize = 64 * 1024 * 1024;
/// Total bytes all object streams may decode to in one document.
pub const MAX_TOTAL_DECODED: usize = 256 * 1024 * 1024;
/// Most objects in one object stream.
pub const MAX_OBJSTM_OBJECTS: usize = 1 << 20;
/// Most findings the reader records about itself.
const MAX_FINDINGS: usize = 200;
/// Most `%%EOF` markers considered.
const MAX_MARKERS: usize = 100_000;
/// Most parsed objects kept in the cache.
const MAX_CACHED: usize = 200_000;
/// Constraint name used in findings.
pub const STRUCTURE: &str = "PDF: structure";

/// Where an object is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Loc {
    /// Free entry (the object is deleted / undefined).
    Free,
    /// Byte offset of its `N G obj` header in the file.
    File(usize),
    /// In an object stream: the stream's object number and the index in it.
    InStream {
        /// Object number of the object stream.
        stream: u32,
        /// Index within the stream.
        index: u32,
    },
}

/// A cross-reference entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Def {
    /// Generation.
    pub generation: u16,
    /// Location.
    pub loc: Loc,
}

/// How a revision's cross-reference data is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum XrefKind {
    /// Classic `xref` table.
    Table,
    /// Cross-reference stream.
    Stream,
    /// Table with `/XRefStm` (hybrid-reference file).
    Hybrid,
    /// No usable cross-reference data: rebuilt by scanning.
    Reconstructed,
}

/// One revision (the original document or one incremental update).
#[derive(Debug, Clone)]
pub struct Rev {
    /// First byte of the revision (end of the previous one, or 0).
    pub start: usize,
    /// Offset right after `%%EOF`.
    pub eof: usize,
    /// Offset after `%%EOF` and its end-of-line marker.
    pub end: usize,
    /// The `startxref` value written before its `%%EOF` (or the section offset).
    pub startxref: usize,
    /// Cross-reference kind.
    pub kind: XrefKind,
    /// The trailer dictionary (or cross-reference stream dictionary).
    pub trailer: Dict,
    /// Entries defined by this revision.
    pub defs: HashMap<u32, Def>,
    /// Object numbers in `defs`, in the order written.
    pub order: Vec<u32>,
}

/// A `%%EOF` marker.
#[derive(Debug, Clone, Copy)]
struct Marker {
    eof: usize,
    end: usize,
    startxref: Option<usize>,
}

/// A parsed cross-reference section.
struct Section {
    offset: usize,
    end: usize,
    stream: bool,
    trailer: Dict,
    entries: Vec<(u32, Def)>,
}

/// A loaded object and where it came from.
#[derive(Debug)]
pub struct Loaded {
    /// The object number and generation (from the xref).
    pub id: ObjId,
    /// The value.
    pub obj: Object,
    /// File extent of `N G obj … endobj`, when the object is not in an object stream.
    pub extent: Option<(usize, usize)>,
}

/// A reference to an object: borrowed (direct) or loaded (indirect).
pub enum R<'o> {
    /// Direct object inside another.
    Direct(&'o Object),
    /// Loaded indirect object.
    Loaded(Rc<Loaded>),
}

impl Deref for R<'_> {
    type Target = Object;
    fn deref(&self) -> &Object {
        match self {
            R::Direct(o) => o,
            R::Loaded(l) => &l.obj,
        }
    }
}

struct ObjStm {
    data: Vec<u8>,
    entries: Vec<(u32, usize)>,
}

/// The document reader.
pub struct Doc<'a> {
    /// The file.
    pub file: &'a [u8],
    /// Offset of `%PDF-`.
    pub header: usize,
    /// Revisions in file order.
    pub revs: Vec<Rev>,
    /// `%%EOF` boundaries that belong to no revision (offset after `%%EOF`).
    pub stray_eofs: Vec<usize>,
    findings: RefCell<Vec<Finding>>,
    cache: RefCell<HashMap<(Loc, u32), Rc<Loaded>>>,
    objstms: RefCell<HashMap<usize, Rc<ObjStm>>>,
    decoded: Cell<usize>,
    scan: OnceCell<HashMap<u32, Vec<usize>>>,
    /// The cross-reference chain was broken and objects may need the scan index.
    pub broken_chain: bool,
    length_depth: Cell<u32>,
}

impl<'a> Doc<'a> {
    /// Opens a document: header, `%%EOF` markers, the cross-reference chain. Nothing else.
    pub fn open(file: &'a [u8]) -> Result<Self, PdfError> {
        let window = file.get(..file.len().min(1024)).unwrap_or(&[]);
        let header = find(window, b"%PDF-").ok_or(PdfError::NotPdf)?;
        let mut doc = Doc {
            file,
            header,
            revs: Vec::new(),
            stray_eofs: Vec::new(),
            findings: RefCell::new(Vec::new()),
            cache: RefCell::new(HashMap::new()),
            objstms: RefCell::new(HashMap::new()),
            decoded: Cell::new(0),
            scan: OnceCell::new(),
            broken_chain: false,
            length_depth: Cell::new(0),
        };
        let markers = doc.markers();
        let start = markers
            .iter()
            .rev()
            .find_map(|m| m.startxref)
            .or_else(|| doc.tail_startxref());
        let sections = match start {
            Some(off) => doc.chain(off).map(|mut groups| {
                doc.unlinked(&markers, &mut groups);
                groups
            }),
            None => Err(PdfError::Xref("no startxref".into())),
        };
        match sections {
            Ok(groups) if !groups.is_empty() => doc.build_revisions(groups, &markers)?,
            Ok(_) | Err(_) => {
                let why = match sections {
                    Err(e) => e.to_string(),
                    Ok(_) => "empty cross-reference chain".into(),
                };
                doc.note(
                    "document",
                    format!("cross-reference data unusable ({why}); objects located by scanning"),
                );
                doc.reconstruct(&markers)?;
            }
        }
        Ok(doc)
    }

    /// Records a finding (deduplicated, capped).
    pub fn note(&self, object: impl Into<String>, reason: impl Into<String>) {
        let f = Finding::new(STRUCTURE, object, reason);
        let mut v = self.findings.borrow_mut();
        if v.len() < MAX_FINDINGS && !v.contains(&f) {
            v.push(f);
        }
    }

    /// Findings recorded so far.
    pub fn take_findings(&self) -> Vec<Finding> {
        std::mem::take(&mut self.findings.borrow_mut())
    }

    /// Index of the last revision.
    pub fn last(&self) -> usize {
        self.revs.len().saturating_sub(1)
    }

    fn markers(&self) -> Vec<Marker> {
        let f = self.file;
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(i) = f.get(from..).and_then(|s| find(s, b"%%EOF")) {
            let at = from + i;
            from = at + 5;
            let eof = at + 5;
            let mut end = eof;
            if f.get(end) == Some(&b'\r') {
                end += 1;
            }
            if f.get(end) == Some(&b'\n') {
                end += 1;
            }
            let back = f.get(at.saturating_sub(64)..at).unwrap_or(&[]);
            let startxref = find_last(back, b"startxref").and_then(|p| {
                let mut ps = Parser::new(back, p + 9, false);
                let v = ps.uint()?;
                ps.skip_ws();
                (ps.pos == back.len())
                    .then(|| usize::try_from(v).ok())
                    .flatten()
            });
            out.push(Marker {
                eof,
                end,
                startxref,
            });
            if out.len() >= MAX_MARKERS {
                break;
            }
        }
        out
    }

    fn tail_startxref(&self) -> Option<usize> {
        let from = self.file.len().saturating_sub(2048);
        let tail = self.file.get(from..)?;
        let p = find_last(tail, b"startxref")?;
        let mut ps = Parser::new(tail, p + 9, false);
        usize::try_from(ps.uint()?).ok()
    }

    /// Follows `startxref` and `/Prev`, returning groups of sections (a table and its
    /// `/XRefStm` form one group), most recent first.
    fn chain(&mut self, start: usize) -> Result<Vec<Vec<Section>>, PdfError> {
        let mut groups: Vec<Vec<Section>> = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(start);
        let mut entries = 0usize;
        while let Some(off) = next.take() {
            if !seen.insert(off) {
                self.note(
                    format!("cross-reference section at {off}"),
                    "/Prev chain loops back to an earlier section; stopped there",
                );
                break;
            }
            if groups.len() >= MAX_REVISIONS {
                return Err(PdfError::Limit("too many revisions"));
            }
            let sec = match self.section(off) {
                Ok(s) => s,
                Err(e) if groups.is_empty() => return Err(e),
                Err(e) => {
                    self.broken_chain = true;
                    self.note(
                        format!("cross-reference section at {off}"),
                        format!("/Prev points to an unreadable section ({e}); earlier revisions are recovered from their startxref values, objects not found there by scanning"),
                    );
                    break;
                }
            };
            entries += sec.entries.len();
            let mut group = Vec::new();
            let stm = if sec.stream {
                None
            } else {
                sec.trailer.get(b"XRefStm").and_then(Object::as_int)
            };
            next = sec
                .trailer
                .get(b"Prev")
                .and_then(Object::as_int)
                .and_then(|p| usize::try_from(p).ok());
            group.push(sec);
            if let Some(stm) = stm.and_then(|s| usize::try_from(s).ok()) {
                match self.section(stm) {
                    Ok(s) if s.stream => {
                        entries += s.entries.len();
                        group.push(s);
                    }
                    Ok(_) | Err(_) => self.note(
                        format!("cross-reference stream at {stm}"),
                        "/XRefStm does not point to a cross-reference stream",
                    ),
                }
            }
            if entries > MAX_XREF_ENTRIES {
                return Err(PdfError::Limit("too many cross-reference entries"));
            }
            groups.push(group);
        }
        Ok(groups)
    }

    /// Adds the sections that `startxref` values before `%%EOF` markers point to but that
    /// the `/Prev` chain does not reach (a broken chain, or an update unlinked on purpose):
    /// a reader that ignored them would not see what those revisions change.
    fn unlinked(&self, markers: &[Marker], groups: &mut Vec<Vec<Section>>) {
        let mut known: HashSet<usize> = groups.iter().flatten().map(|s| s.offset).collect();
        for m in markers {
            let Some(sx) = m.startxref else { continue };
            if groups.len() >= MAX_REVISIONS || known.contains(&sx) || sx == 0 {
                continue;
            }
            let Ok(sec) = self.section(sx) else { continue };
            if known.contains(&sec.offset) {
                continue;
            }
            known.insert(sec.offset);
            self.note(
                format!("cross-reference section at {sx}"),
                "a revision that the /Prev chain does not reach; it is included in the analysis",
            );
            let stm = (!sec.stream)
                .then(|| sec.trailer.get(b"XRefStm").and_then(Object::as_int))
                .flatten()
                .and_then(|v| usize::try_from(v).ok());
            let mut group = vec![sec];
            if let Some(stm) = stm
                && !known.contains(&stm)
                && let Ok(s) = self.section(stm)
                && s.stream
            {
                known.insert(stm);
                group.push(s);
            }
            groups.push(group);
        }
    }

    /// Parses the section at `off` (tolerating offsets relative to a late header).
    fn section(&self, off: usize) -> Result<Section, PdfError> {
        match self.section_at(off) {
            Ok(s) => Ok(s),
            Err(e) if self.header > 0 => self.section_at(off + self.header).map_err(|_| e),
            Err(e) => Err(e),
        }
    }

    fn section_at(&self, off: usize) -> Result<Section, PdfError> {
        if off >= self.file.len() {
            return Err(PdfError::Xref(format!("offset {off} beyond end of file")));
        }
        let mut p = Parser::new(self.file, off, true);
        if p.eat_keyword(b"xref") {
            self.table(p, off)
        } else {
            self.xref_stream(off)
        }
    }

    fn table(&self, mut p: Parser<'_>, off: usize) -> Result<Section, PdfError> {
        let mut entries = Vec::new();
        loop {
            if p.eat_keyword(b"trailer") {
                break;
            }
            let (Some(first), Some(count)) = (p.uint(), p.uint()) else {
                return Err(PdfError::Xref(format!("bad xref subsection at {}", p.pos)));
            };
            if count > MAX_XREF_ENTRIES as u64 || first > u64::from(u32::MAX) {
                return Err(PdfError::Limit("xref subsection too large"));
            }
            for i in 0..count {
                let (Some(o), Some(g)) = (p.uint(), p.uint()) else {
                    return Err(PdfError::Xref(format!("bad xref entry at {}", p.pos)));
                };
                let kind = if p.eat_keyword(b"n") {
                    true
                } else if p.eat_keyword(b"f") {
                    false
                } else {
                    return Err(PdfError::Xref(format!("bad xref entry type at {}", p.pos)));
                };
                let num = u32::try_from(first + i)
                    .map_err(|_| PdfError::Xref("object number too large".into()))?;
                let generation = u16::try_from(g).unwrap_or(u16::MAX);
                let loc = match usize::try_from(o) {
                    Ok(o) if kind && o > 0 => Loc::File(o),
                    _ => Loc::Free,
                };
                if num != 0 {
                    entries.push((num, Def { generation, loc }));
                }
                if entries.len() > MAX_XREF_ENTRIES {
                    return Err(PdfError::Limit("too many cross-reference entries"));
                }
            }
        }
        let trailer = match p.object()? {
            Object::Dict(d) => d,
            _ => return Err(PdfError::Xref("trailer is not a dictionary".into())),
        };
        Ok(Section {
            offset: off,
            end: p.pos,
            stream: false,
            trailer,
            entries,
        })
    }

    fn xref_stream(&self, off: usize) -> Result<Section, PdfError> {
        let mut p = Parser::new(self.file, off, true);
        let ind = p.indirect(&NoResolver)?;
        let Object::Stream(s) = ind.obj else {
            return Err(PdfError::Xref(format!("no xref table or stream at {off}")));
        };
        if s.dict.name(b"Type") != Some(b"XRef") {
            return Err(PdfError::Xref(format!(
                "object at {off} is not /Type /XRef"
            )));
        }
        let raw = self.file.get(s.data_start..s.data_end).unwrap_or(&[]);
        let data = filter::decode(&s.dict, raw, MAX_STREAM_DECODED)?;
        let w: Vec<usize> = match s.dict.get(b"W") {
            Some(Object::Array(a)) if a.len() == 3 => a
                .iter()
                .map(|x| x.as_int().and_then(|v| usize::try_from(v).ok()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| PdfError::Xref("bad /W".into()))?,
            _ => return Err(PdfError::Xref("missing /W".into())),
        };
        if w.iter().any(|&x| x > 8) {
            return Err(PdfError::Xref("/W field wider than 8 bytes".into()));
        }
        let width: usize = w.iter().sum();
        if width == 0 {
            return Err(PdfError::Xref("/W is all zero".into()));
        }
        let size = s.dict.get(b"Size").and_then(Object::as_int).unwrap_or(0);
        let index: Vec<i64> = match s.dict.get(b"Index") {
            Some(Object::Array(a)) => a.iter().filter_map(Object::as_int).collect(),
            _ => vec![0, size],
        };
        let mut entries = Vec::new();
        let mut rows = data.chunks_exact(width);
        for pair in index.chunks(2) {
            let [first, count] = pair else { break };
            let (Ok(first), Ok(count)) = (u32::try_from(*first), usize::try_from(*count)) else {
                return Err(PdfError::Xref("bad /Index".into()));
            };
            for i in 0..count {
                let Some(row) = rows.next() else { break };
                let (f0, rest) = row.split_at(w[0]);
                let (f1, f2) = rest.split_at(w[1]);
                let t = if w[0] == 0 { 1 } else { be(f0) };
                let (a, b) = (be(f1), be(f2));
                let Some(num) = first.checked_add(u32::try_from(i).unwrap_or(u32::MAX)) else {
                    break;
                };
                let def = match t {
                    0 => Def {
                        generation: u16::try_from(b).unwrap_or(u16::MAX),
                        loc: Loc::Free,
                    },
                    1 => Def {
                        generation: u16::try_from(b).unwrap_or(u16::MAX),
                        loc: match usize::try_from(a) {
                            Ok(o) if o > 0 => Loc::File(o),
                            _ => Loc::Free,
                        },
                    },
                    2 => Def {
                        generation: 0,
                        loc: Loc::InStream {
                            stream: u32::try_from(a).unwrap_or(u32::MAX),
                            index: u32::try_from(b).unwrap_or(u32::MAX),
                        },
                    },
                    _ => continue, // Reserved types are ignored (treated as null objects).
                };
                if num != 0 {
                    entries.push((num, def));
                }
            }
        }
        Ok(Section {
            offset: off,
            end: ind.end,
            stream: true,
            trailer: s.dict,
            entries,
        })
    }

    fn build_revisions(
        &mut self,
        groups: Vec<Vec<Section>>,
        markers: &[Marker],
    ) -> Result<(), PdfError> {
        // Assign each group to the first %%EOF after its main section.
        let mut by_marker: HashMap<usize, Vec<Vec<Section>>> = HashMap::new();
        for g in groups {
            let Some(main) = g.first() else { continue };
            let idx = markers
                .iter()
                .position(|m| m.eof >= main.end)
                .unwrap_or(usize::MAX);
            by_marker.entry(idx).or_default().push(g);
        }
        let mut idxs: Vec<usize> = by_marker.keys().copied().collect();
        idxs.sort_unstable();
        let mut revs = Vec::new();
        let mut start = 0;
        for idx in idxs {
            let gs = by_marker.remove(&idx).unwrap_or_default();
            let (eof, end, sx) = match markers.get(idx) {
                Some(m) => (m.eof, m.end, m.startxref),
                None => {
                    self.note(
                        "document",
                        "the last cross-reference section is not followed by %%EOF",
                    );
                    (self.file.len(), self.file.len(), None)
                }
            };
            let mut defs = HashMap::new();
            let mut order = Vec::new();
            let mut kind = XrefKind::Table;
            let mut trailer = None;
            let mut first_offset = None;
            // Groups are most recent first; within a group the table precedes /XRefStm.
            for g in &gs {
                for (k, sec) in g.iter().enumerate() {
                    if k == 0 {
                        first_offset.get_or_insert(sec.offset);
                        kind = if sec.stream {
                            XrefKind::Stream
                        } else if g.len() > 1 {
                            XrefKind::Hybrid
                        } else {
                            XrefKind::Table
                        };
                        if trailer.is_none() {
                            trailer = Some(sec.trailer.clone());
                        }
                    }
                    let mut dup = Vec::new();
                    for &(num, def) in &sec.entries {
                        match defs.entry(num) {
                            std::collections::hash_map::Entry::Vacant(v) => {
                                v.insert(def);
                                order.push(num);
                            }
                            std::collections::hash_map::Entry::Occupied(o) => {
                                if *o.get() != def && k == 0 {
                                    dup.push(num);
                                }
                            }
                        }
                    }
                    if let Some(n) = dup.first() {
                        self.note(
                            format!("cross-reference section at {}", sec.offset),
                            format!(
                                "{} object(s) defined twice with different locations (e.g. object {n})",
                                dup.len()
                            ),
                        );
                    }
                }
            }
            if gs.len() > 1 {
                self.note(
                    format!("revision ending at {eof}"),
                    "several cross-reference sections end before the same %%EOF",
                );
            }
            let startxref = sx.or(first_offset).unwrap_or(0);
            revs.push(Rev {
                start,
                eof,
                end,
                startxref,
                kind,
                trailer: trailer.unwrap_or_default(),
                defs,
                order,
            });
            start = end;
        }
        // Markers that end no revision: report the ones after the last revision and
        // those whose startxref points to a section the chain never reached.
        let last_end = revs.last().map(|r| r.end).unwrap_or(0);
        for m in markers {
            if revs.iter().any(|r| r.eof == m.eof) {
                continue;
            }
            self.stray_eofs.push(m.eof);
            if m.eof > last_end {
                self.note(
                    format!("bytes {last_end}–{}", m.end),
                    "a %%EOF after the last revision of the cross-reference chain (an update not linked by /Prev)",
                );
            }
        }
        if revs.is_empty() {
            return Err(PdfError::Xref("no revisions".into()));
        }
        self.revs = revs;
        Ok(())
    }

    /// Builds revisions from `%%EOF` markers and a scan of `N G obj` headers.
    fn reconstruct(&mut self, markers: &[Marker]) -> Result<(), PdfError> {
        self.broken_chain = true;
        let mut bounds: Vec<(usize, usize, Option<usize>)> = markers
            .iter()
            .map(|m| (m.eof, m.end, m.startxref))
            .collect();
        if bounds.last().is_none_or(|b| b.1 < self.file.len()) {
            let trailing = self
                .file
                .get(bounds.last().map(|b| b.1).unwrap_or(0)..)
                .unwrap_or(&[]);
            if !trailing.iter().all(|&b| is_ws(b)) || bounds.is_empty() {
                bounds.push((self.file.len(), self.file.len(), None));
            }
        }
        let scan = self.scan_index().clone();
        let mut all: Vec<(usize, u32)> = scan
            .iter()
            .flat_map(|(n, offs)| offs.iter().map(move |o| (*o, *n)))
            .collect();
        all.sort_unstable();
        let mut revs = Vec::new();
        let mut start = 0;
        let mut it = all.into_iter().peekable();
        for (eof, end, sx) in bounds {
            let mut defs = HashMap::new();
            let mut order = Vec::new();
            while let Some(&(off, num)) = it.peek() {
                if off >= eof {
                    break;
                }
                it.next();
                if defs
                    .insert(
                        num,
                        Def {
                            generation: 0,
                            loc: Loc::File(off),
                        },
                    )
                    .is_none()
                {
                    order.push(num);
                }
            }
            let span = self.file.get(start..eof).unwrap_or(&[]);
            let trailer = find_last(span, b"trailer")
                .and_then(|p| Parser::new(self.file, start + p + 7, true).object().ok())
                .and_then(|o| match o {
                    Object::Dict(d) => Some(d),
                    _ => None,
                })
                .unwrap_or_default();
            if defs.is_empty() && trailer.0.is_empty() {
                continue;
            }
            revs.push(Rev {
                start,
                eof,
                end,
                startxref: sx.unwrap_or(0),
                kind: XrefKind::Reconstructed,
                trailer,
                defs,
                order,
            });
            start = end;
            if revs.len() >= MAX_REVISIONS {
                return Err(PdfError::Limit("too many revisions"));
            }
        }
        if revs.is_empty() {
            return Err(PdfError::Xref("no objects found".into()));
        }
        // Without a trailer /Root, look for the catalog.
        if revs.iter().all(|r| r.trailer.get(b"Root").is_none()) {
            let last = revs.len() - 1;
            let mut nums: Vec<u32> = revs.iter().flat_map(|r| r.order.clone()).collect();
            nums.sort_unstable();
            nums.dedup();
            self.revs = revs;
            for n in nums.into_iter().take(100_000) {
                if let Ok(Some(l)) = self.load(n, last)
                    && l.obj.dict().and_then(|d| d.name(b"Type")) == Some(b"Catalog")
                {
                    self.revs[last]
                        .trailer
                        .0
                        .push((b"Root".to_vec(), Object::Ref((n, l.id.1))));
                    break;
                }
            }
            return Ok(());
        }
        self.revs = revs;
        Ok(())
    }

    /// Offsets of every `N G obj` header, by object number (built once, on demand).
    pub fn scan_index(&self) -> &HashMap<u32, Vec<usize>> {
        self.scan.get_or_init(|| {
            let f = self.file;
            let mut map: HashMap<u32, Vec<usize>> = HashMap::new();
            let mut count = 0usize;
            let mut from = 0;
            while let Some(i) = f.get(from..).and_then(|s| find(s, b"obj")) {
                let at = from + i;
                from = at + 3;
                if f.get(at + 3)
                    .is_some_and(|&b| !is_ws(b) && !b"<[/(%".contains(&b))
                {
                    continue;
                }
                if let Some((num, start)) = header_before(f, at) {
                    map.entry(num).or_default().push(start);
                    count += 1;
                    if count >= MAX_XREF_ENTRIES {
                        break;
                    }
                }
            }
            map
        })
    }

    /// The entry of object `num` as of revision `rev`, and the revision defining it.
    pub fn def_at(&self, num: u32, rev: usize) -> Option<(usize, Def)> {
        let top = rev.min(self.revs.len().checked_sub(1)?);
        (0..=top)
            .rev()
            .find_map(|r| self.revs.get(r)?.defs.get(&num).map(|d| (r, *d)))
    }

    /// Loads object `num` as it is in revision `rev` (`None`: undefined or free).
    pub fn load(&self, num: u32, rev: usize) -> Result<Option<Rc<Loaded>>, PdfError> {
        let Some((drev, def)) = self.def_at(num, rev) else {
            if self.broken_chain {
                return self.load_scanned(num, rev);
            }
            return Ok(None);
        };
        let key = (def.loc, num);
        if let Some(l) = self.cache.borrow().get(&key) {
            return Ok(Some(l.clone()));
        }
        let loaded = match def.loc {
            Loc::Free => return Ok(None),
            Loc::File(off) => match self.parse_at(off, num, drev) {
                Ok(l) => l,
                Err(e) => {
                    let found = self.load_scanned(num, rev)?;
                    self.note(
                        format!("object {num} {}", def.generation),
                        format!(
                            "cross-reference offset {off} is wrong ({e}); {}",
                            if found.is_some() {
                                "object found by scanning"
                            } else {
                                "object not found"
                            }
                        ),
                    );
                    return Ok(found);
                }
            },
            Loc::InStream { stream, index } => self.load_from_objstm(num, stream, index, drev)?,
        };
        let loaded = Rc::new(loaded);
        let mut cache = self.cache.borrow_mut();
        if cache.len() < MAX_CACHED {
            cache.insert(key, loaded.clone());
        }
        Ok(Some(loaded))
    }

    fn parse_at(&self, off: usize, num: u32, rev: usize) -> Result<Loaded, PdfError> {
        let try_at = |o: usize| -> Result<Loaded, PdfError> {
            if o >= self.file.len() {
                return Err(PdfError::Xref("offset beyond end of file".into()));
            }
            let res = Lengths { doc: self, rev };
            let ind = Parser::new(self.file, o, true).indirect(&res)?;
            if ind.id.0 != num {
                return Err(PdfError::Xref(format!(
                    "offset holds object {} instead",
                    ind.id.0
                )));
            }
            if ind.missing_endobj {
                self.note(format!("object {num} at {o}"), "has no endobj");
            }
            if let Object::Stream(s) = &ind.obj
                && s.length_repaired
            {
                self.note(
                    format!("object {num} at {o}"),
                    "stream /Length is wrong; the end was found by searching for endstream",
                );
            }
            Ok(Loaded {
                id: ind.id,
                obj: ind.obj,
                extent: Some((o, ind.end)),
            })
        };
        match try_at(off) {
            Ok(l) => Ok(l),
            Err(e) if self.header > 0 => try_at(off + self.header).map_err(|_| e),
            Err(e) => Err(e),
        }
    }

    fn load_scanned(&self, num: u32, rev: usize) -> Result<Option<Rc<Loaded>>, PdfError> {
        let limit = self.revs.get(rev).map(|r| r.end).unwrap_or(self.file.len());
        let Some(offs) = self.scan_index().get(&num) else {
            return Ok(None);
        };
        for &off in offs.iter().rev().filter(|&&o| o < limit) {
            if let Ok(l) = self.parse_at(off, num, rev) {
                return Ok(Some(Rc::new(l)));
            }
        }
        Ok(None)
    }

    fn load_from_objstm(
        &self,
        num: u32,
        stream: u32,
        index: u32,
        rev: usize,
    ) -> Result<Loaded, PdfError> {
        let Some((srev, sdef)) = self.def_at(stream, rev) else {
            return Err(PdfError::Xref(format!("object stream {stream} undefined")));
        };
        let Loc::File(soff) = sdef.loc else {
            return Err(PdfError::Xref(format!(
                "object stream {stream} is not a top-level object"
            )));
        };
        let cached = self.objstms.borrow().get(&soff).cloned();
        let stm = match cached {
            Some(s) => s,
            None => {
                let s = Rc::new(self.parse_objstm(soff, stream, srev)?);
                self.objstms.borrow_mut().insert(soff, s.clone());
                s
            }
        };
        let pos = match stm.entries.get(index as usize) {
            Some(&(n, pos)) if n == num => pos,
            _ => {
                // The index is wrong; fall back to the header's listing.
                stm.entries
                    .iter()
                    .find(|(n, _)| *n == num)
                    .map(|&(_, p)| p)
                    .ok_or_else(|| {
                        PdfError::Xref(format!("object {num} not in object stream {stream}"))
                    })?
            }
        };
        let obj = Parser::new(&stm.data, pos, false).object()?;
        if matches!(obj, Object::Stream(_)) {
            return Err(PdfError::Xref("stream inside an object stream".into()));
        }
        Ok(Loaded {
            id: (num, 0),
            obj,
            extent: None,
        })
    }

    fn parse_objstm(&self, off: usize, num: u32, rev: usize) -> Result<ObjStm, PdfError> {
        let l = self.parse_at(off, num, rev)?;
        let Object::Stream(s) = &l.obj else {
            return Err(PdfError::Xref(format!("object {num} is not a stream")));
        };
        let n = s.dict.get(b"N").and_then(Object::as_int).unwrap_or(0);
        let first = s.dict.get(b"First").and_then(Object::as_int).unwrap_or(-1);
        let (Ok(n), Ok(first)) = (usize::try_from(n), usize::try_from(first)) else {
            return Err(PdfError::Xref(format!(
                "object stream {num}: bad /N or /First"
            )));
        };
        if n > MAX_OBJSTM_OBJECTS {
            return Err(PdfError::Limit("too many objects in an object stream"));
        }
        let budget = MAX_TOTAL_DECODED.saturating_sub(self.decoded.get());
        let raw = self.file.get(s.data_start..s.data_end).unwrap_or(&[]);
        let data = filter::decode(&s.dict, raw, budget.min(MAX_STREAM_DECODED))?;
        self.decoded.set(self.decoded.get() + data.len());
        let mut p = Parser::new(&data, 0, false);
        let mut entries = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let (Some(on), Some(o)) = (p.uint(), p.uint()) else {
                break;
            };
            let (Ok(on), Ok(o)) = (u32::try_from(on), usize::try_from(o)) else {
                break;
            };
            entries.push((on, first.saturating_add(o)));
        }
        Ok(ObjStm { data, entries })
    }

    /// Loads and follows references (at most a few hops) as of revision `rev`.
    pub fn resolve<'o>(&self, obj: &'o Object, rev: usize) -> Option<R<'o>> {
        let mut cur = match obj {
            Object::Ref((n, _)) => R::Loaded(self.get(*n, rev)?),
            o => return Some(R::Direct(o)),
        };
        for _ in 0..8 {
            match &*cur {
                Object::Ref((n, _)) => {
                    let n = *n;
                    cur = R::Loaded(self.get(n, rev)?);
                }
                _ => return Some(cur),
            }
        }
        None
    }

    /// Loads object `num` as of `rev`, recording errors as findings.
    pub fn get(&self, num: u32, rev: usize) -> Option<Rc<Loaded>> {
        match self.load(num, rev) {
            Ok(l) => l,
            Err(e) => {
                self.note(format!("object {num}"), format!("cannot be read: {e}"));
                None
            }
        }
    }

    /// Resolves `key` of `dict` as a dictionary (or stream dictionary).
    pub fn dict_entry<'o>(&self, dict: &'o Dict, key: &[u8], rev: usize) -> Option<R<'o>> {
        let r = self.resolve(dict.get(key)?, rev)?;
        r.dict().is_some().then_some(r)
    }

    /// The trailer's `/Root` as of revision `rev`.
    pub fn catalog(&self, rev: usize) -> Option<Rc<Loaded>> {
        let r = (0..=rev.min(self.last()))
            .rev()
            .find_map(|i| self.revs.get(i)?.trailer.get(b"Root")?.as_objref())?;
        let l = self.get(r.0, rev)?;
        l.obj.dict().is_some().then_some(l)
    }

    /// Decodes a stream's data under `cap` (counts towards the document budget).
    pub fn decode_stream(&self, s: &super::lexer::Stream, cap: usize) -> Result<Vec<u8>, PdfError> {
        let budget = MAX_TOTAL_DECODED.saturating_sub(self.decoded.get());
        let raw = self.file.get(s.data_start..s.data_end).unwrap_or(&[]);
        let out = filter::decode(&s.dict, raw, cap.min(budget))?;
        self.decoded.set(self.decoded.get() + out.len());
        Ok(out)
    }
}

struct Lengths<'d, 'a> {
    doc: &'d Doc<'a>,
    rev: usize,
}

impl LengthResolver for Lengths<'_, '_> {
    fn length_of(&self, id: ObjId) -> Option<i64> {
        let d = self.doc.length_depth.get();
        if d > 4 {
            return None;
        }
        self.doc.length_depth.set(d + 1);
        let v = self
            .doc
            .load(id.0, self.rev)
            .ok()
            .flatten()
            .and_then(|l| l.obj.as_int());
        self.doc.length_depth.set(d);
        v
    }
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b))
}

/// Last occurrence of `needle` in `hay`.
pub fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let mut last = None;
    let mut from = 0;
    while let Some(i) = hay.get(from..).and_then(|s| find(s, needle)) {
        last = Some(from + i);
        from += i + 1;
    }
    last
}

/// Given the offset of `obj`, finds `N G` before it: returns N and the offset of N.
fn header_before(f: &[u8], at: usize) -> Option<(u32, usize)> {
    let mut i = at;
    let skip_ws = |i: &mut usize| {
        while *i > 0 && f.get(*i - 1).is_some_and(|&b| is_ws(b)) {
            *i -= 1;
        }
    };
    let digits = |i: &mut usize| -> Option<usize> {
        let end = *i;
        while *i > 0 && f.get(*i - 1).is_some_and(u8::is_ascii_digit) && end - *i < 10 {
            *i -= 1;
        }
        (end > *i).then_some(end)
    };
    skip_ws(&mut i);
    digits(&mut i)?;
    let gen_start = i;
    skip_ws(&mut i);
    if i == gen_start {
        return None;
    }
    let num_end = digits(&mut i)?;
    if i > 0
        && f.get(i - 1)
            .is_some_and(|&b| !is_ws(b) && !b">]})".contains(&b))
    {
        return None;
    }
    let n = std::str::from_utf8(f.get(i..num_end)?).ok()?.parse().ok()?;
    Some((n, i))
}
