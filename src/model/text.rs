//! The text tower: token and learned position embeddings, a causal pre-LayerNorm Transformer, a
//! final LayerNorm, and pooling at the end-of-text token.

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use super::transformer::{layer_norm, Transformer};
use crate::config::TextConfig;
use crate::train::NO_DECAY_GROUP;

/// The text trunk up to the pooled end-of-text feature; the projection lives in the head.
#[derive(Debug)]
pub struct TextTower {
    token_embedding: Tensor,
    positional_embedding: Tensor,
    transformer: Transformer,
    ln_final: nn::LayerNorm,
}

impl TextTower {
    /// Builds the tower at the root of `p`, where open_clip keeps it.
    pub fn new(p: &nn::Path, cfg: &TextConfig) -> TextTower {
        let no_decay = p.set_group(NO_DECAY_GROUP);
        TextTower {
            token_embedding: (&no_decay / "token_embedding").randn("weight", &[cfg.vocab_size, cfg.width], 0.0, 0.02),
            positional_embedding: no_decay.randn("positional_embedding", &[cfg.context_length, cfg.width], 0.0, 0.01),
            transformer: Transformer::new(p / "transformer", cfg.width, cfg.heads, cfg.layers, cfg.mlp_ratio, true),
            ln_final: layer_norm(p / "ln_final", cfg.width),
        }
    }

    /// Encodes token ids [batch, context] to pooled features [batch, width].
    ///
    /// Pools at the position of the largest token id, which is the end-of-text token: both
    /// tokenizers give EOT the highest id in their vocabulary, as CLIP's does.
    pub fn forward(&self, tokens: &Tensor) -> Tensor {
        let x = Tensor::embedding(&self.token_embedding, tokens, -1, false, false) + &self.positional_embedding;
        let hidden = self.ln_final.forward(&self.transformer.forward(&x));
        let eot = tokens.argmax(-1, false); // [batch]
        let batch = Tensor::arange(tokens.size()[0], (Kind::Int64, tokens.device()));
        hidden.index(&[Some(batch), Some(eot)])
    }
}
