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
use crate::data::{read_pairs, Preprocess};
use crate::dataset::PairSet;
use crate::error::{Error, Result};
use crate::eval::{self, sparsity::on_mask, EvalResult, SuiteOptions};
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
    let index = match name {
        "auto" => return Ok(Device::cuda_if_available()),
        "cpu" => return Ok(Device::Cpu),
        "cuda" => 0,
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| Error::Config(format!("unknown device {other:?}; use cpu, cuda, cuda:N or auto")))?,
    };
    let available = tch::Cuda::device_count() as usize;
    if index >= available {
        return Err(Error::Config(format!(
            "device {name:?} is not available: libtorch sees {available} CUDA device(s); use --device cpu or auto"
        )));
    }
    Ok(Device::Cuda(index))
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
    if options.proj_bias {
        sparse.proj_bias = true;
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
    options.validate()?;
    let device = parse_device(&options.device)?;
    let mut config = model_config(options)?;
    let run_dir = options.logs.join(run_name(options, &config));
    let checkpoints_dir = run_dir.join("checkpoints");
    let tsv_options = options.tsv.options();
    if options.resume.is_none() {
        prepare_new_run_dir(&run_dir, options.overwrite)?;
    }

    // A resumed run takes its tokenizer, config and preprocessing from the checkpoint.
    let resume_dir = resume_dir(options, &run_dir)?;
    let (tokenizer, preprocess, resumed) = match &resume_dir {
        Some(dir) => {
            let loaded = checkpoint::load(dir, device)?;
            check_resume_matches(options, &config, &loaded)?;
            config = loaded.model.config.clone();
            (loaded.tokenizer.clone(), loaded.preprocess.clone(), Some(loaded))
        }
        None => {
            let tokenizer = new_tokenizer(options)?;
            config.text_cfg.vocab_size = tokenizer.vocab_size() as i64;
            (tokenizer, Preprocess::clip(config.vision_cfg.image_size as u32), None)
        }
    };
    std::fs::create_dir_all(&run_dir).map_err(|e| Error::io("failed to create folder", &run_dir, e))?;
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
    // Read the validation pairs now, so that a bad file fails before training rather than after.
    let val_set = match &options.val_data {
        Some(val) => Some(PairSet::load(val, &tsv_options, &preprocess, &tokenizer, context, options.workers)?),
        None => None,
    };
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

    if step > 0 {
        truncate_log(&run_dir.join("log.jsonl"), step)?;
    }
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(run_dir.join("log.jsonl"))
        .map_err(|e| Error::io("failed to open", run_dir.join("log.jsonl"), e))?;
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
            return Err(non_finite_loss(step + 1, loss_value, last_checkpoint.as_deref()));
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

        let sparsity = batch_sparsity(&out.image_embed, &out.text_embed, options.tau, signed, &mut fired);
        let line = StepLog {
            step,
            epoch: step as f64 / steps_per_epoch as f64,
            loss: loss_value,
            contrastive_loss: contrastive.double_value(&[]),
            logit_scale: model.scale(),
            lr,
            grad_norm,
            l0_image: sparsity.l0_image,
            l0_text: sparsity.l0_text,
            dead_fraction: sparsity.dead_fraction,
            zero_codes: sparsity.zero_codes,
            samples_per_second: options.batch_size as f64 / seconds.max(1e-9),
        };
        write_log_line(&mut log, &run_dir, &line)?;
        progress.set_message(format!("loss {loss_value:.3} scale {:.1} l0 {:.1}/{:.1}", line.logit_scale, line.l0_image, line.l0_text));
        progress.inc(1);

        let end_of_epoch = step % steps_per_epoch == 0;
        if end_of_epoch || step == total_steps {
            progress.suspend(|| log_progress(&line));
        }
        let save = step == total_steps
            || (end_of_epoch && (step / steps_per_epoch) % options.save_frequency.max(1) == 0)
            || (options.save_every_steps > 0 && step % options.save_every_steps == 0)
            || fraction_steps(&options.save_fractions, total_steps).contains(&step);
        if save {
            let optimizer_state = optimizer.state_tensors();
            let state = state_at(step, train_seconds);
            let snapshot = checkpoint::Snapshot {
                vs: &vs,
                optimizer_state: &optimizer_state,
                model: &model,
                tokenizer: &tokenizer,
                preprocess: &preprocess,
                state: &state,
            };
            let dir = checkpoint::save(&checkpoints_dir, &snapshot)?;
            last_checkpoint = Some(dir);
        }
    }
    progress.finish();
    let checkpoint = last_checkpoint.ok_or_else(|| Error::Config("training ran no step and has no checkpoint".into()))?;

    let eval = match (&options.val_data, &val_set) {
        (Some(val), Some(val_set)) => evaluate_run(&checkpoint, val, val_set, options, device, &run_dir)?,
        _ => Vec::new(),
    };
    Ok(TrainSummary { run_dir, checkpoint, steps: step, final_loss, train_seconds, code_dim, eval })
}

/// Evaluates the final checkpoint on the validation pairs and writes `RUN/results/*.json`.
fn evaluate_run(checkpoint: &Path, val: &Path, val_set: &PairSet, options: &TrainOptions, device: Device, run_dir: &Path) -> Result<Vec<EvalResult>> {
    let loaded = checkpoint::load(checkpoint, device)?;
    let dataset = val.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "val".into());
    let model_name = run_dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let eval_options = SuiteOptions { device, tau: options.tau, ..SuiteOptions::default() };
    let results = eval::evaluate_pairs(&loaded, val_set, &dataset, &model_name, &eval_options)?;
    for result in &results {
        eval::write_result_in(&run_dir.join("results"), result)?;
    }
    Ok(results)
}

/// Returns the checkpoint folder that `--resume` names, if any.
fn resume_dir(options: &TrainOptions, run_dir: &Path) -> Result<Option<PathBuf>> {
    match options.resume.as_deref() {
        None => Ok(None),
        Some("latest") => checkpoint::resolve(run_dir).map(Some).map_err(|e| {
            Error::Config(format!("--resume latest: no checkpoint to resume in {} ({e})", run_dir.display()))
        }),
        Some(path) => checkpoint::resolve(Path::new(path)).map(Some),
    }
}

/// Builds the tokenizer of a new run; the corpus BPE is trained on the training captions.
fn new_tokenizer(options: &TrainOptions) -> Result<Tokenizer> {
    match options.tokenizer {
        TokenizerKind::Clip => Tokenizer::clip(),
        TokenizerKind::Corpus => {
            let records = read_pairs(&options.train_data, &options.tsv.options())?;
            let captions: Vec<String> = records.into_iter().map(|r| r.caption).collect();
            Tokenizer::train_corpus(&captions, options.corpus_vocab_size)
        }
    }
}

/// Builds the error for a NaN or infinite loss, with advice that depends on whether a checkpoint exists.
fn non_finite_loss(step: i64, loss: f64, last_checkpoint: Option<&Path>) -> Error {
    let hint = match last_checkpoint {
        Some(dir) => format!(
            "the last good checkpoint is {}. Lower --lr or raise --warmup, then continue with --resume latest",
            dir.display()
        ),
        None => "no checkpoint was written yet. Lower --lr or raise --warmup and start again with --overwrite".into(),
    };
    Error::NonFiniteLoss { step, loss, hint }
}

/// Sparsity of one batch, as logged.
struct BatchSparsity {
    l0_image: f64,
    l0_text: f64,
    /// Share of features that fired on no input so far in the epoch.
    dead_fraction: f64,
    zero_codes: i64,
}

/// Measures the batch's sparsity and marks the features it fires in `fired` [D].
fn batch_sparsity(image_embed: &Tensor, text_embed: &Tensor, tau: f64, signed: bool, fired: &mut Tensor) -> BatchSparsity {
    tch::no_grad(|| {
        let image_on = on_mask(image_embed, tau, signed);
        let text_on = on_mask(text_embed, tau, signed);
        let _ = fired.logical_or_(&image_on.any_dim(0, false).logical_or(&text_on.any_dim(0, false)));
        let l0 = |on: &Tensor| on.sum_dim_intlist(&[1][..], false, Kind::Float).mean(Kind::Float).double_value(&[]);
        let zero_codes = |on: &Tensor| on.any_dim(1, false).logical_not().sum(Kind::Int64).int64_value(&[]);
        BatchSparsity {
            l0_image: l0(&image_on),
            l0_text: l0(&text_on),
            dead_fraction: 1.0 - fired.to_kind(Kind::Float).mean(Kind::Float).double_value(&[]),
            zero_codes: zero_codes(&image_on) + zero_codes(&text_on),
        }
    })
}

/// Logs one progress line, for logs that are not a terminal.
fn log_progress(line: &StepLog) {
    tracing::info!(
        step = line.step,
        epoch = format!("{:.2}", line.epoch),
        loss = format!("{:.4}", line.loss),
        logit_scale = format!("{:.2}", line.logit_scale),
        l0_image = format!("{:.1}", line.l0_image),
        l0_text = format!("{:.1}", line.l0_text),
        dead_fraction = format!("{:.3}", line.dead_fraction),
        "progress"
    );
}

/// Makes sure a new run does not mix with an earlier run of the same name.
fn prepare_new_run_dir(run_dir: &Path, overwrite: bool) -> Result<()> {
    let used = run_dir.join("log.jsonl").exists() || run_dir.join("checkpoints").exists();
    if !used {
        return Ok(());
    }
    if !overwrite {
        return Err(Error::Config(format!(
            "run folder {} already contains a run; continue it with --resume latest, delete it with --overwrite, or choose another --name",
            run_dir.display()
        )));
    }
    tracing::warn!(run = %run_dir.display(), "--overwrite: deleting the earlier run");
    std::fs::remove_dir_all(run_dir).map_err(|e| Error::io("failed to delete", run_dir, e))
}

/// Rejects a resume whose options would change the model or the batch order of the saved run.
fn check_resume_matches(options: &TrainOptions, requested: &ModelConfig, loaded: &checkpoint::LoadedModel) -> Result<()> {
    let saved = &loaded.model.config;
    let mut requested = requested.clone();
    requested.text_cfg.vocab_size = saved.text_cfg.vocab_size;
    if requested != *saved {
        return Err(Error::Config(format!(
            "the model options (--model, --head, --expansion, --logit-scale-cap, --l1-weight, --topk) differ from the checkpoint {}, which has {}; resume with the options of the run",
            loaded.path.display(),
            serde_json::to_string(&saved.sparse_cfg).unwrap_or_default()
        )));
    }
    let saved_options = &loaded.state.options;
    for (flag, key, value) in [("--batch-size", "batch_size", options.batch_size), ("--epochs", "epochs", options.epochs)] {
        if let Some(old) = saved_options.get(key).and_then(|v| v.as_i64()) {
            if old != value {
                return Err(Error::Config(format!(
                    "{flag} {value} differs from the run's {old}; an exact resume needs the same value"
                )));
            }
        }
    }
    if saved_options.get("seed").and_then(|v| v.as_u64()).is_some_and(|old| old != options.seed) {
        return Err(Error::Config("--seed differs from the run's; an exact resume needs the same seed".into()));
    }
    Ok(())
}

fn adamw_config(options: &TrainOptions) -> AdamWConfig {
    AdamWConfig { beta1: options.beta1, beta2: options.beta2, eps: options.eps, weight_decay: options.wd }
}

fn write_log_line(log: &mut File, run_dir: &Path, line: &StepLog) -> Result<()> {
    let mut text = serde_json::to_string(line)?;
    text.push('\n');
    log.write_all(text.as_bytes()).map_err(|e| Error::io("failed to append to", run_dir.join("log.jsonl"), e))
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

/// Returns the steps at which the given fractions of training end: max(1, round(fraction * total)).
pub fn fraction_steps(fractions: &[f64], total_steps: i64) -> Vec<i64> {
    fractions.iter().map(|f| ((f * total_steps as f64).round() as i64).clamp(1, total_steps.max(1))).collect()
}

/// Drops the log lines of steps after `step`, which an interrupted run wrote after its last
/// checkpoint, so that a resumed run does not log those steps twice. A torn last line goes too.
fn truncate_log(path: &Path, step: i64) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(()) };
    let earlier_lines: Vec<&str> = text
        .lines()
        .filter(|line| {
            let value: Option<serde_json::Value> = serde_json::from_str(line).ok();
            value.and_then(|v| v["step"].as_i64()).is_some_and(|s| s <= step)
        })
        .collect();
    if earlier_lines.len() == text.lines().count() {
        return Ok(());
    }
    let mut out = earlier_lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    checkpoint::write_atomic(path, out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::{fraction_steps, truncate_log};

    #[test]
    fn resumed_log_drops_later_steps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, "{\"step\": 1}\n{\"step\": 2}\n{\"step\": 3}\n{\"ste").unwrap();
        truncate_log(&path, 2).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"step\": 1}\n{\"step\": 2}\n");
    }

    #[test]
    fn fraction_steps_round_and_clamp() {
        assert_eq!(fraction_steps(&[0.01, 0.03, 0.1, 0.3, 1.0], 1000), vec![10, 30, 100, 300, 1000]);
        assert_eq!(fraction_steps(&[0.001], 100), vec![1], "never before the first step");
    }
}
