//! End-to-end runs of `sparse-clip eval` and `sparse-clip eval build` on a model trained for a few
//! steps on the real fixture slice.

mod common;

use std::path::{Path, PathBuf};

use common::{read_json, binary, run, run_ok, setup, train_command};

/// Trains a two-step model and returns (data folder, run folder).
fn trained(dir: &Path) -> (PathBuf, PathBuf) {
    let (data, model) = setup(dir);
    let logs = dir.join("runs");
    run_ok(train_command(&data, &model, &logs, "tiny").args(["--max-steps", "2"]));
    (data, logs.join("tiny"))
}

fn eval_command(data: &Path, run_dir: &Path, output: &Path) -> std::process::Command {
    let mut command = binary();
    command
        .args(["eval", "--device", "cpu", "--batch_size", "16", "--lp_steps", "20", "--checkpoint"])
        .arg(run_dir)
        .arg("--dataset_root")
        .arg(data)
        .arg("--output")
        .arg(output.join("{dataset}_{model}_{task}_{features}.json"));
    command
}

#[test]
fn every_task_writes_benchmark_json() {
    let dir = tempfile::tempdir().unwrap();
    let (data, run_dir) = trained(dir.path());
    let out = dir.path().join("results");
    let datasets = "emoji_heldout,emoji_multicaption,tuxpaint,emoji_category,emoji_subcategory,emoji_concept";
    let stdout = run_ok(
        eval_command(&data, &run_dir, &out)
            .args(["--dataset", datasets])
            .args(["--task", "zeroshot_retrieval,zeroshot_classification,linear_probe,sparsity"]),
    );
    let results: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    // 3 retrieval sets x (retrieval, sparsity) + 3 class sets x classification + 2 probe sets x 2 features.
    assert_eq!(results.len(), 6 + 3 + 4);

    let retrieval = read_json(&out.join("emoji_multicaption_tiny_zeroshot_retrieval_embed.json"));
    for key in ["dataset", "model", "pretrained", "task", "metrics", "language"] {
        assert!(retrieval.get(key).is_some(), "missing {key}");
    }
    assert!(retrieval["metrics"]["image_retrieval_recall@5"].is_number());
    let n_images = retrieval["split"]["n_images"].as_f64().unwrap();
    assert_eq!(retrieval["split"]["n_texts"].as_f64().unwrap(), 2.0 * n_images, "name and caption per image");
    assert!(retrieval["timing"]["images_per_second"].as_f64().unwrap() > 0.0);

    let classification = read_json(&out.join("emoji_category_tiny_zeroshot_classification_embed.json"));
    assert!(classification["metrics"]["mean_per_class_recall"].is_number());
    assert_eq!(classification["prompts_sha256"].as_str().unwrap().len(), 64);

    let probe = read_json(&out.join("emoji_subcategory_tiny_linear_probe_code.json"));
    assert_eq!(probe["features"], "code");
    assert!(probe["metrics"]["lp_acc1"].is_number());

    let sparsity = read_json(&out.join("tuxpaint_tiny_sparsity_embed.json"));
    assert!(sparsity["metrics"]["l0_image_fraction"].is_number());
    let plot = PathBuf::from(sparsity["details"]["plot"].as_str().unwrap());
    assert!(std::fs::read_to_string(plot).unwrap().starts_with("<svg"));

    let files: Vec<PathBuf> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    let csv = dir.path().join("benchmark.csv");
    run_ok(binary().args(["eval", "build"]).args(&files).arg("--output").arg(&csv));
    let table = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(table.lines().count(), 1 + files.len());
    assert!(table.lines().next().unwrap().contains("image_retrieval_recall@5"));
}

#[test]
fn custom_templates_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let (data, run_dir) = trained(dir.path());
    let out = dir.path().join("results");
    let templates = dir.path().join("templates.txt");
    std::fs::write(&templates, "a drawing of {c}\n{c}, an emoji\n").unwrap();
    run_ok(eval_command(&data, &run_dir, &out).args(["--dataset", "emoji_category"]).arg("--custom_template_file").arg(&templates));
    let result = read_json(&out.join("emoji_category_tiny_zeroshot_classification_embed.json"));
    assert_eq!(result["prompts"], serde_json::json!(["a drawing of {c}", "{c}, an emoji"]));

    // --skip_existing leaves the file alone.
    let before = std::fs::metadata(out.join("emoji_category_tiny_zeroshot_classification_embed.json")).unwrap().modified().unwrap();
    let stdout = run_ok(eval_command(&data, &run_dir, &out).args(["--dataset", "emoji_category", "--skip_existing"]));
    assert_eq!(stdout.trim(), "[]");
    let after = std::fs::metadata(out.join("emoji_category_tiny_zeroshot_classification_embed.json")).unwrap().modified().unwrap();
    assert_eq!(before, after);

    // A template without {c} is rejected with its text in the message.
    std::fs::write(&templates, "no placeholder\n").unwrap();
    let output = run(eval_command(&data, &run_dir, &out).args(["--dataset", "emoji_category"]).arg("--custom_template_file").arg(&templates));
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no placeholder"));
}

#[test]
fn bad_eval_requests_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (data, run_dir) = trained(dir.path());
    let out = dir.path().join("results");
    let cases: [(&[&str], &str); 3] = [
        (&["--dataset", "imagenet"], "unknown dataset"),
        (&["--dataset", "mnist", "--task", "linear_probe"], "does not support"),
        (&["--recall_k", "0"], "--recall_k"),
    ];
    let fixed = dir.path().join("one.json");
    let collision = run(
        binary()
            .args(["eval", "--device", "cpu", "--task", "zeroshot_retrieval,sparsity", "--checkpoint"])
            .arg(&run_dir)
            .arg("--dataset_root")
            .arg(&data)
            .arg("--output")
            .arg(&fixed),
    );
    assert!(!collision.status.success());
    assert!(String::from_utf8_lossy(&collision.stderr).contains("sends two results"));
    assert!(!fixed.exists(), "nothing is written before the check");
    for (extra, expected) in cases {
        let output = run(eval_command(&data, &run_dir, &out).args(extra));
        assert!(!output.status.success(), "{extra:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
    }
}
