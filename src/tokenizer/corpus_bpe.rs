//! Training of a small byte-level BPE on a caption corpus, with CLIP's cleaning, pre-tokenizer,
//! `</w>` word ends and id layout.
//!
//! Training counts each distinct word once with its frequency and keeps the counts of adjacent
//! pairs up to date after each merge, touching only the words that contain the merged pair. A
//! max-heap with lazy deletion finds the most frequent pair. Ties go to the pair with the smaller
//! (first id, second id), so the same captions always give the same merges.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use super::bpe::{byte_ids, Vocab, BASE_TOKENS};
use super::text::{clean_text, pre_tokens, EOT_TEXT, SOT_TEXT};
use crate::error::{Error, Result};

/// Smallest vocabulary that training accepts: the byte tokens and the two special tokens.
pub const MIN_VOCAB_SIZE: usize = BASE_TOKENS + 2;

/// A pair must occur at least this often in the corpus to be merged. A pair seen once would only
/// spell out a single rare word and its embedding would hardly be trained.
const MIN_PAIR_COUNT: u64 = 2;

type Pair = (u32, u32);

/// Learns merges from `texts` until the vocabulary, special tokens included, has `vocab_size`
/// tokens. Returns the merges in rank order as (first, second) token strings.
///
/// Training stops early when no pair occurs at least twice, so the vocabulary can be smaller than
/// requested. Empty captions are skipped.
pub fn train_merges<S: AsRef<str>>(
    texts: &[S],
    vocab_size: usize,
) -> Result<Vec<(String, String)>> {
    if vocab_size < MIN_VOCAB_SIZE {
        return Err(Error::Tokenizer(format!(
            "corpus vocabulary size {vocab_size} is too small: it must be at least {MIN_VOCAB_SIZE} \
             (256 bytes, 256 word-final bytes and the two special tokens)"
        )));
    }

    let (mut words, frequencies) = count_words(texts);
    if words.is_empty() {
        return Err(Error::Tokenizer(format!(
            "cannot train a corpus tokenizer: none of the {} captions contains text",
            texts.len()
        )));
    }

    let mut pairs = PairIndex::new(&words, &frequencies);
    let mut vocab = Vocab::byte_level();
    let mut merges = Vec::new();
    let mut merged_pairs = HashSet::new();

    while vocab.len() + 2 < vocab_size {
        let Some((pair, count)) = pairs.pop_most_frequent() else {
            break;
        };
        if count < MIN_PAIR_COUNT {
            break;
        }

        let merged = vocab.merge(pair.0, pair.1);
        // Merging into a token string that already exists (for example "t"+"he" after "th"+"e")
        // reuses its id, and can bring back an adjacent pair that was merged before. Such a pair is
        // merged again in the training words but is not listed twice, because the encoder applies
        // it at its first rank anyway.
        if merged_pairs.insert(pair) {
            merges.push((
                vocab.string(pair.0).to_owned(),
                vocab.string(pair.1).to_owned(),
            ));
        }
        pairs.merge(pair, merged, &mut words, &frequencies);
    }
    Ok(merges)
}

/// Splits the cleaned captions into pre-tokens and returns each distinct word as base token ids,
/// sorted by its text, with its number of occurrences. Special-token text is left out because it
/// always encodes to a special token.
fn count_words<S: AsRef<str>>(texts: &[S]) -> (Vec<Vec<u32>>, Vec<u64>) {
    let mut counts: HashMap<String, u64> = HashMap::new();
    for text in texts {
        let cleaned = clean_text(text.as_ref());
        for pre_token in pre_tokens(&cleaned) {
            if pre_token == SOT_TEXT || pre_token == EOT_TEXT {
                continue;
            }
            match counts.get_mut(pre_token) {
                Some(count) => *count += 1,
                None => {
                    counts.insert(pre_token.to_owned(), 1);
                }
            }
        }
    }

    let mut sorted: Vec<(String, u64)> = counts.into_iter().collect();
    sorted.sort_unstable();
    sorted
        .into_iter()
        .map(|(word, count)| (byte_ids(&word), count))
        .unzip()
}

/// Counts of adjacent token pairs over all words, weighted by word frequency, with the words each
/// pair occurs in and a heap ordered by count.
struct PairIndex {
    counts: HashMap<Pair, u64>,
    /// Indices of words that contain or once contained each pair. An index can be listed twice, or
    /// its word can have lost the pair, so `merge` checks the word itself.
    words_of_pair: HashMap<Pair, Vec<usize>>,
    /// Entries of (count, pair), with the smaller pair first among equal counts. An entry whose
    /// count differs from `counts` is out of date and is skipped when popped.
    heap: BinaryHeap<(u64, Reverse<Pair>)>,
}

impl PairIndex {
    fn new(words: &[Vec<u32>], frequencies: &[u64]) -> PairIndex {
        let mut index = PairIndex {
            counts: HashMap::new(),
            words_of_pair: HashMap::new(),
            heap: BinaryHeap::new(),
        };
        for (word_index, (word, &frequency)) in words.iter().zip(frequencies).enumerate() {
            for pair in word.windows(2) {
                let pair = (pair[0], pair[1]);
                *index.counts.entry(pair).or_insert(0) += frequency;
                index.add_word(pair, word_index);
            }
        }
        index.heap = index
            .counts
            .iter()
            .map(|(&pair, &count)| (count, Reverse(pair)))
            .collect();
        index
    }

    fn add_word(&mut self, pair: Pair, word_index: usize) {
        let words = self.words_of_pair.entry(pair).or_default();
        if words.last() != Some(&word_index) {
            words.push(word_index);
        }
    }

    /// Removes and returns the most frequent pair with its count, or `None` when no pair is left.
    fn pop_most_frequent(&mut self) -> Option<(Pair, u64)> {
        while let Some((count, Reverse(pair))) = self.heap.pop() {
            if self.counts.get(&pair) == Some(&count) {
                return Some((pair, count));
            }
        }
        None
    }

    /// Replaces every occurrence of `pair` in the words with `merged` and updates the pair counts.
    fn merge(&mut self, pair: Pair, merged: u32, words: &mut [Vec<u32>], frequencies: &[u64]) {
        let word_indices = self.words_of_pair.remove(&pair).unwrap_or_default();
        let mut deltas: HashMap<Pair, i64> = HashMap::new();

        for word_index in word_indices {
            let word = &words[word_index];
            if !word.windows(2).any(|w| (w[0], w[1]) == pair) {
                continue;
            }
            let frequency = frequencies[word_index] as i64;

            for w in word.windows(2) {
                *deltas.entry((w[0], w[1])).or_insert(0) -= frequency;
            }
            let next = merge_pair(word, pair, merged);
            for w in next.windows(2) {
                let new_pair = (w[0], w[1]);
                *deltas.entry(new_pair).or_insert(0) += frequency;
                self.add_word(new_pair, word_index);
            }
            words[word_index] = next;
        }

        for (changed, delta) in deltas {
            if delta == 0 {
                continue;
            }
            let count = self.counts.entry(changed).or_insert(0);
            // The decrements only remove occurrences that were counted, so the sum stays >= 0.
            *count = count.saturating_add_signed(delta);
            if *count == 0 {
                self.counts.remove(&changed);
                self.words_of_pair.remove(&changed);
            } else {
                self.heap.push((*count, Reverse(changed)));
            }
        }
    }
}

/// Merges the occurrences of `pair` in `word` from left to right, as the encoder does.
fn merge_pair(word: &[u32], pair: Pair, merged: u32) -> Vec<u32> {
    let mut next = Vec::with_capacity(word.len());
    let mut i = 0;
    while i < word.len() {
        if i + 1 < word.len() && (word[i], word[i + 1]) == pair {
            next.push(merged);
            i += 2;
        } else {
            next.push(word[i]);
            i += 1;
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_merges_picks_most_frequent_pair_first() {
        let texts = ["low low low lower", "newest newest"];
        let merges = train_merges(&texts, MIN_VOCAB_SIZE + 1).unwrap();
        // "l o" occurs 4 times, more than any other pair.
        assert_eq!(merges, [("l".to_owned(), "o".to_owned())]);
    }

    #[test]
    fn train_merges_breaks_ties_by_token_id() {
        // "c d</w>" and "a b</w>" both occur twice, and "a" has the smaller id.
        let merges = train_merges(&["cd ab", "ab cd"], MIN_VOCAB_SIZE + 1).unwrap();
        assert_eq!(merges, [("a".to_owned(), "b</w>".to_owned())]);
    }

    #[test]
    fn train_merges_stops_when_pairs_run_out() {
        let merges = train_merges(&["abc abc"], 10_000).unwrap();
        let strings: Vec<String> = merges.iter().map(|(a, b)| format!("{a} {b}")).collect();
        assert_eq!(strings, ["a b", "ab c</w>"]);
    }

    #[test]
    fn train_merges_skips_pairs_seen_once() {
        let merges = train_merges(&["xyz"], 10_000).unwrap();
        assert!(merges.is_empty(), "{merges:?}");
    }

    #[test]
    fn train_merges_rejects_bad_input() {
        assert!(train_merges(&["a b"], MIN_VOCAB_SIZE - 1).is_err());
        assert!(train_merges(&["  ", ""], 1000).is_err());
        assert!(train_merges::<&str>(&[], 1000).is_err());
    }

    #[test]
    fn merge_pair_scans_left_to_right() {
        assert_eq!(merge_pair(&[1, 1, 1], (1, 1), 9), [9, 1]);
        assert_eq!(merge_pair(&[1, 2, 1, 2, 3], (1, 2), 9), [9, 9, 3]);
    }
}
