//! The byte-level BPE machinery shared by the CLIP tokenizer and the corpus tokenizer: CLIP's
//! byte-to-unicode table, the vocabulary built from a merge list, the merge loop and decoding.
//!
//! Token ids follow CLIP's layout. Ids 0..256 are the 256 bytes, 256..512 the same bytes at the end
//! of a word (`</w>`), then one id per merge in rank order, then `<|startoftext|>` and
//! `<|endoftext|>`.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use super::text::{clean_text, pre_tokens, EOT_TEXT, SOT_TEXT};
use crate::error::{Error, Result};

/// Marker that CLIP appends to the last symbol of every word.
pub const END_OF_WORD: &str = "</w>";

/// Number of byte-level base tokens: each byte alone and each byte ending a word.
pub const BASE_TOKENS: usize = 512;

/// Maximum number of pre-tokens kept in the encoding cache. The cache is cleared when it is full,
/// which bounds its memory when a long run tokenizes many distinct words.
const CACHE_CAPACITY: usize = 1 << 18;

/// CLIP's byte-to-unicode table: every byte gets a printable character, so BPE tokens are strings
/// without spaces or control characters.
struct ByteTable {
    /// Bytes in vocabulary order: printable Latin-1 bytes first (`!`..`~`, `¡`..`¬`, `®`..`ÿ`), then
    /// the other bytes in ascending order.
    bytes_in_order: [u8; 256],
    /// Vocabulary id of each byte, the inverse of `bytes_in_order`.
    id_of_byte: [u32; 256],
    /// Character standing for each byte. Printable bytes stand for themselves and the others for
    /// U+0100 onwards, in ascending byte order.
    char_of_byte: [char; 256],
}

static BYTE_TABLE: LazyLock<ByteTable> = LazyLock::new(|| {
    let is_printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);

    let mut order: Vec<u8> = (0..=255u8).filter(|&b| is_printable(b)).collect();
    order.extend((0..=255u8).filter(|&b| !is_printable(b)));

    let mut char_of_byte = ['\0'; 256];
    let mut next_extra = 256u32;
    for b in 0..=255u8 {
        char_of_byte[b as usize] = if is_printable(b) {
            char::from(b)
        } else {
            next_extra += 1;
            char::from_u32(next_extra - 1).expect("U+0100..U+0143 are valid characters")
        };
    }

    let mut bytes_in_order = [0u8; 256];
    let mut id_of_byte = [0u32; 256];
    for (id, &b) in order.iter().enumerate() {
        bytes_in_order[id] = b;
        id_of_byte[b as usize] = id as u32;
    }
    ByteTable {
        bytes_in_order,
        id_of_byte,
        char_of_byte,
    }
});

/// Maps the UTF-8 bytes of a pre-token to base token ids, marking the last one as word end.
pub fn byte_ids(pre_token: &str) -> Vec<u32> {
    let table = &*BYTE_TABLE;
    let mut ids: Vec<u32> = pre_token
        .bytes()
        .map(|b| table.id_of_byte[b as usize])
        .collect();
    if let Some(last) = ids.last_mut() {
        *last += 256;
    }
    ids
}

/// Token strings and bytes by id, with a reverse map from string to id. Special tokens are not part
/// of it because the model appends them after the last merge.
#[derive(Debug, Clone)]
pub struct Vocab {
    strings: Vec<String>,
    /// Bytes each token decodes to. The end-of-word marker decodes to one space.
    bytes: Vec<Vec<u8>>,
    ids: HashMap<String, u32>,
}

impl Vocab {
    /// Creates the 512 base tokens in CLIP's order.
    pub fn byte_level() -> Vocab {
        let table = &*BYTE_TABLE;
        let mut vocab = Vocab {
            strings: Vec::with_capacity(BASE_TOKENS),
            bytes: Vec::with_capacity(BASE_TOKENS),
            ids: HashMap::with_capacity(BASE_TOKENS),
        };
        for word_end in [false, true] {
            for &b in &table.bytes_in_order {
                let mut string = table.char_of_byte[b as usize].to_string();
                let mut bytes = vec![b];
                if word_end {
                    string.push_str(END_OF_WORD);
                    bytes.push(b' ');
                }
                vocab.push(string, bytes);
            }
        }
        vocab
    }

    fn push(&mut self, string: String, bytes: Vec<u8>) -> u32 {
        let id = self.strings.len() as u32;
        self.ids.insert(string.clone(), id);
        self.strings.push(string);
        self.bytes.push(bytes);
        id
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn id(&self, token: &str) -> Option<u32> {
        self.ids.get(token).copied()
    }

    pub fn string(&self, id: u32) -> &str {
        &self.strings[id as usize]
    }

    /// Returns the id of the concatenation of tokens `first` and `second`, adding it to the
    /// vocabulary unless a token with that string already exists.
    pub fn merge(&mut self, first: u32, second: u32) -> u32 {
        let string = format!(
            "{}{}",
            self.strings[first as usize], self.strings[second as usize]
        );
        if let Some(id) = self.id(&string) {
            return id;
        }
        let mut bytes = self.bytes[first as usize].clone();
        bytes.extend_from_slice(&self.bytes[second as usize]);
        self.push(string, bytes)
    }
}

/// One entry of the merge table.
#[derive(Debug, Clone, Copy)]
struct Merge {
    /// Position in the merge list. A lower rank merges first.
    rank: u32,
    /// Id of the merged token.
    merged: u32,
}

/// A byte-level BPE model ready to encode and decode. It is immutable apart from its cache, so one
/// model can encode from several threads at once.
#[derive(Debug)]
pub struct BpeModel {
    vocab: Vocab,
    merges: HashMap<(u32, u32), Merge>,
    sot: u32,
    eot: u32,
    /// Token ids of each pre-token encoded so far.
    cache: Mutex<HashMap<String, Vec<u32>>>,
}

impl BpeModel {
    /// Builds the vocabulary and merge table from merges in rank order. Each part of a merge must be
    /// a base token or the result of an earlier merge.
    ///
    /// A merge whose result already exists adds no new token, and a pair listed twice keeps its
    /// first rank. CLIP's Python code would give a repeated result a second id and a repeated pair
    /// its last rank. CLIP's own merge list repeats neither, so both build the same 49,408 tokens.
    pub fn from_merges<'a>(
        merges: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<BpeModel> {
        let mut vocab = Vocab::byte_level();
        let mut table = HashMap::new();

        for (rank, (first, second)) in merges.into_iter().enumerate() {
            let lookup = |part: &str| {
                vocab.id(part).ok_or_else(|| {
                    Error::Tokenizer(format!(
                        "invalid merge {} (\"{first} {second}\"): \"{part}\" is neither a byte token nor \
                         the result of an earlier merge",
                        rank + 1
                    ))
                })
            };
            let first_id = lookup(first)?;
            let second_id = lookup(second)?;
            let merged = vocab.merge(first_id, second_id);
            table.entry((first_id, second_id)).or_insert(Merge {
                rank: rank as u32,
                merged,
            });
        }

        let sot = vocab.len() as u32;
        Ok(BpeModel {
            vocab,
            merges: table,
            sot,
            eot: sot + 1,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Number of token ids, special tokens included.
    pub fn vocab_size(&self) -> usize {
        self.vocab.len() + 2
    }

    pub fn sot(&self) -> u32 {
        self.sot
    }

    pub fn eot(&self) -> u32 {
        self.eot
    }

    /// Cleans `text` and encodes it without start and end tokens. Returns an empty vector when
    /// nothing is left after cleaning.
    ///
    /// As in CLIP, the literal strings `<|startoftext|>` and `<|endoftext|>` in the text encode to
    /// the special tokens.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let cleaned = clean_text(text);
        let mut ids = Vec::with_capacity(cleaned.len() / 3 + 1);
        for pre_token in pre_tokens(&cleaned) {
            self.encode_pre_token(pre_token, &mut ids);
        }
        ids
    }

    fn encode_pre_token(&self, pre_token: &str, out: &mut Vec<u32>) {
        if pre_token == SOT_TEXT {
            out.push(self.sot);
            return;
        }
        if pre_token == EOT_TEXT {
            out.push(self.eot);
            return;
        }

        let cached = self.lock_cache().get(pre_token).cloned();
        let ids = match cached {
            Some(ids) => ids,
            None => {
                let ids = self.apply_merges(byte_ids(pre_token));
                let mut cache = self.lock_cache();
                if cache.len() >= CACHE_CAPACITY {
                    cache.clear();
                }
                cache.insert(pre_token.to_owned(), ids.clone());
                ids
            }
        };
        out.extend_from_slice(&ids);
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u32>>> {
        // Every cache update is a single insert or clear, so a panic on another thread cannot leave
        // the map half-updated, and a poisoned lock is still safe to use.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs CLIP's merge loop on one word: repeatedly takes the adjacent pair with the lowest rank
    /// and merges all its occurrences from left to right, until no adjacent pair has a rank.
    pub fn apply_merges(&self, mut word: Vec<u32>) -> Vec<u32> {
        while word.len() > 1 {
            let best = word
                .windows(2)
                .filter_map(|pair| {
                    let merge = self.merges.get(&(pair[0], pair[1]))?;
                    Some((merge.rank, pair[0], pair[1], merge.merged))
                })
                .min();
            let Some((_, first, second, merged)) = best else {
                break;
            };

            let mut next = Vec::with_capacity(word.len() - 1);
            let mut i = 0;
            while i < word.len() {
                if i + 1 < word.len() && word[i] == first && word[i + 1] == second {
                    next.push(merged);
                    i += 2;
                } else {
                    next.push(word[i]);
                    i += 1;
                }
            }
            word = next;
        }
        word
    }

    /// Decodes token ids back to text, turning each end-of-word marker into a space and dropping the
    /// trailing space. Special tokens decode to their literal text. Byte sequences that are not valid
    /// UTF-8 decode to U+FFFD, as in CLIP.
    pub fn decode(&self, ids: &[i64]) -> Result<String> {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            match u32::try_from(id) {
                Ok(id) if id == self.sot => bytes.extend_from_slice(SOT_TEXT.as_bytes()),
                Ok(id) if id == self.eot => bytes.extend_from_slice(EOT_TEXT.as_bytes()),
                Ok(id) if (id as usize) < self.vocab.len() => {
                    bytes.extend_from_slice(&self.vocab.bytes[id as usize])
                }
                _ => {
                    return Err(Error::Tokenizer(format!(
                        "cannot decode token id {id}: ids must be in 0..{}",
                        self.vocab_size()
                    )))
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        Ok(text.trim_end_matches(' ').to_owned())
    }

    /// String of a token id in CLIP's notation (byte characters, `</w>` at word end).
    #[cfg(test)]
    pub fn token_string(&self, id: u32) -> Option<&str> {
        match id {
            id if id == self.sot => Some(SOT_TEXT),
            id if id == self.eot => Some(EOT_TEXT),
            id if (id as usize) < self.vocab.len() => Some(self.vocab.string(id)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_table_matches_clip_layout() {
        let vocab = Vocab::byte_level();
        assert_eq!(vocab.len(), BASE_TOKENS);
        assert_eq!(vocab.string(0), "!");
        assert_eq!(vocab.string(93), "~");
        assert_eq!(vocab.string(94), "¡");
        assert_eq!(vocab.string(188), "Ā");
        assert_eq!(vocab.string(256), "!</w>");
        assert_eq!(vocab.id("Ġ</w>"), Some(256 + 188 + 32));
        assert_eq!(BYTE_TABLE.char_of_byte[b' ' as usize], 'Ġ');
    }

    #[test]
    fn byte_ids_mark_word_end() {
        assert_eq!(byte_ids("a"), vec![256 + 64]);
        assert_eq!(byte_ids("ab"), vec![64, 256 + 65]);
        assert!(byte_ids("").is_empty());
    }

    #[test]
    fn from_merges_rejects_unknown_part() {
        let err = BpeModel::from_merges([("a", "b"), ("abc", "d")]).unwrap_err();
        assert!(err.to_string().contains("invalid merge 2"), "{err}");
    }

    #[test]
    fn apply_merges_uses_lowest_rank_first() {
        let model = BpeModel::from_merges([("b", "c</w>"), ("a", "b"), ("a", "bc</w>")]).unwrap();
        let abc = model.apply_merges(byte_ids("abc"));
        assert_eq!(abc.len(), 1);
        assert_eq!(model.token_string(abc[0]), Some("abc</w>"));

        // "a a a" merges the first pair only, as CLIP's left-to-right scan does.
        let model = BpeModel::from_merges([("a", "a")]).unwrap();
        let aaa = model.apply_merges(byte_ids("aaa"));
        let strings: Vec<_> = aaa
            .iter()
            .map(|&id| model.token_string(id).unwrap())
            .collect();
        assert_eq!(strings, ["aa", "a</w>"]);
    }

    #[test]
    fn decode_rejects_out_of_range_ids() {
        let model = BpeModel::from_merges([("a", "b")]).unwrap();
        assert_eq!(model.vocab_size(), 515);
        assert!(model.decode(&[515]).is_err());
        assert!(model.decode(&[-1]).is_err());
        assert_eq!(
            model.decode(&[513, 514]).unwrap(),
            "<|startoftext|><|endoftext|>"
        );
    }
}
