//! The emoji art styles: which package holds each one and how its images are named.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::iconify::IconSet;
use super::labels::{codepoint_key, EmojiLabels};
use super::package::{
    package_dir, read_json, Package, FLUENT_3D, FLUENT_COLOR, GOOGLE, NOTO, OPENMOJI, TWITTER,
};
use super::render::ImageSource;
use crate::error::{Error, Result};

/// How a style package stores its images.
#[derive(Clone, Copy, Debug)]
pub enum Layout {
    /// One file per emoji, named by codepoints ("1f436.png", "2764-FE0F.svg"), in `dir`.
    Files {
        dir: &'static str,
        extension: &'static str,
    },
    /// An Iconify `icons.json` with SVG bodies, named by slug ("dog-face"), plus an optional
    /// `chars.json` that maps codepoints to names.
    Iconify,
}

/// An emoji art style.
#[derive(Clone, Copy, Debug)]
pub struct EmojiStyle {
    /// Name used in the `style` column and in `images/<style>/`.
    pub name: &'static str,
    pub package: Package,
    pub layout: Layout,
    /// What the images are, for the data README.
    pub description: &'static str,
}

/// Every emoji style the builder knows, in output order.
pub const EMOJI_STYLES: [EmojiStyle; 6] = [
    EmojiStyle {
        name: "google",
        package: GOOGLE,
        layout: Layout::Files {
            dir: "img/google/64",
            extension: "png",
        },
        description: "Noto Color Emoji as drawn by Google, 64x64 PNG",
    },
    EmojiStyle {
        name: "twitter",
        package: TWITTER,
        layout: Layout::Files {
            dir: "img/twitter/64",
            extension: "png",
        },
        description: "Twemoji, 64x64 PNG",
    },
    EmojiStyle {
        name: "fluent-3d",
        package: FLUENT_3D,
        layout: Layout::Files {
            dir: "assets",
            extension: "webp",
        },
        description: "Microsoft Fluent Emoji 3D renders, 256x256 WebP",
    },
    EmojiStyle {
        name: "openmoji",
        package: OPENMOJI,
        layout: Layout::Files {
            dir: "color/svg",
            extension: "svg",
        },
        description: "OpenMoji colour SVG",
    },
    EmojiStyle {
        name: "noto",
        package: NOTO,
        layout: Layout::Iconify,
        description: "Noto Emoji SVG (Iconify set `noto`)",
    },
    EmojiStyle {
        name: "fluent-color",
        package: FLUENT_COLOR,
        layout: Layout::Iconify,
        description:
            "Microsoft Fluent Emoji, colour (flat gradient) SVG (Iconify set `fluent-emoji`)",
    },
];

/// Finds a style by name.
pub fn emoji_style(name: &str) -> Option<&'static EmojiStyle> {
    EMOJI_STYLES.iter().find(|style| style.name == name)
}

/// One image of a style, keyed by codepoint.
#[derive(Clone, Debug)]
pub struct StyleItem {
    /// Codepoint key (see [`codepoint_key`]).
    pub key: String,
    pub source: ImageSource,
}

/// The images found in a style package, before joining them to labels.
#[derive(Debug, Default)]
pub struct StyleListing {
    /// Image files or icons found in the package.
    pub found: usize,
    pub items: Vec<StyleItem>,
    /// Images left out while listing, by reason.
    pub skipped: BTreeMap<String, usize>,
}

impl StyleListing {
    fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
    }
}

/// Lists the images of a style. `labels` maps Iconify names to codepoints.
pub fn list_style(
    style: &EmojiStyle,
    raw_dir: &Path,
    labels: &EmojiLabels,
) -> Result<StyleListing> {
    let root = package_dir(raw_dir, &style.package)?;
    match style.layout {
        Layout::Files { dir, extension } => list_files(&root.join(dir), extension),
        Layout::Iconify => list_iconify(&root, style, labels),
    }
}

fn list_files(dir: &Path, extension: &str) -> Result<StyleListing> {
    if !dir.is_dir() {
        return Err(Error::Data(format!(
            "image folder {} not found; the package is incomplete, delete it and run scripts/fetch-data.sh again",
            dir.display()
        )));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("failed to list", dir, e))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("failed to list", dir, e))?;
        let path = entry.path();
        let matches = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case(extension));
        if matches {
            paths.push(path);
        }
    }
    paths.sort();

    let mut listing = StyleListing::default();
    for path in paths {
        listing.found += 1;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if !is_codepoint_sequence(stem) {
            listing.skip("file name is not a codepoint sequence");
            continue;
        }
        listing.items.push(StyleItem {
            key: codepoint_key(stem),
            source: ImageSource::File(path),
        });
    }
    Ok(listing)
}

fn is_codepoint_sequence(stem: &str) -> bool {
    !stem.is_empty()
        && stem.split(['-', '_']).all(|part| {
            (1..=6).contains(&part.len()) && part.chars().all(|c| c.is_ascii_hexdigit())
        })
}

fn list_iconify(root: &Path, style: &EmojiStyle, labels: &EmojiLabels) -> Result<StyleListing> {
    let icons_path = root.join("icons.json");
    let set = IconSet::load(&icons_path)?;
    let chars_path = root.join("chars.json");
    let chars: BTreeMap<String, String> = if chars_path.is_file() {
        read_json(&chars_path, &style.package)?
    } else {
        BTreeMap::new()
    };

    let mut listing = StyleListing::default();
    let mut named: HashSet<&str> = HashSet::new();
    let push = |listing: &mut StyleListing, key: String, name: &str| {
        let Some(resolved) = set.resolve(name) else {
            listing.skip("icon alias points to no icon");
            return;
        };
        listing.items.push(StyleItem {
            key,
            source: ImageSource::SvgText {
                name: format!("{}#{name}", icons_path.display()),
                text: set.to_svg(&resolved),
            },
        });
    };

    // chars.json is the set's own codepoint map, so its entries come first. Names it does not
    // cover are matched to CLDR labels by slug; visible icons come before hidden ones, so that a
    // hidden duplicate loses the codepoint to the visible icon.
    for (code, name) in &chars {
        if !is_codepoint_sequence(code) {
            continue;
        }
        listing.found += 1;
        named.insert(name.as_str());
        push(&mut listing, codepoint_key(code), name);
    }
    let mut remaining: Vec<(bool, &str)> = set
        .names()
        .filter(|name| !named.contains(name))
        .map(|name| (set.resolve(name).is_none_or(|r| r.hidden), name))
        .collect();
    remaining.sort();
    for (_, name) in remaining {
        listing.found += 1;
        match labels.key_for_name(name) {
            Some(key) => push(&mut listing, key.to_string(), name),
            None => listing.skip("icon name matches no emojibase label"),
        }
    }
    Ok(listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codepoint_file_names() {
        assert!(is_codepoint_sequence("1f436"));
        assert!(is_codepoint_sequence("0023-FE0F-20E3"));
        assert!(!is_codepoint_sequence("dog-face"));
        assert!(!is_codepoint_sequence(""));
        assert!(!is_codepoint_sequence("1f436--1f3fb"));
    }

    #[test]
    fn style_names_are_unique() {
        let names: HashSet<&str> = EMOJI_STYLES.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), EMOJI_STYLES.len());
        assert!(emoji_style("fluent-3d").is_some());
        assert!(emoji_style("apple").is_none());
    }
}
