//! The CLIP contrastive loss: symmetric cross-entropy over the scaled cosine similarities of a
//! batch, with matching pairs on the diagonal.

use tch::{Kind, Reduction, Tensor};

/// Returns the symmetric InfoNCE loss.
///
/// `image_embed` and `text_embed` are L2-normalised codes [batch, D]; `logit_scale` is the log of
/// the similarity scale. The loss is the mean of the image-to-text and text-to-image cross-entropies
/// over `exp(logit_scale) * image_embed @ text_embed^T`, with pair i labelled i.
pub fn clip_loss(image_embed: &Tensor, text_embed: &Tensor, logit_scale: &Tensor) -> Tensor {
    let logits_per_image = logit_scale.exp() * image_embed.matmul(&text_embed.tr()); // [batch, batch]
    let batch = logits_per_image.size()[0];
    let labels = Tensor::arange(batch, (Kind::Int64, logits_per_image.device()));
    let image_loss = logits_per_image.cross_entropy_loss::<Tensor>(&labels, None, Reduction::Mean, -100, 0.0);
    let text_loss = logits_per_image.tr().cross_entropy_loss::<Tensor>(&labels, None, Reduction::Mean, -100, 0.0);
    (image_loss + text_loss) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: i64, values: &[f32]) -> Tensor {
        Tensor::from_slice(values).view([rows, -1])
    }

    #[test]
    fn loss_matches_hand_computed_batch() {
        // Two orthogonal unit images; text 0 matches image 0, text 1 sits at 60 degrees from both.
        let images = matrix(2, &[1.0, 0.0, 0.0, 1.0]);
        let texts = matrix(2, &[1.0, 0.0, 0.5, 0.866_025_4]);
        let logit_scale = Tensor::from(2.0f32.ln()); // scale 2
        // Similarities S = [[1, 0.5], [0, 0.866]]; logits = 2 S.
        // Image rows: -log softmax(2, 1)[0] and -log softmax(0, 1.732)[1].
        // Text rows use S^T: [[1, 0], [0.5, 0.866]].
        let lse = |a: f64, b: f64| (a.exp() + b.exp()).ln();
        let image_loss = ((lse(2.0, 1.0) - 2.0) + (lse(0.0, 1.732_050_8) - 1.732_050_8)) / 2.0;
        let text_loss = ((lse(2.0, 0.0) - 2.0) + (lse(1.0, 1.732_050_8) - 1.732_050_8)) / 2.0;
        let expected = (image_loss + text_loss) / 2.0;
        let loss = clip_loss(&images, &texts, &logit_scale).double_value(&[]);
        assert!((loss - expected).abs() < 1e-5, "loss {loss}, expected {expected}");
    }

    #[test]
    fn loss_is_symmetric_in_modalities() {
        tch::manual_seed(3);
        let a = crate::model::l2_normalize(&Tensor::randn([5, 8], (Kind::Float, tch::Device::Cpu)));
        let b = crate::model::l2_normalize(&Tensor::randn([5, 8], (Kind::Float, tch::Device::Cpu)));
        let scale = Tensor::from(3.0f32);
        let ab = clip_loss(&a, &b, &scale).double_value(&[]);
        let ba = clip_loss(&b, &a, &scale).double_value(&[]);
        assert!((ab - ba).abs() < 1e-6, "{ab} != {ba}");
    }

    #[test]
    fn perfect_alignment_beats_random() {
        tch::manual_seed(4);
        let a = crate::model::l2_normalize(&Tensor::randn([16, 32], (Kind::Float, tch::Device::Cpu)));
        let b = crate::model::l2_normalize(&Tensor::randn([16, 32], (Kind::Float, tch::Device::Cpu)));
        let scale = Tensor::from(100f32.ln());
        let aligned = clip_loss(&a, &a, &scale).double_value(&[]);
        let random = clip_loss(&a, &b, &scale).double_value(&[]);
        assert!(aligned < 0.1, "aligned loss {aligned}");
        assert!(random > 1.0, "random loss {random}");
    }

    #[test]
    fn zero_codes_give_finite_loss() {
        let zeros = crate::model::l2_normalize(&Tensor::zeros([4, 8], (Kind::Float, tch::Device::Cpu)));
        let loss = clip_loss(&zeros, &zeros, &Tensor::from(2.0f32)).double_value(&[]);
        assert!((loss - 4f64.ln()).abs() < 1e-5, "all-zero codes should give ln(batch), got {loss}");
    }
}
