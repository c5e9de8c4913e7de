//! `sparse-clip train`: one training run; prints the run summary as JSON.

use sparse_clip::train::{train, TrainOptions};

pub fn run(options: &TrainOptions) -> anyhow::Result<()> {
    let summary = train(options)?;
    super::print_json(&summary)
}
