//! Training dynamics: sparsity, modality shares and feature names across the checkpoints of one
//! run. Feature i is the same row of the projection in every checkpoint of a run, so features are
//! lined up by index.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::interpret::modality::ModalityStats;
use crate::plot::{line_chart_svg, Axes, Series};

/// Sparsity, modality and feature names of one checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointSummary {
    pub checkpoint: String,
    pub step: i64,
    /// step / total steps of the run.
    pub fraction: f64,
    pub l0_image: f64,
    pub l0_text: f64,
    pub active_fraction: f64,
    pub dead_fraction: f64,
    pub modality: ModalityStats,
    /// Name of every feature (D entries); features that do not fire on the set are named `-`.
    pub names: Vec<String>,
    /// Fraction of the set's images each feature is on for (D entries).
    pub density_image: Vec<f64>,
}

/// One feature followed across checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackedFeature {
    pub index: usize,
    /// Name at each checkpoint, in checkpoint order.
    pub names: Vec<String>,
    pub density_image: Vec<f64>,
}

/// Follows the features at `indices` through the checkpoints.
pub fn track_features(summaries: &[CheckpointSummary], indices: &[usize]) -> Vec<TrackedFeature> {
    indices
        .iter()
        .map(|&index| TrackedFeature {
            index,
            names: summaries.iter().map(|s| s.names.get(index).cloned().unwrap_or_else(|| "-".into())).collect(),
            density_image: summaries.iter().map(|s| s.density_image.get(index).copied().unwrap_or(0.0)).collect(),
        })
        .collect()
}

/// Returns the `count` features with the highest image density in the last checkpoint.
pub fn densest_features(last: &CheckpointSummary, count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..last.density_image.len()).collect();
    order.sort_by(|&a, &b| last.density_image[b].total_cmp(&last.density_image[a]).then(a.cmp(&b)));
    order.truncate(count);
    order
}

/// Returns, for each checkpoint, the share of tracked features whose name equals their final name.
pub fn name_agreement_with_final(tracked: &[TrackedFeature]) -> Vec<f64> {
    let checkpoints = tracked.first().map_or(0, |t| t.names.len());
    (0..checkpoints)
        .map(|c| {
            let same = tracked.iter().filter(|t| t.names[c] == t.names[checkpoints - 1]).count();
            same as f64 / tracked.len().max(1) as f64
        })
        .collect()
}

/// Returns a Markdown page: one table of sparsity and modality per checkpoint, one of names.
pub fn markdown(summaries: &[CheckpointSummary], tracked: &[TrackedFeature]) -> String {
    let mut out = String::from("| step | fraction | l0 image | l0 text | active | dead | image-only | multimodal | text-only |\n|---|---|---|---|---|---|---|---|---|\n");
    for s in summaries {
        let _ = writeln!(
            out,
            "| {} | {:.1}% | {:.1} | {:.1} | {:.1}% | {:.1}% | {:.1}% | {:.1}% | {:.1}% |",
            s.step,
            s.fraction * 100.0,
            s.l0_image,
            s.l0_text,
            s.active_fraction * 100.0,
            s.dead_fraction * 100.0,
            s.modality.image_only_share * 100.0,
            s.modality.multimodal_share * 100.0,
            s.modality.text_only_share * 100.0
        );
    }
    let header: Vec<String> = summaries.iter().map(|s| format!("{:.0}%", s.fraction * 100.0)).collect();
    let _ = write!(out, "\n| feature | {} |\n|---|{}\n", header.join(" | "), "---|".repeat(summaries.len()));
    for t in tracked {
        let _ = writeln!(out, "| {} | {} |", t.index, t.names.join(" | "));
    }
    let agreement: Vec<String> = name_agreement_with_final(tracked).iter().map(|a| format!("{:.0}%", a * 100.0)).collect();
    let _ = writeln!(out, "| same name as at the end | {} |", agreement.join(" | "));
    out
}

/// Draws `l0` and the modality shares against the fraction of training, on a log x axis.
pub fn plot_svgs(summaries: &[CheckpointSummary], model: &str) -> (String, String) {
    let series = |label: &str, value: &dyn Fn(&CheckpointSummary) -> f64| Series {
        label: label.into(),
        points: summaries.iter().map(|s| (s.fraction, value(s))).collect(),
    };
    let l0 = line_chart_svg(
        &Axes { title: format!("l0 over training: {model}"), x_label: "fraction of training".into(), y_label: "active features per input".into(), log_x: true },
        &[series("l0 image", &|s| s.l0_image), series("l0 text", &|s| s.l0_text)],
    );
    let shares = line_chart_svg(
        &Axes { title: format!("Modality shares over training: {model}"), x_label: "fraction of training".into(), y_label: "share of features".into(), log_x: true },
        &[
            series("image-only", &|s| s.modality.image_only_share),
            series("multimodal", &|s| s.modality.multimodal_share),
            series("text-only", &|s| s.modality.text_only_share),
        ],
    );
    (l0, shares)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(step: i64, names: &[&str], density: &[f64]) -> CheckpointSummary {
        CheckpointSummary {
            checkpoint: format!("step_{step}"),
            step,
            fraction: step as f64 / 100.0,
            l0_image: 1.0,
            l0_text: 1.0,
            active_fraction: 1.0,
            dead_fraction: 0.0,
            modality: ModalityStats { scored: 0, image_only_share: 0.0, multimodal_share: 1.0, text_only_share: 0.0, histogram: vec![0; 10] },
            names: names.iter().map(|n| n.to_string()).collect(),
            density_image: density.to_vec(),
        }
    }

    #[test]
    fn features_line_up_by_index() {
        let summaries = vec![summary(10, &["-", "cat", "sun"], &[0.0, 0.1, 0.2]), summary(100, &["dog", "cat", "moon"], &[0.5, 0.2, 0.1])];
        let densest = densest_features(&summaries[1], 2);
        assert_eq!(densest, vec![0, 1]);
        let tracked = track_features(&summaries, &densest);
        assert_eq!(tracked[0].names, vec!["-", "dog"]);
        assert_eq!(tracked[1].names, vec!["cat", "cat"]);
        assert_eq!(tracked[0].density_image, vec![0.0, 0.5]);
        assert_eq!(name_agreement_with_final(&tracked), vec![0.5, 1.0]);
    }

    #[test]
    fn markdown_lists_every_checkpoint() {
        let summaries = vec![summary(10, &["a"], &[0.1]), summary(100, &["b"], &[0.1])];
        let page = markdown(&summaries, &track_features(&summaries, &[0]));
        assert!(page.contains("| 10 | 10.0% |"), "{page}");
        assert!(page.contains("| 0 | a | b |"), "{page}");
    }
}
