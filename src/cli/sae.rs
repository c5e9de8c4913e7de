//! `sparse-clip sae train` and `sparse-clip sae eval`: sparse autoencoders on the dense model's
//! embeddings, measured in the same table as Sparse CLIP.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use sparse_clip::eval::datasets::load_retrieval;
use sparse_clip::eval::{Builtin, DataRoots, DatasetSource, SuiteOptions};
use sparse_clip::interpret::codes::encode_set;
use sparse_clip::sae::compare::{compare_row, CompareContext};
use sparse_clip::sae::{evaluate_sae, train_sae, Sae, SaeConfig, SaeKind, SaeTrainOptions};
use sparse_clip::train::checkpoint::{self, write_atomic, LoadedModel};
use sparse_clip::train::parse_device;
use tch::{nn, Tensor};

/// Weights and description files of a trained SAE.
const WEIGHTS: &str = "sae.safetensors";
const DESCRIPTION: &str = "sae.json";

#[derive(Debug, Args)]
pub struct SaeArgs {
    #[command(subcommand)]
    command: SaeCommand,
}

#[derive(Debug, Subcommand)]
enum SaeCommand {
    /// Train an SAE on the dense model's embeddings of the training set.
    Train(TrainArgs),
    /// Measure an SAE: reconstruction, downstream tasks through it, sparsity, modality, clarity.
    Eval(EvalArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// TopK with AuxK for dead latents.
    Topk,
    /// ReLU with an L1 penalty.
    ReluL1,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Inputs {
    Image,
    Text,
    Both,
}

#[derive(Debug, Args)]
struct TrainArgs {
    /// The dense CLIP checkpoint whose embeddings the SAE learns.
    #[arg(long)]
    dense: PathBuf,
    /// Sparsity mechanism.
    #[arg(long, value_enum, default_value = "topk")]
    kind: Kind,
    /// Dictionary size [default: the code width of --like, else 2048].
    #[arg(long)]
    dict_size: Option<i64>,
    /// A Sparse CLIP checkpoint whose code width sets the dictionary size.
    #[arg(long)]
    like: Option<PathBuf>,
    /// Latents kept by TopK.
    #[arg(long, default_value_t = 32)]
    k: i64,
    /// Dead latents AuxK reconstructs the residual from.
    #[arg(long, default_value_t = 256)]
    aux_k: i64,
    /// Weight of the AuxK loss.
    #[arg(long, default_value_t = 1.0 / 32.0)]
    aux_weight: f64,
    /// L1 weight of the ReLU SAE.
    #[arg(long, default_value_t = 3e-3)]
    l1: f64,
    /// Embeddings to train on: image, text or both.
    #[arg(long, value_enum, default_value = "both")]
    inputs: Inputs,
    /// Training table (its images and captions are encoded by the dense model).
    #[arg(long, default_value = "data/train.tsv")]
    train_data: PathBuf,
    /// Passes over the training embeddings.
    #[arg(long, default_value_t = 30)]
    epochs: i64,
    /// Embeddings per optimizer step.
    #[arg(long, default_value_t = 256)]
    batch_size: i64,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Seed of the initialisation and the batch order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Device: cpu, cuda, cuda:N, or auto (cuda when available).
    #[arg(long, default_value = "auto")]
    device: String,
    /// Output folder.
    #[arg(long)]
    output: PathBuf,
    /// Replace an SAE already in the output folder.
    #[arg(long)]
    overwrite: bool,
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// Folder written by `sae train`.
    #[arg(long)]
    sae: PathBuf,
    /// Reference image encoder for clarity [default: the SAE's dense model].
    #[arg(long)]
    reference: Option<PathBuf>,
    /// Folder written by `sparse-clip data build`.
    #[arg(long, default_value = "data")]
    dataset_root: PathBuf,
    /// Device: cpu, cuda, cuda:N, or auto (cuda when available).
    #[arg(long, default_value = "auto")]
    device: String,
    /// Output JSON [default: SAE/eval.json].
    #[arg(long)]
    output: Option<PathBuf>,
}

pub fn run(args: SaeArgs) -> anyhow::Result<()> {
    match args.command {
        SaeCommand::Train(args) => run_train(args),
        SaeCommand::Eval(args) => run_eval(args),
    }
}

fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    for (flag, value) in [("--epochs", args.epochs), ("--batch-size", args.batch_size), ("--k", args.k), ("--aux-k", args.aux_k)] {
        if value < 1 {
            anyhow::bail!("{flag} {value} is invalid: it must be at least 1");
        }
    }
    if !(args.lr.is_finite() && args.lr > 0.0) {
        anyhow::bail!("--lr {} is invalid: it must be a finite number > 0", args.lr);
    }
    for (flag, value) in [("--l1", args.l1), ("--aux-weight", args.aux_weight)] {
        if !(value.is_finite() && value >= 0.0) {
            anyhow::bail!("{flag} {value} is invalid: it must be a finite number >= 0");
        }
    }
    if args.output.join(DESCRIPTION).is_file() && !args.overwrite {
        anyhow::bail!("{} already contains an SAE; pass --overwrite to replace it, or choose another --output", args.output.display());
    }
    checkpoint::create_dir(&args.output)?;
    let device = parse_device(&args.device)?;
    let dense = checkpoint::load(&args.dense, device)?;
    let dict_size = match (args.dict_size, &args.like) {
        (Some(size), _) => size,
        (None, Some(like)) => checkpoint::load(like, device)?.model.config.code_dim(),
        (None, None) => 2048,
    };
    if dict_size < 1 {
        anyhow::bail!("--dict-size {dict_size} is invalid: it must be at least 1");
    }
    if args.kind == Kind::Topk && args.k > dict_size {
        anyhow::bail!("--k {} is invalid: TopK cannot keep more latents than the dictionary size {dict_size}", args.k);
    }

    let source = DatasetSource::Table { name: "train".into(), path: args.train_data.clone(), options: Default::default() };
    let roots = DataRoots { dataset_root: PathBuf::from("data"), raw: None, threads: 2 };
    let set = load_retrieval(&source, &roots, &dense.preprocess)?;
    let encoded = encode_set(&dense, &set, 256, device)?;
    let inputs = match args.inputs {
        Inputs::Image => encoded.image_embed,
        Inputs::Text => encoded.text_embed,
        Inputs::Both => Tensor::cat(&[&encoded.image_embed, &encoded.text_embed], 0),
    };
    let input_dim = inputs.size()[1];
    let kind = match args.kind {
        Kind::Topk => SaeKind::TopK { k: args.k, aux_k: args.aux_k, aux_weight: args.aux_weight, dead_after: inputs.size()[0] },
        Kind::ReluL1 => SaeKind::ReluL1 { l1: args.l1 },
    };
    let config = SaeConfig { input_dim, dict_size, kind };
    let options = SaeTrainOptions { epochs: args.epochs, batch_size: args.batch_size, lr: args.lr, seed: args.seed };
    tracing::info!(inputs = inputs.size()[0], input_dim, dict_size, "training the SAE");
    let started = std::time::Instant::now();
    let vs = nn::VarStore::new(device);
    let (sae, losses) = train_sae(&vs, &inputs, config.clone(), &options)?;
    let metrics = evaluate_sae(&sae, &inputs, device);

    // tch picks the file format from the extension, so the temporary name keeps `.safetensors`.
    let temporary = args.output.join("sae.tmp.safetensors");
    vs.save(&temporary)?;
    std::fs::rename(&temporary, args.output.join(WEIGHTS))?;
    let description = json!({
        "config": config,
        "train_options": options,
        "dense": dense.path,
        "inputs": format!("{:?}", args.inputs).to_lowercase(),
        "train_data": args.train_data,
        "train_metrics": metrics,
        "losses": losses,
        "seconds": started.elapsed().as_secs_f64(),
    });
    write_atomic(&args.output.join(DESCRIPTION), serde_json::to_string_pretty(&description)?.as_bytes())?;
    super::print_json(&json!({ "output": args.output, "train_metrics": metrics, "explained_variance_formula": "1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2" }))
}

/// Loads an SAE folder with the dense checkpoint it was trained on.
pub fn load_sae(dir: &Path, device: tch::Device) -> anyhow::Result<(nn::VarStore, Sae, PathBuf)> {
    let path = dir.join(DESCRIPTION);
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("failed to read {}: {e}; train one with `sparse-clip sae train`", path.display()))?;
    let invalid = |e: serde_json::Error| anyhow::anyhow!("{} is not an SAE description written by `sparse-clip sae train` ({e})", path.display());
    let description: serde_json::Value = serde_json::from_str(&text).map_err(invalid)?;
    let config: SaeConfig = serde_json::from_value(description["config"].clone()).map_err(invalid)?;
    let dense = PathBuf::from(description["dense"].as_str().unwrap_or_default());
    let mut vs = nn::VarStore::new(device);
    let sae = Sae::new(&vs.root(), config);
    let weights = dir.join(WEIGHTS);
    if !weights.is_file() {
        anyhow::bail!("{} not found; the SAE folder is incomplete, so train it again with `sparse-clip sae train`", weights.display());
    }
    vs.load(&weights).map_err(|e| anyhow::anyhow!("cannot load {}: {}", weights.display(), sparse_clip::error::first_line(&e.to_string())))?;
    Ok((vs, sae, dense))
}

fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let device = parse_device(&args.device)?;
    let (_vs, sae, dense_path) = load_sae(&args.sae, device)?;
    let dense = checkpoint::load(&dense_path, device)?;
    let reference = match &args.reference {
        Some(path) => checkpoint::load(path, device)?,
        None => checkpoint::load(&dense_path, device)?,
    };
    let name = args.sae.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "sae".into());
    let row = comparison(&dense, &name, Some(&sae), &reference, &args.dataset_root, device)?;
    let output = args.output.unwrap_or_else(|| args.sae.join("eval.json"));
    write_atomic(&output, serde_json::to_string_pretty(&row)?.as_bytes())?;
    super::print_json(&row)
}

/// Measures one model (or an SAE on it) on the held-out emoji style.
pub fn comparison(
    loaded: &LoadedModel,
    name: &str,
    sae: Option<&Sae>,
    reference: &LoadedModel,
    dataset_root: &Path,
    device: tch::Device,
) -> anyhow::Result<sparse_clip::sae::compare::ComparisonRow> {
    let roots = DataRoots { dataset_root: dataset_root.to_path_buf(), raw: None, threads: 2 };
    let options = SuiteOptions { device, ..SuiteOptions::default() };
    let set = load_retrieval(&DatasetSource::Builtin(Builtin::EmojiHeldout), &roots, &loaded.preprocess)?;
    let reference_embed = encode_set(reference, &set, 256, device)?.image_embed;
    let context = CompareContext { roots: &roots, options: &options, set: &set, reference: &reference_embed };
    Ok(compare_row(loaded, name, sae, &context)?)
}
