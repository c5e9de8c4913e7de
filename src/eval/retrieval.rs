//! Retrieval recall@k with CLIP_benchmark's rule: a query is a hit when *any* correct item is among
//! its top k results.
//!
//! `image_retrieval_recall@k`: text queries, image results. `text_retrieval_recall@k`: image queries,
//! text results.

use std::collections::BTreeMap;

use tch::{Kind, Tensor};

/// Returns the fraction of queries (rows of `scores` [Q, N]) that have a positive (`positives`
/// [Q, N], bool) among their top k results.
pub fn recall_at_k(scores: &Tensor, positives: &Tensor, k: i64) -> f64 {
    let k = k.min(scores.size()[1]);
    let (_, top) = scores.topk(k, 1, true, true); // [Q, k]
    let hits = positives.gather(1, &top, false).any_dim(1, false);
    hits.to_kind(Kind::Float).mean(Kind::Float).double_value(&[])
}

/// Computes both retrieval directions for every k.
///
/// `scores` [T, I] contains text-image similarities and `positives` [T, I] marks the correct pairs.
pub fn retrieval_metrics(scores: &Tensor, positives: &Tensor, ks: &[i64]) -> BTreeMap<String, f64> {
    let mut metrics = BTreeMap::new();
    for &k in ks {
        metrics.insert(format!("image_retrieval_recall@{k}"), recall_at_k(scores, positives, k));
        metrics.insert(format!("text_retrieval_recall@{k}"), recall_at_k(&scores.tr(), &positives.tr(), k));
    }
    metrics
}

/// Marks text t and image i as a correct pair when their captions are equal, so duplicated captions
/// count as correct for every image they describe. Returns a bool tensor [T, I].
pub fn positives_by_caption(text_captions: &[String], image_captions: &[String]) -> Tensor {
    let mut mask = Vec::with_capacity(text_captions.len() * image_captions.len());
    for text in text_captions {
        mask.extend(image_captions.iter().map(|image| text == image));
    }
    Tensor::from_slice(&mask).view([text_captions.len() as i64, image_captions.len() as i64])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_correct_item_counts() {
        // Two images, three captions: captions 0 and 1 both describe image 0, caption 2 image 1.
        let scores = Tensor::from_slice(&[0.9f32, 0.1, 0.2, 0.8, 0.7, 0.6]).view([3, 2]);
        let positives = Tensor::from_slice(&[true, false, true, false, false, true]).view([3, 2]);
        let metrics = retrieval_metrics(&scores, &positives, &[1, 2]);
        // Text queries: caption 0 hits, caption 1 ranks image 1 first (miss), caption 2 ranks image 0 first (miss).
        assert!((metrics["image_retrieval_recall@1"] - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(metrics["image_retrieval_recall@2"], 1.0);
        // Image queries: image 0 ranks caption 0 first (hit); image 1 ranks caption 1 (0.8) first: miss.
        assert_eq!(metrics["text_retrieval_recall@1"], 0.5);
        // Image 1 at k=2 ranks captions 1 and 2 in its top 2, and caption 2 is correct.
        assert_eq!(metrics["text_retrieval_recall@2"], 1.0);
    }

    #[test]
    fn k_larger_than_candidates_is_clamped() {
        let scores = Tensor::from_slice(&[0.1f32, 0.2]).view([1, 2]);
        let positives = Tensor::from_slice(&[true, false]).view([1, 2]);
        assert_eq!(recall_at_k(&scores, &positives, 10), 1.0);
    }

    #[test]
    fn duplicate_captions_are_positives() {
        let texts = vec!["a cat".to_string(), "a dog".to_string()];
        let images = vec!["a cat".to_string(), "a cat".to_string(), "a dog".to_string()];
        let mask = positives_by_caption(&texts, &images);
        let values = Vec::<bool>::try_from(mask.flatten(0, -1)).unwrap();
        assert_eq!(values, vec![true, true, false, false, false, true]);
    }
}
