//! Seeded generators of Tasks A-D (Appendix C), their three-class contrastive sets (Section 5,
//! App. G) and coarse-violating sets, with ground truth in a manifest.
//!
//! Geometry in units of the image side `S` (pixel `(i, j)` = unit square, y down), white background:
//! - **A** (App. C; authors' code for the unstated constants): ground line at `0.9 S`; pole of width
//!   `0.12 S` centred at `x = S/2`, height `h2 ~ U(0.2 S, 0.4 S)`; sun radius `0.1 S`, centre height
//!   above ground `H = clip(2 h2, 0.3 S, 0.8 S)`, centre x uniformly in one of four intervals
//!   (far `[0, 0.2 S]`, `[0.8 S, S]`; near `[0.3 S, 0.5 S]`, `[0.5 S, 0.7 S]`, App. C's 0-6/26-32 and
//!   10-16/16-22 px); shadow bar of thickness `0.08 S` just below the ground line, from the pole
//!   axis away from the sun, length (Eq. 8) `l2 = h2 |d| / (H - h2)` with `d` the sun-axis distance.
//!   Features: `l1 = |d|`, `h1 = H - h2` (sun centre to pole top), `h2`, `l2`.
//! - **B**: rectangle 1 (yellow) left edge `x1 ~ U(0, 0.3 S)`, height `h1 ~ U(0.2 S, 0.6 S)`;
//!   rectangle 2 (blue-green) left edge `x2 ~ U(x1 + 0.2 S, 0.8 S)`, height `h2 = h1 x1 / x2`;
//!   both `0.12 S` wide and vertically centred. App. C's literal `l1 h1 = h2 l2` (with its own
//!   letters) reads `x1 x2 = h1 h2`, and Section 3's `l1 h2 = l2 h1` read with `l` = distance
//!   makes height grow with distance; both contradict the coarse rule `h1 > h2` ("size diminishes
//!   with distance"), so we follow the perspective reading `x1 h1 = x2 h2`, which is also the
//!   authors' code.
//! - **C**: blue-green circle radius `r1 ~ U(0.05 S, 0.15 S)` (App. C: diameter 10-30 % of S),
//!   yellow circle `r2 = sqrt(2) r1`, tangent to it on the left, right, top or bottom (uniform),
//!   both inside the image, position uniform among feasible ones.
//! - **D**: upper (yellow) square side `l1 ~ U(0.15 S, 0.35 S)` (App. C: 30-70 % of the top half),
//!   lower (blue-green) side `l2 = 1.5 l1`. Upper square in `[0, m]`, lower in `[m, S]` vertically
//!   with `m = clamp(S/2, l1, S - l2)` (App. C's halves, moved only when `l2 > S/2` would not fit),
//!   x uniform inside the image; they never overlap.
//!
//! Contrastive sets: class `i mod 3`; class 1 is the training distribution, classes 0 and 2 scale
//! the rule's dependent length by `1 - delta` and `1 + delta` (A: shadow length, B: `h2`,
//! C: `r2`, D: `l2`), so the ratio `y/x` is `k (1 -+ delta)` and the coarse rule still holds
//! (requires `delta < 0.29` for C and `< 1/3` for D). Draws whose scaled shape would leave the
//! image are redrawn. Coarse-violating sets: A shadow on the sun's side; B heights swapped
//! (left shorter); C `r2 = r1`; D sizes swapped (upper larger).
use crate::color::Palette;
use crate::error::{Error, Result};
use crate::io::{atomic_write, write_npy_u8, write_plain};
use crate::render::Canvas;
use crate::task::Task;
use image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::Path;

pub mod immature;

/// Background colour of every image (white).
pub const BACKGROUND: [u8; 3] = [255, 255, 255];
/// Redraws allowed per image before giving up.
const MAX_TRIES: usize = 1000;

/// Which set to generate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Kind {
    /// The training distribution (coarse and fine rules hold).
    Train,
    /// Three classes (index mod 3): 0 and 2 break the fine rule by factors `1 - delta`, `1 + delta`.
    Contrastive { delta: f64 },
    /// Every image violates the coarse rule.
    CoarseViolating,
    /// Negatives in the look of an immature DDPM, none showing the task's elements (see
    /// [`immature`]); `class` = style: 0 soft colour clouds, 1 speckle, 2 blurred smear,
    /// 3 elements merged. The validity verdict must reject them. There is no ground truth:
    /// features, `x`, `y` are empty in the manifest and `coarse_ok` is false.
    Immature,
}

impl Kind {
    /// Short name used in manifests.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Train => "train",
            Kind::Contrastive { .. } => "contrastive",
            Kind::CoarseViolating => "coarse_violating",
            Kind::Immature => "immature",
        }
    }
}

/// Generator configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GenConfig {
    pub task: Task,
    pub n: usize,
    /// Image side in pixels (32 in the paper, 64 in App. D.3).
    pub size: u32,
    pub seed: u64,
    pub kind: Kind,
}

/// Ground truth of one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub index: usize,
    pub task: Task,
    pub kind: String,
    /// Contrastive class (0, 1, 2); 1 for training images; `None` for coarse-violating ones.
    pub class: Option<u8>,
    pub size: u32,
    /// The four features of [`Task::feature_names`], divided by the image side.
    pub features: [f64; 4],
    /// Fine-rule coordinates ([`Task::fine_xy`]).
    pub x: f64,
    pub y: f64,
    /// Whether the coarse rule holds.
    pub coarse_ok: bool,
    /// RGB colour of each element, in [`Task::elements`] order.
    pub colors: Vec<[u8; 3]>,
}

/// Images with their ground truth.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub images: Vec<RgbImage>,
    pub records: Vec<Record>,
}

pub(crate) struct Drawn {
    pub(crate) img: RgbImage,
    pub(crate) features: [f64; 4],
    pub(crate) coarse_ok: bool,
    pub(crate) colors: Vec<[u8; 3]>,
}

fn check(cfg: &GenConfig) -> Result<()> {
    if cfg.size < 8 || cfg.size > 4096 {
        return Err(Error::param(
            "size",
            format!("{} is outside [8, 4096]", cfg.size),
        ));
    }
    if cfg.n > 10_000_000 {
        return Err(Error::param("n", format!("{} images is too many", cfg.n)));
    }
    if let Kind::Contrastive { delta } = cfg.kind {
        let max = match cfg.task {
            Task::A | Task::B => 0.5,
            Task::C => 0.25,
            Task::D => 0.3,
        };
        if !(delta > 0.0 && delta <= max) {
            return Err(Error::param(
                "delta",
                format!(
                    "{delta} must lie in (0, {max}] for task {} so the coarse rule holds and shapes fit",
                    cfg.task
                ),
            ));
        }
    }
    Ok(())
}

/// Generate a dataset (deterministic in `seed`; image `i` uses ChaCha8 stream `i`).
pub fn generate(cfg: &GenConfig) -> Result<Dataset> {
    check(cfg)?;
    let out: Vec<Result<(RgbImage, Record)>> = (0..cfg.n)
        .into_par_iter()
        .map(|i| {
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
            rng.set_stream(i as u64);
            let class = match cfg.kind {
                Kind::Train => Some(1u8),
                Kind::Contrastive { .. } => Some((i % 3) as u8),
                Kind::CoarseViolating => None,
                Kind::Immature => Some((i % immature::STYLES) as u8),
            };
            let d = match (cfg.kind, class) {
                (Kind::Immature, Some(style)) => immature::draw(cfg, style, &mut rng)?,
                _ => draw_one(cfg, class, &mut rng)?,
            };
            let (x, y) = cfg.task.fine_xy(&d.features);
            let rec = Record {
                index: i,
                task: cfg.task,
                kind: cfg.kind.name().to_string(),
                class,
                size: cfg.size,
                features: d.features,
                x,
                y,
                coarse_ok: d.coarse_ok,
                colors: d.colors,
            };
            Ok((d.img, rec))
        })
        .collect();
    let mut images = Vec::with_capacity(cfg.n);
    let mut records = Vec::with_capacity(cfg.n);
    for r in out {
        let (img, rec) = r?;
        images.push(img);
        records.push(rec);
    }
    Ok(Dataset { images, records })
}

fn scale_of(kind: Kind, class: Option<u8>) -> f64 {
    match (kind, class) {
        (Kind::Contrastive { delta }, Some(0)) => 1.0 - delta,
        (Kind::Contrastive { delta }, Some(2)) => 1.0 + delta,
        _ => 1.0,
    }
}

pub(crate) fn draw_one(cfg: &GenConfig, class: Option<u8>, rng: &mut ChaCha8Rng) -> Result<Drawn> {
    let m = scale_of(cfg.kind, class);
    let violate = cfg.kind == Kind::CoarseViolating;
    let s = cfg.size as f64;
    for _ in 0..MAX_TRIES {
        let got = match cfg.task {
            Task::A => task_a(s, m, violate, rng),
            Task::B => task_b(s, m, violate, rng),
            Task::C => task_c(s, m, violate, rng),
            Task::D => task_d(s, m, violate, rng),
        };
        if let Some(d) = got {
            return Ok(d);
        }
    }
    Err(Error::Generator {
        task: cfg.task.to_string(),
        tries: MAX_TRIES,
    })
}

fn task_a(s: f64, m: f64, violate: bool, rng: &mut ChaCha8Rng) -> Option<Drawn> {
    let (c_sun, c_pole, c_sh) = (
        Palette::Yellow.sample(rng),
        Palette::BlueGreen.sample(rng),
        Palette::Shadow.sample(rng),
    );
    let ground = 0.9 * s;
    let axis = 0.5 * s;
    let h2 = rng.random_range(0.2 * s..=0.4 * s);
    let sun_h = (2.0 * h2).clamp(0.3 * s, 0.8 * s);
    let r = 0.1 * s;
    let (lo, hi) = match rng.random_range(0..4u8) {
        0 => (0.0, 0.2),
        1 => (0.3, 0.5),
        2 => (0.5, 0.7),
        _ => (0.8, 1.0),
    };
    let sx = rng.random_range(lo * s..=hi * s);
    let sy = ground - sun_h;
    let d = sx - axis;
    let l2 = m * h2 * d.abs() / (sun_h - h2);
    // shadow goes away from the sun (or towards it in the coarse-violating set)
    let dir = if violate { d.signum() } else { -d.signum() };
    let end = axis + dir * l2;
    if !(0.0..=s).contains(&end) {
        return None;
    }
    let mut c = Canvas::new(s as usize, BACKGROUND);
    c.fill_disk(sx, sy, r, c_sun);
    let w = 0.06 * s;
    c.fill_rect(axis - w, ground - h2, axis + w, ground, c_pole);
    c.fill_rect(
        axis.min(end),
        ground,
        axis.max(end),
        ground + 0.08 * s,
        c_sh,
    );
    Some(Drawn {
        img: c.finish(),
        features: [d.abs() / s, l2 / s, (sun_h - h2) / s, h2 / s],
        coarse_ok: !violate,
        colors: vec![c_sun, c_pole, c_sh],
    })
}

fn task_b(s: f64, m: f64, violate: bool, rng: &mut ChaCha8Rng) -> Option<Drawn> {
    let (c1, c2) = (Palette::Yellow.sample(rng), Palette::BlueGreen.sample(rng));
    let x1 = rng.random_range(0.0..=0.3 * s);
    let mut h1 = rng.random_range(0.2 * s..=0.6 * s);
    let x2 = rng.random_range(x1 + 0.2 * s..=0.8 * s);
    let mut h2 = m * h1 * x1 / x2;
    if violate {
        std::mem::swap(&mut h1, &mut h2);
    }
    if h1.max(h2) > s {
        return None;
    }
    let w = 0.12 * s;
    let mut c = Canvas::new(s as usize, BACKGROUND);
    c.fill_rect(x1, 0.5 * (s - h1), x1 + w, 0.5 * (s + h1), c1);
    c.fill_rect(x2, 0.5 * (s - h2), x2 + w, 0.5 * (s + h2), c2);
    Some(Drawn {
        img: c.finish(),
        features: [x1 / s, h1 / s, x2 / s, h2 / s],
        coarse_ok: h1 > h2,
        colors: vec![c1, c2],
    })
}

fn task_c(s: f64, m: f64, violate: bool, rng: &mut ChaCha8Rng) -> Option<Drawn> {
    let (c1, c2) = (Palette::BlueGreen.sample(rng), Palette::Yellow.sample(rng));
    let r1 = rng.random_range(0.05 * s..=0.15 * s);
    let r2 = if violate {
        r1
    } else {
        m * std::f64::consts::SQRT_2 * r1
    };
    let (ux, uy) = match rng.random_range(0..4u8) {
        0 => (-1.0, 0.0),
        1 => (1.0, 0.0),
        2 => (0.0, -1.0),
        _ => (0.0, 1.0),
    };
    let (dx, dy) = (ux * (r1 + r2), uy * (r1 + r2));
    let lo_x = r1.max(r2 - dx);
    let hi_x = (s - r1).min(s - r2 - dx);
    let lo_y = r1.max(r2 - dy);
    let hi_y = (s - r1).min(s - r2 - dy);
    if lo_x > hi_x || lo_y > hi_y {
        return None;
    }
    let cx = rng.random_range(lo_x..=hi_x);
    let cy = rng.random_range(lo_y..=hi_y);
    let mut c = Canvas::new(s as usize, BACKGROUND);
    c.fill_disk(cx, cy, r1, c1);
    c.fill_disk(cx + dx, cy + dy, r2, c2);
    Some(Drawn {
        img: c.finish(),
        features: [r1 / s, r2 / s, dx / s, dy / s],
        coarse_ok: !violate,
        colors: vec![c1, c2],
    })
}

fn task_d(s: f64, m: f64, violate: bool, rng: &mut ChaCha8Rng) -> Option<Drawn> {
    let (c1, c2) = (Palette::Yellow.sample(rng), Palette::BlueGreen.sample(rng));
    let l = rng.random_range(0.15 * s..=0.35 * s);
    let (a, b) = if violate {
        (1.5 * l, l)
    } else {
        (l, m * 1.5 * l)
    };
    if a + b > s {
        return None;
    }
    let split = (0.5 * s).clamp(a, s - b);
    let y1 = rng.random_range(0.0..=split - a);
    let y2 = rng.random_range(split..=s - b);
    let x1 = rng.random_range(0.0..=s - a);
    let x2 = rng.random_range(0.0..=s - b);
    let mut c = Canvas::new(s as usize, BACKGROUND);
    c.fill_rect(x1, y1, x1 + a, y1 + a, c1);
    c.fill_rect(x2, y2, x2 + b, y2 + b, c2);
    Some(Drawn {
        img: c.finish(),
        features: [a / s, b / s, (x1 + 0.5 * a) / s, (x2 + 0.5 * b) / s],
        coarse_ok: a < b,
        colors: vec![c1, c2],
    })
}

/// Header of the manifest `data` writes (its first columns).
const MANIFEST_HEAD: &str = "file,index,task,kind,class,size,";

/// Whether `name` is one of the files a `data` folder holds: `NNNNNN.png`, `manifest.csv`,
/// `images.npy`, or a hidden temporary of an interrupted write (`.tmp*`, `.*.tmp`, `.partial-*`).
fn is_data_entry(name: &str, is_dir: bool) -> bool {
    if is_dir {
        return name.starts_with(".partial-");
    }
    let png_index = name
        .strip_suffix(".png")
        .is_some_and(|s| s.len() >= 6 && s.bytes().all(|b| b.is_ascii_digit()));
    png_index
        || name == "manifest.csv"
        || name == "images.npy"
        || name.starts_with(".tmp")
        || (name.starts_with('.') && name.ends_with(".tmp"))
}

/// What writing a dataset to a folder will do with what is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Nothing there yet.
    Absent,
    /// An empty folder (or one holding only leftover temporaries): files are moved into it.
    Empty,
    /// A complete previous `data` output: replaced as a whole.
    Previous,
}

fn entry_names(dir: &Path) -> Result<Vec<(String, bool)>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
        v.push((e.file_name().to_string_lossy().into_owned(), is_dir));
    }
    v.sort();
    Ok(v)
}

fn classify_target(dir: &Path) -> Result<Target> {
    let meta = match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::Absent),
        Err(e) => return Err(Error::io(dir, e)),
        Ok(m) => m,
    };
    if !meta.is_dir() {
        return Err(Error::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "exists and is not a folder",
            ),
        ));
    }
    let entries = entry_names(dir)?;
    let foreign = entries.iter().find(|(n, d)| !is_data_entry(n, *d));
    if let Some((name, _)) = foreign {
        return Err(Error::NotEmpty {
            path: dir.into(),
            entry: name.clone(),
        });
    }
    let visible = entries.iter().find(|(n, _)| !n.starts_with('.'));
    let Some((first, _)) = visible else {
        return Ok(Target::Empty);
    };
    let manifest = dir.join("manifest.csv");
    let mut head = Vec::new();
    let ours = std::fs::File::open(&manifest)
        .and_then(|f| f.take(MANIFEST_HEAD.len() as u64).read_to_end(&mut head))
        .map(|_| head == MANIFEST_HEAD.as_bytes())
        .unwrap_or(false);
    if ours {
        Ok(Target::Previous)
    } else {
        // PNGs without a complete manifest: someone's images, or an interrupted older write
        Err(Error::NotEmpty {
            path: dir.into(),
            entry: if manifest.exists() {
                "manifest.csv".into()
            } else {
                first.clone()
            },
        })
    }
}

/// Check that `dir` can receive a dataset (see [`Dataset::write_dir`]) without writing anything.
pub fn check_output_dir(dir: &Path) -> Result<()> {
    classify_target(dir).map(|_| ())
}

/// A fresh name `.<stem>-<pid>-<n>` in `parent`, created as a folder (mode follows the umask).
fn fresh_dir(parent: &Path, stem: &str) -> Result<std::path::PathBuf> {
    let pid = std::process::id();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for k in 0..1000u32 {
        let p = parent.join(format!(".{stem}-{pid}-{nanos}{k}"));
        match std::fs::create_dir(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&p, e)),
        }
    }
    Err(Error::io(
        parent,
        std::io::Error::new(std::io::ErrorKind::AlreadyExists, "no free temporary name"),
    ))
}

/// Remove entries of `dir` whose names start with `prefix` (leftovers of an interrupted write).
fn remove_stale(dir: &Path, prefix: &str) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd.flatten() {
        if e.file_name().to_string_lossy().starts_with(prefix) {
            let p = e.path();
            let r = if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            match r {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(&p, err))
                }
                _ => {}
            }
        }
    }
    Ok(())
}

impl Dataset {
    /// Write `DIR/000000.png ...`, `DIR/manifest.csv` (ground truth, one row per image, columns
    /// `file,index,task,kind,class,size,<4 features>,x,y,ratio,coarse_ok,<element>_r/g/b...`) and
    /// `DIR/images.npy` (N x H x W x 3, u8). The manifest lists what belongs to the set.
    ///
    /// Nothing is ever half-written or mixed with older files: everything is written into a
    /// hidden temporary folder first (`.<DIR name>.partial-*` beside `DIR`, or `DIR/.partial-*`
    /// when `DIR` is an existing empty folder), then
    /// - `DIR` absent: the temporary folder is renamed to `DIR`;
    /// - `DIR` empty: the files are moved into it, `manifest.csv` last;
    /// - `DIR` a complete previous `data` output (only `NNNNNN.png`, `manifest.csv` of this
    ///   format, `images.npy` and temporaries): it is replaced as a whole (renamed aside, the new
    ///   folder renamed in, the old one deleted);
    /// - anything else in `DIR`: [`Error::NotEmpty`], nothing written.
    ///
    /// Temporaries of an interrupted write (the hidden folders above) are removed by the next
    /// write to the same `DIR`, and never read by `eval`. An empty dataset is an error.
    pub fn write_dir(&self, dir: &Path) -> Result<()> {
        if self.images.is_empty() {
            return Err(Error::param("n", "a dataset needs at least one image"));
        }
        let target = classify_target(dir)?;
        // resolve a symlinked folder to the folder itself, so it is the one replaced
        let dir = match target {
            Target::Absent => dir.to_path_buf(),
            _ => std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?,
        };
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::param("out", format!("{} has no folder name", dir.display())))?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        remove_stale(&parent, &format!(".{name}.partial-"))?;
        remove_stale(&parent, &format!(".{name}.old-"))?;
        if target == Target::Empty {
            // every entry is a hidden temporary of an interrupted write
            remove_stale(&dir, ".")?;
        }
        let tmp = match target {
            Target::Empty => fresh_dir(&dir, "partial")?,
            _ => fresh_dir(&parent, &format!("{name}.partial"))?,
        };
        if let Err(e) = self.write_files(&tmp) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        let done = match target {
            Target::Absent => std::fs::rename(&tmp, &dir).map_err(|e| Error::io(&dir, e)),
            Target::Empty => self.move_into(&tmp, &dir),
            Target::Previous => {
                let old = fresh_dir(&parent, &format!("{name}.old"))?;
                std::fs::remove_dir(&old).map_err(|e| Error::io(&old, e))?;
                std::fs::rename(&dir, &old).map_err(|e| Error::io(&dir, e))?;
                match std::fs::rename(&tmp, &dir) {
                    Ok(()) => std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e)),
                    Err(e) => {
                        let _ = std::fs::rename(&old, &dir);
                        Err(Error::io(&dir, e))
                    }
                }
            }
        };
        if done.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        done
    }

    /// Move the files of `tmp` into the (empty) folder `dir`, the manifest last, then remove `tmp`.
    fn move_into(&self, tmp: &Path, dir: &Path) -> Result<()> {
        let mut names: Vec<String> = (0..self.images.len())
            .map(|i| format!("{i:06}.png"))
            .collect();
        names.push("images.npy".into());
        names.push("manifest.csv".into());
        for n in &names {
            let to = dir.join(n);
            std::fs::rename(tmp.join(n), &to).map_err(|e| Error::io(&to, e))?;
        }
        std::fs::remove_dir(tmp).map_err(|e| Error::io(tmp, e))
    }

    /// Write every file into `dir` (a fresh folder), the manifest last.
    fn write_files(&self, dir: &Path) -> Result<()> {
        self.images
            .par_iter()
            .enumerate()
            .try_for_each(|(i, img)| {
                let path = dir.join(format!("{i:06}.png"));
                write_plain(&path, |w| {
                    img.write_to(w, image::ImageFormat::Png)
                        .map_err(|e| std::io::Error::other(e.to_string()))
                })
            })?;
        write_npy_u8(&dir.join("images.npy"), &self.images)?;
        self.write_manifest(&dir.join("manifest.csv"))
    }

    /// Write the ground-truth manifest CSV alone.
    /// An empty dataset is an error (nothing is written).
    pub fn write_manifest(&self, path: &Path) -> Result<()> {
        if self.records.is_empty() {
            return Err(Error::param("n", "a dataset needs at least one image"));
        }
        atomic_write(path, |w| {
            let mut wr = csv::Writer::from_writer(w);
            let map = |e: csv::Error| std::io::Error::other(e.to_string());
            if let Some(r0) = self.records.first() {
                let mut head: Vec<String> = ["file", "index", "task", "kind", "class", "size"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                head.extend(r0.task.feature_names().iter().map(|s| s.to_string()));
                head.extend(
                    ["x", "y", "ratio", "coarse_ok"]
                        .iter()
                        .map(|s| s.to_string()),
                );
                for e in r0.task.elements() {
                    for ch in ["r", "g", "b"] {
                        head.push(format!("{}_{}", e.name, ch));
                    }
                }
                wr.write_record(&head).map_err(map)?;
            }
            for r in &self.records {
                let mut row = vec![
                    format!("{:06}.png", r.index),
                    r.index.to_string(),
                    r.task.to_string(),
                    r.kind.clone(),
                    r.class.map(|c| c.to_string()).unwrap_or_default(),
                    r.size.to_string(),
                ];
                // immature negatives have no ground-truth features: empty cells
                let num = |v: f64| {
                    if v.is_finite() {
                        format!("{v:.8}")
                    } else {
                        String::new()
                    }
                };
                row.extend(r.features.iter().map(|&v| num(v)));
                row.push(num(r.x));
                row.push(num(r.y));
                row.push(if r.x != 0.0 {
                    num(r.y / r.x)
                } else {
                    String::new()
                });
                row.push(r.coarse_ok.to_string());
                for c in &r.colors {
                    row.extend(c.iter().map(|v| v.to_string()));
                }
                wr.write_record(&row).map_err(map)?;
            }
            wr.flush()
        })
    }
}
