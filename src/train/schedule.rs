//! The learning-rate schedule: linear warm-up, then cosine decay to zero (open_clip's `cosine`).

/// Returns the learning rate at `step` (0-based) for a run of `total_steps`.
pub fn cosine_lr(base_lr: f64, step: i64, warmup_steps: i64, total_steps: i64) -> f64 {
    if step < warmup_steps {
        return base_lr * (step + 1) as f64 / warmup_steps as f64;
    }
    let decay_steps = (total_steps - warmup_steps).max(1);
    let progress = ((step - warmup_steps) as f64 / decay_steps as f64).min(1.0);
    0.5 * (1.0 + (std::f64::consts::PI * progress).cos()) * base_lr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_rises_linearly() {
        assert!((cosine_lr(1.0, 0, 10, 100) - 0.1).abs() < 1e-12);
        assert!((cosine_lr(1.0, 9, 10, 100) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn cosine_decays_to_zero() {
        assert!((cosine_lr(1.0, 10, 10, 100) - 1.0).abs() < 1e-12);
        assert!((cosine_lr(1.0, 55, 10, 100) - 0.5).abs() < 1e-12);
        assert!(cosine_lr(1.0, 100, 10, 100).abs() < 1e-12);
    }
}
