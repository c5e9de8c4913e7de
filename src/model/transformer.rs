//! The pre-LayerNorm Transformer shared by both towers: multi-head self-attention and a GELU MLP,
//! each inside a residual branch. Weight names follow open_clip (`resblocks.{i}.attn.in_proj_weight`,
//! `mlp.c_fc`, ...), so that checkpoints can be matched to its state dicts.

use tch::nn::{self, Module};
use tch::Tensor;

/// Multi-head self-attention with one fused input projection for queries, keys and values.
#[derive(Debug)]
struct Attention {
    in_proj_weight: Tensor,
    in_proj_bias: Tensor,
    out_proj: nn::Linear,
    heads: i64,
}

impl Attention {
    fn new(p: nn::Path, width: i64, heads: i64, proj_std: f64) -> Attention {
        let attn_std = (width as f64).powf(-0.5);
        let in_proj_weight = p.randn("in_proj_weight", &[3 * width, width], 0.0, attn_std);
        let in_proj_bias = p.set_group(crate::train::NO_DECAY_GROUP).zeros("in_proj_bias", &[3 * width]);
        let out_proj = linear(&p / "out_proj", width, width, proj_std);
        Attention { in_proj_weight, in_proj_bias, out_proj, heads }
    }

    /// Attends over x: [batch, seq, width]; `causal` masks future positions.
    fn forward(&self, x: &Tensor, causal: bool) -> Tensor {
        let (batch, seq, width) = x.size3().expect("attention input is [batch, seq, width]");
        let head_dim = width / self.heads;
        // [batch, seq, 3 * width] -> [3, batch, heads, seq, head_dim]
        let qkv = x
            .linear(&self.in_proj_weight, Some(&self.in_proj_bias))
            .view([batch, seq, 3, self.heads, head_dim])
            .permute([2, 0, 3, 1, 4]);
        let (q, k, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
        let attended =
            Tensor::scaled_dot_product_attention(&q, &k, &v, None::<Tensor>, 0.0, causal, None, false);
        // [batch, heads, seq, head_dim] -> [batch, seq, width]
        let merged = attended.transpose(1, 2).reshape([batch, seq, width]);
        self.out_proj.forward(&merged)
    }
}

/// One residual block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).
#[derive(Debug)]
struct ResidualBlock {
    ln_1: nn::LayerNorm,
    attn: Attention,
    ln_2: nn::LayerNorm,
    c_fc: nn::Linear,
    c_proj: nn::Linear,
}

impl ResidualBlock {
    fn new(p: nn::Path, width: i64, heads: i64, mlp_ratio: f64, layers: i64) -> ResidualBlock {
        // open_clip's initialisation: residual projections shrink with depth.
        let proj_std = (width as f64).powf(-0.5) * ((2 * layers) as f64).powf(-0.5);
        let fc_std = ((2 * width) as f64).powf(-0.5);
        let hidden = (width as f64 * mlp_ratio) as i64;
        ResidualBlock {
            ln_1: layer_norm(&p / "ln_1", width),
            attn: Attention::new(&p / "attn", width, heads, proj_std),
            ln_2: layer_norm(&p / "ln_2", width),
            c_fc: linear(&p / "mlp" / "c_fc", width, hidden, fc_std),
            c_proj: linear(&p / "mlp" / "c_proj", hidden, width, proj_std),
        }
    }

    fn forward(&self, x: &Tensor, causal: bool) -> Tensor {
        let x = x + self.attn.forward(&self.ln_1.forward(x), causal);
        let hidden = self.c_fc.forward(&self.ln_2.forward(&x)).gelu("none");
        &x + self.c_proj.forward(&hidden)
    }
}

/// A stack of residual blocks.
#[derive(Debug)]
pub struct Transformer {
    resblocks: Vec<ResidualBlock>,
    causal: bool,
}

impl Transformer {
    /// Builds `layers` blocks under `p / "resblocks"`; `causal` selects the text tower's mask.
    pub fn new(p: nn::Path, width: i64, heads: i64, layers: i64, mlp_ratio: f64, causal: bool) -> Transformer {
        let blocks = &p / "resblocks";
        let resblocks = (0..layers)
            .map(|i| ResidualBlock::new(&blocks / i, width, heads, mlp_ratio, layers))
            .collect();
        Transformer { resblocks, causal }
    }

    /// Runs x: [batch, seq, width] through every block.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let mut x = x.shallow_clone();
        for block in &self.resblocks {
            x = block.forward(&x, self.causal);
        }
        x
    }
}

/// Creates a linear layer with open_clip's normal initialisation and its bias in the no-decay group.
pub fn linear(p: nn::Path, in_dim: i64, out_dim: i64, std: f64) -> nn::Linear {
    let ws = p.randn("weight", &[out_dim, in_dim], 0.0, std);
    let bs = Some(p.set_group(crate::train::NO_DECAY_GROUP).zeros("bias", &[out_dim]));
    nn::Linear { ws, bs }
}

/// Creates a LayerNorm whose weight and bias are in the no-decay group.
pub fn layer_norm(p: nn::Path, width: i64) -> nn::LayerNorm {
    nn::layer_norm(p.set_group(crate::train::NO_DECAY_GROUP), vec![width], Default::default())
}
