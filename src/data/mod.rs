//! Data: building the built-in image-caption sets from registry packages, reading image-caption
//! TSV files, and decoding and preprocessing images for the image tower.
//!
//! - [`build`](mod@build): the data builder behind `sparse-clip data build`.
//! - [`tsv`]: open_clip-style CSV/TSV tables of image paths and captions.
//! - [`load`]: decoding PNG, JPEG, WebP and SVG files to RGB on white.
//! - [`preprocess`]: resize, centre crop and normalisation, and parallel batch decoding.

pub mod build;
pub mod load;
pub mod mnist;
pub mod parallel;
pub mod preprocess;
pub mod tsv;

pub use build::{build, BuildOptions, BuildSummary, SourceSummary, EMOJI_STYLES, TSV_COLUMNS};
pub use load::{composite_on_white, decode_rgb, load_rgb, render_svg};
pub use preprocess::{load_images_parallel, Preprocess, ResizeMode, CLIP_MEAN, CLIP_STD};
pub use tsv::{read_pairs, write_tsv, PairRecord, TsvOptions};

/// Returns the folder `scripts/fetch-data.sh` fills by default (`$SPARSE_CLIP_CACHE/raw`, or
/// `~/.cache/sparse-clip/raw`), when it exists.
pub fn default_raw_dir() -> Option<std::path::PathBuf> {
    let cache = std::env::var_os("SPARSE_CLIP_CACHE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".cache/sparse-clip")))?;
    let raw = cache.join("raw");
    raw.is_dir().then_some(raw)
}
