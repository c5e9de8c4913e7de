//! The Sparse CLIP head: a linear projection from a tower's width to D = embed_dim * expansion,
//! followed by the head activation. Its output is the *code*; the loss reads the L2-normalised code.
//!
//! | head    | activation after the projection                        |
//! |---------|--------------------------------------------------------|
//! | `dense` | none (the CLIP baseline)                               |
//! | `relu`  | ReLU (Sparse CLIP)                                     |
//! | `l1`    | none; the loss adds `l1_weight * mean_x(sum_i abs(z_i))` |
//! | `topk`  | keep the K largest values, zero the rest, then ReLU    |

use tch::{nn, Kind, Tensor};

use crate::config::{HeadKind, SparseConfig};

/// Norms below this count as an all-zero code: its normalised form is the zero vector.
const ZERO_NORM: f64 = 1e-12;

/// A projection matrix plus the head activation.
#[derive(Debug)]
pub struct SparseHead {
    proj: Tensor,
    bias: Option<Tensor>,
    kind: HeadKind,
    topk: i64,
}

impl SparseHead {
    /// Creates the projection `name` of shape [width, code_dim] under `p`, with open_clip's
    /// initialisation (normal, std = width^-0.5).
    pub fn new(p: &nn::Path, name: &str, width: i64, code_dim: i64, cfg: &SparseConfig) -> SparseHead {
        let proj = p.randn(name, &[width, code_dim], 0.0, (width as f64).powf(-0.5));
        let bias = cfg
            .proj_bias
            .then(|| p.set_group(crate::train::NO_DECAY_GROUP).zeros(&format!("{name}_bias"), &[code_dim]));
        SparseHead { proj, bias, kind: cfg.head, topk: cfg.topk }
    }

    /// Maps pooled features [batch, width] to codes [batch, code_dim].
    pub fn forward(&self, pooled: &Tensor) -> Tensor {
        let z = pooled.matmul(&self.proj);
        let z = match &self.bias {
            Some(bias) => z + bias,
            None => z,
        };
        activate(&z, self.kind, self.topk)
    }
}

/// Applies the head activation to pre-activations z: [batch, code_dim].
pub fn activate(z: &Tensor, kind: HeadKind, topk: i64) -> Tensor {
    match kind {
        HeadKind::Dense | HeadKind::L1 => z.shallow_clone(),
        HeadKind::Relu => z.relu(),
        HeadKind::Topk => {
            let (values, indices) = z.topk(topk, -1, true, false);
            z.zeros_like().scatter(-1, &indices, &values).relu()
        }
    }
}

/// Divides each code by its L2 norm; an all-zero code stays zero, so its cosine similarity to
/// anything is 0 instead of NaN.
pub fn l2_normalize(code: &Tensor) -> Tensor {
    let norm = code.norm_scalaropt_dim(2, [-1], true);
    code / norm.clamp_min(ZERO_NORM)
}

/// Returns the L1 penalty mean_x(sum_i |z_i|) over a batch of codes.
pub fn l1_penalty(code: &Tensor) -> Tensor {
    code.abs().sum_dim_intlist(&[-1][..], false, Kind::Float).mean(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[f32]) -> Tensor {
        Tensor::from_slice(values).view([1, -1])
    }

    fn to_vec(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.flatten(0, -1)).unwrap()
    }

    #[test]
    fn relu_zeroes_negatives() {
        let out = activate(&row(&[-1.0, 0.5, 2.0, -0.1]), HeadKind::Relu, 0);
        assert_eq!(to_vec(&out), vec![0.0, 0.5, 2.0, 0.0]);
    }

    #[test]
    fn dense_and_l1_are_identity() {
        let z = row(&[-1.0, 0.5]);
        assert_eq!(to_vec(&activate(&z, HeadKind::Dense, 0)), vec![-1.0, 0.5]);
        assert_eq!(to_vec(&activate(&z, HeadKind::L1, 0)), vec![-1.0, 0.5]);
    }

    #[test]
    fn topk_keeps_k_largest_then_relu() {
        let z = row(&[0.1, 3.0, -2.0, 1.0, 0.5]);
        let out = to_vec(&activate(&z, HeadKind::Topk, 2));
        assert_eq!(out, vec![0.0, 3.0, 0.0, 1.0, 0.0]);
        // A negative value among the top K is still zeroed by the ReLU.
        let out = to_vec(&activate(&row(&[-1.0, -2.0, -3.0]), HeadKind::Topk, 2));
        assert_eq!(out, vec![0.0, 0.0, 0.0]);
    }

    #[test]
    fn zero_code_normalises_to_zero() {
        let out = l2_normalize(&Tensor::zeros([2, 4], (Kind::Float, tch::Device::Cpu)));
        let values = to_vec(&out);
        assert!(values.iter().all(|v| *v == 0.0));
    }

    #[test]
    fn normalised_code_has_unit_norm() {
        let out = l2_normalize(&row(&[3.0, 4.0]));
        assert_eq!(to_vec(&out), vec![0.6, 0.8]);
    }

    #[test]
    fn l1_penalty_is_mean_of_row_sums() {
        let z = Tensor::from_slice(&[1.0f32, -2.0, 3.0, 0.0]).view([2, 2]);
        assert!((l1_penalty(&z).double_value(&[]) - 3.0).abs() < 1e-6);
    }
}
