//! Loading images (a folder, a PNG or a `.npy`) and atomic writes.
//!
//! Any decodable PNG is accepted: 16-bit and grayscale images are converted to 8-bit RGB
//! (`DynamicImage::to_rgb8`, which rescales 16-bit values and drops alpha). A `.npy` may hold
//! `u8` (N x H x W x 3, or N x H x W grayscale) or `f32`/`f64` in [-1, 1] (the model's range,
//! assumed when any value is negative, mapped by `(v + 1)/2`) or in [0, 1]; its header is checked
//! against the file's size before anything is allocated, and floats outside both ranges are an
//! error (see [`crate::npy`]).
//!
//! A folder is read as the set it records ([`load_samples`]), in this order:
//! 1. `manifest.csv` with a `file` column (written by `data`): exactly the files it lists, in
//!    its order; when none of them exists, the folder's `images.npy` (the `empirical` crate
//!    records training data as manifest + `.npy`), which must hold as many images;
//! 2. `samples.npy` or `images.npy` (written by `empirical sample` beside its PNGs, and by
//!    `data`): that file;
//! 3. otherwise every `*.png`, sorted by name, except hidden files (temporaries) and preview
//!    grids (`grid.png`, `*_grid.png`, `grid_*.png`, e.g. `samples_grid.png`);
//! 4. otherwise a single `.npy` of any name.
//!
//! Files of the folder that are not read are reported ([`SampleSet::ignored`]).
use crate::error::{Error, Result};
use crate::npy::{read_npy, NpyImages};
use image::RgbImage;
use ndarray::Array4;
use ndarray_npy::WriteNpyExt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// One input image: its name and the decoded image, or why it could not be decoded.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub name: String,
    pub image: std::result::Result<RgbImage, String>,
}

/// Write a file atomically through `f` ([`hidden_rules_core::fsio::write_atomic_with`]: a hidden
/// temporary file `.<file name>.<random>.tmp` in the same folder, synced, then renamed). The
/// file gets the mode a plain `File::create` gets (`0o666` less the umask).
pub fn atomic_write<F>(path: &Path, f: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    hidden_rules_core::fsio::write_atomic_with(path, f).map_err(|e| Error::io(path, e))
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

fn is_png_name(name: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
}

/// Whether `name` is a preview grid rather than a sample: `grid.png`, `*_grid.png`, `grid_*.png`
/// (case-insensitive; e.g. `samples_grid.png`, `train_grid.png`).
pub fn is_preview_name(name: &str) -> bool {
    if !is_png_name(name) {
        return false;
    }
    let stem = name[..name.len() - 4].to_ascii_lowercase();
    stem == "grid" || stem.ends_with("_grid") || stem.starts_with("grid_")
}

/// Hidden files (names starting with `.`) are temporaries or metadata, never samples.
fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

fn decode(path: &Path) -> std::result::Result<RgbImage, String> {
    let reader = image::ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    let img = reader.decode().map_err(|e| e.to_string())?;
    Ok(img.to_rgb8())
}

/// Read a `.npy` of images (see [`crate::npy`] for the accepted shapes, dtypes and ranges).
pub fn read_npy_images(path: &Path) -> Result<Vec<RgbImage>> {
    Ok(read_npy(path)?.images)
}

/// The images at a path and where they came from.
#[derive(Debug, Clone)]
pub struct SampleSet {
    /// The images, in order (never empty).
    pub images: Vec<Loaded>,
    /// What was read, e.g. `S/samples.npy (the folder's sample list)`.
    pub source: String,
    /// Files of the folder that were not read (preview grids, temporaries, files a list does not
    /// name, copies of the listed set), by name.
    pub ignored: Vec<String>,
    /// How values were read (float range assumed, values clamped).
    pub notes: Vec<String>,
    /// The distinct values of the manifest's `task` column, when read through one.
    pub manifest_tasks: Vec<String>,
}

impl SampleSet {
    /// A one-line account: count, source, ignored files and value notes.
    pub fn describe(&self) -> String {
        let mut s = format!("{} images from {}", self.images.len(), self.source);
        if !self.ignored.is_empty() {
            let k = self.ignored.len();
            let shown: Vec<&str> = self.ignored.iter().take(5).map(String::as_str).collect();
            s.push_str(&format!(
                "; ignored {k} file{} not in the set: {}{}",
                if k == 1 { "" } else { "s" },
                shown.join(", "),
                if k > 5 { ", ..." } else { "" }
            ));
        }
        for n in &self.notes {
            s.push_str("; ");
            s.push_str(n);
        }
        s
    }
}

fn from_npy(path: &Path, source: String, ignored: Vec<String>) -> Result<SampleSet> {
    let r: NpyImages = read_npy(path)?;
    let notes = r.value_note().into_iter().collect();
    Ok(SampleSet {
        images: r
            .images
            .into_iter()
            .enumerate()
            .map(|(i, img)| Loaded {
                name: format!("{i:06}"),
                image: Ok(img),
            })
            .collect(),
        source,
        ignored,
        notes,
        manifest_tasks: Vec::new(),
    })
}

fn decode_all(dir: &Path, names: &[String]) -> Vec<Loaded> {
    use rayon::prelude::*;
    names
        .par_iter()
        .map(|n| Loaded {
            name: n.clone(),
            image: decode(&dir.join(n)),
        })
        .collect()
}

/// A manifest's `file` column and the distinct values of its `task` column (if any).
struct Manifest {
    files: Vec<String>,
    tasks: Vec<String>,
}

/// The manifest at `path`, or `None` when it has no `file` column (not a manifest of ours).
fn manifest_files(path: &Path) -> Result<Option<Manifest>> {
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
        .map_err(|e| Error::List {
            path: path.into(),
            message: format!("unreadable manifest: {e}"),
        })?;
    let head = rd.headers().map_err(|e| Error::List {
        path: path.into(),
        message: format!("unreadable manifest: {e}"),
    })?;
    let Some(col) = head.iter().position(|h| h.trim() == "file") else {
        return Ok(None);
    };
    let task_col = head.iter().position(|h| h.trim() == "task");
    let mut files = Vec::new();
    let mut tasks: Vec<String> = Vec::new();
    for (row, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|e| Error::List {
            path: path.into(),
            message: format!("unreadable manifest row {}: {e}", row + 1),
        })?;
        let name = rec.get(col).unwrap_or("").trim().to_string();
        if name.is_empty()
            || name == "."
            || name == ".."
            || name.contains('/')
            || name.contains('\\')
        {
            return Err(Error::List {
                path: path.into(),
                message: format!("row {} names `{name}`, not a file of this folder", row + 1),
            });
        }
        files.push(name);
        if let Some(t) = task_col.and_then(|c| rec.get(c)).map(str::trim) {
            if !t.is_empty() && !tasks.iter().any(|x| x == t) {
                tasks.push(t.to_string());
            }
        }
    }
    Ok(Some(Manifest { files, tasks }))
}

/// Load the images at `path` with an account of what was read (see the module docs for how a
/// folder is resolved). Undecodable PNGs are kept as per-image errors; an empty set is an error.
pub fn load_samples(path: &Path) -> Result<SampleSet> {
    if path.is_file() {
        if is_npy(path) {
            return from_npy(path, path.display().to_string(), Vec::new());
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(SampleSet {
            images: vec![Loaded {
                name,
                image: decode(path),
            }],
            source: path.display().to_string(),
            ignored: Vec::new(),
            notes: Vec::new(),
            manifest_tasks: Vec::new(),
        });
    }
    if !path.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        ));
    }
    let mut files: Vec<String> = std::fs::read_dir(path)
        .map_err(|e| Error::io(path, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let others = |keep: &dyn Fn(&str) -> bool| -> Vec<String> {
        files.iter().filter(|n| !keep(n)).cloned().collect()
    };
    let has = |n: &str| files.iter().any(|f| f == n);

    // 1. the manifest written by `data`
    if has("manifest.csv") {
        if let Some(Manifest {
            files: listed,
            tasks,
        }) = manifest_files(&path.join("manifest.csv"))?
        {
            if listed.is_empty() {
                return Err(Error::Empty(path.into()));
            }
            let present: Vec<bool> = listed.iter().map(|n| has(n)).collect();
            if present.iter().all(|&p| p) {
                let set: std::collections::HashSet<&str> =
                    listed.iter().map(String::as_str).collect();
                let ignored =
                    others(&|n| set.contains(n) || n == "manifest.csv" || n == "images.npy");
                return Ok(SampleSet {
                    images: decode_all(path, &listed),
                    source: format!(
                        "{} (the {} files manifest.csv lists)",
                        path.display(),
                        listed.len()
                    ),
                    ignored,
                    notes: Vec::new(),
                    manifest_tasks: tasks,
                });
            }
            if present.iter().all(|&p| !p) && has("images.npy") {
                let npy = path.join("images.npy");
                let mut set = from_npy(
                    &npy,
                    format!("{} (recorded by manifest.csv)", npy.display()),
                    others(&|n| n == "manifest.csv" || n == "images.npy"),
                )?;
                if set.images.len() != listed.len() {
                    return Err(Error::Npy {
                        path: npy,
                        message: format!(
                            "holds {} images, manifest.csv lists {}",
                            set.images.len(),
                            listed.len()
                        ),
                    });
                }
                set.manifest_tasks = tasks;
                return Ok(set);
            }
            let missing = &listed[present.iter().position(|&p| !p).unwrap_or(0)];
            return Err(Error::io(
                path.join(missing),
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "listed in manifest.csv but missing",
                ),
            ));
        }
    }
    // 2. the sample list written beside the PNGs
    let lists: Vec<&str> = ["samples.npy", "images.npy"]
        .into_iter()
        .filter(|n| has(n))
        .collect();
    match lists.as_slice() {
        [one] => {
            let npy = path.join(one);
            let mut set = from_npy(&npy, String::new(), Vec::new())?;
            // the PNG copies of the list (`{i:06}.png`, i < N) are the same images, not extras
            let n = set.images.len();
            let copy = |name: &str| {
                name.strip_suffix(".png")
                    .filter(|s| s.len() == 6)
                    .and_then(|s| s.parse::<usize>().ok())
                    .is_some_and(|i| i < n)
            };
            let copies = files.iter().filter(|f| copy(f)).count();
            set.source = if copies > 0 {
                format!(
                    "{} (the folder's sample list; {copies} of its PNG files are copies of it)",
                    npy.display()
                )
            } else {
                format!("{} (the folder's sample list)", npy.display())
            };
            set.ignored = others(&|f| f == *one || copy(f));
            // name each image by its PNG copy where there is one (as when read from the PNGs)
            for l in set.images.iter_mut() {
                let png = format!("{}.png", l.name);
                if has(&png) {
                    l.name = png;
                }
            }
            return Ok(set);
        }
        [a, b] => {
            return Err(Error::Npy {
                path: path.into(),
                message: format!("holds both {a} and {b}; pass the one to evaluate"),
            })
        }
        _ => {}
    }
    // 3. PNGs, without temporaries and preview grids
    let is_sample = |n: &str| is_png_name(n) && !is_hidden(n) && !is_preview_name(n);
    let pngs: Vec<String> = files.iter().filter(|n| is_sample(n)).cloned().collect();
    if !pngs.is_empty() {
        return Ok(SampleSet {
            images: decode_all(path, &pngs),
            source: format!("{} ({} PNG files)", path.display(), pngs.len()),
            ignored: others(&is_sample),
            notes: Vec::new(),
            manifest_tasks: Vec::new(),
        });
    }
    // 4. a single .npy of any name
    let npys: Vec<&String> = files
        .iter()
        .filter(|n| !is_hidden(n) && is_npy(Path::new(n)))
        .collect();
    if let [one] = npys.as_slice() {
        let one = (*one).clone();
        let npy = path.join(&one);
        return from_npy(&npy, npy.display().to_string(), others(&|n| n == one));
    }
    Err(Error::Empty(path.into()))
}

/// Load every image at `path` (see [`load_samples`]), tolerating undecodable PNGs (reported per
/// file). An empty set is an error.
pub fn load_images_lenient(path: &Path) -> Result<Vec<Loaded>> {
    Ok(load_samples(path)?.images)
}

/// Load every image at `path` (see [`load_samples`]); the first undecodable file is an error.
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

/// Write `path` with a plain `File::create` (mode follows the umask), buffered and flushed.
pub(crate) fn write_plain<F>(path: &Path, f: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
{
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = BufWriter::new(file);
    f(&mut w).map_err(|e| Error::io(path, e))?;
    w.flush().map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_names() {
        for n in [
            "grid.png",
            "GRID.PNG",
            "samples_grid.png",
            "train_grid.png",
            "grid_a.png",
        ] {
            assert!(is_preview_name(n), "{n}");
        }
        for n in ["000000.png", "gridiron.png", "grid.npy", "a.png"] {
            assert!(!is_preview_name(n), "{n}");
        }
    }
}
