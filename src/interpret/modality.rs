//! Modality of features on a paired image-caption set.
//!
//! The modality score of feature i is m_i = S_img / (S_img + S_txt), where S sums a_i over the
//! set's images or over its captions. A feature is `image-only` when m > 0.9, `text-only` when
//! m < 0.1 and `multimodal` otherwise. A feature that never fires on the set has no score.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Score above which a feature is image-only.
pub const IMAGE_ONLY_ABOVE: f64 = 0.9;
/// Score below which a feature is text-only.
pub const TEXT_ONLY_BELOW: f64 = 0.1;

/// Modality scores of all features with their shares and histogram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModalityStats {
    /// Features with a score (those that fire on the set at least once).
    pub scored: i64,
    /// Shares of the scored features.
    pub image_only_share: f64,
    pub multimodal_share: f64,
    pub text_only_share: f64,
    /// Histogram of the scores over 10 equal bins of [0, 1].
    pub histogram: Vec<i64>,
}

/// Returns m_i for every feature from non-negative codes [N_img, D] and [N_txt, D]; None where
/// S_img + S_txt is 0.
pub fn modality_scores(image_code: &Tensor, text_code: &Tensor) -> Vec<Option<f64>> {
    // Negative parts are cut so that signed codes cannot cancel; Sparse CLIP codes are already >= 0.
    let image_sum = image_code.clamp_min(0.0).sum_dim_intlist(&[0][..], false, Kind::Double);
    let text_sum = text_code.clamp_min(0.0).sum_dim_intlist(&[0][..], false, Kind::Double);
    let image_sum = Vec::<f64>::try_from(image_sum).unwrap_or_default();
    let text_sum = Vec::<f64>::try_from(text_sum).unwrap_or_default();
    image_sum
        .iter()
        .zip(&text_sum)
        .map(|(&s_img, &s_txt)| if s_img + s_txt > 0.0 { Some(s_img / (s_img + s_txt)) } else { None })
        .collect()
}

/// Returns `image-only`, `text-only`, `multimodal`, or `inactive` for a missing score.
pub fn modality_class(score: Option<f64>) -> &'static str {
    match score {
        None => "inactive",
        Some(m) if m > IMAGE_ONLY_ABOVE => "image-only",
        Some(m) if m < TEXT_ONLY_BELOW => "text-only",
        Some(_) => "multimodal",
    }
}

/// Summarises scores into the three shares and a 10-bin histogram.
pub fn modality_stats(scores: &[Option<f64>]) -> ModalityStats {
    let scored: Vec<f64> = scores.iter().flatten().copied().collect();
    let mut histogram = vec![0i64; 10];
    for &m in &scored {
        histogram[((m * 10.0).floor() as usize).min(9)] += 1;
    }
    let share = |class: &str| {
        let count = scored.iter().filter(|&&m| modality_class(Some(m)) == class).count();
        if scored.is_empty() { 0.0 } else { count as f64 / scored.len() as f64 }
    };
    ModalityStats {
        scored: scored.len() as i64,
        image_only_share: share("image-only"),
        multimodal_share: share("multimodal"),
        text_only_share: share("text-only"),
        histogram,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_hand_made_codes() {
        // D = 4. Feature 0 fires on images only, 1 on both equally, 2 on text only, 3 never.
        let images = Tensor::from_slice(&[1.0f32, 0.5, 0.0, 0.0, 1.0, 0.5, 0.0, 0.0]).view([2, 4]);
        let texts = Tensor::from_slice(&[0.0f32, 1.0, 0.7, 0.0]).view([1, 4]);
        let scores = modality_scores(&images, &texts);
        assert_eq!(scores[0], Some(1.0));
        assert_eq!(scores[1], Some(0.5));
        assert_eq!(scores[2], Some(0.0));
        assert_eq!(scores[3], None);
    }

    #[test]
    fn classes_use_strict_thresholds() {
        assert_eq!(modality_class(Some(0.95)), "image-only");
        assert_eq!(modality_class(Some(0.9)), "multimodal");
        assert_eq!(modality_class(Some(0.1)), "multimodal");
        assert_eq!(modality_class(Some(0.05)), "text-only");
        assert_eq!(modality_class(None), "inactive");
    }

    #[test]
    fn shares_and_histogram() {
        let stats = modality_stats(&[Some(1.0), Some(0.5), Some(0.0), None]);
        assert_eq!(stats.scored, 3);
        assert!((stats.image_only_share - 1.0 / 3.0).abs() < 1e-12);
        assert!((stats.multimodal_share - 1.0 / 3.0).abs() < 1e-12);
        assert!((stats.text_only_share - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(stats.histogram, vec![1, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    }
}
