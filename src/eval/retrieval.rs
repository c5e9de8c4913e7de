//! Retrieval recall@k with CLIP_benchmark's rule: a query is a hit when *any* correct item is among
//! its top k results.
//!
//! `image_retrieval_recall@k`: text queries, image results. `text_retrieval_recall@k`: image queries,
//! text results.

use std::collections::{BTreeMap, HashMap};

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

/// Marks text t and image i as a correct pair when the text is one of the image's captions, so a
/// caption shared by several images counts as correct for each of them. Returns a bool tensor [T, I].
pub fn positives_by_captions(texts: &[String], image_captions: &[Vec<String>]) -> Tensor {
    let mut images_of: HashMap<&str, Vec<usize>> = HashMap::new();
    for (image, captions) in image_captions.iter().enumerate() {
        for caption in captions {
            images_of.entry(caption.as_str()).or_default().push(image);
        }
    }
    let n_images = image_captions.len();
    let mut mask = vec![false; texts.len() * n_images];
    for (t, text) in texts.iter().enumerate() {
        for &image in images_of.get(text.as_str()).map(Vec::as_slice).unwrap_or(&[]) {
            mask[t * n_images + image] = true;
        }
    }
    Tensor::from_slice(&mask).view([texts.len() as i64, n_images as i64])
}

/// Returns the expected recall@k of a ranking drawn at random, for `positives` [Q, N]: the mean over
/// queries of 1 - C(N - p, k) / C(N, k), where p is the query's number of correct items.
pub fn chance_recall(positives: &Tensor, k: i64) -> f64 {
    let n = positives.size()[1];
    let counts = Vec::<i64>::try_from(positives.sum_dim_intlist(&[1][..], false, Kind::Int64)).unwrap_or_default();
    if counts.is_empty() {
        return 0.0;
    }
    let miss_probability = |p: i64| (0..k.min(n)).map(|j| ((n - p - j).max(0) as f64) / ((n - j) as f64)).product::<f64>();
    counts.iter().map(|&p| 1.0 - miss_probability(p)).sum::<f64>() / counts.len() as f64
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
    fn shared_captions_are_positives() {
        let texts = vec!["a cat".to_string(), "a dog".to_string()];
        let images = vec![vec!["a cat".to_string()], vec!["a cat".to_string(), "kitten".to_string()], vec!["a dog".to_string()]];
        let mask = positives_by_captions(&texts, &images);
        let values = Vec::<bool>::try_from(mask.flatten(0, -1)).unwrap();
        assert_eq!(values, vec![true, true, false, false, false, true]);
    }

    #[test]
    fn several_captions_per_image() {
        // Two images with two captions each: texts 0, 1 describe image 0 and texts 2, 3 image 1.
        let images = vec![vec!["dog".to_string(), "dog face".to_string()], vec!["cat".to_string(), "cat face".to_string()]];
        let texts: Vec<String> = images.iter().flatten().cloned().collect();
        let positives = positives_by_captions(&texts, &images);
        // Text 1 ("dog face") prefers image 1, the others rank their own image first.
        let scores = Tensor::from_slice(&[0.9f32, 0.1, 0.3, 0.6, 0.2, 0.8, 0.1, 0.7]).view([4, 2]);
        let metrics = retrieval_metrics(&scores, &positives, &[1]);
        assert_eq!(metrics["image_retrieval_recall@1"], 0.75);
        // Image 0's best text is text 0 (0.9, correct); image 1's best is text 2 (0.8, correct).
        assert_eq!(metrics["text_retrieval_recall@1"], 1.0);
    }

    #[test]
    fn chance_recall_matches_formula() {
        // One query, one positive among 4: recall@1 = 1/4, recall@2 = 1 - (3/4)(2/3) = 1/2.
        let positives = Tensor::from_slice(&[true, false, false, false]).view([1, 4]);
        assert!((chance_recall(&positives, 1) - 0.25).abs() < 1e-12);
        assert!((chance_recall(&positives, 2) - 0.5).abs() < 1e-12);
        // Two positives among 4 at k = 1: 1/2.
        let two = Tensor::from_slice(&[true, true, false, false]).view([1, 4]);
        assert!((chance_recall(&two, 1) - 0.5).abs() < 1e-12);
    }
}
