//! Normalised codes of an image-caption set, the input of every interpretation tool.

use std::path::PathBuf;

use tch::{Device, Tensor};

use crate::error::Result;
use crate::eval::datasets::RetrievalSet;
use crate::eval::embed::{encode_captions, encode_images};
use crate::eval::zeroshot::ensemble_classes;
use crate::eval::templates::fill_templates;
use crate::model::l2_normalize;
use crate::train::checkpoint::LoadedModel;

/// L2-normalised codes of a set's images and captions.
pub struct EncodedSet {
    /// Image codes [N, D].
    pub image_embed: Tensor,
    /// Caption codes [T, D], one row per entry of `texts`.
    pub text_embed: Tensor,
    pub texts: Vec<String>,
    pub paths: Vec<PathBuf>,
    /// The first caption of each image.
    pub image_captions: Vec<String>,
}

/// Encodes every image and caption of a set.
pub fn encode_set(loaded: &LoadedModel, set: &RetrievalSet, batch_size: i64, device: Device) -> Result<EncodedSet> {
    let image_code = encode_images(&loaded.model, &set.images, &loaded.preprocess, batch_size, device);
    let texts = set.texts();
    let text_code = encode_captions(&loaded.model, &loaded.tokenizer, &texts, batch_size, device)?;
    Ok(EncodedSet {
        image_embed: l2_normalize(&image_code),
        text_embed: l2_normalize(&text_code),
        texts,
        paths: set.paths.clone(),
        image_captions: set.captions.iter().map(|c| c.first().cloned().unwrap_or_default()).collect(),
    })
}

/// Encodes words through prompt templates (`{c}` is the word): a word's code is the normalised
/// mean of the normalised codes of its prompts. Returns [W, D].
pub fn encode_words(loaded: &LoadedModel, words: &[String], templates: &[String], batch_size: i64, device: Device) -> Result<Tensor> {
    let prompts: Vec<String> = words.iter().flat_map(|w| fill_templates(templates, w)).collect();
    let code = encode_captions(&loaded.model, &loaded.tokenizer, &prompts, batch_size, device)?; // [W * T, D]
    Ok(ensemble_classes(&code, templates.len() as i64))
}
