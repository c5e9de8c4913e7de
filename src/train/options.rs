//! Training options, named after open_clip's flags (`--train-data`, `--batch-size`, `--lr`, ...).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::HeadKind;

/// Which tokenizer a new run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TokenizerKind {
    /// CLIP's BPE, 49,408 tokens.
    Clip,
    /// A small BPE trained on the training captions.
    Corpus,
}

/// Everything `sparse-clip train` reads.
#[derive(Clone, Debug, Serialize, Deserialize, clap::Args)]
pub struct TrainOptions {
    /// TSV (or CSV) of training pairs with `filepath` and `title` columns.
    #[arg(long)]
    pub train_data: PathBuf,
    /// TSV of held-out pairs, evaluated at the end of training.
    #[arg(long)]
    pub val_data: Option<PathBuf>,
    /// Column holding the image path.
    #[arg(long, default_value = "filepath")]
    pub csv_img_key: String,
    /// Column holding the caption.
    #[arg(long, default_value = "title")]
    pub csv_caption_key: String,
    /// Field separator of the data files.
    #[arg(long, default_value = "\t")]
    pub csv_separator: char,
    /// Model preset (tiny, small, ViT-B-32, ViT-L-14) or a JSON model config file.
    #[arg(long, default_value = "tiny")]
    pub model: String,
    /// Head after the final projection: dense (CLIP), relu (Sparse CLIP), l1, topk.
    #[arg(long, value_enum, default_value = "relu")]
    pub head: HeadKind,
    /// Code width D = embed_dim * expansion [default: 1 for dense, 32 otherwise].
    #[arg(long)]
    pub expansion: Option<i64>,
    /// Cap on exp(logit_scale) [default: 100 for dense, 50 otherwise].
    #[arg(long)]
    pub logit_scale_cap: Option<f64>,
    /// Weight of the L1 penalty of the l1 head.
    #[arg(long)]
    pub l1_weight: Option<f64>,
    /// Values kept by the topk head.
    #[arg(long)]
    pub topk: Option<i64>,
    /// Tokenizer of a new run.
    #[arg(long, value_enum, default_value = "clip")]
    pub tokenizer: TokenizerKind,
    /// Vocabulary size of the corpus tokenizer.
    #[arg(long, default_value_t = 4096)]
    pub corpus_vocab_size: usize,
    /// Pairs per optimizer step.
    #[arg(long, default_value_t = 256)]
    pub batch_size: i64,
    /// Passes over the training data.
    #[arg(long, default_value_t = 6)]
    pub epochs: i64,
    /// Stop after this many optimizer steps (for smoke tests); the schedule still spans the epochs.
    #[arg(long)]
    pub max_steps: Option<i64>,
    /// Peak learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// AdamW weight decay (not applied to biases, LayerNorm, embeddings or logit_scale).
    #[arg(long, default_value_t = 0.2)]
    pub wd: f64,
    #[arg(long, default_value_t = 0.9)]
    pub beta1: f64,
    #[arg(long, default_value_t = 0.98)]
    pub beta2: f64,
    #[arg(long, default_value_t = 1e-6)]
    pub eps: f64,
    /// Linear warm-up steps before the cosine decay.
    #[arg(long, default_value_t = 50)]
    pub warmup: i64,
    /// Maximum global gradient norm.
    #[arg(long, default_value_t = 1.0)]
    pub grad_clip_norm: f64,
    /// Seed of the initialisation and the shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Run name; the run lives in LOGS/NAME [default: MODEL-HEAD-eEXPANSION-capCAP].
    #[arg(long)]
    pub name: Option<String>,
    /// Folder that holds the runs.
    #[arg(long, default_value = "runs")]
    pub logs: PathBuf,
    /// Resume: "latest" continues LOGS/NAME; a path continues that checkpoint.
    #[arg(long)]
    pub resume: Option<String>,
    /// Save a checkpoint every N epochs (and always at the end).
    #[arg(long, default_value_t = 1)]
    pub save_frequency: i64,
    /// Also save every N steps (0: never).
    #[arg(long, default_value_t = 0)]
    pub save_every_steps: i64,
    /// Device: cpu, cuda, cuda:N, or auto (cuda when available).
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Threads for image decoding.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Activation threshold tau for the logged l0.
    #[arg(long, default_value_t = 0.001)]
    pub tau: f64,
}
