//! PDF lexical layer and direct-object parser (ISO 32000-1 §7.2–§7.3) over a borrowed byte
//! slice: whitespace and comments, numbers, literal and hex strings, names with `#xx`,
//! arrays, dictionaries, indirect references and `N G obj … endobj` headers with streams.
//!
//! Owns: turning bytes into [`Object`] values under hard limits (nesting depth, element
//! count, string and name sizes). Stream data is never copied: a [`Stream`] records where
//! its raw bytes lie in the file.
//! Must not touch: cross-reference tables, decoding of stream data, or any signature logic.

use super::PdfError;

/// Maximum nesting of arrays and dictionaries.
pub const MAX_DEPTH: usize = 64;
/// Maximum number of objects (including nested ones) produced by one top-level parse.
pub const MAX_ELEMENTS: usize = 1 << 20;
/// Maximum decoded size of one string.
pub const MAX_STRING: usize = 32 * 1024 * 1024;
/// Maximum decoded length of one name.
pub const MAX_NAME: usize = 4096;

/// Object identifier: object number and generation.
pub type ObjId = (u32, u16);

/// A PDF string with where it was written.
#[derive(Debug, Clone)]
pub struct PdfStr {
    /// Decoded bytes.
    pub bytes: Vec<u8>,
    /// Written as `<…>` (hexadecimal).
    pub hex: bool,
    /// Offset of the opening delimiter and offset after the closing one, in the file;
    /// `None` when the string was parsed from decompressed data (an object stream).
    pub span: Option<(usize, usize)>,
}

/// A stream: its dictionary and where its raw (still encoded) bytes lie in the file.
#[derive(Debug, Clone)]
pub struct Stream {
    /// The stream dictionary.
    pub dict: Dict,
    /// Offset of the first data byte in the file.
    pub data_start: usize,
    /// Offset after the last data byte.
    pub data_end: usize,
    /// `/Length` did not match and the end was found by searching for `endstream`.
    pub length_repaired: bool,
}

/// A dictionary, keys in written order (duplicates kept so they can be reported).
#[derive(Debug, Clone, Default)]
pub struct Dict(pub Vec<(Vec<u8>, Object)>);

impl Dict {
    /// The value of `key`; with duplicate keys the last one (as most readers do).
    pub fn get(&self, key: &[u8]) -> Option<&Object> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k.as_slice() == key)
            .map(|(_, v)| v)
    }

    /// `true` when some key occurs twice.
    pub fn has_duplicate_keys(&self) -> bool {
        let mut keys: Vec<&[u8]> = self.0.iter().map(|(k, _)| k.as_slice()).collect();
        keys.sort_unstable();
        keys.windows(2).any(|w| w[0] == w[1])
    }

    /// The name value of `key`, if it is a name.
    pub fn name(&self, key: &[u8]) -> Option<&[u8]> {
        match self.get(key) {
            Some(Object::Name(n)) => Some(n.as_slice()),
            _ => None,
        }
    }

    /// Keys (deduplicated, sorted).
    pub fn keys(&self) -> Vec<&[u8]> {
        let mut keys: Vec<&[u8]> = self.0.iter().map(|(k, _)| k.as_slice()).collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

/// A PDF object.
#[derive(Debug, Clone)]
pub enum Object {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Integer.
    Int(i64),
    /// Real number.
    Real(f64),
    /// String.
    Str(PdfStr),
    /// Name (decoded, without the slash).
    Name(Vec<u8>),
    /// Array.
    Array(Vec<Object>),
    /// Dictionary.
    Dict(Dict),
    /// Stream (only as the value of an indirect object).
    Stream(Stream),
    /// Indirect reference `N G R`.
    Ref(ObjId),
}

impl Object {
    /// The dictionary of a dictionary or stream.
    pub fn dict(&self) -> Option<&Dict> {
        match self {
            Object::Dict(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }

    /// Integer value.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Object::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Name value.
    pub fn as_name(&self) -> Option<&[u8]> {
        match self {
            Object::Name(n) => Some(n),
            _ => None,
        }
    }

    /// Reference value.
    pub fn as_objref(&self) -> Option<ObjId> {
        match self {
            Object::Ref(r) => Some(*r),
            _ => None,
        }
    }

    /// A short type name for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Null => "null",
            Object::Bool(_) => "boolean",
            Object::Int(_) => "integer",
            Object::Real(_) => "real",
            Object::Str(_) => "string",
            Object::Name(_) => "name",
            Object::Array(_) => "array",
            Object::Dict(_) => "dictionary",
            Object::Stream(_) => "stream",
            Object::Ref(_) => "reference",
        }
    }

    /// Structural equality (string spans and repaired lengths ignored; stream data compared
    /// byte for byte in `file`). Bounded by [`MAX_DEPTH`].
    pub fn same(&self, other: &Object, file: &[u8]) -> bool {
        same_at(self, other, file, 0)
    }
}

fn same_at(a: &Object, b: &Object, file: &[u8], depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match (a, b) {
        (Object::Null, Object::Null) => true,
        (Object::Bool(x), Object::Bool(y)) => x == y,
        (Object::Int(x), Object::Int(y)) => x == y,
        (Object::Real(x), Object::Real(y)) => x.to_bits() == y.to_bits(),
        (Object::Int(x), Object::Real(y)) | (Object::Real(y), Object::Int(x)) => (*x as f64) == *y,
        (Object::Str(x), Object::Str(y)) => x.bytes == y.bytes,
        (Object::Name(x), Object::Name(y)) => x == y,
        (Object::Ref(x), Object::Ref(y)) => x == y,
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(p, q)| same_at(p, q, file, depth + 1))
        }
        (Object::Dict(x), Object::Dict(y)) => same_dict(x, y, file, depth),
        (Object::Stream(x), Object::Stream(y)) => {
            same_dict(&x.dict, &y.dict, file, depth)
                && match (
                    file.get(x.data_start..x.data_end),
                    file.get(y.data_start..y.data_end),
                ) {
                    (Some(p), Some(q)) => p == q,
                    _ => false,
                }
        }
        _ => false,
    }
}

fn same_dict(x: &Dict, y: &Dict, file: &[u8], depth: usize) -> bool {
    let kx = x.keys();
    let ky = y.keys();
    kx == ky
        && kx.iter().all(|k| match (x.get(k), y.get(k)) {
            (Some(p), Some(q)) => same_at(p, q, file, depth + 1),
            _ => false,
        })
}

/// PDF whitespace (ISO 32000-1 Table 1).
pub fn is_ws(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// PDF delimiter (ISO 32000-1 Table 2).
pub fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(b: u8) -> bool {
    !is_ws(b) && !is_delim(b)
}

/// Hex digit values; 0xFF for anything else.
static HEX: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Something that can tell the value of an indirect `/Length`.
pub trait LengthResolver {
    /// The integer value of object `id`, if it can be found.
    fn length_of(&self, id: ObjId) -> Option<i64>;
}

/// No indirect lengths can be resolved (object streams, tests).
pub struct NoResolver;

impl LengthResolver for NoResolver {
    fn length_of(&self, _id: ObjId) -> Option<i64> {
        None
    }
}

/// A cursor over a byte slice that parses PDF objects.
pub struct Parser<'a> {
    buf: &'a [u8],
    /// Current position in `buf`.
    pub pos: usize,
    /// Whether `buf` is the file (string spans recorded) or decompressed data.
    in_file: bool,
    elements: usize,
}

/// An indirect object parsed at an offset.
#[derive(Debug, Clone)]
pub struct Indirect {
    /// Its identifier as written in the header.
    pub id: ObjId,
    /// Its value.
    pub obj: Object,
    /// Offset after `endobj` (or after the value when `endobj` is missing).
    pub end: usize,
    /// `endobj` was missing.
    pub missing_endobj: bool,
}

impl<'a> Parser<'a> {
    /// A parser over `buf` starting at `pos`; `in_file` says whether `buf` is the file.
    pub fn new(buf: &'a [u8], pos: usize, in_file: bool) -> Self {
        Parser {
            buf,
            pos,
            in_file,
            elements: 0,
        }
    }

    fn err(&self, msg: impl Into<String>) -> PdfError {
        PdfError::Syntax {
            offset: self.pos,
            msg: msg.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Skips whitespace and comments.
    pub fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if is_ws(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Reads a run of regular characters (a keyword or number token) without consuming
    /// leading whitespace.
    fn regular_run(&mut self) -> &'a [u8] {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if !is_regular(b) {
                break;
            }
            self.pos += 1;
        }
        self.buf.get(start..self.pos).unwrap_or(&[])
    }

    /// After whitespace, consumes `kw` if it is the next token.
    pub fn eat_keyword(&mut self, kw: &[u8]) -> bool {
        let save = self.pos;
        self.skip_ws();
        let tok = self.regular_run();
        if tok == kw {
            true
        } else {
            self.pos = save;
            false
        }
    }

    /// After whitespace, reads an unsigned integer token.
    pub fn uint(&mut self) -> Option<u64> {
        let save = self.pos;
        self.skip_ws();
        let tok = self.regular_run();
        if tok.is_empty() || tok.len() > 19 || !tok.iter().all(u8::is_ascii_digit) {
            self.pos = save;
            return None;
        }
        let mut v: u64 = 0;
        for d in tok {
            v = v * 10 + u64::from(d - b'0');
        }
        Some(v)
    }

    /// Parses one object (a `N G R` reference when one is written).
    pub fn object(&mut self) -> Result<Object, PdfError> {
        self.object_at_depth(0)
    }

    fn bump(&mut self) -> Result<(), PdfError> {
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(PdfError::Limit("too many elements in one object"));
        }
        Ok(())
    }

    fn object_at_depth(&mut self, depth: usize) -> Result<Object, PdfError> {
        if depth > MAX_DEPTH {
            return Err(PdfError::Limit("nesting deeper than 64"));
        }
        self.bump()?;
        self.skip_ws();
        let Some(b) = self.peek() else {
            return Err(self.err("unexpected end of data"));
        };
        match b {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.name_body()?))
            }
            b'(' => self.literal_string(),
            b'<' => {
                if self.buf.get(self.pos + 1) == Some(&b'<') {
                    self.pos += 2;
                    Ok(Object::Dict(self.dict_body(depth)?))
                } else {
                    self.hex_string()
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(self.err("unterminated array")),
                        Some(b']') => {
                            self.pos += 1;
                            break;
                        }
                        Some(_) => items.push(self.object_at_depth(depth + 1)?),
                    }
                }
                Ok(Object::Array(items))
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => self.number_or_ref(),
            _ => {
                let start = self.pos;
                let tok = self.regular_run();
                match tok {
                    b"true" => Ok(Object::Bool(true)),
                    b"false" => Ok(Object::Bool(false)),
                    b"null" => Ok(Object::Null),
                    _ => {
                        self.pos = start;
                        Err(self.err(format!(
                            "unexpected token {:?}",
                            String::from_utf8_lossy(&tok[..tok.len().min(20)])
                        )))
                    }
                }
            }
        }
    }

    fn number_or_ref(&mut self) -> Result<Object, PdfError> {
        let tok = self.regular_run();
        let num = parse_number(tok).ok_or_else(|| self.err("bad number"))?;
        if let Object::Int(n) = num
            && n >= 0
            && tok.iter().all(u8::is_ascii_digit)
        {
            // Look ahead for `G R`.
            let save = self.pos;
            if let Some(g) = self.uint()
                && self.eat_keyword(b"R")
                && let (Ok(n), Ok(g)) = (u32::try_from(n), u16::try_from(g))
            {
                return Ok(Object::Ref((n, g)));
            }
            self.pos = save;
        }
        Ok(num)
    }

    fn name_body(&mut self) -> Result<Vec<u8>, PdfError> {
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            if !is_regular(b) {
                break;
            }
            self.pos += 1;
            if b == b'#'
                && let (Some(h), Some(l)) = (
                    self.peek().and_then(hex_val),
                    self.buf.get(self.pos + 1).copied().and_then(hex_val),
                )
            {
                out.push(h << 4 | l);
                self.pos += 2;
            } else {
                out.push(b);
            }
            if out.len() > MAX_NAME {
                return Err(PdfError::Limit("name too long"));
            }
        }
        Ok(out)
    }

    fn literal_string(&mut self) -> Result<Object, PdfError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        let mut nest = 1usize;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            match b {
                b'(' => {
                    nest += 1;
                    out.push(b);
                }
                b')' => {
                    nest -= 1;
                    if nest == 0 {
                        break;
                    }
                    out.push(b);
                }
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                b'\r' => {
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                _ => out.push(b),
            }
            if out.len() > MAX_STRING {
                return Err(PdfError::Limit("string too long"));
            }
        }
        Ok(Object::Str(PdfStr {
            bytes: out,
            hex: false,
            span: self.in_file.then_some((start, self.pos)),
        }))
    }

    fn hex_string(&mut self) -> Result<Object, PdfError> {
        let start = self.pos;
        let body_start = start + 1;
        // One scan for the end, then a tight loop over the body (signature /Contents are
        // tens of kilobytes of hex).
        let rest = self.buf.get(body_start..).unwrap_or(&[]);
        let Some(len) = rest.iter().position(|&b| b == b'>') else {
            self.pos = self.buf.len();
            return Err(self.err("unterminated hex string"));
        };
        if len / 2 > MAX_STRING {
            return Err(PdfError::Limit("string too long"));
        }
        let body = &rest[..len];
        let mut out = Vec::with_capacity(len / 2 + 1);
        let mut hi: Option<u8> = None;
        // Fast path: pairs of hex digits (the common, whitespace-free case).
        let mut i = 0;
        while hi.is_none() && i + 1 < body.len() {
            let (a, b) = (HEX[usize::from(body[i])], HEX[usize::from(body[i + 1])]);
            if a > 15 || b > 15 {
                break;
            }
            out.push(a << 4 | b);
            i += 2;
        }
        for (j, &b) in body.iter().enumerate().skip(i) {
            if is_ws(b) {
                continue;
            }
            let Some(v) = hex_val(b) else {
                self.pos = body_start + j;
                return Err(self.err("bad character in hex string"));
            };
            match hi.take() {
                None => hi = Some(v),
                Some(h) => out.push(h << 4 | v),
            }
        }
        if let Some(h) = hi {
            out.push(h << 4);
        }
        self.pos = body_start + len + 1;
        Ok(Object::Str(PdfStr {
            bytes: out,
            hex: true,
            span: self.in_file.then_some((start, self.pos)),
        }))
    }

    fn dict_body(&mut self, depth: usize) -> Result<Dict, PdfError> {
        let mut entries = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(self.err("unterminated dictionary")),
                Some(b'>') => {
                    if self.buf.get(self.pos + 1) == Some(&b'>') {
                        self.pos += 2;
                        return Ok(Dict(entries));
                    }
                    return Err(self.err("stray '>' in dictionary"));
                }
                Some(b'/') => {
                    self.pos += 1;
                    let key = self.name_body()?;
                    self.skip_ws();
                    if matches!(self.peek(), Some(b'>') | Some(b'/')) {
                        // A key without a value: read as null (tolerated by most readers).
                        if self.peek() == Some(b'/') {
                            // `/Key /Name` is a key with a name value; only `>>` means missing.
                            let value = self.object_at_depth(depth + 1)?;
                            entries.push((key, value));
                        } else {
                            entries.push((key, Object::Null));
                        }
                        continue;
                    }
                    let value = self.object_at_depth(depth + 1)?;
                    entries.push((key, value));
                }
                Some(_) => return Err(self.err("dictionary key is not a name")),
            }
        }
    }

    /// Parses `N G obj <value> endobj` at the current position. When the value is a
    /// dictionary followed by `stream`, the stream's data extent is located using `/Length`
    /// (resolved through `lengths` when indirect) and checked against `endstream`; when that
    /// fails, `endstream` is searched for.
    pub fn indirect(&mut self, lengths: &dyn LengthResolver) -> Result<Indirect, PdfError> {
        self.skip_ws();
        let num = self
            .uint()
            .ok_or_else(|| self.err("expected object number"))?;
        let generation = self.uint().ok_or_else(|| self.err("expected generation"))?;
        if !self.eat_keyword(b"obj") {
            return Err(self.err("expected 'obj'"));
        }
        let num = u32::try_from(num).map_err(|_| self.err("object number too large"))?;
        let generation = u16::try_from(generation).map_err(|_| self.err("generation too large"))?;
        let obj = self.object()?;
        let obj = match obj {
            Object::Dict(dict) if self.eat_keyword(b"stream") => {
                Object::Stream(self.stream_body(dict, lengths)?)
            }
            other => other,
        };
        let missing_endobj = !self.eat_keyword(b"endobj");
        Ok(Indirect {
            id: (num, generation),
            obj,
            end: self.pos,
            missing_endobj,
        })
    }

    fn stream_body(
        &mut self,
        dict: Dict,
        lengths: &dyn LengthResolver,
    ) -> Result<Stream, PdfError> {
        // `stream` is followed by CRLF or LF (a lone CR is tolerated).
        match self.peek() {
            Some(b'\r') => {
                self.pos += 1;
                if self.peek() == Some(b'\n') {
                    self.pos += 1;
                }
            }
            Some(b'\n') => self.pos += 1,
            _ => {}
        }
        let data_start = self.pos;
        let declared = match dict.get(b"Length") {
            Some(Object::Int(n)) => Some(*n),
            Some(Object::Ref(id)) => lengths.length_of(*id),
            _ => None,
        };
        if let Some(n) = declared
            && let Ok(n) = usize::try_from(n)
            && let Some(end) = data_start.checked_add(n)
            && end <= self.buf.len()
        {
            let mut p = Parser::new(self.buf, end, self.in_file);
            if p.eat_keyword(b"endstream") {
                self.pos = p.pos;
                return Ok(Stream {
                    dict,
                    data_start,
                    data_end: end,
                    length_repaired: false,
                });
            }
        }
        // Repair: search for `endstream`.
        let rest = self.buf.get(data_start..).unwrap_or(&[]);
        let at = find(rest, b"endstream").ok_or_else(|| self.err("stream without endstream"))?;
        let mut data_end = data_start + at;
        // Drop the EOL that precedes `endstream`.
        if data_end > data_start && self.buf.get(data_end - 1) == Some(&b'\n') {
            data_end -= 1;
            if data_end > data_start && self.buf.get(data_end - 1) == Some(&b'\r') {
                data_end -= 1;
            }
        } else if data_end > data_start && self.buf.get(data_end - 1) == Some(&b'\r') {
            data_end -= 1;
        }
        self.pos = data_start + at + b"endstream".len();
        Ok(Stream {
            dict,
            data_start,
            data_end,
            length_repaired: true,
        })
    }
}

/// Parses a number token.
pub fn parse_number(tok: &[u8]) -> Option<Object> {
    if tok.is_empty() || tok.len() > 64 {
        return None;
    }
    let s = std::str::from_utf8(tok).ok()?;
    // Out-of-range integers become reals (ISO 32000-1 §7.3.3 tolerance).
    if !tok.contains(&b'.')
        && let Ok(i) = s.parse::<i64>()
    {
        return Some(Object::Int(i));
    }
    let t = s.strip_prefix('+').unwrap_or(s);
    // Rust accepts "1e5", "inf", "NaN": PDF does not.
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        || t.bytes().filter(|&b| b == b'.').count() > 1
        || t.bytes().skip(1).any(|b| b == b'-')
    {
        return None;
    }
    let t = if t == "-" || t == "." || t == "-." {
        "0"
    } else {
        t
    };
    t.parse::<f64>().ok().map(Object::Real)
}

/// Finds `needle` in `hay` (first occurrence). Linear; uses a fast scan for the first byte.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while from < hay.len() {
        let i = from + find_byte(hay.get(from..)?, first)?;
        if hay.get(i..i + needle.len()) == Some(needle) {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

/// Position of the first `b` in `hay`, eight bytes at a time.
pub fn find_byte(hay: &[u8], b: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pat = LO.wrapping_mul(u64::from(b));
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w) ^ pat;
        if (x.wrapping_sub(LO) & !x & HI) != 0 {
            return chunk.iter().position(|&c| c == b).map(|p| base + p);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b)
        .map(|p| base + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Object {
        Parser::new(s.as_bytes(), 0, true).object().unwrap()
    }

    #[test]
    fn strings_names_numbers_refs() {
        match parse("(a\\(b\\)\\101\\\nc\r\nd)") {
            Object::Str(s) => assert_eq!(s.bytes, b"a(b)Ac\nd"),
            o => panic!("{o:?}"),
        }
        match parse("<48 65 6c6>") {
            Object::Str(s) => {
                assert_eq!(s.bytes, b"Hel\x60");
                assert!(s.hex);
                assert_eq!(s.span, Some((0, 11)));
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(parse("/A#20B").as_name(), Some(&b"A B"[..]));
        assert_eq!(parse("[1 0 R 2]").kind(), "array");
        match parse("[1 0 R 2 -3 4.5]") {
            Object::Array(v) => {
                assert_eq!(v[0].as_objref(), Some((1, 0)));
                assert_eq!(v[1].as_int(), Some(2));
                assert_eq!(v[2].as_int(), Some(-3));
                assert!(matches!(v[3], Object::Real(r) if r == 4.5));
            }
            o => panic!("{o:?}"),
        }
        let d = parse("<</A 1/B<</C[true null]>>/A 2>>");
        assert!(d.dict().unwrap().has_duplicate_keys());
        assert_eq!(d.dict().unwrap().get(b"A").unwrap().as_int(), Some(2));
    }

    #[test]
    fn nesting_and_garbage_are_errors() {
        let deep = "[".repeat(10_000);
        assert!(matches!(
            Parser::new(deep.as_bytes(), 0, true).object(),
            Err(PdfError::Limit(_))
        ));
        assert!(Parser::new(b"<zz>", 0, true).object().is_err());
        assert!(Parser::new(b"(abc", 0, true).object().is_err());
        assert!(Parser::new(b"<</A 1", 0, true).object().is_err());
        assert!(Parser::new(b"1e5", 0, true).object().is_err());
    }

    #[test]
    fn indirect_stream_with_wrong_length_is_repaired() {
        let src = b"5 0 obj\n<</Length 3>>\nstream\nhello\nendstream\nendobj\n";
        let ind = Parser::new(src, 0, true).indirect(&NoResolver).unwrap();
        assert_eq!(ind.id, (5, 0));
        match ind.obj {
            Object::Stream(s) => {
                assert!(s.length_repaired);
                assert_eq!(&src[s.data_start..s.data_end], b"hello");
            }
            o => panic!("{o:?}"),
        }
        assert!(!ind.missing_endobj);
    }

    #[test]
    fn find_byte_agrees_with_naive() {
        let hay: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        for b in [0u8, 1, 7, 250, 255] {
            assert_eq!(find_byte(&hay, b), hay.iter().position(|&c| c == b));
        }
        assert_eq!(find(b"xx%%EOF", b"%%EOF"), Some(2));
    }
}
