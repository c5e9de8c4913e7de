//! Feature cards: what `interpret name` writes for every feature and what the atlas, `explain` and
//! `interpret dynamics` read.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A word or caption with the feature's activation on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoredText {
    pub text: String,
    pub value: f64,
}

/// An image with the feature's activation on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoredImage {
    /// Image path as given in the image set's table.
    pub path: String,
    /// The image's caption in that table.
    pub caption: String,
    pub value: f64,
}

/// Everything known about one feature (one dimension of the code).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureCard {
    /// Dimension index in the code, 0..D.
    pub index: i64,
    /// The top-activating vocabulary word.
    pub name: String,
    pub top_words: Vec<ScoredText>,
    pub top_images: Vec<ScoredImage>,
    pub top_captions: Vec<ScoredText>,
    /// Modality score S_img / (S_img + S_txt) on the paired set; None when the feature never fires.
    pub modality: Option<f64>,
    /// `image-only` (m > 0.9), `text-only` (m < 0.1), `multimodal`, or `inactive`.
    pub modality_class: String,
    /// Fraction of the set's images the feature is on for.
    pub density_image: f64,
    /// Fraction of the set's captions the feature is on for.
    pub density_text: f64,
}

/// The cards of one model, with how they were made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureAtlas {
    /// Model name.
    pub model: String,
    /// Checkpoint folder.
    pub checkpoint: String,
    /// The code the values read, e.g. "L2-normalised code, a_i > tau".
    pub code: String,
    pub tau: f64,
    /// Code width D.
    pub code_dim: i64,
    /// Vocabulary source (`wordnet`, `wamerican`, `corpus` or a file path) and its size.
    pub vocabulary: String,
    pub vocabulary_size: usize,
    /// Prompt templates the words were encoded with; a word's code is the normalised mean over them.
    pub templates: Vec<String>,
    /// The image-caption table the top images and captions come from.
    pub image_set: String,
    /// Cards of the active features, by index.
    pub features: Vec<FeatureCard>,
}

impl FeatureAtlas {
    /// Reads a features file written by `sparse-clip interpret name`.
    pub fn read(path: &Path) -> Result<FeatureAtlas> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Data(format!("failed to read {}: {e}; write it with `sparse-clip interpret name`", path.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Data(format!("{} is not a features file written by `sparse-clip interpret name` ({e})", path.display())))
    }
}
