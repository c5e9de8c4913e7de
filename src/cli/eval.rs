//! `sparse-clip eval`: retrieval, zero-shot classification over labels, and sparsity of a checkpoint
//! on one image-caption TSV.

use std::path::PathBuf;

use clap::Args;
use sparse_clip::dataset::PairSet;
use sparse_clip::eval::{evaluate_pairs, write_result, EvalOptions};
use sparse_clip::train::options::TsvArgs;
use sparse_clip::train::{checkpoint, parse_device};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Checkpoint folder, or a run folder (its latest checkpoint is used).
    #[arg(long)]
    checkpoint: PathBuf,
    /// TSV of image-caption pairs.
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    tsv: TsvArgs,
    /// Dataset name in the output [default: the TSV's file stem].
    #[arg(long)]
    dataset: Option<String>,
    /// Folder for one JSON per task.
    #[arg(long, default_value = "results")]
    output: PathBuf,
    /// Values of k for recall@k.
    #[arg(long = "recall_k", alias = "recall-k", value_delimiter = ',', default_value = "1,5,10")]
    recall_k: Vec<i64>,
    #[arg(long = "batch_size", alias = "batch-size", default_value_t = 256)]
    batch_size: i64,
    #[arg(long, default_value = "auto")]
    device: String,
    /// Activation threshold tau for l0.
    #[arg(long, default_value_t = 0.001)]
    tau: f64,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    if args.batch_size < 1 {
        anyhow::bail!("--batch-size {} is invalid: it must be at least 1", args.batch_size);
    }
    if let Some(k) = args.recall_k.iter().find(|k| **k < 1) {
        anyhow::bail!("--recall_k {k} is invalid: every k must be at least 1");
    }
    if !(args.tau.is_finite() && args.tau >= 0.0) {
        anyhow::bail!("--tau {} is invalid: it must be a finite number >= 0", args.tau);
    }
    let device = parse_device(&args.device)?;
    let loaded = checkpoint::load(&args.checkpoint, device)?;
    let context = loaded.model.config.text_cfg.context_length;
    let set = PairSet::load(&args.data, &args.tsv.options(), &loaded.preprocess, &loaded.tokenizer, context, 2)?;
    let dataset = args
        .dataset
        .unwrap_or_else(|| args.data.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
    let model_name = loaded.path.display().to_string();
    let options = EvalOptions { recall_k: args.recall_k, batch_size: args.batch_size, device, tau: args.tau, ..EvalOptions::default() };
    let results = evaluate_pairs(&loaded, &set, &dataset, &model_name, &options)?;
    for result in &results {
        let path = write_result(&args.output, result)?;
        tracing::info!(path = %path.display(), task = %result.task, "wrote result");
    }
    super::print_json(&results)
}
