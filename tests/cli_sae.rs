//! End-to-end runs of `sparse-clip sae`, `sparse-clip sweep` and `sparse-clip report` on models
//! trained for a few steps on the real fixture slice.

mod common;

use std::path::Path;

use common::{read_json, binary, run, run_ok, setup, train_command};

#[test]
fn sae_sweep_and_report_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = setup(dir.path());
    let logs = dir.path().join("runs");
    run_ok(train_command(&data, &model, &logs, "sparse").args(["--max-steps", "2"]));
    run_ok(train_command(&data, &model, &logs, "dense").args(["--max-steps", "2", "--head", "dense", "--expansion", "1"]));

    // SAE training and evaluation.
    let sae_dir = dir.path().join("sae");
    let stdout = run_ok(
        binary()
            .args(["sae", "train", "--kind", "topk", "--k", "4", "--epochs", "2", "--device", "cpu", "--dense"])
            .arg(logs.join("dense"))
            .arg("--like")
            .arg(logs.join("sparse"))
            .arg("--train-data")
            .arg(data.join("train.tsv"))
            .arg("--output")
            .arg(&sae_dir),
    );
    let trained: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(trained["train_metrics"]["l0"].as_f64().unwrap() <= 4.0, "TopK keeps at most k latents");
    run_ok(binary().args(["sae", "eval", "--device", "cpu", "--sae"]).arg(&sae_dir).arg("--dataset-root").arg(&data));
    let row = read_json(&sae_dir.join("eval.json"));
    assert_eq!(row["kind"], "sae_topk");
    assert_eq!(row["dict_size"], 256, "the dictionary matches the sparse model's code width");

    // A two-run sweep, run twice: the second call finds both runs done.
    let spec = dir.path().join("spec.json");
    let spec_json = serde_json::json!({
        "name": "t",
        "base_args": ["--train-data", data.join("train.tsv"), "--model", model, "--batch-size", "4", "--max-steps", "2", "--device", "cpu"],
        "grids": [{"name": "cap", "args": {"--head": ["relu"], "--logit-scale-cap": ["50", "10"]}}]
    });
    std::fs::write(&spec, spec_json.to_string()).unwrap();
    let sweep_logs = dir.path().join("sweeps");
    run_ok(binary().args(["sweep"]).arg(&spec).arg("--logs").arg(&sweep_logs));
    let listing: Vec<serde_json::Value> = serde_json::from_str(&run_ok(binary().args(["sweep", "--dry-run"]).arg(&spec).arg("--logs").arg(&sweep_logs))).unwrap();
    assert_eq!(listing.len(), 2);
    assert!(listing.iter().all(|run| run["state"] == "Done"), "{listing:?}");
    assert!(sweep_logs.join("t/sweep.md").is_file());
    assert!(sweep_logs.join("t/cap_l0.svg").is_file());

    // The report page with the comparison table, the sweep and the claims.
    let page = dir.path().join("report/ablations.md");
    run_ok(
        binary()
            .args(["report", "--device", "cpu", "--dense"])
            .arg(logs.join("dense"))
            .arg("--sparse")
            .arg(logs.join("sparse"))
            .arg("--sae")
            .arg(&sae_dir)
            .arg("--sweep")
            .arg(&spec)
            .arg("--sweep-logs")
            .arg(&sweep_logs)
            .arg("--dataset-root")
            .arg(&data)
            .arg("--output")
            .arg(&page),
    );
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(text.contains("Sparse CLIP beats post-hoc SAEs"), "{text}");
    assert!(text.contains("The logit-scale cap sets the sparsity"), "{text}");
    assert!(dir.path().join("report/ablations/cap_r5.svg").is_file());
}

#[test]
fn bad_sweep_description_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.json");
    std::fs::write(&spec, "{\"name\": \"t\"}").unwrap();
    let output = run(binary().args(["sweep"]).arg(&spec));
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a sweep description"));
}
