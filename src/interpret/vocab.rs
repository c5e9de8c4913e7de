//! Vocabularies for naming features: the word lists that feature naming encodes with a CLIP text
//! tower, naming each feature by its top-activating entry.
//!
//! Every source yields normalised entries (trimmed, lowercase, `_` replaced by a space, runs of
//! whitespace collapsed to one space), deduplicated and sorted by frequency where the source has
//! one, then alphabetically.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Folder of the WordNet index files inside the raw data folder (Debian package `wordnet-base`).
const WORDNET_DIR: &str = "wordnet-base/usr/share/wordnet";
/// WordNet index files read, one per part of speech. Adverbs (`index.adv`) are left out.
const WORDNET_INDEX_FILES: [&str; 3] = ["index.noun", "index.adj", "index.verb"];
/// Folder of the word list inside the raw data folder (Debian package `wamerican`).
const WAMERICAN_DIR: &str = "wamerican/usr/share/dict";
const WAMERICAN_FILE: &str = "american-english";

/// Default minimum number of occurrences of a caption word for [`VocabSource::Corpus`].
pub const DEFAULT_CORPUS_MIN_COUNT: usize = 2;
/// Default minimum WordNet tagsense_cnt for [`VocabSource::WordNet`].
pub const DEFAULT_WORDNET_MIN_COUNT: usize = 1;

/// Column of an image-caption table that contains the captions.
const CAPTION_COLUMN: &str = "title";

/// Stop words dropped from corpus vocabularies: articles, pronouns, prepositions, auxiliaries,
/// conjunctions and a few common adverbs. Words shorter than three letters are dropped by length,
/// so the list omits them.
const STOP_WORDS: &[&str] = &[
    // Articles, determiners and pronouns.
    "all", "any", "both", "each", "few", "her", "hers", "herself", "him", "himself", "his", "its",
    "itself", "mine", "more", "most", "myself", "other", "our", "ours", "ourselves", "same", "she",
    "some", "such", "that", "the", "their", "theirs", "them", "themselves", "these", "they", "this",
    "those", "what", "which", "who", "whom", "whose", "you", "your", "yours", "yourself",
    // Prepositions.
    "about", "above", "across", "after", "against", "along", "among", "around", "before", "behind",
    "below", "beside", "between", "during", "for", "from", "into", "near", "off", "onto", "out",
    "over", "through", "toward", "towards", "under", "upon", "with", "within", "without",
    // Auxiliaries.
    "are", "been", "being", "can", "could", "did", "does", "had", "has", "have", "having", "may",
    "might", "must", "shall", "should", "was", "were", "will", "would",
    // Conjunctions and adverbs.
    "also", "and", "but", "nor", "not", "than", "then", "there", "here", "too", "very", "when",
    "where", "while", "how", "why",
];

/// Source of a vocabulary's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VocabSource {
    /// WordNet lemmas from Debian's `wordnet-base` (index.noun, index.adj, index.verb).
    WordNet,
    /// Debian's `wamerican` word list.
    Wamerican,
    /// Words of the captions of an image-caption table (column `title`, tab-separated, header line first).
    Corpus(PathBuf),
    /// One word or phrase per line.
    File(PathBuf),
}

impl VocabSource {
    /// Parses "wordnet", "wamerican", "corpus:PATH" or a file path.
    ///
    /// The keywords match without regard to ASCII case. A word list whose path equals a keyword
    /// needs a folder prefix, as in `./wordnet`. Returns [`Error::Config`] for an empty value or an
    /// empty corpus path.
    pub fn parse(value: &str) -> Result<VocabSource> {
        if value.trim().is_empty() {
            return Err(Error::Config(
                "the vocabulary source is empty; use \"wordnet\", \"wamerican\", \"corpus:PATH\" or the path of a word list"
                    .to_string(),
            ));
        }
        if value.eq_ignore_ascii_case("wordnet") {
            return Ok(VocabSource::WordNet);
        }
        if value.eq_ignore_ascii_case("wamerican") {
            return Ok(VocabSource::Wamerican);
        }
        if let Some(path) = value.strip_prefix("corpus:") {
            if path.trim().is_empty() {
                return Err(Error::Config(format!(
                    "vocabulary source {value:?} has no table path; write corpus:PATH, where PATH is a tab-separated image-caption table with a `{CAPTION_COLUMN}` column"
                )));
            }
            return Ok(VocabSource::Corpus(PathBuf::from(path)));
        }
        Ok(VocabSource::File(PathBuf::from(value)))
    }

    /// Name for outputs ("wordnet", "wamerican", "corpus:PATH", the file path).
    pub fn name(&self) -> String {
        match self {
            VocabSource::WordNet => "wordnet".to_string(),
            VocabSource::Wamerican => "wamerican".to_string(),
            VocabSource::Corpus(path) => format!("corpus:{}", path.display()),
            VocabSource::File(path) => path.display().to_string(),
        }
    }
}

/// Filters applied to a vocabulary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VocabOptions {
    /// Minimum frequency of an entry: occurrences in the captions for a corpus (default 2), or the
    /// WordNet tagsense_cnt (default 1). Word lists and files have no frequency and ignore it.
    pub min_count: usize,
    /// Maximum number of entries kept, most frequent first. 0 keeps all.
    pub max_words: usize,
}

impl Default for VocabOptions {
    /// Returns the corpus default `min_count` of 2 and no cap. Use [`VocabOptions::for_source`] for
    /// the WordNet default of 1.
    fn default() -> Self {
        VocabOptions {
            min_count: DEFAULT_CORPUS_MIN_COUNT,
            max_words: 0,
        }
    }
}

impl VocabOptions {
    /// Returns the default options of a source: `min_count` 1 for WordNet, 2 otherwise, and no cap.
    pub fn for_source(source: &VocabSource) -> Self {
        let min_count = match source {
            VocabSource::WordNet => DEFAULT_WORDNET_MIN_COUNT,
            _ => DEFAULT_CORPUS_MIN_COUNT,
        };
        VocabOptions {
            min_count,
            max_words: 0,
        }
    }
}

/// Loads, normalises (trim, lowercase, '_' -> ' '), filters and deduplicates the words of a source.
/// Returns them sorted (by frequency descending where a frequency exists, then alphabetically) and
/// capped at `max_words`.
///
/// `raw` is the raw data folder that `scripts/fetch-data.sh` fills (`$SPARSE_CLIP_RAW`). WordNet
/// and wamerican need it, and the other sources ignore it. The filters per source:
/// - WordNet: lemmas of index.noun, index.adj and index.verb with tagsense_cnt >= `min_count`,
///   made only of letters, spaces and hyphens, 2 to 30 characters and at most 3 words long. A
///   lemma in several parts of speech gets the maximum of its tagsense_cnt values. The
///   tagsense_cnt is the number of the lemma's senses ranked by their frequency in the semantic
///   concordance texts (wndb(5WN)), so it is a coarse stand-in for word frequency.
/// - wamerican: lowercase alphabetic words of 3 to 20 letters, which drops proper nouns and
///   possessives such as "dog's". Sorted alphabetically.
/// - Corpus: caption words of at least 3 characters that are not stop words and occur at least
///   `min_count` times. Sorted by count.
/// - File: every line except blank lines and lines starting with `#`. Sorted alphabetically.
///
/// Errors name the file and the fix: a missing raw folder or package, an unreadable or non-UTF-8
/// file, a corpus table without a `title` column, a malformed WordNet index line, or a source that
/// yields no words after filtering.
pub fn load_vocabulary(source: &VocabSource, raw: Option<&Path>, options: &VocabOptions) -> Result<Vec<String>> {
    let mut words = match source {
        VocabSource::WordNet => {
            let dir = package_dir(raw, WORDNET_DIR, "wordnet-base")?;
            rank_by_count(load_wordnet(&dir, options.min_count)?)
        }
        VocabSource::Wamerican => {
            let dir = package_dir(raw, WAMERICAN_DIR, "wamerican")?;
            load_wamerican(&dir.join(WAMERICAN_FILE))?
        }
        VocabSource::Corpus(path) => {
            let mut counts = count_caption_words(path)?;
            counts.retain(|_, count| *count >= options.min_count);
            rank_by_count(counts)
        }
        VocabSource::File(path) => load_word_file(path)?,
    };

    if words.is_empty() {
        return Err(empty_vocabulary_error(source, raw, options));
    }
    if options.max_words > 0 {
        words.truncate(options.max_words);
    }
    Ok(words)
}

/// Returns `raw/relative` after checking that the package folder exists.
fn package_dir(raw: Option<&Path>, relative: &str, package: &str) -> Result<PathBuf> {
    let raw = raw.ok_or_else(|| {
        Error::Config(format!(
            "the {package} vocabulary needs the raw data folder, but none was given; run `bash scripts/fetch-data.sh`, which fills $SPARSE_CLIP_RAW, and pass that folder"
        ))
    })?;
    let dir = raw.join(relative);
    if !dir.is_dir() {
        return Err(Error::Data(format!(
            "{package} package folder {} not found; run `bash scripts/fetch-data.sh`, which fills $SPARSE_CLIP_RAW, and pass that folder as the raw data folder (given: {})",
            dir.display(),
            raw.display()
        )));
    }
    Ok(dir)
}

/// Reads a UTF-8 text file, dropping a leading byte order mark. Errors call the file `file_kind`,
/// and `missing_hint` is the advice appended when the file does not exist.
fn read_text(path: &Path, file_kind: &'static str, missing_hint: &str) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            Error::Data(format!("{file_kind} {} not found; {missing_hint}", path.display()))
        } else {
            Error::io("failed to read", path, error)
        }
    })?;
    let text = String::from_utf8(bytes).map_err(|error| {
        Error::Data(format!(
            "{file_kind} {} is not valid UTF-8 (invalid byte at offset {}); save it as UTF-8",
            path.display(),
            error.utf8_error().valid_up_to()
        ))
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// Trims and lowercases an entry, replaces `_` with a space and collapses runs of whitespace.
fn normalise(entry: &str) -> String {
    entry
        .to_lowercase()
        .replace('_', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Sorts entries by count, highest first, then alphabetically.
fn rank_by_count(counts: HashMap<String, usize>) -> Vec<String> {
    let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
    ranked.sort_by(|(word_a, count_a), (word_b, count_b)| count_b.cmp(count_a).then_with(|| word_a.cmp(word_b)));
    ranked.into_iter().map(|(word, _)| word).collect()
}

/// Reads the three WordNet index files and returns each kept lemma with its maximum tagsense_cnt.
fn load_wordnet(dir: &Path, min_count: usize) -> Result<HashMap<String, usize>> {
    let mut counts = HashMap::new();
    for file in WORDNET_INDEX_FILES {
        let path = dir.join(file);
        let text = read_text(
            &path,
            "WordNet index file",
            "the wordnet-base package is incomplete, so delete its folder and run `bash scripts/fetch-data.sh` again",
        )?;
        add_wordnet_index(&text, &path, min_count, &mut counts)?;
    }
    Ok(counts)
}

/// Adds the lemmas of one WordNet index file to `counts`, keeping the maximum tagsense_cnt of a
/// lemma seen in several parts of speech.
fn add_wordnet_index(text: &str, path: &Path, min_count: usize, counts: &mut HashMap<String, usize>) -> Result<()> {
    for (index, line) in text.lines().enumerate() {
        // wndb(5WN): the license lines at the top start with two spaces, and no entry does.
        if line.starts_with("  ") || line.trim().is_empty() {
            continue;
        }
        let (lemma, tagsense_count) = parse_index_line(line).ok_or_else(|| {
            Error::Data(format!(
                "{}: line {} is not a WordNet index entry (lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...); \
                 the file is damaged, so delete the wordnet-base folder and run `bash scripts/fetch-data.sh` again",
                path.display(),
                index + 1
            ))
        })?;
        if tagsense_count < min_count {
            continue;
        }
        let word = normalise(lemma);
        if !is_wordnet_phrase(&word) {
            continue;
        }
        let count = counts.entry(word).or_insert(tagsense_count);
        *count = (*count).max(tagsense_count);
    }
    Ok(())
}

/// Returns the lemma and tagsense_cnt of a WordNet index line, or None when the fields do not add
/// up. The layout, from the wndb(5WN) manual page of WordNet 3.0, is
/// `lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...`, with
/// p_cnt pointer symbols and synset_cnt offsets.
fn parse_index_line(line: &str) -> Option<(&str, usize)> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let synset_count: usize = fields.get(2)?.parse().ok()?;
    let pointer_count: usize = fields.get(3)?.parse().ok()?;
    if fields.len() != 6 + pointer_count + synset_count {
        return None;
    }
    let tagsense_count: usize = fields[5 + pointer_count].parse().ok()?;
    Some((fields[0], tagsense_count))
}

/// Checks the WordNet filters on a normalised lemma: letters, spaces and hyphens only, 2 to 30
/// characters, at most 3 words.
fn is_wordnet_phrase(word: &str) -> bool {
    let length = word.chars().count();
    (2..=30).contains(&length)
        && word.split(' ').count() <= 3
        && word.chars().all(|c| c.is_alphabetic() || c == ' ' || c == '-')
}

/// Reads the wamerican word list and returns its lowercase alphabetic words of 3 to 20 letters,
/// sorted alphabetically.
fn load_wamerican(path: &Path) -> Result<Vec<String>> {
    let text = read_text(
        path,
        "word list",
        "the wamerican package is incomplete, so delete its folder and run `bash scripts/fetch-data.sh` again",
    )?;
    let words: BTreeSet<String> = text
        .lines()
        .map(str::trim)
        .filter(|word| (3..=20).contains(&word.chars().count()))
        .filter(|word| word.chars().all(|c| c.is_alphabetic() && c.is_lowercase()))
        .map(str::to_string)
        .collect();
    Ok(words.into_iter().collect())
}

/// Counts the words of the `title` column of a tab-separated image-caption table, leaving out words
/// shorter than 3 characters and stop words.
fn count_caption_words(path: &Path) -> Result<HashMap<String, usize>> {
    let text = read_text(
        path,
        "image-caption table",
        "check the corpus:PATH value of the vocabulary source",
    )?;
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.trim().is_empty());

    let Some((_, header)) = lines.next() else {
        return Err(Error::Data(format!(
            "image-caption table {} is empty; it needs a header line with a `{CAPTION_COLUMN}` column, then one caption per line",
            path.display()
        )));
    };
    let columns: Vec<&str> = header.split('\t').map(str::trim).collect();
    let caption_column = columns.iter().position(|name| *name == CAPTION_COLUMN).ok_or_else(|| {
        Error::Data(format!(
            "image-caption table {} has no `{CAPTION_COLUMN}` column; the columns found are {columns:?}. \
             The corpus vocabulary needs a tab-separated table whose header line names a `{CAPTION_COLUMN}` column",
            path.display()
        ))
    })?;

    let stop_words: HashSet<&str> = STOP_WORDS.iter().copied().collect();
    let mut counts = HashMap::new();
    for (line_number, line) in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        let caption = fields.get(caption_column).ok_or_else(|| {
            Error::Data(format!(
                "{}: line {line_number} has {} fields, so it has no `{CAPTION_COLUMN}` field (column {} of {columns:?}); fill in the missing fields",
                path.display(),
                fields.len(),
                caption_column + 1
            ))
        })?;
        for word in caption_words(caption) {
            if word.chars().count() >= 3 && !stop_words.contains(word.as_str()) {
                *counts.entry(word).or_insert(0) += 1;
            }
        }
    }
    Ok(counts)
}

/// Splits a caption into lowercase words: runs of letters, with apostrophes kept only inside a
/// word ("dog's" stays whole, "'quoted'" becomes "quoted"). The typographic apostrophe U+2019
/// counts as an apostrophe and is written as `'`.
fn caption_words(caption: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in caption.chars().chain(std::iter::once(' ')) {
        if c.is_alphabetic() {
            current.extend(c.to_lowercase());
        } else if c == '\'' || c == '\u{2019}' {
            current.push('\'');
        } else if !current.is_empty() {
            let word = current.trim_matches('\'');
            if !word.is_empty() {
                words.push(word.to_string());
            }
            current.clear();
        }
    }
    words
}

/// Reads a word list with one entry per line, skipping blank lines and `#` comments, and returns
/// the normalised entries sorted alphabetically.
fn load_word_file(path: &Path) -> Result<Vec<String>> {
    let text = read_text(
        path,
        "vocabulary file",
        "pass \"wordnet\", \"wamerican\", \"corpus:PATH\" or the path of an existing word list",
    )?;
    let words: BTreeSet<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(normalise)
        .collect();
    Ok(words.into_iter().collect())
}

/// Builds the error for a source that yielded no words, saying what to change.
fn empty_vocabulary_error(source: &VocabSource, raw: Option<&Path>, options: &VocabOptions) -> Error {
    let name = source.name();
    let reason = match source {
        VocabSource::WordNet => format!(
            "no lemma of 2 to 30 letters has a tagsense_cnt of at least {}; lower --vocab-min-count",
            options.min_count
        ),
        VocabSource::Wamerican => {
            let path = raw.unwrap_or(Path::new("")).join(WAMERICAN_DIR).join(WAMERICAN_FILE);
            format!(
                "{} has no lowercase word of 3 to 20 letters; the file is damaged, so delete the wamerican folder and run `bash scripts/fetch-data.sh` again",
                path.display()
            )
        }
        VocabSource::Corpus(path) => format!(
            "no caption word of 3 or more letters, other than stop words, occurs at least {} times in the `{CAPTION_COLUMN}` column of {}; lower --vocab-min-count or use a larger table",
            options.min_count,
            path.display()
        ),
        VocabSource::File(path) => format!(
            "{} has no entries; write one word or phrase per line (blank lines and lines starting with '#' are skipped)",
            path.display()
        ),
    };
    Error::Data(format!("vocabulary source {name} gave no words: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LICENSE_LINES: &str = "  1 This software and database is being provided to you, the LICENSEE, by  \n  \
        2 Princeton University under the following license.  By obtaining, using  \n  \
        3 \n";

    /// Writes a fake wordnet-base package under `raw` with the given index file contents, each
    /// preceded by license lines.
    fn write_wordnet(raw: &Path, noun: &str, adj: &str, verb: &str) {
        let dir = raw.join(WORDNET_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, body) in [("index.noun", noun), ("index.adj", adj), ("index.verb", verb)] {
            std::fs::write(dir.join(file), format!("{LICENSE_LINES}{body}")).unwrap();
        }
    }

    /// Writes a fake wamerican package under `raw` with the given word list.
    fn write_wamerican(raw: &Path, words: &str) {
        let dir = raw.join(WAMERICAN_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(WAMERICAN_FILE), words).unwrap();
    }

    fn options(min_count: usize, max_words: usize) -> VocabOptions {
        VocabOptions { min_count, max_words }
    }

    fn message(result: Result<Vec<String>>) -> String {
        result.expect_err("expected an error").to_string()
    }

    // Index lines in the wndb(5WN) layout: lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt
    // tagsense_cnt synset_offset...
    const NOUNS: &str = "dog n 7 5 @ ~ #m #p %p 7 1 02084071 10114209 10023039 09886220 07676602 03901548 02710044  \n\
        hot_dog n 3 4 @ ~ #p %p 3 0 10187710 07697537 07676602  \n\
        new_york n 3 4 @ #p %p - 3 2 09119277 09117351 09118181  \n\
        run n 2 0 2 7 00189565 00791078  \n\
        'hood n 1 2 @ ; 1 3 08641944  \n\
        1-dodecanol n 1 1 @ 1 4 14930670  \n\
        x n 1 0 1 5 00000001  \n\
        four_word_long_lemma n 1 0 1 5 00000002  \n\
        t-bone_steak n 1 1 @ 1 1 00000003  \n";
    const ADJECTIVES: &str = "good a 3 2 ! & 3 14 01123148 00106020 01129977  \n\
        dog a 1 0 1 0 00000004  \n";
    const VERBS: &str = "run v 2 3 ! @ ~ 2 29 01926329 02075067  \n\
        dog v 1 2 @ ~ 1 4 02001876  \n";

    #[test]
    fn wordnet_filters_merges_and_ranks() {
        let raw = tempfile::tempdir().unwrap();
        write_wordnet(raw.path(), NOUNS, ADJECTIVES, VERBS);

        let words = load_vocabulary(&VocabSource::WordNet, Some(raw.path()), &options(1, 0)).unwrap();

        // Expected tagsense_cnt: run max(7, 29) = 29, good 14, dog max(1, 0, 4) = 4, new york 2,
        // t-bone steak 1.
        assert_eq!(words, ["run", "good", "dog", "new york", "t-bone steak"]);
    }

    #[test]
    fn wordnet_skips_license_lines() {
        let raw = tempfile::tempdir().unwrap();
        write_wordnet(raw.path(), NOUNS, ADJECTIVES, VERBS);

        let words = load_vocabulary(&VocabSource::WordNet, Some(raw.path()), &options(0, 0)).unwrap();

        assert!(!words.iter().any(|word| word.contains("software")), "{words:?}");
        assert!(!words.iter().any(|word| word.contains("princeton")), "{words:?}");
    }

    #[test]
    fn wordnet_min_count_filters_tagsense() {
        let raw = tempfile::tempdir().unwrap();
        write_wordnet(raw.path(), NOUNS, ADJECTIVES, VERBS);

        let all = load_vocabulary(&VocabSource::WordNet, Some(raw.path()), &options(0, 0)).unwrap();
        let frequent = load_vocabulary(&VocabSource::WordNet, Some(raw.path()), &options(5, 0)).unwrap();

        assert!(all.contains(&"hot dog".to_string()), "{all:?}");
        assert_eq!(all.len(), 6);
        assert_eq!(frequent, ["run", "good"]);
    }

    #[test]
    fn wordnet_drops_invalid_lemmas() {
        let raw = tempfile::tempdir().unwrap();
        write_wordnet(raw.path(), NOUNS, ADJECTIVES, VERBS);

        let words = load_vocabulary(&VocabSource::WordNet, Some(raw.path()), &options(0, 0)).unwrap();

        for dropped in ["'hood", "hood", "1-dodecanol", "x", "four word long lemma"] {
            assert!(!words.contains(&dropped.to_string()), "{dropped} in {words:?}");
        }
        assert!(!words.iter().any(|word| word.contains('_')), "{words:?}");
    }

    #[test]
    fn wordnet_malformed_line_is_error() {
        let raw = tempfile::tempdir().unwrap();
        write_wordnet(raw.path(), "dog n 7 5 @ ~ 7 1 02084071\n", "", "");

        let text = message(load_vocabulary(&VocabSource::WordNet, Some(raw.path()), &options(1, 0)));

        assert!(text.contains("index.noun"), "{text}");
        assert!(text.contains("line 4"), "{text}");
        assert!(text.contains("fetch-data.sh"), "{text}");
    }

    #[test]
    fn wordnet_missing_folder_mentions_fetch() {
        let raw = tempfile::tempdir().unwrap();

        let text = message(load_vocabulary(&VocabSource::WordNet, Some(raw.path()), &options(1, 0)));

        assert!(text.contains("bash scripts/fetch-data.sh"), "{text}");
        assert!(text.contains("wordnet-base"), "{text}");
    }

    #[test]
    fn wordnet_missing_index_file_named() {
        let raw = tempfile::tempdir().unwrap();
        write_wordnet(raw.path(), NOUNS, ADJECTIVES, VERBS);
        std::fs::remove_file(raw.path().join(WORDNET_DIR).join("index.verb")).unwrap();

        let text = message(load_vocabulary(&VocabSource::WordNet, Some(raw.path()), &options(1, 0)));

        assert!(text.contains("index.verb"), "{text}");
        assert!(text.contains("fetch-data.sh"), "{text}");
    }

    #[test]
    fn wordnet_without_raw_folder_is_error() {
        let text = message(load_vocabulary(&VocabSource::WordNet, None, &options(1, 0)));

        assert!(text.contains("raw data folder"), "{text}");
        assert!(text.contains("fetch-data.sh"), "{text}");
    }

    #[test]
    fn wordnet_empty_result_suggests_min_count() {
        let raw = tempfile::tempdir().unwrap();
        write_wordnet(raw.path(), NOUNS, ADJECTIVES, VERBS);

        let text = message(load_vocabulary(&VocabSource::WordNet, Some(raw.path()), &options(1000, 0)));

        assert!(text.contains("wordnet"), "{text}");
        assert!(text.contains("--vocab-min-count"), "{text}");
    }

    #[test]
    fn wamerican_keeps_lowercase_words() {
        let raw = tempfile::tempdir().unwrap();
        write_wamerican(
            raw.path(),
            "zebra\nAaron\ndog\ndog's\nox\napple\ncafé\nwell-known\nabcdefghijklmnopqrstu\nabcdefghijklmnopqrst\n\n  cat  \nNASA\ndog\n",
        );

        let words = load_vocabulary(&VocabSource::Wamerican, Some(raw.path()), &options(2, 0)).unwrap();

        assert_eq!(words, ["abcdefghijklmnopqrst", "apple", "café", "cat", "dog", "zebra"]);
    }

    #[test]
    fn wamerican_missing_folder_mentions_fetch() {
        let raw = tempfile::tempdir().unwrap();

        let text = message(load_vocabulary(&VocabSource::Wamerican, Some(raw.path()), &options(2, 0)));

        assert!(text.contains("bash scripts/fetch-data.sh"), "{text}");
        assert!(text.contains("wamerican"), "{text}");
    }

    #[test]
    fn wamerican_empty_result_is_error() {
        let raw = tempfile::tempdir().unwrap();
        write_wamerican(raw.path(), "Aaron\ndog's\n");

        let text = message(load_vocabulary(&VocabSource::Wamerican, Some(raw.path()), &options(2, 0)));

        assert!(text.contains("vocabulary source wamerican gave no words"), "{text}");
        assert!(text.contains("american-english"), "{text}");
    }

    fn write_table(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("pairs.tsv");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn corpus_counts_title_words() {
        let dir = tempfile::tempdir().unwrap();
        let table = write_table(
            dir.path(),
            "filepath\ttitle\tlabel\n\
             a.png\tA red apple on the table\tapple\n\
             b.png\tRed apple, green APPLE\tapple\n\
             \n\
             c.png\tThe dog's bowl with a red 'toy'\tdog\n\
             d.png\tDog\u{2019}s toy\tdog\n",
        );

        let source = VocabSource::Corpus(table);
        let words = load_vocabulary(&source, None, &options(2, 0)).unwrap();
        let all = load_vocabulary(&source, None, &options(1, 0)).unwrap();

        // Counts: apple 3, red 3, dog's 2, toy 2, and 1 each for table, green and bowl.
        assert_eq!(words, ["apple", "red", "dog's", "toy"]);
        assert_eq!(all, ["apple", "red", "dog's", "toy", "bowl", "green", "table"]);
    }

    #[test]
    fn corpus_drops_stop_words_and_short_words() {
        let dir = tempfile::tempdir().unwrap();
        let table = write_table(
            dir.path(),
            "title\nthe cat with her hat and an ox\nthe cat with her hat and an ox\n",
        );

        let words = load_vocabulary(&VocabSource::Corpus(table), None, &options(1, 0)).unwrap();

        assert_eq!(words, ["cat", "hat"]);
    }

    #[test]
    fn corpus_stop_words_are_long_lowercase() {
        for word in STOP_WORDS {
            assert!(word.chars().count() >= 3, "{word} is dropped by length anyway");
            assert_eq!(*word, word.to_lowercase());
        }
        let unique: HashSet<&str> = STOP_WORDS.iter().copied().collect();
        assert_eq!(unique.len(), STOP_WORDS.len());
    }

    #[test]
    fn corpus_missing_title_lists_columns() {
        let dir = tempfile::tempdir().unwrap();
        let table = write_table(dir.path(), "filepath\tcaption\na.png\ta cat\n");

        let text = message(load_vocabulary(&VocabSource::Corpus(table.clone()), None, &options(1, 0)));

        assert!(text.contains(&table.display().to_string()), "{text}");
        assert!(text.contains("\"filepath\", \"caption\""), "{text}");
        assert!(text.contains("`title`"), "{text}");
    }

    #[test]
    fn corpus_short_row_is_error() {
        let dir = tempfile::tempdir().unwrap();
        let table = write_table(dir.path(), "filepath\ttitle\na.png\tcat\nb.png\n");

        let text = message(load_vocabulary(&VocabSource::Corpus(table), None, &options(1, 0)));

        assert!(text.contains("line 3"), "{text}");
    }

    #[test]
    fn corpus_empty_result_suggests_min_count() {
        let dir = tempfile::tempdir().unwrap();
        let table = write_table(dir.path(), "filepath\ttitle\na.png\tcat\n");
        let source = VocabSource::Corpus(table);

        let text = message(load_vocabulary(&source, None, &options(2, 0)));

        assert!(text.contains(&source.name()), "{text}");
        assert!(text.contains("--vocab-min-count"), "{text}");
    }

    #[test]
    fn corpus_missing_table_is_error() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("missing.tsv");

        let text = message(load_vocabulary(&VocabSource::Corpus(table.clone()), None, &options(2, 0)));

        assert!(text.contains(&table.display().to_string()), "{text}");
        assert!(text.contains("not found"), "{text}");
    }

    #[test]
    fn file_skips_comments_and_blanks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("words.txt");
        std::fs::write(&path, "\u{feff}# colours\nRed\n\n   \n  #indented comment\nhot_dog\n  Traffic   Light \nred\n").unwrap();

        let words = load_vocabulary(&VocabSource::File(path), None, &options(2, 0)).unwrap();

        assert_eq!(words, ["hot dog", "red", "traffic light"]);
    }

    #[test]
    fn file_invalid_utf8_is_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1.txt");
        std::fs::write(&path, b"cat\ncaf\xe9\n").unwrap();

        let text = message(load_vocabulary(&VocabSource::File(path.clone()), None, &options(2, 0)));

        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("UTF-8"), "{text}");
        assert!(text.contains("offset 7"), "{text}");
    }

    #[test]
    fn file_with_only_comments_is_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.txt");
        std::fs::write(&path, "# nothing here\n\n").unwrap();

        let text = message(load_vocabulary(&VocabSource::File(path.clone()), None, &options(2, 0)));

        assert!(text.contains(&format!("vocabulary source {} gave no words", path.display())), "{text}");
    }

    #[test]
    fn file_missing_is_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wordnett");

        let text = message(load_vocabulary(&VocabSource::File(path.clone()), None, &options(2, 0)));

        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("not found"), "{text}");
    }

    #[test]
    fn max_words_caps_result() {
        let raw = tempfile::tempdir().unwrap();
        write_wordnet(raw.path(), NOUNS, ADJECTIVES, VERBS);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("words.txt");
        std::fs::write(&path, "delta\nalpha\ncharlie\nbravo\n").unwrap();

        let wordnet = load_vocabulary(&VocabSource::WordNet, Some(raw.path()), &options(1, 2)).unwrap();
        let file = load_vocabulary(&VocabSource::File(path.clone()), None, &options(1, 3)).unwrap();
        let uncapped = load_vocabulary(&VocabSource::File(path), None, &options(1, 10)).unwrap();

        assert_eq!(wordnet, ["run", "good"]);
        assert_eq!(file, ["alpha", "bravo", "charlie"]);
        assert_eq!(uncapped.len(), 4);
    }

    #[test]
    fn parse_accepts_each_form() {
        assert_eq!(VocabSource::parse("wordnet").unwrap(), VocabSource::WordNet);
        assert_eq!(VocabSource::parse("WordNet").unwrap(), VocabSource::WordNet);
        assert_eq!(VocabSource::parse("wamerican").unwrap(), VocabSource::Wamerican);
        assert_eq!(
            VocabSource::parse("corpus:data/train.tsv").unwrap(),
            VocabSource::Corpus(PathBuf::from("data/train.tsv"))
        );
        assert_eq!(
            VocabSource::parse("words/colours.txt").unwrap(),
            VocabSource::File(PathBuf::from("words/colours.txt"))
        );
        assert_eq!(VocabSource::parse("./wordnet").unwrap(), VocabSource::File(PathBuf::from("./wordnet")));
    }

    #[test]
    fn parse_rejects_empty_values() {
        assert!(matches!(VocabSource::parse(""), Err(Error::Config(_))));
        assert!(matches!(VocabSource::parse("  "), Err(Error::Config(_))));
        assert!(matches!(VocabSource::parse("corpus:"), Err(Error::Config(_))));
    }

    #[test]
    fn name_round_trips_through_parse() {
        let sources = [
            VocabSource::WordNet,
            VocabSource::Wamerican,
            VocabSource::Corpus(PathBuf::from("data/train.tsv")),
            VocabSource::File(PathBuf::from("words/colours.txt")),
        ];
        for source in sources {
            assert_eq!(VocabSource::parse(&source.name()).unwrap(), source);
        }
        assert_eq!(VocabSource::Corpus(PathBuf::from("a.tsv")).name(), "corpus:a.tsv");
    }

    #[test]
    fn options_defaults_per_source() {
        assert_eq!(VocabOptions::default(), options(2, 0));
        assert_eq!(VocabOptions::for_source(&VocabSource::WordNet), options(1, 0));
        assert_eq!(VocabOptions::for_source(&VocabSource::Corpus(PathBuf::from("a.tsv"))), options(2, 0));
    }

    /// Loads the real packages that `scripts/fetch-data.sh` unpacked into $SPARSE_CLIP_RAW.
    #[test]
    #[ignore = "reads the real WordNet and wamerican packages from $SPARSE_CLIP_RAW"]
    fn real_packages_load_at_defaults() {
        let Some(raw) = std::env::var_os("SPARSE_CLIP_RAW") else {
            eprintln!("SPARSE_CLIP_RAW is not set; source scripts/env.sh first. Skipping.");
            return;
        };
        let raw = PathBuf::from(raw);

        for source in [VocabSource::WordNet, VocabSource::Wamerican] {
            let started = std::time::Instant::now();
            let words = load_vocabulary(&source, Some(&raw), &VocabOptions::for_source(&source)).unwrap();
            let elapsed = started.elapsed();
            println!("{}: {} words in {:.1} ms", source.name(), words.len(), elapsed.as_secs_f64() * 1000.0);
            println!("  first 30: {:?}", &words[..words.len().min(30)]);
            assert!(words.len() > 1000, "{} gave only {} words", source.name(), words.len());
        }
    }
}
