//! sparse-clip: train, evaluate and interpret Sparse CLIP models on libtorch.
//!
//! Sparse CLIP (Qin et al., "Sparse CLIP: Co-Optimizing Interpretability and Performance in
//! Contrastive Learning", ICLR 2026) widens the final projection of both CLIP towers and puts a ReLU
//! after it. The embeddings become non-negative and, as training proceeds, sparse.
//!
//! Module map:
//! - [`config`]: model configuration in open_clip's JSON shape, with named presets.
//! - [`model`]: the vision and text towers and the sparse head.
//! - [`loss`]: the symmetric contrastive loss.
//! - [`tokenizer`]: the CLIP BPE tokenizer and a small BPE trained on the corpus.
//! - [`data`]: building the real data sets, reading image-caption TSVs, image preprocessing.
//! - [`train`]: the training loop, optimizer, schedule and checkpoints.
//! - [`eval`]: CLIP_benchmark-style tasks: retrieval, zero-shot classification, linear probe, sparsity.
//! - [`interpret`]: feature statistics, modality, clarity, naming, the atlas and training dynamics.
//! - [`sae`]: sparse autoencoders on dense embeddings, the post-hoc baseline.
//! - [`sweep`]: grids of training runs, resumable, with their table and plots.
//! - [`plot`]: small SVG charts for reports.

pub mod config;
pub mod data;
pub mod dataset;
pub mod error;
pub mod eval;
pub mod interpret;
pub mod loss;
pub mod model;
pub mod plot;
pub mod sae;
pub mod sweep;
pub mod tokenizer;
pub mod train;

pub use error::{Error, Result};
