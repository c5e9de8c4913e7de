//! Naming features: each active feature gets its top-activating vocabulary words (the first is its
//! name), its top images and its top captions from an image-caption set.

use tch::{Kind, Tensor};

use crate::eval::sparsity::feature_density;
use crate::interpret::card::{FeatureCard, ScoredImage, ScoredText};
use crate::interpret::codes::EncodedSet;
use crate::interpret::modality::{modality_class, modality_scores};

/// Name given to a feature that no vocabulary word activates above tau.
pub const UNNAMED: &str = "(no word)";

/// How many entries each card lists, and the rules for "on" and "active".
#[derive(Clone, Debug)]
pub struct NamingOptions {
    pub top_words: usize,
    pub top_images: usize,
    pub top_captions: usize,
    /// Activation threshold tau.
    pub tau: f64,
    /// Inputs (images and captions together) a feature must fire on to get a card.
    pub n_min: i64,
}

impl Default for NamingOptions {
    fn default() -> Self {
        NamingOptions { top_words: 10, top_images: 9, top_captions: 5, tau: crate::eval::DEFAULT_TAU, n_min: crate::eval::DEFAULT_N_MIN }
    }
}

/// Returns, for every feature (column of `values` [M, D]), up to `k` (row, value) pairs with the
/// highest values above `tau`, highest first.
pub fn top_per_feature(values: &Tensor, k: usize, tau: f64) -> Vec<Vec<(usize, f64)>> {
    let (rows, features) = (values.size()[0], values.size()[1]);
    if rows == 0 || k == 0 {
        return vec![Vec::new(); features as usize];
    }
    let (top_values, top_rows) = values.to_kind(Kind::Double).topk((k as i64).min(rows), 0, true, true); // [k, D]
    let top_values = Vec::<f64>::try_from(top_values.tr().contiguous().flatten(0, -1)).unwrap_or_default();
    let top_rows = Vec::<i64>::try_from(top_rows.tr().contiguous().flatten(0, -1)).unwrap_or_default();
    let per_feature = top_values.len() / features.max(1) as usize;
    (0..features as usize)
        .map(|feature| {
            let range = feature * per_feature..(feature + 1) * per_feature;
            top_rows[range.clone()]
                .iter()
                .zip(&top_values[range])
                .filter(|(_, &value)| value > tau)
                .map(|(&row, &value)| (row as usize, value))
                .collect()
        })
        .collect()
}

/// Returns the top word of each feature (column of `word_embed` [W, D]), or [`UNNAMED`].
pub fn name_features(words: &[String], word_embed: &Tensor, tau: f64) -> Vec<String> {
    top_per_feature(word_embed, 1, tau)
        .into_iter()
        .map(|top| top.first().map_or_else(|| UNNAMED.to_string(), |&(row, _)| words[row].clone()))
        .collect()
}

/// Builds the card of every active feature of a set, in index order.
pub fn build_cards(set: &EncodedSet, words: &[String], word_embed: &Tensor, options: &NamingOptions) -> Vec<FeatureCard> {
    let tau = options.tau;
    let image_on = set.image_embed.gt(tau);
    let text_on = set.text_embed.gt(tau);
    let counts = image_on.sum_dim_intlist(&[0][..], false, Kind::Int64) + text_on.sum_dim_intlist(&[0][..], false, Kind::Int64);
    let counts = Vec::<i64>::try_from(counts).unwrap_or_default();
    let (density_image, density_text) = (feature_density(&image_on), feature_density(&text_on));
    let modality = modality_scores(&set.image_embed, &set.text_embed);

    let top_words = top_per_feature(word_embed, options.top_words, tau);
    let top_images = top_per_feature(&set.image_embed, options.top_images, tau);
    // Captions repeat (one image may share its caption with others), so take extra and dedupe.
    let top_captions = top_per_feature(&set.text_embed, options.top_captions * 4, tau);

    let mut cards = Vec::new();
    for (index, &count) in counts.iter().enumerate() {
        if count < options.n_min {
            continue;
        }
        let words_of: Vec<ScoredText> = top_words[index].iter().map(|&(row, value)| ScoredText { text: words[row].clone(), value }).collect();
        let mut captions: Vec<ScoredText> = Vec::new();
        for &(row, value) in &top_captions[index] {
            if captions.len() < options.top_captions && !captions.iter().any(|c| c.text == set.texts[row]) {
                captions.push(ScoredText { text: set.texts[row].clone(), value });
            }
        }
        cards.push(FeatureCard {
            index: index as i64,
            name: words_of.first().map_or_else(|| UNNAMED.to_string(), |w| w.text.clone()),
            top_words: words_of,
            top_images: top_images[index]
                .iter()
                .map(|&(row, value)| ScoredImage { path: set.paths[row].display().to_string(), caption: set.image_captions[row].clone(), value })
                .collect(),
            top_captions: captions,
            modality: modality[index],
            modality_class: modality_class(modality[index]).to_string(),
            density_image: density_image[index],
            density_text: density_text[index],
        });
    }
    cards
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Vec<String> {
        ["cat", "dog", "car"].iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn name_is_top_word() {
        // Feature 0 prefers "dog", feature 1 "car", feature 2 no word above tau.
        let word_embed = Tensor::from_slice(&[0.1f32, 0.0, 0.0, 0.8, 0.2, 0.0, 0.0, 0.9, 0.0005]).view([3, 3]);
        assert_eq!(name_features(&words(), &word_embed, 0.001), vec!["dog", "car", UNNAMED]);
    }

    #[test]
    fn top_entries_are_sorted_and_thresholded() {
        let values = Tensor::from_slice(&[0.2f32, 0.7, 0.0]).view([3, 1]);
        assert_eq!(top_per_feature(&values, 3, 0.001), vec![vec![(1, 0.699999988079071), (0, 0.20000000298023224)]]);
    }

    #[test]
    fn cards_cover_active_features_only() {
        // Two images, two captions, D = 3. Feature 2 never fires.
        let set = EncodedSet {
            image_embed: Tensor::from_slice(&[1.0f32, 0.0, 0.0, 0.6, 0.8, 0.0]).view([2, 3]),
            text_embed: Tensor::from_slice(&[0.0f32, 1.0, 0.0, 0.0, 1.0, 0.0]).view([2, 3]),
            texts: vec!["a cat".into(), "a cat".into()],
            paths: vec!["0.png".into(), "1.png".into()],
            image_captions: vec!["a cat".into(), "a dog".into()],
        };
        let word_embed = Tensor::from_slice(&[0.9f32, 0.1, 0.0, 0.1, 0.9, 0.0, 0.0, 0.0, 0.0]).view([3, 3]);
        let cards = build_cards(&set, &words(), &word_embed, &NamingOptions::default());
        assert_eq!(cards.len(), 2);
        assert_eq!(cards[0].name, "cat");
        assert_eq!(cards[1].name, "dog");
        assert_eq!(cards[0].top_images[0].path, "0.png");
        assert_eq!(cards[0].modality, Some(1.0), "feature 0 fires on images only");
        assert_eq!(cards[1].top_captions.len(), 1, "repeated captions are listed once");
        assert_eq!(cards[1].density_text, 1.0);
    }
}
