//! The built-in data set: emoji in several art styles, captioned with CLDR names and keywords, and
//! Tux Paint stamps with sentence captions, rendered to square PNGs and listed in TSV files.
//!
//! Input is the raw data folder that `scripts/fetch-data.sh` fills. Output, under `out_dir`:
//! `images/<style>/<code>.png`, `train.tsv` (every emoji style but the held-out one), `val.tsv`
//! (the held-out style), `tuxpaint.tsv`, `README.md` and `manifest.json`.

mod iconify;
mod labels;
mod package;
mod readme;
mod render;
mod styles;
mod tuxpaint;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use super::parallel::{for_each_parallel, progress_bar, resolve_threads};
use super::tsv::write_tsv;
use crate::error::{Error, Result};

pub use labels::{codepoint_key, EmojiLabels, EmojiText};
pub use package::Package;
pub use render::{fit_square, render_source, ImageSource};
pub use styles::{emoji_style, EmojiStyle, EMOJI_STYLES};
pub use tuxpaint::{list_stamps, Stamp};

/// Columns of the TSV files the builder writes, in order.
pub const TSV_COLUMNS: [&str; 7] = [
    "filepath",
    "title",
    "label",
    "style",
    "code",
    "category",
    "subcategory",
];

/// Style name of the Tux Paint rows.
pub const TUXPAINT_STYLE: &str = "tuxpaint";

/// Largest accepted output image side, in pixels.
pub const MAX_IMAGE_SIZE: u32 = 1024;

/// Failed images reported one by one before the rest are only counted.
const MAX_WARNINGS: usize = 20;

/// Settings of [`build`].
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Folder filled by `scripts/fetch-data.sh` (`$SPARSE_CLIP_RAW`).
    pub raw_dir: PathBuf,
    /// Folder that receives the images, TSV files, README and manifest.
    pub out_dir: PathBuf,
    /// Side of the square output images, in pixels.
    pub image_size: u32,
    /// Emoji styles to build; empty means all of [`EMOJI_STYLES`].
    pub styles: Vec<String>,
    /// Style written to `val.tsv` instead of `train.tsv`; it must be one of the built styles.
    pub holdout_style: String,
    /// Whether to include skin tone variants of people and hand emoji (about 2,000 extra codes).
    pub include_skin_tones: bool,
    /// Whether to build `tuxpaint.tsv` from the Tux Paint stamps.
    pub include_tuxpaint: bool,
    /// Worker threads for rendering; 0 means one per core.
    pub threads: usize,
}

impl BuildOptions {
    /// Creates options with the defaults: 64-pixel images, all styles, `fluent-3d` held out, no skin
    /// tone variants, Tux Paint included, one thread per core.
    pub fn new(raw_dir: impl Into<PathBuf>, out_dir: impl Into<PathBuf>) -> Self {
        BuildOptions {
            raw_dir: raw_dir.into(),
            out_dir: out_dir.into(),
            image_size: 64,
            styles: Vec::new(),
            holdout_style: "fluent-3d".to_string(),
            include_skin_tones: false,
            include_tuxpaint: true,
            threads: 0,
        }
    }
}

/// Counts for one source (an emoji style or the Tux Paint stamps).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SourceSummary {
    /// Style name as in the `style` column.
    pub name: String,
    /// Registry and package the images come from.
    pub package: String,
    pub licence: String,
    pub description: String,
    /// Image files, icons or stamps found in the package.
    pub found: usize,
    /// Rows written (one image each).
    pub written: usize,
    /// Labelled emoji codes (after the skin tone filter) that this style has no image for.
    pub labelled_without_image: usize,
    /// Items left out, by reason.
    pub skipped: BTreeMap<String, usize>,
}

/// What [`build`] wrote; also saved as `manifest.json`.
#[derive(Clone, Debug, Serialize)]
pub struct BuildSummary {
    pub image_size: u32,
    pub holdout_style: String,
    pub include_skin_tones: bool,
    /// emojibase codes with a label, after the skin tone filter.
    pub labelled_codes: usize,
    /// Packages that supply the emoji text.
    pub text_sources: Vec<Package>,
    pub styles: Vec<SourceSummary>,
    pub tuxpaint: Option<SourceSummary>,
    pub tsv_columns: Vec<String>,
    pub train_rows: usize,
    pub val_rows: usize,
    pub tuxpaint_rows: usize,
    /// Wall-clock time of the build, in seconds.
    pub elapsed_seconds: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Split {
    Train,
    Val,
    TuxPaint,
}

/// One image to render and the TSV row it belongs to.
struct Job {
    source: ImageSource,
    output: PathBuf,
    row: Vec<String>,
    split: Split,
    /// Index into the list of source summaries (styles first, then Tux Paint).
    summary: usize,
}

/// Builds the data set described in the module documentation and returns its counts.
///
/// Fails when a selected package folder is missing (the message names it and says to run
/// `scripts/fetch-data.sh`), when options are invalid, or when an output file cannot be written.
/// An image that cannot be decoded or rendered is skipped with a warning and counted.
pub fn build(options: &BuildOptions) -> Result<BuildSummary> {
    let started = Instant::now();
    let styles = selected_styles(options)?;
    check_inputs(options, &styles)?;
    std::fs::create_dir_all(&options.out_dir)
        .map_err(|e| Error::io("failed to create", &options.out_dir, e))?;

    let mut summaries = Vec::new();
    let mut jobs = Vec::new();
    let mut labelled_codes = 0;
    if !styles.is_empty() {
        let labels = EmojiLabels::load(&options.raw_dir)?;
        labelled_codes = labels
            .iter()
            .filter(|text| options.include_skin_tones || !text.skin_tone)
            .count();
        tracing::info!(labelled_codes, "loaded emoji labels");
        for style in &styles {
            let split = if style.name == options.holdout_style {
                Split::Val
            } else {
                Split::Train
            };
            let summary = plan_style(style, &labels, options, split, summaries.len(), &mut jobs)?;
            tracing::info!(
                style = style.name,
                found = summary.found,
                images = summary.written,
                "listed style"
            );
            summaries.push(summary);
        }
    }
    if options.include_tuxpaint {
        let summary = plan_tuxpaint(options, summaries.len(), &mut jobs)?;
        tracing::info!(
            found = summary.found,
            stamps = summary.written,
            "listed Tux Paint stamps"
        );
        summaries.push(summary);
    }

    let failures = render_jobs(&jobs, options)?;
    let mut rows: BTreeMap<Split, Vec<Vec<String>>> = BTreeMap::new();
    for summary in &mut summaries {
        summary.written = 0;
    }
    for (job, failure) in jobs.into_iter().zip(failures) {
        let summary = &mut summaries[job.summary];
        match failure {
            Some(_) => {
                *summary
                    .skipped
                    .entry("image could not be decoded or rendered".to_string())
                    .or_default() += 1
            }
            None => {
                summary.written += 1;
                rows.entry(job.split).or_default().push(job.row);
            }
        }
    }

    let take_rows = |rows: &mut BTreeMap<Split, Vec<Vec<String>>>, split| {
        rows.remove(&split).unwrap_or_default()
    };
    let train = take_rows(&mut rows, Split::Train);
    let val = take_rows(&mut rows, Split::Val);
    let tux = take_rows(&mut rows, Split::TuxPaint);
    write_tsv(&options.out_dir.join("train.tsv"), &TSV_COLUMNS, &train)?;
    write_tsv(&options.out_dir.join("val.tsv"), &TSV_COLUMNS, &val)?;
    if options.include_tuxpaint {
        write_tsv(&options.out_dir.join("tuxpaint.tsv"), &TSV_COLUMNS, &tux)?;
    }

    let tuxpaint = if options.include_tuxpaint {
        summaries.pop()
    } else {
        None
    };
    let summary = BuildSummary {
        image_size: options.image_size,
        holdout_style: options.holdout_style.clone(),
        include_skin_tones: options.include_skin_tones,
        labelled_codes,
        text_sources: if styles.is_empty() {
            Vec::new()
        } else {
            vec![package::EMOJIBASE, package::EMOJI_DATASOURCE]
        },
        styles: summaries,
        tuxpaint,
        tsv_columns: TSV_COLUMNS.iter().map(|c| c.to_string()).collect(),
        train_rows: train.len(),
        val_rows: val.len(),
        tuxpaint_rows: tux.len(),
        elapsed_seconds: started.elapsed().as_secs_f64(),
    };
    readme::write_readme(&options.out_dir.join("README.md"), &summary)?;
    readme::write_manifest(&options.out_dir.join("manifest.json"), &summary)?;
    tracing::info!(
        train = summary.train_rows,
        val = summary.val_rows,
        tuxpaint = summary.tuxpaint_rows,
        seconds = summary.elapsed_seconds,
        out = %options.out_dir.display(),
        "built data set"
    );
    Ok(summary)
}

/// Resolves the style names in the options, checking that each is known and that the held-out
/// style is among them.
fn selected_styles(options: &BuildOptions) -> Result<Vec<&'static EmojiStyle>> {
    let known = || {
        EMOJI_STYLES
            .iter()
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let styles: Vec<&'static EmojiStyle> = if options.styles.is_empty() {
        EMOJI_STYLES.iter().collect()
    } else {
        let mut selected = Vec::new();
        for name in &options.styles {
            let style = emoji_style(name).ok_or_else(|| {
                Error::Data(format!(
                    "unknown emoji style {name:?}; the known styles are {}",
                    known()
                ))
            })?;
            if !selected.iter().any(|s: &&EmojiStyle| s.name == style.name) {
                selected.push(style);
            }
        }
        // Keep the documented order, whatever order the names were given in.
        selected.sort_by_key(|s| EMOJI_STYLES.iter().position(|k| k.name == s.name));
        selected
    };
    if !styles.is_empty() && !styles.iter().any(|s| s.name == options.holdout_style) {
        let chosen: Vec<&str> = styles.iter().map(|s| s.name).collect();
        return Err(Error::Data(format!(
            "held-out style {:?} is not among the styles being built ({}); choose one of them, \
             or add it to the styles (known styles: {})",
            options.holdout_style,
            chosen.join(", "),
            known()
        )));
    }
    Ok(styles)
}

/// Checks the options and that every needed package folder exists, before any work starts.
fn check_inputs(options: &BuildOptions, styles: &[&EmojiStyle]) -> Result<()> {
    if options.image_size == 0 || options.image_size > MAX_IMAGE_SIZE {
        return Err(Error::Data(format!(
            "image size {} is out of range; choose 1 to {MAX_IMAGE_SIZE} pixels",
            options.image_size
        )));
    }
    if !options.raw_dir.is_dir() {
        return Err(Error::Data(format!(
            "raw data folder {} not found; run scripts/fetch-data.sh, which fills $SPARSE_CLIP_RAW, and pass that folder",
            options.raw_dir.display()
        )));
    }
    if styles.is_empty() && !options.include_tuxpaint {
        return Err(Error::Data(
            "nothing to build: no emoji styles and Tux Paint is off".to_string(),
        ));
    }
    if !styles.is_empty() {
        package::package_dir(&options.raw_dir, &package::EMOJIBASE)?;
        package::package_dir(&options.raw_dir, &package::EMOJI_DATASOURCE)?;
    }
    for style in styles {
        package::package_dir(&options.raw_dir, &style.package)?;
    }
    if options.include_tuxpaint {
        package::package_dir(&options.raw_dir, &package::TUXPAINT)?;
    }
    Ok(())
}

/// Joins a style's images to their labels and queues one render job per labelled image.
fn plan_style(
    style: &EmojiStyle,
    labels: &EmojiLabels,
    options: &BuildOptions,
    split: Split,
    summary_index: usize,
    jobs: &mut Vec<Job>,
) -> Result<SourceSummary> {
    let listing = styles::list_style(style, &options.raw_dir, labels)?;
    let mut summary = SourceSummary {
        name: style.name.to_string(),
        package: style.package.source.to_string(),
        licence: style.package.licence.to_string(),
        description: style.description.to_string(),
        found: listing.found,
        skipped: listing.skipped,
        ..SourceSummary::default()
    };
    let mut skip = |reason: &str| *summary.skipped.entry(reason.to_string()).or_default() += 1;

    let mut planned = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for item in listing.items {
        let Some(text) = labels.get(&item.key) else {
            skip("no emojibase label for the codepoint");
            continue;
        };
        if text.skin_tone && !options.include_skin_tones {
            skip("skin tone variant (skin tones are off)");
            continue;
        }
        if !seen.insert(item.key.clone()) {
            skip("another image of the style has the same codepoint");
            continue;
        }
        let relative = format!(
            "images/{}/{}.png",
            style.name,
            text.hexcode.to_ascii_lowercase()
        );
        let row = vec![
            relative.clone(),
            text.caption(),
            text.label.clone(),
            style.name.to_string(),
            text.hexcode.clone(),
            text.category.clone(),
            text.subcategory.clone(),
        ];
        planned.push(Job {
            source: item.source,
            output: options.out_dir.join(relative),
            row,
            split,
            summary: summary_index,
        });
    }
    summary.labelled_without_image = labels
        .iter()
        .filter(|text| options.include_skin_tones || !text.skin_tone)
        .filter(|text| !seen.contains(&codepoint_key(&text.hexcode)))
        .count();
    summary.written = planned.len();
    planned.sort_by(|a, b| a.row[4].cmp(&b.row[4]));
    jobs.extend(planned);
    Ok(summary)
}

/// Queues one render job per captioned Tux Paint stamp.
fn plan_tuxpaint(
    options: &BuildOptions,
    summary_index: usize,
    jobs: &mut Vec<Job>,
) -> Result<SourceSummary> {
    let stamps_dir = package::package_dir(&options.raw_dir, &package::TUXPAINT)?;
    let listing = list_stamps(&stamps_dir)?;
    let summary = SourceSummary {
        name: TUXPAINT_STYLE.to_string(),
        package: package::TUXPAINT.source.to_string(),
        licence: package::TUXPAINT.licence.to_string(),
        description: "Tux Paint stamps (PNG, many photo cut-outs, and SVG) with sentence captions"
            .to_string(),
        found: listing.found,
        written: listing.stamps.len(),
        labelled_without_image: 0,
        skipped: listing.skipped,
    };
    for stamp in listing.stamps {
        let relative = format!("images/{TUXPAINT_STYLE}/{}.png", stamp.stem);
        let row = vec![
            relative.clone(),
            stamp.caption,
            stamp.name,
            TUXPAINT_STYLE.to_string(),
            stamp.stem,
            stamp.category,
            String::new(),
        ];
        jobs.push(Job {
            source: ImageSource::File(stamp.image),
            output: options.out_dir.join(relative),
            row,
            split: Split::TuxPaint,
            summary: summary_index,
        });
    }
    Ok(summary)
}

/// Renders every job in parallel. Returns, per job, `None` on success or the reason it failed to
/// decode or render; failing to write an output file aborts the build.
fn render_jobs(jobs: &[Job], options: &BuildOptions) -> Result<Vec<Option<String>>> {
    let threads = resolve_threads(options.threads);
    tracing::info!(
        images = jobs.len(),
        threads,
        size = options.image_size,
        "rendering images"
    );
    let bar = progress_bar(jobs.len(), "rendering images");
    let failures = Mutex::new(vec![None; jobs.len()]);
    for_each_parallel(jobs.iter().enumerate(), threads, &bar, |(index, job)| {
        match render::render_source(&job.source, options.image_size) {
            Ok(image) => render::save_png(&image, &job.output),
            Err(error @ (Error::Image { .. } | Error::Io { .. })) => {
                failures.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(error.to_string());
                Ok(())
            }
            Err(other) => Err(other),
        }
    })?;
    bar.finish_and_clear();

    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    let failed: Vec<(&Job, &String)> = jobs
        .iter()
        .zip(&failures)
        .filter_map(|(job, failure)| failure.as_ref().map(|f| (job, f)))
        .collect();
    for (job, reason) in failed.iter().take(MAX_WARNINGS) {
        tracing::warn!(source = %job.source.display_name(), %reason, "skipping an image that could not be rendered");
    }
    if failed.len() > MAX_WARNINGS {
        tracing::warn!(
            more = failed.len() - MAX_WARNINGS,
            "more images could not be rendered; the README lists the counts per style"
        );
    }
    Ok(failures)
}

#[cfg(test)]
mod tests;
