//! The image tower: a Vision Transformer with patch embedding, a class token, learned position
//! embeddings, pre-LayerNorm blocks, a final LayerNorm and class-token pooling.

use tch::nn::{self, Module};
use tch::Tensor;

use super::transformer::{layer_norm, Transformer};
use crate::config::VisionConfig;
use crate::train::NO_DECAY_GROUP;

/// The ViT trunk up to the pooled class token; the projection lives in the head.
#[derive(Debug)]
pub struct VisionTower {
    conv1: nn::Conv2D,
    class_embedding: Tensor,
    positional_embedding: Tensor,
    ln_pre: nn::LayerNorm,
    transformer: Transformer,
    ln_post: nn::LayerNorm,
}

impl VisionTower {
    /// Builds the tower under `p` (open_clip's `visual.` prefix).
    pub fn new(p: &nn::Path, cfg: &VisionConfig) -> VisionTower {
        let width = cfg.width;
        let grid = cfg.image_size / cfg.patch_size;
        let scale = (width as f64).powf(-0.5);
        let conv_cfg = nn::ConvConfig { stride: cfg.patch_size, bias: false, ..Default::default() };
        let no_decay = p.set_group(NO_DECAY_GROUP);
        VisionTower {
            conv1: nn::conv2d(p / "conv1", 3, width, cfg.patch_size, conv_cfg),
            class_embedding: no_decay.randn("class_embedding", &[width], 0.0, scale),
            positional_embedding: no_decay.randn("positional_embedding", &[grid * grid + 1, width], 0.0, scale),
            ln_pre: layer_norm(p / "ln_pre", width),
            transformer: Transformer::new(p / "transformer", width, width / cfg.head_width, cfg.layers, cfg.mlp_ratio, false),
            ln_post: layer_norm(p / "ln_post", width),
        }
    }

    /// Encodes normalised images [batch, 3, size, size] to pooled features [batch, width].
    pub fn forward(&self, images: &Tensor) -> Tensor {
        // [batch, width, grid, grid] -> [batch, grid * grid, width]
        let patches = self.conv1.forward(images).flatten(2, 3).transpose(1, 2);
        let batch = patches.size()[0];
        let cls = self.class_embedding.view([1, 1, -1]).expand([batch, 1, -1], false);
        let tokens = Tensor::cat(&[cls, patches], 1) + &self.positional_embedding;
        let hidden = self.transformer.forward(&self.ln_pre.forward(&tokens));
        self.ln_post.forward(&hidden.select(1, 0))
    }
}
