//! End-to-end runs of `sparse-clip interpret` and `sparse-clip explain` on a model trained for a few
//! steps on the real fixture slice.

mod common;

use std::path::Path;

use common::{read_json, binary, run, run_ok, setup, train_command};

#[test]
fn interpret_tools_write_their_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = setup(dir.path());
    let logs = dir.path().join("runs");
    run_ok(train_command(&data, &model, &logs, "tiny").args(["--max-steps", "4", "--save-fractions", "0.25,0.5"]));
    let run_dir = logs.join("tiny");
    let checkpoints: Vec<_> = ["step_000001", "step_000002", "step_000004"].iter().map(|s| run_dir.join("checkpoints").join(s)).collect();
    for checkpoint in &checkpoints {
        assert!(checkpoint.join("state.json").is_file(), "missing {}", checkpoint.display());
    }
    let common_flags = |command: &mut std::process::Command| {
        command.args(["--device", "cpu", "--batch-size", "16"]).arg("--dataset-root").arg(&data);
    };
    let out = dir.path().join("interpret");

    // stats: sparsity, densities and modality shares, with plots.
    let mut stats = binary();
    stats.args(["interpret", "stats", "--checkpoint"]).arg(&run_dir).arg("--output").arg(out.join("stats.json"));
    common_flags(&mut stats);
    run_ok(&mut stats);
    let report = read_json(&out.join("stats.json"));
    let shares = ["image_only_share", "multimodal_share", "text_only_share"].iter().map(|k| report["modality"][k].as_f64().unwrap()).sum::<f64>();
    assert!((shares - 1.0).abs() < 1e-9 || report["modality"]["scored"] == 0, "shares sum to {shares}");
    assert!(std::fs::read_to_string(out.join("modality.svg")).unwrap().starts_with("<svg"));

    // name: a corpus vocabulary from the training captions.
    let features = out.join("features.json");
    let mut name = binary();
    name.args(["interpret", "name", "--checkpoint"])
        .arg(&run_dir)
        .arg("--vocab")
        .arg(format!("corpus:{}", data.join("train.tsv").display()))
        .args(["--vocab-min-count", "1", "--output"])
        .arg(&features);
    common_flags(&mut name);
    run_ok(&mut name);
    let atlas = read_json(&features);
    let cards = atlas["features"].as_array().unwrap();
    assert!(!cards.is_empty(), "a trained relu model has active features");
    assert!(cards[0]["top_words"].as_array().unwrap().len() <= 10);
    assert_eq!(cards[0]["name"], cards[0]["top_words"][0]["text"], "the name is the top word");

    // atlas: a static page with its images.
    let stdout = run_ok(binary().args(["interpret", "atlas", "--features"]).arg(&features).arg("--output").arg(out.join("atlas")));
    assert!(stdout.contains("index.html"));
    let html = std::fs::read_to_string(out.join("atlas/index.html")).unwrap();
    assert!(html.contains("<html"));

    // explain: a caption and an image, as JSON.
    let image = std::fs::read_dir(data.join("images")).unwrap().flat_map(|style| std::fs::read_dir(style.unwrap().path()).unwrap()).next().unwrap().unwrap().path();
    for input in ["dog face", image.to_str().unwrap()] {
        let stdout = run_ok(binary().args(["explain", input, "--json", "--device", "cpu", "--checkpoint"]).arg(&run_dir).arg("--features").arg(&features));
        let explained: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert!(explained["l0"].as_u64().unwrap() as usize >= explained["features"].as_array().unwrap().len());
    }

    // clarity: the model scored under itself as the reference encoder.
    let mut clarity = binary();
    clarity.args(["interpret", "clarity", "--checkpoint"]).arg(&run_dir).arg("--reference").arg(&run_dir).arg("--output").arg(out.join("clarity.json"));
    common_flags(&mut clarity);
    run_ok(&mut clarity);
    let report = read_json(&out.join("clarity.json"));
    let baseline = report["random_pair_baseline"].as_f64().unwrap();
    assert!((-1.0..=1.0).contains(&baseline));

    // dynamics: three checkpoints of the run, lined up by feature index.
    let mut dynamics = binary();
    dynamics.args(["interpret", "dynamics"]).args(&checkpoints).arg("--vocab").arg(format!("corpus:{}", data.join("train.tsv").display()));
    dynamics.args(["--vocab-min-count", "1", "--output"]).arg(out.join("dynamics"));
    common_flags(&mut dynamics);
    run_ok(&mut dynamics);
    let report = read_json(&out.join("dynamics/dynamics.json"));
    let steps: Vec<i64> = report["checkpoints"].as_array().unwrap().iter().map(|c| c["step"].as_i64().unwrap()).collect();
    assert_eq!(steps, vec![1, 2, 4]);
    for tracked in report["tracked"].as_array().unwrap() {
        assert_eq!(tracked["names"].as_array().unwrap().len(), 3);
    }
    assert!(out.join("dynamics/l0.svg").is_file());
}

#[test]
fn bad_interpret_input_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = setup(dir.path());
    let logs = dir.path().join("runs");
    run_ok(train_command(&data, &model, &logs, "tiny").args(["--max-steps", "1"]));
    let run_dir = logs.join("tiny");

    let missing = run(binary().args(["interpret", "atlas", "--features"]).arg(dir.path().join("none.json")));
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("interpret name"));

    let empty = run(binary().args(["explain", "  ", "--device", "cpu", "--checkpoint"]).arg(&run_dir));
    assert!(!empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("empty"));

    let missing_image = run(binary().args(["explain", "no-such-image.png", "--device", "cpu", "--checkpoint"]).arg(&run_dir));
    assert!(!missing_image.status.success());
    assert!(String::from_utf8_lossy(&missing_image.stderr).contains("not found"));

    let bad_set = run(binary().args(["interpret", "stats", "--dataset", "mnist", "--device", "cpu", "--checkpoint"]).arg(&run_dir));
    assert!(!bad_set.status.success());
    assert!(String::from_utf8_lossy(&bad_set.stderr).contains("not a built-in set with captions"));

    let bad_vocab = run(binary().args(["interpret", "name", "--device", "cpu", "--vocab"]).arg(dir.path().join("no-words.txt")).arg("--checkpoint").arg(&run_dir).arg("--dataset-root").arg(&data));
    assert!(!bad_vocab.status.success());
    assert!(String::from_utf8_lossy(&bad_vocab.stderr).contains("no-words.txt"));
}
