//! Stream decoding (ISO 32000-1 §7.4) for the few streams signature validation needs:
//! cross-reference streams, object streams and DSS values (certificates, OCSP responses,
//! CRLs). Supports no filter, `/FlateDecode` (with PNG and TIFF predictors) and
//! `/ASCIIHexDecode`, always under an output cap.
//!
//! Owns: decoding bytes it is handed. Must not touch: parsing objects or locating streams.

use std::io::Read;

use super::PdfError;
use super::lexer::{Dict, Object, is_ws};

/// Decodes `raw` per the stream dictionary's `/Filter` and `/DecodeParms`, producing at
/// most `cap` bytes (more is an error, not a truncation).
pub fn decode(dict: &Dict, raw: &[u8], cap: usize) -> Result<Vec<u8>, PdfError> {
    let filters: Vec<&[u8]> = match dict.get(b"Filter") {
        None | Some(Object::Null) => Vec::new(),
        Some(Object::Name(n)) => vec![n.as_slice()],
        Some(Object::Array(a)) => a.iter().filter_map(Object::as_name).collect(),
        Some(_) => return Err(PdfError::Decode("bad /Filter".into())),
    };
    if filters.len() > 4 {
        return Err(PdfError::Decode("too many filters".into()));
    }
    let parms: Vec<Option<&Dict>> = match dict.get(b"DecodeParms") {
        Some(Object::Dict(d)) => vec![Some(d)],
        Some(Object::Array(a)) => a.iter().map(Object::dict).collect(),
        _ => Vec::new(),
    };
    if filters.is_empty() {
        if raw.len() > cap {
            return Err(PdfError::Limit("stream larger than the decoding cap"));
        }
        return Ok(raw.to_vec());
    }
    let mut data: Option<Vec<u8>> = None;
    for (i, f) in filters.iter().enumerate() {
        let input: &[u8] = data.as_deref().unwrap_or(raw);
        let out = match *f {
            b"FlateDecode" | b"Fl" => {
                let inflated = inflate(input, cap)?;
                match parms.get(i).copied().flatten() {
                    Some(p) => predict(p, inflated, cap)?,
                    None => inflated,
                }
            }
            b"ASCIIHexDecode" | b"AHx" => ascii_hex(input, cap)?,
            other => {
                return Err(PdfError::Decode(format!(
                    "unsupported filter /{}",
                    String::from_utf8_lossy(other)
                )));
            }
        };
        data = Some(out);
    }
    Ok(data.unwrap_or_default())
}

/// zlib inflate with an output cap. A bad checksum or truncated tail after some output is
/// tolerated (common in the wild); a stream that yields nothing is an error.
pub fn inflate(input: &[u8], cap: usize) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let mut dec = flate2::read::ZlibDecoder::new(input).take(limit);
    let res = dec.read_to_end(&mut out);
    if out.len() > cap {
        return Err(PdfError::Limit("decompressed stream exceeds the cap"));
    }
    match res {
        Ok(_) => Ok(out),
        Err(_) if !out.is_empty() => Ok(out),
        Err(e) => Err(PdfError::Decode(format!("FlateDecode: {e}"))),
    }
}

fn ascii_hex(input: &[u8], cap: usize) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::new();
    let mut hi: Option<u8> = None;
    for &b in input {
        if b == b'>' {
            break;
        }
        if is_ws(b) {
            continue;
        }
        let v = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err(PdfError::Decode("bad ASCIIHex data".into())),
        };
        match hi.take() {
            None => hi = Some(v),
            Some(h) => out.push(h << 4 | v),
        }
        if out.len() > cap {
            return Err(PdfError::Limit("decoded stream exceeds the cap"));
        }
    }
    if let Some(h) = hi {
        out.push(h << 4);
    }
    Ok(out)
}

fn int_param(p: &Dict, key: &[u8], default: i64) -> i64 {
    p.get(key).and_then(Object::as_int).unwrap_or(default)
}

/// Applies the `/Predictor` of `/DecodeParms` (ISO 32000-1 §7.4.4.4).
pub fn predict(p: &Dict, data: Vec<u8>, cap: usize) -> Result<Vec<u8>, PdfError> {
    let predictor = int_param(p, b"Predictor", 1);
    if predictor <= 1 {
        return Ok(data);
    }
    let colors = int_param(p, b"Colors", 1);
    let bpc = int_param(p, b"BitsPerComponent", 8);
    let columns = int_param(p, b"Columns", 1);
    if !(1..=32).contains(&colors)
        || ![1, 2, 4, 8, 16].contains(&bpc)
        || !(1..=1 << 20).contains(&columns)
    {
        return Err(PdfError::Decode("bad predictor parameters".into()));
    }
    // Bounded above, so these conversions and products cannot overflow.
    let (colors, bpc, columns) = (colors as usize, bpc as usize, columns as usize);
    let bpp = (colors * bpc).div_ceil(8).max(1);
    let row = (colors * bpc * columns).div_ceil(8);
    if predictor == 2 {
        if bpc != 8 {
            return Err(PdfError::Decode("TIFF predictor only for 8 bits".into()));
        }
        let mut data = data;
        for r in data.chunks_mut(row) {
            for i in bpp..r.len() {
                r[i] = r[i].wrapping_add(r[i - bpp]);
            }
        }
        return Ok(data);
    }
    // PNG predictors: each row is prefixed by its filter type.
    let mut out = Vec::with_capacity(data.len().min(cap));
    let mut prev = vec![0u8; row];
    let mut cur = vec![0u8; row];
    for chunk in data.chunks(row + 1) {
        let Some((&ftype, body)) = chunk.split_first() else {
            break;
        };
        cur.fill(0);
        cur[..body.len()].copy_from_slice(body);
        for i in 0..row {
            let left = if i >= bpp { cur[i - bpp] } else { 0 };
            let up = prev[i];
            let up_left = if i >= bpp { prev[i - bpp] } else { 0 };
            let x = cur[i];
            cur[i] = match ftype {
                0 => x,
                1 => x.wrapping_add(left),
                2 => x.wrapping_add(up),
                3 => x.wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8),
                4 => x.wrapping_add(paeth(left, up, up_left)),
                _ => return Err(PdfError::Decode("bad PNG predictor row type".into())),
            };
        }
        out.extend_from_slice(&cur[..body.len()]);
        if out.len() > cap {
            return Err(PdfError::Limit("decoded stream exceeds the cap"));
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let pa = (p - i16::from(a)).abs();
    let pb = (p - i16::from(b)).abs();
    let pc = (p - i16::from(c)).abs();
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn flate_cap_and_png_up_predictor() {
        let bomb = zlib(&vec![0u8; 10_000_000]);
        assert!(matches!(inflate(&bomb, 1 << 20), Err(PdfError::Limit(_))));
        // Two rows of 3 columns with the Up filter.
        let rows = [2u8, 1, 2, 3, 2, 1, 1, 1];
        let mut p = Dict::default();
        p.0.push((b"Predictor".to_vec(), Object::Int(12)));
        p.0.push((b"Columns".to_vec(), Object::Int(3)));
        let mut d = Dict::default();
        d.0.push((b"Filter".to_vec(), Object::Name(b"FlateDecode".to_vec())));
        d.0.push((b"DecodeParms".to_vec(), Object::Dict(p)));
        let out = decode(&d, &zlib(&rows), 1024).unwrap();
        assert_eq!(out, vec![1, 2, 3, 2, 3, 4]);
    }
}
