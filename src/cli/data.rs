//! `sparse-clip data build`: render the fetched emoji and Tux Paint packages into TSV splits.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use sparse_clip::data::{build, BuildOptions};

#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Render images and write train.tsv, val.tsv, tuxpaint.tsv, README.md and manifest.json.
    Build(BuildArgs),
}

#[derive(Debug, Args)]
struct BuildArgs {
    /// Folder filled by scripts/fetch-data.sh.
    #[arg(long, env = "SPARSE_CLIP_RAW")]
    raw: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "data")]
    out: PathBuf,
    /// Side of the rendered square images, in pixels.
    #[arg(long, default_value_t = 64)]
    image_size: u32,
    /// Comma-separated emoji styles to build [default: all].
    #[arg(long, value_delimiter = ',')]
    styles: Vec<String>,
    /// Style held out for evaluation (written to val.tsv).
    #[arg(long, default_value = "fluent-3d")]
    holdout_style: String,
    /// Include skin tone variants of people and hand emoji.
    #[arg(long)]
    skin_tones: bool,
    /// Skip the Tux Paint stamps.
    #[arg(long)]
    no_tuxpaint: bool,
    /// Rendering threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

pub fn run(args: DataArgs) -> anyhow::Result<()> {
    match args.command {
        DataCommand::Build(b) => {
            let mut options = BuildOptions::new(b.raw, b.out);
            options.image_size = b.image_size;
            options.styles = b.styles;
            options.holdout_style = b.holdout_style;
            options.include_skin_tones = b.skin_tones;
            options.include_tuxpaint = !b.no_tuxpaint;
            options.threads = b.threads;
            let summary = build(&options)?;
            super::print_json(&summary)
        }
    }
}
