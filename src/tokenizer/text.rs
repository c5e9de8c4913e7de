//! Text cleaning and pre-tokenization shared by both tokenizers. Both follow `simple_tokenizer.py`
//! from OpenAI CLIP (github.com/openai/CLIP, `clip/simple_tokenizer.py`).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// Text of the start-of-text special token.
pub const SOT_TEXT: &str = "<|startoftext|>";
/// Text of the end-of-text special token.
pub const EOT_TEXT: &str = "<|endoftext|>";

/// CLIP's pre-tokenizer: the special tokens, English contractions, letter runs, single digits and
/// runs of other non-space characters. Every non-whitespace character lands in some match.
static PRE_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+",
    )
    .expect("the pre-tokenizer pattern is a valid regex")
});

/// Cleans a caption as CLIP does before tokenizing: unescapes HTML entities twice, collapses runs of
/// whitespace to one space, trims both ends and lowercases.
///
/// NOTE: CLIP first repairs broken Unicode (mojibake) with `ftfy.fix_text`. This port has no ftfy, so
/// text with encoding damage can get other ids than CLIP's Python tokenizer gives it. Clean text,
/// including emoji and accented letters, is unaffected.
pub fn clean_text(text: &str) -> String {
    let once = unescape_html(text);
    let unescaped = unescape_html(&once);
    let collapsed = unescaped.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.to_lowercase()
}

/// Splits cleaned text into pre-tokens, the units that BPE merges never cross.
pub fn pre_tokens(cleaned: &str) -> impl Iterator<Item = &str> {
    PRE_TOKEN.find_iter(cleaned).map(|m| m.as_str())
}

/// Replaces HTML character references with the characters they stand for.
///
/// NOTE: Python's `html.unescape` decodes every HTML5 entity name and accepts some without the final
/// semicolon, and it maps some numeric references to control characters elsewhere. This decodes
/// numeric references (`&#39;`, `&#x27;`) to their code points and the names amp, lt, gt, quot, apos
/// and nbsp, and only with the semicolon. Other references stay as they are.
fn unescape_html(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }

    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        match decode_reference(rest) {
            Some((ch, len)) => {
                out.push(ch);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Decodes the character reference at the start of `text`, which begins with `&`. Returns the
/// character and the byte length of the reference, or `None` when no known reference starts there.
fn decode_reference(text: &str) -> Option<(char, usize)> {
    // The maximum length of a reference decoded here is 10 bytes (`&#x10FFFF;`), so the semicolon
    // must be within the first 12 bytes.
    let semicolon = text.bytes().take(12).position(|b| b == b';')?;
    let name = &text[1..semicolon];

    let ch = if let Some(number) = name.strip_prefix('#') {
        let (digits, radix) = match number.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16),
            None => (number, 10),
        };
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        // Like Python's `html.unescape`, an invalid code point (NUL, a surrogate, or one past
        // U+10FFFF) becomes U+FFFD.
        u32::from_str_radix(digits, radix)
            .ok()
            .and_then(char::from_u32)
            .filter(|&c| c != '\0')
            .unwrap_or(char::REPLACEMENT_CHARACTER)
    } else {
        match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            "nbsp" => '\u{a0}',
            _ => return None,
        }
    };
    Some((ch, semicolon + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_collapses_whitespace_and_lowercases() {
        assert_eq!(clean_text("  A  Photo\tof\n\na CAT  "), "a photo of a cat");
        assert_eq!(clean_text("\u{a0}Café\u{2003}Déjà "), "café déjà");
        assert_eq!(clean_text(" \t\n "), "");
    }

    #[test]
    fn clean_text_unescapes_html_twice() {
        assert_eq!(clean_text("Tom &amp; Jerry"), "tom & jerry");
        assert_eq!(clean_text("Tom &amp;amp; Jerry"), "tom & jerry");
        assert_eq!(clean_text("it&#39;s &#x27;x&#X27;"), "it's 'x'");
        assert_eq!(clean_text("a&nbsp;b"), "a b");
        assert_eq!(
            clean_text("&#0; &#xD800; &#x110000;"),
            "\u{fffd} \u{fffd} \u{fffd}"
        );
    }

    #[test]
    fn unescape_html_keeps_unknown_references() {
        assert_eq!(
            unescape_html("R&D &foo; &# &#; &#x; &#12a; &"),
            "R&D &foo; &# &#; &#x; &#12a; &"
        );
        assert_eq!(unescape_html("&&amp;"), "&&");
        assert_eq!(
            unescape_html("&#99999999999999999999;"),
            "&#99999999999999999999;"
        );
    }

    #[test]
    fn pre_tokens_follow_clip_pattern() {
        let cleaned = clean_text("It's 2024: a <|endoftext|> dog's toy!!");
        let tokens: Vec<&str> = pre_tokens(&cleaned).collect();
        assert_eq!(
            tokens,
            [
                "it",
                "'s",
                "2",
                "0",
                "2",
                "4",
                ":",
                "a",
                "<|endoftext|>",
                "dog",
                "'s",
                "toy",
                "!!"
            ]
        );
    }

    #[test]
    fn pre_tokens_cover_emoji_and_accents() {
        let cleaned = clean_text("crème brûlée 🍮🐶 naïve");
        let tokens: Vec<&str> = pre_tokens(&cleaned).collect();
        assert_eq!(tokens, ["crème", "brûlée", "🍮🐶", "naïve"]);
    }
}
