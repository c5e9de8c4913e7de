//! An image-caption set held in memory as tensors: images decoded and cropped once into a u8 tensor
//! [N, 3, S, S], captions tokenized once into an i64 tensor [N, context]. Batches are normalised on
//! the training device, so an epoch costs no image decoding.

use std::path::Path;

use tch::{Device, Kind, Tensor};

use crate::data::{load_images_parallel, read_pairs, PairRecord, Preprocess, TsvOptions};
use crate::error::{Error, Result};
use crate::tokenizer::Tokenizer;

/// Pairs of one TSV, decoded and tokenized.
pub struct PairSet {
    pub records: Vec<PairRecord>,
    /// Images [N, 3, S, S], u8, on the CPU.
    pub images: Tensor,
    /// Token ids [N, context], i64, on the CPU.
    pub tokens: Tensor,
}

impl PairSet {
    /// Reads a TSV, decodes and crops every image and tokenizes every caption.
    pub fn load(
        tsv: &Path,
        tsv_options: &TsvOptions,
        preprocess: &Preprocess,
        tokenizer: &Tokenizer,
        context_length: i64,
        threads: usize,
    ) -> Result<PairSet> {
        let records = read_pairs(tsv, tsv_options)?;
        if records.is_empty() {
            return Err(Error::Data(format!("{} contains no image-caption pairs", tsv.display())));
        }
        let captions: Vec<String> = records.iter().map(|r| r.caption.clone()).collect();
        warn_truncated(tsv, tokenizer, &captions, context_length)?;
        let tokens = tokenize(tokenizer, &captions, context_length)?;
        tracing::info!(pairs = records.len(), table = %tsv.display(), "decoding images");
        let paths: Vec<_> = records.iter().map(|r| r.image_path.clone()).collect();
        let images = load_image_tensor(&paths, preprocess, threads).map_err(|e| {
            Error::Data(format!(
                "{e} (listed in {}; relative image paths resolve against the table's folder)",
                tsv.display()
            ))
        })?;
        Ok(PairSet { records, images, tokens })
    }

    /// Returns the number of pairs.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Returns true when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Returns the captions in file order.
    pub fn captions(&self) -> Vec<String> {
        self.records.iter().map(|r| r.caption.clone()).collect()
    }

    /// Gathers the pairs at `indices` onto `device`: normalised images [B, 3, S, S] and tokens [B, context].
    pub fn batch(&self, indices: &[i64], preprocess: &Preprocess, device: Device) -> (Tensor, Tensor) {
        let index = Tensor::from_slice(indices);
        let images = normalize_images(&self.images.index_select(0, &index), preprocess, device);
        let tokens = self.tokens.index_select(0, &index).to_device(device);
        (images, tokens)
    }
}

/// Logs how many captions are longer than the context and will be cut (keeping the end-of-text
/// token), with the first such line.
fn warn_truncated(tsv: &Path, tokenizer: &Tokenizer, captions: &[String], context_length: i64) -> Result<()> {
    let room = (context_length - 2).max(0) as usize;
    let mut truncated = 0;
    let mut first = None;
    for (index, caption) in captions.iter().enumerate() {
        if tokenizer.encode(caption)?.len() > room {
            truncated += 1;
            first.get_or_insert(index);
        }
    }
    if let Some(index) = first {
        tracing::warn!(
            table = %tsv.display(),
            truncated,
            first_caption = index + 1,
            context_length,
            "captions longer than the context are cut to fit, keeping the end-of-text token"
        );
    }
    Ok(())
}

/// Tokenizes captions into a tensor [N, context_length].
pub fn tokenize(tokenizer: &Tokenizer, captions: &[String], context_length: i64) -> Result<Tensor> {
    let flat = tokenizer.tokenize_batch(captions, context_length as usize)?;
    Ok(Tensor::from_slice(&flat).view([captions.len() as i64, context_length]))
}

/// Decodes and crops images into a u8 tensor [N, 3, S, S].
pub fn load_image_tensor(paths: &[std::path::PathBuf], preprocess: &Preprocess, threads: usize) -> Result<Tensor> {
    let pixels = load_images_parallel(paths, preprocess, threads)?;
    let size = preprocess.image_size as i64;
    Ok(Tensor::from_slice(&pixels).view([paths.len() as i64, 3, size, size]))
}

/// Turns u8 images [B, 3, S, S] into floats on `device`, scaled to [0, 1] and normalised with the
/// preprocessing mean and std.
pub fn normalize_images(images: &Tensor, preprocess: &Preprocess, device: Device) -> Tensor {
    let mean = Tensor::from_slice(&preprocess.mean).view([1, 3, 1, 1]).to_device(device);
    let std = Tensor::from_slice(&preprocess.std).view([1, 3, 1, 1]).to_device(device);
    (images.to_device(device).to_kind(Kind::Float) / 255.0 - mean) / std
}
