//! The evaluation tasks, named as in CLIP_benchmark.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One evaluation task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[clap(rename_all = "snake_case")]
pub enum Task {
    /// Classify images by their similarity to prompt-ensembled class embeddings.
    ZeroshotClassification,
    /// Retrieve images from captions and captions from images.
    ZeroshotRetrieval,
    /// Logistic regression on frozen features.
    LinearProbe,
    /// `l0`, active and dead features, and the feature-density histogram.
    Sparsity,
}

impl Task {
    /// Returns the CLIP_benchmark name of the task.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::ZeroshotClassification => "zeroshot_classification",
            Task::ZeroshotRetrieval => "zeroshot_retrieval",
            Task::LinearProbe => "linear_probe",
            Task::Sparsity => "sparsity",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
