//! `sparse-clip eval`: CLIP_benchmark-style tasks on the built-in datasets or a user table, and
//! `sparse-clip eval build`, which merges result files into one CSV or Markdown table.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use sparse_clip::eval::build::{read_results, to_csv, to_markdown};
use sparse_clip::eval::linear_probe::ProbeOptions;
use sparse_clip::eval::templates::read_list_file;
use sparse_clip::eval::{output_path, write_result, Builtin, DataRoots, DatasetSource, EvalResult, Evaluator, Features, SuiteOptions, Task, DEFAULT_OUTPUT};
use sparse_clip::train::checkpoint::{self, write_atomic};
use sparse_clip::train::options::TsvArgs;
use sparse_clip::train::parse_device;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvalArgs {
    #[command(subcommand)]
    command: Option<EvalCommand>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum EvalCommand {
    /// Merge result JSON files into one CSV (or a Markdown table when --output ends in .md).
    Build(BuildArgs),
}

#[derive(Debug, Args)]
struct BuildArgs {
    /// Result JSON files written by `sparse-clip eval` (or by CLIP_benchmark).
    #[arg(required = true)]
    results: Vec<PathBuf>,
    /// Output file: CSV with one row per result, or Markdown with one column per model for `.md`.
    #[arg(long, default_value = "benchmark.csv")]
    output: PathBuf,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Checkpoint folders or run folders (a run's latest checkpoint is used); repeat or separate with commas.
    #[arg(long, value_delimiter = ',')]
    checkpoint: Vec<PathBuf>,
    /// Built-in datasets to evaluate on (repeat or separate with commas) [default: emoji_heldout],
    /// or the name of the --data table [default: its file stem].
    #[arg(long, value_delimiter = ',')]
    dataset: Vec<String>,
    /// A user image-caption table to evaluate on instead of the built-in datasets.
    #[arg(long)]
    data: Option<PathBuf>,
    #[command(flatten)]
    tsv: TsvArgs,
    /// Tasks to run on every dataset that supports them [default: each dataset's first task].
    #[arg(long, value_enum, value_delimiter = ',')]
    task: Vec<Task>,
    /// Output file template; {dataset}, {model}, {pretrained}, {task}, {language} and {features} are filled in.
    #[arg(long, default_value = DEFAULT_OUTPUT)]
    output: String,
    /// Skip a run whose output files exist already.
    #[arg(long = "skip_existing", alias = "skip-existing")]
    skip_existing: bool,
    /// Values of k for recall@k.
    #[arg(long = "recall_k", alias = "recall-k", value_delimiter = ',', default_value = "1,5,10", allow_negative_numbers = true)]
    recall_k: Vec<i64>,
    /// Images or texts per forward pass.
    #[arg(long = "batch_size", alias = "batch-size", default_value_t = 256)]
    batch_size: i64,
    /// Prompt templates with {c} for the class name: a text file with one per line, a JSON list, or a JSON object from dataset name to list.
    #[arg(long = "custom_template_file", alias = "custom-template-file")]
    custom_template_file: Option<PathBuf>,
    /// Class names in class order, in the same layouts as --custom_template_file.
    #[arg(long = "custom_classname_file", alias = "custom-classname-file")]
    custom_classname_file: Option<PathBuf>,
    /// Folder written by `sparse-clip data build`.
    #[arg(long = "dataset_root", alias = "dataset-root", default_value = "data")]
    dataset_root: PathBuf,
    /// Folder of the fetched registry packages (for fashion_mnist and mnist) [default: ~/.cache/sparse-clip/raw].
    #[arg(long, env = "SPARSE_CLIP_RAW")]
    raw: Option<PathBuf>,
    /// Model name in outputs [default: the run folder's name]; only with one checkpoint.
    #[arg(long = "model_name", alias = "model-name")]
    model_name: Option<String>,
    /// Features for the linear probe: embed (L2-normalised) and/or code (raw head output).
    #[arg(long = "lp_features", alias = "lp-features", value_enum, value_delimiter = ',', default_value = "embed,code")]
    lp_features: Vec<Features>,
    /// Training images the linear probe uses at most (the same number per class).
    #[arg(long = "lp_max_train", alias = "lp-max-train", default_value_t = 10_000)]
    lp_max_train: usize,
    /// Full-batch optimisation steps per linear-probe fit.
    #[arg(long = "lp_steps", alias = "lp-steps", default_value_t = 100)]
    lp_steps: i64,
    /// Device: cpu, cuda, cuda:N, or auto (cuda when available).
    #[arg(long, default_value = "auto")]
    device: String,
    /// Activation threshold tau for l0 and feature densities.
    #[arg(long, default_value_t = 0.001)]
    tau: f64,
    /// Inputs a feature must fire on to count as active.
    #[arg(long = "n_min", alias = "n-min", default_value_t = 2)]
    n_min: i64,
    /// Image decoding threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    match args.command {
        Some(EvalCommand::Build(build)) => run_build(&build),
        None => run_tasks(args.run),
    }
}

fn run_build(args: &BuildArgs) -> anyhow::Result<()> {
    let results = read_results(&args.results)?;
    let is_markdown = args.output.extension().is_some_and(|ext| ext.eq_ignore_ascii_case("md"));
    let table = if is_markdown { to_markdown(&results) } else { to_csv(&results) };
    checkpoint::create_parent_dir(&args.output)?;
    write_atomic(&args.output, table.as_bytes())?;
    super::print_json(&serde_json::json!({ "output": args.output, "results": results.len() }))
}

fn run_tasks(args: RunArgs) -> anyhow::Result<()> {
    validate(&args)?;
    let device = parse_device(&args.device)?;
    let sources = sources(&args)?;
    let roots = DataRoots { dataset_root: args.dataset_root.clone(), raw: args.raw.clone().or_else(sparse_clip::data::default_raw_dir), threads: args.threads.max(1) };
    let mut options = SuiteOptions {
        recall_k: args.recall_k.clone(),
        batch_size: args.batch_size,
        device,
        tau: args.tau,
        n_min: args.n_min,
        probe: ProbeOptions { steps: args.lp_steps, ..ProbeOptions::default() },
        probe_features: args.lp_features.clone(),
        probe_max_train: args.lp_max_train,
        ..SuiteOptions::default()
    };

    check_outputs(&args, &sources)?;
    let mut written = Vec::new();
    for checkpoint_path in &args.checkpoint {
        let loaded = checkpoint::load(checkpoint_path, device)?;
        let model_name = args.model_name.clone().unwrap_or_else(|| checkpoint::model_name(&loaded.path));
        for source in &sources {
            let tasks = if args.task.is_empty() { vec![source.tasks()[0]] } else { args.task.clone() };
            for task in tasks {
                if !source.tasks().contains(&task) {
                    if sources.len() == 1 && args.task.len() == 1 {
                        return Err(sparse_clip::eval::datasets::unsupported(source.name(), task).into());
                    }
                    tracing::info!(dataset = source.name(), %task, "skipping: the dataset does not support this task");
                    continue;
                }
                let planned = planned_outputs(&args, &loaded.path, &model_name, source, task);
                if args.skip_existing && planned.iter().all(|p| p.is_file()) {
                    tracing::info!(dataset = source.name(), %task, model = %model_name, "skipping: output exists (--skip_existing)");
                    continue;
                }
                set_custom_lists(&args, source.name(), &mut options)?;
                tracing::info!(dataset = source.name(), %task, model = %model_name, "evaluating");
                let evaluator = Evaluator { loaded: &loaded, model_name: model_name.clone(), options: &options, transform: None };
                for result in evaluator.run(source, task, &roots)? {
                    let path = write_result(&output_path(&args.output, &result), &result)?;
                    log_result(&result, &path);
                    written.push(result);
                }
            }
        }
    }
    super::print_json(&written)
}

fn validate(args: &RunArgs) -> anyhow::Result<()> {
    if args.checkpoint.is_empty() {
        anyhow::bail!("--checkpoint is missing; pass a run folder or RUN/checkpoints/step_N (or use `sparse-clip eval build` to merge results)");
    }
    if args.model_name.is_some() && args.checkpoint.len() > 1 {
        anyhow::bail!("--model_name names one model, but {} checkpoints were given; drop --model_name to use each run folder's name", args.checkpoint.len());
    }
    if args.batch_size < 1 {
        anyhow::bail!("--batch_size {} is invalid: it must be at least 1", args.batch_size);
    }
    if let Some(k) = args.recall_k.iter().find(|k| **k < 1) {
        anyhow::bail!("--recall_k {k} is invalid: every k must be at least 1");
    }
    sparse_clip::eval::sparsity::validate_tau(args.tau)?;
    if args.n_min < 1 {
        anyhow::bail!("--n_min {} is invalid: it must be at least 1", args.n_min);
    }
    if args.lp_max_train < 2 || args.lp_steps < 1 || args.lp_features.is_empty() {
        anyhow::bail!("--lp_max_train must be at least 2, --lp_steps at least 1, and --lp_features must name embed and/or code");
    }
    Ok(())
}

/// Returns the datasets to evaluate on: the --data table, or the named built-in datasets.
fn sources(args: &RunArgs) -> anyhow::Result<Vec<DatasetSource>> {
    if let Some(path) = &args.data {
        let name = match args.dataset.as_slice() {
            [] => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "table".into()),
            [name] => name.clone(),
            names => anyhow::bail!("--data evaluates one table, but --dataset gives {} names ({}); give one name or none", names.len(), names.join(", ")),
        };
        return Ok(vec![DatasetSource::Table { name, path: path.clone(), options: args.tsv.options() }]);
    }
    let names = if args.dataset.is_empty() { vec!["emoji_heldout".to_string()] } else { args.dataset.clone() };
    names
        .iter()
        .map(|name| {
            let builtin = Builtin::from_name(name).ok_or_else(|| {
                let names: Vec<&str> = Builtin::ALL.iter().map(|b| b.name()).collect();
                anyhow::anyhow!("unknown dataset {name:?}; the built-in datasets are {}, or pass a table with --data", names.join(", "))
            })?;
            Ok(DatasetSource::Builtin(builtin))
        })
        .collect()
}

/// Reads the custom template and class-name lists for one dataset into the options.
fn set_custom_lists(args: &RunArgs, dataset: &str, options: &mut SuiteOptions) -> anyhow::Result<()> {
    options.templates = args.custom_template_file.as_deref().map(|path| read_list_file(path, dataset)).transpose()?;
    options.classnames = args.custom_classname_file.as_deref().map(|path| read_list_file(path, dataset)).transpose()?;
    Ok(())
}

/// Checks, before any work, that no two results map to the same output file and that every output
/// folder can be created.
fn check_outputs(args: &RunArgs, sources: &[DatasetSource]) -> anyhow::Result<()> {
    let mut planned: std::collections::BTreeMap<PathBuf, String> = std::collections::BTreeMap::new();
    for checkpoint_path in &args.checkpoint {
        let resolved = checkpoint::resolve(checkpoint_path)?;
        let model_name = args.model_name.clone().unwrap_or_else(|| checkpoint::model_name(&resolved));
        for source in sources {
            let tasks = if args.task.is_empty() { vec![source.tasks()[0]] } else { args.task.clone() };
            for task in tasks.into_iter().filter(|task| source.tasks().contains(task)) {
                for path in planned_outputs(args, &resolved, &model_name, source, task) {
                    let text = path.display().to_string();
                    if let Some(start) = text.find('{').filter(|&start| text[start..].contains('}')) {
                        let end = start + text[start..].find('}').unwrap_or(0);
                        anyhow::bail!(
                            "--output {:?} has the unknown placeholder {}; use {{dataset}}, {{model}}, {{pretrained}}, {{task}}, {{language}} or {{features}}",
                            args.output,
                            &text[start..=end]
                        );
                    }
                    let run = format!("{} on {} ({task})", resolved.display(), source.name());
                    if let Some(previous) = planned.insert(path.clone(), run.clone()) {
                        anyhow::bail!(
                            "--output {:?} sends two results to {}: {previous} and {run}; add {{pretrained}} or {{model}} to the template, or set --model_name",
                            args.output,
                            path.display()
                        );
                    }
                    checkpoint::create_parent_dir(&path)?;
                }
            }
        }
    }
    Ok(())
}

/// Returns the output paths a task will write, so that --skip_existing can check them first.
fn planned_outputs(args: &RunArgs, checkpoint_dir: &Path, model_name: &str, source: &DatasetSource, task: Task) -> Vec<PathBuf> {
    let features: Vec<Features> = if task == Task::LinearProbe { args.lp_features.clone() } else { vec![Features::Embed] };
    features
        .into_iter()
        .map(|features| {
            let pretrained = checkpoint_dir.display().to_string();
            let stub = EvalResult::new(source.name(), model_name, &pretrained, task, features);
            output_path(&args.output, &stub)
        })
        .collect()
}

fn log_result(result: &EvalResult, path: &Path) {
    let summary: Vec<String> = result.metrics.iter().take(6).map(|(k, v)| format!("{k}={v:.4}")).collect();
    tracing::info!(path = %path.display(), dataset = %result.dataset, task = %result.task, features = %result.features, "{}", summary.join(" "));
}
