//! OpenAI CLIP's BPE tokenizer (49,408 tokens), rebuilt from the merge list that CLIP ships.
//!
//! The behaviour follows `clip/simple_tokenizer.py` in github.com/openai/CLIP: the same text
//! cleaning (without ftfy, see [`super::clean_text`]), pre-tokenizer, byte-to-unicode table, merge
//! order and id layout.

use std::io::Read;
use std::sync::{Arc, OnceLock};

use flate2::read::GzDecoder;

use super::bpe::{BpeModel, BASE_TOKENS};
use crate::error::{Error, Result};

/// CLIP's merge list, gzip-compressed: a version header line, then one merge (`first second`) per
/// line in rank order.
static MERGES_GZ: &[u8] = include_bytes!("../../assets/bpe_simple_vocab_16e6.txt.gz");

/// Number of merges CLIP uses from the file, which lists more. With the 512 byte tokens and the two
/// special tokens they make a vocabulary of 49,408.
pub const CLIP_MERGES: usize = 49152 - 256 - 2;

/// Number of token ids in CLIP's vocabulary.
pub const CLIP_VOCAB_SIZE: usize = BASE_TOKENS + CLIP_MERGES + 2;

static CLIP_MODEL: OnceLock<Arc<BpeModel>> = OnceLock::new();

/// Returns the CLIP BPE model, building it on the first call. Later calls share the same model and
/// its cache.
pub fn clip_model() -> Result<Arc<BpeModel>> {
    if let Some(model) = CLIP_MODEL.get() {
        return Ok(model.clone());
    }
    // Two threads may both build the model on the first call. Both results are equal, and the
    // second one is dropped.
    let model = Arc::new(build_clip_model()?);
    Ok(CLIP_MODEL.get_or_init(|| model).clone())
}

fn build_clip_model() -> Result<BpeModel> {
    let mut text = String::new();
    GzDecoder::new(MERGES_GZ)
        .read_to_string(&mut text)
        .map_err(|e| {
            Error::Tokenizer(format!(
                "failed to decompress the embedded CLIP merge list: {e}"
            ))
        })?;

    let mut merges = Vec::with_capacity(CLIP_MERGES);
    for (index, line) in text.split('\n').skip(1).take(CLIP_MERGES).enumerate() {
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(first), Some(second), None) => merges.push((first, second)),
            _ => {
                return Err(Error::Tokenizer(format!(
                    "invalid line {} of the embedded CLIP merge list: expected two tokens, found \"{line}\"",
                    index + 2
                )))
            }
        }
    }
    if merges.len() != CLIP_MERGES {
        return Err(Error::Tokenizer(format!(
            "the embedded CLIP merge list has {} merges, expected at least {CLIP_MERGES}",
            merges.len()
        )));
    }

    let model = BpeModel::from_merges(merges)?;
    if model.vocab_size() != CLIP_VOCAB_SIZE {
        return Err(Error::Tokenizer(format!(
            "the embedded CLIP merge list builds {} tokens, expected {CLIP_VOCAB_SIZE}",
            model.vocab_size()
        )));
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> Vec<u32> {
        clip_model().unwrap().encode(text)
    }

    #[test]
    fn clip_vocab_has_49408_tokens() {
        let model = clip_model().unwrap();
        assert_eq!(model.vocab_size(), 49408);
        assert_eq!(model.sot(), 49406);
        assert_eq!(model.eot(), 49407);
        assert_eq!(model.token_string(0), Some("!"));
        assert_eq!(model.token_string(512), Some("in"));
        assert_eq!(model.token_string(49405), Some("jekyll</w>"));
    }

    #[test]
    fn clip_encodes_known_ids() {
        // Ids that OpenAI CLIP's `SimpleTokenizer.encode` returns for these captions.
        assert_eq!(encode("a photo of a cat"), [320, 1125, 539, 320, 2368]);
        assert_eq!(encode("hello world"), [3306, 1002]);
        assert_eq!(encode("a diagram"), [320, 22697]);
        assert_eq!(encode("a dog"), [320, 1929]);
    }

    #[test]
    fn clip_encodes_single_character_words() {
        // A one-character word is its byte token with the end-of-word marker.
        assert_eq!(encode("!"), [256]);
        assert_eq!(encode("a"), [320]);
    }

    #[test]
    fn clip_encodes_special_token_text() {
        assert_eq!(encode("<|startoftext|>a<|ENDOFTEXT|>"), [49406, 320, 49407]);
    }

    #[test]
    fn clip_ignores_case_and_spacing() {
        assert_eq!(encode("  A   PHOTO of a Cat "), encode("a photo of a cat"));
    }

    #[test]
    fn clip_decodes_to_cleaned_text() {
        let model = clip_model().unwrap();
        for text in [
            "a photo of a cat",
            "crème brûlée",
            "🐶 dog face",
            "naïve 東京 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        ] {
            let ids: Vec<i64> = model.encode(text).into_iter().map(i64::from).collect();
            assert_eq!(model.decode(&ids).unwrap(), text);
        }
    }
}
