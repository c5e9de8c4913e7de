//! Training: options, the AdamW optimizer, the learning-rate schedule, checkpoints and the loop.

pub mod checkpoint;
pub mod optim;
pub mod options;
pub mod schedule;
pub mod trainer;

pub use options::{TokenizerKind, TrainOptions};
pub use trainer::{parse_device, train, TrainSummary};

/// The `tch::nn::Path` group of parameters that get no weight decay: biases, LayerNorm weights,
/// embeddings and `logit_scale`. Group 0, the default, is decayed.
pub const NO_DECAY_GROUP: usize = 1;
