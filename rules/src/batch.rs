//! In-memory image batches: the evaluator (Sec. 3.2) on pixels that are already in memory,
//! read exactly as `eval` reads a `.npy` file.
//!
//! A batch is `N x H x W x 3` (RGB) or `N x H x W` (grayscale) values given through an index
//! function `(image, row, column, channel) -> value`, so that any strided array (e.g. an
//! `N x 3 x H x W` sampler output transposed to `N x H x W x 3`) is read without a copy of its
//! own; the only copy is the conversion into the evaluator's 8-bit RGB images. Shapes, sizes and
//! float ranges are checked with the `.npy` reader's rules ([`crate::npy`]): `u8` as is; floats
//! in `[-1, 1]` when any value is negative, else in `[0, 1]`, values within
//! [`FLOAT_TOLERANCE`](crate::npy::FLOAT_TOLERANCE) beyond clamped and counted, anything else an
//! error.
//!
//! [`evaluate_sets`] scores samples, with nearest-neighbour distances to an optional training
//! set, exactly as the `eval` command does.
use crate::color::RangeSet;
use crate::error::{Error, Result};
use crate::eval::{evaluate_loaded, EvalConfig, EvalReport};
use crate::io::Loaded;
use crate::npy::{float_range, Dtype, NpyImages, MAX_DECODED_BYTES, MAX_SIDE};
use crate::task::Task;
use image::RgbImage;
use rayon::prelude::*;

/// Shape of a batch: `N x H x W x C` with `C = 3` (RGB) or `C = 1` (grayscale, given as
/// `N x H x W`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchShape {
    pub n: usize,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl BatchShape {
    /// The shape of an array with dimensions `dims` (`[N, H, W, 3]` or `[N, H, W]`), checked
    /// with the `.npy` reader's limits: `N >= 1`, `1 <= H, W <= 16384`, at most 16 GiB decoded.
    pub fn from_dims(dims: &[usize]) -> Result<BatchShape> {
        let shape_str = || {
            let v: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            format!("({})", v.join(", "))
        };
        let (n, height, width, channels) = match *dims {
            [n, h, w, 3] => (n, h, w, 3),
            [n, h, w] => (n, h, w, 1),
            _ => {
                return Err(Error::param(
                    "images",
                    format!("shape {}; expected N x H x W x 3 or N x H x W", shape_str()),
                ))
            }
        };
        if height == 0 || width == 0 || height > MAX_SIDE || width > MAX_SIDE {
            return Err(Error::param(
                "images",
                format!("image size {height} x {width} is not supported"),
            ));
        }
        if n == 0 {
            return Err(Error::param(
                "images",
                format!("no images (shape {})", shape_str()),
            ));
        }
        let decoded = (n as u64)
            .saturating_mul(height as u64)
            .saturating_mul(width as u64)
            .saturating_mul(3);
        if decoded > MAX_DECODED_BYTES {
            return Err(Error::param(
                "images",
                format!(
                    "{n} images of {height} x {width} decode to {decoded} bytes, more than the {MAX_DECODED_BYTES} read at once; split the batch"
                ),
            ));
        }
        Ok(BatchShape {
            n,
            height,
            width,
            channels,
        })
    }

    /// Every `(image, row, column, channel)` index in memory order of a C-ordered array.
    fn indices(self) -> impl Iterator<Item = (usize, usize, usize, usize)> {
        let BatchShape {
            n,
            height,
            width,
            channels,
        } = self;
        (0..n).flat_map(move |k| {
            (0..height).flat_map(move |y| {
                (0..width).flat_map(move |x| (0..channels).map(move |c| (k, y, x, c)))
            })
        })
    }
}

/// Build the images of a batch, one image per task in parallel; `level` maps a pixel's
/// channel value to 8 bits and says whether it was clamped.
fn build<F>(shape: BatchShape, level: F) -> Result<(Vec<RgbImage>, usize)>
where
    F: Fn(usize, usize, usize, usize) -> (u8, bool) + Sync,
{
    let BatchShape {
        height: h,
        width: w,
        channels,
        ..
    } = shape;
    let built: Vec<(RgbImage, usize)> = (0..shape.n)
        .into_par_iter()
        .map(|k| {
            let mut raw = vec![0u8; h * w * 3];
            let mut clamped = 0usize;
            for y in 0..h {
                for x in 0..w {
                    let o = (y * w + x) * 3;
                    if channels == 3 {
                        for c in 0..3 {
                            let (u, out) = level(k, y, x, c);
                            raw[o + c] = u;
                            clamped += out as usize;
                        }
                    } else {
                        let (u, out) = level(k, y, x, 0);
                        raw[o..o + 3].fill(u);
                        clamped += out as usize;
                    }
                }
            }
            let img = RgbImage::from_raw(w as u32, h as u32, raw)
                .ok_or_else(|| Error::param("images", "internal: image buffer size"))?;
            Ok((img, clamped))
        })
        .collect::<Result<_>>()?;
    let clamped = built.iter().map(|(_, c)| c).sum();
    Ok((built.into_iter().map(|(i, _)| i).collect(), clamped))
}

/// Images of an 8-bit batch: `get(k, y, x, c)` is channel `c` of pixel `(y, x)` of image `k`
/// (`c = 0` only for grayscale).
pub fn images_from_u8<G>(shape: BatchShape, get: G) -> Result<NpyImages>
where
    G: Fn(usize, usize, usize, usize) -> u8 + Sync,
{
    let (images, _) = build(shape, |k, y, x, c| (get(k, y, x, c), false))?;
    Ok(NpyImages {
        images,
        dtype: Dtype::U8,
        range: None,
        clamped: 0,
    })
}

/// Images of a float batch (`dtype` is `F32` or `F64`, for the account only): the value
/// range is chosen over the whole batch by [`float_range`], then each value is mapped by
/// [`FloatRange::to_u8`](crate::npy::FloatRange::to_u8), as `eval` reads a float `.npy`.
pub fn images_from_float<G>(shape: BatchShape, dtype: Dtype, get: G) -> Result<NpyImages>
where
    G: Fn(usize, usize, usize, usize) -> f64 + Sync,
{
    let range = float_range(shape.indices().map(|(k, y, x, c)| get(k, y, x, c)))
        .map_err(|m| Error::param("images", m))?;
    let (images, clamped) = build(shape, |k, y, x, c| range.to_u8(get(k, y, x, c)))?;
    Ok(NpyImages {
        images,
        dtype,
        range: Some(range),
        clamped,
    })
}

/// The batch as the evaluator's inputs, named `000000`, `000001`, ... as `eval` names the
/// images of a `.npy`.
pub fn loaded(images: Vec<RgbImage>) -> Vec<Loaded> {
    images
        .into_iter()
        .enumerate()
        .map(|(i, img)| Loaded {
            name: format!("{i:06}"),
            image: Ok(img),
        })
        .collect()
}

/// Score `samples` as the `eval` command does: with `cfg`, and, when `train` is given, with
/// nearest-neighbour distances (Fig. 5b) to the training images evaluated with the strict
/// ranges of App. C and otherwise the same settings.
pub fn evaluate_sets(
    task: Task,
    samples: &[Loaded],
    train: Option<&[Loaded]>,
    cfg: &EvalConfig,
) -> Result<EvalReport> {
    let train = match train {
        Some(t) => {
            let tcfg = EvalConfig {
                ranges: RangeSet::Strict,
                ..*cfg
            };
            Some(evaluate_loaded(task, t, &tcfg, None)?.per_image)
        }
        None => None,
    };
    evaluate_loaded(task, samples, cfg, train.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_checked_like_the_npy_reader() {
        assert!(BatchShape::from_dims(&[2, 4, 4, 3]).is_ok());
        assert_eq!(BatchShape::from_dims(&[2, 4, 4]).unwrap().channels, 1);
        for bad in [&[2, 4, 4, 4][..], &[4, 4], &[0, 4, 4, 3], &[1, 0, 4, 3]] {
            assert!(BatchShape::from_dims(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn float_batches_follow_the_npy_range_rule() {
        let shape = BatchShape::from_dims(&[1, 1, 2, 3]).unwrap();
        let signed = [-1.0, 0.0, 1.0, 1.0005, -1.0, 0.5];
        let r = images_from_float(shape, Dtype::F64 { big_endian: false }, |_, _, x, c| {
            signed[x * 3 + c]
        })
        .unwrap();
        assert_eq!(r.clamped, 1);
        assert_eq!(r.images[0].as_raw(), &[0, 128, 255, 255, 0, 191]);
        let unit = [0.0, 0.5, 1.0, 0.25, 0.75, 1.0];
        let r = images_from_float(shape, Dtype::F32 { big_endian: false }, |_, _, x, c| {
            unit[x * 3 + c]
        })
        .unwrap();
        assert_eq!(r.images[0].as_raw(), &[0, 128, 255, 64, 191, 255]);
        let e = images_from_float(shape, Dtype::F32 { big_endian: false }, |_, _, _, _| 200.0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("0-255"), "{e}");
        let e = images_from_float(shape, Dtype::F32 { big_endian: false }, |_, _, _, _| {
            f64::NAN
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("non-finite"), "{e}");
    }

    #[test]
    fn grayscale_is_replicated() {
        let shape = BatchShape::from_dims(&[2, 1, 1]).unwrap();
        let r = images_from_u8(shape, |k, _, _, _| 10 * k as u8 + 1).unwrap();
        assert_eq!(r.images[1].as_raw(), &[11, 11, 11]);
    }
}
