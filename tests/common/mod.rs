//! Helpers shared by the end-to-end tests of the `sparse-clip` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sparse_clip::config::{HeadKind, ModelConfig};

pub fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sparse-clip"));
    command.env("SPARSE_CLIP_LOG", "warn");
    command
}

pub fn run(command: &mut Command) -> Output {
    let output = command.output().expect("the sparse-clip binary starts");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "the binary panicked:\n{stderr}");
    output
}

pub fn run_ok(command: &mut Command) -> String {
    let output = run(command);
    assert!(output.status.success(), "command failed:\n{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Builds the fixture slice into `dir/data` and writes a one-layer model config.
pub fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let raw = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data-raw");
    let data = dir.join("data");
    run_ok(binary().args(["data", "build", "--image-size", "32"]).arg("--raw").arg(&raw).arg("--out").arg(&data));
    let mut config = ModelConfig::preset("tiny", HeadKind::Relu).unwrap();
    config.vision_cfg.layers = 1;
    config.text_cfg.layers = 1;
    config.vision_cfg.width = 64;
    config.text_cfg.width = 64;
    config.embed_dim = 32;
    config.sparse_cfg.expansion = 8;
    let model = dir.join("model.json");
    std::fs::write(&model, config.to_json()).unwrap();
    (data, model)
}

pub fn train_command(data: &Path, model: &Path, logs: &Path, name: &str) -> Command {
    let mut command = binary();
    command
        .args(["train", "--batch-size", "4", "--epochs", "3", "--warmup", "2", "--device", "cpu", "--name", name])
        .arg("--train-data")
        .arg(data.join("train.tsv"))
        .arg("--model")
        .arg(model)
        .arg("--logs")
        .arg(logs);
    command
}


/// Reads a JSON file written by the binary.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
