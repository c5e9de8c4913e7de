//! The data set's `README.md` (counts, skipped items, licences) and `manifest.json`.

use std::fmt::Write as _;
use std::path::Path;

use super::{BuildSummary, SourceSummary, TSV_COLUMNS};
use crate::error::{Error, Result};

/// What each licence asks of anyone who redistributes the images.
fn licence_note(licence: &str) -> &'static str {
    match licence {
        "MIT" => "keep the copyright and licence notice",
        "Apache-2.0" => "keep the licence and NOTICE; state changes",
        "CC-BY-4.0" => "credit the authors (Twitter, Inc. and contributors)",
        "CC-BY-SA-4.0" => "credit OpenMoji; share adapted images under the same licence",
        "GPL-2.0" => "derived images and redistributions are under GPL-2.0; offer the source",
        _ => "see the package's licence file",
    }
}

fn write_skips(text: &mut String, source: &SourceSummary) {
    if source.skipped.is_empty() {
        let _ = writeln!(text, "- **{}**: none", source.name);
        return;
    }
    let reasons: Vec<String> = source
        .skipped
        .iter()
        .map(|(reason, count)| format!("{count} {reason}"))
        .collect();
    let _ = writeln!(text, "- **{}**: {}", source.name, reasons.join("; "));
}

/// Formats the README text.
pub fn readme_text(summary: &BuildSummary) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "# sparse-clip built-in data\n");
    let _ = writeln!(
        text,
        "Built by `sparse-clip data build` from the packages that `scripts/fetch-data.sh` downloads \
         (npm and Debian), in {:.1} s. Every image is a {size}x{size} RGB PNG with transparency composited \
         on white; a drawing that is not square is scaled to fit and padded with white.\n",
        summary.elapsed_seconds,
        size = summary.image_size
    );

    let _ = writeln!(text, "## Files\n");
    let train_styles: Vec<&str> = summary
        .styles
        .iter()
        .filter(|s| s.name != summary.holdout_style)
        .map(|s| s.name.as_str())
        .collect();
    let _ = writeln!(text, "| file | pairs | content |\n|---|---:|---|");
    let _ = writeln!(
        text,
        "| `train.tsv` | {} | emoji styles {} |",
        summary.train_rows,
        train_styles.join(", ")
    );
    let _ = writeln!(
        text,
        "| `val.tsv` | {} | the held-out emoji style `{}`, never seen in training |",
        summary.val_rows, summary.holdout_style
    );
    if summary.tuxpaint.is_some() {
        let _ = writeln!(
            text,
            "| `tuxpaint.tsv` | {} | Tux Paint stamps with sentence captions |",
            summary.tuxpaint_rows
        );
    }
    let _ = writeln!(
        text,
        "\nColumns, tab-separated, header first: `{}`. `filepath` is relative to this folder \
         (`images/<style>/<code>.png`). Tabs and line breaks in text are replaced by spaces.\n",
        TSV_COLUMNS.join("`, `")
    );
    let _ = writeln!(
        text,
        "- Emoji rows: `title` is the CLDR name and keywords from emojibase-data (\"dog face: adorbs, animal, \
         dog, face, pet, puppies, puppy\"; repeated keywords and a keyword equal to the name are left out), \
         `label` the CLDR name, `code` the emojibase codepoints, `category` and `subcategory` the Unicode \
         emoji group and subgroup from emoji-datasource. {} labelled codes{}.",
        summary.labelled_codes,
        if summary.include_skin_tones { ", skin tone variants included" } else { ", skin tone variants left out" }
    );
    let _ = writeln!(
        text,
        "- Tux Paint rows: `title` is the first line of the stamp's `.txt` file, `label` the stamp file \
         name, `code` the stamp path, `category` its folder (`animals/birds`), `subcategory` empty.\n"
    );

    let _ = writeln!(text, "## Sources and counts\n");
    let _ = writeln!(
        text,
        "| style | package | licence | found | written | labelled codes without an image |\n|---|---|---|---:|---:|---:|"
    );
    for source in summary.styles.iter().chain(summary.tuxpaint.as_ref()) {
        let missing = if source.name == super::TUXPAINT_STYLE {
            "-".to_string()
        } else {
            source.labelled_without_image.to_string()
        };
        let _ = writeln!(
            text,
            "| `{}` | {} | {} | {} | {} | {} |",
            source.name, source.package, source.licence, source.found, source.written, missing
        );
    }
    for source in &summary.text_sources {
        let _ = writeln!(
            text,
            "| (text) | {} | {} | - | - | - |",
            source.source, source.licence
        );
    }
    let _ = writeln!(text, "\nWhat each style is:\n");
    for source in summary.styles.iter().chain(summary.tuxpaint.as_ref()) {
        let _ = writeln!(text, "- `{}`: {}", source.name, source.description);
    }

    let _ = writeln!(text, "\n## Skipped items\n");
    for source in summary.styles.iter().chain(summary.tuxpaint.as_ref()) {
        write_skips(&mut text, source);
    }

    let _ = writeln!(text, "\n## Licences\n");
    let _ = writeln!(
        text,
        "The images and text keep the licences of their packages. This folder mixes them, so \
         redistribute each part under its own terms.\n"
    );
    let _ = writeln!(
        text,
        "| package | licence | redistribution |\n|---|---|---|"
    );
    let packages = summary
        .text_sources
        .iter()
        .map(|p| (p.source, p.licence))
        .chain(
            summary
                .styles
                .iter()
                .chain(summary.tuxpaint.as_ref())
                .map(|s| (s.package.as_str(), s.licence.as_str())),
        );
    for (package, licence) in packages {
        let _ = writeln!(
            text,
            "| {package} | {licence} | {} |",
            licence_note(licence)
        );
    }
    text
}

/// Writes `README.md`.
pub fn write_readme(path: &Path, summary: &BuildSummary) -> Result<()> {
    std::fs::write(path, readme_text(summary)).map_err(|e| Error::io("failed to write", path, e))
}

/// Writes `manifest.json`: the [`BuildSummary`] as pretty-printed JSON.
pub fn write_manifest(path: &Path, summary: &BuildSummary) -> Result<()> {
    let mut json = serde_json::to_string_pretty(summary)?;
    json.push('\n');
    std::fs::write(path, json).map_err(|e| Error::io("failed to write", path, e))
}
