//! Linear probe: multinomial logistic regression on frozen features.
//!
//! The learning rate and the weight decay (an L2 penalty `wd / 2 * ||W||^2` added to the mean
//! cross-entropy) are chosen together on a validation split held out from the training features.
//! The probe is then refit on all training features with the chosen pair and scored on the test
//! split. Each feature dimension is
//! standardised with the mean and standard deviation of the training split (dimensions that never
//! vary become 0), so that the learning rate suits raw codes, normalised embeddings and sparse
//! dimensions of very different scales alike. Fitting is full-batch Adam with a cosine learning-rate
//! decay, starting from zero weights, so a fit is deterministic.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

use crate::eval::zeroshot::classification_metrics;

/// Settings of the probe.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProbeOptions {
    /// Weight decays tried on the validation split.
    pub weight_decays: Vec<f64>,
    /// Peak Adam learning rates tried on the validation split.
    pub lrs: Vec<f64>,
    /// Full-batch optimisation steps per fit.
    pub steps: i64,
    /// Share of the training features held out to choose the weight decay.
    pub val_fraction: f64,
    /// Seed of the validation split.
    pub seed: u64,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions { weight_decays: vec![0.0, 1e-4, 1e-3, 1e-2], lrs: vec![0.01, 0.1], steps: 100, val_fraction: 0.2, seed: 0 }
    }
}

/// Result of one probe.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProbeOutcome {
    /// `lp_acc1`, `lp_acc5` and `lp_mean_per_class_recall` on the test split.
    pub metrics: BTreeMap<String, f64>,
    pub best_weight_decay: f64,
    pub best_lr: f64,
    /// Validation `acc1` of every (lr, weight decay) pair tried.
    pub sweep: Vec<SweepPoint>,
    pub n_train: i64,
    pub n_val: i64,
    pub n_test: i64,
}

/// Validation accuracy of one hyperparameter pair.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepPoint {
    pub lr: f64,
    pub weight_decay: f64,
    pub val_acc1: f64,
}

/// Fits and scores a probe. Features are [N, D] floats, targets [N] class indices.
pub fn linear_probe(
    train_x: &Tensor,
    train_y: &Tensor,
    test_x: &Tensor,
    test_y: &Tensor,
    num_classes: i64,
    options: &ProbeOptions,
    device: Device,
) -> ProbeOutcome {
    let train_x = flush_tiny(&train_x.to_kind(Kind::Float).to_device(device));
    let mean = train_x.mean_dim(&[0][..], true, Kind::Float); // [1, D]
    let std = train_x.std_dim(&[0][..], false, true); // [1, D]
    // Dimensions that barely vary relative to the widest one carry no usable signal and are zeroed.
    let min_std = (std.max().double_value(&[]) * 1e-6).max(1e-12);
    let inverse_std = std.gt(min_std).to_kind(Kind::Float) / std.clamp_min(min_std);
    let train_x = (&train_x - &mean) * &inverse_std;
    let test_x = (flush_tiny(&test_x.to_kind(Kind::Float).to_device(device)) - &mean) * &inverse_std;
    let train_y = train_y.to_device(device);
    let test_y = test_y.to_device(device);

    let (fit_index, val_index) = validation_split(train_x.size()[0], options.val_fraction, options.seed, device);
    let fit_x = train_x.index_select(0, &fit_index);
    let fit_y = train_y.index_select(0, &fit_index);
    let val_x = train_x.index_select(0, &val_index);
    let val_y = train_y.index_select(0, &val_index);

    let mut sweep = Vec::new();
    for &lr in &options.lrs {
        for &weight_decay in &options.weight_decays {
            let (weight, bias) = fit(&fit_x, &fit_y, num_classes, lr, weight_decay, options.steps);
            let logits = val_x.matmul(&weight) + &bias;
            sweep.push(SweepPoint { lr, weight_decay, val_acc1: classification_metrics(&logits, &val_y)["acc1"] });
        }
    }
    // Ties go to the later pair: the larger weight decay, the simpler model.
    let best = sweep.iter().rev().max_by(|a, b| a.val_acc1.total_cmp(&b.val_acc1)).cloned();
    let (best_lr, best_weight_decay) = best.map_or((0.01, 0.0), |p| (p.lr, p.weight_decay));

    let (weight, bias) = fit(&train_x, &train_y, num_classes, best_lr, best_weight_decay, options.steps);
    let logits = test_x.matmul(&weight) + &bias;
    let metrics = classification_metrics(&logits, &test_y).into_iter().map(|(name, value)| (format!("lp_{name}"), value)).collect();
    ProbeOutcome {
        metrics,
        best_weight_decay,
        best_lr,
        sweep,
        n_train: train_x.size()[0],
        n_val: val_index.size()[0],
        n_test: test_x.size()[0],
    }
}

/// Fits weights [D, C] and a bias [C] by full-batch Adam.
pub fn fit(x: &Tensor, y: &Tensor, num_classes: i64, lr: f64, weight_decay: f64, steps: i64) -> (Tensor, Tensor) {
    let vs = nn::VarStore::new(x.device());
    let root = vs.root();
    let weight = root.zeros("weight", &[x.size()[1], num_classes]);
    let bias = root.zeros("bias", &[num_classes]);
    let Ok(mut optimizer) = nn::Adam::default().build(&vs, lr) else {
        return (weight.detach(), bias.detach());
    };
    for step in 0..steps {
        let progress = step as f64 / steps.max(1) as f64;
        optimizer.set_lr(lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()));
        let logits = x.matmul(&weight) + &bias;
        let loss = logits.cross_entropy_for_logits(y) + weight.square().sum(Kind::Float) * (weight_decay / 2.0);
        optimizer.backward_step(&loss);
    }
    (weight.detach(), bias.detach())
}

/// Sets values below 1e-30 in magnitude to zero. Such values (subnormal floats among them) carry
/// no signal, and subnormal arithmetic is many times slower on CPUs.
fn flush_tiny(x: &Tensor) -> Tensor {
    x * x.abs().ge(1e-30).to_kind(Kind::Float)
}

/// Splits indices 0..n into a fitting part and a validation part of `val_fraction` (at least one
/// each when n >= 2), shuffled with `seed`.
fn validation_split(n: i64, val_fraction: f64, seed: u64, device: Device) -> (Tensor, Tensor) {
    let mut indices: Vec<i64> = (0..n).collect();
    indices.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_val = ((n as f64 * val_fraction).round() as i64).clamp(i64::from(n >= 2), (n - 1).max(0));
    let (val, fit) = indices.split_at(n_val as usize);
    (Tensor::from_slice(fit).to_device(device), Tensor::from_slice(val).to_device(device))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two Gaussian blobs per class along different axes, easy to separate.
    fn blobs(n_per_class: i64, seed: i64) -> (Tensor, Tensor) {
        tch::manual_seed(seed);
        let centres = Tensor::from_slice(&[3.0f32, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 3.0]).view([3, 3]);
        let y = Tensor::arange(3, (Kind::Int64, Device::Cpu)).repeat_interleave_self_int(n_per_class, None, None);
        let x = centres.index_select(0, &y) + Tensor::randn([3 * n_per_class, 3], (Kind::Float, Device::Cpu)) * 0.5;
        (x, y)
    }

    #[test]
    fn separable_classes_are_learned() {
        let (train_x, train_y) = blobs(50, 1);
        let (test_x, test_y) = blobs(20, 2);
        let outcome = linear_probe(&train_x, &train_y, &test_x, &test_y, 3, &ProbeOptions::default(), Device::Cpu);
        assert!(outcome.metrics["lp_acc1"] > 0.95, "{:?}", outcome.metrics);
        assert_eq!(outcome.metrics["lp_acc5"], 1.0);
        assert_eq!(outcome.sweep.len(), 8);
        assert_eq!(outcome.n_train, 150);
        assert_eq!(outcome.n_val, 30);
    }

    #[test]
    fn heavy_weight_decay_shrinks_weights() {
        let (x, y) = blobs(20, 3);
        let (light, _) = fit(&x, &y, 3, 0.01, 0.0, 100);
        let (heavy, _) = fit(&x, &y, 3, 0.01, 10.0, 100);
        assert!(heavy.norm().double_value(&[]) < light.norm().double_value(&[]));
    }

    #[test]
    fn split_sizes() {
        let (fit, val) = validation_split(10, 0.2, 0, Device::Cpu);
        assert_eq!((fit.size()[0], val.size()[0]), (8, 2));
        let (fit, val) = validation_split(2, 0.01, 0, Device::Cpu);
        assert_eq!((fit.size()[0], val.size()[0]), (1, 1));
    }
}
