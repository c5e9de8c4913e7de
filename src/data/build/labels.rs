//! Emoji text: CLDR labels and keywords from `emojibase-data`, categories from `emoji-datasource`,
//! joined by codepoint.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::package::{package_dir, read_json, EMOJIBASE, EMOJI_DATASOURCE};
use crate::error::Result;

/// The five Fitzpatrick skin tone modifiers, U+1F3FB to U+1F3FF.
const SKIN_TONE_MODIFIERS: [&str; 5] = ["1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF"];

/// Tone suffixes of Iconify Fluent icon names ("waving-hand-light"), by emojibase `tone` number
/// (1 = light to 5 = dark).
const TONE_SUFFIXES: [(&str, u8); 5] = [
    ("medium-light", 2),
    ("medium-dark", 4),
    ("light", 1),
    ("medium", 3),
    ("dark", 5),
];

/// Iconify Fluent Emoji names that follow neither the CLDR label nor the Unicode name, mapped to
/// the CLDR label. Found by listing the names of `@iconify-json/fluent-emoji@1.2.7` that matched
/// no label.
const NAME_ALIASES: [(&str, &str); 30] = [
    ("blackbird", "black bird"),
    ("phoenix-bird", "phoenix"),
    ("red-triangle", "red triangle pointed up"),
    ("keycap-hashtag", "keycap: #"),
    ("keycap-asterisk", "keycap: *"),
    ("knocked-out-face", "face with crossed-out eyes"),
    ("japanese-hear-button", "Japanese “here” button"),
    ("person-blonde-hair", "person: blond hair"),
    ("man-blonde-hair", "man: blond hair"),
    ("woman-blonde-hair", "woman: blond hair"),
    ("person-deaf", "deaf person"),
    ("man-deaf", "deaf man"),
    ("woman-deaf", "deaf woman"),
    ("person-with-bunny-ears", "people with bunny ears"),
    ("man-with-bunny-ears", "men with bunny ears"),
    ("woman-with-bunny-ears", "women with bunny ears"),
    ("person-wrestling", "people wrestling"),
    ("man-wrestling", "men wrestling"),
    ("woman-wrestling", "women wrestling"),
    ("person-merpeople", "merperson"),
    ("man-merpeople", "merman"),
    ("woman-merpeople", "mermaid"),
    ("person-elf", "elf"),
    ("person-fairy", "fairy"),
    ("person-genie", "genie"),
    ("person-mage", "mage"),
    ("person-superhero", "superhero"),
    ("person-supervillain", "supervillain"),
    ("person-vampire", "vampire"),
    ("person-zombie", "zombie"),
];

/// Unicode emoji group names, keyed by the emojibase group slug. emoji-datasource uses these names.
const GROUP_NAMES: [(&str, &str); 10] = [
    ("smileys-emotion", "Smileys & Emotion"),
    ("people-body", "People & Body"),
    ("component", "Component"),
    ("animals-nature", "Animals & Nature"),
    ("food-drink", "Food & Drink"),
    ("travel-places", "Travel & Places"),
    ("activities", "Activities"),
    ("objects", "Objects"),
    ("symbols", "Symbols"),
    ("flags", "Flags"),
];

/// The text of one emoji.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmojiText {
    /// Codepoints as emojibase writes them, e.g. "1F436" or "2764-FE0F".
    pub hexcode: String,
    /// CLDR short name, e.g. "dog face".
    pub label: String,
    /// CLDR keywords; skin tone variants carry their base emoji's keywords.
    pub tags: Vec<String>,
    /// Unicode emoji group, e.g. "Animals & Nature" (empty for the regional indicator letters).
    pub category: String,
    /// Unicode emoji subgroup, e.g. "animal-mammal".
    pub subcategory: String,
    /// Whether the code carries a skin tone modifier (a variant of a base emoji).
    pub skin_tone: bool,
}

impl EmojiText {
    /// Formats the caption "label: tag, tag, ...", with repeated tags and a tag equal to the label
    /// left out; just the label when no tags remain.
    pub fn caption(&self) -> String {
        let mut kept: Vec<&str> = Vec::new();
        for tag in &self.tags {
            let tag = tag.trim();
            if tag.is_empty() || tag.eq_ignore_ascii_case(&self.label) || kept.contains(&tag) {
                continue;
            }
            kept.push(tag);
        }
        if kept.is_empty() {
            self.label.clone()
        } else {
            format!("{}: {}", self.label, kept.join(", "))
        }
    }
}

/// All labelled emoji, with indexes to find them by codepoint key or by Iconify-style name.
#[derive(Debug, Default)]
pub struct EmojiLabels {
    by_key: HashMap<String, EmojiText>,
    /// Slug of each CLDR label, to its key.
    by_slug: HashMap<String, String>,
    /// Slugs of other names (emoji-datasource Unicode names and short names, [`NAME_ALIASES`]).
    by_alias_slug: HashMap<String, String>,
    /// (key of the base emoji, emojibase tone number) to the key of the skin tone variant.
    by_base_and_tone: HashMap<(String, u8), String>,
}

#[derive(Deserialize)]
struct EmojibaseEntry {
    label: String,
    hexcode: String,
    #[serde(default)]
    tags: Vec<String>,
    group: Option<u32>,
    subgroup: Option<u32>,
    /// 1 (light) to 5 (dark) on skin tone variants; a list for multi-person variants.
    tone: Option<serde_json::Value>,
    #[serde(default)]
    skins: Vec<EmojibaseEntry>,
}

#[derive(Deserialize)]
struct EmojibaseGroups {
    groups: HashMap<String, String>,
    subgroups: HashMap<String, String>,
}

#[derive(Deserialize)]
struct DatasourceEntry {
    unified: String,
    /// Unicode character name, e.g. "HUGGING FACE".
    name: Option<String>,
    #[serde(default)]
    short_names: Vec<String>,
    category: String,
    subcategory: String,
    #[serde(default)]
    skin_variations: HashMap<String, DatasourceVariation>,
}

#[derive(Deserialize)]
struct DatasourceVariation {
    unified: String,
}

/// Normalises a codepoint sequence ("1f436", "2764-FE0F", "0023_fe0f_20e3") to the join key:
/// upper-case hex joined by "-", without the variation selectors U+FE0E and U+FE0F. Packages
/// disagree on whether they write the selectors, so the key leaves them out.
pub fn codepoint_key(code: &str) -> String {
    code.split(['-', '_', ' '])
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.trim_start_matches("U+")
                .trim_start_matches("u+")
                .to_ascii_uppercase()
        })
        .filter(|part| part != "FE0F" && part != "FE0E")
        .collect::<Vec<_>>()
        .join("-")
}

/// Whether a codepoint key contains a skin tone modifier and more than the modifier alone.
pub fn has_skin_tone(key: &str) -> bool {
    let parts: Vec<&str> = key.split('-').collect();
    parts.len() > 1 && parts.iter().any(|part| SKIN_TONE_MODIFIERS.contains(part))
}

/// Converts a name to the slug Iconify uses for emoji icon names: lower case, apostrophes and
/// non-ASCII letters dropped ("piñata" becomes "piata"), other runs of punctuation and spaces
/// replaced by one "-".
pub fn slug(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if c == '\'' || c == '\u{2019}' || !c.is_ascii() {
            continue;
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

impl EmojiLabels {
    /// Loads `emojibase-data` (labels, keywords, groups) and `emoji-datasource` (categories) from
    /// the raw data folder.
    pub fn load(raw_dir: &Path) -> Result<Self> {
        let emojibase = package_dir(raw_dir, &EMOJIBASE)?;
        let datasource = package_dir(raw_dir, &EMOJI_DATASOURCE)?;
        let entries: Vec<EmojibaseEntry> = read_json(&emojibase.join("en/data.json"), &EMOJIBASE)?;
        let groups: EmojibaseGroups = read_json(&emojibase.join("meta/groups.json"), &EMOJIBASE)?;
        let categories: Vec<DatasourceEntry> =
            read_json(&datasource.join("emoji.json"), &EMOJI_DATASOURCE)?;
        Ok(Self::from_parts(entries, &groups, categories))
    }

    fn from_parts(
        entries: Vec<EmojibaseEntry>,
        groups: &EmojibaseGroups,
        categories: Vec<DatasourceEntry>,
    ) -> Self {
        let mut category_by_key: HashMap<String, (String, String)> = HashMap::new();
        let mut other_names: Vec<(String, String)> = Vec::new();
        for entry in categories {
            let key = codepoint_key(&entry.unified);
            for name in entry.name.iter().chain(&entry.short_names) {
                other_names.push((slug(&name.replace('_', " ")), key.clone()));
            }
            let names = (entry.category, entry.subcategory);
            for variation in entry.skin_variations.values() {
                category_by_key.insert(codepoint_key(&variation.unified), names.clone());
            }
            category_by_key.insert(key, names);
        }

        let group_names: HashMap<&str, &str> = GROUP_NAMES.into_iter().collect();
        let fallback_category = |entry: &EmojibaseEntry| -> (String, String) {
            let group = entry
                .group
                .and_then(|g| groups.groups.get(&g.to_string()))
                .map(|slug| {
                    group_names
                        .get(slug.as_str())
                        .map(|name| name.to_string())
                        .unwrap_or_else(|| slug.clone())
                })
                .unwrap_or_default();
            let subgroup = entry
                .subgroup
                .and_then(|s| groups.subgroups.get(&s.to_string()))
                .cloned()
                .unwrap_or_default();
            (group, subgroup)
        };

        let mut labels = EmojiLabels::default();
        let mut key_by_label: HashMap<String, String> = HashMap::new();
        for entry in entries {
            let base_key = codepoint_key(&entry.hexcode);
            let mut variants: Vec<(&EmojibaseEntry, bool)> = vec![(&entry, false)];
            variants.extend(entry.skins.iter().map(|skin| (skin, true)));
            for (variant, is_skin) in variants {
                let key = codepoint_key(&variant.hexcode);
                // Skin tone variants without their own group take their base emoji's.
                let grouped = if variant.group.is_some() {
                    variant
                } else {
                    &entry
                };
                let (category, subcategory) = category_by_key
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| fallback_category(grouped));
                let tags = if variant.tags.is_empty() {
                    entry.tags.clone()
                } else {
                    variant.tags.clone()
                };
                labels
                    .by_slug
                    .entry(slug(&variant.label))
                    .or_insert_with(|| key.clone());
                key_by_label
                    .entry(variant.label.clone())
                    .or_insert_with(|| key.clone());
                // Only single-tone variants get an index entry; multi-person variants list a tone each.
                let tone = variant
                    .tone
                    .as_ref()
                    .and_then(|t| t.as_u64())
                    .and_then(|t| u8::try_from(t).ok());
                if let (true, Some(tone)) = (is_skin, tone) {
                    labels
                        .by_base_and_tone
                        .entry((base_key.clone(), tone))
                        .or_insert_with(|| key.clone());
                }
                let text = EmojiText {
                    hexcode: variant.hexcode.clone(),
                    label: variant.label.clone(),
                    tags,
                    category,
                    subcategory,
                    skin_tone: is_skin || has_skin_tone(&key),
                };
                labels.by_key.entry(key).or_insert(text);
            }
        }

        // Exact labels, not slugs: "keycap: #" and "keycap: *" share the slug "keycap".
        for (name, label) in NAME_ALIASES {
            if let Some(key) = key_by_label.get(label) {
                labels.by_alias_slug.insert(name.to_string(), key.clone());
            }
        }
        for (name, key) in other_names {
            if !labels.by_slug.contains_key(&name) {
                labels.by_alias_slug.entry(name).or_insert(key);
            }
        }
        labels
    }

    /// Looks up an emoji by codepoint key (see [`codepoint_key`]).
    pub fn get(&self, key: &str) -> Option<&EmojiText> {
        self.by_key.get(key)
    }

    /// Number of labelled codes, skin tone variants included.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Iterates over all labelled emoji.
    pub fn iter(&self) -> impl Iterator<Item = &EmojiText> {
        self.by_key.values()
    }

    /// Finds the codepoint key for an Iconify-style icon name: as the slug of a CLDR label
    /// ("dog-face"), of another name ("hugging-face"), or as such a name plus a tone suffix
    /// ("waving-hand-light").
    pub fn key_for_name(&self, name: &str) -> Option<&str> {
        if let Some(key) = self.key_for_base_name(name) {
            return Some(key);
        }
        for (suffix, tone) in TONE_SUFFIXES {
            if let Some(base) = name
                .strip_suffix(suffix)
                .and_then(|rest| rest.strip_suffix('-'))
            {
                let base_key = self.key_for_base_name(base)?;
                return self
                    .by_base_and_tone
                    .get(&(base_key.to_string(), tone))
                    .map(String::as_str);
            }
        }
        None
    }

    fn key_for_base_name(&self, name: &str) -> Option<&str> {
        self.by_slug
            .get(name)
            .or_else(|| self.by_alias_slug.get(name))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(label: &str, tags: &[&str]) -> EmojiText {
        EmojiText {
            hexcode: "1F436".into(),
            label: label.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            category: String::new(),
            subcategory: String::new(),
            skin_tone: false,
        }
    }

    #[test]
    fn caption_dedupes_and_drops_label() {
        let caption = text("dog", &["animal", "dog", "pet", "animal", " "]).caption();
        assert_eq!(caption, "dog: animal, pet");
        assert_eq!(text("dog face", &[]).caption(), "dog face");
        assert_eq!(text("dog", &["dog"]).caption(), "dog");
    }

    #[test]
    fn key_ignores_case_and_selectors() {
        assert_eq!(codepoint_key("2764-fe0f"), "2764");
        assert_eq!(codepoint_key("0023-FE0F-20E3"), "0023-20E3");
        assert_eq!(codepoint_key("1f44b_1f3fb"), "1F44B-1F3FB");
        assert!(has_skin_tone("1F44B-1F3FB"));
        assert!(
            !has_skin_tone("1F3FB"),
            "the modifier alone is not a variant"
        );
        assert!(!has_skin_tone("1F436"));
    }

    #[test]
    fn slug_matches_iconify_names() {
        assert_eq!(slug("dog face"), "dog-face");
        assert_eq!(slug("piñata"), "piata");
        assert_eq!(slug("man’s shoe"), "mans-shoe");
        assert_eq!(slug("keycap: #"), "keycap");
        assert_eq!(slug("flag: Côte d’Ivoire"), "flag-cte-divoire");
    }

    #[test]
    fn names_resolve_with_tones_and_aliases() {
        let entries: Vec<EmojibaseEntry> = serde_json::from_str(
            r#"[{"label": "waving hand", "hexcode": "1F44B", "tags": ["hand", "wave"], "group": 1, "subgroup": 15,
                 "skins": [{"label": "waving hand: light skin tone", "hexcode": "1F44B-1F3FB", "tone": 1},
                           {"label": "waving hand: dark skin tone", "hexcode": "1F44B-1F3FF", "tone": 5}]},
                {"label": "deaf person", "hexcode": "1F9CF", "group": 1, "subgroup": 17,
                 "skins": [{"label": "deaf person: medium-light skin tone", "hexcode": "1F9CF-1F3FC", "tone": 2}]},
                {"label": "smiling face with open hands", "hexcode": "1F917", "group": 0, "subgroup": 2},
                {"label": "keycap: #", "hexcode": "0023-FE0F-20E3"},
                {"label": "keycap: *", "hexcode": "002A-FE0F-20E3"}]"#,
        )
        .unwrap();
        let groups: EmojibaseGroups = serde_json::from_str(
            r#"{"groups": {"0": "smileys-emotion", "1": "people-body"},
                "subgroups": {"2": "face-hand", "15": "hand-fingers-open", "17": "person"}}"#,
        )
        .unwrap();
        let categories: Vec<DatasourceEntry> = serde_json::from_str(
            r#"[{"unified": "1F917", "name": "HUGGING FACE", "short_names": ["hugging_face"],
                 "category": "Smileys & Emotion", "subcategory": "face-hand"}]"#,
        )
        .unwrap();
        let labels = EmojiLabels::from_parts(entries, &groups, categories);

        assert_eq!(labels.len(), 8);
        assert_eq!(labels.key_for_name("waving-hand"), Some("1F44B"));
        assert_eq!(
            labels.key_for_name("waving-hand-light"),
            Some("1F44B-1F3FB")
        );
        assert_eq!(labels.key_for_name("waving-hand-dark"), Some("1F44B-1F3FF"));
        assert_eq!(
            labels.key_for_name("waving-hand-medium"),
            None,
            "the slice has no medium variant"
        );
        assert_eq!(
            labels.key_for_name("hugging-face"),
            Some("1F917"),
            "Unicode name from emoji-datasource"
        );
        assert_eq!(
            labels.key_for_name("person-deaf-medium-light"),
            Some("1F9CF-1F3FC"),
            "alias plus tone"
        );
        assert_eq!(labels.key_for_name("no-such-emoji"), None);
        assert_eq!(labels.key_for_name("keycap-hashtag"), Some("0023-20E3"));
        assert_eq!(
            labels.key_for_name("keycap-asterisk"),
            Some("002A-20E3"),
            "the slugs of # and * collide"
        );

        let light = labels.get("1F44B-1F3FB").unwrap();
        assert!(light.skin_tone);
        assert_eq!(
            light.tags,
            vec!["hand", "wave"],
            "variants carry the base keywords"
        );
        assert_eq!(
            light.category, "People & Body",
            "category from the emojibase group"
        );
        assert_eq!(light.subcategory, "hand-fingers-open");
        assert_eq!(labels.get("1F917").unwrap().category, "Smileys & Emotion");
    }
}
