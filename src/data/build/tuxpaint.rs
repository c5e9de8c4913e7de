//! Tux Paint stamps: a PNG or SVG image per stamp, captioned by the first line of the stamp's
//! `.txt` file (an English sentence; the following lines hold translations).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A captioned stamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The image to render: the SVG when the stamp has one, else the PNG.
    pub image: PathBuf,
    /// Path of the stamp without extension, relative to the stamps folder, with "/" separators
    /// ("animals/birds/heron").
    pub stem: String,
    /// Folder of the stamp relative to the stamps folder ("animals/birds").
    pub category: String,
    /// Stamp file name with "_" read as a space ("great blue heron").
    pub name: String,
    /// First line of the `.txt` file, trimmed.
    pub caption: String,
}

/// The stamps found, and the ones left out by reason.
#[derive(Debug, Default)]
pub struct StampListing {
    /// Stamp names (paths without extension) with an image or a caption file.
    pub found: usize,
    pub stamps: Vec<Stamp>,
    pub skipped: BTreeMap<String, usize>,
}

#[derive(Default)]
struct StampFiles {
    png: Option<PathBuf>,
    svg: Option<PathBuf>,
    txt: Option<PathBuf>,
}

/// Lists the stamps under `stamps_dir` (the package's `usr/share/tuxpaint/stamps`).
///
/// A stamp without a `.txt` file or with an empty first line is skipped and counted, as are
/// caption files without an image. When a stamp has both an SVG and a PNG, the SVG is used, as
/// Tux Paint itself prefers it, and the PNG is counted as unused.
pub fn list_stamps(stamps_dir: &Path) -> Result<StampListing> {
    let mut files: BTreeMap<String, StampFiles> = BTreeMap::new();
    collect_files(stamps_dir, "", &mut files)?;

    let mut listing = StampListing {
        found: files.len(),
        ..StampListing::default()
    };
    let mut skip = |reason: &str| *listing.skipped.entry(reason.to_string()).or_default() += 1;
    let mut stamps = Vec::new();
    for (stem, entry) in files {
        let image = match (entry.svg, entry.png) {
            (Some(svg), Some(_)) => {
                skip("PNG not used because the stamp also has an SVG");
                svg
            }
            (Some(svg), None) => svg,
            (None, Some(png)) => png,
            (None, None) => {
                skip("caption file without an image");
                continue;
            }
        };
        let Some(txt) = entry.txt else {
            skip("no caption file (.txt)");
            continue;
        };
        let caption = match read_first_line(&txt)? {
            FirstLine::Text(caption) if !caption.is_empty() => caption,
            FirstLine::Text(_) => {
                skip("empty caption");
                continue;
            }
            FirstLine::NotUtf8 => {
                tracing::warn!(file = %txt.display(), "Tux Paint caption is not UTF-8; skipping the stamp");
                skip("caption is not UTF-8");
                continue;
            }
        };
        let (category, file_name) = match stem.rsplit_once('/') {
            Some((folder, name)) => (folder.to_string(), name),
            None => (String::new(), stem.as_str()),
        };
        stamps.push(Stamp {
            image,
            category,
            name: file_name.replace('_', " "),
            caption,
            stem: stem.clone(),
        });
    }
    listing.stamps = stamps;
    Ok(listing)
}

/// Walks `dir` recursively, grouping `.png`, `.svg` and `.txt` files by path without extension.
/// Symbolic links to folders are not followed.
fn collect_files(dir: &Path, prefix: &str, files: &mut BTreeMap<String, StampFiles>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("failed to list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("failed to list", dir, e))?;
        let path = entry.path();
        let file_type = entry
            .file_type()
            .map_err(|e| Error::io("failed to inspect", &path, e))?;
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            tracing::warn!(path = %path.display(), "skipping a Tux Paint file whose name is not UTF-8");
            continue;
        };
        let relative = if prefix.is_empty() {
            file_name.to_string()
        } else {
            format!("{prefix}/{file_name}")
        };
        if file_type.is_dir() {
            collect_files(&path, &relative, files)?;
            continue;
        }
        if !path.is_file() {
            continue;
        }
        let Some((stem, extension)) = relative.rsplit_once('.') else {
            continue;
        };
        let extension = extension.to_ascii_lowercase();
        if !matches!(extension.as_str(), "png" | "svg" | "txt") {
            continue;
        }
        let stamp = files.entry(stem.to_string()).or_default();
        match extension.as_str() {
            "png" => stamp.png = Some(path),
            "svg" => stamp.svg = Some(path),
            _ => stamp.txt = Some(path),
        }
    }
    Ok(())
}

enum FirstLine {
    Text(String),
    NotUtf8,
}

fn read_first_line(path: &Path) -> Result<FirstLine> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("failed to read caption", path, e))?;
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let Ok(text) = std::str::from_utf8(first) else {
        return Ok(FirstLine::NotUtf8);
    };
    Ok(FirstLine::Text(
        text.trim_start_matches('\u{feff}').trim().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_stamps_and_counts_skips() {
        let dir = tempfile::tempdir().unwrap();
        let birds = dir.path().join("animals/birds");
        std::fs::create_dir_all(&birds).unwrap();
        std::fs::write(birds.join("great_heron.png"), b"png").unwrap();
        std::fs::write(
            birds.join("great_heron.txt"),
            "A great blue heron.\nde.utf8=Ein Reiher.\n",
        )
        .unwrap();
        std::fs::write(birds.join("great_heron_mirror.png"), b"png").unwrap();
        std::fs::write(birds.join("owl.svg"), b"svg").unwrap();
        std::fs::write(birds.join("owl.png"), b"png").unwrap();
        std::fs::write(birds.join("owl.txt"), "\u{feff} An owl. \r\n").unwrap();
        std::fs::write(birds.join("blank.png"), b"png").unwrap();
        std::fs::write(birds.join("blank.txt"), "\nde.utf8=Leer\n").unwrap();
        std::fs::write(dir.path().join("gift.txt"), "A gift.\n").unwrap();

        let listing = list_stamps(dir.path()).unwrap();
        let captions: Vec<(&str, &str)> = listing
            .stamps
            .iter()
            .map(|s| (s.stem.as_str(), s.caption.as_str()))
            .collect();
        assert_eq!(
            captions,
            vec![
                ("animals/birds/great_heron", "A great blue heron."),
                ("animals/birds/owl", "An owl.")
            ]
        );
        assert_eq!(listing.stamps[0].category, "animals/birds");
        assert_eq!(listing.stamps[0].name, "great heron");
        assert!(
            listing.stamps[1].image.ends_with("owl.svg"),
            "the SVG must win over the PNG"
        );
        assert_eq!(listing.skipped.get("no caption file (.txt)"), Some(&1));
        assert_eq!(listing.skipped.get("empty caption"), Some(&1));
        assert_eq!(
            listing.skipped.get("caption file without an image"),
            Some(&1)
        );
        assert_eq!(
            listing
                .skipped
                .get("PNG not used because the stamp also has an SVG"),
            Some(&1)
        );
        assert_eq!(listing.found, 5);
    }
}
