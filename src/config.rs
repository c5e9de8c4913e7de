//! Model configuration in open_clip's JSON shape (`embed_dim`, `vision_cfg`, `text_cfg`), plus a
//! `sparse_cfg` block for the Sparse CLIP head.
//!
//! Presets: `tiny` (CPU-sized, the default for the built-in emoji data), `small`, and the open_clip
//! shapes `ViT-B-32` and `ViT-L-14`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The vision tower: a pre-LayerNorm Vision Transformer with class-token pooling.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisionConfig {
    pub image_size: i64,
    pub patch_size: i64,
    pub width: i64,
    pub layers: i64,
    /// Width of one attention head; heads = width / head_width, as in open_clip.
    #[serde(default = "default_head_width")]
    pub head_width: i64,
    #[serde(default = "default_mlp_ratio")]
    pub mlp_ratio: f64,
}

/// The text tower: a causal pre-LayerNorm Transformer pooled at the end-of-text token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextConfig {
    pub context_length: i64,
    pub vocab_size: i64,
    pub width: i64,
    pub heads: i64,
    pub layers: i64,
    #[serde(default = "default_mlp_ratio")]
    pub mlp_ratio: f64,
}

/// The activation after the final projection of each tower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum HeadKind {
    /// Nothing: the dense CLIP baseline.
    Dense,
    /// ReLU: Sparse CLIP.
    Relu,
    /// Nothing, plus an L1 penalty on the code in the loss (ablation).
    L1,
    /// Keep the K largest values, zero the rest, then ReLU (ablation).
    Topk,
}

impl HeadKind {
    /// Returns the default cap on exp(logit_scale): 100 for the dense head, 50 for the sparse ones.
    pub fn default_logit_scale_cap(self) -> f64 {
        match self {
            HeadKind::Dense => 100.0,
            HeadKind::Relu | HeadKind::L1 | HeadKind::Topk => 50.0,
        }
    }

    /// Returns true when the code is non-negative by construction.
    pub fn is_non_negative(self) -> bool {
        matches!(self, HeadKind::Relu | HeadKind::Topk)
    }
}

/// The Sparse CLIP head: projection width and activation, and the logit-scale cap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SparseConfig {
    pub head: HeadKind,
    /// Code width D = embed_dim * expansion.
    pub expansion: i64,
    /// Upper bound on exp(logit_scale); `logit_scale` is clamped to [0, ln(cap)] after every step.
    pub logit_scale_cap: f64,
    /// Weight of the L1 penalty, read only by the `l1` head.
    #[serde(default)]
    pub l1_weight: f64,
    /// Number of values kept, read only by the `topk` head.
    #[serde(default)]
    pub topk: i64,
    /// Whether the projection adds a learned per-feature bias (open_clip's projections have none).
    #[serde(default)]
    pub proj_bias: bool,
}

/// A whole CLIP model: both towers and the shared head.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub embed_dim: i64,
    pub vision_cfg: VisionConfig,
    pub text_cfg: TextConfig,
    /// Missing in a plain open_clip config, which then describes a dense CLIP.
    #[serde(default)]
    pub sparse_cfg: SparseConfig,
}

fn default_head_width() -> i64 {
    64
}

fn default_mlp_ratio() -> f64 {
    4.0
}

/// The vocabulary size of the CLIP BPE tokenizer.
pub const CLIP_VOCAB_SIZE: i64 = 49_408;

/// The names accepted by [`ModelConfig::preset`].
pub const PRESET_NAMES: [&str; 4] = ["tiny", "small", "ViT-B-32", "ViT-L-14"];

impl Default for SparseConfig {
    fn default() -> Self {
        SparseConfig::for_head(HeadKind::Dense)
    }
}

impl SparseConfig {
    /// Returns a head of the given kind with its default cap: expansion 1 for `dense` and 32 for
    /// the sparse heads, inside the 16x-72x range of Qin et al. (ICLR 2026).
    pub fn for_head(head: HeadKind) -> SparseConfig {
        let expansion = if head == HeadKind::Dense { 1 } else { 32 };
        SparseConfig {
            head,
            expansion,
            logit_scale_cap: head.default_logit_scale_cap(),
            l1_weight: if head == HeadKind::L1 { 1e-3 } else { 0.0 },
            topk: if head == HeadKind::Topk { 32 } else { 0 },
            proj_bias: false,
        }
    }
}

impl ModelConfig {
    /// Returns the named preset with the given head. Names follow open_clip (`ViT-B-32`, `ViT-L-14`).
    pub fn preset(name: &str, head: HeadKind) -> Result<ModelConfig> {
        let sparse_cfg = SparseConfig::for_head(head);
        let config = match name {
            "tiny" => ModelConfig {
                embed_dim: 64,
                vision_cfg: VisionConfig {
                    image_size: 32,
                    patch_size: 4,
                    width: 128,
                    layers: 4,
                    head_width: 32,
                    mlp_ratio: 4.0,
                },
                text_cfg: TextConfig {
                    context_length: 32,
                    vocab_size: CLIP_VOCAB_SIZE,
                    width: 128,
                    heads: 4,
                    layers: 4,
                    mlp_ratio: 4.0,
                },
                sparse_cfg,
            },
            "small" => ModelConfig {
                embed_dim: 128,
                vision_cfg: VisionConfig {
                    image_size: 64,
                    patch_size: 8,
                    width: 256,
                    layers: 6,
                    head_width: 64,
                    mlp_ratio: 4.0,
                },
                text_cfg: TextConfig {
                    context_length: 77,
                    vocab_size: CLIP_VOCAB_SIZE,
                    width: 256,
                    heads: 4,
                    layers: 6,
                    mlp_ratio: 4.0,
                },
                sparse_cfg,
            },
            "ViT-B-32" => ModelConfig {
                embed_dim: 512,
                vision_cfg: VisionConfig {
                    image_size: 224,
                    patch_size: 32,
                    width: 768,
                    layers: 12,
                    head_width: 64,
                    mlp_ratio: 4.0,
                },
                text_cfg: TextConfig {
                    context_length: 77,
                    vocab_size: CLIP_VOCAB_SIZE,
                    width: 512,
                    heads: 8,
                    layers: 12,
                    mlp_ratio: 4.0,
                },
                sparse_cfg,
            },
            "ViT-L-14" => ModelConfig {
                embed_dim: 768,
                vision_cfg: VisionConfig {
                    image_size: 224,
                    patch_size: 14,
                    width: 1024,
                    layers: 24,
                    head_width: 64,
                    mlp_ratio: 4.0,
                },
                text_cfg: TextConfig {
                    context_length: 77,
                    vocab_size: CLIP_VOCAB_SIZE,
                    width: 768,
                    heads: 12,
                    layers: 12,
                    mlp_ratio: 4.0,
                },
                sparse_cfg,
            },
            other => {
                return Err(Error::Config(format!(
                    "unknown model preset {other:?}; choose one of {PRESET_NAMES:?} or pass a JSON config file"
                )))
            }
        };
        Ok(config)
    }

    /// Returns the code width D = embed_dim * expansion.
    pub fn code_dim(&self) -> i64 {
        self.embed_dim * self.sparse_cfg.expansion
    }

    /// Checks that every size is positive and that the shapes fit together.
    pub fn validate(&self) -> Result<()> {
        let v = &self.vision_cfg;
        let t = &self.text_cfg;
        let s = &self.sparse_cfg;
        let positive = [
            ("embed_dim", self.embed_dim),
            ("vision_cfg.image_size", v.image_size),
            ("vision_cfg.patch_size", v.patch_size),
            ("vision_cfg.width", v.width),
            ("vision_cfg.layers", v.layers),
            ("vision_cfg.head_width", v.head_width),
            ("text_cfg.context_length", t.context_length),
            ("text_cfg.vocab_size", t.vocab_size),
            ("text_cfg.width", t.width),
            ("text_cfg.heads", t.heads),
            ("text_cfg.layers", t.layers),
            ("sparse_cfg.expansion", s.expansion),
        ];
        for (name, value) in positive {
            if value <= 0 {
                return Err(Error::Config(format!("{name} must be positive, got {value}")));
            }
        }

        for (name, ratio) in [("vision_cfg.mlp_ratio", v.mlp_ratio), ("text_cfg.mlp_ratio", t.mlp_ratio)] {
            if !(ratio.is_finite() && ratio > 0.0) {
                return Err(Error::Config(format!("{name} must be a finite number above 0, got {ratio}")));
            }
        }

        if v.image_size % v.patch_size != 0 {
            return Err(Error::Config(format!(
                "vision_cfg.image_size {} is not a multiple of patch_size {}",
                v.image_size, v.patch_size
            )));
        }

        if v.width % v.head_width != 0 {
            return Err(Error::Config(format!(
                "vision_cfg.width {} is not a multiple of head_width {}",
                v.width, v.head_width
            )));
        }

        if t.width % t.heads != 0 {
            return Err(Error::Config(format!(
                "text_cfg.width {} is not a multiple of heads {}",
                t.width, t.heads
            )));
        }

        if t.context_length < 2 {
            return Err(Error::Config(format!(
                "text_cfg.context_length must hold at least the start and end tokens, got {}",
                t.context_length
            )));
        }

        if !(s.logit_scale_cap >= 1.0 && s.logit_scale_cap.is_finite()) {
            return Err(Error::Config(format!(
                "sparse_cfg.logit_scale_cap must be a finite number >= 1, got {}",
                s.logit_scale_cap
            )));
        }

        if s.head == HeadKind::Topk && !(1..=self.code_dim()).contains(&s.topk) {
            return Err(Error::Config(format!(
                "sparse_cfg.topk must be in 1..={} for the topk head, got {}",
                self.code_dim(),
                s.topk
            )));
        }

        if s.head == HeadKind::L1 && !(s.l1_weight >= 0.0) {
            return Err(Error::Config(format!(
                "sparse_cfg.l1_weight must be >= 0, got {}",
                s.l1_weight
            )));
        }

        Ok(())
    }

    /// Reads and validates a JSON config file.
    pub fn load(path: &Path) -> Result<ModelConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("failed to read", path, e))?;
        let config: ModelConfig = serde_json::from_str(&text).map_err(|e| {
            Error::Config(format!("{}: {e}", path.display()))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Returns the config as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // The config contains only numbers, strings and enums, which serde_json always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_validate() {
        for name in PRESET_NAMES {
            for head in [HeadKind::Dense, HeadKind::Relu, HeadKind::L1, HeadKind::Topk] {
                let config = ModelConfig::preset(name, head).unwrap();
                config.validate().unwrap();
            }
        }
    }

    #[test]
    fn json_round_trip() {
        let config = ModelConfig::preset("ViT-B-32", HeadKind::Relu).unwrap();
        let back: ModelConfig = serde_json::from_str(&config.to_json()).unwrap();
        assert_eq!(config, back);
        assert!(config.to_json().contains("\"head\": \"relu\""));
    }

    #[test]
    fn default_caps_by_head() {
        assert_eq!(SparseConfig::for_head(HeadKind::Dense).logit_scale_cap, 100.0);
        assert_eq!(SparseConfig::for_head(HeadKind::Relu).logit_scale_cap, 50.0);
    }

    #[test]
    fn plain_open_clip_config_is_dense() {
        let json = r#"{"embed_dim": 512, "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32},
            "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12}}"#;
        let config: ModelConfig = serde_json::from_str(json).unwrap();
        assert_eq!(config.sparse_cfg.head, HeadKind::Dense);
        assert_eq!(config, ModelConfig::preset("ViT-B-32", HeadKind::Dense).unwrap());
    }

    #[test]
    fn unknown_preset_is_rejected() {
        let err = ModelConfig::preset("ViT-Z-99", HeadKind::Relu).unwrap_err();
        assert!(err.to_string().contains("ViT-Z-99"));
    }

    #[test]
    fn bad_patch_size_is_rejected() {
        let mut config = ModelConfig::preset("tiny", HeadKind::Relu).unwrap();
        config.vision_cfg.patch_size = 5;
        assert!(config.validate().is_err());
    }
}
