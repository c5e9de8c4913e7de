//! Subcommands of `sparse-clip`. Each prints machine-readable JSON on stdout and progress on stderr.

mod data;
mod demo;
mod eval;
mod explain;
mod interpret;
mod report;
mod sae;
mod sweep;
mod train;

use clap::{Parser, Subcommand};

/// Train and evaluate Sparse CLIP models.
#[derive(Debug, Parser)]
#[command(name = "sparse-clip", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the built-in image-caption data from the fetched registry packages.
    Data(data::DataArgs),
    /// Train a CLIP or Sparse CLIP model.
    Train(Box<sparse_clip::train::TrainOptions>),
    /// Evaluate checkpoints with CLIP_benchmark's tasks, or merge results (`eval build`).
    Eval(eval::EvalArgs),
    /// Read the features of a sparse code: stats, clarity, name, atlas, dynamics.
    Interpret(interpret::InterpretArgs),
    /// Show the active features of one image or caption, with their names.
    Explain(explain::ExplainArgs),
    /// Sparse autoencoders on the dense model's embeddings: train, eval.
    Sae(sae::SaeArgs),
    /// Write the comparison page: dense, Sparse CLIP, SAEs, the sweep and the four claims.
    Report(report::ReportArgs),
    /// Train a grid of runs from a description file (resumable) and tabulate and plot them.
    Sweep(sweep::SweepArgs),
    /// Train the dense baseline and Sparse CLIP on the built-in data and compare them.
    Demo(demo::DemoArgs),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Data(args) => data::run(args),
        Command::Train(options) => train::run(&options),
        Command::Eval(args) => eval::run(args),
        Command::Interpret(args) => interpret::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Sae(args) => sae::run(args),
        Command::Report(args) => report::run(args),
        Command::Demo(args) => demo::run(args),
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
