//! Iconify icon sets (`@iconify-json/*`): SVG bodies stored in one `icons.json`, turned back into
//! standalone SVG documents.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Longest alias chain followed before an alias is treated as broken.
const MAX_ALIAS_DEPTH: usize = 8;

/// Default icon side in the Iconify JSON format when neither the icon nor the set gives one.
const DEFAULT_SIDE: f64 = 16.0;

/// An icon set as stored in `icons.json`.
#[derive(Debug, Deserialize)]
pub struct IconSet {
    #[serde(default)]
    pub icons: BTreeMap<String, Icon>,
    #[serde(default)]
    pub aliases: BTreeMap<String, Alias>,
    pub width: Option<f64>,
    pub height: Option<f64>,
    pub left: Option<f64>,
    pub top: Option<f64>,
}

/// One icon: the SVG content without the `<svg>` element, plus optional geometry and transforms.
#[derive(Debug, Deserialize)]
pub struct Icon {
    pub body: String,
    pub width: Option<f64>,
    pub height: Option<f64>,
    pub left: Option<f64>,
    pub top: Option<f64>,
    #[serde(default, rename = "hFlip")]
    pub h_flip: bool,
    #[serde(default, rename = "vFlip")]
    pub v_flip: bool,
    #[serde(default)]
    pub rotate: u32,
    /// Hidden icons are kept in the set for old names and are not shown in icon pickers.
    #[serde(default)]
    pub hidden: bool,
}

/// Another name for an icon, optionally flipped or rotated.
#[derive(Debug, Deserialize)]
pub struct Alias {
    pub parent: String,
    #[serde(default, rename = "hFlip")]
    pub h_flip: bool,
    #[serde(default, rename = "vFlip")]
    pub v_flip: bool,
    #[serde(default)]
    pub rotate: u32,
    #[serde(default)]
    pub hidden: bool,
}

/// A name resolved to its icon and the combined transforms of the alias chain.
#[derive(Debug)]
pub struct ResolvedIcon<'a> {
    pub icon: &'a Icon,
    pub h_flip: bool,
    pub v_flip: bool,
    /// Quarter turns clockwise.
    pub rotate: u32,
    pub hidden: bool,
}

impl IconSet {
    /// Reads an `icons.json` file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("failed to read icon set", path, e))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::Data(format!(
                "failed to parse Iconify icon set {}: {e}; delete its package folder and run scripts/fetch-data.sh again",
                path.display()
            ))
        })
    }

    /// Every icon and alias name, icons first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.icons
            .keys()
            .chain(self.aliases.keys())
            .map(String::as_str)
    }

    /// Follows aliases to the icon that a name stands for, combining their flips and rotations.
    /// Returns `None` for an unknown name, a dangling alias or an alias loop.
    pub fn resolve(&self, name: &str) -> Option<ResolvedIcon<'_>> {
        let mut current = name;
        let (mut h_flip, mut v_flip, mut rotate, mut hidden) = (false, false, 0u32, false);
        for _ in 0..=MAX_ALIAS_DEPTH {
            if let Some(icon) = self.icons.get(current) {
                let resolved = ResolvedIcon {
                    icon,
                    h_flip,
                    v_flip,
                    rotate,
                    hidden,
                };
                return Some(with_icon_transforms(resolved));
            }
            let alias = self.aliases.get(current)?;
            h_flip ^= alias.h_flip;
            v_flip ^= alias.v_flip;
            rotate += alias.rotate;
            hidden |= alias.hidden;
            current = &alias.parent;
        }
        None
    }

    /// Builds a standalone SVG document for a resolved icon. Flips and quarter-turn rotations are
    /// applied with a `transform`, as Iconify's own renderer does.
    pub fn to_svg(&self, resolved: &ResolvedIcon<'_>) -> String {
        let icon = resolved.icon;
        let left = icon.left.or(self.left).unwrap_or(0.0);
        let top = icon.top.or(self.top).unwrap_or(0.0);
        let width = icon.width.or(self.width).unwrap_or(DEFAULT_SIDE);
        let height = icon.height.or(self.height).unwrap_or(DEFAULT_SIDE);

        let mut transforms = Vec::new();
        if resolved.h_flip {
            transforms.push(format!("translate({} 0) scale(-1 1)", 2.0 * left + width));
        }
        if resolved.v_flip {
            transforms.push(format!("translate(0 {}) scale(1 -1)", 2.0 * top + height));
        }
        // Odd quarter turns swap the axes of the view box, as in Iconify's `iconToSVG`.
        let (view_left, view_top, view_width, view_height) = match resolved.rotate % 4 {
            1 => {
                let centre = top + height / 2.0;
                transforms.insert(0, format!("rotate(90 {centre} {centre})"));
                (top, left, height, width)
            }
            2 => {
                transforms.insert(
                    0,
                    format!("rotate(180 {} {})", left + width / 2.0, top + height / 2.0),
                );
                (left, top, width, height)
            }
            3 => {
                let centre = left + width / 2.0;
                transforms.insert(0, format!("rotate(-90 {centre} {centre})"));
                (top, left, height, width)
            }
            _ => (left, top, width, height),
        };

        let body = if transforms.is_empty() {
            icon.body.clone()
        } else {
            format!(
                "<g transform=\"{}\">{}</g>",
                transforms.join(" "),
                icon.body
            )
        };
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" \
             width=\"{view_width}\" height=\"{view_height}\" viewBox=\"{view_left} {view_top} {view_width} {view_height}\">{body}</svg>"
        )
    }
}

fn with_icon_transforms(mut resolved: ResolvedIcon<'_>) -> ResolvedIcon<'_> {
    resolved.h_flip ^= resolved.icon.h_flip;
    resolved.v_flip ^= resolved.icon.v_flip;
    resolved.rotate += resolved.icon.rotate;
    resolved.hidden |= resolved.icon.hidden;
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> IconSet {
        serde_json::from_str(
            r##"{"prefix": "test", "width": 32, "height": 32,
                "icons": {"arrow": {"body": "<path d=\"M0 0h16v32H0z\" fill=\"#000\"/>"},
                          "old": {"body": "<path/>", "hidden": true}},
                "aliases": {"arrow-flipped": {"parent": "arrow", "hFlip": true},
                            "arrow-twice": {"parent": "arrow-flipped", "hFlip": true},
                            "loop-a": {"parent": "loop-b"}, "loop-b": {"parent": "loop-a"},
                            "dangling": {"parent": "missing"}}}"##,
        )
        .unwrap()
    }

    #[test]
    fn resolves_aliases_and_flips() {
        let set = set();
        let flipped = set.resolve("arrow-flipped").unwrap();
        assert!(flipped.h_flip);
        let twice = set.resolve("arrow-twice").unwrap();
        assert!(!twice.h_flip, "two flips cancel");
        assert!(set.resolve("old").unwrap().hidden);
        assert!(set.resolve("loop-a").is_none());
        assert!(set.resolve("dangling").is_none());
        assert!(set.resolve("absent").is_none());
    }

    #[test]
    fn flipped_svg_renders_mirrored() {
        let set = set();
        let plain = set.to_svg(&set.resolve("arrow").unwrap());
        assert!(plain.contains("viewBox=\"0 0 32 32\""), "{plain}");
        let flipped = set.to_svg(&set.resolve("arrow-flipped").unwrap());
        let rgb = crate::data::load::render_svg(
            flipped.as_bytes(),
            Path::new("arrow-flipped.svg"),
            Some(32),
        )
        .unwrap();
        assert_eq!(
            rgb.get_pixel(4, 16).0,
            [255, 255, 255],
            "the left half must be empty after the flip"
        );
        assert_eq!(
            rgb.get_pixel(28, 16).0,
            [0, 0, 0],
            "the right half must be drawn after the flip"
        );
    }
}
