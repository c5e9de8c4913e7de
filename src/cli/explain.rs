//! `sparse-clip explain`: the active features of one image or caption, with their names.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use sparse_clip::data::load_rgb;
use sparse_clip::eval::embed::{encode_captions, encode_images};
use sparse_clip::interpret::FeatureAtlas;
use sparse_clip::model::l2_normalize;
use sparse_clip::train::{checkpoint, parse_device};
use tch::Tensor;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// An image file, or a caption (text is assumed unless the value names an existing file).
    input: String,
    /// Checkpoint folder or run folder.
    #[arg(long)]
    checkpoint: PathBuf,
    /// features.json from `sparse-clip interpret name`, for feature names and top words.
    #[arg(long)]
    features: Option<PathBuf>,
    /// Treat the input as a caption even if a file of that name exists.
    #[arg(long)]
    text: bool,
    /// Features listed at most, highest value first.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Activation threshold tau on the L2-normalised code.
    #[arg(long, default_value_t = 0.001)]
    tau: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Device: cpu, cuda, cuda:N, or auto (cuda when available).
    #[arg(long, default_value = "auto")]
    device: String,
}

/// File extensions that mark an input as an image path rather than a caption.
const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "webp", "gif", "bmp", "svg"];

pub fn run(args: ExplainArgs) -> anyhow::Result<()> {
    sparse_clip::eval::sparsity::validate_tau(args.tau)?;
    let path = std::path::Path::new(&args.input);
    let is_image = !args.text && path.is_file();
    if !args.text && !is_image {
        if path.is_dir() {
            anyhow::bail!("{} is a folder; pass one image file, or add --text to explain it as a caption", args.input);
        }
        let looks_like_image = path.extension().is_some_and(|ext| IMAGE_EXTENSIONS.iter().any(|known| ext.eq_ignore_ascii_case(known)));
        if looks_like_image {
            anyhow::bail!("image {} not found; check the path, or add --text to explain it as a caption", args.input);
        }
    }
    let device = parse_device(&args.device)?;
    let loaded = checkpoint::load(&args.checkpoint, device)?;
    let atlas = args.features.as_deref().map(FeatureAtlas::read).transpose()?;
    if let Some(atlas) = &atlas {
        if std::path::Path::new(&atlas.checkpoint) != loaded.path {
            tracing::warn!(features_checkpoint = %atlas.checkpoint, checkpoint = %loaded.path.display(), "the features file was written for another checkpoint, so its names may not fit this one");
        }
        let width = loaded.model.config.code_dim();
        if atlas.code_dim != width {
            anyhow::bail!("{} describes a code of width {} but the checkpoint's code has width {width}; pass the features file of this model", args.features.as_ref().map(|p| p.display().to_string()).unwrap_or_default(), atlas.code_dim);
        }
    }

    let code = if is_image {
        let image = load_rgb(std::path::Path::new(&args.input))?;
        let pixels = loaded.preprocess.apply_u8(&image);
        let size = i64::from(loaded.preprocess.image_size);
        let images = Tensor::from_slice(&pixels).view([1, 3, size, size]);
        encode_images(&loaded.model, &images, &loaded.preprocess, 1, device)
    } else {
        if args.input.trim().is_empty() {
            anyhow::bail!("the caption is empty; pass an image file or a non-empty caption");
        }
        let context = loaded.model.config.text_cfg.context_length as usize;
        let tokens = loaded.tokenizer.encode(&args.input)?.len();
        if tokens + 2 > context {
            tracing::warn!(tokens, context_length = context, "the caption is longer than the context, so it is cut to fit, keeping the end-of-text token");
        }
        encode_captions(&loaded.model, &loaded.tokenizer, &[args.input.clone()], 1, device)?
    };
    let embed = l2_normalize(&code).squeeze_dim(0);
    let values = Vec::<f64>::try_from(embed.to_kind(tch::Kind::Double))?;

    let mut active: Vec<(usize, f64)> = values.iter().copied().enumerate().filter(|&(_, v)| v > args.tau).collect();
    active.sort_by(|a, b| b.1.total_cmp(&a.1));
    let l0 = active.len();
    active.truncate(args.top);
    let card_of = |index: usize| atlas.as_ref().and_then(|a| a.features.iter().find(|c| c.index == index as i64));
    let features: Vec<serde_json::Value> = active
        .iter()
        .map(|&(index, value)| {
            let card = card_of(index);
            json!({
                "index": index,
                "value": value,
                "name": card.map(|c| c.name.clone()),
                "top_words": card.map(|c| c.top_words.iter().take(5).map(|w| w.text.clone()).collect::<Vec<_>>()).unwrap_or_default(),
            })
        })
        .collect();

    if args.json {
        return super::print_json(&json!({
            "input": args.input,
            "modality": if is_image { "image" } else { "text" },
            "checkpoint": loaded.path,
            "tau": args.tau,
            "l0": l0,
            "code_dim": values.len(),
            "features": features,
        }));
    }
    let display_input: String = if args.input.chars().count() > 80 { format!("{}...", args.input.chars().take(77).collect::<String>()) } else { args.input.clone() };
    println!("{} {display_input:?}: {l0} of {} features above tau = {}", if is_image { "image" } else { "text" }, values.len(), args.tau);
    println!("{:>6}  {:>7}  {:<20}  top words", "index", "value", "name");
    for feature in &features {
        let words: Vec<&str> = feature["top_words"].as_array().map(|w| w.iter().filter_map(|x| x.as_str()).collect()).unwrap_or_default();
        println!(
            "{:>6}  {:>7.4}  {:<20}  {}",
            feature["index"].as_u64().unwrap_or(0),
            feature["value"].as_f64().unwrap_or(0.0),
            feature["name"].as_str().unwrap_or("-"),
            words.join(", ")
        );
    }
    Ok(())
}
