//! Reconstruction metrics of a sparse autoencoder.
//!
//! - `mse`: mean over inputs of ||x - x_hat||^2 / d (the mean squared error per dimension).
//! - `explained_variance` (centred): 1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2, so predicting
//!   the mean scores 0 and a perfect reconstruction 1.
//! - `cossim`: mean cosine similarity of x and x_hat.

use tch::{Kind, Tensor};

/// Returns the mean squared error per dimension of x_hat [N, d] against x [N, d].
pub fn mse(x: &Tensor, x_hat: &Tensor) -> f64 {
    (x - x_hat).square().mean(Kind::Double).double_value(&[])
}

/// Returns the centred explained variance 1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2.
pub fn explained_variance(x: &Tensor, x_hat: &Tensor) -> f64 {
    let residual = (x - x_hat).square().sum(Kind::Double).double_value(&[]);
    let centred = (x - x.mean_dim(&[0][..], true, Kind::Float)).square().sum(Kind::Double).double_value(&[]);
    if centred == 0.0 {
        return if residual == 0.0 { 1.0 } else { f64::NEG_INFINITY };
    }
    1.0 - residual / centred
}

/// Returns the mean cosine similarity of the rows of x and x_hat; a zero row scores 0.
pub fn cossim(x: &Tensor, x_hat: &Tensor) -> f64 {
    let dot = (x * x_hat).sum_dim_intlist(&[1][..], false, Kind::Double);
    let norms = x.norm_scalaropt_dim(2, &[1][..], false).to_kind(Kind::Double) * x_hat.norm_scalaropt_dim(2, &[1][..], false).to_kind(Kind::Double);
    (dot / norms.clamp_min(1e-12)).mean(Kind::Double).double_value(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Tensor {
        Tensor::from_slice(&[1.0f32, 2.0, 3.0, 0.0, -1.0, 4.0]).view([3, 2])
    }

    #[test]
    fn mean_prediction_explains_nothing() {
        let x = sample();
        let mean = x.mean_dim(&[0][..], true, Kind::Float).expand([3, 2], false);
        assert!(explained_variance(&x, &mean).abs() < 1e-6);
    }

    #[test]
    fn perfect_reconstruction_explains_all() {
        let x = sample();
        assert_eq!(explained_variance(&x, &x), 1.0);
        assert_eq!(mse(&x, &x), 0.0);
        assert!((cossim(&x, &x) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn mse_is_per_dimension() {
        let x = Tensor::zeros([2, 2], (Kind::Float, tch::Device::Cpu));
        let x_hat = Tensor::ones([2, 2], (Kind::Float, tch::Device::Cpu));
        assert_eq!(mse(&x, &x_hat), 1.0);
    }
}
