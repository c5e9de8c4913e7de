//! Zero-shot classification with prompt-template ensembles.
//!
//! A class embedding is the normalised mean of the normalised embeddings of the class name filled
//! into each template. An image is classified by its cosine similarity to every class embedding.

use std::collections::BTreeMap;

use tch::{Kind, Tensor};

use crate::model::l2_normalize;

/// Averages prompt embeddings into class embeddings.
///
/// `prompt_embed` [C * T, D] contains the normalised embeddings of C classes times T templates, class
/// by class. Returns [C, D].
pub fn ensemble_classes(prompt_embed: &Tensor, num_templates: i64) -> Tensor {
    let dim = prompt_embed.size()[1];
    let per_class = l2_normalize(prompt_embed).view([-1, num_templates, dim]);
    l2_normalize(&per_class.mean_dim(&[1][..], false, Kind::Float))
}

/// Returns `acc1`, `acc5` and `mean_per_class_recall` for logits [N, C] and targets [N].
pub fn classification_metrics(logits: &Tensor, targets: &Tensor) -> BTreeMap<String, f64> {
    let num_classes = logits.size()[1];
    let mut metrics = BTreeMap::new();
    for k in [1i64, 5] {
        let (_, top) = logits.topk(k.min(num_classes), 1, true, true);
        let hit = top.eq_tensor(&targets.unsqueeze(1)).any_dim(1, false);
        metrics.insert(format!("acc{k}"), hit.to_kind(Kind::Float).mean(Kind::Float).double_value(&[]));
    }
    let predicted = logits.argmax(1, false);
    let correct = predicted.eq_tensor(targets).to_kind(Kind::Float);
    let mut recalls = Vec::new();
    for class in 0..num_classes {
        let members = targets.eq(class);
        let count = members.sum(Kind::Int64).int64_value(&[]);
        if count > 0 {
            let hits = correct.masked_select(&members).sum(Kind::Float).double_value(&[]);
            recalls.push(hits / count as f64);
        }
    }
    let mean_recall = if recalls.is_empty() { 0.0 } else { recalls.iter().sum::<f64>() / recalls.len() as f64 };
    metrics.insert("mean_per_class_recall".into(), mean_recall);
    metrics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_accuracy() {
        // Three images, three classes. Image 0 -> class 0 (right), image 1 -> class 0 (wrong, true 1,
        // second best), image 2 -> class 2 (right).
        let logits = Tensor::from_slice(&[0.9f32, 0.1, 0.0, 0.6, 0.5, 0.1, 0.0, 0.2, 0.8]).view([3, 3]);
        let targets = Tensor::from_slice(&[0i64, 1, 2]);
        let metrics = classification_metrics(&logits, &targets);
        assert!((metrics["acc1"] - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(metrics["acc5"], 1.0, "top-5 covers all three classes");
        assert!((metrics["mean_per_class_recall"] - 2.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn mean_per_class_recall_weights_classes_equally() {
        // Class 0 has three images, all right; class 1 has one image, wrong.
        let logits = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]).view([4, 2]);
        let targets = Tensor::from_slice(&[0i64, 0, 0, 1]);
        let metrics = classification_metrics(&logits, &targets);
        assert_eq!(metrics["acc1"], 0.75);
        assert_eq!(metrics["mean_per_class_recall"], 0.5);
    }

    #[test]
    fn ensemble_is_normalised_mean_of_normalised_prompts() {
        // One class, two templates: [2, 0] and [0, 1] normalise to [1, 0] and [0, 1]; their mean
        // [0.5, 0.5] normalises to [0.7071, 0.7071]. Without the inner normalisation it would lean to x.
        let prompts = Tensor::from_slice(&[2.0f32, 0.0, 0.0, 1.0]).view([2, 2]);
        let class = ensemble_classes(&prompts, 2);
        let values = Vec::<f32>::try_from(class.flatten(0, -1)).unwrap();
        assert!((values[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert!((values[1] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    }
}
