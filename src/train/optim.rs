//! AdamW with decoupled weight decay, written out so that its moment estimates can be saved in a
//! checkpoint and restored exactly. Parameters in the no-decay group (biases, LayerNorm weights,
//! embeddings, `logit_scale`) skip the weight decay.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use super::NO_DECAY_GROUP;
use crate::error::{Error, Result};

/// AdamW hyper-parameters; the defaults are CLIP's (beta2 0.98, eps 1e-6, weight decay 0.2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig { beta1: 0.9, beta2: 0.98, eps: 1e-6, weight_decay: 0.2 }
    }
}

#[derive(Debug)]
struct Param {
    name: String,
    tensor: Tensor,
    decay: bool,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
}

/// The optimizer and its state: first and second moments per parameter and the step count.
#[derive(Debug)]
pub struct AdamW {
    params: Vec<Param>,
    config: AdamWConfig,
    /// Number of updates taken so far; the bias corrections read it.
    pub step: i64,
}

impl AdamW {
    /// Collects the trainable variables of `vs`, sorted by name so that the order is reproducible.
    pub fn new(vs: &nn::VarStore, config: AdamWConfig) -> AdamW {
        let variables = vs.variables_.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let groups: HashMap<usize, usize> = variables
            .trainable_variables
            .iter()
            .map(|var| (var.tensor.data_ptr() as usize, var.group))
            .collect();
        let mut params: Vec<Param> = variables
            .named_variables
            .iter()
            .filter_map(|(name, tensor)| {
                let group = *groups.get(&(tensor.data_ptr() as usize))?;
                Some(Param {
                    name: name.clone(),
                    tensor: tensor.shallow_clone(),
                    decay: group != NO_DECAY_GROUP,
                    exp_avg: tensor.zeros_like(),
                    exp_avg_sq: tensor.zeros_like(),
                })
            })
            .collect();
        params.sort_by(|a, b| a.name.cmp(&b.name));
        AdamW { params, config, step: 0 }
    }

    /// Returns the names of the parameters that get weight decay.
    pub fn decayed_names(&self) -> Vec<&str> {
        self.params.iter().filter(|p| p.decay).map(|p| p.name.as_str()).collect()
    }

    /// Clears every gradient.
    pub fn zero_grad(&mut self) {
        for param in &mut self.params {
            param.tensor.zero_grad();
        }
    }

    /// Rescales gradients so that their global L2 norm is at most `max_norm`; returns the norm
    /// before clipping.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> f64 {
        let total: f64 = tch::no_grad(|| {
            self.params
                .iter()
                .map(|p| p.tensor.grad())
                .filter(|g| g.defined())
                .map(|g| g.square().sum(tch::Kind::Float).double_value(&[]))
                .sum::<f64>()
                .sqrt()
        });
        if total > max_norm {
            let coefficient = max_norm / (total + 1e-6);
            tch::no_grad(|| {
                for param in &self.params {
                    let mut grad = param.tensor.grad();
                    if grad.defined() {
                        grad *= coefficient;
                    }
                }
            });
        }
        total
    }

    /// Takes one AdamW step at learning rate `lr`.
    pub fn step(&mut self, lr: f64) {
        self.step += 1;
        let AdamWConfig { beta1, beta2, eps, weight_decay } = self.config;
        let bias_correction1 = 1.0 - beta1.powi(self.step as i32);
        let bias_correction2 = 1.0 - beta2.powi(self.step as i32);
        tch::no_grad(|| {
            for param in &mut self.params {
                let grad = param.tensor.grad();
                if !grad.defined() {
                    continue;
                }
                if param.decay && weight_decay > 0.0 {
                    param.tensor *= 1.0 - lr * weight_decay;
                }
                param.exp_avg = &param.exp_avg * beta1 + &grad * (1.0 - beta1);
                param.exp_avg_sq = &param.exp_avg_sq * beta2 + grad.square() * (1.0 - beta2);
                let denom = (&param.exp_avg_sq / bias_correction2).sqrt() + eps;
                let update = (&param.exp_avg / bias_correction1) / denom * lr;
                param.tensor -= update;
            }
        });
    }

    /// Returns the moments as named tensors (`exp_avg.NAME`, `exp_avg_sq.NAME`) for a checkpoint.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut named = Vec::with_capacity(2 * self.params.len());
        for param in &self.params {
            named.push((format!("exp_avg.{}", param.name), param.exp_avg.shallow_clone()));
            named.push((format!("exp_avg_sq.{}", param.name), param.exp_avg_sq.shallow_clone()));
        }
        named
    }

    /// Restores the moments saved by [`AdamW::state_tensors`] and the step count.
    pub fn load_state(&mut self, named: Vec<(String, Tensor)>, step: i64) -> Result<()> {
        let mut by_name: HashMap<String, Tensor> = named.into_iter().collect();
        for param in &mut self.params {
            for (prefix, slot) in [("exp_avg", &mut param.exp_avg), ("exp_avg_sq", &mut param.exp_avg_sq)] {
                let key = format!("{prefix}.{}", param.name);
                let saved = by_name.remove(&key).ok_or_else(|| {
                    Error::Config(format!("optimizer state has no tensor {key}; the checkpoint belongs to another model"))
                })?;
                if saved.size() != slot.size() {
                    return Err(Error::Config(format!(
                        "optimizer tensor {key} has shape {:?}, the model needs {:?}",
                        saved.size(),
                        slot.size()
                    )));
                }
                *slot = saved.to_device(slot.device());
            }
        }
        self.step = step;
        Ok(())
    }
}
