//! NCHW `f32` tensors in [-1, 1] for training code (the DDPM's data scaling, reference notes:
//! output `(clamp(x, -1, 1) + 1) / 2`).
use crate::error::{Error, Result};
use image::RgbImage;

/// Images (all `size x size`) to NCHW values `v / 127.5 - 1` in [-1, 1].
pub fn to_chw_f32(images: &[RgbImage]) -> Vec<f32> {
    let mut out = Vec::with_capacity(images.iter().map(|i| i.as_raw().len()).sum());
    for img in images {
        let (w, h) = img.dimensions();
        let plane = (w * h) as usize;
        let raw = img.as_raw();
        for ch in 0..3 {
            out.extend((0..plane).map(|p| raw[p * 3 + ch] as f32 / 127.5 - 1.0));
        }
    }
    out
}

/// NCHW values to images, `round((clamp(x, -1, 1) + 1) / 2 * 255)`; NaN maps to 0.
/// Errors when `data.len() != n * 3 * size * size`.
pub fn try_from_chw_f32(data: &[f32], n: usize, size: usize) -> Result<Vec<RgbImage>> {
    let plane = size * size;
    let need = n * 3 * plane;
    if data.len() != need || size == 0 && n > 0 {
        return Err(Error::Shape {
            got: data.len(),
            need,
        });
    }
    Ok((0..n)
        .map(|k| {
            let base = k * 3 * plane;
            let mut raw = vec![0u8; 3 * plane];
            for ch in 0..3 {
                for p in 0..plane {
                    let x = data[base + ch * plane + p];
                    let x = if x.is_nan() { -1.0 } else { x.clamp(-1.0, 1.0) };
                    raw[p * 3 + ch] = ((x + 1.0) * 0.5 * 255.0).round() as u8;
                }
            }
            RgbImage::from_raw(size as u32, size as u32, raw).expect("buffer length matches")
        })
        .collect())
}

/// As [`try_from_chw_f32`].
///
/// # Panics
/// When `data.len() != n * 3 * size * size` (a caller bug); use [`try_from_chw_f32`] to get an error.
pub fn from_chw_f32(data: &[f32], n: usize, size: usize) -> Vec<RgbImage> {
    match try_from_chw_f32(data, n, size) {
        Ok(v) => v,
        Err(e) => panic!("from_chw_f32: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn round_trip_is_exact() {
        let img = RgbImage::from_fn(5, 5, |x, y| {
            image::Rgb([(x * 50) as u8, (y * 60) as u8, 255])
        });
        let t = to_chw_f32(&[img.clone(), img.clone()]);
        assert_eq!(t.len(), 2 * 3 * 25);
        assert!(t.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert_eq!(from_chw_f32(&t, 2, 5), vec![img.clone(), img]);
        assert!(try_from_chw_f32(&t, 3, 5).is_err());
    }
}
