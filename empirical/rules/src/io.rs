//! Loading images (a folder of PNGs, sorted by name, or a `.npy`) and atomic writes.
//!
//! Any decodable PNG is accepted: 16-bit and grayscale images are converted to 8-bit RGB
//! (`DynamicImage::to_rgb8`, which rescales 16-bit values and drops alpha). A `.npy` may hold
//! `u8` (N x H x W x 3, or N x H x W grayscale) or `f32`/`f64` with values in [0, 1]
//! (or in [-1, 1] when negative values occur, mapped by `(v + 1)/2`).
use crate::error::{Error, Result};
use image::{Rgb, RgbImage};
use ndarray::{Array4, ArrayD};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// One input image: its name and the decoded image, or why it could not be decoded.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub name: String,
    pub image: std::result::Result<RgbImage, String>,
}

/// Write a file atomically: a temporary file in the same folder, then rename.
pub fn atomic_write<F>(path: &Path, f: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<&mut File>) -> std::io::Result<()>,
{
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| Error::io(&dir, e))?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        f(&mut w).map_err(|e| Error::io(path, e))?;
        w.flush().map_err(|e| Error::io(path, e))?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Write images (all the same size) as one `N x H x W x 3` `u8` `.npy`, atomically.
pub fn write_npy_u8(path: &Path, images: &[RgbImage]) -> Result<()> {
    let (w, h) = images.first().map(|i| i.dimensions()).unwrap_or((0, 0));
    let mut data = Vec::with_capacity(images.len() * (w * h * 3) as usize);
    for img in images {
        if img.dimensions() != (w, h) {
            return Err(Error::param(
                "images",
                "images of different sizes cannot share one .npy",
            ));
        }
        data.extend_from_slice(img.as_raw());
    }
    let arr =
        Array4::from_shape_vec((images.len(), h as usize, w as usize, 3), data).map_err(|e| {
            Error::Npy {
                path: path.into(),
                message: e.to_string(),
            }
        })?;
    atomic_write(path, |wr| {
        arr.write_npy(wr)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
}

fn is_npy(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

fn decode(path: &Path) -> std::result::Result<RgbImage, String> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let img = reader.decode().map_err(|e| e.to_string())?;
    Ok(img.to_rgb8())
}

/// Read a `.npy` of images (see module docs for the accepted shapes and dtypes).
pub fn read_npy_images(path: &Path) -> Result<Vec<RgbImage>> {
    let open = || {
        File::open(path)
            .map(BufReader::new)
            .map_err(|e| Error::io(path, e))
    };
    let bad = |m: String| Error::Npy {
        path: path.into(),
        message: m,
    };
    let as_u8: ArrayD<u8> = match ArrayD::<u8>::read_npy(open()?) {
        Ok(a) => a,
        Err(e_u8) => {
            let f: ArrayD<f64> = match ArrayD::<f32>::read_npy(open()?) {
                Ok(a) => a.mapv(f64::from),
                Err(_) => ArrayD::<f64>::read_npy(open()?)
                    .map_err(|_| bad(format!("need dtype u8, f32 or f64 ({e_u8})")))?,
            };
            if f.iter().any(|v| !v.is_finite()) {
                return Err(bad("non-finite values".into()));
            }
            let neg = f.iter().any(|&v| v < 0.0);
            f.mapv(|v| {
                let u = if neg { (v + 1.0) / 2.0 } else { v };
                (u.clamp(0.0, 1.0) * 255.0).round() as u8
            })
        }
    };
    let shape = as_u8.shape().to_vec();
    let (n, h, w, c) = match shape.as_slice() {
        [n, h, w, 3] => (*n, *h, *w, 3),
        [n, h, w] => (*n, *h, *w, 1),
        _ => {
            return Err(bad(format!(
                "shape {shape:?}; expected N x H x W x 3 or N x H x W"
            )))
        }
    };
    if h == 0 || w == 0 || h > 16384 || w > 16384 {
        return Err(bad(format!("image size {h} x {w} is not supported")));
    }
    let flat: Vec<u8> = as_u8.iter().copied().collect();
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let mut img = RgbImage::new(w as u32, h as u32);
        for (p, px) in img.pixels_mut().enumerate() {
            let base = (k * h * w + p) * c;
            *px = if c == 3 {
                Rgb([flat[base], flat[base + 1], flat[base + 2]])
            } else {
                Rgb([flat[base]; 3])
            };
        }
        out.push(img);
    }
    Ok(out)
}

fn png_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))
        .collect();
    files.sort();
    Ok(files)
}

/// Load every image at `path`, tolerating undecodable files (reported per file): a folder of
/// `*.png` (sorted by file name) or a `.npy`. A folder without PNGs but with exactly one
/// `.npy` (e.g. `images.npy`, `samples.npy`) is read through that file.
pub fn load_images_lenient(path: &Path) -> Result<Vec<Loaded>> {
    if path.is_file() {
        if is_npy(path) {
            let imgs = read_npy_images(path)?;
            return Ok(imgs
                .into_iter()
                .enumerate()
                .map(|(i, img)| Loaded {
                    name: format!("{i:06}"),
                    image: Ok(img),
                })
                .collect());
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(vec![Loaded {
            name,
            image: decode(path),
        }]);
    }
    if !path.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        ));
    }
    let files = png_files(path)?;
    if files.is_empty() {
        let npys: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_npy(p))
            .collect();
        if npys.len() == 1 {
            return load_images_lenient(&npys[0]);
        }
        return Err(Error::Empty(path.into()));
    }
    use rayon::prelude::*;
    Ok(files
        .par_iter()
        .map(|p| Loaded {
            name: p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            image: decode(p),
        })
        .collect())
}

/// Load every image at `path` (see [`load_images_lenient`]); the first undecodable file is an error.
pub fn load_images(path: &Path) -> Result<Vec<RgbImage>> {
    load_images_lenient(path)?
        .into_iter()
        .map(|l| {
            l.image.map_err(|m| Error::Image {
                path: path.join(&l.name),
                message: m,
            })
        })
        .collect()
}
