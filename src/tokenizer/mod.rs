//! Tokenizers that turn captions into text-tower input: OpenAI CLIP's BPE (49,408 tokens) and a
//! smaller byte-level BPE trained on the corpus for tiny models.
//!
//! Both clean text the same way (see [`clean_text`]), split it with CLIP's pre-tokenizer and mark
//! word ends with `</w>`. Both put the start-of-text and end-of-text tokens at the last two ids, so
//! the end-of-text token has the largest id and the text tower can find it as the argmax of a row. [`Tokenizer::tokenize`] returns open_clip's layout:
//! `[SOT, tokens..., EOT, 0, 0, ...]`.

mod bpe;
mod clip_bpe;
mod corpus_bpe;
mod text;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use self::bpe::BpeModel;
pub use self::clip_bpe::CLIP_VOCAB_SIZE;
pub use self::corpus_bpe::MIN_VOCAB_SIZE as MIN_CORPUS_VOCAB_SIZE;
pub use self::text::clean_text;
use crate::error::{Error, Result};

/// Context length of OpenAI CLIP's text tower.
pub const CLIP_CONTEXT_LENGTH: usize = 77;

/// Id that pads a tokenized caption after its end-of-text token, as in CLIP. In CLIP's vocabulary
/// it is also the id of `!`, so only its position after the end-of-text token marks it as padding.
pub const PAD_ID: i64 = 0;

/// The serialized form of a tokenizer: what it is and the data needed to rebuild it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TokenizerSpec {
    /// OpenAI CLIP's tokenizer. Its merge list is built into the binary.
    ClipBpe,
    /// A BPE trained on a corpus.
    Corpus {
        /// Merges in rank order, each as `"first second"`. Tokens never contain a space because
        /// the byte-to-unicode table maps the space byte to `Ġ`.
        merges: Vec<String>,
    },
}

/// A ready-to-use tokenizer. Cloning is cheap and clones share the encoding cache, and one
/// tokenizer can encode from several threads at once.
///
/// It serializes as its [`TokenizerSpec`], e.g. `{"kind":"clip_bpe"}`, and deserializing rebuilds
/// the vocabulary and merge table once.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "TokenizerSpec", into = "TokenizerSpec")]
pub struct Tokenizer {
    spec: TokenizerSpec,
    model: Arc<BpeModel>,
}

impl Tokenizer {
    /// Returns OpenAI CLIP's tokenizer. The first call in a process builds its tables (tens of
    /// milliseconds), and later calls share them.
    pub fn clip() -> Result<Tokenizer> {
        Ok(Tokenizer {
            spec: TokenizerSpec::ClipBpe,
            model: clip_bpe::clip_model()?,
        })
    }

    /// Trains a byte-level BPE on `texts` with at most `vocab_size` token ids, special tokens
    /// included. Training stops early when no pair of tokens occurs twice, so the result can be
    /// smaller. [`Tokenizer::vocab_size`] returns the actual size. Empty captions are skipped.
    pub fn train_corpus<S: AsRef<str>>(texts: &[S], vocab_size: usize) -> Result<Tokenizer> {
        let merges = corpus_bpe::train_merges(texts, vocab_size)?;
        let merges = merges
            .into_iter()
            .map(|(first, second)| format!("{first} {second}"))
            .collect();
        Tokenizer::from_spec(TokenizerSpec::Corpus { merges })
    }

    /// Builds a tokenizer from its serialized form, checking a corpus merge list.
    pub fn from_spec(spec: TokenizerSpec) -> Result<Tokenizer> {
        let model = match &spec {
            TokenizerSpec::ClipBpe => clip_bpe::clip_model()?,
            TokenizerSpec::Corpus { merges } => Arc::new(build_corpus_model(merges)?),
        };
        Ok(Tokenizer { spec, model })
    }

    /// Returns the serialized form.
    pub fn spec(&self) -> &TokenizerSpec {
        &self.spec
    }

    /// Number of token ids, special tokens included. The embedding table needs this many rows.
    pub fn vocab_size(&self) -> usize {
        self.model.vocab_size()
    }

    /// Id of the start-of-text token, the second-largest id.
    pub fn sot(&self) -> i64 {
        i64::from(self.model.sot())
    }

    /// Id of the end-of-text token, the largest id.
    pub fn eot(&self) -> i64 {
        i64::from(self.model.eot())
    }

    /// Cleans `text` and encodes it, without start-of-text and end-of-text tokens.
    ///
    /// As in CLIP, the literal strings `<|startoftext|>` and `<|endoftext|>` in a caption encode to
    /// the special tokens.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when nothing is left of `text` after cleaning, because every caption
    /// must contain some text.
    pub fn encode(&self, text: &str) -> Result<Vec<i64>> {
        let ids = self.model.encode(text);
        if ids.is_empty() {
            return Err(Error::Tokenizer(format!(
                "caption {} is empty after whitespace cleanup; every caption must contain text",
                quote_prefix(text)
            )));
        }
        Ok(ids.into_iter().map(i64::from).collect())
    }

    /// Encodes `text` into exactly `context_length` ids: start-of-text, the caption's tokens,
    /// end-of-text, then [`PAD_ID`] up to the length. A caption too long to fit is cut, and its
    /// last id is replaced by end-of-text, as OpenAI CLIP's `clip.tokenize(..., truncate=True)` does.
    /// So end-of-text is always present.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] when `context_length` is below 2 or the caption is empty after cleaning.
    pub fn tokenize(&self, text: &str, context_length: usize) -> Result<Vec<i64>> {
        check_context_length(context_length)?;
        let mut ids = Vec::with_capacity(context_length.max(2));
        ids.push(self.sot());
        ids.extend(self.encode(text)?);
        ids.push(self.eot());

        if ids.len() > context_length {
            ids.truncate(context_length);
            ids[context_length - 1] = self.eot();
        }
        ids.resize(context_length, PAD_ID);
        Ok(ids)
    }

    /// Tokenizes each caption as [`Tokenizer::tokenize`] does and returns the rows one after
    /// another: `texts.len() * context_length` ids in row-major order.
    ///
    /// # Errors
    /// The first caption that fails, with its index in `texts`.
    pub fn tokenize_batch<S: AsRef<str>>(
        &self,
        texts: &[S],
        context_length: usize,
    ) -> Result<Vec<i64>> {
        check_context_length(context_length)?;
        let mut ids = Vec::with_capacity(texts.len() * context_length);
        for (index, text) in texts.iter().enumerate() {
            let row = self
                .tokenize(text.as_ref(), context_length)
                .map_err(|e| match e {
                    Error::Tokenizer(message) => {
                        Error::Tokenizer(format!("caption {index} of the batch: {message}"))
                    }
                    other => other,
                })?;
            ids.extend(row);
        }
        Ok(ids)
    }

    /// Decodes token ids to text. Word ends become spaces and the final space is dropped. Special
    /// tokens decode to their literal text and padding decodes as its token (`!` for CLIP), so
    /// decode a [`Tokenizer::tokenize`] row by passing the ids between start-of-text and the first
    /// end-of-text.
    ///
    /// Pre-tokens written together decode with a space between them ("dog's" decodes to "dog 's"),
    /// as in CLIP.
    ///
    /// # Errors
    /// [`Error::Tokenizer`] for an id outside `0..vocab_size()`.
    pub fn decode(&self, ids: &[i64]) -> Result<String> {
        self.model.decode(ids)
    }

    /// Writes the tokenizer as JSON to `path`. The file is written to a temporary file next to it,
    /// flushed to disk and renamed, so a crash never leaves a partial file at `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)?;
        write_atomically(path, &json)
    }

    /// Reads a tokenizer written by [`Tokenizer::save`].
    pub fn load(path: &Path) -> Result<Tokenizer> {
        let json =
            std::fs::read(path).map_err(|e| Error::io("failed to read tokenizer file", path, e))?;
        serde_json::from_slice(&json).map_err(|e| {
            Error::Tokenizer(format!("invalid tokenizer file {}: {e}", path.display()))
        })
    }
}

impl TryFrom<TokenizerSpec> for Tokenizer {
    type Error = Error;

    fn try_from(spec: TokenizerSpec) -> Result<Tokenizer> {
        Tokenizer::from_spec(spec)
    }
}

impl From<Tokenizer> for TokenizerSpec {
    fn from(tokenizer: Tokenizer) -> TokenizerSpec {
        tokenizer.spec
    }
}

impl PartialEq for Tokenizer {
    fn eq(&self, other: &Tokenizer) -> bool {
        self.spec == other.spec
    }
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.spec {
            TokenizerSpec::ClipBpe => "clip_bpe",
            TokenizerSpec::Corpus { .. } => "corpus",
        };
        f.debug_struct("Tokenizer")
            .field("kind", &kind)
            .field("vocab_size", &self.vocab_size())
            .finish()
    }
}

fn build_corpus_model(merges: &[String]) -> Result<BpeModel> {
    let mut pairs = Vec::with_capacity(merges.len());
    for (index, merge) in merges.iter().enumerate() {
        match merge.split_once(' ') {
            Some((first, second))
                if !first.is_empty() && !second.is_empty() && !second.contains(' ') =>
            {
                pairs.push((first, second))
            }
            _ => {
                return Err(Error::Tokenizer(format!(
                    "invalid merge {} {merge:?}: expected two tokens separated by one space",
                    index + 1
                )))
            }
        }
    }
    BpeModel::from_merges(pairs)
}

fn check_context_length(context_length: usize) -> Result<()> {
    if context_length < 2 {
        return Err(Error::Tokenizer(format!(
            "context length {context_length} is too short: it must be at least 2 to hold the \
             start-of-text and end-of-text tokens"
        )));
    }
    Ok(())
}

/// Quotes the first 40 characters of `text` for an error message.
fn quote_prefix(text: &str) -> String {
    const MAX_CHARS: usize = 40;
    match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{:?}...", &text[..end]),
        None => format!("{text:?}"),
    }
}

fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);

    let write = || -> std::io::Result<()> {
        let mut file = File::create(&temporary)?;
        file.write_all(contents)?;
        file.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&temporary);
        return Err(Error::io("failed to write tokenizer file", &temporary, e));
    }
    if let Err(e) = std::fs::rename(&temporary, path) {
        let _ = std::fs::remove_file(&temporary);
        return Err(Error::io(
            "failed to rename tokenizer file into place",
            path,
            e,
        ));
    }

    // Syncing the folder makes the rename itself durable. Some platforms and file systems cannot
    // open or sync a folder, and the file is already complete either way, so failures are ignored.
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(folder) = File::open(parent) {
            let _ = folder.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
