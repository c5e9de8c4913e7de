//! Sparsity of codes: `l0`, active and dead features.
//!
//! Definitions read the L2-normalised code a(x). Feature i is on for input x when a_i(x) > tau
//! (|a_i(x)| > tau for the heads whose codes can be negative, `dense` and `l1`). `l0` is the mean
//! number of features on per input. Feature i is *active* when it is on for at least `n_min` inputs
//! (images and texts together) and *dead* when it is on for none. A feature's *density* on a set is
//! the fraction of its inputs the feature is on for.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// The activation threshold tau used by default (the value of the Sparse CLIP paper).
pub const DEFAULT_TAU: f64 = 0.001;
/// Inputs a feature must fire on to count as active, by default.
pub const DEFAULT_N_MIN: i64 = 2;

/// Sparsity statistics of one image set and one text set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SparsityStats {
    /// Description of the code the numbers read and of the rule for "on".
    pub code: String,
    pub tau: f64,
    pub n_min: i64,
    /// Code width D.
    pub code_dim: i64,
    pub l0_image: f64,
    pub l0_image_fraction: f64,
    pub l0_text: f64,
    pub l0_text_fraction: f64,
    pub active_fraction: f64,
    pub dead_fraction: f64,
    /// Inputs whose code is all zero (their similarity to everything is defined as 0).
    pub zero_code_images: i64,
    pub zero_code_texts: i64,
}

/// Checks an activation threshold given by a user: finite and at least 0.
pub fn validate_tau(tau: f64) -> crate::error::Result<()> {
    if tau.is_finite() && tau >= 0.0 {
        Ok(())
    } else {
        Err(crate::error::Error::Config(format!("--tau {tau} is invalid: it must be a finite number >= 0")))
    }
}

/// Returns a bool mask [N, D] of the features that are on.
pub fn on_mask(embed: &Tensor, tau: f64, signed: bool) -> Tensor {
    if signed {
        embed.abs().gt(tau)
    } else {
        embed.gt(tau)
    }
}

/// Computes [`SparsityStats`] from normalised codes [N_img, D] and [N_txt, D].
///
/// `signed` selects |a_i| > tau, for codes that can be negative.
pub fn sparsity_stats(image_embed: &Tensor, text_embed: &Tensor, tau: f64, n_min: i64, signed: bool) -> SparsityStats {
    let code_dim = image_embed.size()[1];
    let image_on = on_mask(image_embed, tau, signed);
    let text_on = on_mask(text_embed, tau, signed);
    let l0 = |on: &Tensor| on.sum_dim_intlist(&[1][..], false, Kind::Float).mean(Kind::Float).double_value(&[]);
    let zero_codes = |on: &Tensor| on.any_dim(1, false).logical_not().sum(Kind::Int64).int64_value(&[]);
    // |I_i|: inputs on for feature i, over both modalities.
    let counts = image_on.sum_dim_intlist(&[0][..], false, Kind::Int64) + text_on.sum_dim_intlist(&[0][..], false, Kind::Int64);
    let fraction = |mask: Tensor| mask.to_kind(Kind::Float).mean(Kind::Float).double_value(&[]);
    let l0_image = l0(&image_on);
    let l0_text = l0(&text_on);
    SparsityStats {
        code: if signed {
            "L2-normalised code, |a_i| > tau".into()
        } else {
            "L2-normalised code, a_i > tau".into()
        },
        tau,
        n_min,
        code_dim,
        l0_image,
        l0_image_fraction: l0_image / code_dim as f64,
        l0_text,
        l0_text_fraction: l0_text / code_dim as f64,
        active_fraction: fraction(counts.ge(n_min)),
        dead_fraction: fraction(counts.eq(0)),
        zero_code_images: zero_codes(&image_on),
        zero_code_texts: zero_codes(&text_on),
    }
}

/// Lower edge of the first density bin, as log10(density).
pub const DENSITY_LOG10_MIN: f64 = -5.0;
/// Width of a density bin, in log10 units.
pub const DENSITY_BIN_WIDTH: f64 = 0.5;

/// Histogram of feature densities on one modality, over log10(density) bins from 10^-5 to 1.
/// Densities below 10^-5 fall into the first bin; dead features (density 0) are counted apart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DensityHistogram {
    pub modality: String,
    /// Inputs the densities were measured on.
    pub inputs: i64,
    /// Bin edges as log10(density), one more than `counts`.
    pub bin_edges_log10: Vec<f64>,
    pub counts: Vec<i64>,
    pub dead: i64,
}

/// Returns each feature's density: the fraction of the rows of an on-mask [N, D] it is on for.
pub fn feature_density(on: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(on.to_kind(Kind::Double).mean_dim(&[0][..], false, Kind::Double)).unwrap_or_default()
}

/// Computes the density histogram of the features of an on-mask [N, D].
pub fn density_histogram(on: &Tensor, modality: &str) -> DensityHistogram {
    let inputs = on.size()[0];
    let bins = ((0.0 - DENSITY_LOG10_MIN) / DENSITY_BIN_WIDTH).round() as usize;
    let densities = feature_density(on);
    let mut counts = vec![0i64; bins];
    let mut dead = 0;
    for density in densities {
        if density <= 0.0 {
            dead += 1;
            continue;
        }
        let bin = ((density.log10() - DENSITY_LOG10_MIN) / DENSITY_BIN_WIDTH).floor().max(0.0) as usize;
        counts[bin.min(bins - 1)] += 1;
    }
    DensityHistogram {
        modality: modality.to_string(),
        inputs,
        bin_edges_log10: (0..=bins).map(|i| DENSITY_LOG10_MIN + i as f64 * DENSITY_BIN_WIDTH).collect(),
        counts,
        dead,
    }
}

/// Draws density histograms as one SVG bar chart: a "dead" bar, then one bar per bin and modality.
pub fn density_svg(histograms: &[DensityHistogram], title: &str) -> String {
    let mut bars = Vec::new();
    for histogram in histograms {
        bars.push((format!("{} dead", histogram.modality), histogram.dead as f64));
        for (i, &count) in histogram.counts.iter().enumerate() {
            bars.push((format!("{} 1e{:.1}", histogram.modality, histogram.bin_edges_log10[i]), count as f64));
        }
    }
    let axes = crate::plot::Axes {
        title: title.to_string(),
        x_label: "feature density (fraction of inputs on), lower bin edge".into(),
        y_label: "features".into(),
        log_x: false,
    };
    crate::plot::bar_chart_svg(&axes, &bars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_codes() {
        // D = 4. Images: feature 0 on twice, feature 1 once. Texts: feature 1 once, one zero code.
        let images = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 0.0, 0.6, 0.8, 0.0, 0.0]).view([2, 4]);
        let texts = Tensor::from_slice(&[0.0f32, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]).view([2, 4]);
        let stats = sparsity_stats(&images, &texts, DEFAULT_TAU, 2, false);
        assert_eq!(stats.l0_image, 1.5);
        assert_eq!(stats.l0_text, 0.5);
        assert_eq!(stats.l0_image_fraction, 1.5 / 4.0);
        assert_eq!(stats.active_fraction, 0.5, "features 0 and 1 fire twice");
        assert_eq!(stats.dead_fraction, 0.5, "features 2 and 3 never fire");
        assert_eq!(stats.zero_code_texts, 1);
        assert_eq!(stats.zero_code_images, 0);
    }

    #[test]
    fn threshold_is_strict() {
        let images = Tensor::from_slice(&[0.001f32, 0.0011]).view([1, 2]);
        let stats = sparsity_stats(&images, &images, 0.001, 1, false);
        assert_eq!(stats.l0_image, 1.0);
    }

    #[test]
    fn signed_codes_count_negative_values() {
        let images = Tensor::from_slice(&[-0.5f32, 0.5]).view([1, 2]);
        assert_eq!(sparsity_stats(&images, &images, 0.001, 1, true).l0_image, 2.0);
        assert_eq!(sparsity_stats(&images, &images, 0.001, 1, false).l0_image, 1.0);
    }

    #[test]
    fn density_histogram_bins() {
        // 100 inputs, D = 4: feature 0 on for all (density 1), feature 1 for 10 (0.1), feature 2
        // for 1 (0.01), feature 3 never.
        let mut values = vec![false; 400];
        for row in 0..100 {
            values[row * 4] = true;
        }
        for row in 0..10 {
            values[row * 4 + 1] = true;
        }
        values[2] = true;
        let on = Tensor::from_slice(&values).view([100, 4]);
        let histogram = density_histogram(&on, "image");
        assert_eq!(histogram.inputs, 100);
        assert_eq!(histogram.dead, 1);
        assert_eq!(histogram.counts.len(), 10);
        assert_eq!(histogram.bin_edges_log10.len(), 11);
        assert_eq!(histogram.counts.iter().sum::<i64>(), 3);
        // log10 1 = 0 is clamped into the last bin [-0.5, 0]; log10 0.1 = -1 opens bin [-1, -0.5);
        // log10 0.01 = -2 opens bin [-2, -1.5).
        assert_eq!(histogram.counts[9], 1);
        assert_eq!(histogram.counts[8], 1);
        assert_eq!(histogram.counts[6], 1);
    }
}
