//! Linearizability: is there one order of a history's calls, consistent with
//! real time, in which a sequential specification (a [`Model`]) produces every
//! result the clients saw?
//!
//! - [`check`] / [`check_kv`]: the whole-history search (Wing & Gong with
//!   Lowe's memoization), split per key (P-compositionality), under a
//!   [`Budget`]: out of budget is [`CheckOutcome::Unknown`], never a pass.
//! - [`OnlineKvChecker`]: the same question asked after every completion, so a
//!   violation is reported at the very response that caused it.
//! - [`parse`]: Jepsen's etcd logs and Porcupine's kv histories.
//!
//! Calls that ended [`Outcome::Unknown`] (or are still pending at the end) may
//! take effect at any time after their invocation, or never; calls that ended
//! [`Outcome::Fail`] did not happen.

mod explain;
mod hash;
mod history;
mod model;
mod online;
pub mod parse;
mod search;
mod witness;

use std::collections::BTreeMap;

pub use explain::{Explanation, OpSummary};
pub use history::{
    History, KvOp, KvResult, OpHistory, OpId, Operation, Outcome, RegisterHistory, RegisterOp,
    RegisterResult,
};
pub use model::{CasRegisterModel, KvModel, Model};
pub use online::{OnlineChecker, OnlineKvChecker};

use search::{BudgetLeft, SearchVerdict};

/// Limits on one check. The search is NP-complete in general; a check that
/// reaches a limit says [`CheckOutcome::Unknown`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Search steps (one per call considered), over all partitions together.
    pub max_steps: u64,
    /// Memoized configurations held at once (one partition at a time); each
    /// costs a few dozen bytes.
    pub max_memo_entries: usize,
}

impl Default for Budget {
    /// About ten seconds and a few hundred MB at most, far above what real
    /// histories need (the 102 Jepsen etcd histories need under 10^6 steps).
    fn default() -> Self {
        Self {
            max_steps: 200_000_000,
            max_memo_entries: 5_000_000,
        }
    }
}

/// The verdict of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Some order of the calls fits the model.
    Linearizable,
    /// None does; the explanation shows why.
    NotLinearizable(Explanation),
    /// The budget ran out first: no verdict. Never count this as a pass.
    Unknown {
        /// What ran out.
        reason: String,
    },
}

impl CheckOutcome {
    /// True only for [`CheckOutcome::Linearizable`].
    pub fn is_linearizable(&self) -> bool {
        matches!(self, CheckOutcome::Linearizable)
    }
}

/// How a check treats the model's partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Partitioning {
    /// Search each partition (key) apart: exponentially cheaper, same verdict.
    #[default]
    PerKey,
    /// Search the whole history at once (one state per key); for comparison
    /// with checkers that do not split, and to test the splitting.
    Whole,
}

/// Checks the simulator's key-value history (absent keys read as `None`).
pub fn check_kv(history: &History, budget: Budget) -> CheckOutcome {
    check(&KvModel::absent_is_none(), history, budget)
}

/// Checks `history` against `model`, per key.
pub fn check<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    budget: Budget,
) -> CheckOutcome {
    check_with(model, history, budget, Partitioning::PerKey)
}

/// Checks `history` against `model` with the given partitioning.
pub fn check_with<M: Model>(
    model: &M,
    history: &OpHistory<M::Input, M::Output>,
    budget: Budget,
    partitioning: Partitioning,
) -> CheckOutcome {
    let groups = group_calls(model, history, partitioning);
    let mut left = BudgetLeft {
        steps_left: budget.max_steps,
        max_memo_entries: budget.max_memo_entries,
    };
    let mut unknown = None;
    for group in &groups {
        match search::search(
            model,
            history,
            &group.members,
            &group.partition_of,
            group.keys.len(),
            &mut left,
        ) {
            SearchVerdict::Linearizable => {}
            SearchVerdict::NotLinearizable(failure) => {
                return CheckOutcome::NotLinearizable(explain::<M>(history, group, failure));
            }
            // Another partition may still show a violation: keep going.
            SearchVerdict::OutOfBudget(reason) => unknown = unknown.or(Some(reason)),
        }
    }
    match unknown {
        Some(reason) => CheckOutcome::Unknown { reason },
        None => CheckOutcome::Linearizable,
    }
}

/// The calls searched together.
struct Group<'h> {
    /// History indices, in invocation order.
    members: Vec<u32>,
    /// Partition of each member: an index into `keys`.
    partition_of: Vec<u32>,
    /// The partitions' keys (`None`: the model does not split).
    keys: Vec<Option<&'h str>>,
}

/// Splits the calls that matter into groups: one per key, or one in all.
/// Failed calls and reads of unknown outcome constrain nothing: dropped.
fn group_calls<'h, M: Model>(
    model: &M,
    history: &'h OpHistory<M::Input, M::Output>,
    partitioning: Partitioning,
) -> Vec<Group<'h>> {
    let mut groups: Vec<Group<'h>> = Vec::new();
    let mut group_of_key: BTreeMap<Option<&'h str>, usize> = BTreeMap::new();
    for (index, op) in (0u32..).zip(history.operations()) {
        let matters = match &op.outcome {
            Some(Outcome::Ok(_)) => true,
            Some(Outcome::Fail) => false,
            Some(Outcome::Unknown) | None => !model.is_read_only(&op.input),
        };
        if !matters {
            continue;
        }
        let key = model.partition(&op.input);
        let next = groups.len();
        let group_index = match partitioning {
            Partitioning::PerKey => *group_of_key.entry(key).or_insert(next),
            Partitioning::Whole => 0,
        };
        if group_index == groups.len() {
            groups.push(Group {
                members: Vec::new(),
                partition_of: Vec::new(),
                keys: Vec::new(),
            });
        }
        let group = &mut groups[group_index];
        let partition = match group.keys.iter().position(|known| *known == key) {
            Some(partition) => partition,
            None => {
                group.keys.push(key);
                group.keys.len() - 1
            }
        };
        group.members.push(index);
        group
            .partition_of
            .push(u32::try_from(partition).expect("fewer than 2^32 keys"));
    }
    groups
}

fn explain<M: Model>(
    history: &OpHistory<M::Input, M::Output>,
    group: &Group<'_>,
    failure: search::Failure<M::State>,
) -> Explanation {
    let summary = |&index: &u32| OpSummary::of(history, OpId(index));
    let stuck: Vec<OpSummary> = failure.stuck.iter().map(summary).collect();
    // The key of the blocking call (the first stuck one) names the culprit.
    let blocking_key = failure.stuck.first().and_then(|&index| {
        let member = group.members.iter().position(|&m| m == index)?;
        group.keys[group.partition_of[member] as usize]
    });
    let state = match (failure.states.len(), blocking_key) {
        (1, _) => format!("{:?}", failure.states[0]),
        (_, Some(key)) => {
            let partition = group.keys.iter().position(|k| *k == Some(key)).unwrap_or(0);
            format!("{:?}", failure.states[partition])
        }
        _ => format!("{:?}", failure.states),
    };
    Explanation {
        key: blocking_key.map(str::to_owned),
        prefix: failure.prefix.iter().map(summary).collect(),
        state,
        stuck,
    }
}
