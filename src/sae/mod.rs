//! Sparse autoencoders on the dense model's embeddings: the post-hoc baseline Sparse CLIP is
//! compared with.

pub mod compare;
pub mod metrics;
pub mod model;
pub mod train;

pub use model::{Sae, SaeConfig, SaeKind};
pub use train::{evaluate_sae, train_sae, SaeMetrics, SaeTrainOptions};
