//! Checkpoints: one folder per save, written atomically.
//!
//! ```text
//! RUN/checkpoints/step_000120/
//!     model.safetensors       weights, named after the module tree (open_clip names)
//!     optimizer.safetensors   AdamW moments
//!     model_config.json       ModelConfig (open_clip shape plus sparse_cfg)
//!     preprocess.json         image size, mean, std, resize mode
//!     tokenizer.json          the tokenizer, self-contained
//!     state.json              step, epoch, seed, optimizer step, training options
//! RUN/checkpoints/latest      the name of the newest complete folder
//! ```
//!
//! A save writes everything into a hidden temporary folder, fsyncs each file, then renames the
//! folder into place and rewrites `latest` the same way, so that a crash or a full disk leaves the
//! previous checkpoint intact.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{nn, Device, Tensor};

use crate::config::ModelConfig;
use crate::data::Preprocess;
use crate::error::{Error, Result};
use crate::model::Clip;
use crate::tokenizer::Tokenizer;

/// The training progress at the time a checkpoint is written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Number of optimizer steps taken.
    pub step: i64,
    /// Total optimizer steps planned for the run.
    pub total_steps: i64,
    pub steps_per_epoch: i64,
    /// The seed behind initialisation and every epoch's shuffle; resuming replays the same order.
    pub seed: u64,
    /// Seconds of training so far, summed over resumed sessions.
    pub train_seconds: f64,
    /// The training options, as given on the command line.
    pub options: serde_json::Value,
}

/// A model loaded from a checkpoint with everything needed to feed it.
pub struct LoadedModel {
    pub vs: nn::VarStore,
    pub model: Clip,
    pub tokenizer: Tokenizer,
    pub preprocess: Preprocess,
    pub state: TrainState,
    /// The checkpoint folder that was read.
    pub path: PathBuf,
}

const LATEST: &str = "latest";

/// Returns the name of the checkpoint folder for `step`.
pub fn step_dir_name(step: i64) -> String {
    format!("step_{step:06}")
}

/// Everything a checkpoint stores, borrowed from the trainer.
pub struct Snapshot<'a> {
    pub vs: &'a nn::VarStore,
    pub optimizer_state: &'a [(String, Tensor)],
    pub model: &'a Clip,
    pub tokenizer: &'a Tokenizer,
    pub preprocess: &'a Preprocess,
    pub state: &'a TrainState,
}

/// Writes one checkpoint under `checkpoints_dir` and points `latest` at it; returns its folder.
/// On failure (a full disk, say) the partial folder is removed and `latest` is left as it was.
pub fn save(checkpoints_dir: &Path, snapshot: &Snapshot) -> Result<PathBuf> {
    let tmp_dir = checkpoints_dir.join(format!(".{}.tmp", step_dir_name(snapshot.state.step)));
    let result = save_inner(checkpoints_dir, snapshot);
    if result.is_err() && tmp_dir.exists() {
        let _ = fs::remove_dir_all(&tmp_dir);
    }
    result
}

fn save_inner(checkpoints_dir: &Path, snapshot: &Snapshot) -> Result<PathBuf> {
    let Snapshot { vs, optimizer_state, model, tokenizer, preprocess, state } = *snapshot;
    fs::create_dir_all(checkpoints_dir).map_err(|e| Error::io("failed to create folder", checkpoints_dir, e))?;
    let name = step_dir_name(state.step);
    let final_dir = checkpoints_dir.join(&name);
    let tmp_dir = checkpoints_dir.join(format!(".{name}.tmp"));
    if tmp_dir.exists() {
        fs::remove_dir_all(&tmp_dir).map_err(|e| Error::io("failed to remove stale folder", &tmp_dir, e))?;
    }
    fs::create_dir_all(&tmp_dir).map_err(|e| Error::io("failed to create folder", &tmp_dir, e))?;

    let weights = tmp_dir.join("model.safetensors");
    vs.save(&weights).map_err(|e| Error::Checkpoint { path: weights.clone(), reason: format!("failed to write: {}", crate::error::first_line(&e.to_string())) })?;
    sync_file(&weights)?;
    let optimizer = tmp_dir.join("optimizer.safetensors");
    let cpu_state: Vec<(String, Tensor)> =
        optimizer_state.iter().map(|(n, t)| (n.clone(), t.to_device(Device::Cpu))).collect();
    Tensor::write_safetensors(&cpu_state, &optimizer).map_err(|e| Error::Checkpoint {
        path: optimizer.clone(),
        reason: format!("failed to write: {}", crate::error::first_line(&e.to_string())),
    })?;
    sync_file(&optimizer)?;
    write_synced(&tmp_dir.join("model_config.json"), model.config.to_json().as_bytes())?;
    write_synced(&tmp_dir.join("preprocess.json"), serde_json::to_string_pretty(preprocess)?.as_bytes())?;
    tokenizer.save(&tmp_dir.join("tokenizer.json"))?;
    sync_file(&tmp_dir.join("tokenizer.json"))?;
    write_synced(&tmp_dir.join("state.json"), serde_json::to_string_pretty(state)?.as_bytes())?;
    sync_dir(&tmp_dir)?;

    if final_dir.exists() {
        fs::remove_dir_all(&final_dir).map_err(|e| Error::io("failed to replace folder", &final_dir, e))?;
    }
    fs::rename(&tmp_dir, &final_dir).map_err(|e| Error::io("failed to rename checkpoint into", &final_dir, e))?;
    write_atomic(&checkpoints_dir.join(LATEST), name.as_bytes())?;
    sync_dir(checkpoints_dir)?;
    Ok(final_dir)
}

/// Resolves a checkpoint path: a checkpoint folder, a run folder, or its `checkpoints` folder
/// (both of the latter follow `latest`).
pub fn resolve(path: &Path) -> Result<PathBuf> {
    if path.join("state.json").is_file() {
        return Ok(path.to_path_buf());
    }
    for dir in [path.join("checkpoints"), path.to_path_buf()] {
        let latest = dir.join(LATEST);
        if latest.is_file() {
            let name = fs::read_to_string(&latest).map_err(|e| Error::io("failed to read", &latest, e))?;
            let target = dir.join(name.trim());
            if target.join("state.json").is_file() {
                return Ok(target);
            }
            return Err(Error::Checkpoint {
                path: latest,
                reason: format!("points at {}, which is not a complete checkpoint", target.display()),
            });
        }
    }
    if !path.exists() {
        return Err(Error::Checkpoint { path: path.to_path_buf(), reason: "not found; pass a run folder or RUN/checkpoints/step_N".into() });
    }
    Err(Error::Checkpoint {
        path: path.to_path_buf(),
        reason: "not a checkpoint folder (no state.json) and no checkpoints/latest inside; pass a run folder or RUN/checkpoints/step_N".into(),
    })
}

/// Returns a model name for outputs: the run folder's name for RUN/checkpoints/step_N, otherwise
/// the checkpoint folder's name.
pub fn model_name(checkpoint: &Path) -> String {
    let parent = checkpoint.parent();
    let run = match parent.and_then(|p| p.file_name()) {
        Some(name) if name == "checkpoints" => parent.and_then(|p| p.parent()).and_then(|p| p.file_name()),
        _ => checkpoint.file_name(),
    };
    run.map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into())
}

/// Loads a checkpoint for evaluation or for resuming training.
pub fn load(path: &Path, device: Device) -> Result<LoadedModel> {
    let dir = resolve(path)?;
    let config = ModelConfig::load(&dir.join("model_config.json"))?;
    let preprocess: Preprocess = read_json(&dir.join("preprocess.json"))?;
    let state: TrainState = read_json(&dir.join("state.json"))?;
    let tokenizer = Tokenizer::load(&dir.join("tokenizer.json"))?;
    check_consistent(&dir, &config, &preprocess, &tokenizer)?;
    let mut vs = nn::VarStore::new(device);
    let model = Clip::new(&vs.root(), &config);
    let weights = dir.join("model.safetensors");
    vs.load(&weights).map_err(|e| Error::Checkpoint {
        path: weights.clone(),
        reason: format!(
            "cannot load the weights into the model of model_config.json ({}); the checkpoint is damaged or its files come from different runs",
            crate::error::first_line(&e.to_string())
        ),
    })?;
    Ok(LoadedModel { vs, model, tokenizer, preprocess, state, path: dir })
}

/// Checks that the files of one checkpoint describe the same model.
fn check_consistent(dir: &Path, config: &ModelConfig, preprocess: &Preprocess, tokenizer: &Tokenizer) -> Result<()> {
    preprocess.validate()?;
    if i64::from(preprocess.image_size) != config.vision_cfg.image_size {
        return Err(Error::Checkpoint {
            path: dir.to_path_buf(),
            reason: format!(
                "preprocess.json has image_size {} but model_config.json has vision_cfg.image_size {}; the files come from different runs",
                preprocess.image_size, config.vision_cfg.image_size
            ),
        });
    }
    if tokenizer.vocab_size() as i64 != config.text_cfg.vocab_size {
        return Err(Error::Checkpoint {
            path: dir.to_path_buf(),
            reason: format!(
                "tokenizer.json has {} tokens but model_config.json has text_cfg.vocab_size {}; the files come from different runs",
                tokenizer.vocab_size(),
                config.text_cfg.vocab_size
            ),
        });
    }
    Ok(())
}

/// Reads the optimizer moments of a checkpoint folder.
pub fn load_optimizer_state(dir: &Path) -> Result<Vec<(String, Tensor)>> {
    let path = dir.join("optimizer.safetensors");
    Tensor::read_safetensors(&path).map_err(|e| Error::Checkpoint { path, reason: e.to_string() })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).map_err(|e| Error::io("failed to read", path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Checkpoint { path: path.to_path_buf(), reason: e.to_string() })
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = File::create(path).map_err(|e| Error::io("failed to create", path, e))?;
    file.write_all(bytes).map_err(|e| Error::io("failed to write", path, e))?;
    file.sync_all().map_err(|e| Error::io("failed to fsync", path, e))
}

/// Creates a folder and its parents, naming the folder in the error.
pub fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io("failed to create folder", dir, e))
}

/// Creates the folder a file will be written to, when the path has one.
pub fn create_parent_dir(path: &Path) -> Result<()> {
    match path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        Some(dir) => create_dir(dir),
        None => Ok(()),
    }
}

/// Writes `bytes` to a temporary sibling, fsyncs it and renames it over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    write_synced(&tmp, bytes)?;
    fs::rename(&tmp, path).map_err(|e| Error::io("failed to rename into", path, e))
}

fn sync_file(path: &Path) -> Result<()> {
    File::open(path).and_then(|f| f.sync_all()).map_err(|e| Error::io("failed to fsync", path, e))
}

fn sync_dir(path: &Path) -> Result<()> {
    File::open(path).and_then(|f| f.sync_all()).map_err(|e| Error::io("failed to fsync folder", path, e))
}
