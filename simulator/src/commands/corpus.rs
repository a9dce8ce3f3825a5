//! The regression corpus in `seeds/`: runs that once failed (or must keep
//! passing), one JSON file each, replayed by the tests. An entry pins the
//! outcome, the broken invariant and the trace hash, so any change of behaviour
//! on that seed is noticed.

use std::path::{Path, PathBuf};

use raft_core::{Bug, Bugs};
use serde::{Deserialize, Serialize};

use crate::commands::run::{run_seed, RunReport};
use crate::world::params::{FaultKind, Profile, RunOptions};

/// One corpus entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusEntry {
    /// The seed.
    pub seed: u64,
    /// Planted bugs switched on, by name.
    #[serde(default)]
    pub bugs: Vec<String>,
    /// Fault kinds forced on, by name.
    #[serde(default)]
    pub faults: Vec<String>,
    /// "pass" or "violation".
    pub expected_outcome: String,
    /// The invariant a violation must name.
    #[serde(default)]
    pub expected_invariant: Option<String>,
    /// The trace hash (16 hex digits).
    pub trace_hash: String,
    /// Why this entry is here.
    #[serde(default)]
    pub note: String,
}

impl CorpusEntry {
    /// The run options the entry names; an error for unknown names.
    pub fn options(&self) -> Result<RunOptions, String> {
        let bugs = self
            .bugs
            .iter()
            .map(|name| Bug::from_name(name).ok_or_else(|| format!("unknown bug `{name}`")))
            .collect::<Result<Bugs, String>>()?;
        let forced_faults = self
            .faults
            .iter()
            .map(|name| {
                FaultKind::from_name(name).ok_or_else(|| format!("unknown fault kind `{name}`"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(RunOptions {
            profile: Profile::Swarm,
            bugs,
            forced_faults,
        })
    }

    /// An entry pinning what `report` saw.
    pub fn from_report(report: &RunReport, note: &str) -> CorpusEntry {
        CorpusEntry {
            seed: report.seed(),
            bugs: report
                .options
                .bugs
                .iter()
                .map(|b| b.name().to_string())
                .collect(),
            faults: report
                .options
                .forced_faults
                .iter()
                .map(|f| f.name().to_string())
                .collect(),
            expected_outcome: report.outcome_name().to_string(),
            expected_invariant: report.invariant().map(|i| i.name().to_string()),
            trace_hash: report.trace_hash_hex(),
            note: note.to_string(),
        }
    }

    /// The pinned result in words: `pass`, or `violation of election-safety`.
    pub fn expected_result(&self) -> String {
        describe_result(&self.expected_outcome, self.expected_invariant.as_deref())
    }

    /// Replays the entry; an error says what differs.
    pub fn verify(&self) -> Result<(), String> {
        let report = run_seed(self.seed, &self.options()?);
        let invariant = report.invariant().map(|i| i.name().to_string());
        if report.outcome_name() != self.expected_outcome || invariant != self.expected_invariant {
            return Err(format!(
                "expected {}, got {}",
                self.expected_result(),
                describe_result(report.outcome_name(), invariant.as_deref())
            ));
        }
        if report.trace_hash_hex() != self.trace_hash {
            return Err(format!(
                "trace hash {} differs from the pinned {}",
                report.trace_hash_hex(),
                self.trace_hash
            ));
        }
        Ok(())
    }
}

/// An outcome and the invariant it names, in words: `pass`, `violation of
/// election-safety`.
fn describe_result(outcome: &str, invariant: Option<&str>) -> String {
    match invariant {
        Some(invariant) => format!("{outcome} of {invariant}"),
        None => outcome.to_string(),
    }
}

/// Every entry of the corpus directory, in file name order.
pub fn load(directory: &Path) -> Result<Vec<(PathBuf, CorpusEntry)>, String> {
    let listing =
        std::fs::read_dir(directory).map_err(|e| format!("{}: {e}", directory.display()))?;
    let mut paths: Vec<PathBuf> = listing
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let entry: CorpusEntry = serde_json::from_str(&text)
                .map_err(|e| format!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))?;
            Ok((path, entry))
        })
        .collect()
}
