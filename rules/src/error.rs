//! Typed errors of `empirical-rules`: bad input is a value, never a panic.
use std::path::PathBuf;

/// Everything that can fail while generating, loading or evaluating images.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A task name that is not one of A, B, C, D.
    #[error("unknown task `{0}`; valid tasks are A, B, C, D")]
    UnknownTask(String),
    /// An invalid parameter value (named).
    #[error("invalid parameter `{name}`: {message}")]
    Param { name: &'static str, message: String },
    /// A file or folder could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An image could not be decoded or encoded.
    #[error("image error on {path}: {message}")]
    Image { path: PathBuf, message: String },
    /// A `.npy` file is malformed or has an unsupported shape / dtype.
    #[error("bad .npy file {path}: {message}")]
    Npy { path: PathBuf, message: String },
    /// Writing CSV or JSON failed.
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
    /// A buffer whose length does not match the stated shape.
    #[error("buffer has {got} values, shape needs {need}")]
    Shape { got: usize, need: usize },
    /// No images found at a path.
    #[error("no images found in {0} (expected *.png files or a .npy file)")]
    Empty(PathBuf),
    /// A folder's list of its files (`manifest.csv`) is unreadable or names something else.
    #[error("bad file list {path}: {message}")]
    List { path: PathBuf, message: String },
    /// A labels file (`<task>.labels.csv`) that is unreadable or malformed.
    #[error("bad labels file {path}: {message}")]
    Labels { path: PathBuf, message: String },
    /// An output folder that holds files `data` did not write (so it is not replaced).
    #[error("output folder {path} is not empty and is not a previous `data` output (it holds `{entry}`); remove it or choose another folder")]
    NotEmpty { path: PathBuf, entry: String },
    /// An evaluator report (`results.json`) that cannot be parsed.
    #[error("bad evaluator report {path}: {message}")]
    Report { path: PathBuf, message: String },
    /// The generator could not place a shape within its retry budget.
    #[error("generator for task {task} could not satisfy its constraints after {tries} tries")]
    Generator { task: String, tries: usize },
}

impl Error {
    /// Wrap an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    /// A named parameter error.
    pub fn param(name: &'static str, message: impl Into<String>) -> Self {
        Error::Param {
            name,
            message: message.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
