//! Evaluation in CLIP_benchmark's vocabulary: zero-shot retrieval (`image_retrieval_recall@k`,
//! `text_retrieval_recall@k`), zero-shot classification (`acc1`, `acc5`, `mean_per_class_recall`)
//! and sparsity (`l0`, active and dead fractions). Each run becomes one JSON document shaped as
//! `{dataset, model, pretrained, task, metrics, language}`.

pub mod embed;
pub mod retrieval;
pub mod sparsity;
pub mod zeroshot;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{Device, Tensor};

use crate::dataset::{tokenize, PairSet};
use crate::error::{Error, Result};
use crate::model::l2_normalize;
use crate::train::checkpoint::LoadedModel;

pub use sparsity::{sparsity_stats, SparsityStats, DEFAULT_N_MIN, DEFAULT_TAU};

/// Prompt templates for zero-shot classification over emoji concept names; `{c}` is the class name.
pub const EMOJI_TEMPLATES: [&str; 3] = ["{c}", "an emoji of {c}", "a picture of a {c}"];

/// One evaluation run, in CLIP_benchmark's JSON shape plus what is needed to reproduce it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvalResult {
    pub dataset: String,
    pub model: String,
    /// The checkpoint folder the model came from.
    pub pretrained: String,
    pub task: String,
    pub metrics: BTreeMap<String, f64>,
    pub language: String,
    /// Numbers that describe the split: images, texts, classes, chance levels.
    #[serde(default)]
    pub split: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparsity: Option<SparsityStats>,
}

/// Settings shared by the evaluation tasks.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    pub recall_k: Vec<i64>,
    pub batch_size: i64,
    pub device: Device,
    pub tau: f64,
    pub n_min: i64,
    pub templates: Vec<String>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            recall_k: vec![1, 5, 10],
            batch_size: 256,
            device: Device::Cpu,
            tau: DEFAULT_TAU,
            n_min: DEFAULT_N_MIN,
            templates: EMOJI_TEMPLATES.iter().map(|t| t.to_string()).collect(),
        }
    }
}

/// Returns the SHA-256 of the prompts joined by newlines, as hex.
pub fn prompts_hash(prompts: &[String]) -> String {
    let digest = Sha256::digest(prompts.join("\n").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs retrieval, zero-shot classification over the set's labels (when it has labels) and sparsity
/// on one paired set.
pub fn evaluate_pairs(loaded: &LoadedModel, set: &PairSet, dataset: &str, model_name: &str, opts: &EvalOptions) -> Result<Vec<EvalResult>> {
    let model = &loaded.model;
    let started = Instant::now();
    let image_code = embed::encode_images(model, &set.images, &loaded.preprocess, opts.batch_size, opts.device);
    let images_per_second = set.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let text_code = embed::encode_texts(model, &set.tokens, opts.batch_size, opts.device);
    let image_embed = l2_normalize(&image_code);
    let text_embed = l2_normalize(&text_code);
    let new_result = |task: &str, metrics: BTreeMap<String, f64>| EvalResult {
        dataset: dataset.to_string(),
        model: model_name.to_string(),
        pretrained: loaded.path.display().to_string(),
        task: task.to_string(),
        metrics,
        language: "en".into(),
        split: BTreeMap::new(),
        prompts: Vec::new(),
        prompts_sha256: None,
        sparsity: None,
    };

    // Retrieval: every caption of the set queries every image, duplicates count as correct.
    let captions = set.captions();
    let positives = retrieval::positives_by_caption(&captions, &captions);
    let scores = text_embed.matmul(&image_embed.tr());
    let mut metrics = retrieval::retrieval_metrics(&scores, &positives, &opts.recall_k);
    metrics.insert("images_per_second".into(), images_per_second);
    let mut retrieval_result = new_result("zeroshot_retrieval", metrics);
    let n = set.len() as f64;
    retrieval_result.split.insert("n_images".into(), n);
    retrieval_result.split.insert("n_texts".into(), n);
    for &k in &opts.recall_k {
        retrieval_result.split.insert(format!("chance_recall@{k}"), (k as f64 / n).min(1.0));
    }
    let mut results = vec![retrieval_result];

    if let Some(result) = zeroshot_over_labels(loaded, set, &image_embed, opts)? {
        let mut result_named = result;
        result_named.dataset = dataset.to_string();
        result_named.model = model_name.to_string();
        results.push(result_named);
    }

    let signed = !model.config.sparse_cfg.head.is_non_negative();
    let stats = sparsity_stats(&image_embed, &text_embed, opts.tau, opts.n_min, signed);
    let mut sparsity_metrics = BTreeMap::new();
    sparsity_metrics.insert("l0_image".into(), stats.l0_image);
    sparsity_metrics.insert("l0_image_fraction".into(), stats.l0_image_fraction);
    sparsity_metrics.insert("l0_text".into(), stats.l0_text);
    sparsity_metrics.insert("l0_text_fraction".into(), stats.l0_text_fraction);
    sparsity_metrics.insert("active_fraction".into(), stats.active_fraction);
    sparsity_metrics.insert("dead_fraction".into(), stats.dead_fraction);
    let mut sparsity_result = new_result("sparsity", sparsity_metrics);
    sparsity_result.sparsity = Some(stats);
    results.push(sparsity_result);
    Ok(results)
}

/// Classifies each image among the distinct labels of the set, or returns None without labels.
fn zeroshot_over_labels(loaded: &LoadedModel, set: &PairSet, image_embed: &Tensor, opts: &EvalOptions) -> Result<Option<EvalResult>> {
    let labels: Option<Vec<String>> = set.records.iter().map(|r| r.label.clone()).collect();
    let Some(labels) = labels else { return Ok(None) };
    let classes: Vec<String> = labels.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
    let class_index: BTreeMap<&str, i64> = classes.iter().enumerate().map(|(i, c)| (c.as_str(), i as i64)).collect();
    let targets: Vec<i64> = labels.iter().map(|l| class_index[l.as_str()]).collect();

    if opts.templates.is_empty() {
        return Err(Error::Config("zero-shot classification needs at least one prompt template".into()));
    }
    let prompts: Vec<String> = classes.iter().flat_map(|c| zeroshot::fill_templates(&opts.templates, c)).collect();
    let context = loaded.model.config.text_cfg.context_length;
    let tokens = tokenize(&loaded.tokenizer, &prompts, context)?;
    let prompt_code = embed::encode_texts(&loaded.model, &tokens, opts.batch_size, opts.device);
    let class_embed = zeroshot::ensemble_classes(&prompt_code, opts.templates.len() as i64);
    let logits = image_embed.matmul(&class_embed.tr());
    let metrics = zeroshot::classification_metrics(&logits, &Tensor::from_slice(&targets));

    let mut split = BTreeMap::new();
    split.insert("n_images".into(), set.len() as f64);
    split.insert("n_classes".into(), classes.len() as f64);
    split.insert("chance_acc1".into(), 1.0 / classes.len() as f64);
    Ok(Some(EvalResult {
        dataset: String::new(),
        model: String::new(),
        pretrained: loaded.path.display().to_string(),
        task: "zeroshot_classification".into(),
        metrics,
        language: "en".into(),
        split,
        prompts_sha256: Some(prompts_hash(&opts.templates)),
        prompts: opts.templates.clone(),
        sparsity: None,
    }))
}

/// Writes one result as pretty JSON to `dir/{dataset}_{task}.json` and returns the path.
pub fn write_result(dir: &Path, result: &EvalResult) -> Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("failed to create folder", dir, e))?;
    let path = dir.join(format!("{}_{}.json", result.dataset, result.task));
    crate::train::checkpoint::write_atomic(&path, serde_json::to_string_pretty(result)?.as_bytes())?;
    Ok(path)
}
