//! Grids of training runs from one description file, run one after another, resumable.
//!
//! A description is JSON:
//!
//! ```json
//! {"name": "default",
//!  "base_args": ["--train-data", "data/train.tsv", "--val-data", "data/val.tsv", "--epochs", "8"],
//!  "grids": [{"name": "expansion", "args": {"--head": ["dense", "relu"], "--expansion": ["1", "32"]}}]}
//! ```
//!
//! Each grid expands to the Cartesian product of its argument values, added to `base_args` of
//! `sparse-clip train`. Runs with the same arguments in several grids are trained once. A run is
//! finished when its folder contains `done.json`; an interrupted run resumes from its latest
//! checkpoint, and finished runs are skipped.

pub mod claims;
pub mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// File that marks a finished run.
pub const DONE_FILE: &str = "done.json";

/// A sweep description.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSpec {
    pub name: String,
    /// Arguments of `sparse-clip train` shared by every run.
    pub base_args: Vec<String>,
    pub grids: Vec<Grid>,
}

/// One grid: each flag with the values it takes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    pub name: String,
    pub args: BTreeMap<String, Vec<String>>,
}

/// One training run of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepRun {
    /// Run folder name, built from the flag values.
    pub name: String,
    /// Grids that contain this run.
    pub grids: Vec<String>,
    /// The grid's flag values of this run.
    pub values: BTreeMap<String, String>,
}

impl SweepRun {
    /// Returns the run's extra arguments for `sparse-clip train`.
    pub fn args(&self) -> Vec<String> {
        self.values.iter().flat_map(|(flag, value)| [flag.clone(), value.clone()]).collect()
    }
}

/// Reads and checks a description file.
pub fn read_spec(path: &Path) -> Result<SweepSpec> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("failed to read", path, e))?;
    let spec: SweepSpec = serde_json::from_str(&text).map_err(|e| Error::Data(format!("{} is not a sweep description ({e})", path.display())))?;
    crate::train::options::validate_run_name(&spec.name).map_err(|e| Error::Data(format!("{}: sweep name: {e}", path.display())))?;
    if spec.grids.is_empty() {
        return Err(Error::Data(format!("{} has no grids; add at least one", path.display())));
    }
    for grid in &spec.grids {
        if let Some(flag) = grid.args.keys().find(|flag| !flag.starts_with("--")) {
            return Err(Error::Data(format!("{}: grid {:?} has flag {flag:?} without a leading --; write e.g. \"--expansion\"", path.display(), grid.name)));
        }
        if let Some(flag) = grid.args.iter().find(|(_, values)| values.is_empty()).map(|(flag, _)| flag) {
            return Err(Error::Data(format!("{}: grid {:?} gives flag {flag} no values; list at least one", path.display(), grid.name)));
        }
    }
    Ok(spec)
}

/// Expands every grid, merging runs with identical arguments.
pub fn expand(spec: &SweepSpec) -> Vec<SweepRun> {
    let mut runs: Vec<SweepRun> = Vec::new();
    for grid in &spec.grids {
        let mut combinations: Vec<BTreeMap<String, String>> = vec![BTreeMap::new()];
        for (flag, values) in &grid.args {
            combinations = combinations
                .iter()
                .flat_map(|partial| {
                    values.iter().map(move |value| {
                        let mut next = partial.clone();
                        next.insert(flag.clone(), value.clone());
                        next
                    })
                })
                .collect();
        }
        for values in combinations {
            match runs.iter_mut().find(|run| run.values == values) {
                Some(run) => run.grids.push(grid.name.clone()),
                None => runs.push(SweepRun { name: run_name(&values), grids: vec![grid.name.clone()], values }),
            }
        }
    }
    runs
}

/// Builds a folder name such as `expansion-16_head-relu` from flag values.
fn run_name(values: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|(flag, value)| {
            let clean = |s: &str| s.trim_start_matches('-').chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' }).collect::<String>();
            format!("{}-{}", clean(flag), clean(value))
        })
        .collect();
    if parts.is_empty() {
        "base".into()
    } else {
        parts.join("_")
    }
}

/// State of a run folder, which decides whether a run is skipped, resumed or started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// `done.json` exists: skip.
    Done,
    /// A checkpoint exists: resume from the latest.
    Interrupted,
    /// Nothing usable: start (replacing any partial folder).
    New,
}

/// Returns the state of a run folder.
pub fn run_state(run_dir: &Path) -> RunState {
    if run_dir.join(DONE_FILE).is_file() {
        RunState::Done
    } else if run_dir.join("checkpoints").join("latest").is_file() {
        RunState::Interrupted
    } else {
        RunState::New
    }
}

/// Runs every unfinished run with `train_one(run, state)` and marks it done when that returns
/// Ok. Stops at the first error, so a later call resumes where this one stopped. Returns the run
/// folders in order.
pub fn run_sweep(
    spec: &SweepSpec,
    logs: &Path,
    mut train_one: impl FnMut(&SweepRun, RunState) -> Result<()>,
) -> Result<Vec<(SweepRun, PathBuf)>> {
    let runs = expand(spec);
    let total = runs.len();
    let mut folders = Vec::new();
    for (position, run) in runs.into_iter().enumerate() {
        let dir = logs.join(&run.name);
        let state = run_state(&dir);
        if state == RunState::Done {
            tracing::info!(run = %run.name, "{}/{total} already done, skipping", position + 1);
        } else {
            tracing::info!(run = %run.name, state = ?state, "{}/{total} training", position + 1);
            let started = std::time::Instant::now();
            train_one(&run, state)?;
            crate::train::checkpoint::create_dir(&dir)?;
            let marker = serde_json::to_string_pretty(&serde_json::json!({ "run": run, "seconds": started.elapsed().as_secs_f64() }))?;
            crate::train::checkpoint::write_atomic(&dir.join(DONE_FILE), marker.as_bytes())?;
        }
        folders.push((run, dir));
    }
    Ok(folders)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SweepSpec {
        serde_json::from_str(
            r#"{"name": "t", "base_args": [], "grids": [
                {"name": "width", "args": {"--head": ["dense", "relu"], "--expansion": ["1", "4"]}},
                {"name": "head", "args": {"--head": ["relu", "l1"], "--expansion": ["4"]}}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn expand_merges_shared_runs() {
        let runs = expand(&spec());
        assert_eq!(runs.len(), 5, "relu x4 appears in both grids");
        let shared = runs.iter().find(|r| r.name == "expansion-4_head-relu").unwrap();
        assert_eq!(shared.grids, vec!["width", "head"]);
        assert_eq!(shared.args(), vec!["--expansion", "4", "--head", "relu"]);
    }

    #[test]
    fn sweep_resumes_without_redoing_finished_runs() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path();
        let mut calls = Vec::new();
        // The first attempt is interrupted at the third run, after writing a checkpoint for it.
        let interrupted = run_sweep(&spec(), logs, |run, state| {
            calls.push((run.name.clone(), state));
            if calls.len() == 3 {
                let checkpoints = logs.join(&run.name).join("checkpoints");
                std::fs::create_dir_all(&checkpoints).unwrap();
                std::fs::write(checkpoints.join("latest"), "step_000001").unwrap();
                return Err(Error::Data("interrupted".into()));
            }
            Ok(())
        });
        assert!(interrupted.is_err());
        assert_eq!(calls.len(), 3);

        let mut second = Vec::new();
        let folders = run_sweep(&spec(), logs, |run, state| {
            second.push((run.name.clone(), state));
            Ok(())
        })
        .unwrap();
        assert_eq!(folders.len(), 5);
        assert_eq!(second.len(), 3, "the two finished runs are skipped: {second:?}");
        assert_eq!(second[0], (calls[2].0.clone(), RunState::Interrupted));
        assert!(second[1..].iter().all(|(_, state)| *state == RunState::New));
    }

    #[test]
    fn flags_need_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spec.json");
        std::fs::write(&path, r#"{"name": "t", "base_args": [], "grids": [{"name": "g", "args": {"expansion": ["1"]}}]}"#).unwrap();
        let message = read_spec(&path).unwrap_err().to_string();
        assert!(message.contains("expansion"), "{message}");
    }
}
