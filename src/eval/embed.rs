//! Batched encoding of image and text sets with a trained model, without gradients.

use tch::{Device, Tensor};

use crate::data::Preprocess;
use crate::dataset::{normalize_images, tokenize};
use crate::error::Result;
use crate::model::Clip;
use crate::tokenizer::Tokenizer;

/// Encodes u8 images [N, 3, S, S] to codes [N, D] on the CPU, `batch_size` at a time.
pub fn encode_images(model: &Clip, images: &Tensor, preprocess: &Preprocess, batch_size: i64, device: Device) -> Tensor {
    let chunks: Vec<Tensor> = tch::no_grad(|| {
        images
            .split(batch_size, 0)
            .iter()
            .map(|chunk| model.encode_image(&normalize_images(chunk, preprocess, device)).to_device(Device::Cpu))
            .collect()
    });
    Tensor::cat(&chunks, 0)
}

/// Encodes token ids [N, context] to codes [N, D] on the CPU, `batch_size` at a time.
pub fn encode_texts(model: &Clip, tokens: &Tensor, batch_size: i64, device: Device) -> Tensor {
    let chunks: Vec<Tensor> = tch::no_grad(|| {
        tokens
            .split(batch_size, 0)
            .iter()
            .map(|chunk| model.encode_text(&chunk.to_device(device)).to_device(Device::Cpu))
            .collect()
    });
    Tensor::cat(&chunks, 0)
}

/// Tokenizes captions and encodes them to codes [N, D] on the CPU, `batch_size` at a time.
pub fn encode_captions(model: &Clip, tokenizer: &Tokenizer, captions: &[String], batch_size: i64, device: Device) -> Result<Tensor> {
    let tokens = tokenize(tokenizer, captions, model.config.text_cfg.context_length)?;
    Ok(encode_texts(model, &tokens, batch_size, device))
}
