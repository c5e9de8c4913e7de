//! Runs one evaluation task of one model on one dataset and returns CLIP_benchmark-shaped results.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};
use crate::eval::datasets::{load_classification, load_probe, load_retrieval, unsupported, ClassificationSet, DataRoots, DatasetSource, LabelledImages, RetrievalSet};
use crate::eval::linear_probe::{linear_probe, ProbeOptions};
use crate::eval::sparsity::{density_histogram, on_mask, sparsity_stats};
use crate::eval::task::Task;
use crate::eval::templates::{fill_templates, validate_templates};
use crate::eval::{embed, prompts_hash, retrieval, zeroshot, EvalResult};
use crate::model::l2_normalize;
use crate::train::checkpoint::LoadedModel;

/// The vectors a task reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Features {
    /// The L2-normalised embedding, which the contrastive loss compares.
    Embed,
    /// The raw head output before normalisation (the sparse code for `relu` heads).
    Code,
}

impl Features {
    /// Returns the name used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Features::Embed => "embed",
            Features::Code => "code",
        }
    }
}

/// Settings shared by every task.
#[derive(Clone, Debug)]
pub struct SuiteOptions {
    pub recall_k: Vec<i64>,
    pub batch_size: i64,
    pub device: tch::Device,
    /// Activation threshold for `l0` and densities.
    pub tau: f64,
    /// Inputs a feature must fire on to count as active.
    pub n_min: i64,
    /// Templates that replace the dataset's built-in ones.
    pub templates: Option<Vec<String>>,
    /// Class names that replace the dataset's own, in class order.
    pub classnames: Option<Vec<String>>,
    pub probe: ProbeOptions,
    /// Features the linear probe is fitted on; one result per entry.
    pub probe_features: Vec<Features>,
    /// Training images the linear probe may use at most.
    pub probe_max_train: usize,
}

impl Default for SuiteOptions {
    fn default() -> Self {
        SuiteOptions {
            recall_k: vec![1, 5, 10],
            batch_size: 256,
            device: tch::Device::Cpu,
            tau: crate::eval::DEFAULT_TAU,
            n_min: crate::eval::DEFAULT_N_MIN,
            templates: None,
            classnames: None,
            probe: ProbeOptions::default(),
            probe_features: vec![Features::Embed, Features::Code],
            probe_max_train: 10_000,
        }
    }
}

/// A model under evaluation with the names its results carry.
pub struct Evaluator<'a> {
    pub loaded: &'a LoadedModel,
    /// Model name in outputs.
    pub model_name: String,
    pub options: &'a SuiteOptions,
    /// A map applied to every raw code before the tasks read it, e.g. an SAE's reconstruction.
    pub transform: Option<&'a dyn Fn(&Tensor) -> Tensor>,
}

impl Evaluator<'_> {
    /// Runs `task` on a dataset. The linear probe returns one result per entry of `probe_features`,
    /// every other task one result.
    pub fn run(&self, source: &DatasetSource, task: Task, roots: &DataRoots) -> Result<Vec<EvalResult>> {
        if !source.tasks().contains(&task) {
            return Err(unsupported(source.name(), task));
        }
        let preprocess = &self.loaded.preprocess;
        let mut results = match task {
            Task::ZeroshotRetrieval => vec![self.retrieval(&load_retrieval(source, roots, preprocess)?)?],
            Task::Sparsity => vec![self.sparsity(&load_retrieval(source, roots, preprocess)?)?],
            Task::ZeroshotClassification => vec![self.classification(load_classification(source, roots, preprocess)?)?],
            Task::LinearProbe => {
                let set = load_probe(source, roots, preprocess, self.options.probe_max_train)?;
                let mut results = self.probe(&set.train, &set.test, set.classnames.len() as i64);
                for result in &mut results {
                    result.split.insert("test_dropped".into(), set.test_dropped as f64);
                }
                results
            }
        };
        for result in &mut results {
            result.dataset = source.name().to_string();
        }
        Ok(results)
    }

    /// Retrieval in both directions with the "any correct item" rule.
    pub fn retrieval(&self, set: &RetrievalSet) -> Result<EvalResult> {
        let started = Instant::now();
        let (image_code, images_per_second) = self.encode_images(&set.images);
        let texts = set.texts();
        let text_code = self.encode_texts(&texts)?;
        let positives = retrieval::positives_by_captions(&texts, &set.captions);
        let scores = l2_normalize(&text_code).matmul(&l2_normalize(&image_code).tr()); // [T, I]
        let metrics = retrieval::retrieval_metrics(&scores, &positives, &self.options.recall_k);

        let mut result = self.new_result(Task::ZeroshotRetrieval, metrics);
        let n_images = set.captions.len() as f64;
        result.split.insert("n_images".into(), n_images);
        result.split.insert("n_texts".into(), texts.len() as f64);
        for &k in &self.options.recall_k {
            result.split.insert(format!("chance_image_retrieval_recall@{k}"), retrieval::chance_recall(&positives, k));
            result.split.insert(format!("chance_text_retrieval_recall@{k}"), retrieval::chance_recall(&positives.tr(), k));
        }
        self.set_timing(&mut result, set.captions.len(), images_per_second, started);
        Ok(result)
    }

    /// `l0` per modality, active and dead fractions, and feature-density histograms.
    pub fn sparsity(&self, set: &RetrievalSet) -> Result<EvalResult> {
        let started = Instant::now();
        let (image_code, images_per_second) = self.encode_images(&set.images);
        let text_code = self.encode_texts(&set.texts())?;
        Ok(self.sparsity_of(&l2_normalize(&image_code), &l2_normalize(&text_code), images_per_second, started))
    }

    /// Sparsity of normalised codes [N_img, D] and [N_txt, D].
    pub fn sparsity_of(&self, image_embed: &Tensor, text_embed: &Tensor, images_per_second: f64, started: Instant) -> EvalResult {
        let signed = !self.loaded.model.config.sparse_cfg.head.is_non_negative();
        let stats = sparsity_stats(image_embed, text_embed, self.options.tau, self.options.n_min, signed);
        let mut metrics = BTreeMap::new();
        metrics.insert("l0_image".into(), stats.l0_image);
        metrics.insert("l0_image_fraction".into(), stats.l0_image_fraction);
        metrics.insert("l0_text".into(), stats.l0_text);
        metrics.insert("l0_text_fraction".into(), stats.l0_text_fraction);
        metrics.insert("active_fraction".into(), stats.active_fraction);
        metrics.insert("dead_fraction".into(), stats.dead_fraction);

        let mut result = self.new_result(Task::Sparsity, metrics);
        let image_on = on_mask(image_embed, self.options.tau, signed);
        let text_on = on_mask(text_embed, self.options.tau, signed);
        let histograms = vec![density_histogram(&image_on, "image"), density_histogram(&text_on, "text")];
        result.details.insert("density_histograms".into(), serde_json::to_value(&histograms).unwrap_or_default());
        result.split.insert("n_images".into(), image_embed.size()[0] as f64);
        result.split.insert("n_texts".into(), text_embed.size()[0] as f64);
        result.split.insert("code_dim".into(), stats.code_dim as f64);
        result.sparsity = Some(stats);
        self.set_timing(&mut result, image_embed.size()[0] as usize, images_per_second, started);
        result
    }

    /// Zero-shot classification with a prompt-template ensemble.
    pub fn classification(&self, set: ClassificationSet) -> Result<EvalResult> {
        let started = Instant::now();
        let templates = self.options.templates.clone().unwrap_or(set.templates);
        validate_templates(&templates, "the template list")?;
        let classnames = match &self.options.classnames {
            Some(names) if names.len() != set.classnames.len() => {
                return Err(Error::Config(format!(
                    "the class-name file has {} names but the dataset has {} classes; give one name per class, in class order",
                    names.len(),
                    set.classnames.len()
                )))
            }
            Some(names) => names.clone(),
            None => set.classnames,
        };

        let (image_code, images_per_second) = self.encode_images(&set.test.images);
        let prompts: Vec<String> = classnames.iter().flat_map(|c| fill_templates(&templates, c)).collect();
        let prompt_code = self.encode_texts(&prompts)?; // [C * T, D]
        let class_embed = zeroshot::ensemble_classes(&prompt_code, templates.len() as i64); // [C, D]
        let logits = l2_normalize(&image_code).matmul(&class_embed.tr()); // [N, C]
        let metrics = zeroshot::classification_metrics(&logits, &Tensor::from_slice(&set.test.targets));

        let mut result = self.new_result(Task::ZeroshotClassification, metrics);
        result.split.insert("n_images".into(), set.test.targets.len() as f64);
        result.split.insert("n_classes".into(), classnames.len() as f64);
        result.split.insert("chance_acc1".into(), 1.0 / classnames.len() as f64);
        result.prompts_sha256 = Some(prompts_hash(&templates));
        result.prompts = templates;
        result.details.insert("classnames".into(), serde_json::to_value(&classnames).unwrap_or_default());
        self.set_timing(&mut result, set.test.targets.len(), images_per_second, started);
        Ok(result)
    }

    /// Linear probe on frozen image features, one result per entry of `probe_features`.
    pub fn probe(&self, train: &LabelledImages, test: &LabelledImages, num_classes: i64) -> Vec<EvalResult> {
        let (train_code, images_per_second) = self.encode_images(&train.images);
        let (test_code, _) = self.encode_images(&test.images);
        let train_y = Tensor::from_slice(&train.targets);
        let test_y = Tensor::from_slice(&test.targets);
        let mut results = Vec::new();
        for &features in &self.options.probe_features {
            let started = Instant::now();
            let select = |code: &Tensor| match features {
                Features::Embed => l2_normalize(code),
                Features::Code => code.shallow_clone(),
            };
            let outcome = linear_probe(&select(&train_code), &train_y, &select(&test_code), &test_y, num_classes, &self.options.probe, self.options.device);

            let mut result = self.new_result(Task::LinearProbe, outcome.metrics.clone());
            result.features = features.as_str().into();
            result.split.insert("n_train".into(), outcome.n_train as f64);
            result.split.insert("n_val".into(), outcome.n_val as f64);
            result.split.insert("n_test".into(), outcome.n_test as f64);
            result.split.insert("n_classes".into(), num_classes as f64);
            result.split.insert("chance_acc1".into(), 1.0 / num_classes as f64);
            result.details.insert("probe".into(), serde_json::to_value(&outcome).unwrap_or_default());
            result.details.insert("probe_options".into(), serde_json::to_value(&self.options.probe).unwrap_or_default());
            self.set_timing(&mut result, train.targets.len() + test.targets.len(), images_per_second, started);
            results.push(result);
        }
        results
    }

    /// Encodes u8 images [N, 3, S, S] to raw codes [N, D]; returns them with the images per second.
    fn encode_images(&self, images: &Tensor) -> (Tensor, f64) {
        let started = Instant::now();
        let code = embed::encode_images(&self.loaded.model, images, &self.loaded.preprocess, self.options.batch_size, self.options.device);
        let code = self.transform.map_or(code.shallow_clone(), |map| map(&code));
        let per_second = images.size()[0] as f64 / started.elapsed().as_secs_f64().max(1e-9);
        (code, per_second)
    }

    /// Tokenizes and encodes texts to raw codes [N, D].
    fn encode_texts(&self, texts: &[String]) -> Result<Tensor> {
        let code = embed::encode_captions(&self.loaded.model, &self.loaded.tokenizer, texts, self.options.batch_size, self.options.device)?;
        Ok(self.transform.map_or(code.shallow_clone(), |map| map(&code)))
    }

    fn new_result(&self, task: Task, metrics: BTreeMap<String, f64>) -> EvalResult {
        let pretrained = self.loaded.path.display().to_string();
        EvalResult { metrics, ..EvalResult::new("", &self.model_name, &pretrained, task, Features::Embed) }
    }

    fn set_timing(&self, result: &mut EvalResult, images: usize, images_per_second: f64, started: Instant) {
        result.timing.insert("images".into(), images as f64);
        result.timing.insert("images_per_second".into(), images_per_second);
        result.timing.insert("seconds".into(), started.elapsed().as_secs_f64());
    }
}
