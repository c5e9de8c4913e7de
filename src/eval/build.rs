//! Merges result JSON files into one table: a CSV with one row per result (CLIP_benchmark's
//! `build` step), or a Markdown table with one row per metric and one column per model.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::eval::EvalResult;

/// Columns every CSV row starts with, before the metrics.
const KEY_COLUMNS: [&str; 6] = ["dataset", "model", "pretrained", "task", "features", "language"];

/// Reads result files, in the order given. A file contains one result, or a list of results (as
/// `sparse-clip eval` prints on stdout).
pub fn read_results(paths: &[impl AsRef<Path>]) -> Result<Vec<EvalResult>> {
    let mut results = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("failed to read", path, e))?;
        let invalid = |e: serde_json::Error| {
            Error::Data(format!("{} is not a sparse-clip or CLIP_benchmark result ({e}); pass only result JSON files", path.display()))
        };
        if text.trim_start().starts_with('[') {
            results.extend(serde_json::from_str::<Vec<EvalResult>>(&text).map_err(invalid)?);
        } else {
            results.push(serde_json::from_str(&text).map_err(invalid)?);
        }
    }
    Ok(results)
}

/// Returns a CSV with one row per result: the key columns, then every metric name found in any
/// result (empty where a result lacks it), then `images_per_second`.
pub fn to_csv(results: &[EvalResult]) -> String {
    let metric_names: BTreeSet<&str> = results.iter().flat_map(|r| r.metrics.keys().map(String::as_str)).collect();
    let mut header: Vec<String> = KEY_COLUMNS.iter().map(|c| c.to_string()).collect();
    header.extend(metric_names.iter().map(|m| m.to_string()));
    header.push("images_per_second".into());

    let mut out = csv_line(&header);
    for result in results {
        let mut row = vec![
            result.dataset.clone(),
            result.model.clone(),
            result.pretrained.clone(),
            result.task.clone(),
            result.features.clone(),
            result.language.clone(),
        ];
        row.extend(metric_names.iter().map(|m| result.metrics.get(*m).map(|v| v.to_string()).unwrap_or_default()));
        row.push(result.timing.get("images_per_second").map(|v| format!("{v:.1}")).unwrap_or_default());
        out.push_str(&csv_line(&row));
    }
    out
}

/// Returns a Markdown table with one row per (dataset, task, features, metric) and one column per
/// model checkpoint, in first-seen order. A column is headed by the model name, plus the checkpoint
/// folder's name when two checkpoints share a model name. Fractions are printed as percentages,
/// other values with one decimal.
pub fn to_markdown(results: &[EvalResult]) -> String {
    let mut models: Vec<(&str, &str)> = Vec::new();
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    for result in results {
        let key = (result.model.as_str(), result.pretrained.as_str());
        if !models.contains(&key) {
            models.push(key);
        }
        for metric in result.metrics.keys() {
            let key = (result.dataset.clone(), result.task.clone(), result.features.clone(), metric.clone());
            if !rows.contains(&key) {
                rows.push(key);
            }
        }
    }

    let headers: Vec<String> = models
        .iter()
        .map(|&(model, pretrained)| {
            let shared = models.iter().filter(|(other, _)| *other == model).count() > 1;
            let folder = Path::new(pretrained).file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            if shared { format!("{model} ({folder})") } else { model.to_string() }
        })
        .collect();
    let mut out = format!("| dataset | task | metric | {} |\n", headers.join(" | "));
    let _ = writeln!(out, "|---|---|---|{}", "---|".repeat(models.len()));
    for (dataset, task, features, metric) in &rows {
        let label = if features == "embed" { metric.clone() } else { format!("{metric} ({features})") };
        let cells: Vec<String> = models
            .iter()
            .map(|&(model, pretrained)| {
                results
                    .iter()
                    .find(|r| r.model == model && r.pretrained == pretrained && &r.dataset == dataset && &r.task == task && &r.features == features)
                    .and_then(|r| r.metrics.get(metric))
                    .map_or("-".to_string(), |&v| format_metric(metric, v))
            })
            .collect();
        let _ = writeln!(out, "| {dataset} | {task} | {label} | {} |", cells.join(" | "));
    }
    out
}

/// Formats fractions (accuracies, recalls, fractions) as percentages and other values with one decimal.
fn format_metric(name: &str, value: f64) -> String {
    let is_fraction = name.starts_with("acc") || name.starts_with("lp_") || name.contains("recall") || name.ends_with("fraction");
    if is_fraction {
        format!("{:.1}%", value * 100.0)
    } else {
        format!("{value:.1}")
    }
}

fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|field| {
            if field.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", field.replace('"', "\"\""))
            } else {
                field.clone()
            }
        })
        .collect();
    format!("{}\n", quoted.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{Features, Task};

    fn result(model: &str, task: &str, metrics: &[(&str, f64)]) -> EvalResult {
        let mut result = EvalResult::new("emoji_heldout", model, "runs/x, with comma", Task::Sparsity, Features::Embed);
        result.task = task.into();
        result.metrics = metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        result
    }

    #[test]
    fn csv_has_union_of_metrics() {
        let results = vec![result("dense", "sparsity", &[("l0_image", 64.0)]), result("sparse", "zeroshot_classification", &[("acc1", 0.5)])];
        let csv = to_csv(&results);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "dataset,model,pretrained,task,features,language,acc1,l0_image,images_per_second");
        assert_eq!(lines[1], "emoji_heldout,dense,\"runs/x, with comma\",sparsity,embed,en,,64,");
        assert_eq!(lines[2], "emoji_heldout,sparse,\"runs/x, with comma\",zeroshot_classification,embed,en,0.5,,");
    }

    #[test]
    fn markdown_puts_models_in_columns() {
        let results = vec![result("dense", "zeroshot_classification", &[("acc1", 0.25)]), result("sparse", "zeroshot_classification", &[("acc1", 0.5)])];
        let table = to_markdown(&results);
        assert!(table.starts_with("| dataset | task | metric | dense | sparse |"), "{table}");
        assert!(table.contains("| emoji_heldout | zeroshot_classification | acc1 | 25.0% | 50.0% |"), "{table}");
    }

    #[test]
    fn markdown_keeps_checkpoints_of_one_model_apart() {
        let mut early = result("sparse", "zeroshot_classification", &[("acc1", 0.25)]);
        early.pretrained = "runs/sparse/checkpoints/step_000141".into();
        let mut late = result("sparse", "zeroshot_classification", &[("acc1", 0.5)]);
        late.pretrained = "runs/sparse/checkpoints/step_001692".into();
        let table = to_markdown(&[early, late]);
        assert!(table.starts_with("| dataset | task | metric | sparse (step_000141) | sparse (step_001692) |"), "{table}");
        assert!(table.contains("| 25.0% | 50.0% |"), "{table}");
    }

    #[test]
    fn results_round_trip_through_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, serde_json::to_string(&result("dense", "sparsity", &[("l0_image", 3.0)])).unwrap()).unwrap();
        let read = read_results(&[&path]).unwrap();
        assert_eq!(read[0].metrics["l0_image"], 3.0);
        std::fs::write(&path, "{}").unwrap();
        assert!(read_results(&[&path]).is_err());
        let list = vec![result("dense", "sparsity", &[]), result("sparse", "sparsity", &[])];
        std::fs::write(&path, serde_json::to_string(&list).unwrap()).unwrap();
        assert_eq!(read_results(&[&path]).unwrap().len(), 2);
    }
}
