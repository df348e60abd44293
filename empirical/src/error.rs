//! Typed errors of the `empirical` crate (every failure is a value, never a panic).
use std::path::PathBuf;

/// Everything that can go wrong while configuring, training, sampling or evaluating a DDPM.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is invalid; `key` is the dotted path of the offending key.
    #[error("invalid config key `{key}`: {message}")]
    Config { key: String, message: String },
    /// The configuration file could not be parsed (unknown key, wrong type...).
    #[error("cannot parse config {source_name}: {message}")]
    ConfigParse {
        source_name: String,
        message: String,
    },
    /// A file could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint file is malformed or does not fit the model.
    #[error("bad checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    /// The training loss became NaN or infinite.
    #[error(
        "loss is {value} at step {step}; run stopped, last good checkpoint kept ({last_good})"
    )]
    NonFiniteLoss {
        step: u64,
        value: f32,
        last_good: String,
    },
    /// The requested compute device cannot be used.
    #[error("device error: {0}")]
    Device(String),
    /// Task generation / evaluation failed (from `empirical-rules`).
    #[error("rules: {0}")]
    Rules(String),
    /// Anything else, with a message.
    #[error("{0}")]
    Other(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wrap an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    /// A configuration error naming `key`.
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            message: message.into(),
        }
    }
}
