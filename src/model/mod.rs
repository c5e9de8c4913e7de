//! The CLIP model: an image tower and a text tower, each ending in a [`SparseHead`], and a learnable
//! `logit_scale`. With the `relu` head and a wide expansion this is Sparse CLIP.

pub mod head;
pub mod text;
pub mod transformer;
pub mod vision;

use tch::{nn, Tensor};

pub use head::{activate, l1_penalty, l2_normalize, SparseHead};
pub use text::TextTower;
pub use vision::VisionTower;

use crate::config::ModelConfig;
use crate::train::NO_DECAY_GROUP;

/// The initial temperature of CLIP: logit_scale = ln(1 / 0.07).
pub const INIT_LOGIT_SCALE: f64 = 2.659_260_036_932_778_4;

/// A CLIP model whose parameters live in a `tch::nn::VarStore`.
#[derive(Debug)]
pub struct Clip {
    pub config: ModelConfig,
    visual: VisionTower,
    visual_head: SparseHead,
    text: TextTower,
    text_head: SparseHead,
    /// The log of the similarity scale; clamped to [0, ln(cap)] after each optimizer step.
    pub logit_scale: Tensor,
}

/// The output of one forward pass over an image-caption batch.
#[derive(Debug)]
pub struct ClipOutput {
    /// Image codes [batch, D]: the raw head output.
    pub image_code: Tensor,
    /// Text codes [batch, D].
    pub text_code: Tensor,
    /// L2-normalised image codes [batch, D].
    pub image_embed: Tensor,
    /// L2-normalised text codes [batch, D].
    pub text_embed: Tensor,
}

impl Clip {
    /// Builds a freshly initialised model under the root of `vs`. Weight names follow open_clip:
    /// `visual.*`, `visual.proj`, `token_embedding.weight`, `transformer.*`, `text_projection`,
    /// `logit_scale`.
    pub fn new(root: &nn::Path, config: &ModelConfig) -> Clip {
        let code_dim = config.code_dim();
        let visual_path = root / "visual";
        let visual = VisionTower::new(&visual_path, &config.vision_cfg);
        let visual_head = SparseHead::new(&visual_path, "proj", config.vision_cfg.width, code_dim, &config.sparse_cfg);
        let text = TextTower::new(root, &config.text_cfg);
        let text_head = SparseHead::new(root, "text_projection", config.text_cfg.width, code_dim, &config.sparse_cfg);
        let logit_scale = root
            .set_group(NO_DECAY_GROUP)
            .var("logit_scale", &[], nn::Init::Const(INIT_LOGIT_SCALE));
        Clip { config: config.clone(), visual, visual_head, text, text_head, logit_scale }
    }

    /// Encodes normalised images [batch, 3, size, size] to codes [batch, D].
    pub fn encode_image(&self, images: &Tensor) -> Tensor {
        self.visual_head.forward(&self.visual.forward(images))
    }

    /// Encodes token ids [batch, context] to codes [batch, D].
    pub fn encode_text(&self, tokens: &Tensor) -> Tensor {
        self.text_head.forward(&self.text.forward(tokens))
    }

    /// Encodes a batch of pairs and normalises both codes.
    pub fn forward(&self, images: &Tensor, tokens: &Tensor) -> ClipOutput {
        let image_code = self.encode_image(images);
        let text_code = self.encode_text(tokens);
        ClipOutput {
            image_embed: l2_normalize(&image_code),
            text_embed: l2_normalize(&text_code),
            image_code,
            text_code,
        }
    }

    /// Clamps `logit_scale` to [0, ln(cap)], so that exp(logit_scale) never exceeds the cap.
    pub fn clamp_logit_scale(&mut self) {
        let max = self.config.sparse_cfg.logit_scale_cap.ln();
        tch::no_grad(|| {
            let clamped = self.logit_scale.clamp(0.0, max);
            self.logit_scale.copy_(&clamped);
        });
    }

    /// Returns exp(logit_scale) as a number.
    pub fn scale(&self) -> f64 {
        self.logit_scale.double_value(&[]).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HeadKind;
    use tch::{Device, Kind};

    fn tiny(head: HeadKind) -> (nn::VarStore, Clip) {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut config = ModelConfig::preset("tiny", head).unwrap();
        config.text_cfg.vocab_size = 100;
        config.vision_cfg.layers = 1;
        config.text_cfg.layers = 1;
        let model = Clip::new(&vs.root(), &config);
        (vs, model)
    }

    #[test]
    fn forward_shapes_and_non_negative_relu_codes() {
        let (_vs, model) = tiny(HeadKind::Relu);
        let images = Tensor::randn([3, 3, 32, 32], (Kind::Float, Device::Cpu));
        let tokens = Tensor::from_slice(&[1i64, 5, 99, 0, 1, 99, 0, 0, 1, 7, 8, 99]).view([3, 4]);
        let tokens = tokens.constant_pad_nd([0, 28]);
        let out = model.forward(&images, &tokens);
        assert_eq!(out.image_code.size(), vec![3, 64 * 32]);
        assert_eq!(out.text_code.size(), vec![3, 64 * 32]);
        assert!(out.image_code.min().double_value(&[]) >= 0.0);
        assert!(out.text_code.min().double_value(&[]) >= 0.0);
    }

    #[test]
    fn logit_scale_clamps_to_cap() {
        let (_vs, mut model) = tiny(HeadKind::Relu);
        let _ = tch::no_grad(|| model.logit_scale.fill_(10.0));
        model.clamp_logit_scale();
        assert!((model.scale() - 50.0).abs() < 1e-3, "scale {}", model.scale());
        let _ = tch::no_grad(|| model.logit_scale.fill_(-3.0));
        model.clamp_logit_scale();
        assert!((model.scale() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn initial_scale_is_one_over_007() {
        let (_vs, model) = tiny(HeadKind::Dense);
        assert!((model.scale() - 1.0 / 0.07).abs() < 1e-3);
    }

    #[test]
    fn text_pooling_reads_eot_position() {
        let (_vs, model) = tiny(HeadKind::Dense);
        // Causal attention: the EOT feature depends only on tokens before it.
        let a = Tensor::from_slice(&[1i64, 5, 99, 0]).constant_pad_nd([0, 28]).view([1, 32]);
        let b = Tensor::from_slice(&[1i64, 5, 99, 7]).constant_pad_nd([0, 28]).view([1, 32]);
        let diff = (model.encode_text(&a) - model.encode_text(&b)).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "EOT pooling leaked later tokens: {diff}");
    }
}
