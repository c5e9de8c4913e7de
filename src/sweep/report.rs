//! Final metrics of a sweep's runs, as a table and as plots of accuracy and `l0` against each
//! swept value.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::eval::build::read_results;
use crate::plot::{bar_chart_svg, line_chart_svg, Axes, Series};
use crate::sweep::{SweepRun, SweepSpec, DONE_FILE};

/// The final metrics of one run, read from its `results/` folder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    pub run: SweepRun,
    /// Held-out retrieval, caption queries and image queries.
    pub image_retrieval_recall_at_5: Option<f64>,
    pub text_retrieval_recall_at_5: Option<f64>,
    /// Zero-shot accuracy over the held-out labels.
    pub acc1: Option<f64>,
    pub l0_image: Option<f64>,
    pub l0_image_fraction: Option<f64>,
    pub dead_fraction: Option<f64>,
    /// Wall time of the run as the sweep measured it (absent for runs finished elsewhere).
    pub seconds: Option<f64>,
}

/// Reads the metrics of every run folder.
pub fn collect(folders: &[(SweepRun, PathBuf)]) -> Result<Vec<RunMetrics>> {
    let mut rows = Vec::new();
    for (run, dir) in folders {
        let files: Vec<PathBuf> = std::fs::read_dir(dir.join("results"))
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "json")).collect())
            .unwrap_or_default();
        let results = read_results(&files)?;
        let metric = |task: &str, name: &str| results.iter().find(|r| r.task == task).and_then(|r| r.metrics.get(name).copied());
        let seconds = std::fs::read_to_string(dir.join(DONE_FILE))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|value| value["seconds"].as_f64());
        rows.push(RunMetrics {
            run: run.clone(),
            image_retrieval_recall_at_5: metric("zeroshot_retrieval", "image_retrieval_recall@5"),
            text_retrieval_recall_at_5: metric("zeroshot_retrieval", "text_retrieval_recall@5"),
            acc1: metric("zeroshot_classification", "acc1"),
            l0_image: metric("sparsity", "l0_image"),
            l0_image_fraction: metric("sparsity", "l0_image_fraction"),
            dead_fraction: metric("sparsity", "dead_fraction"),
            seconds,
        });
    }
    Ok(rows)
}

/// Returns one Markdown table of every run.
pub fn markdown_table(rows: &[RunMetrics]) -> String {
    let percent = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0));
    let mut out = String::from("| run | grids | T->I R@5 | I->T R@5 | acc1 | l0 image | l0 % of D | dead | seconds |\n|---|---|---|---|---|---|---|---|---|\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.run.name,
            row.run.grids.join(", "),
            percent(row.image_retrieval_recall_at_5),
            percent(row.text_retrieval_recall_at_5),
            percent(row.acc1),
            row.l0_image.map_or("-".into(), |v| format!("{v:.1}")),
            percent(row.l0_image_fraction),
            percent(row.dead_fraction),
            row.seconds.map_or("-".into(), |v| format!("{v:.0}")),
        );
    }
    out
}

/// Returns the rows of one grid.
pub fn grid_rows<'a>(rows: &'a [RunMetrics], grid: &str) -> Vec<&'a RunMetrics> {
    rows.iter().filter(|r| r.run.grids.iter().any(|g| g == grid)).collect()
}

/// Draws, for each grid, T->I R@5 and image `l0` (% of D) against the grid's numeric flag, one
/// line per value of its other flags; a grid without a numeric flag gets bar charts. Returns
/// (file name, SVG) pairs.
pub fn grid_plots(spec: &SweepSpec, rows: &[RunMetrics]) -> Vec<(String, String)> {
    let mut plots = Vec::new();
    for grid in &spec.grids {
        let members = grid_rows(rows, &grid.name);
        let numeric = grid.args.iter().find(|(_, values)| values.len() > 1 && values.iter().all(|v| v.parse::<f64>().is_ok())).map(|(flag, _)| flag.clone());
        for (label, file, value) in [
            ("held-out T->I R@5 (%)", "r5", (|r: &RunMetrics| r.image_retrieval_recall_at_5) as fn(&RunMetrics) -> Option<f64>),
            ("image l0 (% of D)", "l0", |r: &RunMetrics| r.l0_image_fraction),
        ] {
            let svg = match &numeric {
                Some(flag) => {
                    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
                    for row in &members {
                        let key: Vec<String> = row.run.values.iter().filter(|(f, _)| *f != flag).map(|(f, v)| format!("{}={v}", f.trim_start_matches('-'))).collect();
                        if let (Some(x), Some(y)) = (row.run.values[flag].parse::<f64>().ok(), value(row)) {
                            series.entry(key.join(" ")).or_default().push((x, y * 100.0));
                        }
                    }
                    let series: Vec<Series> = series.into_iter().map(|(label, mut points)| {
                        points.sort_by(|a, b| a.0.total_cmp(&b.0));
                        Series { label, points }
                    }).collect();
                    let log_x = flag == "--expansion";
                    line_chart_svg(&Axes { title: format!("{}: {label}", grid.name), x_label: flag.trim_start_matches('-').into(), y_label: label.into(), log_x }, &series)
                }
                None => {
                    let bars: Vec<(String, f64)> = members.iter().filter_map(|r| value(r).map(|y| (r.run.name.clone(), y * 100.0))).collect();
                    bar_chart_svg(&Axes { title: format!("{}: {label}", grid.name), x_label: "run".into(), y_label: label.into(), log_x: false }, &bars)
                }
            };
            plots.push((format!("{}_{file}.svg", grid.name), svg));
        }
    }
    plots
}

/// Writes `sweep.json`, `sweep.md` and the plots into `dir`; returns the Markdown.
pub fn write_sweep_report(dir: &Path, spec: &SweepSpec, rows: &[RunMetrics]) -> Result<String> {
    crate::train::checkpoint::create_dir(dir)?;
    let mut page = format!("# Sweep `{}`\n\n{}\n", spec.name, markdown_table(rows));
    for (file, svg) in grid_plots(spec, rows) {
        crate::plot::write_svg(&dir.join(&file), &svg)?;
        let _ = writeln!(page, "![{file}]({file})");
    }
    crate::train::checkpoint::write_atomic(&dir.join("sweep.md"), page.as_bytes())?;
    crate::train::checkpoint::write_atomic(&dir.join("sweep.json"), serde_json::to_string_pretty(rows)?.as_bytes())?;
    Ok(page)
}
