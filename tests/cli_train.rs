//! End-to-end runs of the `sparse-clip` binary on a small real slice of the emoji and Tux Paint
//! packages (tests/fixtures/data-raw): data build, a few training steps, exact resume, and errors.

mod common;

use std::path::Path;

use common::{binary, run, run_ok, setup, train_command};

fn losses(log: &Path) -> Vec<(i64, f64)> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            (value["step"].as_i64().unwrap(), value["loss"].as_f64().unwrap())
        })
        .collect()
}

#[test]
fn train_few_steps_writes_log_checkpoint_and_results() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = setup(dir.path());
    let logs = dir.path().join("runs");
    let stdout = run_ok(
        train_command(&data, &model, &logs, "smoke").args(["--max-steps", "3"]).arg("--val-data").arg(data.join("val.tsv")),
    );
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["steps"], 3);

    let log = losses(&logs.join("smoke/log.jsonl"));
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|(_, loss)| loss.is_finite()));

    let checkpoint = logs.join("smoke/checkpoints/step_000003");
    for file in ["model.safetensors", "optimizer.safetensors", "model_config.json", "preprocess.json", "tokenizer.json", "state.json"] {
        assert!(checkpoint.join(file).is_file(), "checkpoint lacks {file}");
    }
    let retrieval: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(logs.join("smoke/results/val_zeroshot_retrieval.json")).unwrap()).unwrap();
    assert_eq!(retrieval["task"], "zeroshot_retrieval");
    assert!(retrieval["metrics"]["image_retrieval_recall@5"].is_number());
}

#[test]
fn resume_latest_repeats_the_same_losses() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = setup(dir.path());
    let logs = dir.path().join("runs");

    run_ok(train_command(&data, &model, &logs, "whole").args(["--max-steps", "6"]));
    run_ok(train_command(&data, &model, &logs, "split").args(["--max-steps", "3"]));
    run_ok(train_command(&data, &model, &logs, "split").args(["--max-steps", "6", "--resume", "latest"]));

    let whole = losses(&logs.join("whole/log.jsonl"));
    let split = losses(&logs.join("split/log.jsonl"));
    assert_eq!(whole.len(), 6);
    assert_eq!(split.len(), 6);
    for ((step_a, loss_a), (step_b, loss_b)) in whole.iter().zip(&split) {
        assert_eq!(step_a, step_b);
        assert!((loss_a - loss_b).abs() < 1e-5, "step {step_a}: {loss_a} uninterrupted, {loss_b} resumed");
    }
}

#[test]
fn non_finite_loss_stops_and_keeps_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = setup(dir.path());
    let logs = dir.path().join("runs");
    run_ok(train_command(&data, &model, &logs, "nan").args(["--max-steps", "1"]));
    let output = run(train_command(&data, &model, &logs, "nan").args(["--max-steps", "6", "--resume", "latest", "--lr", "1e38"]));
    assert!(!output.status.success(), "an exploding learning rate must stop training");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("non-finite loss"), "{stderr}");
    assert!(stderr.contains("at step"), "{stderr}");
    let latest = std::fs::read_to_string(logs.join("nan/checkpoints/latest")).unwrap();
    assert_eq!(latest.trim(), "step_000001", "the last good checkpoint stays the latest");
}

#[test]
fn tsv_without_named_columns_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = dir.path().join("bad.tsv");
    std::fs::write(&tsv, "path\tcaption\nx.png\ta cat\n").unwrap();
    let output = run(binary().args(["train", "--max-steps", "1", "--device", "cpu"]).arg("--train-data").arg(&tsv).arg("--logs").arg(dir.path()));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("filepath"), "the error names the missing column: {stderr}");
}

#[test]
fn missing_train_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(binary().args(["train", "--train-data", "does/not/exist.tsv", "--device", "cpu"]).arg("--logs").arg(dir.path()));
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("does/not/exist.tsv"));
}

#[test]
fn invalid_options_are_rejected_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = setup(dir.path());
    let logs = dir.path().join("runs");
    let cases: [(&[&str], &str); 4] = [
        (&["--batch-size", "1"], "--batch-size"),
        (&["--lr", "NaN"], "--lr"),
        (&["--epochs", "0"], "--epochs"),
        (&["--name", "../escape"], "--name"),
    ];
    for (flags, named) in cases {
        let mut command = binary();
        command
            .args(["train", "--device", "cpu", "--train-data"])
            .arg(data.join("train.tsv"))
            .arg("--model")
            .arg(&model)
            .arg("--logs")
            .arg(&logs)
            .args(flags);
        let output = run(&mut command);
        assert!(!output.status.success(), "{flags:?} must be rejected");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(named), "the error for {flags:?} names {named}: {stderr}");
    }
    assert!(!dir.path().join("escape").exists(), "a run name must not leave --logs");
}

#[test]
fn reused_run_name_needs_resume_or_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = setup(dir.path());
    let logs = dir.path().join("runs");
    run_ok(train_command(&data, &model, &logs, "again").args(["--max-steps", "1"]));

    let output = run(train_command(&data, &model, &logs, "again").args(["--max-steps", "1"]));
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--resume latest"));

    run_ok(train_command(&data, &model, &logs, "again").args(["--max-steps", "2", "--overwrite"]));
    assert_eq!(losses(&logs.join("again/log.jsonl")).len(), 2, "--overwrite starts a clean log");
}

#[test]
fn unavailable_cuda_device_is_an_error() {
    if tch::Cuda::device_count() > 0 {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = setup(dir.path());
    let mut command = binary();
    command
        .args(["train", "--max-steps", "1", "--device", "cuda:0", "--train-data"])
        .arg(data.join("train.tsv"))
        .arg("--model")
        .arg(&model)
        .arg("--logs")
        .arg(dir.path().join("runs"));
    let output = run(&mut command);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not available"));
}
