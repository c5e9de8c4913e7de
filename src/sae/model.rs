//! Sparse autoencoders trained on frozen embeddings: TopK with an auxiliary loss for dead latents
//! (AuxK, Gao et al. 2024, "Scaling and evaluating sparse autoencoders"), and ReLU with an L1
//! penalty.
//!
//! Both encode z = act(W_enc (x - b_pre) + b_enc) and decode x_hat = W_dec z + b_pre, with the rows
//! of W_dec kept at unit norm. TopK keeps the k largest pre-activations and applies a ReLU; the ReLU
//! SAE applies a ReLU and adds `l1 * mean_x(sum_i z_i)` to the loss.

use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

/// Sparsity mechanism of an SAE, with its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SaeKind {
    /// Keep the k largest latents. AuxK reconstructs the residual from the `aux_k` largest dead
    /// latents, weighted by `aux_weight`; a latent is dead after `dead_after` inputs without firing.
    TopK { k: i64, aux_k: i64, aux_weight: f64, dead_after: i64 },
    /// ReLU latents with an L1 penalty of weight `l1`.
    ReluL1 { l1: f64 },
}

impl SaeKind {
    /// Returns a short name for outputs.
    pub fn name(&self) -> &'static str {
        match self {
            SaeKind::TopK { .. } => "topk",
            SaeKind::ReluL1 { .. } => "relu_l1",
        }
    }
}

/// The SAE's shape and kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SaeConfig {
    /// Input width d.
    pub input_dim: i64,
    /// Dictionary size n (the number of latents).
    pub dict_size: i64,
    pub kind: SaeKind,
}

/// A sparse autoencoder.
pub struct Sae {
    pub config: SaeConfig,
    pub w_enc: Tensor,
    pub b_enc: Tensor,
    pub w_dec: Tensor,
    pub b_pre: Tensor,
}

/// One forward pass.
pub struct SaeOutput {
    /// Pre-activations [N, n].
    pub pre: Tensor,
    /// Latents [N, n].
    pub latents: Tensor,
    /// Reconstructions [N, d].
    pub reconstruction: Tensor,
}

impl Sae {
    /// Creates the parameters under `path`; the encoder starts as the decoder's transpose.
    pub fn new(path: &nn::Path, config: SaeConfig) -> Sae {
        let (d, n) = (config.input_dim, config.dict_size);
        let w_dec = path.var("w_dec", &[n, d], nn::Init::Randn { mean: 0.0, stdev: 1.0 });
        tch::no_grad(|| {
            let unit = &w_dec / w_dec.norm_scalaropt_dim(2, &[1][..], true);
            w_dec.shallow_clone().copy_(&unit);
        });
        let w_enc = path.var_copy("w_enc", &w_dec.tr().detach());
        let b_enc = path.zeros("b_enc", &[n]);
        let b_pre = path.zeros("b_pre", &[d]);
        Sae { config, w_enc, b_enc, w_dec, b_pre }
    }

    /// Encodes and decodes inputs x [N, d].
    pub fn forward(&self, x: &Tensor) -> SaeOutput {
        let pre = (x - &self.b_pre).matmul(&self.w_enc) + &self.b_enc; // [N, n]
        let latents = match &self.config.kind {
            SaeKind::TopK { k, .. } => topk_relu(&pre, *k),
            SaeKind::ReluL1 { .. } => pre.relu(),
        };
        let reconstruction = latents.matmul(&self.w_dec) + &self.b_pre;
        SaeOutput { pre, latents, reconstruction }
    }

    /// Rescales the decoder rows to unit norm, as is done after every optimizer step.
    pub fn normalize_decoder(&self) {
        tch::no_grad(|| {
            let unit = &self.w_dec / self.w_dec.norm_scalaropt_dim(2, &[1][..], true).clamp_min(1e-12);
            self.w_dec.shallow_clone().copy_(&unit);
        });
    }
}

/// Keeps the k largest values of each row and applies a ReLU; everything else is 0. [N, n] -> [N, n]
pub fn topk_relu(pre: &Tensor, k: i64) -> Tensor {
    let k = k.clamp(1, pre.size()[1]);
    let (values, indices) = pre.topk(k, 1, true, false);
    Tensor::zeros_like(pre).scatter(1, &indices, &values.relu())
}

/// Returns the AuxK latents: the `aux_k` largest pre-activations among dead latents (`dead` [n]
/// bool), after a ReLU, and 0 on every live latent. [N, n] -> [N, n]
pub fn aux_latents(pre: &Tensor, dead: &Tensor, aux_k: i64) -> Tensor {
    let dead_count = dead.sum(Kind::Int64).int64_value(&[]);
    if dead_count == 0 || aux_k < 1 {
        return Tensor::zeros_like(pre);
    }
    // Live latents get -inf so that TopK can only pick dead ones.
    let masked = pre.masked_fill(&dead.logical_not().unsqueeze(0), f64::NEG_INFINITY);
    let k = aux_k.min(dead_count);
    let (values, indices) = masked.topk(k, 1, true, false);
    Tensor::zeros_like(pre).scatter(1, &indices, &values.relu())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topk_keeps_exactly_k() {
        tch::manual_seed(0);
        let pre = Tensor::randn([8, 32], (Kind::Float, tch::Device::Cpu)).abs() + 0.1;
        let latents = topk_relu(&pre, 4);
        let per_row = Vec::<i64>::try_from(latents.gt(0.0).sum_dim_intlist(&[1][..], false, Kind::Int64)).unwrap();
        assert_eq!(per_row, vec![4; 8]);
    }

    #[test]
    fn topk_applies_relu() {
        let pre = Tensor::from_slice(&[-1.0f32, -2.0, 0.5]).view([1, 3]);
        let latents = Vec::<f32>::try_from(topk_relu(&pre, 2).flatten(0, -1)).unwrap();
        assert_eq!(latents, vec![0.0, 0.0, 0.5]);
    }

    #[test]
    fn auxk_touches_only_dead_latents() {
        let pre = Tensor::from_slice(&[5.0f32, 1.0, 4.0, 2.0, 3.0, 0.5]).view([1, 6]);
        let dead = Tensor::from_slice(&[false, true, false, true, true, true]);
        let aux = Vec::<f32>::try_from(aux_latents(&pre, &dead, 2).flatten(0, -1)).unwrap();
        // Live latents 0 and 2 have the largest values but stay 0; dead 4 (3.0) and 3 (2.0) are kept.
        assert_eq!(aux, vec![0.0, 0.0, 0.0, 2.0, 3.0, 0.0]);
    }

    #[test]
    fn no_dead_latents_means_no_aux() {
        let pre = Tensor::ones([2, 3], (Kind::Float, tch::Device::Cpu));
        let dead = Tensor::from_slice(&[false, false, false]);
        assert_eq!(aux_latents(&pre, &dead, 2).abs().sum(Kind::Float).double_value(&[]), 0.0);
    }

    #[test]
    fn decoder_rows_are_unit_norm() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let sae = Sae::new(&vs.root(), SaeConfig { input_dim: 4, dict_size: 16, kind: SaeKind::ReluL1 { l1: 0.0 } });
        let norms = sae.w_dec.norm_scalaropt_dim(2, &[1][..], false);
        assert!((norms - 1.0).abs().max().double_value(&[]) < 1e-5);
    }
}
