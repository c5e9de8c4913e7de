//! Training a sparse autoencoder on frozen embeddings with Adam, and measuring it.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use crate::error::{Error, Result};
use crate::sae::metrics::{cossim, explained_variance, mse};
use crate::sae::model::{aux_latents, Sae, SaeConfig, SaeKind};

/// Settings of SAE training.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SaeTrainOptions {
    pub epochs: i64,
    pub batch_size: i64,
    pub lr: f64,
    pub seed: u64,
}

impl Default for SaeTrainOptions {
    fn default() -> Self {
        SaeTrainOptions { epochs: 30, batch_size: 256, lr: 1e-3, seed: 0 }
    }
}

/// Reconstruction and sparsity metrics of an SAE on one input set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SaeMetrics {
    /// Mean squared error per input dimension.
    pub mse: f64,
    /// Centred: 1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2.
    pub explained_variance: f64,
    pub cossim: f64,
    /// Mean number of latents > 0 per input.
    pub l0: f64,
    /// Latents that are 0 on every input.
    pub dead_fraction: f64,
}

/// Trains an SAE on inputs [N, d] and returns it with the loss of each epoch.
pub fn train_sae(vs: &nn::VarStore, inputs: &Tensor, config: SaeConfig, options: &SaeTrainOptions) -> Result<(Sae, Vec<f64>)> {
    let n = inputs.size()[0];
    if n < 2 {
        return Err(Error::Data(format!("an SAE needs at least 2 inputs, got {n}")));
    }
    tch::manual_seed(options.seed as i64);
    let sae = Sae::new(&vs.root(), config);
    // Starting b_pre at the mean puts the first reconstructions at the mean, as is usual.
    tch::no_grad(|| sae.b_pre.shallow_clone().copy_(&inputs.mean_dim(&[0][..], false, Kind::Float).to_device(vs.device())));
    let mut optimizer = nn::Adam::default().build(vs, options.lr)?;

    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut inputs_since_fired = Tensor::zeros([sae.config.dict_size], (Kind::Int64, vs.device()));
    let mut losses = Vec::new();
    for _ in 0..options.epochs {
        let mut order: Vec<i64> = (0..n).collect();
        order.shuffle(&mut rng);
        let mut epoch_loss = 0.0;
        let mut batches = 0;
        for chunk in order.chunks(options.batch_size.max(1) as usize) {
            let x = inputs.index_select(0, &Tensor::from_slice(chunk)).to_device(vs.device());
            let out = sae.forward(&x);
            let mut loss = (&x - &out.reconstruction).square().mean(Kind::Float);
            match &sae.config.kind {
                SaeKind::TopK { aux_k, aux_weight, dead_after, .. } => {
                    let fired = out.latents.gt(0.0).any_dim(0, false);
                    inputs_since_fired = (inputs_since_fired + chunk.len() as i64).masked_fill(&fired, 0);
                    let dead = inputs_since_fired.gt(*dead_after);
                    let aux = aux_latents(&out.pre, &dead, *aux_k);
                    let residual = (&x - &out.reconstruction).detach();
                    let aux_loss = (residual - aux.matmul(&sae.w_dec)).square().mean(Kind::Float);
                    loss = loss + aux_loss * *aux_weight;
                }
                SaeKind::ReluL1 { l1 } => {
                    loss = loss + out.latents.sum_dim_intlist(&[1][..], false, Kind::Float).mean(Kind::Float) * *l1;
                }
            }
            optimizer.backward_step(&loss);
            sae.normalize_decoder();
            epoch_loss += loss.double_value(&[]);
            batches += 1;
        }
        let mean_loss = epoch_loss / batches.max(1) as f64;
        if !mean_loss.is_finite() {
            return Err(Error::NonFiniteLoss { step: losses.len() as i64 + 1, loss: mean_loss, hint: "lower --lr or the L1 weight".into() });
        }
        losses.push(mean_loss);
    }
    Ok((sae, losses))
}

/// Measures an SAE on inputs [N, d].
pub fn evaluate_sae(sae: &Sae, inputs: &Tensor, device: Device) -> SaeMetrics {
    tch::no_grad(|| {
        let x = inputs.to_device(device);
        let out = sae.forward(&x);
        let on = out.latents.gt(0.0);
        SaeMetrics {
            mse: mse(&x, &out.reconstruction),
            explained_variance: explained_variance(&x, &out.reconstruction),
            cossim: cossim(&x, &out.reconstruction),
            l0: on.sum_dim_intlist(&[1][..], false, Kind::Float).mean(Kind::Float).double_value(&[]),
            dead_fraction: on.any_dim(0, false).logical_not().to_kind(Kind::Float).mean(Kind::Float).double_value(&[]),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topk_sae_learns_low_rank_data() {
        tch::manual_seed(0);
        // 256 inputs in a 4-dimensional subspace of R^8.
        let basis = Tensor::randn([4, 8], (Kind::Float, Device::Cpu));
        let inputs = Tensor::randn([256, 4], (Kind::Float, Device::Cpu)).matmul(&basis);
        let vs = nn::VarStore::new(Device::Cpu);
        let config = SaeConfig { input_dim: 8, dict_size: 32, kind: SaeKind::TopK { k: 8, aux_k: 8, aux_weight: 1.0 / 32.0, dead_after: 256 } };
        let options = SaeTrainOptions { epochs: 60, batch_size: 64, lr: 1e-2, seed: 0 };
        let (sae, losses) = train_sae(&vs, &inputs, config, &options).unwrap();
        assert!(losses.last().unwrap() < &losses[0], "{losses:?}");
        let metrics = evaluate_sae(&sae, &inputs, Device::Cpu);
        assert!(metrics.explained_variance > 0.8, "{metrics:?}");
        assert!(metrics.l0 <= 8.0);
    }
}
