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
