//! Clarity of features (Dreyer et al., 2025): how alike the images a feature fires on look to a
//! separate reference image encoder.
//!
//! For feature i with on-set I_i = {x : a_i(x) > tau}, its clarity is the mean cosine similarity of
//! the reference embeddings e(x) over all pairs of distinct images in I_i. The model's clarity is
//! the mean over active features (|I_i| >= n_min, n_min >= 2). The baseline is the same mean over
//! all pairs of distinct images of the set, i.e. the clarity of a feature that fires at random.

use tch::{Kind, Tensor};

/// Returns each feature's mean pairwise similarity under the reference embeddings, or None for
/// features on for fewer than `n_min` (at least 2) images.
///
/// `on` [N, D] marks the images each feature is on for; `reference` [N, E] holds L2-normalised
/// reference embeddings of the same images.
pub fn feature_clarity(on: &Tensor, reference: &Tensor, n_min: i64) -> Vec<Option<f64>> {
    let on = on.to_kind(Kind::Double);
    let reference = reference.to_kind(Kind::Double);
    // sum_{x != y in I_i} e_x . e_y = ||sum_{x in I_i} e_x||^2 - sum_{x in I_i} ||e_x||^2.
    let sums = on.tr().matmul(&reference); // [D, E]
    let squared_norm_of_sum = sums.square().sum_dim_intlist(&[1][..], false, Kind::Double); // [D]
    let self_terms = on.tr().matmul(&reference.square().sum_dim_intlist(&[1][..], true, Kind::Double)).squeeze_dim(1); // [D]
    let counts = on.sum_dim_intlist(&[0][..], false, Kind::Double); // [D]

    let pair_sums = Vec::<f64>::try_from(squared_norm_of_sum - self_terms).unwrap_or_default();
    let counts = Vec::<f64>::try_from(counts).unwrap_or_default();
    let n_min = n_min.max(2) as f64;
    pair_sums
        .iter()
        .zip(&counts)
        .map(|(&pairs, &n)| if n >= n_min { Some(pairs / (n * (n - 1.0))) } else { None })
        .collect()
}

/// Returns the mean over features that have a clarity, and their count.
pub fn mean_clarity(per_feature: &[Option<f64>]) -> (f64, usize) {
    let values: Vec<f64> = per_feature.iter().flatten().copied().collect();
    if values.is_empty() {
        return (f64::NAN, 0);
    }
    (values.iter().sum::<f64>() / values.len() as f64, values.len())
}

/// Returns the mean similarity over all pairs of distinct images, for normalised embeddings [N, E].
pub fn random_pair_baseline(reference: &Tensor) -> f64 {
    let all = Tensor::ones([reference.size()[0], 1], (Kind::Bool, reference.device()));
    feature_clarity(&all, reference, 2)[0].unwrap_or(f64::NAN)
}

/// Marks, for every feature, its `k` highest-activating images among those with a value above
/// `tau`. Returns a bool mask [N, D] for codes [N, D].
pub fn top_k_mask(code: &Tensor, k: i64, tau: f64) -> Tensor {
    let n = code.size()[0];
    let k = k.clamp(1, n);
    let (_, top) = code.topk(k, 0, true, false); // [k, D] row indices
    let mask = Tensor::zeros_like(code).to_kind(Kind::Bool);
    let mask = mask.scatter_value(0, &top, 1);
    mask.logical_and(&code.gt(tau))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(values: &[f32], rows: i64) -> Tensor {
        let t = Tensor::from_slice(values).view([rows, -1]);
        &t / t.norm_scalaropt_dim(2, &[1][..], true)
    }

    #[test]
    fn hand_made_clarity() {
        // Images 0 and 1 point the same way, image 2 is orthogonal.
        let reference = unit(&[1.0, 0.0, 1.0, 0.0, 0.0, 1.0], 3);
        // Feature 0 fires on images 0 and 1 (clarity 1), feature 1 on images 0 and 2 (clarity 0).
        // Feature 2 fires on image 2 only, so it is inactive at n_min 2.
        let on = Tensor::from_slice(&[true, true, false, true, false, false, false, true, true]).view([3, 3]);
        let clarity = feature_clarity(&on, &reference, 2);
        assert!((clarity[0].unwrap() - 1.0).abs() < 1e-12);
        assert!(clarity[1].unwrap().abs() < 1e-12);
        assert_eq!(clarity[2], None);
        let (mean, count) = mean_clarity(&clarity);
        assert_eq!(count, 2);
        assert!((mean - 0.5).abs() < 1e-12);
    }

    #[test]
    fn baseline_averages_distinct_pairs() {
        // Pairs (0,1) = 1, (0,2) = 0, (1,2) = 0: mean 1/3.
        let reference = unit(&[1.0, 0.0, 1.0, 0.0, 0.0, 1.0], 3);
        assert!((random_pair_baseline(&reference) - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn top_k_keeps_highest_above_tau() {
        let code = Tensor::from_slice(&[0.9f32, 0.0, 0.5, 0.0, 0.1, 0.0]).view([3, 2]);
        let mask = top_k_mask(&code, 2, 0.001);
        let values = Vec::<bool>::try_from(mask.flatten(0, -1)).unwrap();
        assert_eq!(values, vec![true, false, true, false, false, false]);
    }
}
