use super::*;

/// Captions in the style of the emoji and clip-art data: a name, a colon and keywords, or a short
/// sentence. The list is deterministic.
fn sample_captions(count: usize) -> Vec<String> {
    let adjectives = [
        "red", "smiling", "grinning", "small", "blue", "happy", "sleeping", "angry", "old",
    ];
    let nouns = [
        "dog", "cat", "face", "heart", "flower", "house", "tree", "car", "bird", "moon", "star",
    ];
    let keywords = [
        "animal", "pet", "nature", "love", "travel", "weather", "symbol", "food", "sky",
    ];
    (0..count)
        .map(|i| {
            let adjective = adjectives[i % adjectives.len()];
            let noun = nouns[(i / 3) % nouns.len()];
            let keyword = keywords[(i / 7) % keywords.len()];
            match i % 4 {
                0 => format!("{adjective} {noun}: {keyword}, {noun}"),
                1 => format!("A {adjective} {noun} in the {keyword}."),
                2 => format!("{noun} with {adjective} eyes"),
                _ => format!("{adjective} {noun} {keyword}"),
            }
        })
        .collect()
}

fn corpus_tokenizer() -> Tokenizer {
    Tokenizer::train_corpus(&sample_captions(500), 700).unwrap()
}

/// Texts that exercise multi-byte UTF-8: accents, combining marks, emoji sequences, other scripts,
/// control characters and text that is not a word at all.
const UNUSUAL_TEXTS: &[&str] = &[
    "crème brûlée",
    "e\u{301}le\u{300}ve",
    "👩‍👩‍👧‍👦 family: man, woman",
    "🏳️‍🌈 flag",
    "👍🏽 thumbs up",
    "東京タワー",
    "שָׁלוֹם عربى",
    "ΣΊΣΥΦΟΣ",
    "İstanbul",
    "x\u{0}y\u{7}z",
    "\u{feff}bom",
    "'s'S'",
    "<|endoftext|>",
    "1,234.5%",
    "🍮",
];

#[test]
fn clip_tokenize_matches_known_ids() {
    let tokenizer = Tokenizer::clip().unwrap();
    let ids = tokenizer
        .tokenize("a photo of a cat", CLIP_CONTEXT_LENGTH)
        .unwrap();
    assert_eq!(ids.len(), 77);
    assert_eq!(ids[..7], [49406, 320, 1125, 539, 320, 2368, 49407]);
    assert!(ids[7..].iter().all(|&id| id == 0));

    assert_eq!(tokenizer.encode("hello world").unwrap(), [3306, 1002]);
    assert_eq!(tokenizer.vocab_size(), 49408);
    assert_eq!(tokenizer.sot(), 49406);
    assert_eq!(tokenizer.eot(), 49407);
}

#[test]
fn tokenize_pads_with_zero() {
    let tokenizer = Tokenizer::clip().unwrap();
    let ids = tokenizer.tokenize("hello world", 6).unwrap();
    assert_eq!(ids, [49406, 3306, 1002, 49407, 0, 0]);
}

#[test]
fn tokenize_exact_fit_has_no_padding() {
    let tokenizer = Tokenizer::clip().unwrap();
    assert_eq!(
        tokenizer.tokenize("hello world", 4).unwrap(),
        [49406, 3306, 1002, 49407]
    );
}

#[test]
fn tokenize_truncation_keeps_eot_last() {
    let tokenizer = Tokenizer::clip().unwrap();
    let text = "a photo of a cat ".repeat(40);
    let encoded = tokenizer.encode(&text).unwrap();
    assert_eq!(encoded.len(), 200);

    for context_length in [2, 3, 7, 77] {
        let ids = tokenizer.tokenize(&text, context_length).unwrap();
        assert_eq!(ids.len(), context_length);
        assert_eq!(ids[0], tokenizer.sot());
        assert_eq!(ids[context_length - 1], tokenizer.eot());
        assert_eq!(ids[1..context_length - 1], encoded[..context_length - 2]);
    }

    // One token too many: the last caption token gives way to end-of-text.
    let ids = tokenizer.tokenize("hello world", 3).unwrap();
    assert_eq!(ids, [49406, 3306, 49407]);
}

#[test]
fn tokenize_rejects_short_context() {
    let tokenizer = Tokenizer::clip().unwrap();
    for context_length in [0, 1] {
        let err = tokenizer.tokenize("a cat", context_length).unwrap_err();
        assert!(matches!(err, Error::Tokenizer(_)), "{err:?}");
        assert!(
            err.to_string()
                .contains(&format!("context length {context_length}")),
            "{err}"
        );
    }
    assert!(tokenizer.tokenize_batch(&["a cat"], 1).is_err());
}

#[test]
fn empty_caption_is_an_error() {
    for tokenizer in [Tokenizer::clip().unwrap(), corpus_tokenizer()] {
        for text in ["", "   ", "\t\n", "&nbsp;"] {
            let err = tokenizer.encode(text).unwrap_err();
            assert!(matches!(err, Error::Tokenizer(_)), "{err:?}");
            assert!(err.to_string().contains(&format!("{text:?}")), "{err}");
            assert!(tokenizer.tokenize(text, 77).is_err());
        }
    }
}

#[test]
fn empty_caption_error_names_batch_index() {
    let tokenizer = Tokenizer::clip().unwrap();
    let err = tokenizer
        .tokenize_batch(&["a cat", "a dog", " "], 77)
        .unwrap_err();
    assert!(err.to_string().contains("caption 2 of the batch"), "{err}");
}

#[test]
fn empty_caption_error_shortens_long_input() {
    let tokenizer = Tokenizer::clip().unwrap();
    let err = tokenizer.encode(&" ".repeat(1000)).unwrap_err();
    assert!(err.to_string().len() < 200, "{err}");
}

#[test]
fn tokenize_batch_concatenates_rows() {
    let tokenizer = Tokenizer::clip().unwrap();
    let texts = vec!["a photo of a cat".to_owned(), "hello world".to_owned()];
    let batch = tokenizer.tokenize_batch(&texts, 10).unwrap();
    assert_eq!(batch.len(), 20);
    assert_eq!(batch[..10], tokenizer.tokenize(&texts[0], 10).unwrap()[..]);
    assert_eq!(batch[10..], tokenizer.tokenize(&texts[1], 10).unwrap()[..]);
    assert!(tokenizer
        .tokenize_batch::<String>(&[], 10)
        .unwrap()
        .is_empty());
}

#[test]
fn unusual_text_does_not_panic() {
    for tokenizer in [Tokenizer::clip().unwrap(), corpus_tokenizer()] {
        for text in UNUSUAL_TEXTS {
            let ids = tokenizer.tokenize(text, 16).unwrap();
            assert_eq!(ids.len(), 16);
            assert_eq!(ids[0], tokenizer.sot());
            assert!(ids
                .iter()
                .all(|&id| (0..tokenizer.vocab_size() as i64).contains(&id)));
            tokenizer.decode(&ids).unwrap();
        }
    }
}

#[test]
fn decode_returns_cleaned_text() {
    for tokenizer in [Tokenizer::clip().unwrap(), corpus_tokenizer()] {
        for text in [
            "A Photo of a CAT",
            "crème brûlée",
            "👍🏽 thumbs up",
            "東京タワー",
        ] {
            let ids = tokenizer.encode(text).unwrap();
            assert_eq!(
                tokenizer.decode(&ids).unwrap(),
                clean_text(text),
                "{tokenizer:?}"
            );
        }
    }
}

#[test]
fn decode_separates_pre_tokens_with_spaces() {
    for tokenizer in [Tokenizer::clip().unwrap(), corpus_tokenizer()] {
        for text in UNUSUAL_TEXTS
            .iter()
            .copied()
            .chain(["Dog's toy: 12 balls!"])
        {
            let cleaned = clean_text(text);
            let expected = text::pre_tokens(&cleaned).collect::<Vec<_>>().join(" ");
            let ids = tokenizer.encode(text).unwrap();
            assert_eq!(
                tokenizer.decode(&ids).unwrap(),
                expected,
                "{tokenizer:?} on {text:?}"
            );
        }
    }
}

#[test]
fn decode_rejects_unknown_id() {
    let tokenizer = corpus_tokenizer();
    let err = tokenizer
        .decode(&[tokenizer.vocab_size() as i64])
        .unwrap_err();
    assert!(err.to_string().contains("cannot decode token id"), "{err}");
}

#[test]
fn corpus_respects_vocab_size() {
    let captions = sample_captions(2000);
    for vocab_size in [MIN_CORPUS_VOCAB_SIZE, 520, 600] {
        let tokenizer = Tokenizer::train_corpus(&captions, vocab_size).unwrap();
        assert_eq!(tokenizer.vocab_size(), vocab_size);
        assert_eq!(tokenizer.eot(), vocab_size as i64 - 1);
        assert_eq!(tokenizer.sot(), vocab_size as i64 - 2);
    }

    // The sample corpus has fewer useful pairs than this, so training stops early.
    let tokenizer = Tokenizer::train_corpus(&captions, 100_000).unwrap();
    assert!(tokenizer.vocab_size() < 100_000);
    assert!(tokenizer.vocab_size() > 600);
}

#[test]
fn corpus_learns_whole_words() {
    let tokenizer = corpus_tokenizer();
    // Frequent words end up as one token each.
    assert_eq!(tokenizer.encode("smiling dog").unwrap().len(), 2);
}

#[test]
fn corpus_training_is_deterministic() {
    let captions = sample_captions(1000);
    let first = Tokenizer::train_corpus(&captions, 650).unwrap();
    let second = Tokenizer::train_corpus(&captions, 650).unwrap();
    assert_eq!(first.spec(), second.spec());

    // Training counts words, so caption order does not matter.
    let reversed: Vec<String> = captions.iter().rev().cloned().collect();
    let third = Tokenizer::train_corpus(&reversed, 650).unwrap();
    assert_eq!(first.spec(), third.spec());
}

#[test]
fn corpus_training_rejects_bad_input() {
    assert!(Tokenizer::train_corpus(&sample_captions(10), MIN_CORPUS_VOCAB_SIZE - 1).is_err());
    assert!(Tokenizer::train_corpus(&["", "  "], 1000).is_err());
}

#[test]
fn save_load_round_trip_keeps_ids() {
    let folder = tempfile::tempdir().unwrap();
    let texts = [
        "a smiling dog: pet, love",
        "A blue moon in the sky.",
        "crème brûlée 🍮",
    ];
    for (name, tokenizer) in [
        ("clip.json", Tokenizer::clip().unwrap()),
        ("corpus.json", corpus_tokenizer()),
    ] {
        let path = folder.path().join(name);
        tokenizer.save(&path).unwrap();
        let loaded = Tokenizer::load(&path).unwrap();
        assert_eq!(loaded, tokenizer);
        assert_eq!(loaded.vocab_size(), tokenizer.vocab_size());
        for text in texts {
            assert_eq!(
                loaded.tokenize(text, 77).unwrap(),
                tokenizer.tokenize(text, 77).unwrap()
            );
        }
    }
    // Only the two tokenizer files remain, so no temporary file is left behind.
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 2);
}

#[test]
fn save_overwrites_existing_file() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("tokenizer.json");
    Tokenizer::clip().unwrap().save(&path).unwrap();
    corpus_tokenizer().save(&path).unwrap();
    assert_eq!(Tokenizer::load(&path).unwrap(), corpus_tokenizer());
}

#[test]
fn serialized_form_is_tagged() {
    let json = serde_json::to_string(&Tokenizer::clip().unwrap()).unwrap();
    assert_eq!(json, r#"{"kind":"clip_bpe"}"#);

    let corpus: Tokenizer =
        serde_json::from_str(r#"{"kind":"corpus","merges":["d o","do g</w>"]}"#).unwrap();
    assert_eq!(corpus.vocab_size(), 516);
    assert_eq!(corpus.encode("dog").unwrap(), [513]);
}

#[test]
fn load_rejects_invalid_files() {
    let folder = tempfile::tempdir().unwrap();

    let missing = folder.path().join("missing.json");
    let err = Tokenizer::load(&missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");

    let cases = [
        ("not_json.json", "not json"),
        ("unknown_kind.json", r#"{"kind":"wordpiece"}"#),
        ("bad_merge.json", r#"{"kind":"corpus","merges":["dog"]}"#),
        (
            "unknown_token.json",
            r#"{"kind":"corpus","merges":["do g</w>"]}"#,
        ),
    ];
    for (name, contents) in cases {
        let path = folder.path().join(name);
        std::fs::write(&path, contents).unwrap();
        let err = Tokenizer::load(&path).unwrap_err();
        assert!(matches!(err, Error::Tokenizer(_)), "{name}: {err:?}");
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn encode_works_from_several_threads() {
    let tokenizer = Tokenizer::clip().unwrap();
    let captions = sample_captions(200);
    let expected: Vec<Vec<i64>> = captions
        .iter()
        .map(|c| tokenizer.encode(c).unwrap())
        .collect();

    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for (caption, ids) in captions.iter().zip(&expected) {
                    assert_eq!(&tokenizer.encode(caption).unwrap(), ids);
                }
            });
        }
    });
}

/// Captions of made-up words built from syllables with a skewed, Zipf-like frequency, so that the
/// corpus has thousands of distinct words and enough pairs for a 4,096-token vocabulary.
fn syllable_captions(count: usize) -> Vec<String> {
    const SYLLABLES: [&str; 32] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ba", "de", "fi", "go", "hu", "ja", "ko",
        "le", "ma", "no", "pi", "qu", "re", "so", "tu", "ve", "wa", "xi", "yo", "ze", "str", "ng",
        "ph", "ck",
    ];
    // A linear congruential generator keeps the corpus the same on every run without a seed crate.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    (0..count)
        .map(|_| {
            let words = 3 + next(8);
            (0..words)
                .map(|_| {
                    let syllables = 1 + next(4);
                    // The product of two uniform draws favours small indices.
                    (0..syllables)
                        .map(|_| SYLLABLES[(next(32) * next(32) / 32) as usize])
                        .collect::<String>()
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Checks that training on 30,000 captions reaches 4,096 tokens in seconds. It took 0.15 s in
/// release mode and 0.27 s in the dev profile on a 2-core AMD EPYC virtual machine, so the 10 s bound
/// leaves room for a loaded machine. `--nocapture` shows the time.
#[test]
fn corpus_training_speed() {
    let captions = syllable_captions(30_000);
    let start = std::time::Instant::now();
    let tokenizer = Tokenizer::train_corpus(&captions, 4096).unwrap();
    let elapsed = start.elapsed();
    eprintln!(
        "trained {} tokens on {} captions in {elapsed:?}",
        tokenizer.vocab_size(),
        captions.len()
    );
    assert_eq!(tokenizer.vocab_size(), 4096);
    assert!(elapsed.as_secs_f64() < 10.0, "{elapsed:?}");
}
