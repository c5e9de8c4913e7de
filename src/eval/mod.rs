//! Evaluation in CLIP_benchmark's vocabulary: zero-shot classification (`acc1`, `acc5`,
//! `mean_per_class_recall`), zero-shot retrieval (`image_retrieval_recall@k`,
//! `text_retrieval_recall@k`), linear probe (`lp_acc1`, `lp_acc5`) and sparsity (`l0`, active and
//! dead fractions, feature densities). Each run becomes one JSON document shaped as
//! `{dataset, model, pretrained, task, metrics, language}`, plus the prompts and their hash, the
//! split sizes and chance levels, and the encoding speed.

pub mod build;
pub mod datasets;
pub mod embed;
pub mod linear_probe;
pub mod retrieval;
pub mod sparsity;
pub mod suite;
pub mod task;
pub mod templates;
pub mod zeroshot;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dataset::PairSet;
use crate::error::Result;
use crate::train::checkpoint::LoadedModel;

pub use datasets::{Builtin, DataRoots, DatasetSource};
pub use sparsity::{sparsity_stats, SparsityStats, DEFAULT_N_MIN, DEFAULT_TAU};
pub use suite::{Evaluator, Features, SuiteOptions};
pub use task::Task;
pub use templates::EMOJI_TEMPLATES;

/// Default output template; the placeholders are fields of [`EvalResult`].
pub const DEFAULT_OUTPUT: &str = "results/{dataset}_{model}_{task}_{features}.json";

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
    /// `embed` (L2-normalised vectors) or `code` (raw head output) for the linear probe; the other
    /// tasks always read `embed`.
    #[serde(default = "default_features")]
    pub features: String,
    /// Numbers that describe the split: images, texts, classes, chance levels.
    #[serde(default)]
    pub split: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparsity: Option<SparsityStats>,
    /// `images`, `images_per_second` (image tower alone) and `seconds`. The seconds count the task
    /// after the images are decoded, and for the linear probe only the fit of these features.
    #[serde(default)]
    pub timing: BTreeMap<String, f64>,
    /// Task-specific data: class names, density histograms, the probe's weight-decay sweep, plots.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl EvalResult {
    /// Creates a result with empty metrics, language `en` and no details.
    pub fn new(dataset: &str, model: &str, pretrained: &str, task: Task, features: Features) -> Self {
        EvalResult {
            dataset: dataset.into(),
            model: model.into(),
            pretrained: pretrained.into(),
            task: task.as_str().into(),
            metrics: BTreeMap::new(),
            language: "en".into(),
            features: features.as_str().into(),
            split: BTreeMap::new(),
            prompts: Vec::new(),
            prompts_sha256: None,
            sparsity: None,
            timing: BTreeMap::new(),
            details: BTreeMap::new(),
        }
    }
}

fn default_features() -> String {
    Features::Embed.as_str().into()
}

/// Returns the SHA-256 of the prompts joined by newlines, as hex.
pub fn prompts_hash(prompts: &[String]) -> String {
    let digest = Sha256::digest(prompts.join("\n").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs retrieval, zero-shot classification over the set's labels (when it has labels) and sparsity
/// on one paired set already in memory, as the trainer does at the end of a run.
pub fn evaluate_pairs(loaded: &LoadedModel, set: &PairSet, dataset: &str, model_name: &str, options: &SuiteOptions) -> Result<Vec<EvalResult>> {
    let evaluator = Evaluator { loaded, model_name: model_name.to_string(), options, transform: None };
    let retrieval_set = datasets::RetrievalSet {
        images: set.images.shallow_clone(),
        captions: set.records.iter().map(|r| vec![r.caption.clone()]).collect(),
        paths: set.records.iter().map(|r| r.image_path.clone()).collect(),
    };
    let mut results = vec![evaluator.retrieval(&retrieval_set)?];

    let labels: Option<Vec<String>> = set.records.iter().map(|r| r.label.clone()).collect();
    if let Some(labels) = labels {
        let classnames: Vec<String> = labels.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
        let index: BTreeMap<&str, i64> = classnames.iter().enumerate().map(|(i, c)| (c.as_str(), i as i64)).collect();
        let targets = labels.iter().map(|l| index[l.as_str()]).collect();
        let test = datasets::LabelledImages { images: set.images.shallow_clone(), targets };
        let templates = EMOJI_TEMPLATES.iter().map(|t| t.to_string()).collect();
        results.push(evaluator.classification(datasets::ClassificationSet { test, classnames, templates })?);
    }

    results.push(evaluator.sparsity(&retrieval_set)?);
    for result in &mut results {
        result.dataset = dataset.to_string();
    }
    Ok(results)
}

/// Fills an output template. `{dataset}`, `{model}`, `{pretrained}`, `{task}`, `{language}` and
/// `{features}` are replaced by the result's fields, with characters other than letters, digits,
/// `-`, `_` and `.` turned into `-` so that each field stays one path component.
pub fn output_path(template: &str, result: &EvalResult) -> PathBuf {
    let slug = |value: &str| -> String {
        let cleaned: String = value.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' }).collect();
        cleaned.trim_matches('-').to_string()
    };
    let path = template
        .replace("{dataset}", &slug(&result.dataset))
        .replace("{model}", &slug(&result.model))
        .replace("{pretrained}", &slug(&result.pretrained))
        .replace("{task}", &slug(&result.task))
        .replace("{language}", &slug(&result.language))
        .replace("{features}", &slug(&result.features));
    PathBuf::from(path)
}

/// Writes one result as pretty JSON. A sparsity result also gets its density histogram as an SVG
/// next to the JSON, whose path is recorded in `details.plot`.
pub fn write_result(path: &Path, result: &EvalResult) -> Result<PathBuf> {
    crate::train::checkpoint::create_parent_dir(path)?;
    let mut result = result.clone();
    if let Some(histograms) = result.details.get("density_histograms").cloned() {
        let histograms: Vec<sparsity::DensityHistogram> = serde_json::from_value(histograms)?;
        let plot = path.with_extension("svg");
        let title = format!("Feature density: {} on {}", result.model, result.dataset);
        crate::plot::write_svg(&plot, &sparsity::density_svg(&histograms, &title))?;
        result.details.insert("plot".into(), serde_json::Value::String(plot.display().to_string()));
    }
    crate::train::checkpoint::write_atomic(path, serde_json::to_string_pretty(&result)?.as_bytes())?;
    Ok(path.to_path_buf())
}

/// Writes one result to `dir/{dataset}_{task}.json`, as the trainer does, and returns the path.
pub fn write_result_in(dir: &Path, result: &EvalResult) -> Result<PathBuf> {
    write_result(&dir.join(format!("{}_{}.json", result.dataset, result.task)), result)
}
