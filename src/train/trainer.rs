//! The training loop. Each step: gather a shuffled batch, encode both modalities, take the
//! contrastive loss (plus the L1 penalty for the `l1` head), step AdamW, clamp `logit_scale`, and
//! append one JSON line to `RUN/log.jsonl`.
//!
//! Exact resume: every epoch's shuffle is a function of (seed, epoch), and checkpoints hold the
//! weights, the optimizer moments and the step, so a resumed run replays the same batches.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

use super::checkpoint::{self, TrainState};
use super::optim::{AdamW, AdamWConfig};
use super::options::{TokenizerKind, TrainOptions};
use super::schedule::cosine_lr;
use crate::config::ModelConfig;
use crate::data::{read_pairs, Preprocess, TsvOptions};
use crate::dataset::PairSet;
use crate::error::{Error, Result};
use crate::eval::{self, sparsity::on_mask, EvalOptions, EvalResult};
use crate::loss::clip_loss;
use crate::model::{l1_penalty, Clip};
use crate::tokenizer::Tokenizer;

/// Summary of a finished run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainSummary {
    pub run_dir: PathBuf,
    pub checkpoint: PathBuf,
    pub steps: i64,
    pub final_loss: f64,
    pub train_seconds: f64,
    pub code_dim: i64,
    /// End-of-training evaluation on the validation data, when given.
    pub eval: Vec<EvalResult>,
}

/// One line of `log.jsonl`.
#[derive(Serialize)]
struct StepLog {
    step: i64,
    epoch: f64,
    loss: f64,
    contrastive_loss: f64,
    logit_scale: f64,
    lr: f64,
    grad_norm: f64,
    l0_image: f64,
    l0_text: f64,
    dead_fraction: f64,
    zero_codes: i64,
    samples_per_second: f64,
}

/// Parses `cpu`, `cuda`, `cuda:N` or `auto`.
pub fn parse_device(name: &str) -> Result<Device> {
    match name {
        "auto" => Ok(Device::cuda_if_available()),
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::Cuda(0)),
        other => match other.strip_prefix("cuda:").and_then(|n| n.parse::<usize>().ok()) {
            Some(index) => Ok(Device::Cuda(index)),
            None => Err(Error::Config(format!("unknown device {other:?}; use cpu, cuda, cuda:N or auto"))),
        },
    }
}

/// Builds the model config from the options: a preset name or a JSON file, then the head flags.
pub fn model_config(options: &TrainOptions) -> Result<ModelConfig> {
    let mut config = if Path::new(&options.model).is_file() {
        ModelConfig::load(Path::new(&options.model))?
    } else {
        ModelConfig::preset(&options.model, options.head)?
    };
    let sparse = &mut config.sparse_cfg;
    if sparse.head != options.head {
        *sparse = crate::config::SparseConfig::for_head(options.head);
    }
    if let Some(expansion) = options.expansion {
        sparse.expansion = expansion;
    }
    if let Some(cap) = options.logit_scale_cap {
        sparse.logit_scale_cap = cap;
    }
    if let Some(weight) = options.l1_weight {
        sparse.l1_weight = weight;
    }
    if let Some(k) = options.topk {
        sparse.topk = k;
    }
    config.validate()?;
    Ok(config)
}

/// Returns the run name: `--name`, or one made from the model and head settings.
pub fn run_name(options: &TrainOptions, config: &ModelConfig) -> String {
    options.name.clone().unwrap_or_else(|| {
        let model = Path::new(&options.model).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let head = serde_json::to_value(config.sparse_cfg.head).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        format!("{model}-{head}-e{}-cap{}", config.sparse_cfg.expansion, config.sparse_cfg.logit_scale_cap)
    })
}

/// Returns the shuffled order of `n` pairs in `epoch`; a pure function of (seed, epoch).
fn epoch_order(n: usize, seed: u64, epoch: i64) -> Vec<i64> {
    let mut order: Vec<i64> = (0..n as i64).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    order.shuffle(&mut rng);
    order
}

/// Trains a model with the given options and evaluates it on `--val-data` at the end.
pub fn train(options: &TrainOptions) -> Result<TrainSummary> {
    let device = parse_device(&options.device)?;
    let mut config = model_config(options)?;
    let run_dir = options.logs.join(run_name(options, &config));
    let checkpoints_dir = run_dir.join("checkpoints");
    let tsv_options = TsvOptions {
        image_key: options.csv_img_key.clone(),
        caption_key: options.csv_caption_key.clone(),
        separator: options.csv_separator,
    };

    // A resumed run takes its tokenizer, config and preprocessing from the checkpoint.
    let resume_dir = match options.resume.as_deref() {
        None => None,
        Some("latest") => Some(checkpoint::resolve(&run_dir).map_err(|e| {
            Error::Config(format!("--resume latest: no checkpoint to resume in {} ({e})", run_dir.display()))
        })?),
        Some(path) => Some(checkpoint::resolve(Path::new(path))?),
    };
    let (tokenizer, preprocess, resumed) = match &resume_dir {
        Some(dir) => {
            let loaded = checkpoint::load(dir, device)?;
            config = loaded.model.config.clone();
            (loaded.tokenizer.clone(), loaded.preprocess.clone(), Some(loaded))
        }
        None => {
            let tokenizer = match options.tokenizer {
                TokenizerKind::Clip => Tokenizer::clip()?,
                TokenizerKind::Corpus => {
                    let records = read_pairs(&options.train_data, &tsv_options)?;
                    let captions: Vec<String> = records.into_iter().map(|r| r.caption).collect();
                    Tokenizer::train_corpus(&captions, options.corpus_vocab_size)?
                }
            };
            config.text_cfg.vocab_size = tokenizer.vocab_size() as i64;
            (tokenizer, Preprocess::clip(config.vision_cfg.image_size as u32), None)
        }
    };
    std::fs::create_dir_all(&run_dir).map_err(|e| Error::io("create folder", &run_dir, e))?;
    checkpoint::write_atomic(&run_dir.join("params.json"), serde_json::to_string_pretty(options)?.as_bytes())?;

    tracing::info!(data = %options.train_data.display(), "loading training pairs");
    let context = config.text_cfg.context_length;
    let train_set = PairSet::load(&options.train_data, &tsv_options, &preprocess, &tokenizer, context, options.workers)?;
    let steps_per_epoch = train_set.len() as i64 / options.batch_size;
    if steps_per_epoch == 0 {
        return Err(Error::Config(format!(
            "--batch-size {} is larger than the {} training pairs; lower it",
            options.batch_size,
            train_set.len()
        )));
    }
    let schedule_steps = steps_per_epoch * options.epochs;
    let total_steps = options.max_steps.map_or(schedule_steps, |max| max.min(schedule_steps));

    // Build (or restore) the model and the optimizer.
    tch::manual_seed(options.seed as i64);
    let (vs, mut model, mut optimizer, mut step, mut train_seconds) = match resumed {
        Some(loaded) => {
            let dir = loaded.path.clone();
            let mut optimizer = AdamW::new(&loaded.vs, adamw_config(options));
            optimizer.load_state(checkpoint::load_optimizer_state(&dir)?, loaded.state.step)?;
            tracing::info!(checkpoint = %dir.display(), step = loaded.state.step, "resuming");
            (loaded.vs, loaded.model, optimizer, loaded.state.step, loaded.state.train_seconds)
        }
        None => {
            let vs = nn::VarStore::new(device);
            let model = Clip::new(&vs.root(), &config);
            let optimizer = AdamW::new(&vs, adamw_config(options));
            (vs, model, optimizer, 0, 0.0)
        }
    };

    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(run_dir.join("log.jsonl"))
        .map_err(|e| Error::io("open", run_dir.join("log.jsonl"), e))?;
    let progress = progress_bar(total_steps, step);
    let options_json = serde_json::to_value(options)?;
    let state_at = |step: i64, train_seconds: f64| TrainState {
        step,
        total_steps: schedule_steps,
        steps_per_epoch,
        seed: options.seed,
        train_seconds,
        options: options_json.clone(),
    };

    let code_dim = config.code_dim();
    let signed = !config.sparse_cfg.head.is_non_negative();
    let mut fired = Tensor::zeros([code_dim], (Kind::Bool, device));
    let mut order_epoch = -1;
    let mut order = Vec::new();
    let mut final_loss = f64::NAN;
    let mut last_checkpoint = resume_dir.clone();

    while step < total_steps {
        let epoch = step / steps_per_epoch;
        if epoch != order_epoch {
            order = epoch_order(train_set.len(), options.seed, epoch);
            order_epoch = epoch;
            fired = fired.zeros_like();
        }
        let offset = ((step % steps_per_epoch) * options.batch_size) as usize;
        let indices = &order[offset..offset + options.batch_size as usize];

        let started = Instant::now();
        let (images, tokens) = train_set.batch(indices, &preprocess, device);
        let out = model.forward(&images, &tokens);
        let contrastive = clip_loss(&out.image_embed, &out.text_embed, &model.logit_scale);
        let loss = match config.sparse_cfg.head {
            crate::config::HeadKind::L1 => {
                &contrastive + (l1_penalty(&out.image_code) + l1_penalty(&out.text_code)) * config.sparse_cfg.l1_weight
            }
            _ => contrastive.shallow_clone(),
        };
        let loss_value = loss.double_value(&[]);
        if !loss_value.is_finite() {
            progress.abandon();
            return Err(Error::NonFiniteLoss { step: step + 1, loss: loss_value });
        }
        let lr = cosine_lr(options.lr, step, options.warmup, schedule_steps);
        optimizer.zero_grad();
        loss.backward();
        let grad_norm = optimizer.clip_grad_norm(options.grad_clip_norm);
        optimizer.step(lr);
        model.clamp_logit_scale();
        step += 1;
        let seconds = started.elapsed().as_secs_f64();
        train_seconds += seconds;
        final_loss = loss_value;

        // Sparsity of this batch, and features that have fired at all in this epoch.
        let (image_on, text_on) = tch::no_grad(|| {
            (on_mask(&out.image_embed, options.tau, signed), on_mask(&out.text_embed, options.tau, signed))
        });
        let _ = fired.logical_or_(&image_on.any_dim(0, false).logical_or(&text_on.any_dim(0, false)));
        let l0 = |on: &Tensor| on.sum_dim_intlist(&[1][..], false, Kind::Float).mean(Kind::Float).double_value(&[]);
        let zero_codes = image_on.any_dim(1, false).logical_not().sum(Kind::Int64).int64_value(&[])
            + text_on.any_dim(1, false).logical_not().sum(Kind::Int64).int64_value(&[]);
        let line = StepLog {
            step,
            epoch: step as f64 / steps_per_epoch as f64,
            loss: loss_value,
            contrastive_loss: contrastive.double_value(&[]),
            logit_scale: model.scale(),
            lr,
            grad_norm,
            l0_image: l0(&image_on),
            l0_text: l0(&text_on),
            dead_fraction: 1.0 - fired.to_kind(Kind::Float).mean(Kind::Float).double_value(&[]),
            zero_codes,
            samples_per_second: options.batch_size as f64 / seconds.max(1e-9),
        };
        write_log_line(&mut log, &run_dir, &line)?;
        progress.set_message(format!("loss {loss_value:.3} scale {:.1} l0 {:.1}/{:.1}", line.logit_scale, line.l0_image, line.l0_text));
        progress.inc(1);

        let end_of_epoch = step % steps_per_epoch == 0;
        let save = step == total_steps
            || (end_of_epoch && (step / steps_per_epoch) % options.save_frequency.max(1) == 0)
            || (options.save_every_steps > 0 && step % options.save_every_steps == 0);
        if save {
            let dir = checkpoint::save(&checkpoints_dir, &vs, &optimizer.state_tensors(), &model, &tokenizer, &preprocess, &state_at(step, train_seconds))?;
            last_checkpoint = Some(dir);
        }
    }
    progress.finish();
    let checkpoint = last_checkpoint.ok_or_else(|| Error::Config("training ran no step and has no checkpoint".into()))?;

    let eval = match &options.val_data {
        Some(val) => evaluate_run(&checkpoint, val, &tsv_options, options, device, &run_dir)?,
        None => Vec::new(),
    };
    Ok(TrainSummary { run_dir, checkpoint, steps: step, final_loss, train_seconds, code_dim, eval })
}

/// Evaluates the final checkpoint on the validation pairs and writes `RUN/results/*.json`.
fn evaluate_run(checkpoint: &Path, val: &Path, tsv_options: &TsvOptions, options: &TrainOptions, device: Device, run_dir: &Path) -> Result<Vec<EvalResult>> {
    let loaded = checkpoint::load(checkpoint, device)?;
    let context = loaded.model.config.text_cfg.context_length;
    let val_set = PairSet::load(val, tsv_options, &loaded.preprocess, &loaded.tokenizer, context, options.workers)?;
    let dataset = val.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "val".into());
    let model_name = run_dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let eval_options = EvalOptions { device, tau: options.tau, ..EvalOptions::default() };
    let results = eval::evaluate_pairs(&loaded, &val_set, &dataset, &model_name, &eval_options)?;
    for result in &results {
        eval::write_result(&run_dir.join("results"), result)?;
    }
    Ok(results)
}

fn adamw_config(options: &TrainOptions) -> AdamWConfig {
    AdamWConfig { beta1: options.beta1, beta2: options.beta2, eps: options.eps, weight_decay: options.wd }
}

fn write_log_line(log: &mut File, run_dir: &Path, line: &StepLog) -> Result<()> {
    let mut text = serde_json::to_string(line)?;
    text.push('\n');
    log.write_all(text.as_bytes()).map_err(|e| Error::io("append to", run_dir.join("log.jsonl"), e))
}

fn progress_bar(total: i64, done: i64) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} steps ({eta} left) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_position(done as u64);
    bar
}
