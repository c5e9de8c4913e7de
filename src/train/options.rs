//! Training options, named after open_clip's flags (`--train-data`, `--batch-size`, `--lr`, ...).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::HeadKind;
use crate::data::TsvOptions;
use crate::error::{Error, Result};

/// The tokenizer of a new run.
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
    #[command(flatten)]
    #[serde(flatten)]
    pub tsv: TsvArgs,
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
    /// Add a learned per-feature bias to the head projection.
    #[arg(long)]
    #[serde(default)]
    pub proj_bias: bool,
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
    /// Folder that contains the runs.
    #[arg(long, default_value = "runs")]
    pub logs: PathBuf,
    /// Resume: "latest" continues LOGS/NAME; a path continues that checkpoint.
    #[arg(long)]
    pub resume: Option<String>,
    /// Delete an existing run folder of the same name before starting.
    #[arg(long)]
    #[serde(default)]
    pub overwrite: bool,
    /// Save a checkpoint every N epochs (and always at the end).
    #[arg(long, default_value_t = 1)]
    pub save_frequency: i64,
    /// Also save every N steps (0: never).
    #[arg(long, default_value_t = 0)]
    pub save_every_steps: i64,
    /// Also save at these fractions of the total steps, e.g. 0.01,0.03,0.1,0.3 for
    /// `interpret dynamics` (each at step max(1, round(fraction * total steps))).
    #[arg(long, value_delimiter = ',')]
    #[serde(default)]
    pub save_fractions: Vec<f64>,
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

/// Column names and separator of image-caption tables (open_clip's `--csv-*` flags).
#[derive(Clone, Debug, Serialize, Deserialize, clap::Args)]
pub struct TsvArgs {
    /// Column holding the image path.
    #[arg(long, default_value = "filepath")]
    pub csv_img_key: String,
    /// Column holding the caption.
    #[arg(long, default_value = "title")]
    pub csv_caption_key: String,
    /// Field separator: one character, or `tab`, `\t`, `comma`.
    #[arg(long, default_value = "tab", value_parser = parse_separator)]
    pub csv_separator: char,
}

impl Default for TsvArgs {
    fn default() -> Self {
        TsvArgs { csv_img_key: "filepath".into(), csv_caption_key: "title".into(), csv_separator: '\t' }
    }
}

impl TsvArgs {
    /// Returns the reader options these flags describe.
    pub fn options(&self) -> TsvOptions {
        TsvOptions {
            image_key: self.csv_img_key.clone(),
            caption_key: self.csv_caption_key.clone(),
            separator: self.csv_separator,
        }
    }
}

/// Parses a separator flag: a single character, or `tab`, `\t`, `comma`.
pub fn parse_separator(text: &str) -> std::result::Result<char, String> {
    match text {
        "tab" | "\\t" | "\t" => Ok('\t'),
        "comma" => Ok(','),
        _ => {
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(c),
                _ => Err(format!("invalid separator {text:?}; use one character, `tab` or `comma`")),
            }
        }
    }
}

impl TrainOptions {
    /// Checks every numeric option before any data is read.
    pub fn validate(&self) -> Result<()> {
        let fail = |flag: &str, value: String, rule: &str| {
            Err(Error::Config(format!("{flag} {value} is invalid: it must be {rule}")))
        };
        if self.batch_size < 2 {
            return fail("--batch-size", self.batch_size.to_string(), "at least 2, because the contrastive loss needs negatives");
        }

        if self.epochs < 1 {
            return fail("--epochs", self.epochs.to_string(), "at least 1");
        }

        if let Some(max) = self.max_steps {
            if max < 1 {
                return fail("--max-steps", max.to_string(), "at least 1");
            }
        }

        let positive = [("--lr", self.lr), ("--eps", self.eps), ("--grad-clip-norm", self.grad_clip_norm)];
        for (flag, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return fail(flag, value.to_string(), "a finite number above 0");
            }
        }

        if !(self.wd.is_finite() && self.wd >= 0.0) {
            return fail("--wd", self.wd.to_string(), "a finite number >= 0");
        }

        if !(self.tau.is_finite() && self.tau >= 0.0) {
            return fail("--tau", self.tau.to_string(), "a finite number >= 0");
        }

        for (flag, value) in [("--beta1", self.beta1), ("--beta2", self.beta2)] {
            if !(0.0..1.0).contains(&value) {
                return fail(flag, value.to_string(), "in [0, 1)");
            }
        }

        if self.warmup < 0 {
            return fail("--warmup", self.warmup.to_string(), ">= 0");
        }

        if self.save_frequency < 1 {
            return fail("--save-frequency", self.save_frequency.to_string(), "at least 1");
        }

        if self.save_every_steps < 0 {
            return fail("--save-every-steps", self.save_every_steps.to_string(), ">= 0 (0 turns it off)");
        }

        if let Some(bad) = self.save_fractions.iter().find(|f| !(f.is_finite() && **f > 0.0 && **f <= 1.0)) {
            return fail("--save-fractions", bad.to_string(), "in (0, 1]");
        }

        if let Some(name) = &self.name {
            validate_run_name(name)?;
        }

        Ok(())
    }
}

/// Checks that a run name is one plain folder name, so that the run stays inside `--logs`.
pub fn validate_run_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\\')
        && !name.starts_with('.');
    if plain {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "--name {name:?} is invalid: use a plain folder name without '/', and not starting with '.'"
        )))
    }
}
