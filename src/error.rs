//! The error type of the library. Every variant names the value that failed and, where there is one,
//! what the user can do about it.

use std::path::PathBuf;

/// Errors returned by the sparse-clip library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// An image file could not be decoded or rendered.
    #[error("invalid image {path}: {reason}")]
    Image { path: PathBuf, reason: String },

    /// Input data (a TSV, a caption, a data package) is missing or malformed.
    #[error("{0}")]
    Data(String),

    /// A model or training configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// Text could not be tokenized, or a tokenizer file is invalid.
    #[error("tokenizer: {0}")]
    Tokenizer(String),

    /// A checkpoint is missing, incomplete or does not match the model.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },

    /// The training loss became NaN or infinite.
    #[error("non-finite loss {loss} at step {step}, so training stopped before applying that update; {hint}")]
    NonFiniteLoss { step: i64, loss: f64, hint: String },

    /// An error raised by libtorch.
    #[error("libtorch: {}", first_line(&.0.to_string()))]
    Torch(#[from] tch::TchError),

    /// A JSON document could not be parsed or written.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The result type of the sparse-clip library.
pub type Result<T> = std::result::Result<T, Error>;

/// Returns the first line of a libtorch message, which is followed by C++ stack frames.
pub fn first_line(message: &str) -> &str {
    message.lines().find(|line| !line.trim().is_empty()).unwrap_or(message).trim()
}

impl Error {
    /// Wraps an I/O error with the action that failed and the path it failed on.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
