//! Reading image `.npy` files with their header checked before anything is allocated.
//!
//! Accepted: format versions 1-3, C or Fortran order, dtype `u8` (`|u1`), `f32` (`<f4`, `>f4`)
//! or `f64` (`<f8`, `>f8`), shape `N x H x W x 3` (RGB) or `N x H x W` (grayscale), `N >= 1`,
//! `1 <= H, W <= 16384`. The header's claimed data size must match the file's size exactly
//! (a shorter file is reported as truncated, with both sizes), and the decoded images may not
//! exceed [`MAX_DECODED_BYTES`].
//!
//! Float values are mapped to 8 bits through one of two accepted ranges, chosen per file:
//! - `[-1, 1]` (the model's range, `tensor::to_chw_f32`) when any value is negative: `(v + 1) / 2`;
//! - `[0, 1]` otherwise: `v`;
//!
//! then `round(255 u)`. Values at most [`FLOAT_TOLERANCE`] beyond the chosen range (a sampler's
//! overshoot) are clamped and counted ([`NpyImages::clamped`]); any other value outside it, and
//! any NaN or infinity, is an error (e.g. floats in 0-255: save them as `u8` instead).
use crate::error::{Error, Result};
use image::RgbImage;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Largest decoded size (N x H x W x 3 bytes) read at once: 16 GiB.
pub const MAX_DECODED_BYTES: u64 = 16 << 30;
/// Float values this far beyond the accepted range are clamped (and counted); farther is an error.
pub const FLOAT_TOLERANCE: f64 = 1e-3;
/// Longest header accepted (numpy writes well under 1 KiB).
const MAX_HEADER_BYTES: u64 = 1 << 20;
/// Largest image side accepted.
pub const MAX_SIDE: usize = 16384;

/// Element type of a `.npy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    U8,
    F32 { big_endian: bool },
    F64 { big_endian: bool },
}

impl Dtype {
    fn parse(descr: &str) -> Option<Dtype> {
        let (order, code) = match descr.chars().next()? {
            c @ ('<' | '>' | '|' | '=') => (c, &descr[1..]),
            _ => ('=', descr),
        };
        let big_endian = match order {
            '>' => true,
            '=' => cfg!(target_endian = "big"),
            _ => false,
        };
        match code {
            "u1" => Some(Dtype::U8),
            "f4" => Some(Dtype::F32 { big_endian }),
            "f8" => Some(Dtype::F64 { big_endian }),
            _ => None,
        }
    }
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::U8 => 1,
            Dtype::F32 { .. } => 4,
            Dtype::F64 { .. } => 8,
        }
    }
    /// numpy's name of the type.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::U8 => "uint8",
            Dtype::F32 { .. } => "float32",
            Dtype::F64 { .. } => "float64",
        }
    }
}

/// The value range a float `.npy` was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatRange {
    /// `[-1, 1]`, the model's range, mapped by `(v + 1) / 2`.
    Signed,
    /// `[0, 1]`, used as is.
    Unit,
}

impl FloatRange {
    /// One float value as an 8-bit level: `(v + 1) / 2` (signed) or `v` (unit), clamped to
    /// `[0, 1]`, times 255, rounded. The flag says whether `v` lay outside the range (and so
    /// was clamped; [`float_range`] has already refused anything beyond [`FLOAT_TOLERANCE`]).
    pub fn to_u8(self, v: f64) -> (u8, bool) {
        let (u, outside) = match self {
            FloatRange::Signed => ((v + 1.0) / 2.0, !(-1.0..=1.0).contains(&v)),
            FloatRange::Unit => (v, !(0.0..=1.0).contains(&v)),
        };
        ((u.clamp(0.0, 1.0) * 255.0).round() as u8, outside)
    }
}

impl std::fmt::Display for FloatRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FloatRange::Signed => "[-1, 1] (the model's range; v -> (v + 1) / 2)",
            FloatRange::Unit => "[0, 1] (no negative values)",
        })
    }
}

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub dtype: Dtype,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
    /// Byte offset of the data.
    pub data_offset: u64,
}

/// Images read from a `.npy`, and how their values were read.
#[derive(Debug, Clone)]
pub struct NpyImages {
    pub images: Vec<RgbImage>,
    pub dtype: Dtype,
    /// The range float values were read in (`None` for `u8`).
    pub range: Option<FloatRange>,
    /// Float values within [`FLOAT_TOLERANCE`] outside the range, clamped.
    pub clamped: usize,
}

impl NpyImages {
    /// One line on how the values were read, for float files (`None` for `u8`).
    pub fn value_note(&self) -> Option<String> {
        let range = self.range?;
        let mut s = format!("{} values read as {range}", self.dtype.name());
        if self.clamped > 0 {
            s.push_str(&format!(
                "; clamped {} values within {FLOAT_TOLERANCE} outside it",
                self.clamped
            ));
        }
        Some(s)
    }
}

fn bad(path: &Path, message: impl Into<String>) -> Error {
    Error::Npy {
        path: path.into(),
        message: message.into(),
    }
}

fn shape_str(shape: &[usize]) -> String {
    let v: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("({})", v.join(", "))
}

/// The text after `'key':` (or `"key":`) in a header dictionary.
fn value_after<'a>(dict: &'a str, key: &str) -> Option<&'a str> {
    for q in ['\'', '"'] {
        let k = format!("{q}{key}{q}");
        if let Some(i) = dict.find(&k) {
            let rest = dict[i + k.len()..].trim_start();
            return rest.strip_prefix(':').map(str::trim_start);
        }
    }
    None
}

fn parse_dict(path: &Path, dict: &str) -> Result<(Dtype, bool, Vec<usize>)> {
    let d = dict.trim();
    if !(d.starts_with('{') && d.ends_with('}')) {
        return Err(bad(path, format!("header is not a dictionary: {d:?}")));
    }
    let descr = value_after(d, "descr").ok_or_else(|| bad(path, "header has no 'descr'"))?;
    let q = descr.chars().next().unwrap_or(' ');
    if q != '\'' && q != '"' {
        return Err(bad(
            path,
            "structured dtype is not supported (need uint8, float32 or float64)",
        ));
    }
    let descr = descr[1..]
        .split(q)
        .next()
        .ok_or_else(|| bad(path, "unterminated 'descr'"))?;
    let dtype = Dtype::parse(descr).ok_or_else(|| {
        bad(
            path,
            format!("dtype '{descr}' is not supported (need uint8, float32 or float64)"),
        )
    })?;
    let fo = value_after(d, "fortran_order")
        .ok_or_else(|| bad(path, "header has no 'fortran_order'"))?;
    let fortran_order = if fo.starts_with("True") {
        true
    } else if fo.starts_with("False") {
        false
    } else {
        return Err(bad(path, "'fortran_order' is neither True nor False"));
    };
    let sh = value_after(d, "shape").ok_or_else(|| bad(path, "header has no 'shape'"))?;
    let inner = sh
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad(path, "'shape' is not a tuple"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<std::result::Result<Vec<usize>, _>>()
        .map_err(|_| bad(path, format!("'shape' ({inner}) is not a tuple of sizes")))?;
    Ok((dtype, fortran_order, shape))
}

/// Read and check the header of `path`: dtype, shape and the file's size against the size the
/// header claims. Nothing larger than the header is read or allocated.
pub fn read_header(path: &Path) -> Result<Header> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut pre = [0u8; 12];
    let got = read_up_to(&mut f, &mut pre).map_err(|e| Error::io(path, e))?;
    if got < 10 || &pre[..6] != b"\x93NUMPY" {
        return Err(bad(path, "not a .npy file (no \\x93NUMPY magic)"));
    }
    let (len, start) = match pre[6] {
        1 => (u16::from_le_bytes([pre[8], pre[9]]) as u64, 10u64),
        2 | 3 if got == 12 => (
            u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]) as u64,
            12u64,
        ),
        v => return Err(bad(path, format!("unsupported .npy format version {v}"))),
    };
    if len > MAX_HEADER_BYTES {
        return Err(bad(
            path,
            format!("header of {len} bytes is implausibly long"),
        ));
    }
    if file_len < start + len {
        return Err(bad(
            path,
            format!(
                "file truncated: expected at least {} bytes (header), found {file_len}",
                start + len
            ),
        ));
    }
    let mut text = vec![0u8; len as usize];
    f.seek(SeekFrom::Start(start))
        .map_err(|e| Error::io(path, e))?;
    f.read_exact(&mut text).map_err(|e| Error::io(path, e))?;
    let (dtype, fortran_order, shape) = parse_dict(path, &String::from_utf8_lossy(&text))?;
    let data_offset = start + len;
    let data_bytes = shape
        .iter()
        .try_fold(dtype.size() as u64, |a, &d| a.checked_mul(d as u64))
        .and_then(|b| b.checked_add(data_offset));
    let Some(need) = data_bytes else {
        return Err(bad(
            path,
            format!("file truncated: header claims shape {} of {}, more than 2^64 bytes, found {file_len}", shape_str(&shape), dtype.name()),
        ));
    };
    if file_len < need {
        return Err(bad(
            path,
            format!(
                "file truncated: expected {need} bytes, found {file_len} (header: shape {}, {})",
                shape_str(&shape),
                dtype.name()
            ),
        ));
    }
    if file_len > need {
        return Err(bad(
            path,
            format!(
                "file has {} bytes after the data its header describes (expected {need} bytes, found {file_len}; header: shape {}, {})",
                file_len - need,
                shape_str(&shape),
                dtype.name()
            ),
        ));
    }
    Ok(Header {
        dtype,
        fortran_order,
        shape,
        data_offset,
    })
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn alloc<T: Clone>(path: &Path, len: usize, fill: T) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        bad(
            path,
            format!(
                "cannot allocate {} bytes",
                len.saturating_mul(std::mem::size_of::<T>())
            ),
        )
    })?;
    v.resize(len, fill);
    Ok(v)
}

/// Read the images of a `.npy` (see the module docs for what is accepted).
pub fn read_npy(path: &Path) -> Result<NpyImages> {
    let h = read_header(path)?;
    let (n, ih, iw, c) = match h.shape.as_slice() {
        [n, ih, iw, 3] => (*n, *ih, *iw, 3),
        [n, ih, iw] => (*n, *ih, *iw, 1),
        s => {
            return Err(bad(
                path,
                format!(
                    "shape {}; expected N x H x W x 3 or N x H x W",
                    shape_str(s)
                ),
            ))
        }
    };
    if ih == 0 || iw == 0 || ih > MAX_SIDE || iw > MAX_SIDE {
        return Err(bad(
            path,
            format!("image size {ih} x {iw} is not supported"),
        ));
    }
    if n == 0 {
        return Err(bad(
            path,
            format!("no images (shape {})", shape_str(&h.shape)),
        ));
    }
    // shape and file size agree, so these products fit in u64
    let decoded = n as u64 * ih as u64 * iw as u64 * 3;
    if decoded > MAX_DECODED_BYTES {
        return Err(bad(
            path,
            format!(
                "{n} images of {ih} x {iw} decode to {decoded} bytes, more than the {MAX_DECODED_BYTES} read at once; split the file"
            ),
        ));
    }
    let count = n * ih * iw * c;
    let mut raw = alloc(path, count * h.dtype.size(), 0u8)?;
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    f.seek(SeekFrom::Start(h.data_offset))
        .map_err(|e| Error::io(path, e))?;
    f.read_exact(&mut raw).map_err(|e| Error::io(path, e))?;
    let (values, range, clamped) = match h.dtype {
        Dtype::U8 => (raw, None, 0),
        Dtype::F32 { big_endian } => {
            let get = |i: usize| {
                let b = [raw[4 * i], raw[4 * i + 1], raw[4 * i + 2], raw[4 * i + 3]];
                f64::from(if big_endian {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                })
            };
            floats_to_u8(path, count, get)?
        }
        Dtype::F64 { big_endian } => {
            let get = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&raw[8 * i..8 * i + 8]);
                if big_endian {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                }
            };
            floats_to_u8(path, count, get)?
        }
    };
    // logical index (k, y, x, ch) -> position in `values`
    let (sk, sy, sx, sc) = if h.fortran_order {
        (1, n, n * ih, n * ih * iw)
    } else {
        (ih * iw * c, iw * c, c, 1)
    };
    let mut images = Vec::new();
    images
        .try_reserve_exact(n)
        .map_err(|_| bad(path, "cannot allocate the image list"))?;
    for k in 0..n {
        let mut buf = alloc(path, ih * iw * 3, 0u8)?;
        for y in 0..ih {
            for x in 0..iw {
                let base = k * sk + y * sy + x * sx;
                let o = (y * iw + x) * 3;
                if c == 3 {
                    for ch in 0..3 {
                        buf[o + ch] = values[base + ch * sc];
                    }
                } else {
                    buf[o..o + 3].fill(values[base]);
                }
            }
        }
        let img = RgbImage::from_raw(iw as u32, ih as u32, buf)
            .ok_or_else(|| bad(path, "internal: image buffer size"))?;
        images.push(img);
    }
    Ok(NpyImages {
        images,
        dtype: h.dtype,
        range,
        clamped,
    })
}

/// The accepted range that float pixel values lie in (the rule of the module docs, applied to
/// all values of one file or batch at once): `[-1, 1]` when any value is negative, else
/// `[0, 1]`. Non-finite values and values more than [`FLOAT_TOLERANCE`] outside the range are
/// refused with a message saying what was found.
pub fn float_range(values: impl Iterator<Item = f64>) -> std::result::Result<FloatRange, String> {
    let (mut lo, mut hi, mut non_finite) = (f64::INFINITY, f64::NEG_INFINITY, 0usize);
    for v in values {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        } else {
            non_finite += 1;
        }
    }
    if non_finite > 0 {
        return Err(format!("{non_finite} non-finite values (NaN or infinity)"));
    }
    let range = if lo < 0.0 {
        FloatRange::Signed
    } else {
        FloatRange::Unit
    };
    let (min, max) = match range {
        FloatRange::Signed => (-1.0, 1.0),
        FloatRange::Unit => (0.0, 1.0),
    };
    if lo < min - FLOAT_TOLERANCE || hi > max + FLOAT_TOLERANCE {
        let hint = if lo >= 0.0 && hi <= 255.0 + FLOAT_TOLERANCE && hi > 1.5 {
            "; they look like 0-255 pixel values: save them as uint8, or divide by 255"
        } else {
            ""
        };
        return Err(format!(
            "float values span [{lo}, {hi}], outside the accepted ranges [-1, 1] (the model's, used when any value is negative) and [0, 1] (values within {FLOAT_TOLERANCE} of the ends are clamped){hint}"
        ));
    }
    Ok(range)
}

/// Map `count` float values to `u8` through the accepted range they lie in.
fn floats_to_u8(
    path: &Path,
    count: usize,
    get: impl Fn(usize) -> f64,
) -> Result<(Vec<u8>, Option<FloatRange>, usize)> {
    let range = float_range((0..count).map(&get)).map_err(|m| bad(path, m))?;
    let mut out = alloc(path, count, 0u8)?;
    let mut clamped = 0usize;
    for (i, o) in out.iter_mut().enumerate() {
        let (u, outside) = range.to_u8(get(i));
        *o = u;
        clamped += outside as usize;
    }
    Ok((out, Some(range), clamped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtypes_parse() {
        assert_eq!(Dtype::parse("|u1"), Some(Dtype::U8));
        assert_eq!(Dtype::parse(">f4"), Some(Dtype::F32 { big_endian: true }));
        assert_eq!(Dtype::parse("<f8"), Some(Dtype::F64 { big_endian: false }));
        assert_eq!(Dtype::parse("<i8"), None);
        assert_eq!(Dtype::parse(""), None);
    }

    #[test]
    fn header_dicts_parse() {
        let p = Path::new("x.npy");
        let (d, f, s) = parse_dict(
            p,
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4, 3), }",
        )
        .unwrap();
        assert_eq!(
            (d, f, s),
            (Dtype::F32 { big_endian: false }, true, vec![2, 3, 4, 3])
        );
        let (_, _, s) = parse_dict(
            p,
            "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (5,)}",
        )
        .unwrap();
        assert_eq!(s, vec![5]);
        assert!(parse_dict(
            p,
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}"
        )
        .unwrap_err()
        .to_string()
        .contains("structured"));
        assert!(parse_dict(
            p,
            "{'descr': '|u1', 'fortran_order': False, 'shape': (a, b)}"
        )
        .is_err());
        assert!(parse_dict(p, "garbage").is_err());
    }
}
