//! `sparse-clip interpret`: feature statistics and modality, clarity, naming, the HTML atlas, and
//! training dynamics.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::json;
use sparse_clip::eval::datasets::{load_retrieval, RetrievalSet};
use sparse_clip::eval::sparsity::{density_histogram, density_svg, feature_density, sparsity_stats};
use sparse_clip::eval::{Builtin, DataRoots, DatasetSource};
use sparse_clip::interpret::atlas::write_atlas;
use sparse_clip::interpret::clarity::{feature_clarity, mean_clarity, random_pair_baseline, top_k_mask};
use sparse_clip::interpret::codes::{encode_set, encode_words, EncodedSet};
use sparse_clip::interpret::dynamics::{densest_features, markdown, plot_svgs, track_features, CheckpointSummary};
use sparse_clip::interpret::modality::{modality_scores, modality_stats};
use sparse_clip::interpret::naming::{build_cards, name_features, NamingOptions};
use sparse_clip::interpret::vocab::{load_vocabulary, VocabOptions, VocabSource};
use sparse_clip::interpret::FeatureAtlas;
use sparse_clip::plot::{bar_chart_svg, write_svg, Axes};
use sparse_clip::train::checkpoint::{self, write_atomic, LoadedModel};
use sparse_clip::train::options::TsvArgs;
use sparse_clip::train::parse_device;

#[derive(Debug, Args)]
pub struct InterpretArgs {
    #[command(subcommand)]
    command: InterpretCommand,
}

#[derive(Debug, Subcommand)]
enum InterpretCommand {
    /// l0, active and dead fractions, feature densities and modality scores on a paired set.
    Stats(StatsArgs),
    /// Clarity of each model's features under a reference image encoder, with the random-pair baseline.
    Clarity(ClarityArgs),
    /// Name every active feature by its top vocabulary word; list top words, images and captions.
    Name(NameArgs),
    /// Write a static HTML feature atlas from the output of `interpret name`.
    Atlas(AtlasArgs),
    /// Sparsity, modality shares and feature names across the checkpoints of one run.
    Dynamics(DynamicsArgs),
}

/// The image-caption set the features are read on.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Built-in set with captions: emoji_heldout, emoji_multicaption or tuxpaint.
    #[arg(long, default_value = "emoji_heldout")]
    dataset: String,
    /// A user image-caption table instead of a built-in set.
    #[arg(long)]
    data: Option<PathBuf>,
    #[command(flatten)]
    tsv: TsvArgs,
    /// Folder written by `sparse-clip data build`.
    #[arg(long, default_value = "data")]
    dataset_root: PathBuf,
    /// Images or texts per forward pass.
    #[arg(long, default_value_t = 256)]
    batch_size: i64,
    /// Device: cpu, cuda, cuda:N, or auto (cuda when available).
    #[arg(long, default_value = "auto")]
    device: String,
    /// Activation threshold tau: feature i is on for x when a_i(x) > tau in the L2-normalised code.
    #[arg(long, default_value_t = 0.001)]
    tau: f64,
    /// Inputs a feature must fire on to count as active.
    #[arg(long, default_value_t = 2)]
    n_min: i64,
}

impl SetArgs {
    fn validate(&self) -> anyhow::Result<()> {
        if self.batch_size < 1 {
            anyhow::bail!("--batch-size {} is invalid: it must be at least 1", self.batch_size);
        }
        sparse_clip::eval::sparsity::validate_tau(self.tau)?;
        if self.n_min < 1 {
            anyhow::bail!("--n-min {} is invalid: it must be at least 1", self.n_min);
        }
        Ok(())
    }

    /// Returns the set's source and a name for outputs.
    fn source(&self) -> anyhow::Result<DatasetSource> {
        if let Some(path) = &self.data {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "table".into());
            return Ok(DatasetSource::Table { name, path: path.clone(), options: self.tsv.options() });
        }
        match Builtin::from_name(&self.dataset) {
            Some(builtin @ (Builtin::EmojiHeldout | Builtin::EmojiMulticaption | Builtin::Tuxpaint)) => Ok(DatasetSource::Builtin(builtin)),
            _ => anyhow::bail!("--dataset {:?} is not a built-in set with captions; use emoji_heldout, emoji_multicaption or tuxpaint, or pass --data TABLE", self.dataset),
        }
    }

    fn load(&self, loaded: &LoadedModel) -> anyhow::Result<RetrievalSet> {
        let roots = DataRoots { dataset_root: self.dataset_root.clone(), raw: None, threads: 2 };
        Ok(load_retrieval(&self.source()?, &roots, &loaded.preprocess)?)
    }

    fn encode(&self, loaded: &LoadedModel, set: &RetrievalSet) -> anyhow::Result<EncodedSet> {
        Ok(encode_set(loaded, set, self.batch_size, parse_device(&self.device)?)?)
    }
}

/// The vocabulary words are drawn from.
#[derive(Debug, Args)]
pub struct VocabArgs {
    /// wordnet (Debian wordnet-base lemmas), wamerican (Debian word list), corpus:TABLE (caption words), or a file with one word per line.
    #[arg(long, default_value = "wordnet")]
    vocab: String,
    /// Folder of the fetched registry packages (for wordnet and wamerican) [default: ~/.cache/sparse-clip/raw].
    #[arg(long, env = "SPARSE_CLIP_RAW")]
    raw: Option<PathBuf>,
    /// Minimum count of a word: tagged senses for wordnet, occurrences for corpus.
    #[arg(long)]
    vocab_min_count: Option<usize>,
    /// Words kept at most, the most frequent first (0: all).
    #[arg(long, default_value_t = 20_000)]
    vocab_max_words: usize,
    /// Prompt templates for words, {c} is the word; a word's code is the normalised mean over them.
    #[arg(long = "template", default_values = ["a photo of a {c}", "{c}"])]
    templates: Vec<String>,
}

impl VocabArgs {
    fn load(&self) -> anyhow::Result<(VocabSource, Vec<String>)> {
        sparse_clip::eval::templates::validate_templates(&self.templates, "--template")?;
        let source = VocabSource::parse(&self.vocab)?;
        let mut options = VocabOptions::for_source(&source);
        options.max_words = self.vocab_max_words;
        if let Some(min_count) = self.vocab_min_count {
            options.min_count = min_count;
        }
        let raw = self.raw.clone().or_else(sparse_clip::data::default_raw_dir);
        let words = load_vocabulary(&source, raw.as_deref(), &options)?;
        tracing::info!(vocabulary = %source.name(), words = words.len(), "loaded vocabulary");
        Ok((source, words))
    }
}

#[derive(Debug, Args)]
struct StatsArgs {
    /// Checkpoint folder or run folder.
    #[arg(long)]
    checkpoint: PathBuf,
    #[command(flatten)]
    set: SetArgs,
    /// Output JSON, with density.svg and modality.svg written next to it [default: interpret/MODEL/stats.json].
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ClarityArgs {
    /// Models whose features are scored (repeat or separate with commas).
    #[arg(long, value_delimiter = ',', required = true)]
    checkpoint: Vec<PathBuf>,
    /// Reference image encoder: a separately trained dense model.
    #[arg(long)]
    reference: PathBuf,
    /// Also score each feature on its top K images only.
    #[arg(long, default_value_t = 16)]
    top_k: i64,
    #[command(flatten)]
    set: SetArgs,
    /// Output JSON.
    #[arg(long, default_value = "interpret/clarity.json")]
    output: PathBuf,
}

#[derive(Debug, Args)]
struct NameArgs {
    /// Checkpoint folder or run folder.
    #[arg(long)]
    checkpoint: PathBuf,
    #[command(flatten)]
    set: SetArgs,
    #[command(flatten)]
    vocab: VocabArgs,
    /// Top words, images and captions listed per feature.
    #[arg(long, default_value_t = 10)]
    top_words: usize,
    /// Top images listed per feature.
    #[arg(long, default_value_t = 9)]
    top_images: usize,
    /// Top captions listed per feature.
    #[arg(long, default_value_t = 5)]
    top_captions: usize,
    /// Output JSON [default: interpret/MODEL/features.json].
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct AtlasArgs {
    /// features.json written by `interpret name`.
    #[arg(long)]
    features: PathBuf,
    /// Output folder for index.html and images/ [default: an `atlas` folder beside the features file].
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct DynamicsArgs {
    /// Checkpoints of one run, in any order (sorted by step).
    #[arg(required = true)]
    checkpoints: Vec<PathBuf>,
    #[command(flatten)]
    set: SetArgs,
    #[command(flatten)]
    vocab: VocabArgs,
    /// Features followed in the names table: the densest on images at the last checkpoint.
    #[arg(long, default_value_t = 10)]
    track: usize,
    /// Output folder for dynamics.json, dynamics.md and the plots.
    #[arg(long, default_value = "interpret/dynamics")]
    output: PathBuf,
}

pub fn run(args: InterpretArgs) -> anyhow::Result<()> {
    match args.command {
        InterpretCommand::Stats(args) => run_stats(args),
        InterpretCommand::Clarity(args) => run_clarity(args),
        InterpretCommand::Name(args) => run_name(args),
        InterpretCommand::Atlas(args) => run_atlas(args),
        InterpretCommand::Dynamics(args) => run_dynamics(args),
    }
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    checkpoint::create_parent_dir(path)?;
    write_atomic(path, serde_json::to_string_pretty(value)?.as_bytes())?;
    tracing::info!(path = %path.display(), "wrote");
    Ok(())
}

fn load_model(path: &Path, set: &SetArgs) -> anyhow::Result<(LoadedModel, String)> {
    set.validate()?;
    let loaded = checkpoint::load(path, parse_device(&set.device)?)?;
    let name = checkpoint::model_name(&loaded.path);
    Ok((loaded, name))
}

fn run_stats(args: StatsArgs) -> anyhow::Result<()> {
    let (loaded, model) = load_model(&args.checkpoint, &args.set)?;
    let set = args.set.load(&loaded)?;
    let encoded = args.set.encode(&loaded, &set)?;
    let signed = !loaded.model.config.sparse_cfg.head.is_non_negative();
    let stats = sparsity_stats(&encoded.image_embed, &encoded.text_embed, args.set.tau, args.set.n_min, signed);
    let histograms = vec![
        density_histogram(&encoded.image_embed.gt(args.set.tau), "image"),
        density_histogram(&encoded.text_embed.gt(args.set.tau), "text"),
    ];
    let scores = modality_scores(&encoded.image_embed, &encoded.text_embed);
    let modality = modality_stats(&scores);

    let output = args.output.unwrap_or_else(|| PathBuf::from(format!("interpret/{model}/stats.json")));
    let density_plot = output.with_file_name("density.svg");
    let modality_plot = output.with_file_name("modality.svg");
    let dataset = args.set.source()?.name().to_string();
    let report = json!({
        "model": model,
        "checkpoint": loaded.path,
        "dataset": dataset,
        "code": "L2-normalised code; densities and modality count a_i > tau",
        "n_images": encoded.paths.len(),
        "n_texts": encoded.texts.len(),
        "sparsity": stats,
        "density_histograms": histograms,
        "modality": modality,
        "modality_scores": scores,
        "plots": { "density": density_plot, "modality": modality_plot },
    });
    write_json(&output, &report)?;
    write_svg(&density_plot, &density_svg(&histograms, &format!("Feature density: {model} on {dataset}")))?;
    let bars: Vec<(String, f64)> = modality.histogram.iter().enumerate().map(|(i, &c)| (format!("{:.1}-{:.1}", i as f64 / 10.0, (i + 1) as f64 / 10.0), c as f64)).collect();
    let axes = Axes {
        title: format!("Modality score S_img / (S_img + S_txt): {model} on {dataset}"),
        x_label: "modality score (0 text-only, 1 image-only)".into(),
        y_label: "features".into(),
        log_x: false,
    };
    write_svg(&modality_plot, &bar_chart_svg(&axes, &bars))?;
    super::print_json(&json!({ "output": output, "sparsity": report["sparsity"], "modality": report["modality"] }))
}

fn run_clarity(args: ClarityArgs) -> anyhow::Result<()> {
    if args.top_k < 1 {
        anyhow::bail!("--top-k {} is invalid: it must be at least 1", args.top_k);
    }
    let (reference, reference_name) = load_model(&args.reference, &args.set)?;
    let set = args.set.load(&reference)?;
    let reference_embed = args.set.encode(&reference, &set)?.image_embed;
    let baseline = random_pair_baseline(&reference_embed);

    let mut rows = Vec::new();
    for path in &args.checkpoint {
        let (loaded, model) = load_model(path, &args.set)?;
        if loaded.preprocess != reference.preprocess {
            tracing::info!(model = %model, "the model's preprocessing differs from the reference's; decoding the images again");
        }
        let model_set = if loaded.preprocess == reference.preprocess { None } else { Some(args.set.load(&loaded)?) };
        let encoded = args.set.encode(&loaded, model_set.as_ref().unwrap_or(&set))?;
        let on = encoded.image_embed.gt(args.set.tau);
        let (clarity, features) = mean_clarity(&feature_clarity(&on, &reference_embed, args.set.n_min));
        let top = top_k_mask(&encoded.image_embed, args.top_k, args.set.tau);
        let (clarity_top, features_top) = mean_clarity(&feature_clarity(&top, &reference_embed, 2));
        rows.push(json!({
            "model": model,
            "checkpoint": loaded.path,
            "code_dim": encoded.image_embed.size()[1],
            "clarity": clarity,
            "features_scored": features,
            format!("clarity_top{}", args.top_k): clarity_top,
            format!("features_scored_top{}", args.top_k): features_top,
        }));
    }
    let report = json!({
        "reference": reference_name,
        "reference_checkpoint": reference.path,
        "dataset": args.set.source()?.name(),
        "n_images": set.paths.len(),
        "tau": args.set.tau,
        "n_min": args.set.n_min,
        "definition": "clarity = mean over active features of the mean pairwise cosine, under the reference image encoder, of the images with a_i > tau; features read the positive side of each dimension",
        "random_pair_baseline": baseline,
        "models": rows,
    });
    write_json(&args.output, &report)?;
    super::print_json(&report)
}

fn run_name(args: NameArgs) -> anyhow::Result<()> {
    for (flag, value) in [("--top-words", args.top_words), ("--top-images", args.top_images), ("--top-captions", args.top_captions)] {
        if value < 1 {
            anyhow::bail!("{flag} {value} is invalid: it must be at least 1");
        }
    }
    let (loaded, model) = load_model(&args.checkpoint, &args.set)?;
    let (source, words) = args.vocab.load()?;
    let device = parse_device(&args.set.device)?;
    let set = args.set.load(&loaded)?;
    let encoded = args.set.encode(&loaded, &set)?;
    tracing::info!(words = words.len(), templates = args.vocab.templates.len(), "encoding the vocabulary");
    let word_embed = encode_words(&loaded, &words, &args.vocab.templates, args.set.batch_size, device)?;
    let options = NamingOptions { top_words: args.top_words, top_images: args.top_images, top_captions: args.top_captions, tau: args.set.tau, n_min: args.set.n_min };
    let cards = build_cards(&encoded, &words, &word_embed, &options);

    let atlas = FeatureAtlas {
        model: model.clone(),
        checkpoint: loaded.path.display().to_string(),
        code: "L2-normalised code, a_i > tau".into(),
        tau: args.set.tau,
        code_dim: encoded.image_embed.size()[1],
        vocabulary: source.name(),
        vocabulary_size: words.len(),
        templates: args.vocab.templates.clone(),
        image_set: args.set.source()?.name().to_string(),
        features: cards,
    };
    let output = args.output.unwrap_or_else(|| PathBuf::from(format!("interpret/{model}/features.json")));
    write_json(&output, &atlas)?;

    // Summary: the ten features that fire on the most images.
    let mut densest: Vec<&sparse_clip::interpret::FeatureCard> = atlas.features.iter().collect();
    densest.sort_by(|a, b| b.density_image.total_cmp(&a.density_image));
    let sample: Vec<serde_json::Value> = densest
        .iter()
        .take(10)
        .map(|c| json!({ "index": c.index, "name": c.name, "top_words": c.top_words.iter().take(5).map(|w| w.text.clone()).collect::<Vec<_>>(), "density_image": c.density_image, "modality": c.modality }))
        .collect();
    super::print_json(&json!({ "output": output, "features": atlas.features.len(), "vocabulary": atlas.vocabulary, "vocabulary_size": words.len(), "densest": sample }))
}

fn run_atlas(args: AtlasArgs) -> anyhow::Result<()> {
    let atlas = FeatureAtlas::read(&args.features)?;
    let output = args.output.unwrap_or_else(|| args.features.with_file_name("atlas"));
    let index = write_atlas(&atlas, &output)?;
    super::print_json(&json!({ "atlas": index, "features": atlas.features.len() }))
}

fn run_dynamics(args: DynamicsArgs) -> anyhow::Result<()> {
    args.set.validate()?;
    let device = parse_device(&args.set.device)?;
    let (source, words) = args.vocab.load()?;
    let mut summaries = Vec::new();
    let mut set: Option<RetrievalSet> = None;
    let mut seen = std::collections::BTreeSet::new();
    for path in &args.checkpoints {
        if !seen.insert(checkpoint::resolve(path)?) {
            tracing::warn!(checkpoint = %path.display(), "this checkpoint was given twice; reading it once");
            continue;
        }
        let loaded = checkpoint::load(path, device)?;
        let set = match &set {
            Some(set) => set,
            None => set.insert(args.set.load(&loaded)?),
        };
        tracing::info!(checkpoint = %loaded.path.display(), step = loaded.state.step, "reading features");
        let encoded = args.set.encode(&loaded, set)?;
        let word_embed = encode_words(&loaded, &words, &args.vocab.templates, args.set.batch_size, device)?;
        summaries.push(summarise(&loaded, &encoded, &words, &word_embed, &args.set));
    }
    summaries.sort_by_key(|s| s.step);
    if let Some(width) = summaries.iter().map(|s| s.names.len()).find(|&d| d != summaries[0].names.len()) {
        anyhow::bail!("the checkpoints have codes of different widths ({} and {width}); pass checkpoints of one run", summaries[0].names.len());
    }

    let last = summaries.last().ok_or_else(|| anyhow::anyhow!("no checkpoint given"))?;
    let tracked = track_features(&summaries, &densest_features(last, args.track));
    let model = checkpoint::model_name(Path::new(&last.checkpoint));
    checkpoint::create_dir(&args.output)?;
    let (l0_svg, shares_svg) = plot_svgs(&summaries, &model);
    write_svg(&args.output.join("l0.svg"), &l0_svg)?;
    write_svg(&args.output.join("modality.svg"), &shares_svg)?;
    let page = markdown(&summaries, &tracked);
    write_atomic(&args.output.join("dynamics.md"), page.as_bytes())?;
    let report = json!({
        "model": model,
        "dataset": args.set.source()?.name(),
        "vocabulary": source.name(),
        "vocabulary_size": words.len(),
        "tau": args.set.tau,
        "checkpoints": summaries.iter().map(|s| json!({ "checkpoint": s.checkpoint, "step": s.step, "fraction": s.fraction, "l0_image": s.l0_image, "l0_text": s.l0_text, "active_fraction": s.active_fraction, "dead_fraction": s.dead_fraction, "modality": s.modality })).collect::<Vec<_>>(),
        "tracked": tracked,
    });
    write_json(&args.output.join("dynamics.json"), &report)?;
    println!("{page}");
    Ok(())
}

/// Computes one checkpoint's row of the dynamics.
fn summarise(loaded: &LoadedModel, encoded: &EncodedSet, words: &[String], word_embed: &tch::Tensor, set: &SetArgs) -> CheckpointSummary {
    let stats = sparsity_stats(&encoded.image_embed, &encoded.text_embed, set.tau, set.n_min, false);
    let modality = modality_stats(&modality_scores(&encoded.image_embed, &encoded.text_embed));
    let image_on = encoded.image_embed.gt(set.tau);
    let density_image = feature_density(&image_on);
    let mut names = name_features(words, word_embed, set.tau);
    for (name, &density) in names.iter_mut().zip(&density_image) {
        if density == 0.0 {
            *name = "-".into();
        }
    }
    CheckpointSummary {
        checkpoint: loaded.path.display().to_string(),
        step: loaded.state.step,
        fraction: loaded.state.step as f64 / loaded.state.total_steps.max(1) as f64,
        l0_image: stats.l0_image,
        l0_text: stats.l0_text,
        active_fraction: stats.active_fraction,
        dead_fraction: stats.dead_fraction,
        modality,
        names,
        density_image,
    }
}
