//! Tasks A-D of the paper (Section 3.1, Appendix C), their contrastive (Section 5, App. G)
//! and coarse-violating sets, and the rule evaluator of Section 3.2 (Fig. 2, App. D.2).
//!
//! Usable without burn: the `empirical-rules` binary generates data (`data`) and scores any
//! model's samples (`eval`), the `empirical` binary re-exports the same [`cli`] commands.
//!
//! Layout (one job per module):
//! - [`task`]: the four tasks, their elements, features and target slopes `k`.
//! - [`color`]: OpenCV-convention HSV, the colour ranges of Appendix C.
//! - [`render`]: coverage-exact anti-aliased rasterisation of boxes and disks.
//! - [`generate`](mod@generate): seeded generators (training, contrastive, coarse-violating and immature-DDPM
//!   negative sets), [`generate::Dataset::write_dir`].
//! - [`tensor`]: NCHW `f32` conversion for training code.
//! - [`io`]: loading folders (through their manifest / sample list) and files, atomic writes.
//! - [`npy`]: `.npy` reading with the header checked against the file before allocating.
//! - [`batch`]: in-memory image batches read with the `.npy` reader's rules, and `eval`'s
//!   scoring of samples against an optional training set (used by the Python bindings).
//! - [`eval`]: masks, components, sub-pixel key points, the validity verdict
//!   ([`eval::validity`]: one dominant object of the right shape and size per element on a
//!   clean background), coarse/fine verdicts and summary.
//! - [`results`]: the evaluator's reports read back from run folders (DDPM, guided, filtered).
//! - [`curve`]: training curves (Fig. 12), the evaluator's summaries at epoch milestones.
//! - [`cli`]: clap commands `data` and `eval`.
//!
//! Differences between the paper and its authors' code, the evaluator's documented choices and
//! measured accuracy: see `README.md` of this crate.

// Index loops over colour channels / pixels read closer to the maths than iterator chains.
#![allow(clippy::needless_range_loop)]

pub mod batch;
pub mod cli;
pub mod color;
pub mod curve;
pub mod error;
pub mod eval;
pub mod generate;
pub mod io;
pub mod layout;
pub mod npy;
pub mod render;
pub mod results;
pub mod task;
pub mod tensor;

pub use error::{Error, Result};
pub use eval::{evaluate, EvalConfig, EvalReport, ImageResult, Summary};
pub use generate::{generate, Dataset, GenConfig, Kind, Record};
pub use io::{load_images, load_images_lenient, load_samples, SampleSet};
pub use layout::RunLayout;
pub use task::Task;
pub use tensor::{from_chw_f32, to_chw_f32, try_from_chw_f32};
