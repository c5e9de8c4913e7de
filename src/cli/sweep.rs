//! `sparse-clip sweep`: a grid of training runs from one description file, resumable, with its
//! table and plots.

use std::path::{Path, PathBuf};

use clap::{Args, Parser};
use sparse_clip::sweep::report::{collect, write_sweep_report};
use sparse_clip::sweep::{expand, read_spec, run_state, run_sweep, RunState, SweepRun};
use sparse_clip::train::{train, TrainOptions};

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Sweep description (JSON): a name, base arguments of `train`, and grids of flag values.
    spec: PathBuf,
    /// Parent folder; runs go to LOGS/NAME/RUN.
    #[arg(long, default_value = "runs/sweep")]
    logs: PathBuf,
    /// List the runs and their state without training.
    #[arg(long)]
    dry_run: bool,
    /// Only collect the finished runs into the table and plots.
    #[arg(long)]
    report_only: bool,
}

/// Parses `train` flags the way the `train` subcommand does.
#[derive(Debug, Parser)]
#[command(name = "train")]
struct TrainFlags {
    #[command(flatten)]
    options: TrainOptions,
}

pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    let spec = read_spec(&args.spec)?;
    let logs = args.logs.join(&spec.name);
    let runs = expand(&spec);
    // Every run's arguments are checked before the first one trains.
    for run in &runs {
        let flags = parse_train_flags(&spec.base_args, run, &logs, RunState::New)?;
        flags.options.validate().map_err(|e| anyhow::anyhow!("run {}: {e}", run.name))?;
    }
    if args.dry_run {
        let listing: Vec<serde_json::Value> = runs
            .iter()
            .map(|run| serde_json::json!({ "run": run.name, "grids": run.grids, "args": run.args(), "state": format!("{:?}", run_state(&logs.join(&run.name))) }))
            .collect();
        return super::print_json(&listing);
    }

    let folders = if args.report_only {
        runs.into_iter().filter(|run| logs.join(&run.name).join(sparse_clip::sweep::DONE_FILE).is_file()).map(|run| {
            let dir = logs.join(&run.name);
            (run, dir)
        }).collect()
    } else {
        run_sweep(&spec, &logs, |run, state| {
            let flags = parse_train_flags(&spec.base_args, run, &logs, state)?;
            train(&flags.options)?;
            Ok(())
        })?
    };
    let rows = collect(&folders)?;
    let page = write_sweep_report(&logs, &spec, &rows)?;
    println!("{page}");
    Ok(())
}

/// Builds a run's `train` arguments (base, grid values, folder, resume or overwrite) and parses them.
fn parse_train_flags(base_args: &[String], run: &SweepRun, logs: &Path, state: RunState) -> sparse_clip::Result<TrainFlags> {
    for reserved in ["--logs", "--name", "--resume", "--overwrite"] {
        if base_args.iter().chain(run.values.keys()).any(|arg| arg == reserved) {
            return Err(sparse_clip::Error::Config(format!("the sweep sets {reserved} itself; remove it from the description")));
        }
    }
    let mut argv: Vec<String> = vec!["train".into()];
    argv.extend(base_args.iter().cloned());
    argv.extend(run.args());
    argv.extend(["--logs".into(), logs.display().to_string(), "--name".into(), run.name.clone()]);
    match state {
        RunState::Interrupted => argv.extend(["--resume".into(), "latest".into()]),
        RunState::New => argv.push("--overwrite".into()),
        RunState::Done => {}
    }
    TrainFlags::try_parse_from(&argv).map_err(|e| {
        let message = e.to_string();
        let first = message.lines().next().unwrap_or_default().trim_start_matches("error: ");
        sparse_clip::Error::Config(format!("run {}: invalid train arguments: {first}; fix the sweep description", run.name))
    })
}
