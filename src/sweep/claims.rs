//! The four comparative claims of Sparse CLIP, checked against measured numbers:
//! 1. Sparse CLIP beats post-hoc SAEs on dense CLIP (retrieval through the SAE and clarity).
//! 2. ReLU beats an L1 penalty and TopK as the way to sparsity, at the same width.
//! 3. Width helps only with ReLU.
//! 4. The logit-scale cap sets the sparsity.

use serde::{Deserialize, Serialize};

use crate::sae::compare::ComparisonRow;
use crate::sweep::report::{grid_rows, RunMetrics};

/// Margin, in recall points, inside which two numbers count as equal.
pub const TIE: f64 = 0.01;

/// One claim with its verdict and the numbers behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub claim: String,
    /// `held`, `did not hold`, `mixed` or `not tested`.
    pub verdict: String,
    pub evidence: String,
}

fn percent(value: f64) -> String {
    format!("{:.1}%", value * 100.0)
}

/// Claim 1 from the comparison rows.
pub fn sparse_clip_vs_sae(rows: &[ComparisonRow]) -> Claim {
    let claim = "Sparse CLIP beats post-hoc SAEs on dense CLIP".to_string();
    let Some(sparse) = rows.iter().find(|r| r.kind == "sparse_clip") else {
        return Claim { claim, verdict: "not tested".into(), evidence: "no Sparse CLIP row".into() };
    };
    let saes: Vec<&ComparisonRow> = rows.iter().filter(|r| r.kind.starts_with("sae_")).collect();
    if saes.is_empty() {
        return Claim { claim, verdict: "not tested".into(), evidence: "no SAE row".into() };
    }
    let mut wins = 0;
    let mut evidence = Vec::new();
    for sae in &saes {
        let recall_win = sparse.image_retrieval_recall_at_5 + TIE >= sae.image_retrieval_recall_at_5;
        let clarity_win = sparse.clarity >= sae.clarity;
        wins += usize::from(recall_win) + usize::from(clarity_win);
        evidence.push(format!(
            "vs {}: T->I R@5 {} against {} through the SAE, clarity {:.3} against {:.3}",
            sae.model,
            percent(sparse.image_retrieval_recall_at_5),
            percent(sae.image_retrieval_recall_at_5),
            sparse.clarity,
            sae.clarity
        ));
    }
    let verdict = if wins == 2 * saes.len() { "held" } else if wins == 0 { "did not hold" } else { "mixed" };
    Claim { claim, verdict: verdict.into(), evidence: evidence.join("; ") }
}

fn recall(row: &RunMetrics) -> f64 {
    row.image_retrieval_recall_at_5.unwrap_or(f64::NAN)
}

fn value<'a>(row: &'a RunMetrics, flag: &str) -> Option<&'a str> {
    row.run.values.get(flag).map(String::as_str)
}

/// Claim 2 from the `head` grid.
pub fn relu_vs_other_heads(rows: &[RunMetrics]) -> Claim {
    let claim = "ReLU beats an L1 penalty and TopK at the same width".to_string();
    let grid = grid_rows(rows, "head");
    let of = |head: &str| grid.iter().find(|r| value(r, "--head") == Some(head)).copied();
    let (Some(relu), Some(l1), Some(topk)) = (of("relu"), of("l1"), of("topk")) else {
        return Claim { claim, verdict: "not tested".into(), evidence: "the head grid has no finished run for relu, l1 or topk".into() };
    };
    let beats = |other: &RunMetrics| recall(relu) + TIE >= recall(other);
    let verdict = match (beats(l1), beats(topk)) {
        (true, true) => "held",
        (false, false) => "did not hold",
        _ => "mixed",
    };
    let l0 = |r: &RunMetrics| r.l0_image_fraction.map_or("-".into(), percent);
    let evidence = format!(
        "T->I R@5: relu {} (l0 {}), l1 {} (l0 {}), topk {} (l0 {})",
        percent(recall(relu)),
        l0(relu),
        percent(recall(l1)),
        l0(l1),
        percent(recall(topk)),
        l0(topk)
    );
    Claim { claim, verdict: verdict.into(), evidence }
}

/// Claim 3 from the `expansion` grid: the recall gain from the smallest to the largest expansion.
pub fn width_helps_only_relu(rows: &[RunMetrics]) -> Claim {
    let claim = "Width helps only with ReLU".to_string();
    let grid = grid_rows(rows, "expansion");
    let gain = |head: &str| -> Option<(f64, f64, f64, f64)> {
        let mut members: Vec<(f64, f64)> = grid
            .iter()
            .filter(|r| value(r, "--head") == Some(head))
            .filter_map(|r| Some((value(r, "--expansion")?.parse::<f64>().ok()?, recall(r))))
            .collect();
        members.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (first, last) = (members.first()?, members.last()?);
        (members.len() > 1).then_some((first.0, first.1, last.0, last.1))
    };
    let (Some(relu), Some(dense)) = (gain("relu"), gain("dense")) else {
        return Claim { claim, verdict: "not tested".into(), evidence: "the expansion grid needs two widths for relu and dense".into() };
    };
    let relu_gain = relu.3 - relu.1;
    let dense_gain = dense.3 - dense.1;
    let verdict = if relu_gain > TIE && dense_gain <= TIE {
        "held"
    } else if relu_gain <= TIE && dense_gain <= TIE {
        "did not hold"
    } else if relu_gain > dense_gain {
        "mixed"
    } else {
        "did not hold"
    };
    let evidence = format!(
        "T->I R@5 from x{} to x{}: relu {} -> {} ({:+.1} points), dense {} -> {} ({:+.1} points)",
        relu.0,
        relu.2,
        percent(relu.1),
        percent(relu.3),
        relu_gain * 100.0,
        percent(dense.1),
        percent(dense.3),
        dense_gain * 100.0
    );
    Claim { claim, verdict: verdict.into(), evidence }
}

/// Claim 4 from the `cap` grid: image `l0` should fall as the cap falls.
pub fn cap_sets_sparsity(rows: &[RunMetrics]) -> Claim {
    let claim = "The logit-scale cap sets the sparsity".to_string();
    let mut points: Vec<(f64, f64, f64)> = grid_rows(rows, "cap")
        .iter()
        .filter_map(|r| Some((value(r, "--logit-scale-cap")?.parse::<f64>().ok()?, r.l0_image_fraction?, recall(r))))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    if points.len() < 2 {
        return Claim { claim, verdict: "not tested".into(), evidence: "the cap grid needs two caps".into() };
    }
    let monotone = points.windows(2).all(|w| w[1].1 + 1e-3 >= w[0].1);
    let spread = points.last().map_or(0.0, |p| p.1) - points[0].1;
    let verdict = if monotone && spread > TIE {
        "held"
    } else if spread > TIE {
        "mixed"
    } else {
        "did not hold"
    };
    let listing: Vec<String> = points.iter().map(|(cap, l0, r5)| format!("cap {cap}: l0 {} of D, R@5 {}", percent(*l0), percent(*r5))).collect();
    Claim { claim, verdict: verdict.into(), evidence: listing.join("; ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::SweepRun;
    use std::collections::BTreeMap;

    fn run(grid: &str, values: &[(&str, &str)], r5: f64, l0: f64) -> RunMetrics {
        let values: BTreeMap<String, String> = values.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        RunMetrics {
            run: SweepRun { name: format!("{values:?}"), grids: vec![grid.into()], values },
            image_retrieval_recall_at_5: Some(r5),
            text_retrieval_recall_at_5: None,
            acc1: None,
            l0_image: None,
            l0_image_fraction: Some(l0),
            dead_fraction: None,
            seconds: None,
        }
    }

    #[test]
    fn cap_claim_needs_falling_l0() {
        let rows = vec![run("cap", &[("--logit-scale-cap", "100")], 0.4, 0.3), run("cap", &[("--logit-scale-cap", "10")], 0.3, 0.05)];
        assert_eq!(cap_sets_sparsity(&rows).verdict, "held");
        let flat = vec![run("cap", &[("--logit-scale-cap", "100")], 0.4, 0.3), run("cap", &[("--logit-scale-cap", "10")], 0.3, 0.3)];
        assert_eq!(cap_sets_sparsity(&flat).verdict, "did not hold");
    }

    #[test]
    fn width_claim_compares_gains() {
        let rows = vec![
            run("expansion", &[("--head", "relu"), ("--expansion", "1")], 0.30, 0.5),
            run("expansion", &[("--head", "relu"), ("--expansion", "32")], 0.40, 0.05),
            run("expansion", &[("--head", "dense"), ("--expansion", "1")], 0.45, 1.0),
            run("expansion", &[("--head", "dense"), ("--expansion", "32")], 0.45, 1.0),
        ];
        let claim = width_helps_only_relu(&rows);
        assert_eq!(claim.verdict, "held", "{}", claim.evidence);
    }

    #[test]
    fn missing_grid_is_not_tested() {
        assert_eq!(relu_vs_other_heads(&[]).verdict, "not tested");
    }
}
